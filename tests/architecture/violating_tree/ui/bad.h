// planted violation
#include <torch/torch.h>

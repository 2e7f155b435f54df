// allowed in core
#include <torch/torch.h>
#include <queue>

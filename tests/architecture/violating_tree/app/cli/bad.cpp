// planted violation
#include <ATen/ATen.h>

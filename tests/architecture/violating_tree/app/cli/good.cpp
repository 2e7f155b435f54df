// allowed: public engine API and standard headers
#include "dha/error.h"
#include <vector>

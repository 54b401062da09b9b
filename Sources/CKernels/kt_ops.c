#include "kt_ops.h"

int kt_ops_version(void) { return 1; }

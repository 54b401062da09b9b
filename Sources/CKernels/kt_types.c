#include "kt_types.h"

#include <string.h>

int kt_type_supported(int type) {
    switch (type) {
    case KT_F32: case KT_F16: case KT_BF16: case KT_Q4_0: case KT_Q8_0: case KT_Q4_K: case KT_Q6_K: case KT_Q8_K:
        return 1;
    default:
        return 0;
    }
}

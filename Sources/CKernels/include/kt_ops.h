// Per-token vector operations of the model graph: attention over the KV cache and friends.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Version marker; the engine's functions are declared below as they are written.
int kt_ops_version(void);

#ifdef __cplusplus
}
#endif

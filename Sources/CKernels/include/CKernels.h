// The hot loops of kaito-serve's engine: tensor types and their kernels (kt_types.h), attention and the other
// per-token vector operations (kt_ops.h). Plain C with AVX2/FMA/F16C intrinsics behind run-time dispatch
// (`__attribute__((target(...)))` + `__builtin_cpu_supports`), so one binary runs on any x86-64 and uses the
// vector units where the CPU has them; a portable scalar path serves the rest and is the reference in tests.
#pragma once
#include "kt_types.h"
#include "kt_ops.h"

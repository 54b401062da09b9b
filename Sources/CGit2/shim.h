#ifndef KAITOC_CGIT2_SHIM_H
#define KAITOC_CGIT2_SHIM_H
#include <git2.h>
#endif

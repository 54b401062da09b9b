#ifndef KAITOC_CYAML_SHIM_H
#define KAITOC_CYAML_SHIM_H
#include <yaml.h>
#endif

#ifndef ANNALS_CXXHASH_SHIM_H
#define ANNALS_CXXHASH_SHIM_H
#include <xxhash.h>
#endif

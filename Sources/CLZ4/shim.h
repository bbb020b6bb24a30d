#ifndef ANNALS_CLZ4_SHIM_H
#define ANNALS_CLZ4_SHIM_H
#include <lz4.h>
#endif

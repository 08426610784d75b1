#ifndef FEEDBENCH_CBLOSC_SHIM_H
#define FEEDBENCH_CBLOSC_SHIM_H
// c-blosc 1.x (the HDF5 Blosc filter 32001); only the *_ctx functions, which need no global init.
#include <blosc.h>
static inline int feedbench_BLOSC_MAX_OVERHEAD(void) { return BLOSC_MAX_OVERHEAD; }
#endif

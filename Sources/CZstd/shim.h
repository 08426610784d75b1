#ifndef FEEDBENCH_CZSTD_SHIM_H
#define FEEDBENCH_CZSTD_SHIM_H
// libzstd (the HDF5 Zstandard filter 32015).
#include <zstd.h>
// ZSTD_CONTENTSIZE_* are macros of unsigned long long constants.
static inline unsigned long long feedbench_ZSTD_CONTENTSIZE_UNKNOWN(void) { return ZSTD_CONTENTSIZE_UNKNOWN; }
static inline unsigned long long feedbench_ZSTD_CONTENTSIZE_ERROR(void) { return ZSTD_CONTENTSIZE_ERROR; }
#endif

#ifndef FEEDBENCH_CDEFLATE_SHIM_H
#define FEEDBENCH_CDEFLATE_SHIM_H
// libdeflate: zlib streams (HDF5 filter 1) in one call, with the output size known.
#include <libdeflate.h>
#endif

#ifndef FEEDBENCH_CLZ4_SHIM_H
#define FEEDBENCH_CLZ4_SHIM_H
// liblz4 block functions (the HDF5 LZ4 filter 32004 and bitshuffle frame LZ4 blocks).
#include <lz4.h>
#endif

#ifndef FEEDBENCH_CBLAS_SHIM_H
#define FEEDBENCH_CBLAS_SHIM_H
// OpenBLAS's CBLAS interface plus its thread-count controls.
#include <cblas.h>
#endif

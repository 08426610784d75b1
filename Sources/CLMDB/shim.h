#ifndef FEEDBENCH_CLMDB_SHIM_H
#define FEEDBENCH_CLMDB_SHIM_H
#include <lmdb.h>
#endif

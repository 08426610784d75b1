#ifndef FEEDBENCH_CHDF5_SHIM_H
#define FEEDBENCH_CHDF5_SHIM_H
#include <hdf5.h>

// HDF5 exposes its native types, file-access flags and the default property list as
// macros that expand to function calls or casts Swift cannot import. These inline
// functions give Swift the same values. H5open() runs first so the globals are set.
static inline hid_t feedbench_H5T_NATIVE_UINT8(void)  { H5open(); return H5T_NATIVE_UINT8; }
static inline hid_t feedbench_H5T_NATIVE_INT8(void)   { H5open(); return H5T_NATIVE_INT8; }
static inline hid_t feedbench_H5T_NATIVE_INT16(void)  { H5open(); return H5T_NATIVE_INT16; }
static inline hid_t feedbench_H5T_NATIVE_INT32(void)  { H5open(); return H5T_NATIVE_INT32; }
static inline hid_t feedbench_H5T_NATIVE_INT64(void)  { H5open(); return H5T_NATIVE_INT64; }
static inline hid_t feedbench_H5T_NATIVE_FLOAT(void)  { H5open(); return H5T_NATIVE_FLOAT; }
static inline hid_t feedbench_H5T_NATIVE_DOUBLE(void) { H5open(); return H5T_NATIVE_DOUBLE; }
static inline hid_t feedbench_H5T_C_S1(void)          { H5open(); return H5T_C_S1; }
static inline hid_t feedbench_H5P_DEFAULT(void)       { return H5P_DEFAULT; }
static inline hid_t feedbench_H5S_ALL(void)           { return H5S_ALL; }
static inline hid_t feedbench_H5P_FILE_ACCESS(void)   { H5open(); return H5P_FILE_ACCESS; }
static inline hid_t feedbench_H5P_DATASET_CREATE(void){ H5open(); return H5P_DATASET_CREATE; }
static inline hid_t feedbench_H5P_DATASET_ACCESS(void){ H5open(); return H5P_DATASET_ACCESS; }
static inline hid_t feedbench_H5E_DEFAULT(void)       { return H5E_DEFAULT; }
static inline unsigned feedbench_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned feedbench_H5F_ACC_RDWR(void)   { return H5F_ACC_RDWR; }
static inline unsigned feedbench_H5F_ACC_TRUNC(void)  { return H5F_ACC_TRUNC; }
static inline unsigned feedbench_H5F_ACC_EXCL(void)   { return H5F_ACC_EXCL; }
static inline unsigned feedbench_H5Z_FLAG_OPTIONAL(void) { return H5Z_FLAG_OPTIONAL; }
static inline unsigned feedbench_H5Z_FLAG_MANDATORY(void){ return H5Z_FLAG_MANDATORY; }
static inline haddr_t feedbench_HADDR_UNDEF(void)     { return HADDR_UNDEF; }
#endif

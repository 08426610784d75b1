#ifndef FEEDBENCH_CMPI_SHIM_H
#define FEEDBENCH_CMPI_SHIM_H
#include <mpi.h>

// Open MPI spells its handles and constants as macros over casts of global objects,
// which Swift cannot import. These inline functions give Swift the same values.
static inline MPI_Comm feedbench_MPI_COMM_WORLD(void)    { return MPI_COMM_WORLD; }
static inline MPI_Comm feedbench_MPI_COMM_NULL(void)     { return MPI_COMM_NULL; }
static inline MPI_Info feedbench_MPI_INFO_NULL(void)     { return MPI_INFO_NULL; }
static inline MPI_Datatype feedbench_MPI_FLOAT(void)     { return MPI_FLOAT; }
static inline MPI_Datatype feedbench_MPI_DOUBLE(void)    { return MPI_DOUBLE; }
static inline MPI_Datatype feedbench_MPI_INT64_T(void)   { return MPI_INT64_T; }
static inline MPI_Datatype feedbench_MPI_UINT64_T(void)  { return MPI_UINT64_T; }
static inline MPI_Datatype feedbench_MPI_CHAR(void)      { return MPI_CHAR; }
static inline MPI_Op feedbench_MPI_SUM(void)             { return MPI_SUM; }
static inline MPI_Op feedbench_MPI_MAX(void)             { return MPI_MAX; }
static inline MPI_Op feedbench_MPI_MIN(void)             { return MPI_MIN; }
static inline void *feedbench_MPI_IN_PLACE(void)         { return MPI_IN_PLACE; }
static inline MPI_Request feedbench_MPI_REQUEST_NULL(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *feedbench_MPI_STATUSES_IGNORE(void) { return MPI_STATUSES_IGNORE; }
static inline MPI_Errhandler feedbench_MPI_ERRORS_RETURN(void) { return MPI_ERRORS_RETURN; }
static inline int feedbench_MPI_COMM_TYPE_SHARED(void)   { return MPI_COMM_TYPE_SHARED; }
static inline int feedbench_MPI_THREAD_FUNNELED(void)    { return MPI_THREAD_FUNNELED; }
static inline int feedbench_MPI_MAX_ERROR_STRING(void)   { return MPI_MAX_ERROR_STRING; }
static inline int feedbench_MPI_MAX_PROCESSOR_NAME(void) { return MPI_MAX_PROCESSOR_NAME; }
#endif

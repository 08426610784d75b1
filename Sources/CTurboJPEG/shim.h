#ifndef FEEDBENCH_CTURBOJPEG_SHIM_H
#define FEEDBENCH_CTURBOJPEG_SHIM_H
// libjpeg-turbo's TurboJPEG API.
#include <turbojpeg.h>
#endif

#ifndef FEEDBENCH_CPNG_SHIM_H
#define FEEDBENCH_CPNG_SHIM_H
// libpng's simplified API (png_image_*), for PNG records.
#include <png.h>
// PNG_IMAGE_SIZE and friends are macros Swift cannot call.
static inline unsigned int feedbench_png_version(void) { return PNG_IMAGE_VERSION; }
static inline unsigned int feedbench_png_format_gray(void) { return PNG_FORMAT_GRAY; }
static inline unsigned int feedbench_png_format_rgb(void) { return PNG_FORMAT_RGB; }
static inline int feedbench_png_failed(png_imagep image) { return PNG_IMAGE_FAILED(*image); }
#endif

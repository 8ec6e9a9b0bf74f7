/* image.c — runtime kernels of the image and grid ops: GridSample, AffineGrid, Col2Im, RoiAlign. */
#include "xf_runtime.h"

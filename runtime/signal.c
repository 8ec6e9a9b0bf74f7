/* signal.c — runtime kernels of the signal-processing ops: DFT, STFT and the window functions. */
#include "xf_runtime.h"

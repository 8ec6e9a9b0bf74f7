/* rnn.c — runtime kernels of the recurrent layers RNN, GRU and LSTM. */
#include "xf_runtime.h"

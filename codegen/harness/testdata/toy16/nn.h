/* q15 toy network for the harness tests (int16 input and output). */
#ifndef NN_H
#define NN_H

#include <stdint.h>

#define NN_INPUT_SIZE (5)
#define NN_OUTPUT_SIZE (3)
#define NN_NUM_LAYERS (2)

typedef int16_t nn_in_t;
typedef int16_t nn_out_t;

int nn_run(const nn_in_t *input, nn_out_t *output);

#ifdef NNQ_TRACE
void nnq_trace(int layer, const void *data, unsigned bytes);
#endif

#endif

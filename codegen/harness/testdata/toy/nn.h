/* Toy network used by the harness tests. It follows the code generator's
 * project contract: sizes, element types and nn_run(); nnq_trace() after
 * each layer when compiled with -DNNQ_TRACE. */
#ifndef NN_H
#define NN_H

#include <stdint.h>

#define NN_INPUT_SIZE 16
#define NN_OUTPUT_SIZE 4
#define NN_NUM_LAYERS 3

typedef int8_t nn_in_t;
typedef int8_t nn_out_t;

/* Runs the network on one pattern. Returns 0 on success; this toy returns
 * -1 when the first two inputs are both -128 (used to test error paths). */
int nn_run(const nn_in_t *input, nn_out_t *output);

#ifdef NNQ_TRACE
void nnq_trace(int layer, const void *data, unsigned bytes);
#endif

#endif

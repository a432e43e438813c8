#include "nn.h"
#include "toy_layers.h"

#ifdef NNQ_TRACE
#define TRACE(l, p, n) nnq_trace((l), (p), (n))
#else
#define TRACE(l, p, n) ((void)0)
#endif

int nn_run(const nn_in_t *input, nn_out_t *output)
{
    int8_t h0[12];
    int8_t h1[8];

    if (input == 0 || output == 0) {
        return -1;
    }
    if (input[0] == -128 && input[1] == -128) {
        return -1;
    }
#ifdef TOY_FAULT
    /* Test hook: execute a permanently undefined instruction. */
    if (input[0] == -128 && input[1] == 127) {
        __asm__ volatile(".short 0xde00");
    }
#endif
    toy_dense(input, 16, h0, 12, 0, 3, 1);
    TRACE(0, h0, sizeof h0);
    toy_dense(h0, 12, h1, 8, 1, 2, 1);
    TRACE(1, h1, sizeof h1);
    toy_dense(h1, 8, output, NN_OUTPUT_SIZE, 2, 2, 0);
    TRACE(2, output, NN_OUTPUT_SIZE * sizeof(nn_out_t));
    return 0;
}

#include "nn.h"

/* Layer 0: h[o] = sat16((sum_i w(o,i) * in[i]) >> 8), w(o,i) = 300*(o+1) - 97*i.
 * Layer 1: out = ReLU(h).
 * -DTOY16_SKIP_TRACE leaves out layer 1's nnq_trace call (a contract
 * violation the harness must catch). */
int nn_run(const nn_in_t *input, nn_out_t *output)
{
    int16_t h[NN_OUTPUT_SIZE];
    int o, i;

    for (o = 0; o < NN_OUTPUT_SIZE; o++) {
        int32_t acc = 0;
        for (i = 0; i < NN_INPUT_SIZE; i++) {
            acc += (int32_t)(300 * (o + 1) - 97 * i) * input[i];
        }
        acc >>= 8;
        h[o] = (int16_t)(acc > 32767 ? 32767 : acc < -32768 ? -32768 : acc);
    }
#ifdef NNQ_TRACE
    nnq_trace(0, h, sizeof h);
#endif
    for (o = 0; o < NN_OUTPUT_SIZE; o++) {
        output[o] = h[o] < 0 ? 0 : h[o];
    }
#if defined(NNQ_TRACE) && !defined(TOY16_SKIP_TRACE)
    nnq_trace(1, output, NN_OUTPUT_SIZE * sizeof(nn_out_t));
#endif
    return 0;
}

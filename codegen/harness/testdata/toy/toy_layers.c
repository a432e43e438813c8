#include "toy_layers.h"

void toy_dense(const int8_t *in, int n_in, int8_t *out, int n_out, int layer,
               int shift, int relu)
{
    int o, i;

    for (o = 0; o < n_out; o++) {
        int32_t acc = 4 * ((o * 5 + layer) % 7 - 3);
        for (i = 0; i < n_in; i++) {
            int32_t w = (o * 7 + i * 3 + layer) % 11 - 5;
            acc += w * in[i];
        }
        acc >>= shift;
        if (acc > 127) {
            acc = 127;
        } else if (acc < -128) {
            acc = -128;
        }
        if (relu && acc < 0) {
            acc = 0;
        }
        out[o] = (int8_t)acc;
    }
}

#ifndef TOY_LAYERS_H
#define TOY_LAYERS_H

#include <stdint.h>

/* out[o] = sat8((bias(o) + sum_i w(o,i) * in[i]) >> shift), then ReLU if
 * relu != 0, with w(o,i) = (o*7 + i*3 + layer) % 11 - 5 and
 * bias(o) = 4 * ((o*5 + layer) % 7 - 3). */
void toy_dense(const int8_t *in, int n_in, int8_t *out, int n_out, int layer,
               int shift, int relu);

#endif

/*
 * nnq_info: the network interface the Go harness reads back from the built
 * executable (symbol nnq_info), so that the sizes and element types are
 * exactly what the compiler saw in nn.h. Every harness driver defines it
 * once with NNQ_DEFINE_INFO; the harness writes this header next to the
 * driver.
 */
#ifndef NNQ_INFO_H
#define NNQ_INFO_H

#include <stdint.h>

#include "nn.h"

#define NNQ_INFO_MAGIC 0x31514e4eu /* "NNQ1" */

struct nnq_info {
    uint32_t magic;
    uint32_t input_size;
    uint32_t output_size;
    uint32_t num_layers;
    uint32_t input_elem_bytes;
    uint32_t output_elem_bytes;
};

#define NNQ_DEFINE_INFO                                                     \
    __attribute__((used, section(".nnq_info"))) const struct nnq_info nnq_info = { \
        NNQ_INFO_MAGIC, NN_INPUT_SIZE, NN_OUTPUT_SIZE, NN_NUM_LAYERS, sizeof(nn_in_t), sizeof(nn_out_t)}

#endif /* NNQ_INFO_H */

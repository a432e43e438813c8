/*
 * nnq_s8_nnq.h - nnq's own kernels for s8/s16 networks: layers today's
 * CMSIS-NN API has no function for, in its style. Part of nnq
 * (github.com/nnq-toolkit/nnq); contains no CMSIS code.
 *
 * Built with nnq's s8 runtime and next to the real CMSIS-NN library alike
 * (NNQ_USE_CMSIS_NN): the recurrent kernels then call the library's
 * arm_fully_connected_s16. Go twins: package kernels (nnq_s8.go,
 * nnq_s8_rnn.go); docs/RECURRENT.md describes the recurrent decomposition.
 */
#ifndef NNQ_S8_NNQ_H
#define NNQ_S8_NNQ_H

#include <stdint.h>

#include "nnq_cmsis_s8.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out[i] = clamp(in[i], lo, hi): a ReLU that cannot be fused (lo = zero
 * point). out may alias in. */
arm_cmsis_nn_status nnq_clamp_s8(const int8_t *in, int32_t lo, int32_t hi, int8_t *out, int32_t n);
arm_cmsis_nn_status nnq_clamp_s16(const int16_t *in, int32_t lo, int32_t hi, int16_t *out, int32_t n);

/* out[i] = lut[in[i] + 128] (int8 sigmoid, tanh). out may alias in. */
arm_cmsis_nn_status nnq_lut_s8(const int8_t *in, const int8_t *lut, int8_t *out, int32_t n);

/* int16 sigmoid/tanh: Q3.12 = SAT16(arm_nn_requantize(in[i], mult, shift)),
 * then the interpolated 513-entry table (arm_softmax_s16's look-up), Q0.15
 * out. out may alias in. */
arm_cmsis_nn_status nnq_act_s16(const int16_t *in, int32_t mult, int32_t shift, const int16_t *lut, int16_t *out,
                                int32_t n);

/* int16 ADD (TFLite, offsets 0): a = requantize(in1 << left_shift, m1, s1),
 * b likewise, out = clamp(requantize(a + b, out_mult, out_shift)). */
arm_cmsis_nn_status nnq_add_s16(const int16_t *in1, const int16_t *in2, int32_t in1_mult, int32_t in1_shift,
                                int32_t in2_mult, int32_t in2_shift, int32_t left_shift, int16_t *out, int32_t out_mult,
                                int32_t out_shift, int32_t act_min, int32_t act_max, int32_t n);

/* int16 MUL (TFLite, offsets 0): out = clamp(requantize(in1 * in2, out_mult, out_shift)). */
arm_cmsis_nn_status nnq_mul_s16(const int16_t *in1, const int16_t *in2, int16_t *out, int32_t out_mult, int32_t out_shift,
                                int32_t act_min, int32_t act_max, int32_t n);

/*
 * Average pooling whose mean rounds half to even (ONNX QuantizeLinear,
 * PyTorch), for networks converted with rounding onnx: arguments, windows
 * (in-bounds positions only), clamp and the empty-window
 * ARM_CMSIS_NN_ARG_ERROR as arm_avgpool_s8/s16, whose mean rounds ties away
 * from zero. ctx is unused (no scratch).
 */
arm_cmsis_nn_status nnq_avgpool_s8_even(const cmsis_nn_context *ctx, const cmsis_nn_pool_params *pool_params,
                                        const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                        const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims,
                                        int8_t *output_data);
arm_cmsis_nn_status nnq_avgpool_s16_even(const cmsis_nn_context *ctx, const cmsis_nn_pool_params *pool_params,
                                         const cmsis_nn_dims *input_dims, const int16_t *input_data,
                                         const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims,
                                         int16_t *output_data);

/* After arm_softmax_s16: the library stores an unclamped 32768 as -32768;
 * every negative output becomes 32767 (TFLite's clamp). */
void nnq_softmax_s16_unwrap(int16_t *v, int32_t n);

/* Scalar arguments of the recurrent kernels. */
typedef struct
{
    int32_t steps, dim_in, hidden, return_sequences;
    int32_t input_offset; /* -(input zero point) for int8 input, 0 for int16 */
    cmsis_nn_per_channel_quant_params ih, hh; /* gate FC accumulators -> gate scale, per row (G*H) */
    cmsis_nn_per_tensor_quant_params gate;   /* gate sum -> Q3.12 */
    cmsis_nn_per_tensor_quant_params cell;   /* LSTM: i*g (Q0.30) -> cell scale */
    cmsis_nn_per_tensor_quant_params cell_act; /* LSTM: cell -> Q3.12 */
} nnq_rnn_s8_params;

/* int16 scratch words the recurrent kernels need (the first 2*max(dim_in,
 * hidden) are the gate FCs' ctx buffer); the scratch must be 4-byte aligned. */
#define NNQ_RNN_S8_CTX(dim_in, hidden) (2 * ((dim_in) > (hidden) ? (dim_in) : (hidden)))
#define NNQ_GRU_S8_SCRATCH(dim_in, hidden) ((dim_in) + 7 * (hidden) + NNQ_RNN_S8_CTX(dim_in, hidden))
#define NNQ_LSTM_S8_SCRATCH(dim_in, hidden) ((dim_in) + 10 * (hidden) + NNQ_RNN_S8_CTX(dim_in, hidden))

/* GRU / LSTM over steps x dim_in inputs (zero initial state), weights
 * w_ih [G*H][dim_in] and w_hh [G*H][H] int8 (one scale per row), biases
 * int64, tables of sigmoid and tanh (513 entries over Q3.12, Q0.15 out);
 * output the last h or every step's ([steps][H]); h is Q0.15 (s16) or Q0.7
 * (s8). The gate FCs are arm_convolve_wrapper_s16 calls on a 1x1 map (per
 * row requantization, which arm_fully_connected_s16 lacks). */
#define NNQ_RNN_S8_ARGS(T)                                                                                              \
    const T *input, const int8_t *w_ih, const int64_t *b_x, const int8_t *w_hh, const int64_t *b_h,                 \
        const nnq_rnn_s8_params *p, const int16_t *sigmoid_lut, const int16_t *tanh_lut, T *output, int16_t *scratch
arm_cmsis_nn_status nnq_gru_s8(NNQ_RNN_S8_ARGS(int8_t));
arm_cmsis_nn_status nnq_gru_s16(NNQ_RNN_S8_ARGS(int16_t));
arm_cmsis_nn_status nnq_lstm_s8(NNQ_RNN_S8_ARGS(int8_t));
arm_cmsis_nn_status nnq_lstm_s16(NNQ_RNN_S8_ARGS(int16_t));

#ifdef __cplusplus
}
#endif

#endif /* NNQ_S8_NNQ_H */

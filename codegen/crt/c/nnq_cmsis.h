/*
 * nnq_cmsis.h - nnq host reference runtime for the legacy CMSIS-NN q7/q15 API.
 *
 * Part of nnq (github.com/nnq-toolkit/nnq). Written from nnq's own facts
 * sheet about the legacy CMSIS-NN 5.9.0 kernels; contains no CMSIS code.
 *
 * Selection:
 *   NNQ_USE_CMSIS   defined: include the real CMSIS-NN headers and use the real
 *                   library; nnq_legacy.c and nnq_tables.c then compile to
 *                   nothing. Only the nnq_* kernels below come from nnq.
 *                   Otherwise nnq's portable implementations of the legacy
 *                   functions are declared here with the library's names.
 *   ARM_MATH_DSP    selects the semantics of the library's DSP code path where
 *                   they differ from its C path (q7 pooling: separable, in-place
 *                   two-pass algorithm that overwrites Im_in; q15 _fast: -3 for
 *                   odd dim_im_out). Like the library, it is implied by
 *                   __ARM_FEATURE_DSP == 1 and ignored when ARM_MATH_MVEI is
 *                   defined or the compiler targets integer MVE.
 *   ARM_NN_TRUNCATE defined: no rounding term before requantising right shifts
 *                   (pure floor); default is round half up (NN_ROUND).
 *
 * NNQ_DSP_PATH is defined to 1 when the DSP-path semantics are compiled in,
 * else to 0 (only meaningful without NNQ_USE_CMSIS).
 */
#ifndef NNQ_CMSIS_H
#define NNQ_CMSIS_H

#include <stdint.h>

#if defined(NNQ_USE_CMSIS)

#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

#else /* !NNQ_USE_CMSIS */

#if (defined(ARM_MATH_DSP) || (defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1))) && \
    !defined(ARM_MATH_MVEI) && !(defined(__ARM_FEATURE_MVE) && ((__ARM_FEATURE_MVE & 1) == 1))
#define NNQ_DSP_PATH 1
#else
#define NNQ_DSP_PATH 0
#endif

/*
 * Basic types, identical to CMSIS's. Skipped when CMSIS's arm_math_types.h /
 * arm_math.h was included first, or when NNQ_HAVE_ARM_MATH_TYPES is defined.
 */
#if !defined(_ARM_MATH_TYPES_H_) && !defined(_ARM_MATH_H) && !defined(NNQ_HAVE_ARM_MATH_TYPES)
#define NNQ_HAVE_ARM_MATH_TYPES 1
typedef int8_t q7_t;
typedef int16_t q15_t;
typedef int32_t q31_t;
typedef enum
{
    ARM_MATH_SUCCESS = 0,
    ARM_MATH_ARGUMENT_ERROR = -1,
    ARM_MATH_LENGTH_ERROR = -2,
    ARM_MATH_SIZE_MISMATCH = -3
} arm_status;
#endif

#if !defined(NNQ_HAVE_ARM_NN_ACTIVATION_TYPE)
#define NNQ_HAVE_ARM_NN_ACTIVATION_TYPE 1
typedef enum
{
    ARM_SIGMOID = 0,
    ARM_TANH = 1
} arm_nn_activation_type;
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Convolutions, q7 ------------------------------------------------- */

arm_status arm_convolve_HWC_q7_basic(const q7_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                                     const q7_t *wt, const uint16_t ch_im_out, const uint16_t dim_kernel,
                                     const uint16_t padding, const uint16_t stride, const q7_t *bias,
                                     const uint16_t bias_shift, const uint16_t out_shift, q7_t *Im_out,
                                     const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB);

arm_status arm_convolve_HWC_q7_fast(const q7_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                                    const q7_t *wt, const uint16_t ch_im_out, const uint16_t dim_kernel,
                                    const uint16_t padding, const uint16_t stride, const q7_t *bias,
                                    const uint16_t bias_shift, const uint16_t out_shift, q7_t *Im_out,
                                    const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB);

arm_status arm_convolve_HWC_q7_RGB(const q7_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                                   const q7_t *wt, const uint16_t ch_im_out, const uint16_t dim_kernel,
                                   const uint16_t padding, const uint16_t stride, const q7_t *bias,
                                   const uint16_t bias_shift, const uint16_t out_shift, q7_t *Im_out,
                                   const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB);

arm_status arm_convolve_HWC_q7_basic_nonsquare(const q7_t *Im_in, const uint16_t dim_im_in_x,
                                               const uint16_t dim_im_in_y, const uint16_t ch_im_in,
                                               const q7_t *wt, const uint16_t ch_im_out,
                                               const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,
                                               const uint16_t padding_x, const uint16_t padding_y,
                                               const uint16_t stride_x, const uint16_t stride_y,
                                               const q7_t *bias, const uint16_t bias_shift,
                                               const uint16_t out_shift, q7_t *Im_out,
                                               const uint16_t dim_im_out_x, const uint16_t dim_im_out_y,
                                               q15_t *bufferA, q7_t *bufferB);

arm_status arm_convolve_HWC_q7_fast_nonsquare(const q7_t *Im_in, const uint16_t dim_im_in_x,
                                              const uint16_t dim_im_in_y, const uint16_t ch_im_in,
                                              const q7_t *wt, const uint16_t ch_im_out,
                                              const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,
                                              const uint16_t padding_x, const uint16_t padding_y,
                                              const uint16_t stride_x, const uint16_t stride_y,
                                              const q7_t *bias, const uint16_t bias_shift,
                                              const uint16_t out_shift, q7_t *Im_out,
                                              const uint16_t dim_im_out_x, const uint16_t dim_im_out_y,
                                              q15_t *bufferA, q7_t *bufferB);

arm_status arm_convolve_1x1_HWC_q7_fast_nonsquare(const q7_t *Im_in, const uint16_t dim_im_in_x,
                                                  const uint16_t dim_im_in_y, const uint16_t ch_im_in,
                                                  const q7_t *wt, const uint16_t ch_im_out,
                                                  const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,
                                                  const uint16_t padding_x, const uint16_t padding_y,
                                                  const uint16_t stride_x, const uint16_t stride_y,
                                                  const q7_t *bias, const uint16_t bias_shift,
                                                  const uint16_t out_shift, q7_t *Im_out,
                                                  const uint16_t dim_im_out_x, const uint16_t dim_im_out_y,
                                                  q15_t *bufferA, q7_t *bufferB);

/* ---- Convolutions, q15 ------------------------------------------------ */

arm_status arm_convolve_HWC_q15_basic(const q15_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                                      const q15_t *wt, const uint16_t ch_im_out, const uint16_t dim_kernel,
                                      const uint16_t padding, const uint16_t stride, const q15_t *bias,
                                      const uint16_t bias_shift, const uint16_t out_shift, q15_t *Im_out,
                                      const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB);

arm_status arm_convolve_HWC_q15_fast(const q15_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                                     const q15_t *wt, const uint16_t ch_im_out, const uint16_t dim_kernel,
                                     const uint16_t padding, const uint16_t stride, const q15_t *bias,
                                     const uint16_t bias_shift, const uint16_t out_shift, q15_t *Im_out,
                                     const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB);

arm_status arm_convolve_HWC_q15_fast_nonsquare(const q15_t *Im_in, const uint16_t dim_im_in_x,
                                               const uint16_t dim_im_in_y, const uint16_t ch_im_in,
                                               const q15_t *wt, const uint16_t ch_im_out,
                                               const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,
                                               const uint16_t padding_x, const uint16_t padding_y,
                                               const uint16_t stride_x, const uint16_t stride_y,
                                               const q15_t *bias, const uint16_t bias_shift,
                                               const uint16_t out_shift, q15_t *Im_out,
                                               const uint16_t dim_im_out_x, const uint16_t dim_im_out_y,
                                               q15_t *bufferA, q7_t *bufferB);

/* ---- Depthwise (multiplier 1) ----------------------------------------- */

arm_status arm_depthwise_separable_conv_HWC_q7(const q7_t *Im_in, const uint16_t dim_im_in,
                                               const uint16_t ch_im_in, const q7_t *wt,
                                               const uint16_t ch_im_out, const uint16_t dim_kernel,
                                               const uint16_t padding, const uint16_t stride,
                                               const q7_t *bias, const uint16_t bias_shift,
                                               const uint16_t out_shift, q7_t *Im_out,
                                               const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB);

arm_status arm_depthwise_separable_conv_HWC_q7_nonsquare(const q7_t *Im_in, const uint16_t dim_im_in_x,
                                                         const uint16_t dim_im_in_y, const uint16_t ch_im_in,
                                                         const q7_t *wt, const uint16_t ch_im_out,
                                                         const uint16_t dim_kernel_x,
                                                         const uint16_t dim_kernel_y, const uint16_t padding_x,
                                                         const uint16_t padding_y, const uint16_t stride_x,
                                                         const uint16_t stride_y, const q7_t *bias,
                                                         const uint16_t bias_shift, const uint16_t out_shift,
                                                         q7_t *Im_out, const uint16_t dim_im_out_x,
                                                         const uint16_t dim_im_out_y, q15_t *bufferA,
                                                         q7_t *bufferB);

/* ---- Fully connected -------------------------------------------------- */

arm_status arm_fully_connected_q7(const q7_t *pV, const q7_t *pM, const uint16_t dim_vec,
                                  const uint16_t num_of_rows, const uint16_t bias_shift,
                                  const uint16_t out_shift, const q7_t *bias, q7_t *pOut, q15_t *vec_buffer);

arm_status arm_fully_connected_q7_opt(const q7_t *pV, const q7_t *pM, const uint16_t dim_vec,
                                      const uint16_t num_of_rows, const uint16_t bias_shift,
                                      const uint16_t out_shift, const q7_t *bias, q7_t *pOut,
                                      q15_t *vec_buffer);

arm_status arm_fully_connected_q15(const q15_t *pV, const q15_t *pM, const uint16_t dim_vec,
                                   const uint16_t num_of_rows, const uint16_t bias_shift,
                                   const uint16_t out_shift, const q15_t *bias, q15_t *pOut,
                                   q15_t *vec_buffer);

arm_status arm_fully_connected_q15_opt(const q15_t *pV, const q15_t *pM, const uint16_t dim_vec,
                                       const uint16_t num_of_rows, const uint16_t bias_shift,
                                       const uint16_t out_shift, const q15_t *bias, q15_t *pOut,
                                       q15_t *vec_buffer);

arm_status arm_fully_connected_mat_q7_vec_q15(const q15_t *pV, const q7_t *pM, const uint16_t dim_vec,
                                              const uint16_t num_of_rows, const uint16_t bias_shift,
                                              const uint16_t out_shift, const q7_t *bias, q15_t *pOut,
                                              q15_t *vec_buffer);

arm_status arm_fully_connected_mat_q7_vec_q15_opt(const q15_t *pV, const q7_t *pM, const uint16_t dim_vec,
                                                  const uint16_t num_of_rows, const uint16_t bias_shift,
                                                  const uint16_t out_shift, const q7_t *bias, q15_t *pOut,
                                                  q15_t *vec_buffer);

/* ---- Pooling (q7, square) --------------------------------------------- */

void arm_maxpool_q7_HWC(q7_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                        const uint16_t dim_kernel, const uint16_t padding, const uint16_t stride,
                        const uint16_t dim_im_out, q7_t *bufferA, q7_t *Im_out);

void arm_avepool_q7_HWC(q7_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                        const uint16_t dim_kernel, const uint16_t padding, const uint16_t stride,
                        const uint16_t dim_im_out, q7_t *bufferA, q7_t *Im_out);

/* ---- Activations ------------------------------------------------------ */

void arm_relu_q7(q7_t *data, uint16_t size);
void arm_relu_q15(q15_t *data, uint16_t size);
void arm_nn_activations_direct_q7(q7_t *data, uint16_t size, uint16_t int_width, arm_nn_activation_type type);
void arm_nn_activations_direct_q15(q15_t *data, uint16_t size, uint16_t int_width,
                                   arm_nn_activation_type type);

extern const q7_t sigmoidTable_q7[256];
extern const q7_t tanhTable_q7[256];
extern const q15_t sigmoidTable_q15[256];
extern const q15_t tanhTable_q15[256];

/* ---- Softmax ---------------------------------------------------------- */

void arm_softmax_q7(const q7_t *vec_in, const uint16_t dim_vec, q7_t *p_out);
void arm_softmax_with_batch_q7(const q7_t *vec_in, const uint16_t nb_batches, const uint16_t dim_vec,
                               q7_t *p_out);
void arm_softmax_q15(const q15_t *vec_in, const uint16_t dim_vec, q15_t *p_out);

/* ---- Support ---------------------------------------------------------- */

void arm_nn_mult_q7(q7_t *pSrcA, q7_t *pSrcB, q7_t *pDst, const uint16_t out_shift, uint32_t blockSize);
void arm_nn_mult_q15(q15_t *pSrcA, q15_t *pSrcB, q15_t *pDst, const uint16_t out_shift, uint32_t blockSize);

#ifdef __cplusplus
}
#endif

#endif /* NNQ_USE_CMSIS */

/*
 * nnq's own kernels for layers that have no legacy CMSIS-NN kernel. Always
 * compiled (with or without NNQ_USE_CMSIS); identical on every target.
 */
#ifdef __cplusplus
extern "C" {
#endif

/*
 * Pooling, HWC, non-square. Output (oy, ox) covers input rows
 * oy*stride_y - pad_y ... +k_y-1 and columns ox*stride_x - pad_x ... +k_x-1;
 * out-of-range positions are skipped. Max: maximum over the in-range
 * positions. Average: (int32 sum * 2^out_lshift) / in-range count in 64
 * bits, truncating toward zero, saturated to the type (out_lshift 0 is the
 * plain mean; k > 0 gives the output k more fractional bits than the
 * input). An empty window gives 0. The input is never modified.
 */
void nnq_avepool_q7_HWC_nonsquare(const q7_t *in, uint16_t in_x, uint16_t in_y, uint16_t ch, uint16_t k_x,
                                  uint16_t k_y, uint16_t pad_x, uint16_t pad_y, uint16_t stride_x,
                                  uint16_t stride_y, uint16_t out_x, uint16_t out_y, q7_t *out,
                                  uint16_t out_lshift);
void nnq_maxpool_q7_HWC_nonsquare(const q7_t *in, uint16_t in_x, uint16_t in_y, uint16_t ch, uint16_t k_x,
                                  uint16_t k_y, uint16_t pad_x, uint16_t pad_y, uint16_t stride_x,
                                  uint16_t stride_y, uint16_t out_x, uint16_t out_y, q7_t *out);
void nnq_avepool_q15_HWC_nonsquare(const q15_t *in, uint16_t in_x, uint16_t in_y, uint16_t ch, uint16_t k_x,
                                   uint16_t k_y, uint16_t pad_x, uint16_t pad_y, uint16_t stride_x,
                                   uint16_t stride_y, uint16_t out_x, uint16_t out_y, q15_t *out,
                                   uint16_t out_lshift);
void nnq_maxpool_q15_HWC_nonsquare(const q15_t *in, uint16_t in_x, uint16_t in_y, uint16_t ch, uint16_t k_x,
                                   uint16_t k_y, uint16_t pad_x, uint16_t pad_y, uint16_t stride_x,
                                   uint16_t stride_y, uint16_t out_x, uint16_t out_y, q15_t *out);

/*
 * Element-wise add: acc = (a[i] << a_shift) + (b[i] << b_shift) + R in int32
 * (wrapping), R = 2^(out_shift-1) for out_shift >= 1, 0 for out_shift == 0 or
 * under ARM_NN_TRUNCATE; out[i] = SSAT(acc >> out_shift) (arithmetic shift).
 * out may alias a or b.
 */
void nnq_add_q7(const q7_t *a, const q7_t *b, q7_t *out, uint32_t n, uint16_t a_shift, uint16_t b_shift,
                uint16_t out_shift);
void nnq_add_q15(const q15_t *a, const q15_t *b, q15_t *out, uint32_t n, uint16_t a_shift, uint16_t b_shift,
                 uint16_t out_shift);

/*
 * q15 convolutions the legacy library lacks: a non-square q15 convolution
 * with no channel constraints, and a q15 depthwise convolution (depth
 * multiplier 1, weights [ky][kx][ch], ch_im_in == ch_im_out or
 * ARM_MATH_SIZE_MISMATCH). Arguments and requantisation are those of the
 * legacy non-square q7 functions with q15 data, weights and bias:
 * out = SSAT(((bias << bias_shift) + R + sum in*w) >> out_shift, 16), the sum
 * wrapping in 32 bits. bufferA and bufferB are not used.
 */
arm_status nnq_convolve_HWC_q15_basic_nonsquare(const q15_t *Im_in, uint16_t dim_im_in_x, uint16_t dim_im_in_y,
                                                uint16_t ch_im_in, const q15_t *wt, uint16_t ch_im_out,
                                                uint16_t dim_kernel_x, uint16_t dim_kernel_y, uint16_t padding_x,
                                                uint16_t padding_y, uint16_t stride_x, uint16_t stride_y,
                                                const q15_t *bias, uint16_t bias_shift, uint16_t out_shift,
                                                q15_t *Im_out, uint16_t dim_im_out_x, uint16_t dim_im_out_y,
                                                q15_t *bufferA, q7_t *bufferB);
arm_status nnq_depthwise_conv_HWC_q15_nonsquare(const q15_t *Im_in, uint16_t dim_im_in_x, uint16_t dim_im_in_y,
                                                uint16_t ch_im_in, const q15_t *wt, uint16_t ch_im_out,
                                                uint16_t dim_kernel_x, uint16_t dim_kernel_y, uint16_t padding_x,
                                                uint16_t padding_y, uint16_t stride_x, uint16_t stride_y,
                                                const q15_t *bias, uint16_t bias_shift, uint16_t out_shift,
                                                q15_t *Im_out, uint16_t dim_im_out_x, uint16_t dim_im_out_y,
                                                q15_t *bufferA, q7_t *bufferB);

/*
 * CMSIS-DSP q15 element-wise functions (nnq_dsp.c), with the documented
 * semantics of the CMSIS-DSP functions named on the right; n elements,
 * element by element (dst may alias a source):
 *   nnq_mult_q15        arm_mult_q15     dst = SSAT((a*b) >> 15, 16), the shift floors
 *   nnq_add_q15_sat     arm_add_q15      dst = SSAT(a + b, 16)
 *   nnq_sub_q15_sat     arm_sub_q15      dst = SSAT(a - b, 16)
 *   nnq_offset_q15_sat  arm_offset_q15   dst = SSAT(a + offset, 16)
 *   nnq_shift_q15       arm_shift_q15    dst = SSAT(a << shift, 16) for shift >= 0 (at most 15),
 *                                        a >> -shift (arithmetic) for shift < 0
 *   nnq_q7_to_q15       arm_q7_to_q15    dst = a << 8
 *   nnq_q15_to_q7       arm_q15_to_q7    dst = a >> 8 (arithmetic)
 */
void nnq_mult_q15(const q15_t *a, const q15_t *b, q15_t *dst, uint32_t n);
void nnq_add_q15_sat(const q15_t *a, const q15_t *b, q15_t *dst, uint32_t n);
void nnq_sub_q15_sat(const q15_t *a, const q15_t *b, q15_t *dst, uint32_t n);
void nnq_offset_q15_sat(const q15_t *a, q15_t offset, q15_t *dst, uint32_t n);
void nnq_shift_q15(const q15_t *a, int8_t shift, q15_t *dst, uint32_t n);
void nnq_q7_to_q15(const q7_t *a, q15_t *dst, uint32_t n);
void nnq_q15_to_q7(const q15_t *a, q7_t *dst, uint32_t n);

/*
 * Recurrent layers (nnq_recurrent.c): a PyTorch-convention GRU (gates r, z,
 * n) or LSTM (i, f, g, o) over in[steps][dim_in], zero initial state,
 * W_ih [G*hidden][dim_in], W_hh [G*hidden][hidden] row-major with biases
 * [G*hidden] (q7 for the _q7 functions, q15 for the _q15 ones), built from
 * arm_fully_connected_mat_q7_vec_q15 / arm_fully_connected_q15,
 * arm_nn_activations_direct_q15, arm_nn_mult_q15 and the functions above.
 * out is h after every step ([steps][hidden], return_sequences != 0) or
 * after the last ([hidden]); h is Q0.15, or Q0.7 (h >> 8) for _q7. scratch
 * holds 2*G*hidden + hidden (+ hidden for an LSTM, + dim_in for _q7) q15
 * values. Returns ARM_MATH_ARGUMENT_ERROR for parameters out of range.
 */
typedef struct
{
    uint16_t steps, dim_in, hidden;
    uint16_t return_sequences;
    /* input-to-hidden and hidden-to-hidden FC shifts */
    uint16_t ih_bias_shift, ih_out_shift, hh_bias_shift, hh_out_shift;
    /* gate sums: saturating left shift into the activations' input format, its int_width */
    uint16_t gate_shift, gate_int_width;
    /* LSTM cell: out_shift of i*g, shift and int_width of tanh(c) */
    uint16_t cell_out_shift, cell_shift, cell_int_width;
} nnq_rnn_params;

arm_status nnq_gru_q7(const q7_t *in, const q7_t *w_ih, const q7_t *b_ih, const q7_t *w_hh, const q7_t *b_hh,
                      const nnq_rnn_params *p, q7_t *out, q15_t *scratch);
arm_status nnq_gru_q15(const q15_t *in, const q15_t *w_ih, const q15_t *b_ih, const q15_t *w_hh, const q15_t *b_hh,
                       const nnq_rnn_params *p, q15_t *out, q15_t *scratch);
arm_status nnq_lstm_q7(const q7_t *in, const q7_t *w_ih, const q7_t *b_ih, const q7_t *w_hh, const q7_t *b_hh,
                       const nnq_rnn_params *p, q7_t *out, q15_t *scratch);
arm_status nnq_lstm_q15(const q15_t *in, const q15_t *w_ih, const q15_t *b_ih, const q15_t *w_hh, const q15_t *b_hh,
                        const nnq_rnn_params *p, q15_t *out, q15_t *scratch);

#ifdef __cplusplus
}
#endif

#endif /* NNQ_CMSIS_H */

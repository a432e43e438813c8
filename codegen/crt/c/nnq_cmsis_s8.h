/*
 * nnq_cmsis_s8.h - nnq's runtime for the CMSIS-NN s8/s16 API (the TFLite
 * int8/int16 scheme: per-channel multipliers and shifts, zero points).
 *
 * Part of nnq (github.com/nnq-toolkit/nnq). Types and prototypes follow the
 * documented public API of CMSIS-NN v7 (same names, members and
 * signatures, so generated code builds against either); the arithmetic was
 * written from nnq's own description of the library's results. Contains no
 * CMSIS code.
 *
 * Selection:
 *   NNQ_USE_CMSIS_NN (or NNQ_USE_CMSIS) defined: include the real
 *       arm_nnfunctions.h from a CMSIS-NN checkout; the nnq_s8_*.c files then
 *       compile to nothing and the real library provides the functions.
 *   __ARM_FEATURE_DSP (Cortex-M4/M7/M33...): the heavy kernels (convolutions
 *       by im2col, 1x1, depthwise, fully connected, pooling) use the SIMD
 *       instructions through ACLE intrinsics (arm_acle.h). Results are
 *       bit-identical to the plain C path (int32 accumulation with the same
 *       wrap-around, the same requantisation).
 *   NNQ_S8_DSP_EMULATE (tests only): compile the DSP kernels on any host with
 *       portable C versions of the intrinsics.
 *   NNQ_S8_STACK_BYTES: bytes of stack the DSP 1x1 convolution and fully
 *       connected kernels may use for int16 copies of their input (default
 *       1024); larger inputs take a slower path that needs no buffer.
 *
 * The *_get_buffer_size functions return exactly what the library's return
 * on the same kind of core, so one memory plan serves both builds.
 */
#ifndef NNQ_CMSIS_S8_H
#define NNQ_CMSIS_S8_H

#include <stdint.h>

#if defined(NNQ_USE_CMSIS_NN) || defined(NNQ_USE_CMSIS)

#include "arm_nnfunctions.h"

#else /* nnq's own runtime */

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum
{
    ARM_CMSIS_NN_SUCCESS = 0,
    ARM_CMSIS_NN_ARG_ERROR = -1,
    ARM_CMSIS_NN_NO_IMPL_ERROR = -2,
    ARM_CMSIS_NN_FAILURE = -3
} arm_cmsis_nn_status;

/* Width and height of a stride, padding or dilation. */
typedef struct
{
    int32_t w;
    int32_t h;
} cmsis_nn_tile;

/* Scratch buffer of a call: buf may be NULL when size is 0. */
typedef struct
{
    void *buf;
    int32_t size;
} cmsis_nn_context;

/* s16 convolution bias: int32 (is_int32_bias) or int64 values, or NULL. */
typedef struct
{
    const void *data;
    const bool is_int32_bias;
} cmsis_nn_bias_data;

/* Tensor shape: n = batches (or output channels for conv filters), h, w, c. */
typedef struct
{
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} cmsis_nn_dims;

typedef struct
{
    int32_t *multiplier;
    int32_t *shift;
} cmsis_nn_per_channel_quant_params;

typedef struct
{
    int32_t multiplier;
    int32_t shift;
} cmsis_nn_per_tensor_quant_params;

typedef struct
{
    int32_t min;
    int32_t max;
} cmsis_nn_activation;

/* input_offset / output_offset are the negated zero points. */
typedef struct
{
    int32_t input_offset;
    int32_t output_offset;
    cmsis_nn_tile stride;
    cmsis_nn_tile padding;
    cmsis_nn_tile dilation;
    cmsis_nn_activation activation;
} cmsis_nn_conv_params;

typedef struct
{
    int32_t input_offset;
    int32_t output_offset;
    int32_t ch_mult;
    cmsis_nn_tile stride;
    cmsis_nn_tile padding;
    cmsis_nn_tile dilation;
    cmsis_nn_activation activation;
} cmsis_nn_dw_conv_params;

typedef struct
{
    cmsis_nn_tile stride;
    cmsis_nn_tile padding;
    cmsis_nn_activation activation;
} cmsis_nn_pool_params;

typedef struct
{
    int32_t input_offset;
    int32_t filter_offset;
    int32_t output_offset;
    cmsis_nn_activation activation;
} cmsis_nn_fc_params;

/* The two 513-entry tables of arm_softmax_s16. */
typedef struct
{
    const int16_t *exp_lut;
    const int16_t *one_by_one_lut;
} cmsis_nn_softmax_lut_s16;

/* The argument lists shared by the convolutions. */
#define NNQ_S8_CONV_ARGS                                                                                           \
    const cmsis_nn_context *ctx, const cmsis_nn_conv_params *conv_params,                                          \
        const cmsis_nn_per_channel_quant_params *quant_params, const cmsis_nn_dims *input_dims,                    \
        const int8_t *input_data, const cmsis_nn_dims *filter_dims, const int8_t *filter_data,                     \
        const cmsis_nn_dims *bias_dims, const int32_t *bias_data
#define NNQ_S16_CONV_ARGS                                                                                          \
    const cmsis_nn_context *ctx, const cmsis_nn_conv_params *conv_params,                                          \
        const cmsis_nn_per_channel_quant_params *quant_params, const cmsis_nn_dims *input_dims,                    \
        const int16_t *input_data, const cmsis_nn_dims *filter_dims, const int8_t *filter_data,                    \
        const cmsis_nn_dims *bias_dims, const cmsis_nn_bias_data *bias_data, const cmsis_nn_dims *output_dims,     \
        int16_t *output_data
#define NNQ_S8_DW_ARGS                                                                                             \
    const cmsis_nn_context *ctx, const cmsis_nn_dw_conv_params *dw_conv_params,                                    \
        const cmsis_nn_per_channel_quant_params *quant_params, const cmsis_nn_dims *input_dims,                    \
        const int8_t *input_data, const cmsis_nn_dims *filter_dims, const int8_t *filter_data,                     \
        const cmsis_nn_dims *bias_dims, const int32_t *bias_data, const cmsis_nn_dims *output_dims,                \
        int8_t *output_data
#define NNQ_S16_DW_ARGS                                                                                            \
    const cmsis_nn_context *ctx, const cmsis_nn_dw_conv_params *dw_conv_params,                                    \
        const cmsis_nn_per_channel_quant_params *quant_params, const cmsis_nn_dims *input_dims,                    \
        const int16_t *input_data, const cmsis_nn_dims *filter_dims, const int8_t *filter_data,                    \
        const cmsis_nn_dims *bias_dims, const int64_t *bias_data, const cmsis_nn_dims *output_dims,                \
        int16_t *output_data

/* ---- Convolution ------------------------------------------------------ */

/* Generic im2col convolution: any kernel, stride, padding, dilation, grouped
 * convolution (filter_dims->c = input channels / groups), batches.
 * upscale_dims must be NULL. Needs arm_convolve_s8_get_buffer_size bytes. */
arm_cmsis_nn_status arm_convolve_s8(NNQ_S8_CONV_ARGS, const cmsis_nn_dims *upscale_dims,
                                    const cmsis_nn_dims *output_dims, int8_t *output_data);
/* 1x1 kernel, stride 1, no padding; no scratch. */
arm_cmsis_nn_status arm_convolve_1x1_s8_fast(NNQ_S8_CONV_ARGS, const cmsis_nn_dims *output_dims, int8_t *output_data);
/* 1x1 kernel, no padding, any stride; no scratch. */
arm_cmsis_nn_status arm_convolve_1x1_s8(NNQ_S8_CONV_ARGS, const cmsis_nn_dims *output_dims, int8_t *output_data);
/* 1xN kernel on an input of height 1, (stride.w * input channels) % 4 == 0. */
arm_cmsis_nn_status arm_convolve_1_x_n_s8(NNQ_S8_CONV_ARGS, const cmsis_nn_dims *output_dims, int8_t *output_data);
/* Selects one of the four above (the library's rule). */
arm_cmsis_nn_status arm_convolve_wrapper_s8(NNQ_S8_CONV_ARGS, const cmsis_nn_dims *output_dims, int8_t *output_data);

int32_t arm_convolve_s8_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims);
int32_t arm_convolve_1x1_s8_fast_get_buffer_size(const cmsis_nn_dims *input_dims);
int32_t arm_convolve_1_x_n_s8_get_buffer_size(const cmsis_nn_conv_params *conv_params, const cmsis_nn_dims *input_dims,
                                              const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims);
int32_t arm_convolve_wrapper_s8_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims,
                                                const cmsis_nn_dims *output_dims);
/* The DSP-path size, whatever this build's path (as the library's _dsp variant). */
int32_t arm_convolve_wrapper_s8_get_buffer_size_dsp(const cmsis_nn_conv_params *conv_params,
                                                    const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims,
                                                    const cmsis_nn_dims *output_dims);

/* int16 activations, int8 weights; offsets must be 0. */
arm_cmsis_nn_status arm_convolve_s16(NNQ_S16_CONV_ARGS);
arm_cmsis_nn_status arm_convolve_wrapper_s16(NNQ_S16_CONV_ARGS);
int32_t arm_convolve_s16_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims);
int32_t arm_convolve_wrapper_s16_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                 const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims,
                                                 const cmsis_nn_dims *output_dims);

/* ---- Depthwise convolution ------------------------------------------- */

/* Generic: any ch_mult, dilation, batches; no scratch. */
arm_cmsis_nn_status arm_depthwise_conv_s8(NNQ_S8_DW_ARGS);
/* ch_mult 1, one batch, dilation 1; needs arm_depthwise_conv_s8_opt_get_buffer_size bytes. */
arm_cmsis_nn_status arm_depthwise_conv_s8_opt(NNQ_S8_DW_ARGS);
/* 3x3 kernel, ch_mult 1, padding.w <= 1, one batch, dilation 1; no scratch. */
arm_cmsis_nn_status arm_depthwise_conv_3x3_s8(NNQ_S8_DW_ARGS);
arm_cmsis_nn_status arm_depthwise_conv_wrapper_s8(NNQ_S8_DW_ARGS);
int32_t arm_depthwise_conv_s8_opt_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims);
int32_t arm_depthwise_conv_wrapper_s8_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                      const cmsis_nn_dims *input_dims,
                                                      const cmsis_nn_dims *filter_dims,
                                                      const cmsis_nn_dims *output_dims);
int32_t arm_depthwise_conv_wrapper_s8_get_buffer_size_dsp(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                          const cmsis_nn_dims *input_dims,
                                                          const cmsis_nn_dims *filter_dims,
                                                          const cmsis_nn_dims *output_dims);

arm_cmsis_nn_status arm_depthwise_conv_s16(NNQ_S16_DW_ARGS);
arm_cmsis_nn_status arm_depthwise_conv_fast_s16(NNQ_S16_DW_ARGS);
arm_cmsis_nn_status arm_depthwise_conv_wrapper_s16(NNQ_S16_DW_ARGS);
int32_t arm_depthwise_conv_fast_s16_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims);
int32_t arm_depthwise_conv_wrapper_s16_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                       const cmsis_nn_dims *input_dims,
                                                       const cmsis_nn_dims *filter_dims,
                                                       const cmsis_nn_dims *output_dims);

/* ---- Fully connected ---------------------------------------------------- */

/* filter_dims->n = accumulation depth, output_dims->c = outputs; weights
 * [outputs][depth]; input_dims->n batches. No scratch on C/DSP cores. */
arm_cmsis_nn_status arm_fully_connected_s8(const cmsis_nn_context *ctx, const cmsis_nn_fc_params *fc_params,
                                           const cmsis_nn_per_tensor_quant_params *quant_params,
                                           const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                           const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                           const cmsis_nn_dims *bias_dims, const int32_t *bias_data,
                                           const cmsis_nn_dims *output_dims, int8_t *output_data);
arm_cmsis_nn_status arm_fully_connected_s16(const cmsis_nn_context *ctx, const cmsis_nn_fc_params *fc_params,
                                            const cmsis_nn_per_tensor_quant_params *quant_params,
                                            const cmsis_nn_dims *input_dims, const int16_t *input_data,
                                            const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                            const cmsis_nn_dims *bias_dims, const int64_t *bias_data,
                                            const cmsis_nn_dims *output_dims, int16_t *output_data);
int32_t arm_fully_connected_s8_get_buffer_size(const cmsis_nn_dims *filter_dims);
int32_t arm_fully_connected_s16_get_buffer_size(const cmsis_nn_dims *filter_dims);

/* ---- Pooling ------------------------------------------------------------ */

arm_cmsis_nn_status arm_avgpool_s8(const cmsis_nn_context *ctx, const cmsis_nn_pool_params *pool_params,
                                   const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                   const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims,
                                   int8_t *output_data);
arm_cmsis_nn_status arm_avgpool_s16(const cmsis_nn_context *ctx, const cmsis_nn_pool_params *pool_params,
                                    const cmsis_nn_dims *input_dims, const int16_t *input_data,
                                    const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims,
                                    int16_t *output_data);
arm_cmsis_nn_status arm_max_pool_s8(const cmsis_nn_context *ctx, const cmsis_nn_pool_params *pool_params,
                                    const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                    const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims,
                                    int8_t *output_data);
arm_cmsis_nn_status arm_max_pool_s16(const cmsis_nn_context *ctx, const cmsis_nn_pool_params *pool_params,
                                     const cmsis_nn_dims *input_dims, const int16_t *src,
                                     const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims,
                                     int16_t *dst);
int32_t arm_avgpool_s8_get_buffer_size(const int dim_dst_width, const int ch_src);
int32_t arm_avgpool_s16_get_buffer_size(const int dim_dst_width, const int ch_src);

/* ---- Softmax and element-wise ------------------------------------------ */

void arm_softmax_s8(const int8_t *input, const int32_t num_rows, const int32_t row_size, const int32_t mult,
                    const int32_t shift, const int32_t diff_min, int8_t *output);
arm_cmsis_nn_status arm_softmax_s16(const int16_t *input, const int32_t num_rows, const int32_t row_size,
                                    const int32_t mult, const int32_t shift,
                                    const cmsis_nn_softmax_lut_s16 *softmax_params, int16_t *output);
arm_cmsis_nn_status arm_elementwise_add_s8(const int8_t *input_1_vect, const int8_t *input_2_vect,
                                           const int32_t input_1_offset, const int32_t input_1_mult,
                                           const int32_t input_1_shift, const int32_t input_2_offset,
                                           const int32_t input_2_mult, const int32_t input_2_shift,
                                           const int32_t left_shift, int8_t *output, const int32_t out_offset,
                                           const int32_t out_mult, const int32_t out_shift,
                                           const int32_t out_activation_min, const int32_t out_activation_max,
                                           const int32_t block_size);
arm_cmsis_nn_status arm_elementwise_mul_s8(const int8_t *input_1_vect, const int8_t *input_2_vect,
                                           const int32_t input_1_offset, const int32_t input_2_offset,
                                           int8_t *output, const int32_t out_offset, const int32_t out_mult,
                                           const int32_t out_shift, const int32_t out_activation_min,
                                           const int32_t out_activation_max, const int32_t block_size);

#ifdef __cplusplus
}
#endif

#endif /* NNQ_USE_CMSIS_NN */

#endif /* NNQ_CMSIS_S8_H */

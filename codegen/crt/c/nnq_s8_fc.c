/*
 * nnq_s8_fc.c - s8/s16 fully connected layers of nnq's CMSIS-NN s8 runtime.
 * Part of nnq (github.com/nnq-toolkit/nnq); contains no CMSIS code.
 *
 * s8: acc = sum_k (x[k] + input_offset) * (w[o][k] + filter_offset) (int32,
 * wraps) + bias[o], per-tensor requantisation, + output_offset, clamp.
 * DSP path: the input row is widened once (offset added) into a stack
 * buffer in the SMLAD pair order, then two weight rows at a time.
 *
 * s16: int64 accumulation on the C path; on the DSP path the first
 * 4*floor(min(depth, 512)/4) products are summed in int32 (wrapping), as in
 * the library. Then + int64 bias, arm_nn_requantize_s64, clamp.
 */
#include "nnq_s8_internal.h"

#if !defined(NNQ_USE_CMSIS_NN) && !defined(NNQ_USE_CMSIS)

static inline int8_t nnq_fc_out(uint32_t acc, const int32_t *bias, int32_t o, const cmsis_nn_fc_params *p,
                                const cmsis_nn_per_tensor_quant_params *q)
{
    int32_t y;
    if (bias != NULL)
        acc += (uint32_t)bias[o];
    y = nnq_requantize((int32_t)acc, q->multiplier, q->shift) + p->output_offset;
    return (int8_t)NNQ_CLAMP(y, p->activation.min, p->activation.max);
}

static void nnq_fc_row_c(const int8_t *x, int32_t depth, const int8_t *w, int32_t rows, const int32_t *bias,
                         const cmsis_nn_fc_params *p, const cmsis_nn_per_tensor_quant_params *q, int8_t *out)
{
    int32_t o, k;
    for (o = 0; o < rows; o++, w += depth)
    {
        uint32_t acc = 0;
        for (k = 0; k < depth; k++)
            acc += (uint32_t)(((int32_t)x[k] + p->input_offset) * ((int32_t)w[k] + p->filter_offset));
        out[o] = nnq_fc_out(acc, bias, o, p, q);
    }
}

#if NNQ_S8_DSP
/* One batch row: x widened into xs (pairs (x0,x2),(x1,x3) per group of 4). */
static void nnq_fc_row_dsp(const int8_t *x, int32_t depth, const int8_t *w, int32_t rows, const int32_t *bias,
                           const cmsis_nn_fc_params *p, const cmsis_nn_per_tensor_quant_params *q, int8_t *out,
                           uint32_t *xs)
{
    const int32_t k4 = depth >> 2;
    const uint32_t off2 = nnq_dup16(p->input_offset), foff2 = nnq_dup16(p->filter_offset);
    int32_t j, o, k;
    for (j = 0; j < k4; j++)
    {
        int32_t lo, hi;
        nnq_ext4(nnq_ld32(x + 4 * j), off2, &lo, &hi);
        xs[2 * j] = (uint32_t)lo;
        xs[2 * j + 1] = (uint32_t)hi;
    }
    for (o = 0; o < rows; o += 2)
    {
        const int8_t *w0 = w + (size_t)o * depth;
        const int8_t *w1 = o + 1 < rows ? w0 + depth : w0; /* odd last row: computed twice, stored once */
        int32_t a0 = 0, a1 = 0;
        for (j = 0; j < k4; j++)
        {
            const uint32_t wa = nnq_ld32(w0 + 4 * j), wb = nnq_ld32(w1 + 4 * j);
            const uint32_t xl = xs[2 * j], xh = xs[2 * j + 1];
            a0 = nnq_smlad(xl, (uint32_t)nnq_sxtab16(foff2, wa), a0);
            a0 = nnq_smlad(xh, (uint32_t)nnq_sxtab16_ror8(foff2, wa), a0);
            a1 = nnq_smlad(xl, (uint32_t)nnq_sxtab16(foff2, wb), a1);
            a1 = nnq_smlad(xh, (uint32_t)nnq_sxtab16_ror8(foff2, wb), a1);
        }
        for (k = 4 * k4; k < depth; k++)
        {
            const int32_t xv = (int32_t)x[k] + p->input_offset;
            a0 = (int32_t)((uint32_t)a0 + (uint32_t)(xv * ((int32_t)w0[k] + p->filter_offset)));
            a1 = (int32_t)((uint32_t)a1 + (uint32_t)(xv * ((int32_t)w1[k] + p->filter_offset)));
        }
        out[o] = nnq_fc_out((uint32_t)a0, bias, o, p, q);
        if (o + 1 < rows)
            out[o + 1] = nnq_fc_out((uint32_t)a1, bias, o + 1, p, q);
    }
}
#endif

arm_cmsis_nn_status arm_fully_connected_s8(const cmsis_nn_context *ctx, const cmsis_nn_fc_params *fc_params,
                                           const cmsis_nn_per_tensor_quant_params *quant_params,
                                           const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                           const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                           const cmsis_nn_dims *bias_dims, const int32_t *bias_data,
                                           const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    const int32_t depth = filter_dims->n, rows = output_dims->c;
    int32_t b;
#if NNQ_S8_DSP
    uint32_t xs[NNQ_S8_STACK_BYTES / 4];
    const int dsp = 2 * (depth >> 2) <= (int32_t)(sizeof xs / sizeof xs[0]);
#endif
    (void)ctx;
    (void)bias_dims;
    for (b = 0; b < input_dims->n; b++, input_data += depth, output_data += rows)
    {
#if NNQ_S8_DSP
        if (dsp)
        {
            nnq_fc_row_dsp(input_data, depth, filter_data, rows, bias_data, fc_params, quant_params, output_data, xs);
            continue;
        }
#endif
        nnq_fc_row_c(input_data, depth, filter_data, rows, bias_data, fc_params, quant_params, output_data);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_fully_connected_s16(const cmsis_nn_context *ctx, const cmsis_nn_fc_params *fc_params,
                                            const cmsis_nn_per_tensor_quant_params *quant_params,
                                            const cmsis_nn_dims *input_dims, const int16_t *input_data,
                                            const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                            const cmsis_nn_dims *bias_dims, const int64_t *bias_data,
                                            const cmsis_nn_dims *output_dims, int16_t *output_data)
{
    const int32_t depth = filter_dims->n, rows = output_dims->c;
    const int32_t rm = nnq_reduce_mult(quant_params->multiplier);
    /* Products summed in int32 first (DSP path only). */
    const int32_t n32 = NNQ_S8_DSP ? NNQ_MIN(depth, 512) & ~3 : 0;
    int32_t b, o, k;
    (void)ctx;
    (void)bias_dims;
    for (b = 0; b < input_dims->n; b++, input_data += depth)
    {
        const int8_t *w = filter_data;
        for (o = 0; o < rows; o++, w += depth)
        {
            uint32_t head = 0;
            int64_t acc;
            int32_t y;
            for (k = 0; k < n32; k++)
                head += (uint32_t)(input_data[k] * w[k]);
            acc = (int32_t)head;
            for (; k < depth; k++)
                acc += (int64_t)input_data[k] * w[k];
            if (bias_data != NULL)
                acc += bias_data[o];
            y = nnq_requantize_s64(acc, rm, quant_params->shift);
            *output_data++ = (int16_t)NNQ_CLAMP(y, fc_params->activation.min, fc_params->activation.max);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

int32_t arm_fully_connected_s8_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}

int32_t arm_fully_connected_s16_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}

#else
typedef int nnq_s8_fc_unused;
#endif /* !NNQ_USE_CMSIS_NN */

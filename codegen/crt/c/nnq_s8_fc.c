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
/*
 * One widened input column (k4 >= 1 groups, words lo/hi per group) times
 * three weight rows: *a0..*a2 += the dot products. Per group: LDRD + 3 LDR
 * + 6 SXTB16 + 6 SMLAD + loop = 18 instructions for 12 MACs.
 */
static inline void nnq_mv1x3(const uint32_t *xs, int32_t k4, const int8_t *w0, const int8_t *w1, const int8_t *w2,
                             int32_t *a0, int32_t *a1, int32_t *a2)
{
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
    int32_t r0 = *a0, r1 = *a1, r2 = *a2;
    uint32_t xl, xh, wv, t;
    const uint32_t *end = xs + 2 * k4;
    __asm volatile("1:\n\t"
                   "ldrd %[xl], %[xh], [%[xs]], #8\n\t"
                   "ldr %[wv], [%[w0]], #4\n\t"
                   "sxtb16 %[t], %[wv]\n\t"
                   "smlad %[r0], %[xl], %[t], %[r0]\n\t"
                   "sxtb16 %[t], %[wv], ror #8\n\t"
                   "smlad %[r0], %[xh], %[t], %[r0]\n\t"
                   "ldr %[wv], [%[w1]], #4\n\t"
                   "sxtb16 %[t], %[wv]\n\t"
                   "smlad %[r1], %[xl], %[t], %[r1]\n\t"
                   "sxtb16 %[t], %[wv], ror #8\n\t"
                   "smlad %[r1], %[xh], %[t], %[r1]\n\t"
                   "ldr %[wv], [%[w2]], #4\n\t"
                   "sxtb16 %[t], %[wv]\n\t"
                   "smlad %[r2], %[xl], %[t], %[r2]\n\t"
                   "sxtb16 %[t], %[wv], ror #8\n\t"
                   "smlad %[r2], %[xh], %[t], %[r2]\n\t"
                   "cmp %[xs], %[end]\n\t"
                   "bne 1b"
                   : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [xs] "+r"(xs), [w0] "+r"(w0), [w1] "+r"(w1),
                     [w2] "+r"(w2), [xl] "=&r"(xl), [xh] "=&r"(xh), [wv] "=&r"(wv), [t] "=&r"(t)
                   : [end] "r"(end)
                   : "cc", "memory");
    *a0 = r0;
    *a1 = r1;
    *a2 = r2;
#else
    int32_t j;
    for (j = 0; j < k4; j++, w0 += 4, w1 += 4, w2 += 4)
    {
        const uint32_t xl = xs[2 * j], xh = xs[2 * j + 1];
        const uint32_t u = nnq_ld32(w0), v = nnq_ld32(w1), z = nnq_ld32(w2);
        *a0 = nnq_smlad(xh, (uint32_t)nnq_sxtb16_ror8(u), nnq_smlad(xl, (uint32_t)nnq_sxtb16(u), *a0));
        *a1 = nnq_smlad(xh, (uint32_t)nnq_sxtb16_ror8(v), nnq_smlad(xl, (uint32_t)nnq_sxtb16(v), *a1));
        *a2 = nnq_smlad(xh, (uint32_t)nnq_sxtb16_ror8(z), nnq_smlad(xl, (uint32_t)nnq_sxtb16(z), *a2));
    }
#endif
}

/* One widened column times one row, any filter offset (foff2 = offset pair). */
static inline int32_t nnq_mv1x1(const uint32_t *xs, int32_t k4, const int8_t *w, uint32_t foff2, int32_t a)
{
    int32_t j;
    for (j = 0; j < k4; j++, w += 4)
    {
        const uint32_t wv = nnq_ld32(w);
        a = nnq_smlad(xs[2 * j], (uint32_t)nnq_sxtab16(foff2, wv), a);
        a = nnq_smlad(xs[2 * j + 1], (uint32_t)nnq_sxtab16_ror8(foff2, wv), a);
    }
    return a;
}

/*
 * Per-tensor requantisation of n accumulators (bias included); the short
 * exact path (SMMULR) when shift <= 0 and bound < 2^30.
 */
static void nnq_fc_requant(const int32_t *acc, int32_t n, const cmsis_nn_fc_params *p,
                           const cmsis_nn_per_tensor_quant_params *q, int8_t *out, int32_t bound)
{
    const int32_t m = q->multiplier, right = -q->shift, off = p->output_offset;
    const int32_t lo = p->activation.min, hi = p->activation.max;
    int32_t i;
#ifdef CMSIS_NN_USE_SINGLE_ROUNDING
    /* Single rounding: a short exact path for shifts <= -2, any bound. */
    (void)bound;
    if (q->shift <= -2)
    {
        for (i = 0; i < n; i++)
            out[i] = (int8_t)NNQ_CLAMP(nnq_rq_single_r2(acc[i], m, right) + off, lo, hi);
        return;
    }
#else
    if (q->shift <= 0 && bound < (1 << 30))
    {
        const int32_t rnd = (int32_t)((1u << right) >> 1), msk = right != 0 ? -1 : 0;
        for (i = 0; i < n; i++)
        {
            const int32_t h = nnq_dhm2(acc[i] * 2, m);
            int32_t y = ((h + rnd + ((h >> 31) & msk)) >> right) + off;
            if (lo == -128 && hi == 127)
                y = nnq_ssat8(y);
            else
            {
                y = y < lo ? lo : y;
                y = y > hi ? hi : y;
            }
            out[i] = (int8_t)y;
        }
        return;
    }
#endif
    for (i = 0; i < n; i++)
        out[i] = (int8_t)NNQ_CLAMP(nnq_requantize(acc[i], m, q->shift) + off, lo, hi);
}

/* Rows per requantisation pass. */
#define NNQ_FC_CHUNK 64

/* One batch row: x widened into xs (pairs (x0,x2),(x1,x3) per group of 4). */
static void nnq_fc_row_dsp(const int8_t *x, int32_t depth, const int8_t *w, int32_t rows, const int32_t *bias,
                           const cmsis_nn_fc_params *p, const cmsis_nn_per_tensor_quant_params *q, int8_t *out,
                           uint32_t *xs, int32_t bound)
{
    const int32_t k4 = depth >> 2;
    const uint32_t off2 = nnq_dup16(p->input_offset), foff2 = nnq_dup16(p->filter_offset);
    int32_t acc[NNQ_FC_CHUNK];
    int32_t j, r0, k;
    for (j = 0; j < k4; j++)
    {
        int32_t lo, hi;
        nnq_ext4(nnq_ld32(x + 4 * j), off2, &lo, &hi);
        xs[2 * j] = (uint32_t)lo;
        xs[2 * j + 1] = (uint32_t)hi;
    }
    for (r0 = 0; r0 < rows; r0 += NNQ_FC_CHUNK)
    {
        const int32_t nr = NNQ_MIN(NNQ_FC_CHUNK, rows - r0);
        int32_t o = 0;
        for (j = 0; j < nr; j++)
            acc[j] = bias != NULL ? bias[r0 + j] : 0;
        if (p->filter_offset == 0 && k4 > 0)
            for (; o + 3 <= nr; o += 3)
            {
                const int8_t *w0 = w + (size_t)(r0 + o) * depth;
                nnq_mv1x3(xs, k4, w0, w0 + depth, w0 + 2 * depth, &acc[o], &acc[o + 1], &acc[o + 2]);
            }
        for (; o < nr; o++)
            acc[o] = nnq_mv1x1(xs, k4, w + (size_t)(r0 + o) * depth, foff2, acc[o]);
        if (4 * k4 < depth)
            for (o = 0; o < nr; o++)
            {
                const int8_t *w0 = w + (size_t)(r0 + o) * depth;
                uint32_t a = (uint32_t)acc[o];
                for (k = 4 * k4; k < depth; k++)
                    a += (uint32_t)(((int32_t)x[k] + p->input_offset) * ((int32_t)w0[k] + p->filter_offset));
                acc[o] = (int32_t)a;
            }
        nnq_fc_requant(acc, nr, p, q, out + r0, bound);
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
    /* |filter + filter_offset| <= 255 + |offset| bounds the products. */
    const int32_t bound =
        fc_params->filter_offset == 0 ? nnq_acc_bound(depth, bias_data, output_dims->c) : INT32_MAX;
#endif
    (void)ctx;
    (void)bias_dims;
    for (b = 0; b < input_dims->n; b++, input_data += depth, output_data += rows)
    {
#if NNQ_S8_DSP
        if (dsp)
        {
            nnq_fc_row_dsp(input_data, depth, filter_data, rows, bias_data, fc_params, quant_params, output_data, xs,
                           bound);
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

/*
 * nnq_s8_dw.c - s8/s16 depthwise convolutions of nnq's CMSIS-NN s8 runtime.
 * Part of nnq (github.com/nnq-toolkit/nnq); contains no CMSIS code.
 *
 * Output channel oc = ic * ch_mult + m reads input channel ic; weights are
 * [KH][KW][C_OUT]. acc = sum over in-bounds taps of (x + input_offset) * w
 * (int32, wraps; int64 for arm_depthwise_conv_s16 and the C path of
 * arm_depthwise_conv_fast_s16, int32 on its DSP path, as the library), then
 * bias, per-channel requantisation, offset, clamp.
 *
 * DSP path (ch_mult 1, one batch): four channels per word, SXTAB16 adds
 * the input offset while widening, SMLABB/SMLATT accumulate, and two
 * neighbouring output pixels share each widened weight word.
 */
#include "nnq_s8_internal.h"

#if !defined(NNQ_USE_CMSIS_NN) && !defined(NNQ_USE_CMSIS)

/* C path: the sum of output channel oc at window origin (iy0, ix0). */
#define NNQ_DEFINE_DW_DOT(NAME, IN_T, ACC_T)                                                                       \
    static ACC_T NAME(const nnq_geom *g, const IN_T *in, int32_t in_off, const int8_t *w, int32_t ch_mult,       \
                      int32_t iy0, int32_t ix0, int32_t oc)                                                        \
    {                                                                                                              \
        ACC_T acc = 0;                                                                                             \
        const int32_t ic = oc / ch_mult;                                                                           \
        int32_t ky, kx;                                                                                            \
        for (ky = 0; ky < g->k_h; ky++)                                                                            \
        {                                                                                                          \
            const int32_t iy = iy0 + ky * g->dil_h;                                                                \
            if (iy < 0 || iy >= g->in_h)                                                                           \
                continue;                                                                                          \
            for (kx = 0; kx < g->k_w; kx++)                                                                        \
            {                                                                                                      \
                const int32_t ix = ix0 + kx * g->dil_w;                                                            \
                if (ix < 0 || ix >= g->in_w)                                                                       \
                    continue;                                                                                      \
                acc += (ACC_T)(((int32_t)in[((size_t)iy * g->in_w + ix) * g->in_c + ic] + in_off) *                \
                               w[((size_t)ky * g->k_w + kx) * g->out_c + oc]);                                     \
            }                                                                                                      \
        }                                                                                                          \
        return acc;                                                                                                \
    }
NNQ_DEFINE_DW_DOT(nnq_dw_dot_s8, int8_t, uint32_t)
NNQ_DEFINE_DW_DOT(nnq_dw_dot_s16, int16_t, int64_t)
NNQ_DEFINE_DW_DOT(nnq_dw_dot_s16_32, int16_t, uint32_t)

static inline int8_t nnq_dw_out_s8(uint32_t acc, const int32_t *bias, int32_t oc, const int32_t *mult,
                                   const int32_t *shift, const cmsis_nn_dw_conv_params *p)
{
    int32_t y;
    if (bias != NULL)
        acc += (uint32_t)bias[oc];
    y = nnq_requantize((int32_t)acc, mult[oc], shift[oc]) + p->output_offset;
    return (int8_t)NNQ_CLAMP(y, p->activation.min, p->activation.max);
}

static void nnq_dw_s8_c(const nnq_geom *g, const cmsis_nn_dw_conv_params *p,
                        const cmsis_nn_per_channel_quant_params *q, const int8_t *in, const int8_t *w,
                        const int32_t *bias, int8_t *out)
{
    int32_t b, oy, ox, oc;
    for (b = 0; b < g->batches; b++, in += (size_t)g->in_h * g->in_w * g->in_c)
        for (oy = 0; oy < g->out_h; oy++)
            for (ox = 0; ox < g->out_w; ox++)
                for (oc = 0; oc < g->out_c; oc++)
                    *out++ = nnq_dw_out_s8(nnq_dw_dot_s8(g, in, p->input_offset, w, p->ch_mult,
                                                         oy * g->stride_h - g->pad_h, ox * g->stride_w - g->pad_w, oc),
                                           bias, oc, q->multiplier, q->shift, p);
}

#if NNQ_S8_DSP
/*
 * ch_mult 1, one batch, dilation 1. For each output row, pixels are taken
 * in pairs (ox, ox+1) whose windows are both complete horizontally; the
 * others one at a time. Channels in groups of 4, leftovers one by one.
 */
typedef struct
{
    int32_t a[8]; /* channels c..c+3 of pixel 0, then of pixel 1 */
} nnq_dw_acc;

static inline void nnq_dw_tap4(nnq_dw_acc *acc, int32_t px, uint32_t x, int32_t w02, int32_t w13, uint32_t off2)
{
    int32_t x02, x13;
    int32_t *a = acc->a + 4 * px;
    nnq_ext4(x, off2, &x02, &x13);
    a[0] = nnq_smlabb((uint32_t)x02, (uint32_t)w02, a[0]);
    a[2] = nnq_smlatt((uint32_t)x02, (uint32_t)w02, a[2]);
    a[1] = nnq_smlabb((uint32_t)x13, (uint32_t)w13, a[1]);
    a[3] = nnq_smlatt((uint32_t)x13, (uint32_t)w13, a[3]);
}

/* Output pixels ox .. ox+np-1 (np = 1 or 2) of row oy. */
static void nnq_dw_s8_dsp_px(const nnq_geom *g, const cmsis_nn_dw_conv_params *p,
                             const cmsis_nn_per_channel_quant_params *q, const int8_t *in, const int8_t *w,
                             const int32_t *bias, int8_t *out, int32_t oy, int32_t ox, int32_t np)
{
    const int32_t c_n = g->in_c, iy0 = oy * g->stride_h - g->pad_h, ix0 = ox * g->stride_w - g->pad_w;
    const int32_t ky0 = NNQ_MAX(0, -iy0), ky1 = NNQ_MIN(g->k_h, g->in_h - iy0);
    const int32_t kx0 = NNQ_MAX(0, -ix0);
    const int32_t kx1 = NNQ_MIN(g->k_w, g->in_w - ix0 - (np - 1) * g->stride_w);
    const uint32_t off2 = nnq_dup16(p->input_offset);
    const int32_t dx = g->stride_w * c_n;
    int32_t c = 0, ky, kx, i;
    for (; c + 4 <= c_n; c += 4)
    {
        nnq_dw_acc acc = {{0, 0, 0, 0, 0, 0, 0, 0}};
        for (ky = ky0; ky < ky1; ky++)
        {
            const int8_t *x = in + ((size_t)(iy0 + ky) * g->in_w + ix0 + kx0) * c_n + c;
            const int8_t *wp = w + ((size_t)ky * g->k_w + kx0) * c_n + c;
            for (kx = kx0; kx < kx1; kx++, x += c_n, wp += c_n)
            {
                const uint32_t wv = nnq_ld32(wp);
                const int32_t w02 = nnq_sxtb16(wv), w13 = nnq_sxtb16_ror8(wv);
                nnq_dw_tap4(&acc, 0, nnq_ld32(x), w02, w13, off2);
                if (np == 2)
                    nnq_dw_tap4(&acc, 1, nnq_ld32(x + dx), w02, w13, off2);
            }
        }
        for (i = 0; i < 4 * np; i++)
            out[(i >> 2) * c_n + c + (i & 3)] =
                nnq_dw_out_s8((uint32_t)acc.a[i], bias, c + (i & 3), q->multiplier, q->shift, p);
    }
    for (; c < c_n; c++)
        for (i = 0; i < np; i++)
            out[i * c_n + c] = nnq_dw_out_s8(nnq_dw_dot_s8(g, in, p->input_offset, w, 1, iy0, ix0 + i * g->stride_w, c),
                                             bias, c, q->multiplier, q->shift, p);
}

static void nnq_dw_s8_dsp(const nnq_geom *g, const cmsis_nn_dw_conv_params *p,
                          const cmsis_nn_per_channel_quant_params *q, const int8_t *in, const int8_t *w,
                          const int32_t *bias, int8_t *out)
{
    int32_t oy, ox;
    for (oy = 0; oy < g->out_h; oy++)
    {
        for (ox = 0; ox < g->out_w; ox++)
        {
            const int32_t ix0 = ox * g->stride_w - g->pad_w;
            /* Pair when both windows lie inside horizontally. */
            if (ox + 1 < g->out_w && ix0 >= 0 && ix0 + g->stride_w + g->k_w <= g->in_w)
            {
                nnq_dw_s8_dsp_px(g, p, q, in, w, bias, out, oy, ox, 2);
                out += 2 * g->out_c;
                ox++;
            }
            else
            {
                nnq_dw_s8_dsp_px(g, p, q, in, w, bias, out, oy, ox, 1);
                out += g->out_c;
            }
        }
    }
}
#endif /* NNQ_S8_DSP */

static arm_cmsis_nn_status nnq_dw_s8_run(const cmsis_nn_dw_conv_params *p, const cmsis_nn_per_channel_quant_params *q,
                                         const cmsis_nn_dims *in_d, const int8_t *in, const cmsis_nn_dims *f_d,
                                         const int8_t *w, const int32_t *bias, const cmsis_nn_dims *out_d,
                                         int8_t *out, int fast)
{
    const nnq_geom g = nnq_geom_make(in_d, f_d, out_d, &p->stride, &p->padding, fast ? NULL : &p->dilation);
    if (p->ch_mult < 1 || g.out_c != g.in_c * p->ch_mult)
        return ARM_CMSIS_NN_ARG_ERROR;
#if NNQ_S8_DSP
    if (fast || (p->ch_mult == 1 && g.batches == 1 && g.dil_h == 1 && g.dil_w == 1))
    {
        nnq_dw_s8_dsp(&g, p, q, in, w, bias, out);
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
    nnq_dw_s8_c(&g, p, q, in, w, bias, out);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_depthwise_conv_s8(NNQ_S8_DW_ARGS)
{
    (void)ctx;
    (void)bias_dims;
    return nnq_dw_s8_run(dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_data,
                         output_dims, output_data, 0);
}

/* _opt and 3x3 handle one batch with dilation 1 (ignored, as in the library). */
arm_cmsis_nn_status arm_depthwise_conv_s8_opt(NNQ_S8_DW_ARGS)
{
    (void)ctx;
    (void)bias_dims;
    if (input_dims->c != output_dims->c)
        return ARM_CMSIS_NN_ARG_ERROR;
    return nnq_dw_s8_run(dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_data,
                         output_dims, output_data, 1);
}

arm_cmsis_nn_status arm_depthwise_conv_3x3_s8(NNQ_S8_DW_ARGS)
{
    (void)ctx;
    (void)bias_dims;
    if (input_dims->c != output_dims->c || dw_conv_params->padding.w > 1 || filter_dims->w != 3 ||
        filter_dims->h != 3)
        return ARM_CMSIS_NN_ARG_ERROR;
    return nnq_dw_s8_run(dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_data,
                         output_dims, output_data, 1);
}

arm_cmsis_nn_status arm_depthwise_conv_wrapper_s8(NNQ_S8_DW_ARGS)
{
    const cmsis_nn_dw_conv_params *p = dw_conv_params;
    if (p->ch_mult == 1 && input_dims->n == 1 && p->dilation.w == 1 && p->dilation.h == 1)
    {
        if (filter_dims->w == 3 && filter_dims->h == 3 && p->padding.h <= 1 && p->padding.w <= 1)
            return arm_depthwise_conv_3x3_s8(ctx, p, quant_params, input_dims, input_data, filter_dims, filter_data,
                                             bias_dims, bias_data, output_dims, output_data);
        return arm_depthwise_conv_s8_opt(ctx, p, quant_params, input_dims, input_data, filter_dims, filter_data,
                                         bias_dims, bias_data, output_dims, output_data);
    }
    return arm_depthwise_conv_s8(ctx, p, quant_params, input_dims, input_data, filter_dims, filter_data, bias_dims,
                                 bias_data, output_dims, output_data);
}

int32_t arm_depthwise_conv_s8_opt_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
#if NNQ_S8_DSP
    return 2 * input_dims->c * filter_dims->w * filter_dims->h;
#else
    (void)input_dims;
    (void)filter_dims;
    return 0;
#endif
}

int32_t arm_depthwise_conv_wrapper_s8_get_buffer_size_dsp(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                          const cmsis_nn_dims *input_dims,
                                                          const cmsis_nn_dims *filter_dims,
                                                          const cmsis_nn_dims *output_dims)
{
    const cmsis_nn_dw_conv_params *p = dw_conv_params;
    if (input_dims->c == output_dims->c && input_dims->n == 1 && p->dilation.w == 1 && p->dilation.h == 1 &&
        !(filter_dims->w == 3 && filter_dims->h == 3 && p->padding.h <= 1 && p->padding.w <= 1))
        return 2 * input_dims->c * filter_dims->w * filter_dims->h;
    return 0;
}

int32_t arm_depthwise_conv_wrapper_s8_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                      const cmsis_nn_dims *input_dims,
                                                      const cmsis_nn_dims *filter_dims,
                                                      const cmsis_nn_dims *output_dims)
{
#if NNQ_S8_DSP
    return arm_depthwise_conv_wrapper_s8_get_buffer_size_dsp(dw_conv_params, input_dims, filter_dims, output_dims);
#else
    (void)dw_conv_params;
    (void)input_dims;
    (void)filter_dims;
    (void)output_dims;
    return 0;
#endif
}

/* ---- s16 ----------------------------------------------------------------- */

/* acc32: accumulate the products in int32 (the DSP path of the fast kernel). */
static arm_cmsis_nn_status nnq_dw_s16(NNQ_S16_DW_ARGS, int acc32)
{
    const cmsis_nn_dw_conv_params *p = dw_conv_params;
    const nnq_geom g = nnq_geom_make(input_dims, filter_dims, output_dims, &p->stride, &p->padding, &p->dilation);
    int32_t b, oy, ox, oc;
    (void)ctx;
    (void)bias_dims;
    if (p->ch_mult < 1 || g.out_c != g.in_c * p->ch_mult)
        return ARM_CMSIS_NN_ARG_ERROR;
    for (b = 0; b < g.batches; b++, input_data += (size_t)g.in_h * g.in_w * g.in_c)
        for (oy = 0; oy < g.out_h; oy++)
            for (ox = 0; ox < g.out_w; ox++)
                for (oc = 0; oc < g.out_c; oc++)
                {
                    const int32_t iy0 = oy * g.stride_h - g.pad_h, ix0 = ox * g.stride_w - g.pad_w;
                    int64_t acc;
                    int32_t y;
                    if (acc32)
                        acc = (int32_t)nnq_dw_dot_s16_32(&g, input_data, 0, filter_data, p->ch_mult, iy0, ix0, oc);
                    else
                        acc = nnq_dw_dot_s16(&g, input_data, 0, filter_data, p->ch_mult, iy0, ix0, oc);
                    if (bias_data != NULL)
                        acc += bias_data[oc];
                    y = nnq_requantize_s64(acc, nnq_reduce_mult(quant_params->multiplier[oc]), quant_params->shift[oc]);
                    *output_data++ = (int16_t)NNQ_CLAMP(y, p->activation.min, p->activation.max);
                }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_depthwise_conv_s16(NNQ_S16_DW_ARGS)
{
    return nnq_dw_s16(ctx, dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_dims,
                      bias_data, output_dims, output_data, 0);
}

arm_cmsis_nn_status arm_depthwise_conv_fast_s16(NNQ_S16_DW_ARGS)
{
    if (input_dims->c != output_dims->c || filter_dims->w * filter_dims->h >= 512)
        return ARM_CMSIS_NN_ARG_ERROR;
    if (ctx == NULL || (ctx->buf == NULL && arm_depthwise_conv_fast_s16_get_buffer_size(input_dims, filter_dims) > 0))
        return ARM_CMSIS_NN_ARG_ERROR;
    return nnq_dw_s16(ctx, dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_dims,
                      bias_data, output_dims, output_data, NNQ_S8_DSP);
}

static int nnq_dw_s16_use_fast(const cmsis_nn_dw_conv_params *p, const cmsis_nn_dims *filter_dims)
{
    return p->ch_mult == 1 && p->dilation.w == 1 && p->dilation.h == 1 && filter_dims->w * filter_dims->h < 512;
}

arm_cmsis_nn_status arm_depthwise_conv_wrapper_s16(NNQ_S16_DW_ARGS)
{
    if (nnq_dw_s16_use_fast(dw_conv_params, filter_dims))
        return arm_depthwise_conv_fast_s16(ctx, dw_conv_params, quant_params, input_dims, input_data, filter_dims,
                                           filter_data, bias_dims, bias_data, output_dims, output_data);
    return arm_depthwise_conv_s16(ctx, dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                                  bias_dims, bias_data, output_dims, output_data);
}

int32_t arm_depthwise_conv_fast_s16_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
#if NNQ_S8_DSP
    return 2 * input_dims->c * filter_dims->w * filter_dims->h;
#else
    (void)input_dims;
    (void)filter_dims;
    return 0;
#endif
}

int32_t arm_depthwise_conv_wrapper_s16_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                       const cmsis_nn_dims *input_dims,
                                                       const cmsis_nn_dims *filter_dims,
                                                       const cmsis_nn_dims *output_dims)
{
    (void)output_dims;
    return nnq_dw_s16_use_fast(dw_conv_params, filter_dims)
               ? arm_depthwise_conv_fast_s16_get_buffer_size(input_dims, filter_dims)
               : 0;
}

#else
typedef int nnq_s8_dw_unused;
#endif /* !NNQ_USE_CMSIS_NN */

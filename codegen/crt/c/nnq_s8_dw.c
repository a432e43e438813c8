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
/* Channels per pass; accumulators of two pixels on the stack. */
#define NNQ_DW_CHUNK 64

/*
 * One tap on channels c..c+3: the words at XP + XO (input) and WP + WO
 * (weights) hold 4 int8 values each; off2 is the input offset pair. Ten
 * instructions for 4 MACs (two loads, four widenings, four SMLAxy).
 */
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
#define NNQ_DW_TAP(XP, XO, WP, WO)                                                                                 \
    do                                                                                                             \
    {                                                                                                              \
        uint32_t x_, w_, t_, u_;                                                                                   \
        __asm volatile("ldr %[x], [%[xp], %[xo]]\n\t"                                                              \
                       "ldr %[w], [%[wp], %[wo]]\n\t"                                                              \
                       "sxtab16 %[t], %[o2], %[x]\n\t"                                                             \
                       "sxtb16 %[u], %[w]\n\t"                                                                     \
                       "smlabb %[a0], %[t], %[u], %[a0]\n\t"                                                       \
                       "smlatt %[a2], %[t], %[u], %[a2]\n\t"                                                       \
                       "sxtab16 %[t], %[o2], %[x], ror #8\n\t"                                                     \
                       "sxtb16 %[u], %[w], ror #8\n\t"                                                             \
                       "smlabb %[a1], %[t], %[u], %[a1]\n\t"                                                       \
                       "smlatt %[a3], %[t], %[u], %[a3]"                                                           \
                       : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(x_), [w] "=&r"(w_), \
                         [t] "=&r"(t_), [u] "=&r"(u_)                                                              \
                       : [xp] "r"(XP), [xo] "r"(XO), [wp] "r"(WP), [wo] "r"(WO), [o2] "r"(off2)                    \
                       : "memory");                                                                                \
    } while (0)
#else
#define NNQ_DW_TAP(XP, XO, WP, WO)                                                                                 \
    do                                                                                                             \
    {                                                                                                              \
        const uint32_t x_ = nnq_ld32((XP) + (XO)), w_ = nnq_ld32((WP) + (WO));                                     \
        const uint32_t t_ = (uint32_t)nnq_sxtab16(off2, x_), u_ = (uint32_t)nnq_sxtb16(w_);                        \
        const uint32_t v_ = (uint32_t)nnq_sxtab16_ror8(off2, x_), z_ = (uint32_t)nnq_sxtb16_ror8(w_);              \
        a0 = nnq_smlabb(t_, u_, a0);                                                                               \
        a2 = nnq_smlatt(t_, u_, a2);                                                                               \
        a1 = nnq_smlabb(v_, z_, a1);                                                                               \
        a3 = nnq_smlatt(v_, z_, a3);                                                                               \
    } while (0)
#endif

/* Three taps of one kernel row (columns 0, 1, 2 at offsets 0, cn, 2cn). */
#define NNQ_DW_ROW3(XP, WP)                                                                                        \
    do                                                                                                             \
    {                                                                                                              \
        NNQ_DW_TAP(XP, zero, WP, zero);                                                                            \
        NNQ_DW_TAP(XP, cn, WP, cn);                                                                                \
        NNQ_DW_TAP(XP, cn2, WP, cn2);                                                                              \
    } while (0)

/*
 * ngroups groups of 4 channels over a kh x kw block of in-bounds taps: px,
 * pw point at the block's first tap of the first channel; rs and wrs are
 * the input and weight row strides, cn the channel count. acc[4 * ngroups]
 * receives bias (or 0) + the sums.
 */
static void nnq_dw_groups(const int8_t *px, const int8_t *pw, const int32_t *bias, int32_t ngroups, int32_t kh,
                          int32_t kw, int32_t cn, int32_t rs, int32_t wrs, uint32_t off2, int32_t *acc)
{
    const int32_t zero = 0, cn2 = 2 * cn;
    int32_t gi, r, k;
    for (gi = 0; gi < ngroups; gi++, px += 4, pw += 4, acc += 4)
    {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        if (bias != NULL)
        {
            a0 = bias[4 * gi];
            a1 = bias[4 * gi + 1];
            a2 = bias[4 * gi + 2];
            a3 = bias[4 * gi + 3];
        }
        if (kh == 3 && kw == 3)
        {
            NNQ_DW_ROW3(px, pw);
            NNQ_DW_ROW3(px + rs, pw + wrs);
            NNQ_DW_ROW3(px + 2 * rs, pw + 2 * wrs);
        }
        else
        {
            const int8_t *x = px, *wp = pw;
            for (r = 0; r < kh; r++, x += rs, wp += wrs)
                for (k = 0; k < kw * cn; k += cn)
                    NNQ_DW_TAP(x, k, wp, k);
        }
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
    }
}

/*
 * Accumulators (bias included) of channels [c0, c0+nc) of the output pixel
 * whose window starts at (iy0, ix0), into acc[0..nc).
 */
static void nnq_dw_px_acc(const nnq_geom *g, const int8_t *in, const int8_t *w, const int32_t *bias, int32_t off,
                          int32_t iy0, int32_t ix0, int32_t c0, int32_t nc, int32_t *acc)
{
    const int32_t cn = g->in_c;
    const int32_t ky0 = NNQ_MAX(0, -iy0), ky1 = NNQ_MIN(g->k_h, g->in_h - iy0);
    const int32_t kx0 = NNQ_MAX(0, -ix0), kx1 = NNQ_MIN(g->k_w, g->in_w - ix0);
    const int32_t ng = nc >> 2;
    int32_t c, ky, kx;
    if (ky1 > ky0 && kx1 > kx0)
        nnq_dw_groups(in + ((size_t)(iy0 + ky0) * g->in_w + ix0 + kx0) * cn + c0,
                      w + ((size_t)ky0 * g->k_w + kx0) * cn + c0, bias != NULL ? bias + c0 : NULL, ng, ky1 - ky0,
                      kx1 - kx0, cn, g->in_w * cn, g->k_w * cn, nnq_dup16(off), acc);
    else
        for (c = 0; c < 4 * ng; c++)
            acc[c] = bias != NULL ? bias[c0 + c] : 0;
    for (c = 4 * ng; c < nc; c++)
    {
        uint32_t a = bias != NULL ? (uint32_t)bias[c0 + c] : 0u;
        for (ky = ky0; ky < ky1; ky++)
            for (kx = kx0; kx < kx1; kx++)
                a += (uint32_t)((in[((size_t)(iy0 + ky) * g->in_w + ix0 + kx) * cn + c0 + c] + off) *
                                w[((size_t)ky * g->k_w + kx) * cn + c0 + c]);
        acc[c] = (int32_t)a;
    }
}

/* ch_mult 1, one batch, dilation 1: pixels in pairs, channels in chunks. */
static void nnq_dw_s8_dsp(const nnq_geom *g, const cmsis_nn_dw_conv_params *p,
                          const cmsis_nn_per_channel_quant_params *q, const int8_t *in, const int8_t *w,
                          const int32_t *bias, int8_t *out)
{
    const int32_t npx = g->out_h * g->out_w, cn = g->in_c;
    const int32_t bound = nnq_acc_bound(g->k_h * g->k_w, bias, cn);
    int32_t acc[2 * NNQ_DW_CHUNK];
    int32_t px, c0, i;
    for (px = 0; px < npx; px += 2)
    {
        const int32_t n = px + 1 < npx ? 2 : 1;
        for (c0 = 0; c0 < cn; c0 += NNQ_DW_CHUNK)
        {
            const int32_t nc = NNQ_MIN(NNQ_DW_CHUNK, cn - c0);
            for (i = 0; i < n; i++)
            {
                const int32_t oy = (px + i) / g->out_w, ox = (px + i) % g->out_w;
                nnq_dw_px_acc(g, in, w, bias, p->input_offset, oy * g->stride_h - g->pad_h,
                              ox * g->stride_w - g->pad_w, c0, nc, acc + i * NNQ_DW_CHUNK);
            }
            nnq_rq_rows_s8(acc, n, NNQ_DW_CHUNK, nc, q->multiplier + c0, q->shift + c0, p->output_offset,
                           p->activation.min, p->activation.max, out + (size_t)px * cn + c0, cn, bound);
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

/* DSP path: an int16 per input channel and tap; C path: none. */
static int32_t nnq_dw_dsp_scratch(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
    return NNQ_S8_DSP ? 2 * input_dims->c * filter_dims->w * filter_dims->h : 0;
}

int32_t arm_depthwise_conv_s8_opt_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
    return nnq_dw_dsp_scratch(input_dims, filter_dims);
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

#if NNQ_S8_DSP
/* Requantises the int32 sum of output channel oc (the fast kernel's DSP
 * path) with its int64 bias. */
static inline int16_t nnq_dw_out_s16(int32_t acc, const int64_t *bias, int32_t oc,
                                     const cmsis_nn_per_channel_quant_params *q, const cmsis_nn_dw_conv_params *p)
{
    int64_t a = acc;
    int32_t y;
    if (bias != NULL)
        a += bias[oc];
    y = nnq_requantize_s64(a, nnq_reduce_mult(q->multiplier[oc]), q->shift[oc]);
    return (int16_t)NNQ_CLAMP(y, p->activation.min, p->activation.max);
}

/*
 * DSP path of arm_depthwise_conv_fast_s16 (ch_mult 1): per output pixel,
 * four channels at a time over the in-bounds taps: one weight word gives
 * (w0, w2) and (w1, w3) by SXTB16, two input words (x0, x1) and (x2, x3),
 * and SMLABB/SMLATB/SMLABT/SMLATT add the four products to four int32
 * sums (wrapping, as the library's DSP path); leftover channels take the
 * same sums one at a time.
 */
static void nnq_dw_s16_dsp(const nnq_geom *g, const cmsis_nn_dw_conv_params *p,
                           const cmsis_nn_per_channel_quant_params *q, const int16_t *in, const int8_t *w,
                           const int64_t *bias, int16_t *out)
{
    const int32_t ch = g->in_c, c4 = ch & ~3;
    int32_t b, oy, ox;
    for (b = 0; b < g->batches; b++, in += (size_t)g->in_h * g->in_w * ch)
        for (oy = 0; oy < g->out_h; oy++)
            for (ox = 0; ox < g->out_w; ox++, out += ch)
            {
                const int32_t iy0 = oy * g->stride_h - g->pad_h, ix0 = ox * g->stride_w - g->pad_w;
                const int32_t ky0 = NNQ_MAX(0, -iy0), ky1 = NNQ_MIN(g->k_h, g->in_h - iy0);
                const int32_t kx0 = NNQ_MAX(0, -ix0), kx1 = NNQ_MIN(g->k_w, g->in_w - ix0);
                int32_t c, ky, kx;
                for (c = 0; c < c4; c += 4)
                {
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    for (ky = ky0; ky < ky1; ky++)
                    {
                        const int16_t *x = in + ((size_t)(iy0 + ky) * g->in_w + (ix0 + kx0)) * ch + c;
                        const int8_t *wp = w + ((size_t)ky * g->k_w + kx0) * ch + c;
                        for (kx = kx0; kx < kx1; kx++, x += ch, wp += ch)
                        {
                            const uint32_t wv = nnq_ld32(wp), x01 = nnq_ld32(x), x23 = nnq_ld32(x + 2);
                            const uint32_t w02 = (uint32_t)nnq_sxtb16(wv), w13 = (uint32_t)nnq_sxtb16_ror8(wv);
                            a0 = nnq_smlabb(x01, w02, a0);
                            a1 = nnq_smlatb(x01, w13, a1);
                            a2 = nnq_smlabt(x23, w02, a2);
                            a3 = nnq_smlatt(x23, w13, a3);
                        }
                    }
                    out[c] = nnq_dw_out_s16(a0, bias, c, q, p);
                    out[c + 1] = nnq_dw_out_s16(a1, bias, c + 1, q, p);
                    out[c + 2] = nnq_dw_out_s16(a2, bias, c + 2, q, p);
                    out[c + 3] = nnq_dw_out_s16(a3, bias, c + 3, q, p);
                }
                for (; c < ch; c++)
                    out[c] = nnq_dw_out_s16((int32_t)nnq_dw_dot_s16_32(g, in, 0, w, 1, iy0, ix0, c), bias, c, q, p);
            }
}
#endif

arm_cmsis_nn_status arm_depthwise_conv_fast_s16(NNQ_S16_DW_ARGS)
{
    if (input_dims->c != output_dims->c || filter_dims->w * filter_dims->h >= 512)
        return ARM_CMSIS_NN_ARG_ERROR;
    if (ctx == NULL || (ctx->buf == NULL && arm_depthwise_conv_fast_s16_get_buffer_size(input_dims, filter_dims) > 0))
        return ARM_CMSIS_NN_ARG_ERROR;
#if NNQ_S8_DSP
    if (dw_conv_params->ch_mult == 1)
    {
        const cmsis_nn_dw_conv_params *p = dw_conv_params;
        const nnq_geom g = nnq_geom_make(input_dims, filter_dims, output_dims, &p->stride, &p->padding, &p->dilation);
        (void)bias_dims;
        if (g.dil_h == 1 && g.dil_w == 1)
        {
            nnq_dw_s16_dsp(&g, p, quant_params, input_data, filter_data, bias_data, output_data);
            return ARM_CMSIS_NN_SUCCESS;
        }
    }
#endif
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
    return nnq_dw_dsp_scratch(input_dims, filter_dims);
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

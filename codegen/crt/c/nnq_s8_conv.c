/*
 * nnq_s8_conv.c - s8/s16 convolutions of nnq's CMSIS-NN s8 runtime.
 * Part of nnq (github.com/nnq-toolkit/nnq); contains no CMSIS code.
 *
 * Every convolution computes, per output pixel and channel,
 *   acc = sum over in-bounds taps of (input + input_offset) * filter  (int32, wraps)
 *   out = clamp(requantize(acc + bias, mult[oc], shift[oc]) + output_offset)
 * The variants differ only in their argument checks and scratch sizes.
 *
 * C path: direct loops. DSP path (NNQ_S8_DSP): im2col into int16 columns
 * with the input offset added (ctx->buf holds two columns, exactly the
 * library's arm_convolve_s8_get_buffer_size), then a 2-pixel x 2-channel
 * SMLAD kernel; the 1x1 kernels build the two columns on the stack.
 */
#include "nnq_s8_internal.h"

#if !defined(NNQ_USE_CMSIS_NN) && !defined(NNQ_USE_CMSIS)

/* Requantises one value exactly, any shift (the general path). */
static inline int32_t nnq_rq_any(int32_t a, int32_t m, int32_t sh)
{
    return nnq_requantize(a, m, sh);
}

/*
 * The two-row requantisation loop with CLAMP(y) as the final clamp; the
 * fast path needs |acc| < 2^30 (checked by the caller) and no left shift.
 */
#define NNQ_RQ2_LOOP(CLAMP)                                                                                        \
    for (c = 0; c < nch; c++)                                                                                      \
    {                                                                                                              \
        const int32_t sh = shift[c], m = mult[c];                                                                  \
        int32_t y0 = acc0[c], y1 = acc1[c];                                                                        \
        if (sh <= 0)                                                                                               \
        {                                                                                                          \
            const int32_t right = -sh;                                                                             \
            const int32_t rnd = (int32_t)((1u << right) >> 1), msk = right != 0 ? -1 : 0;                          \
            y0 = nnq_dhm2(y0 * 2, m);                                                                              \
            y1 = nnq_dhm2(y1 * 2, m);                                                                              \
            y0 = (y0 + rnd + ((y0 >> 31) & msk)) >> right;                                                         \
            y1 = (y1 + rnd + ((y1 >> 31) & msk)) >> right;                                                         \
        }                                                                                                          \
        else                                                                                                       \
        {                                                                                                          \
            y0 = nnq_rq_any(y0, m, sh);                                                                            \
            y1 = nnq_rq_any(y1, m, sh);                                                                            \
        }                                                                                                          \
        out0[c] = (int8_t)CLAMP(y0 + off);                                                                         \
        out1[c] = (int8_t)CLAMP(y1 + off);                                                                         \
    }

#define NNQ_CLAMP_ACT(y) NNQ_CLAMP((y), lo, hi)

void nnq_rq_rows_s8(const int32_t *acc, int32_t nrow, int32_t acc_stride, int32_t nch, const int32_t *mult,
                    const int32_t *shift, int32_t off, int32_t lo, int32_t hi, int8_t *out, int32_t out_stride,
                    int32_t bound)
{
    /* With one row, row 1 repeats row 0 (same value stored twice). */
    const int32_t *acc0 = acc, *acc1 = nrow == 2 ? acc + acc_stride : acc;
    int8_t *out0 = out, *out1 = nrow == 2 ? out + out_stride : out;
    int32_t c;
#ifdef CMSIS_NN_USE_SINGLE_ROUNDING
    /* Single rounding: a short exact path for shifts <= -2, any bound. */
    (void)bound;
    for (c = 0; c < nch; c++)
    {
        const int32_t sh = shift[c], m = mult[c];
        int32_t y0, y1;
        if (sh <= -2)
        {
            y0 = nnq_rq_single_r2(acc0[c], m, -sh);
            y1 = nnq_rq_single_r2(acc1[c], m, -sh);
        }
        else
        {
            y0 = nnq_rq_any(acc0[c], m, sh);
            y1 = nnq_rq_any(acc1[c], m, sh);
        }
        out0[c] = (int8_t)NNQ_CLAMP(y0 + off, lo, hi);
        out1[c] = (int8_t)NNQ_CLAMP(y1 + off, lo, hi);
    }
#else
    if (bound >= (1 << 30))
    {
        for (c = 0; c < nch; c++)
        {
            out0[c] = (int8_t)NNQ_CLAMP(nnq_rq_any(acc0[c], mult[c], shift[c]) + off, lo, hi);
            out1[c] = (int8_t)NNQ_CLAMP(nnq_rq_any(acc1[c], mult[c], shift[c]) + off, lo, hi);
        }
    }
    else if (lo == -128 && hi == 127)
    {
        NNQ_RQ2_LOOP(nnq_ssat8)
    }
    else
    {
        NNQ_RQ2_LOOP(NNQ_CLAMP_ACT)
    }
#endif
}

/*
 * C path: the sum of one output element, taps of group channel range
 * [c0, c0+k_c), as uint32 (wrapping).
 */
#define NNQ_DEFINE_CONV_DOT(NAME, IN_T)                                                                            \
    static uint32_t NAME(const nnq_geom *g, const IN_T *in, int32_t in_off, const int8_t *w, int32_t iy0,        \
                         int32_t ix0, int32_t c0)                                                                  \
    {                                                                                                              \
        uint32_t acc = 0;                                                                                          \
        int32_t ky, kx, c;                                                                                         \
        for (ky = 0; ky < g->k_h; ky++)                                                                            \
        {                                                                                                          \
            const int32_t iy = iy0 + ky * g->dil_h;                                                                \
            for (kx = 0; kx < g->k_w; kx++, w += g->k_c)                                                           \
            {                                                                                                      \
                const int32_t ix = ix0 + kx * g->dil_w;                                                            \
                const IN_T *x;                                                                                     \
                if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w)                                            \
                    continue;                                                                                      \
                x = in + ((size_t)iy * g->in_w + ix) * g->in_c + c0;                                               \
                for (c = 0; c < g->k_c; c++)                                                                       \
                    acc += (uint32_t)(((int32_t)x[c] + in_off) * w[c]);                                            \
            }                                                                                                      \
        }                                                                                                          \
        return acc;                                                                                                \
    }
NNQ_DEFINE_CONV_DOT(nnq_conv_dot_s8, int8_t)
NNQ_DEFINE_CONV_DOT(nnq_conv_dot_s16, int16_t)

/* Requantises one s8 output. */
static inline int8_t nnq_out_s8(uint32_t acc, const int32_t *bias, int32_t oc, int32_t mult, int32_t shift,
                                int32_t out_off, int32_t act_min, int32_t act_max)
{
    int32_t y;
    if (bias != NULL)
        acc += (uint32_t)bias[oc];
    y = nnq_requantize((int32_t)acc, mult, shift) + out_off;
    return (int8_t)NNQ_CLAMP(y, act_min, act_max);
}

/* Requantises one s16 output (int32 or int64 bias, see arm_convolve_s16). */
static inline int16_t nnq_out_s16(uint32_t acc, const cmsis_nn_bias_data *bias, int32_t oc, int32_t mult,
                                  int32_t shift, int32_t act_min, int32_t act_max)
{
    int32_t y;
    if (bias->is_int32_bias)
    {
        if (bias->data != NULL)
            acc += (uint32_t)((const int32_t *)bias->data)[oc];
        y = nnq_requantize((int32_t)acc, mult, shift);
    }
    else
    {
        int64_t a = (int32_t)acc;
        if (bias->data != NULL)
            a += ((const int64_t *)bias->data)[oc];
        y = nnq_requantize_s64(a, nnq_reduce_mult(mult), shift);
    }
    return (int16_t)NNQ_CLAMP(y, act_min, act_max);
}

/* C path of every s8 convolution (grouped, dilated, batched). */
static void nnq_conv_s8_c(const nnq_geom *g, const cmsis_nn_conv_params *p, const cmsis_nn_per_channel_quant_params *q,
                          const int8_t *in, const int8_t *w, const int32_t *bias, int8_t *out)
{
    const int32_t k = g->k_h * g->k_w * g->k_c;
    const int32_t per_group = g->out_c / (g->in_c / g->k_c);
    int32_t b, oy, ox, oc;
    for (b = 0; b < g->batches; b++, in += (size_t)g->in_h * g->in_w * g->in_c)
        for (oy = 0; oy < g->out_h; oy++)
            for (ox = 0; ox < g->out_w; ox++)
                for (oc = 0; oc < g->out_c; oc++)
                {
                    const uint32_t acc = nnq_conv_dot_s8(g, in, p->input_offset, w + (size_t)oc * k,
                                                         oy * g->stride_h - g->pad_h, ox * g->stride_w - g->pad_w,
                                                         (oc / per_group) * g->k_c);
                    *out++ = nnq_out_s8(acc, bias, oc, q->multiplier[oc], q->shift[oc], p->output_offset,
                                        p->activation.min, p->activation.max);
                }
}

#if NNQ_S8_DSP

/*
 * Two im2col columns of k elements (x + input_offset as int16) for the
 * SMLAD kernel. Element e of column c at group j = e/4 (e < 4*(k/4)):
 * words [c0lo c1lo c0hi c1hi] with lo = (x0, x2), hi = (x1, x3) of the
 * group; the k%4 tail elements of column 0, then of column 1, follow.
 */
static inline int32_t nnq_col_idx(int32_t k4, int32_t kt, int32_t c, int32_t e)
{
    if (e < 4 * k4)
    {
        const int32_t r = e & 3;
        return 8 * (e >> 2) + 2 * ((r & 1) * 2 + c) + (r >> 1);
    }
    return 8 * k4 + c * kt + (e - 4 * k4);
}

static inline void nnq_col_set(uint8_t *col, int32_t idx, int32_t v)
{
    const int16_t h = (int16_t)v;
    memcpy(col + 2 * idx, &h, 2);
}

/* Writes n elements from src (NULL: zeros, i.e. padding) at e of column c. */
static void nnq_col_put(uint8_t *col, int32_t k4, int32_t kt, int32_t c, int32_t e, const int8_t *src, int32_t n,
                        int32_t off)
{
    const uint32_t off2 = nnq_dup16(off);
    int32_t i = 0;
    for (; i < n && ((e + i) & 3) != 0; i++)
        nnq_col_set(col, nnq_col_idx(k4, kt, c, e + i), src != NULL ? src[i] + off : 0);
    for (; i + 4 <= n && e + i + 4 <= 4 * k4; i += 4)
    {
        uint8_t *grp = col + 16 * ((e + i) >> 2) + 4 * c;
        int32_t lo = 0, hi = 0;
        if (src != NULL)
            nnq_ext4(nnq_ld32(src + i), off2, &lo, &hi);
        nnq_st32(grp, (uint32_t)lo);
        nnq_st32(grp + 8, (uint32_t)hi);
    }
    for (; i < n; i++)
        nnq_col_set(col, nnq_col_idx(k4, kt, c, e + i), src != NULL ? src[i] + off : 0);
}

/*
 * Fast im2col of one kernel row whose flat start e and length row are
 * multiples of 4 (e + row <= 4 * k4), dilation 1: taps outside the input
 * row (kx < kx0 or kx >= kx1) are built from the byte -off, which widens
 * to exactly 0 (input_offset is in [-127, 128]).
 */
static void nnq_col_row4(uint8_t *col, int32_t c, int32_t e, int32_t row, const int8_t *valid, int32_t kc,
                         int32_t kx0, int32_t kx1, uint32_t off2, int32_t off)
{
    uint8_t *dst = col + 16 * (e >> 2) + 4 * c;
    const int32_t v0 = kx0 * kc, v1 = kx1 * kc; /* valid element range of the row, valid[0] is element v0 */
    int32_t i, j;
    for (i = 0; i < row; i += 4, dst += 16)
    {
        uint32_t word;
        int32_t lo, hi;
        if (i >= v0 && i + 4 <= v1)
            word = nnq_ld32(valid + (i - v0));
        else
        {
            word = 0;
            for (j = 0; j < 4; j++)
                word |= (uint32_t)(uint8_t)(i + j >= v0 && i + j < v1 ? valid[i + j - v0] : (int8_t)-off) << (8 * j);
        }
        nnq_ext4(word, off2, &lo, &hi);
        nnq_st32(dst, (uint32_t)lo);
        nnq_st32(dst + 8, (uint32_t)hi);
    }
}

/* im2col of output pixel (iy0, ix0) into column c. */
static void nnq_col_fill(uint8_t *col, const nnq_geom *g, const int8_t *in, int32_t off, int32_t c, int32_t iy0,
                         int32_t ix0)
{
    const int32_t k = g->k_h * g->k_w * g->k_c, k4 = k >> 2, kt = k & 3;
    const int32_t row = g->k_w * g->k_c;
    const int32_t kx0 = NNQ_MAX(0, -ix0), kx1 = NNQ_MIN(g->k_w, g->in_w - ix0);
    const uint32_t off2 = nnq_dup16(off);
    int32_t ky, kx, e = 0;
    for (ky = 0; ky < g->k_h; ky++, e += row)
    {
        const int32_t iy = iy0 + ky * g->dil_h;
        if (iy < 0 || iy >= g->in_h)
        {
            nnq_col_put(col, k4, kt, c, e, NULL, row, off);
            continue;
        }
        if (g->dil_w == 1 && ((e | row) & 3) == 0 && e + row <= 4 * k4 && kx1 > kx0 && off >= -127 && off <= 128)
        {
            nnq_col_row4(col, c, e, row, in + ((size_t)iy * g->in_w + kx0 + ix0) * g->in_c, g->k_c, kx0, kx1, off2,
                         off);
            continue;
        }
        for (kx = 0; kx < g->k_w; kx++)
        {
            const int32_t ix = ix0 + kx * g->dil_w;
            const int8_t *src = (ix < 0 || ix >= g->in_w) ? NULL : in + ((size_t)iy * g->in_w + ix) * g->in_c;
            nnq_col_put(col, k4, kt, c, e + kx * g->k_c, src, g->k_c, off);
        }
    }
}

#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
/* One group of 4 of nnq_mm2x2: weights widened by SXTB16, 8 SMLAD. */
#define NNQ_MM2X2_GROUP                                                                                            \
    "ldr %[wa], [%[w0]], #4\n\t"                                                                                   \
    "ldr %[wb], [%[w1]], #4\n\t"                                                                                   \
    "ldrd %[xa], %[xb], [%[c]], #8\n\t"                                                                            \
    "sxtb16 %[t], %[wa]\n\t"                                                                                       \
    "smlad %[r00], %[xa], %[t], %[r00]\n\t"                                                                        \
    "smlad %[r10], %[xb], %[t], %[r10]\n\t"                                                                        \
    "sxtb16 %[t], %[wb]\n\t"                                                                                       \
    "smlad %[r01], %[xa], %[t], %[r01]\n\t"                                                                        \
    "smlad %[r11], %[xb], %[t], %[r11]\n\t"                                                                        \
    "ldrd %[xa], %[xb], [%[c]], #8\n\t"                                                                            \
    "sxtb16 %[t], %[wa], ror #8\n\t"                                                                               \
    "smlad %[r00], %[xa], %[t], %[r00]\n\t"                                                                        \
    "smlad %[r10], %[xb], %[t], %[r10]\n\t"                                                                        \
    "sxtb16 %[t], %[wb], ror #8\n\t"                                                                               \
    "smlad %[r01], %[xa], %[t], %[r01]\n\t"                                                                        \
    "smlad %[r11], %[xb], %[t], %[r11]\n\t"
#define NNQ_MM2X2_OUTPUTS                                                                                          \
    [r00] "+r"(r00), [r01] "+r"(r01), [r10] "+r"(r10), [r11] "+r"(r11), [c] "+r"(col), [w0] "+r"(w0), [w1] "+r"(w1), \
        [xa] "=&r"(xa), [xb] "=&r"(xb), [wa] "=&r"(wa), [wb] "=&r"(wb), [t] "=&r"(t)
#endif

/*
 * 2 columns x 2 weight rows over k4 >= 1 groups of 4: *a00 += c0.w0, *a01 +=
 * c0.w1, *a10 += c1.w0, *a11 += c1.w1. col must be 4-byte aligned. Per group:
 * 2 LDR + 2 LDRD + 4 SXTB16 + 8 SMLAD = 16 instructions for 16 MACs, plus
 * the loop branch every second group.
 */
static inline void nnq_mm2x2(const uint8_t *col, int32_t k4, const int8_t *w0, const int8_t *w1, int32_t *a00,
                             int32_t *a01, int32_t *a10, int32_t *a11)
{
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
    int32_t r00 = *a00, r01 = *a01, r10 = *a10, r11 = *a11;
    uint32_t xa, xb, wa, wb, t;
    const uint8_t *end = col + 16 * k4;
    /* An odd group first, then two groups per iteration. */
    if (k4 & 1)
        __asm volatile(NNQ_MM2X2_GROUP
                       : NNQ_MM2X2_OUTPUTS
                       :
                       : "memory");
    if (k4 > 1)
        __asm volatile("1:\n\t" NNQ_MM2X2_GROUP NNQ_MM2X2_GROUP "cmp %[c], %[end]\n\t"
                       "bne 1b"
                       : NNQ_MM2X2_OUTPUTS
                       : [end] "r"(end)
                       : "cc", "memory");
    *a00 = r00;
    *a01 = r01;
    *a10 = r10;
    *a11 = r11;
#else
    int32_t j;
    for (j = 0; j < k4; j++, col += 16, w0 += 4, w1 += 4)
    {
        const uint32_t wa = nnq_ld32(w0), wb = nnq_ld32(w1);
        const uint32_t x0l = nnq_ld32(col), x1l = nnq_ld32(col + 4), x0h = nnq_ld32(col + 8), x1h = nnq_ld32(col + 12);
        *a00 = nnq_smlad(x0h, (uint32_t)nnq_sxtb16_ror8(wa), nnq_smlad(x0l, (uint32_t)nnq_sxtb16(wa), *a00));
        *a10 = nnq_smlad(x1h, (uint32_t)nnq_sxtb16_ror8(wa), nnq_smlad(x1l, (uint32_t)nnq_sxtb16(wa), *a10));
        *a01 = nnq_smlad(x0h, (uint32_t)nnq_sxtb16_ror8(wb), nnq_smlad(x0l, (uint32_t)nnq_sxtb16(wb), *a01));
        *a11 = nnq_smlad(x1h, (uint32_t)nnq_sxtb16_ror8(wb), nnq_smlad(x1l, (uint32_t)nnq_sxtb16(wb), *a11));
    }
#endif
}

/* Column c (of 2) dot one weight row, groups of 4 then the tail, from acc. */
static inline int32_t nnq_mm_col(const uint8_t *col, int32_t k4, int32_t kt, int32_t c, const int8_t *w, int32_t a)
{
    int32_t j;
    const uint8_t *cc = col + 4 * c;
    for (j = 0; j < k4; j++, cc += 16, w += 4)
    {
        const uint32_t wv = nnq_ld32(w);
        a = nnq_smlad(nnq_ld32(cc), (uint32_t)nnq_sxtb16(wv), a);
        a = nnq_smlad(nnq_ld32(cc + 8), (uint32_t)nnq_sxtb16_ror8(wv), a);
    }
    for (j = 0; j < kt; j++)
    {
        int16_t h;
        memcpy(&h, col + 2 * (8 * k4 + c * kt + j), 2);
        a = (int32_t)((uint32_t)a + (uint32_t)(h * w[j]));
    }
    return a;
}

/* Sum of the tail elements (k % 4) of column c with weight row w. */
static inline uint32_t nnq_col_tail(const uint8_t *col, int32_t k4, int32_t kt, int32_t c, const int8_t *w)
{
    uint32_t a = 0;
    int32_t j;
    for (j = 0; j < kt; j++)
    {
        int16_t h;
        memcpy(&h, col + 2 * (8 * k4 + c * kt + j), 2);
        a += (uint32_t)(h * w[4 * k4 + j]);
    }
    return a;
}

/*
 * npair pairs of output channels (weight rows of k from w, bias b or NULL)
 * on the two columns in col: accumulators to acc0[0..2*npair) (column 0)
 * and acc1[...] (column 1).
 */
NNQ_NOINLINE static void nnq_conv_pairs(const uint8_t *col, int32_t k, const int8_t *w, const int32_t *b, int32_t npair,
                           int32_t *acc0, int32_t *acc1)
{
    const int32_t k4 = k >> 2, kt = k & 3;
    int32_t i;
    for (i = 0; i < npair; i++, w += 2 * k, acc0 += 2, acc1 += 2)
    {
        int32_t a00 = 0, a01 = 0, a10, a11;
        if (b != NULL)
        {
            a00 = b[2 * i];
            a01 = b[2 * i + 1];
        }
        a10 = a00;
        a11 = a01;
        if (k4 > 0)
            nnq_mm2x2(col, k4, w, w + k, &a00, &a01, &a10, &a11);
        if (kt > 0)
        {
            a00 = (int32_t)((uint32_t)a00 + nnq_col_tail(col, k4, kt, 0, w));
            a01 = (int32_t)((uint32_t)a01 + nnq_col_tail(col, k4, kt, 0, w + k));
            a10 = (int32_t)((uint32_t)a10 + nnq_col_tail(col, k4, kt, 1, w));
            a11 = (int32_t)((uint32_t)a11 + nnq_col_tail(col, k4, kt, 1, w + k));
        }
        acc0[0] = a00;
        acc0[1] = a01;
        acc1[0] = a10;
        acc1[1] = a11;
    }
}

/* Output channels per pass: accumulators of two pixels on the stack. */
#define NNQ_OC_CHUNK 64

/*
 * Runs the output channels of the columns in col: n = 1 or 2 columns,
 * outputs for column c at out[c * out_stride + oc].
 */
static void nnq_conv_cols_s8(const uint8_t *col, int32_t n, int32_t k, const int8_t *w,
                             const cmsis_nn_conv_params *p, const cmsis_nn_per_channel_quant_params *q,
                             const int32_t *bias, int32_t out_c, int8_t *out, int32_t out_stride, int32_t bound)
{
    const int32_t k4 = k >> 2, kt = k & 3;
    int32_t acc[2 * NNQ_OC_CHUNK];
    int32_t c0;
    for (c0 = 0; c0 < out_c; c0 += NNQ_OC_CHUNK)
    {
        const int32_t nc = NNQ_MIN(NNQ_OC_CHUNK, out_c - c0);
        const int8_t *wc = w + (size_t)c0 * k;
        int32_t oc = 0, c;
        if (n == 2)
        {
            oc = nc & ~1;
            nnq_conv_pairs(col, k, wc, bias != NULL ? bias + c0 : NULL, oc >> 1, acc, acc + NNQ_OC_CHUNK);
        }
        for (; oc < nc; oc++)
            for (c = 0; c < n; c++)
                acc[c * NNQ_OC_CHUNK + oc] =
                    nnq_mm_col(col, k4, kt, c, wc + (size_t)oc * k, bias != NULL ? bias[c0 + oc] : 0);
        nnq_rq_rows_s8(acc, n, NNQ_OC_CHUNK, nc, q->multiplier + c0, q->shift + c0, p->output_offset, p->activation.min, p->activation.max, out + c0, out_stride, bound);
    }
}

/* DSP path of the ungrouped convolutions; col holds 2 columns of k (4-aligned). */
static void nnq_conv_s8_dsp(const nnq_geom *g, const cmsis_nn_conv_params *p,
                            const cmsis_nn_per_channel_quant_params *q, const int8_t *in, const int8_t *w,
                            const int32_t *bias, int8_t *out, uint8_t *col)
{
    const int32_t k = g->k_h * g->k_w * g->k_c;
    const int32_t bound = nnq_acc_bound(k, bias, g->out_c);
    int32_t b, n = 0;
    for (b = 0; b < g->batches; b++, in += (size_t)g->in_h * g->in_w * g->in_c)
    {
        int32_t oy, ox;
        for (oy = 0; oy < g->out_h; oy++)
            for (ox = 0; ox < g->out_w; ox++)
            {
                nnq_col_fill(col, g, in, p->input_offset, n, oy * g->stride_h - g->pad_h, ox * g->stride_w - g->pad_w);
                if (++n == 2)
                {
                    nnq_conv_cols_s8(col, 2, k, w, p, q, bias, g->out_c, out, g->out_c, bound);
                    out += 2 * g->out_c;
                    n = 0;
                }
            }
        if (n == 1)
        {
            nnq_conv_cols_s8(col, 1, k, w, p, q, bias, g->out_c, out, g->out_c, bound);
            out += g->out_c;
            n = 0;
        }
    }
}

/* 1x1 convolution on the DSP path: two input pixels at a time are widened
 * into a stack buffer (in_c <= NNQ_S8_STACK_BYTES / 4). */
static int nnq_conv_1x1_s8_dsp(const nnq_geom *g, const cmsis_nn_conv_params *p,
                               const cmsis_nn_per_channel_quant_params *q, const int8_t *in, const int8_t *w,
                               const int32_t *bias, int8_t *out)
{
    uint32_t buf[NNQ_S8_STACK_BYTES / 4];
    if (4 * nnq_ceil4(g->in_c) > (int32_t)sizeof buf)
        return 0;
    nnq_conv_s8_dsp(g, p, q, in, w, bias, out, (uint8_t *)buf);
    return 1;
}

#endif /* NNQ_S8_DSP */

/* Checks shared by the s8 convolutions; returns the grouped flag. */
static arm_cmsis_nn_status nnq_conv_s8_run(const cmsis_nn_context *ctx, const cmsis_nn_conv_params *p,
                                           const cmsis_nn_per_channel_quant_params *q, const cmsis_nn_dims *in_d,
                                           const int8_t *in, const cmsis_nn_dims *f_d, const int8_t *w,
                                           const int32_t *bias, const cmsis_nn_dims *out_d, int8_t *out, int one_by_one)
{
    const cmsis_nn_tile unit = {1, 1};
    const nnq_geom g = nnq_geom_make(in_d, f_d, out_d, &p->stride, &p->padding, one_by_one ? &unit : &p->dilation);
    if (g.k_c <= 0 || g.in_c % g.k_c != 0 || g.out_c % (g.in_c / g.k_c) != 0)
        return ARM_CMSIS_NN_ARG_ERROR;
#if NNQ_S8_DSP
    if (g.k_c == g.in_c)
    {
        if (one_by_one && nnq_conv_1x1_s8_dsp(&g, p, q, in, w, bias, out))
            return ARM_CMSIS_NN_SUCCESS;
        if (!one_by_one && ctx != NULL && ctx->buf != NULL && ((uintptr_t)ctx->buf & 3u) == 0)
        {
            nnq_conv_s8_dsp(&g, p, q, in, w, bias, out, (uint8_t *)ctx->buf);
            return ARM_CMSIS_NN_SUCCESS;
        }
    }
#else
    (void)ctx;
#endif
    nnq_conv_s8_c(&g, p, q, in, w, bias, out);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_convolve_s8(NNQ_S8_CONV_ARGS, const cmsis_nn_dims *upscale_dims,
                                    const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    (void)bias_dims;
    if (ctx == NULL || ctx->buf == NULL || upscale_dims != NULL)
        return ARM_CMSIS_NN_ARG_ERROR;
    return nnq_conv_s8_run(ctx, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                           bias_data, output_dims, output_data, 0);
}

arm_cmsis_nn_status arm_convolve_1x1_s8_fast(NNQ_S8_CONV_ARGS, const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    (void)bias_dims;
    if (conv_params->padding.w != 0 || conv_params->padding.h != 0 || conv_params->stride.w != 1 ||
        conv_params->stride.h != 1)
        return ARM_CMSIS_NN_ARG_ERROR;
    return nnq_conv_s8_run(ctx, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                           bias_data, output_dims, output_data, 1);
}

arm_cmsis_nn_status arm_convolve_1x1_s8(NNQ_S8_CONV_ARGS, const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    (void)bias_dims;
    if (conv_params->padding.w != 0 || conv_params->padding.h != 0)
        return ARM_CMSIS_NN_ARG_ERROR;
    return nnq_conv_s8_run(ctx, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                           bias_data, output_dims, output_data, 1);
}

arm_cmsis_nn_status arm_convolve_1_x_n_s8(NNQ_S8_CONV_ARGS, const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    if (input_dims->h != 1 || conv_params->dilation.w != 1 || ctx == NULL || ctx->buf == NULL ||
        conv_params->stride.w == 0 || (conv_params->stride.w * input_dims->c) % 4 != 0)
        return ARM_CMSIS_NN_ARG_ERROR;
    return arm_convolve_s8(ctx, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_dims,
                           bias_data, NULL, output_dims, output_data);
}

arm_cmsis_nn_status arm_convolve_wrapper_s8(NNQ_S8_CONV_ARGS, const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    const cmsis_nn_conv_params *p = conv_params;
    if (p->padding.w == 0 && p->padding.h == 0 && filter_dims->w == 1 && filter_dims->h == 1 && p->dilation.w == 1 &&
        p->dilation.h == 1 && input_dims->c == filter_dims->c)
    {
        if (p->stride.w == 1 && p->stride.h == 1)
            return arm_convolve_1x1_s8_fast(ctx, p, quant_params, input_dims, input_data, filter_dims, filter_data,
                                            bias_dims, bias_data, output_dims, output_data);
        return arm_convolve_1x1_s8(ctx, p, quant_params, input_dims, input_data, filter_dims, filter_data, bias_dims,
                                   bias_data, output_dims, output_data);
    }
    if (input_dims->h == 1 && p->dilation.w == 1 && filter_dims->h == 1 && (p->stride.w * input_dims->c) % 4 == 0 &&
        input_dims->c == filter_dims->c)
        return arm_convolve_1_x_n_s8(ctx, p, quant_params, input_dims, input_data, filter_dims, filter_data,
                                     bias_dims, bias_data, output_dims, output_data);
    return arm_convolve_s8(ctx, p, quant_params, input_dims, input_data, filter_dims, filter_data, bias_dims,
                           bias_data, NULL, output_dims, output_data);
}

int32_t arm_convolve_s8_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
    return 4 * nnq_ceil4(filter_dims->w * filter_dims->h * input_dims->c);
}

int32_t arm_convolve_1x1_s8_fast_get_buffer_size(const cmsis_nn_dims *input_dims)
{
    (void)input_dims;
    return 0;
}

int32_t arm_convolve_1_x_n_s8_get_buffer_size(const cmsis_nn_conv_params *conv_params, const cmsis_nn_dims *input_dims,
                                              const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims)
{
    (void)conv_params;
    (void)output_dims;
    return arm_convolve_s8_get_buffer_size(input_dims, filter_dims);
}

/* Like the library, the size function does not test input_dims->c == filter_dims->c. */
int32_t arm_convolve_wrapper_s8_get_buffer_size_dsp(const cmsis_nn_conv_params *conv_params,
                                                    const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims,
                                                    const cmsis_nn_dims *output_dims)
{
    const cmsis_nn_conv_params *p = conv_params;
    if (p->padding.w == 0 && p->padding.h == 0 && filter_dims->w == 1 && filter_dims->h == 1 && p->dilation.w == 1 &&
        p->dilation.h == 1)
        return p->stride.w == 1 && p->stride.h == 1 ? arm_convolve_1x1_s8_fast_get_buffer_size(input_dims) : 0;
    if (input_dims->h == 1 && p->dilation.w == 1 && filter_dims->h == 1 && (p->stride.w * input_dims->c) % 4 == 0)
        return arm_convolve_1_x_n_s8_get_buffer_size(p, input_dims, filter_dims, output_dims);
    return arm_convolve_s8_get_buffer_size(input_dims, filter_dims);
}

int32_t arm_convolve_wrapper_s8_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims,
                                                const cmsis_nn_dims *output_dims)
{
    return arm_convolve_wrapper_s8_get_buffer_size_dsp(conv_params, input_dims, filter_dims, output_dims);
}

/* ---- s16 ----------------------------------------------------------------- */

#if NNQ_S8_DSP
/*
 * im2col of output pixel (iy0, ix0) of an s16 input into column c, in the
 * layout of nnq_col_idx (s16 has no input offset: padding is 0). Aligned
 * groups of four taps are two loads and two stores: lo = (x0, x2), hi =
 * (x1, x3).
 */
static void nnq_col_fill_s16(uint8_t *col, const nnq_geom *g, const int16_t *in, int32_t c, int32_t iy0,
                             int32_t ix0)
{
    const int32_t k = g->k_h * g->k_w * g->k_c, k4 = k >> 2, kt = k & 3;
    int32_t ky, kx, e = 0;
    for (ky = 0; ky < g->k_h; ky++)
    {
        const int32_t iy = iy0 + ky * g->dil_h;
        for (kx = 0; kx < g->k_w; kx++, e += g->k_c)
        {
            const int32_t ix = ix0 + kx * g->dil_w;
            const int16_t *src = (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w)
                                     ? NULL
                                     : in + ((size_t)iy * g->in_w + ix) * g->in_c;
            int32_t i = 0;
            while (i < g->k_c)
            {
                if (((e + i) & 3) == 0 && i + 4 <= g->k_c && e + i + 4 <= 4 * k4)
                {
                    uint8_t *grp = col + 16 * ((e + i) >> 2) + 4 * c;
                    uint32_t a = 0, b = 0;
                    if (src != NULL)
                    {
                        a = nnq_ld32(src + i);
                        b = nnq_ld32(src + i + 2);
                    }
                    nnq_st32(grp, (a & 0xFFFFu) | (b << 16));
                    nnq_st32(grp + 8, (a >> 16) | (b & 0xFFFF0000u));
                    i += 4;
                    continue;
                }
                nnq_col_set(col, nnq_col_idx(k4, kt, c, e + i), src != NULL ? src[i] : 0);
                i++;
            }
        }
    }
}

/*
 * DSP path of arm_convolve_s16: two output pixels at a time are widened
 * into the two columns of ctx->buf (4 * k bytes, the library's
 * arm_convolve_s16_get_buffer_size), then the 2-pixel x 2-channel SMLAD
 * kernel of the s8 path sums them (int32, wrapping, as the C path), and
 * each sum gets its bias (int32 or int64) and requantisation.
 */
static void nnq_conv_s16_dsp(const nnq_geom *g, const cmsis_nn_conv_params *p,
                             const cmsis_nn_per_channel_quant_params *q, const int16_t *in, const int8_t *w,
                             const cmsis_nn_bias_data *bias, int16_t *out, uint8_t *col)
{
    const int32_t k = g->k_h * g->k_w * g->k_c, k4 = k >> 2, kt = k & 3;
    int32_t acc[2 * NNQ_OC_CHUNK];
    int32_t b, oy, ox, n = 0;
    for (b = 0; b < g->batches; b++, in += (size_t)g->in_h * g->in_w * g->in_c)
        for (oy = 0; oy < g->out_h; oy++)
            for (ox = 0; ox < g->out_w; ox++)
            {
                const int last = b == g->batches - 1 && oy == g->out_h - 1 && ox == g->out_w - 1;
                int32_t c0;
                nnq_col_fill_s16(col, g, in, n, oy * g->stride_h - g->pad_h, ox * g->stride_w - g->pad_w);
                if (++n < 2 && !last)
                    continue;
                for (c0 = 0; c0 < g->out_c; c0 += NNQ_OC_CHUNK)
                {
                    const int32_t nc = NNQ_MIN(NNQ_OC_CHUNK, g->out_c - c0);
                    const int8_t *wc = w + (size_t)c0 * k;
                    int32_t oc = 0, c;
                    if (n == 2)
                    {
                        oc = nc & ~1;
                        nnq_conv_pairs(col, k, wc, NULL, oc >> 1, acc, acc + NNQ_OC_CHUNK);
                    }
                    for (; oc < nc; oc++)
                        for (c = 0; c < n; c++)
                            acc[c * NNQ_OC_CHUNK + oc] = nnq_mm_col(col, k4, kt, c, wc + (size_t)oc * k, 0);
                    for (c = 0; c < n; c++)
                        for (oc = 0; oc < nc; oc++)
                            out[c * g->out_c + c0 + oc] =
                                nnq_out_s16((uint32_t)acc[c * NNQ_OC_CHUNK + oc], bias, c0 + oc,
                                            q->multiplier[c0 + oc], q->shift[c0 + oc], p->activation.min,
                                            p->activation.max);
                }
                out += n * g->out_c;
                n = 0;
            }
}
#endif

arm_cmsis_nn_status arm_convolve_s16(NNQ_S16_CONV_ARGS)
{
    const nnq_geom g = nnq_geom_make(input_dims, filter_dims, output_dims, &conv_params->stride,
                                     &conv_params->padding, &conv_params->dilation);
    const int32_t k = g.k_h * g.k_w * g.k_c;
    int32_t b, oy, ox, oc;
    (void)bias_dims;
    if (ctx == NULL || ctx->buf == NULL || g.k_c != g.in_c)
        return ARM_CMSIS_NN_ARG_ERROR;
#if NNQ_S8_DSP
    if (k > 0 && ctx->size >= 4 * k)
    {
        nnq_conv_s16_dsp(&g, conv_params, quant_params, input_data, filter_data, bias_data, output_data,
                         (uint8_t *)ctx->buf);
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
    for (b = 0; b < g.batches; b++, input_data += (size_t)g.in_h * g.in_w * g.in_c)
        for (oy = 0; oy < g.out_h; oy++)
            for (ox = 0; ox < g.out_w; ox++)
                for (oc = 0; oc < g.out_c; oc++)
                {
                    const uint32_t acc = nnq_conv_dot_s16(&g, input_data, 0, filter_data + (size_t)oc * k,
                                                          oy * g.stride_h - g.pad_h, ox * g.stride_w - g.pad_w, 0);
                    *output_data++ = nnq_out_s16(acc, bias_data, oc, quant_params->multiplier[oc],
                                                 quant_params->shift[oc], conv_params->activation.min,
                                                 conv_params->activation.max);
                }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_convolve_wrapper_s16(NNQ_S16_CONV_ARGS)
{
    return arm_convolve_s16(ctx, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                            bias_dims, bias_data, output_dims, output_data);
}

int32_t arm_convolve_s16_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
    return 4 * input_dims->c * filter_dims->h * filter_dims->w;
}

int32_t arm_convolve_wrapper_s16_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                 const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims,
                                                 const cmsis_nn_dims *output_dims)
{
    (void)conv_params;
    (void)output_dims;
    return arm_convolve_s16_get_buffer_size(input_dims, filter_dims);
}

#else
typedef int nnq_s8_conv_unused;
#endif /* !NNQ_USE_CMSIS_NN */

/*
 * nnq_s8_nnq.c - nnq's own kernels for s8/s16 networks (nnq_s8_nnq.h).
 * Part of nnq (github.com/nnq-toolkit/nnq); contains no CMSIS code. Always
 * compiled, with nnq's runtime or with the real CMSIS-NN library.
 */
#include <string.h>

#include "nnq_s8_internal.h"
#include "nnq_s8_nnq.h"

#define NNQ_S16_MIN (-32768)
#define NNQ_S16_MAX 32767

static int nnq_bad_act16(int32_t lo, int32_t hi)
{
    return lo > hi || lo < NNQ_S16_MIN || hi > NNQ_S16_MAX;
}

arm_cmsis_nn_status nnq_clamp_s8(const int8_t *in, int32_t lo, int32_t hi, int8_t *out, int32_t n)
{
    int32_t i;
    if (lo > hi || lo < -128 || hi > 127 || n < 0)
        return ARM_CMSIS_NN_ARG_ERROR;
    for (i = 0; i < n; i++)
        out[i] = (int8_t)NNQ_CLAMP((int32_t)in[i], lo, hi);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status nnq_clamp_s16(const int16_t *in, int32_t lo, int32_t hi, int16_t *out, int32_t n)
{
    int32_t i;
    if (nnq_bad_act16(lo, hi) || n < 0)
        return ARM_CMSIS_NN_ARG_ERROR;
    for (i = 0; i < n; i++)
        out[i] = (int16_t)NNQ_CLAMP((int32_t)in[i], lo, hi);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status nnq_lut_s8(const int8_t *in, const int8_t *lut, int8_t *out, int32_t n)
{
    int32_t i;
    if (lut == NULL || n < 0)
        return ARM_CMSIS_NN_ARG_ERROR;
    for (i = 0; i < n; i++)
        out[i] = lut[(int32_t)in[i] + 128];
    return ARM_CMSIS_NN_SUCCESS;
}

/* The interpolating look-up of a 513-entry table over the int16 range. */
static int16_t nnq_lut16(const int16_t *t, int32_t v)
{
    const int32_t i = 256 + (v >> 7);
    const int32_t f = v & 0x7F;
    const int32_t base = t[i];
    return (int16_t)(base + (((t[i + 1] - base) * f + 64) >> 7));
}

static int16_t nnq_sat16(int32_t v)
{
    return (int16_t)NNQ_CLAMP(v, NNQ_S16_MIN, NNQ_S16_MAX);
}

/* Requantise to Q3.12 and look the value up. */
static int16_t nnq_act_one(int32_t x, const cmsis_nn_per_tensor_quant_params *q, const int16_t *lut)
{
    return nnq_lut16(lut, nnq_sat16(nnq_requantize(x, q->multiplier, q->shift)));
}

arm_cmsis_nn_status nnq_act_s16(const int16_t *in, int32_t mult, int32_t shift, const int16_t *lut, int16_t *out,
                                int32_t n)
{
    cmsis_nn_per_tensor_quant_params q;
    int32_t i;
    if (lut == NULL || n < 0 || shift < -31 || shift > 30)
        return ARM_CMSIS_NN_ARG_ERROR;
    q.multiplier = mult;
    q.shift = shift;
    for (i = 0; i < n; i++)
        out[i] = nnq_act_one(in[i], &q, lut);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status nnq_add_s16(const int16_t *in1, const int16_t *in2, int32_t in1_mult, int32_t in1_shift,
                                int32_t in2_mult, int32_t in2_shift, int32_t left_shift, int16_t *out, int32_t out_mult,
                                int32_t out_shift, int32_t act_min, int32_t act_max, int32_t n)
{
    int32_t i;
    if (nnq_bad_act16(act_min, act_max) || left_shift < 0 || left_shift > 15 || n < 0)
        return ARM_CMSIS_NN_ARG_ERROR;
    for (i = 0; i < n; i++)
    {
        const int32_t a = nnq_requantize(nnq_shl(in1[i], left_shift), in1_mult, in1_shift);
        const int32_t b = nnq_requantize(nnq_shl(in2[i], left_shift), in2_mult, in2_shift);
        const int32_t y = nnq_requantize((int32_t)((uint32_t)a + (uint32_t)b), out_mult, out_shift);
        out[i] = (int16_t)NNQ_CLAMP(y, act_min, act_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status nnq_mul_s16(const int16_t *in1, const int16_t *in2, int16_t *out, int32_t out_mult, int32_t out_shift,
                                int32_t act_min, int32_t act_max, int32_t n)
{
    int32_t i;
    if (nnq_bad_act16(act_min, act_max) || n < 0)
        return ARM_CMSIS_NN_ARG_ERROR;
    for (i = 0; i < n; i++)
    {
        const int32_t y = nnq_requantize((int32_t)in1[i] * in2[i], out_mult, out_shift);
        out[i] = (int16_t)NNQ_CLAMP(y, act_min, act_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

void nnq_softmax_s16_unwrap(int16_t *v, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++)
        if (v[i] < 0)
            v[i] = NNQ_S16_MAX;
}

/* Product of two Q0.15 values (or a Q0.15 value and an int16 at another
 * scale), rounded half up: (a*b + 2^14) >> 15. |a*b| < 2^31 for the
 * operands used here. */
static int32_t nnq_mul15(int32_t a, int32_t b)
{
    return (a * b + (1 << 14)) >> 15;
}

static arm_cmsis_nn_status nnq_rnn_s8(int lstm, const int8_t *in8, const int16_t *in16, const int8_t *w_ih,
                                      const int64_t *b_x, const int8_t *w_hh, const int64_t *b_h, const nnq_rnn_s8_params *p,
                                      const int16_t *sig, const int16_t *tnh, int8_t *out8, int16_t *out16, int16_t *scratch)
{
    const int32_t G = lstm ? 4 : 3;
    const cmsis_nn_bias_data bias_x = {b_x, false}, bias_h = {b_h, false};
    int32_t t, j;
    int16_t *xs, *gx, *gh, *h, *c;
    cmsis_nn_context ctx;
    cmsis_nn_conv_params cp;
    cmsis_nn_dims in_d, h_d, fx_d, fh_d, g_d;
    if (p == NULL || scratch == NULL || sig == NULL || tnh == NULL || p->steps < 1 || p->dim_in < 1 || p->hidden < 1 ||
        p->input_offset < -127 || p->input_offset > 128 || (in16 != NULL && p->input_offset != 0))
        return ARM_CMSIS_NN_ARG_ERROR;
    /* The ctx buffer first: scratch is 4-byte aligned, and so is ctx.buf. */
    ctx.buf = scratch;
    ctx.size = 2 * NNQ_RNN_S8_CTX(p->dim_in, p->hidden);
    xs = scratch + NNQ_RNN_S8_CTX(p->dim_in, p->hidden);
    gx = xs + p->dim_in;
    gh = gx + G * p->hidden;
    h = gh + G * p->hidden;
    c = h + p->hidden;
    memset(h, 0, sizeof(int16_t) * (size_t)p->hidden * (lstm ? 2 : 1));
    memset(&cp, 0, sizeof cp);
    cp.stride.w = cp.stride.h = cp.dilation.w = cp.dilation.h = 1;
    cp.activation.min = NNQ_S16_MIN;
    cp.activation.max = NNQ_S16_MAX;
    in_d.n = h_d.n = g_d.n = 1;
    in_d.h = in_d.w = h_d.h = h_d.w = fx_d.h = fx_d.w = fh_d.h = fh_d.w = g_d.h = g_d.w = 1;
    in_d.c = fx_d.c = p->dim_in;
    h_d.c = fh_d.c = p->hidden;
    fx_d.n = fh_d.n = g_d.c = G * p->hidden;
    if (arm_convolve_wrapper_s16_get_buffer_size(&cp, &in_d, &fx_d, &g_d) > ctx.size ||
        arm_convolve_wrapper_s16_get_buffer_size(&cp, &h_d, &fh_d, &g_d) > ctx.size)
        return ARM_CMSIS_NN_ARG_ERROR;
    for (t = 0; t < p->steps; t++)
    {
        const int32_t H = p->hidden;
        arm_cmsis_nn_status st;
        for (j = 0; j < p->dim_in; j++)
            xs[j] = in8 != NULL ? (int16_t)(in8[t * p->dim_in + j] + p->input_offset) : in16[t * p->dim_in + j];
        st = arm_convolve_wrapper_s16(&ctx, &cp, &p->ih, &in_d, xs, &fx_d, w_ih, &g_d, &bias_x, &g_d, gx);
        if (st != ARM_CMSIS_NN_SUCCESS)
            return st;
        st = arm_convolve_wrapper_s16(&ctx, &cp, &p->hh, &h_d, h, &fh_d, w_hh, &g_d, &bias_h, &g_d, gh);
        if (st != ARM_CMSIS_NN_SUCCESS)
            return st;
        for (j = 0; j < H; j++)
        {
            if (lstm)
            {
                const int32_t ig = nnq_act_one((int32_t)gx[j] + gh[j], &p->gate, sig);
                const int32_t fg = nnq_act_one((int32_t)gx[H + j] + gh[H + j], &p->gate, sig);
                const int32_t gg = nnq_act_one((int32_t)gx[2 * H + j] + gh[2 * H + j], &p->gate, tnh);
                const int32_t og = nnq_act_one((int32_t)gx[3 * H + j] + gh[3 * H + j], &p->gate, sig);
                const int16_t cv =
                    nnq_sat16(nnq_mul15(fg, c[j]) + nnq_requantize(ig * gg, p->cell.multiplier, p->cell.shift));
                c[j] = cv;
                h[j] = (int16_t)nnq_mul15(og, nnq_act_one(cv, &p->cell_act, tnh));
            }
            else
            {
                const int32_t r = nnq_act_one((int32_t)gx[j] + gh[j], &p->gate, sig);
                const int32_t z = nnq_act_one((int32_t)gx[H + j] + gh[H + j], &p->gate, sig);
                const int32_t n = nnq_act_one((int32_t)gx[2 * H + j] + nnq_mul15(r, gh[2 * H + j]), &p->gate, tnh);
                h[j] = nnq_sat16(n + nnq_mul15(z, (int32_t)h[j] - n));
            }
        }
        if (p->return_sequences || t == p->steps - 1)
        {
            const int32_t off = p->return_sequences ? t * H : 0;
            for (j = 0; j < H; j++)
            {
                if (out8 != NULL)
                    out8[off + j] = (int8_t)NNQ_CLAMP(((int32_t)h[j] + 128) >> 8, -128, 127);
                else
                    out16[off + j] = h[j];
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status nnq_gru_s8(NNQ_RNN_S8_ARGS(int8_t))
{
    return nnq_rnn_s8(0, input, NULL, w_ih, b_x, w_hh, b_h, p, sigmoid_lut, tanh_lut, output, NULL, scratch);
}

arm_cmsis_nn_status nnq_gru_s16(NNQ_RNN_S8_ARGS(int16_t))
{
    return nnq_rnn_s8(0, NULL, input, w_ih, b_x, w_hh, b_h, p, sigmoid_lut, tanh_lut, NULL, output, scratch);
}

arm_cmsis_nn_status nnq_lstm_s8(NNQ_RNN_S8_ARGS(int8_t))
{
    return nnq_rnn_s8(1, input, NULL, w_ih, b_x, w_hh, b_h, p, sigmoid_lut, tanh_lut, output, NULL, scratch);
}

arm_cmsis_nn_status nnq_lstm_s16(NNQ_RNN_S8_ARGS(int16_t))
{
    return nnq_rnn_s8(1, NULL, input, w_ih, b_x, w_hh, b_h, p, sigmoid_lut, tanh_lut, NULL, output, scratch);
}

/* sum / n (n > 0) rounded to the nearest integer, ties to the even one. */
static int32_t nnq_div_even(int32_t sum, int32_t n)
{
    int32_t q = sum / n, r = sum % n;
    if (r < 0) /* floor division: 0 <= r < n */
    {
        q--;
        r += n;
    }
    if (2 * (int64_t)r > n || (2 * (int64_t)r == n && (q & 1) != 0))
        q++;
    return q;
}

/* In-bounds window [*a0, *a1) along one axis of output position o. */
static void nnq_axis(int32_t o, int32_t stride, int32_t pad, int32_t k, int32_t size, int32_t *a0, int32_t *a1)
{
    const int32_t i = o * stride - pad;
    *a0 = NNQ_MAX(0, i);
    *a1 = NNQ_MIN(size, i + k);
}

/* Ties-to-even average pooling of any element type (esz bytes: 1 or 2). */
static arm_cmsis_nn_status nnq_avgpool_even(const cmsis_nn_pool_params *p, const cmsis_nn_dims *in_d, const void *in,
                                            const cmsis_nn_dims *f_d, const cmsis_nn_dims *out_d, void *out, int esz)
{
    const int32_t ih = in_d->h, iw = in_d->w, ch = in_d->c, lo = p->activation.min, hi = p->activation.max;
    int32_t b, oy, ox, c, y, x, y0, y1, x0, x1;
    if (in_d->n < 1)
        return ARM_CMSIS_NN_ARG_ERROR;
    /* Every window non-empty (the first and last along each axis suffice). */
    nnq_axis(0, p->stride.h, p->padding.h, f_d->h, ih, &y0, &y1);
    nnq_axis(0, p->stride.w, p->padding.w, f_d->w, iw, &x0, &x1);
    if (y1 <= y0 || x1 <= x0)
        return ARM_CMSIS_NN_ARG_ERROR;
    nnq_axis(out_d->h - 1, p->stride.h, p->padding.h, f_d->h, ih, &y0, &y1);
    nnq_axis(out_d->w - 1, p->stride.w, p->padding.w, f_d->w, iw, &x0, &x1);
    if (y1 <= y0 || x1 <= x0)
        return ARM_CMSIS_NN_ARG_ERROR;
    for (b = 0; b < in_d->n; b++)
    {
        const size_t base = (size_t)b * ih * iw * ch;
        for (oy = 0; oy < out_d->h; oy++)
        {
            nnq_axis(oy, p->stride.h, p->padding.h, f_d->h, ih, &y0, &y1);
            for (ox = 0; ox < out_d->w; ox++)
            {
                const size_t o = (((size_t)b * out_d->h + oy) * out_d->w + ox) * ch;
                nnq_axis(ox, p->stride.w, p->padding.w, f_d->w, iw, &x0, &x1);
                for (c = 0; c < ch; c++)
                {
                    int32_t sum = 0, v;
                    for (y = y0; y < y1; y++)
                        for (x = x0; x < x1; x++)
                        {
                            const size_t k = base + ((size_t)y * iw + x) * ch + c;
                            sum += esz == 1 ? ((const int8_t *)in)[k] : ((const int16_t *)in)[k];
                        }
                    v = NNQ_CLAMP(nnq_div_even(sum, (y1 - y0) * (x1 - x0)), lo, hi);
                    if (esz == 1)
                        ((int8_t *)out)[o + c] = (int8_t)v;
                    else
                        ((int16_t *)out)[o + c] = (int16_t)v;
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status nnq_avgpool_s8_even(const cmsis_nn_context *ctx, const cmsis_nn_pool_params *pool_params,
                                        const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                        const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims,
                                        int8_t *output_data)
{
    (void)ctx;
    return nnq_avgpool_even(pool_params, input_dims, input_data, filter_dims, output_dims, output_data, 1);
}

arm_cmsis_nn_status nnq_avgpool_s16_even(const cmsis_nn_context *ctx, const cmsis_nn_pool_params *pool_params,
                                         const cmsis_nn_dims *input_dims, const int16_t *input_data,
                                         const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims,
                                         int16_t *output_data)
{
    (void)ctx;
    return nnq_avgpool_even(pool_params, input_dims, input_data, filter_dims, output_dims, output_data, 2);
}

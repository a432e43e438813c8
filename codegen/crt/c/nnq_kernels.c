/*
 * nnq_kernels.c - nnq's own kernels for layers that have no legacy CMSIS-NN
 * kernel: non-square and q15 pooling, element-wise add with shifts, q15
 * non-square and depthwise convolutions.
 *
 * Part of nnq (github.com/nnq-toolkit/nnq). Always compiled, with or without
 * NNQ_USE_CMSIS; the semantics are the same on every target (pooling follows
 * the legacy C path, never the DSP path) and are mirrored bit for bit by the
 * Go simulator in package kernels.
 */
#include "nnq_internal.h"

/* Window start of output index o along one axis (may be negative). */
static int64_t nnq_start(uint32_t o, uint32_t stride, uint32_t pad)
{
    return (int64_t)o * (int64_t)stride - (int64_t)pad;
}

/*
 * Pooling cores, one per element type: max (from the type minimum) or
 * (int32 sum * 2^out_lshift) / in-range count (64-bit C division,
 * truncating toward zero, then saturated) over the in-range window
 * positions; an empty window gives 0.
 */
static void nnq_pool_q7(const q7_t *in, uint32_t in_x, uint32_t in_y, uint32_t ch, uint32_t k_x, uint32_t k_y,
                        uint32_t pad_x, uint32_t pad_y, uint32_t stride_x, uint32_t stride_y, uint32_t out_x,
                        uint32_t out_y, q7_t *out, int is_max, uint32_t out_lshift)
{
    uint32_t oy, ox, c, ky, kx;
    for (oy = 0; oy < out_y; oy++)
    {
        const int64_t y0 = nnq_start(oy, stride_y, pad_y);
        for (ox = 0; ox < out_x; ox++)
        {
            const int64_t x0 = nnq_start(ox, stride_x, pad_x);
            for (c = 0; c < ch; c++)
            {
                int32_t max = -128;
                uint32_t sum = 0u; /* int32 sum, wrapping */
                uint32_t count = 0u;
                int32_t res;
                for (ky = 0; ky < k_y; ky++)
                {
                    const int64_t iy = y0 + ky;
                    if (iy < 0 || iy >= (int64_t)in_y)
                    {
                        continue;
                    }
                    for (kx = 0; kx < k_x; kx++)
                    {
                        const int64_t ix = x0 + kx;
                        int32_t v;
                        if (ix < 0 || ix >= (int64_t)in_x)
                        {
                            continue;
                        }
                        v = in[((size_t)iy * in_x + (size_t)ix) * ch + c];
                        max = (v > max) ? v : max;
                        sum += (uint32_t)v;
                        count++;
                    }
                }
                if (count == 0u)
                {
                    res = 0;
                }
                else if (is_max)
                {
                    res = max;
                }
                else
                {
                    /* Scale by 2^out_lshift before dividing (a multiplication:
                     * a negative value may not be shifted left in C), then
                     * saturate; out_lshift 0 is the plain mean. */
                    const int64_t q = ((int64_t)nnq_u2s(sum) * ((int64_t)1 << out_lshift)) / (int64_t)count;
                    res = (q > 127) ? 127 : (q < -128) ? -128 : (int32_t)q;
                }
                out[((size_t)oy * out_x + ox) * ch + c] = (q7_t)res;
            }
        }
    }
}

static void nnq_pool_q15(const q15_t *in, uint32_t in_x, uint32_t in_y, uint32_t ch, uint32_t k_x, uint32_t k_y,
                        uint32_t pad_x, uint32_t pad_y, uint32_t stride_x, uint32_t stride_y, uint32_t out_x,
                        uint32_t out_y, q15_t *out, int is_max, uint32_t out_lshift)
{
    uint32_t oy, ox, c, ky, kx;
    for (oy = 0; oy < out_y; oy++)
    {
        const int64_t y0 = nnq_start(oy, stride_y, pad_y);
        for (ox = 0; ox < out_x; ox++)
        {
            const int64_t x0 = nnq_start(ox, stride_x, pad_x);
            for (c = 0; c < ch; c++)
            {
                int32_t max = -32768;
                uint32_t sum = 0u; /* int32 sum, wrapping */
                uint32_t count = 0u;
                int32_t res;
                for (ky = 0; ky < k_y; ky++)
                {
                    const int64_t iy = y0 + ky;
                    if (iy < 0 || iy >= (int64_t)in_y)
                    {
                        continue;
                    }
                    for (kx = 0; kx < k_x; kx++)
                    {
                        const int64_t ix = x0 + kx;
                        int32_t v;
                        if (ix < 0 || ix >= (int64_t)in_x)
                        {
                            continue;
                        }
                        v = in[((size_t)iy * in_x + (size_t)ix) * ch + c];
                        max = (v > max) ? v : max;
                        sum += (uint32_t)v;
                        count++;
                    }
                }
                if (count == 0u)
                {
                    res = 0;
                }
                else if (is_max)
                {
                    res = max;
                }
                else
                {
                    const int64_t q = ((int64_t)nnq_u2s(sum) * ((int64_t)1 << out_lshift)) / (int64_t)count;
                    res = (q > 32767) ? 32767 : (q < -32768) ? -32768 : (int32_t)q;
                }
                out[((size_t)oy * out_x + ox) * ch + c] = (q15_t)res;
            }
        }
    }
}

void nnq_avepool_q7_HWC_nonsquare(const q7_t *in, uint16_t in_x, uint16_t in_y, uint16_t ch, uint16_t k_x,
                                  uint16_t k_y, uint16_t pad_x, uint16_t pad_y, uint16_t stride_x,
                                  uint16_t stride_y, uint16_t out_x, uint16_t out_y, q7_t *out,
                                  uint16_t out_lshift)
{
    nnq_pool_q7(in, in_x, in_y, ch, k_x, k_y, pad_x, pad_y, stride_x, stride_y, out_x, out_y, out, 0, out_lshift);
}

void nnq_maxpool_q7_HWC_nonsquare(const q7_t *in, uint16_t in_x, uint16_t in_y, uint16_t ch, uint16_t k_x,
                                  uint16_t k_y, uint16_t pad_x, uint16_t pad_y, uint16_t stride_x,
                                  uint16_t stride_y, uint16_t out_x, uint16_t out_y, q7_t *out)
{
    nnq_pool_q7(in, in_x, in_y, ch, k_x, k_y, pad_x, pad_y, stride_x, stride_y, out_x, out_y, out, 1, 0u);
}

void nnq_avepool_q15_HWC_nonsquare(const q15_t *in, uint16_t in_x, uint16_t in_y, uint16_t ch, uint16_t k_x,
                                   uint16_t k_y, uint16_t pad_x, uint16_t pad_y, uint16_t stride_x,
                                   uint16_t stride_y, uint16_t out_x, uint16_t out_y, q15_t *out,
                                   uint16_t out_lshift)
{
    nnq_pool_q15(in, in_x, in_y, ch, k_x, k_y, pad_x, pad_y, stride_x, stride_y, out_x, out_y, out, 0, out_lshift);
}

void nnq_maxpool_q15_HWC_nonsquare(const q15_t *in, uint16_t in_x, uint16_t in_y, uint16_t ch, uint16_t k_x,
                                   uint16_t k_y, uint16_t pad_x, uint16_t pad_y, uint16_t stride_x,
                                   uint16_t stride_y, uint16_t out_x, uint16_t out_y, q15_t *out)
{
    nnq_pool_q15(in, in_x, in_y, ch, k_x, k_y, pad_x, pad_y, stride_x, stride_y, out_x, out_y, out, 1, 0u);
}

void nnq_add_q7(const q7_t *a, const q7_t *b, q7_t *out, uint32_t n, uint16_t a_shift, uint16_t b_shift,
                uint16_t out_shift)
{
    const uint32_t r = nnq_round(out_shift);
    uint32_t i;
    for (i = 0; i < n; i++)
    {
        /* Read both operands before writing: out may alias a or b. */
        const uint32_t acc = nnq_shl(a[i], a_shift) + nnq_shl(b[i], b_shift) + r;
        out[i] = nnq_requant_q7(acc, out_shift);
    }
}

void nnq_add_q15(const q15_t *a, const q15_t *b, q15_t *out, uint32_t n, uint16_t a_shift, uint16_t b_shift,
                 uint16_t out_shift)
{
    const uint32_t r = nnq_round(out_shift);
    uint32_t i;
    for (i = 0; i < n; i++)
    {
        const uint32_t acc = nnq_shl(a[i], a_shift) + nnq_shl(b[i], b_shift) + r;
        out[i] = nnq_requant_q15(acc, out_shift);
    }
}

/* Shared body of the two q15 convolutions: dw != 0 selects depthwise. */
static void nnq_conv_q15(const q15_t *in, int32_t in_x, int32_t in_y, int32_t ch_in, const q15_t *wt, int32_t ch_out,
                         int32_t k_x, int32_t k_y, int32_t pad_x, int32_t pad_y, int32_t stride_x, int32_t stride_y,
                         const q15_t *bias, uint32_t bias_shift, uint32_t out_shift, q15_t *out, int32_t out_x,
                         int32_t out_y, int dw)
{
    int32_t oy, ox, o, ky, kx, c;
    for (oy = 0; oy < out_y; oy++)
    {
        for (ox = 0; ox < out_x; ox++)
        {
            for (o = 0; o < ch_out; o++)
            {
                uint32_t acc = nnq_shl(bias[o], bias_shift) + nnq_round(out_shift);
                for (ky = 0; ky < k_y; ky++)
                {
                    int32_t iy = oy * stride_y - pad_y + ky;
                    if (iy < 0 || iy >= in_y)
                    {
                        continue;
                    }
                    for (kx = 0; kx < k_x; kx++)
                    {
                        int32_t ix = ox * stride_x - pad_x + kx;
                        if (ix < 0 || ix >= in_x)
                        {
                            continue;
                        }
                        if (dw)
                        {
                            acc += nnq_mul(in[(iy * in_x + ix) * ch_in + o], wt[(ky * k_x + kx) * ch_in + o]);
                            continue;
                        }
                        for (c = 0; c < ch_in; c++)
                        {
                            acc += nnq_mul(in[(iy * in_x + ix) * ch_in + c], wt[((o * k_y + ky) * k_x + kx) * ch_in + c]);
                        }
                    }
                }
                out[(oy * out_x + ox) * ch_out + o] = nnq_requant_q15(acc, out_shift);
            }
        }
    }
}

arm_status nnq_convolve_HWC_q15_basic_nonsquare(const q15_t *Im_in, uint16_t dim_im_in_x, uint16_t dim_im_in_y,
                                                uint16_t ch_im_in, const q15_t *wt, uint16_t ch_im_out,
                                                uint16_t dim_kernel_x, uint16_t dim_kernel_y, uint16_t padding_x,
                                                uint16_t padding_y, uint16_t stride_x, uint16_t stride_y,
                                                const q15_t *bias, uint16_t bias_shift, uint16_t out_shift,
                                                q15_t *Im_out, uint16_t dim_im_out_x, uint16_t dim_im_out_y,
                                                q15_t *bufferA, q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    nnq_conv_q15(Im_in, dim_im_in_x, dim_im_in_y, ch_im_in, wt, ch_im_out, dim_kernel_x, dim_kernel_y, padding_x,
                 padding_y, stride_x, stride_y, bias, bias_shift, out_shift, Im_out, dim_im_out_x, dim_im_out_y, 0);
    return ARM_MATH_SUCCESS;
}

arm_status nnq_depthwise_conv_HWC_q15_nonsquare(const q15_t *Im_in, uint16_t dim_im_in_x, uint16_t dim_im_in_y,
                                                uint16_t ch_im_in, const q15_t *wt, uint16_t ch_im_out,
                                                uint16_t dim_kernel_x, uint16_t dim_kernel_y, uint16_t padding_x,
                                                uint16_t padding_y, uint16_t stride_x, uint16_t stride_y,
                                                const q15_t *bias, uint16_t bias_shift, uint16_t out_shift,
                                                q15_t *Im_out, uint16_t dim_im_out_x, uint16_t dim_im_out_y,
                                                q15_t *bufferA, q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    if (ch_im_in != ch_im_out)
    {
        return ARM_MATH_SIZE_MISMATCH;
    }
    nnq_conv_q15(Im_in, dim_im_in_x, dim_im_in_y, ch_im_in, wt, ch_im_out, dim_kernel_x, dim_kernel_y, padding_x,
                 padding_y, stride_x, stride_y, bias, bias_shift, out_shift, Im_out, dim_im_out_x, dim_im_out_y, 1);
    return ARM_MATH_SUCCESS;
}

/*
 * nnq_legacy.c - portable, bit-exact implementations of the legacy CMSIS-NN
 * q7/q15 kernels (CMSIS 5.9.0 semantics) that nnq emits.
 *
 * Part of nnq (github.com/nnq-toolkit/nnq). Written from nnq's own facts
 * sheet; contains no CMSIS code. The scratch buffers (bufferA, bufferB,
 * vec_buffer) are accepted for signature compatibility and not used.
 *
 * Without ARM_MATH_DSP the library's C-path semantics are compiled; with it
 * (NNQ_DSP_PATH == 1) the DSP-path semantics where they differ observably:
 *   - arm_maxpool_q7_HWC / arm_avepool_q7_HWC: separable two-pass algorithm,
 *     in place in Im_in (Im_in is overwritten);
 *   - arm_convolve_HWC_q15_fast: ARM_MATH_SIZE_MISMATCH for odd dim_im_out.
 * The unchecked DSP quirks of the q7 _fast kernels for larger-than-standard
 * outputs (reads outside the window) and of q15 _fast_nonsquare for an odd
 * dim_im_out_x are not reproduced (C-path answer): nnq never emits them.
 */
#include "nnq_internal.h"

#if defined(NNQ_USE_CMSIS)

/* The real CMSIS-NN library provides everything in this file. */
typedef int nnq_legacy_unused_t;

#else

/* ---------------------------------------------------------------------- */
/* Convolution cores                                                        */
/* ---------------------------------------------------------------------- */

/* Window start of output index o along one axis (may be negative). */
static int64_t nnq_win_start(uint32_t o, uint32_t stride, uint32_t pad)
{
    return (int64_t)o * (int64_t)stride - (int64_t)pad;
}

static void nnq_conv_q7(const q7_t *in, uint32_t in_x, uint32_t in_y, uint32_t ch_in, const q7_t *wt,
                        uint32_t ch_out, uint32_t k_x, uint32_t k_y, uint32_t pad_x, uint32_t pad_y,
                        uint32_t st_x, uint32_t st_y, const q7_t *bias, uint32_t bias_shift, uint32_t out_shift,
                        q7_t *out, uint32_t out_x, uint32_t out_y)
{
    uint32_t oy, ox, o, ky, kx, c;
    for (oy = 0; oy < out_y; oy++)
    {
        const int64_t y0 = nnq_win_start(oy, st_y, pad_y);
        for (ox = 0; ox < out_x; ox++)
        {
            const int64_t x0 = nnq_win_start(ox, st_x, pad_x);
            for (o = 0; o < ch_out; o++)
            {
                uint32_t acc = nnq_shl(bias[o], bias_shift) + nnq_round(out_shift);
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
                        const q7_t *pi;
                        const q7_t *pw;
                        if (ix < 0 || ix >= (int64_t)in_x)
                        {
                            continue;
                        }
                        pi = in + ((size_t)iy * in_x + (size_t)ix) * ch_in;
                        pw = wt + (((size_t)o * k_y + ky) * k_x + kx) * ch_in;
                        for (c = 0; c < ch_in; c++)
                        {
                            acc += nnq_mul(pi[c], pw[c]);
                        }
                    }
                }
                out[((size_t)oy * out_x + ox) * ch_out + o] = nnq_requant_q7(acc, out_shift);
            }
        }
    }
}

static void nnq_conv_q15(const q15_t *in, uint32_t in_x, uint32_t in_y, uint32_t ch_in, const q15_t *wt,
                         uint32_t ch_out, uint32_t k_x, uint32_t k_y, uint32_t pad_x, uint32_t pad_y,
                         uint32_t st_x, uint32_t st_y, const q15_t *bias, uint32_t bias_shift,
                         uint32_t out_shift, q15_t *out, uint32_t out_x, uint32_t out_y)
{
    uint32_t oy, ox, o, ky, kx, c;
    for (oy = 0; oy < out_y; oy++)
    {
        const int64_t y0 = nnq_win_start(oy, st_y, pad_y);
        for (ox = 0; ox < out_x; ox++)
        {
            const int64_t x0 = nnq_win_start(ox, st_x, pad_x);
            for (o = 0; o < ch_out; o++)
            {
                uint32_t acc = nnq_shl(bias[o], bias_shift) + nnq_round(out_shift);
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
                        const q15_t *pi;
                        const q15_t *pw;
                        if (ix < 0 || ix >= (int64_t)in_x)
                        {
                            continue;
                        }
                        pi = in + ((size_t)iy * in_x + (size_t)ix) * ch_in;
                        pw = wt + (((size_t)o * k_y + ky) * k_x + kx) * ch_in;
                        for (c = 0; c < ch_in; c++)
                        {
                            acc += nnq_mul(pi[c], pw[c]);
                        }
                    }
                }
                out[((size_t)oy * out_x + ox) * ch_out + o] = nnq_requant_q15(acc, out_shift);
            }
        }
    }
}

static void nnq_depthwise_q7(const q7_t *in, uint32_t in_x, uint32_t in_y, uint32_t ch, const q7_t *wt,
                             uint32_t k_x, uint32_t k_y, uint32_t pad_x, uint32_t pad_y, uint32_t st_x,
                             uint32_t st_y, const q7_t *bias, uint32_t bias_shift, uint32_t out_shift, q7_t *out,
                             uint32_t out_x, uint32_t out_y)
{
    uint32_t oy, ox, c, ky, kx;
    for (oy = 0; oy < out_y; oy++)
    {
        const int64_t y0 = nnq_win_start(oy, st_y, pad_y);
        for (ox = 0; ox < out_x; ox++)
        {
            const int64_t x0 = nnq_win_start(ox, st_x, pad_x);
            for (c = 0; c < ch; c++)
            {
                uint32_t acc = nnq_shl(bias[c], bias_shift) + nnq_round(out_shift);
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
                        if (ix < 0 || ix >= (int64_t)in_x)
                        {
                            continue;
                        }
                        acc += nnq_mul(in[((size_t)iy * in_x + (size_t)ix) * ch + c],
                                       wt[((size_t)ky * k_x + kx) * ch + c]);
                    }
                }
                out[((size_t)oy * out_x + ox) * ch + c] = nnq_requant_q7(acc, out_shift);
            }
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Convolutions, q7                                                         */
/* ---------------------------------------------------------------------- */

arm_status arm_convolve_HWC_q7_basic(const q7_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                                     const q7_t *wt, const uint16_t ch_im_out, const uint16_t dim_kernel,
                                     const uint16_t padding, const uint16_t stride, const q7_t *bias,
                                     const uint16_t bias_shift, const uint16_t out_shift, q7_t *Im_out,
                                     const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    nnq_conv_q7(Im_in, dim_im_in, dim_im_in, ch_im_in, wt, ch_im_out, dim_kernel, dim_kernel, padding, padding,
                stride, stride, bias, bias_shift, out_shift, Im_out, dim_im_out, dim_im_out);
    return ARM_MATH_SUCCESS;
}

arm_status arm_convolve_HWC_q7_fast(const q7_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                                    const q7_t *wt, const uint16_t ch_im_out, const uint16_t dim_kernel,
                                    const uint16_t padding, const uint16_t stride, const q7_t *bias,
                                    const uint16_t bias_shift, const uint16_t out_shift, q7_t *Im_out,
                                    const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    if ((ch_im_in % 4u) != 0u || (ch_im_out % 2u) != 0u)
    {
        return ARM_MATH_SIZE_MISMATCH;
    }
    nnq_conv_q7(Im_in, dim_im_in, dim_im_in, ch_im_in, wt, ch_im_out, dim_kernel, dim_kernel, padding, padding,
                stride, stride, bias, bias_shift, out_shift, Im_out, dim_im_out, dim_im_out);
    return ARM_MATH_SUCCESS;
}

arm_status arm_convolve_HWC_q7_RGB(const q7_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                                   const q7_t *wt, const uint16_t ch_im_out, const uint16_t dim_kernel,
                                   const uint16_t padding, const uint16_t stride, const q7_t *bias,
                                   const uint16_t bias_shift, const uint16_t out_shift, q7_t *Im_out,
                                   const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    if (ch_im_in != 3u)
    {
        return ARM_MATH_SIZE_MISMATCH;
    }
    nnq_conv_q7(Im_in, dim_im_in, dim_im_in, 3u, wt, ch_im_out, dim_kernel, dim_kernel, padding, padding, stride,
                stride, bias, bias_shift, out_shift, Im_out, dim_im_out, dim_im_out);
    return ARM_MATH_SUCCESS;
}

arm_status arm_convolve_HWC_q7_basic_nonsquare(const q7_t *Im_in, const uint16_t dim_im_in_x,
                                               const uint16_t dim_im_in_y, const uint16_t ch_im_in,
                                               const q7_t *wt, const uint16_t ch_im_out,
                                               const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,
                                               const uint16_t padding_x, const uint16_t padding_y,
                                               const uint16_t stride_x, const uint16_t stride_y,
                                               const q7_t *bias, const uint16_t bias_shift,
                                               const uint16_t out_shift, q7_t *Im_out,
                                               const uint16_t dim_im_out_x, const uint16_t dim_im_out_y,
                                               q15_t *bufferA, q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    nnq_conv_q7(Im_in, dim_im_in_x, dim_im_in_y, ch_im_in, wt, ch_im_out, dim_kernel_x, dim_kernel_y, padding_x,
                padding_y, stride_x, stride_y, bias, bias_shift, out_shift, Im_out, dim_im_out_x, dim_im_out_y);
    return ARM_MATH_SUCCESS;
}

arm_status arm_convolve_HWC_q7_fast_nonsquare(const q7_t *Im_in, const uint16_t dim_im_in_x,
                                              const uint16_t dim_im_in_y, const uint16_t ch_im_in,
                                              const q7_t *wt, const uint16_t ch_im_out,
                                              const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,
                                              const uint16_t padding_x, const uint16_t padding_y,
                                              const uint16_t stride_x, const uint16_t stride_y,
                                              const q7_t *bias, const uint16_t bias_shift,
                                              const uint16_t out_shift, q7_t *Im_out,
                                              const uint16_t dim_im_out_x, const uint16_t dim_im_out_y,
                                              q15_t *bufferA, q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    if ((ch_im_in % 4u) != 0u || (ch_im_out % 2u) != 0u)
    {
        return ARM_MATH_SIZE_MISMATCH;
    }
    nnq_conv_q7(Im_in, dim_im_in_x, dim_im_in_y, ch_im_in, wt, ch_im_out, dim_kernel_x, dim_kernel_y, padding_x,
                padding_y, stride_x, stride_y, bias, bias_shift, out_shift, Im_out, dim_im_out_x, dim_im_out_y);
    return ARM_MATH_SUCCESS;
}

arm_status arm_convolve_1x1_HWC_q7_fast_nonsquare(const q7_t *Im_in, const uint16_t dim_im_in_x,
                                                  const uint16_t dim_im_in_y, const uint16_t ch_im_in,
                                                  const q7_t *wt, const uint16_t ch_im_out,
                                                  const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,
                                                  const uint16_t padding_x, const uint16_t padding_y,
                                                  const uint16_t stride_x, const uint16_t stride_y,
                                                  const q7_t *bias, const uint16_t bias_shift,
                                                  const uint16_t out_shift, q7_t *Im_out,
                                                  const uint16_t dim_im_out_x, const uint16_t dim_im_out_y,
                                                  q15_t *bufferA, q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    if ((ch_im_in % 4u) != 0u || (ch_im_out % 2u) != 0u || dim_kernel_x != 1u || dim_kernel_y != 1u ||
        padding_x != 0u || padding_y != 0u || stride_x != 1u || stride_y != 1u)
    {
        return ARM_MATH_SIZE_MISMATCH;
    }
    nnq_conv_q7(Im_in, dim_im_in_x, dim_im_in_y, ch_im_in, wt, ch_im_out, 1u, 1u, 0u, 0u, 1u, 1u, bias,
                bias_shift, out_shift, Im_out, dim_im_out_x, dim_im_out_y);
    return ARM_MATH_SUCCESS;
}

/* ---------------------------------------------------------------------- */
/* Convolutions, q15                                                        */
/* ---------------------------------------------------------------------- */

arm_status arm_convolve_HWC_q15_basic(const q15_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                                      const q15_t *wt, const uint16_t ch_im_out, const uint16_t dim_kernel,
                                      const uint16_t padding, const uint16_t stride, const q15_t *bias,
                                      const uint16_t bias_shift, const uint16_t out_shift, q15_t *Im_out,
                                      const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    nnq_conv_q15(Im_in, dim_im_in, dim_im_in, ch_im_in, wt, ch_im_out, dim_kernel, dim_kernel, padding, padding,
                 stride, stride, bias, bias_shift, out_shift, Im_out, dim_im_out, dim_im_out);
    return ARM_MATH_SUCCESS;
}

arm_status arm_convolve_HWC_q15_fast(const q15_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                                     const q15_t *wt, const uint16_t ch_im_out, const uint16_t dim_kernel,
                                     const uint16_t padding, const uint16_t stride, const q15_t *bias,
                                     const uint16_t bias_shift, const uint16_t out_shift, q15_t *Im_out,
                                     const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    if ((ch_im_in % 2u) != 0u || (ch_im_out % 2u) != 0u)
    {
        return ARM_MATH_SIZE_MISMATCH;
    }
#if NNQ_DSP_PATH
    /* The DSP path pairs output pixels within a row and rejects odd widths. */
    if ((dim_im_out % 2u) != 0u)
    {
        return ARM_MATH_SIZE_MISMATCH;
    }
#endif
    nnq_conv_q15(Im_in, dim_im_in, dim_im_in, ch_im_in, wt, ch_im_out, dim_kernel, dim_kernel, padding, padding,
                 stride, stride, bias, bias_shift, out_shift, Im_out, dim_im_out, dim_im_out);
    return ARM_MATH_SUCCESS;
}

arm_status arm_convolve_HWC_q15_fast_nonsquare(const q15_t *Im_in, const uint16_t dim_im_in_x,
                                               const uint16_t dim_im_in_y, const uint16_t ch_im_in,
                                               const q15_t *wt, const uint16_t ch_im_out,
                                               const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,
                                               const uint16_t padding_x, const uint16_t padding_y,
                                               const uint16_t stride_x, const uint16_t stride_y,
                                               const q15_t *bias, const uint16_t bias_shift,
                                               const uint16_t out_shift, q15_t *Im_out,
                                               const uint16_t dim_im_out_x, const uint16_t dim_im_out_y,
                                               q15_t *bufferA, q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    if ((ch_im_in % 2u) != 0u || (ch_im_out % 2u) != 0u)
    {
        return ARM_MATH_SIZE_MISMATCH;
    }
    nnq_conv_q15(Im_in, dim_im_in_x, dim_im_in_y, ch_im_in, wt, ch_im_out, dim_kernel_x, dim_kernel_y, padding_x,
                 padding_y, stride_x, stride_y, bias, bias_shift, out_shift, Im_out, dim_im_out_x, dim_im_out_y);
    return ARM_MATH_SUCCESS;
}

/* ---------------------------------------------------------------------- */
/* Depthwise                                                                */
/* ---------------------------------------------------------------------- */

arm_status arm_depthwise_separable_conv_HWC_q7(const q7_t *Im_in, const uint16_t dim_im_in,
                                               const uint16_t ch_im_in, const q7_t *wt,
                                               const uint16_t ch_im_out, const uint16_t dim_kernel,
                                               const uint16_t padding, const uint16_t stride,
                                               const q7_t *bias, const uint16_t bias_shift,
                                               const uint16_t out_shift, q7_t *Im_out,
                                               const uint16_t dim_im_out, q15_t *bufferA, q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    if (ch_im_in != ch_im_out)
    {
        return ARM_MATH_SIZE_MISMATCH;
    }
    nnq_depthwise_q7(Im_in, dim_im_in, dim_im_in, ch_im_in, wt, dim_kernel, dim_kernel, padding, padding, stride,
                     stride, bias, bias_shift, out_shift, Im_out, dim_im_out, dim_im_out);
    return ARM_MATH_SUCCESS;
}

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
                                                         q7_t *bufferB)
{
    (void)bufferA;
    (void)bufferB;
    if (ch_im_in != ch_im_out)
    {
        return ARM_MATH_SIZE_MISMATCH;
    }
    nnq_depthwise_q7(Im_in, dim_im_in_x, dim_im_in_y, ch_im_in, wt, dim_kernel_x, dim_kernel_y, padding_x,
                     padding_y, stride_x, stride_y, bias, bias_shift, out_shift, Im_out, dim_im_out_x,
                     dim_im_out_y);
    return ARM_MATH_SUCCESS;
}

/* ---------------------------------------------------------------------- */
/* Fully connected                                                          */
/* ---------------------------------------------------------------------- */

/* Weight layouts: plain row-major, or one of the three interleavings. */
enum nnq_fc_layout
{
    NNQ_FC_PLAIN,
    NNQ_FC_Q7_OPT,
    NNQ_FC_Q15_OPT,
    NNQ_FC_MAT_Q7_VEC_Q15_OPT
};

/* Index of plain W[r][c] in a weight array of the given layout. */
static size_t nnq_fc_index(enum nnq_fc_layout layout, uint32_t r, uint32_t c, uint32_t dim_vec, uint32_t rows)
{
    const uint32_t grouped = rows - rows % 4u;
    size_t base;
    uint32_t rr;
    if (layout == NNQ_FC_PLAIN || r >= grouped)
    {
        /* Plain matrix, or a leftover row appended unchanged. */
        return (size_t)r * dim_vec + c;
    }
    base = (size_t)(r - r % 4u) * dim_vec;
    rr = r % 4u;
    if (layout == NNQ_FC_Q7_OPT)
    {
        const uint32_t full = dim_vec - dim_vec % 4u;
        if (c < full)
        {
            const uint32_t cc = c % 4u;
            return base + (size_t)(c / 4u) * 16u + 8u * (cc & 1u) + 4u * (rr >> 1) + 2u * (cc >> 1) + (rr & 1u);
        }
        return base + (size_t)full * 4u + (size_t)(c - full) * 4u + rr;
    }
    else
    {
        const uint32_t full = dim_vec - dim_vec % 2u;
        if (c < full)
        {
            if (layout == NNQ_FC_Q15_OPT)
            {
                return base + (size_t)(c / 2u) * 8u + 2u * rr + (c & 1u);
            }
            return base + (size_t)(c / 2u) * 8u + 4u * (rr >> 1) + 2u * (c & 1u) + (rr & 1u);
        }
        return base + (size_t)full * 4u + rr;
    }
}

static void nnq_fc_q7(const q7_t *pV, const q7_t *pM, uint32_t dim_vec, uint32_t rows, uint32_t bias_shift,
                      uint32_t out_shift, const q7_t *bias, q7_t *pOut, enum nnq_fc_layout layout)
{
    uint32_t r, c;
    for (r = 0; r < rows; r++)
    {
        uint32_t acc = nnq_shl(bias[r], bias_shift) + nnq_round(out_shift);
        for (c = 0; c < dim_vec; c++)
        {
            acc += nnq_mul(pV[c], pM[nnq_fc_index(layout, r, c, dim_vec, rows)]);
        }
        pOut[r] = nnq_requant_q7(acc, out_shift);
    }
}

static void nnq_fc_q15(const q15_t *pV, const q15_t *pM, uint32_t dim_vec, uint32_t rows, uint32_t bias_shift,
                       uint32_t out_shift, const q15_t *bias, q15_t *pOut, enum nnq_fc_layout layout)
{
    uint32_t r, c;
    for (r = 0; r < rows; r++)
    {
        uint32_t acc = nnq_shl(bias[r], bias_shift) + nnq_round(out_shift);
        for (c = 0; c < dim_vec; c++)
        {
            acc += nnq_mul(pV[c], pM[nnq_fc_index(layout, r, c, dim_vec, rows)]);
        }
        pOut[r] = nnq_requant_q15(acc, out_shift);
    }
}

static void nnq_fc_mat_q7_vec_q15(const q15_t *pV, const q7_t *pM, uint32_t dim_vec, uint32_t rows,
                                  uint32_t bias_shift, uint32_t out_shift, const q7_t *bias, q15_t *pOut,
                                  enum nnq_fc_layout layout)
{
    uint32_t r, c;
    for (r = 0; r < rows; r++)
    {
        uint32_t acc = nnq_shl(bias[r], bias_shift) + nnq_round(out_shift);
        for (c = 0; c < dim_vec; c++)
        {
            acc += nnq_mul(pV[c], pM[nnq_fc_index(layout, r, c, dim_vec, rows)]);
        }
        pOut[r] = nnq_requant_q15(acc, out_shift);
    }
}

arm_status arm_fully_connected_q7(const q7_t *pV, const q7_t *pM, const uint16_t dim_vec,
                                  const uint16_t num_of_rows, const uint16_t bias_shift,
                                  const uint16_t out_shift, const q7_t *bias, q7_t *pOut, q15_t *vec_buffer)
{
    (void)vec_buffer;
    nnq_fc_q7(pV, pM, dim_vec, num_of_rows, bias_shift, out_shift, bias, pOut, NNQ_FC_PLAIN);
    return ARM_MATH_SUCCESS;
}

arm_status arm_fully_connected_q7_opt(const q7_t *pV, const q7_t *pM, const uint16_t dim_vec,
                                      const uint16_t num_of_rows, const uint16_t bias_shift,
                                      const uint16_t out_shift, const q7_t *bias, q7_t *pOut,
                                      q15_t *vec_buffer)
{
    (void)vec_buffer;
    nnq_fc_q7(pV, pM, dim_vec, num_of_rows, bias_shift, out_shift, bias, pOut, NNQ_FC_Q7_OPT);
    return ARM_MATH_SUCCESS;
}

arm_status arm_fully_connected_q15(const q15_t *pV, const q15_t *pM, const uint16_t dim_vec,
                                   const uint16_t num_of_rows, const uint16_t bias_shift,
                                   const uint16_t out_shift, const q15_t *bias, q15_t *pOut,
                                   q15_t *vec_buffer)
{
    (void)vec_buffer;
    nnq_fc_q15(pV, pM, dim_vec, num_of_rows, bias_shift, out_shift, bias, pOut, NNQ_FC_PLAIN);
    return ARM_MATH_SUCCESS;
}

arm_status arm_fully_connected_q15_opt(const q15_t *pV, const q15_t *pM, const uint16_t dim_vec,
                                       const uint16_t num_of_rows, const uint16_t bias_shift,
                                       const uint16_t out_shift, const q15_t *bias, q15_t *pOut,
                                       q15_t *vec_buffer)
{
    (void)vec_buffer;
    nnq_fc_q15(pV, pM, dim_vec, num_of_rows, bias_shift, out_shift, bias, pOut, NNQ_FC_Q15_OPT);
    return ARM_MATH_SUCCESS;
}

arm_status arm_fully_connected_mat_q7_vec_q15(const q15_t *pV, const q7_t *pM, const uint16_t dim_vec,
                                              const uint16_t num_of_rows, const uint16_t bias_shift,
                                              const uint16_t out_shift, const q7_t *bias, q15_t *pOut,
                                              q15_t *vec_buffer)
{
    (void)vec_buffer;
    nnq_fc_mat_q7_vec_q15(pV, pM, dim_vec, num_of_rows, bias_shift, out_shift, bias, pOut, NNQ_FC_PLAIN);
    return ARM_MATH_SUCCESS;
}

arm_status arm_fully_connected_mat_q7_vec_q15_opt(const q15_t *pV, const q7_t *pM, const uint16_t dim_vec,
                                                  const uint16_t num_of_rows, const uint16_t bias_shift,
                                                  const uint16_t out_shift, const q7_t *bias, q15_t *pOut,
                                                  q15_t *vec_buffer)
{
    (void)vec_buffer;
    nnq_fc_mat_q7_vec_q15(pV, pM, dim_vec, num_of_rows, bias_shift, out_shift, bias, pOut,
                          NNQ_FC_MAT_Q7_VEC_Q15_OPT);
    return ARM_MATH_SUCCESS;
}

/* ---------------------------------------------------------------------- */
/* Pooling                                                                  */
/* ---------------------------------------------------------------------- */

#if NNQ_DSP_PATH

/*
 * DSP path: separable and in place. Row pass over every input row: output
 * column ox is computed from columns start..stop-1 of the same row (start is
 * ox*s-p, or ox when that is negative; stop is clamped to dim) and written to
 * column ox, in increasing ox. Max reads the current (possibly overwritten)
 * contents; average reads all its columns before writing. Column pass over
 * the first dim_out columns: rows max(0, oy*s-p) .. min(oy*s-p+k, dim)-1,
 * result to Im_out. Averages truncate toward zero in both passes.
 *
 * Geometries the library does not support (dim_out > dim, windows without
 * any column/row) give deterministic results without out-of-bounds access:
 * an empty average is 0, an empty max keeps/reads nothing beyond the buffer.
 */
static void nnq_pool_dsp_q7(q7_t *Im_in, uint32_t dim, uint32_t ch, uint32_t k, uint32_t pad, uint32_t stride,
                            uint32_t dim_out, q7_t *Im_out, int is_max)
{
    uint32_t y, ox, oy, c;
    const uint32_t cols = (dim_out < dim) ? dim_out : dim; /* columns that exist */

    /* Row pass. */
    for (y = 0; y < dim; y++)
    {
        q7_t *row = Im_in + (size_t)y * dim * ch;
        for (ox = 0; ox < cols; ox++)
        {
            int64_t start = nnq_win_start(ox, stride, pad);
            int64_t stop = start + k;
            if (start < 0)
            {
                start = ox;
            }
            if (stop > (int64_t)dim)
            {
                stop = dim;
            }
            for (c = 0; c < ch; c++)
            {
                q7_t *dst = row + (size_t)ox * ch + c;
                if (is_max)
                {
                    int64_t i;
                    if (start < (int64_t)dim)
                    {
                        *dst = row[(size_t)start * ch + c];
                    }
                    for (i = start + 1; i < stop; i++)
                    {
                        const q7_t v = row[(size_t)i * ch + c];
                        if (v > *dst)
                        {
                            *dst = v;
                        }
                    }
                }
                else
                {
                    int32_t sum = 0;
                    int64_t i;
                    for (i = start; i < stop; i++)
                    {
                        sum += row[(size_t)i * ch + c];
                    }
                    *dst = (stop > start) ? (q7_t)(sum / (int32_t)(stop - start)) : 0;
                }
            }
        }
    }

    /* Column pass. */
    for (oy = 0; oy < dim_out; oy++)
    {
        int64_t a = nnq_win_start(oy, stride, pad);
        int64_t b = a + k;
        if (a < 0)
        {
            a = 0;
        }
        if (b > (int64_t)dim)
        {
            b = dim;
        }
        for (ox = 0; ox < dim_out; ox++)
        {
            for (c = 0; c < ch; c++)
            {
                q7_t *dst = Im_out + ((size_t)oy * dim_out + ox) * ch + c;
                int32_t acc = is_max ? -128 : 0;
                int64_t i;
                if (ox >= cols || b <= a)
                {
                    *dst = 0;
                    continue;
                }
                for (i = a; i < b; i++)
                {
                    const int32_t v = Im_in[((size_t)i * dim + ox) * ch + c];
                    if (is_max)
                    {
                        acc = (v > acc) ? v : acc;
                    }
                    else
                    {
                        acc += v;
                    }
                }
                *dst = is_max ? (q7_t)acc : (q7_t)(acc / (int32_t)(b - a));
            }
        }
    }
}

#else /* C path */

/*
 * C path: direct window over in-range positions; Im_in is not modified.
 * Max starts from -129 as the library does (an empty window gives 127);
 * average divides the sum by the in-range count, truncating toward zero
 * (an empty window, a division by zero in the library, gives 0 here).
 */
static void nnq_pool_c_q7(const q7_t *Im_in, uint32_t dim, uint32_t ch, uint32_t k, uint32_t pad,
                          uint32_t stride, uint32_t dim_out, q7_t *Im_out, int is_max)
{
    uint32_t oy, ox, c, ky, kx;
    for (oy = 0; oy < dim_out; oy++)
    {
        const int64_t y0 = nnq_win_start(oy, stride, pad);
        for (ox = 0; ox < dim_out; ox++)
        {
            const int64_t x0 = nnq_win_start(ox, stride, pad);
            for (c = 0; c < ch; c++)
            {
                int32_t max = -129;
                uint32_t sum = 0u; /* int32 sum, wrapping */
                uint32_t count = 0u;
                q7_t res;
                for (ky = 0; ky < k; ky++)
                {
                    const int64_t iy = y0 + ky;
                    if (iy < 0 || iy >= (int64_t)dim)
                    {
                        continue;
                    }
                    for (kx = 0; kx < k; kx++)
                    {
                        const int64_t ix = x0 + kx;
                        int32_t v;
                        if (ix < 0 || ix >= (int64_t)dim)
                        {
                            continue;
                        }
                        v = Im_in[((size_t)iy * dim + (size_t)ix) * ch + c];
                        max = (v > max) ? v : max;
                        sum += (uint32_t)v;
                        count++;
                    }
                }
                if (is_max)
                {
                    res = (max < -128) ? (q7_t)127 : (q7_t)max;
                }
                else
                {
                    res = (count > 0u) ? (q7_t)((int64_t)nnq_u2s(sum) / (int64_t)count) : (q7_t)0;
                }
                Im_out[((size_t)oy * dim_out + ox) * ch + c] = res;
            }
        }
    }
}

#endif /* NNQ_DSP_PATH */

void arm_maxpool_q7_HWC(q7_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                        const uint16_t dim_kernel, const uint16_t padding, const uint16_t stride,
                        const uint16_t dim_im_out, q7_t *bufferA, q7_t *Im_out)
{
    (void)bufferA;
#if NNQ_DSP_PATH
    nnq_pool_dsp_q7(Im_in, dim_im_in, ch_im_in, dim_kernel, padding, stride, dim_im_out, Im_out, 1);
#else
    nnq_pool_c_q7(Im_in, dim_im_in, ch_im_in, dim_kernel, padding, stride, dim_im_out, Im_out, 1);
#endif
}

void arm_avepool_q7_HWC(q7_t *Im_in, const uint16_t dim_im_in, const uint16_t ch_im_in,
                        const uint16_t dim_kernel, const uint16_t padding, const uint16_t stride,
                        const uint16_t dim_im_out, q7_t *bufferA, q7_t *Im_out)
{
    (void)bufferA;
#if NNQ_DSP_PATH
    nnq_pool_dsp_q7(Im_in, dim_im_in, ch_im_in, dim_kernel, padding, stride, dim_im_out, Im_out, 0);
#else
    nnq_pool_c_q7(Im_in, dim_im_in, ch_im_in, dim_kernel, padding, stride, dim_im_out, Im_out, 0);
#endif
}

/* ---------------------------------------------------------------------- */
/* Activations                                                              */
/* ---------------------------------------------------------------------- */

void arm_relu_q7(q7_t *data, uint16_t size)
{
    uint32_t i;
    for (i = 0; i < size; i++)
    {
        if (data[i] < 0)
        {
            data[i] = 0;
        }
    }
}

void arm_relu_q15(q15_t *data, uint16_t size)
{
    uint32_t i;
    for (i = 0; i < size; i++)
    {
        if (data[i] < 0)
        {
            data[i] = 0;
        }
    }
}

/* Table entry for a (possibly negative) index taken modulo 256. */
static uint32_t nnq_u8(int32_t idx)
{
    return (uint32_t)idx & 0xFFu;
}

/* int_width must be 0..3 (the library's shift is undefined above 3); larger values act as 3. */
void arm_nn_activations_direct_q7(q7_t *data, uint16_t size, uint16_t int_width, arm_nn_activation_type type)
{
    const q7_t *table = (type == ARM_SIGMOID) ? sigmoidTable_q7 : tanhTable_q7;
    const uint32_t sh = (int_width < 3u) ? 3u - int_width : 0u;
    uint32_t i;
    for (i = 0; i < size; i++)
    {
        data[i] = table[nnq_u8(nnq_asr(data[i], sh))];
    }
}

void arm_nn_activations_direct_q15(q15_t *data, uint16_t size, uint16_t int_width,
                                   arm_nn_activation_type type)
{
    const q15_t *table = (type == ARM_SIGMOID) ? sigmoidTable_q15 : tanhTable_q15;
    const uint32_t iw = (int_width < 3u) ? int_width : 3u;
    const uint32_t sh = 11u - iw;
    const uint32_t mask = 0x7FFu >> iw;
    const int32_t full = (int32_t)mask + 1;
    uint32_t i;
    for (i = 0; i < size; i++)
    {
        const int32_t x = data[i];
        const int32_t idx = nnq_asr(x, sh);
        const int32_t frac = (int32_t)((uint32_t)x & mask);
        const int32_t v1 = table[nnq_u8(idx)];
        if (idx != 127)
        {
            const int32_t v2 = table[nnq_u8(idx + 1)];
            data[i] = (q15_t)nnq_asr((full - frac) * v1 + frac * v2, sh);
        }
        else
        {
            data[i] = (q15_t)v1;
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Softmax (base 2)                                                         */
/* ---------------------------------------------------------------------- */

void arm_softmax_q7(const q7_t *vec_in, const uint16_t dim_vec, q7_t *p_out)
{
    int32_t m = -128;
    int32_t base;
    uint32_t sum = 0;
    int32_t ob;
    uint32_t i;
    for (i = 0; i < dim_vec; i++)
    {
        if (vec_in[i] > m)
        {
            m = vec_in[i];
        }
    }
    base = m - 8;
    for (i = 0; i < dim_vec; i++)
    {
        sum += 1u << (uint32_t)nnq_clamp(vec_in[i] - base, 0, 7);
    }
    if (sum == 0u)
    {
        return; /* dim_vec == 0 */
    }
    ob = (int32_t)(0x100000u / sum);
    for (i = 0; i < dim_vec; i++)
    {
        const int32_t sh = nnq_clamp(13 + base - vec_in[i], 0, 31);
        p_out[i] = (q7_t)nnq_clamp(ob >> sh, -128, 127);
    }
}

void arm_softmax_with_batch_q7(const q7_t *vec_in, const uint16_t nb_batches, const uint16_t dim_vec,
                               q7_t *p_out)
{
    uint32_t b;
    for (b = 0; b < nb_batches; b++)
    {
        arm_softmax_q7(vec_in + (size_t)b * dim_vec, dim_vec, p_out + (size_t)b * dim_vec);
    }
}

void arm_softmax_q15(const q15_t *vec_in, const uint16_t dim_vec, q15_t *p_out)
{
    int32_t m = -32768;
    int32_t base;
    uint32_t sum = 0;
    int32_t ob;
    uint32_t i;
    for (i = 0; i < dim_vec; i++)
    {
        if (vec_in[i] > m)
        {
            m = vec_in[i];
        }
    }
    base = m - 16;
    for (i = 0; i < dim_vec; i++)
    {
        if (vec_in[i] > base)
        {
            sum += 1u << (uint32_t)nnq_clamp(vec_in[i] - base, 0, 31);
        }
    }
    if (sum == 0u)
    {
        return; /* dim_vec == 0 */
    }
    ob = (int32_t)(UINT64_C(0x100000000) / sum);
    for (i = 0; i < dim_vec; i++)
    {
        if (vec_in[i] > base)
        {
            const int32_t sh = nnq_clamp(17 + base - vec_in[i], 0, 31);
            p_out[i] = (q15_t)nnq_clamp(ob >> sh, -32768, 32767);
        }
        else
        {
            p_out[i] = 0;
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Element-wise multiply                                                    */
/* ---------------------------------------------------------------------- */

void arm_nn_mult_q7(q7_t *pSrcA, q7_t *pSrcB, q7_t *pDst, const uint16_t out_shift, uint32_t blockSize)
{
    uint32_t i;
    for (i = 0; i < blockSize; i++)
    {
        /* Product plus rounding term, truncated to 16 bits first. */
        const uint32_t t = (nnq_mul(pSrcA[i], pSrcB[i]) + nnq_round(out_shift)) & 0xFFFFu;
        const int32_t v = (t >= 0x8000u) ? (int32_t)t - 65536 : (int32_t)t;
        pDst[i] = (q7_t)nnq_clamp(nnq_asr(v, out_shift), -128, 127);
    }
}

void arm_nn_mult_q15(q15_t *pSrcA, q15_t *pSrcB, q15_t *pDst, const uint16_t out_shift, uint32_t blockSize)
{
    uint32_t i;
    for (i = 0; i < blockSize; i++)
    {
        const uint32_t t = nnq_mul(pSrcA[i], pSrcB[i]) + nnq_round(out_shift);
        pDst[i] = nnq_requant_q15(t, out_shift);
    }
}

#endif /* NNQ_USE_CMSIS */

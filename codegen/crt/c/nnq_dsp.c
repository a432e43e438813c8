/*
 * nnq_dsp.c - the CMSIS-DSP q15 element-wise functions nnq's recurrent
 * kernels are built from, under nnq_ names (CMSIS-DSP is not vendored).
 *
 * Part of nnq (github.com/nnq-toolkit/nnq). Written from CMSIS-DSP's
 * documented semantics (see docs/RECURRENT.md); contains no CMSIS code.
 * Identical on every target and mirrored bit for bit by the Go kernels
 * (kernels/dsp_q15.go):
 *
 *   nnq_mult_q15_dsp    arm_mult_q15     dst = SSAT((a*b) >> 15, 16), the shift floors
 *   nnq_add_q15_sat     arm_add_q15      dst = SSAT(a + b, 16)
 *   nnq_sub_q15_sat     arm_sub_q15      dst = SSAT(a - b, 16)
 *   nnq_offset_q15_sat  arm_offset_q15   dst = SSAT(a + offset, 16)
 *   nnq_shift_q15       arm_shift_q15    dst = SSAT(a << s, 16) for s >= 0, a >> -s (floor) for s < 0
 *   nnq_q7_to_q15       arm_q7_to_q15    dst = a << 8
 *   nnq_q15_to_q7       arm_q15_to_q7    dst = a >> 8 (floor)
 *
 * Element by element, so dst may alias a source.
 */
#include "nnq_internal.h"

void nnq_mult_q15_dsp(const q15_t *a, const q15_t *b, q15_t *dst, uint32_t n)
{
    uint32_t i = 0;
#if NNQ_SIMD
    /* Two lanes at a time (word loads; the arrays may be unaligned). */
    for (; i + 2u <= n; i += 2u)
    {
        const int32_t x = nnq_ld32(a + i), y = nnq_ld32(b + i);
        const int32_t lo = nnq_sat16(nnq_asr(nnq_lo16(x) * nnq_lo16(y), 15u));
        const int32_t hi = nnq_sat16(nnq_asr(nnq_hi16(x) * nnq_hi16(y), 15u));
        nnq_st32(dst + i, nnq_pk_lo(lo, hi));
    }
#endif
    for (; i < n; i++)
    {
        /* |a*b| <= 2^30: exact in int32. */
        dst[i] = nnq_sat16(nnq_asr((int32_t)a[i] * (int32_t)b[i], 15u));
    }
}

void nnq_add_q15_sat(const q15_t *a, const q15_t *b, q15_t *dst, uint32_t n)
{
    uint32_t i = 0;
#if NNQ_SIMD
    for (; i + 2u <= n; i += 2u)
    {
        nnq_st32(dst + i, nnq_qadd16(nnq_ld32(a + i), nnq_ld32(b + i)));
    }
#endif
    for (; i < n; i++)
    {
        dst[i] = nnq_sat16((int32_t)a[i] + (int32_t)b[i]);
    }
}

void nnq_sub_q15_sat(const q15_t *a, const q15_t *b, q15_t *dst, uint32_t n)
{
    uint32_t i = 0;
#if NNQ_SIMD
    for (; i + 2u <= n; i += 2u)
    {
        nnq_st32(dst + i, nnq_qsub16(nnq_ld32(a + i), nnq_ld32(b + i)));
    }
#endif
    for (; i < n; i++)
    {
        dst[i] = nnq_sat16((int32_t)a[i] - (int32_t)b[i]);
    }
}

void nnq_offset_q15_sat(const q15_t *a, q15_t offset, q15_t *dst, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
    {
        dst[i] = nnq_sat16((int32_t)a[i] + (int32_t)offset);
    }
}

void nnq_shift_q15(const q15_t *a, int8_t shift, q15_t *dst, uint32_t n)
{
    uint32_t i;
    if (shift >= 0)
    {
        /* Multiply instead of shifting a negative value; |a| * 2^15 <= 2^30. */
        const int32_t m = (int32_t)1 << (shift > 15 ? 15 : shift);
        for (i = 0; i < n; i++)
        {
            dst[i] = nnq_sat16((int32_t)a[i] * m);
        }
    }
    else
    {
        const uint32_t s = (uint32_t)(-(int32_t)shift);
        for (i = 0; i < n; i++)
        {
            dst[i] = (q15_t)nnq_asr((int32_t)a[i], s);
        }
    }
}

void nnq_q7_to_q15(const q7_t *a, q15_t *dst, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
    {
        dst[i] = (q15_t)((int32_t)a[i] * 256);
    }
}

void nnq_q15_to_q7(const q15_t *a, q7_t *dst, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
    {
        dst[i] = (q7_t)nnq_asr((int32_t)a[i], 8u);
    }
}

/*
 * nnq_internal.h - private helpers of the nnq runtime.
 *
 * Part of nnq (github.com/nnq-toolkit/nnq). Contains no CMSIS code.
 *
 * Two groups of helpers:
 *
 *  1. Fixed-point primitives with fully defined C99 behaviour: wrapping
 *     arithmetic in uint32_t, explicit flooring shifts, saturation. Every
 *     kernel's plain-C code path is written with them.
 *
 *  2. The SIMD layer. NNQ_SIMD is 1 when the kernels' SIMD code paths are
 *     compiled: on a core with the DSP extension (__ARM_FEATURE_DSP, i.e.
 *     Cortex-M4/M7/M33) through the ACLE intrinsics of arm_acle.h, or on any
 *     compiler with NNQ_SIMD_EMULATE defined, through exact portable C
 *     emulations (nnq's tests use this to run the SIMD paths on the host
 *     under the sanitizers). NNQ_NO_SIMD forces the plain-C paths. Both
 *     paths compute the same results bit for bit: the SIMD ones only change
 *     the order of the int32 (wrapping) accumulation.
 */
#ifndef NNQ_INTERNAL_H
#define NNQ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nnq_kernels.h"

/* ---- fixed-point primitives ------------------------------------------ */

/* Two's-complement reinterpretation of a uint32_t as int32_t. */
static inline int32_t nnq_u2s(uint32_t u)
{
    return (u <= 0x7FFFFFFFu) ? (int32_t)u : -(int32_t)(~u) - 1;
}

/* (uint32_t)(v << s) with two's-complement wrap-around; 0 for s >= 32. */
static inline uint32_t nnq_shl(int32_t v, uint32_t s)
{
    return (s > 31u) ? 0u : ((uint32_t)v << s);
}

/* Arithmetic (flooring) right shift; s >= 31 gives 0 or -1. */
static inline int32_t nnq_asr(int32_t v, uint32_t s)
{
    if (s > 31u)
    {
        s = 31u;
    }
#if defined(__GNUC__)
    /* GCC and Clang define >> of a negative value as the arithmetic shift. */
    return v >> s;
#else
    return (v >= 0) ? (v >> s) : ~((~v) >> s);
#endif
}

/* Rounding term added before a requantising right shift by s (NN_ROUND). */
static inline uint32_t nnq_round(uint32_t s)
{
#if defined(ARM_NN_TRUNCATE)
    (void)s;
    return 0u;
#else
    return (s == 0u || s > 32u) ? 0u : (1u << (s - 1u));
#endif
}

static inline int32_t nnq_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return (v < lo) ? lo : ((v > hi) ? hi : v);
}

/* SSAT(v, 16): one instruction on cores with the saturation instructions
 * (Cortex-M3 and later). */
#if defined(__ARM_FEATURE_SAT) && defined(__GNUC__)
#include <arm_acle.h>
#define nnq_sat16(v) ((q15_t)__ssat((v), 16))
#else
#define nnq_sat16(v) ((q15_t)nnq_clamp((v), -32768, 32767))
#endif

/* SSAT(u2s(acc) >> s, 8) and SSAT(u2s(acc) >> s, 16). */
static inline q7_t nnq_requant_q7(uint32_t acc, uint32_t s)
{
    return (q7_t)nnq_clamp(nnq_asr(nnq_u2s(acc), s), -128, 127);
}

static inline q15_t nnq_requant_q15(uint32_t acc, uint32_t s)
{
    return (q15_t)nnq_clamp(nnq_asr(nnq_u2s(acc), s), -32768, 32767);
}

/* Low 32 bits of an exact product of two int32 values whose product fits int32. */
static inline uint32_t nnq_mul(int32_t a, int32_t b)
{
    return (uint32_t)(a * b);
}

/* Window start of output index o along one axis (may be negative). */
static inline int32_t nnq_win(uint32_t o, uint32_t stride, uint32_t pad)
{
    return (int32_t)(o * stride) - (int32_t)pad;
}

/* In-range taps [k0, k1) of a window starting at input position i0 on an
 * axis of n positions. */
static inline void nnq_taps(int32_t i0, uint32_t k, uint32_t n, uint32_t *k0, uint32_t *k1)
{
    const int32_t lo = (i0 < 0) ? -i0 : 0;
    const int32_t hi = (int32_t)n - i0;
    *k0 = (uint32_t)((lo < (int32_t)k) ? lo : (int32_t)k);
    *k1 = (hi < 0) ? 0u : ((uint32_t)hi < k ? (uint32_t)hi : k);
    if (*k1 < *k0)
    {
        *k1 = *k0;
    }
}

/* Unaligned 32-bit load and store (one LDR/STR on Cortex-M3 and later). */
static inline int32_t nnq_ld32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void nnq_st32(void *p, int32_t v)
{
    memcpy(p, &v, 4);
}

/* A function kept out of line, so that its loop gets registers of its own
 * instead of the caller's spill slots. */
#if defined(__GNUC__)
#define NNQ_NOINLINE __attribute__((noinline))
#else
#define NNQ_NOINLINE
#endif

/* ---- SIMD layer -------------------------------------------------------- */

#if !defined(NNQ_NO_SIMD) && defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
#define NNQ_SIMD 1
#define NNQ_SIMD_ARM 1
#include <arm_acle.h>
#elif !defined(NNQ_NO_SIMD) && defined(NNQ_SIMD_EMULATE)
#define NNQ_SIMD 1
#define NNQ_SIMD_ARM 0
#else
#define NNQ_SIMD 0
#define NNQ_SIMD_ARM 0
#endif

/* Inner loops in assembly: on Arm with a GNU-compatible optimising compiler
 * (at -O0 GCC cannot give the assembly the registers it needs). */
#if NNQ_SIMD_ARM && defined(__GNUC__) && defined(__OPTIMIZE__)
#define NNQ_ASM 1
#else
#define NNQ_ASM 0
#endif

#if NNQ_SIMD

#if NNQ_SIMD_ARM

/* Bytes 0 and 2 of x, sign-extended into the two halfwords. */
static inline int32_t nnq_sxtb16(int32_t x)
{
    return __sxtb16(x);
}

/* Bytes 1 and 3 of x, sign-extended into the two halfwords. */
static inline int32_t nnq_sxtb16_r8(int32_t x)
{
#if defined(__GNUC__) && !defined(__clang__)
    /* GCC (12) does not fold a rotation into SXTB16: without this one
     * instruction it emits ROR + SXTB16 (measured: the q7 GEMM loop runs
     * about 10% more instructions). */
    int32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
#else
    return __sxtb16(__ror((uint32_t)x, 8u));
#endif
}

/* acc + lo(a)*lo(b) + hi(a)*hi(b), wrapping. */
static inline int32_t nnq_smlad(int32_t a, int32_t b, int32_t acc)
{
    return __smlad(a, b, acc);
}

/* Per-byte signed maximum of two words of four q7 values. */
static inline int32_t nnq_max_q7x4(int32_t a, int32_t b)
{
    (void)__ssub8(a, b);
    return (int32_t)__sel((uint32_t)a, (uint32_t)b);
}

/* Per-halfword signed maximum of two words of two q15 values. */
static inline int32_t nnq_max_q15x2(int32_t a, int32_t b)
{
    (void)__ssub16(a, b);
    return (int32_t)__sel((uint32_t)a, (uint32_t)b);
}

/* Halfword sums: lo(acc) + byte0(x), hi(acc) + byte2(x) (16-bit lanes). */
static inline int32_t nnq_sxtab16(int32_t acc, int32_t x)
{
    return __sxtab16(acc, x);
}

/* Halfword sums: lo(acc) + byte1(x), hi(acc) + byte3(x) (16-bit lanes). */
static inline int32_t nnq_sxtab16_r8(int32_t acc, int32_t x)
{
#if defined(__GNUC__) && !defined(__clang__)
    int32_t r;
    __asm("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
#else
    return __sxtab16(acc, __ror((uint32_t)x, 8u));
#endif
}

/* acc + lo(a)*hi(b) and acc + hi(a)*lo(b). */
static inline int32_t nnq_smlabt(int32_t a, int32_t b, int32_t acc)
{
    return __smlabt(a, b, acc);
}

static inline int32_t nnq_smlatb(int32_t a, int32_t b, int32_t acc)
{
    return __smlatb(a, b, acc);
}

/* Per-halfword saturating a + b and a - b. */
static inline int32_t nnq_qadd16(int32_t a, int32_t b)
{
    return __qadd16(a, b);
}

static inline int32_t nnq_qsub16(int32_t a, int32_t b)
{
    return __qsub16(a, b);
}

#define nnq_ssat8(v) __ssat((v), 8)
#define nnq_usat7(v) ((int32_t)__usat((v), 7))
#define nnq_ssat16(v) __ssat((v), 16)
#define nnq_usat15(v) ((int32_t)__usat((v), 15))

#else /* NNQ_SIMD_EMULATE: exact portable equivalents */

static inline int32_t nnq_sext8(uint32_t b)
{
    return (int32_t)(b & 0xFFu) - (int32_t)((b & 0x80u) << 1);
}

static inline int32_t nnq_sext16(uint32_t h)
{
    return (int32_t)(h & 0xFFFFu) - (int32_t)((h & 0x8000u) << 1);
}

static inline int32_t nnq_pack16(int32_t lo, int32_t hi)
{
    return nnq_u2s(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

static inline int32_t nnq_sxtb16(int32_t x)
{
    return nnq_pack16(nnq_sext8((uint32_t)x), nnq_sext8((uint32_t)x >> 16));
}

static inline int32_t nnq_sxtb16_r8(int32_t x)
{
    return nnq_pack16(nnq_sext8((uint32_t)x >> 8), nnq_sext8((uint32_t)x >> 24));
}

static inline int32_t nnq_smlad(int32_t a, int32_t b, int32_t acc)
{
    const uint32_t p0 = (uint32_t)(nnq_sext16((uint32_t)a) * nnq_sext16((uint32_t)b));
    const uint32_t p1 = (uint32_t)(nnq_sext16((uint32_t)a >> 16) * nnq_sext16((uint32_t)b >> 16));
    return nnq_u2s((uint32_t)acc + p0 + p1);
}

static inline int32_t nnq_max_q7x4(int32_t a, int32_t b)
{
    uint32_t r = 0u;
    uint32_t i;
    for (i = 0; i < 32u; i += 8u)
    {
        const int32_t x = nnq_sext8((uint32_t)a >> i), y = nnq_sext8((uint32_t)b >> i);
        r |= ((uint32_t)(x >= y ? x : y) & 0xFFu) << i;
    }
    return nnq_u2s(r);
}

static inline int32_t nnq_max_q15x2(int32_t a, int32_t b)
{
    const int32_t a0 = nnq_sext16((uint32_t)a), b0 = nnq_sext16((uint32_t)b);
    const int32_t a1 = nnq_sext16((uint32_t)a >> 16), b1 = nnq_sext16((uint32_t)b >> 16);
    return nnq_pack16(a0 >= b0 ? a0 : b0, a1 >= b1 ? a1 : b1);
}

static inline int32_t nnq_sxtab16(int32_t acc, int32_t x)
{
    return nnq_pack16(nnq_sext16((uint32_t)acc) + nnq_sext8((uint32_t)x),
                      nnq_sext16((uint32_t)acc >> 16) + nnq_sext8((uint32_t)x >> 16));
}

static inline int32_t nnq_sxtab16_r8(int32_t acc, int32_t x)
{
    return nnq_pack16(nnq_sext16((uint32_t)acc) + nnq_sext8((uint32_t)x >> 8),
                      nnq_sext16((uint32_t)acc >> 16) + nnq_sext8((uint32_t)x >> 24));
}

static inline int32_t nnq_smlabt(int32_t a, int32_t b, int32_t acc)
{
    return nnq_u2s((uint32_t)acc + (uint32_t)(nnq_sext16((uint32_t)a) * nnq_sext16((uint32_t)b >> 16)));
}

static inline int32_t nnq_smlatb(int32_t a, int32_t b, int32_t acc)
{
    return nnq_u2s((uint32_t)acc + (uint32_t)(nnq_sext16((uint32_t)a >> 16) * nnq_sext16((uint32_t)b)));
}

static inline int32_t nnq_qadd16(int32_t a, int32_t b)
{
    return nnq_pack16(nnq_clamp(nnq_sext16((uint32_t)a) + nnq_sext16((uint32_t)b), -32768, 32767),
                      nnq_clamp(nnq_sext16((uint32_t)a >> 16) + nnq_sext16((uint32_t)b >> 16), -32768, 32767));
}

static inline int32_t nnq_qsub16(int32_t a, int32_t b)
{
    return nnq_pack16(nnq_clamp(nnq_sext16((uint32_t)a) - nnq_sext16((uint32_t)b), -32768, 32767),
                      nnq_clamp(nnq_sext16((uint32_t)a >> 16) - nnq_sext16((uint32_t)b >> 16), -32768, 32767));
}

#define nnq_ssat8(v) nnq_clamp((v), -128, 127)
#define nnq_usat7(v) nnq_clamp((v), 0, 127)
#define nnq_ssat16(v) nnq_clamp((v), -32768, 32767)
#define nnq_usat15(v) nnq_clamp((v), 0, 32767)

#endif /* NNQ_SIMD_ARM */

/* The low halfword of a word, sign-extended, and the high one. */
static inline int32_t nnq_lo16(int32_t x)
{
    return (int32_t)(int16_t)(uint16_t)((uint32_t)x & 0xFFFFu);
}

static inline int32_t nnq_hi16(int32_t x)
{
    return (int32_t)(int16_t)(uint16_t)((uint32_t)x >> 16);
}

/* Halfword pairs (lo(a), lo(b)) and (hi(a), hi(b)): PKHBT and PKHTB.
 * GCC (12) spells the C expressions as UXTH + ORR and AND + ORR (measured:
 * the depthwise plane copy runs about 40% more instructions), hence the
 * one-instruction assembly on Arm with a GNU-compatible compiler. */
static inline int32_t nnq_pk_lo(int32_t a, int32_t b)
{
#if NNQ_SIMD_ARM && defined(__GNUC__)
    int32_t r;
    __asm("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((uint32_t)a & 0xFFFFu) | ((uint32_t)b << 16));
#endif
}

static inline int32_t nnq_pk_hi(int32_t a, int32_t b)
{
#if NNQ_SIMD_ARM && defined(__GNUC__)
    int32_t r;
    __asm("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
    return r;
#else
    return (int32_t)(((uint32_t)a >> 16) | ((uint32_t)b & 0xFFFF0000u));
#endif
}

#endif /* NNQ_SIMD */

/* Requantise an accumulator and saturate to q7 / q15, clamping at 0 for a
 * fused ReLU. The SIMD path's right shift is the compiler's arithmetic shift
 * (every Arm compiler shifts signed values arithmetically). */
#if NNQ_SIMD_ARM
#define nnq_out_q7(acc, s, relu) ((q7_t)((relu) ? nnq_usat7((acc) >> (s)) : nnq_ssat8((acc) >> (s))))
#define nnq_out_q15(acc, s, relu) ((q15_t)((relu) ? nnq_usat15((acc) >> (s)) : nnq_ssat16((acc) >> (s))))
#else
#define nnq_out_q7(acc, s, relu) \
    ((q7_t)nnq_clamp(nnq_asr((int32_t)(acc), (s)), (relu) ? 0 : -128, 127))
#define nnq_out_q15(acc, s, relu) \
    ((q15_t)nnq_clamp(nnq_asr((int32_t)(acc), (s)), (relu) ? 0 : -32768, 32767))
#endif

#endif /* NNQ_INTERNAL_H */

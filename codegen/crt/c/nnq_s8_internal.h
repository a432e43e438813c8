/*
 * nnq_s8_internal.h - private helpers of nnq's s8/s16 runtime (nnq_s8_*.c).
 * Part of nnq; contains no CMSIS code.
 *
 * All arithmetic is exact C99 without undefined behaviour: left shifts and
 * wrapping sums go through uint32_t; right shifts of negative values are
 * arithmetic (as on every compiler nnq supports).
 */
#ifndef NNQ_S8_INTERNAL_H
#define NNQ_S8_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nnq_cmsis_s8.h"

/*
 * The requantisation helpers up to nnq_requantize also serve nnq's own
 * kernels (nnq_s8_nnq.c), which are built next to the real library too.
 */
#define NNQ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define NNQ_MAX(a, b) ((a) > (b) ? (a) : (b))
#define NNQ_CLAMP(v, lo, hi) NNQ_MIN(NNQ_MAX((v), (lo)), (hi))

/* x * 2^s for 0 <= s <= 31, wrapping like an int32 multiply. */
static inline int32_t nnq_shl(int32_t x, int32_t s)
{
    return (int32_t)((uint32_t)x << s);
}

/* gemmlowp RoundingDivideByPOT: x / 2^e rounded half away from zero, 0 <= e <= 31. */
static inline int32_t nnq_div_pot(int32_t x, int32_t e)
{
    const int32_t mask = (int32_t)((1u << e) - 1u);
    const int32_t rem = x & mask;
    const int32_t q = x >> e;
    const int32_t thr = (mask >> 1) + (q < 0 ? 1 : 0);
    return q + (rem > thr ? 1 : 0);
}

/*
 * Requantisation constants of one channel: shift in [-31, 30] split into a
 * left and a right shift.
 */
typedef struct
{
    int32_t mult, left, right;
} nnq_rq;

static inline nnq_rq nnq_rq_of(int32_t mult, int32_t shift)
{
    nnq_rq q;
    q.mult = mult;
    q.left = shift > 0 ? shift : 0;
    q.right = shift > 0 ? 0 : -shift;
    return q;
}

/* Doubling high multiply: (x * m + 2^30) >> 31, exact (one SMLAL on Arm). */
static inline int32_t nnq_dhm(int32_t x, int32_t m)
{
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
    uint32_t lo = 0x40000000u;
    int32_t hi = 0;
    __asm("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(x), "r"(m));
    return (int32_t)((lo >> 31) | ((uint32_t)hi << 1));
#else
    return (int32_t)(((int64_t)x * m + ((int64_t)1 << 30)) >> 31);
#endif
}

/*
 * h / 2^right rounded half away from zero (gemmlowp RoundingDivideByPOT),
 * computed as (h + 2^(right-1) - (h < 0)) >> right in 32 bits: unsigned for
 * h >= 0 (the sum may pass 2^31 there), signed for h < 0 (where it cannot
 * overflow). rnd = 2^(right-1) and nm = 1, or both 0 for right == 0. Same
 * result as nnq_div_pot(h, right) for every h.
 */
static inline int32_t nnq_round_shift(int32_t h, int32_t right, uint32_t rnd, uint32_t nm)
{
    const uint32_t s = (uint32_t)h + rnd + ((uint32_t)(h >> 31) & (0u - nm));
    return h >= 0 ? (int32_t)(s >> right) : (int32_t)s >> right;
}

/*
 * The library's arm_nn_requantize. Default build: TFLite double rounding
 * (the rounded doubling high multiply, then a rounding right shift). With
 * CMSIS_NN_USE_SINGLE_ROUNDING defined (as for the library): the exact
 * 64-bit product val * mult is shifted right by 30 - shift (floor),
 * truncated to 32 bits, then (t + 1) >> 1 wrapping in 32 bits: one
 * rounding, ties toward +infinity.
 */
static inline int32_t nnq_rq_apply(int32_t val, nnq_rq q)
{
#ifdef CMSIS_NN_USE_SINGLE_ROUNDING
    const int64_t p = (int64_t)val * q.mult;
    const int32_t t = (int32_t)(uint32_t)(uint64_t)(p >> (30 - q.left + q.right));
    return (int32_t)((uint32_t)t + 1u) >> 1;
#else
    const int32_t h = nnq_dhm(nnq_shl(val, q.left), q.mult);
    return q.right == 0 ? h : nnq_round_shift(h, q.right, 1u << (q.right - 1), 1u);
#endif
}

static inline int32_t nnq_requantize(int32_t val, int32_t mult, int32_t shift)
{
    return nnq_rq_apply(val, nnq_rq_of(mult, shift));
}

/* The rest is needed only when nnq's runtime replaces the library. */
#if !defined(NNQ_USE_CMSIS_NN) && !defined(NNQ_USE_CMSIS)

#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
#include <arm_acle.h>
#endif

#if (defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)) || defined(NNQ_S8_DSP_EMULATE)
#define NNQ_S8_DSP 1
#else
#define NNQ_S8_DSP 0
#endif

#ifndef NNQ_S8_STACK_BYTES
#define NNQ_S8_STACK_BYTES 1024
#endif

/* Keeps a hot loop in its own function (own register allocation). */
#if defined(__GNUC__)
#define NNQ_NOINLINE __attribute__((noinline))
#else
#define NNQ_NOINLINE
#endif

/* Saturation to [-128, 127] (one SSAT on Arm). */
static inline int32_t nnq_ssat8(int32_t y)
{
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
    return __ssat(y, 8);
#else
    return NNQ_CLAMP(y, -128, 127);
#endif
}

#ifdef CMSIS_NN_USE_SINGLE_ROUNDING
/*
 * Single rounding for shift <= -2 (right = -shift >= 2): (val * mult) >>
 * (30 + right) is ((val * mult) >> 32) >> (right - 2), which fits in
 * int32 (|val * mult| <= 2^62), so no truncation happens (one SMULL on
 * Arm). Same result as nnq_rq_apply.
 */
static inline int32_t nnq_rq_single_r2(int32_t val, int32_t mult, int32_t right)
{
    const int32_t h = (int32_t)(((int64_t)val * mult) >> 32);
    return ((h >> (right - 2)) + 1) >> 1;
}
#endif

/* Requantised s8 output: + offset, clamp. */
static inline int8_t nnq_out8(int32_t acc, nnq_rq q, int32_t off, int32_t lo, int32_t hi)
{
    const int32_t y = nnq_rq_apply(acc, q) + off;
    return (int8_t)NNQ_CLAMP(y, lo, hi);
}

/*
 * (2x * m + 2^31) >> 32, which is the doubling high multiply (x * m + 2^30)
 * >> 31 when 2x fits in int32 (one SMMULR on Arm).
 */
static inline int32_t nnq_dhm2(int32_t x2, int32_t m)
{
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
    int32_t h;
    __asm("smmulr %0, %1, %2" : "=r"(h) : "r"(x2), "r"(m));
    return h;
#else
    return (int32_t)(((int64_t)x2 * m + ((int64_t)1 << 31)) >> 32);
#endif
}

/*
 * Requantises nrow (1 or 2) rows of nch accumulators (bias included):
 * channel c of row r is acc[r * acc_stride + c], the s8 result (+ off,
 * clamped to [lo, hi]) goes to out[r * out_stride + c]. bound >= |acc| for
 * every value (INT32_MAX if unknown): channels without a left shift take a
 * short exact path when bound < 2^30 (SMMULR, and a rounding shift that
 * cannot overflow). Defined in nnq_s8_conv.c.
 */
void nnq_rq_rows_s8(const int32_t *acc, int32_t nrow, int32_t acc_stride, int32_t nch, const int32_t *mult,
                    const int32_t *shift, int32_t off, int32_t lo, int32_t hi, int8_t *out, int32_t out_stride,
                    int32_t bound);

/* An upper bound of |acc + bias| for k products of (x + offset) * w, |x +
 * offset| <= 255 and |w| <= 128, and the largest |bias|; INT32_MAX if it
 * does not fit. */
static inline int32_t nnq_acc_bound(int32_t k, const int32_t *bias, int32_t n)
{
    int64_t bmax = 0, bnd;
    int32_t i;
    for (i = 0; bias != NULL && i < n; i++)
    {
        const int64_t v = bias[i] < 0 ? -(int64_t)bias[i] : bias[i];
        bmax = v > bmax ? v : bmax;
    }
    bnd = bmax + (int64_t)k * 255 * 128;
    return bnd < INT32_MAX ? (int32_t)bnd : INT32_MAX;
}

/* REDUCE_MULTIPLIER: the 16-bit multiplier of the s16 layers. */
static inline int32_t nnq_reduce_mult(int32_t mult)
{
    return mult < 0x7FFF0000 ? (mult + (1 << 15)) >> 16 : 0x7FFF;
}

/* arm_nn_requantize_s64(val, reduced_mult, shift), shift <= 14: the doubled
 * intermediate is truncated to 32 bits exactly as in the library. */
static inline int32_t nnq_requantize_s64(int64_t val, int32_t reduced_mult, int32_t shift)
{
    const int32_t t = (int32_t)(uint32_t)(uint64_t)((val * reduced_mult) >> (14 - shift));
    return (int32_t)(((int64_t)t + 1) >> 1);
}

/* Unaligned 32-bit little-endian loads/stores (one LDR/STR on Cortex-M3+). */
static inline uint32_t nnq_ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void nnq_st32(void *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Geometry of a convolution, depthwise convolution or pool. */
typedef struct
{
    int32_t batches, in_h, in_w, in_c;
    int32_t k_h, k_w, k_c;
    int32_t out_h, out_w, out_c;
    int32_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
} nnq_geom;

static inline nnq_geom nnq_geom_make(const cmsis_nn_dims *in, const cmsis_nn_dims *f, const cmsis_nn_dims *out,
                                     const cmsis_nn_tile *stride, const cmsis_nn_tile *pad, const cmsis_nn_tile *dil)
{
    nnq_geom g;
    g.batches = in->n;
    g.in_h = in->h;
    g.in_w = in->w;
    g.in_c = in->c;
    g.k_h = f->h;
    g.k_w = f->w;
    g.k_c = f->c;
    g.out_h = out->h;
    g.out_w = out->w;
    g.out_c = out->c;
    g.stride_h = stride->h;
    g.stride_w = stride->w;
    g.pad_h = pad->h;
    g.pad_w = pad->w;
    g.dil_h = dil != NULL ? dil->h : 1;
    g.dil_w = dil != NULL ? dil->w : 1;
    return g;
}

/* Round up to a multiple of 4. */
static inline int32_t nnq_ceil4(int32_t n)
{
    return (n + 3) & ~3;
}

#if NNQ_S8_DSP
/*
 * SIMD helpers on packed halfwords/bytes. On Arm they are single
 * instructions (ACLE intrinsics or inline assembly for the rotated forms);
 * NNQ_S8_DSP_EMULATE gives portable C with the same results so the DSP
 * kernels can be tested on any host (also under sanitizers).
 */
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
#define nnq_smlad(a, b, acc) __smlad((a), (b), (acc))
#define nnq_smlabb(a, b, acc) __smlabb((a), (b), (acc))
#define nnq_smlatt(a, b, acc) __smlatt((a), (b), (acc))
#define nnq_smlabt(a, b, acc) __smlabt((a), (b), (acc))
#define nnq_smlatb(a, b, acc) __smlatb((a), (b), (acc))
#define nnq_sxtb16(x) ((int32_t)__sxtb16(x))
#define nnq_sxtab16(a, x) ((int32_t)__sxtab16((a), (x)))
#define nnq_sadd16(a, b) ((int32_t)__sadd16((a), (b)))
/* SXTB16 / SXTAB16 of x rotated right by 8 bits: the odd bytes. */
static inline int32_t nnq_sxtb16_ror8(uint32_t x)
{
    int32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
static inline int32_t nnq_sxtab16_ror8(uint32_t a, uint32_t x)
{
    int32_t r;
    __asm("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}
#else /* NNQ_S8_DSP_EMULATE */
static inline int32_t nnq_lo16(uint32_t x)
{
    return (int16_t)(x & 0xFFFFu);
}
static inline int32_t nnq_hi16(uint32_t x)
{
    return (int16_t)(x >> 16);
}
static inline uint32_t nnq_pack16(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}
static inline int32_t nnq_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(nnq_lo16(a) * nnq_lo16(b)) + (uint32_t)(nnq_hi16(a) * nnq_hi16(b)));
}
static inline int32_t nnq_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(nnq_lo16(a) * nnq_lo16(b)));
}
static inline int32_t nnq_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(nnq_hi16(a) * nnq_hi16(b)));
}
static inline int32_t nnq_smlabt(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(nnq_lo16(a) * nnq_hi16(b)));
}
static inline int32_t nnq_smlatb(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(nnq_hi16(a) * nnq_lo16(b)));
}
static inline int32_t nnq_sxtb16(uint32_t x)
{
    return (int32_t)nnq_pack16((int8_t)(x & 0xFFu), (int8_t)((x >> 16) & 0xFFu));
}
static inline int32_t nnq_sxtab16(uint32_t a, uint32_t x)
{
    return (int32_t)nnq_pack16(nnq_lo16(a) + (int8_t)(x & 0xFFu), nnq_hi16(a) + (int8_t)((x >> 16) & 0xFFu));
}
static inline int32_t nnq_sadd16(uint32_t a, uint32_t b)
{
    return (int32_t)nnq_pack16(nnq_lo16(a) + nnq_lo16(b), nnq_hi16(a) + nnq_hi16(b));
}
static inline int32_t nnq_sxtb16_ror8(uint32_t x)
{
    return nnq_sxtb16(x >> 8);
}
static inline int32_t nnq_sxtab16_ror8(uint32_t a, uint32_t x)
{
    return nnq_sxtab16(a, x >> 8);
}
#endif

/* Both halfwords = v (PKHBT v, v, LSL #16). */
static inline uint32_t nnq_dup16(int32_t v)
{
    return ((uint32_t)v & 0xFFFFu) | ((uint32_t)v << 16);
}

/*
 * Extends 4 int8 values x0..x3 (one word) to int16, adding off to each, in
 * the "reordered" pair layout the kernels use everywhere: lo = (x0, x2),
 * hi = (x1, x3). SXTB16 of a weight word and of the weight word rotated by
 * 8 gives the same pairing, so SMLAD multiplies matching elements.
 */
static inline void nnq_ext4(uint32_t x, uint32_t off2, int32_t *lo, int32_t *hi)
{
    *lo = nnq_sxtab16(off2, x);
    *hi = nnq_sxtab16_ror8(off2, x);
}
#endif /* NNQ_S8_DSP */

/* Position of element k of a column in the reordered layout of nnq_ext4. */
static inline int32_t nnq_reorder_idx(int32_t k)
{
    static const int8_t perm[4] = {0, 2, 1, 3};
    return (k & ~3) | perm[k & 3];
}

#endif /* !NNQ_USE_CMSIS_NN */

#endif /* NNQ_S8_INTERNAL_H */

/*
 * nnq_internal.h - private helpers of the nnq host reference runtime.
 *
 * Fixed-point primitives with fully defined C99 behaviour: all wrapping
 * arithmetic is done in uint32_t, conversions back to int32_t and arithmetic
 * right shifts are spelled out so that no implementation-defined or undefined
 * behaviour is involved.
 */
#ifndef NNQ_INTERNAL_H
#define NNQ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nnq_cmsis.h"

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
    return (v >= 0) ? (v >> s) : ~((~v) >> s);
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

#endif /* NNQ_INTERNAL_H */

/*
 * nnq_s8_softmax.c - softmax and element-wise kernels of nnq's CMSIS-NN s8
 * runtime. Part of nnq (github.com/nnq-toolkit/nnq); contains no CMSIS code.
 *
 * arm_softmax_s8 is TFLite's int8 softmax in gemmlowp fixed point;
 * arm_softmax_s16 TFLite's int16 softmax with two interpolated LUTs, with
 * the library's two deviations: the sum's reciprocal index is converted to
 * int16 without saturation and the result is not clamped (a lone maximum
 * gives 32768, stored as -32768).
 */
#include "nnq_s8_internal.h"

#if !defined(NNQ_USE_CMSIS_NN) && !defined(NNQ_USE_CMSIS)

/* gemmlowp SaturatingRoundingDoublingHighMul. */
static int32_t nnq_srdhm(int32_t a, int32_t b)
{
    int64_t p;
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    p = (int64_t)a * b;
    p += p >= 0 ? ((int64_t)1 << 30) : 1 - ((int64_t)1 << 30);
    return (int32_t)(p / ((int64_t)1 << 31)); /* truncates toward zero */
}

/* gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent. */
static int32_t nnq_sat_shl(int32_t x, int32_t e)
{
    if (x > (INT32_MAX >> e))
        return INT32_MAX;
    if (x < (INT32_MIN >> e))
        return INT32_MIN;
    return nnq_shl(x, e);
}

/* exp(a) for a <= 0 in Q5.26, result in Q0.31 (gemmlowp exp_on_negative_values). */
static int32_t nnq_exp_neg(int32_t a)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t quarter = 1 << 24;
    const int32_t r = (int32_t)((uint32_t)(a & (quarter - 1)) - (uint32_t)quarter);
    const int32_t x = (int32_t)((uint32_t)nnq_shl(r, 5) + (1u << 28));
    const int32_t x2 = nnq_srdhm(x, x), x3 = nnq_srdhm(x2, x), x4 = nnq_srdhm(x2, x2);
    const int32_t poly = nnq_div_pot(
        (int32_t)((uint32_t)nnq_srdhm((int32_t)((uint32_t)nnq_div_pot(x4, 2) + (uint32_t)x3), 715827883) + (uint32_t)x2),
        1);
    const int32_t rem = (int32_t)((uint32_t)r - (uint32_t)a);
    int32_t result = (int32_t)(1895147668u + (uint32_t)nnq_srdhm(1895147668, (int32_t)((uint32_t)x + (uint32_t)poly)));
    int32_t i;
    for (i = 0; i < 7; i++)
        if (rem & (1 << (24 + i)))
            result = nnq_srdhm(result, barrel[i]);
    return a == 0 ? INT32_MAX : result;
}

/* 1/(1+a) for a in [0, 1) in Q0.31 (gemmlowp one_over_one_plus_x_for_x_in_0_1). */
static int32_t nnq_one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = (int32_t)(1515870810u + (uint32_t)nnq_srdhm(half_den, -1010580540));
    int32_t i;
    for (i = 0; i < 3; i++)
    {
        const int32_t hdx = nnq_srdhm(half_den, x);
        x = (int32_t)((uint32_t)x +
                      (uint32_t)nnq_sat_shl(nnq_srdhm(x, (int32_t)((uint32_t)(1 << 29) - (uint32_t)hdx)), 2));
    }
    return nnq_sat_shl(x, 1);
}

static int32_t nnq_clz32(uint32_t x)
{
    int32_t n = 0;
    if (x == 0)
        return 32;
    while (!(x & 0x80000000u))
    {
        x <<= 1;
        n++;
    }
    return n;
}

void arm_softmax_s8(const int8_t *input, const int32_t num_rows, const int32_t row_size, const int32_t mult,
                    const int32_t shift, const int32_t diff_min, int8_t *output)
{
    int32_t r, i;
    for (r = 0; r < num_rows; r++, input += row_size, output += row_size)
    {
        int32_t m = input[0], hr, scale, bits;
        uint32_t sum = 0;
        for (i = 1; i < row_size; i++)
            m = NNQ_MAX(m, (int32_t)input[i]);
        for (i = 0; i < row_size; i++)
        {
            const int32_t d = input[i] - m;
            if (d >= diff_min)
                sum += (uint32_t)nnq_div_pot(nnq_exp_neg(nnq_srdhm(nnq_shl(d, shift), mult)), 12);
        }
        hr = nnq_clz32(sum);
        scale = nnq_one_over_one_plus_x((int32_t)((sum << hr) - 0x80000000u));
        /* 35 - clz(sum) exceeds 31 only for rows of 512 or more elements near
         * the maximum, where the library's shift is undefined; kept finite. */
        bits = NNQ_MIN(12 - hr + 23, 31);
        for (i = 0; i < row_size; i++)
        {
            const int32_t d = input[i] - m;
            int32_t y = -128;
            if (d >= diff_min)
            {
                y = nnq_div_pot(nnq_srdhm(scale, nnq_exp_neg(nnq_srdhm(nnq_shl(d, shift), mult))), bits) - 128;
                y = NNQ_CLAMP(y, -128, 127);
            }
            output[i] = (int8_t)y;
        }
    }
}

/* Interpolated LUT look-up of arm_softmax_s16 (int16 arithmetic). */
static int32_t nnq_lut16(const int16_t *t, int32_t v)
{
    const int32_t i = 256 + (v >> 7), f = v & 0x7F;
    return (int16_t)(t[i] + (((t[i + 1] - t[i]) * f + 64) >> 7));
}

static int32_t nnq_exp16(const int16_t *lut, int32_t d, int32_t mult, int32_t shift)
{
    const int32_t s = nnq_requantize(d, mult, shift) + 32767;
    return nnq_lut16(lut, NNQ_CLAMP(s, -32768, 32767));
}

arm_cmsis_nn_status arm_softmax_s16(const int16_t *input, const int32_t num_rows, const int32_t row_size,
                                    const int32_t mult, const int32_t shift,
                                    const cmsis_nn_softmax_lut_s16 *softmax_params, int16_t *output)
{
    const int16_t *exp_lut, *rec_lut;
    int32_t r, i;
    if (softmax_params->exp_lut == NULL || softmax_params->one_by_one_lut == NULL)
        return ARM_CMSIS_NN_ARG_ERROR;
    exp_lut = softmax_params->exp_lut;
    rec_lut = softmax_params->one_by_one_lut;
    for (r = 0; r < num_rows; r++, input += row_size, output += row_size)
    {
        int32_t m = input[0], hr, rec;
        uint32_t sum = 0;
        for (i = 1; i < row_size; i++)
            m = NNQ_MAX(m, (int32_t)input[i]);
        for (i = 0; i < row_size; i++)
            sum += (uint32_t)nnq_exp16(exp_lut, input[i] - m, mult, shift);
        hr = nnq_clz32(sum);
        {
            const int32_t ss = (int32_t)(((sum << (hr - 1)) + (1u << 13)) >> 14);
            rec = nnq_lut16(rec_lut, (int16_t)(uint16_t)(uint32_t)(ss - 98304));
        }
        for (i = 0; i < row_size; i++)
        {
            const int32_t e = nnq_exp16(exp_lut, input[i] - m, mult, shift);
            output[i] = (int16_t)(uint16_t)(uint32_t)((((e * rec) >> (30 - hr)) + 1) >> 1);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

/* ---- element-wise -------------------------------------------------------- */

arm_cmsis_nn_status arm_elementwise_add_s8(const int8_t *input_1_vect, const int8_t *input_2_vect,
                                           const int32_t input_1_offset, const int32_t input_1_mult,
                                           const int32_t input_1_shift, const int32_t input_2_offset,
                                           const int32_t input_2_mult, const int32_t input_2_shift,
                                           const int32_t left_shift, int8_t *output, const int32_t out_offset,
                                           const int32_t out_mult, const int32_t out_shift,
                                           const int32_t out_activation_min, const int32_t out_activation_max,
                                           const int32_t block_size)
{
    int32_t i;
    for (i = 0; i < block_size; i++)
    {
        const int32_t a = nnq_requantize(nnq_shl(input_1_vect[i] + input_1_offset, left_shift), input_1_mult,
                                         input_1_shift);
        const int32_t b = nnq_requantize(nnq_shl(input_2_vect[i] + input_2_offset, left_shift), input_2_mult,
                                         input_2_shift);
        const int32_t y =
            nnq_requantize((int32_t)((uint32_t)a + (uint32_t)b), out_mult, out_shift) + out_offset;
        output[i] = (int8_t)NNQ_CLAMP(y, out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_elementwise_mul_s8(const int8_t *input_1_vect, const int8_t *input_2_vect,
                                           const int32_t input_1_offset, const int32_t input_2_offset,
                                           int8_t *output, const int32_t out_offset, const int32_t out_mult,
                                           const int32_t out_shift, const int32_t out_activation_min,
                                           const int32_t out_activation_max, const int32_t block_size)
{
    int32_t i;
    for (i = 0; i < block_size; i++)
    {
        const int32_t prod = (input_1_vect[i] + input_1_offset) * (input_2_vect[i] + input_2_offset);
        const int32_t y = nnq_requantize(prod, out_mult, out_shift) + out_offset;
        output[i] = (int8_t)NNQ_CLAMP(y, out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

#else
typedef int nnq_s8_softmax_unused;
#endif /* !NNQ_USE_CMSIS_NN */

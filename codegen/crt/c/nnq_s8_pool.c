/*
 * nnq_s8_pool.c - s8/s16 average and max pooling of nnq's CMSIS-NN s8 runtime.
 * Part of nnq (github.com/nnq-toolkit/nnq); contains no CMSIS code.
 *
 * Windows count only in-bounds positions. Average: sum (int32) and count n,
 * (sum > 0 ? sum + n/2 : sum - n/2) / n with C division (round half away
 * from zero), clamp. Max: maximum, clamp. An empty window returns
 * ARM_CMSIS_NN_ARG_ERROR for average pooling (as the library).
 *
 * DSP path (s8): 8 or 4 channels per step, SXTAB16 sums into 16-bit lanes
 * (flushed to int32 every 256 taps), SSUB8/SEL for the byte-wise maximum.
 */
#include "nnq_s8_internal.h"

#if !defined(NNQ_USE_CMSIS_NN) && !defined(NNQ_USE_CMSIS)

/* In-bounds window of output (oy, ox): rows [*y0, *y1), columns [*x0, *x1). */
static void nnq_window(const nnq_geom *g, int32_t oy, int32_t ox, int32_t *y0, int32_t *y1, int32_t *x0, int32_t *x1)
{
    const int32_t iy = oy * g->stride_h - g->pad_h, ix = ox * g->stride_w - g->pad_w;
    *y0 = NNQ_MAX(0, iy);
    *y1 = NNQ_MIN(g->in_h, iy + g->k_h);
    *x0 = NNQ_MAX(0, ix);
    *x1 = NNQ_MIN(g->in_w, ix + g->k_w);
}

static inline int32_t nnq_avg(int32_t sum, int32_t n)
{
    return sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
}

#if NNQ_S8_DSP
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
static inline uint32_t nnq_max4(uint32_t a, uint32_t b)
{
    (void)__ssub8(a, b);
    return __sel(a, b);
}
#else
static inline uint32_t nnq_max4(uint32_t a, uint32_t b)
{
    uint32_t r = 0;
    int32_t i;
    for (i = 0; i < 32; i += 8)
    {
        const int8_t x = (int8_t)(a >> i), y = (int8_t)(b >> i);
        r |= (uint32_t)(uint8_t)(x > y ? x : y) << i;
    }
    return r;
}
#endif
#define NNQ_MIN4(a, b) (~nnq_max4(~(a), ~(b))) /* ~x = -1 - x reverses signed byte order */

/* Sums of channels c..c+nc-1 (nc = 4 or 8) over the window into sum[]. */
static void nnq_avg_sum_dsp(const nnq_geom *g, const int8_t *in, int32_t c, int32_t nc, int32_t y0, int32_t y1,
                            int32_t x0, int32_t x1, int32_t *sum)
{
    int32_t acc[4] = {0, 0, 0, 0}; /* 16-bit lane sums: (c0,c2) (c1,c3) (c4,c6) (c5,c7) */
    int32_t taps = 0, y, x, i;
    for (i = 0; i < nc; i++)
        sum[i] = 0;
    for (y = y0; y < y1; y++)
    {
        const int8_t *p = in + ((size_t)y * g->in_w + x0) * g->in_c + c;
        for (x = x0; x < x1; x++, p += g->in_c)
        {
            const uint32_t v = nnq_ld32(p);
            acc[0] = nnq_sxtab16((uint32_t)acc[0], v);
            acc[1] = nnq_sxtab16_ror8((uint32_t)acc[1], v);
            if (nc == 8)
            {
                const uint32_t u = nnq_ld32(p + 4);
                acc[2] = nnq_sxtab16((uint32_t)acc[2], u);
                acc[3] = nnq_sxtab16_ror8((uint32_t)acc[3], u);
            }
            if (++taps == 256 || (y == y1 - 1 && x == x1 - 1))
            {
                /* Flush: lane j of acc[a] holds channel 4*(a/2) + (a%2) + 2*j. */
                for (i = 0; i < nc / 2; i++)
                {
                    const int32_t base = 4 * (i / 2) + (i % 2);
                    sum[base] += (int16_t)((uint32_t)acc[i] & 0xFFFFu);
                    sum[base + 2] += (int16_t)((uint32_t)acc[i] >> 16);
                    acc[i] = 0;
                }
                taps = 0;
            }
        }
    }
}
#endif /* NNQ_S8_DSP */

/* C-path average of one channel (any element type). */
#define NNQ_DEFINE_AVG_C(NAME, T)                                                                                  \
    static int32_t NAME(const nnq_geom *g, const T *in, int32_t c, int32_t y0, int32_t y1, int32_t x0, int32_t x1) \
    {                                                                                                              \
        int32_t sum = 0, y, x;                                                                                     \
        for (y = y0; y < y1; y++)                                                                                  \
            for (x = x0; x < x1; x++)                                                                              \
                sum += in[((size_t)y * g->in_w + x) * g->in_c + c];                                                \
        return sum;                                                                                                \
    }
NNQ_DEFINE_AVG_C(nnq_sum_s8, int8_t)
NNQ_DEFINE_AVG_C(nnq_sum_s16, int16_t)

#define NNQ_DEFINE_MAX_C(NAME, T)                                                                                  \
    static int32_t NAME(const nnq_geom *g, const T *in, int32_t c, int32_t y0, int32_t y1, int32_t x0, int32_t x1) \
    {                                                                                                              \
        int32_t m = in[((size_t)y0 * g->in_w + x0) * g->in_c + c], y, x;                                          \
        for (y = y0; y < y1; y++)                                                                                  \
            for (x = x0; x < x1; x++)                                                                              \
                m = NNQ_MAX(m, (int32_t)in[((size_t)y * g->in_w + x) * g->in_c + c]);                              \
        return m;                                                                                                  \
    }
NNQ_DEFINE_MAX_C(nnq_max_s8, int8_t)
NNQ_DEFINE_MAX_C(nnq_max_s16, int16_t)

/* Every window non-empty? (first and last outputs along each axis suffice). */
static int nnq_windows_ok(const nnq_geom *g)
{
    int32_t y0, y1, x0, x1;
    nnq_window(g, 0, 0, &y0, &y1, &x0, &x1);
    if (y1 <= y0 || x1 <= x0)
        return 0;
    nnq_window(g, g->out_h - 1, g->out_w - 1, &y0, &y1, &x0, &x1);
    return y1 > y0 && x1 > x0;
}

/* Computes the channels of one output pixel from window w = {y0, y1, x0, x1}. */
typedef void (*nnq_pool_px)(const nnq_geom *g, const void *in, void *out, const int32_t *w, int32_t lo, int32_t hi);

static void nnq_avg_px_s8(const nnq_geom *g, const void *in_v, void *out_v, const int32_t *w, int32_t lo, int32_t hi)
{
    const int8_t *in = (const int8_t *)in_v;
    int8_t *out = (int8_t *)out_v;
    const int32_t n = (w[1] - w[0]) * (w[3] - w[2]);
    int32_t c = 0;
#if NNQ_S8_DSP
    int32_t s[8], i;
    while (c + 4 <= g->in_c)
    {
        const int32_t nc = c + 8 <= g->in_c ? 8 : 4;
        nnq_avg_sum_dsp(g, in, c, nc, w[0], w[1], w[2], w[3], s);
        for (i = 0; i < nc; i++, c++)
            out[c] = (int8_t)NNQ_CLAMP(nnq_avg(s[i], n), lo, hi);
    }
#endif
    for (; c < g->in_c; c++)
        out[c] = (int8_t)NNQ_CLAMP(nnq_avg(nnq_sum_s8(g, in, c, w[0], w[1], w[2], w[3]), n), lo, hi);
}

static void nnq_avg_px_s16(const nnq_geom *g, const void *in_v, void *out_v, const int32_t *w, int32_t lo, int32_t hi)
{
    const int16_t *in = (const int16_t *)in_v;
    int16_t *out = (int16_t *)out_v;
    const int32_t n = (w[1] - w[0]) * (w[3] - w[2]);
    int32_t c;
    for (c = 0; c < g->in_c; c++)
        out[c] = (int16_t)NNQ_CLAMP(nnq_avg(nnq_sum_s16(g, in, c, w[0], w[1], w[2], w[3]), n), lo, hi);
}

static void nnq_max_px_s8(const nnq_geom *g, const void *in_v, void *out_v, const int32_t *w, int32_t lo, int32_t hi)
{
    const int8_t *in = (const int8_t *)in_v;
    int8_t *out = (int8_t *)out_v;
    int32_t c = 0;
#if NNQ_S8_DSP
    const uint32_t lo4 = nnq_dup16(lo) & 0x00FF00FFu, hi4 = nnq_dup16(hi) & 0x00FF00FFu;
    const uint32_t lo_w = lo4 | lo4 << 8, hi_w = hi4 | hi4 << 8;
    for (; c + 4 <= g->in_c; c += 4)
    {
        uint32_t m = nnq_ld32(in + ((size_t)w[0] * g->in_w + w[2]) * g->in_c + c);
        int32_t y, x;
        for (y = w[0]; y < w[1]; y++)
        {
            const int8_t *p = in + ((size_t)y * g->in_w + w[2]) * g->in_c + c;
            for (x = w[2]; x < w[3]; x++, p += g->in_c)
                m = nnq_max4(m, nnq_ld32(p));
        }
        m = nnq_max4(m, lo_w);
        nnq_st32(out + c, NNQ_MIN4(m, hi_w));
    }
#endif
    for (; c < g->in_c; c++)
        out[c] = (int8_t)NNQ_CLAMP(nnq_max_s8(g, in, c, w[0], w[1], w[2], w[3]), lo, hi);
}

static void nnq_max_px_s16(const nnq_geom *g, const void *in_v, void *out_v, const int32_t *w, int32_t lo, int32_t hi)
{
    const int16_t *in = (const int16_t *)in_v;
    int16_t *out = (int16_t *)out_v;
    int32_t c;
    for (c = 0; c < g->in_c; c++)
        out[c] = (int16_t)NNQ_CLAMP(nnq_max_s16(g, in, c, w[0], w[1], w[2], w[3]), lo, hi);
}

/* Runs px over every output pixel of every batch (esz = element bytes). */
static arm_cmsis_nn_status nnq_pool(const cmsis_nn_pool_params *p, const cmsis_nn_dims *in_d, const void *in,
                                    const cmsis_nn_dims *f_d, const cmsis_nn_dims *out_d, void *out, size_t esz,
                                    nnq_pool_px px)
{
    const nnq_geom g = nnq_geom_make(in_d, f_d, out_d, &p->stride, &p->padding, NULL);
    const size_t in_step = (size_t)g.in_h * g.in_w * g.in_c * esz, out_step = (size_t)g.in_c * esz;
    const uint8_t *src = (const uint8_t *)in;
    uint8_t *dst = (uint8_t *)out;
    int32_t b, oy, ox;
    if (g.batches < 1 || !nnq_windows_ok(&g))
        return ARM_CMSIS_NN_ARG_ERROR;
    for (b = 0; b < g.batches; b++, src += in_step)
        for (oy = 0; oy < g.out_h; oy++)
            for (ox = 0; ox < g.out_w; ox++, dst += out_step)
            {
                int32_t w[4];
                nnq_window(&g, oy, ox, &w[0], &w[1], &w[2], &w[3]);
                px(&g, src, dst, w, p->activation.min, p->activation.max);
            }
    return ARM_CMSIS_NN_SUCCESS;
}

/* The four pooling entry points: element type T, element bytes, pixel function. */
#define NNQ_DEFINE_POOL(NAME, T, PX)                                                                               \
    arm_cmsis_nn_status NAME(const cmsis_nn_context *ctx, const cmsis_nn_pool_params *pool_params,                 \
                             const cmsis_nn_dims *input_dims, const T *input_data, const cmsis_nn_dims *filter_dims, \
                             const cmsis_nn_dims *output_dims, T *output_data)                                     \
    {                                                                                                              \
        (void)ctx;                                                                                                 \
        return nnq_pool(pool_params, input_dims, input_data, filter_dims, output_dims, output_data, sizeof(T), PX); \
    }
NNQ_DEFINE_POOL(arm_avgpool_s8, int8_t, nnq_avg_px_s8)
NNQ_DEFINE_POOL(arm_avgpool_s16, int16_t, nnq_avg_px_s16)
/* Max pooling with an empty window is refused too (the library's result is undefined). */
NNQ_DEFINE_POOL(arm_max_pool_s8, int8_t, nnq_max_px_s8)
NNQ_DEFINE_POOL(arm_max_pool_s16, int16_t, nnq_max_px_s16)

int32_t arm_avgpool_s8_get_buffer_size(const int dim_dst_width, const int ch_src)
{
    (void)dim_dst_width;
#if NNQ_S8_DSP
    return 4 * ch_src;
#else
    (void)ch_src;
    return 0;
#endif
}

int32_t arm_avgpool_s16_get_buffer_size(const int dim_dst_width, const int ch_src)
{
    return arm_avgpool_s8_get_buffer_size(dim_dst_width, ch_src);
}

#else
typedef int nnq_s8_pool_unused;
#endif /* !NNQ_USE_CMSIS_NN */

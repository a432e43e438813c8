/*
 * driver_s8.c - test driver for nnq's s8/s16 runtime (nnq_s8_*.c) or, with
 * NNQ_USE_CMSIS_NN, for the real CMSIS-NN library (used by the Go tests of
 * package crt; not part of the runtime).
 *
 * Same protocol as driver.c (cases on stdin, or from/to files with
 * -DNNQ_DRIVER_IN / -DNNQ_DRIVER_OUT for semihosted Cortex-M runs):
 *
 *   <function> <nscalars> <scalar>... <narrays> <array>...
 *   array := <bits:8|16|32|64> <mode> <len> [<value> x len if mode == 1]
 *   mode  := 0 NULL, 1 input, 2 output, 3 scratch (ctx.buf, len bytes)
 *
 * Scalars and arrays per function family are listed at call(); the last
 * array of the layer functions is a one-element int32 output that receives
 * the function's *_get_buffer_size result (0 where the API has none).
 * Output and scratch arrays are filled with 0x55 bytes before the call; each
 * array is its own exactly sized heap block. Prints "S <status>" ("S v" for
 * void functions) and "A <len> <value>..." per array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(NNQ_USE_CMSIS_NN)
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#define REQUANTIZE(v, m, s) arm_nn_requantize((v), (m), (s))
#define REQUANTIZE_S64(v, m, s) arm_nn_requantize_s64((v), (m), (s))
#else
#include "nnq_s8_internal.h"
#define REQUANTIZE(v, m, s) nnq_requantize((v), (m), (s))
#define REQUANTIZE_S64(v, m, s) nnq_requantize_s64((v), (m), (s))
#endif

#include "nnq_s8_nnq.h" /* nnq's own kernels (the ties-to-even pools) */

#define MAX_SCALARS 40
#define MAX_ARRAYS 12

/* One array argument: element bits (8/16/32/64), mode, length, storage. */
typedef struct
{
    int bits, mode;
    size_t len;
    void *p;
} s8_arr;

static FILE *g_in; /* case input */

static void die(const char *msg)
{
    fputs("driver_s8: ", stderr);
    fputs(msg, stderr);
    fputc('\n', stderr);
    exit(2);
}

static int next_token(char *tok, size_t cap)
{
    size_t n = 0;
    int ch;
    do
        ch = getc(g_in);
    while (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r');
    if (ch == EOF)
        return 0;
    while (ch != EOF && ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r')
    {
        if (n + 1 >= cap)
            die("token too long");
        tok[n++] = (char)ch;
        ch = getc(g_in);
    }
    tok[n] = '\0';
    return 1;
}

static long long next_ll(void)
{
    char tok[40];
    char *end;
    long long v;
    if (!next_token(tok, sizeof tok))
        die("unexpected end of input");
    v = strtoll(tok, &end, 10);
    if (end == tok || *end != '\0')
        die("expected a number");
    return v;
}

static long long get(const s8_arr *a, size_t i)
{
    switch (a->bits)
    {
    case 8:
        return ((const int8_t *)a->p)[i];
    case 16:
        return ((const int16_t *)a->p)[i];
    case 32:
        return ((const int32_t *)a->p)[i];
    }
    return ((const int64_t *)a->p)[i];
}

static void put(s8_arr *a, size_t i, long long v)
{
    switch (a->bits)
    {
    case 8:
        ((int8_t *)a->p)[i] = (int8_t)v;
        break;
    case 16:
        ((int16_t *)a->p)[i] = (int16_t)v;
        break;
    case 32:
        ((int32_t *)a->p)[i] = (int32_t)v;
        break;
    default:
        ((int64_t *)a->p)[i] = (int64_t)v;
    }
}

/* Prints " <v>" without relying on printf's long long support (newlib-nano). */
static void print_ll(long long v)
{
    char buf[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
    {
        buf[n++] = (char)('0' + (int)(u % 10u));
        u /= 10u;
    } while (u != 0);
    putchar(' ');
    if (v < 0)
        putchar('-');
    while (n > 0)
        putchar(buf[--n]);
}

static cmsis_nn_dims dims_at(const long long *S, int i)
{
    cmsis_nn_dims d;
    d.n = (int32_t)S[i];
    d.h = (int32_t)S[i + 1];
    d.w = (int32_t)S[i + 2];
    d.c = (int32_t)S[i + 3];
    return d;
}

#define IS(name) (strcmp(fn, (name)) == 0)
#define I8(i) ((int8_t *)A[i].p)
#define I16(i) ((int16_t *)A[i].p)
#define I32(i) ((int32_t *)A[i].p)
#define I64(i) ((int64_t *)A[i].p)
#define GBS(i, v) (I32(i)[0] = (int32_t)(v))

/*
 * Convolutions / depthwise: scalars input_offset output_offset stride.w
 * stride.h padding.w padding.h dilation.w dilation.h act.min act.max,
 * input/filter/bias/output dims (n h w c each), then is_int32_bias (s16
 * conv) or ch_mult (depthwise). Arrays: input filter bias mult shift output
 * scratch gbs.
 */
static int call_conv(const char *fn, const long long *S, s8_arr *A, int *status)
{
    cmsis_nn_conv_params cp;
    cmsis_nn_dw_conv_params dp;
    cmsis_nn_per_channel_quant_params q;
    cmsis_nn_context ctx;
    const cmsis_nn_dims in = dims_at(S, 10), f = dims_at(S, 14), b = dims_at(S, 18), out = dims_at(S, 22);
    cp.input_offset = dp.input_offset = (int32_t)S[0];
    cp.output_offset = dp.output_offset = (int32_t)S[1];
    cp.stride.w = dp.stride.w = (int32_t)S[2];
    cp.stride.h = dp.stride.h = (int32_t)S[3];
    cp.padding.w = dp.padding.w = (int32_t)S[4];
    cp.padding.h = dp.padding.h = (int32_t)S[5];
    cp.dilation.w = dp.dilation.w = (int32_t)S[6];
    cp.dilation.h = dp.dilation.h = (int32_t)S[7];
    cp.activation.min = dp.activation.min = (int32_t)S[8];
    cp.activation.max = dp.activation.max = (int32_t)S[9];
    dp.ch_mult = (int32_t)S[26];
    q.multiplier = I32(3);
    q.shift = I32(4);
    ctx.buf = A[6].p;
    ctx.size = (int32_t)A[6].len;
#define CONV_ARGS &ctx, &cp, &q, &in, I8(0), &f, I8(1), &b, I32(2)
#define DW_ARGS &ctx, &dp, &q, &in, I8(0), &f, I8(1), &b, I32(2), &out, I8(5)
#define DW16_ARGS &ctx, &dp, &q, &in, I16(0), &f, I8(1), &b, I64(2), &out, I16(5)
    if (IS("arm_convolve_s8"))
    {
        *status = arm_convolve_s8(CONV_ARGS, NULL, &out, I8(5));
        GBS(7, arm_convolve_s8_get_buffer_size(&in, &f));
    }
    else if (IS("arm_convolve_1x1_s8_fast"))
    {
        *status = arm_convolve_1x1_s8_fast(CONV_ARGS, &out, I8(5));
        GBS(7, arm_convolve_1x1_s8_fast_get_buffer_size(&in));
    }
    else if (IS("arm_convolve_1x1_s8"))
        *status = arm_convolve_1x1_s8(CONV_ARGS, &out, I8(5));
    else if (IS("arm_convolve_1_x_n_s8"))
    {
        *status = arm_convolve_1_x_n_s8(CONV_ARGS, &out, I8(5));
        GBS(7, arm_convolve_1_x_n_s8_get_buffer_size(&cp, &in, &f, &out));
    }
    else if (IS("arm_convolve_wrapper_s8"))
    {
        *status = arm_convolve_wrapper_s8(CONV_ARGS, &out, I8(5));
        GBS(7, arm_convolve_wrapper_s8_get_buffer_size(&cp, &in, &f, &out));
    }
    else if (IS("arm_convolve_s16") || IS("arm_convolve_wrapper_s16"))
    {
        const cmsis_nn_bias_data bias = {A[2].p, S[26] != 0};
        if (IS("arm_convolve_s16"))
        {
            *status = arm_convolve_s16(&ctx, &cp, &q, &in, I16(0), &f, I8(1), &b, &bias, &out, I16(5));
            GBS(7, arm_convolve_s16_get_buffer_size(&in, &f));
        }
        else
        {
            *status = arm_convolve_wrapper_s16(&ctx, &cp, &q, &in, I16(0), &f, I8(1), &b, &bias, &out, I16(5));
            GBS(7, arm_convolve_wrapper_s16_get_buffer_size(&cp, &in, &f, &out));
        }
    }
    else if (IS("arm_depthwise_conv_s8"))
        *status = arm_depthwise_conv_s8(DW_ARGS);
    else if (IS("arm_depthwise_conv_s8_opt"))
    {
        *status = arm_depthwise_conv_s8_opt(DW_ARGS);
        GBS(7, arm_depthwise_conv_s8_opt_get_buffer_size(&in, &f));
    }
    else if (IS("arm_depthwise_conv_3x3_s8"))
        *status = arm_depthwise_conv_3x3_s8(DW_ARGS);
    else if (IS("arm_depthwise_conv_wrapper_s8"))
    {
        *status = arm_depthwise_conv_wrapper_s8(DW_ARGS);
        GBS(7, arm_depthwise_conv_wrapper_s8_get_buffer_size(&dp, &in, &f, &out));
    }
    else if (IS("arm_depthwise_conv_s16"))
        *status = arm_depthwise_conv_s16(DW16_ARGS);
    else if (IS("arm_depthwise_conv_wrapper_s16"))
    {
        *status = arm_depthwise_conv_wrapper_s16(DW16_ARGS);
        GBS(7, arm_depthwise_conv_wrapper_s16_get_buffer_size(&dp, &in, &f, &out));
    }
    else
        return 0;
    return 1;
}

/*
 * Fully connected: scalars input_offset filter_offset output_offset act.min
 * act.max multiplier shift, input/filter/bias/output dims. Arrays: input
 * filter bias output scratch gbs.
 * Pooling: scalars stride.w stride.h padding.w padding.h act.min act.max,
 * input/filter/output dims. Arrays: input output scratch gbs.
 */
static int call_other(const char *fn, const long long *S, s8_arr *A, int *status)
{
    cmsis_nn_context ctx;
    if (IS("arm_fully_connected_s8") || IS("arm_fully_connected_s16"))
    {
        cmsis_nn_fc_params p;
        cmsis_nn_per_tensor_quant_params q;
        const cmsis_nn_dims in = dims_at(S, 7), f = dims_at(S, 11), b = dims_at(S, 15), out = dims_at(S, 19);
        p.input_offset = (int32_t)S[0];
        p.filter_offset = (int32_t)S[1];
        p.output_offset = (int32_t)S[2];
        p.activation.min = (int32_t)S[3];
        p.activation.max = (int32_t)S[4];
        q.multiplier = (int32_t)S[5];
        q.shift = (int32_t)S[6];
        ctx.buf = A[4].p;
        ctx.size = (int32_t)A[4].len;
        if (IS("arm_fully_connected_s8"))
        {
            *status = arm_fully_connected_s8(&ctx, &p, &q, &in, I8(0), &f, I8(1), &b, I32(2), &out, I8(3));
            GBS(5, arm_fully_connected_s8_get_buffer_size(&f));
        }
        else
        {
            *status = arm_fully_connected_s16(&ctx, &p, &q, &in, I16(0), &f, I8(1), &b, I64(2), &out, I16(3));
            GBS(5, arm_fully_connected_s16_get_buffer_size(&f));
        }
        return 1;
    }
    if (strstr(fn, "pool") != NULL)
    {
        cmsis_nn_pool_params p;
        const cmsis_nn_dims in = dims_at(S, 6), f = dims_at(S, 10), out = dims_at(S, 14);
        p.stride.w = (int32_t)S[0];
        p.stride.h = (int32_t)S[1];
        p.padding.w = (int32_t)S[2];
        p.padding.h = (int32_t)S[3];
        p.activation.min = (int32_t)S[4];
        p.activation.max = (int32_t)S[5];
        ctx.buf = A[2].p;
        ctx.size = (int32_t)A[2].len;
        if (IS("arm_avgpool_s8"))
        {
            *status = arm_avgpool_s8(&ctx, &p, &in, I8(0), &f, &out, I8(1));
            GBS(3, arm_avgpool_s8_get_buffer_size(out.w, in.c));
        }
        else if (IS("arm_avgpool_s16"))
        {
            *status = arm_avgpool_s16(&ctx, &p, &in, I16(0), &f, &out, I16(1));
            GBS(3, arm_avgpool_s16_get_buffer_size(out.w, in.c));
        }
        else if (IS("nnq_avgpool_s8_even"))
        {
            *status = nnq_avgpool_s8_even(&ctx, &p, &in, I8(0), &f, &out, I8(1));
            GBS(3, 0);
        }
        else if (IS("nnq_avgpool_s16_even"))
        {
            *status = nnq_avgpool_s16_even(&ctx, &p, &in, I16(0), &f, &out, I16(1));
            GBS(3, 0);
        }
        else if (IS("arm_max_pool_s8"))
            *status = arm_max_pool_s8(&ctx, &p, &in, I8(0), &f, &out, I8(1));
        else if (IS("arm_max_pool_s16"))
            *status = arm_max_pool_s16(&ctx, &p, &in, I16(0), &f, &out, I16(1));
        else
            return 0;
        return 1;
    }
    if (IS("arm_softmax_s8"))
    {
        *status = 1000;
        arm_softmax_s8(I8(0), (int32_t)S[0], (int32_t)S[1], (int32_t)S[2], (int32_t)S[3], (int32_t)S[4], I8(1));
    }
    else if (IS("arm_softmax_s16"))
    {
        const cmsis_nn_softmax_lut_s16 lut = {I16(1), I16(2)};
        *status = arm_softmax_s16(I16(0), (int32_t)S[0], (int32_t)S[1], (int32_t)S[2], (int32_t)S[3], &lut, I16(3));
    }
    else if (IS("arm_elementwise_add_s8"))
        *status = arm_elementwise_add_s8(I8(0), I8(1), (int32_t)S[0], (int32_t)S[1], (int32_t)S[2], (int32_t)S[3],
                                         (int32_t)S[4], (int32_t)S[5], (int32_t)S[6], I8(2), (int32_t)S[7],
                                         (int32_t)S[8], (int32_t)S[9], (int32_t)S[10], (int32_t)S[11], (int32_t)S[12]);
    else if (IS("arm_elementwise_mul_s8"))
        *status = arm_elementwise_mul_s8(I8(0), I8(1), (int32_t)S[0], (int32_t)S[1], I8(2), (int32_t)S[2],
                                         (int32_t)S[3], (int32_t)S[4], (int32_t)S[5], (int32_t)S[6], (int32_t)S[7]);
    else if (IS("arm_nn_requantize") || IS("arm_nn_requantize_s64"))
    {
        /* Arrays: val multiplier shift result (element by element). */
        size_t i;
        *status = 1000;
        for (i = 0; i < A[0].len; i++)
            I32(3)[i] = IS("arm_nn_requantize")
                            ? REQUANTIZE((int32_t)get(&A[0], i), I32(1)[i], I32(2)[i])
                            : REQUANTIZE_S64(I64(0)[i], I32(1)[i], I32(2)[i]);
    }
    else
        return 0;
    return 1;
}

/* Reads a count in [0, max]. */
static long long read_count(long long max, const char *what)
{
    const long long n = next_ll();
    if (n < 0 || n > max)
        die(what);
    return n;
}

/* Reads one array header (and its values for inputs) into a. */
static void read_array(s8_arr *a)
{
    size_t bytes, j;
    a->bits = (int)next_ll();
    a->mode = (int)next_ll();
    a->len = (size_t)next_ll();
    if (a->bits != 8 && a->bits != 16 && a->bits != 32 && a->bits != 64)
        die("bad element size");
    if (a->mode == 0)
        return;
    bytes = a->len * (size_t)(a->bits / 8);
    a->p = malloc(bytes > 0 ? bytes : 1u); /* exactly sized: sanitizers see overruns */
    if (a->p == NULL)
        die("out of memory");
    if (a->mode != 1)
    {
        memset(a->p, 0x55, bytes);
        return;
    }
    for (j = 0; j < a->len; j++)
        put(a, j, next_ll());
}

/* Prints the status line and every array after the call, and frees them. */
static void report(int status, s8_arr *A, long long na)
{
    long long i;
    if (status == 1000)
        fputs("S v\n", stdout);
    else
        printf("S %d\n", status);
    for (i = 0; i < na; i++)
    {
        size_t j;
        printf("A %lu", (unsigned long)A[i].len);
        for (j = 0; A[i].p != NULL && j < A[i].len; j++)
            print_ll(get(&A[i], j));
        putchar('\n');
        free(A[i].p);
    }
}

int main(void)
{
    char fn[128];
#if defined(NNQ_DRIVER_IN) && defined(NNQ_DRIVER_OUT)
    /* Semihosted Cortex-M runs: case and result files. */
    static char bufs[2][1 << 16];
    if ((g_in = fopen(NNQ_DRIVER_IN, "rb")) == NULL || freopen(NNQ_DRIVER_OUT, "w", stdout) == NULL)
        die("cannot open case/result files");
    setvbuf(g_in, bufs[0], _IOFBF, sizeof bufs[0]);
    setvbuf(stdout, bufs[1], _IOFBF, sizeof bufs[1]);
#else
    g_in = stdin;
#endif
    while (next_token(fn, sizeof fn))
    {
        long long S[MAX_SCALARS] = {0};
        s8_arr A[MAX_ARRAYS];
        long long ns, na, i;
        int status = 1000;
        memset(A, 0, sizeof A);
        ns = read_count(MAX_SCALARS, "bad scalar count");
        for (i = 0; i < ns; i++)
            S[i] = next_ll();
        na = read_count(MAX_ARRAYS, "bad array count");
        for (i = 0; i < na; i++)
            read_array(&A[i]);
        if (!call_conv(fn, S, A, &status) && !call_other(fn, S, A, &status))
        {
            fprintf(stderr, "driver_s8: unknown function %s\n", fn);
            return 2;
        }
        report(status, A, na);
    }
    fflush(stdout);
    return 0;
}

/*
 * driver.c - test driver for the nnq host reference runtime (used by the Go
 * tests of package crt; not part of the runtime that is copied into
 * generated projects).
 *
 * Reads whitespace-separated cases from stdin (or, when built with
 * -DNNQ_DRIVER_IN="file" -DNNQ_DRIVER_OUT="file", from/to files, for
 * semihosted Cortex-M runs):
 *
 *   <function> <nscalars> <scalar>... <narrays> <array>...
 *   array := <bits:7|15> <mode> <len> [<value> x len if mode == 1]
 *   mode  := 0 NULL pointer, 1 input (values follow), 2 output, 3 scratch
 *
 * Output and scratch arrays are filled with 0x55 bytes before the call. Each
 * array gets its own exactly sized heap block, so sanitizers see overruns.
 * For each case it prints one line "S <status>" (or "S v" for void
 * functions), then one line per array with its content after the call:
 * "A <len> <value>...". Scalars and arrays are given in the order of the
 * function's C parameter list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnq_cmsis.h"

#define MAX_SCALARS 32
#define MAX_ARRAYS 16

typedef struct
{
    int bits;
    int mode;
    size_t len;
    void *p;
} nnq_arr;

static FILE *g_in;

static void die(const char *msg)
{
    fprintf(stderr, "driver: %s\n", msg);
    exit(2);
}

static int is_space(int ch)
{
    return ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r';
}

/* Reads the next whitespace-separated token; returns 0 at end of input. */
static int next_token(char *tok, size_t cap)
{
    size_t n = 0;
    int ch;
    do
    {
        ch = getc(g_in);
    } while (ch != EOF && is_space(ch));
    if (ch == EOF)
    {
        return 0;
    }
    while (ch != EOF && !is_space(ch))
    {
        if (n + 1 >= cap)
        {
            die("token too long");
        }
        tok[n++] = (char)ch;
        ch = getc(g_in);
    }
    tok[n] = '\0';
    return 1;
}

static long next_long(void)
{
    char tok[32];
    char *end;
    long v;
    if (!next_token(tok, sizeof tok))
    {
        die("unexpected end of input");
    }
    v = strtol(tok, &end, 10);
    if (end == tok || *end != '\0')
    {
        die("expected a number");
    }
    return v;
}

static void print_array(const nnq_arr *a)
{
    size_t i;
    printf("A %lu", (unsigned long)a->len);
    for (i = 0; a->p != NULL && i < a->len; i++)
    {
        if (a->bits == 7)
        {
            printf(" %d", (int)((const q7_t *)a->p)[i]);
        }
        else
        {
            printf(" %d", (int)((const q15_t *)a->p)[i]);
        }
    }
    printf("\n");
}

#define Q7(i) ((q7_t *)A[i].p)
#define Q15(i) ((q15_t *)A[i].p)
#define U(i) ((uint16_t)S[i])
#define ACT(i) ((arm_nn_activation_type)S[i])
#define IS(name) (strcmp(fn, (name)) == 0)

/* Square convolution argument list: arrays Im_in wt bias Im_out bufferA bufferB. */
#define SQ_ARGS(T)                                                                                           \
    T(0), U(0), U(1), T(1), U(2), U(3), U(4), U(5), T(2), U(6), U(7), T(3), U(8), Q15(4), Q7(5)
/* Non-square convolution argument list. */
#define NS_ARGS(T)                                                                                           \
    T(0), U(0), U(1), U(2), T(1), U(3), U(4), U(5), U(6), U(7), U(8), U(9), T(2), U(10), U(11), T(3), U(12),   \
        U(13), Q15(4), Q7(5)
/* nnq pooling: scalars in_x in_y ch k_x k_y pad_x pad_y stride_x stride_y out_x out_y shift. */
static nnq_conv_params pool_params(const long *S)
{
    nnq_conv_params p;
    memset(&p, 0, sizeof p);
    p.in_x = U(0);
    p.in_y = U(1);
    p.ch_in = U(2);
    p.ch_out = U(2);
    p.k_x = U(3);
    p.k_y = U(4);
    p.pad_x = U(5);
    p.pad_y = U(6);
    p.stride_x = U(7);
    p.stride_y = U(8);
    p.out_x = U(9);
    p.out_y = U(10);
    p.out_shift = U(11);
    return p;
}

static int call(const char *fn, const long *S, nnq_arr *A, int *status)
{
    *status = 1000; /* void */
    if (IS("arm_convolve_HWC_q7_basic"))
        *status = arm_convolve_HWC_q7_basic(SQ_ARGS(Q7));
    else if (IS("arm_convolve_HWC_q7_fast"))
        *status = arm_convolve_HWC_q7_fast(SQ_ARGS(Q7));
    else if (IS("arm_convolve_HWC_q7_RGB"))
        *status = arm_convolve_HWC_q7_RGB(SQ_ARGS(Q7));
    else if (IS("arm_convolve_HWC_q7_basic_nonsquare"))
        *status = arm_convolve_HWC_q7_basic_nonsquare(NS_ARGS(Q7));
    else if (IS("arm_convolve_HWC_q7_fast_nonsquare"))
        *status = arm_convolve_HWC_q7_fast_nonsquare(NS_ARGS(Q7));
    else if (IS("arm_convolve_1x1_HWC_q7_fast_nonsquare"))
        *status = arm_convolve_1x1_HWC_q7_fast_nonsquare(NS_ARGS(Q7));
    else if (IS("arm_convolve_HWC_q15_basic"))
        *status = arm_convolve_HWC_q15_basic(SQ_ARGS(Q15));
    else if (IS("arm_convolve_HWC_q15_fast"))
        *status = arm_convolve_HWC_q15_fast(SQ_ARGS(Q15));
    else if (IS("arm_convolve_HWC_q15_fast_nonsquare"))
        *status = arm_convolve_HWC_q15_fast_nonsquare(NS_ARGS(Q15));
    else if (IS("arm_depthwise_separable_conv_HWC_q7"))
        *status = arm_depthwise_separable_conv_HWC_q7(SQ_ARGS(Q7));
    else if (IS("arm_depthwise_separable_conv_HWC_q7_nonsquare"))
        *status = arm_depthwise_separable_conv_HWC_q7_nonsquare(NS_ARGS(Q7));
    /* FC arrays: pV pM bias pOut vec_buffer; scalars: dim_vec num_of_rows bias_shift out_shift. */
    else if (IS("arm_fully_connected_q7"))
        *status = arm_fully_connected_q7(Q7(0), Q7(1), U(0), U(1), U(2), U(3), Q7(2), Q7(3), Q15(4));
    else if (IS("arm_fully_connected_q7_opt"))
        *status = arm_fully_connected_q7_opt(Q7(0), Q7(1), U(0), U(1), U(2), U(3), Q7(2), Q7(3), Q15(4));
    else if (IS("arm_fully_connected_q15"))
        *status = arm_fully_connected_q15(Q15(0), Q15(1), U(0), U(1), U(2), U(3), Q15(2), Q15(3), Q15(4));
    else if (IS("arm_fully_connected_q15_opt"))
        *status = arm_fully_connected_q15_opt(Q15(0), Q15(1), U(0), U(1), U(2), U(3), Q15(2), Q15(3), Q15(4));
    else if (IS("arm_fully_connected_mat_q7_vec_q15"))
        *status =
            arm_fully_connected_mat_q7_vec_q15(Q15(0), Q7(1), U(0), U(1), U(2), U(3), Q7(2), Q15(3), Q15(4));
    else if (IS("arm_fully_connected_mat_q7_vec_q15_opt"))
        *status =
            arm_fully_connected_mat_q7_vec_q15_opt(Q15(0), Q7(1), U(0), U(1), U(2), U(3), Q7(2), Q15(3), Q15(4));
    /* Pooling arrays: Im_in bufferA Im_out; scalars: dim_im_in ch_im_in dim_kernel padding stride dim_im_out. */
    else if (IS("arm_maxpool_q7_HWC"))
        arm_maxpool_q7_HWC(Q7(0), U(0), U(1), U(2), U(3), U(4), U(5), Q7(1), Q7(2));
    else if (IS("arm_avepool_q7_HWC"))
        arm_avepool_q7_HWC(Q7(0), U(0), U(1), U(2), U(3), U(4), U(5), Q7(1), Q7(2));
    /* Activations: array data; scalars size [int_width type]. */
    else if (IS("arm_relu_q7"))
        arm_relu_q7(Q7(0), U(0));
    else if (IS("arm_relu_q15"))
        arm_relu_q15(Q15(0), U(0));
    else if (IS("arm_nn_activations_direct_q7"))
        arm_nn_activations_direct_q7(Q7(0), U(0), U(1), ACT(2));
    else if (IS("arm_nn_activations_direct_q15"))
        arm_nn_activations_direct_q15(Q15(0), U(0), U(1), ACT(2));
    /* Softmax: arrays vec_in p_out; scalars dim_vec (with_batch: nb_batches dim_vec). */
    else if (IS("arm_softmax_q7"))
        arm_softmax_q7(Q7(0), U(0), Q7(1));
    else if (IS("arm_softmax_with_batch_q7"))
        arm_softmax_with_batch_q7(Q7(0), U(0), U(1), Q7(1));
    else if (IS("arm_softmax_q15"))
        arm_softmax_q15(Q15(0), U(0), Q15(1));
    /* Multiply: arrays pSrcA pSrcB pDst; scalars out_shift blockSize. */
    else if (IS("arm_nn_mult_q7"))
        arm_nn_mult_q7(Q7(0), Q7(1), Q7(2), U(0), (uint32_t)S[1]);
    else if (IS("arm_nn_mult_q15"))
        arm_nn_mult_q15(Q15(0), Q15(1), Q15(2), U(0), (uint32_t)S[1]);
    /* nnq kernels. Pooling arrays: in out; scalars in the C order. */
    else if (IS("nnq_avgpool_q7") || IS("nnq_maxpool_q7") || IS("nnq_avgpool_q15") || IS("nnq_maxpool_q15"))
    {
        const nnq_conv_params p = pool_params(S);
        if (IS("nnq_avgpool_q7"))
            nnq_avgpool_q7(Q7(0), &p, Q7(1));
        else if (IS("nnq_maxpool_q7"))
            nnq_maxpool_q7(Q7(0), &p, Q7(1));
        else if (IS("nnq_avgpool_q15"))
            nnq_avgpool_q15(Q15(0), &p, Q15(1));
        else
            nnq_maxpool_q15(Q15(0), &p, Q15(1));
    }
    /* Add: arrays a b out; scalars n a_shift b_shift out_shift. Alias modes via S[4]. */
    else if (IS("nnq_add_q7") || IS("nnq_add_q15"))
    {
        const int q7 = IS("nnq_add_q7");
        void *a = A[0].p, *b = A[1].p, *o = A[2].p;
        if (S[4] == 1)
            o = a; /* out aliases a */
        else if (S[4] == 2)
            o = b; /* out aliases b */
        if (q7)
            nnq_add_q7(a, b, o, (uint32_t)S[0], U(1), U(2), U(3));
        else
            nnq_add_q15(a, b, o, (uint32_t)S[0], U(1), U(2), U(3));
    }
    else
        return 0;
    return 1;
}

int main(void)
{
    char fn[128];
#if defined(NNQ_DRIVER_IN) && defined(NNQ_DRIVER_OUT)
    /* Cortex-M runs under QEMU: case and result files through semihosting. */
    static char inbuf[1 << 16], outbuf[1 << 16];
    g_in = fopen(NNQ_DRIVER_IN, "rb");
    if (g_in == NULL || freopen(NNQ_DRIVER_OUT, "w", stdout) == NULL)
    {
        die("cannot open case/result files");
    }
    setvbuf(g_in, inbuf, _IOFBF, sizeof inbuf);
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
#else
    g_in = stdin;
#endif
    while (next_token(fn, sizeof fn))
    {
        long S[MAX_SCALARS];
        nnq_arr A[MAX_ARRAYS];
        long ns, na, i;
        int status;
        memset(A, 0, sizeof A);
        ns = next_long();
        if (ns < 0 || ns > MAX_SCALARS)
        {
            die("bad scalar count");
        }
        for (i = 0; i < ns; i++)
        {
            S[i] = next_long();
        }
        for (; i < MAX_SCALARS; i++)
        {
            S[i] = 0;
        }
        na = next_long();
        if (na < 0 || na > MAX_ARRAYS)
        {
            die("bad array count");
        }
        for (i = 0; i < na; i++)
        {
            nnq_arr *a = &A[i];
            size_t esz, j;
            a->bits = (int)next_long();
            a->mode = (int)next_long();
            a->len = (size_t)next_long();
            esz = (a->bits == 7) ? 1u : 2u;
            if (a->mode == 0)
            {
                a->p = NULL;
                continue;
            }
            /* Exact size (at least one byte so that malloc gives a real block). */
            a->p = malloc(a->len * esz > 0 ? a->len * esz : 1u);
            if (a->p == NULL)
            {
                die("out of memory");
            }
            if (a->mode == 1)
            {
                for (j = 0; j < a->len; j++)
                {
                    const long v = next_long();
                    if (esz == 1)
                        ((q7_t *)a->p)[j] = (q7_t)v;
                    else
                        ((q15_t *)a->p)[j] = (q15_t)v;
                }
            }
            else
            {
                memset(a->p, 0x55, a->len * esz);
            }
        }
        if (!call(fn, S, A, &status))
        {
            fprintf(stderr, "driver: unknown function %s\n", fn);
            return 2;
        }
        if (status == 1000)
            printf("S v\n");
        else
            printf("S %d\n", status);
        for (i = 0; i < na; i++)
        {
            print_array(&A[i]);
            free(A[i].p);
        }
    }
    fflush(stdout);
    return 0;
}

/*
 * nnq_recurrent.c - GRU and LSTM layers (PyTorch conventions) built from
 * CMSIS-NN kernels and CMSIS-DSP-style element-wise functions.
 *
 * Part of nnq (github.com/nnq-toolkit/nnq); contains no CMSIS code. CMSIS-NN
 * has no recurrent layer: each function runs the time-step loop and calls,
 * per step, the library's fully connected kernel twice (x_t W_ih and h W_hh,
 * all gates at once), arm_nn_activations_direct_q15 for sigmoid/tanh,
 * arm_nn_mult_q15 for the LSTM cell, and nnq_dsp.c's q15 element-wise
 * functions. With NNQ_USE_CMSIS the CMSIS-NN calls go to the real library.
 * Always compiled; mirrored bit for bit by the Go kernels
 * (kernels/nnq_rnn.go, which documents the step equations) and identical on
 * every target (every building block is).
 *
 * The state runs in q15 (h is Q0.15): a q7 network's input step is widened
 * with nnq_q7_to_q15 and its FCs use q7 weights and biases through
 * arm_fully_connected_mat_q7_vec_q15; a q15 network uses
 * arm_fully_connected_q15. scratch (q15, 4-byte aligned) holds the two gate
 * vectors (2*G*H), h (H), the LSTM cell (H) and, for q7, the widened input
 * step (dim_in); G = 3 (GRU) or 4 (LSTM).
 */
#include "nnq_internal.h"

typedef arm_status (*nnq_rnn_fc)(const q15_t *v, const void *w, uint16_t dim, uint16_t rows, uint16_t bias_shift,
                                 uint16_t out_shift, const void *bias, q15_t *out);

static arm_status nnq_rnn_fc_q7w(const q15_t *v, const void *w, uint16_t dim, uint16_t rows, uint16_t bias_shift,
                                 uint16_t out_shift, const void *bias, q15_t *out)
{
    return arm_fully_connected_mat_q7_vec_q15(v, (const q7_t *)w, dim, rows, bias_shift, out_shift,
                                              (const q7_t *)bias, out, NULL);
}

static arm_status nnq_rnn_fc_q15w(const q15_t *v, const void *w, uint16_t dim, uint16_t rows, uint16_t bias_shift,
                                  uint16_t out_shift, const void *bias, q15_t *out)
{
    return arm_fully_connected_q15(v, (const q15_t *)w, dim, rows, bias_shift, out_shift, (const q15_t *)bias, out,
                                   NULL);
}

static arm_status nnq_rnn_check(const nnq_rnn_params *p, uint32_t gates)
{
    if (p == NULL || p->steps == 0u || p->dim_in == 0u || p->hidden == 0u || gates * p->hidden > 65535u ||
        p->ih_bias_shift > 31u || p->ih_out_shift > 30u || p->hh_bias_shift > 31u || p->hh_out_shift > 30u ||
        p->gate_shift > 15u || p->gate_int_width > 3u)
    {
        return ARM_MATH_ARGUMENT_ERROR;
    }
    if (gates == 4u && (p->cell_out_shift > 30u || p->cell_shift > 15u || p->cell_int_width > 3u))
    {
        return ARM_MATH_ARGUMENT_ERROR;
    }
    return ARM_MATH_SUCCESS;
}

/* The shared loop; exactly one of in8/in16 and of out8/out16 is set. */
static arm_status nnq_rnn(uint32_t gates, const q7_t *in8, const q15_t *in16, nnq_rnn_fc fc, const void *w_ih,
                          const void *b_ih, const void *w_hh, const void *b_hh, const nnq_rnn_params *p, q7_t *out8,
                          q15_t *out16, q15_t *scratch)
{
    arm_status st = nnq_rnn_check(p, gates);
    uint32_t I, H, G, t, k;
    q15_t *gx, *gh, *h, *c, *xq;
    if (st != ARM_MATH_SUCCESS)
    {
        return st;
    }
    I = p->dim_in;
    H = p->hidden;
    G = gates * H;
    gx = scratch;
    gh = gx + G;
    h = gh + G;
    c = h + H;
    xq = (gates == 4u) ? c + H : c;
    for (k = 0; k < H; k++)
    {
        h[k] = 0;
        if (gates == 4u)
        {
            c[k] = 0;
        }
    }
    for (t = 0; t < p->steps; t++)
    {
        const q15_t *x;
        if (in8 != NULL)
        {
            nnq_q7_to_q15(in8 + (size_t)t * I, xq, I);
            x = xq;
        }
        else
        {
            x = in16 + (size_t)t * I;
        }
        st = fc(x, w_ih, (uint16_t)I, (uint16_t)G, p->ih_bias_shift, p->ih_out_shift, b_ih, gx);
        if (st != ARM_MATH_SUCCESS)
        {
            return st;
        }
        st = fc(h, w_hh, (uint16_t)H, (uint16_t)G, p->hh_bias_shift, p->hh_out_shift, b_hh, gh);
        if (st != ARM_MATH_SUCCESS)
        {
            return st;
        }
        if (gates == 3u)
        {
            /* r, z = sigmoid(gx + gh) in gx[0:2H] */
            nnq_add_q15_sat(gx, gh, gx, 2u * H);
            if (p->gate_shift > 0u)
            {
                nnq_shift_q15(gx, (int8_t)p->gate_shift, gx, 2u * H);
            }
            arm_nn_activations_direct_q15(gx, (uint16_t)(2u * H), p->gate_int_width, ARM_SIGMOID);
            /* n = tanh(gx_n + r * gh_n) in gx[2H:3H] */
            nnq_mult_q15(gx, gh + 2u * H, gh + 2u * H, H);
            nnq_add_q15_sat(gx + 2u * H, gh + 2u * H, gx + 2u * H, H);
            if (p->gate_shift > 0u)
            {
                nnq_shift_q15(gx + 2u * H, (int8_t)p->gate_shift, gx + 2u * H, H);
            }
            arm_nn_activations_direct_q15(gx + 2u * H, (uint16_t)H, p->gate_int_width, ARM_TANH);
            /* h = (n - z*n) + z*h */
            nnq_mult_q15(gx + H, gx + 2u * H, gh, H);
            nnq_mult_q15(gx + H, h, gh + H, H);
            nnq_sub_q15_sat(gx + 2u * H, gh, gx, H);
            nnq_add_q15_sat(gx, gh + H, h, H);
        }
        else
        {
            /* i, f, g, o */
            nnq_add_q15_sat(gx, gh, gx, G);
            if (p->gate_shift > 0u)
            {
                nnq_shift_q15(gx, (int8_t)p->gate_shift, gx, G);
            }
            arm_nn_activations_direct_q15(gx, (uint16_t)(2u * H), p->gate_int_width, ARM_SIGMOID);
            arm_nn_activations_direct_q15(gx + 2u * H, (uint16_t)H, p->gate_int_width, ARM_TANH);
            arm_nn_activations_direct_q15(gx + 3u * H, (uint16_t)H, p->gate_int_width, ARM_SIGMOID);
            /* c = f*c + i*g (rounded products in the cell format) */
            arm_nn_mult_q15(gx + H, c, c, 15u, H);
            arm_nn_mult_q15(gx, gx + 2u * H, gh, p->cell_out_shift, H);
            nnq_add_q15_sat(c, gh, c, H);
            /* h = o * tanh(c) */
            nnq_shift_q15(c, (int8_t)p->cell_shift, gh + H, H);
            arm_nn_activations_direct_q15(gh + H, (uint16_t)H, p->cell_int_width, ARM_TANH);
            nnq_mult_q15(gx + 3u * H, gh + H, h, H);
        }
        if (p->return_sequences)
        {
            if (out8 != NULL)
            {
                nnq_q15_to_q7(h, out8 + (size_t)t * H, H);
            }
            else
            {
                for (k = 0; k < H; k++)
                {
                    out16[(size_t)t * H + k] = h[k];
                }
            }
        }
    }
    if (!p->return_sequences)
    {
        if (out8 != NULL)
        {
            nnq_q15_to_q7(h, out8, H);
        }
        else
        {
            for (k = 0; k < H; k++)
            {
                out16[k] = h[k];
            }
        }
    }
    return ARM_MATH_SUCCESS;
}

arm_status nnq_gru_q7(const q7_t *in, const q7_t *w_ih, const q7_t *b_ih, const q7_t *w_hh, const q7_t *b_hh,
                      const nnq_rnn_params *p, q7_t *out, q15_t *scratch)
{
    return nnq_rnn(3u, in, NULL, nnq_rnn_fc_q7w, w_ih, b_ih, w_hh, b_hh, p, out, NULL, scratch);
}

arm_status nnq_gru_q15(const q15_t *in, const q15_t *w_ih, const q15_t *b_ih, const q15_t *w_hh, const q15_t *b_hh,
                       const nnq_rnn_params *p, q15_t *out, q15_t *scratch)
{
    return nnq_rnn(3u, NULL, in, nnq_rnn_fc_q15w, w_ih, b_ih, w_hh, b_hh, p, NULL, out, scratch);
}

arm_status nnq_lstm_q7(const q7_t *in, const q7_t *w_ih, const q7_t *b_ih, const q7_t *w_hh, const q7_t *b_hh,
                       const nnq_rnn_params *p, q7_t *out, q15_t *scratch)
{
    return nnq_rnn(4u, in, NULL, nnq_rnn_fc_q7w, w_ih, b_ih, w_hh, b_hh, p, out, NULL, scratch);
}

arm_status nnq_lstm_q15(const q15_t *in, const q15_t *w_ih, const q15_t *b_ih, const q15_t *w_hh, const q15_t *b_hh,
                        const nnq_rnn_params *p, q15_t *out, q15_t *scratch)
{
    return nnq_rnn(4u, NULL, in, nnq_rnn_fc_q15w, w_ih, b_ih, w_hh, b_hh, p, NULL, out, scratch);
}

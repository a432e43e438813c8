/*
 * nnq front-end verification driver (codegen.VerifyFrontend): streams audio
 * clips through the exported frontend.c hop by hop and runs the network on
 * the resulting feature window.
 *
 *   fe_main CLIPS FEATURES OUTPUTS
 *
 * CLIPS     N clips of FE_CLIP_SAMPLES int16 samples, back to back.
 * FEATURES  written: for each clip, the FE_FEATURES nn_in_t of the feature
 *           window after streaming the whole clip (FE_CLIP_SAMPLES / FE_HOP
 *           hops into a fresh fe_stream_t).
 * OUTPUTS   written: for each clip, the NN_OUTPUT_SIZE nn_out_t of nn_run on
 *           those features.
 *
 * Every clip is also computed with fe_features() in one go; the two must be
 * identical (exit status 6 otherwise). Exit status: 0 ok, 2 usage, 3 I/O
 * error, 4 nn_run error, 6 streaming and one-shot features differ.
 *
 * File I/O is stdio (newlib's rdimon semihosting on Cortex-M). Instruction
 * counting (Cortex-M under QEMU): every fe_stream_push that completes a frame
 * is called through the assembly stub nnq_fe_call, whose label nnq_fe_done
 * marks the return; the harness counts from nnq_fe_call to nnq_fe_done.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "frontend.h"
#include "nn.h"

#include "nnq_info.h" /* written by the harness next to this driver */

NNQ_DEFINE_INFO;

#ifdef NNQ_SEMIHOSTING
__asm__(
    "  .section .text.nnq_fe_call,\"ax\",%progbits\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .global nnq_fe_call\n"
    "  .global nnq_fe_done\n"
    "  .type nnq_fe_call, %function\n"
    "  .thumb_func\n"
    "nnq_fe_call:\n"
    "  push {r4, lr}\n"
    "  bl fe_stream_push\n"
    "nnq_fe_done:\n"
    "  pop {r4, pc}\n"
    "  .size nnq_fe_call, .-nnq_fe_call\n"
    "  .text\n");
int nnq_fe_call(fe_stream_t *s, const int16_t *hop);
#else
static int nnq_fe_call(fe_stream_t *s, const int16_t *hop)
{
    return fe_stream_push(s, hop);
}
#endif

#if FE_CLIP_SAMPLES % FE_HOP != 0
#error "the clip length must be a multiple of the hop"
#endif

static int16_t clip[FE_CLIP_SAMPLES];
static fe_stream_t stream;
static nn_in_t oneshot[FE_FEATURES];
static nn_out_t output[NN_OUTPUT_SIZE];

int main(int argc, char **argv)
{
    FILE *in, *feat, *out;
    int rc = 0;
    if (argc != 4 || nnq_info.magic != NNQ_INFO_MAGIC) {
        fprintf(stderr, "usage: fe_main CLIPS FEATURES OUTPUTS\n");
        return 2;
    }
    in = fopen(argv[1], "rb");
    feat = fopen(argv[2], "wb");
    out = fopen(argv[3], "wb");
    if (!in || !feat || !out) {
        fprintf(stderr, "fe_main: cannot open the files\n");
        return 3;
    }
    for (;;) {
        size_t got = fread(clip, sizeof clip[0], FE_CLIP_SAMPLES, in);
        uint32_t h;
        if (got == 0) {
            break;
        }
        if (got != FE_CLIP_SAMPLES) {
            fprintf(stderr, "fe_main: the clips file ends with a partial clip\n");
            rc = 3;
            break;
        }
        fe_stream_init(&stream);
        for (h = 0; h < FE_CLIP_SAMPLES / FE_HOP; h++) {
            if (h * FE_HOP + FE_HOP < FE_SPAN) {
                fe_stream_push(&stream, clip + h * FE_HOP); /* no frame yet: not counted */
            } else {
                nnq_fe_call(&stream, clip + h * FE_HOP);
            }
        }
        fe_features(clip, oneshot);
        if (!fe_stream_ready(&stream) || memcmp(oneshot, fe_stream_features(&stream), sizeof oneshot) != 0) {
            fprintf(stderr, "fe_main: streamed features differ from fe_features()\n");
            rc = 6;
            break;
        }
        if (nn_run(fe_stream_features(&stream), output) != 0) {
            fprintf(stderr, "fe_main: nn_run failed in layer %d\n", nn_failed_layer());
            rc = 4;
            break;
        }
        if (fwrite(fe_stream_features(&stream), sizeof(nn_in_t), FE_FEATURES, feat) != FE_FEATURES ||
            fwrite(output, sizeof(nn_out_t), NN_OUTPUT_SIZE, out) != NN_OUTPUT_SIZE) {
            fprintf(stderr, "fe_main: write error\n");
            rc = 3;
            break;
        }
    }
    if (fclose(in) != 0 || fclose(feat) != 0 || fclose(out) != 0) {
        if (rc == 0) {
            rc = 3;
        }
    }
    return rc;
}

/*
 * nnq harness driver: runs a generated network on a file of patterns.
 *
 *   nnq_main IN OUT [TRACE [LAYERBYTES]]
 *
 * IN    N patterns of NN_INPUT_SIZE nn_in_t, raw little-endian, back to back.
 * OUT   written: N x NN_OUTPUT_SIZE nn_out_t.
 * TRACE written when given (build with -DNNQ_TRACE): for each pattern, for
 *       each layer 0..NN_NUM_LAYERS-1, the bytes passed to nnq_trace().
 * LAYERBYTES written when given: NN_NUM_LAYERS uint32 (native = little
 *       endian), each layer's trace size. Every pattern must trace the same
 *       sizes.
 *
 * Exit status: 0 ok, 2 usage, 3 I/O error, 4 nn_run error, 5 trace contract
 * violation. On the host, file I/O goes through stdio. On Cortex-M (built with
 * -DNNQ_SEMIHOSTING) it goes through ARM semihosting calls made directly,
 * so that no heap or stdio buffers are needed (the micro:bit has 16 KiB of
 * RAM); argv comes from SYS_GET_CMDLINE (see nnq_startup.c).
 *
 * Instruction counting (Cortex-M under QEMU, see README.md): nn_run is
 * called from the assembly stub nnq_call_nn_run, whose label nnq_run_done
 * marks the return of nn_run, and nnq_trace is an assembly stub whose entry
 * and label nnq_trace_resume bracket the harness's own tracing work. The
 * counting plugin finds these symbols in the ELF file.
 */
#include <stdint.h>
#include <string.h>

#include "nn.h"
#include "nnq_info.h"

NNQ_DEFINE_INFO;

/* ------------------------------------------------------------------ I/O */

#ifdef NNQ_SEMIHOSTING

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_READ 0x06

int nnq_semihost(int op, void *arg);

typedef int nnq_file;
#define NNQ_NOFILE (-1)

static nnq_file nnq_open(const char *name, int write)
{
    uint32_t args[3];
    args[0] = (uint32_t)(uintptr_t)name;
    args[1] = write ? 5u : 1u; /* "wb" : "rb" */
    args[2] = (uint32_t)strlen(name);
    return nnq_semihost(SYS_OPEN, args);
}

static int nnq_close(nnq_file f)
{
    uint32_t args[1];
    args[0] = (uint32_t)f;
    return nnq_semihost(SYS_CLOSE, args) == 0 ? 0 : -1;
}

/* Returns the number of bytes read (short only at end of file), or -1. */
static long nnq_read(nnq_file f, void *buf, unsigned long n)
{
    unsigned long done = 0;
    while (done < n) {
        uint32_t args[3];
        int left;
        unsigned long got;
        args[0] = (uint32_t)f;
        args[1] = (uint32_t)(uintptr_t)((char *)buf + done);
        args[2] = (uint32_t)(n - done);
        left = nnq_semihost(SYS_READ, args);
        if (left < 0 || (unsigned long)left > n - done) {
            return -1;
        }
        got = (n - done) - (unsigned long)left;
        if (got == 0) {
            break;
        }
        done += got;
    }
    return (long)done;
}

static int nnq_write(nnq_file f, const void *buf, unsigned long n)
{
    uint32_t args[3];
    if (n == 0) {
        return 0;
    }
    args[0] = (uint32_t)f;
    args[1] = (uint32_t)(uintptr_t)buf;
    args[2] = (uint32_t)n;
    return nnq_semihost(SYS_WRITE, args) == 0 ? 0 : -1;
}

static void nnq_error(const char *msg)
{
    nnq_semihost(SYS_WRITE0, (void *)"nnq_main: ");
    nnq_semihost(SYS_WRITE0, (void *)msg);
    nnq_semihost(SYS_WRITE0, (void *)"\n");
}

#else /* host */

#include <stdio.h>

typedef FILE *nnq_file;
#define NNQ_NOFILE NULL

static nnq_file nnq_open(const char *name, int write)
{
    return fopen(name, write ? "wb" : "rb");
}

static int nnq_close(nnq_file f)
{
    return fclose(f) == 0 ? 0 : -1;
}

static long nnq_read(nnq_file f, void *buf, unsigned long n)
{
    size_t got = fread(buf, 1, n, f);
    if (got < n && ferror(f)) {
        return -1;
    }
    return (long)got;
}

static int nnq_write(nnq_file f, const void *buf, unsigned long n)
{
    if (n == 0) {
        return 0;
    }
    return fwrite(buf, 1, n, f) == n ? 0 : -1;
}

static void nnq_error(const char *msg)
{
    fprintf(stderr, "nnq_main: %s\n", msg);
}

#endif

/* -------------------------------------------------------------- tracing */

static nnq_file trace_file = NNQ_NOFILE;
static int trace_next_layer;
static int trace_failed;
static int trace_first_pattern = 1;
static uint32_t trace_layer_bytes[NN_NUM_LAYERS + 1];

/* The harness's side of nnq_trace(): check the layer order, append the
 * bytes to the trace file. */
void nnq_trace_impl(int layer, const void *data, unsigned bytes);

void nnq_trace_impl(int layer, const void *data, unsigned bytes)
{
    if (layer != trace_next_layer || layer < 0 || layer >= NN_NUM_LAYERS) {
        trace_failed = 1;
        return;
    }
    trace_next_layer = layer + 1;
    if (trace_first_pattern) {
        trace_layer_bytes[layer] = bytes;
    } else if (trace_layer_bytes[layer] != bytes) {
        trace_failed = 1;
    }
    if (trace_file != NNQ_NOFILE && !trace_failed) {
        if (nnq_write(trace_file, data, bytes) != 0) {
            trace_failed = 2;
        }
    }
}

#ifdef NNQ_SEMIHOSTING
/* nnq_trace and nnq_call_nn_run are written in assembly so that the
 * counting plugin has exact instruction addresses for "harness code
 * starts" (nnq_trace), "network code resumes" (nnq_trace_resume) and
 * "nn_run has returned" (nnq_run_done). Both keep the stack 8-byte
 * aligned and are valid for ARMv6-M and ARMv7-M/ARMv8-M. */
__asm__(
    "  .section .text.nnq_trace,\"ax\",%progbits\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .global nnq_trace\n"
    "  .global nnq_trace_resume\n"
    "  .type nnq_trace, %function\n"
    "  .thumb_func\n"
    "nnq_trace:\n"
    "  push {r4, lr}\n"
    "  bl nnq_trace_impl\n"
    "nnq_trace_resume:\n"
    "  pop {r4, pc}\n"
    "  .size nnq_trace, .-nnq_trace\n"
    "  .section .text.nnq_call_nn_run,\"ax\",%progbits\n"
    "  .global nnq_call_nn_run\n"
    "  .global nnq_run_done\n"
    "  .type nnq_call_nn_run, %function\n"
    "  .thumb_func\n"
    "nnq_call_nn_run:\n"
    "  push {r4, lr}\n"
    "  bl nn_run\n"
    "nnq_run_done:\n"
    "  pop {r4, pc}\n"
    "  .size nnq_call_nn_run, .-nnq_call_nn_run\n"
    "  .text\n");
int nnq_call_nn_run(const nn_in_t *input, nn_out_t *output);
#else
void nnq_trace(int layer, const void *data, unsigned bytes);

void nnq_trace(int layer, const void *data, unsigned bytes)
{
    nnq_trace_impl(layer, data, bytes);
}

static int nnq_call_nn_run(const nn_in_t *input, nn_out_t *output)
{
    return nn_run(input, output);
}
#endif

/* ----------------------------------------------------------------- main */

static nn_in_t input[NN_INPUT_SIZE];
static nn_out_t output[NN_OUTPUT_SIZE];

int main(int argc, char **argv)
{
    nnq_file in, out;
    int rc = 0;

    if (argc < 3 || argc > 5) {
        nnq_error("usage: nnq_main IN OUT [TRACE [LAYERBYTES]]");
        return 2;
    }
    if (nnq_info.magic != NNQ_INFO_MAGIC) {
        return 2; /* keeps nnq_info referenced */
    }
    in = nnq_open(argv[1], 0);
    if (in == NNQ_NOFILE) {
        nnq_error("cannot open input file");
        return 3;
    }
    out = nnq_open(argv[2], 1);
    if (out == NNQ_NOFILE) {
        nnq_error("cannot open output file");
        nnq_close(in);
        return 3;
    }
    if (argc >= 4) {
#ifdef NNQ_TRACE
        trace_file = nnq_open(argv[3], 1);
        if (trace_file == NNQ_NOFILE) {
            nnq_error("cannot open trace file");
            nnq_close(in);
            nnq_close(out);
            return 3;
        }
#else
        nnq_error("TRACE given but the driver was built without NNQ_TRACE");
        nnq_close(in);
        nnq_close(out);
        return 2;
#endif
    }

    for (;;) {
        long got = nnq_read(in, input, sizeof input);
        int nrc;
        if (got == 0) {
            break;
        }
        if (got != (long)sizeof input) {
            nnq_error(got < 0 ? "read error on input"
                              : "input ends with a partial pattern");
            rc = 3;
            break;
        }
        trace_next_layer = 0;
        nrc = nnq_call_nn_run(input, output);
        if (nrc != 0) {
            nnq_error("nn_run returned an error");
            rc = 4;
            break;
        }
        if (trace_failed == 2) {
            nnq_error("write error on trace file");
            rc = 3;
            break;
        }
#ifdef NNQ_TRACE
        if (trace_failed || trace_next_layer != NN_NUM_LAYERS) {
            nnq_error("nnq_trace not called once per layer in order "
                      "0..NN_NUM_LAYERS-1 with the same sizes for every pattern");
            rc = 5;
            break;
        }
        trace_first_pattern = 0;
#endif
        if (nnq_write(out, output, sizeof output) != 0) {
            nnq_error("write error on output");
            rc = 3;
            break;
        }
    }

    if (nnq_close(in) != 0 && rc == 0) {
        rc = 3;
    }
    if (nnq_close(out) != 0 && rc == 0) {
        nnq_error("cannot close output file");
        rc = 3;
    }
    if (trace_file != NNQ_NOFILE && nnq_close(trace_file) != 0 && rc == 0) {
        nnq_error("cannot close trace file");
        rc = 3;
    }
#ifdef NNQ_TRACE
    if (argc == 5 && rc == 0 && !trace_first_pattern) {
        nnq_file f = nnq_open(argv[4], 1);
        if (f == NNQ_NOFILE ||
            nnq_write(f, trace_layer_bytes, NN_NUM_LAYERS * sizeof(uint32_t)) != 0 ||
            nnq_close(f) != 0) {
            nnq_error("cannot write layer sizes file");
            rc = 3;
        }
    }
#endif
    return rc;
}

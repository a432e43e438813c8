/*
 * nnq instruction-count plugin for QEMU's TCG plugin API, version 1 (the
 * API of QEMU 7.2). Debian ships no plugin header, so the few functions and
 * types used are declared here, as the API defines them.
 *
 * Every guest instruction executed adds 1 to a 64-bit counter (an inline
 * TCG add, registered per instruction, so the count is exact even when a
 * translation block is left early). Callbacks on four marker addresses,
 * taken by the harness from the ELF symbol table, cut that count up:
 *
 *   start=ADDR   first instruction of nn_run         -> inference begins
 *   end=ADDR     nnq_run_done (nn_run has returned)   -> inference ends
 *   pause=ADDR   first instruction of nnq_trace       -> harness code begins
 *   resume=ADDR  nnq_trace_resume                     -> network code resumes
 *
 * Instructions between pause and resume (the harness writing trace data)
 * are not counted. For each inference one line is written to out=PATH:
 *
 *   R <total> <nseg> <seg0> ... <seg(nseg-1)>
 *
 * where seg i (i < nseg-1) is the count from the start of the inference or
 * the previous resume up to the i-th pause, and the last segment runs from
 * the last resume (or the start) to the end; sum(seg) == total.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;

enum qemu_plugin_cb_flags {
    QEMU_PLUGIN_CB_NO_REGS,
    QEMU_PLUGIN_CB_R_REGS,
    QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_op {
    QEMU_PLUGIN_INLINE_ADD_U64,
};

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id,
                                               struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index,
                                            void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
                                                 size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
                                                enum qemu_plugin_op op,
                                                void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags,
                                            void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
                                    qemu_plugin_udata_cb_t cb, void *userdata);

#define EXPORT __attribute__((visibility("default")))

EXPORT int qemu_plugin_version = 1;

#define MAX_SEGS 4096

enum marker { M_START, M_END, M_PAUSE, M_RESUME, M_COUNT };
static const char *const marker_names[M_COUNT] = {"start", "end", "pause",
                                                  "resume"};

static uint64_t marker_addr[M_COUNT];
static int marker_set[M_COUNT];
static uint64_t count; /* instructions executed so far */
static FILE *out;

static enum { IDLE, RUN, PAUSED } state = IDLE;
static uint64_t run_start, seg_start, pause_start, paused_total;
static uint64_t segs[MAX_SEGS];
static unsigned nsegs;
static int overflow;

static void emit(uint64_t total)
{
    unsigned i;
    if (!out) {
        return;
    }
    if (overflow) {
        fprintf(out, "E too many layers in one inference (max %d)\n", MAX_SEGS);
    } else {
        fprintf(out, "R %" PRIu64 " %u", total, nsegs);
        for (i = 0; i < nsegs; i++) {
            fprintf(out, " %" PRIu64, segs[i]);
        }
        fputc('\n', out);
    }
    fflush(out);
}

static void add_seg(uint64_t n)
{
    if (nsegs < MAX_SEGS) {
        segs[nsegs++] = n;
    } else {
        overflow = 1;
    }
}

static void on_marker(unsigned int vcpu, void *udata)
{
    enum marker m = (enum marker)(uintptr_t)udata;
    (void)vcpu;
    switch (m) {
    case M_START:
        if (state == IDLE) {
            run_start = seg_start = count;
            paused_total = 0;
            nsegs = 0;
            overflow = 0;
            state = RUN;
        }
        break;
    case M_PAUSE:
        if (state == RUN) {
            add_seg(count - seg_start);
            pause_start = count;
            state = PAUSED;
        }
        break;
    case M_RESUME:
        if (state == PAUSED) {
            paused_total += count - pause_start;
            seg_start = count;
            state = RUN;
        }
        break;
    case M_END:
        if (state == RUN) {
            add_seg(count - seg_start);
            emit(count - run_start - paused_total);
            state = IDLE;
        }
        break;
    default:
        break;
    }
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t i, n = qemu_plugin_tb_n_insns(tb);
    (void)id;
    for (i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        int m;
        for (m = 0; m < M_COUNT; m++) {
            if (marker_set[m] && marker_addr[m] == pc) {
                qemu_plugin_register_vcpu_insn_exec_cb(
                    insn, on_marker, QEMU_PLUGIN_CB_NO_REGS,
                    (void *)(uintptr_t)m);
            }
        }
        qemu_plugin_register_vcpu_insn_exec_inline(
            insn, QEMU_PLUGIN_INLINE_ADD_U64, &count, 1);
    }
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    if (out) {
        fprintf(out, "T %" PRIu64 "\n", count);
        fclose(out);
        out = NULL;
    }
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
                               const struct qemu_info_t *info, int argc,
                               char **argv)
{
    int i, m;
    (void)info;
    for (i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t klen;
        int known = 0;
        if (!eq) {
            fprintf(stderr, "nnq plugin: bad argument %s\n", argv[i]);
            return -1;
        }
        klen = (size_t)(eq - argv[i]);
        if (klen == 3 && strncmp(argv[i], "out", 3) == 0) {
            out = fopen(eq + 1, "w");
            if (!out) {
                fprintf(stderr, "nnq plugin: cannot open %s\n", eq + 1);
                return -1;
            }
            continue;
        }
        for (m = 0; m < M_COUNT; m++) {
            if (klen == strlen(marker_names[m]) &&
                strncmp(argv[i], marker_names[m], klen) == 0) {
                marker_addr[m] = strtoull(eq + 1, NULL, 0) & ~(uint64_t)1;
                marker_set[m] = 1;
                known = 1;
            }
        }
        if (!known) {
            fprintf(stderr, "nnq plugin: unknown argument %s\n", argv[i]);
            return -1;
        }
    }
    if (!out) {
        fprintf(stderr, "nnq plugin: out=PATH is required\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}

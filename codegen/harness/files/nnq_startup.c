/*
 * Minimal Cortex-M startup for running nnq_main under QEMU: vector table,
 * .data copy, .bss clear, FPU enable, semihosting console, argv from the
 * semihosting command line, exit status through SYS_EXIT_EXTENDED, and
 * fault handlers that report and exit instead of hanging.
 */
#include <stdint.h>

#define SYS_WRITE0 0x04
#define SYS_GET_CMDLINE 0x15
#define SYS_EXIT 0x18
#define SYS_EXIT_EXTENDED 0x20
#define ADP_Stopped_ApplicationExit 0x20026u
#define ADP_Stopped_RunTimeErrorUnknown 0x20023u

extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_top[];

int main(int argc, char **argv);
void initialise_monitor_handles(void);
int nnq_semihost(int op, void *arg);
void nnq_reset(void);
void nnq_exit(int code) __attribute__((noreturn));
void nnq_fault(void) __attribute__((noreturn));
void nnq_default_irq(void) __attribute__((noreturn));

/* Semihosting call: BKPT 0xAB with r0 = operation, r1 = argument. */
int nnq_semihost(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void nnq_exit(int code)
{
    uint32_t args[2];
    if (code == 0) {
        nnq_semihost(SYS_EXIT, (void *)ADP_Stopped_ApplicationExit);
    }
    args[0] = ADP_Stopped_ApplicationExit;
    args[1] = (uint32_t)code;
    nnq_semihost(SYS_EXIT_EXTENDED, args);
    /* Without SYS_EXIT_EXTENDED, any other reason means exit status 1. */
    nnq_semihost(SYS_EXIT, (void *)ADP_Stopped_RunTimeErrorUnknown);
    for (;;) {
    }
}

/* newlib calls _exit from exit(); route it to semihosting directly. */
void _exit(int code) __attribute__((noreturn));
void _exit(int code)
{
    nnq_exit(code);
}

void nnq_fault(void)
{
    nnq_semihost(SYS_WRITE0, (void *)"nnq_main: CPU fault (HardFault or other exception)\n");
    nnq_exit(70);
}

void nnq_default_irq(void)
{
    nnq_semihost(SYS_WRITE0, (void *)"nnq_main: unexpected interrupt\n");
    nnq_exit(71);
}

#define NNQ_MAX_ARGS 8
static char cmdline[256];
static char *argv_buf[NNQ_MAX_ARGS + 1];

static int parse_cmdline(void)
{
    uint32_t args[2];
    int argc = 0;
    char *p;
    args[0] = (uint32_t)(uintptr_t)cmdline;
    args[1] = sizeof cmdline - 1;
    if (nnq_semihost(SYS_GET_CMDLINE, args) != 0) {
        return 0;
    }
    cmdline[args[1] < sizeof cmdline ? args[1] : sizeof cmdline - 1] = 0;
    p = cmdline;
    while (*p && argc < NNQ_MAX_ARGS) {
        while (*p == ' ') {
            *p++ = 0;
        }
        if (!*p) {
            break;
        }
        argv_buf[argc++] = p;
        while (*p && *p != ' ') {
            p++;
        }
    }
    argv_buf[argc] = 0;
    return argc;
}

void nnq_reset(void)
{
    uint32_t *src = __data_load, *dst = __data_start;
    int argc;
    while (dst < __data_end) {
        *dst++ = *src++;
    }
    for (dst = __bss_start__; dst < __bss_end__; dst++) {
        *dst = 0;
    }
#if defined(__ARM_FP)
    /* CPACR: full access to CP10 and CP11 (the FPU). */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    initialise_monitor_handles();
    argc = parse_cmdline();
    nnq_exit(main(argc, argv_buf));
}

__attribute__((used, section(".vectors")))
const uintptr_t nnq_vectors[16 + 32] = {
    (uintptr_t)__stack_top,
    (uintptr_t)nnq_reset,
    (uintptr_t)nnq_fault, /* NMI */
    (uintptr_t)nnq_fault, /* HardFault */
    (uintptr_t)nnq_fault, /* MemManage */
    (uintptr_t)nnq_fault, /* BusFault */
    (uintptr_t)nnq_fault, /* UsageFault */
    (uintptr_t)nnq_fault, /* SecureFault */
    0, 0, 0,
    (uintptr_t)nnq_default_irq, /* SVCall */
    (uintptr_t)nnq_default_irq, /* DebugMonitor */
    0,
    (uintptr_t)nnq_default_irq, /* PendSV */
    (uintptr_t)nnq_default_irq, /* SysTick */
    /* External interrupts are never enabled; fill with the default. */
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
    (uintptr_t)nnq_default_irq, (uintptr_t)nnq_default_irq,
};

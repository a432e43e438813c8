/*
 * cm_startup.c - minimal Cortex-M start-up for running the test driver under
 * qemu-system-arm (mps2 boards) with newlib's rdimon semihosting library.
 * Test-only; not part of the runtime.
 */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __data_load, __data_start, __data_end, __bss_start__, __bss_end__, __stack_top;
extern int main(void);
extern void initialise_monitor_handles(void);

void cm_reset(void);
void cm_fault(void);

void cm_fault(void)
{
    exit(3);
}

__attribute__((section(".vectors"), used)) static void (*const cm_vectors[16])(void) = {
    (void (*)(void))(&__stack_top), cm_reset, cm_fault, cm_fault, cm_fault, cm_fault, cm_fault, 0, 0, 0, 0,
    cm_fault, cm_fault, 0, cm_fault, cm_fault,
};

void cm_reset(void)
{
    uint32_t *src = &__data_load;
    uint32_t *dst;
    for (dst = &__data_start; dst < &__data_end;)
    {
        *dst++ = *src++;
    }
    for (dst = &__bss_start__; dst < &__bss_end__;)
    {
        *dst++ = 0;
    }
    initialise_monitor_handles();
    exit(main());
}

/* startup.c - a bare Cortex-M4F start for firmware/stream.c on the MPS2
   AN386 board (qemu-system-arm -M mps2-an386): the vector table, a reset
   handler that copies .data, clears .bss, paints the stack, turns the FPU
   on and calls main, and semihosting for output and exit.  No libc
   start-up, no heap, no system calls. */
#include <stddef.h>
#include <stdint.h>

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];
int main(void);
void fw_reset(void);
void fw_fault(void);
void fw_write(const char *s);
size_t fw_stack_peak(void);

#define PAINT 0x5a5aa5a5u

/* Semihosting: r0 = operation, r1 = argument, BKPT 0xAB. */
static int fw_semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void fw_write(const char *s) { fw_semihost(0x04, s); }        /* SYS_WRITE0 */

static void fw_exit(int ok)                                    /* SYS_EXIT */
{
    fw_semihost(0x18, (const void *)(uintptr_t)(ok ? 0x20026 : 0x20024));  /* ApplicationExit / RunTimeErrorUnknown */
    for (;;) {}
}

/* The stack's high-water mark: the painted words nothing overwrote. */
size_t fw_stack_peak(void)
{
    const uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == PAINT) p++;
    return (size_t)((const char *)__stack_top - (const char *)p);
}

void fw_reset(void)
{
    uint32_t *p = __data_start, *q = __data_load, *sp;
    while (p < __data_end) *p++ = *q++;
    for (p = __bss_start; p < __bss_end; p++) *p = 0;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (p = __stack_limit; p < sp - 16; p++) *p = PAINT;       /* below this frame */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;              /* CPACR: CP10, CP11 full access */
    __asm__ volatile("dsb\n\tisb");
    fw_exit(main() == 0);
}

void fw_fault(void)
{
    fw_write("fault\n");
    fw_exit(0);
}

/* Initial stack pointer, reset, then NMI, HardFault, MemManage, BusFault,
   UsageFault. */
__attribute__((section(".vectors"), used)) static void (*const fw_vectors[7])(void) = {
    (void (*)(void))(uintptr_t)__stack_top, fw_reset, fw_fault, fw_fault, fw_fault, fw_fault, fw_fault,
};

/* There is no clock on this board: newlib's clock(), which the library's
   training reads for its progress report, gets -1 ("not available"). */
struct tms;
int _times(struct tms *buf);
int _times(struct tms *buf)
{
    (void)buf;
    return -1;
}

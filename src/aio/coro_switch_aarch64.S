/* src/aio/coro_switch_aarch64.S — coroutine context switch, AAPCS64.
 *
 * weft__coro_switch_asm(void **save, void *to): stores the callee-saved
 * registers (x19-x28, the frame pointer x29, the link register x30, the low
 * halves d8-d15 of v8-v15) and FPCR (rounding mode, flush-to-zero: kept per
 * coroutine like MXCSR on x86-64) in a 176-byte frame on the current stack,
 * stores sp in *save, loads `to` into sp, restores the same frame from there
 * and returns through the restored x30. A fresh stack gets a frame built by
 * weft__coro_asm_init (coro_asm.c) whose x30 is the trampoline below. */
        .text

        .globl  weft__coro_switch_asm
        .hidden weft__coro_switch_asm
        .type   weft__coro_switch_asm, %function
        .p2align 4
weft__coro_switch_asm:
        .cfi_startproc
        sub     sp, sp, #176
        .cfi_adjust_cfa_offset 176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8,  d9,  [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x9, fpcr
        str     x9, [sp, #160]
        mov     x9, sp
        str     x9, [x0]
        mov     sp, x1
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8,  d9,  [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        ldr     x9, [sp, #160]
        msr     fpcr, x9
        add     sp, sp, #176
        .cfi_adjust_cfa_offset -176
        ret
        .cfi_endproc
        .size   weft__coro_switch_asm, .-weft__coro_switch_asm

/* First code on a new stack: x19 holds the coroutine, x20 weft__coro_entry,
 * which never returns. The undefined x30 ends debugger backtraces here. */
        .globl  weft__coro_trampoline_asm
        .hidden weft__coro_trampoline_asm
        .type   weft__coro_trampoline_asm, %function
        .p2align 4
weft__coro_trampoline_asm:
        .cfi_startproc
        .cfi_undefined x30
        mov     x0, x19
        blr     x20
        brk     #0
        .cfi_endproc
        .size   weft__coro_trampoline_asm, .-weft__coro_trampoline_asm

        .section .note.GNU-stack, "", %progbits

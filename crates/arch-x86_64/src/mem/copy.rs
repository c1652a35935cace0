//! The kernel's `memcpy` and `memset`, replacing compiler_builtins' (weak)
//! ones: those are `rep movsq` / `rep stosq`, which QEMU's TCG runs as one
//! translation block per 8-byte iteration (a 4 KiB page copy or zero fill
//! is 512 block exits and entries, an XSAVE image 344). These move 64
//! bytes per loop iteration with plain 8-byte loads and stores (the kernel
//! is built without SSE), then 8 bytes, then single bytes: one block per
//! 64 bytes under TCG; on hardware a plain loop is as fast as `rep` for
//! the sizes the kernel copies. Written in assembly so that the compiler
//! cannot turn the loops back into calls of themselves. `memmove` and
//! `memcmp` stay compiler_builtins'.

core::arch::global_asm!(
    r#"
.section .text.memcpy, "ax"
.globl memcpy
.type memcpy, @function
.p2align 4
memcpy:
    mov rax, rdi
    cmp rdx, 64
    jb 3f
2:
    mov rcx, [rsi]
    mov r8, [rsi + 8]
    mov r9, [rsi + 16]
    mov r10, [rsi + 24]
    mov [rdi], rcx
    mov [rdi + 8], r8
    mov [rdi + 16], r9
    mov [rdi + 24], r10
    mov rcx, [rsi + 32]
    mov r8, [rsi + 40]
    mov r9, [rsi + 48]
    mov r10, [rsi + 56]
    mov [rdi + 32], rcx
    mov [rdi + 40], r8
    mov [rdi + 48], r9
    mov [rdi + 56], r10
    add rsi, 64
    add rdi, 64
    sub rdx, 64
    cmp rdx, 64
    jae 2b
3:
    cmp rdx, 8
    jb 4f
    mov rcx, [rsi]
    mov [rdi], rcx
    add rsi, 8
    add rdi, 8
    sub rdx, 8
    jmp 3b
4:
    test rdx, rdx
    jz 5f
    mov cl, [rsi]
    mov [rdi], cl
    inc rsi
    inc rdi
    dec rdx
    jmp 4b
5:
    ret
.size memcpy, . - memcpy

.section .text.memset, "ax"
.globl memset
.type memset, @function
.p2align 4
memset:
    mov rax, rdi
    movzx ecx, sil
    movabs r8, 0x0101010101010101
    imul rcx, r8
    cmp rdx, 64
    jb 3f
2:
    mov [rdi], rcx
    mov [rdi + 8], rcx
    mov [rdi + 16], rcx
    mov [rdi + 24], rcx
    mov [rdi + 32], rcx
    mov [rdi + 40], rcx
    mov [rdi + 48], rcx
    mov [rdi + 56], rcx
    add rdi, 64
    sub rdx, 64
    cmp rdx, 64
    jae 2b
3:
    cmp rdx, 8
    jb 4f
    mov [rdi], rcx
    add rdi, 8
    sub rdx, 8
    jmp 3b
4:
    test rdx, rdx
    jz 5f
    mov [rdi], cl
    inc rdi
    dec rdx
    jmp 4b
5:
    ret
.size memset, . - memset
"#
);

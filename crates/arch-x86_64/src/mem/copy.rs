//! The kernel's `memcpy` and `memset`, replacing compiler_builtins' (weak)
//! ones: those are `rep movsq` / `rep stosq`, which QEMU's TCG runs as one
//! translation block per 8-byte iteration (a 4 KiB page copy or zero fill
//! is 512 block exits and entries, an XSAVE image 344). These move 128
//! bytes per loop iteration with plain 8-byte loads and stores (the kernel
//! is built without SSE) indexed by one counter (34 instructions per 128
//! bytes; the 64-byte loop with two pointers and a length before took 21
//! per 64), and finish with one block that ends at the last byte,
//! overlapping what the loop wrote; sizes under 128 take a first and a
//! last piece of 64, 32, 16, 8 or 4 bytes (overlapping in the middle) or,
//! under 4, the first, middle and last byte: no per-byte or per-word tail
//! loop. One TCG block per 128 bytes; on hardware a plain loop is as fast
//! as `rep` for the sizes the kernel copies. Written in assembly so that
//! the compiler cannot turn the loops back into calls of themselves.
//! `memmove` and `memcmp` stay compiler_builtins'. The same text is
//! assembled under other names for the host tests (`tests` below).

/// The assembly of `memcpy` and `memset` under the names `$cpy` and `$set`.
macro_rules! copy_asm {
    ($cpy:literal, $set:literal) => {
        core::arch::global_asm!(concat!(
            ".section .text.",
            $cpy,
            ", \"ax\"\n",
            ".globl ",
            $cpy,
            "\n",
            ".type ",
            $cpy,
            ", @function\n",
            ".p2align 4\n",
            $cpy,
            ":\n",
            r#"
    mov rax, rdi
    cmp rdx, 128
    jae 20f
    cmp rdx, 64
    jae 16f
    cmp rdx, 32
    jae 15f
    cmp rdx, 16
    jae 14f
    cmp rdx, 8
    jae 13f
    cmp rdx, 4
    jae 12f
    test rdx, rdx
    jz 11f
    movzx ecx, byte ptr [rsi]
    movzx r8d, byte ptr [rsi + rdx - 1]
    mov r9, rdx
    shr r9, 1
    movzx r10d, byte ptr [rsi + r9]
    mov [rdi], cl
    mov [rdi + rdx - 1], r8b
    mov [rdi + r9], r10b
11:
    ret
12:
    mov ecx, [rsi]
    mov r8d, [rsi + rdx - 4]
    mov [rdi], ecx
    mov [rdi + rdx - 4], r8d
    ret
13:
    mov rcx, [rsi]
    mov r8, [rsi + rdx - 8]
    mov [rdi], rcx
    mov [rdi + rdx - 8], r8
    ret
14:
    mov rcx, [rsi]
    mov r8, [rsi + 8]
    mov r9, [rsi + rdx - 16]
    mov r10, [rsi + rdx - 8]
    mov [rdi], rcx
    mov [rdi + 8], r8
    mov [rdi + rdx - 16], r9
    mov [rdi + rdx - 8], r10
    ret
15:
    mov rcx, [rsi]
    mov r8, [rsi + 8]
    mov r9, [rsi + 16]
    mov r10, [rsi + 24]
    mov [rdi], rcx
    mov [rdi + 8], r8
    mov [rdi + 16], r9
    mov [rdi + 24], r10
    mov rcx, [rsi + rdx - 32]
    mov r8, [rsi + rdx - 24]
    mov r9, [rsi + rdx - 16]
    mov r10, [rsi + rdx - 8]
    mov [rdi + rdx - 32], rcx
    mov [rdi + rdx - 24], r8
    mov [rdi + rdx - 16], r9
    mov [rdi + rdx - 8], r10
    ret
16:
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
    lea rsi, [rsi + rdx - 64]
    lea rdi, [rdi + rdx - 64]
    jmp 18f
20:
    lea rcx, [rdx - 128]
    add rsi, rcx
    add rdi, rcx
    neg rcx
    jz 22f
21:
    mov rdx, [rsi + rcx]
    mov r8, [rsi + rcx + 8]
    mov r9, [rsi + rcx + 16]
    mov r10, [rsi + rcx + 24]
    mov [rdi + rcx], rdx
    mov [rdi + rcx + 8], r8
    mov [rdi + rcx + 16], r9
    mov [rdi + rcx + 24], r10
    mov rdx, [rsi + rcx + 32]
    mov r8, [rsi + rcx + 40]
    mov r9, [rsi + rcx + 48]
    mov r10, [rsi + rcx + 56]
    mov [rdi + rcx + 32], rdx
    mov [rdi + rcx + 40], r8
    mov [rdi + rcx + 48], r9
    mov [rdi + rcx + 56], r10
    mov rdx, [rsi + rcx + 64]
    mov r8, [rsi + rcx + 72]
    mov r9, [rsi + rcx + 80]
    mov r10, [rsi + rcx + 88]
    mov [rdi + rcx + 64], rdx
    mov [rdi + rcx + 72], r8
    mov [rdi + rcx + 80], r9
    mov [rdi + rcx + 88], r10
    mov rdx, [rsi + rcx + 96]
    mov r8, [rsi + rcx + 104]
    mov r9, [rsi + rcx + 112]
    mov r10, [rsi + rcx + 120]
    mov [rdi + rcx + 96], rdx
    mov [rdi + rcx + 104], r8
    mov [rdi + rcx + 112], r9
    mov [rdi + rcx + 120], r10
    add rcx, 128
    js 21b
22:
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
18:
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
    ret
"#,
            ".size ",
            $cpy,
            ", . - ",
            $cpy,
            "\n",
            ".section .text.",
            $set,
            ", \"ax\"\n",
            ".globl ",
            $set,
            "\n",
            ".type ",
            $set,
            ", @function\n",
            ".p2align 4\n",
            $set,
            ":\n",
            r#"
    mov rax, rdi
    movzx ecx, sil
    movabs r8, 0x0101010101010101
    imul rcx, r8
    cmp rdx, 128
    jae 20f
    cmp rdx, 64
    jae 16f
    cmp rdx, 32
    jae 15f
    cmp rdx, 16
    jae 14f
    cmp rdx, 8
    jae 13f
    cmp rdx, 4
    jae 12f
    test rdx, rdx
    jz 11f
    mov r9, rdx
    shr r9, 1
    mov [rdi], cl
    mov [rdi + rdx - 1], cl
    mov [rdi + r9], cl
11:
    ret
12:
    mov [rdi], ecx
    mov [rdi + rdx - 4], ecx
    ret
13:
    mov [rdi], rcx
    mov [rdi + rdx - 8], rcx
    ret
14:
    mov [rdi], rcx
    mov [rdi + 8], rcx
    mov [rdi + rdx - 16], rcx
    mov [rdi + rdx - 8], rcx
    ret
15:
    mov [rdi], rcx
    mov [rdi + 8], rcx
    mov [rdi + 16], rcx
    mov [rdi + 24], rcx
    mov [rdi + rdx - 32], rcx
    mov [rdi + rdx - 24], rcx
    mov [rdi + rdx - 16], rcx
    mov [rdi + rdx - 8], rcx
    ret
16:
    mov [rdi], rcx
    mov [rdi + 8], rcx
    mov [rdi + 16], rcx
    mov [rdi + 24], rcx
    mov [rdi + 32], rcx
    mov [rdi + 40], rcx
    mov [rdi + 48], rcx
    mov [rdi + 56], rcx
    lea rdi, [rdi + rdx - 64]
    jmp 18f
20:
    lea r9, [rdx - 128]
    add rdi, r9
    neg r9
    jz 22f
21:
    mov [rdi + r9], rcx
    mov [rdi + r9 + 8], rcx
    mov [rdi + r9 + 16], rcx
    mov [rdi + r9 + 24], rcx
    mov [rdi + r9 + 32], rcx
    mov [rdi + r9 + 40], rcx
    mov [rdi + r9 + 48], rcx
    mov [rdi + r9 + 56], rcx
    mov [rdi + r9 + 64], rcx
    mov [rdi + r9 + 72], rcx
    mov [rdi + r9 + 80], rcx
    mov [rdi + r9 + 88], rcx
    mov [rdi + r9 + 96], rcx
    mov [rdi + r9 + 104], rcx
    mov [rdi + r9 + 112], rcx
    mov [rdi + r9 + 120], rcx
    add r9, 128
    js 21b
22:
    mov [rdi], rcx
    mov [rdi + 8], rcx
    mov [rdi + 16], rcx
    mov [rdi + 24], rcx
    mov [rdi + 32], rcx
    mov [rdi + 40], rcx
    mov [rdi + 48], rcx
    mov [rdi + 56], rcx
    add rdi, 64
18:
    mov [rdi], rcx
    mov [rdi + 8], rcx
    mov [rdi + 16], rcx
    mov [rdi + 24], rcx
    mov [rdi + 32], rcx
    mov [rdi + 40], rcx
    mov [rdi + 48], rcx
    mov [rdi + 56], rcx
    ret
"#,
            ".size ",
            $set,
            ", . - ",
            $set,
            "\n",
            ".text\n",
        ));
    };
}

#[cfg(target_os = "none")]
copy_asm!("memcpy", "memset");

#[cfg(test)]
copy_asm!("kx_test_memcpy", "kx_test_memset");

#[cfg(test)]
mod tests {
    // SAFETY: declarations only: `copy_asm!` above assembles these two
    // symbols with the C signatures of memcpy and memset.
    unsafe extern "C" {
        fn kx_test_memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8;
        fn kx_test_memset(dst: *mut u8, c: i32, n: usize) -> *mut u8;
    }

    /// Every size up to 1,100 and some page-sized ones, at unaligned
    /// offsets of both ends, with guard bytes around: exactly the `n`
    /// bytes written, the right ones, the destination returned.
    #[test]
    fn memcpy_and_memset_every_size_and_offset() {
        let src: alloc::vec::Vec<u8> = (0..9000usize).map(|i| (i * 7 + 3) as u8).collect();
        let sizes = (0..=1100usize).chain([2688, 4095, 4096, 4097, 8191, 8192]);
        for n in sizes {
            for (so, off) in [(0usize, 0usize), (3, 1), (5, 7), (8, 8), (1, 13)] {
                let mut dst = alloc::vec![0xeeu8; n + 64];
                // SAFETY: `off + n` bytes fit in `dst` and `so + n` in `src`;
                // the two vectors do not overlap.
                let r = unsafe { kx_test_memcpy(dst.as_mut_ptr().add(off), src.as_ptr().add(so), n) };
                assert_eq!(r, dst.as_mut_ptr().wrapping_add(off));
                for (i, &b) in dst.iter().enumerate() {
                    let want = if (off..off + n).contains(&i) { src[i - off + so] } else { 0xee };
                    assert_eq!(b, want, "memcpy of {n} bytes at offset {off}: byte {i}");
                }
                // SAFETY: `off + n` bytes fit in `dst`.
                let r = unsafe { kx_test_memset(dst.as_mut_ptr().add(off), 0x15a, n) };
                assert_eq!(r, dst.as_mut_ptr().wrapping_add(off));
                for (i, &b) in dst.iter().enumerate() {
                    let want = if (off..off + n).contains(&i) { 0x5a } else { 0xee };
                    assert_eq!(b, want, "memset of {n} bytes at offset {off}: byte {i}");
                }
            }
        }
    }
}

/* Boot entry: PVH (QEMU -kernel) and Multiboot2 (GRUB) both arrive here in
 * 32-bit protected mode with paging off. One stub builds boot page tables
 * (identity + direct map + higher half, 4 GiB of 2 MiB pages), enters long
 * mode and calls the Rust entry `arch_boot_entry(magic, info_paddr, tsc0)`. */

.set KERNEL_BASE,  0xffffffff80000000
.set MB2_MAGIC,    0xe85250d6
.set PVH_MAGIC,    0x336ec578

/* ---------------------------------------------------------------- headers */
.section .multiboot2_header, "a"
.balign 8
mb2_header_start:
    .long MB2_MAGIC
    .long 0                                    /* architecture: i386 (protected mode) */
    .long mb2_header_end - mb2_header_start
    .long -(MB2_MAGIC + 0 + (mb2_header_end - mb2_header_start))
    /* end tag */
    .balign 8
    .short 0
    .short 0
    .long 8
mb2_header_end:

.section .note.Xen, "a", @note
.balign 4
    .long 4                                    /* name size: "Xen\0" */
    .long 4                                    /* descriptor size */
    .long 18                                   /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_entry
.balign 4

/* ------------------------------------------------------------- 32-bit code */
.section .boot.text, "ax"
.code32
.global mb2_entry
mb2_entry:
    /* eax = multiboot2 magic 0x36d76289, ebx = physical address of the MBI */
    mov %eax, %edi
    rdtsc
    mov %eax, boot_tsc
    mov %edx, boot_tsc + 4
    mov %ebx, %esi
    jmp common32

.global pvh_entry
pvh_entry:
    /* ebx = physical address of struct hvm_start_info */
    rdtsc
    mov %eax, boot_tsc
    mov %edx, boot_tsc + 4
    mov $PVH_MAGIC, %edi
    mov %ebx, %esi

common32:
    cli
    cld
    /* zero the boot page tables: 7 pages from boot_pml4 */
    push %edi
    mov $boot_pml4, %edi
    xor %eax, %eax
    mov $(7 * 1024), %ecx
    rep stosl
    pop %edi

    /* four page directories: 2048 x 2 MiB = the first 4 GiB */
    mov $boot_pd, %ebx
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax                             /* present | writable | huge */
    mov %eax, (%ebx, %ecx, 8)
    inc %ecx
    cmp $2048, %ecx
    jne 1b

    /* low PDPT: 4 entries -> the 4 directories */
    mov $boot_pd, %eax
    or $3, %eax
    mov %eax, boot_pdpt_low
    add $4096, %eax
    mov %eax, boot_pdpt_low + 8
    add $4096, %eax
    mov %eax, boot_pdpt_low + 16
    add $4096, %eax
    mov %eax, boot_pdpt_low + 24

    /* high PDPT: entries 510 and 511 -> the first 2 GiB at KERNEL_BASE */
    mov $boot_pd, %eax
    or $3, %eax
    mov %eax, boot_pdpt_high + 510 * 8
    add $4096, %eax
    mov %eax, boot_pdpt_high + 511 * 8

    /* PML4: 0 = identity, 256 = direct map (0xffff800000000000), 511 = kernel */
    mov $boot_pdpt_low, %eax
    or $3, %eax
    mov %eax, boot_pml4
    mov %eax, boot_pml4 + 256 * 8
    mov $boot_pdpt_high, %eax
    or $3, %eax
    mov %eax, boot_pml4 + 511 * 8

    /* CR4.PAE | CR4.PGE */
    mov %cr4, %eax
    or $((1 << 5) | (1 << 7)), %eax
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    /* EFER.LME | EFER.NXE */
    mov $0xc0000080, %ecx
    rdmsr
    or $((1 << 8) | (1 << 11)), %eax
    wrmsr
    /* CR0.PG | CR0.WP | CR0.PE */
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16) | 1), %eax
    mov %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $long_mode_low

.code64
long_mode_low:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    mov boot_tsc, %rdx
    movabs $long_mode_high, %rax
    jmp *%rax

/* ------------------------------------------------------------- boot data */
.section .boot.data, "aw"
.balign 8
boot_tsc:
    .quad 0
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff                   /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff                   /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt

.section .boot.bss, "aw", @nobits
.balign 4096
.global boot_pml4
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4 * 4096

/* ------------------------------------------------------ higher-half entry */
.section .text.boot64, "ax"
.code64
long_mode_high:
    movabs $boot_stack_top, %rsp
    xor %ebp, %ebp                             /* ends every backtrace */
    mov %edi, %edi                             /* magic (zero-extended) */
    mov %esi, %esi                             /* info physical address */
    call arch_boot_entry
2:  hlt
    jmp 2b

.section .bss.boot_stack, "aw", @nobits
.balign 4096
.global boot_stack_bottom
boot_stack_bottom:
    .skip 128 * 1024
.global boot_stack_top
boot_stack_top:

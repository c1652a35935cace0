//! Entering and leaving ring 3 (bare metal only).

use super::{FpuBox, FpuState};
use super::{SYSCALL_TRAP, USER_FLAGS, UserContext, UserExit, canonical_user};
use crate::gdt;
use core::sync::atomic::{AtomicUsize, Ordering};
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{Efer, EferFlags, FsBase, KernelGsBase, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;

/// The image (by address: an [`FpuBox`]'s) of the context whose FPU state
/// is in this CPU's FPU registers and not saved, or 0 (the per-CPU
/// record's `fpu_live`). It always belongs to a context of the kernel
/// thread running on this CPU: `context::switch` saves the registers into
/// that image in place and clears the record ([`fpu_switch_out`]), so a
/// thread that moves to another CPU finds its state in its own image
/// there. While named here, the image is written only by that save, with
/// interrupts off; the context takes it back ([`fpu_save_live`],
/// [`fpu_disown`]) before anything reads or writes it, and its drop
/// disowns it, so the pointer never outlives the image.
fn fpu_live() -> &'static AtomicUsize {
    &crate::percpu::me().fpu_live
}

/// Saves the FPU registers into `dst` (XSAVE of every XCR0 component, or
/// FXSAVE without XSAVE).
pub(crate) fn fxsave(dst: &mut FpuState) {
    if crate::xstate::enabled() {
        // SAFETY: XSAVE writes at most the CPUID size for XCR0, which
        // `xstate::init` keeps within XSTATE_MAX, to a 64-byte aligned
        // buffer (FpuState is repr(align(64))); OSXSAVE is set on every CPU.
        unsafe {
            core::arch::asm!("xsave64 [{}]", in(reg) dst.0.as_mut_ptr(), in("eax") u32::MAX, in("edx") u32::MAX,
                options(nostack))
        }
    } else {
        // SAFETY: FXSAVE writes 512 bytes to a 16-byte aligned buffer.
        unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) dst.0.as_mut_ptr(), options(nostack)) }
    }
}

/// Whether this CPU's registers of the extended components (every XCR0
/// component but x87 and SSE) are known to hold their init state (zeros):
/// set where the kernel has just seen them so (an XRSTOR that initialised
/// them all; a save that found them zero, [`note_saved`]), cleared
/// whenever user mode runs. The kernel itself never uses them.
fn ext_init() -> &'static core::sync::atomic::AtomicBool {
    &crate::percpu::me().fpu_ext_init
}

/// After an XSAVE of the registers into `img` (which they still hold):
/// marks its zero components as init, and notes whether the registers'
/// extended components are all in their init state.
fn note_saved(img: &mut FpuState) {
    if crate::xstate::enabled() {
        crate::xstate::mark_zero_components_now(img);
        ext_init().store(crate::xstate::xstate_bv(img) & !crate::xstate::FPSSE == 0, Ordering::Relaxed);
    }
}

/// Loads the FPU registers from `src`. An image with nothing in use but
/// x87 and SSE (or the initial state, whose legacy area holds FNINIT's
/// values) goes through FXRSTOR when the extended registers are in their
/// init state already: the same state as XRSTOR's, which under QEMU also
/// ends the translation block with an exit to its main loop. Else XRSTOR
/// (or FXRSTOR without XSAVE).
fn restore(src: &FpuState) {
    if crate::xstate::enabled() {
        let bv = crate::xstate::xstate_bv(src);
        let legacy_only = bv & !crate::xstate::FPSSE == 0
            && (bv == crate::xstate::FPSSE || core::ptr::eq(src, super::initial_fpu()));
        if legacy_only && ext_init().load(Ordering::Relaxed) {
            // SAFETY: as below: 512 aligned bytes, MXCSR's reserved bits
            // clear, so it cannot fault.
            unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) src.0.as_ptr(), options(nostack, readonly)) };
            return;
        }
        fxrstor(src);
        ext_init().store(bv & !crate::xstate::FPSSE == 0, Ordering::Relaxed);
    } else {
        fxrstor(src);
    }
}

/// Loads the FPU registers from `src` (XRSTOR or FXRSTOR).
fn fxrstor(src: &FpuState) {
    if crate::xstate::enabled() {
        // SAFETY: images come from XSAVE, from `xstate::init_state`, or
        // from sigreturn/ptrace through `xstate::from_sigframe` /
        // `from_regset`, which refuse XSTATE_BV bits outside XCR0 and a
        // nonzero XCOMP_BV/reserved word and clear MXCSR's reserved bits:
        // XRSTOR cannot fault. The kernel itself never uses the FPU.
        unsafe {
            core::arch::asm!("xrstor64 [{}]", in(reg) src.0.as_ptr(), in("eax") u32::MAX, in("edx") u32::MAX,
                options(nostack, readonly))
        }
    } else {
        // SAFETY: FXRSTOR reads 512 aligned bytes whose MXCSR reserved bits
        // are clear (as above), so it cannot fault.
        unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) src.0.as_ptr(), options(nostack, readonly)) }
    }
}

/// The FPU state of a live context whose image is `img` into `dst`: from
/// the registers when they hold it, else from `img`, where a switch away
/// saved it.
pub(crate) fn fpu_fetch(dst: &mut FpuState, img: &FpuBox) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        if fpu_live().load(Ordering::Relaxed) == img.addr() {
            fxsave(dst);
            // the registers still hold what `dst` now holds: a copy made
            // for fork/vfork then loads by FXRSTOR too (QEMU's XSAVE marks
            // every component in use)
            note_saved(dst);
        } else {
            crate::xstate::copy_live(&crate::xstate::layout(), dst, img);
        }
    });
}

/// Saves the registers into `img` when they hold its state, and forgets
/// them (a switch away already saved it there otherwise).
pub(crate) fn fpu_save_live(img: &mut FpuBox) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        if fpu_live().load(Ordering::Relaxed) == img.addr() {
            fxsave(img);
            // (a signal frame made of it then says so too, and the
            // restore after its sigreturn is the cheaper one)
            note_saved(img);
            fpu_live().store(0, Ordering::Relaxed);
        }
    });
}

/// Forgets the registers' state of image `img` without saving it (its
/// context replaces or drops the state).
pub(crate) fn fpu_disown(img: usize) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        if fpu_live().load(Ordering::Relaxed) == img {
            fpu_live().store(0, Ordering::Relaxed);
        }
    });
}

/// Called by `context::switch` on the way out of a kernel thread (and by
/// `run` before it loads another image): saves the live FPU state, if any,
/// into its context's image in place. Interrupts are off.
pub(crate) fn fpu_switch_out() {
    let img = fpu_live().swap(0, Ordering::Relaxed);
    if img != 0 {
        // SAFETY: a nonzero `fpu_live` is the address of a live
        // `FpuBox`'s image of a context of the thread running here, which
        // nothing else references now (see `fpu_live`); interrupts are
        // off, so nothing else runs on this CPU meanwhile.
        let img = unsafe { &mut *(img as *mut FpuState) };
        fxsave(img);
        // the restore when the thread runs again is cheaper with zero
        // components marked init (the same state)
        note_saved(img);
    }
}

/// A kernel thread ends: whatever FPU state is live is nobody's any more.
pub(crate) fn fpu_forget() {
    fpu_live().store(0, Ordering::Relaxed);
}

core::arch::global_asm!(
    r#"
.section .text.user, "ax"
/* arch_xrstor_checked(img: *const u8) -> u64: XRSTOR of every XCR0
 * component from `img`; 0, or 1 when it faulted (#GP: a header or MXCSR
 * it refuses), after `trap_dispatch` resumed at the fixup */
.global arch_xrstor_checked
arch_xrstor_checked:
    mov $-1, %eax
    mov $-1, %edx
.global arch_xrstor_checked_insn
arch_xrstor_checked_insn:
    xrstor64 (%rdi)
    xor %eax, %eax
    ret
.global arch_xrstor_checked_fixup
arch_xrstor_checked_fixup:
    mov $1, %eax
    ret
"#,
    options(att_syntax)
);

// SAFETY: declarations only: these symbols come from the assembly above, with these types.
unsafe extern "C" {
    fn arch_xrstor_checked(img: *const u8) -> u64;
    static arch_xrstor_checked_insn: u8;
    static arch_xrstor_checked_fixup: u8;
}

/// Where a #GP in the kernel at `rip` resumes: the XRSTOR of a user's
/// signal-frame image ([`UserContext::fpu_from_user_page`]) returns
/// "refused" instead (the user may change the image between the checks
/// and the XRSTOR from another CPU); every other kernel exception is
/// fatal.
pub(crate) fn gp_fixup(rip: u64) -> Option<u64> {
    (rip == &raw const arch_xrstor_checked_insn as u64).then_some(&raw const arch_xrstor_checked_fixup as u64)
}

/// One checked XRSTOR of `img` (every XCR0 component) with interrupts
/// off, after any live state was saved into its image (the registers are
/// nobody's afterwards): `false` when it faulted. For the kernel's own
/// tests of the fixup.
pub(crate) fn xrstor_checked_for_test(img: &FpuState) -> bool {
    x86_64::instructions::interrupts::without_interrupts(|| {
        fpu_switch_out();
        // SAFETY: `img` is 64-byte aligned (FpuState) and XSTATE_MAX
        // bytes long, more than XRSTOR reads; a #GP resumes at the fixup.
        let r = unsafe { arch_xrstor_checked(img.0.as_ptr()) };
        ext_init().store(false, Ordering::Relaxed);
        r == 0
    })
}

impl UserContext {
    /// Saves the live FPU state straight into a signal frame's image at
    /// `offset` in the user page `frame` (Linux's `copy_fpregs_to_sigframe`:
    /// the header cleared, XSAVE into the frame, then `save_xstate_epilog`'s
    /// sw bytes, FP|SSE in XSTATE_BV and MAGIC2: `xstate::sigframe_epilog`)
    /// and resets the state to the initial one (the handler's, as
    /// [`UserContext::reset_fpu`]). `false`, with nothing written and
    /// nothing changed, unless XSAVE is in use, the state is live in this
    /// CPU's registers and the image with MAGIC2 lies in the page 64-byte
    /// aligned: the caller then writes the image by copies
    /// ([`UserContext::fpu_for_frame`]).
    ///
    /// `frame` must be mapped writable in the running thread's address
    /// space and stay so during the call: the caller holds the address
    /// space's lock from the look-up for writing (which broke any
    /// copy-on-write sharing) to the return, so no munmap, mprotect or
    /// fork on another CPU can take or share it meanwhile.
    pub fn fpu_to_user_page(&mut self, l: &crate::xstate::Layout, frame: vm::Frame, offset: usize) -> bool {
        let size = l.size as usize;
        if !l.xsave() || !offset.is_multiple_of(64) || offset + size + 4 > vm::PAGE_SIZE || self.fpu_live == 0
        {
            return false;
        }
        let Some(img) = self.fpu.as_ref().map(FpuBox::addr) else { return false };
        let page =
            crate::mem::frames::frame_bytes_mut(x86_64::structures::paging::PhysFrame::containing_address(
                x86_64::PhysAddr::new(frame.phys_addr()),
            ));
        let buf = &mut page[offset..offset + size + 4];
        let saved = x86_64::instructions::interrupts::without_interrupts(|| {
            if fpu_live().load(Ordering::Relaxed) != img {
                return false;
            }
            // XSAVE writes XSTATE_BV only: the rest of the header as Linux
            buf[crate::xstate::HEADER..crate::xstate::HEADER + 64].fill(0);
            // SAFETY: XSAVE writes at most `size` bytes (the CPUID size
            // for XCR0) from `buf`'s start, 64-byte aligned (a page's
            // direct-map address plus a multiple of 64), inside `buf`;
            // the direct map is present and writable, so it cannot fault.
            // The registers hold this context's state (checked above with
            // interrupts off).
            unsafe {
                core::arch::asm!("xsave64 [{}]", in(reg) buf.as_mut_ptr(), in("eax") u32::MAX, in("edx") u32::MAX,
                    options(nostack))
            }
            // the handler's state is the initial one: the registers are
            // nobody's now
            fpu_live().store(0, Ordering::Relaxed);
            true
        });
        if !saved {
            return false;
        }
        self.fpu_live = 0;
        self.fpu_init = true;
        crate::xstate::sigframe_epilog(l, buf);
        true
    }

    /// Loads the FPU state a sigreturn restores straight from the frame's
    /// image at `offset` in the user page `frame`, with one XRSTOR of every
    /// XCR0 component (Linux's `xrstor_from_user_sigframe`), when
    /// `xstate::direct_restore_ok` accepts the image (an XSAVE image whose
    /// `xfeatures` name every component, a header XRSTOR takes) and it lies
    /// in the page with MAGIC2, 64-byte aligned: the registers then hold
    /// the state (live, as after `run`). `false` otherwise, or when the
    /// XRSTOR faulted anyway (the user changed the image from another CPU
    /// meanwhile: `gp_fixup`): the caller reads the image by copies, which
    /// decide as before. The registers' old state (the handler's) is
    /// dropped either way once the checks passed.
    ///
    /// `frame` must be mapped readable in the running thread's address
    /// space during the call (the caller holds the address space's lock,
    /// as for [`UserContext::fpu_to_user_page`]).
    pub fn fpu_from_user_page(&mut self, l: &crate::xstate::Layout, frame: vm::Frame, offset: usize) -> bool {
        let size = l.size as usize;
        if !l.xsave() || !offset.is_multiple_of(64) || offset + size + 4 > vm::PAGE_SIZE {
            return false;
        }
        let Some(img) = self.fpu.as_ref().map(FpuBox::addr) else { return false };
        let page =
            crate::mem::frames::frame_bytes(x86_64::structures::paging::PhysFrame::containing_address(
                x86_64::PhysAddr::new(frame.phys_addr()),
            ));
        let buf = &page[offset..offset + size + 4];
        if !crate::xstate::direct_restore_ok(l, buf) {
            return false;
        }
        self.fpu_live = 0;
        let loaded = x86_64::instructions::interrupts::without_interrupts(|| {
            let live = fpu_live().load(Ordering::Relaxed);
            if live != 0 && live != img {
                // another context of this thread left its state live
                // (not done by the kernel's paths): keep it
                fpu_switch_out();
            }
            // the handler's state is dropped
            fpu_live().store(0, Ordering::Relaxed);
            ext_init().store(false, Ordering::Relaxed);
            // SAFETY: the image lies in `buf` (checked above: 64-byte
            // aligned, the standard-format size for XCR0 inside the page),
            // in the direct map, so XRSTOR cannot page-fault; a #GP (a
            // header or MXCSR changed since the checks) resumes at the
            // fixup, which returns 1 (`gp_fixup`). Interrupts are off.
            let r = unsafe { arch_xrstor_checked(buf.as_ptr()) };
            if r == 0 {
                fpu_live().store(img, Ordering::Relaxed);
            }
            r == 0
        });
        if loaded {
            self.fpu_live = 1;
            self.fpu_init = false;
        }
        loaded
    }
}

const USER_CS: u64 = 0x33;
const USER_SS: u64 = 0x2b;

core::arch::global_asm!(
    r#"
.section .text.user, "ax"
.set R_RAX, 0
.set R_RBX, 8
.set R_RCX, 16
.set R_RDX, 24
.set R_RSI, 32
.set R_RDI, 40
.set R_RBP, 48
.set R_RSP, 56
.set R_R8, 64
.set R_R9, 72
.set R_R10, 80
.set R_R11, 88
.set R_R12, 96
.set R_R13, 104
.set R_R14, 112
.set R_R15, 120
.set R_RIP, 128
.set R_RFLAGS, 136
.set R_FS, 144
.set R_GS, 152
.set R_TRAP, 160
.set R_ERR, 168
.set R_CR2, 176
.set R_FPU, 192

/* Loads every general register but rdi and rsp from the context at rdi. */
.macro restore_user_gprs
    mov R_RAX(%rdi), %rax
    mov R_RBX(%rdi), %rbx
    mov R_RCX(%rdi), %rcx
    mov R_RDX(%rdi), %rdx
    mov R_RSI(%rdi), %rsi
    mov R_RBP(%rdi), %rbp
    mov R_R8(%rdi), %r8
    mov R_R9(%rdi), %r9
    mov R_R10(%rdi), %r10
    mov R_R11(%rdi), %r11
    mov R_R12(%rdi), %r12
    mov R_R13(%rdi), %r13
    mov R_R14(%rdi), %r14
    mov R_R15(%rdi), %r15
.endm

/* arch_user_run(ctx: *mut UserContext): interrupts are off on entry; the
 * FPU registers already hold the context's state (see `run`) */
.global arch_user_run
arch_user_run:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    push %rdi
    mov %rsp, %gs:8
    mov %rdi, %gs:16
    mov %gs:24, %rax
    mov %rsp, (%rax)
    /* FS base, and the user GS base into KERNEL_GS_BASE (swapgs swaps it
     * in); WRMSR is slow (it serializes), so only when the value differs
     * from the one last written (per-CPU; user space cannot write these
     * MSRs: CR4.FSGSBASE is off) */
    mov R_FS(%rdi), %rax
    cmp %gs:32, %rax
    je 1f
    mov %rax, %gs:32
    mov %rax, %rdx
    shr $32, %rdx
    mov $0xc0000100, %ecx
    wrmsr
1:  mov R_GS(%rdi), %rax
    cmp %gs:40, %rax
    je 2f
    mov %rax, %gs:40
    mov %rax, %rdx
    shr $32, %rdx
    mov $0xc0000102, %ecx
    wrmsr
2:
    /* SYSRET restores rip from rcx and rflags from r11: when the context
     * already holds rcx == rip and r11 == rflags (every plain return from a
     * system call), it gives exactly the state iretq would, faster. */
    mov R_RCX(%rdi), %rax
    cmp R_RIP(%rdi), %rax
    jne 3f
    mov R_R11(%rdi), %rax
    cmp R_RFLAGS(%rdi), %rax
    jne 3f
    restore_user_gprs
    mov R_RSP(%rdi), %rsp
    mov R_RDI(%rdi), %rdi
    swapgs
    sysretq
3:  pushq ${user_ss}
    pushq R_RSP(%rdi)
    pushq R_RFLAGS(%rdi)
    pushq ${user_cs}
    pushq R_RIP(%rdi)
    restore_user_gprs
    mov R_RDI(%rdi), %rdi
    swapgs
    iretq

/* SYSCALL from ring 3: rcx = user rip, r11 = user rflags, IF cleared by FMASK */
.global arch_syscall_entry
arch_syscall_entry:
    swapgs
    mov %rsp, %gs:0
    mov %gs:16, %rsp
    mov %rax, R_RAX(%rsp)
    mov %rbx, R_RBX(%rsp)
    mov %rcx, R_RCX(%rsp)
    mov %rdx, R_RDX(%rsp)
    mov %rsi, R_RSI(%rsp)
    mov %rdi, R_RDI(%rsp)
    mov %rbp, R_RBP(%rsp)
    mov %r8, R_R8(%rsp)
    mov %r9, R_R9(%rsp)
    mov %r10, R_R10(%rsp)
    mov %r11, R_R11(%rsp)
    mov %r12, R_R12(%rsp)
    mov %r13, R_R13(%rsp)
    mov %r14, R_R14(%rsp)
    mov %r15, R_R15(%rsp)
    mov %rcx, R_RIP(%rsp)
    mov %r11, R_RFLAGS(%rsp)
    mov %gs:0, %rax
    mov %rax, R_RSP(%rsp)
    movq $0x100, R_TRAP(%rsp)
    mov %gs:8, %rsp
    jmp arch_user_return

/* A trap from ring 3 after trap_common saved a TrapFrame (and did swapgs):
 * rdi = the frame; copy it into the context, then return from run. */
.global arch_user_trap_return
arch_user_trap_return:
    call arch_user_trap_copy
    mov %gs:8, %rsp
    jmp arch_user_return

arch_user_return:
    pop %rdi
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret
"#,
    user_cs = const USER_CS,
    user_ss = const USER_SS,
    options(att_syntax)
);

// SAFETY: declarations only: these symbols come from this crate's linker script or assembly, with these types.
unsafe extern "C" {
    /// `ctx` is a `UserContext` (the assembly uses its repr(C) register
    /// fields' offsets).
    fn arch_user_run(ctx: *mut u8);
    fn arch_syscall_entry();
}

/// Copies a ring-3 trap frame into the running context (called from the
/// trap path in assembly).
// SAFETY: the name is unique in the kernel; only this crate's assembly calls it, with this ABI.
#[unsafe(no_mangle)]
extern "C" fn arch_user_trap_copy(f: &crate::trap::TrapFrame) {
    // SAFETY: `ctx` was set by `run` to the context being run, which `run`'s
    // caller borrows mutably for the whole call; interrupts are off.
    let ctx = unsafe { &mut *((*crate::percpu::this()).ctx as *mut UserContext) };
    let r = &mut ctx.regs;
    (r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp) = (f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi, f.rbp);
    (r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15) =
        (f.r8, f.r9, f.r10, f.r11, f.r12, f.r13, f.r14, f.r15);
    (r.rip, r.rsp, r.rflags) = (f.rip, f.rsp, f.rflags);
    ctx.trap = f.vector;
    ctx.error_code = f.error_code;
    ctx.cr2 = if f.vector == 14 { x86_64::registers::control::Cr2::read_raw() } else { 0 };
}

/// Sets up SYSCALL/SYSRET and the per-CPU area. Runs once after the GDT.
pub(crate) fn init() {
    crate::percpu::install(0, crate::apic::id(), gdt::tss_rsp0_slot());
    syscall_msrs();
}

/// The SYSCALL MSRs and zero user bases, on each CPU (the boot CPU through
/// [`init`], the others when they start).
pub(crate) fn syscall_msrs() {
    // KERNEL_GS_BASE and FS_BASE hold the (initially zero) user bases, as
    // the per-CPU record's fs_loaded/gs_loaded say.
    KernelGsBase::write(VirtAddr::new(0));
    FsBase::write(VirtAddr::new(0));
    let Some(sel) = gdt::selectors() else { return };
    // SAFETY: the selectors follow SYSRET's layout (user data = STAR base + 8,
    // user code = base + 16), LSTAR is the entry above, and FMASK clears IF,
    // DF, TF, AC and NT on entry so the entry code runs with interrupts off.
    unsafe {
        if let Err(e) = Star::write(sel.user_code, sel.user_data, sel.kernel_code, sel.kernel_data) {
            crate::kprintln_unlocked!("fatal: STAR: {e}");
            crate::qemu::exit(crate::qemu::ExitCode::Failure);
        }
        LStar::write(VirtAddr::new(arch_syscall_entry as *const () as u64));
        SFMask::write(
            RFlags::INTERRUPT_FLAG
                | RFlags::DIRECTION_FLAG
                | RFlags::TRAP_FLAG
                | RFlags::ALIGNMENT_CHECK
                | RFlags::NESTED_TASK
                | RFlags::IOPL_HIGH
                | RFlags::IOPL_LOW,
        );
        Efer::update(|f| *f |= EferFlags::SYSTEM_CALL_EXTENSIONS);
    }
}

impl UserContext {
    /// Runs the thread in ring 3 until it traps back; interrupts are
    /// enabled again on return. A `rip` outside the user half is reported as
    /// a general-protection fault without entering user mode.
    pub fn run(&mut self) -> UserExit {
        let exit = self.run_irqs_off();
        x86_64::instructions::interrupts::enable();
        exit
    }

    /// [`run`](Self::run), but interrupts stay disabled on return: the
    /// caller enables them (under emulation enabling them costs a trip
    /// through the emulator's main loop, which a system call that only reads
    /// a value and returns can skip: an interrupt that arrived meanwhile is
    /// taken as soon as user mode runs again).
    #[inline]
    pub fn run_irqs_off(&mut self) -> UserExit {
        if !canonical_user(self.regs.rip) {
            return UserExit::Exception { vector: 13, error_code: 0, cr2: 0 };
        }
        if !canonical_user(self.regs.fs_base) {
            self.regs.fs_base = 0;
        }
        if !canonical_user(self.regs.gs_base) {
            self.regs.gs_base = 0;
        }
        self.regs.rflags = (self.regs.rflags & USER_FLAGS) | 0x202;
        x86_64::instructions::interrupts::disable();
        // 0 for a shell, which is not meant to run (it keeps no state)
        let img = self.fpu.as_ref().map_or(0, FpuBox::addr);
        let live = fpu_live().load(Ordering::Relaxed);
        if self.fpu_live == 0 || live != img {
            if live != 0 && live != img {
                // another context of this thread left its state live
                // (not done by the kernel's paths): keep it
                fpu_switch_out();
            }
            match &self.fpu {
                // saved in place by a switch away since it last ran
                Some(f) if self.fpu_live != 0 => restore(f),
                _ => restore(self.image()),
            }
        }
        // user mode may change any register
        ext_init().store(false, Ordering::Relaxed);
        // SAFETY: the context is valid and exclusively borrowed; the entry
        // code returns here through arch_user_return on this same kernel
        // stack with every callee-saved register restored.
        unsafe { arch_user_run(self as *mut UserContext as *mut u8) };
        // the state stays in the registers until someone needs it, or a
        // switch away saves it into the image
        if img != 0 {
            fpu_live().store(img, Ordering::Relaxed);
            self.fpu_live = 1;
        } else {
            self.fpu_init = true;
        }
        match self.trap {
            SYSCALL_TRAP => UserExit::Syscall,
            v @ 0..=31 => UserExit::Exception { vector: v as u8, error_code: self.error_code, cr2: self.cr2 },
            v => {
                crate::trap::handle_irq(v as u8);
                UserExit::Interrupt(v as u8)
            }
        }
    }
}

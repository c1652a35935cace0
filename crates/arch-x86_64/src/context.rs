//! Kernel threads: their stacks and the switch between them.
//!
//! A switch saves the callee-saved registers on the current stack, stores
//! the stack pointer, loads the other thread's and pops its registers. A new
//! thread's stack is laid out so that the first switch to it "returns" into
//! a trampoline that calls its entry function.

use crate::user::{FpuBox, FpuState};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

core::arch::global_asm!(
    r#"
.section .text.context, "ax"
.global arch_switch_stack
arch_switch_stack:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

.global arch_load_stack
arch_load_stack:
    mov %rdi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

.global arch_thread_trampoline
arch_thread_trampoline:
    xor %ebp, %ebp
    mov %r13, %rdi
    call *%r12
    ud2
"#,
    options(att_syntax)
);

// SAFETY: declarations only: these symbols come from this crate's linker script or assembly, with these types.
unsafe extern "C" {
    fn arch_switch_stack(save_rsp: *mut u64, load_rsp: u64);
    fn arch_load_stack(load_rsp: u64) -> !;
    fn arch_thread_trampoline();
}

/// Size of a kernel thread's stack.
pub const KERNEL_STACK_SIZE: usize = 64 * 1024;

#[repr(C, align(16))]
#[derive(Clone, Copy)]
struct Chunk([u8; 16]);

/// The memory of a kernel stack: contiguous frames of its own, given back
/// to the frame allocator when the thread is dropped (so a fork bomb's
/// stacks do not stay in the kernel heap), or heap memory when no
/// contiguous run of frames is free.
enum StackMem {
    Frames { paddr: u64 },
    Heap(Vec<Chunk>),
}

const STACK_PAGES: usize = KERNEL_STACK_SIZE / crate::mem::PAGE_SIZE as usize;

/// Stacks of threads that ended, kept for the next threads (as Linux's
/// per-CPU `cached_stacks`): a run of contiguous frames is found by a scan
/// of the frame bitmap, which made every fork and vfork pay for it.
/// Physical addresses; 0 is an empty slot (no stack lies below 1 MiB).
static STACK_CACHE: spin::Mutex<[u64; 4]> = spin::Mutex::new([0; 4]);

/// Gives the cached stacks of ended threads back to the frame allocator
/// (for a leak check that counts free frames).
pub fn release_cached_stacks() {
    let cached = core::mem::take(&mut *STACK_CACHE.lock());
    for paddr in cached.into_iter().filter(|&p| p != 0) {
        crate::mem::frames::free_contiguous(paddr, STACK_PAGES);
    }
}

/// The word at the lowest address of every kernel stack (Linux's
/// `STACK_END_MAGIC`): a switch away from a thread whose word changed
/// reports the overflow instead of running on with the memory below the
/// stack overwritten (Linux's `CONFIG_SCHED_STACK_END_CHECK`).
const STACK_END_MAGIC: u64 = 0x57ac_6e9d_57ac_6e9d;

impl StackMem {
    fn new() -> Option<Self> {
        let mem = Self::alloc()?;
        let (lo, _) = mem.range();
        // SAFETY: `lo` is the lowest, 16-aligned word of the stack just
        // allocated, which no one else uses.
        unsafe { (lo as *mut u64).write(STACK_END_MAGIC) };
        Some(mem)
    }

    /// Whether the stack's lowest word still holds [`STACK_END_MAGIC`]
    /// (the boot thread's stack, not ours, is not checked).
    fn end_intact(&self) -> bool {
        let (lo, size) = self.range();
        // SAFETY: a stack of ours is at least 8 bytes from `lo`, and owned
        // by this value.
        size == 0 || unsafe { (lo as *const u64).read() } == STACK_END_MAGIC
    }

    fn alloc() -> Option<Self> {
        let cached = STACK_CACHE.lock().iter_mut().find(|p| **p != 0).map(core::mem::take);
        if let Some(paddr) = cached {
            return Some(StackMem::Frames { paddr });
        }
        if let Some(paddr) = crate::mem::frames::alloc_contiguous(STACK_PAGES, 1) {
            return Some(StackMem::Frames { paddr });
        }
        // no run of free frames: heap memory, if the heap has it (a fork
        // bomb that exhausts memory gets ENOMEM, not a failed allocation)
        let mut v = Vec::new();
        v.try_reserve_exact(KERNEL_STACK_SIZE / 16).ok()?;
        v.resize(KERNEL_STACK_SIZE / 16, Chunk([0; 16]));
        Some(StackMem::Heap(v))
    }

    /// The lowest address and the size in bytes.
    fn range(&self) -> (u64, u64) {
        match self {
            StackMem::Frames { paddr } => (crate::mem::phys_to_virt(*paddr), KERNEL_STACK_SIZE as u64),
            StackMem::Heap(v) => (v.as_ptr() as u64, (v.len() * 16) as u64),
        }
    }
}

impl Drop for StackMem {
    fn drop(&mut self) {
        if let StackMem::Frames { paddr } = *self {
            let kept = STACK_CACHE.lock().iter_mut().find(|p| **p == 0).map(|p| *p = paddr).is_some();
            if !kept {
                crate::mem::frames::free_contiguous(paddr, STACK_PAGES);
            }
        }
    }
}

/// The memory of a kernel thread's stack and its FPU spill area,
/// allocated before the thread is made (a clone allocates it where it can
/// still fail with ENOMEM, and builds the thread on it once the clone is
/// done).
pub struct KernelStack(StackMem, FpuBox);

impl KernelStack {
    /// A stack of [`KERNEL_STACK_SIZE`] bytes, or `None` when no memory is
    /// left for one.
    pub fn try_new() -> Option<Self> {
        // zeroed: what a switch does not write of it (XSAVE leaves the
        // components not in use) must hold no old kernel memory
        let spill = FpuBox::try_new(None).ok()?;
        StackMem::new().map(|s| KernelStack(s, spill))
    }

    #[cfg(target_os = "none")]
    pub(crate) fn end_intact(&self) -> bool {
        self.0.end_intact()
    }

    #[cfg(target_os = "none")]
    pub(crate) fn range(&self) -> (u64, u64) {
        self.0.range()
    }
}

/// A kernel thread's stack and its saved stack pointer while switched out.
pub struct KernelThread {
    stack: StackMem,
    rsp: AtomicU64,
    /// Where a switch away saves the FPU state of the user context this
    /// thread left live in the registers (user::entry's lazy FPU). Boxed:
    /// the record stays small, so making a thread copies no 2.7 KiB image
    /// when it moves the record into its `Arc` (each copy a `rep movs` of
    /// 350 iterations, which QEMU's TCG runs one translation block each).
    fpu_spill: UnsafeCell<FpuBox>,
    /// The token of the context whose state `fpu_spill` holds (0: none).
    fpu_token: AtomicUsize,
}

// SAFETY: `fpu_spill` is only touched by this thread itself (in `switch`
// away from it, and through `spill_fetch`/`spill_restore` while it runs),
// with interrupts disabled; the scheduler runs a thread on one CPU at a
// time and lets another CPU switch to it only after the switch away from
// it has returned on its old CPU (its `on_cpu` handshake).
unsafe impl Sync for KernelThread {}

/// The kernel thread running on this CPU (none until the first switch):
/// the per-CPU record's `kthread`.
fn current() -> Option<&'static KernelThread> {
    let p = crate::percpu::me().kthread.load(Ordering::Relaxed) as *const KernelThread;
    // SAFETY: `kthread` is set by `switch`/`exit_to` to the thread they run
    // on this CPU, which the scheduler keeps alive while it runs; callers
    // only use the reference while still running on it.
    unsafe { p.as_ref() }
}

/// An id of the kernel thread running on this CPU (its record's address;
/// 0 before the first switch): the process table's `Platform::caller_id`.
pub fn current_id() -> usize {
    crate::percpu::me().kthread.load(Ordering::Relaxed)
}

fn set_current(k: *const KernelThread) {
    crate::percpu::me().kthread.store(k as usize, Ordering::Relaxed);
}

/// Copies the spilled FPU state of context `token` into `dst`, if the
/// running kernel thread holds it.
#[cfg(target_os = "none")]
pub(crate) fn spill_fetch(dst: &mut FpuState, token: usize) -> bool {
    match current() {
        Some(k) if k.fpu_token.load(Ordering::Relaxed) == token => {
            // SAFETY: see `unsafe impl Sync` above: only the running thread
            // touches its own spill area, with interrupts off.
            let spill: &FpuState = unsafe { &*k.fpu_spill.get() };
            dst.0.copy_from_slice(&spill.0);
            true
        }
        _ => false,
    }
}

/// Loads the spilled FPU state of context `token` into the registers, if
/// the running kernel thread holds it.
#[cfg(target_os = "none")]
pub(crate) fn spill_restore(token: usize) -> bool {
    match current() {
        Some(k) if k.fpu_token.load(Ordering::Relaxed) == token => {
            // SAFETY: as in `spill_fetch`; the image there is what XSAVE
            // (or FXSAVE) wrote.
            crate::user::fxrstor(unsafe { &*k.fpu_spill.get() });
            true
        }
        _ => false,
    }
}

impl KernelThread {
    /// A thread that will run `entry(arg)` on its own stack when first
    /// switched to. `entry` must never return.
    ///
    /// Panics if no memory is left for its stack: for threads the kernel
    /// starts itself at boot; a thread a user asks for is made by
    /// [`KernelThread::try_new`].
    pub fn new(entry: extern "C" fn(usize) -> !, arg: usize) -> Self {
        Self::try_new(entry, arg).expect("no memory for a kernel stack at boot")
    }

    /// As [`KernelThread::new`], or `None` when no memory is left for its
    /// stack (clone answers ENOMEM, as Linux's `dup_task_struct`).
    pub fn try_new(entry: extern "C" fn(usize) -> !, arg: usize) -> Option<Self> {
        Some(Self::with_stack(KernelStack::try_new()?, entry, arg))
    }

    /// As [`KernelThread::new`], on a stack allocated beforehand (where
    /// its failure could still be answered).
    pub fn with_stack(stack: KernelStack, entry: extern "C" fn(usize) -> !, arg: usize) -> Self {
        let KernelStack(stack, spill) = stack;
        let (lo, size) = stack.range();
        let top = lo + size;
        // Initial frame, lowest address first: r15 r14 r13 r12 rbx rbp, then
        // the return address. After `ret` the stack pointer is the 16-byte
        // aligned top, so the trampoline's call sees the ABI's alignment.
        let entry = entry as *const () as u64;
        let trampoline = arch_thread_trampoline as *const () as u64;
        let frame: [u64; 7] = [0, 0, arg as u64, entry, 0, 0, trampoline];
        let rsp = top - 8 * frame.len() as u64;
        // SAFETY: [rsp, top) is the top of the stack just allocated (its own
        // frames in the direct map, or its heap buffer), 8-byte aligned, and
        // no one else uses it yet.
        unsafe { core::ptr::copy_nonoverlapping(frame.as_ptr(), rsp as *mut u64, frame.len()) };
        KernelThread {
            stack,
            rsp: AtomicU64::new(rsp),
            fpu_spill: UnsafeCell::new(spill),
            fpu_token: AtomicUsize::new(0),
        }
    }

    /// A handle for the thread already running (the boot thread): its
    /// stack pointer is filled in by the first switch away from it.
    pub fn current_boot() -> Self {
        KernelThread {
            stack: StackMem::Heap(Vec::new()),
            rsp: AtomicU64::new(0),
            fpu_spill: UnsafeCell::new(
                FpuBox::try_new(None).expect("no memory for the boot thread's FPU spill area"),
            ),
            fpu_token: AtomicUsize::new(0),
        }
    }

    /// The top of the stack (for TSS.rsp0 while this thread runs user code).
    pub fn stack_top(&self) -> u64 {
        let (lo, size) = self.stack.range();
        lo + size
    }

    /// Whether `addr` lies on this thread's stack.
    pub fn on_stack(&self, addr: u64) -> bool {
        let (lo, size) = self.stack.range();
        (lo..lo + size).contains(&addr)
    }
}

/// Switches from the running thread `from` to `to`. Returns when something
/// switches back to `from`.
///
/// `from` must be the thread running now, and both must stay alive while
/// switched out (the scheduler holds them in `Arc`s). Call with interrupts
/// disabled.
pub fn switch(from: &KernelThread, to: &KernelThread) {
    if !from.stack.end_intact() {
        panic!(
            "kernel stack overflow: the thread at {:#x} wrote below its {KERNEL_STACK_SIZE}-byte stack",
            from as *const KernelThread as usize
        );
    }
    #[cfg(target_os = "none")]
    {
        // SAFETY: `from` is the running thread; only it touches its spill
        // area, and interrupts are off.
        let token = crate::user::fpu_switch_out(unsafe { &mut *from.fpu_spill.get() });
        if token != 0 {
            from.fpu_token.store(token, Ordering::Relaxed);
        }
    }
    set_current(to);
    // SAFETY: `to.rsp` is either the stack pointer saved by an earlier
    // switch away from `to` or the initial frame built by `new`, both on a
    // stack `to` still owns; `from.rsp` receives this thread's stack pointer
    // (AtomicU64 has the layout of u64).
    unsafe { arch_switch_stack(from.rsp.as_ptr(), to.rsp.load(Ordering::SeqCst)) }
}

/// Keeps the thread [`exit_to`] switched to alive until the next `exit_to`
/// on the same CPU: the exiting thread's stack is about to be abandoned, so
/// no reference to the target may live there.
static HANDOFF: [spin::Mutex<Option<Arc<KernelThread>>>; crate::percpu::MAX_CPUS] =
    [const { spin::Mutex::new(None) }; crate::percpu::MAX_CPUS];

/// Leaves the running thread for good and runs `to`. The caller must hold
/// no other reference to anything on its own stack that needs dropping (it
/// is never resumed); the scheduler frees the exited thread's stack once it
/// runs elsewhere. Call with interrupts disabled.
pub fn exit_to(to: Arc<KernelThread>) -> ! {
    #[cfg(target_os = "none")]
    crate::user::fpu_forget();
    set_current(Arc::as_ptr(&to));
    let rsp = to.rsp.load(Ordering::SeqCst);
    let old = HANDOFF[crate::percpu::cpu_id()].lock().replace(to);
    // the thread exited before on this CPU: the scheduler still holds it
    // (nothing runs it: it is this CPU's current task or queued)
    drop(old);
    // SAFETY: rsp is `to`'s saved stack pointer (or its initial frame), on a
    // stack kept alive by HANDOFF and by the scheduler.
    unsafe { arch_load_stack(rsp) }
}

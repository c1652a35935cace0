//! Per-CPU data reached through the GS base in the kernel: one [`PerCpu`]
//! record per CPU (index = the kernel's CPU number, 0 = the boot CPU). The
//! user-entry assembly reads its first six fields by offset (`%gs:0` ..
//! `%gs:40`); `self_ptr` lets Rust find the running CPU's record with one
//! load from `%gs:48`.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use x86_64::VirtAddr;
use x86_64::registers::model_specific::GsBase;

/// The most CPUs the kernel brings up (more in the MADT are left offline).
pub const MAX_CPUS: usize = 16;

/// One CPU's record.
#[repr(C)]
pub(crate) struct PerCpu {
    /// The user stack pointer saved at SYSCALL entry (`%gs:0`).
    pub(crate) user_rsp: u64,
    /// The kernel stack the CPU returns to when user mode traps back: the
    /// stack top for SYSCALL (`%gs:8`).
    pub(crate) kernel_rsp: u64,
    /// The user context being run: the current-thread slot (`%gs:16`).
    pub(crate) ctx: u64,
    /// The address of this CPU's TSS.rsp0 (`%gs:24`).
    pub(crate) tss_rsp0: u64,
    /// What FS_BASE holds (the last value written, `%gs:32`).
    pub(crate) fs_loaded: u64,
    /// What KERNEL_GS_BASE holds (`%gs:40`).
    pub(crate) gs_loaded: u64,
    /// The record's own address (`%gs:48`).
    self_ptr: u64,
    /// The kernel's CPU number.
    pub(crate) cpu_id: u64,
    /// The local APIC id.
    pub(crate) apic_id: u64,
    /// The physical address of the top-level page table in CR3 (read by
    /// other CPUs: a shootdown goes only where an address space is loaded).
    pub(crate) root: AtomicU64,
    /// The kernel thread running on this CPU (the process table's caller
    /// id, `context::current_id`; 0 before the first switch).
    pub(crate) kthread: AtomicUsize,
    /// The image (an `FpuBox`'s address) of the user context whose FPU
    /// state is live in this CPU's registers (user::entry's lazy FPU; 0:
    /// none); a switch away saves the registers there.
    pub(crate) fpu_live: AtomicUsize,
    /// A TLB-shootdown request for this CPU is pending (set by the sender,
    /// cleared by this CPU when done: the IPI handler or a spinning CPU's
    /// poll).
    pub(crate) tlb_pending: AtomicBool,
    /// Lazy TLB (`smp::tlb_lazy_enter`): bit 0, the CPU idles in `hlt`
    /// with a user address space still in CR3 and uses none of its
    /// translations, so a shootdown of that space sends it no IPI but
    /// sets bit 1 (stale), and the CPU flushes when it leaves idle.
    pub(crate) tlb_lazy: AtomicU8,
    /// Full TLB flushes (CR3 loads) this CPU did through `mem::paging`
    /// (written by this CPU only, read by others: `paging::flushes`).
    pub(crate) flushes: AtomicU64,
    /// This CPU's registers of the extended XSAVE components (AVX, PKRU,
    /// ...: XCR0 but x87 and SSE) are known to be in their init state
    /// (`user::entry`: a restore that loads no extended component may
    /// then use FXRSTOR).
    pub(crate) fpu_ext_init: AtomicBool,
    /// Bit 0: a [`CpuLocal`] borrow is open on this CPU (`%gs:PIN`): set
    /// by a single unlocked `bts`, which an interrupt cannot split; a
    /// switch ([`crate::context::switch`], `exit_to`) with it set panics,
    /// so a thread cannot leave the CPU whose slot it borrows.
    pin: u64,
}

/// The offset of [`PerCpu::pin`] for `%gs`-relative access.
const PIN: usize = core::mem::offset_of!(PerCpu, pin);
/// The offset of [`PerCpu::cpu_id`] for `%gs`-relative access.
const CPU_ID: usize = core::mem::offset_of!(PerCpu, cpu_id);

static_assertions::const_assert_eq!(core::mem::offset_of!(PerCpu, kernel_rsp), 8);
static_assertions::const_assert_eq!(core::mem::offset_of!(PerCpu, ctx), 16);
static_assertions::const_assert_eq!(core::mem::offset_of!(PerCpu, tss_rsp0), 24);
static_assertions::const_assert_eq!(core::mem::offset_of!(PerCpu, fs_loaded), 32);
static_assertions::const_assert_eq!(core::mem::offset_of!(PerCpu, gs_loaded), 40);
static_assertions::const_assert_eq!(core::mem::offset_of!(PerCpu, self_ptr), 48);

#[repr(align(64))]
struct Cell(UnsafeCell<PerCpu>);

// SAFETY: each record is only touched by its own CPU (the entry assembly
// and Rust code running with interrupts disabled), except the fields
// written by `install` before that CPU runs any code that reads them.
unsafe impl Sync for Cell {}

static PERCPU: [Cell; MAX_CPUS] = [const {
    Cell(UnsafeCell::new(PerCpu {
        user_rsp: 0,
        kernel_rsp: 0,
        ctx: 0,
        tss_rsp0: 0,
        fs_loaded: 0,
        gs_loaded: 0,
        self_ptr: 0,
        cpu_id: 0,
        apic_id: 0,
        root: AtomicU64::new(0),
        kthread: AtomicUsize::new(0),
        fpu_live: AtomicUsize::new(0),
        tlb_pending: AtomicBool::new(false),
        tlb_lazy: AtomicU8::new(0),
        flushes: AtomicU64::new(0),
        fpu_ext_init: AtomicBool::new(false),
        pin: 0,
    }))
}; MAX_CPUS];

/// Points the running CPU's GS base at record `cpu` (called once per CPU,
/// by that CPU, before interrupts are enabled on it).
pub(crate) fn install(cpu: usize, apic_id: u32, tss_rsp0: u64) {
    let Some(c) = PERCPU.get(cpu) else { return };
    let p = c.0.get();
    // SAFETY: the record is this CPU's and nothing else uses it yet; it
    // lives forever, so GS_BASE may point at it.
    unsafe {
        (*p).self_ptr = p as u64;
        (*p).cpu_id = cpu as u64;
        (*p).apic_id = u64::from(apic_id);
        (*p).tss_rsp0 = tss_rsp0;
        GsBase::write(VirtAddr::new(p as u64));
    }
}

/// The running CPU's record (kernel mode: GS base is the record).
pub(crate) fn this() -> *mut PerCpu {
    let p: u64;
    // SAFETY: in kernel mode GS_BASE points at this CPU's record (set by
    // `install` before any code here runs), whose offset 48 is `self_ptr`.
    unsafe { core::arch::asm!("mov {}, gs:[48]", out(reg) p, options(nostack, readonly, preserves_flags)) };
    p as *mut PerCpu
}

/// The kernel's number of the running CPU (0 for the boot CPU).
pub fn cpu_id() -> usize {
    // SAFETY: `this` is the running CPU's installed record.
    unsafe { (*this()).cpu_id as usize }
}

/// The local APIC id of the running CPU.
pub fn apic_id() -> u32 {
    // SAFETY: as in `cpu_id`.
    unsafe { (*this()).apic_id as u32 }
}

/// CPU `cpu`'s record, for the atomic fields other CPUs may read.
pub(crate) fn of(cpu: usize) -> Option<&'static PerCpu> {
    // SAFETY: the records live forever; through a shared reference only
    // the atomic fields are read or written by other CPUs.
    PERCPU.get(cpu).map(|c| unsafe { &*c.0.get() })
}

/// The running CPU's record as a shared reference (for its atomic fields).
pub(crate) fn me() -> &'static PerCpu {
    // SAFETY: as in `cpu_id`; only atomic fields are used through it.
    unsafe { &*this() }
}

/// The top-level page table CPU `cpu` has loaded (0: unknown).
pub fn root_of(cpu: usize) -> u64 {
    of(cpu).map_or(0, |p| p.root.load(Ordering::SeqCst))
}

/// Opens the running CPU's [`CpuLocal`] borrow: false when one is open
/// already (a nested borrow, or an interrupt handler's during one). From
/// here until [`unpin`] the running thread cannot switch away, so cannot
/// move to another CPU. One unlocked `bts` on this CPU's record: only
/// this CPU writes its flag (through `%gs`), and an interrupt comes
/// between instructions, so the test and the set cannot be split (a
/// handler that borrows finds the bit set; one that came before the
/// `bts` has cleared its own by then).
#[inline(always)]
fn pin() -> bool {
    #[cfg(target_os = "none")]
    {
        let was: u8;
        // SAFETY: in kernel mode GS_BASE points at this CPU's record (set by
        // `install` before any code here runs); `pin` is a plain u64 of it
        // touched only by this CPU through %gs. No `nomem`: the compiler
        // must not move the borrow's accesses above it.
        unsafe {
            core::arch::asm!("bts qword ptr gs:[{off}], 0", "setc {was}", off = const PIN,
                was = out(reg_byte) was, options(nostack))
        };
        was == 0
    }
    #[cfg(not(target_os = "none"))]
    true
}

/// Closes the borrow [`pin`] opened (on the same CPU: no switch came
/// between them): a plain store of this CPU's own flag.
#[inline(always)]
fn unpin() {
    #[cfg(target_os = "none")]
    // SAFETY: as in `pin`; no `nomem`, so the borrow's accesses stay above.
    unsafe {
        core::arch::asm!("mov qword ptr gs:[{off}], 0", off = const PIN, options(nostack, preserves_flags))
    };
}

/// Panics if a [`CpuLocal`] borrow is open on the running CPU: called by
/// every switch away from a thread, which may then run on another CPU
/// while its borrow of this CPU's slot lives on.
#[inline(always)]
pub(crate) fn assert_unpinned() {
    #[cfg(target_os = "none")]
    {
        let n: u64;
        // SAFETY: as in `pin`; a read of this CPU's own flag.
        unsafe {
            core::arch::asm!("mov {}, gs:[{off}]", out(reg) n, off = const PIN,
                options(nostack, readonly, preserves_flags))
        };
        if n != 0 {
            panic!("a switch with a CpuLocal borrow open on CPU {}", cpu_id());
        }
    }
}

/// One `T` per CPU that only its own CPU reads and writes, borrowed
/// without a lock ([`CpuLocal::with`]): no locked instruction (a spin
/// lock's `lock cmpxchg` is an atomic helper call under QEMU's
/// multi-threaded TCG, and a slot only its CPU takes never waits).
///
/// Sound because a borrow sets its CPU's flag first ([`pin`]: one
/// instruction, which an interrupt cannot split): (1) a switch with the
/// flag set panics, so the borrowing thread stays on the CPU whose slot it
/// borrows, and no other CPU runs code that reaches that slot; (2) on the
/// same CPU only an interrupt handler can run meanwhile, and its borrow
/// finds the flag set and panics instead of aliasing the slot. So one
/// borrow of one `CpuLocal` at a time per CPU: `f` may not borrow any
/// `CpuLocal` again. On the host (unit tests) the slot is CPU 0's, taken
/// with a compare-exchange.
pub struct CpuLocal<T> {
    slots: [LocalSlot<T>; MAX_CPUS],
}

/// One CPU's slot of a [`CpuLocal`] (a cache line of its own).
#[repr(align(64))]
pub struct LocalSlot<T> {
    #[cfg(not(target_os = "none"))]
    busy: AtomicBool,
    val: UnsafeCell<T>,
}

// SAFETY: a slot's value is reached only through `with`, which hands out
// one `&mut T` at a time per slot (see the type's documentation); `T:
// Send` since the value may be dropped or moved by another thread than
// the one that stored it.
unsafe impl<T: Send> Sync for CpuLocal<T> {}

impl<T> LocalSlot<T> {
    /// A slot holding `v` (for [`CpuLocal::new`]).
    pub const fn new(v: T) -> Self {
        Self {
            #[cfg(not(target_os = "none"))]
            busy: AtomicBool::new(false),
            val: UnsafeCell::new(v),
        }
    }
}

impl<T> CpuLocal<T> {
    /// One slot per CPU, built as `[const { LocalSlot::new(..) }; MAX_CPUS]`.
    pub const fn new(slots: [LocalSlot<T>; MAX_CPUS]) -> Self {
        Self { slots }
    }

    /// Runs `f` on the running CPU's slot. Panics when a `CpuLocal` is
    /// already borrowed on this CPU (`f`, or an interrupt handler that
    /// came during a borrow, borrowing one again) or when `f` switches
    /// away from the thread.
    #[inline(always)]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        #[cfg(target_os = "none")]
        {
            if !pin() {
                nested_borrow();
            }
            let cpu: u64;
            // SAFETY: as in `pin`; `cpu_id` of this CPU's record, read
            // after the pin, so the CPU whose slot is borrowed.
            unsafe {
                core::arch::asm!("mov {}, gs:[{off}]", out(reg) cpu, off = const CPU_ID,
                    options(nostack, readonly, preserves_flags))
            };
            // SAFETY: `install` numbers CPUs below MAX_CPUS. The slot is
            // this CPU's, the thread is pinned to it and no other borrow is
            // open on the CPU: no other `&mut` to it exists (the type's
            // documentation).
            let r = f(unsafe { &mut *self.slots.get_unchecked(cpu as usize).val.get() });
            unpin();
            r
        }
        #[cfg(not(target_os = "none"))]
        {
            let slot = &self.slots[0];
            if slot.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
                nested_borrow();
            }
            // SAFETY: `busy` was taken by the compare-exchange above.
            let r = f(unsafe { &mut *slot.val.get() });
            slot.busy.store(false, Ordering::Release);
            r
        }
    }
}

#[cold]
#[inline(never)]
fn nested_borrow() -> ! {
    panic!("a CpuLocal borrowed while one is borrowed on this CPU")
}

//! Kernel threads: their stacks and the switch between them.
//!
//! A switch saves the callee-saved registers on the current stack, stores
//! the stack pointer, loads the other thread's and pops its registers. A new
//! thread's stack is laid out so that the first switch to it "returns" into
//! a trampoline that calls its entry function.

use alloc::sync::Arc;
use alloc::vec::Vec;
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

/// Size of a kernel thread's stack: 32 KiB in a release build, 48 KiB in a
/// debug build. Measured with [`PAINT`] (docs/status.md, kmem30): the
/// deepest release stack in the whole suite 26,472 bytes, 23,176 after
/// kmem30's cuts (a fork: `task::fork`'s 11 KiB frame, then
/// `Vmar::fork_begin`'s 5 KiB and the mappings' B-tree clone), so 24 or
/// 16 KiB would not do until the fork path's frames shrink; debug builds
/// 24,992 bytes.
#[cfg(not(debug_assertions))]
pub const KERNEL_STACK_SIZE: usize = 32 * 1024;
/// Size of a kernel thread's stack (see the release build's).
#[cfg(debug_assertions)]
pub const KERNEL_STACK_SIZE: usize = 48 * 1024;

/// Virtual space per stack in the kernel-stack area: the stack at the top,
/// the rest below it unmapped (its guard: an overflow faults there, and the
/// double-fault handler names it, instead of overwriting memory).
pub const KERNEL_STACK_STRIDE: u64 = 64 * 1024;

const STACK_PAGES: usize = KERNEL_STACK_SIZE / crate::mem::PAGE_SIZE as usize;
const AREA: u64 = crate::mem::paging::KSTACK_AREA;
const MAX_SLOTS: u64 = crate::mem::paging::KSTACK_AREA_SIZE / KERNEL_STACK_STRIDE;

/// Stacks of ended threads kept mapped for the next threads (as Linux's
/// per-CPU `cached_stacks`): taking one needs no frame allocation, no
/// mapping and no TLB flush. Beyond these, an ended stack is unmapped and
/// its frames freed at once; only its virtual slot waits until every CPU
/// has flushed its TLB before it is used again (Linux's lazy vmap purge,
/// without the IPIs: CR3 loads flush the stack pages, which are not
/// global).
const KEEP: usize = 8;

/// The virtual slots of the kernel-stack area (slot `i` spans
/// `AREA + i * STRIDE ..+ STRIDE`, its stack the top [`KERNEL_STACK_SIZE`]).
/// The lists always have room for every slot handed out, so that a drop
/// never allocates.
struct Slots {
    /// Slots below this were handed out at some point.
    next: u32,
    /// Unmapped slots whose old translations no TLB holds.
    clean: Vec<u32>,
    /// Slots of ended threads, still mapped with their frames (at most
    /// [`KEEP`]): reused first.
    kept: Vec<u32>,
    /// Unmapped slots (their frames freed) since `older` was sealed.
    newer: Vec<u32>,
    /// Unmapped slots that a CPU may still hold in its TLB until its count
    /// of full flushes ([`paging::flushes`]) passes `seal[cpu] + 1`.
    older: Vec<u32>,
    seal: [u64; crate::percpu::MAX_CPUS],
}

use crate::mem::paging;

impl Slots {
    /// Whether every online CPU flushed its TLB since `older` was sealed
    /// (twice: a count read just before the CPU's increment of a flush
    /// done earlier must not pass).
    fn older_flushed(&self) -> bool {
        (0..crate::smp::cpus_online()).all(|c| paging::flushes(c) >= self.seal[c] + 2)
    }

    /// Moves `older` to `clean` once every CPU flushed, then seals `newer`.
    fn advance(&mut self) {
        if !self.older.is_empty() {
            if !self.older_flushed() {
                return;
            }
            let Slots { clean, older, .. } = self;
            clean.append(older);
        }
        if !self.newer.is_empty() {
            core::mem::swap(&mut self.older, &mut self.newer);
            for (c, seal) in self.seal.iter_mut().enumerate() {
                *seal = paging::flushes(c);
                SEAL[c].store(*seal, Ordering::Relaxed);
            }
        }
        OLDER.store(self.older.len(), Ordering::Relaxed);
    }
}

static SLOTS: spin::Mutex<Slots> = spin::Mutex::new(Slots {
    next: 0,
    clean: Vec::new(),
    kept: Vec::new(),
    newer: Vec::new(),
    older: Vec::new(),
    seal: [0; crate::percpu::MAX_CPUS],
});
/// `older.len()`, readable without the lock (the idle loop's check).
static OLDER: AtomicUsize = AtomicUsize::new(0);
/// `Slots::seal`, readable without the lock (the timer tick's check,
/// which must not take `SLOTS`: a holder of `SLOTS` takes the frame
/// allocator's and the heap's locks, which others hold with interrupts
/// on).
static SEAL: [AtomicU64; crate::percpu::MAX_CPUS] = [const { AtomicU64::new(0) }; crate::percpu::MAX_CPUS];

fn slots<R>(f: impl FnOnce(&mut Slots) -> R) -> R {
    // interrupts off: a drop may come from the scheduler's switch path
    crate::cpu::without_interrupts(|| f(&mut crate::spinlock::lock(crate::spinlock::KSTACK_SLOTS, &SLOTS)))
}

/// The lowest address of slot `slot`'s stack.
fn stack_lo(slot: u32) -> u64 {
    AREA + slot as u64 * KERNEL_STACK_STRIDE + KERNEL_STACK_STRIDE - KERNEL_STACK_SIZE as u64
}

/// Unmaps slot `slot`'s stack and frees its frames, without a TLB flush:
/// a CPU that still holds a translation never uses it (nothing runs on an
/// ended thread's stack), and the slot is not mapped again before every
/// CPU flushed. The caller holds the lock and puts the slot on `newer`.
fn unmap_slot(slot: u32) {
    for i in 0..STACK_PAGES {
        if let Some(pa) = paging::unmap_kstack_page(stack_lo(slot) + (i as u64) * 4096) {
            crate::mem::frames::free_frame(x86_64::structures::paging::PhysFrame::containing_address(
                x86_64::PhysAddr::new(pa),
            ));
        }
    }
}

/// The timer tick's part, taking no lock: when unmapped stack slots wait
/// for this CPU's TLB flush, flushes it (a CPU running one program for
/// long loads no CR3 of its own); the slots move on at the next
/// allocation or idle pass ([`reclaim_stacks`]). One counter read when
/// nothing waits.
pub fn flush_for_stacks() {
    if OLDER.load(Ordering::Relaxed) == 0 {
        return;
    }
    let me = crate::percpu::cpu_id();
    if paging::flushes(me) < SEAL[me].load(Ordering::Relaxed) + 2 {
        paging::flush_local();
        paging::flush_local();
    }
}

/// The idle loop's part: when unmapped stack slots wait for this CPU's
/// TLB flush, flushes it (an idle CPU loads no CR3 of its own) and moves
/// the slots on. One counter read when nothing waits.
pub fn reclaim_stacks() {
    if OLDER.load(Ordering::Relaxed) == 0 {
        return;
    }
    let me = crate::percpu::cpu_id();
    if slots(|s| !s.older.is_empty() && paging::flushes(me) < s.seal[me] + 2) {
        paging::flush_local();
        paging::flush_local();
    }
    slots(Slots::advance);
}

/// Gives the kept stacks of ended threads back to the frame allocator (no
/// TLB flush: their slots wait as any unmapped one): the OOM killer, which
/// runs on every return to user mode while memory is short. Returns the
/// bytes freed.
pub fn release_kept_stacks() -> usize {
    slots(|s| {
        let n = s.kept.len();
        while let Some(slot) = s.kept.pop() {
            unmap_slot(slot);
            s.newer.push(slot);
        }
        n * KERNEL_STACK_SIZE
    })
}

/// As [`release_kept_stacks`], and makes every unmapped slot clean with
/// one TLB shootdown (for a leak check that counts free frames and page
/// tables). Call with no lock held: the shootdown waits for every CPU (not
/// from [`KernelStack::try_new`], which clone calls under the process
/// table's lock, which a CPU in an interrupt handler may spin on with
/// interrupts off).
pub fn release_cached_stacks() {
    release_kept_stacks();
    crate::smp::tlb_shootdown(None);
    slots(|s| {
        let Slots { clean, older, newer, .. } = s;
        clean.extend(older.drain(..).chain(newer.drain(..)));
        OLDER.store(0, Ordering::Relaxed);
    });
}

/// The word at the lowest address of every kernel stack (Linux's
/// `STACK_END_MAGIC`): in a debug build a switch away from a thread whose
/// word changed reports the overflow (an overflow by a frame that skips the
/// guard without touching it; one that touches it faults, in any build).
const STACK_END_MAGIC: u64 = 0x57ac_6e9d_57ac_6e9d;

/// Whether new stacks are painted with [`STACK_PAINT`] to measure how deep
/// they are used: always in a debug build; in a release build when it was
/// built with `KSTACK_PAINT` set in the environment (`KSTACK_PAINT=1 cargo
/// xtask test --release ...`): a test facility (painting costs a write of
/// the whole stack per new thread, the probes a few hundred reads per
/// return to user mode).
pub const PAINT: bool = cfg!(debug_assertions) || option_env!("KSTACK_PAINT").is_some();

/// The word painted over a new stack when [`PAINT`] is set.
const STACK_PAINT: u64 = 0x5a17_5a17_5a17_5a17;

/// The deepest kernel stack use seen at a stack's drop (bytes; 0 unless
/// [`PAINT`]).
static DEEPEST: AtomicUsize = AtomicUsize::new(0);

/// The deepest use of a kernel stack measured so far, in bytes (0 unless
/// the stacks are painted: [`PAINT`]).
pub fn deepest_stack() -> usize {
    DEEPEST.load(Ordering::Relaxed)
}

/// Return addresses kept per record of a deep stack.
const FRAMES: usize = 24;

/// One record of a deep stack use: its depth, what the thread was doing
/// (see [`probe_stack`]) and the return addresses of the stale frame
/// chain left below the deepest point.
#[derive(Clone, Copy)]
struct DeepRecord {
    depth: usize,
    what: u64,
    frames: [u64; FRAMES],
}

const NO_RECORD: DeepRecord = DeepRecord { depth: 0, what: 0, frames: [0; FRAMES] };

/// The deepest records: at a stack's drop (exact), at a return to user
/// mode ([`probe_stack`]: knows the system call), of a live stack at
/// power-off.
static RECORDS: spin::Mutex<[DeepRecord; 3]> = spin::Mutex::new([NO_RECORD; 3]);
const AT_DROP: usize = 0;
const AT_PROBE: usize = 1;
const AT_POWEROFF: usize = 2;
/// `RECORDS[AT_PROBE].depth`, readable without the lock.
static PROBED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: declarations only: these symbols come from the kernel's linker script, with these types.
#[cfg(target_os = "none")]
unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
}

/// Whether `a` lies in the kernel's code.
fn is_text(a: u64) -> bool {
    #[cfg(target_os = "none")]
    {
        (&raw const __text_start as u64..&raw const __text_end as u64).contains(&a)
    }
    #[cfg(not(target_os = "none"))]
    {
        let _ = a;
        false
    }
}

/// The return addresses of the stale frame chain found on `[low, top)`,
/// deepest first: the first frame record (saved RBP pointing higher up the
/// stack, then a code address) at or above `low`, followed up the chain.
/// Frames overwritten since by shallower calls end the chain early. The
/// words read are whatever the stack held (any value: the sums are
/// checked).
fn stale_frames(low: u64, top: u64) -> [u64; FRAMES] {
    let mut out = [0; FRAMES];
    // SAFETY (both reads): [low & !7, top) is a mapped kernel stack (the
    // caller's or one no thread runs on); reading words of it is harmless.
    let read = |a: u64| unsafe { (a as *const u64).read_volatile() };
    let mut a = low & !7;
    while a + 16 <= top {
        let (next, ret) = (read(a), read(a + 8));
        if next > a
            && next.checked_add(16).is_some_and(|e| e <= top)
            && next.is_multiple_of(8)
            && is_text(ret)
        {
            break;
        }
        a += 8;
    }
    let mut n = 0;
    while a + 16 <= top && n < FRAMES {
        let (next, ret) = (read(a), read(a + 8));
        if !is_text(ret) {
            break;
        }
        out[n] = ret;
        n += 1;
        if next <= a || next.checked_add(16).is_none_or(|e| e > top) || !next.is_multiple_of(8) {
            break;
        }
        a = next;
    }
    out
}

/// Keeps `rec` as record `which` if it is deeper than the one there.
fn note_record(which: usize, depth: usize, what: u64, low: u64, top: u64) {
    let frames = stale_frames(low, top);
    crate::cpu::without_interrupts(|| {
        let mut r = RECORDS.lock();
        if depth > r[which].depth {
            r[which] = DeepRecord { depth, what, frames };
        }
    });
}

/// How far below the lowest word known used the probe looks for more.
const PROBE_WINDOW: u64 = 2048;

/// `what` of [`probe_stack`] for an exception from user mode.
pub const PROBE_EXCEPTION: u64 = 0x1000;
/// `what` of [`probe_stack`] for an interrupt from user mode.
pub const PROBE_INTERRUPT: u64 = 0x2000;

/// A test facility (a no-op unless [`PAINT`]): the running thread is back
/// from handling `what` (a system call number, or [`PROBE_EXCEPTION`] or
/// [`PROBE_INTERRUPT`] plus the vector) and about to return to user mode:
/// notes how deep its stack went, looking from the lowest word known used
/// down while used words turn up within [`PROBE_WINDOW`] bytes (a frame
/// with more untouched bytes than that is missed here, not at the
/// stack's drop, which reads the whole stack). The deepest such use is
/// reported at power-off with `what` and its stale frame chain.
#[inline]
pub fn probe_stack(what: u64) {
    if !PAINT {
        return;
    }
    let k = current_id() as *const KernelThread;
    if k.is_null() {
        return;
    }
    // SAFETY: the running kernel thread's record, which lives while it runs.
    let k = unsafe { &*k };
    if !k.stack.painted {
        return;
    }
    let (lo, size) = k.stack.range();
    let top = lo + size;
    let mut low = k.mark.load(Ordering::Relaxed);
    let mut a = low;
    while a >= lo + 16 && low - (a - 8) <= PROBE_WINDOW {
        a -= 8;
        // SAFETY: a lies on the running thread's own mapped stack, below
        // its stack pointer (nothing else writes there but this thread's
        // interrupt handlers).
        if unsafe { (a as *const u64).read_volatile() } != STACK_PAINT {
            low = a;
        }
    }
    k.mark.store(low, Ordering::Relaxed);
    let depth = (top - low) as usize;
    if depth > PROBED.load(Ordering::Relaxed) {
        PROBED.fetch_max(depth, Ordering::Relaxed);
        note_record(AT_PROBE, depth, what, low, top);
    }
}

/// Logs the deepest kernel stack uses (a no-op unless [`PAINT`]): at a
/// stack's drop, at a return to user mode (with the system call) and of
/// the stacks still live (measured now), each with the stale frame chain
/// left below its deepest point, deepest frame first.
pub fn report_stacks() {
    if !PAINT {
        return;
    }
    // the live stacks: every slot handed out and not on a list
    let live: Vec<u32> = slots(|s| {
        (0..s.next)
            .filter(|i| ![&s.clean, &s.kept, &s.newer, &s.older].iter().any(|l| l.contains(i)))
            .collect()
    });
    for slot in live {
        let m = StackMem { slot: Some(slot), painted: true };
        let (lo, size) = m.range();
        // a slot some CPU is still mapping is skipped (read only mapped pages)
        if (0..STACK_PAGES as u64).any(|i| paging::kernel_translate(lo + i * 4096).is_none()) {
            core::mem::forget(m);
            continue;
        }
        let d = m.depth();
        note_record(AT_POWEROFF, d, 0, lo + size - d as u64, lo + size);
        core::mem::forget(m);
    }
    let r = *RECORDS.lock();
    for (i, rec) in r.iter().enumerate() {
        if rec.depth == 0 {
            continue;
        }
        let when = match i {
            AT_DROP => "at a stack's drop",
            AT_PROBE => "at a return to user mode",
            _ => "of a live stack at power-off",
        };
        let what = match (i, rec.what) {
            (AT_PROBE, w) if w >= PROBE_INTERRUPT => {
                alloc::format!(" after interrupt {}", w - PROBE_INTERRUPT)
            }
            (AT_PROBE, w) if w >= PROBE_EXCEPTION => {
                alloc::format!(" after exception {}", w - PROBE_EXCEPTION)
            }
            (AT_PROBE, w) => alloc::format!(" after system call {w}"),
            _ => alloc::string::String::new(),
        };
        log::info!("kstack: deepest {when}: {} of {KERNEL_STACK_SIZE} bytes{what}", rec.depth);
        for &ret in rec.frames.iter().take_while(|&&r| r != 0) {
            log::info!("kstack:   {ret:#x} {}", crate::backtrace::Symbol(ret.wrapping_sub(1)));
        }
    }
}

/// The memory of a kernel stack: a slot of the kernel-stack area with its
/// own frames mapped (none for the boot thread, whose stack is not ours).
struct StackMem {
    slot: Option<u32>,
    /// Painted with [`STACK_PAINT`] when handed out ([`PAINT`]).
    painted: bool,
}

impl StackMem {
    fn new() -> Option<Self> {
        let slot = Self::alloc()?;
        let lo = stack_lo(slot);
        // SAFETY: [lo, lo + KERNEL_STACK_SIZE) is the stack just taken,
        // mapped writable, which no one else uses.
        unsafe {
            if PAINT {
                core::slice::from_raw_parts_mut(lo as *mut u64, KERNEL_STACK_SIZE / 8).fill(STACK_PAINT);
            }
            (lo as *mut u64).write(STACK_END_MAGIC);
        }
        Some(StackMem { slot: Some(slot), painted: PAINT })
    }

    /// Whether the stack's lowest word still holds [`STACK_END_MAGIC`]
    /// (the boot thread's stack, not ours, is not checked).
    fn end_intact(&self) -> bool {
        let (lo, size) = self.range();
        // SAFETY: a stack of ours is mapped from `lo` and owned by this value.
        size == 0 || unsafe { (lo as *const u64).read() } == STACK_END_MAGIC
    }

    /// A slot with its stack mapped: an ended thread's, or a clean one with
    /// fresh frames; `None` when no frame is left.
    fn alloc() -> Option<u32> {
        let taken = slots(|s| {
            if let Some(slot) = s.kept.pop() {
                return Some(Ok(slot));
            }
            s.advance();
            let slot = match s.clean.pop() {
                Some(slot) => slot,
                None if (s.next as u64) < MAX_SLOTS => {
                    // room for every slot in the lists, so that no drop
                    // or reclaim allocates
                    let want = s.next as usize + 1;
                    s.kept.try_reserve(want.saturating_sub(s.kept.len())).ok()?;
                    s.clean.try_reserve(want.saturating_sub(s.clean.len())).ok()?;
                    s.newer.try_reserve(want.saturating_sub(s.newer.len())).ok()?;
                    s.older.try_reserve(want.saturating_sub(s.older.len())).ok()?;
                    s.next += 1;
                    s.next - 1
                }
                None => return None,
            };
            Some(Err(slot))
        })?;
        let slot = match taken {
            Ok(slot) => return Some(slot),
            Err(slot) => slot,
        };
        if Self::map(slot) {
            Some(slot)
        } else {
            if crate::mem::paging::kernel_translate(stack_lo(slot)).is_none() {
                slots(|s| s.clean.push(slot));
            }
            None
        }
    }

    /// Maps fresh frames at clean slot `slot`'s stack, or leaves it
    /// unmapped when no frame is left. No TLB shootdown on either path (a
    /// clone calls this under the process table's lock, which a CPU in an
    /// interrupt handler may spin on with interrupts off).
    fn map(slot: u32) -> bool {
        use x86_64::structures::paging::PhysFrame;
        let lo = stack_lo(slot);
        let mut frames: [Option<PhysFrame>; STACK_PAGES] = [None; STACK_PAGES];
        for f in frames.iter_mut() {
            *f = crate::mem::frames::alloc_frame();
        }
        let free = |frames: &[Option<PhysFrame>]| {
            frames.iter().flatten().for_each(|&f| crate::mem::frames::free_frame(f))
        };
        if frames.iter().any(Option::is_none) {
            free(&frames);
            return false;
        }
        // the slot's pages share one page table (a slot is 64 KiB-aligned
        // within a 2 MiB table), so only the first page can find no frame
        // for a table: nothing is mapped then
        let mapped = slots(|_| {
            frames
                .iter()
                .flatten()
                .enumerate()
                .take_while(|(i, f)| {
                    crate::mem::paging::map_kstack_page(lo + (*i as u64) * 4096, f.start_address().as_u64())
                        .is_ok()
                })
                .count()
        });
        match mapped {
            STACK_PAGES => true,
            0 => {
                free(&frames);
                false
            }
            n => {
                // cannot happen (see above); keep the slot and its mapped
                // frames out of use rather than reuse them without a flush
                log::error!("kstack: slot {slot} mapped {n} of {STACK_PAGES} pages; left out of use");
                free(&frames[n..]);
                false
            }
        }
    }

    /// The lowest address and the size in bytes (0 for the boot thread).
    fn range(&self) -> (u64, u64) {
        match self.slot {
            Some(slot) => (stack_lo(slot), KERNEL_STACK_SIZE as u64),
            None => (0, 0),
        }
    }

    /// How deep the painted stack was used ([`PAINT`]).
    fn depth(&self) -> usize {
        let (lo, size) = self.range();
        let mut a = lo + 8;
        // SAFETY: [lo, lo + size) is this value's mapped stack, which no
        // thread runs on any more (or never ran on).
        while a < lo + size && unsafe { (a as *const u64).read() } == STACK_PAINT {
            a += 8;
        }
        (lo + size - a) as usize
    }
}

impl Drop for StackMem {
    fn drop(&mut self) {
        let Some(slot) = self.slot else { return };
        if self.painted {
            let d = self.depth();
            let old = DEEPEST.fetch_max(d, Ordering::Relaxed);
            if d > old {
                let (lo, size) = self.range();
                note_record(AT_DROP, d, 0, lo + size - d as u64, lo + size);
                if d > KERNEL_STACK_SIZE * 3 / 4 {
                    log::info!("kstack: a thread used {d} of its {KERNEL_STACK_SIZE}-byte kernel stack");
                }
            }
        }
        slots(|s| {
            // capacity for every slot was reserved when it was first taken
            if s.kept.len() < KEEP {
                s.kept.push(slot);
            } else {
                unmap_slot(slot);
                s.newer.push(slot);
            }
        });
    }
}

/// The kernel stack whose guard (the unmapped part of its slot below the
/// stack) holds `addr`: `(lowest address, size)` of that stack, for the
/// fault handlers' report of an overflow.
pub fn guard_of(addr: u64) -> Option<(u64, u64)> {
    if !(AREA..AREA + crate::mem::paging::KSTACK_AREA_SIZE).contains(&addr) {
        return None;
    }
    let slot = ((addr - AREA) / KERNEL_STACK_STRIDE) as u32;
    let lo = stack_lo(slot);
    (addr < lo).then_some((lo, KERNEL_STACK_SIZE as u64))
}

/// The memory of a kernel thread's stack (mapped above its guard),
/// allocated before the thread is made (a clone allocates it where it can
/// still fail with ENOMEM, and builds the thread on it once the clone is
/// done).
pub struct KernelStack(StackMem);

impl KernelStack {
    /// A stack of [`KERNEL_STACK_SIZE`] bytes mapped in the kernel-stack
    /// area above its guard, or `None` when no memory is left for one.
    pub fn try_new() -> Option<Self> {
        StackMem::new().map(KernelStack)
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
/// It has no FPU area of its own: a switch away saves the user state its
/// thread left live in the registers into that context's image, in place
/// (`user::entry`'s lazy FPU), so a thread holds one XSAVE image, not two.
pub struct KernelThread {
    stack: StackMem,
    rsp: AtomicU64,
    /// The lowest address of the stack known used ([`probe_stack`]).
    mark: AtomicU64,
}

/// An id of the kernel thread running on this CPU (its record's address;
/// 0 before the first switch): the process table's `Platform::caller_id`.
pub fn current_id() -> usize {
    crate::percpu::me().kthread.load(Ordering::Relaxed)
}

fn set_current(k: *const KernelThread) {
    crate::percpu::me().kthread.store(k as usize, Ordering::Relaxed);
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
        let KernelStack(stack) = stack;
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
        // frames mapped in the kernel-stack area), 8-byte aligned, and no
        // one else uses it yet.
        unsafe { core::ptr::copy_nonoverlapping(frame.as_ptr(), rsp as *mut u64, frame.len()) };
        KernelThread { stack, rsp: AtomicU64::new(rsp), mark: AtomicU64::new(rsp) }
    }

    /// A handle for the thread already running (the boot thread): its
    /// stack pointer is filled in by the first switch away from it.
    pub fn current_boot() -> Self {
        KernelThread {
            stack: StackMem { slot: None, painted: false },
            rsp: AtomicU64::new(0),
            mark: AtomicU64::new(0),
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
    // Debug builds only: an overflow faults in the guard below the stack
    // (reported by the double-fault handler), so the word is checked for
    // the case of a frame larger than the guard; a release build skips the
    // read, which touched the stack's lowest page (one more soft-TLB entry
    // under TCG) at every switch.
    #[cfg(debug_assertions)]
    if !from.stack.end_intact() {
        panic!(
            "kernel stack overflow: the thread at {:#x} wrote below its {KERNEL_STACK_SIZE}-byte stack",
            from as *const KernelThread as usize
        );
    }
    // a thread borrowing this CPU's `CpuLocal` slot may not leave it
    crate::percpu::assert_unpinned();
    #[cfg(target_os = "none")]
    crate::user::fpu_switch_out();
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
    crate::percpu::assert_unpinned();
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

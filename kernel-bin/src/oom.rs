//! The OOM killer: when a page fault finds no free frame (user pages stop
//! at the frame allocator's reserve, so the kernel itself still has
//! memory), or kernel allocations have eaten half of that reserve (checked
//! on the way back to user mode, [`check`]), the process with the most resident pages is killed with
//! SIGKILL, as Linux's `out_of_memory` chooses by `oom_badness` (its RSS
//! plus oom_score_adj thousandths of RAM; init, exiting processes and
//! oom_score_adj -1000 are never chosen). The kernel log gets Linux's
//! line, `Out of memory: Killed process N (comm) ...`. While a victim has
//! not yet exited (its memory not yet freed), no other is chosen: the
//! faulting thread waits for it and retries. A pipe write whose page
//! finds no frame does the same ([`retry_kernel_alloc`]).

use crate::proc::{Hooks, table};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use process::pid::Pid;
use signal::SigInfo;

/// The last victim (0: none), until it is gone.
static VICTIM: AtomicU32 = AtomicU32::new(0);

/// What the faulting thread does next.
pub enum Verdict {
    /// It is the victim (or nothing else can be killed): it dies.
    KillSelf,
    /// Another process was killed (or is dying): retry the fault.
    Retry,
}

/// Whether `pid` still holds its memory (has an address space, or an exit
/// of one of its threads is dropping it: [`releasing`]). Only `pid`'s own
/// release counts: other exits dropping their memory meanwhile do not
/// keep a waiter waiting, and a `pid` that is gone holds nothing.
pub(crate) fn holds_memory(pid: Pid) -> bool {
    // the record first: an exit enters its slot before it takes the
    // address space out of the record (exit_mm), so a record found
    // without one is seen with its slot still held until the drop ends
    table().with_process(pid, |p| p.vm().is_some()).unwrap_or(false) || RELEASING.holds(pid)
}

/// How many exits can be dropping their address space at once and be
/// told apart by pid; more at once are counted together (and then any
/// pid is taken as still releasing, the safe side: a waiter waits).
const SLOTS: usize = 64;

/// The processes whose exits are between taking the address space out of
/// their record and the end of its drop ([`releasing`]): one slot per
/// exit holding its pid (0: free), and the exits that found no free slot.
struct Releasing {
    slots: [AtomicU32; SLOTS],
    overflow: AtomicUsize,
}

impl Releasing {
    const fn new() -> Self {
        Releasing { slots: [const { AtomicU32::new(0) }; SLOTS], overflow: AtomicUsize::new(0) }
    }

    /// Enters `pid` (not 0); the slot to give to [`Releasing::leave`].
    fn enter(&self, pid: Pid) -> Option<usize> {
        for (i, s) in self.slots.iter().enumerate() {
            if s.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                return Some(i);
            }
        }
        self.overflow.fetch_add(1, Ordering::SeqCst);
        None
    }

    fn leave(&self, slot: Option<usize>) {
        match slot {
            Some(i) => self.slots[i].store(0, Ordering::SeqCst),
            None => {
                self.overflow.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// Whether an exit of `pid` is dropping its address space (or too
    /// many exits are to tell).
    fn holds(&self, pid: Pid) -> bool {
        pid != 0
            && (self.overflow.load(Ordering::SeqCst) > 0
                || self.slots.iter().any(|s| s.load(Ordering::SeqCst) == pid))
    }
}

/// The exits dropping their address space now.
static RELEASING: Releasing = Releasing::new();

/// Runs `f`, an exit of a thread of process `pid` giving its address space
/// back: meanwhile a caller waiting for `pid`'s memory (`pid` the OOM
/// victim) goes on waiting; waiters for other processes do not.
pub fn releasing<R>(pid: Option<Pid>, f: impl FnOnce() -> R) -> R {
    let slot = pid.filter(|&p| p != 0).map(|p| RELEASING.enter(p));
    let r = f();
    if let Some(slot) = slot {
        RELEASING.leave(slot);
    }
    r
}

/// Linux's oom_badness(): the pages resident in `pid`'s address space plus
/// its oom_score_adj in thousandths of all pages; `None` for a process not
/// to be chosen (init, exiting, no memory, oom_score_adj -1000). Also its
/// resident pages, size and oom_score_adj, for the log line.
pub(crate) fn badness(pid: Pid, total_pages: i64) -> Option<(i64, usize, usize, i16)> {
    if pid == 1 {
        return None;
    }
    let (vm, adj) = table().with_process(pid, |p| {
        if p.is_group_exiting() || p.oom_score_adj() == -1000 {
            None
        } else {
            Some((p.vm().cloned()?, p.oom_score_adj()))
        }
    })??;
    let g = vm.lock();
    let size: usize = g.mappings().map(|m| m.end - m.start).sum();
    let rss = g.resident_pages();
    // the kernel memory of its mappings (Linux counts page tables) in
    // pages, about 256 bytes each
    let maps = g.map_count() / 16;
    Some(((rss + maps) as i64 + i64::from(adj) * (total_pages / 1000), rss, size, adj))
}

/// /proc/PID/oom_score (Linux's proc_oom_score): [`badness`] scaled as
/// `(1000 + points * 1000 / total) * 2 / 3`, 0 for a process never chosen
/// (init, exiting, oom_score_adj -1000, no memory); `None` for no such
/// process.
pub fn score(pid: Pid) -> Option<u64> {
    table().with_process(pid, |_| ())?;
    let total = (arch_x86_64::mem::frames::stats().1 as i64).max(1);
    Some(badness(pid, total).map_or(0, |(points, ..)| ((1000 + points * 1000 / total) * 2 / 3).max(0) as u64))
}

/// Kernel memory is running out (the free frames went below half the
/// reserve, which only kernel allocations reach): the OOM killer runs
/// before a kernel allocation can fail. Called by thread `tid` of process
/// `me` on its way back to user mode; when it is the victim it queues
/// SIGKILL for itself. When another victim is still giving its memory back,
/// it waits for that (as Linux's allocator waits in reclaim) instead of
/// going on to allocate more: with several CPUs, the other allocators ate
/// the rest of the reserve while a victim of 65,530 mappings was still
/// unmapping them (a failed kernel allocation: a panic).
pub fn check(tid: Pid, me: Pid) {
    use arch_x86_64::mem::frames;
    // one comparison on every return to user mode (no allocator lock)
    if frames::free_frames() >= frames::reserve() / 2 {
        return;
    }
    match out_of_memory(me) {
        // init is never the victim: with nothing else to kill it goes on
        // (a failed allocation then ends in its errno or, at worst, a
        // panic, as Linux's "no killable processes")
        Verdict::KillSelf if me != 1 => {
            let _ = table().send_signal(me, SigInfo::kernel(signal::SIGKILL), &Hooks);
        }
        Verdict::KillSelf => {}
        Verdict::Retry => wait_for_victim(tid, me, || frames::free_frames() >= frames::reserve() / 2),
    }
}

/// Sleeps (10 ms at a time, at most 1 s) while the last victim, not the
/// caller's process `pid`, still holds its memory and `enough()` is false;
/// a signal for the caller ends the wait.
fn wait_for_victim(tid: Pid, pid: Pid, enough: impl Fn() -> bool) {
    let deadline = arch_x86_64::time::since_boot_ns() + 1_000_000_000;
    loop {
        let victim = VICTIM.load(Ordering::SeqCst);
        let now = arch_x86_64::time::since_boot_ns();
        if victim == 0 || victim == pid || !holds_memory(victim) || now >= deadline || enough() {
            return;
        }
        // (an io_uring request's `nowait` would make this sleep EAGAIN at
        // once: the victim is waited for as by any other caller)
        let task = crate::sched::current();
        let nowait = crate::sched::set_nowait(&task, false);
        let r = crate::proc::sleep_on(tid, &[], || false, Some(now + 10_000_000));
        crate::sched::set_nowait(&task, nowait);
        if let Err(e) = r
            && e != linux_abi::Errno::ETIMEDOUT
        {
            return;
        }
    }
}

/// A kernel allocation the calling thread makes for user data (a pipe
/// page, which stops at the frame reserve as user pages do) found no
/// frame: as Linux's page allocator, the OOM killer runs before the
/// allocation fails. Returns whether to try the allocation once more:
/// another process was chosen (or is still dying) and its memory is gone
/// (waited for, sleeping 10 ms at a time, at most 1 s). `false` when the
/// caller is the victim (SIGKILL is queued for it: its call fails and it
/// dies on the way out, as on Linux) or nothing can be killed.
pub fn retry_kernel_alloc() -> bool {
    let (tid, pid) = crate::eventfd::caller();
    match out_of_memory(pid) {
        Verdict::KillSelf => {
            if pid != 1 {
                let _ = table().send_signal(pid, SigInfo::kernel(signal::SIGKILL), &Hooks);
            }
            false
        }
        Verdict::Retry => {
            wait_for_victim(tid, pid, || false);
            true
        }
    }
}

/// A page fault of process `me` found no memory: chooses and kills the
/// victim.
pub fn out_of_memory(me: Pid) -> Verdict {
    // the kernel stacks of ended threads kept for reuse go back (256 KiB
    // at most: not a reason to retry without a victim, whose caller tries
    // its allocation once more only)
    arch_x86_64::context::release_kept_stacks();
    // and the clean page-table frames kept for reuse (160 KiB at most)
    arch_x86_64::mem::paging::release_table_pool();
    let last = VICTIM.load(Ordering::SeqCst);
    if last != 0 && last != me && holds_memory(last) {
        // the last victim is still on its way out: wait for its memory
        crate::sched::yield_now();
        return Verdict::Retry;
    }
    let total = arch_x86_64::mem::frames::stats().1 as i64;
    let mut best: Option<(i64, usize, usize, i16, Pid)> = None;
    let pids: Vec<Pid> = table().pids();
    for pid in pids {
        if let Some((points, rss, size, adj)) = badness(pid, total)
            && best.is_none_or(|(b, ..)| points > b)
        {
            best = Some((points, rss, size, adj, pid));
        }
    }
    let Some((_, rss, size, adj, victim)) = best else { return Verdict::KillSelf };
    let comm = crate::proc::comm(victim);
    let uid = table().with_process(victim, |p| p.creds().uid).unwrap_or(0);
    arch_x86_64::kprintln!(
        "Out of memory: Killed process {victim} ({}) total-vm:{}kB, anon-rss:{}kB, file-rss:0kB, \
         shmem-rss:0kB, UID:{uid} oom_score_adj:{adj}",
        core::str::from_utf8(&comm).unwrap_or("?"),
        size / 1024,
        rss * 4
    );
    VICTIM.store(victim, Ordering::SeqCst);
    if victim == me {
        return Verdict::KillSelf;
    }
    let _ = table().send_signal(victim, SigInfo::kernel(signal::SIGKILL), &Hooks);
    crate::sched::yield_now();
    Verdict::Retry
}

arch_x86_64::ktest!(
    fn waits_only_for_the_victims_release() {
        // pids no process has (above pid_max's default): gone, they hold
        // nothing
        let (gone, other) = (4_000_001, 4_000_002);
        assert!(!holds_memory(gone));
        // another process's exit dropping its memory is not the victim's
        releasing(Some(other), || {
            assert!(!holds_memory(gone), "a waiter for a gone victim waits for another's release");
            assert!(holds_memory(other), "the releasing process still holds its memory");
            releasing(Some(gone), || assert!(holds_memory(gone)));
            assert!(!holds_memory(gone));
        });
        assert!(!holds_memory(other));
    }
);

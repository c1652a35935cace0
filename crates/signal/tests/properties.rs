//! Property tests: SigSet algebra against a set of numbers; pending queues
//! against a reference model of signal(7)'s queueing rules.

use std::collections::{BTreeSet, VecDeque};

use linux_abi::Errno;
use proptest::prelude::*;
use signal::siginfo::code;
use signal::*;

fn sig(n: u32) -> SigNum {
    SigNum::new(n as i32).expect("1..=64")
}

fn model_of(set: SigSet) -> BTreeSet<u32> {
    (1..=64).filter(|&n| set.bits() & (1u64 << (n - 1)) != 0).collect()
}

fn arb_set() -> impl Strategy<Value = SigSet> {
    any::<u64>().prop_map(SigSet::from_bits)
}

proptest! {
    /// SigSet operations are the set operations on {1..=64} (sigsetops(3)).
    #[test]
    fn sigset_algebra(a in arb_set(), b in arb_set(), n in 1u32..=64) {
        let (ma, mb) = (model_of(a), model_of(b));
        prop_assert_eq!(model_of(a | b), &ma | &mb);
        prop_assert_eq!(model_of(a & b), &ma & &mb);
        prop_assert_eq!(model_of(a - b), &ma - &mb);
        let all: BTreeSet<u32> = (1..=64).collect();
        prop_assert_eq!(model_of(!a), &all - &ma);
        prop_assert_eq!(a.len(), ma.len());
        prop_assert_eq!(a.is_empty(), ma.is_empty());
        prop_assert_eq!(a.contains(sig(n)), ma.contains(&n));
        prop_assert_eq!(model_of(a.with(sig(n))), { let mut m = ma.clone(); m.insert(n); m });
        prop_assert_eq!(model_of(a.without(sig(n))), { let mut m = ma.clone(); m.remove(&n); m });
        // De Morgan, complement, absorption.
        prop_assert_eq!(!(a | b), !a & !b);
        prop_assert_eq!(!(a & b), !a | !b);
        prop_assert_eq!(!!a, a);
        prop_assert_eq!(a | (a & b), a);
        prop_assert_eq!(a - b, a & !b);
        // Iteration is ascending and collects back.
        let listed: Vec<u32> = a.iter().map(SigNum::get).collect();
        prop_assert_eq!(listed.clone(), ma.iter().copied().collect::<Vec<_>>());
        prop_assert_eq!(a.iter().collect::<SigSet>(), a);
        prop_assert_eq!(a.lowest().map(SigNum::get), ma.first().copied());
        // Masks a user sets never hold SIGKILL or SIGSTOP (sigprocmask(2)).
        prop_assert!(!a.blockable().contains(SIGKILL) && !a.blockable().contains(SIGSTOP));
        prop_assert_eq!(a.blockable() | (a & SigSet::UNBLOCKABLE), a);
        // next_signal(): synchronous first, then lowest.
        let sync: BTreeSet<u32> = [4, 5, 7, 8, 11, 31].into_iter().collect();
        let expect = (&ma & &sync).first().copied().or(ma.first().copied());
        prop_assert_eq!(a.next_to_deliver().map(SigNum::get), expect);
    }

    /// sigprocmask(2) applied through SigMaskHow matches the set algebra.
    #[test]
    fn sigprocmask_algebra(old in arb_set(), set in arb_set(), how in 0i32..3) {
        let old = old.blockable();
        let new = SigMaskHow::from_raw(how).map(|h| h.apply(old, set));
        let expect = match how { 0 => old | set, 1 => old - set, _ => set }.blockable();
        prop_assert_eq!(new, Ok(expect));
    }

    /// Any 128 bytes with a valid si_signo parse, and parsing is stable
    /// through a write (the union member is chosen by siginfo_layout()).
    #[test]
    fn siginfo_bytes_stable(mut bytes in proptest::collection::vec(any::<u8>(), 128), signo in 1i32..=64, code in prop_oneof![Just(0i32), Just(0x80), -7i32..0, 1i32..12, any::<i32>()]) {
        bytes[0..4].copy_from_slice(&signo.to_le_bytes());
        bytes[8..12].copy_from_slice(&code.to_le_bytes());
        let arr: [u8; 128] = bytes.try_into().expect("128");
        let info = SigInfo::from_bytes(&arr).expect("valid signo");
        prop_assert_eq!(info.signo.as_i32(), signo);
        prop_assert_eq!(info.code, code);
        prop_assert_eq!(SigInfo::from_bytes(&info.to_bytes()), Ok(info));
    }
}

/// The signals the queue tests use: standard, synchronous, SIGKILL,
/// real-time; few enough to collide often.
const SIGS: [u32; 10] = [1, 2, 9, 8, 11, 10, 17, 32, 33, 64];

#[derive(Clone, Debug)]
enum Op {
    Send { sig: u32, kind: u8, value: u64 },
    Dequeue { blocked: u16 },
    Discard { set: u16 },
}

fn mask_of(bits: u16) -> SigSet {
    SIGS.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, &n)| sig(n)).collect()
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (prop::sample::select(SIGS.to_vec()), 0u8..4, any::<u64>()).prop_map(|(sig, kind, value)| Op::Send { sig, kind, value }),
        3 => any::<u16>().prop_map(|blocked| Op::Dequeue { blocked }),
        1 => any::<u16>().prop_map(|set| Op::Discard { set }),
    ]
}

fn make_info(n: u32, kind: u8, value: u64) -> SigInfo {
    let s = sig(n);
    match kind {
        0 => SigInfo::user(s, value as i32, 1000),
        1 => SigInfo::queue(s, 7, 1000, value),
        2 => SigInfo::kernel(s),
        _ => SigInfo::fault(s, 1, value),
    }
}

/// The reference model: per signal, a pending flag and a FIFO of siginfos,
/// with the rules written from signal(7), sigqueue(3) and kernel/signal.c.
struct Model {
    pending: [bool; 65],
    queued: Vec<VecDeque<SigInfo>>,
    count: usize,
    limit: usize,
}

impl Model {
    fn new(limit: usize) -> Model {
        Model { pending: [false; 65], queued: vec![VecDeque::new(); 65], count: 0, limit }
    }

    fn send(&mut self, info: SigInfo) -> Result<Enqueued, Errno> {
        let n = info.signo.get() as usize;
        let rt = n >= 32;
        if !rt && self.pending[n] {
            return Ok(Enqueued::Coalesced);
        }
        if n == 9 {
            self.pending[n] = true;
            return Ok(Enqueued::InfoLost);
        }
        let overrides = !rt && info.code >= 0;
        if overrides || self.count < self.limit {
            self.queued[n].push_back(info);
            self.count += 1;
            self.pending[n] = true;
            Ok(Enqueued::Queued)
        } else if rt && info.code != code::SI_USER && info.code != code::SI_KERNEL {
            Err(Errno::EAGAIN)
        } else {
            self.pending[n] = true;
            Ok(Enqueued::InfoLost)
        }
    }

    fn dequeue(&mut self, blocked: SigSet) -> Option<SigInfo> {
        let ready: Vec<usize> =
            (1..=64).filter(|&n| self.pending[n] && !blocked.contains(sig(n as u32))).collect();
        let sync = ready.iter().copied().find(|n| [4, 5, 7, 8, 11, 31].contains(n));
        let n = sync.or(ready.first().copied())?;
        match self.queued[n].pop_front() {
            Some(info) => {
                self.count -= 1;
                self.pending[n] = !self.queued[n].is_empty();
                Some(info)
            }
            None => {
                self.pending[n] = false;
                Some(SigInfo::user(sig(n as u32), 0, 0))
            }
        }
    }

    fn discard(&mut self, set: SigSet) {
        for s in set.iter() {
            let n = s.get() as usize;
            self.pending[n] = false;
            self.count -= self.queued[n].len();
            self.queued[n].clear();
        }
    }

    fn pending_set(&self) -> SigSet {
        (1..=64u32).filter(|&n| self.pending[n as usize]).map(sig).collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// PendingQueue against the model: coalescing of standard signals,
    /// FIFO queueing of real-time signals, dequeue order (synchronous, then
    /// lowest), RLIMIT_SIGPENDING (EAGAIN or lost info), discarding, and
    /// the per-user count.
    #[test]
    fn queue_matches_model(ops in proptest::collection::vec(arb_op(), 0..80), limit in prop_oneof![0usize..6, Just(usize::MAX)]) {
        let account = SigQueueAccount::new();
        let rlimit = if limit == usize::MAX { RLIM_INFINITY } else { limit as u64 };
        let mut queue = PendingQueue::new();
        let mut model = Model::new(limit);
        for op in ops {
            match op {
                Op::Send { sig, kind, value } => {
                    let info = make_info(sig, kind, value);
                    prop_assert_eq!(queue.enqueue(info, &account, rlimit), model.send(info));
                }
                Op::Dequeue { blocked } => {
                    let blocked = mask_of(blocked);
                    prop_assert_eq!(queue.next(blocked), model.pending_set().difference(blocked).next_to_deliver());
                    prop_assert_eq!(queue.dequeue(blocked), model.dequeue(blocked));
                }
                Op::Discard { set } => {
                    let set = mask_of(set);
                    queue.discard(set);
                    model.discard(set);
                }
            }
            prop_assert_eq!(queue.pending(), model.pending_set());
            prop_assert_eq!(account.queued(), model.count);
            for n in SIGS {
                prop_assert_eq!(queue.count(sig(n)), model.queued[n as usize].len());
            }
        }
        drop(queue);
        prop_assert_eq!(account.queued(), 0);
    }

    /// A thread's dequeue drains its own queue before the process queue
    /// (kernel/signal.c dequeue_signal()), each in next_signal() order.
    #[test]
    fn thread_before_process(thread_sigs in proptest::collection::vec(prop::sample::select(SIGS.to_vec()), 0..10), process_sigs in proptest::collection::vec(prop::sample::select(SIGS.to_vec()), 0..10)) {
        let account = SigQueueAccount::new();
        let mut thread = ThreadSignals::new();
        let mut process = PendingQueue::new();
        let mut thread_model = Model::new(usize::MAX);
        let mut process_model = Model::new(usize::MAX);
        for n in thread_sigs {
            let info = SigInfo::queue(sig(n), 1, 2, 3);
            prop_assert_eq!(thread.pending_mut().enqueue(info, &account, RLIM_INFINITY), thread_model.send(info));
        }
        for n in process_sigs {
            let info = SigInfo::user(sig(n), 4, 5);
            prop_assert_eq!(process.enqueue(info, &account, RLIM_INFINITY), process_model.send(info));
        }
        let mut expect = Vec::new();
        while let Some(i) = thread_model.dequeue(SigSet::EMPTY) { expect.push(i); }
        while let Some(i) = process_model.dequeue(SigSet::EMPTY) { expect.push(i); }
        let got: Vec<SigInfo> = std::iter::from_fn(|| thread.dequeue(&mut process)).collect();
        prop_assert_eq!(got, expect);
    }
}

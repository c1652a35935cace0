//! fcntl(2)'s leases of one file (Linux's `flc_lease` list, fs/locks.c:
//! `generic_add_lease`, `generic_delete_lease`, `__break_lease`,
//! `time_out_leases`, `fcntl_getlease`).
//!
//! A lease belongs to an open file description (the type `F`). Nothing
//! here sleeps or counts opens: the kernel counts the opens of the file
//! ([`Opens`]) for [`LeaseTable::set`], signals the holders a
//! [`LeaseTable::start_break`] names, and sleeps until
//! [`LeaseTable::conflicts`] says no (or the earliest deadline passed),
//! calling [`LeaseTable::time_out`] with the clock before every look.

use alloc::vec::Vec;

use linux_abi::{Errno, Result};

use crate::posix::Kind;
use crate::{F_RDLCK, F_UNLCK, F_WRLCK};

/// The opens of a file at an `F_SETLEASE` (Linux's `i_writecount` and
/// `i_readcount`), each open file description counted once, the caller's
/// own included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Opens {
    /// Descriptions open for writing (O_WRONLY or O_RDWR).
    pub write: usize,
    /// Descriptions open for reading only.
    pub read: usize,
}

impl Opens {
    /// With `write`, `read`.
    pub fn new(write: usize, read: usize) -> Self {
        Opens { write, read }
    }
}

/// One lease.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lease<F> {
    /// The open file description that holds it.
    pub file: F,
    /// The process that set it: /proc/locks shows it and a break signals
    /// it (Linux's `lease_setup` makes the setter the file's owner only
    /// when it has none, so a later change by another process sharing
    /// the description keeps it).
    pub pid: i32,
    /// Its type now.
    pub kind: Kind,
    /// When a break asked for a downgrade to read: the deadline (ns) after
    /// which it is downgraded (Linux's `FL_DOWNGRADE_PENDING`).
    pub downgrade_at: Option<u64>,
    /// When a break asked for its removal: the deadline (ns) after which it
    /// is removed (`FL_UNLOCK_PENDING`).
    pub unlock_at: Option<u64>,
}

impl<F> Lease<F> {
    /// Whether a break is pending (`lease_breaking`).
    pub fn breaking(&self) -> bool {
        self.downgrade_at.is_some() || self.unlock_at.is_some()
    }

    /// The type `F_GETLEASE` reports (`target_leasetype`): `F_UNLCK` while
    /// a removal is pending, `F_RDLCK` while a downgrade is, else its type.
    pub fn target(&self) -> i16 {
        if self.unlock_at.is_some() {
            F_UNLCK
        } else if self.downgrade_at.is_some() {
            F_RDLCK
        } else {
            crate::l_type(self.kind)
        }
    }

    /// Whether an open for writing (`write`) or reading conflicts with it.
    fn conflicts(&self, write: bool) -> bool {
        write || self.kind == Kind::Write
    }
}

/// What a [`LeaseTable::start_break`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Break {
    /// The processes to signal: holders of leases this break started on
    /// (a lease already being broken the same way is not signalled again).
    pub signal: Vec<i32>,
    /// Whether the opener must wait (or, with O_NONBLOCK, fail with
    /// `EWOULDBLOCK`): some lease conflicts.
    pub wait: bool,
}

/// The leases of one file, oldest first.
#[derive(Clone, Debug)]
pub struct LeaseTable<F> {
    leases: Vec<Lease<F>>,
}

impl<F> Default for LeaseTable<F> {
    fn default() -> Self {
        LeaseTable { leases: Vec::new() }
    }
}

impl<F: Clone + Eq> LeaseTable<F> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there is no lease.
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }

    /// The leases, oldest first.
    pub fn leases(&self) -> &[Lease<F>] {
        &self.leases
    }

    /// Applies the deadlines that passed by `now` (`time_out_leases`): a
    /// pending downgrade makes the lease a read lease, a pending removal
    /// removes it. Whether anything changed.
    pub fn time_out(&mut self, now: u64) -> bool {
        let mut changed = false;
        for l in &mut self.leases {
            if l.downgrade_at.is_some_and(|d| d <= now) {
                l.kind = Kind::Read;
                l.downgrade_at = None;
                changed = true;
            }
        }
        let before = self.leases.len();
        self.leases.retain(|l| l.unlock_at.is_none_or(|d| d > now));
        changed || self.leases.len() != before
    }

    /// `F_GETLEASE` on `file`: the type of its lease as
    /// [`Lease::target`], `F_UNLCK` without one. Call [`Self::time_out`]
    /// first.
    pub fn get(&self, file: &F) -> i16 {
        self.leases.iter().find(|l| l.file == *file).map_or(F_UNLCK, Lease::target)
    }

    /// `F_SETLEASE` of `l_type` on `file` by process `pid`, the file open
    /// with `self_write`/`self_read` access and `opens` counted over all
    /// descriptions (this one included). Linux's order: `EINVAL` for an
    /// unknown type; for `F_UNLCK` the lease of `file` goes (`EAGAIN`
    /// without one); `F_RDLCK` needs no open for writing, `F_WRLCK` no
    /// open but this one (`check_conflicting_open`, `EAGAIN`); then no
    /// `F_WRLCK` beside another description's lease, no new lease while
    /// another is being removed (`EAGAIN`); an existing lease of `file`
    /// changes type (clearing the pending break it satisfies). Whether
    /// the leases changed (waiters look again) on success. Call
    /// [`Self::time_out`] first.
    pub fn set(
        &mut self,
        file: &F,
        pid: i32,
        l_type: i16,
        self_write: bool,
        self_read: bool,
        opens: Opens,
    ) -> Result<bool> {
        let kind = match l_type {
            F_RDLCK => Kind::Read,
            F_WRLCK => Kind::Write,
            F_UNLCK => {
                let i = self.leases.iter().position(|l| l.file == *file).ok_or(Errno::EAGAIN)?;
                self.leases.remove(i);
                return Ok(true);
            }
            _ => return Err(Errno::EINVAL),
        };
        match kind {
            Kind::Read if opens.write > 0 => return Err(Errno::EAGAIN),
            Kind::Write => {
                let (sw, sr) = (usize::from(self_write), usize::from(self_read && !self_write));
                if opens.write != sw || opens.read != sr {
                    return Err(Errno::EAGAIN);
                }
            }
            Kind::Read => {}
        }
        let mut mine = None;
        for (i, l) in self.leases.iter().enumerate() {
            if l.file == *file {
                mine = Some(i);
                continue;
            }
            if kind == Kind::Write || l.unlock_at.is_some() {
                return Err(Errno::EAGAIN);
            }
        }
        if let Some(i) = mine {
            // lease_modify: the new type; a downgrade answers a pending
            // downgrade (lease_clear_pending)
            let l = &mut self.leases[i];
            l.kind = kind;
            if kind == Kind::Read {
                l.downgrade_at = None;
            }
            return Ok(true);
        }
        self.leases.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.leases.push(Lease { file: file.clone(), pid, kind, downgrade_at: None, unlock_at: None });
        Ok(false)
    }

    /// Whether an open for writing (`write`) or reading conflicts with a
    /// lease (`any_leases_conflict`). Call [`Self::time_out`] first.
    pub fn conflicts(&self, write: bool) -> bool {
        self.leases.iter().any(|l| l.conflicts(write))
    }

    /// The earliest deadline of a pending break of a lease an open for
    /// `write` conflicts with: how long the opener sleeps at most.
    pub fn deadline(&self, write: bool) -> Option<u64> {
        self.leases
            .iter()
            .filter(|l| l.conflicts(write))
            .filter_map(|l| match (l.downgrade_at, l.unlock_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            })
            .min()
    }

    /// An open for writing (`write`) or reading starts breaking the leases
    /// it conflicts with (`__break_lease`): each gets a pending removal
    /// (write) or downgrade (read) with deadline `at`, unless one is
    /// already pending (any pending break, for a read open), and its holder
    /// is named for a signal. Call [`Self::time_out`] first.
    pub fn start_break(&mut self, write: bool, at: u64) -> Result<Break> {
        self.start_break_with(write, at, |_| {})
    }

    /// [`Self::start_break`], calling `each` with the description of every
    /// lease named for a signal (whose owner Linux signals: `kill_fasync`
    /// on the lease's file).
    pub fn start_break_with(&mut self, write: bool, at: u64, mut each: impl FnMut(&F)) -> Result<Break> {
        let mut out = Break::default();
        for l in &mut self.leases {
            if !l.conflicts(write) {
                continue;
            }
            out.wait = true;
            if write {
                if l.unlock_at.is_some() {
                    continue;
                }
                l.unlock_at = Some(at);
            } else {
                if l.breaking() {
                    continue;
                }
                l.downgrade_at = Some(at);
            }
            out.signal.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            out.signal.push(l.pid);
            each(&l.file);
        }
        Ok(out)
    }

    /// Removes the leases `pick` chooses (their description went); whether
    /// there were.
    pub fn release_where(&mut self, pick: impl Fn(&F) -> bool) -> bool {
        let before = self.leases.len();
        self.leases.retain(|l| !pick(&l.file));
        self.leases.len() != before
    }
}

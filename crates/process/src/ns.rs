//! Namespaces: user namespaces (their uid and gid maps, the `setgroups`
//! switch and Linux's `ns_capable`) and UTS namespaces (host and domain
//! name), with the rules of Linux's `kernel/user_namespace.c`,
//! `kernel/utsname.c` and `kernel/capability.c`.
//!
//! Credentials keep kernel ids (Linux's `kuid_t`: the ids of the initial
//! namespace); a syscall translates at its boundary: [`UserNsRef::uid_from`]
//! (`from_kuid_munged`: an unmapped id is [`OVERFLOW_ID`]) on the way out,
//! [`UserNsRef::uid_into`] (`make_kuid`: `None` when unmapped) on the way in.
//! The initial namespace is [`UserNsRef::INITIAL`] (no record: every id maps
//! to itself). A namespace's number (its nsfs inode) is given by whoever
//! makes it ([`crate::table::ProcessTable`] counts them).

use crate::cred::{CAP_FULL_SET, Credentials, Id, NO_ID};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, Ordering};
use linux_abi::{Errno, Result};

/// The id an unmapped id shows as (`overflowuid`, `overflowgid`).
pub const OVERFLOW_ID: Id = 65534;
/// The most lines of a uid or gid map (`UID_GID_MAP_MAX_EXTENTS`).
pub const MAX_EXTENTS: usize = 340;
/// The deepest level a user namespace may have as a parent (Linux's
/// `parent_ns->level > 32` check: 33 levels below the initial one).
pub const MAX_LEVEL: u32 = 32;
/// The inode number of the initial user namespace (`PROC_USER_INIT_INO`).
pub const INIT_USER_INO: u64 = 0xEFFF_FFFD;
/// The inode number of the initial UTS namespace (`PROC_UTS_INIT_INO`).
pub const INIT_UTS_INO: u64 = 0xEFFF_FFFE;
/// The first number given to a namespace made after boot (Linux's dynamic
/// numbers start at `0xF0000000`; the mount and network namespaces of boot
/// hold the first two, and Linux has handed out a few hundred more by the
/// time user space runs).
pub const FIRST_DYNAMIC_INO: u64 = 0xF000_0000 + 0x200;

/// One line of a map: `count` ids from `first` (inside) to `lower_first`
/// (the kernel's ids, as Linux keeps them once written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// The first id inside the namespace.
    pub first: Id,
    /// The first kernel id it stands for.
    pub lower_first: Id,
    /// How many ids.
    pub count: u32,
}

/// A uid or gid map (at most [`MAX_EXTENTS`] lines that do not overlap).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    extents: Vec<Extent>,
}

/// Which map a write is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    /// `uid_map` (privilege: `CAP_SETUID`).
    Uid,
    /// `gid_map` (privilege: `CAP_SETGID`).
    Gid,
}

impl IdMap {
    /// The lines.
    pub fn extents(&self) -> &[Extent] {
        &self.extents
    }

    /// `map_id_down`: the kernel id of `id`.
    pub fn down(&self, id: Id) -> Option<Id> {
        self.extents
            .iter()
            .find(|e| id >= e.first && id - e.first < e.count)
            .map(|e| e.lower_first + (id - e.first))
    }

    /// `map_id_up`: the id inside of kernel id `kid`.
    pub fn up(&self, kid: Id) -> Option<Id> {
        self.extents
            .iter()
            .find(|e| kid >= e.lower_first && kid - e.lower_first < e.count)
            .map(|e| e.first + (kid - e.lower_first))
    }

    /// `map_id_range_down`: the kernel id of `id` when all `count` ids
    /// from it lie in one line of the map.
    pub fn down_range(&self, id: Id, count: u32) -> Option<Id> {
        let last = id.checked_add(count.checked_sub(1)?)?;
        self.extents
            .iter()
            .find(|e| id >= e.first && last - e.first < e.count)
            .map(|e| e.lower_first + (id - e.first))
    }

    /// Parses what a writer gives `uid_map`/`gid_map` as `map_write` does:
    /// the text ends at its first NUL; lines end in `\n` (one final
    /// newline allowed, no empty line); each is three decimal numbers
    /// (kept modulo 2^32, as `simple_strtoul` into a `u32`) separated by
    /// white space (`isspace`), then only white space. `EINVAL` for a
    /// malformed line, a first id or lower id of `u32::MAX`, a count of 0
    /// or a range that wraps, an overlap, no line or more than
    /// [`MAX_EXTENTS`]. The lower ids are still the parent namespace's.
    pub fn parse(text: &[u8]) -> Result<IdMap> {
        let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
        let mut extents: Vec<Extent> = Vec::new();
        let mut rest = Some(text);
        while let Some(buf) = rest {
            let (line, next) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) if i + 1 < buf.len() => (&buf[..i], Some(&buf[i + 1..])),
                Some(i) => (&buf[..i], None),
                None => (buf, None),
            };
            rest = next;
            let mut pos = line;
            let mut field = |need_space: bool| -> Result<u32> {
                pos = skip_spaces(pos);
                let digits = pos.iter().take_while(|b| b.is_ascii_digit()).count();
                let v = pos[..digits]
                    .iter()
                    .fold(0u32, |v, &d| v.wrapping_mul(10).wrapping_add(u32::from(d - b'0')));
                pos = &pos[digits..];
                match pos.first() {
                    Some(&c) if is_space(c) => Ok(v),
                    None if !need_space => Ok(v),
                    _ => Err(Errno::EINVAL),
                }
            };
            let first = field(true)?;
            let lower_first = field(true)?;
            let count = field(false)?;
            if !skip_spaces(pos).is_empty() {
                return Err(Errno::EINVAL);
            }
            if first == u32::MAX
                || lower_first == u32::MAX
                || first.wrapping_add(count) <= first
                || lower_first.wrapping_add(count) <= lower_first
            {
                return Err(Errno::EINVAL);
            }
            let e = Extent { first, lower_first, count };
            let overlaps =
                |a: u32, ac: u32, b: u32, bc: u32| a < b.wrapping_add(bc) && b < a.wrapping_add(ac);
            if extents.iter().any(|o| {
                overlaps(o.first, o.count, e.first, e.count)
                    || overlaps(o.lower_first, o.count, e.lower_first, e.count)
            }) {
                return Err(Errno::EINVAL);
            }
            if extents.len() + 1 == MAX_EXTENTS && rest.is_some() {
                return Err(Errno::EINVAL);
            }
            extents.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            extents.push(e);
        }
        if extents.is_empty() {
            return Err(Errno::EINVAL);
        }
        Ok(IdMap { extents })
    }
}

/// Linux's `isspace` (its ctype table: also `\v`, `\f` and 0xA0).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t'..=b'\r' | 0xa0)
}

/// Linux's `skip_spaces`.
fn skip_spaces(s: &[u8]) -> &[u8] {
    &s[s.iter().take_while(|&&b| is_space(b)).count()..]
}

/// The kinds of namespace counted per user (Linux's `UCOUNT_*_NAMESPACES`,
/// with their `/proc/sys/user/max_*_namespaces` knobs). Cgroup
/// namespaces are not made here: their limit exists and reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsKind {
    /// User namespaces (charged to the maker's euid in the parent).
    User = 0,
    /// PID namespaces.
    Pid,
    /// UTS namespaces.
    Uts,
    /// IPC namespaces.
    Ipc,
    /// Network namespaces.
    Net,
    /// Mount namespaces.
    Mnt,
    /// Cgroup namespaces (not made: the limit only).
    Cgroup,
    /// Time namespaces.
    Time,
}

/// How many [`NsKind`]s there are.
pub const NS_KINDS: usize = 8;

impl NsKind {
    /// Every kind, in Linux's `UCOUNT_*` order.
    pub const ALL: [NsKind; NS_KINDS] = [
        NsKind::User,
        NsKind::Pid,
        NsKind::Uts,
        NsKind::Ipc,
        NsKind::Net,
        NsKind::Mnt,
        NsKind::Cgroup,
        NsKind::Time,
    ];

    /// The name of its knob under `/proc/sys/user`.
    pub fn knob(self) -> &'static str {
        match self {
            NsKind::User => "max_user_namespaces",
            NsKind::Pid => "max_pid_namespaces",
            NsKind::Uts => "max_uts_namespaces",
            NsKind::Ipc => "max_ipc_namespaces",
            NsKind::Net => "max_net_namespaces",
            NsKind::Mnt => "max_mnt_namespaces",
            NsKind::Cgroup => "max_cgroup_namespaces",
            NsKind::Time => "max_time_namespaces",
        }
    }
}

/// One namespace's place in its maker's counts (Linux's `inc_ucount`): one
/// count per user-namespace level, from the one the namespace is made in
/// up to the initial one ([`NsCounts::charge`]), given back when the
/// namespace record is dropped. Its drop is one atomic decrement per level
/// (no lock), so a record holding it may be dropped under any lock.
#[derive(Debug)]
pub struct Charge(Vec<Arc<AtomicU32>>);

impl Charge {
    /// Counts one more in `count` unless it is at `max` already
    /// (`ENOSPC`, as `inc_ucount` failing): a charge of one level.
    pub fn take(count: &Arc<AtomicU32>, max: u32) -> Result<Charge> {
        let mut held = Vec::new();
        held.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        Self::take_one(count, max)?;
        held.push(count.clone());
        Ok(Charge(held))
    }

    fn take_one(count: &AtomicU32, max: u32) -> Result<()> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1))
            .map(|_| ())
            .map_err(|_| Errno::ENOSPC)
    }

    /// How many levels it counts in.
    pub fn levels(&self) -> usize {
        self.0.len()
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        for c in &self.0 {
            c.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Live namespaces of each kind per (user namespace, kernel uid) (Linux's
/// ucounts: a namespace made by `euid` in user namespace `ns` counts for
/// `euid` in `ns`, for `ns`'s owner in its parent, and so on up to the
/// initial namespace), and the initial user namespace's maximum of each
/// kind (the `user.max_*_namespaces` knobs there; a child user
/// namespace keeps its own, [`UserNsRef::ucount_max`]). Kept by the
/// process table, under its lock.
#[derive(Debug)]
pub struct NsCounts {
    /// (user namespace inode, kernel uid) -> the count.
    counts: [BTreeMap<(u64, Id), Arc<AtomicU32>>; NS_KINDS],
    max: [u32; NS_KINDS],
}

impl Default for NsCounts {
    fn default() -> Self {
        NsCounts::new(MAX_NAMESPACES)
    }
}

impl NsCounts {
    /// Empty counts, every maximum of the initial namespace `max`.
    pub fn new(max: u32) -> NsCounts {
        NsCounts { counts: Default::default(), max: [max; NS_KINDS] }
    }

    /// The maximum of `kind` per user in the initial user namespace.
    pub fn max(&self, kind: NsKind) -> u32 {
        self.max[kind as usize]
    }

    /// Sets the maximum of `kind` per user in the initial user namespace
    /// (namespaces already made stay; only new ones are refused).
    pub fn set_max(&mut self, kind: NsKind, max: u32) {
        self.max[kind as usize] = max;
    }

    /// The maximum of `kind` per user in user namespace `ns`.
    pub fn max_in(&self, kind: NsKind, ns: &UserNsRef) -> u32 {
        ns.ucount_max(kind).unwrap_or(self.max[kind as usize])
    }

    /// How many namespaces of `kind` kernel uid `uid` has now in the
    /// initial user namespace's count (its own and those made in user
    /// namespaces it owns, or below them).
    pub fn count(&self, kind: NsKind, uid: Id) -> u32 {
        self.count_in(kind, &UserNsRef::INITIAL, uid)
    }

    /// How many namespaces of `kind` kernel uid `uid` has now in user
    /// namespace `ns`'s count.
    pub fn count_in(&self, kind: NsKind, ns: &UserNsRef, uid: Id) -> u32 {
        self.counts[kind as usize].get(&(ns.ino(), uid)).map_or(0, |c| c.load(Ordering::Acquire))
    }

    /// A charge for one more namespace of `kind` made by kernel uid `euid`
    /// in user namespace `ns` (Linux's `inc_ucount`): counted for `euid`
    /// in `ns`, then for each namespace's owner in its parent up to the
    /// initial one, each against that namespace's maximum; `ENOSPC` when
    /// any level is at it (nothing stays counted then). Entries nobody
    /// counts in any more are pruned first (the map holds only users with
    /// live namespaces, and this chain).
    pub fn charge(&mut self, kind: NsKind, ns: &UserNsRef, euid: Id) -> Result<Charge> {
        let map = &mut self.counts[kind as usize];
        map.retain(|_, c| Arc::strong_count(c) > 1);
        let mut held = Vec::new();
        held.try_reserve(ns.level() as usize + 1).map_err(|_| Errno::ENOMEM)?;
        let mut charge = Charge(held);
        let mut at = ns.clone();
        let mut uid = euid;
        loop {
            let max = at.ucount_max(kind).unwrap_or(self.max[kind as usize]);
            let count = map.entry((at.ino(), uid)).or_insert_with(|| Arc::new(AtomicU32::new(0)));
            // a refusal drops `charge`, which gives the levels below back
            Charge::take_one(count, max)?;
            // (room reserved above: no allocation)
            charge.0.push(count.clone());
            let Some(parent) = at.parent().cloned() else { break };
            uid = at.owner();
            at = parent;
        }
        Ok(charge)
    }
}

/// The state a user namespace's files change (write-once maps, the
/// `setgroups` switch).
#[derive(Debug, Default)]
struct Maps {
    uid: Option<IdMap>,
    gid: Option<IdMap>,
    setgroups_denied: bool,
}

/// A user namespace below the initial one.
#[derive(Debug)]
pub struct UserNs {
    ino: u64,
    parent: UserNsRef,
    level: u32,
    owner: Id,
    group: Id,
    /// Whether its maker had `CAP_SETFCAP` (`parent_could_setfcap`): a
    /// uid map it writes itself may then map its parent's uid 0.
    parent_could_setfcap: bool,
    maps: spin::Mutex<Maps>,
    /// Its own `user.max_*_namespaces` (`ucount_max`, `INT_MAX` at
    /// creation; its root may lower them).
    ucount_max: [AtomicU32; NS_KINDS],
    /// Its place in its maker's count of user namespaces.
    _charge: Option<Charge>,
}

/// A reference to a user namespace: the initial one or a record.
#[derive(Debug, Clone, Default)]
pub struct UserNsRef(Option<Arc<UserNs>>);

impl PartialEq for UserNsRef {
    fn eq(&self, o: &Self) -> bool {
        match (&self.0, &o.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
impl Eq for UserNsRef {}

impl UserNsRef {
    /// The initial user namespace.
    pub const INITIAL: UserNsRef = UserNsRef(None);

    /// Whether this is the initial namespace.
    pub fn is_initial(&self) -> bool {
        self.0.is_none()
    }

    /// The record (`None`: the initial namespace).
    pub fn get(&self) -> Option<&Arc<UserNs>> {
        self.0.as_ref()
    }

    /// Its inode number (nsfs).
    pub fn ino(&self) -> u64 {
        self.0.as_ref().map_or(INIT_USER_INO, |n| n.ino)
    }

    /// Its nesting level (0: initial).
    pub fn level(&self) -> u32 {
        self.0.as_ref().map_or(0, |n| n.level)
    }

    /// Its parent (`None` for the initial namespace).
    pub fn parent(&self) -> Option<&UserNsRef> {
        self.0.as_ref().map(|n| &n.parent)
    }

    /// Its own maximum of namespaces of `kind` per user (`ucount_max`;
    /// `None` for the initial namespace, whose maxima the process table
    /// keeps: [`NsCounts::max`]).
    pub fn ucount_max(&self, kind: NsKind) -> Option<u32> {
        self.0.as_ref().map(|n| n.ucount_max[kind as usize].load(Ordering::Relaxed))
    }

    /// Sets its maximum of `kind` (a child namespace's
    /// `/proc/sys/user/max_*_namespaces`): false for the initial
    /// namespace (set through [`NsCounts::set_max`]).
    pub fn set_ucount_max(&self, kind: NsKind, max: u32) -> bool {
        self.0.as_ref().map(|n| n.ucount_max[kind as usize].store(max, Ordering::Relaxed)).is_some()
    }

    /// The kernel uid that made it (0 for the initial namespace).
    pub fn owner(&self) -> Id {
        self.0.as_ref().map_or(0, |n| n.owner)
    }

    /// `make_kuid`: the kernel uid of `uid` as seen inside (`None`:
    /// unmapped, or no map yet).
    pub fn uid_into(&self, uid: Id) -> Option<Id> {
        match &self.0 {
            None => (uid != NO_ID).then_some(uid),
            Some(n) => n.maps.lock().uid.as_ref()?.down(uid),
        }
    }

    /// `make_kgid`.
    pub fn gid_into(&self, gid: Id) -> Option<Id> {
        match &self.0 {
            None => (gid != NO_ID).then_some(gid),
            Some(n) => n.maps.lock().gid.as_ref()?.down(gid),
        }
    }

    /// `from_kuid_munged`: kernel uid `kuid` as seen inside
    /// ([`OVERFLOW_ID`] when unmapped).
    pub fn uid_from(&self, kuid: Id) -> Id {
        match &self.0 {
            None => kuid,
            Some(n) => n.maps.lock().uid.as_ref().and_then(|m| m.up(kuid)).unwrap_or(OVERFLOW_ID),
        }
    }

    /// `from_kuid`: kernel uid `kuid` as seen inside (`None`: unmapped,
    /// or `NO_ID` itself).
    pub fn uid_up(&self, kuid: Id) -> Option<Id> {
        match &self.0 {
            None => (kuid != NO_ID).then_some(kuid),
            Some(n) => n.maps.lock().uid.as_ref()?.up(kuid),
        }
    }

    /// `from_kgid_munged`.
    pub fn gid_from(&self, kgid: Id) -> Id {
        match &self.0 {
            None => kgid,
            Some(n) => n.maps.lock().gid.as_ref().and_then(|m| m.up(kgid)).unwrap_or(OVERFLOW_ID),
        }
    }

    /// `from_kuid` without the munging: `None` when unmapped.
    pub fn uid_from_exact(&self, kuid: Id) -> Option<Id> {
        match &self.0 {
            None => Some(kuid),
            Some(n) => n.maps.lock().uid.as_ref()?.up(kuid),
        }
    }

    /// `map_id_range_down` on the uid map (`kind` Uid) or the gid map:
    /// the kernel id of `id` when the `count` ids from it lie in one line.
    fn range_into(&self, kind: MapKind, id: Id, count: u32) -> Option<Id> {
        match &self.0 {
            None => id.checked_add(count.checked_sub(1)?).filter(|&l| l != NO_ID).map(|_| id),
            Some(n) => {
                let m = n.maps.lock();
                let map = if kind == MapKind::Uid { &m.uid } else { &m.gid };
                map.as_ref()?.down_range(id, count)
            }
        }
    }

    fn gid_from_exact(&self, kgid: Id) -> Option<Id> {
        match &self.0 {
            None => Some(kgid),
            Some(n) => n.maps.lock().gid.as_ref()?.up(kgid),
        }
    }

    /// Whether `self` is `other` or one of its ancestors.
    pub fn is_ancestor_of(&self, other: &UserNsRef) -> bool {
        let mut n = other;
        loop {
            if n == self {
                return true;
            }
            match n.parent() {
                Some(p) => n = p,
                None => return false,
            }
        }
    }

    /// `userns_may_setgroups`: the gid map is written and `setgroups` is
    /// not denied (always for the initial namespace).
    pub fn may_setgroups(&self) -> bool {
        match &self.0 {
            None => true,
            Some(n) => {
                let m = n.maps.lock();
                m.gid.is_some() && !m.setgroups_denied
            }
        }
    }

    /// `/proc/<pid>/setgroups` as read: `allow` or `deny`.
    pub fn setgroups_text(&self) -> &'static str {
        match &self.0 {
            Some(n) if n.maps.lock().setgroups_denied => "deny\n",
            _ => "allow\n",
        }
    }

    /// Opening `/proc/<pid>/setgroups` of this namespace by `opener`
    /// (`proc_setgroups_open`): for writing, `EACCES` without
    /// `CAP_SYS_ADMIN` over the namespace.
    pub fn open_setgroups(&self, opener: &Credentials, write: bool) -> Result<()> {
        if write && !opener.ns_capable(self, crate::cred::CAP_SYS_ADMIN) {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// A write of `text` at `offset` to `/proc/<pid>/setgroups`
    /// (`proc_setgroups_write`; the capability was checked at open):
    /// `EINVAL` off offset 0 or from 8 bytes; `allow` or `deny` (up to a
    /// NUL) then only white space, else `EINVAL`; `EPERM` for `allow`
    /// once denied and for `deny` once the gid map is written (always in
    /// the initial namespace, whose map is).
    pub fn write_setgroups(&self, offset: u64, text: &[u8]) -> Result<()> {
        if offset != 0 || text.len() >= 8 {
            return Err(Errno::EINVAL);
        }
        let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
        let (allow, rest) = if let Some(r) = text.strip_prefix(b"allow") {
            (true, r)
        } else if let Some(r) = text.strip_prefix(b"deny") {
            (false, r)
        } else {
            return Err(Errno::EINVAL);
        };
        if !skip_spaces(rest).is_empty() {
            return Err(Errno::EINVAL);
        }
        let Some(n) = &self.0 else {
            // setgroups allowed, the gid map written
            return if allow { Ok(()) } else { Err(Errno::EPERM) };
        };
        let mut m = n.maps.lock();
        if allow {
            if m.setgroups_denied {
                return Err(Errno::EPERM);
            }
        } else {
            if m.gid.is_some() {
                return Err(Errno::EPERM);
            }
            m.setgroups_denied = true;
        }
        Ok(())
    }

    /// The map as `/proc/<pid>/uid_map` shows it to a file opened in
    /// namespace `reader` (`uid_m_show`): the lower ids in the reader's
    /// namespace, or in the parent's when the reader is inside this one
    /// (`u32::MAX` when unmapped there, as `from_kuid`); `%10u %10u %10u`
    /// per line.
    pub fn map_text(&self, kind: MapKind, reader: &UserNsRef) -> String {
        let mut out = String::new();
        let lines: Vec<Extent> = match &self.0 {
            None => alloc::vec![Extent { first: 0, lower_first: 0, count: u32::MAX }],
            Some(n) => {
                let m = n.maps.lock();
                let map = if kind == MapKind::Uid { &m.uid } else { &m.gid };
                map.as_ref().map(|m| m.extents.clone()).unwrap_or_default()
            }
        };
        let view = match self.parent() {
            Some(p) if reader == self => p.clone(),
            _ => reader.clone(),
        };
        for e in lines {
            let lower = if kind == MapKind::Uid {
                view.uid_from_exact(e.lower_first)
            } else {
                view.gid_from_exact(e.lower_first)
            };
            let lower = lower.unwrap_or(NO_ID);
            let _ = writeln!(out, "{:>10} {:>10} {:>10}", e.first, lower, e.count);
        }
        out
    }

    /// A write of `text` at `offset` to this namespace's uid or gid map
    /// through a file `opener` opened, by a writer with `writer`'s
    /// credentials (`proc_uid_map_write`, `map_write`), in Linux's order:
    /// `EPERM` for the initial namespace or when the opener is neither in
    /// the namespace nor in its parent; `EINVAL` off offset 0 or from a
    /// page; `EPERM` when the map is written (once only) or the opener
    /// lacks `CAP_SYS_ADMIN` over the namespace; `EINVAL` when the text
    /// does not parse ([`IdMap::parse`]); `EPERM` when the ids are not
    /// allowed (`new_idmap_permitted`): one line of count 1 naming the
    /// opener's own euid (or egid, once `setgroups` is denied) in the
    /// parent when the opener made the namespace, else `CAP_SETUID`/
    /// `CAP_SETGID` over the parent for the writer and for the opener;
    /// and for a uid map naming the parent's uid 0 (`verify_root_map`),
    /// `CAP_SETFCAP`: the maker's when the opener is inside, the opener's
    /// over the parent otherwise; `EPERM` when a line's ids are not all
    /// in one line of the parent's map.
    pub fn write_map(
        &self,
        kind: MapKind,
        opener: &Credentials,
        writer: &Credentials,
        offset: u64,
        text: &[u8],
    ) -> Result<()> {
        let Some(n) = &self.0 else { return Err(Errno::EPERM) };
        if opener.user_ns != *self && opener.user_ns != n.parent {
            return Err(Errno::EPERM);
        }
        if offset != 0 || text.len() >= 4096 {
            return Err(Errno::EINVAL);
        }
        let written = |m: &Maps| if kind == MapKind::Uid { m.uid.is_some() } else { m.gid.is_some() };
        if written(&n.maps.lock()) {
            return Err(Errno::EPERM);
        }
        if !opener.ns_capable(self, crate::cred::CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        let mut map = IdMap::parse(text)?;
        if !self.idmap_permitted(n, kind, opener, writer, &map) {
            return Err(Errno::EPERM);
        }
        // the lower ids into kernel ids (`map_id_range_down`)
        for e in &mut map.extents {
            e.lower_first = n.parent.range_into(kind, e.lower_first, e.count).ok_or(Errno::EPERM)?;
        }
        let mut m = n.maps.lock();
        if written(&m) {
            return Err(Errno::EPERM);
        }
        let slot = if kind == MapKind::Uid { &mut m.uid } else { &mut m.gid };
        *slot = Some(map);
        Ok(())
    }

    /// `new_idmap_permitted` with `verify_root_map` (see [`Self::write_map`]).
    fn idmap_permitted(
        &self,
        n: &UserNs,
        kind: MapKind,
        opener: &Credentials,
        writer: &Credentials,
        map: &IdMap,
    ) -> bool {
        use crate::cred::{CAP_SETFCAP, CAP_SETGID, CAP_SETUID};
        if kind == MapKind::Uid && map.extents.iter().any(|e| e.lower_first == 0) {
            let root_ok = if opener.user_ns == *self {
                n.parent_could_setfcap
            } else {
                opener.ns_capable(&n.parent, CAP_SETFCAP)
            };
            if !root_ok {
                return false;
            }
        }
        if let [e] = map.extents[..]
            && e.count == 1
            && n.owner == opener.euid
        {
            let own = match kind {
                MapKind::Uid => n.parent.uid_into(e.lower_first) == Some(opener.euid),
                MapKind::Gid => {
                    n.maps.lock().setgroups_denied && n.parent.gid_into(e.lower_first) == Some(opener.egid)
                }
            };
            if own {
                return true;
            }
        }
        let cap = if kind == MapKind::Uid { CAP_SETUID } else { CAP_SETGID };
        writer.ns_capable(&n.parent, cap) && opener.ns_capable(&n.parent, cap)
    }
}

impl Credentials {
    /// Linux's `ns_capable(ns, cap)`: capability `cap` in the effective
    /// set when the credentials live in `ns`; every capability when they
    /// live in an ancestor of `ns` whose child on the way made by their
    /// euid (the owner of a namespace is privileged over it).
    pub fn ns_capable(&self, ns: &UserNsRef, cap: u32) -> bool {
        let mut n = ns;
        loop {
            if *n == self.user_ns {
                return self.own_cap(cap);
            }
            if n.level() <= self.user_ns.level() {
                return false;
            }
            let Some(p) = n.parent() else { return false };
            if *p == self.user_ns && n.owner() == self.euid {
                return true;
            }
            n = p;
        }
    }

    /// `create_user_ns` with `set_cred_user_ns`: these credentials moved
    /// into a new child namespace numbered `ino`, with every capability
    /// there (the caller sets the bounding set to
    /// [`crate::cred::CAP_FULL_SET`]). `ENOSPC` below [`MAX_LEVEL`],
    /// `EPERM` when the euid or egid has no mapping in the current one.
    pub fn enter_new_user_ns(&mut self, ino: u64) -> Result<()> {
        self.enter_new_user_ns_charged(ino, |_| Ok(None))
    }

    /// [`Self::enter_new_user_ns`] counted: after the level check,
    /// `charge` is asked for the namespace's place in its maker's count
    /// (given the maker's euid; `ENOSPC` at `user.max_user_namespaces`,
    /// as `inc_user_namespaces` before the mapping checks).
    pub fn enter_new_user_ns_charged(
        &mut self,
        ino: u64,
        charge: impl FnOnce(Id) -> Result<Option<Charge>>,
    ) -> Result<()> {
        if self.user_ns.level() > MAX_LEVEL {
            return Err(Errno::ENOSPC);
        }
        let level = self.user_ns.level() + 1;
        let charge = charge(self.euid)?;
        if self.user_ns.uid_from_exact(self.euid).is_none()
            || self.user_ns.gid_from_exact(self.egid).is_none()
        {
            return Err(Errno::EPERM);
        }
        let denied = self.user_ns.get().is_some_and(|p| p.maps.lock().setgroups_denied);
        let parent_could_setfcap = self.own_cap(crate::cred::CAP_SETFCAP);
        let ns = UserNs {
            ino,
            parent: self.user_ns.clone(),
            level,
            owner: self.euid,
            group: self.egid,
            parent_could_setfcap,
            maps: spin::Mutex::new(Maps { uid: None, gid: None, setgroups_denied: denied }),
            ucount_max: core::array::from_fn(|_| AtomicU32::new(i32::MAX as u32)),
            _charge: charge,
        };
        self.user_ns = UserNsRef(Some(Arc::new(ns)));
        self.cap_effective = CAP_FULL_SET;
        self.cap_permitted = CAP_FULL_SET;
        self.cap_inheritable = 0;
        self.cap_ambient = 0;
        self.securebits = 0;
        Ok(())
    }

    /// setns(2) into user namespace `ns` (`userns_install`): it must be a
    /// descendant of the current one (not the same: `EINVAL`) and the
    /// caller needs `CAP_SYS_ADMIN` over it (`EPERM`); the credentials get
    /// every capability there.
    pub fn install_user_ns(&mut self, ns: &UserNsRef) -> Result<()> {
        if *ns == self.user_ns {
            return Err(Errno::EINVAL);
        }
        if !self.ns_capable(ns, crate::cred::CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        self.user_ns = ns.clone();
        self.cap_effective = CAP_FULL_SET;
        self.cap_permitted = CAP_FULL_SET;
        self.cap_inheritable = 0;
        self.cap_ambient = 0;
        Ok(())
    }
}

impl UserNs {
    /// The kernel gid of its maker.
    pub fn group(&self) -> Id {
        self.group
    }
}

/// The names a UTS namespace holds (`struct new_utsname`'s nodename and
/// domainname, 64 bytes each at most).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtsNames {
    host: [u8; 64],
    host_len: u8,
    domain: [u8; 64],
    domain_len: u8,
}

impl Default for UtsNames {
    /// `(none)` for both, as Linux's boot value.
    fn default() -> Self {
        let mut n = UtsNames { host: [0; 64], host_len: 0, domain: [0; 64], domain_len: 0 };
        n.set_host(b"(none)");
        n.set_domain(b"(none)");
        n
    }
}

impl UtsNames {
    /// The host name.
    pub fn host(&self) -> &[u8] {
        &self.host[..usize::from(self.host_len)]
    }

    /// The NIS domain name.
    pub fn domain(&self) -> &[u8] {
        &self.domain[..usize::from(self.domain_len)]
    }

    /// Sets the host name (cut at 64 bytes).
    pub fn set_host(&mut self, name: &[u8]) {
        let n = name.len().min(64);
        self.host = [0; 64];
        self.host[..n].copy_from_slice(&name[..n]);
        self.host_len = n as u8;
    }

    /// Sets the domain name (cut at 64 bytes).
    pub fn set_domain(&mut self, name: &[u8]) {
        let n = name.len().min(64);
        self.domain = [0; 64];
        self.domain[..n].copy_from_slice(&name[..n]);
        self.domain_len = n as u8;
    }
}

/// A UTS namespace: its names, its number and the user namespace that
/// owns it (whose `CAP_SYS_ADMIN` sethostname(2) needs).
#[derive(Debug)]
pub struct UtsNs {
    ino: u64,
    owner: UserNsRef,
    names: spin::Mutex<UtsNames>,
    /// Its place in its maker's count (`None`: the initial one).
    _charge: Option<Charge>,
}

impl UtsNs {
    /// The initial namespace (`(none)` names).
    pub fn initial() -> Arc<UtsNs> {
        Arc::new(UtsNs {
            ino: INIT_UTS_INO,
            owner: UserNsRef::INITIAL,
            names: spin::Mutex::new(UtsNames::default()),
            _charge: None,
        })
    }

    /// `copy_utsname`: a copy of `self`'s names numbered `ino`, owned by
    /// `owner`, counted by `charge` until dropped.
    pub fn copy(&self, ino: u64, owner: UserNsRef, charge: Option<Charge>) -> Arc<UtsNs> {
        let names = self.names.lock().clone();
        Arc::new(UtsNs { ino, owner, names: spin::Mutex::new(names), _charge: charge })
    }

    /// Its inode number (nsfs).
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The user namespace that owns it.
    pub fn owner(&self) -> &UserNsRef {
        &self.owner
    }

    /// A copy of the names.
    pub fn names(&self) -> UtsNames {
        self.names.lock().clone()
    }

    /// Changes the names.
    pub fn update(&self, f: impl FnOnce(&mut UtsNames)) {
        f(&mut self.names.lock())
    }
}

/// The inode number of the initial mount namespace (the first dynamic
/// number after the initial network namespace's, as on Linux).
pub const INIT_MNT_INO: u64 = 0xF000_0001;

/// A mount namespace: its number and the user namespace that owns it
/// (whose `CAP_SYS_ADMIN` mount(2) needs). The mounts are the kernel's:
/// its VFS keeps them per namespace number.
#[derive(Debug)]
pub struct MntNs {
    ino: u64,
    owner: UserNsRef,
    /// Its place in its maker's count (`None`: the initial one).
    _charge: Option<Charge>,
}

impl MntNs {
    /// The initial namespace.
    pub fn initial() -> Arc<MntNs> {
        Arc::new(MntNs { ino: INIT_MNT_INO, owner: UserNsRef::INITIAL, _charge: None })
    }

    /// `copy_mnt_ns`: a new namespace numbered `ino`, owned by `owner`
    /// (the kernel copies the mounts), counted by `charge` until dropped.
    pub fn copy(&self, ino: u64, owner: UserNsRef, charge: Option<Charge>) -> Arc<MntNs> {
        Arc::new(MntNs { ino, owner, _charge: charge })
    }

    /// Its inode number (nsfs).
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The user namespace that owns it.
    pub fn owner(&self) -> &UserNsRef {
        &self.owner
    }

    /// Whether it is the initial namespace.
    pub fn is_initial(&self) -> bool {
        self.ino == INIT_MNT_INO
    }
}

/// The inode number of the initial IPC namespace (`PROC_IPC_INIT_INO`).
pub const INIT_IPC_INO: u64 = 0xEFFF_FFFF;

/// An IPC namespace: its number and the user namespace that owns it
/// (whose `CAP_SYS_ADMIN` setns(2) needs, and whose root the IPC objects'
/// owner checks go by). Its System V and POSIX message-queue tables are
/// the kernel's: it keeps them per namespace number and drops them when
/// the last holder of this record (a process or an open nsfs file) is
/// gone, as Linux's `put_ipc_ns`.
#[derive(Debug)]
pub struct IpcNs {
    ino: u64,
    owner: UserNsRef,
    /// Its place in its maker's count (`None`: the initial one).
    _charge: Option<Charge>,
    /// Told the namespace's number when the record is dropped (its last
    /// holder went), so the kernel reaps its tables without a scan. It
    /// must take no lock: the record may be dropped under any.
    gone: Option<fn(u64)>,
}

impl IpcNs {
    /// The initial namespace.
    pub fn initial() -> Arc<IpcNs> {
        Arc::new(IpcNs { ino: INIT_IPC_INO, owner: UserNsRef::INITIAL, _charge: None, gone: None })
    }

    /// `copy_ipcs`: a new, empty namespace numbered `ino`, owned by
    /// `owner` (nothing is copied: the kernel's tables for it start empty
    /// with the default limits), counted by `charge` until dropped, when
    /// `gone` (if any) is told its number.
    pub fn create(ino: u64, owner: UserNsRef, charge: Option<Charge>, gone: Option<fn(u64)>) -> Arc<IpcNs> {
        Arc::new(IpcNs { ino, owner, _charge: charge, gone })
    }

    /// Its inode number (nsfs).
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The user namespace that owns it.
    pub fn owner(&self) -> &UserNsRef {
        &self.owner
    }

    /// Whether it is the initial namespace.
    pub fn is_initial(&self) -> bool {
        self.ino == INIT_IPC_INO
    }
}

impl Drop for IpcNs {
    fn drop(&mut self) {
        if let Some(f) = self.gone {
            f(self.ino);
        }
    }
}

/// The inode number of the initial network namespace (`init_net`'s, the
/// first dynamic number).
pub const INIT_NET_INO: u64 = 0xF000_0000;

/// How many namespaces of each kind one user may have at once by default
/// (Linux's `user.max_*_namespaces`, `max_threads / 2` there, which the
/// kernel sets at boot; `ENOSPC` beyond).
pub const MAX_NAMESPACES: u32 = 1024;
/// The former name of [`MAX_NAMESPACES`].
pub const MAX_NET_NAMESPACES: u32 = MAX_NAMESPACES;

/// The kernel's state of a network namespace (its interfaces, sockets,
/// port tables), kept by the [`NetNs`] record.
pub type NetExt = Arc<dyn core::any::Any + Send + Sync>;

/// A network namespace: its number, the user namespace that owns it
/// (whose `CAP_NET_ADMIN`/`CAP_NET_RAW` count inside it) and the kernel's
/// state of it (made at the first use: [`NetNs::ext_or_init`]). The
/// record counts against its maker's limit until it is dropped.
pub struct NetNs {
    ino: u64,
    owner: UserNsRef,
    ext: spin::Once<NetExt>,
    /// Its place in its maker's count (`None`: the initial one).
    _charge: Option<Charge>,
}

impl core::fmt::Debug for NetNs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NetNs").field("ino", &self.ino).finish_non_exhaustive()
    }
}

impl NetNs {
    /// The initial namespace.
    pub fn initial() -> Arc<NetNs> {
        Arc::new(NetNs {
            ino: INIT_NET_INO,
            owner: UserNsRef::INITIAL,
            ext: spin::Once::new(),
            _charge: None,
        })
    }

    /// `copy_net_ns`: a new namespace numbered `ino`, owned by `owner`,
    /// counted by `charge` (its maker's, [`NsCounts::charge`]) until
    /// dropped.
    pub fn create(ino: u64, owner: UserNsRef, charge: Option<Charge>) -> Arc<NetNs> {
        Arc::new(NetNs { ino, owner, ext: spin::Once::new(), _charge: charge })
    }

    /// Its inode number (nsfs).
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The user namespace that owns it.
    pub fn owner(&self) -> &UserNsRef {
        &self.owner
    }

    /// Whether it is the initial namespace.
    pub fn is_initial(&self) -> bool {
        self.ino == INIT_NET_INO
    }

    /// The kernel's state, when made.
    pub fn ext(&self) -> Option<&NetExt> {
        self.ext.get()
    }

    /// The kernel's state, made by `make` at the first call (a failure
    /// leaves it unmade; of two racing makers one value is kept).
    pub fn ext_or_init(&self, make: impl FnOnce() -> Result<NetExt>) -> Result<&NetExt> {
        if let Some(e) = self.ext.get() {
            return Ok(e);
        }
        let v = make()?;
        Ok(self.ext.call_once(|| v))
    }
}

/// The inode number of the initial PID namespace (`PROC_PID_INIT_INO`).
pub const INIT_PID_INO: u64 = 0xEFFF_FFFC;
/// The deepest level of a PID namespace (Linux's `MAX_PID_NS_LEVEL`).
pub const MAX_PID_LEVEL: u32 = 32;

/// A PID namespace below the initial one. Its numbers are the process
/// table's (kept under the table lock); the record holds what identifies
/// it and whether a process may still enter it.
#[derive(Debug)]
pub struct PidNs {
    ino: u64,
    level: u32,
    parent: PidNsRef,
    owner: UserNsRef,
    /// Linux's `PIDNS_ADDING`: cleared when its init dies (a fork into
    /// it is then `ENOMEM`).
    adding: core::sync::atomic::AtomicBool,
    /// Whether its init was made (Linux's `child_reaper` set).
    has_init: core::sync::atomic::AtomicBool,
    /// Its place in its maker's count.
    _charge: Option<Charge>,
}

/// A reference to a PID namespace: the initial one or a record.
#[derive(Debug, Clone, Default)]
pub struct PidNsRef(Option<Arc<PidNs>>);

impl PartialEq for PidNsRef {
    fn eq(&self, o: &Self) -> bool {
        match (&self.0, &o.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
impl Eq for PidNsRef {}

impl PidNsRef {
    /// The initial PID namespace.
    pub const INITIAL: PidNsRef = PidNsRef(None);

    /// A reference to a record.
    pub fn of(ns: Arc<PidNs>) -> PidNsRef {
        PidNsRef(Some(ns))
    }

    /// Whether this is the initial namespace.
    pub fn is_initial(&self) -> bool {
        self.0.is_none()
    }

    /// The record (`None`: the initial namespace).
    pub fn get(&self) -> Option<&Arc<PidNs>> {
        self.0.as_ref()
    }

    /// Its inode number (nsfs).
    pub fn ino(&self) -> u64 {
        self.0.as_ref().map_or(INIT_PID_INO, |n| n.ino)
    }

    /// Its nesting level (0: initial).
    pub fn level(&self) -> u32 {
        self.0.as_ref().map_or(0, |n| n.level)
    }

    /// Its parent (`None` for the initial namespace).
    pub fn parent(&self) -> Option<&PidNsRef> {
        self.0.as_ref().map(|n| &n.parent)
    }

    /// The user namespace that owns it.
    pub fn owner(&self) -> UserNsRef {
        self.0.as_ref().map_or(UserNsRef::INITIAL, |n| n.owner.clone())
    }

    /// Whether processes may still enter it (its init has not died).
    pub fn adding(&self) -> bool {
        self.0.as_ref().is_none_or(|n| n.adding.load(core::sync::atomic::Ordering::Relaxed))
    }

    /// Whether its init was ever made (`/proc/PID/ns/pid_for_children`
    /// has no link before).
    pub fn has_init(&self) -> bool {
        self.0.as_ref().is_none_or(|n| n.has_init.load(core::sync::atomic::Ordering::Relaxed))
    }

    /// Notes that its init was made.
    pub fn set_has_init(&self) {
        if let Some(n) = &self.0 {
            n.has_init.store(true, core::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Marks it closed to new processes (its init died).
    pub fn stop_adding(&self) {
        if let Some(n) = &self.0 {
            n.adding.store(false, core::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Whether `self` is `other` or one of its ancestors.
    pub fn is_ancestor_of(&self, other: &PidNsRef) -> bool {
        let mut cur = other;
        loop {
            if cur == self {
                return true;
            }
            match cur.parent() {
                Some(p) => cur = p,
                None => return false,
            }
        }
    }

    /// `create_pid_namespace`: a child of `self` numbered `ino`, owned by
    /// `owner`. `ENOSPC` past [`MAX_PID_LEVEL`] levels, then whatever
    /// `charge` (its place in its maker's count) fails with.
    pub fn create_child(
        &self,
        ino: u64,
        owner: UserNsRef,
        charge: impl FnOnce() -> Result<Option<Charge>>,
    ) -> Result<PidNsRef> {
        let level = self.level() + 1;
        if level > MAX_PID_LEVEL {
            return Err(Errno::ENOSPC);
        }
        let charge = charge()?;
        Ok(PidNsRef(Some(Arc::new(PidNs {
            ino,
            level,
            parent: self.clone(),
            owner,
            adding: core::sync::atomic::AtomicBool::new(true),
            has_init: core::sync::atomic::AtomicBool::new(false),
            _charge: charge,
        }))))
    }
}

/// The initial cgroup namespace's number (Linux's `PROC_CGROUP_INIT_INO`).
pub const INIT_CGROUP_INO: u64 = 0xEFFF_FFFB;

/// A cgroup namespace (cg38, Linux's `struct cgroup_namespace`): its
/// number, the user namespace that owns it and its root, the kernel's
/// number of the cgroup that was its maker's when it was made (`0`: the
/// hierarchy's root; set by the kernel after the clone or unshare that
/// made it, which knows the cgroups: [`CgroupNs::set_root`]). Paths in
/// /proc/PID/cgroup and a cgroup2 mount made inside it start there. The
/// record counts against its maker's limit until it is dropped.
#[derive(Debug)]
pub struct CgroupNs {
    ino: u64,
    owner: UserNsRef,
    root: core::sync::atomic::AtomicU64,
    /// Its place in its maker's count (`None`: the initial one).
    _charge: Option<Charge>,
}

impl CgroupNs {
    /// The initial namespace (rooted at the hierarchy's root).
    pub fn initial() -> Arc<CgroupNs> {
        Arc::new(CgroupNs {
            ino: INIT_CGROUP_INO,
            owner: UserNsRef::INITIAL,
            root: core::sync::atomic::AtomicU64::new(0),
            _charge: None,
        })
    }

    /// `copy_cgroup_ns`: a new namespace numbered `ino`, owned by `owner`,
    /// rooted at `root` until [`CgroupNs::set_root`], counted by `charge`.
    pub fn create(ino: u64, owner: UserNsRef, charge: Option<Charge>, root: u64) -> Arc<CgroupNs> {
        Arc::new(CgroupNs { ino, owner, root: core::sync::atomic::AtomicU64::new(root), _charge: charge })
    }

    /// Its inode number (nsfs).
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The user namespace that owns it.
    pub fn owner(&self) -> &UserNsRef {
        &self.owner
    }

    /// Its root cgroup's number (`0`: the hierarchy's root).
    pub fn root(&self) -> u64 {
        self.root.load(Ordering::Acquire)
    }

    /// Sets its root cgroup's number (the kernel, right after the call
    /// that made it).
    pub fn set_root(&self, root: u64) {
        self.root.store(root, Ordering::Release);
    }

    /// Whether it is the initial namespace.
    pub fn is_initial(&self) -> bool {
        self.ino == INIT_CGROUP_INO
    }
}

/// A process's namespaces other than its user namespace (which its
/// credentials carry): Linux's `nsproxy`, copied by fork.
#[derive(Debug, Clone)]
pub struct NsSet {
    /// Its UTS namespace.
    pub uts: Arc<UtsNs>,
    /// Its mount namespace.
    pub mnt: Arc<MntNs>,
    /// Its IPC namespace.
    pub ipc: Arc<IpcNs>,
    /// The PID namespace its children are made in (`pid_for_children`;
    /// its own is the table's record of its pid).
    pub pid_children: PidNsRef,
    /// Its network namespace.
    pub net: Arc<NetNs>,
    /// The time namespace its clocks read (`time`).
    pub time: Arc<crate::timens::TimeNs>,
    /// The time namespace its children enter (`time_for_children`:
    /// another one after unshare(CLONE_NEWTIME)).
    pub time_children: Arc<crate::timens::TimeNs>,
    /// Its cgroup namespace.
    pub cgroup: Arc<CgroupNs>,
}

impl NsSet {
    /// The initial namespaces.
    pub fn initial() -> NsSet {
        let time = crate::timens::TimeNs::initial();
        NsSet {
            uts: UtsNs::initial(),
            mnt: MntNs::initial(),
            ipc: IpcNs::initial(),
            pid_children: PidNsRef::INITIAL,
            net: NetNs::initial(),
            time: time.clone(),
            time_children: time,
            cgroup: CgroupNs::initial(),
        }
    }

    /// Whether its children go into another time namespace than its own
    /// (a thread or a `CLONE_VM` child is then `EINVAL`).
    pub fn time_differs(&self) -> bool {
        !Arc::ptr_eq(&self.time, &self.time_children)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cred::CAP_SYS_ADMIN;
    use alloc::format;

    fn user(uid: Id) -> Credentials {
        Credentials::user(uid, uid)
    }

    #[test]
    fn parse_rules() {
        let m = IdMap::parse(b"0 1000 1\n").unwrap();
        assert_eq!(m.extents(), &[Extent { first: 0, lower_first: 1000, count: 1 }]);
        let m = IdMap::parse(b"  0\t1000   10\n20 2000 5").unwrap();
        assert_eq!(m.extents().len(), 2);
        assert_eq!(m.down(9), Some(1009));
        assert_eq!(m.down(10), None);
        assert_eq!(m.up(2004), Some(24));
        assert_eq!(m.up(2005), None);
        for bad in [
            &b""[..],
            b"\n",
            b"0 1000",
            b"0 1000 0",
            b"0 1000 1 x",
            b"-1 0 1",
            b"1 0 4294967295",
            b"0 1 4294967295",
            b"4294967295 0 1",
            b"0 1000 10\n5 3000 1",
            b"0 1000 10\n20 1005 1",
            b"\n0 1000 1",
            b"0 1000 1\n\n",
            b"0 1000 1\n\n5 2000 1",
            b"0\n1000 1",
        ] {
            assert_eq!(IdMap::parse(bad), Err(Errno::EINVAL), "{:?}", core::str::from_utf8(bad));
        }
        // simple_strtoul into a u32: modulo 2^32; the text ends at a NUL;
        // isspace's \v, \f and \r
        assert_eq!(
            IdMap::parse(b"4294967296 1000 1").unwrap().extents(),
            &[Extent { first: 0, lower_first: 1000, count: 1 }]
        );
        assert_eq!(IdMap::parse(b"0 1000 99999999999").unwrap().extents()[0].count, 1215752191);
        assert_eq!(IdMap::parse(b"0 1000 1\0junk").unwrap().extents().len(), 1);
        assert_eq!(IdMap::parse(b"0\x0b1000\x0c1\r").unwrap().extents().len(), 1);
        assert_eq!(IdMap::parse(b"0 0 4294967295").unwrap().extents()[0].count, u32::MAX);
        let mut many = String::new();
        for i in 0..=MAX_EXTENTS as u32 {
            let _ = writeln!(many, "{} {} 1", i, i);
        }
        assert_eq!(IdMap::parse(many.as_bytes()), Err(Errno::EINVAL));
        let ok: String = many.lines().take(MAX_EXTENTS).map(|l| format!("{l}\n")).collect();
        assert_eq!(IdMap::parse(ok.as_bytes()).map(|m| m.extents().len()), Ok(MAX_EXTENTS));
    }

    #[test]
    fn unprivileged_maps() {
        let mut c = user(1000);
        c.enter_new_user_ns(FIRST_DYNAMIC_INO).unwrap();
        let ns = c.user_ns.clone();
        assert!(c.ns_capable(&ns, CAP_SYS_ADMIN));
        assert!(!c.ns_capable(&UserNsRef::INITIAL, CAP_SYS_ADMIN));
        assert!(!c.has_cap(CAP_SYS_ADMIN), "no capability in the initial namespace");
        // unmapped until written
        assert_eq!(ns.uid_from(1000), OVERFLOW_ID);
        assert_eq!(ns.uid_into(0), None);
        // another uid is not the writer's own
        assert_eq!(ns.write_map(MapKind::Uid, &c, &c, 0, b"0 1001 1"), Err(Errno::EPERM));
        assert_eq!(ns.write_map(MapKind::Uid, &c, &c, 0, b"0 1000 2"), Err(Errno::EPERM));
        assert_eq!(ns.write_map(MapKind::Uid, &c, &c, 0, b"0 1000 0"), Err(Errno::EINVAL));
        ns.write_map(MapKind::Uid, &c, &c, 0, b"0 1000 1\n").unwrap();
        assert_eq!(ns.write_map(MapKind::Uid, &c, &c, 0, b"0 1000 1\n"), Err(Errno::EPERM), "write once");
        assert_eq!(ns.uid_from(1000), 0);
        assert_eq!(ns.uid_from(0), OVERFLOW_ID);
        assert_eq!(ns.uid_into(0), Some(1000));
        // gid_map needs setgroups denied first
        assert_eq!(ns.write_map(MapKind::Gid, &c, &c, 0, b"0 1000 1"), Err(Errno::EPERM));
        assert_eq!(ns.setgroups_text(), "allow\n");
        assert_eq!(ns.write_setgroups(0, b"maybe"), Err(Errno::EINVAL));
        ns.write_setgroups(0, b"deny\n").unwrap();
        assert_eq!(ns.write_setgroups(0, b"allow"), Err(Errno::EPERM));
        assert!(!ns.may_setgroups());
        ns.write_map(MapKind::Gid, &c, &c, 0, b"0 1000 1").unwrap();
        assert_eq!(ns.gid_from(1000), 0);
        assert_eq!(ns.map_text(MapKind::Uid, &ns), "         0       1000          1\n");
        assert_eq!(ns.map_text(MapKind::Uid, &UserNsRef::INITIAL), "         0       1000          1\n");
        assert_eq!(
            UserNsRef::INITIAL.map_text(MapKind::Gid, &UserNsRef::INITIAL),
            "         0          0 4294967295\n"
        );
        // a child namespace inherits the denial
        let mut inner = c.clone();
        inner.euid = 1000;
        inner.enter_new_user_ns(FIRST_DYNAMIC_INO + 1).unwrap();
        assert_eq!(inner.user_ns.setgroups_text(), "deny\n");
        assert_eq!(inner.user_ns.level(), 2);
        assert!(ns.is_ancestor_of(&inner.user_ns));
    }

    #[test]
    fn owner_is_privileged_over_child() {
        let mut c = user(1000);
        let parent = c.clone();
        c.enter_new_user_ns(FIRST_DYNAMIC_INO).unwrap();
        // the parent-side process (same euid) has every capability there
        assert!(parent.ns_capable(&c.user_ns, CAP_SYS_ADMIN));
        assert!(!user(1001).ns_capable(&c.user_ns, CAP_SYS_ADMIN));
        // and may write a map from outside
        c.user_ns.write_map(MapKind::Uid, &parent, &parent, 0, b"5 1000 1").unwrap();
        assert_eq!(c.user_ns.uid_from(1000), 5);
        // root outside may map anything the parent maps
        let mut r = Credentials::root();
        r.enter_new_user_ns(FIRST_DYNAMIC_INO + 2).unwrap();
        r.user_ns
            .write_map(MapKind::Uid, &Credentials::root(), &Credentials::root(), 0, b"0 100000 65536")
            .unwrap();
        assert_eq!(r.user_ns.uid_from(100000 + 7), 7);
        assert_eq!(r.user_ns.uid_into(65535), Some(165535));
        // setns rules
        let mut other = user(1000);
        assert_eq!(other.install_user_ns(&UserNsRef::INITIAL), Err(Errno::EINVAL));
        other.install_user_ns(&c.user_ns).unwrap();
        assert!(other.ns_capable(&c.user_ns, CAP_SYS_ADMIN));
        assert_eq!(user(1001).install_user_ns(&c.user_ns), Err(Errno::EPERM));
    }

    #[test]
    fn creation_limits() {
        let mut c = user(1000);
        for i in 0..=MAX_LEVEL {
            c.enter_new_user_ns(FIRST_DYNAMIC_INO + u64::from(i)).unwrap();
            c.user_ns.write_map(MapKind::Uid, &c.clone(), &c.clone(), 0, b"1000 1000 1").ok();
            c.user_ns.write_setgroups(0, b"deny").ok();
            c.user_ns.write_map(MapKind::Gid, &c.clone(), &c.clone(), 0, b"1000 1000 1").ok();
        }
        assert_eq!(c.user_ns.level(), MAX_LEVEL + 1);
        assert_eq!(c.enter_new_user_ns(1), Err(Errno::ENOSPC));
        // an unmapped euid cannot make a child
        let mut d = user(1000);
        d.enter_new_user_ns(FIRST_DYNAMIC_INO).unwrap();
        assert_eq!(d.enter_new_user_ns(FIRST_DYNAMIC_INO + 1), Err(Errno::EPERM));
    }

    #[test]
    fn opener_credentials_count() {
        use crate::cred::CAP_SETFCAP;
        // user 1000 makes a namespace and opens its uid_map; root writes
        let mut c = user(1000);
        let outside = c.clone();
        c.enter_new_user_ns(FIRST_DYNAMIC_INO).unwrap();
        let ns = c.user_ns.clone();
        let root = Credentials::root();
        // no full map through the unprivileged opener's file
        assert_eq!(ns.write_map(MapKind::Uid, &c, &root, 0, b"0 0 4294967295"), Err(Errno::EPERM));
        assert_eq!(ns.write_map(MapKind::Uid, &outside, &root, 0, b"0 100000 1000"), Err(Errno::EPERM));
        // its own uid still (the opener's), whoever writes
        ns.write_map(MapKind::Uid, &c, &root, 0, b"0 1000 1").unwrap();
        // another unprivileged user's file: no CAP_SYS_ADMIN over the
        // namespace, before the text is parsed
        let mut d = user(1000);
        d.enter_new_user_ns(FIRST_DYNAMIC_INO + 1).unwrap();
        assert_eq!(d.user_ns.write_map(MapKind::Uid, &user(1001), &root, 0, b"junk"), Err(Errno::EPERM));
        // an opener in another namespace (a sibling)
        assert_eq!(d.user_ns.write_map(MapKind::Uid, &c, &c, 0, b"0 1000 1"), Err(Errno::EPERM));
        // a privileged opener, an unprivileged writer: the writer needs it too
        assert_eq!(d.user_ns.write_map(MapKind::Uid, &root, &outside, 0, b"0 100000 10"), Err(Errno::EPERM));
        assert_eq!(d.user_ns.write_map(MapKind::Uid, &root, &root, 1, b"0 100000 10"), Err(Errno::EINVAL));
        d.user_ns.write_map(MapKind::Uid, &root, &root, 0, b"0 100000 5\n5 100005 5").unwrap();
        d.user_ns.write_map(MapKind::Gid, &root, &root, 0, b"0 100000 10").unwrap();
        // the lower ids in one line of the parent's map
        let mut e = d.clone();
        e.euid = 100000;
        e.egid = 100000;
        e.enter_new_user_ns(FIRST_DYNAMIC_INO + 2).unwrap();
        assert_eq!(e.user_ns.write_map(MapKind::Uid, &d, &d, 0, b"0 3 4"), Err(Errno::EPERM));
        e.user_ns.write_map(MapKind::Uid, &d, &d, 0, b"0 5 5").unwrap();
        assert_eq!(e.user_ns.uid_from(100009), 4);
        // the parent's uid 0 needs CAP_SETFCAP: the maker's, from inside
        let mut nofcap = Credentials::root();
        nofcap.cap_effective &= !(1 << CAP_SETFCAP);
        let mut f = nofcap.clone();
        f.enter_new_user_ns(FIRST_DYNAMIC_INO + 3).unwrap();
        assert_eq!(f.user_ns.write_map(MapKind::Uid, &f, &f, 0, b"0 0 1"), Err(Errno::EPERM));
        // (from outside, its maker's lack counts not: the opener's does)
        f.user_ns.write_map(MapKind::Uid, &root, &root, 0, b"0 0 1").unwrap();
        let mut g = nofcap.clone();
        g.enter_new_user_ns(FIRST_DYNAMIC_INO + 4).unwrap();
        // the opener's over the parent, from outside
        assert_eq!(g.user_ns.write_map(MapKind::Uid, &nofcap, &root, 0, b"0 0 1"), Err(Errno::EPERM));
        g.user_ns.write_map(MapKind::Uid, &root, &nofcap, 0, b"0 0 1").unwrap();
        let mut h = Credentials::root();
        h.enter_new_user_ns(FIRST_DYNAMIC_INO + 5).unwrap();
        h.user_ns.write_map(MapKind::Uid, &h, &h, 0, b"0 0 1").unwrap();
        // a line whose lower id is unmapped for the reader: u32::MAX
        assert_eq!(e.user_ns.map_text(MapKind::Uid, &h.user_ns), "         0 4294967295          5\n");
    }

    #[test]
    fn setgroups_rules() {
        let mut c = user(1000);
        c.enter_new_user_ns(FIRST_DYNAMIC_INO).unwrap();
        let ns = c.user_ns.clone();
        assert_eq!(ns.open_setgroups(&user(1001), true), Err(Errno::EACCES));
        assert_eq!(ns.open_setgroups(&user(1001), false), Ok(()));
        assert_eq!(ns.open_setgroups(&c, true), Ok(()));
        for bad in [&b"allowx"[..], b" deny", b"den", b"deny  x", b"allow\n\n\n\n"] {
            assert_eq!(ns.write_setgroups(0, bad), Err(Errno::EINVAL), "{bad:?}");
        }
        assert_eq!(ns.write_setgroups(1, b"deny"), Err(Errno::EINVAL));
        assert_eq!(ns.write_setgroups(0, b"allow\t\n"), Ok(()));
        assert_eq!(ns.write_setgroups(0, b"deny\0xy"), Ok(()));
        assert_eq!(ns.write_setgroups(0, b"allow"), Err(Errno::EPERM));
        // the initial namespace: allowed, its gid map written
        assert_eq!(UserNsRef::INITIAL.write_setgroups(0, b"allow"), Ok(()));
        assert_eq!(UserNsRef::INITIAL.write_setgroups(0, b"deny"), Err(Errno::EPERM));
    }

    #[test]
    fn counts_and_charges() {
        let init = UserNsRef::INITIAL;
        let mut c = NsCounts::new(2);
        assert_eq!(c.max(NsKind::Ipc), 2);
        let a = c.charge(NsKind::Ipc, &init, 5).unwrap();
        let b = c.charge(NsKind::Ipc, &init, 5).unwrap();
        assert_eq!(c.charge(NsKind::Ipc, &init, 5).unwrap_err(), Errno::ENOSPC);
        assert_eq!(c.count(NsKind::Ipc, 5), 2, "a refusal counts nothing");
        // per euid, per kind
        let d = c.charge(NsKind::Ipc, &init, 6).unwrap();
        let e = c.charge(NsKind::Uts, &init, 5).unwrap();
        assert_eq!((c.count(NsKind::Ipc, 6), c.count(NsKind::Uts, 5), c.count(NsKind::Net, 5)), (1, 1, 0));
        // given back at drop
        drop(a);
        assert_eq!(c.count(NsKind::Ipc, 5), 1);
        let a = c.charge(NsKind::Ipc, &init, 5).unwrap();
        // a lower maximum refuses new ones only
        c.set_max(NsKind::Ipc, 0);
        assert_eq!(c.charge(NsKind::Ipc, &init, 7).unwrap_err(), Errno::ENOSPC);
        assert_eq!(c.count(NsKind::Ipc, 5), 2);
        drop((a, b, d, e));
        assert_eq!((c.count(NsKind::Ipc, 5), c.count(NsKind::Ipc, 6), c.count(NsKind::Uts, 5)), (0, 0, 0));
        // entries nobody counts in are pruned at the next charge
        c.set_max(NsKind::Ipc, 1);
        let f = c.charge(NsKind::Ipc, &init, 8).unwrap();
        assert_eq!(c.counts[NsKind::Ipc as usize].len(), 1);
        assert_eq!(f.levels(), 1);
        drop(f);
    }

    /// A user namespace made by `uid` below `parent` (mapped 0 -> uid).
    fn child_ns(counts: &mut NsCounts, parent: &Credentials, ino: u64) -> Result<Credentials> {
        let mut c = parent.clone();
        let p = c.user_ns.clone();
        c.enter_new_user_ns_charged(ino, |e| counts.charge(NsKind::User, &p, e).map(Some))?;
        Ok(c)
    }

    #[test]
    fn charges_climb_the_user_namespaces() {
        let mut counts = NsCounts::new(10);
        let u = user(1000);
        let a = child_ns(&mut counts, &u, FIRST_DYNAMIC_INO).unwrap();
        let ns_a = a.user_ns.clone();
        // a child namespace's maxima are its own: INT_MAX at creation
        assert_eq!(ns_a.ucount_max(NsKind::Uts), Some(i32::MAX as u32));
        assert_eq!(UserNsRef::INITIAL.ucount_max(NsKind::Uts), None);
        assert_eq!(counts.max_in(NsKind::Uts, &ns_a), i32::MAX as u32);
        // a UTS namespace made by kernel uid 1000 inside A counts for 1000
        // in A and for A's owner (1000) in the initial namespace
        let x = counts.charge(NsKind::Uts, &ns_a, 1000).unwrap();
        assert_eq!(x.levels(), 2);
        assert_eq!(counts.count_in(NsKind::Uts, &ns_a, 1000), 1);
        assert_eq!(counts.count(NsKind::Uts, 1000), 1);
        // another kernel uid inside A: its own count in A, A's owner's above
        let y = counts.charge(NsKind::Uts, &ns_a, 2000).unwrap();
        assert_eq!(counts.count_in(NsKind::Uts, &ns_a, 2000), 1);
        assert_eq!(counts.count(NsKind::Uts, 2000), 0);
        assert_eq!(counts.count(NsKind::Uts, 1000), 2);
        // A's own maximum binds inside A only
        assert!(ns_a.set_ucount_max(NsKind::Uts, 1));
        assert_eq!(counts.charge(NsKind::Uts, &ns_a, 1000).unwrap_err(), Errno::ENOSPC);
        assert_eq!(counts.count(NsKind::Uts, 1000), 2, "a refusal in A counts nothing above");
        let z = counts.charge(NsKind::Uts, &UserNsRef::INITIAL, 1000).unwrap();
        assert_eq!(counts.count(NsKind::Uts, 1000), 3);
        // the initial namespace's maximum binds what A's users make
        ns_a.set_ucount_max(NsKind::Uts, 100);
        counts.set_max(NsKind::Uts, 3);
        assert_eq!(counts.charge(NsKind::Uts, &ns_a, 3000).unwrap_err(), Errno::ENOSPC);
        assert_eq!(counts.count_in(NsKind::Uts, &ns_a, 3000), 0, "the lower level given back");
        drop((x, y, z));
        assert_eq!(counts.count(NsKind::Uts, 1000), 0);
        assert_eq!(counts.count_in(NsKind::Uts, &ns_a, 1000), 0);
        // user namespaces: B inside A counts in A (for A's root, 1000)
        // and in the initial one for A's owner
        assert_eq!(counts.count(NsKind::User, 1000), 1);
        let a_root = a.clone();
        a_root.user_ns.write_map(MapKind::Uid, &u, &u, 0, b"0 1000 1").unwrap();
        a_root.user_ns.write_setgroups(0, b"deny").unwrap();
        a_root.user_ns.write_map(MapKind::Gid, &u, &u, 0, b"0 1000 1").unwrap();
        let b = child_ns(&mut counts, &a_root, FIRST_DYNAMIC_INO + 1).unwrap();
        assert_eq!(b.user_ns.level(), 2);
        assert_eq!(counts.count(NsKind::User, 1000), 2);
        assert_eq!(counts.count_in(NsKind::User, &ns_a, 1000), 1);
        // three levels: a mount namespace inside B
        let m = counts.charge(NsKind::Mnt, &b.user_ns, 1000).unwrap();
        assert_eq!(m.levels(), 3);
        assert_eq!(counts.count_in(NsKind::Mnt, &b.user_ns, 1000), 1);
        assert_eq!(counts.count_in(NsKind::Mnt, &ns_a, 1000), 1);
        assert_eq!(counts.count(NsKind::Mnt, 1000), 1);
        drop(m);
        drop((b, a_root, a, ns_a));
        assert_eq!(counts.count(NsKind::User, 1000), 0);
    }

    #[test]
    fn user_ns_charge_order() {
        // the level check first, then the charge, then the mapping check
        let mut c = user(1000);
        c.enter_new_user_ns(FIRST_DYNAMIC_INO).unwrap();
        let mut counts = NsCounts::new(1);
        let parent = c.user_ns.clone();
        // unmapped euid: EPERM after the charge, which is given back
        assert_eq!(
            c.enter_new_user_ns_charged(FIRST_DYNAMIC_INO + 1, |e| counts
                .charge(NsKind::User, &parent, e)
                .map(Some)),
            Err(Errno::EPERM)
        );
        assert_eq!(counts.count(NsKind::User, 1000), 0);
        counts.set_max(NsKind::User, 0);
        assert_eq!(
            c.enter_new_user_ns_charged(FIRST_DYNAMIC_INO + 1, |e| counts
                .charge(NsKind::User, &parent, e)
                .map(Some)),
            Err(Errno::ENOSPC)
        );
        // made: counted while the namespace lives
        counts.set_max(NsKind::User, 1);
        let mut d = user(1000);
        d.enter_new_user_ns_charged(FIRST_DYNAMIC_INO + 2, |e| {
            counts.charge(NsKind::User, &UserNsRef::INITIAL, e).map(Some)
        })
        .unwrap();
        assert_eq!(counts.count(NsKind::User, 1000), 1);
        let ns = d.user_ns.clone();
        drop(d);
        assert_eq!(counts.count(NsKind::User, 1000), 1);
        drop(ns);
        assert_eq!(counts.count(NsKind::User, 1000), 0);
    }

    proptest::proptest! {
        /// Charges and drops in any order over a tree of user namespaces:
        /// every (namespace, uid) count equals the live charges whose
        /// chain passes there, no count ever exceeds its level's maximum
        /// at the time of the charge, a refused charge changes nothing,
        /// and everything is back to 0 at the end.
        #[test]
        fn charge_uncharge_over_a_tree(
            maxes in proptest::collection::vec(0u32..4, 4),
            ops in proptest::collection::vec((0usize..4, 0u32..3, proptest::bool::ANY, 0usize..8), 1..60),
        ) {
            let mut counts = NsCounts::new(maxes[0]);
            // the tree: 0 initial; 1 and 2 made by uid 1 and 2 in it; 3 by
            // uid 1 in 1 (owner kernel uid 1)
            let mut nss = alloc::vec![UserNsRef::INITIAL];
            let mut keep = Vec::new();
            for (i, (parent, owner)) in [(0usize, 1u32), (0, 2), (1, 1)].into_iter().enumerate() {
                let mut c = user(owner);
                c.user_ns = nss[parent].clone();
                let mut big = NsCounts::new(u32::MAX);
                c.enter_new_user_ns_charged(FIRST_DYNAMIC_INO + i as u64, |e| big.charge(NsKind::User, &nss[parent], e).map(Some)).unwrap();
                c.user_ns.set_ucount_max(NsKind::Uts, maxes[i + 1]);
                // its owner's kernel uid is its 0 (the next level's maker)
                let mut o = user(owner);
                o.user_ns = nss[parent].clone();
                if parent != 0 {
                    // root inside its parent: may map that namespace's 0
                    o.cap_effective = crate::cred::CAP_FULL_SET;
                }
                let seen = nss[parent].uid_up(owner).unwrap();
                let line = alloc::format!("0 {seen} 1");
                c.user_ns.write_map(MapKind::Uid, &o, &o, 0, line.as_bytes()).unwrap();
                c.user_ns.write_setgroups(0, b"deny").unwrap();
                c.user_ns.write_map(MapKind::Gid, &o, &o, 0, line.as_bytes()).unwrap();
                nss.push(c.user_ns.clone());
                keep.push(big);
            }
            // the model: the chain of (ns index, uid) of each live charge
            let chain = |ns: usize, uid: u32| -> Vec<(usize, u32)> {
                let mut v = alloc::vec![(ns, uid)];
                let (mut at, mut _u) = (ns, uid);
                while at != 0 {
                    let (p, o) = [(0, 0), (0, 1), (0, 2), (1, 1)][at];
                    v.push((p, o));
                    at = p;
                    _u = o;
                }
                v
            };
            let max_of = |ns: usize| maxes[ns];
            let mut live: Vec<(Charge, Vec<(usize, u32)>)> = Vec::new();
            for (ns, uid, take, pick) in ops {
                if take {
                    let want = chain(ns, uid);
                    let room = want.iter().all(|&(n, u)| {
                        live.iter().filter(|(_, c)| c.contains(&(n, u))).count() < max_of(n) as usize
                    });
                    match counts.charge(NsKind::Uts, &nss[ns], uid) {
                        Ok(c) => {
                            proptest::prop_assert!(room);
                            proptest::prop_assert_eq!(c.levels(), want.len());
                            live.push((c, want));
                        }
                        Err(e) => {
                            proptest::prop_assert!(!room);
                            proptest::prop_assert_eq!(e, Errno::ENOSPC);
                        }
                    }
                } else if !live.is_empty() {
                    live.remove(pick % live.len());
                }
                for (n, ns_ref) in nss.iter().enumerate() {
                    for u in 0..3 {
                        let model = live.iter().filter(|(_, c)| c.contains(&(n, u))).count() as u32;
                        proptest::prop_assert_eq!(counts.count_in(NsKind::Uts, ns_ref, u), model);
                    }
                }
            }
            live.clear();
            for ns_ref in &nss {
                for u in 0..3 {
                    proptest::prop_assert_eq!(counts.count_in(NsKind::Uts, ns_ref, u), 0);
                }
            }
        }
    }

    #[test]
    fn uts_copy() {
        let a = UtsNs::initial();
        assert_eq!(a.names().host(), b"(none)");
        a.update(|n| n.set_host(b"box"));
        let b = a.copy(FIRST_DYNAMIC_INO, UserNsRef::INITIAL, None);
        b.update(|n| n.set_host(b"inner"));
        assert_eq!(a.names().host(), b"box");
        assert_eq!(b.names().host(), b"inner");
        assert_eq!(b.names().domain(), b"(none)");
        assert_eq!(b.ino(), FIRST_DYNAMIC_INO);
    }
}

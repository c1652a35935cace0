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
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
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

    /// Parses what a writer gives `uid_map`/`gid_map` (`map_write`): lines
    /// of three unsigned numbers separated by spaces or tabs; `EINVAL` for
    /// a malformed line, a count of 0, a range that wraps past `u32::MAX`,
    /// an overlap, no line or more than [`MAX_EXTENTS`]. The lower ids are
    /// still the parent namespace's.
    pub fn parse(text: &[u8]) -> Result<IdMap> {
        let mut extents: Vec<Extent> = Vec::new();
        for line in text.split(|&b| b == b'\n') {
            // the last line may lack its newline; an empty one ends nothing
            if line.is_empty() {
                continue;
            }
            let mut nums = [0u32; 3];
            let mut rest = line;
            for n in &mut nums {
                let skip = rest.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
                rest = &rest[skip..];
                let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                if digits == 0 {
                    return Err(Errno::EINVAL);
                }
                let mut v: u64 = 0;
                for &d in &rest[..digits] {
                    v = v * 10 + u64::from(d - b'0');
                    if v > u64::from(u32::MAX) {
                        return Err(Errno::EINVAL);
                    }
                }
                *n = v as u32;
                rest = &rest[digits..];
            }
            if rest.iter().any(|b| !b.is_ascii_whitespace()) {
                return Err(Errno::EINVAL);
            }
            let [first, lower_first, count] = nums;
            // (u32)-1 is not a valid id; no range may wrap
            if count == 0
                || first.checked_add(count - 1).is_none_or(|l| l == u32::MAX)
                || lower_first.checked_add(count - 1).is_none_or(|l| l == u32::MAX)
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
            if extents.len() == MAX_EXTENTS {
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
    maps: spin::Mutex<Maps>,
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

    /// `from_kgid_munged`.
    pub fn gid_from(&self, kgid: Id) -> Id {
        match &self.0 {
            None => kgid,
            Some(n) => n.maps.lock().gid.as_ref().and_then(|m| m.up(kgid)).unwrap_or(OVERFLOW_ID),
        }
    }

    /// `from_kuid` without the munging: `None` when unmapped.
    fn uid_from_exact(&self, kuid: Id) -> Option<Id> {
        match &self.0 {
            None => Some(kuid),
            Some(n) => n.maps.lock().uid.as_ref()?.up(kuid),
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

    /// A write to `/proc/<pid>/setgroups` by a writer with `writer`'s
    /// credentials (`proc_setgroups_write`): `allow` or `deny` with optional
    /// trailing white space, else `EINVAL`; `EPERM` without `CAP_SYS_ADMIN`
    /// over the namespace, for the initial namespace, for `allow` once
    /// denied, and for `deny` once the gid map is written.
    pub fn write_setgroups(&self, writer: &Credentials, text: &[u8]) -> Result<()> {
        let end = text.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
        let allow = match &text[..end] {
            b"allow" => true,
            b"deny" => false,
            _ => return Err(Errno::EINVAL),
        };
        if !writer.ns_capable(self, crate::cred::CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        let Some(n) = &self.0 else { return Err(Errno::EPERM) };
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

    /// The map as `/proc/<pid>/uid_map` shows it to a reader in namespace
    /// `reader` (`uid_m_show`): the lower ids in the reader's namespace, or
    /// in the parent's when the reader is inside this one; `%10u %10u
    /// %10u` per line, lines whose lower id the reader cannot see left out.
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
            if let Some(lower) = lower {
                let _ = writeln!(out, "{:>10} {:>10} {:>10}", e.first, lower, e.count);
            }
        }
        out
    }

    /// A write of `text` to this namespace's uid or gid map by a writer
    /// with `writer`'s credentials (`proc_uid_map_write`, `map_write`): the
    /// writer must be in the namespace or its parent (`EPERM`), the map
    /// must be unwritten (`EPERM`), the writer needs `CAP_SYS_ADMIN` over
    /// the namespace (`EPERM`), the text must parse (`EINVAL`), and the ids
    /// must be allowed (`new_idmap_permitted`, `EPERM`): one line of count 1
    /// naming the owner's own euid (or egid, once `setgroups` is denied) in
    /// the parent, or `CAP_SETUID`/`CAP_SETGID` over the parent for any
    /// ids the parent maps.
    pub fn write_map(&self, kind: MapKind, writer: &Credentials, text: &[u8]) -> Result<()> {
        let Some(n) = &self.0 else { return Err(Errno::EPERM) };
        if writer.user_ns != *self && writer.user_ns != n.parent {
            return Err(Errno::EPERM);
        }
        {
            let m = n.maps.lock();
            let set = if kind == MapKind::Uid { m.uid.is_some() } else { m.gid.is_some() };
            if set {
                return Err(Errno::EPERM);
            }
        }
        if !writer.ns_capable(self, crate::cred::CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        let mut map = IdMap::parse(text)?;
        let denied = n.maps.lock().setgroups_denied;
        // new_idmap_permitted()
        let own = map.extents.len() == 1 && map.extents[0].count == 1 && n.owner == writer.euid && {
            let id = map.extents[0].lower_first;
            match kind {
                MapKind::Uid => n.parent.uid_into(id) == Some(writer.euid),
                MapKind::Gid => denied && n.parent.gid_into(id) == Some(writer.egid),
            }
        };
        let cap = match kind {
            MapKind::Uid => crate::cred::CAP_SETUID,
            MapKind::Gid => crate::cred::CAP_SETGID,
        };
        if !own && !writer.ns_capable(&n.parent, cap) {
            return Err(Errno::EPERM);
        }
        // the lower ids into kernel ids: every id of a line must be mapped
        // by the parent, contiguously (`map_id_range_down`)
        for e in &mut map.extents {
            let down = |id| match kind {
                MapKind::Uid => n.parent.uid_into(id),
                MapKind::Gid => n.parent.gid_into(id),
            };
            let lo = down(e.lower_first).ok_or(Errno::EPERM)?;
            let hi = down(e.lower_first + (e.count - 1)).ok_or(Errno::EPERM)?;
            if hi.checked_sub(lo) != Some(e.count - 1) {
                return Err(Errno::EPERM);
            }
            e.lower_first = lo;
        }
        let mut m = n.maps.lock();
        let slot = if kind == MapKind::Uid { &mut m.uid } else { &mut m.gid };
        if slot.is_some() {
            return Err(Errno::EPERM);
        }
        *slot = Some(map);
        Ok(())
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
        if self.user_ns.level() > MAX_LEVEL {
            return Err(Errno::ENOSPC);
        }
        let level = self.user_ns.level() + 1;
        if self.user_ns.uid_from_exact(self.euid).is_none()
            || self.user_ns.gid_from_exact(self.egid).is_none()
        {
            return Err(Errno::EPERM);
        }
        let denied = self.user_ns.get().is_some_and(|p| p.maps.lock().setgroups_denied);
        let ns = UserNs {
            ino,
            parent: self.user_ns.clone(),
            level,
            owner: self.euid,
            group: self.egid,
            maps: spin::Mutex::new(Maps { uid: None, gid: None, setgroups_denied: denied }),
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
}

impl UtsNs {
    /// The initial namespace (`(none)` names).
    pub fn initial() -> Arc<UtsNs> {
        Arc::new(UtsNs {
            ino: INIT_UTS_INO,
            owner: UserNsRef::INITIAL,
            names: spin::Mutex::new(UtsNames::default()),
        })
    }

    /// `copy_utsname`: a copy of `self`'s names numbered `ino`, owned by
    /// `owner`.
    pub fn copy(&self, ino: u64, owner: UserNsRef) -> Arc<UtsNs> {
        let names = self.names.lock().clone();
        Arc::new(UtsNs { ino, owner, names: spin::Mutex::new(names) })
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
}

impl MntNs {
    /// The initial namespace.
    pub fn initial() -> Arc<MntNs> {
        Arc::new(MntNs { ino: INIT_MNT_INO, owner: UserNsRef::INITIAL })
    }

    /// `copy_mnt_ns`: a new namespace numbered `ino`, owned by `owner`
    /// (the kernel copies the mounts).
    pub fn copy(&self, ino: u64, owner: UserNsRef) -> Arc<MntNs> {
        Arc::new(MntNs { ino, owner })
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

/// A process's namespaces other than its user namespace (which its
/// credentials carry): Linux's `nsproxy`, copied by fork.
#[derive(Debug, Clone)]
pub struct NsSet {
    /// Its UTS namespace.
    pub uts: Arc<UtsNs>,
    /// Its mount namespace.
    pub mnt: Arc<MntNs>,
}

impl NsSet {
    /// The initial namespaces.
    pub fn initial() -> NsSet {
        NsSet { uts: UtsNs::initial(), mnt: MntNs::initial() }
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
            b"0 1000 99999999999",
        ] {
            assert_eq!(IdMap::parse(bad), Err(Errno::EINVAL), "{:?}", core::str::from_utf8(bad));
        }
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
        assert_eq!(ns.write_map(MapKind::Uid, &c, b"0 1001 1"), Err(Errno::EPERM));
        assert_eq!(ns.write_map(MapKind::Uid, &c, b"0 1000 2"), Err(Errno::EPERM));
        assert_eq!(ns.write_map(MapKind::Uid, &c, b"0 1000 0"), Err(Errno::EINVAL));
        ns.write_map(MapKind::Uid, &c, b"0 1000 1\n").unwrap();
        assert_eq!(ns.write_map(MapKind::Uid, &c, b"0 1000 1\n"), Err(Errno::EPERM), "write once");
        assert_eq!(ns.uid_from(1000), 0);
        assert_eq!(ns.uid_from(0), OVERFLOW_ID);
        assert_eq!(ns.uid_into(0), Some(1000));
        // gid_map needs setgroups denied first
        assert_eq!(ns.write_map(MapKind::Gid, &c, b"0 1000 1"), Err(Errno::EPERM));
        assert_eq!(ns.setgroups_text(), "allow\n");
        assert_eq!(ns.write_setgroups(&c, b"maybe"), Err(Errno::EINVAL));
        ns.write_setgroups(&c, b"deny\n").unwrap();
        assert_eq!(ns.write_setgroups(&c, b"allow"), Err(Errno::EPERM));
        assert!(!ns.may_setgroups());
        ns.write_map(MapKind::Gid, &c, b"0 1000 1").unwrap();
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
        c.user_ns.write_map(MapKind::Uid, &parent, b"5 1000 1").unwrap();
        assert_eq!(c.user_ns.uid_from(1000), 5);
        // root outside may map anything the parent maps
        let mut r = Credentials::root();
        r.enter_new_user_ns(FIRST_DYNAMIC_INO + 2).unwrap();
        r.user_ns.write_map(MapKind::Uid, &Credentials::root(), b"0 100000 65536").unwrap();
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
            c.user_ns.write_map(MapKind::Uid, &c.clone(), b"1000 1000 1").ok();
            c.user_ns.write_setgroups(&c.clone(), b"deny").ok();
            c.user_ns.write_map(MapKind::Gid, &c.clone(), b"1000 1000 1").ok();
        }
        assert_eq!(c.user_ns.level(), MAX_LEVEL + 1);
        assert_eq!(c.enter_new_user_ns(1), Err(Errno::ENOSPC));
        // an unmapped euid cannot make a child
        let mut d = user(1000);
        d.enter_new_user_ns(FIRST_DYNAMIC_INO).unwrap();
        assert_eq!(d.enter_new_user_ns(FIRST_DYNAMIC_INO + 1), Err(Errno::EPERM));
    }

    #[test]
    fn uts_copy() {
        let a = UtsNs::initial();
        assert_eq!(a.names().host(), b"(none)");
        a.update(|n| n.set_host(b"box"));
        let b = a.copy(FIRST_DYNAMIC_INO, UserNsRef::INITIAL);
        b.update(|n| n.set_host(b"inner"));
        assert_eq!(a.names().host(), b"box");
        assert_eq!(b.names().host(), b"inner");
        assert_eq!(b.names().domain(), b"(none)");
        assert_eq!(b.ino(), FIRST_DYNAMIC_INO);
    }
}

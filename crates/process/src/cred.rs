//! Credentials: real, effective, saved and filesystem uid and gid, and the
//! supplementary groups, with the rules of Linux's `kernel/sys.c` and
//! `kernel/groups.c`.
//!
//! Capability sets (effective, permitted, inheritable) follow Linux's
//! emulation of root without file capabilities: root starts with every
//! capability, a change of uids away from 0 clears them and a return of
//! the effective uid to 0 restores the effective set from the permitted one
//! (`cap_emulate_setxuid`), exec recomputes them (root: everything in the
//! bounding set; others: nothing), and capset(2) can only lower them.
//! The set*id calls check `CAP_SETUID`/`CAP_SETGID`; [`Credentials::capable`]
//! (for the checks that name no capability here) checks `CAP_SYS_ADMIN`.

use alloc::vec::Vec;
use linux_abi::{Errno, Result};

/// A uid or gid; `u32::MAX` (`(uid_t)-1`) is never valid.
pub type Id = u32;
/// The "unchanged" / invalid id.
pub const NO_ID: Id = u32::MAX;
/// The most supplementary groups (`NGROUPS_MAX`).
pub const NGROUPS_MAX: usize = 65536;

/// Every capability of Linux 6.1 (0 to `CAP_LAST_CAP` 40).
pub const CAP_FULL_SET: u64 = (1 << 41) - 1;
/// `CAP_SETGID`.
pub const CAP_SETGID: u32 = 6;
/// `CAP_SETUID`.
pub const CAP_SETUID: u32 = 7;
/// `CAP_SETPCAP`.
pub const CAP_SETPCAP: u32 = 8;
/// `CAP_SYS_PTRACE`.
pub const CAP_SYS_PTRACE: u32 = 19;
/// `CAP_SYS_ADMIN`.
pub const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_SYS_TIME`.
pub const CAP_SYS_TIME: u32 = 25;

/// A process's credentials, copied by fork and kept by exec: made by
/// [`Credentials::root`], [`Credentials::user`] or `Default` (every id 0,
/// no capability) and changed by the set*id methods or through the fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Credentials {
    /// Real uid.
    pub uid: Id,
    /// Effective uid.
    pub euid: Id,
    /// Saved set-user-id.
    pub suid: Id,
    /// Filesystem uid.
    pub fsuid: Id,
    /// Real gid.
    pub gid: Id,
    /// Effective gid.
    pub egid: Id,
    /// Saved set-group-id.
    pub sgid: Id,
    /// Filesystem gid.
    pub fsgid: Id,
    /// Supplementary groups, sorted (Linux sorts them in setgroups).
    pub groups: Vec<Id>,
    /// Effective capabilities.
    pub cap_effective: u64,
    /// Permitted capabilities.
    pub cap_permitted: u64,
    /// Inheritable capabilities.
    pub cap_inheritable: u64,
}

impl Credentials {
    /// Root's credentials (all ids 0, no supplementary groups).
    pub fn root() -> Self {
        Credentials { cap_effective: CAP_FULL_SET, cap_permitted: CAP_FULL_SET, ..Self::default() }
    }

    /// All eight ids set to `uid`/`gid`.
    pub fn user(uid: Id, gid: Id) -> Self {
        Credentials {
            uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            gid,
            egid: gid,
            sgid: gid,
            fsgid: gid,
            groups: Vec::new(),
            cap_effective: 0,
            cap_permitted: 0,
            cap_inheritable: 0,
        }
    }

    /// Whether capability `cap` is in the effective set.
    pub fn has_cap(&self, cap: u32) -> bool {
        cap < 64 && self.cap_effective >> cap & 1 == 1
    }

    /// Linux's `__ptrace_may_access(target, PTRACE_MODE_READ_FSCREDS)`, the
    /// check /proc makes before showing a process's maps, fds, links,
    /// environment or memory: the caller's fsuid must equal the target's
    /// uid, euid and suid and its fsgid the target's gid, egid and sgid,
    /// and the target must be dumpable (`SUID_DUMP_USER`), unless the
    /// caller has `CAP_SYS_PTRACE`. A thread of the same process always
    /// may (`same_process`).
    pub fn may_read_process(&self, target: &Credentials, dumpable: bool, same_process: bool) -> bool {
        if same_process {
            return true;
        }
        let ids_match = self.fsuid == target.uid
            && self.fsuid == target.euid
            && self.fsuid == target.suid
            && self.fsgid == target.gid
            && self.fsgid == target.egid
            && self.fsgid == target.sgid;
        let cap = self.has_cap(CAP_SYS_PTRACE);
        cap || (ids_match && dumpable)
    }

    /// cap_emulate_setxuid(): what a change of uids from `old` does to the
    /// capability sets.
    fn emulate_setxuid(&mut self, old: (Id, Id, Id)) {
        let (ouid, oeuid, osuid) = old;
        if (ouid == 0 || oeuid == 0 || osuid == 0) && self.uid != 0 && self.euid != 0 && self.suid != 0 {
            self.cap_permitted = 0;
            self.cap_effective = 0;
        }
        if oeuid == 0 && self.euid != 0 {
            self.cap_effective = 0;
        }
        if oeuid != 0 && self.euid == 0 {
            self.cap_effective = self.cap_permitted;
        }
    }

    /// The sets after execve of a file without capabilities
    /// (cap_bprm_creds_from_file with root's emulation): root (real or
    /// effective uid 0) gets its inheritable set and the bounding set
    /// `bset` as permitted, effective when the effective uid is 0; others
    /// get none.
    pub fn exec_caps(&mut self, bset: u64) {
        if self.uid == 0 || self.euid == 0 {
            self.cap_permitted = (self.cap_inheritable | bset) & CAP_FULL_SET;
            self.cap_effective = if self.euid == 0 { self.cap_permitted } else { 0 };
        } else {
            self.cap_permitted = 0;
            self.cap_effective = 0;
        }
    }

    /// capset(2) on these credentials (cap_capset()): the new inheritable
    /// set within the old inheritable and permitted ones (unless
    /// `CAP_SETPCAP`) and within the old inheritable and the bounding set
    /// `bset`; the new permitted set within the old one; the new effective
    /// set within the new permitted one; `EPERM` otherwise.
    pub fn capset(&mut self, effective: u64, permitted: u64, inheritable: u64, bset: u64) -> Result<()> {
        let subset = |a: u64, b: u64| a & !b == 0;
        if !self.has_cap(CAP_SETPCAP) && !subset(inheritable, self.cap_inheritable | self.cap_permitted) {
            return Err(Errno::EPERM);
        }
        if !subset(inheritable, self.cap_inheritable | bset) {
            return Err(Errno::EPERM);
        }
        if !subset(permitted, self.cap_permitted) || !subset(effective, permitted) {
            return Err(Errno::EPERM);
        }
        self.cap_effective = effective;
        self.cap_permitted = permitted;
        self.cap_inheritable = inheritable;
        Ok(())
    }

    /// Whether the caller is privileged for the checks that name no
    /// capability here: `CAP_SYS_ADMIN` in the effective set.
    pub fn capable(&self) -> bool {
        self.has_cap(CAP_SYS_ADMIN)
    }

    /// Whether `gid` is the fs gid or a supplementary group
    /// (`in_group_p`).
    pub fn in_group(&self, gid: Id) -> bool {
        self.fsgid == gid || self.groups.binary_search(&gid).is_ok()
    }

    /// setuid(2).
    pub fn setuid(&mut self, uid: Id) -> Result<()> {
        if uid == NO_ID {
            return Err(Errno::EINVAL);
        }
        let old = (self.uid, self.euid, self.suid);
        if self.has_cap(CAP_SETUID) {
            self.uid = uid;
            self.suid = uid;
        } else if uid != self.uid && uid != self.suid {
            return Err(Errno::EPERM);
        }
        self.euid = uid;
        self.fsuid = uid;
        self.emulate_setxuid(old);
        Ok(())
    }

    /// setgid(2).
    pub fn setgid(&mut self, gid: Id) -> Result<()> {
        if gid == NO_ID {
            return Err(Errno::EINVAL);
        }
        if self.has_cap(CAP_SETGID) {
            self.gid = gid;
            self.sgid = gid;
        } else if gid != self.gid && gid != self.sgid {
            return Err(Errno::EPERM);
        }
        self.egid = gid;
        self.fsgid = gid;
        Ok(())
    }

    /// setreuid(2); `NO_ID` leaves an id unchanged.
    pub fn setreuid(&mut self, ruid: Id, euid: Id) -> Result<()> {
        let old = (self.uid, self.euid, self.suid);
        let (uid, e, s) = set_re(self.has_cap(CAP_SETUID), old, ruid, euid)?;
        self.uid = uid;
        self.euid = e;
        self.suid = s;
        self.fsuid = e;
        self.emulate_setxuid(old);
        Ok(())
    }

    /// setregid(2); `NO_ID` leaves an id unchanged.
    pub fn setregid(&mut self, rgid: Id, egid: Id) -> Result<()> {
        let (g, e, s) = set_re(self.has_cap(CAP_SETGID), (self.gid, self.egid, self.sgid), rgid, egid)?;
        self.gid = g;
        self.egid = e;
        self.sgid = s;
        self.fsgid = e;
        Ok(())
    }

    /// setresuid(2); `NO_ID` leaves an id unchanged.
    pub fn setresuid(&mut self, ruid: Id, euid: Id, suid: Id) -> Result<()> {
        if is_noop((self.uid, self.euid, self.suid, self.fsuid), (ruid, euid, suid)) {
            // Linux's no-op check: nothing changes, not even the fs uid.
            return Ok(());
        }
        let old = (self.uid, self.euid, self.suid);
        let (r, e, s) = set_res(
            self.has_cap(CAP_SETUID),
            (self.uid, self.euid, self.suid, self.fsuid),
            (ruid, euid, suid),
        )?;
        self.uid = r;
        self.euid = e;
        self.suid = s;
        self.fsuid = e;
        self.emulate_setxuid(old);
        Ok(())
    }

    /// setresgid(2); `NO_ID` leaves an id unchanged.
    pub fn setresgid(&mut self, rgid: Id, egid: Id, sgid: Id) -> Result<()> {
        if is_noop((self.gid, self.egid, self.sgid, self.fsgid), (rgid, egid, sgid)) {
            return Ok(());
        }
        let (r, e, s) = set_res(
            self.has_cap(CAP_SETGID),
            (self.gid, self.egid, self.sgid, self.fsgid),
            (rgid, egid, sgid),
        )?;
        self.gid = r;
        self.egid = e;
        self.sgid = s;
        self.fsgid = e;
        Ok(())
    }

    /// setfsuid(2): returns the previous fs uid whether or not it changed.
    pub fn setfsuid(&mut self, uid: Id) -> Id {
        let old = self.fsuid;
        if uid != NO_ID
            && (uid == self.uid
                || uid == self.euid
                || uid == self.suid
                || uid == self.fsuid
                || self.has_cap(CAP_SETUID))
        {
            self.fsuid = uid;
        }
        old
    }

    /// setfsgid(2): returns the previous fs gid whether or not it changed.
    pub fn setfsgid(&mut self, gid: Id) -> Id {
        let old = self.fsgid;
        if gid != NO_ID
            && (gid == self.gid
                || gid == self.egid
                || gid == self.sgid
                || gid == self.fsgid
                || self.has_cap(CAP_SETGID))
        {
            self.fsgid = gid;
        }
        old
    }

    /// setgroups(2): more than `NGROUPS_MAX` is `EINVAL`, without the
    /// capability `EPERM`, an invalid id `EINVAL`.
    pub fn setgroups(&mut self, groups: &[Id]) -> Result<()> {
        if groups.len() > NGROUPS_MAX {
            return Err(Errno::EINVAL);
        }
        if !self.has_cap(CAP_SETGID) {
            return Err(Errno::EPERM);
        }
        if groups.contains(&NO_ID) {
            return Err(Errno::EINVAL);
        }
        let mut g = groups.to_vec();
        g.sort_unstable();
        self.groups = g;
        Ok(())
    }

    /// getgroups(2) with a buffer of `size` entries: `size < 0` is
    /// `EINVAL`; 0 returns the count only; a smaller buffer is `EINVAL`.
    pub fn getgroups(&self, size: i32) -> Result<&[Id]> {
        if size < 0 {
            return Err(Errno::EINVAL);
        }
        // size 0 asks for the count: the whole list, nothing copied
        if size != 0 && (size as usize) < self.groups.len() {
            return Err(Errno::EINVAL);
        }
        Ok(&self.groups)
    }
}

/// setreuid/setregid on (real, effective, saved).
fn set_re(capable: bool, old: (Id, Id, Id), r: Id, e: Id) -> Result<(Id, Id, Id)> {
    let (or, oe, os) = old;
    let (mut nr, mut ne) = (or, oe);
    if r != NO_ID {
        if r != or && r != oe && !capable {
            return Err(Errno::EPERM);
        }
        nr = r;
    }
    if e != NO_ID {
        if e != or && e != oe && e != os && !capable {
            return Err(Errno::EPERM);
        }
        ne = e;
    }
    let ns = if r != NO_ID || (e != NO_ID && e != or) { ne } else { os };
    Ok((nr, ne, ns))
}

/// setresuid's early return: each id unchanged or already equal (the
/// effective one also to the fs id).
fn is_noop(old: (Id, Id, Id, Id), new: (Id, Id, Id)) -> bool {
    let (or, oe, os, of) = old;
    let (r, e, s) = new;
    (r == NO_ID || r == or) && (e == NO_ID || (e == oe && e == of)) && (s == NO_ID || s == os)
}

/// setresuid/setresgid on (real, effective, saved, fs).
fn set_res(capable: bool, old: (Id, Id, Id, Id), new: (Id, Id, Id)) -> Result<(Id, Id, Id)> {
    let (or, oe, os, _) = old;
    let (r, e, s) = new;
    let ours = |x: Id| x == NO_ID || x == or || x == oe || x == os;
    if !(capable || ours(r) && ours(e) && ours(s)) {
        return Err(Errno::EPERM);
    }
    let pick = |x: Id, o: Id| if x == NO_ID { o } else { x };
    Ok((pick(r, or), pick(e, oe), pick(s, os)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn may_read_process_follows_ptrace_may_access() {
        let root = Credentials::root();
        let mut nobody = Credentials::root();
        nobody.setresgid(65534, 65534, 65534).unwrap();
        nobody.setresuid(65534, 65534, 65534).unwrap();
        assert!(!nobody.has_cap(CAP_SYS_PTRACE));
        // another user's process: never; one's own: if dumpable
        assert!(!nobody.may_read_process(&root, true, false));
        assert!(nobody.may_read_process(&nobody.clone(), true, false));
        assert!(!nobody.may_read_process(&nobody.clone(), false, false));
        assert!(nobody.may_read_process(&nobody.clone(), false, true));
        // a setuid-like target (saved uid differs): no
        let mut mixed = nobody.clone();
        mixed.suid = 0;
        assert!(!nobody.may_read_process(&mixed, true, false));
        // a gid mismatch: no
        let mut other_gid = nobody.clone();
        other_gid.egid = 100;
        assert!(!nobody.may_read_process(&other_gid, true, false));
        // CAP_SYS_PTRACE: everything
        assert!(root.may_read_process(&nobody, false, false));
        assert!(root.may_read_process(&root.clone(), false, false));
    }

    #[test]
    fn capabilities_follow_root_emulation() {
        let mut c = Credentials::root();
        assert!(c.capable() && c.has_cap(CAP_SETUID));
        // euid away from 0 and back: the effective set comes back from the permitted one
        c.setresuid(NO_ID, 1000, NO_ID).unwrap();
        assert_eq!((c.cap_effective, c.cap_permitted), (0, CAP_FULL_SET));
        c.setresuid(NO_ID, 0, NO_ID).unwrap();
        assert_eq!(c.cap_effective, CAP_FULL_SET);
        // every uid non-zero: all gone, for good
        c.setuid(65534).unwrap();
        assert_eq!((c.cap_effective, c.cap_permitted), (0, 0));
        assert_eq!(c.setuid(0), Err(Errno::EPERM));
        c.exec_caps(CAP_FULL_SET);
        assert_eq!(c.cap_permitted, 0, "exec gives a user nothing");
        let mut r = Credentials::root();
        r.capset(0, CAP_FULL_SET, 0, CAP_FULL_SET).unwrap();
        assert!(!r.capable());
        assert_eq!(r.setuid(5), Err(Errno::EPERM), "CAP_SETUID is not effective");
        r.capset(1 << CAP_SETUID, 1 << CAP_SETUID, 0, CAP_FULL_SET).unwrap();
        assert_eq!(r.capset(3, 3, 0, CAP_FULL_SET), Err(Errno::EPERM), "no raising the permitted set");
        assert_eq!(
            r.capset(3, 1 << CAP_SETUID, 0, CAP_FULL_SET),
            Err(Errno::EPERM),
            "effective within permitted"
        );
        assert_eq!(
            r.capset(0, 0, 1, CAP_FULL_SET),
            Err(Errno::EPERM),
            "inheritable within permitted without SETPCAP"
        );
        r.exec_caps(CAP_FULL_SET & !(1 << CAP_SYS_TIME));
        assert_eq!(r.cap_effective, CAP_FULL_SET & !(1 << CAP_SYS_TIME), "exec as root: the bounding set");
    }

    use super::*;

    #[test]
    fn setuid_root_sets_all() {
        let mut c = Credentials::root();
        assert_eq!(c.setuid(1000), Ok(()));
        assert_eq!((c.uid, c.euid, c.suid, c.fsuid), (1000, 1000, 1000, 1000));
        // No way back.
        assert_eq!(c.setuid(0), Err(Errno::EPERM));
        assert_eq!(c.setuid(NO_ID), Err(Errno::EINVAL));
    }

    #[test]
    fn setuid_unprivileged_switches_effective_only() {
        let mut c = Credentials::user(1000, 100);
        c.suid = 2000; // after exec of a set-user-id binary, say
        c.euid = 2000;
        assert_eq!(c.setuid(1000), Ok(()));
        assert_eq!((c.uid, c.euid, c.suid, c.fsuid), (1000, 1000, 2000, 1000));
        assert_eq!(c.setuid(2000), Ok(()));
        assert_eq!((c.uid, c.euid, c.suid), (1000, 2000, 2000));
        assert_eq!(c.setuid(3000), Err(Errno::EPERM));
    }

    #[test]
    fn setreuid_rules() {
        let mut c = Credentials::user(1000, 100);
        c.euid = 2000;
        c.suid = 3000;
        // ruid may become euid; euid may become any of the three.
        assert_eq!(c.setreuid(NO_ID, 3000), Ok(()));
        // euid changed to a value != ruid: suid = new euid.
        assert_eq!((c.uid, c.euid, c.suid, c.fsuid), (1000, 3000, 3000, 3000));
        assert_eq!(c.setreuid(4000, NO_ID), Err(Errno::EPERM));
        assert_eq!(c.setreuid(3000, 1000), Ok(()));
        assert_eq!((c.uid, c.euid, c.suid), (3000, 1000, 1000));
        // A failed call changes nothing.
        let before = c.clone();
        assert_eq!(c.setreuid(NO_ID, 5), Err(Errno::EPERM));
        assert_eq!(c, before);
        // Setting euid back to ruid leaves suid.
        let mut d = Credentials::user(1000, 100);
        d.euid = 2000;
        d.suid = 2000;
        assert_eq!(d.setreuid(NO_ID, 1000), Ok(()));
        assert_eq!((d.uid, d.euid, d.suid), (1000, 1000, 2000));
    }

    #[test]
    fn setresuid_rules() {
        let mut c = Credentials::user(1000, 100);
        c.suid = 2000;
        assert_eq!(c.setresuid(2000, 2000, 1000), Ok(()));
        assert_eq!((c.uid, c.euid, c.suid, c.fsuid), (2000, 2000, 1000, 2000));
        assert_eq!(c.setresuid(NO_ID, 5, NO_ID), Err(Errno::EPERM));
        let mut r = Credentials::root();
        assert_eq!(r.setresuid(1, 2, 3), Ok(()));
        assert_eq!((r.uid, r.euid, r.suid, r.fsuid), (1, 2, 3, 2));
        // The no-op case leaves a differing fs uid alone.
        let mut f = Credentials::user(1000, 100);
        f.fsuid = 1000;
        f.euid = 1000;
        f.setfsuid(1000);
        f.fsuid = 5;
        assert_eq!(f.setresuid(NO_ID, NO_ID, NO_ID), Ok(()));
        assert_eq!(f.fsuid, 5);
        assert_eq!(f.setresuid(1000, NO_ID, NO_ID), Ok(()));
        assert_eq!(f.fsuid, 5);
        // Not a no-op when the effective uid differs from the fs uid.
        assert_eq!(f.setresuid(NO_ID, 1000, NO_ID), Ok(()));
        assert_eq!(f.fsuid, 1000);
        let mut g = Credentials::user(1000, 100);
        assert_eq!(g.setresgid(NO_ID, 100, 100), Ok(()));
        assert_eq!(g.setresgid(7, NO_ID, NO_ID), Err(Errno::EPERM));
    }

    #[test]
    fn gid_calls() {
        let mut c = Credentials::user(1000, 100);
        assert_eq!(c.setgid(200), Err(Errno::EPERM));
        assert_eq!(c.setregid(NO_ID, 100), Ok(()));
        let mut r = Credentials::root();
        assert_eq!(r.setgid(50), Ok(()));
        assert_eq!((r.gid, r.egid, r.sgid, r.fsgid), (50, 50, 50, 50));
        assert_eq!(r.setgid(NO_ID), Err(Errno::EINVAL));
    }

    #[test]
    fn fs_ids() {
        let mut c = Credentials::user(1000, 100);
        assert_eq!(c.setfsuid(5), 1000);
        assert_eq!(c.fsuid, 1000);
        assert_eq!(c.setfsuid(NO_ID), 1000);
        c.suid = 7;
        assert_eq!(c.setfsuid(7), 1000);
        assert_eq!(c.fsuid, 7);
        assert_eq!(c.setfsgid(100), 100);
        let mut r = Credentials::root();
        assert_eq!(r.setfsgid(9), 0);
        assert_eq!(r.fsgid, 9);
    }

    #[test]
    fn groups() {
        let mut r = Credentials::root();
        assert_eq!(r.setgroups(&[30, 10, 20]), Ok(()));
        assert_eq!(r.getgroups(0), Ok(&[10, 20, 30][..]));
        assert_eq!(r.getgroups(2), Err(Errno::EINVAL));
        assert_eq!(r.getgroups(-1), Err(Errno::EINVAL));
        assert_eq!(r.getgroups(3), Ok(&[10, 20, 30][..]));
        assert!(r.in_group(20));
        assert!(r.in_group(0));
        assert!(!r.in_group(21));
        assert_eq!(r.setgroups(&[NO_ID]), Err(Errno::EINVAL));
        let mut u = Credentials::user(1, 1);
        assert_eq!(u.setgroups(&[1]), Err(Errno::EPERM));
        let big = alloc::vec![1; NGROUPS_MAX + 1];
        assert_eq!(u.setgroups(&big), Err(Errno::EINVAL));
    }
}

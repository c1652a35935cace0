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
//!
//! The securebits (`SECBIT_*`, prctl's `PR_SET_SECUREBITS`/`PR_SET_KEEPCAPS`)
//! change those rules as Linux's `commoncap.c`: `KEEP_CAPS` keeps the
//! permitted set across the change away from uid 0 (until the next exec),
//! `NO_SETUID_FIXUP` leaves the sets alone on uid changes, `NOROOT` takes
//! root's privilege at exec away; the ambient set (`PR_CAP_AMBIENT`) is
//! what an unprivileged program keeps across exec.

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
/// The capabilities a change of the fs uid from or to 0 drops or raises
/// (Linux's `CAP_FS_SET`: CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER,
/// FSETID, LINUX_IMMUTABLE, MKNOD, MAC_OVERRIDE).
pub const CAP_FS_SET: u64 = 0x1f | 1 << 9 | 1 << 27 | 1 << 32;

/// `SECBIT_NOROOT`: uid 0 gets no capabilities at exec.
pub const SECBIT_NOROOT: u32 = 1 << 0;
/// `SECBIT_NO_SETUID_FIXUP`: uid changes leave the capability sets alone.
pub const SECBIT_NO_SETUID_FIXUP: u32 = 1 << 2;
/// `SECBIT_KEEP_CAPS`: a change away from uid 0 keeps the permitted set
/// (cleared by exec).
pub const SECBIT_KEEP_CAPS: u32 = 1 << 4;
/// `SECBIT_NO_CAP_AMBIENT_RAISE`: `PR_CAP_AMBIENT_RAISE` is refused.
pub const SECBIT_NO_CAP_AMBIENT_RAISE: u32 = 1 << 6;
/// The four securebits (`SECURE_ALL_BITS`); each one's lock is the bit
/// above it (`SECURE_ALL_LOCKS`).
pub const SECURE_ALL_BITS: u32 =
    SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS | SECBIT_NO_CAP_AMBIENT_RAISE;
/// The lock bits of [`SECURE_ALL_BITS`].
pub const SECURE_ALL_LOCKS: u32 = SECURE_ALL_BITS << 1;
/// `CAP_SYS_CHROOT`.
pub const CAP_SYS_CHROOT: u32 = 18;
/// `CAP_SYS_PTRACE`.
pub const CAP_SYS_PTRACE: u32 = 19;
/// `CAP_SYS_ADMIN`.
pub const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_SYS_RESOURCE`.
pub const CAP_SYS_RESOURCE: u32 = 24;
/// `CAP_SYS_TIME`.
pub const CAP_SYS_TIME: u32 = 25;
/// `CAP_SETFCAP`.
pub const CAP_SETFCAP: u32 = 31;

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
    /// Ambient capabilities (always within permitted and inheritable).
    pub cap_ambient: u64,
    /// The securebits (`SECBIT_*` and their locks).
    pub securebits: u32,
    /// The user namespace the ids and capabilities belong to (the ids are
    /// kept as kernel ids; see [`crate::ns`]).
    pub user_ns: crate::ns::UserNsRef,
}

impl Credentials {
    /// Root's credentials (all ids 0, no supplementary groups).
    pub fn root() -> Self {
        Credentials { cap_effective: CAP_FULL_SET, cap_permitted: CAP_FULL_SET, ..Self::default() }
    }

    /// A copy without the supplementary groups (what a check of ids,
    /// capabilities and namespace needs, taken under a lock in constant
    /// time: an open file's `f_cred` for /proc's uid_map).
    pub fn without_groups(&self) -> Self {
        Credentials {
            uid: self.uid,
            euid: self.euid,
            suid: self.suid,
            fsuid: self.fsuid,
            gid: self.gid,
            egid: self.egid,
            sgid: self.sgid,
            fsgid: self.fsgid,
            groups: Vec::new(),
            cap_effective: self.cap_effective,
            cap_permitted: self.cap_permitted,
            cap_inheritable: self.cap_inheritable,
            cap_ambient: self.cap_ambient,
            securebits: self.securebits,
            user_ns: self.user_ns.clone(),
        }
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
            cap_ambient: 0,
            securebits: 0,
            user_ns: crate::ns::UserNsRef::INITIAL,
        }
    }

    /// Linux's `capable(cap)`: capability `cap` in the effective set and
    /// the credentials in the initial user namespace (a namespace's root
    /// has its capabilities over that namespace only:
    /// [`Credentials::ns_capable`]).
    pub fn has_cap(&self, cap: u32) -> bool {
        self.user_ns.is_initial() && self.own_cap(cap)
    }

    /// Capability `cap` in the effective set, over the credentials' own
    /// user namespace (the set*id and capset checks, `ns_capable_setid`).
    pub fn own_cap(&self, cap: u32) -> bool {
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
        let cap = self.ns_capable(&target.user_ns, CAP_SYS_PTRACE);
        cap || (ids_match && dumpable)
    }

    /// cap_emulate_setxuid(): what a change of uids from `old` does to the
    /// capability sets (nothing with `SECBIT_NO_SETUID_FIXUP`).
    fn emulate_setxuid(&mut self, old: (Id, Id, Id)) {
        if self.securebits & SECBIT_NO_SETUID_FIXUP != 0 {
            return;
        }
        let (ouid, oeuid, osuid) = old;
        // root is the namespace's uid 0 (`make_kuid(user_ns, 0)`)
        let r = self.user_ns.uid_into(0).unwrap_or(NO_ID);
        if (ouid == r || oeuid == r || osuid == r) && self.uid != r && self.euid != r && self.suid != r {
            if self.securebits & SECBIT_KEEP_CAPS == 0 {
                self.cap_permitted = 0;
                self.cap_effective = 0;
            }
            // a program that drops root and execs expects no ambient set
            self.cap_ambient = 0;
        }
        if oeuid == r && self.euid != r {
            self.cap_effective = 0;
        }
        if oeuid != r && self.euid == r {
            self.cap_effective = self.cap_permitted;
        }
    }

    /// The sets after execve of a file without capabilities
    /// (cap_bprm_creds_from_file with root's emulation): root (real or
    /// effective uid 0, unless `SECBIT_NOROOT`) gets its inheritable set
    /// and the bounding set `bset` as permitted, effective when the
    /// effective uid is 0; everyone keeps the ambient set, which is added
    /// to the permitted set and is the effective one otherwise (no file
    /// capabilities and no set-id here, so it is never cleared).
    /// `SECBIT_KEEP_CAPS` is cleared.
    pub fn exec_caps(&mut self, bset: u64) {
        // root is the namespace's uid 0 (none while it has no uid map)
        let r = self.user_ns.uid_into(0).unwrap_or(NO_ID);
        let root = self.securebits & SECBIT_NOROOT == 0 && (self.uid == r || self.euid == r);
        let base = if root { (self.cap_inheritable | bset) & CAP_FULL_SET } else { 0 };
        self.cap_permitted = base | self.cap_ambient;
        self.cap_effective = if root && self.euid == r { self.cap_permitted } else { self.cap_ambient };
        self.securebits &= !SECBIT_KEEP_CAPS;
    }

    /// capset(2) on these credentials (cap_capset()): the new inheritable
    /// set within the old inheritable and permitted ones (unless
    /// `CAP_SETPCAP`) and within the old inheritable and the bounding set
    /// `bset`; the new permitted set within the old one; the new effective
    /// set within the new permitted one; `EPERM` otherwise.
    pub fn capset(&mut self, effective: u64, permitted: u64, inheritable: u64, bset: u64) -> Result<()> {
        let subset = |a: u64, b: u64| a & !b == 0;
        if !self.own_cap(CAP_SETPCAP) && !subset(inheritable, self.cap_inheritable | self.cap_permitted) {
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
        // the ambient invariant: nothing outside permitted and inheritable
        self.cap_ambient &= permitted & inheritable;
        Ok(())
    }

    /// prctl(`PR_SET_SECUREBITS`): `EPERM` for a change of a locked bit,
    /// the unlocking of a lock, an unknown bit or a caller without
    /// `CAP_SETPCAP` (Linux's four checks in one errno).
    pub fn set_securebits(&mut self, bits: u64) -> Result<()> {
        let old = u64::from(self.securebits);
        let locks = u64::from(SECURE_ALL_LOCKS);
        if (old & locks) >> 1 & (old ^ bits) != 0
            || old & locks & !bits != 0
            || bits & !u64::from(SECURE_ALL_LOCKS | SECURE_ALL_BITS) != 0
            || !self.own_cap(CAP_SETPCAP)
        {
            return Err(Errno::EPERM);
        }
        self.securebits = bits as u32;
        Ok(())
    }

    /// prctl(`PR_SET_KEEPCAPS`): `EINVAL` for a value above 1, `EPERM`
    /// when the bit is locked.
    pub fn set_keepcaps(&mut self, on: u64) -> Result<()> {
        if on > 1 {
            return Err(Errno::EINVAL);
        }
        if self.securebits & SECBIT_KEEP_CAPS << 1 != 0 {
            return Err(Errno::EPERM);
        }
        if on == 1 {
            self.securebits |= SECBIT_KEEP_CAPS;
        } else {
            self.securebits &= !SECBIT_KEEP_CAPS;
        }
        Ok(())
    }

    /// prctl(`PR_CAP_AMBIENT`, `op`, `cap`): `IS_SET` (1) answers 0 or 1,
    /// `RAISE` (2) needs the capability in the permitted and inheritable
    /// sets and no `SECBIT_NO_CAP_AMBIENT_RAISE` (`EPERM`), `LOWER` (3),
    /// `CLEAR_ALL` (4, `cap` and `rest` 0); `EINVAL` for an unknown `op`,
    /// a capability above `last_cap` or non-zero `rest` (arguments 4, 5).
    pub fn cap_ambient(&mut self, op: u64, cap: u64, rest: u64, last_cap: u64) -> Result<isize> {
        if op == 4 {
            if cap | rest != 0 {
                return Err(Errno::EINVAL);
            }
            self.cap_ambient = 0;
            return Ok(0);
        }
        if cap > last_cap || rest != 0 {
            return Err(Errno::EINVAL);
        }
        let bit = 1u64 << cap;
        match op {
            1 => Ok(isize::from(self.cap_ambient & bit != 0)),
            2 => {
                if self.cap_permitted & bit == 0
                    || self.cap_inheritable & bit == 0
                    || self.securebits & SECBIT_NO_CAP_AMBIENT_RAISE != 0
                {
                    return Err(Errno::EPERM);
                }
                self.cap_ambient |= bit;
                Ok(0)
            }
            3 => {
                self.cap_ambient &= !bit;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
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
        if self.own_cap(CAP_SETUID) {
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
        if self.own_cap(CAP_SETGID) {
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
        let (uid, e, s) = set_re(self.own_cap(CAP_SETUID), old, ruid, euid)?;
        self.uid = uid;
        self.euid = e;
        self.suid = s;
        self.fsuid = e;
        self.emulate_setxuid(old);
        Ok(())
    }

    /// setregid(2); `NO_ID` leaves an id unchanged.
    pub fn setregid(&mut self, rgid: Id, egid: Id) -> Result<()> {
        let (g, e, s) = set_re(self.own_cap(CAP_SETGID), (self.gid, self.egid, self.sgid), rgid, egid)?;
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
            self.own_cap(CAP_SETUID),
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
            self.own_cap(CAP_SETGID),
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
                || self.own_cap(CAP_SETUID))
        {
            self.fsuid = uid;
            // cap_task_fix_setuid(LSM_SETID_FS)
            if self.securebits & SECBIT_NO_SETUID_FIXUP == 0 {
                if old == 0 && uid != 0 {
                    self.cap_effective &= !CAP_FS_SET;
                } else if old != 0 && uid == 0 {
                    self.cap_effective |= self.cap_permitted & CAP_FS_SET;
                }
            }
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
                || self.own_cap(CAP_SETGID))
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
        if !self.own_cap(CAP_SETGID) {
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

    #[test]
    fn keep_caps_keeps_permitted_until_exec() {
        let mut c = Credentials::root();
        assert_eq!(c.set_keepcaps(2), Err(Errno::EINVAL));
        c.set_keepcaps(1).unwrap();
        c.setresuid(65534, 65534, 65534).unwrap();
        // permitted kept, effective cleared by the euid change
        assert_eq!((c.cap_effective, c.cap_permitted), (0, CAP_FULL_SET));
        assert_eq!(c.securebits, SECBIT_KEEP_CAPS);
        // capset can raise effective within permitted again
        c.capset(1 << CAP_SETUID, CAP_FULL_SET, 0, CAP_FULL_SET).unwrap();
        assert!(c.has_cap(CAP_SETUID));
        // exec of an ordinary program as a non-root user: nothing, bit cleared
        c.exec_caps(CAP_FULL_SET);
        assert_eq!((c.cap_effective, c.cap_permitted, c.securebits), (0, 0, 0));
        // without the bit, the same change clears permitted
        let mut d = Credentials::root();
        d.setresuid(65534, 65534, 65534).unwrap();
        assert_eq!((d.cap_effective, d.cap_permitted), (0, 0));
    }

    #[test]
    fn securebits_locks_and_privilege() {
        let mut c = Credentials::root();
        // unknown bit
        assert_eq!(c.set_securebits(1 << 8), Err(Errno::EPERM));
        // KEEP_CAPS and its lock
        c.set_securebits(u64::from(SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS << 1)).unwrap();
        assert_eq!(c.set_keepcaps(0), Err(Errno::EPERM));
        // a locked bit cannot change, a lock cannot go
        assert_eq!(c.set_securebits(u64::from(SECBIT_KEEP_CAPS << 1)), Err(Errno::EPERM));
        assert_eq!(c.set_securebits(u64::from(SECBIT_KEEP_CAPS)), Err(Errno::EPERM));
        // other bits still can
        let both = SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS << 1 | SECBIT_NOROOT;
        c.set_securebits(u64::from(both)).unwrap();
        assert_eq!(c.securebits, both);
        // NOROOT: root's exec gives no capabilities
        c.exec_caps(CAP_FULL_SET);
        assert_eq!((c.cap_effective, c.cap_permitted), (0, 0));
        // exec clears KEEP_CAPS even when locked (its lock stays)
        assert_eq!(c.securebits, SECBIT_KEEP_CAPS << 1 | SECBIT_NOROOT);
        // without CAP_SETPCAP: EPERM even for no change
        let mut u = Credentials::user(1000, 1000);
        assert_eq!(u.set_securebits(0), Err(Errno::EPERM));
        // NO_SETUID_FIXUP: a change away from 0 keeps every set
        let mut f = Credentials::root();
        f.set_securebits(u64::from(SECBIT_NO_SETUID_FIXUP)).unwrap();
        f.setresuid(1, 1, 1).unwrap();
        assert_eq!((f.cap_effective, f.cap_permitted), (CAP_FULL_SET, CAP_FULL_SET));
    }

    #[test]
    fn ambient_set_rules() {
        let mut c = Credentials::root();
        let cap = u64::from(CAP_SYS_TIME);
        assert_eq!(c.cap_ambient(1, cap, 0, 40), Ok(0));
        // not inheritable yet
        assert_eq!(c.cap_ambient(2, cap, 0, 40), Err(Errno::EPERM));
        c.capset(CAP_FULL_SET, CAP_FULL_SET, 1 << cap, CAP_FULL_SET).unwrap();
        assert_eq!(c.cap_ambient(2, cap, 0, 40), Ok(0));
        assert_eq!(c.cap_ambient(1, cap, 0, 40), Ok(1));
        assert_eq!(c.cap_ambient(1, 41, 0, 40), Err(Errno::EINVAL));
        assert_eq!(c.cap_ambient(1, cap, 1, 40), Err(Errno::EINVAL));
        assert_eq!(c.cap_ambient(9, cap, 0, 40), Err(Errno::EINVAL));
        assert_eq!(c.cap_ambient(4, 1, 0, 40), Err(Errno::EINVAL));
        // keep caps, drop root: the ambient set is cleared by the uid change
        let mut k = c.clone();
        k.set_keepcaps(1).unwrap();
        k.setresuid(1000, 1000, 1000).unwrap();
        assert_eq!(k.cap_ambient, 0);
        // raise it again as the user (permitted kept, inheritable kept), then exec
        assert_eq!(k.cap_ambient(2, cap, 0, 40), Ok(0));
        k.exec_caps(CAP_FULL_SET);
        assert_eq!((k.cap_effective, k.cap_permitted, k.cap_ambient), (1 << cap, 1 << cap, 1 << cap));
        // capset dropping the inheritable bit drops the ambient one
        k.capset(1 << cap, 1 << cap, 0, CAP_FULL_SET).unwrap();
        assert_eq!(k.cap_ambient, 0);
        // root's exec keeps the ambient set (no file capabilities, no set-id)
        c.exec_caps(CAP_FULL_SET);
        assert_eq!(c.cap_ambient, 1 << cap);
        // real uid 0 only: effective is the ambient set
        let mut r = c.clone();
        r.setresuid(0, 1000, 0).unwrap();
        r.exec_caps(CAP_FULL_SET);
        assert_eq!((r.cap_effective, r.cap_permitted), (1 << cap, CAP_FULL_SET));
        // SECBIT_NO_CAP_AMBIENT_RAISE
        let mut n = Credentials::root();
        n.capset(CAP_FULL_SET, CAP_FULL_SET, CAP_FULL_SET, CAP_FULL_SET).unwrap();
        n.set_securebits(u64::from(SECBIT_NO_CAP_AMBIENT_RAISE)).unwrap();
        assert_eq!(n.cap_ambient(2, cap, 0, 40), Err(Errno::EPERM));
        assert_eq!(n.cap_ambient(4, 0, 0, 40), Ok(0));
    }

    #[test]
    fn fsuid_change_drops_and_raises_the_fs_set() {
        let mut c = Credentials::root();
        assert_eq!(c.setfsuid(1000), 0);
        assert_eq!(c.cap_effective, CAP_FULL_SET & !CAP_FS_SET);
        assert!(c.has_cap(CAP_SETUID) && !c.has_cap(0));
        assert_eq!(c.setfsuid(0), 1000);
        assert_eq!(c.cap_effective, CAP_FULL_SET);
    }
}

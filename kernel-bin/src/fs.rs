//! The root filesystem: a ramfs filled from the initramfs, with /dev nodes;
//! the mount table (/proc/mounts, statfs(2)'s magic numbers).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use vfs::propagation::{self as propagation, Prop};
use vfs::{Clock, Inode, Timespec};

/// `TMPFS_MAGIC`.
pub const TMPFS_MAGIC: u64 = 0x0102_1994;

/// One mounted filesystem.
struct Mount {
    /// The mount namespace it is in (`vfs`'s id: [`ns_id`]).
    ns: u64,
    source: Vec<u8>,
    target: Vec<u8>,
    fstype: Vec<u8>,
    options: String,
    root: Arc<Inode>,
    /// The directory the mount hides (`None` for the root filesystem).
    covered: Option<Arc<Inode>>,
    /// The mount id (statx's `stx_mnt_id`), unique while mounted.
    id: u64,
    /// The id of the mount its mount point lies in (mountinfo's second
    /// field; 0 for a namespace's root): the tree umount2's `MNT_DETACH`,
    /// `MS_REC` and pivot_root(2) follow by identity, not by path.
    parent: u64,
    /// The directory of its filesystem this mount shows, from that
    /// filesystem's root (`/` but for bind mounts of a subdirectory):
    /// /proc/PID/mountinfo's fourth field.
    fs_root: Vec<u8>,
    /// Propagation (mountinfo's optional fields): its peer group, its
    /// master, unbindable (`vfs::propagation`).
    prop: Prop,
    /// Locked flags: mounted by a namespace's own root from a more
    /// privileged namespace's copy (a remount may not drop ro/nosuid/nodev).
    locked: bool,
    /// Linux's `MNT_LOCKED`: copied into a namespace owned by a less
    /// privileged user namespace, so its owner may not umount it (that
    /// would show what it hides).
    umount_locked: bool,
    /// The nsfs number of the user namespace owning the filesystem
    /// (Linux's `sb->s_user_ns`): who may remount it.
    fs_user: u64,
    /// The vfs's side of the mount (what walks carry): its per-mount
    /// flags (`vfs::MNT_RDONLY` from MS_REMOUNT|MS_BIND|MS_RDONLY,
    /// `MNT_NOSUID`, `MNT_NODEV`, `MNT_NOEXEC` from mount(2); none for the
    /// boot's mounts), its id, where it hangs (kept from `parent`).
    mnt: Arc<vfs::Mount>,
    /// For a copy made by a new mount namespace: the id of the mount it
    /// copies (a task's root and cwd move to the copies, [`path_in_ns`]).
    copied_from: u64,
}

impl Mount {
    fn flags(&self) -> u32 {
        self.mnt.flags()
    }
}

/// Sets the per-mount flags (`vfs::MNT_*`) of the latest mount of `ns`
/// whose root is `root` (a new mount made with MS_NOSUID/MS_NODEV/
/// MS_NOEXEC).
pub fn set_mount_flags(ns: u64, root: &Arc<Inode>, flags: u32) {
    let t = MOUNTS.lock();
    if let Some(i) = find(&t.list, ns, root, None) {
        t.list[i].mnt.set_flags(flags);
    }
}

/// Whether the mount `id` is relatime (mountinfo says so: every mount
/// mount(2) made; not the initramfs's rootfs).
pub fn is_relatime(id: u64) -> bool {
    MOUNTS.lock().iter().find(|m| m.id == id).is_none_or(|m| m.options.contains("relatime"))
}

/// Hangs the vfs mount of `list[i]` where the table says (its parent's
/// mount, the directory it covers): what `..` from its root and getcwd(2)
/// follow. A namespace's root hangs nowhere.
fn hang(list: &[Mount], i: usize) {
    let m = &list[i];
    let parent = if m.parent == 0 { None } else { list.iter().find(|p| p.ns == m.ns && p.id == m.parent) };
    match (parent, &m.covered) {
        (Some(p), Some(c)) => m.mnt.set_up(Some((&p.mnt, c))),
        _ => m.mnt.set_up(None),
    }
}

/// The vfs mount a new record of `root` on `covered` in `ns` keeps: the
/// one the vfs hung on `covered`, or a new one (a namespace's root, a
/// directory bound on itself).
fn vfs_mount(ns: u64, root: &Arc<Inode>, covered: Option<&Arc<Inode>>, id: u64) -> Arc<vfs::Mount> {
    let m = covered
        .and_then(|c| c.mount_here(ns))
        .filter(|m| Arc::ptr_eq(m.root(), root))
        .unwrap_or_else(|| vfs::Mount::new(root.clone()));
    m.set_id(id);
    m
}

/// A file or directory bound on itself in `ns` hangs on itself, one
/// mount per place and namespace: a mount made on it takes its place
/// (Linux stacks the new mount on it; its record stays, and
/// [`rehang_self_bound`] puts it back when the new one goes). Gives the
/// mount taken off.
pub fn unhang_self_bound(ns: u64, target: &Arc<Inode>) -> Option<Arc<vfs::Mount>> {
    target.mount_here(ns).filter(|m| Arc::ptr_eq(m.root(), target))?;
    target.unmount_in_ns(ns, target)
}

/// After a umount (or a failed mount) uncovered `covered`: the latest
/// mount of `ns` bound on itself there hangs again.
pub fn rehang_self_bound(ns: u64, covered: &Arc<Inode>) {
    if covered.mount_here(ns).is_some() {
        return;
    }
    let mnt = MOUNTS
        .lock()
        .list
        .iter()
        .rev()
        .find(|m| {
            m.ns == ns
                && Arc::ptr_eq(&m.root, covered)
                && m.covered.as_ref().is_some_and(|c| Arc::ptr_eq(c, covered))
        })
        .map(|m| m.mnt.clone());
    // the directory's entry outside the table's lock
    if let Some(m) = mnt
        && let Err(e) = covered.mount_in_ns(ns, &m, false)
    {
        log::warn!("mount namespace {ns}: a mount bound on itself could not hang again: {e:?}");
    }
}

/// A task's root or working directory `p` after it moved into the new
/// mount namespace `ns` (copy_mnt_ns's fs_struct update): the same inode
/// through the copy of its mount; `p` itself when there is no copy.
pub fn path_in_ns(ns: u64, p: &vfs::Path) -> vfs::Path {
    let Some(old) = &p.mnt else { return p.clone() };
    let t = MOUNTS.lock();
    match t.list.iter().find(|m| m.ns == ns && m.copied_from == old.id()) {
        Some(m) => vfs::Path::new(p.inode.clone(), Some(m.mnt.clone())),
        None => p.clone(),
    }
}

/// Linux's default `fs.mount-max`: mounts per namespace (`ENOSPC` past it).
pub const MOUNT_MAX: usize = 100_000;

/// The owner of the filesystems mounted at boot: the initial user namespace.
const INIT_FS_USER: u64 = process::ns::INIT_USER_INO;

static NEXT_MOUNT_ID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(20);

fn next_mount_id() -> u64 {
    NEXT_MOUNT_ID.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

/// The mount id statx(2) reports for files without a filesystem inode
/// (pipes, epoll instances), as Linux's internal pipefs/anon_inodefs mount.
pub const INTERNAL_MOUNT_ID: u64 = 2;

/// The mount `inode` is seen through, for statx(2): its id, and whether
/// `inode` is that mount's root (`STATX_ATTR_MOUNT_ROOT`). A filesystem
/// mounted twice answers with its latest mount.
pub fn mount_of(inode: &Arc<Inode>) -> (u64, bool) {
    let m = MOUNTS.lock();
    if let Some(m) = m.iter().rev().find(|m| Arc::ptr_eq(&m.root, inode)) {
        return (m.id, true);
    }
    m.iter().rev().find(|m| m.root.same_fs(inode)).map_or((INTERNAL_MOUNT_ID, false), |m| (m.id, false))
}

/// The mount table: every namespace's mounts (each the root first) and
/// the namespaces other than the initial one, by their vfs id, whose
/// mounts go when the last process leaves ([`reap_namespaces`]).
struct Table {
    list: Vec<Mount>,
    /// The peer groups in use (ids, members).
    groups: propagation::Groups,
    spaces: Vec<(u64, alloc::sync::Weak<process::ns::MntNs>)>,
    /// Each namespace's mount lock ([`lock_namespace`]), made on first use.
    locks: Vec<(u64, Arc<SleepLock>)>,
}

impl propagation::Entry for Mount {
    fn ns(&self) -> u64 {
        self.ns
    }
    fn prop(&self) -> Prop {
        self.prop
    }
    fn set_prop(&mut self, p: Prop) {
        self.prop = p;
    }
}

impl Table {
    /// Takes the records `gone` says out of the table: they leave their
    /// peer groups first (an emptied group's slaves go to its master).
    fn take(&mut self, gone: impl Fn(&Mount) -> bool) -> Vec<Mount> {
        let idx: Vec<usize> = self.list.iter().enumerate().filter(|(_, m)| gone(m)).map(|(i, _)| i).collect();
        if idx.is_empty() {
            return Vec::new();
        }
        propagation::remove(&mut self.list, &mut self.groups, &idx);
        let (out, kept): (Vec<Mount>, Vec<Mount>) =
            core::mem::take(&mut self.list).into_iter().partition(gone);
        self.list = kept;
        out
    }

    /// The nsfs number of the user namespace owning mount namespace `ns`.
    fn owner_of(&self, ns: u64) -> u64 {
        if ns == vfs::INITIAL_MNT_NS {
            return INIT_FS_USER;
        }
        self.spaces
            .iter()
            .find(|(n, _)| *n == ns)
            .and_then(|(_, w)| w.upgrade())
            .map_or(INIT_FS_USER, |m| m.owner().ino())
    }
}

impl core::ops::Deref for Table {
    type Target = Vec<Mount>;
    fn deref(&self) -> &Vec<Mount> {
        &self.list
    }
}

impl core::ops::DerefMut for Table {
    fn deref_mut(&mut self) -> &mut Vec<Mount> {
        &mut self.list
    }
}

/// Every mount of every mount namespace.
static MOUNTS: crate::lockorder::Ranked<Table> = crate::lockorder::Ranked::new(
    crate::lockorder::LockClass::Mounts,
    "fs::MOUNTS",
    Table { list: Vec::new(), groups: propagation::Groups::new(), spaces: Vec::new(), locks: Vec::new() },
);

/// Linux's `mnt_namespace::event`, per namespace: moved by each change of
/// its mount table (a mount, an umount, a move, a pivot_root, a remount),
/// what /proc/PID/mounts and mountinfo tell pollers of (`POLLERR|POLLPRI`,
/// and a wake-up: libmount's monitor, systemd's view of its .mount units).
/// A leaf lock (taken under `MOUNTS` and by poll under epoll's list, never
/// taking another).
struct Events {
    /// (namespace, count); a namespace without an entry has had no change.
    list: Vec<(u64, u64)>,
    /// Changes whose namespace could not get an entry (no memory): added
    /// to every namespace's count, a spurious event rather than a lost one.
    lost: u64,
}

static EVENTS: spin::Mutex<Events> = spin::Mutex::new(Events { list: Vec::new(), lost: 0 });

/// The queue woken at every mount table change (`ns->poll`, one for all
/// namespaces here: a poller of another namespace looks and sleeps again).
static MOUNT_WQ: spin::Once<Arc<crate::sched::WaitQueue>> = spin::Once::new();

/// The change count of the mount namespace `ns` ([`Events`]).
pub fn mount_event(ns: u64) -> u64 {
    let e = EVENTS.lock();
    e.lost.wrapping_add(e.list.iter().find(|(n, _)| *n == ns).map_or(0, |(_, c)| *c))
}

/// The queue woken at every mount table change, for the open files of
/// /proc/PID/mounts and mountinfo.
pub fn mount_wait_queue() -> Arc<crate::sched::WaitQueue> {
    MOUNT_WQ.call_once(|| Arc::new(crate::sched::WaitQueue::new())).clone()
}

/// Linux's touch_mnt_namespace(): the mount table of `ns` changed; its
/// count moves and the pollers wake. Called with no lock held.
fn touch(ns: u64) {
    {
        let mut e = EVENTS.lock();
        if let Some((_, c)) = e.list.iter_mut().find(|(n, _)| *n == ns) {
            *c = c.wrapping_add(1);
        } else if e.list.try_reserve(1).is_ok() {
            e.list.push((ns, 1));
        } else {
            e.lost = e.lost.wrapping_add(1);
        }
    }
    if let Some(q) = MOUNT_WQ.get() {
        q.wake_all();
    }
}

/// A held mount-namespace lock ([`lock_namespace`]); released on drop.
pub struct NsMountGuard(Arc<SleepLock>);

impl Drop for NsMountGuard {
    fn drop(&mut self) {
        vfs::RawLock::unlock(&*self.0);
    }
}

/// The mount namespace `ns`'s lock (Linux's namespace_sem, per namespace
/// here): a sleeping lock held across mount(2), umount2(2), pivot_root(2)
/// and a namespace's copy, from before their look-ups to after the table
/// and the directories' mounts agree again, so that two tasks moving or
/// removing the same mount cannot interleave between the two. Taken
/// before any other lock (walks under it take the disk filesystems'
/// sleeping locks, then `MOUNTS`, the inode locks). `ENOMEM` when the
/// lock cannot be made.
pub fn lock_namespace(ns: u64) -> linux_abi::Result<NsMountGuard> {
    let lock = {
        let mut t = MOUNTS.lock();
        match t.locks.iter().find(|(n, _)| *n == ns) {
            Some((_, l)) => l.clone(),
            None => {
                t.locks.try_reserve(1).map_err(|_| linux_abi::Errno::ENOMEM)?;
                let l = Arc::new(SleepLock::default());
                t.locks.push((ns, l.clone()));
                l
            }
        }
    };
    vfs::RawLock::lock(&*lock);
    Ok(NsMountGuard(lock))
}

/// Namespaces other than the initial one alive or not yet reaped: the
/// common case (none) checks this and takes no lock.
static SPACES: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// The vfs id of a mount namespace ([`vfs::Ctx::with_mnt_ns`]): the
/// initial one's is [`vfs::INITIAL_MNT_NS`], another's its nsfs number.
pub fn ns_id(ns: &process::ns::MntNs) -> u64 {
    if ns.is_initial() { vfs::INITIAL_MNT_NS } else { ns.ino() }
}

/// copy_mnt_ns(): gives the new namespace `new` copies of the mounts of
/// the namespace `from` (made private: shared mounts would propagate, which
/// is not built), once (a second call for the same namespace does
/// nothing). Runs before any task of the namespace walks a path.
pub fn copy_namespace(from: u64, new: &Arc<process::ns::MntNs>) -> linux_abi::Result<()> {
    let id = ns_id(new);
    // no reaping before the copy: after unshare(2) no process is in
    // `from` any more, and its mounts would go before they are copied
    let pairs: Vec<(Arc<Inode>, Arc<vfs::Mount>, bool)> = {
        let mut t = MOUNTS.lock();
        if id == vfs::INITIAL_MNT_NS || t.spaces.iter().any(|(n, _)| *n == id) {
            return Ok(());
        }
        t.spaces.try_reserve(1).map_err(|_| linux_abi::Errno::ENOMEM)?;
        let n = t.list.iter().filter(|m| m.ns == from).count();
        if n > MOUNT_MAX {
            return Err(linux_abi::Errno::ENOSPC);
        }
        t.list.try_reserve(n).map_err(|_| linux_abi::Errno::ENOMEM)?;
        let mut pairs = Vec::new();
        pairs.try_reserve(n).map_err(|_| linux_abi::Errno::ENOMEM)?;
        let user_owned = !new.owner().is_initial();
        let mut copies: Vec<Mount> = t
            .list
            .iter()
            .filter(|m| m.ns == from)
            .map(|m| Mount {
                ns: id,
                source: m.source.clone(),
                target: m.target.clone(),
                fstype: m.fstype.clone(),
                options: m.options.clone(),
                root: m.root.clone(),
                covered: m.covered.clone(),
                id: next_mount_id(),
                parent: m.parent,
                fs_root: m.fs_root.clone(),
                prop: Prop::PRIVATE,
                // copy_tree(CL_UNPRIVILEGED): a less privileged namespace
                // may not change the flags it was given
                locked: m.locked || user_owned,
                umount_locked: m.umount_locked || user_owned,
                fs_user: m.fs_user,
                mnt: vfs::Mount::new(m.root.clone()),
                copied_from: m.id,
            })
            .collect();
        // copy_mnt_ns(): peers stay peers; into a namespace of another
        // user namespace shared mounts' copies are their slaves
        // (CL_SHARED_TO_SLAVE)
        let to_slave = t.owner_of(from) != new.owner().ino();
        let tb: &mut Table = &mut t;
        for (c, m) in copies.iter_mut().zip(tb.list.iter().filter(|m| m.ns == from)) {
            c.mnt.set_flags(m.flags());
            c.mnt.set_id(c.id);
            c.prop = propagation::copy(&mut tb.groups, m.prop, to_slave);
        }
        // the copies' parents are the copies of the parents
        let olds: Vec<u64> = t.list.iter().filter(|m| m.ns == from).map(|m| m.id).collect();
        let news: Vec<u64> = copies.iter().map(|m| m.id).collect();
        for m in copies.iter_mut() {
            m.parent = olds.iter().position(|&o| o == m.parent).map_or(0, |i| news[i]);
        }
        for m in &copies {
            // a file or directory bound on itself hangs on itself (walks
            // end in it)
            if let Some(c) = m.covered.as_ref() {
                pairs.push((c.clone(), m.mnt.clone(), m.root.is_fs_root()));
            }
        }
        let first = t.list.len();
        t.list.extend(copies);
        for i in first..t.list.len() {
            hang(&t.list, i);
        }
        t.spaces.push((id, Arc::downgrade(new)));
        SPACES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        pairs
    };
    // the directories' entries, outside the table's lock (their locks
    // may sleep on a disk filesystem)
    for (i, (covered, root, whole)) in pairs.iter().enumerate() {
        if let Err(e) = covered.mount_in_ns(id, root, *whole) {
            // no half-made namespace: the entries made so far, the copies
            // and the registration go again
            for (c, r, _) in &pairs[..=i] {
                drop(c.unmount_in_ns(id, r.root()));
            }
            let gone: Vec<Mount> = {
                let mut t = MOUNTS.lock();
                let before = t.spaces.len();
                t.spaces.retain(|(n, _)| *n != id);
                SPACES.fetch_sub(before - t.spaces.len(), core::sync::atomic::Ordering::Relaxed);
                t.take(|m| m.ns == id)
            };
            drop(gone);
            log::warn!("mount namespace {id}: copying the mounts failed: {e:?}");
            return Err(linux_abi::Errno::ENOMEM);
        }
    }
    reap_namespaces();
    Ok(())
}

/// Forgets the mounts of namespaces no process is in any more (their
/// filesystems go with them, as Linux's put_mnt_ns()). Called where
/// namespaces come and go (clone, unshare, setns, mount, umount, wait).
pub fn reap_namespaces() {
    if SPACES.load(core::sync::atomic::Ordering::Relaxed) == 0 {
        return;
    }
    let gone = {
        let mut t = MOUNTS.lock();
        let dead: Vec<u64> =
            t.spaces.iter().filter(|(_, w)| w.strong_count() == 0).map(|(n, _)| *n).collect();
        if dead.is_empty() {
            return;
        }
        t.spaces.retain(|(n, _)| !dead.contains(n));
        SPACES.fetch_sub(dead.len(), core::sync::atomic::Ordering::Relaxed);
        EVENTS.lock().list.retain(|(n, _)| !dead.contains(n));
        let gone = t.take(|m| dead.contains(&m.ns));
        // their locks go after the table's (a holder keeps its own Arc)
        let (dead_locks, kept): (Vec<_>, Vec<_>) =
            core::mem::take(&mut t.locks).into_iter().partition(|(n, _)| dead.contains(n));
        t.locks = kept;
        (gone, dead_locks)
    };
    let (gone, dead_locks) = gone;
    drop(dead_locks);
    for m in &gone {
        if let Some(c) = &m.covered {
            drop(c.unmount_in_ns(m.ns, &m.root));
        }
    }
    for m in gone {
        if !is_mounted(&m.root) {
            let _ = unmounted(&m.root);
        }
    }
}

/// Whether a mount of any namespace shows `root`.
fn is_mounted(root: &Arc<Inode>) -> bool {
    MOUNTS.lock().iter().any(|m| Arc::ptr_eq(&m.root, root))
}

/// Records a mount of `root` on `target` (an absolute path), hiding the
/// directory `covered`, in the namespace `ns`.
pub fn record_mount(
    ns: u64,
    source: &[u8],
    target: &[u8],
    fstype: &[u8],
    options: String,
    root: Arc<Inode>,
    covered: Option<Arc<Inode>>,
) {
    let _ = record_mount_by(ns, INIT_FS_USER, source, target, fstype, options, root, covered);
}

/// Checks that one more mount may be recorded in `ns` before it is made:
/// `ENOSPC` at Linux's `fs.mount-max` ([`MOUNT_MAX`]), `ENOMEM` when the
/// table cannot grow (the room is reserved).
pub fn reserve_mount(ns: u64) -> linux_abi::Result<()> {
    let mut t = MOUNTS.lock();
    if t.list.iter().filter(|m| m.ns == ns).count() >= MOUNT_MAX {
        log::info!("mount namespace {ns}: fs.mount-max ({MOUNT_MAX}) reached: ENOSPC");
        return Err(linux_abi::Errno::ENOSPC);
    }
    t.list.try_reserve(1).map_err(|_| linux_abi::Errno::ENOMEM)
}

/// Records a mount of `root` on `target` (an absolute path), hiding the
/// directory `covered`, in the namespace `ns`, of a filesystem owned by
/// the user namespace numbered `fs_user` (who may remount it).
/// `ENOMEM` when the table cannot grow.
#[allow(clippy::too_many_arguments)]
pub fn record_mount_by(
    ns: u64,
    fs_user: u64,
    source: &[u8],
    target: &[u8],
    fstype: &[u8],
    options: String,
    root: Arc<Inode>,
    covered: Option<Arc<Inode>>,
) -> linux_abi::Result<()> {
    let mut t = MOUNTS.lock();
    t.list.try_reserve(1).map_err(|_| linux_abi::Errno::ENOMEM)?;
    let parent = if covered.is_some() { parent_for(&t.list, ns, target) } else { 0 };
    let id = next_mount_id();
    let mnt = vfs_mount(ns, &root, covered.as_ref(), id);
    attach(
        t,
        Mount {
            ns,
            source: source.to_vec(),
            target: target.to_vec(),
            fstype: fstype.to_vec(),
            options,
            root,
            covered,
            id,
            parent,
            fs_root: b"/".to_vec(),
            prop: Prop::PRIVATE,
            locked: false,
            umount_locked: false,
            fs_user,
            mnt,
            copied_from: 0,
        },
    )
}

/// Adds the new record `m` (its `prop` counted already) to the table,
/// whose lock `t` is, with its propagation (Linux's attach_recursive_mnt
/// and propagate_mnt): under a shared parent mount it becomes shared and
/// each other mount namespace with a receiving mount showing its mount
/// point gets a copy there (`vfs::propagation::plan`: peers' copies in
/// its group, slaves' copies receiving from it). A receiver in `m`'s own
/// namespace needs none (mounts hang on directories per namespace: the
/// mount shows through every mount of the namespace showing its
/// directory), nor a second one of the same namespace, nor one whose
/// directory already has a mount there. The copies' flags are locked when
/// they cross into another user namespace's mount namespace. `ENOSPC`
/// when a receiving namespace is at fs.mount-max, `ENOMEM`; nothing is
/// added then. The copies' directory entries are made after the lock is
/// dropped.
fn attach(mut t: crate::lockorder::RankedGuard<'_, Table>, mut m: Mount) -> linux_abi::Result<()> {
    let tb: &mut Table = &mut t;
    let pi = if m.parent != 0 { tb.list.iter().position(|p| p.ns == m.ns && p.id == m.parent) } else { None };
    let plan = match pi {
        Some(pi) => propagation::plan(&tb.list, &mut tb.groups, pi, m.prop),
        None => Ok(propagation::Plan { new: m.prop, copies: Vec::new() }),
    };
    let plan = match plan {
        Ok(p) => p,
        Err(e) => {
            propagation::release(&mut tb.groups, m.prop);
            return Err(e);
        }
    };
    m.prop = plan.new;
    let mut made: Vec<Mount> = Vec::new();
    // the receiving namespaces, sorted (one copy each)
    let mut spaces: Vec<(u64, usize)> = Vec::new();
    let fail = |tb: &mut Table, plan: &propagation::Plan| {
        propagation::abandon(&mut tb.groups, plan, true);
        linux_abi::Errno::ENOMEM
    };
    // fs.mount-max's count per receiving namespace, reserved with the
    // others: past the loop below a planned copy's group count is either
    // given back there or carried by `made`, so no failure may come
    // between them and `abandon` (which gives back every copy's count)
    let mut counts: Vec<usize> = Vec::new();
    if made.try_reserve(plan.copies.len()).is_err()
        || spaces.try_reserve(plan.copies.len() + 1).is_err()
        || counts.try_reserve(plan.copies.len() + 1).is_err()
    {
        return Err(fail(tb, &plan));
    }
    spaces.push((m.ns, 0));
    if let (Some(pi), Some(covered)) = (pi, m.covered.clone()) {
        // the mount point as a path in the parent's filesystem
        let c_fs = rebase(&m.target, &tb.list[pi].target, &tb.list[pi].fs_root);
        let owner = tb.owner_of(m.ns);
        for &(d, cp) in &plan.copies {
            let dm = &tb.list[d];
            let at = spaces.binary_search_by_key(&dm.ns, |e| e.0);
            let shows = path_within(&dm.fs_root, &c_fs) && dm.root.same_fs(&covered);
            if at.is_ok() || !shows || covered.mount_here(dm.ns).is_some() {
                // not made: the planned copy gives its group count back
                propagation::release(&mut tb.groups, cp);
                continue;
            }
            if let Err(k) = at {
                spaces.insert(k, (dm.ns, made.len()));
            }
            let id = next_mount_id();
            let mnt = vfs::Mount::new(m.root.clone());
            mnt.set_id(id);
            mnt.set_flags(m.mnt.flags());
            made.push(Mount {
                ns: dm.ns,
                source: m.source.clone(),
                target: rebase(&c_fs, &dm.fs_root, &dm.target),
                fstype: m.fstype.clone(),
                options: m.options.clone(),
                root: m.root.clone(),
                covered: Some(covered.clone()),
                id,
                parent: dm.id,
                fs_root: m.fs_root.clone(),
                prop: cp,
                // propagated across user namespaces: the flags are locked
                // (lock_mnt_tree, the top itself left unmountable)
                locked: m.locked || tb.owner_of(dm.ns) != owner,
                umount_locked: false,
                fs_user: m.fs_user,
                mnt,
                copied_from: 0,
            });
        }
    }
    // fs.mount-max in each receiving namespace (one pass over the table;
    // within the capacity reserved above)
    counts.resize(spaces.len(), 0);
    for r in tb.list.iter() {
        if let Ok(k) = spaces.binary_search_by_key(&r.ns, |e| e.0) {
            counts[k] += 1;
        }
    }
    if spaces.iter().zip(&counts).any(|((ns, _), &n)| *ns != m.ns && n >= MOUNT_MAX) {
        log::info!("mount propagation: a receiving namespace is at fs.mount-max ({MOUNT_MAX}): ENOSPC");
        propagation::release(&mut tb.groups, m.prop);
        for c in &made {
            propagation::release(&mut tb.groups, c.prop);
        }
        return Err(linux_abi::Errno::ENOSPC);
    }
    if tb.list.try_reserve(made.len() + 1).is_err() {
        propagation::release(&mut tb.groups, m.prop);
        for c in &made {
            propagation::release(&mut tb.groups, c.prop);
        }
        return Err(linux_abi::Errno::ENOMEM);
    }
    let mut hangs: Vec<(Arc<Inode>, Arc<vfs::Mount>, u64)> = Vec::new();
    let _ = hangs.try_reserve(made.len());
    tb.list.push(m);
    let first = tb.list.len() - 1;
    for c in made {
        if let Some(cov) = c.covered.as_ref().filter(|cov| !Arc::ptr_eq(cov, &c.root))
            && hangs.try_reserve(1).is_ok()
        {
            hangs.push((cov.clone(), c.mnt.clone(), c.ns));
        }
        tb.list.push(c);
    }
    for i in first..tb.list.len() {
        hang(&tb.list, i);
    }
    drop(t);
    // the copies' directory entries, outside the table's lock
    for (cov, mnt, ns) in hangs {
        if let Err(e) = cov.mount_in_ns(ns, &mnt, mnt.root().is_fs_root()) {
            log::warn!("mount propagation into namespace {ns}: {e:?}; the copy is dropped");
            forget_mount(ns, mnt.root(), &cov);
        }
    }
    // their tables changed: pollers of mounts/mountinfo learn it
    for (ns, _) in spaces {
        touch(ns);
    }
    Ok(())
}

/// Whether `prefix` is `path` or one of its ancestor directories (both
/// absolute and normalised, as getcwd makes them).
fn path_within(prefix: &[u8], path: &[u8]) -> bool {
    prefix == b"/" || path == prefix || (path.starts_with(prefix) && path.get(prefix.len()) == Some(&b'/'))
}

/// Records a bind mount of the directory `root` on `target` in the
/// namespace `ns`: /proc/mounts shows it with the source, type and
/// options of the filesystem holding `root`, as Linux.
/// `source` is the bound directory's absolute path (for mountinfo's root
/// field: its path inside its filesystem). The holder is looked for in
/// `ns` only; without one the bind's flags are locked when `user_owned`
/// (the namespace's owner is not the initial user namespace) and its
/// filesystem counts as the initial namespace's (no remount). The bind's
/// propagation comes from the mount the source was reached through
/// (`src_mnt`, else the holder): a peer of a shared one, a slave of a
/// slave's master (`EINVAL` for an unbindable one); then it propagates
/// as a new mount ([`attach`]). `ENOMEM` when the table cannot grow,
/// `ENOSPC` at a receiving namespace's fs.mount-max.
pub fn record_bind(
    ns: u64,
    user_owned: bool,
    target: &[u8],
    source: &[u8],
    root: Arc<Inode>,
    covered: Arc<Inode>,
    src_mnt: Option<&Arc<vfs::Mount>>,
) -> linux_abi::Result<()> {
    let mut mounts = MOUNTS.lock();
    mounts.list.try_reserve(1).map_err(|_| linux_abi::Errno::ENOMEM)?;
    let holder = mounts
        .iter()
        .rev()
        .filter(|m| m.ns == ns)
        .find(|m| m.root.same_fs(&root) && path_within(&m.target, source))
        .or_else(|| mounts.iter().rev().filter(|m| m.ns == ns).find(|m| m.root.same_fs(&root)));
    let flags = holder.map_or(0, |m| m.flags());
    let src_prop = src_mnt
        .and_then(|v| mounts.iter().rev().find(|m| m.ns == ns && Arc::ptr_eq(&m.mnt, v)))
        .or(holder)
        .map_or(Prop::PRIVATE, |m| m.prop);
    // an nsfs file (no mount of nsfs in the table): Linux's internal
    // nsfs mount, `nsfs nsfs rw` with the namespace's name as its root
    let nsfs = root.dev() == vfs::makedev(0, 4) && !root.is_dir();
    let (src, fstype, options, fs_root, locked, fs_user) = match holder {
        _ if nsfs => {
            (b"nsfs".to_vec(), b"nsfs".to_vec(), String::from("rw"), source.to_vec(), false, INIT_FS_USER)
        }
        Some(m) => {
            // the bound directory's path below the holder's mount point,
            // appended to the holder's own root
            let rest = if path_within(&m.target, source) && m.target != b"/" {
                &source[m.target.len()..]
            } else if m.target == b"/" {
                source
            } else {
                b"".as_slice()
            };
            let mut r = m.fs_root.clone();
            if r == b"/" && !rest.is_empty() {
                r.clear();
            }
            r.extend_from_slice(rest);
            (m.source.clone(), m.fstype.clone(), m.options.clone(), r, m.locked, m.fs_user)
        }
        None => {
            (b"none".to_vec(), b"none".to_vec(), String::from("rw"), b"/".to_vec(), user_owned, INIT_FS_USER)
        }
    };
    let id = next_mount_id();
    let parent = parent_for(&mounts.list, ns, target);
    let prop = if nsfs { Prop::PRIVATE } else { propagation::bind(&mut mounts.groups, src_prop)? };
    let mnt = vfs_mount(ns, &root, Some(&covered), id);
    mnt.set_flags(flags);
    attach(
        mounts,
        Mount {
            ns,
            source: src,
            target: target.to_vec(),
            fstype,
            options,
            root,
            covered: Some(covered),
            id,
            parent,
            fs_root,
            prop,
            locked,
            umount_locked: false,
            fs_user,
            mnt,
            copied_from: 0,
        },
    )
}

/// do_loopback()'s check before a bind is made: `EINVAL` when the mount
/// the source was reached through (`src_mnt`) is unbindable.
pub fn check_bindable(ns: u64, src_mnt: Option<&Arc<vfs::Mount>>) -> linux_abi::Result<()> {
    let Some(v) = src_mnt else { return Ok(()) };
    let t = MOUNTS.lock();
    match t.list.iter().rev().find(|m| m.ns == ns && Arc::ptr_eq(&m.mnt, v)) {
        Some(m) if m.prop.unbindable => Err(linux_abi::Errno::EINVAL),
        _ => Ok(()),
    }
}

/// umount2(2)'s can_umount(): `EINVAL` when the mount of `root` on
/// `covered` in `ns`, or with `detach` one below it, is locked (copied into
/// a namespace of a less privileged user namespace).
pub fn umount_locked(
    ns: u64,
    root: &Arc<Inode>,
    covered: &Arc<Inode>,
    detach: bool,
) -> linux_abi::Result<()> {
    let t = MOUNTS.lock();
    let Some(top) = find(&t.list, ns, root, Some(covered)) else { return Ok(()) };
    let tree = subtree(&t.list, top);
    let locked = t.list.iter().enumerate().any(|(i, m)| m.umount_locked && (i == top || (detach && tree[i])));
    if locked { Err(linux_abi::Errno::EINVAL) } else { Ok(()) }
}

/// The index of the mount of `ns` whose root is `root` as the walk that
/// found `root` saw it (`via`: the vfs mount it ended in, when that is a
/// mount of `root`); else [`find`]'s.
fn find_via(list: &[Mount], ns: u64, root: &Arc<Inode>, via: Option<&Arc<vfs::Mount>>) -> Option<usize> {
    if let Some(v) = via.filter(|v| Arc::ptr_eq(v.root(), root))
        && let Some(i) = list.iter().rposition(|m| m.ns == ns && Arc::ptr_eq(&m.mnt, v))
    {
        return Some(i);
    }
    find(list, ns, root, None)
}

/// The index of the mount of `ns` whose root is `root` (on `covered`
/// when given; the latest such mount).
fn find(list: &[Mount], ns: u64, root: &Arc<Inode>, covered: Option<&Arc<Inode>>) -> Option<usize> {
    list.iter().rposition(|m| {
        m.ns == ns
            && Arc::ptr_eq(&m.root, root)
            && covered.is_none_or(|c| m.covered.as_ref().is_some_and(|mc| Arc::ptr_eq(mc, c)))
    })
}

/// The mount a new mount on the absolute path `target` of `ns` lies in:
/// the latest mount whose mount point is the longest ancestor (or the
/// path itself: a mount stacked on another).
fn parent_for(list: &[Mount], ns: u64, target: &[u8]) -> u64 {
    // max_by_key keeps the last of equal keys: the latest mount
    list.iter()
        .filter(|p| p.ns == ns && path_within(&p.target, target))
        .max_by_key(|p| p.target.len())
        .map_or(0, |p| p.id)
}

/// Marks the mounts of the tree whose top is `list[top]` (itself and
/// every mount below it, by parent ids, whatever their paths say).
///
/// O(n log n) in the namespace's mounts (a table of (parent id, index)
/// sorted once, then the tree walked level by level by binary search):
/// it runs under `MOUNTS` for every umount, move and pivot, and a user
/// namespace may stack up to fs.mount-max mounts (review35: the pass per
/// level made 4,000 stacked mounts cost 323 ms per umount). Both tables
/// are bounded by fs.mount-max.
fn subtree(list: &[Mount], top: usize) -> Vec<bool> {
    let ns = list[top].ns;
    let top_id = list[top].id;
    let mut mark = alloc::vec![false; list.len()];
    mark[top] = true;
    let mut children: Vec<(u64, usize)> = list
        .iter()
        .enumerate()
        .filter(|(_, m)| m.ns == ns && m.parent != 0 && m.id != top_id)
        .map(|(i, m)| (m.parent, i))
        .collect();
    children.sort_unstable();
    let mut queue = alloc::vec![top];
    while let Some(at) = queue.pop() {
        let id = list[at].id;
        let from = children.partition_point(|&(p, _)| p < id);
        for &(p, i) in &children[from..] {
            if p != id {
                break;
            }
            if !mark[i] {
                mark[i] = true;
                queue.push(i);
            }
        }
    }
    mark
}

/// `path` with its leading `from` (an ancestor or itself) replaced by `to`.
fn rebase(path: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let rest = if from == b"/" { path } else { path.get(from.len()..).unwrap_or(b"") };
    let rest = if rest == b"/" { b"".as_slice() } else { rest };
    let mut out = if to == b"/" { Vec::new() } else { to.to_vec() };
    out.extend_from_slice(rest);
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// Forgets the mount of `root` on `covered` in `ns` (umount(2)); whether
/// no namespace mounts `root` any more.
pub fn forget_mount(ns: u64, root: &Arc<Inode>, covered: &Arc<Inode>) -> bool {
    let gone = {
        let mut t = MOUNTS.lock();
        let gone = t.take(|m| {
            m.ns == ns
                && Arc::ptr_eq(&m.root, root)
                && m.covered.as_ref().is_some_and(|c| Arc::ptr_eq(c, covered))
        });
        (gone, !t.iter().any(|m| Arc::ptr_eq(&m.root, root)))
    };
    // a mountinfo event only for a real change (Linux's ns->event)
    if !gone.0.is_empty() {
        touch(ns);
    }
    gone.1
}

/// umount propagation (Linux's propagate_umount), before the mount of
/// `root` on `covered` in `ns` leaves the table: under a shared parent,
/// the mount on the same directory under each receiving mount of another
/// namespace goes too, when nothing is mounted below it and it is not
/// locked. (Receivers in `ns` itself share its directory entry.) The
/// records leave the table under its lock (one sorted index of parents,
/// O(n log n)); their directory entries go after it, and a filesystem no
/// namespace mounts any more is closed.
pub fn umount_propagated(ns: u64, root: &Arc<Inode>, covered: &Arc<Inode>) {
    let (gone, dropped) = {
        let mut t = MOUNTS.lock();
        let Some(i) = find(&t.list, ns, root, Some(covered)) else { return };
        let parent = t.list[i].parent;
        let Some(pi) = t.list.iter().position(|p| p.ns == ns && p.id == parent) else { return };
        if !t.list[pi].prop.is_shared() {
            return;
        }
        let Ok(ix) = propagation::Index::new(&t.list) else { return };
        let Ok((dests, _)) = propagation::receivers(&t.list, &ix, pi) else { return };
        // (namespace, parent id, index) of every mount, sorted
        let mut kids: Vec<(u64, u64, usize)> = Vec::new();
        if kids.try_reserve(t.list.len()).is_err() {
            return;
        }
        kids.extend(t.list.iter().enumerate().map(|(k, m)| (m.ns, m.parent, k)));
        kids.sort_unstable();
        let under = |ns: u64, id: u64| {
            let from = kids.partition_point(|e| (e.0, e.1) < (ns, id));
            kids[from..].iter().take_while(move |e| e.0 == ns && e.1 == id).map(|e| e.2)
        };
        let mut chosen: Vec<(u64, u64)> = Vec::new();
        for (d, _, _) in dests {
            let dm = &t.list[d];
            if dm.ns == ns {
                continue;
            }
            for x in under(dm.ns, dm.id) {
                let xm = &t.list[x];
                let here = xm.covered.as_ref().is_some_and(|c| Arc::ptr_eq(c, covered));
                if here && !xm.umount_locked && under(xm.ns, xm.id).next().is_none() {
                    if chosen.try_reserve(1).is_err() {
                        break;
                    }
                    chosen.push((xm.ns, xm.id));
                }
            }
        }
        if chosen.is_empty() {
            return;
        }
        chosen.sort_unstable();
        let gone = t.take(|m| chosen.binary_search(&(m.ns, m.id)).is_ok());
        let dropped: Vec<bool> =
            gone.iter().map(|m| !t.list.iter().any(|o| Arc::ptr_eq(&o.root, &m.root))).collect();
        (gone, dropped)
    };
    for (m, last) in gone.iter().zip(dropped) {
        if let Some(c) = &m.covered
            && let Some(v) = c.unmount_in_ns(m.ns, &m.root)
        {
            v.set_up(None);
        }
        if last && !is_mounted(&m.root) {
            let _ = unmounted(&m.root);
        }
        touch(m.ns);
    }
}

/// umount2(2) with `MNT_DETACH`: the mounts of `ns` below the mount of
/// `root` on `covered` (by parent ids, deepest last found first), to
/// detach with it (Linux's umount_tree of a lazy umount). Each is
/// (covered, root).
pub fn mounts_below(ns: u64, root: &Arc<Inode>, covered: &Arc<Inode>) -> Vec<(Arc<Inode>, Arc<Inode>)> {
    let t = MOUNTS.lock();
    let Some(top) = find(&t.list, ns, root, Some(covered)) else { return Vec::new() };
    let tree = subtree(&t.list, top);
    let mut v: Vec<(usize, Arc<Inode>, Arc<Inode>)> = t
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != top && tree[*i])
        .filter_map(|(_, m)| m.covered.clone().map(|c| (m.target.len(), c, m.root.clone())))
        .collect();
    v.sort_by_key(|e| core::cmp::Reverse(e.0));
    v.into_iter().map(|(_, c, r)| (c, r)).collect()
}

/// The id of the mount of `ns` whose mount point is the longest ancestor
/// of the absolute path `abs` (the one that path lies in), if any.
pub fn holder_of(ns: u64, abs: &[u8]) -> Option<u64> {
    let t = MOUNTS.lock();
    Some(parent_for(&t.list, ns, abs)).filter(|&id| id != 0)
}

/// Linux's `mnt_already_visible()`, for a new mount of `fstype` (proc,
/// sysfs) in `ns` by a user namespace's root: whether `ns` already shows
/// a whole mount of that type (its filesystem's root, not a bind of a
/// subdirectory) with no locked mount over anything in it (proc and sysfs
/// here have no permanently empty directories, which Linux lets pass),
/// and not read-only where the new mount (`new_ro`) would be writable.
/// Otherwise mount(2) is `EPERM` (`mount_too_revealing`).
pub fn fully_visible(ns: u64, fstype: &[u8], new_ro: bool) -> bool {
    let t = MOUNTS.lock();
    t.list.iter().any(|m| {
        m.ns == ns
            && m.fstype == fstype
            && m.fs_root == b"/"
            && !(m.locked && m.flags() & vfs::MNT_RDONLY != 0 && !new_ro)
            && !t.list.iter().any(|c| c.ns == ns && c.parent == m.id && c.id != m.id && c.umount_locked)
    })
}

/// Whether the mount `id` of `ns` (with `parent`: the mount it hangs on)
/// is shared, i.e. in a peer group (Linux's `IS_MNT_SHARED`).
pub fn is_shared(ns: u64, id: u64, parent: bool) -> bool {
    let t = MOUNTS.lock();
    let Some(m) = t.list.iter().find(|m| m.ns == ns && m.id == id) else { return false };
    let id = if parent { m.parent } else { id };
    id != 0 && t.list.iter().any(|m| m.ns == ns && m.id == id && m.prop.is_shared())
}

/// A mount's id, the directory it covers, its mount point's path and its
/// vfs mount ([`mount_record_via`]).
pub type MountRecord = (u64, Option<Arc<Inode>>, Vec<u8>, Arc<vfs::Mount>);

/// What a mount of `ns` whose root is `root` is: its id, the directory it
/// covers (`None`: the namespace's root filesystem), its mount point's path,
/// for the mount a walk ended in (`via`, when it is a
/// mount of `root`: one directory bound twice has two), with its vfs
/// mount.
pub fn mount_record_via(ns: u64, root: &Arc<Inode>, via: Option<&Arc<vfs::Mount>>) -> Option<MountRecord> {
    let t = MOUNTS.lock();
    find_via(&t.list, ns, root, via).map(|i| {
        let m = &t.list[i];
        (m.id, m.covered.clone(), m.target.clone(), m.mnt.clone())
    })
}

/// mount(2) with `MS_MOVE`, the table's part: the mount `id` of `ns` now
/// covers `covered` at the absolute path `target`, its mounts below it
/// move with it (their paths rebased), its parent is the mount `target`
/// lies in. `ELOOP` for a target inside the moved tree, `EINVAL` for a
/// locked mount or one not in the table.
pub fn move_mount(ns: u64, id: u64, covered: Arc<Inode>, target: &[u8]) -> linux_abi::Result<()> {
    let mut t = MOUNTS.lock();
    let Some(top) = t.list.iter().position(|m| m.ns == ns && m.id == id) else {
        return Err(linux_abi::Errno::EINVAL);
    };
    if t.list[top].umount_locked {
        return Err(linux_abi::Errno::EINVAL);
    }
    let tree = subtree(&t.list, top);
    let from = t.list[top].target.clone();
    let parent = t
        .list
        .iter()
        .enumerate()
        .filter(|(i, p)| !tree[*i] && p.ns == ns && path_within(&p.target, target))
        .max_by_key(|(_, p)| p.target.len())
        .map_or(0, |(_, p)| p.id);
    for (i, m) in t.list.iter_mut().enumerate() {
        if tree[i] {
            m.target = rebase(&m.target, &from, target);
        }
    }
    let m = &mut t.list[top];
    m.covered = Some(covered);
    m.parent = parent;
    hang(&t.list, top);
    drop(t);
    touch(ns);
    Ok(())
}

/// pivot_root(2), the table's part: in `ns`, the mount `new_id` takes the
/// place of the root mount `root_id` (its directory, path and parent), and
/// the old root mount then covers `put_old`, found at `old_rel` below the
/// new root. The paths of both trees are rebased; `EINVAL` when either is
/// not in the table.
pub fn pivot(
    ns: u64,
    root_id: u64,
    new_id: u64,
    put_old: Arc<Inode>,
    old_rel: &[u8],
) -> linux_abi::Result<()> {
    let mut t = MOUNTS.lock();
    let (Some(r), Some(n)) = (
        t.list.iter().position(|m| m.ns == ns && m.id == root_id),
        t.list.iter().position(|m| m.ns == ns && m.id == new_id),
    ) else {
        return Err(linux_abi::Errno::EINVAL);
    };
    let new_tree = subtree(&t.list, n);
    let mut old_tree = subtree(&t.list, r);
    for (o, nt) in old_tree.iter_mut().zip(new_tree.iter()) {
        *o = *o && !*nt;
    }
    let root_target = t.list[r].target.clone();
    let new_target = t.list[n].target.clone();
    let old_target = rebase(old_rel, b"/", &root_target);
    for (i, m) in t.list.iter_mut().enumerate() {
        if new_tree[i] {
            m.target = rebase(&m.target, &new_target, &root_target);
        } else if old_tree[i] {
            m.target = rebase(&m.target, &root_target, &old_target);
        }
    }
    let (root_cov, root_parent) = (t.list[r].covered.clone(), t.list[r].parent);
    // put_old lies in the new tree: the deepest mount of it holding the path
    let old_parent = t
        .list
        .iter()
        .enumerate()
        .filter(|(i, p)| new_tree[*i] && path_within(&p.target, &old_target))
        .max_by_key(|(_, p)| p.target.len())
        .map_or(new_id, |(_, p)| p.id);
    t.list[n].covered = root_cov;
    t.list[n].parent = root_parent;
    t.list[r].covered = Some(put_old);
    t.list[r].parent = old_parent;
    hang(&t.list, n);
    hang(&t.list, r);
    // the new root first among its namespace's mounts: /proc/PID/mounts
    // lists from the root down
    // (the initial namespace keeps its first record: `root()`)
    if ns != vfs::INITIAL_MNT_NS {
        let moved = t.list.remove(n);
        let first = t.list.iter().position(|m| m.ns == ns).unwrap_or(t.list.len());
        t.list.insert(first, moved);
    }
    drop(t);
    touch(ns);
    Ok(())
}

/// Mount propagation (MS_SHARED, MS_PRIVATE, MS_SLAVE, MS_UNBINDABLE,
/// with `rec` MS_REC): the mount of `ns` whose root is `root` (the one the
/// walk reached, `via`; with `rec` those below it too) changes type
/// (`vfs::propagation::change`: a new peer group, leaving one, a slave of
/// the group it leaves). `EINVAL` when `root` is not a mount's root in
/// `ns`, `ENOMEM`.
pub fn set_propagation(
    ns: u64,
    root: &Arc<Inode>,
    via: Option<&Arc<vfs::Mount>>,
    kind: propagation::Kind,
    rec: bool,
) -> linux_abi::Result<()> {
    let mut t = MOUNTS.lock();
    let Some(top) = find_via(&t.list, ns, root, via) else {
        return Err(linux_abi::Errno::EINVAL);
    };
    let which: Vec<usize> = if rec {
        let tree = subtree(&t.list, top);
        let mut w = Vec::new();
        w.try_reserve(tree.iter().filter(|&&b| b).count()).map_err(|_| linux_abi::Errno::ENOMEM)?;
        w.extend(tree.iter().enumerate().filter(|(_, b)| **b).map(|(i, _)| i));
        w
    } else {
        alloc::vec![top]
    };
    let tb: &mut Table = &mut t;
    propagation::change(&mut tb.list, &mut tb.groups, &which, kind)
}

/// mount(2) with `MS_REMOUNT`: makes the filesystem whose root is `root`
/// read-only or read-write and shows it in /proc/mounts (`EINVAL` when
/// `root` is not a mount's root in `ns`, `EBUSY` going read-only while a
/// file of it is open for writing; `EPERM` making a locked read-only mount
/// writable).
///
/// Read-only is a state of the filesystem here, so every mount of it
/// changes; `bind` (MS_REMOUNT|MS_BIND, which is per mount in Linux) is
/// refused with `EINVAL` when the filesystem is mounted more than once.
/// `caller_user` is the caller's user namespace (`None`: the initial
/// one): another may remount only a filesystem it owns (`EPERM`, Linux's
/// ns_capable(sb->s_user_ns)).
pub fn remount(
    ns: u64,
    root: &Arc<Inode>,
    via: Option<&Arc<vfs::Mount>>,
    ro: bool,
    bind: bool,
    caller_user: Option<u64>,
    extra: u32,
) -> linux_abi::Result<()> {
    let mut mounts = MOUNTS.lock();
    let Some(at) = find_via(&mounts.list, ns, root, via) else {
        return Err(linux_abi::Errno::EINVAL);
    };
    let me = &mounts.list[at];
    let was_ro = me.options.starts_with("ro");
    if me.locked && !ro && was_ro {
        return Err(linux_abi::Errno::EPERM);
    }
    // can_change_locked_flags(): a mount copied into a less privileged
    // namespace keeps its nosuid, nodev and noexec too
    let locked_bits = vfs::MNT_NOSUID | vfs::MNT_NODEV | vfs::MNT_NOEXEC;
    if me.locked && bind && me.flags() & locked_bits & !extra != 0 {
        return Err(linux_abi::Errno::EPERM);
    }
    if bind {
        // do_reconfigure_mnt(): this mount's flags only, replaced whole
        let m = &mut mounts.list[at];
        m.mnt.set_flags(if ro { vfs::MNT_RDONLY } else { 0 } | extra);
        let rw = if ro || m.root.fs_read_only() { "ro" } else { "rw" };
        let mut o = String::from(rw);
        for (bit, name) in
            [(vfs::MNT_NOSUID, "nosuid"), (vfs::MNT_NODEV, "nodev"), (vfs::MNT_NOEXEC, "noexec")]
        {
            if extra & bit != 0 {
                o.push(',');
                o.push_str(name);
            }
        }
        for part in m.options.split(',').skip(1) {
            if !matches!(part, "nosuid" | "nodev" | "noexec" | "") {
                o.push(',');
                o.push_str(part);
            }
        }
        m.options = o;
        drop(mounts);
        touch(ns);
        return Ok(());
    }
    if caller_user.is_some_and(|u| u != me.fs_user) {
        return Err(linux_abi::Errno::EPERM);
    }
    root.set_fs_read_only(ro)?;
    for m in mounts.iter_mut().filter(|m| m.root.same_fs(root)) {
        let rest = m.options.split_once(',').map_or("", |(_, r)| r);
        let mut o = String::from(if ro || m.flags() & vfs::MNT_RDONLY != 0 { "ro" } else { "rw" });
        if !rest.is_empty() {
            o.push(',');
            o.push_str(rest);
        }
        m.options = o;
    }
    drop(mounts);
    touch(ns);
    Ok(())
}

/// The root of the initial namespace's root filesystem.
pub fn root() -> Option<Arc<Inode>> {
    MOUNTS.lock().first().map(|m| m.root.clone())
}

/// Whether the mount `id` of `ns` is the namespace's rootfs mount (an
/// initramfs root, which has no parent mount in Linux).
pub fn is_rootfs_id(ns: u64, id: u64) -> bool {
    MOUNTS.lock().iter().any(|m| m.ns == ns && m.id == id && m.covered.is_none() && m.fstype == b"rootfs")
}

/// The root of the namespace `ns`'s root filesystem.
/// (the top of the mounts stacked on it: after pivot_root(2) the new
/// root, as Linux's mntns_install follows them).
pub fn root_of(ns: u64) -> Option<Arc<Inode>> {
    root_path_of(ns).map(|p| p.inode)
}

/// [`root_of`] with the mount it is seen through (a task's root and cwd
/// after setns(2), init's at boot).
pub fn root_path_of(ns: u64) -> Option<vfs::Path> {
    let t = MOUNTS.lock();
    let bottom = t.list.iter().find(|m| m.ns == ns && m.covered.is_none()).map(|m| m.mnt.clone())?;
    let mut p = vfs::Path::root_of(&bottom);
    // a chain of stacked mounts, bounded by the namespace's mount count
    for _ in 0..=t.list.len() {
        if let Some(m) = p.inode.mount_here(ns)
            && !Arc::ptr_eq(m.root(), &p.inode)
        {
            p = vfs::Path::root_of(&m);
            continue;
        }
        // a record only (no vfs hang) covering the directory from the
        // mount seen so far: switch_root's bind of the root moved onto it,
        // and a root pivoted in over that bind
        let below = p.mnt.as_ref().map_or(0, |m| m.id());
        let Some(m) = t.list.iter().rev().find(|m| {
            m.ns == ns
                && m.parent == below
                && m.covered.as_ref().is_some_and(|c| Arc::ptr_eq(c, &p.inode))
                && !p.mnt.as_ref().is_some_and(|pm| Arc::ptr_eq(pm, &m.mnt))
        }) else {
            break;
        };
        let on_itself = Arc::ptr_eq(&m.root, &p.inode);
        p = vfs::Path::root_of(&m.mnt);
        if on_itself {
            break;
        }
    }
    drop(t);
    Some(p)
}

/// The mounts of `ns` a process whose root is `root` sees, in table order,
/// with their mount points as paths from that root: the tree below its
/// root mount (Linux skips the mounts a reader's root cannot reach, and
/// shows paths from that root). Every mount of `ns` as recorded when
/// `root` is no mount's root (a chroot into a plain directory).
fn visible<'a>(list: &'a [Mount], ns: u64, root: Option<&vfs::Path>) -> Vec<(&'a Mount, Vec<u8>)> {
    // the root's own mount (a bind of / elsewhere has the same root
    // inode: systemd's unit-root), else the latest with that root
    let top = root.and_then(|r| find_via(list, ns, &r.inode, r.mnt.as_ref()));
    match top {
        Some(top) => {
            let tree = subtree(list, top);
            let base = list[top].target.clone();
            list.iter()
                .enumerate()
                .filter(|(i, _)| tree[*i])
                .map(|(_, m)| (m, rebase(&m.target, &base, b"/")))
                .collect()
        }
        None => list.iter().filter(|m| m.ns == ns).map(|m| (m, m.target.clone())).collect(),
    }
}

/// /proc/mounts of the namespace `ns`: `source target type options 0 0`
/// per mount, as the process whose root is `root` sees them.
pub fn mounts_text(ns: u64, root: Option<&vfs::Path>) -> Vec<u8> {
    let mut out = Vec::new();
    let all = MOUNTS.lock();
    for (m, target) in visible(&all.list, ns, root) {
        for (i, part) in [&m.source[..], &target, &m.fstype, m.options.as_bytes()].iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            push_escaped(&mut out, part);
        }
        out.extend_from_slice(b" 0 0\n");
    }
    out
}

/// Pushes `part` with the characters /proc/mounts escapes (space, tab,
/// newline, backslash) in octal, as Linux's `mangle`.
fn push_escaped(out: &mut Vec<u8>, part: &[u8]) {
    for &b in part {
        if matches!(b, b' ' | b'\t' | b'\n' | b'\\') {
            out.extend_from_slice(alloc::format!("\\{b:03o}").as_bytes());
        } else {
            out.push(b);
        }
    }
}

/// The options Linux keeps per mount (`show_mnt_opts`) rather than per
/// filesystem: mountinfo's sixth field takes them, the last field the rest.
const PER_MOUNT_OPTIONS: &[&str] =
    &["nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime", "strictatime", "nosymfollow"];

/// /proc/PID/mountinfo (proc_pid_mountinfo(5)) of the namespace `ns`: per
/// mount `id parent major:minor root mount-point mount-options
/// [shared:N] - type source super-options`.
/// A mount's parent is the mount its mount point lies in (the latest
/// earlier mount whose mount point is the longest ancestor); the root
/// mount is its own parent here (Linux shows the namespace's hidden root
/// mount there; for an initramfs root that is rootfs itself, `1 1`).
/// `rw`/`ro` starts both option lists, as Linux shows them.
/// Seen by a process whose root is `root` ([`mounts_text`]'s choice).
pub fn mountinfo_text(ns: u64, root: Option<&vfs::Path>) -> Vec<u8> {
    // a cgroup2 mount's root as the reader's cgroup namespace sees it
    let cg_root = crate::cgroup::reader_root();
    let all = MOUNTS.lock();
    let mut out = Vec::new();
    // for propagate_from: the mounts by peer group, once (none without a slave)
    let index = if all.list.iter().any(|m| m.ns == ns && m.prop.is_slave()) {
        propagation::Index::new(&all.list).ok()
    } else {
        None
    };
    for (m, target) in visible(&all.list, ns, root) {
        let parent = if m.covered.is_none() || m.parent == 0 { m.id } else { m.parent };
        let dev = m.root.dev();
        out.extend_from_slice(
            alloc::format!("{} {} {}:{} ", m.id, parent, vfs::major(dev), vfs::minor(dev)).as_bytes(),
        );
        match crate::cgroup::mount_root_path(&m.root, cg_root).filter(|_| m.fs_root == b"/") {
            Some(p) => push_escaped(&mut out, &p),
            None => push_escaped(&mut out, &m.fs_root),
        }
        out.push(b' ');
        push_escaped(&mut out, &target);
        let mut opts = m.options.split(',');
        let rw = opts.next().filter(|o| *o == "ro" || *o == "rw").unwrap_or("rw");
        let (per_mount, per_fs): (Vec<&str>, Vec<&str>) =
            opts.filter(|o| !o.is_empty()).partition(|o| PER_MOUNT_OPTIONS.contains(o));
        out.push(b' ');
        out.extend_from_slice(rw.as_bytes());
        for o in per_mount {
            out.push(b',');
            out.extend_from_slice(o.as_bytes());
        }
        let dom = match &index {
            Some(ix) if m.prop.is_slave() => ix.dominating(&all.list, m.prop, ns, &|i| all.list[i].ns == ns),
            _ => 0,
        };
        propagation::write_fields(&mut out, m.prop, dom);
        out.extend_from_slice(b" - ");
        push_escaped(&mut out, &m.fstype);
        out.push(b' ');
        push_escaped(&mut out, &m.source);
        out.push(b' ');
        // the filesystem's own state (a read-only bind of a writable one
        // shows ro, then rw)
        out.extend_from_slice(if m.root.fs_read_only() { b"ro" } else { b"rw" });
        for o in per_fs {
            out.push(b',');
            out.extend_from_slice(o.as_bytes());
        }
        out.push(b'\n');
    }
    out
}

/// The statfs(2) magic number of the filesystem holding `inode`.
pub fn fs_magic(inode: &Inode) -> u64 {
    let m = MOUNTS.lock();
    match m.iter().find(|m| m.root.same_fs(inode)).map(|m| m.fstype.as_slice()) {
        Some(b"proc") => crate::procfs::PROC_MAGIC,
        Some(b"tmpfs" | b"devtmpfs" | b"rootfs") => TMPFS_MAGIC,
        Some(b"sysfs") => crate::sysfs::SYSFS_MAGIC,
        Some(b"devpts") => 0x1cd1,
        // CGROUP2_SUPER_MAGIC: systemd tells the hierarchy by it
        Some(b"cgroup2") => 0x6367_7270,
        Some(b"ext2" | b"ext3" | b"ext4") => EXT2_MAGIC,
        _ => vfs::RAMFS_MAGIC,
    }
}

/// `CLOCK_REALTIME` for file timestamps: boot time plus the monotonic clock.
pub struct KernelClock;

impl Clock for KernelClock {
    fn now(&self) -> Timespec {
        let ns = crate::time::realtime_ns();
        Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
    }
}

static NEXT_DEV: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(1);

/// memparse(): a number with an optional k/m/g/t suffix (powers of 1024).
fn memparse(v: &[u8]) -> Option<u64> {
    let (digits, shift) = match v.last()? {
        b'k' | b'K' => (&v[..v.len() - 1], 10),
        b'm' | b'M' => (&v[..v.len() - 1], 20),
        b'g' | b'G' => (&v[..v.len() - 1], 30),
        b't' | b'T' => (&v[..v.len() - 1], 40),
        _ => (v, 0),
    };
    let n: u64 = core::str::from_utf8(digits).ok()?.parse().ok()?;
    n.checked_mul(1u64 << shift)
}

/// A tmpfs for mount(2) with its `size=` and `nr_inodes=` options
/// (shmem_parse_one): both default to half the RAM pages
/// (shmem_default_max_blocks/max_inodes), 0 means unlimited, `size` may be
/// a percentage of RAM; a bad value is `EINVAL`.
pub fn new_tmpfs(opts: &[u8]) -> linux_abi::Result<Arc<Inode>> {
    let (_, usable) = arch_x86_64::mem::frames::stats();
    let (mut pages, mut inodes) = (usable / 2, usable / 2);
    for o in opts.split(|&b| b == b',') {
        if let Some(v) = o.strip_prefix(b"size=") {
            let bytes = match v.strip_suffix(b"%") {
                Some(pct) => {
                    let pct = memparse(pct).ok_or(linux_abi::Errno::EINVAL)?;
                    usable.saturating_mul(pct) / 100 * 4096
                }
                None => memparse(v).ok_or(linux_abi::Errno::EINVAL)?,
            };
            pages = bytes.div_ceil(4096);
        } else if let Some(v) = o.strip_prefix(b"nr_inodes=") {
            inodes = memparse(v).ok_or(linux_abi::Errno::EINVAL)?;
        }
    }
    let minor = NEXT_DEV.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    let root = vfs::new_tmpfs(
        vfs::makedev(0, minor),
        Arc::new(KernelClock),
        (pages > 0).then_some(pages),
        (inodes > 0).then_some(inodes),
        Arc::new(crate::filemap::FramePages),
    );
    root.set_tmpfs_dir_sizes();
    Ok(root)
}

/// A new empty filesystem (a ramfs with its own device number) of at
/// most half the memory, as Linux's tmpfs by default (so statfs(2) and
/// `df` show its size).
pub fn new_fs() -> Arc<Inode> {
    let minor = NEXT_DEV.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    let (_, usable) = arch_x86_64::mem::frames::stats();
    let limit = (usable > 0).then_some(usable / 2);
    vfs::new_ramfs_in(
        vfs::makedev(0, minor),
        Arc::new(KernelClock),
        limit,
        Arc::new(crate::filemap::FramePages),
    )
}

/// The device nodes this kernel has drivers for (`crate::devices`):
/// name, major, minor, mode.
const DEVICE_NODES: &[(&[u8], u32, u32, u32)] = &[
    (b"console", 5, 1, 0o600),
    (b"tty", 5, 0, 0o666),
    (b"ptmx", 5, 2, 0o666),
    (b"ttyS0", 4, 64, 0o660),
    (b"null", 1, 3, 0o666),
    (b"zero", 1, 5, 0o666),
    (b"full", 1, 7, 0o666),
    (b"random", 1, 8, 0o666),
    (b"urandom", 1, 9, 0o666),
    (b"kmsg", 1, 11, 0o644),
];

/// Creates the device nodes in `dir` (names that exist are left alone).
fn add_device_nodes(ctx: &vfs::Ctx, dir: &Arc<Inode>) {
    for &(name, major, minor, mode) in DEVICE_NODES {
        let _ = ctx.mknod(dir, name, vfs::S_IFCHR | mode, vfs::makedev(major, minor));
    }
    // devpts is mounted here at boot (`mount_devpts`)
    let _ = ctx.mkdir(dir, b"pts", 0o755);
    if crate::blk::present() {
        // brw-rw---- root:disk as udev leaves it; no udev here: root's group
        let _ = ctx.mknod(dir, b"vda", vfs::S_IFBLK | 0o660, vfs::makedev(crate::blk::VIRTBLK_MAJOR, 0));
    }
}

/// Mounts devpts (the pty slaves, `crate::pty`) on /dev/pts of the new
/// root, as an init system would; a root without /dev/pts gets none.
fn mount_devpts(root: &Arc<Inode>) {
    let cred = vfs::Cred::root();
    let ctx = vfs::Ctx::new(root.clone(), &cred);
    let Ok(covered) = ctx.lookup(root, b"/dev/pts", true) else { return };
    if !covered.is_dir() {
        return;
    }
    let pts = crate::pty::devpts();
    match ctx.mount(root, b"/dev/pts", pts.clone()) {
        Ok(()) => record_mount(
            vfs::INITIAL_MNT_NS,
            b"devpts",
            b"/dev/pts",
            b"devpts",
            String::from("rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=000"),
            pts,
            Some(covered),
        ),
        Err(e) => log::error!("devpts on /dev/pts: {e:?}"),
    }
}

/// A new devtmpfs: a filesystem holding every device node.
pub fn new_devtmpfs() -> Arc<Inode> {
    let root = new_fs();
    root.set_tmpfs_dir_sizes();
    let cred = vfs::Cred::root();
    add_device_nodes(&vfs::Ctx::new(root.clone(), &cred), &root);
    root
}

/// The root: the initramfs unpacked (gzip or plain cpio), plus the device
/// nodes an initramfs usually lacks.
pub fn root_from_initramfs(image: Option<&[u8]>) -> Arc<Inode> {
    let root = new_fs();
    // Linux's rootfs and devtmpfs are tmpfs instances: a directory's
    // st_size is 40 plus 20 per entry
    root.set_tmpfs_dir_sizes();
    // Linux's rootfs is a tmpfs mounted without options: its root is
    // 1777 unless the archive has an entry for `.`
    if let Err(e) = root.chmod(&vfs::Cred::root(), 0o1777) {
        log::error!("rootfs: chmod 1777 of /: {e:?}");
    }
    if let Some(img) = image {
        match vfs::unpack_initramfs(&root, img) {
            Ok(stats) => log::info!("initramfs: {stats:?}"),
            Err(e) => log::error!("initramfs: {e:?}"),
        }
    }
    let cred = vfs::Cred::root();
    let ctx = vfs::Ctx::new(root.clone(), &cred);
    let _ = ctx.mkdir(&root, b"dev", 0o755);
    let _ = ctx.mkdir(&root, b"tmp", 0o1777);
    let _ = ctx.mkdir(&root, b"proc", 0o555);
    if let Ok(dev) = ctx.lookup(&root, b"dev", true) {
        add_device_nodes(&ctx, &dev);
    }
    MOUNTS.lock().clear();
    record_mount(vfs::INITIAL_MNT_NS, b"rootfs", b"/", b"rootfs", String::from("rw"), root.clone(), None);
    // the root filesystem is mount 1, as Linux's rootfs
    if let Some(m) = MOUNTS.lock().first_mut() {
        m.id = 1;
        m.mnt.set_id(1);
    }
    mount_devpts(&root);
    root
}

/// The root from a disk (`root=/dev/vda` on the command line, as Linux's
/// prepare_namespace()): the ext2 on the virtio disk mounted as `/`
/// (`/dev/root` in /proc/mounts), read-only unless `read_only` is false
/// (Linux mounts the root `ro` unless the command line says `rw`), and a
/// devtmpfs on its `/dev` when the disk has one (CONFIG_DEVTMPFS_MOUNT, as
/// Debian's kernel). The initramfs is not used. Errors: `ENODEV` for a
/// device other than /dev/vda, mount_ext2's errno otherwise.
pub fn root_from_disk(device: &str, read_only: bool) -> linux_abi::Result<Arc<Inode>> {
    if device != "/dev/vda" {
        log::error!("root={device}: only /dev/vda (the virtio disk) can be the root: ENODEV");
        return Err(linux_abi::Errno::ENODEV);
    }
    let devfs = new_devtmpfs();
    let cred = vfs::Cred::root();
    let dev = vfs::Ctx::new(devfs.clone(), &cred).lookup(&devfs, b"vda", true)?;
    let root = mount_ext2(&dev, read_only)?;
    if read_only {
        root.set_fs_read_only(true)?;
    }
    MOUNTS.lock().clear();
    let opts = String::from(if read_only { "ro,relatime" } else { "rw,relatime" });
    record_mount(vfs::INITIAL_MNT_NS, b"/dev/root", b"/", b"ext2", opts, root.clone(), None);
    if let Some(m) = MOUNTS.lock().first_mut() {
        m.id = 1;
        m.mnt.set_id(1);
    }
    let ctx = vfs::Ctx::new(root.clone(), &cred);
    match ctx.lookup(&root, b"dev", true) {
        Ok(covered) if covered.is_dir() => match ctx.mount(&root, b"/dev", devfs.clone()) {
            Ok(()) => record_mount(
                vfs::INITIAL_MNT_NS,
                b"devtmpfs",
                b"/dev",
                b"devtmpfs",
                String::from("rw,relatime"),
                devfs,
                Some(covered),
            ),
            Err(e) => log::error!("root: devtmpfs on /dev: {e:?}"),
        },
        _ => log::info!("root: the disk has no /dev directory: no devtmpfs mounted"),
    }
    mount_devpts(&root);
    log::info!("root: /dev/vda (ext2) mounted on / {}", if read_only { "read-only" } else { "read-write" });
    Ok(root)
}

// ---- disk file systems (ext2 over /dev/vda) ----

/// A lock a task may sleep holding (the namespace and mount locks of a
/// disk file system, whose calls sleep on the disk): taken by a
/// compare-and-swap, waiters sleep on a queue; the boot thread (the idle
/// task, which may not block) runs other tasks until it is free, as blk's
/// device ownership.
#[derive(Default)]
pub struct SleepLock {
    taken: core::sync::atomic::AtomicBool,
    queue: crate::sched::WaitQueue,
}

impl vfs::RawLock for SleepLock {
    fn lock(&self) {
        use core::sync::atomic::Ordering;
        let take = || self.taken.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok();
        if crate::sched::in_idle() {
            crate::sched::idle_wait(take);
        } else {
            self.queue.wait_until(take, None);
        }
    }
    fn unlock(&self) {
        self.taken.store(false, core::sync::atomic::Ordering::Release);
        self.queue.wake_all();
    }
}

/// `EXT2_SUPER_MAGIC` (ext2/3/4 all report it).
pub const EXT2_MAGIC: u64 = 0xEF53;

/// Whether /dev/vda is mounted (one mount of the disk at a time).
static DISK_MOUNTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Blocks of the write-back cache under a mounted disk (4 KiB each: 8 MiB).
const DISK_CACHE_BLOCKS: usize = 2048;

/// The most seconds data may stay dirty before the flusher writes it
/// (Linux's `dirty_expire_centisecs` default, 30 s).
pub const DIRTY_EXPIRE_SECS: i64 = 30;

fn ext2_clock() -> u32 {
    (crate::time::realtime_ns() / 1_000_000_000).min(u64::from(u32::MAX)) as u32
}

/// mount(2) of type ext2 (ext3 and ext4 go through the same driver, which
/// refuses what it cannot do: `EINVAL` for ext4 features or a journal that
/// needs recovery) over the block device inode `source`: `ENOTBLK` for a
/// non-block file, `ENXIO` for a device without a driver (only the
/// virtio disk, 254:0, has one), `EBUSY` while the disk is mounted,
/// `EINVAL` for a disk that holds no ext2 (one log line saying why).
pub fn mount_ext2(source: &Arc<Inode>, read_only: bool) -> linux_abi::Result<Arc<Inode>> {
    use core::sync::atomic::Ordering;
    use linux_abi::Errno;
    if source.file_type() != vfs::FileType::BlockDevice {
        return Err(Errno::ENOTBLK);
    }
    if source.device() != Some((crate::blk::VIRTBLK_MAJOR, 0)) || !crate::blk::present() {
        return Err(Errno::ENXIO);
    }
    if DISK_MOUNTED.swap(true, Ordering::SeqCst) {
        log::info!("mount: /dev/vda is mounted already (one mount of a disk here): EBUSY");
        return Err(Errno::EBUSY);
    }
    if let Err(e) = start_flusher() {
        DISK_MOUNTED.store(false, Ordering::SeqCst);
        return Err(e);
    }
    let ro = read_only || crate::blk::read_only();
    let disk = ext2::CachedDisk::new(crate::blk::Disk, 4096, DISK_CACHE_BLOCKS);
    let fs = match ext2::Ext2::mount(disk, ext2::MountOptions::new(ro, ext2_clock)) {
        Ok(fs) => fs,
        Err(e) => {
            log::info!("mount: /dev/vda: ext2 refused it: {e:?}");
            DISK_MOUNTED.store(false, Ordering::SeqCst);
            return Err(e.errno());
        }
    };
    let root = vfs::new_backed_with(
        vfs::makedev(crate::blk::VIRTBLK_MAJOR, 0),
        Arc::new(KernelClock),
        alloc::boxed::Box::new(vfs::Ext2Backing::new(fs)),
        Arc::new(crate::filemap::FramePages),
        &|| Arc::new(SleepLock::default()),
    );
    match root {
        Ok(r) => Ok(r),
        Err(e) => {
            DISK_MOUNTED.store(false, Ordering::SeqCst);
            Err(e)
        }
    }
}

/// umount(2) of a disk file system, before it is detached: `EBUSY` while a
/// file of it is open.
pub fn may_umount(root: &Arc<Inode>) -> linux_abi::Result<()> {
    // only a mount's root: another path is EINVAL from the umount itself
    if root.is_backed() && mount_of(root).1 && root.fs_open_files() > 0 {
        return Err(linux_abi::Errno::EBUSY);
    }
    Ok(())
}

/// After umount(2) detached a disk file system: everything written and
/// flushed, the store closed, the disk free for the next mount.
pub fn unmounted(root: &Arc<Inode>) -> linux_abi::Result<()> {
    // a bind of a file or a subdirectory of a disk leaves the disk mounted
    if !root.is_backed() || !root.is_fs_root() {
        return Ok(());
    }
    let r = root.unmount_store();
    DISK_MOUNTED.store(false, core::sync::atomic::Ordering::SeqCst);
    r
}

/// The roots of the mounted disk file systems (cloned out of the mount
/// table, whose lock is never held across disk I/O).
fn backed_roots() -> Vec<Arc<Inode>> {
    MOUNTS.lock().iter().filter(|m| m.root.is_backed()).map(|m| m.root.clone()).collect()
}

/// sync(2) and the power-off path: every disk file system written back
/// and its device flushed. The first error, after trying all.
pub fn sync_all() -> linux_abi::Result<()> {
    let mut r = Ok(());
    for root in backed_roots() {
        if let Err(e) = root.sync_fs() {
            log::error!("sync: {e:?}");
            r = r.and(Err(e));
        }
    }
    r
}

static FLUSHER: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// The flusher: a kernel task that wakes every 5 s and syncs each disk
/// file system holding data dirty for more than [`DIRTY_EXPIRE_SECS`].
/// Started at the first disk mount; `ENOMEM` when no memory is left for
/// its stack (the mount fails, and a later one tries again).
fn start_flusher() -> linux_abi::Result<()> {
    use core::sync::atomic::Ordering;
    if FLUSHER.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    let task = crate::sched::try_spawn(u64::MAX >> 1, || {
        let q = crate::sched::WaitQueue::new();
        loop {
            let until = arch_x86_64::time::since_boot_ns().saturating_add(5_000_000_000);
            q.wait_until(|| false, Some(until));
            let now = (crate::time::realtime_ns() / 1_000_000_000) as i64;
            for root in backed_roots() {
                if let Err(e) = root.flush_if_older(now, DIRTY_EXPIRE_SECS) {
                    log::error!("flusher: {e:?}");
                }
            }
        }
    });
    if task.is_none() {
        FLUSHER.store(false, Ordering::SeqCst);
        log::info!("mount: no memory for the flusher's stack: ENOMEM");
        return Err(linux_abi::Errno::ENOMEM);
    }
    Ok(())
}

arch_x86_64::ktest!(
    fn fs_ext2_mounted_in_the_vfs_survives_umount_with_figures() {
        use alloc::vec;
        use linux_abi::Errno;
        use vfs::{File, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, Opened};
        assert!(crate::blk::present(), "no virtio-blk disk (xtask attaches target/blk/ktest.img)");
        type Outcome = Result<alloc::string::String, alloc::string::String>;
        let result: Arc<spin::Mutex<Option<Outcome>>> = Arc::new(spin::Mutex::new(None));
        let r = result.clone();
        // in a task, so the mount lock and the disk sleep as in a syscall
        crate::sched::spawn(903, move || {
            let run = || -> Result<alloc::string::String, alloc::string::String> {
                let e = |what: &str, e: Errno| alloc::format!("{what}: {e:?}");
                let top = new_fs();
                let cred = vfs::Cred::root();
                let ctx = vfs::Ctx::new(top.clone(), &cred);
                ctx.mknod(&top, b"/vda", vfs::S_IFBLK | 0o600, vfs::makedev(254, 0))
                    .map_err(|x| e("mknod", x))?;
                ctx.mkdir(&top, b"/mnt", 0o755).map_err(|x| e("mkdir", x))?;
                let dev = ctx.lookup(&top, b"/vda", true).map_err(|x| e("lookup", x))?;
                let open = |path: &[u8], flags: u32| -> Result<Arc<dyn File>, alloc::string::String> {
                    match ctx.open(&top, path, flags, 0o644).map_err(|x| e("open", x))? {
                        Opened::File(f) => Ok(f),
                        _ => Err("not a file".into()),
                    }
                };
                let fsroot = mount_ext2(&dev, false).map_err(|x| e("mount", x))?;
                if mount_ext2(&dev, false).err() != Some(Errno::EBUSY) {
                    return Err("a second mount of the disk is not EBUSY".into());
                }
                ctx.mount(&top, b"/mnt", fsroot.clone()).map_err(|x| e("vfs mount", x))?;
                let mut buf = [0u8; 64];
                let n = open(b"/mnt/hello.txt", O_RDONLY)?.read(&mut buf).map_err(|x| e("read", x))?;
                if &buf[..n] != b"hello from the host through virtio-blk\n" {
                    return Err("hello.txt differs".into());
                }
                let sf0 = fsroot.statfs();
                // 2 MiB written and synced, read back
                let data: Vec<u8> = (0..2usize << 20).map(|i| (i % 251) as u8).collect();
                let t0 = arch_x86_64::time::since_boot_ns();
                let f = open(b"/mnt/vfs-big", O_CREAT | O_RDWR)?;
                let mut off = 0;
                while off < data.len() {
                    off += f
                        .write(&data[off..(off + (256 << 10)).min(data.len())])
                        .map_err(|x| e("write", x))?;
                }
                f.inode().ok_or("no inode")?.fsync().map_err(|x| e("fsync", x))?;
                let t_write = arch_x86_64::time::since_boot_ns() - t0;
                if fsroot.statfs().bfree >= sf0.bfree {
                    return Err("statfs: no blocks used".into());
                }
                if fsroot.fs_open_files() == 0 {
                    return Err("the open file is not counted".into());
                }
                drop(f);
                // 500 files created
                let t1 = arch_x86_64::time::since_boot_ns();
                ctx.mkdir(&top, b"/mnt/many", 0o755).map_err(|x| e("mkdir many", x))?;
                for i in 0..500 {
                    open(alloc::format!("/mnt/many/f{i}").as_bytes(), O_CREAT | O_WRONLY)?;
                }
                fsroot.sync_fs().map_err(|x| e("syncfs", x))?;
                let t_create = arch_x86_64::time::since_boot_ns() - t1;
                // umount: written back, closed; a new mount reads it all
                ctx.umount(&top, b"/mnt").map_err(|x| e("umount", x))?;
                unmounted(&fsroot).map_err(|x| e("unmounted", x))?;
                drop(fsroot);
                let fsroot = mount_ext2(&dev, false).map_err(|x| e("remount", x))?;
                ctx.mount(&top, b"/mnt", fsroot.clone()).map_err(|x| e("vfs remount", x))?;
                let t2 = arch_x86_64::time::since_boot_ns();
                let f = open(b"/mnt/vfs-big", O_RDONLY)?;
                let mut back = vec![0u8; 256 << 10];
                let mut off = 0;
                while off < data.len() {
                    let n = f.read(&mut back).map_err(|x| e("read back", x))?;
                    if n == 0 || back[..n] != data[off..off + n] {
                        return Err(alloc::format!("vfs-big differs at {off}"));
                    }
                    off += n;
                }
                let t_read = arch_x86_64::time::since_boot_ns() - t2;
                drop(f);
                if ctx.lookup(&top, b"/mnt/many", true).map_err(|x| e("many", x))?.dir_len() != Ok(500) {
                    return Err("many/ lost names".into());
                }
                for i in 0..500 {
                    ctx.unlink(&top, alloc::format!("/mnt/many/f{i}").as_bytes())
                        .map_err(|x| e("unlink", x))?;
                }
                ctx.rmdir(&top, b"/mnt/many").map_err(|x| e("rmdir", x))?;
                ctx.unlink(&top, b"/mnt/vfs-big").map_err(|x| e("unlink big", x))?;
                ctx.umount(&top, b"/mnt").map_err(|x| e("umount 2", x))?;
                unmounted(&fsroot).map_err(|x| e("unmounted 2", x))?;
                let mibs = |ns: u64| ((2u64 << 20) * 1_000_000_000 / ns.max(1)) >> 20;
                Ok(alloc::format!(
                    "2 MiB write+fsync {} ms ({} MiB/s), read back after remount {} ms ({} MiB/s), 500 creates+syncfs {} ms",
                    t_write / 1_000_000,
                    mibs(t_write),
                    t_read / 1_000_000,
                    mibs(t_read),
                    t_create / 1_000_000
                ))
            };
            let out = run();
            *r.lock() = Some(out);
        });
        crate::sched::idle_until(|| result.lock().is_some());
        crate::sched::yield_now();
        let out = result.lock().take().expect("no result");
        match out {
            Ok(figures) => log::info!("fs: ext2 through the vfs: {figures}"),
            Err(e) => panic!("ext2 through the vfs: {e}"),
        }
    }
);

//! The root filesystem: a ramfs filled from the initramfs, with /dev nodes;
//! the mount table (/proc/mounts, statfs(2)'s magic numbers).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use vfs::{Clock, Inode, Timespec};

/// `TMPFS_MAGIC`.
pub const TMPFS_MAGIC: u64 = 0x0102_1994;

/// One mounted filesystem.
struct Mount {
    source: Vec<u8>,
    target: Vec<u8>,
    fstype: Vec<u8>,
    options: String,
    root: Arc<Inode>,
    /// The directory the mount hides (`None` for the root filesystem).
    covered: Option<Arc<Inode>>,
    /// The mount id (statx's `stx_mnt_id`), unique while mounted.
    id: u64,
}

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

/// Every mount, the root first (Linux's mount namespace, one for all).
static MOUNTS: crate::lockorder::Ranked<Vec<Mount>> =
    crate::lockorder::Ranked::new(crate::lockorder::LockClass::Mounts, "fs::MOUNTS", Vec::new());

/// Records a mount of `root` on `target` (an absolute path), hiding the
/// directory `covered`.
pub fn record_mount(
    source: &[u8],
    target: &[u8],
    fstype: &[u8],
    options: String,
    root: Arc<Inode>,
    covered: Option<Arc<Inode>>,
) {
    MOUNTS.lock().push(Mount {
        source: source.to_vec(),
        target: target.to_vec(),
        fstype: fstype.to_vec(),
        options,
        root,
        covered,
        id: next_mount_id(),
    });
}

/// Records a bind mount of the directory `root` on `target`: /proc/mounts
/// shows it with the source, type and options of the filesystem holding
/// `root`, as Linux.
pub fn record_bind(target: &[u8], root: Arc<Inode>, covered: Arc<Inode>) {
    let mut mounts = MOUNTS.lock();
    let (source, fstype, options) = mounts
        .iter()
        .rev()
        .find(|m| m.root.same_fs(&root))
        .map(|m| (m.source.clone(), m.fstype.clone(), m.options.clone()))
        .unwrap_or_else(|| (b"none".to_vec(), b"none".to_vec(), String::from("rw")));
    let id = next_mount_id();
    mounts.push(Mount { source, target: target.to_vec(), fstype, options, root, covered: Some(covered), id });
}

/// Forgets the mount of `root` on `covered` (umount(2)).
pub fn forget_mount(root: &Arc<Inode>, covered: &Arc<Inode>) {
    MOUNTS.lock().retain(|m| {
        !(Arc::ptr_eq(&m.root, root) && m.covered.as_ref().is_some_and(|c| Arc::ptr_eq(c, covered)))
    });
}

/// mount(2) with `MS_REMOUNT`: makes the filesystem whose root is `root`
/// read-only or read-write and shows it in /proc/mounts (`EINVAL` when
/// `root` is not a mount's root, `EBUSY` going read-only while a file of it
/// is open for writing).
///
/// Read-only is a state of the filesystem here, so every mount of it
/// changes; `bind` (MS_REMOUNT|MS_BIND, which is per mount in Linux) is
/// refused with `EINVAL` when the filesystem is mounted more than once.
pub fn remount(root: &Arc<Inode>, ro: bool, bind: bool) -> linux_abi::Result<()> {
    let mut mounts = MOUNTS.lock();
    if !mounts.iter().any(|m| Arc::ptr_eq(&m.root, root)) {
        return Err(linux_abi::Errno::EINVAL);
    }
    if bind && mounts.iter().filter(|m| m.root.same_fs(root)).count() > 1 {
        log::info!(
            "mount MS_REMOUNT|MS_BIND of a filesystem mounted twice (per-mount flags) unsupported: EINVAL"
        );
        return Err(linux_abi::Errno::EINVAL);
    }
    root.set_fs_read_only(ro)?;
    for m in mounts.iter_mut().filter(|m| m.root.same_fs(root)) {
        let rest = m.options.split_once(',').map_or("", |(_, r)| r);
        let mut o = String::from(if ro { "ro" } else { "rw" });
        if !rest.is_empty() {
            o.push(',');
            o.push_str(rest);
        }
        m.options = o;
    }
    Ok(())
}

/// The root of the root filesystem.
pub fn root() -> Option<Arc<Inode>> {
    MOUNTS.lock().first().map(|m| m.root.clone())
}

/// /proc/mounts: `source target type options 0 0` per mount.
pub fn mounts_text() -> Vec<u8> {
    let mut out = Vec::new();
    for m in MOUNTS.lock().iter() {
        for (i, part) in [&m.source[..], &m.target, &m.fstype, m.options.as_bytes()].iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            // spaces and the like are escaped in octal, as Linux does
            for &b in part.iter() {
                if matches!(b, b' ' | b'\t' | b'\n' | b'\\') {
                    out.extend_from_slice(alloc::format!("\\{b:03o}").as_bytes());
                } else {
                    out.push(b);
                }
            }
        }
        out.extend_from_slice(b" 0 0\n");
    }
    out
}

/// The statfs(2) magic number of the filesystem holding `inode`.
pub fn fs_magic(inode: &Inode) -> u64 {
    let m = MOUNTS.lock();
    match m.iter().find(|m| m.root.same_fs(inode)).map(|m| m.fstype.as_slice()) {
        Some(b"proc") => crate::procfs::PROC_MAGIC,
        Some(b"tmpfs" | b"devtmpfs" | b"rootfs") => TMPFS_MAGIC,
        Some(b"sysfs") => 0x6265_6572,
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
    Ok(vfs::new_tmpfs(
        vfs::makedev(0, minor),
        Arc::new(KernelClock),
        (pages > 0).then_some(pages),
        (inodes > 0).then_some(inodes),
        Arc::new(crate::filemap::FramePages),
    ))
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
    (b"ttyS0", 4, 64, 0o660),
    (b"null", 1, 3, 0o666),
    (b"zero", 1, 5, 0o666),
    (b"full", 1, 7, 0o666),
    (b"random", 1, 8, 0o666),
    (b"urandom", 1, 9, 0o666),
];

/// Creates the device nodes in `dir` (names that exist are left alone).
fn add_device_nodes(ctx: &vfs::Ctx, dir: &Arc<Inode>) {
    for &(name, major, minor, mode) in DEVICE_NODES {
        let _ = ctx.mknod(dir, name, vfs::S_IFCHR | mode, vfs::makedev(major, minor));
    }
    if crate::blk::present() {
        // brw-rw---- root:disk as udev leaves it; no udev here: root's group
        let _ = ctx.mknod(dir, b"vda", vfs::S_IFBLK | 0o660, vfs::makedev(crate::blk::VIRTBLK_MAJOR, 0));
    }
}

/// A new devtmpfs: a filesystem holding every device node.
pub fn new_devtmpfs() -> Arc<Inode> {
    let root = new_fs();
    let cred = vfs::Cred::root();
    add_device_nodes(&vfs::Ctx::new(root.clone(), &cred), &root);
    root
}

/// The root: the initramfs unpacked (gzip or plain cpio), plus the device
/// nodes an initramfs usually lacks.
pub fn root_from_initramfs(image: Option<&[u8]>) -> Arc<Inode> {
    let root = new_fs();
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
    record_mount(b"rootfs", b"/", b"rootfs", String::from("rw"), root.clone(), None);
    // the root filesystem is mount 1, as Linux's rootfs
    if let Some(m) = MOUNTS.lock().first_mut() {
        m.id = 1;
    }
    root
}

//! The root filesystem: a ramfs filled from the initramfs, with /dev nodes.

use alloc::sync::Arc;
use vfs::{Clock, Inode, Timespec};

/// `CLOCK_REALTIME` for file timestamps: boot time plus the monotonic clock.
pub struct KernelClock;

impl Clock for KernelClock {
    fn now(&self) -> Timespec {
        let ns = crate::time::realtime_ns();
        Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
    }
}

static NEXT_DEV: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(1);

/// A new empty filesystem (a ramfs with its own device number).
pub fn new_fs() -> Arc<Inode> {
    let minor = NEXT_DEV.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    vfs::new_ramfs(vfs::makedev(0, minor), Arc::new(KernelClock), None)
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
    for (name, major, minor, mode) in [
        (&b"dev/console"[..], 5, 1, 0o600),
        (b"dev/tty", 5, 0, 0o666),
        (b"dev/ttyS0", 4, 64, 0o660),
        (b"dev/null", 1, 3, 0o666),
        (b"dev/zero", 1, 5, 0o666),
        (b"dev/full", 1, 7, 0o666),
        (b"dev/random", 1, 8, 0o666),
        (b"dev/urandom", 1, 9, 0o666),
    ] {
        let _ = ctx.mknod(&root, name, vfs::S_IFCHR | mode, vfs::makedev(major, minor));
    }
    root
}

//! Unit tests: one per errno rule, each naming the man page that states it.

extern crate std;

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI64, Ordering};

use linux_abi::Errno;

use crate::*;

/// A clock that ticks one second per reading.
struct Tick(AtomicI64);

impl Clock for Tick {
    fn now(&self) -> Timespec {
        Timespec::new(self.0.fetch_add(1, Ordering::Relaxed), 0)
    }
}

fn fs() -> Arc<Inode> {
    new_ramfs(makedev(0, 7), Arc::new(Tick(AtomicI64::new(1000))), None)
}

fn file(o: Result<Opened, Errno>) -> Arc<RamFile> {
    match o {
        Ok(Opened::File(f)) => f,
        other => panic!("not a file: {other:?}"),
    }
}

fn create(ctx: &Ctx, dir: &Arc<Inode>, path: &[u8], data: &[u8]) {
    let f = file(ctx.open(dir, path, O_CREAT | O_WRONLY | O_TRUNC, 0o644));
    assert_eq!(f.write(data), Ok(data.len()));
}

fn read_all(f: &dyn File) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 777];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn err<T: core::fmt::Debug>(r: Result<T, Errno>) -> Errno {
    r.unwrap_err()
}

/// A tree: /d (dir), /d/f (file "data"), /f (file "hello"), /l -> f,
/// /dl -> d, /dangling -> nowhere.
fn tree() -> (Arc<Inode>, Cred) {
    let root = fs();
    let cred = Cred::root();
    {
        let ctx = Ctx::new(root.clone(), &cred);
        ctx.mkdir(&root, b"/d", 0o755).unwrap();
        create(&ctx, &root, b"/d/f", b"data");
        create(&ctx, &root, b"/f", b"hello");
        ctx.symlink(b"f", &root, b"/l").unwrap();
        ctx.symlink(b"/d", &root, b"/dl").unwrap();
        ctx.symlink(b"nowhere", &root, b"/dangling").unwrap();
    }
    (root, cred)
}

// ---------------------------------------------------------------- open(2)

#[test]
fn open2_enoent_missing_file_without_o_creat() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.open(&root, b"/nope", O_RDONLY, 0)), Errno::ENOENT);
    assert_eq!(err(ctx.open(&root, b"", O_RDONLY, 0)), Errno::ENOENT);
}

#[test]
fn open2_enoent_o_creat_with_missing_directory() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.open(&root, b"/nodir/x", O_CREAT | O_RDWR, 0o644)), Errno::ENOENT);
}

#[test]
fn open2_enotdir_component_is_not_a_directory() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.open(&root, b"/f/x", O_RDONLY, 0)), Errno::ENOTDIR);
    assert_eq!(err(ctx.open(&root, b"/l/x", O_RDONLY, 0)), Errno::ENOTDIR);
    // A relative path from a handle that is not a directory.
    let f = ctx.lookup(&root, b"/f", true).unwrap();
    assert_eq!(err(ctx.open(&f, b"x", O_RDONLY, 0)), Errno::ENOTDIR);
}

#[test]
fn open2_enotdir_trailing_slash_on_non_directory() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.open(&root, b"/f/", O_RDONLY, 0)), Errno::ENOTDIR);
    assert_eq!(err(ctx.open(&root, b"/l/", O_RDONLY, 0)), Errno::ENOTDIR);
    // Through a symlink to a directory, a trailing slash works.
    assert!(file(ctx.open(&root, b"/dl/", O_RDONLY, 0)).inode().unwrap().is_dir());
}

#[test]
fn open2_enotdir_o_directory_on_non_directory() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.open(&root, b"/f", O_RDONLY | O_DIRECTORY, 0)), Errno::ENOTDIR);
    assert!(ctx.open(&root, b"/dl", O_RDONLY | O_DIRECTORY, 0).is_ok());
}

#[test]
fn open2_eexist_o_creat_o_excl() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.open(&root, b"/f", O_CREAT | O_EXCL | O_RDWR, 0o644)), Errno::EEXIST);
    // O_EXCL does not follow a final symlink, even a dangling one.
    assert_eq!(err(ctx.open(&root, b"/dangling", O_CREAT | O_EXCL | O_RDWR, 0o644)), Errno::EEXIST);
    assert_eq!(err(ctx.open(&root, b"/d", O_CREAT | O_EXCL | O_RDWR, 0o644)), Errno::EEXIST);
}

#[test]
fn open2_o_creat_follows_a_dangling_symlink() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    file(ctx.open(&root, b"/dangling", O_CREAT | O_WRONLY, 0o600));
    assert_eq!(ctx.stat(&root, b"/nowhere", 0).unwrap().mode, S_IFREG | 0o600);
}

#[test]
fn open2_eisdir_directory_for_writing_or_o_creat() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.open(&root, b"/d", O_WRONLY, 0)), Errno::EISDIR);
    assert_eq!(err(ctx.open(&root, b"/d", O_RDWR, 0)), Errno::EISDIR);
    assert_eq!(err(ctx.open(&root, b"/d", O_RDONLY | O_TRUNC, 0)), Errno::EISDIR);
    assert_eq!(err(ctx.open(&root, b"/d", O_CREAT | O_RDONLY, 0o644)), Errno::EISDIR);
    assert_eq!(err(ctx.open(&root, b"/", O_CREAT | O_RDONLY, 0o644)), Errno::EISDIR);
    assert_eq!(err(ctx.open(&root, b"/new/", O_CREAT | O_RDWR, 0o644)), Errno::EISDIR);
    assert!(ctx.open(&root, b"/d", O_RDONLY, 0).is_ok());
}

#[test]
fn open2_einval_o_creat_with_o_directory() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.open(&root, b"/x", O_CREAT | O_DIRECTORY | O_RDONLY, 0)), Errno::EINVAL);
}

#[test]
fn open2_eloop_o_nofollow_on_a_symlink() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.open(&root, b"/l", O_RDONLY | O_NOFOLLOW, 0)), Errno::ELOOP);
    // Only the last component: symlinks in the middle are followed.
    assert!(ctx.open(&root, b"/dl/f", O_RDONLY | O_NOFOLLOW, 0).is_ok());
}

#[test]
fn path_resolution7_eloop_after_40_symlinks() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    create(&ctx, &root, b"/target", b"x");
    // s0 -> target, s1 -> s0, ... : s39 needs 40 links, s40 needs 41.
    ctx.symlink(b"target", &root, b"/s0").unwrap();
    for i in 1..=40 {
        let name = std::format!("/s{i}");
        let to = std::format!("s{}", i - 1);
        ctx.symlink(to.as_bytes(), &root, name.as_bytes()).unwrap();
    }
    assert!(ctx.open(&root, b"/s39", O_RDONLY, 0).is_ok());
    assert_eq!(err(ctx.open(&root, b"/s40", O_RDONLY, 0)), Errno::ELOOP);
    assert_eq!(err(ctx.lookup(&root, b"/s40", true)), Errno::ELOOP);
    // A loop.
    ctx.symlink(b"b", &root, b"/a").unwrap();
    ctx.symlink(b"a", &root, b"/b").unwrap();
    assert_eq!(err(ctx.stat(&root, b"/a", 0)), Errno::ELOOP);
    assert_eq!(ctx.stat(&root, b"/a", AT_SYMLINK_NOFOLLOW).unwrap().mode & S_IFMT, S_IFLNK);
}

#[test]
fn path_resolution7_enametoolong() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let long = vec![b'a'; 256];
    assert_eq!(err(ctx.open(&root, &long, O_CREAT | O_RDWR, 0o644)), Errno::ENAMETOOLONG);
    let ok = vec![b'a'; 255];
    assert!(ctx.open(&root, &ok, O_CREAT | O_RDWR, 0o644).is_ok());
    let mut path = Vec::new();
    while path.len() < 4096 {
        path.extend_from_slice(b"./");
    }
    assert_eq!(err(ctx.lookup(&root, &path[..4096], true)), Errno::ENAMETOOLONG);
    assert!(ctx.lookup(&root, &path[..4094], true).is_ok());
    assert_eq!(err(ctx.mkdir(&root, &long, 0o755)), Errno::ENAMETOOLONG);
}

#[test]
fn path_resolution7_dot_dot_stops_at_root_and_symlinks_resolve_from_their_directory() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(
        ctx.lookup(&root, b"/../../d/./../f", true).unwrap().ino(),
        ctx.lookup(&root, b"/f", true).unwrap().ino()
    );
    // A context rooted at /d: ".." does not leave it, absolute links start there.
    let d = ctx.lookup(&root, b"/d", true).unwrap();
    let jail = Ctx::new(d.clone(), &cred);
    assert_eq!(jail.lookup(&d, b"../../f", true).unwrap().ino(), jail.lookup(&d, b"f", true).unwrap().ino());
    jail.symlink(b"/f", &d, b"abs").unwrap();
    assert_eq!(jail.lookup(&d, b"abs", true).unwrap().size(), 4); // /d/f, "data"
    jail.symlink(b"../f", &d, b"rel").unwrap();
    assert_eq!(ctx.lookup(&root, b"/d/rel", true).unwrap().size(), 5); // /f, "hello"
    assert_eq!(err(ctx.lookup(&root, b"/dangling", true)), Errno::ENOENT);
    assert!(ctx.lookup(&root, b"//d///f", true).is_ok());
}

#[test]
fn open2_eacces_by_mode_bits_for_a_user_and_root_bypasses() {
    let (root, rootc) = tree();
    let rctx = Ctx::new(root.clone(), &rootc);
    create(&rctx, &root, b"/secret", b"s");
    rctx.chmod(&root, b"/secret", 0o600, 0).unwrap();
    rctx.chown(&root, b"/secret", Some(1000), Some(1000), 0).unwrap();
    let alice = Cred::user(1000, 1000);
    let bob = Cred::user(1001, 1001);
    let a = Ctx::new(root.clone(), &alice);
    let b = Ctx::new(root.clone(), &bob);
    assert!(a.open(&root, b"/secret", O_RDWR, 0).is_ok());
    assert_eq!(err(b.open(&root, b"/secret", O_RDONLY, 0)), Errno::EACCES);
    assert_eq!(err(b.open(&root, b"/secret", O_WRONLY, 0)), Errno::EACCES);
    assert!(rctx.open(&root, b"/secret", O_RDWR, 0).is_ok());
    // Group bits.
    rctx.chmod(&root, b"/secret", 0o640, 0).unwrap();
    let mut carol = Cred::user(1002, 5);
    carol.groups.push(1000);
    let c = Ctx::new(root.clone(), &carol);
    assert!(c.open(&root, b"/secret", O_RDONLY, 0).is_ok());
    assert_eq!(err(c.open(&root, b"/secret", O_WRONLY, 0)), Errno::EACCES);
    // O_TRUNC needs write permission.
    assert_eq!(err(c.open(&root, b"/secret", O_RDONLY | O_TRUNC, 0)), Errno::EACCES);
    // Search permission on a directory.
    rctx.chmod(&root, b"/d", 0o700, 0).unwrap();
    assert_eq!(err(b.open(&root, b"/d/f", O_RDONLY, 0)), Errno::EACCES);
    assert!(rctx.open(&root, b"/d/f", O_RDONLY, 0).is_ok());
    // Creating needs write permission on the directory.
    assert_eq!(err(b.open(&root, b"/new", O_CREAT | O_RDWR, 0o644)), Errno::EACCES);
    assert_eq!(err(b.mkdir(&root, b"/newdir", 0o755)), Errno::EACCES);
    // Root executes only files with some execute bit.
    assert_eq!(err(rctx.access(&root, b"/f", X_OK, 0)), Errno::EACCES);
    rctx.chmod(&root, b"/f", 0o001, 0).unwrap();
    assert!(rctx.access(&root, b"/f", X_OK | R_OK | W_OK, 0).is_ok());
}

#[test]
fn open2_new_file_mode_is_masked_and_owned_by_the_caller() {
    let (root, rootc) = tree();
    let rctx = Ctx::new(root.clone(), &rootc);
    rctx.chmod(&root, b"/", 0o777, 0).unwrap();
    let alice = Cred::user(1000, 100);
    let a = Ctx::new(root.clone(), &alice).with_umask(0o027);
    // The new file opens for writing even though its mode forbids it.
    let f = file(a.open(&root, b"/mine", O_CREAT | O_RDWR, 0o444));
    assert_eq!(f.write(b"ok"), Ok(2));
    let st = a.stat(&root, b"/mine", 0).unwrap();
    assert_eq!((st.mode, st.uid, st.gid), (S_IFREG | 0o440, 1000, 100));
    // A setgid directory gives its group, and its setgid bit to subdirectories.
    rctx.mkdir(&root, b"/shared", 0o777).unwrap();
    rctx.chown(&root, b"/shared", None, Some(50), 0).unwrap();
    rctx.chmod(&root, b"/shared", 0o2777, 0).unwrap();
    a.mkdir(&root, b"/shared/sub", 0o777).unwrap();
    let st = a.stat(&root, b"/shared/sub", 0).unwrap();
    assert_eq!((st.mode, st.gid), (S_IFDIR | S_ISGID | 0o750, 50));
}

#[test]
fn open2_o_trunc_and_o_append() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = file(ctx.open(&root, b"/f", O_WRONLY | O_APPEND, 0));
    assert_eq!(f.write(b" world"), Ok(6));
    assert_eq!(f.lseek(0, SEEK_SET), Ok(0));
    assert_eq!(f.write(b"!"), Ok(1));
    assert_eq!(f.offset(), 12);
    let r = file(ctx.open(&root, b"/f", O_RDONLY, 0));
    assert_eq!(read_all(&*r), b"hello world!");
    file(ctx.open(&root, b"/f", O_WRONLY | O_TRUNC, 0));
    assert_eq!(ctx.stat(&root, b"/f", 0).unwrap().size, 0);
}

#[test]
fn unread_gives_the_bytes_back() {
    // read(2) whose copy to user memory faulted: the offset goes back
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let r = file(ctx.open(&root, b"/f", O_RDONLY, 0));
    let mut buf = [0u8; 3];
    assert_eq!(r.read(&mut buf), Ok(3));
    r.unread(&buf);
    assert_eq!(r.offset(), 0);
    assert_eq!(read_all(&*r), b"hello");
}

#[test]
fn read2_write2_ebadf_by_access_mode() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let r = file(ctx.open(&root, b"/f", O_RDONLY, 0));
    assert_eq!(r.write(b"x"), Err(Errno::EBADF));
    let w = file(ctx.open(&root, b"/f", O_WRONLY, 0));
    assert_eq!(w.read(&mut [0; 4]), Err(Errno::EBADF));
    let d = file(ctx.open(&root, b"/d", O_RDONLY, 0));
    assert_eq!(d.read(&mut [0; 4]), Err(Errno::EISDIR));
    assert_eq!(w.getdents64(&mut [0; 64]), Err(Errno::ENOTDIR));
    assert_eq!(r.ioctl(0x5401, 0), Err(Errno::ENOTTY));
    assert_eq!(w.status_flags() & O_ACCMODE, O_WRONLY);
    w.set_status_flags(O_APPEND | O_RDWR);
    assert_eq!(w.status_flags(), O_WRONLY | O_APPEND | O_LARGEFILE);
}

#[test]
fn open2_device_and_fifo_nodes_are_handed_to_the_kernel() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mknod(&root, b"/null", S_IFCHR | 0o666, makedev(1, 3)).unwrap();
    ctx.mknod(&root, b"/fifo", S_IFIFO | 0o644, 0).unwrap();
    match ctx.open(&root, b"/null", O_RDWR, 0).unwrap() {
        Opened::Device { major, minor, inode, .. } => {
            assert_eq!((major, minor), (1, 3));
            assert_eq!(inode.stat().rdev, makedev(1, 3));
            assert_eq!(inode.stat().rdev, (1 << 8) | 3);
        }
        o => panic!("{o:?}"),
    }
    assert!(matches!(ctx.open(&root, b"/fifo", O_RDONLY, 0).unwrap(), Opened::Fifo { .. }));
    // mknod(2): EPERM for a directory type or, without CAP_MKNOD, a device.
    assert_eq!(err(ctx.mknod(&root, b"/x", S_IFDIR | 0o755, 0)), Errno::EPERM);
    assert_eq!(err(ctx.mknod(&root, b"/null", S_IFCHR | 0o666, 0)), Errno::EEXIST);
    ctx.chmod(&root, b"/", 0o777, 0).unwrap();
    let user = Cred::user(5, 5);
    let u = Ctx::new(root.clone(), &user);
    assert_eq!(err(u.mknod(&root, b"/tty", S_IFCHR | 0o666, makedev(5, 0))), Errno::EPERM);
    assert!(u.mknod(&root, b"/myfifo", S_IFIFO | 0o600, 0).is_ok());
}

// --------------------------------------------------------------- mkdir(2)

#[test]
fn mkdir2_eexist() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.mkdir(&root, b"/d", 0o755)), Errno::EEXIST);
    assert_eq!(err(ctx.mkdir(&root, b"/f", 0o755)), Errno::EEXIST);
    assert_eq!(err(ctx.mkdir(&root, b"/dangling", 0o755)), Errno::EEXIST);
    assert_eq!(err(ctx.mkdir(&root, b"/", 0o755)), Errno::EEXIST);
    assert_eq!(err(ctx.mkdir(&root, b"/d/.", 0o755)), Errno::EEXIST);
    assert_eq!(err(ctx.mkdir(&root, b"/d/..", 0o755)), Errno::EEXIST);
}

#[test]
fn mkdir2_enoent_and_enotdir() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.mkdir(&root, b"/a/b", 0o755)), Errno::ENOENT);
    assert_eq!(err(ctx.mkdir(&root, b"/f/b", 0o755)), Errno::ENOTDIR);
    assert!(ctx.mkdir(&root, b"/new/", 0o755).is_ok());
    // In a removed directory (a cwd that was rmdir'ed).
    let gone = ctx.mkdir(&root, b"/gone", 0o755).unwrap();
    ctx.rmdir(&root, b"/gone").unwrap();
    assert_eq!(err(ctx.mkdir(&gone, b"x", 0o755)), Errno::ENOENT);
    assert_eq!(err(ctx.open(&gone, b"x", O_CREAT | O_RDWR, 0o644)), Errno::ENOENT);
    assert_eq!(err(ctx.getcwd(&gone)), Errno::ENOENT);
}

#[test]
fn mkdir2_link_counts_and_modes() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred).with_umask(0o022);
    let before = root.stat().nlink;
    ctx.mkdir(&root, b"/m", 0o1777).unwrap();
    assert_eq!(root.stat().nlink, before + 1);
    let st = ctx.stat(&root, b"/m", 0).unwrap();
    assert_eq!((st.mode, st.nlink), (S_IFDIR | S_ISVTX | 0o755, 2));
    ctx.rmdir(&root, b"/m").unwrap();
    assert_eq!(root.stat().nlink, before);
}

// -------------------------------------------------------------- unlink(2)

#[test]
fn unlink2_errors() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.unlink(&root, b"/d")), Errno::EISDIR);
    assert_eq!(err(ctx.unlink(&root, b"/d/")), Errno::EISDIR);
    assert_eq!(err(ctx.unlink(&root, b"/nope")), Errno::ENOENT);
    assert_eq!(err(ctx.unlink(&root, b"/f/")), Errno::ENOTDIR);
    assert_eq!(err(ctx.unlink(&root, b"/f/x")), Errno::ENOTDIR);
    assert_eq!(err(ctx.unlink(&root, b"/")), Errno::EISDIR);
    assert_eq!(err(ctx.unlinkat(&root, b"/f", 0x1)), Errno::EINVAL);
    // unlink removes the symlink, not its target.
    ctx.unlink(&root, b"/l").unwrap();
    assert!(ctx.lookup(&root, b"/f", true).is_ok());
}

#[test]
fn unlink2_open_file_survives() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = file(ctx.open(&root, b"/f", O_RDWR, 0));
    ctx.unlink(&root, b"/f").unwrap();
    assert_eq!(f.stat().unwrap().nlink, 0);
    assert_eq!(read_all(&*f), b"hello");
    assert_eq!(err(ctx.lookup(&root, b"/f", true)), Errno::ENOENT);
}

#[test]
fn unlink2_eperm_sticky_directory_and_eacces() {
    let (root, rootc) = tree();
    let rctx = Ctx::new(root.clone(), &rootc);
    rctx.mkdir(&root, b"/tmp", 0o1777).unwrap();
    let alice = Cred::user(1000, 1000);
    let bob = Cred::user(1001, 1001);
    let a = Ctx::new(root.clone(), &alice);
    let b = Ctx::new(root.clone(), &bob);
    create(&a, &root, b"/tmp/a", b"");
    assert_eq!(err(b.unlink(&root, b"/tmp/a")), Errno::EPERM);
    assert_eq!(err(b.rename(&root, b"/tmp/a", &root, b"/tmp/b", 0)), Errno::EPERM);
    a.unlink(&root, b"/tmp/a").unwrap();
    // No write permission on the directory.
    assert_eq!(err(b.unlink(&root, b"/f")), Errno::EACCES);
    assert_eq!(err(b.rmdir(&root, b"/d")), Errno::EACCES);
}

// --------------------------------------------------------------- rmdir(2)

#[test]
fn rmdir2_errors() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.rmdir(&root, b"/d")), Errno::ENOTEMPTY);
    assert_eq!(err(ctx.rmdir(&root, b"/d/.")), Errno::EINVAL);
    assert_eq!(err(ctx.rmdir(&root, b"/d/..")), Errno::ENOTEMPTY);
    assert_eq!(err(ctx.rmdir(&root, b"/")), Errno::EBUSY);
    assert_eq!(err(ctx.rmdir(&root, b"/f")), Errno::ENOTDIR);
    assert_eq!(err(ctx.rmdir(&root, b"/dl")), Errno::ENOTDIR);
    assert_eq!(err(ctx.rmdir(&root, b"/nope")), Errno::ENOENT);
    ctx.unlink(&root, b"/d/f").unwrap();
    ctx.rmdir(&root, b"/d/").unwrap();
    assert_eq!(err(ctx.lookup(&root, b"/d", true)), Errno::ENOENT);
}

// -------------------------------------------------------------- rename(2)

#[test]
fn rename2_moves_and_replaces() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let victim = ctx.lookup(&root, b"/d/f", true).unwrap();
    ctx.rename(&root, b"/f", &root, b"/d/f", 0).unwrap();
    assert_eq!(victim.stat().nlink, 0);
    assert_eq!(read_all(&*file(ctx.open(&root, b"/d/f", O_RDONLY, 0))), b"hello");
    assert_eq!(err(ctx.lookup(&root, b"/f", true)), Errno::ENOENT);
    // A directory moves with its ".." and the link counts.
    ctx.mkdir(&root, b"/e", 0o755).unwrap();
    let root_links = root.stat().nlink;
    ctx.rename(&root, b"/d", &root, b"/e/d2", 0).unwrap();
    assert_eq!(root.stat().nlink, root_links - 1);
    assert_eq!(ctx.stat(&root, b"/e", 0).unwrap().nlink, 3);
    let e = ctx.lookup(&root, b"/e", true).unwrap();
    assert_eq!(ctx.lookup(&root, b"/e/d2/..", true).unwrap().ino(), e.ino());
    let d2 = ctx.lookup(&root, b"/e/d2", true).unwrap();
    assert_eq!(ctx.getcwd(&d2).unwrap(), b"/e/d2");
    // The same file under two names: nothing happens.
    ctx.link(&root, b"/e/d2/f", &root, b"/hard", 0).unwrap();
    ctx.rename(&root, b"/hard", &root, b"/e/d2/f", 0).unwrap();
    assert!(ctx.lookup(&root, b"/hard", true).is_ok());
    // Replacing an empty directory.
    ctx.mkdir(&root, b"/empty", 0o755).unwrap();
    ctx.rename(&root, b"/e", &root, b"/empty", 0).unwrap();
    assert!(ctx.lookup(&root, b"/empty/d2/f", true).is_ok());
}

#[test]
fn rename2_errors() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.rename(&root, b"/nope", &root, b"/x", 0)), Errno::ENOENT);
    assert_eq!(err(ctx.rename(&root, b"/f", &root, b"/nodir/x", 0)), Errno::ENOENT);
    assert_eq!(err(ctx.rename(&root, b"/f", &root, b"/d", 0)), Errno::EISDIR);
    assert_eq!(err(ctx.rename(&root, b"/d", &root, b"/f", 0)), Errno::ENOTDIR);
    assert_eq!(err(ctx.rename(&root, b"/d", &root, b"/d/sub", 0)), Errno::EINVAL);
    assert_eq!(ctx.rename(&root, b"/d", &root, b"/d", 0), Ok(()));
    ctx.mkdir(&root, b"/e", 0o755).unwrap();
    assert_eq!(err(ctx.rename(&root, b"/e", &root, b"/d", 0)), Errno::ENOTEMPTY);
    assert_eq!(err(ctx.rename(&root, b"/d/f", &root, b"/d/..", 0)), Errno::EBUSY);
    assert_eq!(err(ctx.rename(&root, b"/d/.", &root, b"/z", 0)), Errno::EBUSY);
    assert_eq!(err(ctx.rename(&root, b"/f/", &root, b"/g", 0)), Errno::ENOTDIR);
    assert_eq!(err(ctx.rename(&root, b"/f", &root, b"/g/", 0)), Errno::ENOTDIR);
    assert!(ctx.rename(&root, b"/e/", &root, b"/e2/", 0).is_ok());
    // The target is an ancestor of the source: ENOTEMPTY, before the type rule.
    assert_eq!(err(ctx.rename(&root, b"/d/f", &root, b"/d", 0)), Errno::ENOTEMPTY);
    ctx.mkdir(&root, b"/d/sub", 0o755).unwrap();
    assert_eq!(err(ctx.rename(&root, b"/d/sub", &root, b"/d", 0)), Errno::ENOTEMPTY);
    assert_eq!(err(ctx.rename(&root, b"/f", &root, b"/g", 8)), Errno::EINVAL);
    assert_eq!(err(ctx.rename(&root, b"/f", &root, b"/g", RENAME_WHITEOUT)), Errno::EINVAL);
    assert_eq!(
        err(ctx.rename(&root, b"/f", &root, b"/g", RENAME_NOREPLACE | RENAME_EXCHANGE)),
        Errno::EINVAL
    );
}

#[test]
fn rename2_exdev_across_filesystems() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/mnt", 0o755).unwrap();
    let other = fs();
    ctx.mount(&root, b"/mnt", other.clone()).unwrap();
    assert_eq!(err(ctx.rename(&root, b"/f", &root, b"/mnt/f", 0)), Errno::EXDEV);
    assert_eq!(err(ctx.link(&root, b"/f", &root, b"/mnt/f", 0)), Errno::EXDEV);
    create(&ctx, &root, b"/mnt/inner", b"x");
    assert_eq!(err(ctx.rename(&root, b"/mnt/inner", &root, b"/inner", 0)), Errno::EXDEV);
    // Crossing the mount both ways.
    assert_eq!(ctx.lookup(&root, b"/mnt/..", true).unwrap().ino(), root.ino());
    assert_eq!(ctx.lookup(&other, b"../f", true).unwrap().size(), 5);
    assert_eq!(ctx.getcwd(&other).unwrap(), b"/mnt");
    assert_eq!(err(ctx.rmdir(&root, b"/mnt")), Errno::EBUSY);
    assert_eq!(ctx.stat(&root, b"/mnt/inner", 0).unwrap().dev, makedev(0, 7));
    ctx.umount(&root, b"/mnt").unwrap();
    assert_eq!(err(ctx.lookup(&root, b"/mnt/inner", true)), Errno::ENOENT);
    assert_eq!(err(ctx.umount(&root, b"/mnt")), Errno::EINVAL);
}

/// A context whose walks carry mounts: the root's own mount.
fn mounted_ctx<'a>(root: &Arc<Inode>, cred: &'a Cred) -> (Ctx<'a>, Arc<Mount>) {
    let m = Mount::new(root.clone());
    (Ctx::new(root.clone(), cred).with_root_mount(Some(m.clone())), m)
}

#[test]
fn per_mount_flags_follow_the_walk() {
    let (root, cred) = tree();
    let (ctx, root_mnt) = mounted_ctx(&root, &cred);
    ctx.mkdir(&root, b"/src", 0o755).unwrap();
    ctx.mkdir(&root, b"/ro", 0o755).unwrap();
    let src = ctx.lookup(&root, b"/src", true).unwrap();
    // /src bound on /ro, that bind read-only and noexec; the root's mount
    // has no flags
    ctx.bind_mount(&root, b"/ro", src.clone()).unwrap();
    let ro_dir = root.child(b"ro").unwrap().unwrap();
    let bind = ro_dir.mount_here(INITIAL_MNT_NS).unwrap();
    assert!(Arc::ptr_eq(bind.root(), &src));
    assert!(bind.up().is_some_and(|(m, d)| Arc::ptr_eq(&m, &root_mnt) && Arc::ptr_eq(&d, &ro_dir)));
    bind.set_flags(MNT_RDONLY | MNT_NOEXEC);
    assert_eq!(err(ctx.mkdir(&root, b"/ro/d", 0o755)), Errno::EROFS);
    assert_eq!(ctx.view_flags(), MNT_RDONLY | MNT_NOEXEC);
    assert!(ctx.walked_mount().is_some_and(|m| Arc::ptr_eq(&m, &bind)));
    // the same directory through the filesystem's own path is writable
    ctx.mkdir(&root, b"/src/d", 0o755).unwrap();
    assert_eq!(ctx.view_flags(), 0);
    create(&ctx, &root, b"/src/d/f", b"x");
    assert_eq!(err(ctx.unlink(&root, b"/ro/d/f")), Errno::EROFS);
    assert_eq!(err(ctx.chmod(&root, b"/ro/d/f", 0o600, 0)), Errno::EROFS);
    assert_eq!(err(ctx.utimens(&root, b"/ro/d/f", None, 0)), Errno::EROFS);
    ctx.chmod(&root, b"/src/d/f", 0o600, 0).unwrap();
    // `..` out of the bind goes to the directory it covers: the root
    ctx.mkdir(&root, b"/ro/../e", 0o755).unwrap();
    assert_eq!(ctx.lookup(&root, b"/ro/..", true).unwrap().ino(), root.ino());
    // a start directory carries its mount: inside the bind read-only,
    // the same directory without a mount (not tracked) writable
    let in_ro = Path::new(src.clone(), Some(bind.clone()));
    assert_eq!(err(ctx.mkdir(&in_ro, b"g", 0o755)), Errno::EROFS);
    assert_eq!(ctx.getcwd(&in_ro).unwrap(), b"/ro");
    assert_eq!(ctx.lookup(&in_ro, b"..", true).unwrap().ino(), root.ino());
    ctx.mkdir(&src, b"g", 0o755).unwrap();
    // exec's check on a noexec mount
    ctx.chmod(&root, b"/src/d/f", 0o755, 0).unwrap();
    assert_eq!(err(ctx.open_exec(&root, b"/ro/d/f")), Errno::EACCES);
    ctx.open_exec(&root, b"/src/d/f").unwrap();
    // a file opened through the bind remembers it
    let Opened::File(f) = ctx.open(&root, b"/ro/d/f", O_RDONLY, 0).unwrap() else { panic!() };
    assert!(File::mount(&*f).is_some_and(|m| Arc::ptr_eq(m, &bind)));
}

#[test]
fn getcwd_in_a_bind_of_the_root_names_its_mount_point() {
    let (root, cred) = tree();
    let (ctx, root_mnt) = mounted_ctx(&root, &cred);
    ctx.mkdir(&root, b"/mnt", 0o755).unwrap();
    ctx.mkdir(&root, b"/mnt/r", 0o755).unwrap();
    // `mount --rbind / /mnt/r; cd /mnt/r`: the root directory through the
    // bind is /mnt/r (realpath("."), which switch_root's `mount --move .
    // /` passes), through the root's own mount /
    ctx.bind_mount(&root, b"/mnt/r", root.clone()).unwrap();
    let r_dir = ctx.lookup(&root, b"/mnt", true).unwrap().child(b"r").unwrap().unwrap();
    let bind = r_dir.mount_here(INITIAL_MNT_NS).unwrap();
    assert!(Arc::ptr_eq(bind.root(), &root));
    assert_eq!(ctx.getcwd(&Path::new(root.clone(), Some(bind.clone()))).unwrap(), b"/mnt/r");
    assert_eq!(ctx.getcwd(&Path::new(root.clone(), Some(root_mnt.clone()))).unwrap(), b"/");
    ctx.mkdir(&root, b"/dd", 0o755).unwrap();
    let d = ctx.lookup(&root, b"/dd", true).unwrap();
    assert_eq!(ctx.getcwd(&Path::new(d, Some(bind.clone()))).unwrap(), b"/mnt/r/dd");
    // from a root inside the bind (chroot /mnt/r): the bind's root is /
    let inside = Ctx::new(root.clone(), &cred).with_root_mount(Some(bind.clone()));
    assert_eq!(inside.getcwd(&Path::new(root.clone(), Some(bind.clone()))).unwrap(), b"/");
    // a bind hung nowhere (a detached one) stops at the root as before
    let loose = Mount::new(root.clone());
    assert_eq!(ctx.getcwd(&Path::new(root.clone(), Some(loose))).unwrap(), b"/");
}

#[test]
fn a_directory_bound_twice_takes_the_flags_of_the_path() {
    let (root, cred) = tree();
    let (ctx, _) = mounted_ctx(&root, &cred);
    for d in [&b"/src"[..], b"/rb", b"/rc"] {
        ctx.mkdir(&root, d, 0o755).unwrap();
    }
    let src = ctx.lookup(&root, b"/src", true).unwrap();
    ctx.bind_mount(&root, b"/rb", src.clone()).unwrap();
    ctx.bind_mount(&root, b"/rc", src.clone()).unwrap();
    let rb = root.child(b"rb").unwrap().unwrap().mount_here(INITIAL_MNT_NS).unwrap();
    let rc = root.child(b"rc").unwrap().unwrap().mount_here(INITIAL_MNT_NS).unwrap();
    rb.set_flags(MNT_RDONLY);
    // /rb read-only, /rc read-write: each walk the flags of its own path
    assert_eq!(err(ctx.mkdir(&root, b"/rb/d", 0o755)), Errno::EROFS);
    assert_eq!(ctx.view_flags(), MNT_RDONLY);
    ctx.mkdir(&root, b"/rc/d", 0o755).unwrap();
    assert_eq!(ctx.view_flags(), 0);
    // from a working directory inside either
    let in_rb = Path::new(src.clone(), Some(rb.clone()));
    let in_rc = Path::new(src.clone(), Some(rc.clone()));
    assert_eq!(err(ctx.mkdir(&in_rb, b"e", 0o755)), Errno::EROFS);
    ctx.mkdir(&in_rc, b"e", 0o755).unwrap();
    assert_eq!(ctx.getcwd(&in_rb).unwrap(), b"/rb");
    assert_eq!(ctx.getcwd(&in_rc).unwrap(), b"/rc");
    // one filesystem, two mounts: a rename between them is EXDEV
    assert_eq!(err(ctx.rename(&root, b"/rc/e", &root, b"/rb/e2", 0)), Errno::EXDEV);
    assert_eq!(err(ctx.link(&in_rc, b"d", &root, b"/rb/d2", 0)), Errno::EXDEV);
    ctx.rename(&in_rc, b"e", &root, b"/rc/e2", 0).unwrap();
    // the root's own path to the directory is not a mount's root
    ctx.mkdir(&root, b"/src/f", 0o755).unwrap();
}

#[test]
fn mount_namespaces_keep_their_own_mounts() {
    let (root, cred) = tree();
    let init = Ctx::new(root.clone(), &cred);
    init.mkdir(&root, b"/mnt", 0o755).unwrap();
    init.mkdir(&root, b"/tmp", 0o755).unwrap();
    let tmp = fs();
    init.mount(&root, b"/tmp", tmp.clone()).unwrap();
    create(&init, &root, b"/tmp/t", b"x");
    // a copy of the initial namespace (what the kernel does at
    // unshare(CLONE_NEWNS)): the same mounts under the id 7
    let covered = init.lookup(&root, b"/", true).unwrap();
    let tmp_dir = covered.child(b"tmp").unwrap().unwrap();
    tmp_dir.mount_in_ns(7, &Mount::new(tmp.clone()), true).unwrap();
    let ns = Ctx::new(root.clone(), &cred).with_mnt_ns(7);
    assert_eq!(ns.stat(&root, b"/tmp/t", 0).unwrap().size, 1);
    assert_eq!(ns.getcwd(&tmp).unwrap(), b"/tmp");
    // a mount in the new namespace is not seen in the initial one
    let other = fs();
    ns.mount(&root, b"/mnt", other.clone()).unwrap();
    create(&ns, &root, b"/mnt/inner", b"ab");
    assert_eq!(ns.stat(&root, b"/mnt/inner", 0).unwrap().size, 2);
    assert_eq!(err(init.lookup(&root, b"/mnt/inner", true)), Errno::ENOENT);
    assert_eq!(ns.lookup(&root, b"/mnt/..", true).unwrap().ino(), root.ino());
    // busy in any namespace, as Linux's d_mountpoint
    assert_eq!(err(init.rmdir(&root, b"/mnt")), Errno::EBUSY);
    // an umount in one leaves the other's
    init.umount(&root, b"/tmp").unwrap();
    assert_eq!(err(init.lookup(&root, b"/tmp/t", true)), Errno::ENOENT);
    assert_eq!(ns.stat(&root, b"/tmp/t", 0).unwrap().size, 1);
    assert_eq!(err(init.umount(&root, b"/mnt")), Errno::EINVAL);
    ns.umount(&root, b"/mnt").unwrap();
    assert_eq!(err(ns.lookup(&root, b"/mnt/inner", true)), Errno::ENOENT);
    // the namespace's end
    tmp_dir.unmount_in_ns(7, &tmp);
    assert_eq!(err(ns.lookup(&root, b"/tmp/t", true)), Errno::ENOENT);
    init.rmdir(&root, b"/mnt").unwrap();
    init.rmdir(&root, b"/tmp").unwrap();
    // the root may be mounted again now that no namespace has it
    init.mkdir(&root, b"/again", 0o755).unwrap();
    init.mount(&root, b"/again", tmp).unwrap();
    assert_eq!(init.stat(&root, b"/again/t", 0).unwrap().size, 1);
}

#[test]
fn rename2_noreplace_and_exchange() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.rename(&root, b"/f", &root, b"/d/f", RENAME_NOREPLACE)), Errno::EEXIST);
    assert_eq!(err(ctx.rename(&root, b"/f", &root, b"/g", RENAME_EXCHANGE)), Errno::ENOENT);
    ctx.rename(&root, b"/f", &root, b"/g", RENAME_NOREPLACE).unwrap();
    // Exchange a file and a directory in different parents.
    ctx.rename(&root, b"/g", &root, b"/d", RENAME_EXCHANGE).unwrap();
    assert_eq!(ctx.lookup(&root, b"/d", true).unwrap().size(), 5);
    assert_eq!(ctx.lookup(&root, b"/g/f", true).unwrap().size(), 4);
    ctx.mkdir(&root, b"/x", 0o755).unwrap();
    let rl = root.stat().nlink;
    ctx.rename(&root, b"/d", &root, b"/g/f", RENAME_EXCHANGE).unwrap();
    assert_eq!(root.stat().nlink, rl);
    ctx.rename(&root, b"/g", &root, b"/x", RENAME_EXCHANGE).unwrap();
    assert_eq!(ctx.lookup(&root, b"/x/f", true).unwrap().size(), 5);
    assert_eq!(err(ctx.rename(&root, b"/x", &root, b"/x/f", RENAME_EXCHANGE)), Errno::EINVAL);
}

// ---------------------------------------------------- link(2), symlink(2)

#[test]
fn link2_errors_and_counts() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.link(&root, b"/d", &root, b"/d2", 0)), Errno::EPERM);
    assert_eq!(err(ctx.link(&root, b"/f", &root, b"/d/f", 0)), Errno::EEXIST);
    assert_eq!(err(ctx.link(&root, b"/nope", &root, b"/x", 0)), Errno::ENOENT);
    assert_eq!(err(ctx.link(&root, b"/f", &root, b"/x/", 0)), Errno::ENOENT);
    assert_eq!(err(ctx.link(&root, b"/f", &root, b"/x", 0x8)), Errno::EINVAL);
    ctx.link(&root, b"/f", &root, b"/f2", 0).unwrap();
    assert_eq!(ctx.stat(&root, b"/f", 0).unwrap().nlink, 2);
    // Without AT_SYMLINK_FOLLOW the link itself gets the new name.
    ctx.link(&root, b"/l", &root, b"/l2", 0).unwrap();
    assert_eq!(ctx.stat(&root, b"/l2", AT_SYMLINK_NOFOLLOW).unwrap().mode & S_IFMT, S_IFLNK);
    ctx.link(&root, b"/l", &root, b"/l3", AT_SYMLINK_FOLLOW).unwrap();
    assert_eq!(ctx.stat(&root, b"/f", 0).unwrap().nlink, 3);
}

#[test]
fn symlink2_and_readlink2() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.symlink(b"x", &root, b"/f")), Errno::EEXIST);
    assert_eq!(err(ctx.symlink(b"", &root, b"/e")), Errno::ENOENT);
    assert_eq!(err(ctx.symlink(b"x", &root, b"/nodir/e")), Errno::ENOENT);
    assert_eq!(err(ctx.symlink(b"x", &root, b"/new/")), Errno::ENOENT);
    assert_eq!(ctx.readlink(&root, b"/l").unwrap(), b"f");
    assert_eq!(err(ctx.readlink(&root, b"/f")), Errno::EINVAL);
    assert_eq!(err(ctx.readlink(&root, b"/nope")), Errno::ENOENT);
    assert_eq!(err(ctx.readlink(&root, b"")), Errno::ENOENT);
    let l = ctx.lookup(&root, b"/l", false).unwrap();
    assert_eq!(ctx.readlink(&l, b"").unwrap(), b"f");
    let st = ctx.stat(&root, b"/dangling", AT_SYMLINK_NOFOLLOW).unwrap();
    assert_eq!((st.mode, st.size), (S_IFLNK | 0o777, 7));
}

// ---------------------------------------------- chmod(2), chown(2), utimensat(2)

#[test]
fn chmod2_chown2_eperm() {
    let (root, rootc) = tree();
    let rctx = Ctx::new(root.clone(), &rootc);
    rctx.chown(&root, b"/f", Some(1000), Some(1000), 0).unwrap();
    let alice = Cred::new(1000, 1000, vec![20]);
    let bob = Cred::user(1001, 1001);
    let a = Ctx::new(root.clone(), &alice);
    let b = Ctx::new(root.clone(), &bob);
    assert_eq!(err(b.chmod(&root, b"/f", 0o777, 0)), Errno::EPERM);
    a.chmod(&root, b"/f", 0o4755, 0).unwrap();
    assert_eq!(err(a.chown(&root, b"/f", Some(0), None, 0)), Errno::EPERM);
    assert_eq!(err(a.chown(&root, b"/f", None, Some(30), 0)), Errno::EPERM);
    assert_eq!(err(b.chown(&root, b"/f", None, Some(1001), 0)), Errno::EPERM);
    a.chown(&root, b"/f", None, Some(20), 0).unwrap();
    let st = a.stat(&root, b"/f", 0).unwrap();
    // chown clears set-user-ID.
    assert_eq!((st.mode, st.gid), (S_IFREG | 0o755, 20));
    // chmod by a non-member drops set-group-ID.
    a.chown(&root, b"/f", None, Some(1000), 0).unwrap();
    rctx.chown(&root, b"/f", None, Some(99), 0).unwrap();
    a.chmod(&root, b"/f", 0o2755, 0).unwrap();
    assert_eq!(a.stat(&root, b"/f", 0).unwrap().mode, S_IFREG | 0o755);
    assert_eq!(err(rctx.chmod(&root, b"/l", 0o700, AT_SYMLINK_NOFOLLOW)), Errno::EOPNOTSUPP);
    // lchown changes the link itself.
    rctx.chown(&root, b"/l", Some(7), None, AT_SYMLINK_NOFOLLOW).unwrap();
    assert_eq!(rctx.stat(&root, b"/l", AT_SYMLINK_NOFOLLOW).unwrap().uid, 7);
}

#[test]
fn utimensat2_rules() {
    let (root, rootc) = tree();
    let rctx = Ctx::new(root.clone(), &rootc);
    let t = [Timespec::new(5, 6), Timespec::new(7, 8)];
    rctx.utimens(&root, b"/f", Some(t), 0).unwrap();
    let st = rctx.stat(&root, b"/f", 0).unwrap();
    assert_eq!((st.atime, st.mtime), (t[0], t[1]));
    rctx.utimens(&root, b"/f", Some([Timespec::new(0, UTIME_OMIT), Timespec::new(0, UTIME_NOW)]), 0).unwrap();
    let st2 = rctx.stat(&root, b"/f", 0).unwrap();
    assert_eq!(st2.atime, t[0]);
    assert!(st2.mtime.sec > 1000);
    assert_eq!(err(rctx.utimens(&root, b"/f", Some([Timespec::new(0, -1), t[1]]), 0)), Errno::EINVAL);
    let bob = Cred::user(1001, 1001);
    let b = Ctx::new(root.clone(), &bob);
    assert_eq!(err(b.utimens(&root, b"/f", Some(t), 0)), Errno::EPERM);
    assert_eq!(err(b.utimens(&root, b"/f", None, 0)), Errno::EACCES);
    rctx.chmod(&root, b"/f", 0o666, 0).unwrap();
    assert!(b.utimens(&root, b"/f", None, 0).is_ok());
}

// ----------------------------------------------- lseek(2), truncate(2), stat(2)

#[test]
fn lseek2_whences_and_einval() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = file(ctx.open(&root, b"/f", O_RDWR, 0));
    assert_eq!(f.lseek(-1, SEEK_SET), Err(Errno::EINVAL));
    assert_eq!(f.lseek(2, SEEK_SET), Ok(2));
    assert_eq!(f.lseek(1, SEEK_CUR), Ok(3));
    assert_eq!(f.lseek(-4, SEEK_CUR), Err(Errno::EINVAL));
    assert_eq!(f.lseek(-1, SEEK_END), Ok(4));
    assert_eq!(f.lseek(i64::MAX, SEEK_END), Err(Errno::EINVAL));
    assert_eq!(f.lseek(0, 99), Err(Errno::EINVAL));
    // Writing past the end leaves a hole.
    assert_eq!(f.lseek(3 * PAGE_SIZE as i64, SEEK_SET), Ok(3 * PAGE_SIZE as u64));
    assert_eq!(f.write(b"z"), Ok(1));
    assert_eq!(f.lseek(0, SEEK_DATA), Ok(0));
    assert_eq!(f.lseek(0, SEEK_HOLE), Ok(PAGE_SIZE as u64));
    assert_eq!(f.lseek(PAGE_SIZE as i64 + 1, SEEK_DATA), Ok(3 * PAGE_SIZE as u64));
    assert_eq!(f.lseek(3 * PAGE_SIZE as i64, SEEK_HOLE), Ok(3 * PAGE_SIZE as u64 + 1));
    assert_eq!(f.lseek(3 * PAGE_SIZE as i64 + 1, SEEK_DATA), Err(Errno::ENXIO));
    let st = f.stat().unwrap();
    assert_eq!((st.size, st.blocks), (3 * PAGE_SIZE as i64 + 1, 16));
    // read(2)/pwrite(2): EINVAL when offset + count overflows loff_t.
    assert_eq!(f.pwrite(b"x", i64::MAX as u64), Err(Errno::EINVAL));
    assert_eq!(f.pread(&mut [0; 1], u64::MAX), Err(Errno::EINVAL));
    let mut buf = [1u8; 8];
    assert_eq!(f.pread(&mut buf, PAGE_SIZE as u64), Ok(8));
    assert_eq!(buf, [0; 8]);
    // Directories seek with SEEK_SET and SEEK_CUR only.
    let d = file(ctx.open(&root, b"/d", O_RDONLY, 0));
    assert_eq!(d.lseek(0, SEEK_END), Err(Errno::EINVAL));
    assert_eq!(d.lseek(0, SEEK_SET), Ok(0));
}

#[test]
fn truncate2_rules() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.truncate(&root, b"/f", -1)), Errno::EINVAL);
    assert_eq!(err(ctx.truncate(&root, b"/d", 0)), Errno::EISDIR);
    assert_eq!(err(ctx.truncate(&root, b"/nope", 0)), Errno::ENOENT);
    ctx.truncate(&root, b"/l", 2).unwrap();
    let f = file(ctx.open(&root, b"/f", O_RDWR, 0));
    assert_eq!(read_all(&*f), b"he");
    ctx.truncate(&root, b"/f", 5).unwrap();
    f.lseek(0, SEEK_SET).unwrap();
    assert_eq!(read_all(&*f), b"he\0\0\0");
    let bob = Cred::user(1001, 1001);
    assert_eq!(err(Ctx::new(root.clone(), &bob).truncate(&root, b"/f", 0)), Errno::EACCES);
    // ftruncate(2): EINVAL when not open for writing.
    let r = file(ctx.open(&root, b"/f", O_RDONLY, 0));
    assert_eq!(r.truncate(0), Err(Errno::EINVAL));
    assert_eq!(f.truncate(MAX_FILE_SIZE + 1), Err(Errno::EFBIG));
    f.truncate(1).unwrap();
    assert_eq!(f.stat().unwrap().size, 1);
}

#[test]
fn stat2_fields_and_clock() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let st = ctx.stat(&root, b"/f", 0).unwrap();
    assert_eq!(st.dev, makedev(0, 7));
    assert_eq!((st.mode, st.nlink, st.uid, st.gid, st.size), (S_IFREG | 0o644, 1, 0, 0, 5));
    assert_eq!((st.blksize, st.blocks), (4096, 8));
    assert!(st.mtime.sec >= 1000 && st.ctime >= st.mtime);
    let before = st.mtime;
    let f = file(ctx.open(&root, b"/f", O_WRONLY, 0));
    f.write(b"x").unwrap();
    assert!(f.stat().unwrap().mtime > before);
    assert_eq!(root.stat().ino, 1);
    let bytes = st.to_x86_64_bytes();
    assert_eq!(&bytes[8..16], &st.ino.to_le_bytes());
    assert_eq!(&bytes[24..28], &st.mode.to_le_bytes());
    assert_eq!(&bytes[48..56], &5i64.to_le_bytes());
    assert_eq!(err(ctx.stat(&root, b"/f", 0x4)), Errno::EINVAL);
    assert_eq!(ctx.stat(&root, b"", AT_EMPTY_PATH).unwrap().ino, 1);
    assert_eq!(err(ctx.stat(&root, b"", 0)), Errno::ENOENT);
}

// ------------------------------------------------------------ getdents64(2)

#[test]
fn getdents64_2_layout_bytes() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let d = ctx.mkdir(&root, b"/d", 0o755).unwrap();
    let f = ctx.mknod(&root, b"/d/abc", S_IFREG | 0o644, 0).unwrap();
    let dir = file(ctx.open(&root, b"/d", O_RDONLY | O_DIRECTORY, 0));
    let mut buf = [0xaau8; 128];
    let n = dir.getdents64(&mut buf).unwrap();
    let mut want = Vec::new();
    // "." : ino, d_off 1, reclen 24, DT_DIR, ".\0" + padding.
    want.extend_from_slice(&d.ino().to_le_bytes());
    want.extend_from_slice(&1i64.to_le_bytes());
    want.extend_from_slice(&24u16.to_le_bytes());
    want.push(4);
    want.extend_from_slice(b".\0\0\0\0");
    // "..": the parent, d_off 2.
    want.extend_from_slice(&root.ino().to_le_bytes());
    want.extend_from_slice(&2i64.to_le_bytes());
    want.extend_from_slice(&24u16.to_le_bytes());
    want.push(4);
    want.extend_from_slice(b"..\0\0\0");
    // "abc": DT_REG, 19 + 4 -> 24.
    want.extend_from_slice(&f.ino().to_le_bytes());
    want.extend_from_slice(&3i64.to_le_bytes());
    want.extend_from_slice(&24u16.to_le_bytes());
    want.push(8);
    want.extend_from_slice(b"abc\0\0");
    assert_eq!(n, 72);
    assert_eq!(&buf[..n], &want[..]);
    assert_eq!(buf[n], 0xaa);
    assert_eq!(dir.getdents64(&mut buf), Ok(0));
    assert_eq!(dirent64_reclen(5), 32);
    assert_eq!(dirent64_reclen(4), 24);
}

#[test]
fn getdents64_2_einval_when_the_buffer_holds_no_entry() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let dir = file(ctx.open(&root, b"/", O_RDONLY, 0));
    assert_eq!(dir.getdents64(&mut [0u8; 23]), Err(Errno::EINVAL));
    // One record at a time; then all the rest.
    assert_eq!(dir.getdents64(&mut [0u8; 24]), Ok(24));
    let mut names = Vec::new();
    let mut buf = [0u8; 40];
    loop {
        let n = dir.getdents64(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        let mut off = 0;
        while off < n {
            let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
            let name = &buf[off + 19..off + reclen];
            let end = name.iter().position(|&c| c == 0).unwrap();
            names.push(name[..end].to_vec());
            off += reclen;
        }
    }
    let want: Vec<&[u8]> = vec![b"..", b"d", b"f", b"l", b"dl", b"dangling"];
    assert_eq!(names, want);
    // Rewind with lseek.
    dir.lseek(0, SEEK_SET).unwrap();
    assert!(dir.getdents64(&mut [0u8; 4096]).unwrap() > 0);
}

#[test]
fn getdents64_2_many_entries_while_the_directory_changes() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    for i in 0..100 {
        create(&ctx, &root, std::format!("/f{i}").as_bytes(), b"");
    }
    let dir = file(ctx.open(&root, b"/", O_RDONLY, 0));
    let mut buf = [0u8; 256];
    let mut seen = 0;
    let mut removed = false;
    loop {
        let n = dir.getdents64(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        let mut off = 0;
        while off < n {
            seen += 1;
            off += u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
        }
        if !removed {
            // Removing entries already listed does not repeat or skip others.
            ctx.unlink(&root, b"/f0").unwrap();
            removed = true;
        }
    }
    assert_eq!(seen, 102);
}

// --------------------------------------------------------------- getcwd(2)

#[test]
fn getcwd2_paths() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(ctx.getcwd(&root).unwrap(), b"/");
    let sub = ctx.mkdir(&root, b"/d/sub", 0o755).unwrap();
    assert_eq!(ctx.getcwd(&sub).unwrap(), b"/d/sub");
    let d = ctx.chdir(&root, b"/dl").unwrap();
    let jail = Ctx::new(d.clone(), &cred);
    assert_eq!(jail.getcwd(&sub).unwrap(), b"/sub");
    assert_eq!(jail.getcwd(&root).unwrap(), b"(unreachable)/");
    assert_eq!(err(ctx.chdir(&root, b"/f")), Errno::ENOTDIR);
}

#[test]
fn statfs_and_page_limit_enospc() {
    let root = new_ramfs(1, Arc::new(FixedClock(Timespec::new(1, 0))), Some(2));
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = file(ctx.open(&root, b"/big", O_CREAT | O_RDWR, 0o644));
    let data = vec![7u8; 3 * PAGE_SIZE];
    assert_eq!(f.write(&data), Ok(2 * PAGE_SIZE));
    assert_eq!(f.write(&data), Err(Errno::ENOSPC));
    let s = root.statfs();
    assert_eq!((s.fs_type, s.blocks, s.bfree), (RAMFS_MAGIC, 2, 0));
    f.truncate(0).unwrap();
    assert_eq!(root.statfs().bfree, 2);
}

#[test]
fn path_resolution7_symlinks_in_the_middle_count_toward_40() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/dir", 0o755).unwrap();
    create(&ctx, &root, b"/dir/file", b"x");
    ctx.symlink(b"/dir", &root, b"/m0").unwrap();
    for i in 1..=40 {
        let to = std::format!("m{}", i - 1);
        ctx.symlink(to.as_bytes(), &root, std::format!("/m{i}").as_bytes()).unwrap();
    }
    assert!(ctx.lookup(&root, b"/m39/file", true).is_ok());
    assert_eq!(err(ctx.lookup(&root, b"/m40/file", true)), Errno::ELOOP);
    assert_eq!(err(ctx.open(&root, b"/m40/new", O_CREAT | O_RDWR, 0o644)), Errno::ELOOP);
    // A link to "/" in the middle, and ".." after a link (lexically the
    // link's target's parent, as Linux).
    ctx.symlink(b"/", &root, b"/dir/up").unwrap();
    assert!(ctx.lookup(&root, b"/dir/up/dir/file", true).is_ok());
    ctx.mkdir(&root, b"/dir/sub", 0o755).unwrap();
    ctx.symlink(b"/dir/sub", &root, b"/s").unwrap();
    assert_eq!(ctx.lookup(&root, b"/s/../file", true).unwrap().size(), 1);
    // openat(2): relative to a directory handle.
    let dir = ctx.lookup(&root, b"/dir", true).unwrap();
    assert!(ctx.open(&dir, b"file", O_RDONLY, 0).is_ok());
    assert!(ctx.open(&dir, b"../m0/file", O_RDONLY, 0).is_ok());
}

#[test]
fn open2_o_path() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let bob = Cred::user(9, 9);
    ctx.chmod(&root, b"/f", 0o000, 0).unwrap();
    let p = file(Ctx::new(root.clone(), &bob).open(&root, b"/f", O_PATH | O_RDWR | O_TRUNC, 0));
    assert_eq!(p.read(&mut [0; 4]), Err(Errno::EBADF));
    assert_eq!(p.write(b"x"), Err(Errno::EBADF));
    assert_eq!(p.lseek(0, SEEK_SET), Err(Errno::EBADF));
    assert_eq!(p.stat().unwrap().size, 5);
    assert_eq!(p.status_flags(), O_PATH);
    // O_PATH | O_NOFOLLOW opens the symbolic link itself.
    let l = file(ctx.open(&root, b"/l", O_PATH | O_NOFOLLOW, 0));
    assert_eq!(l.stat().unwrap().mode & S_IFMT, S_IFLNK);
}

#[test]
fn threads_rename_lookup_write_do_not_deadlock() {
    use std::thread;
    let root = fs();
    let cred = Cred::root();
    {
        let ctx = Ctx::new(root.clone(), &cred);
        ctx.mkdir(&root, b"/a", 0o755).unwrap();
        ctx.mkdir(&root, b"/b", 0o755).unwrap();
        create(&ctx, &root, b"/a/f", b"");
    }
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let root = root.clone();
            thread::spawn(move || {
                let cred = Cred::root();
                let ctx = Ctx::new(root.clone(), &cred);
                for i in 0..500 {
                    match t {
                        0 => {
                            let _ = ctx.rename(&root, b"/a/f", &root, b"/b/f", 0);
                            let _ = ctx.rename(&root, b"/b/f", &root, b"/a/f", 0);
                        }
                        1 => {
                            let _ = ctx.rename(&root, b"/a", &root, b"/b/x", RENAME_NOREPLACE);
                            let _ = ctx.rename(&root, b"/b/x", &root, b"/a", 0);
                        }
                        2 => {
                            if let Ok(Opened::File(f)) = ctx.open(&root, b"/a/f", O_WRONLY | O_APPEND, 0) {
                                let _ = f.write(b"x");
                            }
                            let _ = ctx.stat(&root, b"/b/x/f", 0);
                        }
                        _ => {
                            let name = std::format!("/b/t{}", i % 7);
                            let _ = ctx.mkdir(&root, name.as_bytes(), 0o755);
                            let _ = ctx.rmdir(&root, name.as_bytes());
                            let _ = ctx.getcwd(&root);
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let ctx = Ctx::new(root.clone(), &cred);
    assert!(ctx.lookup(&root, b"/a", true).is_ok() || ctx.lookup(&root, b"/b/x", true).is_ok());
}

#[test]
fn execve2_eacces_rules() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.open_exec(&root, b"/d")), Errno::EACCES);
    assert_eq!(err(ctx.open_exec(&root, b"/f")), Errno::EACCES);
    assert_eq!(err(ctx.open_exec(&root, b"/nope")), Errno::ENOENT);
    ctx.chmod(&root, b"/f", 0o711, 0).unwrap();
    assert_eq!(ctx.open_exec(&root, b"/l").unwrap().size(), 5);
    let user = Cred::user(3, 3);
    let u = Ctx::new(root.clone(), &user);
    assert!(u.open_exec(&root, b"/f").is_ok());
    assert_eq!(err(u.open(&root, b"/f", O_RDONLY, 0)), Errno::EACCES);
    // fchdir(2): chdir(handle, ".").
    let f = ctx.lookup(&root, b"/f", true).unwrap();
    assert_eq!(err(ctx.chdir(&f, b".")), Errno::ENOTDIR);
    let d = ctx.lookup(&root, b"/d", true).unwrap();
    assert_eq!(ctx.chdir(&d, b".").unwrap().ino(), d.ino());
    ctx.chmod(&root, b"/d", 0o700, 0).unwrap();
    assert_eq!(err(u.chdir(&root, b"/d")), Errno::EACCES);
    // access(2).
    assert_eq!(err(u.access(&root, b"/f", 8, 0)), Errno::EINVAL);
    assert!(u.access(&root, b"/f", F_OK, 0).is_ok());
    assert!(u.access(&root, b"/f", X_OK, 0).is_ok());
    assert_eq!(err(u.access(&root, b"/f", R_OK, 0)), Errno::EACCES);
}

#[test]
fn getdents64_2_d_off_resumes_after_its_entry() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let dir = file(ctx.open(&root, b"/", O_RDONLY, 0));
    let mut buf = [0u8; 4096];
    let n = dir.getdents64(&mut buf).unwrap();
    // Records: ".", "..", "d", ...: seek to the d_off of "d" (the third).
    let mut off = 0;
    let mut recs = Vec::new();
    while off < n {
        let d_off = i64::from_le_bytes(buf[off + 8..off + 16].try_into().unwrap());
        let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
        recs.push((d_off, buf[off + 19]));
        off += reclen;
    }
    assert_eq!(recs.len(), 7);
    dir.lseek(recs[2].0, SEEK_SET).unwrap();
    let mut one = [0u8; 24];
    assert_eq!(dir.getdents64(&mut one), Ok(24));
    assert_eq!(one[19], b'f');
    assert_eq!(one[18], 8); // DT_REG
}

// ---- synthetic filesystems (a /proc-like tree) ----

/// `/` has `n` (a counter file), `d/` (a directory with `link` -> `../n`).
struct SRoot(Arc<AtomicI64>);
struct SDir;
struct SFile(Arc<AtomicI64>);
struct SLink;

impl SynthNode for SRoot {
    fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> Result<Option<Arc<Inode>>, Errno> {
        Ok(match name {
            b"n" => Some(Inode::new_synth(
                dir,
                name,
                FileType::Regular,
                0o444,
                10,
                Arc::new(SFile(self.0.clone())),
            )),
            b"d" => Some(Inode::new_synth(dir, name, FileType::Directory, 0o555, 11, Arc::new(SDir))),
            b"mem" => Some(Inode::new_synth(dir, name, FileType::Regular, 0o600, 14, Arc::new(SMem))),
            b"polled" => Some(Inode::new_synth(dir, name, FileType::Regular, 0o444, 16, Arc::new(SPolled))),
            b"per_open" => {
                Some(Inode::new_synth(dir, name, FileType::Regular, 0o666, 15, Arc::new(SPerOpen)))
            }
            b"secret" => {
                let i = Inode::new_synth(dir, name, FileType::Regular, 0o444, 13, Arc::new(SSecret));
                i.set_synth_owner(65534, 65534);
                i.set_synth_size(80);
                Some(i)
            }
            _ => None,
        })
    }
    fn entries(&self, _dir: &Arc<Inode>) -> Vec<SynthEntry> {
        vec![
            SynthEntry::new(b"n".to_vec(), 10, FileType::Regular),
            SynthEntry::new(b"d".to_vec(), 11, FileType::Directory),
        ]
    }
}

impl SynthNode for SDir {
    fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> Result<Option<Arc<Inode>>, Errno> {
        Ok((name == b"link")
            .then(|| Inode::new_synth(dir, name, FileType::Symlink, 0o777, 12, Arc::new(SLink))))
    }
}

impl SynthNode for SFile {
    fn content(&self) -> Result<Vec<u8>, Errno> {
        Ok(std::format!("{}\n", self.0.fetch_add(1, Ordering::Relaxed)).into_bytes())
    }
}

/// A file addressed by offset (procfs mem): byte i reads as i % 251 from
/// offset 4096 on, EIO below; writes at even offsets are taken.
struct SMem;

impl SynthNode for SMem {
    fn read_direct(&self, offset: u64, buf: &mut [u8]) -> Option<Result<usize, Errno>> {
        if offset < 4096 {
            return Some(Err(Errno::EIO));
        }
        for (i, b) in buf.iter_mut().enumerate() {
            *b = ((offset + i as u64) % 251) as u8;
        }
        Some(Ok(buf.len()))
    }
    fn write_direct(&self, offset: u64, data: &[u8]) -> Option<Result<usize, Errno>> {
        Some(if offset.is_multiple_of(2) { Ok(data.len()) } else { Err(Errno::EIO) })
    }
}

#[test]
fn synthetic_file_read_and_written_by_offset() {
    let (root, cred) = synth_setup();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = file(ctx.open(&root, b"/proc/mem", O_RDWR, 0));
    let mut b = [0u8; 3];
    assert_eq!(f.pread(&mut b, 5000), Ok(3));
    assert_eq!(b, [(5000 % 251) as u8, (5001 % 251) as u8, (5002 % 251) as u8]);
    assert_eq!(f.pread(&mut b, 10), Err(Errno::EIO));
    assert_eq!(f.pwrite(b"xy", 6000), Ok(2));
    assert_eq!(f.pwrite(b"xy", 6001), Err(Errno::EIO));
    assert_eq!(f.lseek(8000, 0), Ok(8000));
    assert_eq!(f.read(&mut b), Ok(3));
    assert_eq!(b[0], (8000 % 251) as u8);
    // content-produced files still refuse writes
    let n = file(ctx.open(&root, b"/proc/n", O_RDONLY, 0));
    assert_eq!(n.pwrite(b"x", 0), Err(Errno::EBADF));
}

/// A file whose opens each get a node of their own (procfs uid_map keeps
/// its opener): it records the open flags, reads them back as its content
/// and takes writes only at offset 0; the inode's own node refuses all.
struct SPerOpen;
struct SOpened(u32);

impl SynthNode for SPerOpen {
    fn open_file(&self, flags: u32) -> Result<Option<Arc<dyn SynthNode>>, Errno> {
        if flags & O_ACCMODE == O_WRONLY && flags & O_APPEND == 0 && flags & O_TRUNC != 0 {
            return Err(Errno::EPERM);
        }
        Ok(Some(Arc::new(SOpened(flags & (O_ACCMODE | O_APPEND)))))
    }
}

impl SynthNode for SOpened {
    fn content(&self) -> Result<Vec<u8>, Errno> {
        Ok(std::format!("{}\n", self.0).into_bytes())
    }
    fn write_direct(&self, offset: u64, data: &[u8]) -> Option<Result<usize, Errno>> {
        Some(if offset == 0 { Ok(data.len()) } else { Err(Errno::EINVAL) })
    }
}

#[test]
fn synthetic_node_per_open_file() {
    let (root, cred) = synth_setup();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = file(ctx.open(&root, b"/proc/per_open", O_RDWR, 0));
    let mut b = [0u8; 8];
    assert_eq!(f.read(&mut b), Ok(2));
    assert_eq!(&b[..2], b"2\n");
    let g = file(ctx.open(&root, b"/proc/per_open", O_RDONLY, 0));
    assert_eq!(g.pread(&mut b, 0), Ok(2));
    assert_eq!(&b[..2], b"0\n");
    // writes go to the file's node: at the offset, then from it
    assert_eq!(f.pwrite(b"abc", 0), Ok(3));
    assert_eq!(f.pwrite(b"abc", 1), Err(Errno::EINVAL));
    assert_eq!(f.lseek(0, 0), Ok(0));
    assert_eq!(f.write(b"abc"), Ok(3));
    assert_eq!(f.write(b"abc"), Err(Errno::EINVAL));
    // O_APPEND writes at 0 (a synthetic file's size)
    let a = file(ctx.open(&root, b"/proc/per_open", O_WRONLY | O_APPEND, 0));
    assert_eq!(a.write(b"x"), Ok(1));
    assert_eq!(a.write(b"x"), Ok(1));
    // the node's error refuses the open
    assert_eq!(ctx.open(&root, b"/proc/per_open", O_WRONLY | O_TRUNC, 0).err(), Some(Errno::EPERM));
}

/// A file whose opens poll as /proc/PID/mountinfo: a change (here: the
/// open itself) is told once as `POLLPRI` by a poll that consumes it,
/// any number of times by a peek.
struct SPolled;
struct SPolledOpen(core::sync::atomic::AtomicBool);

impl SynthNode for SPolled {
    fn open_file(&self, _flags: u32) -> Result<Option<Arc<dyn SynthNode>>, Errno> {
        Ok(Some(Arc::new(SPolledOpen(core::sync::atomic::AtomicBool::new(true)))))
    }
}

impl SynthNode for SPolledOpen {
    fn poll(&self, consume: bool) -> Option<u32> {
        use core::sync::atomic::Ordering::SeqCst;
        let changed = if consume { self.0.swap(false, SeqCst) } else { self.0.load(SeqCst) };
        Some(if changed { POLLIN | POLLPRI } else { POLLIN })
    }
    fn event_count(&self) -> u64 {
        7
    }
}

#[test]
fn synthetic_node_polls_and_peeks() {
    let (root, cred) = synth_setup();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = file(ctx.open(&root, b"/proc/polled", O_RDONLY, 0));
    assert_eq!(f.poll_peek(), POLLIN | POLLPRI);
    assert_eq!(f.poll_peek(), POLLIN | POLLPRI);
    assert_eq!(f.poll(), POLLIN | POLLPRI);
    assert_eq!(f.poll(), POLLIN);
    assert_eq!(f.poll_peek(), POLLIN);
    assert_eq!(f.event_count(), 7);
    assert!(f.wait_queue().is_none());
    // a node without its own poll: a regular file's readiness
    let n = file(ctx.open(&root, b"/proc/n", O_RDONLY, 0));
    assert_eq!(n.poll(), POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
    assert_eq!(n.poll_peek(), n.poll());
    assert_eq!(n.event_count(), 0);
}

/// A file anyone may read by its mode whose open is refused (procfs maps).
struct SSecret;

impl SynthNode for SSecret {
    fn may_open(&self) -> Result<(), Errno> {
        Err(Errno::EACCES)
    }
}

#[test]
fn synthetic_open_check_and_owner() {
    let (root, cred) = synth_setup();
    let ctx = Ctx::new(root.clone(), &cred);
    let st = ctx.stat(&root, b"/proc/secret", 0).unwrap();
    assert_eq!((st.uid, st.gid, st.mode), (65534, 65534, S_IFREG | 0o444));
    // a size given by its filesystem (mqueue's FILENT_SIZE); others show 0
    assert_eq!(st.size, 80);
    assert_eq!(ctx.stat(&root, b"/proc/n", 0).unwrap().size, 0);
    assert_eq!(ctx.open(&root, b"/proc/secret", O_RDONLY, 0).err(), Some(Errno::EACCES));
    // O_PATH opens check no access
    assert!(ctx.open(&root, b"/proc/secret", O_PATH, 0).is_ok());
    assert!(ctx.open(&root, b"/proc/n", O_RDONLY, 0).is_ok());
}

impl SynthNode for SLink {
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        Ok(b"../n".to_vec())
    }
}

fn synth_setup() -> (Arc<Inode>, Cred) {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/proc", 0o555).unwrap();
    let s = new_synthfs(
        makedev(0, 9),
        Arc::new(Tick(AtomicI64::new(0))),
        Arc::new(SRoot(Arc::new(AtomicI64::new(7)))),
    );
    ctx.mount(&root, b"/proc", s).unwrap();
    (root, cred)
}

#[test]
fn synthetic_files_links_and_relative_paths() {
    let (root, cred) = synth_setup();
    let ctx = Ctx::new(root.clone(), &cred);
    // content is produced at each open+read; links resolve relative to their directory
    let f = file(ctx.open(&root, b"/proc/d/link", O_RDONLY, 0));
    assert_eq!(read_all(&*f), b"7\n");
    let d = ctx.chdir(&root, b"/proc/d").unwrap();
    assert_eq!(ctx.getcwd(&d).unwrap(), b"/proc/d");
    assert_eq!(ctx.readlink(&d, b"link").unwrap(), b"../n");
    let f = file(ctx.open(&d, b"../n", O_RDONLY, 0));
    assert_eq!(read_all(&*f), b"8\n");
    let up = ctx.chdir(&d, b"..").unwrap();
    assert_eq!(ctx.getcwd(&up).unwrap(), b"/proc");
    let st = ctx.stat(&root, b"/proc/n", 0).unwrap();
    assert_eq!((st.mode, st.ino, st.size), (S_IFREG | 0o444, 10, 0));
    assert_eq!(ctx.stat(&root, b"/proc/d/link", AT_SYMLINK_NOFOLLOW).unwrap().mode, S_IFLNK | 0o777);
    assert_eq!(ctx.stat(&root, b"/proc/missing", 0).unwrap_err(), Errno::ENOENT);
    assert_eq!(ctx.stat(&root, b"/proc/n/x", 0).unwrap_err(), Errno::ENOTDIR);
}

#[test]
fn synthetic_directories_list_and_refuse_changes() {
    let (root, cred) = synth_setup();
    let ctx = Ctx::new(root.clone(), &cred);
    let dir = file(ctx.open(&root, b"/proc", O_RDONLY | O_DIRECTORY, 0));
    let mut buf = [0u8; 512];
    let n = dir.getdents64(&mut buf).unwrap();
    let mut names = Vec::new();
    let mut off = 0;
    while off < n {
        let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
        let name = &buf[off + 19..off + reclen];
        names.push(name[..name.iter().position(|&b| b == 0).unwrap()].to_vec());
        off += reclen;
    }
    assert_eq!(names, vec![b".".to_vec(), b"..".to_vec(), b"n".to_vec(), b"d".to_vec()]);
    assert_eq!(dir.getdents64(&mut buf), Ok(0));
    // nothing is created, removed or written
    assert_eq!(ctx.open(&root, b"/proc/new", O_CREAT | O_WRONLY, 0o644).unwrap_err(), Errno::ENOENT);
    assert_eq!(ctx.mkdir(&root, b"/proc/d/x", 0o755).unwrap_err(), Errno::ENOENT);
    assert_eq!(ctx.unlink(&root, b"/proc/n").unwrap_err(), Errno::EPERM);
    assert_eq!(ctx.rmdir(&root, b"/proc/d").unwrap_err(), Errno::EPERM);
    let f = file(ctx.open(&root, b"/proc/n", O_RDWR, 0));
    assert_eq!(f.write(b"x").unwrap_err(), Errno::EACCES);
    assert!(ctx.lookup(&root, b"/proc/n", true).unwrap().is_synthetic());
    assert!(!root.is_synthetic());
}

#[test]
fn path_of_finds_files_across_mounts() {
    let (root, cred) = synth_setup();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/tmp", 0o777).unwrap();
    ctx.mount(&root, b"/tmp", fs()).unwrap();
    ctx.mkdir(&root, b"/tmp/a", 0o777).unwrap();
    create(&ctx, &root, b"/tmp/a/f", b"x");
    let f = ctx.lookup(&root, b"/tmp/a/f", true).unwrap();
    assert_eq!(ctx.path_of(&f, 100).unwrap(), b"/tmp/a/f");
    let a = ctx.lookup(&root, b"/tmp/a", true).unwrap();
    assert_eq!(ctx.path_of(&a, 100).unwrap(), b"/tmp/a");
    assert_eq!(ctx.path_of(&f, 1), None);
    ctx.unlink(&root, b"/tmp/a/f").unwrap();
    assert_eq!(ctx.path_of(&f, 100), None);
}

/// A kernel's queue type as the VFS sees it.
struct Queue(u32);

impl WaitQueue for Queue {}

/// A file whose readiness changes, with a queue of its own.
struct Fifo(Arc<Queue>, FileOwner);

impl File for Fifo {
    fn owner(&self) -> &FileOwner {
        &self.1
    }
    fn read(&self, _buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(0)
    }
    fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        Ok(buf.len())
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::default())
    }
    fn status_flags(&self) -> u32 {
        O_RDWR
    }
    fn set_status_flags(&self, _flags: u32) {}
    fn wait_queue(&self) -> Option<Arc<dyn WaitQueue>> {
        Some(self.0.clone())
    }
}

#[test]
fn wait_queue_none_for_ramfs_and_kernel_type_back_through_any() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    // a regular file is always ready: nothing to sleep on
    let f = file(ctx.open(&root, b"/f", O_RDONLY, 0));
    assert!(f.wait_queue().is_none());
    let q = Arc::new(Queue(7));
    let fifo: Arc<dyn File> = Arc::new(Fifo(q.clone(), FileOwner::new()));
    let any: Arc<dyn core::any::Any + Send + Sync> = fifo.wait_queue().unwrap();
    let back = any.downcast::<Queue>().ok().unwrap();
    assert!(Arc::ptr_eq(&back, &q));
    assert_eq!(back.0, 7);
}

// ---- file pages for memory mappings, the mapping observer, seals ----

/// Records what a kernel's observer would be told.
#[derive(Default)]
struct Dropped(spin::Mutex<Vec<(u64, Option<u64>, bool)>>);

impl MapObserver for Dropped {
    fn pages_dropped(&self, first: u64, end: Option<u64>, cows: bool) {
        self.0.lock().push((first, end, cows));
    }
}

fn fs_with(mem: &Arc<HeapPages>, max_pages: Option<u64>) -> Arc<Inode> {
    new_ramfs_in(makedev(0, 8), Arc::new(Tick(AtomicI64::new(1))), max_pages, mem.clone())
}

#[test]
fn map_page_shares_the_file_page_and_keeps_it_after_truncate() {
    let mem = Arc::new(HeapPages::new());
    let root = fs_with(&mem, None);
    let f = Inode::new_unlinked(&root, 0o600, 0, 0);
    f.write_at(10, b"abc").unwrap();
    f.set_size(2 * PAGE_SIZE as u64).unwrap();
    // the hole at page 1 gets a page; page 2 is past the end: EFAULT (SIGBUS)
    let p0 = f.map_page(0).unwrap();
    let p1 = f.map_page(1).unwrap();
    assert_eq!(f.map_page(2), Err(Errno::EFAULT));
    assert_eq!(mem.live(), 2);
    assert_eq!(f.stat().blocks, 2 * 8);
    // a write through the mapping's page is what read(2) sees, and back
    mem.write(p1, 5, b"via map");
    let mut b = [0u8; 7];
    f.read_at(PAGE_SIZE as u64 + 5, &mut b).unwrap();
    assert_eq!(&b, b"via map");
    f.write_at(11, b"Z").unwrap();
    let mut c = [0u8; 3];
    mem.read(p0, 10, &mut c);
    assert_eq!(&c, b"aZc");
    // truncate drops the file's reference; the mapping's keeps the page
    let seen = Arc::new(Dropped::default());
    let obs: Arc<dyn MapObserver> = seen.clone();
    assert!(Arc::ptr_eq(&f.map_observer_or_insert(|| obs.clone()), &obs));
    f.set_size(5).unwrap();
    assert_eq!(*seen.0.lock(), [(1, None, true)]);
    assert_eq!(mem.live(), 2, "both pages are still mapped");
    let mut z = [9u8; 3];
    mem.read(p0, 10, &mut z);
    assert_eq!(z, [0; 3], "the new last page is zero past the end");
    mem.release(p1);
    assert_eq!(mem.live(), 1);
    mem.release(p0);
    assert_eq!(mem.live(), 1, "page 0 still belongs to the file");
    drop(f);
    assert_eq!(mem.live(), 0);
}

#[test]
fn map_observer_is_one_per_file_and_weak() {
    let root = fs();
    let f = Inode::new_unlinked(&root, 0o600, 0, 0);
    assert!(f.map_observer().is_none());
    let a: Arc<dyn MapObserver> = Arc::new(Dropped::default());
    let got = f.map_observer_or_insert(|| a.clone());
    let again = f.map_observer_or_insert(|| -> Arc<dyn MapObserver> { panic!("a second observer") });
    assert!(Arc::ptr_eq(&got, &again));
    drop((a, got, again));
    assert!(f.map_observer().is_none(), "the inode holds it weakly");
    // growing tells nothing; shrinking without an observer is fine
    f.set_size(3 * PAGE_SIZE as u64).unwrap();
    f.set_size(0).unwrap();
}

#[test]
fn map_page_refuses_what_has_no_pages() {
    let (root, _cred) = tree();
    assert_eq!(root.map_page(0), Err(Errno::ENODEV));
    assert!(!root.can_map());
    let f = Inode::new_unlinked(&root, 0o600, 0, 0);
    assert!(f.can_map());
    assert_eq!(f.map_page(0), Err(Errno::EFAULT), "an empty file has no page 0");
}

#[test]
fn map_page_of_a_full_filesystem_is_enospc() {
    let mem = Arc::new(HeapPages::new());
    let root = fs_with(&mem, Some(1));
    let f = Inode::new_unlinked(&root, 0o600, 0, 0);
    f.set_size(2 * PAGE_SIZE as u64).unwrap();
    mem.release(f.map_page(0).unwrap());
    assert_eq!(f.map_page(1), Err(Errno::ENOSPC));
}

#[test]
fn writes_past_the_end_zero_the_old_tail() {
    let mem = Arc::new(HeapPages::new());
    let root = fs_with(&mem, None);
    let f = Inode::new_unlinked(&root, 0o600, 0, 0);
    f.write_at(0, b"0123456789").unwrap();
    // a shared mapping may write past the end of the file
    let p = f.map_page(0).unwrap();
    mem.write(p, 20, b"junk");
    f.write_at(100, b"x").unwrap();
    let mut b = [1u8; 4];
    f.read_at(20, &mut b).unwrap();
    assert_eq!(b, [0; 4]);
    mem.write(p, 200, b"junk");
    f.set_size(300).unwrap();
    f.read_at(200, &mut b).unwrap();
    assert_eq!(b, [0; 4]);
    mem.release(p);
}

#[test]
fn seals_follow_memfd_rules() {
    let root = fs();
    let f = Inode::new_unlinked(&root, 0o600, 0, 0);
    // a tmpfs file starts sealed against more seals
    assert_eq!(f.get_seals(), Ok(F_SEAL_SEAL));
    assert_eq!(f.add_seals(F_SEAL_GROW, || false), Err(Errno::EPERM));
    f.set_seals(0);
    assert_eq!(f.add_seals(0x100, || false), Err(Errno::EINVAL));
    f.write_at(0, &[7u8; 100]).unwrap();
    f.add_seals(F_SEAL_SHRINK, || false).unwrap();
    assert_eq!(f.set_size(50), Err(Errno::EPERM));
    f.set_size(200).unwrap();
    f.add_seals(F_SEAL_GROW, || false).unwrap();
    assert_eq!(f.set_size(201), Err(Errno::EPERM));
    // a write crossing the end stops at the page holding it
    assert_eq!(f.write_at(190, b"0123456789ab"), Err(Errno::EPERM));
    f.write_at(10, b"inside").unwrap();
    assert_eq!(f.add_seals(F_SEAL_WRITE, || true), Err(Errno::EBUSY), "writably mapped");
    f.add_seals(F_SEAL_WRITE, || false).unwrap();
    assert_eq!(f.write_at(0, b"x"), Err(Errno::EPERM));
    assert_eq!(f.get_seals(), Ok(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE));
    f.add_seals(F_SEAL_SEAL, || false).unwrap();
    assert_eq!(f.add_seals(F_SEAL_FUTURE_WRITE, || false), Err(Errno::EPERM));
    let (root, _) = tree();
    assert_eq!(root.get_seals(), Err(Errno::EINVAL), "a directory has no seals");
}

#[test]
fn add_seals_asks_about_mappings_without_the_inode_lock() {
    // a kernel answers by walking address spaces, whose page faults take
    // the inode lock (map_page): asked under it, this test would spin
    let mem = Arc::new(HeapPages::new());
    let root = fs_with(&mem, None);
    let f = Inode::new_unlinked(&root, 0o600, 0, 0);
    f.set_seals(0);
    f.set_size(PAGE_SIZE as u64).unwrap();
    let asked = core::cell::Cell::new(false);
    assert!(!f.write_maps_denied());
    let r = f.add_seals(F_SEAL_WRITE, || {
        asked.set(true);
        // meanwhile no new shared writable mapping may be made
        assert!(f.write_maps_denied());
        // what a fault does: take a page, which takes the inode lock
        let p = f.map_page(0).unwrap();
        mem.release(p);
        f.seals() != 0
    });
    assert!(asked.get());
    assert_eq!(r, Ok(()));
    assert_eq!(f.get_seals(), Ok(F_SEAL_WRITE));
    assert!(f.write_maps_denied(), "sealed");
    // a refused seal (a writable mapping exists) lifts the denial
    let h = Inode::new_unlinked(&root, 0o600, 0, 0);
    h.set_seals(0);
    assert_eq!(h.add_seals(F_SEAL_WRITE | F_SEAL_GROW, || h.write_maps_denied()), Err(Errno::EBUSY));
    assert!(!h.write_maps_denied());
    assert_eq!(h.get_seals(), Ok(0));
    // other seals deny nothing
    h.add_seals(F_SEAL_GROW, || unreachable!()).unwrap();
    assert!(!h.write_maps_denied());
    h.add_seals(F_SEAL_FUTURE_WRITE, || unreachable!()).unwrap();
    assert!(h.write_maps_denied());
    // F_SEAL_SEAL added while the mappings were looked at wins
    let g = Inode::new_unlinked(&root, 0o600, 0, 0);
    g.set_seals(0);
    let r = g.add_seals(F_SEAL_WRITE, || {
        g.set_seals(F_SEAL_SEAL);
        false
    });
    assert_eq!(r, Err(Errno::EPERM));
    assert_eq!(g.get_seals(), Ok(F_SEAL_SEAL));
}

// ---- xattrs (setxattr(2), getxattr(2), listxattr(2), removexattr(2)) ----

#[test]
fn xattr_trusted_set_get_list_remove() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    create(&ctx, &root, b"/f", b"x");
    let f = ctx.lookup(&root, b"/f", true).unwrap();
    f.setxattr(&cred, b"trusted.a", b"hello", 0).unwrap();
    f.setxattr(&cred, b"security.b", b"", 0).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(f.getxattr(&cred, b"trusted.a", &mut []), Ok(5));
    assert_eq!(f.getxattr(&cred, b"trusted.a", &mut buf), Ok(5));
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(f.getxattr(&cred, b"trusted.a", &mut buf[..4]), Err(Errno::ERANGE));
    assert_eq!(f.getxattr(&cred, b"security.b", &mut buf), Ok(0));
    assert_eq!(f.getxattr(&cred, b"trusted.zz", &mut buf), Err(Errno::ENODATA));
    let mut list = [0u8; 64];
    assert_eq!(f.listxattr(&cred, &mut []), Ok(21));
    assert_eq!(f.listxattr(&cred, &mut list), Ok(21));
    // newest first, as Linux's simple_xattr list
    assert_eq!(&list[..21], b"security.b\0trusted.a\0");
    assert_eq!(f.listxattr(&cred, &mut list[..20]), Err(Errno::ERANGE));
    assert_eq!(f.setxattr(&cred, b"trusted.a", b"x", XATTR_CREATE), Err(Errno::EEXIST));
    assert_eq!(f.setxattr(&cred, b"trusted.n", b"x", XATTR_REPLACE), Err(Errno::ENODATA));
    f.setxattr(&cred, b"trusted.a", b"xy", XATTR_REPLACE).unwrap();
    assert_eq!(f.getxattr(&cred, b"trusted.a", &mut buf), Ok(2));
    f.removexattr(&cred, b"trusted.a").unwrap();
    assert_eq!(f.removexattr(&cred, b"trusted.a"), Err(Errno::ENODATA));
    assert_eq!(f.listxattr(&cred, &mut list), Ok(11));
}

#[test]
fn xattr_namespaces_and_permissions() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    create(&ctx, &root, b"/f", b"x");
    ctx.symlink(b"f", &root, b"/l").unwrap();
    let f = ctx.lookup(&root, b"/f", true).unwrap();
    let l = ctx.lookup(&root, b"/l", false).unwrap();
    let mut buf = [0u8; 8];
    // Linux 6.1 tmpfs: no user.* handler; symlinks refuse user.* first
    assert_eq!(f.setxattr(&cred, b"user.a", b"v", 0), Err(Errno::EOPNOTSUPP));
    assert_eq!(f.getxattr(&cred, b"user.a", &mut buf), Err(Errno::EOPNOTSUPP));
    assert_eq!(l.setxattr(&cred, b"user.a", b"v", 0), Err(Errno::EPERM));
    assert_eq!(l.getxattr(&cred, b"user.a", &mut buf), Err(Errno::ENODATA));
    assert_eq!(f.setxattr(&cred, b"foo.a", b"v", 0), Err(Errno::EOPNOTSUPP));
    assert_eq!(f.setxattr(&cred, b"trusted.", b"v", 0), Err(Errno::EINVAL));
    assert_eq!(f.setxattr(&cred, b"", b"v", 0), Err(Errno::ERANGE));
    assert_eq!(f.setxattr(&cred, &[b'a'; 256], b"v", 0), Err(Errno::ERANGE));
    assert_eq!(f.setxattr(&cred, b"trusted.a", b"v", 4), Err(Errno::EINVAL));
    assert_eq!(f.setxattr(&cred, b"trusted.a", &vec![0u8; XATTR_SIZE_MAX + 1], 0), Err(Errno::E2BIG));
    assert_eq!(f.getxattr(&cred, b"system.posix_acl_access", &mut buf), Err(Errno::ENODATA));
    // trusted.* needs CAP_SYS_ADMIN; listing hides it from others
    f.setxattr(&cred, b"trusted.t", b"v", 0).unwrap();
    let user = Cred::user(1000, 1000);
    assert_eq!(f.setxattr(&user, b"trusted.u", b"v", 0), Err(Errno::EPERM));
    assert_eq!(f.getxattr(&user, b"trusted.t", &mut buf), Err(Errno::ENODATA));
    assert_eq!(f.listxattr(&user, &mut buf), Ok(0));
}

#[test]
fn xattr_bounded_per_inode() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    create(&ctx, &root, b"/f", b"x");
    let f = ctx.lookup(&root, b"/f", true).unwrap();
    let big = vec![7u8; XATTR_SIZE_MAX];
    f.setxattr(&cred, b"trusted.1", &big, 0).unwrap();
    assert_eq!(f.setxattr(&cred, b"trusted.2", &big, 0), Err(Errno::ENOSPC));
    // replacing counts the old value out first
    f.setxattr(&cred, b"trusted.1", &big, 0).unwrap();
    f.removexattr(&cred, b"trusted.1").unwrap();
    f.setxattr(&cred, b"trusted.2", &big, 0).unwrap();
}

// ---- fallocate(2): allocate and punch_hole ----

#[test]
fn allocate_grows_or_keeps_size_and_counts_pages() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    create(&ctx, &root, b"/f", b"");
    let f = ctx.lookup(&root, b"/f", true).unwrap();
    f.allocate(100, 8000, false).unwrap();
    assert_eq!(f.stat().size, 8100);
    assert_eq!(f.stat().blocks, 16);
    f.allocate(8192, 4096, true).unwrap();
    assert_eq!(f.stat().size, 8100);
    assert_eq!(f.stat().blocks, 24);
    let mut buf = [1u8; 16];
    assert_eq!(f.read_at(0, &mut buf), Ok(16));
    assert_eq!(buf, [0u8; 16]);
    assert_eq!(f.allocate(MAX_FILE_SIZE, 1, false), Err(Errno::EFBIG));
}

#[test]
fn allocate_enospc_gives_back_what_it_took() {
    let root = new_ramfs(makedev(0, 9), Arc::new(Tick(AtomicI64::new(0))), Some(4));
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    create(&ctx, &root, b"/f", b"x");
    let f = ctx.lookup(&root, b"/f", true).unwrap();
    assert_eq!(f.allocate(0, 5 * 4096, false), Err(Errno::ENOSPC));
    // four pages fit the bound, three are free: taken, then given back
    assert_eq!(f.allocate(4096, 4 * 4096, false), Err(Errno::ENOSPC));
    assert_eq!(f.stat().size, 1);
    assert_eq!(f.stat().blocks, 8);
    assert_eq!(root.statfs().bfree, 3);
    f.allocate(0, 4 * 4096, false).unwrap();
    assert_eq!(root.statfs().bfree, 0);
}

#[test]
fn punch_hole_frees_whole_pages_and_zeroes_edges() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    create(&ctx, &root, b"/f", &vec![b'a'; 3 * 4096]);
    let f = ctx.lookup(&root, b"/f", true).unwrap();
    f.punch_hole(4000, 4096 + 200).unwrap();
    let st = f.stat();
    assert_eq!(st.size, 3 * 4096);
    assert_eq!(st.blocks, 16);
    let mut buf = vec![0u8; 3 * 4096];
    assert_eq!(f.read_at(0, &mut buf), Ok(3 * 4096));
    assert!(buf[..4000].iter().all(|&b| b == b'a'));
    assert!(buf[4000..8296].iter().all(|&b| b == 0));
    assert!(buf[8296..].iter().all(|&b| b == b'a'));
    assert_eq!(f.seek_data_hole(0, true), Ok(4096));
    // past the end: nothing
    f.punch_hole(1 << 20, 4096).unwrap();
    assert_eq!(f.stat().size, 3 * 4096);
}

// ---- a read-only filesystem (mount -o ro, remount) ----

#[test]
fn read_only_fs_refuses_changes_with_erofs() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    create(&ctx, &root, b"/f", b"data");
    ctx.mkdir(&root, b"/d", 0o755).unwrap();
    {
        let w = file(ctx.open(&root, b"/f", O_WRONLY, 0));
        assert_eq!(root.set_fs_read_only(true), Err(Errno::EBUSY));
        drop(w);
    }
    let r = file(ctx.open(&root, b"/f", O_RDONLY, 0));
    root.set_fs_read_only(true).unwrap();
    assert_eq!(ctx.open(&root, b"/f", O_WRONLY, 0).unwrap_err(), Errno::EROFS);
    assert_eq!(ctx.open(&root, b"/f", O_RDONLY | O_TRUNC, 0).unwrap_err(), Errno::EROFS);
    assert_eq!(ctx.open(&root, b"/new", O_CREAT | O_RDONLY, 0o644).unwrap_err(), Errno::EROFS);
    // an existing name is EEXIST first
    assert_eq!(ctx.mkdir(&root, b"/d", 0o755).unwrap_err(), Errno::EEXIST);
    assert_eq!(ctx.mkdir(&root, b"/e", 0o755).unwrap_err(), Errno::EROFS);
    assert_eq!(ctx.unlink(&root, b"/f").unwrap_err(), Errno::EROFS);
    assert_eq!(ctx.unlink(&root, b"/nothing").unwrap_err(), Errno::EROFS);
    assert_eq!(ctx.rmdir(&root, b"/d").unwrap_err(), Errno::EROFS);
    assert_eq!(ctx.rename(&root, b"/f", &root, b"/g", 0).unwrap_err(), Errno::EROFS);
    assert_eq!(ctx.chmod(&root, b"/f", 0o600, 0).unwrap_err(), Errno::EROFS);
    assert_eq!(ctx.truncate(&root, b"/f", 0).unwrap_err(), Errno::EROFS);
    assert_eq!(read_all(&*r), b"data");
    root.set_fs_read_only(false).unwrap();
    ctx.unlink(&root, b"/f").unwrap();
}

// ---- magic links (SynthNode::magic) ----

struct MagicRoot {
    dir: Arc<Inode>,
    file: Arc<dyn File>,
}
struct MagicLink(Option<Arc<Inode>>, Option<Arc<dyn File>>);

impl SynthNode for MagicRoot {
    fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> Result<Option<Arc<Inode>>, Errno> {
        let node = match name {
            b"d" => MagicLink(Some(self.dir.clone()), None),
            b"f" => MagicLink(None, Some(self.file.clone())),
            _ => return Ok(None),
        };
        Ok(Some(Inode::new_synth(dir, name, FileType::Symlink, 0o777, 0, Arc::new(node))))
    }
}

impl SynthNode for MagicLink {
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        Ok(b"not:[a path]".to_vec())
    }
    fn magic(&self) -> Option<Result<Magic, Errno>> {
        Some(Ok(match (&self.0, &self.1) {
            (Some(i), _) => Magic::Inode(i.clone()),
            (_, Some(f)) => Magic::File(f.clone()),
            _ => return None,
        }))
    }
}

#[test]
fn magic_links_lead_to_the_object_not_the_text() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/gone", 0o755).unwrap();
    create(&ctx, &root, b"/gone/x", b"xyz");
    let dir = ctx.lookup(&root, b"/gone", true).unwrap();
    let other = file(ctx.open(&root, b"/gone/x", O_RDONLY, 0));
    // the directory loses its name: the link still leads to it
    ctx.rename(&root, b"/gone", &root, b"/moved", 0).unwrap();
    ctx.mkdir(&root, b"/proc", 0o555).unwrap();
    let clock = Arc::new(FixedClock(Timespec::new(0, 0)));
    let synth = new_synthfs(makedev(0, 99), clock, Arc::new(MagicRoot { dir, file: other }));
    ctx.mount(&root, b"/proc", synth).unwrap();
    assert_eq!(ctx.stat(&root, b"/proc/d/x", 0).unwrap().size, 3);
    assert_eq!(ctx.readlink(&root, b"/proc/d").unwrap(), b"not:[a path]");
    assert!(ctx.lookup(&root, b"/proc/d", true).unwrap().is_dir());
    assert_eq!(ctx.lookup(&root, b"/proc/d", false).unwrap().file_type(), FileType::Symlink);
    // an inodeless file: open gives it back, stat is its own
    assert!(matches!(ctx.open(&root, b"/proc/f", O_RDONLY, 0), Ok(Opened::Reopen { .. })));
    assert_eq!(ctx.stat(&root, b"/proc/f", 0).unwrap().size, 3);
    assert_eq!(ctx.open(&root, b"/proc/f/", O_RDONLY, 0).unwrap_err(), Errno::ENOTDIR);
    assert_eq!(ctx.stat(&root, b"/proc/f/x", 0).unwrap_err(), Errno::ENOTDIR);
}

/// A directory that removes its names itself and whose files open as the
/// kernel's own objects (the mqueue filesystem's shape).
struct Removable {
    names: std::sync::Mutex<Vec<Vec<u8>>>,
    obj: Arc<dyn File>,
}

struct Obj(Arc<dyn File>);

impl SynthNode for Removable {
    fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> Result<Option<Arc<Inode>>, Errno> {
        if !self.names.lock().unwrap().iter().any(|n| n == name) {
            return Ok(None);
        }
        Ok(Some(Inode::new_synth(dir, name, FileType::Regular, 0o600, 0, Arc::new(Obj(self.obj.clone())))))
    }
    fn create_object(
        &self,
        name: &[u8],
        perm: u32,
        _flags: u32,
        _cred: &Cred,
    ) -> Option<Result<Arc<dyn File>, Errno>> {
        assert_eq!(perm, 0o640 & !0o022);
        self.names.lock().unwrap().push(name.to_vec());
        Some(Ok(self.obj.clone()))
    }
    fn unlink(&self, name: &[u8], cred: &Cred) -> Option<Result<(), Errno>> {
        if cred.uid != 0 {
            return Some(Err(Errno::EPERM));
        }
        let mut n = self.names.lock().unwrap();
        let before = n.len();
        n.retain(|x| x != name);
        Some(if n.len() < before { Ok(()) } else { Err(Errno::ENOENT) })
    }
}

impl SynthNode for Obj {
    fn open_object(&self, _flags: u32) -> Option<Result<Arc<dyn File>, Errno>> {
        Some(Ok(self.0.clone()))
    }
}

#[test]
fn synthetic_unlink_and_open_object_hooks() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    create(&ctx, &root, b"/x", b"xyz");
    let obj = file(ctx.open(&root, b"/x", O_RDONLY, 0));
    ctx.mkdir(&root, b"/mq", 0o755).unwrap();
    let clock = Arc::new(FixedClock(Timespec::new(0, 0)));
    let node = Arc::new(Removable { names: std::sync::Mutex::new(vec![b"q".to_vec()]), obj });
    ctx.mount(&root, b"/mq", new_synthfs(makedev(0, 98), clock, node.clone())).unwrap();
    // open gives the node's object; O_PATH the inode only
    assert!(matches!(ctx.open(&root, b"/mq/q", O_RDWR, 0), Ok(Opened::Reopen { .. })));
    assert!(matches!(ctx.open(&root, b"/mq/q", O_PATH, 0), Ok(Opened::File(_))));
    // the permission bits come first
    let user = Cred::user(1000, 1000);
    let uctx = Ctx::new(root.clone(), &user);
    assert_eq!(uctx.open(&root, b"/mq/q", O_RDONLY, 0).unwrap_err(), Errno::EACCES);
    assert_eq!(uctx.unlink(&root, b"/mq/q").unwrap_err(), Errno::EPERM);
    ctx.unlink(&root, b"/mq/q").unwrap();
    assert_eq!(ctx.unlink(&root, b"/mq/q").unwrap_err(), Errno::ENOENT);
    assert!(node.names.lock().unwrap().is_empty());
    // O_CREAT of a free name: the node makes it (the umask applied)
    let ctx = ctx.with_umask(0o022);
    assert!(matches!(ctx.open(&root, b"/mq/new", O_CREAT | O_RDWR, 0o640), Ok(Opened::Reopen { .. })));
    assert_eq!(*node.names.lock().unwrap(), vec![b"new".to_vec()]);
    // without write permission on the directory: refused first
    assert_eq!(uctx.open(&root, b"/mq/other", O_CREAT | O_RDWR, 0o640).unwrap_err(), Errno::ENOENT);
}

// ---- bind mounts ----

#[test]
fn bind_mount_shows_a_directory_twice_and_umounts_alone() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/src", 0o755).unwrap();
    ctx.mkdir(&root, b"/dst", 0o755).unwrap();
    create(&ctx, &root, b"/src/a", b"abc");
    let src = ctx.lookup(&root, b"/src", true).unwrap();
    ctx.bind_mount(&root, b"/dst", src.clone()).unwrap();
    assert_eq!(ctx.stat(&root, b"/dst/a", 0).unwrap().size, 3);
    create(&ctx, &root, b"/dst/b", b"x");
    assert_eq!(ctx.stat(&root, b"/src/b", 0).unwrap().size, 1);
    assert_eq!(err(ctx.rmdir(&root, b"/dst")), Errno::EBUSY);
    assert_eq!(err(ctx.bind_mount(&root, b"/src/a", src.clone())), Errno::ENOTDIR);
    // a filesystem root bound elsewhere keeps its first mount
    ctx.mkdir(&root, b"/mnt", 0o755).unwrap();
    ctx.mkdir(&root, b"/mnt2", 0o755).unwrap();
    let other = fs();
    ctx.mount(&root, b"/mnt", other.clone()).unwrap();
    ctx.bind_mount(&root, b"/mnt2", other.clone()).unwrap();
    let (under, top) = ctx.umount_mount(&root, b"/mnt2").unwrap();
    assert!(Arc::ptr_eq(&top, &other));
    assert!(Arc::ptr_eq(&under, &ctx.lookup(&root, b"/mnt2", true).unwrap()));
    assert_eq!(ctx.getcwd(&other).unwrap(), b"/mnt");
    ctx.umount(&root, b"/mnt").unwrap();
    assert_eq!(err(ctx.umount(&root, b"/mnt")), Errno::EINVAL);
    // the bind goes, the source stays
    ctx.umount(&root, b"/dst").unwrap();
    assert_eq!(err(ctx.stat(&root, b"/dst/a", 0)), Errno::ENOENT);
    assert_eq!(ctx.stat(&root, b"/src/a", 0).unwrap().size, 3);
    assert_eq!(err(ctx.umount(&root, b"/src")), Errno::EINVAL);
}

#[test]
fn a_file_and_a_directory_bound_on_themselves() {
    let (root, cred) = tree();
    let (ctx, root_mnt) = mounted_ctx(&root, &cred);
    ctx.mkdir(&root, b"/sys", 0o755).unwrap();
    create(&ctx, &root, b"/sys/f", b"abc");
    create(&ctx, &root, b"/name", b"x");
    let dir = ctx.lookup(&root, b"/sys", true).unwrap();
    let file = ctx.lookup(&root, b"/name", true).unwrap();
    // systemd's ProtectKernelTunables= and ProtectHostname=: each bound
    // on itself, then read-only
    ctx.bind_mount(&root, b"/sys", dir.clone()).unwrap();
    ctx.bind_mount(&root, b"/name", file.clone()).unwrap();
    let dm = dir.mount_here(INITIAL_MNT_NS).unwrap();
    let fm = file.mount_here(INITIAL_MNT_NS).unwrap();
    assert!(Arc::ptr_eq(dm.root(), &dir) && Arc::ptr_eq(fm.root(), &file));
    assert!(dm.up().is_some_and(|(m, d)| Arc::ptr_eq(&m, &root_mnt) && Arc::ptr_eq(&d, &dir)));
    // the walk ends in the bind (no loop), below it too
    assert!(Arc::ptr_eq(&ctx.lookup(&root, b"/sys", true).unwrap(), &dir));
    assert!(ctx.walked_mount().is_some_and(|m| Arc::ptr_eq(&m, &dm)));
    assert_eq!(ctx.stat(&root, b"/sys/f", 0).unwrap().size, 3);
    assert!(ctx.walked_mount().is_some_and(|m| Arc::ptr_eq(&m, &dm)));
    assert!(Arc::ptr_eq(&ctx.lookup(&root, b"/name", true).unwrap(), &file));
    assert!(ctx.walked_mount().is_some_and(|m| Arc::ptr_eq(&m, &fm)));
    dm.set_flags(MNT_RDONLY);
    fm.set_flags(MNT_RDONLY);
    assert_eq!(err(ctx.open(&root, b"/sys/f", O_WRONLY, 0)), Errno::EROFS);
    assert_eq!(err(ctx.open(&root, b"/name", O_RDWR, 0)), Errno::EROFS);
    assert!(ctx.open(&root, b"/name", O_RDONLY, 0).is_ok());
    assert_eq!(err(ctx.mkdir(&root, b"/sys/d", 0o755)), Errno::EROFS);
    // `..` out of it is the root, through the root's mount
    ctx.mkdir(&root, b"/sys/../e", 0o755).unwrap();
    assert!(ctx.walked_mount().is_some_and(|m| Arc::ptr_eq(&m, &root_mnt)));
    assert_eq!(ctx.getcwd(&Path::new(dir.clone(), Some(dm.clone()))).unwrap(), b"/sys");
    // a second bind there: Linux stacks it, here EBUSY
    assert_eq!(err(ctx.bind_mount(&root, b"/sys", dir.clone())), Errno::EBUSY);
    // a source bound on itself binds elsewhere; a walk through that bind
    // is in it, not in the mount of the source's own place
    ctx.mkdir(&root, b"/dst", 0o755).unwrap();
    ctx.bind_mount(&root, b"/dst", dir.clone()).unwrap();
    assert_eq!(ctx.stat(&root, b"/dst/f", 0).unwrap().size, 3);
    let bm = ctx.lookup(&root, b"/dst", true).unwrap().mount_here(INITIAL_MNT_NS);
    assert!(bm.is_some_and(|m| Arc::ptr_eq(m.root(), &dir)));
    assert!(ctx.walked_mount().is_some_and(|m| !Arc::ptr_eq(&m, &dm)));
    assert!(ctx.open(&root, b"/dst/f", O_WRONLY, 0).is_ok());
    ctx.umount(&root, b"/dst").unwrap();
    assert!(dir.mount_here(INITIAL_MNT_NS).is_some_and(|m| Arc::ptr_eq(&m, &dm)));
    // umount takes each; the root's mount is the walk's again
    let (under, top) = ctx.umount_mount(&root, b"/sys").unwrap();
    assert!(Arc::ptr_eq(&under, &dir) && Arc::ptr_eq(&top, &dir));
    assert!(dir.mount_here(INITIAL_MNT_NS).is_none() && dm.up().is_none());
    ctx.mkdir(&root, b"/sys/d", 0o755).unwrap();
    ctx.umount(&root, b"/name").unwrap();
    assert!(ctx.open(&root, b"/name", O_RDWR, 0).is_ok());
    assert!(ctx.walked_mount().is_some_and(|m| Arc::ptr_eq(&m, &root_mnt)));
    assert_eq!(err(ctx.umount(&root, b"/sys")), Errno::EINVAL);
}

#[test]
fn a_file_bound_on_a_file() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    create(&ctx, &root, b"/hosts", b"127.0.0.1 x\n");
    create(&ctx, &root, b"/d/h", b"");
    let src = ctx.lookup(&root, b"/hosts", true).unwrap();
    // a file on a directory and a directory on a file: ENOTDIR
    assert_eq!(err(ctx.bind_mount(&root, b"/d", src.clone())), Errno::ENOTDIR);
    let d = ctx.lookup(&root, b"/d", true).unwrap();
    assert_eq!(err(ctx.bind_mount(&root, b"/d/h", d)), Errno::ENOTDIR);
    ctx.bind_mount(&root, b"/d/h", src.clone()).unwrap();
    assert_eq!(ctx.stat(&root, b"/d/h", 0).unwrap().size, 12);
    assert_eq!(ctx.stat(&root, b"/d/h", 0).unwrap().ino, src.ino());
    assert!(ctx.walked_mount().is_some_and(|m| Arc::ptr_eq(m.root(), &src)));
    // busy while mounted on, in any namespace
    assert_eq!(err(ctx.unlink(&root, b"/d/h")), Errno::EBUSY);
    // another namespace does not see it until it copies the mount
    let ns = Ctx::new(root.clone(), &cred).with_mnt_ns(9);
    assert_eq!(ns.stat(&root, b"/d/h", 0).unwrap().size, 0);
    let h = ns.lookup(&root, b"/d/h", true).unwrap();
    h.mount_in_ns(9, &Mount::new(src.clone()), false).unwrap();
    assert_eq!(ns.stat(&root, b"/d/h", 0).unwrap().size, 12);
    assert_eq!(err(h.mount_in_ns(9, &Mount::new(d_of(&ctx, &root)), false)), Errno::ENOTDIR);
    // umount takes the file's mount in its own namespace only
    let (under, top) = ctx.umount_mount(&root, b"/d/h").unwrap();
    assert!(Arc::ptr_eq(&under, &h));
    assert!(Arc::ptr_eq(&top, &src));
    assert_eq!(ctx.stat(&root, b"/d/h", 0).unwrap().size, 0);
    assert_eq!(err(ctx.umount(&root, b"/d/h")), Errno::EINVAL);
    assert_eq!(ns.stat(&root, b"/d/h", 0).unwrap().size, 12);
    assert!(h.unmount_in_ns(9, &src).is_some());
    ctx.unlink(&root, b"/d/h").unwrap();
    assert_eq!(ctx.stat(&root, b"/hosts", 0).unwrap().size, 12);
}

fn d_of(ctx: &Ctx, root: &Arc<Inode>) -> Arc<Inode> {
    ctx.lookup(root, b"/d", true).unwrap()
}

#[test]
fn unlinked_file_remembers_its_last_name() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/dir", 0o755).unwrap();
    create(&ctx, &root, b"/dir/f", b"x");
    ctx.link(&root, b"/dir/f", &root, b"/dir/g", 0).unwrap();
    let f = ctx.lookup(&root, b"/dir/f", true).unwrap();
    ctx.unlink(&root, b"/dir/f").unwrap();
    assert!(f.unlinked_from().is_none(), "a name is left");
    ctx.unlink(&root, b"/dir/g").unwrap();
    let (dir, name) = f.unlinked_from().unwrap();
    assert_eq!(ctx.getcwd(&dir).unwrap(), b"/dir");
    assert_eq!(name, b"g");
}

// ---------------------------------------------------------------- O_TMPFILE

#[test]
fn o_tmpfile_is_unnamed_and_linkable_once() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred).with_umask(0o027);
    let f = file(ctx.open(&root, b"/d", O_TMPFILE | O_RDWR, 0o666));
    let inode = f.inode().unwrap().clone();
    let st = inode.stat();
    assert_eq!(st.nlink, 0);
    assert_eq!(st.mode, S_IFREG | 0o640);
    assert_eq!(f.write(b"abc"), Ok(3));
    // not in the directory; its /proc name is "#<ino>"
    assert_eq!(err(ctx.stat(&root, b"/d/#1", 0)), Errno::ENOENT);
    let (dir, name) = inode.unlinked_from().unwrap();
    assert_eq!(ctx.getcwd(&dir).unwrap(), b"/d");
    assert_eq!(name, alloc::format!("#{}", st.ino).into_bytes());
    ctx.link(&inode, b"", &root, b"/d/t", AT_EMPTY_PATH).unwrap();
    assert_eq!(inode.stat().nlink, 1);
    assert_eq!(ctx.stat(&root, b"/d/t", 0).unwrap().size, 3);
    // named and unlinked again: no longer linkable
    ctx.unlink(&root, b"/d/t").unwrap();
    assert_eq!(err(ctx.link(&inode, b"", &root, b"/d/t", AT_EMPTY_PATH)), Errno::ENOENT);
}

#[test]
fn o_tmpfile_with_o_excl_is_never_linked() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = file(ctx.open(&root, b"/", O_TMPFILE | O_WRONLY | O_EXCL, 0o600));
    let inode = f.inode().unwrap().clone();
    assert_eq!(err(ctx.link(&inode, b"", &root, b"/t", AT_EMPTY_PATH)), Errno::ENOENT);
    assert_eq!(err(ctx.stat(&root, b"/t", 0)), Errno::ENOENT);
}

#[test]
fn o_tmpfile_errors() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(err(ctx.open(&root, b"/d", O_TMPFILE | O_RDONLY, 0)), Errno::EINVAL);
    assert_eq!(err(ctx.open(&root, b"/d", O_TMPFILE_BIT | O_RDWR, 0)), Errno::EINVAL);
    assert_eq!(err(ctx.open(&root, b"/d", O_TMPFILE | O_CREAT | O_RDWR, 0)), Errno::EINVAL);
    assert_eq!(err(ctx.open(&root, b"/f", O_TMPFILE | O_RDWR, 0)), Errno::ENOTDIR);
    assert_eq!(err(ctx.open(&root, b"/none", O_TMPFILE | O_RDWR, 0)), Errno::ENOENT);
    assert!(ctx.open(&root, b"/dl", O_TMPFILE | O_RDWR, 0).is_ok());
    assert_eq!(err(ctx.open(&root, b"/dl", O_TMPFILE | O_RDWR | O_NOFOLLOW, 0)), Errno::ENOTDIR);
    // an ordinary user: write permission on the directory, and no
    // AT_EMPTY_PATH link (CAP_DAC_READ_SEARCH)
    let alice = Cred::new(1000, 1000, vec![]);
    let a = Ctx::new(root.clone(), &alice);
    assert_eq!(err(a.open(&root, b"/d", O_TMPFILE | O_RDWR, 0o600)), Errno::EACCES);
    ctx.chmod(&root, b"/d", 0o777, 0).unwrap();
    let f = file(a.open(&root, b"/d", O_TMPFILE | O_RDWR, 0o600));
    let inode = f.inode().unwrap().clone();
    assert_eq!(inode.stat().uid, 1000);
    assert_eq!(err(a.link(&inode, b"", &root, b"/d/t", AT_EMPTY_PATH)), Errno::ENOENT);
    // a read-only filesystem (no file open for writing left)
    drop(f);
    root.set_fs_read_only(true).unwrap();
    assert_eq!(err(ctx.open(&root, b"/d", O_TMPFILE | O_RDWR, 0)), Errno::EROFS);
}

#[test]
fn tmpfs_inode_limit_enospc() {
    // nr_inodes=4: the root and three more.
    let root =
        new_tmpfs(1, Arc::new(FixedClock(Timespec::new(1, 0))), Some(8), Some(4), Arc::new(HeapPages::new()));
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    let s = root.statfs();
    assert_eq!((s.files, s.ffree), (4, 3));
    drop(file(ctx.open(&root, b"/a", O_CREAT | O_RDWR, 0o644)));
    ctx.mkdir(&root, b"/d", 0o755).unwrap();
    drop(file(ctx.open(&root, b"/b", O_CREAT | O_RDWR, 0o644)));
    assert_eq!((root.statfs().files, root.statfs().ffree), (4, 0));
    assert_eq!(err(ctx.open(&root, b"/c", O_CREAT | O_RDWR, 0o644)), Errno::ENOSPC);
    assert_eq!(ctx.mkdir(&root, b"/e", 0o755).err(), Some(Errno::ENOSPC));
    // An existing name is still found (no new inode needed).
    drop(file(ctx.open(&root, b"/a", O_CREAT | O_RDWR, 0o644)));
    // Removing one gives its inode back.
    ctx.unlink(&root, b"/b").unwrap();
    assert_eq!(root.statfs().ffree, 1);
    drop(file(ctx.open(&root, b"/c", O_CREAT | O_RDWR, 0o644)));
}

#[test]
fn protected_hardlinks_refuse_other_users_unsafe_sources() {
    let (root, rootc) = tree();
    let rctx = Ctx::new(root.clone(), &rootc);
    rctx.mkdir(&root, b"/tmp", 0o777).unwrap();
    rctx.chmod(&root, b"/tmp", 0o1777, 0).unwrap();
    create(&rctx, &root, b"/tmp/secret", b"s");
    rctx.chmod(&root, b"/tmp/secret", 0o600, 0).unwrap();
    create(&rctx, &root, b"/tmp/open", b"o");
    rctx.chmod(&root, b"/tmp/open", 0o666, 0).unwrap();
    create(&rctx, &root, b"/tmp/suid", b"x");
    rctx.chmod(&root, b"/tmp/suid", 0o4777, 0).unwrap();
    create(&rctx, &root, b"/tmp/sgidx", b"x");
    rctx.chmod(&root, b"/tmp/sgidx", 0o2676, 0).unwrap();
    let nobody = Cred::user(65534, 65534);
    let n = Ctx::new(root.clone(), &nobody);
    // not readable+writable, setuid, executable setgid: EPERM
    assert_eq!(n.link(&root, b"/tmp/secret", &root, b"/tmp/l1", 0), Err(Errno::EPERM));
    assert_eq!(n.link(&root, b"/tmp/suid", &root, b"/tmp/l2", 0), Err(Errno::EPERM));
    assert_eq!(n.link(&root, b"/tmp/sgidx", &root, b"/tmp/l3", 0), Err(Errno::EPERM));
    // a directory is not a safe source either (EPERM, as before)
    assert_eq!(n.link(&root, b"/d", &root, b"/tmp/l4", 0), Err(Errno::EPERM));
    // a regular file it may read and write: allowed
    assert_eq!(n.link(&root, b"/tmp/open", &root, b"/tmp/l5", 0), Ok(()));
    // its own file, even 0000: allowed; root links anything
    create(&n, &root, b"/tmp/mine", b"m");
    n.chmod(&root, b"/tmp/mine", 0, 0).unwrap();
    assert_eq!(n.link(&root, b"/tmp/mine", &root, b"/tmp/l6", 0), Ok(()));
    assert_eq!(rctx.link(&root, b"/tmp/secret", &root, b"/tmp/l7", 0), Ok(()));
    // EEXIST comes first
    assert_eq!(n.link(&root, b"/tmp/secret", &root, b"/tmp/open", 0), Err(Errno::EEXIST));
}

#[test]
fn protected_symlinks_in_sticky_world_writable_directories() {
    let (root, rootc) = tree();
    let rctx = Ctx::new(root.clone(), &rootc);
    rctx.mkdir(&root, b"/tmp", 0o777).unwrap();
    rctx.chmod(&root, b"/tmp", 0o1777, 0).unwrap();
    let nobody = Cred::user(65534, 65534);
    let n = Ctx::new(root.clone(), &nobody);
    n.symlink(b"/f", &root, b"/tmp/theirs").unwrap();
    rctx.symlink(b"/f", &root, b"/tmp/roots").unwrap();
    // root following nobody's link in sticky /tmp: EACCES (no exemption)
    assert_eq!(err(rctx.open(&root, b"/tmp/theirs", O_RDONLY, 0)), Errno::EACCES);
    assert_eq!(rctx.stat(&root, b"/tmp/theirs", 0).err(), Some(Errno::EACCES));
    // not following, readlink: fine
    assert!(rctx.stat(&root, b"/tmp/theirs", AT_SYMLINK_NOFOLLOW).is_ok());
    assert_eq!(rctx.readlink(&root, b"/tmp/theirs").unwrap(), b"/f");
    // the owner follows its own; anyone follows the directory owner's
    assert!(n.open(&root, b"/tmp/theirs", O_RDONLY, 0).is_ok());
    assert!(n.open(&root, b"/tmp/roots", O_RDONLY, 0).is_ok());
    // a sticky directory that is not world-writable: no restriction
    rctx.chmod(&root, b"/tmp", 0o1775, 0).unwrap();
    assert!(rctx.open(&root, b"/tmp/theirs", O_RDONLY, 0).is_ok());
}

#[test]
fn protected_fifos_and_regular_in_sticky_directories() {
    // may_create_in_sticky(): O_CREAT of an existing FIFO or regular file
    // that neither the opener nor the directory's owner owns, in a sticky
    // world-writable directory: EACCES, root included; without O_CREAT,
    // with O_CREAT|O_EXCL (EEXIST first) or in a plain directory: as usual.
    let (root, rootc) = tree();
    let rctx = Ctx::new(root.clone(), &rootc);
    rctx.mkdir(&root, b"/tmp", 0o777).unwrap();
    rctx.chmod(&root, b"/tmp", 0o1777, 0).unwrap();
    let nobody = Cred::user(65534, 65534);
    let n = Ctx::new(root.clone(), &nobody);
    file(n.open(&root, b"/tmp/reg", O_CREAT | O_WRONLY, 0o666));
    n.mknod(&root, b"/tmp/fifo", S_IFIFO | 0o666, 0).unwrap();
    assert_eq!((crate::protected_fifos(), crate::protected_regular()), (1, 1));
    assert_eq!(err(rctx.open(&root, b"/tmp/reg", O_CREAT | O_RDWR, 0o644)), Errno::EACCES);
    assert_eq!(err(rctx.open(&root, b"/tmp/fifo", O_CREAT | O_RDWR, 0o644)), Errno::EACCES);
    assert_eq!(err(rctx.open(&root, b"/tmp/reg", O_CREAT | O_EXCL | O_RDWR, 0o644)), Errno::EEXIST);
    file(rctx.open(&root, b"/tmp/reg", O_RDWR, 0));
    // the owner itself, and a file of the directory's owner
    file(n.open(&root, b"/tmp/reg", O_CREAT | O_RDWR, 0o644));
    file(rctx.open(&root, b"/tmp/rootreg", O_CREAT | O_WRONLY, 0o666));
    file(n.open(&root, b"/tmp/rootreg", O_CREAT | O_RDWR, 0o644));
    // group-writable sticky directory: only level 2
    rctx.chmod(&root, b"/tmp", 0o1770, 0).unwrap();
    file(rctx.open(&root, b"/tmp/reg", O_CREAT | O_RDWR, 0o644));
    crate::set_protected_regular(2);
    let at2 = rctx.open(&root, b"/tmp/reg", O_CREAT | O_RDWR, 0o644).err();
    let fifo_at1 = rctx.open(&root, b"/tmp/fifo", O_CREAT | O_RDWR, 0o644).err();
    crate::set_protected_regular(1);
    assert_eq!(at2, Some(Errno::EACCES));
    assert_eq!(fifo_at1, None);
    // not sticky: no restriction
    rctx.chmod(&root, b"/tmp", 0o777, 0).unwrap();
    file(rctx.open(&root, b"/tmp/reg", O_CREAT | O_RDWR, 0o644));
}

// ------------------------------------------------- ETXTBSY (i_writecount)

#[test]
fn etxtbsy_a_running_program_refuses_writers() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = ctx.lookup(&root, b"/f", true).unwrap();
    let run = f.deny_write_access().unwrap();
    assert!(f.write_denied());
    // open(2) for writing, O_TRUNC even read-only, truncate(2): ETXTBSY
    assert_eq!(err(ctx.open(&root, b"/f", O_WRONLY, 0)), Errno::ETXTBSY);
    assert_eq!(err(ctx.open(&root, b"/f", O_RDWR, 0)), Errno::ETXTBSY);
    assert_eq!(err(ctx.open(&root, b"/f", O_RDONLY | O_TRUNC, 0)), Errno::ETXTBSY);
    assert_eq!(err(ctx.open(&root, b"/l", O_WRONLY | O_CREAT, 0o644)), Errno::ETXTBSY);
    assert_eq!(err(ctx.truncate(&root, b"/f", 0)), Errno::ETXTBSY);
    // nothing was truncated; reading and O_PATH work
    let r = file(ctx.open(&root, b"/f", O_RDONLY, 0));
    assert_eq!(read_all(&*r), b"hello");
    file(ctx.open(&root, b"/f", O_PATH | O_RDWR, 0));
    // permission comes first: EACCES, not ETXTBSY
    let bob = Cred::new(1000, 1000, vec![]);
    assert_eq!(err(Ctx::new(root.clone(), &bob).open(&root, b"/f", O_WRONLY, 0)), Errno::EACCES);
    // a fork's copy holds it too: both must go
    let child = run.clone();
    drop(run);
    assert_eq!(err(ctx.open(&root, b"/f", O_WRONLY, 0)), Errno::ETXTBSY);
    drop(child);
    assert!(!f.write_denied());
    let w = file(ctx.open(&root, b"/f", O_WRONLY | O_TRUNC, 0));
    assert_eq!(w.write(b"x"), Ok(1));
    ctx.truncate(&root, b"/f", 0).unwrap();
}

#[test]
fn etxtbsy_a_file_open_for_writing_cannot_run() {
    let (root, cred) = tree();
    let ctx = Ctx::new(root.clone(), &cred);
    let f = ctx.lookup(&root, b"/f", true).unwrap();
    let w = file(ctx.open(&root, b"/f", O_RDWR, 0));
    let w2 = file(ctx.open(&root, b"/f", O_WRONLY, 0));
    assert_eq!(err(f.deny_write_access()), Errno::ETXTBSY);
    drop(w);
    assert_eq!(err(f.deny_write_access()), Errno::ETXTBSY);
    drop(w2);
    // read-only and O_PATH opens do not count
    let _r = file(ctx.open(&root, b"/f", O_RDONLY, 0));
    let _p = file(ctx.open(&root, b"/f", O_PATH | O_WRONLY, 0));
    let run = f.deny_write_access().unwrap();
    // a second program from the same file
    let run2 = f.deny_write_access().unwrap();
    drop(run);
    assert_eq!(err(ctx.open(&root, b"/f", O_RDWR | O_TRUNC, 0)), Errno::ETXTBSY);
    drop(run2);
    // the refused opens left no writer behind
    file(ctx.open(&root, b"/f", O_RDWR | O_TRUNC, 0));
    assert_eq!(f.size(), 0);
    drop(f.deny_write_access().unwrap());
}

#[test]
fn path_resolution7_link_targets_walk_with_their_slashes_and_the_rest_of_the_path() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/d", 0o755).unwrap();
    ctx.mkdir(&root, b"/d/e", 0o755).unwrap();
    create(&ctx, &root, b"/d/e/f", b"abc");
    // a target with doubled and trailing slashes, a link to a link, a
    // target whose last component is followed by the rest of the path
    ctx.symlink(b"d//e/", &root, b"/l1").unwrap();
    ctx.symlink(b"../l1", &root, b"/d/l2").unwrap();
    ctx.symlink(b"d/e", &root, b"/l3").unwrap();
    ctx.symlink(b"///", &root, b"/d/top").unwrap();
    for p in [&b"//l1//f"[..], b"/d/l2/f", b"/l3/f", b"l3///f", b"/d/top/d/l2/f", b"/d/l2/../e/f"] {
        assert_eq!(
            ctx.lookup(&root, p, true).map(|i| i.size()),
            Ok(3),
            "{}",
            std::string::String::from_utf8_lossy(p)
        );
    }
    // the parent of a new name reached through links in the middle
    ctx.mkdir(&root, b"/d/l2/new", 0o755).unwrap();
    assert!(ctx.lookup(&root, b"/d/e/new", true).unwrap().is_dir());
    // a file in the middle, a missing component, a trailing slash on a file
    assert_eq!(err(ctx.lookup(&root, b"/l3/f/x", true)), Errno::ENOTDIR);
    assert_eq!(err(ctx.lookup(&root, b"/d/l2/nope/f", true)), Errno::ENOENT);
    assert_eq!(err(ctx.lookup(&root, b"/l1/f/", true)), Errno::ENOTDIR);
    // a directory that is not searchable stops the walk
    let bob = Cred::user(9, 9);
    ctx.chmod(&root, b"/d", 0o700, 0).unwrap();
    assert_eq!(err(Ctx::new(root.clone(), &bob).lookup(&root, b"/l3/f", true)), Errno::EACCES);
    // a name longer than NAME_MAX in the middle
    let long = alloc::vec![b'x'; NAME_MAX + 1];
    let mut p = b"/".to_vec();
    p.extend_from_slice(&long);
    p.extend_from_slice(b"/f");
    assert_eq!(err(ctx.lookup(&root, &p, true)), Errno::ENAMETOOLONG);
}

#[test]
fn mount2_a_walk_crosses_a_mount_only_while_it_is_there() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/m", 0o755).unwrap();
    create(&ctx, &root, b"/m/under", b"1");
    let other = fs();
    create(&Ctx::new(other.clone(), &cred), &other, b"/over", b"22");
    ctx.mount(&root, b"/m", other).unwrap();
    assert_eq!(ctx.lookup(&root, b"/m/over", true).map(|i| i.size()), Ok(2));
    assert_eq!(err(ctx.lookup(&root, b"/m/under", true)), Errno::ENOENT);
    ctx.umount(&root, b"/m").unwrap();
    assert_eq!(ctx.lookup(&root, b"/m/under", true).map(|i| i.size()), Ok(1));
    assert_eq!(err(ctx.lookup(&root, b"/m/over", true)), Errno::ENOENT);
}

/// Heap pages that count the preemption points a release of many pages
/// offers, and check that no lock of the file is held at one.
struct CountingPages {
    inner: HeapPages,
    points: core::sync::atomic::AtomicUsize,
    file: spin::Mutex<Option<Arc<Inode>>>,
}

impl PageMemory for CountingPages {
    fn alloc_zeroed(&self) -> Option<PageId> {
        self.inner.alloc_zeroed()
    }
    fn add_ref(&self, page: PageId) {
        self.inner.add_ref(page)
    }
    fn release(&self, page: PageId) {
        self.inner.release(page)
    }
    fn read(&self, page: PageId, offset: usize, buf: &mut [u8]) {
        self.inner.read(page, offset, buf)
    }
    fn write(&self, page: PageId, offset: usize, data: &[u8]) {
        self.inner.write(page, offset, data)
    }
    fn preempt_point(&self) {
        self.points.fetch_add(1, Ordering::Relaxed);
        // the inode's lock is free: its size can be read at the point
        if let Some(f) = self.file.lock().as_ref() {
            assert_eq!(f.size(), 0, "the size is set before the pages go");
        }
    }
}

/// truncate(2) of a big file to 0 (Linux's truncate_inode_pages_range has
/// a cond_resched per batch): the pages go after the inode's lock, with a
/// preemption point every 1024 pages; a punched hole the same way.
#[test]
fn truncating_a_big_file_offers_preemption_points() {
    let mem = Arc::new(CountingPages {
        inner: HeapPages::new(),
        points: core::sync::atomic::AtomicUsize::new(0),
        file: spin::Mutex::new(None),
    });
    let root = new_ramfs_in(makedev(0, 9), Arc::new(Tick(AtomicI64::new(1))), None, mem.clone());
    let f = Inode::new_unlinked(&root, 0o600, 0, 0);
    let page = vec![7u8; PAGE_SIZE];
    for i in 0..3000u64 {
        f.write_at(i * PAGE_SIZE as u64, &page).unwrap();
    }
    assert_eq!(mem.inner.live(), 3000);
    *mem.file.lock() = Some(f.clone());
    f.set_size(0).unwrap();
    assert_eq!(mem.inner.live(), 0);
    // 3000 pages: points after 1024 and 2048
    assert_eq!(mem.points.load(Ordering::Relaxed), 2);
    *mem.file.lock() = None;
    for i in 0..2100u64 {
        f.write_at(i * PAGE_SIZE as u64, &page).unwrap();
    }
    f.punch_hole(0, 2100 * PAGE_SIZE as u64).unwrap();
    assert_eq!(mem.inner.live(), 0);
    assert_eq!(mem.points.load(Ordering::Relaxed), 4);
    assert_eq!(f.size(), 2100 * PAGE_SIZE as u64);
}

/// A directory that looks names up as free but has no operations to make
/// them (Linux's sysfs, kernfs).
struct SKernfs;

impl SynthNode for SKernfs {
    fn create_errno(&self, open: bool) -> Errno {
        if open { Errno::EACCES } else { Errno::EPERM }
    }
}

#[test]
fn synthetic_create_errno_after_the_permission_check() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/sys", 0o755).unwrap();
    let s = new_synthfs(makedev(0, 10), Arc::new(Tick(AtomicI64::new(0))), Arc::new(SKernfs));
    ctx.mount(&root, b"/sys", s).unwrap();
    assert_eq!(ctx.open(&root, b"/sys/new", O_CREAT | O_WRONLY, 0o644).err(), Some(Errno::EACCES));
    assert_eq!(ctx.mkdir(&root, b"/sys/new", 0o755).err(), Some(Errno::EPERM));
    assert_eq!(ctx.symlink(b"x", &root, b"/sys/new").err(), Some(Errno::EPERM));
    assert_eq!(ctx.open(&root, b"/sys/new", O_RDONLY, 0).err(), Some(Errno::ENOENT));
    // a user without write permission on the directory: EACCES first
    let user = Cred::user(1000, 1000);
    let uctx = Ctx::new(root.clone(), &user);
    assert_eq!(uctx.mkdir(&root, b"/sys/new", 0o755).err(), Some(Errno::EACCES));
    // /proc's default: ENOENT
    let (proot, pcred) = synth_setup();
    let pctx = Ctx::new(proot.clone(), &pcred);
    assert_eq!(pctx.mkdir(&proot, b"/proc/new", 0o755).err(), Some(Errno::ENOENT));
}

/// A /proc/<pid>/fd-like directory: its entries ("3", "4", ...) at the
/// stable positions of their numbers, removable while it is listed.
struct SFds(Arc<spin::Mutex<Vec<u64>>>);

impl SynthNode for SFds {
    fn entries(&self, _dir: &Arc<Inode>) -> Vec<SynthEntry> {
        self.0
            .lock()
            .iter()
            .map(|&n| SynthEntry::new(std::format!("{n}").into_bytes(), 100 + n, FileType::Symlink).at(n))
            .collect()
    }
}

#[test]
fn synthetic_directory_with_stable_positions_survives_removals() {
    // one entry per getdents64 (a 24-byte buffer), each removed once read
    // (CPython's close_fds over /proc/self/fd): every entry is seen once
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/fds", 0o555).unwrap();
    let list = Arc::new(spin::Mutex::new((3..10).collect::<Vec<u64>>()));
    let s = new_synthfs(makedev(0, 10), Arc::new(Tick(AtomicI64::new(0))), Arc::new(SFds(list.clone())));
    ctx.mount(&root, b"/fds", s).unwrap();
    let dir = file(ctx.open(&root, b"/fds", O_RDONLY, 0));
    let mut seen = Vec::new();
    let mut one = [0u8; 24];
    while let Ok(n) = dir.getdents64(&mut one) {
        if n == 0 {
            break;
        }
        if one[19] != b'.' {
            let v = u64::from(one[19] - b'0');
            list.lock().retain(|&x| x != v);
            seen.push(v);
        }
    }
    assert_eq!(seen, (3..10).collect::<Vec<u64>>());
    assert!(list.lock().is_empty());
}

#[test]
fn a_big_synthetic_directory_lists_every_entry_once_in_order() {
    // 20,000 entries at sparse positions (fds 0, 2, 4, ...), read with a
    // 4 KiB buffer: each call resumes after the last entry it gave (a
    // listing that searched from the start per entry takes ~2 * 10^8
    // steps here)
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/fds", 0o555).unwrap();
    let list = Arc::new(spin::Mutex::new((0..20_000u64).map(|n| n * 2).collect::<Vec<u64>>()));
    let s = new_synthfs(makedev(0, 10), Arc::new(Tick(AtomicI64::new(0))), Arc::new(SFds(list.clone())));
    ctx.mount(&root, b"/fds", s).unwrap();
    let dir = file(ctx.open(&root, b"/fds", O_RDONLY, 0));
    let mut names = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = dir.getdents64(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        let mut off = 0;
        while off < n {
            let reclen = usize::from(u16::from_ne_bytes([buf[off + 16], buf[off + 17]]));
            let name = &buf[off + 19..off + reclen];
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            names.push(std::string::String::from_utf8(name[..end].to_vec()).unwrap());
            off += reclen;
        }
    }
    assert_eq!(names.len(), 20_002);
    assert_eq!(&names[..2], &[".", ".."]);
    for (i, n) in names[2..].iter().enumerate() {
        assert_eq!(n, &std::format!("{}", i * 2));
    }
}

/// Root's credential without the capabilities `drop` (bits by number).
fn root_without(drop: &[u32]) -> Cred {
    let caps = drop.iter().fold(CAP_ALL, |c, &n| c & !(1u64 << n));
    Cred::root().with_caps(caps)
}

/// `/other` (0600, user 1000, "x") and `/od` (0700, user 1000) holding `/od/f`.
fn others_files() -> (Arc<Inode>, Cred) {
    let (root, rootc) = tree();
    let r = Ctx::new(root.clone(), &rootc);
    create(&r, &root, b"/other", b"x");
    r.chmod(&root, b"/other", 0o600, 0).unwrap();
    r.chown(&root, b"/other", Some(1000), Some(1000), 0).unwrap();
    r.mkdir(&root, b"/od", 0o700).unwrap();
    create(&r, &root, b"/od/f", b"y");
    r.chown(&root, b"/od", Some(1000), Some(1000), 0).unwrap();
    (root, rootc)
}

#[test]
fn dac_override_comes_from_the_capability_not_from_uid_0() {
    let (root, _) = others_files();
    // uid 0 without DAC_OVERRIDE and DAC_READ_SEARCH: an ordinary user
    let none = root_without(&[CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH]);
    let c = Ctx::new(root.clone(), &none);
    assert_eq!(err(c.open(&root, b"/other", O_RDONLY, 0)), Errno::EACCES);
    assert_eq!(err(c.open(&root, b"/other", O_WRONLY, 0)), Errno::EACCES);
    assert_eq!(err(c.open(&root, b"/od/f", O_RDONLY, 0)), Errno::EACCES);
    assert_eq!(err(c.open(&root, b"/od", O_RDONLY | O_DIRECTORY, 0)), Errno::EACCES);
    // fs uid 1000 (not the owner) with only CAP_DAC_OVERRIDE: anything
    // but executing a file without execute bits
    let over = Cred::user(2000, 2000).with_caps(1 << CAP_DAC_OVERRIDE);
    let o = Ctx::new(root.clone(), &over);
    assert!(o.open(&root, b"/other", O_RDWR, 0).is_ok());
    assert!(o.open(&root, b"/od/f", O_RDWR, 0).is_ok());
    assert!(o.open(&root, b"/od/new", O_CREAT | O_RDWR, 0o600).is_ok());
    assert_eq!(err(o.access(&root, b"/other", X_OK, 0)), Errno::EACCES);
    let r = Cred::root();
    Ctx::new(root.clone(), &r).chmod(&root, b"/other", 0o100, 0).unwrap();
    assert!(o.access(&root, b"/other", X_OK | R_OK | W_OK, 0).is_ok());
    assert!(o.access(&root, b"/od", X_OK | R_OK | W_OK, 0).is_ok());
}

#[test]
fn dac_read_search_reads_files_and_searches_directories_only() {
    let (root, _) = others_files();
    let rs = Cred::user(2000, 2000).with_caps(1 << CAP_DAC_READ_SEARCH);
    let c = Ctx::new(root.clone(), &rs);
    assert!(c.open(&root, b"/other", O_RDONLY, 0).is_ok());
    assert_eq!(err(c.open(&root, b"/other", O_WRONLY, 0)), Errno::EACCES);
    assert_eq!(err(c.open(&root, b"/other", O_RDWR, 0)), Errno::EACCES);
    assert_eq!(err(c.access(&root, b"/other", R_OK | X_OK, 0)), Errno::EACCES);
    // search and read of the directory, not writing in it
    assert!(c.open(&root, b"/od/f", O_RDONLY, 0).is_ok());
    assert!(c.access(&root, b"/od", R_OK | X_OK, 0).is_ok());
    assert_eq!(err(c.open(&root, b"/od/new", O_CREAT | O_RDWR, 0o600)), Errno::EACCES);
    assert_eq!(err(c.unlink(&root, b"/od/f")), Errno::EACCES);
}

#[test]
fn fowner_chmod_utimes_noatime_and_sticky_deletion() {
    let (root, rootc) = others_files();
    let r = Ctx::new(root.clone(), &rootc);
    let no = root_without(&[CAP_FOWNER]);
    let c = Ctx::new(root.clone(), &no);
    assert_eq!(err(c.chmod(&root, b"/other", 0o644, 0)), Errno::EPERM);
    assert_eq!(err(c.utimens(&root, b"/other", Some([Timespec::new(1, 0); 2]), 0)), Errno::EPERM);
    // both times now: write permission suffices (DAC_OVERRIDE kept)
    assert!(c.utimens(&root, b"/other", None, 0).is_ok());
    assert_eq!(err(c.open(&root, b"/other", O_RDONLY | O_NOATIME, 0)), Errno::EPERM);
    // another user with CAP_FOWNER acts as the owner
    let fo = Cred::user(2000, 2000).with_caps(1 << CAP_FOWNER);
    let f = Ctx::new(root.clone(), &fo);
    assert!(f.chmod(&root, b"/other", 0o644, 0).is_ok());
    assert!(f.open(&root, b"/other", O_RDONLY | O_NOATIME, 0).is_ok());
    // sticky directory: only the file's or the directory's owner, or FOWNER
    r.mkdir(&root, b"/tmp", 0o777).unwrap();
    r.chmod(&root, b"/tmp", 0o1777, 0).unwrap();
    r.chown(&root, b"/tmp", Some(1000), Some(1000), 0).unwrap();
    create(&r, &root, b"/tmp/a", b"");
    create(&r, &root, b"/tmp/b", b"");
    r.chown(&root, b"/tmp/a", Some(1000), Some(1000), 0).unwrap();
    r.chown(&root, b"/tmp/b", Some(1000), Some(1000), 0).unwrap();
    assert_eq!(err(c.unlink(&root, b"/tmp/a")), Errno::EPERM);
    let fo2 = Cred::user(2000, 2000).with_caps(1 << CAP_FOWNER);
    assert!(Ctx::new(root.clone(), &fo2).unlink(&root, b"/tmp/a").is_ok());
    assert!(r.unlink(&root, b"/tmp/b").is_ok());
}

#[test]
fn chown_fsetid_and_mknod_follow_their_capabilities() {
    let (root, rootc) = others_files();
    let r = Ctx::new(root.clone(), &rootc);
    let no = root_without(&[CAP_CHOWN]);
    let c = Ctx::new(root.clone(), &no);
    assert_eq!(err(c.chown(&root, b"/other", Some(2000), None, 0)), Errno::EPERM);
    assert_eq!(err(c.chown(&root, b"/other", None, Some(2000), 0)), Errno::EPERM);
    let ch = Cred::user(2000, 2000).with_caps(1 << CAP_CHOWN);
    assert!(Ctx::new(root.clone(), &ch).chown(&root, b"/other", Some(3000), Some(3000), 0).is_ok());
    let st = r.stat(&root, b"/other", 0).unwrap();
    assert_eq!((st.uid, st.gid), (3000, 3000));
    // chmod by root outside the file's group: S_ISGID stays only with FSETID
    let nofsetid = root_without(&[CAP_FSETID]);
    Ctx::new(root.clone(), &nofsetid).chmod(&root, b"/other", 0o2755, 0).unwrap();
    assert_eq!(r.stat(&root, b"/other", 0).unwrap().mode & 0o7777, 0o755);
    r.chmod(&root, b"/other", 0o2755, 0).unwrap();
    assert_eq!(r.stat(&root, b"/other", 0).unwrap().mode & 0o7777, 0o2755);
    // a new group-executable file in a setgid directory of another group
    r.mkdir(&root, b"/sg", 0o777).unwrap();
    r.chown(&root, b"/sg", None, Some(3000), 0).unwrap();
    r.chmod(&root, b"/sg", 0o2777, 0).unwrap();
    let f = Ctx::new(root.clone(), &nofsetid);
    f.open(&root, b"/sg/a", O_CREAT | O_RDWR, 0o2775).unwrap();
    assert_eq!(r.stat(&root, b"/sg/a", 0).unwrap().mode & 0o7777, 0o775);
    r.open(&root, b"/sg/b", O_CREAT | O_RDWR, 0o2775).unwrap();
    assert_eq!(r.stat(&root, b"/sg/b", 0).unwrap().mode & 0o7777, 0o2775);
    // CAP_MKNOD, not uid 0, makes devices
    let nomknod = root_without(&[CAP_MKNOD]);
    assert_eq!(
        err(Ctx::new(root.clone(), &nomknod).mknod(&root, b"/null", S_IFCHR | 0o666, 0x103)),
        Errno::EPERM
    );
    let mk = Cred::user(2000, 2000).with_caps(1 << CAP_MKNOD);
    r.chmod(&root, b"/", 0o777, 0).unwrap();
    assert!(Ctx::new(root.clone(), &mk).mknod(&root, b"/null", S_IFCHR | 0o666, 0x103).is_ok());
}

#[test]
fn hardlinks_empty_path_trusted_xattrs_and_mount_by_capability() {
    let (root, rootc) = others_files();
    let r = Ctx::new(root.clone(), &rootc);
    // protected_hardlinks: another's unreadable file needs CAP_FOWNER
    let no = root_without(&[CAP_FOWNER, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH]);
    let c = Ctx::new(root.clone(), &no);
    assert_eq!(err(c.link(&root, b"/other", &root, b"/l1", 0)), Errno::EPERM);
    let fo = root_without(&[CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH]);
    assert!(Ctx::new(root.clone(), &fo).link(&root, b"/other", &root, b"/l1", 0).is_ok());
    // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH
    let other = r.lookup(&root, b"/other", true).unwrap();
    let nrs = root_without(&[CAP_DAC_READ_SEARCH]);
    assert_eq!(
        err(Ctx::new(root.clone(), &nrs).link(&other, b"", &root, b"/l2", AT_EMPTY_PATH)),
        Errno::ENOENT
    );
    assert!(r.link(&other, b"", &root, b"/l2", AT_EMPTY_PATH).is_ok());
    // trusted.* by CAP_SYS_ADMIN
    let f = r.lookup(&root, b"/f", true).unwrap();
    f.setxattr(&rootc, b"trusted.t", b"v", 0).unwrap();
    let nsa = root_without(&[CAP_SYS_ADMIN]);
    assert_eq!(f.setxattr(&nsa, b"trusted.u", b"v", 0), Err(Errno::EPERM));
    assert_eq!(f.getxattr(&nsa, b"trusted.t", &mut [0; 8]), Err(Errno::ENODATA));
    assert_eq!(f.listxattr(&nsa, &mut []), Ok(0));
    assert_eq!(f.listxattr(&rootc, &mut []), Ok(10));
    let sa = Cred::user(2000, 2000).with_caps(1 << CAP_SYS_ADMIN);
    assert_eq!(f.getxattr(&sa, b"trusted.t", &mut [0; 8]), Ok(1));
    // mount by CAP_SYS_ADMIN
    assert_eq!(err(Ctx::new(root.clone(), &nsa).mount(&root, b"/d", fs())), Errno::EPERM);
    assert!(Ctx::new(root.clone(), &sa).mount(&root, b"/d", fs()).is_ok());
}

#[test]
fn cred_constructors_document_their_capabilities() {
    assert_eq!(Cred::root().caps, CAP_ALL);
    assert!(Cred::root().has_cap(CAP_MKNOD) && Cred::root().has_cap(40) && !Cred::root().has_cap(41));
    assert_eq!(Cred::new(0, 0, vec![]).caps, 0);
    assert_eq!(Cred::user(0, 0).caps, 0);
    assert_eq!(Cred::default().caps, 0);
    // uid 0 without capabilities owns root's files but overrides nothing
    assert!(Cred::user(0, 0).permits(false, 0, 0, 0o600, R_OK | W_OK));
    assert!(!Cred::user(0, 0).permits(false, 1, 1, 0o600, R_OK));
    assert!(!Cred::user(0, 0).permits(true, 1, 1, 0o700, X_OK));
}

#[test]
fn tmpfs_directory_sizes_count_entries() {
    let root = new_ramfs(1, Arc::new(FixedClock(Timespec::new(1, 0))), None);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/d", 0o755).unwrap();
    assert_eq!(root.stat().size, 0, "ramfs: 0");
    root.set_tmpfs_dir_sizes();
    assert_eq!(root.stat().size, 60);
    file(ctx.open(&root, b"/f", O_CREAT | O_RDWR, 0o644));
    assert_eq!(root.stat().size, 80);
    ctx.rename(&root, b"/f", &root, b"/d/f", 0).unwrap();
    assert_eq!((root.stat().size, ctx.stat(&root, b"/d", 0).unwrap().size), (60, 60));
    ctx.unlink(&root, b"/d/f").unwrap();
    ctx.rmdir(&root, b"/d").unwrap();
    assert_eq!(root.stat().size, 40);
}

/// A directory of directories that makes and removes them itself
/// (cgroup2's shape): names in a list, "busy" refused.
struct Dirs(std::sync::Mutex<Vec<Vec<u8>>>);

struct Leaf;
impl SynthNode for Leaf {}

impl SynthNode for Dirs {
    fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> linux_abi::Result<Option<Arc<Inode>>> {
        if name == b"file" {
            return Ok(Some(Inode::new_synth(dir, name, FileType::Regular, 0o644, 2, Arc::new(Leaf))));
        }
        let found = self.0.lock().unwrap().iter().any(|n| n == name);
        Ok(found.then(|| Inode::new_synth(dir, name, FileType::Directory, 0o755, 3, Arc::new(Leaf))))
    }
    fn has_dir_ops(&self) -> bool {
        true
    }
    fn mkdir(&self, name: &[u8], _perm: u32, _cred: &Cred) -> linux_abi::Result<()> {
        self.0.lock().unwrap().push(name.to_vec());
        Ok(())
    }
    fn rmdir(&self, name: &[u8], _cred: &Cred) -> linux_abi::Result<()> {
        if name == b"busy" {
            return Err(Errno::EBUSY);
        }
        self.0.lock().unwrap().retain(|n| n != name);
        Ok(())
    }
}

#[test]
fn synthetic_mkdir_and_rmdir_hooks() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/cg", 0o755).unwrap();
    let clock = Arc::new(FixedClock(Timespec::new(0, 0)));
    let node = Arc::new(Dirs(std::sync::Mutex::new(Vec::new())));
    let cg = new_synthfs(makedev(0, 97), clock, node.clone());
    cg.chmod(&Cred::root(), 0o755).unwrap();
    ctx.mount(&root, b"/cg", cg).unwrap();
    let made = ctx.mkdir(&root, b"/cg/a", 0o755).unwrap();
    assert!(made.is_dir());
    assert_eq!(err(ctx.mkdir(&root, b"/cg/a", 0o755)), Errno::EEXIST);
    assert_eq!(err(ctx.mkdir(&root, b"/cg/file", 0o755)), Errno::EEXIST);
    ctx.mkdir(&root, b"/cg/busy", 0o755).unwrap();
    assert_eq!(err(ctx.rmdir(&root, b"/cg/busy")), Errno::EBUSY);
    assert_eq!(err(ctx.rmdir(&root, b"/cg/file")), Errno::ENOTDIR);
    assert_eq!(err(ctx.rmdir(&root, b"/cg/none")), Errno::ENOENT);
    // the directory's permission first
    let user = Cred::user(1000, 1000);
    let uctx = Ctx::new(root.clone(), &user);
    assert_eq!(err(uctx.mkdir(&root, b"/cg/b", 0o755)), Errno::EACCES);
    assert_eq!(err(uctx.rmdir(&root, b"/cg/a")), Errno::EACCES);
    ctx.rmdir(&root, b"/cg/a").unwrap();
    assert_eq!(*node.0.lock().unwrap(), vec![b"busy".to_vec()]);
    // mknod and files are still refused there
    assert_eq!(err(ctx.mknod(&root, b"/cg/f", S_IFREG | 0o644, 0)), Errno::ENOENT);
}

/// A synthetic root with a directory `m` that [`SynthNode::stays`] and one
/// `t` that does not.
struct StayRoot;
struct StayDir(bool);
impl SynthNode for StayDir {
    fn stays(&self) -> bool {
        self.0
    }
}
impl SynthNode for StayRoot {
    fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> linux_abi::Result<Option<Arc<Inode>>> {
        let stays = match name {
            b"m" => true,
            b"t" => false,
            _ => return Ok(None),
        };
        Ok(Some(Inode::new_synth(dir, name, FileType::Directory, 0o755, 5, Arc::new(StayDir(stays)))))
    }
}

#[test]
fn a_synthetic_directory_that_stays_keeps_its_mount() {
    let root = fs();
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    ctx.mkdir(&root, b"/sys", 0o755).unwrap();
    let clock = Arc::new(FixedClock(Timespec::new(0, 0)));
    let sys = new_synthfs(makedev(0, 98), clock, Arc::new(StayRoot));
    ctx.mount(&root, b"/sys", sys).unwrap();
    // a fresh inode per lookup, unless the node stays while held
    let (t1, t2) = (ctx.lookup(&root, b"/sys/t", true).unwrap(), ctx.lookup(&root, b"/sys/t", true).unwrap());
    assert!(!Arc::ptr_eq(&t1, &t2));
    let (m1, m2) = (ctx.lookup(&root, b"/sys/m", true).unwrap(), ctx.lookup(&root, b"/sys/m", true).unwrap());
    assert!(Arc::ptr_eq(&m1, &m2));
    drop((m2, t2));
    // a mount on it is seen by later walks while its target is held (the
    // kernel's mount table holds it); none on the other
    ctx.mount(&root, b"/sys/m", fs()).unwrap();
    ctx.mkdir(&root, b"/sys/m/inside", 0o755).unwrap();
    assert!(ctx.lookup(&root, b"/sys/m/inside", true).unwrap().is_dir());
    ctx.mount(&root, b"/sys/t", fs()).unwrap();
    assert_eq!(err(ctx.mkdir(&root, b"/sys/t/inside", 0o755)), Errno::ENOENT);
    ctx.umount(&root, b"/sys/m").unwrap();
    assert_eq!(err(ctx.lookup(&root, b"/sys/m/inside", true)), Errno::ENOENT);
    // once nothing holds it, a lookup makes it anew (dead entries go)
    let ino = Arc::as_ptr(&m1) as usize;
    drop((m1, t1));
    let again = ctx.lookup(&root, b"/sys/m", true).unwrap();
    assert!(again.is_dir() && Arc::strong_count(&again) == 1, "{ino:x}: only the walk's");
}

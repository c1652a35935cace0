//! Share versus copy: `CLONE_FILES` and `CLONE_FS` share one object between
//! tasks; fork copies it; unshare, close_range's `CLOSE_RANGE_UNSHARE` and
//! execve make a private copy.

#![forbid(unsafe_code)]

use std::sync::Arc;

use fs_table::{
    CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE, FD_CLOEXEC, FileTable, FsContext, SharedFileTable,
    SharedFsContext,
};
use linux_abi::Errno;

const NOFILE: u64 = 1024;

/// A shared table with descriptors 0..n open, file ids equal to the numbers.
fn shared(n: u32) -> SharedFileTable<u32> {
    let mut t = FileTable::new();
    for i in 0..n {
        assert_eq!(t.insert(Arc::new(i), false, NOFILE), Ok(i));
    }
    SharedFileTable::new(t)
}

fn fds(t: &SharedFileTable<u32>) -> Vec<u32> {
    t.lock().iter().map(|(fd, _)| fd).collect()
}

#[test]
fn clone_files_shares_opens_closes_and_flags() {
    // clone(2) CLONE_FILES: "the calling process and the child process share
    // the same file descriptor table. Any file descriptor created by the
    // calling process or by the child process is also valid in the other
    // process. Similarly, if one of the processes closes a file descriptor, or
    // changes its associated flags (using the fcntl(2) F_SETFD operation), the
    // other process is also affected."
    let parent = shared(3);
    let child = parent.share();
    assert!(parent.is_shared() && child.is_shared());
    assert!(SharedFileTable::ptr_eq(&parent, &child));

    let closed = child.close(1);
    assert_eq!(closed.map(|f| *f), Ok(1));
    assert_eq!(parent.lock().get(1).map(|f| *f), Err(Errno::EBADF));

    assert_eq!(parent.lock().insert(Arc::new(7), false, NOFILE), Ok(1));
    assert_eq!(child.lock().get(1).map(|f| *f), Ok(7));

    assert_eq!(child.lock().set_fd_flags(2, FD_CLOEXEC), Ok(()));
    assert_eq!(parent.lock().fd_flags(2), Ok(FD_CLOEXEC));

    drop(child);
    assert!(!parent.is_shared());
}

#[test]
fn fork_copies_the_table_and_shares_the_files() {
    // fork(2): "The child inherits copies of the parent's set of open file
    // descriptors. Each file descriptor in the child refers to the same open
    // file description (see open(2)) as the corresponding file descriptor in
    // the parent." clone(2) without CLONE_FILES: "Subsequent operations that
    // open or close file descriptors, or change file descriptor flags,
    // performed by either the calling process or the child process do not
    // affect the other process."
    let parent = shared(3);
    parent.lock().set_fd_flags(2, FD_CLOEXEC).unwrap();
    let child = parent.fork().unwrap();
    assert!(!SharedFileTable::ptr_eq(&parent, &child));
    assert!(!parent.is_shared());
    assert_eq!(fds(&child), [0, 1, 2]);
    assert_eq!(child.lock().fd_flags(2), Ok(FD_CLOEXEC));
    for fd in 0..3 {
        let (a, b) = (parent.lock().get(fd).unwrap(), child.lock().get(fd).unwrap());
        assert!(Arc::ptr_eq(&a, &b));
    }

    assert_eq!(child.close(0).map(|f| *f), Ok(0));
    assert_eq!(parent.lock().get(0).map(|f| *f), Ok(0));
    assert_eq!(parent.close(1).map(|f| *f), Ok(1));
    assert_eq!(child.lock().get(1).map(|f| *f), Ok(1));
    assert_eq!(child.lock().set_fd_flags(2, 0), Ok(()));
    assert_eq!(parent.lock().fd_flags(2), Ok(FD_CLOEXEC));
    // Each table hands out its own lowest free number.
    assert_eq!(parent.lock().insert(Arc::new(9), false, NOFILE), Ok(1));
    assert_eq!(child.lock().insert(Arc::new(8), false, NOFILE), Ok(0));
    assert_eq!(child.lock().get(1).map(|f| *f), Ok(1));
    assert_eq!(parent.lock().get(0).map(|f| *f), Ok(0));
    assert_eq!(fds(&parent), [0, 1, 2]);
    assert_eq!(fds(&child), [0, 1, 2]);
}

#[test]
fn the_last_owner_drops_the_files() {
    // close(2): the open file is released when its last descriptor goes.
    let file = Arc::new(5u32);
    let mut t = FileTable::new();
    assert_eq!(t.insert(file.clone(), false, NOFILE), Ok(0));
    let a = SharedFileTable::new(t);
    let b = a.share();
    let c = a.fork().unwrap();
    assert_eq!(Arc::strong_count(&file), 3);
    drop(a);
    assert_eq!(Arc::strong_count(&file), 3);
    drop(b);
    assert_eq!(Arc::strong_count(&file), 2);
    drop(c);
    assert_eq!(Arc::strong_count(&file), 1);
}

#[test]
fn unshare_files_gives_a_private_copy() {
    // unshare(2) CLONE_FILES: "Reverse the effect of the clone(2) CLONE_FILES
    // flag. Unshare the file descriptor table, so that the calling process no
    // longer shares its file descriptors with any other process."
    let a = shared(2);
    let mut b = a.share();
    b.unshare().unwrap();
    assert!(!SharedFileTable::ptr_eq(&a, &b));
    assert!(!a.is_shared() && !b.is_shared());
    assert_eq!(b.close(0).map(|f| *f), Ok(0));
    assert_eq!(a.lock().get(0).map(|f| *f), Ok(0));
}

#[test]
fn unshare_of_an_unshared_table_is_a_no_op() {
    // unshare(2): unsharing what is not shared changes nothing.
    let mut a = shared(2);
    let probe = a.lock().get(0).unwrap();
    a.unshare().unwrap();
    assert!(Arc::ptr_eq(&probe, &a.lock().get(0).unwrap()));
    assert_eq!(Arc::strong_count(&probe), 2);
}

#[test]
fn close_range_without_unshare_closes_for_every_owner() {
    // close_range(2) on a shared table (CLONE_FILES) closes the descriptors
    // for every process sharing it.
    let mut a = shared(4);
    let b = a.share();
    let closed = a.close_range(1, 2, 0).unwrap();
    assert_eq!(closed.iter().map(|f| **f).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(fds(&b), [0, 3]);
    assert!(SharedFileTable::ptr_eq(&a, &b));
}

#[test]
fn close_range_unshare_closes_only_in_a_private_copy() {
    // close_range(2) CLOSE_RANGE_UNSHARE: "Unshare the specified file
    // descriptors from any other processes before closing them, avoiding races
    // with other threads sharing the file descriptor table."
    let mut a = shared(5);
    let b = a.share();
    let closed = a.close_range(1, 3, CLOSE_RANGE_UNSHARE).unwrap();
    // The copy was made without the range: nothing to drop.
    assert!(closed.is_empty());
    assert!(!SharedFileTable::ptr_eq(&a, &b));
    assert_eq!(fds(&a), [0, 4]);
    assert_eq!(fds(&b), [0, 1, 2, 3, 4]);
    // The numbers are free in the copy.
    assert_eq!(a.lock().insert(Arc::new(9), false, NOFILE), Ok(1));
}

#[test]
fn close_range_unshare_cloexec_marks_only_the_private_copy() {
    // close_range(2) with CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC: the table
    // is unshared whole, then the range is marked close-on-exec in it only.
    let mut a = shared(3);
    let b = a.share();
    let flags = CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC;
    assert_eq!(a.close_range(0, 1, flags).map(|v| v.len()), Ok(0));
    assert!(!SharedFileTable::ptr_eq(&a, &b));
    assert_eq!(fds(&a), [0, 1, 2]);
    assert_eq!(a.lock().fd_flags(1), Ok(FD_CLOEXEC));
    assert_eq!(a.lock().fd_flags(2), Ok(0));
    assert_eq!(b.lock().fd_flags(1), Ok(0));
}

#[test]
fn close_range_errors_come_before_unsharing() {
    // close_range(2) EINVAL ("flags is not valid or first is greater than
    // last") leaves the table shared and unchanged.
    let mut a = shared(2);
    let b = a.share();
    assert_eq!(a.close_range(1, 0, CLOSE_RANGE_UNSHARE).map(|v| v.len()), Err(Errno::EINVAL));
    assert_eq!(a.close_range(0, 1, CLOSE_RANGE_UNSHARE | 1).map(|v| v.len()), Err(Errno::EINVAL));
    assert!(SharedFileTable::ptr_eq(&a, &b));
    assert_eq!(fds(&a), [0, 1]);
}

#[test]
fn exec_unshares_then_closes_close_on_exec_descriptors() {
    // execve(2): the file descriptor table is unshared (Linux's
    // unshare_files) and then descriptors marked close-on-exec are closed; a
    // process that shared the table keeps them.
    let mut a = shared(3);
    a.lock().set_fd_flags(1, FD_CLOEXEC).unwrap();
    let b = a.share();
    a.unshare().unwrap();
    let closed = a.close_on_exec();
    assert_eq!(closed.iter().map(|f| **f).collect::<Vec<_>>(), [1]);
    drop(closed);
    assert_eq!(fds(&a), [0, 2]);
    assert_eq!(fds(&b), [0, 1, 2]);
}

#[test]
fn clone_fs_shares_root_cwd_and_umask() {
    // clone(2) CLONE_FS: "the caller and the child process share the same
    // filesystem information. This includes the root of the filesystem, the
    // current working directory, and the umask. Any call to chroot(2),
    // chdir(2), or umask(2) performed by the calling process or the child
    // process also affects the other process."
    let parent = SharedFsContext::new(FsContext::new("/", "/"));
    let child = parent.share();
    assert!(SharedFsContext::ptr_eq(&parent, &child));
    assert!(parent.is_shared());
    assert_eq!(child.lock().set_cwd("/tmp"), "/");
    assert_eq!(child.lock().set_root("/srv"), "/");
    assert_eq!(child.lock().set_umask(0o077), 0o022);
    let fs = parent.lock();
    assert_eq!((*fs.root(), *fs.cwd(), fs.umask()), ("/srv", "/tmp", 0o077));
}

#[test]
fn fork_copies_root_cwd_and_umask() {
    // clone(2) without CLONE_FS: "the child process works on a copy of the
    // filesystem information of the calling process at the time of the call.
    // Calls to chroot(2), chdir(2), or umask(2) performed later by one of the
    // processes do not affect the other process."
    let parent = SharedFsContext::new(FsContext::new("/", "/home"));
    parent.lock().set_umask(0o002);
    let child = parent.fork();
    assert!(!SharedFsContext::ptr_eq(&parent, &child));
    assert_eq!(*child.lock(), *parent.lock());
    assert_eq!(child.lock().set_umask(0o077), 0o002);
    assert_eq!(child.lock().set_cwd("/tmp"), "/home");
    assert_eq!(parent.lock().set_root("/srv"), "/");
    let (p, c) = (parent.lock().clone(), child.lock().clone());
    assert_eq!((*p.root(), *p.cwd(), p.umask()), ("/srv", "/home", 0o002));
    assert_eq!((*c.root(), *c.cwd(), c.umask()), ("/", "/tmp", 0o077));
}

#[test]
fn unshare_fs_gives_a_private_copy() {
    // unshare(2) CLONE_FS: "Reverse the effect of the clone(2) CLONE_FS flag.
    // Unshare filesystem attributes, so that the calling process no longer
    // shares its root directory (chroot(2)), current directory (chdir(2)), or
    // umask (umask(2)) attributes with any other process."
    let a = SharedFsContext::new(FsContext::new("/", "/"));
    let mut b = a.share();
    b.unshare();
    assert!(!SharedFsContext::ptr_eq(&a, &b));
    assert!(!a.is_shared());
    b.lock().set_umask(0);
    assert_eq!(a.lock().umask(), 0o022);
    // Not shared: unshare keeps the same context.
    let mut c = b.share();
    drop(b);
    let probe = c.share();
    drop(probe);
    c.unshare();
    assert_eq!(c.lock().umask(), 0);
    assert!(!c.is_shared());
}

/// The closing calls of a shared handle give their files back with the
/// table lock released: the caller's drop (here in a `let _`, the form that
/// used to drop under the lock) may take the same table's lock again.
#[test]
fn closed_files_come_back_after_the_lock_is_released() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Reopens(SharedFileTable<Reopens>);
    impl Drop for Reopens {
        fn drop(&mut self) {
            // would spin for ever if the lock were still held
            let _ = self.0.lock().len();
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    let mut t: SharedFileTable<Reopens> = SharedFileTable::new(FileTable::new());
    for fd in 0..4 {
        let weak_free = t.share();
        let r = Arc::new(Reopens(weak_free));
        assert_eq!(t.lock().insert(r, fd == 3, 1024), Ok(fd));
    }
    let _ = t.close(0);
    assert_eq!(t.dup2(1, 2, 1024).map(|f| f.is_some()), Ok(true));
    let _ = t.dup3(1, 2, 0, 1024);
    assert_eq!(t.close_on_exec().len(), 1);
    assert_eq!(DROPS.load(Ordering::SeqCst), 3);
    let _ = t.close_range(0, 10, 0);
    assert!(t.lock().is_empty());
    assert_eq!(DROPS.load(Ordering::SeqCst), 4);
}

/// A kernel's own lock (here one that counts its acquisitions, standing for
/// an IRQ-saving lock) behind the shared handles.
#[test]
fn a_kernel_lock_type_plugs_in() {
    // another lock_api::RawMutex than the default (spin's own, not its
    // Mutex wrapper): no unsafe here, the crate's forbid(unsafe_code) holds
    type Other = spin::mutex::SpinMutex<()>;
    let mut t = FileTable::new();
    assert_eq!(t.insert(Arc::new(7u32), false, 1024), Ok(0));
    let a: SharedFileTable<u32, Other> = SharedFileTable::with_lock(t);
    let b = a.fork().unwrap();
    assert_eq!(b.close(0).map(|f| *f), Ok(7));
    assert_eq!(a.lock().get(0).map(|f| *f), Ok(7));
    assert_eq!(b.lock().get(0).map(|f| *f), Err(Errno::EBADF));
    let fs: SharedFsContext<&str, Other> = SharedFsContext::with_lock(FsContext::new("/", "/"));
    assert_eq!(fs.fork().lock().cwd(), &"/");
}

//! Unit tests: each names the Linux man page rule it checks.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use linux_abi::Errno;

use crate::{
    CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE, DEFAULT_UMASK, FD_CLOEXEC, FileTable, FsContext, NR_OPEN,
    O_CLOEXEC,
};

const NOFILE: u64 = 1024;
/// O_NONBLOCK, a flag dup3(2) does not accept.
const O_NONBLOCK: u32 = 0o4000;

fn file(id: u32) -> Arc<u32> {
    Arc::new(id)
}

/// A table with descriptors 0..n open, file ids equal to the descriptors.
fn table(n: u32) -> FileTable<u32> {
    let mut t = FileTable::new();
    for i in 0..n {
        assert_eq!(t.insert(file(i), false, NOFILE), Ok(i));
    }
    t
}

fn id(t: &FileTable<u32>, fd: u32) -> Option<u32> {
    t.get(fd).ok().map(|f| *f)
}

fn fds(t: &FileTable<u32>) -> Vec<u32> {
    t.iter().map(|(fd, _)| fd).collect()
}

fn ids(files: &[Arc<u32>]) -> Vec<u32> {
    files.iter().map(|f| **f).collect()
}

// --- open(2), getrlimit(2) RLIMIT_NOFILE ---

#[test]
fn open_returns_the_lowest_numbered_descriptor_not_open() {
    // open(2): "The file descriptor returned by a successful call will be the
    // lowest-numbered file descriptor not currently open for the process."
    let mut t = table(3);
    assert_eq!(t.close(1).map(|f| *f), Ok(1));
    assert_eq!(t.insert(file(10), false, NOFILE), Ok(1));
    assert_eq!(t.insert(file(11), false, NOFILE), Ok(3));
    assert_eq!(fds(&t), [0, 1, 2, 3]);
    assert_eq!(t.len(), 4);
    assert_eq!(t.fd_flags(3), Ok(0));
    // open(2) O_CLOEXEC: "Enable the close-on-exec flag for the new file descriptor."
    assert_eq!(t.insert(file(12), true, NOFILE), Ok(4));
    assert_eq!(t.fd_flags(4), Ok(FD_CLOEXEC));
}

#[test]
fn rlimit_nofile_is_one_greater_than_the_highest_descriptor() {
    // getrlimit(2) RLIMIT_NOFILE: "a value one greater than the maximum file
    // descriptor number that can be opened by this process. Attempts (open(2),
    // pipe(2), dup(2), etc.) to exceed this limit yield the error EMFILE."
    let mut t = FileTable::new();
    for i in 0..3 {
        assert_eq!(t.insert(file(i), false, 3), Ok(i));
    }
    assert_eq!(t.insert(file(3), false, 3), Err(Errno::EMFILE));
    assert_eq!(t.dup(0, 3), Err(Errno::EMFILE));
    assert_eq!(t.reserve(false, 3), Err(Errno::EMFILE));
    assert_eq!(t.len(), 3);
    // One more allowed descriptor: exactly fd 3.
    assert_eq!(t.insert(file(3), false, 4), Ok(3));
}

#[test]
fn rlimit_nofile_zero_allows_no_descriptor() {
    // getrlimit(2) RLIMIT_NOFILE: with a limit of 0 no descriptor can be opened (EMFILE).
    let mut t: FileTable<u32> = FileTable::new();
    assert_eq!(t.insert(file(0), false, 0), Err(Errno::EMFILE));
    assert!(t.is_empty());
}

#[test]
fn lowering_rlimit_nofile_keeps_open_descriptors_usable() {
    // getrlimit(2) RLIMIT_NOFILE bounds new descriptors only: descriptors above
    // a lowered limit stay open and usable; dup2(2) with oldfd == newfd checks
    // nothing but oldfd.
    let mut t = table(10);
    let nofile = 5;
    assert_eq!(t.insert(file(99), false, nofile), Err(Errno::EMFILE));
    assert_eq!(t.close(2).map(|f| *f), Ok(2));
    assert_eq!(t.dup(8, nofile), Ok(2));
    assert_eq!(id(&t, 2), Some(8));
    assert_eq!(t.dup(8, nofile), Err(Errno::EMFILE));
    assert_eq!(t.dup2(8, 8, nofile).map(|o| o.is_none()), Ok(true));
    assert_eq!(t.dup2(8, 6, nofile).map(|o| o.is_none()), Err(Errno::EBADF));
    assert_eq!(t.get(9).map(|f| *f), Ok(9));
}

#[test]
fn nr_open_bounds_descriptors_whatever_the_rlimit() {
    // getrlimit(2)/proc(5): RLIMIT_NOFILE cannot exceed /proc/sys/fs/nr_open
    // (1048576 by default), and no descriptor reaches it: dup2(2) gives EBADF
    // ("newfd is out of the allowed range"), fcntl(2) F_DUPFD gives EMFILE.
    let mut t = table(1);
    let huge = u64::MAX;
    assert_eq!(t.dup2(0, NR_OPEN - 1, huge).map(|o| o.is_none()), Ok(true));
    assert_eq!(t.fd_flags(NR_OPEN - 1), Ok(0));
    assert_eq!(t.dup2(0, NR_OPEN, huge).map(|o| o.is_none()), Err(Errno::EBADF));
    assert_eq!(t.dupfd(0, NR_OPEN - 1, false, huge), Err(Errno::EMFILE));
    assert_eq!(t.dupfd(0, NR_OPEN, false, huge), Err(Errno::EMFILE));
    assert_eq!(t.insert(file(1), false, huge), Ok(1));
    assert_eq!(fds(&t), [0, 1, NR_OPEN - 1]);
}

// --- dup(2) ---

#[test]
fn dup_ebadf_when_oldfd_is_not_open() {
    // dup(2) EBADF: "oldfd isn't an open file descriptor."
    let mut t = table(2);
    assert_eq!(t.dup(2, NOFILE), Err(Errno::EBADF));
    assert_eq!(t.dup(u32::MAX, NOFILE), Err(Errno::EBADF));
    assert_eq!(t.close(1).map(|f| *f), Ok(1));
    assert_eq!(t.dup(1, NOFILE), Err(Errno::EBADF));
    assert_eq!(fds(&t), [0]);
}

#[test]
fn dup_emfile_at_the_limit_and_ebadf_first() {
    // dup(2) EMFILE: "The per-process limit on the number of open file
    // descriptors has been reached (see the discussion of RLIMIT_NOFILE in
    // getrlimit(2))." Linux looks the old descriptor up first: EBADF wins.
    let mut t = table(2);
    assert_eq!(t.dup(0, 2), Err(Errno::EMFILE));
    assert_eq!(t.dup(5, 2), Err(Errno::EBADF));
    assert_eq!(t.len(), 2);
}

#[test]
fn dup_uses_the_lowest_free_number_and_clears_cloexec() {
    // dup(2): "The new file descriptor number is guaranteed to be the
    // lowest-numbered file descriptor that was unused in the calling process."
    // "The close-on-exec flag (FD_CLOEXEC) for the duplicate descriptor is off."
    // "they refer to the same open file description".
    let mut t = FileTable::new();
    assert_eq!(t.insert(file(7), true, NOFILE), Ok(0));
    assert_eq!(t.insert(file(8), false, NOFILE), Ok(1));
    assert_eq!(t.insert(file(9), false, NOFILE), Ok(2));
    assert_eq!(t.close(1).map(|f| *f), Ok(8));
    assert_eq!(t.dup(0, NOFILE), Ok(1));
    assert_eq!(t.fd_flags(0), Ok(FD_CLOEXEC));
    assert_eq!(t.fd_flags(1), Ok(0));
    assert!(Arc::ptr_eq(&t.get(0).unwrap(), &t.get(1).unwrap()));
    assert_eq!(t.dup(0, NOFILE), Ok(3));
}

// --- dup2(2) ---

#[test]
fn dup2_same_valid_fd_does_nothing_and_returns_newfd() {
    // dup2(2): "If oldfd is a valid file descriptor, and newfd has the same
    // value as oldfd, then dup2() does nothing, and returns newfd." The
    // close-on-exec flag stays as it was.
    let mut t = FileTable::new();
    assert_eq!(t.insert(file(5), true, NOFILE), Ok(0));
    assert_eq!(t.dup2(0, 0, NOFILE).map(|o| o.is_none()), Ok(true));
    assert_eq!(t.fd_flags(0), Ok(FD_CLOEXEC));
    assert_eq!(id(&t, 0), Some(5));
    assert_eq!(t.len(), 1);
}

#[test]
fn dup2_same_invalid_fd_is_ebadf() {
    // dup2(2): "If oldfd is not a valid file descriptor, then the call fails,
    // and newfd is not closed." (EBADF), also when newfd == oldfd.
    let mut t = table(1);
    assert_eq!(t.dup2(3, 3, NOFILE).map(|o| o.is_none()), Err(Errno::EBADF));
    assert_eq!(t.dup2(u32::MAX, u32::MAX, NOFILE).map(|o| o.is_none()), Err(Errno::EBADF));
}

#[test]
fn dup2_ebadf_when_oldfd_is_not_open_and_newfd_stays_open() {
    // dup2(2) EBADF: "oldfd isn't an open file descriptor." "If oldfd is not
    // a valid file descriptor, then the call fails, and newfd is not closed."
    let mut t = table(2);
    assert_eq!(t.dup2(5, 1, NOFILE).map(|o| o.is_none()), Err(Errno::EBADF));
    assert_eq!(id(&t, 1), Some(1));
    assert_eq!(t.len(), 2);
}

#[test]
fn dup2_ebadf_when_newfd_is_out_of_range() {
    // dup2(2) EBADF: "newfd is out of the allowed range for file descriptors
    // (see the discussion of RLIMIT_NOFILE in getrlimit(2))."
    let mut t = table(2);
    assert_eq!(t.dup2(0, 16, 16).map(|o| o.is_none()), Err(Errno::EBADF));
    assert_eq!(t.dup2(0, 15, 16).map(|o| o.is_none()), Ok(true));
    // A negative newfd is a huge unsigned int.
    assert_eq!(t.dup2(0, u32::MAX, NOFILE).map(|o| o.is_none()), Err(Errno::EBADF));
    // Both descriptors bad: still EBADF.
    assert_eq!(t.dup2(9, 16, 16).map(|o| o.is_none()), Err(Errno::EBADF));
    assert_eq!(fds(&t), [0, 1, 15]);
}

#[test]
fn dup2_closes_newfd_silently_and_clears_cloexec() {
    // dup2(2): "If the file descriptor newfd was previously open, it is closed
    // before being reused; the close is performed silently." The new
    // descriptor's close-on-exec flag is off (dup(2)).
    let mut t = table(3);
    assert_eq!(t.set_fd_flags(2, FD_CLOEXEC), Ok(()));
    let replaced = t.dup2(0, 2, NOFILE).unwrap();
    assert_eq!(replaced.map(|f| *f), Some(2));
    assert_eq!(id(&t, 2), Some(0));
    assert_eq!(t.fd_flags(2), Ok(0));
    assert_eq!(t.len(), 3);
    assert!(Arc::ptr_eq(&t.get(0).unwrap(), &t.get(2).unwrap()));
}

#[test]
fn dup2_to_a_high_number_leaves_the_gap_free() {
    // dup2(2) makes newfd exactly; open(2) still takes the lowest free number.
    let mut t = table(1);
    assert_eq!(t.dup2(0, 5000, NOFILE * 8).map(|o| o.is_none()), Ok(true));
    assert_eq!(t.insert(file(1), false, NOFILE), Ok(1));
    assert_eq!(fds(&t), [0, 1, 5000]);
    assert_eq!(t.dupfd(0, 4999, false, NOFILE * 8), Ok(4999));
    assert_eq!(t.dupfd(0, 4999, false, NOFILE * 8), Ok(5001));
}

#[test]
fn dup2_ebusy_while_newfd_is_being_opened() {
    // dup2(2) EBUSY: "(Linux only) This may be returned by dup2() or dup3()
    // during a race condition with open(2) and dup()." Here: newfd is
    // allocated by open(2) but not yet installed.
    let mut t = table(1);
    let r = t.reserve(false, NOFILE).unwrap();
    assert_eq!(r.fd(), 1);
    assert_eq!(t.dup2(0, 1, NOFILE).map(|o| o.is_none()), Err(Errno::EBUSY));
    assert_eq!(t.dup3(0, 1, O_CLOEXEC, NOFILE).map(|o| o.is_none()), Err(Errno::EBUSY));
    assert_eq!(t.install(r, file(1)), Ok(1));
    assert_eq!(t.dup2(0, 1, NOFILE).map(|o| o.map(|f| *f)), Ok(Some(1)));
}

// --- dup3(2) ---

#[test]
fn dup3_einval_for_flags_other_than_o_cloexec() {
    // dup3(2) EINVAL: "flags contain an invalid value." Checked before the
    // descriptors.
    let mut t = table(2);
    for flags in [1, O_NONBLOCK, O_CLOEXEC | 1, u32::MAX, 1 << 31] {
        assert_eq!(t.dup3(0, 1, flags, NOFILE).map(|o| o.is_none()), Err(Errno::EINVAL));
        assert_eq!(t.dup3(7, u32::MAX, flags, NOFILE).map(|o| o.is_none()), Err(Errno::EINVAL));
    }
    assert_eq!(id(&t, 1), Some(1));
}

#[test]
fn dup3_einval_when_oldfd_equals_newfd() {
    // dup3(2): "If oldfd equals newfd, then dup3() fails with the error
    // EINVAL." Whether or not the descriptor is open or in range.
    let mut t = table(1);
    assert_eq!(t.dup3(0, 0, 0, NOFILE).map(|o| o.is_none()), Err(Errno::EINVAL));
    assert_eq!(t.dup3(0, 0, O_CLOEXEC, NOFILE).map(|o| o.is_none()), Err(Errno::EINVAL));
    assert_eq!(t.dup3(9, 9, 0, NOFILE).map(|o| o.is_none()), Err(Errno::EINVAL));
    assert_eq!(t.dup3(u32::MAX, u32::MAX, 0, 1).map(|o| o.is_none()), Err(Errno::EINVAL));
}

#[test]
fn dup3_o_cloexec_sets_the_flag_and_zero_clears_it() {
    // dup3(2): "The caller can force the close-on-exec flag to be set for the
    // new file descriptor by specifying O_CLOEXEC in flags."
    let mut t = table(1);
    assert_eq!(t.dup3(0, 3, O_CLOEXEC, NOFILE).map(|o| o.is_none()), Ok(true));
    assert_eq!(t.fd_flags(3), Ok(FD_CLOEXEC));
    assert_eq!(t.dup3(0, 3, 0, NOFILE).map(|o| o.map(|f| *f)), Ok(Some(0)));
    assert_eq!(t.fd_flags(3), Ok(0));
    assert_eq!(fds(&t), [0, 3]);
}

#[test]
fn dup3_ebadf_for_bad_oldfd_or_newfd() {
    // dup3(2) shares dup2(2)'s EBADF: oldfd not open; newfd out of range.
    let mut t = table(1);
    assert_eq!(t.dup3(1, 2, 0, NOFILE).map(|o| o.is_none()), Err(Errno::EBADF));
    assert_eq!(t.dup3(0, 8, O_CLOEXEC, 8).map(|o| o.is_none()), Err(Errno::EBADF));
    assert_eq!(fds(&t), [0]);
}

// --- fcntl(2) F_DUPFD, F_DUPFD_CLOEXEC ---

#[test]
fn f_dupfd_takes_the_lowest_free_number_at_or_above_arg() {
    // fcntl(2) F_DUPFD: "Duplicate the file descriptor fd using the
    // lowest-numbered available file descriptor greater than or equal to arg."
    // "The close-on-exec flag (FD_CLOEXEC) for the duplicate descriptor is off."
    let mut t = table(5);
    t.set_fd_flags(0, FD_CLOEXEC).unwrap();
    assert_eq!(t.dupfd(0, 2, false, NOFILE), Ok(5));
    assert_eq!(t.fd_flags(5), Ok(0));
    assert_eq!(t.close(3).map(|f| *f), Ok(3));
    assert_eq!(t.dupfd(0, 2, false, NOFILE), Ok(3));
    assert_eq!(t.dupfd(0, 0, false, NOFILE), Ok(6));
    assert_eq!(t.dupfd(1, 50, false, NOFILE), Ok(50));
    assert_eq!(id(&t, 50), Some(1));
}

#[test]
fn f_dupfd_cloexec_sets_the_flag() {
    // fcntl(2) F_DUPFD_CLOEXEC: "As for F_DUPFD, but additionally set the
    // close-on-exec flag for the duplicate file descriptor."
    let mut t = table(3);
    assert_eq!(t.dupfd(2, 1, true, NOFILE), Ok(3));
    assert_eq!(t.fd_flags(3), Ok(FD_CLOEXEC));
    assert_eq!(t.fd_flags(2), Ok(0));
}

#[test]
fn f_dupfd_einval_when_arg_is_at_or_above_the_limit() {
    // fcntl(2) EINVAL: "cmd is F_DUPFD and arg is negative or is greater than
    // the maximum allowable value (see the discussion of RLIMIT_NOFILE in
    // getrlimit(2))." (Linux: arg >= RLIMIT_NOFILE.)
    let mut t = table(1);
    assert_eq!(t.dupfd(0, 16, false, 16), Err(Errno::EINVAL));
    assert_eq!(t.dupfd(0, 17, true, 16), Err(Errno::EINVAL));
    // A negative int arg is a huge unsigned value.
    assert_eq!(t.dupfd(0, u32::MAX, false, NOFILE), Err(Errno::EINVAL));
    assert_eq!(t.dupfd(0, 0, false, 0), Err(Errno::EINVAL));
    assert_eq!(t.dupfd(0, 15, false, 16), Ok(15));
}

#[test]
fn f_dupfd_ebadf_before_einval() {
    // fcntl(2) EBADF: "fd is not an open file descriptor"; fcntl looks fd up
    // before it reads the command's argument.
    let mut t = table(1);
    assert_eq!(t.dupfd(4, u32::MAX, false, NOFILE), Err(Errno::EBADF));
    assert_eq!(t.dupfd(4, 0, true, NOFILE), Err(Errno::EBADF));
}

#[test]
fn f_dupfd_emfile_when_no_number_from_arg_is_free() {
    // fcntl(2) EMFILE: "cmd is F_DUPFD and the per-process limit on the number
    // of open file descriptors has been reached." Free numbers below arg do
    // not count.
    let mut t = table(1);
    assert_eq!(t.dup2(0, 3, 4).map(|o| o.is_none()), Ok(true));
    assert_eq!(t.dupfd(0, 3, false, 4), Err(Errno::EMFILE));
    assert_eq!(t.dupfd(0, 1, true, 4), Ok(1));
}

// --- fcntl(2) F_GETFD, F_SETFD ---

#[test]
fn f_getfd_f_setfd_ebadf_when_fd_is_not_open() {
    // fcntl(2) EBADF: "fd is not an open file descriptor."
    let mut t = table(1);
    assert_eq!(t.fd_flags(1), Err(Errno::EBADF));
    assert_eq!(t.fd_flags(u32::MAX), Err(Errno::EBADF));
    assert_eq!(t.set_fd_flags(1, FD_CLOEXEC), Err(Errno::EBADF));
    assert_eq!(t.set_fd_flags(u32::MAX, 0), Err(Errno::EBADF));
}

#[test]
fn f_setfd_sets_only_fd_cloexec() {
    // fcntl(2) F_SETFD: "Set the file descriptor flags to the value specified
    // by arg." FD_CLOEXEC is the only flag; Linux ignores other bits.
    let mut t = table(1);
    assert_eq!(t.fd_flags(0), Ok(0));
    assert_eq!(t.set_fd_flags(0, FD_CLOEXEC), Ok(()));
    assert_eq!(t.fd_flags(0), Ok(FD_CLOEXEC));
    assert_eq!(t.set_fd_flags(0, !FD_CLOEXEC), Ok(()));
    assert_eq!(t.fd_flags(0), Ok(0));
    assert_eq!(t.set_fd_flags(0, 3), Ok(()));
    assert_eq!(t.fd_flags(0), Ok(FD_CLOEXEC));
}

// --- close(2) ---

#[test]
fn close_ebadf_when_fd_is_not_open() {
    // close(2) EBADF: "fd isn't a valid open file descriptor."
    let mut t = table(2);
    assert_eq!(t.close(2).map(|f| *f), Err(Errno::EBADF));
    assert_eq!(t.close(u32::MAX).map(|f| *f), Err(Errno::EBADF));
    assert_eq!(t.close(1).map(|f| *f), Ok(1));
    assert_eq!(t.close(1).map(|f| *f), Err(Errno::EBADF));
    assert_eq!(fds(&t), [0]);
}

#[test]
fn close_frees_the_number_and_the_flag() {
    // close(2): "closes a file descriptor, so that it no longer refers to any
    // file and may be reused."
    let mut t = FileTable::new();
    assert_eq!(t.insert(file(0), true, NOFILE), Ok(0));
    assert_eq!(t.close(0).map(|f| *f), Ok(0));
    assert!(t.is_empty());
    assert_eq!(t.insert(file(1), false, NOFILE), Ok(0));
    assert_eq!(t.fd_flags(0), Ok(0));
}

// --- close_range(2) ---

#[test]
fn close_range_einval_for_unknown_flags() {
    // close_range(2) EINVAL: "flags is not valid".
    let mut t = table(3);
    for flags in [1, 8, 1 << 31, u32::MAX, CLOSE_RANGE_CLOEXEC | 1] {
        assert_eq!(t.close_range(0, 2, flags).map(|v| v.len()), Err(Errno::EINVAL));
    }
    assert_eq!(t.len(), 3);
}

#[test]
fn close_range_einval_when_first_is_greater_than_last() {
    // close_range(2) EINVAL: "first is greater than last".
    let mut t = table(3);
    assert_eq!(t.close_range(2, 1, 0).map(|v| v.len()), Err(Errno::EINVAL));
    assert_eq!(t.close_range(u32::MAX, 0, CLOSE_RANGE_CLOEXEC).map(|v| v.len()), Err(Errno::EINVAL));
    assert_eq!(t.len(), 3);
}

#[test]
fn close_range_closes_every_open_descriptor_in_the_range() {
    // close_range(2): "closes all open file descriptors from first to last
    // (included)." Unopened numbers in the range are skipped; last may be ~0U.
    let mut t = table(6);
    assert_eq!(t.dup2(0, 300, NOFILE).map(|o| o.is_none()), Ok(true));
    assert_eq!(t.close(3).map(|f| *f), Ok(3));
    let closed = t.close_range(2, 4, 0).unwrap();
    assert_eq!(ids(&closed), [2, 4]);
    assert_eq!(fds(&t), [0, 1, 5, 300]);
    let closed = t.close_range(1, u32::MAX, 0).unwrap();
    assert_eq!(ids(&closed), [1, 5, 0]);
    assert_eq!(fds(&t), [0]);
    assert_eq!(t.close_range(u32::MAX, u32::MAX, 0).map(|v| v.len()), Ok(0));
    assert_eq!(t.close_range(0, 0, 0).map(|v| ids(&v)), Ok(vec![0]));
    assert!(t.is_empty());
    assert_eq!(t.insert(file(9), false, NOFILE), Ok(0));
}

#[test]
fn close_range_cloexec_marks_instead_of_closing() {
    // close_range(2) CLOSE_RANGE_CLOEXEC: "Set the close-on-exec flag on the
    // specified file descriptors, rather than immediately closing them."
    let mut t = table(5);
    assert_eq!(t.close(2).map(|f| *f), Ok(2));
    assert_eq!(t.close_range(1, 3, CLOSE_RANGE_CLOEXEC).map(|v| v.len()), Ok(0));
    let flags: Vec<_> = [0, 1, 3, 4].iter().map(|&fd| t.fd_flags(fd)).collect();
    assert_eq!(flags, [Ok(0), Ok(FD_CLOEXEC), Ok(FD_CLOEXEC), Ok(0)]);
    assert_eq!(t.len(), 4);
    // A descriptor opened later in the range gets the flags it is opened with.
    assert_eq!(t.insert(file(2), false, NOFILE), Ok(2));
    assert_eq!(t.fd_flags(2), Ok(0));
    assert_eq!(ids(&t.close_on_exec()), [1, 3]);
}

#[test]
fn close_range_unshare_on_a_private_table_just_closes() {
    // close_range(2) CLOSE_RANGE_UNSHARE: "Unshare the specified file
    // descriptors from any other processes before closing them": a table not
    // shared has nothing to unshare.
    let mut t = table(4);
    let closed = t.close_range(1, 2, CLOSE_RANGE_UNSHARE).unwrap();
    assert_eq!(ids(&closed), [1, 2]);
    let flags = CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC;
    assert_eq!(t.close_range(0, 0, flags).map(|v| v.len()), Ok(0));
    assert_eq!(t.fd_flags(0), Ok(FD_CLOEXEC));
    assert_eq!(fds(&t), [0, 3]);
}

// --- execve(2) close-on-exec ---

#[test]
fn exec_closes_exactly_the_close_on_exec_descriptors() {
    // execve(2): "By default, file descriptors remain open across an execve().
    // File descriptors that are marked close-on-exec are closed"; fcntl(2)
    // FD_CLOEXEC: "the file descriptor will automatically be closed during a
    // successful execve(2)".
    let mut t = table(4);
    assert_eq!(t.dup3(0, 130, O_CLOEXEC, NOFILE).map(|o| o.is_none()), Ok(true));
    t.set_fd_flags(1, FD_CLOEXEC).unwrap();
    t.set_fd_flags(3, FD_CLOEXEC).unwrap();
    assert_eq!(t.dupfd(2, 70, true, NOFILE), Ok(70));
    let closed = t.close_on_exec();
    assert_eq!(ids(&closed), [1, 3, 2, 0]);
    assert_eq!(fds(&t), [0, 2]);
    assert_eq!(t.fd_flags(0), Ok(0));
    assert_eq!(t.close_on_exec().len(), 0);
    assert_eq!(t.insert(file(5), false, NOFILE), Ok(1));
    assert_eq!(t.fd_flags(1), Ok(0));
}

// --- open(2) in two steps: reserve, install ---

#[test]
fn reserved_descriptors_are_allocated_but_not_open() {
    // open(2) allocates the descriptor before it opens the file (so EMFILE
    // comes first); until then the number is not open (close(2), dup(2),
    // fcntl(2): EBADF) and not handed out again.
    let mut t = table(1);
    let r = t.reserve(true, NOFILE).unwrap();
    assert_eq!(r.fd(), 1);
    assert_eq!(t.get(1).map(|f| *f), Err(Errno::EBADF));
    assert_eq!(t.close(1).map(|f| *f), Err(Errno::EBADF));
    assert_eq!(t.dup(1, NOFILE), Err(Errno::EBADF));
    assert_eq!(t.fd_flags(1), Err(Errno::EBADF));
    assert_eq!(t.len(), 1);
    assert_eq!(t.insert(file(2), false, NOFILE), Ok(2));
    assert_eq!(t.close_range(0, 5, 0).map(|v| ids(&v)), Ok(vec![0, 2]));
    assert_eq!(t.install(r, file(1)), Ok(1));
    assert_eq!(t.fd_flags(1), Ok(FD_CLOEXEC));
    assert_eq!(fds(&t), [1]);

    let r = t.reserve(false, NOFILE).unwrap();
    assert_eq!(r.fd(), 0);
    t.unreserve(r);
    assert_eq!(t.insert(file(0), false, NOFILE), Ok(0));
    // close_range(2) CLOSE_RANGE_CLOEXEC marks a number being opened too
    // (Linux sets the range in its close-on-exec bitmap); the close-on-exec
    // sweep of execve(2) clears it without closing anything.
    let r = t.reserve(false, NOFILE).unwrap();
    assert_eq!(r.fd(), 2);
    assert_eq!(t.close_range(2, 2, CLOSE_RANGE_CLOEXEC).map(|v| v.len()), Ok(0));
    assert_eq!(t.install(r, file(2)), Ok(2));
    assert_eq!(t.fd_flags(2), Ok(FD_CLOEXEC));
    assert_eq!(t.close(2).map(|f| *f), Ok(2));
    let r = t.reserve(true, NOFILE).unwrap();
    assert_eq!(t.set_fd_flags(1, 0), Ok(()));
    assert_eq!(t.close_on_exec().len(), 0);
    assert_eq!(t.install(r, file(2)), Ok(2));
    assert_eq!(t.fd_flags(2), Ok(0));
    assert_eq!(t.close(2).map(|f| *f), Ok(2));
    // A reservation that is not this table's gives the file back.
    let mut other: FileTable<u32> = FileTable::new();
    let foreign = other.reserve(false, NOFILE).unwrap();
    assert_eq!(t.install(foreign, file(3)).map_err(|f| *f), Err(3));
    assert_eq!(fds(&t), [0, 1]);
}

#[test]
fn fork_copy_leaves_out_reserved_descriptors() {
    // fork(2): the child gets the open descriptors; a number a sibling thread
    // is still opening is free in the child (Linux's dup_fd).
    let mut t = table(1);
    let r = t.reserve(false, NOFILE).unwrap();
    let mut copy = t.try_clone().unwrap();
    assert_eq!(copy.insert(file(1), false, NOFILE), Ok(1));
    assert_eq!(t.install(r, file(1)), Ok(1));
    assert_eq!(fds(&copy), [0, 1]);
}

#[test]
fn debug_lists_descriptors() {
    let mut t = table(2);
    t.set_fd_flags(1, FD_CLOEXEC).unwrap();
    assert_eq!(alloc::format!("{t:?}"), "{(0, false): 0, (1, true): 1}");
}

// --- umask(2), chroot(2), chdir(2) ---

#[test]
fn umask_returns_the_previous_mask_and_keeps_only_0777() {
    // umask(2): "umask() sets the calling process's file mode creation mask
    // (umask) to mask & 0777 ... This system call always succeeds and the
    // previous value of the mask is returned."
    let mut fs = FsContext::new("/", "/home");
    assert_eq!(fs.umask(), DEFAULT_UMASK);
    assert_eq!(fs.set_umask(0o7777), 0o022);
    assert_eq!(fs.umask(), 0o777);
    assert_eq!(fs.set_umask(u32::MAX), 0o777);
    assert_eq!(fs.set_umask(0o027), 0o777);
    assert_eq!(fs.umask(), 0o027);
    // umask(2): "the permissions of the created file are (mode & ~umask)".
    assert_eq!(fs.apply_umask(0o666), 0o640);
    assert_eq!(fs.set_umask(0), 0o027);
    assert_eq!(fs.apply_umask(0o4777), 0o4777);
}

#[test]
fn chroot_and_chdir_change_one_directory_each() {
    // chroot(2): "This call does not change the current working directory";
    // chdir(2) changes only the working directory.
    let mut fs = FsContext::new("/", "/home");
    assert_eq!(fs.set_root("/jail"), "/");
    assert_eq!((*fs.root(), *fs.cwd()), ("/jail", "/home"));
    assert_eq!(fs.set_cwd("/tmp"), "/home");
    assert_eq!((*fs.root(), *fs.cwd()), ("/jail", "/tmp"));
}

// --- weak handles (a thread's cache of its tables) ---

#[test]
fn a_weak_file_table_is_no_owner_and_sees_the_same_table() {
    // a cached weak handle must not make unshare(2)/execve(2) copy a table
    // only this thread uses
    let shared = crate::SharedFileTable::new(table(3));
    let weak = shared.downgrade();
    assert!(!shared.is_shared());
    let up = weak.upgrade().unwrap();
    assert!(crate::SharedFileTable::ptr_eq(&up, &shared));
    assert!(shared.is_shared());
    drop(up);
    assert!(!shared.is_shared());
    drop(shared);
    assert!(weak.upgrade().is_none());
    assert!(crate::WeakFileTable::<u32>::none().upgrade().is_none());
}

#[test]
fn a_weak_fs_context_follows_only_its_own_context() {
    let mut fs = crate::SharedFsContext::new(FsContext::new("/", "/home"));
    let other = fs.share();
    let weak = fs.downgrade();
    fs.unshare();
    // unshare moved `fs` to a copy; the weak handle stays on the original
    fs.lock().set_cwd("/tmp");
    assert_eq!(*weak.upgrade().unwrap().lock().cwd(), "/home");
    drop(other);
    assert!(weak.upgrade().is_none());
    assert!(crate::WeakFsContext::<&str>::none().upgrade().is_none());
}

/// fork(2) copies the table as it is (Linux's `dup_fd`); copied in steps
/// with the lock released between two (a kernel's preemption point), the
/// copy is still the whole table, flags included, reserved slots left out.
#[test]
fn fork_in_steps_copies_the_whole_table() {
    let mut t = table(300);
    assert_eq!(t.set_fd_flags(7, FD_CLOEXEC), Ok(()));
    assert_eq!(t.close(100).map(|f| *f), Ok(100));
    let r = t.reserve(false, NOFILE).unwrap();
    assert_eq!(r.fd(), 100);
    let shared = crate::SharedFileTable::new(t);
    let mut calls = 0;
    let copy = shared.fork_in_steps(64, &mut || calls += 1).unwrap();
    // 512 slots (the capacity for fd 299) in steps of 64: 7 points between
    assert_eq!(calls, 7);
    let c = copy.lock();
    assert_eq!(c.len(), 299);
    assert_eq!(fds(&c), (0..300).filter(|&f| f != 100).collect::<Vec<_>>());
    assert_eq!(c.fd_flags(7), Ok(FD_CLOEXEC));
    assert_eq!(c.fd_flags(8), Ok(0));
    assert_eq!(id(&c, 299), Some(299));
    // the source is unchanged and still shares its files with the copy
    assert_eq!(shared.lock().len(), 299);
    assert!(Arc::ptr_eq(&c.get(5).unwrap(), &shared.lock().get(5).unwrap()));
}

/// A change through another handle (`CLONE_FILES`) between two steps: the
/// copy starts again, so it is the table at one moment, never a mix; after
/// `FORK_RETRIES` restarts it is made in one step.
#[test]
fn fork_in_steps_starts_again_after_a_change() {
    let shared = crate::SharedFileTable::new(table(200));
    let other = shared.share();
    let mut n = 0;
    let copy = shared
        .fork_in_steps(64, &mut || {
            n += 1;
            if n == 2 {
                // closes a descriptor the first attempt had copied
                drop(other.close(3).unwrap());
            }
        })
        .unwrap();
    assert_eq!(id(&copy.lock(), 3), None);
    assert_eq!(copy.lock().len(), 199);
    // changes at every point: the last try copies in one step
    let mut next = 0u32;
    let copy = shared
        .fork_in_steps(8, &mut || {
            next += 1;
            drop(other.dup2(0, 1000 + next, NOFILE * 4).unwrap());
        })
        .unwrap();
    let now = shared.lock().len();
    assert_eq!(copy.lock().len(), now);
    assert_eq!(fds(&copy.lock()), fds(&shared.lock()));
}

/// fork's copy of a table allocates with the table's lock released
/// (Linux's `dup_fd`: the size read under the lock, the lock dropped for
/// the allocation, the size checked again): fork in steps, fork, and
/// close_range's `CLOSE_RANGE_UNSHARE` copy grow no table under the lock.
#[test]
fn fork_grows_no_table_under_the_table_lock() {
    let mut t = FileTable::new();
    for i in 0..5000 {
        assert_eq!(t.insert(file(i), i == 3, NOFILE * 8), Ok(i));
    }
    let shared = crate::SharedFileTable::new(t);
    let probe = shared.share();
    crate::table::probe::watch(alloc::boxed::Box::new(move || probe.is_locked()));
    let copy = shared.fork_in_steps(crate::FORK_STEP_FDS, &mut || {}).unwrap();
    assert_eq!(crate::table::probe::take(), 0);
    assert_eq!(copy.lock().len(), 5000);
    assert_eq!(copy.lock().fd_flags(3), Ok(FD_CLOEXEC));
    assert_eq!(copy.lock().fd_flags(4), Ok(0));
    let copy = shared.fork().unwrap();
    assert_eq!(crate::table::probe::take(), 0);
    assert_eq!(fds(&copy.lock()), (0..5000).collect::<Vec<_>>());
    let mut other = shared.share();
    assert_eq!(other.close_range(10, 4000, CLOSE_RANGE_UNSHARE).map(|c| c.len()), Ok(0));
    assert_eq!(crate::table::probe::take(), 0);
    assert_eq!(other.lock().len(), 5000 - 3991);
    assert_eq!(shared.lock().len(), 5000);
    // the probe sees a growth under the lock: the check can fail
    shared.lock().dupfd(0, 9000, false, NOFILE * 16).unwrap();
    assert_eq!(crate::table::probe::take(), 1);
}

/// The table grows between the size read and the copy (another handle
/// opens higher descriptors at each point between two steps): the copy is
/// sized again and still is the table at one moment.
#[test]
fn fork_sizes_again_when_the_table_grew_meanwhile() {
    let shared = crate::SharedFileTable::new(table(100));
    let other = shared.share();
    let mut n = 0u32;
    let copy = shared
        .fork_in_steps(16, &mut || {
            n += 1;
            if n < 10 {
                drop(other.dup2(0, 200 * n, NOFILE * 4).unwrap());
            }
        })
        .unwrap();
    assert_eq!(fds(&copy.lock()), fds(&shared.lock()));
    assert_eq!(id(&copy.lock(), 200), Some(0));
}

//! The `#[repr(C)]` structs of the x86_64 system-call ABI that handlers copy
//! to and from user memory as whole values ([`Pod`](crate::pod::Pod)).

use crate::abi_struct;

abi_struct! {
    /// `struct timespec` (`__kernel_timespec`).
    pub struct Timespec {
        /// Seconds.
        pub tv_sec: i64,
        /// Nanoseconds.
        pub tv_nsec: i64,
    }
}

abi_struct! {
    /// `struct timeval` (`__kernel_old_timeval`).
    pub struct Timeval {
        /// Seconds.
        pub tv_sec: i64,
        /// Microseconds.
        pub tv_usec: i64,
    }
}

abi_struct! {
    /// `struct timezone`.
    pub struct Timezone {
        /// Minutes west of Greenwich.
        pub tz_minuteswest: i32,
        /// Type of DST correction.
        pub tz_dsttime: i32,
    }
}

abi_struct! {
    /// `struct iovec`: one buffer of readv/writev/sendmsg.
    pub struct Iovec {
        /// Start of the buffer (a user address).
        pub iov_base: u64,
        /// Its length in bytes.
        pub iov_len: u64,
    }
}

abi_struct! {
    /// `struct rlimit` (`struct rlimit64` has the same layout on x86_64).
    pub struct Rlimit {
        /// The soft limit.
        pub rlim_cur: u64,
        /// The hard limit.
        pub rlim_max: u64,
    }
}

abi_struct! {
    /// `struct clone_args` of clone3(2), version 2 (88 bytes: `cgroup`
    /// included); an older caller's shorter struct reads as this one with
    /// the missing fields zero.
    pub struct CloneArgs {
        /// `CLONE_*` flags.
        pub flags: u64,
        /// Where to store the pidfd (`CLONE_PIDFD`).
        pub pidfd: u64,
        /// Where to store the child's tid in the child (`CLONE_CHILD_SETTID`).
        pub child_tid: u64,
        /// Where to store the child's tid in the parent (`CLONE_PARENT_SETTID`).
        pub parent_tid: u64,
        /// The signal sent to the parent when the child exits.
        pub exit_signal: u64,
        /// The lowest byte of the child's stack.
        pub stack: u64,
        /// The stack's size.
        pub stack_size: u64,
        /// The child's TLS base (`CLONE_SETTLS`).
        pub tls: u64,
        /// An array of pids to give the child, one per pid namespace level.
        pub set_tid: u64,
        /// The number of entries in `set_tid`.
        pub set_tid_size: u64,
        /// A cgroup fd (`CLONE_INTO_CGROUP`).
        pub cgroup: u64,
    }
}

/// `CLONE_ARGS_SIZE_VER0`: the first published `struct clone_args`.
pub const CLONE_ARGS_SIZE_VER0: usize = 64;
/// `CLONE_ARGS_SIZE_VER1`: with `set_tid` and `set_tid_size`.
pub const CLONE_ARGS_SIZE_VER1: usize = 80;
/// `CLONE_ARGS_SIZE_VER2`: with `cgroup`.
pub const CLONE_ARGS_SIZE_VER2: usize = 88;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::Pod;

    #[test]
    fn sizes_are_the_kernel_headers() {
        assert_eq!(Timespec::SIZE, 16);
        assert_eq!(Timeval::SIZE, 16);
        assert_eq!(Timezone::SIZE, 8);
        assert_eq!(Iovec::SIZE, 16);
        assert_eq!(Rlimit::SIZE, 16);
        assert_eq!(CloneArgs::SIZE, CLONE_ARGS_SIZE_VER2);
    }

    #[test]
    fn clone_args_fields_sit_at_their_offsets() {
        let mut raw = [0u8; CLONE_ARGS_SIZE_VER2];
        for i in 0..11u64 {
            raw[i as usize * 8..i as usize * 8 + 8].copy_from_slice(&(i + 1).to_ne_bytes());
        }
        let a = CloneArgs::from_bytes(&raw);
        assert_eq!((a.flags, a.pidfd, a.child_tid, a.parent_tid), (1, 2, 3, 4));
        assert_eq!((a.exit_signal, a.stack, a.stack_size, a.tls), (5, 6, 7, 8));
        assert_eq!((a.set_tid, a.set_tid_size, a.cgroup), (9, 10, 11));
        let mut back = [0u8; CLONE_ARGS_SIZE_VER2];
        a.to_bytes(&mut back);
        assert_eq!(back, raw);
    }

    #[test]
    fn timezone_is_two_ints() {
        let tz = Timezone { tz_minuteswest: -60, tz_dsttime: 1 };
        let mut b = [0u8; 8];
        tz.to_bytes(&mut b);
        assert_eq!(b[..4], (-60i32).to_ne_bytes());
        assert_eq!(b[4..], 1i32.to_ne_bytes());
        assert_eq!(Timezone::from_bytes(&b), tz);
    }
}

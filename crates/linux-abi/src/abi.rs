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
    /// `struct timex` (`__kernel_timex`) of adjtimex(2) and
    /// clock_adjtime(2), 208 bytes, its padding as named fields.
    pub struct Timex {
        /// `ADJ_*` mode selector.
        pub modes: u32,
        /// Padding.
        pub pad0: u32,
        /// Time offset (us, or ns with `STA_NANO`).
        pub offset: i64,
        /// Frequency offset (ppm with a 16-bit fraction).
        pub freq: i64,
        /// Maximum error (us).
        pub maxerror: i64,
        /// Estimated error (us).
        pub esterror: i64,
        /// `STA_*` clock status.
        pub status: i32,
        /// Padding.
        pub pad1: i32,
        /// PLL time constant.
        pub constant: i64,
        /// Clock precision (us).
        pub precision: i64,
        /// Clock frequency tolerance (ppm with a 16-bit fraction).
        pub tolerance: i64,
        /// The current time (the microseconds field in ns with `STA_NANO`).
        pub time: Timeval,
        /// Microseconds between clock ticks.
        pub tick: i64,
        /// PPS frequency.
        pub ppsfreq: i64,
        /// PPS jitter.
        pub jitter: i64,
        /// PPS interval duration (log2 seconds).
        pub shift: i32,
        /// Padding.
        pub pad2: i32,
        /// PPS stability.
        pub stabil: i64,
        /// PPS jitter limit exceeded count.
        pub jitcnt: i64,
        /// PPS calibration intervals.
        pub calcnt: i64,
        /// PPS calibration errors.
        pub errcnt: i64,
        /// PPS stability limit exceeded count.
        pub stbcnt: i64,
        /// TAI offset (s).
        pub tai: i32,
        /// Reserved.
        pub reserved: [i32; 11],
    }
}

// glibc's and the kernel's sizeof(struct timex)
const _: () = assert!(core::mem::size_of::<Timex>() == 208);

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
    /// `struct itimerval` of setitimer(2)/getitimer(2).
    pub struct Itimerval {
        /// The period.
        pub it_interval: Timeval,
        /// The time to the next expiry.
        pub it_value: Timeval,
    }
}

abi_struct! {
    /// `struct itimerspec` (`__kernel_itimerspec`) of timerfd_settime(2)
    /// and timer_settime(2).
    pub struct Itimerspec {
        /// The period.
        pub it_interval: Timespec,
        /// The time to the next expiry.
        pub it_value: Timespec,
    }
}

abi_struct! {
    /// `struct sched_attr` of sched_setattr(2)/sched_getattr(2), as of
    /// `SCHED_ATTR_SIZE_VER1` (56 bytes; VER0 is the first 48).
    pub struct SchedAttr {
        /// The size user space gave (or the kernel's, on E2BIG).
        pub size: u32,
        /// SCHED_OTHER, FIFO, RR, BATCH, IDLE or DEADLINE.
        pub sched_policy: u32,
        /// `SCHED_FLAG_*`.
        pub sched_flags: u64,
        /// The nice value (fair policies).
        pub sched_nice: i32,
        /// The real-time priority (FIFO and RR).
        pub sched_priority: u32,
        /// SCHED_DEADLINE's runtime in nanoseconds.
        pub sched_runtime: u64,
        /// SCHED_DEADLINE's relative deadline in nanoseconds.
        pub sched_deadline: u64,
        /// SCHED_DEADLINE's period in nanoseconds.
        pub sched_period: u64,
        /// The utilization clamp's minimum.
        pub sched_util_min: u32,
        /// The utilization clamp's maximum.
        pub sched_util_max: u32,
    }
}

const NSEC_PER_SEC: u64 = 1_000_000_000;

impl Timespec {
    /// `ns` nanoseconds (a time since an epoch or a duration).
    pub fn from_ns(ns: u64) -> Self {
        Self { tv_sec: (ns / NSEC_PER_SEC) as i64, tv_nsec: (ns % NSEC_PER_SEC) as i64 }
    }
    /// In nanoseconds (saturating), or `EINVAL` for a negative time or
    /// nanoseconds outside 0..10^9, as every time syscall checks
    /// (`timespec64_valid` plus the sign).
    pub fn to_ns(self) -> crate::Result<u64> {
        if self.tv_sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&self.tv_nsec) {
            return Err(crate::Errno::EINVAL);
        }
        Ok((self.tv_sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(self.tv_nsec as u64))
    }
}

impl Timeval {
    /// `ns` nanoseconds, cut to microseconds.
    pub fn from_ns(ns: u64) -> Self {
        Self { tv_sec: (ns / NSEC_PER_SEC) as i64, tv_usec: (ns % NSEC_PER_SEC / 1000) as i64 }
    }
    /// In nanoseconds (saturating), or `EINVAL` for a negative time or
    /// microseconds outside 0..10^6.
    pub fn to_ns(self) -> crate::Result<u64> {
        if self.tv_sec < 0 || !(0..1_000_000).contains(&self.tv_usec) {
            return Err(crate::Errno::EINVAL);
        }
        Ok((self.tv_sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(self.tv_usec as u64 * 1000))
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

abi_struct! {
    /// The kernel's `struct sigaction` of rt_sigaction(2) on x86_64 (not
    /// glibc's: the mask is the kernel's 64-bit `sigset_t`, last).
    pub struct Sigaction {
        /// `sa_handler` (`SIG_DFL` 0, `SIG_IGN` 1, or a function).
        pub sa_handler: u64,
        /// `SA_*` flags (an `unsigned long`).
        pub sa_flags: u64,
        /// `sa_restorer` (`SA_RESTORER`).
        pub sa_restorer: u64,
        /// The signals blocked while the handler runs.
        pub sa_mask: u64,
    }
}

abi_struct! {
    /// `struct user_msghdr` of sendmsg(2)/recvmsg(2) (56 bytes, the
    /// compiler's padding after `msg_namelen` and `msg_flags` spelled out).
    pub struct MsgHdr {
        /// The peer's address (`msg_name`).
        pub msg_name: u64,
        /// Its length (`int`).
        pub msg_namelen: i32,
        /// Padding.
        pub pad0: u32,
        /// The iovec array.
        pub msg_iov: u64,
        /// Its number of entries (`size_t`).
        pub msg_iovlen: u64,
        /// The control messages.
        pub msg_control: u64,
        /// Their length in bytes (`size_t`).
        pub msg_controllen: u64,
        /// Flags of a received message (`unsigned int`).
        pub msg_flags: u32,
        /// Padding.
        pub pad1: u32,
    }
}

abi_struct! {
    /// `struct mmsghdr` of sendmmsg(2)/recvmmsg(2) (64 bytes).
    pub struct Mmsghdr {
        /// The message.
        pub msg_hdr: MsgHdr,
        /// The bytes sent or received (`unsigned int`).
        pub msg_len: u32,
        /// Padding.
        pub pad: u32,
    }
}

abi_struct! {
    /// `struct epoll_event` on x86_64 (packed: 12 bytes).
    #[repr(packed)]
    pub struct EpollEvent {
        /// `EPOLL*` event bits.
        pub events: u32,
        /// The caller's data.
        pub data: u64,
    }
}

abi_struct! {
    /// `struct pollfd` of poll(2).
    pub struct Pollfd {
        /// The descriptor (`int`; negative: ignored).
        pub fd: i32,
        /// The requested events.
        pub events: i16,
        /// The returned events.
        pub revents: i16,
    }
}

abi_struct! {
    /// `struct __user_cap_header_struct` of capget(2)/capset(2).
    pub struct CapHeader {
        /// `_LINUX_CAPABILITY_VERSION_*`.
        pub version: u32,
        /// The thread (`int pid`).
        pub pid: i32,
    }
}

abi_struct! {
    /// `struct __user_cap_data_struct`: one 32-bit word of each set.
    pub struct CapData {
        /// Effective.
        pub effective: u32,
        /// Permitted.
        pub permitted: u32,
        /// Inheritable.
        pub inheritable: u32,
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
        assert_eq!(Sigaction::SIZE, 32);
        assert_eq!(MsgHdr::SIZE, 56);
        assert_eq!(Mmsghdr::SIZE, 64);
        assert_eq!(EpollEvent::SIZE, 12);
        assert_eq!(Pollfd::SIZE, 8);
        assert_eq!(CapHeader::SIZE, 8);
        assert_eq!(CapData::SIZE, 12);
        assert_eq!(Itimerspec::SIZE, 32);
    }

    #[test]
    fn msghdr_fields_sit_at_their_offsets() {
        let m = Mmsghdr {
            msg_hdr: MsgHdr {
                msg_name: 1,
                msg_namelen: 2,
                pad0: 0,
                msg_iov: 3,
                msg_iovlen: 4,
                msg_control: 5,
                msg_controllen: 6,
                msg_flags: 7,
                pad1: 0,
            },
            msg_len: 8,
            pad: 0,
        };
        let mut b = [0u8; 64];
        m.to_bytes(&mut b);
        // offsetof in Linux's struct user_msghdr and struct mmsghdr
        assert_eq!(b[0], 1);
        assert_eq!(b[8], 2);
        assert_eq!(b[16], 3);
        assert_eq!(b[24], 4);
        assert_eq!(b[32], 5);
        assert_eq!(b[40], 6);
        assert_eq!(b[48], 7);
        assert_eq!(b[56], 8);
        assert_eq!(Mmsghdr::from_bytes(&b), m);
    }

    #[test]
    fn epoll_event_is_packed_and_pollfd_is_int_short_short() {
        let e = EpollEvent { events: 0x8000_0001, data: 0x1122_3344_5566_7788 };
        let mut b = [0u8; 12];
        e.to_bytes(&mut b);
        assert_eq!(b[..4], 0x8000_0001u32.to_ne_bytes());
        assert_eq!(b[4..], 0x1122_3344_5566_7788u64.to_ne_bytes());
        assert_eq!(EpollEvent::from_bytes(&b), e);
        let p = Pollfd { fd: -1, events: 1, revents: 4 };
        let mut b = [0u8; 8];
        p.to_bytes(&mut b);
        assert_eq!(b[..4], (-1i32).to_ne_bytes());
        assert_eq!(b[4..6], 1i16.to_ne_bytes());
        assert_eq!(b[6..], 4i16.to_ne_bytes());
        let h = CapHeader { version: 0x2008_0522, pid: 0 };
        let mut b = [0u8; 8];
        h.to_bytes(&mut b);
        assert_eq!(CapHeader::from_bytes(&b), h);
        assert_eq!(b[..4], 0x2008_0522u32.to_ne_bytes());
    }

    #[test]
    fn sigaction_fields_sit_at_their_offsets() {
        let mut raw = [0u8; 32];
        for i in 0..4u64 {
            raw[i as usize * 8..i as usize * 8 + 8].copy_from_slice(&(i + 10).to_ne_bytes());
        }
        let a = Sigaction::from_bytes(&raw);
        assert_eq!((a.sa_handler, a.sa_flags, a.sa_restorer, a.sa_mask), (10, 11, 12, 13));
        let mut back = [0u8; 32];
        a.to_bytes(&mut back);
        assert_eq!(back, raw);
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
    fn times_convert_with_linuxs_checks() {
        use crate::Errno;
        assert_eq!(Timespec::from_ns(3_000_000_007), Timespec { tv_sec: 3, tv_nsec: 7 });
        assert_eq!(Timespec { tv_sec: 3, tv_nsec: 7 }.to_ns(), Ok(3_000_000_007));
        assert_eq!(Timespec { tv_sec: -1, tv_nsec: 0 }.to_ns(), Err(Errno::EINVAL));
        assert_eq!(Timespec { tv_sec: 0, tv_nsec: 1_000_000_000 }.to_ns(), Err(Errno::EINVAL));
        assert_eq!(Timespec { tv_sec: 0, tv_nsec: -1 }.to_ns(), Err(Errno::EINVAL));
        assert_eq!(Timespec { tv_sec: i64::MAX, tv_nsec: 999_999_999 }.to_ns(), Ok(u64::MAX));
        assert_eq!(Timeval::from_ns(2_000_001_999), Timeval { tv_sec: 2, tv_usec: 1 });
        assert_eq!(Timeval { tv_sec: 2, tv_usec: 1 }.to_ns(), Ok(2_000_001_000));
        assert_eq!(Timeval { tv_sec: 0, tv_usec: 1_000_000 }.to_ns(), Err(Errno::EINVAL));
        assert_eq!(Timeval { tv_sec: -5, tv_usec: 0 }.to_ns(), Err(Errno::EINVAL));
        assert_eq!(Itimerval::SIZE, 32);
        let it = Itimerval { it_interval: Timeval::from_ns(1), it_value: Timeval { tv_sec: 9, tv_usec: 8 } };
        let mut b = [0u8; 32];
        it.to_bytes(&mut b);
        assert_eq!(b[16], 9);
        assert_eq!(b[24], 8);
        assert_eq!(Itimerval::from_bytes(&b), it);
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

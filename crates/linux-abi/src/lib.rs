//! Linux x86_64 ABI facts shared by every crate of the kernel: the one
//! error type all crates return, [`Errno`] (a Linux errno value), the
//! x86_64 system call numbers ([`syscall`]), system-call arguments typed as
//! the prototypes declare them ([`args`]: fds, pointers, Linux's truncation
//! rules, `access_ok`) and the ABI structs copied to and from user memory as
//! values ([`pod`], [`abi`]). Syscall handlers return `Result<T, Errno>` and the dispatcher
//! turns an error into the negative value Linux returns in `rax`.
//!
//! ```
//! use linux_abi::Errno;
//! let e = Errno::EBADF;
//! assert_eq!(e.as_i32(), 9);
//! assert_eq!(e.to_syscall_return(), -9);
//! assert_eq!(e.name(), "EBADF");
//! assert_eq!(Errno::from_i32(22), Some(Errno::EINVAL));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use core::fmt;

pub mod abi;
pub mod args;
pub mod cmsg;
pub mod pod;
pub mod rseq;
pub mod syscall;
pub mod sysctl;

/// A Linux errno value (a positive number; syscalls return its negation).
///
/// The values 512..=516 are Linux's kernel-internal restart codes: they never
/// reach user space, the signal-delivery path turns them into `EINTR` or a
/// restart.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Errno(i32);

/// The result type of everything that can fail with an errno.
pub type Result<T> = core::result::Result<T, Errno>;

impl Errno {
    /// Operation not permitted (1).
    pub const EPERM: Errno = Errno(1);
    /// No such file or directory (2).
    pub const ENOENT: Errno = Errno(2);
    /// No such process (3).
    pub const ESRCH: Errno = Errno(3);
    /// Interrupted system call (4).
    pub const EINTR: Errno = Errno(4);
    /// Input/output error (5).
    pub const EIO: Errno = Errno(5);
    /// No such device or address (6).
    pub const ENXIO: Errno = Errno(6);
    /// Argument list too long (7).
    pub const E2BIG: Errno = Errno(7);
    /// Exec format error (8).
    pub const ENOEXEC: Errno = Errno(8);
    /// Bad file descriptor (9).
    pub const EBADF: Errno = Errno(9);
    /// No child processes (10).
    pub const ECHILD: Errno = Errno(10);
    /// Resource temporarily unavailable (11).
    pub const EAGAIN: Errno = Errno(11);
    /// Cannot allocate memory (12).
    pub const ENOMEM: Errno = Errno(12);
    /// Permission denied (13).
    pub const EACCES: Errno = Errno(13);
    /// Bad address (14).
    pub const EFAULT: Errno = Errno(14);
    /// Block device required (15).
    pub const ENOTBLK: Errno = Errno(15);
    /// Device or resource busy (16).
    pub const EBUSY: Errno = Errno(16);
    /// File exists (17).
    pub const EEXIST: Errno = Errno(17);
    /// Invalid cross-device link (18).
    pub const EXDEV: Errno = Errno(18);
    /// No such device (19).
    pub const ENODEV: Errno = Errno(19);
    /// Not a directory (20).
    pub const ENOTDIR: Errno = Errno(20);
    /// Is a directory (21).
    pub const EISDIR: Errno = Errno(21);
    /// Invalid argument (22).
    pub const EINVAL: Errno = Errno(22);
    /// Too many open files in system (23).
    pub const ENFILE: Errno = Errno(23);
    /// Too many open files (24).
    pub const EMFILE: Errno = Errno(24);
    /// Inappropriate ioctl for device (25).
    pub const ENOTTY: Errno = Errno(25);
    /// Text file busy (26).
    pub const ETXTBSY: Errno = Errno(26);
    /// File too large (27).
    pub const EFBIG: Errno = Errno(27);
    /// No space left on device (28).
    pub const ENOSPC: Errno = Errno(28);
    /// Illegal seek (29).
    pub const ESPIPE: Errno = Errno(29);
    /// Read-only file system (30).
    pub const EROFS: Errno = Errno(30);
    /// Too many links (31).
    pub const EMLINK: Errno = Errno(31);
    /// Broken pipe (32).
    pub const EPIPE: Errno = Errno(32);
    /// Numerical argument out of domain (33).
    pub const EDOM: Errno = Errno(33);
    /// Numerical result out of range (34).
    pub const ERANGE: Errno = Errno(34);
    /// Resource deadlock avoided (35).
    pub const EDEADLK: Errno = Errno(35);
    /// File name too long (36).
    pub const ENAMETOOLONG: Errno = Errno(36);
    /// No locks available (37).
    pub const ENOLCK: Errno = Errno(37);
    /// Function not implemented (38).
    pub const ENOSYS: Errno = Errno(38);
    /// Directory not empty (39).
    pub const ENOTEMPTY: Errno = Errno(39);
    /// Too many levels of symbolic links (40).
    pub const ELOOP: Errno = Errno(40);
    /// No message of desired type (42).
    pub const ENOMSG: Errno = Errno(42);
    /// Identifier removed (43).
    pub const EIDRM: Errno = Errno(43);
    /// Device not a stream (60).
    pub const ENOSTR: Errno = Errno(60);
    /// Invalid request descriptor (53; io_uring_enter: completions were dropped).
    pub const EBADR: Errno = Errno(53);
    /// No data available (61).
    pub const ENODATA: Errno = Errno(61);
    /// Timer expired (62).
    pub const ETIME: Errno = Errno(62);
    /// Link has been severed (67).
    pub const ENOLINK: Errno = Errno(67);
    /// Protocol error (71).
    pub const EPROTO: Errno = Errno(71);
    /// Bad message (74).
    pub const EBADMSG: Errno = Errno(74);
    /// Value too large for defined data type (75).
    pub const EOVERFLOW: Errno = Errno(75);
    /// File descriptor in bad state (77; a disabled io_uring).
    pub const EBADFD: Errno = Errno(77);
    /// Accessing a corrupted shared library (80).
    pub const ELIBBAD: Errno = Errno(80);
    /// Invalid or incomplete multibyte or wide character (84).
    pub const EILSEQ: Errno = Errno(84);
    /// Too many users (87).
    pub const EUSERS: Errno = Errno(87);
    /// Socket operation on non-socket (88).
    pub const ENOTSOCK: Errno = Errno(88);
    /// Destination address required (89).
    pub const EDESTADDRREQ: Errno = Errno(89);
    /// Message too long (90).
    pub const EMSGSIZE: Errno = Errno(90);
    /// Protocol wrong type for socket (91).
    pub const EPROTOTYPE: Errno = Errno(91);
    /// Protocol not available (92).
    pub const ENOPROTOOPT: Errno = Errno(92);
    /// Protocol not supported (93).
    pub const EPROTONOSUPPORT: Errno = Errno(93);
    /// Socket type not supported (94).
    pub const ESOCKTNOSUPPORT: Errno = Errno(94);
    /// Operation not supported (95).
    pub const EOPNOTSUPP: Errno = Errno(95);
    /// Protocol family not supported (96).
    pub const EPFNOSUPPORT: Errno = Errno(96);
    /// Address family not supported by protocol (97).
    pub const EAFNOSUPPORT: Errno = Errno(97);
    /// Address already in use (98).
    pub const EADDRINUSE: Errno = Errno(98);
    /// Cannot assign requested address (99).
    pub const EADDRNOTAVAIL: Errno = Errno(99);
    /// Network is down (100).
    pub const ENETDOWN: Errno = Errno(100);
    /// Network is unreachable (101).
    pub const ENETUNREACH: Errno = Errno(101);
    /// Network dropped connection on reset (102).
    pub const ENETRESET: Errno = Errno(102);
    /// Software caused connection abort (103).
    pub const ECONNABORTED: Errno = Errno(103);
    /// Connection reset by peer (104).
    pub const ECONNRESET: Errno = Errno(104);
    /// No buffer space available (105).
    pub const ENOBUFS: Errno = Errno(105);
    /// Transport endpoint is already connected (106).
    pub const EISCONN: Errno = Errno(106);
    /// Transport endpoint is not connected (107).
    pub const ENOTCONN: Errno = Errno(107);
    /// Cannot send after transport endpoint shutdown (108).
    pub const ESHUTDOWN: Errno = Errno(108);
    /// Connection timed out (110).
    pub const ETIMEDOUT: Errno = Errno(110);
    /// Connection refused (111).
    pub const ECONNREFUSED: Errno = Errno(111);
    /// Host is down (112).
    pub const EHOSTDOWN: Errno = Errno(112);
    /// No route to host (113).
    pub const EHOSTUNREACH: Errno = Errno(113);
    /// Operation already in progress (114).
    pub const EALREADY: Errno = Errno(114);
    /// Operation now in progress (115).
    pub const EINPROGRESS: Errno = Errno(115);
    /// Stale file handle (116).
    pub const ESTALE: Errno = Errno(116);
    /// Structure needs cleaning (117): Linux's EFSCORRUPTED, a corrupt file system.
    pub const EUCLEAN: Errno = Errno(117);
    /// Disk quota exceeded (122).
    pub const EDQUOT: Errno = Errno(122);
    /// Operation canceled (125).
    pub const ECANCELED: Errno = Errno(125);
    /// Owner died (130).
    pub const EOWNERDEAD: Errno = Errno(130);
    /// State not recoverable (131).
    pub const ENOTRECOVERABLE: Errno = Errno(131);
    /// Kernel-internal: restart the system call if the handler has SA_RESTART (512).
    pub const ERESTARTSYS: Errno = Errno(512);
    /// Kernel-internal: always restart the system call (513).
    pub const ERESTARTNOINTR: Errno = Errno(513);
    /// Kernel-internal: restart only if no handler ran (514).
    pub const ERESTARTNOHAND: Errno = Errno(514);
    /// Kernel-internal: no ioctl command (515).
    pub const ENOIOCTLCMD: Errno = Errno(515);
    /// Kernel-internal: restart through restart_syscall (516).
    pub const ERESTART_RESTARTBLOCK: Errno = Errno(516);
    /// Same value as [`Errno::EAGAIN`].
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// Same value as [`Errno::EDEADLK`].
    pub const EDEADLOCK: Errno = Errno::EDEADLK;
    /// Same value as [`Errno::EOPNOTSUPP`].
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The errno for a number in 1..=4095 (the range Linux reserves for
    /// errors in a syscall return), or `None` outside it.
    pub const fn from_i32(value: i32) -> Option<Errno> {
        if value >= 1 && value <= 4095 { Some(Errno(value)) } else { None }
    }

    /// The positive errno number.
    pub const fn as_i32(self) -> i32 {
        self.0
    }

    /// The value a syscall returns in `rax` for this error: `-errno`.
    pub const fn to_syscall_return(self) -> isize {
        -(self.0 as isize)
    }

    /// Decodes a raw syscall return value: values in -4095..=-1 are errors.
    pub const fn from_syscall_return(ret: isize) -> core::result::Result<usize, Errno> {
        if ret < 0 && ret >= -4095 { Err(Errno((-ret) as i32)) } else { Ok(ret as usize) }
    }

    /// Whether this is one of the kernel-internal restart codes
    /// (`ERESTARTSYS`, `ERESTARTNOINTR`, `ERESTARTNOHAND`,
    /// `ERESTART_RESTARTBLOCK`).
    pub const fn is_restart(self) -> bool {
        matches!(self.0, 512 | 513 | 514 | 516)
    }

    /// The symbolic name (`"ENOENT"`), or `"E?"` for a number without one.
    pub const fn name(self) -> &'static str {
        match self.0 {
            1 => "EPERM",
            2 => "ENOENT",
            3 => "ESRCH",
            4 => "EINTR",
            5 => "EIO",
            6 => "ENXIO",
            7 => "E2BIG",
            8 => "ENOEXEC",
            9 => "EBADF",
            10 => "ECHILD",
            11 => "EAGAIN",
            12 => "ENOMEM",
            13 => "EACCES",
            14 => "EFAULT",
            15 => "ENOTBLK",
            16 => "EBUSY",
            17 => "EEXIST",
            18 => "EXDEV",
            19 => "ENODEV",
            20 => "ENOTDIR",
            21 => "EISDIR",
            22 => "EINVAL",
            23 => "ENFILE",
            24 => "EMFILE",
            25 => "ENOTTY",
            26 => "ETXTBSY",
            27 => "EFBIG",
            28 => "ENOSPC",
            29 => "ESPIPE",
            30 => "EROFS",
            31 => "EMLINK",
            32 => "EPIPE",
            33 => "EDOM",
            34 => "ERANGE",
            35 => "EDEADLK",
            36 => "ENAMETOOLONG",
            37 => "ENOLCK",
            38 => "ENOSYS",
            39 => "ENOTEMPTY",
            40 => "ELOOP",
            42 => "ENOMSG",
            43 => "EIDRM",
            53 => "EBADR",
            60 => "ENOSTR",
            61 => "ENODATA",
            62 => "ETIME",
            67 => "ENOLINK",
            71 => "EPROTO",
            74 => "EBADMSG",
            75 => "EOVERFLOW",
            77 => "EBADFD",
            80 => "ELIBBAD",
            84 => "EILSEQ",
            87 => "EUSERS",
            88 => "ENOTSOCK",
            89 => "EDESTADDRREQ",
            90 => "EMSGSIZE",
            91 => "EPROTOTYPE",
            92 => "ENOPROTOOPT",
            93 => "EPROTONOSUPPORT",
            94 => "ESOCKTNOSUPPORT",
            95 => "EOPNOTSUPP",
            96 => "EPFNOSUPPORT",
            97 => "EAFNOSUPPORT",
            98 => "EADDRINUSE",
            99 => "EADDRNOTAVAIL",
            100 => "ENETDOWN",
            101 => "ENETUNREACH",
            102 => "ENETRESET",
            103 => "ECONNABORTED",
            104 => "ECONNRESET",
            105 => "ENOBUFS",
            106 => "EISCONN",
            107 => "ENOTCONN",
            108 => "ESHUTDOWN",
            110 => "ETIMEDOUT",
            111 => "ECONNREFUSED",
            112 => "EHOSTDOWN",
            113 => "EHOSTUNREACH",
            114 => "EALREADY",
            115 => "EINPROGRESS",
            116 => "ESTALE",
            117 => "EUCLEAN",
            122 => "EDQUOT",
            125 => "ECANCELED",
            130 => "EOWNERDEAD",
            131 => "ENOTRECOVERABLE",
            512 => "ERESTARTSYS",
            513 => "ERESTARTNOINTR",
            514 => "ERESTARTNOHAND",
            515 => "ENOIOCTLCMD",
            516 => "ERESTART_RESTARTBLOCK",
            _ => "E?",
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl core::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_linux_asm_generic_errno() {
        // include/uapi/asm-generic/errno-base.h and errno.h
        assert_eq!(Errno::EPERM.as_i32(), 1);
        assert_eq!(Errno::EAGAIN.as_i32(), 11);
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
        assert_eq!(Errno::ENOSYS.as_i32(), 38);
        assert_eq!(Errno::EOPNOTSUPP.as_i32(), 95);
        assert_eq!(Errno::ENOTRECOVERABLE.as_i32(), 131);
        assert_eq!(Errno::ERESTART_RESTARTBLOCK.as_i32(), 516);
    }

    #[test]
    fn syscall_return_round_trip() {
        assert_eq!(Errno::from_syscall_return(-2), Err(Errno::ENOENT));
        assert_eq!(Errno::from_syscall_return(0), Ok(0));
        assert_eq!(Errno::from_syscall_return(-4096), Ok((-4096isize) as usize));
        assert_eq!(Errno::ENOENT.to_syscall_return(), -2);
        assert_eq!(Errno::from_i32(0), None);
        assert_eq!(Errno::from_i32(4096), None);
    }

    #[test]
    fn names() {
        assert_eq!(Errno::ENAMETOOLONG.name(), "ENAMETOOLONG");
        assert_eq!(Errno::from_i32(41).map(Errno::name), Some("E?"));
        assert!(Errno::ERESTARTSYS.is_restart());
        assert!(!Errno::ENOIOCTLCMD.is_restart());
        assert!(!Errno::EINTR.is_restart());
    }
}

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

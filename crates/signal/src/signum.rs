//! Signal numbers and their default actions (signal(7)).

use core::fmt;

use linux_abi::{Errno, Result};

/// A valid signal number, `1..=64` (Linux's `_NSIG` is 64).
///
/// Signal 0 (the "does the target exist" probe of kill(2)) is not a signal:
/// a syscall handler treats it before building a `SigNum`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SigNum(u8);

/// The number of signals (`_NSIG`).
pub const NSIG: usize = 64;

macro_rules! signals {
    ($($(#[$doc:meta])* $name:ident = $n:literal,)*) => {
        $( $(#[$doc])* pub const $name: SigNum = SigNum($n); )*
        const NAMES: [&str; 32] = {
            let mut names = [""; 32];
            $( names[$n] = stringify!($name); )*
            names
        };
    };
}

signals! {
    /// Hangup (1): terminate.
    SIGHUP = 1,
    /// Interrupt from the keyboard (2): terminate.
    SIGINT = 2,
    /// Quit from the keyboard (3): core.
    SIGQUIT = 3,
    /// Illegal instruction (4): core; synchronous.
    SIGILL = 4,
    /// Trace or breakpoint trap (5): core; synchronous.
    SIGTRAP = 5,
    /// Abort (6): core.
    SIGABRT = 6,
    /// Bus error (7): core; synchronous.
    SIGBUS = 7,
    /// Floating-point exception (8): core; synchronous.
    SIGFPE = 8,
    /// Kill (9): terminate; cannot be caught, blocked or ignored.
    SIGKILL = 9,
    /// User-defined signal 1 (10): terminate.
    SIGUSR1 = 10,
    /// Invalid memory reference (11): core; synchronous.
    SIGSEGV = 11,
    /// User-defined signal 2 (12): terminate.
    SIGUSR2 = 12,
    /// Broken pipe (13): terminate.
    SIGPIPE = 13,
    /// Timer signal from alarm(2) (14): terminate.
    SIGALRM = 14,
    /// Termination signal (15): terminate.
    SIGTERM = 15,
    /// Stack fault on coprocessor (16, unused): terminate.
    SIGSTKFLT = 16,
    /// Child stopped, continued or terminated (17): ignore.
    SIGCHLD = 17,
    /// Continue if stopped (18): continue.
    SIGCONT = 18,
    /// Stop process (19): stop; cannot be caught, blocked or ignored.
    SIGSTOP = 19,
    /// Stop typed at the terminal (20): stop.
    SIGTSTP = 20,
    /// Terminal input for a background process (21): stop.
    SIGTTIN = 21,
    /// Terminal output for a background process (22): stop.
    SIGTTOU = 22,
    /// Urgent condition on a socket (23): ignore.
    SIGURG = 23,
    /// CPU time limit exceeded (24): core.
    SIGXCPU = 24,
    /// File size limit exceeded (25): core.
    SIGXFSZ = 25,
    /// Virtual alarm clock (26): terminate.
    SIGVTALRM = 26,
    /// Profiling timer expired (27): terminate.
    SIGPROF = 27,
    /// Window resize (28): ignore.
    SIGWINCH = 28,
    /// I/O now possible (29, also SIGPOLL): terminate.
    SIGIO = 29,
    /// Power failure (30): terminate.
    SIGPWR = 30,
    /// Bad system call (31): core; synchronous.
    SIGSYS = 31,
}

/// Pollable event (same number as [`SIGIO`]).
pub const SIGPOLL: SigNum = SIGIO;
/// The first real-time signal as the kernel counts (32). C libraries keep
/// the first two or three for themselves and report a larger `SIGRTMIN`.
pub const SIGRTMIN: SigNum = SigNum(32);
/// The last real-time signal (64).
pub const SIGRTMAX: SigNum = SigNum(64);

/// What a signal does when its disposition is `SIG_DFL` (signal(7),
/// "Standard signals", the "Action" column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefaultAction {
    /// Term: terminate the process.
    Terminate,
    /// Core: terminate the process and dump core.
    CoreDump,
    /// Ign: ignore the signal.
    Ignore,
    /// Stop: stop the process.
    Stop,
    /// Cont: continue the process if it is stopped.
    Continue,
}

impl SigNum {
    /// The signal numbered `raw`, or `EINVAL` outside `1..=64` (as Linux's
    /// `valid_signal()` check in every signal syscall).
    pub const fn new(raw: i32) -> Result<SigNum> {
        if raw >= 1 && raw <= NSIG as i32 { Ok(SigNum(raw as u8)) } else { Err(Errno::EINVAL) }
    }

    /// The signal number, `1..=64`.
    pub const fn get(self) -> u32 {
        self.0 as u32
    }

    /// The signal number as the `int` the ABI uses.
    pub const fn as_i32(self) -> i32 {
        self.0 as i32
    }

    /// Whether this is a real-time signal (`SIGRTMIN..=SIGRTMAX`): those queue
    /// every instance with its siginfo instead of coalescing (signal(7),
    /// "Real-time signals").
    pub const fn is_realtime(self) -> bool {
        self.0 >= SIGRTMIN.0
    }

    /// Whether this is SIGKILL or SIGSTOP, which can be neither caught,
    /// blocked nor ignored (Linux's `sig_kernel_only()`).
    pub const fn is_kernel_only(self) -> bool {
        self.0 == SIGKILL.0 || self.0 == SIGSTOP.0
    }

    /// Whether this is one of the synchronous (fault) signals that Linux
    /// dequeues before all others: SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE,
    /// SIGSYS (`SYNCHRONOUS_MASK` of kernel/signal.c).
    pub const fn is_synchronous(self) -> bool {
        matches!(self.0, 4 | 5 | 7 | 8 | 11 | 31)
    }

    /// Whether this is a stop signal: SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU
    /// (`sig_kernel_stop()`).
    pub const fn is_stop(self) -> bool {
        matches!(self.0, 19..=22)
    }

    /// The default action of this signal (signal(7)); real-time signals
    /// terminate.
    pub const fn default_action(self) -> DefaultAction {
        match self.0 {
            3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31 => DefaultAction::CoreDump,
            17 | 23 | 28 => DefaultAction::Ignore,
            18 => DefaultAction::Continue,
            19..=22 => DefaultAction::Stop,
            _ => DefaultAction::Terminate,
        }
    }

    /// Whether `SIG_DFL` means the signal is ignored when delivered (Linux's
    /// `sig_kernel_ignore()`: SIGCHLD, SIGURG, SIGWINCH, and SIGCONT, whose
    /// continuing happens when it is sent, not when it is delivered).
    pub const fn default_is_ignore(self) -> bool {
        matches!(self.default_action(), DefaultAction::Ignore | DefaultAction::Continue)
    }

    /// The name, `"SIGINT"`, or `"SIGRTMIN+n"` for a real-time signal.
    /// Real-time names are written by `Debug`/`Display`; this returns
    /// `"SIGRT"` for them.
    pub const fn name(self) -> &'static str {
        if self.is_realtime() { "SIGRT" } else { NAMES[self.0 as usize] }
    }

    /// Every signal, `1..=64`, in order.
    pub fn all() -> impl Iterator<Item = SigNum> {
        (1..=NSIG as u8).map(SigNum)
    }
}

impl TryFrom<i32> for SigNum {
    type Error = Errno;
    fn try_from(raw: i32) -> Result<SigNum> {
        SigNum::new(raw)
    }
}

impl From<SigNum> for i32 {
    fn from(sig: SigNum) -> i32 {
        sig.as_i32()
    }
}

impl fmt::Debug for SigNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_realtime() {
            write!(f, "SIGRTMIN+{}", self.0 - SIGRTMIN.0)
        } else {
            f.write_str(self.name())
        }
    }
}

impl fmt::Display for SigNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn numbers_are_validated() {
        // sigaction(2), kill(2): EINVAL "An invalid signal was specified."
        assert_eq!(SigNum::new(0), Err(Errno::EINVAL));
        assert_eq!(SigNum::new(65), Err(Errno::EINVAL));
        assert_eq!(SigNum::new(-1), Err(Errno::EINVAL));
        assert_eq!(SigNum::new(1).map(SigNum::get), Ok(1));
        assert_eq!(SigNum::new(64), Ok(SIGRTMAX));
        assert_eq!(SigNum::all().count(), 64);
    }

    #[test]
    fn x86_64_numbers() {
        // signal(7), "Standard signals", the x86/ARM column.
        let expect = [
            (SIGHUP, 1),
            (SIGINT, 2),
            (SIGQUIT, 3),
            (SIGILL, 4),
            (SIGTRAP, 5),
            (SIGABRT, 6),
            (SIGBUS, 7),
            (SIGFPE, 8),
            (SIGKILL, 9),
            (SIGUSR1, 10),
            (SIGSEGV, 11),
            (SIGUSR2, 12),
            (SIGPIPE, 13),
            (SIGALRM, 14),
            (SIGTERM, 15),
            (SIGSTKFLT, 16),
            (SIGCHLD, 17),
            (SIGCONT, 18),
            (SIGSTOP, 19),
            (SIGTSTP, 20),
            (SIGTTIN, 21),
            (SIGTTOU, 22),
            (SIGURG, 23),
            (SIGXCPU, 24),
            (SIGXFSZ, 25),
            (SIGVTALRM, 26),
            (SIGPROF, 27),
            (SIGWINCH, 28),
            (SIGIO, 29),
            (SIGPWR, 30),
            (SIGSYS, 31),
        ];
        for (sig, n) in expect {
            assert_eq!(sig.as_i32(), n);
        }
        assert_eq!(SIGPOLL, SIGIO);
        assert_eq!(SIGRTMIN.get(), 32);
        assert_eq!(SIGRTMAX.get(), 64);
    }

    #[test]
    fn default_actions_match_signal_7_table() {
        // signal(7), "Standard signals": the Action column.
        use DefaultAction::*;
        let table = [
            Terminate, Terminate, CoreDump, CoreDump, CoreDump, CoreDump, CoreDump, CoreDump, Terminate,
            Terminate, CoreDump, Terminate, Terminate, Terminate, Terminate, Terminate, Ignore, Continue,
            Stop, Stop, Stop, Stop, Ignore, CoreDump, CoreDump, Terminate, Terminate, Ignore, Terminate,
            Terminate, CoreDump,
        ];
        for (i, action) in table.iter().enumerate() {
            let sig = SigNum::new(i as i32 + 1).unwrap();
            assert_eq!(sig.default_action(), *action, "{sig}");
        }
        // signal(7), "Real-time signals": "The default action for an
        // unhandled real-time signal is to terminate the receiving process."
        for n in 32..=64 {
            assert_eq!(SigNum::new(n).unwrap().default_action(), Terminate);
        }
    }

    #[test]
    fn classes() {
        // kernel/signal.c SYNCHRONOUS_MASK; include/linux/signal.h SIG_KERNEL_*_MASK.
        let sync: alloc::vec::Vec<_> = SigNum::all().filter(|s| s.is_synchronous()).collect();
        assert_eq!(sync, [SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV, SIGSYS]);
        let stop: alloc::vec::Vec<_> = SigNum::all().filter(|s| s.is_stop()).collect();
        assert_eq!(stop, [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU]);
        let only: alloc::vec::Vec<_> = SigNum::all().filter(|s| s.is_kernel_only()).collect();
        assert_eq!(only, [SIGKILL, SIGSTOP]);
        let ign: alloc::vec::Vec<_> = SigNum::all().filter(|s| s.default_is_ignore()).collect();
        assert_eq!(ign, [SIGCHLD, SIGCONT, SIGURG, SIGWINCH]);
        assert!(!SIGSYS.is_realtime() && SIGRTMIN.is_realtime());
    }

    #[test]
    fn names() {
        assert_eq!(format!("{}", SIGSEGV), "SIGSEGV");
        assert_eq!(format!("{:?}", SIGRTMIN), "SIGRTMIN+0");
        assert_eq!(format!("{:?}", SIGRTMAX), "SIGRTMIN+32");
        assert_eq!(SIGKILL.name(), "SIGKILL");
        assert_eq!(SIGRTMAX.name(), "SIGRT");
    }
}

//! Time namespaces (Linux's `kernel/time/namespace.c`): per namespace an
//! offset for CLOCK_MONOTONIC (also its `_COARSE` and `_RAW` forms) and
//! one for CLOCK_BOOTTIME (and `_ALARM`), settable through
//! `/proc/PID/timens_offsets` until a process enters the namespace
//! ([`TimeNs::enter`], Linux's `timens_commit`), fixed after.
//!
//! A process has two: the one its clocks read (`time`) and the one its
//! children enter (`time_for_children`); unshare(2) changes only the
//! latter. The kernel converts: [`TimeOffsets::apply`] for a reading,
//! [`TimeOffsets::to_host`] for an absolute deadline.

use crate::ns::{Charge, UserNsRef};
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt::Write;
use linux_abi::{Errno, Result};

/// The inode number of the initial time namespace (`PROC_TIME_INIT_INO`).
pub const INIT_TIME_INO: u64 = 0xEFFF_FFFA;
/// Linux's `KTIME_SEC_MAX`: the most seconds a `ktime_t` holds.
pub const KTIME_SEC_MAX: i64 = i64::MAX / NSEC;
/// Linux's `KTIME_MAX` (ns).
pub const KTIME_MAX: u64 = i64::MAX as u64;
const NSEC: i64 = 1_000_000_000;

/// `CLOCK_MONOTONIC`.
pub const CLOCK_MONOTONIC: u32 = 1;
/// `CLOCK_MONOTONIC_RAW`.
pub const CLOCK_MONOTONIC_RAW: u32 = 4;
/// `CLOCK_MONOTONIC_COARSE`.
pub const CLOCK_MONOTONIC_COARSE: u32 = 6;
/// `CLOCK_BOOTTIME`.
pub const CLOCK_BOOTTIME: u32 = 7;
/// `CLOCK_BOOTTIME_ALARM`.
pub const CLOCK_BOOTTIME_ALARM: u32 = 9;

/// One offset (a `timespec64`: `nsec` below 10^9, `sec` may be negative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offset {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds, `0..10^9`.
    pub nsec: u32,
}

impl Offset {
    /// The offset in ns.
    pub fn ns(self) -> i128 {
        i128::from(self.sec) * i128::from(NSEC) + i128::from(self.nsec)
    }
}

/// A namespace's two offsets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeOffsets {
    /// Added to CLOCK_MONOTONIC, `_COARSE` and `_RAW`.
    pub monotonic: Offset,
    /// Added to CLOCK_BOOTTIME and `_ALARM`.
    pub boottime: Offset,
}

/// Which offset a line of `timens_offsets` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeClock {
    /// `monotonic` or `1`.
    Monotonic,
    /// `boottime` or `7`.
    Boottime,
}

impl TimeOffsets {
    /// Whether both are zero (the clocks read as the host's).
    pub fn is_zero(&self) -> bool {
        *self == TimeOffsets::default()
    }

    /// The offset of clock `clock` (`None`: a clock namespaces do not
    /// shift: REALTIME, TAI, the CPU clocks).
    fn of(&self, clock: u32) -> Option<Offset> {
        match clock {
            CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE => Some(self.monotonic),
            CLOCK_BOOTTIME | CLOCK_BOOTTIME_ALARM => Some(self.boottime),
            _ => None,
        }
    }

    /// `timens_add_monotonic`/`timens_add_boottime`: the reading `host`
    /// (ns) of `clock` as the namespace sees it (kept in `0..=u64::MAX`).
    pub fn apply(&self, clock: u32, host: u64) -> u64 {
        match self.of(clock) {
            Some(o) => (i128::from(host) + o.ns()).clamp(0, i128::from(u64::MAX)) as u64,
            None => host,
        }
    }

    /// `timens_ktime_to_host`: an absolute time `tim` (ns) of `clock` in
    /// the namespace as the host's clock (0, passed, when it lies before
    /// the offset; at most `KTIME_MAX`). MONOTONIC_RAW and the COARSE
    /// clocks have no timers: unchanged, as in Linux.
    pub fn to_host(&self, clock: u32, tim: u64) -> u64 {
        let off = match clock {
            CLOCK_MONOTONIC => self.monotonic,
            CLOCK_BOOTTIME | CLOCK_BOOTTIME_ALARM => self.boottime,
            _ => return tim,
        };
        let t = i128::from(tim);
        if t < off.ns() { 0 } else { (t - off.ns()).min(i128::from(KTIME_MAX)) as u64 }
    }

    /// `/proc/PID/timens_offsets` (`proc_timens_show_offsets`:
    /// `"%-10s %10lld %9ld\n"`, monotonic then boottime).
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (name, o) in [("monotonic", self.monotonic), ("boottime", self.boottime)] {
            let _ = writeln!(s, "{:<10} {:>10} {:>9}", name, o.sec, o.nsec);
        }
        s
    }
}

/// Linux's `isspace`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t'..=b'\r' | 0xa0)
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    &s[s.iter().take_while(|&&b| is_space(b)).count()..]
}

/// The kernel's `simple_strntoull` in base 10 (wrapping on overflow):
/// the value and the rest.
fn parse_u64(s: &[u8]) -> (u64, &[u8]) {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let v = s[..n].iter().fold(0u64, |v, &d| v.wrapping_mul(10).wrapping_add(u64::from(d - b'0')));
    (v, &s[n..])
}

/// `sscanf(line, "%9s %lld %lu", ...)` as the kernel's `vsscanf`: how
/// many conversions were made, and their values.
fn scan_line(line: &[u8]) -> (usize, [u8; 9], usize, i64, u64) {
    let mut clock = [0u8; 9];
    let mut clen = 0;
    let mut s = line;
    // %9s (the kernel breaks before a conversion when the text ended)
    if s.is_empty() {
        return (0, clock, 0, 0, 0);
    }
    s = skip_spaces(s);
    while let Some(&c) = s.first() {
        if is_space(c) || clen == 9 {
            break;
        }
        clock[clen] = c;
        clen += 1;
        s = &s[1..];
    }
    // " ": white space in the format skips any in the text
    s = skip_spaces(s);
    // %lld
    let neg = s.first() == Some(&b'-');
    let digits = if neg { &s[1..] } else { s };
    if !digits.first().is_some_and(|b| b.is_ascii_digit()) {
        return (1, clock, clen, 0, 0);
    }
    let (v, rest) = parse_u64(digits);
    let sec = if neg { (v as i64).wrapping_neg() } else { v as i64 };
    s = skip_spaces(rest);
    // %lu
    if !s.first().is_some_and(|b| b.is_ascii_digit()) {
        return (2, clock, clen, sec, 0);
    }
    let (nsec, _) = parse_u64(s);
    (3, clock, clen, sec, nsec)
}

/// What a write to `timens_offsets` asks for: at most two lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OffsetWrite {
    /// The lines, in order (`None` after the last).
    pub lines: [Option<(TimeClock, Offset)>; 2],
    /// How many bytes the write takes (all, or up to the end of the
    /// second line when more follow).
    pub consumed: usize,
}

/// `timens_offsets_write`'s parsing: `EINVAL` for a write not at offset 0
/// or of a page or more, or a line that is not `<clock> <sec> <nsec>`
/// (clock `monotonic`/`1` or `boottime`/`7`, nsec below 10^9; more text
/// after the three is ignored). The text ends at its first NUL; lines end
/// in `\n`; two lines at most are read.
pub fn parse_offsets(offset: u64, data: &[u8]) -> Result<OffsetWrite> {
    if offset != 0 || data.len() >= 4096 {
        return Err(Errno::EINVAL);
    }
    let text = &data[..data.iter().position(|&b| b == 0).unwrap_or(data.len())];
    let mut out = OffsetWrite { lines: [None; 2], consumed: data.len() };
    let mut pos = Some(0usize);
    let mut n = 0;
    while let Some(start) = pos {
        let rest = &text[start..];
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) if start + i + 1 < text.len() => (&rest[..i], Some(start + i + 1)),
            Some(i) => (&rest[..i], None),
            None => (rest, None),
        };
        pos = next;
        let (got, clock, clen, sec, nsec) = scan_line(line);
        if got != 3 || nsec >= NSEC as u64 {
            return Err(Errno::EINVAL);
        }
        let which = match &clock[..clen] {
            b"monotonic" | b"1" => TimeClock::Monotonic,
            b"boottime" | b"7" => TimeClock::Boottime,
            _ => return Err(Errno::EINVAL),
        };
        out.lines[n] = Some((which, Offset { sec, nsec: nsec as u32 }));
        n += 1;
        if n == 2 {
            if let Some(p) = pos {
                out.consumed = p;
            }
            break;
        }
    }
    Ok(out)
}

/// The state an offset write and an entry share (Linux's `offset_lock`).
#[derive(Debug)]
struct State {
    offsets: TimeOffsets,
    frozen: bool,
}

/// A time namespace.
#[derive(Debug)]
pub struct TimeNs {
    ino: u64,
    owner: UserNsRef,
    /// A leaf lock: nothing is taken under it.
    state: spin::Mutex<State>,
    /// Its place in its maker's count (`None`: the initial one).
    _charge: Option<Charge>,
}

impl TimeNs {
    /// The initial namespace (zero offsets, entered by every process).
    pub fn initial() -> Arc<TimeNs> {
        Arc::new(TimeNs {
            ino: INIT_TIME_INO,
            owner: UserNsRef::INITIAL,
            state: spin::Mutex::new(State { offsets: TimeOffsets::default(), frozen: true }),
            _charge: None,
        })
    }

    /// `clone_time_ns`: a new namespace numbered `ino`, owned by `owner`,
    /// with `self`'s offsets, not yet entered, counted by `charge`.
    pub fn copy(&self, ino: u64, owner: UserNsRef, charge: Option<Charge>) -> Arc<TimeNs> {
        let offsets = self.offsets();
        Arc::new(TimeNs {
            ino,
            owner,
            state: spin::Mutex::new(State { offsets, frozen: false }),
            _charge: charge,
        })
    }

    /// Its inode number (nsfs).
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The user namespace that owns it (whose `CAP_SYS_TIME` an offset
    /// write needs).
    pub fn owner(&self) -> &UserNsRef {
        &self.owner
    }

    /// Whether it is the initial namespace.
    pub fn is_initial(&self) -> bool {
        self.ino == INIT_TIME_INO
    }

    /// The offsets now.
    pub fn offsets(&self) -> TimeOffsets {
        self.state.lock().offsets
    }

    /// `timens_commit`: a process enters; the offsets are fixed from now
    /// on. Returns them.
    pub fn enter(&self) -> TimeOffsets {
        let mut s = self.state.lock();
        s.frozen = true;
        s.offsets
    }

    /// `proc_timens_set_offset` after its capability check: each offset
    /// within `±KTIME_SEC_MAX` s and the clock it moves (now `mono_ns`,
    /// `boot_ns` on the host) kept within `0..=KTIME_SEC_MAX / 2` s, else
    /// `ERANGE`; then `EACCES` once a process entered.
    pub fn set_offsets(&self, w: &OffsetWrite, mono_ns: u64, boot_ns: u64) -> Result<()> {
        for (clock, off) in w.lines.iter().flatten() {
            let now = match clock {
                TimeClock::Monotonic => mono_ns,
                TimeClock::Boottime => boot_ns,
            };
            if off.sec > KTIME_SEC_MAX || off.sec < -KTIME_SEC_MAX {
                return Err(Errno::ERANGE);
            }
            let t = i128::from(now) + off.ns();
            if t < 0 || t.div_euclid(i128::from(NSEC)) > i128::from(KTIME_SEC_MAX / 2) {
                return Err(Errno::ERANGE);
            }
        }
        let mut s = self.state.lock();
        if s.frozen {
            return Err(Errno::EACCES);
        }
        for (clock, off) in w.lines.iter().flatten() {
            match clock {
                TimeClock::Monotonic => s.offsets.monotonic = *off,
                TimeClock::Boottime => s.offsets.boottime = *off,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn parse_rules() {
        let w = parse_offsets(0, b"monotonic 1000 0\nboottime 2000 500\n").unwrap();
        assert_eq!(w.lines[0], Some((TimeClock::Monotonic, Offset { sec: 1000, nsec: 0 })));
        assert_eq!(w.lines[1], Some((TimeClock::Boottime, Offset { sec: 2000, nsec: 500 })));
        assert_eq!(w.consumed, 35);
        let w = parse_offsets(0, b"1 5 0\n7 -1 7").unwrap();
        assert_eq!(w.lines[1], Some((TimeClock::Boottime, Offset { sec: -1, nsec: 7 })));
        assert_eq!(w.consumed, 12);
        let w = parse_offsets(0, b"  monotonic\t6 1 and more").unwrap();
        assert_eq!(w.lines, [Some((TimeClock::Monotonic, Offset { sec: 6, nsec: 1 })), None]);
        // two lines at most: the write takes those
        let w = parse_offsets(0, b"monotonic 8 0\nboottime 9 0\nmonotonic 10 0\n").unwrap();
        assert_eq!(w.consumed, 27);
        // %9s takes nine characters: "monotonic1 5 0" is monotonic 1 s 5 ns
        let w = parse_offsets(0, b"monotonic1 5 0").unwrap();
        assert_eq!(w.lines[0], Some((TimeClock::Monotonic, Offset { sec: 1, nsec: 5 })));
        for bad in [
            &b""[..],
            b"\n",
            b"monotonic 1 1000000000",
            b"realtime 1 0",
            b"MONOTONIC 1 0",
            b"boottime 5",
            b"monotonic 1 -1",
            b"0 1 0",
            b"monotonic 1 0\n\n",
            b"monotonicX 1 0",
            b"monotonic +1 0",
        ] {
            assert_eq!(parse_offsets(0, bad), Err(Errno::EINVAL), "{:?}", core::str::from_utf8(bad));
        }
        assert_eq!(parse_offsets(1, b"monotonic 1 0"), Err(Errno::EINVAL));
        assert_eq!(parse_offsets(0, &[b' '; 4096]), Err(Errno::EINVAL));
        // the text ends at a NUL
        assert_eq!(parse_offsets(0, b"monotonic 1 0\0junk").unwrap().consumed, 18);
    }

    #[test]
    fn set_rules() {
        let init = TimeNs::initial();
        let w = parse_offsets(0, b"monotonic 1 0").unwrap();
        assert_eq!(init.set_offsets(&w, 10 * S, 10 * S), Err(Errno::EACCES));
        let ns = init.copy(5, UserNsRef::INITIAL, None);
        assert_eq!(ns.ino(), 5);
        assert!(!ns.is_initial());
        let range = |t: &[u8]| ns.set_offsets(&parse_offsets(0, t).unwrap(), 10 * S, 20 * S);
        assert_eq!(range(b"monotonic -10000000000 0"), Err(Errno::ERANGE));
        assert_eq!(range(b"monotonic -11 0"), Err(Errno::ERANGE));
        assert_eq!(range(b"monotonic -10 0"), Ok(()));
        assert_eq!(range(b"boottime -20 0"), Ok(()));
        assert_eq!(range(b"boottime 4611686018 0"), Err(Errno::ERANGE));
        assert_eq!(range(b"boottime 4611685998 0"), Ok(()));
        // nothing set when one line is out of range
        assert_eq!(range(b"monotonic 3 0\nboottime -21 0"), Err(Errno::ERANGE));
        assert_eq!(ns.offsets().monotonic, Offset { sec: -10, nsec: 0 });
        assert_eq!(range(b"monotonic 3 4\nboottime 2000 500"), Ok(()));
        assert_eq!(ns.offsets().text(), "monotonic           3         4\nboottime         2000       500\n");
        // a copy inherits the offsets; entering freezes
        let child = ns.copy(6, UserNsRef::INITIAL, None);
        assert_eq!(child.offsets(), ns.offsets());
        assert_eq!(ns.enter(), child.offsets());
        assert_eq!(range(b"monotonic 1 0"), Err(Errno::EACCES));
        assert_eq!(range(b"monotonic -100 0"), Err(Errno::ERANGE), "ERANGE before EACCES");
        assert_eq!(
            TimeOffsets::default().text(),
            "monotonic           0         0\nboottime            0         0\n"
        );
    }

    #[test]
    fn conversions() {
        let o =
            TimeOffsets { monotonic: Offset { sec: 1000, nsec: 0 }, boottime: Offset { sec: -5, nsec: 500 } };
        assert_eq!(o.apply(CLOCK_MONOTONIC, 7 * S), 1007 * S);
        assert_eq!(o.apply(CLOCK_MONOTONIC_RAW, 7 * S), 1007 * S);
        assert_eq!(o.apply(CLOCK_MONOTONIC_COARSE, 7 * S), 1007 * S);
        assert_eq!(o.apply(CLOCK_BOOTTIME, 7 * S), 2 * S + 500);
        assert_eq!(o.apply(CLOCK_BOOTTIME_ALARM, 7 * S), 2 * S + 500);
        assert_eq!(o.apply(0, 7 * S), 7 * S, "REALTIME");
        assert_eq!(o.apply(11, 7 * S), 7 * S, "TAI");
        assert_eq!(o.apply(CLOCK_BOOTTIME, 1), 0, "clamped");
        assert_eq!(o.to_host(CLOCK_MONOTONIC, 1007 * S), 7 * S);
        assert_eq!(o.to_host(CLOCK_MONOTONIC, 999 * S), 0, "before the offset: passed");
        assert_eq!(o.to_host(CLOCK_BOOTTIME, 2 * S + 500), 7 * S);
        assert_eq!(o.to_host(CLOCK_BOOTTIME, KTIME_MAX), KTIME_MAX);
        assert_eq!(o.to_host(0, 5), 5);
        assert_eq!(o.to_host(CLOCK_MONOTONIC_RAW, 5), 5);
        assert!(TimeOffsets::default().is_zero() && !o.is_zero());
    }
}

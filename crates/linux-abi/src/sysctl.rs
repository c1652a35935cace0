//! The number rules of Linux's /proc/sys files (kernel/sysctl.c): how a
//! write to an integer knob is parsed and checked, so that every knob of a
//! kernel built on this crate takes and refuses the same text as Linux.
//!
//! ```
//! use linux_abi::sysctl::{Kind, parse};
//! use linux_abi::Errno;
//! let k = Kind::Int { min: 0, max: 2 };
//! assert_eq!(parse(k, b"2\n"), Ok(Some((2, 2))));
//! assert_eq!(parse(k, b"3"), Err(Errno::EINVAL));
//! assert_eq!(parse(k, b"0x1"), Ok(Some((1, 3))));
//! assert_eq!(parse(k, b"1x"), Err(Errno::EINVAL));
//! ```

use crate::{Errno, Result};

/// How a knob's value is converted (the `proc_handler` of its table entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `proc_dointvec_minmax`: a C `int` within `min..=max`.
    Int {
        /// The smallest value accepted.
        min: i64,
        /// The largest value accepted.
        max: i64,
    },
    /// `proc_doulongvec_minmax` without bounds: an `unsigned long`
    /// (a minus sign is `EINVAL`).
    Ulong,
    /// `proc_dopipe_max_size`: an `unsigned int` rounded as
    /// `round_pipe_size` (at least a page, a power of two; above 2 GiB is
    /// `EINVAL`).
    PipeMaxSize,
}

/// The longest number text `proc_get_long` looks at (`TMPBUFLEN - 1`).
const TMPBUFLEN: usize = 22;
/// A write is cut to a page less one byte before parsing.
const MAX_WRITE: usize = 4095;

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Linux's `strtoul` with base 0 (`0x` hex, a leading `0` octal) over
/// `s`: the value and the digits taken; `None` on overflow.
fn strtoul(s: &[u8]) -> Option<(u64, usize)> {
    let (base, skip) = if s.first() == Some(&b'0') {
        if s.get(1).is_some_and(|c| c.eq_ignore_ascii_case(&b'x'))
            && s.get(2).is_some_and(u8::is_ascii_hexdigit)
        {
            (16, 2)
        } else {
            (8, 0)
        }
    } else {
        (10, 0)
    };
    let mut v: u64 = 0;
    let mut i = skip;
    while let Some(d) = s.get(i).and_then(|c| (*c as char).to_digit(base)) {
        v = v.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
        i += 1;
    }
    Some((v, i))
}

/// `proc_get_long`: a number with an optional minus sign, followed by the
/// end of the text or a space, tab or newline. Returns (value, negative,
/// bytes taken).
fn get_long(s: &[u8]) -> Result<(u64, bool, usize)> {
    if s.is_empty() {
        return Err(Errno::EINVAL);
    }
    let tmp = &s[..s.len().min(TMPBUFLEN - 1)];
    let neg = tmp[0] == b'-' && s.len() > 1;
    let start = usize::from(neg);
    if !tmp.get(start).is_some_and(u8::is_ascii_digit) {
        return Err(Errno::EINVAL);
    }
    let (v, n) = strtoul(&tmp[start..]).ok_or(Errno::EINVAL)?;
    let len = start + n;
    // a number as long as the buffer may go on beyond it
    if len == TMPBUFLEN - 1 {
        return Err(Errno::EINVAL);
    }
    if len < s.len() && !matches!(s[len], b' ' | b'\t' | b'\n') {
        return Err(Errno::EINVAL);
    }
    Ok((v, neg, len))
}

/// A write of `data` at offset 0 to a one-value knob of kind `kind`:
/// `Ok(None)` for an empty write (nothing changes, 0 bytes written),
/// `Ok(Some((value, written)))` with the bytes write(2) reports, `EINVAL`
/// for text that is not one number in range.
pub fn parse(kind: Kind, data: &[u8]) -> Result<Option<(i64, usize)>> {
    if data.is_empty() {
        return Ok(None);
    }
    let cut = data.len().min(MAX_WRITE);
    let mut p = 0;
    while p < cut && is_space(data[p]) {
        p += 1;
    }
    if p == cut {
        return Err(Errno::EINVAL);
    }
    let (v, neg, n) = get_long(&data[p..cut])?;
    p += n;
    let value = match kind {
        Kind::Int { min, max } => {
            let v = if neg {
                if v > 1 << 31 {
                    return Err(Errno::EINVAL);
                }
                -(v as i64)
            } else {
                if v > i32::MAX as u64 {
                    return Err(Errno::EINVAL);
                }
                v as i64
            };
            if v < min || v > max {
                return Err(Errno::EINVAL);
            }
            v
        }
        Kind::Ulong => {
            if neg || v > i64::MAX as u64 {
                return Err(Errno::EINVAL);
            }
            v as i64
        }
        Kind::PipeMaxSize => {
            if neg || v > u64::from(u32::MAX) || v > 1 << 31 {
                return Err(Errno::EINVAL);
            }
            // do_proc_douintvec_w reports the whole write
            return Ok(Some((v.max(4096).next_power_of_two() as i64, data.len())));
        }
    };
    while p < cut && is_space(data[p]) {
        p += 1;
    }
    // what is left after the number and its spaces is not written
    Ok(Some((value, data.len() - (cut - p))))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOL: Kind = Kind::Int { min: 0, max: 1 };

    #[test]
    fn plain_numbers_with_spaces_around() {
        assert_eq!(parse(BOOL, b"1"), Ok(Some((1, 1))));
        assert_eq!(parse(BOOL, b"0\n"), Ok(Some((0, 2))));
        assert_eq!(parse(BOOL, b"  1 \n"), Ok(Some((1, 5))));
        assert_eq!(parse(BOOL, b"\t1\t"), Ok(Some((1, 3))));
    }

    #[test]
    fn empty_and_blank_writes() {
        assert_eq!(parse(BOOL, b""), Ok(None));
        assert_eq!(parse(BOOL, b"\n"), Err(Errno::EINVAL));
        assert_eq!(parse(BOOL, b"   "), Err(Errno::EINVAL));
    }

    #[test]
    fn range_and_sign() {
        let k = Kind::Int { min: 0, max: 2 };
        assert_eq!(parse(k, b"2"), Ok(Some((2, 1))));
        assert_eq!(parse(k, b"3"), Err(Errno::EINVAL));
        assert_eq!(parse(k, b"-1"), Err(Errno::EINVAL));
        assert_eq!(parse(k, b"-0"), Ok(Some((0, 2))));
        let any = Kind::Int { min: i64::from(i32::MIN), max: i64::from(i32::MAX) };
        assert_eq!(parse(any, b"-2147483648"), Ok(Some((-2147483648, 11))));
        assert_eq!(parse(any, b"2147483647"), Ok(Some((2147483647, 10))));
        assert_eq!(parse(any, b"2147483648"), Err(Errno::EINVAL));
        assert_eq!(parse(any, b"-2147483649"), Err(Errno::EINVAL));
    }

    #[test]
    fn bases_as_strtoul() {
        let any = Kind::Int { min: 0, max: 1 << 30 };
        assert_eq!(parse(any, b"010"), Ok(Some((8, 3))));
        assert_eq!(parse(any, b"0x1f"), Ok(Some((31, 4))));
        assert_eq!(parse(any, b"0X1F"), Ok(Some((31, 4))));
        assert_eq!(parse(any, b"08"), Err(Errno::EINVAL));
        assert_eq!(parse(any, b"0x"), Err(Errno::EINVAL));
    }

    #[test]
    fn garbage_is_einval() {
        assert_eq!(parse(BOOL, b"1x"), Err(Errno::EINVAL));
        assert_eq!(parse(BOOL, b"x"), Err(Errno::EINVAL));
        assert_eq!(parse(BOOL, b"+1"), Err(Errno::EINVAL));
        assert_eq!(parse(BOOL, b"-"), Err(Errno::EINVAL));
        assert_eq!(parse(BOOL, b"1\0"), Err(Errno::EINVAL));
        assert_eq!(parse(Kind::Ulong, b"99999999999999999999999"), Err(Errno::EINVAL));
        // 21 characters of digits: too long to know where the number ends
        assert_eq!(parse(Kind::Ulong, b"000000000000000000001"), Err(Errno::EINVAL));
    }

    #[test]
    fn a_second_number_is_left_unwritten() {
        assert_eq!(parse(BOOL, b"1 0"), Ok(Some((1, 2))));
        assert_eq!(parse(BOOL, b"1 0\n"), Ok(Some((1, 2))));
    }

    #[test]
    fn unsigned_longs() {
        assert_eq!(parse(Kind::Ulong, b"16384\n"), Ok(Some((16384, 6))));
        assert_eq!(parse(Kind::Ulong, b"0"), Ok(Some((0, 1))));
        assert_eq!(parse(Kind::Ulong, b"-1"), Err(Errno::EINVAL));
    }

    #[test]
    fn pipe_max_size_rounds_as_round_pipe_size() {
        assert_eq!(parse(Kind::PipeMaxSize, b"0"), Ok(Some((4096, 1))));
        assert_eq!(parse(Kind::PipeMaxSize, b"100000\n"), Ok(Some((131072, 7))));
        assert_eq!(parse(Kind::PipeMaxSize, b"1048576"), Ok(Some((1048576, 7))));
        assert_eq!(parse(Kind::PipeMaxSize, b"2147483648"), Ok(Some((2147483648, 10))));
        assert_eq!(parse(Kind::PipeMaxSize, b"2147483649"), Err(Errno::EINVAL));
        assert_eq!(parse(Kind::PipeMaxSize, b"-4096"), Err(Errno::EINVAL));
    }
}

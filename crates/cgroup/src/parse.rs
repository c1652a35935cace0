//! The kernel's number parsing as cgroup files use it: `strstrip` and
//! `kstrtoll`/`kstrtoint` with base 0 (lib/kstrtox.c), whose errno a
//! write(2) returns.

use linux_abi::{Errno, Result};

/// Linux's `isspace` (lib/ctype.c): space, `\t`, `\n`, `\v`, `\f`, `\r`
/// and the Latin-1 no-break space 0xa0.
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

/// `strstrip`: `s` without leading and trailing white space.
pub fn strip(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_space(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_space(b)).map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// The radix `_parse_integer_fixup_radix` takes from the prefix (`0x` and
/// a hex digit: 16, a leading `0`: 8, else 10) and the digits after it.
fn radix_of(s: &[u8]) -> (u64, &[u8]) {
    if s.len() >= 3 && s[0] == b'0' && (s[1] | 0x20) == b'x' && s[2].is_ascii_hexdigit() {
        (16, &s[2..])
    } else if s.first() == Some(&b'0') {
        (8, s)
    } else {
        (10, s)
    }
}

/// The value of digit `b` in `radix`, if it is one.
fn digit(b: u8, radix: u64) -> Option<u64> {
    let d = match b {
        b'0'..=b'9' => u64::from(b - b'0'),
        b'a'..=b'f' => u64::from(b - b'a' + 10),
        b'A'..=b'F' => u64::from(b - b'A' + 10),
        _ => return None,
    };
    (d < radix).then_some(d)
}

/// `_kstrtoull(s, 0)`: the radix from the prefix (`0x` and a hex digit:
/// 16, a leading `0`: 8, else 10), the digits, one optional trailing
/// newline. `EINVAL` without digits or with anything else after them,
/// `ERANGE` past `u64::MAX`.
pub fn kstrtoull(s: &[u8]) -> Result<u64> {
    let (radix, digits) = radix_of(s);
    let mut v: u64 = 0;
    let mut n = 0;
    let mut overflow = false;
    for &b in digits {
        let Some(d) = digit(b, radix) else { break };
        match v.checked_mul(radix).and_then(|x| x.checked_add(d)) {
            Some(x) => v = x,
            None => overflow = true,
        }
        n += 1;
    }
    if n == 0 {
        return Err(Errno::EINVAL);
    }
    if overflow {
        return Err(Errno::ERANGE);
    }
    let rest = &digits[n..];
    if rest.is_empty() || rest == b"\n" { Ok(v) } else { Err(Errno::EINVAL) }
}

/// `kstrtoll(s, 0)`: an optional sign (`-`, or `+` before the digits),
/// then `_kstrtoull`'s rules (radix from the prefix); `ERANGE` outside `i64`.
pub fn kstrtoll(s: &[u8]) -> Result<i64> {
    if let Some(rest) = s.strip_prefix(b"-") {
        let v = kstrtoull(rest)?;
        if v > i64::MAX as u64 + 1 {
            return Err(Errno::ERANGE);
        }
        Ok((v as i64).wrapping_neg())
    } else {
        let v = kstrtoull(s.strip_prefix(b"+").unwrap_or(s))?;
        i64::try_from(v).map_err(|_| Errno::ERANGE)
    }
}

/// `kstrtoint(s, 0)`: [`kstrtoll`] within `i32` (`ERANGE` outside).
pub fn kstrtoint(s: &[u8]) -> Result<i32> {
    i32::try_from(kstrtoll(s)?).map_err(|_| Errno::ERANGE)
}

/// The kernel's `sscanf(s, "%llu")`: leading white space, decimal digits
/// (at least one), the value; `None` without a digit.
fn scan_u64(s: &[u8]) -> Option<(u64, &[u8])> {
    let s = &s[s.iter().position(|&b| !is_space(b)).unwrap_or(s.len())..];
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in &s[..n] {
        v = v.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
    }
    Some((v, &s[n..]))
}

/// A write to `cpu.max` (cpu_period_quota_parse, then
/// tg_set_cfs_bandwidth's checks, in µs): `"QUOTA [PERIOD]"`, QUOTA a number
/// or "max", PERIOD a number (else `period` stays); `EINVAL` for anything
/// else, a quota or period under 1000, a period over 1000000, a quota over
/// 2^44 - 1. The (quota, period) to keep; `None` is "max".
pub fn cpu_max(data: &[u8], period: u64) -> Result<(Option<u64>, u64)> {
    let start = data.iter().position(|&b| !is_space(b)).ok_or(Errno::EINVAL)?;
    let rest = &data[start..];
    let len = rest.iter().position(|&b| is_space(b)).unwrap_or(rest.len()).min(20);
    let (tok, after) = rest.split_at(len);
    let period = scan_u64(after).map_or(period, |(p, _)| p);
    let quota = match scan_u64(tok) {
        Some((q, _)) => Some(q),
        None if tok == b"max" => None,
        None => return Err(Errno::EINVAL),
    };
    if quota.is_some_and(|q| q < 1000) || !(1000..=1_000_000).contains(&period) {
        return Err(Errno::EINVAL);
    }
    if quota.is_some_and(|q| q > (1 << 44) - 1) {
        return Err(Errno::EINVAL);
    }
    Ok((quota, period))
}

/// `simple_strtoull(s, &end, 0)`: the radix from the prefix as
/// [`kstrtoull`], as many digits as there are (none: 0), wrapping on
/// overflow; the value and what follows the digits.
fn simple_strtoull(s: &[u8]) -> (u64, &[u8]) {
    let (radix, digits) = radix_of(s);
    let mut v: u64 = 0;
    let mut n = 0;
    for &b in digits {
        let Some(d) = digit(b, radix) else { break };
        v = v.wrapping_mul(radix).wrapping_add(d);
        n += 1;
    }
    if n == 0 && radix != 8 {
        return (0, s);
    }
    (v, &digits[n..])
}

/// `page_counter_memparse(buf, "max", &pages)` (mm/page_counter.c) of a
/// stripped write: "max" is `u64::MAX`; else lib/cmdline.c's `memparse`
/// (a number, then an optional K, M, G, T, P or E in either case), in 4 KiB
/// pages rounded down. `EINVAL` when anything follows. (An empty write is
/// 0, as on Linux.)
pub fn memparse_pages(s: &[u8]) -> Result<u64> {
    if s == b"max" {
        return Ok(u64::MAX);
    }
    let (v, rest) = simple_strtoull(s);
    let (shift, rest) = match rest.first().map(|b| b | 0x20) {
        Some(b'k') => (10, &rest[1..]),
        Some(b'm') => (20, &rest[1..]),
        Some(b'g') => (30, &rest[1..]),
        Some(b't') => (40, &rest[1..]),
        Some(b'p') => (50, &rest[1..]),
        Some(b'e') => (60, &rest[1..]),
        _ => (0, rest),
    };
    if !rest.is_empty() {
        return Err(Errno::EINVAL);
    }
    // (memparse's shifts drop the high bits, as `ret <<= 10` does)
    let bytes = if shift == 0 { v } else { v.wrapping_shl(shift) };
    // PAGE_COUNTER_MAX is LONG_MAX / PAGE_SIZE on 64-bit
    Ok((bytes / 4096).min(i64::MAX as u64 / 4096))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_and_numbers() {
        assert_eq!(strip(b"  max\n"), b"max");
        assert_eq!(strip(b" \n\t"), b"");
        assert_eq!(strip(b""), b"");
        assert_eq!(kstrtoint(b"12"), Ok(12));
        assert_eq!(kstrtoint(b"12\n"), Ok(12));
        assert_eq!(kstrtoint(b"0x1f"), Ok(31));
        assert_eq!(kstrtoint(b"010"), Ok(8));
        assert_eq!(kstrtoint(b"0"), Ok(0));
        assert_eq!(kstrtoint(b"-3"), Ok(-3));
        assert_eq!(kstrtoint(b"+3"), Ok(3));
        assert_eq!(kstrtoint(b"08"), Err(Errno::EINVAL));
        assert_eq!(kstrtoint(b"0x"), Err(Errno::EINVAL));
        assert_eq!(kstrtoint(b"1 2"), Err(Errno::EINVAL));
        assert_eq!(kstrtoint(b""), Err(Errno::EINVAL));
        assert_eq!(kstrtoint(b"-"), Err(Errno::EINVAL));
        assert_eq!(kstrtoint(b"2147483648"), Err(Errno::ERANGE));
        assert_eq!(kstrtoint(b"-2147483648"), Ok(i32::MIN));
        assert_eq!(kstrtoll(b"99999999999999999999"), Err(Errno::ERANGE));
        assert_eq!(kstrtoll(b"-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(kstrtoll(b"-9223372036854775809"), Err(Errno::ERANGE));
        assert_eq!(kstrtoll(b"9223372036854775808"), Err(Errno::ERANGE));
    }

    #[test]
    fn memparse() {
        assert_eq!(memparse_pages(b"max"), Ok(u64::MAX));
        assert_eq!(memparse_pages(b"1000000"), Ok(244));
        assert_eq!(memparse_pages(b"16M"), Ok(4096));
        assert_eq!(memparse_pages(b"16m"), Ok(4096));
        assert_eq!(memparse_pages(b"1k"), Ok(0));
        assert_eq!(memparse_pages(b"8K"), Ok(2));
        assert_eq!(memparse_pages(b"0x2000"), Ok(2));
        assert_eq!(memparse_pages(b"010000"), Ok(1));
        assert_eq!(memparse_pages(b""), Ok(0));
        assert_eq!(memparse_pages(b"0"), Ok(0));
        assert_eq!(memparse_pages(b"1G"), Ok(262144));
        assert_eq!(memparse_pages(b"abc"), Err(Errno::EINVAL));
        assert_eq!(memparse_pages(b"16MB"), Err(Errno::EINVAL));
        assert_eq!(memparse_pages(b"-1"), Err(Errno::EINVAL));
        // (simple_strtoull wraps)
        assert_eq!(memparse_pages(b"99999999999999999999"), Ok(1_896_064_363_147_519));
        assert_eq!(memparse_pages(b"9E"), Ok(i64::MAX as u64 / 4096));
    }
}

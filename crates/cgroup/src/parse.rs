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

/// `_kstrtoull(s, 0)`: the radix from the prefix (`0x` and a hex digit:
/// 16, a leading `0`: 8, else 10), the digits, one optional trailing
/// newline. `EINVAL` without digits or with anything else after them,
/// `ERANGE` past `u64::MAX`.
fn kstrtoull(s: &[u8]) -> Result<u64> {
    let (radix, digits) = if s.len() >= 3 && s[0] == b'0' && (s[1] | 0x20) == b'x' && s[2].is_ascii_hexdigit()
    {
        (16, &s[2..])
    } else if s.first() == Some(&b'0') {
        (8, s)
    } else {
        (10, s)
    };
    let mut v: u64 = 0;
    let mut n = 0;
    let mut overflow = false;
    for &b in digits {
        let d = match b {
            b'0'..=b'9' => u64::from(b - b'0'),
            b'a'..=b'f' => u64::from(b - b'a' + 10),
            b'A'..=b'F' => u64::from(b - b'A' + 10),
            _ => break,
        };
        if d >= radix {
            break;
        }
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
}

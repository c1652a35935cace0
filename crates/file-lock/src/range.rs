//! struct flock's byte range as Linux's `flock_to_posix_lock` reads it.

use linux_abi::{Errno, Result};

/// The largest file offset (`OFFSET_MAX`, the largest `off_t`): the end of
/// a lock whose `l_len` is 0.
pub const OFF_MAX: u64 = i64::MAX as u64;

/// `l_whence`: from the start of the file.
pub const SEEK_SET: i16 = 0;
/// `l_whence`: from the file offset.
pub const SEEK_CUR: i16 = 1;
/// `l_whence`: from the end of the file.
pub const SEEK_END: i16 = 2;

/// A lock's byte range, both ends included (`end` is [`OFF_MAX`] for a
/// lock to the end of any file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct Range {
    /// The first byte.
    pub start: u64,
    /// The last byte (included).
    pub end: u64,
}

impl Range {
    /// `[start, end]`; `None` when `start > end` or `end > OFF_MAX`.
    pub fn new(start: u64, end: u64) -> Option<Self> {
        (start <= end && end <= OFF_MAX).then_some(Range { start, end })
    }

    /// Whether the two ranges share a byte.
    pub fn overlaps(&self, other: &Range) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// Whether the two ranges overlap or touch (`a.end + 1 == b.start`).
    pub fn touches(&self, other: &Range) -> bool {
        self.start <= other.end.saturating_add(1) && other.start <= self.end.saturating_add(1)
    }

    /// struct flock's `(l_start, l_len)` for this range: `l_len` 0 when the
    /// range goes to [`OFF_MAX`] (Linux's `posix_lock_to_flock`).
    pub fn to_flock(&self) -> (i64, i64) {
        let len = if self.end == OFF_MAX { 0 } else { (self.end - self.start + 1) as i64 };
        (self.start as i64, len)
    }

    /// The range of a struct flock, as Linux's `flock_to_posix_lock`:
    /// `l_whence` SEEK_SET, SEEK_CUR (from `pos`, the file offset) or
    /// SEEK_END (from `size`, the file size), else `EINVAL`; a start past
    /// `OFF_MAX` is `EOVERFLOW`, a negative start `EINVAL`; a positive
    /// `l_len` whose last byte passes `OFF_MAX` is `EOVERFLOW`; a negative
    /// `l_len` covers the bytes before the start (`EINVAL` if that goes
    /// below 0); 0 is to the end of any file.
    pub fn from_flock(whence: i16, l_start: i64, l_len: i64, pos: u64, size: u64) -> Result<Range> {
        let base: i64 = match whence {
            SEEK_SET => 0,
            SEEK_CUR => i64::try_from(pos).map_err(|_| Errno::EOVERFLOW)?,
            SEEK_END => i64::try_from(size).map_err(|_| Errno::EOVERFLOW)?,
            _ => return Err(Errno::EINVAL),
        };
        // l_start > OFFSET_MAX - base, in Linux's signed arithmetic
        if i128::from(l_start) > i128::from(i64::MAX) - i128::from(base) {
            return Err(Errno::EOVERFLOW);
        }
        let start = base + l_start; // cannot overflow: checked above, and base >= 0
        if start < 0 {
            return Err(Errno::EINVAL);
        }
        let (start, end) = if l_len > 0 {
            if l_len - 1 > i64::MAX - start {
                return Err(Errno::EOVERFLOW);
            }
            (start, start + (l_len - 1))
        } else if l_len < 0 {
            // start + l_len cannot overflow: start >= 0 and l_len < 0
            if start + l_len < 0 {
                return Err(Errno::EINVAL);
            }
            (start + l_len, start - 1)
        } else {
            (start, i64::MAX)
        };
        // a negative l_len with start 0 is refused above, so start <= end + 1;
        // l_len = -n at start s gives [s-n, s-1], never empty
        Ok(Range { start: start as u64, end: end as u64 })
    }
}

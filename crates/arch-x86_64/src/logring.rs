//! The kernel's log buffer as syslog(2) reads Linux's: a byte ring of
//! whole lines (the logger in `logger.rs` fills it); pure, so its tests
//! run on the host.

/// A byte ring of whole lines, as syslog(2) reads Linux's log buffer:
/// all of it (the most recent lines that fit), from a clear point on, or
/// consumed from a read point. Positions count bytes since the start.
pub struct LogRing<const N: usize> {
    buf: [u8; N],
    /// The oldest byte kept (a line's first).
    tail: u64,
    /// The next byte written.
    head: u64,
    /// Where SYSLOG_ACTION_READ (consuming) goes on.
    read: u64,
    /// What SYSLOG_ACTION_CLEAR left out of READ_ALL.
    clear: u64,
}

impl<const N: usize> Default for LogRing<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> LogRing<N> {
    /// An empty ring.
    pub const fn new() -> Self {
        LogRing { buf: [0; N], tail: 0, head: 0, read: 0, clear: 0 }
    }

    fn at(&self, pos: u64) -> u8 {
        self.buf[(pos % N as u64) as usize]
    }

    /// Appends `line` (ending in a newline, at most `N` bytes), dropping
    /// the oldest lines to make room.
    pub fn push(&mut self, line: &[u8]) {
        let line = &line[..line.len().min(N)];
        while self.head + line.len() as u64 - self.tail > N as u64 {
            // past the oldest line's newline
            while self.tail < self.head && self.at(self.tail) != b'\n' {
                self.tail += 1;
            }
            self.tail += 1;
        }
        for &b in line {
            self.buf[(self.head % N as u64) as usize] = b;
            self.head += 1;
        }
        self.read = self.read.max(self.tail);
        self.clear = self.clear.max(self.tail);
    }

    /// The buffer's size (SYSLOG_ACTION_SIZE_BUFFER).
    pub fn size(&self) -> usize {
        N
    }

    /// Bytes not yet consumed by [`LogRing::read`] (SYSLOG_ACTION_SIZE_UNREAD).
    pub fn unread(&self) -> usize {
        (self.head - self.read) as usize
    }

    /// SYSLOG_ACTION_READ_ALL: the most recent whole lines since the last
    /// clear that fit in `out`, oldest first; their length.
    pub fn read_all(&self, out: &mut [u8]) -> usize {
        let mut start = self.clear.max(self.tail);
        // drop whole lines from the front until the rest fits
        while (self.head - start) as usize > out.len() {
            while start < self.head && self.at(start) != b'\n' {
                start += 1;
            }
            start += 1;
        }
        let n = (self.head - start.min(self.head)) as usize;
        for (i, o) in out[..n].iter_mut().enumerate() {
            *o = self.at(start + i as u64);
        }
        n
    }

    /// One step of SYSLOG_ACTION_READ (Linux's `syslog_print`, record by
    /// record): the unread rest of the next line, consumed, when it fits
    /// in `out`; when it does not and `first` (nothing was copied yet in
    /// this call), its first `out.len()` bytes, and the next step goes on
    /// inside the line; otherwise nothing. Returns the bytes written.
    pub fn read_line(&mut self, out: &mut [u8], first: bool) -> usize {
        let mut end = self.read;
        while end < self.head && self.at(end) != b'\n' {
            end += 1;
        }
        // past the newline (a line cut by `push` may lack one at the head)
        end = (end + 1).min(self.head);
        let rest = (end - self.read) as usize;
        let n = if rest <= out.len() {
            rest
        } else if first {
            out.len()
        } else {
            0
        };
        for (i, o) in out[..n].iter_mut().enumerate() {
            *o = self.at(self.read + i as u64);
        }
        self.read += n as u64;
        n
    }

    /// SYSLOG_ACTION_CLEAR: READ_ALL starts after what is there now.
    pub fn clear(&mut self) {
        self.clear = self.head;
    }
}

#[cfg(test)]
mod tests {
    use super::LogRing;

    #[test]
    fn lines_in_order_and_the_oldest_dropped_whole() {
        let mut r: LogRing<16> = LogRing::new();
        r.push(b"one\n");
        r.push(b"two\n");
        let mut out = [0u8; 32];
        let n = r.read_all(&mut out);
        assert_eq!(&out[..n], b"one\ntwo\n");
        r.push(b"three\n");
        r.push(b"four\n");
        // 4 + 4 + 6 + 5 = 19 > 16: "one\n" went
        let n = r.read_all(&mut out);
        assert_eq!(&out[..n], b"two\nthree\nfour\n");
        // a smaller buffer gets the most recent whole lines
        let mut small = [0u8; 12];
        let n = r.read_all(&mut small);
        assert_eq!(&small[..n], b"three\nfour\n");
        assert_eq!(r.size(), 16);
    }

    #[test]
    fn read_consumes_and_clear_hides_what_was_there() {
        let mut r: LogRing<64> = LogRing::new();
        r.push(b"a\n");
        r.push(b"bb\n");
        assert_eq!(r.unread(), 5);
        let mut out = [0u8; 3];
        // whole lines only once something was copied
        assert_eq!(r.read_line(&mut out, true), 2);
        assert_eq!(&out[..2], b"a\n");
        assert_eq!(r.read_line(&mut out[2..], false), 0);
        // the first line of a call may be cut, the rest comes next time
        assert_eq!(r.read_line(&mut out[..1], true), 1);
        assert_eq!(&out[..1], b"b");
        assert_eq!(r.unread(), 2);
        r.clear();
        let mut all = [0u8; 64];
        assert_eq!(r.read_all(&mut all), 0);
        r.push(b"c\n");
        let n = r.read_all(&mut all);
        assert_eq!(&all[..n], b"c\n");
        // read goes on where it stopped, clear or not
        let mut rest = [0u8; 8];
        let n = r.read_line(&mut rest, true);
        assert_eq!(&rest[..n], b"b\n");
        let m = r.read_line(&mut rest[n..], false);
        assert_eq!(&rest[..n + m], b"b\nc\n");
        assert_eq!(r.unread(), 0);
        assert_eq!(r.read_line(&mut rest, true), 0);
    }

    #[test]
    fn a_read_point_in_a_dropped_line_moves_to_the_oldest_whole_line() {
        let mut r: LogRing<8> = LogRing::new();
        r.push(b"abcd\n");
        let mut out = [0u8; 2];
        assert_eq!(r.read_line(&mut out, true), 2);
        r.push(b"efgh\n");
        // "abcd\n" went: the read goes on at "efgh\n", whole
        assert_eq!(r.unread(), 5);
        let mut all = [0u8; 8];
        let n = r.read_line(&mut all, true);
        assert_eq!(&all[..n], b"efgh\n");
    }

    #[test]
    fn a_line_as_long_as_the_ring_replaces_everything() {
        let mut r: LogRing<8> = LogRing::new();
        r.push(b"ab\n");
        r.push(b"1234567\n");
        let mut out = [0u8; 8];
        let n = r.read_all(&mut out);
        assert_eq!(&out[..n], b"1234567\n");
        assert_eq!(r.unread(), 8);
    }
}

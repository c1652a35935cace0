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
    /// The sequence number of the line at `tail` (/dev/kmsg's records
    /// count lines since boot).
    first_seq: u64,
    /// The sequence number the next line gets.
    next_seq: u64,
    /// The sequence number of the line at `clear`.
    clear_seq: u64,
}

/// A /dev/kmsg reader's place in a [`LogRing`]: the next record's
/// sequence number and byte position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The record's sequence number.
    pub seq: u64,
    pos: u64,
}

/// What [`LogRing::record`] found at a cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// A line of `len` bytes (its newline included) was copied; the cursor
    /// moved past it.
    Line(usize),
    /// No record yet at the cursor.
    Empty,
    /// The record at the cursor was overwritten: the cursor moved to the
    /// oldest one kept (Linux's `EPIPE`).
    Gone,
}

impl<const N: usize> Default for LogRing<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> LogRing<N> {
    /// An empty ring.
    pub const fn new() -> Self {
        LogRing { buf: [0; N], tail: 0, head: 0, read: 0, clear: 0, first_seq: 0, next_seq: 0, clear_seq: 0 }
    }

    fn at(&self, pos: u64) -> u8 {
        self.buf[(pos % N as u64) as usize]
    }

    /// Appends `line` as one record, dropping the oldest lines to make
    /// room: cut to `N - 1` bytes, a newline inside it stored as a space
    /// and one newline at its end (added when missing), so that each push
    /// is exactly one line and the sequence numbers stay the lines'.
    pub fn push(&mut self, line: &[u8]) {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = &body[..body.len().min(N.saturating_sub(1))];
        let len = body.len() as u64 + 1;
        if N == 0 {
            return;
        }
        while self.head + len - self.tail > N as u64 {
            // past the oldest line's newline
            while self.tail < self.head && self.at(self.tail) != b'\n' {
                self.tail += 1;
            }
            self.tail += 1;
            self.first_seq += 1;
        }
        for &b in body {
            self.buf[(self.head % N as u64) as usize] = if b == b'\n' { b' ' } else { b };
            self.head += 1;
        }
        self.buf[(self.head % N as u64) as usize] = b'\n';
        self.head += 1;
        self.next_seq += 1;
        self.read = self.read.max(self.tail);
        if self.clear < self.tail {
            self.clear = self.tail;
            self.clear_seq = self.first_seq;
        }
    }

    /// The oldest record kept (a /dev/kmsg open, `SEEK_SET`).
    pub fn first(&self) -> Cursor {
        Cursor { seq: self.first_seq, pos: self.tail }
    }

    /// Past the newest record (`SEEK_END`).
    pub fn end(&self) -> Cursor {
        Cursor { seq: self.next_seq, pos: self.head }
    }

    /// The first record after the last SYSLOG_ACTION_CLEAR (`SEEK_DATA`).
    pub fn after_clear(&self) -> Cursor {
        Cursor { seq: self.clear_seq, pos: self.clear }
    }

    /// The record at `cur` copied to `out` (at least [`LogRing::size`]'s
    /// longest line: cut otherwise) and `cur` moved past it.
    pub fn record(&self, cur: &mut Cursor, out: &mut [u8]) -> Record {
        if cur.pos < self.tail {
            *cur = self.first();
            return Record::Gone;
        }
        if cur.pos >= self.head {
            return Record::Empty;
        }
        let mut n = 0;
        let mut at = cur.pos;
        while at < self.head {
            let b = self.at(at);
            at += 1;
            if n < out.len() {
                out[n] = b;
                n += 1;
            }
            if b == b'\n' {
                break;
            }
        }
        *cur = Cursor { seq: cur.seq + 1, pos: at };
        Record::Line(n)
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
        self.clear_seq = self.next_seq;
    }
}

#[cfg(test)]
mod tests {
    use super::LogRing;

    #[test]
    fn records_by_cursor_with_sequence_numbers() {
        use super::{Cursor, Record};
        let mut r: LogRing<16> = LogRing::new();
        r.push(b"one\n");
        r.push(b"two\n");
        let mut c: Cursor = r.first();
        assert_eq!(c.seq, 0);
        let mut out = [0u8; 32];
        assert_eq!(r.record(&mut c, &mut out), Record::Line(4));
        assert_eq!(&out[..4], b"one\n");
        assert_eq!(c.seq, 1);
        let mut late = r.first();
        assert_eq!(r.record(&mut c, &mut out), Record::Line(4));
        assert_eq!(r.record(&mut c, &mut out), Record::Empty);
        assert_eq!(c, r.end());
        // 4 + 4 + 6 + 5 = 19 > 16: "one\n" goes; the late reader is
        // told, then goes on at the oldest kept
        r.push(b"three\n");
        r.push(b"four\n");
        assert_eq!(r.record(&mut late, &mut out), Record::Gone);
        assert_eq!(late.seq, 1);
        assert_eq!(r.record(&mut late, &mut out), Record::Line(4));
        assert_eq!(&out[..4], b"two\n");
        assert_eq!(r.record(&mut c, &mut out), Record::Line(6));
        r.clear();
        assert_eq!(r.after_clear(), r.end());
        assert_eq!(r.end().seq, 4);
    }

    #[test]
    fn one_push_is_one_record_whatever_it_holds() {
        use super::{Cursor, Record};
        let mut r: LogRing<16> = LogRing::new();
        // a newline inside is a space; a missing one at the end is added
        r.push(b"a\nb\n");
        r.push(b"cd");
        let mut c: Cursor = r.first();
        let mut out = [0u8; 32];
        assert_eq!(r.record(&mut c, &mut out), Record::Line(4));
        assert_eq!(&out[..4], b"a b\n");
        assert_eq!(r.record(&mut c, &mut out), Record::Line(3));
        assert_eq!(&out[..3], b"cd\n");
        assert_eq!(r.record(&mut c, &mut out), Record::Empty);
        assert_eq!(c, r.end());
        assert_eq!(c.seq, 2);
        // longer than the ring: cut to N - 1 bytes and the newline
        r.push(&[b'x'; 40]);
        let mut c = r.first();
        assert_eq!(r.record(&mut c, &mut out), Record::Line(16));
        assert_eq!(out[15], b'\n');
        assert_eq!(c, r.end());
    }

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

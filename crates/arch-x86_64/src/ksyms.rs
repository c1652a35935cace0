//! The kernel's own symbol table, for symbolized backtraces.
//!
//! `cargo xtask build` reads the linked kernel's ELF symbols, sorts the
//! functions by address and writes them with [`encode`] into the space the
//! kernel reserves for them (the `.ksyms` section); the kernel looks
//! addresses up with [`SymbolTable::lookup`]. The format is little-endian:
//!
//! ```text
//! "KSYM" | u32 count | count x (u64 addr, u32 size, u32 name_off, u32 name_len, u32 0) | names
//! ```
//! ```
//! use arch_x86_64::ksyms::{encode, SymbolTable};
//! let bytes = encode(&[(0x1000, 0x20, "a"), (0x1020, 0x10, "b")]);
//! let t = SymbolTable::parse(&bytes).unwrap();
//! assert_eq!(t.lookup(0x1024), Some(("b", 4)));
//! assert_eq!(t.lookup(0x1030), None);
//! ```

use alloc::vec::Vec;

const MAGIC: &[u8; 4] = b"KSYM";
const HEADER: usize = 8;
const ENTRY: usize = 24;

/// Encodes `(address, size, name)` triples; they are sorted by address here.
pub fn encode(symbols: &[(u64, u32, &str)]) -> Vec<u8> {
    let mut syms: Vec<_> = symbols.to_vec();
    syms.sort_by_key(|s| s.0);
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(syms.len() as u32).to_le_bytes());
    let mut names = Vec::new();
    for (addr, size, name) in &syms {
        out.extend_from_slice(&addr.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(names.len() as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        names.extend_from_slice(name.as_bytes());
    }
    out.extend_from_slice(&names);
    out
}

/// A read-only view of an encoded symbol table.
#[derive(Clone, Copy)]
pub struct SymbolTable<'a> {
    entries: &'a [u8],
    names: &'a [u8],
    count: usize,
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

impl<'a> SymbolTable<'a> {
    /// Parses `bytes`, or `None` when they do not hold a table (for example
    /// a kernel that was not post-processed by xtask).
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        if bytes.len() < HEADER || &bytes[..4] != MAGIC {
            return None;
        }
        let count = u32_at(bytes, 4) as usize;
        let end = HEADER.checked_add(count.checked_mul(ENTRY)?)?;
        if end > bytes.len() {
            return None;
        }
        Some(SymbolTable { entries: &bytes[HEADER..end], names: &bytes[end..], count })
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn entry(&self, i: usize) -> (u64, u32, &'a str) {
        let e = &self.entries[i * ENTRY..(i + 1) * ENTRY];
        let (off, len) = (u32_at(e, 12) as usize, u32_at(e, 16) as usize);
        let name = self
            .names
            .get(off..off.saturating_add(len))
            .and_then(|n| core::str::from_utf8(n).ok())
            .unwrap_or("?");
        (u64_at(e, 0), u32_at(e, 8), name)
    }

    /// The function containing `addr` and the offset into it.
    pub fn lookup(&self, addr: u64) -> Option<(&'a str, u64)> {
        // the last symbol whose start is <= addr
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid).0 <= addr { lo = mid + 1 } else { hi = mid }
        }
        let (start, size, name) = self.entry(lo.checked_sub(1)?);
        let off = addr - start;
        // a zero size is unknown: accept it
        (size == 0 || off < u64::from(size)).then_some((name, off))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_edges() {
        let bytes = encode(&[(0x30, 0x10, "c"), (0x10, 0x10, "a"), (0x20, 0, "b")]);
        let t = SymbolTable::parse(&bytes).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.lookup(0x0f), None);
        assert_eq!(t.lookup(0x10), Some(("a", 0)));
        assert_eq!(t.lookup(0x1f), Some(("a", 0xf)));
        assert_eq!(t.lookup(0x2f), Some(("b", 0xf)));
        assert_eq!(t.lookup(0x3f), Some(("c", 0xf)));
        assert_eq!(t.lookup(0x40), None);
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(SymbolTable::parse(&[0u8; 64]).is_none());
        let mut bytes = encode(&[(1, 1, "x")]);
        bytes.truncate(HEADER + ENTRY - 1);
        assert!(SymbolTable::parse(&bytes).is_none());
    }
}

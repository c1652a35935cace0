//! The vDSO's ELF container: a small ELF64 shared object (`ET_DYN`, linked
//! at 0) built around position-independent code, as Linux's
//! `linux-vdso.so.1` is laid out, so that glibc's, musl's and gdb's parsers
//! accept it.
//!
//! [`build`] places the ELF header, the program headers (`PT_LOAD` of the
//! whole image, `PT_DYNAMIC`), `.hash`, `.dynsym`, `.dynstr`,
//! `.gnu.version`, `.gnu.version_d` and `.dynamic` before the code, the
//! code at the offset the caller asks for (its RIP-relative references
//! assume it), and `.shstrtab` and the section headers after it, all inside
//! the one loaded segment (gdb reads the symbols from memory). Each
//! function is exported as `__vdso_NAME` (global) and `NAME` (weak), both
//! of version `LINUX_2.6`, as Linux's x86_64 vDSO does.
//!
//! ```
//! let code = [0xc3u8; 32]; // four `ret`s would do
//! let img = elf_loader::vdso::build(&code, 0x800, &[("time", 0, 16), ("getcpu", 16, 16)]).unwrap();
//! assert_eq!(&img[..4], b"\x7fELF");
//! assert_eq!(img.len() % 4096, 0);
//! ```

use alloc::vec::Vec;

/// Why an image could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The headers and tables do not fit below the code's offset.
    TablesTooLarge,
    /// A symbol lies outside the code.
    SymbolOutOfRange,
}

/// The soname (`DT_SONAME`, the first version definition).
pub const SONAME: &str = "linux-vdso.so.1";
/// The version of every symbol.
pub const VERSION: &str = "LINUX_2.6";

const EHDR: usize = 64;
const PHDR: usize = 56;
const SHDR: usize = 64;
const SYM: usize = 24;
const PAGE: usize = 4096;

/// The SysV ELF hash (`DT_HASH`, `vd_hash`).
pub fn elf_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

fn put16(v: &mut [u8], at: usize, x: u16) {
    v[at..at + 2].copy_from_slice(&x.to_le_bytes());
}
fn put32(v: &mut [u8], at: usize, x: u32) {
    v[at..at + 4].copy_from_slice(&x.to_le_bytes());
}
fn put64(v: &mut [u8], at: usize, x: u64) {
    v[at..at + 8].copy_from_slice(&x.to_le_bytes());
}

fn align(x: usize, a: usize) -> usize {
    x.div_ceil(a) * a
}

/// One section header's fields.
struct Section {
    ty: u32,
    flags: u64,
    off: usize,
    size: usize,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
}

/// A string table under construction.
struct Strtab(Vec<u8>);

impl Strtab {
    fn add(&mut self, s: &str) -> u32 {
        let at = self.0.len() as u32;
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        at
    }
}

/// Builds the image: `code` placed at `text_offset`, each of `symbols`
/// (`(name, offset in code, size)`) exported as `__vdso_NAME` and weak
/// `NAME`. The result is padded to whole pages.
pub fn build(
    code: &[u8],
    text_offset: usize,
    symbols: &[(&str, usize, usize)],
) -> Result<Vec<u8>, BuildError> {
    if symbols.iter().any(|&(_, off, size)| off.checked_add(size).is_none_or(|e| e > code.len())) {
        return Err(BuildError::SymbolOutOfRange);
    }
    // .dynstr: the soname, the version, then the symbol names
    let mut dynstr = Strtab(Vec::new());
    dynstr.add("");
    let soname = dynstr.add(SONAME);
    let version = dynstr.add(VERSION);
    // symbol 0 is the null symbol; then __vdso_NAME, NAME per function
    let mut syms: Vec<(u32, &str, bool, usize, usize)> = Vec::new();
    let mut names: Vec<alloc::string::String> = Vec::new();
    for &(name, _, _) in symbols {
        names.push(alloc::format!("__vdso_{name}"));
        names.push(alloc::string::String::from(name));
    }
    for (i, &(_, off, size)) in symbols.iter().enumerate() {
        for (j, weak) in [(0, false), (1, true)] {
            let n = &names[2 * i + j];
            let at = dynstr.add(n);
            syms.push((at, n.as_str(), weak, off, size));
        }
    }
    let nsyms = syms.len() + 1;
    let nbucket = nsyms.max(1);

    // layout before the text
    let phnum = 2;
    let hash_at = align(EHDR + phnum * PHDR, 8);
    let hash_len = 4 * (2 + nbucket + nsyms);
    let dynsym_at = align(hash_at + hash_len, 8);
    let dynstr_at = dynsym_at + nsyms * SYM;
    let versym_at = align(dynstr_at + dynstr.0.len(), 2);
    let verdef_at = align(versym_at + 2 * nsyms, 4);
    let verdef_len = 2 * (20 + 8);
    let dynamic_at = align(verdef_at + verdef_len, 8);
    let dyn_entries: usize = 10;
    let dynamic_len = dyn_entries * 16;
    if dynamic_at + dynamic_len > text_offset {
        return Err(BuildError::TablesTooLarge);
    }
    // after the text
    let mut shstr = Strtab(Vec::new());
    shstr.add("");
    let sec_names =
        [".hash", ".dynsym", ".dynstr", ".gnu.version", ".gnu.version_d", ".dynamic", ".text", ".shstrtab"];
    let sec_name_at: Vec<u32> = sec_names.iter().map(|n| shstr.add(n)).collect();
    let text_end = text_offset + code.len();
    let shstr_at = text_end;
    let shdr_at = align(shstr_at + shstr.0.len(), 8);
    let shnum = sec_names.len() + 1;
    let len = shdr_at + shnum * SHDR;
    let mut img = alloc::vec![0u8; align(len, PAGE)];

    // ELF header
    img[..4].copy_from_slice(b"\x7fELF");
    img[4] = 2; // ELFCLASS64
    img[5] = 1; // little-endian
    img[6] = 1; // EV_CURRENT
    put16(&mut img, 16, 3); // ET_DYN
    put16(&mut img, 18, 62); // EM_X86_64
    put32(&mut img, 20, 1);
    put64(&mut img, 24, 0); // no entry
    put64(&mut img, 32, EHDR as u64); // e_phoff
    put64(&mut img, 40, shdr_at as u64); // e_shoff
    put32(&mut img, 48, 0); // e_flags
    put16(&mut img, 52, EHDR as u16);
    put16(&mut img, 54, PHDR as u16);
    put16(&mut img, 56, phnum as u16);
    put16(&mut img, 58, SHDR as u16);
    put16(&mut img, 60, shnum as u16);
    put16(&mut img, 62, (shnum - 1) as u16); // .shstrtab is last

    // program headers: PT_LOAD of everything (R+X), PT_DYNAMIC
    let ph = |img: &mut [u8], i: usize, ty: u32, flags: u32, off: usize, size: usize, al: u64| {
        let at = EHDR + i * PHDR;
        put32(img, at, ty);
        put32(img, at + 4, flags);
        put64(img, at + 8, off as u64);
        put64(img, at + 16, off as u64);
        put64(img, at + 24, off as u64);
        put64(img, at + 32, size as u64);
        put64(img, at + 40, size as u64);
        put64(img, at + 48, al);
    };
    ph(&mut img, 0, 1, 4 | 1, 0, len, PAGE as u64);
    ph(&mut img, 1, 2, 4, dynamic_at, dynamic_len, 8);

    // .hash: nbucket, nchain, buckets, chains
    put32(&mut img, hash_at, nbucket as u32);
    put32(&mut img, hash_at + 4, nsyms as u32);
    let bucket_at = hash_at + 8;
    let chain_at = bucket_at + 4 * nbucket;
    for (i, s) in syms.iter().enumerate() {
        let idx = i + 1;
        let b = elf_hash(s.1.as_bytes()) as usize % nbucket;
        // prepend idx to bucket b's chain
        let head =
            u32::from_le_bytes(img[bucket_at + 4 * b..bucket_at + 4 * b + 4].try_into().unwrap_or([0; 4]));
        put32(&mut img, chain_at + 4 * idx, head);
        put32(&mut img, bucket_at + 4 * b, idx as u32);
    }

    // .dynsym
    for (i, &(name, _, weak, off, size)) in syms.iter().enumerate() {
        let at = dynsym_at + (i + 1) * SYM;
        put32(&mut img, at, name);
        let bind: u8 = if weak { 2 } else { 1 }; // STB_WEAK, STB_GLOBAL
        img[at + 4] = (bind << 4) | 2; // STT_FUNC
        img[at + 5] = 0; // STV_DEFAULT
        put16(&mut img, at + 6, 7); // .text
        put64(&mut img, at + 8, (text_offset + off) as u64);
        put64(&mut img, at + 16, size as u64);
    }
    // .dynstr
    img[dynstr_at..dynstr_at + dynstr.0.len()].copy_from_slice(&dynstr.0);
    // .gnu.version: 0 (local) for the null symbol, 2 (LINUX_2.6) for the rest
    for i in 1..nsyms {
        put16(&mut img, versym_at + 2 * i, 2);
    }
    // .gnu.version_d: the base (the soname), then LINUX_2.6
    for (i, (flags, ndx, name, s)) in
        [(1u16, 1u16, soname, SONAME), (0, 2, version, VERSION)].into_iter().enumerate()
    {
        let at = verdef_at + i * 28;
        put16(&mut img, at, 1); // vd_version
        put16(&mut img, at + 2, flags); // VER_FLG_BASE for the first
        put16(&mut img, at + 4, ndx);
        put16(&mut img, at + 6, 1); // vd_cnt
        put32(&mut img, at + 8, elf_hash(s.as_bytes()));
        put32(&mut img, at + 12, 20); // vd_aux
        put32(&mut img, at + 16, if i == 0 { 28 } else { 0 }); // vd_next
        put32(&mut img, at + 20, name); // vda_name
        put32(&mut img, at + 24, 0); // vda_next
    }
    // .dynamic
    let dyns: [(u64, u64); 10] = [
        (4, hash_at as u64),             // DT_HASH
        (5, dynstr_at as u64),           // DT_STRTAB
        (6, dynsym_at as u64),           // DT_SYMTAB
        (10, dynstr.0.len() as u64),     // DT_STRSZ
        (11, SYM as u64),                // DT_SYMENT
        (14, u64::from(soname)),         // DT_SONAME
        (0x6fff_fff0, versym_at as u64), // DT_VERSYM
        (0x6fff_fffc, verdef_at as u64), // DT_VERDEF
        (0x6fff_fffd, 2),                // DT_VERDEFNUM
        (0, 0),                          // DT_NULL
    ];
    for (i, (tag, val)) in dyns.iter().enumerate() {
        put64(&mut img, dynamic_at + 16 * i, *tag);
        put64(&mut img, dynamic_at + 16 * i + 8, *val);
    }
    // the code
    img[text_offset..text_end].copy_from_slice(code);
    // .shstrtab and the section headers
    img[shstr_at..shstr_at + shstr.0.len()].copy_from_slice(&shstr.0);
    const A: u64 = 2; // SHF_ALLOC
    const X: u64 = 4; // SHF_EXECINSTR
    const W: u64 = 1; // SHF_WRITE (.dynamic, as linkers mark it)
    let sec = |ty, flags, off, size, link, info, align, entsize| Section {
        ty,
        flags,
        off,
        size,
        link,
        info,
        align,
        entsize,
    };
    let secs = [
        sec(5, A, hash_at, hash_len, 2, 0, 8, 4),                // SHT_HASH
        sec(11, A, dynsym_at, nsyms * SYM, 3, 1, 8, SYM as u64), // SHT_DYNSYM
        sec(3, A, dynstr_at, dynstr.0.len(), 0, 0, 1, 0),        // SHT_STRTAB
        sec(0x6fff_ffff, A, versym_at, 2 * nsyms, 2, 0, 2, 2),   // SHT_GNU_versym
        sec(0x6fff_fffd, A, verdef_at, verdef_len, 3, 2, 4, 0),  // SHT_GNU_verdef
        sec(6, A | W, dynamic_at, dynamic_len, 3, 0, 8, 16),     // SHT_DYNAMIC
        sec(1, A | X, text_offset, code.len(), 0, 0, 16, 0),     // SHT_PROGBITS
        sec(3, 0, shstr_at, shstr.0.len(), 0, 0, 1, 0),          // SHT_STRTAB
    ];
    for (i, c) in secs.iter().enumerate() {
        let at = shdr_at + (i + 1) * SHDR;
        put32(&mut img, at, sec_name_at[i]);
        put32(&mut img, at + 4, c.ty);
        put64(&mut img, at + 8, c.flags);
        put64(&mut img, at + 16, if c.flags & A != 0 { c.off as u64 } else { 0 });
        put64(&mut img, at + 24, c.off as u64);
        put64(&mut img, at + 32, c.size as u64);
        put32(&mut img, at + 40, c.link);
        put32(&mut img, at + 44, c.info);
        put64(&mut img, at + 48, c.align);
        put64(&mut img, at + 56, c.entsize);
    }
    Ok(img)
}

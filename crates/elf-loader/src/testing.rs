//! A tiny ELF64 image builder for tests (feature `testing`): headers,
//! `PT_LOAD` segments with their bytes, `PT_PHDR`, `PT_GNU_STACK`, and raw
//! program headers for malformed cases.
//!
//! Layout of the output: the file header and the program headers at
//! offset 0, then each segment's bytes from the next page boundary at the
//! file offset congruent to its address modulo 4096.
//!
//! ```
//! use elf_loader::testing::{ElfBuilder, PF_R, PF_X};
//! let elf = ElfBuilder::exec(0x401000).load(0x401000, PF_R | PF_X, &[0xc3], 1).build();
//! let image = elf_loader::ElfImage::parse(&elf[..]).unwrap();
//! assert_eq!(image.segments()[0].offset, 0x1000);
//! ```

use alloc::vec::Vec;

/// `ET_EXEC`.
pub const ET_EXEC: u16 = 2;
/// `ET_DYN`.
pub const ET_DYN: u16 = 3;
/// `EM_X86_64`.
pub const EM_X86_64: u16 = 62;
/// `EM_AARCH64`.
pub const EM_AARCH64: u16 = 183;
/// `EM_RISCV`.
pub const EM_RISCV: u16 = 243;
/// `PT_LOAD`.
pub const PT_LOAD: u32 = 1;
/// `PT_INTERP`.
pub const PT_INTERP: u32 = 3;
/// `PT_PHDR`.
pub const PT_PHDR: u32 = 6;
/// `PT_GNU_STACK`.
pub const PT_GNU_STACK: u32 = crate::parse::PT_GNU_STACK;
/// Segment flag: executable.
pub const PF_X: u32 = 1;
/// Segment flag: writable.
pub const PF_W: u32 = 2;
/// Segment flag: readable.
pub const PF_R: u32 = 4;

/// One program header, field by field.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Phdr {
    /// `p_type`.
    pub p_type: u32,
    /// `p_flags`.
    pub p_flags: u32,
    /// `p_offset`.
    pub p_offset: u64,
    /// `p_vaddr`.
    pub p_vaddr: u64,
    /// `p_filesz`.
    pub p_filesz: u64,
    /// `p_memsz`.
    pub p_memsz: u64,
    /// `p_align`.
    pub p_align: u64,
}

impl Phdr {
    fn bytes(&self) -> [u8; 56] {
        let mut b = [0u8; 56];
        b[0..4].copy_from_slice(&self.p_type.to_le_bytes());
        b[4..8].copy_from_slice(&self.p_flags.to_le_bytes());
        b[8..16].copy_from_slice(&self.p_offset.to_le_bytes());
        b[16..24].copy_from_slice(&self.p_vaddr.to_le_bytes());
        b[24..32].copy_from_slice(&self.p_vaddr.to_le_bytes()); // p_paddr
        b[32..40].copy_from_slice(&self.p_filesz.to_le_bytes());
        b[40..48].copy_from_slice(&self.p_memsz.to_le_bytes());
        b[48..56].copy_from_slice(&self.p_align.to_le_bytes());
        b
    }
}

#[derive(Clone, Debug)]
enum Item {
    /// A PT_LOAD whose bytes are placed by the builder.
    Load { vaddr: u64, flags: u32, data: Vec<u8>, memsz: u64 },
    /// A PT_LOAD of the first page of the file (the headers) at `vaddr`.
    Headers { vaddr: u64, flags: u32 },
    /// PT_PHDR: the program headers at `vaddr`.
    PhdrAt { vaddr: u64 },
    /// A program header as given.
    Raw(Phdr),
    /// PT_INTERP with these bytes (the NUL included or not, as given).
    Interp(Vec<u8>),
}

/// Builds an ELF64 little-endian x86_64 image. The fields are public so a
/// test can make any of them wrong.
#[derive(Clone, Debug)]
pub struct ElfBuilder {
    /// `e_ident[EI_CLASS]` (2: 64-bit).
    pub class: u8,
    /// `e_ident[EI_DATA]` (1: little endian).
    pub data: u8,
    /// `e_type`.
    pub e_type: u16,
    /// `e_machine`.
    pub machine: u16,
    /// `e_entry`.
    pub entry: u64,
    /// `e_phentsize` (56), written as is.
    pub phentsize: u16,
    items: Vec<Item>,
}

/// The file offset of program header `index` in a built image.
pub const fn phdr_offset(index: usize) -> usize {
    64 + 56 * index
}

impl ElfBuilder {
    /// A static executable (`ET_EXEC`) starting at `entry`.
    pub fn exec(entry: u64) -> Self {
        ElfBuilder {
            class: 2,
            data: 1,
            e_type: ET_EXEC,
            machine: EM_X86_64,
            entry,
            phentsize: 56,
            items: Vec::new(),
        }
    }

    /// A static PIE (`ET_DYN`) with entry `entry` (relative to its link
    /// addresses, usually from 0).
    pub fn pie(entry: u64) -> Self {
        ElfBuilder { e_type: ET_DYN, ..Self::exec(entry) }
    }

    /// Adds a `PT_LOAD` at `vaddr` with `data` as its file bytes and
    /// `memsz` bytes of memory (the rest zero), aligned to a page.
    pub fn load(mut self, vaddr: u64, flags: u32, data: &[u8], memsz: u64) -> Self {
        self.items.push(Item::Load { vaddr, flags, data: data.to_vec(), memsz });
        self
    }

    /// Adds a `PT_LOAD` mapping the file's first page (the headers) at the
    /// page-aligned `vaddr`, as linkers do for the first segment.
    pub fn headers_segment(mut self, vaddr: u64, flags: u32) -> Self {
        self.items.push(Item::Headers { vaddr, flags });
        self
    }

    /// Adds a `PT_INTERP` whose bytes are `bytes` exactly (add the NUL
    /// for a well-formed one), placed after the headers.
    pub fn interp(mut self, bytes: &[u8]) -> Self {
        self.items.push(Item::Interp(bytes.to_vec()));
        self
    }

    /// Adds a `PT_PHDR` saying the program headers are at `vaddr`.
    pub fn phdr(mut self, vaddr: u64) -> Self {
        self.items.push(Item::PhdrAt { vaddr });
        self
    }

    /// Adds a `PT_GNU_STACK` with `flags` (`PF_R | PF_W`, or with `PF_X`
    /// for an executable stack).
    pub fn gnu_stack(self, flags: u32) -> Self {
        self.raw(Phdr { p_type: PT_GNU_STACK, p_flags: flags, p_align: 16, ..Phdr::default() })
    }

    /// Changes the builder in place (for the public fields): for example
    /// `.set(|b| b.machine = 3)`.
    pub fn set(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }

    /// Adds a program header exactly as given.
    pub fn raw(mut self, phdr: Phdr) -> Self {
        self.items.push(Item::Raw(phdr));
        self
    }

    /// The image bytes.
    pub fn build(&self) -> Vec<u8> {
        let n = self.items.len();
        let headers_len = phdr_offset(n);
        let mut out = alloc::vec![0u8; headers_len.max(4096)];
        let mut phdrs = Vec::with_capacity(n);
        for item in &self.items {
            let ph = match item {
                Item::Load { vaddr, flags, data, memsz } => {
                    let page = (out.len() + 4095) & !4095;
                    let offset = page + (*vaddr as usize & 4095);
                    out.resize(offset, 0);
                    out.extend_from_slice(data);
                    Phdr {
                        p_type: PT_LOAD,
                        p_flags: *flags,
                        p_offset: offset as u64,
                        p_vaddr: *vaddr,
                        p_filesz: data.len() as u64,
                        p_memsz: *memsz,
                        p_align: 4096,
                    }
                }
                Item::Headers { vaddr, flags } => Phdr {
                    p_type: PT_LOAD,
                    p_flags: *flags,
                    p_offset: 0,
                    p_vaddr: *vaddr,
                    p_filesz: headers_len as u64,
                    p_memsz: headers_len as u64,
                    p_align: 4096,
                },
                Item::PhdrAt { vaddr } => Phdr {
                    p_type: PT_PHDR,
                    p_flags: PF_R,
                    p_offset: 64,
                    p_vaddr: *vaddr,
                    p_filesz: (n * 56) as u64,
                    p_memsz: (n * 56) as u64,
                    p_align: 8,
                },
                Item::Raw(ph) => *ph,
                Item::Interp(bytes) => {
                    let offset = out.len();
                    out.extend_from_slice(bytes);
                    Phdr {
                        p_type: PT_INTERP,
                        p_flags: PF_R,
                        p_offset: offset as u64,
                        p_vaddr: 0,
                        p_filesz: bytes.len() as u64,
                        p_memsz: bytes.len() as u64,
                        p_align: 1,
                    }
                }
            };
            phdrs.push(ph);
        }
        out[0..4].copy_from_slice(b"\x7fELF");
        out[4] = self.class;
        out[5] = self.data;
        out[6] = 1; // EV_CURRENT
        out[16..18].copy_from_slice(&self.e_type.to_le_bytes());
        out[18..20].copy_from_slice(&self.machine.to_le_bytes());
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[24..32].copy_from_slice(&self.entry.to_le_bytes());
        out[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        out[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        out[54..56].copy_from_slice(&self.phentsize.to_le_bytes());
        out[56..58].copy_from_slice(&(n as u16).to_le_bytes());
        out[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
        for (i, ph) in phdrs.iter().enumerate() {
            out[phdr_offset(i)..phdr_offset(i + 1)].copy_from_slice(&ph.bytes());
        }
        out
    }
}

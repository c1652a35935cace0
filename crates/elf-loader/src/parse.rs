//! Parsing and validating the ELF header and program headers (with
//! xmas-elf), before anything is mapped.

use alloc::vec::Vec;

use linux_abi::{Errno, Result};
use vm::Prot;
use xmas_elf::ElfFile;
use xmas_elf::header::Type as ElfType;
use xmas_elf::program::Type as PhType;

use crate::file::{ExecFile, read_full};

/// The size of the ELF64 file header.
pub const EHDR_SIZE: usize = 64;
/// The size of one ELF64 program header (`sizeof(struct elf_phdr)`), the
/// value of `AT_PHENT`.
pub const PHDR_SIZE: usize = 56;
/// The most program-header bytes Linux reads (`load_elf_phdrs`: no more
/// than `ELF_MIN_ALIGN`, one page); more is refused with `ENOEXEC`.
pub const MAX_PHDR_BYTES: usize = 4096;
/// `PT_GNU_STACK`: its `PF_X` flag asks for an executable stack.
pub const PT_GNU_STACK: u32 = 0x6474_e551;
/// The end of user space on x86_64 with 4-level paging (`TASK_SIZE`):
/// segments must end at or below it.
pub const TASK_SIZE: u64 = vm::abi::TASK_SIZE as u64;

const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;

/// The machine an executable must be built for (`e_machine`): the caller's
/// architecture. x86_64 is the default; every one here is a 64-bit
/// little-endian ELF machine Linux runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
#[non_exhaustive]
pub enum Machine {
    /// `EM_X86_64` (62).
    #[default]
    X86_64,
    /// `EM_AARCH64` (183).
    Aarch64,
    /// `EM_RISCV` (243), 64-bit (`ELFCLASS64`).
    Riscv64,
}

impl Machine {
    /// The `e_machine` value of this machine's executables.
    pub const fn e_machine(self) -> u16 {
        match self {
            Machine::X86_64 => 62,
            Machine::Aarch64 => 183,
            Machine::Riscv64 => 243,
        }
    }

    /// The machine of an `e_machine` value, if it is one of these.
    pub const fn from_e_machine(e_machine: u16) -> Option<Machine> {
        match e_machine {
            62 => Some(Machine::X86_64),
            183 => Some(Machine::Aarch64),
            243 => Some(Machine::Riscv64),
            _ => None,
        }
    }
}
const E_PHOFF: usize = 32;

/// The most bytes a `PT_INTERP` may have, its NUL included (`PATH_MAX`):
/// more is `ENOEXEC`.
pub const MAX_INTERP_BYTES: u64 = 4096;

/// Whether the image is position dependent or not, and whether it names an
/// interpreter (`PT_INTERP`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum ImageKind {
    /// `ET_EXEC` without `PT_INTERP`: loaded at its link addresses.
    Static,
    /// `ET_DYN` without `PT_INTERP` (static PIE): loaded at a bias.
    StaticPie,
    /// `ET_EXEC` with `PT_INTERP`: loaded at its link addresses, started
    /// through its interpreter.
    Dynamic,
    /// `ET_DYN` with `PT_INTERP` (a PIE): loaded at [`ELF_ET_DYN_BASE`]
    /// (rounded down to its alignment), started through its interpreter.
    ///
    /// [`ELF_ET_DYN_BASE`]: crate::ELF_ET_DYN_BASE
    DynamicPie,
}

impl ImageKind {
    /// Whether the image is `ET_DYN` (placed at a bias).
    pub fn is_pie(self) -> bool {
        matches!(self, ImageKind::StaticPie | ImageKind::DynamicPie)
    }

    /// Whether the image names an interpreter.
    pub fn is_dynamic(self) -> bool {
        matches!(self, ImageKind::Dynamic | ImageKind::DynamicPie)
    }
}

/// One `PT_LOAD` segment, as the file describes it (not yet biased).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Segment {
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_memsz`: bytes of memory (the part past `filesz` is zero, the bss).
    pub memsz: u64,
    /// `p_offset`: where the file bytes start.
    pub offset: u64,
    /// `p_filesz`: bytes copied from the file.
    pub filesz: u64,
    /// `p_flags` as mapping permissions (`PF_R`, `PF_W`, `PF_X`).
    pub prot: Prot,
    /// `p_align`.
    pub align: u64,
}

impl Segment {
    /// One past the last byte of memory (`p_vaddr + p_memsz`; checked when
    /// parsed).
    pub fn end(&self) -> u64 {
        self.vaddr + self.memsz
    }
}

/// A parsed, validated executable: everything the loader needs from the
/// headers. Building one reads the file header and program headers only.
#[derive(Clone, Debug)]
pub struct ElfImage {
    kind: ImageKind,
    entry: u64,
    phoff: u64,
    phnum: u16,
    segments: Vec<Segment>,
    phdr_vaddr: Option<u64>,
    exec_stack: bool,
    max_align: u64,
    /// `PT_INTERP`'s `(p_offset, p_filesz)`, the first one.
    interp: Option<(u64, u64)>,
}

/// A byte buffer whose start is 8-byte aligned (xmas-elf reads its
/// structures in place and asserts their alignment), without unsafe code.
struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    fn zeroed(len: usize) -> Self {
        let storage = alloc::vec![0u8; len + 8];
        let start = (8 - storage.as_ptr().addr() % 8) % 8;
        AlignedBuf { storage, start, len }
    }

    fn bytes(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

fn noexec<T>(_: T) -> Errno {
    Errno::ENOEXEC
}

/// `PF_R`/`PF_W`/`PF_X` to mapping permissions (`make_prot`).
fn prot_of(flags: xmas_elf::program::Flags) -> Prot {
    let mut prot = Prot::empty();
    if flags.is_read() {
        prot |= Prot::READ;
    }
    if flags.is_write() {
        prot |= Prot::WRITE;
    }
    if flags.is_execute() {
        prot |= Prot::EXEC;
    }
    prot
}

impl ElfImage {
    /// Reads and checks the headers of `file`.
    ///
    /// `ENOEXEC` for: a file shorter than the header, bad magic, a class
    /// other than ELFCLASS64, big-endian data, a type other than `ET_EXEC`
    /// or `ET_DYN`, a machine other than x86_64 ([`parse_for`](Self::parse_for)
    /// for another), `e_phentsize` other than
    /// 56, no program headers or more than one page of them, program
    /// headers past the end of the file, no `PT_LOAD` segment with
    /// memory, a segment with `p_filesz > p_memsz`, file bytes past the end
    /// of the file, a `p_align` that is not a power of two, `p_vaddr` and
    /// `p_offset` not congruent modulo `p_align`, overlapping segments, a
    /// segment (or the entry point of an `ET_EXEC`) at or above
    /// [`TASK_SIZE`], or an address overflow. The errors of
    /// [`ExecFile::read_at`] pass through.
    pub fn parse<F: ExecFile + ?Sized>(file: &F) -> Result<ElfImage> {
        Self::parse_inner(file, false, Machine::X86_64)
    }

    /// [`parse`](Self::parse) for a kernel of another architecture: the
    /// file's `e_machine` must be `machine`'s (`ENOEXEC` otherwise, as a
    /// Linux kernel refuses another architecture's executable).
    ///
    /// ```
    /// use elf_loader::testing::{ElfBuilder, PF_R, PF_X, EM_AARCH64};
    /// use elf_loader::{ElfImage, Machine};
    /// use linux_abi::Errno;
    ///
    /// let elf = ElfBuilder::exec(0x401000)
    ///     .load(0x401000, PF_R | PF_X, &[0; 8], 8)
    ///     .set(|b| b.machine = EM_AARCH64)
    ///     .build();
    /// assert!(ElfImage::parse_for(&elf[..], Machine::Aarch64).is_ok());
    /// assert_eq!(ElfImage::parse(&elf[..]).unwrap_err(), Errno::ENOEXEC); // x86_64 by default
    /// ```
    pub fn parse_for<F: ExecFile + ?Sized>(file: &F, machine: Machine) -> Result<ElfImage> {
        Self::parse_inner(file, false, machine)
    }

    /// Reads and checks the headers of an interpreter in two steps, as
    /// Linux's `load_elf_binary` does.
    ///
    /// The outer error is what execve returns (the checks made before the
    /// point of no return): `EIO` for a file shorter than the ELF header
    /// (`elf_read`); `ELIBBAD` for bad magic, a machine other than x86_64,
    /// and program headers `load_elf_phdrs` cannot read (an `e_phentsize`
    /// other than 56, none, more than a page, past the end of the file).
    ///
    /// The inner error is for what Linux finds wrong only once the caller's
    /// image is gone, in `load_elf_interp` (a type other than `ET_EXEC` or
    /// `ET_DYN`, segments it cannot map; here also a class or byte order
    /// this loader cannot read, and file bytes past the end of the file,
    /// which Linux maps and faults on): the process then dies of `SIGSEGV`.
    /// It is `ELIBBAD`.
    ///
    /// The interpreter's own `PT_INTERP` is ignored, as `load_elf_interp`
    /// does.
    pub fn parse_interp<F: ExecFile + ?Sized>(file: &F) -> Result<Result<ElfImage>> {
        Self::parse_interp_for(file, Machine::X86_64)
    }

    /// [`parse_interp`](Self::parse_interp) for a kernel of another
    /// architecture: the interpreter's `e_machine` must be `machine`'s
    /// (`ELIBBAD` otherwise).
    pub fn parse_interp_for<F: ExecFile + ?Sized>(file: &F, machine: Machine) -> Result<Result<ElfImage>> {
        let mut ehdr = [0u8; EHDR_SIZE];
        if !read_full(file, 0, &mut ehdr)? {
            return Err(Errno::EIO);
        }
        if ehdr[..4] != xmas_elf::header::MAGIC
            || u16::from_le_bytes([ehdr[18], ehdr[19]]) != machine.e_machine()
        {
            return Err(Errno::ELIBBAD);
        }
        // load_elf_phdrs
        let phentsize = u16::from_le_bytes([ehdr[54], ehdr[55]]);
        let phnum = u16::from_le_bytes([ehdr[56], ehdr[57]]);
        let phoff = u64::from_le_bytes([
            ehdr[E_PHOFF],
            ehdr[E_PHOFF + 1],
            ehdr[E_PHOFF + 2],
            ehdr[E_PHOFF + 3],
            ehdr[E_PHOFF + 4],
            ehdr[E_PHOFF + 5],
            ehdr[E_PHOFF + 6],
            ehdr[E_PHOFF + 7],
        ]);
        let ph_bytes = usize::from(phnum) * PHDR_SIZE;
        if usize::from(phentsize) != PHDR_SIZE || ph_bytes == 0 || ph_bytes > MAX_PHDR_BYTES {
            return Err(Errno::ELIBBAD);
        }
        if phoff.checked_add(ph_bytes as u64).is_none_or(|end| end > file.size()) {
            return Err(Errno::ELIBBAD);
        }
        Ok(Self::parse_inner(file, true, machine)
            .map_err(|e| if e == Errno::ENOEXEC { Errno::ELIBBAD } else { e }))
    }

    fn parse_inner<F: ExecFile + ?Sized>(file: &F, as_interp: bool, machine: Machine) -> Result<ElfImage> {
        let size = file.size();
        let mut ehdr = [0u8; EHDR_SIZE];
        if !read_full(file, 0, &mut ehdr)? {
            return Err(Errno::ENOEXEC);
        }
        // The identification bytes, before xmas-elf sees anything.
        if ehdr[..4] != xmas_elf::header::MAGIC || ehdr[4] != ELFCLASS64 || ehdr[5] != ELFDATA2LSB {
            return Err(Errno::ENOEXEC);
        }
        let phentsize = u16::from_le_bytes([ehdr[54], ehdr[55]]);
        let phnum = u16::from_le_bytes([ehdr[56], ehdr[57]]);
        let phoff = u64::from_le_bytes(ehdr[E_PHOFF..E_PHOFF + 8].try_into().map_err(noexec)?);
        // load_elf_phdrs.
        let ph_bytes = usize::from(phnum) * PHDR_SIZE;
        if usize::from(phentsize) != PHDR_SIZE || ph_bytes == 0 || ph_bytes > MAX_PHDR_BYTES {
            return Err(Errno::ENOEXEC);
        }
        match phoff.checked_add(ph_bytes as u64) {
            Some(end) if end <= size => {}
            _ => return Err(Errno::ENOEXEC),
        }
        // An aligned copy of the header followed by the program headers,
        // with e_phoff pointing at them, for xmas-elf to read in place.
        let mut buf = AlignedBuf::zeroed(EHDR_SIZE + ph_bytes);
        {
            let bytes = buf.bytes_mut();
            bytes[..EHDR_SIZE].copy_from_slice(&ehdr);
            bytes[E_PHOFF..E_PHOFF + 8].copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
            if !read_full(file, phoff, &mut bytes[EHDR_SIZE..])? {
                return Err(Errno::ENOEXEC);
            }
        }
        let elf = ElfFile::new(buf.bytes()).map_err(noexec)?;
        let is_pie = match elf.header.pt2.type_().as_type() {
            ElfType::Executable => false,
            ElfType::SharedObject => true,
            _ => return Err(Errno::ENOEXEC),
        };
        if u16::from_le_bytes([ehdr[18], ehdr[19]]) != machine.e_machine() {
            return Err(Errno::ENOEXEC);
        }
        let entry = elf.header.pt2.entry_point();

        let mut segments = Vec::new();
        let mut phdr_segment = None;
        let mut phdr_in_load = None;
        let mut exec_stack = false;
        let mut max_align = vm::PAGE_SIZE as u64;
        let mut interp = None;
        for index in 0..phnum {
            let ph = elf.program_header(index).map_err(noexec)?;
            match ph.get_type() {
                Ok(PhType::Load) => {}
                Ok(PhType::Interp) => {
                    if !as_interp && interp.is_none() {
                        interp = Some((ph.offset(), ph.file_size()));
                    }
                    continue;
                }
                Ok(PhType::Phdr) => {
                    phdr_segment = Some(ph.virtual_addr());
                    continue;
                }
                Ok(PhType::OsSpecific(PT_GNU_STACK)) => {
                    exec_stack = ph.flags().is_execute();
                    continue;
                }
                // Anything else (notes, TLS, relro, unknown types) does not
                // change what is mapped.
                _ => continue,
            }
            let seg = Segment {
                vaddr: ph.virtual_addr(),
                memsz: ph.mem_size(),
                offset: ph.offset(),
                filesz: ph.file_size(),
                prot: prot_of(ph.flags()),
                align: ph.align(),
            };
            if seg.filesz > seg.memsz {
                return Err(Errno::ENOEXEC);
            }
            match seg.offset.checked_add(seg.filesz) {
                Some(end) if end <= size => {}
                _ => return Err(Errno::ENOEXEC),
            }
            if seg.align > 1 {
                if !seg.align.is_power_of_two() || seg.vaddr % seg.align != seg.offset % seg.align {
                    return Err(Errno::ENOEXEC);
                }
                max_align = max_align.max(seg.align);
            }
            match seg.vaddr.checked_add(seg.memsz) {
                Some(end) if end <= TASK_SIZE => {}
                _ => return Err(Errno::ENOEXEC),
            }
            // AT_PHDR: the (last) PT_LOAD whose file bytes hold e_phoff, as
            // Linux computes it.
            if seg.offset <= phoff && phoff - seg.offset < seg.filesz {
                phdr_in_load = Some(phoff - seg.offset + seg.vaddr);
            }
            if seg.memsz > 0 {
                segments.push(seg);
            }
        }
        if segments.is_empty() {
            return Err(Errno::ENOEXEC);
        }
        segments.sort_by_key(|s| s.vaddr);
        if segments.windows(2).any(|w| w[0].end() > w[1].vaddr) {
            return Err(Errno::ENOEXEC);
        }
        let kind = match (is_pie, interp.is_some()) {
            (false, false) => ImageKind::Static,
            (true, false) => ImageKind::StaticPie,
            (false, true) => ImageKind::Dynamic,
            (true, true) => ImageKind::DynamicPie,
        };
        if !is_pie && entry >= TASK_SIZE {
            return Err(Errno::ENOEXEC);
        }
        Ok(ElfImage {
            kind,
            entry,
            phoff,
            phnum,
            segments,
            phdr_vaddr: phdr_in_load.or(phdr_segment),
            exec_stack,
            max_align,
            interp,
        })
    }

    /// The interpreter's path named by `PT_INTERP` (without its NUL), or
    /// `None` for a static image, read from `file` as Linux's
    /// `load_elf_binary` does: `ENOEXEC` for a `p_filesz` under 2 or over
    /// [`MAX_INTERP_BYTES`], or a last byte that is not NUL; `EIO` when the
    /// file ends first. The path ends at its first NUL.
    pub fn interp_path<F: ExecFile + ?Sized>(&self, file: &F) -> Result<Option<Vec<u8>>> {
        let Some((offset, filesz)) = self.interp else { return Ok(None) };
        if !(2..=MAX_INTERP_BYTES).contains(&filesz) {
            return Err(Errno::ENOEXEC);
        }
        let mut path = Vec::new();
        path.try_reserve_exact(filesz as usize).map_err(|_| Errno::ENOMEM)?;
        path.resize(filesz as usize, 0);
        if !read_full(file, offset, &mut path)? {
            return Err(Errno::EIO);
        }
        if path.last() != Some(&0) {
            return Err(Errno::ENOEXEC);
        }
        let len = path.iter().position(|&b| b == 0).unwrap_or(path.len());
        path.truncate(len);
        Ok(Some(path))
    }

    /// `ET_EXEC` or `ET_DYN`, with or without an interpreter (always
    /// without for an image from [`ElfImage::parse_interp`]).
    pub fn kind(&self) -> ImageKind {
        self.kind
    }

    /// `e_entry` (not biased).
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// `e_phoff`.
    pub fn phoff(&self) -> u64 {
        self.phoff
    }

    /// `e_phnum` (`AT_PHNUM`).
    pub fn phnum(&self) -> u16 {
        self.phnum
    }

    /// The `PT_LOAD` segments with memory, sorted by address.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Where the program headers are in memory (not biased): inside the
    /// `PT_LOAD` whose file bytes contain `e_phoff`, else `PT_PHDR`'s
    /// `p_vaddr`, else `None` (`AT_PHDR` is then the bias, as on Linux).
    pub fn phdr_vaddr(&self) -> Option<u64> {
        self.phdr_vaddr
    }

    /// Whether `PT_GNU_STACK` asks for an executable stack.
    pub fn exec_stack(&self) -> bool {
        self.exec_stack
    }

    /// The largest power-of-two `p_align` of the segments (at least a page).
    pub fn max_align(&self) -> u64 {
        self.max_align
    }
}

//! Mapping the segments and the stack into a `Vmar`.

use alloc::sync::Arc;
use alloc::vec::Vec;

use linux_abi::{Errno, Result};
use vm::abi::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_PRIVATE, PROT_EXEC, PROT_READ,
    PROT_WRITE,
};
use vm::{FrameRefs, MapFile, PAGE_SIZE, PageSource, PageTable, Prot, Vmar, page_ceil, page_floor};

use crate::file::{ExecFile, read_full};
use crate::parse::{ElfImage, ImageKind, Machine, PHDR_SIZE};
use crate::stack::*;

/// Linux's `ELF_ET_DYN_BASE` on x86_64: two thirds of the 47-bit user
/// space. A static PIE is placed here (rounded down to its largest
/// segment alignment) by default.
pub const ELF_ET_DYN_BASE: usize = 0x5555_5555_4aaa;
/// The top of the initial stack: `STACK_TOP` on x86_64 without
/// randomisation, the end of user space.
pub const DEFAULT_STACK_TOP: usize = vm::abi::TASK_SIZE;
/// The default size of the stack mapping: the default `RLIMIT_STACK`.
pub const DEFAULT_STACK_SIZE: usize = 8 << 20;

/// The real and effective user and group ids (`AT_UID` ... `AT_EGID`):
/// [`Credentials::new`] (more may come, e.g. the saved ids).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct Credentials {
    /// Real user id.
    pub uid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective group id.
    pub egid: u32,
}

impl Credentials {
    /// The ids in `AT_UID`, `AT_EUID`, `AT_GID`, `AT_EGID` order.
    pub const fn new(uid: u32, euid: u32, gid: u32, egid: u32) -> Self {
        Credentials { uid, euid, gid, egid }
    }
}

/// Where a static PIE (`ET_DYN` without `PT_INTERP`) goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum PiePlacement {
    /// Wherever mmap puts a mapping of the image's size (top down from the
    /// address space's mmap base): what Linux 6.1 does for an `ET_DYN`
    /// without interpreter ("loaders" go in the mmap region). Without
    /// randomisation the image ends just below the mmap base.
    Mmap,
    /// The lowest segment's page at this address, rounded down to the
    /// largest `p_align` (as Linux places a PIE that has an interpreter,
    /// at [`ELF_ET_DYN_BASE`]).
    At(usize),
}

/// Where the loader puts things.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Layout {
    /// One past the highest stack byte (page aligned, at most the address
    /// space's `max_addr`).
    pub stack_top: usize,
    /// The size of the `[stack]` mapping (grown to fit the arguments if
    /// needed). The mapping does not grow later: it is the whole stack.
    pub stack_size: usize,
    /// Where a static PIE goes (default: [`PiePlacement::Mmap`], Linux's).
    pub pie: PiePlacement,
}

impl Default for Layout {
    fn default() -> Self {
        Layout { stack_top: DEFAULT_STACK_TOP, stack_size: DEFAULT_STACK_SIZE, pie: PiePlacement::Mmap }
    }
}

/// Everything execve passes to the new image besides the file.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ExecParams<'a> {
    /// The executable's path as `/proc/self/maps` names its mappings (and
    /// as `/proc/self/exe` shows it).
    pub path: &'a [u8],
    /// The name execve was given (`AT_EXECFN`; relative names stay
    /// relative; for a script, the script's name).
    pub execfn: &'a [u8],
    /// The arguments (`argv[0]` first). None may contain a NUL byte
    /// (`EINVAL`). An empty list becomes `[""]`, as Linux does.
    pub argv: &'a [&'a [u8]],
    /// The environment strings (no NUL bytes inside).
    pub envp: &'a [&'a [u8]],
    /// The 16 random bytes `AT_RANDOM` points at (from the kernel's RNG).
    pub random: [u8; 16],
    /// Ids for the auxiliary vector.
    pub creds: Credentials,
    /// `AT_SECURE` (set-user-ID or set-group-ID execution).
    pub secure: bool,
    /// `AT_HWCAP` (x86: CPUID leaf 1 EDX).
    pub hwcap: u64,
    /// `AT_HWCAP2`, if the CPU has any (x86: bit 1 = FSGSBASE enabled).
    pub hwcap2: Option<u64>,
    /// `AT_MINSIGSTKSZ` (x86: the signal frame size), if known.
    pub minsigstksz: Option<u64>,
    /// `AT_SYSINFO_EHDR`: the vDSO's address, if one is mapped.
    pub sysinfo_ehdr: Option<u64>,
    /// The `AT_PLATFORM` string ("x86_64"; "aarch64" on aarch64, none on
    /// riscv64), or none.
    pub platform: Option<&'a [u8]>,
    /// More auxiliary-vector entries, placed after `AT_PLATFORM` and
    /// before `AT_NULL`, where Linux puts `AT_EXECFD` and (6.3 and later)
    /// `AT_RSEQ_FEATURE_SIZE` and `AT_RSEQ_ALIGN`.
    pub extra_auxv: &'a [(u64, u64)],
    /// `RLIMIT_STACK`'s soft limit, for the argument space (`E2BIG`).
    pub stack_rlimit: u64,
    /// Addresses.
    pub layout: Layout,
    /// The machine the executable and its interpreter must be built for
    /// (`e_machine`): [`Machine::X86_64`] by default.
    pub machine: Machine,
}

impl<'a> ExecParams<'a> {
    /// Parameters with Linux's defaults: `execfn` = `path`, root ids, no
    /// hwcaps, platform "x86_64", an 8 MiB stack limit, the default layout.
    pub fn new(path: &'a [u8], argv: &'a [&'a [u8]], envp: &'a [&'a [u8]], random: [u8; 16]) -> Self {
        ExecParams {
            path,
            execfn: path,
            argv,
            envp,
            random,
            creds: Credentials::default(),
            secure: false,
            hwcap: 0,
            hwcap2: None,
            minsigstksz: None,
            sysinfo_ehdr: None,
            platform: Some(PLATFORM_X86_64),
            extra_auxv: &[],
            stack_rlimit: STK_LIM,
            layout: Layout::default(),
            machine: Machine::X86_64,
        }
    }
}

/// The loaded image: what the kernel needs to start the program and to
/// answer `/proc/self/{stat,maps,auxv,cmdline,environ}`.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct LoadedImage {
    /// Where execution starts (`e_entry` plus the bias, of the interpreter
    /// for a dynamic image): the user context's instruction pointer.
    pub entry: usize,
    /// The program's entry (`AT_ENTRY`; `entry` for a static image).
    pub program_entry: usize,
    /// `AT_BASE`: the interpreter's bias (0 without one, or for an
    /// `ET_EXEC` interpreter).
    pub interp_base: usize,
    /// The initial stack pointer, 16-byte aligned, pointing at `argc`.
    pub stack_pointer: usize,
    /// The start of the heap (page aligned, just past the highest
    /// segment); already given to [`Vmar::set_brk_base`].
    pub brk_base: usize,
    /// What was added to every `p_vaddr` (0 for `ET_EXEC`).
    pub load_bias: usize,
    /// `AT_PHDR`: the program headers in memory.
    pub phdr: usize,
    /// `AT_PHNUM`.
    pub phnum: usize,
    /// The program's kind.
    pub kind: ImageKind,
    /// `mm->start_code`: the lowest address of an executable segment.
    pub start_code: usize,
    /// `mm->end_code`: the end of the file bytes of executable segments.
    pub end_code: usize,
    /// `mm->start_data`: the highest segment start.
    pub start_data: usize,
    /// `mm->end_data`: the end of the file bytes of all segments.
    pub end_data: usize,
    /// One past the top of the stack mapping.
    pub stack_top: usize,
    /// The lowest address of the stack mapping.
    pub stack_bottom: usize,
    /// `mm->arg_start..arg_end`: the argument strings (`/proc/self/cmdline`).
    pub arg_start: usize,
    /// See `arg_start`.
    pub arg_end: usize,
    /// `mm->env_start..env_end`: the environment strings.
    pub env_start: usize,
    /// See `env_start`.
    pub env_end: usize,
    /// `AT_EXECFN`: the file-name string on the stack.
    pub execfn: usize,
    /// `AT_RANDOM`: the 16 random bytes on the stack.
    pub random: usize,
    /// The auxiliary vector as written, ending with `(AT_NULL, 0)`
    /// (`mm->saved_auxv`, what `/proc/self/auxv` shows).
    pub auxv: Vec<(u64, u64)>,
}

/// One page-aligned piece of the image with its final permissions (the
/// union of the segments that share it).
struct Piece {
    start: usize,
    end: usize,
    prot: Prot,
}

fn linux_prot(prot: Prot) -> usize {
    let mut p = 0;
    if prot.contains(Prot::READ) {
        p |= PROT_READ;
    }
    if prot.contains(Prot::WRITE) {
        p |= PROT_WRITE;
    }
    if prot.contains(Prot::EXEC) {
        p |= PROT_EXEC;
    }
    p
}

fn to_usize(v: u64) -> Result<usize> {
    usize::try_from(v).map_err(|_| Errno::ENOEXEC)
}

/// A segment placed in memory.
/// Copies the segments into anonymous memory: every page piece mapped
/// writable with the union of its segments' permissions, filled from the
/// file, then given its final permissions.
fn copy_segments<P, A, F>(
    vmar: &mut Vmar<P, A>,
    file: &F,
    placed: &[Placed],
    pieces: &[Piece],
    fixed: usize,
) -> Result<()>
where
    P: PageTable,
    A: FrameRefs + Clone + 'static,
    F: ExecFile + ?Sized,
{
    let rw_anon = MAP_PRIVATE | MAP_ANONYMOUS | fixed;
    for piece in pieces {
        vmar.mmap(piece.start, piece.end - piece.start, PROT_READ | PROT_WRITE, rw_anon, None, 0)?;
    }
    let mut chunk = alloc::vec![0u8; 4 * PAGE_SIZE];
    for p in placed {
        let mut addr = p.start;
        let mut offset = p.offset;
        while addr < p.file_end {
            let n = chunk.len().min(p.file_end - addr);
            if !read_full(file, offset, &mut chunk[..n])? {
                return Err(Errno::EIO); // the file shrank under us
            }
            vmar.write_user(addr, &chunk[..n]).map_err(|_| Errno::ENOMEM)?;
            addr += n;
            offset += n as u64;
            file.preempt_point();
        }
    }
    for piece in pieces {
        vmar.mprotect(piece.start, piece.end - piece.start, linux_prot(piece.prot))?;
    }
    Ok(())
}

/// Maps one segment from the file's pages (Linux's `elf_map`, private):
/// its file pages from `source`, the bytes past the file data in their last
/// page zeroed when the segment goes on (`padzero`, which copies that page),
/// and anonymous zero pages for the rest (`vm_brk_flags`).
fn map_segment<P, A>(
    vmar: &mut Vmar<P, A>,
    p: &Placed,
    source: &Arc<dyn PageSource>,
    path: &str,
    fixed: usize,
) -> Result<()>
where
    P: PageTable,
    A: FrameRefs + Clone + 'static,
{
    let prot = linux_prot(p.prot);
    let end = page_ceil(p.end).ok_or(Errno::ENOEXEC)?;
    let mut anon_start = page_floor(p.start);
    if p.file_end > p.start {
        let start = page_floor(p.start);
        let file_end = page_ceil(p.file_end).ok_or(Errno::ENOEXEC)?;
        let offset = p.offset - (p.start - start) as u64;
        let pad = file_end - p.file_end;
        let zero_tail = pad > 0 && p.end > p.file_end;
        let map_prot = if zero_tail { prot | PROT_READ | PROT_WRITE } else { prot };
        let file = MapFile::new(source.clone(), path);
        vmar.mmap(start, file_end - start, map_prot, MAP_PRIVATE | fixed, Some(file), offset)?;
        if zero_tail {
            vmar.write_user(p.file_end, &[0u8; PAGE_SIZE][..pad]).map_err(|_| Errno::ENOMEM)?;
            if map_prot != prot {
                vmar.mprotect(start, file_end - start, prot)?;
            }
        }
        anon_start = file_end;
    }
    if end > anon_start {
        let anon = MAP_PRIVATE | MAP_ANONYMOUS | fixed;
        vmar.mmap(anon_start, end - anon_start, prot, anon, None, 0)?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Placed {
    start: usize,
    file_end: usize,
    end: usize,
    offset: u64,
    prot: Prot,
}

/// What [`ElfImage::map_image`] placed.
struct Mapped {
    placed: Vec<Placed>,
    load_bias: usize,
    entry: usize,
    brk: usize,
}

/// The interpreter a dynamic image is started through (`PT_INTERP`), for
/// [`ElfImage::load_with_interp`].
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Interp<'a> {
    /// Its headers, from [`ElfImage::parse_interp`].
    pub image: &'a ElfImage,
    /// The file.
    pub file: &'a dyn ExecFile,
    /// The path its mappings are named by in `/proc/self/maps`.
    pub path: &'a [u8],
}

impl<'a> Interp<'a> {
    /// With `image`, `file`, `path`.
    pub fn new(image: &'a ElfImage, file: &'a dyn ExecFile, path: &'a [u8]) -> Self {
        Interp { image, file, path }
    }
}

impl ElfImage {
    /// Where the lowest segment's page goes (`base`) and that page's link
    /// address (`low`): addresses are `base + (vaddr - low)`. `pie` says
    /// where an `ET_DYN` goes.
    fn placement<P, A>(&self, vmar: &mut Vmar<P, A>, pie: PiePlacement) -> Result<(usize, usize)>
    where
        P: PageTable,
        A: FrameRefs + Clone + 'static,
    {
        let segments = self.segments();
        let low = page_floor(to_usize(segments.first().map_or(0, |s| s.vaddr))?);
        let high = segments.iter().map(|s| s.end()).max().unwrap_or(0);
        let high = page_ceil(to_usize(high)?).ok_or(Errno::ENOEXEC)?;
        if !self.kind().is_pie() {
            return Ok((0, 0));
        }
        match pie {
            PiePlacement::At(addr) => {
                let align = to_usize(self.max_align())?;
                Ok((page_floor(addr & !(align - 1)), low))
            }
            PiePlacement::Mmap => {
                // elf_map with a zero hint and the total size: ask mmap
                // where, then give the range back.
                let span = high - low;
                let anon = MAP_PRIVATE | MAP_ANONYMOUS;
                let start = vmar.mmap(0, span, 0, anon, None, 0)?;
                vmar.munmap(start, span)?;
                Ok((start, low))
            }
        }
    }

    /// Maps the segments of this image from `file` at `base + (vaddr -
    /// low)`, named `path`; `replace` maps over what is there (MAP_FIXED,
    /// as Linux maps an interpreter), else that is `EEXIST`.
    fn map_image<P, A, F>(
        &self,
        vmar: &mut Vmar<P, A>,
        file: &F,
        (base, low): (usize, usize),
        path: &[u8],
        replace: bool,
    ) -> Result<Mapped>
    where
        P: PageTable,
        A: FrameRefs + Clone + 'static,
        F: ExecFile + ?Sized,
    {
        let config = vmar.config();
        let place = |v: u64| -> Result<usize> {
            let v = to_usize(v)?;
            v.checked_sub(low).and_then(|d| base.checked_add(d)).ok_or(Errno::ENOEXEC)
        };
        let mut placed = Vec::new();
        placed.try_reserve_exact(self.segments().len()).map_err(|_| Errno::ENOMEM)?;
        for seg in self.segments() {
            let start = place(seg.vaddr)?;
            let end = place(seg.end())?;
            let file_end = start + to_usize(seg.filesz)?;
            if page_floor(start) < config.min_addr || page_ceil(end).is_none_or(|e| e > config.max_addr) {
                return Err(Errno::ENOEXEC);
            }
            placed.push(Placed { start, file_end, end, offset: seg.offset, prot: seg.prot });
        }
        let load_bias = base.wrapping_sub(low);
        let entry = to_usize(self.entry())?.wrapping_add(load_bias);
        if entry >= config.max_addr {
            return Err(Errno::ENOEXEC);
        }
        let brk = placed.iter().map(|p| p.end).max().and_then(page_ceil).ok_or(Errno::ENOEXEC)?;

        // Page pieces with the union of the permissions of their segments.
        let mut bounds: Vec<usize> = Vec::with_capacity(placed.len() * 2);
        for p in &placed {
            bounds.push(page_floor(p.start));
            bounds.push(page_ceil(p.end).ok_or(Errno::ENOEXEC)?);
        }
        bounds.sort_unstable();
        bounds.dedup();
        let mut pieces = Vec::new();
        for w in bounds.windows(2) {
            let (a, b) = (w[0], w[1]);
            let mut prot = None;
            for p in &placed {
                if page_floor(p.start) < b && page_ceil(p.end).is_some_and(|e| e > a) {
                    prot = Some(prot.unwrap_or(Prot::empty()) | p.prot);
                }
            }
            if let Some(prot) = prot {
                pieces.push(Piece { start: a, end: b, prot });
            }
        }

        let fixed = if replace { MAP_FIXED } else { MAP_FIXED_NOREPLACE };
        let path = alloc::string::String::from_utf8_lossy(path);
        // Every page holds one segment, at a file offset congruent to its
        // address: map the file's pages (elf_map) when the file has them.
        let direct = file.page_source().filter(|_| {
            placed.iter().all(|p| {
                (p.start as u64).wrapping_sub(p.offset).is_multiple_of(PAGE_SIZE as u64)
                    && p.offset.checked_add((p.file_end - p.start) as u64).is_some_and(|e| e <= file.size())
            }) && pieces.iter().all(|piece| {
                placed
                    .iter()
                    .filter(|p| {
                        page_floor(p.start) < piece.end && page_ceil(p.end).is_some_and(|e| e > piece.start)
                    })
                    .count()
                    == 1
            })
        });
        if let Some(source) = &direct {
            for p in &placed {
                map_segment(vmar, p, source, &path, fixed)?;
            }
        } else {
            copy_segments(vmar, file, &placed, &pieces, fixed)?;
            for p in placed.iter().filter(|p| p.file_end > p.start) {
                let start = page_floor(p.start);
                let end = page_ceil(p.file_end).ok_or(Errno::ENOEXEC)?;
                vmar.set_name(start, end - start, &path)?;
            }
        }
        Ok(Mapped { placed, load_bias, entry, brk })
    }

    /// Loads the image into `vmar` (a fresh, empty address space) and builds
    /// the initial stack; see [`load_elf`]. The arguments are checked
    /// ([`check_args`]) before anything is mapped. A dynamic image
    /// ([`ImageKind::is_dynamic`]) needs its interpreter:
    /// [`ElfImage::load_with_interp`]; here it is `ENOEXEC`.
    pub fn load<P, A, F>(
        &self,
        vmar: &mut Vmar<P, A>,
        file: &F,
        params: &ExecParams<'_>,
    ) -> Result<LoadedImage>
    where
        P: PageTable,
        A: FrameRefs + Clone + 'static,
        F: ExecFile + ?Sized,
    {
        self.load_with_interp(vmar, file, None, params)
    }

    /// Loads the image and, for a dynamic one, its interpreter, as Linux's
    /// `load_elf_binary` does: the program at its addresses (`ET_EXEC`) or
    /// at [`ELF_ET_DYN_BASE`] rounded down to its alignment (`ET_DYN`, a
    /// PIE), then the interpreter where mmap puts it (`ET_DYN`) or at its
    /// addresses (`ET_EXEC`), the stack, and the auxiliary vector with
    /// `AT_BASE` (the interpreter's bias) and `AT_ENTRY` (the program's
    /// entry); execution starts at the interpreter's entry. The break
    /// starts after the program. `ENOEXEC` for a dynamic image without an
    /// interpreter or a static one with; an interpreter that cannot be
    /// mapped (outside user space) is `ELIBBAD` (Linux kills the process
    /// with `SIGSEGV` then, after the point of no return). An `ET_EXEC`
    /// interpreter replaces what it lands on, as Linux's `MAP_FIXED`.
    pub fn load_with_interp<P, A, F>(
        &self,
        vmar: &mut Vmar<P, A>,
        file: &F,
        interp: Option<Interp<'_>>,
        params: &ExecParams<'_>,
    ) -> Result<LoadedImage>
    where
        P: PageTable,
        A: FrameRefs + Clone + 'static,
        F: ExecFile + ?Sized,
    {
        // Caller errors first.
        let layout = params.layout;
        let config = vmar.config();
        if !vm::is_page_aligned(layout.stack_top) || layout.stack_top > config.max_addr {
            return Err(Errno::EINVAL);
        }
        let strings = params.argv.iter().chain(params.envp.iter()).chain([&params.execfn]);
        if strings.chain(params.platform.iter()).any(|s| s.contains(&0)) {
            return Err(Errno::EINVAL);
        }
        // Entries the stack builder fills in must not come from the caller.
        let filled = [AT_NULL, AT_RANDOM, AT_EXECFN, AT_PLATFORM];
        if params.extra_auxv.iter().any(|(k, _)| filled.contains(k)) {
            return Err(Errno::EINVAL);
        }
        let empty: [&[u8]; 1] = [b""];
        let argv = if params.argv.is_empty() { &empty[..] } else { params.argv };
        check_args(params.stack_rlimit, params.execfn, argv, params.envp)?;
        if self.kind().is_dynamic() != interp.is_some() {
            return Err(Errno::ENOEXEC);
        }

        // The program (load_bias = ELF_ET_DYN_BASE for a PIE with an
        // interpreter; a static PIE goes where the layout says).
        let pie = if self.kind().is_dynamic() { PiePlacement::At(ELF_ET_DYN_BASE) } else { layout.pie };
        let placement = self.placement(vmar, pie)?;
        let Mapped { placed, load_bias, entry, brk } =
            self.map_image(vmar, file, placement, params.path, false)?;
        // Names as /proc/self/maps shows them: the zero pages past the
        // file's are anonymous, and those ending at the break belong to the
        // heap (Linux 6.1's bss `vm_brk` mapping ends at `start_brk`, so
        // show_map_vma calls it `[heap]`).
        for p in &placed {
            let bss = page_ceil(p.file_end).ok_or(Errno::ENOEXEC)?;
            let end = page_ceil(p.end).ok_or(Errno::ENOEXEC)?;
            if bss < end && end == brk {
                vmar.set_name(bss, end - bss, "[heap]")?;
            }
        }
        // The interpreter (load_elf_interp): where mmap puts it.
        let (start_at, interp_base) = match interp {
            None => (entry, 0),
            Some(i) => {
                let bad =
                    |e: Errno| if e == Errno::ENOEXEC || e == Errno::EEXIST { Errno::ELIBBAD } else { e };
                let at = i.image.placement(vmar, PiePlacement::Mmap).map_err(bad)?;
                // load_elf_interp maps with MAP_FIXED: an ET_EXEC
                // interpreter replaces what it lands on
                let m = i.image.map_image(vmar, i.file, at, i.path, true).map_err(bad)?;
                (m.entry, m.load_bias)
            }
        };
        vmar.set_brk_base(brk);

        // mm->start_code and friends (load_elf_binary).
        let mut start_code = usize::MAX;
        let (mut end_code, mut start_data, mut end_data) = (0, 0, 0);
        for p in &placed {
            if p.prot.contains(Prot::EXEC) {
                start_code = start_code.min(p.start);
                end_code = end_code.max(p.file_end);
            }
            start_data = start_data.max(p.start);
            end_data = end_data.max(p.file_end);
        }
        if start_code == usize::MAX {
            start_code = 0;
        }
        // brk's check_data_rlimit() counts the data segment
        vmar.set_data_segment(end_data.saturating_sub(start_data));

        let phdr = match self.phdr_vaddr() {
            Some(v) => to_usize(v)?.wrapping_add(load_bias),
            None => load_bias,
        };
        let mut auxv = Vec::with_capacity(24);
        if let Some(vdso) = params.sysinfo_ehdr {
            auxv.push((AT_SYSINFO_EHDR, vdso));
        }
        if let Some(size) = params.minsigstksz {
            auxv.push((AT_MINSIGSTKSZ, size));
        }
        let ids = params.creds;
        auxv.extend_from_slice(&[
            (AT_HWCAP, params.hwcap),
            (AT_PAGESZ, PAGE_SIZE as u64),
            (AT_CLKTCK, CLOCKS_PER_SEC),
            (AT_PHDR, phdr as u64),
            (AT_PHENT, PHDR_SIZE as u64),
            (AT_PHNUM, u64::from(self.phnum())),
            (AT_BASE, interp_base as u64),
            (AT_FLAGS, 0),
            (AT_ENTRY, entry as u64),
            (AT_UID, u64::from(ids.uid)),
            (AT_EUID, u64::from(ids.euid)),
            (AT_GID, u64::from(ids.gid)),
            (AT_EGID, u64::from(ids.egid)),
            (AT_SECURE, u64::from(params.secure)),
            (AT_RANDOM, 0),
        ]);
        if let Some(hwcap2) = params.hwcap2 {
            auxv.push((AT_HWCAP2, hwcap2));
        }
        auxv.push((AT_EXECFN, 0));
        if params.platform.is_some() {
            auxv.push((AT_PLATFORM, 0));
        }
        auxv.extend_from_slice(params.extra_auxv);

        let input = StackInput {
            execfn: params.execfn,
            argv,
            envp: params.envp,
            platform: params.platform,
            random: params.random,
            auxv,
        };
        let top = layout.stack_top;
        let plan = StackPlan::new(top, &input).ok_or(Errno::E2BIG)?;
        // The mapping covers the stack size, and at least what the
        // arguments use plus Linux's initial 128 KiB of room.
        let used = top - page_floor(plan.out.sp);
        let size = page_ceil(layout.stack_size)
            .ok_or(Errno::EINVAL)?
            .max(used.checked_add(128 << 10).ok_or(Errno::E2BIG)?);
        let bottom = top.checked_sub(size).filter(|&b| b >= config.min_addr).ok_or(Errno::ENOMEM)?;
        let mut stack_prot = PROT_READ | PROT_WRITE;
        if self.exec_stack() {
            stack_prot |= PROT_EXEC;
        }
        let stack_flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_GROWSDOWN;
        vmar.mmap(bottom, size, stack_prot, stack_flags, None, 0)?;
        vmar.set_name(bottom, size, "[stack]")?;
        // the strings in chunks, a preemption point between two
        plan.write(vmar, &input, &mut || file.preempt_point())?;

        let out = plan.out;
        Ok(LoadedImage {
            entry: start_at,
            program_entry: entry,
            interp_base,
            stack_pointer: out.sp,
            brk_base: brk,
            load_bias,
            phdr,
            phnum: usize::from(self.phnum()),
            kind: self.kind(),
            start_code,
            end_code,
            start_data,
            end_data,
            stack_top: top,
            stack_bottom: bottom,
            arg_start: out.arg_start,
            arg_end: out.arg_end,
            env_start: out.env_start,
            env_end: out.env_end,
            execfn: out.execfn,
            random: out.random,
            auxv: out.auxv,
        })
    }
}

/// Loads the executable in `file` into `vmar` and builds its initial stack:
/// [`ElfImage::parse`] then [`ElfImage::load`].
///
/// `vmar` should be a fresh address space ([`Vmar::fresh`]); on error it
/// may hold part of the image: drop it (the caller keeps the old one).
///
/// Errors: `ENOEXEC` from parsing (see [`ElfImage::parse`]), for a
/// dynamic image (its interpreter must be opened first: see
/// [`ElfImage::load_with_interp`]) and for an image that does not fit between the address space's `min_addr` and
/// `max_addr` once placed; `E2BIG` for arguments over the limits
/// ([`check_args`]); `EINVAL` for a string with a NUL inside, a bad
/// [`Layout`], or an `extra_auxv` entry the loader writes itself
/// (`AT_NULL`, `AT_RANDOM`, `AT_EXECFN`, `AT_PLATFORM`); `EEXIST` when
/// the image overlaps the stack; `ENOMEM` when memory runs out (or a
/// static PIE finds no room); `EIO` (or the file's error) when the file
/// cannot be read.
pub fn load_elf<P, A, F>(vmar: &mut Vmar<P, A>, file: &F, params: &ExecParams<'_>) -> Result<LoadedImage>
where
    P: PageTable,
    A: FrameRefs + Clone + 'static,
    F: ExecFile + ?Sized,
{
    // Argument errors come before format errors, as in Linux.
    check_args(params.stack_rlimit, params.execfn, params.argv, params.envp)?;
    ElfImage::parse_for(file, params.machine)?.load(vmar, file, params)
}

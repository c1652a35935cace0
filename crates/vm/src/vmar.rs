//! The user address space: ordered mappings over a page table.

use alloc::{
    collections::BTreeMap,
    string::String,
    sync::{Arc, Weak},
    vec::Vec,
};

use crate::limits::SpaceLimits;
use crate::maps::Maps;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use linux_abi::{Errno, Result};

use crate::abi::*;
use crate::mmu::{
    Frame, FrameRefs, NoMemory, PAGE_SHIFT, PAGE_SIZE, PageTable, PteFlags, is_page_aligned, page_ceil,
    page_floor,
};
use crate::source::{PageSource, SharedAnon};

bitflags::bitflags! {
    /// The permissions of a mapping (`PROT_READ`, `PROT_WRITE`, `PROT_EXEC`).
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
    pub struct Prot: u8 {
        /// `PROT_READ`.
        const READ = 1;
        /// `PROT_WRITE`.
        const WRITE = 2;
        /// `PROT_EXEC`.
        const EXEC = 4;
    }
}

impl Prot {
    /// The permission bits of a Linux `prot` argument (other bits dropped).
    pub const fn from_linux(prot: usize) -> Prot {
        Prot::from_bits_truncate((prot & 7) as u8)
    }

    /// Whether the mapping allows `access`, with x86's rules: any permission
    /// allows reading (the hardware cannot refuse reads of a present user
    /// page, so Linux's `vma_is_accessible` is the test).
    pub const fn allows(self, access: Access) -> bool {
        match access {
            Access::Read => !self.is_empty(),
            Access::Write => self.contains(Prot::WRITE),
            Access::Execute => self.contains(Prot::EXEC),
        }
    }
}

/// The kind of access that faulted (from the page-fault error code).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch.
    Execute,
}

/// Why a fault becomes SIGSEGV: the `si_code` of the signal.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum SegvCode {
    /// No mapping at the address (`SEGV_MAPERR`).
    MapErr,
    /// The mapping forbids the access (`SEGV_ACCERR`).
    AccErr,
}

impl SegvCode {
    /// The `si_code` value (`SEGV_MAPERR` = 1, `SEGV_ACCERR` = 2).
    pub const fn si_code(self) -> i32 {
        match self {
            SegvCode::MapErr => SEGV_MAPERR,
            SegvCode::AccErr => SEGV_ACCERR,
        }
    }
}

/// What the kernel must do after [`Vmar::handle_page_fault`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum FaultOutcome {
    /// The page is now mapped as the access needs: return to user mode and
    /// retry the instruction.
    Resolved,
    /// Send SIGSEGV with this `si_code` and `si_addr`.
    Segv {
        /// The faulting address.
        addr: usize,
        /// `SEGV_MAPERR` or `SEGV_ACCERR`.
        code: SegvCode,
    },
    /// Send SIGBUS (`BUS_ADRERR`): the page source could not supply the page
    /// (for example, wholly past the end of the file).
    Bus {
        /// The faulting address.
        addr: usize,
    },
    /// No frame could be allocated: the kernel's out-of-memory path.
    OutOfMemory,
}

/// What backs a mapping, as the mapping listing shows it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum MappingKind {
    /// `MAP_PRIVATE | MAP_ANONYMOUS`: zero pages, copied on write after fork.
    PrivateAnonymous,
    /// `MAP_SHARED | MAP_ANONYMOUS`: zero pages shared with forked children.
    SharedAnonymous,
    /// `MAP_PRIVATE` of a [`PageSource`]: its pages, copied before a write.
    PrivateSource,
    /// `MAP_SHARED` of a [`PageSource`]: writes go to the source's pages.
    SharedSource,
}

/// One line of the mapping listing (`/proc/self/maps`).
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct MappingInfo {
    /// First address.
    pub start: usize,
    /// One past the last address.
    pub end: usize,
    /// Permissions.
    pub prot: Prot,
    /// `MAP_SHARED` (shown as `s`) or private (`p`).
    pub shared: bool,
    /// What backs it.
    pub kind: MappingKind,
    /// Byte offset in the source of `start` (0 for anonymous mappings).
    pub offset: u64,
    /// The name (a path, `[heap]`, `[stack]`, or empty).
    pub name: String,
}

impl fmt::Display for MappingInfo {
    /// The `/proc/self/maps` line, with device and inode shown as zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = |p: Prot, ch: char| if self.prot.contains(p) { ch } else { '-' };
        write!(
            f,
            "{:08x}-{:08x} {}{}{}{} {:08x} 00:00 0",
            self.start,
            self.end,
            c(Prot::READ, 'r'),
            c(Prot::WRITE, 'w'),
            c(Prot::EXEC, 'x'),
            if self.shared { 's' } else { 'p' },
            self.offset,
        )?;
        if !self.name.is_empty() {
            write!(f, " {}", self.name)?;
        }
        Ok(())
    }
}

/// A file (or other object) to map: what the kernel resolves an fd to.
///
/// Built with [`MapFile::new`] (the fields may grow, so there is no struct
/// literal outside this crate):
///
/// ```
/// # use vm::testing::{TestFile, TestFrames};
/// # let source = TestFile::new(&TestFrames::new(), b"data");
/// // a file opened O_RDWR
/// let map = vm::MapFile::new(source, "/data").with_access(true, true);
/// assert!(map.readable && map.writable);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct MapFile {
    /// Where the pages come from.
    pub source: Arc<dyn PageSource>,
    /// The name in the mapping listing (usually the path).
    pub name: String,
    /// The file was opened for reading (`FMODE_READ`); mmap needs it.
    pub readable: bool,
    /// The file was opened for writing (`FMODE_WRITE`); a shared writable
    /// mapping needs it, now (mmap) and later (mprotect).
    pub writable: bool,
    /// No mapping of it may ever be writable, private ones included (a
    /// special mapping without Linux's `VM_MAYWRITE`, as the vDSO's
    /// `[vvar]`): mprotect to write is `EACCES`, a debugger's write `EFAULT`.
    pub never_writable: bool,
}

impl MapFile {
    /// `source` named `name` in the mapping listing, opened for reading
    /// only (`O_RDONLY`); [`with_access`](Self::with_access) says otherwise.
    pub fn new(source: Arc<dyn PageSource>, name: impl Into<String>) -> MapFile {
        MapFile { source, name: name.into(), readable: true, writable: false, never_writable: false }
    }

    /// The same object, never writable through any mapping (see
    /// [`MapFile::never_writable`](Self#structfield.never_writable)).
    pub fn never_writable(self) -> MapFile {
        MapFile { never_writable: true, writable: false, ..self }
    }

    /// The same file opened for reading (`FMODE_READ`) and/or writing
    /// (`FMODE_WRITE`).
    pub fn with_access(self, readable: bool, writable: bool) -> MapFile {
        MapFile { readable, writable, ..self }
    }
}

/// The layout limits of an address space: [`VmarConfig::default`] (x86_64)
/// or [`VmarConfig::new`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct VmarConfig {
    /// The lowest address a mapping may use (`vm.mmap_min_addr`).
    pub min_addr: usize,
    /// One past the highest user address (`TASK_SIZE`).
    pub max_addr: usize,
    /// Top-down placement searches downward from here (`mm->mmap_base`), and
    /// upward from here when nothing fits below.
    pub mmap_base: usize,
}

impl VmarConfig {
    /// Mappings between `min_addr` and `max_addr`, placed top-down from
    /// `mmap_base` ([`Vmar::with_config`] rounds them to pages and orders
    /// them).
    pub const fn new(min_addr: usize, max_addr: usize, mmap_base: usize) -> VmarConfig {
        VmarConfig { min_addr, max_addr, mmap_base }
    }
}

impl Default for VmarConfig {
    /// x86_64 with 4-level paging and no randomisation: user space ends at
    /// `0x7fff_ffff_f000`, mmap_base is 128 MiB below it.
    fn default() -> Self {
        VmarConfig { min_addr: MMAP_MIN_ADDR, max_addr: TASK_SIZE, mmap_base: TASK_SIZE - (128 << 20) }
    }
}

#[derive(Clone)]
pub(crate) enum Backing {
    Anonymous,
    Object { source: Arc<dyn PageSource>, offset: u64, anon: bool },
}

#[derive(Clone)]
pub(crate) struct Mapping {
    pub(crate) end: usize,
    pub(crate) prot: Prot,
    pub(crate) shared: bool,
    pub(crate) may_write: bool,
    pub(crate) growsdown: bool,
    pub(crate) backing: Backing,
    pub(crate) name: String,
}

impl Mapping {
    /// Whether its pages count as file pages for a [`MemCharge`]: it maps
    /// a file (not anonymous memory, shared or private).
    fn is_file(&self) -> bool {
        matches!(self.backing, Backing::Object { anon: false, .. })
    }

    /// Linux's `is_data_mapping()`: writable, private, not a stack.
    pub(crate) fn is_data(&self) -> bool {
        self.prot.contains(Prot::WRITE) && !self.shared && !self.growsdown
    }

    fn can_merge(&self, start: usize, right: &Mapping) -> bool {
        if self.prot != right.prot
            || self.shared != right.shared
            || self.may_write != right.may_write
            || self.growsdown != right.growsdown
            || self.name != right.name
        {
            return false;
        }
        match (&self.backing, &right.backing) {
            (Backing::Anonymous, Backing::Anonymous) => true,
            (
                Backing::Object { source: a, offset: oa, anon: aa },
                Backing::Object { source: b, offset: ob, anon: ab },
            ) => {
                core::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
                    && aa == ab
                    && oa.checked_add((self.end - start) as u64) == Some(*ob)
            }
            _ => false,
        }
    }

    fn kind(&self) -> MappingKind {
        match (&self.backing, self.shared) {
            (Backing::Anonymous, _) => MappingKind::PrivateAnonymous,
            (Backing::Object { anon: true, .. }, _) => MappingKind::SharedAnonymous,
            (Backing::Object { .. }, true) => MappingKind::SharedSource,
            (Backing::Object { .. }, false) => MappingKind::PrivateSource,
        }
    }

    fn info(&self, start: usize) -> MappingInfo {
        MappingInfo {
            start,
            end: self.end,
            prot: self.prot,
            shared: self.shared,
            kind: self.kind(),
            offset: match &self.backing {
                Backing::Object { offset, anon: false, .. } => *offset,
                _ => 0,
            },
            name: self.name.clone(),
        }
    }
}

/// Where an address space's resident pages are charged (a memory cgroup's
/// counters, [`Vmar::set_charge`]): told of every page that comes or goes
/// while the address space's lock is held, so it must take no lock of
/// its own that could wait (atomics).
pub trait MemCharge: Send + Sync {
    /// `pages` more resident pages, `file` of them of file mappings.
    fn charge(&self, pages: usize, file: usize);
    /// `pages` fewer, `file` of them of file mappings.
    fn uncharge(&self, pages: usize, file: usize);
    /// A limit the charges went over, by an id the kernel knows (a memory
    /// cgroup's number), for it to act on after the fault; `None` (the
    /// default) when within every limit.
    fn over_limit(&self) -> Option<u64> {
        None
    }
    /// [`MemCharge::over_limit`] and whether a soft limit (a memory
    /// cgroup's `memory.high`) is passed too, in one look; the default
    /// knows no soft limit.
    fn over_limits(&self) -> (Option<u64>, bool) {
        (self.over_limit(), false)
    }
}

/// A user address space: the mappings, the page table that holds their
/// present pages, and the program break.
///
/// See the crate documentation for the model. Every method that takes user
/// input returns Linux's errno and never panics.
pub struct Vmar<P: PageTable, A: FrameRefs + Clone + 'static> {
    pub(crate) pt: P,
    pub(crate) alloc: A,
    pub(crate) maps: Maps,
    config: VmarConfig,
    brk_start: usize,
    brk: usize,
    resident: usize,
    /// Of them, pages of file mappings ([`Mapping::is_file`]).
    resident_file: usize,
    /// Where new resident pages are charged ([`Vmar::set_charge`]), and
    /// the pages (all, file) charged there.
    charge: Option<Arc<dyn MemCharge>>,
    charged: (usize, usize),
    /// Charges made before the last [`Vmar::set_charge`]s (a sink or none,
    /// pages, file pages), oldest first: pages that go are uncharged from
    /// these first (Linux does not move a page's charge when its process
    /// moves; here the count, not the page, is remembered).
    charged_before: Vec<EarlierCharge>,
    /// The process this address space belongs to (Linux's `mm->owner`:
    /// the forked child or the exec'ing process that made it; a `CLONE_VM`
    /// or vfork child only shares it), 0 until the kernel says
    /// ([`Vmar::set_owner`]). Its memory cgroup is the one charged.
    owner: u64,
    /// The most pages `resident` has been, as far as known: raised when
    /// pages go (Linux's lazy `hiwater_rss`); see [`Vmar::hiwater_pages`].
    hiwater: usize,
    cow_copies: u64,
    /// This address space's own mapping limit; `None` follows the
    /// system-wide `vm.max_map_count` ([`set_system_max_map_count`]).
    max_map_count: Option<usize>,
    /// The loaded image's data segment (`end_data - start_data`), which
    /// brk counts against RLIMIT_DATA.
    data_segment: usize,
    /// Pages pinned for a long-term holder ([`Vmar::pin_page`]), by frame
    /// (and a sequence number, as a frame may be pinned more than once):
    /// [`Vmar::exclusive`] looks up one frame's pins in O(log pins). A pin
    /// whose holder is gone is stale: it counts for nothing and is dropped
    /// by the next purge.
    pins: BTreeMap<(Frame, u64), Pin>,
    /// The next pin's sequence number.
    pin_seq: u64,
    /// The number of pins at which [`Vmar::pin_page`] next drops the stale
    /// ones (twice the live count after each purge: amortized O(1)).
    pin_purge_at: usize,
    /// Pins looked at by [`Vmar::exclusive`] so far ([`Vmar::pin_looks`]).
    pin_looks: AtomicU64,
}

/// A charge made before a [`Vmar::set_charge`]: where (a sink or none),
/// pages, file pages.
type EarlierCharge = (Option<Arc<dyn MemCharge>>, usize, usize);

/// A page pinned by [`Vmar::pin_page`]: its frame holds one reference of
/// the holder's while `holder` lives.
struct Pin {
    page: usize,
    holder: Weak<()>,
}

/// The fewest pins at which [`Vmar::pin_page`] purges stale ones.
const PIN_PURGE_MIN: usize = 64;

/// An address space as one process grows it ([`Vmar::limited`]): mmap,
/// mremap and brk checked against that process's RLIMIT_AS and
/// RLIMIT_DATA, with the page counts the address space keeps.
pub struct Limited<'a, P: PageTable, A: FrameRefs + Clone + 'static> {
    vm: &'a mut Vmar<P, A>,
    limits: SpaceLimits,
}

impl<P: PageTable, A: FrameRefs + Clone + 'static> Limited<'_, P, A> {
    /// [`Vmar::mmap`], refused (`ENOMEM`) past the limits (`mmap_region`:
    /// a `MAP_FIXED` mapping counts only the pages it adds).
    pub fn mmap(
        &mut self,
        addr: usize,
        len: usize,
        prot: usize,
        flags: usize,
        file: Option<MapFile>,
        offset: u64,
    ) -> Result<usize> {
        self.vm.mmap_in(addr, len, prot, flags, file, offset, &self.limits)
    }

    /// [`Vmar::mremap`], whose growth is refused (`ENOMEM`) past the
    /// limits (`vma_to_resize`).
    pub fn mremap(
        &mut self,
        old: usize,
        old_len: usize,
        new_len: usize,
        flags: usize,
        new_addr: usize,
    ) -> Result<usize> {
        self.vm.mremap_in(old, old_len, new_len, flags, new_addr, &self.limits)
    }

    /// [`Vmar::brk`], which keeps the old break past RLIMIT_DATA
    /// (`check_data_rlimit`) or the limits (`do_brk_flags`).
    pub fn brk(&mut self, requested: usize) -> usize {
        self.vm.brk_in(requested, &self.limits)
    }

    /// [`Vmar::handle_page_fault`] with these limits for stack growth.
    pub fn handle_page_fault(&mut self, addr: usize, access: Access) -> FaultOutcome {
        let limits = self.limits;
        self.vm.handle_page_fault_with(addr, access, || limits)
    }
}

/// Linux's default `vm.max_map_count` (`DEFAULT_MAX_MAP_COUNT`: 65530): the
/// most mappings an address space may hold.
pub const DEFAULT_MAX_MAP_COUNT: usize = 65530;

/// The system-wide `vm.max_map_count`, read at every check as Linux's
/// `sysctl_max_map_count`.
static SYSTEM_MAX_MAP_COUNT: core::sync::atomic::AtomicUsize =
    core::sync::atomic::AtomicUsize::new(DEFAULT_MAX_MAP_COUNT);

/// Sets the system-wide `vm.max_map_count` (the /proc/sys knob): every
/// address space without a limit of its own follows it at its next check.
pub fn set_system_max_map_count(max: usize) {
    SYSTEM_MAX_MAP_COUNT.store(max, core::sync::atomic::Ordering::Relaxed);
}

/// The system-wide `vm.max_map_count`.
pub fn system_max_map_count() -> usize {
    SYSTEM_MAX_MAP_COUNT.load(core::sync::atomic::Ordering::Relaxed)
}

/// The pages a read fault of a file mapping maps at most (Linux's
/// `fault_around_bytes`, 64 KiB): from the aligned block of 16 around the
/// faulting page, those the page source already holds
/// ([`PageSource::cached_page`]).
pub const FAULT_AROUND_PAGES: usize = 16;

/// The default RLIMIT_STACK (8 MiB).
pub const DEFAULT_STACK_LIMIT: usize = 8 << 20;
/// Linux's `stack_guard_gap` (256 pages): the room a stack keeps below it
/// from the mapping under it.
pub const STACK_GUARD_GAP: usize = 256 << 12;

/// `/proc/PID/pagemap`'s bit of a present page ([`Vmar::pagemap`]).
pub const PM_PRESENT: u64 = 1 << 63;
/// Pagemap: the page is swapped out (never here).
pub const PM_SWAP: u64 = 1 << 62;
/// Pagemap: a file page or shared anonymous memory.
pub const PM_FILE: u64 = 1 << 61;
/// Pagemap: the page is mapped exactly once.
pub const PM_MMAP_EXCLUSIVE: u64 = 1 << 56;
/// Pagemap: soft-dirty.
pub const PM_SOFT_DIRTY: u64 = 1 << 55;
/// Pagemap: the frame number's bits (0-54).
pub const PM_PFRAME_MASK: u64 = (1 << 55) - 1;

impl<P: PageTable, A: FrameRefs + Clone + 'static> Vmar<P, A> {
    /// An empty address space over an empty page table, with the default
    /// x86_64 layout.
    pub fn new(pt: P, alloc: A) -> Self {
        Self::with_config(pt, alloc, VmarConfig::default())
    }

    /// An empty address space with an explicit layout (the limits are
    /// rounded to pages and ordered `min_addr <= mmap_base <= max_addr`).
    pub fn with_config(pt: P, alloc: A, config: VmarConfig) -> Self {
        const { assert!(P::PAGE_SIZE == PAGE_SIZE, "vm works in 4 KiB pages") };
        let max_addr = page_floor(config.max_addr);
        let min_addr = page_ceil(config.min_addr).unwrap_or(max_addr).min(max_addr);
        let mmap_base = page_floor(config.mmap_base).clamp(min_addr, max_addr);
        Vmar {
            pt,
            alloc,
            maps: Maps::new(min_addr, max_addr),
            config: VmarConfig { min_addr, max_addr, mmap_base },
            brk_start: 0,
            brk: 0,
            resident: 0,
            resident_file: 0,
            charge: None,
            charged: (0, 0),
            charged_before: Vec::new(),
            owner: 0,
            hiwater: 0,
            cow_copies: 0,
            max_map_count: None,
            data_segment: 0,
            pins: BTreeMap::new(),
            pin_seq: 0,
            pin_purge_at: PIN_PURGE_MIN,
            pin_looks: AtomicU64::new(0),
        }
    }

    /// pin_user_pages(FOLL_WRITE | FOLL_LONGTERM) of the page at `addr`
    /// (io_uring's registered buffers): faulted in for writing (a
    /// copy-on-write page is copied now) and a reference added to its
    /// frame for the caller, who gives it back with the allocator's
    /// `release` when `holder` goes. While `holder` lives the page stays
    /// this address space's own, as Linux's exclusive pinned anonymous
    /// page: its pin does not count as a sharer (a write fault reuses it)
    /// and fork gives the child a copy instead of sharing it. `EFAULT`
    /// where the page cannot be written, `ENOMEM`.
    pub fn pin_page(&mut self, addr: usize, holder: &Arc<()>) -> Result<Frame> {
        if self.pins.len() >= self.pin_purge_at {
            self.pins.retain(|_, p| p.holder.strong_count() > 0);
            self.pin_purge_at = self.pins.len().saturating_mul(2).max(PIN_PURGE_MIN);
        }
        let frame = self.access_frame(addr, Access::Write).map_err(|_| Errno::EFAULT)?;
        self.alloc.add_ref(frame);
        self.pin_seq += 1;
        self.pins
            .insert((frame, self.pin_seq), Pin { page: page_floor(addr), holder: Arc::downgrade(holder) });
        Ok(frame)
    }

    /// Whether `frame`, mapped here, has no other user than this address
    /// space and the holders of its live pins (a private page may then be
    /// written in place).
    fn exclusive(&self, frame: Frame) -> bool {
        let refs = self.alloc.ref_count(frame);
        if self.pins.is_empty() || refs == 1 {
            return refs == 1;
        }
        // O(log pins + this frame's pins)
        let mut looked = 0;
        let pinned = self
            .pins
            .range((frame, 0)..=(frame, u64::MAX))
            .inspect(|_| looked += 1)
            .filter(|(_, p)| p.holder.strong_count() > 0)
            .count();
        self.pin_looks.fetch_add(looked, Ordering::Relaxed);
        refs.saturating_sub(pinned) == 1
    }

    /// The pins looked at so far to tell whether a page shared after a
    /// fork is this address space's own (a diagnostic: one per pin of the
    /// frame in question, not one per pin of the address space).
    pub fn pin_looks(&self) -> u64 {
        self.pin_looks.load(Ordering::Relaxed)
    }

    /// The end of a fork (copy_present_page for a page that may be
    /// pinned): each live pin's page of a private mapping that the child
    /// now shares is copied for the child, and the parent's entry made
    /// writable again, so that what the holder sees stays the parent's.
    /// O(pins · log pins). `ENOMEM` when a copy cannot be made or mapped
    /// (the fork fails; the child, dropped, gives back what it holds).
    fn fork_pinned(&mut self, child: &mut Self) -> Result<()> {
        self.pins.retain(|_, p| p.holder.strong_count() > 0);
        self.pin_purge_at = self.pins.len().saturating_mul(2).max(PIN_PURGE_MIN);
        let mut flush = false;
        let mut result = Ok(());
        for (&(frame, _), pin) in &self.pins {
            let page = pin.page;
            let Some((_, m)) = self.find(page) else { continue };
            if m.shared {
                continue;
            }
            let (prot, file) = (m.prot, m.is_file());
            if self.pt.query(page).map(|(f, _)| f) != Some(frame)
                || child.pt.query(page).map(|(f, _)| f) != Some(frame)
            {
                continue;
            }
            let Ok(copy) = self.alloc.alloc_uninit() else {
                result = Err(Errno::ENOMEM);
                break;
            };
            self.alloc.copy_frame(frame, copy);
            child.pt.unmap(page);
            // the child's copy is its own (one reference)
            let flags = child.pte_flags(prot, false, copy);
            let mapped = child.pt.map(page, copy, flags).is_ok();
            if !mapped {
                self.alloc.release(copy);
                child.res_sub(1, file);
            }
            // the child's reference to the pinned frame
            self.alloc.release(frame);
            let flags = self.pte_flags(prot, false, frame);
            self.pt.protect(page, flags);
            flush = true;
            if !mapped {
                // the child would miss the page: the fork fails
                result = Err(Errno::ENOMEM);
                break;
            }
        }
        if flush {
            self.pt.flush();
        }
        result
    }

    /// This address space as process `limits`' owner grows it: mmap,
    /// mremap and brk refused past its RLIMIT_AS and RLIMIT_DATA (the
    /// limits are the caller's, not the address space's, which `CLONE_VM`
    /// processes share). [`Vmar::mmap`], [`Vmar::mremap`] and [`Vmar::brk`]
    /// check no limit (the kernel's own mappings).
    pub fn limited(&mut self, limits: SpaceLimits) -> Limited<'_, P, A> {
        Limited { vm: self, limits }
    }

    /// Sets the size of the loaded image's data segment (exec:
    /// `end_data - start_data`), which brk adds to the heap for
    /// RLIMIT_DATA.
    pub fn set_data_segment(&mut self, len: usize) {
        self.data_segment = len;
    }

    /// The pages mapped (`total_vm`) and those of them in private writable
    /// mappings that are not stacks (`data_vm`): counters kept at every
    /// change of the mappings, O(1).
    pub fn vm_pages(&self) -> (u64, u64) {
        let c = self.maps.counts();
        (c.total, c.data)
    }

    /// The pages mapped within `[start, end)` (`count_vma_pages_range`).
    fn pages_in(&self, start: usize, end: usize) -> u64 {
        let first = match self.maps.range(..start).next_back() {
            Some((_, m)) if m.end > start => Some((start, m.end.min(end))),
            _ => None,
        };
        let rest = self.maps.range(start..end).map(|(&s, m)| (s, m.end.min(end)));
        first.into_iter().chain(rest).map(|(a, b)| ((b - a) >> PAGE_SHIFT) as u64).sum()
    }

    /// Linux's `may_expand_vm()`: whether `npages` more pages of a mapping
    /// (a data one if `data`) stay within `lim`'s RLIMIT_AS and
    /// RLIMIT_DATA. Without a limit that applies, two compares; the check
    /// against the counters is out of line.
    #[inline]
    fn may_expand(&self, lim: &SpaceLimits, npages: u64, data: bool) -> bool {
        !lim.limits(data) || self.may_expand_counted(lim, npages, data)
    }

    #[cold]
    #[inline(never)]
    fn may_expand_counted(&self, lim: &SpaceLimits, npages: u64, data: bool) -> bool {
        let c = self.maps.counts();
        lim.may_expand(c.total, c.data, npages, data)
    }

    /// Linux's `expand_stack()` for a fault at `addr`, which no mapping
    /// holds: the first mapping above it, if it is an anonymous
    /// `MAP_GROWSDOWN` one, grows down to `addr`'s page when its new size
    /// stays within the stack limit (`acct_stack_growth`) and
    /// [`STACK_GUARD_GAP`] stays free above an accessible mapping below.
    fn expand_stack(&mut self, addr: usize, lim: &SpaceLimits) -> bool {
        let page = page_floor(addr);
        if page < self.config.min_addr || self.find(addr).is_some() {
            return false;
        }
        let Some((&start, m)) = self.maps.range(addr..).next() else { return false };
        if !m.growsdown || !matches!(m.backing, Backing::Anonymous) || (m.end - page) as u64 > lim.stack {
            return false;
        }
        // acct_stack_growth(): the new pages within RLIMIT_AS
        if !self.may_expand(lim, ((start - page) >> PAGE_SHIFT) as u64, m.is_data()) {
            return false;
        }
        if let Some((_, prev)) = self.maps.range(..start).next_back()
            && !prev.growsdown
            && !prev.prot.is_empty()
            && page - prev.end < STACK_GUARD_GAP
        {
            return false;
        }
        match self.maps.remove(&start) {
            Some(m) => {
                self.maps.insert(page, m);
                true
            }
            None => false,
        }
    }

    /// Sets the mapping limit (`vm.max_map_count`) of this address space.
    pub fn set_max_map_count(&mut self, max: usize) {
        self.max_map_count = Some(max);
    }

    /// The mapping limit in force: this space's own or the system-wide one.
    fn map_limit(&self) -> usize {
        self.max_map_count.unwrap_or_else(system_max_map_count)
    }

    /// The number of mappings (`mm->map_count`).
    pub fn map_count(&self) -> usize {
        self.maps.len()
    }

    /// `split_vma`'s check: no split once the count has reached the limit.
    fn can_split(&self) -> Result<()> {
        if self.maps.len() >= self.map_limit() { Err(Errno::ENOMEM) } else { Ok(()) }
    }

    /// Whether `addr` lies strictly inside a mapping (a split there adds one).
    fn splits(&self, addr: usize) -> bool {
        matches!(self.maps.range(..addr).next_back(), Some((_, m)) if m.end > addr)
    }

    /// [`split_at`](Self::split_at) with `split_vma`'s limit check.
    fn split_checked(&mut self, addr: usize) -> Result<()> {
        if self.splits(addr) {
            self.can_split()?;
        }
        self.split_at(addr);
        Ok(())
    }

    /// `do_mas_align_munmap`'s check: unmapping a hole strictly inside one
    /// mapping adds one, refused (`ENOMEM`) once the limit is reached.
    fn check_unmap(&self, start: usize, end: usize) -> Result<()> {
        match self.maps.range(..start).next_back() {
            Some((_, m)) if m.end > end && start < end => self.can_split(),
            _ => Ok(()),
        }
    }

    /// A new, empty address space of the same kind and layout (for exec:
    /// build the new image here, then replace the process's handle, since the
    /// old one may still be shared with a `CLONE_VM`/vfork parent). It has
    /// no owner and charges nowhere: the old one's may be the parent's
    /// (a vfork child's exec), so the kernel names the exec'ing process's
    /// ([`Vmar::set_owner`], [`Vmar::set_charge`]).
    pub fn fresh(&self) -> Result<Self> {
        let pt = self.pt.new_empty()?;
        let mut fresh = Self::with_config(pt, self.alloc.clone(), self.config);
        fresh.max_map_count = self.max_map_count;
        Ok(fresh)
    }

    /// The process this address space belongs to (Linux's `mm->owner`), 0
    /// for none named.
    pub fn owner(&self) -> u64 {
        self.owner
    }

    /// Names the process this address space belongs to: the forked child
    /// or the exec'ing process (a `CLONE_VM` child sharing it does not).
    pub fn set_owner(&mut self, pid: u64) {
        self.owner = pid;
    }

    /// The layout limits.
    pub fn config(&self) -> VmarConfig {
        self.config
    }

    /// The page table (the kernel activates it on a context switch).
    pub fn page_table(&self) -> &P {
        &self.pt
    }

    /// The frame allocator.
    pub fn allocator(&self) -> &A {
        &self.alloc
    }

    /// Pages of this address space that are present in its page table.
    pub fn resident_pages(&self) -> usize {
        self.resident
    }

    /// Of the resident pages, those of file mappings.
    pub fn resident_file_pages(&self) -> usize {
        self.resident_file
    }

    /// From now on, resident pages that come are charged to `sink` (a
    /// memory cgroup's counters; `None`: nowhere). What was charged before
    /// stays where it is (Linux v2 moves no charge with a process) and is
    /// uncharged there first as pages go. Pages resident before any sink
    /// was set (a fork's shared pages, a process from before the counting
    /// began) are never charged, as a fork charges nothing on Linux.
    pub fn set_charge(&mut self, sink: Option<Arc<dyn MemCharge>>) {
        let (pages, file) = self.charged;
        if pages != 0 {
            if self.charged_before.try_reserve(1).is_ok() {
                self.charged_before.push((self.charge.take(), pages, file));
            } else if let Some(old) = &self.charge {
                // no room to remember it: the charge moves
                old.uncharge(pages, file);
                if let Some(new) = &sink {
                    new.charge(pages, file);
                }
                self.charge = sink;
                return;
            }
        }
        self.charge = sink;
        self.charged = (0, 0);
    }

    /// The sink new pages are charged to.
    pub fn charge_sink(&self) -> Option<&Arc<dyn MemCharge>> {
        self.charge.as_ref()
    }

    /// `n` more resident pages (`file`: of a file mapping).
    fn res_add(&mut self, n: usize, file: bool) {
        let f = if file { n } else { 0 };
        self.resident += n;
        self.resident_file += f;
        self.charged.0 += n;
        self.charged.1 += f;
        if let Some(c) = &self.charge {
            c.charge(n, f);
        }
    }

    /// `n` fewer resident pages (`file`: of a file mapping): uncharged
    /// from the oldest charges first. (An unmap of pages never touched
    /// gives none: nothing to do, inline.)
    #[inline]
    fn res_sub(&mut self, n: usize, file: bool) {
        if n != 0 {
            self.res_sub_pages(n, file);
        }
    }

    fn res_sub_pages(&mut self, n: usize, file: bool) {
        self.hiwater = self.hiwater.max(self.resident);
        let n = n.min(self.resident);
        let mut f = if file { n.min(self.resident_file) } else { 0 };
        self.resident -= n;
        self.resident_file -= f;
        let mut n = n;
        while n != 0 && !self.charged_before.is_empty() {
            let e = &mut self.charged_before[0];
            let take = n.min(e.1);
            // (file pages no more than the entry has, and no fewer than it
            // must give for its file count to stay within its pages)
            let mut tf = f.min(e.2).min(take);
            let must = take.saturating_sub(e.1 - e.2);
            if tf < must {
                tf = must;
            }
            if let Some(c) = &e.0 {
                c.uncharge(take, tf);
            }
            e.1 -= take;
            e.2 -= tf;
            n -= take;
            f = f.saturating_sub(tf);
            if e.1 == 0 {
                self.charged_before.remove(0);
            }
        }
        if n != 0 {
            let take = n.min(self.charged.0);
            let mut tf = f.min(self.charged.1).min(take);
            let must = take.saturating_sub(self.charged.0 - self.charged.1);
            if tf < must {
                tf = must;
            }
            self.charged.0 -= take;
            self.charged.1 -= tf;
            if let Some(c) = &self.charge {
                c.uncharge(take, tf);
            }
        }
    }

    /// The largest number of pages this address space has had present
    /// (Linux's `get_mm_hiwater_rss()`: `ru_maxrss`, `VmHWM`); a forked
    /// child starts from its parent's.
    pub fn hiwater_pages(&self) -> usize {
        self.hiwater.max(self.resident)
    }

    /// Frames copied by copy-on-write faults (and by the first write to a
    /// private page of a page source) in this address space.
    pub fn cow_copies(&self) -> u64 {
        self.cow_copies
    }

    /// The mappings in address order, as `/proc/self/maps` lists them.
    pub fn mappings(&self) -> impl Iterator<Item = MappingInfo> + '_ {
        self.maps.iter().map(|(&start, m)| m.info(start))
    }

    /// Linux's `/proc/PID/pagemap` entries (`pagemap_read`) of the pages
    /// from `start` (page aligned) on, one `u64` per page into `out`:
    /// [`PM_PRESENT`] for a present page, with its frame number in bits
    /// 0-54 when `show_pfn` (Linux zeroes it without `CAP_SYS_ADMIN`),
    /// [`PM_FILE`] when the page is a file's or shared memory's (not an
    /// anonymous page or a private copy), [`PM_MMAP_EXCLUSIVE`] when it is
    /// mapped once (a reference count of 1, or 2 with the source's own),
    /// and [`PM_SOFT_DIRTY`] for every address inside a mapping (every
    /// mapping is soft-dirty here: nothing clears it, as Linux's
    /// `VM_SOFTDIRTY` of a new mapping until `clear_refs`); 0 outside the
    /// mappings. No swap: [`PM_SWAP`] is never set. Costs time in
    /// proportion to `out.len()` and the mappings it crosses.
    pub fn pagemap(&self, start: usize, out: &mut [u64], show_pfn: bool) {
        out.fill(0);
        let end = start.saturating_add(out.len().saturating_mul(PAGE_SIZE));
        let first = self.maps.range(..start).next_back().map_or(start, |(&s, _)| s);
        for (&s, m) in self.maps.range(first..end) {
            let lo = s.max(start);
            let hi = m.end.min(end);
            if lo >= hi {
                continue;
            }
            for e in &mut out[(lo - start) / PAGE_SIZE..(hi - start) / PAGE_SIZE] {
                *e = PM_SOFT_DIRTY;
            }
            let mut va = lo;
            while let Some((at, frame, flags)) = self.pt.next_present(va, hi) {
                va = at + PAGE_SIZE;
                let mut e = PM_SOFT_DIRTY | PM_PRESENT;
                if show_pfn {
                    e |= frame.number() & PM_PFRAME_MASK;
                }
                let refs = self.alloc.ref_count(frame);
                // whose page: the source's (a file's, shared memory's) or
                // an anonymous one (a private copy, anonymous memory)
                let source_page = match &m.backing {
                    Backing::Anonymous => false,
                    Backing::Object { .. } if m.shared => true,
                    Backing::Object { .. } if flags.contains(PteFlags::WRITABLE) => false,
                    Backing::Object { source, offset, .. } => {
                        match source.cached_page(offset.wrapping_add((at - s) as u64)) {
                            Some(f) => {
                                self.alloc.release(f);
                                f == frame
                            }
                            None => false,
                        }
                    }
                };
                if source_page {
                    e |= PM_FILE;
                }
                if refs == 1 + usize::from(source_page) {
                    e |= PM_MMAP_EXCLUSIVE;
                }
                if let Some(slot) = out.get_mut((at - start) / PAGE_SIZE) {
                    *slot = e;
                }
            }
        }
    }

    /// The mapping containing `addr`, if any.
    pub fn mapping_at(&self, addr: usize) -> Option<MappingInfo> {
        self.find(addr).map(|(start, m)| m.info(start))
    }

    pub(crate) fn find(&self, addr: usize) -> Option<(usize, &Mapping)> {
        let (&start, m) = self.maps.range(..=addr).next_back()?;
        (addr < m.end).then_some((start, m))
    }

    /// Whether no mapping intersects `[start, end)`.
    fn range_free(&self, start: usize, end: usize) -> bool {
        match self.maps.range(..end).next_back() {
            Some((_, m)) => m.end <= start,
            None => true,
        }
    }

    /// Splits the mapping that strictly contains `addr` in two at `addr`.
    fn split_at(&mut self, addr: usize) {
        let Some((&start, m)) = self.maps.range(..addr).next_back() else { return };
        if m.end <= addr {
            return;
        }
        let mut right = m.clone();
        if let Backing::Object { offset, .. } = &mut right.backing {
            *offset = offset.wrapping_add((addr - start) as u64);
        }
        if let Some(mut left) = self.maps.get_mut(&start) {
            left.end = addr;
        }
        self.maps.insert(addr, right);
    }

    /// Merges the mapping ending at `addr` with the one starting there, if
    /// they are alike.
    fn try_merge(&mut self, addr: usize) {
        let Some(right) = self.maps.get(&addr) else { return };
        let Some((&lstart, left)) = self.maps.range(..addr).next_back() else { return };
        if left.end != addr || !left.can_merge(lstart, right) {
            return;
        }
        if let Some(right) = self.maps.remove(&addr)
            && let Some(mut left) = self.maps.get_mut(&lstart)
        {
            left.end = right.end;
        }
    }

    fn insert_mapping(&mut self, start: usize, mapping: Mapping) {
        let end = mapping.end;
        self.maps.insert(start, mapping);
        self.try_merge(end);
        self.try_merge(start);
    }

    /// Unmaps every present page in `[start, end)` and releases its frame.
    fn unmap_pages(&mut self, start: usize, end: usize, file: bool) {
        let alloc = &self.alloc;
        let mut gone = 0;
        self.pt.unmap_range(start, end, &mut |frame| {
            gone += 1;
            alloc.release(frame);
        });
        self.res_sub(gone, file);
    }

    /// The page source of the mapping holding `addr` (not for anonymous
    /// memory) and the byte offset in it of the mapping's start: how a
    /// kernel recognises its own objects in an address space (shmdt).
    pub fn source_at(&self, addr: usize) -> Option<(Arc<dyn PageSource>, u64)> {
        match &self.find(addr)?.1.backing {
            Backing::Object { source, offset, anon: false } => Some((Arc::clone(source), *offset)),
            _ => None,
        }
    }

    /// Whether some shared mapping of `source` may write (its file was
    /// open for writing: Linux's `VM_SHARED | VM_MAYWRITE`, counted by
    /// `mapping_writably_mapped` for the write seal).
    pub fn maps_source_writably(&self, source: &dyn PageSource) -> bool {
        self.maps.values().any(|m| {
            matches!(&m.backing, Backing::Object { source: s, anon: false, .. }
                if core::ptr::addr_eq(Arc::as_ptr(s), source as *const dyn PageSource))
                && m.shared
                && m.may_write
        })
    }

    /// Unmaps the present pages of every mapping of `source` that show its
    /// pages `first..end` (page indexes in the source; `end == None`: to
    /// the end), in shared mappings and, with `cows`, in private ones too
    /// (where a copy made on write goes as well). The mappings stay; the
    /// next access faults the page in again from the source, or is
    /// `SIGBUS` when the source no longer has it. This is how a kernel
    /// follows a truncate or a punched hole (Linux's
    /// `unmap_mapping_range`); it costs a walk of this space's mappings.
    pub fn unmap_source_pages(&mut self, source: &dyn PageSource, first: u64, end: Option<u64>, cows: bool) {
        // a fork in steps copies again (its child may hold pages of the range)
        let g = self.maps.generation();
        self.maps.follow(g);
        let ps = PAGE_SIZE as u64;
        let lo_off = first.saturating_mul(ps);
        let hi_off = end.map_or(u64::MAX, |e| e.saturating_mul(ps));
        let mut cursor = 0;
        loop {
            // the next mapping of `source` at or after `cursor` with pages in range
            let next = self.maps.range(cursor..).find_map(|(&start, m)| {
                let Backing::Object { source: s, offset, anon: false } = &m.backing else {
                    return None;
                };
                if !core::ptr::addr_eq(Arc::as_ptr(s), source as *const dyn PageSource) || !(m.shared || cows)
                {
                    return None;
                }
                // the source bytes [offset, offset + len) are at [start, m.end)
                let from = lo_off.max(*offset);
                let to = hi_off.min(offset.saturating_add((m.end - start) as u64));
                (from < to).then(|| (start + (from - offset) as usize, start + (to - offset) as usize, m.end))
            });
            let Some((a, b, end)) = next else { break };
            self.unmap_pages(a, b, true);
            cursor = end;
        }
    }

    /// Removes every mapping (and page) in `[start, end)`.
    fn unmap_range(&mut self, start: usize, end: usize) {
        self.split_at(start);
        self.split_at(end);
        while let Some((&s, _)) = self.maps.range(start..end).next() {
            if let Some(m) = self.maps.remove(&s) {
                self.unmap_pages(s, m.end, m.is_file());
            }
        }
    }

    /// The page-table flags for a page of a mapping held in `frame`.
    fn pte_flags(&self, prot: Prot, shared: bool, frame: Frame) -> PteFlags {
        if prot.is_empty() {
            return PteFlags::empty();
        }
        let mut flags = PteFlags::USER;
        if prot.intersects(Prot::READ | Prot::WRITE) {
            flags |= PteFlags::READ;
        }
        if prot.contains(Prot::EXEC) {
            flags |= PteFlags::EXECUTABLE;
        }
        if prot.contains(Prot::WRITE) && (shared || self.exclusive(frame)) {
            flags |= PteFlags::WRITABLE;
        }
        flags
    }

    // ----- mmap, munmap, mprotect, brk -----

    /// mmap(2). `addr`, `len`, `prot`, `flags` and `offset` are the system
    /// call's arguments; `file` is what the fd resolves to (ignored with
    /// `MAP_ANONYMOUS`; `None` without it gives `EBADF`). Returns the address.
    ///
    /// Nothing is allocated (demand paging) unless `MAP_POPULATE` or
    /// `MAP_LOCKED` asks for it. Errors, in Linux's order: `EINVAL` for an
    /// unaligned offset, zero length, an unaligned `MAP_FIXED` address, or a
    /// mapping type other than `MAP_SHARED`/`MAP_PRIVATE` (and
    /// `MAP_SHARED_VALIDATE` for files); `ENOMEM` when the length overflows or
    /// no room is left; `EPERM` for `MAP_FIXED` below `min_addr`; `EEXIST` for
    /// `MAP_FIXED_NOREPLACE` over a mapping; `EOPNOTSUPP` for unknown flags
    /// with `MAP_SHARED_VALIDATE`; `EACCES` for a file opened without read,
    /// or without write for a shared writable mapping; `EOVERFLOW` when the
    /// file offset overflows.
    pub fn mmap(
        &mut self,
        addr: usize,
        len: usize,
        prot: usize,
        flags: usize,
        file: Option<MapFile>,
        offset: u64,
    ) -> Result<usize> {
        self.mmap_in(addr, len, prot, flags, file, offset, &SpaceLimits::default())
    }

    #[allow(clippy::too_many_arguments)]
    fn mmap_in(
        &mut self,
        addr: usize,
        len: usize,
        prot: usize,
        flags: usize,
        file: Option<MapFile>,
        offset: u64,
        lim: &SpaceLimits,
    ) -> Result<usize> {
        // arch/x86/kernel/sys_x86_64.c: the offset must be page aligned.
        if offset & (PAGE_SIZE as u64 - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let anonymous = flags & MAP_ANONYMOUS != 0;
        // ksys_mmap_pgoff: the fd must name a file.
        let file = if anonymous {
            None
        } else {
            let file = file.ok_or(Errno::EBADF)?;
            if flags & MAP_HUGETLB != 0 {
                return Err(Errno::EINVAL);
            }
            Some(file)
        };
        // do_mmap.
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
        let hint = if fixed { addr } else { self.round_hint_to_min(addr) };
        let len = page_ceil(len).ok_or(Errno::ENOMEM)?;
        let pgoff = offset >> PAGE_SHIFT;
        if pgoff.checked_add((len >> PAGE_SHIFT) as u64).is_none() {
            return Err(Errno::EOVERFLOW);
        }
        // do_mmap: "Too many mappings?"
        if self.maps.len() > self.map_limit() {
            return Err(Errno::ENOMEM);
        }
        let start = self.get_unmapped_area(hint, len, fixed)?;
        let end = start + len;
        if flags & MAP_FIXED_NOREPLACE != 0 && !self.range_free(start, end) {
            return Err(Errno::EEXIST);
        }
        let prot_bits = Prot::from_linux(prot);
        let growsdown = flags & MAP_GROWSDOWN != 0;
        let (shared, may_write, backing, name) = match file {
            Some(file) => {
                let shared = match flags & MAP_TYPE {
                    t @ (MAP_SHARED | MAP_SHARED_VALIDATE) => {
                        let checked = if t == MAP_SHARED { flags & LEGACY_MAP_MASK } else { flags };
                        if checked & !LEGACY_MAP_MASK != 0 {
                            return Err(Errno::EOPNOTSUPP);
                        }
                        if prot_bits.contains(Prot::WRITE) && !file.writable {
                            return Err(Errno::EACCES);
                        }
                        true
                    }
                    MAP_PRIVATE => false,
                    _ => return Err(Errno::EINVAL),
                };
                if !file.readable {
                    return Err(Errno::EACCES);
                }
                if growsdown {
                    return Err(Errno::EINVAL);
                }
                if prot_bits.contains(Prot::WRITE) && file.never_writable {
                    return Err(Errno::EACCES);
                }
                let may_write = (!shared || file.writable) && !file.never_writable;
                let backing = Backing::Object { source: file.source, offset, anon: false };
                (shared, may_write, backing, file.name)
            }
            None => {
                let shared = match flags & MAP_TYPE {
                    MAP_SHARED if growsdown => return Err(Errno::EINVAL),
                    MAP_SHARED => true,
                    MAP_PRIVATE => false,
                    _ => return Err(Errno::EINVAL),
                };
                if flags & MAP_HUGETLB != 0 {
                    // No huge pages are configured (as with nr_hugepages = 0).
                    return Err(Errno::ENOMEM);
                }
                let backing = if shared {
                    let object: Arc<dyn PageSource> = Arc::new(SharedAnon::new(self.alloc.clone()));
                    Backing::Object { source: object, offset: 0, anon: true }
                } else {
                    Backing::Anonymous
                };
                (shared, true, backing, String::new())
            }
        };
        let mapping = Mapping { end, prot: prot_bits, shared, may_write, growsdown, backing, name };
        // mmap_region(): RLIMIT_AS and RLIMIT_DATA, counting what a
        // MAP_FIXED mapping replaces
        let npages = (len >> PAGE_SHIFT) as u64;
        if !self.may_expand(lim, npages, mapping.is_data())
            && !self.may_expand(lim, npages - self.pages_in(start, end), mapping.is_data())
        {
            return Err(Errno::ENOMEM);
        }
        if fixed {
            self.check_unmap(start, end)?;
            self.unmap_range(start, end);
        }
        self.insert_mapping(start, mapping);
        let populate = flags & MAP_LOCKED != 0 || flags & (MAP_POPULATE | MAP_NONBLOCK) == MAP_POPULATE;
        if populate {
            self.populate(start, end);
        }
        Ok(start)
    }

    /// Faults in every page of `[start, end)` (MAP_POPULATE); a failure ends
    /// the walk and is not reported, as in Linux.
    fn populate(&mut self, start: usize, end: usize) {
        let mut va = start;
        while va < end {
            if let Some((_, m)) = self.find(va) {
                let access =
                    if m.prot.contains(Prot::WRITE) && !m.shared { Access::Write } else { Access::Read };
                if m.prot.allows(access)
                    && self.pt.query(va).is_none()
                    && self.handle_page_fault(va, access) != FaultOutcome::Resolved
                {
                    // Out of memory (or a source error): stop, as
                    // populate_vma_page_range does; the mapping stays.
                    return;
                }
            }
            va += PAGE_SIZE;
        }
    }

    fn round_hint_to_min(&self, hint: usize) -> usize {
        let hint = page_floor(hint);
        if hint != 0 && hint < self.config.min_addr { self.config.min_addr } else { hint }
    }

    /// `get_unmapped_area` for a page-aligned, nonzero `len`.
    fn get_unmapped_area(&self, hint: usize, len: usize, fixed: bool) -> Result<usize> {
        let VmarConfig { min_addr, max_addr, mmap_base } = self.config;
        if len > max_addr - min_addr {
            return Err(Errno::ENOMEM);
        }
        if fixed {
            if hint > max_addr - len {
                return Err(Errno::ENOMEM);
            }
            if !is_page_aligned(hint) {
                return Err(Errno::EINVAL);
            }
            if hint < min_addr {
                return Err(Errno::EPERM);
            }
            return Ok(hint);
        }
        if hint != 0 && hint <= max_addr - len && hint >= min_addr && self.range_free(hint, hint + len) {
            return Ok(hint);
        }
        // Top down from mmap_base, then bottom up from it (the index of
        // free space once there are many mappings: O(log n), not a walk).
        self.maps
            .highest(mmap_base, min_addr, len)
            .or_else(|| self.maps.lowest(mmap_base, max_addr, len))
            .ok_or(Errno::ENOMEM)
    }

    /// munmap(2): removes the mappings in `[addr, addr + len)`, splitting
    /// those that straddle its ends. Unmapping a range with no mapping is
    /// not an error. `EINVAL` for an unaligned `addr`, zero `len`, or a range
    /// beyond the user limit.
    pub fn munmap(&mut self, addr: usize, len: usize) -> Result<()> {
        let max = self.config.max_addr;
        if !is_page_aligned(addr) || addr > max || len > max - addr {
            return Err(Errno::EINVAL);
        }
        let len = page_ceil(len).ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        self.check_unmap(addr, addr + len)?;
        self.unmap_range(addr, addr + len);
        Ok(())
    }

    /// A munmap(2) in steps, from the top: checks `[addr, addr + len)`
    /// as [`munmap`](Self::munmap) does, then unmaps only its highest
    /// `max_bytes` that hold mappings, and returns the length still to
    /// unmap from `addr` (0: done). Calling it again with that length
    /// until 0, with the lock released between calls (a preemption point),
    /// ends as one munmap would: the same mappings go, and no call needs
    /// a mapping split that the whole munmap would not (the steps go down
    /// from the top, so after the first only whole tails are cut).
    pub fn munmap_step(&mut self, addr: usize, len: usize, max_bytes: usize) -> Result<usize> {
        let max = self.config.max_addr;
        if !is_page_aligned(addr) || addr > max || len > max - addr {
            return Err(Errno::EINVAL);
        }
        let len = page_ceil(len).ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = addr + len;
        self.check_unmap(addr, end)?;
        // the highest mapped address below `end`
        let Some(top) = self.maps.range(..end).next_back().map(|(_, m)| m.end.min(end)) else { return Ok(0) };
        if top <= addr {
            return Ok(0);
        }
        let lo = top.saturating_sub(page_floor(max_bytes.max(PAGE_SIZE))).max(addr);
        self.unmap_range(lo, top);
        Ok(lo - addr)
    }

    /// mremap(2): shrinks, grows in place, or moves `[old, old + old_len)`
    /// to a mapping of `new_len` bytes; returns its address. A move takes
    /// the page-table entries along (frames are not copied, so a shared
    /// mapping stays shared and COW state is kept).
    ///
    /// Errors as Linux: `EINVAL` for an unaligned `old` or `new_addr`,
    /// unknown flags, `MREMAP_FIXED` without `MREMAP_MAYMOVE`, a zero
    /// `new_len`, a fixed new range past the user limit, overlapping old
    /// and new ranges, or `MREMAP_DONTUNMAP`
    /// (not supported here); `EFAULT` when the old range is not inside one
    /// mapping; `ENOMEM` when it cannot grow in place without
    /// `MREMAP_MAYMOVE`, or no room is left.
    pub fn mremap(
        &mut self,
        old: usize,
        old_len: usize,
        new_len: usize,
        flags: usize,
        new_addr: usize,
    ) -> Result<usize> {
        self.mremap_in(old, old_len, new_len, flags, new_addr, &SpaceLimits::default())
    }

    fn mremap_in(
        &mut self,
        old: usize,
        old_len: usize,
        new_len: usize,
        flags: usize,
        new_addr: usize,
        lim: &SpaceLimits,
    ) -> Result<usize> {
        if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
            || flags & MREMAP_DONTUNMAP != 0
            || (flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0)
            || !is_page_aligned(old)
        {
            return Err(Errno::EINVAL);
        }
        let old_len = page_ceil(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_ceil(new_len).ok_or(Errno::EINVAL)?;
        if new_len == 0 || old_len == 0 {
            return Err(Errno::EINVAL);
        }
        let old_end = old.checked_add(old_len).ok_or(Errno::EFAULT)?;
        let (start, m) = self.find(old).ok_or(Errno::EFAULT)?;
        let (map_end, map_start, data) = (m.end, start, m.is_data());
        if old_end > map_end {
            return Err(Errno::EFAULT);
        }
        if flags & MREMAP_FIXED != 0 {
            if !is_page_aligned(new_addr) {
                return Err(Errno::EINVAL);
            }
            // mremap_to(): the new range must lie below TASK_SIZE
            if new_len > self.config.max_addr || new_addr > self.config.max_addr - new_len {
                return Err(Errno::EINVAL);
            }
            let new_end = new_addr + new_len;
            if new_addr < old_end && old < new_end {
                return Err(Errno::EINVAL);
            }
            // mremap_to(): room for both ranges split in three, and move_vma's
            // four mappings below the limit.
            if self.maps.len() + 2 >= self.map_limit().saturating_sub(3) {
                return Err(Errno::ENOMEM);
            }
            self.get_unmapped_area(new_addr, new_len, true)?;
            self.unmap_range(new_addr, new_end);
            if new_len < old_len {
                self.unmap_range(old + new_len, old_end);
            }
            // vma_to_resize(), after mremap_to()'s unmaps: the growth
            // within RLIMIT_AS and RLIMIT_DATA
            if new_len > old_len && !self.may_expand(lim, ((new_len - old_len) >> PAGE_SHIFT) as u64, data) {
                return Err(Errno::ENOMEM);
            }
            self.move_range(old, old_len.min(new_len), new_addr, new_len);
            return Ok(new_addr);
        }
        if new_len <= old_len {
            if new_len < old_len {
                self.check_unmap(old + new_len, old_end)?;
                self.unmap_range(old + new_len, old_end);
            }
            return Ok(old);
        }
        let grow = new_len - old_len;
        // vma_to_resize(): the growth within RLIMIT_AS and RLIMIT_DATA
        if !self.may_expand(lim, (grow >> PAGE_SHIFT) as u64, data) {
            return Err(Errno::ENOMEM);
        }
        let max = self.config.max_addr;
        if old_end == map_end && grow <= max - old_end && self.range_free(old_end, old_end + grow) {
            if let Some(mut m) = self.maps.get_mut(&map_start) {
                m.end = old_end + grow;
            }
            self.try_merge(old_end + grow);
            return Ok(old);
        }
        if flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::ENOMEM);
        }
        // move_vma(): four mappings below the limit.
        if self.maps.len() >= self.map_limit().saturating_sub(3) {
            return Err(Errno::ENOMEM);
        }
        let to = self.get_unmapped_area(0, new_len, false)?;
        self.move_range(old, old_len, to, new_len);
        Ok(to)
    }

    /// Moves the mapping range `[old, old + len)` (inside one mapping) to
    /// `to`, entries and all, then extends it to `new_len`. `[to, to +
    /// new_len)` must be free.
    fn move_range(&mut self, old: usize, len: usize, to: usize, new_len: usize) {
        self.split_at(old);
        self.split_at(old + len);
        let Some(mut m) = self.maps.remove(&old) else { return };
        let mut va = old;
        while let Some((page, _, _)) = self.pt.next_present(va, old + len) {
            if let Some((frame, flags)) = self.pt.unmap(page) {
                // The entry moves: the frame keeps its one reference. A
                // page-table page that cannot be allocated loses the page
                // (dropped like munmap would), never a panic.
                if self.pt.map(to + (page - old), frame, flags).is_err() {
                    self.res_sub(1, m.is_file());
                    self.pt.flush();
                    self.alloc.release(frame);
                }
            }
            match page.checked_add(PAGE_SIZE) {
                Some(next) => va = next,
                None => break,
            }
        }
        self.pt.flush();
        m.end = to + new_len;
        self.insert_mapping(to, m);
    }

    /// mprotect(2): sets the permissions of `[addr, addr + len)`, splitting
    /// and merging mappings at its ends.
    ///
    /// Errors as Linux: `EINVAL` for an unaligned `addr`, unknown `prot`
    /// bits, or `PROT_GROWSDOWN`/`PROT_GROWSUP` where they do not apply;
    /// `ENOMEM` when the range wraps, starts outside a mapping, or has a hole
    /// (the mappings before the hole keep their new permissions, as on
    /// Linux); `EACCES` for `PROT_WRITE` on a shared mapping of a file
    /// opened read-only. A zero `len` succeeds and changes nothing.
    pub fn mprotect(&mut self, addr: usize, len: usize, prot: usize) -> Result<()> {
        let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
        let prot = prot & !(PROT_GROWSDOWN | PROT_GROWSUP);
        if grows == PROT_GROWSDOWN | PROT_GROWSUP {
            return Err(Errno::EINVAL);
        }
        if !is_page_aligned(addr) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let len = page_ceil(len).ok_or(Errno::ENOMEM)?;
        let mut start = addr;
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
            return Err(Errno::EINVAL);
        }
        let new_prot = Prot::from_linux(prot);
        // The first mapping that ends above `start`.
        let first = match self.find(start) {
            Some((s, m)) => Some((s, m.end, m.growsdown)),
            None => self.maps.range(start..).next().map(|(&s, m)| (s, m.end, m.growsdown)),
        };
        let Some((first_start, _, first_growsdown)) = first else { return Err(Errno::ENOMEM) };
        if first_start >= end {
            return Err(Errno::ENOMEM);
        }
        if grows & PROT_GROWSDOWN != 0 {
            if !first_growsdown {
                return Err(Errno::EINVAL);
            }
            start = first_start;
        } else {
            if first_start > start {
                return Err(Errno::ENOMEM);
            }
            if grows & PROT_GROWSUP != 0 {
                // x86 has no grow-up mappings.
                return Err(Errno::EINVAL);
            }
        }
        self.split_checked(start)?;
        let mut result = Ok(());
        let mut nstart = start;
        loop {
            let Some(m) = self.maps.get(&nstart) else {
                result = Err(Errno::ENOMEM);
                break;
            };
            if new_prot.contains(Prot::WRITE) && !m.may_write {
                result = Err(Errno::EACCES);
                break;
            }
            let tmp = m.end.min(end);
            // As mprotect_fixup, a failed split returns at once: the split
            // already made at `start` stays (no merge pass), so the count
            // sits at the limit.
            self.split_checked(tmp)?;
            self.protect_mapping(nstart, new_prot);
            nstart = tmp;
            if nstart >= end {
                break;
            }
        }
        // Merge what became alike, from just before `start` to `nstart`.
        let bounds: alloc::vec::Vec<usize> = self.maps.range(start..=nstart).map(|(&s, _)| s).collect();
        for b in bounds.into_iter().rev() {
            self.try_merge(b);
        }
        result
    }

    /// Sets the permissions of the mapping starting at `start` and updates
    /// its present pages.
    fn protect_mapping(&mut self, start: usize, prot: Prot) {
        let Some(mut m) = self.maps.get_mut(&start) else { return };
        let old = m.prot;
        m.prot = prot;
        let (end, shared) = (m.end, m.shared);
        drop(m);
        if old == prot {
            return;
        }
        let mut reduced = false;
        let mut change = |this: &mut Self, page: usize, frame: Frame, flags: PteFlags| {
            let new = this.pte_flags(prot, shared, frame);
            if new != flags {
                reduced |= !new.contains(flags);
                this.pt.protect(page, new);
            }
        };
        // One listing of the present pages (linear on any table); page by
        // page if the list cannot be allocated.
        if let Ok(pages) = crate::mmu::present_pages(&self.pt, start, end) {
            for (page, frame, flags) in pages {
                change(self, page, frame, flags);
            }
        } else {
            let mut va = start;
            while let Some((page, frame, flags)) = self.pt.next_present(va, end) {
                change(self, page, frame, flags);
                match page.checked_add(PAGE_SIZE) {
                    Some(next) => va = next,
                    None => break,
                }
            }
        }
        if reduced {
            self.pt.flush_range(start, end);
        }
    }

    /// Names the mappings in `[addr, addr + len)` (splitting at the ends),
    /// as the listing shows them (`[stack]`, `[anon:name]`, ...). `EINVAL`
    /// for an unaligned `addr`, `ENOMEM` if the range has a hole.
    pub fn set_name(&mut self, addr: usize, len: usize, name: &str) -> Result<()> {
        if !is_page_aligned(addr) {
            return Err(Errno::EINVAL);
        }
        let len = page_ceil(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        let mut va = addr;
        while va < end {
            let (_, m) = self.find(va).ok_or(Errno::ENOMEM)?;
            va = m.end;
        }
        self.split_checked(addr)?;
        self.split_checked(end)?;
        let starts: alloc::vec::Vec<usize> = self.maps.range(addr..end).map(|(&s, _)| s).collect();
        for s in &starts {
            if let Some(mut m) = self.maps.get_mut(s) {
                m.name = String::from(name);
            }
        }
        for s in starts.iter().rev() {
            self.try_merge(*s);
        }
        self.try_merge(end);
        Ok(())
    }

    /// Sets the start of the heap (the page-aligned end of the loaded
    /// image, as exec computes it) and the current break to it.
    pub fn set_brk_base(&mut self, addr: usize) {
        let base = page_ceil(addr).unwrap_or(self.config.max_addr).min(self.config.max_addr);
        self.brk_start = base;
        self.brk = base;
    }

    /// The start of the heap.
    pub fn brk_start(&self) -> usize {
        self.brk_start
    }

    /// The current program break.
    pub fn current_brk(&self) -> usize {
        self.brk
    }

    /// prctl(PR_SET_MM)'s `start_brk` and `brk`: sets the heap's start and
    /// the break as given, mapping and unmapping nothing (the next brk(2)
    /// grows or shrinks from there, as on Linux).
    pub fn set_brk_range(&mut self, start: usize, brk: usize) {
        self.brk_start = start;
        self.brk = brk;
    }

    /// The end of the highest mapping (Linux's `find_vma(mm, addr)` finds
    /// one for every `addr` below it), `None` when nothing is mapped.
    pub fn highest_end(&self) -> Option<usize> {
        self.maps.iter().next_back().map(|(_, m)| m.end)
    }

    /// brk(2) with Linux's rules: returns the new break on success and the
    /// old break on any failure (`brk(0)` queries). The heap is a private
    /// anonymous read-write mapping named `[heap]` from `brk_start` up to the
    /// page-rounded break. Growing fails if the new end, plus one guard page,
    /// would reach another mapping or the user limit; shrinking unmaps (and
    /// frees) the pages above the new break; a break below `brk_start` fails.
    pub fn brk(&mut self, requested: usize) -> usize {
        self.brk_in(requested, &SpaceLimits::default())
    }

    fn brk_in(&mut self, requested: usize, lim: &SpaceLimits) -> usize {
        let orig = self.brk;
        if self.brk_start == 0 || requested < self.brk_start {
            return orig;
        }
        // check_data_rlimit(): the heap asked for and the data segment
        if !lim.brk_fits((requested - self.brk_start) as u64, self.data_segment as u64) {
            return orig;
        }
        let (Some(newbrk), Some(oldbrk)) = (page_ceil(requested), page_ceil(self.brk)) else {
            return orig;
        };
        if newbrk == oldbrk {
            self.brk = requested;
            return requested;
        }
        if requested <= self.brk {
            // Always allow shrinking, if the heap is still there.
            if self.range_free(newbrk, oldbrk) {
                return orig;
            }
            self.unmap_range(newbrk, oldbrk);
            self.brk = requested;
            return requested;
        }
        if newbrk > self.config.max_addr {
            return orig;
        }
        if !self.range_free(oldbrk, newbrk.saturating_add(PAGE_SIZE)) {
            return orig;
        }
        // do_brk_flags: RLIMIT_AS and RLIMIT_DATA, "Too many mappings?"
        if !self.may_expand(lim, ((newbrk - oldbrk) >> PAGE_SHIFT) as u64, true)
            || self.maps.len() > self.map_limit()
        {
            return orig;
        }
        let heap = Mapping {
            end: newbrk,
            prot: Prot::READ | Prot::WRITE,
            shared: false,
            may_write: true,
            growsdown: false,
            backing: Backing::Anonymous,
            name: String::from("[heap]"),
        };
        self.insert_mapping(oldbrk, heap);
        self.brk = requested;
        requested
    }

    // ----- faults -----

    /// Resolves a page fault at `addr` for `access` (the kernel's #PF
    /// handler calls this for user-mode faults and for faults in its own
    /// user-memory copies).
    ///
    /// A page that is not present is allocated zero-filled (anonymous) or
    /// asked of the page source; a write to a present read-only page of a
    /// private writable mapping copies the frame if its reference count is
    /// above 1 and otherwise just makes it writable; a fault the page table
    /// already satisfies (a stale TLB entry) is `Resolved` at once.
    pub fn handle_page_fault(&mut self, addr: usize, access: Access) -> FaultOutcome {
        self.handle_page_fault_with(addr, access, SpaceLimits::default)
    }

    /// [`handle_page_fault`](Self::handle_page_fault) for a process whose
    /// limits `limits` gives (asked only when a `MAP_GROWSDOWN` stack may
    /// have to grow: RLIMIT_STACK and RLIMIT_AS, `acct_stack_growth`).
    pub fn handle_page_fault_with(
        &mut self,
        addr: usize,
        access: Access,
        limits: impl FnOnce() -> SpaceLimits,
    ) -> FaultOutcome {
        let page = page_floor(addr);
        if self.find(addr).is_none() && !self.expand_stack(addr, &limits()) {
            return FaultOutcome::Segv { addr, code: SegvCode::MapErr };
        }
        let Some((start, m)) = self.find(addr) else {
            return FaultOutcome::Segv { addr, code: SegvCode::MapErr };
        };
        if !m.prot.allows(access) {
            return FaultOutcome::Segv { addr, code: SegvCode::AccErr };
        }
        let (prot, shared, file) = (m.prot, m.shared, m.is_file());
        match self.pt.query(page) {
            None => self.fault_in(start, page, addr, access),
            Some((frame, flags)) => {
                if access == Access::Write && !flags.contains(PteFlags::WRITABLE) {
                    return self.make_writable(page, frame, prot, shared, file);
                }
                let wanted = self.pte_flags(prot, shared, frame);
                if !flags.contains(wanted) {
                    self.pt.protect(page, flags | wanted);
                }
                FaultOutcome::Resolved
            }
        }
    }

    fn fault_in(&mut self, start: usize, page: usize, addr: usize, access: Access) -> FaultOutcome {
        let Some(m) = self.maps.get(&start) else {
            return FaultOutcome::Segv { addr, code: SegvCode::MapErr };
        };
        let (prot, shared, file) = (m.prot, m.shared, m.is_file());
        let frame = match &m.backing {
            Backing::Anonymous => match self.alloc.alloc_zeroed() {
                Ok(frame) => frame,
                Err(NoMemory) => return FaultOutcome::OutOfMemory,
            },
            Backing::Object { source, offset, .. } => {
                let off = offset.wrapping_add((page - start) as u64);
                let frame = match source.page(off) {
                    Ok(frame) => frame,
                    Err(Errno::ENOMEM) => return FaultOutcome::OutOfMemory,
                    Err(_) => return FaultOutcome::Bus { addr },
                };
                if !shared && access == Access::Write && self.alloc.ref_count(frame) > 1 {
                    // do_cow_fault: the first write to a private page of an
                    // object copies it at once.
                    let copy = match self.alloc.alloc_zeroed() {
                        Ok(copy) => copy,
                        Err(NoMemory) => {
                            self.alloc.release(frame);
                            return FaultOutcome::OutOfMemory;
                        }
                    };
                    self.alloc.copy_frame(frame, copy);
                    self.alloc.release(frame);
                    self.cow_copies += 1;
                    copy
                } else {
                    frame
                }
            }
        };
        let flags = self.pte_flags(prot, shared, frame);
        if self.pt.map(page, frame, flags).is_err() {
            self.alloc.release(frame);
            return FaultOutcome::OutOfMemory;
        }
        self.res_add(1, file);
        if access != Access::Write {
            self.fault_around(start, page);
        }
        FaultOutcome::Resolved
    }

    /// Linux's `do_fault_around` after a read (or instruction fetch) fault
    /// at `page` of the mapping at `start`, when it maps an object other
    /// than shared anonymous memory: [`FAULT_AROUND_PAGES`] pages from the
    /// start of the aligned block of that many around it (or from the
    /// mapping's start when that is higher), inside the mapping and the
    /// fault's 2 MiB page table, that are not present and that the source
    /// holds already, are mapped too, as a read fault maps them (a private
    /// page without write access, copied on the first write). Nothing is
    /// allocated but
    /// page-table pages; when one cannot be, it stops.
    fn fault_around(&mut self, start: usize, page: usize) {
        let Some(m) = self.maps.get(&start) else { return };
        let Backing::Object { source, offset, anon: false } = &m.backing else { return };
        let (source, offset, prot, shared, end) = (source.clone(), *offset, m.prot, m.shared, m.end);
        // from the aligned block's start (or the mapping's), 16 pages, not
        // past the mapping or the page table holding the fault (2 MiB)
        let lo = (page & !(FAULT_AROUND_PAGES * PAGE_SIZE - 1)).max(start);
        let table_end = (page | ((1 << 21) - 1)).saturating_add(1);
        let hi = lo.saturating_add(FAULT_AROUND_PAGES * PAGE_SIZE).min(end).min(table_end);
        let mut va = lo;
        while va < hi {
            if va != page && self.pt.query(va).is_none() {
                let Some(frame) = source.cached_page(offset.wrapping_add((va - start) as u64)) else {
                    va += PAGE_SIZE;
                    continue;
                };
                let mut flags = self.pte_flags(prot, shared, frame);
                if !shared {
                    flags.remove(PteFlags::WRITABLE);
                }
                if self.pt.map(va, frame, flags).is_err() {
                    self.alloc.release(frame);
                    return;
                }
                self.res_add(1, true);
            }
            va += PAGE_SIZE;
        }
    }

    /// `file`: the page is of a file mapping (its charge's kind).
    fn make_writable(
        &mut self,
        page: usize,
        frame: Frame,
        prot: Prot,
        shared: bool,
        file: bool,
    ) -> FaultOutcome {
        // The flags the page has once writable (`prot` allows writing).
        let writable = self.pte_flags(prot, true, frame);
        if shared || self.exclusive(frame) {
            // Shared, or the last user of a copy-on-write frame (its pins
            // apart): reuse it.
            self.pt.protect(page, writable);
            return FaultOutcome::Resolved;
        }
        let flags = writable - PteFlags::WRITABLE;
        let copy = match self.alloc.alloc_zeroed() {
            Ok(copy) => copy,
            Err(NoMemory) => return FaultOutcome::OutOfMemory,
        };
        self.alloc.copy_frame(frame, copy);
        self.pt.unmap(page);
        if self.pt.map(page, copy, writable).is_err() {
            self.alloc.release(copy);
            // Put the shared frame back; if even that fails the page is
            // simply not present any more.
            if self.pt.map(page, frame, flags).is_err() {
                self.res_sub(1, file);
                self.pt.flush();
                self.alloc.release(frame);
            }
            return FaultOutcome::OutOfMemory;
        }
        self.pt.flush_range(page, page + PAGE_SIZE);
        self.alloc.release(frame);
        self.cow_copies += 1;
        // the copy is a new page, charged where new pages go now (a fork's
        // shared page was charged nowhere here); without any sink, before
        // or now, that changes no count
        if self.charge.is_some() || !self.charged_before.is_empty() {
            self.res_sub(1, file);
            self.res_add(1, file);
        }
        FaultOutcome::Resolved
    }

    // ----- fork, exec, exit -----

    /// fork(2)'s copy of the address space: the same mappings, with every
    /// present page shared. Pages of private writable mappings lose write
    /// access in both page tables and gain a frame reference (copy on
    /// write); shared mappings stay shared and writable. Costs time in
    /// proportion to the present pages, not to the mappings' sizes.
    ///
    /// `ENOMEM` if the child's page table cannot be built; the parent is then
    /// unchanged apart from some pages having become copy-on-write.
    pub fn fork(&mut self) -> Result<Self> {
        let mut steps = self.fork_begin()?;
        self.fork_step(&mut steps, usize::MAX)?;
        Ok(steps.finish())
    }

    /// The start of a fork in steps: a child with the same mappings and
    /// no pages yet. [`fork_step`](Self::fork_step) copies the pages, a
    /// few at a time, so that the caller may release the address space's
    /// lock between steps (and let its thread be preempted: Linux's
    /// `dup_mmap` calls `cond_resched` under its sleeping mmap lock).
    pub fn fork_begin(&mut self) -> Result<ForkSteps<P, A>> {
        let mut child = Self::with_config(self.pt.new_empty()?, self.alloc.clone(), self.config);
        child.max_map_count = self.max_map_count;
        child.data_segment = self.data_segment;
        child.maps = self.maps.clone();
        child.brk_start = self.brk_start;
        child.brk = self.brk;
        child.hiwater = self.hiwater_pages();
        Ok(ForkSteps { child, generation: self.maps.generation(), next: 0, restarts: 0 })
    }

    /// One step of a fork begun by [`fork_begin`](Self::fork_begin):
    /// shares about `max_pages` more present pages with the child (whole
    /// mappings with `usize::MAX`) and says whether the copy is complete.
    ///
    /// Between two steps other threads may change the address space: a
    /// page that faulted in or was copied on write meanwhile is as if that
    /// happened before or after the fork (as on Linux, where the other
    /// threads run on through `dup_mmap`); when the mappings themselves
    /// changed (mmap, munmap, mprotect, brk, a stack that grew), the copy
    /// starts again from the current mappings, and after 4 such restarts
    /// it finishes in one step. `ENOMEM` as [`fork`](Self::fork).
    pub fn fork_step(&mut self, steps: &mut ForkSteps<P, A>, max_pages: usize) -> Result<bool> {
        if steps.generation != self.maps.generation() {
            let restarts = steps.restarts + 1;
            // the partial child (its frame references) goes now
            *steps = self.fork_begin()?;
            steps.restarts = restarts;
        }
        let max_pages = if steps.restarts > 4 { usize::MAX } else { max_pages };
        // a step's pages are copied a page-table leaf (2 MiB) at a time
        let span = if max_pages == usize::MAX { usize::MAX } else { 512 * PAGE_SIZE };
        let copied = core::cell::Cell::new(0usize);
        let mut result = Ok(true);
        {
            let alloc = &self.alloc;
            let child = &mut steps.child;
            let mut share = |frame| {
                // the parent's entry, under the caller's lock, is the
                // reference only this thread uses now
                alloc.add_ref_exclusive(frame);
                copied.set(copied.get() + 1);
            };
            'maps: for (&start, m) in self.maps.range(..) {
                if m.end <= steps.next {
                    continue;
                }
                let mut lo = start.max(steps.next);
                while lo < m.end {
                    let hi = if span == usize::MAX { m.end } else { ((lo | (span - 1)) + 1).min(m.end) };
                    let before = copied.get();
                    let r = self.pt.fork_range(&mut child.pt, lo, hi, !m.shared, &mut share);
                    // the child's new pages (charged nowhere: no sink yet)
                    child.res_add(copied.get() - before, m.is_file());
                    if r.is_err() {
                        result = Err(Errno::ENOMEM);
                        break 'maps;
                    }
                    lo = hi;
                    steps.next = hi;
                    if copied.get() >= max_pages && lo < m.end {
                        result = Ok(false);
                        break 'maps;
                    }
                }
                if copied.get() >= max_pages {
                    result = Ok(false);
                    break;
                }
            }
        }
        if result == Ok(false) && steps.next >= self.maps.range(..).next_back().map_or(0, |(_, m)| m.end) {
            result = Ok(true);
        }
        // write protection is flushed before the lock goes (other threads
        // of this process may run on other CPUs)
        if result == Ok(true)
            && !self.pins.is_empty()
            && let Err(e) = self.fork_pinned(&mut steps.child)
        {
            result = Err(e);
        }
        self.pt.flush();
        if result == Ok(true) {
            steps.child.max_map_count = self.max_map_count;
        }
        result
    }

    /// Removes every mapping and frees every page (the address space of a
    /// process that exits, or an exec when no one else shares it). The break
    /// is reset to unset.
    pub fn clear(&mut self) {
        let maps = core::mem::replace(&mut self.maps, Maps::new(self.config.min_addr, self.config.max_addr));
        self.maps.follow(maps.generation());
        for (start, m) in &maps {
            self.unmap_pages(*start, m.end, m.is_file());
        }
        drop(maps);
        self.brk_start = 0;
        self.brk = 0;
        self.pins = BTreeMap::new();
        self.pin_purge_at = PIN_PURGE_MIN;
    }
}

/// A fork in progress ([`Vmar::fork_begin`], [`Vmar::fork_step`]): the
/// child so far and where the copy stands. Dropping it drops the partial
/// child (its frame references).
pub struct ForkSteps<P: PageTable, A: FrameRefs + Clone + 'static> {
    child: Vmar<P, A>,
    /// The parent's mapping generation the child's mappings were copied at.
    generation: u64,
    /// The address the next step copies from.
    next: usize,
    /// How many times the mappings changed under the copy.
    restarts: u32,
}

impl<P: PageTable, A: FrameRefs + Clone + 'static> ForkSteps<P, A> {
    /// The child, once [`Vmar::fork_step`] said the copy is complete.
    pub fn finish(self) -> Vmar<P, A> {
        self.child
    }
}

impl<P: PageTable, A: FrameRefs + Clone + 'static> Drop for Vmar<P, A> {
    /// Releases every frame this address space references, exactly once.
    fn drop(&mut self) {
        self.clear();
    }
}

impl<P: PageTable, A: FrameRefs + Clone + 'static> fmt::Debug for Vmar<P, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Vmar (resident {}, cow copies {}, brk {:#x})",
            self.resident, self.cow_copies, self.brk
        )?;
        for m in self.mappings() {
            writeln!(f, "{m}")?;
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::{SoftPageTable, TestFrames, TestVmar};

    fn small(frames: &TestFrames) -> TestVmar {
        let config = VmarConfig { min_addr: 0x10000, max_addr: 0x40000, mmap_base: 0x20000 };
        Vmar::with_config(SoftPageTable::new(), frames.clone(), config)
    }

    #[test]
    fn config_is_normalised() {
        let frames = TestFrames::new();
        let config = VmarConfig { min_addr: 0x10001, max_addr: 0x40fff, mmap_base: 0x90000 };
        let v = Vmar::with_config(SoftPageTable::new(), frames, config);
        assert_eq!(v.config(), VmarConfig { min_addr: 0x11000, max_addr: 0x40000, mmap_base: 0x40000 });
    }

    #[test]
    fn placement_goes_top_down_then_above_the_base() {
        // arch_get_unmapped_area_topdown, falling back to bottom-up above
        // the base. Layout: 0x10000 bytes below the base, 0x20000 above.
        let frames = TestFrames::new();
        let mut v = small(&frames);
        let anon = MAP_PRIVATE | MAP_ANONYMOUS;
        assert_eq!(v.get_unmapped_area(0, 0x10000, false), Ok(0x10000));
        assert_eq!(
            v.get_unmapped_area(0, 0x18000, false),
            Ok(0x20000),
            "above the base when nothing fits below"
        );
        assert_eq!(v.get_unmapped_area(0, 0x20000, false), Ok(0x20000));
        assert_eq!(v.get_unmapped_area(0, 0x21000, false), Err(Errno::ENOMEM));
        assert_eq!(v.get_unmapped_area(0, 0x31000, false), Err(Errno::ENOMEM));
        // A mapping straddling the base.
        v.mmap(0x1f000, 0x2000, PROT_READ, anon | MAP_FIXED, None, 0).unwrap();
        assert_eq!(v.get_unmapped_area(0, 0x1000, false), Ok(0x1e000));
        assert_eq!(v.get_unmapped_area(0, 0xf000, false), Ok(0x10000));
        assert_eq!(v.get_unmapped_area(0, 0x10000, false), Ok(0x21000));
        assert_eq!(v.get_unmapped_area(0, 0x1f000, false), Ok(0x21000));
        assert_eq!(v.get_unmapped_area(0, 0x20000, false), Err(Errno::ENOMEM));
        // Hints: used when free and inside the limits, else ignored.
        assert_eq!(v.get_unmapped_area(0x38000, 0x1000, false), Ok(0x38000));
        assert_eq!(v.get_unmapped_area(0x3f000, 0x2000, false), Ok(0x1d000));
        assert_eq!(v.get_unmapped_area(0x1f000, 0x1000, false), Ok(0x1e000));
    }

    #[test]
    fn the_free_space_index_comes_and_goes_with_the_mapping_count() {
        use crate::maps::{INDEX_AT, INDEX_DROP};
        let frames = TestFrames::new();
        let config = VmarConfig { min_addr: 0x10000, max_addr: 0x400000, mmap_base: 0x200000 };
        let mut v = Vmar::with_config(SoftPageTable::new(), frames.clone(), config);
        let anon = MAP_PRIVATE | MAP_ANONYMOUS;
        // one-page mappings top down from the base, alternately read-only
        // and writable (so none merge)
        let mut at = alloc::vec::Vec::new();
        for i in 0..INDEX_AT + 8 {
            let prot = if i % 2 == 0 { PROT_READ } else { PROT_READ | PROT_WRITE };
            let a = v.mmap(0, 0x1000, prot, anon, None, 0).unwrap();
            assert_eq!(a, 0x200000 - (i + 1) * 0x1000, "top down, packed");
            assert_eq!(v.maps.indexed(), v.maps.len() >= INDEX_AT, "after {} mappings", v.maps.len());
            assert!(v.maps.index_is_exact());
            at.push(a);
        }
        // holes: the highest one that fits is taken, with the index
        v.munmap(at[3], 0x1000).unwrap();
        v.munmap(at[10], 0x1000).unwrap();
        v.munmap(at[11], 0x1000).unwrap();
        assert!(v.maps.indexed() && v.maps.index_is_exact());
        assert_eq!(v.get_unmapped_area(0, 0x1000, false), Ok(at[3]));
        assert_eq!(v.get_unmapped_area(0, 0x2000, false), Ok(at[11]));
        // an mprotect that splits and one that merges keep it exact
        v.mmap(at[3], 0x1000, PROT_READ, anon | MAP_FIXED, None, 0).unwrap();
        v.mprotect(at[2], 0x1000, PROT_READ).unwrap();
        v.mprotect(at[2], 0x1000, PROT_READ | PROT_WRITE).unwrap();
        assert!(v.maps.indexed() && v.maps.index_is_exact());
        // down under INDEX_DROP: the walk answers the same
        let keep = INDEX_DROP - 2;
        let lowest_kept = at[keep - 1];
        v.munmap(at[at.len() - 1], lowest_kept - at[at.len() - 1]).unwrap();
        assert!(v.maps.len() < INDEX_DROP && !v.maps.indexed());
        assert_eq!(v.get_unmapped_area(0, 0x1000, false), Ok(at[10]));
        assert_eq!(v.get_unmapped_area(0, 0x3000, false), Ok(lowest_kept - 0x3000));
        // total_vm/data_vm kept as counters equal a walk's (mremap growth,
        // moved; a stack grown at a fault; munmap)
        assert_eq!(v.maps.counts(), v.maps.counts_by_walk());
        v.mremap(at[0], 0x1000, 0x3000, MREMAP_MAYMOVE, 0).unwrap();
        assert_eq!(v.maps.counts(), v.maps.counts_by_walk());
        let st = v
            .mmap(0x380000, 0x1000, PROT_READ | PROT_WRITE, anon | MAP_FIXED | MAP_GROWSDOWN, None, 0)
            .unwrap();
        assert_eq!(v.handle_page_fault(st - 0x4000, Access::Write), FaultOutcome::Resolved);
        assert_eq!(v.maps.counts(), v.maps.counts_by_walk());
        v.munmap(st - 0x4000, 0x5000).unwrap();
        assert_eq!(v.maps.counts(), v.maps.counts_by_walk());
        drop(v);
        assert_eq!(frames.allocated(), 0);
    }

    #[test]
    fn split_and_merge_keep_source_offsets() {
        let frames = TestFrames::new();
        let file = crate::testing::TestFile::new(&frames, &[7u8; 0x8000]);
        let mut v = small(&frames);
        let f = MapFile {
            source: file.clone(),
            name: "f".into(),
            readable: true,
            writable: true,
            never_writable: false,
        };
        let a = v.mmap(0, 0x8000, PROT_READ, MAP_SHARED, Some(f), 0).unwrap();
        v.mprotect(a + 0x2000, 0x1000, PROT_NONE).unwrap();
        let offsets: alloc::vec::Vec<u64> = v.mappings().map(|m| m.offset).collect();
        assert_eq!(offsets, [0, 0x2000, 0x3000]);
        v.mprotect(a + 0x2000, 0x1000, PROT_READ).unwrap();
        assert_eq!(v.mappings().count(), 1, "contiguous pieces of one source merge again");
        drop(v);
        drop(file);
        assert_eq!(frames.allocated(), 0);
    }
}

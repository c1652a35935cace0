//! The Linux x86_64 constants of mmap(2), mprotect(2) and friends
//! (`include/uapi/asm-generic/mman-common.h`, `asm/mman.h`).

/// Pages may not be accessed.
pub const PROT_NONE: usize = 0x0;
/// Pages may be read.
pub const PROT_READ: usize = 0x1;
/// Pages may be written.
pub const PROT_WRITE: usize = 0x2;
/// Pages may be executed.
pub const PROT_EXEC: usize = 0x4;
/// Accepted and ignored (atomic operations, a no-op on x86).
pub const PROT_SEM: usize = 0x8;
/// mprotect: extend the change down to the start of a grow-down mapping.
pub const PROT_GROWSDOWN: usize = 0x0100_0000;
/// mprotect: extend the change up to the end of a grow-up mapping (none on x86).
pub const PROT_GROWSUP: usize = 0x0200_0000;

/// Share changes.
pub const MAP_SHARED: usize = 0x01;
/// Changes are private (copy on write).
pub const MAP_PRIVATE: usize = 0x02;
/// `MAP_SHARED` that refuses unknown flags with `EOPNOTSUPP` (files only).
pub const MAP_SHARED_VALIDATE: usize = 0x03;
/// The bits that select the mapping type.
pub const MAP_TYPE: usize = 0x0f;
/// Place the mapping exactly at `addr`, replacing what was there.
pub const MAP_FIXED: usize = 0x10;
/// Not backed by a file: zero-filled.
pub const MAP_ANONYMOUS: usize = 0x20;
/// Below 2 GiB (accepted, ignored).
pub const MAP_32BIT: usize = 0x40;
/// A stack-like mapping (recorded for `PROT_GROWSDOWN`; no automatic growth).
pub const MAP_GROWSDOWN: usize = 0x0100;
/// Ignored.
pub const MAP_DENYWRITE: usize = 0x0800;
/// Ignored.
pub const MAP_EXECUTABLE: usize = 0x1000;
/// Lock the pages (accepted; pages are populated as with `MAP_POPULATE`).
pub const MAP_LOCKED: usize = 0x2000;
/// Do not reserve swap (accepted, nothing is reserved anyway).
pub const MAP_NORESERVE: usize = 0x4000;
/// Fault the pages in at once.
pub const MAP_POPULATE: usize = 0x8000;
/// With `MAP_POPULATE`: do not populate.
pub const MAP_NONBLOCK: usize = 0x1_0000;
/// A thread stack (accepted, ignored).
pub const MAP_STACK: usize = 0x2_0000;
/// Huge pages: none are configured, so such a mapping fails with `ENOMEM`.
pub const MAP_HUGETLB: usize = 0x4_0000;
/// DAX synchronous faults (no page source supports it: `EOPNOTSUPP`).
pub const MAP_SYNC: usize = 0x8_0000;
/// Like `MAP_FIXED`, but fail with `EEXIST` instead of replacing.
pub const MAP_FIXED_NOREPLACE: usize = 0x10_0000;
/// Do not clear anonymous pages (accepted, ignored: pages are always zeroed).
pub const MAP_UNINITIALIZED: usize = 0x400_0000;
/// `MAP_HUGETLB` with 2 MiB pages.
pub const MAP_HUGE_2MB: usize = 21 << 26;
/// `MAP_HUGETLB` with 1 GiB pages.
pub const MAP_HUGE_1GB: usize = 30 << 26;

/// The flags every file mapping accepts (`LEGACY_MAP_MASK` in
/// `include/linux/mman.h`); `MAP_SHARED_VALIDATE` refuses any other bit.
pub const LEGACY_MAP_MASK: usize = MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_UNINITIALIZED
    | MAP_GROWSDOWN
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB
    | MAP_32BIT
    | MAP_HUGE_2MB
    | MAP_HUGE_1GB;

/// `si_code` of a SIGSEGV for an address with no mapping.
pub const SEGV_MAPERR: i32 = 1;
/// `si_code` of a SIGSEGV for an access the mapping forbids.
pub const SEGV_ACCERR: i32 = 2;
/// `si_code` of a SIGBUS for a page its object cannot supply.
pub const BUS_ADRERR: i32 = 2;

/// x86_64 `TASK_SIZE` with 4-level paging: the end of user space.
pub const TASK_SIZE: usize = 0x7fff_ffff_f000;
/// Linux's default `vm.mmap_min_addr`: the lowest mappable address.
pub const MMAP_MIN_ADDR: usize = 0x1_0000;

/// mremap(2): the mapping may move.
pub const MREMAP_MAYMOVE: usize = 1;
/// mremap(2): move to the given address (with `MREMAP_MAYMOVE`).
pub const MREMAP_FIXED: usize = 2;
/// mremap(2): leave the old range mapped (not supported: `EINVAL`).
pub const MREMAP_DONTUNMAP: usize = 4;

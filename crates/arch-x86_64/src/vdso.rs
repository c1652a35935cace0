//! The vDSO's code and its data page (vvar).
//!
//! The code is assembled into the kernel image (section
//! `.text.vdso_blob`) and copied out at boot: [`code`] and [`symbols`]
//! give the bytes and where each function starts; the kernel wraps them in
//! an ELF shared object (`elf_loader::vdso`) with the code at
//! [`TEXT_OFFSET`]. The code is position-independent: its only memory
//! reference is RIP-relative, to the vvar page, which must be mapped one
//! page below the image (as Linux maps `[vvar]` below `[vdso]`).
//!
//! The vvar page ([`VvarPage`], one frame of the frame allocator) holds
//! what the clocks need: a sequence counter (odd while the realtime offset
//! changes), flags, the TSC-to-ns multiplier and the boot TSC, the realtime
//! offset, and per CPU its TSC offset and whether it is known. The vDSO
//! reads the TSC and the CPU number with RDTSCP (`IA32_TSC_AUX` = CPU) and
//! computes exactly what [`crate::time::monotonic_ns`] does; when the
//! flags say the per-CPU clock is off it makes the system call.

use crate::mem::vmimpl::{KernelFrames, frame_virt};
use core::sync::atomic::{AtomicU64, Ordering};
use spin::{Mutex, Once};
use vm::{Frame, FrameAllocator};

/// Where the code starts in the vDSO image (the ELF headers and tables
/// come first).
pub const TEXT_OFFSET: usize = 0x800;

/// vvar: the sequence counter.
const VV_SEQ: usize = 0;
/// vvar: flags ([`FLAG_CLOCK`], [`FLAG_GETCPU`]).
const VV_FLAGS: usize = 8;
/// vvar: the cycles-to-ns multiplier (`ns = cycles * mult >> 48`).
const VV_MULT: usize = 16;
/// vvar: the TSC at the clock's zero.
const VV_BOOT_TSC: usize = 24;
/// vvar: CLOCK_REALTIME minus CLOCK_MONOTONIC, in ns.
const VV_REALTIME: usize = 32;
/// vvar: per CPU 16 bytes: the TSC offset, then 1 when it is known.
const VV_CPUS: usize = 64;
/// The clocks may be computed in user space.
const FLAG_CLOCK: u64 = 1;
/// RDTSCP returns the CPU number.
const FLAG_GETCPU: u64 = 2;

/// The coarse clocks' granularity (ns): the clock rounded down to it.
pub const COARSE_NS: u64 = 10_000_000;

core::arch::global_asm!(
    ".pushsection .text.vdso_blob,\"ax\",@progbits",
    ".balign 64",
    ".globl vdso_blob_start",
    "vdso_blob_start:",
    ".Lvdso_start:",
    ".set .Lvv, .Lvdso_start - {text_off} - 4096",
    // now: rax = CLOCK_MONOTONIC in ns, r10 = the realtime offset; CF set
    // when the system call must answer. Keeps rdi, rsi; clobbers rcx, rdx,
    // r8, r9.
    ".Lvdso_now:",
    "2:",
    "mov r8, qword ptr [rip + .Lvv + {seq}]",
    "test r8d, 1",
    "jnz 3f",
    "test byte ptr [rip + .Lvv + {flags}], {flag_clock}",
    "jz 4f",
    "rdtscp",
    "shl rdx, 32",
    "or rax, rdx",
    "and ecx, 0xfff",
    "cmp ecx, {max_cpus}",
    "jae 4f",
    "shl ecx, 4",
    "lea r9, [rip + .Lvv]",
    "cmp qword ptr [r9 + rcx + {cpus} + 8], 0",
    "je 4f",
    "add rax, qword ptr [r9 + rcx + {cpus}]",
    "sub rax, qword ptr [r9 + {boot_tsc}]",
    "jae 5f",
    "xor eax, eax",
    "5:",
    "mul qword ptr [r9 + {mult}]",
    "shrd rax, rdx, {shift}",
    "mov r10, qword ptr [r9 + {realtime}]",
    "cmp r8, qword ptr [r9 + {seq}]",
    "jne 2b",
    "clc",
    "ret",
    "3:",
    "pause",
    "jmp 2b",
    "4:",
    "stc",
    "ret",
    // int clock_gettime(clockid_t, struct timespec *)
    ".balign 16",
    ".globl vdso_blob_clock_gettime",
    "vdso_blob_clock_gettime:",
    "cmp edi, 11",
    "ja 5f",
    "mov eax, 0x8f3", // REALTIME, MONOTONIC, RAW, both COARSE, BOOTTIME, TAI
    "bt eax, edi",
    "jnc 5f",
    "call .Lvdso_now",
    "jc 5f",
    "lea edx, [rdi - 5]",
    "cmp edx, 1",
    "ja 6f",
    "xor edx, edx",
    "mov r8d, {coarse}",
    "div r8",
    "imul rax, r8",
    "6:",
    "mov edx, 0x821", // REALTIME, REALTIME_COARSE, TAI
    "bt edx, edi",
    "jnc 7f",
    "add rax, r10",
    "7:",
    "xor edx, edx",
    "mov r8d, 1000000000",
    "div r8",
    "mov qword ptr [rsi], rax",
    "mov qword ptr [rsi + 8], rdx",
    "xor eax, eax",
    "ret",
    "5:",
    "mov eax, 228",
    "syscall",
    "ret",
    // int gettimeofday(struct timeval *, struct timezone *)
    ".balign 16",
    ".globl vdso_blob_gettimeofday",
    "vdso_blob_gettimeofday:",
    "test rdi, rdi",
    "jz 6f",
    "call .Lvdso_now",
    "jc 5f",
    "add rax, r10",
    "xor edx, edx",
    "mov r8d, 1000000000",
    "div r8",
    "mov qword ptr [rdi], rax",
    "mov rax, rdx",
    "xor edx, edx",
    "mov r8d, 1000",
    "div r8",
    "mov qword ptr [rdi + 8], rax",
    "6:",
    "test rsi, rsi",
    "jz 7f",
    "mov qword ptr [rsi], 0",
    "7:",
    "xor eax, eax",
    "ret",
    "5:",
    "mov eax, 96",
    "syscall",
    "ret",
    // time_t time(time_t *)
    ".balign 16",
    ".globl vdso_blob_time",
    "vdso_blob_time:",
    "call .Lvdso_now",
    "jc 5f",
    "add rax, r10",
    "xor edx, edx",
    "mov r8d, 1000000000",
    "div r8",
    "test rdi, rdi",
    "jz 6f",
    "mov qword ptr [rdi], rax",
    "6:",
    "ret",
    "5:",
    "mov eax, 201",
    "syscall",
    "ret",
    // long getcpu(unsigned *cpu, unsigned *node, void *cache)
    ".balign 16",
    ".globl vdso_blob_getcpu",
    "vdso_blob_getcpu:",
    "test byte ptr [rip + .Lvv + {flags}], {flag_getcpu}",
    "jz 5f",
    "rdtscp",
    "mov eax, ecx",
    "and eax, 0xfff",
    "shr ecx, 12",
    "test rdi, rdi",
    "jz 6f",
    "mov dword ptr [rdi], eax",
    "6:",
    "test rsi, rsi",
    "jz 7f",
    "mov dword ptr [rsi], ecx",
    "7:",
    "xor eax, eax",
    "ret",
    "5:",
    "mov eax, 309",
    "syscall",
    "ret",
    // int clock_getres(clockid_t, struct timespec *)
    ".balign 16",
    ".globl vdso_blob_clock_getres",
    "vdso_blob_clock_getres:",
    "cmp edi, 11",
    "ja 5f",
    "mov r8d, 1",
    "mov eax, 0x893", // REALTIME, MONOTONIC, RAW, BOOTTIME, TAI: 1 ns
    "bt eax, edi",
    "jc 6f",
    "mov r8d, {coarse}",
    "mov eax, 0x60", // the COARSE clocks
    "bt eax, edi",
    "jnc 5f",
    "6:",
    "test rsi, rsi",
    "jz 7f",
    "mov qword ptr [rsi], 0",
    "mov qword ptr [rsi + 8], r8",
    "7:",
    "xor eax, eax",
    "ret",
    "5:",
    "mov eax, 229",
    "syscall",
    "ret",
    ".globl vdso_blob_end",
    "vdso_blob_end:",
    ".popsection",
    text_off = const TEXT_OFFSET,
    seq = const VV_SEQ,
    flags = const VV_FLAGS,
    mult = const VV_MULT,
    boot_tsc = const VV_BOOT_TSC,
    realtime = const VV_REALTIME,
    cpus = const VV_CPUS,
    flag_clock = const FLAG_CLOCK,
    flag_getcpu = const FLAG_GETCPU,
    max_cpus = const crate::percpu::MAX_CPUS,
    shift = const crate::time::NS_SHIFT_BITS,
    coarse = const COARSE_NS,
);

unsafe extern "C" {
    static vdso_blob_start: u8;
    static vdso_blob_end: u8;
    static vdso_blob_clock_gettime: u8;
    static vdso_blob_gettimeofday: u8;
    static vdso_blob_time: u8;
    static vdso_blob_getcpu: u8;
    static vdso_blob_clock_getres: u8;
}

/// The vDSO's code (to be placed at [`TEXT_OFFSET`] of the image).
pub fn code() -> &'static [u8] {
    let start = &raw const vdso_blob_start as usize;
    let end = &raw const vdso_blob_end as usize;
    // SAFETY: both symbols delimit the bytes of one section of the kernel
    // image assembled above, which is mapped and never written.
    unsafe { core::slice::from_raw_parts(start as *const u8, end.saturating_sub(start)) }
}

/// The vDSO's functions (Linux's names without `__vdso_`) and their
/// offsets in [`code`], in the order they lie.
pub fn symbols() -> [(&'static str, usize); 5] {
    let start = &raw const vdso_blob_start as usize;
    let at = |p: *const u8| p as usize - start;
    [
        ("clock_gettime", at(&raw const vdso_blob_clock_gettime)),
        ("gettimeofday", at(&raw const vdso_blob_gettimeofday)),
        ("time", at(&raw const vdso_blob_time)),
        ("getcpu", at(&raw const vdso_blob_getcpu)),
        ("clock_getres", at(&raw const vdso_blob_clock_getres)),
    ]
}

/// The vvar page: one frame, written by the kernel through the direct map
/// and mapped read-only into every process.
pub struct VvarPage {
    frame: Frame,
    words: &'static [AtomicU64; 512],
}

static VVAR: Once<Option<VvarPage>> = Once::new();
/// Serialises writers of the realtime offset (the sequence counter has
/// one writer at a time).
static WRITER: Mutex<()> = Mutex::new(());

impl VvarPage {
    fn word(&self, offset: usize) -> &AtomicU64 {
        &self.words[offset / 8]
    }

    /// The frame to map.
    pub fn frame(&self) -> Frame {
        self.frame
    }
}

/// Allocates and fills the vvar page (once, after the APs are up and their
/// TSC offsets known); `None` when memory is exhausted.
pub fn vvar() -> Option<&'static VvarPage> {
    VVAR.call_once(|| {
        let frame = KernelFrames.alloc_zeroed().ok()?;
        let va = frame_virt(frame);
        // SAFETY: the frame is ours (never freed: the static keeps its
        // reference), 4096 bytes, page-aligned and mapped in the direct map;
        // every access goes through atomics, user space only reads it.
        let words = unsafe { &*(va as *const [AtomicU64; 512]) };
        let page = VvarPage { frame, words };
        let (boot_tsc, mult) = crate::time::clock_params();
        page.word(VV_MULT).store(mult, Ordering::Relaxed);
        page.word(VV_BOOT_TSC).store(boot_tsc, Ordering::Relaxed);
        let online = crate::smp::cpus_online();
        for cpu in 0..crate::percpu::MAX_CPUS {
            let off = crate::time::tsc_offset(cpu) as u64;
            page.word(VV_CPUS + cpu * 16).store(off, Ordering::Relaxed);
            page.word(VV_CPUS + cpu * 16 + 8).store(u64::from(cpu < online), Ordering::Relaxed);
        }
        let mut flags = 0;
        if crate::time::percpu_clock() && mult != 0 {
            flags |= FLAG_CLOCK;
        }
        if crate::time::has_rdtscp() {
            flags |= FLAG_GETCPU;
        }
        page.word(VV_FLAGS).store(flags, Ordering::Release);
        Some(page)
    })
    .as_ref()
}

/// Publishes CLOCK_REALTIME's offset from CLOCK_MONOTONIC (the sequence
/// counter is odd while it changes).
pub fn set_realtime_offset(ns: u64) {
    let Some(page) = vvar() else { return };
    let _w = WRITER.lock();
    let seq = page.word(VV_SEQ);
    let s = seq.load(Ordering::Relaxed);
    seq.store(s + 1, Ordering::Relaxed);
    core::sync::atomic::fence(Ordering::Release);
    page.word(VV_REALTIME).store(ns, Ordering::Relaxed);
    seq.store(s + 2, Ordering::Release);
}

/// The realtime offset the vvar page holds (`None` before the page
/// exists): the kernel reads this one copy, so the system call and the
/// vDSO cannot disagree after two setters race.
/// Never makes the page (that waits for the APs: [`vvar`]).
pub fn realtime_offset() -> Option<u64> {
    VVAR.get().and_then(|p| p.as_ref()).map(|p| p.word(VV_REALTIME).load(Ordering::Relaxed))
}

/// Whether the vDSO computes the clocks in user space.
pub fn clock_in_user_space() -> bool {
    vvar().is_some_and(|p| p.word(VV_FLAGS).load(Ordering::Relaxed) & FLAG_CLOCK != 0)
}

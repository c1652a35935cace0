//! The XSAVE state layout user space sees: which state components the
//! kernel enables in XCR0 (x87, SSE, AVX, AVX-512 and PKRU when the CPU has
//! them: what Linux enables for user space), where each lies in the
//! standard (non-compacted) XSAVE format, and the byte-level rules Linux
//! applies to that image in signal frames (`_fpx_sw_bytes`, the magic
//! words, `check_xstate_in_sigframe`, `__restore_fpregs_from_user`) and in
//! the `NT_X86_XSTATE` regset (`__copy_xstate_to_uabi_buf`,
//! `copy_uabi_from_kernel_to_xstate`).
//!
//! Pure code over byte buffers and a [`Layout`], so the host tests check it;
//! [`init`] (bare metal) reads CPUID, sets CR4.OSXSAVE (and CR4.PKE) and
//! XCR0 on each CPU and publishes the layout.

use crate::user::FpuState;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The largest standard-format image this kernel keeps (per thread, inline
/// in its `UserContext`): components 0..=9 end at 2696 bytes (PKRU after
/// AVX-512); AMX (17, 18) is never enabled (Linux gives it only after
/// `arch_prctl(ARCH_REQ_XCOMP_PERM)`).
pub const XSTATE_MAX: usize = 2752;

/// Components this kernel may enable, as Linux 6.1's
/// XFEATURE_MASK_USER_SUPPORTED: x87, SSE, AVX, MPX's BNDREGS/BNDCSR (Linux
/// dropped MPX but still enables its state: XCR0 0x21f under QEMU `-cpu
/// max`), AVX-512 (opmask, ZMM_Hi256, Hi16_ZMM) and PKRU.
pub const SUPPORTED: u64 = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x200;
/// `XFEATURE_MASK_FPSSE`.
pub const FPSSE: u64 = 0x3;
/// The PKRU component's bit.
pub const PKRU_BIT: u64 = 1 << 9;
/// PKRU after exec: 0, what Debian's 6.1 shows under QEMU `-cpu max`
/// (its `init_pkru_value` 0x55555554 does not reach user space there;
/// xstate.c checks it on both).
pub const INIT_PKRU: u32 = 0;

/// `FP_XSTATE_MAGIC1` in `sw_reserved`.
pub const MAGIC1: u32 = 0x4650_5853;
/// `FP_XSTATE_MAGIC2` after the XSAVE image in a signal frame.
pub const MAGIC2: u32 = 0x4650_5845;
/// Where `sw_reserved` (`struct _fpx_sw_bytes`) lies in the FXSAVE area.
pub const SW_RESERVED: usize = 464;
/// The XSAVE header's offset.
pub const HEADER: usize = 512;
/// The MXCSR bits that may be set (QEMU's and common hardware's MXCSR_MASK).
pub const MXCSR_MASK: u32 = 0xffff;

/// The enabled components and where they lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// XCR0 (0: no XSAVE, FXSAVE/FXRSTOR of the 512-byte legacy area only).
    pub xcr0: u64,
    /// The standard-format size for `xcr0` (CPUID 0xd.0 EBX; 512 without XSAVE).
    pub size: u32,
    /// Offset and size of components 2..=9 (index = component).
    pub comps: [(u32, u32); 10],
}

impl Layout {
    /// FXSAVE only.
    pub const FXSAVE: Layout = Layout { xcr0: 0, size: 512, comps: [(0, 0); 10] };

    /// Whether XSAVE is in use.
    pub fn xsave(&self) -> bool {
        self.xcr0 != 0
    }

    /// `fpu__get_fpstate_size()`: the bytes a signal frame's FPU image
    /// takes (the XSAVE image and MAGIC2, or the FXSAVE image).
    pub fn frame_size(&self) -> usize {
        if self.xsave() { self.size as usize + 4 } else { 512 }
    }

    /// The extended components enabled, with their offset and size.
    fn extended(&self) -> impl Iterator<Item = (u64, usize, usize)> + '_ {
        (2..10u64).filter(move |i| self.xcr0 & (1 << i) != 0).filter_map(move |i| {
            let (off, size) = self.comps[i as usize];
            let (off, size) = (off as usize, size as usize);
            (size != 0 && off + size <= XSTATE_MAX).then_some((i, off, size))
        })
    }

    /// The PKRU component's offset, when enabled.
    pub fn pkru_offset(&self) -> Option<usize> {
        self.extended().find(|c| c.0 == 9).map(|c| c.1)
    }
}

static XCR0: AtomicU64 = AtomicU64::new(0);
static SIZE: AtomicU32 = AtomicU32::new(512);
static COMPS: [AtomicU64; 10] = [const { AtomicU64::new(0) }; 10];

/// The layout in use (FXSAVE only until [`init`] ran, and on the host).
pub fn layout() -> Layout {
    let mut comps = [(0u32, 0u32); 10];
    for (c, a) in comps.iter_mut().zip(COMPS.iter()) {
        let v = a.load(Ordering::Relaxed);
        *c = ((v >> 32) as u32, v as u32);
    }
    Layout { xcr0: XCR0.load(Ordering::Relaxed), size: SIZE.load(Ordering::Relaxed), comps }
}

/// [`layout`] made once the layout uses XSAVE (after [`init`]: signal
/// delivery and sigreturn run later), by reference: no layout built per
/// signal. Without XSAVE it is built each time (it may be before `init`).
pub fn layout_now() -> &'static Layout {
    static NOW: spin::Once<Layout> = spin::Once::new();
    static FX: Layout = Layout::FXSAVE;
    if let Some(l) = NOW.get() {
        return l;
    }
    let l = layout();
    if l.xsave() { NOW.call_once(|| l) } else { &FX }
}

/// Whether XSAVE is in use (checked on every FPU save/restore).
#[inline]
pub fn enabled() -> bool {
    XCR0.load(Ordering::Relaxed) != 0
}

fn get32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn get64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// The header's XSTATE_BV.
pub fn xstate_bv(s: &FpuState) -> u64 {
    get64(&s.0, HEADER)
}

/// The initial state (after exec, or a sigreturn without an image): x87
/// and SSE as after FNINIT with MXCSR 0x1f80, the rest in its init state
/// (PKRU = [`INIT_PKRU`]).
pub fn init_state(l: &Layout) -> FpuState {
    let mut s = FpuState([0u8; XSTATE_MAX]);
    s.0[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
    put32(&mut s.0, 24, 0x1f80);
    put32(&mut s.0, 28, MXCSR_MASK);
    if let Some(off) = l.pkru_offset()
        && INIT_PKRU != 0
    {
        put64(&mut s.0, HEADER, PKRU_BIT);
        put32(&mut s.0, off, INIT_PKRU);
    }
    s
}

/// `struct _fpx_sw_bytes` as Linux fills it for signal frames and the
/// regset: magic1, extended_size, xfeatures, xstate_size.
pub fn fill_sw_bytes(l: &Layout, buf: &mut [u8]) {
    buf[SW_RESERVED..512].fill(0);
    put32(buf, SW_RESERVED, MAGIC1);
    put32(buf, SW_RESERVED + 4, l.size + 4);
    put64(buf, SW_RESERVED + 8, l.xcr0);
    put32(buf, SW_RESERVED + 16, l.size);
}

/// Marks the extended components of a freshly saved image whose bytes are
/// all zero as in their init state (clears their XSTATE_BV bits): the same
/// state, as every extended component's init value is zeros (AVX's upper
/// halves, PKRU 0, MPX's registers). QEMU's XSAVE reports every component
/// but MPX's BNDREGS as in use whatever it holds, and its XRSTOR then loads
/// each of them through a memory helper per 8 bytes (32 for AVX) where a
/// cleared bit only zeroes the registers: a thread that never uses AVX
/// restores cheaper at each switch back. A scan of the components in use
/// (264 bytes under QEMU `-cpu max`), 32 bytes per step.
pub fn mark_zero_components(l: &Layout, s: &mut FpuState) {
    mark_zero_with(l.xcr0, |i| l.comps[i], s);
}

/// [`mark_zero_components`] under the layout in use, reading only the
/// offsets of the components XSTATE_BV marks (it runs after every FPU
/// save: no whole [`layout`] built each time).
pub fn mark_zero_components_now(s: &mut FpuState) {
    mark_zero_with(
        XCR0.load(Ordering::Relaxed),
        |i| {
            let v = COMPS[i].load(Ordering::Relaxed);
            ((v >> 32) as u32, v as u32)
        },
        s,
    );
}

/// [`mark_zero_components`] for XCR0 `xcr0` with component `i` at
/// `comp(i)` (offset, size).
fn mark_zero_with(xcr0: u64, comp: impl Fn(usize) -> (u32, u32), s: &mut FpuState) {
    if xcr0 == 0 {
        return;
    }
    let bv = xstate_bv(s);
    let mut clear = 0;
    // only the extended components XSTATE_BV marks in use (components
    // 2..=9 that XCR0 enables), lowest first
    let mut live = bv & xcr0 & 0x3fc;
    while live != 0 {
        let i = live.trailing_zeros() as usize;
        live &= live - 1;
        let (off, size) = comp(i);
        let (off, size) = (off as usize, size as usize);
        if size != 0 && off + size <= XSTATE_MAX && all_zero(&s.0[off..off + size]) {
            clear |= 1 << i;
        }
    }
    if clear != 0 {
        put64(&mut s.0, HEADER, bv & !clear);
    }
}

/// Whether `b` holds only zero bytes: 32 bytes per step, four words ORed,
/// then whole words, then bytes (the kernel has no SSE; this runs after
/// every FPU save: no per-step bounds checks, a component of 8 or 64
/// bytes takes no byte loop).
fn all_zero(b: &[u8]) -> bool {
    let (blocks, rest) = b.as_chunks::<32>();
    let mut acc = 0;
    for c in blocks {
        let w = |i: usize| {
            u64::from_le_bytes([c[i], c[i + 1], c[i + 2], c[i + 3], c[i + 4], c[i + 5], c[i + 6], c[i + 7]])
        };
        acc |= w(0) | w(8) | w(16) | w(24);
    }
    let (words, bytes) = rest.as_chunks::<8>();
    for w in words {
        acc |= u64::from_le_bytes(*w);
    }
    for &x in bytes {
        acc |= u64::from(x);
    }
    acc == 0
}

/// Turns a saved state into the image a signal frame holds
/// (`copy_fpstate_to_sigframe` and `save_xstate_epilog`): the sw bytes,
/// FP|SSE always set in XSTATE_BV. Returns the bytes to write (the image,
/// then MAGIC2 when XSAVE is in use).
pub fn to_sigframe<'a>(l: &Layout, s: &'a mut FpuState) -> (&'a [u8], Option<[u8; 4]>) {
    if !l.xsave() {
        return (&s.0[..512], None);
    }
    fill_sw_bytes(l, &mut s.0);
    let bv = xstate_bv(s) | FPSSE;
    put64(&mut s.0, HEADER, bv);
    // a component XSTATE_BV marks as in its init state holds its init
    // value (zeros) in the frame, as XSAVE writes it (the image's bytes
    // there were never read as state)
    // (only the enabled extended components whose bit is clear: usually
    // none or one, no walk over all eight)
    let mut init = l.xcr0 & !bv & 0x3fc;
    while init != 0 {
        let i = init.trailing_zeros() as usize;
        init &= init - 1;
        let (off, size) = (l.comps[i].0 as usize, l.comps[i].1 as usize);
        if size != 0 && off + size <= XSTATE_MAX {
            s.0[off..off + size].fill(0);
        }
    }
    (&s.0[..l.size as usize], Some(MAGIC2.to_le_bytes()))
}

/// [`to_sigframe`] with MAGIC2 stored right after the image in `s` itself
/// when it has room (it always has under the layouts this kernel enables):
/// the bytes returned then run to MAGIC2's end ([`Layout::frame_size`]),
/// so the image's last component and MAGIC2 go to the frame as one piece
/// ([`sigframe_ranges`] of that length). The second value is MAGIC2 when
/// it is still to be written after the bytes (no room).
pub fn to_sigframe_inline<'a>(l: &Layout, s: &'a mut FpuState) -> (&'a [u8], Option<[u8; 4]>) {
    let (len, magic2) = {
        let (img, m) = to_sigframe(l, s);
        (img.len(), m)
    };
    match magic2 {
        Some(m) if len + 4 <= XSTATE_MAX => {
            s.0[len..len + 4].copy_from_slice(&m);
            (&s.0[..len + 4], None)
        }
        m => (&s.0[..len], m),
    }
}

/// After an XSAVE of every XCR0 component straight into a signal frame's
/// image `buf` (its first [`Layout::frame_size`] bytes; the header
/// cleared before the XSAVE, as Linux's `xsave_to_user_sigframe` does):
/// `save_xstate_epilog`'s sw bytes, FP|SSE set in XSTATE_BV, MAGIC2 after
/// the image. The same image [`to_sigframe_inline`] makes of a saved state
/// (but for XSTATE_BV, which says what the CPU's XSAVE said, as on Linux).
pub fn sigframe_epilog(l: &Layout, buf: &mut [u8]) {
    let size = l.size as usize;
    if !l.xsave() || buf.len() < size + 4 {
        return;
    }
    fill_sw_bytes(l, buf);
    let bv = get64(buf, HEADER) | FPSSE;
    put64(buf, HEADER, bv);
    put32(buf, size, MAGIC2);
}

/// Whether a sigreturn may load the frame's image `buf` (its first
/// [`Layout::frame_size`] bytes, all on one page) with one XRSTOR of every
/// XCR0 component straight from the user's page: an XSAVE image (MAGIC1,
/// sane sizes, MAGIC2 after `xstate_size`: `check_xstate_in_sigframe`)
/// whose `xfeatures` name every XCR0 component (none to initialise
/// besides), with a header XRSTOR accepts (XSTATE_BV within XCR0, XCOMP_BV
/// and the rest of the header zero) and MXCSR's reserved bits clear (a
/// CPU's XRSTOR faults on them; QEMU's ignores them and the copy path
/// clears them). Any other image goes through the copies and
/// [`from_sigframe_in_place`], which decide as before.
pub fn direct_restore_ok(l: &Layout, buf: &[u8]) -> bool {
    let size = l.size as usize;
    if !l.xsave() || buf.len() < size + 4 {
        return false;
    }
    let Some((xsize, xf)) = sigframe_sw(l, buf) else { return false };
    xf & l.xcr0 == l.xcr0
        && get32(buf, xsize) == MAGIC2
        && get64(buf, HEADER) & !l.xcr0 == 0
        && zero_words(&buf[HEADER + 8..HEADER + 64])
        && get32(buf, 24) & !MXCSR_MASK == 0
}

/// Whether `b` (a multiple of 8 bytes) is all zeros, a word at a time.
fn zero_words(b: &[u8]) -> bool {
    let (words, rest) = b.as_chunks::<8>();
    words.iter().fold(0, |a, w| a | u64::from_le_bytes(*w)) == 0 && rest.iter().all(|&x| x == 0)
}

/// The byte ranges of a signal frame's image ([`to_sigframe`]'s, `len`
/// bytes) that an XSAVE of every XCR0 component into the frame writes,
/// adjacent ones merged, in ascending order: the legacy area and header,
/// then each enabled component. The bytes between (padding, and
/// components XCR0 leaves out: 1,856 of 2,696 bytes under QEMU `-cpu max`)
/// are not state; Linux's XSAVE leaves them as the user's stack held them,
/// and so does a frame written range by range. A `len` past the image
/// ([`to_sigframe_inline`]'s) adds the bytes after it (MAGIC2), merged
/// with the last component when adjacent. At most 10 ranges.
pub fn sigframe_ranges(l: &Layout, len: usize) -> impl Iterator<Item = core::ops::Range<usize>> + '_ {
    let legacy = if l.xsave() { HEADER + 64 } else { 512 };
    let size = if l.xsave() { l.size as usize } else { 512 };
    let mut parts = core::iter::once(0..legacy.min(len))
        .chain(
            l.extended()
                .filter(move |_| l.xsave())
                .map(move |(_, off, size)| off.min(len)..(off + size).min(len)),
        )
        .chain(core::iter::once(size.min(len)..len))
        .filter(|r| !r.is_empty())
        .peekable();
    core::iter::from_fn(move || {
        let mut r = parts.next()?;
        while let Some(n) = parts.next_if(|n| n.start <= r.end) {
            r.end = r.end.max(n.end);
        }
        Some(r)
    })
}

/// [`sigframe_ranges`] collected: at most 11 ranges (the legacy area and
/// header, 8 components, the bytes after the image), `Copy`, so the
/// ranges of the layout in use can be computed once ([`sigframe_pieces_now`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pieces {
    len: usize,
    n: usize,
    ranges: [(u32, u32); 11],
}

impl Pieces {
    /// The ranges of `l`'s frame image of `len` bytes.
    pub fn new(l: &Layout, len: usize) -> Pieces {
        let mut p = Pieces { len, n: 0, ranges: [(0, 0); 11] };
        for r in sigframe_ranges(l, len) {
            if p.n < p.ranges.len() {
                p.ranges[p.n] = (r.start as u32, r.end as u32);
                p.n += 1;
            }
        }
        p
    }

    /// The ranges, in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = core::ops::Range<usize>> + '_ {
        self.ranges[..self.n].iter().map(|&(a, b)| a as usize..b as usize)
    }
}

/// [`sigframe_ranges`] of the layout in use for an image of `len` bytes:
/// those of the length every signal frame uses ([`Layout::frame_size`]
/// with XSAVE, 512 without) computed once, any other length each time
/// (the iterator's merging costs ~250 instructions per frame).
pub fn sigframe_pieces_now(len: usize) -> Pieces {
    static PIECES: spin::Once<Pieces> = spin::Once::new();
    let p = PIECES.call_once(|| {
        let l = layout();
        let len = if l.xsave() { l.frame_size() } else { 512 };
        Pieces::new(&l, len)
    });
    if p.len == len { *p } else { Pieces::new(&layout(), len) }
}

/// What `check_xstate_in_sigframe` makes of a frame's FXSAVE area: the
/// `xstate_size` and `xfeatures` to restore, or `None` for an FXSAVE-only
/// image (no MAGIC1, or sizes out of range). The caller still checks
/// MAGIC2 at `fpstate + xstate_size`.
pub fn sigframe_sw(l: &Layout, fx: &[u8]) -> Option<(usize, u64)> {
    if !l.xsave() || fx.len() < 512 {
        return None;
    }
    let magic1 = get32(fx, SW_RESERVED);
    let extended = get32(fx, SW_RESERVED + 4);
    let xfeatures = get64(fx, SW_RESERVED + 8);
    let xsize = get32(fx, SW_RESERVED + 16);
    if magic1 != MAGIC1 || xsize < 512 + 64 || xsize > l.size || xsize > extended {
        return None;
    }
    Some((xsize as usize, xfeatures))
}

/// The bytes of the extended components an XRSTOR of an image whose
/// header says `xstate_bv` reads with the requested features `rfbm` (a
/// component's bit set in both and in XCR0; the others are initialised,
/// their bytes not read): a sigreturn reads these from the user's image,
/// and a fault reading one fails it as Linux's restore does.
pub fn xrstor_reads(
    l: &Layout,
    xstate_bv: u64,
    rfbm: u64,
) -> impl Iterator<Item = core::ops::Range<usize>> + '_ {
    l.extended().filter(move |c| xstate_bv & rfbm & (1 << c.0) != 0).map(|(_, off, size)| off..off + size)
}

/// The bytes of an image that hold state an XRSTOR of it reads (with
/// every XCR0 component requested), in ascending order: the legacy area
/// and the header (the first 576 bytes; 512 without XSAVE), then each
/// enabled extended component `xstate_bv` marks as in use. A copy of these
/// is a copy of the state ([`copy_live`]): a component whose XSTATE_BV bit
/// is clear is initialised by XRSTOR, its bytes not read, and the regset
/// ([`to_regset`]) shows its init value.
pub fn live_ranges(l: &Layout, xstate_bv: u64) -> impl Iterator<Item = core::ops::Range<usize>> + '_ {
    let base = if l.xsave() { HEADER + 64 } else { 512 };
    core::iter::once(0..base).chain(
        l.extended()
            .filter(move |c| l.xsave() && xstate_bv & (1 << c.0) != 0)
            .map(|(_, off, size)| off..off + size),
    )
}

/// Copies the state of `src` into `dst` ([`live_ranges`] of `src`'s
/// XSTATE_BV: about 832 of 2696 bytes for a thread with AVX state under
/// QEMU, whose XSAVE marks AVX always in use); `dst`'s other bytes keep
/// what they held, which nothing reads as state.
pub fn copy_live(l: &Layout, dst: &mut FpuState, src: &FpuState) {
    for r in live_ranges(l, xstate_bv(src)) {
        dst.0[r.clone()].copy_from_slice(&src.0[r]);
    }
}

/// Why an image was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The XRSTOR of it would fault (#GP): sigreturn kills with SIGSEGV.
    Fault,
    /// The regset write is invalid (EINVAL).
    Invalid,
}

fn sanitize_mxcsr(b: &mut [u8]) {
    let m = get32(b, 24) & MXCSR_MASK;
    put32(b, 24, m);
}

/// The state a sigreturn loads from the frame's image `img` (the user's
/// bytes in the first `size` bytes, zeros after): `xfeatures` is `None`
/// for an FXSAVE-only image. As Linux's `__restore_fpregs_from_user`: an
/// image XRSTOR would refuse (XSTATE_BV bits outside XCR0, XCOMP_BV or the
/// next reserved word nonzero — what QEMU's XRSTOR checks) is refused;
/// components the user's `xfeatures` leave out, or that the image marks
/// as in their init state, are initialised (PKRU to [`INIT_PKRU`] when
/// left out). MXCSR's reserved bits are cleared (QEMU's restore ignores
/// them too, so Linux under QEMU returns normally).
pub fn from_sigframe(l: &Layout, img: &FpuState, xfeatures: Option<u64>) -> Result<FpuState, Refused> {
    let mut s = img.clone();
    from_sigframe_in_place(l, &mut s, xfeatures)?;
    Ok(s)
}

/// [`from_sigframe`] on the image itself: `s` holds the user's bytes the
/// restore reads (the legacy area, and with `xfeatures` the header and the
/// components it and XSTATE_BV name); its other bytes are ignored, as the
/// header this leaves marks those components as in their init state.
pub fn from_sigframe_in_place(l: &Layout, s: &mut FpuState, xfeatures: Option<u64>) -> Result<(), Refused> {
    sanitize_mxcsr(&mut s.0);
    if !l.xsave() {
        return Ok(());
    }
    s.0[SW_RESERVED..512].fill(0);
    let restore = match xfeatures {
        None => {
            s.0[HEADER..HEADER + 64].fill(0);
            put64(&mut s.0, HEADER, FPSSE);
            FPSSE
        }
        Some(uf) => {
            let bv = xstate_bv(s);
            // XCOMP_BV and the next reserved word, as two words
            if bv & !l.xcr0 != 0 || get64(&s.0, HEADER + 8) | get64(&s.0, HEADER + 16) != 0 {
                return Err(Refused::Fault);
            }
            s.0[HEADER + 8..HEADER + 64].fill(0);
            put64(&mut s.0, HEADER, bv & uf & l.xcr0);
            uf & l.xcr0
        }
    };
    // components not restored take init_fpstate's value (for PKRU:
    // INIT_PKRU, what `init_state` holds)
    if let Some(off) = l.pkru_offset()
        && restore & PKRU_BIT == 0
    {
        put32(&mut s.0, off, INIT_PKRU);
        let bv = xstate_bv(s) | PKRU_BIT;
        put64(&mut s.0, HEADER, bv);
    }
    Ok(())
}

/// The `NT_X86_XSTATE` regset image (`__copy_xstate_to_uabi_buf`,
/// XSTATE_COPY_XSAVE): `l.size` bytes; state the header marks as in its
/// init state reads as the init values; bytes 464..512 hold XCR0 in their
/// first word (`USER_XSTATE_XCR0_WORD`, what gdb reads), zeros after.
pub fn to_regset(l: &Layout, s: &FpuState) -> FpuState {
    let init = init_state(&Layout { xcr0: l.xcr0 & !PKRU_BIT, ..*l });
    let mut o = FpuState([0u8; XSTATE_MAX]);
    let bv = xstate_bv(s) & l.xcr0;
    let src = |bit: u64| if bv & bit != 0 { &s.0 } else { &init.0 };
    o.0[0..24].copy_from_slice(&src(1)[0..24]);
    o.0[24..32].copy_from_slice(&s.0[24..32]);
    o.0[32..160].copy_from_slice(&src(1)[32..160]);
    o.0[160..416].copy_from_slice(&src(2)[160..416]);
    put64(&mut o.0, SW_RESERVED, l.xcr0);
    put64(&mut o.0, HEADER, bv);
    for (i, off, size) in l.extended() {
        if i == 9 {
            // PKRU: the thread's value, always (0, XRSTOR's init value,
            // when the header marks it as in its init state: its bytes
            // need not hold it, see `copy_live`)
            if bv & PKRU_BIT != 0 {
                o.0[off..off + 4].copy_from_slice(&s.0[off..off + 4]);
            }
        } else if bv & (1 << i) != 0 {
            o.0[off..off + size].copy_from_slice(&s.0[off..off + size]);
        }
    }
    o
}

/// Applies a whole `NT_X86_XSTATE` image written by PTRACE_SETREGSET
/// (`copy_uabi_to_xstate`): EINVAL for XSTATE_BV bits outside XCR0, a
/// nonzero XCOMP_BV or reserved header word, or MXCSR reserved bits when
/// SSE or AVX is written. Components the header names are copied, the
/// others go to their init state (PKRU keeps its value when not named).
pub fn from_regset(l: &Layout, cur: &FpuState, buf: &[u8]) -> Result<FpuState, Refused> {
    if buf.len() < l.size as usize || buf.len() < 576 {
        return Err(Refused::Invalid);
    }
    let bv = get64(buf, HEADER);
    if bv & !l.xcr0 != 0 || buf[HEADER + 8..HEADER + 64].iter().any(|&b| b != 0) {
        return Err(Refused::Invalid);
    }
    if bv & (0x2 | 0x4) != 0 && get32(buf, 24) & !MXCSR_MASK != 0 {
        return Err(Refused::Invalid);
    }
    let mut s = cur.clone();
    if bv & 1 != 0 {
        s.0[0..24].copy_from_slice(&buf[0..24]);
        s.0[32..160].copy_from_slice(&buf[32..160]);
    }
    if bv & (0x2 | 0x4) != 0 {
        s.0[24..28].copy_from_slice(&buf[24..28]);
    }
    if bv & 2 != 0 {
        s.0[160..416].copy_from_slice(&buf[160..416]);
    }
    let mut new_bv = bv;
    for (i, off, size) in l.extended() {
        if bv & (1 << i) != 0 {
            s.0[off..off + size].copy_from_slice(&buf[off..off + size]);
        } else if i == 9 {
            // PKRU keeps its value: 0 when `cur` has it in its init state
            if xstate_bv(cur) & PKRU_BIT == 0 {
                s.0[off..off + size].fill(0);
            }
            new_bv |= PKRU_BIT;
        }
    }
    s.0[HEADER..HEADER + 64].fill(0);
    put64(&mut s.0, HEADER, new_bv);
    Ok(s)
}

/// The legacy FXSAVE part (PTRACE_GETFPREGS, NT_PRFPREG).
pub fn fxsave_bytes(s: &FpuState) -> [u8; 512] {
    let mut b = [0u8; 512];
    b.copy_from_slice(&s.0[..512]);
    b
}

/// Replaces the legacy part (PTRACE_SETFPREGS: `xfpregs_set` marks FP and
/// SSE as in use).
pub fn set_fxsave_bytes(s: &mut FpuState, img: &[u8; 512]) {
    s.0[..512].copy_from_slice(img);
    if enabled() {
        s.0[SW_RESERVED..512].fill(0);
        let bv = xstate_bv(s) | FPSSE;
        put64(&mut s.0, HEADER, bv);
    }
}

/// `sizeof(struct sigframe_ia32)`: Linux built with IA32_EMULATION (as
/// Debian's) sizes the worst-case frame by the 32-bit one.
const SIGFRAME_IA32: usize = 732;
/// `sizeof(struct fregs_state)`, which `fpu__get_fpstate_size` adds with
/// IA32_EMULATION.
const FREGS_STATE: usize = 112;

/// Linux's `AT_MINSIGSTKSZ` (`init_sigframe_size` with IA32_EMULATION):
/// the ia32 sigframe, its alignment padding, the FPU image (with MAGIC2)
/// and an fsave header, the 64-byte alignment padding, rounded up to 16
/// (3632 under QEMU `-cpu max`, as Debian's 6.1 reports).
pub fn min_sigstksz(l: &Layout) -> u64 {
    let size = SIGFRAME_IA32 + 15 + l.frame_size() + FREGS_STATE + 63;
    size.next_multiple_of(16) as u64
}

/// Reads CPUID, enables XSAVE (CR4.OSXSAVE, CR4.PKE with PKRU) and sets
/// XCR0 on this CPU; every CPU computes the same layout and publishes it.
#[cfg(target_os = "none")]
pub(crate) fn init() {
    use core::arch::x86_64::{__cpuid, __cpuid_count};
    // SAFETY: CPUID leaves 1 and 7 exist on every x86_64 CPU.
    let (l1, l7) = (__cpuid(1), __cpuid_count(7, 0));
    let has_xsave = l1.ecx & (1 << 26) != 0;
    if !has_xsave {
        return;
    }
    let d0 = __cpuid_count(0xd, 0);
    let mut want = (u64::from(d0.edx) << 32 | u64::from(d0.eax)) & SUPPORTED;
    if want & FPSSE != FPSSE {
        return;
    }
    // AVX-512 only whole, and only with AVX
    if want & 0xe0 != 0xe0 || want & 0x4 == 0 {
        want &= !0xe0;
    }
    let pku = l7.ecx & (1 << 3) != 0;
    if !pku {
        want &= !PKRU_BIT;
    }
    let mut comps = [(0u32, 0u32); 10];
    let mut size = 576u32;
    for i in 2..10u64 {
        if want & (1 << i) != 0 {
            let c = __cpuid_count(0xd, i as u32);
            if c.ebx as usize + c.eax as usize > XSTATE_MAX {
                want &= !(1 << i);
                continue;
            }
            comps[i as usize] = (c.ebx, c.eax);
            size = size.max(c.ebx + c.eax);
        }
    }
    let mut cr4 = x86_64::registers::control::Cr4::read_raw();
    cr4 |= 1 << 18;
    if want & PKRU_BIT != 0 {
        cr4 |= 1 << 22;
    }
    // SAFETY: OSXSAVE and PKE only let XSETBV/XSAVE and RDPKRU/WRPKRU be
    // used; with PKRU 0 (reset) and every page on key 0 nothing changes
    // for kernel or user accesses.
    unsafe { x86_64::registers::control::Cr4::write_raw(cr4) };
    // SAFETY: XCR0 holds only components CPUID 0xd.0 reports, with x87
    // and SSE set, and AVX-512 only whole with AVX: XSETBV accepts it.
    unsafe {
        core::arch::asm!("xsetbv", in("ecx") 0u32, in("eax") want as u32, in("edx") (want >> 32) as u32, options(nostack, nomem))
    };
    // the size for the XCR0 now set
    let size = size.max(__cpuid_count(0xd, 0).ebx);
    for (a, c) in COMPS.iter().zip(comps.iter()) {
        a.store(u64::from(c.0) << 32 | u64::from(c.1), Ordering::Relaxed);
    }
    SIZE.store(size, Ordering::Relaxed);
    XCR0.store(want, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QEMU `-cpu max` (TCG): x87, SSE, AVX, PKRU.
    fn qemu() -> Layout {
        let mut comps = [(0, 0); 10];
        comps[2] = (576, 256);
        comps[9] = (2688, 8);
        Layout { xcr0: 0x207, size: 2696, comps }
    }

    #[test]
    fn minsigstksz_as_linux() {
        // 732 + 15 + 2700 + 112 + 63 = 3622, rounded up to 16
        assert_eq!(min_sigstksz(&qemu()), 3632);
        assert_eq!(min_sigstksz(&Layout::FXSAVE), 1440);
    }

    #[test]
    fn sigframe_image_has_linux_magic() {
        let l = qemu();
        let mut s = init_state(&l);
        s.0[576] = 0xaa;
        put64(&mut s.0, HEADER, 0x4);
        let (img, magic2) = to_sigframe(&l, &mut s);
        assert_eq!(img.len(), 2696);
        assert_eq!(get32(img, 464), MAGIC1);
        assert_eq!(get32(img, 468), 2700);
        assert_eq!(get64(img, 472), 0x207);
        assert_eq!(get32(img, 480), 2696);
        assert_eq!(get64(img, HEADER), 0x7, "FP|SSE always set");
        assert_eq!(magic2, Some(MAGIC2.to_le_bytes()));
        assert_eq!(sigframe_sw(&l, img), Some((2696, 0x207)));
        let mut fx = img.to_vec();
        fx[464] ^= 1;
        assert_eq!(sigframe_sw(&l, &fx), None, "no MAGIC1: FXSAVE only");
        let mut fx = img.to_vec();
        put32(&mut fx, 480, 4000);
        assert_eq!(sigframe_sw(&l, &fx), None, "xstate_size past ours");
        assert_eq!(sigframe_sw(&Layout::FXSAVE, img), None);
    }

    #[test]
    fn all_zero_sees_any_nonzero_byte() {
        for len in [0usize, 1, 7, 8, 31, 32, 33, 64, 256, 259] {
            let mut b = alloc::vec![0u8; len];
            assert!(all_zero(&b), "{len} zero bytes");
            for i in 0..len {
                b[i] = 0x80;
                assert!(!all_zero(&b), "{len} bytes, byte {i} set");
                b[i] = 0;
            }
        }
    }

    #[test]
    fn zero_components_are_marked_init() {
        let l = qemu();
        let mut s = init_state(&l);
        put64(&mut s.0, HEADER, 0x207);
        mark_zero_components(&l, &mut s);
        assert_eq!(xstate_bv(&s), 0x3, "zero AVX and PKRU: init; FP/SSE kept");
        let mut s = init_state(&l);
        put64(&mut s.0, HEADER, 0x207);
        s.0[831] = 1;
        mark_zero_components(&l, &mut s);
        assert_eq!(xstate_bv(&s), 0x7, "AVX in use, PKRU 0");
        let mut s = init_state(&l);
        put64(&mut s.0, HEADER, 0x3);
        s.0[600] = 1;
        mark_zero_components(&l, &mut s);
        assert_eq!(xstate_bv(&s), 0x3, "a bit already clear stays clear");
        let mut s = init_state(&Layout::FXSAVE);
        s.0[HEADER] = 0xff;
        mark_zero_components(&Layout::FXSAVE, &mut s);
        assert_eq!(s.0[HEADER], 0xff, "FXSAVE images have no header");
    }

    #[test]
    fn sigframe_writes_the_enabled_components_only() {
        let l = qemu();
        let r: alloc::vec::Vec<_> = sigframe_ranges(&l, 2696).collect();
        assert_eq!(r, [0..832, 2688..2696]);
        // with MAGIC2 after the image: one piece with PKRU
        let r: alloc::vec::Vec<_> = sigframe_ranges(&l, 2700).collect();
        assert_eq!(r, [0..832, 2688..2700]);
        let mut s = init_state(&l);
        let (img, rest) = to_sigframe_inline(&l, &mut s);
        assert_eq!((img.len(), rest), (2700, None));
        assert_eq!(get32(img, 2696), MAGIC2);
        assert_eq!(get32(img, 464), MAGIC1);
        let mut s = init_state(&Layout::FXSAVE);
        let (img, rest) = to_sigframe_inline(&Layout::FXSAVE, &mut s);
        assert_eq!((img.len(), rest), (512, None));
        let r: alloc::vec::Vec<_> = sigframe_ranges(&Layout::FXSAVE, 512).collect();
        assert_eq!((r.len(), r.first()), (1, Some(&(0..512))), "no MAGIC2 without XSAVE");
        let r: alloc::vec::Vec<_> = sigframe_ranges(&Layout::FXSAVE, 512).collect();
        assert_eq!((r.len(), r.first()), (1, Some(&(0..512))));
        let mut mpx = qemu();
        mpx.xcr0 |= 0x18;
        mpx.comps[3] = (960, 64);
        mpx.comps[4] = (1024, 64);
        let r: alloc::vec::Vec<_> = sigframe_ranges(&mpx, 2696).collect();
        assert_eq!(r, [0..832, 960..1088, 2688..2696]);
        // a component not in use is written as its init value
        let mut s = init_state(&l);
        s.0[576] = 0xaa;
        s.0[2688] = 0x55;
        put64(&mut s.0, HEADER, 0x3);
        let (img, _) = to_sigframe(&l, &mut s);
        assert_eq!((img[576], img[2688]), (0, 0));
    }

    #[test]
    fn collected_pieces_are_the_frame_ranges() {
        let l = qemu();
        for len in [512, l.size as usize, l.frame_size()] {
            let want: Vec<_> = sigframe_ranges(&l, len).collect();
            let got: Vec<_> = Pieces::new(&l, len).iter().collect();
            assert_eq!(got, want, "len {len}");
        }
        // host: FXSAVE only, one range whatever the length asked
        assert_eq!(sigframe_pieces_now(512).iter().collect::<Vec<_>>(), vec![0..512]);
    }

    #[test]
    fn sigreturn_refuses_what_xrstor_refuses() {
        let l = qemu();
        let mut s = init_state(&l);
        put64(&mut s.0, HEADER, 0x8);
        assert_eq!(from_sigframe(&l, &s, Some(0x207)).err(), Some(Refused::Fault));
        let mut s = init_state(&l);
        put64(&mut s.0, HEADER + 8, 1);
        assert_eq!(from_sigframe(&l, &s, Some(0x207)).err(), Some(Refused::Fault));
        // FXSAVE-only: AVX and the rest go to their init state
        let mut s = init_state(&l);
        put64(&mut s.0, HEADER, 0x7);
        put32(&mut s.0, 24, 0xdead_1f80);
        let r = from_sigframe(&l, &s, None).expect("fx only");
        assert_eq!(xstate_bv(&r), 0x3 | PKRU_BIT);
        assert_eq!(get32(&r.0, 24), 0x1f80);
        assert_eq!(get32(&r.0, 2688), INIT_PKRU);
        // xfeatures without AVX: AVX is initialised
        let r = from_sigframe(&l, &s, Some(0x3)).expect("xsave");
        assert_eq!(xstate_bv(&r) & 0x4, 0);
    }

    #[test]
    fn direct_frames_are_the_copied_frames() {
        let l = qemu();
        // an XSAVE into the frame: the legacy area, a header (cleared
        // first) with the CPU's XSTATE_BV, AVX; garbage in the sw bytes
        let mut s = init_state(&l);
        s.0[576] = 0xaa;
        s.0[470] = 0x77;
        put64(&mut s.0, HEADER, 0x4);
        let mut direct = s.0[..2700].to_vec();
        sigframe_epilog(&l, &mut direct);
        let (img, rest) = to_sigframe_inline(&l, &mut s);
        assert_eq!(rest, None);
        assert_eq!(&direct[..], img, "the same bytes as the copy path's");
        assert!(direct_restore_ok(&l, &direct));
        assert!(!direct_restore_ok(&l, &direct[..2699]), "MAGIC2 not in the buffer");
        assert!(!direct_restore_ok(&Layout::FXSAVE, &direct));
        let bad = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = direct.clone();
            f(&mut b);
            direct_restore_ok(&l, &b)
        };
        assert!(!bad(&|b| b[464] ^= 1), "no MAGIC1: FXSAVE only");
        assert!(!bad(&|b| b[2696] ^= 1), "no MAGIC2");
        assert!(!bad(&|b| put64(b, 472, 0x3)), "xfeatures without AVX: AVX initialised by the copies");
        assert!(!bad(&|b| put64(b, HEADER, 0x7 | 1 << 20)), "XSTATE_BV outside XCR0");
        assert!(!bad(&|b| b[HEADER + 8] = 1), "XCOMP_BV");
        assert!(!bad(&|b| b[HEADER + 63] = 1), "reserved header bytes");
        assert!(!bad(&|b| put32(b, 24, 0x1_1f80)), "MXCSR reserved bits");
        assert!(!bad(&|b| put32(b, 480, 576)), "xstate_size 576, no MAGIC2 there");
        assert!(
            bad(&|b| {
                put32(b, 480, 576);
                put32(b, 576, MAGIC2)
            }),
            "a smaller xstate_size with MAGIC2 after it"
        );
        let mut zero = vec![0u8; 2700];
        sigframe_epilog(&l, &mut zero);
        assert_eq!(get64(&zero, HEADER), FPSSE);
        assert_eq!(get32(&zero, 2696), MAGIC2);
    }

    #[test]
    fn xrstor_reads_only_the_components_in_use_and_requested() {
        let l = qemu();
        let r: alloc::vec::Vec<_> = xrstor_reads(&l, 0x207, 0x207).collect();
        assert_eq!(r, [576..832, 2688..2696]);
        assert_eq!(xrstor_reads(&l, 0x3, 0x207).count(), 0);
        assert_eq!(xrstor_reads(&l, 0x207, 0x3).count(), 0);
        let r: alloc::vec::Vec<_> = xrstor_reads(&l, 0x4 | 0x40, 0x207).collect();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0], 576..832, "bits outside XCR0 read nothing (XRSTOR refuses them before)");
    }

    #[test]
    fn live_copy_takes_legacy_header_and_components_in_use() {
        let l = qemu();
        let r: alloc::vec::Vec<_> = live_ranges(&l, 0x7).collect();
        assert_eq!(r, [0..576, 576..832]);
        let r: alloc::vec::Vec<_> = live_ranges(&l, 0x3 | PKRU_BIT).collect();
        assert_eq!(r, [0..576, 2688..2696]);
        let r: alloc::vec::Vec<_> = live_ranges(&Layout::FXSAVE, 0x7).collect();
        assert_eq!((r.len(), r.first()), (1, Some(&(0..512))));
        let mut src = FpuState([0x11; XSTATE_MAX]);
        put64(&mut src.0, HEADER, 0x7);
        let mut dst = FpuState([0xee; XSTATE_MAX]);
        copy_live(&l, &mut dst, &src);
        assert!(dst.0[..832].iter().enumerate().all(|(i, &b)| b == src.0[i]));
        assert!(dst.0[832..].iter().all(|&b| b == 0xee), "PKRU not in use: not copied");
        // the regset reads PKRU not in use as 0, whatever its bytes hold
        assert_eq!(get32(&to_regset(&l, &dst).0, 2688), 0);
        let mut back = src.clone();
        back.0[HEADER..HEADER + 64].fill(0);
        let s = from_regset(&l, &dst, &back.0[..2696]).expect("valid");
        assert_eq!(xstate_bv(&s), PKRU_BIT);
        assert_eq!(get64(&s.0, 2688), 0, "PKRU kept: it was in its init state");
    }

    #[test]
    fn regset_round_trip_and_checks() {
        let l = qemu();
        let mut s = init_state(&l);
        s.0[576..608].fill(0x5a);
        s.0[0] = 0x11;
        put64(&mut s.0, HEADER, 0x4 | PKRU_BIT);
        let r = to_regset(&l, &s);
        assert_eq!(&r.0[576..608], &[0x5a; 32], "AVX upper halves");
        assert_eq!(get32(&r.0, 0), 0x37f, "x87 not in use reads as init");
        assert_eq!(get64(&r.0, 464), 0x207, "XCR0 for gdb");
        assert_eq!(get32(&r.0, 2688), INIT_PKRU);
        let back = from_regset(&l, &s, &r.0[..2696]).expect("valid");
        assert_eq!(&back.0[576..608], &[0x5a; 32]);
        assert_eq!(from_regset(&l, &s, &r.0[..2688]).err(), Some(Refused::Invalid));
        let mut bad = r.clone();
        put64(&mut bad.0, HEADER, 0x10);
        assert_eq!(from_regset(&l, &s, &bad.0[..2696]).err(), Some(Refused::Invalid));
        let mut bad = r.clone();
        put64(&mut bad.0, HEADER, 0x2);
        put32(&mut bad.0, 24, 0x1_0000);
        assert_eq!(from_regset(&l, &s, &bad.0[..2696]).err(), Some(Refused::Invalid));
        let mut bad = r.clone();
        bad.0[HEADER + 40] = 1;
        assert_eq!(from_regset(&l, &s, &bad.0[..2696]).err(), Some(Refused::Invalid));
    }
}

//! User mode: a thread's registers ([`UserContext`]) and [`UserContext::run`],
//! which enters ring 3 and returns when the thread makes a system call, takes
//! an exception or is interrupted.
//!
//! The kernel thread behind each user thread loops: `run()`, handle the
//! [`UserExit`], `run()` again. Entering saves the kernel's callee-saved
//! registers on the kernel stack and records that stack pointer (per-CPU
//! data through GS, and TSS.rsp0); SYSCALL and traps from ring 3 store the
//! user registers into the context and return from `run()` on that stack.
//! FPU/SSE/AVX state is saved with XSAVE (every component `xstate::init`
//! enabled in XCR0; FXSAVE on a CPU without XSAVE), lazily: the kernel
//! never touches the FPU (the target has no SSE), so after `run()` the
//! thread's state stays in the registers, and is saved only when its kernel
//! thread switches away (into the context's own image, in place:
//! `context::switch`; the per-CPU record names that image while its state
//! is live) or when the kernel reads it ([`UserContext::fpu`], `Clone`).
//! Running the same context again then restores nothing. One image per
//! thread: a kernel thread has no spill area of its own.

#[cfg(target_os = "none")]
mod entry;
#[cfg(target_os = "none")]
pub(crate) use entry::{fpu_forget, fpu_switch_out};
#[cfg(target_os = "none")]
pub(crate) use entry::{gp_fixup, init, syscall_msrs, xrstor_checked_for_test};

/// A user thread's saved registers and FPU state.
///
/// The XSAVE image lives in a heap box of its own ([`FpuBox`], allocated
/// fallibly: [`UserContext::try_clone`] fails with ENOMEM rather than
/// panic), so a context is small to move and the process table's records
/// stay small. A context made by [`Default`] or left by
/// [`UserContext::take`] is a *shell*: registers only, no image memory,
/// the initial FPU state; it is meant to be filled (`copy_from`) or
/// swapped with a full context, not run.
#[repr(C, align(16))]
pub struct UserContext {
    /// General registers, `rip`, `rflags`, and the FS/GS bases.
    pub regs: GeneralRegs,
    /// Why `run` returned: [`SYSCALL_TRAP`] or an interrupt vector.
    pub trap: u64,
    /// The exception's error code.
    pub error_code: u64,
    /// CR2 at a page fault.
    pub cr2: u64,
    /// Nonzero while `fpu` may be stale: the state is in this CPU's FPU
    /// registers while the per-CPU record names the image (`entry`'s
    /// `fpu_live`), else a switch away saved it into the image in place.
    /// Only the context's own kernel thread runs or reads such a context.
    fpu_live: u64,
    /// While not live: the state is the initial one ([`initial_fpu`]) and
    /// what `fpu` holds is not read (exec and signal delivery reset the
    /// state without writing the image; a shell has no image).
    fpu_init: bool,
    /// XSAVE area (x87, SSE, AVX, ...); read it through [`UserContext::fpu`].
    /// `None` only in a shell (then `fpu_init` is set).
    fpu: Option<FpuBox>,
}

impl Default for UserContext {
    /// A shell: zero registers, the initial FPU state, no image memory.
    fn default() -> Self {
        UserContext {
            regs: GeneralRegs::default(),
            trap: 0,
            error_code: 0,
            cr2: 0,
            fpu_live: 0,
            fpu_init: true,
            fpu: None,
        }
    }
}

/// The heap memory for an XSAVE image failed to be allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocError;

impl From<AllocError> for linux_abi::Errno {
    /// ENOMEM, as Linux's failed `dup_task_struct`.
    fn from(_: AllocError) -> Self {
        linux_abi::Errno::ENOMEM
    }
}

/// An XSAVE image in the kernel heap: 64-byte aligned (as XSAVE/XRSTOR
/// require), allocated with a fallible allocation (stable Rust has no
/// `Box::try_new`). Held by a raw pointer rather than a `Box`: while its
/// context's state is live, a switch away from the thread writes the image
/// through the per-CPU record's pointer (`entry::fpu_switch_out`), and no
/// reference to it exists then (every access first takes the state back
/// with interrupts off: [`UserContext::fpu`], `disown`).
pub struct FpuBox(core::ptr::NonNull<FpuState>);

// SAFETY: the box owns its image as a `Box` would (freed once, by its
// drop); the raw pointer carries no thread affinity.
unsafe impl Send for FpuBox {}
// SAFETY: shared access only reads through `Deref`, as `&Box<FpuState>`.
unsafe impl Sync for FpuBox {}

impl Drop for FpuBox {
    fn drop(&mut self) {
        // SAFETY: the pointer came from the global allocator with
        // FpuState's layout (`try_new`) and is freed only here.
        unsafe { alloc::alloc::dealloc(self.0.as_ptr() as *mut u8, core::alloc::Layout::new::<FpuState>()) }
    }
}

impl FpuBox {
    /// Heap memory for one image, its bytes copied from `src` (or zeroed
    /// when `src` is `None`); `Err` when the heap has none.
    pub fn try_new(src: Option<&FpuState>) -> Result<Self, AllocError> {
        let layout = core::alloc::Layout::new::<FpuState>();
        // SAFETY: the layout is FpuState's (2752 bytes, not zero-sized,
        // align 64).
        let p = unsafe {
            if src.is_some() { alloc::alloc::alloc(layout) } else { alloc::alloc::alloc_zeroed(layout) }
        } as *mut FpuState;
        if p.is_null() {
            return Err(AllocError);
        }
        if let Some(src) = src {
            // the state (`xstate::live_ranges`), zeros between and after:
            // every byte written once
            let (dst, from) = (p as *mut u8, src.0.as_ptr());
            let mut at = 0;
            for r in crate::xstate::live_ranges(&crate::xstate::layout(), crate::xstate::xstate_bv(src)) {
                let start = r.start.max(at);
                let end = r.end.min(crate::xstate::XSTATE_MAX);
                if start >= end {
                    continue;
                }
                // SAFETY: `at <= start < end <= XSTATE_MAX`: inside the
                // fresh allocation of FpuState's size, which `src` (a
                // live reference) cannot overlap.
                unsafe {
                    core::ptr::write_bytes(dst.add(at), 0, start - at);
                    core::ptr::copy_nonoverlapping(from.add(start), dst.add(start), end - start);
                }
                at = end;
            }
            // SAFETY: as above; the rest of the allocation.
            unsafe { core::ptr::write_bytes(dst.add(at), 0, crate::xstate::XSTATE_MAX - at) };
        }
        // `p` is not null (checked above) and holds an initialised
        // FpuState (copied, or all zeros: a byte array), freed by the drop
        Ok(FpuBox(core::ptr::NonNull::new(p).ok_or(AllocError)?))
    }

    /// The image's address: the per-CPU record's name for it while its
    /// state is live.
    #[cfg_attr(not(target_os = "none"), allow(dead_code))]
    fn addr(&self) -> usize {
        self.0.as_ptr() as usize
    }
}

impl FpuBox {
    /// Copies the state of `src` into the image (`xstate::copy_live`).
    fn set(&mut self, src: &FpuState) {
        crate::xstate::copy_live(&crate::xstate::layout(), self, src);
    }
}

impl core::ops::Deref for FpuBox {
    type Target = FpuState;
    fn deref(&self) -> &FpuState {
        // SAFETY: the box owns an initialised image; nothing writes it
        // while this borrow lives (a switch writes only an image whose
        // context is live, and contexts take their state back first).
        unsafe { self.0.as_ref() }
    }
}

impl core::ops::DerefMut for FpuBox {
    fn deref_mut(&mut self) -> &mut FpuState {
        // SAFETY: as `deref`, borrowed mutably through the box.
        unsafe { self.0.as_mut() }
    }
}

/// The initial FPU state for the layout in use (computed once, after
/// `xstate::init` published the layout: the first user context runs
/// later).
pub fn initial_fpu() -> &'static FpuState {
    static INIT: spin::Once<FpuState> = spin::Once::new();
    INIT.call_once(FpuState::default)
}

/// The signal-frame image of the initial FPU state
/// (`xstate::to_sigframe_inline` of [`initial_fpu`], made once): what a frame
/// holds for a context in the initial state, without a copy of the
/// state per delivery.
pub fn initial_sigframe() -> (&'static [u8], Option<[u8; 4]>) {
    static IMG: spin::Once<(FpuState, usize, Option<[u8; 4]>)> = spin::Once::new();
    let (s, len, magic2) = IMG.call_once(|| {
        let mut s = initial_fpu().clone();
        let (len, magic2) = {
            let (img, m) = crate::xstate::to_sigframe_inline(&crate::xstate::layout(), &mut s);
            (img.len(), m)
        };
        (s, len, magic2)
    });
    (&s.0[..*len], *magic2)
}

impl Clone for UserContext {
    /// [`UserContext::try_clone`]; a failed allocation is the allocator's
    /// error handler (the kernel itself uses `try_clone`).
    fn clone(&self) -> Self {
        match self.try_clone() {
            Ok(c) => c,
            Err(AllocError) => alloc::alloc::handle_alloc_error(core::alloc::Layout::new::<FpuState>()),
        }
    }
}

impl UserContext {
    /// A copy with the FPU state as it is now (fetched from the registers
    /// when they hold it) in an image of its own; the initial state is not
    /// copied (Linux's `fpu_clone` copies the parent's state: so does this,
    /// unless there is none to copy). `Err` when the heap has no room.
    pub fn try_clone(&self) -> Result<Self, AllocError> {
        let (fpu, fpu_init) = match (&self.fpu, self.fpu_init) {
            (Some(f), _) if self.fpu_live != 0 => {
                let mut b = FpuBox::try_new(None)?;
                Self::fetch_live(f, &mut b);
                (b, false)
            }
            (Some(f), false) => (FpuBox::try_new(Some(f))?, false),
            _ => (FpuBox::try_new(None)?, true),
        };
        Ok(UserContext {
            regs: self.regs,
            trap: self.trap,
            error_code: self.error_code,
            cr2: self.cr2,
            fpu_live: 0,
            fpu_init,
            fpu: Some(fpu),
        })
    }

    /// Makes `self` a copy of `src` (registers and FPU state as it is
    /// now), reusing `self`'s image memory; allocates only when `self` is
    /// a shell (`Err` when the heap has no room, `self` unchanged).
    pub fn copy_from(&mut self, src: &UserContext) -> Result<(), AllocError> {
        if self.fpu.is_none() {
            self.fpu = Some(FpuBox::try_new(None)?);
        }
        self.disown();
        self.regs = src.regs;
        self.trap = src.trap;
        self.error_code = src.error_code;
        self.cr2 = src.cr2;
        self.fpu_init = false;
        let Some(dst) = self.fpu.as_mut() else { return Ok(()) };
        match (&src.fpu, src.fpu_init) {
            (Some(f), _) if src.fpu_live != 0 => Self::fetch_live(f, dst),
            (Some(f), false) => dst.set(f),
            _ => self.fpu_init = true,
        }
        Ok(())
    }

    /// Moves the registers and the image out, leaving a shell with the
    /// same registers and the initial FPU state (no allocation, no copy).
    pub fn take(&mut self) -> UserContext {
        self.save_fpu();
        let shell = UserContext {
            regs: self.regs,
            trap: self.trap,
            error_code: self.error_code,
            cr2: self.cr2,
            fpu_live: 0,
            fpu_init: true,
            fpu: None,
        };
        core::mem::replace(self, shell)
    }

    /// Saves a live FPU state into the image, so that the context may be
    /// handed to others (swapped into the table for a tracer): only its
    /// own thread may touch a live context.
    pub fn save_fpu(&mut self) {
        self.sync_fpu();
    }

    /// The FPU/SSE state (saved from the registers first if they hold it).
    pub fn fpu(&mut self) -> &FpuState {
        self.sync_fpu();
        match &self.fpu {
            Some(f) if !self.fpu_init => f,
            _ => initial_fpu(),
        }
    }

    /// Replaces the FPU/SSE state (loaded into the registers by the next
    /// `run()`).
    pub fn set_fpu(&mut self, state: &FpuState) {
        self.disown();
        match &mut self.fpu {
            Some(f) => {
                f.set(state);
                self.fpu_init = false;
            }
            None => match FpuBox::try_new(Some(state)) {
                Ok(f) => {
                    self.fpu = Some(f);
                    self.fpu_init = false;
                }
                // only a shell has no image, and shells are not given
                // states: keep the initial one
                Err(AllocError) => log::error!("no memory for an FPU image: the initial state instead"),
            },
        }
    }

    /// The FPU state as it is now in the context's own image, for a signal
    /// frame to be made of it in place (`xstate::to_sigframe` rewrites the
    /// sw bytes and the header, which leaves the same state); `None` when
    /// the context is in the initial state ([`initial_fpu`] holds it). The
    /// caller then resets the state ([`UserContext::reset_fpu`]: the
    /// handler's) or leaves it as it is.
    pub fn fpu_for_frame(&mut self) -> Option<&mut FpuState> {
        self.sync_fpu();
        match &mut self.fpu {
            Some(f) if !self.fpu_init => Some(f),
            _ => None,
        }
    }

    /// The context's own image, to be overwritten by the caller (a
    /// sigreturn reads the user's image into it, then
    /// `sigframe::restore_fpu_in_place` checks and completes it): the live
    /// registers are forgotten and the next `run()` loads the image.
    /// `Err` (state unchanged) when a shell's image cannot be allocated.
    pub fn fpu_to_overwrite(&mut self) -> Result<&mut FpuState, AllocError> {
        if self.fpu.is_none() {
            self.fpu = Some(FpuBox::try_new(None)?);
        }
        // a switch away must not save the registers over it any more
        self.disown();
        self.fpu_init = false;
        match &mut self.fpu {
            Some(f) => Ok(f),
            None => Err(AllocError),
        }
    }

    /// The image [`UserContext::fpu_to_overwrite`] handed out, if the
    /// context still uses it.
    pub(crate) fn fpu_overwritten(&mut self) -> Option<&mut FpuState> {
        match &mut self.fpu {
            Some(f) if !self.fpu_init && self.fpu_live == 0 => Some(f),
            _ => None,
        }
    }

    /// Resets the FPU/SSE state to the initial one (exec, signal handler
    /// entry), without writing the image.
    pub fn reset_fpu(&mut self) {
        self.disown();
        self.fpu_init = true;
    }

    /// Drops a live state without saving it (it is about to be replaced):
    /// a switch away must not write the image any more.
    fn disown(&mut self) {
        if self.fpu_live == 0 {
            return;
        }
        self.fpu_live = 0;
        #[cfg(target_os = "none")]
        if let Some(f) = &self.fpu {
            entry::fpu_disown(f.addr());
        }
    }

    /// The image the next `run()` loads (not live).
    #[cfg(target_os = "none")]
    fn image(&self) -> &FpuState {
        match &self.fpu {
            Some(f) if !self.fpu_init => f,
            _ => initial_fpu(),
        }
    }

    /// The state of a live context whose image is `img` into `dst`: from
    /// the registers when they hold it, else from `img` (where a switch
    /// away saved it).
    #[cfg(target_os = "none")]
    fn fetch_live(img: &FpuBox, dst: &mut FpuState) {
        entry::fpu_fetch(dst, img);
    }

    /// The live FPU state (on the host: the image, nothing runs).
    #[cfg(not(target_os = "none"))]
    fn fetch_live(img: &FpuBox, dst: &mut FpuState) {
        crate::xstate::copy_live(&crate::xstate::layout(), dst, img);
    }

    /// Brings `fpu` up to date from the registers (a switch away already
    /// saved it there otherwise).
    fn sync_fpu(&mut self) {
        if self.fpu_live == 0 {
            return;
        }
        self.fpu_live = 0;
        match self.fpu.as_mut() {
            Some(_f) => {
                self.fpu_init = false;
                #[cfg(target_os = "none")]
                entry::fpu_save_live(_f);
            }
            // a shell is never live (`run` keeps no state for one)
            None => self.fpu_init = true,
        }
    }
}

#[cfg(not(target_os = "none"))]
impl UserContext {
    /// Bare metal: XSAVE into a signal frame's user page. On the host
    /// nothing runs in user mode: always `false` (the copies).
    pub fn fpu_to_user_page(
        &mut self,
        _l: &crate::xstate::Layout,
        _frame: vm::Frame,
        _offset: usize,
    ) -> bool {
        false
    }

    /// Bare metal: XRSTOR from a sigreturn's user page. On the host:
    /// always `false` (the copies).
    pub fn fpu_from_user_page(
        &mut self,
        _l: &crate::xstate::Layout,
        _frame: vm::Frame,
        _offset: usize,
    ) -> bool {
        false
    }
}

/// Marker in [`UserContext::trap`] for a SYSCALL.
pub const SYSCALL_TRAP: u64 = 0x100;

/// The general registers in the order the entry code stores them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct GeneralRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
    pub fs_base: u64,
    pub gs_base: u64,
}

/// The XSAVE image in the standard format (the FXSAVE legacy area, the
/// XSAVE header, the enabled components at their CPUID offsets; only the
/// first 512 bytes are used without XSAVE). See [`crate::xstate`].
#[repr(C, align(64))]
#[derive(Clone)]
pub struct FpuState(pub [u8; crate::xstate::XSTATE_MAX]);

impl Default for FpuState {
    /// The state after FNINIT with Linux's MXCSR: FCW 0x37f, MXCSR 0x1f80;
    /// the extended components in their init state, PKRU as Linux's
    /// `init_pkru_value`.
    fn default() -> Self {
        crate::xstate::init_state(&crate::xstate::layout())
    }
}

static_assertions::const_assert_eq!(core::mem::offset_of!(UserContext, trap), 160);

/// Why [`UserContext::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserExit {
    /// The thread executed SYSCALL: the number is in `rax`, the arguments in
    /// rdi, rsi, rdx, r10, r8, r9; `rip` is past the instruction.
    Syscall,
    /// A CPU exception in user mode.
    Exception {
        /// The vector (0..=31).
        vector: u8,
        /// The error code (0 when the CPU pushes none).
        error_code: u64,
        /// CR2 (the fault address) for a page fault.
        cr2: u64,
    },
    /// A hardware interrupt arrived while in user mode (already
    /// acknowledged); the kernel may reschedule.
    Interrupt(u8),
}

/// RFLAGS bits user code may set (Linux's FIX_EFLAGS: AC OF DF TF SF ZF AF PF CF RF).
pub const USER_FLAGS: u64 = 0x5_0dd5;

/// Whether `addr` is in the user half.
pub fn canonical_user(addr: u64) -> bool {
    addr < 0x0000_8000_0000_0000
}

impl UserContext {
    /// [`UserContext::try_new`] for the boot path (init's first thread);
    /// a failed allocation is the allocator's error handler.
    pub fn new(entry: u64, stack: u64) -> Self {
        match Self::try_new(entry, stack) {
            Ok(c) => c,
            Err(AllocError) => alloc::alloc::handle_alloc_error(core::alloc::Layout::new::<FpuState>()),
        }
    }

    /// A context that starts at `entry` with stack pointer `stack` and the
    /// initial FPU state, with its image memory (`Err` when the heap has
    /// none).
    pub fn try_new(entry: u64, stack: u64) -> Result<Self, AllocError> {
        let mut c = UserContext::default();
        c.fpu = Some(FpuBox::try_new(None)?);
        c.regs.rip = entry;
        c.regs.rsp = stack;
        c.regs.rflags = 0x202;
        Ok(c)
    }

    /// The syscall number (`rax`).
    pub fn syscall_number(&self) -> u64 {
        self.regs.rax
    }

    /// The six syscall arguments (rdi, rsi, rdx, r10, r8, r9).
    pub fn syscall_args(&self) -> [u64; 6] {
        let r = &self.regs;
        [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9]
    }

    /// Sets the syscall return value (`rax`).
    pub fn set_syscall_return(&mut self, v: u64) {
        self.regs.rax = v;
    }
}

impl Drop for UserContext {
    /// A context dropped while its state is live (its thread's exit): a
    /// switch away must not write its freed image.
    fn drop(&mut self) {
        self.disown();
    }
}

/// What the process crate's clone and exec need of the registers.
impl process::seams::UserContext for UserContext {
    fn set_return_value(&mut self, value: usize) {
        self.regs.rax = value as u64;
    }
    fn stack_pointer(&self) -> usize {
        self.regs.rsp as usize
    }
    fn set_stack_pointer(&mut self, sp: usize) {
        self.regs.rsp = sp as u64;
    }
    fn tls(&self) -> usize {
        self.regs.fs_base as usize
    }
    fn set_tls(&mut self, tls: usize) {
        self.regs.fs_base = tls as u64;
    }
    fn instruction_pointer(&self) -> usize {
        self.regs.rip as usize
    }
    fn set_instruction_pointer(&mut self, ip: usize) {
        self.regs.rip = ip as u64;
    }
    fn try_clone(&self) -> linux_abi::Result<Self> {
        Ok(UserContext::try_clone(self)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(b: u8) -> FpuState {
        let mut s = FpuState::default();
        s.0[160] = b;
        s
    }

    #[test]
    fn the_image_is_boxed_and_64_aligned() {
        assert!(core::mem::size_of::<UserContext>() < 512);
        let b = FpuBox::try_new(Some(&marked(7))).unwrap();
        assert_eq!(&*b as *const FpuState as usize % 64, 0);
        assert_eq!((*b).0[160], 7);
        let z = FpuBox::try_new(None).unwrap();
        assert!((*z).0.iter().all(|&x| x == 0));
    }

    #[test]
    fn clones_copy_the_state_and_the_initial_state_lazily() {
        let mut c = UserContext::new(0x40_0000, 0x7fff_0000);
        assert!(c.fpu().0 == initial_fpu().0);
        c.set_fpu(&marked(9));
        let mut d = c.try_clone().unwrap();
        assert_eq!(d.fpu().0[160], 9);
        assert_eq!(d.regs, c.regs);
        // a reset writes nothing, and its clone copies nothing
        c.reset_fpu();
        assert!(c.fpu().0 == initial_fpu().0);
        let mut e = c.try_clone().unwrap();
        assert!(e.fpu_init);
        assert!(e.fpu().0 == initial_fpu().0);
        // d still has its own copy
        assert_eq!(d.fpu().0[160], 9);
    }

    #[test]
    fn take_leaves_a_shell_and_copy_from_fills_it() {
        let mut c = UserContext::new(0x40_0000, 0x7fff_0000);
        c.set_fpu(&marked(3));
        let mut moved = c.take();
        assert!(c.fpu.is_none());
        assert_eq!(c.regs, moved.regs);
        assert!(c.fpu().0 == initial_fpu().0);
        assert_eq!(moved.fpu().0[160], 3);
        c.copy_from(&moved).unwrap();
        assert_eq!(c.fpu().0[160], 3);
        moved.set_fpu(&marked(4));
        assert_eq!(c.fpu().0[160], 3);
    }
}

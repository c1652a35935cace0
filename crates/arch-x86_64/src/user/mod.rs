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
//! thread switches away (into the kernel thread's spill area,
//! `context::switch`) or when the kernel reads it ([`UserContext::fpu`],
//! `Clone`). Running the same context again then restores nothing.

#[cfg(target_os = "none")]
mod entry;
#[cfg(target_os = "none")]
pub(crate) use entry::{fpu_forget, fpu_switch_out, fxrstor};
#[cfg(target_os = "none")]
pub(crate) use entry::{init, syscall_msrs};

/// A user thread's saved registers and FPU state.
#[repr(C, align(16))]
#[derive(Default)]
pub struct UserContext {
    /// General registers, `rip`, `rflags`, and the FS/GS bases.
    pub regs: GeneralRegs,
    /// Why `run` returned: [`SYSCALL_TRAP`] or an interrupt vector.
    pub trap: u64,
    /// The exception's error code.
    pub error_code: u64,
    /// CR2 at a page fault.
    pub cr2: u64,
    /// Nonzero while `fpu` is stale: the state is in the FPU registers (or
    /// was spilled to the kernel thread's area by a switch).
    fpu_live: u64,
    /// XSAVE area (x87, SSE, AVX, ...); read it through [`UserContext::fpu`].
    fpu: FpuState,
}

impl Clone for UserContext {
    /// A copy with the FPU state as it is now (fetched from the registers
    /// when they hold it).
    fn clone(&self) -> Self {
        UserContext {
            regs: self.regs,
            trap: self.trap,
            error_code: self.error_code,
            cr2: self.cr2,
            fpu_live: 0,
            fpu: self.fpu_now(),
        }
    }
}

impl UserContext {
    /// The FPU/SSE state (saved from the registers first if they hold it).
    pub fn fpu(&mut self) -> &FpuState {
        self.sync_fpu();
        &self.fpu
    }

    /// Replaces the FPU/SSE state (loaded into the registers by the next
    /// `run()`).
    pub fn set_fpu(&mut self, state: FpuState) {
        self.fpu = state;
        self.fpu_live = 0;
    }

    /// A copy of the FPU state as it is now.
    #[cfg(target_os = "none")]
    fn fpu_now(&self) -> FpuState {
        let mut f = self.fpu.clone();
        if self.fpu_live != 0 {
            entry::fpu_fetch(&mut f, self as *const UserContext as usize);
        }
        f
    }

    /// A copy of the FPU state as it is now (on the host nothing is live).
    #[cfg(not(target_os = "none"))]
    fn fpu_now(&self) -> FpuState {
        self.fpu.clone()
    }

    /// Brings `fpu` up to date from the registers or the spill area.
    fn sync_fpu(&mut self) {
        if self.fpu_live != 0 {
            self.fpu_live = 0;
            #[cfg(target_os = "none")]
            {
                let token = self as *const UserContext as usize;
                entry::fpu_fetch(&mut self.fpu, token);
            }
        }
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

static_assertions::const_assert_eq!(core::mem::offset_of!(UserContext, fpu), 192);
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
    /// A context that starts at `entry` with stack pointer `stack`.
    pub fn new(entry: u64, stack: u64) -> Self {
        let mut c = UserContext::default();
        c.regs.rip = entry;
        c.regs.rsp = stack;
        c.regs.rflags = 0x202;
        c
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
}

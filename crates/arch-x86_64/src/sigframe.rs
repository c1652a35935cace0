//! The x86_64 signal frame: what Linux pushes on the user stack to run a
//! handler (`struct rt_sigframe`: the return address, a `ucontext` with the
//! `sigcontext` registers, the saved mask and the alternate-stack settings,
//! then the `siginfo`; the XSAVE image (FXSAVE without XSAVE) 64-byte
//! aligned above it, see [`crate::xstate`]), and how `rt_sigreturn` reads
//! it back.
//!
//! Pure layout code over byte buffers, so the kernel does the user-memory
//! copies (through `vm`) and the host tests check every offset.

use crate::user::{USER_FLAGS, UserContext};
use crate::xstate::{self, Layout};

/// `sizeof(struct ucontext)` on x86_64 (flags, link, stack_t, sigcontext, sigset).
pub const UCONTEXT_SIZE: usize = 304;
/// `sizeof(struct rt_sigframe)`: return address, ucontext, siginfo.
pub const FRAME_SIZE: usize = 8 + UCONTEXT_SIZE + 128;
/// The FXSAVE image's size (the legacy part of every FPU image).
pub const FPSTATE_SIZE: usize = 512;
/// The red zone below the user stack pointer that a frame must skip.
pub const RED_ZONE: u64 = 128;

/// Offsets inside the frame.
const UC: usize = 8;
const UC_FLAGS: usize = UC;
const UC_STACK: usize = UC + 16;
const MCONTEXT: usize = UC + 40;
const UC_SIGMASK: usize = UC + 296;
const SIGINFO: usize = 8 + UCONTEXT_SIZE;

/// `UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS`, as Linux sets without XSAVE.
const UC_FLAGS_VALUE: u64 = 0x2 | 0x4;
/// `UC_FP_XSTATE`: the FPU image is an XSAVE image.
const UC_FP_XSTATE: u64 = 0x1;

/// User code and stack selectors (as Linux's GDT, mirrored by ours).
const USER_CS: u16 = 0x33;
const USER_SS: u16 = 0x2b;

/// `stack_t`: the alternate signal stack as the frame records it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    /// `ss_sp`.
    pub sp: u64,
    /// `ss_flags`.
    pub flags: i32,
    /// `ss_size`.
    pub size: u64,
}

/// A frame ready to be copied to user memory.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Where the frame starts (the handler's stack pointer).
    pub addr: u64,
    /// The frame's bytes, from `addr` up.
    pub frame: [u8; FRAME_SIZE],
    /// Where the FXSAVE image goes (64-byte aligned, above the frame).
    pub fpstate_addr: u64,
}

/// What a handler's frame records besides the registers.
#[derive(Clone, Copy, Debug)]
pub struct FrameInfo<'a> {
    /// The signal number.
    pub signo: u32,
    /// The 128-byte `siginfo_t`.
    pub siginfo: &'a [u8; 128],
    /// `sa_restorer`: where the handler returns to.
    pub restorer: u64,
    /// The mask to restore at `rt_sigreturn` (`uc_sigmask`).
    pub saved_mask: u64,
    /// The alternate stack as sigaltstack(2) would report it (`uc_stack`).
    pub altstack: AltStack,
    /// The top of the alternate stack when the handler runs on it
    /// (`SA_ONSTACK` and not already on it), else `None`.
    pub altstack_top: Option<u64>,
    /// The exception's error code and trap number and CR2 (zero for
    /// signals that are not faults).
    pub err: u64,
    /// The trap number.
    pub trapno: u64,
    /// CR2 for a page fault.
    pub cr2: u64,
}

fn put(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn get(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Builds the frame for `ctx` (the interrupted registers) as Linux's
/// `get_sigframe()` and `setup_rt_frame()` do, for the FPU layout in use.
pub fn build(ctx: &UserContext, info: &FrameInfo) -> Frame {
    build_for(&xstate::layout(), ctx, info)
}

/// [`build`] for the FPU layout `l`: the FPU image takes
/// `l.frame_size()` bytes; `uc_flags` has UC_FP_XSTATE with XSAVE.
pub fn build_for(l: &Layout, ctx: &UserContext, info: &FrameInfo) -> Frame {
    let sp = match info.altstack_top {
        Some(top) => top,
        None => ctx.regs.rsp.wrapping_sub(RED_ZONE),
    };
    let fpstate_addr = sp.wrapping_sub(l.frame_size() as u64) & !63;
    let addr = (fpstate_addr.wrapping_sub(FRAME_SIZE as u64) & !15).wrapping_sub(8);
    let mut f = [0u8; FRAME_SIZE];
    put(&mut f, 0, info.restorer);
    put(&mut f, UC_FLAGS, if l.xsave() { UC_FLAGS_VALUE | UC_FP_XSTATE } else { UC_FLAGS_VALUE });
    put(&mut f, UC_STACK, info.altstack.sp);
    f[UC_STACK + 8..UC_STACK + 12].copy_from_slice(&info.altstack.flags.to_le_bytes());
    put(&mut f, UC_STACK + 16, info.altstack.size);
    let r = &ctx.regs;
    let m = MCONTEXT;
    for (i, v) in [
        r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx, r.rax,
        r.rcx, r.rsp, r.rip, r.rflags,
    ]
    .into_iter()
    .enumerate()
    {
        put(&mut f, m + 8 * i, v);
    }
    f[m + 144..m + 146].copy_from_slice(&USER_CS.to_le_bytes());
    f[m + 150..m + 152].copy_from_slice(&USER_SS.to_le_bytes());
    put(&mut f, m + 152, info.err);
    put(&mut f, m + 160, info.trapno);
    put(&mut f, m + 168, info.saved_mask);
    put(&mut f, m + 176, info.cr2);
    put(&mut f, m + 184, fpstate_addr);
    put(&mut f, UC_SIGMASK, info.saved_mask);
    f[SIGINFO..SIGINFO + 128].copy_from_slice(info.siginfo);
    Frame { addr, frame: f, fpstate_addr }
}

/// Points `ctx` at the handler: `rdi` = signal, `rsi` = &siginfo, `rdx` =
/// &ucontext, `rax` = 0, the stack at the frame; DF and TF cleared.
pub fn enter_handler(ctx: &mut UserContext, frame: &Frame, handler: u64, signo: u32) {
    let r = &mut ctx.regs;
    r.rdi = u64::from(signo);
    r.rsi = frame.addr + SIGINFO as u64;
    r.rdx = frame.addr + UC as u64;
    r.rax = 0;
    r.rsp = frame.addr;
    r.rip = handler;
    r.rflags &= !((1 << 10) | (1 << 8));
}

/// The size of the buffer [`restore`] takes: the frame from the user
/// `rsp - 8` (the handler's `ret` popped the return address).
pub const SIGRETURN_READ: usize = FRAME_SIZE;

/// The bytes of that frame `rt_sigreturn` reads, as Linux's: `uc_flags`,
/// `uc_stack`, the `sigcontext` and `uc_sigmask` (not the return address
/// nor the siginfo, whose page need not be readable); the rest of the
/// buffer is not looked at.
pub const SIGRETURN_BYTES: core::ops::Range<usize> = UC_FLAGS..UC_SIGMASK + 8;

/// What `rt_sigreturn` restores besides the registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The signal mask (`uc_sigmask`).
    pub mask: u64,
    /// The alternate stack settings (`uc_stack`) for restore_altstack().
    pub altstack: AltStack,
    /// Where the FXSAVE image is (0: none, the FPU goes back to its
    /// initial state as Linux's fpu__clear_user_states()).
    pub fpstate_addr: u64,
    /// The code selector the frame asks for (`sigcontext.cs`); Linux
    /// returns to it with RPL 3, so anything but the 64-bit user code
    /// segment makes its iret fault (SIGSEGV).
    pub cs: u16,
}

/// Restores the registers of `ctx` from a frame read at `rsp - 8` (the
/// bytes of [`SIGRETURN_READ`] length): every general register, `rip`, and
/// the user-changeable RFLAGS bits; `rax` too, so the syscall's return value
/// is the interrupted code's `rax`.
pub fn restore(ctx: &mut UserContext, frame: &[u8]) -> Option<Restored> {
    if frame.len() < FRAME_SIZE {
        return None;
    }
    let m = MCONTEXT;
    let r = &mut ctx.regs;
    let regs: [&mut u64; 17] = [
        &mut r.r8, &mut r.r9, &mut r.r10, &mut r.r11, &mut r.r12, &mut r.r13, &mut r.r14, &mut r.r15,
        &mut r.rdi, &mut r.rsi, &mut r.rbp, &mut r.rbx, &mut r.rdx, &mut r.rax, &mut r.rcx, &mut r.rsp,
        &mut r.rip,
    ];
    for (i, slot) in regs.into_iter().enumerate() {
        *slot = get(frame, m + 8 * i);
    }
    let flags = get(frame, m + 136);
    r.rflags = (r.rflags & !USER_FLAGS) | (flags & USER_FLAGS);
    let mut ss_flags = [0u8; 4];
    ss_flags.copy_from_slice(&frame[UC_STACK + 8..UC_STACK + 12]);
    Some(Restored {
        mask: get(frame, UC_SIGMASK),
        altstack: AltStack {
            sp: get(frame, UC_STACK),
            flags: i32::from_le_bytes(ss_flags),
            size: get(frame, UC_STACK + 16),
        },
        fpstate_addr: get(frame, m + 184),
        cs: u16::from_le_bytes([frame[m + 144], frame[m + 145]]),
    })
}

/// Loads an FPU image read from user memory (`xfeatures`: `None` for an
/// FXSAVE-only image, see [`xstate::sigframe_sw`]) through
/// [`xstate::from_sigframe`]: MXCSR's reserved bits are cleared (Linux 6.1
/// under QEMU returns normally with such an image too: the emulated
/// restore does not fault on those bits); an image XRSTOR would refuse
/// makes the sigreturn fail (`Err`: SIGSEGV, as Linux's failed restore).
pub fn restore_fpu(
    ctx: &mut UserContext,
    image: &crate::user::FpuState,
    xfeatures: Option<u64>,
) -> Result<(), xstate::Refused> {
    let fpu = xstate::from_sigframe(&xstate::layout(), image, xfeatures)?;
    ctx.set_fpu(&fpu);
    Ok(())
}

/// [`restore_fpu`] for an image already read into the context's own
/// ([`UserContext::fpu_to_overwrite`]): checked and completed in place,
/// no copy. On `Err` the context goes back to the initial FPU state (what
/// Linux's failed restore leaves: fpu__clear_user_states()).
pub fn restore_fpu_in_place(ctx: &mut UserContext, xfeatures: Option<u64>) -> Result<(), xstate::Refused> {
    restore_fpu_in_place_for(&xstate::layout(), ctx, xfeatures)
}

/// [`restore_fpu_in_place`] for the layout `l` (the one in use, which the
/// caller has at hand).
pub fn restore_fpu_in_place_for(
    l: &Layout,
    ctx: &mut UserContext,
    xfeatures: Option<u64>,
) -> Result<(), xstate::Refused> {
    let r = match ctx.fpu_overwritten() {
        Some(img) => xstate::from_sigframe_in_place(l, img, xfeatures),
        None => Err(xstate::Refused::Fault),
    };
    if r.is_err() {
        ctx.reset_fpu();
    }
    r
}

/// The 64-bit user code selector, the only one a sigreturn may go back to.
pub const SIGRETURN_CS: u16 = USER_CS;

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> UserContext {
        let mut c = UserContext::new(0x40_1000, 0x7fff_0000_1238);
        let r = &mut c.regs;
        (r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp) = (1, 2, 3, 4, 5, 6, 7);
        (r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15) = (8, 9, 10, 11, 12, 13, 14, 15);
        r.rflags = 0x246;
        c
    }

    fn info(si: &[u8; 128]) -> FrameInfo<'_> {
        FrameInfo {
            signo: 10,
            siginfo: si,
            restorer: 0x40_2000,
            saved_mask: 0x400,
            altstack: AltStack { sp: 0, flags: 2, size: 0 },
            altstack_top: None,
            err: 0,
            trapno: 0,
            cr2: 0,
        }
    }

    #[test]
    fn frame_placement_matches_get_sigframe() {
        let si = [0xabu8; 128];
        let c = ctx();
        let f = build(&c, &info(&si));
        // below the red zone, FXSAVE 64-aligned, frame 16-aligned minus 8
        assert_eq!(f.fpstate_addr, (0x7fff_0000_1238 - 128 - 512) & !63);
        assert_eq!(f.addr % 16, 8);
        assert!(f.addr + FRAME_SIZE as u64 <= f.fpstate_addr);
        assert_eq!(FRAME_SIZE, 440);
        assert_eq!(get(&f.frame, 0), 0x40_2000, "pretcode = sa_restorer");
        assert_eq!(&f.frame[SIGINFO..SIGINFO + 128], &si[..]);
        assert_eq!(get(&f.frame, MCONTEXT + 128), 0x40_1000, "sigcontext.rip");
        assert_eq!(get(&f.frame, MCONTEXT + 104), 1, "sigcontext.rax");
        assert_eq!(get(&f.frame, MCONTEXT + 184), f.fpstate_addr);
        assert_eq!(get(&f.frame, UC_SIGMASK), 0x400);
        assert_eq!(&f.frame[MCONTEXT + 144..MCONTEXT + 146], &0x33u16.to_le_bytes());
    }

    #[test]
    fn altstack_frame_goes_on_the_alternate_stack() {
        let si = [0u8; 128];
        let mut i = info(&si);
        i.altstack_top = Some(0x10_0000);
        let f = build(&ctx(), &i);
        assert_eq!(f.fpstate_addr, 0x10_0000 - 512);
        assert!(f.addr < 0x10_0000 && f.addr > 0x10_0000 - 2048);
    }

    #[test]
    fn handler_entry_and_sigreturn_round_trip() {
        let si = [0u8; 128];
        let orig = ctx();
        let f = build(&orig, &info(&si));
        let mut c = orig.clone();
        c.regs.rflags |= 1 << 10; // DF set by the interrupted code
        enter_handler(&mut c, &f, 0x40_3000, 10);
        assert_eq!((c.regs.rdi, c.regs.rip, c.regs.rsp), (10, 0x40_3000, f.addr));
        assert_eq!(c.regs.rsi, f.addr + 312);
        assert_eq!(c.regs.rdx, f.addr + 8);
        assert_eq!(c.regs.rflags & (1 << 10), 0, "DF cleared for the handler");
        // the handler clobbers registers, then `ret` pops the restorer
        c.regs.rbx = 0xdead;
        let restored = restore(&mut c, &f.frame).unwrap();
        assert_eq!(c.regs, {
            let mut want = orig.regs;
            want.rflags = 0x246;
            want
        });
        assert_eq!(restored.mask, 0x400);
        assert_eq!(restored.fpstate_addr, f.fpstate_addr);
        assert_eq!(restored.altstack, AltStack { sp: 0, flags: 2, size: 0 });
        // only SIGRETURN_BYTES are read: the return address and the
        // siginfo may hold anything (or be left unread)
        let mut partial = [0xa5u8; SIGRETURN_READ];
        partial[SIGRETURN_BYTES].copy_from_slice(&f.frame[SIGRETURN_BYTES]);
        let mut c2 = orig.clone();
        c2.regs.rbx = 0xdead;
        assert_eq!(restore(&mut c2, &partial), Some(restored));
        assert_eq!(c2.regs, c.regs);
        assert_eq!(SIGRETURN_BYTES, 8..312);
    }

    #[test]
    fn sigreturn_keeps_privileged_flags() {
        let si = [0u8; 128];
        let mut f = build(&ctx(), &info(&si));
        // user asks for IOPL 3 and IF off: only user bits are taken
        put(&mut f.frame, MCONTEXT + 136, 0x3000 | 0x1);
        let mut c = ctx();
        restore(&mut c, &f.frame).unwrap();
        assert_eq!(c.regs.rflags & 0x3000, 0);
        assert_eq!(c.regs.rflags & 0x1, 0x1);
        assert!(restore(&mut c, &f.frame[..100]).is_none());
    }

    #[test]
    fn xsave_frame_is_bigger_and_flagged() {
        let si = [0u8; 128];
        let mut comps = [(0, 0); 10];
        comps[2] = (576, 256);
        let l = Layout { xcr0: 0x7, size: 832, comps };
        let f = build_for(&l, &ctx(), &info(&si));
        assert_eq!(f.fpstate_addr, (0x7fff_0000_1238 - 128 - 836) & !63);
        assert_eq!(get(&f.frame, UC_FLAGS), 0x7, "UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS");
        assert_eq!(f.addr % 16, 8);
    }

    #[test]
    fn bad_mxcsr_bits_are_cleared() {
        let mut img = crate::user::FpuState::default();
        img.0[24..28].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
        let mut c = ctx();
        restore_fpu(&mut c, &img, None).unwrap();
        let f = &c.fpu().0;
        assert_eq!(u32::from_le_bytes([f[24], f[25], f[26], f[27]]), 0xffff);
    }

    #[test]
    fn sigreturn_reports_the_code_selector() {
        let si = [0u8; 128];
        let mut f = build(&ctx(), &info(&si));
        let mut c = ctx();
        assert_eq!(restore(&mut c, &f.frame).unwrap().cs, USER_CS);
        f.frame[MCONTEXT + 144..MCONTEXT + 146].copy_from_slice(&0x10u16.to_le_bytes());
        assert_eq!(restore(&mut c, &f.frame).unwrap().cs, 0x10);
    }
}

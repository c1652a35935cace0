//! Classic BPF as seccomp takes it: the instruction, the checks of
//! `bpf_check_classic()` and `seccomp_check_filter()` (net/core/filter.c,
//! kernel/seccomp.c) and an interpreter with the results of Linux's
//! classic-to-eBPF translation (32-bit ALU, division by zero ends the
//! program with 0, shifts by X masked to 31).

use alloc::vec::Vec;
use linux_abi::{Errno, Result};

/// `struct sock_filter`: one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Insn {
    /// The opcode (class, size/operation, mode/source).
    pub code: u16,
    /// Jump offset if true.
    pub jt: u8,
    /// Jump offset if false.
    pub jf: u8,
    /// The generic field (constant, offset).
    pub k: u32,
}

impl Insn {
    /// An instruction from its fields.
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// `sizeof(struct sock_filter)`.
    pub const SIZE: usize = 8;

    /// The instruction of its 8 bytes as user memory holds them.
    pub fn from_bytes(b: [u8; 8]) -> Insn {
        Insn {
            code: u16::from_le_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// `BPF_MAXINSNS`: the longest program.
pub const MAXINSNS: usize = 4096;
/// `BPF_MEMWORDS`: the scratch memory's words.
pub const MEMWORDS: u32 = 16;
/// `SKF_AD_OFF`: where ancillary loads start (none is valid for seccomp).
const SKF_AD_OFF: u32 = 0xffff_f000;

// Classes.
/// `BPF_LD`.
pub const LD: u16 = 0x00;
/// `BPF_LDX`.
pub const LDX: u16 = 0x01;
/// `BPF_ST`.
pub const ST: u16 = 0x02;
/// `BPF_STX`.
pub const STX: u16 = 0x03;
/// `BPF_ALU`.
pub const ALU: u16 = 0x04;
/// `BPF_JMP`.
pub const JMP: u16 = 0x05;
/// `BPF_RET`.
pub const RET: u16 = 0x06;
/// `BPF_MISC`.
pub const MISC: u16 = 0x07;
// Sizes.
/// `BPF_W`.
pub const W: u16 = 0x00;
/// `BPF_H`.
pub const H: u16 = 0x08;
/// `BPF_B`.
pub const B: u16 = 0x10;
// Modes.
/// `BPF_IMM`.
pub const IMM: u16 = 0x00;
/// `BPF_ABS`.
pub const ABS: u16 = 0x20;
/// `BPF_IND`.
pub const IND: u16 = 0x40;
/// `BPF_MEM`.
pub const MEM: u16 = 0x60;
/// `BPF_LEN`.
pub const LEN: u16 = 0x80;
/// `BPF_MSH`.
pub const MSH: u16 = 0xa0;
// ALU operations.
/// `BPF_ADD`.
pub const ADD: u16 = 0x00;
/// `BPF_SUB`.
pub const SUB: u16 = 0x10;
/// `BPF_MUL`.
pub const MUL: u16 = 0x20;
/// `BPF_DIV`.
pub const DIV: u16 = 0x30;
/// `BPF_OR`.
pub const OR: u16 = 0x40;
/// `BPF_AND`.
pub const AND: u16 = 0x50;
/// `BPF_LSH`.
pub const LSH: u16 = 0x60;
/// `BPF_RSH`.
pub const RSH: u16 = 0x70;
/// `BPF_NEG`.
pub const NEG: u16 = 0x80;
/// `BPF_MOD`.
pub const MOD: u16 = 0x90;
/// `BPF_XOR`.
pub const XOR: u16 = 0xa0;
// Jumps.
/// `BPF_JA`.
pub const JA: u16 = 0x00;
/// `BPF_JEQ`.
pub const JEQ: u16 = 0x10;
/// `BPF_JGT`.
pub const JGT: u16 = 0x20;
/// `BPF_JGE`.
pub const JGE: u16 = 0x30;
/// `BPF_JSET`.
pub const JSET: u16 = 0x40;
// Sources.
/// `BPF_K`.
pub const K: u16 = 0x00;
/// `BPF_X`.
pub const X: u16 = 0x08;
/// `BPF_A` (a return of the accumulator).
pub const A: u16 = 0x10;
// MISC.
/// `BPF_TAX`.
pub const TAX: u16 = 0x00;
/// `BPF_TXA`.
pub const TXA: u16 = 0x80;

/// `sizeof(struct seccomp_data)`.
pub const DATA_SIZE: u32 = 64;

/// `chk_code_allowed()`: the opcodes classic BPF knows.
fn classic_code(code: u16) -> bool {
    const ALUS: [u16; 10] = [ADD, SUB, MUL, DIV, MOD, AND, OR, XOR, LSH, RSH];
    if code & 0x07 == ALU && code != ALU | NEG {
        return code & !(0xf0 | X) == ALU && ALUS.contains(&(code & 0xf0));
    }
    if code & 0x07 == JMP {
        let op = code & 0xf0;
        return code == JMP | JA || code & !(0xf0 | X) == JMP && matches!(op, JEQ | JGT | JGE | JSET);
    }
    matches!(
        code,
        c if c == ALU | NEG
            || c == LD | W | ABS
            || c == LD | H | ABS
            || c == LD | B | ABS
            || c == LD | W | LEN
            || c == LD | W | IND
            || c == LD | H | IND
            || c == LD | B | IND
            || c == LD | IMM
            || c == LD | MEM
            || c == LDX | W | LEN
            || c == LDX | B | MSH
            || c == LDX | IMM
            || c == LDX | MEM
            || c == ST
            || c == STX
            || c == MISC | TAX
            || c == MISC | TXA
            || c == RET | K
            || c == RET | A
    )
}

fn is_cond_jump(code: u16) -> bool {
    code & 0x07 == JMP && code != JMP | JA
}

/// `bpf_check_classic()`: known opcodes, no constant division by zero or
/// shift of 32 or more, scratch words in range, jumps inside the program,
/// no ancillary load, a RET last, and no scratch word read before every
/// path to it stored it (`check_load_and_stores`).
pub fn check_classic(prog: &[Insn]) -> Result<()> {
    let flen = prog.len();
    if flen == 0 || flen > MAXINSNS {
        return Err(Errno::EINVAL);
    }
    for (pc, f) in prog.iter().enumerate() {
        if !classic_code(f.code) {
            return Err(Errno::EINVAL);
        }
        let c = f.code;
        if c == ALU | DIV | K || c == ALU | MOD | K {
            if f.k == 0 {
                return Err(Errno::EINVAL);
            }
        } else if c == ALU | LSH | K || c == ALU | RSH | K {
            if f.k >= 32 {
                return Err(Errno::EINVAL);
            }
        } else if c == LD | MEM || c == LDX | MEM || c == ST || c == STX {
            if f.k >= MEMWORDS {
                return Err(Errno::EINVAL);
            }
        } else if c == JMP | JA {
            // (flen - pc - 1) as unsigned: a backward or too long jump
            if u64::from(f.k) >= (flen - pc - 1) as u64 {
                return Err(Errno::EINVAL);
            }
        } else if is_cond_jump(c) {
            if pc + usize::from(f.jt) + 1 >= flen || pc + usize::from(f.jf) + 1 >= flen {
                return Err(Errno::EINVAL);
            }
        } else if (c == LD | W | ABS || c == LD | H | ABS || c == LD | B | ABS) && f.k >= SKF_AD_OFF {
            // an ancillary load: none of them exists for seccomp's data
            // (bpf_anc_helper knows the socket ones; seccomp's own check
            // refuses every load at or past 64 anyway)
            if !ancillary(f.k) {
                return Err(Errno::EINVAL);
            }
        }
    }
    match prog.last() {
        Some(l) if l.code == RET | K || l.code == RET | A => check_load_and_stores(prog),
        _ => Err(Errno::EINVAL),
    }
}

/// `bpf_anc_helper()`'s known ancillary offsets (SKF_AD_OFF + 0 .. 64
/// in steps of 4 as of Linux 6.1: PROTOCOL to RANDOM).
fn ancillary(k: u32) -> bool {
    let off = k.wrapping_sub(SKF_AD_OFF);
    off <= 56 && off.is_multiple_of(4)
}

/// `check_load_and_stores()`: every scratch word loaded was stored on all
/// paths before (the program is already known to jump in range).
fn check_load_and_stores(prog: &[Insn]) -> Result<()> {
    let mut masks: Vec<u16> = Vec::new();
    masks.try_reserve_exact(prog.len()).map_err(|_| Errno::ENOMEM)?;
    masks.resize(prog.len(), 0xffff);
    let mut memvalid: u16 = 0;
    for (pc, f) in prog.iter().enumerate() {
        memvalid &= masks.get(pc).copied().unwrap_or(0xffff);
        let c = f.code;
        if c == ST || c == STX {
            memvalid |= 1 << (f.k & 15);
        } else if c == LD | MEM || c == LDX | MEM {
            if memvalid & (1 << (f.k & 15)) == 0 {
                return Err(Errno::EINVAL);
            }
        } else if c == JMP | JA {
            if let Some(m) = masks.get_mut(pc + 1 + f.k as usize) {
                *m &= memvalid;
            }
            memvalid = 0xffff;
        } else if is_cond_jump(c) {
            for off in [f.jt, f.jf] {
                if let Some(m) = masks.get_mut(pc + 1 + usize::from(off)) {
                    *m &= memvalid;
                }
            }
            memvalid = 0xffff;
        }
    }
    Ok(())
}

/// `seccomp_check_filter()` after the classic checks: only loads of
/// aligned words of `struct seccomp_data` below 64, and no packet or
/// modulo operation; the length loads become immediates of 64, as
/// Linux rewrites them.
pub fn check_seccomp(prog: &mut [Insn]) -> Result<()> {
    for f in prog.iter_mut() {
        let c = f.code;
        if c == LD | W | ABS {
            if f.k >= DATA_SIZE || f.k & 3 != 0 {
                return Err(Errno::EINVAL);
            }
            continue;
        }
        if c == LD | W | LEN {
            *f = Insn::new(LD | IMM, f.jt, f.jf, DATA_SIZE);
            continue;
        }
        if c == LDX | W | LEN {
            *f = Insn::new(LDX | IMM, f.jt, f.jf, DATA_SIZE);
            continue;
        }
        let alu_ok = c & 0x07 == ALU
            && (c == ALU | NEG
                || c & !(0xf0 | X) == ALU
                    && matches!(c & 0xf0, ADD | SUB | MUL | DIV | AND | OR | XOR | LSH | RSH));
        let jmp_ok = c == JMP | JA
            || is_cond_jump(c) && c & !(0xf0 | X) == JMP && matches!(c & 0xf0, JEQ | JGT | JGE | JSET);
        let other_ok = c == RET | K
            || c == RET | A
            || c == LD | IMM
            || c == LDX | IMM
            || c == MISC | TAX
            || c == MISC | TXA
            || c == LD | MEM
            || c == LDX | MEM
            || c == ST
            || c == STX;
        if !(alu_ok || jmp_ok || other_ok) {
            return Err(Errno::EINVAL);
        }
    }
    Ok(())
}

/// Both checks of a user's program, in Linux's order: the program as
/// seccomp will run it, or EINVAL (ENOMEM when the check's scratch space
/// cannot be had).
pub fn prepare(prog: &mut [Insn]) -> Result<()> {
    check_classic(prog)?;
    check_seccomp(prog)
}

/// Runs a checked program over the 64 bytes of `struct seccomp_data`
/// (`data`: its 16 little-endian words). Every jump goes forward, so the
/// run takes at most `prog.len()` steps; an unchecked program that runs
/// off its end or reads out of range returns 0 (never panics).
pub fn run(prog: &[Insn], data: &[u32; 16]) -> u32 {
    let mut a: u32 = 0;
    let mut x: u32 = 0;
    let mut mem = [0u32; MEMWORDS as usize];
    let mut pc: usize = 0;
    // a checked program never loops; the bound keeps an unchecked one finite
    let mut budget = prog.len();
    while let Some(f) = prog.get(pc) {
        if budget == 0 {
            return 0;
        }
        budget -= 1;
        pc += 1;
        let c = f.code;
        let src = if c & X != 0 { x } else { f.k };
        match c & 0x07 {
            LD | LDX => {
                let v = match c & 0xe0 {
                    ABS if c & 0x18 == W => match data.get((f.k / 4) as usize) {
                        Some(&w) if f.k & 3 == 0 => w,
                        _ => return 0,
                    },
                    IMM => f.k,
                    MEM => mem.get(f.k as usize).copied().unwrap_or(0),
                    LEN => DATA_SIZE,
                    _ => return 0,
                };
                if c & 0x07 == LD {
                    a = v;
                } else {
                    x = v;
                }
            }
            ST => {
                if let Some(m) = mem.get_mut(f.k as usize) {
                    *m = a;
                }
            }
            STX => {
                if let Some(m) = mem.get_mut(f.k as usize) {
                    *m = x;
                }
            }
            ALU => {
                a = match c & 0xf0 {
                    ADD => a.wrapping_add(src),
                    SUB => a.wrapping_sub(src),
                    MUL => a.wrapping_mul(src),
                    DIV => match a.checked_div(src) {
                        Some(v) => v,
                        // the translation's "if X == 0 return 0"
                        None => return 0,
                    },
                    MOD => match a.checked_rem(src) {
                        Some(v) => v,
                        None => return 0,
                    },
                    AND => a & src,
                    OR => a | src,
                    XOR => a ^ src,
                    LSH => a << (src & 31),
                    RSH => a >> (src & 31),
                    NEG => a.wrapping_neg(),
                    _ => return 0,
                };
            }
            JMP => {
                if c == JMP | JA {
                    pc = pc.saturating_add(f.k as usize);
                } else {
                    let taken = match c & 0xf0 {
                        JEQ => a == src,
                        JGT => a > src,
                        JGE => a >= src,
                        JSET => a & src != 0,
                        _ => return 0,
                    };
                    pc += usize::from(if taken { f.jt } else { f.jf });
                }
            }
            RET => return if c & 0x18 == A { a } else { f.k },
            _ => {
                // MISC
                if c == MISC | TAX {
                    x = a;
                } else if c == MISC | TXA {
                    a = x;
                } else {
                    return 0;
                }
            }
        }
    }
    0
}

/// The length of a checked program as Linux counts it for the chain
/// limit: after `bpf_convert_filter()`'s translation to eBPF (3
/// prologue instructions; 2 per RET; 5 for a DIV by X; a conditional jump
/// 1, plus 1 when a K operand is negative as an `int` (moved to a
/// register), plus 1 when neither branch falls through to the next
/// instruction and the test cannot be inverted; 1 for the rest).
pub fn linux_len(prog: &[Insn]) -> u32 {
    let mut n: u32 = 3;
    for f in prog {
        let c = f.code;
        n += if c & 0x07 == RET {
            2
        } else if c == ALU | DIV | X || c == ALU | MOD | X {
            5
        } else if is_cond_jump(c) {
            let imm = u32::from(c & X == 0 && (f.k as i32) < 0);
            let invertible = matches!(c & 0xf0, JEQ | JGT | JGE);
            let jumps = if f.jf == 0 || f.jt == 0 && invertible { 1 } else { 2 };
            imm + jumps
        } else {
            1
        };
    }
    n
}

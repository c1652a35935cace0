//! The argument limits of execve(2) and the initial stack of
//! `create_elf_tables()`.

use alloc::vec::Vec;

use linux_abi::{Errno, Result};
use vm::{FrameRefs, PageTable, Vmar};

/// The longest argument or environment string, counting its NUL
/// (`MAX_ARG_STRLEN`, 32 pages); longer gives `E2BIG`.
pub const MAX_ARG_STRLEN: usize = 32 * vm::PAGE_SIZE;
/// The most argument (or environment) strings (`MAX_ARG_STRINGS`).
pub const MAX_ARG_STRINGS: usize = 0x7fff_ffff;
/// The argument space every process gets, however small its stack limit
/// (`ARG_MAX`, 32 pages).
pub const ARG_MAX: usize = 32 * vm::PAGE_SIZE;
/// `_STK_LIM`: the default stack limit, 8 MiB. Strings may use at most
/// three quarters of it.
pub const STK_LIM: u64 = 8 << 20;

/// `AT_NULL`: ends the auxiliary vector.
pub const AT_NULL: u64 = 0;
/// `AT_EXECFD`: the executable's file descriptor (binfmt_misc).
pub const AT_EXECFD: u64 = 2;
/// `AT_PHDR`: the program headers in memory.
pub const AT_PHDR: u64 = 3;
/// `AT_PHENT`: the size of one program header.
pub const AT_PHENT: u64 = 4;
/// `AT_PHNUM`: the number of program headers.
pub const AT_PHNUM: u64 = 5;
/// `AT_PAGESZ`: the page size.
pub const AT_PAGESZ: u64 = 6;
/// `AT_BASE`: the interpreter's base (0: no interpreter).
pub const AT_BASE: u64 = 7;
/// `AT_FLAGS`: flags (0).
pub const AT_FLAGS: u64 = 8;
/// `AT_ENTRY`: the program's entry point.
pub const AT_ENTRY: u64 = 9;
/// `AT_UID`: the real user id.
pub const AT_UID: u64 = 11;
/// `AT_EUID`: the effective user id.
pub const AT_EUID: u64 = 12;
/// `AT_GID`: the real group id.
pub const AT_GID: u64 = 13;
/// `AT_EGID`: the effective group id.
pub const AT_EGID: u64 = 14;
/// `AT_PLATFORM`: the platform string ("x86_64").
pub const AT_PLATFORM: u64 = 15;
/// `AT_HWCAP`: CPU capabilities (on x86: CPUID.1:EDX).
pub const AT_HWCAP: u64 = 16;
/// `AT_CLKTCK`: the `times()` clock rate (100).
pub const AT_CLKTCK: u64 = 17;
/// `AT_SECURE`: secure mode (set-user-ID and the like).
pub const AT_SECURE: u64 = 23;
/// `AT_RANDOM`: 16 random bytes.
pub const AT_RANDOM: u64 = 25;
/// `AT_HWCAP2`: more CPU capabilities.
pub const AT_HWCAP2: u64 = 26;
/// `AT_RSEQ_FEATURE_SIZE`: the size of `struct rseq` the kernel supports.
pub const AT_RSEQ_FEATURE_SIZE: u64 = 27;
/// `AT_RSEQ_ALIGN`: the alignment `struct rseq` needs.
pub const AT_RSEQ_ALIGN: u64 = 28;
/// `AT_EXECFN`: the file name given to execve.
pub const AT_EXECFN: u64 = 31;
/// `AT_SYSINFO_EHDR`: the vDSO.
pub const AT_SYSINFO_EHDR: u64 = 33;
/// `AT_MINSIGSTKSZ`: the minimal signal stack size.
pub const AT_MINSIGSTKSZ: u64 = 51;

/// `CLOCKS_PER_SEC` as user space sees it (`USER_HZ`).
pub const CLOCKS_PER_SEC: u64 = 100;
/// The platform string of x86_64 (`AT_PLATFORM`).
pub const PLATFORM_X86_64: &[u8] = b"x86_64";

/// The string space left for execve's arguments, as Linux counts it
/// (`bprm_stack_limits()` and `copy_strings()`).
///
/// The limit is a quarter of the stack limit, at most three quarters of
/// 8 MiB and at least 128 KiB, less 8 bytes per pointer (with room for one
/// argument when there are none). Each string counts its bytes plus the NUL
/// and may not exceed [`MAX_ARG_STRLEN`]. The kernel can use it while it
/// copies the strings from user memory, to stop with `E2BIG` at the first
/// string that does not fit, before it even looks at the executable (as
/// Linux does); [`load_elf`](crate::load_elf) counts again.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct ArgBudget {
    left: usize,
}

impl ArgBudget {
    /// The budget for `argc` arguments and `envc` environment strings with
    /// stack limit `stack_rlimit` (`RLIMIT_STACK`'s soft value; use
    /// `u64::MAX` for unlimited). `E2BIG` if the counts alone are too many.
    pub fn new(stack_rlimit: u64, argc: usize, envc: usize) -> Result<ArgBudget> {
        if argc > MAX_ARG_STRINGS || envc > MAX_ARG_STRINGS {
            return Err(Errno::E2BIG);
        }
        let limit = (STK_LIM / 4 * 3).min(stack_rlimit / 4).max(ARG_MAX as u64);
        let limit = usize::try_from(limit).map_err(|_| Errno::E2BIG)?;
        let ptr_size = argc.max(1).checked_add(envc).and_then(|n| n.checked_mul(8)).ok_or(Errno::E2BIG)?;
        if limit <= ptr_size {
            return Err(Errno::E2BIG);
        }
        Ok(ArgBudget { left: limit - ptr_size })
    }

    /// Counts one string of `len` bytes (without its NUL). `E2BIG` if it
    /// is longer than [`MAX_ARG_STRLEN`] allows or does not fit.
    pub fn take(&mut self, len: usize) -> Result<()> {
        let n = len.checked_add(1).ok_or(Errno::E2BIG)?;
        if n > MAX_ARG_STRLEN || n > self.left {
            return Err(Errno::E2BIG);
        }
        self.left -= n;
        Ok(())
    }

    /// The bytes still free.
    pub fn remaining(&self) -> usize {
        self.left
    }
}

/// Checks a whole execve argument set against the limits ([`ArgBudget`]):
/// the file name first, then the environment, then the arguments, as
/// `do_execveat_common()` copies them. An empty `argv` counts as `[""]`.
pub fn check_args(stack_rlimit: u64, execfn: &[u8], argv: &[&[u8]], envp: &[&[u8]]) -> Result<()> {
    let mut budget = ArgBudget::new(stack_rlimit, argv.len(), envp.len())?;
    budget.take(execfn.len())?;
    for s in envp.iter().rev() {
        budget.take(s.len())?;
    }
    for s in argv.iter().rev() {
        budget.take(s.len())?;
    }
    if argv.is_empty() {
        budget.take(0)?;
    }
    Ok(())
}

/// What the stack builder needs besides the strings.
pub(crate) struct StackInput<'a> {
    pub execfn: &'a [u8],
    pub argv: &'a [&'a [u8]],
    pub envp: &'a [&'a [u8]],
    pub platform: Option<&'a [u8]>,
    pub random: [u8; 16],
    /// The auxiliary vector before `AT_RANDOM`, `AT_EXECFN` and
    /// `AT_PLATFORM` addresses are known: `(type, value)` with those three
    /// entries' values filled in by the builder.
    pub auxv: Vec<(u64, u64)>,
}

/// Where things landed on the stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StackOutput {
    pub sp: usize,
    pub arg_start: usize,
    pub arg_end: usize,
    pub env_start: usize,
    pub env_end: usize,
    pub execfn: usize,
    pub random: usize,
    pub platform: Option<usize>,
    pub auxv: Vec<(u64, u64)>,
}

/// The bytes of the stack image from `sp` up, computed before anything is
/// written: strings, platform, random bytes and the table, exactly where
/// `create_elf_tables()` puts them below `top`.
pub(crate) struct StackPlan {
    pub out: StackOutput,
    string_addrs: Vec<usize>,
}

const WORD: usize = 8;

impl StackPlan {
    /// Lays the stack out below `top`; `None` on address underflow.
    pub(crate) fn new(top: usize, input: &StackInput<'_>) -> Option<StackPlan> {
        // bprm->p starts one pointer below the top (a zero word).
        let mut p = top.checked_sub(WORD)?;
        p = p.checked_sub(input.execfn.len().checked_add(1)?)?;
        let execfn = p;
        // copy_strings works backwards: the last string highest.
        let mut env_addrs = Vec::with_capacity(input.envp.len());
        for s in input.envp.iter().rev() {
            p = p.checked_sub(s.len().checked_add(1)?)?;
            env_addrs.push(p);
        }
        env_addrs.reverse();
        let env_end = execfn;
        let mut arg_addrs = Vec::with_capacity(input.argv.len());
        for s in input.argv.iter().rev() {
            p = p.checked_sub(s.len().checked_add(1)?)?;
            arg_addrs.push(p);
        }
        arg_addrs.reverse();
        let arg_start = p;
        let arg_end = env_addrs.first().copied().unwrap_or(env_end);
        let env_start = arg_end;

        // create_elf_tables: align, platform string, random bytes.
        p &= !15;
        let platform = match input.platform {
            Some(s) => {
                p = p.checked_sub(s.len().checked_add(1)?)?;
                Some(p)
            }
            None => None,
        };
        p = p.checked_sub(16)?;
        let random = p;
        let mut auxv = input.auxv.clone();
        for (key, value) in auxv.iter_mut() {
            match *key {
                AT_RANDOM => *value = random as u64,
                AT_EXECFN => *value = execfn as u64,
                AT_PLATFORM => *value = platform.unwrap_or(0) as u64,
                _ => {}
            }
        }
        auxv.push((AT_NULL, 0));
        let ei_words = auxv.len().checked_mul(2)?;
        let sp = p.checked_sub(ei_words.checked_mul(WORD)?)?;
        let items = input.argv.len().checked_add(input.envp.len())?.checked_add(3)?;
        let sp = sp.checked_sub(items.checked_mul(WORD)?)? & !15;

        let mut string_addrs = arg_addrs;
        string_addrs.extend_from_slice(&env_addrs);
        Some(StackPlan {
            out: StackOutput { sp, arg_start, arg_end, env_start, env_end, execfn, random, platform, auxv },
            string_addrs,
        })
    }

    /// The table at `sp`: argc, argv, NULL, envp, NULL, auxv, AT_NULL.
    fn table(&self, argc: usize) -> Vec<u8> {
        let words = 1 + self.string_addrs.len() + 2 + self.out.auxv.len() * 2;
        let mut table = Vec::with_capacity(words * WORD);
        let mut push = |v: u64| table.extend_from_slice(&v.to_ne_bytes());
        push(argc as u64);
        let (args, envs) = self.string_addrs.split_at(argc.min(self.string_addrs.len()));
        for &addr in args {
            push(addr as u64);
        }
        push(0);
        for &addr in envs {
            push(addr as u64);
        }
        push(0);
        for &(key, value) in &self.out.auxv {
            push(key);
            push(value);
        }
        table
    }

    /// Writes everything into `vmar` (the stack must be mapped writable).
    /// A failed write can only be a lack of memory: `ENOMEM`. The argument
    /// and environment strings (back to back, each with its NUL) go
    /// [`STRING_CHUNK`] bytes per write, `between` called after each chunk
    /// (a kernel's preemption point: Linux's copy_strings has one per
    /// string; up to a quarter of the stack limit is copied).
    pub(crate) fn write<P: PageTable, A: FrameRefs + Clone + 'static>(
        &self,
        vmar: &mut Vmar<P, A>,
        input: &StackInput<'_>,
        between: &mut dyn FnMut(),
    ) -> Result<()> {
        let oom = |_| Errno::ENOMEM;
        let mut out = Chunked { buf: Vec::new(), at: 0 };
        out.buf.try_reserve_exact(STRING_CHUNK).map_err(|_| Errno::ENOMEM)?;
        let strings = input.argv.iter().chain(input.envp.iter());
        for (s, &addr) in strings.zip(&self.string_addrs) {
            if out.at + out.buf.len() != addr {
                out.flush(vmar)?;
                out.at = addr;
            }
            for part in [&s[..], &[0u8][..]] {
                let mut rest = part;
                while !rest.is_empty() {
                    let n = rest.len().min(STRING_CHUNK - out.buf.len());
                    out.buf.extend_from_slice(&rest[..n]);
                    rest = &rest[n..];
                    if out.buf.len() == STRING_CHUNK {
                        out.flush(vmar)?;
                        between();
                    }
                }
            }
        }
        out.flush(vmar)?;
        write_cstr(vmar, self.out.execfn, input.execfn).map_err(oom)?;
        if let (Some(s), Some(addr)) = (input.platform, self.out.platform) {
            write_cstr(vmar, addr, s).map_err(oom)?;
        }
        vmar.write_user(self.out.random, &input.random).map_err(oom)?;
        vmar.write_user(self.out.sp, &self.table(input.argv.len())).map_err(oom)
    }
}

/// How many bytes of argument strings one write copies.
const STRING_CHUNK: usize = 16 << 10;

/// Strings gathered for one write at `at`.
struct Chunked {
    buf: Vec<u8>,
    at: usize,
}

impl Chunked {
    /// Writes what was gathered and moves past it.
    fn flush<P: PageTable, A: FrameRefs + Clone + 'static>(&mut self, vmar: &mut Vmar<P, A>) -> Result<()> {
        if !self.buf.is_empty() {
            vmar.write_user(self.at, &self.buf).map_err(|_| Errno::ENOMEM)?;
            self.at += self.buf.len();
            self.buf.clear();
        }
        Ok(())
    }
}

fn write_cstr<P: PageTable, A: FrameRefs + Clone + 'static>(
    vmar: &mut Vmar<P, A>,
    addr: usize,
    s: &[u8],
) -> Result<()> {
    vmar.write_user(addr, s)?;
    vmar.write_user(addr + s.len(), &[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_follows_bprm_stack_limits() {
        // 8 MiB stack: a quarter is 2 MiB.
        let b = ArgBudget::new(8 << 20, 1, 1).unwrap();
        assert_eq!(b.remaining(), (2 << 20) - 16);
        // Tiny stack: still ARG_MAX.
        let b = ArgBudget::new(4096, 0, 0).unwrap();
        assert_eq!(b.remaining(), ARG_MAX - 8, "argc 0 still reserves one pointer");
        // Huge or unlimited: 6 MiB.
        let b = ArgBudget::new(u64::MAX, 2, 0).unwrap();
        assert_eq!(b.remaining(), (6 << 20) - 16);
        // Pointers alone too many.
        assert_eq!(ArgBudget::new(8 << 20, (2 << 20) / 8, 0), Err(Errno::E2BIG));
        assert_eq!(ArgBudget::new(8 << 20, MAX_ARG_STRINGS + 1, 0), Err(Errno::E2BIG));
        assert!(ArgBudget::new(8 << 20, (2 << 20) / 8 - 1, 0).is_ok());
    }

    #[test]
    fn strings_count_their_nul_and_the_per_string_limit() {
        let mut b = ArgBudget::new(u64::MAX, 1, 0).unwrap();
        assert_eq!(b.take(MAX_ARG_STRLEN), Err(Errno::E2BIG));
        assert_eq!(b.take(MAX_ARG_STRLEN - 1), Ok(()));
        assert_eq!(b.take(usize::MAX), Err(Errno::E2BIG));
        let mut b = ArgBudget::new(4096, 1, 0).unwrap();
        let left = b.remaining();
        assert_eq!(b.take(left), Err(Errno::E2BIG), "the NUL does not fit");
        assert_eq!(b.take(left - 1), Ok(()));
        assert_eq!(b.remaining(), 0);
        assert_eq!(b.take(0), Err(Errno::E2BIG));
    }

    #[test]
    fn check_args_counts_execfn_env_and_args() {
        let big = alloc::vec![b'x'; 100_000];
        let envp: Vec<&[u8]> = alloc::vec![&big[..]; 20];
        assert_eq!(check_args(8 << 20, b"/bin/x", &[b"x"], &envp), Ok(()));
        let envp: Vec<&[u8]> = alloc::vec![&big[..]; 21];
        assert_eq!(check_args(8 << 20, b"/bin/x", &[b"x"], &envp), Err(Errno::E2BIG));
        let long = alloc::vec![b'y'; MAX_ARG_STRLEN];
        assert_eq!(check_args(8 << 20, b"/bin/x", &[&long[..]], &[]), Err(Errno::E2BIG));
        assert_eq!(check_args(8 << 20, &long, &[b"x"], &[]), Err(Errno::E2BIG));
        assert_eq!(check_args(8 << 20, b"/bin/x", &[], &[]), Ok(()));
    }
}

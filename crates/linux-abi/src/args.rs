//! System-call arguments typed as the Linux prototypes declare them, and
//! Linux's rules for cutting a 64-bit register to that type, in one place.
//!
//! - `int` and `unsigned int` (flags, modes, signal numbers, pids, and
//!   every fd: Linux's `fdget` takes an `unsigned int`) are the register's
//!   low 32 bits; the high bits are ignored, never an error.
//! - `long`, `unsigned long`, `size_t`, `off_t` and pointers are the whole
//!   register.
//! - A pointer is only a typed address ([`UserPtr`], [`UserSlice`],
//!   [`UserCStr`]): as in Linux, nothing is checked when the call starts;
//!   [`access_ok`] is checked where Linux checks it, when the memory is
//!   copied (or, for read(2)/write(2) and the like, where `vfs_read` does).
//!
//! ```
//! use linux_abi::args::{Args, DirFd, Fd};
//! let a = Args([0x1_0000_0003, (-100i64) as u64, 0xdead_0000_0042, 0, 0, 0]);
//! assert_eq!(a.fd(0), Fd(3));
//! assert_eq!(a.dirfd(1), DirFd::Cwd);
//! assert_eq!(a.uint(2), 0x42);
//! assert_eq!(a.len(2), 0xdead_0000_0042);
//! ```

use core::marker::PhantomData;

use crate::pod::Pod;

/// `TASK_SIZE_MAX` on x86_64 with 4-level paging: the first byte user
/// memory may not reach (the last page below the canonical hole is never
/// user memory, as in Linux).
pub const TASK_SIZE_MAX: u64 = (1 << 47) - 4096;

/// `AT_FDCWD` as an `int`.
pub const AT_FDCWD: i32 = -100;

/// Linux 6.1's `access_ok(addr, len)` on x86_64: the whole range lies below
/// [`TASK_SIZE_MAX`]. Also false for a zero-length range at a kernel
/// address, as Linux's. The same rule for another end of user space is
/// [`access_ok_below`].
pub fn access_ok(addr: u64, len: usize) -> bool {
    access_ok_below(addr, len, TASK_SIZE_MAX)
}

/// `access_ok(addr, len)` with the end of user space a parameter: the
/// whole range `[addr, addr + len)` lies at or below `user_end` (the first
/// byte user memory may not reach: [`TASK_SIZE_MAX`] on x86_64 with 4-level
/// paging, `1 << 38` less a page for riscv64's Sv39, `1 << 48` for
/// aarch64 with 48-bit addresses, as the kernel's `TASK_SIZE_MAX` says).
/// A zero-length range above `user_end` is refused, as Linux's.
///
/// ```
/// use linux_abi::args::access_ok_below;
/// let end = (1u64 << 38) - 4096;
/// assert!(access_ok_below(end - 16, 16, end));
/// assert!(!access_ok_below(end - 16, 17, end));
/// assert!(!access_ok_below(end + 1, 0, end));
/// ```
pub fn access_ok_below(addr: u64, len: usize, user_end: u64) -> bool {
    let len = len as u64;
    len <= user_end && addr <= user_end - len
}

/// A file descriptor argument (`unsigned int fd`, or an `int fd` that
/// `fdget` reads as one: a negative fd is a huge one, so `EBADF`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fd(pub u32);

impl Fd {
    /// The descriptor number.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// The directory argument of the `*at` calls (`int dfd`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirFd {
    /// `AT_FDCWD`: the caller's working directory.
    Cwd,
    /// A descriptor of a directory (or any file, with `AT_EMPTY_PATH`).
    Fd(Fd),
}

impl DirFd {
    /// The `int dfd` of a register.
    pub fn from_int(dfd: i32) -> Self {
        if dfd == AT_FDCWD { DirFd::Cwd } else { DirFd::Fd(Fd(dfd as u32)) }
    }
    /// The descriptor a call that wants a file here looks up: `AT_FDCWD`
    /// itself for [`DirFd::Cwd`] (no file has that number: `EBADF`).
    pub fn fd(self) -> Fd {
        match self {
            DirFd::Cwd => Fd(AT_FDCWD as u32),
            DirFd::Fd(fd) => fd,
        }
    }
}

/// A pointer to one `T` in user memory (a typed address, unchecked).
pub struct UserPtr<T> {
    addr: u64,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for UserPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for UserPtr<T> {}

impl<T> core::fmt::Debug for UserPtr<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "UserPtr({:#x})", self.addr)
    }
}

impl<T> PartialEq for UserPtr<T> {
    fn eq(&self, other: &Self) -> bool {
        self.addr == other.addr
    }
}

impl<T> Eq for UserPtr<T> {}

impl<T> UserPtr<T> {
    /// The pointer at `addr`.
    pub const fn new(addr: u64) -> Self {
        Self { addr, _t: PhantomData }
    }
    /// Its address.
    pub fn addr(self) -> u64 {
        self.addr
    }
    /// Whether it is NULL (the calls that make a pointer optional test this).
    pub fn is_null(self) -> bool {
        self.addr == 0
    }
    /// `None` for NULL.
    pub fn non_null(self) -> Option<Self> {
        if self.is_null() { None } else { Some(self) }
    }
    /// The same address as a pointer to another type.
    pub fn cast<U>(self) -> UserPtr<U> {
        UserPtr::new(self.addr)
    }
    /// A pointer to the field `offset` bytes in (`&p->field`; wrapping,
    /// as the address is only checked when copied).
    pub fn field<U>(self, offset: usize) -> UserPtr<U> {
        UserPtr::new(self.addr.wrapping_add(offset as u64))
    }
}

impl<T: Pod> UserPtr<T> {
    /// The `i`-th element of an array starting here (`EFAULT` past the end
    /// of the address space).
    pub fn at(self, i: usize) -> crate::Result<Self> {
        let off = (i as u64).checked_mul(T::SIZE as u64).ok_or(crate::Errno::EFAULT)?;
        Ok(Self::new(self.addr.checked_add(off).ok_or(crate::Errno::EFAULT)?))
    }
    /// The bytes it points to.
    pub fn bytes(self) -> UserSlice {
        UserSlice::new(self.addr, T::SIZE)
    }
    /// `access_ok` for one `T`.
    pub fn access_ok(self) -> bool {
        access_ok(self.addr, T::SIZE)
    }
    /// [`access_ok_below`] for one `T`, for a user space ending at `user_end`.
    pub fn access_ok_below(self, user_end: u64) -> bool {
        access_ok_below(self.addr, T::SIZE, user_end)
    }
}

/// `len` bytes of user memory at `addr` (a `void *buf, size_t count` pair).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSlice {
    /// The first byte.
    pub addr: u64,
    /// The length in bytes.
    pub len: usize,
}

impl UserSlice {
    /// The bytes `[addr, addr + len)`.
    pub const fn new(addr: u64, len: usize) -> Self {
        Self { addr, len }
    }
    /// `access_ok` for the whole range.
    pub fn access_ok(self) -> bool {
        access_ok(self.addr, self.len)
    }
    /// [`access_ok_below`] for the whole range, for a user space ending at
    /// `user_end`.
    pub fn access_ok_below(self, user_end: u64) -> bool {
        access_ok_below(self.addr, self.len, user_end)
    }
    /// [`access_ok`](Self::access_ok) as Linux's calls return it: `EFAULT`.
    pub fn check(self) -> crate::Result<()> {
        if self.access_ok() { Ok(()) } else { Err(crate::Errno::EFAULT) }
    }
    /// The part from byte `off` on, at most `len` long (empty past the end).
    pub fn sub(self, off: usize, len: usize) -> Self {
        let off = off.min(self.len);
        Self { addr: self.addr.wrapping_add(off as u64), len: len.min(self.len - off) }
    }
}

/// A NUL-terminated string in user memory (`const char __user *`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserCStr(pub u64);

impl From<u64> for UserCStr {
    fn from(addr: u64) -> Self {
        UserCStr(addr)
    }
}

impl UserCStr {
    /// Whether it is NULL.
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

/// The six argument registers of a system call (`rdi, rsi, rdx, r10, r8,
/// r9`), read as the prototype's types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Args(pub [u64; 6]);

impl Args {
    /// The raw register (`long`, `unsigned long`, `off_t`, `u64`).
    pub fn raw(&self, i: usize) -> u64 {
        self.0[i]
    }
    /// `long` / `off_t` / `loff_t`.
    pub fn long(&self, i: usize) -> i64 {
        self.0[i] as i64
    }
    /// `int` (pid, signal number, `int` flags): the low 32 bits.
    pub fn int(&self, i: usize) -> i32 {
        self.0[i] as u32 as i32
    }
    /// `unsigned int` (flags, modes): the low 32 bits.
    pub fn uint(&self, i: usize) -> u32 {
        self.0[i] as u32
    }
    /// `size_t`: the whole register.
    pub fn len(&self, i: usize) -> usize {
        self.0[i] as usize
    }
    /// A file descriptor (`unsigned int fd`; an `int fd` reads the same).
    pub fn fd(&self, i: usize) -> Fd {
        Fd(self.uint(i))
    }
    /// An `int dfd` of the `*at` calls.
    pub fn dirfd(&self, i: usize) -> DirFd {
        DirFd::from_int(self.int(i))
    }
    /// A pointer to one `T`.
    pub fn ptr<T>(&self, i: usize) -> UserPtr<T> {
        UserPtr::new(self.0[i])
    }
    /// A buffer: the pointer in register `i`, its `size_t` length in `len`.
    pub fn buf(&self, i: usize, len: usize) -> UserSlice {
        UserSlice::new(self.0[i], self.len(len))
    }
    /// A NUL-terminated string.
    pub fn cstr(&self, i: usize) -> UserCStr {
        UserCStr(self.0[i])
    }
    /// An `int dfd, const char *path` pair of the `*at` calls, at `i` and
    /// `i + 1`.
    pub fn at(&self, i: usize) -> (DirFd, UserCStr) {
        (self.dirfd(i), self.cstr(i + 1))
    }
}

/// `a[i]`: the raw register, for a call whose handler takes it whole.
impl core::ops::Index<usize> for Args {
    type Output = u64;
    fn index(&self, i: usize) -> &u64 {
        &self.0[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Errno;
    use crate::abi::Timespec;

    #[test]
    fn ints_take_the_low_32_bits() {
        let a = Args([0xffff_ffff_0000_0005, 0x1_ffff_ffff, u64::MAX, 0x8000_0000, 0, 0]);
        assert_eq!(a.int(0), 5);
        assert_eq!(a.int(1), -1);
        assert_eq!(a.uint(1), u32::MAX);
        assert_eq!(a.int(2), -1);
        assert_eq!(a.int(3), i32::MIN);
        assert_eq!(a.uint(3), 0x8000_0000);
        assert_eq!(a.long(2), -1);
        assert_eq!(a.len(2), usize::MAX);
        assert_eq!(a.raw(0), 0xffff_ffff_0000_0005);
        assert_eq!(a[0], 0xffff_ffff_0000_0005);
    }

    #[test]
    fn fds_are_unsigned_ints() {
        let a = Args([0x7_0000_0001, (-1i64) as u64, 0xffff_ffff, 0, 0, 0]);
        assert_eq!(a.fd(0), Fd(1));
        assert_eq!(a.fd(1), Fd(u32::MAX));
        assert_eq!(a.fd(2).get(), u32::MAX);
    }

    #[test]
    fn dirfd_knows_at_fdcwd_in_the_low_half_only() {
        let cwd = (-100i64) as u64;
        assert_eq!(Args([cwd, 0, 0, 0, 0, 0]).dirfd(0), DirFd::Cwd);
        // `int dfd`: the high half is ignored
        assert_eq!(Args([cwd & 0xffff_ffff, 0, 0, 0, 0, 0]).dirfd(0), DirFd::Cwd);
        assert_eq!(Args([3, 0, 0, 0, 0, 0]).dirfd(0), DirFd::Fd(Fd(3)));
        assert_eq!(Args([(-1i64) as u64, 0, 0, 0, 0, 0]).dirfd(0), DirFd::Fd(Fd(u32::MAX)));
        assert_eq!(DirFd::from_int(-101), DirFd::Fd(Fd(-101i32 as u32)));
        assert_eq!(DirFd::Cwd.fd(), Fd(0xffff_ff9c));
        assert_eq!(DirFd::Fd(Fd(7)).fd(), Fd(7));
    }

    #[test]
    fn access_ok_below_takes_the_end_of_user_space() {
        // aarch64 with 48-bit virtual addresses: TASK_SIZE is 1 << 48.
        let end = 1u64 << 48;
        assert!(access_ok_below(end - 8, 8, end));
        assert!(!access_ok_below(end - 8, 9, end));
        assert!(access_ok_below(end, 0, end));
        assert!(!access_ok_below(end + 1, 0, end));
        assert!(!access_ok_below(0, end as usize + 1, end));
        // The x86_64 default is the same rule at TASK_SIZE_MAX.
        assert!(access_ok_below(TASK_SIZE_MAX - 16, 16, TASK_SIZE_MAX));
        assert!(!access_ok(end - 8, 8)); // above x86_64's end
        let s = UserSlice::new(end - 16, 16);
        assert!(s.access_ok_below(end) && !s.access_ok());
        let p = UserPtr::<u64>::new(end - 8);
        assert!(p.access_ok_below(end) && !p.access_ok_below(end - 1));
    }

    #[test]
    fn access_ok_is_linux_6_1s() {
        assert!(access_ok(0, 0));
        assert!(access_ok(0x1000, 4096));
        assert!(access_ok(TASK_SIZE_MAX - 16, 16));
        assert!(!access_ok(TASK_SIZE_MAX - 16, 17));
        assert!(access_ok(TASK_SIZE_MAX, 0));
        assert!(!access_ok(TASK_SIZE_MAX + 1, 0));
        assert!(!access_ok(0xffff_8000_0000_0000, 0));
        assert!(!access_ok(0xffff_8000_0000_0000, 8));
        assert!(!access_ok(0, usize::MAX));
        assert!(!access_ok(16, TASK_SIZE_MAX as usize));
        assert!(access_ok(0, TASK_SIZE_MAX as usize));
    }

    #[test]
    fn pointers_are_typed_addresses() {
        let a = Args([0x1000, 0, 0xffff_8000_0000_0000, 0, 0, 0]);
        let p: UserPtr<Timespec> = a.ptr(0);
        assert_eq!(p.addr(), 0x1000);
        assert!(!p.is_null());
        assert!(p.access_ok());
        assert_eq!(p.at(2).map(|q| q.addr()), Ok(0x1020));
        assert_eq!(p.bytes(), UserSlice::new(0x1000, 16));
        assert_eq!(p.cast::<u32>().addr(), 0x1000);
        assert_eq!(p.field::<i64>(8).addr(), 0x1008);
        assert_eq!(UserPtr::<u64>::new(u64::MAX).field::<u8>(2).addr(), 1);
        assert!(a.ptr::<u64>(1).is_null());
        assert_eq!(a.ptr::<u64>(1).non_null(), None);
        assert!(!a.ptr::<u64>(2).access_ok());
        assert_eq!(UserPtr::<u64>::new(u64::MAX - 7).at(1), Err(Errno::EFAULT));
        assert_eq!(UserPtr::<u64>::new(0).at(usize::MAX), Err(Errno::EFAULT));
    }

    #[test]
    fn buffers_check_their_whole_range() {
        let a = Args([0x1000, 64, 0xffff_8000_0000_0000, 0, TASK_SIZE_MAX - 8, 9]);
        assert_eq!(a.buf(0, 1), UserSlice::new(0x1000, 64));
        assert_eq!(a.buf(0, 1).check(), Ok(()));
        assert_eq!(a.buf(2, 3).check(), Err(Errno::EFAULT));
        assert_eq!(a.buf(4, 5).check(), Err(Errno::EFAULT));
        assert_eq!(a.buf(4, 3).check(), Ok(()));
        assert_eq!(a.buf(0, 1).sub(60, 10), UserSlice::new(0x1000 + 60, 4));
        assert_eq!(a.buf(0, 1).sub(100, 10), UserSlice::new(0x1000 + 64, 0));
        assert!(a.cstr(3).is_null());
        assert_eq!(a.at(0), (DirFd::Fd(Fd(0x1000)), UserCStr(64)));
        assert_eq!(a.cstr(0), UserCStr(0x1000));
    }
}

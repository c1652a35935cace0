//! [`FileTable`]: descriptor numbers, their close-on-exec flags and the
//! files they refer to.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use linux_abi::{Errno, Result};

use crate::bitmap::FdBitmap;
use crate::{CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE, FD_CLOEXEC, NR_OPEN, O_CLOEXEC};

/// Bits per word of the close-on-exec bitmap.
const BITS: usize = 64;

/// A process's file-descriptor table (Linux's `files_struct`): which
/// descriptor numbers are open, the file each one refers to, and its
/// close-on-exec flag.
///
/// Generic over the open-file object `F` (for example `dyn FileLike`); the
/// table holds `Arc<F>`, so descriptors made by dup or fork share one open
/// file, as they share one open file description in Linux.
///
/// Operations that make a descriptor take `nofile`, the caller's
/// `RLIMIT_NOFILE` soft limit (Linux keeps that limit per process, while a
/// table can be shared by several processes). Descriptors are also bounded
/// by [`NR_OPEN`], Linux's default `fs.nr_open`.
///
/// Methods that remove files return them, so that the caller drops them (and
/// runs whatever a last close does) after releasing the table's lock.
pub struct FileTable<F: ?Sized> {
    /// The file of each slot; `None` for free and reserved slots.
    files: Vec<Option<Arc<F>>>,
    /// One bit per slot: the close-on-exec flag (`FD_CLOEXEC`).
    cloexec: Vec<u64>,
    /// One bit per slot: open or reserved (Linux's `open_fds`).
    used: FdBitmap,
    /// The number of open descriptors (reserved slots excluded).
    open: usize,
    /// Bumped by every change (a copy in steps starts again when it moved
    /// between two steps).
    generation: u64,
}

/// A descriptor number allocated by [`FileTable::reserve`] and not yet
/// given a file: Linux's `get_unused_fd_flags` before `fd_install`.
///
/// Give it a file with [`FileTable::install`] or free it with
/// [`FileTable::unreserve`], on the table that made it.
#[must_use = "a reserved descriptor stays allocated until installed or unreserved"]
#[derive(Debug, PartialEq, Eq)]
pub struct Reserved {
    fd: u32,
}

impl Reserved {
    /// The reserved descriptor number.
    pub fn fd(&self) -> u32 {
        self.fd
    }
}

impl<F: ?Sized> Default for FileTable<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: ?Sized + fmt::Debug> fmt::Debug for FileTable<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter().map(|(fd, file)| ((fd, self.is_cloexec(fd)), file))).finish()
    }
}

/// The bound on descriptor numbers an allocation may return: the soft
/// `RLIMIT_NOFILE` and `NR_OPEN`, whichever is lower.
fn alloc_end(nofile: u64) -> usize {
    // NR_OPEN fits in usize on every target this crate supports (>= 32 bits).
    nofile.min(u64::from(NR_OPEN)) as usize
}

impl<F: ?Sized> FileTable<F> {
    /// An empty table.
    pub const fn new() -> Self {
        Self { files: Vec::new(), cloexec: Vec::new(), used: FdBitmap::new(), open: 0, generation: 0 }
    }

    /// Empties a table that is closed for good (its last handle went):
    /// its files, to drop after the table's lock. Only the file slots move
    /// (three words); the bitmaps and close-on-exec words stay, as nothing
    /// reads a closed table again.
    pub(crate) fn take_files_of_closed(&mut self) -> Vec<Option<Arc<F>>> {
        self.open = 0;
        core::mem::take(&mut self.files)
    }

    /// The number of open descriptors.
    pub fn len(&self) -> usize {
        self.open
    }

    /// Whether no descriptor is open.
    pub fn is_empty(&self) -> bool {
        self.open == 0
    }

    /// The file open at `fd` (a new reference to it), or `EBADF` when `fd`
    /// is not open (Linux's `fget`).
    pub fn get(&self, fd: u32) -> Result<Arc<F>> {
        self.file(fd).cloned().ok_or(Errno::EBADF)
    }

    /// The open descriptors and their files, in increasing descriptor order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Arc<F>)> + '_ {
        // the used slots only (a reserved one has no file)
        self.used
            .ones(0, usize::MAX)
            .filter_map(|fd| self.files.get(fd)?.as_ref().map(|file| (fd as u32, file)))
    }

    /// Opens `file` at the lowest free descriptor (open(2): "the lowest-numbered
    /// file descriptor not currently open"), with `FD_CLOEXEC` set when
    /// `cloexec` is (`O_CLOEXEC`).
    ///
    /// `EMFILE` when no descriptor below `nofile` (and [`NR_OPEN`]) is free;
    /// `ENOMEM` when the table cannot grow. On an error `file` is dropped:
    /// to allocate the descriptor before making the file, as Linux's open(2)
    /// does, use [`reserve`](Self::reserve) and [`install`](Self::install).
    pub fn insert(&mut self, file: Arc<F>, cloexec: bool, nofile: u64) -> Result<u32> {
        let fd = self.alloc(0, cloexec, nofile)?;
        self.fill(fd, file);
        Ok(fd)
    }

    /// Allocates the lowest free descriptor without a file yet, with
    /// `FD_CLOEXEC` as `cloexec` says (Linux's `get_unused_fd_flags`).
    ///
    /// Errors as [`insert`](Self::insert). Until it is installed, the
    /// descriptor is not open (`EBADF` for get, close, dup), is not
    /// allocated again, makes dup2/dup3 onto it fail with `EBUSY`, and is not
    /// copied by [`try_clone`](Self::try_clone).
    pub fn reserve(&mut self, cloexec: bool, nofile: u64) -> Result<Reserved> {
        self.alloc(0, cloexec, nofile).map(|fd| Reserved { fd })
    }

    /// Gives a reserved descriptor its file and returns the descriptor
    /// (Linux's `fd_install`).
    ///
    /// If `reserved` did not come from this table and its number is not
    /// reserved here, nothing changes and `file` comes back as the error.
    pub fn install(&mut self, reserved: Reserved, file: Arc<F>) -> core::result::Result<u32, Arc<F>> {
        let fd = reserved.fd;
        if self.used.contains(fd as usize) && self.file(fd).is_none() {
            self.fill(fd, file);
            Ok(fd)
        } else {
            Err(file)
        }
    }

    /// Frees a reserved descriptor that will not be installed (Linux's
    /// `put_unused_fd`). Nothing happens if its number is not reserved here.
    pub fn unreserve(&mut self, reserved: Reserved) {
        let fd = reserved.fd as usize;
        if self.used.contains(fd) && self.file(reserved.fd).is_none() {
            self.used.remove(fd);
            self.set_cloexec_bit(fd, false);
        }
    }

    /// Closes `fd` and returns its file (close(2)); `EBADF` when `fd` is not
    /// open.
    pub fn close(&mut self, fd: u32) -> Result<Arc<F>> {
        let file = self.files.get_mut(fd as usize).and_then(Option::take).ok_or(Errno::EBADF)?;
        self.vacate(fd as usize);
        Ok(file)
    }

    /// dup(2): a new descriptor, the lowest free one, for the file open at
    /// `oldfd`, with `FD_CLOEXEC` clear.
    ///
    /// `EBADF` when `oldfd` is not open, then `EMFILE` when no descriptor
    /// below `nofile` is free.
    pub fn dup(&mut self, oldfd: u32, nofile: u64) -> Result<u32> {
        let file = self.get(oldfd)?;
        self.insert(file, false, nofile)
    }

    /// fcntl(2) `F_DUPFD` (`cloexec` false) and `F_DUPFD_CLOEXEC` (true): a
    /// new descriptor, the lowest free one at or above `min`, for the file
    /// open at `oldfd`.
    ///
    /// `EBADF` when `oldfd` is not open, then `EINVAL` when `min` is at or
    /// above `nofile`, then `EMFILE` when no descriptor from `min` up to
    /// `nofile` is free. Linux reads `min` as an `int` and then as an
    /// `unsigned int`: the syscall layer passes `arg as u32`, so a negative
    /// `arg` is a huge `min` and gets `EINVAL`.
    pub fn dupfd(&mut self, oldfd: u32, min: u32, cloexec: bool, nofile: u64) -> Result<u32> {
        let file = self.get(oldfd)?;
        if u64::from(min) >= nofile {
            return Err(Errno::EINVAL);
        }
        let fd = self.alloc(min, cloexec, nofile)?;
        self.fill(fd, file);
        Ok(fd)
    }

    /// dup2(2): makes `newfd` refer to the file open at `oldfd`, with
    /// `FD_CLOEXEC` clear, closing what `newfd` had. On success the syscall
    /// returns `newfd`; this returns the file that was open at `newfd`, for
    /// the caller to drop outside its locks.
    ///
    /// When `oldfd == newfd`: nothing changes, `Ok(None)` if `oldfd` is open,
    /// else `EBADF`. Otherwise as [`dup3`](Self::dup3) with no flags.
    pub fn dup2(&mut self, oldfd: u32, newfd: u32, nofile: u64) -> Result<Option<Arc<F>>> {
        if oldfd == newfd {
            return self.get(oldfd).map(|_| None);
        }
        self.dup3(oldfd, newfd, 0, nofile)
    }

    /// dup3(2): as dup2 but `FD_CLOEXEC` on `newfd` is set when `flags` is
    /// `O_CLOEXEC` and cleared when it is 0. Returns the file that was open
    /// at `newfd`.
    ///
    /// In Linux's order: `EINVAL` for any flag other than `O_CLOEXEC`;
    /// `EINVAL` when `oldfd == newfd`; `EBADF` when `newfd` is at or above
    /// `nofile` (or [`NR_OPEN`]); `EBADF` when `oldfd` is not open; `ENOMEM`
    /// when the table cannot grow; `EBUSY` when `newfd` is reserved (Linux:
    /// "a race condition with open(2) and dup()").
    pub fn dup3(&mut self, oldfd: u32, newfd: u32, flags: u32, nofile: u64) -> Result<Option<Arc<F>>> {
        if flags & !O_CLOEXEC != 0 {
            return Err(Errno::EINVAL);
        }
        if oldfd == newfd {
            return Err(Errno::EINVAL);
        }
        let new = newfd as usize;
        if u64::from(newfd) >= nofile || newfd >= NR_OPEN {
            return Err(Errno::EBADF);
        }
        let file = self.get(oldfd)?;
        self.grow_to(new)?;
        if self.used.contains(new) && self.file(newfd).is_none() {
            return Err(Errno::EBUSY);
        }
        let old = self.files.get_mut(new).and_then(|slot| slot.replace(file));
        if old.is_none() {
            self.used.insert(new);
            self.open += 1;
        }
        self.set_cloexec_bit(new, flags & O_CLOEXEC != 0);
        Ok(old)
    }

    /// fcntl(2) `F_GETFD`: the descriptor flags of `fd`, `FD_CLOEXEC` or 0;
    /// `EBADF` when `fd` is not open.
    pub fn fd_flags(&self, fd: u32) -> Result<u32> {
        self.file(fd).ok_or(Errno::EBADF)?;
        Ok(if self.is_cloexec(fd) { FD_CLOEXEC } else { 0 })
    }

    /// fcntl(2) `F_SETFD`: sets the descriptor flags of `fd` to `flags`; only
    /// `FD_CLOEXEC` counts, Linux ignores the other bits. `EBADF` when `fd`
    /// is not open.
    pub fn set_fd_flags(&mut self, fd: u32, flags: u32) -> Result<()> {
        self.file(fd).ok_or(Errno::EBADF)?;
        self.set_cloexec_bit(fd as usize, flags & FD_CLOEXEC != 0);
        Ok(())
    }

    /// close_range(2) on this table: closes the open descriptors from `first`
    /// to `last` inclusive and returns their files in descriptor order, or,
    /// with `CLOSE_RANGE_CLOEXEC`, sets their `FD_CLOEXEC` and returns none.
    ///
    /// `EINVAL` for flags other than `CLOSE_RANGE_CLOEXEC` and
    /// `CLOSE_RANGE_UNSHARE`, or when `first > last`. `CLOSE_RANGE_UNSHARE`
    /// does nothing here: a table reached through `&mut` is not shared; for a
    /// shared table use [`SharedFileTable::close_range`](crate::SharedFileTable::close_range).
    pub fn close_range(&mut self, first: u32, last: u32, flags: u32) -> Result<Vec<Arc<F>>> {
        check_close_range(first, last, flags)?;
        let end = (last as usize).saturating_add(1).min(self.files.len());
        let start = first as usize;
        let mut closed = Vec::new();
        if start >= end {
            return Ok(closed);
        }
        if flags & CLOSE_RANGE_CLOEXEC != 0 {
            // As Linux's __range_cloexec, reserved descriptors are marked
            // too (free ones get their flag when allocated).
            for fd in start..end {
                if self.used.contains(fd) {
                    self.set_cloexec_bit(fd, true);
                }
            }
            return Ok(closed);
        }
        for fd in start..end {
            if let Some(file) = self.files.get_mut(fd).and_then(Option::take) {
                self.vacate(fd);
                closed.push(file);
            }
        }
        Ok(closed)
    }

    /// The close-on-exec sweep of execve(2): closes every open descriptor
    /// with `FD_CLOEXEC` and returns their files in descriptor order, for the
    /// caller to drop outside its locks. Linux unshares the table first
    /// ([`SharedFileTable::unshare`](crate::SharedFileTable::unshare)). As in
    /// Linux's `do_close_on_exec`, a reserved descriptor is not closed but
    /// loses its flag.
    pub fn close_on_exec(&mut self) -> Vec<Arc<F>> {
        let mut closed = Vec::new();
        for w in 0..self.cloexec.len() {
            let Some(mut word) = self.cloexec.get_mut(w).map(core::mem::take) else {
                break;
            };
            while word != 0 {
                let fd = w * BITS + word.trailing_zeros() as usize;
                word &= word - 1;
                if let Some(file) = self.files.get_mut(fd).and_then(Option::take) {
                    self.vacate(fd);
                    closed.push(file);
                }
            }
        }
        closed
    }

    /// A copy of the table for fork(2) (no `CLONE_FILES`): the same
    /// descriptors, flags and files (the files themselves are shared, as
    /// open file descriptions are). Reserved descriptors are not copied.
    /// `ENOMEM` when memory runs out.
    pub fn try_clone(&self) -> Result<Self> {
        self.copy_except(1, 0)
    }

    /// A copy without the descriptors from `first` to `last` (none when
    /// `first > last`): Linux's `dup_fd` with a punched hole.
    pub(crate) fn copy_except(&self, first: u32, last: u32) -> Result<Self> {
        let mut copy = Self::with_room(self.copy_room())?;
        self.copy_except_into(&mut copy, first, last);
        Ok(copy)
    }

    /// [`copy_except`](Self::copy_except) into `copy`, an empty table made
    /// by [`with_room`](Self::with_room) with room for
    /// [`copy_room`](Self::copy_room) slots (more is fine): nothing is
    /// allocated here.
    pub(crate) fn copy_except_into(&self, copy: &mut Self, first: u32, last: u32) {
        if first > last {
            // the whole table: one step
            self.copy_step(copy, 0, usize::MAX);
            return;
        }
        let hole = first as usize..=last as usize;
        for (fd, file) in self.iter() {
            let fd = fd as usize;
            if !hole.contains(&fd) && fd < copy.files.len() {
                copy.fill(fd as u32, file.clone());
                copy.used.insert(fd);
                copy.set_cloexec_bit(fd, self.is_cloexec(fd as u32));
            }
        }
    }

    /// The slots a copy needs: one past the highest slot in use (open or
    /// reserved), 0 for an empty table; found by a backward scan of the
    /// used bitmap's words (Linux's `count_open_files`).
    pub(crate) fn copy_room(&self) -> usize {
        self.used.last_set().map_or(0, |i| i + 1)
    }

    /// The slots the table has room for (grows only).
    pub(crate) fn capacity(&self) -> usize {
        self.files.len()
    }

    /// An empty table with room for `slots` slots (made before the lock on
    /// the table to copy is taken). `ENOMEM` when memory runs out.
    pub(crate) fn with_room(slots: usize) -> Result<Self> {
        let mut t = Self::new();
        if slots > 0 {
            t.grow_to(slots.min(NR_OPEN as usize) - 1)?;
        }
        Ok(t)
    }

    /// Copies up to `max` slots of descriptors from `from` on into `copy`
    /// (made by [`with_room`](Self::with_room) with room for
    /// [`copy_room`](Self::copy_room) slots when the table was as it is
    /// now: same [`generation`](Self::generation)); returns where the next
    /// step starts, `usize::MAX` once done.
    pub(crate) fn copy_step(&self, copy: &mut Self, from: usize, max: usize) -> usize {
        let end = from.saturating_add(max).min(self.files.len()).min(copy.files.len());
        // the used slots only: a copy costs the open descriptors, not the
        // table's capacity (64 slots at least)
        for fd in self.used.ones(from, end) {
            if let Some(file) = self.files.get(fd).and_then(Option::as_ref) {
                copy.fill(fd as u32, file.clone());
                copy.used.insert(fd);
                copy.set_cloexec_bit(fd, self.is_cloexec(fd as u32));
            }
        }
        if end >= copy.files.len().min(self.files.len()) { usize::MAX } else { end }
    }

    /// A number that changes whenever the table does.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    // --- internals ---

    fn file(&self, fd: u32) -> Option<&Arc<F>> {
        self.files.get(fd as usize).and_then(Option::as_ref)
    }

    fn is_cloexec(&self, fd: u32) -> bool {
        let fd = fd as usize;
        self.cloexec.get(fd / BITS).is_some_and(|w| w & (1 << (fd % BITS)) != 0)
    }

    fn set_cloexec_bit(&mut self, fd: usize, on: bool) {
        self.generation = self.generation.wrapping_add(1);
        if let Some(w) = self.cloexec.get_mut(fd / BITS) {
            if on {
                *w |= 1 << (fd % BITS);
            } else {
                *w &= !(1 << (fd % BITS));
            }
        }
    }

    /// Allocates the lowest free slot at or above `min` and below the limit,
    /// marks it used with the given close-on-exec flag (Linux's `alloc_fd`).
    fn alloc(&mut self, min: u32, cloexec: bool, nofile: u64) -> Result<u32> {
        self.generation = self.generation.wrapping_add(1);
        let fd = self.used.first_clear_from(min as usize);
        if fd >= alloc_end(nofile) {
            return Err(Errno::EMFILE);
        }
        self.grow_to(fd)?;
        self.used.insert(fd);
        self.set_cloexec_bit(fd, cloexec);
        // fd < NR_OPEN, so it fits.
        Ok(fd as u32)
    }

    /// Puts `file` in the used, empty slot `fd`.
    fn fill(&mut self, fd: u32, file: Arc<F>) {
        self.generation = self.generation.wrapping_add(1);
        if let Some(slot) = self.files.get_mut(fd as usize) {
            *slot = Some(file);
            self.open += 1;
        }
    }

    /// Marks the slot `fd`, whose file was just taken, free.
    fn vacate(&mut self, fd: usize) {
        self.generation = self.generation.wrapping_add(1);
        self.used.remove(fd);
        self.set_cloexec_bit(fd, false);
        self.open -= 1;
    }

    /// Makes room for slot `fd` (`fd < NR_OPEN`): capacity grows to a power
    /// of two, at least 64, as Linux's `expand_files`. `ENOMEM` leaves the
    /// table unchanged.
    fn grow_to(&mut self, fd: usize) -> Result<()> {
        if fd < self.files.len() {
            return Ok(());
        }
        #[cfg(test)]
        probe::grown();
        let cap = (fd + 1).next_power_of_two().max(BITS);
        let words = cap / BITS;
        self.files.try_reserve_exact(cap - self.files.len()).map_err(|_| Errno::ENOMEM)?;
        self.cloexec.try_reserve_exact(words - self.cloexec.len()).map_err(|_| Errno::ENOMEM)?;
        self.used.grow(cap)?;
        self.files.resize_with(cap, || None);
        self.cloexec.resize(words, 0);
        Ok(())
    }
}

/// The argument checks of close_range(2), in Linux's order: `EINVAL` for
/// a flag other than `CLOSE_RANGE_UNSHARE` and `CLOSE_RANGE_CLOEXEC`, or for
/// `first > last`.
pub fn check_close_range(first: u32, last: u32, flags: u32) -> Result<()> {
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if first > last {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Unit tests: a probe that every growth of a table calls, to count the
/// growths made while a given lock is held (fork's copy must allocate with
/// the table's lock released).
#[cfg(test)]
pub(crate) mod probe {
    use alloc::boxed::Box;
    use core::cell::{Cell, RefCell};

    std::thread_local! {
        static HELD: RefCell<Option<Box<dyn Fn() -> bool>>> = RefCell::new(None);
        static UNDER: Cell<usize> = const { Cell::new(0) };
    }

    /// From now on this thread counts the growths made while `held()`.
    pub(crate) fn watch(held: Box<dyn Fn() -> bool>) {
        HELD.with(|h| *h.borrow_mut() = Some(held));
        UNDER.with(|u| u.set(0));
    }

    /// The growths counted since the last call or `watch`.
    pub(crate) fn take() -> usize {
        UNDER.with(|u| u.replace(0))
    }

    pub(super) fn grown() {
        if HELD.with(|h| h.borrow().as_ref().is_some_and(|f| f())) {
            UNDER.with(|u| u.set(u.get() + 1));
        }
    }
}

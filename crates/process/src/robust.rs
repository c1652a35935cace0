//! The robust-futex list walk at thread exit (Linux's `exit_robust_list()`
//! and `handle_futex_death()`): every futex the dying thread owns gets
//! `FUTEX_OWNER_DIED`, and one waiter is woken if there were waiters.

use alloc::vec::Vec;

use crate::pid::Pid;
use crate::uaccess::UserMemory;

/// The futex word's "someone waits" bit.
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
/// The futex word's "owner died" bit.
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// The owner's tid in a futex word.
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// At most this many entries are walked (`ROBUST_LIST_LIMIT`).
pub const ROBUST_LIST_LIMIT: usize = 2048;
/// `sizeof(struct robust_list_head)` on 64-bit Linux.
pub const ROBUST_LIST_HEAD_SIZE: u64 = 24;

fn read_u64(mem: &impl UserMemory, addr: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    mem.read_bytes(addr, &mut b).ok()?;
    Some(u64::from_ne_bytes(b))
}

/// `handle_futex_death()`: returns whether a waiter must be woken at
/// `uaddr`.
fn futex_death(mem: &impl UserMemory, uaddr: u64, tid: Pid, pi: bool, pending_op: bool) -> bool {
    if !uaddr.is_multiple_of(4) {
        return false;
    }
    let Ok(uval) = mem.read_u32(uaddr) else { return false };
    if pending_op && !pi && uval == 0 {
        // The owner died between taking the lock and publishing its tid.
        return true;
    }
    if uval & FUTEX_TID_MASK != tid {
        return false;
    }
    let new = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if mem.write_u32(uaddr, new).is_err() {
        return false;
    }
    !pi && uval & FUTEX_WAITERS != 0
}

/// Walks the robust list whose head is at `head` for the dying thread
/// `tid`: marks each futex it owns and returns the addresses where one
/// waiter must be woken. A bad address ends the walk quietly, as in Linux.
pub fn exit_robust_list(mem: &impl UserMemory, head: u64, tid: Pid) -> Vec<u64> {
    let mut wake = Vec::new();
    let Some(first) = read_u64(mem, head) else { return wake };
    let Some(offset) = head.checked_add(8).and_then(|a| read_u64(mem, a)) else { return wake };
    let Some(pending) = head.checked_add(16).and_then(|a| read_u64(mem, a)) else { return wake };
    let (pending_entry, pending_pi) = (pending & !1, pending & 1 != 0);
    let mut entry = first & !1;
    let mut pi = first & 1 != 0;
    let mut limit = ROBUST_LIST_LIMIT;
    while entry != head {
        let Some(next) = read_u64(mem, entry) else { return wake };
        if entry != pending_entry {
            let uaddr = entry.wrapping_add(offset);
            if futex_death(mem, uaddr, tid, pi, false) {
                wake.push(uaddr);
            }
        }
        entry = next & !1;
        pi = next & 1 != 0;
        limit -= 1;
        if limit == 0 {
            break;
        }
    }
    if pending_entry != 0 {
        let uaddr = pending_entry.wrapping_add(offset);
        if futex_death(mem, uaddr, tid, pending_pi, true) {
            wake.push(uaddr);
        }
    }
    wake
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::VecMemory;
    use alloc::vec;

    fn put64(m: &VecMemory, a: u64, v: u64) {
        m.write_bytes(a, &v.to_ne_bytes()).unwrap();
    }

    /// head at 0; entries at 0x100, 0x200, 0x300 with the futex word 16
    /// bytes after each entry (glibc's layout differs; the offset is data).
    #[test]
    fn marks_owned_futexes() {
        let m = VecMemory::new(0, vec![0; 0x1000]);
        put64(&m, 0, 0x100);
        put64(&m, 8, 16);
        put64(&m, 16, 0x300); // list_op_pending
        put64(&m, 0x100, 0x200);
        put64(&m, 0x200, 0x300);
        put64(&m, 0x300, 0); // back to the head
        m.write_u32(0x110, 7 | FUTEX_WAITERS).unwrap(); // ours, waiters
        m.write_u32(0x210, 8).unwrap(); // someone else's
        m.write_u32(0x310, 0).unwrap(); // pending, not yet owned
        let wake = exit_robust_list(&m, 0, 7);
        assert_eq!(m.read_u32(0x110).unwrap(), FUTEX_WAITERS | FUTEX_OWNER_DIED);
        assert_eq!(m.read_u32(0x210).unwrap(), 8);
        assert_eq!(wake, vec![0x110, 0x310]);
    }

    #[test]
    fn bad_head_is_quiet() {
        let m = VecMemory::new(0, vec![0; 16]);
        assert_eq!(exit_robust_list(&m, 0x5000, 1), Vec::<u64>::new());
    }

    #[test]
    fn cycles_are_bounded() {
        let m = VecMemory::new(0, vec![0; 0x1000]);
        put64(&m, 0, 0x100);
        put64(&m, 8, 8);
        put64(&m, 0x100, 0x100); // a loop on itself
        m.write_u32(0x108, 3).unwrap();
        let wake = exit_robust_list(&m, 0, 3);
        assert_eq!(m.read_u32(0x108).unwrap(), FUTEX_OWNER_DIED);
        assert!(wake.is_empty());
    }
}

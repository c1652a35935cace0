//! A page table without an ordered walk (a hash map of pages, as another
//! kernel's first port might have): the default `fork_range`,
//! `unmap_range` and mprotect cost O(entries) per call through its
//! `for_each_present`, not O(entries) per page.

use std::cell::Cell;
use std::collections::HashMap;
use std::time::Instant;

use vm::testing::TestFrames;
use vm::{Frame, NoMemory, PageTable, PteFlags, Vmar};

#[derive(Default)]
struct HashTable {
    entries: HashMap<usize, (Frame, PteFlags)>,
    /// Entries looked at by walks (next_present scans, for_each_present).
    scanned: Cell<usize>,
}

impl PageTable for HashTable {
    fn map(&mut self, va: usize, frame: Frame, flags: PteFlags) -> Result<(), NoMemory> {
        self.entries.insert(va, (frame, flags));
        Ok(())
    }
    fn unmap(&mut self, va: usize) -> Option<(Frame, PteFlags)> {
        self.entries.remove(&va)
    }
    fn protect(&mut self, va: usize, flags: PteFlags) -> bool {
        self.entries.get_mut(&va).map(|e| e.1 = flags).is_some()
    }
    fn query(&self, va: usize) -> Option<(Frame, PteFlags)> {
        self.entries.get(&va).copied()
    }
    fn next_present(&self, start: usize, end: usize) -> Option<(usize, Frame, PteFlags)> {
        self.scanned.set(self.scanned.get() + self.entries.len());
        let hit = self.entries.iter().filter(|(va, _)| (start..end).contains(*va)).min_by_key(|(va, _)| **va);
        hit.map(|(&va, &(f, fl))| (va, f, fl))
    }
    fn for_each_present(&self, start: usize, end: usize, visit: &mut dyn FnMut(usize, Frame, PteFlags)) {
        self.scanned.set(self.scanned.get() + self.entries.len());
        for (&va, &(f, fl)) in &self.entries {
            if (start..end).contains(&va) {
                visit(va, f, fl);
            }
        }
    }
    fn flush(&mut self) {}
    fn new_empty(&self) -> Result<Self, NoMemory> {
        Ok(Self::default())
    }
}

const BASE: usize = 0x1000_0000;

#[test]
fn fork_mprotect_and_exit_are_linear_on_a_hash_map_table() {
    for pages in [2048usize, 4096, 8192] {
        let frames = TestFrames::new();
        let mut parent = Vmar::new(HashTable::default(), frames.clone());
        // MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, PROT_READ | PROT_WRITE.
        assert_eq!(parent.mmap(BASE, pages * 4096, 3, 0x32, None, 0), Ok(BASE));
        for i in 0..pages {
            parent.write_user(BASE + i * 4096, &(i as u32).to_le_bytes()).unwrap();
        }
        parent.page_table().scanned.set(0);
        let t0 = Instant::now();
        let mut child = parent.fork().unwrap();
        let fork = t0.elapsed();
        let fork_scanned = parent.page_table().scanned.get() + child.page_table().scanned.get();
        // PROT_READ over the child's half: one listing.
        child.page_table().scanned.set(0);
        assert_eq!(child.mprotect(BASE, pages / 2 * 4096, 1), Ok(()));
        let protect_scanned = child.page_table().scanned.get();
        let mut word = [0u8; 4];
        child.read_user(BASE + (pages - 1) * 4096, &mut word).unwrap();
        assert_eq!(u32::from_le_bytes(word), pages as u32 - 1);
        child.page_table().scanned.set(0);
        let t0 = Instant::now();
        child.clear();
        let clear = t0.elapsed();
        let clear_scanned = child.page_table().scanned.get();
        eprintln!(
            "{pages} pages: fork {fork:?} ({fork_scanned} entries scanned), mprotect {protect_scanned}, exit {clear:?} ({clear_scanned})"
        );
        // One pass over the parent's entries per mapping, not one per page.
        assert!(fork_scanned <= 2 * pages, "fork scanned {fork_scanned}");
        assert!(protect_scanned <= 2 * pages, "mprotect scanned {protect_scanned}");
        assert!(clear_scanned <= 2 * pages, "exit scanned {clear_scanned}");
        drop(child);
        drop(parent);
        assert_eq!(frames.allocated(), 0);
    }
}

//! The contexts of one address space (fs/aio.c's `kioctx_table`), by the
//! index each ring's `id` field holds.

use alloc::vec::Vec;
use linux_abi::Errno;

/// The contexts of one address space: a context's id is its index, the
/// lowest free one at its creation (as `ioctx_add_table`).
#[derive(Debug)]
pub struct Table<C> {
    slots: Vec<Option<C>>,
    live: usize,
}

impl<C> Default for Table<C> {
    fn default() -> Self {
        Table { slots: Vec::new(), live: 0 }
    }
}

impl<C> Table<C> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index the next [`insert`](Table::insert) takes.
    pub fn next_id(&self) -> u32 {
        self.slots.iter().position(Option::is_none).unwrap_or(self.slots.len()) as u32
    }

    /// Puts `c` at [`next_id`](Table::next_id); `ENOMEM` when the table
    /// cannot grow.
    pub fn insert(&mut self, c: C) -> Result<u32, Errno> {
        let id = self.next_id() as usize;
        if id == self.slots.len() {
            self.slots.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            self.slots.push(Some(c));
        } else {
            self.slots[id] = Some(c);
        }
        self.live += 1;
        Ok(id as u32)
    }

    /// The context at `id`.
    pub fn get(&self, id: u32) -> Option<&C> {
        self.slots.get(id as usize)?.as_ref()
    }

    /// Takes the context at `id` out.
    pub fn remove(&mut self, id: u32) -> Option<C> {
        let c = self.slots.get_mut(id as usize)?.take();
        if c.is_some() {
            self.live -= 1;
        }
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        c
    }

    /// Live contexts.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no context lives.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Takes every context out (exit, exec), allocating nothing.
    pub fn take_all(&mut self) -> impl Iterator<Item = C> + use<C> {
        self.live = 0;
        core::mem::take(&mut self.slots).into_iter().flatten()
    }

    /// The live contexts.
    pub fn iter(&self) -> impl Iterator<Item = &C> {
        self.slots.iter().flatten()
    }
}

//! The completion ring's layout (`struct aio_ring` then `struct
//! io_event`s, as fs/aio.c writes them and libaio reads them in user
//! mode), io_setup's sizing of it, and the system-wide budget of
//! `/proc/sys/fs/aio-nr` against `aio-max-nr`.

use linux_abi::Errno;

/// `AIO_RING_MAGIC`, the ring's `magic` field (libaio's user-mode reap
/// checks it).
pub const MAGIC: u32 = 0xa10a_10a1;
/// `AIO_RING_COMPAT_FEATURES`.
pub const COMPAT_FEATURES: u32 = 1;
/// `AIO_RING_INCOMPAT_FEATURES`.
pub const INCOMPAT_FEATURES: u32 = 0;
/// `sizeof(struct aio_ring)`: the header before the events.
pub const HEADER_LEN: usize = 32;
/// `sizeof(struct io_event)`.
pub const EVENT_LEN: usize = 32;
/// The page size the ring is made of.
pub const PAGE: usize = 4096;

/// Offsets of the header's `u32` fields.
pub mod field {
    /// `id`: the context's index in its address space's table.
    pub const ID: usize = 0;
    /// `nr`: the number of events the ring holds.
    pub const NR: usize = 4;
    /// `head`: the next event to reap (moved by io_getevents or by user space).
    pub const HEAD: usize = 8;
    /// `tail`: where the next completion goes.
    pub const TAIL: usize = 12;
    /// `magic`: [`MAGIC`](super::MAGIC).
    pub const MAGIC: usize = 16;
    /// `compat_features`.
    pub const COMPAT: usize = 20;
    /// `incompat_features`.
    pub const INCOMPAT: usize = 24;
    /// `header_length`.
    pub const HEADER_LENGTH: usize = 28;
}

/// Linux's default `/proc/sys/fs/aio-max-nr`.
pub const DEFAULT_MAX_NR: u64 = 65536;

/// `struct io_event`: one completion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoEvent {
    /// The iocb's `aio_data`.
    pub data: u64,
    /// The iocb's user address.
    pub obj: u64,
    /// The result: bytes moved, poll bits, or a negative errno.
    pub res: i64,
    /// A second result (0).
    pub res2: i64,
}

impl IoEvent {
    /// The event's 32 bytes as user space sees them.
    pub fn to_bytes(&self) -> [u8; EVENT_LEN] {
        let mut b = [0u8; EVENT_LEN];
        b[0..8].copy_from_slice(&self.data.to_le_bytes());
        b[8..16].copy_from_slice(&self.obj.to_le_bytes());
        b[16..24].copy_from_slice(&self.res.to_le_bytes());
        b[24..32].copy_from_slice(&self.res2.to_le_bytes());
        b
    }

    /// The event in `b`.
    pub fn from_bytes(b: &[u8; EVENT_LEN]) -> IoEvent {
        let q = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(w)
        };
        IoEvent { data: q(0), obj: q(8), res: q(16) as i64, res2: q(24) as i64 }
    }
}

/// The byte offset of event `index` in the ring.
pub fn event_offset(index: u32) -> usize {
    HEADER_LEN + index as usize * EVENT_LEN
}

/// io_setup's checks of its arguments before any allocation: `EINVAL`
/// when the context id user space passed is not 0 or `nr_events` is 0.
pub fn check_setup(ctx: u64, nr_events: u32) -> Result<(), Errno> {
    if ctx != 0 || nr_events == 0 { Err(Errno::EINVAL) } else { Ok(()) }
}

/// How io_setup sizes a context (fs/aio.c's ioctx_alloc and
/// aio_setup_ring).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// What the caller asked for: counted in `aio-nr`.
    pub max_reqs: u32,
    /// The events the ring holds (its `nr` field): the ring is sized for
    /// twice the request (at least four per possible CPU) and fills its
    /// last page.
    pub nr_events: u32,
    /// The ring's pages.
    pub pages: usize,
}

impl Geometry {
    /// The geometry of `nr_events` requests with `possible_cpus` CPUs
    /// under `max_nr` (`aio-max-nr`): `EINVAL` when the ring would pass
    /// 256 MiB, `EAGAIN` when the doubled count wraps to 0 or the request
    /// alone is over `max_nr`. The caller checked [`check_setup`].
    pub fn new(nr_events: u32, possible_cpus: u32, max_nr: u64) -> Result<Geometry, Errno> {
        let max_reqs = nr_events;
        let nr = nr_events.max(possible_cpus.saturating_mul(4)).wrapping_mul(2);
        if nr as usize > 0x1000_0000 / EVENT_LEN {
            return Err(Errno::EINVAL);
        }
        if nr == 0 || u64::from(max_reqs) > max_nr {
            return Err(Errno::EAGAIN);
        }
        let size = HEADER_LEN + EVENT_LEN * nr as usize;
        let pages = size.div_ceil(PAGE);
        let nr_events = ((PAGE * pages - HEADER_LEN) / EVENT_LEN) as u32;
        Ok(Geometry { max_reqs, nr_events, pages })
    }

    /// The ring's bytes (its mapping's length).
    pub fn len(&self) -> usize {
        self.pages * PAGE
    }

    /// Whether the ring has no pages (never, for a geometry from [`Geometry::new`]).
    pub fn is_empty(&self) -> bool {
        self.pages == 0
    }
}

/// The system-wide count of requests of live contexts (`aio-nr`) and its
/// limit (`aio-max-nr`, which root may change at any time, below the
/// count too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// `/proc/sys/fs/aio-nr`.
    pub nr: u64,
    /// `/proc/sys/fs/aio-max-nr`.
    pub max_nr: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { nr: 0, max_nr: DEFAULT_MAX_NR }
    }
}

impl Budget {
    /// Counts a new context's `max_reqs`: `EAGAIN` past `max_nr` (or on
    /// overflow).
    pub fn charge(&mut self, max_reqs: u32) -> Result<(), Errno> {
        match self.nr.checked_add(u64::from(max_reqs)) {
            Some(n) if n <= self.max_nr => {
                self.nr = n;
                Ok(())
            }
            _ => Err(Errno::EAGAIN),
        }
    }

    /// Gives back a destroyed context's `max_reqs`.
    pub fn release(&mut self, max_reqs: u32) {
        self.nr = self.nr.saturating_sub(u64::from(max_reqs));
    }
}

/// The header io_setup writes: `id`, `nr`, head and tail 0, the magic, the
/// features and the header's length, as 32 bytes.
pub fn header(id: u32, nr: u32) -> [u8; HEADER_LEN] {
    let mut b = [0u8; HEADER_LEN];
    let words = [id, nr, 0, 0, MAGIC, COMPAT_FEATURES, INCOMPAT_FEATURES, HEADER_LEN as u32];
    for (i, w) in words.iter().enumerate() {
        b[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    b
}

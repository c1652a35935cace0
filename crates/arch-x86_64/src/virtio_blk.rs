//! The virtio-blk disk over PCI, through the `virtio-drivers` crate.
//!
//! [`probe`] finds the first virtio block function (modern 0x1042 or
//! transitional 0x1001), enables memory decoding and bus mastering, routes
//! its INTx line through the I/O APIC to [`crate::trap::BLK_VECTOR`] and
//! sets up its request queue (the PCI config access, the `Hal` and the
//! transport without EVENT_IDX and the INTx line's handling are shared with [`crate::virtio_net`]).
//!
//! Data moves through [`SLOTS`] DMA buffers of [`MAX_REQUEST`] bytes each,
//! physically contiguous, allocated at probe time (fewer when memory is
//! short, at least one): a transfer of `n` sectors is
//! `ceil(n * 512 / MAX_REQUEST)` requests (one descriptor chain each: header,
//! data, status), so a long read or write is batched into as few requests
//! as the buffers allow. Up to one request per slot is in flight (the
//! queue's 16 descriptors hold five chains): started with
//! [`VirtioBlk::start_read`]/[`VirtioBlk::start_write`] in a free slot
//! ([`VirtioBlk::free_slot`]), seen done by [`VirtioBlk::poll`] (which
//! takes every finished chain off the used ring, in the device's order,
//! and keeps its status in its slot), ended by [`VirtioBlk::finish`]. The
//! interrupt is
//! acknowledged by reading the ISR status byte, counted ([`irq_count`])
//! and raises a flag that the kernel's thread side takes ([`take_irq`]) to
//! wake the caller sleeping on the request.

use crate::mem::{PAGE_SIZE, frames, phys_to_virt};
use crate::pci;
use crate::virtio_net::{IsrIrq, KernelHal, NoEventIdx};
use alloc::boxed::Box;
use core::sync::atomic::{AtomicU64, Ordering};
use virtio_drivers::device::blk::{BlkReq, BlkResp, VirtIOBlk};
use virtio_drivers::transport::DeviceType;
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::{Command, DeviceFunction};

/// Bytes of a sector (the unit of virtio-blk addresses).
pub const SECTOR_SIZE: usize = 512;
/// The largest transfer of one request (a DMA buffer's size).
pub const MAX_REQUEST: usize = 1 << 20;
/// The most requests in flight (DMA buffers, one per request).
pub const SLOTS: usize = 4;

/// Why a transfer failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlkError {
    /// The device reported an error (or the queue broke).
    Io,
    /// A write to a read-only device.
    ReadOnly,
    /// Past the last sector, or a length that is not whole sectors.
    Range,
}

/// Why no disk came up.
#[derive(Debug)]
pub enum ProbeError {
    /// No virtio block function on the PCI buses.
    NotFound,
    /// The transport or the device refused (the crate's message).
    Device(&'static str),
    /// No memory for the DMA buffer.
    NoMemory,
}

static IRQ: IsrIrq = IsrIrq::new();
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Whether the disk interrupted since the last call.
pub fn take_irq() -> bool {
    IRQ.take()
}

/// The disk's interrupt: reading the ISR status acknowledges it.
pub(crate) fn on_irq() {
    IRQ.on_irq();
}

/// Interrupts taken from the disk since boot.
pub fn irq_count() -> u64 {
    IRQ.count()
}

/// Requests (reads, writes, flushes) sent to the disk since boot.
pub fn request_count() -> u64 {
    REQUESTS.load(Ordering::Relaxed)
}

/// One request's buffers.
struct Slot {
    /// Its DMA buffer (MAX_REQUEST bytes in the direct map).
    bounce: &'static mut [u8],
    /// The request's header and status (boxed: the device holds their
    /// addresses).
    req: Box<BlkReq>,
    resp: Box<BlkResp>,
    /// The request in flight: token, direction (true: a write), length.
    pending: Option<(u16, bool, usize)>,
    /// Its outcome once the device gave it back, with its length (taken
    /// by `finish`).
    done: Option<(Result<(), BlkError>, usize)>,
}

/// A virtio-blk disk ready for transfers.
pub struct VirtioBlk {
    dev: VirtIOBlk<KernelHal, NoEventIdx>,
    slots: alloc::vec::Vec<Slot>,
    /// The device gave back a chain we did not start.
    broken: bool,
    sectors: u64,
    read_only: bool,
    location: DeviceFunction,
    /// Its index among the machine's virtio PCI functions in bus order
    /// (Linux's `virtioN`, numbered as virtio_pci probes them).
    virtio_index: usize,
    gsi: Option<u8>,
}

impl core::fmt::Display for VirtioBlk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "virtio-blk at {}: {} sectors, {} requests in flight",
            self.location,
            self.sectors,
            self.slots.len()
        )?;
        if self.read_only {
            write!(f, " (read-only)")?;
        }
        match self.gsi {
            Some(g) => write!(f, ", INTx on GSI {g}"),
            None => write!(f, ", no interrupt"),
        }
    }
}

/// Finds the first virtio block function and brings it up.
pub fn probe() -> Result<VirtioBlk, ProbeError> {
    let mut root = pci::root();
    let virtio: alloc::vec::Vec<_> = pci::enumerate()
        .into_iter()
        .filter_map(|(df, info)| virtio_drivers::transport::pci::virtio_device_type(&info).map(|t| (df, t)))
        .collect();
    let (virtio_index, df) = virtio
        .iter()
        .enumerate()
        .find(|(_, (_, t))| *t == DeviceType::Block)
        .map(|(i, (df, _))| (i, *df))
        .ok_or(ProbeError::NotFound)?;
    // every region the transport maps must lie in the direct map
    let top = crate::virtio_net::direct_map_top();
    let regions = crate::virtio_net::virtio_regions(&root, df);
    if regions.iter().any(|(_, a, len)| a.saturating_add(u64::from(*len)) > top) {
        return Err(ProbeError::Device("a BAR outside the direct map"));
    }
    // VIRTIO_PCI_CAP_ISR_CFG
    let isr = regions.iter().find(|r| r.0 == 3).map(|r| r.1);
    let (_, cmd) = root.get_status_command(df);
    root.set_command(df, (cmd | Command::MEMORY_SPACE | Command::BUS_MASTER) - Command::INTERRUPT_DISABLE);
    let transport =
        PciTransport::new::<KernelHal, _>(&mut root, df).map_err(|_| ProbeError::Device("PCI transport"))?;
    let mut dev =
        VirtIOBlk::new(NoEventIdx::new(transport)).map_err(|_| ProbeError::Device("virtio-blk init"))?;
    let pages = MAX_REQUEST / PAGE_SIZE as usize;
    let mut slots = alloc::vec::Vec::new();
    for _ in 0..SLOTS {
        let Some(paddr) = frames::alloc_contiguous(pages, 1) else { break };
        // SAFETY: the frames were just allocated for this driver, are
        // mapped writable in the direct map and are never freed; this
        // slice is the only reference to them.
        let bounce = unsafe { core::slice::from_raw_parts_mut(phys_to_virt(paddr) as *mut u8, MAX_REQUEST) };
        slots.push(Slot { bounce, req: Box::default(), resp: Box::default(), pending: None, done: None });
    }
    if slots.is_empty() {
        return Err(ProbeError::NoMemory);
    }
    let mut blk = VirtioBlk {
        sectors: dev.capacity(),
        read_only: dev.readonly(),
        slots,
        broken: false,
        location: df,
        virtio_index,
        gsi: None,
        dev: {
            dev.enable_interrupts();
            dev
        },
    };
    let pin = pci::interrupt_pin(df);
    if let (Some(gsi), Some(isr)) = (pci::q35_intx_gsi(df, pin), isr) {
        IRQ.set_isr(phys_to_virt(isr));
        crate::apic::route_level_irq(gsi, crate::trap::BLK_VECTOR);
        blk.gsi = Some(gsi);
    }
    Ok(blk)
}

/// `slot` when it is free and `len` fits its buffer.
fn idle_slot(slots: &mut [Slot], slot: usize, len: usize) -> Result<&mut Slot, BlkError> {
    let s = slots.get_mut(slot).ok_or(BlkError::Range)?;
    if len == 0 || len > MAX_REQUEST || s.pending.is_some() || s.done.is_some() {
        return Err(BlkError::Range);
    }
    Ok(s)
}

impl VirtioBlk {
    /// The capacity in 512-byte sectors.
    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// Where the disk sits, for /sys: PCI bus, device and function, and
    /// its index among the virtio functions (Linux's `virtioN`).
    pub fn location(&self) -> (u8, u8, u8, usize) {
        (self.location.bus, self.location.device, self.location.function, self.virtio_index)
    }

    /// Whether the device refuses writes (VIRTIO_BLK_F_RO).
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    fn check(&self, sector: u64, len: usize) -> Result<(), BlkError> {
        let n = (len / SECTOR_SIZE) as u64;
        if !len.is_multiple_of(SECTOR_SIZE) || sector.checked_add(n).is_none_or(|end| end > self.sectors) {
            return Err(BlkError::Range);
        }
        Ok(())
    }

    /// How many requests may be in flight at once.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// A slot with no request in it (none: every slot is busy).
    pub fn free_slot(&self) -> Option<usize> {
        self.slots.iter().position(|s| s.pending.is_none() && s.done.is_none())
    }

    /// Starts reading `len` bytes (whole sectors, at most
    /// [`MAX_REQUEST`]) from `sector` into `slot`'s DMA buffer.
    pub fn start_read(&mut self, slot: usize, sector: u64, len: usize) -> Result<(), BlkError> {
        self.check(sector, len)?;
        let s = idle_slot(&mut self.slots, slot, len)?;
        // SAFETY: the header, the data buffer and the status are this
        // slot's own (boxed or its DMA buffer), not touched again until
        // poll() takes this token off the used ring.
        let token = unsafe {
            self.dev.read_blocks_nb(sector as usize, &mut s.req, &mut s.bounce[..len], &mut s.resp)
        }
        .map_err(|_| BlkError::Io)?;
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        s.pending = Some((token, false, len));
        Ok(())
    }

    /// Starts writing `data` (whole sectors, at most [`MAX_REQUEST`]) at
    /// `sector`, through `slot`'s DMA buffer.
    pub fn start_write(&mut self, slot: usize, sector: u64, data: &[u8]) -> Result<(), BlkError> {
        if self.read_only {
            return Err(BlkError::ReadOnly);
        }
        let len = data.len();
        self.check(sector, len)?;
        let s = idle_slot(&mut self.slots, slot, len)?;
        s.bounce[..len].copy_from_slice(data);
        // SAFETY: as in start_read.
        let token =
            unsafe { self.dev.write_blocks_nb(sector as usize, &mut s.req, &s.bounce[..len], &mut s.resp) }
                .map_err(|_| BlkError::Io)?;
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        s.pending = Some((token, true, len));
        Ok(())
    }

    /// Takes every finished request off the used ring (in the device's
    /// order, as the queue requires) and keeps its outcome in its slot;
    /// then whether `slot`'s request is done (true when it has none).
    pub fn poll(&mut self, slot: usize) -> bool {
        while let Some(token) = self.dev.peek_used() {
            let Some(s) = self.slots.iter_mut().find(|s| s.pending.is_some_and(|p| p.0 == token)) else {
                // not a chain of ours: the queue broke; every request in
                // flight fails and its slot stays out of use
                self.broken = true;
                break;
            };
            let Some((token, write, len)) = s.pending.take() else { break };
            // SAFETY: the same header, buffer and status as when the
            // request was started with this token.
            let r = unsafe {
                if write {
                    self.dev.complete_write_blocks(token, &s.req, &s.bounce[..len], &mut s.resp)
                } else {
                    self.dev.complete_read_blocks(token, &s.req, &mut s.bounce[..len], &mut s.resp)
                }
            };
            s.done = Some((r.map_err(|_| BlkError::Io), len));
        }
        self.broken || self.slots.get(slot).is_none_or(|s| s.pending.is_none())
    }

    /// Ends `slot`'s request (which [`poll`](Self::poll) saw done): a
    /// read's data goes to `out` (the request's length at most: bytes of
    /// `out` past it are left as they are); the slot is free again.
    pub fn finish(&mut self, slot: usize, out: &mut [u8]) -> Result<(), BlkError> {
        let s = self.slots.get_mut(slot).ok_or(BlkError::Range)?;
        if s.pending.is_some() {
            return Err(BlkError::Io);
        }
        let Some((r, len)) = s.done.take() else { return Ok(()) };
        r?;
        let n = out.len().min(len);
        out[..n].copy_from_slice(&s.bounce[..n]);
        Ok(())
    }

    /// Asks the device to make written data durable (VIRTIO_BLK_T_FLUSH
    /// when negotiated, else nothing).
    pub fn flush(&mut self) -> Result<(), BlkError> {
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        self.dev.flush().map_err(|_| BlkError::Io)
    }
}

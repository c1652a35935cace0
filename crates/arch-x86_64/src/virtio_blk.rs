//! The virtio-blk disk over PCI, through the `virtio-drivers` crate.
//!
//! [`probe`] finds the first virtio block function (modern 0x1042 or
//! transitional 0x1001), enables memory decoding and bus mastering, routes
//! its INTx line through the I/O APIC to [`crate::trap::BLK_VECTOR`] and
//! sets up its request queue (the PCI config access, the `Hal` and the
//! transport without EVENT_IDX are shared with [`crate::virtio_net`]).
//!
//! Data moves through one DMA buffer of [`MAX_REQUEST`] bytes, physically
//! contiguous, allocated at probe time: a transfer of `n` sectors is
//! `ceil(n * 512 / MAX_REQUEST)` requests (one descriptor chain each: header,
//! data, status), so a long read or write is batched into as few requests
//! as the buffer allows. A request is waited for by polling the used ring
//! (`virtio-drivers`' blocking calls); the interrupt is acknowledged by
//! reading the ISR status byte and counted ([`irq_count`]).

use crate::mem::{PAGE_SIZE, frames, phys_to_virt};
use crate::pci;
use crate::virtio_net::{KernelHal, NoEventIdx};
use core::sync::atomic::{AtomicU64, Ordering};
use virtio_drivers::device::blk::VirtIOBlk;
use virtio_drivers::transport::DeviceType;
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::{Command, DeviceFunction};

/// Bytes of a sector (the unit of virtio-blk addresses).
pub const SECTOR_SIZE: usize = 512;
/// The largest transfer of one request (the DMA buffer's size).
pub const MAX_REQUEST: usize = 1 << 20;

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

static ISR: AtomicU64 = AtomicU64::new(0);
static IRQS: AtomicU64 = AtomicU64::new(0);
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// The disk's interrupt: reading the ISR status acknowledges it.
pub(crate) fn on_irq() {
    let isr = ISR.load(Ordering::Relaxed);
    if isr == 0 {
        return;
    }
    // SAFETY: the ISR status byte of the device's capability, in the
    // uncached direct map; reading it is the device's acknowledgement.
    let status = unsafe { core::ptr::read_volatile(isr as *const u8) };
    if status != 0 {
        IRQS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Interrupts taken from the disk since boot.
pub fn irq_count() -> u64 {
    IRQS.load(Ordering::Relaxed)
}

/// Requests (reads, writes, flushes) sent to the disk since boot.
pub fn request_count() -> u64 {
    REQUESTS.load(Ordering::Relaxed)
}

/// A virtio-blk disk ready for transfers.
pub struct VirtioBlk {
    dev: VirtIOBlk<KernelHal, NoEventIdx>,
    /// The DMA buffer (MAX_REQUEST bytes in the direct map).
    bounce: &'static mut [u8],
    sectors: u64,
    read_only: bool,
    location: DeviceFunction,
    gsi: Option<u8>,
}

impl core::fmt::Display for VirtioBlk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "virtio-blk at {}: {} sectors", self.location, self.sectors)?;
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
    let df = pci::enumerate()
        .into_iter()
        .find(|(_, info)| virtio_drivers::transport::pci::virtio_device_type(info) == Some(DeviceType::Block))
        .map(|(df, _)| df)
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
    let paddr = frames::alloc_contiguous(pages, 1).ok_or(ProbeError::NoMemory)?;
    // SAFETY: the frames were just allocated for this driver, are mapped
    // writable in the direct map and are never freed; this slice is the
    // only reference to them.
    let bounce = unsafe { core::slice::from_raw_parts_mut(phys_to_virt(paddr) as *mut u8, MAX_REQUEST) };
    let mut blk = VirtioBlk {
        sectors: dev.capacity(),
        read_only: dev.readonly(),
        bounce,
        location: df,
        gsi: None,
        dev: {
            dev.enable_interrupts();
            dev
        },
    };
    let pin = pci::interrupt_pin(df);
    if let (Some(gsi), Some(isr)) = (pci::q35_intx_gsi(df, pin), isr) {
        ISR.store(phys_to_virt(isr), Ordering::Relaxed);
        crate::apic::route_level_irq(gsi, crate::trap::BLK_VECTOR);
        blk.gsi = Some(gsi);
    }
    Ok(blk)
}

impl VirtioBlk {
    /// The capacity in 512-byte sectors.
    pub fn sectors(&self) -> u64 {
        self.sectors
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

    /// Reads whole sectors from `sector` into `buf` (a multiple of 512
    /// bytes), one request per [`MAX_REQUEST`] bytes.
    pub fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), BlkError> {
        self.check(sector, buf.len())?;
        let mut s = sector;
        for chunk in buf.chunks_mut(MAX_REQUEST) {
            let n = chunk.len();
            REQUESTS.fetch_add(1, Ordering::Relaxed);
            self.dev.read_blocks(s as usize, &mut self.bounce[..n]).map_err(|_| BlkError::Io)?;
            chunk.copy_from_slice(&self.bounce[..n]);
            s += (n / SECTOR_SIZE) as u64;
        }
        Ok(())
    }

    /// Writes whole sectors from `buf` (a multiple of 512 bytes) at
    /// `sector`, one request per [`MAX_REQUEST`] bytes.
    pub fn write(&mut self, sector: u64, buf: &[u8]) -> Result<(), BlkError> {
        if self.read_only {
            return Err(BlkError::ReadOnly);
        }
        self.check(sector, buf.len())?;
        let mut s = sector;
        for chunk in buf.chunks(MAX_REQUEST) {
            let n = chunk.len();
            self.bounce[..n].copy_from_slice(chunk);
            REQUESTS.fetch_add(1, Ordering::Relaxed);
            self.dev.write_blocks(s as usize, &self.bounce[..n]).map_err(|_| BlkError::Io)?;
            s += (n / SECTOR_SIZE) as u64;
        }
        Ok(())
    }

    /// Asks the device to make written data durable (VIRTIO_BLK_T_FLUSH
    /// when negotiated, else nothing).
    pub fn flush(&mut self) -> Result<(), BlkError> {
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        self.dev.flush().map_err(|_| BlkError::Io)
    }
}

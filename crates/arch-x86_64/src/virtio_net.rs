//! The virtio-net NIC over PCI, through the `virtio-drivers` crate.
//!
//! [`probe`] finds a virtio network function (modern, device id 0x1041, or
//! transitional 0x1000: both carry the virtio 1.0 capabilities that
//! `virtio-drivers`' PCI transport uses) on the PCI buses, enables its
//! memory decoding and bus mastering, routes its INTx line through the I/O
//! APIC to [`crate::trap::NIC_VECTOR`] and sets up one receive and one
//! transmit queue of [`QUEUE_SIZE`] entries. Packet buffers are
//! [`BUF_SIZE`] bytes each, allocated once with the driver (no allocation
//! per packet): every receive buffer is always posted to the device except
//! the one the caller is looking at; transmit buffers come from a free list
//! and return to it when the device has used them.
//!
//! The interrupt handler only reads (and so clears) the device's ISR
//! status register, which drops the level-triggered line, and raises a flag
//! that the kernel's thread side takes with [`take_irq`]; the queues are
//! only touched from thread context, under the kernel's lock.
//!
//! [`KernelHal`] is `virtio_drivers::Hal`: DMA memory is zeroed contiguous
//! frames, buffers are shared by their physical address (the direct map or
//! the kernel image), MMIO is reached through the direct map.

use crate::mem::{KERNEL_BASE, PAGE_SIZE, PHYS_OFFSET, frames, phys_to_virt};
use crate::pci::{self, PortCam};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::{Command, DeviceFunction, PciRoot};
use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// Entries of each virtqueue (QEMU offers 256; 64 keeps the buffers at
/// 128 KiB per direction).
pub const QUEUE_SIZE: usize = 64;
/// Bytes of one packet buffer: the 12-byte virtio-net header and an
/// Ethernet frame of up to 1514 bytes (no offloads are negotiated).
pub const BUF_SIZE: usize = 2048;
/// The largest Ethernet frame (without FCS) the driver sends or receives.
pub const MAX_FRAME: usize = 1514;

/// `virtio_drivers::Hal` for this kernel.
pub struct KernelHal;

/// The physical address of a kernel virtual address in the direct map or
/// the kernel image (a kernel stack's: a page-table walk).
fn virt_to_phys(v: u64) -> u64 {
    if on_kstack(v) {
        crate::mem::paging::kernel_translate(v).unwrap_or(0)
    } else if v >= KERNEL_BASE {
        v - KERNEL_BASE
    } else {
        v.wrapping_sub(PHYS_OFFSET)
    }
}

fn on_kstack(v: u64) -> bool {
    use crate::mem::paging::{KSTACK_AREA, KSTACK_AREA_SIZE};
    (KSTACK_AREA..KSTACK_AREA + KSTACK_AREA_SIZE).contains(&v)
}

/// A buffer on a kernel stack (virtio-drivers' `flush` and `get_id` keep
/// their request there) that crosses a page: its pages need not be
/// contiguous physically, so the device gets a copy in contiguous frames
/// (`share`) copied back by `unshare`. Its pages, or `None`.
fn bounced_pages(buffer: NonNull<[u8]>) -> Option<usize> {
    let (v, len) = (buffer.as_ptr() as *mut u8 as u64, buffer.len() as u64);
    let crosses = len != 0 && v / PAGE_SIZE != (v + len - 1) / PAGE_SIZE;
    (on_kstack(v) && crosses).then(|| len.div_ceil(PAGE_SIZE) as usize)
}

/// Pages in the kernel image for bounced buffers of up to a page each, so
/// that a request never fails for want of a frame (page `i` is taken while
/// bit `i` of `BOUNCE_BUSY` is set). Four: a request of virtio-drivers
/// has at most two stack buffers (flush's header and status), and only
/// the disk's flush bounces, one at a time (see `share`).
#[repr(C, align(4096))]
struct BouncePages(core::cell::UnsafeCell<[[u8; 4096]; BOUNCE_PAGES]>);
const BOUNCE_PAGES: usize = 4;
// SAFETY: only the holder of a page's `BOUNCE_BUSY` bit touches that page
// (through the direct map, by its physical address).
unsafe impl Sync for BouncePages {}
static BOUNCE: BouncePages = BouncePages(core::cell::UnsafeCell::new([[0; 4096]; BOUNCE_PAGES]));
static BOUNCE_BUSY: AtomicU8 = AtomicU8::new(0);

fn bounce_page(i: usize) -> u64 {
    virt_to_phys(&raw const BOUNCE as u64 + (i as u64) * PAGE_SIZE)
}

/// Takes a free bounce page: its physical address.
fn take_bounce_page() -> Option<u64> {
    let mut busy = BOUNCE_BUSY.load(Ordering::Relaxed);
    loop {
        let i = (!busy).trailing_zeros() as usize;
        if i >= BOUNCE_PAGES {
            return None;
        }
        match BOUNCE_BUSY.compare_exchange_weak(busy, busy | 1 << i, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => return Some(bounce_page(i)),
            Err(now) => busy = now,
        }
    }
}

/// Gives back the bounce page at `paddr`; false when it is not one.
fn put_bounce_page(paddr: u64) -> bool {
    let base = bounce_page(0);
    if !(base..base + BOUNCE_PAGES as u64 * PAGE_SIZE).contains(&paddr) {
        return false;
    }
    BOUNCE_BUSY.fetch_and(!(1 << ((paddr - base) / PAGE_SIZE)), Ordering::Release);
    true
}

// SAFETY: dma_alloc returns zeroed, physically contiguous frames owned by
// the caller until dma_dealloc; share returns the physical address of
// memory that is contiguous physically as it is virtually (the direct map
// and the kernel image are both linear); MMIO regions are mapped (uncached)
// by the direct map, which `probe` checks covers every BAR.
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        match frames::alloc_contiguous(pages, 1) {
            Some(paddr) => {
                let v = phys_to_virt(paddr) as *mut u8;
                // SAFETY: the frames were just allocated for this caller and
                // are mapped writable in the direct map.
                unsafe { core::ptr::write_bytes(v, 0, pages * PAGE_SIZE as usize) };
                (paddr, NonNull::new(v).unwrap_or(NonNull::dangling()))
            }
            None => (0, NonNull::dangling()),
        }
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        frames::free_contiguous(paddr, pages);
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(phys_to_virt(paddr) as *mut u8).unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let Some(pages) = bounced_pages(buffer) else {
            return virt_to_phys(buffer.as_ptr() as *mut u8 as u64);
        };
        // A stack buffer of a few bytes: a bounce page, else frames. The
        // wait below cannot happen (so `share`, which cannot fail in
        // virtio-drivers' API, is bounded): of the calls this kernel makes
        // into virtio-drivers 0.13 only `VirtIOBlk::flush` (its `request`)
        // puts buffers on a kernel stack, two (the 16-byte header and the
        // 1-byte status), each under a page, so `pages == 1`; reads and
        // writes use the slots' direct-map buffers and boxed headers, the
        // NIC only `transmit_begin`/`receive_begin` with direct-map
        // buffers (never `VirtIONetRaw::send`, whose header is on the
        // stack); flush runs under `kernel-bin/src/blk.rs`'s `DISK` lock,
        // one at a time. So at most two bounce pages of four are ever
        // taken. A new caller that bounces more must keep that count
        // under `BOUNCE_PAGES` (docs/architecture.md, "Block device").
        let mut logged = false;
        let paddr = loop {
            if pages == 1
                && let Some(p) = take_bounce_page()
            {
                break p;
            }
            if let Some(p) = frames::alloc_contiguous(pages, 1) {
                break p;
            }
            if !logged {
                log::error!("virtio: no memory to bounce a {}-byte stack buffer: waiting", buffer.len());
                logged = true;
            }
            core::hint::spin_loop();
        };
        if !matches!(direction, BufferDirection::DeviceToDriver) {
            // SAFETY: the caller's buffer is valid for reads of its length;
            // the frames were just allocated, mapped in the direct map.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    buffer.as_ptr() as *const u8,
                    phys_to_virt(paddr) as *mut u8,
                    buffer.len(),
                )
            };
        }
        paddr
    }

    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let Some(pages) = bounced_pages(buffer) else { return };
        if !matches!(direction, BufferDirection::DriverToDevice) {
            // SAFETY: `paddr` is the copy `share` made of this buffer, which
            // the caller lets us write again now that the device is done.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    phys_to_virt(paddr) as *const u8,
                    buffer.as_ptr() as *mut u8,
                    buffer.len(),
                )
            };
        }
        if !put_bounce_page(paddr) {
            frames::free_contiguous(paddr, pages);
        }
    }
}

/// A virtio function's INTx line as both drivers take it (this NIC's and
/// [`crate::virtio_blk`]'s): reading the ISR status byte acknowledges the
/// interrupt (the device lowers its line); a non-zero status is counted
/// and raises a flag for the kernel's thread side.
pub(crate) struct IsrIrq {
    /// The direct-map address of the ISR status byte (0: no device).
    isr: AtomicU64,
    pending: AtomicBool,
    count: AtomicU64,
}

impl IsrIrq {
    /// No device yet.
    pub(crate) const fn new() -> Self {
        IsrIrq { isr: AtomicU64::new(0), pending: AtomicBool::new(false), count: AtomicU64::new(0) }
    }

    /// The ISR status byte at direct-map address `isr` (at probe time,
    /// before the line is routed).
    pub(crate) fn set_isr(&self, isr: u64) {
        self.isr.store(isr, Ordering::Relaxed);
    }

    /// The interrupt handler's part.
    pub(crate) fn on_irq(&self) {
        let isr = self.isr.load(Ordering::Relaxed);
        if isr == 0 {
            return;
        }
        // SAFETY: the ISR status byte of the virtio device's capability, in
        // the uncached direct map (set_isr); reading it is the device's
        // acknowledgement.
        let status = unsafe { core::ptr::read_volatile(isr as *const u8) };
        if status != 0 {
            self.count.fetch_add(1, Ordering::Relaxed);
            self.pending.store(true, Ordering::Release);
        }
    }

    /// Whether the device interrupted since the last call.
    pub(crate) fn take(&self) -> bool {
        self.pending.swap(false, Ordering::Acquire)
    }

    /// Interrupts taken since boot.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

static IRQ: IsrIrq = IsrIrq::new();

/// The NIC's interrupt: reading the ISR status acknowledges it (the device
/// lowers its INTx line); the thread side is told through a flag.
pub(crate) fn on_irq() {
    IRQ.on_irq();
}

/// Whether the NIC interrupted since the last call (the kernel's poll
/// thread is due).
pub fn take_irq() -> bool {
    IRQ.take()
}

/// Interrupts taken from the NIC since boot.
pub fn irq_count() -> u64 {
    IRQ.count()
}

/// The PCI transport with VIRTIO_F_EVENT_IDX hidden from the device's
/// features: `virtio-drivers` 0.13 decides whether to notify the device
/// with `avail_idx >= avail_event + 1`, which is wrong once the 16-bit
/// index wraps (after 65536 frames a queue would stop being notified and
/// stall); without the feature it uses the device's NO_NOTIFY flag, and the
/// device interrupts once per batch it completes.
#[derive(Debug)]
pub struct NoEventIdx(PciTransport);

impl NoEventIdx {
    /// Wraps a PCI transport.
    pub(crate) fn new(t: PciTransport) -> Self {
        Self(t)
    }
}

/// VIRTIO_F_EVENT_IDX.
const F_EVENT_IDX: u64 = 1 << 29;

impl Transport for NoEventIdx {
    fn device_type(&self) -> DeviceType {
        self.0.device_type()
    }
    fn read_device_features(&mut self) -> u64 {
        self.0.read_device_features() & !F_EVENT_IDX
    }
    fn write_driver_features(&mut self, driver_features: u64) {
        self.0.write_driver_features(driver_features & !F_EVENT_IDX)
    }
    fn max_queue_size(&mut self, queue: u16) -> u32 {
        self.0.max_queue_size(queue)
    }
    fn notify(&mut self, queue: u16) {
        self.0.notify(queue)
    }
    fn get_status(&self) -> DeviceStatus {
        self.0.get_status()
    }
    fn set_status(&mut self, status: DeviceStatus) {
        self.0.set_status(status)
    }
    fn set_guest_page_size(&mut self, guest_page_size: u32) {
        self.0.set_guest_page_size(guest_page_size)
    }
    fn requires_legacy_layout(&self) -> bool {
        self.0.requires_legacy_layout()
    }
    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        self.0.queue_set(queue, size, descriptors, driver_area, device_area)
    }
    fn queue_unset(&mut self, queue: u16) {
        self.0.queue_unset(queue)
    }
    fn queue_used(&mut self, queue: u16) -> bool {
        self.0.queue_used(queue)
    }
    fn ack_interrupt(&mut self) -> InterruptStatus {
        self.0.ack_interrupt()
    }
    fn read_config_generation(&self) -> u32 {
        self.0.read_config_generation()
    }
    fn read_config_space<T: FromBytes + IntoBytes>(&self, offset: usize) -> virtio_drivers::Result<T> {
        self.0.read_config_space(offset)
    }
    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: T,
    ) -> virtio_drivers::Result<()> {
        self.0.write_config_space(offset, value)
    }
}

type Raw = VirtIONetRaw<KernelHal, NoEventIdx, QUEUE_SIZE>;
type Buf = [u8; BUF_SIZE];

/// Marks a token slot with no buffer.
const NONE: u16 = u16::MAX;

/// The transmit side: the device's queues and the transmit buffers.
struct TxSide {
    raw: Raw,
    bufs: Box<[Buf]>,
    /// Buffer indices not owned by the device.
    free: Vec<u16>,
    /// Per descriptor token: the buffer index and length in flight.
    in_flight: [(u16, u16); QUEUE_SIZE],
}

/// A virtio-net device ready to move frames.
pub struct VirtioNet {
    tx: TxSide,
    rx_bufs: Box<[Buf]>,
    /// Per descriptor token: the receive buffer index posted with it.
    rx_token_buf: [u16; QUEUE_SIZE],
    /// The receive buffer handed out by the last [`VirtioNet::receive`], to
    /// be posted again at the next call.
    rx_held: Option<u16>,
    mac: [u8; 6],
    location: DeviceFunction,
    gsi: Option<u8>,
}

/// Where the device sits and how it interrupts, for the log.
impl core::fmt::Display for VirtioNet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = self.mac;
        write!(
            f,
            "virtio-net at {} mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            self.location, m[0], m[1], m[2], m[3], m[4], m[5]
        )?;
        match self.gsi {
            Some(g) => write!(f, ", INTx on GSI {g}"),
            None => write!(f, ", no interrupt (polled)"),
        }
    }
}

/// Why no NIC came up.
#[derive(Debug)]
pub enum ProbeError {
    /// No virtio network function on the PCI buses.
    NotFound,
    /// A BAR lies outside the direct map.
    BarOutOfReach(u64),
    /// The transport or the device refused (the crate's message).
    Device(&'static str),
    /// No memory for the buffers.
    NoMemory,
}

pub(crate) fn direct_map_top() -> u64 {
    frames::max_phys().max(1 << 32).next_multiple_of(1 << 21)
}

/// The memory address a BAR holds (as the firmware assigned it; no
/// sizing, which would take a dozen more configuration cycles), or None
/// for an I/O or absent BAR.
fn bar_address(df: DeviceFunction, bar: u8) -> Option<u64> {
    use virtio_drivers::transport::pci::bus::ConfigurationAccess;
    if bar > 5 {
        return None;
    }
    let low = PortCam.read_word(df, 0x10 + 4 * bar);
    if low & 1 != 0 {
        return None;
    }
    let high = if (low >> 1) & 3 == 2 && bar < 5 { PortCam.read_word(df, 0x14 + 4 * bar) } else { 0 };
    let addr = u64::from(low & !0xf) | u64::from(high) << 32;
    (addr != 0).then_some(addr)
}

/// The regions of the device's virtio capabilities (common, notify, ISR,
/// device config): `(cfg_type, physical address, length)`.
pub(crate) fn virtio_regions(root: &PciRoot<PortCam>, df: DeviceFunction) -> Vec<(u8, u64, u32)> {
    use virtio_drivers::transport::pci::bus::ConfigurationAccess;
    let caps: Vec<u8> = root.capabilities(df).filter(|c| c.id == 0x09).map(|c| c.offset).collect();
    let mut out = Vec::new();
    for off in caps {
        let cfg_type = (PortCam.read_word(df, off) >> 24) as u8;
        let bar = PortCam.read_word(df, off + 4) as u8;
        let offset = PortCam.read_word(df, off + 8);
        let length = PortCam.read_word(df, off + 12);
        if let Some(addr) = bar_address(df, bar) {
            out.push((cfg_type, addr + u64::from(offset), length));
        }
    }
    out
}

/// Finds the first virtio-net function and brings it up.
pub fn probe() -> Result<VirtioNet, ProbeError> {
    let mut root = pci::root();
    let df = pci::enumerate()
        .into_iter()
        .find(|(_, info)| {
            virtio_drivers::transport::pci::virtio_device_type(info) == Some(DeviceType::Network)
        })
        .map(|(df, _)| df)
        .ok_or(ProbeError::NotFound)?;
    // every region the transport maps must lie in the direct map
    let top = direct_map_top();
    let regions = virtio_regions(&root, df);
    if let Some(&(_, addr, _)) = regions.iter().find(|(_, a, len)| a.saturating_add(u64::from(*len)) > top) {
        return Err(ProbeError::BarOutOfReach(addr));
    }
    // VIRTIO_PCI_CAP_ISR_CFG
    let isr = regions.iter().find(|r| r.0 == 3).map(|r| r.1);
    let (_, cmd) = root.get_status_command(df);
    root.set_command(df, (cmd | Command::MEMORY_SPACE | Command::BUS_MASTER) - Command::INTERRUPT_DISABLE);
    let transport =
        PciTransport::new::<KernelHal, _>(&mut root, df).map_err(|_| ProbeError::Device("PCI transport"))?;
    let raw = Raw::new(NoEventIdx(transport)).map_err(|_| ProbeError::Device("virtio-net init"))?;
    let mac = raw.mac_address();

    let mut rx_bufs = try_bufs()?;
    let tx_bufs = try_bufs()?;
    let mut free = Vec::new();
    free.try_reserve_exact(QUEUE_SIZE).map_err(|_| ProbeError::NoMemory)?;
    free.extend((0..QUEUE_SIZE as u16).rev());
    let mut nic = VirtioNet {
        tx: TxSide { raw, bufs: tx_bufs, free, in_flight: [(NONE, 0); QUEUE_SIZE] },
        rx_bufs: Box::new([]),
        rx_token_buf: [NONE; QUEUE_SIZE],
        rx_held: None,
        mac,
        location: df,
        gsi: None,
    };
    for (i, buf) in rx_bufs.iter_mut().enumerate() {
        // SAFETY: the buffer is owned by the driver (moved into it below,
        // its heap address unchanged) and untouched until the device
        // returns it through poll_receive/receive_complete.
        let token = unsafe { nic.tx.raw.receive_begin(buf) }.map_err(|_| ProbeError::Device("rx post"))?;
        nic.rx_token_buf[usize::from(token)] = i as u16;
    }
    nic.rx_bufs = rx_bufs;

    // INTx through the I/O APIC, acknowledged by reading the ISR byte.
    let pin = pci::interrupt_pin(df);
    if let (Some(gsi), Some(isr)) = (pci::q35_intx_gsi(df, pin), isr) {
        IRQ.set_isr(phys_to_virt(isr));
        crate::apic::route_level_irq(gsi, crate::trap::NIC_VECTOR);
        nic.gsi = Some(gsi);
    }
    nic.tx.raw.enable_interrupts();
    Ok(nic)
}

fn try_bufs() -> Result<Box<[Buf]>, ProbeError> {
    let mut v: Vec<Buf> = Vec::new();
    v.try_reserve_exact(QUEUE_SIZE).map_err(|_| ProbeError::NoMemory)?;
    v.resize(QUEUE_SIZE, [0; BUF_SIZE]);
    Ok(v.into_boxed_slice())
}

/// Counters of the NIC since boot (as /proc/net/dev shows them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NicStats {
    /// Frames received.
    pub rx_packets: u64,
    /// Bytes of the frames received (Ethernet header included, no FCS).
    pub rx_bytes: u64,
    /// Frames handed to the device.
    pub tx_packets: u64,
    /// Bytes of those frames.
    pub tx_bytes: u64,
    /// Frames dropped on the way out (no free buffer, too long, refused).
    pub tx_dropped: u64,
}

static RX_PACKETS: AtomicU64 = AtomicU64::new(0);
static RX_BYTES: AtomicU64 = AtomicU64::new(0);
static TX_PACKETS: AtomicU64 = AtomicU64::new(0);
static TX_BYTES: AtomicU64 = AtomicU64::new(0);
static TX_DROPPED: AtomicU64 = AtomicU64::new(0);

/// The NIC's counters (zero without one).
pub fn stats() -> NicStats {
    NicStats {
        rx_packets: RX_PACKETS.load(Ordering::Relaxed),
        rx_bytes: RX_BYTES.load(Ordering::Relaxed),
        tx_packets: TX_PACKETS.load(Ordering::Relaxed),
        tx_bytes: TX_BYTES.load(Ordering::Relaxed),
        tx_dropped: TX_DROPPED.load(Ordering::Relaxed),
    }
}

impl VirtioNet {
    /// The device's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The I/O APIC input its interrupt arrives on, if routed.
    pub fn gsi(&self) -> Option<u8> {
        self.gsi
    }

    /// Posts the buffer handed out by the previous [`receive`](Self::receive) again.
    fn repost_held(&mut self) {
        let Some(i) = self.rx_held.take() else { return };
        let buf = &mut self.rx_bufs[usize::from(i)];
        // SAFETY: the buffer belongs to the driver, lives as long as it, and
        // is not touched until the device hands it back.
        match unsafe { self.tx.raw.receive_begin(buf) } {
            Ok(token) => self.rx_token_buf[usize::from(token)] = i,
            Err(e) => log::warn!("virtio-net: receive buffer {i} not posted again: {e:?}"),
        }
    }

    /// The next received frame, with the transmit side for a reply (the
    /// frame stays valid until the next call).
    pub fn receive(&mut self) -> Option<(&[u8], Transmitter<'_>)> {
        self.repost_held();
        loop {
            let token = self.tx.raw.poll_receive()?;
            let i = self.rx_token_buf.get(usize::from(token)).copied().filter(|&i| i != NONE)?;
            self.rx_token_buf[usize::from(token)] = NONE;
            let buf = &mut self.rx_bufs[usize::from(i)];
            // SAFETY: `buf` is the buffer posted with this token.
            let done = unsafe { self.tx.raw.receive_complete(token, buf) };
            self.rx_held = Some(i);
            match done {
                Ok((hdr, len)) if len <= BUF_SIZE - hdr => {
                    RX_PACKETS.fetch_add(1, Ordering::Relaxed);
                    RX_BYTES.fetch_add(len as u64, Ordering::Relaxed);
                    let frame = &self.rx_bufs[usize::from(i)][hdr..hdr + len];
                    return Some((frame, Transmitter { tx: &mut self.tx }));
                }
                _ => self.repost_held(),
            }
        }
    }

    /// The transmit side, when a buffer is free for a frame.
    pub fn transmitter(&mut self) -> Option<Transmitter<'_>> {
        self.tx.reclaim();
        if self.tx.free.is_empty() { None } else { Some(Transmitter { tx: &mut self.tx }) }
    }

    /// Whether a received frame is waiting.
    pub fn has_received(&self) -> bool {
        self.tx.raw.poll_receive().is_some()
    }
}

impl TxSide {
    /// Takes back the buffers the device has sent.
    fn reclaim(&mut self) {
        while let Some(token) = self.raw.poll_transmit() {
            let (i, len) = self.in_flight.get(usize::from(token)).copied().unwrap_or((NONE, 0));
            if i == NONE {
                log::error!("virtio-net: unknown transmit token {token}");
                return;
            }
            let buf = &self.bufs[usize::from(i)][..usize::from(len)];
            // SAFETY: `buf` is the buffer (and length) sent with this token.
            if unsafe { self.raw.transmit_complete(token, buf) }.is_err() {
                return;
            }
            self.in_flight[usize::from(token)] = (NONE, 0);
            self.free.push(i);
        }
    }
}

/// Sends one frame (borrowing the driver).
pub struct Transmitter<'a> {
    tx: &'a mut TxSide,
}

impl Transmitter<'_> {
    /// Sends a frame of `len` bytes that `f` writes; returns what `f`
    /// returns. A frame that cannot go (no free buffer, longer than
    /// [`MAX_FRAME`], the queue refused it) is written to a scratch buffer
    /// and dropped, as a full NIC drops it.
    pub fn send<R>(self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let tx = self.tx;
        tx.reclaim();
        let slot = if len <= MAX_FRAME { tx.free.pop() } else { None };
        let Some(i) = slot else {
            TX_DROPPED.fetch_add(1, Ordering::Relaxed);
            let mut scratch = [0u8; MAX_FRAME];
            return if len <= MAX_FRAME {
                f(&mut scratch[..len])
            } else {
                let mut big = alloc::vec![0u8; len];
                f(&mut big)
            };
        };
        let buf = &mut tx.bufs[usize::from(i)];
        let hdr = tx.raw.fill_buffer_header(buf).unwrap_or(0);
        let r = f(&mut buf[hdr..hdr + len]);
        let total = hdr + len;
        let buf = &tx.bufs[usize::from(i)][..total];
        // SAFETY: the buffer is the driver's, not touched again until
        // reclaim() gets it back from the device with this token.
        match unsafe { tx.raw.transmit_begin(buf) } {
            Ok(token) => {
                tx.in_flight[usize::from(token)] = (i, total as u16);
                TX_PACKETS.fetch_add(1, Ordering::Relaxed);
                TX_BYTES.fetch_add(len as u64, Ordering::Relaxed);
            }
            Err(_) => {
                tx.free.push(i);
                TX_DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
        r
    }
}

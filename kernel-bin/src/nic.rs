//! The NIC under the network stack: arch-x86_64's virtio-net driver as a
//! `smoltcp::phy::Device`, and its interrupt turned into wake-ups.
//!
//! [`init`] probes PCI once at boot; without a NIC (`cargo xtask qemu
//! --no-net`) it logs one line and the kernel runs as before. The driver
//! sits in [`NIC`]; the stack's poll thread (or anyone waiting for frames)
//! sleeps on [`queue`], which [`pump`] wakes when the device interrupted:
//! the interrupt handler itself only acknowledges the device and raises a
//! flag (it may not take the scheduler's locks), and the scheduler calls
//! [`pump`] on every timer tick that lands in user mode and in the idle loop,
//! which is where the CPU is after the interrupt woke it from `hlt`.
//!
//! [`NicDevice`] (the driver, taken out of [`NIC`] by the stack that owns
//! the interface, [`take_device`]) is smoltcp's device: a received
//! frame is handed to smoltcp in place, in the driver's receive buffer (the
//! buffer goes back to the device at the next receive), and a frame to
//! send is written straight into a free transmit buffer; nothing is
//! allocated per packet.

use crate::sched::WaitQueue;
use arch_x86_64::virtio_net::{self, MAX_FRAME, Transmitter, VirtioNet};
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;

/// The virtio-net device, when there is one.
pub static NIC: spin::Mutex<Option<VirtioNet>> = spin::Mutex::new(None);

static QUEUE: WaitQueue = WaitQueue::new();
/// A NIC was found at boot (it stays, in [`NIC`] or in the stack).
static PRESENT: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// The queue woken whenever the NIC interrupts (frames arrived or sent).
pub fn queue() -> &'static WaitQueue {
    &QUEUE
}

/// Probes PCI for a virtio-net device (once, at boot).
pub fn init() {
    let t0 = arch_x86_64::time::since_boot_ns();
    match virtio_net::probe() {
        Ok(nic) => {
            let us = (arch_x86_64::time::since_boot_ns() - t0) / 1000;
            log::info!("net: {nic} (probed in {us} us)");
            *NIC.lock() = Some(nic);
            PRESENT.store(true, core::sync::atomic::Ordering::Relaxed);
        }
        Err(virtio_net::ProbeError::NotFound) => log::info!("net: no NIC (no virtio-net device on PCI)"),
        Err(e) => log::warn!("net: virtio-net not usable: {e:?}"),
    }
}

/// Whether the machine has a NIC.
pub fn present() -> bool {
    PRESENT.load(core::sync::atomic::Ordering::Relaxed)
}

/// `/proc/net/dev` as Linux's dev_seq_show formats it: lo (whose traffic
/// is not counted yet: zeros), and eth0 with the NIC's counters when there
/// is a NIC.
pub fn proc_net_dev(initial_ns: bool) -> alloc::string::String {
    use core::fmt::Write;
    // dev_seq_show's header, then dev_seq_printf_stats per device
    let mut out = alloc::format!("Inter-|   Receive{}|  Transmit\n", " ".repeat(48));
    out.push_str(
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    let mut row = |name: &str, s: virtio_net::NicStats| {
        let _ = writeln!(
            out,
            "{name:>6}: {:>7} {:>7} {:>4} {:>4} {:>4} {:>5} {:>10} {:>9} {:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>7} {:>10}",
            s.rx_bytes, s.rx_packets, 0, 0, 0, 0, 0, 0, s.tx_bytes, s.tx_packets, 0, s.tx_dropped, 0, 0, 0, 0
        );
    };
    row("lo", virtio_net::NicStats::default());
    // eth0 lives in the initial network namespace
    if initial_ns && PRESENT.load(core::sync::atomic::Ordering::Relaxed) {
        row("eth0", virtio_net::stats());
    }
    out
}

/// Wakes [`queue`]'s sleepers when the NIC interrupted since the last call.
pub fn pump() {
    if virtio_net::take_irq() {
        QUEUE.wake_all();
        // the inet stack's poll thread (lock-free)
        crate::net::inet::kick();
    }
}

/// Takes the NIC out of [`NIC`] as a smoltcp device (for the stack that
/// owns it from then on); None without a NIC or when taken already.
pub fn take_device() -> Option<NicDevice> {
    NIC.lock().take().map(|nic| NicDevice { nic })
}

/// Puts a device taken with [`take_device`] back.
pub fn put_back(dev: NicDevice) {
    *NIC.lock() = Some(dev.nic);
}

/// smoltcp's timestamp: the monotonic clock.
pub fn now() -> Instant {
    Instant::from_micros((arch_x86_64::time::since_boot_ns() / 1000) as i64)
}

/// The NIC as a `smoltcp::phy::Device` (Ethernet, frames of up to 1514
/// bytes).
pub struct NicDevice {
    nic: VirtioNet,
}

impl NicDevice {
    /// The MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.nic.mac()
    }

    /// Whether a received frame waits (a poll is due).
    pub fn has_received(&self) -> bool {
        self.nic.has_received()
    }
}

/// A received frame, in the driver's buffer.
pub struct NicRx<'a>(&'a [u8]);

/// A transmit buffer to fill.
pub struct NicTx<'a>(Transmitter<'a>);

impl RxToken for NicRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl TxToken for NicTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        self.0.send(len, f)
    }
}

impl Device for NicDevice {
    type RxToken<'b>
        = NicRx<'b>
    where
        Self: 'b;
    type TxToken<'b>
        = NicTx<'b>
    where
        Self: 'b;

    fn receive(&mut self, _timestamp: Instant) -> Option<(NicRx<'_>, NicTx<'_>)> {
        let (frame, tx) = self.nic.receive()?;
        Some((NicRx(frame), NicTx(tx)))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<NicTx<'_>> {
        self.nic.transmitter().map(NicTx)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps.max_burst_size = Some(virtio_net::QUEUE_SIZE / 2);
        caps
    }
}

/// What the NIC test saw.
#[derive(Debug, Default)]
struct Exchange {
    /// The DHCP lease: address/prefix, router, first DNS server.
    lease: Option<(
        smoltcp::wire::Ipv4Cidr,
        Option<smoltcp::wire::Ipv4Address>,
        Option<smoltcp::wire::Ipv4Address>,
    )>,
    /// An ICMP echo reply from the gateway, with our payload.
    echo_reply: bool,
    error: Option<&'static str>,
}

/// DHCP through QEMU's user network (slirp: 10.0.2.15/24, router 10.0.2.2,
/// DNS 10.0.2.3), then an ARP exchange and an ICMP echo with the gateway,
/// sleeping on the NIC's queue between polls.
fn exchange_with_gateway(deadline_ns: u64) -> Exchange {
    use alloc::vec;
    use smoltcp::iface::{Config, Interface, SocketSet};
    use smoltcp::socket::{dhcpv4, icmp};
    use smoltcp::wire::{EthernetAddress, HardwareAddress, Icmpv4Packet, Icmpv4Repr, IpAddress, IpCidr};
    let mut out = Exchange::default();
    let Some(mut dev) = take_device() else {
        out.error = Some("no NIC");
        return out;
    };
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(dev.mac())));
    config.random_seed = arch_x86_64::time::rdtsc();
    let mut iface = Interface::new(config, &mut dev, now());
    let mut sockets = SocketSet::new(vec![]);
    let dhcp = sockets.add(dhcpv4::Socket::new());
    let rx = icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 512]);
    let tx = icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 512]);
    let ping = sockets.add(icmp::Socket::new(rx, tx));
    const IDENT: u16 = 0x4b54;
    const DATA: &[u8] = b"nic ktest echo";
    let _ = sockets.get_mut::<icmp::Socket>(ping).bind(icmp::Endpoint::Ident(IDENT));
    let mut sent = false;
    let caps = smoltcp::phy::ChecksumCapabilities::default();
    loop {
        iface.poll(now(), &mut dev, &mut sockets);
        if let Some(dhcpv4::Event::Configured(cfg)) = sockets.get_mut::<dhcpv4::Socket>(dhcp).poll() {
            out.lease = Some((cfg.address, cfg.router, cfg.dns_servers.first().copied()));
            iface.update_ip_addrs(|a| {
                a.clear();
                let _ = a.push(IpCidr::Ipv4(cfg.address));
            });
            if let Some(r) = cfg.router {
                let _ = iface.routes_mut().add_default_ipv4_route(r);
            }
        }
        let sock = sockets.get_mut::<icmp::Socket>(ping);
        if let (Some((_, Some(router), _)), false) = (out.lease, sent)
            && sock.can_send()
        {
            let repr = Icmpv4Repr::EchoRequest { ident: IDENT, seq_no: 1, data: DATA };
            if let Ok(buf) = sock.send(repr.buffer_len(), IpAddress::Ipv4(router)) {
                repr.emit(&mut Icmpv4Packet::new_unchecked(buf), &caps);
                sent = true;
                continue; // poll again: it goes out (after ARP)
            }
        }
        while let Ok((payload, _from)) = sock.recv() {
            if let Ok(p) = Icmpv4Packet::new_checked(payload)
                && let Ok(Icmpv4Repr::EchoReply { ident: IDENT, seq_no: 1, data }) =
                    Icmpv4Repr::parse(&p, &caps)
                && data == DATA
            {
                out.echo_reply = true;
            }
        }
        if out.echo_reply {
            break;
        }
        let t = arch_x86_64::time::since_boot_ns();
        if t >= deadline_ns {
            out.error = Some("timed out");
            break;
        }
        let delay =
            iface.poll_delay(now(), &sockets).map_or(u64::MAX, |d| d.total_micros().saturating_mul(1000));
        let until = deadline_ns.min(t.saturating_add(delay));
        queue().wait_until(|| dev.has_received(), Some(until));
    }
    put_back(dev);
    out
}

arch_x86_64::ktest!(
    fn nic_dhcp_arp_and_ping_gateway_through_interrupts() {
        use alloc::string::ToString;
        use alloc::sync::Arc;
        assert!(present(), "no virtio-net NIC (xtask boots the kernel tests with one)");
        let irqs0 = virtio_net::irq_count();
        let result: Arc<spin::Mutex<Option<Exchange>>> = Arc::new(spin::Mutex::new(None));
        let r = result.clone();
        crate::sched::spawn(900, move || {
            let deadline = arch_x86_64::time::since_boot_ns() + 20_000_000_000;
            let e = exchange_with_gateway(deadline);
            *r.lock() = Some(e);
        });
        crate::sched::idle_until(|| result.lock().is_some());
        crate::sched::yield_now();
        let e = result.lock().take().unwrap_or_default();
        log::info!("net: ktest exchange {e:?}, {} NIC interrupts", virtio_net::irq_count() - irqs0);
        assert_eq!(e.error, None);
        let (cidr, router, dns) = e.lease.unwrap_or_else(|| panic!("no DHCP lease"));
        assert_eq!(cidr.to_string(), "10.0.2.15/24");
        assert_eq!(router.map(|r| r.to_string()).as_deref(), Some("10.0.2.2"));
        assert_eq!(dns.map(|r| r.to_string()).as_deref(), Some("10.0.2.3"));
        assert!(e.echo_reply, "no echo reply from 10.0.2.2");
        assert!(virtio_net::irq_count() > irqs0, "the replies came without a NIC interrupt");
        let s = virtio_net::stats();
        assert!(s.rx_packets >= 3 && s.tx_packets >= 4 && s.tx_dropped == 0, "{s:?}");
        assert!(s.rx_bytes >= 42 * s.rx_packets && s.tx_bytes >= 42 * s.tx_packets, "{s:?}");
    }
);

/// The bytes xtask's stream server sends (`xtask/src/net.rs`, `pattern(4,
/// 1 MiB)` repeated): xorshift64* from a seed.
struct Pattern {
    x: u64,
    word: [u8; 8],
    at: usize,
}

impl Pattern {
    fn new(seed: u64) -> Pattern {
        Pattern { x: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1, word: [0; 8], at: 8 }
    }

    fn next_byte(&mut self) -> u8 {
        if self.at == 8 {
            self.x ^= self.x >> 12;
            self.x ^= self.x << 25;
            self.x ^= self.x >> 27;
            self.word = self.x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            self.at = 0;
        }
        self.at += 1;
        self.word[self.at - 1]
    }
}

/// Downloads `mib` MiB over TCP from xtask's stream server on the host
/// (10.0.2.2:`port`) with eth0 at QEMU's static 10.0.2.15/24, checking every
/// byte; the time from connect to the server's FIN, or why it failed.
fn tcp_download(port: u16, mib: usize, deadline_ns: u64) -> Result<u64, &'static str> {
    use alloc::vec;
    use smoltcp::iface::{Config, Interface, SocketSet};
    use smoltcp::socket::tcp;
    use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};
    let mut dev = take_device().ok_or("no NIC")?;
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(dev.mac())));
    config.random_seed = arch_x86_64::time::rdtsc();
    let mut iface = Interface::new(config, &mut dev, now());
    iface.update_ip_addrs(|a| {
        let _ = a.push(IpCidr::new(IpAddress::v4(10, 0, 2, 15), 24));
    });
    let _ = iface.routes_mut().add_default_ipv4_route(Ipv4Address::new(10, 0, 2, 2));
    let mut sockets = SocketSet::new(vec![]);
    let sock =
        tcp::Socket::new(tcp::SocketBuffer::new(vec![0; 256 << 10]), tcp::SocketBuffer::new(vec![0; 4096]));
    let h = sockets.add(sock);
    let t0 = arch_x86_64::time::since_boot_ns();
    let connected = sockets.get_mut::<tcp::Socket>(h).connect(
        iface.context(),
        (IpAddress::v4(10, 0, 2, 2), port),
        49152 + (t0 % 1000) as u16,
    );
    let mut outcome: Option<Result<u64, &'static str>> =
        connected.err().map(|_| Err("connect refused locally"));
    let (mut got, mut sent_request) = (0usize, false);
    let want = mib << 20;
    let mut pat = Pattern::new(4);
    while outcome.is_none() {
        iface.poll(now(), &mut dev, &mut sockets);
        let s = sockets.get_mut::<tcp::Socket>(h);
        if !sent_request && s.may_send() {
            let req = alloc::format!("{mib}\n");
            sent_request = s.send_slice(req.as_bytes()).is_ok_and(|n| n == req.len());
        }
        let mut bad = false;
        while s.can_recv() {
            let _ = s.recv(|data| {
                for &b in data.iter() {
                    // the stream repeats the same 1 MiB
                    if got.is_multiple_of(1 << 20) {
                        pat = Pattern::new(4);
                    }
                    bad |= pat.next_byte() != b;
                    got += 1;
                }
                (data.len(), ())
            });
        }
        if bad {
            outcome = Some(Err("wrong bytes"));
        } else if got == want && !s.may_recv() {
            outcome = Some(Ok(arch_x86_64::time::since_boot_ns() - t0));
        } else if got > want || (!s.is_open() && got < want) {
            outcome = Some(Err("stream ended at the wrong length"));
        } else if arch_x86_64::time::since_boot_ns() > deadline_ns {
            outcome = Some(Err("timed out"));
        } else {
            let t = arch_x86_64::time::since_boot_ns();
            let delay =
                iface.poll_delay(now(), &sockets).map_or(u64::MAX, |d| d.total_micros().saturating_mul(1000));
            if delay > 0 {
                queue().wait_until(|| dev.has_received(), Some(deadline_ns.min(t.saturating_add(delay))));
            }
        }
    }
    sockets.get_mut::<tcp::Socket>(h).abort();
    iface.poll(now(), &mut dev, &mut sockets);
    put_back(dev);
    let result = outcome.unwrap_or(Err("no outcome"));
    if result.is_err() {
        log::warn!("net: tcp download: {got} of {want} bytes");
    }
    result
}

arch_x86_64::ktest!(
    fn nic_tcp_download_from_host_checks_every_byte() {
        use alloc::sync::Arc;
        let cmdline = arch_x86_64::boot_info().map(|b| b.cmdline()).unwrap_or("");
        let port = arch_x86_64::cmdline::Cmdline::new(cmdline).get_u64("nictest.port");
        let port =
            port.unwrap_or_else(|| panic!("no nictest.port= (xtask runs a stream server for this test)"));
        let irqs0 = virtio_net::irq_count();
        let result: Arc<spin::Mutex<Option<Result<u64, &'static str>>>> = Arc::new(spin::Mutex::new(None));
        let r = result.clone();
        const MIB: usize = 16;
        crate::sched::spawn(901, move || {
            let deadline = arch_x86_64::time::since_boot_ns() + 60_000_000_000;
            *r.lock() = Some(tcp_download(port as u16, MIB, deadline));
        });
        crate::sched::idle_until(|| result.lock().is_some());
        crate::sched::yield_now();
        let ns = result.lock().take().unwrap_or(Err("no result")).unwrap_or_else(|e| panic!("{e}"));
        log::info!(
            "net: {MIB} MiB from the host in {} ms: {} KiB/s, {} NIC interrupts",
            ns / 1_000_000,
            (MIB as u64) * 1024 * 1_000_000_000 / ns.max(1),
            virtio_net::irq_count() - irqs0
        );
    }
);

//! The 16550 UART on COM1: the console and the `log` backend's output.

use core::fmt::{self, Write};
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;

/// A 16550 UART at an I/O port base.
pub struct Uart {
    base: u16,
}

impl Uart {
    /// The UART at `base` (not yet initialised).
    pub const fn new(base: u16) -> Self {
        Uart { base }
    }

    fn out(&self, reg: u16, v: u8) {
        // SAFETY: the ports base..base+7 belong to the UART; writing its
        // registers has no effect on memory.
        unsafe { Port::<u8>::new(self.base + reg).write(v) }
    }

    fn inb(&self, reg: u16) -> u8 {
        // SAFETY: as in `out`; reading a UART register has no memory effect.
        unsafe { Port::<u8>::new(self.base + reg).read() }
    }

    /// 115200 baud, 8N1, FIFOs on, interrupts off.
    pub fn init(&self) {
        self.out(1, 0x00); // IER: no interrupts
        self.out(3, 0x80); // LCR: DLAB
        self.out(0, 0x01); // divisor 1 = 115200
        self.out(1, 0x00);
        self.out(3, 0x03); // 8N1
        self.out(2, 0xc7); // FIFO on, cleared, 14-byte threshold
        self.out(4, 0x0b); // DTR | RTS | OUT2
    }

    /// Sends one byte, waiting for room in the transmitter.
    pub fn send(&self, b: u8) {
        let mut spins = 0u32;
        // LSR bit 5: transmit holding register empty. Bounded so a missing
        // UART cannot hang the kernel.
        while self.inb(5) & 0x20 == 0 && spins < 100_000 {
            spins += 1;
            core::hint::spin_loop();
        }
        self.out(0, b);
    }
}

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.send(b'\r');
            }
            self.send(b);
        }
        Ok(())
    }
}

impl Uart {
    /// A received byte, if one is waiting (LSR bit 0).
    pub fn try_recv(&self) -> Option<u8> {
        (self.inb(5) & 1 != 0).then(|| self.inb(0))
    }
}

static CONSOLE: spin::Mutex<Uart> = spin::Mutex::new(Uart::new(COM1));

/// Initialises COM1.
pub fn init() {
    CONSOLE.lock().init();
}

/// Writes formatted text to the console (interrupts off while the lock is held).
pub fn write_fmt(args: fmt::Arguments) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        let _ = CONSOLE.lock().write_fmt(args);
    });
}

/// Writes without taking the console lock: for the fault and panic paths,
/// which may have interrupted a holder of the lock.
pub fn write_fmt_unlocked(args: fmt::Arguments) {
    let _ = Uart::new(COM1).write_fmt(args);
}

/// Prints to the serial console, with a newline.
#[macro_export]
macro_rules! kprintln {
    () => { $crate::serial::write_fmt(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::serial::write_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Prints to the serial console without taking its lock (fault paths).
#[macro_export]
macro_rules! kprintln_unlocked {
    ($($arg:tt)*) => { $crate::serial::write_fmt_unlocked(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Writes raw bytes (user output: no newline translation) to the console.
pub fn write_bytes(buf: &[u8]) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        let c = CONSOLE.lock();
        for &b in buf {
            if b == b'\n' {
                c.send(b'\r');
            }
            c.send(b);
        }
    });
}

/// Received bytes the interrupt handler took from the UART (a fixed ring:
/// interrupt context allocates nothing).
struct Rx {
    buf: [u8; 4096],
    head: usize,
    len: usize,
}

static RX: spin::Mutex<Rx> = spin::Mutex::new(Rx { buf: [0; 4096], head: 0, len: 0 });

/// The UART's receive interrupt: drains its FIFO into the ring (bytes that
/// do not fit are dropped, as a full tty buffer drops them).
pub(crate) fn on_irq() {
    let c = CONSOLE.lock();
    let mut rx = RX.lock();
    while let Some(b) = c.try_recv() {
        if rx.len < rx.buf.len() {
            let i = (rx.head + rx.len) % rx.buf.len();
            rx.buf[i] = b;
            rx.len += 1;
        }
    }
}

/// Turns on the receive interrupt (after the IOAPIC routes IRQ 4).
pub(crate) fn enable_rx_irq() {
    CONSOLE.lock().out(1, 0x01);
}

/// A byte received on the console, if any: from the interrupt ring, or
/// straight from the UART when no interrupt has collected it yet.
pub fn try_read_byte() -> Option<u8> {
    x86_64::instructions::interrupts::without_interrupts(|| {
        let mut rx = RX.lock();
        if rx.len > 0 {
            let b = rx.buf[rx.head];
            rx.head = (rx.head + 1) % rx.buf.len();
            rx.len -= 1;
            return Some(b);
        }
        drop(rx);
        CONSOLE.lock().try_recv()
    })
}

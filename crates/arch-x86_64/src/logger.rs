//! The `log` backend: timestamped lines on the serial console, and the
//! kernel's log buffer that syslog(2) (`dmesg`) reads: every record of
//! level info and above, whatever the console's level (`log=`), in
//! Linux's syslog format (`<6>[    1.234567] target: message`).

use crate::logring::LogRing;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use log::{Level, LevelFilter, Log, Metadata, Record};

struct SerialLogger;

static LOGGER: SerialLogger = SerialLogger;

/// The console's level (`log=`), as a `LevelFilter` index: the log
/// crate's own maximum is at least info, for the log buffer.
static CONSOLE_LEVEL: AtomicUsize = AtomicUsize::new(LevelFilter::Info as usize);

/// Linux's console_loglevel for records from user space (/dev/kmsg):
/// those of a lower level are printed too. From `log=`: `off` 0, `error`
/// 4 (levels 0-3), `warn` 5, `info` 7 (Linux's default), `debug` and
/// `trace` 8.
static CONSOLE_LOGLEVEL: AtomicU32 = AtomicU32::new(7);

/// Bytes of the kernel's log buffer (Linux's default is 128 KiB).
pub const LOG_BUF_LEN: usize = 64 * 1024;

/// The log buffer: whole lines, the oldest dropped first.
static RING: spin::Mutex<LogRing<LOG_BUF_LEN>> = spin::Mutex::new(LogRing::new());

impl Log for SerialLogger {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let ns = crate::time::since_boot_ns();
        let (secs, micros) = (ns / 1_000_000_000, ns % 1_000_000_000 / 1000);
        if r.level() as usize <= CONSOLE_LEVEL.load(Ordering::Relaxed) {
            let level = match r.level() {
                Level::Error => "ERROR",
                Level::Warn => "WARN ",
                Level::Info => "INFO ",
                Level::Debug => "DEBUG",
                Level::Trace => "TRACE",
            };
            crate::serial::write_fmt(format_args!(
                "[{:>4}.{:06}] {} {}: {}\n",
                secs,
                micros,
                level,
                r.target(),
                r.args()
            ));
        }
        // syslog's priorities: KERN_ERR 3, KERN_WARNING 4, KERN_INFO 6,
        // KERN_DEBUG 7
        let prio = match r.level() {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Info => 6,
            Level::Debug | Level::Trace => 7,
        };
        let mut line = LineBuf { buf: [0; LINE_MAX], len: 0 };
        let _ = core::fmt::write(
            &mut line,
            format_args!("<{prio}>[{secs:5}.{micros:06}] {}: {}", r.target(), r.args()),
        );
        let n = line.len.min(LINE_MAX - 1);
        line.buf[n] = b'\n';
        // interrupts off: an interrupt handler may log too
        x86_64::instructions::interrupts::without_interrupts(|| RING.lock().push(&line.buf[..=n]));
    }

    fn flush(&self) {}
}

/// Logs a line from user space (/dev/kmsg's write) with syslog priority
/// `prio` (facility and level): in the log buffer as `<prio>[seconds]
/// text`, and on the console as `[seconds] text` when its level is below
/// the console's loglevel (Linux's printk does both).
pub fn log_user(prio: u32, text: &[u8]) {
    let ns = crate::time::since_boot_ns();
    let (secs, micros) = (ns / 1_000_000_000, ns % 1_000_000_000 / 1000);
    if prio & 7 < CONSOLE_LOGLEVEL.load(Ordering::Relaxed) {
        crate::serial::write_fmt(format_args!("[{secs:>4}.{micros:06}] {}\n", Shown(text)));
    }
    let mut line = LineBuf { buf: [0; LINE_MAX], len: 0 };
    let _ = core::fmt::write(&mut line, format_args!("<{prio}>[{secs:5}.{micros:06}] "));
    let room = (LINE_MAX - 1).saturating_sub(line.len);
    let take = text.len().min(room);
    line.buf[line.len..line.len + take].copy_from_slice(&text[..take]);
    let n = line.len + take;
    line.buf[n] = b'\n';
    x86_64::instructions::interrupts::without_interrupts(|| RING.lock().push(&line.buf[..=n]));
}

/// User text on the console: UTF-8 as it is, other bytes as `\xNN`.
struct Shown<'a>(&'a [u8]);

impl core::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

/// The longest line kept (longer ones are cut, as Linux's records are).
pub const LINE_MAX: usize = 512;

struct LineBuf {
    buf: [u8; LINE_MAX],
    len: usize,
}

impl core::fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = LINE_MAX - 1 - self.len.min(LINE_MAX - 1);
        let take = s.len().min(room);
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

/// Parses a `log=` value (`off`, `error`, `warn`, `info`, `debug`, `trace`).
pub fn parse_level(s: &str) -> Option<LevelFilter> {
    s.parse().ok()
}

/// Installs the logger with `level` for the console (the log buffer
/// keeps info and above in any case).
pub fn init(level: LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    CONSOLE_LEVEL.store(level as usize, Ordering::Relaxed);
    let loglevel = match level {
        LevelFilter::Off => 0,
        LevelFilter::Error => 4,
        LevelFilter::Warn => 5,
        LevelFilter::Info => 7,
        LevelFilter::Debug | LevelFilter::Trace => 8,
    };
    CONSOLE_LOGLEVEL.store(loglevel, Ordering::Relaxed);
    log::set_max_level(level.max(LevelFilter::Info));
}

/// Runs `f` on the kernel's log buffer (interrupts off while it is held).
pub fn with_log<R>(f: impl FnOnce(&mut LogRing<LOG_BUF_LEN>) -> R) -> R {
    x86_64::instructions::interrupts::without_interrupts(|| f(&mut RING.lock()))
}

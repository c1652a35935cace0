//! Running QEMU: headless, serial on stdio, `isa-debug-exit` for the status,
//! and a timeout so that a hung kernel never hangs the caller.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What to boot and how.
#[derive(Clone, Debug)]
pub struct Qemu {
    /// The kernel ELF (PVH boot through `-kernel`).
    pub kernel: PathBuf,
    /// The initramfs, passed with `-initrd`.
    pub initrd: Option<PathBuf>,
    /// Boot this ISO through GRUB instead of `-kernel`.
    pub iso: Option<PathBuf>,
    /// The kernel command line (for `-kernel`; an ISO carries its own).
    pub cmdline: String,
    /// CPUs.
    pub smp: u32,
    /// Memory, as QEMU's `-m` takes it.
    pub memory: String,
    /// Start the gdb stub and wait for gdb.
    pub gdb: bool,
    /// A virtio-net NIC on QEMU's user network (10.0.2.0/24, the host as
    /// 10.0.2.2), when set: with these TCP forwards (host port on
    /// 127.0.0.1, guest port).
    pub net: Option<Vec<(u16, u16)>>,
    /// A raw disk image attached as a virtio-blk disk (`/dev/vda`).
    pub disk: Option<PathBuf>,
    /// `-icount shift=0,sleep=off`: the guest's clocks count its executed
    /// instructions (1 ns each) instead of host time, so timings measure
    /// code-path length, untouched by the host's load (several CPUs run in
    /// turn on one host thread: no `thread=multi`).
    pub icount: bool,
    /// QEMU's monitor on this unix socket (`cargo xtask bench --profile`
    /// samples the registers through it) instead of no monitor.
    pub monitor: Option<PathBuf>,
    /// A TCG plugin and its arguments, as QEMU's `-plugin` takes them
    /// (`cargo xtask bench --tb-profile`: xtask/plugins/tbcount.c;
    /// `--tcgstat`: xtask/plugins/tcgstat.c).
    pub plugin: Option<String>,
}

/// QEMU's options for a raw image as a modern-only virtio-blk PCI disk
/// (PCI id 1af4:1042), written through to the file (`cache=writethrough`
/// keeps it on the host's disk once a request completes).
pub fn disk_args(path: &std::path::Path) -> [String; 4] {
    [
        "-drive".into(),
        format!("file={},if=none,format=raw,id=d0,cache=writethrough", path.display()),
        "-device".into(),
        "virtio-blk-pci,drive=d0,disable-legacy=on".into(),
    ]
}

/// QEMU's options for a virtio-net NIC on the user network with TCP
/// forwards from the host's 127.0.0.1. The device is modern-only
/// (`disable-legacy=on`, PCI id 1af4:1041): the kernel's driver speaks
/// virtio 1.0 through the PCI capabilities, so the legacy I/O BAR would be
/// unused; `romfile=` skips loading iPXE's option ROM, which a `-kernel`
/// boot never runs.
pub fn net_args(forwards: &[(u16, u16)]) -> [String; 4] {
    let mut netdev = String::from("user,id=net0");
    for (host, guest) in forwards {
        netdev.push_str(&format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}"));
    }
    [
        "-netdev".into(),
        netdev,
        "-device".into(),
        "virtio-net-pci,netdev=net0,disable-legacy=on,romfile=".into(),
    ]
}

/// How a captured run ended.
pub struct Outcome {
    /// QEMU's exit status (None when killed).
    pub status: Option<i32>,
    /// Everything the kernel printed.
    pub output: String,
    /// Killed at the timeout.
    pub timed_out: bool,
}

/// The host status for the kernel's `ExitCode::Success` (0x10 << 1 | 1).
pub const EXIT_SUCCESS: i32 = 33;
/// The host status for `ExitCode::Failure`.
pub const EXIT_FAILURE: i32 = 35;

impl Qemu {
    /// A plain `-kernel` boot: `kernel` with `initrd` and `cmdline`, `smp`
    /// CPUs and `memory` (as `-m` takes it); no ISO, gdb stub, NIC, disk,
    /// icount or monitor (set those fields afterwards where wanted).
    pub fn boot(kernel: PathBuf, initrd: Option<PathBuf>, cmdline: &str, smp: u32, memory: String) -> Qemu {
        Qemu {
            kernel,
            initrd,
            iso: None,
            cmdline: cmdline.into(),
            smp,
            memory,
            gdb: false,
            net: None,
            disk: None,
            icount: false,
            monitor: None,
            plugin: None,
        }
    }

    /// The QEMU command line. The same machine for every use: q35, the
    /// `max` CPU model of TCG.
    pub fn command(&self, interactive: bool) -> Command {
        let mut c = Command::new("qemu-system-x86_64");
        c.args(["-machine", "q35", "-cpu", "max", "-m", &self.memory]);
        c.args(["-smp", &self.smp.to_string()]);
        if self.smp > 1 && !self.icount {
            // one host thread per guest CPU, so two host cores run two guest
            // CPUs; QEMU refuses it with -icount ("No MTTCG when icount is
            // enabled"), which then runs the CPUs in turn on one thread
            c.args(["-accel", "tcg,thread=multi"]);
        }
        if self.icount {
            c.args(["-icount", "shift=0,sleep=off"]);
        }
        if let Some(p) = &self.plugin {
            c.args(["-plugin", p]);
        }
        c.args(["-display", "none", "-no-reboot"]);
        c.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        if interactive {
            // the monitor shares the terminal: Ctrl-A X quits, Ctrl-A C toggles
            c.args(["-serial", "mon:stdio"]);
        } else {
            c.args(["-serial", "stdio", "-monitor"]);
            match &self.monitor {
                Some(sock) => c.arg(format!("unix:{},server=on,wait=off", sock.display())),
                None => c.arg("none"),
            };
        }
        match &self.iso {
            Some(iso) => {
                c.arg("-cdrom").arg(iso);
                c.args(["-boot", "d"]);
            }
            None => {
                c.arg("-kernel").arg(&self.kernel);
                c.args(["-append", &self.cmdline]);
                if let Some(initrd) = &self.initrd {
                    c.arg("-initrd").arg(initrd);
                }
            }
        }
        if let Some(forwards) = &self.net {
            c.args(net_args(forwards));
        }
        if let Some(disk) = &self.disk {
            c.args(disk_args(disk));
        }
        if self.gdb {
            c.args(["-s", "-S"]);
        }
        if let Some(p) = &self.plugin {
            c.args(["-plugin", p]);
        }
        c
    }

    /// Runs with the terminal attached (the user types to the serial port;
    /// Ctrl-A X quits). Returns QEMU's status.
    pub fn run_interactive(&self, timeout: Option<Duration>) -> Result<Option<i32>, String> {
        let mut child = self.command(true).spawn().map_err(|e| format!("qemu-system-x86_64: {e}"))?;
        let start = Instant::now();
        loop {
            if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
                return Ok(s.code());
            }
            if timeout.is_some_and(|t| start.elapsed() > t) {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("\nxtask: QEMU killed after {:?} (timeout)", timeout.unwrap_or_default());
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs without input, capturing (and echoing, when `echo`) the output;
    /// kills QEMU after `timeout`.
    pub fn run_captured(&self, timeout: Duration, echo: bool) -> Result<Outcome, String> {
        self.run_captured_until(timeout, echo, None)
    }

    /// [`Qemu::run_captured`], and QEMU killed (as a power cut: no
    /// shutdown, `status` None, `timed_out` false) as soon as a line
    /// containing `kill_on` is read.
    pub fn run_captured_until(
        &self,
        timeout: Duration,
        echo: bool,
        kill_on: Option<&str>,
    ) -> Result<Outcome, String> {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let seen = Arc::new(AtomicBool::new(false));
        let (seen_r, needle) = (seen.clone(), kill_on.map(str::to_string));
        let mut child = self
            .command(false)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("qemu-system-x86_64: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                let line = String::from_utf8_lossy(&line).trim_end_matches('\r').to_string();
                if needle.as_ref().is_some_and(|n| line.contains(n.as_str())) {
                    seen_r.store(true, Ordering::SeqCst);
                }
                if echo {
                    println!("{line}");
                    let _ = std::io::stdout().flush();
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
            s
        });
        let start = Instant::now();
        let mut timed_out = false;
        let status = loop {
            if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
                break s.code();
            }
            if seen.load(Ordering::SeqCst) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            if start.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                timed_out = true;
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut output = reader.join().unwrap_or_default();
        let err = err_reader.join().unwrap_or_default();
        if !err.trim().is_empty() {
            output.push_str(&err);
            if echo {
                eprint!("{err}");
            }
        }
        if timed_out {
            let msg = format!("xtask: QEMU killed after {timeout:?}: the kernel hung or is too slow");
            eprintln!("{msg}");
            output.push_str(&msg);
        }
        Ok(Outcome { status, output, timed_out })
    }
}

#[cfg(test)]
mod tests {
    use super::Qemu;

    fn args(smp: u32, icount: bool) -> Vec<String> {
        let q = Qemu { icount, ..Qemu::boot("k.elf".into(), None, "", smp, "256M".into()) };
        q.command(false).get_args().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn mttcg_only_without_icount() {
        let multi = |a: &[String]| a.iter().any(|x| x == "tcg,thread=multi");
        let icount = |a: &[String]| a.iter().any(|x| x == "shift=0,sleep=off");
        assert!(!multi(&args(1, false)));
        assert!(multi(&args(2, false)) && !icount(&args(2, false)));
        let a = args(2, true);
        assert!(!multi(&a) && icount(&a));
        assert!(a.windows(2).any(|w| w[0] == "-smp" && w[1] == "2"));
    }
}

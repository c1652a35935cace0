//! `cargo xtask fuzz --calls N --seed S [--threads T] [--user] [--trace-from K] [--stall SECS] [--smp N] [--linux]`:
//! a long campaign of the suite's syscall fuzzer (`user/tests/fuzz.c`),
//! with `--smp` CPUs (the default of every xtask machine, 2).
//!
//! Boots the suite's initramfs with `/etc/fuzz.conf` added (`calls seed
//! threads user trace_from`, which the fuzzer reads instead of its part's
//! settings) and init told to run only `fuzz`, without its 30 s limit
//! (`timeout=` among init's arguments). The fuzzer's watchdog prints
//! `# fuzz: progress N calls` every second with the calls made since the
//! last line, and from call `--trace-from` on the fuzzer writes every call
//! to the console before making it: the serial log is all that survives a
//! kernel panic. The kernel counts as dead when it prints `kernel panic`,
//! when QEMU exits before `# fuzz: done` (a triple fault resets the
//! machine, and `-no-reboot` ends QEMU), or when no line comes for
//! `--stall` seconds (a hang: the watchdog would have printed). Then the
//! seed, the last calls seen and a command that replays the run with every
//! call traced from a little before the death are printed.
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a campaign does.
struct Campaign {
    calls: u64,
    seed: u64,
    threads: u32,
    user: bool,
    trace_from: i64,
    stall: u64,
    linux: bool,
    release: bool,
    /// `--smp N`: the guest's CPUs.
    smp: u32,
}

fn parse(args: &[String]) -> Result<Campaign, String> {
    let mut c = Campaign {
        calls: 1_000_000,
        seed: 1,
        threads: 1,
        user: false,
        trace_from: -1,
        stall: 60,
        linux: false,
        release: false,
        smp: crate::DEFAULT_SMP,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |what: &str| -> Result<i64, String> {
            let v = it.next().ok_or(format!("{what} takes a number"))?;
            let v = v.replace('_', "");
            if let Some(h) = v.strip_prefix("0x") {
                i64::from_str_radix(h, 16).map_err(|e| format!("{what} {v}: {e}"))
            } else {
                v.parse().map_err(|e| format!("{what} {v}: {e}"))
            }
        };
        match a.as_str() {
            "--calls" => c.calls = num("--calls")?.max(1) as u64,
            "--seed" => c.seed = num("--seed")? as u64,
            "--threads" => c.threads = num("--threads")?.clamp(1, 4) as u32,
            "--trace-from" => c.trace_from = num("--trace-from")?,
            "--stall" => c.stall = num("--stall")?.max(5) as u64,
            "--smp" => c.smp = num("--smp")?.clamp(1, 64) as u32,
            "--user" => c.user = true,
            "--linux" => c.linux = true,
            "--release" => c.release = true,
            other => return Err(format!("fuzz: unknown argument {other:?}")),
        }
    }
    Ok(c)
}

/// Entry point of `cargo xtask fuzz`.
pub fn main(args: &[String]) -> std::process::ExitCode {
    match parse(args).and_then(|c| run(&c)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Why the campaign ended.
#[derive(Debug, PartialEq)]
enum End {
    Done,
    Panic,
    Exited(Option<i32>),
    Hang,
}

fn run(c: &Campaign) -> Result<bool, String> {
    crate::setup::ensure_tools(crate::QEMU_TOOLS)?;
    let (kernel, base) = if c.linux {
        (crate::linux::vmlinuz()?, crate::linux::CMDLINE.to_string())
    } else {
        (crate::build_kernel(c.release)?, String::new())
    };
    let suite = crate::build_initramfs(true)?;
    let mut cpio = crate::cpio::Cpio::default();
    cpio.dir("etc");
    let conf = format!("{} {} {} {} {}\n", c.calls, c.seed, c.threads, u32::from(c.user), c.trace_from);
    cpio.file("etc/fuzz.conf", 0o644, conf.as_bytes());
    let mut image = std::fs::read(&suite).map_err(|e| format!("{}: {e}", suite.display()))?;
    image.extend_from_slice(&cpio.finish());
    let initrd = crate::target_dir().join("initramfs-fuzz.cpio");
    std::fs::write(&initrd, image).map_err(|e| format!("{}: {e}", initrd.display()))?;
    let cmdline = format!("{base} -- timeout=1000000 fuzz");
    let q = crate::qemu_for(kernel, Some(initrd), &cmdline, c.smp);
    println!(
        "xtask: fuzz campaign: {} calls, seed {}, {} thread(s), {} CPU(s), {}{}",
        c.calls,
        c.seed,
        c.threads,
        c.smp,
        if c.user { "uid 65534" } else { "root" },
        if c.linux { ", Linux" } else { "" }
    );
    let mut child = q
        .command(false)
        .arg("-no-reboot")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("qemu-system-x86_64: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n') {
            let Ok(line) = line else { break };
            let line = String::from_utf8_lossy(&line).trim_end_matches('\r').to_string();
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let mut last_line = Instant::now();
    let mut tail: Vec<String> = Vec::new(); // the last call lines seen
    let mut progress = 0u64;
    let mut passed = false;
    let end = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                last_line = Instant::now();
                let quiet = line.starts_with("# fz ") || line.starts_with("# fuzz: call ");
                if !quiet {
                    println!("{line}");
                    let _ = std::io::stdout().flush();
                }
                if let Some(rest) = line.strip_prefix("# fuzz: progress ") {
                    progress = rest.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(progress);
                }
                if quiet || line.contains("fuzz: last call") {
                    tail.push(line.clone());
                    if tail.len() > 64 {
                        tail.remove(0);
                    }
                }
                if line.starts_with("PASS fuzz:") {
                    passed = true;
                }
                if line.contains("kernel panic") || line.contains("Kernel panic") {
                    // let the rest of the report (backtrace) come in
                    let until = Instant::now() + Duration::from_secs(3);
                    while let Ok(l) = rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                        println!("{l}");
                    }
                    break End::Panic;
                }
                if line == "# fuzz: done" {
                    // init prints the verdict and powers off
                    let until = Instant::now() + Duration::from_secs(30);
                    while let Ok(l) = rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                        println!("{l}");
                        if l.starts_with("PASS fuzz:") {
                            passed = true;
                        }
                    }
                    break End::Done;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if last_line.elapsed() > Duration::from_secs(c.stall) {
                    break End::Hang;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().map_err(|e| e.to_string())?.code();
                break End::Exited(status);
            }
        }
    };
    // after `# fuzz: done` init powers off: wait for QEMU's own exit
    let until = Instant::now() + Duration::from_secs(if end == End::Done { 30 } else { 0 });
    let mut status = None;
    while Instant::now() < until {
        if let Ok(Some(s)) = child.try_wait() {
            status = s.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if status.is_none() {
        let _ = child.kill();
        status = child.wait().ok().and_then(|s| s.code());
    }
    let secs = start.elapsed().as_secs_f64();
    println!();
    if end == End::Done {
        // a clean power-off: 0 on ours (QEMU's isa-debug-exit is for failures), any on Linux
        let clean = status == Some(0) || c.linux;
        println!(
            "xtask: fuzz campaign finished in {secs:.0} s: {} ({} calls, seed {})",
            if passed && clean { "passed" } else { "FAILED (see the fuzz lines above)" },
            c.calls,
            c.seed
        );
        if passed && clean {
            return Ok(true);
        }
    }
    let why = match end {
        End::Panic => "a kernel panic".to_string(),
        End::Hang => format!("no output for {} s (a hang)", c.stall),
        End::Exited(s) => format!("QEMU exited ({s:?}) before the fuzzer finished (a triple fault?)"),
        End::Done => "the fuzzer's case failed (its child died or hung in the kernel)".to_string(),
    };
    if end != End::Done {
        println!("xtask: the kernel died after {secs:.0} s: {why}");
    } else {
        println!("xtask: {why}");
    }
    println!(
        "xtask: seed {} (0x{:x}), {} thread(s), {}",
        c.seed,
        c.seed,
        c.threads,
        if c.user { "uid 65534" } else { "root" }
    );
    println!("xtask: about {progress} calls made; the last calls seen:");
    for l in &tail {
        println!("  {l}");
    }
    let from = progress.saturating_sub(2000);
    println!(
        "xtask: reproduce (every call from {from} on printed before it is made): cargo xtask fuzz --calls {} --seed {}{}{}{} --trace-from {from}",
        c.calls,
        c.seed,
        if c.threads > 1 { format!(" --threads {}", c.threads) } else { String::new() },
        if c.smp != crate::DEFAULT_SMP { format!(" --smp {}", c.smp) } else { String::new() },
        if c.user { " --user" } else { "" }
    );
    Ok(false)
}

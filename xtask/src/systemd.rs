//! Debian's systemd as PID 1, on ours and on Debian's Linux (not in CI:
//! a boot takes minutes under TCG).
//!
//! `cargo xtask systemd [--linux | --ours] [--smp N] [--memory SIZE]
//! [--timeout SECS] [--release] [-- systemd's words]` builds
//! `target/initramfs-systemd-PID.cpio`: the Debian system of
//! [`crate::debsys`] plus [`PACKAGES`] (systemd, systemd-sysv, dbus, udev
//! and their dependencies), `/etc/machine-id` (a fixed one: no first-boot
//! presets), the links systemd-sysv ships for poweroff/reboot/halt (the
//! Debian system's /init would take them otherwise), and
//! `user/debian/systemd/sysd-report.service` enabled in
//! multi-user.target. It boots the initramfs with systemd as init
//! (`init=/lib/systemd/systemd` on ours, `rdinit=` on Linux) and
//! `systemd.show_status=1 systemd.log_target=console`; the report unit
//! waits for `systemctl is-system-running --wait`, prints the state, the
//! failed units, the jobs left, the default target and the active units
//! as `=== ` lines, then `systemctl poweroff`. The console is kept in
//! `target/systemd/SIDE.log`, the `=== ` lines in `SIDE.out`; with both
//! sides the command prints their `diff -u` (Linux first) and the time
//! each took to the report.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

/// What the systemd image adds to [`crate::debsys::PACKAGES`].
pub const PACKAGES: &[&str] = &["systemd", "systemd-sysv", "dbus", "udev"];

/// QEMU's memory unless `--memory` is given.
pub const MEMORY: &str = "1G";

/// systemd's words on both kernels: status lines and its log on the
/// console (Linux's `quiet` would keep only errors).
const SYSTEMD_WORDS: &str = "systemd.show_status=1 systemd.log_target=console systemd.log_level=info";

/// The report unit and the script it runs.
const UNIT: &str = "etc/systemd/system/sysd-report.service";
const SCRIPT: &str = "usr/local/lib/sysd-report.sh";

/// A fixed machine id: a missing one makes the boot a first boot
/// (presets applied, ConditionFirstBoot), which no installed Debian has.
const MACHINE_ID: &str = "4c1f0e5a9b2d4e7f8a6b3c2d1e0f9a8b\n";

struct Opts {
    /// Which kernels: Linux, ours.
    sides: (bool, bool),
    smp: u32,
    memory: String,
    timeout: u64,
    release: bool,
    /// More words for the kernel command line (systemd.unit=..., ...).
    words: String,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        sides: (true, true),
        smp: 2,
        memory: MEMORY.into(),
        timeout: 900,
        release: false,
        words: String::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--linux" => o.sides = (true, false),
            "--ours" => o.sides = (false, true),
            "--release" => o.release = true,
            "--smp" => {
                o.smp = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n >= 1)
                    .ok_or("--smp takes a number")?
            }
            "--memory" => o.memory = it.next().ok_or("--memory takes a size such as 1G")?.clone(),
            "--timeout" => {
                o.timeout = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n >= 60)
                    .ok_or("--timeout takes seconds (at least 60)")?
            }
            "--" => o.words = it.by_ref().cloned().collect::<Vec<_>>().join(" "),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

/// The report's `=== ` lines from its first to `=== sysd done`.
fn transcript(log: &str) -> String {
    let mut out = String::new();
    let mut on = false;
    for line in log.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("=== sysd report") {
            on = true;
        }
        if on && line.starts_with("=== ") {
            out.push_str(line);
            out.push('\n');
        }
        if line.starts_with("=== sysd done") {
            break;
        }
    }
    out
}

/// Builds the image (see the module's text) under the name `name`.
pub fn build_image(name: &str) -> Result<PathBuf, String> {
    use crate::debsys::Added;
    let mut roots: Vec<&str> = crate::debsys::PACKAGES.to_vec();
    roots.extend(PACKAGES);
    let dir = crate::root().join("user/debian/systemd");
    let read = |f: &str| std::fs::read(dir.join(f)).map_err(|e| format!("{}: {e}", dir.join(f).display()));
    let unit = read("sysd-report.service")?;
    let added = vec![
        (UNIT.to_string(), Added::Data(unit, 0o644)),
        (
            "etc/systemd/system/multi-user.target.wants/sysd-report.service".to_string(),
            Added::Link("/etc/systemd/system/sysd-report.service".into()),
        ),
        (SCRIPT.to_string(), Added::Data(read("sysd-report.sh")?, 0o755)),
        ("etc/machine-id".to_string(), Added::Data(MACHINE_ID.into(), 0o444)),
        // base-files' postinst links (else "System is tainted: var-run-bad")
        ("var/run".to_string(), Added::Link("/run".into())),
        ("var/lock".to_string(), Added::Link("/run/lock".into())),
        // no login prompt on the serial port: agetty's vhangup would cut
        // the report's output (Linux's getty generator starts it for
        // console=ttyS0)
        ("etc/systemd/system/serial-getty@ttyS0.service".to_string(), Added::Link("/dev/null".into())),
        // systemd-sysv's links (the Debian system's /init took them)
        ("usr/sbin/poweroff".to_string(), Added::Link("/bin/systemctl".into())),
        ("usr/sbin/reboot".to_string(), Added::Link("/bin/systemctl".into())),
        ("usr/sbin/halt".to_string(), Added::Link("/bin/systemctl".into())),
    ];
    Ok(crate::debsys::build_image_plus(&roots, &[], &added, name, false)?.path)
}

/// Boots `q`, keeps its console (`SIDE.log`) and the report (`SIDE.out`)
/// under `dir`; true when the report reached its end.
fn one_side(q: &crate::qemu::Qemu, side: &str, dir: &std::path::Path, timeout: u64) -> Result<bool, String> {
    eprintln!("xtask: systemd on {side} ({} CPUs, {}): {}", q.smp, q.memory, q.cmdline);
    let wall = std::time::Instant::now();
    let out = q.run_captured(Duration::from_secs(timeout), false)?;
    let log = dir.join(format!("{side}.log"));
    std::fs::write(&log, &out.output).map_err(|e| format!("{}: {e}", log.display()))?;
    let t = transcript(&out.output);
    let path = dir.join(format!("{side}.out"));
    std::fs::write(&path, &t).map_err(|e| format!("{}: {e}", path.display()))?;
    let done = t.contains("=== sysd done");
    let up =
        out.output.lines().find_map(|l| l.strip_prefix("(uptime at the report's start: ")).unwrap_or("?)");
    println!(
        "xtask: systemd on {side}: {:.0} s wall, the report at {} of uptime, {} ({}); the console in {}",
        wall.elapsed().as_secs_f64(),
        up.trim_end_matches(')'),
        if done {
            "finished"
        } else if out.timed_out {
            "timed out"
        } else {
            "stopped before the report's end"
        },
        path.display(),
        log.display()
    );
    Ok(done)
}

fn run(o: &Opts) -> Result<bool, String> {
    crate::setup::ensure_tools(&[("qemu-system-x86_64", "qemu-system-x86")])?;
    let dir = crate::target_dir().join("systemd");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = format!("initramfs-systemd-{}", std::process::id());
    let img = build_image(&name)?;
    let mut jobs = Vec::new();
    if o.sides.0 {
        let cmdline =
            format!("console=ttyS0 panic=-1 rdinit=/lib/systemd/systemd {SYSTEMD_WORDS} {}", o.words);
        jobs.push(("linux", crate::linux::vmlinuz()?, cmdline));
    }
    if o.sides.1 {
        // ours passes the words after init= to it as arguments: init= last
        let cmdline =
            format!("{} {SYSTEMD_WORDS} {} init=/lib/systemd/systemd", crate::debsys::CMDLINE, o.words);
        jobs.push(("ours", crate::build_kernel(o.release)?, cmdline));
    }
    let results: Vec<Result<bool, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(side, kernel, cmdline)| {
                let q = crate::qemu::Qemu::boot(kernel, Some(img.clone()), &cmdline, o.smp, o.memory.clone());
                let dir = dir.clone();
                s.spawn(move || one_side(&q, side, &dir, o.timeout))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a QEMU thread panicked".into())))
            .collect()
    });
    let _ = std::fs::remove_file(&img);
    let mut done = true;
    for r in results {
        done &= r?;
    }
    let (l, r) = (dir.join("linux.out"), dir.join("ours.out"));
    let mut same = true;
    if l.exists() && r.exists() {
        let d = Command::new("diff").arg("-u").arg(&l).arg(&r).output().map_err(|e| format!("diff: {e}"))?;
        same = d.status.success();
        if same {
            println!("xtask: systemd: the reports are the same on both kernels");
        } else {
            println!("xtask: systemd: the reports differ (diff -u linux.out ours.out):");
            print!("{}", String::from_utf8_lossy(&d.stdout));
        }
    }
    Ok(done && same)
}

/// `cargo xtask systemd ...`.
pub fn main(args: &[String]) -> ExitCode {
    match parse(args).and_then(|o| run(&o)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: systemd: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::transcript;

    #[test]
    fn transcript_keeps_the_reports_lines() {
        let log =
            "boot\n=== early\n=== sysd report\r\nWelcome\n=== failed a.service\n=== sysd done\n=== after\n";
        assert_eq!(transcript(log), "=== sysd report\n=== failed a.service\n=== sysd done\n");
    }
}

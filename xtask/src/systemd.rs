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

use crate::sidebyside::{self, Opts, Report, Sides, Spec};
use std::path::PathBuf;
use std::process::ExitCode;

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

/// The options (see the module's text); the words after `--` go on the
/// kernel command line (systemd.unit=..., ...).
const SPEC: Spec = Spec {
    sides: Sides::Both,
    smp: 2,
    memory: MEMORY,
    timeout: 900,
    min_timeout: 60,
    timeout_is: "seconds",
    words: true,
};

/// The report unit's lines in the console.
const REPORT: Report = Report {
    name: "systemd",
    transcript,
    done: "=== sysd done",
    end: "the report's end",
    show_cmdline: true,
    note: uptime,
};

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

/// ", the report at UPTIME of uptime", as the report unit's first line
/// says.
fn uptime(log: &str) -> String {
    let up = log.lines().find_map(|l| l.strip_prefix("(uptime at the report's start: ")).unwrap_or("?)");
    format!(", the report at {} of uptime", up.trim_end_matches(')'))
}

fn run(o: &Opts) -> Result<bool, String> {
    crate::setup::ensure_tools(&[("qemu-system-x86_64", "qemu-system-x86")])?;
    let dir = sidebyside::dir("systemd")?;
    let name = format!("initramfs-systemd-{}", std::process::id());
    let img = build_image(&name)?;
    let linux = format!("console=ttyS0 panic=-1 rdinit=/lib/systemd/systemd {SYSTEMD_WORDS} {}", o.words);
    // ours passes the words after init= to it as arguments: init= last
    let ours = format!("{} {SYSTEMD_WORDS} {} init=/lib/systemd/systemd", crate::debsys::CMDLINE, o.words);
    let done = sidebyside::boot(o, &REPORT, &dir, &img, &linux, &ours);
    let _ = std::fs::remove_file(&img);
    let done = done?;
    let same = sidebyside::compare(&REPORT, "reports", &dir, |_, _| {})?;
    Ok(done && same)
}

/// `cargo xtask systemd ...`.
pub fn main(args: &[String]) -> ExitCode {
    sidebyside::exit("systemd", Opts::parse(&SPEC, args).and_then(|o| run(&o)))
}

#[cfg(test)]
mod tests {
    use super::{transcript, uptime};

    #[test]
    fn uptime_from_the_reports_first_line() {
        assert_eq!(uptime("x\n(uptime at the report's start: 41.5 s)\n"), ", the report at 41.5 s of uptime");
        assert_eq!(uptime("x\n"), ", the report at ? of uptime");
    }

    #[test]
    fn transcript_keeps_the_reports_lines() {
        let log =
            "boot\n=== early\n=== sysd report\r\nWelcome\n=== failed a.service\n=== sysd done\n=== after\n";
        assert_eq!(transcript(log), "=== sysd report\n=== failed a.service\n=== sysd done\n");
    }
}

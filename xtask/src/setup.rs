//! Making a fresh Debian machine ready: the Rust target and Debian packages.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether `cmd` is on the PATH (or in /usr/sbin or /sbin, where e2fsprogs
/// lives and a user's PATH may not look).
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd} || test -x /usr/sbin/{cmd} || test -x /sbin/{cmd}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

static APT_UPDATED: AtomicBool = AtomicBool::new(false);

/// Makes sure each `(command, debian package)` is there: installs the
/// missing packages with apt-get when running as root, otherwise stops with
/// the exact command to run.
pub fn ensure_tools(tools: &[(&str, &str)]) -> Result<(), String> {
    let mut missing: Vec<&str> = tools.iter().filter(|(c, _)| !have(c)).map(|(_, p)| *p).collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    let cmd = format!("apt-get install -y {}", missing.join(" "));
    if !is_root() {
        return Err(format!("missing packages; run: sudo apt-get update && sudo {cmd}"));
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    if !APT_UPDATED.swap(true, Ordering::Relaxed) {
        let _ = Command::new("apt-get").args(["update", "-qq"]).status();
    }
    let ok = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success());
    if !ok || tools.iter().any(|(c, _)| !have(c)) {
        return Err(format!("could not install the packages; run: {cmd}"));
    }
    Ok(())
}

/// Adds a rustup target to the active toolchain when it is missing
/// (rustup does not add rust-toolchain.toml's targets by itself).
pub fn ensure_rust_target(target: &str, toolchain: Option<&str>) -> Result<(), String> {
    let mut list = Command::new("rustup");
    if let Some(t) = toolchain {
        list.arg(format!("+{t}"));
    }
    let out = list.args(["target", "list", "--installed"]).output().map_err(|e| format!("rustup: {e}"))?;
    if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == target) {
        return Ok(());
    }
    eprintln!("xtask: rustup target add {target}");
    let mut add = Command::new("rustup");
    if let Some(t) = toolchain {
        add.arg(format!("+{t}"));
    }
    let ok = add.args(["target", "add", target]).status().is_ok_and(|s| s.success());
    if ok { Ok(()) } else { Err(format!("could not add the target; run: rustup target add {target}")) }
}

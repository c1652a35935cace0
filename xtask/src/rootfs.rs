//! The default root filesystem of `cargo xtask qemu`: Debian's static
//! busybox with its applet links, and an /init that mounts /proc and /tmp,
//! prints the motd and starts a login shell on the console (as pid 1, so
//! `exit` or `poweroff` ends QEMU).

use crate::cpio::Cpio;
use crate::setup;
use std::process::Command;

const BUSYBOX: &str = "/bin/busybox";

const INIT: &str = r#"#!/bin/sh
mount -t proc proc /proc 2>/dev/null
mount -t tmpfs tmpfs /tmp 2>/dev/null
cat /etc/motd
exec /bin/sh -l
"#;

/// The shell's profile: busybox's poweroff/reboot/halt signal a busybox
/// init, which this system does not run; `-f` makes them call reboot(2).
const PROFILE: &str = r#"export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PS1='\w # '
alias poweroff='poweroff -f'
alias reboot='reboot -f'
alias halt='halt -f'
"#;

/// Adds busybox (installed with apt-get when missing), its applet links,
/// /init, /etc/profile and /etc/motd.
pub fn add_busybox(c: &mut Cpio) -> Result<(), String> {
    setup::ensure_tools(&[("busybox", "busybox-static")])?;
    let image = std::fs::read(BUSYBOX).map_err(|e| format!("{BUSYBOX}: {e}"))?;
    let out =
        Command::new(BUSYBOX).arg("--list-full").output().map_err(|e| format!("busybox --list-full: {e}"))?;
    let list = String::from_utf8_lossy(&out.stdout);
    c.file("bin/busybox", 0o755, &image);
    for dir in ["sbin", "usr", "usr/bin", "usr/sbin", "root"] {
        c.dir(dir);
    }
    for applet in list.lines().map(str::trim).filter(|l| !l.is_empty() && *l != "bin/busybox") {
        let depth = applet.matches('/').count();
        let target = format!("{}bin/busybox", "../".repeat(depth));
        c.symlink(applet, &target);
    }
    c.file("init", 0o755, INIT.as_bytes());
    c.file("etc/profile", 0o644, PROFILE.as_bytes());
    let motd = format!(
        "\nWelcome to the Rust kernel {} (Linux ABI). busybox sh: `exit` or `poweroff` ends QEMU.\n\n",
        env!("CARGO_PKG_VERSION")
    );
    c.file("etc/motd", 0o644, motd.as_bytes());
    Ok(())
}

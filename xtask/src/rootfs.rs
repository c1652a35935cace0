//! The default root filesystem of `cargo xtask qemu`: Debian's static
//! busybox with its applet links, and an /init that mounts /proc, /tmp and /dev
//! (and links /dev/fd, /dev/std{in,out,err} to /proc/self/fd as udev does),
//! brings up lo and eth0, prints the motd and starts a login shell in a session of its own with
//! the console as its controlling terminal (so job control works); when
//! the shell exits, init powers off (so `exit` or `poweroff` ends QEMU).

use crate::cpio::Cpio;
use crate::setup;
use std::process::Command;

const BUSYBOX: &str = "/bin/busybox";

const INIT: &str = r#"#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# what udev or an init's mountdevsubfs makes on Linux (devtmpfs has none)
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
# the network: lo, and eth0 when the machine has a NIC (the kernel gives it
# QEMU's user-network address, 10.0.2.15/24 via 10.0.2.2)
ifconfig lo up 2>/dev/null
ifconfig eth0 up 2>/dev/null
read up idle < /proc/uptime
cat /etc/motd
echo "$(uname -sr) on $(uname -m), booted in $up s"
echo
# The shell runs on the serial port's own device, not /dev/console (from
# which Linux never stops a background reader: no job control there), in a
# session of its own (setsid) with it as the controlling terminal (-c), as
# busybox's cttyhack would arrange.
setsid -c /bin/sh -l </dev/ttyS0 >/dev/ttyS0 2>&1
poweroff -f
"#;

/// The shell's profile: busybox's poweroff/reboot/halt signal a busybox
/// init, which this system does not run; `-f` makes them call reboot(2).
const PROFILE: &str = r#"export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PS1='\w # '
alias poweroff='poweroff -f'
alias reboot='reboot -f'
alias halt='halt -f'
"#;

/// The device nodes of `/dev`, the same for our kernel and Linux (which
/// mounts no devtmpfs over an initramfs): name, mode, major, minor.
const DEV_NODES: &[(&str, u32, u32, u32)] = &[
    ("dev/console", 0o600, 5, 1),
    ("dev/tty", 0o666, 5, 0),
    ("dev/ttyS0", 0o660, 4, 64),
    ("dev/null", 0o666, 1, 3),
    ("dev/zero", 0o666, 1, 5),
    ("dev/full", 0o666, 1, 7),
    ("dev/random", 0o666, 1, 8),
    ("dev/urandom", 0o666, 1, 9),
    ("dev/kmsg", 0o644, 1, 11),
];

/// Adds the `/dev` nodes (the `dev` directory exists already).
pub fn add_dev_nodes(c: &mut Cpio) {
    for &(name, mode, major, minor) in DEV_NODES {
        c.char_dev(name, mode, major, minor);
    }
    for &(name, target) in DEV_LINKS {
        c.symlink(name, target);
    }
}

/// The links of `/dev` that udev (or an init's mountdevsubfs) makes on
/// Linux: /dev/fd and the standard streams through /proc's magic links.
const DEV_LINKS: &[(&str, &str)] = &[
    ("dev/fd", "/proc/self/fd"),
    ("dev/stdin", "/proc/self/fd/0"),
    ("dev/stdout", "/proc/self/fd/1"),
    ("dev/stderr", "/proc/self/fd/2"),
];

/// Adds busybox (installed with apt-get when missing), its applet links,
/// /init, /etc/profile and /etc/motd.
pub fn add_busybox(c: &mut Cpio) -> Result<(), String> {
    setup::ensure_tools(&[("busybox", "busybox-static")])?;
    let image = std::fs::read(BUSYBOX).map_err(|e| format!("{BUSYBOX}: {e}"))?;
    let out =
        Command::new(BUSYBOX).arg("--list-full").output().map_err(|e| format!("busybox --list-full: {e}"))?;
    let list = String::from_utf8_lossy(&out.stdout);
    c.file("bin/busybox", 0o755, &image);
    add_dev_nodes(c);
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
    c.file("etc/passwd", 0o644, b"root:x:0:0:root:/root:/bin/sh\n");
    c.file("etc/group", 0o644, b"root:x:0:\n");
    // QEMU's user network: its DNS forwarder is 10.0.2.3
    c.file("etc/resolv.conf", 0o644, b"nameserver 10.0.2.3\n");
    c.file("etc/hosts", 0o644, b"127.0.0.1 localhost\n::1 localhost\n");
    c.dir("www");
    c.file(
        "www/index.html",
        0o644,
        b"<html><body>Hello from the Rust kernel's busybox httpd.</body></html>\n",
    );
    let motd = format!(
        "\nWelcome to the Rust kernel {} (Linux ABI). busybox sh: `exit` or `poweroff` ends QEMU.\n",
        env!("CARGO_PKG_VERSION")
    );
    c.file("etc/motd", 0o644, motd.as_bytes());
    Ok(())
}

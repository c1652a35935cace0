//! Debian's Linux kernel, the reference the user suite is checked against.
//!
//! The image is the package `linux-image-amd64` depends on (for Debian 12,
//! `linux-image-6.1.0-<abi>-amd64`), fetched with `apt-get download` into
//! `target/linux/`; only its `boot/vmlinuz-*` is unpacked (from
//! `dpkg-deb --fsys-tarfile`, without the 400 MB of modules). The vmlinuz is
//! kept there: later runs do nothing.
//!
//! Debian builds virtio_blk and ext4 as modules: [`MODULES`] (the disk
//! driver, ext4 — which mounts ext2 — and what they need) are unpacked from
//! the same package into `target/linux/modules/` and put in every Linux
//! initramfs by [`add_modules`]; the test images' /init loads them in name
//! order with finit_module(2) and makes /dev/vda (user/include/pid1.h).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The kernel command line: serial console, quiet, reboot (= QEMU exit with
/// `-no-reboot`) on panic, and our /init from the initramfs.
pub const CMDLINE: &str = "console=ttyS0 quiet panic=-1 rdinit=/init";

/// The modules a Linux guest needs for `/dev/vda`, `mount -t ext2` and
/// NETLINK_SOCK_DIAG (inet_diag, tcp_diag, udp_diag, unix_diag), in
/// load order (each after the ones its `depends=` names; crc32c_generic
/// before ext4, which asks the crypto API for "crc32c" at mount time), as
/// paths under `lib/modules/<version>/kernel/`. All are plain `.ko` in
/// Debian 12's package.
pub const MODULES: &[&str] = &[
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci.ko",
    "drivers/block/virtio_blk.ko",
    "lib/crc16.ko",
    "crypto/crc32c_generic.ko",
    "fs/mbcache.ko",
    "fs/jbd2/jbd2.ko",
    "fs/ext4/ext4.ko",
    // NETLINK_SOCK_DIAG's handlers (ss; user/tests/sock_diag.c)
    "net/ipv4/inet_diag.ko",
    "net/ipv4/tcp_diag.ko",
    "net/ipv4/udp_diag.ko",
    "net/unix/unix_diag.ko",
];

/// virtio-net and what it needs beyond [`MODULES`]' virtio chain, in load
/// order (`cargo xtask apt`: eth0 on Linux; not in the test images, whose
/// Linux runs have no NIC). Unpacked with [`MODULES`], loaded by the
/// guest's script (`insmod`) after the virtio chain, [`NET_CHAIN`].
pub const NET_MODULES: &[&str] =
    &["net/core/failover.ko", "drivers/net/net_failover.ko", "drivers/net/virtio_net.ko"];

/// How many of [`MODULES`]' first entries the NIC needs (virtio_ring ..
/// virtio_pci).
pub const NET_CHAIN: usize = 5;

/// Where the guest's /init finds the modules (user/include/pid1.h).
const GUEST_MODULE_DIR: &str = "lib/kt-modules";

fn module_file(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_string()
}

fn modules_cached(dir: &Path) -> bool {
    MODULES.iter().all(|m| std::fs::metadata(dir.join(module_file(m))).is_ok_and(|md| md.len() > 0))
}

/// `(file name, contents)` of the NIC's modules in load order: the virtio
/// chain of [`MODULES`] then [`NET_MODULES`], unpacked from Debian's kernel
/// package the first time (the same version as [`vmlinuz`]'s, which stays).
pub fn net_modules() -> Result<Vec<(String, Vec<u8>)>, String> {
    let dir = crate::target_dir().join("linux").join("modules");
    let names: Vec<&str> = MODULES[..NET_CHAIN].iter().chain(NET_MODULES).copied().collect();
    let have = |m: &&str| std::fs::metadata(dir.join(module_file(m))).is_ok_and(|md| md.len() > 0);
    if !names.iter().all(have) {
        fetch(true)?;
    }
    let mut out = Vec::new();
    for m in names {
        let f = module_file(m);
        let p = dir.join(&f);
        out.push((f, std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?));
    }
    Ok(out)
}

/// Adds [`MODULES`] to `c` as `lib/kt-modules/NN-name.ko` (NN = load order),
/// unpacking them from Debian's kernel package the first time.
pub fn add_modules(c: &mut crate::cpio::Cpio) -> Result<(), String> {
    let dir = crate::target_dir().join("linux").join("modules");
    if !modules_cached(&dir) {
        fetch(true)?;
    }
    c.dir("lib");
    c.dir(GUEST_MODULE_DIR);
    for (i, m) in MODULES.iter().enumerate() {
        let f = module_file(m);
        let p = dir.join(&f);
        let data = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        c.file(&format!("{GUEST_MODULE_DIR}/{i:02}-{f}"), 0o644, &data);
    }
    Ok(())
}

/// `initrd` with a second cpio archive of [`add_modules`]'s files appended
/// (the kernel unpacks concatenated archives), written to `out_name` under
/// the target directory.
pub fn with_modules(initrd: &Path, out_name: &str) -> Result<PathBuf, String> {
    let mut c = crate::cpio::Cpio::default();
    add_modules(&mut c)?;
    let mut image = std::fs::read(initrd).map_err(|e| format!("{}: {e}", initrd.display()))?;
    image.extend_from_slice(&c.finish());
    let out = crate::target_dir().join(out_name);
    std::fs::write(&out, image).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(out)
}

fn cached(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
        .collect();
    found.sort();
    found.pop()
}

/// `apt-cache depends linux-image-amd64` → `linux-image-6.1.0-…-amd64`.
fn image_package() -> Result<Option<String>, String> {
    let out = Command::new("apt-cache")
        .args(["depends", "linux-image-amd64"])
        .output()
        .map_err(|e| format!("apt-cache: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-") && !p.contains('<'))
        .map(str::to_string))
}

/// The path of Debian's vmlinuz, downloading and unpacking it the first time.
pub fn vmlinuz() -> Result<PathBuf, String> {
    let dir = crate::target_dir().join("linux");
    if let Some(v) = cached(&dir) {
        return Ok(v);
    }
    fetch(false)
}

/// Downloads the kernel package and unpacks its vmlinuz and [`MODULES`]
/// (into `target/linux/modules/`); `modules_only` keeps an existing vmlinuz.
fn fetch(modules_only: bool) -> Result<PathBuf, String> {
    let dir = crate::target_dir().join("linux");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let pkg = match image_package()? {
        Some(p) => p,
        None => {
            eprintln!("xtask: apt-cache knows no linux-image-amd64; running apt-get update");
            let ok = Command::new("apt-get").args(["update", "-qq"]).status().is_ok_and(|s| s.success());
            if !ok {
                return Err("apt-get update failed; run: sudo apt-get update".into());
            }
            image_package()?.ok_or(
                "apt-cache depends linux-image-amd64 names no linux-image package; \
                 check with: apt-cache depends linux-image-amd64",
            )?
        }
    };
    eprintln!("xtask: downloading Debian's {pkg} into {}", dir.display());
    let ok = Command::new("apt-get")
        .args(["download", "-q", &pkg])
        .current_dir(&dir)
        .status()
        .is_ok_and(|s| s.success());
    let deb = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|x| x == "deb")
                && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("{pkg}_")))
        });
    let Some(deb) = deb.filter(|_| ok) else {
        return Err(format!(
            "could not download the kernel; run: cd {} && apt-get download {pkg}",
            dir.display()
        ));
    };
    // dpkg-deb --fsys-tarfile DEB | tar -x -C DIR --wildcards './boot/vmlinuz-*' './lib/modules/*/kernel/M'...
    let unpack = dir.join("unpack");
    let _ = std::fs::remove_dir_all(&unpack);
    std::fs::create_dir_all(&unpack).map_err(|e| format!("{}: {e}", unpack.display()))?;
    let mut patterns = vec!["./boot/vmlinuz-*".to_string()];
    patterns.extend(MODULES.iter().chain(NET_MODULES).map(|m| format!("./lib/modules/*/kernel/{m}")));
    let hint = format!(
        "run: dpkg-deb --fsys-tarfile {} | tar -x -C {} --wildcards {}",
        deb.display(),
        unpack.display(),
        patterns.iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(" ")
    );
    let mut dpkg = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(&deb)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("dpkg-deb: {e}; {hint}"))?;
    let tar_in = dpkg.stdout.take().ok_or("dpkg-deb: no stdout")?;
    let tar_ok = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(&unpack)
        .arg("--wildcards")
        .args(&patterns)
        .stdin(tar_in)
        .status()
        .is_ok_and(|s| s.success());
    let dpkg_ok = dpkg.wait().is_ok_and(|s| s.success());
    if !tar_ok || !dpkg_ok {
        return Err(format!("unpacking {} failed; {hint}", deb.display()));
    }
    // the modules: lib/modules/<version>/kernel/M → target/linux/modules/
    let mods = dir.join("modules");
    std::fs::create_dir_all(&mods).map_err(|e| format!("{}: {e}", mods.display()))?;
    let versions = unpack.join("lib/modules");
    let version = std::fs::read_dir(&versions)
        .map_err(|e| format!("{}: {e}; {hint}", versions.display()))?
        .flatten()
        .map(|e| e.path())
        .next()
        .ok_or(format!("no lib/modules/<version> in {}; {hint}", deb.display()))?;
    for m in MODULES.iter().chain(NET_MODULES) {
        let from = version.join("kernel").join(m);
        let to = mods.join(module_file(m));
        std::fs::rename(&from, &to).map_err(|e| format!("{}: {e}; {hint}", from.display()))?;
    }
    let boot = unpack.join("boot");
    let image = std::fs::read_dir(&boot)
        .map_err(|e| format!("{}: {e}; {hint}", boot.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
        .ok_or(format!("no vmlinuz in {}; {hint}", deb.display()))?;
    let name = image.file_name().ok_or("vmlinuz without a name")?;
    let out = dir.join(name);
    if !(modules_only && cached(&dir).is_some()) {
        std::fs::rename(&image, &out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    let _ = std::fs::remove_dir_all(&unpack);
    let _ = std::fs::remove_file(&deb);
    eprintln!("xtask: Linux kernel {}", out.display());
    Ok(out)
}

//! Debian's Linux kernel, the reference the user suite is checked against.
//!
//! The image is the package `linux-image-amd64` depends on (for Debian 12,
//! `linux-image-6.1.0-<abi>-amd64`), fetched with `apt-get download` into
//! `target/linux/`; only its `boot/vmlinuz-*` is unpacked (from
//! `dpkg-deb --fsys-tarfile`, without the 400 MB of modules). The vmlinuz is
//! kept there: later runs do nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The kernel command line: serial console, quiet, reboot (= QEMU exit with
/// `-no-reboot`) on panic, and our /init from the initramfs.
pub const CMDLINE: &str = "console=ttyS0 quiet panic=-1 rdinit=/init";

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
    // dpkg-deb --fsys-tarfile DEB | tar -x -C DIR --wildcards './boot/vmlinuz-*'
    let unpack = dir.join("unpack");
    std::fs::create_dir_all(&unpack).map_err(|e| format!("{}: {e}", unpack.display()))?;
    let hint = format!(
        "run: dpkg-deb --fsys-tarfile {} | tar -x -C {} --wildcards './boot/vmlinuz-*'",
        deb.display(),
        unpack.display()
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
        .args(["--wildcards", "./boot/vmlinuz-*"])
        .stdin(tar_in)
        .status()
        .is_ok_and(|s| s.success());
    let dpkg_ok = dpkg.wait().is_ok_and(|s| s.success());
    if !tar_ok || !dpkg_ok {
        return Err(format!("unpacking {} failed; {hint}", deb.display()));
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
    std::fs::rename(&image, &out).map_err(|e| format!("{}: {e}", out.display()))?;
    let _ = std::fs::remove_dir_all(&unpack);
    let _ = std::fs::remove_file(&deb);
    eprintln!("xtask: Linux kernel {}", out.display());
    Ok(out)
}

//! Debian's dynamically linked programs as test data for the user suite:
//! coreutils' `ls`, perl-base's `perl` and `sqlite3`, with glibc's `ld.so` and the
//! libraries they need, and musl's `ld-musl` (for a musl-gcc dynamic
//! program). The packages are fetched as Debian's kernel is
//! ([`crate::linux`]): `apt-get download` into `target/debian/debs/`, then
//! `dpkg -x` into `target/debian/<package>/`; an unpacked package is reused
//! without the network. Only the files listed in [`FILES`] go into the
//! initramfs, at their Debian paths (merged /usr: `ls` at `/usr/bin/ls`,
//! so busybox keeps `/bin`).

use crate::cpio::Cpio;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The packages, in the order they are fetched.
pub const PACKAGES: &[&str] = &[
    "libc6",
    "libselinux1",
    "libpcre2-8-0",
    "libcrypt1",
    "coreutils",
    "perl-base",
    "musl",
    "sqlite3",
    "libsqlite3-0",
    "libreadline8",
    "libtinfo6",
    "zlib1g",
];

/// `(path in the initramfs, package, path in the package)`: a symlink in
/// the package is followed inside the unpacked package.
pub const FILES: &[(&str, &str, &str)] = &[
    ("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "libc6", "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
    ("lib/x86_64-linux-gnu/libc.so.6", "libc6", "lib/x86_64-linux-gnu/libc.so.6"),
    ("lib/x86_64-linux-gnu/libm.so.6", "libc6", "lib/x86_64-linux-gnu/libm.so.6"),
    ("lib/x86_64-linux-gnu/libselinux.so.1", "libselinux1", "lib/x86_64-linux-gnu/libselinux.so.1"),
    ("lib/x86_64-linux-gnu/libcrypt.so.1", "libcrypt1", "lib/x86_64-linux-gnu/libcrypt.so.1"),
    ("usr/lib/x86_64-linux-gnu/libpcre2-8.so.0", "libpcre2-8-0", "usr/lib/x86_64-linux-gnu/libpcre2-8.so.0"),
    ("usr/bin/ls", "coreutils", "bin/ls"),
    ("usr/bin/perl", "perl-base", "usr/bin/perl"),
    ("lib/ld-musl-x86_64.so.1", "musl", "lib/x86_64-linux-musl/libc.so"),
    ("usr/bin/sqlite3", "sqlite3", "usr/bin/sqlite3"),
    ("usr/lib/x86_64-linux-gnu/libsqlite3.so.0", "libsqlite3-0", "usr/lib/x86_64-linux-gnu/libsqlite3.so.0"),
    ("lib/x86_64-linux-gnu/libreadline.so.8", "libreadline8", "lib/x86_64-linux-gnu/libreadline.so.8"),
    ("lib/x86_64-linux-gnu/libtinfo.so.6", "libtinfo6", "lib/x86_64-linux-gnu/libtinfo.so.6"),
    ("lib/x86_64-linux-gnu/libz.so.1", "zlib1g", "lib/x86_64-linux-gnu/libz.so.1"),
];

/// The files of [`FILES`] that `cargo xtask bench` needs: Debian's `ls`
/// (fork_exec_ls) and `sqlite3` (sqlite_insert), with ld.so and their
/// libraries.
pub const BENCH_FILES: &[&str] = &[
    "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    "lib/x86_64-linux-gnu/libc.so.6",
    "lib/x86_64-linux-gnu/libm.so.6",
    "lib/x86_64-linux-gnu/libselinux.so.1",
    "usr/lib/x86_64-linux-gnu/libpcre2-8.so.0",
    "usr/bin/ls",
    "usr/bin/sqlite3",
    "usr/lib/x86_64-linux-gnu/libsqlite3.so.0",
    "lib/x86_64-linux-gnu/libreadline.so.8",
    "lib/x86_64-linux-gnu/libtinfo.so.6",
    "lib/x86_64-linux-gnu/libz.so.1",
];

/// Symlinks as Debian has them: `(path, target)`.
pub const LINKS: &[(&str, &str)] =
    &[("lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")];

fn dir() -> PathBuf {
    crate::target_dir().join("debian")
}

/// Downloads and unpacks `pkg` unless it is unpacked already; returns its
/// directory.
pub(crate) fn unpacked(pkg: &str) -> Result<PathBuf, String> {
    let out = dir().join(pkg);
    let done = out.join(".unpacked");
    if done.exists() {
        return Ok(out);
    }
    let debs = dir().join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    let find = || {
        std::fs::read_dir(&debs).ok()?.flatten().map(|e| e.path()).find(|p| {
            p.extension().is_some_and(|x| x == "deb")
                && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("{pkg}_")))
        })
    };
    let deb = match find() {
        Some(d) => d,
        None => {
            eprintln!("xtask: downloading Debian's {pkg} into {}", debs.display());
            let download = || {
                Command::new("apt-get")
                    .args(["download", "-q", pkg])
                    .current_dir(&debs)
                    .status()
                    .is_ok_and(|s| s.success())
            };
            let mut ok = download();
            if !ok {
                // a fresh machine may have no package lists yet
                eprintln!("xtask: apt-get download {pkg} failed; running apt-get update and trying again");
                let updated =
                    Command::new("apt-get").args(["update", "-qq"]).status().is_ok_and(|s| s.success());
                ok = updated && download();
            }
            find().filter(|_| ok).ok_or(format!(
                "could not download Debian's package {pkg}; \
                 run: cd {} && apt-get download {pkg}",
                debs.display()
            ))?
        }
    };
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let ok = Command::new("dpkg").arg("-x").arg(&deb).arg(&out).status().is_ok_and(|s| s.success());
    if !ok {
        return Err(format!("unpacking {pkg} failed; run: dpkg -x {} {}", deb.display(), out.display()));
    }
    std::fs::write(&done, b"").map_err(|e| format!("{}: {e}", done.display()))?;
    Ok(out)
}

/// Follows symlinks inside the unpacked package `root` (an absolute
/// target is taken from `root`), at most 16 times.
fn resolve(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let mut path = root.join(rel);
    for _ in 0..16 {
        match std::fs::read_link(&path) {
            Ok(target) => {
                path = if target.is_absolute() {
                    root.join(target.strip_prefix("/").map_err(|e| e.to_string())?)
                } else {
                    path.parent().ok_or("a link without a parent")?.join(target)
                };
            }
            Err(_) => return Ok(path),
        }
    }
    Err(format!("{}: too many levels of symbolic links", root.join(rel).display()))
}

/// Fetches the packages (once) and returns `(guest path, host file)` for
/// each file of [`FILES`].
pub fn files() -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    for pkg in PACKAGES {
        let root = unpacked(pkg)?;
        for (guest, _, rel) in FILES.iter().filter(|f| f.1 == *pkg) {
            let host = resolve(&root, rel)?;
            if !host.is_file() {
                return Err(format!("Debian's {pkg} has no {rel} (looked at {})", host.display()));
            }
            out.push((guest.to_string(), host));
        }
    }
    Ok(out)
}

/// Adds the files with their directories and the links to `c` (whose
/// `bin`, `dev`, `etc`, `proc` and `tmp` exist already).
pub fn add_to_initramfs(c: &mut Cpio, files: &[(String, PathBuf)]) -> Result<(), String> {
    let mut dirs: Vec<String> = Vec::new();
    let paths = files.iter().map(|(g, _)| g.as_str()).chain(LINKS.iter().map(|l| l.0));
    for guest in paths {
        let mut d = String::new();
        let parts: Vec<&str> = guest.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            d = if d.is_empty() { part.to_string() } else { format!("{d}/{part}") };
            if !dirs.contains(&d) && d != "bin" {
                c.dir(&d);
                dirs.push(d.clone());
            }
        }
    }
    for (guest, host) in files {
        let data = std::fs::read(host).map_err(|e| format!("{}: {e}", host.display()))?;
        c.file(guest, 0o755, &data);
    }
    for (path, target) in LINKS {
        c.symlink(path, target);
    }
    Ok(())
}

/// Downloads in one `apt-get download` call every package of `pkgs` that
/// has no `.deb` in `target/debian/debs/` yet (a cached download is reused
/// without the network); [`unpacked`] then names a package that is still
/// missing.
pub(crate) fn download_missing(pkgs: &[String]) -> Result<(), String> {
    let debs = dir().join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    let have: Vec<String> = std::fs::read_dir(&debs)
        .map_err(|e| format!("{}: {e}", debs.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let missing: Vec<&String> = pkgs
        .iter()
        .filter(|p| !dir().join(p).join(".unpacked").exists())
        .filter(|p| !have.iter().any(|h| h.starts_with(&format!("{p}_")) && h.ends_with(".deb")))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: downloading {} Debian packages into {}", missing.len(), debs.display());
    // a failure here is reported per package by `unpacked`
    let _ = Command::new("apt-get").args(["download", "-q"]).args(&missing).current_dir(&debs).status();
    Ok(())
}

/// The fields of `apt-cache show --no-all-versions` for `names`: the
/// package name and its `Pre-Depends` and `Depends` joined. A purely virtual
/// name has no record.
fn show(names: &[String]) -> Result<Vec<(String, String)>, String> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let out = Command::new("apt-cache")
        .args(["show", "--no-all-versions"])
        .args(names)
        .output()
        .map_err(|e| format!("apt-cache: {e}"))?;
    // a name apt does not know is "E: No packages found"; any other error
    // (a cache that cannot be rebuilt: a full disk, a concurrent apt-get
    // update) would silently drop dependencies
    let err = String::from_utf8_lossy(&out.stderr);
    if let Some(e) = err.lines().find(|l| l.starts_with("E: ") && !l.contains("No packages found")) {
        return Err(format!("apt-cache show {}: {e}", names.join(" ")));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut records = Vec::new();
    for rec in text.split("\n\n") {
        let mut name = None;
        let mut deps = Vec::new();
        for line in rec.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("Depends: ").or(line.strip_prefix("Pre-Depends: ")) {
                deps.push(v.trim().to_string());
            }
        }
        if let Some(n) = name {
            records.push((n, deps.join(", ")));
        }
    }
    Ok(records)
}

/// `roots` and everything they `Depends`/`Pre-Depends` on, in the order
/// found (breadth first). Of alternatives `a | b` the first that is a real
/// package is taken (and nothing is taken when one of them is already in);
/// a group of only virtual names is skipped with a note; `:any` and
/// version constraints are dropped. A root that apt does not know stops
/// with a message naming it.
pub fn resolve_depends(roots: &[&str]) -> Result<Vec<String>, String> {
    let roots: Vec<String> = roots.iter().map(|s| s.to_string()).collect();
    let known = show(&roots)?;
    if let Some(r) = roots.iter().find(|r| !known.iter().any(|k| &k.0 == *r)) {
        return Err(format!(
            "Debian has no package {r} (apt-cache show {r} finds nothing; is apt-get update done?)"
        ));
    }
    let mut all: Vec<String> = Vec::new();
    let mut level = roots;
    while !level.is_empty() {
        let recs = show(&level)?;
        let mut groups = Vec::new();
        for name in &level {
            if all.contains(name) {
                continue;
            }
            all.push(name.clone());
            if let Some((_, d)) = recs.iter().find(|r| &r.0 == name) {
                groups.extend(d.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string));
            }
        }
        let mut next: Vec<String> = Vec::new();
        for g in groups {
            let alts: Vec<String> = g
                .split('|')
                .map(|a| a.split_whitespace().next().unwrap_or("").trim_end_matches(":any").to_string())
                .filter(|a| !a.is_empty())
                .collect();
            if alts.iter().any(|a| all.contains(a) || next.contains(a)) {
                continue;
            }
            let real = show(&alts)?;
            match alts.iter().find(|a| real.iter().any(|r| &r.0 == *a)) {
                Some(a) => next.push(a.clone()),
                None => eprintln!("xtask: skipping the virtual dependency {g}"),
            }
        }
        level = next;
    }
    Ok(all)
}

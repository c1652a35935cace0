//! The developer's Debian system and its campaign (not in CI: long).
//!
//! `cargo xtask rootfs --debian-dev` builds `target/initramfs-debian-dev.cpio`:
//! the Debian system of [`crate::debsys`] plus [`DEV_PACKAGES`] (gcc,
//! libc6-dev, make, binutils, git, tar, xz-utils, bzip2, patch, file,
//! dpkg, the full python3 with venv, pkg-config) and everything they depend
//! on, fetched and resolved the same way (`apt-get download` + `dpkg -x`,
//! cached under `target/debian/`), with the dpkg database dpkg's own
//! installation would leave (`/var/lib/dpkg/status`, `info/*.list`). It is
//! an initramfs (about 700 MiB; QEMU gets [`MEMORY`]), so that Debian's
//! Linux, whose virtio_blk and ext4 are modules, boots it as it is.
//! `cargo xtask qemu --debian-dev [--linux]` boots it with the login shell.
//!
//! `cargo xtask devsys [--linux | --ours] [--smp N] [--memory SIZE] [--timeout SECS]`
//! boots it on both kernels at once (or on one) with `user/debian/devsys/dev.sh` as `/usr/local/lib/autorun.sh`
//! (run by the system's /init instead of the login shell): gcc at -O2,
//! -pthread, a shared library and dlopen, a static binary; a 13-file
//! project built by `make -j2`, cleaned and rebuilt; git
//! init/add/commit/branch/merge/gc/fsck/clone over 300 files; tar
//! czf/cJf/cjf round trips checked by cmp; `dpkg-deb --build` and `dpkg
//! -i`/`-L`/`-r`; diff/patch; compileall and a venv; `file` on binaries.
//! The script prints only deterministic lines; the part between its
//! first `=== step` and `=== devsys done` is kept in
//! `target/devsys/ours.out` or `linux.out` (the whole console in
//! `ours.log`/`linux.log`), and when both sides exist the command prints
//! their `diff -u` (Linux first) and each step's status on both.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

/// What a developer adds to [`crate::debsys::PACKAGES`]. `zlib1g-dev` gives
/// pkg-config a `.pc` to find and gcc a header beyond libc's.
pub const DEV_PACKAGES: &[&str] = &[
    "gcc",
    "libc6-dev",
    "make",
    "binutils",
    "git",
    "tar",
    "xz-utils",
    "bzip2",
    "patch",
    "file",
    "dpkg",
    "python3",
    "python3-venv",
    "pkg-config",
    "zlib1g-dev",
];

/// QEMU's memory for the developer's system unless `--memory` is given:
/// the initramfs and its unpacked copy take about 1.4 GiB.
pub const MEMORY: &str = "3G";

/// The guest path of the script /init runs (user/debian/init.c).
const AUTORUN: &str = "usr/local/lib/autorun.sh";

/// The packages asked for: the Debian system's and [`DEV_PACKAGES`].
pub fn roots() -> Vec<&'static str> {
    crate::debsys::PACKAGES.iter().chain(DEV_PACKAGES).copied().collect()
}

/// Builds `target/initramfs-debian-dev.cpio`.
pub fn build_initramfs() -> Result<PathBuf, String> {
    Ok(crate::debsys::build_image(&roots(), &[], "initramfs-debian-dev", false)?.path)
}

struct Opts {
    /// Which kernels: Linux, ours.
    sides: (bool, bool),
    smp: u32,
    memory: String,
    timeout: u64,
    release: bool,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts { sides: (true, true), smp: 2, memory: MEMORY.into(), timeout: 3600, release: false };
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
            "--memory" => o.memory = it.next().ok_or("--memory takes a size such as 3G")?.clone(),
            "--timeout" => {
                o.timeout = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n >= 60)
                    .ok_or("--timeout takes seconds (at least 60)")?
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

/// The script's output: from its first step to its last line (what the
/// console shows before, the boot, differs between the kernels).
fn transcript(log: &str) -> String {
    let mut out = String::new();
    let mut on = false;
    for line in log.lines() {
        if line.starts_with("=== step ") {
            on = true;
        }
        if on {
            out.push_str(line);
            out.push('\n');
        }
        if line.starts_with("=== devsys done") {
            break;
        }
    }
    out
}

/// `(step, status)` of each `=== status NAME N` line.
fn statuses(t: &str) -> Vec<(String, String)> {
    t.lines()
        .filter_map(|l| l.strip_prefix("=== status "))
        .filter_map(|r| r.split_once(' '))
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect()
}

/// Boots `q` and keeps its console (`SIDE.log`) and the script's output
/// (`SIDE.out`) under `dir`; true when the script reached its end.
fn one_side(q: &crate::qemu::Qemu, side: &str, dir: &std::path::Path, timeout: u64) -> Result<bool, String> {
    eprintln!("xtask: devsys on {side} ({} CPUs, {})", q.smp, q.memory);
    let wall = std::time::Instant::now();
    let out = q.run_captured(Duration::from_secs(timeout), false)?;
    let log = dir.join(format!("{side}.log"));
    std::fs::write(&log, &out.output).map_err(|e| format!("{}: {e}", log.display()))?;
    let t = transcript(&out.output);
    let path = dir.join(format!("{side}.out"));
    std::fs::write(&path, &t).map_err(|e| format!("{}: {e}", path.display()))?;
    let done = t.contains("=== devsys done");
    println!(
        "xtask: devsys on {side}: {:.0} s wall, {} ({}); the console in {}",
        wall.elapsed().as_secs_f64(),
        if done {
            "finished"
        } else if out.timed_out {
            "timed out"
        } else {
            "stopped before the end"
        },
        path.display(),
        log.display()
    );
    Ok(done)
}

fn run(o: &Opts) -> Result<bool, String> {
    crate::setup::ensure_tools(&[("qemu-system-x86_64", "qemu-system-x86")])?;
    let dir = crate::target_dir().join("devsys");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let script = crate::root().join("user/debian/devsys/dev.sh");
    // one image for both kernels, removed once they are done
    let name = format!("initramfs-devsys-{}", std::process::id());
    let img = crate::debsys::build_image(&roots(), &[(AUTORUN.into(), script)], &name, false)?;
    let mut jobs = Vec::new();
    if o.sides.0 {
        jobs.push(("linux", crate::linux::vmlinuz()?, crate::linux::CMDLINE));
    }
    if o.sides.1 {
        jobs.push(("ours", crate::build_kernel(o.release)?, crate::debsys::CMDLINE));
    }
    let results: Vec<Result<bool, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(side, kernel, cmdline)| {
                let q =
                    crate::qemu::Qemu::boot(kernel, Some(img.path.clone()), cmdline, o.smp, o.memory.clone());
                let dir = dir.clone();
                s.spawn(move || one_side(&q, side, &dir, o.timeout))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a QEMU thread panicked".into())))
            .collect()
    });
    let _ = std::fs::remove_file(&img.path);
    let mut done = true;
    for r in results {
        done &= r?;
    }
    let (l, r) = (dir.join("linux.out"), dir.join("ours.out"));
    let mut same = true;
    if l.exists() && r.exists() {
        let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let (lt, ot) = (read(&l), read(&r));
        let (ls, os) = (statuses(&lt), statuses(&ot));
        println!("xtask: devsys: step: Linux's status | ours");
        for (n, s) in &ls {
            let ours = os.iter().find(|x| &x.0 == n).map_or("-", |x| x.1.as_str());
            println!("  {n}: {s} | {ours}");
        }
        let d = Command::new("diff").arg("-u").arg(&l).arg(&r).output().map_err(|e| format!("diff: {e}"))?;
        same = d.status.success();
        if same {
            println!("xtask: devsys: the outputs are the same on both kernels");
        } else {
            println!("xtask: devsys: the outputs differ (diff -u linux.out ours.out):");
            print!("{}", String::from_utf8_lossy(&d.stdout));
        }
    }
    Ok(done && same)
}

/// `cargo xtask devsys ...`.
pub fn main(args: &[String]) -> ExitCode {
    match parse(args).and_then(|o| run(&o)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: devsys: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{statuses, transcript};

    #[test]
    fn transcript_from_first_step_to_done() {
        let log = "boot\nbanner\n=== step a\nx\n=== status a 0\n=== devsys done\npower off\n";
        let t = transcript(log);
        assert_eq!(t, "=== step a\nx\n=== status a 0\n=== devsys done\n");
        assert_eq!(statuses(&t), vec![("a".to_string(), "0".to_string())]);
    }
}

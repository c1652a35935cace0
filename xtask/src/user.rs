//! The user-space conformance suite: `user/init.c` and `user/tests/*.c`,
//! built with `musl-gcc -static -O2 -Iuser/include` into `target/user/`,
//! and the runner that counts their `PASS`/`FAIL` lines.
//!
//! The suite runs on whichever kernel the [`Qemu`] boots, as long as the
//! initramfs comes from `build_initramfs(true)` and the kernel runs `/init`:
//! [`run_user_suite`] is the one call for Linux (`cargo xtask test --linux`)
//! and, once it can run user programs, for our kernel.

use crate::Tally;
use crate::qemu::Qemu;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// The C compilers (gcc for the glibc programs of `user/dynamic/`) and
/// busybox (the suite's `/bin/busybox`), with their Debian packages.
pub const USER_TOOLS: &[(&str, &str)] =
    &[("musl-gcc", "musl-tools"), ("gcc", "gcc"), ("busybox", "busybox-static")];

/// Debian's static busybox (busybox-static, linked against glibc), copied
/// into the suite's initramfs as `/bin/busybox`.
const BUSYBOX: &str = "/bin/busybox";

/// The applets the suite's scripts use, linked to `/bin/busybox` in `/bin`
/// (see `user/tests/busybox_sh.c`).
const BUSYBOX_APPLETS: &[&str] = &["sh", "ls", "cat", "sort", "wc", "seq", "test", "echo"];

/// How long one boot of the whole suite may take (each test has its own
/// 30 s timeout inside, 120 s for init.c's few slow programs, enforced by
/// /init; a loaded host's 1-CPU run took up to ~500 s).
const SUITE_TIMEOUT: Duration = Duration::from_secs(900);

/// The built programs.
pub struct UserBuild {
    /// `target/user/init`.
    pub init: PathBuf,
    /// `(name, path)` of each test, in name order: `target/user/tests/<name>`.
    pub tests: Vec<(String, PathBuf)>,
    /// Debian's static busybox.
    pub busybox: PathBuf,
    /// Dynamically linked programs and what they need, `(path in the
    /// initramfs, host file)`: `user/dynamic/*.c` built with gcc (glibc)
    /// and musl-gcc without `-static` into `/usr/local/bin/NAME-glibc` and
    /// `NAME-musl`, and Debian's files ([`crate::debian`]).
    pub dynamic: Vec<(String, PathBuf)>,
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The newest modification time among the files `src` includes with
/// `#include "name"` from its own directory (e.g. `fuzz2.c` includes `fuzz.c`).
fn local_includes_time(src: &Path) -> Option<SystemTime> {
    let text = std::fs::read_to_string(src).ok()?;
    let dir = src.parent()?;
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("#include \""))
        .filter_map(|rest| rest.split('"').next())
        .filter_map(|name| mtime(&dir.join(name)))
        .max()
}

/// Compiles `src` to `out` unless `out` is newer than `src`, the header and
/// the files `src` includes from its own directory.
pub(crate) fn compile(
    src: &Path,
    out: &Path,
    include: &Path,
    header_time: Option<SystemTime>,
) -> Result<(), String> {
    compile_with("musl-gcc", &["-static"], src, out, include, header_time)
}

/// [`compile`] with another compiler (`gcc` for glibc) and flags.
fn compile_with(
    cc: &str,
    flags: &[&str],
    src: &Path,
    out: &Path,
    include: &Path,
    header_time: Option<SystemTime>,
) -> Result<(), String> {
    let deps_time = header_time.max(local_includes_time(src));
    if let (Some(o), Some(s)) = (mtime(out), mtime(src))
        && o > s
        && deps_time.is_none_or(|h| o > h)
    {
        return Ok(());
    }
    let mut c = Command::new(cc);
    c.args(flags);
    c.args(["-O2", "-Wall", "-Wextra", "-Wno-unused-function", "-Wno-unused-variable"]);
    c.arg("-I").arg(include).arg("-o").arg(out).arg(src);
    run_cc(&mut c, src, "musl-tools gcc libc6-dev")
}

/// Runs the compiler command `c` that builds `src`: its diagnostics go
/// to stderr; an error names the command when it fails, or the packages
/// (`install`) when the compiler cannot start.
pub fn run_cc(c: &mut Command, src: &Path, install: &str) -> Result<(), String> {
    let cc = c.get_program().to_string_lossy().into_owned();
    let output = c.output().map_err(|e| format!("{cc}: {e}; run: apt-get install {install}"))?;
    let diag = String::from_utf8_lossy(&output.stderr);
    if !diag.trim().is_empty() {
        eprint!("{diag}");
    }
    if !output.status.success() {
        return Err(format!("compiling {} failed; run: {c:?}", src.display()));
    }
    Ok(())
}

/// Builds `user/init.c` and every `user/tests/*.c` (installing musl-tools
/// when missing).
pub fn build() -> Result<UserBuild, String> {
    crate::setup::ensure_tools(USER_TOOLS)?;
    let user = crate::root().join("user");
    let include = user.join("include");
    let header_time = std::fs::read_dir(&include)
        .map_err(|e| format!("{}: {e}", include.display()))?
        .flatten()
        .filter_map(|e| mtime(&e.path()))
        .max();
    let out_dir = crate::target_dir().join("user");
    let test_out = out_dir.join("tests");
    std::fs::create_dir_all(&test_out).map_err(|e| format!("{}: {e}", test_out.display()))?;

    let init = out_dir.join("init");
    compile(&user.join("init.c"), &init, &include, header_time)?;

    let test_src = user.join("tests");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&test_src)
        .map_err(|e| format!("{}: {e}", test_src.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    let mut tests = Vec::new();
    for src in sources {
        let Some(name) = src.file_stem().map(|s| s.to_string_lossy().into_owned()) else { continue };
        let out = test_out.join(&name);
        compile(&src, &out, &include, header_time)?;
        tests.push((name, out));
    }
    // drop binaries whose source is gone, so the initramfs holds only the suite
    if let Ok(entries) = std::fs::read_dir(&test_out) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !tests.iter().any(|(n, _)| *n == name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    // Dynamic programs: glibc's (gcc) and musl's (musl-gcc), PIE as the
    // compilers make them by default.
    let dyn_src = user.join("dynamic");
    let dyn_out = out_dir.join("dynamic");
    std::fs::create_dir_all(&dyn_out).map_err(|e| format!("{}: {e}", dyn_out.display()))?;
    let mut dynamic = Vec::new();
    let mut dyn_sources: Vec<PathBuf> = std::fs::read_dir(&dyn_src)
        .map_err(|e| format!("{}: {e}", dyn_src.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    dyn_sources.sort();
    for src in dyn_sources {
        let Some(name) = src.file_stem().map(|s| s.to_string_lossy().into_owned()) else { continue };
        for (cc, libc) in [("gcc", "glibc"), ("musl-gcc", "musl")] {
            let out = dyn_out.join(format!("{name}-{libc}"));
            compile_with(cc, &[], &src, &out, &include, header_time)?;
            dynamic.push((format!("usr/local/bin/{name}-{libc}"), out));
        }
    }
    dynamic.extend(crate::debian::files()?);
    eprintln!("xtask: built /init and {} tests into {}", tests.len(), out_dir.display());
    Ok(UserBuild { init, tests, busybox: PathBuf::from(BUSYBOX), dynamic })
}

/// Adds `/init`, `/tests/*`, `/bin/busybox` with its applet links, the
/// dynamic programs with Debian's libraries, and the `/dev` nodes to an initramfs (whose `bin` and `dev` directories exist
/// already).
pub fn add_to_initramfs(c: &mut crate::cpio::Cpio, b: &UserBuild) -> Result<(), String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    crate::rootfs::add_dev_nodes(c);
    c.file("bin/busybox", 0o755, &read(&b.busybox)?);
    for applet in BUSYBOX_APPLETS {
        c.symlink(&format!("bin/{applet}"), "busybox");
    }
    c.file("init", 0o755, &read(&b.init)?);
    // the image ext2_mount.c copies onto the disk
    c.file("ext2.img", 0o644, &crate::disk::suite_ext2_image()?);
    c.dir("tests");
    for (name, path) in &b.tests {
        c.file(&format!("tests/{name}"), 0o755, &read(path)?);
    }
    crate::debian::add_to_initramfs(c, &b.dynamic)
}

/// Per test program: cases passed and failed.
#[derive(Default)]
struct FileCount {
    name: String,
    passed: usize,
    failed: usize,
}

/// Boots `q` (whose initramfs holds the suite and whose kernel runs /init),
/// counts every `PASS`/`FAIL` line into `t`, and requires `init: done`.
pub fn run_user_suite(q: &Qemu, t: &mut Tally) -> Result<(), String> {
    let wall = Instant::now();
    let o = q.run_captured(SUITE_TIMEOUT, true)?;
    let secs = wall.elapsed().as_secs_f64();
    let mut files: Vec<FileCount> = Vec::new();
    let mut done = false;
    let mut count = |file: &str, pass: bool| {
        let i = match files.iter().position(|f| f.name == file) {
            Some(i) => i,
            None => {
                files.push(FileCount { name: file.to_string(), ..FileCount::default() });
                files.len() - 1
            }
        };
        if pass {
            files[i].passed += 1;
        } else {
            files[i].failed += 1;
        }
    };
    for line in o.output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("PASS ") {
            t.passed += 1;
            count(rest.split(':').next().unwrap_or(rest), true);
        } else if let Some(rest) = line.strip_prefix("FAIL ") {
            t.failed += 1;
            t.failures.push(format!("user: {rest}"));
            count(rest.split(':').next().unwrap_or(rest), false);
        } else if line == "init: done" {
            done = true;
        } else if let Some(at) = line.find("lock order: ") {
            // kernel-bin's debug-build lock-order checker (lockorder.rs)
            t.failed += 1;
            t.failures.push(format!("kernel: {}", &line[at..]));
        }
    }
    println!();
    for f in &files {
        println!("xtask: user {:<16} {:>3} passed, {} failed", f.name, f.passed, f.failed);
    }
    println!("xtask: the user suite took {secs:.1} s of wall time");
    if !done {
        let why = if o.timed_out {
            format!("timed out after {SUITE_TIMEOUT:?}")
        } else {
            format!("QEMU exited with status {:?}", o.status)
        };
        t.failed += 1;
        t.failures.push(format!("user: /init did not print `init: done` ({why})"));
    } else if o.status != Some(0) {
        t.failed += 1;
        t.failures.push(format!("user: no clean power-off after `init: done` (QEMU status {:?})", o.status));
    }
    Ok(())
}

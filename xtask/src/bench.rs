//! `cargo xtask bench [--rounds N] [--icount] [--only A,B] [--ours] [--kernel
//! ELF]`: the micro-benchmarks of `user/bench/` on our kernel and on Debian's
//! Linux (the kernel of `cargo xtask test --linux`), in the same QEMU
//! machine, alternating the two kernels over N rounds (default 3).
//! `--icount` makes the guest's clocks count instructions (a code-path
//! length measure the host's load does not disturb), `--only` runs only the
//! named benchmarks, `--ours` skips Linux, `--kernel` benchmarks a kernel ELF
//! built elsewhere (another commit) instead of building ours.
//!
//! `user/bench/init.c` is the initramfs's `/init`, `user/bench/tiny.c` is
//! `/bin/tiny` (the program `fork_exec_wait` executes) and every other
//! `user/bench/*.c` is a benchmark, `/bench/<name>`, built with
//! `musl-gcc -static -O2 -Wall -Wextra` into `target/bench-user/`. Each
//! prints `BENCH <name> <ns per operation>` (or `BENCHFAIL <name>: why`);
//! `/init` adds the boot times. The table shows, per benchmark, the median
//! of the rounds on each kernel, the ratio ours/Linux and the spread
//! (max − min) / median; the same goes to `target/bench/latest.json` and a
//! timestamped copy, and each boot's console output to `target/bench/logs/`.
//!
//! Two more rows, `python3_c_pass` and `bash_c_true`, come from a boot of
//! its own per round and kernel: the Debian system of `cargo xtask qemu
//! --debian` (fetched like `cargo xtask test` fetches it, 1G of memory) with
//! `user/bench/debian/init.c` as its `/init`, which times the start-up of
//! Debian's `python3 -c pass` and `bash -c true`.
//! See docs/bench.md.

use crate::cpio::Cpio;
use crate::qemu::Qemu;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long one boot running every benchmark may take (each benchmark has
/// its own 30 s timeout inside, enforced by /init).
const BOOT_TIMEOUT: Duration = Duration::from_secs(480);

/// Rows that `/init` measures itself, before the programs in `/bench`.
const BOOT_ROWS: &[&str] = &["boot_to_init", "boot_tsc_to_init"];

/// The programs (and rows) measured with 1 and with 2 guest CPUs: their
/// rows are named `<row>_<N>cpu` after the boot's CPU count, and a boot
/// of their own at the other count gives the pair (the speed-up table).
const SMP_PREFIX: &str = "smp_";

/// The speed-up a 2-CPU row should reach over its 1-CPU row (issue 19):
/// two CPU-bound processes 1.8x, two pipe ping-pong pairs 1.6x, the
/// fork/exec churn none; the other rows may be at most 10 % slower (a
/// speed-up of 1 / 1.1).
fn smp_goal(row: &str) -> Option<f64> {
    match row {
        "smp_cpu_bound" => Some(1.8),
        "smp_pipe_pairs" => Some(1.6),
        "smp_fork_exec" => None,
        _ => Some(1.0 / 1.1),
    }
}

/// The programs of `user/bench/` that are not benchmarks.
const INIT: &str = "init";
const TINY: &str = "tiny";

/// The rows of the Debian boot (`user/bench/debian/init.c`).
const DEBIAN_ROWS: &[&str] = &["python3_c_pass", "bash_c_true"];

/// The programs that print rows not named after themselves.
const MULTI_ROWS: &[(&str, &[&str])] = &[
    ("disk_ext2", &["disk_write_64m_fsync", "disk_read_64m"]),
    ("disk_files", &["disk_create_unlink_10k"]),
    ("disk_tar", &["disk_tar_x_tree"]),
];

/// The rows the program `name` prints.
fn rows_of(name: &str) -> Vec<&str> {
    MULTI_ROWS.iter().find(|(p, _)| *p == name).map_or(vec![name], |(_, rows)| rows.to_vec())
}

/// The programs of `user/bench/` that `--only`'s row names ask for: a
/// row another program prints (`disk_read_64m`: `disk_ext2`) by that
/// program's name; the boot rows (measured by `/init` in every boot) by
/// none.
fn programs_for<'a>(rows: &[&'a String]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for r in rows.iter().map(|r| r.as_str()).filter(|r| !BOOT_ROWS.contains(r)) {
        let p = MULTI_ROWS.iter().find(|(_, printed)| printed.contains(&r)).map_or(r, |(p, _)| *p);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// The two kernels, in the order of the table's columns.
const KERNELS: [&str; 2] = ["ours", "linux"];

#[derive(Clone)]
struct BenchBuild {
    init: PathBuf,
    tiny: PathBuf,
    /// `(name, path)` in name order.
    benches: Vec<(String, PathBuf)>,
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Compiles `src` to `out` unless `out` is newer than `src` and the headers
/// (`user/bench/*.h`, and `user/include/pid1.h` that the bench `/init` shares with
/// the suite's).
fn compile(src: &Path, out: &Path, dir: &Path, header_time: Option<SystemTime>) -> Result<(), String> {
    if let (Some(o), Some(s)) = (mtime(out), mtime(src))
        && o > s
        && header_time.is_none_or(|h| o > h)
    {
        return Ok(());
    }
    let mut c = Command::new("musl-gcc");
    c.args(["-static", "-O2", "-Wall", "-Wextra", "-pthread"]);
    c.arg("-I").arg(dir).arg("-I").arg(dir.join("../include"));
    c.arg("-o").arg(out).arg(src);
    crate::user::run_cc(&mut c, src, "musl-tools")
}

/// Builds every `user/bench/*.c` into `target/bench-user/`.
fn build_programs() -> Result<BenchBuild, String> {
    crate::setup::ensure_tools(crate::user::USER_TOOLS)?;
    let dir = crate::root().join("user/bench");
    // every header of user/bench, and pid1.h, rebuild the programs when newer
    let header_time = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "h"))
        .map(|p| mtime(&p))
        .fold(mtime(&dir.join("../include/pid1.h")), |a, b| a.max(b));
    let out_dir = crate::target_dir().join("bench-user");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    let (mut init, mut tiny, mut benches) = (None, None, Vec::new());
    for src in sources {
        let Some(name) = src.file_stem().map(|s| s.to_string_lossy().into_owned()) else { continue };
        let out = out_dir.join(&name);
        compile(&src, &out, &dir, header_time)?;
        match name.as_str() {
            INIT => init = Some(out),
            TINY => tiny = Some(out),
            _ => benches.push((name, out)),
        }
    }
    let init = init.ok_or("user/bench/init.c is missing")?;
    let tiny = tiny.ok_or("user/bench/tiny.c is missing")?;
    eprintln!("xtask: built /init, /bin/tiny and {} benchmarks into {}", benches.len(), out_dir.display());
    Ok(BenchBuild { init, tiny, benches })
}

/// `target/<name>.cpio` (`initramfs-bench` for the main boot): /init,
/// /bin/tiny, /bench/*, dev/console, Debian's `/usr/bin/ls` with what it
/// needs, and `/etc/net-bench-port`: the host port of
/// `tcp_host_to_guest`'s stream server.
fn build_initramfs(b: &BenchBuild, net_port: u16, name: &str) -> Result<PathBuf, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut c = Cpio::default();
    for d in ["bin", "dev", "proc", "tmp", "bench", "etc"] {
        c.dir(d);
    }
    c.file("etc/net-bench-port", 0o644, format!("{net_port}\n").as_bytes());
    c.char_dev("dev/console", 0o600, 5, 1);
    c.file("init", 0o755, &read(&b.init)?);
    c.file("bin/tiny", 0o755, &read(&b.tiny)?);
    for (name, path) in &b.benches {
        c.file(&format!("bench/{name}"), 0o755, &read(path)?);
    }
    // Debian's dynamic `ls` and `sqlite3` with ld.so and their libraries
    let ls: Vec<(String, PathBuf)> = crate::debian::files()?
        .into_iter()
        .filter(|(guest, _)| crate::debian::BENCH_FILES.contains(&guest.as_str()))
        .collect();
    crate::debian::add_to_initramfs(&mut c, &ls)?;
    c.file("etc/disk-tree.tar", 0o644, &read(&disk_tree_tar()?)?);
    let out = crate::target_dir().join(format!("{name}.cpio"));
    std::fs::write(&out, c.finish()).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(out)
}

/// `target/bench/disk-tree.tar`: a ustar archive of a 24 MiB tree (30
/// directories of 20 files from 0 to 80 KiB, a symlink in each) that
/// `disk_ext2` extracts onto the disk (`disk_tar_x_tree`).
fn disk_tree_tar() -> Result<PathBuf, String> {
    let dir = crate::target_dir().join("bench");
    let tar = dir.join("disk-tree.tar");
    if tar.is_file() {
        return Ok(tar);
    }
    let tree = dir.join("disk-tree");
    let _ = std::fs::remove_dir_all(&tree);
    for d in 0..30u64 {
        let sub = tree.join(format!("dir{d:02}"));
        std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        for f in 0..20u64 {
            let len = ((d * 20 + f) * 7919 % 81920) as usize;
            let data: Vec<u8> = (0..len).map(|i| (i as u64 * 13 + d + f) as u8).collect();
            std::fs::write(sub.join(format!("file{f:02}")), data)
                .map_err(|e| format!("{}: {e}", sub.display()))?;
        }
        std::os::unix::fs::symlink("file00", sub.join("link")).map_err(|e| format!("symlink: {e}"))?;
    }
    let ok = Command::new("tar")
        .args(["--format=ustar", "-cf"])
        .arg(&tar)
        .arg("-C")
        .arg(&tree)
        .arg(".")
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let _ = std::fs::remove_file(&tar);
        return Err(format!("tar -cf {}: failed", tar.display()));
    }
    Ok(tar)
}

/// A fresh 256 MiB ext2 (4 KiB blocks) at `path` for `disk_ext2`, made
/// before every boot.
fn fresh_bench_disk(path: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(path);
    crate::disk::make_image(None, path, Some(256 << 20), 4096)
}

/// `target/initramfs-bench-debian.cpio`: the Debian system (`cargo xtask
/// qemu --debian`, its packages fetched when they are not cached) with
/// `user/bench/debian/init.c` as `/init`.
fn build_debian_initramfs() -> Result<PathBuf, String> {
    let dir = crate::root().join("user/bench");
    let src = dir.join("debian/init.c");
    let out_dir = crate::target_dir().join("bench-user");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let out = out_dir.join("debian-init");
    compile(&src, &out, &dir, mtime(&dir.join("bench.h")))?;
    let img = crate::debsys::build_named(&[("init".into(), out)], "initramfs-bench-debian", false)?;
    Ok(img.path)
}

/// The samples and failures of one benchmark on one kernel.
#[derive(Default, Clone)]
pub(crate) struct Side {
    pub(crate) samples: Vec<f64>,
    pub(crate) failures: Vec<String>,
}

impl Side {
    fn sorted(&self) -> Vec<f64> {
        let mut s = self.samples.clone();
        s.sort_by(f64::total_cmp);
        s
    }

    pub(crate) fn median(&self) -> Option<f64> {
        let s = self.sorted();
        let n = s.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(s[n / 2]),
            _ => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
        }
    }

    fn min_max(&self) -> Option<(f64, f64)> {
        let s = self.sorted();
        Some((*s.first()?, *s.last()?))
    }

    /// (max − min) / median.
    pub(crate) fn spread(&self) -> Option<f64> {
        let (lo, hi) = self.min_max()?;
        let m = self.median()?;
        (m > 0.0).then(|| (hi - lo) / m)
    }
}

pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) sides: [Side; 2],
}

/// One kind of boot made each round on each kernel, and the rows it gives.
struct Boot {
    /// Added to the kernel's name in the log files' names.
    tag: String,
    /// Its guest CPUs (`-smp`).
    cpus: u32,
    /// Whether every row's name gets `_<cpus>cpu` once the rounds are
    /// done (`--smp-compare`); otherwise only the [`SMP_PREFIX`] rows'.
    suffix_all: bool,
    /// Ours, then Linux.
    qemus: [crate::qemu::Qemu; 2],
    rows: Vec<Row>,
}

/// One boot of one kernel.
struct Run {
    round: usize,
    kernel: usize,
    /// `main` (user/bench) or `debian`.
    boot: &'static str,
    secs: f64,
    status: Option<i32>,
    done: bool,
}

fn row<'a>(rows: &'a mut Vec<Row>, name: &str) -> &'a mut Row {
    let i = match rows.iter().position(|r| r.name == name) {
        Some(i) => i,
        None => {
            rows.push(Row { name: name.to_string(), sides: Default::default() });
            rows.len() - 1
        }
    };
    &mut rows[i]
}

/// Boots `q` once and adds its BENCH / BENCHFAIL lines to `rows`.
fn run_once(q: &Qemu, round: usize, kernel: usize, rows: &mut Vec<Row>, log: &Path) -> Result<Run, String> {
    let wall = Instant::now();
    let o = q.run_captured(BOOT_TIMEOUT, false)?;
    let secs = wall.elapsed().as_secs_f64();
    let _ = std::fs::write(log, &o.output);
    let ended = if o.timed_out {
        format!("QEMU killed after {} s", BOOT_TIMEOUT.as_secs())
    } else {
        format!("the kernel stopped (QEMU status {:?})", o.status)
    };
    let done = parse(&o.output, round, kernel, rows, &ended);
    Ok(Run { round, kernel, boot: "main", secs, status: o.status, done })
}

/// Adds the BENCH / BENCHFAIL lines of one boot's `output` to `rows`;
/// without `bench: done`, every row the boot said nothing about gets the
/// failure "not run: `ended`". Returns whether `bench: done` was seen.
pub(crate) fn parse(output: &str, round: usize, kernel: usize, rows: &mut Vec<Row>, ended: &str) -> bool {
    let mut seen: Vec<String> = Vec::new();
    let mut done = false;
    for line in output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("BENCH ") {
            let mut w = rest.split_whitespace();
            if let (Some(name), Some(v)) = (w.next(), w.next().and_then(|v| v.parse::<f64>().ok())) {
                row(rows, name).sides[kernel].samples.push(v);
                seen.push(name.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("BENCHFAIL ") {
            let (name, why) = rest.split_once(':').unwrap_or((rest, ""));
            let (name, why) = (name.trim(), why.trim());
            let side = &mut row(rows, name).sides[kernel];
            // the program's own reason first; /init's "exited 1" adds nothing to it
            let reported = seen.iter().any(|n| n == name);
            if !(reported && why == "(init) exited 1") {
                side.failures.push(format!("round {round}: {why}"));
            }
            seen.push(name.to_string());
        } else if line == "bench: done" {
            done = true;
        }
    }
    if !done {
        for r in rows.iter_mut() {
            if !seen.contains(&r.name) {
                r.sides[kernel].failures.push(format!("round {round}: not run: {ended}"));
            }
        }
    }
    done
}

pub(crate) fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.1} us", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn cell(side: &Side, rounds: usize) -> String {
    match side.median() {
        None if side.failures.iter().all(|f| f.contains("not run")) => "missing".into(),
        None => "FAILED".into(),
        Some(m) if side.samples.len() < rounds => format!("{} *", fmt_ns(m)),
        Some(m) => fmt_ns(m),
    }
}

fn spread_cell(side: &Side) -> String {
    match side.spread() {
        Some(s) if side.samples.len() > 1 => format!("{:.1}%", s * 100.0),
        Some(_) => "1 sample".into(),
        None => "-".into(),
    }
}

fn ratio(r: &Row) -> Option<f64> {
    let (a, b) = (r.sides[0].median()?, r.sides[1].median()?);
    (b > 0.0).then(|| a / b)
}

fn table(rows: &[Row], rounds: usize) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<22} {:>13} {:>13} {:>11} {:>12} {:>12}",
        "benchmark", "ours", "Linux", "ours/Linux", "spread ours", "spread Linux"
    );
    for r in rows {
        let ratio = ratio(r).map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            t,
            "{:<22} {:>13} {:>13} {:>11} {:>12} {:>12}",
            r.name,
            cell(&r.sides[0], rounds),
            cell(&r.sides[1], rounds),
            ratio,
            spread_cell(&r.sides[0]),
            spread_cell(&r.sides[1])
        );
    }
    let _ = writeln!(
        t,
        "(medians of {rounds} rounds, time per operation; spread = (max - min) / median; * = fewer samples than rounds)"
    );
    let mut notes = String::new();
    for r in rows {
        for (k, side) in r.sides.iter().enumerate() {
            for f in &side.failures {
                let _ = writeln!(notes, "  {} on {}: {f}", r.name, KERNELS[k]);
            }
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(t, "failures:\n{notes}");
    }
    t
}

/// A row measured with 1 CPU and with `cpus` (the rows `<name>_1cpu`
/// and `<name>_<cpus>cpu`): the speed-up of the second on each kernel.
struct Speedup {
    name: String,
    cpus: u32,
    /// 1-CPU time / N-CPU time, ours then Linux.
    x: [Option<f64>; 2],
}

/// Pairs the `_1cpu` rows with their `_<N>cpu` rows (N > 1).
fn speedups(rows: &[Row]) -> Vec<Speedup> {
    let mut out = Vec::new();
    for one in rows {
        let Some(base) = one.name.strip_suffix("_1cpu") else { continue };
        for many in rows {
            let Some(n) = many
                .name
                .strip_prefix(base)
                .and_then(|r| r.strip_prefix('_'))
                .and_then(|r| r.strip_suffix("cpu"))
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|&n| n > 1)
            else {
                continue;
            };
            let x = |k: usize| {
                let (a, b) = (one.sides[k].median()?, many.sides[k].median()?);
                (b > 0.0).then(|| a / b)
            };
            out.push(Speedup { name: base.to_string(), cpus: n, x: [x(0), x(1)] });
        }
    }
    out
}

/// The speed-ups of the rows measured with 1 and N CPUs, against their
/// goals ([`smp_goal`]).
fn speedup_table(rows: &[Row]) -> String {
    let ups = speedups(rows);
    let mut t = String::new();
    if ups.is_empty() {
        return t;
    }
    let _ = writeln!(
        t,
        "\n{:<22} {:>5} {:>12} {:>14} {:>8}  verdict (ours)",
        "1 CPU -> N CPUs", "N", "speed-up ours", "speed-up Linux", "goal"
    );
    for u in &ups {
        let f = |x: Option<f64>| x.map_or_else(|| "-".into(), |x| format!("{x:.2}x"));
        let goal = smp_goal(&u.name);
        let verdict = match (goal, u.x[0]) {
            (_, None) => "no figure",
            (None, _) => "(no goal)",
            (Some(g), Some(x)) if x >= g => "ok",
            (Some(_), Some(_)) => "BELOW GOAL",
        };
        let _ = writeln!(
            t,
            "{:<22} {:>5} {:>12} {:>14} {:>8}  {verdict}",
            u.name,
            u.cpus,
            f(u.x[0]),
            f(u.x[1]),
            goal.map_or_else(|| "-".into(), |g| format!(">={g:.2}x"))
        );
    }
    let _ = writeln!(
        t,
        "(speed-up = the 1-CPU median time / the N-CPU one; the smp_ rows' goals are issue 19's, \
         the others may be at most 10 % slower: >= 0.91x)"
    );
    t
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_num(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => "null".into(),
    }
}

fn json_side(s: &Side) -> String {
    let samples: Vec<String> = s.samples.iter().map(|x| json_num(Some(*x))).collect();
    let failures: Vec<String> = s.failures.iter().map(|f| json_str(f)).collect();
    let (min, max) = s.min_max().map_or((None, None), |(a, b)| (Some(a), Some(b)));
    format!(
        "{{\"median_ns\": {}, \"min_ns\": {}, \"max_ns\": {}, \"spread\": {}, \"samples_ns\": [{}], \"failures\": [{}]}}",
        json_num(s.median()),
        json_num(min),
        json_num(max),
        json_num(s.spread()),
        samples.join(", "),
        failures.join(", ")
    )
}

struct Meta {
    stamp: String,
    rounds: usize,
    kernel: PathBuf,
    linux: PathBuf,
    qemu: String,
    runs: Vec<Run>,
    wall_secs: f64,
}

fn json(rows: &[Row], m: &Meta) -> String {
    let mut j = String::from("{\n");
    let _ = writeln!(j, "  \"timestamp\": {},", json_str(&m.stamp));
    let _ = writeln!(j, "  \"rounds\": {},", m.rounds);
    let _ = writeln!(j, "  \"unit\": \"ns per operation\",");
    let _ = writeln!(j, "  \"ours_kernel\": {},", json_str(&m.kernel.display().to_string()));
    let _ = writeln!(j, "  \"linux_kernel\": {},", json_str(&m.linux.display().to_string()));
    let _ = writeln!(j, "  \"qemu\": {},", json_str(&m.qemu));
    let _ = writeln!(j, "  \"wall_seconds\": {:.1},", m.wall_secs);
    j.push_str("  \"runs\": [\n");
    let runs: Vec<String> = m
        .runs
        .iter()
        .map(|r| {
            format!(
                "    {{\"round\": {}, \"kernel\": \"{}\", \"boot\": \"{}\", \"wall_seconds\": {:.1}, \"qemu_status\": {}, \"done\": {}}}",
                r.round,
                KERNELS[r.kernel],
                r.boot,
                r.secs,
                r.status.map_or("null".into(), |s| s.to_string()),
                r.done
            )
        })
        .collect();
    j.push_str(&runs.join(",\n"));
    j.push_str("\n  ],\n  \"benchmarks\": [\n");
    let bench: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "    {{\"name\": {}, \"ratio\": {}, \"ours\": {}, \"linux\": {}}}",
                json_str(&r.name),
                json_num(ratio(r)),
                json_side(&r.sides[0]),
                json_side(&r.sides[1])
            )
        })
        .collect();
    j.push_str(&bench.join(",\n"));
    j.push_str("\n  ],\n  \"speed_ups\": [\n");
    let ups: Vec<String> = speedups(rows)
        .iter()
        .map(|u| {
            format!(
                "    {{\"name\": {}, \"cpus\": {}, \"ours\": {}, \"linux\": {}, \"goal\": {}}}",
                json_str(&u.name),
                u.cpus,
                json_num(u.x[0]),
                json_num(u.x[1]),
                json_num(smp_goal(&u.name))
            )
        })
        .collect();
    j.push_str(&ups.join(",\n"));
    j.push_str("\n  ]\n}\n");
    j
}

/// UTC `YYYYMMDD-HHMMSS` (days to civil date: Howard Hinnant's algorithm).
pub(crate) fn timestamp() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}-{:02}{:02}{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}

/// What `cargo xtask bench` was asked for.
#[derive(Debug, Default, PartialEq)]
struct Options {
    rounds: usize,
    /// `-icount shift=0`: guest instructions as time (docs/bench.md).
    icount: bool,
    /// Only these benchmarks (empty: all); `main` stands for every row of
    /// the user/bench boot, `debian` for the Debian start-up rows.
    only: Vec<String>,
    /// Our kernel only, no Linux boots.
    ours_only: bool,
    /// This kernel ELF as ours instead of building it (another commit's build).
    kernel: Option<PathBuf>,
    /// `--scale` / `--workloads`: the boots of bench_scale.rs instead.
    scale: Option<crate::bench_scale::Kind>,
    /// `--smp N`: guest CPUs of the boots (0: not given, 1).
    smp: u32,
    /// `--smp-compare`: the main boot with 1 CPU and with `--smp` (2 when
    /// not given) CPUs, every row paired.
    smp_compare: bool,
    /// `--profile`: sample our kernel's instruction pointer through QEMU's
    /// monitor during each of its boots (xtask/src/profile.rs).
    profile: bool,
    /// `--tb-profile`: instructions per operation by kernel function
    /// (xtask/src/tbprof.rs), each `--only` row in a boot of its own.
    tb_profile: bool,
    /// `--tcgstat`: run each boot with the TCG plugin of
    /// xtask/plugins/tcgstat.c (implies `--icount`) and print what it
    /// counted per operation (docs/bench.md "wall35").
    tcgstat: bool,
    /// `--no-mem`: the plugin without its memory-access callbacks (faster;
    /// no page, TLB or MMIO counts).
    tcgstat_no_mem: bool,
}

const USAGE: &str = "usage: cargo xtask bench [--scale|--workloads] [--rounds N] [--icount] [--only NAME,NAME|main|debian] [--ours] [--kernel ELF] [--smp N] [--smp-compare] [--profile] [--tb-profile] [--tcgstat [--no-mem]]";

fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options { rounds: 3, ..Default::default() };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rounds" => {
                o.rounds = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n >= 1)
                    .ok_or("--rounds takes a number (at least 1)")?
            }
            "--icount" => o.icount = true,
            "--scale" => o.scale = Some(crate::bench_scale::Kind::Scale),
            "--workloads" => o.scale = Some(crate::bench_scale::Kind::Workloads),
            "--ours" => o.ours_only = true,
            "--only" => {
                let names = it.next().ok_or("--only takes benchmark names, comma-separated")?;
                o.only.extend(names.split(',').filter(|n| !n.is_empty()).map(String::from));
            }
            "--kernel" => o.kernel = Some(PathBuf::from(it.next().ok_or("--kernel takes a kernel ELF")?)),
            "--smp" => {
                o.smp = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=64).contains(n))
                    .ok_or("--smp takes a CPU count (1 to 64)")?
            }
            "--smp-compare" => o.smp_compare = true,
            "--profile" => o.profile = true,
            "--tb-profile" => o.tb_profile = true,
            "--tcgstat" => {
                o.tcgstat = true;
                o.icount = true;
            }
            "--no-mem" => o.tcgstat_no_mem = true,
            other => return Err(format!("unknown argument {other:?} ({USAGE})")),
        }
    }
    Ok(o)
}

fn cmd_bench(args: &[String]) -> Result<(), String> {
    let opts = options(args)?;
    let rounds = opts.rounds;
    let wall = Instant::now();
    crate::setup::ensure_tools(crate::QEMU_TOOLS)?;
    let kernel = match &opts.kernel {
        Some(k) => k.clone(),
        None => match crate::build_kernel(true) {
            Ok(k) => k,
            Err(e) => {
                eprintln!("xtask: the release kernel did not build ({e}); benchmarking the debug kernel");
                crate::build_kernel(false)?
            }
        },
    };
    if opts.tb_profile {
        return tb_profile(&opts, &kernel);
    }
    let linux = crate::linux::vmlinuz()?;
    if let Some(kind) = opts.scale {
        let (rounds, icount, ours_only, only, profile) =
            (opts.rounds, opts.icount, opts.ours_only, opts.only, opts.profile);
        return crate::bench_scale::cmd(&crate::bench_scale::Opts {
            kind,
            rounds,
            icount,
            ours_only,
            only,
            kernel,
            linux,
            profile,
        });
    }
    // --only: `main`, `debian`, or row names of either boot
    let debian_name = |n: &String| n == "debian" || DEBIAN_ROWS.contains(&n.as_str());
    let main_rows = opts.only.is_empty() || opts.only.iter().any(|n| !debian_name(n));
    let debian_rows = opts.only.is_empty() || opts.only.iter().any(debian_name);
    // the user/bench boot: its programs, the same machine for both kernels
    // with a virtio-net NIC on the user network (Debian's Linux has no
    // driver for it built in: tcp_host_to_guest is ours only)
    let mut boots: Vec<Boot> = Vec::new();
    if main_rows {
        let mut programs = build_programs()?;
        let named: Vec<&String> = opts.only.iter().filter(|n| !debian_name(n)).collect();
        if !named.is_empty() && !named.iter().any(|n| *n == "main") {
            let wanted = programs_for(&named);
            if let Some(n) = wanted.iter().find(|n| !programs.benches.iter().any(|(b, _)| b == *n)) {
                return Err(format!("--only: no benchmark {n:?} in user/bench/ or the Debian rows"));
            }
            programs.benches.retain(|(b, _)| wanted.contains(&b.as_str()));
        }
        // tcp_host_to_guest reads from this server on the host (10.0.2.2 in the guest)
        let net_port = crate::net::serve_stream()?;
        let initrd = build_initramfs(&programs, net_port, "initramfs-bench")?;
        // Linux: plus Debian's virtio_blk and ext4 modules, for the disk rows
        let linux_initrd = crate::linux::with_modules(&initrd, "initramfs-bench-linux.cpio")?;
        let main_boot = |cpus: u32, tag: String, suffix_all: bool| {
            let mut qemus = [
                crate::qemu_for(kernel.clone(), Some(initrd.clone()), "", cpus),
                crate::qemu_for(linux.clone(), Some(linux_initrd.clone()), crate::linux::CMDLINE, cpus),
            ];
            for q in &mut qemus {
                q.net = Some(Vec::new());
                q.icount = opts.icount;
                // disk_ext2's disk, made afresh before each boot
                q.disk = Some(crate::target_dir().join("bench/disk.img"));
            }
            let names = BOOT_ROWS
                .iter()
                .map(|n| n.to_string())
                .chain(programs.benches.iter().flat_map(|(n, _)| rows_of(n).into_iter().map(str::to_string)));
            Boot {
                tag,
                cpus,
                suffix_all,
                qemus,
                rows: names.map(|name| Row { name, sides: Default::default() }).collect(),
            }
        };
        if opts.smp_compare {
            // every row with 1 CPU and with N
            let n = if opts.smp > 1 { opts.smp } else { 2 };
            boots.push(main_boot(1, "-1cpu".into(), true));
            boots.push(main_boot(n, format!("-{n}cpu"), true));
        } else {
            let cpus = opts.smp.max(1);
            boots.push(main_boot(cpus, if cpus == 1 { String::new() } else { format!("-{cpus}cpu") }, false));
            // the smp_ rows once more at the other CPU count (2, or 1
            // when the boots have more), in a small boot of their own
            let smp: Vec<(String, PathBuf)> =
                programs.benches.iter().filter(|(n, _)| n.starts_with(SMP_PREFIX)).cloned().collect();
            if !smp.is_empty() {
                let other = if cpus == 1 { 2 } else { 1 };
                let b = BenchBuild { benches: smp, ..programs.clone() };
                let initrd = build_initramfs(&b, net_port, "initramfs-bench-smp")?;
                let mut qemus = [
                    crate::qemu_for(kernel.clone(), Some(initrd.clone()), "", other),
                    crate::qemu_for(linux.clone(), Some(initrd), crate::linux::CMDLINE, other),
                ];
                for q in &mut qemus {
                    q.icount = opts.icount;
                }
                let rows = BOOT_ROWS
                    .iter()
                    .map(|n| n.to_string())
                    .chain(b.benches.iter().map(|(n, _)| n.clone()))
                    .map(|name| Row { name, sides: Default::default() });
                boots.push(Boot {
                    tag: format!("-smp{other}"),
                    cpus: other,
                    // (its boot rows too: boot_to_init_2cpu)
                    suffix_all: true,
                    qemus,
                    rows: rows.collect(),
                });
            }
        }
    }
    // the Debian boot: the Debian system's memory and command lines, no NIC
    if debian_rows {
        let initrd = build_debian_initramfs()?;
        let debian = |k: &PathBuf, cmdline: &str| crate::qemu::Qemu {
            icount: opts.icount,
            ..crate::qemu::Qemu::boot(
                k.clone(),
                Some(initrd.clone()),
                cmdline,
                opts.smp.max(1),
                crate::debsys::MEMORY.into(),
            )
        };
        let qemus = [debian(&kernel, crate::debsys::CMDLINE), debian(&linux, crate::linux::CMDLINE)];
        let rows =
            DEBIAN_ROWS.iter().map(|n| Row { name: n.to_string(), sides: Default::default() }).collect();
        let cpus = opts.smp.max(1);
        boots.push(Boot { tag: "-debian".into(), cpus, suffix_all: false, qemus, rows });
    }
    let kernels = if opts.ours_only { 1 } else { KERNELS.len() };
    let stamp = timestamp();
    let out_dir = crate::target_dir().join("bench");
    let log_dir = out_dir.join("logs");
    std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
    let syms = if opts.profile { crate::profile::symbols(&kernel)? } else { Vec::new() };
    let leaves = crate::profile::leaves(&syms);
    let plugin = if opts.tcgstat { Some(crate::tcgstat::build()?) } else { None };
    let mut runs = Vec::new();
    for round in 1..=rounds {
        for b in &mut boots {
            for (k, q) in b.qemus.iter().enumerate().take(kernels) {
                let what = format!("{}{}", KERNELS[k], b.tag);
                let log = log_dir.join(format!("{stamp}-round{round}-{what}.log"));
                eprintln!("xtask: bench round {round}/{rounds} on {what} ...");
                if let Some(d) = &q.disk {
                    fresh_bench_disk(d)?;
                }
                let stat_file = log.with_extension("tcgstat");
                let mut with_plugin;
                let q = match &plugin {
                    Some(so) => {
                        with_plugin = q.clone();
                        let mem = if opts.tcgstat_no_mem { ",mem=off" } else { "" };
                        with_plugin.plugin =
                            Some(format!("{},out={}{mem}", so.display(), stat_file.display()));
                        &with_plugin
                    }
                    None => q,
                };
                let mut r = if opts.profile && k == 0 {
                    // our kernel only: Linux's addresses have no symbols here
                    let sock = log_dir.join(format!("{stamp}-round{round}-{what}.monitor"));
                    crate::profile::sampled(q, sock, &log, &syms, &leaves, |q| {
                        run_once(q, round, k, &mut b.rows, &log)
                    })?
                } else {
                    run_once(q, round, k, &mut b.rows, &log)?
                };
                if plugin.is_some() {
                    let elf = (k == 0).then_some(kernel.as_path());
                    crate::tcgstat::report(&stat_file, &b.rows, BOOT_ROWS, k, round, elf)?;
                }
                r.boot = if b.tag == "-debian" {
                    "debian"
                } else if b.tag.starts_with("-smp") {
                    "smp"
                } else {
                    "main"
                };
                let got = b.rows.iter().filter(|row| row.sides[k].samples.len() == round).count();
                eprintln!(
                    "xtask: bench round {round}/{rounds} on {what}: {got}/{} results in {:.1} s{} (log {})",
                    b.rows.len(),
                    r.secs,
                    if r.done {
                        String::new()
                    } else {
                        format!(", no `bench: done` (QEMU status {:?})", r.status)
                    },
                    log.display()
                );
                runs.push(r);
            }
        }
    }
    let qemu =
        boots.iter().map(|b| format!("{:?}", b.qemus[0].command(false))).collect::<Vec<_>>().join(" ; ");
    let rows: Vec<Row> = boots
        .into_iter()
        .flat_map(|b| {
            let (cpus, all) = (b.cpus, b.suffix_all);
            b.rows.into_iter().map(move |mut r| {
                if all || r.name.starts_with(SMP_PREFIX) {
                    r.name = format!("{}_{cpus}cpu", r.name);
                }
                r
            })
        })
        .collect();
    let wall_secs = wall.elapsed().as_secs_f64();
    println!();
    print!("{}", table(&rows, rounds));
    print!("{}", speedup_table(&rows));
    if opts.icount {
        println!("(--icount: guest instructions, 1 ns each: code-path length, not speed)");
    }
    let meta = Meta { stamp: stamp.clone(), rounds, kernel, linux, qemu, runs, wall_secs };
    let text = json(&rows, &meta);
    let latest = out_dir.join("latest.json");
    let stamped = out_dir.join(format!("bench-{stamp}.json"));
    for p in [&latest, &stamped] {
        std::fs::write(p, &text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    println!("xtask: wrote {} and {}", latest.display(), stamped.display());
    println!("xtask: cargo xtask bench took {wall_secs:.0} s of wall time");
    Ok(())
}

/// `--tb-profile`: each `--only` row of the user/bench boot alone and a
/// boot without a benchmark program, our kernel under `-icount` with the
/// block-counting plugin; per row, its instructions per operation by
/// kernel function (tbprof.rs), printed (the head) and written to
/// `target/bench/tb/<stamp>-<row>.tsv`.
fn tb_profile(opts: &Options, kernel: &Path) -> Result<(), String> {
    let so = crate::tbprof::plugin()?;
    let syms = crate::profile::symbols(kernel)?;
    let programs = build_programs()?;
    let named: Vec<&String> = opts.only.iter().collect();
    let wanted = programs_for(&named);
    if wanted.is_empty() || opts.smp > 1 {
        return Err("--tb-profile needs --only with rows of the user/bench boot, and 1 CPU".into());
    }
    if let Some(n) = wanted.iter().find(|n| !programs.benches.iter().any(|(b, _)| b == *n)) {
        return Err(format!("--only: no benchmark {n:?} in user/bench/"));
    }
    let net_port = crate::net::serve_stream()?;
    let dir = crate::target_dir().join("bench/tb");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stamp = timestamp();
    // one boot: its console output and the per-function counts
    let boot = |name: &str, benches: Vec<(String, PathBuf)>| -> Result<(String, _), String> {
        let b = BenchBuild { benches, ..programs.clone() };
        let initrd = build_initramfs(&b, net_port, &format!("initramfs-tb-{name}"))?;
        let counts = dir.join(format!("{stamp}-{name}.tb"));
        let mut q = crate::qemu_for(kernel.to_path_buf(), Some(initrd), "", 1);
        q.net = Some(Vec::new());
        q.icount = true;
        q.disk = Some(crate::target_dir().join("bench/disk.img"));
        q.plugin = Some(crate::tbprof::plugin_arg(&so, &counts));
        if let Some(d) = &q.disk {
            fresh_bench_disk(d)?;
        }
        eprintln!("xtask: tb-profile boot {name} ...");
        let o = q.run_captured(BOOT_TIMEOUT, false)?;
        let _ = std::fs::write(dir.join(format!("{stamp}-{name}.log")), &o.output);
        let text = std::fs::read_to_string(&counts)
            .map_err(|e| format!("{}: {e} (the plugin wrote no counts: QEMU killed?)", counts.display()))?;
        Ok((o.output, crate::tbprof::by_function(&crate::tbprof::parse(&text)?, &syms)))
    };
    let (_, empty) = boot("empty", Vec::new())?;
    for name in wanted {
        let benches: Vec<(String, PathBuf)> =
            programs.benches.iter().filter(|(b, _)| b == name).cloned().collect();
        let (out, with) = boot(name, benches)?;
        let mut rows = vec![Row { name: name.to_string(), sides: Default::default() }];
        parse(&out, 1, 0, &mut rows, "");
        let per_op = rows[0].sides[0].samples.first().copied().ok_or_else(|| {
            format!("{name}: no `BENCH {name}` line (failures: {:?})", rows[0].sides[0].failures)
        })?;
        let text = crate::tbprof::report(name, kernel, per_op, &with, &empty);
        let path = dir.join(format!("{stamp}-{name}.tsv"));
        std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
        let head: Vec<&str> = text.lines().take(42).collect();
        println!("{}\nxtask: the whole profile is in {}", head.join("\n"), path.display());
    }
    Ok(())
}

/// The `bench` command's entry, with its own arguments.
pub fn main(args: &[String]) -> ExitCode {
    match cmd_bench(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tb_profile_flag() {
        let a = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(options(&a("--tb-profile --only fork_exec_wait")).unwrap().tb_profile);
        assert!(!options(&a("--only fork_exec_wait")).unwrap().tb_profile);
    }

    fn rows(names: &[&str]) -> Vec<Row> {
        names.iter().map(|n| Row { name: n.to_string(), sides: Default::default() }).collect()
    }

    #[test]
    fn failures_and_missing_rows_show_in_the_table() {
        let mut r = rows(&["a", "b", "c", "d"]);
        let out = "BENCH a 100.5\r\nBENCHFAIL b: fork: Out of memory (errno 12)\nBENCHFAIL b: (init) exited 1\n\
                   BENCHFAIL c: (init) killed by signal 11 (Segmentation fault)\n";
        assert!(!parse(out, 1, 0, &mut r, "QEMU killed after 480 s"));
        assert!(parse("BENCH a 50\nBENCH b 10\nBENCH c 1\nBENCH d 2e3\nbench: done\n", 1, 1, &mut r, ""));
        assert_eq!(r[0].sides[0].samples, [100.5]);
        assert_eq!(r[1].sides[0].failures, ["round 1: fork: Out of memory (errno 12)"]);
        assert_eq!(r[2].sides[0].failures, ["round 1: (init) killed by signal 11 (Segmentation fault)"]);
        assert_eq!(r[3].sides[0].failures, ["round 1: not run: QEMU killed after 480 s"]);
        let t = table(&r, 1);
        assert!(t.lines().any(|l| l.starts_with('a') && l.contains("2.01")), "{t}");
        assert!(t.lines().any(|l| l.starts_with('b') && l.contains("FAILED")), "{t}");
        assert!(t.lines().any(|l| l.starts_with('d') && l.contains("missing")), "{t}");
        assert!(t.contains("d on ours: round 1: not run"), "{t}");
        let j = json(
            &r,
            &Meta {
                stamp: "x".into(),
                rounds: 1,
                kernel: "k".into(),
                linux: "l".into(),
                qemu: "q \"x\"".into(),
                runs: Vec::new(),
                wall_secs: 1.0,
            },
        );
        assert!(j.contains("\"median_ns\": null") && j.contains("q \\\"x\\\""), "{j}");
    }

    #[test]
    fn options_parse() {
        let a = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(options(&[]).unwrap(), Options { rounds: 3, ..Default::default() });
        let o = options(&a("--icount --only getppid,open_close --ours --rounds 2 --kernel /k.elf")).unwrap();
        assert!(o.icount && o.ours_only);
        assert_eq!(
            (o.rounds, o.only.as_slice()),
            (2, ["getppid".to_string(), "open_close".into()].as_slice())
        );
        assert_eq!(o.kernel, Some(PathBuf::from("/k.elf")));
        assert!(options(&a("--rounds 0")).is_err());
        assert!(options(&a("--only")).is_err());
        assert!(options(&a("--bogus")).is_err());
    }

    #[test]
    fn smp_rows_pair_into_speed_ups() {
        let mut r =
            rows(&["smp_cpu_bound_1cpu", "getppid_1cpu", "smp_cpu_bound_2cpu", "getppid_2cpu", "x_1cpu"]);
        assert!(parse(
            "BENCH smp_cpu_bound_1cpu 200\nBENCH getppid_1cpu 100\nbench: done\n",
            1,
            0,
            &mut r,
            ""
        ));
        assert!(parse(
            "BENCH smp_cpu_bound_2cpu 125\nBENCH getppid_2cpu 125\nbench: done\n",
            1,
            0,
            &mut r,
            ""
        ));
        let u = speedups(&r);
        assert_eq!(u.len(), 2);
        assert_eq!((u[0].name.as_str(), u[0].cpus, u[0].x), ("smp_cpu_bound", 2, [Some(1.6), None]));
        assert_eq!((u[1].name.as_str(), u[1].x[0]), ("getppid", Some(0.8)));
        let t = speedup_table(&r);
        assert!(
            t.lines().any(|l| l.starts_with("smp_cpu_bound") && l.contains("1.60x") && l.contains("BELOW")),
            "{t}"
        );
        assert!(t.lines().any(|l| l.starts_with("getppid") && l.contains("BELOW")), "{t}");
        let rows: Vec<String> = ["boot_to_init", "disk_read_64m", "fork_exec_wait", "disk_write_64m_fsync"]
            .map(String::from)
            .into();
        let refs: Vec<&String> = rows.iter().collect();
        assert_eq!(programs_for(&refs), ["disk_ext2", "fork_exec_wait"]);
        assert!(programs_for(&refs[..1]).is_empty());
        let o = options(&["--smp".into(), "2".into(), "--smp-compare".into()]).unwrap();
        assert!(o.smp == 2 && o.smp_compare);
        assert!(options(&["--smp".into(), "0".into()]).is_err());
    }

    #[test]
    fn median_and_spread() {
        let s = Side { samples: vec![3.0, 1.0, 2.0, 10.0], failures: Vec::new() };
        assert_eq!(s.median(), Some(2.5));
        assert_eq!(s.spread(), Some(9.0 / 2.5));
        assert!(timestamp().len() == 15);
    }
}

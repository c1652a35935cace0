//! `cargo xtask bench --scale` and `cargo xtask bench --workloads`: the
//! scaling benchmarks of `user/bench/scale/` (each operation at three
//! sizes, with the growth exponent k of time ∝ size^k fitted per round) and
//! the workloads of `user/bench/workloads/` (busybox sort, tar, find, sh, an
//! allocation churn, kernel memory per process and thread), ours and Linux
//! in the same QEMU machine, alternating over the rounds like `bench`.
//! See docs/bench.md.

use crate::bench::{Row, Side, parse};
use crate::cpio::Cpio;
use crate::qemu::Qemu;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One boot of the scale or workloads initramfs may take this long.
const BOOT_TIMEOUT: Duration = Duration::from_secs(1500);

/// Guest memory of these boots: 512 MiB touched by `fork_touched`, 10,000
/// processes, a 60 MB file sorted in tmpfs.
const MEMORY: &str = "2G";

/// The two kernels, in the order of the table's columns.
const KERNELS: [&str; 2] = ["ours", "linux"];

/// The sizes of `user/bench/scale/exec_size.c`'s programs (`/bin/pad<MB>`).
const PAD_MB: [u32; 3] = [1, 10, 50];

/// Which of the two boots.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Kind {
    /// `--scale`: user/bench/scale.
    Scale,
    /// `--workloads`: user/bench/workloads.
    Workloads,
}

/// What the command was asked for (from `bench`'s options).
pub struct Opts {
    pub kind: Kind,
    pub rounds: usize,
    pub icount: bool,
    pub ours_only: bool,
    pub only: Vec<String>,
    pub kernel: PathBuf,
    pub linux: PathBuf,
    /// `--profile`: sample our kernel's instruction pointer during its
    /// boots (xtask/src/profile.rs); the report lands beside each log.
    pub profile: bool,
}

/// `musl-gcc -static -O2 -Wall -Wextra -pthread` of `src` into `out` with
/// `defines`, unless `out` is newer than `src` and every header.
fn compile(src: &Path, out: &Path, defines: &[String]) -> Result<(), String> {
    let bench = crate::root().join("user/bench");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let headers =
        [bench.join("bench.h"), bench.join("scale/scale.h"), crate::root().join("user/include/pid1.h")];
    let newest = headers.iter().map(|h| mtime(h)).fold(mtime(src), |a, b| a.max(b));
    if let (Some(o), Some(n)) = (mtime(out), newest)
        && o > n
    {
        return Ok(());
    }
    let mut c = Command::new("musl-gcc");
    c.args(["-static", "-O2", "-Wall", "-Wextra", "-pthread"]);
    c.args(defines);
    c.arg("-I")
        .arg(&bench)
        .arg("-I")
        .arg(bench.join("scale"))
        .arg("-I")
        .arg(crate::root().join("user/include"));
    c.arg("-o").arg(out).arg(src);
    crate::user::run_cc(&mut c, src, "musl-tools")
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// The C files of `dir` but `skip`, in name order.
fn sources(dir: &Path, skip: &[&str]) -> Result<Vec<(String, PathBuf)>, String> {
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .filter_map(|p| Some((p.file_stem()?.to_string_lossy().into_owned(), p)))
        .filter(|(n, _)| !skip.contains(&n.as_str()))
        .collect();
    v.sort();
    Ok(v)
}

/// `target/initramfs-bench-scale.cpio`: user/bench/init.c as `/init` (600 s
/// per program), `/bench/<name>` per user/bench/scale/*.c (but pad.c, or
/// only the `only` ones), `/bin/pad<MB>`. Returns it and the benchmark names.
fn scale_initramfs(only: &[String]) -> Result<(PathBuf, Vec<String>), String> {
    crate::setup::ensure_tools(crate::user::USER_TOOLS)?;
    let root = crate::root();
    let dir = root.join("user/bench/scale");
    let out = crate::target_dir().join("bench-user/scale");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut c = Cpio::default();
    for d in ["bin", "dev", "proc", "tmp", "bench", "etc"] {
        c.dir(d);
    }
    c.char_dev("dev/console", 0o600, 5, 1);
    let init = out.join("init");
    compile(&root.join("user/bench/init.c"), &init, &["-DTIMEOUT_S=600".into()])?;
    c.file("init", 0o755, &read(&init)?);
    for mb in PAD_MB {
        let bin = out.join(format!("pad{mb}"));
        compile(&dir.join("pad.c"), &bin, &[format!("-DPAD_MB={mb}")])?;
        c.file(&format!("bin/pad{mb}"), 0o755, &read(&bin)?);
    }
    let mut names = Vec::new();
    for (name, src) in sources(&dir, &["pad"])? {
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        let bin = out.join(&name);
        compile(&src, &bin, &[])?;
        c.file(&format!("bench/{name}"), 0o755, &read(&bin)?);
        names.push(name);
    }
    if let Some(n) = only.iter().find(|n| !names.contains(n)) {
        return Err(format!("--only: no scale benchmark {n:?} in user/bench/scale/"));
    }
    let img = crate::target_dir().join("initramfs-bench-scale.cpio");
    std::fs::write(&img, c.finish()).map_err(|e| format!("{}: {e}", img.display()))?;
    Ok((img, names))
}

/// `target/initramfs-bench-workloads.cpio`: busybox with its applets,
/// user/bench/workloads/init.c as `/init`, churn.c as `/bin/churn`.
/// `only` (workload names) builds an init that runs only those
/// (`-DWL_ONLY="a,b"`, in a directory of its own so no stale build is used).
fn workloads_initramfs(only: &[String]) -> Result<PathBuf, String> {
    const NAMES: [&str; 6] =
        ["sort_60m", "tar_czf_50m", "tar_xzf_50m", "find_wc_20k", "alloc_churn", "sh_c_true_x1000"];
    if let Some(n) = only.iter().find(|n| !NAMES.contains(&n.as_str()) && n.as_str() != "kmem") {
        return Err(format!("--only: no workload {n:?} (one of {}, kmem)", NAMES.join(", ")));
    }
    crate::setup::ensure_tools(crate::user::USER_TOOLS)?;
    let dir = crate::root().join("user/bench/workloads");
    let (out, defines) = if only.is_empty() {
        (crate::target_dir().join("bench-user/workloads"), Vec::new())
    } else {
        let list = only.join(",");
        (
            crate::target_dir().join(format!("bench-user/workloads-{}", only.join("-"))),
            vec![format!("-DWL_ONLY=\"{list}\"")],
        )
    };
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut c = Cpio::default();
    for d in ["bin", "dev", "proc", "tmp", "etc"] {
        c.dir(d);
    }
    crate::rootfs::add_busybox(&mut c)?;
    for (name, src) in sources(&dir, &[])? {
        let bin = out.join(&name);
        compile(&src, &bin, if name == "init" { &defines } else { &[] })?;
        let guest = if name == "init" { "init".to_string() } else { format!("bin/{name}") };
        c.file(&guest, 0o755, &read(&bin)?);
    }
    let img = crate::target_dir().join("initramfs-bench-workloads.cpio");
    std::fs::write(&img, c.finish()).map_err(|e| format!("{}: {e}", img.display()))?;
    Ok(img)
}

/// `name/size` → (name, size).
fn split(row: &str) -> Option<(&str, f64)> {
    let (n, s) = row.rsplit_once('/')?;
    Some((n, s.parse().ok()?))
}

/// The least-squares slope of log(t) over log(size): k of t ∝ size^k.
pub fn exponent(points: &[(f64, f64)]) -> Option<f64> {
    let pts: Vec<(f64, f64)> =
        points.iter().filter(|(s, t)| *s > 0.0 && *t > 0.0).map(|(s, t)| (s.ln(), t.ln())).collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let (mx, my) = (pts.iter().map(|p| p.0).sum::<f64>() / n, pts.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// One benchmark's exponents: per round (each round's three sizes fitted
/// on their own), and the fit of the medians.
struct Fit {
    per_round: Vec<f64>,
    of_medians: Option<f64>,
}

fn fit(rows: &[Row], name: &str, kernel: usize) -> Fit {
    let mine: Vec<&Row> = rows.iter().filter(|r| split(&r.name).is_some_and(|(n, _)| n == name)).collect();
    let rounds = mine.iter().map(|r| r.sides[kernel].samples.len()).min().unwrap_or(0);
    let per_round = (0..rounds)
        .filter_map(|i| {
            let pts: Vec<(f64, f64)> =
                mine.iter().filter_map(|r| Some((split(&r.name)?.1, r.sides[kernel].samples[i]))).collect();
            exponent(&pts)
        })
        .collect();
    let med: Vec<(f64, f64)> =
        mine.iter().filter_map(|r| Some((split(&r.name)?.1, r.sides[kernel].median()?))).collect();
    Fit { per_round, of_medians: if med.len() == mine.len() { exponent(&med) } else { None } }
}

fn k_cell(f: &Fit) -> String {
    let Some(k) = f.of_medians else { return "-".into() };
    let lo = f.per_round.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = f.per_round.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if f.per_round.len() >= 2 { format!("{k:.2} [{lo:.2},{hi:.2}]") } else { format!("{k:.2}") }
}

/// Within noise: ours' k no higher than Linux's, or the two rounds' ranges
/// overlap, or the difference under 0.1 (k of a flat cost wobbles by that
/// much when a size's time moves by ~15 % under TCG).
fn verdict(ours: &Fit, linux: &Fit) -> &'static str {
    let (Some(a), Some(b)) = (ours.of_medians, linux.of_medians) else { return "" };
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if a <= b + 0.1 || (!ours.per_round.is_empty() && min(&ours.per_round) <= max(&linux.per_round)) {
        "ok"
    } else {
        "HIGHER"
    }
}

fn cell(s: &Side, unit: &str) -> String {
    match s.median() {
        None if s.failures.is_empty() => "missing".into(),
        None => "FAILED".into(),
        Some(v) if unit == "ns" => crate::bench::fmt_ns(v),
        Some(v) => format!("{v:.0} {unit}"),
    }
}

fn unit(name: &str) -> &'static str {
    if name.ends_with("_bytes") {
        "B"
    } else if name.ends_with("_kib") {
        "KiB"
    } else {
        "ns"
    }
}

/// The scale table: per benchmark and size, the medians and the ratio;
/// then per benchmark k on each kernel.
fn scale_table(rows: &[Row], rounds: usize) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{:<24} {:>13} {:>13} {:>7}", "benchmark/size", "ours", "linux", "ratio");
    for r in rows {
        let ratio = match (r.sides[0].median(), r.sides[1].median()) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "-".into(),
        };
        let _ = writeln!(
            t,
            "{:<24} {:>13} {:>13} {:>7}",
            r.name,
            cell(&r.sides[0], "ns"),
            cell(&r.sides[1], "ns"),
            ratio
        );
    }
    let mut names: Vec<&str> = rows.iter().filter_map(|r| Some(split(&r.name)?.0)).collect();
    names.dedup();
    let _ = writeln!(t, "\n{:<16} {:>22} {:>22} {:>8}", "growth k", "ours", "linux", "");
    for n in names {
        let (a, b) = (fit(rows, n, 0), fit(rows, n, 1));
        let _ = writeln!(t, "{:<16} {:>22} {:>22} {:>8}", n, k_cell(&a), k_cell(&b), verdict(&a, &b));
    }
    let _ = writeln!(
        t,
        "(medians of {rounds} rounds; k: time ∝ size^k, least squares over the three sizes' medians, \
         [min,max] of the rounds' own fits; ok = ours' k ≤ Linux's + 0.1 or the rounds' ranges overlap)"
    );
    t.push_str(&failures(rows));
    t
}

fn failures(rows: &[Row]) -> String {
    let mut notes = String::new();
    for r in rows {
        for (k, side) in r.sides.iter().enumerate() {
            for f in &side.failures {
                let _ = writeln!(notes, "  {} on {}: {f}", r.name, KERNELS[k]);
            }
        }
    }
    if notes.is_empty() { notes } else { format!("failures:\n{notes}") }
}

fn workloads_table(rows: &[Row], rounds: usize) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<24} {:>13} {:>13} {:>7} {:>8} {:>8}",
        "workload", "ours", "linux", "ratio", "spread o", "spread l"
    );
    for r in rows {
        let u = unit(&r.name);
        let ratio = match (r.sides[0].median(), r.sides[1].median()) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "-".into(),
        };
        let sp = |s: &Side| s.spread().map_or("-".into(), |x| format!("{:.0}%", x * 100.0));
        let _ = writeln!(
            t,
            "{:<24} {:>13} {:>13} {:>7} {:>8} {:>8}",
            r.name,
            cell(&r.sides[0], u),
            cell(&r.sides[1], u),
            ratio,
            sp(&r.sides[0]),
            sp(&r.sides[1])
        );
    }
    let _ =
        writeln!(t, "(medians of {rounds} rounds, one run each per round; spread = (max - min) / median)");
    t.push_str(&failures(rows));
    t
}

/// Runs the scale or workloads boots and prints their table.
pub fn cmd(o: &Opts) -> Result<(), String> {
    let wall = Instant::now();
    let (initrd, mut rows, tag) = match o.kind {
        Kind::Scale => {
            let (img, _) = scale_initramfs(&o.only)?;
            (img, Vec::new(), "scale")
        }
        Kind::Workloads => (workloads_initramfs(&o.only)?, Vec::new(), "workloads"),
    };
    let mut qemus = [
        crate::qemu_for(o.kernel.clone(), Some(initrd.clone()), "", 1),
        crate::qemu_for(o.linux.clone(), Some(initrd), crate::linux::CMDLINE, 1),
    ];
    for q in &mut qemus {
        q.memory = MEMORY.into();
        q.icount = o.icount;
    }
    let stamp = crate::bench::timestamp();
    let out_dir = crate::target_dir().join("bench");
    let log_dir = out_dir.join("logs");
    std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
    let kernels = if o.ours_only { 1 } else { 2 };
    let syms = if o.profile { crate::profile::symbols(&o.kernel)? } else { Vec::new() };
    let leaves = crate::profile::leaves(&syms);
    for round in 1..=o.rounds {
        for (k, q) in qemus.iter().enumerate().take(kernels) {
            let log = log_dir.join(format!("{stamp}-round{round}-{}-{tag}.log", KERNELS[k]));
            eprintln!("xtask: bench --{tag} round {round}/{} on {} ...", o.rounds, KERNELS[k]);
            let t = Instant::now();
            let out = if o.profile && k == 0 {
                // our kernel only: Linux's addresses have no symbols here
                crate::profile::sampled(q, log.with_extension("monitor"), &log, &syms, &leaves, run)?
            } else {
                run(q)?
            };
            let _ = std::fs::write(&log, &out.0);
            let done = parse(&out.0, round, k, &mut rows, &out.1);
            eprintln!(
                "xtask: bench --{tag} round {round} on {}: {:.0} s{} (log {})",
                KERNELS[k],
                t.elapsed().as_secs_f64(),
                if done { "" } else { ", no `bench: done`" },
                log.display()
            );
        }
    }
    let table = match o.kind {
        Kind::Scale => scale_table(&rows, o.rounds),
        Kind::Workloads => workloads_table(&rows, o.rounds),
    };
    println!();
    print!("{table}");
    if o.icount {
        println!("(--icount: guest instructions, 1 ns each: code-path length, not speed)");
    }
    let p = out_dir.join(format!("{tag}-{stamp}.txt"));
    std::fs::write(&p, &table).map_err(|e| format!("{}: {e}", p.display()))?;
    println!(
        "xtask: wrote {}; cargo xtask bench --{tag} took {:.0} s",
        p.display(),
        wall.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One boot: its console output and how it ended.
fn run(q: &Qemu) -> Result<(String, String), String> {
    let o = q.run_captured(BOOT_TIMEOUT, false)?;
    let ended = if o.timed_out {
        format!("QEMU killed after {} s", BOOT_TIMEOUT.as_secs())
    } else {
        format!("the kernel stopped (QEMU status {:?})", o.status)
    };
    Ok((o.output, ended))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents() {
        let lin = [(10.0, 5.0), (1000.0, 500.0), (100000.0, 50000.0)];
        assert!((exponent(&lin).unwrap() - 1.0).abs() < 1e-9);
        let flat = [(1.0, 7.0), (8.0, 7.0), (32.0, 7.0)];
        assert!(exponent(&flat).unwrap().abs() < 1e-9);
        assert!(exponent(&[(1.0, 1.0)]).is_none());
        let mut rows = Vec::new();
        let out = "BENCH a/10 100\nBENCH a/1000 10000\nBENCH a/100000 1000000\nbench: done\n";
        assert!(parse(out, 1, 0, &mut rows, ""));
        assert!(parse(
            "BENCH a/10 100\nBENCH a/1000 100\nBENCH a/100000 100\nbench: done\n",
            1,
            1,
            &mut rows,
            ""
        ));
        let (o, l) = (fit(&rows, "a", 0), fit(&rows, "a", 1));
        assert!((o.of_medians.unwrap() - 1.0).abs() < 1e-9 && l.of_medians.unwrap().abs() < 1e-9);
        assert_eq!(verdict(&o, &l), "HIGHER");
        assert!(scale_table(&rows, 1).contains("HIGHER"));
    }
}

//! `cargo xtask bench --tcgstat`: what QEMU's TCG does per operation beyond
//! the guest's instructions, counted by the plugin xtask/plugins/tcgstat.c
//! (QEMU 7.2's plugin API) between the window markers the bench harness
//! (user/bench/bench.h) puts around each batch. Deterministic with
//! `-icount` (which `--tcgstat` implies): the same figures on a loaded host.
//! Method and figures: docs/bench.md "wall35".

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bench::Row;

/// Compiles the plugin (when its source is newer than the library) and
/// returns the shared library's path.
pub fn build() -> Result<PathBuf, String> {
    crate::setup::ensure_tools(&[("gcc", "gcc")])?;
    let src = crate::root().join("xtask/plugins/tcgstat.c");
    let dir = crate::target_dir().join("tcgstat");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let so = dir.join("tcgstat.so");
    let newer = |a: &Path, b: &Path| {
        let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        matches!((m(a), m(b)), (Some(x), Some(y)) if x <= y)
    };
    if !newer(&src, &so) {
        let st = Command::new("gcc")
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&so)
            .arg(&src)
            .status()
            .map_err(|e| format!("gcc: {e}"))?;
        if !st.success() {
            return Err(format!("gcc failed on {}", src.display()));
        }
    }
    Ok(so)
}

/// One window's `key=value` counts, in the plugin's order.
pub type Window = Vec<(String, u64)>;

/// The windows of a plugin output file (`window N k=v ...` lines).
pub fn parse(text: &str) -> Vec<Window> {
    text.lines()
        .filter(|l| l.starts_with("window "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
                .collect()
        })
        .collect()
}

fn get(w: &Window, key: &str) -> Option<u64> {
    w.iter().find(|(k, _)| k == key).map(|&(_, v)| v)
}

/// Prints the last window of `file` per operation: the window's counts
/// times the row's instructions per operation (its `--icount` figure) over
/// the window's instructions. The boot must have run one row (besides
/// `boot_rows`): windows carry no row name.
pub fn report(
    file: &Path,
    rows: &[Row],
    boot_rows: &[&str],
    kernel: usize,
    round: usize,
    elf: Option<&Path>,
) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let windows = parse(&text);
    // the boot's cost up to the first batch (deterministic under -icount)
    if let Some(l) = text.lines().find(|l| l.starts_with("before_first_window ")) {
        println!("tcgstat: boot, init and the harness's start: {}", &l["before_first_window ".len()..]);
    }
    let ran: Vec<&Row> = rows
        .iter()
        .filter(|r| !boot_rows.contains(&r.name.as_str()) && r.sides[kernel].samples.len() == round)
        .collect();
    let Some(last) = windows.last() else {
        println!("tcgstat: no window in {} (a program without bench.h's markers?)", file.display());
        return Ok(());
    };
    let insns = get(last, "insns").unwrap_or(0).max(1) as f64;
    let (name, per_op) = match ran.as_slice() {
        [r] => (r.name.as_str(), r.sides[kernel].samples.last().copied()),
        _ => ("(several rows: per 1000 instructions)", None),
    };
    let scale = per_op.map_or(1000.0 / insns, |p| p / insns);
    println!(
        "tcgstat {name}: {} windows, the last {} instructions{}; {}:",
        windows.len(),
        insns as u64,
        per_op.map_or(String::new(), |p| format!(", {p:.0} per operation")),
        if per_op.is_some() { "per operation" } else { "per 1000 instructions" }
    );
    let mut line = String::new();
    for (k, v) in last {
        if *v == 0 {
            continue;
        }
        let x = *v as f64 * scale;
        let item = if x >= 100.0 { format!(" {k}={x:.0}") } else { format!(" {k}={x:.2}") };
        if line.len() + item.len() > 100 {
            println!("  {}", line.trim_start());
            line.clear();
        }
        line.push_str(&item);
    }
    if !line.is_empty() {
        println!("  {}", line.trim_start());
    }
    if let Some(elf) = elf {
        boot_translations(&text, elf)?;
        hot(&text, get(last, "epochs").unwrap_or(0), elf)?;
    }
    println!("  (every window: {})", file.display());
    Ok(())
}

/// Where the kernel's half of the address space starts.
const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;

/// The kernel's symbols, functions and objects: (start, size, name), sorted.
fn all_symbols(kernel: &Path) -> Result<Vec<(u64, u64, String)>, String> {
    crate::profile::elf_symbols(kernel, true)
}

/// The symbols overlapping `[lo, hi)` (a symbol without a size covers one byte).
fn overlapping(syms: &[(u64, u64, String)], lo: u64, hi: u64) -> Vec<&str> {
    let end = syms.partition_point(|s| s.0 < hi);
    syms[..end].iter().filter(|s| s.0 + s.1.max(1) > lo).map(|s| s.2.as_str()).collect()
}

/// The code the boot generated before the first window (the plugin's
/// `trans PC INSNS` lines) by kernel function: under TCG each generated
/// block is host time that instruction counts do not show (docs/bench.md
/// "The fourteenth session").
fn boot_translations(text: &str, elf: &Path) -> Result<(), String> {
    let syms = all_symbols(elf)?;
    let mut by: std::collections::BTreeMap<&str, (u64, u64)> = std::collections::BTreeMap::new();
    let (mut low, mut kernel, mut kernel_insns) = (0u64, 0u64, 0u64);
    for l in text.lines().filter(|l| l.starts_with("trans ")) {
        let mut f = l.split_whitespace().skip(1);
        let pc = f.next().and_then(|v| u64::from_str_radix(v, 16).ok()).unwrap_or(0);
        let n = f.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        if pc < KERNEL_HALF {
            low += 1;
            continue;
        }
        kernel += 1;
        kernel_insns += n;
        let i = syms.partition_point(|s| s.0 <= pc);
        let name = i.checked_sub(1).map_or("?", |i| syms[i].2.as_str());
        let e = by.entry(name).or_default();
        e.0 += 1;
        e.1 += n;
    }
    if kernel + low == 0 {
        return Ok(());
    }
    println!(
        "  blocks generated before the first window: {kernel} kernel ({kernel_insns} instructions), {low} below the kernel's half (firmware, user)"
    );
    let mut top: Vec<_> = by.into_iter().collect();
    top.sort_by_key(|e| std::cmp::Reverse(e.1));
    for (name, (blocks, insns)) in top.iter().take(15) {
        println!("    {blocks:5} blocks {insns:6} instructions  {name}");
    }
    Ok(())
}

/// Names what the last window touched in at least half of its CR3 epochs
/// (the plugin's `code_page`, `kernel_line`, `cross_page` and
/// `jcache_miss` lists): the kernel's code pages with the functions on
/// them, its static data by 64-byte line with the statics on them, and
/// the most frequent jumps to another page. The lists the hot text and
/// data of kernel-bin/linker.ld are kept by (docs/bench.md "Hot text and
/// data").
fn hot(text: &str, epochs: u64, elf: &Path) -> Result<(), String> {
    let syms = all_symbols(elf)?;
    let start = text.rfind("\nwindow ").map_or(0, |i| i + 1);
    let half = epochs.div_ceil(2).max(1);
    let name = |a: u64| -> String {
        let i = syms.partition_point(|s| s.0 <= a);
        match i.checked_sub(1).map(|i| &syms[i]) {
            _ if a < KERNEL_HALF => format!("[user] {a:#x}"),
            Some(s) => format!("{}+{:#x}", s.2, a - s.0),
            None => format!("{a:#x}"),
        }
    };
    let (mut code, mut user_code, mut lines, mut jumps) = (Vec::new(), 0, Vec::new(), Vec::new());
    let mut locked = Vec::new();
    for l in text[start..].lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let hex = |i: usize| f.get(i).and_then(|v| u64::from_str_radix(v, 16).ok()).unwrap_or(0);
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        match f.first() {
            Some(&"code_page") if num(2) >= half => {
                if hex(1) >= KERNEL_HALF >> 12 {
                    code.push(hex(1) << 12);
                } else {
                    user_code += 1;
                }
            }
            Some(&"kernel_line") if num(2) >= half => lines.push(hex(1)),
            Some(&"cross_page") if jumps.len() < 12 => jumps.push((hex(1), hex(2), num(3))),
            Some(&"locked_at") if locked.len() < 16 => locked.push((hex(1), num(3))),
            _ => {}
        }
    }
    code.sort();
    println!("  code pages touched in at least half the epochs: {} kernel, {user_code} user", code.len());
    for p in &code {
        let on = overlapping(&syms, *p, p + 4096);
        println!("    {p:#x}: {}", on.join(", "));
    }
    lines.sort();
    let pages = {
        let mut v: Vec<u64> = lines.iter().map(|l| l >> 12).collect();
        v.dedup();
        v.len()
    };
    println!(
        "  kernel image data lines touched in at least half the epochs: {} on {pages} pages",
        lines.len()
    );
    for l in &lines {
        let on = overlapping(&syms, *l, l + 64);
        println!("    {l:#x}: {}", if on.is_empty() { name(*l) } else { on.join(", ") });
    }
    println!("  most frequent jumps to another page (per window):");
    for (a, b, n) in jumps {
        println!("    {n} {} -> {}", name(a), name(b));
    }
    // an atomic helper call each under multi-threaded TCG with 2+ vCPUs
    // (`addr2line -i` on the address gives the inlined caller)
    println!("  most executed locked instructions (per window):");
    for (a, n) in locked {
        println!("    {n} {a:#x} {}", name(a));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse() {
        let w = parse("window 0 insns=10 tbs=3\nwindow 1 insns=20 tbs=5 x=y\nend windows=2\n");
        assert_eq!(w.len(), 2);
        assert_eq!(get(&w[1], "insns"), Some(20));
        assert_eq!(get(&w[1], "tbs"), Some(5));
        assert_eq!(get(&w[1], "x"), None);
    }
}

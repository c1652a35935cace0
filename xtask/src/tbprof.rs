//! `cargo xtask bench --tb-profile --only ROWS [--kernel ELF]`: exact guest
//! instructions per operation by kernel function. Each row's program is
//! booted alone, and once a boot with no benchmark program, both under
//! `-icount` with the TCG plugin `xtask/plugins/tbcount.c`, which counts
//! how often each translation block runs; the row's counts minus the empty
//! boot's, over the row's operations, are attributed to the kernel's
//! functions through its symbol table (user mode as one line). The
//! operations are the difference's instructions over the row's own
//! `--icount` figure (instructions per operation of its best batch, so
//! within a few per mille). See docs/bench.md "Instructions by function".

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One counted translation block: its guest address, instructions and
/// executions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Block {
    pub vaddr: u64,
    pub insns: u64,
    pub count: u64,
}

/// Builds `target/plugins/tbcount.so` from `xtask/plugins/tbcount.c` with
/// gcc unless it is newer than the source.
pub fn plugin() -> Result<PathBuf, String> {
    let src = crate::root().join("xtask/plugins/tbcount.c");
    let dir = crate::target_dir().join("plugins");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join("tbcount.so");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(o), Some(s)) = (mtime(&out), mtime(&src))
        && o > s
    {
        return Ok(out);
    }
    let st = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .map_err(|e| format!("gcc: {e}"))?;
    if !st.success() {
        return Err(format!("gcc could not build {} ({st})", src.display()));
    }
    Ok(out)
}

/// The `-plugin` argument that writes the counts to `out`.
pub fn plugin_arg(so: &Path, out: &Path) -> String {
    format!("{},out={}", so.display(), out.display())
}

/// Parses the plugin's output (`<vaddr hex> <insns> <count>` per line).
pub fn parse(text: &str) -> Result<Vec<Block>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut w = l.split_whitespace();
            let mut next = || w.next().ok_or_else(|| format!("short line {l:?}"));
            let vaddr = u64::from_str_radix(next()?, 16).map_err(|e| format!("{l:?}: {e}"))?;
            let insns = next()?.parse().map_err(|e| format!("{l:?}: {e}"))?;
            let count = next()?.parse().map_err(|e| format!("{l:?}: {e}"))?;
            Ok(Block { vaddr, insns, count })
        })
        .collect()
}

/// Per function: (instructions, executions of the block at its first
/// address, i.e. calls). Lower-half addresses are `[user]`, kernel
/// addresses outside every symbol `[kernel ?]`.
pub fn by_function(blocks: &[Block], syms: &[(u64, u64, String)]) -> HashMap<String, (i128, i128)> {
    let mut out: HashMap<String, (i128, i128)> = HashMap::new();
    for b in blocks {
        let (name, entry) = if b.vaddr < 0xffff_8000_0000_0000 {
            ("[user]".to_string(), false)
        } else {
            let i = syms.partition_point(|s| s.0 <= b.vaddr);
            match i.checked_sub(1).map(|i| &syms[i]) {
                Some((start, size, name)) if b.vaddr < start + (*size).max(1) => {
                    (name.clone(), b.vaddr == *start)
                }
                _ => ("[kernel ?]".to_string(), false),
            }
        };
        let e = out.entry(name).or_default();
        e.0 += i128::from(b.insns) * i128::from(b.count);
        if entry {
            e.1 += i128::from(b.count);
        }
    }
    out
}

/// The report of one row: per function, the row boot's instructions and
/// calls minus the empty boot's, over `ops`, largest first (functions
/// whose difference rounds to zero left out). Tab-separated after a
/// header: `instr/op  calls/op  function`.
pub fn report(
    row: &str,
    kernel: &Path,
    per_op: f64,
    with: &HashMap<String, (i128, i128)>,
    without: &HashMap<String, (i128, i128)>,
) -> String {
    let mut diff: Vec<(String, i128, i128)> = with
        .iter()
        .map(|(n, (i, c))| {
            let (i0, c0) = without.get(n).copied().unwrap_or_default();
            (n.clone(), i - i0, c - c0)
        })
        .chain(without.iter().filter(|(n, _)| !with.contains_key(*n)).map(|(n, (i, c))| (n.clone(), -i, -c)))
        .collect();
    let total: i128 = diff.iter().map(|d| d.1).sum();
    let ops = if per_op > 0.0 { (total as f64 / per_op).round().max(1.0) } else { 1.0 };
    diff.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut s = format!(
        "# tb-profile {row}: {ops:.0} operations ({total} instructions over the row's {per_op:.1} per operation); kernel {}\n\
         # instr/op\tcalls/op\tfunction\n",
        kernel.display()
    );
    s.push_str(&format!("{:.1}\t-\t[total]\n", total as f64 / ops));
    for (n, i, c) in diff {
        let (i, c) = (i as f64 / ops, c as f64 / ops);
        if i.abs() < 0.5 && c.abs() < 0.005 {
            continue;
        }
        s.push_str(&format!("{i:.1}\t{c:.2}\t{n}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_attributed_per_function_and_diffed_per_operation() {
        let syms = vec![
            (0xffff_ffff_8000_0000, 0x100, "a".to_string()),
            (0xffff_ffff_8000_0100, 0x100, "b".to_string()),
        ];
        let row = parse(
            "ffffffff80000000 4 100\nffffffff80000010 2 50\nffffffff80000100 3 10\n401000 5 20\nffffffff90000000 1 1\n",
        )
        .unwrap();
        let empty = parse("ffffffff80000000 4 10\nffffffff80000180 7 1\n").unwrap();
        let (w, wo) = (by_function(&row, &syms), by_function(&empty, &syms));
        assert_eq!(w["a"], (500, 100));
        assert_eq!(w["b"], (30, 10));
        assert_eq!(w["[user]"], (100, 0));
        assert_eq!(w["[kernel ?]"], (1, 0));
        assert_eq!(wo["b"], (7, 0));
        // total: 631 - 47 = 584 instructions; at 58.4 per operation: 10 operations
        let r = report("x", Path::new("k.elf"), 58.4, &w, &wo);
        let lines: Vec<&str> = r.lines().collect();
        assert!(lines[0].contains("10 operations"), "{r}");
        assert_eq!(lines[2], "58.4\t-\t[total]");
        assert_eq!(lines[3], "46.0\t9.00\ta");
        assert_eq!(lines[4], "10.0\t0.00\t[user]");
        assert_eq!(lines[5], "2.3\t1.00\tb");
        assert_eq!(lines.len(), 6, "[kernel ?]'s 0.1 per operation is left out: {r}");
        assert!(parse("zz 1 2").is_err() && parse("10 1").is_err());
    }
}

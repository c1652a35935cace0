//! `cargo xtask disk --from DIR PATH [--size SIZE] [--block-size 1024|2048|4096]`:
//! an ext2 image of a directory tree (`mke2fs -t ext2 -d`), checked with
//! `e2fsck -fn` before it is handed over.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str =
    "usage: cargo xtask disk --from DIR PATH [--size SIZE(K|M|G)] [--block-size 1024|2048|4096]";

/// The e2fsprogs programs, found on the PATH or in /usr/sbin and /sbin.
pub fn e2fs_tool(name: &str) -> PathBuf {
    for d in ["/usr/sbin", "/sbin"] {
        let p = Path::new(d).join(name);
        if p.is_file() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// Bytes and entries under `dir` (symbolic links not followed).
fn tree_size(dir: &Path) -> Result<(u64, u64), String> {
    let (mut bytes, mut entries) = (0u64, 0u64);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let e = e.map_err(|e| format!("{}: {e}", d.display()))?;
            let md = e.path().symlink_metadata().map_err(|err| format!("{}: {err}", e.path().display()))?;
            entries += 1;
            bytes += md.len();
            if md.is_dir() {
                stack.push(e.path());
            }
        }
    }
    Ok((bytes, entries))
}

fn parse_size(s: &str) -> Option<u64> {
    let (num, mul) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul).filter(|&n| n >= 1 << 20)
}

fn run(args: &[String]) -> Result<(), String> {
    let (mut from, mut path, mut size, mut bs) = (None, None, None, 4096u32);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--from" => from = Some(PathBuf::from(it.next().ok_or(USAGE)?)),
            "--size" => {
                let s = it.next().ok_or(USAGE)?;
                size = Some(parse_size(s).ok_or(format!("--size {s}: a size of 1M or more, e.g. 64M"))?);
            }
            "--block-size" => {
                bs = it
                    .next()
                    .and_then(|b| b.parse().ok())
                    .filter(|b| [1024, 2048, 4096].contains(b))
                    .ok_or(USAGE)?
            }
            p if path.is_none() && !p.starts_with("--") => path = Some(PathBuf::from(p)),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let (Some(from), Some(path)) = (from, path) else { return Err(USAGE.into()) };
    if !from.is_dir() {
        return Err(format!("{}: not a directory", from.display()));
    }
    if path.exists() {
        return Err(format!("{} exists; remove it first", path.display()));
    }
    crate::setup::ensure_tools(crate::HOST_TEST_TOOLS)?;
    let (bytes, entries) = tree_size(&from)?;
    // room for the data, a block of slack per entry, the metadata and a
    // quarter more
    let want = size.unwrap_or_else(|| (bytes + entries * u64::from(bs)) * 5 / 4 + (16 << 20));
    let kib = want.div_ceil(1024);
    let out = Command::new(e2fs_tool("mke2fs"))
        .args(["-q", "-F", "-t", "ext2", "-b", &bs.to_string(), "-d"])
        .arg(&from)
        .arg(&path)
        .arg(format!("{kib}k"))
        .output()
        .map_err(|e| format!("mke2fs: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&path);
        return Err(format!("mke2fs: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let check = Command::new(e2fs_tool("e2fsck"))
        .arg("-fn")
        .arg(&path)
        .output()
        .map_err(|e| format!("e2fsck: {e}"))?;
    if !check.status.success() {
        return Err(format!(
            "e2fsck -fn {}: {}",
            path.display(),
            String::from_utf8_lossy(&check.stdout).trim()
        ));
    }
    eprintln!(
        "xtask: {} ({} MiB ext2, {bs}-byte blocks): {entries} entries, {} MiB of {}",
        path.display(),
        kib / 1024,
        bytes >> 20,
        from.display()
    );
    Ok(())
}

/// The `disk` command.
pub fn main(args: &[String]) -> ExitCode {
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

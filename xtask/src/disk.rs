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
    make_image(Some(&from), &path, size, bs)
}

/// Makes the ext2 image `path` (which must not exist) with mke2fs: of the
/// tree `from` (`-d`), sized from it unless `size` is given, or empty (of
/// `size`, 64 MiB by default); checked by `e2fsck -fn`.
pub fn make_image(from: Option<&Path>, path: &Path, size: Option<u64>, bs: u32) -> Result<(), String> {
    crate::setup::ensure_tools(crate::HOST_TEST_TOOLS)?;
    let (bytes, entries) = match from {
        Some(f) => tree_size(f)?,
        None => (0, 0),
    };
    // room for the data, a block of slack per entry, the metadata and a
    // quarter more
    let want = size.unwrap_or_else(|| match from {
        Some(_) => (bytes + entries * u64::from(bs)) * 5 / 4 + (16 << 20),
        None => 64 << 20,
    });
    let kib = want.div_ceil(1024);
    let mut mk = Command::new(e2fs_tool("mke2fs"));
    mk.args(["-q", "-F", "-t", "ext2", "-b", &bs.to_string()]);
    if let Some(f) = from {
        mk.arg("-d").arg(f);
    }
    let out = mk.arg(path).arg(format!("{kib}k")).output().map_err(|e| format!("mke2fs: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(path);
        return Err(format!("mke2fs: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let check = Command::new(e2fs_tool("e2fsck"))
        .arg("-fn")
        .arg(path)
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
        from.map_or("nothing".into(), |f| f.display().to_string())
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

/// The byte at offset `i` of the ktest image's `big.bin` (the kernel test
/// computes the same).
fn pattern(i: usize) -> u8 {
    ((i * 7 + i / 4096) % 251) as u8
}

/// The image the kernel tests attach: an ext2 file system (1 KiB blocks,
/// so that `big.bin` needs double-indirect blocks) with `hello.txt` and a
/// 3 MiB `big.bin` of [`pattern`], made afresh by `mke2fs -d` under
/// target/blk.
pub fn ktest_image() -> Result<PathBuf, String> {
    let dir = crate::target_dir().join("blk");
    let tree = dir.join("tree");
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(tree.join("sub")).map_err(|e| format!("{}: {e}", tree.display()))?;
    let write =
        |p: PathBuf, data: &[u8]| std::fs::write(&p, data).map_err(|e| format!("{}: {e}", p.display()));
    write(tree.join("hello.txt"), b"hello from the host through virtio-blk\n")?;
    write(tree.join("sub").join("big.bin"), &(0..3 << 20).map(pattern).collect::<Vec<u8>>())?;
    let img = dir.join("ktest.img");
    let _ = std::fs::remove_file(&img);
    make_image(Some(&tree), &img, Some(8 << 20), 1024)?;
    Ok(img)
}

/// The ext2 image the user suite's `ext2_mount.c` copies onto /dev/vda
/// (the initramfs's /ext2.img): 4 MiB, 4 KiB blocks, 128-byte inodes,
/// 10,240 inodes (room for 10,000 names), made by mke2fs and checked.
pub fn suite_ext2_image() -> Result<Vec<u8>, String> {
    crate::setup::ensure_tools(crate::HOST_TEST_TOOLS)?;
    let dir = crate::target_dir().join("blk");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let img = dir.join("suite-ext2.img");
    let _ = std::fs::remove_file(&img);
    let out = Command::new(e2fs_tool("mke2fs"))
        .args(["-q", "-F", "-t", "ext2", "-b", "4096", "-I", "128", "-N", "10240"])
        .arg(&img)
        .arg("4096k")
        .output()
        .map_err(|e| format!("mke2fs: {e}"))?;
    if !out.status.success() {
        return Err(format!("mke2fs: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    std::fs::read(&img).map_err(|e| format!("{}: {e}", img.display()))
}

/// A scratch disk for the user suite (`blockdev.c`): 4 MiB of zeros under
/// target/blk, made afresh for every run.
pub fn scratch_image() -> Result<PathBuf, String> {
    let dir = crate::target_dir().join("blk");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let img = dir.join("scratch.img");
    let f = std::fs::File::create(&img).map_err(|e| format!("{}: {e}", img.display()))?;
    f.set_len(4 << 20).map_err(|e| format!("{}: {e}", img.display()))?;
    Ok(img)
}

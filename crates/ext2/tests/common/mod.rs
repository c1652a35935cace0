//! Host helpers: e2fsprogs found on PATH or in /usr/sbin, scratch
//! directories, images.
#![allow(dead_code)]

use ext2::testing::MemDisk;
use ext2::{Ext2, MountOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub fn tool(name: &str) -> PathBuf {
    if let Ok(path) = std::env::var("PATH") {
        for d in path.split(':') {
            let p = Path::new(d).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    for d in ["/usr/sbin", "/sbin"] {
        let p = Path::new(d).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} not found: install e2fsprogs (cargo xtask test installs it)");
}

static N: AtomicU32 = AtomicU32::new(0);

/// A fresh scratch directory.
pub fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ext2-test-{}-{}-{}",
        std::process::id(),
        tag,
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `mke2fs -t ext2` of `kib` KiB with `extra` options (e.g. `-d DIR`).
pub fn mke2fs(bs: usize, kib: u64, extra: &[&str]) -> Vec<u8> {
    let d = scratch("mkfs");
    let img = d.join("img");
    let out = Command::new(tool("mke2fs"))
        .args(["-q", "-F", "-t", "ext2", "-b", &bs.to_string()])
        .args(extra)
        .arg(&img)
        .arg(format!("{kib}k"))
        .env("MKE2FS_CONFIG", "/etc/mke2fs.conf")
        .output()
        .unwrap();
    assert!(out.status.success(), "mke2fs: {}", String::from_utf8_lossy(&out.stderr));
    let v = std::fs::read(&img).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    v
}

/// Writes `img` to a file in a scratch directory; returns its path.
pub fn to_file(img: &[u8]) -> (PathBuf, PathBuf) {
    let d = scratch("img");
    let p = d.join("img");
    std::fs::write(&p, img).unwrap();
    (d, p)
}

/// `e2fsck -fn`: (clean, its output).
pub fn e2fsck(img: &[u8]) -> (bool, String) {
    let (d, p) = to_file(img);
    let out = Command::new(tool("e2fsck")).args(["-fn"]).arg(&p).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&d);
    (out.status.code() == Some(0), text)
}

/// `debugfs -R CMD` on the image; its stdout.
pub fn debugfs(img_path: &Path, cmd: &str) -> String {
    let out = Command::new(tool("debugfs")).args(["-R", cmd]).arg(img_path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn clock() -> u32 {
    1_700_000_000
}

pub fn opts() -> MountOptions {
    MountOptions { read_only: false, clock }
}

pub fn mount(img: Vec<u8>) -> Ext2<MemDisk> {
    Ext2::mount(MemDisk::new(img), opts()).unwrap()
}

/// Walks `path` (components) from the root.
pub fn resolve(fs: &mut Ext2<MemDisk>, path: &str) -> ext2::Result<u32> {
    let mut ino = fs.root();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        ino = fs.lookup(ino, c.as_bytes())?;
    }
    Ok(ino)
}

/// A whole regular file's bytes.
pub fn read_all(fs: &mut Ext2<MemDisk>, ino: u32) -> Vec<u8> {
    let size = fs.stat(ino).unwrap().size as usize;
    let mut v = vec![0u8; size];
    assert_eq!(fs.read(ino, 0, &mut v).unwrap(), size);
    v
}

/// A deterministic byte pattern.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2654435761).rotate_left(seed as u32 % 31) as u8 ^ seed).collect()
}

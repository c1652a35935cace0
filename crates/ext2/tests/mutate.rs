//! 1,000 images with random bits flipped in the superblock, the group
//! descriptors, the inode tables and the directory blocks: each either
//! fails to mount or is read (and written) with errors, never a panic or a
//! hang.

mod common;

use common::*;
use ext2::testing::MemDisk;
use ext2::{Errno, Ext2, FileType, MountOptions};
use std::collections::BTreeSet;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

/// A read of a damaged image fails as Linux's ext2 does: EIO (a block out
/// of range, a bad read) or EUCLEAN (EFSCORRUPTED: a bad entry or inode),
/// ENOMEM for a size nothing can hold.
fn read_errno(e: Errno) -> usize {
    assert!(matches!(e, Errno::EIO | Errno::EUCLEAN | Errno::ENOMEM), "a read failed with {e:?}");
    1
}

/// Reads everything reachable (bounded), then changes things; read errors
/// are EIO/EUCLEAN, writes may fail as they like, nothing panics.
fn exercise(fs: &mut Ext2<MemDisk>) -> (usize, usize) {
    let mut seen = BTreeSet::new();
    let mut stack = vec![(fs.root(), 0)];
    let (mut ok, mut errs) = (0, 0);
    let mut buf = vec![0u8; 256 * 1024];
    while let Some((dir, depth)) = stack.pop() {
        if !seen.insert(dir) || depth > 16 || seen.len() > 2000 {
            continue;
        }
        let list = match fs.list(dir) {
            Ok(l) => l,
            Err(e) => {
                errs += read_errno(e);
                continue;
            }
        };
        for e in list {
            if e.name == b"." || e.name == b".." {
                continue;
            }
            let _ = fs.lookup(dir, &e.name);
            match fs.stat(e.ino) {
                Ok(st) => {
                    ok += 1;
                    match st.file_type() {
                        Some(FileType::Directory) => stack.push((e.ino, depth + 1)),
                        Some(FileType::Regular) => {
                            if let Err(e) = fs.read(e.ino, 0, &mut buf) {
                                errs += read_errno(e);
                            }
                            if let Err(e) = fs.read(e.ino, st.size.saturating_sub(100), &mut buf[..4096]) {
                                errs += read_errno(e);
                            }
                        }
                        Some(FileType::Symlink) => {
                            if let Err(e) = fs.readlink(e.ino) {
                                errs += read_errno(e);
                            }
                        }
                        _ => {}
                    }
                }
                Err(e) => errs += read_errno(e),
            }
        }
    }
    let _ = fs.statfs();
    // writes over whatever is there
    let root = fs.root();
    if let Ok(f) = fs.create(root, b"new-file", 0o100644, 0, 0, None) {
        let _ = fs.write(f, 0, &buf[..20000]);
        let _ = fs.write(f, 300_000, b"far");
        let _ = fs.truncate(f, 5000);
    }
    let _ = fs.mkdir(root, b"new-dir", 0o755, 0, 0);
    let _ = fs.rename(root, b"new-file", root, b"renamed");
    for name in [&b"hello"[..], b"a", b"sparse", b"renamed"] {
        let _ = fs.unlink(root, name);
    }
    if let Ok(a) = fs.lookup(root, b"a") {
        let _ = fs.rename(root, b"hello2", a, b"x");
        let _ = fs.rmdir(a, b"b");
        let _ = fs.symlink(
            a,
            b"link",
            b"somewhere/far/away/and/long/enough/to/be/a/slow/symlink/in/a/block",
            0,
            0,
        );
    }
    let _ = fs.sync();
    (ok, errs)
}

#[test]
fn mutated_images_never_panic() {
    let src = scratch("mutsrc");
    std::fs::create_dir_all(src.join("a/b")).unwrap();
    std::fs::write(src.join("hello"), b"hello").unwrap();
    std::fs::write(src.join("hello2"), pattern(3000, 1)).unwrap();
    std::fs::write(src.join("a/mid"), pattern(40_000, 2)).unwrap();
    std::fs::write(src.join("a/b/big"), pattern(300_000, 3)).unwrap();
    for i in 0..40 {
        std::fs::write(src.join(format!("a/b/n{i}")), format!("{i}")).unwrap();
    }
    std::os::unix::fs::symlink("hello", src.join("fast")).unwrap();
    std::os::unix::fs::symlink("z/".repeat(40), src.join("slow")).unwrap();
    let img = mke2fs(1024, 2048, &["-g", "1024", "-N", "128", "-d", src.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&src);
    // the regions: superblock, descriptors, inode tables, directory blocks
    // (the used part of the superblock: its first 264 bytes)
    let mut kinds: Vec<Vec<(usize, usize)>> = vec![vec![(1024, 264)], vec![(2048, 64)], vec![], vec![]];
    for g in 0..2 {
        let it = le32(&img, 2048 + g * 32 + 8) as usize;
        kinds[2].push((it * 1024, 4 * 1024));
    }
    let (d, path) = to_file(&img);
    for dir in ["/", "/a", "/a/b", "/lost+found"] {
        for b in debugfs(&path, &format!("blocks {dir}")).split_whitespace() {
            let b: usize = b.parse().unwrap();
            kinds[3].push((b * 1024, 1024));
        }
    }
    let _ = std::fs::remove_dir_all(&d);
    assert!(kinds[3].len() >= 4, "{kinds:?}");
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let (mut refused, mut mounted, mut errors) = (0, 0, 0);
    for _ in 0..1000 {
        let mut m = img.clone();
        let flips = 1 + rng.below(8);
        for _ in 0..flips {
            let regions = &kinds[rng.below(kinds.len() as u64) as usize];
            let (start, len) = regions[rng.below(regions.len() as u64) as usize];
            let byte = start + rng.below(len as u64) as usize;
            m[byte] ^= 1 << rng.below(8);
        }
        match Ext2::mount(MemDisk::new(m), MountOptions::default()) {
            Err(e) => {
                assert!(
                    matches!(e.errno(), Errno::EINVAL | Errno::EIO | Errno::EUCLEAN | Errno::ENOMEM),
                    "{e:?}"
                );
                refused += 1;
            }
            Ok(mut fs) => {
                mounted += 1;
                let (_, errs) = exercise(&mut fs);
                errors += errs;
                let _ = fs.unmount();
            }
        }
    }
    println!("1000 mutated images: {refused} refused at mount, {mounted} mounted, {errors} read errors");
    assert!(refused > 30 && mounted > 300 && errors > 10, "{refused} refused, {mounted} mounted");
}

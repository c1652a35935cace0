//! Host helpers: e2fsprogs found on PATH or in /usr/sbin, scratch
//! directories, images.
#![allow(dead_code)]

use ext2::testing::MemDisk;
use ext2::{Errno, Ext2, FileType, MountOptions, SetAttr};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
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
    MountOptions::new(false, clock)
}

pub fn mount(img: Vec<u8>) -> Ext2<MemDisk> {
    Ext2::mount(MemDisk::new(img), opts()).unwrap()
}

/// Walks `path` (components) from the root.
pub fn resolve<D: ext2::BlockDevice>(fs: &mut Ext2<D>, path: &str) -> ext2::Result<u32> {
    let mut ino = fs.root();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        ino = fs.lookup(ino, c.as_bytes())?;
    }
    Ok(ino)
}

/// A whole regular file's bytes.
pub fn read_all<D: ext2::BlockDevice>(fs: &mut Ext2<D>, ino: u32) -> Vec<u8> {
    let size = fs.stat(ino).unwrap().size as usize;
    let mut v = vec![0u8; size];
    assert_eq!(fs.read(ino, 0, &mut v).unwrap(), size);
    v
}

/// A deterministic byte pattern.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2654435761).rotate_left(seed as u32 % 31) as u8 ^ seed).collect()
}

/// A source tree with every kind of file `mke2fs -d` copies.
pub fn make_tree(root: &Path) {
    use std::fs;
    fs::create_dir_all(root.join("a/b/c/d/e")).unwrap();
    fs::write(root.join("empty"), b"").unwrap();
    fs::write(root.join("hello"), b"hello, world\n").unwrap();
    for (i, n) in [1023usize, 1024, 1025, 4095, 4097, 13 * 1024, 300 * 1024, 1100 * 1024].iter().enumerate() {
        fs::write(root.join(format!("a/f{n}")), pattern(*n, i as u8 + 1)).unwrap();
    }
    fs::write(root.join("a/b/c/d/e/deep"), b"deep file").unwrap();
    // sparse: data, a hole, data; and one byte far out (triple indirect at 1 KiB)
    let mut f = fs::File::create(root.join("sparse")).unwrap();
    f.write_all(&pattern(5000, 9)).unwrap();
    f.seek(SeekFrom::Start(3 << 20)).unwrap();
    f.write_all(b"middle").unwrap();
    f.seek(SeekFrom::Start(70 << 20)).unwrap();
    f.write_all(b"end").unwrap();
    drop(f);
    std::os::unix::fs::symlink("hello", root.join("fast")).unwrap();
    let long = "x/".repeat(50) + "target";
    std::os::unix::fs::symlink(&long, root.join("slow")).unwrap();
    fs::hard_link(root.join("hello"), root.join("a/hello-link")).unwrap();
    fs::set_permissions(root.join("hello"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(root.join("a/f1023"), fs::Permissions::from_mode(0o4755)).unwrap();
    assert!(Command::new("mkfifo").arg(root.join("fifo")).status().unwrap().success());
    let _sock = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
    if Command::new("mknod").arg(root.join("null")).args(["c", "1", "3"]).status().is_ok_and(|s| s.success())
    {
        let _ = Command::new("mknod").arg(root.join("bigdev")).args(["b", "259", "300"]).status();
    }
    let _ = Command::new("chown").args(["1000:1001"]).arg(root.join("a/f1024")).status();
    for i in 0..120 {
        fs::write(root.join(format!("a/b/many-{i:03}-with-a-longer-name")), format!("{i}")).unwrap();
    }
}

/// Compares the tree under `src` with directory `ino` of the image.
pub fn compare(fs: &mut Ext2<MemDisk>, ino: u32, src: &Path, root: bool) -> usize {
    let mut names: Vec<String> =
        std::fs::read_dir(src).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let mut ours: Vec<String> = fs
        .list(ino)
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8(e.name).unwrap())
        .filter(|n| n != "." && n != ".." && !(root && n == "lost+found"))
        .collect();
    ours.sort();
    assert_eq!(ours, names, "entries of {}", src.display());
    let mut n = 0;
    for name in names {
        let p = src.join(&name);
        let md = std::fs::symlink_metadata(&p).unwrap();
        let child = fs.lookup(ino, name.as_bytes()).unwrap();
        let st = fs.stat(child).unwrap();
        assert_eq!(st.mode as u32, md.mode(), "{}", p.display());
        assert_eq!(st.uid, md.uid(), "{}", p.display());
        assert_eq!(st.gid, md.gid(), "{}", p.display());
        assert_eq!(st.nlink as u64, md.nlink(), "{}", p.display());
        assert_eq!(st.mtime as i64, md.mtime(), "{}", p.display());
        n += 1;
        match st.file_type().unwrap() {
            FileType::Directory => n += compare(fs, child, &p, false),
            FileType::Regular => {
                assert_eq!(st.size, md.len());
                assert_eq!(read_all(fs, child), std::fs::read(&p).unwrap(), "{}", p.display());
            }
            FileType::Symlink => {
                let t = std::fs::read_link(&p).unwrap();
                assert_eq!(fs.readlink(child).unwrap(), t.as_os_str().as_encoded_bytes());
            }
            FileType::CharDevice | FileType::BlockDevice => {
                let r = md.rdev();
                let major = ((r >> 8) & 0xfff) | ((r >> 32) & !0xfff);
                let minor = (r & 0xff) | ((r >> 12) & !0xff);
                assert_eq!(st.rdev, (major as u32, minor as u32));
            }
            FileType::Fifo | FileType::Socket => {}
        }
    }
    n
}

/// Builds a tree through the crate; returns what the regular files hold.
pub fn write_tree(fs: &mut Ext2<MemDisk>) -> Vec<(String, Vec<u8>)> {
    let root = fs.root();
    let t = fs.mkdir(root, b"t", 0o755, 0, 0).unwrap();
    let mut files = Vec::new();
    let mut dir = t;
    let mut path = String::from("t");
    for depth in 0..12 {
        dir = fs.mkdir(dir, format!("d{depth}").as_bytes(), 0o750, 1000, 1000).unwrap();
        path += &format!("/d{depth}");
    }
    let deep = fs.create(dir, b"deep", 0o100600, 0, 0, None).unwrap();
    fs.write(deep, 0, b"at the bottom").unwrap();
    files.push((format!("{path}/deep"), b"at the bottom".to_vec()));
    let sub = fs.mkdir(t, b"files", 0o755, 0, 0).unwrap();
    for (k, n) in
        [0usize, 1, 1023, 1024, 1025, 12 * 1024, 13 * 1024 + 7, 270 * 1024, 600 * 1024].iter().enumerate()
    {
        let name = format!("f{n}");
        let ino = fs.create(sub, name.as_bytes(), 0o100644, 0, 0, None).unwrap();
        let data = pattern(*n, k as u8 + 3);
        // written in odd pieces
        let mut off = 0;
        for piece in data.chunks(3001) {
            assert_eq!(fs.write(ino, off, piece).unwrap(), piece.len());
            off += piece.len() as u64;
        }
        files.push((format!("t/files/{name}"), data));
    }
    // many entries: the directory grows past one block
    for i in 0..300 {
        let name = format!("entry-{i:04}-padding-the-name-out");
        let ino = fs.create(sub, name.as_bytes(), 0o100644, 0, 0, None).unwrap();
        fs.write(ino, 0, name.as_bytes()).unwrap();
        files.push((format!("t/files/{name}"), name.into_bytes()));
    }
    // delete every third: slots merge and get reused
    for i in (0..300).step_by(3) {
        let name = format!("entry-{i:04}-padding-the-name-out");
        fs.unlink(sub, name.as_bytes()).unwrap();
        files.retain(|(p, _)| *p != format!("t/files/{name}"));
    }
    // sparse files
    let sp = fs.create(t, b"sparse", 0o100644, 0, 0, None).unwrap();
    fs.write(sp, 0, b"head").unwrap();
    fs.write(sp, 100 << 20, b"tail").unwrap();
    let mut sparse = vec![0u8; (100 << 20) + 4];
    sparse[..4].copy_from_slice(b"head");
    sparse[100 << 20..].copy_from_slice(b"tail");
    files.push(("t/sparse".into(), sparse));
    // truncation: shrink into the middle of a block, then grow again
    let tr = fs.create(t, b"trunc", 0o100644, 0, 0, None).unwrap();
    let mut data = pattern(400 * 1024, 77);
    fs.write(tr, 0, &data).unwrap();
    fs.truncate(tr, 5000).unwrap();
    fs.truncate(tr, 9000).unwrap();
    data.truncate(5000);
    data.resize(9000, 0);
    files.push(("t/trunc".into(), data));
    // links
    fs.symlink(t, b"fast", b"files/f1", 0, 0).unwrap();
    fs.symlink(t, b"slow", "y/".repeat(80).as_bytes(), 0, 0).unwrap();
    let f1 = fs.lookup(sub, b"f1").unwrap();
    fs.link(f1, t, b"hard").unwrap();
    files.push(("t/hard".into(), read_all(fs, f1)));
    fs.create(t, b"null", 0o20666, 0, 0, Some((1, 3))).unwrap();
    fs.create(t, b"nvme", 0o60660, 0, 6, Some((259, 300))).unwrap();
    fs.create(t, b"fifo", 0o10644, 0, 0, None).unwrap();
    fs.create(t, b"sock", 0o140755, 0, 0, None).unwrap();
    // renames across directories: a file and a directory
    let other = fs.mkdir(t, b"other", 0o755, 0, 0).unwrap();
    fs.rename(sub, b"f1025", other, b"moved").unwrap();
    let (_, v) = files.iter().find(|(p, _)| p == "t/files/f1025").unwrap().clone();
    files.retain(|(p, _)| p != "t/files/f1025");
    files.push(("t/other/moved".into(), v));
    let d0 = fs.lookup(t, b"d0").unwrap();
    let _ = d0;
    fs.rename(t, b"d0", other, b"tree").unwrap();
    for (p, _) in files.iter_mut() {
        if let Some(rest) = p.strip_prefix("t/d0/") {
            *p = format!("t/other/tree/{rest}");
        }
    }
    // rename over an existing file, rmdir
    let a = fs.create(other, b"victim", 0o100644, 0, 0, None).unwrap();
    fs.write(a, 0, &pattern(20000, 5)).unwrap();
    fs.rename(sub, b"f1024", other, b"victim").unwrap();
    let (_, v) = files.iter().find(|(p, _)| p == "t/files/f1024").unwrap().clone();
    files.retain(|(p, _)| p != "t/files/f1024");
    files.push(("t/other/victim".into(), v));
    let e = fs.mkdir(t, b"gone", 0o755, 0, 0).unwrap();
    fs.create(e, b"x", 0o100644, 0, 0, None).unwrap();
    assert_eq!(fs.rmdir(t, b"gone"), Err(Errno::ENOTEMPTY));
    fs.unlink(e, b"x").unwrap();
    fs.rmdir(t, b"gone").unwrap();
    fs.setattr(
        f1,
        SetAttr::default()
            .with_mode(Some(0o600))
            .with_uid(Some(70000))
            .with_gid(Some(5))
            .with_mtime(Some(1234)),
    )
    .unwrap();
    files
}

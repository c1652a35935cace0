//! The crate against Linux's own ext2 driver, through a loop mount of the
//! host: Linux reads what the crate wrote (and agrees on statfs), the crate
//! reads what Linux wrote. Needs root and loop devices; where the host
//! refuses the mount (an unprivileged container), the test says so and
//! checks nothing else.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn loop_mount(img: &Path, dir: &Path, ro: bool) -> bool {
    let opts = if ro { "loop,ro" } else { "loop" };
    Command::new("mount")
        .args(["-t", "ext2", "-o", opts])
        .arg(img)
        .arg(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Unmounts whatever is still mounted when a test fails.
struct Guard(PathBuf);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

fn umount(dir: &Path) {
    let st = Command::new("umount").arg(dir).status().unwrap();
    assert!(st.success());
}

fn place() -> (PathBuf, PathBuf) {
    let d = scratch("linux");
    let mnt = d.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    (d, mnt)
}

/// `stat -f`: blocks, free, available, files, free files.
fn linux_statfs(dir: &Path) -> [u64; 5] {
    let out = Command::new("stat").args(["-f", "-c", "%b %f %a %c %d"]).arg(dir).output().unwrap();
    let v: Vec<u64> =
        String::from_utf8_lossy(&out.stdout).split_whitespace().map(|x| x.parse().unwrap()).collect();
    [v[0], v[1], v[2], v[3], v[4]]
}

#[test]
fn linux_reads_what_the_crate_wrote_and_back() {
    let (d, mnt) = place();
    let probe = d.join("probe");
    std::fs::write(&probe, mke2fs(1024, 1024, &[])).unwrap();
    if !loop_mount(&probe, &mnt, true) {
        println!("SKIPPED: the host refuses `mount -o loop` (needs root and loop devices)");
        return;
    }
    umount(&mnt);
    let _guard = Guard(mnt.clone());
    for bs in [1024, 4096] {
        // the crate writes, Linux reads
        let mut fs = mount(mke2fs(bs, 24 * 1024, &[]));
        let files = write_tree(&mut fs);
        let ours = fs.statfs();
        let disk = fs.unmount().unwrap();
        let img = d.join(format!("crate-{bs}"));
        std::fs::write(&img, &disk.data).unwrap();
        assert!(loop_mount(&img, &mnt, true));
        for (p, data) in &files {
            let got = std::fs::read(mnt.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert!(&got == data, "{p}");
        }
        assert_eq!(std::fs::read_link(mnt.join("t/fast")).unwrap().to_str().unwrap(), "files/f1");
        use std::os::unix::fs::MetadataExt;
        let md = std::fs::symlink_metadata(mnt.join("t/nvme")).unwrap();
        assert_eq!(md.rdev(), (259 << 8) | (300 & 0xff) | ((300 & !0xff) << 12));
        let md = std::fs::metadata(mnt.join("t/files/f1")).unwrap();
        assert_eq!((md.uid(), md.gid(), md.mode(), md.nlink(), md.mtime()), (70000, 5, 0o100600, 2, 1234));
        let lx = linux_statfs(&mnt);
        assert_eq!(
            lx,
            [ours.blocks, ours.bfree, ours.bavail, ours.files, ours.ffree],
            "statfs, {bs}-byte blocks"
        );
        umount(&mnt);
        // Linux writes (make_tree's kinds of files), the crate reads
        let img = d.join(format!("linux-{bs}"));
        std::fs::write(&img, mke2fs(bs, 24 * 1024, &[])).unwrap();
        assert!(loop_mount(&img, &mnt, false));
        make_tree(&mnt);
        std::fs::rename(mnt.join("a/b/c"), mnt.join("moved")).unwrap();
        std::fs::remove_file(mnt.join("a/f1025")).unwrap();
        umount(&mnt);
        let bytes = std::fs::read(&img).unwrap();
        let (clean, out) = e2fsck(&bytes);
        assert!(clean, "{out}");
        assert!(loop_mount(&img, &mnt, true));
        let mut fs = mount(bytes);
        let n = compare(&mut fs, 2, &mnt, false);
        assert!(n > 140, "{n}");
        umount(&mnt);
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn htree_directories_linux_made() {
    let (d, mnt) = place();
    let img = d.join("htree");
    std::fs::write(&img, mke2fs(1024, 8 * 1024, &[])).unwrap();
    if !loop_mount(&img, &mnt, false) {
        println!("SKIPPED: the host refuses `mount -o loop` (needs root and loop devices)");
        return;
    }
    let _guard = Guard(mnt.clone());
    std::fs::create_dir(mnt.join("big")).unwrap();
    for i in 0..600 {
        std::fs::write(mnt.join(format!("big/entry-number-{i:04}")), format!("{i}")).unwrap();
    }
    umount(&mnt);
    let (copy, path) = to_file(&std::fs::read(&img).unwrap());
    let st = debugfs(&path, "stat /big");
    let _ = std::fs::remove_dir_all(&copy);
    assert!(st.contains("Flags: 0x1000"), "Linux made no htree: {st}");
    // the crate reads it linearly, then changes it (the index flag goes)
    let mut fs = mount(std::fs::read(&img).unwrap());
    let big = fs.lookup(2, b"big").unwrap();
    assert_eq!(fs.list(big).unwrap().len(), 602);
    for i in 0..600 {
        let ino = fs.lookup(big, format!("entry-number-{i:04}").as_bytes()).unwrap();
        assert_eq!(read_all(&mut fs, ino), format!("{i}").into_bytes());
    }
    for i in (0..600).step_by(2) {
        fs.unlink(big, format!("entry-number-{i:04}").as_bytes()).unwrap();
    }
    for i in 0..100 {
        let f = fs.create(big, format!("added-by-the-crate-{i}").as_bytes(), 0o100644, 0, 0, None).unwrap();
        fs.write(f, 0, b"new").unwrap();
    }
    let disk = fs.unmount().unwrap();
    let (clean, out) = e2fsck(&disk.data);
    assert!(clean, "{out}");
    std::fs::write(&img, &disk.data).unwrap();
    assert!(loop_mount(&img, &mnt, true));
    let mut names: Vec<String> = std::fs::read_dir(mnt.join("big"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut want: Vec<String> = (1..600).step_by(2).map(|i| format!("entry-number-{i:04}")).collect();
    want.extend((0..100).map(|i| format!("added-by-the-crate-{i}")));
    want.sort();
    assert_eq!(names, want);
    assert_eq!(std::fs::read(mnt.join("big/added-by-the-crate-7")).unwrap(), b"new");
    assert_eq!(std::fs::read(mnt.join("big/entry-number-0599")).unwrap(), b"599");
    umount(&mnt);
    let _ = std::fs::remove_dir_all(&d);
}

//! ext2 against e2fsprogs: images made by `mke2fs -d` read back and
//! compared with their source tree; trees written by the crate checked by
//! `e2fsck -fn` and dumped by `debugfs`.

mod common;

use common::*;
use ext2::testing::{FaultyDisk, MemDisk};
use ext2::{Errno, Ext2, MountError, MountOptions};
use std::process::Command;

#[test]
fn mke2fs_trees_read_back() {
    for bs in [1024, 4096] {
        let d = scratch("src");
        make_tree(&d);
        let img = mke2fs(bs, 16 * 1024, &["-d", d.to_str().unwrap()]);
        let mut fs = mount(img);
        let n = compare(&mut fs, 2, &d, true);
        assert!(n > 140, "{n}");
        // the sparse file keeps its holes
        let sp = resolve(&mut fs, "sparse").unwrap();
        let st = fs.stat(sp).unwrap();
        assert_eq!(st.size, (70 << 20) + 3);
        assert!(st.blocks < 64, "{} sectors", st.blocks);
        let _ = std::fs::remove_dir_all(&d);
    }
}

#[test]
fn crate_trees_pass_e2fsck_and_debugfs() {
    for bs in [1024, 4096] {
        // several groups at 1 KiB blocks
        let img = mke2fs(bs, 24 * 1024, &[]);
        let mut fs = mount(img);
        let files = write_tree(&mut fs);
        // a file past 4 GiB (LARGE_FILE), outside the dumped tree
        let root = fs.root();
        let big = fs.create(root, b"big", 0o100644, 0, 0, None).unwrap();
        fs.write(big, 5 << 30, b"past five gibibytes").unwrap();
        // read back through the crate before unmounting
        for (p, data) in &files {
            let ino = resolve(&mut fs, p).unwrap();
            assert_eq!(&read_all(&mut fs, ino), data, "{p}");
        }
        let sf = fs.statfs();
        let disk = fs.unmount().unwrap();
        let (clean, out) = e2fsck(&disk.data);
        assert!(clean, "block size {bs}: e2fsck:\n{out}");
        let (d, img) = to_file(&disk.data);
        let out = d.join("out");
        std::fs::create_dir(&out).unwrap();
        debugfs(&img, &format!("rdump /t {}", out.display()));
        for (p, data) in &files {
            let got = std::fs::read(out.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(&got, data, "{p}");
        }
        assert_eq!(std::fs::read_link(out.join("t/fast")).unwrap().to_str().unwrap(), "files/f1");
        assert_eq!(std::fs::read_link(out.join("t/slow")).unwrap().to_str().unwrap(), "y/".repeat(80));
        let st = debugfs(&img, "stat /t/nvme");
        assert!(st.contains("Device major/minor number: 259:300"), "{st}");
        let st = debugfs(&img, "stat /t/files/f1");
        assert!(st.contains("User: 70000") && st.contains("Links: 2"), "{st}");
        let st = debugfs(&img, "stat /big");
        assert!(st.contains(&format!("Size: {}", (5u64 << 30) + 19)), "{st}");
        // statfs agrees with dumpe2fs
        let dump = Command::new(tool("dumpe2fs")).arg("-h").arg(&img).output().unwrap();
        let dump = String::from_utf8_lossy(&dump.stdout);
        let field = |k: &str| -> u64 {
            dump.lines().find_map(|l| l.strip_prefix(k)).unwrap().trim().parse().unwrap()
        };
        assert_eq!(sf.bfree, field("Free blocks:"));
        assert_eq!(sf.ffree, field("Free inodes:"));
        assert_eq!(sf.files, field("Inode count:"));
        assert_eq!(sf.bavail, sf.bfree - field("Reserved block count:"));
        let _ = std::fs::remove_dir_all(&d);
    }
}

#[test]
fn features_and_mount_errors() {
    // ext4 is refused, ext3 without recovery mounts read-write, huge_file
    // (an unknown RO_COMPAT) mounts read-only
    let ext4 = {
        let d = scratch("ext4");
        let p = d.join("img");
        let st =
            Command::new(tool("mke2fs")).args(["-q", "-F", "-t", "ext4"]).arg(&p).arg("8M").status().unwrap();
        assert!(st.success());
        let v = std::fs::read(&p).unwrap();
        let _ = std::fs::remove_dir_all(&d);
        v
    };
    match Ext2::mount(MemDisk::new(ext4), MountOptions::default()) {
        Err(e @ MountError::Incompatible(mask)) => {
            assert_ne!(mask & 0x40, 0, "extents");
            assert_eq!(e.errno(), Errno::EINVAL);
        }
        other => panic!("ext4 mounted: {:?}", other.err()),
    }
    let ext3 = mke2fs(1024, 8192, &["-O", "has_journal"]);
    let fs = Ext2::mount(MemDisk::new(ext3), MountOptions::default()).unwrap();
    assert!(!fs.is_read_only());
    let ro = mke2fs(1024, 8192, &["-O", "huge_file"]);
    let mut fs = Ext2::mount(MemDisk::new(ro), MountOptions::default()).unwrap();
    assert!(fs.is_read_only());
    assert_eq!(fs.create(2, b"x", 0o100644, 0, 0, None), Err(Errno::EROFS));
    // a device smaller than the superblock says
    let mut small = mke2fs(1024, 8192, &[]);
    small.truncate(4096 * 1024);
    let r = Ext2::mount(MemDisk::new(small), MountOptions::default());
    assert_eq!(r.as_ref().err(), Some(&MountError::TooSmall));
    // mount(2) says EINVAL, as ext4_check_geometry (which mounts ext2 on
    // Debian; ext2_fill_super fails the same way) ("bad
    // geometry: block count ... exceeds size of device")
    assert_eq!(r.err().map(MountError::errno), Some(Errno::EINVAL));
    // not ext2 at all
    assert_eq!(
        Ext2::mount(MemDisk::new(vec![0; 65536]), MountOptions::default()).err(),
        Some(MountError::NotExt2)
    );
    // a read-only medium
    let mut disk = MemDisk::new(mke2fs(1024, 4096, &[]));
    disk.read_only = true;
    let mut fs = Ext2::mount(disk, MountOptions::default()).unwrap();
    assert_eq!(fs.mkdir(2, b"d", 0o755, 0, 0), Err(Errno::EROFS));
    assert!(fs.lookup(2, b"lost+found").is_ok());
}

#[test]
fn full_disk_and_out_of_inodes() {
    let img = mke2fs(1024, 2048, &["-N", "64"]);
    let mut fs = mount(img);
    let f = fs.create(2, b"fill", 0o100644, 0, 0, None).unwrap();
    let chunk = vec![0xabu8; 64 * 1024];
    let mut off = 0u64;
    loop {
        match fs.write(f, off, &chunk) {
            Ok(n) => {
                off += n as u64;
                if n < chunk.len() {
                    break;
                }
            }
            Err(e) => {
                assert_eq!(e, Errno::ENOSPC);
                break;
            }
        }
    }
    assert_eq!(fs.write(f, off, b"x"), Err(Errno::ENOSPC));
    assert_eq!(fs.statfs().bfree, 0);
    assert_eq!(fs.stat(f).unwrap().size, off);
    // a directory that needs a new block cannot grow
    let mut i = 0;
    let err = loop {
        match fs.create(2, format!("name-{i:05}-long-enough-to-fill-blocks").as_bytes(), 0o100644, 0, 0, None)
        {
            Ok(_) => i += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err, Errno::ENOSPC);
    let disk = fs.unmount().unwrap();
    let (clean, out) = e2fsck(&disk.data);
    assert!(clean, "{out}");
    // out of inodes, with space left
    let img = mke2fs(1024, 8192, &["-N", "32"]);
    let mut fs = mount(img);
    let mut made = 0;
    let err = loop {
        match fs.create(2, format!("f{made}").as_bytes(), 0o100644, 0, 0, None) {
            Ok(_) => made += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err, Errno::ENOSPC);
    assert_eq!(fs.statfs().ffree, 0);
    assert!(fs.statfs().bfree > 1000);
    assert_eq!(fs.mkdir(2, b"d", 0o755, 0, 0), Err(Errno::ENOSPC));
    let disk = fs.unmount().unwrap();
    let (clean, out) = e2fsck(&disk.data);
    assert!(clean, "{out}");
}

#[test]
fn errnos_as_linux() {
    let mut fs = mount(mke2fs(1024, 4096, &[]));
    let f = fs.create(2, b"f", 0o100644, 0, 0, None).unwrap();
    let d = fs.mkdir(2, b"d", 0o755, 0, 0).unwrap();
    assert_eq!(fs.create(2, b"f", 0o100644, 0, 0, None), Err(Errno::EEXIST));
    assert_eq!(fs.lookup(2, b"nope"), Err(Errno::ENOENT));
    assert_eq!(fs.lookup(f, b"x"), Err(Errno::ENOTDIR));
    assert_eq!(fs.lookup(2, &[b'a'; 256]), Err(Errno::ENAMETOOLONG));
    assert_eq!(fs.create(2, &[b'a'; 256], 0o100644, 0, 0, None), Err(Errno::ENAMETOOLONG));
    assert!(fs.create(2, &[b'a'; 255], 0o100644, 0, 0, None).is_ok());
    assert_eq!(fs.unlink(2, b"d"), Err(Errno::EISDIR));
    assert_eq!(fs.rmdir(2, b"f"), Err(Errno::ENOTDIR));
    assert_eq!(fs.link(d, 2, b"dl"), Err(Errno::EPERM));
    assert_eq!(fs.read(d, 0, &mut [0; 4]), Err(Errno::EISDIR));
    assert_eq!(fs.write(d, 0, b"x"), Err(Errno::EISDIR));
    assert_eq!(fs.rename(2, b"f", 2, b"d"), Err(Errno::EISDIR));
    assert_eq!(fs.rename(2, b"d", 2, b"f"), Err(Errno::ENOTDIR));
    let sub = fs.mkdir(d, b"sub", 0o755, 0, 0).unwrap();
    assert_eq!(fs.rename(2, b"d", sub, b"loop"), Err(Errno::EINVAL));
    assert_eq!(fs.rename(2, b"d", d, b"self"), Err(Errno::EINVAL));
    let e = fs.mkdir(2, b"e", 0o755, 0, 0).unwrap();
    assert_eq!(fs.rename(2, b"e", 2, b"d"), Err(Errno::ENOTEMPTY));
    fs.rmdir(d, b"sub").unwrap();
    // a directory over an empty one: links stay right
    let before = fs.stat(2).unwrap().nlink;
    fs.rename(2, b"e", 2, b"d").unwrap();
    assert_eq!(fs.stat(2).unwrap().nlink, before - 1);
    assert_eq!(fs.lookup(2, b"d"), Ok(e));
    assert_eq!(fs.write(f, fs.max_file_size(), b"x"), Err(Errno::EFBIG));
    assert_eq!(fs.truncate(f, fs.max_file_size() + 1), Err(Errno::EFBIG));
    assert_eq!(fs.symlink(2, b"s", &[b'x'; 1024], 0, 0), Err(Errno::ENAMETOOLONG));
    assert!(fs.symlink(2, b"s", &[b'x'; 1023], 0, 0).is_ok());
    // an open, unlinked file lives until released
    let g = fs.create(2, b"g", 0o100644, 0, 0, None).unwrap();
    fs.write(g, 0, &pattern(50000, 1)).unwrap();
    let free = fs.statfs().bfree;
    fs.pin(g);
    fs.unlink(2, b"g").unwrap();
    assert_eq!(read_all(&mut fs, g), pattern(50000, 1));
    assert_eq!(fs.statfs().bfree, free);
    fs.release(g).unwrap();
    assert!(fs.statfs().bfree > free + 48);
    // one still open at unmount goes then
    let h = fs.create(2, b"h", 0o100644, 0, 0, None).unwrap();
    fs.write(h, 0, &pattern(5000, 2)).unwrap();
    fs.pin(h);
    fs.unlink(2, b"h").unwrap();
    let disk = fs.unmount().unwrap();
    let (clean, out) = e2fsck(&disk.data);
    assert!(clean, "{out}");
}

#[test]
fn tmpfile_lives_while_pinned_and_links_once() {
    let mut fs = mount(mke2fs(1024, 4096, &[]));
    let (free, free_inodes) = (fs.statfs().bfree, fs.statfs().ffree);
    // unnamed: link count 0, an inode taken, gone with its last release
    let t = fs.tmpfile(2, 0o100600, 7, 8).unwrap();
    let st = fs.stat(t).unwrap();
    assert_eq!((st.nlink, st.mode, st.uid, st.gid), (0, 0o100600, 7, 8));
    fs.write(t, 0, &pattern(20000, 4)).unwrap();
    assert_eq!(read_all(&mut fs, t), pattern(20000, 4));
    assert_eq!(fs.statfs().ffree, free_inodes - 1);
    fs.release(t).unwrap();
    assert_eq!((fs.statfs().bfree, fs.statfs().ffree), (free, free_inodes));
    // named by link: it stays after the release
    let n = fs.tmpfile(2, 0o100644, 0, 0).unwrap();
    fs.write(n, 0, b"kept").unwrap();
    fs.link(n, 2, b"named").unwrap();
    assert_eq!(fs.stat(n).unwrap().nlink, 1);
    fs.release(n).unwrap();
    assert_eq!(fs.lookup(2, b"named"), Ok(n));
    assert_eq!(read_all(&mut fs, n), b"kept");
    // only regular files, only in directories
    assert_eq!(fs.tmpfile(2, 0o040755, 0, 0), Err(Errno::EINVAL));
    assert_eq!(fs.tmpfile(n, 0o100644, 0, 0), Err(Errno::ENOTDIR));
    // one still open at unmount goes then
    let u = fs.tmpfile(2, 0o100644, 0, 0).unwrap();
    fs.write(u, 0, &pattern(5000, 5)).unwrap();
    let disk = fs.unmount().unwrap();
    let (clean, out) = e2fsck(&disk.data);
    assert!(clean, "{out}");
}

#[test]
fn device_errors_are_eio() {
    let img = mke2fs(1024, 4096, &[]);
    let mut fs = Ext2::mount(FaultyDisk::new(MemDisk::new(img.clone())), MountOptions::default()).unwrap();
    let f = fs.create(2, b"f", 0o100644, 0, 0, None).unwrap();
    fs.write(f, 0, &pattern(8192, 2)).unwrap();
    let disk = fs.unmount().unwrap();
    // every read of the disk's middle fails
    let mut faulty = disk.clone();
    faulty.bad_reads = (0..8192).collect();
    let r = Ext2::mount(faulty, MountOptions::default());
    assert_eq!(r.err(), Some(MountError::Io(Errno::EIO)));
    // writes start failing
    let mut faulty = disk;
    faulty.writes_left = Some(3);
    let mut fs = Ext2::mount(faulty, MountOptions::default()).unwrap();
    let mut saw_eio = false;
    for i in 0..20 {
        match fs.create(2, format!("n{i}").as_bytes(), 0o100644, 0, 0, None) {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e, Errno::EIO);
                saw_eio = true;
            }
        }
    }
    assert!(saw_eio);
}

#[test]
fn mkfs_image_is_clean() {
    for (bs, blocks) in [(1024, 4096u32), (4096, 2048)] {
        let img = ext2::testing::mkfs_image(bs, blocks, 128);
        let (clean, out) = e2fsck(&img);
        assert!(clean, "{out}");
        let mut fs = mount(img);
        let d = fs.mkdir(2, b"d", 0o755, 0, 0).unwrap();
        let f = fs.create(d, b"f", 0o100644, 0, 0, None).unwrap();
        fs.write(f, 0, &pattern(100_000, 4)).unwrap();
        let disk = fs.unmount().unwrap();
        let (clean, out) = e2fsck(&disk.data);
        assert!(clean, "{out}");
    }
}

#[test]
fn cached_disk_write_back() {
    use ext2::{BlockDevice, CachedDisk};
    let img = mke2fs(1024, 24 * 1024, &[]);
    // the same tree written through and through the cache
    let mut plain = Ext2::mount(FaultyDisk::new(MemDisk::new(img.clone())), opts()).unwrap();
    let mut cached = Ext2::mount(CachedDisk::new(MemDisk::new(img.clone()), 4096, 512), opts()).unwrap();
    let data = pattern(3 << 20, 6);
    for fs_kind in 0..2 {
        let t0 = std::time::Instant::now();
        macro_rules! work {
            ($fs:expr) => {{
                let d = $fs.mkdir(2, b"d", 0o755, 0, 0).unwrap();
                for i in 0..200 {
                    $fs.create(d, format!("file-{i}").as_bytes(), 0o100644, 0, 0, None).unwrap();
                }
                let f = $fs.create(2, b"big", 0o100644, 0, 0, None).unwrap();
                for (k, c) in data.chunks(65536).enumerate() {
                    $fs.write(f, (k * 65536) as u64, c).unwrap();
                }
                let mut back = vec![0u8; data.len()];
                $fs.read(f, 0, &mut back).unwrap();
                assert!(back == data);
                for i in 0..200 {
                    $fs.unlink(d, format!("file-{i}").as_bytes()).unwrap();
                }
            }};
        }
        if fs_kind == 0 {
            work!(plain)
        } else {
            work!(cached)
        }
        println!("{}: {:?}", if fs_kind == 0 { "write-through" } else { "cached" }, t0.elapsed());
    }
    // nothing reaches the disk before sync, everything after
    assert!(cached.device().dirty_blocks() > 0);
    {
        let mut small = Ext2::mount(CachedDisk::new(MemDisk::new(img.clone()), 4096, 4096), opts()).unwrap();
        small.create(2, b"unsynced", 0o100644, 0, 0, None).unwrap();
        let before = small.device().inner().data.clone();
        assert_eq!(mount(before).lookup(2, b"unsynced"), Err(Errno::ENOENT));
        small.sync().unwrap();
        let after = small.device().inner().data.clone();
        assert!(mount(after).lookup(2, b"unsynced").is_ok());
    }
    cached.sync().unwrap();
    assert_eq!(cached.device().dirty_blocks(), 0);
    let ops = cached.device().device_ops;
    let dev = cached.unmount().unwrap().into_inner().unwrap();
    let (clean, out) = e2fsck(&dev.data);
    assert!(clean, "{out}");
    let plain_disk = plain.unmount().unwrap().inner;
    let (clean, out) = e2fsck(&plain_disk.data);
    assert!(clean, "{out}");
    let mut fs = mount(dev.data);
    let big = fs.lookup(2, b"big").unwrap();
    assert_eq!(read_all(&mut fs, big), data);
    println!("cached device operations: {ops}");
    assert!(ops < 4000, "{ops}");
    // a short last block and a read-only medium
    let mut c = CachedDisk::new(MemDisk::new(vec![7u8; 3 * 512]), 1024, 4);
    let mut b = [0u8; 512];
    c.read(2, &mut b).unwrap();
    assert_eq!(b, [7u8; 512]);
    c.write(2, &[1u8; 512]).unwrap();
    assert_eq!(c.read(3, &mut b), Err(Errno::EIO));
    assert_eq!(c.into_inner().unwrap().data[1024..], [1u8; 512]);
}

#[test]
fn reserved_blocks_and_holes() {
    // -m 20: a fifth of the blocks are root's
    let mut fs = mount(mke2fs(1024, 2048, &["-m", "20"]));
    fs.set_may_use_reserved(false);
    let f = fs.create(2, b"f", 0o100644, 0, 0, None).unwrap();
    let chunk = vec![1u8; 16384];
    let mut off = 0;
    while let Ok(n) = fs.write(f, off, &chunk) {
        off += n as u64;
        if n < chunk.len() {
            break;
        }
    }
    let sf = fs.statfs();
    assert_eq!(sf.bavail, 0);
    assert!(sf.bfree > 300, "{sf:?}");
    assert_eq!(fs.write(f, off, &chunk), Err(Errno::ENOSPC));
    fs.set_may_use_reserved(true);
    assert_eq!(fs.write(f, off, &chunk), Ok(chunk.len()));
    // holes
    let g = fs.create(2, b"g", 0o100644, 0, 0, None).unwrap();
    fs.write(g, 10_000, b"x").unwrap();
    assert_eq!(fs.is_mapped(g, 0), Ok(false));
    assert_eq!(fs.is_mapped(g, 10_000), Ok(true));
    assert_eq!(fs.is_mapped(2, 0), Err(Errno::EINVAL));
    let disk = fs.unmount().unwrap();
    let (clean, out) = e2fsck(&disk.data);
    assert!(clean, "{out}");
}

#[test]
fn unlink_frees_the_xattr_block() {
    let img = mke2fs(1024, 4096, &["-I", "128"]);
    let (d, p) = to_file(&img);
    let mut fs = mount(img);
    fs.create(2, b"x", 0o100644, 0, 0, None).unwrap();
    let disk = fs.unmount().unwrap();
    std::fs::write(&p, &disk.data).unwrap();
    let out = Command::new(tool("debugfs"))
        .args(["-w", "-R", "ea_set /x user.test some-value"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(out.status.success());
    let img = std::fs::read(&p).unwrap();
    let mut fs = mount(img);
    let x = fs.lookup(2, b"x").unwrap();
    assert_eq!(fs.stat(x).unwrap().blocks, 2, "the attribute block");
    let free = fs.statfs().bfree;
    fs.unlink(2, b"x").unwrap();
    assert_eq!(fs.statfs().bfree, free + 1);
    let disk = fs.unmount().unwrap();
    let (clean, out) = e2fsck(&disk.data);
    assert!(clean, "{out}");
    let _ = std::fs::remove_dir_all(&d);
}

/// RENAME_EXCHANGE as Linux's ext4 does it on an ext2: a file and a
/// directory of different parents swap; the directory's `..` and both
/// parents' link counts follow; loops, missing names and `.` are refused;
/// e2fsck finds the image clean.
#[test]
fn exchange_swaps_across_directories() {
    let mut fs = mount(mke2fs(1024, 4096, &[]));
    let f = fs.create(2, b"f", 0o100644, 0, 0, None).unwrap();
    let d = fs.mkdir(2, b"d", 0o755, 0, 0).unwrap();
    let sub = fs.mkdir(d, b"sub", 0o755, 0, 0).unwrap();
    let (root_links, d_links) = (fs.stat(2).unwrap().nlink, fs.stat(d).unwrap().nlink);
    fs.exchange(2, b"f", d, b"sub").unwrap();
    assert_eq!(fs.lookup(2, b"f"), Ok(sub));
    assert_eq!(fs.lookup(d, b"sub"), Ok(f));
    assert_eq!(fs.lookup(sub, b".."), Ok(2));
    assert_eq!(fs.stat(2).unwrap().nlink, root_links + 1);
    assert_eq!(fs.stat(d).unwrap().nlink, d_links - 1);
    // a directory swapped into its own subtree, a missing name, "."
    let inner = fs.mkdir(sub, b"inner", 0o755, 0, 0).unwrap();
    assert_eq!(fs.exchange(2, b"f", inner, b"."), Err(Errno::EBUSY));
    fs.create(inner, b"g", 0o100644, 0, 0, None).unwrap();
    assert_eq!(fs.exchange(2, b"f", inner, b"g"), Err(Errno::EINVAL));
    assert_eq!(fs.exchange(2, b"f", d, b"none"), Err(Errno::ENOENT));
    // two names in one directory, and back
    fs.exchange(2, b"f", 2, b"d").unwrap();
    assert_eq!((fs.lookup(2, b"f"), fs.lookup(2, b"d")), (Ok(d), Ok(sub)));
    let disk = fs.unmount().unwrap();
    let (clean, out) = e2fsck(&disk.data);
    assert!(clean, "{out}");
}

/// Sequential file data moves in runs: one device transfer per run of
/// blocks consecutive on the disk (at most `MAX_RUN_BYTES`), not one per
/// block; streaming a file larger than the cache keeps the metadata cached
/// (data read or written in runs is evicted first); a failing sector in
/// the middle of a run is EIO for the read that covers it.
#[test]
fn transfers_are_batched_and_streaming_keeps_metadata() {
    use ext2::{BlockDevice, CachedDisk, MAX_RUN_BYTES};
    let img = mke2fs(4096, 64 * 1024, &[]);
    let data = pattern(8 << 20, 11);
    // writes: 8 MiB in 64 KiB calls through a 1 MiB cache
    let mut fs = Ext2::mount(CachedDisk::new(MemDisk::new(img), 4096, 256), opts()).unwrap();
    let f = fs.create(2, b"big", 0o100644, 0, 0, None).unwrap();
    let ops0 = fs.device().device_ops;
    for (k, c) in data.chunks(65536).enumerate() {
        assert_eq!(fs.write(f, (k * 65536) as u64, c), Ok(c.len()));
    }
    fs.sync().unwrap();
    let write_ops = fs.device().device_ops - ops0;
    // 2048 data blocks and 3 map blocks: a few dozen runs, not thousands
    assert!(write_ops <= 64, "{write_ops} device operations for 8 MiB written");
    let disk = fs.unmount().unwrap().into_inner().unwrap();
    let (clean, out) = e2fsck(&disk.data);
    assert!(clean, "{out}");

    // reads after a new mount, 64 KiB at a time
    let mut fs = Ext2::mount(CachedDisk::new(disk.clone(), 4096, 256), opts()).unwrap();
    let f = fs.lookup(2, b"big").unwrap();
    let ops0 = fs.device().device_ops;
    let mut back = vec![0u8; data.len()];
    for (k, c) in back.chunks_mut(65536).enumerate() {
        assert_eq!(fs.read(f, (k * 65536) as u64, c), Ok(c.len()));
    }
    assert!(back == data);
    let read_ops = fs.device().device_ops - ops0;
    // read ahead: the device sees runs of 256 KiB (a quarter of this
    // cache), not one per call
    assert!(read_ops <= 32 + 8, "{read_ops} device operations for 8 MiB read");
    // one large read: runs of MAX_RUN_BYTES
    let mut fs2 = Ext2::mount(CachedDisk::new(disk.clone(), 4096, 256), opts()).unwrap();
    let ops0 = fs2.device().device_ops;
    back.fill(0);
    assert_eq!(fs2.read(f, 0, &mut back), Ok(back.len()));
    assert!(back == data);
    let one_read_ops = fs2.device().device_ops - ops0;
    assert!(one_read_ops <= (8 << 20) / MAX_RUN_BYTES as u64 + 8, "{one_read_ops} for one 8 MiB read");
    // the directory and inode blocks stayed cached through 8 MiB of data
    // streaming through 1 MiB of cache
    let ops0 = fs.device().device_ops;
    assert_eq!(fs.lookup(2, b"big"), Ok(f));
    assert_eq!(fs.stat(f).unwrap().size, data.len() as u64);
    assert_eq!(fs.device().device_ops, ops0, "metadata evicted by streamed data");

    // a bad sector in the middle of the file: EIO, the part before reads
    let first = disk.data.chunks(512).position(|s| s == &data[..512]).expect("the file's first sector");
    let mut faulty = FaultyDisk::new(disk);
    faulty.bad_reads.insert(first as u64 + 4096);
    let mut fs = Ext2::mount(CachedDisk::new(faulty, 4096, 256), opts()).unwrap();
    let mut head = vec![0u8; 1 << 20];
    assert_eq!(fs.read(f, 0, &mut head), Ok(head.len()));
    assert!(head[..] == data[..1 << 20]);
    let mut all = vec![0u8; data.len()];
    assert_eq!(fs.read(f, 0, &mut all), Err(Errno::EIO));
    drop(fs);
    // dirty blocks go out in runs at a flush; a run that fails is EIO and
    // stays dirty, the others are written
    let mut faulty = FaultyDisk::new(MemDisk::new(vec![0u8; 1 << 20]));
    faulty.bad_writes.insert(128);
    let mut c = CachedDisk::new(faulty, 4096, 16);
    c.write(8, &[5u8; 8192]).unwrap();
    c.write(128, &[6u8; 4096]).unwrap();
    assert_eq!(c.dirty_blocks(), 3);
    assert_eq!(c.flush(), Err(Errno::EIO));
    assert_eq!(c.dirty_blocks(), 1);
    assert_eq!(c.device_ops, 2, "blocks 1-2 in one write, block 16 in another");
    assert_eq!(c.inner().inner.data[4096..12288], [5u8; 8192]);
}

/// A disk that records how many runs each `write_runs` brought.
struct Batches {
    inner: MemDisk,
    calls: Vec<usize>,
}

impl ext2::BlockDevice for Batches {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> ext2::Result<()> {
        self.inner.read(sector, buf)
    }
    fn write(&mut self, sector: u64, buf: &[u8]) -> ext2::Result<()> {
        self.inner.write(sector, buf)
    }
    fn write_runs(&mut self, runs: &[(u64, &[u8])], written: &mut [bool]) -> ext2::Result<()> {
        self.calls.push(runs.len());
        for (&(sector, bytes), w) in runs.iter().zip(written.iter_mut()) {
            self.inner.write(sector, bytes)?;
            *w = true;
        }
        Ok(())
    }
    fn flush(&mut self) -> ext2::Result<()> {
        self.inner.flush()
    }
    fn sectors(&self) -> u64 {
        self.inner.sectors()
    }
    fn read_only(&self) -> bool {
        self.inner.read_only()
    }
}

#[test]
fn a_flush_hands_the_device_its_runs_in_batches() {
    use ext2::{BlockDevice, CachedDisk, FLUSH_BATCH_BYTES};
    assert_eq!(FLUSH_BATCH_BYTES, 4 << 20);
    let disk = Batches { inner: MemDisk::new(vec![0u8; 16 << 20]), calls: Vec::new() };
    let mut c = CachedDisk::new(disk, 4096, 4096);
    // 40 lone dirty blocks (every other one), then 5 MiB in one piece
    for k in 0..40u64 {
        c.write(k * 16, &[k as u8 + 1; 4096]).unwrap();
    }
    let big: Vec<u8> = (0..5 << 20).map(|i| (i % 251) as u8).collect();
    c.write(1024 * 8, &big).unwrap();
    assert_eq!(c.dirty_blocks(), 40 + 1280);
    c.flush().unwrap();
    // runs of at most 1 MiB, batches of at most 4 MiB: the 40 blocks and
    // three 1 MiB runs, then the last two
    assert_eq!(c.inner().calls, [43, 2]);
    assert_eq!(c.dirty_blocks(), 0);
    assert_eq!(c.device_ops, 45);
    let d = &c.inner().inner.data;
    for k in 0..40usize {
        assert!(d[k * 8192..k * 8192 + 4096].iter().all(|&b| b == k as u8 + 1), "block {}", k * 2);
        assert!(d[k * 8192 + 4096..k * 8192 + 8192].iter().all(|&b| b == 0));
    }
    assert!(d[1024 * 4096..1024 * 4096 + (5 << 20)] == big[..]);
    // nothing dirty: a second flush writes nothing
    c.flush().unwrap();
    assert_eq!(c.inner().calls.len(), 2);
}

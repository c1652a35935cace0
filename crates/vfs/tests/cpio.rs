//! initramfs unpacking end to end: cpio newc archives built here, plain and
//! gzip-compressed, unpacked into a ramfs and checked; malformed images.

use std::sync::Arc;

use linux_abi::Errno;
use vfs::*;

/// One archive member.
struct Entry<'a> {
    name: &'a str,
    mode: u32,
    uid: u32,
    gid: u32,
    ino: u32,
    nlink: u32,
    mtime: u32,
    data: &'a [u8],
    rdev: (u32, u32),
}

fn entry<'a>(name: &'a str, mode: u32, data: &'a [u8]) -> Entry<'a> {
    Entry { name, mode, uid: 0, gid: 0, ino: 0, nlink: 1, mtime: 1_600_000_000, data, rdev: (0, 0) }
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

/// A cpio "newc" archive of `entries` and the trailer.
fn newc(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let trailer = entry("TRAILER!!!", 0, b"");
    for (i, e) in entries.iter().chain(std::iter::once(&trailer)).enumerate() {
        let ino = if e.ino != 0 { e.ino } else { 1000 + i as u32 };
        let fields = [
            ino,
            e.mode,
            e.uid,
            e.gid,
            e.nlink,
            e.mtime,
            e.data.len() as u32,
            0,
            0,
            e.rdev.0,
            e.rdev.1,
            e.name.len() as u32 + 1,
            0,
        ];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        out.extend_from_slice(e.name.as_bytes());
        out.push(0);
        pad4(&mut out);
        out.extend_from_slice(e.data);
        pad4(&mut out);
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

/// A gzip member of `data` (with an FNAME field, as gzip writes it).
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3];
    out.extend_from_slice(b"initramfs.cpio\0");
    out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, 6));
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn fresh() -> Arc<Inode> {
    new_ramfs(makedev(0, 1), Arc::new(FixedClock(Timespec::new(42, 0))), None)
}

fn read(ctx: &Ctx, root: &Arc<Inode>, path: &str) -> Vec<u8> {
    let Opened::File(f) = ctx.open(root, path.as_bytes(), O_RDONLY, 0).unwrap() else { panic!("{path}") };
    let mut out = vec![0u8; f.stat().unwrap().size as usize + 1];
    let n = f.read(&mut out).unwrap();
    out.truncate(n);
    out
}

fn sample() -> Vec<u8> {
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let big: &'static [u8] = Box::leak(big.into_boxed_slice());
    newc(&[
        Entry { mode: 0o040700, ..entry(".", 0o040700, b"") },
        entry("bin", 0o040755, b""),
        Entry { uid: 1000, gid: 100, ..entry("home", 0o041777, b"") },
        entry("bin/busybox", 0o100755, big),
        entry("bin/sh", 0o120777, b"busybox"),
        entry("init", 0o100700, b"#!/bin/sh\necho hi\n"),
        entry("empty", 0o100600, b""),
        Entry { rdev: (5, 1), ..entry("console", 0o020600, b"") },
        entry("fifo", 0o010644, b""),
        Entry { ino: 77, nlink: 2, ..entry("bin/a", 0o100644, b"linked") },
        Entry { ino: 77, nlink: 2, ..entry("bin/b", 0o100644, b"") },
        Entry { ino: 78, nlink: 2, ..entry("bin/c", 0o100644, b"") },
        Entry { ino: 78, nlink: 2, ..entry("bin/d", 0o100644, b"data last") },
    ])
}

fn check_sample(root: &Arc<Inode>) {
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(root.stat().mode, S_IFDIR | 0o700);
    let st = ctx.stat(root, b"/bin", 0).unwrap();
    assert_eq!((st.mode, st.mtime), (S_IFDIR | 0o755, Timespec::new(1_600_000_000, 0)));
    let st = ctx.stat(root, b"/home", 0).unwrap();
    assert_eq!((st.mode, st.uid, st.gid), (S_IFDIR | 0o1777, 1000, 100));
    let busybox = read(&ctx, root, "/bin/busybox");
    assert_eq!(busybox.len(), 100_000);
    assert!(busybox.iter().enumerate().all(|(i, &b)| b == (i as u32 * 7 % 251) as u8));
    assert_eq!(ctx.stat(root, b"/bin/busybox", 0).unwrap().mode, S_IFREG | 0o755);
    assert_eq!(ctx.readlink(root, b"/bin/sh").unwrap(), b"busybox");
    assert_eq!(ctx.stat(root, b"/bin/sh", 0).unwrap().size, 100_000);
    assert_eq!(read(&ctx, root, "/init"), b"#!/bin/sh\necho hi\n");
    assert_eq!(ctx.stat(root, b"/init", 0).unwrap().mode, S_IFREG | 0o700);
    assert_eq!(ctx.stat(root, b"/empty", 0).unwrap().size, 0);
    let console = ctx.lookup(root, b"/console", true).unwrap();
    assert_eq!((console.file_type(), console.device()), (FileType::CharDevice, Some((5, 1))));
    assert_eq!(ctx.stat(root, b"/fifo", 0).unwrap().mode, S_IFIFO | 0o644);
    let a = ctx.stat(root, b"/bin/a", 0).unwrap();
    let b = ctx.stat(root, b"/bin/b", 0).unwrap();
    assert_eq!((a.ino, a.nlink), (b.ino, 2));
    assert_eq!(read(&ctx, root, "/bin/b"), b"linked");
    // GNU cpio style: the data comes with the last link.
    assert_eq!(read(&ctx, root, "/bin/c"), b"data last");
    assert_eq!(ctx.stat(root, b"/bin/c", 0).unwrap().nlink, 2);
    assert_eq!(ctx.stat(root, b"/init", 0).unwrap().mtime, Timespec::new(1_600_000_000, 0));
}

#[test]
fn cpio_newc_round_trip() {
    let root = fresh();
    let stats = unpack_initramfs(&root, &sample()).unwrap();
    assert_eq!((stats.entries, stats.skipped), (13, 0));
    check_sample(&root);
}

#[test]
fn cpio_gzip_round_trip_and_concatenation() {
    let root = fresh();
    let mut image = gzip(&sample());
    // Padding, then a second, uncompressed archive (as the kernel's
    // built-in and external initramfs are concatenated).
    image.extend_from_slice(&[0; 7]);
    image.extend_from_slice(&newc(&[entry("etc", 0o040755, b""), entry("etc/motd", 0o100644, b"welcome\n")]));
    let stats = unpack_initramfs(&root, &image).unwrap();
    assert_eq!(stats.entries, 15);
    check_sample(&root);
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(read(&ctx, &root, "/etc/motd"), b"welcome\n");
    let (plain, used) = gunzip(&gzip(b"abc")).unwrap();
    assert_eq!((plain.as_slice(), used), (&b"abc"[..], gzip(b"abc").len()));
}

#[test]
fn cpio_replaces_and_skips_like_linux() {
    let root = fresh();
    let image = newc(&[
        entry("x", 0o100644, b"first"),
        entry("x", 0o120777, b"target"),                // replaces the file
        entry("missing/child", 0o100644, b"no parent"), // skipped
        entry("d", 0o040755, b""),
        entry("d", 0o040700, b""), // the directory stays, with the new mode
    ]);
    let stats = unpack_initramfs(&root, &image).unwrap();
    assert_eq!((stats.entries, stats.skipped), (4, 1));
    let cred = Cred::root();
    let ctx = Ctx::new(root.clone(), &cred);
    assert_eq!(ctx.readlink(&root, b"/x").unwrap(), b"target");
    assert_eq!(ctx.stat(&root, b"/d", 0).unwrap().mode, S_IFDIR | 0o700);
}

#[test]
fn cpio_malformed_images_are_einval() {
    let good = sample();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("bad magic", {
            let mut v = good.clone();
            v[5] = b'7';
            v
        }),
        ("old binary cpio", vec![0xc7, 0x71, 0, 0]),
        ("non-hex field", {
            let mut v = good.clone();
            v[10] = b'z';
            v
        }),
        ("truncated header", good[..50].to_vec()),
        ("truncated name", good[..224].to_vec()),
        ("truncated data", good[..2000].to_vec()),
        ("name without NUL", {
            let mut v = newc(&[entry("abc", 0o100644, b"")]);
            v[NEWC_HEADER_LEN + 3] = b'x';
            v
        }),
        ("namesize 0", {
            let mut v = newc(&[entry("abc", 0o100644, b"")]);
            v[6 + 11 * 8..6 + 12 * 8].copy_from_slice(b"00000000");
            v
        }),
        ("huge filesize", {
            let mut v = newc(&[entry("abc", 0o100644, b"")]);
            v[6 + 6 * 8..6 + 7 * 8].copy_from_slice(b"FFFFFFFF");
            v
        }),
        ("garbage after trailer", {
            let mut v = good.clone();
            v.extend_from_slice(b"junk");
            v
        }),
        ("bad checksum", {
            let mut v = newc(&[entry("abc", 0o100644, b"data")]);
            v[5] = b'2';
            v
        }),
        ("truncated gzip", {
            let g = gzip(&good);
            g[..g.len() / 2].to_vec()
        }),
        ("gzip crc mismatch", {
            let mut g = gzip(&good);
            let n = g.len();
            g[n - 8] ^= 1;
            g
        }),
        ("gzip corrupt stream", {
            let mut g = gzip(&good);
            for b in &mut g[30..60] {
                *b = 0xff;
            }
            g
        }),
        ("gzip bad method", {
            let mut g = gzip(&good);
            g[2] = 7;
            g
        }),
        ("gzip header only", vec![0x1f, 0x8b, 8, 0]),
    ];
    for (what, image) in cases {
        let root = fresh();
        assert_eq!(unpack_initramfs(&root, &image), Err(Errno::EINVAL), "{what}");
    }
    // A good checksum (070702) is accepted.
    let mut v = newc(&[entry("abc", 0o100644, b"data")]);
    v[5] = b'2';
    let sum: u32 = b"data".iter().map(|&b| u32::from(b)).sum();
    v[6 + 12 * 8..6 + 13 * 8].copy_from_slice(format!("{sum:08x}").as_bytes());
    // The trailer's checksum field is 0 and its data empty: fine.
    let t = v.len() - 124;
    v[t + 5] = b'2';
    assert!(unpack_initramfs(&fresh(), &v).is_ok());
}

#[test]
fn cpio_random_bytes_never_panic() {
    let mut seed = 0x1234_5678_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let good = sample();
    let gz = gzip(&good);
    for _ in 0..300 {
        let mut v = if next() % 2 == 0 { good.clone() } else { gz.clone() };
        for _ in 0..(next() % 8 + 1) {
            let i = (next() as usize) % v.len();
            v[i] = next() as u8;
        }
        let cut = (next() as usize) % (v.len() + 1);
        v.truncate(cut.max(v.len() / 2));
        let _ = unpack_initramfs(&fresh(), &v);
    }
}

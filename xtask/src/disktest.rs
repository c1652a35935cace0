//! The disk checks of `cargo xtask test` (part `disk`): the kernel boots
//! with `root=/dev/vda` and `user/disk/disktree.c` as init on an ext2
//! image, and the host checks the image with e2fsprogs.
//!
//! - write: the guest writes a tree (the scale: 10,000 small
//!   files, files of 1 to 33 MiB, 200 MiB in all, a 16 MiB sparse file,
//!   fast/slow/dangling symlinks, hard links, a 32-deep directory) and a
//!   5 GiB sparse `/huge`, lists it
//!   with each file's SHA-256, syncs and powers off; `e2fsck -fn` must find
//!   the image clean, `debugfs rdump` of the tree must list the same, the
//!   hard links share an inode, `/huge` has its size and its data blocks
//!   (read through `debugfs bmap` from the image) hold what was written.
//! - from: the host makes an image of a tree (`mke2fs -d`, as `cargo xtask
//!   disk --from`), the guest lists it read-only (the root is mounted `ro`
//!   without `rw`, a create is EROFS) and every line must match the host's.
//! - crash: the guest writes and fsyncs a file and its directory, says so,
//!   and QEMU is killed right then, with other writes in flight; after
//!   `e2fsck -fy` the file is whole.

use crate::Tally;
use crate::disk::{e2fs_tool, make_image};
use crate::qemu::Qemu;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The byte at offset `i` of a file disktree.c writes with `seed`.
fn pattern(i: u64, seed: u64) -> u8 {
    ((i.wrapping_mul(31) + seed * 7 + (i >> 12)) % 251) as u8
}

/// The chunks disktree.c writes into /huge (64 KiB of pattern seed 9 each).
const HUGE_CHUNKS: [u64; 4] = [0, 3 << 30, (4 << 30) + 8192, (5 << 30) - 65536];
const HUGE_SIZE: u64 = 5 << 30;
/// The write check's image: the tree's 200 MiB, its 10,000 inodes
/// (mke2fs's one per 16 KiB) and room.
const WRITE_IMAGE_BYTES: u64 = 320 << 20;

fn err(what: impl std::fmt::Display, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// Builds disktree.c (musl, static) into target/user/disktree.
fn build_disktree() -> Result<PathBuf, String> {
    crate::setup::ensure_tools(crate::user::USER_TOOLS)?;
    let user = crate::root().join("user");
    let out = crate::target_dir().join("user").join("disktree");
    std::fs::create_dir_all(out.parent().unwrap_or(Path::new("."))).map_err(|e| err("target/user", e))?;
    crate::user::compile(&user.join("disk/disktree.c"), &out, &user.join("include"), None)?;
    Ok(out)
}

/// A fresh directory under target/blk.
fn fresh_dir(name: &str) -> Result<PathBuf, String> {
    let d = crate::target_dir().join("blk").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).map_err(|e| err(d.display(), e))?;
    Ok(d)
}

/// A root tree for the guest: /sbin/init (disktree), an empty /dev.
fn root_tree(name: &str, disktree: &Path) -> Result<PathBuf, String> {
    let d = fresh_dir(name)?;
    for sub in ["sbin", "dev", "proc"] {
        std::fs::create_dir_all(d.join(sub)).map_err(|e| err(sub, e))?;
    }
    std::fs::copy(disktree, d.join("sbin/init")).map_err(|e| err("sbin/init", e))?;
    Ok(d)
}

/// SHA-256 of files, by coreutils' sha256sum (one run for all).
fn sha256_files(files: &[PathBuf]) -> Result<Vec<String>, String> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let out = Command::new("sha256sum").args(files).output().map_err(|e| err("sha256sum", e))?;
    if !out.status.success() {
        return Err(format!("sha256sum: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let sums: Vec<String> =
        text.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect();
    if sums.len() != files.len() {
        return Err(format!("sha256sum: {} sums for {} files", sums.len(), files.len()));
    }
    Ok(sums)
}

/// The host's listing of `top`, in disktree.c's format (without the "@ ").
fn host_listing(top: &Path) -> Result<Vec<String>, String> {
    enum E {
        Line(String),
        File(String, PathBuf),
    }
    fn walk(top: &Path, rel: &str, out: &mut Vec<E>) -> Result<(), String> {
        let dir = if rel.is_empty() { top.to_path_buf() } else { top.join(rel) };
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| err(dir.display(), e))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !(rel.is_empty() && n == "lost+found"))
            .collect();
        names.sort();
        for n in names {
            let r = if rel.is_empty() { n.clone() } else { format!("{rel}/{n}") };
            let p = top.join(&r);
            let md = p.symlink_metadata().map_err(|e| err(p.display(), e))?;
            let mode = md.permissions().mode() & 0o7777;
            if md.is_dir() {
                out.push(E::Line(format!("d {r} {mode:o}")));
                walk(top, &r, out)?;
            } else if md.file_type().is_symlink() {
                let t = std::fs::read_link(&p).map_err(|e| err(p.display(), e))?;
                out.push(E::Line(format!("l {r} {}", t.display())));
            } else if md.is_file() {
                out.push(E::File(format!("f {r} {mode:o} {} {}", md.len(), md.nlink()), p));
            } else {
                out.push(E::Line(format!("o {r} {mode:o}")));
            }
        }
        Ok(())
    }
    let mut entries = Vec::new();
    walk(top, "", &mut entries)?;
    let files: Vec<PathBuf> =
        entries.iter().filter_map(|e| if let E::File(_, p) = e { Some(p.clone()) } else { None }).collect();
    let mut sums = sha256_files(&files)?.into_iter();
    Ok(entries
        .into_iter()
        .map(|e| match e {
            E::Line(l) => l,
            E::File(l, _) => format!("{l} {}", sums.next().unwrap_or_default()),
        })
        .collect())
}

/// The guest's listing lines (after "@ ").
fn guest_listing(output: &str) -> Vec<String> {
    output.lines().filter_map(|l| l.strip_prefix("@ ")).map(str::to_string).collect()
}

/// `f` lines without their link count (debugfs rdump writes each name
/// as its own file).
fn without_nlink(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            if w.first() == Some(&"f") && w.len() == 6 {
                format!("f {} {} {} {}", w[1], w[2], w[3], w[5])
            } else {
                l.clone()
            }
        })
        .collect()
}

/// The first difference of two listings, or None.
fn diff(guest: &[String], host: &[String]) -> Option<String> {
    for (i, (g, h)) in guest.iter().zip(host).enumerate() {
        if g != h {
            return Some(format!("line {i}: guest {g:?}, host {h:?}"));
        }
    }
    (guest.len() != host.len()).then(|| format!("guest {} lines, host {}", guest.len(), host.len()))
}

/// `e2fsck -f{n,y}`: (exit status, output).
fn e2fsck(img: &Path, flag: &str) -> Result<(i32, String), String> {
    let o = Command::new(e2fs_tool("e2fsck")).arg(flag).arg(img).output().map_err(|e| err("e2fsck", e))?;
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    Ok((o.status.code().unwrap_or(-1), text))
}

/// `debugfs -R CMD IMG`: its standard output.
fn debugfs(img: &Path, cmd: &str) -> Result<String, String> {
    let o = Command::new(e2fs_tool("debugfs"))
        .args(["-R", cmd])
        .arg(img)
        .output()
        .map_err(|e| err("debugfs", e))?;
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The number after `key` in debugfs's `stat` output.
fn stat_field(stat: &str, key: &str) -> Option<u64> {
    let rest = &stat[stat.find(key)? + key.len()..];
    rest.split_whitespace().next()?.parse().ok()
}

fn boot(
    kernel: &Path,
    smp: u32,
    img: &Path,
    cmdline: &str,
    kill_on: Option<&str>,
) -> Result<(crate::qemu::Outcome, f64), String> {
    let mut q: Qemu = crate::qemu_for(kernel.to_path_buf(), None, cmdline, smp);
    q.disk = Some(img.to_path_buf());
    let t = Instant::now();
    let o = q.run_captured_until(Duration::from_secs(180), true, kill_on)?;
    Ok((o, t.elapsed().as_secs_f64()))
}

/// The guest writes a tree; the host checks it.
fn check_write(kernel: &Path, smp: u32, disktree: &Path, t: &mut Tally) -> Result<(), String> {
    let tree = root_tree("write-root", disktree)?;
    let img = crate::target_dir().join("blk/write.img");
    let _ = std::fs::remove_file(&img);
    make_image(Some(&tree), &img, Some(WRITE_IMAGE_BYTES), 4096)?;
    let (o, secs) = boot(kernel, smp, &img, "root=/dev/vda rw -- write", None)?;
    println!("xtask: disk write boot: {secs:.1} s");
    let synced = o.output.contains("disktree: synced");
    t.check(
        "disk::guest_writes_a_tree_and_powers_off",
        synced && o.status == Some(0),
        &format!("synced {synced}, status {:?}", o.status),
    );
    if !synced {
        return Ok(());
    }
    let (code, text) = e2fsck(&img, "-fn")?;
    t.check("disk::written_image_is_clean_under_e2fsck_fn", code == 0, text.trim());
    let guest = guest_listing(&o.output);
    let out = fresh_dir("write-dump")?;
    debugfs(&img, &format!("rdump /t {}", out.display()))?;
    let host = host_listing(&out.join("t"))?;
    let d = diff(&without_nlink(&guest), &without_nlink(&host));
    t.check(
        "disk::written_tree_reads_back_equal_through_debugfs",
        d.is_none() && guest.len() > 400,
        &d.unwrap_or_else(|| format!("{} lines", guest.len())),
    );
    // the figures: 10,000 files, 200 MiB (each name's size counted)
    let (files, bytes) = guest.iter().filter(|l| l.starts_with("f ")).fold((0u64, 0u64), |(n, b), l| {
        (n + 1, b + l.split(' ').nth(3).and_then(|s| s.parse().ok()).unwrap_or(0))
    });
    println!("xtask: disk write tree: {files} files, {} MiB", bytes >> 20);
    t.check(
        "disk::written_tree_has_10000_files_and_200_mib",
        files >= 10_000 && bytes >= 200 << 20,
        &format!("{files} files, {bytes} bytes"),
    );
    // hard links: one inode, three names, and the guest saw nlink 3
    let names = ["/t/mid/m0", "/t/hard_m0", "/t/small/hard_m0"];
    let stats: Vec<(Option<u64>, Option<u64>)> = names
        .iter()
        .map(|n| {
            debugfs(&img, &format!("stat {n}")).map(|s| (stat_field(&s, "Inode:"), stat_field(&s, "Links:")))
        })
        .collect::<Result<_, _>>()?;
    let guest_nlink = guest.iter().any(|l| l.starts_with("f mid/m0 ") && l.split(' ').nth(4) == Some("3"));
    t.check(
        "disk::hard_links_share_one_inode",
        stats.iter().all(|s| s.0.is_some() && s.0 == stats[0].0 && s.1 == Some(3)) && guest_nlink,
        &format!("{stats:?}, guest nlink 3: {guest_nlink}"),
    );
    // /huge: its size, holes unmapped, its data blocks as written
    let st = debugfs(&img, "stat /huge")?;
    let size = stat_field(&st, "Size:");
    let image = std::fs::File::open(&img).map_err(|e| err(img.display(), e))?;
    let mut bad = Vec::new();
    for &c in &HUGE_CHUNKS {
        for blk in (c / 4096)..(c + 65536) / 4096 {
            let phys = debugfs(&img, &format!("bmap /huge {blk}"))?.trim().parse::<u64>().unwrap_or(0);
            let mut buf = vec![0u8; 4096];
            std::os::unix::fs::FileExt::read_exact_at(&image, &mut buf, phys * 4096)
                .map_err(|e| err("read image", e))?;
            let want: Vec<u8> = (0..4096).map(|i| pattern(blk * 4096 + i, 9)).collect();
            if phys == 0 || buf != want {
                bad.push(blk);
            }
        }
    }
    let hole = debugfs(&img, &format!("bmap /huge {}", (2u64 << 30) / 4096))?.trim().to_string();
    t.check(
        "disk::huge_sparse_file_5gib_on_disk",
        size == Some(HUGE_SIZE) && bad.is_empty() && hole == "0",
        &format!("size {size:?}, bad blocks {bad:?}, hole at 2 GiB mapped to {hole}"),
    );
    Ok(())
}

/// The tree the host puts on an image for the guest to read.
fn host_tree(top: &Path) -> Result<(), String> {
    use std::os::unix::fs::symlink;
    let w = |p: PathBuf, len: u64, seed: u64| {
        std::fs::write(&p, (0..len).map(|i| pattern(i, seed)).collect::<Vec<u8>>())
            .map_err(|e| err(p.display(), e))
    };
    let data = top.join("data");
    for d in ["many", "big", "private"] {
        std::fs::create_dir_all(data.join(d)).map_err(|e| err(d, e))?;
    }
    for i in 0..300u64 {
        w(data.join(format!("many/n{i:04}")), i * 53 % 7000, i)?;
    }
    w(data.join("big/four"), 4 << 20, 500)?;
    w(data.join("big/odd"), (1 << 20) + 4097, 501)?;
    w(data.join("empty"), 0, 0)?;
    // a sparse file: 20 MiB with data at 10 MiB and at the end
    let sp = data.join("big/sparse");
    let f = std::fs::File::create(&sp).map_err(|e| err(sp.display(), e))?;
    let chunk: Vec<u8> = (0..10000).map(|i| pattern(i, 77)).collect();
    std::os::unix::fs::FileExt::write_all_at(&f, &chunk, 10 << 20).map_err(|e| err("sparse", e))?;
    f.set_len(20 << 20).map_err(|e| err("sparse", e))?;
    drop(f);
    symlink("many/n0001", data.join("fast")).map_err(|e| err("symlink", e))?;
    symlink(format!("big/{}", "y".repeat(150)), data.join("slow")).map_err(|e| err("symlink", e))?;
    std::fs::hard_link(data.join("big/four"), data.join("many/four-again")).map_err(|e| err("link", e))?;
    let mut deep = data.join("deep");
    for i in 0..24 {
        deep = deep.join(format!("level{i}"));
    }
    std::fs::create_dir_all(&deep).map_err(|e| err("deep", e))?;
    w(deep.join("bottom"), 999, 3)?;
    std::fs::set_permissions(data.join("private"), std::fs::Permissions::from_mode(0o700))
        .map_err(|e| err("chmod", e))?;
    w(data.join("private/secret"), 64, 4)?;
    std::fs::set_permissions(data.join("private/secret"), std::fs::Permissions::from_mode(0o600))
        .map_err(|e| err("chmod", e))?;
    Ok(())
}

/// The host makes an image of a tree; the guest reads every file.
fn check_from(kernel: &Path, smp: u32, disktree: &Path, t: &mut Tally) -> Result<(), String> {
    let tree = root_tree("from-root", disktree)?;
    host_tree(&tree)?;
    let img = crate::target_dir().join("blk/from.img");
    let _ = std::fs::remove_file(&img);
    make_image(Some(&tree), &img, None, 1024)?;
    let host = host_listing(&tree.join("data"))?;
    let (o, secs) = boot(kernel, smp, &img, "root=/dev/vda -- hash /data", None)?;
    println!("xtask: disk read boot: {secs:.1} s");
    let guest = guest_listing(&o.output);
    let d = diff(&guest, &host);
    t.check(
        "disk::host_made_image_reads_equal_in_the_guest",
        d.is_none() && o.status == Some(0) && host.len() > 300,
        &d.unwrap_or_else(|| format!("status {:?}, {} lines", o.status, host.len())),
    );
    let erofs = o.output.contains("disktree: create on the read-only root: Read-only file system");
    let (code, text) = e2fsck(&img, "-fn")?;
    t.check(
        "disk::root_mounted_read_only_without_rw",
        erofs && code == 0 && o.output.contains("/dev/vda (ext2) mounted on / read-only"),
        &format!("EROFS {erofs}, e2fsck {code}: {}", text.trim()),
    );
    Ok(())
}

/// QEMU killed right after fsync returned: the file is whole.
fn check_crash(kernel: &Path, smp: u32, disktree: &Path, t: &mut Tally) -> Result<(), String> {
    let tree = root_tree("crash-root", disktree)?;
    let img = crate::target_dir().join("blk/crash.img");
    let _ = std::fs::remove_file(&img);
    make_image(Some(&tree), &img, Some(64 << 20), 4096)?;
    let (o, _) = boot(kernel, smp, &img, "root=/dev/vda rw -- crash", Some("disktree: fsync returned"))?;
    let killed = o.status.is_none() && !o.timed_out && o.output.contains("disktree: fsync returned");
    let (code, text) = e2fsck(&img, "-fy")?;
    let out = fresh_dir("crash-dump")?.join("crash.bin");
    debugfs(&img, &format!("dump /crash.bin {}", out.display()))?;
    let got = std::fs::read(&out).unwrap_or_default();
    let want: Vec<u8> = (0..(2u64 << 20) + 555).map(|i| pattern(i, 42)).collect();
    let (code2, _) = e2fsck(&img, "-fn")?;
    t.check(
        "disk::fsynced_file_survives_qemu_killed",
        killed && code <= 1 && code2 == 0 && got == want,
        &format!(
            "killed after the line {killed}, e2fsck -fy {code}, then -fn {code2}, crash.bin {} bytes (want {}), equal {}: {}",
            got.len(),
            want.len(),
            got == want,
            text.lines().take(8).collect::<Vec<_>>().join(" | ")
        ),
    );
    Ok(())
}

/// The disk part of `cargo xtask test`, with `smp` guest CPUs.
pub fn run(kernel: &Path, smp: u32, t: &mut Tally) -> Result<(), String> {
    crate::setup::ensure_tools(crate::HOST_TEST_TOOLS)?;
    let disktree = build_disktree()?;
    check_write(kernel, smp, &disktree, t)?;
    check_from(kernel, smp, &disktree, t)?;
    check_crash(kernel, smp, &disktree, t)?;
    check_debian(kernel, smp, t)?;
    Ok(())
}

/// `cargo xtask qemu --debian --disk`'s image: the Debian system on ext2,
/// booted twice from it (bash as init running a check script): the root
/// is the disk, a file written in the first boot is read in the second,
/// and lsblk lists the disk (`vda 254:0 0 0 disk`).
fn check_debian(kernel: &Path, smp: u32, t: &mut Tally) -> Result<(), String> {
    let img = crate::target_dir().join("blk/debian.img");
    let _ = std::fs::remove_file(&img);
    crate::debsys::make_disk(&img)?;
    let script = "/usr/local/lib/checks/diskboot.sh";
    let mut outs = Vec::new();
    for n in 1..=2 {
        let cmdline = format!("root=/dev/vda rw init=/usr/bin/bash -- {script} {n}");
        let (o, secs) = boot(kernel, smp, &img, &cmdline, None)?;
        println!("xtask: Debian disk boot {n}: {secs:.1} s");
        outs.push(o);
    }
    let want = |o: &crate::qemu::Outcome, kept: &str| {
        o.status == Some(0)
            && o.output.contains("root: /dev/vda (ext2) mounted on / read-write")
            && o.output.contains("root fs ext2/ext3")
            && o.output.contains(kept)
            && o.output.lines().any(|l| l.trim() == "42")
            && o.output.lines().any(|l| l.trim() == "vda 254:0 0 0 disk")
    };
    let ok = want(&outs[0], "nothing-kept") && want(&outs[1], "kept-1");
    let fsck = Command::new(e2fs_tool("e2fsck")).arg("-fn").arg(&img).output().map_err(|e| e.to_string())?;
    t.check(
        "disk::debian_system_boots_from_an_ext2_disk_and_keeps_a_file",
        ok && fsck.status.success(),
        &format!(
            "status {:?}/{:?}, e2fsck {}; first boot: {:?}; second: {:?}",
            outs[0].status,
            outs[1].status,
            fsck.status,
            tail_of(&outs[0].output),
            tail_of(&outs[1].output)
        ),
    );
    let _ = std::fs::remove_file(&img);
    Ok(())
}

/// The last lines of a boot's output, for a failure's message.
fn tail_of(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(8)..].join(" | ")
}

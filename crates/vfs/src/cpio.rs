//! Unpacking an initramfs: cpio "newc" archives, plain or gzip-compressed,
//! concatenated and zero-padded as Linux's `init/initramfs.c` accepts them.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use linux_abi::{Errno, Result};
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};

use crate::ctx::Ctx;
use crate::inode::Inode;
use crate::types::*;

/// The length of a newc header: the 6-byte magic and 13 fields of 8 hex
/// digits.
pub const NEWC_HEADER_LEN: usize = 110;

/// What an unpacking did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnpackStats {
    /// Entries created or updated.
    pub entries: usize,
    /// Entries skipped because the filesystem refused them (a missing
    /// parent directory, a name in the way): Linux skips those too.
    pub skipped: usize,
}

/// The fields of a newc header.
#[derive(Clone, Copy, Debug)]
struct Header {
    ino: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    mtime: u32,
    filesize: u32,
    devmajor: u32,
    devminor: u32,
    rdevmajor: u32,
    rdevminor: u32,
    namesize: u32,
    check: u32,
}

fn hex8(b: &[u8]) -> Result<u32> {
    if b.len() != 8 {
        return Err(Errno::EINVAL);
    }
    let mut v = 0u32;
    for &c in b {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return Err(Errno::EINVAL),
        };
        v = (v << 4) | u32::from(d);
    }
    Ok(v)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn parse_header(h: &[u8]) -> Result<(Header, bool)> {
    let crc = match h.get(..6) {
        Some(b"070701") => false,
        Some(b"070702") => true,
        _ => return Err(Errno::EINVAL),
    };
    let f = |i: usize| hex8(h.get(6 + 8 * i..14 + 8 * i).unwrap_or_default());
    Ok((
        Header {
            ino: f(0)?,
            mode: f(1)?,
            uid: f(2)?,
            gid: f(3)?,
            nlink: f(4)?,
            mtime: f(5)?,
            filesize: f(6)?,
            devmajor: f(7)?,
            devminor: f(8)?,
            rdevmajor: f(9)?,
            rdevminor: f(10)?,
            namesize: f(11)?,
            check: f(12)?,
        },
        crc,
    ))
}

/// The unpacker's state across archives: hard-link candidates by
/// (device, inode number), and directory times set at the end (entries
/// created inside would move them).
struct Unpacker<'c, 'a> {
    ctx: &'c Ctx<'a>,
    root: Arc<Inode>,
    links: BTreeMap<(u32, u32, u32), Vec<u8>>,
    dir_times: Vec<(Arc<Inode>, Timespec)>,
    stats: UnpackStats,
}

/// Unpacks an initramfs image into the directory `root` (normally the
/// root of a fresh ramfs), as root: a sequence of cpio newc archives
/// (magic `070701`, or `070702` with checksums), NUL padding between them,
/// and gzip members holding more of the same. Entries make directories,
/// regular files (hard links by inode number when `nlink > 1`), symbolic
/// links and device, FIFO and socket nodes, with the archive's mode,
/// owner and modification time. An existing name of another type is
/// replaced; an existing directory keeps its content and takes the
/// entry's mode.
///
/// A malformed image (bad magic, bad hex, a truncated entry or gzip
/// stream, a checksum mismatch, a name without its NUL or longer than
/// `PATH_MAX`) gives `EINVAL`; entries before the fault stay unpacked.
/// Entries the filesystem refuses are skipped and counted, as Linux does.
pub fn unpack_initramfs(root: &Arc<Inode>, image: &[u8]) -> Result<UnpackStats> {
    let cred = Cred::root();
    let ctx = Ctx::new(Arc::clone(root), &cred);
    let mut u = Unpacker {
        ctx: &ctx,
        root: Arc::clone(root),
        links: BTreeMap::new(),
        dir_times: Vec::new(),
        stats: UnpackStats::default(),
    };
    let r = u.image(image, 0);
    for (dir, t) in &u.dir_times {
        dir.set_times(*t, *t);
    }
    r.map(|()| u.stats)
}

impl Unpacker<'_, '_> {
    fn image(&mut self, mut data: &[u8], depth: u32) -> Result<()> {
        while !data.is_empty() {
            match data[0] {
                0 => data = &data[1..],
                b'0' => data = self.archive(data)?,
                0x1f if data.get(1) == Some(&0x8b) => {
                    if depth > 4 {
                        return Err(Errno::EINVAL);
                    }
                    let (out, used) = gunzip(data)?;
                    self.image(&out, depth + 1)?;
                    data = data.get(used..).ok_or(Errno::EINVAL)?;
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        Ok(())
    }

    /// One archive, up to and including its trailer (or the end of the
    /// data at an entry boundary); returns the rest.
    fn archive<'d>(&mut self, mut data: &'d [u8]) -> Result<&'d [u8]> {
        loop {
            if data.is_empty() {
                return Ok(data);
            }
            let h = data.get(..NEWC_HEADER_LEN).ok_or(Errno::EINVAL)?;
            let (hdr, crc) = parse_header(h)?;
            let namesize = hdr.namesize as usize;
            if namesize == 0 || namesize > PATH_MAX {
                return Err(Errno::EINVAL);
            }
            let name_end = NEWC_HEADER_LEN + namesize;
            let name = data.get(NEWC_HEADER_LEN..name_end).ok_or(Errno::EINVAL)?;
            let (&nul, name) = name.split_last().ok_or(Errno::EINVAL)?;
            if nul != 0 || name.contains(&0) {
                return Err(Errno::EINVAL);
            }
            let body_start = align4(name_end);
            let body_end = body_start.checked_add(hdr.filesize as usize).ok_or(Errno::EINVAL)?;
            let body = data.get(body_start..body_end).ok_or(Errno::EINVAL)?;
            if crc && body.iter().fold(0u32, |s, &b| s.wrapping_add(u32::from(b))) != hdr.check {
                return Err(Errno::EINVAL);
            }
            let next = align4(body_end).min(data.len());
            data = &data[next..];
            if name == b"TRAILER!!!" {
                return Ok(data);
            }
            match self.entry(&hdr, name, body) {
                Ok(()) => self.stats.entries += 1,
                Err(_) => self.stats.skipped += 1,
            }
        }
    }

    /// Removes `name` if it is in the way of an entry of type `ftype`
    /// (Linux's `clean_path`): anything of another type, or any
    /// non-directory.
    fn clean(&self, name: &[u8], ftype: FileType) {
        let ctx = self.ctx;
        if let Ok(old) = ctx.lookup(&self.root, name, false) {
            let keep = ftype == FileType::Directory && old.is_dir();
            if !keep {
                let _ = if old.is_dir() { ctx.rmdir(&self.root, name) } else { ctx.unlink(&self.root, name) };
            }
        }
    }

    fn entry(&mut self, h: &Header, name: &[u8], body: &[u8]) -> Result<()> {
        let ctx = self.ctx;
        let root = &Arc::clone(&self.root);
        let ftype = FileType::from_mode(h.mode).ok_or(Errno::EINVAL)?;
        let perm = h.mode & S_IALLUGO;
        let mtime = Timespec::new(i64::from(h.mtime), 0);
        let name: &[u8] = match name {
            b"." | b"./" | b"/" => b".",
            n => n,
        };
        if ftype != FileType::Directory {
            self.clean(name, ftype);
        }
        let inode = match ftype {
            FileType::Directory => {
                self.clean(name, ftype);
                let dir = match ctx.mkdir(root, name, perm) {
                    Ok(d) => d,
                    Err(Errno::EEXIST) => ctx.lookup(root, name, false)?,
                    Err(e) => return Err(e),
                };
                if !dir.is_dir() {
                    return Err(Errno::EEXIST);
                }
                dir.chmod(ctx.cred(), perm)?;
                dir.chown(ctx.cred(), Some(h.uid), Some(h.gid))?;
                dir.chmod(ctx.cred(), perm)?;
                self.dir_times.push((Arc::clone(&dir), mtime));
                return Ok(());
            }
            FileType::Regular => {
                // Hard links (Linux's `maybe_link`): a later member with
                // the same inode number becomes a link to the first; its
                // data, if any, goes into the shared file (GNU cpio puts
                // the data with the last link).
                let key = (h.devmajor, h.devminor, h.ino);
                let mut linked = false;
                if h.nlink >= 2 {
                    if let Some(first) = self.links.get(&key) {
                        ctx.link(root, first, root, name, 0)?;
                        linked = true;
                    } else {
                        self.links.insert(key, name.to_vec());
                    }
                }
                let trunc = if linked { 0 } else { O_TRUNC };
                match ctx.open(root, name, O_WRONLY | O_CREAT | trunc | O_NOFOLLOW, perm)? {
                    crate::Opened::File(f) => {
                        let inode = Arc::clone(crate::File::inode(&*f).ok_or(Errno::EINVAL)?);
                        let mut done = 0;
                        while done < body.len() {
                            done += inode.write_at(done as u64, &body[done..])?;
                        }
                        inode
                    }
                    _ => return Err(Errno::EEXIST),
                }
            }
            FileType::Symlink => ctx.symlink(body, root, name)?,
            _ => ctx.mknod(root, name, h.mode, makedev(h.rdevmajor, h.rdevminor))?,
        };
        if ftype != FileType::Symlink {
            inode.chown(ctx.cred(), Some(h.uid), Some(h.gid))?;
            inode.chmod(ctx.cred(), perm)?;
        } else {
            inode.chown(ctx.cred(), Some(h.uid), Some(h.gid))?;
        }
        inode.set_times(mtime, mtime);
        Ok(())
    }
}

/// The CRC-32 (IEEE) of `data`, as gzip stores it.
fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
        }
        *t = c;
    }
    !data.iter().fold(!0u32, |c, &b| table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8))
}

/// Decompresses one gzip member (RFC 1952) at the start of `data`; returns
/// the content and the member's length. `EINVAL` for a bad header, a
/// corrupt or truncated stream or a CRC/size mismatch; `ENOMEM` when the
/// output cannot be allocated.
pub fn gunzip(data: &[u8]) -> Result<(Vec<u8>, usize)> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let hdr = data.get(..10).ok_or(Errno::EINVAL)?;
    if hdr[0] != 0x1f || hdr[1] != 0x8b || hdr[2] != 8 || hdr[3] & 0xe0 != 0 {
        return Err(Errno::EINVAL);
    }
    let flg = hdr[3];
    let mut pos = 10;
    if flg & FEXTRA != 0 {
        let x = data.get(pos..pos + 2).ok_or(Errno::EINVAL)?;
        pos += 2 + usize::from(u16::from_le_bytes([x[0], x[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flg & flag != 0 {
            let rest = data.get(pos..).ok_or(Errno::EINVAL)?;
            let nul = rest.iter().position(|&b| b == 0).ok_or(Errno::EINVAL)?;
            pos += nul + 1;
        }
    }
    if flg & FHCRC != 0 {
        pos += 2;
    }
    let mut input = data.get(pos..).ok_or(Errno::EINVAL)?;
    let mut out: Vec<u8> = Vec::new();
    let grow = |out: &mut Vec<u8>| -> Result<()> {
        let add = out.len().max(64 * 1024);
        out.try_reserve(add).map_err(|_| Errno::ENOMEM)?;
        let new_len = out.len() + add;
        out.resize(new_len, 0);
        Ok(())
    };
    grow(&mut out)?;
    let mut decomp = DecompressorOxide::new();
    let mut out_pos = 0;
    let mut consumed = 0;
    loop {
        let (status, used, produced) = decompress(
            &mut decomp,
            input,
            &mut out,
            out_pos,
            inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
        );
        out_pos += produced;
        consumed += used;
        input = input.get(used..).ok_or(Errno::EINVAL)?;
        match status {
            TINFLStatus::Done => break,
            TINFLStatus::HasMoreOutput => grow(&mut out)?,
            _ => return Err(Errno::EINVAL),
        }
    }
    out.truncate(out_pos);
    let trailer = input.get(..8).ok_or(Errno::EINVAL)?;
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    if crc != crc32(&out) || isize != out.len() as u32 {
        return Err(Errno::EINVAL);
    }
    Ok((out, pos + consumed + 8))
}

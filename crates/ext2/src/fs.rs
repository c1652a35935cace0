//! The file system: superblock, group descriptors, bitmaps, inodes, block
//! maps and directories.

use crate::disk::{le16, le32, put16, put32, zeroed};
use crate::{BlockDevice, LINK_MAX, NAME_LEN, ROOT_INO, SECTOR_SIZE};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use linux_abi::{Errno, Result};

const EUCLEAN: Errno = Errno::EUCLEAN;

// superblock offsets
const S_INODES_COUNT: usize = 0;
const S_BLOCKS_COUNT: usize = 4;
const S_R_BLOCKS_COUNT: usize = 8;
const S_FREE_BLOCKS: usize = 12;
const S_FREE_INODES: usize = 16;
const S_FIRST_DATA_BLOCK: usize = 20;
const S_LOG_BLOCK_SIZE: usize = 24;
const S_BLOCKS_PER_GROUP: usize = 32;
const S_INODES_PER_GROUP: usize = 40;
const S_MTIME: usize = 44;
const S_WTIME: usize = 48;
const S_MNT_COUNT: usize = 52;
const S_MAX_MNT_COUNT: usize = 54;
const S_MAGIC: usize = 56;
const S_STATE: usize = 58;
const S_REV_LEVEL: usize = 76;
const S_FIRST_INO: usize = 84;
const S_INODE_SIZE: usize = 88;
const S_FEATURE_COMPAT: usize = 92;
const S_FEATURE_INCOMPAT: usize = 96;
const S_FEATURE_RO_COMPAT: usize = 100;
const S_RESERVED_GDT_BLOCKS: usize = 206;

const VALID_FS: u16 = 1;

const INCOMPAT_FILETYPE: u32 = 0x2;
const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
const RO_COMPAT_LARGE_FILE: u32 = 0x2;
const RO_COMPAT_BTREE_DIR: u32 = 0x4;
const COMPAT_RESIZE_INODE: u32 = 0x10;
const INCOMPAT_SUPP: u32 = INCOMPAT_FILETYPE;
const RO_COMPAT_SUPP: u32 = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR;

// group descriptor offsets (32 bytes each)
const GD_SIZE: usize = 32;
const BG_BLOCK_BITMAP: usize = 0;
const BG_INODE_BITMAP: usize = 4;
const BG_INODE_TABLE: usize = 8;
const BG_FREE_BLOCKS: usize = 12;
const BG_FREE_INODES: usize = 14;
const BG_USED_DIRS: usize = 16;

// inode offsets
const I_MODE: usize = 0;
const I_UID: usize = 2;
const I_SIZE: usize = 4;
const I_ATIME: usize = 8;
const I_CTIME: usize = 12;
const I_MTIME: usize = 16;
const I_DTIME: usize = 20;
const I_GID: usize = 24;
const I_LINKS: usize = 26;
const I_BLOCKS: usize = 28;
const I_FLAGS: usize = 32;
const I_BLOCK: usize = 40;
const I_FILE_ACL: usize = 104;
const I_SIZE_HIGH: usize = 108;
const I_UID_HIGH: usize = 120;
const I_GID_HIGH: usize = 122;
const GOOD_OLD_INODE_SIZE: usize = 128;

const INDEX_FL: u32 = 0x1000;

const S_IFMT: u16 = 0o170000;
const S_IFSOCK: u16 = 0o140000;
const S_IFLNK: u16 = 0o120000;
const S_IFREG: u16 = 0o100000;
const S_IFBLK: u16 = 0o060000;
const S_IFDIR: u16 = 0o040000;
const S_IFCHR: u16 = 0o020000;
const S_IFIFO: u16 = 0o010000;

/// The kind of an inode, from its mode's type bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A FIFO.
    Fifo,
    /// A socket.
    Socket,
    /// A symbolic link.
    Symlink,
}

impl FileType {
    fn from_mode(mode: u16) -> Option<FileType> {
        Some(match mode & S_IFMT {
            S_IFREG => FileType::Regular,
            S_IFDIR => FileType::Directory,
            S_IFCHR => FileType::CharDevice,
            S_IFBLK => FileType::BlockDevice,
            S_IFIFO => FileType::Fifo,
            S_IFSOCK => FileType::Socket,
            S_IFLNK => FileType::Symlink,
            _ => return None,
        })
    }

    /// The directory entry's `file_type` byte.
    fn dirent_code(self) -> u8 {
        match self {
            FileType::Regular => 1,
            FileType::Directory => 2,
            FileType::CharDevice => 3,
            FileType::BlockDevice => 4,
            FileType::Fifo => 5,
            FileType::Socket => 6,
            FileType::Symlink => 7,
        }
    }

    /// `getdents64`'s `d_type` for this kind (DT_REG, DT_DIR, ...).
    pub fn d_type(self) -> u8 {
        match self {
            FileType::Regular => 8,
            FileType::Directory => 4,
            FileType::CharDevice => 2,
            FileType::BlockDevice => 6,
            FileType::Fifo => 1,
            FileType::Socket => 12,
            FileType::Symlink => 10,
        }
    }
}

/// How to mount: [`MountOptions::default`], then set the fields (more may
/// come).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct MountOptions {
    /// Mount read-only (`MS_RDONLY`).
    pub read_only: bool,
    /// Seconds since the epoch, for timestamps.
    pub clock: fn() -> u32,
}

fn zero_clock() -> u32 {
    0
}

impl MountOptions {
    /// Read-only or not, and the clock for timestamps.
    pub fn new(read_only: bool, clock: fn() -> u32) -> Self {
        MountOptions { read_only, clock }
    }
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions { read_only: false, clock: zero_clock }
    }
}

/// Why a mount failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MountError {
    /// No ext2 magic number (Linux: "can't find an ext2 filesystem", `EINVAL`).
    NotExt2,
    /// INCOMPAT features this driver does not know (the mask): ext3 needing
    /// recovery, ext4 (`EINVAL`).
    Incompatible(u32),
    /// A superblock or descriptor value out of range (`EINVAL`), with what.
    Corrupt(&'static str),
    /// The device is smaller than the superblock says (`EINVAL`).
    TooSmall,
    /// The device failed or memory ran out (the errno).
    Io(Errno),
}

impl MountError {
    /// The errno `mount(2)` returns for this failure.
    pub fn errno(self) -> Errno {
        match self {
            MountError::Io(e) => e,
            _ => Errno::EINVAL,
        }
    }
}

impl From<Errno> for MountError {
    fn from(e: Errno) -> Self {
        MountError::Io(e)
    }
}

/// An inode's attributes, as `stat` reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stat {
    /// The inode number.
    pub ino: u32,
    /// Type and permission bits.
    pub mode: u16,
    /// Hard links.
    pub nlink: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// 512-byte units allocated (data and indirect blocks).
    pub blocks: u64,
    /// Last access, seconds.
    pub atime: u32,
    /// Last modification, seconds.
    pub mtime: u32,
    /// Last status change, seconds.
    pub ctime: u32,
    /// Device number (major, minor) of a device node, else (0, 0).
    pub rdev: (u32, u32),
    /// The preferred I/O size: the block size.
    pub blksize: u32,
}

impl Stat {
    /// The inode's kind.
    pub fn file_type(&self) -> Option<FileType> {
        FileType::from_mode(self.mode)
    }
}

/// Attribute changes for [`Ext2::setattr`]; `None` keeps the value.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct SetAttr {
    /// New permission bits (the type bits are kept).
    pub mode: Option<u16>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New access time.
    pub atime: Option<u32>,
    /// New modification time.
    pub mtime: Option<u32>,
    /// New change time (else now).
    pub ctime: Option<u32>,
}

impl SetAttr {
    /// With [`SetAttr::mode`].
    pub fn with_mode(mut self, mode: Option<u16>) -> Self {
        self.mode = mode;
        self
    }
    /// With [`SetAttr::uid`].
    pub fn with_uid(mut self, uid: Option<u32>) -> Self {
        self.uid = uid;
        self
    }
    /// With [`SetAttr::gid`].
    pub fn with_gid(mut self, gid: Option<u32>) -> Self {
        self.gid = gid;
        self
    }
    /// With [`SetAttr::atime`].
    pub fn with_atime(mut self, atime: Option<u32>) -> Self {
        self.atime = atime;
        self
    }
    /// With [`SetAttr::mtime`].
    pub fn with_mtime(mut self, mtime: Option<u32>) -> Self {
        self.mtime = mtime;
        self
    }
    /// With [`SetAttr::ctime`].
    pub fn with_ctime(mut self, ctime: Option<u32>) -> Self {
        self.ctime = ctime;
        self
    }
}

/// `statfs` figures, as Linux's `ext2_statfs` computes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatFs {
    /// Block size.
    pub bsize: u32,
    /// Blocks minus the metadata overhead.
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Free blocks for unprivileged users (minus the reserved ones).
    pub bavail: u64,
    /// Inodes.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// Longest name.
    pub namelen: u32,
}

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirEntry {
    /// The inode it names.
    pub ino: u32,
    /// The name.
    pub name: Vec<u8>,
    /// The kind, from the entry's type byte (`None` without `FILETYPE`).
    pub kind: Option<FileType>,
}

/// An in-memory copy of an on-disk inode record (its first 128 bytes).
#[derive(Clone)]
struct Inode {
    ino: u32,
    raw: [u8; GOOD_OLD_INODE_SIZE],
}

impl Inode {
    /// A new inode's record: `mode`, owner, the three times at `now`,
    /// `links` names, everything else zero.
    fn fresh(ino: u32, mode: u16, uid: u32, gid: u32, now: u32, links: u16) -> Inode {
        let mut i = Inode { ino, raw: [0; GOOD_OLD_INODE_SIZE] };
        put16(&mut i.raw, I_MODE, mode);
        i.set_uid(uid);
        i.set_gid(gid);
        i.touch(I_ATIME, now);
        i.touch(I_CTIME, now);
        i.touch(I_MTIME, now);
        i.set_links(links);
        i
    }
    fn mode(&self) -> u16 {
        le16(&self.raw, I_MODE)
    }
    fn kind(&self) -> Option<FileType> {
        FileType::from_mode(self.mode())
    }
    fn is_dir(&self) -> bool {
        self.mode() & S_IFMT == S_IFDIR
    }
    fn size(&self) -> u64 {
        let lo = le32(&self.raw, I_SIZE) as u64;
        let hi = le32(&self.raw, I_SIZE_HIGH) as u64;
        if self.mode() & S_IFMT == S_IFREG { lo | hi << 32 } else { lo }
    }
    fn set_size(&mut self, size: u64) {
        put32(&mut self.raw, I_SIZE, size as u32);
        put32(&mut self.raw, I_SIZE_HIGH, (size >> 32) as u32);
    }
    fn links(&self) -> u16 {
        le16(&self.raw, I_LINKS)
    }
    fn set_links(&mut self, n: u16) {
        put16(&mut self.raw, I_LINKS, n)
    }
    fn blocks512(&self) -> u32 {
        le32(&self.raw, I_BLOCKS)
    }
    fn set_blocks512(&mut self, n: u32) {
        put32(&mut self.raw, I_BLOCKS, n)
    }
    fn ptr(&self, i: usize) -> u32 {
        le32(&self.raw, I_BLOCK + 4 * i)
    }
    fn set_ptr(&mut self, i: usize, v: u32) {
        put32(&mut self.raw, I_BLOCK + 4 * i, v)
    }
    fn flags(&self) -> u32 {
        le32(&self.raw, I_FLAGS)
    }
    fn uid(&self) -> u32 {
        le16(&self.raw, I_UID) as u32 | (le16(&self.raw, I_UID_HIGH) as u32) << 16
    }
    fn gid(&self) -> u32 {
        le16(&self.raw, I_GID) as u32 | (le16(&self.raw, I_GID_HIGH) as u32) << 16
    }
    fn set_uid(&mut self, uid: u32) {
        put16(&mut self.raw, I_UID, uid as u16);
        put16(&mut self.raw, I_UID_HIGH, (uid >> 16) as u16);
    }
    fn set_gid(&mut self, gid: u32) {
        put16(&mut self.raw, I_GID, gid as u16);
        put16(&mut self.raw, I_GID_HIGH, (gid >> 16) as u16);
    }
    fn touch(&mut self, off: usize, t: u32) {
        put32(&mut self.raw, off, t)
    }
    fn rdev(&self) -> (u32, u32) {
        let old = self.ptr(0);
        if old != 0 {
            ((old >> 8) & 0xff, old & 0xff)
        } else {
            let new = self.ptr(1);
            ((new & 0xfff00) >> 8, (new & 0xff) | ((new >> 12) & 0xfff00))
        }
    }
    fn set_rdev(&mut self, major: u32, minor: u32) {
        if major < 256 && minor < 256 {
            self.set_ptr(0, major << 8 | minor);
            self.set_ptr(1, 0);
        } else {
            self.set_ptr(0, 0);
            self.set_ptr(1, (minor & 0xff) | (major & 0xfff) << 8 | (minor & !0xff) << 12);
            self.set_ptr(2, 0);
        }
    }
    /// `ext2_inode_is_fast_symlink`.
    fn is_fast_symlink(&self, bs: usize) -> bool {
        let ea = if le32(&self.raw, I_FILE_ACL) != 0 { (bs / 512) as u32 } else { 0 };
        self.mode() & S_IFMT == S_IFLNK && self.blocks512().wrapping_sub(ea) == 0
    }
    /// Whether `i_block` holds block numbers (not a device number or a
    /// fast symlink's target).
    fn has_block_map(&self, bs: usize) -> bool {
        match self.kind() {
            Some(FileType::Regular) | Some(FileType::Directory) => true,
            Some(FileType::Symlink) => !self.is_fast_symlink(bs),
            _ => false,
        }
    }
}

/// A mounted ext2 file system over the device `D`.
pub struct Ext2<D: BlockDevice> {
    dev: D,
    sb: Vec<u8>,
    gdt: Vec<u8>,
    bs: usize,
    blocks_count: u32,
    inodes_count: u32,
    first_data_block: u32,
    bpg: u32,
    ipg: u32,
    groups: u32,
    inode_size: usize,
    first_ino: u32,
    itb_per_group: u32,
    gdt_blocks: u32,
    filetype: bool,
    read_only: bool,
    mount_state: u16,
    clock: fn() -> u32,
    max_size: u64,
    may_use_reserved: bool,
    pinned: BTreeMap<u32, u32>,
    /// (directory, logical block): where the last entry went into that
    /// directory; the blocks before it had no room then. Cleared when an
    /// entry of it is removed (room may open anywhere).
    add_hint: Option<(u32, u64)>,
    /// The names of the directory entries were last added to, so a create
    /// in a large directory need not read it all to know a name is free
    /// (built by one walk; kept by add_entry and remove_entry; dropped
    /// when memory runs out or the directory goes).
    names: Option<(u32, crate::names::NameSet)>,
    /// Sequential reads of one file: (inode, where its next read would
    /// start, how far its blocks were read ahead).
    ahead: Option<(u32, u64, u64)>,
    /// (directory, logical block): where the last name looked up in that
    /// directory was found; the next lookup starts there (Linux's
    /// `i_dir_start_lookup`), so names taken in the order they were added
    /// are found without reading the blocks before them.
    find_hint: Option<(u32, u64)>,
}

/// What parsing and writing directory entries needs of the file system
/// (a copy, usable while a block is borrowed from the device).
#[derive(Clone, Copy)]
struct DirFmt {
    bs: usize,
    filetype: bool,
    inodes_count: u32,
}

impl DirFmt {
    fn parse_slot(self, blk: &[u8], off: usize) -> Result<Slot> {
        if off + 8 > self.bs || blk.len() < self.bs {
            return Err(EUCLEAN);
        }
        let ino = le32(blk, off);
        let rec_len = le16(blk, off + 4) as usize;
        let (name_len, ftype) = if self.filetype {
            (blk[off + 6] as usize, blk[off + 7])
        } else {
            (le16(blk, off + 6) as usize, 0)
        };
        if rec_len < 8
            || !rec_len.is_multiple_of(4)
            || off + rec_len > self.bs
            || name_len + 8 > rec_len
            || ino > self.inodes_count
        {
            return Err(EUCLEAN);
        }
        Ok(Slot { off, ino, rec_len, name_len, ftype })
    }

    fn put_slot(self, blk: &mut [u8], off: usize, ino: u32, rec_len: usize, name: &[u8], kind: FileType) {
        put32(blk, off, ino);
        put16(blk, off + 4, rec_len as u16);
        if self.filetype {
            blk[off + 6] = name.len() as u8;
            blk[off + 7] = kind.dirent_code();
        } else {
            put16(blk, off + 6, name.len() as u16);
        }
        blk[off + 8..off + 8 + name.len()].copy_from_slice(name);
    }

    /// The entry named `name` in `blk`: (its offset, the previous
    /// entry's, its inode).
    fn find_in(self, blk: &[u8], name: &[u8]) -> Result<Option<(usize, Option<usize>, u32)>> {
        let mut prev = None;
        let mut off = 0;
        while off < self.bs {
            let s = self.parse_slot(blk, off)?;
            if s.ino != 0 && s.name_len == name.len() && &blk[off + 8..off + 8 + s.name_len] == name {
                return Ok(Some((off, prev, s.ino)));
            }
            prev = Some(off);
            off += s.rec_len;
        }
        Ok(None)
    }
}

/// A directory entry read out of its block: inode, name, type code, the
/// position after it.
type DirHit = (u32, Vec<u8>, u8, u64);

/// The file type a directory entry's type code names.
fn kind_of_code(code: u8) -> Option<FileType> {
    match code {
        1 => Some(FileType::Regular),
        2 => Some(FileType::Directory),
        3 => Some(FileType::CharDevice),
        4 => Some(FileType::BlockDevice),
        5 => Some(FileType::Fifo),
        6 => Some(FileType::Socket),
        7 => Some(FileType::Symlink),
        _ => None,
    }
}

/// The first clear bit of bitmap `bm` in `from..to` (64 bits at a time
/// where it can, as Linux's `find_next_zero_bit`).
fn first_zero(bm: &[u8], from: u32, to: u32) -> Option<u32> {
    let to = to.min((bm.len() * 8) as u32);
    let mut i = from;
    while i < to {
        if i.is_multiple_of(64) && i + 64 <= to {
            let at = (i / 8) as usize;
            let w = u64::from_le_bytes(bm.get(at..at + 8)?.try_into().ok()?);
            if w == u64::MAX {
                i += 64;
                continue;
            }
            return Some(i + w.trailing_ones());
        }
        if bm[(i / 8) as usize] & (1 << (i % 8)) == 0 {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// A copy of `n`, `None` when memory ran out.
fn owned(n: &[u8]) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n.len()).ok()?;
    v.extend_from_slice(n);
    Some(v)
}

fn div_ceil(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

/// Whether group `g` holds a superblock backup (`ext2_group_sparse`).
fn group_has_super(g: u32, sparse: bool) -> bool {
    if g <= 1 || !sparse {
        return true;
    }
    if g & 1 == 0 {
        return false;
    }
    for base in [3u32, 5, 7] {
        let mut n = base;
        while n < g {
            match n.checked_mul(base) {
                Some(m) => n = m,
                None => break,
            }
        }
        if n == g {
            return true;
        }
    }
    false
}

/// `ext2_max_size`.
fn max_file_size(bits: u32) -> u64 {
    let ppb = 1u64 << (bits - 2);
    let mut res = 12 + ppb + ppb * ppb + ppb * ppb * ppb;
    let mut upper = ((1u64 << 32) - 1) >> (bits - 9);
    let meta = 1 + (1 + ppb) + (1 + ppb + ppb * ppb);
    if res + meta > upper {
        res = upper;
        upper -= 12;
        let mut meta = 1;
        upper -= ppb;
        if upper < ppb * ppb {
            meta += 1 + div_ceil(upper, ppb);
            res -= meta;
        } else {
            meta += 1 + ppb;
            upper -= ppb * ppb;
            meta += 1 + div_ceil(upper, ppb) + div_ceil(upper, ppb * ppb);
            res -= meta;
        }
    }
    (res << bits).min(i64::MAX as u64)
}

fn check_name(name: &[u8]) -> Result<()> {
    if name.len() > NAME_LEN {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn rec_len_for(name_len: usize) -> usize {
    (8 + name_len + 3) & !3
}

/// The largest run of a file's blocks read or written in one transfer.
const RUN_BYTES: usize = 1 << 20;

/// How far past a sequential read a file's blocks are read ahead.
const READ_AHEAD: u64 = 1 << 20;

/// The map blocks a walk over a file's blocks read last, per level of
/// indirection (block number 0: none yet).
#[derive(Default)]
struct MapMemo {
    levels: [(u32, Vec<u8>); 3],
}

/// A parsed directory entry's place.
struct Slot {
    off: usize,
    ino: u32,
    rec_len: usize,
    name_len: usize,
    ftype: u8,
}

/// Where a name was found.
struct Found {
    pblk: u32,
    off: usize,
    prev: Option<usize>,
    ino: u32,
}

impl<D: BlockDevice> Ext2<D> {
    /// Reads and checks the superblock and group descriptors.
    pub fn mount(mut dev: D, opts: MountOptions) -> core::result::Result<Self, MountError> {
        if dev.sectors() < 4 {
            return Err(MountError::TooSmall);
        }
        let mut sb = zeroed(1024)?;
        dev.read(2, &mut sb)?;
        if le16(&sb, S_MAGIC) != 0xEF53 {
            return Err(MountError::NotExt2);
        }
        let rev = le32(&sb, S_REV_LEVEL);
        if rev > 1 {
            return Err(MountError::Corrupt("revision level"));
        }
        let (incompat, ro_compat) =
            if rev == 0 { (0, 0) } else { (le32(&sb, S_FEATURE_INCOMPAT), le32(&sb, S_FEATURE_RO_COMPAT)) };
        if incompat & !INCOMPAT_SUPP != 0 {
            return Err(MountError::Incompatible(incompat & !INCOMPAT_SUPP));
        }
        let log = le32(&sb, S_LOG_BLOCK_SIZE);
        if log > 2 {
            return Err(MountError::Corrupt("block size"));
        }
        let bs = 1024usize << log;
        let blocks_count = le32(&sb, S_BLOCKS_COUNT);
        let inodes_count = le32(&sb, S_INODES_COUNT);
        let first_data_block = le32(&sb, S_FIRST_DATA_BLOCK);
        let bpg = le32(&sb, S_BLOCKS_PER_GROUP);
        let ipg = le32(&sb, S_INODES_PER_GROUP);
        let (inode_size, first_ino) = if rev == 0 {
            (GOOD_OLD_INODE_SIZE, 11)
        } else {
            (le16(&sb, S_INODE_SIZE) as usize, le32(&sb, S_FIRST_INO))
        };
        if inode_size < GOOD_OLD_INODE_SIZE || inode_size > bs || !inode_size.is_power_of_two() {
            return Err(MountError::Corrupt("inode size"));
        }
        if first_data_block != (if bs == 1024 { 1 } else { 0 }) {
            return Err(MountError::Corrupt("first data block"));
        }
        if bpg == 0 || bpg as usize > bs * 8 || !bpg.is_multiple_of(8) {
            return Err(MountError::Corrupt("blocks per group"));
        }
        let ipb = (bs / inode_size) as u32;
        if ipg < ipb || ipg as usize > bs * 8 || !ipg.is_multiple_of(ipb) {
            return Err(MountError::Corrupt("inodes per group"));
        }
        if blocks_count <= first_data_block {
            return Err(MountError::Corrupt("blocks count"));
        }
        let groups = div_ceil((blocks_count - first_data_block) as u64, bpg as u64);
        if groups == 0 || groups.checked_mul(ipg as u64) != Some(inodes_count as u64) {
            return Err(MountError::Corrupt("inodes count"));
        }
        let groups = groups as u32;
        if first_ino < 11 || first_ino >= inodes_count {
            return Err(MountError::Corrupt("first inode"));
        }
        if (blocks_count as u64) * (bs as u64 / SECTOR_SIZE as u64) > dev.sectors() {
            return Err(MountError::TooSmall);
        }
        let gdt_blocks = div_ceil(groups as u64 * GD_SIZE as u64, bs as u64) as u32;
        if gdt_blocks >= bpg {
            return Err(MountError::Corrupt("descriptor blocks"));
        }
        let itb_per_group = ipg / ipb;
        let mut gdt = zeroed(gdt_blocks as usize * bs)?;
        dev.read((first_data_block as u64 + 1) * (bs / SECTOR_SIZE) as u64, &mut gdt)?;
        // ext2_check_descriptors
        for g in 0..groups {
            let d = &gdt[g as usize * GD_SIZE..];
            let first = first_data_block + g * bpg;
            let last = if g == groups - 1 { blocks_count - 1 } else { first + bpg - 1 };
            let bb = le32(d, BG_BLOCK_BITMAP);
            let ib = le32(d, BG_INODE_BITMAP);
            let it = le32(d, BG_INODE_TABLE);
            if bb < first || bb > last || ib < first || ib > last {
                return Err(MountError::Corrupt("bitmap location"));
            }
            if it < first || it as u64 + itb_per_group as u64 - 1 > last as u64 {
                return Err(MountError::Corrupt("inode table location"));
            }
            if le16(d, BG_FREE_BLOCKS) as u32 > bpg || le16(d, BG_FREE_INODES) as u32 > ipg {
                return Err(MountError::Corrupt("descriptor free counts"));
            }
        }
        let sparse = ro_compat & RO_COMPAT_SPARSE_SUPER != 0;
        let read_only = opts.read_only || dev.read_only() || ro_compat & !RO_COMPAT_SUPP != 0;
        let mount_state = le16(&sb, S_STATE);
        let _ = sparse;
        let mut fs = Ext2 {
            dev,
            sb,
            gdt,
            bs,
            blocks_count,
            inodes_count,
            first_data_block,
            bpg,
            ipg,
            groups,
            inode_size,
            first_ino,
            itb_per_group,
            gdt_blocks,
            filetype: incompat & INCOMPAT_FILETYPE != 0,
            read_only,
            mount_state,
            clock: opts.clock,
            max_size: max_file_size(10 + log),
            pinned: BTreeMap::new(),
            add_hint: None,
            names: None,
            ahead: None,
            find_hint: None,
            may_use_reserved: true,
        };
        let root = fs.get_inode(ROOT_INO).map_err(MountError::Io)?;
        if !root.is_dir() || root.links() == 0 {
            return Err(MountError::Corrupt("root inode"));
        }
        if !fs.read_only {
            // ext2_setup_super, then ext2_sync_fs's "not valid while mounted"
            if le16(&fs.sb, S_MAX_MNT_COUNT) == 0 {
                put16(&mut fs.sb, S_MAX_MNT_COUNT, 0xffff);
            }
            let n = le16(&fs.sb, S_MNT_COUNT).wrapping_add(1);
            put16(&mut fs.sb, S_MNT_COUNT, n);
            let now = fs.now();
            put32(&mut fs.sb, S_MTIME, now);
            put16(&mut fs.sb, S_STATE, mount_state & !VALID_FS);
            fs.write_super()?;
        }
        Ok(fs)
    }

    /// Writes everything back, marks the file system clean and hands the
    /// device back (`umount`).
    pub fn unmount(mut self) -> Result<D> {
        if !self.read_only {
            // inodes unlinked while open go now (their files are closed)
            let pinned: Vec<u32> = self.pinned.keys().copied().collect();
            self.pinned.clear();
            for ino in pinned {
                let i = self.get_inode(ino)?;
                if i.links() == 0 && i.kind().is_some() {
                    self.delete_inode(i)?;
                }
            }
            put16(&mut self.sb, S_STATE, self.mount_state);
            self.write_super()?;
            self.dev.flush()?;
        }
        Ok(self.dev)
    }

    /// Makes every change durable (`sync`, `syncfs`, `fsync`).
    pub fn sync(&mut self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.write_super()?;
        self.dev.flush()
    }

    /// Whether the mount is read-only (asked for, a read-only device, or
    /// unknown RO_COMPAT features).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The block size.
    pub fn block_size(&self) -> usize {
        self.bs
    }

    /// The root directory's inode number.
    pub fn root(&self) -> u32 {
        ROOT_INO
    }

    /// Whether the calls that follow may allocate the reserved blocks
    /// (`s_r_blocks_count`): Linux allows them to `CAP_SYS_RESOURCE` and
    /// the `s_def_resuid`/`s_def_resgid` owner. On by default; the kernel
    /// sets it from the caller's credential before each change.
    pub fn set_may_use_reserved(&mut self, yes: bool) {
        self.may_use_reserved = yes;
    }

    /// Whether byte `off` of a regular file lies in an allocated block
    /// (for `SEEK_DATA`/`SEEK_HOLE` and a page cache's reads).
    pub fn is_mapped(&mut self, ino: u32, off: u64) -> Result<bool> {
        let i = self.live_inode(ino)?;
        if i.kind() != Some(FileType::Regular) {
            return Err(Errno::EINVAL);
        }
        Ok(self.bmap(&i, off / self.bs as u64)? != 0)
    }

    /// The largest file size (`ext2_max_size`).
    pub fn max_file_size(&self) -> u64 {
        self.max_size
    }

    /// The device (for tests and the block layer).
    pub fn device(&self) -> &D {
        &self.dev
    }

    fn now(&self) -> u32 {
        (self.clock)()
    }

    fn sectors_per_block(&self) -> u64 {
        (self.bs / SECTOR_SIZE) as u64
    }

    fn check_block(&self, b: u32) -> Result<()> {
        if b < self.first_data_block || b >= self.blocks_count { Err(EUCLEAN) } else { Ok(()) }
    }

    /// `f` over block `b`'s bytes, borrowed from the device's cache (no
    /// copy of the block).
    fn with_block<R>(&mut self, b: u32, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        self.check_block(b)?;
        let mut f = Some(f);
        let mut out = None;
        let sector = b as u64 * self.sectors_per_block();
        self.dev.update(sector, self.bs, &mut |data| {
            if let Some(f) = f.take() {
                out = Some(f(data));
            }
            false
        })?;
        out.ok_or(Errno::EIO)
    }

    /// Changes block `b` in place in the device's cache: `f` returns its
    /// result and whether it changed the block (which then is written).
    fn change_block<R>(&mut self, b: u32, f: impl FnOnce(&mut [u8]) -> (R, bool)) -> Result<R> {
        self.check_block(b)?;
        self.writable()?;
        let mut f = Some(f);
        let mut out = None;
        let sector = b as u64 * self.sectors_per_block();
        self.dev.update(sector, self.bs, &mut |data| {
            let Some(f) = f.take() else { return false };
            let (r, changed) = f(data);
            out = Some(r);
            changed
        })?;
        out.ok_or(Errno::EIO)
    }

    fn dir_fmt(&self) -> DirFmt {
        DirFmt { bs: self.bs, filetype: self.filetype, inodes_count: self.inodes_count }
    }

    fn read_block(&mut self, b: u32) -> Result<Vec<u8>> {
        self.check_block(b)?;
        let mut buf = zeroed(self.bs)?;
        self.dev.read(b as u64 * self.sectors_per_block(), &mut buf)?;
        Ok(buf)
    }

    fn read_block_into(&mut self, b: u32, buf: &mut [u8]) -> Result<()> {
        self.check_block(b)?;
        self.dev.read(b as u64 * self.sectors_per_block(), buf)
    }

    fn write_block(&mut self, b: u32, buf: &[u8]) -> Result<()> {
        self.check_block(b)?;
        if self.read_only {
            return Err(Errno::EROFS);
        }
        self.dev.write(b as u64 * self.sectors_per_block(), buf)
    }

    /// Reads `buf.len() / bs` blocks from `b` on in one transfer.
    fn read_blocks(&mut self, b: u32, buf: &mut [u8]) -> Result<()> {
        let count = (buf.len() / self.bs) as u64;
        if count == 0 || b as u64 + count > self.blocks_count as u64 {
            return Err(EUCLEAN);
        }
        self.check_block(b)?;
        self.dev.read(b as u64 * self.sectors_per_block(), buf)
    }

    /// Writes `buf.len() / bs` blocks from `b` on in one transfer.
    fn write_blocks(&mut self, b: u32, buf: &[u8]) -> Result<()> {
        let count = (buf.len() / self.bs) as u64;
        if count == 0 || b as u64 + count > self.blocks_count as u64 {
            return Err(EUCLEAN);
        }
        self.check_block(b)?;
        if self.read_only {
            return Err(Errno::EROFS);
        }
        self.dev.write(b as u64 * self.sectors_per_block(), buf)
    }

    fn write_super(&mut self) -> Result<()> {
        let now = self.now();
        put32(&mut self.sb, S_WTIME, now);
        // ext2_sync_super: the free counts are the descriptors' sums
        let bfree: u64 = (0..self.groups).map(|g| self.gd(g, BG_FREE_BLOCKS) as u64).sum();
        let ffree: u64 = (0..self.groups).map(|g| self.gd(g, BG_FREE_INODES) as u64).sum();
        put32(&mut self.sb, S_FREE_BLOCKS, bfree.min(u32::MAX as u64) as u32);
        put32(&mut self.sb, S_FREE_INODES, ffree.min(u32::MAX as u64) as u32);
        self.dev.write(2, &self.sb)
    }

    fn write_gd(&mut self, g: u32) -> Result<()> {
        let off = g as usize * GD_SIZE;
        let mut d = [0u8; GD_SIZE];
        d.copy_from_slice(self.gdt.get(off..off + GD_SIZE).ok_or(EUCLEAN)?);
        let blk = self.first_data_block + 1 + (off / self.bs) as u32;
        let at = off % self.bs;
        self.change_block(blk, |b| {
            b[at..at + GD_SIZE].copy_from_slice(&d);
            ((), true)
        })
    }

    fn gd(&self, g: u32, off: usize) -> u32 {
        let d = &self.gdt[g as usize * GD_SIZE..];
        if off >= BG_FREE_BLOCKS { le16(d, off) as u32 } else { le32(d, off) }
    }

    fn gd_add(&mut self, g: u32, off: usize, delta: i32) {
        let o = g as usize * GD_SIZE + off;
        let v = le16(&self.gdt, o) as i32 + delta;
        put16(&mut self.gdt, o, v.clamp(0, u16::MAX as i32) as u16);
    }

    fn sb_add(&mut self, off: usize, delta: i32) {
        let v = le32(&self.sb, off) as i64 + delta as i64;
        put32(&mut self.sb, off, v.clamp(0, u32::MAX as i64) as u32);
    }

    // ---- inodes ----

    fn inode_place(&self, ino: u32) -> Result<(u32, usize)> {
        if ino == 0 || ino > self.inodes_count {
            return Err(EUCLEAN);
        }
        let g = (ino - 1) / self.ipg;
        let idx = ((ino - 1) % self.ipg) as usize;
        let off = idx * self.inode_size;
        let blk = self.gd(g, BG_INODE_TABLE) + (off / self.bs) as u32;
        Ok((blk, off % self.bs))
    }

    fn get_inode(&mut self, ino: u32) -> Result<Inode> {
        let (blk, off) = self.inode_place(ino)?;
        let raw = self.with_block(blk, |buf| {
            let mut raw = [0u8; GOOD_OLD_INODE_SIZE];
            raw.copy_from_slice(&buf[off..off + GOOD_OLD_INODE_SIZE]);
            raw
        })?;
        Ok(Inode { ino, raw })
    }

    /// An inode that is in use: linked, of a known kind.
    fn live_inode(&mut self, ino: u32) -> Result<Inode> {
        let i = self.get_inode(ino)?;
        if i.kind().is_none() || (i.links() == 0 && !self.pinned.contains_key(&ino)) {
            return Err(EUCLEAN);
        }
        Ok(i)
    }

    fn put_inode(&mut self, i: &Inode, fresh: bool) -> Result<()> {
        let (blk, off) = self.inode_place(i.ino)?;
        let size = self.inode_size;
        self.change_block(blk, |buf| {
            if fresh {
                buf[off..off + size].fill(0);
            }
            buf[off..off + GOOD_OLD_INODE_SIZE].copy_from_slice(&i.raw);
            ((), true)
        })
    }

    fn dir_inode(&mut self, ino: u32) -> Result<Inode> {
        let i = self.live_inode(ino)?;
        if !i.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !i.size().is_multiple_of(self.bs as u64) || i.size() > self.blocks_count as u64 * self.bs as u64 {
            return Err(EUCLEAN);
        }
        Ok(i)
    }

    fn writable(&self) -> Result<()> {
        if self.read_only { Err(Errno::EROFS) } else { Ok(()) }
    }

    // ---- bitmaps ----

    fn group_blocks(&self, g: u32) -> u32 {
        if g == self.groups - 1 { self.blocks_count - self.first_data_block - g * self.bpg } else { self.bpg }
    }

    /// Whether `b` is one of group metadata's blocks (a corrupt bitmap must
    /// not hand them out).
    fn is_metadata(&self, b: u32) -> bool {
        let g = (b - self.first_data_block) / self.bpg;
        let first = self.first_data_block + g * self.bpg;
        let sparse = le32(&self.sb, S_FEATURE_RO_COMPAT) & RO_COMPAT_SPARSE_SUPER != 0;
        if group_has_super(g, sparse) {
            let resv = if le32(&self.sb, S_FEATURE_COMPAT) & COMPAT_RESIZE_INODE != 0 {
                le16(&self.sb, S_RESERVED_GDT_BLOCKS) as u32
            } else {
                0
            };
            if b <= first + self.gdt_blocks + resv {
                return true;
            }
        }
        let it = self.gd(g, BG_INODE_TABLE);
        b == self.gd(g, BG_BLOCK_BITMAP)
            || b == self.gd(g, BG_INODE_BITMAP)
            || (b >= it && b < it + self.itb_per_group)
    }

    fn alloc_block(&mut self, goal: u32) -> Result<u32> {
        self.writable()?;
        // ext2_has_free_blocks: the last s_r_blocks_count blocks are root's
        if !self.may_use_reserved {
            let free: u64 = (0..self.groups).map(|g| self.gd(g, BG_FREE_BLOCKS) as u64).sum();
            if free < le32(&self.sb, S_R_BLOCKS_COUNT) as u64 + 1 {
                return Err(Errno::ENOSPC);
            }
        }
        let goal = if goal >= self.first_data_block && goal < self.blocks_count {
            goal
        } else {
            self.first_data_block
        };
        let start = (goal - self.first_data_block) / self.bpg;
        for k in 0..=self.groups {
            let g = (start + k) % self.groups;
            if self.gd(g, BG_FREE_BLOCKS) == 0 {
                continue;
            }
            let bmb = self.gd(g, BG_BLOCK_BITMAP);
            let n = self.group_blocks(g);
            let from = if k == 0 { (goal - self.first_data_block) % self.bpg } else { 0 };
            let found =
                self.with_block(bmb, |bm| first_zero(bm, from, n).or_else(|| first_zero(bm, 0, from)))?;
            let Some(bit) = found else {
                continue;
            };
            let b = self.first_data_block + g * self.bpg + bit;
            if self.is_metadata(b) {
                return Err(EUCLEAN);
            }
            self.change_block(bmb, |bm| {
                bm[(bit / 8) as usize] |= 1 << (bit % 8);
                ((), true)
            })?;
            self.gd_add(g, BG_FREE_BLOCKS, -1);
            self.write_gd(g)?;
            self.sb_add(S_FREE_BLOCKS, -1);
            return Ok(b);
        }
        Err(Errno::ENOSPC)
    }

    /// Allocates the free blocks from `first` on, at most `max`, stopping
    /// at the first one in use or at the end of its group: how many.
    fn alloc_run_at(&mut self, first: u32, max: u32) -> Result<u32> {
        self.writable()?;
        if max == 0 || first < self.first_data_block || first >= self.blocks_count {
            return Ok(0);
        }
        let mut max = max;
        if !self.may_use_reserved {
            // ext2_has_free_blocks for each: the last s_r_blocks_count stay
            let free: u64 = (0..self.groups).map(|g| self.gd(g, BG_FREE_BLOCKS) as u64).sum();
            let left = free.saturating_sub(le32(&self.sb, S_R_BLOCKS_COUNT) as u64);
            max = max.min(left.min(u32::MAX as u64) as u32);
        }
        let g = (first - self.first_data_block) / self.bpg;
        let bit0 = (first - self.first_data_block) % self.bpg;
        let end = self.group_blocks(g);
        if self.gd(g, BG_FREE_BLOCKS) == 0 {
            return Ok(0);
        }
        let bmb = self.gd(g, BG_BLOCK_BITMAP);
        let max = max.min(self.gd(g, BG_FREE_BLOCKS));
        let free = self.with_block(bmb, |bm| {
            let mut n = 0;
            while n < max && bit0 + n < end {
                let bit = bit0 + n;
                if bm[(bit / 8) as usize] & (1 << (bit % 8)) != 0 {
                    break;
                }
                n += 1;
            }
            n
        })?;
        let mut n = 0;
        while n < free && !self.is_metadata(first + n) {
            n += 1;
        }
        if n == 0 {
            return Ok(0);
        }
        self.change_block(bmb, |bm| {
            for bit in bit0..bit0 + n {
                bm[(bit / 8) as usize] |= 1 << (bit % 8);
            }
            ((), true)
        })?;
        self.gd_add(g, BG_FREE_BLOCKS, -(n as i32));
        self.write_gd(g)?;
        self.sb_add(S_FREE_BLOCKS, -(n as i32));
        Ok(n)
    }

    fn free_block(&mut self, b: u32) -> Result<()> {
        self.check_block(b)?;
        if self.is_metadata(b) {
            return Err(EUCLEAN);
        }
        let g = (b - self.first_data_block) / self.bpg;
        let bit = (b - self.first_data_block) % self.bpg;
        let bmb = self.gd(g, BG_BLOCK_BITMAP);
        let (byte, mask) = ((bit / 8) as usize, 1u8 << (bit % 8));
        self.change_block(bmb, |bm| {
            if bm[byte] & mask == 0 {
                return (Err(EUCLEAN), false); // freeing a free block
            }
            bm[byte] &= !mask;
            (Ok(()), true)
        })??;
        self.gd_add(g, BG_FREE_BLOCKS, 1);
        self.write_gd(g)?;
        self.sb_add(S_FREE_BLOCKS, 1);
        Ok(())
    }

    fn alloc_inode(&mut self, parent: u32, dir: bool) -> Result<u32> {
        self.writable()?;
        let pg = (parent - 1) / self.ipg;
        let start = if dir {
            // find_group_dir: a group with at least the average free inodes,
            // the most free blocks among them
            let avg = le32(&self.sb, S_FREE_INODES) / self.groups;
            (0..self.groups)
                .filter(|&g| self.gd(g, BG_FREE_INODES) > 0 && self.gd(g, BG_FREE_INODES) >= avg)
                .max_by_key(|&g| (self.gd(g, BG_FREE_BLOCKS), u32::MAX - g))
                .unwrap_or(pg)
        } else {
            pg
        };
        for k in 0..self.groups {
            let g = (start + k) % self.groups;
            if self.gd(g, BG_FREE_INODES) == 0 {
                continue;
            }
            let bmb = self.gd(g, BG_INODE_BITMAP);
            let from = if g == 0 { self.first_ino - 1 } else { 0 };
            let ipg = self.ipg;
            let taken = self.change_block(bmb, |bm| match first_zero(bm, from, ipg) {
                Some(bit) => {
                    bm[(bit / 8) as usize] |= 1 << (bit % 8);
                    (Some(bit), true)
                }
                None => (None, false),
            })?;
            let Some(bit) = taken else {
                continue;
            };
            self.gd_add(g, BG_FREE_INODES, -1);
            if dir {
                self.gd_add(g, BG_USED_DIRS, 1);
            }
            self.write_gd(g)?;
            self.sb_add(S_FREE_INODES, -1);
            return Ok(g * self.ipg + bit + 1);
        }
        Err(Errno::ENOSPC)
    }

    fn free_inode_bit(&mut self, ino: u32, dir: bool) -> Result<()> {
        if ino < self.first_ino || ino > self.inodes_count {
            return Err(EUCLEAN);
        }
        let g = (ino - 1) / self.ipg;
        let bit = (ino - 1) % self.ipg;
        let bmb = self.gd(g, BG_INODE_BITMAP);
        let (byte, mask) = ((bit / 8) as usize, 1u8 << (bit % 8));
        self.change_block(bmb, |bm| {
            if bm[byte] & mask == 0 {
                return (Err(EUCLEAN), false);
            }
            bm[byte] &= !mask;
            (Ok(()), true)
        })??;
        self.gd_add(g, BG_FREE_INODES, 1);
        if dir {
            self.gd_add(g, BG_USED_DIRS, -1);
        }
        self.write_gd(g)?;
        self.sb_add(S_FREE_INODES, 1);
        Ok(())
    }

    // ---- block maps ----

    /// The path of logical block `l` through the map: depth and indexes.
    fn map_path(&self, l: u64) -> Option<(usize, [usize; 4])> {
        let ppb = (self.bs / 4) as u64;
        if l < 12 {
            return Some((0, [l as usize, 0, 0, 0]));
        }
        let l = l - 12;
        if l < ppb {
            return Some((1, [12, l as usize, 0, 0]));
        }
        let l = l - ppb;
        if l < ppb * ppb {
            return Some((2, [13, (l / ppb) as usize, (l % ppb) as usize, 0]));
        }
        let l = l - ppb * ppb;
        if l < ppb * ppb * ppb {
            return Some((3, [14, (l / (ppb * ppb)) as usize, (l / ppb % ppb) as usize, (l % ppb) as usize]));
        }
        None
    }

    /// The physical block of logical block `l`, 0 for a hole.
    fn bmap(&mut self, i: &Inode, l: u64) -> Result<u32> {
        let Some((depth, idx)) = self.map_path(l) else { return Ok(0) };
        let mut b = i.ptr(idx[0]);
        for &k in &idx[1..=depth] {
            if b == 0 {
                return Ok(0);
            }
            b = self.with_block(b, |blk| le32(blk, k * 4))?;
        }
        if b != 0 {
            self.check_block(b)?;
        }
        Ok(b)
    }

    /// [`Self::bmap`] through `memo`, the map blocks last read on each
    /// level (a walk over a file's blocks reads each map block once; the
    /// map must not change meanwhile).
    fn bmap_memo(&mut self, i: &Inode, l: u64, memo: &mut MapMemo) -> Result<u32> {
        let Some((depth, idx)) = self.map_path(l) else { return Ok(0) };
        let mut b = i.ptr(idx[0]);
        for (level, &k) in idx[1..=depth].iter().enumerate() {
            if b == 0 {
                return Ok(0);
            }
            let (held, data) = &mut memo.levels[level];
            if *held != b || data.is_empty() {
                if data.is_empty() {
                    *data = zeroed(self.bs)?;
                }
                *held = 0;
                self.read_block_into(b, data)?;
                *held = b;
            }
            b = le32(data, k * 4);
        }
        if b != 0 {
            self.check_block(b)?;
        }
        Ok(b)
    }

    /// The physical block of logical block `l`, allocating it (and the
    /// indirect blocks on the way) when missing; the bool says it is new.
    fn bmap_alloc(&mut self, i: &mut Inode, l: u64, goal: u32) -> Result<(u32, bool)> {
        let Some((depth, idx)) = self.map_path(l) else { return Err(Errno::EFBIG) };
        let spb = (self.bs / SECTOR_SIZE) as u32;
        let mut b = i.ptr(idx[0]);
        let mut fresh = false;
        if b == 0 {
            b = self.alloc_block(goal)?;
            i.set_ptr(idx[0], b);
            i.set_blocks512(i.blocks512().wrapping_add(spb));
            fresh = true;
            if depth > 0 {
                let z = zeroed(self.bs)?;
                self.write_block(b, &z)?;
            }
        }
        for (level, &k) in idx[1..=depth].iter().enumerate() {
            let parent = b;
            b = self.with_block(parent, |blk| le32(blk, k * 4))?;
            fresh = false;
            if b == 0 {
                b = self.alloc_block(parent + 1)?;
                let new = b;
                self.change_block(parent, |blk| {
                    put32(blk, k * 4, new);
                    ((), true)
                })?;
                i.set_blocks512(i.blocks512().wrapping_add(spb));
                fresh = true;
                if level + 1 < depth {
                    let z = zeroed(self.bs)?;
                    self.write_block(b, &z)?;
                }
            } else {
                self.check_block(b)?;
            }
        }
        Ok((b, fresh))
    }

    /// Maps logical blocks `l + 1 ..` of `i` (unmapped, in the same map
    /// block as `l`, which maps to `b`) to the free blocks right after `b`,
    /// at most `want` of them: one bitmap change, one map block change.
    /// Returns how many were mapped.
    fn alloc_following(&mut self, i: &mut Inode, l: u64, b: u32, want: u32) -> Result<u32> {
        let Some((depth, idx)) = self.map_path(l) else { return Ok(0) };
        let ppb = (self.bs / 4) as u32;
        let room = if depth == 0 { 11 - idx[0] as u32 } else { ppb - 1 - idx[depth] as u32 };
        let want = want.min(room);
        if want == 0 {
            return Ok(0);
        }
        // the map block holding l's pointer (None: the inode's direct ones)
        let mut parent = None;
        if depth > 0 {
            let mut pb = i.ptr(idx[0]);
            for &k in &idx[1..depth] {
                pb = self.with_block(pb, |blk| le32(blk, k * 4))?;
            }
            parent = Some((pb, self.read_block(pb)?));
        }
        let first = if depth == 0 { idx[0] + 1 } else { idx[depth] + 1 };
        let unmapped = (0..want as usize)
            .take_while(|&k| match &parent {
                None => i.ptr(first + k) == 0,
                Some((_, blk)) => le32(blk, (first + k) * 4) == 0,
            })
            .count() as u32;
        let n = self.alloc_run_at(b + 1, unmapped)?;
        if n == 0 {
            return Ok(0);
        }
        for k in 0..n {
            match &mut parent {
                None => i.set_ptr(first + k as usize, b + 1 + k),
                Some((_, blk)) => put32(blk, (first + k as usize) * 4, b + 1 + k),
            }
        }
        if let Some((pb, blk)) = &parent {
            self.write_block(*pb, blk)?;
        }
        let spb = (self.bs / SECTOR_SIZE) as u32;
        i.set_blocks512(i.blocks512().wrapping_add(n * spb));
        Ok(n)
    }

    /// Frees the tree under `b` (`level` 0: a data block); returns how many
    /// blocks went.
    fn free_tree(&mut self, b: u32, level: usize) -> Result<u32> {
        let mut n = 0;
        if level > 0 {
            let blk = self.read_block(b)?;
            for k in 0..self.bs / 4 {
                let c = le32(&blk, k * 4);
                if c != 0 {
                    n += self.free_tree(c, level - 1)?;
                }
            }
        }
        self.free_block(b)?;
        Ok(n + 1)
    }

    /// Frees the entries of the indirect block `b` (of `level`) from
    /// relative logical block `from` on; returns the blocks freed.
    fn free_partial(&mut self, b: u32, level: usize, from: u64) -> Result<u32> {
        let ppb = (self.bs / 4) as u64;
        let span = ppb.pow(level as u32 - 1);
        let first = (from / span) as usize;
        let rem = from % span;
        let mut blk = self.read_block(b)?;
        let mut n = 0;
        for k in first..self.bs / 4 {
            let c = le32(&blk, k * 4);
            if c == 0 {
                continue;
            }
            if k == first && rem != 0 {
                n += self.free_partial(c, level - 1, rem)?;
            } else {
                n += self.free_tree(c, level - 1)?;
                put32(&mut blk, k * 4, 0);
            }
        }
        self.write_block(b, &blk)?;
        Ok(n)
    }

    /// Frees every block at logical index `from` and past it.
    fn free_from(&mut self, i: &mut Inode, from: u64) -> Result<()> {
        let ppb = (self.bs / 4) as u64;
        let spb = (self.bs / SECTOR_SIZE) as u32;
        let mut freed = 0u32;
        let mut result = Ok(());
        for k in (from.min(12) as usize)..12 {
            let b = i.ptr(k);
            if b != 0 {
                if let Err(e) = self.free_block(b) {
                    result = Err(e);
                    break;
                }
                i.set_ptr(k, 0);
                freed += 1;
            }
        }
        let mut start = 12u64;
        for level in 1..=3usize {
            let span = ppb.pow(level as u32);
            let b = i.ptr(11 + level);
            if result.is_ok() && b != 0 && from < start + span {
                let r = if from <= start {
                    let r = self.free_tree(b, level);
                    if r.is_ok() {
                        i.set_ptr(11 + level, 0);
                    }
                    r
                } else {
                    self.free_partial(b, level, from - start)
                };
                match r {
                    Ok(n) => freed += n,
                    Err(e) => result = Err(e),
                }
            }
            start += span;
        }
        i.set_blocks512(i.blocks512().saturating_sub(freed.saturating_mul(spb)));
        result
    }

    // ---- files ----

    /// An inode's attributes.
    pub fn stat(&mut self, ino: u32) -> Result<Stat> {
        let i = self.live_inode(ino)?;
        let rdev = match i.kind() {
            Some(FileType::CharDevice) | Some(FileType::BlockDevice) => i.rdev(),
            _ => (0, 0),
        };
        Ok(Stat {
            ino,
            mode: i.mode(),
            nlink: i.links(),
            uid: i.uid(),
            gid: i.gid(),
            size: i.size(),
            blocks: i.blocks512() as u64,
            atime: le32(&i.raw, I_ATIME),
            mtime: le32(&i.raw, I_MTIME),
            ctime: le32(&i.raw, I_CTIME),
            rdev,
            blksize: self.bs as u32,
        })
    }

    /// Reads from a regular file (or a slow symlink's block) at `off`;
    /// returns the bytes read (0 at or past the end).
    pub fn read(&mut self, ino: u32, off: u64, buf: &mut [u8]) -> Result<usize> {
        let i = self.live_inode(ino)?;
        match i.kind() {
            Some(FileType::Regular) => {}
            Some(FileType::Directory) => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        }
        let n = self.read_inode_data(&i, off, buf)?;
        self.read_ahead(&i, off, n);
        Ok(n)
    }

    /// After a read of `n` bytes at `off`: when it starts where the last
    /// read of the file ended (or at 0), the file's next blocks, up to
    /// [`READ_AHEAD`] past this read, are asked of the device as a hint
    /// (`BlockDevice::read_ahead`), once the read comes within half of
    /// that of what was asked before; so sequential reads of small pieces
    /// reach the disk in large transfers. A failure is ignored (the read
    /// that needs the block reports it).
    fn read_ahead(&mut self, i: &Inode, off: u64, n: usize) {
        let end = off + n as u64;
        let (from, upto) = match self.ahead {
            Some((ino, next, upto)) if ino == i.ino && next == off => (upto.max(end), upto),
            _ if off == 0 => (end, end),
            _ => {
                self.ahead = None;
                return;
            }
        };
        self.ahead = Some((i.ino, end, upto));
        if upto >= end + READ_AHEAD / 2 || end >= i.size() || n == 0 {
            return;
        }
        let stop = (end + READ_AHEAD).min(i.size());
        let bs = self.bs as u64;
        let (first, last) = (from.div_ceil(bs), stop.div_ceil(bs));
        let mut memo = MapMemo::default();
        // runs of consecutive blocks: (first block, count, first logical)
        let mut run: Option<(u32, u64, u64)> = None;
        let mut reached = last;
        for l in first..=last {
            let b = if l == last { Ok(0) } else { self.bmap_memo(i, l, &mut memo) };
            let Ok(b) = b else {
                reached = l;
                break;
            };
            if let Some((start, count, at)) = run {
                if b != 0 && b as u64 == start as u64 + count {
                    run = Some((start, count + 1, at));
                    continue;
                }
                let want = count as usize * self.bs;
                let took = self.dev.read_ahead(start as u64 * self.sectors_per_block(), want).unwrap_or(0);
                if took < want {
                    reached = at + (took / self.bs) as u64;
                    break;
                }
            }
            run = (b != 0).then_some((b, 1, l));
        }
        let last = reached;
        self.ahead = Some((i.ino, end, last * bs));
    }

    fn read_inode_data(&mut self, i: &Inode, off: u64, buf: &mut [u8]) -> Result<usize> {
        let size = i.size();
        if off >= size {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(size - off) as usize;
        let bs = self.bs as u64;
        let max_run = (RUN_BYTES / self.bs) as u64;
        let mut memo = MapMemo::default();
        let mut done = 0;
        while done < n {
            let pos = off + done as u64;
            let l = pos / bs;
            let in_blk = (pos % bs) as usize;
            let b = self.bmap_memo(i, l, &mut memo)?;
            if in_blk != 0 || n - done < self.bs {
                // a part of one block
                let chunk = (self.bs - in_blk).min(n - done);
                let out = &mut buf[done..done + chunk];
                if b == 0 {
                    out.fill(0);
                } else {
                    self.with_block(b, |blk| out.copy_from_slice(&blk[in_blk..in_blk + chunk]))?;
                }
                done += chunk;
                continue;
            }
            // whole blocks: a run of holes, or of blocks consecutive on the
            // disk, is one transfer
            let whole = ((n - done) / self.bs) as u64;
            let mut count = 1u64;
            while count < whole.min(max_run) {
                let next = self.bmap_memo(i, l + count, &mut memo)?;
                let follows = if b == 0 { next == 0 } else { next as u64 == b as u64 + count };
                if !follows {
                    break;
                }
                count += 1;
            }
            let part = &mut buf[done..done + count as usize * self.bs];
            if b == 0 {
                part.fill(0);
            } else {
                self.read_blocks(b, part)?;
            }
            done += part.len();
        }
        Ok(n)
    }

    /// Writes to a regular file at `off`, growing it; returns the bytes
    /// written (short when the disk fills after some went in). `EFBIG` at
    /// or past the size limit.
    pub fn write(&mut self, ino: u32, off: u64, data: &[u8]) -> Result<usize> {
        self.writable()?;
        let mut i = self.live_inode(ino)?;
        match i.kind() {
            Some(FileType::Regular) => {}
            Some(FileType::Directory) => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        }
        if data.is_empty() {
            return Ok(0);
        }
        if off >= self.max_size {
            return Err(Errno::EFBIG);
        }
        let n = (data.len() as u64).min(self.max_size - off) as usize;
        let r = self.write_data(&mut i, off, &data[..n]);
        let done = match r {
            Ok(d) => d,
            Err((0, e)) => {
                self.put_inode(&i, false)?;
                return Err(e);
            }
            Err((d, _)) => d,
        };
        let end = off + done as u64;
        if end > i.size() {
            i.set_size(end);
        }
        let now = self.now();
        i.touch(I_MTIME, now);
        i.touch(I_CTIME, now);
        self.put_inode(&i, false)?;
        if end > 0x7fff_ffff {
            self.set_large_file()?;
        }
        Ok(done)
    }

    fn set_large_file(&mut self) -> Result<()> {
        let ro = le32(&self.sb, S_FEATURE_RO_COMPAT);
        if ro & RO_COMPAT_LARGE_FILE == 0 {
            put32(&mut self.sb, S_FEATURE_RO_COMPAT, ro | RO_COMPAT_LARGE_FILE);
            if le32(&self.sb, S_REV_LEVEL) == 0 {
                return Err(Errno::EFBIG);
            }
            self.write_super()?;
        }
        Ok(())
    }

    /// Writes `data` at `off` into `i`'s blocks; on failure, how much went
    /// in and the error.
    fn write_data(
        &mut self,
        i: &mut Inode,
        off: u64,
        data: &[u8],
    ) -> core::result::Result<usize, (usize, Errno)> {
        let bs = self.bs as u64;
        let max_run = (RUN_BYTES / self.bs) as u64;
        let mut done = 0;
        let mut tmp = Vec::new();
        let mut goal = self.inode_goal(i.ino);
        while done < data.len() {
            let pos = off + done as u64;
            let l = pos / bs;
            let in_blk = (pos % bs) as usize;
            let chunk = (self.bs - in_blk).min(data.len() - done);
            let (b, fresh) = self.bmap_alloc(i, l, goal).map_err(|e| (done, e))?;
            goal = b + 1;
            if chunk == self.bs {
                // whole blocks: those allocated (or found) consecutive on the
                // disk go in one transfer
                let whole = ((data.len() - done) / self.bs) as u64;
                let mut count = 1u64;
                let mut failed = None;
                if fresh && whole > 1 {
                    // appending: the blocks after `b` that are free, taken
                    // with one bitmap and one map block change
                    match self.alloc_following(i, l, b, (whole.min(max_run) - 1) as u32) {
                        Ok(n) => {
                            count += n as u64;
                            goal = b + 1 + n;
                        }
                        Err(e) => failed = Some(e),
                    }
                }
                while failed.is_none() && count < whole.min(max_run) {
                    match self.bmap_alloc(i, l + count, goal) {
                        Ok((next, _)) => {
                            goal = next + 1;
                            if next as u64 != b as u64 + count {
                                break; // written by the next round
                            }
                            count += 1;
                        }
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                let bytes = count as usize * self.bs;
                self.write_blocks(b, &data[done..done + bytes]).map_err(|e| (done, e))?;
                done += bytes;
                if let Some(e) = failed {
                    return Err((done, e));
                }
            } else {
                let part = &data[done..done + chunk];
                if fresh {
                    // a new block: zeros around the bytes, no read
                    if tmp.is_empty() {
                        tmp = zeroed(self.bs).map_err(|e| (done, e))?;
                    }
                    tmp.fill(0);
                    tmp[in_blk..in_blk + chunk].copy_from_slice(part);
                    self.write_block(b, &tmp).map_err(|e| (done, e))?;
                } else {
                    self.change_block(b, |blk| {
                        blk[in_blk..in_blk + chunk].copy_from_slice(part);
                        ((), true)
                    })
                    .map_err(|e| (done, e))?;
                }
                done += chunk;
            }
        }
        Ok(done)
    }

    fn inode_goal(&self, ino: u32) -> u32 {
        let g = (ino - 1) / self.ipg;
        self.first_data_block + g * self.bpg
    }

    /// Sets a regular file's size (`truncate`): blocks past it are freed,
    /// the tail of its last block zeroed; growing leaves a hole.
    pub fn truncate(&mut self, ino: u32, size: u64) -> Result<()> {
        self.writable()?;
        let mut i = self.live_inode(ino)?;
        match i.kind() {
            Some(FileType::Regular) => {}
            Some(FileType::Directory) => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        }
        if size > self.max_size {
            return Err(Errno::EFBIG);
        }
        let old = i.size();
        if size < old {
            self.shrink(&mut i, size)?;
        }
        i.set_size(size);
        let now = self.now();
        i.touch(I_MTIME, now);
        i.touch(I_CTIME, now);
        self.put_inode(&i, false)?;
        if size > 0x7fff_ffff {
            self.set_large_file()?;
        }
        Ok(())
    }

    fn shrink(&mut self, i: &mut Inode, size: u64) -> Result<()> {
        let bs = self.bs as u64;
        if !size.is_multiple_of(bs) {
            let b = self.bmap(i, size / bs)?;
            if b != 0 {
                let mut blk = self.read_block(b)?;
                blk[(size % bs) as usize..].fill(0);
                self.write_block(b, &blk)?;
            }
        }
        let r = self.free_from(i, size.div_ceil(bs));
        i.set_size(size);
        r
    }

    /// Changes attributes.
    pub fn setattr(&mut self, ino: u32, a: SetAttr) -> Result<()> {
        self.writable()?;
        let mut i = self.live_inode(ino)?;
        if let Some(m) = a.mode {
            let mode = (i.mode() & S_IFMT) | (m & 0o7777);
            put16(&mut i.raw, I_MODE, mode);
        }
        if let Some(u) = a.uid {
            i.set_uid(u);
        }
        if let Some(g) = a.gid {
            i.set_gid(g);
        }
        if let Some(t) = a.atime {
            i.touch(I_ATIME, t);
        }
        if let Some(t) = a.mtime {
            i.touch(I_MTIME, t);
        }
        let c = a.ctime.unwrap_or_else(|| self.now());
        i.touch(I_CTIME, c);
        self.put_inode(&i, false)
    }

    /// A symbolic link's target.
    pub fn readlink(&mut self, ino: u32) -> Result<Vec<u8>> {
        let i = self.live_inode(ino)?;
        if i.kind() != Some(FileType::Symlink) {
            return Err(Errno::EINVAL);
        }
        let size = i.size();
        if i.is_fast_symlink(self.bs) {
            if size > 60 {
                return Err(EUCLEAN);
            }
            let mut v = Vec::new();
            v.try_reserve_exact(size as usize).map_err(|_| Errno::ENOMEM)?;
            v.extend_from_slice(&i.raw[I_BLOCK..I_BLOCK + size as usize]);
            return Ok(v);
        }
        if size == 0 || size >= self.bs as u64 {
            return Err(EUCLEAN);
        }
        let mut v = zeroed(size as usize)?;
        let n = self.read_inode_data(&i, 0, &mut v)?;
        v.truncate(n);
        Ok(v)
    }

    /// Keeps an inode alive while open: an unlinked inode is freed when the
    /// last [`Ext2::release`] comes.
    pub fn pin(&mut self, ino: u32) {
        *self.pinned.entry(ino).or_insert(0) += 1;
    }

    /// Drops a [`Ext2::pin`]; frees the inode when it was the last and the
    /// inode has no links.
    pub fn release(&mut self, ino: u32) -> Result<()> {
        let Some(n) = self.pinned.get_mut(&ino) else { return Ok(()) };
        *n -= 1;
        if *n > 0 {
            return Ok(());
        }
        self.pinned.remove(&ino);
        let i = self.get_inode(ino)?;
        if i.links() == 0 && !self.read_only { self.delete_inode(i) } else { Ok(()) }
    }

    /// `ext2_evict_inode` of an unlinked inode: blocks freed, dtime set,
    /// bitmap bit cleared.
    fn delete_inode(&mut self, mut i: Inode) -> Result<()> {
        if self.add_hint.is_some_and(|(dir, _)| dir == i.ino) {
            self.add_hint = None;
        }
        if self.find_hint.is_some_and(|(dir, _)| dir == i.ino) {
            self.find_hint = None;
        }
        if self.names.as_ref().is_some_and(|(dir, _)| *dir == i.ino) {
            self.names = None;
        }
        let dir = i.is_dir();
        if i.has_block_map(self.bs) {
            self.free_from(&mut i, 0)?;
        }
        self.drop_xattr_block(&mut i)?;
        i.set_size(0);
        i.touch(I_DTIME, self.now());
        self.put_inode(&i, false)?;
        self.free_inode_bit(i.ino, dir)
    }

    /// `ext2_xattr_delete_inode`: the extended-attribute block loses a
    /// reference and goes with its last.
    fn drop_xattr_block(&mut self, i: &mut Inode) -> Result<()> {
        let b = le32(&i.raw, I_FILE_ACL);
        if b == 0 {
            return Ok(());
        }
        let mut blk = self.read_block(b)?;
        if le32(&blk, 0) != 0xEA02_0000 || le32(&blk, 8) != 1 {
            return Err(EUCLEAN);
        }
        let refs = le32(&blk, 4);
        if refs <= 1 {
            self.free_block(b)?;
        } else {
            put32(&mut blk, 4, refs - 1);
            self.write_block(b, &blk)?;
        }
        put32(&mut i.raw, I_FILE_ACL, 0);
        let spb = (self.bs / SECTOR_SIZE) as u32;
        i.set_blocks512(i.blocks512().saturating_sub(spb));
        Ok(())
    }

    fn drop_link(&mut self, mut i: Inode) -> Result<()> {
        i.set_links(i.links().saturating_sub(1));
        i.touch(I_CTIME, self.now());
        if i.links() == 0 && !self.pinned.contains_key(&i.ino) {
            return self.delete_inode(i);
        }
        self.put_inode(&i, false)
    }

    /// File system figures as Linux reports them for an ext2 mount. Debian's
    /// kernels serve ext2 through ext4 (`CONFIG_EXT4_USE_FOR_EXT2`), whose
    /// overhead (`ext4_calculate_overhead`) also counts the reserved GDT
    /// blocks after each superblock copy; fs/ext2's `ext2_statfs` would
    /// leave those out. Free and available blocks are the same in both.
    pub fn statfs(&mut self) -> StatFs {
        let sparse = le32(&self.sb, S_FEATURE_RO_COMPAT) & RO_COMPAT_SPARSE_SUPER != 0;
        let resv = le16(&self.sb, S_RESERVED_GDT_BLOCKS) as u64;
        let mut overhead = self.first_data_block as u64;
        for g in 0..self.groups {
            if group_has_super(g, sparse) {
                overhead += 1 + self.gdt_blocks as u64 + resv;
            }
        }
        overhead += self.groups as u64 * (2 + self.itb_per_group as u64);
        let bfree: u64 = (0..self.groups).map(|g| self.gd(g, BG_FREE_BLOCKS) as u64).sum();
        let ffree: u64 = (0..self.groups).map(|g| self.gd(g, BG_FREE_INODES) as u64).sum();
        let r = le32(&self.sb, S_R_BLOCKS_COUNT) as u64;
        StatFs {
            bsize: self.bs as u32,
            blocks: (self.blocks_count as u64).saturating_sub(overhead),
            bfree,
            bavail: bfree.saturating_sub(r),
            files: self.inodes_count as u64,
            ffree,
            namelen: NAME_LEN as u32,
        }
    }

    // ---- directories ----

    /// Whether `name` is in `d`: from the name set when it is `d`'s,
    /// else by building that set with one walk of `d`.
    fn exists(&mut self, d: &Inode, name: &[u8]) -> Result<bool> {
        if let Some((dir, set)) = &self.names
            && *dir == d.ino
        {
            return Ok(set.contains(name));
        }
        self.names = None;
        let mut set = crate::names::NameSet::default();
        let nblocks = d.size() / self.bs as u64;
        let fmt = self.dir_fmt();
        let mut found = false;
        for l in 0..nblocks {
            let b = self.bmap(d, l)?;
            if b == 0 {
                return Err(EUCLEAN);
            }
            let whole = self.with_block(b, |blk| -> Result<bool> {
                let mut off = 0;
                while off < fmt.bs {
                    let s = fmt.parse_slot(blk, off)?;
                    let n = &blk[off + 8..off + 8 + s.name_len];
                    if s.ino != 0 {
                        found |= n == name;
                        if owned(n).and_then(|v| set.insert(v).ok()).is_none() {
                            return Ok(false);
                        }
                    }
                    off += s.rec_len;
                }
                Ok(true)
            })??;
            if !whole {
                // no set: the walk's answer stands alone
                return self.find(d, name).map(|f| f.is_some());
            }
        }
        self.names = Some((d.ino, set));
        Ok(found)
    }

    /// Keeps the name set of `dir` (if it is the one kept) equal to the
    /// directory: `add` or remove `name`.
    fn note_name(&mut self, dir: u32, name: &[u8], add: bool) {
        let Some((d, set)) = &mut self.names else { return };
        if *d != dir {
            return;
        }
        if !add {
            set.remove(name);
            return;
        }
        let mut v = Vec::new();
        if v.try_reserve_exact(name.len()).is_err() {
            self.names = None;
            return;
        }
        v.extend_from_slice(name);
        if set.insert(v).is_err() {
            self.names = None;
        }
    }

    /// `ext2_find_entry`: the blocks from where the last lookup in `d`
    /// found its name on, around to the ones before it, each parsed in
    /// place.
    fn find(&mut self, d: &Inode, name: &[u8]) -> Result<Option<Found>> {
        let nblocks = d.size() / self.bs as u64;
        let start = match self.find_hint {
            Some((dir, l)) if dir == d.ino && l < nblocks => l,
            _ => 0,
        };
        let fmt = self.dir_fmt();
        for k in 0..nblocks {
            let l = (start + k) % nblocks;
            let b = self.bmap(d, l)?;
            if b == 0 {
                return Err(EUCLEAN);
            }
            if let Some((off, prev, ino)) = self.with_block(b, |blk| fmt.find_in(blk, name))?? {
                self.find_hint = Some((d.ino, l));
                return Ok(Some(Found { pblk: b, off, prev, ino }));
            }
        }
        Ok(None)
    }

    /// The inode `name` names in directory `dir`; `ENOENT` when none.
    pub fn lookup(&mut self, dir: u32, name: &[u8]) -> Result<u32> {
        let d = self.dir_inode(dir)?;
        if name.len() > NAME_LEN {
            return Err(Errno::ENAMETOOLONG);
        }
        match self.find(&d, name)? {
            Some(f) => Ok(f.ino),
            None => Err(Errno::ENOENT),
        }
    }

    /// The first live entry at byte position `pos` or after it, with the
    /// position of the next one (`getdents` offsets are byte positions, as
    /// Linux's ext2); `None` at the end.
    pub fn readdir(&mut self, dir: u32, pos: u64) -> Result<Option<(DirEntry, u64)>> {
        let d = self.dir_inode(dir)?;
        let bs = self.bs as u64;
        let mut l = pos / bs;
        let fmt = self.dir_fmt();
        while l < d.size() / bs {
            let b = self.bmap(&d, l)?;
            if b == 0 {
                return Err(EUCLEAN);
            }
            let hit = self.with_block(b, |blk| -> Result<Option<DirHit>> {
                let mut off = 0;
                while off < fmt.bs {
                    let s = fmt.parse_slot(blk, off)?;
                    off += s.rec_len;
                    let at = l * bs + s.off as u64;
                    if at < pos || s.ino == 0 {
                        continue;
                    }
                    let mut name = Vec::new();
                    name.try_reserve_exact(s.name_len).map_err(|_| Errno::ENOMEM)?;
                    name.extend_from_slice(&blk[s.off + 8..s.off + 8 + s.name_len]);
                    return Ok(Some((s.ino, name, s.ftype, at + s.rec_len as u64)));
                }
                Ok(None)
            })??;
            if let Some((ino, name, ftype, next)) = hit {
                return Ok(Some((DirEntry { ino, name, kind: kind_of_code(ftype) }, next)));
            }
            l += 1;
        }
        Ok(None)
    }

    /// Every entry of a directory, "." and ".." included (one walk over
    /// its blocks, each parsed in place).
    pub fn list(&mut self, dir: u32) -> Result<Vec<DirEntry>> {
        let d = self.dir_inode(dir)?;
        let fmt = self.dir_fmt();
        let mut v = Vec::new();
        for l in 0..d.size() / self.bs as u64 {
            let b = self.bmap(&d, l)?;
            if b == 0 {
                return Err(EUCLEAN);
            }
            self.with_block(b, |blk| -> Result<()> {
                let mut off = 0;
                while off < fmt.bs {
                    let s = fmt.parse_slot(blk, off)?;
                    off += s.rec_len;
                    if s.ino == 0 {
                        continue;
                    }
                    let mut name = Vec::new();
                    name.try_reserve_exact(s.name_len).map_err(|_| Errno::ENOMEM)?;
                    name.extend_from_slice(&blk[s.off + 8..s.off + 8 + s.name_len]);
                    v.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                    v.push(DirEntry { ino: s.ino, name, kind: kind_of_code(s.ftype) });
                }
                Ok(())
            })??;
        }
        Ok(v)
    }

    fn put_slot(&self, blk: &mut [u8], off: usize, ino: u32, rec_len: usize, name: &[u8], kind: FileType) {
        self.dir_fmt().put_slot(blk, off, ino, rec_len, name, kind)
    }

    /// `ext2_add_link`: into the first slot with room, else a new block.
    fn add_entry(&mut self, d: &mut Inode, name: &[u8], ino: u32, kind: FileType) -> Result<()> {
        let r = self.add_entry_inner(d, name, ino, kind);
        if r.is_err() {
            // the disk may or may not hold the name now
            self.names = None;
        }
        r
    }

    fn add_entry_inner(&mut self, d: &mut Inode, name: &[u8], ino: u32, kind: FileType) -> Result<()> {
        let need = rec_len_for(name.len());
        let nblocks = d.size() / self.bs as u64;
        let start = match self.add_hint {
            Some((dir, l)) if dir == d.ino && l < nblocks => l,
            _ => 0,
        };
        let fmt = self.dir_fmt();
        for l in start..nblocks {
            let b = self.bmap(d, l)?;
            if b == 0 {
                return Err(EUCLEAN);
            }
            // the first slot with room, changed in place
            let added = self.change_block(b, |blk| {
                let mut off = 0;
                while off < fmt.bs {
                    let s = match fmt.parse_slot(blk, off) {
                        Ok(s) => s,
                        Err(e) => return (Err(e), false),
                    };
                    if s.ino == 0 && s.rec_len >= need {
                        fmt.put_slot(blk, s.off, ino, s.rec_len, name, kind);
                        return (Ok(true), true);
                    }
                    let used = rec_len_for(s.name_len);
                    if s.ino != 0 && s.rec_len >= used + need {
                        put16(blk, s.off + 4, used as u16);
                        fmt.put_slot(blk, s.off + used, ino, s.rec_len - used, name, kind);
                        return (Ok(true), true);
                    }
                    off += s.rec_len;
                }
                (Ok(false), false)
            })??;
            if added {
                self.add_hint = Some((d.ino, l));
                self.finish_add(d)?;
                self.note_name(d.ino, name, true);
                return Ok(());
            }
        }
        let goal = self.inode_goal(d.ino);
        let (b, _) = self.bmap_alloc(d, nblocks, goal)?;
        let mut blk = zeroed(self.bs)?;
        self.put_slot(&mut blk, 0, ino, self.bs, name, kind);
        self.write_block(b, &blk)?;
        d.set_size((nblocks + 1) * self.bs as u64);
        self.add_hint = Some((d.ino, nblocks));
        self.finish_add(d)?;
        self.note_name(d.ino, name, true);
        Ok(())
    }

    /// The directory's times and flags after an entry went in.
    fn finish_add(&mut self, d: &mut Inode) -> Result<()> {
        let now = self.now();
        d.touch(I_MTIME, now);
        d.touch(I_CTIME, now);
        let f = d.flags() & !INDEX_FL;
        put32(&mut d.raw, I_FLAGS, f);
        self.put_inode(d, false)
    }

    /// `ext2_delete_entry`: merged into the previous slot, or emptied.
    fn remove_entry(&mut self, d: &mut Inode, f: &Found) -> Result<()> {
        let r = self.remove_entry_inner(d, f);
        if r.is_err() {
            self.names = None;
        }
        r
    }

    fn remove_entry_inner(&mut self, d: &mut Inode, f: &Found) -> Result<()> {
        if self.add_hint.is_some_and(|(dir, _)| dir == d.ino) {
            self.add_hint = None;
        }
        let fmt = self.dir_fmt();
        let track = self.names.as_ref().is_some_and(|(dir, _)| *dir == d.ino);
        // the slot merged into the previous one (or emptied) in place; its
        // name copied out for the name set
        let name = self.change_block(f.pblk, |blk| {
            let (s, prev) = match (fmt.parse_slot(blk, f.off), f.prev.map(|p| fmt.parse_slot(blk, p))) {
                (Ok(s), None) => (s, None),
                (Ok(s), Some(Ok(ps))) => (s, Some(ps)),
                (Err(e), _) | (_, Some(Err(e))) => return (Err(e), false),
            };
            let name = if track { owned(&blk[f.off + 8..f.off + 8 + s.name_len]) } else { None };
            match prev {
                Some(ps) => put16(blk, ps.off + 4, (ps.rec_len + s.rec_len) as u16),
                None => put32(blk, f.off, 0),
            }
            (Ok(name), true)
        })??;
        if track {
            match name {
                Some(n) => self.note_name(d.ino, &n, false),
                None => self.names = None,
            }
        }
        let now = self.now();
        d.touch(I_MTIME, now);
        d.touch(I_CTIME, now);
        self.put_inode(d, false)
    }

    /// Points an existing entry at another inode (`ext2_set_link`).
    fn set_entry(&mut self, d: &mut Inode, f: &Found, ino: u32, kind: FileType) -> Result<()> {
        let filetype = self.filetype;
        self.change_block(f.pblk, |blk| {
            put32(blk, f.off, ino);
            if filetype {
                blk[f.off + 7] = kind.dirent_code();
            }
            ((), true)
        })?;
        let now = self.now();
        d.touch(I_MTIME, now);
        d.touch(I_CTIME, now);
        let fl = d.flags() & !INDEX_FL;
        put32(&mut d.raw, I_FLAGS, fl);
        self.put_inode(d, false)
    }

    fn is_empty_dir(&mut self, d: &Inode) -> Result<bool> {
        let nblocks = d.size() / self.bs as u64;
        let fmt = self.dir_fmt();
        for l in 0..nblocks {
            let b = self.bmap(d, l)?;
            if b == 0 {
                return Err(EUCLEAN);
            }
            let only_dots = self.with_block(b, |blk| -> Result<bool> {
                let mut off = 0;
                while off < fmt.bs {
                    let s = fmt.parse_slot(blk, off)?;
                    off += s.rec_len;
                    if s.ino == 0 {
                        continue;
                    }
                    let name = &blk[s.off + 8..s.off + 8 + s.name_len];
                    if name != b"." && name != b".." {
                        return Ok(false);
                    }
                }
                Ok(true)
            })??;
            if !only_dots {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Creates a regular file, device node, FIFO or socket (`mode` has the
    /// type bits; `rdev` is (major, minor) for devices).
    pub fn create(
        &mut self,
        dir: u32,
        name: &[u8],
        mode: u16,
        uid: u32,
        gid: u32,
        rdev: Option<(u32, u32)>,
    ) -> Result<u32> {
        let kind = FileType::from_mode(mode).ok_or(Errno::EINVAL)?;
        if matches!(kind, FileType::Directory | FileType::Symlink) {
            return Err(Errno::EINVAL);
        }
        self.new_node(dir, name, mode, uid, gid, |fs, i| {
            if let (FileType::CharDevice | FileType::BlockDevice, Some((ma, mi))) = (kind, rdev) {
                i.set_rdev(ma, mi);
            }
            let _ = fs;
            Ok(())
        })
    }

    /// Creates a directory with "." and "..".
    pub fn mkdir(&mut self, dir: u32, name: &[u8], mode: u16, uid: u32, gid: u32) -> Result<u32> {
        let parent = self.dir_inode(dir)?;
        if parent.links() >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        self.new_node(dir, name, S_IFDIR | (mode & 0o7777), uid, gid, |fs, i| {
            let (b, _) = fs.bmap_alloc(i, 0, fs.inode_goal(i.ino))?;
            let mut blk = zeroed(fs.bs)?;
            fs.put_slot(&mut blk, 0, i.ino, 12, b".", FileType::Directory);
            fs.put_slot(&mut blk, 12, dir, fs.bs - 12, b"..", FileType::Directory);
            fs.write_block(b, &blk)?;
            i.set_size(fs.bs as u64);
            i.set_links(2);
            Ok(())
        })
    }

    /// Creates a symbolic link to `target` (fast under 60 bytes).
    pub fn symlink(&mut self, dir: u32, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<u32> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() + 1 > self.bs {
            return Err(Errno::ENAMETOOLONG);
        }
        self.new_node(dir, name, S_IFLNK | 0o777, uid, gid, |fs, i| {
            if target.len() < 60 {
                i.raw[I_BLOCK..I_BLOCK + target.len()].copy_from_slice(target);
            } else {
                let (b, _) = fs.bmap_alloc(i, 0, fs.inode_goal(i.ino))?;
                let mut blk = zeroed(fs.bs)?;
                blk[..target.len()].copy_from_slice(target);
                fs.write_block(b, &blk)?;
            }
            i.set_size(target.len() as u64);
            Ok(())
        })
    }

    fn new_node(
        &mut self,
        dir: u32,
        name: &[u8],
        mode: u16,
        uid: u32,
        gid: u32,
        init: impl FnOnce(&mut Self, &mut Inode) -> Result<()>,
    ) -> Result<u32> {
        self.writable()?;
        check_name(name)?;
        let mut d = self.dir_inode(dir)?;
        if self.exists(&d, name)? {
            return Err(Errno::EEXIST);
        }
        let kind = FileType::from_mode(mode).ok_or(Errno::EINVAL)?;
        let is_dir = kind == FileType::Directory;
        let ino = self.alloc_inode(dir, is_dir)?;
        let now = self.now();
        let mut i = Inode::fresh(ino, mode, uid, gid, now, 1);
        let r = init(self, &mut i).and_then(|_| {
            self.put_inode(&i, true)?;
            self.add_entry(&mut d, name, ino, kind)
        });
        if let Err(e) = r {
            // undo: the blocks and the inode go back
            if i.has_block_map(self.bs) {
                let _ = self.free_from(&mut i, 0);
            }
            i.set_links(0);
            i.touch(I_DTIME, now);
            let _ = self.put_inode(&i, true);
            let _ = self.free_inode_bit(ino, is_dir);
            return Err(e);
        }
        if is_dir {
            let mut d = self.dir_inode(dir)?;
            d.set_links(d.links().saturating_add(1));
            self.put_inode(&d, false)?;
        }
        Ok(ino)
    }

    /// An unnamed regular file for `open(dir, O_TMPFILE)` (Linux's
    /// `ext2_tmpfile`: a new inode near `dir`, link count 0): `mode` has
    /// the type bits (`EINVAL` unless a regular file). The inode comes
    /// pinned ([`Ext2::pin`]): it lives as an unlinked open file until
    /// its last [`Ext2::release`], unless [`Ext2::link`] names it first.
    /// ext2 keeps no orphan list: after a crash the inode is fsck's.
    pub fn tmpfile(&mut self, dir: u32, mode: u16, uid: u32, gid: u32) -> Result<u32> {
        self.writable()?;
        self.dir_inode(dir)?;
        if FileType::from_mode(mode) != Some(FileType::Regular) {
            return Err(Errno::EINVAL);
        }
        let ino = self.alloc_inode(dir, false)?;
        let now = self.now();
        let i = Inode::fresh(ino, mode, uid, gid, now, 0);
        if let Err(e) = self.put_inode(&i, true) {
            let _ = self.free_inode_bit(ino, false);
            return Err(e);
        }
        self.pin(ino);
        Ok(ino)
    }

    /// Adds a name for an existing inode (`link`): `EPERM` for a directory,
    /// `EMLINK` at the limit.
    pub fn link(&mut self, ino: u32, dir: u32, name: &[u8]) -> Result<()> {
        self.writable()?;
        check_name(name)?;
        let mut i = self.live_inode(ino)?;
        if i.is_dir() {
            return Err(Errno::EPERM);
        }
        if i.links() >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        let mut d = self.dir_inode(dir)?;
        if self.find(&d, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let kind = i.kind().ok_or(EUCLEAN)?;
        self.add_entry(&mut d, name, ino, kind)?;
        let mut i2 = self.live_inode(ino)?;
        i2.set_links(i.links().saturating_add(1));
        i2.touch(I_CTIME, self.now());
        i = i2;
        self.put_inode(&i, false)
    }

    /// Removes a non-directory's name (`unlink`); the inode goes with its
    /// last link unless pinned.
    pub fn unlink(&mut self, dir: u32, name: &[u8]) -> Result<()> {
        self.writable()?;
        let mut d = self.dir_inode(dir)?;
        let f = self.find(&d, name)?.ok_or(Errno::ENOENT)?;
        let i = self.live_inode(f.ino)?;
        if i.is_dir() {
            return Err(Errno::EISDIR);
        }
        self.remove_entry(&mut d, &f)?;
        self.drop_link(i)
    }

    /// Removes an empty directory (`rmdir`).
    pub fn rmdir(&mut self, dir: u32, name: &[u8]) -> Result<()> {
        self.writable()?;
        if name == b"." {
            return Err(Errno::EINVAL);
        }
        if name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
        let mut d = self.dir_inode(dir)?;
        let f = self.find(&d, name)?.ok_or(Errno::ENOENT)?;
        let mut i = self.live_inode(f.ino)?;
        if !i.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !self.is_empty_dir(&i)? {
            return Err(Errno::ENOTEMPTY);
        }
        self.remove_entry(&mut d, &f)?;
        let mut d = self.dir_inode(dir)?;
        d.set_links(d.links().saturating_sub(1));
        self.put_inode(&d, false)?;
        i.set_links(1);
        self.drop_link(i)
    }

    /// Whether `anc` is `ino` or one of its ancestors (through "..").
    fn is_ancestor(&mut self, anc: u32, mut ino: u32) -> Result<bool> {
        for _ in 0..self.inodes_count.min(1 << 16) {
            if ino == anc {
                return Ok(true);
            }
            if ino == ROOT_INO {
                return Ok(false);
            }
            let d = self.dir_inode(ino)?;
            ino = self.find(&d, b"..")?.ok_or(EUCLEAN)?.ino;
        }
        Err(EUCLEAN)
    }

    /// Swaps the inodes `oname` in `odir` and `nname` in `ndir` name, as
    /// renameat2(2)'s `RENAME_EXCHANGE` does on an ext2 that Linux mounts
    /// with ext4 (`ext4_cross_rename`): both must exist (`ENOENT`); neither
    /// may be an ancestor of the other's new parent (`EINVAL`); a directory
    /// moved to another parent gets its `..` changed and the parents' link
    /// counts follow; both inodes' ctime is set.
    pub fn exchange(&mut self, odir: u32, oname: &[u8], ndir: u32, nname: &[u8]) -> Result<()> {
        self.writable()?;
        if oname == b"." || oname == b".." || nname == b"." || nname == b".." {
            return Err(Errno::EBUSY);
        }
        let od = self.dir_inode(odir)?;
        let of = self.find(&od, oname)?.ok_or(Errno::ENOENT)?;
        let nd = self.dir_inode(ndir)?;
        let nf = self.find(&nd, nname)?.ok_or(Errno::ENOENT)?;
        if of.ino == nf.ino {
            return Ok(());
        }
        let a = self.live_inode(of.ino)?;
        let b = self.live_inode(nf.ino)?;
        if (a.is_dir() && self.is_ancestor(a.ino, ndir)?) || (b.is_dir() && self.is_ancestor(b.ino, odir)?) {
            return Err(Errno::EINVAL);
        }
        let (akind, bkind) = (a.kind().ok_or(EUCLEAN)?, b.kind().ok_or(EUCLEAN)?);
        if odir != ndir && a.is_dir() != b.is_dir() {
            // the directory's parent gains a link, the other loses one
            let (gain, lose) = if a.is_dir() { (ndir, odir) } else { (odir, ndir) };
            if self.dir_inode(gain)?.links() >= LINK_MAX {
                return Err(Errno::EMLINK);
            }
            let mut g = self.dir_inode(gain)?;
            g.set_links(g.links().saturating_add(1));
            self.put_inode(&g, false)?;
            let mut l = self.dir_inode(lose)?;
            l.set_links(l.links().saturating_sub(1));
            self.put_inode(&l, false)?;
        }
        let mut od = self.dir_inode(odir)?;
        self.set_entry(&mut od, &of, b.ino, bkind)?;
        let mut nd = self.dir_inode(ndir)?;
        self.set_entry(&mut nd, &nf, a.ino, akind)?;
        for (ino, parent) in [(a.ino, ndir), (b.ino, odir)] {
            let mut i = self.live_inode(ino)?;
            i.touch(I_CTIME, self.now());
            self.put_inode(&i, false)?;
            if i.is_dir() && odir != ndir {
                let mut d = self.dir_inode(ino)?;
                let dd = self.find(&d, b"..")?.ok_or(EUCLEAN)?;
                self.set_entry(&mut d, &dd, parent, FileType::Directory)?;
            }
        }
        Ok(())
    }

    /// Moves `oname` in `odir` to `nname` in `ndir`, replacing what is
    /// there as `rename(2)` does (`ext2_rename`).
    pub fn rename(&mut self, odir: u32, oname: &[u8], ndir: u32, nname: &[u8]) -> Result<()> {
        self.writable()?;
        if oname == b"." || oname == b".." || nname == b"." || nname == b".." {
            return Err(Errno::EBUSY);
        }
        check_name(nname)?;
        let od = self.dir_inode(odir)?;
        let of = self.find(&od, oname)?.ok_or(Errno::ENOENT)?;
        let src = self.live_inode(of.ino)?;
        let nd = self.dir_inode(ndir)?;
        let nf = self.find(&nd, nname)?;
        let src_dir = src.is_dir();
        // do_renameat2's traps: the source above the target (EINVAL), the
        // target above the source (ENOTEMPTY)
        if src_dir && self.is_ancestor(src.ino, ndir)? {
            return Err(Errno::EINVAL);
        }
        if let Some(t) = &nf
            && t.ino != src.ino
            && self.live_inode(t.ino)?.is_dir()
            && self.is_ancestor(t.ino, odir)?
        {
            return Err(Errno::ENOTEMPTY);
        }
        if let Some(t) = &nf {
            if t.ino == src.ino {
                return Ok(());
            }
            let ti = self.live_inode(t.ino)?;
            match (src_dir, ti.is_dir()) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                _ => {}
            }
        }
        if src_dir && odir != ndir && nf.is_none() && nd.links() >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        if let Some(t) = &nf {
            let ti = self.live_inode(t.ino)?;
            if ti.is_dir() && !self.is_empty_dir(&ti)? {
                return Err(Errno::ENOTEMPTY);
            }
        }
        let kind = src.kind().ok_or(EUCLEAN)?;
        let mut nd = nd;
        match &nf {
            Some(t) => {
                self.set_entry(&mut nd, t, src.ino, kind)?;
                let mut ti = self.live_inode(t.ino)?;
                if ti.is_dir() {
                    ti.set_links(1);
                    let mut nd2 = self.dir_inode(ndir)?;
                    nd2.set_links(nd2.links().saturating_sub(1));
                    self.put_inode(&nd2, false)?;
                }
                self.drop_link(ti)?;
            }
            None => self.add_entry(&mut nd, nname, src.ino, kind)?,
        }
        // the source's slot may have moved in memory only if odir == ndir
        // and the same block changed: look it up again
        let mut od = self.dir_inode(odir)?;
        let of = self.find(&od, oname)?.ok_or(EUCLEAN)?;
        if of.ino != src.ino {
            return Err(EUCLEAN);
        }
        self.remove_entry(&mut od, &of)?;
        let mut s = self.live_inode(src.ino)?;
        s.touch(I_CTIME, self.now());
        self.put_inode(&s, false)?;
        if src_dir && odir != ndir {
            let sd = self.dir_inode(src.ino)?;
            let dd = self.find(&sd, b"..")?.ok_or(EUCLEAN)?;
            let mut sd = sd;
            self.set_entry(&mut sd, &dd, ndir, FileType::Directory)?;
            let mut od = self.dir_inode(odir)?;
            od.set_links(od.links().saturating_sub(1));
            self.put_inode(&od, false)?;
            let mut nd = self.dir_inode(ndir)?;
            nd.set_links(nd.links().saturating_add(1));
            self.put_inode(&nd, false)?;
        }
        Ok(())
    }
}

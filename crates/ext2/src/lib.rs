//! The second extended file system (ext2), revision 1, read and write, on
//! disk as Linux's `fs/ext2` keeps it, over a small [`BlockDevice`] trait.
//!
//! # Why our own code and not a crate
//! - `ext4_rs` 1.3.3 (MIT): ext4 with extents only (no indirect-block
//!   files, so no ext2 image written by `mke2fs -t ext2`), about fifty
//!   `unsafe` blocks and as many `unwrap`/`panic!` on on-disk values; it
//!   would break `forbid(unsafe_code)` and the "corrupt image never
//!   panics" rule.
//! - `ext4-view` 1.0.0 (MIT/Apache-2.0, no_std): well kept but read-only.
//!
//! So this crate is written from the on-disk format (Linux's
//! `include/linux/ext2_fs.h`-era layout and `fs/ext2` rules).
//!
//! # What it does
//! - Block sizes 1, 2 and 4 KiB; revision 0 and 1 superblocks; inode sizes
//!   128..=block size (the bytes past 128 are kept, as Linux's ext2 does).
//! - Regular files through direct, indirect, double and triple indirect
//!   blocks; holes read as zeros and stay holes; files over 2 GiB set
//!   `LARGE_FILE` as `ext2_update_inode` does; the size limit is
//!   `ext2_max_size`'s.
//! - Linear directories with `FILETYPE` entries; an htree directory
//!   (`INDEX_FL`) is read linearly and loses the flag when changed (as
//!   `ext2_add_link` does).
//! - Fast symbolic links (target in `i_block`, under 60 bytes) and slow ones
//!   (one data block); hard links; character/block devices, FIFOs and
//!   sockets (`i_block[0]` old or `i_block[1]` new device encoding).
//! - Block and inode bitmaps, group descriptors and the superblock's free
//!   counts kept consistent on every change. The file system writes
//!   through to its device; [`CachedDisk`] is a write-back block cache to
//!   put under it (dirty blocks reach the disk on `sync`/`fsync`/`umount`
//!   or eviction).
//! - Features: INCOMPAT other than `FILETYPE` (ext3's `RECOVER`, ext4's
//!   `EXTENTS`, `64BIT`, `FLEX_BG`, `META_BG`, ...) is refused at mount with
//!   [`MountError::Incompatible`] (Linux's ext2: "couldn't mount because of
//!   unsupported optional features", `EINVAL`); RO_COMPAT other than
//!   `SPARSE_SUPER`, `LARGE_FILE`, `BTREE_DIR` mounts read-only (a
//!   journalled ext3 image that needs no recovery mounts read-write, the
//!   journal untouched, as Linux's ext2 does).
//!
//! # Corrupt images
//! Every on-disk value is checked before use: a bad superblock or
//! descriptor is a [`MountError`]; a bad inode, block pointer, directory
//! entry or bitmap found later is `EUCLEAN` (Linux's `EFSCORRUPTED`); a
//! device error is `EIO`. No on-disk value can make the code panic or loop
//! without bound (host tests mutate 1,000 images).
//!
//! ```
//! use ext2::{Ext2, MountOptions, testing::MemDisk};
//! let disk = MemDisk::new(ext2::testing::mkfs_image(1024, 2048, 256));
//! let mut fs = Ext2::mount(disk, MountOptions::default()).unwrap();
//! let root = fs.root();
//! let ino = fs.create(root, b"hello", 0o100644, 0, 0, None).unwrap();
//! assert_eq!(fs.write(ino, 0, b"hi there").unwrap(), 8);
//! let mut buf = [0u8; 16];
//! assert_eq!(fs.read(ino, 3, &mut buf).unwrap(), 5);
//! assert_eq!(&buf[..5], b"there");
//! assert_eq!(fs.lookup(root, b"hello").unwrap(), ino);
//! fs.unmount().unwrap();
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod cache;
mod disk;
mod fs;
mod names;
#[cfg(feature = "testing")]
pub mod testing;

pub use cache::{CachedDisk, FLUSH_BATCH_BYTES, MAX_RUN_BYTES};
pub use fs::{DirEntry, Ext2, FileType, MountError, MountOptions, SetAttr, Stat, StatFs};
pub use linux_abi::{Errno, Result};

/// The unit of [`BlockDevice`] transfers, in bytes.
pub const SECTOR_SIZE: usize = 512;

/// A disk: sectors of [`SECTOR_SIZE`] bytes, read and written in runs.
pub trait BlockDevice {
    /// Reads `buf.len() / SECTOR_SIZE` sectors from `sector` on
    /// (`buf.len()` is a multiple of [`SECTOR_SIZE`]); `EIO` on failure.
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<()>;
    /// Writes `buf` (a multiple of [`SECTOR_SIZE`]) at `sector`; `EIO` on
    /// failure.
    fn write(&mut self, sector: u64, buf: &[u8]) -> Result<()>;
    /// Makes every finished write durable.
    fn flush(&mut self) -> Result<()>;
    /// The number of sectors.
    fn sectors(&self) -> u64;
    /// Whether writes are refused (a read-only medium).
    fn read_only(&self) -> bool;
    /// A hint: `len` bytes from `sector` on (whole sectors) will be read
    /// soon; a cache may read them now, in one transfer. Returns how many
    /// of the bytes it took (a prefix; the caller may ask for the rest
    /// later). The default does nothing and takes them all.
    fn read_ahead(&mut self, sector: u64, len: usize) -> Result<usize> {
        let _ = sector;
        Ok(len)
    }
    /// Writes several runs, each `(sector, bytes)` as
    /// [`BlockDevice::write`]; a driver may keep them all in flight at
    /// once. `written[i]` is set for each run that reached the device;
    /// the result is the first error. The default writes them one after
    /// the other, each tried.
    fn write_runs(&mut self, runs: &[(u64, &[u8])], written: &mut [bool]) -> Result<()> {
        let mut result = Ok(());
        for (&(sector, bytes), ok) in runs.iter().zip(written.iter_mut()) {
            match self.write(sector, bytes) {
                Ok(()) => *ok = true,
                Err(e) => result = result.and(Err(e)),
            }
        }
        result
    }
    /// Calls `f` once with the `len` bytes from `sector` on (whole
    /// sectors); when it returns `true` it changed them and they are
    /// written. A cache that holds them hands its own memory (no copy; a
    /// change makes them dirty); the default reads them into a buffer and
    /// writes the buffer back.
    fn update(&mut self, sector: u64, len: usize, f: &mut dyn FnMut(&mut [u8]) -> bool) -> Result<()> {
        let mut buf = disk::zeroed(len)?;
        self.read(sector, &mut buf)?;
        if f(&mut buf) {
            self.write(sector, &buf)?;
        }
        Ok(())
    }
}

/// `statfs`'s magic number for ext2/3/4.
pub const EXT2_SUPER_MAGIC: u32 = 0xEF53;
/// The root directory's inode number.
pub const ROOT_INO: u32 = 2;
/// The most links an inode may have (`EXT2_LINK_MAX`).
pub const LINK_MAX: u16 = 32000;
/// The longest name in a directory (`EXT2_NAME_LEN`).
pub const NAME_LEN: usize = 255;

// The README's example runs as a doctest too (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

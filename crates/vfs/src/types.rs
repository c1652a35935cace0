//! Plain ABI values: flags, modes, times, credentials and `struct stat`.

use alloc::vec::Vec;

/// Bytes in a page of file content (and `st_blksize`).
pub const PAGE_SIZE: usize = 4096;
/// The longest path, including its terminating NUL (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// The longest file name component (`NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Symbolic links one path resolution may follow (`MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;
/// The largest file size (`MAX_LFS_FILESIZE` on 64-bit Linux).
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// File seal (fcntl `F_ADD_SEALS`): no more seals may be added.
pub const F_SEAL_SEAL: u32 = 0x1;
/// File seal: the file may not shrink.
pub const F_SEAL_SHRINK: u32 = 0x2;
/// File seal: the file may not grow.
pub const F_SEAL_GROW: u32 = 0x4;
/// File seal: the content may not change (write, shared writable mapping).
pub const F_SEAL_WRITE: u32 = 0x8;
/// File seal: like [`F_SEAL_WRITE`], but mappings made before stay writable.
pub const F_SEAL_FUTURE_WRITE: u32 = 0x10;
/// Either write seal.
pub const F_SEAL_WRITE_ANY: u32 = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
/// Every seal Linux 6.1 knows.
pub const F_SEAL_ALL: u32 = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE_ANY;

/// File type mask of a mode.
pub const S_IFMT: u32 = 0o170_000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140_000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120_000;
/// Regular file.
pub const S_IFREG: u32 = 0o100_000;
/// Block device.
pub const S_IFBLK: u32 = 0o060_000;
/// Directory.
pub const S_IFDIR: u32 = 0o040_000;
/// Character device.
pub const S_IFCHR: u32 = 0o020_000;
/// FIFO.
pub const S_IFIFO: u32 = 0o010_000;
/// Set-user-ID bit.
pub const S_ISUID: u32 = 0o4000;
/// Set-group-ID bit.
pub const S_ISGID: u32 = 0o2000;
/// Sticky bit.
pub const S_ISVTX: u32 = 0o1000;
/// The permission and special bits of a mode.
pub const S_IALLUGO: u32 = 0o7777;

/// Open for reading only.
pub const O_RDONLY: u32 = 0;
/// Open for writing only.
pub const O_WRONLY: u32 = 1;
/// Open for reading and writing.
pub const O_RDWR: u32 = 2;
/// The access mode bits.
pub const O_ACCMODE: u32 = 3;
/// Create the file if it does not exist.
pub const O_CREAT: u32 = 0o100;
/// With `O_CREAT`: fail with `EEXIST` if the name exists.
pub const O_EXCL: u32 = 0o200;
/// Do not make a terminal the controlling terminal.
pub const O_NOCTTY: u32 = 0o400;
/// Truncate a regular file to length 0.
pub const O_TRUNC: u32 = 0o1000;
/// Every write goes to the end of the file.
pub const O_APPEND: u32 = 0o2000;
/// Non-blocking I/O.
pub const O_NONBLOCK: u32 = 0o4000;
/// Synchronous data writes.
pub const O_DSYNC: u32 = 0o10_000;
/// Signal-driven I/O.
pub const O_ASYNC: u32 = 0o20_000;
/// Direct I/O.
pub const O_DIRECT: u32 = 0o40_000;
/// Large file (always on for 64-bit).
pub const O_LARGEFILE: u32 = 0o100_000;
/// Fail with `ENOTDIR` unless the path names a directory.
pub const O_DIRECTORY: u32 = 0o200_000;
/// Fail with `ELOOP` if the last component is a symbolic link.
pub const O_NOFOLLOW: u32 = 0o400_000;
/// Do not update the access time.
pub const O_NOATIME: u32 = 0o1_000_000;
/// Close on exec (a descriptor flag; the open file ignores it).
pub const O_CLOEXEC: u32 = 0o2_000_000;
/// Synchronous writes.
pub const O_SYNC: u32 = 0o4_010_000;
/// A path-only descriptor.
pub const O_PATH: u32 = 0o10_000_000;
/// The bit of [`O_TMPFILE`] besides `O_DIRECTORY` (Linux's `__O_TMPFILE`).
pub const O_TMPFILE_BIT: u32 = 0o20_000_000;
/// An unnamed temporary file (with `O_DIRECTORY`).
pub const O_TMPFILE: u32 = O_TMPFILE_BIT | O_DIRECTORY;
/// The status flags fcntl(F_SETFL) may change.
pub const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;

/// Do not follow a final symbolic link (`*at` calls).
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// unlinkat(2): remove a directory.
pub const AT_REMOVEDIR: u32 = 0x200;
/// linkat(2): follow a final symbolic link of the old path.
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
/// Operate on the directory handle itself when the path is empty.
pub const AT_EMPTY_PATH: u32 = 0x1000;
/// faccessat(2): check with the effective IDs (the caller's credential already is).
pub const AT_EACCESS: u32 = 0x200;

/// rename(2): fail with `EEXIST` instead of replacing.
pub const RENAME_NOREPLACE: u32 = 1;
/// rename(2): atomically exchange the two names.
pub const RENAME_EXCHANGE: u32 = 2;
/// rename(2): leave a whiteout (not supported: `EINVAL`).
pub const RENAME_WHITEOUT: u32 = 4;

/// lseek(2): set the offset.
pub const SEEK_SET: u32 = 0;
/// lseek(2): relative to the current offset.
pub const SEEK_CUR: u32 = 1;
/// lseek(2): relative to the end.
pub const SEEK_END: u32 = 2;
/// lseek(2): the next data at or after the offset.
pub const SEEK_DATA: u32 = 3;
/// lseek(2): the next hole at or after the offset.
pub const SEEK_HOLE: u32 = 4;

/// utimensat(2): set this time to now.
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// utimensat(2): leave this time alone.
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

/// access(2): existence.
pub const F_OK: u32 = 0;
/// access(2) / permission: execute or search.
pub const X_OK: u32 = 1;
/// access(2) / permission: write.
pub const W_OK: u32 = 2;
/// access(2) / permission: read.
pub const R_OK: u32 = 4;

/// poll(2): data to read.
pub const POLLIN: u32 = 0x001;
/// poll(2): urgent (priority) data or an exceptional condition.
pub const POLLPRI: u32 = 0x002;
/// poll(2): writing will not block.
pub const POLLOUT: u32 = 0x004;
/// poll(2): error.
pub const POLLERR: u32 = 0x008;
/// poll(2): hang-up.
pub const POLLHUP: u32 = 0x010;
/// poll(2): normal data to read.
pub const POLLRDNORM: u32 = 0x040;
/// poll(2): normal data may be written.
pub const POLLWRNORM: u32 = 0x100;

/// A point in time: seconds and nanoseconds since the Unix epoch
/// (Linux's `struct timespec64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespec {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds, 0..1_000_000_000.
    pub nsec: i64,
}

impl Timespec {
    /// A time of `sec` seconds and `nsec` nanoseconds.
    pub const fn new(sec: i64, nsec: i64) -> Self {
        Self { sec, nsec }
    }
}

/// Where a filesystem reads the time for its timestamps (the kernel's
/// `CLOCK_REALTIME`; a counter in tests).
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timespec;
}

/// A clock that always says the same time (useful at boot and in tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct FixedClock(pub Timespec);

impl Clock for FixedClock {
    fn now(&self) -> Timespec {
        self.0
    }
}

/// `CAP_CHOWN`: change any file's owner and group.
pub const CAP_CHOWN: u32 = 0;
/// `CAP_DAC_OVERRIDE`: read and write any file, search any directory,
/// execute a file with some execute bit.
pub const CAP_DAC_OVERRIDE: u32 = 1;
/// `CAP_DAC_READ_SEARCH`: read any file, read and search any directory,
/// name an open file with `linkat(AT_EMPTY_PATH)`.
pub const CAP_DAC_READ_SEARCH: u32 = 2;
/// `CAP_FOWNER`: act as the owner of any file (chmod, utimes, sticky
/// directories, `O_NOATIME`, protected hard links).
pub const CAP_FOWNER: u32 = 3;
/// `CAP_FSETID`: keep `S_ISGID` outside the file's group.
pub const CAP_FSETID: u32 = 4;
/// `CAP_IPC_LOCK`: `SHM_LOCK` of any segment.
pub const CAP_IPC_LOCK: u32 = 14;
/// `CAP_IPC_OWNER`: System V IPC permission bits are not checked.
pub const CAP_IPC_OWNER: u32 = 15;
/// `CAP_SYS_ADMIN`: `trusted.*` extended attributes, mount.
pub const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_MKNOD`: create character and block devices.
pub const CAP_MKNOD: u32 = 27;
/// Every capability of Linux 6.1 (0 to `CAP_LAST_CAP` 40).
pub const CAP_ALL: u64 = (1 << 41) - 1;

/// The credential a filesystem operation runs with: the filesystem user
/// and group IDs, the supplementary groups and the effective capabilities
/// (Linux's `fsuid`, `fsgid`, `group_info` and `cap_effective`). The
/// overrides of permission checks come from the capabilities (bit `n` of
/// `caps` is capability `n`, e.g. [`CAP_DAC_OVERRIDE`]), never from the
/// fs uid being 0: a fs uid 0 without capabilities is an ordinary user
/// who owns root's files.
///
/// [`Cred::root`] (uid 0 with every capability) is for a kernel's own
/// work and for consumers of the crate that have no capability model;
/// [`Cred::new`] and [`Cred::user`] have none, and
/// [`Cred::with_caps`] gives the process's effective set. `Default` is
/// uid 0 without capabilities. The checks ignore user namespaces (Linux's
/// `capable_wrt_inode_uidgid` also wants the inode's ids mapped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cred {
    /// The filesystem user ID.
    pub uid: u32,
    /// The filesystem group ID.
    pub gid: u32,
    /// Supplementary group IDs.
    pub groups: Vec<u32>,
    /// The effective capabilities (bit `n` for capability `n`).
    pub caps: u64,
}

impl Cred {
    /// With `uid`, `gid`, `groups` and no capability.
    pub fn new(uid: u32, gid: u32, groups: Vec<u32>) -> Self {
        Cred { uid, gid, groups, caps: 0 }
    }

    /// The same with the capability set `caps` (a process's effective set).
    pub fn with_caps(mut self, caps: u64) -> Self {
        self.caps = caps;
        self
    }
}

impl Cred {
    /// The superuser: uid and gid 0 with every capability ([`CAP_ALL`]).
    pub fn root() -> Self {
        Self { caps: CAP_ALL, ..Self::default() }
    }

    /// A user with one group, no supplementary groups and no capability.
    pub fn user(uid: u32, gid: u32) -> Self {
        Self { uid, gid, groups: Vec::new(), caps: 0 }
    }

    /// Whether capability `cap` (e.g. [`CAP_FOWNER`]) is in the set.
    pub fn has_cap(&self, cap: u32) -> bool {
        cap < 64 && self.caps >> cap & 1 == 1
    }

    /// Linux's `inode_owner_or_capable`: the fs uid owns a file of owner
    /// `uid`, or the credential has `CAP_FOWNER`.
    pub fn owner_or_capable(&self, uid: u32) -> bool {
        self.uid == uid || self.has_cap(CAP_FOWNER)
    }

    /// Whether `gid` is the group or one of the supplementary groups.
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }

    /// Linux's `generic_permission` for a file of owner `uid`, group
    /// `gid` and permission bits `perm`: whether this credential may
    /// access it with `mask` (of [`R_OK`], [`W_OK`], [`X_OK`]). The mode
    /// class (owner, group, other) decides first; then `CAP_DAC_READ_SEARCH`
    /// grants reading a file and reading and searching a directory, and
    /// `CAP_DAC_OVERRIDE` grants anything on a directory and reading and
    /// writing a file, executing it only when some execute bit is set.
    pub fn permits(&self, dir: bool, uid: u32, gid: u32, perm: u32, mask: u32) -> bool {
        let mask = mask & 7;
        let bits = if self.uid == uid {
            perm >> 6
        } else if self.in_group(gid) {
            perm >> 3
        } else {
            perm
        } & 7;
        if bits & mask == mask {
            return true;
        }
        if dir {
            (mask & W_OK == 0 && self.has_cap(CAP_DAC_READ_SEARCH)) || self.has_cap(CAP_DAC_OVERRIDE)
        } else {
            ((mask & X_OK == 0 || perm & 0o111 != 0) && self.has_cap(CAP_DAC_OVERRIDE))
                || (mask == R_OK && self.has_cap(CAP_DAC_READ_SEARCH))
        }
    }
}

/// The type of an inode, from the `S_IFMT` bits of its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A FIFO (named pipe).
    Fifo,
    /// A socket.
    Socket,
}

impl FileType {
    /// The type of a mode's `S_IFMT` bits; `None` for an unknown type.
    pub fn from_mode(mode: u32) -> Option<Self> {
        Some(match mode & S_IFMT {
            S_IFREG => Self::Regular,
            S_IFDIR => Self::Directory,
            S_IFLNK => Self::Symlink,
            S_IFCHR => Self::CharDevice,
            S_IFBLK => Self::BlockDevice,
            S_IFIFO => Self::Fifo,
            S_IFSOCK => Self::Socket,
            _ => return None,
        })
    }

    /// The `S_IFMT` bits of this type.
    pub fn mode_bits(self) -> u32 {
        match self {
            Self::Regular => S_IFREG,
            Self::Directory => S_IFDIR,
            Self::Symlink => S_IFLNK,
            Self::CharDevice => S_IFCHR,
            Self::BlockDevice => S_IFBLK,
            Self::Fifo => S_IFIFO,
            Self::Socket => S_IFSOCK,
        }
    }

    /// The `d_type` of a directory entry of this type (`DT_REG`, ...).
    pub fn dirent_type(self) -> u8 {
        match self {
            Self::Fifo => 1,
            Self::CharDevice => 2,
            Self::Directory => 4,
            Self::BlockDevice => 6,
            Self::Regular => 8,
            Self::Symlink => 10,
            Self::Socket => 12,
        }
    }
}

/// A device number made of a major and a minor number, encoded as glibc's
/// `makedev` and Linux's `new_encode_dev` do.
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (u64::from(major), u64::from(minor));
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
}

/// The major number of a device number made by [`makedev`].
pub fn major(dev: u64) -> u32 {
    (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32
}

/// The minor number of a device number made by [`makedev`].
pub fn minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32
}

/// What stat(2) reports, field for field Linux's `struct stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stat {
    /// The device of the filesystem.
    pub dev: u64,
    /// The inode number.
    pub ino: u64,
    /// The number of hard links.
    pub nlink: u64,
    /// Type and permission bits.
    pub mode: u32,
    /// The owner.
    pub uid: u32,
    /// The group.
    pub gid: u32,
    /// The device a device inode stands for ([`makedev`]).
    pub rdev: u64,
    /// The size in bytes (the target's length for a symbolic link).
    pub size: i64,
    /// The preferred I/O size.
    pub blksize: i64,
    /// 512-byte blocks allocated.
    pub blocks: i64,
    /// Last access.
    pub atime: Timespec,
    /// Last modification of the content.
    pub mtime: Timespec,
    /// Last change of the inode.
    pub ctime: Timespec,
}

impl Stat {
    /// With [`Stat::dev`].
    pub fn with_dev(mut self, dev: u64) -> Self {
        self.dev = dev;
        self
    }
    /// With [`Stat::ino`].
    pub fn with_ino(mut self, ino: u64) -> Self {
        self.ino = ino;
        self
    }
    /// With [`Stat::nlink`].
    pub fn with_nlink(mut self, nlink: u64) -> Self {
        self.nlink = nlink;
        self
    }
    /// With [`Stat::mode`].
    pub fn with_mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    /// With [`Stat::uid`].
    pub fn with_uid(mut self, uid: u32) -> Self {
        self.uid = uid;
        self
    }
    /// With [`Stat::gid`].
    pub fn with_gid(mut self, gid: u32) -> Self {
        self.gid = gid;
        self
    }
    /// With [`Stat::rdev`].
    pub fn with_rdev(mut self, rdev: u64) -> Self {
        self.rdev = rdev;
        self
    }
    /// With [`Stat::size`].
    pub fn with_size(mut self, size: i64) -> Self {
        self.size = size;
        self
    }
    /// With [`Stat::blksize`].
    pub fn with_blksize(mut self, blksize: i64) -> Self {
        self.blksize = blksize;
        self
    }
    /// With [`Stat::blocks`].
    pub fn with_blocks(mut self, blocks: i64) -> Self {
        self.blocks = blocks;
        self
    }
    /// With [`Stat::atime`].
    pub fn with_atime(mut self, atime: Timespec) -> Self {
        self.atime = atime;
        self
    }
    /// With [`Stat::mtime`].
    pub fn with_mtime(mut self, mtime: Timespec) -> Self {
        self.mtime = mtime;
        self
    }
    /// With [`Stat::ctime`].
    pub fn with_ctime(mut self, ctime: Timespec) -> Self {
        self.ctime = ctime;
        self
    }
}

impl Stat {
    /// The bytes of the x86_64 `struct stat` (144 bytes, little endian),
    /// ready to copy to user space.
    pub fn to_x86_64_bytes(&self) -> [u8; 144] {
        let mut b = [0u8; 144];
        let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
        put(0, &self.dev.to_le_bytes());
        put(8, &self.ino.to_le_bytes());
        put(16, &self.nlink.to_le_bytes());
        put(24, &self.mode.to_le_bytes());
        put(28, &self.uid.to_le_bytes());
        put(32, &self.gid.to_le_bytes());
        put(40, &self.rdev.to_le_bytes());
        put(48, &self.size.to_le_bytes());
        put(56, &self.blksize.to_le_bytes());
        put(64, &self.blocks.to_le_bytes());
        put(72, &self.atime.sec.to_le_bytes());
        put(80, &self.atime.nsec.to_le_bytes());
        put(88, &self.mtime.sec.to_le_bytes());
        put(96, &self.mtime.nsec.to_le_bytes());
        put(104, &self.ctime.sec.to_le_bytes());
        put(112, &self.ctime.nsec.to_le_bytes());
        b
    }
}

/// Filesystem figures for statfs(2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatFs {
    /// The filesystem's magic number (`RAMFS_MAGIC`).
    pub fs_type: u64,
    /// The block size.
    pub bsize: u64,
    /// Total blocks (0 when unlimited).
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Blocks free to unprivileged users.
    pub bavail: u64,
    /// Total inodes (`nr_inodes`), or those in use when unlimited.
    pub files: u64,
    /// Free inodes, or those in use when unlimited.
    pub ffree: u64,
    /// The longest name.
    pub namelen: u64,
}

impl StatFs {
    /// With [`StatFs::fs_type`].
    pub fn with_fs_type(mut self, fs_type: u64) -> Self {
        self.fs_type = fs_type;
        self
    }
    /// With [`StatFs::bsize`].
    pub fn with_bsize(mut self, bsize: u64) -> Self {
        self.bsize = bsize;
        self
    }
    /// With [`StatFs::blocks`].
    pub fn with_blocks(mut self, blocks: u64) -> Self {
        self.blocks = blocks;
        self
    }
    /// With [`StatFs::bfree`].
    pub fn with_bfree(mut self, bfree: u64) -> Self {
        self.bfree = bfree;
        self
    }
    /// With [`StatFs::bavail`].
    pub fn with_bavail(mut self, bavail: u64) -> Self {
        self.bavail = bavail;
        self
    }
    /// With [`StatFs::files`].
    pub fn with_files(mut self, files: u64) -> Self {
        self.files = files;
        self
    }
    /// With [`StatFs::ffree`].
    pub fn with_ffree(mut self, ffree: u64) -> Self {
        self.ffree = ffree;
        self
    }
    /// With [`StatFs::namelen`].
    pub fn with_namelen(mut self, namelen: u64) -> Self {
        self.namelen = namelen;
        self
    }
}

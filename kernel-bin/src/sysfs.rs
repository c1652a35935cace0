//! /sys: a synthetic filesystem (`vfs::new_synthfs`) that mount(2) of type
//! "sysfs" puts on a directory. It holds what user space reads to learn
//! the CPUs (glibc's get_nprocs()/sysconf(_SC_NPROCESSORS_ONLN), lscpu):
//!
//! - `/sys/devices/system/cpu/`: `online`, `possible`, `present` (ranges
//!   as Linux's cpulist prints them, `0-1\n`), `offline` (empty list),
//!   `kernel_max` (the highest CPU number the kernel supports), and
//!   `cpuN/` per CPU that runs tasks: `online` (not for cpu0, as on x86
//!   without CPU0 hotplug) and `topology/` (one package, one thread per
//!   core, as /proc/cpuinfo says).
//!
//! - the disk, for lsblk(8) (util-linux iterates `/sys/block` and reads
//!   the disk through `/sys/dev/block/MAJ:MIN`): `/sys/block/vda`,
//!   `/sys/class/block/vda` and `/sys/dev/block/254:0`, links to
//!   `/sys/devices/pci0000:00/0000:00:SS.F/virtioN/block/vda` (Linux's
//!   path for the disk's PCI function), which holds `dev`, `size`, `ro`,
//!   `removable`, `hidden`, `range`, `ext_range`, `capability`, the
//!   alignment and event files, `inflight`, `uevent`, empty `holders/`
//!   and `slaves/`, the `device` and `subsystem` links and `queue/` (block
//!   sizes, `rotational`, `scheduler` `[none]`, no discard: the driver has
//!   none). Every file reads as Linux 6.1's for a QEMU virtio-blk disk
//!   but is read-only here (Linux lets root write some queue files).
//!
//! - `/sys/kernel/mm/transparent_hugepage/` (redis and jemalloc read it):
//!   `enabled`, `defrag`, `shmem_enabled`, `use_zero_page`,
//!   `hpage_pmd_size` and `khugepaged/`, as Debian's Linux 6.1 shows them
//!   (no huge pages are made here). Root may write the choices and knobs
//!   (Linux's store rules); the values only read back.
//!
//! - `/sys/fs/cgroup`, an empty directory where cgroup2 is mounted
//!   (systemd mounts it there); it and `/sys/fs` stay one inode while
//!   held ([`SynthNode::stays`]), so that the mount stays.
//!
//! The CPUs are the ones `sched::nr_cpus` counts; there is no hotplug, so
//! possible = present = online. Writing `1` to a `cpuN/online` is accepted
//! (the CPU is online); taking a CPU offline is `EBUSY`.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_abi::{Errno, Result};
use vfs::{FileType, Inode, SynthEntry, SynthNode};

/// `SYSFS_MAGIC`, for statfs(2).
pub const SYSFS_MAGIC: u64 = 0x6265_6572;

/// Linux's NR_CPUS in Debian's x86_64 configuration (`kernel_max` is one less).
const NR_CPUS: usize = 8192;

/// A fresh view of /sys (every mount shows the same nodes, as Linux's
/// sysfs has one superblock).
pub fn new_sysfs() -> Arc<Inode> {
    vfs::new_synthfs(vfs::makedev(0, 0x15), Arc::new(crate::fs::KernelClock), Arc::new(Node::Root))
}

/// What a /sys node is.
#[derive(Clone, Copy)]
enum Node {
    Root,
    Devices,
    System,
    /// `/sys/devices/system/cpu`.
    Cpu,
    /// A file of `/sys/devices/system/cpu`.
    CpuFile(&'static str),
    /// `cpuN/`.
    CpuN(u16),
    /// `cpuN/online`.
    CpuOnline(u16),
    /// `cpuN/topology/`.
    Topology(u16),
    /// A file of `cpuN/topology/`.
    TopoFile(u16, &'static str),
    /// `/sys/block`, `/sys/class`, `/sys/class/block`, `/sys/dev`,
    /// `/sys/dev/block`.
    Block,
    Class,
    ClassBlock,
    Dev,
    DevBlock,
    /// The links to the disk's directory: `/sys/block/vda`,
    /// `/sys/class/block/vda`, `/sys/dev/block/254:0`.
    BlockLink,
    ClassBlockLink,
    DevBlockLink,
    /// The `n`th directory of the disk's path below `/sys/devices`
    /// (`pci0000:00`, `0000:00:03.0`, `virtio0`, `block`).
    DiskPath(u8),
    /// `.../block/vda`.
    Disk,
    /// A file of the disk's directory.
    DiskFile(&'static str),
    /// `holders/`, `slaves/` (empty: no device-mapper or RAID here).
    DiskEmpty(&'static str),
    /// `device`, `subsystem`.
    DiskLink(&'static str),
    /// `queue/` and its files.
    Queue,
    QueueFile(&'static str),
    /// `/sys/kernel`, `/sys/kernel/mm`, `.../transparent_hugepage`,
    /// `.../khugepaged`.
    Kernel,
    KernelMm,
    Thp,
    Khugepaged,
    /// A file of `transparent_hugepage/` or of `khugepaged/`.
    ThpFile(&'static str),
    KhpFile(&'static str),
    /// `/sys/fs` and `/sys/fs/cgroup`, where cgroup2 is mounted (Linux's
    /// cgroup_init makes it; systemd mounts there): empty directories that
    /// stay one inode while held, so that a mount on them stays.
    Fs,
    FsCgroup,
}

const THP_FILES: &[&str] = &["defrag", "enabled", "hpage_pmd_size", "shmem_enabled", "use_zero_page"];
const KHP_FILES: &[&str] = &[
    "alloc_sleep_millisecs",
    "defrag",
    "full_scans",
    "max_ptes_none",
    "max_ptes_shared",
    "max_ptes_swap",
    "pages_collapsed",
    "pages_to_scan",
    "scan_sleep_millisecs",
];

const DISK_FILES: &[&str] = &[
    "alignment_offset",
    "capability",
    "dev",
    "discard_alignment",
    "events",
    "events_async",
    "events_poll_msecs",
    "ext_range",
    "hidden",
    "inflight",
    "range",
    "removable",
    "ro",
    "size",
    "uevent",
];
const DISK_EMPTY: &[&str] = &["holders", "slaves"];
const DISK_LINKS: &[&str] = &["device", "subsystem"];
const QUEUE_FILES: &[&str] = &[
    "add_random",
    "chunk_sectors",
    "dax",
    "discard_granularity",
    "discard_max_bytes",
    "discard_max_hw_bytes",
    "discard_zeroes_data",
    "hw_sector_size",
    "logical_block_size",
    "max_hw_sectors_kb",
    "max_sectors_kb",
    "minimum_io_size",
    "nr_requests",
    "nr_zones",
    "optimal_io_size",
    "physical_block_size",
    "read_ahead_kb",
    "rotational",
    "scheduler",
    "write_cache",
    "write_same_max_bytes",
    "write_zeroes_max_bytes",
    "zone_append_max_bytes",
    "zone_write_granularity",
    "zoned",
];

/// The disk's directory below /sys (`devices/pci0000:00/.../block/vda`),
/// `None` without a disk.
fn disk_path() -> Option<String> {
    crate::blk::present().then(crate::blk::sysfs_path).filter(|p| !p.is_empty())
}

/// The `n`th component of the disk's path below `/sys/devices`.
fn disk_component(n: u8) -> Option<String> {
    disk_path()?.split('/').nth(1 + usize::from(n)).map(String::from)
}

/// The disk's device number as `MAJ:MIN`.
fn disk_devno() -> String {
    format!("{}:0", crate::blk::VIRTBLK_MAJOR)
}

const CPU_FILES: &[&str] = &["kernel_max", "offline", "online", "possible", "present"];
const TOPO_FILES: &[&str] = &[
    "cluster_cpus",
    "cluster_cpus_list",
    "cluster_id",
    "core_cpus",
    "core_cpus_list",
    "core_id",
    "core_siblings",
    "core_siblings_list",
    "die_cpus",
    "die_cpus_list",
    "die_id",
    "package_cpus",
    "package_cpus_list",
    "physical_package_id",
    "thread_siblings",
    "thread_siblings_list",
];

fn nr_cpus() -> usize {
    crate::sched::nr_cpus()
}

/// Stable inode numbers.
fn ino_of(node: &Node) -> u64 {
    let idx = |list: &[&str], n: &str| list.iter().position(|x| *x == n).unwrap_or(0) as u64;
    let per = |cpu: u16, k: u64| 0x1_0000 + (u64::from(cpu) << 8) + k;
    match *node {
        Node::Root => 1,
        Node::Devices => 2,
        Node::System => 3,
        Node::Cpu => 4,
        Node::CpuFile(n) => 16 + idx(CPU_FILES, n),
        Node::CpuN(c) => per(c, 0),
        Node::CpuOnline(c) => per(c, 1),
        Node::Topology(c) => per(c, 2),
        Node::TopoFile(c, n) => per(c, 16 + idx(TOPO_FILES, n)),
        Node::Block => 5,
        Node::Class => 6,
        Node::ClassBlock => 7,
        Node::Dev => 8,
        Node::DevBlock => 9,
        Node::BlockLink => 10,
        Node::ClassBlockLink => 11,
        Node::DevBlockLink => 12,
        Node::DiskPath(n) => 0x2_0000 + u64::from(n),
        Node::Disk => 0x2_0010,
        Node::DiskFile(n) => 0x2_0100 + idx(DISK_FILES, n),
        Node::DiskEmpty(n) => 0x2_0200 + idx(DISK_EMPTY, n),
        Node::DiskLink(n) => 0x2_0300 + idx(DISK_LINKS, n),
        Node::Queue => 0x2_0011,
        Node::QueueFile(n) => 0x2_0400 + idx(QUEUE_FILES, n),
        Node::Kernel => 0x3_0000,
        Node::KernelMm => 0x3_0001,
        Node::Thp => 0x3_0002,
        Node::Khugepaged => 0x3_0003,
        Node::ThpFile(n) => 0x3_0100 + idx(THP_FILES, n),
        Node::KhpFile(n) => 0x3_0200 + idx(KHP_FILES, n),
        Node::Fs => 0x4_0000,
        Node::FsCgroup => 0x4_0001,
    }
}

fn kind_of(node: &Node) -> (FileType, u32) {
    match node {
        Node::Root
        | Node::Devices
        | Node::System
        | Node::Cpu
        | Node::CpuN(_)
        | Node::Topology(_)
        | Node::Block
        | Node::Class
        | Node::ClassBlock
        | Node::Dev
        | Node::DevBlock
        | Node::DiskPath(_)
        | Node::Disk
        | Node::DiskEmpty(_)
        | Node::Queue
        | Node::Kernel
        | Node::KernelMm
        | Node::Thp
        | Node::Khugepaged
        | Node::Fs
        | Node::FsCgroup => (FileType::Directory, 0o755),
        Node::ThpFile("hpage_pmd_size") | Node::KhpFile("full_scans" | "pages_collapsed") => {
            (FileType::Regular, 0o444)
        }
        Node::ThpFile(_) | Node::KhpFile(_) => (FileType::Regular, 0o644),
        Node::BlockLink | Node::ClassBlockLink | Node::DevBlockLink | Node::DiskLink(_) => {
            (FileType::Symlink, 0o777)
        }
        Node::DiskFile(_) | Node::QueueFile(_) => (FileType::Regular, 0o444),
        // cpuN/online is writable by root (CPU hotplug)
        Node::CpuOnline(_) => (FileType::Regular, 0o644),
        Node::CpuFile(_) | Node::TopoFile(..) => (FileType::Regular, 0o444),
    }
}

fn entry(name: &[u8], node: Node) -> SynthEntry {
    SynthEntry::new(name.to_vec(), ino_of(&node), kind_of(&node).0)
}

/// Linux's cpulist format (`bitmap_print_list`): ranges `a-b` or single
/// numbers joined by commas, then a newline; an empty set is `\n`.
fn cpu_list(cpus: core::ops::Range<usize>) -> String {
    match cpus.len() {
        0 => String::from("\n"),
        1 => format!("{}\n", cpus.start),
        _ => format!("{}-{}\n", cpus.start, cpus.end - 1),
    }
}

/// Linux's cpumask format (`bitmap_print_to_pagebuf`, not a list): hex in
/// 32-bit groups separated by commas, as many bits as `nr_cpu_ids` (here
/// the CPU count), then a newline.
fn cpu_mask(cpus: core::ops::Range<usize>) -> String {
    let n = nr_cpus().max(1);
    let groups = n.div_ceil(32);
    let mut out = String::new();
    for g in (0..groups).rev() {
        let mut word: u32 = 0;
        for bit in 0..32 {
            if cpus.contains(&(g * 32 + bit)) {
                word |= 1 << bit;
            }
        }
        // the top group has only as many digits as its bits need
        if g == groups - 1 {
            let bits = n - g * 32;
            out.push_str(&format!("{word:0width$x}", width = bits.div_ceil(4)));
        } else {
            out.push_str(&format!(",{word:08x}"));
        }
    }
    out.push('\n');
    out
}

impl Node {
    fn child(&self, name: &[u8]) -> Option<Node> {
        let find = |list: &[&'static str]| list.iter().copied().find(|n| n.as_bytes() == name);
        match *self {
            Node::Root => match name {
                b"block" => Some(Node::Block),
                b"class" => Some(Node::Class),
                b"dev" => Some(Node::Dev),
                b"devices" => Some(Node::Devices),
                b"fs" => Some(Node::Fs),
                b"kernel" => Some(Node::Kernel),
                _ => None,
            },
            Node::Fs => (name == b"cgroup").then_some(Node::FsCgroup),
            Node::Kernel => (name == b"mm").then_some(Node::KernelMm),
            Node::KernelMm => (name == b"transparent_hugepage").then_some(Node::Thp),
            Node::Thp => find(THP_FILES)
                .map(Node::ThpFile)
                .or_else(|| (name == b"khugepaged").then_some(Node::Khugepaged)),
            Node::Khugepaged => find(KHP_FILES).map(Node::KhpFile),
            Node::Devices => match name {
                b"system" => Some(Node::System),
                _ => (disk_component(0)?.as_bytes() == name).then_some(Node::DiskPath(0)),
            },
            Node::Block => (name == b"vda" && disk_path().is_some()).then_some(Node::BlockLink),
            Node::Class => (name == b"block").then_some(Node::ClassBlock),
            Node::ClassBlock => (name == b"vda" && disk_path().is_some()).then_some(Node::ClassBlockLink),
            Node::Dev => (name == b"block").then_some(Node::DevBlock),
            Node::DevBlock => {
                (disk_path().is_some() && name == disk_devno().as_bytes()).then_some(Node::DevBlockLink)
            }
            Node::DiskPath(n) if n < 3 => {
                (disk_component(n + 1)?.as_bytes() == name).then_some(Node::DiskPath(n + 1))
            }
            Node::DiskPath(_) => (name == b"vda").then_some(Node::Disk),
            Node::Disk => find(DISK_FILES)
                .map(Node::DiskFile)
                .or_else(|| find(DISK_EMPTY).map(Node::DiskEmpty))
                .or_else(|| find(DISK_LINKS).map(Node::DiskLink))
                .or_else(|| (name == b"queue").then_some(Node::Queue)),
            Node::Queue => find(QUEUE_FILES).map(Node::QueueFile),
            Node::System => (name == b"cpu").then_some(Node::Cpu),
            Node::Cpu => find(CPU_FILES).map(Node::CpuFile).or_else(|| {
                let n = name.strip_prefix(b"cpu")?;
                if n.is_empty() || (n.len() > 1 && n[0] == b'0') {
                    return None;
                }
                let c: u16 = core::str::from_utf8(n).ok()?.parse().ok()?;
                (usize::from(c) < nr_cpus()).then_some(Node::CpuN(c))
            }),
            Node::CpuN(c) => match name {
                b"topology" => Some(Node::Topology(c)),
                b"online" if c > 0 => Some(Node::CpuOnline(c)),
                _ => None,
            },
            Node::Topology(c) => find(TOPO_FILES).map(|n| Node::TopoFile(c, n)),
            _ => None,
        }
    }

    fn list(&self) -> Vec<SynthEntry> {
        match *self {
            Node::Root => alloc::vec![
                entry(b"block", Node::Block),
                entry(b"class", Node::Class),
                entry(b"dev", Node::Dev),
                entry(b"devices", Node::Devices),
                entry(b"fs", Node::Fs),
                entry(b"kernel", Node::Kernel),
            ],
            Node::Fs => alloc::vec![entry(b"cgroup", Node::FsCgroup)],
            Node::Kernel => alloc::vec![entry(b"mm", Node::KernelMm)],
            Node::KernelMm => alloc::vec![entry(b"transparent_hugepage", Node::Thp)],
            Node::Thp => {
                let mut v: Vec<SynthEntry> =
                    THP_FILES.iter().map(|n| entry(n.as_bytes(), Node::ThpFile(n))).collect();
                v.push(entry(b"khugepaged", Node::Khugepaged));
                v
            }
            Node::Khugepaged => KHP_FILES.iter().map(|n| entry(n.as_bytes(), Node::KhpFile(n))).collect(),
            Node::Devices => {
                let mut v = Vec::new();
                if let Some(c) = disk_component(0) {
                    v.push(entry(c.as_bytes(), Node::DiskPath(0)));
                }
                v.push(entry(b"system", Node::System));
                v
            }
            Node::Block if disk_path().is_some() => alloc::vec![entry(b"vda", Node::BlockLink)],
            Node::Class => alloc::vec![entry(b"block", Node::ClassBlock)],
            Node::ClassBlock if disk_path().is_some() => alloc::vec![entry(b"vda", Node::ClassBlockLink)],
            Node::Dev => alloc::vec![entry(b"block", Node::DevBlock)],
            Node::DevBlock if disk_path().is_some() => {
                alloc::vec![entry(disk_devno().as_bytes(), Node::DevBlockLink)]
            }
            Node::DiskPath(n) if n < 3 => disk_component(n + 1)
                .map(|c| alloc::vec![entry(c.as_bytes(), Node::DiskPath(n + 1))])
                .unwrap_or_default(),
            Node::DiskPath(_) => alloc::vec![entry(b"vda", Node::Disk)],
            Node::Disk => {
                let mut v: Vec<SynthEntry> =
                    DISK_FILES.iter().map(|n| entry(n.as_bytes(), Node::DiskFile(n))).collect();
                v.extend(DISK_EMPTY.iter().map(|n| entry(n.as_bytes(), Node::DiskEmpty(n))));
                v.extend(DISK_LINKS.iter().map(|n| entry(n.as_bytes(), Node::DiskLink(n))));
                v.push(entry(b"queue", Node::Queue));
                v
            }
            Node::Queue => QUEUE_FILES.iter().map(|n| entry(n.as_bytes(), Node::QueueFile(n))).collect(),
            Node::System => alloc::vec![entry(b"cpu", Node::Cpu)],
            Node::Cpu => {
                let mut v: Vec<SynthEntry> =
                    CPU_FILES.iter().map(|n| entry(n.as_bytes(), Node::CpuFile(n))).collect();
                for c in 0..nr_cpus().min(usize::from(u16::MAX)) {
                    v.push(entry(format!("cpu{c}").as_bytes(), Node::CpuN(c as u16)));
                }
                v
            }
            Node::CpuN(c) => {
                let mut v = alloc::vec![entry(b"topology", Node::Topology(c))];
                if c > 0 {
                    v.push(entry(b"online", Node::CpuOnline(c)));
                }
                v
            }
            Node::Topology(c) => {
                TOPO_FILES.iter().map(|n| entry(n.as_bytes(), Node::TopoFile(c, n))).collect()
            }
            _ => Vec::new(),
        }
    }

    fn text(&self) -> Result<String> {
        let all = 0..nr_cpus();
        Ok(match *self {
            Node::CpuFile("kernel_max") => format!("{}\n", NR_CPUS - 1),
            Node::CpuFile("offline") => cpu_list(0..0),
            Node::CpuFile(_) => cpu_list(all),
            Node::CpuOnline(_) => String::from("1\n"),
            Node::TopoFile(c, n) => {
                let c = usize::from(c);
                let own = c..c + 1;
                match n {
                    "core_id" => format!("{c}\n"),
                    "physical_package_id" | "die_id" => String::from("0\n"),
                    // a cluster (L2 cache) per core, as the core id
                    "cluster_id" => format!("{c}\n"),
                    // one thread per core; a core is its own cluster
                    "thread_siblings" | "core_cpus" | "cluster_cpus" => cpu_mask(own),
                    "thread_siblings_list" | "core_cpus_list" | "cluster_cpus_list" => cpu_list(own),
                    // one package (one die) of all CPUs
                    n if n.ends_with("_list") => cpu_list(all),
                    _ => cpu_mask(all),
                }
            }
            Node::DiskFile(n) => disk_file(n),
            Node::QueueFile(n) => queue_file(n),
            Node::ThpFile(n) => thp::show(n, false),
            Node::KhpFile(n) => thp::show(n, true),
            _ => return Err(Errno::EINVAL),
        })
    }

    /// A link's target, relative to its directory.
    fn link(&self) -> Result<String> {
        let path = || disk_path().ok_or(Errno::ENOENT);
        Ok(match *self {
            Node::BlockLink => format!("../{}", path()?),
            Node::ClassBlockLink | Node::DevBlockLink => format!("../../{}", path()?),
            Node::DiskLink("device") => format!("../../../{}", disk_component(2).ok_or(Errno::ENOENT)?),
            Node::DiskLink(_) => String::from("../../../../../../class/block"),
            _ => return Err(Errno::EINVAL),
        })
    }
}

/// A file of the disk's directory, as Linux 6.1's block layer prints it
/// for a virtio-blk disk (block/genhd.c, block/disk-events.c).
fn disk_file(name: &str) -> String {
    let sectors = crate::blk::size() / 512;
    match name {
        "dev" => format!("{}\n", disk_devno()),
        "size" => format!("{sectors}\n"),
        "ro" => format!("{}\n", u8::from(crate::blk::read_only())),
        // virtio_blk's minors per disk (1 << PART_BITS)
        "range" => String::from("16\n"),
        "ext_range" => String::from("256\n"),
        // no removable media, polled events or pending requests shown
        "events" | "events_async" => String::from("\n"),
        "events_poll_msecs" => String::from("-1\n"),
        "inflight" => format!("{:>8} {:>8}\n", 0, 0),
        "uevent" => {
            format!("MAJOR={}\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\nDISKSEQ=1\n", crate::blk::VIRTBLK_MAJOR)
        }
        // removable, hidden, capability, alignment_offset,
        // discard_alignment
        _ => String::from("0\n"),
    }
}

/// A file of the disk's `queue/` (block/blk-sysfs.c): 512-byte sectors,
/// no I/O scheduler, no discard, no zones; the request and read-ahead
/// figures are Linux's defaults for the disk.
fn queue_file(name: &str) -> String {
    String::from(match name {
        "hw_sector_size" | "logical_block_size" | "physical_block_size" | "minimum_io_size" => "512\n",
        "max_hw_sectors_kb" | "max_sectors_kb" => {
            return format!("{}\n", arch_x86_64::virtio_blk::MAX_REQUEST / 1024);
        }
        "nr_requests" => "256\n",
        "read_ahead_kb" => "128\n",
        // Linux's default for a disk that does not say otherwise
        "rotational" => "1\n",
        "scheduler" => "[none] \n",
        "write_cache" => "write back\n",
        "zoned" => "none\n",
        _ => "0\n",
    })
}

impl SynthNode for Node {
    fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> Result<Option<Arc<Inode>>> {
        Ok(self.child(name).map(|n| {
            let (ty, perm) = kind_of(&n);
            Inode::new_synth(dir, name, ty, perm, ino_of(&n), Arc::new(n))
        }))
    }

    fn entries(&self, _dir: &Arc<Inode>) -> Vec<SynthEntry> {
        self.list()
    }

    fn content(&self) -> Result<Vec<u8>> {
        self.text().map(String::into_bytes)
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        self.link().map(String::into_bytes)
    }

    fn stays(&self) -> bool {
        matches!(self, Node::Fs | Node::FsCgroup)
    }

    fn create_errno(&self, open: bool) -> Errno {
        // kernfs directories have no create/mkdir/mknod/symlink/link
        if open { Errno::EACCES } else { Errno::EPERM }
    }

    fn write_direct(&self, _offset: u64, data: &[u8]) -> Option<Result<usize>> {
        match *self {
            Node::ThpFile(n) => return Some(thp::store(n, false, data)),
            Node::KhpFile(n) => return Some(thp::store(n, true, data)),
            _ => {}
        }
        let Node::CpuOnline(c) = *self else { return None };
        // online_store(): kstrtobool; 1 on an online CPU succeeds
        Some(match data.first() {
            Some(b'1' | b'y' | b'Y') => Ok(data.len()),
            Some(b'0' | b'n' | b'N') => {
                log::info!("sysfs: taking cpu{c} offline unsupported: EBUSY");
                Err(Errno::EBUSY)
            }
            _ => Err(Errno::EINVAL),
        })
    }
}

/// mm/huge_memory.c's and mm/khugepaged.c's sysfs files: the flags and
/// knobs (kept, not acted on: no huge pages are made here).
mod thp {
    use alloc::format;
    use alloc::string::String;
    use core::sync::atomic::{AtomicU32, Ordering};
    use linux_abi::{Errno, Result};

    /// `HPAGE_PMD_NR`: 4 KiB pages in a 2 MiB huge page.
    const HPAGE_PMD_NR: u32 = 512;

    /// The choices of `enabled`, `defrag` and `shmem_enabled`, in
    /// Linux's print order.
    const ENABLED: &[&str] = &["always", "madvise", "never"];
    const DEFRAG: &[&str] = &["always", "defer", "defer+madvise", "madvise", "never"];
    const SHMEM: &[&str] = &["always", "within_size", "advise", "never", "deny", "force"];

    /// Not yet set: the boot default applies (`u32::MAX`).
    const UNSET: u32 = u32::MAX;
    static CHOICE_ENABLED: AtomicU32 = AtomicU32::new(UNSET);
    static CHOICE_DEFRAG: AtomicU32 = AtomicU32::new(UNSET);
    static CHOICE_SHMEM: AtomicU32 = AtomicU32::new(UNSET);
    static USE_ZERO_PAGE: AtomicU32 = AtomicU32::new(UNSET);
    static KHP_DEFRAG: AtomicU32 = AtomicU32::new(UNSET);
    /// pages_to_scan, scan_sleep_millisecs, alloc_sleep_millisecs,
    /// max_ptes_none, max_ptes_swap, max_ptes_shared.
    static KNOBS: [AtomicU32; 6] = [
        AtomicU32::new(HPAGE_PMD_NR * 8),
        AtomicU32::new(10_000),
        AtomicU32::new(60_000),
        AtomicU32::new(HPAGE_PMD_NR - 1),
        AtomicU32::new(HPAGE_PMD_NR / 8),
        AtomicU32::new(HPAGE_PMD_NR / 2),
    ];
    const KNOB_NAMES: [&str; 6] = [
        "pages_to_scan",
        "scan_sleep_millisecs",
        "alloc_sleep_millisecs",
        "max_ptes_none",
        "max_ptes_swap",
        "max_ptes_shared",
    ];

    /// hugepage_init(): with less than 512 MiB of RAM Linux clears every
    /// flag (`enabled` and `defrag` never, no zero page, no khugepaged
    /// defrag), as the suite's 256 MiB machines show; otherwise Debian's
    /// configuration (seen with 1 GiB): `enabled` always, `defrag`
    /// madvise, the zero page used, khugepaged defragments.
    fn small_memory() -> bool {
        let (_, total) = arch_x86_64::mem::frames::stats();
        total * 4096 < 512 << 20
    }

    fn get(a: &AtomicU32, default: impl FnOnce() -> u32) -> u32 {
        match a.load(Ordering::Relaxed) {
            UNSET => default(),
            v => v,
        }
    }

    fn choices(list: &[&str], pick: u32) -> String {
        let mut s = String::new();
        for (i, c) in list.iter().enumerate() {
            if !s.is_empty() {
                s.push(' ');
            }
            if i as u32 == pick {
                s.push_str(&format!("[{c}]"));
            } else {
                s.push_str(c);
            }
        }
        s.push('\n');
        s
    }

    /// The text of a file of `transparent_hugepage/` (or of `khugepaged/`).
    pub(super) fn show(name: &str, khugepaged: bool) -> String {
        let small = small_memory();
        if khugepaged {
            return match name {
                "defrag" => format!("{}\n", get(&KHP_DEFRAG, || u32::from(!small))),
                "full_scans" | "pages_collapsed" => String::from("0\n"),
                n => {
                    let i = KNOB_NAMES.iter().position(|k| *k == n).unwrap_or(0);
                    format!("{}\n", KNOBS[i].load(Ordering::Relaxed))
                }
            };
        }
        match name {
            "enabled" => choices(ENABLED, get(&CHOICE_ENABLED, || if small { 2 } else { 0 })),
            "defrag" => choices(DEFRAG, get(&CHOICE_DEFRAG, || if small { 4 } else { 3 })),
            "shmem_enabled" => choices(SHMEM, get(&CHOICE_SHMEM, || 3)),
            "use_zero_page" => format!("{}\n", get(&USE_ZERO_PAGE, || u32::from(!small))),
            // hpage_pmd_size
            _ => format!("{}\n", HPAGE_PMD_NR * 4096),
        }
    }

    /// sysfs_streq(): equal but for one trailing newline.
    fn streq(data: &[u8], s: &str) -> bool {
        data.strip_suffix(b"\n").unwrap_or(data) == s.as_bytes()
    }

    /// kstrtoul/kstrtouint of the written text (one trailing newline).
    fn number(data: &[u8]) -> Result<u32> {
        let t = data.strip_suffix(b"\n").unwrap_or(data);
        let t = core::str::from_utf8(t).map_err(|_| Errno::EINVAL)?;
        let t = t.strip_prefix('+').unwrap_or(t);
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Errno::EINVAL);
        }
        t.parse::<u32>().map_err(|_| Errno::EINVAL)
    }

    /// A write of `data` (root only: the files are 0644): the store rules
    /// of enabled_store, defrag_store, shmem_enabled_store,
    /// single_hugepage_flag_store and khugepaged's knobs.
    pub(super) fn store(name: &str, khugepaged: bool, data: &[u8]) -> Result<usize> {
        let pick = |list: &[&str], a: &AtomicU32| -> Result<usize> {
            let i = list.iter().position(|c| streq(data, c)).ok_or(Errno::EINVAL)?;
            a.store(i as u32, Ordering::Relaxed);
            Ok(data.len())
        };
        match (khugepaged, name) {
            (false, "enabled") => pick(ENABLED, &CHOICE_ENABLED),
            (false, "defrag") => pick(DEFRAG, &CHOICE_DEFRAG),
            (false, "shmem_enabled") => pick(SHMEM, &CHOICE_SHMEM),
            (false, "use_zero_page") | (true, "defrag") => {
                // kstrtoul, then 0 or 1
                let v = number(data)?;
                if v > 1 {
                    return Err(Errno::EINVAL);
                }
                let a = if khugepaged { &KHP_DEFRAG } else { &USE_ZERO_PAGE };
                a.store(v, Ordering::Relaxed);
                Ok(data.len())
            }
            (true, n) => {
                let i = KNOB_NAMES.iter().position(|k| *k == n).ok_or(Errno::EACCES)?;
                let v = number(data)?;
                // pages_to_scan: not 0; max_ptes_*: below HPAGE_PMD_NR
                if (i == 0 && v == 0) || (i >= 3 && v > HPAGE_PMD_NR - 1) {
                    return Err(Errno::EINVAL);
                }
                KNOBS[i].store(v, Ordering::Relaxed);
                Ok(data.len())
            }
            _ => Err(Errno::EACCES),
        }
    }
}

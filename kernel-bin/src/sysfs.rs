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
    }
}

fn kind_of(node: &Node) -> (FileType, u32) {
    match node {
        Node::Root | Node::Devices | Node::System | Node::Cpu | Node::CpuN(_) | Node::Topology(_) => {
            (FileType::Directory, 0o755)
        }
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
            Node::Root => (name == b"devices").then_some(Node::Devices),
            Node::Devices => (name == b"system").then_some(Node::System),
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
            Node::Root => alloc::vec![entry(b"devices", Node::Devices)],
            Node::Devices => alloc::vec![entry(b"system", Node::System)],
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
            _ => return Err(Errno::EINVAL),
        })
    }
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

    fn create_errno(&self, open: bool) -> Errno {
        // kernfs directories have no create/mkdir/mknod/symlink/link
        if open { Errno::EACCES } else { Errno::EPERM }
    }

    fn write_direct(&self, _offset: u64, data: &[u8]) -> Option<Result<usize>> {
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

//! /proc: a synthetic filesystem (`vfs::new_synthfs`) that mount(2) of
//! type "proc" puts on a directory. Every path works as on Linux, relative
//! ones and working directories inside included (`cd /proc; cat
//! self/stat`), because path resolution asks the nodes here for their
//! children, listings, contents and link targets when it needs them.
//!
//! - `/proc`: `self` (a link to the caller's pid), `thread-self`
//!   (`<pid>/task/<tid>`), `meminfo`, `vmstat`, `uptime`, `loadavg`, `stat`,
//!   `cpuinfo`, `version`, `filesystems`, `mounts` (a link to
//!   `self/mounts`), `sys/` (the knobs of `crate::sysctl`, writable by
//!   root), and a directory per process.
//! - `/proc/<pid>` (and `/proc/<pid>/task/<tid>`): `stat`, `status`,
//!   `statm`, `cmdline`, `comm`, `maps`, `mounts`, the links `exe`, `cwd`
//!   and `root`, `fd/` (a link per open fd: a path for directories and
//!   devices, `pipe:[ino]`, `anon_inode:[eventpoll]`) and `task/`.
//!
//! The caller is the current thread (`sched::current`), so `self` needs no
//! context from the path walk. Contents are produced at each read.

use crate::proc::table;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use linux_abi::{Errno, Result};
use process::pid::Pid;
use process::proctext;
use vfs::{FileType, Inode, SynthEntry, SynthNode};

/// Page faults resolved since boot (all processes), `pgfault` of
/// /proc/vmstat.
pub static PGFAULT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// `PROC_SUPER_MAGIC`, for statfs(2).
pub const PROC_MAGIC: u64 = 0x9fa0;

/// Per-process facts /proc shows that the process table does not keep
/// (in the process record: [`crate::proc::ProcessExt`]).
#[derive(Clone, Default)]
pub struct Info {
    /// The path execve was given (shown when no path leads to the file).
    exe: Vec<u8>,
    /// The file execve loaded: `exe` shows a path to it, as Linux does
    /// (absolute, symbolic links resolved).
    exe_inode: Option<Arc<Inode>>,
    /// That file's writes denied while the process runs it (`ETXTBSY`;
    /// Linux 6.1's `mm->exe_file`, taken again by a fork).
    exe_file: Option<vfs::WriteDenied>,
    /// Clock ticks (100 Hz) since boot when the process was made.
    start_ticks: u64,
    /// Where execve put the code, data, stack, arguments and environment
    /// (`mm->start_code` ... `env_end`; prctl(PR_SET_MM) moves them).
    mm: MmLayout,
    /// `mm->saved_auxv` as bytes, `AT_NULL` included.
    auxv: Vec<u8>,
}

impl Info {
    /// A forked child's: the parent's exe, memory layout (command line
    /// and environment ranges) and auxv (`ENOMEM` if they cannot be copied), started now.
    pub fn for_fork(&self) -> Result<Info> {
        let copy = |v: &Vec<u8>| {
            let mut c = Vec::new();
            c.try_reserve_exact(v.len()).map_err(|_| Errno::ENOMEM)?;
            c.extend_from_slice(v);
            Ok::<_, Errno>(c)
        };
        Ok(Info {
            exe: copy(&self.exe)?,
            exe_inode: self.exe_inode.clone(),
            exe_file: self.exe_file.clone(),
            start_ticks: ticks(),
            mm: self.mm,
            auxv: copy(&self.auxv)?,
        })
    }
}

/// `f` on the facts of process `pid` (under the table lock: `f` must not
/// drop what it takes out).
fn info<R>(pid: Pid, f: impl FnOnce(&mut Info) -> R) -> Option<R> {
    table().with_process(pid, |p| f(&mut p.ext_mut().info))
}

fn ticks() -> u64 {
    arch_x86_64::time::since_boot_ns() / 10_000_000
}

/// The addresses of an address space that /proc shows (Linux's
/// `mm_struct` fields of the same names): `/proc/<pid>/stat`'s fields 26-28
/// and 45-51, and the ranges `cmdline` and `environ` read. All 0 for a
/// process that never ran execve, or whose leader exited.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct MmLayout {
    /// `start_code`, `end_code`.
    pub code: (usize, usize),
    /// `start_data`, `end_data`.
    pub data: (usize, usize),
    /// `start_stack`: where `argc` is.
    pub start_stack: usize,
    /// `arg_start`, `arg_end`: the argument strings.
    pub arg: (usize, usize),
    /// `env_start`, `env_end`: the environment strings.
    pub env: (usize, usize),
}

impl MmLayout {
    /// The layout execve left for a loaded image.
    pub fn of_image(img: &elf_loader::LoadedImage) -> MmLayout {
        MmLayout {
            code: (img.start_code, img.end_code),
            data: (img.start_data, img.end_data),
            start_stack: img.stack_pointer,
            arg: (img.arg_start, img.arg_end),
            env: (img.env_start, img.env_end),
        }
    }
}

/// Records what execve ran (for `exe`).
pub fn set_exec(pid: Pid, exe: &[u8], exe_file: vfs::WriteDenied) {
    let exe_inode = Some(exe_file.inode().clone());
    let mut new = Some(Info { exe: exe.to_vec(), exe_inode, exe_file: Some(exe_file), ..Info::default() });
    // the old exe (or the new one, without a process) is dropped here,
    // after the table lock
    let old = info(pid, |i| {
        let mut new = new.take()?;
        // init's was never set by a fork
        new.start_ticks = if i.start_ticks == 0 { ticks() } else { i.start_ticks };
        // until set_exec_stack gives the new program's
        new.mm = i.mm;
        new.auxv = core::mem::take(&mut i.auxv);
        Some(core::mem::replace(i, new))
    });
    drop((old, new));
}

/// Records where execve put the arguments and environment and what auxv
/// it gave (/proc/<pid>/cmdline, environ, stat and auxv).
pub fn set_exec_stack(pid: Pid, mm: MmLayout, auxv: Vec<u8>) {
    let mut auxv = Some(auxv);
    // the old auxv (or the new one, without a process) is dropped after
    // the table lock
    let old = info(pid, |i| {
        i.mm = mm;
        core::mem::replace(&mut i.auxv, auxv.take().unwrap_or_default())
    });
    drop((old, auxv));
}

/// The memory layout of process `pid` as /proc shows it.
pub fn mm_layout(pid: Pid) -> Option<MmLayout> {
    info(pid, |i| i.mm)
}

/// Replaces the memory layout of process `pid` (prctl(PR_SET_MM)).
pub fn set_mm_layout(pid: Pid, mm: MmLayout) {
    info(pid, |i| i.mm = mm);
}

/// Drops the exe and command line of `pid` (its leader thread exited:
/// Linux shows none for a process without its leader's memory). The
/// denial of writes to the executable stays while other threads run (it
/// goes with the address space: [`release_exe`]).
pub fn forget(pid: Pid) {
    let old = info(pid, |i| {
        let start_ticks = i.start_ticks;
        let exe_file = i.exe_file.take();
        core::mem::replace(i, Info { start_ticks, exe_file, ..Info::default() })
    });
    drop(old);
}

/// The last thread of `pid` gave up its address space: the executable may
/// be written again (Linux drops `mm->exe_file` at the last mmput).
pub fn release_exe(pid: Pid) {
    let old = info(pid, |i| i.exe_file.take());
    drop(old);
}

/// `hidepid=` values (Linux's `enum proc_hidepid`).
const HIDEPID_OFF: u8 = 0;
const HIDEPID_NO_ACCESS: u8 = 1;
const HIDEPID_INVISIBLE: u8 = 2;
const HIDEPID_NOT_PTRACEABLE: u8 = 4;

/// One procfs mount (Linux's `proc_fs_info`, a superblock per mount since
/// 5.8): the PID namespace of the task that mounted it
/// (`task_active_pid_ns` at mount time), whose numbers name its `/proc/<pid>`
/// directories and every pid its files show, and its options.
#[derive(Clone, Default)]
pub struct ProcMount {
    ns: process::ns::PidNsRef,
    /// `hidepid=`: `HIDEPID_*`.
    hidepid: u8,
    /// `gid=`: a group exempt from `hidepid=1`/`2` (`None`: root's, 0).
    gid: Option<u32>,
    /// `subset=pid`: only the process directories, `self` and `thread-self`.
    pidonly: bool,
}

impl ProcMount {
    /// A mount for PID namespace `ns` with mount(2)'s data `opts` (Linux's
    /// `proc_parse_param`: `hidepid=` 0, 1, 2, 4 or off, noaccess,
    /// invisible, ptraceable; `gid=` a number; `subset=pid`; the superblock
    /// flags `ro`, `rw`, `sync` and so on pass): `EINVAL` for anything else.
    pub fn parse(ns: process::ns::PidNsRef, opts: &[u8]) -> Result<ProcMount> {
        let mut m = ProcMount { ns, ..ProcMount::default() };
        for o in opts.split(|&b| b == b',').filter(|o| !o.is_empty()) {
            let (key, value) = match o.iter().position(|&b| b == b'=') {
                Some(i) => (&o[..i], Some(&o[i + 1..])),
                None => (o, None),
            };
            match (key, value) {
                (b"hidepid", Some(v)) => {
                    m.hidepid = match v {
                        b"0" | b"off" => HIDEPID_OFF,
                        b"1" | b"noaccess" => HIDEPID_NO_ACCESS,
                        b"2" | b"invisible" => HIDEPID_INVISIBLE,
                        b"4" | b"ptraceable" => HIDEPID_NOT_PTRACEABLE,
                        _ => {
                            log::info!("proc: unknown value of hidepid: EINVAL");
                            return Err(Errno::EINVAL);
                        }
                    }
                }
                (b"gid", Some(v)) => {
                    m.gid =
                        Some(core::str::from_utf8(v).ok().and_then(|v| v.parse().ok()).ok_or(Errno::EINVAL)?)
                }
                // proc_parse_subset_param(): "pid" is the only subset
                (b"subset", Some(v)) => {
                    if v != b"pid" && !v.is_empty() {
                        return Err(Errno::EINVAL);
                    }
                    m.pidonly |= v == b"pid";
                }
                // vfs_parse_sb_flag()'s names
                (
                    b"ro" | b"rw" | b"sync" | b"dirsync" | b"lazytime" | b"nolazytime" | b"mand" | b"nomand"
                    | b"async" | b"silent",
                    None,
                ) => {}
                _ => return Err(Errno::EINVAL),
            }
        }
        Ok(m)
    }

    /// What mountinfo shows after the flags (`proc_show_options`).
    pub fn options(&self) -> String {
        let mut o = String::new();
        if let Some(g) = self.gid.filter(|&g| g != 0) {
            o.push_str(&format!(",gid={g}"));
        }
        let hide = match self.hidepid {
            HIDEPID_NO_ACCESS => "noaccess",
            HIDEPID_INVISIBLE => "invisible",
            HIDEPID_NOT_PTRACEABLE => "ptraceable",
            _ => "",
        };
        if !hide.is_empty() {
            o.push_str(",hidepid=");
            o.push_str(hide);
        }
        if self.pidonly {
            o.push_str(",subset=pid");
        }
        o
    }

    /// Linux's `has_pid_permissions`: whether the caller may see process
    /// `pid` here, `hidepid=` at `min` or above hiding it unless the
    /// caller is in the `gid=` group or may ptrace it (read, fs creds).
    fn may_see(&self, pid: Pid, min: u8) -> bool {
        if self.hidepid == HIDEPID_NOT_PTRACEABLE {
            return may_access(pid).is_ok();
        }
        if self.hidepid < min {
            return true;
        }
        let g = self.gid.unwrap_or(0);
        let in_group = table()
            .with_process(caller().0, |p| p.creds().fsgid == g || p.creds().groups.contains(&g))
            .unwrap_or(false);
        in_group || may_access(pid).is_ok()
    }

    /// `proc_pid_permission()` on `/proc/<pid>` and its `task/` entries:
    /// `ENOENT` under `hidepid=2`, `EPERM` under 1 and 4, for a process
    /// the caller may not see.
    fn pid_permission(&self, pid: Pid) -> Result<()> {
        if self.hidepid == HIDEPID_OFF || self.may_see(pid, HIDEPID_NO_ACCESS) {
            return Ok(());
        }
        Err(if self.hidepid == HIDEPID_INVISIBLE { Errno::ENOENT } else { Errno::EPERM })
    }
}

/// A new /proc filesystem (one per mount) for the mount `m`.
pub fn new_procfs(m: ProcMount) -> Arc<Inode> {
    let root = ProcNode { m: Arc::new(m), n: Node::Root };
    vfs::new_synthfs(vfs::makedev(0, 0x16), Arc::new(crate::fs::KernelClock), Arc::new(root))
}

/// An open /proc/PID/mounts or mountinfo: its text as the node's, and
/// Linux's `mounts_poll`: `POLLIN|POLLRDNORM`, with `POLLERR|POLLPRI` when
/// the namespace's mount table changed since the open or the last poll
/// that said so (the namespace is the one of the open).
struct MountsFile {
    node: ProcNode,
    ns: u64,
    /// The event count last told (`seq_file::poll_event`).
    seen: AtomicU64,
}

impl SynthNode for MountsFile {
    fn content(&self) -> Result<Vec<u8>> {
        self.node.content()
    }

    fn has_poll(&self) -> bool {
        true
    }

    fn poll(&self, consume: bool) -> Option<u32> {
        let now = crate::fs::mount_event(self.ns);
        let changed = if consume {
            self.seen.swap(now, Ordering::Relaxed) != now
        } else {
            self.seen.load(Ordering::Relaxed) != now
        };
        let mask = vfs::POLLIN | vfs::POLLRDNORM;
        Some(if changed { mask | vfs::POLLERR | vfs::POLLPRI } else { mask })
    }

    fn event_count(&self) -> u64 {
        crate::fs::mount_event(self.ns)
    }

    fn wait_queue(&self) -> Option<Arc<dyn vfs::WaitQueue>> {
        let q: Arc<dyn vfs::WaitQueue> = crate::fs::mount_wait_queue();
        Some(q)
    }
}

/// A /proc node and the mount it belongs to.
struct ProcNode {
    m: Arc<ProcMount>,
    n: Node,
}

/// The calling thread: (pid, tid).
fn caller() -> (Pid, Pid) {
    let tid = crate::sched::current().id.load(Ordering::Relaxed) as Pid;
    (table().tgid(tid).unwrap_or(tid), tid)
}

/// What a /proc node is.
#[derive(Clone, Copy)]
enum Node {
    Root,
    SelfLink,
    ThreadSelf,
    /// A file of /proc itself.
    Global(&'static str),
    /// `/proc/sys` (0) and the directories below it (`sysctl::DIRS[n - 1]`).
    Sys(u8),
    /// A knob: its index in `sysctl::KNOBS`.
    SysFile(usize),
    /// `/proc/net` (a directory here; Linux's is a link to self/net).
    Net,
    /// A file of `/proc/net`.
    NetFile(&'static str),
    /// `/proc/sysvipc`.
    Ipc,
    /// A file of `/proc/sysvipc`.
    IpcFile(&'static str),
    /// `/proc/<pid>` (`tid` None) or `/proc/<pid>/task/<tid>`.
    Proc(Pid, Option<Pid>),
    ProcFile(Pid, Pid, &'static str),
    ProcLink(Pid, Pid, &'static str),
    FdDir(Pid, Pid),
    Fd(Pid, Pid, u32),
    /// `fdinfo/` and its file per open fd.
    FdInfoDir(Pid, Pid),
    FdInfo(Pid, Pid, u32),
    /// `ns/` and its links (names of `proctext::NS_NAMES`).
    NsDir(Pid, Pid),
    Ns(Pid, Pid, &'static str),
    /// The root of nsfs and its namespace files (what the `ns/` links
    /// lead to).
    NsRoot,
    NsFile(&'static str),
    TaskDir(Pid),
}

const GLOBAL_FILES: &[&str] = &[
    "cmdline",
    "cpuinfo",
    "filesystems",
    "loadavg",
    "locks",
    "meminfo",
    "stat",
    "uptime",
    "version",
    "vmstat",
];

/// The kernel command line, as /proc/cmdline shows it (set once at boot).
static CMDLINE: spin::Once<alloc::string::String> = spin::Once::new();

/// Keeps the kernel command line for /proc/cmdline.
pub fn set_cmdline(line: &str) {
    CMDLINE.call_once(|| line.into());
}
const PROC_FILES: &[&str] = &[
    "cmdline",
    "comm",
    "maps",
    "mounts",
    "stat",
    "statm",
    "status",
    "mem",
    "environ",
    "auxv",
    "oom_score_adj",
    "syscall",
    "mountinfo",
    "limits",
    "cgroup",
    "io",
    "uid_map",
    "gid_map",
    "setgroups",
    "loginuid",
    "sessionid",
    "timers",
    "timens_offsets",
    "oom_score",
    "pagemap",
];
const PROC_LINKS: &[&str] = &["cwd", "exe", "root"];
/// The files of /proc/sysvipc.
const IPC_FILES: &[&str] = &["msg", "sem", "shm"];

const NET_FILES: &[&str] = &[
    "dev",
    "tcp",
    "tcp6",
    "udp",
    "udp6",
    "raw",
    "raw6",
    "unix",
    "route",
    "if_inet6",
    "sockstat",
    "sockstat6",
    "snmp",
    "snmp6",
    "netstat",
    "arp",
];

/// Stable inode numbers: small ones for /proc itself, a block per pid.
fn ino_of(node: &Node) -> u64 {
    let idx = |list: &[&str], n: &str| list.iter().position(|x| *x == n).unwrap_or(0) as u64;
    let per = |pid: Pid, tid: Pid, k: u64| 0x1_0000 + (u64::from(pid) << 24) + (u64::from(tid) << 8) + k;
    match *node {
        Node::Root => 1,
        Node::SelfLink => 2,
        Node::ThreadSelf => 3,
        Node::Global(n) => 16 + idx(GLOBAL_FILES, n),
        Node::Sys(level) => 48 + u64::from(level),
        // past /proc/net's numbers (64 + i reached them at 48 knobs)
        Node::SysFile(i) => 0x4000 + i as u64,
        Node::Net => 112,
        Node::NetFile(n) => 113 + idx(NET_FILES, n),
        Node::Ipc => 0x8000,
        Node::IpcFile(n) => 0x8001 + idx(IPC_FILES, n),
        Node::Proc(pid, tid) => per(pid, tid.unwrap_or(0), 0),
        Node::ProcFile(pid, tid, "oom_score") => per(pid, tid, 36),
        Node::ProcFile(pid, tid, "children") => per(pid, tid, 37),
        Node::ProcFile(pid, tid, n) => per(pid, tid, 1 + idx(PROC_FILES, n)),
        Node::ProcLink(pid, tid, n) => per(pid, tid, 24 + idx(PROC_LINKS, n)),
        Node::FdDir(pid, tid) => per(pid, tid, 32),
        Node::TaskDir(pid) => per(pid, 0, 33),
        Node::FdInfoDir(pid, tid) => per(pid, tid, 34),
        Node::NsDir(pid, tid) => per(pid, tid, 35),
        Node::Ns(pid, tid, n) => per(pid, tid, 40 + idx(proctext::NS_NAMES, n)),
        Node::NsRoot => 1,
        Node::NsFile(n) => proctext::ns_ino(n).unwrap_or(0),
        Node::Fd(pid, tid, fd) => (1 << 48) + (u64::from(pid) << 24) + (u64::from(tid) << 8) + u64::from(fd),
        Node::FdInfo(pid, tid, fd) => {
            (2 << 48) + (u64::from(pid) << 24) + (u64::from(tid) << 8) + u64::from(fd)
        }
    }
}

/// The process whose `/proc/<pid>` directory `file` is open on (not
/// `task/<tid>`), from its inode (the layout of [`ino_of`]):
/// pidfd_send_signal(2) takes these as pidfds (Linux's
/// `tgid_pidfd_to_pid`).
pub fn pid_dir_of(file: &dyn vfs::File) -> Option<Pid> {
    let inode = file.inode()?;
    if inode.dev() != vfs::makedev(0, 0x16) || inode.file_type() != FileType::Directory {
        return None;
    }
    let rest = inode.ino().checked_sub(0x1_0000)?;
    let pid = Pid::try_from(rest >> 24).ok()?;
    (rest & 0xff_ffff == 0 && pid != 0).then_some(pid)
}

fn kind_of(node: &Node) -> (FileType, u32) {
    match node {
        Node::Root
        | Node::Sys(_)
        | Node::Net
        | Node::Ipc
        | Node::Proc(..)
        | Node::TaskDir(_)
        | Node::NsRoot => (FileType::Directory, 0o555),
        // proc_fd_inode_operations: dr-x------
        Node::FdDir(..) => (FileType::Directory, 0o500),
        // DIR("fdinfo", S_IRUGO|S_IXUGO); proc_fdinfo_permission checks
        Node::FdInfoDir(..) => (FileType::Directory, 0o555),
        // DIR("ns", S_IRUSR|S_IXUGO)
        Node::NsDir(..) => (FileType::Directory, 0o511),
        Node::SelfLink | Node::ThreadSelf | Node::ProcLink(..) | Node::Fd(..) | Node::Ns(..) => {
            (FileType::Symlink, 0o777)
        }
        // proc_fdinfo_instantiate: S_IFREG | S_IRUGO; nsfs's the same
        Node::FdInfo(..) | Node::NsFile(_) => (FileType::Regular, 0o444),
        // proc_mem_operations: -rw-------
        Node::ProcFile(_, _, "mem") => (FileType::Regular, 0o600),
        Node::ProcFile(
            _,
            _,
            "oom_score_adj" | "uid_map" | "gid_map" | "setgroups" | "loginuid" | "timens_offsets",
        ) => (FileType::Regular, 0o644),
        // environ, auxv: -r--------
        Node::ProcFile(_, _, "environ" | "auxv") => (FileType::Regular, 0o400),
        // ONE("syscall", S_IRUSR, ...), ONE("io", S_IRUSR, ...),
        // REG("pagemap", S_IRUSR, ...)
        Node::ProcFile(_, _, "syscall" | "io" | "pagemap") => (FileType::Regular, 0o400),
        Node::SysFile(i) => (FileType::Regular, crate::sysctl::KNOBS[*i].mode()),
        Node::Global(_) | Node::NetFile(_) | Node::IpcFile(_) | Node::ProcFile(..) => {
            (FileType::Regular, 0o444)
        }
    }
}

fn entry(name: &[u8], node: Node) -> SynthEntry {
    SynthEntry::new(name.to_vec(), ino_of(&node), kind_of(&node).0)
}

fn exists(pid: Pid) -> bool {
    table().with_process(pid, |_| ()).is_some()
}

/// Whether thread `tid` belongs to process `pid`.
fn thread_of(pid: Pid, tid: Pid) -> bool {
    table().tgid(tid) == Some(pid)
}

fn parse_pid(name: &[u8]) -> Option<Pid> {
    if name.first() == Some(&b'0') {
        return None;
    }
    core::str::from_utf8(name).ok()?.parse().ok()
}

/// A thread of `pid` whose tables (fds, fs) stand for the process.
fn some_thread(pid: Pid) -> Option<Pid> {
    table().with_process(pid, |p| p.threads().first().copied()).flatten()
}

impl Node {
    /// fd `fd`'s entry of this `fd/` or `fdinfo/` directory (the link, or
    /// the fdinfo file).
    fn fd_entry(&self, fd: u32) -> Node {
        match *self {
            Node::FdInfoDir(pid, tid) => Node::FdInfo(pid, tid, fd),
            Node::FdDir(pid, tid) => Node::Fd(pid, tid, fd),
            other => other,
        }
    }

    /// The process whose files this node shows (`/proc/<pid>` and below).
    fn pid(&self) -> Option<Pid> {
        match *self {
            Node::Proc(pid, _)
            | Node::ProcFile(pid, ..)
            | Node::FdDir(pid, _)
            | Node::Fd(pid, ..)
            | Node::FdInfoDir(pid, _)
            | Node::FdInfo(pid, ..)
            | Node::NsDir(pid, _)
            | Node::Ns(pid, ..)
            | Node::TaskDir(pid) => Some(pid),
            Node::ProcLink(pid, ..) if pid != 0 => Some(pid),
            _ => None,
        }
    }

    /// `/proc/<pid>` for kernel pid `pid` (`proc_pid_lookup`): a
    /// process's directory, or for any thread's id that of
    /// `/proc/<tgid>/task/<tid>` (not listed; gdb reads
    /// /proc/<lwp>/status). `hidepid=4` hides what the caller may not
    /// ptrace; for `hidepid=2` Linux's look-up succeeds but stat
    /// (`pid_getattr`) and every walk or open below (`proc_pid_permission`)
    /// are `ENOENT`, which no look-up gives the same.
    fn pid_child(&self, m: &ProcMount, pid: Pid) -> Option<Node> {
        if m.hidepid >= HIDEPID_INVISIBLE && !m.may_see(pid, HIDEPID_INVISIBLE) {
            return None;
        }
        if exists(pid) {
            return Some(Node::Proc(pid, None));
        }
        let tgid = table().tgid(pid).filter(|&g| g != pid && exists(g))?;
        Some(Node::Proc(tgid, Some(pid)))
    }

    /// The child `name` of this directory node in mount `m`.
    fn child(&self, m: &ProcMount, name: &[u8]) -> Option<Node> {
        let find = |list: &[&'static str]| list.iter().copied().find(|n| n.as_bytes() == name);
        match *self {
            Node::Root => match name {
                b"self" => Some(Node::SelfLink),
                b"thread-self" => Some(Node::ThreadSelf),
                // subset=pid: proc_lookup() finds nothing else
                _ if m.pidonly => {
                    let pid = table().pid_of_nr(&m.ns, parse_pid(name)?)?;
                    self.pid_child(m, pid)
                }
                b"mounts" => Some(Node::ProcLink(0, 0, "mounts")),
                b"sys" => Some(Node::Sys(0)),
                b"net" => Some(Node::Net),
                b"sysvipc" => Some(Node::Ipc),
                _ => find(GLOBAL_FILES).map(Node::Global).or_else(|| {
                    // a number of the mount's PID namespace
                    let pid = table().pid_of_nr(&m.ns, parse_pid(name)?)?;
                    self.pid_child(m, pid)
                }),
            },
            Node::Sys(d) => {
                let dir = if d == 0 { "" } else { crate::sysctl::DIRS.get(usize::from(d) - 1).copied()? };
                crate::sysctl::subdirs(dir)
                    .find(|(_, n)| n.as_bytes() == name)
                    .map(|(i, _)| Node::Sys(i as u8 + 1))
                    .or_else(|| {
                        crate::sysctl::in_dir(dir)
                            .find(|(_, k)| k.name.as_bytes() == name)
                            .map(|(i, _)| Node::SysFile(i))
                    })
            }
            Node::Net => find(NET_FILES).map(Node::NetFile),
            Node::Ipc => find(IPC_FILES).map(Node::IpcFile),
            Node::Proc(pid, tid) => {
                if !exists(pid) {
                    return None;
                }
                let t = tid.unwrap_or(pid);
                match name {
                    b"fd" => Some(Node::FdDir(pid, t)),
                    b"fdinfo" => Some(Node::FdInfoDir(pid, t)),
                    b"ns" => Some(Node::NsDir(pid, t)),
                    b"task" if tid.is_none() => Some(Node::TaskDir(pid)),
                    b"children" if tid.is_some() => Some(Node::ProcFile(pid, t, "children")),
                    _ => find(PROC_FILES)
                        .map(|n| Node::ProcFile(pid, t, n))
                        .or_else(|| find(PROC_LINKS).map(|n| Node::ProcLink(pid, t, n))),
                }
            }
            Node::TaskDir(pid) => {
                let tid = table().pid_of_nr(&m.ns, parse_pid(name)?)?;
                thread_of(pid, tid).then_some(Node::Proc(pid, Some(tid)))
            }
            Node::FdDir(pid, tid) | Node::FdInfoDir(pid, tid) => {
                let fd: u32 = core::str::from_utf8(name).ok()?.parse().ok()?;
                fds(pid, tid).contains(&fd).then(|| self.fd_entry(fd))
            }
            Node::NsDir(pid, tid) => proctext::NS_NAMES
                .iter()
                .copied()
                .find(|n| n.as_bytes() == name)
                .map(|n| Node::Ns(pid, tid, n)),
            Node::NsRoot => {
                proctext::NS_NAMES.iter().copied().find(|n| n.as_bytes() == name).map(Node::NsFile)
            }
            _ => None,
        }
    }

    fn list(&self, m: &ProcMount) -> Vec<SynthEntry> {
        match *self {
            Node::Root => {
                let mut v: Vec<SynthEntry> = Vec::new();
                if !m.pidonly {
                    v.extend(GLOBAL_FILES.iter().map(|n| entry(n.as_bytes(), Node::Global(n))));
                    v.push(entry(b"mounts", Node::ProcLink(0, 0, "mounts")));
                }
                v.push(entry(b"self", Node::SelfLink));
                v.push(entry(b"thread-self", Node::ThreadSelf));
                if !m.pidonly {
                    v.push(entry(b"sys", Node::Sys(0)));
                    v.push(entry(b"net", Node::Net));
                    v.push(entry(b"sysvipc", Node::Ipc));
                }
                // the processes of the mount's PID namespace, by its
                // numbers; proc_pid_readdir() leaves out those hidepid=2
                // and 4 hide
                for pid in table().pids() {
                    let nr = table().pid_in(pid, &m.ns);
                    if nr != 0 && m.may_see(pid, HIDEPID_INVISIBLE) {
                        v.push(entry(format!("{nr}").as_bytes(), Node::Proc(pid, None)));
                    }
                }
                v
            }
            Node::Sys(d) => {
                let dir = if d == 0 {
                    ""
                } else {
                    crate::sysctl::DIRS.get(usize::from(d) - 1).copied().unwrap_or("-")
                };
                let mut v: Vec<SynthEntry> = crate::sysctl::in_dir(dir)
                    .map(|(i, k)| entry(k.name.as_bytes(), Node::SysFile(i)))
                    .collect();
                v.extend(
                    crate::sysctl::subdirs(dir).map(|(i, n)| entry(n.as_bytes(), Node::Sys(i as u8 + 1))),
                );
                v
            }
            Node::Net => NET_FILES.iter().map(|n| entry(n.as_bytes(), Node::NetFile(n))).collect(),
            Node::Ipc => IPC_FILES.iter().map(|n| entry(n.as_bytes(), Node::IpcFile(n))).collect(),
            Node::Proc(pid, tid) => {
                let t = tid.unwrap_or(pid);
                let mut v: Vec<SynthEntry> =
                    PROC_FILES.iter().map(|n| entry(n.as_bytes(), Node::ProcFile(pid, t, n))).collect();
                v.extend(PROC_LINKS.iter().map(|n| entry(n.as_bytes(), Node::ProcLink(pid, t, n))));
                v.push(entry(b"fd", Node::FdDir(pid, t)));
                v.push(entry(b"fdinfo", Node::FdInfoDir(pid, t)));
                v.push(entry(b"ns", Node::NsDir(pid, t)));
                if tid.is_none() {
                    v.push(entry(b"task", Node::TaskDir(pid)));
                } else {
                    v.push(entry(b"children", Node::ProcFile(pid, t, "children")));
                }
                v
            }
            Node::TaskDir(pid) => table()
                .with_process(pid, |p| p.threads().to_vec())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|tid| {
                    let nr = table().pid_in(tid, &m.ns);
                    (nr != 0).then(|| entry(format!("{nr}").as_bytes(), Node::Proc(pid, Some(tid))))
                })
                .collect(),
            // fd N at position N + 2, as Linux's proc_readfd: a reader that
            // closes fds as it lists them (CPython's subprocess) sees each
            Node::FdDir(pid, tid) | Node::FdInfoDir(pid, tid) => {
                let mut v: Vec<SynthEntry> = fds(pid, tid)
                    .into_iter()
                    .map(|fd| entry(format!("{fd}").as_bytes(), self.fd_entry(fd)).at(u64::from(fd)))
                    .collect();
                v.sort_by_key(|e| e.pos);
                v
            }
            Node::NsDir(pid, tid) => {
                proctext::NS_NAMES.iter().map(|n| entry(n.as_bytes(), Node::Ns(pid, tid, n))).collect()
            }
            _ => Vec::new(),
        }
    }
}

impl SynthNode for ProcNode {
    fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> Result<Option<Arc<Inode>>> {
        // proc_fd_permission(): searching fd/ needs the directory's x bit
        // (0500, the owner's) or to be that process; fdinfo/'s
        // proc_fdinfo_permission() asks ptrace_may_access the same way
        if let Node::FdDir(pid, _) | Node::FdInfoDir(pid, _) = self.n {
            may_access(pid)?;
        }
        // proc_pid_permission(): searching /proc/<pid>, task/ and
        // task/<tid> under hidepid=
        if let Node::Proc(pid, _) | Node::TaskDir(pid) = self.n {
            self.m.pid_permission(pid)?;
        }
        Ok(self.n.child(&self.m, name).map(|n| {
            let (ty, mut perm) = kind_of(&n);
            if let Node::Fd(pid, tid, fd) = n {
                perm = fd_link_mode(pid, tid, fd);
            }
            let node = ProcNode { m: Arc::clone(&self.m), n };
            let inode = Inode::new_synth(dir, name, ty, perm, ino_of(&n), Arc::new(node));
            // a user namespace's own limits: writable by its root
            if let Node::SysFile(i) = n
                && let Some((uid, gid)) = crate::sysctl::user_knob_owner(i)
            {
                inode.set_synth_owner(uid, gid);
            }
            if let Some(pid) = n.pid() {
                let (mut uid, mut gid) = dump_owner(pid, ty == FileType::Directory && perm == 0o555);
                // proc_fd_permission(): a process may always search its own
                // fd/ (non-dumpable after a change of ids included); here
                // its fd/ is its own
                if matches!(n, Node::FdDir(..) | Node::FdInfoDir(..)) && caller().0 == pid {
                    (uid, gid) = dump_owner(pid, true);
                }
                inode.set_synth_owner(uid, gid);
            }
            inode
        }))
    }

    fn entries(&self, _dir: &Arc<Inode>) -> Vec<SynthEntry> {
        self.n.list(&self.m)
    }

    fn content(&self) -> Result<Vec<u8>> {
        match self.n {
            Node::Global(n) => Ok(global_file(n, &self.m.ns)),
            Node::SysFile(i) => Ok(crate::sysctl::KNOBS[i].read()),
            Node::NetFile(n) => net_file(n),
            Node::IpcFile(n) => Ok(ipc_file(n)),
            Node::ProcFile(pid, tid, n) => {
                if matches!(n, "maps" | "auxv") {
                    may_access(pid)?;
                }
                if n == "syscall" {
                    return syscall_file(pid, tid);
                }
                if n == "io" {
                    return io_file(pid, tid);
                }
                process_file(pid, tid, n, &self.m.ns)
            }
            Node::FdInfo(pid, tid, fd) => fdinfo(pid, tid, fd),
            _ => Err(Errno::EINVAL),
        }
    }

    /// /proc/sys and its files, and /proc's own files, are the same
    /// things for the mount's life: one inode while anything holds it (a
    /// mount on it: systemd binds /proc/sys files read-only onto
    /// themselves and /dev/null onto /proc/kmsg)
    fn stays(&self) -> bool {
        matches!(self.n, Node::Sys(_) | Node::SysFile(_) | Node::Global(_))
    }

    fn may_open(&self) -> Result<()> {
        match self.n {
            // proc_pid_permission(): opening /proc/<pid> (or task/<tid>)
            // under hidepid=
            Node::Proc(pid, _) | Node::TaskDir(pid) => self.m.pid_permission(pid),
            // proc_maps_open() -> proc_mem_open() -> mm_access(); environ_open()
            // and proc_pid_auxv() the same (PTRACE_MODE_READ_FSCREDS)
            // pagemap_open(): proc_mem_open(PTRACE_MODE_READ)
            Node::ProcFile(pid, _, "maps" | "environ" | "auxv" | "pagemap") => may_access(pid),
            // mem_open(): mm_access(PTRACE_MODE_ATTACH_FSCREDS), YAMA included
            Node::ProcFile(pid, _, "mem") => {
                let (_, tid) = caller();
                table()
                    .ptrace_may_access(tid, pid, process::ptrace::CredMode::Fs)
                    .map_err(|e| if e == Errno::EPERM { Errno::EACCES } else { e })
            }
            _ => Ok(()),
        }
    }

    fn open_file(&self, flags: u32) -> Result<Option<Arc<dyn SynthNode>>> {
        // user.max_*_namespaces: the opener's user namespace's limits
        if let Node::SysFile(i) = self.n
            && let Some(f) = crate::sysctl::NsMaxFile::open(i)
        {
            return Ok(Some(Arc::new(f)));
        }
        if let Node::ProcFile(pid, _, "mounts" | "mountinfo") = self.n {
            // mounts_open_common(): the namespace's event as of the open
            let ns = table().with_process(pid, |p| crate::fs::ns_id(&p.ns().mnt)).ok_or(Errno::ENOENT)?;
            let seen = AtomicU64::new(crate::fs::mount_event(ns));
            return Ok(Some(Arc::new(MountsFile {
                node: ProcNode { m: self.m.clone(), n: self.n },
                ns,
                seen,
            })));
        }
        if let Node::ProcFile(pid, _, "timens_offsets") = self.n {
            // the opener's credentials (file->f_cred: file_ns_capable)
            let opener =
                table().with_process(caller().0, |p| p.creds().without_groups()).ok_or(Errno::ESRCH)?;
            return Ok(Some(Arc::new(TimensFile { pid, opener })));
        }
        let Node::ProcFile(pid, _, name @ ("uid_map" | "gid_map" | "setgroups")) = self.n else {
            return Ok(None);
        };
        // proc_id_map_open, proc_setgroups_open: the namespace as of now,
        // and the opener's credentials (file->f_cred)
        let gone = if name == "setgroups" { Errno::ESRCH } else { Errno::EINVAL };
        let ns = table().with_process(pid, |p| p.creds().user_ns.clone()).ok_or(gone)?;
        let opener = table().with_process(caller().0, |p| p.creds().without_groups()).ok_or(Errno::ESRCH)?;
        if name == "setgroups" {
            ns.open_setgroups(&opener, flags & vfs::O_ACCMODE != vfs::O_RDONLY)?;
        }
        Ok(Some(Arc::new(UserNsFile { ns, opener, name })))
    }

    fn read_direct(&self, offset: u64, buf: &mut [u8]) -> Option<Result<usize>> {
        if let Node::SysFile(i) = self.n {
            return crate::sysctl::KNOBS[i].read_at(offset, buf).map(Ok);
        }
        if let Node::ProcFile(pid, _, "environ") = self.n {
            return Some(environ_read(pid, offset, buf));
        }
        if let Node::ProcFile(pid, _, "cmdline") = self.n {
            return Some(cmdline_read(pid, offset, buf));
        }
        if let Node::ProcFile(pid, _, "pagemap") = self.n {
            return Some(pagemap_read(pid, offset, buf));
        }
        let Node::ProcFile(pid, _, "mem") = self.n else { return None };
        Some(mem_rw(pid, offset, |vm, at, chunk: &mut [u8]| vm.read_user(at, chunk), buf))
    }

    fn write_direct(&self, offset: u64, data: &[u8]) -> Option<Result<usize>> {
        if let Node::ProcFile(pid, _, "oom_score_adj") = self.n {
            return Some(write_oom_score_adj(pid, data));
        }
        if let Node::ProcFile(_, tid, "loginuid") = self.n {
            return Some(write_loginuid(tid, offset, data));
        }
        if let Node::SysFile(i) = self.n {
            return Some(crate::sysctl::KNOBS[i].write(offset, data));
        }
        let Node::ProcFile(pid, _, "mem") = self.n else { return None };
        let mut copy = Vec::new();
        if copy.try_reserve(data.len().min(1 << 20)).is_err() {
            return Some(Err(Errno::ENOMEM));
        }
        copy.extend_from_slice(&data[..data.len().min(1 << 20)]);
        Some(mem_rw(pid, offset, |vm, at, chunk: &mut [u8]| vm.write_user_force(at, chunk), &mut copy))
    }

    fn has_poll(&self) -> bool {
        // Linux: proc_reg_poll for /proc's own files, proc_sys_poll for
        // /proc/sys, mounts_poll; the rest of base.c's files have none
        matches!(
            &self.n,
            Node::Global(_)
                | Node::SysFile(_)
                | Node::NetFile(_)
                | Node::ProcFile(_, _, "mounts" | "mountinfo")
        )
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        let (me, my_tid) = caller();
        match self.n {
            // proc_self_get_link(): the caller's number in the mount's
            // namespace, ENOENT outside it
            Node::SelfLink => match table().pid_in(me, &self.m.ns) {
                0 => Err(Errno::ENOENT),
                nr => Ok(format!("{nr}").into_bytes()),
            },
            Node::ThreadSelf => match (table().pid_in(me, &self.m.ns), table().pid_in(my_tid, &self.m.ns)) {
                (0, _) | (_, 0) => Err(Errno::ENOENT),
                (p, t) => Ok(format!("{p}/task/{t}").into_bytes()),
            },
            Node::ProcLink(0, _, "mounts") => Ok(b"self/mounts".to_vec()),
            Node::ProcLink(pid, tid, n) => {
                may_access(pid)?;
                process_link(pid, tid, n)
            }
            Node::Fd(pid, tid, fd) => {
                may_access(pid)?;
                fd_link(pid, tid, fd)
            }
            // proc_ns_readlink(): ptrace_may_access(PTRACE_MODE_READ_FSCREDS)
            Node::Ns(pid, _, n) => {
                may_access(pid)?;
                let obj = NsObj::of(pid, n).ok_or(Errno::ENOENT)?;
                Ok(format!("{}:[{}]", obj.kind(), obj.ino()).into_bytes())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn magic(&self) -> Option<Result<vfs::Magic>> {
        match self.n {
            Node::Fd(pid, tid, fd) => Some(may_access(pid).and_then(|()| fd_magic(pid, tid, fd))),
            Node::Ns(pid, _, n) => Some(
                may_access(pid)
                    .and_then(|()| NsObj::of(pid, n).ok_or(Errno::ENOENT))
                    .map(|o| vfs::Magic::Inode(ns_inode(o))),
            ),
            Node::ProcLink(pid, tid, n @ ("cwd" | "root" | "exe")) if pid != 0 => {
                Some(may_access(pid).and_then(|()| link_magic(pid, tid, n)))
            }
            _ => None,
        }
    }
}

/// A file of /proc/net (`crate::net::procnet`).
/// The reader's network namespace, as Linux's /proc/net (a link to
/// /proc/self/net).
fn net_file(name: &str) -> Result<Vec<u8>> {
    use crate::net::procnet;
    let ns = crate::net::inet::NetRef::current()?;
    match name {
        "dev" => Ok(crate::nic::proc_net_dev(ns.is_initial()).into_bytes()),
        "unix" => procnet::unix_table(&ns),
        "route" => procnet::route_table(&ns),
        "if_inet6" => procnet::if_inet6(&ns),
        "sockstat" => procnet::sockstat(&ns, false),
        "sockstat6" => procnet::sockstat(&ns, true),
        "snmp" => procnet::snmp(&ns),
        "snmp6" => procnet::snmp6(),
        "netstat" => procnet::netstat(),
        "arp" => procnet::arp(),
        n => procnet::inet_table(&ns, n),
    }
}

/// mem_rw(): /proc/<pid>/mem at `offset` (an address) page by page with
/// FOLL_FORCE; the bytes done before the first fault, `EIO` when the first
/// page faults, 0 for a process without an address space.
fn mem_rw(
    pid: Pid,
    offset: u64,
    op: impl Fn(&mut crate::proc::Vm, usize, &mut [u8]) -> Result<()>,
    buf: &mut [u8],
) -> Result<usize> {
    let Some(vm) = table().with_process(pid, |p| p.vm().cloned()).flatten() else { return Ok(0) };
    let mut done = 0;
    while done < buf.len() {
        let at = offset.checked_add(done as u64).ok_or(Errno::EIO)? as usize;
        let n = (4096 - at % 4096).min(buf.len() - done);
        if op(&mut vm.lock(), at, &mut buf[done..done + n]).is_err() {
            break;
        }
        done += n;
    }
    if done == 0 && !buf.is_empty() { Err(Errno::EIO) } else { Ok(done) }
}

/// Linux's `PAGEMAP_WALK_SIZE` (a 2 MiB page table's pages): the entries
/// made under one hold of the address space's lock.
const PAGEMAP_BATCH: usize = 512;

/// pagemap_read(): the 8-byte entries ([`vm::Vmar::pagemap`]) of the
/// pages from virtual page `offset / 8` up to `TASK_SIZE`, `EINVAL` for an
/// offset or a count that is no multiple of 8, 0 for a process without an
/// address space; the frame numbers only for a reader with
/// `CAP_SYS_ADMIN` in the initial user namespace (Linux asks the
/// opener's credentials, here the reader's). The walk holds the lock for
/// [`PAGEMAP_BATCH`] pages at a time.
fn pagemap_read(pid: Pid, offset: u64, buf: &mut [u8]) -> Result<usize> {
    const TASK_SIZE: u64 = 0x7fff_ffff_f000;
    let Some(vm) = table().with_process(pid, |p| p.vm().cloned()).flatten() else { return Ok(0) };
    if !offset.is_multiple_of(8) || !buf.len().is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let show_pfn = table()
        .with_process(caller().0, |p| p.creds().ns_capable(&process::ns::UserNsRef::INITIAL, 21))
        .unwrap_or(false);
    let mut page = (offset / 8).min(TASK_SIZE >> 12);
    let mut entries = [0u64; PAGEMAP_BATCH];
    let mut done = 0;
    while done < buf.len() && page < TASK_SIZE >> 12 {
        let n = ((buf.len() - done) / 8).min(PAGEMAP_BATCH).min(((TASK_SIZE >> 12) - page) as usize);
        vm.lock().pagemap((page << 12) as usize, &mut entries[..n], show_pfn);
        for (d, e) in buf[done..done + n * 8].chunks_exact_mut(8).zip(&entries[..n]) {
            d.copy_from_slice(&e.to_le_bytes());
        }
        done += n * 8;
        page += n as u64;
        crate::sched::cond_resched();
    }
    Ok(done)
}

/// Reads `buf.len()` bytes at `addr` of `vm` as access_remote_vm(...,
/// FOLL_ANON) does: page by page, stopping at the first page that faults
/// or that is not private anonymous memory (the stack, the heap; a
/// file's mapping is refused); the bytes read.
fn read_remote(vm: &process::seams::SharedVm<crate::proc::Kernel>, addr: usize, buf: &mut [u8]) -> usize {
    let mut done = 0;
    while done < buf.len() {
        let Some(a) = addr.checked_add(done) else { break };
        let n = (4096 - a % 4096).min(buf.len() - done);
        let mut g = vm.lock();
        let anon = g.mapping_at(a).is_some_and(|m| m.kind == vm::MappingKind::PrivateAnonymous);
        if !anon || g.read_user(a, &mut buf[done..done + n]).is_err() {
            break;
        }
        drop(g);
        done += n;
    }
    done
}

/// The layout and address space of process `pid` for a read of its
/// memory: `ESRCH` once it is gone, `None` without an address space.
fn layout_and_vm(pid: Pid) -> Result<Option<(MmLayout, process::seams::SharedVm<crate::proc::Kernel>)>> {
    let mm = info(pid, |i| i.mm).ok_or(Errno::ESRCH)?;
    Ok(table().with_process(pid, |p| p.vm().cloned()).flatten().map(|vm| (mm, vm)))
}

/// environ_read(): the bytes of `env_start..env_end` of process `pid`
/// from `offset` on, read from its memory as it is now (a page that
/// faults ends the read; nothing read then is 0, as access_remote_vm);
/// 0 for a process without an address space.
fn environ_read(pid: Pid, offset: u64, buf: &mut [u8]) -> Result<usize> {
    let Some((mm, vm)) = layout_and_vm(pid).unwrap_or(None) else { return Ok(0) };
    let (start, end) = mm.env;
    let Some(at) = usize::try_from(offset).ok().and_then(|o| start.checked_add(o)).filter(|a| *a < end)
    else {
        return Ok(0);
    };
    let want = buf.len().min(end - at);
    Ok(read_remote(&vm, at, &mut buf[..want]))
}

/// proc_pid_cmdline_read() / get_mm_cmdline(): the bytes of
/// `arg_start..arg_end` of process `pid` from `offset` on, read from its
/// memory as it is now. When the last byte of the argument area is not
/// NUL, the program rewrote its arguments (setproctitle): then the
/// string at `arg_start`, up to its first NUL (included) within one page,
/// as long as the arguments and an environment right after them reach
/// (get_mm_proctitle). 0 for a process without an address space or
/// before execve gave it one (`env_end` 0).
fn cmdline_read(pid: Pid, offset: u64, buf: &mut [u8]) -> Result<usize> {
    let Some((mm, vm)) = layout_and_vm(pid)? else { return Ok(0) };
    let ((arg_start, arg_end), (env_start, env_end)) = (mm.arg, mm.env);
    if env_end == 0 || arg_start >= arg_end {
        return Ok(0);
    }
    // setproctitle() may overflow past the arguments, but only into an
    // environment that follows them
    let env_end = if env_start != arg_end || env_end < env_start { arg_end } else { env_end };
    let len = env_end - arg_start;
    let Ok(pos) = usize::try_from(offset) else { return Ok(0) };
    if pos >= len {
        return Ok(0);
    }
    let count = buf.len().min(len - pos);
    if count == 0 {
        return Ok(0);
    }
    let mut last = [0u8; 1];
    if read_remote(&vm, arg_end - 1, &mut last) == 1 && last[0] != 0 {
        // get_mm_proctitle(): one page from arg_start, up to its NUL
        if pos >= 4096 {
            return Ok(0);
        }
        let mut page = Vec::new();
        page.try_reserve_exact(4096).map_err(|_| Errno::ENOMEM)?;
        page.resize(4096, 0);
        let got = read_remote(&vm, arg_start, &mut page);
        if got == 0 {
            return Ok(0);
        }
        let mut n = page[..got].iter().position(|&b| b == 0).unwrap_or(got);
        if n < got {
            n += 1;
        }
        if n <= pos {
            return Ok(0);
        }
        let n = (n - pos).min(count);
        buf[..n].copy_from_slice(&page[pos..pos + n]);
        return Ok(n);
    }
    // otherwise strictly within arg_start..arg_end
    let at = arg_start + pos;
    if at >= arg_end {
        return Ok(0);
    }
    let count = count.min(arg_end - at);
    Ok(read_remote(&vm, at, &mut buf[..count]))
}

/// Linux's `ptrace_may_access(PTRACE_MODE_READ_FSCREDS)` of the caller
/// on process `pid`, which maps, fd/ and the exe, cwd and root links need:
/// `EACCES` (procfs turns ptrace's `EPERM` into it) for another user's or
/// a non-dumpable process without `CAP_SYS_PTRACE`.
fn may_access(pid: Pid) -> Result<()> {
    let (me, _) = caller();
    if me == pid {
        return Ok(());
    }
    let mine = table().with_process(me, |p| p.creds().clone()).ok_or(Errno::ESRCH)?;
    let (theirs, dumpable) =
        table().with_process(pid, |p| (p.creds().clone(), p.dumpable() == 1)).ok_or(Errno::ENOENT)?;
    if mine.may_read_process(&theirs, dumpable, false) { Ok(()) } else { Err(Errno::EACCES) }
}

/// /proc/<pid>/syscall (`proc_pid_syscall()`): `lock_trace()` needs
/// `ptrace_may_access(PTRACE_MODE_ATTACH_FSCREDS)` (`EPERM` at read), then
/// what thread `tid` is doing: the reader itself is in its read(2), another
/// thread on the CPU or runnable is `running`, one asleep shows how it
/// entered the kernel (in a trace stop: the registers the tracer sees), a
/// thread with no task left `-1 0x0 0x0`.
fn syscall_file(pid: Pid, tid: Pid) -> Result<Vec<u8>> {
    use process::ptrace::SyscallState;
    let (_, me) = caller();
    table().ptrace_may_access(me, pid, process::ptrace::CredMode::Fs)?;
    let nothing = SyscallState::Blocked { nr: -1, args: [0; 6], sp: 0, pc: 0 };
    let task = crate::proc::task_of(tid);
    if let Some(k) = &task
        && tid != me
    {
        settle_group_stop(pid, k);
    }
    // a thread the tracer sees in a trace stop is stopped, even while it
    // is still on its way to the stop's sleep on another CPU (Linux sets
    // TASK_TRACED before the tracer hears)
    let listening = table().with_trace(pid, |l| l.listening == Some(tid)).unwrap_or(false);
    let trapped =
        table().with_thread_trace(tid, |l| (l.stopped || listening).then_some(l.syscall_nr)).flatten();
    let state = match task {
        None => nothing,
        Some(k) if tid != me && trapped.is_none() && k.is_runnable() => SyscallState::Running,
        Some(k) => {
            let regs = |th: &process::table::Thread<crate::proc::Kernel>| {
                (th.context().syscall_args(), th.context().regs.rsp, th.context().regs.rip)
            };
            let (nr, args, sp, pc) =
                match trapped.and_then(|nr| table().with_thread(tid, |th| (nr, regs(th)))) {
                    Some((nr, (args, sp, pc))) => (nr, args, sp, pc),
                    None => k.entry.get(),
                };
            SyscallState::Blocked { nr: nr as i32, args, sp, pc }
        }
    };
    Ok(process::ptrace::proc_syscall_text(&state).into_bytes())
}

/// `/proc/<pid>/io` and `/proc/<pid>/task/<tid>/io` (`do_io_accounting`):
/// `ptrace_may_access(PTRACE_MODE_READ_FSCREDS)` at the read (`EACCES`),
/// then the thread's counters, or for the whole process its live
/// threads', its exited threads' and its reaped children's.
fn io_file(pid: Pid, tid: Pid) -> Result<Vec<u8>> {
    may_access(pid)?;
    let io = if tid != pid {
        table().thread_cpu(tid).map(|c| c.usage().io).ok_or(Errno::ESRCH)?
    } else {
        let mut io = table().usage(pid).ok_or(Errno::ESRCH)?.io;
        let kids = table().with_process(pid, |p| p.children_usage().io).ok_or(Errno::ESRCH)?;
        io.accumulate(&kids);
        io
    };
    Ok(io.proc_text().into_bytes())
}

/// Linux stops a thread (TASK_STOPPED) before its parent hears of the
/// group stop, and `task_current_syscall()` waits for it to be off its CPU
/// (wait_task_inactive): a thread of a stopped process that is still on
/// its way to its stop sleep, on another CPU, is waited for (yielding, 20
/// ms at most) so the reader sees it stopped, not `running`.
fn settle_group_stop(pid: Pid, k: &crate::sched::Task) {
    let stopped = || {
        table().with_process(pid, |p| matches!(p.state(), process::table::ProcState::Stopped(_)))
            == Some(true)
    };
    let start = arch_x86_64::time::since_boot_ns();
    while k.is_runnable()
        && stopped()
        && arch_x86_64::time::since_boot_ns().saturating_sub(start) < 20_000_000
    {
        crate::sched::yield_now();
    }
}

/// Linux's `task_dump_owner()`: the files of /proc/<pid> belong to the
/// process's effective uid and gid, or to root when it is not dumpable,
/// except the world-readable directories (`dr-xr-xr-x`: `<pid>`, `task`),
/// which always show the effective ids.
fn dump_owner(pid: Pid, public_dir: bool) -> (u32, u32) {
    table()
        .with_process(pid, |p| {
            if p.dumpable() == 1 || public_dir { (p.creds().euid, p.creds().egid) } else { (0, 0) }
        })
        .unwrap_or((0, 0))
}

/// What /proc/<pid>/fd/N leads to: the file's inode (a name it may have
/// lost included), or the open file itself when it has none (a pipe).
fn fd_magic(pid: Pid, tid: Pid, fd: u32) -> Result<vfs::Magic> {
    let tid = if thread_of(pid, tid) { tid } else { some_thread(pid).ok_or(Errno::ENOENT)? };
    let files =
        table().with_thread(tid, |th| th.files().map(|f| f.share())).flatten().ok_or(Errno::ENOENT)?;
    let file = files.lock().get(fd).map_err(|_| Errno::ENOENT)?;
    Ok(match file.inode() {
        Some(i) => vfs::Magic::Path(vfs::Path::new(i.clone(), file.mount().cloned())),
        None => vfs::Magic::File(file),
    })
}

/// The mode of the link /proc/<pid>/fd/<fd> (tid_fd_update_inode): r-x
/// for the owner when the file is open for reading, -wx for writing,
/// rwx for both, none for an O_PATH file.
fn fd_link_mode(pid: Pid, tid: Pid, fd: u32) -> u32 {
    let tid = if thread_of(pid, tid) { tid } else { some_thread(pid).unwrap_or(pid) };
    let Some(files) = table().with_thread(tid, |th| th.files().map(|f| f.share())).flatten() else {
        return 0o700;
    };
    let Ok(file) = files.lock().get(fd) else { return 0o700 };
    let flags = file.status_flags();
    if flags & vfs::O_PATH != 0 {
        return 0;
    }
    match flags & vfs::O_ACCMODE {
        vfs::O_RDONLY => 0o500,
        vfs::O_WRONLY => 0o300,
        _ => 0o700,
    }
}

/// The root directory of the process `pid` (one of its threads'): what
/// its /proc/PID/mounts and mountinfo are seen from.
/// The root of process `pid` with the mount it is seen through.
fn process_root_path(pid: Pid) -> Option<vfs::Path> {
    let tid = some_thread(pid)?;
    let fs = table().with_thread(tid, |th| th.fs().map(|f| f.share())).flatten()?;
    let root = fs.lock().root().clone();
    Some(root)
}

/// What /proc/<pid>/{cwd,root,exe} lead to.
fn link_magic(pid: Pid, tid: Pid, name: &str) -> Result<vfs::Magic> {
    if name == "exe" {
        let inode = info(pid, |i| i.exe_inode.clone()).flatten().ok_or(Errno::ENOENT)?;
        return Ok(vfs::Magic::Inode(inode));
    }
    let tid = if thread_of(pid, tid) { tid } else { some_thread(pid).ok_or(Errno::ENOENT)? };
    let fs = table().with_thread(tid, |th| th.fs().map(|f| f.share())).flatten().ok_or(Errno::ENOENT)?;
    let f = fs.lock();
    Ok(vfs::Magic::Path(if name == "root" { f.root().clone() } else { f.cwd().clone() }))
}

fn meminfo() -> String {
    let (free, usable) = arch_x86_64::mem::frames::stats();
    let mut out = proctext::meminfo(usable, free, arch_x86_64::mem::heap::slab_bytes());
    out.push_str(&proctext::meminfo_commit(
        crate::sysctl::commit_limit_kb(usable * 4),
        committed_bytes() / 1024,
    ));
    out
}

/// Linux's `vm_committed_as`, counted at the read: the private writable
/// mappings of every process (each address space once, under its own
/// lock).
fn committed_bytes() -> u64 {
    let mut vms: Vec<_> = table()
        .pids()
        .into_iter()
        .filter_map(|pid| table().with_process(pid, |p| p.vm().cloned()).flatten())
        .collect();
    vms.sort_by_key(|vm| Arc::as_ptr(vm) as usize);
    vms.dedup_by(|a, b| Arc::ptr_eq(a, b));
    let mut total = 0u64;
    for vm in &vms {
        let g = vm.lock();
        total += g
            .mappings()
            .filter(|m| m.prot.contains(vm::Prot::WRITE) && !m.shared)
            .map(|m| (m.end - m.start) as u64)
            .sum::<u64>();
    }
    // the address spaces go after every lock
    drop(vms);
    total
}

/// A file of /proc/sysvipc: the reader's IPC namespace's objects, the
/// ids as the reader's user namespace sees them.
fn ipc_file(name: &str) -> Vec<u8> {
    let (reader, ipc) = table()
        .with_process(caller().0, |p| (p.creds().user_ns.clone(), p.ns().ipc.clone()))
        .unwrap_or_else(|| (Default::default(), process::ns::IpcNs::initial()));
    match name {
        "shm" => crate::syscall::shm::proc_sysvipc_shm(&reader, &ipc).into_bytes(),
        "msg" => crate::syscall::sysv::proc_sysvipc_msg(&reader, &ipc, caller().0).into_bytes(),
        _ => crate::syscall::sysv::proc_sysvipc_sem(&reader, &ipc).into_bytes(),
    }
}

fn global_file(name: &str, pid_ns: &process::ns::PidNsRef) -> Vec<u8> {
    let ns = arch_x86_64::time::since_boot_ns();
    let t = ns / 10_000_000;
    match name {
        "cmdline" => alloc::format!("{}\n", CMDLINE.get().map_or("", |s| s.as_str())).into_bytes(),
        "meminfo" => meminfo().into_bytes(),
        "vmstat" => {
            let (free, _) = arch_x86_64::mem::frames::stats();
            let slab = arch_x86_64::mem::heap::slab_bytes() / 4096;
            proctext::vmstat(&[
                ("nr_free_pages", free),
                ("nr_slab_unreclaimable", slab),
                ("pgfault", PGFAULT.load(Ordering::Relaxed)),
            ])
            .into_bytes()
        }
        "locks" => crate::locks::proc_locks(pid_ns),
        "uptime" => {
            // the reader's time namespace's boottime offset
            // (timens_add_boottime); the idle time is not shifted
            let off = table().with_process(caller().0, |p| p.ns().time.clone()).map(|n| n.offsets());
            let up = off.map_or(ns, |o| o.apply(process::timens::CLOCK_BOOTTIME, ns));
            proctext::uptime_idle(up / 10_000_000, t).into_bytes()
        }
        "loadavg" => {
            let pids = table().pids();
            let last = pids.last().copied().unwrap_or(1);
            let running = crate::sched::nr_running();
            proctext::loadavg(crate::loadavg::fixed(), running, table().thread_count(), last).into_bytes()
        }
        "stat" => {
            // per CPU since boot, in USER_HZ ticks; idle is the time the
            // CPU spent halted in its idle loop
            let cpus: Vec<(u64, u64, u64)> = (0..crate::sched::nr_cpus())
                .map(|c| {
                    let (user_ns, sys_ns) = crate::sched::cpu_times(c);
                    let idle = crate::sched::cpu_idle(c) / 10_000_000;
                    (user_ns / 10_000_000, sys_ns / 10_000_000, idle)
                })
                .collect();
            let boot = crate::time::realtime_ns().saturating_sub(ns) / 1_000_000_000;
            let last = table().pids().last().copied().unwrap_or(1);
            // interrupts: the timer's, the ones counted per CPU
            let intr = (0..crate::sched::nr_cpus()).map(arch_x86_64::apic::timer_irqs).sum();
            let counts = (intr, crate::sched::nr_switches());
            proctext::cpu_stat(&cpus, counts, boot, last, crate::sched::nr_running()).into_bytes()
        }
        "cpuinfo" => {
            // one entry per CPU that runs tasks, as Linux's show_cpuinfo
            let n = crate::sched::nr_cpus();
            let mut extra = alloc::string::String::new();
            for f in arch_x86_64::cpu::cpuinfo_flags_extra() {
                extra.push(' ');
                extra.push_str(f);
            }
            let mut out = alloc::string::String::new();
            for c in 0..n {
                let apic = arch_x86_64::smp::apic_id_of(c).unwrap_or(c as u32);
                out.push_str(&alloc::format!(
                    "processor\t: {c}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel name\t: QEMU TCG CPU\n\
                     cpu MHz\t\t: 1000.000\nphysical id\t: 0\nsiblings\t: {n}\ncore id\t\t: {c}\ncpu cores\t: {n}\n\
                     apicid\t\t: {apic}\nflags\t\t: fpu tsc msr pae cx8 apic sep pge cmov fxsr sse sse2 syscall nx lm{extra}\n\n"
                ));
            }
            out.into_bytes()
        }
        "version" => b"Linux version 6.1.0 (rust-kernel) #1 SMP PREEMPT_DYNAMIC\n".to_vec(),
        "filesystems" => {
            b"nodev\tsysfs\nnodev\ttmpfs\nnodev\tramfs\nnodev\tproc\nnodev\tcgroup2\nnodev\tdevtmpfs\nnodev\tmqueue\n"
                .to_vec()
        }
        _ => Vec::new(),
    }
}

/// The open fds of the process `pid` (through its thread `tid`).
fn fds(pid: Pid, tid: Pid) -> Vec<u32> {
    let tid = if thread_of(pid, tid) { tid } else { some_thread(pid).unwrap_or(tid) };
    table()
        .with_thread(tid, |th| th.files().map(|f| f.share()))
        .flatten()
        .map(|f| f.lock().iter().map(|(fd, _)| fd).collect())
        .unwrap_or_default()
}

/// A path for an inode: devices by number, others by a search from the
/// root (`Ctx::path_of`).
fn inode_path(ns: u64, inode: &Arc<Inode>) -> Option<Vec<u8>> {
    let Some((major, minor)) = inode.device() else {
        let root = crate::fs::root_of(ns).or_else(crate::fs::root)?;
        let cred = vfs::Cred::root();
        let ctx = vfs::Ctx::new(root, &cred).with_mnt_ns(ns);
        // a synthetic file (a /proc/sys file): its directory's path and
        // its name (the search skips synthetic directories)
        if !inode.is_dir()
            && let Some((dir, name)) = inode.synth_place()
        {
            let mut p = ctx.getcwd(&dir).ok()?;
            if p != b"/" {
                p.push(b'/');
            }
            p.extend_from_slice(&name);
            return Some(p);
        }
        return ctx.path_of(inode, 20_000);
    };
    let name = match (major, minor) {
        (1, 3) => "null",
        (1, 5) => "zero",
        (1, 7) => "full",
        (1, 8) => "random",
        (1, 9) => "urandom",
        (1, 11) => "kmsg",
        (5, 0) => "tty",
        (5, 1) => "console",
        (4, 64) => "ttyS0",
        (5, 2) => "ptmx",
        (crate::pty::SLAVE_MAJOR, n) => return Some(format!("/dev/pts/{n}").into_bytes()),
        _ => return None,
    };
    Some(format!("/dev/{name}").into_bytes())
}

/// `/proc/<pid>/fdinfo/<fd>` (fs/proc/fd.c `seq_show`): the common
/// lines, then the file kind's own ([`vfs::File::show_fdinfo`]).
/// `ENOENT` once the fd is closed.
fn fdinfo(pid: Pid, tid: Pid, fd: u32) -> Result<Vec<u8>> {
    let tid = if thread_of(pid, tid) { tid } else { some_thread(pid).ok_or(Errno::ENOENT)? };
    let files =
        table().with_thread(tid, |th| th.files().map(|f| f.share())).flatten().ok_or(Errno::ENOENT)?;
    let (file, fd_flags) = {
        let g = files.lock();
        (g.get(fd).map_err(|_| Errno::ENOENT)?, g.fd_flags(fd).unwrap_or(0))
    };
    let mut flags = file.status_flags();
    if fd_flags & fs_table::FD_CLOEXEC != 0 {
        flags |= vfs::O_CLOEXEC;
    }
    // f_pos: files without an offset (pipes, sockets) show 0
    let pos = file.lseek(0, vfs::SEEK_CUR).unwrap_or(0);
    // the mount it was opened through, else the latest of its filesystem
    let mnt_id = match (file.mount(), file.inode()) {
        (Some(m), _) if m.id() != 0 => m.id(),
        (_, Some(i)) => crate::fs::mount_of(i).0,
        _ => crate::fs::INTERNAL_MOUNT_ID,
    };
    let ino = file.stat().map_or(0, |s| s.ino);
    let mut out = proctext::fdinfo_head(pos, flags, mnt_id as u32, ino);
    file.show_fdinfo(&mut out);
    Ok(out.into_bytes())
}

/// nsfs: one file per namespace (one namespace of each kind here).
fn nsfs_root() -> &'static Arc<Inode> {
    static ROOT: spin::Once<Arc<Inode>> = spin::Once::new();
    // an anonymous device, as Linux's
    ROOT.call_once(|| {
        vfs::new_synthfs(
            vfs::makedev(0, 4),
            Arc::new(crate::fs::KernelClock),
            Arc::new(ProcNode { m: Arc::default(), n: Node::NsRoot }),
        )
    })
}

/// A namespace an nsfs file stands for (and keeps alive while open).
#[derive(Clone)]
pub enum NsObj {
    /// A user namespace.
    User(process::ns::UserNsRef),
    /// A UTS namespace.
    Uts(Arc<process::ns::UtsNs>),
    /// A mount namespace.
    Mnt(Arc<process::ns::MntNs>),
    /// A PID namespace.
    Pid(process::ns::PidNsRef),
    /// An IPC namespace.
    Ipc(Arc<process::ns::IpcNs>),
    /// A network namespace.
    Net(Arc<process::ns::NetNs>),
    /// A time namespace.
    Time(Arc<process::timens::TimeNs>),
    /// A cgroup namespace.
    Cgroup(Arc<process::ns::CgroupNs>),
    /// The only namespace of a kind this kernel does not build (the
    /// `proctext::NS_NAMES` name).
    Initial(&'static str),
}

impl NsObj {
    /// Process `pid`'s namespace behind `/proc/<pid>/ns/<name>`.
    pub fn of(pid: Pid, name: &'static str) -> Option<NsObj> {
        match name {
            "user" => table().with_process(pid, |p| NsObj::User(p.creds().user_ns.clone())),
            "uts" => table().with_process(pid, |p| NsObj::Uts(p.ns().uts.clone())),
            "mnt" => table().with_process(pid, |p| NsObj::Mnt(p.ns().mnt.clone())),
            "ipc" => table().with_process(pid, |p| NsObj::Ipc(p.ns().ipc.clone())),
            "net" => table().with_process(pid, |p| NsObj::Net(p.ns().net.clone())),
            "time" => table().with_process(pid, |p| NsObj::Time(p.ns().time.clone())),
            "time_for_children" => table().with_process(pid, |p| NsObj::Time(p.ns().time_children.clone())),
            "cgroup" => table().with_process(pid, |p| NsObj::Cgroup(p.ns().cgroup.clone())),
            "pid" => exists(pid).then(|| NsObj::Pid(table().active_pid_ns(pid))),
            // pidns_for_children_get(): nothing before its init exists
            "pid_for_children" => table()
                .with_process(pid, |p| p.ns().pid_children.clone())
                .filter(|n| n.has_init())
                .map(NsObj::Pid),
            _ => proctext::ns_ino(name).map(|_| NsObj::Initial(name)),
        }
    }

    /// The kind's name (`uts`, `user`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            NsObj::User(_) => "user",
            NsObj::Uts(_) => "uts",
            NsObj::Mnt(_) => "mnt",
            NsObj::Pid(_) => "pid",
            NsObj::Ipc(_) => "ipc",
            NsObj::Net(_) => "net",
            NsObj::Time(_) => "time",
            NsObj::Cgroup(_) => "cgroup",
            NsObj::Initial(n) => n.strip_suffix("_for_children").unwrap_or(n),
        }
    }

    /// Its number (the nsfs inode).
    pub fn ino(&self) -> u64 {
        match self {
            NsObj::User(u) => u.ino(),
            NsObj::Uts(u) => u.ino(),
            NsObj::Mnt(m) => m.ino(),
            NsObj::Pid(n) => n.ino(),
            NsObj::Ipc(i) => i.ino(),
            NsObj::Net(n) => n.ino(),
            NsObj::Time(n) => n.ino(),
            NsObj::Cgroup(c) => c.ino(),
            NsObj::Initial(n) => proctext::ns_ino(n).unwrap_or(0),
        }
    }

    /// The user namespace that owns it (a user namespace's parent;
    /// `None` for the initial user namespace).
    pub fn owner(&self) -> Option<process::ns::UserNsRef> {
        match self {
            NsObj::User(u) => u.parent().cloned(),
            NsObj::Uts(u) => Some(u.owner().clone()),
            NsObj::Mnt(m) => Some(m.owner().clone()),
            NsObj::Pid(n) => Some(n.owner()),
            NsObj::Ipc(i) => Some(i.owner().clone()),
            NsObj::Net(n) => Some(n.owner().clone()),
            NsObj::Time(n) => Some(n.owner().clone()),
            NsObj::Cgroup(c) => Some(c.owner().clone()),
            NsObj::Initial(_) => Some(process::ns::UserNsRef::INITIAL),
        }
    }
}

/// The node of an nsfs file.
struct NsNode(NsObj);

impl vfs::SynthNode for NsNode {
    fn content(&self) -> Result<Vec<u8>> {
        Err(Errno::EINVAL)
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

/// What `/proc/<pid>/ns/<name>` leads to: an nsfs inode numbered as the
/// namespace, `-r--r--r--` as Linux's `ns_get_path`; reading it is
/// `EINVAL` as there.
fn ns_inode(obj: NsObj) -> Arc<Inode> {
    let ino = obj.ino();
    let kind = obj.kind();
    Inode::new_synth(nsfs_root(), kind.as_bytes(), FileType::Regular, 0o444, ino, Arc::new(NsNode(obj)))
}

/// The namespace behind an open nsfs file (`None` for other files).
pub fn ns_of(file: &dyn vfs::File) -> Option<NsObj> {
    let inode = file.inode()?;
    if inode.dev() != vfs::makedev(0, 4) {
        return None;
    }
    inode.synth_any()?.downcast_ref::<NsNode>().map(|n| n.0.clone())
}

/// The namespace behind an nsfs inode (a bind mount's source).
pub fn ns_of_inode(inode: &Arc<Inode>) -> Option<NsObj> {
    if inode.dev() != vfs::makedev(0, 4) {
        return None;
    }
    inode.synth_any()?.downcast_ref::<NsNode>().map(|n| n.0.clone())
}

/// An nsfs file of `obj`, open read-only (NS_GET_USERNS, NS_GET_PARENT).
pub fn open_ns(obj: NsObj) -> Arc<dyn vfs::File> {
    Arc::new(vfs::RamFile::new(ns_inode(obj), vfs::O_RDONLY))
}

/// An open `/proc/<pid>/timens_offsets`: the process (whose children's
/// time namespace it reads and writes, looked up at each call, as
/// Linux's `get_proc_task`) and the opener's credentials.
/// A start time in USER_HZ ticks since boot as the caller sees it: shifted
/// by its time namespace's boottime offset (do_task_stat's
/// `timens_add_boottime_ns(task->start_boottime)`, since Linux 5.6), so that
/// `ps` compares it with /proc/uptime of the same namespace.
fn start_ticks_seen(ticks: u64) -> u64 {
    let Some(off) = table().with_process(caller().0, |p| p.ns().time.offsets()) else { return ticks };
    let ns = ticks.saturating_mul(10_000_000);
    off.apply(process::timens::CLOCK_BOOTTIME, ns) / 10_000_000
}

struct TimensFile {
    pid: Pid,
    opener: process::cred::Credentials,
}

impl SynthNode for TimensFile {
    /// `proc_timens_show_offsets`.
    fn content(&self) -> Result<Vec<u8>> {
        let ns = table().with_process(self.pid, |p| p.ns().time_children.clone()).ok_or(Errno::ESRCH)?;
        Ok(ns.offsets().text().into_bytes())
    }

    /// `timens_offsets_write`: parsed first (`EINVAL`), then the process
    /// (`ESRCH`), `CAP_SYS_TIME` over the namespace's owner in the
    /// opener's credentials (`EPERM`), the ranges (`ERANGE`) and whether
    /// a process entered (`EACCES`).
    fn write_direct(&self, offset: u64, data: &[u8]) -> Option<Result<usize>> {
        let w = match process::timens::parse_offsets(offset, data) {
            Ok(w) => w,
            Err(e) => return Some(Err(e)),
        };
        let Some(ns) = table().with_process(self.pid, |p| p.ns().time_children.clone()) else {
            return Some(Err(Errno::ESRCH));
        };
        if !self.opener.ns_capable(ns.owner(), process::cred::CAP_SYS_TIME) {
            return Some(Err(Errno::EPERM));
        }
        let now = arch_x86_64::time::monotonic_ns();
        Some(ns.set_offsets(&w, now, now).map(|()| w.consumed))
    }
}

/// An open `/proc/<pid>/uid_map`, `gid_map` or `setgroups`: the
/// namespace and the opener's credentials as of open(2) (Linux's
/// `seq->private` and `file->f_cred`), which its reads and writes use.
struct UserNsFile {
    ns: process::ns::UserNsRef,
    opener: process::cred::Credentials,
    name: &'static str,
}

impl SynthNode for UserNsFile {
    fn content(&self) -> Result<Vec<u8>> {
        Ok(match self.name {
            "setgroups" => self.ns.setgroups_text().as_bytes().to_vec(),
            "uid_map" => self.ns.map_text(process::ns::MapKind::Uid, &self.opener.user_ns).into_bytes(),
            _ => self.ns.map_text(process::ns::MapKind::Gid, &self.opener.user_ns).into_bytes(),
        })
    }

    /// `proc_uid_map_write`, `proc_gid_map_write`, `proc_setgroups_write`:
    /// the opener's credentials and the writer's.
    fn write_direct(&self, offset: u64, data: &[u8]) -> Option<Result<usize>> {
        use process::ns::MapKind;
        let kind = match self.name {
            "setgroups" => return Some(self.ns.write_setgroups(offset, data).map(|()| data.len())),
            "uid_map" => MapKind::Uid,
            _ => MapKind::Gid,
        };
        let Some(writer) = table().with_process(caller().0, |p| p.creds().without_groups()) else {
            return Some(Err(Errno::ESRCH));
        };
        Some(self.ns.write_map(kind, &self.opener, &writer, offset, data).map(|()| data.len()))
    }
}

fn fd_link(pid: Pid, tid: Pid, fd: u32) -> Result<Vec<u8>> {
    let tid = if thread_of(pid, tid) { tid } else { some_thread(pid).ok_or(Errno::ENOENT)? };
    let files =
        table().with_thread(tid, |th| th.files().map(|f| f.share())).flatten().ok_or(Errno::ENOENT)?;
    let file = files.lock().get(fd).map_err(|_| Errno::ENOENT)?;
    let ns = mnt_ns_of(pid);
    // an O_TMPFILE file's dentry stays the unnamed one after linkat(2)
    // names it: "/dir/#<ino> (deleted)" (below) as long as it is open
    let tmpfile = file.status_flags() & vfs::O_TMPFILE_BIT != 0;
    if !tmpfile && let Some(p) = file.inode().and_then(|i| inode_path(ns, i)) {
        return Ok(p);
    }
    if let Some(name) = crate::syscall::shm::memfd_link(&*file) {
        return Ok(name);
    }
    if let Some(name) = crate::syscall::mqueue::mq_link(&*file) {
        return Ok(name);
    }
    if let Some(name) = crate::eventfd::anon_name(&*file) {
        return Ok(name.to_vec());
    }
    let st = file.stat()?;
    Ok(match st.mode & vfs::S_IFMT {
        vfs::S_IFIFO => format!("pipe:[{}]", st.ino).into_bytes(),
        vfs::S_IFSOCK => format!("socket:[{}]", st.ino).into_bytes(),
        vfs::S_IFCHR => b"/dev/console".to_vec(),
        0 => b"anon_inode:[eventpoll]".to_vec(),
        // an unlinked file: its old path, as Linux's d_path()
        _ => match file.inode().and_then(|i| i.unlinked_from()).and_then(|(dir, name)| {
            let mut p = inode_path(ns, &dir)?;
            if p != b"/" {
                p.push(b'/');
            }
            p.extend_from_slice(&name);
            Some(p)
        }) {
            Some(mut p) => {
                p.extend_from_slice(b" (deleted)");
                p
            }
            None => format!("/inode:{} (deleted)", st.ino).into_bytes(),
        },
    })
}

/// The vfs id of process `pid`'s mount namespace (the initial one's when
/// it is gone): its links are paths there.
fn mnt_ns_of(pid: Pid) -> u64 {
    table().with_process(pid, |p| crate::fs::ns_id(&p.ns().mnt)).unwrap_or(vfs::INITIAL_MNT_NS)
}

fn process_link(pid: Pid, tid: Pid, name: &str) -> Result<Vec<u8>> {
    let ns = mnt_ns_of(pid);
    if name == "exe" {
        let (path, inode) = info(pid, |i| (i.exe.clone(), i.exe_inode.clone())).ok_or(Errno::ENOENT)?;
        // the search runs without the table lock
        let found = inode.as_ref().and_then(|i| inode_path(ns, i));
        return found.or(Some(path)).filter(|e| !e.is_empty()).ok_or(Errno::ENOENT);
    }
    let tid = if thread_of(pid, tid) { tid } else { some_thread(pid).ok_or(Errno::ENOENT)? };
    let fs = table().with_thread(tid, |th| th.fs().map(|f| f.share())).flatten().ok_or(Errno::ENOENT)?;
    let (root, cwd) = {
        let f = fs.lock();
        (f.root().clone(), f.cwd().clone())
    };
    match name {
        "root" => Ok(b"/".to_vec()),
        _ => {
            let cred = vfs::Cred::root();
            vfs::Ctx::new(root.inode, &cred).with_root_mount(root.mnt).with_mnt_ns(ns).getcwd(&cwd)
        }
    }
}

/// Bytes of process `pid` locked by mlock and still mapped.
fn locked_bytes(pid: Pid) -> usize {
    let Some(vm) = table().with_process(pid, |p| p.vm().cloned()).flatten() else { return 0 };
    let mapped: Vec<(usize, usize)> = vm.lock().mappings().map(|m| (m.start, m.end)).collect();
    table().with_process(pid, |p| p.mlock().locked_bytes(&mapped)).unwrap_or(0)
}

/// Linux's oom_score_adj_write(): at most 12 bytes are looked at, parsed
/// as kstrtoint(base 0) after trimming; outside -1000..=1000 `EINVAL`;
/// below the process's `oom_score_adj_min` without CAP_SYS_RESOURCE
/// `EACCES`; a privileged write moves that minimum too.
fn write_oom_score_adj(pid: Pid, data: &[u8]) -> Result<usize> {
    let count = data.len().min(12);
    let text = core::str::from_utf8(&data[..count]).map_err(|_| Errno::EINVAL)?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (radix, digits) = if let Some(h) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        (16, h)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(Errno::EINVAL);
    }
    let v = i64::from_str_radix(digits, radix).map_err(|_| Errno::ERANGE)?;
    let v = if neg { -v } else { v };
    if !(-1000..=1000).contains(&v) {
        return Err(Errno::EINVAL);
    }
    let v = v as i16;
    let privileged = table().with_process(caller().0, |p| p.creds().has_cap(24)).unwrap_or(false);
    table()
        .with_process(pid, |p| {
            if v < p.oom_score_adj_min() && !privileged {
                return Err(Errno::EACCES);
            }
            p.set_oom_score_adj(v, privileged);
            Ok(count)
        })
        .ok_or(Errno::ESRCH)?
}

/// A thread's audit login identity (Linux's `task->loginuid` and
/// `sessionid`, both unset at boot): set by writing /proc/self/loginuid
/// (pam_loginuid at a login), inherited by clone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditIds {
    /// The kernel uid that logged in (`NO_ID`: unset).
    pub loginuid: process::cred::Id,
    /// The login session's number (`u32::MAX`: unset).
    pub sessionid: u32,
}

impl Default for AuditIds {
    fn default() -> Self {
        AuditIds { loginuid: process::cred::NO_ID, sessionid: u32::MAX }
    }
}

/// The last session number handed out (Linux's `session_id`).
static SESSION_ID: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// Linux's proc_loginuid_write and audit_set_loginuid: only the thread
/// itself writes its file (`EPERM`), from offset 0 (`EINVAL`), a decimal
/// number (4294967295 unsets it; else a uid of the writer's namespace,
/// `EINVAL` if unmapped); an unset login uid is set freely, a set one
/// only with CAP_AUDIT_CONTROL. Setting starts a new session number,
/// unsetting unsets it.
fn write_loginuid(tid: Pid, offset: u64, data: &[u8]) -> Result<usize> {
    const CAP_AUDIT_CONTROL: u32 = 30;
    let (_, me) = caller();
    if me != tid {
        return Err(Errno::EPERM);
    }
    if offset != 0 {
        return Err(Errno::EINVAL);
    }
    let count = data.len().min(4096);
    let value = parse_kstrtouint(&data[..count.min(64)])?;
    let creds = table().with_process(caller().0, |p| p.creds().clone()).ok_or(Errno::ESRCH)?;
    let kuid = if value == process::cred::NO_ID {
        process::cred::NO_ID
    } else {
        creds.user_ns.uid_into(value).ok_or(Errno::EINVAL)?
    };
    let old = table().with_thread(tid, |t| t.ext().audit).ok_or(Errno::ESRCH)?;
    if old.loginuid != process::cred::NO_ID && !creds.has_cap(CAP_AUDIT_CONTROL) {
        return Err(Errno::EPERM);
    }
    let sessionid = if kuid == process::cred::NO_ID {
        u32::MAX
    } else {
        let mut id = SESSION_ID.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        if id == u32::MAX {
            id = SESSION_ID.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        }
        id
    };
    table()
        .with_thread(tid, |t| t.ext_mut().audit = AuditIds { loginuid: kuid, sessionid })
        .ok_or(Errno::ESRCH)?;
    Ok(count)
}

/// Linux's kstrtouint(base 10) of a user buffer: an optional `+`, decimal
/// digits, at most one trailing newline; `EINVAL` otherwise, `ERANGE`
/// above `u32::MAX`.
fn parse_kstrtouint(text: &[u8]) -> Result<u32> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let digits = text.strip_prefix(b"+").unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Errno::EINVAL);
    }
    digits
        .iter()
        .try_fold(0u32, |v, d| v.checked_mul(10)?.checked_add(u32::from(d - b'0')))
        .ok_or(Errno::ERANGE)
}

/// Virtual size, resident pages and their high-water mark (pages) of a
/// process.
fn vm_sizes(pid: Pid) -> (u64, u64, u64) {
    let Some(vm) = table().with_process(pid, |p| p.vm().cloned()).flatten() else { return (0, 0, 0) };
    let g = vm.lock();
    let size: u64 = g.mappings().map(|m| (m.end - m.start) as u64).sum();
    (size, g.resident_pages() as u64, g.hiwater_pages() as u64)
}

/// /proc/PID/status's VmData, VmStk, VmExe and VmLib (Linux's
/// `task_mem`): private writable mappings but the stack, the stack, the
/// executable's own code (its file's executable mappings), and the other
/// executable read-only mappings.
fn vm_kinds(pid: Pid, exe: &[u8]) -> proctext::VmKinds {
    let Some(vm) = table().with_process(pid, |p| p.vm().cloned()).flatten() else {
        return proctext::VmKinds::default();
    };
    let g = vm.lock();
    let (mut data, mut stack, mut exe_code, mut code) = (0u64, 0u64, 0u64, 0u64);
    for m in g.mappings() {
        let len = (m.end - m.start) as u64;
        if m.name == "[stack]" {
            stack += len;
        } else if m.prot.contains(vm::Prot::WRITE) {
            data += u64::from(!m.shared) * len;
        } else if m.prot.contains(vm::Prot::EXEC) {
            code += len;
            if !exe.is_empty() && m.name.as_bytes() == exe {
                exe_code += len;
            }
        }
    }
    proctext::VmKinds::new(data, stack, exe_code, code - exe_code)
}

/// /proc/PID/status's signal lines: thread `tid`'s pending set and mask,
/// process `pid`'s shared pending set and dispositions, and user `uid`'s
/// queued-signal count against the process's RLIMIT_SIGPENDING.
fn status_signals(pid: Pid, tid: Pid, uid: u32) -> proctext::StatusSignals {
    let queued = table().signal_account(uid).map_or(0, |a| a.queued() as u64);
    table()
        .with_thread_process(tid, pid, |th, p| {
            let limit = p.rlimits().get(process::rlimit::Resource::Sigpending).cur;
            let (mut ignored, mut caught) = (0u64, 0u64);
            {
                let h = p.handlers().lock();
                for n in 1..=64 {
                    let Ok(sig) = signal::SigNum::new(n) else { continue };
                    match h.get(sig).handler {
                        signal::SigHandler::Default => {}
                        signal::SigHandler::Ignore => ignored |= 1 << (n - 1),
                        _ => caught |= 1 << (n - 1),
                    }
                }
            }
            proctext::StatusSignals::new(
                queued,
                limit,
                th.signals().pending().pending().bits(),
                p.pending().pending().bits(),
                th.signals().blocked().bits(),
                ignored,
                caught,
            )
        })
        .unwrap_or_default()
}

/// `/proc/<pid>/<name>` (or `task/<tid>/<name>`), pids numbered by `ns`
/// (the mount's PID namespace).
fn process_file(pid: Pid, tid: Pid, name: &str, ns: &process::ns::PidNsRef) -> Result<Vec<u8>> {
    let info = info(pid, |i| i.clone()).unwrap_or_default();
    let comm = crate::proc::comm(tid);
    let comm = if comm.is_empty() { crate::proc::comm(pid) } else { comm };
    let comm = if comm.is_empty() { crate::proc::exit_comm(pid) } else { comm };
    let cname = String::from_utf8_lossy(&comm).into_owned();
    let (ppid, pgid, sid, state, creds, kids, nthreads) = table()
        .with_process(pid, |p| {
            (
                p.parent(),
                p.pgid(),
                p.sid(),
                p.state(),
                p.creds().clone(),
                p.children_usage(),
                p.threads().len(),
            )
        })
        .ok_or(Errno::ENOENT)?;
    // the reader's own pending time first, so that it reads itself current
    if let Some(cpu) = table().thread_cpu(caller().1) {
        crate::sched::charge(&cpu, process::cputime::Side::System);
    }
    // /proc/<pid>: the whole process; /proc/<pid>/task/<tid>: the thread
    let usage = if tid != pid { table().thread_cpu(tid).map(|c| c.usage()) } else { table().usage(pid) }
        .unwrap_or_default();
    // Linux's task state: a process is running while one of its threads
    // is (a thread's own file, /proc/<pid>/task/<tid>/, looks at that one)
    let sleeping = || {
        let tids = if tid == pid {
            table().with_process(pid, |p| p.threads().to_vec()).unwrap_or_default()
        } else {
            alloc::vec![tid]
        };
        !tids.is_empty() && tids.iter().all(|t| crate::proc::task_of(*t).is_some_and(|k| k.is_blocked()))
    };
    let running = matches!(state, process::table::ProcState::Running);
    // a thread in a ptrace stop is TASK_TRACED (gdb -p reads "T (stopped)"
    // as a job-control stop and sends its own SIGSTOP)
    let traced_stop = table().with_thread_trace(tid, |l| l.stopped).unwrap_or(false);
    let (st, long) =
        if traced_stop { ('t', "t (tracing stop)") } else { proctext::state(state, running && sleeping()) };
    Ok(match name {
        "maps" => {
            let vm = table().with_process(pid, |p| p.vm().cloned()).flatten().ok_or(Errno::ENOENT)?;
            let g = vm.lock();
            let mut s = String::new();
            for m in g.mappings() {
                s.push_str(&format!("{m}\n"));
            }
            s.into_bytes()
        }
        "mounts" | "mountinfo" => {
            let ns = table().with_process(pid, |p| crate::fs::ns_id(&p.ns().mnt)).ok_or(Errno::ENOENT)?;
            let root = process_root_path(pid);
            if name == "mounts" {
                crate::fs::mounts_text(ns, root.as_ref())
            } else {
                crate::fs::mountinfo_text(ns, root.as_ref())
            }
        }
        "auxv" => info.auxv,
        "comm" => format!("{cname}\n").into_bytes(),
        "stat" => {
            let (vsize, rss, _) = vm_sizes(pid);
            let (ut, stt) = (usage.utime_us / 10_000, usage.stime_us / 10_000);
            let (cut, cst) = (kids.utime_us / 10_000, kids.stime_us / 10_000);
            let (minflt, cminflt) = (usage.minflt, kids.minflt);
            let (tty_nr, tpgid) = crate::console::stat_tty(sid);
            // the thread's (for /proc/<pid>/stat: the leader's) scheduling
            let sched = crate::proc::task_of(tid).map(|k| {
                let policy = u32::from(k.policy.load(core::sync::atomic::Ordering::Relaxed));
                (
                    policy,
                    u32::from(k.rt_prio.load(core::sync::atomic::Ordering::Relaxed)),
                    k.nice(),
                    k.last_cpu(),
                )
            });
            let (policy, rt_priority, nice, processor) = sched.unwrap_or((0, 0, 0, 0));
            // get_task_mm(): none once the leader exited (forget)
            let vm = table().with_process(pid, |p| p.vm().cloned()).flatten();
            let start_brk = vm.map(|vm| vm.lock().brk_start());
            let mm = start_brk.filter(|_| info.mm.env.1 != 0).map(|brk| {
                let m = &info.mm;
                proctext::StatMm {
                    start_code: m.code.0 as u64,
                    end_code: m.code.1 as u64,
                    start_stack: m.start_stack as u64,
                    start_data: m.data.0 as u64,
                    end_data: m.data.1 as u64,
                    start_brk: brk as u64,
                    arg_start: m.arg.0 as u64,
                    arg_end: m.arg.1 as u64,
                    env_start: m.env.0 as u64,
                    env_end: m.env.1 as u64,
                }
            });
            // do_task_stat(): ptrace_may_access(PTRACE_MODE_READ_FSCREDS)
            let permitted = may_access(pid).is_ok();
            // numbers of the mount's PID namespace (0 outside it)
            let seen = |x: Pid| table().pid_in(x, ns);
            proctext::stat(
                &proctext::StatFields::new(seen(tid), &cname, st)
                    .with_ppid(seen(ppid))
                    .with_pgid(seen(pgid))
                    .with_sid(seen(sid))
                    .with_tty_nr(tty_nr)
                    .with_tpgid(if tpgid > 0 { i64::from(seen(tpgid as Pid)) } else { tpgid })
                    .with_minflt(minflt)
                    .with_cminflt(cminflt)
                    .with_utime(ut)
                    .with_stime(stt)
                    .with_cutime(cut)
                    .with_cstime(cst)
                    .with_threads(nthreads)
                    .with_start_ticks(start_ticks_seen(info.start_ticks))
                    .with_vsize(vsize)
                    .with_rss(rss)
                    .with_policy(policy)
                    .with_rt_priority(rt_priority)
                    .with_nice(nice)
                    .with_processor(processor)
                    .with_mm(mm, permitted),
            )
            .into_bytes()
        }
        // proc_timers_show(): the process's POSIX timers
        "timers" => crate::posix_timer::proc_timers(pid).into_bytes(),
        // get_children_pid()/children_seq_show(): the thread's children
        // by the mount's numbers, each followed by a space
        "children" => {
            let mut out = String::new();
            for c in table().thread_children(tid) {
                let nr = table().pid_in(c, ns);
                if nr != 0 {
                    out.push_str(&format!("{nr} "));
                }
            }
            out.into_bytes()
        }
        "limits" => {
            let l = table().with_process(pid, |p| p.rlimits().values()).ok_or(Errno::ESRCH)?;
            let all: Vec<(u64, u64)> = l.iter().map(|v| (v.cur, v.max)).collect();
            proctext::limits(&all).into_bytes()
        }
        // proc_cgroup_show(): the v2 hierarchy's "0::PATH" line once
        // cgroup2 was mounted (cgrp_dfl_visible), PATH from the reader's
        // cgroup namespace
        "cgroup" => crate::cgroup::proc_text(pid, crate::eventfd::caller().1)?,
        // proc_oom_score(): oom_badness() scaled into 0..2000, 0 for a
        // process the OOM killer never picks
        "oom_score" => format!("{}\n", crate::oom::score(pid).ok_or(Errno::ESRCH)?).into_bytes(),
        "oom_score_adj" => {
            let adj = table().with_process(pid, |p| p.oom_score_adj()).ok_or(Errno::ESRCH)?;
            format!("{adj}\n").into_bytes()
        }
        // proc_loginuid_read/proc_sessionid_read: the thread's ids, no
        // newline; the login uid as the reader's namespace sees it
        "loginuid" | "sessionid" => {
            let ids = table().with_thread(tid, |t| t.ext().audit).ok_or(Errno::ESRCH)?;
            let shown = if name == "sessionid" {
                ids.sessionid
            } else {
                let reader =
                    table().with_process(caller().0, |p| p.creds().user_ns.clone()).unwrap_or_default();
                reader.uid_up(ids.loginuid).unwrap_or(process::cred::NO_ID)
            };
            format!("{shown}").into_bytes()
        }
        "uid_map" | "gid_map" => {
            let reader = table().with_process(caller().0, |p| p.creds().user_ns.clone()).unwrap_or_default();
            let kind = if name == "uid_map" { process::ns::MapKind::Uid } else { process::ns::MapKind::Gid };
            creds.user_ns.map_text(kind, &reader).into_bytes()
        }
        "setgroups" => creds.user_ns.setgroups_text().as_bytes().to_vec(),
        "statm" => {
            let (vsize, rss, _) = vm_sizes(pid);
            proctext::statm(vsize, rss).into_bytes()
        }
        "status" => {
            let (vsize, rss, hwm) = vm_sizes(pid);
            // the fs context outside the table lock (its own lock)
            let fs = table().with_thread(tid, |th| th.fs().map(|f| f.share())).flatten();
            let umask = fs.map_or(0o022, |f| f.lock().umask());
            let all = crate::sched::online_mask();
            let cpus = crate::proc::task_of(tid).map_or(all, |k| crate::sched::affinity(&k));
            let switches = table().thread_cpu(tid).map_or((0, 0), |c| {
                let u = c.usage();
                (u.nvcsw, u.nivcsw)
            });
            // the ids as the reader's user namespace sees them
            // (proc_pid_status's from_kuid_munged(user_ns, ...))
            let reader = table().with_process(caller().0, |p| p.creds().user_ns.clone()).unwrap_or_default();
            let mut seen = creds.clone();
            if !reader.is_initial() {
                for id in [&mut seen.uid, &mut seen.euid, &mut seen.suid, &mut seen.fsuid] {
                    *id = reader.uid_from(*id);
                }
                for id in [&mut seen.gid, &mut seen.egid, &mut seen.sgid, &mut seen.fsgid] {
                    *id = reader.gid_from(*id);
                }
                for g in &mut seen.groups {
                    *g = reader.gid_from(*g);
                }
            }
            // the pids as the mount's PID namespace numbers them (0
            // outside it), the NS* lines from it down to the process's own
            let tracer = table().tracer_of(pid);
            let nested = table().pidns_used();
            let nr = |x: Pid| if nested && x != 0 { table().pid_in(x, ns) } else { x };
            let list = |x: Pid| if nested { table().pid_numbers(x, ns) } else { Vec::new() };
            let lists = [list(pid), list(tid), list(pgid), list(sid)];
            let mut fields = proctext::StatusFields::new(&cname, long, nr(pid), nr(tid), &seen)
                .with_ppid(nr(ppid))
                .with_tracer(nr(tracer))
                .with_vsize(vsize)
                .with_locked(locked_bytes(pid) as u64)
                .with_rss(rss)
                .with_hwm(hwm)
                .with_threads(nthreads)
                .with_umask(umask)
                .with_group(pgid, sid)
                .with_vm_kinds(vm_kinds(pid, &info.exe))
                .with_signals(status_signals(pid, tid, creds.uid))
                .with_cap_bounding(table().with_process(pid, |p| p.cap_bset()).unwrap_or(0))
                .with_no_new_privs(table().with_thread(tid, |th| th.no_new_privs()).unwrap_or(false))
                .with_seccomp(
                    table().with_thread(tid, |th| th.ext().seccomp.mode).unwrap_or(0),
                    table().with_thread(tid, |th| th.ext().seccomp.filters()).unwrap_or(0),
                )
                .with_cpus_allowed(cpus, crate::sched::nr_cpus())
                .with_switches(switches.0, switches.1);
            if nested {
                fields =
                    fields.with_ns_pids(proctext::NsPids::new(&lists[0], &lists[1], &lists[2], &lists[3]));
            }
            proctext::status(&fields).into_bytes()
        }
        _ => return Err(Errno::ENOENT),
    })
}

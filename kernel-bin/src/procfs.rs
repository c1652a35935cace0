//! A small /proc: files generated when opened. Paths under `/proc` are
//! answered here before the filesystem is asked (absolute paths only, for
//! now): `/proc/meminfo`, `/proc/uptime`, `/proc/loadavg`, `/proc/mounts`,
//! `/proc/cpuinfo`, `/proc/sys/kernel/pid_max`, and per process
//! (`self` or a pid) `maps`, `stat`, `status`, `cmdline`, `comm` and the
//! `exe` link.

use crate::proc::table;
use crate::uthread::UThread;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use linux_abi::{Errno, Result};
use process::pid::Pid;
use spin::Mutex;
use vfs::{File, Stat};

/// Per-process facts /proc shows that the process table does not keep.
#[derive(Clone, Default)]
struct Info {
    exe: Vec<u8>,
    cmdline: Vec<u8>,
}

static INFO: Mutex<BTreeMap<Pid, Info>> = Mutex::new(BTreeMap::new());

/// Records what execve ran (for `exe` and `cmdline`).
pub fn set_exec(pid: Pid, exe: &[u8], argv: &[Vec<u8>]) {
    let mut cmd = Vec::new();
    for a in argv {
        cmd.extend_from_slice(a);
        cmd.push(0);
    }
    INFO.lock().insert(pid, Info { exe: exe.to_vec(), cmdline: cmd });
}

/// Copies a parent's entry to a forked child.
pub fn fork(parent: Pid, child: Pid) {
    let mut m = INFO.lock();
    if let Some(i) = m.get(&parent).cloned() {
        m.insert(child, i);
    }
}

/// Drops what was recorded for `pid` (its leader thread exited).
pub fn forget(pid: Pid) {
    INFO.lock().remove(&pid);
}

/// A generated file: its bytes, fixed when opened.
pub struct ProcFile {
    data: Vec<u8>,
    offset: AtomicU64,
}

impl File for ProcFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        let off = self.offset.load(Ordering::Relaxed);
        let n = self.pread(buf, off)?;
        self.offset.store(off + n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn write(&self, _buf: &[u8]) -> Result<usize> {
        Err(Errno::EBADF)
    }
    fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        // an offset past the end (lseek allows it) reads nothing
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.data.len());
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        Ok(n)
    }
    fn lseek(&self, offset: i64, whence: u32) -> Result<u64> {
        let base = match whence {
            vfs::SEEK_SET => 0,
            vfs::SEEK_CUR => self.offset.load(Ordering::Relaxed) as i64,
            vfs::SEEK_END => self.data.len() as i64,
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(offset).filter(|v| *v >= 0).ok_or(Errno::EINVAL)?;
        self.offset.store(new as u64, Ordering::Relaxed);
        Ok(new as u64)
    }
    fn stat(&self) -> Result<Stat> {
        Ok(Stat { mode: vfs::S_IFREG | 0o444, nlink: 1, blksize: 1024, dev: 0x16, ..Stat::default() })
    }
    fn status_flags(&self) -> u32 {
        vfs::O_RDONLY
    }
    fn set_status_flags(&self, _flags: u32) {}
}

/// `/proc/...` split after `/proc/`, or `None` for other paths.
fn proc_rel(path: &[u8]) -> Option<&[u8]> {
    let p = path.strip_prefix(b"/proc")?;
    if p.is_empty() {
        return None;
    }
    p.strip_prefix(b"/")
}

fn target_pid(t: &UThread, first: &[u8]) -> Option<Pid> {
    if first == b"self" || first == b"thread-self" {
        return Some(t.pid);
    }
    let s = core::str::from_utf8(first).ok()?;
    let pid: Pid = s.parse().ok()?;
    table().with_process(pid, |_| ()).map(|_| pid)
}

fn meminfo() -> String {
    let (free, usable) = arch_x86_64::mem::frames::stats();
    let kb = |frames: u64| frames * 4;
    format!(
        "MemTotal:       {:8} kB\nMemFree:        {:8} kB\nMemAvailable:   {:8} kB\nBuffers:               0 kB\n\
         Cached:                0 kB\nSwapCached:            0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n\
         Shmem:                 0 kB\n",
        kb(usable),
        kb(free),
        kb(free)
    )
}

fn process_file(t: &UThread, pid: Pid, name: &[u8]) -> Result<Vec<u8>> {
    let info = INFO.lock().get(&pid).cloned().unwrap_or_default();
    let comm = crate::proc::comm(pid);
    Ok(match name {
        b"maps" => {
            let vm = table().with_process(pid, |p| p.vm().cloned()).flatten().ok_or(Errno::ENOENT)?;
            let g = vm.lock();
            let mut s = String::new();
            for m in g.mappings() {
                s.push_str(&format!("{m}\n"));
            }
            s.into_bytes()
        }
        b"cmdline" => info.cmdline,
        b"comm" => {
            let mut c = comm;
            c.push(b'\n');
            c
        }
        b"stat" => {
            let (ppid, pgid, sid, state) = table()
                .with_process(pid, |p| (p.parent(), p.pgid(), p.sid(), p.state()))
                .ok_or(Errno::ENOENT)?;
            let st = match state {
                process::table::ProcState::Running => 'R',
                process::table::ProcState::Stopped(_) => 'T',
                process::table::ProcState::Zombie => 'Z',
            };
            let name = String::from_utf8_lossy(&comm).into_owned();
            format!("{pid} ({name}) {st} {ppid} {pgid} {sid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0 0 0\n")
                .into_bytes()
        }
        b"status" => {
            let (ppid, creds) =
                table().with_process(pid, |p| (p.parent(), p.creds.clone())).ok_or(Errno::ENOENT)?;
            let name = String::from_utf8_lossy(&comm).into_owned();
            format!(
                "Name:\t{name}\nState:\tR (running)\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t{ppid}\n\
                 Uid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nThreads:\t1\n",
                creds.uid,
                creds.euid,
                creds.suid,
                creds.fsuid,
                creds.gid,
                creds.egid,
                creds.sgid,
                creds.fsgid
            )
            .into_bytes()
        }
        _ => {
            let _ = t;
            return Err(Errno::ENOENT);
        }
    })
}

/// The contents of `/proc` file `path`, `None` when the path is not under
/// `/proc`, `Err(ENOENT)` for a name /proc does not have.
pub fn generate(t: &UThread, path: &[u8]) -> Option<Result<Vec<u8>>> {
    let rel = proc_rel(path)?;
    let mut parts = rel.split(|&b| b == b'/').filter(|p| !p.is_empty());
    let first = parts.next()?;
    let second = parts.next();
    Some(match (first, second) {
        (b"meminfo", None) => Ok(meminfo().into_bytes()),
        (b"uptime", None) => {
            let ns = arch_x86_64::time::since_boot_ns();
            Ok(format!("{}.{:02} 0.00\n", ns / 1_000_000_000, ns % 1_000_000_000 / 10_000_000).into_bytes())
        }
        (b"loadavg", None) => Ok(b"0.00 0.00 0.00 1/1 1\n".to_vec()),
        (b"mounts", None) => Ok(b"rootfs / rootfs rw 0 0\n".to_vec()),
        (b"cpuinfo", None) => {
            Ok(b"processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: QEMU TCG CPU\n\n".to_vec())
        }
        (b"sys", Some(b"kernel")) if parts.next() == Some(b"pid_max") => {
            Ok(format!("{}\n", crate::proc::PID_MAX).into_bytes())
        }
        (pid, Some(name)) => match target_pid(t, pid) {
            Some(pid) => process_file(t, pid, name),
            None => Err(Errno::ENOENT),
        },
        _ => Err(Errno::ENOENT),
    })
}

/// A directory entry: its name and `d_type`.
type Entry = (Vec<u8>, u8);

/// The entries of a /proc directory, `None` when `path` is not one.
fn dir_entries(t: &UThread, path: &[u8]) -> Option<Result<Vec<Entry>>> {
    const DT_REG: u8 = 8;
    const DT_LNK: u8 = 10;
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    if trimmed == b"/proc" {
        let mut v: Vec<Entry> = ["meminfo", "uptime", "loadavg", "mounts", "cpuinfo"]
            .iter()
            .map(|n| (n.as_bytes().to_vec(), DT_REG))
            .collect();
        v.push((b"self".to_vec(), DT_LNK));
        for pid in table().pids() {
            v.push((format!("{pid}").into_bytes(), 4));
        }
        return Some(Ok(v));
    }
    let rel = proc_rel(trimmed)?;
    if rel.contains(&b'/') {
        return None;
    }
    let _pid = target_pid(t, rel)?;
    let mut v: Vec<Entry> = ["stat", "status", "cmdline", "comm", "maps"]
        .iter()
        .map(|n| (n.as_bytes().to_vec(), DT_REG))
        .collect();
    v.push((b"exe".to_vec(), DT_LNK));
    Some(Ok(v))
}

/// A generated directory: its entries, fixed when opened.
pub struct ProcDir {
    entries: Vec<Entry>,
    pos: AtomicU64,
}

impl File for ProcDir {
    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::EISDIR)
    }
    fn write(&self, _buf: &[u8]) -> Result<usize> {
        Err(Errno::EBADF)
    }
    fn stat(&self) -> Result<Stat> {
        Ok(dir_stat())
    }
    fn getdents64(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = vfs::DirentWriter::new(buf);
        let mut pos = self.pos.load(Ordering::Relaxed) as usize;
        let dots: [(&[u8], u8); 2] = [(b".", 4), (b"..", 4)];
        loop {
            let (name, ty): (&[u8], u8) = if pos < 2 {
                dots[pos]
            } else if let Some((n, ty)) = self.entries.get(pos - 2) {
                (n, *ty)
            } else {
                break;
            };
            if !w.push(1000 + pos as u64, pos as i64 + 1, ty, name)? {
                break;
            }
            pos += 1;
        }
        self.pos.store(pos as u64, Ordering::Relaxed);
        Ok(w.written())
    }
    fn lseek(&self, offset: i64, whence: u32) -> Result<u64> {
        if whence != vfs::SEEK_SET || offset < 0 {
            return Err(Errno::EINVAL);
        }
        self.pos.store(offset as u64, Ordering::Relaxed);
        Ok(offset as u64)
    }
    fn status_flags(&self) -> u32 {
        vfs::O_RDONLY | vfs::O_DIRECTORY
    }
    fn set_status_flags(&self, _flags: u32) {}
}

fn dir_stat() -> Stat {
    Stat { mode: vfs::S_IFDIR | 0o555, nlink: 2, blksize: 1024, dev: 0x16, ..Stat::default() }
}

/// Opens a /proc directory, if `path` is one.
pub fn open_dir(t: &UThread, path: &[u8]) -> Option<Result<Arc<dyn File>>> {
    let entries = dir_entries(t, path)?;
    Some(entries.map(|entries| Arc::new(ProcDir { entries, pos: AtomicU64::new(0) }) as Arc<dyn File>))
}

/// stat(2) of a /proc path, if it is one.
pub fn stat(t: &UThread, path: &[u8]) -> Option<Result<Stat>> {
    if let Some(r) = dir_entries(t, path) {
        return Some(r.map(|_| dir_stat()));
    }
    if let Some(r) = readlink(t, path) {
        return Some(r.map(|target| Stat {
            mode: vfs::S_IFLNK | 0o777,
            nlink: 1,
            size: target.len() as i64,
            dev: 0x16,
            ..Stat::default()
        }));
    }
    let r = generate(t, path)?;
    Some(r.map(|data| Stat {
        mode: vfs::S_IFREG | 0o444,
        nlink: 1,
        size: data.len() as i64,
        blksize: 1024,
        dev: 0x16,
        ..Stat::default()
    }))
}

/// Opens a generated /proc file.
pub fn open(data: Vec<u8>) -> Arc<dyn File> {
    Arc::new(ProcFile { data, offset: AtomicU64::new(0) })
}

/// readlink of `/proc/<pid>/exe`.
pub fn readlink(t: &UThread, path: &[u8]) -> Option<Result<Vec<u8>>> {
    let rel = proc_rel(path)?;
    let mut parts = rel.split(|&b| b == b'/').filter(|p| !p.is_empty());
    let pid = parts.next()?;
    if parts.next() != Some(b"exe") {
        return None;
    }
    Some(match target_pid(t, pid) {
        Some(pid) => INFO.lock().get(&pid).map(|i| i.exe.clone()).ok_or(Errno::ENOENT),
        None => Err(Errno::ENOENT),
    })
}

//! execve: find the file, follow `#!` interpreters, load the ELF image (and
//! its `PT_INTERP` interpreter) into a fresh address space with
//! `crates/elf-loader`, then let the process
//! table do the rest (de-thread, handlers, close-on-exec, the new vm).

use crate::proc::{Hooks, Vm, table};
use crate::uthread::UThread;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use arch_x86_64::mem::vmimpl::KernelFrames;
use arch_x86_64::user::GeneralRegs;
use elf_loader::{ExecFile, ExecParams};
use linux_abi::args::{UserCStr, UserSlice};
use linux_abi::{Errno, Result};
use vfs::{Ctx, Inode};
use vm::{Frame, FrameAllocator, FrameRefs, PAGE_SIZE, PageSource};

/// A ramfs inode as the loader reads it.
struct InodeFile(Arc<Inode>);

impl ExecFile for InodeFile {
    fn size(&self) -> u64 {
        self.0.size()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.0.read_at(offset, buf)
    }
    fn preempt_point(&self) {
        // the loader copies a file it cannot map in chunks, holding no lock
        crate::sched::cond_resched();
    }
    fn page_source(&self) -> Option<Arc<dyn PageSource>> {
        // The file's own pages (its page cache), as mmap maps them: every
        // exec of the file and every process's mapping share the frames
        // (copied only on write), whatever the file's size. Sharing also
        // keeps the code in the same frames from one run to the next, which
        // matters under emulation: QEMU's TCG keeps its translations of a
        // physical page until the page is written (python3.11 is 6.6 MiB:
        // copied per exec, its start-up took 1.6x Linux's time).
        if self.0.can_map()
            && let Ok(pages) = crate::filemap::file_pages(&self.0)
        {
            return Some(pages as Arc<dyn PageSource>);
        }
        image_pages(&self.0).map(|p| p as Arc<dyn PageSource>)
    }
}

/// Frames mapped by many address spaces, each holding one reference of
/// ours (released when the last holder goes): the pages of an executable
/// file whose pages cannot be mapped, read once and mapped by every exec
/// of it (a small cache: files of up to 1024 pages), and the vDSO's.
pub(crate) struct ImagePages {
    pub(crate) frames: Vec<Frame>,
}

impl PageSource for ImagePages {
    fn page(&self, offset: u64) -> core::result::Result<Frame, Errno> {
        let i = usize::try_from(offset / PAGE_SIZE as u64).map_err(|_| Errno::EFAULT)?;
        // a page wholly past the end of the file: SIGBUS
        let frame = *self.frames.get(i).ok_or(Errno::EFAULT)?;
        KernelFrames.add_ref(frame);
        Ok(frame)
    }
    fn cached_page(&self, offset: u64) -> Option<Frame> {
        self.page(offset).ok()
    }
}

impl ImagePages {
    /// Reads `buf.len()` bytes at byte `offset` of the pages (through the
    /// direct map; bytes past the last page are left as they are): the
    /// AIO and io_uring rings' `RingMemory`.
    pub(crate) fn read_at(&self, offset: usize, buf: &mut [u8]) {
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done;
            let n = (PAGE_SIZE - at % PAGE_SIZE).min(buf.len() - done);
            if let Some(&f) = self.frames.get(at / PAGE_SIZE) {
                KernelFrames.read(f, at % PAGE_SIZE, &mut buf[done..done + n]);
            }
            done += n;
        }
    }

    /// Writes `data` at byte `offset` of the pages (bytes past the last
    /// page are dropped).
    pub(crate) fn write_at(&self, offset: usize, data: &[u8]) {
        let mut done = 0;
        while done < data.len() {
            let at = offset + done;
            let n = (PAGE_SIZE - at % PAGE_SIZE).min(data.len() - done);
            if let Some(&f) = self.frames.get(at / PAGE_SIZE) {
                KernelFrames.write(f, at % PAGE_SIZE, &data[done..done + n]);
            }
            done += n;
        }
    }
}

impl Drop for ImagePages {
    fn drop(&mut self) {
        for &f in &self.frames {
            KernelFrames.release(f);
        }
    }
}

/// What identifies one version of a file's contents: every write changes
/// the size or the change time (nanoseconds), and so does every utimes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Version {
    dev: u64,
    ino: u64,
    size: i64,
    mtime: vfs::Timespec,
    ctime: vfs::Timespec,
}

struct Cached {
    inode: Weak<Inode>,
    version: Version,
    pages: Arc<ImagePages>,
    used: u64,
}

/// At most this many files, and this many pages in all, are kept.
const CACHE_FILES: usize = 16;
const CACHE_PAGES: usize = 4096;

static CACHE: crate::lockorder::Ranked<(Vec<Cached>, u64)> =
    crate::lockorder::Ranked::new(crate::lockorder::LockClass::ExecCache, "exec::CACHE", (Vec::new(), 0));

fn version(inode: &Inode) -> Version {
    let st = inode.stat();
    Version { dev: st.dev, ino: st.ino, size: st.size, mtime: st.mtime, ctime: st.ctime }
}

/// The cached pages of `inode` (read now if they are not cached or the
/// file changed), or `None` for a file too large to cache or unreadable.
fn image_pages(inode: &Arc<Inode>) -> Option<Arc<ImagePages>> {
    let v = version(inode);
    let same = |c: &Cached| c.version == v && c.inode.upgrade().is_some_and(|i| Arc::ptr_eq(&i, inode));
    {
        let mut guard = CACHE.lock();
        let (entries, clock) = &mut *guard;
        *clock += 1;
        if let Some(c) = entries.iter_mut().find(|c| same(c)) {
            c.used = *clock;
            return Some(c.pages.clone());
        }
    }
    let npages = usize::try_from(inode.size()).ok()?.div_ceil(PAGE_SIZE);
    if npages > CACHE_PAGES / 4 {
        return None;
    }
    let mut pages = ImagePages { frames: Vec::with_capacity(npages) };
    let mut buf = alloc::vec![0u8; PAGE_SIZE];
    for i in 0..npages {
        // up to 1024 pages read: a preemption point per page (no lock held)
        crate::sched::cond_resched();
        let frame = KernelFrames.alloc_zeroed().ok()?;
        pages.frames.push(frame);
        let n = inode.read_at((i * PAGE_SIZE) as u64, &mut buf).ok()?;
        KernelFrames.write(frame, 0, &buf[..n]);
    }
    let pages = Arc::new(pages);
    let mut guard = CACHE.lock();
    let (entries, clock) = &mut *guard;
    // drop stale versions of this file, then the least recently used
    entries.retain(|c| c.inode.strong_count() > 0 && !(c.version.dev == v.dev && c.version.ino == v.ino));
    let total = |e: &Vec<Cached>| e.iter().map(|c| c.pages.frames.len()).sum::<usize>();
    while !entries.is_empty() && (entries.len() >= CACHE_FILES || total(entries) + npages > CACHE_PAGES) {
        if let Some(lru) = entries.iter().enumerate().min_by_key(|(_, c)| c.used).map(|(i, _)| i) {
            entries.swap_remove(lru);
        }
    }
    entries.push(Cached { inode: Arc::downgrade(inode), version: v, pages: pages.clone(), used: *clock });
    Some(pages)
}

/// Resolves `path` for exec: must be a regular file with execute permission.
fn lookup_exec(
    root: &vfs::Path,
    cwd: &vfs::Path,
    cred: &vfs::Cred,
    ns: u64,
    path: &[u8],
) -> Result<Arc<Inode>> {
    let ctx = Ctx::new(root.inode.clone(), cred).with_root_mount(root.mnt.clone()).with_mnt_ns(ns);
    let inode = ctx.lookup(cwd, path, true)?;
    if inode.is_dir() || inode.file_type() != vfs::FileType::Regular {
        return Err(Errno::EACCES);
    }
    inode.check_access(cred, vfs::X_OK)?;
    // path_noexec(): a program on a noexec mount
    if ctx.view_flags() & vfs::MNT_NOEXEC != 0 {
        return Err(Errno::EACCES);
    }
    Ok(inode)
}

/// The path `path` names with every symbolic link resolved (what Linux's
/// d_path shows for the file it opened: /proc/<pid>/maps names the
/// interpreter's mappings by it), or `None` when it cannot be made.
fn resolved_path(
    root: &vfs::Path,
    cwd: &vfs::Path,
    cred: &vfs::Cred,
    ns: u64,
    path: &[u8],
) -> Option<Vec<u8>> {
    let ctx = Ctx::new(root.inode.clone(), cred).with_root_mount(root.mnt.clone()).with_mnt_ns(ns);
    let mut path = path.to_vec();
    let mut base = cwd.clone();
    for _ in 0..40 {
        let (dir_part, name): (&[u8], &[u8]) = match path.iter().rposition(|&b| b == b'/') {
            Some(0) => (b"/", &path[1..]),
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (b".", &path[..]),
        };
        let dir = ctx.lookup(&base, dir_part, true).ok()?;
        let dir = vfs::Path::new(dir, ctx.walked_mount());
        let mut dir_path = ctx.getcwd(&dir).ok()?;
        match ctx.readlink(&dir, name) {
            Ok(target) => {
                // a link: go on from its target, relative to its directory
                base = dir;
                path = target;
            }
            Err(_) => {
                if dir_path.last() != Some(&b'/') {
                    dir_path.push(b'/');
                }
                dir_path.extend_from_slice(name);
                return Some(dir_path);
            }
        }
    }
    None
}

/// The new image, ready to replace the caller's.
pub struct Image {
    /// The address space.
    pub vm: Vm,
    /// Entry point.
    pub entry: u64,
    /// Initial stack pointer.
    pub sp: u64,
    /// The path of the file loaded (the interpreter for a script).
    pub exe: Vec<u8>,
    /// The file loaded (what /proc/<pid>/exe names), its writes denied
    /// (`ETXTBSY`) for as long as the process runs it.
    pub exe_file: vfs::WriteDenied,
    /// The image could not be completed after Linux's point of no return
    /// (the interpreter): the exec goes on and the process dies of SIGSEGV.
    pub fatal: bool,
    /// `mm->start_code` ... `env_end` (/proc/<pid>/cmdline, environ, stat).
    pub layout: crate::procfs::MmLayout,
    /// `mm->saved_auxv` as bytes, `AT_NULL` included (/proc/<pid>/auxv).
    pub auxv: Vec<u8>,
}

/// Who execs, from where: the root and working directory paths resolve
/// in, the credential that checks permissions, the ids for the auxv.
pub struct Caller<'a> {
    /// The root directory.
    pub root: &'a vfs::Path,
    /// The working directory.
    pub cwd: &'a vfs::Path,
    /// Permission checks.
    pub cred: &'a vfs::Cred,
    /// AT_UID and friends.
    pub ids: elf_loader::Credentials,
    /// RLIMIT_STACK's soft value: a quarter of it bounds the arguments.
    pub stack_rlimit: u64,
    /// The mount namespace the paths are walked in.
    pub mnt_ns: u64,
    /// The process is in a time namespace (its `[vvar]` is the zeroed one).
    pub timens: bool,
}

/// Builds the image for `path` with `argv`/`envp` (following `#!` up to
/// the nesting limit); `fresh` makes an empty address space like the
/// caller's (called with no lock held: the loading has preemption points).
pub fn build(
    fresh: &dyn Fn() -> Result<Vm>,
    who: &Caller,
    path: &[u8],
    argv: Vec<Vec<u8>>,
    envp: &[Vec<u8>],
) -> Result<Image> {
    let (root, cwd, cred, ids) = (who.root, who.cwd, who.cred, who.ids);
    let stack_rlimit = who.stack_rlimit;
    let mut path = path.to_vec();
    let mut argv = argv;
    let execfn = path.clone();
    for depth in 0.. {
        elf_loader::check_exec_depth(depth)?;
        let inode = lookup_exec(root, cwd, cred, who.mnt_ns, &path)?;
        // do_open_execat's deny_write_access: ETXTBSY for a file open for
        // writing (a script's too, though only until its interpreter runs)
        let exe_file = inode.deny_write_access()?;
        let file = InodeFile(inode);
        let mut head = [0u8; elf_loader::BINPRM_BUF_SIZE];
        let n = file.read_at(0, &mut head)?;
        if let Some(sb) = elf_loader::parse_shebang(&head[..n])? {
            let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            argv = sb.argv(&path, &refs);
            path = sb.interpreter;
            continue;
        }
        let mut vm = fresh()?;
        // [vvar] and [vdso] at the top, the stack below them
        let vdso = crate::vdso::map(&mut vm, elf_loader::DEFAULT_STACK_TOP, who.timens)?;
        let argv_refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let envp_refs: Vec<&[u8]> = envp.iter().map(|a| a.as_slice()).collect();
        let mut random = [0u8; 16];
        crate::devices::random_bytes(&mut random);
        let mut params = ExecParams::new(&path, &argv_refs, &envp_refs, random);
        params.execfn = &execfn;
        params.creds = ids;
        params.stack_rlimit = stack_rlimit;
        if let Some((base, start)) = vdso {
            params.sysinfo_ehdr = Some(base);
            params.layout.stack_top = start;
        }
        params.hwcap = arch_x86_64::cpu::hwcap();
        // no FSGSBASE for user space; the smallest stack a signal frame needs
        params.hwcap2 = Some(0);
        params.minsigstksz = Some(arch_x86_64::xstate::min_sigstksz(&arch_x86_64::xstate::layout()));
        // Argument errors come before format errors, as in Linux.
        elf_loader::check_args(params.stack_rlimit, params.execfn, params.argv, params.envp)?;
        let elf = elf_loader::ElfImage::parse(&file)?;
        // PT_INTERP: the interpreter is opened like the program (the
        // caller's root and cwd, EACCES without execute permission) and
        // checked before the point of no return (load_elf_binary).
        let interp = match elf.interp_path(&file)? {
            Some(ipath) => {
                // open_exec("") opens the working directory (getname_kernel
                // takes an empty name), which is refused as no regular file
                let lookup: &[u8] = if ipath.is_empty() { b"." } else { &ipath };
                let iinode = lookup_exec(root, cwd, cred, who.mnt_ns, lookup)?;
                // open_exec denies writes while the interpreter loads (ETXTBSY
                // before the point of no return); Linux 6.1 lets them in again
                // once it is mapped (allow_write_access), as for a library
                let loading = iinode.deny_write_access()?;
                let ifile = InodeFile(iinode);
                let iimage = elf_loader::ElfImage::parse_interp(&ifile)?;
                let name = resolved_path(root, cwd, cred, who.mnt_ns, lookup).unwrap_or(ipath);
                Some((name, ifile, iimage, loading))
            }
            None => None,
        };
        let loaded = match &interp {
            None => elf.load(&mut vm, &file, &params),
            Some((ipath, ifile, iimage, _loading)) => {
                // Past Linux's point of no return: what fails now kills the
                // process with SIGSEGV (bprm_execve's force_fatal_sig).
                let r = iimage.as_ref().map_err(|e| *e).and_then(|iimage| {
                    let i = elf_loader::Interp::new(iimage, ifile as &dyn ExecFile, ipath);
                    elf.load_with_interp(&mut vm, &file, Some(i), &params)
                });
                if let Err(e) = r {
                    log::info!(
                        "execve {}: interpreter {}: {e:?}: SIGSEGV",
                        alloc::string::String::from_utf8_lossy(&path),
                        alloc::string::String::from_utf8_lossy(ipath)
                    );
                    return Ok(Image {
                        vm,
                        entry: 0,
                        sp: 0,
                        exe: path,
                        exe_file,
                        fatal: true,
                        layout: crate::procfs::MmLayout::default(),
                        auxv: Vec::new(),
                    });
                }
                r
            }
        };
        let img = loaded?;
        let (entry, sp) = (img.entry as u64, img.stack_pointer as u64);
        let mut auxv = Vec::new();
        auxv.try_reserve_exact(img.auxv.len() * 16).map_err(|_| Errno::ENOMEM)?;
        for (k, v) in &img.auxv {
            auxv.extend_from_slice(&k.to_le_bytes());
            auxv.extend_from_slice(&v.to_le_bytes());
        }
        let layout = crate::procfs::MmLayout::of_image(&img);
        return Ok(Image { vm, entry, sp, exe: path, exe_file, fatal: false, layout, auxv });
    }
    Err(Errno::ELOOP)
}

/// Calls `f` with each pointer of the NULL-terminated user array at `addr`
/// (none when `addr` is NULL), at most `max` of them, reading the array a
/// page at a time; stops early when `f` says so.
fn walk_ptr_array(
    t: &UThread,
    addr: u64,
    max: usize,
    mut f: impl FnMut(u64) -> Result<bool>,
) -> Result<usize> {
    if addr == 0 {
        return Ok(0);
    }
    let mut n = 0usize;
    let mut at = addr;
    loop {
        // up to the end of this page, so a fault is only the array's own
        let in_page = (PAGE_SIZE as u64 - at % PAGE_SIZE as u64).max(8) as usize / 8;
        let chunk = t.read_slice(UserSlice::new(at, in_page.min(max - n + 1) * 8))?;
        for word in chunk.chunks_exact(8) {
            let p = u64::from_le_bytes(word.try_into().map_err(|_| Errno::EFAULT)?);
            if p == 0 {
                return Ok(n);
            }
            if n == max {
                return Err(Errno::E2BIG);
            }
            n += 1;
            if !f(p)? {
                return Ok(n);
            }
        }
        at = at.checked_add(chunk.len() as u64).ok_or(Errno::EFAULT)?;
        // a count or copy of up to millions of strings: a preemption point
        // per page of pointers (the caller holds no lock)
        crate::sched::cond_resched();
    }
}

/// The strings of the user array at `addr`, which holds `count` pointers
/// (counted before), each string charged to `budget` (`E2BIG` at the
/// first that does not fit, as Linux's copy_strings()). Memory for the
/// list is reserved up front, and running out of it is `ENOMEM`.
fn read_strings(
    t: &UThread,
    addr: u64,
    count: usize,
    budget: &mut elf_loader::ArgBudget,
) -> Result<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    if count == 0 {
        return Ok(out);
    }
    out.try_reserve_exact(count).map_err(|_| Errno::ENOMEM)?;
    walk_ptr_array(t, addr, count, |p| {
        let s = t
            .read_str(UserCStr(p), elf_loader::MAX_ARG_STRLEN)
            .map_err(|e| if e == Errno::ENAMETOOLONG { Errno::E2BIG } else { e })?;
        budget.take(s.len())?;
        out.push(s);
        Ok(out.len() < count)
    })?;
    // the array changed since it was counted: a NULL where a string was
    if out.len() < count {
        return Err(Errno::EFAULT);
    }
    Ok(out)
}

/// A SIGSEGV that kills the process even if it was ignored or blocked
/// (Linux's force_fatal_sig): its action reset to the default, unblocked,
/// and queued; it is delivered before the return to user mode.
fn force_fatal_sigsegv(t: &UThread) {
    let sig = signal::SIGSEGV;
    let _ = table().with_process(t.pid, |p| p.handlers().lock().set(sig, signal::SigAction::DEFAULT));
    table().with_thread(t.tid, |th| {
        let mask = th.signals().blocked().without(sig);
        th.signals_mut().set_blocked(mask);
    });
    let _ = table().send_signal(t.pid, signal::SigInfo::kernel(sig), &Hooks);
}

/// execve(2).
pub fn execve(t: &mut UThread, pathname: u64, argv: u64, envp: u64) -> Result<isize> {
    let path = t.read_str(UserCStr(pathname), 4096)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    // to a less loaded CPU, if one is (Linux's sched_exec)
    crate::sched::balance_exec();
    // Linux's order (do_execveat_common): count both arrays, check the
    // pointers alone against the stack limit, then copy the strings. A
    // count is only read, never stored, so millions of pointers cost no
    // memory before they are refused.
    let argc = walk_ptr_array(t, argv, elf_loader::MAX_ARG_STRINGS, |_| Ok(true))?;
    let envc = walk_ptr_array(t, envp, elf_loader::MAX_ARG_STRINGS, |_| Ok(true))?;
    let stack_rlimit = table()
        .with_process(t.pid, |p| p.rlimits().cur(process::rlimit::Resource::Stack))
        .ok_or(Errno::ESRCH)?;
    let mut budget = elf_loader::ArgBudget::new(stack_rlimit, argc, envc)?;
    budget.take(path.len())?;
    let envp = read_strings(t, envp, envc, &mut budget)?;
    let argv = read_strings(t, argv, argc, &mut budget)?;
    let (root, cwd) = {
        let f = t.fs()?;
        (f.root().clone(), f.cwd().clone())
    };
    let (cred, ids) = table()
        .with_process(t.pid, |p| {
            let c = p.creds();
            (crate::syscall::fs::vfs_cred(c), elf_loader::Credentials::new(c.uid, c.euid, c.gid, c.egid))
        })
        .ok_or(Errno::ESRCH)?;
    let image = {
        let old = t.vm.clone();
        // the new address space is the exec'ing process's (Linux's
        // mm->owner) and charges its memory cgroup, not the group of the
        // old one's owner (a vfork parent)
        let (owner, sink) = (u64::from(t.pid), crate::cgroup::mem_sink(t.pid));
        // the old address space locked only to make the new one's empty
        // table: the loading has preemption points
        build(
            &|| {
                let mut v = old.lock().fresh()?;
                v.set_owner(owner);
                v.set_charge(sink.clone());
                Ok(v)
            },
            &Caller {
                root: &root,
                cwd: &cwd,
                cred: &cred,
                ids,
                stack_rlimit,
                mnt_ns: t.mnt_ns,
                timens: t.timens,
            },
            &path,
            argv,
            &envp,
        )?
    };
    drop(envp);
    let cloexec = crate::locks::exec_closing(t);
    let mq_closing = crate::syscall::mqueue::exec_closing(t);
    let tid = match table().exec(t.tid, image.vm, &Hooks) {
        Ok(tid) => tid,
        Err(e) => {
            crate::syscall::mqueue::exec_failed(t.pid, mq_closing);
            return Err(e);
        }
    };
    crate::locks::exec_closed(t.pid, cloexec);
    // a cgroup move since `mem_sink` above went to the old address space
    crate::cgroup::recharge(t.pid);
    crate::syscall::mqueue::exec_closed(t.pid, mq_closing);
    // the old address space's AIO contexts end with it (exit_aio)
    crate::syscall::aio::exit_aio(t.pid);
    // its io_uring requests are cancelled (io_uring_task_cancel): none
    // runs in the new image
    crate::syscall::io_uring::exit_uring(t.pid);
    t.uring_tctx = None;
    // and its POSIX timers (exit_itimers())
    crate::posix_timer::delete_all(t.pid);
    t.tid = tid;
    crate::rseq::exec(t);
    let old = t.vm.clone();
    t.refresh();
    // the old image, when this was its last handle, unmapped in steps
    // with preemption points (its drop would free every page at once)
    crate::uthread::release_in_steps(&old);
    drop(old);
    crate::procfs::set_exec(t.pid, &image.exe, image.exe_file);
    crate::procfs::set_exec_stack(t.pid, image.layout, image.auxv);
    if let Some(name) = path.rsplit(|&b| b == b'/').next() {
        crate::proc::set_comm(t.tid, name);
    }
    if crate::net::connector::listening() {
        crate::net::connector::exec(t.tid);
    }
    if image.fatal {
        force_fatal_sigsegv(t);
    }
    // A fresh register set: everything zero but the entry, the stack and
    // RFLAGS.IF; the FPU in its initial state.
    t.ctx.regs = GeneralRegs { rip: image.entry, rsp: image.sp, rflags: 0x202, ..GeneralRegs::default() };
    t.ctx.reset_fpu();
    Ok(0)
}

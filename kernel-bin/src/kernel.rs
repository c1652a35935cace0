//! The kernel proper (bare metal only).

use arch_x86_64::bootinfo::BootInfo;
use arch_x86_64::cmdline::Cmdline;
use arch_x86_64::mem::{PAGE_SIZE, frames, heap};
use arch_x86_64::{kprintln, qemu, time};

arch_x86_64::entry_point!(kernel_main);

/// The kernel's version, as the banner and `uname` show it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

fn kernel_main(boot: &'static BootInfo) -> ! {
    let boot_ms = time::since_boot_ns() as f64 / 1e6;
    let (free, usable) = frames::stats();
    kprintln!(
        "kernel {VERSION} (x86_64, {:?} boot) up in {boot_ms:.3} ms since its first instruction",
        boot.protocol
    );
    kprintln!(
        "memory: {} MiB usable, {} MiB free, kernel image {} KiB, heap {} KiB; TSC {} MHz (of {} PIT intervals, within {} cycles)",
        (usable * PAGE_SIZE) >> 20,
        (free * PAGE_SIZE) >> 20,
        {
            let (s, e) = frames::kernel_phys_range();
            (e - s) >> 10
        },
        heap::size() >> 10,
        time::tsc_hz() / 1_000_000,
        time::tsc_calibration().0,
        time::tsc_calibration().1
    );
    for m in boot.modules() {
        log::info!("module at {:#x}..{:#x} ({} bytes)", m.start, m.end, m.end - m.start);
    }
    if arch_x86_64::context::PAINT {
        crate::uthread::log_record_sizes();
    }
    crate::sched::init();
    crate::nic::init();
    crate::blk::init();
    let cmdline = Cmdline::new(boot.cmdline());
    log::debug!("command line: {:?}", cmdline.as_str());
    crate::procfs::set_cmdline(cmdline.as_str());

    if cmdline.get("fault") == Some("page") {
        deliberate_page_fault();
    }
    if cmdline.get("fault") == Some("kstack") {
        // an overflow of a kernel thread's stack must end in the guard
        // page's report (boot check `boot::kernel_stack_overflow_report`)
        log::info!("fault=kstack: recursing on a kernel thread's stack");
        crate::sched::spawn(1, || {
            core::hint::black_box(deliberate_recursion(0));
        });
        crate::sched::idle_until(|| false);
    }
    if cmdline.has("ktest") {
        arch_x86_64::smp::finish_aps();
        crate::lockorder::panic_on_violation();
        let start = cmdline.get_u64("ktest.start").unwrap_or(0) as usize;
        arch_x86_64::ktest::run(start);
    }
    if !cmdline.has("noinit") {
        let initrd = boot.modules().first().map(frames::module_bytes);
        run_init(cmdline.get("init"), &cmdline, initrd);
    } else {
        smp_ready();
    }
    if cmdline.has("halt") {
        loop {
            arch_x86_64::cpu::wait_for_interrupt();
        }
    }
    qemu::poweroff()
}

/// The APs online ([`arch_x86_64::smp::finish_aps`]: their TSC check and
/// count), then the clock's and the vDSO's set-up, which depend on both
/// (the per-CPU clock, the vvar page's online CPUs). Before init starts.
fn smp_ready() {
    arch_x86_64::smp::finish_aps();
    crate::time::init();
    crate::vdso::init();
}

/// Whether the root is mounted read-only: Linux's root_mountflags are
/// `MS_RDONLY` unless `rw` is on the command line (the last of `ro`/`rw`
/// before init's arguments wins).
fn root_read_only(cmdline: &Cmdline) -> bool {
    let kernel_part = cmdline.as_str().split_once(" -- ").map_or(cmdline.as_str(), |(k, _)| k);
    kernel_part.split_ascii_whitespace().rfind(|w| *w == "ro" || *w == "rw") != Some("rw")
}

/// The programs Linux's kernel_init() tries when no `init=` is given and
/// the root is not an initramfs.
const DEFAULT_INITS: &[&str] = &["/sbin/init", "/etc/init", "/bin/init", "/bin/sh"];

/// Starts `/init` (or `init=`) as pid 1 and runs the system until it
/// exits; then powers off (status 0 when init exited with 0). With
/// `root=/dev/vda` the disk is the root instead of the initramfs, and init
/// is `init=` or the first of [`DEFAULT_INITS`] present on it.
fn run_init(init: Option<&str>, cmdline: &Cmdline, initrd: Option<&[u8]>) {
    use alloc::vec::Vec;
    // the root first: the APs start meanwhile (on their own host threads
    // under multi-threaded TCG) and are counted online in `smp_ready`
    let (root, path) = match cmdline.get("root") {
        Some(dev) => {
            let root = match crate::fs::root_from_disk(dev, root_read_only(cmdline)) {
                Ok(r) => r,
                Err(e) => {
                    // Linux panics here: "VFS: Unable to mount root fs"
                    log::error!("VFS: Unable to mount root fs on {dev}: {e:?}");
                    qemu::exit(qemu::ExitCode::Failure);
                }
            };
            let cred = vfs::Cred::root();
            let ctx = vfs::Ctx::new(root.clone(), &cred);
            let found = init.or_else(|| {
                DEFAULT_INITS.iter().copied().find(|p| ctx.lookup(&root, p.as_bytes(), true).is_ok())
            });
            let Some(path) = found else {
                log::error!("No working init found. Try passing init= option to kernel.");
                let _ = crate::fs::sync_all();
                qemu::exit(qemu::ExitCode::Failure);
            };
            (root, path)
        }
        None => (crate::fs::root_from_initramfs(initrd), init.unwrap_or("/init")),
    };
    smp_ready();
    // the root seen through its mount: walks carry mounts from it
    let root = crate::fs::root_path_of(vfs::INITIAL_MNT_NS).unwrap_or_else(|| vfs::Path::new(root, None));
    let space = match arch_x86_64::mem::paging::AddressSpace::new() {
        Ok(s) => s,
        Err(e) => {
            log::error!("init: no address space: {e:?}");
            return;
        }
    };
    let template = vm::Vmar::new(space, arch_x86_64::mem::vmimpl::KernelFrames);
    // argv: init's path, then words after "--" on the command line
    let mut argv: Vec<Vec<u8>> = alloc::vec![path.as_bytes().to_vec()];
    // init's arguments: the words after " -- ", or else those after `init=`
    let words: Vec<&str> = match cmdline.as_str().split_once(" -- ") {
        Some((_, rest)) => rest.split_ascii_whitespace().collect(),
        None => cmdline
            .as_str()
            .split_ascii_whitespace()
            .skip_while(|w| !w.starts_with("init="))
            .skip(1)
            .collect(),
    };
    argv.extend(words.iter().map(|w| w.as_bytes().to_vec()));
    let envp: Vec<Vec<u8>> = alloc::vec![
        b"HOME=/".to_vec(),
        b"TERM=linux".to_vec(),
        b"PATH=/bin:/sbin:/usr/bin:/usr/sbin".to_vec()
    ];
    let ids = elf_loader::Credentials::new(0, 0, 0, 0);
    let cred = vfs::Cred::root();
    let who = crate::exec::Caller {
        root: &root,
        cwd: &root,
        cred: &cred,
        ids,
        stack_rlimit: elf_loader::STK_LIM,
        mnt_ns: vfs::INITIAL_MNT_NS,
        timens: false,
    };
    let image = match crate::exec::build(&|| template.fresh(), &who, path.as_bytes(), argv, &envp) {
        Ok(i) if i.fatal => {
            log::error!("init: cannot run {path}: its interpreter failed to load");
            return;
        }
        Ok(i) => i,
        Err(e) => {
            log::error!("init: cannot run {path}: {e:?}");
            return;
        }
    };
    drop(template);
    let (image_exe, exe_file) = (image.exe.clone(), image.exe_file);
    let (image_layout, image_auxv) = (image.layout, image.auxv);
    let mut files = fs_table::FileTable::new();
    let console = crate::devices::console();
    for _ in 0..3 {
        let _ = files.insert(console.clone(), false, fs_table::INR_OPEN_CUR);
    }
    // fork_init: threads-max from RAM, init's RLIMIT_NPROC and
    // RLIMIT_SIGPENDING half of it.
    let (_, total_frames) = arch_x86_64::mem::frames::stats();
    let max_threads = process::rlimit::max_threads_for_ram(total_frames, 4096);
    crate::proc::table().set_max_threads(max_threads);
    // user.max_*_namespaces: max_threads / 2 (user_namespace_sysctl_init)
    for kind in process::ns::NsKind::ALL {
        crate::proc::table().set_max_namespaces(kind, (max_threads / 2).min(i32::MAX as u64) as u32);
    }
    // System V sets' and queues' memory: 1/16 of RAM (no memcg here)
    crate::syscall::sysv::set_budget(total_frames);
    // an IPC namespace's end queues its tables for reaping
    crate::proc::table().set_ipc_gone(crate::syscall::shm::ipc_ns_gone);
    let nproc = process::rlimit::default_nproc(max_threads);
    log::info!("threads-max {max_threads}, RLIMIT_NPROC {nproc}");
    let init = process::table::InitProcess::new(
        arch_x86_64::user::UserContext::new(image.entry, image.sp),
        image.vm,
        fs_table::SharedFileTable::with_lock(files),
        fs_table::SharedFsContext::with_lock(fs_table::FsContext::new(root.clone(), root)),
        process::rlimit::Rlimits::init(nproc, nproc),
    );
    let pid = match crate::proc::table().spawn_init(init) {
        Ok(p) => p,
        Err(e) => {
            log::error!("init: {e:?}");
            return;
        }
    };
    crate::proc::set_comm(pid, b"init");
    crate::procfs::set_exec(pid, &image_exe, exe_file);
    crate::procfs::set_exec_stack(pid, image_layout, image_auxv);
    process::seams::Hooks::thread_created(&crate::proc::Hooks, pid);
    log::info!("started {path} as pid {pid}");
    // The boot CPU's idle loop asks this on every turn (each interrupt,
    // each wake-up). init's exit sets a flag (one load); the process
    // table, for an end the flag misses (init's last two threads leaving
    // by exit(2) at once), is looked at once per 100 ms of the clock: its
    // lock on every turn was contended by the CPU running the tasks (a
    // 2-CPU vfork_exit_wait's profile had this loop spinning on it).
    let next_look = core::cell::Cell::new(0u64);
    let done = || {
        if crate::proc::init_exit().is_some() {
            return true;
        }
        let now = time::since_boot_ns();
        if now < next_look.get() {
            return false;
        }
        next_look.set(now.saturating_add(100_000_000));
        crate::proc::table()
            .with_process(1, |p| p.state() == process::table::ProcState::Zombie)
            .unwrap_or(true)
    };
    crate::sched::idle_until(done);
    let status = crate::proc::init_exit()
        .or_else(|| crate::proc::table().with_process(1, |p| p.exit_status()).flatten());
    log::info!("init exited: {status:?}");
    // the power-off path: what is on a disk's write-back cache reaches it
    let _ = crate::fs::sync_all();
    match status {
        Some(process::wait::ChildStatus::Exited(0)) => qemu::poweroff(),
        _ => qemu::exit(qemu::ExitCode::Failure),
    }
}

#[inline(never)]
fn deliberate_page_fault() -> ! {
    log::info!("fault=page: reading an unmapped kernel address");
    arch_x86_64::trap::deliberate_page_fault()
}

/// Recurses with 512-byte frames until the stack overflows (fault=kstack).
#[inline(never)]
fn deliberate_recursion(depth: u64) -> u64 {
    let mut frame = [0u8; 512];
    frame[(depth % 512) as usize] = depth as u8;
    let frame = core::hint::black_box(frame);
    if core::hint::black_box(true) { deliberate_recursion(depth + 1) + u64::from(frame[1]) } else { 0 }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    arch_x86_64::panic::report(info)
}

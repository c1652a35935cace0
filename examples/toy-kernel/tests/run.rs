//! The toy kernel runs fork, a copy-on-write fault, a thread clone, a
//! signal delivered and a wait through the crates' public API.

use std::sync::{Arc, Mutex};

use process::clone::{CloneArgs, CloneFlags};
use process::rlimit::Rlimits;
use process::seams::VmMemory;
use process::sigstate::{Origin, sigbit};
use process::table::{InitProcess, ProcessTable};
use process::uaccess::UserMemory;
use toy_kernel::files_glue::{ToyFiles, ToyFs};
use toy_kernel::process_glue::{Regs, Scheduler, Toy, ToySpace};
use toy_kernel::sigstate_glue::Info;
use toy_kernel::vm_glue::{BumpFrames, MapPageTable, ToyFrames};
use vm::{Access, FaultOutcome, Vmar};

const DATA: usize = 0x40_0000;

fn boot() -> ProcessTable<Toy> {
    let mut vm = ToySpace::default();
    vm.map(DATA, 4 * 4096);
    // fd 0 the console, fd 1 a close-on-exec log
    let files = ToyFiles::default();
    files.0.lock().unwrap().extend([Some(("console".into(), false)), Some(("log".into(), true))]);
    let table = ProcessTable::new(32768);
    let context = Regs { sp: 0x7fff_0000, ip: 0x40_1000, ..Regs::default() };
    let fs = ToyFs(Arc::new(Mutex::new("/".into())));
    let init = InitProcess::new(context, vm, files, fs, Rlimits::init(1024, 4096));
    assert_eq!(table.spawn_init(init), Ok(1));
    table
}

#[test]
fn fork_cow_thread_signal_wait() {
    let table = boot();
    let sched = Scheduler::default();
    let vm_of = |pid| table.with_process(pid, |p| p.vm().unwrap().clone()).unwrap();
    VmMemory::<Toy>(&vm_of(1)).write_u32(DATA as u64, 0xaaaa).unwrap();
    let page = |pid| vm_of(pid).lock().0[&DATA].clone();

    // fork: the child shares the page copy-on-write
    let child = table.clone_task(1, &CloneArgs::fork(), &sched).unwrap();
    assert_eq!(table.getppid(child), Ok(1));
    assert!(Arc::ptr_eq(&page(1), &page(child)));
    // the child's store copies the page, the parent keeps its value
    let cvm = vm_of(child);
    VmMemory::<Toy>(&cvm).write_u32(DATA as u64, 0xbbbb).unwrap();
    assert!(!Arc::ptr_eq(&page(1), &page(child)));
    assert_eq!(VmMemory::<Toy>(&vm_of(1)).read_u32(DATA as u64), Ok(0xaaaa));
    assert_eq!(VmMemory::<Toy>(&cvm).read_u32(DATA as u64), Ok(0xbbbb));
    assert_eq!(VmMemory::<Toy>(&cvm).read_u32(0x1000), Err(linux_abi::Errno::EFAULT));
    drop(cvm);

    // a thread of the child: same address space, its own stack
    let flags =
        CloneFlags::VM | CloneFlags::FS | CloneFlags::FILES | CloneFlags::SIGHAND | CloneFlags::THREAD;
    let thread =
        table.clone_task(child, &CloneArgs::from_clone(flags.bits(), 0x5000_0000, 0, 0, 0), &sched).unwrap();
    assert_eq!(table.tgid(thread), Some(child));
    assert_eq!(table.with_thread(thread, |t| t.context().sp), Some(0x5000_0000));
    assert_eq!(*sched.run_queue.lock().unwrap(), [child, thread]);

    // SIGUSR1 with a handler (the toy's own signal state), blocked by the
    // child's first thread: the other thread is woken and takes it
    const SIGUSR1: u32 = 10;
    let h = table.with_process(child, |p| p.handlers().clone()).unwrap();
    h.lock().unwrap()[SIGUSR1 as usize - 1] = 0x40_2000;
    table.with_thread(child, |t| t.signals_mut().blocked |= sigbit(SIGUSR1));
    table.kill(1, child as i32, SIGUSR1 as i32, &sched).unwrap();
    assert_eq!(*sched.woken.lock().unwrap(), [thread]);
    assert_eq!(table.dequeue_signal(child), None);
    let info = table.dequeue_signal(thread);
    assert_eq!(info, Some(Info(SIGUSR1, Origin::User { pid: 1, uid: 0 })));
    // the toy's delivery: the handler's address from the shared actions
    let entry = h.lock().unwrap()[SIGUSR1 as usize - 1] as usize;
    table.with_thread(thread, |t| t.context_mut().ip = entry);
    assert_eq!(table.with_thread(thread, |t| t.context().ip), Some(0x40_2000));
    // SIGCONT is ignored by default: queued for no thread
    table.kill(1, child as i32, 18, &sched).unwrap();
    assert_eq!(table.dequeue_signal(thread), None);

    // the child exits; init waits for it
    assert_eq!(table.wait4(1, -1, 0, &sched).map(|r| r.0), Err(linux_abi::Errno::EINTR));
    // SIGTERM at its default action kills the group
    table.kill(1, child as i32, 15, &sched).unwrap();
    assert!(table.with_process(child, |p| p.is_group_exiting()).unwrap());
    table.exit_group(thread, process::wait::ChildStatus::exited(7), &sched);
    // the scheduler runs the threads the group exit killed: they exit
    for t in table.threads_to_kill() {
        table.exit_thread(t, 0, &sched);
    }
    assert_eq!(table.wait4(1, -1, 0, &sched).map(|r| (r.0, r.1)), Ok((child, 15)));
    assert!(sched.run_queue.lock().unwrap().is_empty());
    assert_eq!(table.pids(), [1]);
}

/// The toy's own fd table and fs context through the process table:
/// fork copies them, `CLONE_FILES`/`CLONE_FS` share them, unshare copies a
/// shared one, exec sweeps the close-on-exec fds of a private copy.
#[test]
fn fd_table_and_fs_context() {
    let table = boot();
    let sched = Scheduler::default();
    let files = |tid| table.with_thread(tid, |t| t.files().unwrap().0.clone()).unwrap();
    let cwd = |tid| table.with_thread(tid, |t| t.fs().unwrap().0.clone()).unwrap();
    let names = |tid| -> Vec<Option<String>> {
        files(tid).lock().unwrap().iter().map(|e| e.as_ref().map(|e| e.0.clone())).collect()
    };

    // fork: copies (a close in the child is not seen by the parent)
    let child = table.clone_task(1, &CloneArgs::fork(), &sched).unwrap();
    assert!(!Arc::ptr_eq(&files(1), &files(child)) && !Arc::ptr_eq(&cwd(1), &cwd(child)));
    files(child).lock().unwrap()[0] = None;
    assert_eq!(names(1), [Some("console".into()), Some("log".into())]);
    *cwd(child).lock().unwrap() = "/tmp".into();
    assert_eq!(*cwd(1).lock().unwrap(), "/");

    // CLONE_FILES | CLONE_FS: the same table and cwd
    let flags = CloneFlags::FILES | CloneFlags::FS;
    let sib = table.clone_task(1, &CloneArgs::from_clone(flags.bits() | 17, 0, 0, 0, 0), &sched).unwrap();
    assert!(Arc::ptr_eq(&files(1), &files(sib)) && Arc::ptr_eq(&cwd(1), &cwd(sib)));
    // unshare(CLONE_FS) gives sib its own cwd, the fd table stays shared
    table.unshare(sib, CloneFlags::FS.bits()).unwrap();
    assert!(!Arc::ptr_eq(&cwd(1), &cwd(sib)) && Arc::ptr_eq(&files(1), &files(sib)));

    // exec in sib: a private table without the close-on-exec log; init's keeps it
    assert_eq!(table.exec(sib, ToySpace::default(), &sched), Ok(sib));
    assert!(!Arc::ptr_eq(&files(1), &files(sib)));
    assert_eq!(names(sib), [Some("console".into()), None]);
    assert_eq!(names(1), [Some("console".into()), Some("log".into())]);
    // unshare(CLONE_FILES) of a table no one shares keeps it
    let before = Arc::as_ptr(&files(sib));
    table.unshare(sib, CloneFlags::FILES.bits()).unwrap();
    assert_eq!(before, Arc::as_ptr(&files(sib)));
    // ... and of a shared one copies it
    let held = files(sib);
    table.unshare(sib, CloneFlags::FILES.bits()).unwrap();
    assert!(!Arc::ptr_eq(&held, &files(sib)));
}

/// `vm` over the toy's page table and frames: fork, a copy-on-write fault,
/// every frame back at the end.
#[test]
fn vm_fork_cow_fault() {
    let frames = BumpFrames::default();
    let mut vm = Vmar::new(MapPageTable::default(), ToyFrames::new(frames.clone()));
    // MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, PROT_READ | PROT_WRITE.
    assert_eq!(vm.mmap(DATA, 4 * 4096, 3, 0x32, None, 0), Ok(DATA));
    vm.write_user(DATA, b"parent").unwrap();
    let mut child = vm.fork().unwrap();
    let shared = frames.in_use();
    assert_eq!(shared, 1);
    // the child's store faults: a copy is made, the parent keeps its bytes
    assert_eq!(child.handle_page_fault(DATA, Access::Write), FaultOutcome::Resolved);
    assert_eq!(frames.in_use(), shared + 1);
    child.write_user(DATA, b"child!").unwrap();
    let mut buf = [0; 6];
    vm.read_user(DATA, &mut buf).unwrap();
    assert_eq!(&buf, b"parent");
    child.read_user(DATA, &mut buf).unwrap();
    assert_eq!(&buf, b"child!");
    // the parent's frame is its own again (count 1): a write copies nothing
    vm.write_user(DATA, b"again!").unwrap();
    assert_eq!((frames.in_use(), vm.cow_copies()), (shared + 1, 0));
    // a read of an untouched page maps a zero frame; unmapped is EFAULT
    assert_eq!(vm.read_user(DATA + 4096, &mut buf), Ok(()));
    assert_eq!(vm.read_user(0x1000, &mut buf), Err(linux_abi::Errno::EFAULT));
    drop((vm, child));
    assert_eq!(frames.in_use(), 0);
}

/// Code lines of each glue module (no blank or comment lines).
#[test]
fn glue_lines() {
    let count =
        |src: &str| src.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("//")).count();
    let vm = count(include_str!("../src/vm_glue.rs"));
    let signal = count(include_str!("../src/signal_glue.rs"));
    let sigstate = count(include_str!("../src/sigstate_glue.rs"));
    let process = count(include_str!("../src/process_glue.rs"));
    let files = count(include_str!("../src/files_glue.rs"));
    eprintln!(
        "glue lines: process {process} (without vm), fd table and fs context {files} (process without fs-table), vm {vm}, signal {signal}, signal state {sigstate} (process without signal)"
    );
    assert!(process <= 100 && files <= 40 && vm <= 60 && signal <= 30 && sigstate <= 120, "glue over budget");
}

/// kernabi-signal on its own (the toy's `signal` glue): a process-directed
/// SIGUSR1 blocked by one thread runs the other's handler; SIGTERM at its
/// default action is fatal.
#[cfg(feature = "signal")]
#[test]
fn signal_delivery_to_a_handler() {
    use signal::{
        PendingQueue, SIGTERM, SIGUSR1, SaFlags, SigAction, SigInfo, SigQueueAccount, SigSet, ThreadSignals,
    };
    use toy_kernel::signal_glue::{Delivered, deliver};

    let h = signal::SharedSigHandlers::new();
    let _ = h.lock().set(SIGUSR1, SigAction::handler(0x40_2000, SaFlags::empty(), SigSet::EMPTY)).unwrap();
    let (mut a, mut b, mut process) = (ThreadSignals::new(), ThreadSignals::new(), PendingQueue::new());
    a.set_blocked(SigSet::single(SIGUSR1));
    process.enqueue(SigInfo::kernel(SIGUSR1), &SigQueueAccount::new(), 64).unwrap();
    let mut regs = Regs { sp: 0x5000_0000, ..Regs::default() };
    assert_eq!(deliver(&mut a, &mut process, &h, &mut regs), Delivered::Nothing);
    match deliver(&mut b, &mut process, &h, &mut regs) {
        Delivered::Handler(sig, saved) => assert_eq!((sig, saved.sp), (SIGUSR1, 0x5000_0000)),
        other => panic!("{other:?}"),
    }
    assert_eq!(regs.ip, 0x40_2000);
    assert!(b.blocked().contains(SIGUSR1), "the handler runs with its signal blocked");
    b.pending_mut().enqueue(SigInfo::kernel(SIGTERM), &SigQueueAccount::new(), 64).unwrap();
    assert_eq!(deliver(&mut b, &mut process, &h, &mut regs), Delivered::Fatal(SIGTERM));
}

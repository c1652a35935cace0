//! unshare(CLONE_FILES | CLONE_FS) and exec copy and sweep the fd table and
//! fs context with no table lock held: a platform whose handles record
//! whether the table was locked when the process model called them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use linux_abi::{Errno, Result};
use process::clone::{CloneArgs, CloneFlags};
use process::pid::Pid;
use process::rlimit::Rlimits;
use process::seams::{FdTable, FsContext, Hooks, Platform};
use process::table::{InitProcess, ProcessTable};
use process::testing::{FakeContext, TestExt};

struct Watched;

static TABLE: OnceLock<ProcessTable<Watched>> = OnceLock::new();
/// (locked, unlocked) counts of fork/exec calls.
static CALLS: Mutex<(usize, usize)> = Mutex::new((0, 0));
static SWEEPS: AtomicUsize = AtomicUsize::new(0);

fn record() {
    let locked = TABLE.get().is_some_and(|t| t.is_locked());
    let mut c = CALLS.lock().unwrap();
    if locked { c.0 += 1 } else { c.1 += 1 }
}

/// A handle on a shared value; fork and exec record the table's lock.
#[derive(Clone, Default)]
struct H(Arc<Mutex<u32>>);

impl FdTable for H {
    type Closed = ();
    fn share(&self) -> Self {
        self.clone()
    }
    fn fork(&self) -> Result<Self> {
        record();
        Ok(H(Arc::new(Mutex::new(*self.0.lock().unwrap()))))
    }
    fn is_shared(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }
    fn exec(&mut self) -> Result<()> {
        record();
        SWEEPS.fetch_add(1, Ordering::Relaxed);
        if FdTable::is_shared(self) {
            *self = FdTable::fork(self)?;
        }
        Ok(())
    }
}

impl FsContext for H {
    fn share(&self) -> Self {
        self.clone()
    }
    fn fork(&self) -> Result<Self> {
        FdTable::fork(self)
    }
    fn is_shared(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }
}

impl Platform for Watched {
    type Context = FakeContext;
    type Vm = vm::testing::TestVmar;
    type Files = H;
    type Fs = H;
    type Signals = process::sigstate::SignalTypes;
    type Lock = spin::Mutex<()>;
    type ThreadExt = TestExt;
    type ProcessExt = TestExt;
}

struct NoSched;
impl Hooks<Watched> for NoSched {
    fn thread_created(&self, _tid: Pid) {}
    fn wait_vfork_done(&self, _parent: Pid, _child: Pid) {}
    fn vfork_done(&self, _parent: Pid, _child: Pid) {}
    fn wait_for_child(&self, _waiter: Pid, _seen: u64) -> Result<()> {
        Err(Errno::EINTR)
    }
}

#[test]
fn unshare_and_exec_copy_with_no_table_lock() {
    let frames = vm::testing::TestFrames::new();
    let table = TABLE.get_or_init(|| ProcessTable::new(32768));
    let init = InitProcess::new(
        FakeContext::default(),
        vm::testing::test_vmar(&frames),
        H::default(),
        H::default(),
        Rlimits::init(1024, 1024),
    );
    assert_eq!(table.spawn_init(init), Ok(1));
    // a child sharing init's fd table and fs context
    let flags = (CloneFlags::FILES | CloneFlags::FS).bits() | 17;
    let child = table.clone_task(1, &CloneArgs::from_clone(flags, 0, 0, 0, 0), &NoSched).unwrap();
    assert_eq!(*CALLS.lock().unwrap(), (0, 0), "shared: nothing copied");
    // unshare(CLONE_FS | CLONE_FILES): two copies, both unlocked
    table.unshare(child, (CloneFlags::FS | CloneFlags::FILES).bits()).unwrap();
    assert_eq!(*CALLS.lock().unwrap(), (0, 2));
    let private = |tid| table.with_thread(tid, |t| !FdTable::is_shared(t.files().unwrap())).unwrap();
    assert!(private(1) && private(child));
    // exec in init, whose table the grandchild shares: copied and swept unlocked
    let g = table.clone_task(1, &CloneArgs::from_clone(flags, 0, 0, 0, 0), &NoSched).unwrap();
    assert_eq!(table.exec(1, vm::testing::test_vmar(&frames), &NoSched), Ok(1));
    assert_eq!((*CALLS.lock().unwrap(), SWEEPS.load(Ordering::Relaxed)), ((0, 4), 1));
    assert!(private(1) && private(g));
}

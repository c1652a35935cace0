//! The in-kernel test framework (stable Rust, no custom test harness).
//!
//! [`ktest!`](crate::ktest!) registers a test function in the `.ktests`
//! linker section; [`run`] runs them in name order from an index and prints
//! one line per step on the serial console:
//!
//! ```text
//! ktest: count 7
//! ktest: run 0 arch_x86_64::tests::frames
//! ktest: ok 0 arch_x86_64::tests::frames
//! ktest: FAILED 3 kernel_bin::tests::x: panicked at src/x.rs:10:5: boom
//! ktest: done
//! ```
//!
//! A test that panics or faults cannot be unwound (panic = abort), so the
//! kernel reports it FAILED and exits QEMU; `cargo xtask test` boots again
//! with `ktest.start=` the next index. A hang is cut by xtask's timeout the
//! same way.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

/// One registered test.
pub struct KernelTest {
    /// Full path of the test function.
    pub name: &'static str,
    /// The test; it fails by panicking.
    pub func: fn(),
}

/// Registers a kernel test:
///
/// ```ignore
/// arch_x86_64::ktest!(fn heap_grows() { assert!(...) });
/// ```
#[macro_export]
macro_rules! ktest {
    (fn $name:ident() $body:block) => {
        fn $name() $body
        const _: () = {
            #[used]
            // SAFETY: the section holds only values of this type, read back through the linker symbols around it.
            #[unsafe(link_section = ".ktests")]
            static TEST: $crate::ktest::KernelTest = $crate::ktest::KernelTest {
                name: concat!(module_path!(), "::", stringify!($name)),
                func: $name,
            };
        };
    };
}

// SAFETY: declarations only: these symbols come from this crate's linker script or assembly, with these types.
unsafe extern "C" {
    static __ktests_start: u8;
    static __ktests_end: u8;
}

const NONE: usize = usize::MAX;
static CURRENT: AtomicUsize = AtomicUsize::new(NONE);
static CURRENT_NAME: spin::Mutex<&str> = spin::Mutex::new("");

/// Every registered test, sorted by name.
pub fn tests() -> Vec<&'static KernelTest> {
    let start = &raw const __ktests_start as usize;
    let end = &raw const __ktests_end as usize;
    let n = (end - start) / core::mem::size_of::<KernelTest>();
    // SAFETY: the linker script gathers the `.ktests` input sections, each
    // one `KernelTest` static (size a multiple of its alignment, so there is
    // no padding between them), between these two symbols.
    let all = unsafe { core::slice::from_raw_parts(start as *const KernelTest, n) };
    let mut v: Vec<_> = all.iter().collect();
    v.sort_by_key(|t| t.name);
    v
}

/// Runs the tests from index `first` on, then exits QEMU with success.
/// With `ktest.filter=TEXT` on the command line only the tests whose name
/// contains TEXT run (the others are not reported).
pub fn run(first: usize) -> ! {
    let tests = tests();
    let cmdline = crate::boot_info().map_or("", |b| b.cmdline());
    let filter = crate::cmdline::Cmdline::new(cmdline).get("ktest.filter").unwrap_or("");
    crate::kprintln!("ktest: count {}", tests.len());
    for (i, t) in tests.iter().enumerate().skip(first) {
        if !t.name.contains(filter) {
            continue;
        }
        crate::kprintln!("ktest: run {i} {}", t.name);
        *CURRENT_NAME.lock() = t.name;
        CURRENT.store(i, Ordering::SeqCst);
        (t.func)();
        CURRENT.store(NONE, Ordering::SeqCst);
        crate::kprintln!("ktest: ok {i} {}", t.name);
    }
    crate::kprintln!("ktest: done");
    crate::qemu::exit(crate::qemu::ExitCode::Success)
}

/// Called on a panic or a fatal exception: reports the running test (if
/// any) as failed with `why`.
pub fn on_fatal(why: core::fmt::Arguments) {
    let i = CURRENT.swap(NONE, Ordering::SeqCst);
    if i != NONE {
        let name = CURRENT_NAME.try_lock().map_or("?", |n| *n);
        crate::kprintln_unlocked!("ktest: FAILED {i} {name}: {why}");
    }
}

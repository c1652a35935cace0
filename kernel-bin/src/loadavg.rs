//! The load average: `process::loadavg::LoadAvg` sampled every 5 s by CPU
//! 0's timer work (`sched::device_work`) with the tasks running or
//! queued; read by /proc/loadavg and sysinfo(2).

use core::sync::atomic::{AtomicU64, Ordering};
use process::loadavg::{LoadAvg, PERIOD_NS};

static LOAD: spin::Mutex<LoadAvg> = spin::Mutex::new(LoadAvg::new());
/// When the next sample is due (ns since boot).
static NEXT: AtomicU64 = AtomicU64::new(PERIOD_NS);

/// Takes the sample when a period ended (one load when none did).
pub fn sample() {
    let now = arch_x86_64::time::since_boot_ns();
    let next = NEXT.load(Ordering::Relaxed);
    if now < next {
        return;
    }
    let missed = (now - next) / PERIOD_NS;
    if NEXT
        .compare_exchange(next, next + (missed + 1) * PERIOD_NS, Ordering::Relaxed, Ordering::Relaxed)
        .is_err()
    {
        return;
    }
    let active = crate::sched::nr_active() as u64;
    LOAD.lock().sample(active, missed);
}

/// The 1-, 5- and 15-minute means (fixed point, `process::loadavg::FSHIFT`).
pub fn fixed() -> [u64; 3] {
    LOAD.lock().fixed()
}

//! The load average of `/proc/loadavg`, `uptime` and sysinfo(2): Linux's
//! `calc_load`, an exponentially decaying mean of the number of active
//! (runnable) tasks, sampled every [`PERIOD_NS`] and kept in fixed point
//! with [`FSHIFT`] fraction bits. The kernel calls [`LoadAvg::sample`]
//! from its timer work; periods nobody sampled (every CPU idle) count as
//! periods with no active task, as Linux's NO_HZ catch-up does.
//!
//! ```
//! use process::loadavg::LoadAvg;
//! let mut l = LoadAvg::new();
//! // one task busy for a minute: the 1-minute mean climbs toward 1
//! for _ in 0..12 {
//!     l.sample(1, 0);
//! }
//! assert_eq!(LoadAvg::text(l.fixed()[0]), "0.63");
//! ```

/// Fraction bits of the fixed-point means (Linux's FSHIFT).
pub const FSHIFT: u32 = 11;
/// 1.0 in fixed point.
pub const FIXED_1: u64 = 1 << FSHIFT;
/// The sampling period: 5 s (Linux's LOAD_FREQ).
pub const PERIOD_NS: u64 = 5_000_000_000;
/// The decay per period of the 1-, 5- and 15-minute means:
/// FIXED_1 / exp(5 s / 1, 5, 15 min) (Linux's EXP_1, EXP_5, EXP_15).
const EXP: [u64; 3] = [1884, 2014, 2037];

/// The three means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadAvg {
    avenrun: [u64; 3],
}

/// One period's step of one mean (Linux's `calc_load`, rounding up while
/// the load rises).
fn step(load: u64, exp: u64, active: u64) -> u64 {
    let mut new = load * exp + active * (FIXED_1 - exp);
    if active >= load {
        new += FIXED_1 - 1;
    }
    new / FIXED_1
}

impl LoadAvg {
    /// All three means at zero (boot).
    pub const fn new() -> Self {
        LoadAvg { avenrun: [0; 3] }
    }

    /// A sample of `active` tasks at the end of a period, after `missed`
    /// earlier periods that nobody sampled (taken as idle).
    pub fn sample(&mut self, active: u64, missed: u64) {
        let active = active.saturating_mul(FIXED_1);
        for (a, &exp) in self.avenrun.iter_mut().zip(EXP.iter()) {
            // an idle period only decays (at most ~20 minutes' worth
            // matter: beyond, every mean is 0)
            for _ in 0..missed.min(256) {
                *a = step(*a, exp, 0);
            }
            *a = step(*a, exp, active);
        }
    }

    /// The 1-, 5- and 15-minute means in fixed point ([`FSHIFT`] bits).
    pub fn fixed(&self) -> [u64; 3] {
        self.avenrun
    }

    /// A mean as `/proc/loadavg` prints it: two decimals, truncated
    /// (Linux's LOAD_INT.LOAD_FRAC, after adding FIXED_1/200).
    pub fn text(fixed: u64) -> alloc::string::String {
        let x = fixed + FIXED_1 / 200;
        alloc::format!("{}.{:02}", x >> FSHIFT, ((x & (FIXED_1 - 1)) * 100) >> FSHIFT)
    }

    /// A mean as sysinfo(2)'s `loads` gives it (16 fraction bits).
    pub fn sysinfo(fixed: u64) -> u64 {
        fixed << (16 - FSHIFT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_then_idle_rises_and_decays_as_linux() {
        let mut l = LoadAvg::new();
        l.sample(2, 0);
        // 2 * (2048 - 1884) + 2047 over 2048, rounded up while rising
        assert_eq!(l.fixed()[0], (2 * 2048 * (2048 - 1884u64)).div_ceil(2048));
        for _ in 0..59 {
            l.sample(2, 0);
        }
        // five minutes of two busy tasks: the 1-minute mean is
        // 2 * (1 - e^-5) = 1.987
        assert_eq!(LoadAvg::text(l.fixed()[0]), "1.99");
        let five = l.fixed()[1];
        assert!(five > FIXED_1 && five < 2 * FIXED_1, "{five}");
        // a minute unsampled (idle), then a sample of 0
        l.sample(0, 11);
        assert!(l.fixed()[0] < FIXED_1, "{}", l.fixed()[0]);
        assert!(l.fixed()[2] < l.fixed()[1] || l.fixed()[1] < FIXED_1);
    }

    #[test]
    fn idle_stays_zero_and_formats() {
        let mut l = LoadAvg::new();
        l.sample(0, 3);
        assert_eq!(l.fixed(), [0, 0, 0]);
        assert_eq!(LoadAvg::text(0), "0.00");
        assert_eq!(LoadAvg::text(FIXED_1), "1.00");
        assert_eq!(LoadAvg::text(FIXED_1 / 2), "0.50");
        assert_eq!(LoadAvg::sysinfo(FIXED_1), 65536);
    }
}

//! Software fakes for host tests: a settable clock and a helper that
//! polls a stack until it is quiet.

use alloc::vec::Vec;

use crate::{Duration, Instant, SockId, Stack};

/// A clock the test moves by hand.
#[derive(Clone, Copy, Debug)]
pub struct ManualClock {
    now: Instant,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock { now: Instant::from_millis(1_000) }
    }
}

impl ManualClock {
    /// The current time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }
}

/// Polls `stack` at the clock's time until nothing moves (at most 64
/// rounds); returns the sockets whose readiness changed.
pub fn pump(stack: &mut Stack, clock: &ManualClock) -> Vec<SockId> {
    let mut changed = Vec::with_capacity(256);
    for _ in 0..64 {
        if !stack.poll(clock.now(), &mut changed) {
            break;
        }
    }
    changed
}

/// Moves the clock in `step`s up to `total`, polling at each step.
pub fn run_for(stack: &mut Stack, clock: &mut ManualClock, total: Duration, step: Duration) {
    let mut t = Duration::ZERO;
    while t < total {
        clock.advance(step);
        pump(stack, clock);
        t += step;
    }
}

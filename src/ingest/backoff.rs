//! Reconnect delays: jittered exponential backoff with a cap.
//!
//! In: the number of consecutive failed attempts. Out: how long to wait before the next one,
//! drawn uniformly from the upper half of `min(cap, initial · 2^attempt)`, so a fleet of
//! clients cut off together does not reconnect in lock-step, and the wait still grows.

use rand::Rng;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The ceiling of the delay before retry number `attempt` (0 = the first retry).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The delay before retry number `attempt`: uniform in [ceiling/2, ceiling].
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let top = self.ceiling(attempt);
        let half = top / 2;
        let spread = (top - half).as_nanos() as u64;
        half + Duration::from_nanos(if spread == 0 {
            0
        } else {
            rng.random_range(0..=spread)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn delays_grow_to_the_cap_and_stay_jittered_inside_it() {
        let b = Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(250));
        assert_eq!(b.ceiling(3), Duration::from_secs(2));
        assert_eq!(b.ceiling(7), Duration::from_secs(30));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(30));
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..200).map(|_| b.delay(2, &mut rng)).collect();
        assert!(
            delays
                .iter()
                .all(|d| (500..=1_000).contains(&d.as_millis()))
        );
        // Jitter: not all the same.
        assert!(delays.iter().any(|d| *d != delays[0]));
    }
}

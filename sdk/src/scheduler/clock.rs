//! The scheduler's clock: monotonic time for delays and timeouts, wall-clock time for
//! what is stored (a restarted scheduler goes on from stored wall-clock times).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What time it is, for the scheduler's decisions.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The monotonic time now.
    fn now(&self) -> Instant;
    /// Milliseconds since the Unix epoch now.
    fn epoch_ms(&self) -> u64;

    /// The monotonic instant of a stored wall-clock time (in the past or the future).
    fn instant_of(&self, epoch_ms: u64) -> Instant {
        let (now, now_ms) = (self.now(), self.epoch_ms());
        if epoch_ms >= now_ms {
            now + Duration::from_millis(epoch_ms - now_ms)
        } else {
            now.checked_sub(Duration::from_millis(now_ms - epoch_ms))
                .unwrap_or(now)
        }
    }

    /// The wall-clock time of a monotonic instant.
    fn epoch_ms_of(&self, at: Instant) -> u64 {
        let (now, now_ms) = (self.now(), self.epoch_ms());
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        if at >= now {
            now_ms.saturating_add(millis(at - now))
        } else {
            now_ms.saturating_sub(millis(now - at))
        }
    }
}

/// The system's clocks.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn epoch_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to (for tests).
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    start_ms: u64,
    elapsed: std::sync::Mutex<Duration>,
}

impl ManualClock {
    /// A clock standing at `epoch_ms`.
    pub fn new(epoch_ms: u64) -> ManualClock {
        ManualClock {
            start: Instant::now(),
            start_ms: epoch_ms,
            elapsed: std::sync::Mutex::new(Duration::ZERO),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut elapsed = self.elapsed.lock().unwrap_or_else(|e| e.into_inner());
        *elapsed += by;
    }

    fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed()
    }

    fn epoch_ms(&self) -> u64 {
        self.start_ms + u64::try_from(self.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_map_to_instants_and_back() {
        let clock = ManualClock::new(1_000_000);
        let now = clock.now();
        assert_eq!(clock.instant_of(1_005_000), now + Duration::from_secs(5));
        assert_eq!(clock.instant_of(999_000), now - Duration::from_secs(1));
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.epoch_ms(), 1_002_000);
        assert_eq!(clock.epoch_ms_of(now), 1_000_000);
        assert_eq!(
            clock.epoch_ms_of(clock.now() + Duration::from_secs(1)),
            1_003_000
        );
    }
}

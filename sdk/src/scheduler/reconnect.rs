//! When the event loop subscribes again after a failed SUBSCRIBE or a lost stream.
//!
//! Two needs pull apart: a master that is down must be found again within a second of
//! answering again, and a master that accepts the subscription and drops the stream at
//! once must not be hammered. So an unreachable master is probed at least twice a
//! second; any other failure backs off exponentially; and the backoff starts over only
//! after a subscription that stayed up [`HEALTHY_AFTER`], not after every SUBSCRIBED.
//!
//! Some refusals are not attempts at all: refused credentials (401) and a failed TLS
//! handshake ([`MesosError::is_permanent`](crate::mesos::MesosError::is_permanent)) stop
//! the scheduler with one error instead of being tried again.

use std::time::Duration;

use crate::mesos::Backoff;

/// The first delay before subscribing again.
const FIRST_DELAY: Duration = Duration::from_millis(500);
/// The longest delay before subscribing again to a master that answers.
const MAX_DELAY: Duration = Duration::from_secs(30);
/// The longest delay between two attempts while the master cannot be reached: half a
/// second, so that a master answering again is found within a second with room to spare.
pub(super) const PROBE_EVERY: Duration = Duration::from_millis(500);
/// How long a subscription must stay up for its loss to start the backoff over.
pub(super) const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// How an attempt to subscribe (and to stay subscribed) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attempt {
    /// The master could not be reached, or answered that it is unavailable.
    Unreachable,
    /// The master answered, but refused the subscription or ended its stream before
    /// SUBSCRIBED.
    Refused,
    /// The subscription was lost after it had been up this long.
    Lost(Duration),
}

/// The delays between attempts to subscribe.
#[derive(Debug)]
pub(super) struct Reconnect {
    backoff: Backoff,
}

impl Default for Reconnect {
    fn default() -> Reconnect {
        Reconnect {
            backoff: Backoff::new(FIRST_DELAY, MAX_DELAY),
        }
    }
}

impl Reconnect {
    /// How long to wait after `attempt` before subscribing again.
    pub(super) fn delay(&mut self, attempt: Attempt) -> Duration {
        match attempt {
            Attempt::Unreachable => self.backoff.next_delay().min(PROBE_EVERY),
            Attempt::Refused => self.backoff.next_delay(),
            Attempt::Lost(up) => {
                if up >= HEALTHY_AFTER {
                    self.backoff.reset();
                }
                self.backoff.next_delay()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_dropped_right_after_subscribed_backs_off_up_to_the_maximum() {
        let mut r = Reconnect::default();
        let delays: Vec<Duration> = (0..10)
            .map(|_| r.delay(Attempt::Lost(Duration::from_millis(5))))
            .collect();
        // Each delay lies between half and all of 0.5 s doubled per attempt.
        for (i, d) in delays.iter().enumerate() {
            let cap = FIRST_DELAY.saturating_mul(1 << i).min(MAX_DELAY);
            assert!(*d >= cap / 2 && *d <= cap, "attempt {i}: {d:?}");
        }
        let total: Duration = delays.iter().sum();
        assert!(total >= Duration::from_secs(60), "{total:?}");
    }

    #[test]
    fn a_healthy_subscription_starts_the_backoff_over() {
        let mut r = Reconnect::default();
        for _ in 0..8 {
            r.delay(Attempt::Refused);
        }
        assert!(r.delay(Attempt::Lost(HEALTHY_AFTER)) <= FIRST_DELAY);
    }

    #[test]
    fn an_unreachable_master_is_probed_at_least_once_a_second() {
        let mut r = Reconnect::default();
        for _ in 0..30 {
            assert!(r.delay(Attempt::Unreachable) <= PROBE_EVERY);
        }
        // Once it answers and refuses, the backoff goes on from where it was.
        assert!(r.delay(Attempt::Refused) >= MAX_DELAY / 2);
    }
}

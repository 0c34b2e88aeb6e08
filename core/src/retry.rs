//! The reconnect and retry policy: how connection attempts are spaced, and
//! which failed requests are sent again.
//!
//! The rule (README, RELIABILITY.md):
//! - A request that never reached the socket (it queued while its connection
//!   was being opened) waits while the connection is retried: at most
//!   [`RetryPolicy::attempts`] connection attempts, spaced by the backoff.
//!   Once that budget is spent, the requests fail with `ConnectionError`, and
//!   until the next attempt is due, later requests fail at once (fail fast)
//!   rather than each waiting through attempts of its own.
//! - A request that did reach the socket and then lost its connection (its
//!   outcome unknown) is sent again only if it is read-only (every command
//!   in it has the command table's `readonly` flag), or if the user gave
//!   `retry=` ([`RetryPolicy::writes`]): then anything is, as redis-py does.
//! - Deadlines bound everything: a retry that cannot start before the
//!   request's deadline is not made.

use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::error::{Error, ErrorKind};
use crate::request::Batch;
use crate::table::{self, Flag};

/// A delay before the next attempt after `failures` consecutive failures,
/// as redis-py's `backoff` classes compute it (its names, its formulas).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backoff {
    /// The same delay every time (`ConstantBackoff`; `NoBackoff` is zero).
    Constant(Duration),
    /// `min(cap, base * 2^failures)` (`ExponentialBackoff`).
    Exponential { base: Duration, cap: Duration },
    /// Uniform in `[0, min(cap, base * 2^failures)]` (`FullJitterBackoff`,
    /// and the reconnect keywords' default).
    FullJitter { base: Duration, cap: Duration },
    /// Half of `min(cap, base * 2^failures)` plus up to as much again
    /// (`EqualJitterBackoff`).
    EqualJitter { base: Duration, cap: Duration },
    /// Uniform in `[base, max(base, 3 * previous)]`, at most `cap`
    /// (`DecorrelatedJitterBackoff`).
    DecorrelatedJitter { base: Duration, cap: Duration },
    /// `min(cap, random * base * 2^failures)` (`ExponentialWithJitterBackoff`).
    ExponentialWithJitter { base: Duration, cap: Duration },
}

impl Backoff {
    /// The delay after `failures` consecutive failures (`previous` is the
    /// last delay, for the decorrelated kind).
    pub fn delay(&self, failures: u32, previous: Duration) -> Duration {
        let grown = |base: Duration, cap: Duration| {
            // 2^failures overflows quickly; past the cap it no longer matters.
            let factor = 2f64.powi(i32::try_from(failures.min(60)).unwrap_or(60));
            Duration::from_secs_f64((base.as_secs_f64() * factor).min(cap.as_secs_f64()))
        };
        match *self {
            Self::Constant(delay) => delay,
            Self::Exponential { base, cap } => grown(base, cap),
            Self::FullJitter { base, cap } => grown(base, cap).mul_f64(random_unit()),
            Self::EqualJitter { base, cap } => {
                let half = grown(base, cap) / 2;
                half + half.mul_f64(random_unit())
            }
            Self::DecorrelatedJitter { base, cap } => {
                let top = base.max(previous * 3);
                (base + top.saturating_sub(base).mul_f64(random_unit())).min(cap)
            }
            Self::ExponentialWithJitter { base, cap } => {
                let factor = 2f64.powi(i32::try_from(failures.min(60)).unwrap_or(60));
                Duration::from_secs_f64(
                    (random_unit() * base.as_secs_f64() * factor).min(cap.as_secs_f64()),
                )
            }
        }
    }
}

/// A uniform number in `[0, 1)`. Jitter needs spread, not cryptographic
/// quality: a xorshift per thread, seeded from the clock and the thread.
fn random_unit() -> f64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos());
            let here = std::ptr::addr_of!(now) as usize as u64;
            // Truncation is fine: any bits make a seed; it must not be zero.
            #[allow(clippy::cast_possible_truncation)]
            let seed = (now as u64) ^ here.rotate_left(32);
            seed | 1
        });
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        // The top 53 bits fill a double's mantissa exactly.
        #[allow(clippy::cast_precision_loss)]
        let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
        unit
    })
}

/// How a client reconnects and which failed requests it sends again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// The spacing of connection attempts, and of retried requests.
    pub backoff: Backoff,
    /// Connection attempts a request waits through before it fails; and one
    /// more than the times a request whose connection broke is sent again.
    pub attempts: u32,
    /// Timeouts are retried too (`retry_on_timeout`, `TimeoutError` in
    /// `supported_errors`).
    pub on_timeout: bool,
    /// Connection errors are retried (unless a `retry=` leaves
    /// `ConnectionError` out of its `supported_errors`).
    pub on_connection: bool,
    /// Requests whose outcome is unknown are retried whatever they do
    /// (the user gave `retry=`); otherwise only read-only ones are.
    pub writes: bool,
}

impl Default for RetryPolicy {
    /// The reconnect keywords' defaults: full jitter from 10 ms up to 1 s
    /// (redis-py 8's base and cap), three attempts.
    fn default() -> Self {
        Self {
            backoff: Backoff::FullJitter {
                base: Duration::from_millis(10),
                cap: Duration::from_secs(1),
            },
            attempts: 3,
            on_timeout: false,
            on_connection: true,
            writes: false,
        }
    }
}

impl RetryPolicy {
    /// Whether a request that failed with `err` after `tries` sends (the
    /// first included) is sent again.
    pub(crate) fn retries(&self, batch: &Batch, err: &Error, tries: u32) -> bool {
        if tries >= self.attempts || err.is_unsent() {
            // Spent: its budget, or the connection attempts it waited through.
            return false;
        }
        let kind_ok = match err.kind() {
            ErrorKind::Connection => self.on_connection,
            ErrorKind::Timeout => self.on_timeout,
            _ => false,
        };
        kind_ok && (self.writes || is_read_only(batch))
    }
}

/// Whether running `batch` twice changes nothing more than running it once:
/// every command in it is `readonly` (or Babushka's `idempotent`) in the
/// command table. A transaction never is (its `EXEC` may have run).
pub(crate) fn is_read_only(batch: &Batch) -> bool {
    let read_only = |cmd| {
        table::lookup(cmd)
            .is_some_and(|spec| spec.flags.has(Flag::Readonly) || spec.flags.has(Flag::Idempotent))
    };
    match batch {
        Batch::One(cmd) => read_only(cmd),
        Batch::Pipeline(commands) => commands.iter().all(read_only),
        Batch::Transaction(_) => false,
    }
}

/// When a client's next connection attempt may be made: shared by all of
/// its connections, so attempts stay spaced however many requests wait.
#[derive(Default)]
pub(crate) struct Schedule {
    state: Mutex<ScheduleState>,
}

#[derive(Default)]
struct ScheduleState {
    /// Consecutive failed attempts.
    failures: u32,
    /// No attempt before this.
    next_at: Option<Instant>,
    /// The last delay (for the decorrelated backoff).
    previous: Duration,
    /// Why the last attempt failed, for requests refused while the budget is spent.
    last_error: Option<Error>,
}

impl Schedule {
    /// When the next attempt may start (`None`: now).
    pub(crate) fn next_at(&self) -> Option<Instant> {
        self.state.lock().next_at.filter(|&at| at > Instant::now())
    }

    /// Records a failed attempt; returns the consecutive failures so far.
    pub(crate) fn failed(&self, policy: &RetryPolicy, err: &Error) -> u32 {
        let mut state = self.state.lock();
        state.failures = state.failures.saturating_add(1);
        let delay = policy.backoff.delay(state.failures, state.previous);
        state.previous = delay;
        state.next_at = Some(Instant::now() + delay);
        state.last_error = Some(err.clone());
        state.failures
    }

    pub(crate) fn succeeded(&self) {
        *self.state.lock() = ScheduleState::default();
    }

    /// While the attempts are spent and the next is not yet due: the error
    /// a request fails with at once (fail fast).
    pub(crate) fn refusal(&self, policy: &RetryPolicy) -> Option<Error> {
        let state = self.state.lock();
        if state.failures < policy.attempts {
            return None;
        }
        let wait = state.next_at?.checked_duration_since(Instant::now())?;
        let last = state.last_error.as_ref()?;
        // Whatever the last attempt met (a refusal, a timeout), the server
        // cannot be reached: a connection error.
        Some(
            Error::new(
                ErrorKind::Connection,
                format!(
                    "{} (after {} failed connection attempts; the next in {} ms)",
                    last.message(),
                    state.failures,
                    wait.as_millis()
                ),
            )
            .unsent(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_stay_within_their_bounds() {
        let (base, cap) = (10 * MS, 1000 * MS);
        for failures in 0..20 {
            let top = (base * 2u32.pow(failures.min(10))).min(cap);
            for _ in 0..50 {
                let full = Backoff::FullJitter { base, cap }.delay(failures, MS);
                assert!(full <= top, "{full:?} > {top:?}");
                let equal = Backoff::EqualJitter { base, cap }.delay(failures, MS);
                assert!(equal >= top / 2 && equal <= top, "{equal:?}");
                let with = Backoff::ExponentialWithJitter { base, cap }.delay(failures, MS);
                assert!(with <= top);
                let decorrelated =
                    Backoff::DecorrelatedJitter { base, cap }.delay(failures, 400 * MS);
                assert!(decorrelated >= base && decorrelated <= cap);
            }
            assert_eq!(Backoff::Exponential { base, cap }.delay(failures, MS), top);
        }
        assert_eq!(Backoff::Constant(5 * MS).delay(7, MS), 5 * MS);
    }

    #[test]
    fn full_jitter_spreads() {
        let backoff = Backoff::FullJitter {
            base: MS,
            cap: 1000 * MS,
        };
        let delays: Vec<Duration> = (0..200).map(|_| backoff.delay(20, MS)).collect();
        assert!(delays.iter().any(|d| *d < 300 * MS));
        assert!(delays.iter().any(|d| *d > 700 * MS));
    }

    #[test]
    fn only_read_only_or_opted_in_requests_are_retried() {
        let policy = RetryPolicy::default();
        let get = Batch::One(crate::Command::from_args([&b"GET"[..], b"k"]).unwrap());
        let incr = Batch::One(crate::Command::from_args([&b"INCR"[..], b"k"]).unwrap());
        let dropped = Error::new(ErrorKind::Connection, "dropped");
        let timeout = Error::new(ErrorKind::Timeout, "slow");
        assert!(policy.retries(&get, &dropped, 1));
        assert!(!policy.retries(&get, &dropped, 3), "budget spent");
        assert!(!policy.retries(&get, &dropped.clone().unsent(), 1));
        assert!(!policy.retries(&incr, &dropped, 1));
        assert!(!policy.retries(&get, &timeout, 1));
        // Not `readonly` to the servers, but it changes nothing.
        let ping = Batch::One(crate::Command::from_args([&b"PING"[..]]).unwrap());
        assert!(policy.retries(&ping, &dropped, 1));
        let opted = RetryPolicy {
            writes: true,
            on_timeout: true,
            ..policy
        };
        assert!(opted.retries(&incr, &dropped, 1));
        assert!(opted.retries(&get, &timeout, 1));
        let response = Error::new(ErrorKind::Response, "ERR no");
        assert!(!opted.retries(&get, &response, 1));
    }

    #[test]
    fn a_spent_budget_refuses_until_the_next_attempt_is_due() {
        let policy = RetryPolicy {
            backoff: Backoff::Constant(Duration::from_secs(60)),
            ..RetryPolicy::default()
        };
        let schedule = Schedule::default();
        let err = Error::new(ErrorKind::Connection, "cannot connect to x: refused");
        for _ in 0..2 {
            schedule.failed(&policy, &err);
            assert!(schedule.refusal(&policy).is_none());
        }
        schedule.failed(&policy, &err);
        let refused = schedule.refusal(&policy).expect("spent");
        assert!(refused.is_unsent());
        assert!(refused.message().starts_with("cannot connect to x"));
        schedule.succeeded();
        assert!(schedule.refusal(&policy).is_none());
        assert!(schedule.next_at().is_none());
    }
}

//! The work a validation does, counted, and the deadline that stops it.
//!
//! Every validator must run in time linear in the bytes it reads: a crafted file must not
//! make a worker spin for minutes. Two things make that checkable and enforceable:
//! - every read of the stored file goes through [`Metered`] (installed by `validate`), and
//!   every loop over items a file declares (boxes, chunks, elements, tensors, entries,
//!   pages, lines, bytes checksummed…) calls [`step`] (or [`steps`] for a batch) once per
//!   item. Tests read the counts with [`measure`] and assert they grow linearly with the
//!   file;
//! - [`run`] can set a deadline. Validation runs on a blocking thread, which cannot be
//!   killed, so the deadline is cooperative: once it has passed, reads fail and `step`
//!   returns [`TimedOut`], and the validator unwinds through its ordinary error paths.
//!   `validate_within` turns such an ending into `ValidateError::TimedOut`.
//!
//! The counts live in a per-thread meter: one validation runs synchronously on one thread,
//! so no counter has to be passed down through every parser.

use std::cell::Cell;
use std::io;
use std::time::Instant;

use super::{ByteSource, InspectError, Rejection};

/// How many steps go by between two looks at the clock (reads look every time).
const CLOCK_EVERY: u64 = 1 << 12;

/// What a validation did: the unit of "work" the linearity tests compare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Items visited in loops over what the file declares.
    pub steps: u64,
    /// Reads of the stored file.
    pub reads: u64,
    /// Bytes read from the stored file.
    pub bytes: u64,
}

/// How a metered run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// What was done.
    pub work: Work,
    /// True when the deadline passed (or the step limit was hit) and the work was cut short.
    pub stopped: bool,
}

/// Limits on one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// After this instant, reads fail and steps return [`TimedOut`].
    pub deadline: Option<Instant>,
    /// More steps than this stop the run the same way (tests use it to fail fast on
    /// superlinear code instead of spinning).
    pub max_steps: Option<u64>,
}

/// The error a step or a read returns once the run must stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("validation was stopped: it ran past its time limit")]
pub struct TimedOut;

struct Meter {
    steps: Cell<u64>,
    reads: Cell<u64>,
    bytes: Cell<u64>,
    deadline: Cell<Option<Instant>>,
    max_steps: Cell<u64>,
    stopped: Cell<bool>,
}

thread_local! {
    static METER: Meter = const {
        Meter {
            steps: Cell::new(0),
            reads: Cell::new(0),
            bytes: Cell::new(0),
            deadline: Cell::new(None),
            max_steps: Cell::new(u64::MAX),
            stopped: Cell::new(false),
        }
    };
}

impl Meter {
    /// Looks at the clock; true (and stopped from now on) once the deadline has passed.
    fn past_deadline(&self) -> bool {
        if self.stopped.get() {
            return true;
        }
        if self.deadline.get().is_some_and(|d| Instant::now() >= d) {
            self.stopped.set(true);
        }
        self.stopped.get()
    }

    fn snapshot(&self) -> (Work, Option<Instant>, u64, bool) {
        let work = Work { steps: self.steps.get(), reads: self.reads.get(), bytes: self.bytes.get() };
        (work, self.deadline.get(), self.max_steps.get(), self.stopped.get())
    }

    fn restore(&self, (work, deadline, max_steps, stopped): (Work, Option<Instant>, u64, bool)) {
        self.steps.set(work.steps);
        self.reads.set(work.reads);
        self.bytes.set(work.bytes);
        self.deadline.set(deadline);
        self.max_steps.set(max_steps);
        self.stopped.set(stopped);
    }
}

/// Counts one item visited; `Err` once the run must stop.
pub fn step() -> Result<(), TimedOut> {
    steps(1)
}

/// Counts `n` items visited at once (a block of bytes checksummed, a batch of entries);
/// `Err` once the run must stop.
pub fn steps(n: u64) -> Result<(), TimedOut> {
    METER.with(|m| {
        let before = m.steps.get();
        let after = before.saturating_add(n);
        m.steps.set(after);
        if after > m.max_steps.get() {
            m.stopped.set(true);
        }
        let stop = if before / CLOCK_EVERY != after / CLOCK_EVERY { m.past_deadline() } else { m.stopped.get() };
        if stop {
            Err(TimedOut)
        } else {
            Ok(())
        }
    })
}

/// Runs `f` on a fresh meter under `limits`, and reports what it did. The meter in place
/// before (an enclosing run) is put back afterwards, even if `f` panics.
pub fn run<T>(limits: Limits, f: impl FnOnce() -> T) -> (T, Report) {
    struct Restore(Option<(Work, Option<Instant>, u64, bool)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(saved) = self.0.take() {
                METER.with(|m| m.restore(saved));
            }
        }
    }
    let _restore = Restore(Some(METER.with(Meter::snapshot)));
    METER.with(|m| {
        m.restore((Work::default(), limits.deadline, limits.max_steps.unwrap_or(u64::MAX), false));
    });
    let value = f();
    let (work, _, _, stopped) = METER.with(Meter::snapshot);
    (value, Report { work, stopped })
}

/// Runs `f` without limits and returns what it did (for the linearity tests).
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Work) {
    let (value, report) = run(Limits::default(), f);
    (value, report.work)
}

/// A source whose reads are counted on the meter and refused once the run must stop.
pub struct Metered<'a> {
    inner: &'a dyn ByteSource,
}

impl<'a> Metered<'a> {
    /// Meters the reads of `inner`.
    pub fn new(inner: &'a dyn ByteSource) -> Self {
        Self { inner }
    }
}

impl ByteSource for Metered<'_> {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if METER.with(Meter::past_deadline) {
            return Err(TimedOut.into());
        }
        let n = self.inner.read_at(offset, buf)?;
        METER.with(|m| {
            m.reads.set(m.reads.get() + 1);
            m.bytes.set(m.bytes.get() + n as u64);
        });
        Ok(n)
    }
}

impl From<TimedOut> for io::Error {
    fn from(t: TimedOut) -> Self {
        io::Error::new(io::ErrorKind::TimedOut, t)
    }
}

impl From<TimedOut> for InspectError {
    fn from(t: TimedOut) -> Self {
        InspectError::Io(t.into())
    }
}

/// For parsers whose errors are sentence fragments: the run's ending is recognised by
/// `validate_within` from the meter, whatever the error says.
impl From<TimedOut> for String {
    fn from(t: TimedOut) -> Self {
        t.to_string()
    }
}

impl From<TimedOut> for Rejection {
    fn from(t: TimedOut) -> Self {
        Rejection(t.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn steps_and_reads_are_counted_per_run() {
        let data = vec![7u8; 100];
        let ((), outer) = measure(|| {
            step().unwrap();
            let ((), inner) = measure(|| {
                steps(10).unwrap();
                let mut buf = [0u8; 30];
                Metered::new(&data).read_at(80, &mut buf).unwrap();
            });
            assert_eq!(inner, Work { steps: 10, reads: 1, bytes: 20 });
            step().unwrap();
        });
        // The inner run neither adds to nor resets the outer one.
        assert_eq!(outer, Work { steps: 2, reads: 0, bytes: 0 });
    }

    #[test]
    fn a_passed_deadline_stops_reads_at_once_and_steps_within_a_few_thousand() {
        let data = vec![0u8; 10];
        let past = Limits { deadline: Some(Instant::now()), max_steps: None };
        let (read, report) = run(past, || Metered::new(&data).read_at(0, &mut [0u8; 4]));
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(report.stopped);
        assert_eq!(report.work.reads, 0);

        let (taken, report) = run(past, || (0..1_000_000u64).take_while(|_| step().is_ok()).count());
        assert!(taken < CLOCK_EVERY as usize, "{taken} steps after the deadline");
        assert!(report.stopped);
        // Once stopped, every later step is refused too.
        let (later, _) = run(past, || {
            while step().is_ok() {}
            step()
        });
        assert_eq!(later, Err(TimedOut));
    }

    #[test]
    fn a_future_deadline_and_the_step_limit() {
        let soon = Limits { deadline: Some(Instant::now() + Duration::from_secs(3600)), max_steps: None };
        let (result, report) = run(soon, || steps(1_000_000));
        assert_eq!(result, Ok(()));
        assert!(!report.stopped);
        let capped = Limits { deadline: None, max_steps: Some(100) };
        let (result, report) = run(capped, || (0..1000).map(|_| step()).filter(Result::is_ok).count());
        assert_eq!(result, 100);
        assert!(report.stopped);
    }
}

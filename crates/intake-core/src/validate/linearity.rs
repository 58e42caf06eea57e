//! Worst-case files, one family per module, validated at two sizes to show that the work
//! grows linearly with the file.
//!
//! Each test builds a hostile file of tens of MiB in memory (the fuzzers' 4 KiB inputs never
//! reach these shapes): many tracks and fragments, thousands of segments, long continuation
//! lines, checksums over crafted tails… It validates the file built for `n` and for `2n`,
//! and [`assert_linear`] compares the work [`work`](super::work) counted — steps, reads and
//! bytes read, never seconds. Each run is capped at [`steps_allowed`] steps, so superlinear
//! code fails at once instead of spinning for minutes.

mod archive;
mod audio;
mod av;
mod bmff;
mod hdr_heif;
mod image;
mod matroska;
mod mesh;
mod raster;
mod text;
mod three_d;
mod weights;

use super::work::{self, Limits, Work};
use super::{validate, Findings, ValidateError};
use intake_api::Kind;

/// Most steps a validation of `len` bytes may take: a few per byte, plus a constant for
/// formats that read a fixed head or tail.
pub fn steps_allowed(len: u64) -> u64 {
    8 * len + 1_000_000
}

/// Validates `file` as `kind` under the step cap; panics if it ran into it.
pub fn measured(kind: Kind, file: Vec<u8>) -> (Result<Findings, ValidateError>, Work) {
    let limits = Limits { deadline: None, max_steps: Some(steps_allowed(file.len() as u64)) };
    let (result, report) = work::run(limits, || validate(kind, &file));
    assert!(
        !report.stopped,
        "validating {} bytes took more than {} steps: the work is not linear ({:?})",
        file.len(),
        steps_allowed(file.len() as u64),
        report.work
    );
    (result, report.work)
}

/// Builds the worst case for `n` and `2n`, validates both as `kind`, hands each verdict to
/// `check`, and asserts that the work grows linearly: every measure at most 2.5× (plus a
/// little slack for small constants) while the file doubles, and the steps bounded by the
/// bytes read. Prints both measures (run with `--nocapture` to see them) and returns them.
pub fn assert_linear(
    name: &str,
    kind: Kind,
    n: usize,
    build: impl Fn(usize) -> Vec<u8>,
    check: impl Fn(&Result<Findings, ValidateError>),
) -> [Work; 2] {
    let mut measures = [Work::default(); 2];
    let mut sizes = [0usize; 2];
    for (i, n) in [n, 2 * n].into_iter().enumerate() {
        let file = build(n);
        sizes[i] = file.len();
        let (result, work) = measured(kind, file);
        check(&result);
        assert!(
            work.steps <= steps_allowed(work.bytes),
            "{name}: {} steps for {} bytes read: more work than the bytes read allow",
            work.steps,
            work.bytes
        );
        measures[i] = work;
    }
    let [small, large] = measures;
    eprintln!("{name}: {} bytes: {small:?}; {} bytes: {large:?}", sizes[0], sizes[1]);
    assert!(sizes[1] as f64 >= 1.8 * sizes[0] as f64, "{name}: the file did not double: {sizes:?}");
    for (what, a, b) in
        [("steps", small.steps, large.steps), ("reads", small.reads, large.reads), ("bytes", small.bytes, large.bytes)]
    {
        assert!(b as f64 <= 2.5 * a as f64 + 64.0, "{name}: {what} grew from {a} to {b} while the file doubled");
    }
    measures
}

/// Panics unless the verdict is a success.
pub fn accepted(result: &Result<Findings, ValidateError>) {
    if let Err(e) = result {
        panic!("refused: {e}");
    }
}

/// Panics unless the verdict is a rejection containing `what`.
pub fn refused_with(what: &'static str) -> impl Fn(&Result<Findings, ValidateError>) {
    move |result| match result {
        Err(ValidateError::Rejected(r)) if r.0.contains(what) => {}
        other => panic!("expected a rejection with {what:?}, got {other:?}"),
    }
}

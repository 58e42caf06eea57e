//! Target 14: how much of a large file validation reads. `validate-read --kind K FILE`
//! validates FILE as kind K exactly as target 7's `pickle-read` does (a file-backed
//! `ByteSource` with `pread`, wrapped in a `CountingSource`, then `validate(kind, …)`), and
//! prints `{seconds, bytesRead, reads, size, verdict, format, properties}`: the bytes it
//! read, how many reads it took to read them, and what it found. The files are made by
//! `bench/sparse_files.py` (mostly sparse: headers with the declared sizes of a ~4 GiB file
//! around a hole).

use crate::pickles::FileSource;
use anyhow::{Context, Result};
use intake_core::validate::{validate, ByteSource, CountingSource};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Counts the calls made to the source below it (the bytes are counted by
/// `CountingSource`, above): many tiny reads cost system calls, however few bytes they get.
struct CallCounting<'a> {
    inner: &'a dyn ByteSource,
    calls: AtomicU64,
}

impl ByteSource for CallCounting<'_> {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.read_at(offset, buf)
    }
}

/// Validates `path` as `kind` (`image`, `3d`, `audio`, `video`, `model`, … as the API names
/// kinds) and prints the report.
pub fn run(kind: &str, path: &Path) -> Result<()> {
    let kind: intake_api::Kind = serde_json::from_value(serde_json::Value::String(kind.to_string()))
        .with_context(|| format!("kind {kind:?}"))?;
    let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let len = file.metadata()?.len();
    let source = FileSource { file, len };
    let calls = CallCounting { inner: &source, calls: AtomicU64::new(0) };
    let counting = CountingSource::new(&calls);
    let start = Instant::now();
    let verdict = validate(kind, &counting);
    let seconds = start.elapsed().as_secs_f64();
    let (outcome, format, properties) = match verdict {
        Ok(findings) => ("accepted".to_string(), findings.format.name(), serde_json::to_value(&findings.properties)?),
        Err(e) => (format!("refused: {e}"), "", serde_json::Value::Null),
    };
    let report = serde_json::json!({
        "seconds": seconds,
        "bytesRead": counting.bytes_read(),
        "reads": calls.calls.load(Ordering::Relaxed),
        "size": len,
        "verdict": outcome,
        "format": format,
        "properties": properties,
    });
    println!("{report}");
    Ok(())
}

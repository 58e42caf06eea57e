//! Target 7: the pickle reader. `pickle-file` writes the two files the target reads (a
//! pickle of small opcodes, and a bare pickle whose bulk is one `BINBYTES8` payload);
//! `pickle-read` validates a file as kind `model` exactly as the worker does, through a
//! file-backed `ByteSource`, and prints the time, the bytes it read and the verdict.

use anyhow::{bail, Context, Result};
use intake_core::validate::{validate, ByteSource, CountingSource};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

/// A file read with positioned reads (`pread`), as the local-disk store reads objects.
pub(crate) struct FileSource {
    pub(crate) file: std::fs::File,
    pub(crate) len: u64,
}

impl ByteSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read_at(buf, offset)
    }
}

/// Writes `path`: `small-opcodes` (a list filled in batches of 1000 with ints, floats,
/// `None` and `True`, about 3 bytes an opcode) or `bulk-payload` (an `OrderedDict` whose one
/// value is a `BINBYTES8` payload filling the file), `size` bytes or a few more.
pub fn write(shape: &str, size: u64, path: &Path) -> Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    match shape {
        "small-opcodes" => {
            out.write_all(b"\x80\x04]")?;
            let mut batch = Vec::with_capacity(13 * 250 + 2);
            batch.push(b'(');
            for i in 0..250u32 {
                batch.extend_from_slice(&[b'K', i as u8, b'N', 0x88, b'G']);
                batch.extend_from_slice(&(i as f64).to_be_bytes());
            }
            batch.push(b'e');
            let mut written = 3u64;
            while written < size {
                out.write_all(&batch)?;
                written += batch.len() as u64;
            }
            out.write_all(b".")?;
        }
        "bulk-payload" => {
            let head = b"\x80\x04ccollections\nOrderedDict\n)R\x8c\x04blob\x8e";
            let tail = b"s.";
            let payload = size.saturating_sub((head.len() + 8 + tail.len()) as u64);
            out.write_all(head)?;
            out.write_all(&payload.to_le_bytes())?;
            let zeros = vec![0u8; 1 << 20];
            let mut left = payload;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                out.write_all(&zeros[..n])?;
                left -= n as u64;
            }
            out.write_all(tail)?;
        }
        other => bail!("unknown shape {other:?}: small-opcodes or bulk-payload"),
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

/// Validates `path` as a model; prints `{seconds, bytesRead, size, verdict, imports}`.
pub fn read(path: &Path) -> Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let len = file.metadata()?.len();
    let source = FileSource { file, len };
    let counting = CountingSource::new(&source);
    let start = Instant::now();
    let verdict = validate(intake_api::Kind::Model, &counting);
    let seconds = start.elapsed().as_secs_f64();
    let (outcome, imports) = match verdict {
        Ok(findings) => ("accepted".to_string(), findings.pickle_imports.unwrap_or_default()),
        Err(e) => (format!("refused: {e}"), Vec::new()),
    };
    let report = serde_json::json!({
        "seconds": seconds,
        "bytesRead": counting.bytes_read(),
        "size": len,
        "verdict": outcome,
        "imports": imports,
    });
    println!("{report}");
    Ok(())
}

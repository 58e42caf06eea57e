//! Text read line by line from a [`ByteSource`], in bounded chunks (ASCII STL, ASCII PLY,
//! USDA): the file is never held in memory, a line longer than the caller's limit is
//! refused, and every chunk and line is metered.

use super::super::work::{step, steps};
use super::super::{read_up_to, ByteSource, Format, InspectError};
use super::corrupt;

/// Bytes read per step while streaming.
pub(super) const CHUNK: usize = 64 * 1024;

/// Calls `each(line, line_no)` for every line of `src` from byte `start` on (numbered from
/// `first_line`), without its `\n` (a `\r` before it is left to the caller's trimming).
/// The last line is passed even when the file does not end with a newline. A line longer
/// than `max_line` bytes is refused as damaging `format`.
pub(super) fn for_each_line(
    src: &dyn ByteSource,
    format: Format,
    start: u64,
    first_line: u64,
    max_line: usize,
    mut each: impl FnMut(&[u8], u64) -> Result<(), InspectError>,
) -> Result<(), InspectError> {
    let len = src.len();
    let mut pending: Vec<u8> = Vec::new();
    let mut line_no = first_line;
    let mut off = start;
    let too_long = |line_no: u64| corrupt(format, format!("line {line_no} is longer than {} KiB", max_line / 1024));
    while off < len {
        let chunk = read_up_to(src, off, CHUNK)?;
        if chunk.is_empty() {
            break;
        }
        steps(chunk.len() as u64)?;
        off += chunk.len() as u64;
        let mut rest = &chunk[..];
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            step()?;
            if pending.is_empty() {
                if nl > max_line {
                    return Err(too_long(line_no));
                }
                each(&rest[..nl], line_no)?;
            } else {
                pending.extend_from_slice(&rest[..nl]);
                if pending.len() > max_line {
                    return Err(too_long(line_no));
                }
                each(&pending, line_no)?;
                pending.clear();
            }
            line_no += 1;
            rest = &rest[nl + 1..];
        }
        pending.extend_from_slice(rest);
        if pending.len() > max_line {
            return Err(too_long(line_no));
        }
    }
    if !pending.is_empty() {
        each(&pending, line_no)?;
    }
    Ok(())
}

/// True when `t` is a decimal number (`1`, `-0.5`, `1e-3`, `nan`, `inf`…).
pub(super) fn is_number(t: &[u8]) -> bool {
    std::str::from_utf8(t).is_ok_and(|t| t.parse::<f64>().is_ok())
}

/// The whitespace-separated words of `line`.
pub(super) fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty())
}

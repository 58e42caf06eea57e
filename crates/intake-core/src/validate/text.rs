//! UTF-8 text and JSON documents.
//!
//! Sniffing looks at the head only: valid UTF-8 (a character cut by the end of the head is
//! allowed when the file goes on), no NUL, few control characters; JSON when the first
//! token after an optional BOM and whitespace opens an object or an array plausibly.
//!
//! Inspection is the one validator that reads every byte, in 1 MiB chunks (never the whole
//! file in memory): UTF-8 validity is a property of the whole file. It counts characters
//! (Unicode scalar values, BOM excluded) and whitespace-separated words, refuses invalid
//! sequences and NUL bytes with their byte offset, and for JSON parses the document as a
//! stream in the same single pass (serde_json over the chunk reader, values ignored), so
//! invalid JSON is refused with its line and column.

use std::io::{self, Read};

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::work::steps;
use super::{read_exact_at, ByteSource, Format, InspectError, Inspection, Rejection};

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Bytes read at a time by `inspect`.
const CHUNK: usize = 1 << 20;

/// Recognises UTF-8 text (and JSON) from the head of a file of `total_len` bytes.
pub fn sniff(head: &[u8], total_len: u64) -> Option<Format> {
    let body = head.strip_prefix(BOM).unwrap_or(head);
    if head.is_empty() {
        return None;
    }
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        // A character cut by the end of the head, in a file that goes on.
        Err(e) if e.error_len().is_none() && total_len > head.len() as u64 => {
            std::str::from_utf8(&body[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    let mut chars = 0usize;
    let mut controls = 0usize;
    for c in text.chars() {
        if c == '\0' {
            return None;
        }
        chars += 1;
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c') {
            controls += 1;
        }
    }
    // At most one control character in 32 (terminal escapes in a log pass, binary does not).
    if controls * 32 > chars {
        return None;
    }
    let head_is_file = total_len <= head.len() as u64;
    Some(if looks_like_json(text, head_is_file) { Format::Json } else { Format::Text })
}

/// True when `text` starts (after JSON whitespace) like a JSON object or array: `{` then a
/// string or `}`, or `[` then a value or `]`. When the head ends before the next token and
/// the file goes on, the opening bracket is enough.
fn looks_like_json(text: &str, head_is_file: bool) -> bool {
    let ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let t = text.trim_start_matches(ws);
    let (open, rest) = match t.chars().next() {
        Some(c @ ('{' | '[')) => (c, t[1..].trim_start_matches(ws)),
        _ => return false,
    };
    let Some(next) = rest.chars().next() else {
        return !head_is_file;
    };
    if open == '{' {
        return matches!(next, '"' | '}');
    }
    match next {
        '{' | '[' | '"' | '-' | ']' | '0'..='9' => true,
        // A literal, or the start of one cut by the end of the head.
        't' | 'f' | 'n' => ["true", "false", "null"].iter().any(|lit| {
            let word: String = rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            word == *lit || (!head_is_file && rest.len() < lit.len() && lit.starts_with(&word))
        }),
        _ => false,
    }
}

/// Reads a whole text file in chunks, validating UTF-8 across chunk boundaries and counting,
/// and serves the validated bytes (BOM excluded) through [`Read`].
struct Scanner<'a> {
    src: &'a dyn ByteSource,
    len: u64,
    /// Next file offset to read.
    pos: u64,
    chunk: usize,
    buf: Vec<u8>,
    /// Validated bytes not yet served: `buf[start..end]`.
    start: usize,
    end: usize,
    /// Bytes of a character cut by the chunk boundary, kept at `buf[end..end + carry]`.
    carry: usize,
    chars: u64,
    words: u64,
    in_word: bool,
    /// Why reading stopped, when `Read` had to report an error to serde_json.
    failure: Option<InspectError>,
}

impl<'a> Scanner<'a> {
    fn new(src: &'a dyn ByteSource, chunk: usize) -> Self {
        Scanner {
            src,
            len: src.len(),
            pos: 0,
            chunk,
            buf: Vec::new(),
            start: 0,
            end: 0,
            carry: 0,
            chars: 0,
            words: 0,
            in_word: false,
            failure: None,
        }
    }

    /// Reads, validates and counts the next chunk; false at the end of the file.
    fn next_chunk(&mut self) -> Result<bool, InspectError> {
        let carry = self.carry;
        if self.pos >= self.len {
            if carry > 0 {
                return Err(ends_mid_character(self.len - carry as u64));
            }
            return Ok(false);
        }
        self.buf.copy_within(self.end..self.end + carry, 0);
        let n = (self.len - self.pos).min(self.chunk as u64) as usize;
        self.buf.resize(carry + n, 0);
        read_exact_at(self.src, self.pos, &mut self.buf[carry..])?;
        let base = self.pos - carry as u64;
        self.pos += n as u64;
        let start = if base == 0 && self.buf.starts_with(BOM) { BOM.len() } else { 0 };
        let bytes = &self.buf[start..];
        // Validated as UTF-8, then walked character by character (and parsed, for JSON).
        steps(3 * bytes.len() as u64)?;
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) if e.error_len().is_some() => {
                return Err(Rejection(format!(
                    "not valid UTF-8 text: invalid byte sequence at byte offset {}",
                    base + (start + e.valid_up_to()) as u64
                ))
                .into())
            }
            Err(e) if self.pos >= self.len => return Err(ends_mid_character(base + (start + e.valid_up_to()) as u64)),
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("validated prefix"),
        };
        for (i, c) in text.char_indices() {
            if c == '\0' {
                return Err(Rejection(format!(
                    "the file holds a NUL byte at byte offset {}, so it is binary data, not text",
                    base + (start + i) as u64
                ))
                .into());
            }
            self.chars += 1;
            if c.is_whitespace() {
                self.in_word = false;
            } else if !self.in_word {
                self.in_word = true;
                self.words += 1;
            }
        }
        self.carry = bytes.len() - text.len();
        self.start = start;
        self.end = start + text.len();
        Ok(true)
    }

    /// Reads (and counts) everything not read yet.
    fn finish(&mut self) -> Result<(), InspectError> {
        while self.next_chunk()? {}
        Ok(())
    }
}

fn ends_mid_character(offset: u64) -> InspectError {
    Rejection(format!("not valid UTF-8 text: the file ends in the middle of a character (at byte offset {offset})"))
        .into()
}

impl Read for Scanner<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.start == self.end {
            match self.next_chunk() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(e) => {
                    self.failure = Some(e);
                    return Err(io::Error::other("the text could not be read"));
                }
            }
        }
        let n = (self.end - self.start).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

/// Reads the whole file: UTF-8 validity, character and word counts, and for `Json` a
/// streaming parse of the document.
pub fn inspect(format: Format, src: &dyn ByteSource) -> Result<Inspection, InspectError> {
    scan(format, src, CHUNK)
}

fn scan(format: Format, src: &dyn ByteSource, chunk: usize) -> Result<Inspection, InspectError> {
    let mut scanner = Scanner::new(src, chunk);
    if format == Format::Json {
        let parsed = {
            let mut de = serde_json::Deserializer::from_reader(&mut scanner);
            IgnoredAny::deserialize(&mut de).and_then(|_| de.end())
        };
        if let Some(failure) = scanner.failure.take() {
            return Err(failure);
        }
        if let Err(e) = parsed {
            return Err(Rejection::corrupt(format, format!("it is not valid JSON ({e})")).into());
        }
    }
    scanner.finish()?;
    let mut inspection = Inspection::default();
    inspection.properties.char_count = Some(scanner.chars);
    inspection.properties.word_count = Some(scanner.words);
    Ok(inspection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{sniff_head, validate, CountingSource};
    use intake_api::Kind;

    fn rejection(result: Result<Inspection, InspectError>) -> String {
        match result {
            Err(InspectError::Rejected(r)) => r.0,
            Err(InspectError::Io(e)) => panic!("expected a rejection, got I/O error {e}"),
            Ok(i) => panic!("expected a rejection, got {i:?}"),
        }
    }

    fn counts(i: Inspection) -> (u64, u64) {
        (i.properties.char_count.unwrap(), i.properties.word_count.unwrap())
    }

    const SCRIPTS: &str = "Hello, world! Привет мир. こんにちは 世界 مرحبا بالعالم 👋🏽 done\n";

    #[test]
    fn text_in_several_scripts() {
        let bytes = SCRIPTS.as_bytes();
        assert_eq!(sniff_head(bytes, bytes.len() as u64), Format::Text);
        let expected = (57, 10);
        assert_eq!(expected, (SCRIPTS.chars().count() as u64, SCRIPTS.split_whitespace().count() as u64));
        assert_eq!(counts(inspect(Format::Text, &bytes.to_vec()).unwrap()), expected);
        // Tiny chunks: every multi-byte character is split somewhere.
        for chunk in 1..8 {
            assert_eq!(counts(scan(Format::Text, &bytes.to_vec(), chunk).unwrap()), expected, "chunk {chunk}");
        }
        let findings = validate(Kind::Text, &bytes.to_vec()).unwrap();
        assert_eq!(findings.properties.char_count, Some(57));
        assert_eq!(findings.properties.word_count, Some(10));
        assert_eq!(findings.properties.format.as_deref(), Some("text"));
    }

    #[test]
    fn bom_is_not_counted() {
        let mut bytes = BOM.to_vec();
        bytes.extend_from_slice("{\"a\": \"é\"}".as_bytes());
        assert_eq!(sniff_head(&bytes, bytes.len() as u64), Format::Json);
        assert_eq!(counts(inspect(Format::Json, &bytes).unwrap()), (10, 2));
        assert_eq!(counts(inspect(Format::Text, &bytes).unwrap()), (10, 2));
    }

    #[test]
    fn emoji_split_across_the_chunk_boundary() {
        // "a…a" then a 4-byte emoji whose first byte is the last of the first 1 MiB chunk.
        let mut bytes = vec![b'a'; CHUNK - 1];
        bytes.extend_from_slice("😀 ok".as_bytes());
        let counting = CountingSource::new(&bytes);
        assert_eq!(counts(inspect(Format::Text, &counting).unwrap()), (CHUNK as u64 + 3, 2));
        assert_eq!(counting.bytes_read(), bytes.len() as u64);
        // Cut inside the emoji: the file ends in the middle of a character.
        let cut = &bytes[..CHUNK + 1];
        let msg = rejection(inspect(Format::Text, &cut.to_vec()));
        assert_eq!(
            msg,
            format!("not valid UTF-8 text: the file ends in the middle of a character (at byte offset {})", CHUNK - 1)
        );
    }

    #[test]
    fn invalid_utf8_in_the_middle_and_at_the_end() {
        let mut bytes = b"good text ".repeat(10);
        bytes.push(0xC3); // a lead byte…
        bytes.push(b'('); // …not followed by a continuation byte
        bytes.extend_from_slice(b" more");
        let msg = rejection(inspect(Format::Text, &bytes));
        assert_eq!(msg, "not valid UTF-8 text: invalid byte sequence at byte offset 100");
        for chunk in [1, 3, 64] {
            assert_eq!(rejection(scan(Format::Text, &bytes, chunk)), msg);
        }
        // Through the dispatcher: the head is fine (the bad byte is past the 64 KiB head).
        let mut long = "word ".repeat(20_000).into_bytes();
        long.extend_from_slice(b"\xFF tail");
        assert_eq!(sniff_head(&long[..SNIFF_LEN_TEST], long.len() as u64), Format::Text);
        let err = validate(Kind::Text, &long).unwrap_err().to_string();
        assert_eq!(err, "not valid UTF-8 text: invalid byte sequence at byte offset 100000");
        // Truncated: ends with the first two bytes of "é€".
        let text = "café €".as_bytes();
        let msg = rejection(inspect(Format::Text, &text[..text.len() - 1].to_vec()));
        assert_eq!(msg, "not valid UTF-8 text: the file ends in the middle of a character (at byte offset 6)");
        // NUL after the head.
        let mut nul = "x ".repeat(40_000).into_bytes();
        nul.push(0);
        let msg = rejection(inspect(Format::Text, &nul));
        assert_eq!(msg, "the file holds a NUL byte at byte offset 80000, so it is binary data, not text");
    }

    const SNIFF_LEN_TEST: usize = crate::validate::SNIFF_LEN;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"", 0), None);
        assert_eq!(sniff(b"plain\ttext\r\n\x0cpage", 15), Some(Format::Text));
        assert_eq!(sniff(b"bin\0ary", 7), None);
        assert_eq!(sniff(b"\x01\x02\x03\x04 mostly control", 20), None);
        assert_eq!(sniff(b"\xFF\xFE u t f 1 6", 10), None);
        // A character cut by the end of the head: fine if the file goes on, not if it ends.
        let e = "né".as_bytes();
        assert_eq!(sniff(&e[..2], 100), Some(Format::Text));
        assert_eq!(sniff(&e[..2], 2), None);
        // JSON and look-alikes.
        assert_eq!(sniff(b"  {\"a\": 1}", 10), Some(Format::Json));
        assert_eq!(sniff(b"[1, 2]", 6), Some(Format::Json));
        assert_eq!(sniff(b"[\n  true]", 9), Some(Format::Json));
        assert_eq!(sniff(b"[ ]", 3), Some(Format::Json));
        assert_eq!(sniff(b"{", 100), Some(Format::Json));
        assert_eq!(sniff(b"[tr", 100), Some(Format::Json));
        assert_eq!(sniff(b"{", 1), Some(Format::Text));
        assert_eq!(sniff(b"[link](http://x)", 16), Some(Format::Text));
        assert_eq!(sniff(b"[this is prose]", 15), Some(Format::Text));
        assert_eq!(sniff(b"{not json}", 10), Some(Format::Text));
    }

    #[test]
    fn valid_json() {
        let doc = br#"{"name": "caf\u00e9", "list": [1, 2.5, -3e2, true, null, {"x": []}], "s": "a b"}"#;
        assert_eq!(sniff_head(doc, doc.len() as u64), Format::Json);
        let findings = validate(Kind::Asset, &doc.to_vec()).unwrap();
        assert_eq!(findings.format, Format::Json);
        assert_eq!(findings.properties.format.as_deref(), Some("json"));
        // An asset may be anything: its text is not read through.
        assert_eq!(findings.properties.char_count, None);
        let findings = validate(Kind::Text, &doc.to_vec()).unwrap();
        assert_eq!(findings.properties.char_count, Some(doc.len() as u64));
        assert_eq!(findings.properties.word_count, Some(13));
        // A JSON document larger than the chunk, read once.
        let mut big = b"[".to_vec();
        for i in 0..200_000 {
            big.extend_from_slice(format!("{{\"i\": {i}, \"s\": \"ü\"}},").as_bytes());
        }
        big.extend_from_slice(b"0]\n");
        let counting = CountingSource::new(&big);
        let i = inspect(Format::Json, &counting).unwrap();
        assert!(big.len() > 2 * CHUNK);
        assert_eq!(counting.bytes_read(), big.len() as u64);
        let text = std::str::from_utf8(&big).unwrap();
        assert_eq!(i.properties.word_count, Some(text.split_whitespace().count() as u64));
        assert_eq!(i.properties.word_count, Some(600_001));
        assert_eq!(i.properties.char_count, Some(text.chars().count() as u64));
    }

    #[test]
    fn invalid_json_is_refused_with_its_position() {
        let doc = b"{\n  \"a\": 1,\n  \"b\": [1, 2,, 3]\n}";
        let msg = rejection(inspect(Format::Json, &doc.to_vec()));
        assert_eq!(
            msg,
            "the file looks like a JSON document but is damaged: it is not valid JSON (expected value at line 3 column 14)"
        );
        // Truncated.
        let msg = rejection(inspect(Format::Json, &doc[..20].to_vec()));
        assert!(msg.contains("EOF while parsing a list at line 3 column 8"), "{msg}");
        // Trailing garbage after the document.
        let msg = rejection(inspect(Format::Json, &b"[1] [2]".to_vec()));
        assert!(msg.contains("trailing characters at line 1 column 5"), "{msg}");
        // Invalid UTF-8 inside a string: the UTF-8 rule speaks first.
        let msg = rejection(inspect(Format::Json, &b"[\"ok\", \"\xC0\xAF\"]".to_vec()));
        assert_eq!(msg, "not valid UTF-8 text: invalid byte sequence at byte offset 8");
        // Any text passes as kind text, even when it is broken JSON.
        let findings = validate(Kind::Text, &doc.to_vec()).unwrap();
        assert_eq!(findings.format, Format::Json);
        assert_eq!(findings.properties.word_count, Some(8));
        let err = rejection(inspect(Format::Json, &doc.to_vec()));
        assert!(err.contains("line 3 column 14"), "{err}");
        // As an asset (anything goes), broken JSON is stored as it is.
        assert!(validate(Kind::Asset, &doc.to_vec()).is_ok());
    }

    #[test]
    fn kind_mismatch_messages() {
        let err = validate(Kind::Image, &SCRIPTS.as_bytes().to_vec()).unwrap_err().to_string();
        assert_eq!(
            err,
            "expected an image (PNG, JPEG, WebP, GIF, AVIF, HEIC, TIFF, BMP, TGA, PSD, OpenEXR or Radiance HDR), found a text file"
        );
        let err = validate(Kind::Model, &b"{\"a\": 1}".to_vec()).unwrap_err().to_string();
        assert_eq!(
            err,
            "expected model weights (safetensors, ckpt/pt/bin, GGUF, ONNX or a ZIP of them), found a JSON document"
        );
        // Unknown binary data uploaded as text is read as text, so the reason names the byte.
        let err = validate(Kind::Text, &vec![0u8, 1, 2, 3]).unwrap_err().to_string();
        assert_eq!(err, "the file holds a NUL byte at byte offset 0, so it is binary data, not text");
    }
}

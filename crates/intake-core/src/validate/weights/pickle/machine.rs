//! The stack machine that reads one pickle without running it.
//!
//! It follows CPython's C unpickler (`Modules/_pickle.c`, what `pickle.load` and
//! `torch.load` run) opcode by opcode, but tracks only what matters to tell which objects
//! a pickle imports: every opcode takes and leaves exactly as many stack entries as Python
//! does (including the mark "fence" below which Python cannot pop), and an entry is a kept
//! string, a string that was not kept, torch's legacy magic number, or "something else".
//! So `STACK_GLOBAL` finds the same two strings Python would, however they got there
//! (pushed, `DUP`ed, memoized and fetched back with `GET`/`BINGET`/`LONG_BINGET`).
//!
//! Imports are recorded where they happen: `GLOBAL` and `INST` name them inline,
//! `STACK_GLOBAL` takes them from the stack. Nothing is ever called.
//!
//! Cost: every opcode does constant work besides its argument, and the opcodes that pop to
//! a mark pop entries that were each pushed once, so a pickle is read in time linear in its
//! size. Payloads (bytes, long strings, long integers) are skipped, never read. Memory is
//! bounded by the caps below; a pickle that needs more is refused ([`Fault::Limit`]), never
//! read halfway and passed.

use std::collections::{BTreeSet, HashMap};
use std::io;

use super::input::Input;
use super::opcodes::*;

/// Stack entries at most (a legitimate pickle's stack holds a batch of ≤ 1000 items per
/// open container).
pub(super) const MAX_STACK: usize = 1 << 20;
/// Open marks at most (nesting depth; CPython's pickler stops near 1000).
pub(super) const MAX_MARKS: usize = 1 << 16;
/// Memo entries at most (torch.save memoizes about six per tensor).
pub(super) const MAX_MEMO: usize = 1 << 20;
/// Longest string kept to be a module or attribute name; longer ones are skipped.
pub(super) const MAX_KEPT_TEXT: usize = 512;
/// Bytes of kept strings per pickle, counting 8 bytes of bookkeeping each; past it strings
/// are skipped like long ones.
pub(super) const TEXT_BUDGET: usize = 16 << 20;
/// Different imports per file at most.
pub(super) const MAX_IMPORTS: usize = 4096;

/// torch's legacy magic number 0x1950a86a20f9469cfc6c, as a `LONG1` payload.
const TORCH_MAGIC_LONG1: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
/// The same number written in decimal (`INT`/`LONG` of protocols 0 and 1).
const TORCH_MAGIC_DECIMAL: &[u8] = b"119547037146038801333356";

/// What one stack or memo entry is, as far as imports are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// A `str` whose text was kept (span `i` of the text arena).
    Text(u32),
    /// A `str` whose text was not kept: too long, not plain text as read, or past the budget.
    UnkeptText,
    /// The integer torch's legacy format begins with.
    TorchMagic,
    /// Anything else.
    Other,
}

/// Why a pickle could not be read to its end.
#[derive(Debug)]
pub(super) enum Fault {
    /// The opcode at byte `at` breaks the format: Python's unpickler stops there too, having
    /// imported only what was recorded before it.
    Unreadable { at: u64, what: String },
    /// Python may go on past the opcode at byte `at`, but intake cannot tell what it would
    /// import (a string written with escapes, a memo index in an unusual spelling).
    Unfollowable { at: u64, what: String },
    /// The input ends before the pickle does (in the opcode at byte `at`).
    Truncated { at: u64, what: String },
    /// A bound of the reader was reached.
    Limit(String),
    /// Reading the stored file failed (not the file's fault).
    Io(io::Error),
}

impl From<io::Error> for Fault {
    fn from(e: io::Error) -> Self {
        Fault::Io(e)
    }
}

fn unreadable(at: u64, what: impl Into<String>) -> Fault {
    Fault::Unreadable { at, what: what.into() }
}

/// How a pickle ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ending {
    /// The pickle's value is torch's legacy magic number: the file is a pre-1.6
    /// `torch.save` file, four more pickles follow.
    pub torch_magic: bool,
}

/// The imports a file makes: sorted, distinct `module.name` strings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Imports {
    pub names: BTreeSet<String>,
    /// Imports recorded, repeats included.
    pub recorded: u64,
    scratch: String,
}

impl Imports {
    fn add(&mut self, module: &str, name: &str) -> Result<(), Fault> {
        self.recorded += 1;
        self.scratch.clear();
        self.scratch.push_str(module);
        self.scratch.push('.');
        self.scratch.push_str(name);
        if !self.names.contains(self.scratch.as_str()) {
            if self.names.len() >= MAX_IMPORTS {
                return Err(Fault::Limit(format!("it imports more than {MAX_IMPORTS} different objects")));
            }
            self.names.insert(self.scratch.clone());
        }
        Ok(())
    }
}

/// The reader's state, reused from one pickle to the next.
#[derive(Default)]
pub(super) struct Machine {
    /// Opcodes read by the last [`Machine::run`] (the sniffer weighs them).
    pub ops: u64,
    stack: Vec<Value>,
    /// Stack lengths at each open `MARK`; the last one is the fence.
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    /// Kept strings, back to back, and where each one is.
    arena: Vec<u8>,
    spans: Vec<(u32, u32)>,
    /// Scratch lines.
    line: Vec<u8>,
    second_line: Vec<u8>,
}

impl Machine {
    /// Reads one pickle from `input`, up to and including its `STOP`, recording its imports.
    pub fn run<I: Input>(&mut self, input: &mut I, imports: &mut Imports) -> Result<Ending, Fault> {
        self.stack.clear();
        self.marks.clear();
        self.memo.clear();
        self.arena.clear();
        self.spans.clear();
        self.ops = 0;
        loop {
            self.ops += 1;
            // Counted like every validator's loop: the validation deadline stops it here.
            if crate::validate::work::step().is_err() {
                return Err(Fault::Limit("validation ran out of time".into()));
            }
            let at = input.position();
            let op = match input.byte() {
                Ok(op) => op,
                Err(e) => return Err(eof_as(e, at, "it ends before its STOP opcode: the file is truncated".into())),
            };
            match self.step(op, at, input, imports) {
                Ok(None) => {}
                Ok(Some(ending)) => return Ok(ending),
                Err(Fault::Io(e)) => {
                    let what = format!(
                        "it ends in the middle of its {} opcode: the file is truncated",
                        name(op).unwrap_or("?")
                    );
                    return Err(eof_as(e, at, what));
                }
                Err(fault) => return Err(fault),
            }
        }
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn push(&mut self, v: Value) -> Result<(), Fault> {
        if self.stack.len() >= MAX_STACK {
            return Err(Fault::Limit(format!("its stack grows past {MAX_STACK} entries")));
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self, at: u64) -> Result<Value, Fault> {
        if self.stack.len() <= self.fence() {
            return Err(underflow(at));
        }
        Ok(self.stack.pop().expect("checked above"))
    }

    fn top(&self, at: u64) -> Result<Value, Fault> {
        if self.stack.len() <= self.fence() {
            return Err(underflow(at));
        }
        Ok(*self.stack.last().expect("checked above"))
    }

    /// Removes the last mark (Python's `marker()`), returning the stack length it recorded.
    fn pop_mark(&mut self, at: u64) -> Result<usize, Fault> {
        self.marks.pop().ok_or_else(|| unreadable(at, "it closes a MARK it never opened"))
    }

    /// Pops `n` entries, all above the fence.
    fn pop_n(&mut self, n: usize, at: u64) -> Result<(), Fault> {
        if self.stack.len() < self.fence() + n {
            return Err(underflow(at));
        }
        self.stack.truncate(self.stack.len() - n);
        Ok(())
    }

    /// APPEND, APPENDS and ADDITEMS (CPython's `do_append`): the container sits at `x - 1`,
    /// above the fence; the items above it are consumed.
    fn fold_into_container(&mut self, x: i64, at: u64) -> Result<(), Fault> {
        let len = self.stack.len() as i64;
        if x > len || x <= self.fence() as i64 {
            return Err(underflow(at));
        }
        self.stack.truncate(x as usize);
        Ok(())
    }

    /// SETITEM and SETITEMS (CPython's `do_setitems`): like [`Self::fold_into_container`],
    /// with keys and values in pairs.
    fn fold_pairs_into_dict(&mut self, x: i64, at: u64) -> Result<(), Fault> {
        let len = self.stack.len() as i64;
        if x > len || x <= self.fence() as i64 {
            return Err(underflow(at));
        }
        if (len - x) % 2 != 0 {
            return Err(unreadable(at, "it sets dictionary items from an odd number of entries"));
        }
        self.stack.truncate(x as usize);
        Ok(())
    }

    fn memo_put(&mut self, key: u32, at: u64) -> Result<(), Fault> {
        let value = self.top(at)?;
        let full = self.memo.len() >= MAX_MEMO;
        match self.memo.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                e.insert(value);
            }
            std::collections::hash_map::Entry::Vacant(_) if full => {
                return Err(Fault::Limit(format!("its memo grows past {MAX_MEMO} entries")));
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(value);
            }
        }
        Ok(())
    }

    fn memo_get(&mut self, key: u32, at: u64) -> Result<(), Fault> {
        let value = *self
            .memo
            .get(&key)
            .ok_or_else(|| unreadable(at, format!("it fetches memo entry {key}, which it never stored")))?;
        self.push(value)
    }

    /// Keeps `bytes` as a string if it is short, plain text and the budget allows.
    fn keep_text(&mut self, bytes: &[u8], utf8: bool) -> Value {
        let plain = if utf8 { std::str::from_utf8(bytes).is_ok() } else { bytes.is_ascii() };
        let cost = self.arena.len() + bytes.len() + 8 * (self.spans.len() + 1);
        if !plain || bytes.len() > MAX_KEPT_TEXT || cost > TEXT_BUDGET {
            return Value::UnkeptText;
        }
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(bytes);
        self.spans.push((start, bytes.len() as u32));
        Value::Text(self.spans.len() as u32 - 1)
    }

    fn text(&self, index: u32) -> &str {
        let (start, len) = self.spans[index as usize];
        std::str::from_utf8(&self.arena[start as usize..(start + len) as usize]).expect("kept strings are UTF-8")
    }

    /// A string of `n` bytes that follows in the input: kept when short, skipped otherwise.
    fn counted_text<I: Input>(&mut self, input: &mut I, n: u64, utf8: bool) -> Result<Value, Fault> {
        if n > MAX_KEPT_TEXT as u64 {
            input.skip(n)?;
            return Ok(Value::UnkeptText);
        }
        let mut buf = [0u8; MAX_KEPT_TEXT];
        let bytes = &mut buf[..n as usize];
        input.bytes(bytes)?;
        Ok(self.keep_text(bytes, utf8))
    }

    /// One opcode at byte `at`; `Some` when it was `STOP`.
    fn step<I: Input>(
        &mut self,
        op: u8,
        at: u64,
        input: &mut I,
        imports: &mut Imports,
    ) -> Result<Option<Ending>, Fault> {
        match op {
            MARK => {
                if self.marks.len() >= MAX_MARKS {
                    return Err(Fault::Limit(format!("it opens more than {MAX_MARKS} marks at once")));
                }
                self.marks.push(self.stack.len());
            }
            STOP => {
                let value = self.pop(at)?;
                return Ok(Some(Ending { torch_magic: value == Value::TorchMagic }));
            }
            POP => {
                // CPython pops the mark instead when the top of the stack is a mark.
                if self.marks.last() == Some(&self.stack.len()) {
                    self.marks.pop();
                } else {
                    self.pop(at)?;
                }
            }
            POP_MARK => {
                let mark = self.pop_mark(at)?;
                self.stack.truncate(mark);
            }
            DUP => {
                let top = self.top(at)?;
                self.push(top)?;
            }
            NONE | NEWTRUE | NEWFALSE | EMPTY_LIST | EMPTY_TUPLE | EMPTY_DICT | EMPTY_SET => self.push(Value::Other)?,
            BININT1 => self.skip_then_push(input, 1)?,
            BININT2 => self.skip_then_push(input, 2)?,
            BININT => self.skip_then_push(input, 4)?,
            BINFLOAT => self.skip_then_push(input, 8)?,
            FLOAT => {
                skip_line(input)?;
                self.push(Value::Other)?;
            }
            INT | LONG => {
                read_line(input, &mut self.line, TORCH_MAGIC_DECIMAL.len() + 2)?;
                let mut digits = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
                if op == LONG {
                    digits = digits.strip_suffix(b"L").unwrap_or(digits);
                }
                let magic = digits == TORCH_MAGIC_DECIMAL;
                self.push(if magic { Value::TorchMagic } else { Value::Other })?;
            }
            LONG1 => {
                let n = input.byte()? as u64;
                self.long_payload(input, n)?;
            }
            LONG4 => {
                let n = i32::from_le_bytes(array(input)?);
                if n < 0 {
                    return Err(unreadable(at, "its LONG4 opcode has a negative length"));
                }
                self.long_payload(input, n as u64)?;
            }
            STRING => {
                let fits = read_line(input, &mut self.line, MAX_KEPT_TEXT + 3)?;
                let body = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
                let quoted =
                    body.len() >= 2 && body[0] == body[body.len() - 1] && (body[0] == b'\'' || body[0] == b'"');
                if fits && !quoted {
                    return Err(unreadable(at, "its STRING opcode's argument is not quoted"));
                }
                // Escapes (`\x6f`) would need decoding: such a string is not kept.
                let value = if fits && !body.contains(&b'\\') {
                    let inner = body[1..body.len() - 1].to_vec();
                    self.keep_text(&inner, false)
                } else {
                    Value::UnkeptText
                };
                self.push(value)?;
            }
            BINSTRING => {
                let n = i32::from_le_bytes(array(input)?);
                if n < 0 {
                    return Err(unreadable(at, "its BINSTRING opcode has a negative length"));
                }
                let v = self.counted_text(input, n as u64, false)?;
                self.push(v)?;
            }
            SHORT_BINSTRING => {
                let n = input.byte()? as u64;
                let v = self.counted_text(input, n, false)?;
                self.push(v)?;
            }
            UNICODE => {
                // raw-unicode-escape: `\u` escapes would need decoding, so a line with a
                // backslash (or a non-ASCII byte, which is Latin-1 there) is not kept.
                let fits = read_line(input, &mut self.line, MAX_KEPT_TEXT + 1)?;
                let body = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
                let value = if fits && !body.contains(&b'\\') {
                    let body = body.to_vec();
                    self.keep_text(&body, false)
                } else {
                    Value::UnkeptText
                };
                self.push(value)?;
            }
            SHORT_BINUNICODE => {
                let n = input.byte()? as u64;
                let v = self.counted_text(input, n, true)?;
                self.push(v)?;
            }
            BINUNICODE => {
                let n = u32::from_le_bytes(array(input)?) as u64;
                let v = self.counted_text(input, n, true)?;
                self.push(v)?;
            }
            BINUNICODE8 => {
                let n = u64::from_le_bytes(array(input)?);
                let v = self.counted_text(input, n, true)?;
                self.push(v)?;
            }
            SHORT_BINBYTES => {
                let n = input.byte()? as u64;
                self.skip_then_push(input, n)?;
            }
            BINBYTES => {
                let n = u32::from_le_bytes(array(input)?) as u64;
                self.skip_then_push(input, n)?;
            }
            BINBYTES8 | BYTEARRAY8 => {
                let n = u64::from_le_bytes(array(input)?);
                self.skip_then_push(input, n)?;
            }
            NEXT_BUFFER => {
                return Err(unreadable(
                    at,
                    "it refers to an out-of-band buffer (NEXT_BUFFER), which a file cannot carry",
                ));
            }
            READONLY_BUFFER => {
                self.top(at)?;
            }
            APPEND => self.fold_into_container(self.stack.len() as i64 - 1, at)?,
            APPENDS | ADDITEMS => {
                let mark = self.pop_mark(at)?;
                self.fold_into_container(mark as i64, at)?;
            }
            SETITEM => self.fold_pairs_into_dict(self.stack.len() as i64 - 2, at)?,
            SETITEMS => {
                let mark = self.pop_mark(at)?;
                self.fold_pairs_into_dict(mark as i64, at)?;
            }
            LIST | TUPLE | FROZENSET => {
                let mark = self.pop_mark(at)?;
                self.stack.truncate(mark);
                self.push(Value::Other)?;
            }
            DICT => {
                let mark = self.pop_mark(at)?;
                if self.stack.len().saturating_sub(mark) % 2 != 0 {
                    return Err(unreadable(at, "its DICT opcode pairs an odd number of entries"));
                }
                self.stack.truncate(mark);
                self.push(Value::Other)?;
            }
            TUPLE1 | TUPLE2 | TUPLE3 => {
                self.pop_n((op - TUPLE1 + 1) as usize, at)?;
                self.push(Value::Other)?;
            }
            GET => {
                let key = memo_index_line(input, &mut self.line, at)?;
                self.memo_get(key, at)?;
            }
            BINGET => {
                let key = input.byte()? as u32;
                self.memo_get(key, at)?;
            }
            LONG_BINGET => {
                let key = u32::from_le_bytes(array(input)?);
                self.memo_get(key, at)?;
            }
            PUT => {
                let key = memo_index_line(input, &mut self.line, at)?;
                self.memo_put(key, at)?;
            }
            BINPUT => {
                let key = input.byte()? as u32;
                self.memo_put(key, at)?;
            }
            LONG_BINPUT => {
                let key = u32::from_le_bytes(array(input)?);
                self.memo_put(key, at)?;
            }
            MEMOIZE => {
                // Python keys it by the memo's current size.
                let key = u32::try_from(self.memo.len()).expect("the memo is capped");
                self.memo_put(key, at)?;
            }
            EXT1 | EXT2 | EXT4 => {
                return Err(unreadable(
                    at,
                    format!(
                        "it imports through the copyreg extension registry ({}), whose imports cannot be named from the file",
                        name(op).unwrap_or("EXT")
                    ),
                ));
            }
            GLOBAL => {
                self.read_import_lines(input, at)?;
                imports.add(utf8(&self.line, at)?, utf8(&self.second_line, at)?)?;
                self.push(Value::Other)?;
            }
            INST => {
                // CPython finds the mark first, then reads and imports the class.
                let mark = self.pop_mark(at)?;
                self.read_import_lines(input, at)?;
                imports.add(utf8(&self.line, at)?, utf8(&self.second_line, at)?)?;
                self.stack.truncate(mark);
                self.push(Value::Other)?;
            }
            STACK_GLOBAL => {
                let attribute = self.pop(at)?;
                let module = self.pop(at)?;
                match (module, attribute) {
                    (Value::Text(m), Value::Text(a)) => {
                        let (m, a) = (self.text(m).to_owned(), self.text(a).to_owned());
                        imports.add(&m, &a)?;
                    }
                    (Value::Text(_) | Value::UnkeptText, Value::Text(_) | Value::UnkeptText) => {
                        return Err(Fault::Unfollowable {
                            at,
                            what: format!(
                                "its STACK_GLOBAL names a module or attribute intake did not keep (longer than {MAX_KEPT_TEXT} bytes, or written with escapes)"
                            ),
                        });
                    }
                    _ => {
                        return Err(unreadable(
                            at,
                            "its STACK_GLOBAL takes a module and name that are not plain strings",
                        ))
                    }
                }
                self.push(Value::Other)?;
            }
            REDUCE | NEWOBJ => {
                self.pop_n(2, at)?;
                self.push(Value::Other)?;
            }
            NEWOBJ_EX => {
                self.pop_n(3, at)?;
                self.push(Value::Other)?;
            }
            BUILD => {
                // The state is popped; the object below it stays.
                self.pop_n(2, at)?;
                self.push(Value::Other)?;
            }
            OBJ => {
                let mark = self.pop_mark(at)?;
                if self.stack.len() < mark + 1 {
                    return Err(underflow(at));
                }
                self.stack.truncate(mark);
                self.push(Value::Other)?;
            }
            BINPERSID => {
                self.pop(at)?;
                self.push(Value::Other)?;
            }
            PERSID => {
                skip_line(input)?;
                self.push(Value::Other)?;
            }
            PROTO => {
                let protocol = input.byte()?;
                if protocol > HIGHEST_PROTOCOL {
                    return Err(unreadable(
                        at,
                        format!("it declares pickle protocol {protocol}, which no Python reads"),
                    ));
                }
            }
            FRAME => {
                let n = u64::from_le_bytes(array(input)?);
                if n > input.remaining() {
                    return Err(Fault::Truncated {
                        at,
                        what: "it announces a FRAME longer than the rest of the file: the file is truncated".into(),
                    });
                }
            }
            other => {
                return Err(unreadable(
                    at,
                    format!("byte 0x{other:02x} is not a pickle opcode (Python refuses it too)"),
                ));
            }
        }
        Ok(None)
    }

    fn skip_then_push<I: Input>(&mut self, input: &mut I, n: u64) -> Result<(), Fault> {
        input.skip(n)?;
        self.push(Value::Other)
    }

    /// An integer of `n` little-endian bytes: compared with torch's magic number when it
    /// has its length, skipped otherwise.
    fn long_payload<I: Input>(&mut self, input: &mut I, n: u64) -> Result<(), Fault> {
        if n == TORCH_MAGIC_LONG1.len() as u64 {
            let payload: [u8; 10] = array(input)?;
            return self.push(if payload == TORCH_MAGIC_LONG1 { Value::TorchMagic } else { Value::Other });
        }
        self.skip_then_push(input, n)
    }

    /// The two newline-terminated lines of `GLOBAL` and `INST` into `line` and `second_line`.
    fn read_import_lines<I: Input>(&mut self, input: &mut I, at: u64) -> Result<(), Fault> {
        let module_fits = read_line(input, &mut self.line, MAX_KEPT_TEXT + 1)?;
        let name_fits = read_line(input, &mut self.second_line, MAX_KEPT_TEXT + 1)?;
        // Python decodes each line as UTF-8 and fails on anything else, however long.
        for line in [&self.line, &self.second_line] {
            if std::str::from_utf8(line).is_err_and(|e| e.error_len().is_some()) {
                return Err(unreadable(at, "it imports a name that is not UTF-8 text (Python refuses it too)"));
            }
        }
        if !module_fits || !name_fits {
            return Err(Fault::Limit(format!("it imports a name longer than {MAX_KEPT_TEXT} bytes (at byte {at})")));
        }
        self.line.pop();
        self.second_line.pop();
        if self.line.is_empty() || self.second_line.is_empty() {
            return Err(unreadable(at, "it imports an object with an empty module or attribute name"));
        }
        Ok(())
    }
}

fn underflow(at: u64) -> Fault {
    unreadable(at, "it takes more from the stack than it put there (Python refuses it too)")
}

/// An `UnexpectedEof` becomes "truncated at `at`", damaged compressed data (see
/// `StreamInput`) "unreadable at `at`"; other I/O errors stay I/O errors.
fn eof_as(e: io::Error, at: u64, what: String) -> Fault {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => Fault::Truncated { at, what },
        io::ErrorKind::InvalidData => Fault::Unreadable { at, what: "its compressed data is damaged".into() },
        _ => Fault::Io(e),
    }
}

fn array<const N: usize, I: Input>(input: &mut I) -> io::Result<[u8; N]> {
    let mut out = [0u8; N];
    input.bytes(&mut out)?;
    Ok(out)
}

fn utf8(bytes: &[u8], at: u64) -> Result<&str, Fault> {
    std::str::from_utf8(bytes)
        .map_err(|_| unreadable(at, "it imports a name that is not UTF-8 text (Python refuses it too)"))
}

/// Reads a line up to and including its `\n`, keeping its first `keep` bytes in `out`.
/// Returns whether the whole line (newline included) was kept.
fn read_line<I: Input>(input: &mut I, out: &mut Vec<u8>, keep: usize) -> io::Result<bool> {
    out.clear();
    let mut whole = true;
    loop {
        let b = input.byte()?;
        if out.len() < keep {
            out.push(b);
        } else {
            whole = false;
        }
        if b == b'\n' {
            return Ok(whole);
        }
    }
}

fn skip_line<I: Input>(input: &mut I) -> io::Result<()> {
    while input.byte()? != b'\n' {}
    Ok(())
}

/// The memo index of `GET` and `PUT`: digits and a newline, as every pickler writes it.
/// Other spellings that CPython's `PyLong_FromString` still takes (spaces, a sign,
/// underscores, anything after a NUL byte) are not interpreted, since the index decides which
/// string `STACK_GLOBAL` may see: such a pickle cannot be followed. Anything else fails in
/// Python too.
fn memo_index_line<I: Input>(input: &mut I, line: &mut Vec<u8>, at: u64) -> Result<u32, Fault> {
    let fits = read_line(input, line, 64)?;
    let text = line.strip_suffix(b"\n").unwrap_or(line);
    let plain = (fits && !text.is_empty() && text.len() <= 10 && text.iter().all(u8::is_ascii_digit))
        .then(|| std::str::from_utf8(text).ok()?.parse::<u32>().ok())
        .flatten();
    if let Some(index) = plain {
        return Ok(index);
    }
    let has_nul = text.contains(&0);
    let before_nul = text.split(|b| *b == 0).next().unwrap_or_default();
    let python_reads_it = if fits || has_nul {
        let number = before_nul.trim_ascii();
        let number = number.strip_prefix(b"+").or_else(|| number.strip_prefix(b"-")).unwrap_or(number);
        number.first().is_some_and(u8::is_ascii_digit)
            && number.last().is_some_and(u8::is_ascii_digit)
            && number.iter().all(|b| b.is_ascii_digit() || *b == b'_')
            && !number.windows(2).any(|w| w == b"__")
    } else {
        // A long line: it could still be a number only if what was kept could start one.
        text.iter().all(|b| b.is_ascii_whitespace() || b.is_ascii_digit() || matches!(b, b'_' | b'+' | b'-'))
    };
    if python_reads_it {
        Err(Fault::Unfollowable { at, what: "it writes a memo index in a form intake does not read".into() })
    } else {
        Err(unreadable(at, "its memo index is not a number (Python refuses it too)"))
    }
}

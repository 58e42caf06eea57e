//! Pickles written opcode by opcode for tests (no Python, no torch), and the files that
//! hold them: state dicts as `torch.save` writes them, `torch.save` ZIPs, legacy
//! `torch.save` files, and every dangerous spelling the reader must catch.

use super::opcodes::*;
use crate::validate::archive::testzip::{self, Entry};

/// A pickle being written.
#[derive(Debug, Clone, Default)]
pub struct Pickle(pub Vec<u8>);

impl Pickle {
    /// An empty pickle (protocols 0 and 1 start without `PROTO`).
    pub fn new() -> Self {
        Pickle(Vec::new())
    }

    /// A pickle that starts with `PROTO protocol`.
    pub fn proto(protocol: u8) -> Self {
        Pickle(vec![PROTO, protocol])
    }

    pub fn op(mut self, op: u8) -> Self {
        self.0.push(op);
        self
    }

    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }

    /// `GLOBAL module\nname\n`.
    pub fn global(self, module: &str, name: &str) -> Self {
        self.op(GLOBAL).raw(format!("{module}\n{name}\n").as_bytes())
    }

    /// `INST module\nname\n` (pops to the last mark).
    pub fn inst(self, module: &str, name: &str) -> Self {
        self.op(INST).raw(format!("{module}\n{name}\n").as_bytes())
    }

    /// A str: `SHORT_BINUNICODE` when short, else `BINUNICODE`.
    pub fn text(self, s: &str) -> Self {
        if s.len() < 256 {
            self.op(SHORT_BINUNICODE).raw(&[s.len() as u8]).raw(s.as_bytes())
        } else {
            self.binunicode(s)
        }
    }

    /// `BINUNICODE` (protocol 1+).
    pub fn binunicode(self, s: &str) -> Self {
        self.op(BINUNICODE).raw(&(s.len() as u32).to_le_bytes()).raw(s.as_bytes())
    }

    /// `STRING 'text'\n` (protocol 0).
    pub fn string0(self, s: &str) -> Self {
        self.op(STRING).raw(format!("'{s}'\n").as_bytes())
    }

    /// `UNICODE text\n` (protocol 0).
    pub fn unicode0(self, s: &str) -> Self {
        self.op(UNICODE).raw(format!("{s}\n").as_bytes())
    }

    /// A small non-negative int, in the shortest binary form.
    pub fn int(self, n: u32) -> Self {
        match n {
            0..=0xff => self.op(BININT1).raw(&[n as u8]),
            0x100..=0xffff => self.op(BININT2).raw(&(n as u16).to_le_bytes()),
            _ => self.op(BININT).raw(&n.to_le_bytes()),
        }
    }

    /// `BINPUT` or `LONG_BINPUT`.
    pub fn put(self, index: u32) -> Self {
        if index < 256 {
            self.op(BINPUT).raw(&[index as u8])
        } else {
            self.op(LONG_BINPUT).raw(&index.to_le_bytes())
        }
    }

    /// `BINGET` or `LONG_BINGET`.
    pub fn get(self, index: u32) -> Self {
        if index < 256 {
            self.op(BINGET).raw(&[index as u8])
        } else {
            self.op(LONG_BINGET).raw(&index.to_le_bytes())
        }
    }

    /// Ends the pickle with `STOP`.
    pub fn stop(self) -> Vec<u8> {
        self.op(STOP).0
    }
}

/// `module.name(arg)` spelled with `GLOBAL`: the classic malicious pickle.
pub fn call_by_global(protocol: u8, module: &str, name: &str, arg: &str) -> Vec<u8> {
    Pickle::proto(protocol).global(module, name).text(arg).op(TUPLE1).op(REDUCE).stop()
}

/// `module.name(arg)` spelled with protocol 0 only: `cos\nsystem\n(S'arg'\ntR.`.
pub fn call_protocol0(module: &str, name: &str, arg: &str) -> Vec<u8> {
    Pickle::new().global(module, name).op(MARK).string0(arg).op(TUPLE).op(REDUCE).stop()
}

/// `module.name(arg)` spelled with `INST`.
pub fn call_by_inst(module: &str, name: &str, arg: &str) -> Vec<u8> {
    Pickle::new().op(MARK).string0(arg).inst(module, name).stop()
}

/// `module.name(arg)` spelled with `STACK_GLOBAL`, its strings pushed just before.
pub fn call_by_stack_global(module: &str, name: &str, arg: &str) -> Vec<u8> {
    Pickle::proto(4)
        .text(module)
        .op(MEMOIZE)
        .text(name)
        .op(MEMOIZE)
        .op(STACK_GLOBAL)
        .op(MEMOIZE)
        .text(arg)
        .op(TUPLE1)
        .op(REDUCE)
        .stop()
}

/// `STACK_GLOBAL` whose strings were memoized inside a container long before, then
/// dropped from the stack, and fetched back with `BINGET` and `LONG_BINGET`.
pub fn call_by_memoized_strings(module: &str, name: &str, arg: &str) -> Vec<u8> {
    Pickle::proto(4)
        .op(EMPTY_LIST)
        .put(0)
        .op(MARK)
        .text("weights")
        .put(1)
        .text(module)
        .put(2)
        .text(name)
        .put(70_000)
        .op(APPENDS)
        .op(POP)
        .op(EMPTY_DICT)
        .text("padding")
        .int(7)
        .op(SETITEM)
        .op(POP)
        .get(2)
        .get(70_000)
        .op(STACK_GLOBAL)
        .text(arg)
        .op(TUPLE1)
        .op(REDUCE)
        .stop()
}

/// The same, in protocol 0's text opcodes: `UNICODE`, `PUT n`, `GET n`.
pub fn call_by_text_memo(module: &str, name: &str, arg: &str) -> Vec<u8> {
    Pickle::new()
        .unicode0(module)
        .raw(b"p0\n")
        .op(POP)
        .unicode0(name)
        .raw(b"p1\n")
        .op(POP)
        .raw(b"g0\n")
        .raw(b"g1\n")
        .op(STACK_GLOBAL)
        .op(MARK)
        .string0(arg)
        .op(TUPLE)
        .op(REDUCE)
        .stop()
}

/// The tensors of a state dict: `(name, storage key, elements)`.
pub const TENSORS: &[(&str, &str, u32)] = &[("conv.weight", "0", 4), ("conv.bias", "1", 2)];

/// A state dict as `torch.save` pickles it (protocol 2): an `OrderedDict` of tensors
/// rebuilt by `torch._utils._rebuild_tensor_v2` from storages named by persistent ids.
/// `extra` adds entries whose value is written by the closure (a buried call, say).
pub fn state_dict(extra: &[(&str, &dyn Fn(Pickle) -> Pickle)]) -> Vec<u8> {
    let mut p = Pickle::proto(2).global("collections", "OrderedDict").put(0).op(EMPTY_TUPLE).op(REDUCE).put(1);
    p = p.op(MARK);
    for (i, (name, key, elements)) in TENSORS.iter().enumerate() {
        p = p.binunicode(name);
        p = if i == 0 { p.global("torch._utils", "_rebuild_tensor_v2").put(2) } else { p.get(2) };
        p = p.op(MARK).op(MARK).binunicode("storage");
        p = if i == 0 { p.global("torch", "FloatStorage").put(3) } else { p.get(3) };
        p = p.binunicode(key).binunicode("cpu").int(*elements).op(TUPLE).op(BINPERSID);
        p = p.int(0).int(*elements).op(TUPLE1).int(1).op(TUPLE1).op(NEWFALSE);
        p = p.get(0).op(EMPTY_TUPLE).op(REDUCE).op(TUPLE).op(REDUCE);
    }
    for (name, value) in extra {
        p = value(p.binunicode(name));
    }
    p.op(SETITEMS).stop()
}

/// The same state dict as Python 3.8+ pickles it with protocol 4: `STACK_GLOBAL` on
/// memoized strings, `MEMOIZE`, one `FRAME`.
pub fn state_dict_protocol4() -> Vec<u8> {
    let mut body = Pickle::new()
        .text("collections")
        .op(MEMOIZE)
        .text("OrderedDict")
        .op(MEMOIZE)
        .op(STACK_GLOBAL)
        .op(MEMOIZE)
        .op(EMPTY_TUPLE)
        .op(REDUCE)
        .op(MEMOIZE)
        .op(MARK);
    for (i, (name, key, elements)) in TENSORS.iter().enumerate() {
        body = body.text(name).op(MEMOIZE);
        body = if i == 0 {
            body.text("torch._utils").op(MEMOIZE).text("_rebuild_tensor_v2").op(MEMOIZE).op(STACK_GLOBAL).op(MEMOIZE)
        } else {
            body.get(7)
        };
        body = body.op(MARK).op(MARK).text("storage");
        body = if i == 0 { body.text("torch").text("FloatStorage").op(STACK_GLOBAL) } else { body.get(8) };
        body = body.op(MEMOIZE).text(key).text("cpu").int(*elements).op(TUPLE).op(BINPERSID);
        body = body.int(0).int(*elements).op(TUPLE1).int(1).op(TUPLE1).op(NEWFALSE);
        body = body.get(2).op(EMPTY_TUPLE).op(REDUCE).op(TUPLE).op(REDUCE);
    }
    let body = body.op(SETITEMS).stop();
    Pickle::proto(4).op(FRAME).raw(&(body.len() as u64).to_le_bytes()).raw(&body).0
}

/// A protocol 0 pickle of an `OrderedDict` built by `INST` and filled by `BUILD`, as
/// Python 2 wrote them: `(icollections\nOrderedDict\np0\n(dp1\nS'lr'\np2\nF0.001\nsb.`
pub fn ordered_dict_protocol0() -> Vec<u8> {
    Pickle::new()
        .op(MARK)
        .inst("collections", "OrderedDict")
        .raw(b"p0\n")
        .op(MARK)
        .op(DICT)
        .raw(b"p1\n")
        .string0("lr")
        .raw(b"p2\nF0.001\n")
        .op(SETITEM)
        .op(BUILD)
        .stop()
}

/// A NumPy array as `pickle.dumps(np.zeros(2, "f4"), protocol=3)` writes it.
pub fn numpy_array() -> Vec<u8> {
    Pickle::proto(3)
        .global("numpy.core.multiarray", "_reconstruct")
        .put(0)
        .global("numpy", "ndarray")
        .put(1)
        .int(0)
        .op(TUPLE1)
        .op(SHORT_BINBYTES)
        .raw(b"\x01b")
        .op(TUPLE3)
        .op(REDUCE)
        .put(2)
        .op(MARK)
        .int(1)
        .int(2)
        .op(TUPLE1)
        .global("numpy", "dtype")
        .text("f4")
        .op(NEWFALSE)
        .op(NEWTRUE)
        .op(TUPLE3)
        .op(REDUCE)
        .op(MARK)
        .int(3)
        .text("<")
        .op(NONE)
        .op(NONE)
        .op(NONE)
        .raw(b"J\xff\xff\xff\xffJ\xff\xff\xff\xff")
        .int(0)
        .op(TUPLE)
        .op(BUILD)
        .op(NEWFALSE)
        .op(SHORT_BINBYTES)
        .raw(&[8, 0, 0, 0, 0, 0, 0, 0, 0])
        .op(TUPLE)
        .op(BUILD)
        .stop()
}

/// A `torch.save` ZIP (records 64-byte aligned, as torch writes them) with `data.pkl`,
/// its storages, and `more` records.
pub fn torch_zip(data_pkl: &[u8], more: Vec<Entry>) -> Vec<u8> {
    let mut entries = vec![
        Entry::stored("archive/data.pkl", data_pkl),
        Entry::stored("archive/.format_version", b"1"),
        Entry::stored("archive/.storage_alignment", b"64"),
        Entry::stored("archive/byteorder", b"little"),
    ];
    for (_, key, elements) in TENSORS {
        entries.push(Entry::stored(&format!("archive/data/{key}"), &vec![0u8; *elements as usize * 4]));
    }
    entries.push(Entry::stored("archive/version", b"3\n"));
    entries.push(Entry::stored("archive/.data/serialization_id", b"1234567890"));
    entries.extend(more);
    testzip::write(&entries, Some(64), false)
}

/// A legacy (pre-1.6) `torch.save` file: magic number, protocol version, system info, the
/// object, the storage keys, then each storage's raw bytes. `tamper` may replace any of the
/// five pickles (index 0 to 4).
pub fn legacy_torch(tamper: Option<(usize, Vec<u8>)>) -> Vec<u8> {
    let magic =
        Pickle::proto(2).op(LONG1).raw(&[10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]).stop();
    let version = Pickle::proto(2).int(1001).stop();
    let sys_info = Pickle::proto(2)
        .op(EMPTY_DICT)
        .op(MARK)
        .binunicode("protocol_version")
        .int(1001)
        .binunicode("little_endian")
        .op(NEWTRUE)
        .binunicode("type_sizes")
        .op(EMPTY_DICT)
        .binunicode("int")
        .int(4)
        .op(SETITEM)
        .op(SETITEMS)
        .stop();
    let object = state_dict(&[]);
    let keys =
        Pickle::proto(2).op(EMPTY_LIST).op(MARK).binunicode(TENSORS[0].1).binunicode(TENSORS[1].1).op(APPENDS).stop();
    let mut pickles = [magic, version, sys_info, object, keys];
    if let Some((index, replacement)) = tamper {
        pickles[index] = replacement;
    }
    let mut file = pickles.concat();
    for (_, _, elements) in TENSORS {
        file.extend_from_slice(&(*elements as u64).to_le_bytes());
        file.extend_from_slice(&vec![0u8; *elements as usize * 4]);
    }
    file
}

/// A state dict with `name` set to `module.func(arg)`, buried one dict deep.
pub fn state_dict_with_buried_call(module: &str, func: &str, arg: &str) -> Vec<u8> {
    let (module, func, arg) = (module.to_string(), func.to_string(), arg.to_string());
    let buried = move |p: Pickle| {
        p.op(EMPTY_DICT)
            .binunicode("step")
            .int(100)
            .op(SETITEM)
            .binunicode("hook")
            .global(&module, &func)
            .text(&arg)
            .op(TUPLE1)
            .op(REDUCE)
            .op(SETITEM)
    };
    state_dict(&[("optimizer", &buried)])
}

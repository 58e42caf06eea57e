//! The pickle reader against fixtures written opcode by opcode: clean checkpoints pass with
//! their imports reported, every dangerous spelling is refused, unreadable pickles are not
//! called safe, caps refuse rather than truncate, and payloads are skipped unread.

use super::machine::{MAX_IMPORTS, MAX_MARKS, MAX_MEMO, MAX_STACK, TEXT_BUDGET};
use super::opcodes::*;
use super::testpickle::*;
use super::{PicklePolicy, DEFAULT_ALLOWED};
use crate::validate::archive::testzip::{self, Entry};
use crate::validate::{audit_pickles, sniff_head, validate, validate_with, ByteSource, CountingSource, Format};
use intake_api::Kind;

const OS_SYSTEM: &str =
    "the file imports os.system, which runs a program when the file is loaded; only tensors, storages and standard containers are accepted";

/// What validating `bytes` as a model says: `Ok(imports)` or `Err(reason)`.
fn model(bytes: &[u8]) -> Result<Vec<String>, String> {
    model_with(bytes, &PicklePolicy::default())
}

fn model_with(bytes: &[u8], policy: &PicklePolicy) -> Result<Vec<String>, String> {
    match validate_with(Kind::Model, &bytes.to_vec(), policy) {
        Ok(f) => Ok(f.pickle_imports.expect("a pickle-based model reports its imports")),
        Err(e) => Err(e.to_string()),
    }
}

fn refused(bytes: &[u8]) -> String {
    model(bytes).expect_err("expected a refusal")
}

const STATE_DICT_IMPORTS: [&str; 3] =
    ["collections.OrderedDict", "torch.FloatStorage", "torch._utils._rebuild_tensor_v2"];

#[test]
fn clean_checkpoints_pass_and_report_their_imports() {
    for (what, file, format) in [
        ("bare state dict, protocol 2", state_dict(&[]), Format::Pickle),
        ("bare state dict, protocol 4", state_dict_protocol4(), Format::Pickle),
        ("torch.save zip", torch_zip(&state_dict(&[]), vec![]), Format::TorchZip),
        ("legacy torch.save", legacy_torch(None), Format::Pickle),
    ] {
        assert_eq!(sniff_head(&file, file.len() as u64), format, "{what}");
        assert_eq!(model(&file), Ok(STATE_DICT_IMPORTS.map(String::from).to_vec()), "{what}");
    }
    let numpy = numpy_array();
    assert_eq!(
        model(&numpy).unwrap(),
        ["numpy.core.multiarray._reconstruct", "numpy.dtype", "numpy.ndarray"].map(String::from)
    );
    // A torch zip reports its format and storages as before.
    let findings = validate(Kind::Model, &torch_zip(&state_dict(&[]), vec![])).unwrap();
    assert_eq!(findings.properties.format.as_deref(), Some("pytorch"));
    assert_eq!(findings.weights.unwrap().tensor_count, Some(2));
}

#[test]
fn protocol_0_and_1_pickles_are_pickles_not_text() {
    let file = ordered_dict_protocol0();
    assert!(file.is_ascii());
    assert_eq!(sniff_head(&file, file.len() as u64), Format::Pickle);
    assert_eq!(model(&file), Ok(vec!["collections.OrderedDict".to_string()]));
    let err = validate(Kind::Text, &file).unwrap_err().to_string();
    assert_eq!(err, "expected UTF-8 text, found a Python pickle");
    let evil = call_protocol0("os", "system", "echo pwned");
    assert_eq!(sniff_head(&evil, evil.len() as u64), Format::Pickle);
    assert_eq!(refused(&evil), OS_SYSTEM);
    // Protocol 1 (binary opcodes, no PROTO) and PROTO 1.
    let protocol1 = Pickle::new().op(EMPTY_DICT).put(0).binunicode("a").int(1).op(SETITEM).stop();
    assert_eq!(sniff_head(&protocol1, protocol1.len() as u64), Format::Pickle);
    let mut proto1 = vec![PROTO, 1];
    proto1.extend_from_slice(&protocol1);
    assert_eq!(sniff_head(&proto1, proto1.len() as u64), Format::Pickle);
    // A long protocol 0 pickle is claimed from its first bytes.
    let mut long = Pickle::new().op(EMPTY_LIST);
    for _ in 0..30_000 {
        long = long.raw(b"I1\n").op(APPEND);
    }
    let long = long.stop();
    assert!(long.len() > crate::validate::SNIFF_LEN);
    assert_eq!(sniff_head(&long[..crate::validate::SNIFF_LEN], long.len() as u64), Format::Pickle);
    assert_eq!(model(&long), Ok(vec![]));
    // Text stays text, even text that starts like a pickle.
    for text in [&b"N.B. this is a note\n"[..], b"hello world", b"(draft) notes\n", b"I1\n. and more", b"{\"a\": 1}"] {
        assert_ne!(sniff_head(text, text.len() as u64), Format::Pickle, "{}", String::from_utf8_lossy(text));
    }
}

/// Every import the issue names as never allowable, in every spelling.
const DANGEROUS: &[(&str, &str, &str)] = &[
    ("os", "system", "which runs a program"),
    ("posix", "system", "which runs a program"),
    ("nt", "system", "which runs a program"),
    ("subprocess", "Popen", "which runs a program"),
    ("builtins", "eval", "which runs Python code"),
    ("builtins", "exec", "which runs Python code"),
    ("builtins", "getattr", "which reaches any attribute"),
    ("builtins", "__import__", "which imports any module"),
    ("builtins", "compile", "which turns text into Python code"),
    ("builtins", "open", "which opens files"),
    ("__builtin__", "eval", "which runs Python code"),
    ("__builtin__", "getattr", "which reaches any attribute"),
    ("runpy", "_run_code", "which runs a Python module"),
    ("importlib", "import_module", "which imports any module"),
    ("webbrowser", "open", "which opens web pages"),
    ("socket", "create_connection", "which opens network connections"),
    ("shutil", "rmtree", "which copies, moves and deletes files"),
];

#[test]
fn every_dangerous_import_in_every_spelling_is_refused() {
    for (module, name, why) in DANGEROUS {
        let import = format!("{module}.{name}");
        let spellings: [(&str, Vec<u8>); 7] = [
            ("GLOBAL, protocol 2", call_by_global(2, module, name, "x")),
            ("GLOBAL, protocol 0", call_protocol0(module, name, "x")),
            ("INST", call_by_inst(module, name, "x")),
            ("STACK_GLOBAL", call_by_stack_global(module, name, "x")),
            ("STACK_GLOBAL on BINGET/LONG_BINGET", call_by_memoized_strings(module, name, "x")),
            ("STACK_GLOBAL on GET", call_by_text_memo(module, name, "x")),
            ("buried in a state dict", state_dict_with_buried_call(module, name, "x")),
        ];
        for (how, file) in spellings {
            let reason = refused(&file);
            assert!(reason.starts_with(&format!("the file imports {import}, {why}")), "{import} by {how}: {reason}");
            assert!(reason.ends_with("only tensors, storages and standard containers are accepted"), "{reason}");
            // No setting allows it.
            let (policy, ignored) = PicklePolicy::with_extra([import.as_str()]).unwrap();
            assert_eq!(ignored.len(), 1, "{import}");
            assert!(model_with(&file, &policy).is_err(), "{import} by {how} with it configured");
        }
    }
}

#[test]
fn a_dangerous_pickle_anywhere_in_a_checkpoint_is_found() {
    let evil = call_by_global(2, "os", "system", "echo pwned");
    // data.pkl itself; a second .pkl record; the same deflated.
    assert_eq!(refused(&torch_zip(&evil, vec![])), OS_SYSTEM);
    let second = torch_zip(&state_dict(&[]), vec![Entry::stored("archive/extra.pkl", &evil)]);
    assert_eq!(refused(&second), OS_SYSTEM);
    let deflated = torch_zip(&state_dict(&[]), vec![Entry::deflated("archive/constants.pkl", &evil)]);
    assert_eq!(refused(&deflated), OS_SYSTEM);
    // Each of a legacy file's five pickles is read; the raw storage bytes after them are not.
    for index in 0..5 {
        let file = legacy_torch(Some((index, call_by_global(2, "posix", "system", "id"))));
        assert!(refused(&file).starts_with("the file imports posix.system, which runs a program"), "pickle {index}");
    }
    // A ZIP of weights: a pickle stored or deflated; a torch.save ZIP stored inside it.
    for zip in [
        testzip::write(&[Entry::stored("readme.txt", b"hi"), Entry::stored("optimizer.pkl", &evil)], None, false),
        testzip::write(&[Entry::deflated("weights/model.bin", &evil)], None, false),
        testzip::write(&[Entry::stored("unet/diffusion_pytorch_model.bin", &torch_zip(&evil, vec![]))], None, false),
    ] {
        assert_eq!(refused(&zip), OS_SYSTEM);
    }
    // A torch.save ZIP deflated inside a ZIP cannot be opened in place: refused, with what to do.
    let zip = testzip::write(&[Entry::deflated("model.pt", &torch_zip(&state_dict(&[]), vec![]))], None, false);
    let reason = refused(&zip);
    assert!(reason.contains("could not be proven safe") && reason.contains("store it uncompressed"), "{reason}");
    // Clean ones pass: a checkpoint inside a ZIP, and an unpacked torch.save folder whose raw
    // storages happen to start like a pickle.
    let clean = testzip::write(&[Entry::stored("model.pt", &torch_zip(&state_dict(&[]), vec![]))], None, false);
    assert_eq!(model(&clean), Ok(STATE_DICT_IMPORTS.map(String::from).to_vec()));
    let unpacked = testzip::write(
        &[
            Entry::deflated("ckpt/data.pkl", &state_dict(&[])),
            Entry::stored("ckpt/data/0", b"\x80\x02garbage, not a pickle"),
            Entry::stored("ckpt/version", b"3\n"),
        ],
        None,
        false,
    );
    assert_eq!(model(&unpacked), Ok(STATE_DICT_IMPORTS.map(String::from).to_vec()));
}

#[test]
fn imports_on_no_list_are_refused_unless_the_operator_allows_them() {
    let file = Pickle::proto(2).global("mymodule", "Helper").op(EMPTY_TUPLE).op(REDUCE).stop();
    let reason = refused(&file);
    assert_eq!(
        reason,
        "the file imports mymodule.Helper, which intake does not know to be safe: loading the file imports it and may call it; \
         only tensors, storages and standard containers are accepted (save the weights as safetensors, or with \
         torch.save(model.state_dict()) rather than the whole model)"
    );
    let (policy, ignored) = PicklePolicy::with_extra(["mymodule.Helper", " numpy.core.multiarray.scalar "]).unwrap();
    assert!(ignored.is_empty());
    assert_eq!(policy.extra().collect::<Vec<_>>(), ["mymodule.Helper", "numpy.core.multiarray.scalar"]);
    assert_eq!(model_with(&file, &policy), Ok(vec!["mymodule.Helper".to_string()]));
    // Exact names only.
    let (policy, _) = PicklePolicy::with_extra(["mymodule.Help"]).unwrap();
    assert!(model_with(&file, &policy).is_err());
    for bad in ["mymodule.*", "numpy", "a..b", "torch.Size()", "my module.X"] {
        assert!(PicklePolicy::with_extra([bad]).is_err(), "{bad}");
    }
    let (_, ignored) = PicklePolicy::with_extra(["os.path.join", "builtins.getattr", "subprocess.run"]).unwrap();
    assert_eq!(ignored.len(), 3);
    // Many refused imports: three are named, the rest counted.
    let mut many = Pickle::proto(2);
    for i in 0..5 {
        many = many.global(&format!("pkg{i}"), "Thing").op(POP);
    }
    let reason = refused(&many.op(NONE).stop());
    assert!(
        reason.contains("pkg0.Thing") && reason.contains("pkg2.Thing") && !reason.contains("pkg3.Thing"),
        "{reason}"
    );
    assert!(reason.contains("(and 2 more imports intake does not accept)"), "{reason}");
}

#[test]
fn the_default_list_is_what_torch_weights_only_accepts() {
    let policy = PicklePolicy::default();
    for import in STATE_DICT_IMPORTS.iter().chain(&[
        "torch._utils._rebuild_parameter",
        "torch.Size",
        "torch.nn.parameter.Parameter",
        "torch.bfloat16",
        "torch.storage.UntypedStorage",
        "collections.Counter",
        "_codecs.encode",
        "numpy._core.multiarray._reconstruct",
    ]) {
        assert!(policy.allows(import), "{import}");
    }
    assert!(policy.allows("__builtin__.set"), "Python 2's name of builtins.set");
    for import in ["torch.load", "torch.nn.modules.linear.Linear", "__main__.Net", "numpy.load", "builtins.print"] {
        assert!(!policy.allows(import), "{import}");
    }
    for import in DEFAULT_ALLOWED {
        assert!(super::never_allowed(import).is_none(), "{import}");
    }
}

/// What validation says of a pickle that cannot be read to its end.
fn unprovable(bytes: &[u8]) -> String {
    let reason = refused(bytes);
    assert!(reason.starts_with("the file could not be proven safe: "), "{reason}");
    reason
}

#[test]
fn a_pickle_that_cannot_be_read_to_its_end_is_not_called_safe() {
    let clean = state_dict(&[]);
    let truncated = &clean[..clean.len() * 2 / 3];
    assert!(unprovable(truncated).contains("the file is truncated"));
    assert!(unprovable(&clean[..clean.len() - 1]).contains("ends before its STOP opcode"));
    let unknown = Pickle::proto(2).global("collections", "OrderedDict").op(0xff).op(NONE).stop();
    assert!(unprovable(&unknown).contains("at byte 27, byte 0xff is not a pickle opcode"));
    let not_strings = Pickle::proto(4).int(1).text("system").op(STACK_GLOBAL).op(NONE).op(REDUCE).stop();
    assert!(unprovable(&not_strings).contains("STACK_GLOBAL takes a module and name that are not plain strings"));
    let escaped = Pickle::new().raw(b"S'o\\x73'\n").string0("system").op(STACK_GLOBAL).op(POP).op(NONE).stop();
    assert!(unprovable(&escaped).contains("did not keep"));
    let registry = Pickle::proto(2).op(EXT1).raw(&[1]).op(EMPTY_TUPLE).op(REDUCE).stop();
    assert!(unprovable(&registry).contains("copyreg extension registry (EXT1)"));
    let buffer = Pickle::proto(5).op(NEXT_BUFFER).stop();
    assert!(unprovable(&buffer).contains("out-of-band buffer"));
    let underflow = Pickle::proto(2).op(MARK).op(NONE).op(EMPTY_TUPLE).op(MARK).op(REDUCE).stop();
    assert!(unprovable(&underflow).contains("takes more from the stack"));
    let dangling = Pickle::proto(2).get(9).stop();
    assert!(unprovable(&dangling).contains("memo entry 9, which it never stored"));
    let future = Pickle::proto(2).op(PROTO).raw(&[6]).op(NONE).stop();
    assert!(unprovable(&future).contains("protocol 6"));
    // Bytes after a bare pickle must be pickles too.
    let mut trailing = state_dict(&[]);
    trailing.extend_from_slice(b"\x00\x01garbage");
    assert!(unprovable(&trailing).contains("its pickle number 2 cannot be read to its end"));
    // A record of a torch zip is named in the message.
    let zip = torch_zip(&state_dict(&[]), vec![Entry::stored("archive/extra.pkl", truncated)]);
    assert!(unprovable(&zip).contains("its record \"archive/extra.pkl\" cannot be read to its end"));
    // Two pickles back to back are read as such.
    let mut two = state_dict(&[]);
    two.extend_from_slice(&call_by_global(2, "os", "system", "id"));
    assert_eq!(refused(&two), OS_SYSTEM);
}

#[test]
fn random_bytes_are_not_taken_for_a_pickle() {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut head = vec![0u8; crate::validate::SNIFF_LEN];
    for round in 0..3000 {
        for b in head.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        if head[0] == PROTO && (2..=5).contains(&head[1]) {
            continue;
        }
        let len = if round % 2 == 0 { head.len() as u64 * 100 } else { head.len() as u64 };
        assert_ne!(sniff_head(&head, len), Format::Pickle, "round {round}: {:02x?}", &head[..16]);
    }
}

#[test]
fn a_torch_named_record_is_read_as_a_pickle_whatever_its_first_bytes_say() {
    // A payload first (too long for the sniffer to see past), the call after it.
    let mut hidden = Pickle::new().op(BINBYTES).raw(&100_000u32.to_le_bytes()).raw(&[7u8; 100_000]).op(POP).0;
    hidden.extend_from_slice(&call_protocol0("os", "system", "id"));
    assert_ne!(sniff_head(&hidden[..4096], hidden.len() as u64), Format::Pickle);
    let zip = testzip::write(&[Entry::stored("model.bin", &hidden)], None, false);
    assert_eq!(refused(&zip), OS_SYSTEM);
    // Raw bytes under a torch name break at once, as in Python: not a pickle, accepted.
    let raw = testzip::write(&[Entry::stored("weights.bin", &[0x47, 0x47, 0x4d, 0x4c, 1, 2, 3, 4])], None, false);
    assert_eq!(model(&raw), Ok(vec![]));
}

#[test]
fn memo_indexes_are_read_only_in_their_plain_spelling() {
    let with_index = |index: &[u8]| Pickle::new().string0("os").raw(b"p1\n").op(POP).raw(index).op(POP).op(NONE).stop();
    assert_eq!(model(&with_index(b"g1\n")), Ok(vec![]));
    for python_reads_it in [&b"g 1\n"[..], b"g+1\n", b"g1_0\n", b"g1\x00junk\n"] {
        let reason = unprovable(&with_index(python_reads_it));
        assert!(reason.contains("memo index in a form intake does not read"), "{reason}");
    }
    // Not a number at all: Python stops there too (and this one is only text).
    let where_ = super::read_bare(&with_index(b"gone\n")).unwrap().unreadable.unwrap();
    assert!(where_.contains("memo index is not a number"), "{where_}");
    assert!(model(&with_index(b"gone\n")).is_err());
}

#[test]
fn a_forbidden_import_is_named_even_when_the_pickle_then_breaks() {
    let mut file = Pickle::proto(2).global("os", "system").0;
    file.push(0xff);
    assert_eq!(refused(&file), OS_SYSTEM);
}

#[test]
fn caps_refuse_rather_than_truncate() {
    let limit = |bytes: Vec<u8>, what: &str| {
        let where_ = super::read_bare(&bytes).unwrap().unreadable.unwrap();
        assert!(where_.contains("is more than intake reads") && where_.contains(what), "{where_}");
        assert!(model(&bytes).is_err());
    };
    let mut stack = Pickle::proto(2).0;
    stack.resize(2 + MAX_STACK + 1, NONE);
    limit(Pickle(stack).stop(), "stack grows past");
    let mut marks = Pickle::proto(2).0;
    marks.resize(2 + MAX_MARKS + 1, MARK);
    limit(Pickle(marks).stop(), "marks at once");
    let mut memo = Pickle::proto(2).op(NONE);
    for i in 0..=MAX_MEMO as u32 {
        memo = memo.put(i);
    }
    limit(memo.stop(), "memo grows past");
    let mut imports = Pickle::proto(2);
    for i in 0..=MAX_IMPORTS {
        imports = imports.global("collections", &format!("Name{i}")).op(POP);
    }
    limit(imports.op(NONE).stop(), "different objects");
    limit(Pickle::proto(2).global("m", &"n".repeat(600)).stop(), "longer than 512 bytes");
    // Past the strings budget, strings are not kept: a STACK_GLOBAL on them is refused.
    let mut many = Pickle::proto(4).op(EMPTY_LIST);
    let filler = "x".repeat(500);
    for _ in 0..=TEXT_BUDGET / 500 {
        many = many.text(&filler).op(APPEND);
    }
    let reason = unprovable(&many.text("os").text("system").op(STACK_GLOBAL).stop());
    assert!(reason.contains("did not keep"), "{reason}");
}

/// A file of `len` bytes: `head`, zeros, then `tail`, without allocating the zeros.
struct Sparse {
    head: Vec<u8>,
    len: u64,
    tail: Vec<u8>,
}

impl ByteSource for Sparse {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.len.saturating_sub(offset)).min(buf.len() as u64) as usize;
        let tail_start = self.len - self.tail.len() as u64;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            let at = offset + i as u64;
            *b = if at < self.head.len() as u64 {
                self.head[at as usize]
            } else if at >= tail_start {
                self.tail[(at - tail_start) as usize]
            } else {
                0
            };
        }
        Ok(n)
    }
}

#[test]
fn a_one_gib_payload_is_skipped_not_read() {
    let payload: u64 = 1 << 30;
    let head = Pickle::proto(4)
        .global("collections", "OrderedDict")
        .op(EMPTY_TUPLE)
        .op(REDUCE)
        .text("blob")
        .op(BINBYTES8)
        .raw(&payload.to_le_bytes())
        .0;
    let tail = Pickle::new().op(SETITEM).stop();
    let file = Sparse { len: head.len() as u64 + payload + tail.len() as u64, head, tail };
    let counting = CountingSource::new(&file);
    let findings = validate(Kind::Model, &counting).unwrap();
    assert_eq!(findings.pickle_imports, Some(vec!["collections.OrderedDict".to_string()]));
    assert!(counting.bytes_read() < 1 << 20, "read {} bytes", counting.bytes_read());
    // The same payload cut short is a truncated file.
    let short = Sparse { len: file.len - 10, head: file.head.clone(), tail: Vec::new() };
    let reason = match validate(Kind::Model, &short) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted"),
    };
    assert!(reason.contains("in the middle of its BINBYTES8 opcode"), "{reason}");
}

#[test]
fn audit_reports_the_imports_that_fail() {
    let file = torch_zip(&state_dict_with_buried_call("os", "system", "id"), vec![]);
    let verdict = audit_pickles(&file, &PicklePolicy::default()).unwrap().unwrap();
    assert!(!verdict.accepted());
    assert_eq!(verdict.refused.iter().map(|r| r.import.as_str()).collect::<Vec<_>>(), ["os.system"]);
    assert!(verdict.imports.contains(&"torch.FloatStorage".to_string()));
    let clean = audit_pickles(&torch_zip(&state_dict(&[]), vec![]), &PicklePolicy::default()).unwrap().unwrap();
    assert!(clean.accepted());
    let safetensors = crate::validate::test_support::fixture("tiny.safetensors");
    assert_eq!(audit_pickles(&safetensors, &PicklePolicy::default()).unwrap(), None);
}

#[test]
fn mutated_pickles_never_panic_or_hang() {
    let seeds = [
        state_dict(&[]),
        state_dict_protocol4(),
        ordered_dict_protocol0(),
        legacy_torch(None),
        torch_zip(&state_dict(&[]), vec![Entry::deflated("archive/x.pkl", &numpy_array())]),
        call_by_memoized_strings("os", "system", "id"),
    ];
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as usize
    };
    for seed in &seeds {
        for _ in 0..300 {
            let mut m = seed.clone();
            for _ in 0..1 + rnd() % 3 {
                let i = rnd() % m.len();
                match rnd() % 3 {
                    0 => m[i] = rnd() as u8,
                    1 => m.truncate(i.max(1)),
                    _ => m.insert(i, rnd() as u8),
                }
            }
            let _ = validate(Kind::Model, &m);
            let _ = validate(Kind::Asset, &m);
        }
    }
}

/// One fixture for the picklescan comparison (`scripts/picklescan_agreement.py`).
struct Fixture {
    file: &'static str,
    bytes: Vec<u8>,
    accepted: bool,
    /// Why picklescan is expected to see it differently, if it is.
    known_difference: Option<&'static str>,
}

fn catalogue() -> Vec<Fixture> {
    let evil = call_by_global(2, "os", "system", "echo pwned");
    let fixture = |file, bytes, accepted| Fixture { file, bytes, accepted, known_difference: None };
    let mut all = vec![
        fixture("clean_state_dict_protocol2.pkl", state_dict(&[]), true),
        fixture("clean_state_dict_protocol4.pkl", state_dict_protocol4(), true),
        fixture("clean_ordered_dict_protocol0.pkl", ordered_dict_protocol0(), true),
        fixture("clean_numpy_array.pkl", numpy_array(), true),
        fixture("clean_torch_zip.pt", torch_zip(&state_dict(&[]), vec![]), true),
        fixture("clean_legacy_torch.pt", legacy_torch(None), true),
        fixture("os_system_protocol0.pkl", call_protocol0("os", "system", "echo pwned"), false),
        fixture("posix_system_global.pkl", call_by_global(2, "posix", "system", "id"), false),
        fixture("subprocess_inst.pkl", call_by_inst("subprocess", "check_output", "id"), false),
        fixture("builtins_eval_stack_global.pkl", call_by_stack_global("builtins", "eval", "1+1"), false),
        fixture("builtins_exec_memoized_strings.pkl", call_by_memoized_strings("builtins", "exec", "x=1"), false),
        fixture("nt_system_text_memo.pkl", call_by_text_memo("nt", "system", "dir"), false),
        fixture("exec_buried_in_state_dict.pkl", state_dict_with_buried_call("builtins", "exec", "x=1"), false),
        fixture("torch_zip_os_system.pt", torch_zip(&evil, vec![]), false),
        fixture(
            "torch_zip_second_pkl.pt",
            torch_zip(&state_dict(&[]), vec![Entry::stored("archive/extra.pkl", &evil)]),
            false,
        ),
        fixture(
            "legacy_torch_fifth_pickle_calls_out.pt",
            legacy_torch(Some((4, call_by_global(2, "posix", "system", "id")))),
            false,
        ),
        fixture(
            "import_on_no_list.pkl",
            Pickle::proto(2).global("mymodule", "Helper").op(EMPTY_TUPLE).op(REDUCE).stop(),
            false,
        ),
        fixture(
            "weights_zip_deflated_pickle.zip",
            testzip::write(&[Entry::deflated("optimizer.pkl", &evil)], None, false),
            false,
        ),
        fixture(
            "unknown_opcode_after_import.pkl",
            Pickle::proto(2).global("collections", "OrderedDict").op(0xff).stop(),
            false,
        ),
        fixture(
            "stack_global_on_an_int.pkl",
            Pickle::proto(4).int(1).text("system").op(STACK_GLOBAL).op(NONE).op(REDUCE).stop(),
            false,
        ),
    ];
    for (module, name, _) in DANGEROUS {
        let file: &'static str = Box::leak(format!("dangerous_{module}_{name}.pkl").into_boxed_str());
        all.push(fixture(file, call_by_global(2, module, name, "x"), false));
    }
    let truncated = state_dict(&[]);
    all.push(fixture("truncated_state_dict.pkl", truncated[..truncated.len() * 2 / 3].to_vec(), false));
    all.push(Fixture {
        file: "clean_torch_parameter_and_size.pkl",
        bytes: Pickle::proto(2)
            .global("torch._utils", "_rebuild_parameter")
            .global("torch", "Size")
            .int(2)
            .op(TUPLE1)
            .op(TUPLE1)
            .op(REDUCE)
            .op(NEWFALSE)
            .op(EMPTY_DICT)
            .op(TUPLE3)
            .op(REDUCE)
            .stop(),
        accepted: true,
        known_difference: Some(
            "torch.load(weights_only=True) accepts these; picklescan's own safe list is narrower and calls them suspicious",
        ),
    });
    all.push(Fixture {
        file: "ext1_extension_registry.pkl",
        bytes: Pickle::proto(2).op(EXT1).raw(&[1]).op(EMPTY_TUPLE).op(REDUCE).stop(),
        accepted: false,
        known_difference: Some(
            "picklescan does not follow EXT opcodes (the copyreg registry); intake refuses what it cannot name",
        ),
    });
    all.push(Fixture {
        file: "weights_zip_nested_torch_zip.zip",
        bytes: testzip::write(&[Entry::stored("unet/model.bin", &torch_zip(&evil, vec![]))], None, false),
        accepted: false,
        known_difference: Some("picklescan does not open a checkpoint stored inside a ZIP; intake does"),
    });
    all
}

/// Checks intake's verdict on every fixture of the picklescan comparison and, when
/// `INTAKE_PICKLE_FIXTURES_DIR` names a directory, writes them there with a
/// `manifest.json` of intake's verdicts (`scripts/picklescan_agreement.py` reads it).
#[test]
fn picklescan_fixtures() {
    let policy = PicklePolicy::default();
    let mut manifest = Vec::new();
    for f in catalogue() {
        let verdict = audit_pickles(&f.bytes, &policy).unwrap().unwrap_or_else(|| panic!("{}: no pickles", f.file));
        let outcome = model(&f.bytes);
        assert_eq!(outcome.is_ok(), f.accepted, "{}: {outcome:?}", f.file);
        assert_eq!(verdict.accepted(), f.accepted, "{}", f.file);
        manifest.push(serde_json::json!({
            "file": f.file,
            "intake": if f.accepted { "accept" } else { "refuse" },
            "imports": verdict.imports,
            "reason": outcome.err(),
            "knownDifference": f.known_difference,
        }));
        if let Some(dir) = std::env::var_os("INTAKE_PICKLE_FIXTURES_DIR") {
            std::fs::write(std::path::Path::new(&dir).join(f.file), &f.bytes).unwrap();
        }
    }
    if let Some(dir) = std::env::var_os("INTAKE_PICKLE_FIXTURES_DIR") {
        let text = serde_json::to_string_pretty(&manifest).unwrap();
        std::fs::write(std::path::Path::new(&dir).join("manifest.json"), text).unwrap();
    }
}

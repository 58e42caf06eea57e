//! Which imports a model's pickles may make, and how a refusal is worded.
//!
//! An allow-list, not a deny-list: an import is accepted only when it is one of
//! [`DEFAULT_ALLOWED`] (what `torch.load(weights_only=True)` accepts without help, plus
//! NumPy's array reconstruction) or one the operator added by its exact `module.name`
//! (`INTAKE_PICKLE_ALLOW`). The modules and functions of [`NEVER_ALLOWED`] run programs,
//! code or I/O when the file is loaded: no setting allows them.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::files::PickleFindings;

/// What `torch.load(weights_only=True)` accepts without `add_safe_globals` (PyTorch 2.6+,
/// `torch/_weights_only_unpickler.py` `_get_allowed_globals`), spelled the way pickles name
/// them, plus NumPy's array reconstruction (`numpy.core` and NumPy 2's `numpy._core`).
pub const DEFAULT_ALLOWED: &[&str] = &[
    // Containers and the builtins torch's unpickler rebuilds.
    "collections.OrderedDict",
    "collections.Counter",
    "_codecs.encode",
    "builtins.bytearray",
    "builtins.set",
    "builtins.complex",
    // Tensors, parameters, sizes, devices, layouts.
    "torch.Tensor",
    "torch.Size",
    "torch.device",
    "torch.nn.parameter.Parameter",
    "torch.serialization._get_layout",
    "torch._tensor._rebuild_from_type_v2",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_device_tensor_from_cpu_tensor",
    // Quantization schemes.
    "torch.per_tensor_affine",
    "torch.per_tensor_symmetric",
    "torch.per_channel_affine",
    "torch.per_channel_symmetric",
    "torch.per_channel_affine_float_qparams",
    // dtypes with a legacy storage type.
    "torch.float64",
    "torch.float32",
    "torch.float16",
    "torch.int64",
    "torch.int32",
    "torch.int16",
    "torch.int8",
    "torch.uint8",
    "torch.bool",
    "torch.bfloat16",
    "torch.complex128",
    "torch.complex64",
    "torch.qint8",
    "torch.qint32",
    "torch.quint8",
    "torch.quint4x2",
    "torch.quint2x4",
    // Newer dtypes.
    "torch.float8_e5m2",
    "torch.float8_e4m3fn",
    "torch.float8_e5m2fnuz",
    "torch.float8_e4m3fnuz",
    "torch.float8_e8m0fnu",
    "torch.float4_e2m1fn_x2",
    "torch.bits8",
    "torch.bits16",
    "torch.bits1x8",
    "torch.bits2x4",
    "torch.bits4x2",
    "torch.complex32",
    "torch.uint16",
    "torch.uint32",
    "torch.uint64",
    "torch.uint1",
    "torch.uint2",
    "torch.uint3",
    "torch.uint4",
    "torch.uint5",
    "torch.uint6",
    "torch.uint7",
    "torch.int1",
    "torch.int2",
    "torch.int3",
    "torch.int4",
    "torch.int5",
    "torch.int6",
    "torch.int7",
    // Storage types.
    "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage",
    "torch.DoubleStorage",
    "torch.FloatStorage",
    "torch.LongStorage",
    "torch.IntStorage",
    "torch.ShortStorage",
    "torch.CharStorage",
    "torch.ByteStorage",
    "torch.HalfStorage",
    "torch.BoolStorage",
    "torch.BFloat16Storage",
    "torch.ComplexDoubleStorage",
    "torch.ComplexFloatStorage",
    "torch.QUInt8Storage",
    "torch.QInt8Storage",
    "torch.QInt32Storage",
    "torch.QUInt4x2Storage",
    "torch.QUInt2x4Storage",
    "torch.cuda.DoubleStorage",
    "torch.cuda.FloatStorage",
    "torch.cuda.LongStorage",
    "torch.cuda.IntStorage",
    "torch.cuda.ShortStorage",
    "torch.cuda.CharStorage",
    "torch.cuda.ByteStorage",
    "torch.cuda.HalfStorage",
    "torch.cuda.BoolStorage",
    "torch.cuda.BFloat16Storage",
    "torch.cuda.ComplexDoubleStorage",
    "torch.cuda.ComplexFloatStorage",
    // Legacy tensor types (CPU, CUDA, sparse; no sparse bool).
    "torch.ByteTensor",
    "torch.CharTensor",
    "torch.DoubleTensor",
    "torch.FloatTensor",
    "torch.IntTensor",
    "torch.LongTensor",
    "torch.ShortTensor",
    "torch.HalfTensor",
    "torch.BoolTensor",
    "torch.BFloat16Tensor",
    "torch.cuda.ByteTensor",
    "torch.cuda.CharTensor",
    "torch.cuda.DoubleTensor",
    "torch.cuda.FloatTensor",
    "torch.cuda.IntTensor",
    "torch.cuda.LongTensor",
    "torch.cuda.ShortTensor",
    "torch.cuda.HalfTensor",
    "torch.cuda.BoolTensor",
    "torch.cuda.BFloat16Tensor",
    "torch.sparse.ByteTensor",
    "torch.sparse.CharTensor",
    "torch.sparse.DoubleTensor",
    "torch.sparse.FloatTensor",
    "torch.sparse.IntTensor",
    "torch.sparse.LongTensor",
    "torch.sparse.ShortTensor",
    "torch.sparse.HalfTensor",
    "torch.sparse.BFloat16Tensor",
    "torch.cuda.sparse.ByteTensor",
    "torch.cuda.sparse.CharTensor",
    "torch.cuda.sparse.DoubleTensor",
    "torch.cuda.sparse.FloatTensor",
    "torch.cuda.sparse.IntTensor",
    "torch.cuda.sparse.LongTensor",
    "torch.cuda.sparse.ShortTensor",
    "torch.cuda.sparse.HalfTensor",
    "torch.cuda.sparse.BFloat16Tensor",
    // NumPy arrays.
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.ndarray",
    "numpy.dtype",
];

/// Modules that no setting allows, with what importing from them lets a file do. An import
/// is never allowed when any dotted part of its name is one of these (`os.path.join` too).
/// `sys` is blocked by torch's own unpickler; `commands` and `_socket` are the Python 2
/// names that Python's unpickler maps to `subprocess` and `socket`.
pub const NEVER_ALLOWED: &[(&str, &str)] = &[
    ("os", "which reaches the operating system (files, processes) when the file is loaded"),
    ("posix", "which reaches the operating system (files, processes) when the file is loaded"),
    ("nt", "which reaches the operating system (files, processes) when the file is loaded"),
    ("subprocess", "which runs a program when the file is loaded"),
    ("commands", "which runs a program when the file is loaded"),
    ("pty", "which runs a program when the file is loaded"),
    ("sys", "which changes the Python interpreter that loads the file"),
    ("runpy", "which runs a Python module when the file is loaded"),
    ("importlib", "which imports any module when the file is loaded"),
    ("webbrowser", "which opens web pages when the file is loaded"),
    ("socket", "which opens network connections when the file is loaded"),
    ("_socket", "which opens network connections when the file is loaded"),
    ("shutil", "which copies, moves and deletes files when the file is loaded"),
];

/// Functions of `builtins` (Python 2: `__builtin__`) that no setting allows.
const NEVER_ALLOWED_BUILTINS: &[(&str, &str)] = &[
    ("eval", "which runs Python code when the file is loaded"),
    ("exec", "which runs Python code when the file is loaded"),
    ("compile", "which turns text into Python code when the file is loaded"),
    ("getattr", "which reaches any attribute of any object, and so any function, when the file is loaded"),
    ("__import__", "which imports any module when the file is loaded"),
    ("open", "which opens files on the machine that loads the file"),
];

/// `os` functions that start programs: named as such in refusals.
const RUNS_A_PROGRAM: &[&str] = &["system", "popen", "startfile", "fork", "forkpty"];
const RUNS_A_PROGRAM_PREFIXES: &[&str] = &["exec", "spawn", "posix_spawn"];

/// Why an import is never allowed, or `None` when a setting may allow it.
pub fn never_allowed(import: &str) -> Option<&'static str> {
    let parts: Vec<&str> = import.split('.').collect();
    let last = *parts.last()?;
    if let Some(&(module, why)) = parts.iter().find_map(|p| NEVER_ALLOWED.iter().find(|(m, _)| m == p)) {
        let os_like = matches!(module, "os" | "posix" | "nt");
        let starts = RUNS_A_PROGRAM.contains(&last) || RUNS_A_PROGRAM_PREFIXES.iter().any(|p| last.starts_with(p));
        return Some(if os_like && starts { "which runs a program when the file is loaded" } else { why });
    }
    if parts[..parts.len() - 1].iter().any(|p| *p == "builtins" || *p == "__builtin__") {
        return NEVER_ALLOWED_BUILTINS.iter().find(|(name, _)| *name == last).map(|(_, why)| *why);
    }
    None
}

/// Why an import outside the allow-list is refused, in words.
fn why_refused(import: &str) -> &'static str {
    never_allowed(import)
        .unwrap_or("which intake does not know to be safe: loading the file imports it and may call it")
}

/// A setting that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PicklePolicyError(pub String);

/// The imports a model's pickles may make: [`DEFAULT_ALLOWED`] plus the operator's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PicklePolicy {
    extra: Arc<BTreeSet<String>>,
}

/// Entries of `INTAKE_PICKLE_ALLOW` that were left out, each with why.
pub type IgnoredEntries = Vec<(String, &'static str)>;

impl PicklePolicy {
    /// The default list plus `entries`, each an exact `module.name` (no wildcards). Entries
    /// on the never-allowed list are left out and returned with why, for the caller to say
    /// so at startup; a malformed entry is an error.
    pub fn with_extra<I, S>(entries: I) -> Result<(Self, IgnoredEntries), PicklePolicyError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut extra = BTreeSet::new();
        let mut ignored = Vec::new();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            check_entry(entry)?;
            match never_allowed(entry) {
                Some(why) => ignored.push((entry.to_string(), why)),
                None => {
                    extra.insert(entry.to_string());
                }
            }
        }
        Ok((PicklePolicy { extra: Arc::new(extra) }, ignored))
    }

    /// The operator's additions, sorted.
    pub fn extra(&self) -> impl Iterator<Item = &str> {
        self.extra.iter().map(String::as_str)
    }

    /// True when a pickle may import `import` (`module.name`). Python 2's name of the
    /// builtins module, which Python 3 and torch's unpickler map to `builtins`, counts as it.
    pub fn allows(&self, import: &str) -> bool {
        let listed = |name: &str| DEFAULT_ALLOWED.contains(&name) || self.extra.contains(name);
        listed(import) || import.strip_prefix("__builtin__.").is_some_and(|rest| listed(&format!("builtins.{rest}")))
    }

    /// What this policy makes of a file's pickles.
    pub fn judge(&self, findings: &PickleFindings) -> PickleVerdict {
        let refused = findings
            .imports
            .iter()
            .filter(|i| !self.allows(i))
            .map(|i| RefusedImport { import: i.clone(), reason: why_refused(i) })
            .collect();
        PickleVerdict { imports: findings.imports.clone(), refused, unreadable: findings.unreadable.clone() }
    }
}

/// An exact `module.name`: dotted identifiers, at least one dot, no wildcard.
fn check_entry(entry: &str) -> Result<(), PicklePolicyError> {
    if entry.contains('*') || entry.contains('?') {
        return Err(PicklePolicyError(format!(
            "INTAKE_PICKLE_ALLOW entry {entry:?} has a wildcard: name each allowed import exactly, as module.name"
        )));
    }
    let identifier = |part: &str| {
        part.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if !entry.contains('.') || !entry.split('.').all(identifier) {
        return Err(PicklePolicyError(format!(
            "INTAKE_PICKLE_ALLOW entry {entry:?} is not an import: write it as module.name (for example numpy.core.multiarray.scalar)"
        )));
    }
    Ok(())
}

/// An import the policy refuses, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedImport {
    pub import: String,
    /// "which runs a program when the file is loaded", …
    pub reason: &'static str,
}

/// A policy's judgement of a file's pickles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleVerdict {
    /// Every import, sorted and distinct.
    pub imports: Vec<String>,
    /// The imports the policy refuses.
    pub refused: Vec<RefusedImport>,
    /// Where reading stopped before the end, if it did.
    pub unreadable: Option<String>,
}

/// How many refused imports a message names before it only counts the rest.
const NAMED_IN_MESSAGE: usize = 3;

impl PickleVerdict {
    /// True when every pickle was read to its end and imports only what is allowed.
    pub fn accepted(&self) -> bool {
        self.refused.is_empty() && self.unreadable.is_none()
    }

    /// Why the file is refused, as a sentence a person can act on (`None` when accepted).
    pub fn refusal(&self) -> Option<String> {
        if !self.refused.is_empty() {
            let named: Vec<String> =
                self.refused.iter().take(NAMED_IN_MESSAGE).map(|r| format!("{}, {}", r.import, r.reason)).collect();
            let mut message = format!("the file imports {}", named.join(", and "));
            if self.refused.len() > NAMED_IN_MESSAGE {
                message.push_str(&format!(
                    " (and {} more imports intake does not accept)",
                    self.refused.len() - NAMED_IN_MESSAGE
                ));
            }
            message.push_str("; only tensors, storages and standard containers are accepted");
            if self.refused.iter().all(|r| never_allowed(&r.import).is_none()) {
                message.push_str(
                    " (save the weights as safetensors, or with torch.save(model.state_dict()) rather than the whole model)",
                );
            }
            return Some(message);
        }
        self.unreadable.as_ref().map(|where_| {
            format!(
                "the file could not be proven safe: {where_}; a pickle that cannot be read to its end may run code when it is loaded"
            )
        })
    }
}

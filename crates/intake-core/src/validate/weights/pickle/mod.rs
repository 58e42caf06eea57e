//! Pickles, read without running them: what a model file would import when `torch.load` or
//! `pickle.load` opens it, so that files which run code when loaded are refused.
//!
//! A pickle is a program for a small stack machine; loading it imports whatever its
//! `GLOBAL`, `INST` and `STACK_GLOBAL` opcodes name and calls what it `REDUCE`s. This module
//! walks every opcode of protocols 0 to 5 with its exact argument encoding and collects those
//! imports, never calling anything:
//! - `machine.rs`: one pickle, opcode by opcode (linear, bounded memory, payloads skipped);
//! - `files.rs`: every pickle of a file (bare, legacy `torch.save`, `torch.save` ZIP, ZIP of
//!   weights, deflated records through their decompressor);
//! - `policy.rs`: which imports are accepted (an allow-list: what
//!   `torch.load(weights_only=True)` accepts, plus NumPy's array reconstruction, plus what
//!   the operator adds) and how a refusal is worded;
//! - `input.rs`: the byte inputs, where skipping a payload costs a seek, not a read;
//! - `opcodes.rs`: the opcode table.
//!
//! A pickle that cannot be read to its end (an unknown opcode, a truncated file, a
//! `STACK_GLOBAL` on something other than plain strings, a cap reached) is never called
//! safe: [`PickleFindings::unreadable`] says where it stopped.

mod files;
mod input;
mod machine;
mod opcodes;
mod policy;
#[cfg(test)]
pub(crate) mod testpickle;
#[cfg(test)]
mod tests;

pub use files::PickleFindings;
pub use policy::{never_allowed, PicklePolicy, PicklePolicyError, PickleVerdict, RefusedImport, DEFAULT_ALLOWED};

use super::super::archive::{self, CentralDirectory};
use crate::validate::{ByteSource, Format, InspectError};
use files::Reader;

/// Every pickle of a bare pickle file (a legacy `torch.save` file included).
pub(crate) fn read_bare(src: &dyn ByteSource) -> std::io::Result<PickleFindings> {
    let mut reader = Reader::default();
    reader.bare(src)?;
    Ok(reader.finish())
}

/// Every `*.pkl` record of a `torch.save` ZIP whose directory was read.
pub(crate) fn read_torch_zip(
    src: &dyn ByteSource,
    directory: &CentralDirectory,
) -> Result<PickleFindings, InspectError> {
    let mut reader = Reader::default();
    reader.torch_zip(src, directory, None)?;
    Ok(reader.finish())
}

/// Every pickle in a ZIP of weights (its directory read and its bomb rules checked).
pub(crate) fn read_weights_zip(
    src: &dyn ByteSource,
    directory: &CentralDirectory,
) -> Result<PickleFindings, InspectError> {
    let mut reader = Reader::default();
    reader.weights_zip(src, directory, None, 0)?;
    Ok(reader.finish())
}

/// Every pickle of a stored file of `format` (`None` for formats that hold no pickles).
pub(crate) fn read_file(src: &dyn ByteSource, format: Format) -> Result<Option<PickleFindings>, InspectError> {
    match format {
        Format::Pickle => Ok(Some(read_bare(src)?)),
        Format::TorchZip | Format::Zip => {
            let directory = archive::read_central_directory(src, format)?;
            archive::check_bomb(&directory.entries)?;
            if format == Format::TorchZip {
                read_torch_zip(src, &directory).map(Some)
            } else {
                read_weights_zip(src, &directory).map(Some)
            }
        }
        _ => Ok(None),
    }
}

/// Opcodes a file whose first bytes stop short of a `STOP` must show before the sniffer
/// calls it a pickle: random bytes rarely survive more than a few opcodes.
const MIN_SNIFFED_OPCODES: u64 = 64;

/// True when `head`, the first bytes of a file of `total_len` bytes, is a pickle of
/// protocol 0 or 1 (or one that starts with `PROTO 0`/`PROTO 1`), which has no magic
/// number: the bytes must read as pickles back to back up to the end of the file, or, when
/// the file goes on, through the whole of `head` (at least [`MIN_SNIFFED_OPCODES`]
/// opcodes). A pickle that imports something before it breaks, or that intake cannot follow
/// (where Python might go on), is claimed too, so that it is refused rather than passed as
/// text.
pub(crate) fn looks_like_pickle(head: &[u8], total_len: u64) -> bool {
    if head.first().is_none_or(|op| opcodes::name(*op).is_none()) {
        return false;
    }
    let whole_file = head.len() as u64 >= total_len;
    let mut input = input::SliceInput::new(head);
    let mut machine = machine::Machine::default();
    let mut imports = machine::Imports::default();
    let mut ops = 0;
    loop {
        let result = machine.run(&mut input, &mut imports);
        ops += machine.ops;
        match result {
            Ok(_) if input::Input::remaining(&input) == 0 => return whole_file || ops >= MIN_SNIFFED_OPCODES,
            Ok(_) => {}
            Err(machine::Fault::Unfollowable { .. } | machine::Fault::Limit(_)) => return true,
            Err(machine::Fault::Truncated { .. }) if !whole_file && ops >= MIN_SNIFFED_OPCODES => return true,
            Err(_) => return !imports.names.is_empty(),
        }
    }
}

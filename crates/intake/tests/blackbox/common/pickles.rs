//! Model files that hold pickles, written opcode by opcode (no Python, no torch): a clean
//! state dict as `torch.save` pickles it, the same in a `torch.save` ZIP, and pickles that
//! call out when loaded.

use super::media::crc32;

/// `module.name(arg)` in protocol 0: `cos\nsystem\n(S'echo pwned'\ntR.`, the classic.
pub fn call(module: &str, name: &str, arg: &str) -> Vec<u8> {
    format!("c{module}\n{name}\n(S'{arg}'\ntR.").into_bytes()
}

fn binunicode(out: &mut Vec<u8>, s: &str) {
    out.push(b'X');
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The imports of [`state_dict`], sorted.
pub const STATE_DICT_IMPORTS: [&str; 3] =
    ["collections.OrderedDict", "torch.FloatStorage", "torch._utils._rebuild_tensor_v2"];

/// `OrderedDict(weight=tensor)` as `torch.save` pickles it (protocol 2): the tensor rebuilt
/// by `torch._utils._rebuild_tensor_v2` from storage "0", named by a persistent id.
pub fn state_dict() -> Vec<u8> {
    let mut p = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(".to_vec();
    binunicode(&mut p, "weight");
    p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\nq\x02((");
    binunicode(&mut p, "storage");
    p.extend_from_slice(b"ctorch\nFloatStorage\nq\x03");
    binunicode(&mut p, "0");
    binunicode(&mut p, "cpu");
    // numel 4, tuple, BINPERSID; offset 0, size (4,), stride (1,), requires_grad False,
    // hooks OrderedDict(); args tuple, REDUCE; SETITEMS; STOP.
    p.extend_from_slice(b"K\x04tQK\x00K\x04\x85K\x01\x85\x89h\x00)RtRu.");
    p
}

/// A `torch.save` ZIP: `archive/data.pkl` = `data_pkl`, its storage, the version records,
/// and `more` records; stored, data 64-byte aligned as torch writes it.
pub fn torch_zip(data_pkl: &[u8], more: &[(&str, &[u8])]) -> Vec<u8> {
    let mut records: Vec<(&str, &[u8])> =
        vec![("archive/data.pkl", data_pkl), ("archive/data/0", &[0u8; 16]), ("archive/version", b"3\n")];
    records.extend_from_slice(more);
    stored_zip(&records)
}

/// A ZIP of stored records.
pub fn stored_zip(records: &[(&str, &[u8])]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data) in records {
        let offset = out.len() as u32;
        let pad = (64 - (out.len() + 30 + name.len() + 4) % 64) % 64;
        let mut extra = 0x4246u16.to_le_bytes().to_vec();
        extra.extend_from_slice(&(pad as u16).to_le_bytes());
        extra.resize(4 + pad, b'Z');
        let fields = |out: &mut Vec<u8>| {
            out.extend_from_slice(&[0; 4]); // time, date
            out.extend_from_slice(&crc32(data).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        };
        out.extend_from_slice(&[0x50, 0x4b, 3, 4, 20, 0, 0, 0, 0, 0]);
        fields(&mut out);
        out.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&extra);
        out.extend_from_slice(data);
        central.extend_from_slice(&[0x50, 0x4b, 1, 2, 20, 0, 20, 0, 0, 0, 0, 0]);
        fields(&mut central);
        central.extend_from_slice(&[0; 12]); // extra and comment lengths, disk, attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let directory = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&[0x50, 0x4b, 5, 6, 0, 0, 0, 0]);
    out.extend_from_slice(&(records.len() as u16).to_le_bytes());
    out.extend_from_slice(&(records.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&directory.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

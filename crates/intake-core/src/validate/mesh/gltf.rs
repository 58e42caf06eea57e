//! glTF 2.0: the JSON document (`.gltf`) and its binary container (GLB).
//!
//! GLB: 12-byte header (`glTF`, version 2, total length that must equal the file length),
//! a JSON chunk (capped at 64 MiB) and an optional BIN chunk that must fit the file. The
//! JSON is then checked the same way for both: `asset.version` 2.x, every accessor,
//! bufferView and buffer index in range, accessors inside their bufferViews, bufferViews
//! inside their buffers, and the GLB buffer inside the BIN chunk (embedded `data:` buffers
//! must hold the bytes they declare; external `.bin` files cannot be checked).

use super::super::work::{step, steps};
use super::super::{read_up_to, ByteSource, Format, InspectError, Rejection};
use super::{corrupt, eof};
use intake_api::AssetProperties;
use serde_json::{Map, Value};

/// Largest glTF JSON (a `.gltf` file or a GLB JSON chunk) intake parses.
const MAX_JSON: u64 = 64 * 1024 * 1024;

/// Most chunks a GLB walk visits.
const MAX_CHUNKS: usize = 1024;

fn u32le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// `glTF` magic followed by a container version we know of.
pub(super) fn sniff_glb(head: &[u8]) -> bool {
    head.len() >= 12 && head.starts_with(b"glTF") && matches!(u32le(&head[4..8]), 1 | 2)
}

/// A JSON object whose top level holds an `asset` object with a `"major.minor"` version,
/// or (for exporters that sort keys) `accessors`/`bufferViews` with `componentType`s.
/// A generic JSON document is not glTF.
pub(super) fn sniff_json(head: &[u8]) -> bool {
    let s = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let Some(start) = s.iter().position(|b| !b.is_ascii_whitespace()) else { return false };
    let s = &s[start..];
    if s.first() != Some(&b'{') {
        return false;
    }
    let mut depth = 0usize;
    let mut asset_depth = None;
    let mut expect_asset = false;
    let mut buffer_keys = false;
    let mut component_type = false;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' => {
                let Some((text, next)) = json_string(s, i) else { return false };
                let j = skip_ws(s, next);
                if s.get(j) == Some(&b':') {
                    if depth == 1 {
                        expect_asset = text == b"asset";
                        buffer_keys |= text == b"accessors" || text == b"bufferViews";
                    } else if depth == 3 && buffer_keys && text == b"componentType" {
                        component_type = true;
                    }
                    if asset_depth == Some(depth) && text == b"version" {
                        let k = skip_ws(s, j + 1);
                        return s.get(k) == Some(&b'"') && json_string(s, k).is_some_and(|(v, _)| is_version(v));
                    }
                    i = j + 1;
                    continue;
                }
                expect_asset = false;
                i = next;
                continue;
            }
            b'{' => {
                depth += 1;
                if expect_asset && depth == 2 {
                    asset_depth = Some(2);
                }
                expect_asset = false;
            }
            b'[' => {
                depth += 1;
                expect_asset = false;
            }
            b'}' | b']' => {
                if asset_depth == Some(depth) {
                    asset_depth = None;
                }
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            c if c.is_ascii_whitespace() => {}
            _ => expect_asset = false,
        }
        i += 1;
    }
    buffer_keys && component_type
}

/// The raw text of the JSON string opening at `s[i]` and the index after its closing quote.
fn json_string(s: &[u8], i: usize) -> Option<(&[u8], usize)> {
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'\\' => j += 2,
            b'"' => return Some((&s[i + 1..j], j + 1)),
            _ => j += 1,
        }
    }
    None
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// `"2.0"`-style: digits, a dot, digits.
fn is_version(v: &[u8]) -> bool {
    let mut parts = v.split(|&b| b == b'.');
    let ok = |p: Option<&[u8]>| p.is_some_and(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit));
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// Parses a `.gltf` document (the whole file is the JSON, under [`MAX_JSON`]).
pub(super) fn inspect_gltf(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    const F: Format = Format::Gltf;
    let len = src.len();
    if len > MAX_JSON {
        return Err(Rejection(format!(
            "the glTF document is {len} bytes; intake checks glTF JSON up to 64 MiB (embedded buffers belong in a GLB)"
        ))
        .into());
    }
    let bytes = read_up_to(src, 0, len as usize)?;
    let json = parse_json(&bytes, F)?;
    analyze(&json, F, None)
}

/// Parses a GLB container: header, JSON chunk, optional BIN chunk.
pub(super) fn inspect_glb(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    const F: Format = Format::Glb;
    let len = src.len();
    let h = read_up_to(src, 0, 20)?;
    if h.len() < 12 {
        return Err(eof());
    }
    match u32le(&h[4..8]) {
        2 => {}
        1 => {
            return Err(Rejection(
                "the file is a glTF 1.0 binary (GLB version 1); only glTF 2.0 is accepted, re-export it as glTF 2.0"
                    .into(),
            )
            .into())
        }
        v => return Err(corrupt(F, format!("its header declares the unknown GLB version {v}"))),
    }
    let length = u64::from(u32le(&h[8..12]));
    if length > len {
        return Err(corrupt(F, format!("its header declares {length} bytes but the file has only {len} (truncated)")));
    }
    if length < len {
        return Err(corrupt(
            F,
            format!("its header declares {length} bytes but the file has {len} (data after its end)"),
        ));
    }
    if h.len() < 20 {
        return Err(corrupt(F, "it has no JSON chunk (truncated)"));
    }
    let json_len = u64::from(u32le(&h[12..16]));
    if &h[16..20] != b"JSON" {
        return Err(corrupt(F, "its first chunk is not the JSON chunk"));
    }
    if json_len > MAX_JSON {
        return Err(Rejection(format!(
            "the GLB's JSON chunk is {json_len} bytes; intake checks glTF JSON up to 64 MiB"
        ))
        .into());
    }
    if 20 + json_len > length {
        return Err(corrupt(F, "its JSON chunk runs past the end of the file (truncated)"));
    }
    let json_bytes = read_up_to(src, 20, json_len as usize)?;
    let mut bin = None;
    let mut off = 20 + json_len;
    for _ in 0..MAX_CHUNKS {
        step()?;
        if off + 8 > length {
            break;
        }
        let c = read_up_to(src, off, 8)?;
        let clen = u64::from(u32le(&c[0..4]));
        if off + 8 + clen > length {
            let name = String::from_utf8_lossy(&c[4..8]).trim_end_matches('\0').to_string();
            return Err(corrupt(F, format!("its {name} chunk runs past the end of the file (truncated)")));
        }
        if &c[4..8] == b"BIN\0" && bin.is_none() {
            bin = Some(clen);
        }
        off += 8 + clen;
    }
    let json = parse_json(&json_bytes, F)?;
    analyze(&json, F, Some(bin))
}

/// Most JSON values (counted by their separators) parsed into memory: a hostile document
/// of tiny values would otherwise cost far more memory than its size.
const MAX_VALUES: usize = 2_000_000;

/// Roughly how many values `bytes` holds: commas and openings outside strings.
fn count_values(bytes: &[u8]) -> usize {
    let (mut n, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b',' | b'[' | b'{' => n += 1,
                _ => {}
            }
        }
    }
    n
}

fn parse_json(bytes: &[u8], f: Format) -> Result<Value, InspectError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Counting the values, then parsing: each byte is looked at twice.
    steps(2 * bytes.len() as u64)?;
    if count_values(bytes) > MAX_VALUES {
        return Err(Rejection(format!(
            "the {} holds more than {MAX_VALUES} JSON values; intake does not check glTF this large",
            if f == Format::Glb { "GLB's JSON chunk" } else { "glTF document" }
        ))
        .into());
    }
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace() && *b != 0).map_or(0, |p| p + 1);
    serde_json::from_slice(&bytes[..end]).map_err(|e| {
        if e.is_eof() {
            corrupt(f, "its JSON ends too early (truncated)")
        } else {
            corrupt(f, format!("its JSON is invalid ({e})"))
        }
    })
}

fn array<'a>(root: &'a Map<String, Value>, key: &str, f: Format) -> Result<&'a [Value], InspectError> {
    match root.get(key) {
        None => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(corrupt(f, format!("its \"{key}\" member is not an array"))),
    }
}

/// An optional index member that, when present, must be below `len`.
fn index(
    v: Option<&Value>,
    len: usize,
    what: impl Fn() -> String,
    target: &str,
    f: Format,
) -> Result<Option<usize>, InspectError> {
    let Some(v) = v else { return Ok(None) };
    match v.as_u64() {
        Some(i) if i < len as u64 => Ok(Some(i as usize)),
        _ => Err(corrupt(f, format!("{} refers to {target} {v}, but there are only {len}", what()))),
    }
}

fn uint(v: Option<&Value>) -> Option<u64> {
    v.and_then(Value::as_u64)
}

/// Bytes a `data:…;base64,` URI decodes to, if the URI is one.
fn data_uri_len(uri: &str) -> Option<u64> {
    let payload = &uri[uri.find(";base64,")? + 8..];
    let digits = payload.trim_end_matches('=').len() as u64;
    Some(digits * 3 / 4)
}

/// Checks the glTF structure and counts what it holds. `glb` is `Some(BIN chunk length)`
/// for a GLB container.
fn analyze(json: &Value, f: Format, glb: Option<Option<u64>>) -> Result<AssetProperties, InspectError> {
    let root = json.as_object().ok_or_else(|| corrupt(f, "its JSON is not an object"))?;
    let asset = root.get("asset").and_then(Value::as_object).ok_or_else(|| corrupt(f, "it has no \"asset\" object"))?;
    let version =
        asset.get("version").and_then(Value::as_str).ok_or_else(|| corrupt(f, "its asset object has no version"))?;
    if !version.starts_with("2.") {
        return Err(Rejection(format!(
            "the file is a glTF {version} model; only glTF 2.x is accepted, re-export it as glTF 2.0"
        ))
        .into());
    }

    // Buffers and what each can hold.
    let buffers = array(root, "buffers", f)?;
    let mut buffer_len = Vec::with_capacity(buffers.len());
    for (i, b) in buffers.iter().enumerate() {
        step()?;
        let len = uint(b.get("byteLength")).ok_or_else(|| corrupt(f, format!("buffer {i} has no valid byteLength")))?;
        // A meshopt fallback buffer holds no data: its views are decoded from another buffer.
        let fallback = b.pointer("/extensions/EXT_meshopt_compression/fallback") == Some(&Value::Bool(true));
        match b.get("uri").and_then(Value::as_str) {
            _ if fallback => {}
            Some(uri) => {
                if let Some(have) = data_uri_len(uri) {
                    if have < len {
                        return Err(corrupt(
                            f,
                            format!("buffer {i} embeds {have} bytes but declares a byteLength of {len}"),
                        ));
                    }
                }
            }
            None => match glb {
                Some(bin) if i == 0 => match bin {
                    None => return Err(corrupt(f, "buffer 0 refers to the binary chunk, but the file has none")),
                    Some(bin) if len > bin => {
                        return Err(corrupt(
                            f,
                            format!("buffer 0 declares {len} bytes but the BIN chunk holds only {bin}"),
                        ))
                    }
                    Some(_) => {}
                },
                _ => return Err(corrupt(f, format!("buffer {i} has no uri"))),
            },
        }
        buffer_len.push(len);
    }

    let views = array(root, "bufferViews", f)?;
    let mut view_len = Vec::with_capacity(views.len());
    for (i, v) in views.iter().enumerate() {
        step()?;
        let b = index(v.get("buffer"), buffers.len(), || format!("bufferView {i}"), "buffer", f)?
            .ok_or_else(|| corrupt(f, format!("bufferView {i} has no buffer")))?;
        let len =
            uint(v.get("byteLength")).ok_or_else(|| corrupt(f, format!("bufferView {i} has no valid byteLength")))?;
        let offset = uint(v.get("byteOffset")).unwrap_or(0);
        if u128::from(offset) + u128::from(len) > u128::from(buffer_len[b]) {
            return Err(corrupt(f, format!("bufferView {i} runs past the end of buffer {b}")));
        }
        view_len.push((len, uint(v.get("byteStride"))));
    }

    let accessors = array(root, "accessors", f)?;
    let mut accessor_count = Vec::with_capacity(accessors.len());
    for (i, a) in accessors.iter().enumerate() {
        step()?;
        let count = uint(a.get("count")).ok_or_else(|| corrupt(f, format!("accessor {i} has no valid count")))?;
        let component = match uint(a.get("componentType")) {
            Some(5120 | 5121) => 1u64,
            Some(5122 | 5123) => 2,
            Some(5125 | 5126) => 4,
            _ => return Err(corrupt(f, format!("accessor {i} has an invalid componentType"))),
        };
        let components = match a.get("type").and_then(Value::as_str) {
            Some("SCALAR") => 1u64,
            Some("VEC2") => 2,
            Some("VEC3") => 3,
            Some("VEC4") | Some("MAT2") => 4,
            Some("MAT3") => 9,
            Some("MAT4") => 16,
            _ => return Err(corrupt(f, format!("accessor {i} has an invalid type"))),
        };
        if let Some(v) = index(a.get("bufferView"), views.len(), || format!("accessor {i}"), "bufferView", f)? {
            if count > 0 {
                let (len, stride) = view_len[v];
                let element = component * components;
                let stride = stride.unwrap_or(element);
                let offset = uint(a.get("byteOffset")).unwrap_or(0);
                let need = u128::from(offset) + u128::from(stride) * u128::from(count - 1) + u128::from(element);
                if need > u128::from(len) {
                    return Err(corrupt(
                        f,
                        format!("accessor {i} needs {need} bytes but its bufferView {v} holds only {len}"),
                    ));
                }
            }
        }
        accessor_count.push(count);
    }

    let (mut vertices, mut faces, mut normals, mut uvs) = (0u64, 0u64, false, false);
    let meshes = array(root, "meshes", f)?;
    for (m, mesh) in meshes.iter().enumerate() {
        let prims = mesh
            .get("primitives")
            .and_then(Value::as_array)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| corrupt(f, format!("mesh {m} has no primitives")))?;
        for (p, prim) in prims.iter().enumerate() {
            step()?;
            let attrs = prim
                .get("attributes")
                .and_then(Value::as_object)
                .ok_or_else(|| corrupt(f, format!("mesh {m} primitive {p} has no attributes")))?;
            let mut position = None;
            for (name, value) in attrs {
                step()?;
                let what = || format!("mesh {m} primitive {p} attribute {name}");
                let a = index(Some(value), accessors.len(), what, "accessor", f)?;
                match name.as_str() {
                    "POSITION" => position = a.map(|a| accessor_count[a]),
                    "NORMAL" => normals = true,
                    "TEXCOORD_0" => uvs = true,
                    _ => {}
                }
            }
            let what = || format!("mesh {m} primitive {p} indices");
            let indices = index(prim.get("indices"), accessors.len(), what, "accessor", f)?.map(|a| accessor_count[a]);
            let position = position.unwrap_or(0);
            vertices = vertices.saturating_add(position);
            let n = indices.unwrap_or(position);
            let tris = match uint(prim.get("mode")).unwrap_or(4) {
                4 => n / 3,
                5 | 6 => n.saturating_sub(2),
                _ => 0,
            };
            faces = faces.saturating_add(tris);
        }
    }

    let skins = array(root, "skins", f)?;
    for (s, skin) in skins.iter().enumerate() {
        step()?;
        index(skin.get("inverseBindMatrices"), accessors.len(), || format!("skin {s}"), "accessor", f)?;
    }
    let animations = array(root, "animations", f)?;
    for (n, anim) in animations.iter().enumerate() {
        for (k, sampler) in anim.get("samplers").and_then(Value::as_array).into_iter().flatten().enumerate() {
            step()?;
            let what = || format!("animation {n} sampler {k}");
            index(sampler.get("input"), accessors.len(), what, "accessor", f)?;
            index(sampler.get("output"), accessors.len(), what, "accessor", f)?;
        }
    }
    for (n, node) in array(root, "nodes", f)?.iter().enumerate() {
        step()?;
        index(node.get("mesh"), meshes.len(), || format!("node {n}"), "mesh", f)?;
        index(node.get("skin"), skins.len(), || format!("node {n}"), "skin", f)?;
    }

    Ok(AssetProperties {
        vertex_count: Some(vertices),
        face_count: Some(faces),
        has_normals: Some(normals),
        has_uvs: Some(uvs),
        has_animations: Some(!animations.is_empty()),
        has_skeleton: Some(!skins.is_empty()),
        ..Default::default()
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::super::{validate, CountingSource, Findings, ValidateError};
    use super::super::{inspect, sniff};
    use super::*;
    use intake_api::Kind;
    use serde_json::json;

    /// One triangle: positions, normals, UVs (3 vertices) and u16 indices.
    fn triangle_bin() -> Vec<u8> {
        let mut bin = Vec::new();
        for p in [[0f32, 0., 0.], [1., 0., 0.], [0., 1., 0.]] {
            p.iter().for_each(|x| bin.extend_from_slice(&x.to_le_bytes()));
        }
        for _ in 0..3 {
            [0f32, 0., 1.].iter().for_each(|x| bin.extend_from_slice(&x.to_le_bytes()));
        }
        for uv in [[0f32, 0.], [1., 0.], [0., 1.]] {
            uv.iter().for_each(|x| bin.extend_from_slice(&x.to_le_bytes()));
        }
        for i in [0u16, 1, 2, 0] {
            bin.extend_from_slice(&i.to_le_bytes()); // 3 indices + 2 bytes of padding
        }
        bin
    }

    fn triangle_json(buffer: Value) -> Value {
        json!({
            "asset": {"version": "2.0", "generator": "intake tests"},
            "scene": 0,
            "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0}],
            "meshes": [{"primitives": [{
                "attributes": {"POSITION": 0, "NORMAL": 1, "TEXCOORD_0": 2},
                "indices": 3
            }]}],
            "buffers": [buffer],
            "bufferViews": [
                {"buffer": 0, "byteOffset": 0, "byteLength": 72, "byteStride": 12},
                {"buffer": 0, "byteOffset": 72, "byteLength": 24},
                {"buffer": 0, "byteOffset": 96, "byteLength": 6}
            ],
            "accessors": [
                {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", "max": [1, 1, 0], "min": [0, 0, 0]},
                {"bufferView": 0, "byteOffset": 36, "componentType": 5126, "count": 3, "type": "VEC3"},
                {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC2"},
                {"bufferView": 2, "componentType": 5123, "count": 3, "type": "SCALAR"}
            ]
        })
    }

    fn glb(json: &Value, bin: &[u8]) -> Vec<u8> {
        let mut j = serde_json::to_vec(json).unwrap();
        while !j.len().is_multiple_of(4) {
            j.push(b' ');
        }
        let mut out = b"glTF".to_vec();
        out.extend_from_slice(&2u32.to_le_bytes());
        let total = 12 + 8 + j.len() + if bin.is_empty() { 0 } else { 8 + bin.len() };
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(j.len() as u32).to_le_bytes());
        out.extend_from_slice(b"JSON");
        out.extend_from_slice(&j);
        if !bin.is_empty() {
            out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
            out.extend_from_slice(b"BIN\0");
            out.extend_from_slice(bin);
        }
        out
    }

    pub(in super::super) fn triangle_glb() -> Vec<u8> {
        let bin = triangle_bin();
        glb(&triangle_json(json!({"byteLength": bin.len()})), &bin)
    }

    /// The same triangle as a `.gltf` with its buffer embedded as a data URI.
    pub(in super::super) fn triangle_gltf() -> Vec<u8> {
        let bin = triangle_bin();
        let uri = format!("data:application/octet-stream;base64,{}", base64(&bin));
        let mut j = triangle_json(json!({"byteLength": bin.len(), "uri": uri}));
        // Exporters write `asset` first; serde_json would sort it after `accessors`.
        let asset = j.as_object_mut().unwrap().remove("asset").unwrap();
        let rest = serde_json::to_string_pretty(&j).unwrap();
        format!("{{\n  \"asset\": {asset},{}", &rest[1..]).into_bytes()
    }

    fn base64(data: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in data.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                if k <= c.len() {
                    s.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    fn check(format: Format, bytes: &[u8]) -> Findings {
        assert_eq!(sniff(bytes, bytes.len() as u64), Some(format));
        validate(Kind::ThreeD, &bytes.to_vec()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn rejected(bytes: &[u8]) -> String {
        match validate(Kind::ThreeD, &bytes.to_vec()) {
            Err(ValidateError::Rejected(r)) => r.0,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    fn assert_triangle(p: &AssetProperties) {
        assert_eq!(p.vertex_count, Some(3));
        assert_eq!(p.face_count, Some(1));
        assert_eq!(p.has_normals, Some(true));
        assert_eq!(p.has_uvs, Some(true));
        assert_eq!(p.has_animations, Some(false));
        assert_eq!(p.has_skeleton, Some(false));
    }

    #[test]
    fn glb_triangle() {
        let bytes = triangle_glb();
        let found = check(Format::Glb, &bytes);
        assert_eq!(found.properties.format.as_deref(), Some("glb"));
        assert_triangle(&found.properties);
    }

    #[test]
    fn gltf_triangle() {
        let bytes = triangle_gltf();
        assert!(bytes.starts_with(b"{\n  \"asset\": {"));
        let found = check(Format::Gltf, &bytes);
        assert_eq!(found.properties.format.as_deref(), Some("gltf"));
        assert_triangle(&found.properties);
        // Not indexed, with an animation and a skin: faces from POSITION count.
        let mut j: Value = serde_json::from_slice(&bytes).unwrap();
        j["meshes"][0]["primitives"][0].as_object_mut().unwrap().remove("indices");
        j["animations"] = json!([{"channels": [], "samplers": [{"input": 3, "output": 0}]}]);
        j["skins"] = json!([{"joints": [0]}]);
        let p = check(Format::Gltf, &serde_json::to_vec(&j).unwrap()).properties;
        assert_eq!((p.vertex_count, p.face_count), (Some(3), Some(1)));
        assert_eq!((p.has_animations, p.has_skeleton), (Some(true), Some(true)));
    }

    #[test]
    fn glb_truncated_and_corrupt() {
        let good = triangle_glb();
        let msg = rejected(&good[..good.len() - 10]);
        assert!(msg.contains("GLB") && msg.contains("truncated"), "{msg}");
        let mut extra = good.clone();
        extra.extend_from_slice(b"junk");
        assert!(rejected(&extra).contains("declares"));
        // BIN chunk length patched beyond the end.
        let mut bad = good.clone();
        let bin_at = 20 + u32le(&good[12..16]) as usize;
        bad[bin_at..bin_at + 4].copy_from_slice(&1000u32.to_le_bytes());
        assert!(rejected(&bad).contains("BIN chunk runs past the end"));
        // An accessor index out of range.
        let bin = triangle_bin();
        let mut j = triangle_json(json!({"byteLength": bin.len()}));
        j["meshes"][0]["primitives"][0]["attributes"]["POSITION"] = json!(9);
        let msg = rejected(&glb(&j, &bin));
        assert!(msg.contains("POSITION refers to accessor 9, but there are only 4"), "{msg}");
        // A bufferView past the BIN chunk.
        let mut j = triangle_json(json!({"byteLength": bin.len() + 100}));
        j["bufferViews"][2]["byteLength"] = json!(200);
        assert!(rejected(&glb(&j, &bin)).contains("BIN chunk holds only 104"));
        let mut j = triangle_json(json!({"byteLength": bin.len()}));
        j["bufferViews"][2]["byteLength"] = json!(200);
        assert!(rejected(&glb(&j, &bin)).contains("bufferView 2 runs past the end of buffer 0"));
        // An accessor past its bufferView.
        let mut j = triangle_json(json!({"byteLength": bin.len()}));
        j["accessors"][2]["count"] = json!(4);
        assert!(rejected(&glb(&j, &bin)).contains("accessor 2 needs 32 bytes"));
        // Damaged JSON.
        let mut bad = good.clone();
        bad[20] = b'[';
        assert!(rejected(&bad).contains("JSON is invalid"));
        // glTF 1.0 binaries are refused with a way out.
        let mut v1 = good;
        v1[4] = 1;
        assert!(rejected(&v1).contains("only glTF 2.0 is accepted"));
    }

    #[test]
    fn gltf_truncated_and_corrupt() {
        let good = triangle_gltf();
        let msg = rejected(&good[..good.len() * 2 / 3]);
        assert!(msg.contains("glTF") && msg.contains("truncated"), "{msg}");
        let mut j: Value = serde_json::from_slice(&good).unwrap();
        j["buffers"][0]["byteLength"] = json!(500);
        let msg = rejected(&serde_json::to_vec(&j).unwrap());
        assert!(msg.contains("buffer 0 embeds 104 bytes but declares a byteLength of 500"), "{msg}");
        let mut j: Value = serde_json::from_slice(&good).unwrap();
        j["accessors"][1]["bufferView"] = json!(7);
        assert!(rejected(&serde_json::to_vec(&j).unwrap()).contains("accessor 1 refers to bufferView 7"));
        let v1 = br#"{"asset": {"version": "1.0"}, "meshes": {}}"#;
        assert!(rejected(v1).contains("glTF 1.0 model; only glTF 2.x"));
    }

    #[test]
    fn gltf_sniff_is_strict() {
        assert!(sniff_json(b"\xEF\xBB\xBF  {\"asset\": {\"generator\": \"x\", \"version\": \"2.0\"}}"));
        // Sorted keys: accessors before asset.
        assert!(sniff_json(br#"{"accessors": [{"bufferView": 0, "componentType": 5126}], "asset""#));
        assert!(!sniff_json(br#"{"asset": {"id": "asset_123", "version": 3}}"#));
        assert!(!sniff_json(br#"{"data": {"asset": {"version": "2.0"}}}"#));
        assert!(!sniff_json(br#"{"asset": "model.glb", "version": "2.0"}"#));
        assert!(!sniff_json(br#"[{"asset": {"version": "2.0"}}]"#));
        assert!(!sniff_json(br#"{"accessors": ["componentType"]}"#));
        assert!(!sniff_json(b"asset version 2.0"));
        assert!(!sniff_glb(b"glTF\x07\x00\x00\x00\x00\x00\x00\x00"));
    }

    #[test]
    fn json_of_tiny_values_is_capped() {
        let mut doc = br#"{"asset": {"version": "2.0"}, "extras": ["#.to_vec();
        for _ in 0..MAX_VALUES {
            doc.extend_from_slice(b"0,");
        }
        doc.extend_from_slice(b"0]}");
        assert_eq!(sniff(&doc, doc.len() as u64), Some(Format::Gltf));
        assert!(rejected(&doc).contains("more than 2000000 JSON values"));
        assert_eq!(count_values(br#"{"a": "x,y[z{", "b": [1, 2]}"#), 4);
    }

    #[test]
    fn glb_large_reads_little() {
        let mut bin = triangle_bin();
        bin.resize(16 * 1024 * 1024, 0);
        let bytes = glb(&triangle_json(json!({"byteLength": bin.len()})), &bin);
        let counting = CountingSource::new(&bytes);
        let found = inspect(Format::Glb, &counting).unwrap();
        assert_triangle(&found.properties);
        assert!(counting.bytes_read() < 8 * 1024, "read {}", counting.bytes_read());
    }
}

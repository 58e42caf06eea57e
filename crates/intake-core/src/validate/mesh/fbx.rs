//! FBX, binary and ASCII.
//!
//! Binary: the `Kaydara FBX Binary  \0\x1a\0` header and version, then the top-level node
//! records walked by their end offsets (64-bit from version 7500), each of which must stay
//! inside the file and move forward; the list must end with its null record. Under
//! `Objects`, `Geometry` nodes give the vertex count (`Vertices` array length / 3), the face
//! count (negative entries of an uncompressed `PolygonVertexIndex`; unknown when that
//! array is zlib-compressed), normals and UVs (`LayerElementNormal`/`LayerElementUV`);
//! `AnimationCurve` nodes mean animation, a `Skin` deformer or `LimbNode` model a skeleton.
//! The walk reads node headers through a small window and gives up counting (leaving the
//! counts unknown) past a byte budget.
//!
//! ASCII: a `; FBX` comment, an `FBXHeaderExtension` section near the top, and a last
//! section that is closed.

use super::super::work::{step, steps};
use super::super::{read_up_to, ByteSource, Format, InspectError, SNIFF_LEN};
use super::{corrupt, eof};
use intake_api::AssetProperties;

const MAGIC: &[u8] = b"Kaydara FBX Binary  \x00\x1a\x00";
const F: Format = Format::Fbx;

/// Bytes read at once while walking node headers.
const WINDOW: usize = 16 * 1024;
/// Most bytes the `Objects` scan reads before giving up counting.
const BUDGET: u64 = 8 * 1024 * 1024;
/// Most node records visited in total.
const MAX_NODES: u64 = 1_000_000;
/// Largest uncompressed `PolygonVertexIndex` array read to count faces.
const MAX_INDEX_BYTES: u64 = 4 * 1024 * 1024;

pub(super) fn sniff(head: &[u8]) -> bool {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    (head.len() >= 27 && head.starts_with(MAGIC)) || text.starts_with(b"; FBX ")
}

pub(super) fn inspect(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let head = read_up_to(src, 0, 27)?;
    if head.starts_with(MAGIC) {
        inspect_binary(src)
    } else {
        inspect_ascii(src)
    }
}

fn u32le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn u64le(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Reads through a window so that walking many small records costs few reads.
struct Reader<'a> {
    src: &'a dyn ByteSource,
    len: u64,
    buf: Vec<u8>,
    at: u64,
    bytes: u64,
}

impl Reader<'_> {
    fn get(&mut self, off: u64, n: usize) -> Result<&[u8], InspectError> {
        let end = off.checked_add(n as u64).ok_or_else(eof)?;
        if end > self.len {
            return Err(eof());
        }
        if off < self.at || end > self.at + self.buf.len() as u64 {
            let want = (n.max(WINDOW) as u64).min(self.len - off) as usize;
            self.buf = read_up_to(self.src, off, want)?;
            self.at = off;
            self.bytes += self.buf.len() as u64;
        }
        let s = (off - self.at) as usize;
        Ok(&self.buf[s..s + n])
    }
}

struct Node {
    end: u64,
    num_props: u64,
    name: Vec<u8>,
    props_start: u64,
    children_start: u64,
}

impl Node {
    /// `the node "Objects"`, or `an unnamed node at byte N`, for messages.
    fn label(&self, off: u64) -> String {
        if self.name.is_empty() {
            format!("an unnamed node at byte {off}")
        } else {
            format!("the node {:?}", String::from_utf8_lossy(&self.name))
        }
    }
}

/// The node record at `off`, or `None` for a null record; it must lie within `[off, limit]`.
fn read_node(r: &mut Reader, off: u64, limit: u64, wide: bool) -> Result<Option<Node>, InspectError> {
    step()?;
    let hl = if wide { 25 } else { 13 };
    let h = r.get(off, hl)?;
    let (end, num_props, props_len, name_len) = if wide {
        (u64le(&h[0..8]), u64le(&h[8..16]), u64le(&h[16..24]), h[24])
    } else {
        (u64::from(u32le(&h[0..4])), u64::from(u32le(&h[4..8])), u64::from(u32le(&h[8..12])), h[12])
    };
    if end == 0 && num_props == 0 && props_len == 0 && name_len == 0 {
        return Ok(None);
    }
    let name = r.get(off + hl as u64, name_len as usize)?.to_vec();
    let props_start = off + hl as u64 + u64::from(name_len);
    let children_start = props_start.checked_add(props_len);
    let node = Node { end, num_props, name, props_start, children_start: children_start.unwrap_or(u64::MAX) };
    if end > r.len && limit == r.len {
        return Err(corrupt(F, format!("{} runs past the end of the file (truncated)", node.label(off))));
    }
    if end <= off || node.children_start > end || end > limit {
        return Err(corrupt(F, format!("{} has an end offset outside its parent", node.label(off))));
    }
    Ok(Some(node))
}

/// Size in bytes of one property at `off` (type code included).
fn prop_size(r: &mut Reader, off: u64) -> Result<(u8, u64), InspectError> {
    let t = r.get(off, 1)?[0];
    let size = match t {
        b'C' => 1,
        b'Y' => 2,
        b'I' | b'F' => 4,
        b'D' | b'L' => 8,
        b'f' | b'd' | b'l' | b'i' | b'b' => 12 + u64::from(u32le(r.get(off + 9, 4)?)),
        b'S' | b'R' => 4 + u64::from(u32le(r.get(off + 1, 4)?)),
        _ => return Err(corrupt(F, format!("a property has the unknown type code {:?}", t as char))),
    };
    Ok((t, 1 + size))
}

/// The short string properties of `node` (class names such as `Mesh`, `Skin`, `LimbNode`).
fn strings(r: &mut Reader, node: &Node) -> Result<Vec<Vec<u8>>, InspectError> {
    let mut out = Vec::new();
    let mut off = node.props_start;
    for _ in 0..node.num_props.min(8) {
        if off >= node.children_start {
            break;
        }
        let (t, size) = prop_size(r, off)?;
        if t == b'S' && size <= 5 + 256 {
            out.push(r.get(off + 5, (size - 5) as usize)?.to_vec());
        }
        off = off.checked_add(size).ok_or_else(eof)?;
    }
    Ok(out)
}

/// The header of the array property opening `node`: (type, length, encoding, byte length).
fn array_header(r: &mut Reader, node: &Node) -> Result<Option<(u8, u64, u32, u64)>, InspectError> {
    if node.num_props == 0 || node.props_start + 13 > node.children_start {
        return Ok(None);
    }
    let h = r.get(node.props_start, 13)?;
    if !matches!(h[0], b'f' | b'd' | b'l' | b'i' | b'b') {
        return Ok(None);
    }
    Ok(Some((h[0], u64::from(u32le(&h[1..5])), u32le(&h[5..9]), u64::from(u32le(&h[9..13])))))
}

#[derive(Default)]
struct Found {
    vertices: u64,
    faces: Option<u64>,
    normals: bool,
    uvs: bool,
    animations: bool,
    skeleton: bool,
}

fn inspect_binary(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let len = src.len();
    let mut r = Reader { src, len, buf: Vec::new(), at: 0, bytes: 0 };
    let version = u32le(r.get(23, 4)?);
    if !(6000..10000).contains(&version) {
        return Err(corrupt(F, format!("its header declares the unknown version {version}")));
    }
    let wide = version >= 7500;
    let mut off = 27u64;
    let mut visited = 0u64;
    let mut found = None;
    loop {
        visited += 1;
        if visited > MAX_NODES {
            return Err(corrupt(F, "it holds too many top-level nodes"));
        }
        let Some(node) = read_node(&mut r, off, len, wide)? else { break };
        if node.name == b"Objects" && found.is_none() {
            found = scan_objects(&mut r, &node, wide, &mut visited)?;
        }
        off = node.end;
    }
    Ok(match found {
        Some(f) => AssetProperties {
            vertex_count: Some(f.vertices),
            face_count: f.faces,
            has_normals: Some(f.normals),
            has_uvs: Some(f.uvs),
            has_animations: Some(f.animations),
            has_skeleton: Some(f.skeleton),
            ..Default::default()
        },
        None => AssetProperties::default(),
    })
}

/// Children of `parent`, calling `each` on every one; `false` from `each` stops early.
fn children(
    r: &mut Reader,
    parent: &Node,
    wide: bool,
    visited: &mut u64,
    mut each: impl FnMut(&mut Reader, Node, &mut u64) -> Result<bool, InspectError>,
) -> Result<bool, InspectError> {
    let hl = if wide { 25 } else { 13 };
    let mut off = parent.children_start;
    while off + hl <= parent.end {
        *visited += 1;
        if *visited > MAX_NODES || r.bytes > BUDGET {
            return Ok(false);
        }
        let Some(node) = read_node(r, off, parent.end, wide)? else { break };
        off = node.end;
        if !each(r, node, visited)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Counts what `Objects` holds; `None` when the budget ran out first.
fn scan_objects(r: &mut Reader, objects: &Node, wide: bool, visited: &mut u64) -> Result<Option<Found>, InspectError> {
    let mut f = Found { faces: Some(0), ..Default::default() };
    let complete = children(r, objects, wide, visited, |r, node, visited| {
        match node.name.as_slice() {
            b"Geometry" => {
                return children(r, &node, wide, visited, |r, child, _| {
                    match child.name.as_slice() {
                        b"Vertices" => {
                            if let Some((_, n, _, _)) = array_header(r, &child)? {
                                f.vertices = f.vertices.saturating_add(n / 3);
                            }
                        }
                        b"PolygonVertexIndex" => {
                            let faces = match array_header(r, &child)? {
                                Some((b'i', n, 0, bytes)) if bytes == n * 4 && bytes <= MAX_INDEX_BYTES => {
                                    if child.props_start + 13 + bytes > child.children_start {
                                        return Err(corrupt(F, "a PolygonVertexIndex array overruns its node"));
                                    }
                                    steps(n)?;
                                    let data = r.get(child.props_start + 13, bytes as usize)?;
                                    Some(data.chunks_exact(4).filter(|c| c[3] & 0x80 != 0).count() as u64)
                                }
                                _ => None,
                            };
                            f.faces = f.faces.zip(faces).map(|(a, b)| a + b);
                        }
                        b"LayerElementNormal" => f.normals = true,
                        b"LayerElementUV" => f.uvs = true,
                        _ => {}
                    }
                    Ok(true)
                });
            }
            b"AnimationCurve" => f.animations = true,
            b"Deformer" => f.skeleton |= strings(r, &node)?.iter().any(|s| s == b"Skin"),
            b"Model" => f.skeleton |= strings(r, &node)?.iter().any(|s| s == b"LimbNode"),
            _ => {}
        }
        Ok(true)
    })?;
    Ok(complete.then_some(f))
}

fn inspect_ascii(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let head = read_up_to(src, 0, SNIFF_LEN)?;
    steps(2 * head.len() as u64)?;
    if head.contains(&0) {
        return Err(corrupt(F, "its ASCII text holds binary data (a NUL byte)"));
    }
    if !head.windows(18).any(|w| w == b"FBXHeaderExtension") {
        return Err(corrupt(F, "it has no FBXHeaderExtension section"));
    }
    let len = src.len();
    let tail = read_up_to(src, len.saturating_sub(4096), 4096)?;
    let text = tail.trim_ascii_end();
    let last_line = text.rsplit(|&b| b == b'\n').next().unwrap_or(&[]).trim_ascii();
    if !(text.ends_with(b"}") || last_line.starts_with(b";")) {
        return Err(corrupt(F, "its last section is not closed (truncated)"));
    }
    Ok(AssetProperties::default())
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::super::{validate, CountingSource, ValidateError};
    use super::*;
    use intake_api::Kind;

    struct N {
        name: &'static str,
        props: Vec<Vec<u8>>,
        children: Vec<N>,
    }

    fn n(name: &'static str, props: Vec<Vec<u8>>, children: Vec<N>) -> N {
        N { name, props, children }
    }

    fn long(v: i64) -> Vec<u8> {
        let mut p = vec![b'L'];
        p.extend_from_slice(&v.to_le_bytes());
        p
    }

    fn int(v: i32) -> Vec<u8> {
        let mut p = vec![b'I'];
        p.extend_from_slice(&v.to_le_bytes());
        p
    }

    fn string(s: &[u8]) -> Vec<u8> {
        let mut p = vec![b'S'];
        p.extend_from_slice(&(s.len() as u32).to_le_bytes());
        p.extend_from_slice(s);
        p
    }

    fn array(code: u8, len: usize, data: Vec<u8>) -> Vec<u8> {
        let mut p = vec![code];
        p.extend_from_slice(&(len as u32).to_le_bytes());
        p.extend_from_slice(&0u32.to_le_bytes());
        p.extend_from_slice(&(data.len() as u32).to_le_bytes());
        p.extend_from_slice(&data);
        p
    }

    fn doubles(v: &[f64]) -> Vec<u8> {
        array(b'd', v.len(), v.iter().flat_map(|x| x.to_le_bytes()).collect())
    }

    fn ints(v: &[i32]) -> Vec<u8> {
        array(b'i', v.len(), v.iter().flat_map(|x| x.to_le_bytes()).collect())
    }

    fn write(out: &mut Vec<u8>, node: &N, wide: bool) {
        let start = out.len();
        let hl = if wide { 25 } else { 13 };
        out.resize(start + hl, 0);
        out.extend_from_slice(node.name.as_bytes());
        let props_start = out.len();
        node.props.iter().for_each(|p| out.extend_from_slice(p));
        let props_len = out.len() - props_start;
        if !node.children.is_empty() {
            node.children.iter().for_each(|c| write(out, c, wide));
            out.resize(out.len() + hl, 0);
        }
        let end = out.len();
        let h = &mut out[start..start + hl];
        if wide {
            h[0..8].copy_from_slice(&(end as u64).to_le_bytes());
            h[8..16].copy_from_slice(&(node.props.len() as u64).to_le_bytes());
            h[16..24].copy_from_slice(&(props_len as u64).to_le_bytes());
        } else {
            h[0..4].copy_from_slice(&(end as u32).to_le_bytes());
            h[4..8].copy_from_slice(&(node.props.len() as u32).to_le_bytes());
            h[8..12].copy_from_slice(&(props_len as u32).to_le_bytes());
        }
        h[hl - 1] = node.name.len() as u8;
    }

    fn fbx(version: u32, top: &[N]) -> Vec<u8> {
        let wide = version >= 7500;
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&version.to_le_bytes());
        top.iter().for_each(|t| write(&mut out, t, wide));
        out.resize(out.len() + if wide { 25 } else { 13 }, 0);
        out.extend_from_slice(&[
            0xFA, 0xBC, 0xAB, 0x09, 0xD0, 0xC8, 0xD4, 0x66, 0xB1, 0x76, 0xFB, 0x83, 0x1C, 0xF7, 0x26, 0x7E,
        ]);
        out.resize(out.len() + 4, 0);
        out.extend_from_slice(&version.to_le_bytes());
        out.resize(out.len() + 120, 0);
        out
    }

    fn cube_nodes(vertices: Vec<u8>, skinned: bool) -> Vec<N> {
        let mut objects = vec![
            n(
                "Geometry",
                vec![long(1001), string(b"Cube\x00\x01Geometry"), string(b"Mesh")],
                vec![
                    n("Vertices", vec![vertices], vec![]),
                    n(
                        "PolygonVertexIndex",
                        vec![ints(&[0, 1, 2, -4, 4, 5, 6, -8, 0, 1, 5, -5, 1, 2, 6, -6, 2, 3, 7, -7, 3, 0, 4, -8])],
                        vec![],
                    ),
                    n("LayerElementNormal", vec![int(0)], vec![n("Normals", vec![doubles(&[0.0; 72])], vec![])]),
                ],
            ),
            n("Model", vec![long(1002), string(b"Cube\x00\x01Model"), string(b"Mesh")], vec![]),
        ];
        if skinned {
            objects.push(n("Deformer", vec![long(1003), string(b"Skin\x00\x01Deformer"), string(b"Skin")], vec![]));
            objects.push(n("AnimationCurve", vec![long(1004), string(b"\x00\x01AnimCurve"), string(b"")], vec![]));
        }
        vec![
            n("FBXHeaderExtension", vec![], vec![n("FBXHeaderVersion", vec![int(1003)], vec![])]),
            n("GlobalSettings", vec![], vec![n("Version", vec![int(1000)], vec![])]),
            n("Objects", vec![], objects),
            n("Connections", vec![], vec![n("C", vec![string(b"OO"), long(1001), long(1002)], vec![])]),
        ]
    }

    fn cube_vertices() -> Vec<u8> {
        let mut v = Vec::new();
        for i in 0..8 {
            v.extend_from_slice(&[f64::from(i & 1), f64::from((i >> 1) & 1), f64::from(i >> 2)]);
        }
        doubles(&v)
    }

    pub(in super::super) fn cube_fbx(version: u32) -> Vec<u8> {
        fbx(version, &cube_nodes(cube_vertices(), false))
    }

    fn rejected(bytes: &[u8]) -> String {
        match validate(Kind::ThreeD, &bytes.to_vec()) {
            Err(ValidateError::Rejected(r)) => r.0,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn binary_cube_both_widths() {
        for version in [7400, 7500] {
            let bytes = cube_fbx(version);
            assert!(sniff(&bytes));
            let found = validate(Kind::ThreeD, &bytes).unwrap();
            assert_eq!(found.format, Format::Fbx);
            let p = found.properties;
            assert_eq!(p.format.as_deref(), Some("fbx"));
            assert_eq!((p.vertex_count, p.face_count), (Some(8), Some(6)));
            assert_eq!((p.has_normals, p.has_uvs), (Some(true), Some(false)));
            assert_eq!((p.has_animations, p.has_skeleton), (Some(false), Some(false)));
        }
        let p = validate(Kind::ThreeD, &fbx(7700, &cube_nodes(cube_vertices(), true))).unwrap().properties;
        assert_eq!((p.has_animations, p.has_skeleton), (Some(true), Some(true)));
    }

    #[test]
    fn binary_truncated_and_corrupt() {
        let good = cube_fbx(7400);
        let objects_end = good.len() - 200;
        let msg = rejected(&good[..objects_end]);
        assert!(msg.contains("FBX") && msg.contains("truncated"), "{msg}");
        assert!(rejected(&good[..32]).contains("truncated"));
        // A top-level end offset that points backwards.
        let mut bad = good.clone();
        bad[27..31].copy_from_slice(&20u32.to_le_bytes());
        assert!(rejected(&bad).contains("end offset outside its parent"), "{}", rejected(&bad));
        // A child that claims to end past its parent.
        let mut bad = good.clone();
        let geometry = good.windows(8).position(|w| w == b"Geometry").unwrap() - 13;
        let far = u32le(&good[geometry..]) + 1000;
        bad[geometry..geometry + 4].copy_from_slice(&far.to_le_bytes());
        assert!(rejected(&bad).contains("\"Geometry\" has an end offset outside its parent"));
        // The top-level list never ends (no null record): the walk runs off the end.
        let open = &good[..good.len() - 13 - 16 - 4 - 4 - 120];
        assert!(rejected(open).contains("truncated"));
        let mut bad = good;
        bad[23..27].copy_from_slice(&42u32.to_le_bytes());
        assert!(rejected(&bad).contains("unknown version 42"));
    }

    #[test]
    fn binary_large_reads_little() {
        let mut verts = Vec::new();
        for i in 0..1_000_000 {
            verts.extend_from_slice(&[f64::from(i), 0.0, 1.0]);
        }
        let bytes = fbx(7500, &cube_nodes(doubles(&verts), false));
        assert!(bytes.len() > 20 * 1024 * 1024);
        let counting = CountingSource::new(&bytes);
        let p = super::super::inspect(Format::Fbx, &counting).unwrap().properties;
        assert_eq!(p.vertex_count, Some(1_000_000));
        assert!(counting.bytes_read() < 256 * 1024, "read {}", counting.bytes_read());
    }

    const ASCII: &str = "; FBX 7.4.0 project file\n; ----------------------------------------------------\n\n\
        FBXHeaderExtension:  {\n\tFBXHeaderVersion: 1003\n\tFBXVersion: 7400\n}\n\
        Objects:  {\n\tGeometry: 1001, \"Geometry::Cube\", \"Mesh\" {\n\t\tVertices: *9 {\n\t\t\ta: 0,0,0,1,0,0,0,1,0\n\t\t}\n\t}\n}\n\
        Connections:  {\n\tC: \"OO\",1001,0\n}\n";

    #[test]
    fn ascii() {
        assert!(sniff(ASCII.as_bytes()));
        let found = validate(Kind::ThreeD, &ASCII.as_bytes().to_vec()).unwrap();
        assert_eq!(found.format, Format::Fbx);
        let cut = &ASCII[..ASCII.len() - 20];
        assert!(rejected(cut.as_bytes()).contains("last section is not closed (truncated)"));
        let headless = ASCII.replace("FBXHeaderExtension", "Something");
        assert!(rejected(headless.as_bytes()).contains("no FBXHeaderExtension"));
    }
}

//! Files built to be as costly to validate as their size allows, each one valid (or
//! refused only at its end), so a validator has to walk all of it: the linearity tests,
//! the noisy-neighbour test and `bench/` share them. Each takes a count `n` and grows
//! linearly with it.
//!
//! The MP4 one: many tracks, many `trex` defaults and many fragments (`traf`), each of
//! which has to find its track. Looking tracks up by scanning made this quadratic: a
//! 29 MiB file kept a worker busy for a minute.

fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&(8 + body.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn full(version_flags: u32, fields: &[u32]) -> Vec<u8> {
    let mut out = version_flags.to_be_bytes().to_vec();
    for f in fields {
        out.extend_from_slice(&f.to_be_bytes());
    }
    out
}

/// A track header (version 0) for track `id`, of `width` × `height` pixels.
fn tkhd(id: u32, width: u32, height: u32) -> Vec<u8> {
    let mut body = vec![0u8; 84];
    body[12..16].copy_from_slice(&id.to_be_bytes());
    body[76..80].copy_from_slice(&(width << 16).to_be_bytes());
    body[80..84].copy_from_slice(&(height << 16).to_be_bytes());
    bx(b"tkhd", &body)
}

/// The one real track: H.264 video, 64 × 48, ten frames of 100 ticks at 1000 ticks/s.
fn video_trak() -> Vec<u8> {
    let mut hdlr = vec![0u8; 25];
    hdlr[8..12].copy_from_slice(b"vide");
    let mdhd = full(0, &[0, 0, 1000, 1000, 0]);
    let mut stsd = full(0, &[1]);
    stsd.extend(bx(b"avc1", &[0u8; 78]));
    let stts = full(0, &[1, 10, 100]);
    let stbl = [bx(b"stsd", &stsd), bx(b"stts", &stts)].concat();
    let minf = bx(b"stbl", &stbl);
    let mdia = [bx(b"hdlr", &hdlr), bx(b"mdhd", &mdhd), bx(b"minf", &minf)].concat();
    bx(b"trak", &[tkhd(1, 64, 48), bx(b"mdia", &mdia)].concat())
}

/// A valid MP4 (one 64 × 48 H.264 track) made as costly to validate as its size allows:
/// `n` extra tracks (ids 1000…), `n` `trex` boxes naming tracks that do not exist, and `n`
/// track fragments: half for the video track (with two timed samples), half for no track.
pub fn worst_mp4(n: usize) -> Vec<u8> {
    let mut moov = bx(b"mvhd", &full(0, &[0, 0, 1000, 1000]).into_iter().chain([0u8; 84]).collect::<Vec<_>>());
    moov.extend(video_trak());
    for i in 0..n as u32 {
        moov.extend(bx(b"trak", &tkhd(1000 + i, 0, 0)));
    }
    let mut mvex = Vec::new();
    for i in 0..n as u32 {
        mvex.extend(bx(b"trex", &full(0, &[u32::MAX - i, 1, 40, 0, 0])));
    }
    moov.extend(bx(b"mvex", &mvex));

    let mut file = bx(b"ftyp", b"isom\0\0\0\0isom");
    file.extend(bx(b"moov", &moov));
    let mut moof = bx(b"mfhd", &full(0, &[1]));
    for i in 0..n as u32 {
        let traf = if i % 2 == 0 {
            [bx(b"tfhd", &full(0, &[1])), bx(b"trun", &full(0x100, &[2, 50, 50]))].concat()
        } else {
            bx(b"tfhd", &full(0, &[u32::MAX - i]))
        };
        moof.extend(bx(b"traf", &traf));
        if moof.len() > 1 << 20 {
            file.extend(bx(b"moof", &moof));
            moof = bx(b"mfhd", &full(0, &[i + 2]));
        }
    }
    file.extend(bx(b"moof", &moof));
    file.extend(bx(b"mdat", &[0u8; 1024]));
    file
}

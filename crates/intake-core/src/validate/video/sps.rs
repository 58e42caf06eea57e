//! The picture size in an H.264 or HEVC sequence parameter set (SPS), read bit by bit with
//! exp-Golomb codes. Only the fields up to the size and cropping window are parsed; every
//! count read from the stream (scaling lists, POC cycle, sub-layers) is bounded by the
//! standard, and the input is a bounded slice, so the work is bounded too.

/// A most-significant-bit-first reader over an RBSP (emulation prevention removed).
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Option<u64> {
        let byte = *self.data.get(self.at / 8)?;
        let b = (byte >> (7 - self.at % 8)) & 1;
        self.at += 1;
        Some(u64::from(b))
    }

    fn bits(&mut self, n: u32) -> Option<u64> {
        (0..n).try_fold(0u64, |v, _| Some((v << 1) | self.bit()?))
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.at = self.at.checked_add(n)?;
        (self.at <= self.data.len() * 8).then_some(())
    }

    /// Unsigned exp-Golomb, at most 32 bits of value.
    fn ue(&mut self) -> Option<u64> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some((1u64 << zeros) - 1 + self.bits(zeros)?)
    }

    /// Signed exp-Golomb (only skipped here, but its length must be right).
    fn se(&mut self) -> Option<()> {
        self.ue().map(|_| ())
    }
}

/// The RBSP of a NAL unit's payload: `00 00 03` emulation prevention bytes dropped.
fn rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// (SubWidthC, SubHeightC) of a chroma format.
fn chroma_sub(chroma_format_idc: u64) -> (u64, u64) {
    match chroma_format_idc {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    }
}

/// Width and height of an H.264 SPS (`nal` starts after the one-byte NAL header).
pub(super) fn h264_size(nal: &[u8]) -> Option<(u64, u64)> {
    let data = rbsp(nal);
    let mut r = Bits { data: &data, at: 0 };
    let profile = r.bits(8)?;
    r.skip(16)?; // constraint flags, level
    r.ue()?; // seq_parameter_set_id
    let mut chroma = 1;
    let mut separate_planes = false;
    if matches!(profile, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma = r.ue()?;
        if chroma > 3 {
            return None;
        }
        if chroma == 3 {
            separate_planes = r.bit()? == 1;
        }
        r.ue()?; // bit depth luma
        r.ue()?; // bit depth chroma
        r.bit()?; // qpprime_y_zero_transform_bypass
        if r.bit()? == 1 {
            for i in 0..if chroma == 3 { 12 } else { 8 } {
                if r.bit()? == 1 {
                    let size = if i < 6 { 16 } else { 64 };
                    let (mut last, mut next) = (8i64, 8i64);
                    for _ in 0..size {
                        if next != 0 {
                            let v = r.ue()? as i64;
                            let delta = if v % 2 == 1 { (v + 1) / 2 } else { -(v / 2) };
                            next = (last + delta + 256).rem_euclid(256);
                        }
                        if next != 0 {
                            last = next;
                        }
                    }
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?;
        }
        1 => {
            r.bit()?;
            r.se()?;
            r.se()?;
            let cycle = r.ue()?;
            if cycle > 255 {
                return None;
            }
            for _ in 0..cycle {
                r.se()?;
            }
        }
        2 => {}
        _ => return None,
    }
    r.ue()?; // max_num_ref_frames
    r.bit()?; // gaps_in_frame_num_value_allowed
    let width_mbs = r.ue()? + 1;
    let height_units = r.ue()? + 1;
    let frame_mbs_only = r.bit()?;
    if frame_mbs_only == 0 {
        r.bit()?; // mb_adaptive_frame_field
    }
    r.bit()?; // direct_8x8_inference
    let (mut left, mut right, mut top, mut bottom) = (0, 0, 0, 0);
    if r.bit()? == 1 {
        (left, right, top, bottom) = (r.ue()?, r.ue()?, r.ue()?, r.ue()?);
    }
    let (sub_w, sub_h) = if chroma == 0 || separate_planes { (1, 1) } else { chroma_sub(chroma) };
    let crop_x = sub_w;
    let crop_y = sub_h * (2 - frame_mbs_only);
    let width = (width_mbs * 16).checked_sub(crop_x * (left + right))?;
    let height = ((2 - frame_mbs_only) * height_units * 16).checked_sub(crop_y * (top + bottom))?;
    (width > 0 && height > 0).then_some((width, height))
}

/// Width and height of an HEVC SPS (`nal` starts after the two-byte NAL header).
pub(super) fn hevc_size(nal: &[u8]) -> Option<(u64, u64)> {
    let data = rbsp(nal);
    let mut r = Bits { data: &data, at: 0 };
    r.bits(4)?; // sps_video_parameter_set_id
    let sub_layers = r.bits(3)?; // sps_max_sub_layers_minus1
    r.bit()?; // temporal_id_nesting
              // profile_tier_level: 96 bits of general profile and level, then per sub-layer flags.
    r.skip(96)?;
    let mut present = [(false, false); 8];
    for p in present.iter_mut().take(sub_layers as usize) {
        *p = (r.bit()? == 1, r.bit()? == 1);
    }
    if sub_layers > 0 {
        r.skip(2 * (8 - sub_layers as usize))?;
    }
    for &(profile, level) in present.iter().take(sub_layers as usize) {
        if profile {
            r.skip(88)?;
        }
        if level {
            r.skip(8)?;
        }
    }
    r.ue()?; // sps_seq_parameter_set_id
    let chroma = r.ue()?;
    if chroma > 3 {
        return None;
    }
    let mut separate_planes = false;
    if chroma == 3 {
        separate_planes = r.bit()? == 1;
    }
    let width = r.ue()?;
    let height = r.ue()?;
    let (sub_w, sub_h) = if separate_planes { (1, 1) } else { chroma_sub(chroma) };
    let (mut left, mut right, mut top, mut bottom) = (0, 0, 0, 0);
    if r.bit()? == 1 {
        (left, right, top, bottom) = (r.ue()?, r.ue()?, r.ue()?, r.ue()?);
    }
    let width = width.checked_sub(sub_w * (left + right))?;
    let height = height.checked_sub(sub_h * (top + bottom))?;
    (width > 0 && height > 0).then_some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_and_emulation_prevention() {
        let mut r = Bits { data: &[0b1010_0110, 0b0100_0000], at: 0 };
        assert_eq!((r.ue(), r.ue(), r.ue(), r.ue()), (Some(0), Some(1), Some(2), Some(3)));
        assert_eq!(rbsp(&[0, 0, 3, 1, 0, 0, 3]), vec![0, 0, 1, 0, 0]);
        // 32 zero bits: no exp-Golomb code that long is accepted.
        let mut r = Bits { data: &[0; 5], at: 0 };
        assert_eq!(r.ue(), None);
        assert_eq!(h264_size(&[]), None);
        assert_eq!(hevc_size(&[0xFF; 4]), None);
    }
}

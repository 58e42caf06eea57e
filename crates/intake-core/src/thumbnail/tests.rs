use super::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/src/validate/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn made(outcome: Outcome) -> Thumbnail {
    match outcome {
        Outcome::Made(t) => t,
        Outcome::Skipped(why) => panic!("no thumbnail: {why}"),
    }
}

/// A `w`×`h` RGB gradient as PNG.
fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn fit_keeps_the_aspect_and_never_scales_up() {
    assert_eq!(fit(6000, 4000), (512, 341));
    assert_eq!(fit(4000, 6000), (341, 512));
    assert_eq!(fit(3840, 2160), (512, 288));
    assert_eq!(fit(100_000, 1), (512, 1));
    assert_eq!(fit(64, 48), (64, 48));
    assert_eq!(fit(512, 512), (512, 512));
}

#[test]
fn every_decodable_fixture_gets_a_png_thumbnail() {
    for (name, format) in [
        ("image_64x48.png", Format::Png),
        ("image_64x48.jpg", Format::Jpeg),
        ("image_64x48_lossy.webp", Format::Webp),
        ("image_64x48_lossless.webp", Format::Webp),
        ("image_64x48_anim.webp", Format::Webp),
        ("image_64x48.gif", Format::Gif),
        ("image_64x48_anim.png", Format::Png),
    ] {
        let bytes = fixture(name);
        let t = made(make(&bytes, decodable(format).unwrap(), ThumbnailLimits::default()).unwrap());
        assert_eq!((t.width, t.height), (64, 48), "{name}");
        let back = image::load_from_memory_with_format(&t.png, ImageFormat::Png).unwrap();
        assert_eq!((back.width(), back.height()), (64, 48), "{name}");
    }
}

#[test]
fn tiff_bmp_and_tga_fixtures_get_thumbnails_that_show_the_picture() {
    let reference =
        image::load_from_memory_with_format(&fixture("image_64x48.png"), ImageFormat::Png).unwrap().to_luma8();
    for (name, format) in [
        ("image_64x48.tif", Format::Tiff),
        ("image_64x48_rgba.tif", Format::Tiff),
        ("image_64x48_16be.tif", Format::Tiff),
        ("image_64x48_bigtiff.tif", Format::Tiff),
        ("image_64x48_pages.tif", Format::Tiff),
        ("image_64x48_ffmpeg.tif", Format::Tiff),
        ("image_64x48_tiled.tif", Format::Tiff),
        ("image_64x48.bmp", Format::Bmp),
        ("image_64x48_pal8.bmp", Format::Bmp),
        ("image_64x48_rgb565.bmp", Format::Bmp),
        ("image_64x48_v5_alpha.bmp", Format::Bmp),
        ("image_64x48_rle8.bmp", Format::Bmp),
        ("image_64x48.tga", Format::Tga),
        ("image_64x48_rle_rgba.tga", Format::Tga),
        ("image_64x48_gray.tga", Format::Tga),
        ("image_64x48_pal.tga", Format::Tga),
        ("image_64x48_ffmpeg.tga", Format::Tga),
    ] {
        let bytes = fixture(name);
        let t = made(make(&bytes, decodable(format).unwrap(), ThumbnailLimits::default()).unwrap());
        assert_eq!((t.width, t.height), (64, 48), "{name}");
        // The same picture, the right way up (bitmaps and TGAs are stored bottom-up).
        let back = image::load_from_memory_with_format(&t.png, ImageFormat::Png).unwrap().to_luma8();
        let diff: u64 = back.pixels().zip(reference.pixels()).map(|(a, b)| u64::from(a[0].abs_diff(b[0]))).sum();
        let mean = diff as f64 / (64.0 * 48.0);
        assert!(mean < 20.0, "{name}: mean difference {mean} from the PNG");
    }
    assert_eq!(decodable(Format::Psd), None);
}

#[test]
fn a_large_image_is_scaled_to_512_on_its_longest_side() {
    let bytes = png(2000, 1000);
    let t = made(make(&bytes, ImageFormat::Png, ThumbnailLimits::default()).unwrap());
    assert_eq!((t.width, t.height), (512, 256));
    let back = image::load_from_memory_with_format(&t.png, ImageFormat::Png).unwrap().to_rgb8();
    // The gradient survives the scaling: red grows left to right.
    assert!(back.get_pixel(10, 128)[0] < back.get_pixel(60, 128)[0]);
}

#[test]
fn the_pixel_limit_and_the_memory_budget_skip_the_thumbnail() {
    let bytes = png(300, 200);
    let tight = ThumbnailLimits { max_pixels: 59_999, ..ThumbnailLimits::default() };
    match make(&bytes, ImageFormat::Png, tight).unwrap() {
        Outcome::Skipped(why) => {
            assert!(why.contains("INTAKE_THUMBNAIL_MAX_PIXELS") && why.contains("300×200"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    let poor = ThumbnailLimits { max_memory: 100_000, ..ThumbnailLimits::default() };
    match make(&bytes, ImageFormat::Png, poor).unwrap() {
        Outcome::Skipped(why) => assert!(why.contains("INTAKE_THUMBNAIL_MAX_MEMORY"), "{why}"),
        other => panic!("{other:?}"),
    }
    let enough = ThumbnailLimits { max_pixels: 60_000, max_memory: 1024 * 1024 };
    made(make(&bytes, ImageFormat::Png, enough).unwrap());
}

#[test]
fn a_truncated_image_is_skipped_with_a_reason() {
    let bytes = png(300, 200);
    let cut = &bytes[..bytes.len() / 2];
    match make(&cut.to_vec(), ImageFormat::Png, ThumbnailLimits::default()).unwrap() {
        Outcome::Skipped(why) => assert!(why.contains("could not be decoded"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn openexr_and_radiance_hdr_get_tone_mapped_thumbnails() {
    for (name, format, size) in [
        ("image_64x48_half_rgba.exr", Format::Exr, (64, 48)),
        ("image_16x12_float_tiled.exr", Format::Exr, (16, 12)),
        ("image_16x12_multipart.exr", Format::Exr, (16, 12)),
        ("image_64x48.hdr", Format::Hdr, (64, 48)),
    ] {
        let t = made(make(&fixture(name), decodable(format).unwrap(), ThumbnailLimits::default()).unwrap());
        assert_eq!((t.width, t.height), size, "{name}");
        let back = image::load_from_memory_with_format(&t.png, ImageFormat::Png).unwrap().to_rgba8();
        // The gradient goes from 0 to 4 × (1, 1, 0.5): dark at the top left, clipped white-ish
        // at the bottom right, and brighter than linear in between (the sRGB curve).
        let (w, h) = size;
        let dark = back.get_pixel(0, 0);
        let bright = back.get_pixel(w - 1, h - 1);
        assert!(dark[0] < 10 && bright[0] == 255 && bright[1] == 255, "{name}: {dark:?} {bright:?}");
        let middle = back.get_pixel(w / 8, 0)[0];
        assert!(middle > 100, "{name}: a value of about 0.5 shows as {middle}");
    }
}

#[test]
fn an_openexr_decode_reserves_its_own_copy_of_the_pixels() {
    // 64 × 48 RGBA f32 is 49,152 bytes; the decoder needs twice that.
    let limits = ThumbnailLimits { max_pixels: 100_000_000, max_memory: 60_000 };
    match make(&fixture("image_64x48_half_rgba.exr"), ImageFormat::OpenExr, limits).unwrap() {
        Outcome::Skipped(why) => assert!(why.contains("thumbnail memory budget"), "{why}"),
        Outcome::Made(_) => panic!("decoded over the budget"),
    }
    let limits = ThumbnailLimits { max_pixels: 100_000_000, max_memory: 120_000 };
    made(make(&fixture("image_64x48_half_rgba.exr"), ImageFormat::OpenExr, limits).unwrap());
}

#[test]
fn avif_and_heic_are_skipped_with_a_reason() {
    for format in [Format::Avif, Format::Heic, Format::Heif] {
        assert_eq!(decodable(format), None);
        let why = not_decoded(format).unwrap();
        assert!(why.starts_with("intake makes no thumbnails of a"), "{why}");
    }
    assert_eq!(not_decoded(Format::Png), None);
    assert_eq!(not_decoded(Format::Mp4), None);
}

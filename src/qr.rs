//! QR codes for collection points: SVG for posters and print shops, PNG for everything else.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Medium error correction: survives a scuffed poster and keeps the code small enough to scan
/// from a cheap phone's camera.
fn code(url: &str) -> Result<QrCode, String> {
    QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M).map_err(|e| format!("cannot encode {url}: {e}"))
}

/// A standalone SVG document, scalable, with a quiet zone.
pub fn svg(url: &str) -> Result<String, String> {
    Ok(code(url)?
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// A PNG image at least `min_px` pixels wide.
pub fn png(url: &str, min_px: u32) -> Result<Vec<u8>, String> {
    let image = code(url)?.render::<image::Luma<u8>>().min_dimensions(min_px, min_px).build();
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).map_err(|e| format!("cannot write PNG: {e}"))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_formats() {
        let url = "https://danhgia.example.vn/s/AbCdEfGhIjKl";
        let svg = svg(url).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
        let png = png(url, 300).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoded = image::load_from_memory(&png).unwrap();
        assert!(decoded.width() >= 300);
    }
}

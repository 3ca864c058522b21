//! Static files embedded in the binary, named by a digest of their content so that they can be
//! cached for a year and a new build is fetched at once.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

pub struct Asset {
    pub path: String,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// The body compressed once, at the best gzip level, for clients that accept gzip.
    pub gzipped: Vec<u8>,
}

fn asset(stem: &str, ext: &str, content_type: &'static str, body: &'static [u8]) -> Asset {
    let digest = Sha256::digest(body);
    let short: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    Asset { path: format!("/static/{stem}-{short}.{ext}"), content_type, body, gzipped: gzip(body) }
}

fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail; an empty result would only mean "serve uncompressed".
    if encoder.write_all(body).is_err() {
        return Vec::new();
    }
    encoder.finish().unwrap_or_default()
}

static ASSETS: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [
        asset("app", "css", "text/css; charset=utf-8", include_bytes!("../../static/app.css")),
        asset("icon", "svg", "image/svg+xml", include_bytes!("../../static/icon.svg")),
    ]
});

pub fn stylesheet_path() -> &'static str {
    &ASSETS[0].path
}

pub fn icon_path() -> &'static str {
    &ASSETS[1].path
}

/// The asset served at `path`, if any.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// The stylesheet's text, for pages that must stand alone (a saved poster sheet).
pub fn stylesheet_text() -> &'static str {
    include_str!("../../static/app.css")
}

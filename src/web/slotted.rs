//! A page that is the same for every visitor but for one short slot — a fresh form and its
//! one-time key — rendered once and compressed once.
//!
//! Compressing the 7.7 kB form on every request took a tenth of the server's CPU under load
//! (BENCHMARKS.md). Here the text before the slot is deflated once and ended with a sync flush
//! (RFC 1951: the stream is then byte-aligned and may go on with any block); each request puts
//! its slot in as a stored block, verbatim, and the text after it follows as a block deflated
//! once on its own, marked final. Only the gzip member's checksum is computed per request.
//! A stream built so is ordinary gzip: any decoder reads it.

use std::io;

use axum::http::{HeaderMap, header};
use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// The fixed gzip member header (RFC 1952): deflate, no flags, no time, unknown system.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

#[derive(Debug)]
pub struct SlottedPage {
    before: String,
    after: String,
    /// The gzip header and `before` deflated, ending byte-aligned.
    gzip_head: Vec<u8>,
    /// `after` deflated, ending with the final block.
    gzip_tail: Vec<u8>,
}

impl SlottedPage {
    /// Splits `page` at the first `slot` and compresses both sides.
    pub fn new(page: &str, slot: &str) -> io::Result<Self> {
        let (before, after) =
            page.split_once(slot).ok_or_else(|| io::Error::other("the page has no slot for its key"))?;
        let mut gzip_head = GZIP_HEADER.to_vec();
        gzip_head.extend(deflate(before.as_bytes(), FlushCompress::Sync)?);
        let gzip_tail = deflate(after.as_bytes(), FlushCompress::Finish)?;
        Ok(Self { before: before.to_owned(), after: after.to_owned(), gzip_head, gzip_tail })
    }

    /// The page with `fill` in its slot.
    pub fn html(&self, fill: &str) -> String {
        let mut page = String::with_capacity(self.before.len() + fill.len() + self.after.len());
        page.push_str(&self.before);
        page.push_str(fill);
        page.push_str(&self.after);
        page
    }

    /// The page with `fill` in its slot, as one gzip member.
    pub fn gzip(&self, fill: &str) -> Vec<u8> {
        let fill = fill.as_bytes();
        let blocks = fill.len().div_ceil(STORED_MAX).max(1);
        let mut out = Vec::with_capacity(self.gzip_head.len() + 5 * blocks + fill.len() + self.gzip_tail.len() + 8);
        out.extend_from_slice(&self.gzip_head);
        // Stored blocks, not final (RFC 1951 §3.2.4): a header byte (BFINAL 0, BTYPE 00, at a
        // byte boundary after the sync flush), then LEN and its complement, little-endian.
        for chunk in fill.chunks(STORED_MAX) {
            let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
            out.push(0);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(chunk);
        }
        out.extend_from_slice(&self.gzip_tail);
        let mut crc = Crc::new();
        crc.update(self.before.as_bytes());
        crc.update(fill);
        crc.update(self.after.as_bytes());
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&crc.amount().to_le_bytes());
        out
    }
}

/// The most bytes one stored block holds.
const STORED_MAX: usize = u16::MAX as usize;

/// `input` as raw deflate at the best level, ended by `flush` (`Sync` or `Finish`).
fn deflate(input: &[u8], flush: FlushCompress) -> io::Result<Vec<u8>> {
    deflate_from(input, flush, input.len() / 2 + 64)
}

/// [`deflate`], starting with `capacity` bytes of output space.
fn deflate_from(input: &[u8], flush: FlushCompress, capacity: usize) -> io::Result<Vec<u8>> {
    let mut compress = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(capacity);
    loop {
        let taken = usize::try_from(compress.total_in()).map_err(io::Error::other)?;
        let rest = input.get(taken..).unwrap_or_default();
        let before = (compress.total_in(), compress.total_out());
        let had_space = out.len() < out.capacity();
        let status = compress.compress_vec(rest, &mut out, flush).map_err(io::Error::other)?;
        let all_in = compress.total_in() == input.len() as u64;
        let progressed = before != (compress.total_in(), compress.total_out());
        // A flush is complete when it stopped with output space to spare (zlib's rule), or
        // when, asked again with nothing new, it has nothing more to write; `compress_vec`
        // never grows the vector, so give it more and go on until then.
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            _ => all_in && (out.len() < out.capacity() || (had_space && !progressed)),
        };
        if done {
            return Ok(out);
        }
        if had_space && !progressed {
            return Err(io::Error::other(format!("deflate made no progress ({status:?})")));
        }
        out.reserve(out.capacity().max(1024));
    }
}

/// Whether the request accepts a gzip body (`Accept-Encoding`: `gzip`, or else `*`, with a
/// quality above zero).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for coding in
        headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','))
    {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let quality = parts
            .find_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
        if name.eq_ignore_ascii_case("gzip") {
            gzip = Some(quality);
        } else if name == "*" {
            any = Some(quality);
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use axum::http::HeaderValue;

    use super::*;

    fn gunzip(bytes: &[u8]) -> String {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes).read_to_string(&mut text).expect("a valid gzip member");
        text
    }

    #[test]
    fn every_fill_gives_the_page_it_stands_for() {
        let page: String =
            (0..400).map(|i| format!("<p>Câu hỏi {i}: mức độ hài lòng</p>")).collect::<Vec<_>>().join("SLOT-HERE");
        let page = page.replacen("SLOT-HERE", "<input name=key value=\"SLOT\">", 1);
        let slotted = SlottedPage::new(&page, "SLOT").unwrap();
        for fill in ["", "k", "AbCdEfGhIjKlMnOpQrStUv", &"x".repeat(70_000)] {
            let expected = page.replacen("SLOT", fill, 1);
            assert_eq!(slotted.html(fill), expected);
            let gz = slotted.gzip(fill);
            assert_eq!(gunzip(&gz), expected, "fill of {} bytes", fill.len());
            if fill.len() < 100 {
                assert!(gz.len() < page.len() / 5, "still compressed: {} of {}", gz.len(), page.len());
            }
        }
        // A slot at either end.
        for page in ["SLOT and the rest", "the rest and SLOT", "SLOT"] {
            let slotted = SlottedPage::new(page, "SLOT").unwrap();
            assert_eq!(gunzip(&slotted.gzip("abc")), page.replacen("SLOT", "abc", 1));
        }
        assert!(SlottedPage::new("no slot here", "SLOT").is_err());
    }

    #[test]
    fn text_that_hardly_compresses_takes_more_output_space_than_first_given() {
        use base64::Engine;
        use rand::RngCore;
        let mut noise = vec![0u8; 60_000];
        rand::rng().fill_bytes(&mut noise);
        let text = base64::engine::general_purpose::STANDARD.encode(&noise);
        let (before, after) = text.split_at(50_000);
        let page = format!("{before}SLOT{after}");
        let slotted = SlottedPage::new(&page, "SLOT").unwrap();
        assert!(slotted.gzip_head.len() > before.len() / 2 + 64, "the first output space was not enough");
        assert_eq!(gunzip(&slotted.gzip("key")), page.replacen("SLOT", "key", 1));
    }

    #[test]
    fn any_first_output_space_gives_the_same_stream() {
        let page = (0..60).map(|i| format!("<li>Quầy {i}: {}</li>", i * 7919 % 1000)).collect::<String>();
        let expected = deflate(page.as_bytes(), FlushCompress::Sync).unwrap();
        // Some of these end a call with the output exactly full, not knowing whether the flush
        // is complete.
        for capacity in 0..=expected.len() + 8 {
            for flush in [FlushCompress::Sync, FlushCompress::Finish] {
                let out = deflate_from(page.as_bytes(), flush, capacity).unwrap();
                let mut text = String::new();
                let mut sealed = out.clone();
                if flush == FlushCompress::Sync {
                    sealed.extend_from_slice(&[0x03, 0x00]); // an empty final block
                }
                flate2::read::DeflateDecoder::new(sealed.as_slice()).read_to_string(&mut text).unwrap();
                assert_eq!(text, page, "capacity {capacity}");
                // Output that ended exactly full may be followed by a second, empty flush block.
                assert!(out.len() <= expected.len() + 5, "capacity {capacity}: {} bytes", out.len());
            }
        }
    }

    #[test]
    fn reads_accept_encoding() {
        let accepts = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
            accepts_gzip(&headers)
        };
        assert!(accepts("gzip, deflate, br, zstd"));
        assert!(accepts("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts("*"));
        assert!(!accepts("br"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("gzip; Q=0.0"));
        assert!(!accepts("*;q=1, gzip;q=0"));
        assert!(accepts("gzip;q=0.001"));
        assert!(!accepts("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}

//! Attachments: images and PDF only, the type decided by the file's bytes (never its name or
//! declared type), image metadata (EXIF with its GPS position, comments, text chunks) stripped
//! before anything is stored.

use serde::{Deserialize, Serialize};

/// The kinds of file a petition may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Jpeg,
    Png,
    Pdf,
}

impl AttachmentKind {
    pub fn mime(self) -> &'static str {
        match self {
            AttachmentKind::Jpeg => "image/jpeg",
            AttachmentKind::Png => "image/png",
            AttachmentKind::Pdf => "application/pdf",
        }
    }

    /// Decides the kind from the file's first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(AttachmentKind::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(AttachmentKind::Png)
        } else if bytes.starts_with(b"%PDF-") {
            Some(AttachmentKind::Pdf)
        } else {
            None
        }
    }
}

/// At most this many attachments on one petition.
pub const MAX_PER_PETITION: usize = 9;

/// Removes metadata from an image or a PDF. A file that is not well formed is `None` (refused
/// rather than stored half-cleaned).
pub fn strip_metadata(kind: AttachmentKind, bytes: &[u8]) -> Option<Vec<u8>> {
    match kind {
        AttachmentKind::Jpeg => strip_jpeg(bytes),
        AttachmentKind::Png => strip_png(bytes),
        AttachmentKind::Pdf => Some(blank_pdf_metadata(bytes)),
    }
}

/// Document-information entries that name people or their machines.
const PDF_INFO_KEYS: &[&[u8]] = &[
    b"/Author",
    b"/Creator",
    b"/Producer",
    b"/Title",
    b"/Subject",
    b"/Keywords",
];

/// Overwrites, in place, the values of the document-information entries and every XMP packet
/// with spaces. Nothing moves, so the cross-reference offsets stay right and the PDF opens as
/// before. What sits inside compressed object streams (PDF 1.5+) cannot be reached this way and
/// stays: a known limit, named in the README.
fn blank_pdf_metadata(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for key in PDF_INFO_KEYS {
        let mut from = 0;
        while let Some(at) = find(&out[from..], key).map(|i| i + from) {
            from = at + key.len();
            // `/Author` must not match `/AuthorX`: the next byte ends the name.
            let mut i = from;
            if out.get(i).is_some_and(|b| b.is_ascii_alphanumeric()) {
                continue;
            }
            while out.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
                i += 1;
            }
            match out.get(i) {
                Some(b'(') => from = blank_literal_string(&mut out, i + 1),
                Some(b'<') if out.get(i + 1) != Some(&b'<') => {
                    while let Some(b) = out.get_mut(i + 1).filter(|b| **b != b'>') {
                        *b = b'0';
                        i += 1;
                    }
                }
                _ => {}
            }
        }
    }
    let (begin, end) = (b"<?xpacket begin".as_slice(), b"<?xpacket end".as_slice());
    let mut from = 0;
    while let Some(start) = find(&out[from..], begin).map(|i| i + from) {
        let Some(stop) = find(&out[start..], end).map(|i| i + start) else {
            break;
        };
        let close = find(&out[stop..], b"?>").map_or(out.len(), |i| stop + i + 2);
        out[start..close].fill(b' ');
        from = close;
    }
    out
}

/// Blanks a literal string's contents from `i` (just after its `(`), honouring nested
/// parentheses and backslash escapes; returns the index after the closing `)`.
fn blank_literal_string(out: &mut [u8], mut i: usize) -> usize {
    let mut depth = 1usize;
    while i < out.len() {
        match out[i] {
            b'\\' => {
                out[i] = b' ';
                if let Some(next) = out.get_mut(i + 1) {
                    *next = b' ';
                }
                i += 2;
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        // Nested parentheses stay, so the string still closes where it did.
        if !matches!(out[i], b'(' | b')') {
            out[i] = b' ';
        }
        i += 1;
    }
    i
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Copies a JPEG without its APP1–APP15 segments (EXIF, XMP, ICC aside from APP0/JFIF) and
/// comments, up to the start of scan, then the entropy-coded data as it is.
fn strip_jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut i = 2;
    loop {
        if i + 4 > bytes.len() || bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xDA {
            // Start of scan: the rest is image data and the end marker.
            out.extend_from_slice(&bytes[i..]);
            return Some(out);
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if len < 2 || i + 2 + len > bytes.len() {
            return None;
        }
        let metadata = (0xE1..=0xEF).contains(&marker) || marker == 0xFE;
        if !metadata {
            out.extend_from_slice(&bytes[i..i + 2 + len]);
        }
        i += 2 + len;
    }
}

/// Copies a PNG without its text, time and EXIF chunks.
fn strip_png(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..8]);
    let mut i = 8;
    while i < bytes.len() {
        if i + 12 > bytes.len() {
            return None;
        }
        let len = usize::try_from(u32::from_be_bytes([
            bytes[i],
            bytes[i + 1],
            bytes[i + 2],
            bytes[i + 3],
        ]))
        .ok()?;
        let end = i.checked_add(12)?.checked_add(len)?;
        if end > bytes.len() {
            return None;
        }
        let kind = &bytes[i + 4..i + 8];
        if !matches!(kind, b"tEXt" | b"iTXt" | b"zTXt" | b"eXIf" | b"tIME") {
            out.extend_from_slice(&bytes[i..end]);
        }
        if kind == b"IEND" {
            return Some(out);
        }
        i = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny JPEG: SOI, APP0 (JFIF), APP1 (EXIF with a "GPS" marker), COM, SOS, data, EOI.
    fn jpeg_with_exif() -> Vec<u8> {
        let mut f = vec![0xFF, 0xD8];
        f.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x07, b'J', b'F', b'I', b'F', 0x00]);
        let exif = b"Exif\0\0GPS34.72,113.97";
        f.extend_from_slice(&[0xFF, 0xE1, 0x00, (exif.len() + 2) as u8]);
        f.extend_from_slice(exif);
        f.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x06, b'n', b'o', b't', b'e']);
        f.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0x56, 0xFF, 0xD9]);
        f
    }

    #[test]
    fn kinds_come_from_the_bytes() {
        assert_eq!(
            AttachmentKind::sniff(&jpeg_with_exif()),
            Some(AttachmentKind::Jpeg)
        );
        assert_eq!(
            AttachmentKind::sniff(b"%PDF-1.7\n"),
            Some(AttachmentKind::Pdf)
        );
        assert_eq!(
            AttachmentKind::sniff(b"MZ\x90\x00 an exe named photo.jpg"),
            None
        );
        assert_eq!(AttachmentKind::sniff(b"<svg onload=alert(1)>"), None);
    }

    #[test]
    fn jpeg_metadata_and_comments_are_removed_and_the_image_kept() {
        let original = jpeg_with_exif();
        let clean = strip_metadata(AttachmentKind::Jpeg, &original).unwrap();
        assert!(!clean.windows(3).any(|w| w == b"GPS"), "EXIF gone");
        assert!(!clean.windows(4).any(|w| w == b"note"), "comment gone");
        assert!(clean.windows(4).any(|w| w == b"JFIF"), "JFIF kept");
        assert!(
            clean.ends_with(&[0x12, 0x34, 0x56, 0xFF, 0xD9]),
            "image data kept"
        );
        assert!(
            strip_metadata(AttachmentKind::Jpeg, &original[..10]).is_none(),
            "truncated refused"
        );
    }

    #[test]
    fn pdf_information_and_xmp_are_blanked_without_moving_a_byte() {
        let pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>\nendobj\n\
3 0 obj\n<< /Author (Zhang San \\(\\) (nested)) /Creator <5A68616E67> /AuthorX (keep)\n\
/CreationDate (D:20261125) >>\nendobj\n\
4 0 obj\n<< /Type /Metadata /Subtype /XML /Length 90 >>\nstream\n\
<?xpacket begin=\"\" id=\"W5M0\"?><dc:creator>Zhang San</dc:creator><?xpacket end=\"w\"?>\n\
endstream\nendobj\ntrailer\n<< /Root 1 0 R /Info 3 0 R >>\n%%EOF\n";
        let clean = strip_metadata(AttachmentKind::Pdf, pdf).unwrap();
        assert_eq!(
            clean.len(),
            pdf.len(),
            "offsets in the xref table stay valid"
        );
        assert!(!clean.windows(5).any(|w| w == b"Zhang"));
        assert!(!clean.windows(10).any(|w| w == b"5A68616E67"));
        assert!(!clean.windows(7).any(|w| w == b"xpacket"));
        // The structure, other entries and dates are untouched.
        for kept in [
            b"/Author (".as_slice(),
            b"(keep)",
            b"(D:20261125)",
            b"endstream",
            b"/Info 3 0 R",
            b"%%EOF",
        ] {
            assert!(clean.windows(kept.len()).any(|w| w == kept), "{kept:?}");
        }
        let author = clean.windows(8).position(|w| w == b"/Author ").unwrap();
        // Escapes are blanked with what they escape; nested parentheses keep the string closed.
        let expected = format!(
            "/Author ({}({})) /Creator <0000000000>",
            " ".repeat(15),
            " ".repeat(6)
        );
        assert!(
            clean[author..].starts_with(expected.as_bytes()),
            "{}",
            String::from_utf8_lossy(&clean[author..author + 60])
        );
    }

    #[test]
    fn png_text_chunks_are_removed() {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        png.extend(chunk(b"IHDR", &[0; 13]));
        png.extend(chunk(b"tEXt", b"Author\0Zhang San"));
        png.extend(chunk(b"IDAT", &[1, 2, 3]));
        png.extend(chunk(b"IEND", &[]));
        let clean = strip_metadata(AttachmentKind::Png, &png).unwrap();
        assert!(!clean.windows(5).any(|w| w == b"Zhang"));
        assert!(clean.windows(4).any(|w| w == b"IDAT"));
        assert!(clean.windows(4).any(|w| w == b"IEND"));
    }
}

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

/// Removes metadata from an image; a PDF is returned as it is. A file that is not well formed
/// is `None` (refused rather than stored half-cleaned).
pub fn strip_metadata(kind: AttachmentKind, bytes: &[u8]) -> Option<Vec<u8>> {
    match kind {
        AttachmentKind::Jpeg => strip_jpeg(bytes),
        AttachmentKind::Png => strip_png(bytes),
        AttachmentKind::Pdf => Some(bytes.to_vec()),
    }
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

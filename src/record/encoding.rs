//! Encoding-aware reading of record files.
//!
//! Hospital exports arrive as UTF-8, UTF-8 with a BOM, UTF-16 (Windows
//! "Unicode" text) or GB18030/GBK from older Chinese systems. Detection order:
//! a BOM decides; otherwise bytes that are valid UTF-8 are UTF-8 (a GBK file of
//! Chinese text is almost never valid UTF-8); otherwise GB18030, a superset of
//! GBK and GB2312. Line endings are normalized to `\n` so that section offsets
//! do not depend on the platform that wrote the file.

use std::path::Path;

use encoding_rs::{Encoding, GB18030, UTF_8};

use crate::error::{Error, Location, Result};

/// Text decoded from bytes, with the encoding that was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    /// The encoding's WHATWG name (`UTF-8`, `UTF-16LE`, `gb18030`, …).
    pub encoding: &'static str,
}

/// Reads a text file, detecting its encoding (see the module docs), and
/// normalizes `\r\n` and lone `\r` to `\n`.
pub fn read_text_file(path: &Path) -> Result<String> {
    let bytes =
        crate::limits::read_limited(path, crate::limits::MAX_RECORD_FILE_BYTES, "record file")?;
    decode_bytes(&bytes)
        .map(|d| d.text)
        .map_err(|msg| Error::invalid(Location::file(path), msg))
}

/// Decodes bytes as described in the module docs. The error says why the
/// bytes are not text in any supported encoding.
pub fn decode_bytes(bytes: &[u8]) -> std::result::Result<Decoded, String> {
    let (encoding, text) = if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            return Err(format!(
                "file starts with a {} byte-order mark but holds bytes that are not {}",
                enc.name(),
                enc.name()
            ));
        }
        (enc, text.into_owned())
    } else if let Ok(s) = std::str::from_utf8(bytes) {
        (UTF_8, s.to_owned())
    } else {
        let (text, had_errors) = GB18030.decode_without_bom_handling(bytes);
        if had_errors {
            return Err(
                "file is neither valid UTF-8 nor valid GB18030/GBK text (wrong encoding or a binary file)"
                    .to_owned(),
            );
        }
        (GB18030, text.into_owned())
    };
    Ok(Decoded {
        text: normalize_newlines(text.strip_prefix('\u{FEFF}').unwrap_or(&text)),
        encoding: encoding.name(),
    })
}

/// Best-effort decoding of a file's first bytes, for format detection only:
/// the cut may split a character, which becomes U+FFFD.
pub(crate) fn decode_head_lossy(head: &[u8]) -> String {
    if let Some((enc, bom_len)) = Encoding::for_bom(head) {
        return enc
            .decode_without_bom_handling(&head[bom_len..])
            .0
            .into_owned();
    }
    match std::str::from_utf8(head) {
        Ok(s) => s.to_owned(),
        // A valid UTF-8 prefix cut mid-character fails only in its last 3 bytes.
        Err(e) if e.valid_up_to() + 4 > head.len() => {
            String::from_utf8_lossy(&head[..e.valid_up_to()]).into_owned()
        }
        Err(_) => GB18030.decode_without_bom_handling(head).0.into_owned(),
    }
}

/// `\r\n` → `\n`, lone `\r` → `\n`.
pub fn normalize_newlines(s: &str) -> String {
    if !s.contains('\r') {
        return s.to_owned();
    }
    s.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_encoding() {
        let s = "【主诉】胸痛2小时\r\n【出院诊断】1.急性心肌梗死";
        let want = "【主诉】胸痛2小时\n【出院诊断】1.急性心肌梗死";

        let utf8 = decode_bytes(s.as_bytes()).unwrap();
        assert_eq!((utf8.text.as_str(), utf8.encoding), (want, "UTF-8"));

        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(s.as_bytes());
        assert_eq!(decode_bytes(&bom).unwrap().text, want);

        let (gbk, _, _) = GB18030.encode(s);
        assert!(std::str::from_utf8(&gbk).is_err());
        let d = decode_bytes(&gbk).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), (want, "gb18030"));

        let mut utf16 = vec![0xFF, 0xFE];
        for u in s.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let d = decode_bytes(&utf16).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), (want, "UTF-16LE"));
    }

    #[test]
    fn rejects_bytes_that_are_no_text() {
        // 0xFF is invalid in both UTF-8 and GB18030.
        let err = decode_bytes(&[0x41, 0xFF, 0xFF, 0x42]).unwrap_err();
        assert!(err.contains("GB18030"), "{err}");
    }

    #[test]
    fn head_decoding_tolerates_a_cut_character() {
        let s = "[{\"病案标识\"";
        let bytes = s.as_bytes();
        let cut = &bytes[..bytes.len() - 2];
        assert!(decode_head_lossy(cut).starts_with("[{\"病案"));
    }
}

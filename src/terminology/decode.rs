//! Bytes of a text table → `String`. Hospital exports come as UTF-8 (with
//! or without BOM), UTF-16 ("Unicode text" from Excel) or GBK/GB18030.

use std::path::Path;

use crate::error::{Error, Location, Result};

/// Decoded text and the encoding it was read as.
pub(crate) struct Decoded {
    pub text: String,
    pub encoding: &'static str,
}

/// Decodes a whole file, refusing binary content.
pub(crate) fn decode_text(path: &Path, bytes: &[u8]) -> Result<Decoded> {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            return Err(Error::invalid(
                Location::file(path),
                format!("not valid {} text despite its byte-order mark", enc.name()),
            ));
        }
        return Ok(Decoded {
            text: text.into_owned(),
            encoding: enc.name(),
        });
    }
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return Err(Error::invalid(
            Location::file(path),
            "binary file (NUL bytes), not a text table",
        ));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(Decoded {
            text: s.to_string(),
            encoding: "UTF-8",
        });
    }
    // GB18030 is a superset of GBK and GB2312.
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(Error::invalid(
            Location::file(path),
            "neither UTF-8 nor GBK/GB18030 text (binary or unknown encoding)",
        ));
    }
    Ok(Decoded {
        text: text.into_owned(),
        encoding: "GB18030",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_encodings() {
        let p = Path::new("x");
        assert_eq!(decode_text(p, "霍乱".as_bytes()).unwrap().encoding, "UTF-8");
        let bom = [&[0xEF, 0xBB, 0xBF][..], "霍乱".as_bytes()].concat();
        assert_eq!(decode_text(p, &bom).unwrap().text, "霍乱");
        let (gbk, _, _) = encoding_rs::GBK.encode("A00.900 霍乱");
        let d = decode_text(p, &gbk).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), ("A00.900 霍乱", "GB18030"));
        assert!(decode_text(p, &[0x50, 0x4b, 0, 1, 2]).is_err());
        assert!(decode_text(p, &[0xff, 0xff, 0xff, 0x80]).is_err());
    }
}

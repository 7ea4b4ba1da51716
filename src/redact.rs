//! Redaction of exported results: record ids become stable salted
//! pseudonyms, and identifying details are cut from free text.
//!
//! - **Record ids** (住院号, 病案号) become `R-` and 16 letters `a`–`p`: the
//!   first 64 bits of SHA-256(salt, id). The same id under the same salt
//!   always gives the same pseudonym, so exports of one server can be joined
//!   without the ids; without the salt an id cannot be guessed back from its
//!   pseudonym by trying every number. The salt is a random file in the data
//!   dir (0600), created on first use ([`load_or_create_salt`]); the hospital
//!   keeps it, and whoever has it can re-identify by hashing their own ids.
//! - **Free text** (item names, unmapped items, the 病案首页 line): a name
//!   after a label (`姓名：`, `患者：`, `联系人：`, `家属：`) becomes
//!   `[姓名]`; a value after an id label (`身份证号`, `住院号`, `病案号`,
//!   `电话`, …) becomes `[编号]`; 18-digit ID-card numbers become
//!   `[身份证号]`, 11-digit mobile numbers and area-code phone numbers
//!   `[电话]`, any other run of 6 or more digits `[数字]`; the record's own id
//!   becomes its pseudonym. Codes (`I21.101`, `36.0700x004`) and short
//!   numbers (`3天`, `150/90`) are left alone.

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Bytes of a new salt.
pub const SALT_LEN: usize = 32;

/// Replaces ids and identifying text under one salt.
#[derive(Clone)]
pub struct Redactor {
    salt: Vec<u8>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor { salt: <hidden> }")
    }
}

impl Redactor {
    pub fn new(salt: Vec<u8>) -> Self {
        Redactor { salt }
    }

    /// The pseudonym of a record id (see the module docs).
    pub fn pseudonym(&self, id: &str) -> String {
        let mut h = Sha256::new();
        h.update((self.salt.len() as u64).to_le_bytes());
        h.update(&self.salt);
        h.update(id.as_bytes());
        let digest = h.finalize();
        let mut out = String::from("R-");
        for b in &digest[..8] {
            out.push((b'a' + (b >> 4)) as char);
            out.push((b'a' + (b & 15)) as char);
        }
        out
    }

    /// `text` with identifying details replaced, and `record_id` (when not
    /// blank) replaced by its pseudonym.
    pub fn text(&self, text: &str, record_id: &str) -> String {
        let scrubbed = scrub(text);
        let id = record_id.trim();
        // A short id (`1`, `P3`) would hit ordinary text; long ones are
        // also caught as digit runs.
        if id.chars().count() >= 3 && scrubbed.contains(id) {
            scrubbed.replace(id, &self.pseudonym(id))
        } else {
            scrubbed
        }
    }

    /// Redacts every string of a JSON document in place, except the values
    /// of `keep` keys (timestamps, already pseudonymous ids).
    pub fn json(&self, value: &mut serde_json::Value, record_id: &str, keep: &[&str]) {
        match value {
            serde_json::Value::String(s) => *s = self.text(s, record_id),
            serde_json::Value::Array(a) => {
                for v in a {
                    self.json(v, record_id, keep);
                }
            }
            serde_json::Value::Object(o) => {
                for (k, v) in o.iter_mut() {
                    if !keep.contains(&k.as_str()) {
                        self.json(v, record_id, keep);
                    }
                }
            }
            _ => {}
        }
    }
}

fn rules() -> &'static [(Regex, &'static str)] {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RULES.get_or_init(|| {
        let r = |p: &str| Regex::new(p).expect("a valid redaction pattern");
        vec![
            // A name after its label: 姓名 with or without a colon, the
            // others only with one (患者 starts much ordinary text).
            (
                r(r"(姓名|名字)\s*[:：]?\s*[\p{Han}·]{1,4}|(患者|病人|联系人|家属|陪护)\s*[:：]\s*[\p{Han}·]{1,4}"),
                "${1}${2}：[姓名]",
            ),
            // A value after an id or phone label.
            (
                r(r"(身份证号码|身份证号|身份证|住院号|病案号|病历号|门诊号|医保卡号|医保号|就诊卡号|档案号|床号|联系电话|手机号码|手机号|手机|电话)\s*[:：]?\s*[0-9A-Za-z][0-9A-Za-z-]*"),
                "${1}：[编号]",
            ),
            (r(r"[0-9]{17}[0-9Xx]"), "[身份证号]"),
            (r(r"1[3-9][0-9]{9}"), "[电话]"),
            (r(r"0[0-9]{2,3}-[0-9]{7,8}"), "[电话]"),
            (r(r"[0-9]{6,}"), "[数字]"),
        ]
    })
}

/// `text` with the identifying details of the module docs replaced.
pub fn scrub(text: &str) -> String {
    let mut out = text.to_string();
    for (re, with) in rules() {
        if re.is_match(&out) {
            out = re.replace_all(&out, *with).into_owned();
        }
    }
    out
}

/// Reads the salt at `path`, creating a random one (0600) when there is none.
pub fn load_or_create_salt(path: &Path) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) if b.len() >= 16 => return Ok(b),
        Ok(b) => {
            return Err(Error::invalid(
                crate::error::Location::file(path),
                format!(
                    "redaction salt of {} bytes is too short (16 at least); \
                     remove the file to have a new one made (earlier pseudonyms then change)",
                    b.len()
                ),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    let mut salt = vec![0u8; SALT_LEN];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut salt))
        .map_err(|e| Error::io("/dev/urandom", e))?;
    if let Some(dir) = path.parent() {
        crate::session::create_private_dir(dir)?;
    }
    crate::session::write_atomic(path, &salt)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_names_ids_and_numbers_but_not_codes() {
        let t = "姓名：张三，患者: 李四丰 身份证号 11010519491231002X 住院号T-0001 \
                 电话13812345678，家属手机 13912345678；单位电话 010-62345678；\
                 编号 20240102；I21.101 36.0700x004 胸痛3天 血压150/90";
        let s = scrub(t);
        for gone in [
            "张三",
            "李四丰",
            "11010519491231002X",
            "T-0001",
            "13812345678",
            "13912345678",
            "62345678",
            "20240102",
        ] {
            assert!(!s.contains(gone), "{gone} left in {s}");
        }
        for kept in [
            "I21.101",
            "36.0700x004",
            "胸痛3天",
            "150/90",
            "[姓名]",
            "[编号]",
        ] {
            assert!(s.contains(kept), "{kept} lost from {s}");
        }
    }

    #[test]
    fn pseudonyms_are_stable_per_salt_and_hold_no_digits() {
        let a = Redactor::new(b"salt-one-0123456".to_vec());
        let b = Redactor::new(b"salt-two-0123456".to_vec());
        assert_eq!(a.pseudonym("T-0001"), a.pseudonym("T-0001"));
        assert_ne!(a.pseudonym("T-0001"), a.pseudonym("T-0002"));
        assert_ne!(a.pseudonym("T-0001"), b.pseudonym("T-0001"));
        let p = a.pseudonym("T-0001");
        assert_eq!(p.len(), 18);
        assert!(!p.chars().any(|c| c.is_ascii_digit()), "{p}");
        assert_eq!(scrub(&p), p);
        assert_eq!(
            a.text("见 T-0001 号病历", "T-0001"),
            format!("见 {p} 号病历")
        );
    }
}

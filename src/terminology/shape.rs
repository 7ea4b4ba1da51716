//! Code shapes: which strings are codes of a system, what level of the
//! hierarchy a code is, and which codes could be its parent.
//!
//! The shapes are deliberately broader than one edition, because hospitals
//! load 国临, 医保 and 北京临床版 tables, and each adds its own extensions:
//!
//! | ICD-10 | kind |
//! |---|---|
//! | `I10` | category |
//! | `I20.0`, `I20.000`, `I10.x00`, `A33.x` | subcategory |
//! | `I21.401`, `S02.01` | code |
//! | `I10.x00x032`, `C79.8201`, `A33xx01`, `L57.402L1` | extension |
//! | `A01.000x003†G01*`, `E11.401+G63.2*`, `D63.0*` | the kind of the first part |
//! | `M80000/3`, `M800000/0` | morphology (ICD-O) |
//!
//! | ICD-9-CM-3 | kind |
//! |---|---|
//! | `36` | category |
//! | `36.0` | subcategory |
//! | `36.07`, `36.0700`, `01.6x00` | code |
//! | `36.0701`, `36.0700x004`, `17.91100`, `17.912A0` | extension |
//!
//! Rejected: two codes run together without a separator (`C22.101M81600/3`,
//! `B37.600I39.8`), anything else that is not one of the shapes above.

use std::sync::LazyLock;

use regex::Regex;

use super::{normalize_code, CodeKind, CodeSystem};

/// Why a code string is not a code of the table's system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeError {
    /// Empty after trimming.
    Blank,
    /// Not a code of either system (includes unseparated dual codes).
    Malformed,
    /// A well-formed code of the other system (a procedure code in a
    /// diagnosis table or the reverse).
    OtherSystem,
}

// ICD-10 on the normalized key (uppercase, `+` between the parts, no `*`).
static ICD10: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^[A-Z][0-9]{2}",
        r"(?:\.[0-9X]{1,5}(?:X[0-9]{3,4}|[A-Z][0-9]?)?|XX[0-9]{2,3})?",
        r"(?:\+(?:[A-Z][0-9]{2}(?:\.[0-9X]{1,5}(?:X[0-9]{3,4})?)?)?)?$"
    ))
    .expect("static regex")
});

static MORPHOLOGY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^M[0-9]{4,6}/[0-9]$").expect("static regex"));

// ICD-9-CM-3 on the uppercased code without whitespace (not the key: the key
// pads decimals, which would hide `36.0` vs `36.00`).
static ICD9: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9]{2}(?:\.(?:[0-9X]{1,4}|[0-9]{3}[0-9A-Z][0-9]|[0-9]{5})(?:X[0-9]{3,4})?)?$")
        .expect("static regex")
});

/// The code with whitespace removed, as tables should store it.
pub fn clean_code(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Checks that `code` is a code of `system` (any common spelling).
pub fn check_code(system: CodeSystem, code: &str) -> Result<(), ShapeError> {
    let raw = clean_code(code);
    if raw.is_empty() {
        return Err(ShapeError::Blank);
    }
    let fits = |s: CodeSystem| fits_system(s, &raw);
    if fits(system) {
        Ok(())
    } else {
        let other = match system {
            CodeSystem::Icd10 => CodeSystem::Icd9Cm3,
            CodeSystem::Icd9Cm3 => CodeSystem::Icd10,
        };
        // Morphology codes belong to diagnosis tables only; in a procedure
        // table they are plain junk, not "the other system".
        if fits(other) && !MORPHOLOGY.is_match(&raw.to_uppercase()) {
            Err(ShapeError::OtherSystem)
        } else {
            Err(ShapeError::Malformed)
        }
    }
}

fn fits_system(system: CodeSystem, raw: &str) -> bool {
    match system {
        CodeSystem::Icd10 => {
            if !stars_well_placed(raw) {
                return false;
            }
            let key = normalize_code(system, raw);
            ICD10.is_match(&key) || MORPHOLOGY.is_match(&key)
        }
        CodeSystem::Icd9Cm3 => ICD9.is_match(&raw.to_uppercase()),
    }
}

/// An asterisk closes a part: it may stand only at the end or before the
/// dagger (`A01.000x003*†G01*` is odd but seen; `A0*1` is not a code).
fn stars_well_placed(raw: &str) -> bool {
    let chars: Vec<char> = raw.chars().collect();
    chars
        .iter()
        .enumerate()
        .all(|(i, &c)| c != '*' || matches!(chars.get(i + 1), None | Some('†' | '+' | '＋')))
}

/// True for ICD-O morphology codes (`M80000/3`).
pub fn is_morphology(code: &str) -> bool {
    MORPHOLOGY.is_match(&clean_code(code).to_uppercase())
}

/// The first part of a normalized key (before the dagger/asterisk partner).
pub(crate) fn primary(key: &str) -> &str {
    key.split('+').next().unwrap_or(key)
}

/// Level of a valid code, from its normalized key.
pub fn kind_of(system: CodeSystem, key: &str) -> CodeKind {
    match system {
        CodeSystem::Icd10 => icd10_kind(key),
        CodeSystem::Icd9Cm3 => icd9_kind(key),
    }
}

fn icd10_kind(key: &str) -> CodeKind {
    if MORPHOLOGY.is_match(key) {
        return CodeKind::Morphology;
    }
    let p = primary(key);
    if p.len() == 3 {
        return CodeKind::Category;
    }
    let Some((_, dec)) = p.split_once('.') else {
        // `A33XX01`: 北京临床版 extension of a category without subdivisions
        return CodeKind::Extension;
    };
    let plain = dec.chars().all(|c| c.is_ascii_digit() || c == 'X');
    match (plain, dec.len()) {
        (true, 1) => CodeKind::Subcategory,
        (true, 2) => CodeKind::Code,
        (true, 3) if dec.ends_with("00") => CodeKind::Subcategory,
        (true, 3) => CodeKind::Code,
        _ => CodeKind::Extension,
    }
}

fn icd9_kind(key: &str) -> CodeKind {
    let Some((_, dec)) = key.split_once('.') else {
        return CodeKind::Category;
    };
    if split_icd9_extension(dec).is_some() {
        return CodeKind::Extension;
    }
    match dec.len() {
        1 => CodeKind::Subcategory,
        4 if dec.ends_with("00") => CodeKind::Code,
        _ => CodeKind::Extension,
    }
}

/// `0700X004` → (`0700`, `X004`).
fn split_icd9_extension(dec: &str) -> Option<(&str, &str)> {
    let i = dec.rfind('X').filter(|&i| i >= 1)?;
    let (base, ext) = dec.split_at(i);
    let digits = &ext[1..];
    ((3..=4).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()))
        .then_some((base, ext))
}

/// `402L1` → `402`, `X00X032` → `X00`: the decimal part without a trailing
/// extension, if it has one.
fn split_icd10_extension(dec: &str) -> Option<&str> {
    static EXT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([0-9X]{1,3})(?:X[0-9]{3,4}|[A-Z][0-9]?)$").expect("static regex")
    });
    EXT.captures(dec)
        .map(|c| c.get(1).map_or("", |m| m.as_str()))
}

/// Candidate parents below the category level, closest first, as
/// normalized keys. Only candidates that are real rows of the table are
/// used: the builder takes the first one present.
pub(crate) fn fine_parents(system: CodeSystem, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    match system {
        CodeSystem::Icd10 => {
            if MORPHOLOGY.is_match(key) {
                return out;
            }
            let p = primary(key);
            if p != key {
                out.push(p.to_string());
            }
            icd10_fine(p, &mut out);
        }
        CodeSystem::Icd9Cm3 => icd9_fine(key, &mut out),
    }
    out.dedup();
    out
}

fn icd10_fine(p: &str, out: &mut Vec<String>) {
    let cat = &p[..3.min(p.len())];
    if p.get(3..).is_some_and(|r| r.starts_with("XX")) {
        out.push(format!("{cat}.X00"));
        out.push(format!("{cat}.X"));
        return;
    }
    let Some((_, dec)) = p.split_once('.') else {
        return;
    };
    let mut dec = dec;
    if let Some(base) = split_icd10_extension(dec) {
        out.push(format!("{cat}.{base}"));
        dec = base;
    }
    for k in (1..dec.len()).rev() {
        if dec.len() >= 3 {
            let padded = format!("{:0<3}", &dec[..k]);
            if padded != dec {
                out.push(format!("{cat}.{padded}"));
            }
        }
        out.push(format!("{cat}.{}", &dec[..k]));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|k| seen.insert(k.clone()));
}

fn icd9_fine(key: &str, out: &mut Vec<String>) {
    let Some((head, dec)) = key.split_once('.') else {
        return;
    };
    let mut dec = dec;
    if let Some((base, _)) = split_icd9_extension(dec) {
        out.push(format!("{head}.{base}"));
        dec = base;
    }
    for k in (2..dec.len()).rev() {
        let padded = format!("{:0<4}", &dec[..k]);
        if padded != dec {
            out.push(format!("{head}.{padded}"));
        }
    }
    // the subcategory is structural (synthesized when absent), not a candidate
    if let Some(first) = dec.get(..1) {
        let sub = format!("{head}.{first}");
        out.retain(|k| *k != sub);
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|k| seen.insert(k.clone()));
}

/// The 3-character (ICD-10) or 2-digit (ICD-9-CM-3) category of a key.
pub(crate) fn category_of(system: CodeSystem, key: &str) -> Option<String> {
    match system {
        CodeSystem::Icd10 if MORPHOLOGY.is_match(key) => None,
        CodeSystem::Icd10 => primary(key).get(..3).map(str::to_string),
        CodeSystem::Icd9Cm3 => key.get(..2).map(str::to_string),
    }
}

/// The ICD-9-CM-3 subcategory (`36.0`) of a key below it.
pub(crate) fn icd9_subcategory_of(key: &str) -> Option<String> {
    let (head, dec) = key.split_once('.')?;
    let first = dec.get(..1)?;
    (dec.len() > 1).then(|| format!("{head}.{first}"))
}

/// Guesses the system of a code string, if it is a code of either.
pub fn system_of(code: &str) -> Option<CodeSystem> {
    let raw = clean_code(code);
    if raw.is_empty() {
        None
    } else if fits_system(CodeSystem::Icd10, &raw) {
        Some(CodeSystem::Icd10)
    } else if fits_system(CodeSystem::Icd9Cm3, &raw) {
        Some(CodeSystem::Icd9Cm3)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CodeSystem::{Icd10, Icd9Cm3};

    #[test]
    fn valid_icd10_shapes() {
        for c in [
            "A00",
            "A00.0",
            "I10.x00",
            "I10.x00x032",
            "A01.000x003†G01*",
            "E11.401+G63.2*",
            "K74.300x011†I98.2",
            "D63.0*",
            "D77*",
            "A06.5+",
            "A33xx01",
            "L57.402L1",
            "C79.8201",
            "E16.8x011",
            "M80000/3",
            "M800000/0",
            "M32.115+K77.801*",
            " i10.x00 ",
        ] {
            assert_eq!(check_code(Icd10, c), Ok(()), "{c}");
        }
    }

    #[test]
    fn invalid_icd10_shapes() {
        for c in [
            "C22.101M81600/3",
            "B37.600I39.8",
            "T66.x02H47.5",
            "N",
            "I10.",
            "1I0",
            "A0*1",
            "I10-I15",
        ] {
            assert_eq!(check_code(Icd10, c), Err(ShapeError::Malformed), "{c}");
        }
        assert_eq!(check_code(Icd10, "36.0700"), Err(ShapeError::OtherSystem));
        assert_eq!(check_code(Icd10, "  "), Err(ShapeError::Blank));
    }

    #[test]
    fn icd9_shapes() {
        for c in [
            "36",
            "36.0",
            "36.07",
            "36.0700",
            "36.0700x004",
            "00.6600x004",
            "01.6x00",
            "66.69x001",
            "86.700x0013",
            "17.91100",
            "17.912A0",
        ] {
            assert_eq!(check_code(Icd9Cm3, c), Ok(()), "{c}");
        }
        for c in ["3607", "36.07.00", "36.0700y004", "M80000/3", "A"] {
            assert_eq!(check_code(Icd9Cm3, c), Err(ShapeError::Malformed), "{c}");
        }
        assert_eq!(check_code(Icd9Cm3, "I10.x00"), Err(ShapeError::OtherSystem));
    }

    fn k10(c: &str) -> CodeKind {
        kind_of(Icd10, &normalize_code(Icd10, c))
    }
    fn k9(c: &str) -> CodeKind {
        kind_of(Icd9Cm3, &normalize_code(Icd9Cm3, c))
    }

    #[test]
    fn kinds() {
        assert_eq!(k10("I10"), CodeKind::Category);
        assert_eq!(k10("I20.0"), CodeKind::Subcategory);
        assert_eq!(k10("I20.000"), CodeKind::Subcategory);
        assert_eq!(k10("I10.x00"), CodeKind::Subcategory);
        assert_eq!(k10("I21.401"), CodeKind::Code);
        assert_eq!(k10("I10.x00x032"), CodeKind::Extension);
        assert_eq!(k10("A01.000x003†G01*"), CodeKind::Extension);
        assert_eq!(k10("A01.001†K77.0*"), CodeKind::Code);
        assert_eq!(k10("M80000/3"), CodeKind::Morphology);
        assert_eq!(k10("A33xx01"), CodeKind::Extension);
        assert_eq!(k9("36"), CodeKind::Category);
        assert_eq!(k9("36.0"), CodeKind::Subcategory);
        assert_eq!(k9("36.07"), CodeKind::Code);
        assert_eq!(k9("36.0700"), CodeKind::Code);
        assert_eq!(k9("36.0701"), CodeKind::Extension);
        assert_eq!(k9("36.0700x004"), CodeKind::Extension);
        assert_eq!(k9("01.6x00"), CodeKind::Code);
    }

    fn f10(c: &str) -> Vec<String> {
        fine_parents(Icd10, &normalize_code(Icd10, c))
    }
    fn f9(c: &str) -> Vec<String> {
        fine_parents(Icd9Cm3, &normalize_code(Icd9Cm3, c))
    }

    #[test]
    fn parent_candidates() {
        assert_eq!(f10("I10.x00x032"), ["I10.X00", "I10.X0", "I10.X"]);
        assert_eq!(f10("I21.401"), ["I21.400", "I21.40", "I21.4"]);
        assert_eq!(f10("I21.400"), ["I21.40", "I21.4"]);
        assert_eq!(
            f10("A01.000x003†G01*"),
            ["A01.000X003", "A01.000", "A01.00", "A01.0"]
        );
        assert_eq!(f10("A33xx01"), ["A33.X00", "A33.X"]);
        assert!(f10("I10").is_empty());
        assert!(f10("M80000/3").is_empty());
        assert_eq!(f9("36.0700x004"), ["36.0700"]);
        assert_eq!(f9("36.0701"), ["36.0700"]);
        assert!(f9("36.0700").is_empty());
        assert_eq!(f9("17.91100"), ["17.9110", "17.9100"]);
        assert_eq!(icd9_subcategory_of("36.0700"), Some("36.0".into()));
        assert_eq!(category_of(Icd9Cm3, "36.0700").as_deref(), Some("36"));
        assert_eq!(
            category_of(Icd10, "A01.000X003+G01").as_deref(),
            Some("A01")
        );
    }
}

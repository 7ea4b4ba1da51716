//! Gold code cleaning and shape checks for the importers.
//!
//! Gold codes come from spreadsheets typed by people: stray spaces,
//! full-width characters (`Ｉ２１．４０１`), a lowercase chapter letter. Those
//! are repaired. Anything that does not even look like a code (`高血压`, `??`)
//! is reported and dropped, because a wrong gold code silently spoils every
//! metric computed on it. The check is about shape only; whether a code exists
//! in the loaded table is the terminology's business.
//!
//! Accepted shapes (国临 extension forms included):
//! - ICD-10: `I10`, `I21.4`, `I21.401`, `I48.x02`, `I10.x00x032`,
//!   dagger/asterisk pairs `E11.401+G63.2*`, `A01.000x003†G01*`, a lone
//!   asterisk code `G63.2*`, and morphology codes `M8140/3`, `M81400/3`.
//! - ICD-9-CM-3: `36`, `36.0`, `36.07`, `36.0700`, `00.6600x004`, `36.0x01`.

use std::sync::LazyLock;

use regex::Regex;

use super::{GoldCode, Track};

/// One component of an ICD-10 code: category, optional subcategory with
/// 国临 extension, optional asterisk.
const ICD10_PART: &str = r"[A-Z]\d{2}(?:\.[0-9xX]\d{0,3}(?:[xX]\d{3,4})?)?\*?";

static ICD10: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?:{ICD10_PART}(?:[+†]{ICD10_PART})?|M\d{{4,5}}/\d)$"
    ))
    .expect("valid ICD-10 shape regex")
});

static ICD9: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{2}(?:\.\d[0-9xX]?\d{0,3}(?:[A-Za-z]\d{1,4})?)?$")
        .expect("valid ICD-9 shape regex")
});

/// Cleans a gold code cell: trims, removes all whitespace, folds full-width
/// ASCII to half-width and upper-cases the chapter letter of each component.
/// The `x` of 国临 extensions and dagger forms are kept as written.
pub fn clean_code(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut component_start = true;
    for c in raw.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '。' => '.',
            c => c,
        };
        if c.is_whitespace() || matches!(c, '\u{200B}' | '\u{FEFF}') {
            continue;
        }
        if component_start && c.is_ascii_lowercase() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
        component_start = matches!(c, '+' | '†');
    }
    out
}

/// Checks that a cleaned code has the shape of a code of `track`'s system.
/// The error says what was expected.
pub fn check_code_shape(track: Track, code: &str) -> Result<(), String> {
    let (re, what) = match track {
        Track::Diagnosis => (
            &*ICD10,
            "an ICD-10 diagnosis code such as I21.401 or I10.x00x032",
        ),
        Track::Procedure => (
            &*ICD9,
            "an ICD-9-CM-3 procedure code such as 36.0700 or 00.6600x004",
        ),
    };
    if re.is_match(code) {
        Ok(())
    } else {
        Err(format!("`{code}` is not {what}"))
    }
}

/// A gold slot as a source gives it: the field it came from, the code text
/// and the name text (both raw).
#[derive(Debug, Clone, Default)]
pub(crate) struct RawGold {
    pub code_field: String,
    pub code: String,
    pub name_field: Option<String>,
    pub name: String,
}

/// A problem with one gold slot: the field and what is wrong.
pub(crate) type GoldProblem = (String, String);

/// Builds one track's gold list, principal first.
///
/// `principal` is the principal slot (if the source has one for this record);
/// `others` the remaining slots in order; empty slots are skipped. A junk code
/// is reported and dropped. When the principal is missing or junk while other
/// codes exist, the whole track becomes `None`: promoting the first "other"
/// code would silently make it the principal and corrupt principal-code
/// metrics.
pub(crate) fn build_track(
    track: Track,
    principal: Option<RawGold>,
    others: Vec<RawGold>,
) -> (Option<Vec<GoldCode>>, Vec<GoldProblem>) {
    let mut problems = Vec::new();
    let mut check = |slot: &RawGold| -> Option<GoldCode> {
        let code = clean_code(&slot.code);
        let name = slot.name.trim();
        if code.is_empty() {
            if !name.is_empty() {
                let field = slot
                    .name_field
                    .clone()
                    .unwrap_or_else(|| slot.code_field.clone());
                problems.push((field, format!("name `{name}` has no code; dropped")));
            }
            return None;
        }
        if let Err(msg) = check_code_shape(track, &code) {
            problems.push((slot.code_field.clone(), format!("{msg}; code dropped")));
            return None;
        }
        Some(GoldCode {
            code,
            name: (!name.is_empty()).then(|| name.to_owned()),
        })
    };
    let principal_slot = principal.as_ref();
    let principal_code = principal_slot.and_then(&mut check);
    let rest: Vec<GoldCode> = others.iter().filter_map(&mut check).collect();
    let filled = |s: &RawGold| !s.code.trim().is_empty() || !s.name.trim().is_empty();
    let any_filled = principal_slot.is_some_and(filled) || others.iter().any(filled);
    match principal_code {
        Some(p) => {
            let mut all = Vec::with_capacity(rest.len() + 1);
            all.push(p);
            all.extend(rest);
            (Some(all), problems)
        }
        None if !any_filled => {
            // No codes at all for this track: an empty gold list, not unknown.
            (Some(Vec::new()), problems)
        }
        None => {
            let field = principal_slot
                .map(|s| s.code_field.clone())
                .unwrap_or_else(|| format!("{} principal", track.label()));
            problems.push((
                field,
                format!(
                    "no usable principal {} code while other codes are present; {} gold for this record ignored",
                    track.label(),
                    track.label()
                ),
            ));
            (None, problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_guolin_forms() {
        for c in [
            "I10",
            "I21.4",
            "I21.401",
            "I48.x02",
            "I10.x00x032",
            "E11.401+G63.2*",
            "A01.000x003†G01*",
            "G63.2*",
            "M81400/3",
            "R91.x00x003",
            "Z95.501",
        ] {
            assert!(check_code_shape(Track::Diagnosis, c).is_ok(), "{c}");
        }
        for c in [
            "36",
            "36.0",
            "36.07",
            "36.0700",
            "00.6600x004",
            "88.5500",
            "36.0x01",
            "99.999A9",
        ] {
            assert!(check_code_shape(Track::Procedure, c).is_ok(), "{c}");
        }
    }

    #[test]
    fn rejects_junk() {
        for c in [
            "高血压",
            "??",
            "",
            "I2",
            "I21.401x",
            "36.0700",
            "i21.401",
            "I21..4",
        ] {
            assert!(check_code_shape(Track::Diagnosis, c).is_err(), "{c}");
        }
        for c in ["高血压", "??", "I21.401", "3607", "36.", "36.0700x"] {
            assert!(check_code_shape(Track::Procedure, c).is_err(), "{c}");
        }
    }

    #[test]
    fn cleans_spaces_and_full_width() {
        assert_eq!(clean_code(" I21.401 "), "I21.401");
        assert_eq!(clean_code("Ｉ２１．４０１"), "I21.401");
        assert_eq!(clean_code("i10.x00x032"), "I10.x00x032");
        assert_eq!(clean_code("e11.401 + g63.2＊"), "E11.401+G63.2*");
        assert_eq!(clean_code("３６．０７００\u{3000}"), "36.0700");
    }

    fn slot(field: &str, code: &str) -> RawGold {
        RawGold {
            code_field: field.into(),
            code: code.into(),
            ..Default::default()
        }
    }

    #[test]
    fn junk_other_code_is_dropped_and_reported() {
        let (gold, problems) = build_track(
            Track::Diagnosis,
            Some(slot("主", "I21.401")),
            vec![slot("其他1", "高血压"), slot("其他2", " I10.x00x032")],
        );
        let codes: Vec<_> = gold.unwrap().into_iter().map(|g| g.code).collect();
        assert_eq!(codes, ["I21.401", "I10.x00x032"]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "其他1");
        assert!(problems[0].1.contains("高血压"));
    }

    #[test]
    fn junk_principal_voids_the_track() {
        let (gold, problems) = build_track(
            Track::Procedure,
            Some(slot("主要", "??")),
            vec![slot("其他1", "88.5500")],
        );
        assert_eq!(gold, None);
        assert_eq!(problems.len(), 2);
        // A junk principal alone must not read as "no codes".
        let (gold, _) = build_track(Track::Procedure, Some(slot("主要", "??")), vec![]);
        assert_eq!(gold, None);
    }

    #[test]
    fn no_codes_is_an_empty_list() {
        let (gold, problems) = build_track(Track::Procedure, Some(slot("主要", " ")), vec![]);
        assert_eq!(gold, Some(vec![]));
        assert!(problems.is_empty());
    }
}

//! The interface language: every string a person reads in the workbench
//! (and the command line's summary lines) comes from one catalogue,
//! [`Msg`], in Chinese (the default: the users are Chinese coders) or
//! English.
//!
//! A small catalogue of our own rather than an i18n crate: two languages,
//! a few hundred strings, and the one thing that matters most — that no
//! key lacks a translation — is checked by the compiler, since every key is
//! declared with both texts on one line (see `catalogue.rs`). Placeholders
//! are named (`{code}`), filled by [`tr!`]; a test checks both texts of a
//! key name the same ones.
//!
//! The workbench carries its language in its config (so tests draw both
//! deterministically); the command line sets [`set`] once at start and
//! reads [`current`].

mod catalogue;

use std::sync::atomic::{AtomicU8, Ordering};

use crate::pipeline::{Origin, StageKind};
use crate::record::Track;
use crate::search::Tier;

pub use catalogue::Msg;

/// An interface language.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// 简体中文.
    #[default]
    Zh,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// The code used on the command line and in the config (`zh`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// Reads `zh`/`en` (and the usual longer spellings).
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "zh" | "zh-cn" | "zh-hans" | "cn" | "chinese" | "中文" => Some(Lang::Zh),
            "en" | "en-us" | "en-gb" | "english" => Some(Lang::En),
            _ => None,
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Lang, String> {
        Lang::parse(s).ok_or_else(|| format!("unknown language `{s}` (zh or en)"))
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The name of a track ("诊断" / "diagnosis").
pub fn track_name(lang: Lang, t: Track) -> &'static str {
    match t {
        Track::Diagnosis => Msg::TrackDiagnosis,
        Track::Procedure => Msg::TrackProcedure,
    }
    .text(lang)
}

/// The title of a stage in pane headers.
pub fn stage_title(lang: Lang, k: StageKind) -> &'static str {
    match k {
        StageKind::Standardize => Msg::StageStandardize,
        StageKind::Mine => Msg::StageMine,
        StageKind::Prioritize => Msg::StagePrioritize,
        StageKind::CodeAlso => Msg::StageCodeAlso,
        StageKind::Validate => Msg::StageValidate,
        StageKind::Map => Msg::StageMap,
    }
    .text(lang)
}

/// The shortest name of a stage (a track's title strip).
pub fn stage_short(lang: Lang, k: StageKind) -> &'static str {
    match k {
        StageKind::Standardize => Msg::StageShortStandardize,
        StageKind::Mine => Msg::StageShortMine,
        StageKind::Prioritize => Msg::StageShortPrioritize,
        StageKind::CodeAlso => Msg::StageShortCodeAlso,
        StageKind::Validate => Msg::StageShortValidate,
        StageKind::Map => Msg::StageShortMap,
    }
    .text(lang)
}

/// What a professional coder does at a stage (trainer mode).
pub fn trainer_note(lang: Lang, k: StageKind, t: Track) -> &'static str {
    match (k, t) {
        (StageKind::Standardize, Track::Diagnosis) => Msg::NoteStandardizeDiagnosis,
        (StageKind::Standardize, Track::Procedure) => Msg::NoteStandardizeProcedure,
        (StageKind::Mine, _) => Msg::NoteMine,
        (StageKind::Prioritize, Track::Diagnosis) => Msg::NotePrioritizeDiagnosis,
        (StageKind::Prioritize, Track::Procedure) => Msg::NotePrioritizeProcedure,
        (StageKind::CodeAlso, _) => Msg::NoteCodeAlso,
        (StageKind::Validate, Track::Diagnosis) => Msg::NoteValidateDiagnosis,
        (StageKind::Validate, Track::Procedure) => Msg::NoteValidateProcedure,
        (StageKind::Map, _) => Msg::NoteMap,
    }
    .text(lang)
}

/// Where an item came from, in words.
pub fn origin_name(lang: Lang, o: Origin) -> &'static str {
    match o {
        Origin::Agent => Msg::OriginAgent,
        Origin::Retrieval => Msg::OriginRetrieval,
        Origin::Rule => Msg::OriginRule,
        Origin::Coder => Msg::OriginCoder,
        Origin::Learned => Msg::OriginLearned,
    }
    .text(lang)
}

/// How a code search hit was found.
pub fn tier_name(lang: Lang, t: Tier) -> &'static str {
    match t {
        Tier::ExactCode => Msg::TierExactCode,
        Tier::CodePrefix => Msg::TierCodePrefix,
        Tier::ExactName => Msg::TierExactName,
        Tier::Alias => Msg::TierAlias,
        Tier::Pinyin => Msg::TierPinyin,
        Tier::Fuzzy => Msg::TierFuzzy,
    }
    .text(lang)
}

static CURRENT: AtomicU8 = AtomicU8::new(0);

/// Sets the process's language (the command line, once at start).
pub fn set(lang: Lang) {
    CURRENT.store(lang as u8, Ordering::Relaxed);
}

/// The process's language: Chinese unless [`set`] said otherwise.
pub fn current() -> Lang {
    match CURRENT.load(Ordering::Relaxed) {
        1 => Lang::En,
        _ => Lang::Zh,
    }
}

/// A catalogue text with its `{name}` placeholders filled from `args`. A
/// placeholder without an argument stays as written (visible in a
/// snapshot, never a panic in front of a coder).
pub fn fill(template: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if is_name(&after[..close]) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, v)) => {
                        use std::fmt::Write;
                        let _ = write!(out, "{v}");
                    }
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The placeholder names of a catalogue text, in order of first use.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if is_name(&after[..close]) => {
                if !out.contains(&&after[..close]) {
                    out.push(&after[..close]);
                }
                rest = &after[close + 1..];
            }
            _ => rest = after,
        }
    }
    out
}

/// A catalogue text in a language: `tr!(lang, Key)` gives the
/// `&'static str`; `tr!(lang, Key, name = value, …)` a `String` with the
/// placeholders filled (values are anything `Display`).
#[macro_export]
macro_rules! tr {
    ($lang:expr, $key:ident) => {
        $crate::i18n::Msg::$key.text($lang)
    };
    ($lang:expr, $key:ident, $($name:ident = $val:expr),+ $(,)?) => {
        $crate::i18n::fill(
            $crate::i18n::Msg::$key.text($lang),
            &[$((stringify!($name), &$val as &dyn ::std::fmt::Display)),+],
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_texts_with_the_same_placeholders() {
        assert!(Msg::ALL.len() > 100, "the catalogue lost its keys");
        for &m in Msg::ALL {
            let (zh, en) = (m.text(Lang::Zh), m.text(Lang::En));
            assert!(!zh.trim().is_empty(), "{m:?}: no Chinese text");
            assert!(!en.trim().is_empty(), "{m:?}: no English text");
            let mut pz = placeholders(zh);
            let mut pe = placeholders(en);
            pz.sort_unstable();
            pe.sort_unstable();
            assert_eq!(pz, pe, "{m:?}: placeholders differ between zh and en");
        }
    }

    #[test]
    fn chinese_texts_are_translated() {
        // A Chinese text equal to the English one was forgotten, unless it
        // holds nothing to translate (a code system's name, a symbol).
        for &m in Msg::ALL {
            let (zh, en) = (m.text(Lang::Zh), m.text(Lang::En));
            let has_words = en
                .split(['{', '}'])
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .any(|(_, s)| s.chars().filter(|c| c.is_ascii_alphabetic()).count() > 3);
            if has_words && !zh.contains("OCR") && !zh.contains("ICD") {
                assert_ne!(zh, en, "{m:?}: the Chinese text is the English one");
            }
        }
    }

    #[test]
    fn fill_names_and_keeps_the_unknown() {
        assert_eq!(
            fill("{a} 与 {b}，{a}", &[("a", &1), ("b", &"x")]),
            "1 与 x，1"
        );
        assert_eq!(fill("{missing} {{x", &[]), "{missing} {{x");
        assert_eq!(placeholders("{a}{b} {a} {not a name}"), vec!["a", "b"]);
        let s = tr!(Lang::En, StatusNoRecord, id = "R1");
        assert!(s.contains("R1"), "{s}");
    }

    #[test]
    fn every_stage_and_track_has_names_in_both() {
        for lang in Lang::ALL {
            for t in Track::ALL {
                assert!(!track_name(lang, t).is_empty());
                for k in StageKind::of_track(t) {
                    assert!(!stage_title(lang, k).is_empty());
                    assert!(!stage_short(lang, k).is_empty());
                    assert!(!trainer_note(lang, k, t).is_empty());
                }
            }
        }
        assert_eq!(stage_title(Lang::Zh, StageKind::CodeAlso), "另编码");
        assert_eq!(stage_title(Lang::En, StageKind::CodeAlso), "Code Also");
    }

    #[test]
    fn languages_parse() {
        assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
        assert_eq!("zh-CN".parse::<Lang>(), Ok(Lang::Zh));
        assert!("fr".parse::<Lang>().is_err());
        assert_eq!(Lang::default(), Lang::Zh);
    }
}

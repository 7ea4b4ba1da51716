//! The Code Also rule file: its serde model, loading, merging and checks.
//!
//! The built-in rules live in `code_also.toml` next to this file and are
//! compiled into the binary, so the product works without any file on disk;
//! a hospital may override them by id with its own file of the same shape.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};

/// The rules shipped with icdflow.
pub const BUILTIN_TOML: &str = include_str!("code_also.toml");

/// Name used in error locations for the embedded file.
const BUILTIN_NAME: &str = "<builtin>/src/rules/code_also.toml";

/// Where a rule (or group) comes from; shown to the coder so that a local
/// habit is never mistaken for a classification instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// A "Code also" note of ICD-9-CM Volume 3.
    #[default]
    Icd9cm,
    /// Follows from the includes/excludes of ICD-9-CM (e.g. a generator-only
    /// code that excludes the leads).
    Icd9cmConvention,
    /// A coding habit observed in Chinese 国临 coding, not an ICD-9-CM rule.
    LocalPractice,
}

impl Basis {
    /// Short label for the UI and notes.
    pub fn label(self) -> &'static str {
        match self {
            Basis::Icd9cm => "ICD-9-CM code also",
            Basis::Icd9cmConvention => "ICD-9-CM convention",
            Basis::LocalPractice => "local practice",
        }
    }
}

/// What a group asks the coder to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// Number of vessels treated (00.40–00.43): one code chosen by the count.
    CountVessels,
    /// Number of stents inserted (00.45–00.48): one code chosen by the count.
    CountStents,
    /// Procedure on a vessel bifurcation (00.44), when the record says so.
    Bifurcation,
    /// Any of the listed codes, each supported by its own cue phrases.
    AnyOf,
}

impl GroupKind {
    /// Whether the group's codes form a count family (exactly one applies).
    pub fn is_count(self) -> bool {
        matches!(self, GroupKind::CountVessels | GroupKind::CountStents)
    }
}

/// How many candidates of an `any_of` group may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pick {
    /// Every supported candidate (they describe different procedures).
    #[default]
    All,
    /// Only the first supported candidate in list order (alternatives).
    First,
}

/// Which vessel vocabulary a vessel count uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    /// Coronary arteries and their branches.
    #[default]
    Coronary,
    /// Peripheral, precerebral and intracranial vessels (side-qualified).
    Peripheral,
}

/// One candidate code of an `any_of` group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    /// ICD-9-CM code (`00.45`) or 国临 spelling of an extension (`00.6600x004`).
    pub code: String,
    /// Regular expressions (plain phrases work) whose presence supports it.
    #[serde(default)]
    pub cues: Vec<String>,
    /// Regular expressions that cancel a cue found in the same sentence.
    #[serde(default)]
    pub not_cues: Vec<String>,
}

/// One Code Also requirement of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_zh: Option<String>,
    pub kind: GroupKind,
    /// True: the coder must add it (a note is raised when the record does not
    /// tell); false: add only when the record supports it.
    #[serde(default)]
    pub required: bool,
    /// Count kinds: codes for 1, 2, 3, 4 (and 5 or more); bifurcation: one code.
    #[serde(default)]
    pub codes: Vec<String>,
    /// Count of vessels: which vocabulary.
    #[serde(default)]
    pub site: Site,
    /// Bifurcation: cue patterns looked for in treatment sentences.
    #[serde(default)]
    pub cues: Vec<String>,
    /// `any_of`: one or all supported candidates.
    #[serde(default)]
    pub pick: Pick,
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    /// Overrides the rule's basis for this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<Basis>,
}

/// One Code Also rule: the procedures that fire it and what they ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    #[serde(default)]
    pub basis: Basis,
    /// Code prefixes (`36.07`, `37.8x`, `35.xx`).
    pub triggers: Vec<String>,
    pub note_en: String,
    pub note_zh: String,
    #[serde(default)]
    pub groups: Vec<Group>,
    /// In a user file: drop the built-in rule with this id.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

impl Rule {
    /// The basis that applies to one of this rule's groups.
    pub fn group_basis(&self, group: &Group) -> Basis {
        group.basis.unwrap_or(self.basis)
    }
}

/// The top level of a rule file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    version: Option<u32>,
    /// In a user file: ignore every built-in rule.
    #[serde(default)]
    replace_builtin: bool,
    #[serde(default)]
    rules: Vec<Rule>,
}

/// A checked, ordered set of Code Also rules.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Where the rules came from (file names), for the UI and errors.
    pub origin: String,
}

impl RuleSet {
    /// The built-in rules.
    pub fn builtin() -> Result<RuleSet> {
        Self::from_toml_str(BUILTIN_TOML, Path::new(BUILTIN_NAME))
    }

    /// Parses and checks a rule file held in memory; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<RuleSet> {
        let file = parse(text, origin)?;
        let rules: Vec<Rule> = file.rules.into_iter().filter(|r| !r.disabled).collect();
        let set = RuleSet {
            rules,
            origin: origin.display().to_string(),
        };
        set.validate(origin)?;
        Ok(set)
    }

    /// Reads, parses and checks a rule file.
    pub fn from_path(path: &Path) -> Result<RuleSet> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml_str(&text, path)
    }

    /// The built-in rules overridden by a user file when one is given: a user
    /// rule replaces the built-in rule with the same id (or drops it when
    /// `disabled = true`); new ids are appended; `replace_builtin = true`
    /// starts from an empty set.
    pub fn load(user: Option<&Path>) -> Result<RuleSet> {
        let mut set = Self::builtin()?;
        let Some(path) = user else {
            return Ok(set);
        };
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let file = parse(&text, path)?;
        if file.replace_builtin {
            set.rules.clear();
        }
        for rule in file.rules {
            match set.rules.iter().position(|r| r.id == rule.id) {
                Some(i) if rule.disabled => {
                    set.rules.remove(i);
                }
                Some(i) => set.rules[i] = rule,
                None if rule.disabled => {}
                None => set.rules.push(rule),
            }
        }
        set.origin = format!("{} + {}", set.origin, path.display());
        set.validate(path)?;
        Ok(set)
    }

    /// A rule by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Checks ids, triggers, group shapes and that every cue compiles.
    fn validate(&self, origin: &Path) -> Result<()> {
        let mut ids = HashSet::new();
        for (ri, rule) in self.rules.iter().enumerate() {
            let loc = |field: String| {
                Location::file(PathBuf::from(origin))
                    .record(if rule.id.is_empty() {
                        format!("rules[{ri}]")
                    } else {
                        rule.id.clone()
                    })
                    .field(field)
            };
            if rule.id.trim().is_empty() {
                return Err(Error::invalid(loc("id".into()), "rule id is empty"));
            }
            if !ids.insert(rule.id.as_str()) {
                return Err(Error::invalid(
                    loc("id".into()),
                    format!("duplicate rule id {:?}", rule.id),
                ));
            }
            if rule.triggers.is_empty() {
                return Err(Error::invalid(loc("triggers".into()), "no triggers"));
            }
            for (ti, t) in rule.triggers.iter().enumerate() {
                if trigger_prefix(t).is_none() {
                    return Err(Error::invalid(
                        loc(format!("triggers[{ti}]")),
                        format!(
                            "{t:?} is not an ICD-9-CM code prefix such as \"36.07\" or \"37.8x\""
                        ),
                    ));
                }
            }
            for (gi, g) in rule.groups.iter().enumerate() {
                let gfield = |f: &str| format!("groups[{gi}].{f}");
                match g.kind {
                    GroupKind::CountVessels | GroupKind::CountStents => {
                        if !(4..=5).contains(&g.codes.len()) {
                            return Err(Error::invalid(
                                loc(gfield("codes")),
                                "a count group lists 4 codes (1, 2, 3, 4 or more) or 5 (… 4, 5 or more)",
                            ));
                        }
                    }
                    GroupKind::Bifurcation => {
                        if g.codes.len() != 1 {
                            return Err(Error::invalid(
                                loc(gfield("codes")),
                                "a bifurcation group lists exactly one code",
                            ));
                        }
                        if g.cues.is_empty() {
                            return Err(Error::invalid(loc(gfield("cues")), "no cues"));
                        }
                    }
                    GroupKind::AnyOf => {
                        if g.candidates.is_empty() {
                            return Err(Error::invalid(
                                loc(gfield("candidates")),
                                "an any_of group needs candidates",
                            ));
                        }
                    }
                }
                for (ci, code) in g.codes.iter().enumerate() {
                    if code_stem(code).is_none() {
                        return Err(Error::invalid(
                            loc(gfield(&format!("codes[{ci}]"))),
                            format!("{code:?} is not an ICD-9-CM code"),
                        ));
                    }
                }
                for (ki, cue) in g.cues.iter().enumerate() {
                    compile_cue(cue)
                        .map_err(|e| Error::invalid(loc(gfield(&format!("cues[{ki}]"))), e))?;
                }
                for (ci, c) in g.candidates.iter().enumerate() {
                    let cfield = |f: &str| gfield(&format!("candidates[{ci}].{f}"));
                    if code_stem(&c.code).is_none() {
                        return Err(Error::invalid(
                            loc(cfield("code")),
                            format!("{:?} is not an ICD-9-CM code", c.code),
                        ));
                    }
                    if c.cues.is_empty() {
                        return Err(Error::invalid(loc(cfield("cues")), "no cues"));
                    }
                    for (ki, cue) in c.cues.iter().chain(&c.not_cues).enumerate() {
                        compile_cue(cue)
                            .map_err(|e| Error::invalid(loc(cfield(&format!("cues[{ki}]"))), e))?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn parse(text: &str, origin: &Path) -> Result<RuleFile> {
    let file: RuleFile = toml::from_str(text).map_err(|e| {
        Error::invalid(
            Location::file(PathBuf::from(origin)),
            format!("bad rule file: {e}"),
        )
    })?;
    if let Some(v) = file.version {
        if v != 1 {
            return Err(Error::invalid(
                Location::file(PathBuf::from(origin)).field("version"),
                format!("unsupported rule file version {v} (this build reads 1)"),
            ));
        }
    }
    Ok(file)
}

/// Compiles a cue: case-insensitive so `ivus` finds `IVUS`.
pub(crate) fn compile_cue(cue: &str) -> std::result::Result<Regex, String> {
    if cue.trim().is_empty() {
        return Err("empty cue".into());
    }
    RegexBuilder::new(cue)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("cue {cue:?} is not a valid pattern: {e}"))
}

/// The match prefix of a trigger in the raw uppercase code spelling:
/// `36.07` → `36.07`, `37.8x` → `37.8`, `35.xx` → `35.`. `None` when the
/// trigger does not look like an ICD-9-CM code.
pub fn trigger_prefix(trigger: &str) -> Option<String> {
    let t = trigger.trim().to_ascii_uppercase();
    let (head, tail) = t.split_once('.').unwrap_or((t.as_str(), ""));
    if head.len() != 2 || !head.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !tail.chars().all(|c| c.is_ascii_digit() || c == 'X') {
        return None;
    }
    let digits = tail.trim_end_matches('X');
    if digits.contains('X') || digits.len() > 4 {
        return None;
    }
    Some(if t.contains('.') {
        format!("{head}.{digits}")
    } else {
        head.to_string()
    })
}

/// The ICD-9-CM part of a code: two digits, the point and up to two more
/// characters (`00.6600x004` → `00.66`, `31.1x00x005` → `31.1X`,
/// `36.07` → `36.07`). Codes sharing a stem share their ICD-9-CM meaning.
pub fn code_stem(code: &str) -> Option<String> {
    let c = code.trim().to_ascii_uppercase();
    let (head, tail) = c.split_once('.')?;
    if head.len() != 2 || !head.chars().all(|ch| ch.is_ascii_digit()) {
        return None;
    }
    let mut stem: String = tail
        .chars()
        .take(2)
        .take_while(|ch| ch.is_ascii_digit() || *ch == 'X')
        .collect();
    if stem.is_empty() || !stem.starts_with(|ch: char| ch.is_ascii_digit()) {
        return None;
    }
    // `36.1` written alone is a category, fine as a stem.
    if stem.ends_with('X') && stem.len() == 1 {
        stem.pop();
    }
    Some(format!("{head}.{stem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_validates() {
        let set = RuleSet::builtin().expect("built-in rules");
        assert!(set.rules.len() >= 20, "only {} rules", set.rules.len());
        assert!(set.get("coronary-stent").is_some());
    }

    #[test]
    fn prefixes_and_stems() {
        assert_eq!(trigger_prefix("36.07").as_deref(), Some("36.07"));
        assert_eq!(trigger_prefix("37.8x").as_deref(), Some("37.8"));
        assert_eq!(trigger_prefix("35.xx").as_deref(), Some("35."));
        assert_eq!(trigger_prefix("I10"), None);
        assert_eq!(trigger_prefix("36.0x7"), None);
        assert_eq!(code_stem("00.6600x004").as_deref(), Some("00.66"));
        assert_eq!(code_stem("31.1x00x005").as_deref(), Some("31.1X"));
        assert_eq!(code_stem("36.07").as_deref(), Some("36.07"));
        assert_eq!(code_stem("36.1").as_deref(), Some("36.1"));
        assert_eq!(code_stem("E11.9"), None);
    }

    #[test]
    fn bad_files_name_the_place() {
        let bad = r#"
[[rules]]
id = "x"
triggers = ["36.07"]
note_en = "e"
note_zh = "z"
  [[rules.groups]]
  label = "l"
  kind = "count_stents"
  codes = ["00.45"]
"#;
        let err = RuleSet::from_toml_str(bad, Path::new("user.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("user.toml")
                && msg.contains("record x")
                && msg.contains("groups[0].codes"),
            "{msg}"
        );

        let bad_cue = bad.replace(
            "kind = \"count_stents\"\n  codes = [\"00.45\"]",
            "kind = \"any_of\"\n  candidates = [{ code = \"00.45\", cues = ['(unclosed'] }]",
        );
        let msg = RuleSet::from_toml_str(&bad_cue, Path::new("u.toml"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("candidates[0].cues[0]"), "{msg}");

        let unknown =
            "[[rules]]\nid='a'\ntriggers=['36.07']\nnote_en=''\nnote_zh=''\ncolour='red'\n";
        assert!(RuleSet::from_toml_str(unknown, Path::new("u.toml")).is_err());
    }

    #[test]
    fn user_file_overrides_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.toml");
        std::fs::write(
            &path,
            r#"
[[rules]]
id = "coronary-stent"
disabled = true
triggers = ["36.07"]
note_en = ""
note_zh = ""

[[rules]]
id = "cabg"
triggers = ["36.1x"]
note_en = "local wording"
note_zh = "本院说明"

[[rules]]
id = "new-rule"
triggers = ["38.93"]
note_en = "n"
note_zh = "n"
"#,
        )
        .unwrap();
        let builtin = RuleSet::builtin().unwrap();
        let set = RuleSet::load(Some(&path)).unwrap();
        assert!(set.get("coronary-stent").is_none());
        assert_eq!(set.get("cabg").unwrap().note_en, "local wording");
        assert!(set.get("new-rule").is_some());
        assert_eq!(set.rules.len(), builtin.rules.len());

        std::fs::write(&path, "replace_builtin = true\n").unwrap();
        assert!(RuleSet::load(Some(&path)).unwrap().rules.is_empty());
        assert!(RuleSet::load(Some(&dir.path().join("missing.toml"))).is_err());
    }
}

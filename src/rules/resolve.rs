//! Resolution of the rules against the loaded procedure table.
//!
//! Rules speak ICD-9-CM (`00.45`, trigger `36.07`); the 国临3.0 table spells
//! `00.4500` and adds extension codes (`36.0700x004`, `36.0701`). Resolution
//! maps every trigger prefix to the table codes under it and every candidate
//! to the table's own spelling, and lists what the table lacks (reported,
//! not fatal: a plain ICD-9-CM table has no 国临 extensions).

use std::collections::HashMap;

use regex::Regex;
use serde::Serialize;

use super::model::{
    code_stem, compile_cue, trigger_prefix, Basis, GroupKind, Pick, Rule, RuleSet, Site,
};
use crate::terminology::{normalize_code, CodeSystem, Terminology};

/// A candidate code as the loaded table spells it.
#[derive(Debug, Clone)]
pub struct ResolvedCode {
    /// As written in the rule file.
    pub written: String,
    /// ICD-9-CM stem shared by the code's family (`00.66`).
    pub stem: String,
    /// The table's code and name; `None` when the table lacks it.
    pub code: Option<String>,
    pub name: Option<String>,
    /// True when the written extension was missing and its base code stands in.
    pub fallback: bool,
}

/// A candidate of an `any_of` group with its compiled cues.
#[derive(Debug, Clone)]
pub struct ResolvedCandidate {
    pub code: ResolvedCode,
    pub cues: Vec<Regex>,
    pub not_cues: Vec<Regex>,
}

/// A group with its codes resolved.
#[derive(Debug, Clone)]
pub struct ResolvedGroup {
    pub label: String,
    pub label_zh: Option<String>,
    pub kind: GroupKind,
    pub required: bool,
    pub basis: Basis,
    pub site: Site,
    pub pick: Pick,
    /// Count kinds: codes for 1, 2, 3, 4 (, 5+); bifurcation: one code.
    pub codes: Vec<ResolvedCode>,
    /// Bifurcation cues.
    pub cues: Vec<Regex>,
    /// `any_of` candidates, in priority order.
    pub candidates: Vec<ResolvedCandidate>,
}

impl ResolvedGroup {
    /// Every code the group may add (counts, bifurcation and candidates).
    pub fn all_codes(&self) -> impl Iterator<Item = &ResolvedCode> {
        self.codes
            .iter()
            .chain(self.candidates.iter().map(|c| &c.code))
    }

    /// The code for a count (1-based); counts past the list use the last code.
    pub fn code_for_count(&self, n: usize) -> Option<&ResolvedCode> {
        if n == 0 || self.codes.is_empty() {
            return None;
        }
        self.codes.get(n.min(self.codes.len()) - 1)
    }
}

/// A rule with its triggers and codes resolved against one table.
#[derive(Debug, Clone)]
pub struct ResolvedRule {
    pub rule: Rule,
    /// Match prefixes of the triggers (raw uppercase, `37.8x` → `37.8`).
    pub prefixes: Vec<String>,
    /// Table codes under the triggers, in the table's spelling.
    pub trigger_codes: Vec<String>,
    pub groups: Vec<ResolvedGroup>,
}

impl ResolvedRule {
    pub fn id(&self) -> &str {
        &self.rule.id
    }

    /// True when this rule fires for the code (any spelling).
    pub fn fires_for(&self, code: &str) -> bool {
        let (raw, norm) = code_keys(code);
        self.prefixes
            .iter()
            .any(|p| raw.starts_with(p.as_str()) || norm.starts_with(p.as_str()))
    }

    /// The rule has a group of this kind.
    pub fn has_kind(&self, kind: GroupKind) -> bool {
        self.groups.iter().any(|g| g.kind == kind)
    }
}

/// Something a rule names that the loaded table does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unresolved {
    pub rule: String,
    /// `trigger` or `candidate`.
    pub what: &'static str,
    pub code: String,
}

/// All rules resolved against one table.
#[derive(Debug, Clone)]
pub struct ResolvedRules {
    pub rules: Vec<ResolvedRule>,
    /// Triggers that match no table code and candidates the table lacks.
    pub unresolved: Vec<Unresolved>,
    /// Candidates that fell back from a missing extension to its base code.
    pub fallbacks: Vec<Unresolved>,
    /// Label and fingerprint of the table resolved against.
    pub table_label: String,
    pub table_fingerprint: String,
    pub origin: String,
}

impl ResolvedRules {
    /// Rules fired by a code (any spelling), in file order.
    pub fn rules_for(&self, code: &str) -> Vec<&ResolvedRule> {
        self.rules.iter().filter(|r| r.fires_for(code)).collect()
    }

    /// A rule by id.
    pub fn get(&self, id: &str) -> Option<&ResolvedRule> {
        self.rules.iter().find(|r| r.rule.id == id)
    }

    /// Numbers for reports: (rules, triggers resolved / all, candidate codes
    /// resolved / all).
    pub fn summary(&self) -> ResolutionSummary {
        let mut s = ResolutionSummary {
            rules: self.rules.len(),
            ..Default::default()
        };
        for r in &self.rules {
            s.triggers += r.rule.triggers.len();
            s.trigger_codes += r.trigger_codes.len();
            for g in &r.groups {
                for c in g.all_codes() {
                    s.candidates += 1;
                    if c.code.is_some() {
                        s.candidates_resolved += 1;
                    }
                }
            }
        }
        s.triggers_resolved = s.triggers
            - self
                .unresolved
                .iter()
                .filter(|u| u.what == "trigger")
                .count();
        s.fallbacks = self.fallbacks.len();
        s
    }
}

/// Resolution figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResolutionSummary {
    pub rules: usize,
    pub triggers: usize,
    pub triggers_resolved: usize,
    /// Table codes matched by all triggers together.
    pub trigger_codes: usize,
    pub candidates: usize,
    pub candidates_resolved: usize,
    pub fallbacks: usize,
}

/// Raw uppercase spelling and normalized key of a code.
pub(crate) fn code_keys(code: &str) -> (String, String) {
    let raw: String = code
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let norm = normalize_code(CodeSystem::Icd9Cm3, code);
    (raw, norm)
}

impl RuleSet {
    /// Resolves the rules against a loaded procedure table.
    pub fn resolve(&self, term: &Terminology) -> ResolvedRules {
        let mut keyed: Vec<(String, usize)> = term
            .entries()
            .iter()
            .enumerate()
            .map(|(i, e)| (code_keys(&e.code).0, i))
            .collect();
        keyed.sort();
        let mut unresolved = Vec::new();
        let mut fallbacks = Vec::new();
        let mut rules = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            let mut prefixes = Vec::new();
            let mut trigger_codes = Vec::new();
            for t in &rule.triggers {
                let Some(p) = trigger_prefix(t) else { continue };
                let start = keyed.partition_point(|(k, _)| k.as_str() < p.as_str());
                let before = trigger_codes.len();
                for (k, i) in &keyed[start..] {
                    if !k.starts_with(p.as_str()) {
                        break;
                    }
                    trigger_codes.push(term.entry(*i).code.clone());
                }
                if trigger_codes.len() == before {
                    unresolved.push(Unresolved {
                        rule: rule.id.clone(),
                        what: "trigger",
                        code: t.clone(),
                    });
                }
                prefixes.push(p);
            }
            let mut resolve_one = |written: &str| {
                let rc = resolve_code(written, term, &keyed);
                if rc.code.is_none() {
                    unresolved.push(Unresolved {
                        rule: rule.id.clone(),
                        what: "candidate",
                        code: written.to_string(),
                    });
                } else if rc.fallback {
                    fallbacks.push(Unresolved {
                        rule: rule.id.clone(),
                        what: "candidate",
                        code: written.to_string(),
                    });
                }
                rc
            };
            let groups = rule
                .groups
                .iter()
                .map(|g| ResolvedGroup {
                    label: g.label.clone(),
                    label_zh: g.label_zh.clone(),
                    kind: g.kind,
                    required: g.required,
                    basis: rule.group_basis(g),
                    site: g.site,
                    pick: g.pick,
                    codes: g.codes.iter().map(|c| resolve_one(c)).collect(),
                    cues: compile_all(&g.cues),
                    candidates: g
                        .candidates
                        .iter()
                        .map(|c| ResolvedCandidate {
                            code: resolve_one(&c.code),
                            cues: compile_all(&c.cues),
                            not_cues: compile_all(&c.not_cues),
                        })
                        .collect(),
                })
                .collect();
            rules.push(ResolvedRule {
                rule: rule.clone(),
                prefixes,
                trigger_codes,
                groups,
            });
        }
        ResolvedRules {
            rules,
            unresolved,
            fallbacks,
            table_label: term.label.clone(),
            table_fingerprint: term.fingerprint.clone(),
            origin: self.origin.clone(),
        }
    }
}

/// Cues were checked when the file was loaded; a failure here cannot happen
/// for a validated set and is skipped rather than fatal.
fn compile_all(cues: &[String]) -> Vec<Regex> {
    cues.iter().filter_map(|c| compile_cue(c).ok()).collect()
}

/// The table's spelling of a written code: the code itself in any spelling;
/// else, for an extension the table lacks, its base code (`stem` + `00`);
/// else the first plain code under the stem.
fn resolve_code(written: &str, term: &Terminology, keyed: &[(String, usize)]) -> ResolvedCode {
    let stem = code_stem(written).unwrap_or_else(|| written.to_ascii_uppercase());
    let hit = |e: &crate::terminology::CodeEntry, fallback| ResolvedCode {
        written: written.to_string(),
        stem: stem.clone(),
        code: Some(e.code.clone()),
        name: Some(e.name.clone()),
        fallback,
    };
    if let Some(e) = term.get(written) {
        return hit(e, false);
    }
    if let Some(e) = term.get(&stem) {
        return hit(e, true);
    }
    // A table with odd base spellings (`31.1x00`): the shortest code under the stem.
    let start = keyed.partition_point(|(k, _)| k.as_str() < stem.as_str());
    let best = keyed[start..]
        .iter()
        .take_while(|(k, _)| k.starts_with(stem.as_str()))
        .min_by_key(|(k, _)| (k.len(), k.clone()));
    if let Some((_, i)) = best {
        return hit(term.entry(*i), true);
    }
    ResolvedCode {
        written: written.to_string(),
        stem,
        code: None,
        name: None,
        fallback: false,
    }
}

/// Lookup from code family stems to the kinds of count groups, used when
/// judging redundancy.
pub(crate) fn count_families(rules: &ResolvedRules) -> HashMap<String, GroupKind> {
    let mut out = HashMap::new();
    for r in &rules.rules {
        for g in &r.groups {
            if g.kind.is_count() || g.kind == GroupKind::Bifurcation {
                for c in &g.codes {
                    out.insert(c.stem.clone(), g.kind);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn table(codes: &[(&str, &str)]) -> Terminology {
        Terminology::from_pairs(CodeSystem::Icd9Cm3, "test", codes)
    }

    #[test]
    fn triggers_and_candidates_resolve_to_table_spelling() {
        let t = table(&[
            ("36.0700", "药物洗脱冠状动脉支架置入"),
            ("36.0700x004", "经皮冠状动脉覆膜支架置入术"),
            ("36.0701", "冠状动脉生物可吸收支架置入术"),
            ("00.4000", "单根血管操作"),
            ("00.4300", "四根或更多根血管操作"),
            ("00.4500", "置入一根血管的支架"),
            ("31.1x00", "暂时性气管造口术"),
        ]);
        let set = RuleSet::from_toml_str(
            r#"
[[rules]]
id = "r"
triggers = ["36.07", "99.99"]
note_en = "e"
note_zh = "z"
  [[rules.groups]]
  label = "v"
  kind = "count_vessels"
  codes = ["00.40", "00.41", "00.42", "00.4301"]
  [[rules.groups]]
  label = "a"
  kind = "any_of"
  candidates = [{ code = "00.45", cues = ["x"] }, { code = "31.1", cues = ["y"] }]
"#,
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let r = set.resolve(&t);
        let rule = &r.rules[0];
        assert_eq!(rule.trigger_codes, ["36.0700", "36.0700x004", "36.0701"]);
        let v = &rule.groups[0];
        assert_eq!(v.codes[0].code.as_deref(), Some("00.4000"));
        assert_eq!(v.codes[1].code, None);
        // 00.4301 missing here: falls back to the 4-digit base.
        assert_eq!(v.codes[3].code.as_deref(), Some("00.4300"));
        assert!(v.codes[3].fallback);
        let a = &rule.groups[1];
        assert_eq!(a.candidates[0].code.code.as_deref(), Some("00.4500"));
        assert_eq!(a.candidates[1].code.code.as_deref(), Some("31.1x00"));
        let missing: Vec<_> = r
            .unresolved
            .iter()
            .map(|u| (u.what, u.code.as_str()))
            .collect();
        assert_eq!(
            missing,
            [
                ("trigger", "99.99"),
                ("candidate", "00.41"),
                ("candidate", "00.42")
            ]
        );
        assert_eq!(r.rules_for("36.07").len(), 1);
        assert_eq!(r.rules_for("36.0700X004").len(), 1);
        assert!(r.rules_for("36.06").is_empty());
        let s = r.summary();
        assert_eq!(
            (
                s.triggers,
                s.triggers_resolved,
                s.candidates,
                s.candidates_resolved
            ),
            (2, 1, 6, 4)
        );
    }
}

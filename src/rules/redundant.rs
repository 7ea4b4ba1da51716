//! Redundancy check for the Validation stage: which Code Also items of a
//! procedure list are not (or no longer) supported by the list itself.
//!
//! An item is reported when
//! - it is a Code Also item whose code is already listed earlier;
//! - it is a second code of a count family (two vessel counts, two stent
//!   counts): one is kept — a coder's item first, else the first non-rule
//!   item, else the first;
//! - it is a stent count with no stent procedure in the list (a PTCA alone
//!   places no stent), a vessel count with no procedure that counts vessels,
//!   or a bifurcation code with no procedure that asks for it;
//! - it is a Code Also item whose triggering rule no listed code fires
//!   (the coder removed the stent, the count stays behind).
//!
//! Items typed or changed by the coder (`Origin::Coder`) are never reported:
//! the coder has the last word. The Validation agent sees the reasons and
//! decides; this check only proposes.

use std::collections::HashMap;

use super::expand::{code_also_source, is_code_also_item};
use super::model::{code_stem, GroupKind};
use super::resolve::{count_families, ResolvedRules};
use crate::pipeline::{Item, Origin};
use crate::terminology::{normalize_code, CodeSystem};

/// One redundant item and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redundant {
    /// Index into the list given to [`redundant`].
    pub index: usize,
    pub reason: String,
}

/// Indices (ascending, each once) of the items Validation should drop, with
/// the reason for each.
pub fn redundant(items: &[Item], rules: &ResolvedRules) -> Vec<Redundant> {
    let families = count_families(rules);
    let family_of = |item: &Item| -> Option<GroupKind> {
        let stem = code_stem(item.code.as_deref()?)?;
        families.get(&stem).copied()
    };

    // Which kinds of Code Also the listed (non-family) procedures ask for.
    let mut asks_vessels = false;
    let mut asks_stents = false;
    let mut asks_bifurcation = false;
    for item in items {
        if family_of(item).is_some() {
            continue;
        }
        let Some(code) = item.code.as_deref() else {
            continue;
        };
        for rule in rules.rules_for(code) {
            for g in &rule.groups {
                match g.kind {
                    GroupKind::CountVessels => asks_vessels = true,
                    GroupKind::CountStents if g.required => asks_stents = true,
                    GroupKind::Bifurcation => asks_bifurcation = true,
                    _ => {}
                }
            }
        }
    }

    // The item kept in each count family.
    let mut keep: HashMap<GroupKind, usize> = HashMap::new();
    for rank in 0..3 {
        for (i, item) in items.iter().enumerate() {
            let Some(kind) = family_of(item) else {
                continue;
            };
            if !kind.is_count() || keep.contains_key(&kind) {
                continue;
            }
            let fits = match rank {
                0 => item.origin == Origin::Coder,
                1 => item.origin != Origin::Rule,
                _ => true,
            };
            if fits {
                keep.insert(kind, i);
            }
        }
    }

    let mut out = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let key = item
            .code
            .as_deref()
            .map(|c| normalize_code(CodeSystem::Icd9Cm3, c));
        let earlier = key.as_ref().and_then(|k| seen.get(k).copied());
        if let Some(k) = key {
            seen.entry(k).or_insert(i);
        }
        if item.origin == Origin::Coder {
            continue;
        }
        let code = item.code.as_deref().unwrap_or("");
        let reason = if let (Some(e), true) = (earlier, is_code_also_item(item)) {
            Some(format!("{code} is already listed as item {}", e + 1))
        } else if let Some(kind) = family_of(item) {
            match kind {
                GroupKind::CountStents if !asks_stents => Some(format!(
                    "{code} counts stents but no listed procedure places a stent"
                )),
                GroupKind::CountVessels if !asks_vessels => Some(format!(
                    "{code} counts vessels but no listed procedure asks for a vessel count"
                )),
                GroupKind::Bifurcation if !asks_bifurcation => Some(format!(
                    "{code} marks a bifurcation but no listed procedure asks for it"
                )),
                k if k.is_count() && keep.get(&k) != Some(&i) => {
                    let kept = keep[&k];
                    Some(format!(
                        "{code} is a second {} code; item {} ({}) is kept",
                        if k == GroupKind::CountStents {
                            "stent-count"
                        } else {
                            "vessel-count"
                        },
                        kept + 1,
                        items[kept].code.as_deref().unwrap_or("")
                    ))
                }
                _ => None,
            }
        } else {
            None
        };
        let reason = reason.or_else(|| {
            let (id, trigger) = code_also_source(item)?;
            let rule = rules.get(id)?;
            let fired = items
                .iter()
                .filter(|o| !is_code_also_item(o))
                .filter_map(|o| o.code.as_deref())
                .any(|c| rule.fires_for(c));
            (!fired).then(|| {
                format!("{code} was added for {trigger} by rule {id}, which no listed code fires any more")
            })
        });
        if let Some(reason) = reason {
            out.push(Redundant { index: i, reason });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use crate::terminology::Terminology;

    fn rules() -> ResolvedRules {
        // Names do not matter here: each code is its own name.
        let rows = [
            "36.0700",
            "00.4000",
            "00.4100",
            "00.4400",
            "00.4500",
            "00.4600",
            "00.6600",
            "00.6600x004",
        ]
        .map(|c| (c, c));
        let t = Terminology::from_pairs(CodeSystem::Icd9Cm3, "t", &rows);
        RuleSet::builtin().unwrap().resolve(&t)
    }

    fn rule_item(code: &str, src: &str) -> Item {
        Item::new(code, Origin::Rule)
            .with_code(code)
            .with_source(format!("code also: {src}"))
    }

    #[test]
    fn second_counts_and_orphans_are_reported() {
        let r = rules();
        let items = vec![
            Item::new("支架", Origin::Agent).with_code("36.0700"),
            rule_item("00.4000", "coronary-stent ← 36.0700"),
            rule_item("00.4100", "ptca ← 00.6600x004"),
            Item::new("支架数", Origin::Coder).with_code("00.4600"),
            rule_item("00.4500", "coronary-stent ← 36.0700"),
            rule_item("00.4000", "coronary-stent ← 36.0700"),
        ];
        let red = redundant(&items, &r);
        let idx: Vec<usize> = red.iter().map(|x| x.index).collect();
        assert_eq!(idx, [2, 4, 5], "{red:#?}");
        assert!(red[1].reason.contains("item 4"), "{}", red[1].reason);
        assert!(red[2].reason.contains("already listed"));
    }

    #[test]
    fn stent_counts_need_a_stent_procedure() {
        let r = rules();
        let items = vec![
            Item::new("PTCA", Origin::Agent).with_code("00.6600x004"),
            rule_item("00.4000", "ptca ← 00.6600x004"),
            rule_item("00.4500", "ptca ← 00.6600x004"),
            rule_item("00.4400", "ptca ← 00.6600x004"),
        ];
        let red = redundant(&items, &r);
        assert_eq!(red.iter().map(|x| x.index).collect::<Vec<_>>(), [2]);
        // The trigger removed: every Code Also item of it goes.
        let red = redundant(&items[1..], &r);
        assert_eq!(red.len(), 3, "{red:#?}");
    }
}

//! Builds the hierarchy above a table's rows.
//!
//! Each row's parent is the closest real row among the candidates its code
//! implies (`I10.x00x032` → `I10.x00`; `I21.401` → `I21.400`, `I21.4`;
//! `36.0701` → `36.0700`), and otherwise the structural level above it,
//! which is added as a synthetic node when the table lacks it:
//!
//! - ICD-10: code → category (`I10`) → block (`I10-I15`, when block names
//!   are known) → chapter (`IX`);
//! - ICD-9-CM-3: code → subcategory (`36.0`) → category (`36`) → chapter
//!   (`ch7`).
//!
//! Synthetic nodes are never assignable. A synthetic category or
//! subcategory takes its name from [`AncestorNames`] when known, else from
//! its `.x00` child (the code that spans an undivided category), else from
//! its first child.
//!
//! Output order: table order, each synthetic node placed just before the
//! first row below it.

use std::collections::{HashMap, HashSet};

use super::ancestors::{AncestorNames, Block};
use super::chapters::{chapter_of, Chapter};
use super::shape::{category_of, fine_parents, icd9_subcategory_of, kind_of};
use super::{normalize_code, CodeEntry, CodeKind, CodeSystem};

/// A validated row: the code's key is unique in the table.
#[derive(Debug, Clone)]
pub(crate) struct ValidRow {
    pub code: String,
    pub key: String,
    pub name: String,
    pub aliases: Vec<String>,
}

/// Which real rows may be assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AssignRule {
    /// Every row but morphology (国临/医保 list valid codes at every level).
    AllRows,
    /// Rows without children (WHO-style tables list headings too).
    Leaves,
}

pub(crate) struct Built {
    pub entries: Vec<CodeEntry>,
    pub synthetic: usize,
}

struct Builder<'a> {
    system: CodeSystem,
    names: &'a AncestorNames,
    real: HashSet<String>,
    /// Entries in output order, whether synthetic, and their keys.
    out: Vec<(CodeEntry, bool)>,
    keys: Vec<String>,
    emitted: HashSet<String>,
}

pub(crate) fn build(
    system: CodeSystem,
    rows: Vec<ValidRow>,
    names: &AncestorNames,
    rule: AssignRule,
) -> Built {
    let mut b = Builder {
        system,
        names,
        real: rows.iter().map(|r| r.key.clone()).collect(),
        out: Vec::with_capacity(rows.len() + rows.len() / 8),
        keys: Vec::with_capacity(rows.len() + rows.len() / 8),
        emitted: HashSet::new(),
    };
    for r in rows {
        let kind = kind_of(system, &r.key);
        let parent = b.parent_of(&r.key, kind);
        b.emitted.insert(r.key.clone());
        b.keys.push(r.key);
        b.out.push((
            CodeEntry {
                code: r.code,
                name: r.name,
                kind,
                aliases: r.aliases,
                assignable: kind != CodeKind::Morphology,
                parent,
            },
            false,
        ));
    }
    b.finish(rule)
}

impl Builder<'_> {
    fn key(&self, code: &str) -> String {
        normalize_code(self.system, code)
    }

    /// Parent key of a real row, creating synthetic ancestors as needed.
    fn parent_of(&mut self, key: &str, kind: CodeKind) -> Option<String> {
        if kind == CodeKind::Morphology {
            return None;
        }
        if let Some(p) = fine_parents(self.system, key)
            .into_iter()
            .find(|c| self.real.contains(c))
        {
            return Some(p);
        }
        let cat = category_of(self.system, key)?;
        match (self.system, kind) {
            (_, CodeKind::Category) => self.above_category(&cat),
            (CodeSystem::Icd9Cm3, CodeKind::Subcategory) => Some(self.ensure_category(&cat)),
            (CodeSystem::Icd9Cm3, _) => match icd9_subcategory_of(key) {
                Some(sub) => Some(self.ensure_subcategory(&sub, &cat)),
                None => Some(self.ensure_category(&cat)),
            },
            (CodeSystem::Icd10, _) => Some(self.ensure_category(&cat)),
        }
    }

    fn push_synthetic(&mut self, code: String, kind: CodeKind, parent: Option<String>) -> String {
        let key = self.key(&code);
        let (name, aliases) = match kind {
            CodeKind::Category | CodeKind::Subcategory => self
                .names
                .nodes
                .get(&key)
                .map(|n| (n.name.clone(), n.aliases.clone()))
                .unwrap_or_default(),
            _ => Default::default(),
        };
        self.emitted.insert(key.clone());
        self.keys.push(key.clone());
        self.out.push((
            CodeEntry {
                code,
                name,
                kind,
                aliases,
                assignable: false,
                parent,
            },
            true,
        ));
        key
    }

    fn ensure_category(&mut self, cat: &str) -> String {
        let key = self.key(cat);
        if self.real.contains(&key) || self.emitted.contains(&key) {
            return key;
        }
        let parent = self.above_category(cat);
        self.push_synthetic(cat.to_string(), CodeKind::Category, parent)
    }

    fn ensure_subcategory(&mut self, sub: &str, cat: &str) -> String {
        let key = self.key(sub);
        if self.real.contains(&key) || self.emitted.contains(&key) {
            return key;
        }
        let parent = Some(self.ensure_category(cat));
        self.push_synthetic(sub.to_string(), CodeKind::Subcategory, parent)
    }

    /// Block (ICD-10, when known) or chapter above a category.
    fn above_category(&mut self, cat: &str) -> Option<String> {
        let names = self.names;
        if self.system == CodeSystem::Icd10 {
            if let Some(block) = names.block_for(cat) {
                return Some(self.ensure_block(block));
            }
        }
        chapter_of(self.system, cat).map(|c| self.ensure_chapter(c))
    }

    fn ensure_block(&mut self, block: &Block) -> String {
        let key = self.key(&block.code());
        if self.emitted.contains(&key) {
            return key;
        }
        let names = self.names;
        let parent = match names.enclosing_block(block) {
            Some(outer) => Some(self.ensure_block(outer)),
            None => chapter_of(self.system, &block.first).map(|c| self.ensure_chapter(c)),
        };
        self.emitted.insert(key.clone());
        self.keys.push(key.clone());
        self.out.push((
            CodeEntry {
                code: block.code(),
                name: block.name.clone(),
                kind: CodeKind::Block,
                aliases: block.aliases.clone(),
                assignable: false,
                parent,
            },
            true,
        ));
        key
    }

    fn ensure_chapter(&mut self, c: &Chapter) -> String {
        let key = self.key(c.code);
        if self.emitted.contains(&key) {
            return key;
        }
        let (name, mut aliases) = match self.names.chapters.get(c.code) {
            Some(n) => (n.name.clone(), n.aliases.clone()),
            None => (c.title.to_string(), Vec::new()),
        };
        if !aliases.iter().any(|a| a == c.title_en) {
            aliases.push(c.title_en.to_string());
        }
        self.emitted.insert(key.clone());
        self.keys.push(key.clone());
        self.out.push((
            CodeEntry {
                code: c.code.to_string(),
                name,
                kind: CodeKind::Chapter,
                aliases,
                assignable: false,
                parent: None,
            },
            true,
        ));
        key
    }

    fn finish(mut self, rule: AssignRule) -> Built {
        let keys = std::mem::take(&mut self.keys);
        // children per parent key, in output order
        let mut children: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (e, _)) in self.out.iter().enumerate() {
            if let Some(p) = &e.parent {
                children.entry(p.clone()).or_default().push(i);
            }
        }
        // name unnamed synthetic nodes bottom-up: subcategories, then categories
        for level in [CodeKind::Subcategory, CodeKind::Category] {
            for i in 0..self.out.len() {
                let (e, synthetic) = &self.out[i];
                if !*synthetic || e.kind != level || !e.name.is_empty() {
                    continue;
                }
                let kids = children.get(&keys[i]).map(Vec::as_slice).unwrap_or(&[]);
                let pick = kids
                    .iter()
                    .find(|&&k| keys[k].ends_with(".X00") && !self.out[k].0.name.is_empty())
                    .or_else(|| kids.iter().find(|&&k| !self.out[k].0.name.is_empty()));
                if let Some(&k) = pick {
                    let name = self.out[k].0.name.clone();
                    self.out[i].0.name = name;
                }
            }
        }
        for ((e, synthetic), key) in self.out.iter_mut().zip(&keys) {
            if e.name.is_empty() {
                // a synthetic node whose children have no names either
                e.name = e.code.clone();
            }
            if !*synthetic && rule == AssignRule::Leaves && children.contains_key(key) {
                e.assignable = false;
            }
        }
        let synthetic = self.out.iter().filter(|(_, s)| *s).count();
        Built {
            entries: self.out.into_iter().map(|(e, _)| e).collect(),
            synthetic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminology::Terminology;

    fn rows(system: CodeSystem, rs: &[(&str, &str)]) -> Vec<ValidRow> {
        rs.iter()
            .map(|(c, n)| ValidRow {
                code: c.to_string(),
                key: normalize_code(system, c),
                name: n.to_string(),
                aliases: vec![],
            })
            .collect()
    }

    fn term(
        system: CodeSystem,
        rs: &[(&str, &str)],
        names: &AncestorNames,
        rule: AssignRule,
    ) -> Terminology {
        let b = build(system, rows(system, rs), names, rule);
        Terminology::from_entries(system, "t", "f", b.entries)
    }

    fn path(t: &Terminology, c: &str) -> Vec<String> {
        t.path(c).iter().map(|e| e.code.clone()).collect()
    }

    #[test]
    fn icd10_chain_with_blocks() {
        let names = AncestorNames {
            blocks: vec![Block {
                first: "I10".into(),
                last: "I15".into(),
                name: "高血压病".into(),
                aliases: vec![],
            }],
            ..Default::default()
        };
        let t = term(
            CodeSystem::Icd10,
            &[
                ("I10.x00", "特发性高血压"),
                ("I10.x00x032", "高血压3级"),
                ("I21.400", "急性心内膜下心肌梗死"),
                ("I21.401", "急性非ST段抬高型心肌梗死"),
                ("I21.900", "急性心肌梗死"),
                ("I25.103", "冠状动脉粥样硬化性心脏病"),
                ("E10.400x021†G63.2*", "1型糖尿病性周围神经病"),
            ],
            &names,
            AssignRule::AllRows,
        );
        assert_eq!(
            path(&t, "I10.x00x032"),
            ["IX", "I10-I15", "I10", "I10.x00", "I10.x00x032"]
        );
        assert_eq!(path(&t, "I21.401"), ["IX", "I21", "I21.400", "I21.401"]);
        assert_eq!(
            path(&t, "E10.400X021+G63.2"),
            ["IV", "E10", "E10.400x021†G63.2*"]
        );
        // synthetic category named after its .x00 child; not assignable
        assert_eq!(t.get("I10").unwrap().name, "特发性高血压");
        assert!(!t.is_assignable("I10") && !t.is_assignable("IX"));
        assert!(t.is_assignable("I21.400") && t.is_assignable("I21.401"));
        // I21 has no .x00 child: first child's name
        assert_eq!(t.get("I21").unwrap().name, "急性心内膜下心肌梗死");
        // output order: ancestors just before their first row
        let codes: Vec<&str> = t.entries().iter().map(|e| e.code.as_str()).collect();
        assert_eq!(
            &codes[..5],
            ["IX", "I10-I15", "I10", "I10.x00", "I10.x00x032"]
        );
    }

    #[test]
    fn icd9_chain_and_names() {
        let mut names = AncestorNames::default();
        names.nodes.insert(
            "36".into(),
            crate::terminology::ancestors::NodeName {
                name: "心脏血管手术".into(),
                aliases: vec![],
            },
        );
        let t = term(
            CodeSystem::Icd9Cm3,
            &[
                ("36.0700", "药物洗脱冠状动脉支架置入"),
                ("36.0700x004", "经皮冠状动脉药物洗脱支架置入术"),
                ("36.0701", "某种支架置入"),
                ("00.6600x004", "经皮冠状动脉球囊扩张成形术"),
            ],
            &names,
            AssignRule::AllRows,
        );
        assert_eq!(
            path(&t, "36.0700x004"),
            ["ch7", "36", "36.0", "36.0700", "36.0700x004"]
        );
        assert_eq!(
            path(&t, "36.0701"),
            ["ch7", "36", "36.0", "36.0700", "36.0701"]
        );
        assert_eq!(path(&t, "36.07"), ["ch7", "36", "36.0", "36.0700"]);
        assert_eq!(t.get("36").unwrap().name, "心脏血管手术");
        assert_eq!(t.get("36.0").unwrap().name, "药物洗脱冠状动脉支架置入");
        assert_eq!(t.get("00").unwrap().name, "经皮冠状动脉球囊扩张成形术");
    }

    #[test]
    fn leaves_rule_for_who_tables() {
        let t = term(
            CodeSystem::Icd10,
            &[
                ("A00", "霍乱"),
                ("A00.0", "古典霍乱"),
                ("A00.9", "霍乱,未特指"),
                ("B99", "其他传染病"),
            ],
            &AncestorNames::default(),
            AssignRule::Leaves,
        );
        assert!(!t.is_assignable("A00"));
        assert!(t.is_assignable("A00.0") && t.is_assignable("B99"));
        assert_eq!(path(&t, "A00.9"), ["I", "A00", "A00.9"]);
    }

    #[test]
    fn morphology_has_no_parent_and_is_not_assignable() {
        let t = term(
            CodeSystem::Icd10,
            &[("M80000/3", "恶性肿瘤")],
            &AncestorNames::default(),
            AssignRule::AllRows,
        );
        let e = t.get("M80000/3").unwrap();
        assert_eq!(
            (e.kind, e.assignable, e.parent.as_deref()),
            (CodeKind::Morphology, false, None)
        );
        assert_eq!(t.len(), 1);
    }
}

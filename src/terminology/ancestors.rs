//! Names for the nodes a table does not list itself: chapter titles,
//! ICD-10 blocks (`I10-I15 高血压病`), and categories / subcategories the
//! hierarchy builder has to add above a table's rows.
//!
//! The product needs none of this at run time (chapters are built in and a
//! missing category borrows a child's name), but better names come from:
//! - a chapters/blocks TSV: `first<TAB>last<TAB>level<TAB>name` (level 1 =
//!   chapter, 2+ = block), with or without a header row;
//! - a names TSV: `code<TAB>name` (categories, subcategories);
//! - another loaded table, e.g. the registry ICD-10 table from setup, whose
//!   blocks and categories carry Chinese names.

use std::collections::HashMap;
use std::path::Path;

use super::chapters::{chapter_of, chapters};
use super::decode::decode_text;
use super::raw::clean_field;
use super::shape::check_code;
use super::{normalize_code, CodeKind, CodeSystem, Terminology};
use crate::error::{Error, Location, Result};

/// An ICD-10 block: a range of categories under one heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// First category (`I10`).
    pub first: String,
    /// Last category (`I15`).
    pub last: String,
    pub name: String,
    pub aliases: Vec<String>,
}

impl Block {
    /// The block's code as the table writes it: `I10-I15`.
    pub fn code(&self) -> String {
        format!("{}-{}", self.first, self.last)
    }
    fn contains(&self, cat: &str) -> bool {
        self.first.as_str() <= cat && cat <= self.last.as_str()
    }
    fn width(&self) -> (u8, u32) {
        // letters differ across a few chapter-wide blocks (S00-T98): rank
        // by letter distance first, then by number
        let num = |s: &str| s.get(1..3).and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
        let l = |s: &str| s.as_bytes().first().copied().unwrap_or(b'A');
        (
            l(&self.last).saturating_sub(l(&self.first)),
            num(&self.last).abs_diff(num(&self.first)),
        )
    }
}

/// A name with its aliases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeName {
    pub name: String,
    pub aliases: Vec<String>,
}

/// Names for nodes above the rows of a table.
#[derive(Debug, Clone, Default)]
pub struct AncestorNames {
    /// Chapter titles replacing the built-in ones, by chapter code (`IX`).
    pub chapters: HashMap<String, NodeName>,
    /// ICD-10 blocks, any order.
    pub blocks: Vec<Block>,
    /// Category / subcategory names by normalized key (`I10`, `36.0`).
    pub nodes: HashMap<String, NodeName>,
}

fn is_category(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit()
}

fn read_text(path: &Path) -> Result<String> {
    let bytes =
        crate::limits::read_limited(path, crate::limits::MAX_TABLE_FILE_BYTES, "code table")?;
    Ok(decode_text(path, &bytes)?.text)
}

impl AncestorNames {
    /// True when no names are known.
    pub fn is_empty(&self) -> bool {
        self.chapters.is_empty() && self.blocks.is_empty() && self.nodes.is_empty()
    }

    /// Reads an ICD-10 chapters/blocks TSV; returns the rows used.
    pub fn load_chapters_blocks_tsv(&mut self, path: &Path) -> Result<usize> {
        let text = read_text(path)?;
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split('\t').map(str::trim).collect();
            if f.iter().all(|s| s.is_empty()) {
                continue;
            }
            let bad = |msg: &str| {
                Error::invalid(
                    Location::file(path).record(format!("line {}", i + 1)),
                    msg.to_string(),
                )
            };
            if f.len() < 4 {
                if i == 0 {
                    continue;
                }
                return Err(bad("expected first<TAB>last<TAB>level<TAB>name"));
            }
            let (first, last) = (f[0].to_ascii_uppercase(), f[1].to_ascii_uppercase());
            if !is_category(&first) || !is_category(&last) {
                if i == 0 {
                    continue; // header
                }
                return Err(bad("range bounds must be 3-character categories like I10"));
            }
            let Ok(level) = f[2].parse::<u32>() else {
                return Err(bad("level must be a number (1 = chapter, 2 = block)"));
            };
            let name = clean_field(f[3]);
            if name.is_empty() {
                return Err(bad("blank name"));
            }
            if level <= 1 {
                if let Some(c) = chapter_of(CodeSystem::Icd10, &first) {
                    self.chapters.insert(
                        c.code.to_string(),
                        NodeName {
                            name,
                            aliases: Vec::new(),
                        },
                    );
                }
            } else {
                self.blocks.push(Block {
                    first,
                    last,
                    name,
                    aliases: Vec::new(),
                });
            }
            n += 1;
        }
        Ok(n)
    }

    /// Reads a `code<TAB>name` file of category / subcategory names.
    pub fn load_names_tsv(&mut self, path: &Path, system: CodeSystem) -> Result<usize> {
        let text = read_text(path)?;
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let mut f = line.splitn(2, '\t');
            let code = f.next().unwrap_or("").trim();
            let name = clean_field(f.next().unwrap_or(""));
            if code.is_empty() && name.is_empty() {
                continue;
            }
            if check_code(system, code).is_err() {
                if i == 0 {
                    continue; // header
                }
                return Err(Error::invalid(
                    Location::file(path)
                        .record(format!("line {}", i + 1))
                        .field("code"),
                    format!("'{code}' is not a code"),
                ));
            }
            if name.is_empty() {
                continue;
            }
            self.nodes.insert(
                normalize_code(system, code),
                NodeName {
                    name,
                    aliases: Vec::new(),
                },
            );
            n += 1;
        }
        Ok(n)
    }

    /// Takes chapter, block, category and subcategory names from a loaded
    /// table (for example the registry table made at setup).
    pub fn from_terminology(term: &Terminology) -> Self {
        let mut a = AncestorNames::default();
        let builtin: Vec<&str> = chapters(term.system).iter().map(|c| c.code).collect();
        for e in term.entries() {
            let nn = NodeName {
                name: e.name.clone(),
                aliases: e.aliases.clone(),
            };
            match e.kind {
                CodeKind::Chapter if builtin.contains(&e.code.as_str()) => {
                    a.chapters.insert(e.code.clone(), nn);
                }
                CodeKind::Block => {
                    if let Some((f, l)) = e.code.split_once('-') {
                        if is_category(f) && is_category(l) {
                            a.blocks.push(Block {
                                first: f.into(),
                                last: l.into(),
                                name: nn.name,
                                aliases: nn.aliases,
                            });
                        }
                    }
                }
                CodeKind::Category | CodeKind::Subcategory => {
                    a.nodes.insert(normalize_code(term.system, &e.code), nn);
                }
                _ => {}
            }
        }
        a
    }

    /// Adds what `other` knows and `self` does not.
    pub fn merge(&mut self, other: AncestorNames) {
        for (k, v) in other.chapters {
            self.chapters.entry(k).or_insert(v);
        }
        for b in other.blocks {
            if !self
                .blocks
                .iter()
                .any(|x| x.first == b.first && x.last == b.last)
            {
                self.blocks.push(b);
            }
        }
        for (k, v) in other.nodes {
            self.nodes.entry(k).or_insert(v);
        }
    }

    /// The narrowest block holding a category.
    pub fn block_for(&self, category: &str) -> Option<&Block> {
        self.blocks
            .iter()
            .filter(|b| b.contains(category))
            .min_by_key(|b| b.width())
    }

    /// The narrowest other block enclosing `block` (nested blocks such as
    /// C00-C97 around C00-C14), if any.
    pub fn enclosing_block(&self, block: &Block) -> Option<&Block> {
        self.blocks
            .iter()
            .filter(|b| {
                b.contains(&block.first)
                    && b.contains(&block.last)
                    && (b.first != block.first || b.last != block.last)
            })
            .min_by_key(|b| b.width())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_blocks() {
        let b = |f: &str, l: &str| Block {
            first: f.into(),
            last: l.into(),
            name: format!("{f}-{l}"),
            aliases: vec![],
        };
        let a = AncestorNames {
            blocks: vec![b("C00", "C97"), b("C00", "C14"), b("I10", "I15")],
            ..Default::default()
        };
        assert_eq!(a.block_for("C01").unwrap().code(), "C00-C14");
        assert_eq!(a.block_for("C50").unwrap().code(), "C00-C97");
        assert_eq!(a.block_for("I10").unwrap().code(), "I10-I15");
        assert!(a.block_for("J00").is_none());
        let inner = a.block_for("C01").unwrap();
        assert_eq!(a.enclosing_block(inner).unwrap().code(), "C00-C97");
        assert!(a.enclosing_block(a.block_for("I11").unwrap()).is_none());
    }
}

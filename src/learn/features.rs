//! Features of a record for the learned models.
//!
//! Every feature is a string (`ng:dx:冠心`, `t:hx:I10.x00x032`, …) turned
//! into an id by the model's vocabulary, so a model file is readable and
//! features unseen in training are simply dropped. Families:
//!
//! - `ng:<group>:<gram>` character n-grams of a group of sections;
//! - `w:<group>:<word>` jieba words of a group of sections;
//! - `t:<group>:<code>` a table name found in the group's text, not negated
//!   (`tn:` when negated: 否认高血压 is evidence *against* I10);
//! - `kw:<term>` a term of the training set's keyword vocabulary found in
//!   the text (bridges keyword-extracted training records and full text);
//! - `cue:<name>` a clinical cue phrase (troponin raised, no stenosis on
//!   angiography, NYHA grade …), negation-aware.
//!
//! Sections are put in groups by name so that records from different
//! exports (JointCoder, CCL25, keyword extractions) line up.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::linear::SparseVec;
use crate::pipeline::stages::evidence::is_negated;
use crate::pipeline::stages::lexicon::Lexicon;
use crate::record::Record;
use crate::terminology::Terminology;

/// Which group a section belongs to.
pub fn group_of(section: &str) -> &'static str {
    let s = section;
    if s.starts_with("抽取后") {
        return "kw";
    }
    if s.contains("诊断") && !s.contains("编码") {
        return "dx";
    }
    if s.contains("手术名称") || s.contains("手术及操作") || s.contains("手术操作名称")
    {
        return "px";
    }
    if s.contains("主诉") || s.contains("现病史") {
        return "cc";
    }
    if s.contains("既往") || s.contains("个人史") || s.contains("家族史") || s.contains("婚姻")
    {
        return "hx";
    }
    "course"
}

/// Which families a model uses, and their parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Groups whose character n-grams are features.
    pub ngram_groups: Vec<String>,
    /// Smallest and largest n of the n-grams.
    pub ngram_min: usize,
    pub ngram_max: usize,
    /// Groups whose jieba words are features.
    pub word_groups: Vec<String>,
    /// Table names found in the text, negation-aware, per group.
    pub table_names: bool,
    /// Clinical cue phrases.
    pub cues: bool,
    /// Keyword vocabulary matched in the text (filled from training records
    /// that are keyword extractions).
    pub keywords: bool,
    /// Features seen in fewer training records are dropped.
    pub min_df: u32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            ngram_groups: vec!["dx".into(), "px".into()],
            ngram_min: 1,
            ngram_max: 3,
            // jieba words of the treatment course (findings, results):
            // +0.03 on CCL25 5-fold CV; of the history sections, nothing.
            word_groups: vec!["course".into()],
            table_names: true,
            cues: true,
            keywords: true,
            min_df: 2,
        }
    }
}

/// A clinical cue: a named pattern.
struct Cue {
    name: &'static str,
    re: Regex,
}

/// Cue phrases whose presence decides between neighbouring codes and that
/// a bag of n-grams misses: the angiography result, troponin, heart
/// function grade, hypertension grade and risk.
fn cues() -> &'static [Cue] {
    static CUES: OnceLock<Vec<Cue>> = OnceLock::new();
    CUES.get_or_init(|| {
        let table: &[(&str, &str)] = &[
            ("troponin_up", r"(肌钙蛋白|TnI|TnT|cTn|hs-?TnT|hs-?cTnI)[^。；;]{0,30}(升高|增高|阳性|↑|偏高|异常)"),
            ("troponin_value", r"(肌钙蛋白|TnI|TnT|cTn)[^。；;]{0,12}\d"),
            ("cag_no_stenosis", r"(未见|无)[^。；;]{0,10}(明显|显著|有意义)?[^。；;]{0,4}狭窄"),
            ("cag_stenosis", r"狭窄[^。；;]{0,8}(\d{2}|[5-9]0)\s*%"),
            ("stent", r"(植入|置入)[^。；;]{0,16}支架"),
            ("cag", r"(冠脉造影|冠状动脉造影|CAG)"),
            ("nyha_2", r"(心功能|NYHA)[^。；;]{0,6}(II|Ⅱ|2)级"),
            ("nyha_3", r"(心功能|NYHA)[^。；;]{0,6}(III|Ⅲ|3)级"),
            ("nyha_4", r"(心功能|NYHA)[^。；;]{0,6}(IV|Ⅳ|4)级"),
            ("bnp_up", r"(BNP|脑钠肽|利钠肽)[^。；;]{0,24}(升高|增高|↑|\d{3,})"),
            ("htn_3", r"高血压[^。；;]{0,4}(3|三|Ⅲ|III)级"),
            ("htn_2", r"高血压[^。；;]{0,4}(2|二|Ⅱ|II)级"),
            ("htn_1", r"高血压[^。；;]{0,4}(1|一|Ⅰ|I)级"),
            ("risk_very_high", r"(很高危|极高危)"),
            ("risk_high", r"[^很极]高危"),
            ("st_elevation", r"ST段[^。；;]{0,6}抬高"),
            ("st_depression", r"ST段[^。；;]{0,6}(压低|下移)"),
            ("lvef", r"(EF|射血分数)[^。；;\d]{0,6}(\d{2})"),
        ];
        table
            .iter()
            .map(|(name, re)| Cue {
                name,
                re: Regex::new(re).expect("cue patterns are valid (tested)"),
            })
            .collect()
    })
}

/// The fixed parts feature extraction reads: the diagnosis and procedure
/// lexicons (table names) and the jieba dictionary.
pub struct Extractor<'a> {
    pub diagnoses: &'a Lexicon,
    pub diag_table: &'a Terminology,
    pub procedures: &'a Lexicon,
    pub proc_table: &'a Terminology,
}

fn jieba() -> &'static jieba_rs::Jieba {
    static J: OnceLock<jieba_rs::Jieba> = OnceLock::new();
    J.get_or_init(jieba_rs::Jieba::new)
}

/// Text of a record grouped as the features see it: group → text.
fn grouped(record: &Record) -> Vec<(&'static str, &str)> {
    record
        .sections
        .iter()
        .filter(|s| !s.text.trim().is_empty())
        .map(|s| (group_of(&s.name), s.text.as_str()))
        .collect()
}

fn is_word_char(c: char) -> bool {
    crate::text::is_cjk(c) || c.is_alphanumeric()
}

impl Extractor<'_> {
    /// The feature names of a record (a set: presence, not counts).
    pub fn names(
        &self,
        config: &FeatureConfig,
        keywords: &KeywordVocab,
        record: &Record,
    ) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let groups = grouped(record);
        for (g, text) in &groups {
            if config.ngram_groups.iter().any(|x| x == g) {
                let chars: Vec<char> = text.chars().filter(|c| is_word_char(*c)).collect();
                for n in config.ngram_min..=config.ngram_max {
                    for w in chars.windows(n) {
                        out.insert(format!("ng:{g}:{}", w.iter().collect::<String>()));
                    }
                }
            }
            if config.word_groups.iter().any(|x| x == g) {
                for w in jieba().cut(text, true) {
                    let w = w.word.trim();
                    if w.chars().count() >= 2 && w.chars().all(is_word_char) {
                        out.insert(format!("w:{g}:{w}"));
                    }
                }
            }
            if config.table_names {
                for (prefix, lex, term) in [
                    ("t", self.diagnoses, self.diag_table),
                    ("tp", self.procedures, self.proc_table),
                ] {
                    let byte_of: Vec<usize> = text
                        .char_indices()
                        .map(|(b, _)| b)
                        .chain([text.len()])
                        .collect();
                    for h in lex.scan(text) {
                        let code = &term.entry(h.entry).code;
                        let neg = is_negated(text, byte_of[h.start]);
                        let p = if neg {
                            format!("{prefix}n")
                        } else {
                            prefix.into()
                        };
                        out.insert(format!("{p}:{g}:{code}"));
                        out.insert(format!("{p}:{code}"));
                        out.insert(format!("{p}3:{}", code.chars().take(3).collect::<String>()));
                    }
                }
            }
            if config.cues {
                for cue in cues() {
                    for m in cue.re.find_iter(text) {
                        let neg = is_negated(text, m.start());
                        let name = if neg {
                            format!("cue:not_{}", cue.name)
                        } else {
                            format!("cue:{}", cue.name)
                        };
                        out.insert(format!("{name}@{g}"));
                        out.insert(name);
                    }
                }
            }
        }
        if config.keywords && !keywords.is_empty() {
            let all: String = groups
                .iter()
                .map(|(_, t)| *t)
                .collect::<Vec<_>>()
                .join("\n");
            for term in keywords.found_in(&all) {
                out.insert(format!("kw:{term}"));
            }
        }
        out
    }
}

/// Terms of keyword-extracted training records (`疾病：a，b` lines), looked
/// for as substrings of any record's text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeywordVocab {
    pub terms: Vec<String>,
    /// Every term at once, built on first use.
    #[serde(skip)]
    finder: OnceLock<Option<aho_corasick::AhoCorasick>>,
}

impl PartialEq for KeywordVocab {
    fn eq(&self, other: &Self) -> bool {
        self.terms == other.terms
    }
}

impl KeywordVocab {
    /// Collects terms of at least two characters seen in at least `min_df`
    /// keyword sections.
    pub fn learn(records: &[&Record], min_df: u32) -> KeywordVocab {
        let mut df: HashMap<String, u32> = HashMap::new();
        for r in records {
            let mut seen = BTreeSet::new();
            for s in r.sections.iter().filter(|s| group_of(&s.name) == "kw") {
                for line in s.text.lines() {
                    let body = line.split_once('：').map(|(_, b)| b).unwrap_or(line);
                    for t in body.split(['，', ',', '、', '；', ';']) {
                        let t = t.trim();
                        let n = t.chars().count();
                        if (2..=16).contains(&n) {
                            seen.insert(t.to_string());
                        }
                    }
                }
            }
            for t in seen {
                *df.entry(t).or_default() += 1;
            }
        }
        let mut terms: Vec<String> = df
            .into_iter()
            .filter(|(_, d)| *d >= min_df)
            .map(|(t, _)| t)
            .collect();
        terms.sort();
        KeywordVocab {
            terms,
            finder: OnceLock::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The terms that occur in the text (each once, overlaps included).
    pub fn found_in(&self, text: &str) -> Vec<&str> {
        let Some(ac) = self
            .finder
            .get_or_init(|| aho_corasick::AhoCorasick::new(&self.terms).ok())
        else {
            return Vec::new();
        };
        let ids: BTreeSet<usize> = ac
            .find_overlapping_iter(text)
            .map(|m| m.pattern().as_usize())
            .collect();
        ids.into_iter().map(|i| self.terms[i].as_str()).collect()
    }
}

/// Feature name → id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vocabulary {
    pub names: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

impl Vocabulary {
    /// Keeps names seen in at least `min_df` of the documents.
    pub fn build(docs: &[BTreeSet<String>], min_df: u32) -> Vocabulary {
        let mut df: HashMap<&str, u32> = HashMap::new();
        for d in docs {
            for n in d {
                *df.entry(n.as_str()).or_default() += 1;
            }
        }
        let mut names: Vec<&str> = df
            .iter()
            .filter(|(_, &c)| c >= min_df)
            .map(|(n, _)| *n)
            .collect();
        names.sort_unstable();
        let mut v = Vocabulary {
            names: names.into_iter().map(String::from).collect(),
            index: HashMap::new(),
        };
        v.reindex();
        v
    }

    /// Rebuilds the lookup after deserializing.
    pub fn reindex(&mut self) {
        self.index = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// The binary vector of a document's feature names (presence 1.0;
    /// measured better than unit-length TF-IDF for these models).
    pub fn vectorize(&self, doc: &BTreeSet<String>) -> SparseVec {
        let mut v: SparseVec = doc
            .iter()
            .filter_map(|n| self.index.get(n).map(|&i| (i, 1.0)))
            .collect();
        v.sort_unstable_by_key(|x| x.0);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cue_patterns_compile_and_fire() {
        let names: Vec<&str> = cues().iter().map(|c| c.name).collect();
        assert!(names.contains(&"troponin_up"));
        let find = |name: &str, text: &str| {
            cues()
                .iter()
                .find(|c| c.name == name)
                .unwrap()
                .re
                .is_match(text)
        };
        assert!(find("troponin_up", "肌钙蛋白I 0.52ng/ml，明显升高"));
        assert!(!find("troponin_up", "肌钙蛋白正常"));
        assert!(find("cag_no_stenosis", "冠脉造影示：各支未见明显狭窄"));
        assert!(find("nyha_3", "心功能III级"));
        assert!(find("htn_3", "高血压病3级（很高危）"));
    }

    #[test]
    fn groups_line_up_across_exports() {
        assert_eq!(group_of("出院诊断"), "dx");
        assert_eq!(group_of("入院诊断"), "dx");
        assert_eq!(group_of("手术名称"), "px");
        assert_eq!(group_of("抽取后主要诊断病例文本"), "kw");
        assert_eq!(group_of("现病史"), "cc");
        assert_eq!(group_of("既往史"), "hx");
        assert_eq!(group_of("诊疗经过"), "course");
    }

    #[test]
    fn vocabulary_drops_rare_names() {
        let doc = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let docs = vec![doc(&["a", "b"]), doc(&["a", "c"]), doc(&["a", "b"])];
        let v = Vocabulary::build(&docs, 2);
        assert_eq!(v.names, ["a", "b"]);
        assert_eq!(
            v.vectorize(&doc(&["b", "zzz", "a"])),
            vec![(0, 1.0), (1, 1.0)]
        );
    }

    #[test]
    fn keyword_vocab_reads_extraction_lines() {
        let r = Record::new("k").with_section(
            "抽取后主要诊断病例文本",
            "疾病：高血压病，冠心病\n症状：胸闷",
        );
        let r2 = Record::new("k2").with_section("抽取后其他诊断病例文本", "疾病：冠心病，糖尿病");
        let v = KeywordVocab::learn(&[&r, &r2], 1);
        assert!(v.terms.contains(&"冠心病".to_string()));
        assert!(v.terms.contains(&"胸闷".to_string()));
        assert_eq!(v.found_in("患者冠心病10年"), ["冠心病"]);
        // overlapping terms are all found
        let v = KeywordVocab::learn(&[&r, &r2], 1);
        assert!(v.found_in("高血压病").contains(&"高血压病"));
    }
}

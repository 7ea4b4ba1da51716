//! Entry points for fuzzing the parsers with untrusted bytes.
//!
//! Each [`Target`] feeds one input to one importer the way a coder's file
//! would reach it: most importers read a path, so the bytes are written to a
//! scratch file with the extension that routes them, then loaded. Errors are
//! the expected outcome for most inputs and are dropped; what a target looks
//! for is a panic, a hang or an allocation out of proportion to the input.
//!
//! The cargo-fuzz crate in `fuzz/` has one fuzz target per [`Target`], each a
//! call to [`feed`]; `tests/fuzz_corpus.rs` replays the committed corpora
//! (`fuzz/corpus/<target>/`) through the same function with the stable
//! toolchain, so every crash the fuzzer found stays a regression test.

use std::path::{Path, PathBuf};

use crate::llm::Completion;
use crate::record;
use crate::session::SessionStore;
use crate::terminology::{self, gnuhealth, CodeSystem, LoadOptions};

/// One parser under fuzzing; the name is the fuzz target's and the corpus
/// folder's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A plain-text record (`.txt`) through [`record::load`].
    RecordText,
    /// A CCL25 or project JSON array (`.json`).
    RecordJson,
    /// Project JSON Lines (`.jsonl`).
    RecordJsonl,
    /// A JointCoder workbook (`.xlsx`).
    RecordXlsx,
    /// JSON / JSON Lines read one record at a time ([`record::stream`]);
    /// the first byte's low bit picks the extension.
    RecordStream,
    /// Encoding detection (UTF-8/16, GBK/GB18030), format detection and the
    /// plain-text section parser on the decoded text.
    RecordEncoding,
    /// A `code name` table (`.dat`), read as ICD-10 and as ICD-9-CM-3.
    TableDat,
    /// A CSV table.
    TableCsv,
    /// A TSV table.
    TableTsv,
    /// A spreadsheet table (`.xlsx`).
    TableXlsx,
    /// The product TSV (`# icdflow table v1`).
    TableProduct,
    /// A delta file applied to a small fixed `.dat` table.
    TableDelta,
    /// GNU Health module data XML (ICD-10 diseases and ICD-9 procedures).
    GnuhealthXml,
    /// A GNU Health `.po` translation catalogue.
    GnuhealthPo,
    /// The GGUF header check run before llama.cpp opens a model.
    Gguf,
    /// A saved session file through [`SessionStore::load`] and an audit log.
    Session,
    /// The agents' answer parser ([`crate::agents::answer`]).
    AgentAnswer,
}

impl Target {
    pub const ALL: [Target; 17] = [
        Target::RecordText,
        Target::RecordJson,
        Target::RecordJsonl,
        Target::RecordXlsx,
        Target::RecordStream,
        Target::RecordEncoding,
        Target::TableDat,
        Target::TableCsv,
        Target::TableTsv,
        Target::TableXlsx,
        Target::TableProduct,
        Target::TableDelta,
        Target::GnuhealthXml,
        Target::GnuhealthPo,
        Target::Gguf,
        Target::Session,
        Target::AgentAnswer,
    ];

    /// The fuzz target's name (`fuzz/fuzz_targets/<name>.rs`).
    pub fn name(self) -> &'static str {
        match self {
            Target::RecordText => "record_text",
            Target::RecordJson => "record_json",
            Target::RecordJsonl => "record_jsonl",
            Target::RecordXlsx => "record_xlsx",
            Target::RecordStream => "record_stream",
            Target::RecordEncoding => "record_encoding",
            Target::TableDat => "table_dat",
            Target::TableCsv => "table_csv",
            Target::TableTsv => "table_tsv",
            Target::TableXlsx => "table_xlsx",
            Target::TableProduct => "table_product",
            Target::TableDelta => "table_delta",
            Target::GnuhealthXml => "gnuhealth_xml",
            Target::GnuhealthPo => "gnuhealth_po",
            Target::Gguf => "gguf",
            Target::Session => "session",
            Target::AgentAnswer => "agent_answer",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// This process's folder of scratch files.
fn scratch_root() -> PathBuf {
    std::env::temp_dir().join(format!("icdflow-fuzz-{}", std::process::id()))
}

/// Removes this process's scratch files (a fuzzer leaves them; a test that
/// replays inputs calls this at its end).
pub fn remove_scratch() {
    let _ = std::fs::remove_dir_all(scratch_root());
}

/// A folder of this process for the scratch files (one per thread, so that
/// parallel callers do not overwrite each other's input).
fn scratch() -> PathBuf {
    let root = scratch_root();
    let dir = root.join(format!("{:?}", std::thread::current().id()).replace(['(', ')'], ""));
    std::fs::create_dir_all(&dir).expect("create the fuzz scratch folder");
    dir
}

fn put(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create a scratch folder");
    }
    std::fs::write(&path, data).expect("write a scratch file");
    path
}

/// Feeds one input to one target. Returns normally for every input the
/// parser handles (with or without an error); a panic is a finding.
pub fn feed(target: Target, data: &[u8]) {
    let dir = scratch();
    match target {
        Target::RecordText => load_record(&put(&dir, "r.txt", data)),
        Target::RecordJson => load_record(&put(&dir, "r.json", data)),
        Target::RecordJsonl => load_record(&put(&dir, "r.jsonl", data)),
        Target::RecordXlsx => load_record(&put(&dir, "r.xlsx", data)),
        Target::RecordStream => {
            let name = if data.first().is_some_and(|b| b & 1 == 1) {
                "s.jsonl"
            } else {
                "s.json"
            };
            let path = put(&dir, name, data);
            for item in record::stream::open_many(&[path]) {
                drop(item);
            }
        }
        Target::RecordEncoding => {
            let _ = record::detect_format(Path::new("x"), data);
            let _ = record::detect_format(Path::new("x.json"), data);
            if let Ok(d) = record::decode_bytes(data) {
                let _ = record::plain::parse_text(&d.text, "x");
            }
        }
        Target::TableDat => load_tables(&put(&dir, "t.dat", data)),
        Target::TableCsv => load_tables(&put(&dir, "t.csv", data)),
        Target::TableTsv => load_tables(&put(&dir, "t.tsv", data)),
        Target::TableXlsx => load_tables(&put(&dir, "t.xlsx", data)),
        Target::TableProduct => {
            let path = put(&dir, "p.tsv", data);
            let _ = terminology::read_product_table(&path);
            load_tables(&path);
        }
        Target::TableDelta => {
            let base = put(
                &dir,
                "base.dat",
                "A00 霍乱\nA00.0 古典生物型霍乱\nA00.900 霍乱\nB95.100 B族链球菌\n".as_bytes(),
            );
            let delta = put(&dir, "d.dat", data);
            let _ = terminology::dat::read_delta(&delta);
            let opts = LoadOptions {
                deltas: vec![delta],
                ..Default::default()
            };
            let _ = terminology::load_table_with(&base, CodeSystem::Icd10, &opts);
        }
        Target::GnuhealthXml => {
            let po = "msgctxt \"model:gnuhealth.procedure,description:p1\"\nmsgid \"Cholera\"\nmsgstr \"霍乱\"\n";
            let icd9 = dir.join("gh9").join(gnuhealth::ICD9_MODULE);
            put(&icd9, "locale/zh_CN.po", po.as_bytes());
            put(&icd9, "data/icd9procs.xml", data);
            let _ = gnuhealth::load_icd9procs(&icd9);
            let icd10 = dir.join("gh10").join(gnuhealth::ICD10_MODULE);
            put(&icd10, "locale/zh_CN.po", po.as_bytes());
            put(&icd10, "data/diseases.xml", data);
            put(&icd10, "data/disease_categories.xml", data);
            let _ = gnuhealth::load_icd10(&icd10);
        }
        Target::GnuhealthPo => {
            let cat = gnuhealth::PoCatalog::parse(&String::from_utf8_lossy(data));
            let _ = (cat.len(), cat.get("", "Cholera"));
        }
        Target::Gguf => {
            let _ = crate::llm::gguf::inspect(&put(&dir, "m.gguf", data));
        }
        Target::Session => {
            let store = SessionStore::open(dir.join("sessions")).expect("open the session store");
            put(store.dir(), "audit.jsonl", data);
            let _ = store.audit();
            std::fs::write(store.path_for("r"), data).expect("write the session file");
            let _ = store.load("r");
        }
        Target::AgentAnswer => {
            let raw = String::from_utf8_lossy(data);
            // Tokens of 1–4 characters, as a model would produce them.
            let mut tokens = Vec::new();
            let mut cur = String::new();
            for (i, c) in raw.chars().enumerate() {
                cur.push(c);
                if i % 3 == 2 {
                    tokens.push(std::mem::take(&mut cur));
                }
            }
            tokens.push(cur);
            let c = Completion {
                text: raw.to_string(),
                token_probs: (0..tokens.len()).map(|i| 1.0 / (i as f32 + 1.0)).collect(),
                tokens,
                ..Default::default()
            };
            for key in ["codes", "code", "choice", "answer", "keep", "order"] {
                for (_, r) in crate::agents::answer::array_values(&raw, key).unwrap_or_default() {
                    let _ = crate::agents::answer::span_prob(&c, &r);
                }
                if let Some((_, r)) = crate::agents::answer::string_value(&raw, key) {
                    let _ = crate::agents::answer::span_prob(&c, &r);
                }
                if let Some((_, r)) = crate::agents::answer::int_value(&raw, key) {
                    let _ = crate::agents::answer::span_prob(&c, &r);
                }
            }
        }
    }
}

fn load_record(path: &Path) {
    let _ = record::load(path);
}

fn load_tables(path: &Path) {
    for system in [CodeSystem::Icd10, CodeSystem::Icd9Cm3] {
        let _ = terminology::load_table(path, system);
    }
}

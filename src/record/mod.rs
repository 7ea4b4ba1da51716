//! The inpatient record model and its importers.
//!
//! A [`Record`] is an id plus ordered named sections (主诉, 现病史, 出院诊断,
//! 手术名称, 手术经过, …) and, when the source has them, gold codes per track
//! with the principal code first.

//!
//! Importers, one module per format, all ending in the same checks
//! ([`collect`]): JointCoder's wide xlsx ([`jointcoder`]), CCL25 JSON
//! ([`ccl25`]), the project's own schema as JSON Lines or a JSON array
//! ([`jsonl`], which documents the schema), plain text with section headings
//! ([`plain`]) and PDF, with OCR for scanned pages ([`pdf`]). [`load`] detects the format of a file and reads it;
//! [`load_many`] reads a batch. Files are decoded by [`encoding`].

use serde::{Deserialize, Serialize};

pub mod ccl25;
pub mod codes;
pub mod collect;
pub mod encoding;
pub mod jointcoder;
mod json;
pub mod jsonl;
mod load;
pub mod pdf;
pub mod plain;
pub mod stream;

pub use ccl25::{
    ID_FIELD as CCL25_ID_FIELD, OTHERS_FIELD as CCL25_OTHERS_FIELD,
    PRINCIPAL_FIELD as CCL25_PRINCIPAL_FIELD,
};
pub use collect::MAX_SECTION_BYTES;
pub use encoding::{decode_bytes, read_text_file};
pub use jointcoder::ID_HEADERS as JOINTCODER_ID_HEADERS;
pub use load::{detect_format, load, load_many, LoadReport, RecordFormat};

/// Which coding track: ICD-10 diagnoses or ICD-9-CM-3 procedures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Track {
    Diagnosis,
    Procedure,
}

impl Track {
    pub const ALL: [Track; 2] = [Track::Diagnosis, Track::Procedure];

    pub fn label(self) -> &'static str {
        match self {
            Track::Diagnosis => "diagnosis",
            Track::Procedure => "procedure",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Track::Diagnosis => "诊断",
            Track::Procedure => "手术",
        }
    }
}

/// One named section of a record, in the order the source gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub name: String,
    pub text: String,
}

/// A gold code with the name the source gives for it, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoldCode {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Gold codes per track; the principal code is first. `None` means the
/// source has no gold for that track (CCL25 has no procedures).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gold {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnoses: Option<Vec<GoldCode>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedures: Option<Vec<GoldCode>>,
}

impl Gold {
    pub fn track(&self, track: Track) -> Option<&[GoldCode]> {
        match track {
            Track::Diagnosis => self.diagnoses.as_deref(),
            Track::Procedure => self.procedures.as_deref(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.diagnoses.is_none() && self.procedures.is_none()
    }
}

/// A de-identified inpatient record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub sections: Vec<Section>,
    #[serde(default, skip_serializing_if = "Gold::is_empty")]
    pub gold: Gold,
    /// The pages of the source document, for a record read from a PDF
    /// ([`pdf`]); empty for every other format.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<Page>,
}

/// One page of a PDF record: its text as read, and for a page without a
/// text layer what OCR made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// 1-based page number in the file.
    pub number: u32,
    /// The page's text: the text layer, or the OCR output.
    pub text: String,
    /// For a page read by OCR: Tesseract's mean word confidence, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr_confidence: Option<u8>,
    /// How long the OCR of the page took, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr_ms: Option<u32>,
    /// The sections whose text is (partly) on this page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<String>,
}

impl Page {
    /// True when the page was read by OCR.
    pub fn is_ocr(&self) -> bool {
        self.ocr_confidence.is_some()
    }
}

/// Well-known section names (the JointCoder / CCL25 field names).
pub mod fields {
    pub const CHIEF_COMPLAINT: &str = "主诉";
    pub const PRESENT_ILLNESS: &str = "现病史";
    pub const PAST_HISTORY: &str = "既往史";
    pub const ADMISSION_STATUS: &str = "入院情况";
    pub const ADMISSION_DIAGNOSIS: &str = "入院诊断";
    pub const TREATMENT_COURSE: &str = "诊疗经过";
    pub const COURSE_NOTES: &str = "病程记录";
    pub const PROCEDURE_NAMES: &str = "手术名称";
    pub const OPERATIVE_REPORT: &str = "手术经过";
    pub const DISCHARGE_DIAGNOSIS: &str = "出院诊断";
    pub const DISCHARGE_STATUS: &str = "出院情况";
    pub const DISCHARGE_ORDERS: &str = "出院医嘱";
    /// Text before the first heading of a plain-text record.
    pub const BODY: &str = "正文";
}

impl Record {
    pub fn new(id: impl Into<String>) -> Self {
        Record {
            id: id.into(),
            sections: Vec::new(),
            gold: Gold::default(),
            pages: Vec::new(),
        }
    }

    /// True when some of the record's text was read by OCR.
    pub fn has_ocr(&self) -> bool {
        self.pages.iter().any(Page::is_ocr)
    }

    /// The OCR pages holding text of section `i`.
    pub fn ocr_pages_of(&self, i: usize) -> Vec<&Page> {
        let Some(s) = self.sections.get(i) else {
            return Vec::new();
        };
        self.pages
            .iter()
            .filter(|p| p.is_ocr() && p.sections.contains(&s.name))
            .collect()
    }

    /// Appends a section (builder style).
    pub fn with_section(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.sections.push(Section {
            name: name.into(),
            text: text.into(),
        });
        self
    }

    /// The text of the first section with this name, if present and non-blank.
    pub fn section(&self, name: &str) -> Option<&str> {
        self.sections
            .iter()
            .find(|s| s.name == name && !s.text.trim().is_empty())
            .map(|s| s.text.as_str())
    }

    /// Index of the first section with this name.
    pub fn section_index(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.name == name)
    }

    /// Total characters of text.
    pub fn char_len(&self) -> usize {
        self.sections.iter().map(|s| s.text.chars().count()).sum()
    }

    /// True when no section holds any non-blank text.
    pub fn is_blank(&self) -> bool {
        self.sections.iter().all(|s| s.text.trim().is_empty())
    }

    /// The whole record as text: each non-blank section as `【name】` on its
    /// own line followed by its text, sections separated by a blank line.
    /// The plain-text importer reads this form back into the same sections
    /// (unless a section's own text has lines that look like headings).
    pub fn full_text(&self) -> String {
        let mut out = String::new();
        for s in self.sections.iter().filter(|s| !s.text.trim().is_empty()) {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push('【');
            out.push_str(&s.name);
            out.push_str("】\n");
            out.push_str(&s.text);
        }
        out
    }

    /// Number of gold codes for a track (`None` when the record has no gold
    /// for it).
    pub fn gold_count(&self, track: Track) -> Option<usize> {
        self.gold.track(track).map(<[GoldCode]>::len)
    }

    /// The principal gold code of a track, if any.
    pub fn gold_principal(&self, track: Track) -> Option<&GoldCode> {
        self.gold.track(track).and_then(<[GoldCode]>::first)
    }
}

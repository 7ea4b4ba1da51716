//! The chapters of both classifications, built in so that every table gets
//! a top level without any data file.
//!
//! ICD-10 has 22 chapters, coded here by their Roman numeral (`IX`);
//! ICD-9-CM Volume 3 has 18, coded `ch0`…`ch16` plus `ch3A` for category
//! 17 as the US tabular list numbers them. The Chinese titles are short
//! descriptive titles written for this project.

use super::CodeSystem;

/// One chapter: its code, the range of categories it holds, and a title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chapter {
    /// `IX` (ICD-10) or `ch7` (ICD-9-CM-3).
    pub code: &'static str,
    /// First category (`I00`, `35`).
    pub first: &'static str,
    /// Last category (`I99`, `39`).
    pub last: &'static str,
    /// Chinese title.
    pub title: &'static str,
    /// English title.
    pub title_en: &'static str,
}

const fn ch(
    code: &'static str,
    first: &'static str,
    last: &'static str,
    title: &'static str,
    title_en: &'static str,
) -> Chapter {
    Chapter {
        code,
        first,
        last,
        title,
        title_en,
    }
}

/// ICD-10 chapters in code order of their first category.
pub const ICD10_CHAPTERS: &[Chapter] = &[
    ch(
        "I",
        "A00",
        "B99",
        "某些传染病和寄生虫病",
        "Certain infectious and parasitic diseases",
    ),
    ch("II", "C00", "D48", "肿瘤", "Neoplasms"),
    ch(
        "III",
        "D50",
        "D89",
        "血液及造血器官疾病和某些涉及免疫机制的疾患",
        "Diseases of the blood and immune mechanism",
    ),
    ch(
        "IV",
        "E00",
        "E90",
        "内分泌、营养和代谢疾病",
        "Endocrine, nutritional and metabolic diseases",
    ),
    ch(
        "V",
        "F00",
        "F99",
        "精神和行为障碍",
        "Mental and behavioural disorders",
    ),
    ch(
        "VI",
        "G00",
        "G99",
        "神经系统疾病",
        "Diseases of the nervous system",
    ),
    ch(
        "VII",
        "H00",
        "H59",
        "眼和附器疾病",
        "Diseases of the eye and adnexa",
    ),
    ch(
        "VIII",
        "H60",
        "H95",
        "耳和乳突疾病",
        "Diseases of the ear and mastoid process",
    ),
    ch(
        "IX",
        "I00",
        "I99",
        "循环系统疾病",
        "Diseases of the circulatory system",
    ),
    ch(
        "X",
        "J00",
        "J99",
        "呼吸系统疾病",
        "Diseases of the respiratory system",
    ),
    ch(
        "XI",
        "K00",
        "K93",
        "消化系统疾病",
        "Diseases of the digestive system",
    ),
    ch(
        "XII",
        "L00",
        "L99",
        "皮肤和皮下组织疾病",
        "Diseases of the skin and subcutaneous tissue",
    ),
    ch(
        "XIII",
        "M00",
        "M99",
        "肌肉骨骼系统和结缔组织疾病",
        "Diseases of the musculoskeletal system and connective tissue",
    ),
    ch(
        "XIV",
        "N00",
        "N99",
        "泌尿生殖系统疾病",
        "Diseases of the genitourinary system",
    ),
    ch(
        "XV",
        "O00",
        "O99",
        "妊娠、分娩和产褥期",
        "Pregnancy, childbirth and the puerperium",
    ),
    ch(
        "XVI",
        "P00",
        "P96",
        "起源于围生期的某些情况",
        "Certain conditions originating in the perinatal period",
    ),
    ch(
        "XVII",
        "Q00",
        "Q99",
        "先天性畸形、变形和染色体异常",
        "Congenital malformations, deformations and chromosomal abnormalities",
    ),
    ch(
        "XVIII",
        "R00",
        "R99",
        "症状、体征和临床与实验室异常所见，不可归类在他处者",
        "Symptoms, signs and abnormal findings, not elsewhere classified",
    ),
    ch(
        "XIX",
        "S00",
        "T98",
        "损伤、中毒和外因的某些其他后果",
        "Injury, poisoning and certain other consequences of external causes",
    ),
    ch(
        "XXII",
        "U00",
        "U99",
        "用于特殊目的的编码",
        "Codes for special purposes",
    ),
    ch(
        "XX",
        "V01",
        "Y98",
        "疾病和死亡的外因",
        "External causes of morbidity and mortality",
    ),
    ch(
        "XXI",
        "Z00",
        "Z99",
        "影响健康状态和与保健机构接触的因素",
        "Factors influencing health status and contact with health services",
    ),
];

/// ICD-9-CM-3 chapters in code order.
pub const ICD9CM3_CHAPTERS: &[Chapter] = &[
    ch(
        "ch0",
        "00",
        "00",
        "操作和介入，不能分类于他处",
        "Procedures and interventions, not elsewhere classified",
    ),
    ch(
        "ch1",
        "01",
        "05",
        "神经系统手术",
        "Operations on the nervous system",
    ),
    ch(
        "ch2",
        "06",
        "07",
        "内分泌系统手术",
        "Operations on the endocrine system",
    ),
    ch("ch3", "08", "16", "眼手术", "Operations on the eye"),
    ch(
        "ch3A",
        "17",
        "17",
        "其他各种诊断性和治疗性操作",
        "Other miscellaneous diagnostic and therapeutic procedures",
    ),
    ch("ch4", "18", "20", "耳手术", "Operations on the ear"),
    ch(
        "ch5",
        "21",
        "29",
        "鼻、口和咽手术",
        "Operations on the nose, mouth and pharynx",
    ),
    ch(
        "ch6",
        "30",
        "34",
        "呼吸系统手术",
        "Operations on the respiratory system",
    ),
    ch(
        "ch7",
        "35",
        "39",
        "心血管系统手术",
        "Operations on the cardiovascular system",
    ),
    ch(
        "ch8",
        "40",
        "41",
        "血液和淋巴系统手术",
        "Operations on the hemic and lymphatic system",
    ),
    ch(
        "ch9",
        "42",
        "54",
        "消化系统手术",
        "Operations on the digestive system",
    ),
    ch(
        "ch10",
        "55",
        "59",
        "泌尿系统手术",
        "Operations on the urinary system",
    ),
    ch(
        "ch11",
        "60",
        "64",
        "男性生殖器官手术",
        "Operations on the male genital organs",
    ),
    ch(
        "ch12",
        "65",
        "71",
        "女性生殖器官手术",
        "Operations on the female genital organs",
    ),
    ch("ch13", "72", "75", "产科操作", "Obstetrical procedures"),
    ch(
        "ch14",
        "76",
        "84",
        "肌肉骨骼系统手术",
        "Operations on the musculoskeletal system",
    ),
    ch(
        "ch15",
        "85",
        "86",
        "体被系统手术",
        "Operations on the integumentary system",
    ),
    ch(
        "ch16",
        "87",
        "99",
        "各种诊断性和治疗性操作",
        "Miscellaneous diagnostic and therapeutic procedures",
    ),
];

/// The chapters of a system.
pub fn chapters(system: CodeSystem) -> &'static [Chapter] {
    match system {
        CodeSystem::Icd10 => ICD10_CHAPTERS,
        CodeSystem::Icd9Cm3 => ICD9CM3_CHAPTERS,
    }
}

/// The chapter holding a category (`I10`, `36`). A category between two
/// ranges (a code added after the chapter table was fixed) goes to the
/// chapter that starts last before it.
pub fn chapter_of(system: CodeSystem, category: &str) -> Option<&'static Chapter> {
    let cat = category.to_ascii_uppercase();
    let list = chapters(system);
    list.iter()
        .find(|c| c.first <= cat.as_str() && cat.as_str() <= c.last)
        .or_else(|| list.iter().rev().find(|c| c.first <= cat.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_chapters() {
        let c = |s, k| chapter_of(s, k).map(|c| c.code);
        assert_eq!(c(CodeSystem::Icd10, "I10"), Some("IX"));
        assert_eq!(c(CodeSystem::Icd10, "T98"), Some("XIX"));
        assert_eq!(c(CodeSystem::Icd10, "D49"), Some("II"));
        assert_eq!(c(CodeSystem::Icd10, "U07"), Some("XXII"));
        assert_eq!(c(CodeSystem::Icd10, "Z99"), Some("XXI"));
        assert_eq!(c(CodeSystem::Icd9Cm3, "36"), Some("ch7"));
        assert_eq!(c(CodeSystem::Icd9Cm3, "17"), Some("ch3A"));
        assert_eq!(c(CodeSystem::Icd9Cm3, "00"), Some("ch0"));
        assert_eq!(ICD10_CHAPTERS.len(), 22);
        assert_eq!(ICD9CM3_CHAPTERS.len(), 18);
        // every two-digit category has a chapter
        for n in 0..100 {
            assert!(chapter_of(CodeSystem::Icd9Cm3, &format!("{n:02}")).is_some());
        }
    }
}

//! Code Also rules: the rules file against the official 国临3.0 table, the
//! stage on the JointCoder sample records, the rule index, and fictional
//! operative reports.
//!
//! Tests that read `../shared/data` skip (with a message) when it is absent.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use icdflow::pipeline::{Item, Origin};
use icdflow::record::{fields, GoldCode, Record};
use icdflow::rules::{
    expand, redundant, Basis, GroupKind, ResolvedRules, RuleIndex, RuleSet, Site,
};
use icdflow::terminology::dat::read_dat;
use icdflow::terminology::{CodeSystem, Terminology};

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data"));
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIP: shared data folder {} is absent", p.display());
        None
    }
}

/// The table's rows as a flat table (no synthetic headings), so rules
/// resolve against exactly the codes the file lists.
fn load_dat(path: &Path) -> Terminology {
    let rows: Vec<_> = read_dat(path)
        .expect("read .dat")
        .rows
        .into_iter()
        .map(|r| (r.code, r.name))
        .collect();
    Terminology::from_pairs(CodeSystem::Icd9Cm3, "gl3-procedures.dat", &rows)
}

fn gl3() -> Option<Terminology> {
    let p = shared()?.join("terminology/gl3-procedures.dat");
    if !p.is_file() {
        eprintln!("SKIP: {} is absent", p.display());
        return None;
    }
    Some(load_dat(&p))
}

/// A small table with the codes the fictional tests need (no shared data).
fn mini_table() -> Terminology {
    let rows = [
        ("36.0600", "非-药物洗脱冠状动脉支架置入"),
        ("36.0700", "药物洗脱冠状动脉支架置入"),
        ("36.0701", "冠状动脉生物可吸收支架置入术"),
        ("00.4000", "单根血管操作"),
        ("00.4100", "两根血管操作"),
        ("00.4200", "三根血管操作"),
        ("00.4301", "四根血管操作"),
        ("00.4400", "分支血管操作"),
        ("00.4500", "置入一根血管的支架"),
        ("00.4600", "置入两根血管的支架"),
        ("00.4700", "置入三根血管的支架"),
        ("00.4801", "四根血管支架置入"),
        ("00.5902", "冠状动脉血流储备分数检查"),
        ("00.6600", "经皮冠状动脉腔内血管成形术[PTCA]"),
        ("00.6600x004", "经皮冠状动脉球囊扩张成形术"),
        ("00.6600x008", "经皮冠状动脉药物球囊扩张成形术"),
        ("00.2400x001", "冠状动脉血管内超声(IVUS)"),
        ("17.5501", "经皮冠状动脉旋磨术"),
        ("88.5500", "单根导管的冠状动脉造影术"),
        ("96.0400", "气管内插管"),
        ("96.7201", "呼吸机治疗[大于等于96小时]"),
        ("39.9000", "周围（非冠状的）血管非药物洗脱支架置入"),
        ("39.5000", "其他非冠状血管成形术"),
    ];
    Terminology::from_pairs(CodeSystem::Icd9Cm3, "mini", &rows)
}

fn added_codes(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .filter(|i| icdflow::rules::is_code_also_item(i))
        .filter_map(|i| i.code.clone())
        .collect()
}

// ---------------------------------------------------------------------------
// Rules file against the official table
// ---------------------------------------------------------------------------

#[test]
fn every_rule_code_exists_in_gl3_procedures() {
    let Some(t) = gl3() else { return };
    let set = RuleSet::builtin().expect("built-in rules parse");
    let r = set.resolve(&t);
    let s = r.summary();
    let families: BTreeSet<&str> = r.rules.iter().map(|x| x.id()).collect();
    println!(
        "rules: {} | triggers {} resolved of {} ({} table codes fire a rule) | candidate codes {} of {} | fallbacks {}",
        s.rules, s.triggers_resolved, s.triggers, s.trigger_codes, s.candidates_resolved, s.candidates, s.fallbacks
    );
    println!("rule ids: {families:?}");
    for u in &r.unresolved {
        println!("unresolved: {} {} {}", u.rule, u.what, u.code);
    }
    for u in &r.fallbacks {
        println!("fallback: {} {} {}", u.rule, u.what, u.code);
    }
    // Every written candidate code is a real 国临3.0 code, as written.
    assert!(r.unresolved.is_empty(), "{:#?}", r.unresolved);
    assert!(r.fallbacks.is_empty(), "{:#?}", r.fallbacks);
    for rule in &r.rules {
        for g in &rule.groups {
            for c in g.all_codes() {
                let code = c.code.as_deref().unwrap();
                assert!(t.is_assignable(code), "{code}");
            }
        }
    }
    // Triggers resolve to the table's extension codes too.
    let stent = r.get("coronary-stent").unwrap();
    for c in ["36.0600", "36.0700", "36.0700x004", "36.0701"] {
        assert!(stent.trigger_codes.iter().any(|x| x == c), "{c} missing");
    }
    let ptca = r.get("ptca").unwrap();
    assert!(ptca.trigger_codes.iter().any(|x| x == "00.6600x004"));
    // Count codes resolve to the table spelling.
    let counts = &stent.groups[0];
    assert_eq!(counts.kind, GroupKind::CountVessels);
    let written: Vec<_> = counts
        .codes
        .iter()
        .map(|c| c.code.clone().unwrap())
        .collect();
    assert_eq!(
        written,
        ["00.4000", "00.4100", "00.4200", "00.4301", "00.4302"]
    );
}

#[test]
fn rules_cover_the_notes_that_carry_code_also_for_cardiac_and_vascular_codes() {
    let Some(dir) = shared() else { return };
    let p = dir.join("terminology/icd9cm-vol3-en-notes.json");
    let Ok(text) = std::fs::read_to_string(&p) else {
        eprintln!("SKIP: {} is absent", p.display());
        return;
    };
    let notes: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let t = mini_table();
    let r = RuleSet::builtin().unwrap().resolve(&t);
    // The cardiovascular codes whose English note names a Code Also that
    // changes the coding of the stay (device counts, adjunct procedures).
    let expected = [
        "00.55", "00.60", "00.61", "00.62", "00.63", "00.64", "00.65", "00.66", "17.53", "17.54",
        "17.55", "17.56", "35.97", "36.06", "36.07", "36.09", "37.36", "37.41", "37.94", "39.21",
        "39.27", "39.50", "39.54", "39.59", "39.71", "39.73", "39.74", "39.77", "39.90", "39.93",
        "00.59",
    ];
    let mut with_note = BTreeSet::new();
    for n in &notes {
        let code = n["icd_code_pcs"].as_str().unwrap_or("");
        let desc = n["procedure_desc"].as_str().unwrap_or("");
        if desc.contains("Code also") && expected.contains(&code) {
            with_note.insert(code.to_string());
        }
    }
    assert_eq!(
        with_note.len(),
        expected.len(),
        "notes file changed: {with_note:?}"
    );
    let uncovered: Vec<_> = with_note
        .iter()
        .filter(|c| r.rules_for(c).is_empty())
        .collect();
    assert!(uncovered.is_empty(), "no rule for {uncovered:?}");
}

// ---------------------------------------------------------------------------
// The JointCoder sample records
// ---------------------------------------------------------------------------

const TEXT_COLUMNS: &[&str] = &[
    "主诉",
    "现病史",
    "既往史",
    "个人史",
    "婚姻史",
    "家族史",
    "入院情况",
    "入院诊断",
    "诊疗经过",
    "病程记录",
    "手术名称",
    "手术经过",
    "影像学意见",
    "超声提示",
    "超声印象",
    "出院诊断",
];

fn jointcoder(dir: &Path) -> Option<Vec<Record>> {
    use calamine::{open_workbook_auto, Reader};
    let p = dir.join("records/jointcoder-samples.xlsx");
    let Ok(mut wb) = open_workbook_auto(&p) else {
        eprintln!("SKIP: {} is absent or unreadable", p.display());
        return None;
    };
    let range = wb.worksheet_range_at(0)?.ok()?;
    let mut rows = range.rows();
    let header: Vec<String> = rows.next()?.iter().map(|c| c.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let mut out = Vec::new();
    for row in rows {
        let cell = |name: &str| {
            col(name)
                .and_then(|i| row.get(i))
                .map(|c| c.to_string().trim().to_string())
                .unwrap_or_default()
        };
        let mut r = Record::new(cell("ID"));
        for name in TEXT_COLUMNS {
            let text = cell(name);
            if !text.is_empty() {
                r = r.with_section(*name, text);
            }
        }
        let mut procs = Vec::new();
        let principal = cell("主要手术操作编码");
        if !principal.is_empty() {
            procs.push(GoldCode {
                code: principal,
                name: Some(cell("主要手术操作名称")),
            });
        }
        for n in 1..=40 {
            let code = cell(&format!("其他手术操作编码{n}"));
            if !code.is_empty() {
                procs.push(GoldCode {
                    code,
                    name: Some(cell(&format!("其他手术操作名称{n}"))),
                });
            }
        }
        r.gold.procedures = Some(procs);
        out.push(r);
    }
    Some(out)
}

/// Gold codes that are a Code Also of another gold code under the rules:
/// a candidate (by ICD-9-CM stem, or the exact extension) of a rule fired
/// by a different gold code.
fn gold_code_also(gold: &[GoldCode], rules: &ResolvedRules) -> Vec<(usize, Basis)> {
    let mut out = Vec::new();
    for (i, g) in gold.iter().enumerate() {
        let Some(stem) = icdflow::rules::code_stem(&g.code) else {
            continue;
        };
        // The trigger comes earlier in the prioritized list; the principal
        // is never a Code Also (36.07 and 00.66 name each other).
        'find: for other in gold.iter().take(i) {
            if other.code == g.code {
                continue;
            }
            for rule in rules.rules_for(&other.code) {
                for grp in &rule.groups {
                    if grp.all_codes().any(|c| {
                        c.code.as_deref() == Some(g.code.as_str())
                            || (grp.kind != GroupKind::AnyOf && c.stem == stem)
                    }) {
                        out.push((i, grp.basis));
                        break 'find;
                    }
                }
            }
        }
    }
    out
}

#[test]
fn jointcoder_gold_code_also_codes_are_recovered() {
    let Some(dir) = shared() else { return };
    let Some(t) = gl3() else { return };
    let Some(records) = jointcoder(&dir) else {
        return;
    };
    assert_eq!(records.len(), 3);
    let rules = RuleSet::builtin().unwrap().resolve(&t);
    let (mut gold_n, mut hit_n, mut extra_n) = (0, 0, 0);
    let (mut gold_icd, mut hit_icd) = (0, 0);
    let mut per_record = Vec::new();
    for r in &records {
        let gold = r.gold.procedures.as_deref().unwrap();
        let ca = gold_code_also(gold, &rules);
        let ca_idx: BTreeSet<usize> = ca.iter().map(|(i, _)| *i).collect();
        // The stage's input: the prioritized list without the Code Also codes.
        let input: Vec<Item> = gold
            .iter()
            .enumerate()
            .filter(|(i, _)| !ca_idx.contains(i))
            .map(|(_, g)| {
                Item::new(g.name.clone().unwrap_or_default(), Origin::Agent)
                    .with_code(g.code.clone())
            })
            .collect();
        let e = expand(r, &input, &rules, &t);
        let added = added_codes(&e.items);
        let gold_ca: Vec<&str> = ca.iter().map(|(i, _)| gold[*i].code.as_str()).collect();
        let hits: Vec<&str> = gold_ca
            .iter()
            .copied()
            .filter(|c| added.iter().any(|a| a == c))
            .collect();
        let extras: Vec<&String> = added
            .iter()
            .filter(|a| !gold.iter().any(|g| &g.code == *a))
            .collect();
        for (i, basis) in &ca {
            if *basis != Basis::LocalPractice {
                gold_icd += 1;
                if added.iter().any(|a| a == &gold[*i].code) {
                    hit_icd += 1;
                }
            }
        }
        println!(
            "record {}: gold code-also {:?} | added {:?} | recovered {} | extra {:?} | notes {:?}",
            r.id,
            gold_ca,
            added,
            hits.len(),
            extras,
            e.notes
        );
        for item in e
            .items
            .iter()
            .filter(|i| icdflow::rules::is_code_also_item(i))
        {
            let ev: Vec<String> = item
                .evidence
                .iter()
                .map(|s| {
                    format!(
                        "{}[{}]",
                        r.sections[s.section].name,
                        &r.sections[s.section].text[s.start..s.end]
                    )
                })
                .collect();
            println!(
                "    + {} {} conf {:.2} {:?} {:?} {:?}",
                item.code.as_deref().unwrap(),
                item.text,
                item.confidence.unwrap_or(0.0),
                item.source.as_deref().unwrap_or(""),
                ev,
                item.flags
            );
            assert!(t.is_assignable(item.code.as_deref().unwrap()));
            assert!(!item.evidence.is_empty());
        }
        // Nothing the stage adds is redundant with the list it produced.
        let red = redundant(&e.items, &rules);
        assert!(red.is_empty(), "record {}: {red:#?}", r.id);
        gold_n += gold_ca.len();
        hit_n += hits.len();
        extra_n += extras.len();
        per_record.push((r.id.clone(), added));
    }
    println!(
        "JointCoder: {hit_n} of {gold_n} gold Code Also codes recovered, {extra_n} extra proposed; \
         ICD-9-CM-based rules only: {hit_icd} of {gold_icd}"
    );
    // Record 1: drug-eluting stent in one vessel (RCA), one stent.
    let rec1 = &per_record[0].1;
    for c in ["00.4000", "00.4500", "00.6600x004"] {
        assert!(rec1.iter().any(|a| a == c), "record 1 lacks {c}: {rec1:?}");
    }
    assert_eq!(
        hit_icd, gold_icd,
        "every ICD-9-CM Code Also gold code is recovered"
    );
    assert!(hit_n * 10 >= gold_n * 7, "recall {hit_n}/{gold_n}");
    assert!(extra_n <= 1, "{extra_n} extra codes");
}

// ---------------------------------------------------------------------------
// Fictional operative reports (no shared data needed)
// ---------------------------------------------------------------------------

fn run(names: &str, text: &str, codes: &[&str]) -> (Vec<String>, Vec<String>) {
    let t = mini_table();
    let rules = RuleSet::builtin().unwrap().resolve(&t);
    let r = Record::new("fiction")
        .with_section(fields::PROCEDURE_NAMES, names)
        .with_section(fields::OPERATIVE_REPORT, text);
    let items: Vec<Item> = codes
        .iter()
        .map(|c| Item::new(*c, Origin::Agent).with_code(*c))
        .collect();
    let e = expand(&r, &items, &rules, &t);
    (added_codes(&e.items), e.notes)
}

#[test]
fn fictional_two_vessel_three_stent_bifurcation() {
    let text = "经右桡动脉穿刺置入6F鞘管，行冠脉造影示：左主干未见狭窄，前降支近中段狭窄90%，\
                第一对角支开口狭窄80%，回旋支远段狭窄70%，右冠未见明显狭窄。\
                送BMW导丝分别至前降支及第一对角支远端，以2.5×20mm球囊预扩前降支及对角支病变，\
                于前降支近中段串联植入3.0×33mm及3.5×18mm药物洗脱支架，\
                第一对角支植入2.5×18mm支架，行对吻扩张。回旋支病变拟择期处理。";
    let (added, notes) = run("冠状动脉造影+支架植入术", text, &["36.0700", "88.5500"]);
    assert_eq!(
        added,
        ["00.4100", "00.4700", "00.4400", "00.6600x004"],
        "notes: {notes:?}"
    );
}

#[test]
fn fictional_drug_balloon_only_pci() {
    let text = "行冠脉造影示回旋支支架内再狭窄90%。以2.5×15mm切割球囊预处理后，\
                于回旋支支架内以3.0×26mm药物球囊扩张60秒。残余狭窄<20%。";
    let (added, notes) = run("经皮冠状动脉药物球囊扩张成形术", text, &["00.6600x008"]);
    // One vessel, no new stent, no stent count.
    assert_eq!(added, ["00.4000"], "notes {notes:?}");
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn fictional_rotablation_ivus_and_stated_count() {
    let text = "右冠近中段钙化病变，IVUS示严重钙化，以1.5mm旋磨头旋磨右冠病变，\
                于右冠串联植入两枚药物洗脱支架，复查IVUS支架贴壁良好。";
    let (added, _) = run("冠状动脉旋磨术+支架植入术", text, &["36.0700"]);
    assert_eq!(added, ["00.4000", "00.4600", "17.5501", "00.2400x001"]);
}

#[test]
fn fictional_peripheral_stent_counts_peripheral_vessels() {
    let text = "经右股动脉穿刺置入鞘管，造影示左髂总动脉闭塞。以6.0×40mm球囊扩张左髂总动脉，\
                于左髂总动脉植入8×59mm支架1枚。";
    let (added, _) = run("髂动脉支架植入术", text, &["39.9000"]);
    assert_eq!(added, ["00.4000", "00.4500", "39.5000"]);
}

#[test]
fn counts_read_from_fictional_snippets() {
    let cases: &[(&str, Option<usize>, Option<usize>)] = &[
        ("于前降支植入支架2枚。", Some(2), Some(1)),
        ("于LAD、RCA各置入1枚支架。", Some(2), Some(2)),
        ("于回旋支置入两枚支架。", Some(2), Some(1)),
        (
            "前降支植入3.0×18mm支架，回旋支植入2.75×24mm支架，右冠植入3.5×30mm支架。",
            Some(3),
            Some(3),
        ),
        (
            "造影示前降支狭窄80%，回旋支狭窄90%，予药物治疗。",
            None,
            None,
        ),
    ];
    for (text, stents, vessels) in cases {
        let r = Record::new("s").with_section(fields::OPERATIVE_REPORT, *text);
        let (s, v) = icdflow::rules::extract_counts(&r, Site::Coronary);
        assert_eq!(s.map(|c| c.n), *stents, "stents in {text}");
        assert_eq!(v.map(|c| c.n), *vessels, "vessels in {text}");
    }
}

// ---------------------------------------------------------------------------
// Rule index
// ---------------------------------------------------------------------------

#[test]
fn rule_index_by_code_and_text() {
    let t = mini_table();
    let idx = RuleIndex::with_table(RuleSet::builtin().unwrap().resolve(&t), &t).unwrap();
    let ids = |v: Vec<&icdflow::rules::ResolvedRule>| {
        v.iter().map(|r| r.id().to_string()).collect::<Vec<_>>()
    };

    let by_code = ids(idx.rules_for("36.0700"));
    assert_eq!(by_code[0], "coronary-stent");
    assert!(by_code.contains(&"coronary-physiology-imaging".to_string()));
    assert_eq!(ids(idx.rules_for("36.07")), by_code);
    assert!(idx.rules_for("99.99").is_empty());

    let stent = ids(idx.search("支架"));
    for want in ["coronary-stent", "ptca", "peripheral-stent"] {
        assert!(stent.contains(&want.to_string()), "{want} not in {stent:?}");
    }
    assert!(!stent.contains(&"mechanical-ventilation".to_string()));
    assert_eq!(ids(idx.search("气管插管"))[0], "mechanical-ventilation");
    let ffr = ids(idx.search("ffr"));
    assert!(
        ffr[..2].contains(&"coronary-physiology-imaging".to_string()),
        "{ffr:?}"
    );
    assert!(
        ffr[..2].contains(&"coronary-pressure-wire".to_string()),
        "{ffr:?}"
    );
    assert_eq!(
        ids(idx.search("血管内超声"))[0],
        "coronary-physiology-imaging"
    );
    let cpb = ids(idx.search("cardiopulmonary bypass"));
    assert!(cpb[..3].contains(&"cabg".to_string()), "{cpb:?}");
    assert!(
        cpb[..3].contains(&"open-heart-bypass".to_string()),
        "{cpb:?}"
    );
    // A code query: the rules it fires first, then those that propose it.
    let q = ids(idx.search("00.45"));
    assert!(q.contains(&"coronary-stent".to_string()), "{q:?}");
    assert!(idx.search("").is_empty());
    assert!(idx.search("qzxw").is_empty());
}

#[test]
fn rule_index_over_gl3_finds_rules_by_procedure_name() {
    let Some(t) = gl3() else { return };
    let idx = RuleIndex::with_table(RuleSet::builtin().unwrap().resolve(&t), &t).unwrap();
    let hits: Vec<String> = idx
        .search("二尖瓣")
        .iter()
        .map(|r| r.id().to_string())
        .collect();
    println!("二尖瓣 → {hits:?}");
    assert!(hits.contains(&"open-heart-bypass".to_string()));
    assert_eq!(
        idx.rules_for("37.8301").first().map(|r| r.id()),
        Some("pacemaker")
    );
    assert_eq!(
        idx.rules_for("35.2301").first().map(|r| r.id()),
        Some("open-heart-bypass")
    );
}

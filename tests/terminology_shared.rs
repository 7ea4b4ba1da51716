//! Code tables from ../shared/data/terminology (real 国临/医保/北京 tables)
//! and, when ICDFLOW_GNUHEALTH_DIR is set, the installed registry packages
//! (scripts/setup-tables.sh DIR). Every test skips with a message when its
//! data is absent.

use std::path::{Path, PathBuf};
use std::time::Instant;

use icdflow::terminology::aliases::{add_aliases_from_crosswalk, add_aliases_from_index};
use icdflow::terminology::{
    gnuhealth, load_table, load_table_with, read_product_table, write_product_table, AncestorNames,
    CodeKind, CodeSystem, ImportReport, LoadOptions, Terminology,
};

fn shared() -> Option<PathBuf> {
    let p = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/terminology"
    ));
    if p.is_dir() {
        Some(p.to_path_buf())
    } else {
        eprintln!("skip: {} is absent", p.display());
        None
    }
}

/// Timings are only meaningful in an optimized build of this crate.
fn build_kind() -> &'static str {
    if cfg!(debug_assertions) {
        "unoptimized build"
    } else {
        "optimized build"
    }
}

fn load(name: &str, system: CodeSystem, opts: &LoadOptions) -> Option<(Terminology, ImportReport)> {
    let dir = shared()?;
    let t0 = Instant::now();
    let (t, r) = load_table_with(&dir.join(name), system, opts).unwrap();
    eprintln!(
        "{r}\n  {} entries in {:.3} s ({})",
        t.len(),
        t0.elapsed().as_secs_f64(),
        build_kind()
    );
    Some((t, r))
}

fn path(t: &Terminology, code: &str) -> Vec<String> {
    t.path(code).iter().map(|e| e.code.clone()).collect()
}

fn skipped_codes(r: &ImportReport) -> Vec<&str> {
    r.skipped.iter().map(|s| s.code.as_str()).collect()
}

#[test]
fn gl2_diagnoses_csv() {
    let Some((t, r)) = load(
        "gl2-diagnoses.csv",
        CodeSystem::Icd10,
        &LoadOptions::default(),
    ) else {
        return;
    };
    assert_eq!((r.rows_read, r.rows_loaded), (37_294, 37_278));
    assert_eq!(r.skipped_with("malformed code"), 16);
    assert_eq!(r.skipped.len(), 16);
    assert!(skipped_codes(&r).contains(&"C22.101M81600/3"));
    assert!(skipped_codes(&r).contains(&"T66.x02H47.5"));
    let morph: Vec<_> = t
        .entries()
        .iter()
        .filter(|e| e.kind == CodeKind::Morphology)
        .collect();
    assert_eq!(morph.len(), 1_427);
    assert!(morph.iter().all(|e| !e.assignable && e.parent.is_none()));
    assert_eq!(t.get("M80000/3").unwrap().name, "恶性肿瘤");
    // bare asterisk codes are rows of their own
    assert_eq!(t.get("D63.0*").unwrap().name, "肿瘤引起的贫血");
    assert_eq!(t.get("A07.100").unwrap().name, "贾第虫病[兰伯鞭毛虫病]");
}

#[test]
fn gl2_diagnoses_dat_and_hierarchy() {
    let Some(dir) = shared() else { return };
    let mut names = AncestorNames::default();
    names
        .load_chapters_blocks_tsv(&dir.join("icd10-chapters-blocks-zh.tsv"))
        .unwrap();
    names
        .load_names_tsv(&dir.join("icd10-categories-zh.tsv"), CodeSystem::Icd10)
        .unwrap();
    let opts = LoadOptions {
        ancestors: names,
        ..Default::default()
    };
    let (t, r) = load("gl2-diagnoses.dat", CodeSystem::Icd10, &opts).unwrap();
    assert_eq!((r.rows_read, r.rows_loaded), (35_592, 35_590));
    assert_eq!(skipped_codes(&r), ["B37.600I39.8", "T66.x02H47.5"]);
    // names as stored
    assert_eq!(t.get("A07.100").unwrap().name, "贾第虫病\\[兰伯鞭毛虫病\\]");
    let pua = t
        .entries()
        .iter()
        .filter(|e| e.name.contains('\u{e00f}'))
        .count();
    assert_eq!(pua, 13);
    assert_eq!(
        t.entries().iter().filter(|e| e.code.contains('†')).count(),
        1_117
    );
    // the path of a national extension code
    let p = t.path("I10.x00x032");
    let codes: Vec<&str> = p.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["IX", "I10-I15", "I10", "I10.x00", "I10.x00x032"]);
    assert_eq!(p[1].name, "高血压病");
    assert_eq!(p[0].name, "循环系统疾病");
    assert_eq!(p[2].name, "特发性(原发性)高血压");
    assert!(!p[2].assignable && p[3].assignable && p[4].assignable);
    assert_eq!(
        path(&t, "I21.401"),
        ["IX", "I20-I25", "I21", "I21.400", "I21.401"]
    );
    assert!(t.is_assignable("I20.800") && t.is_assignable("I20.800x007"));
    // lookups in any spelling
    for q in ["E11.401+G63.2*", "E11.401†G63.2*", "e11.401+g63.2"] {
        assert_eq!(t.get(q).unwrap().name, "2型糖尿病性周围神经病", "{q}");
    }
    // every row reaches a chapter
    let orphans = t
        .entries()
        .iter()
        .filter(|e| e.kind != CodeKind::Morphology)
        .filter(|e| t.path(&e.code).first().map(|r| r.kind) != Some(CodeKind::Chapter))
        .count();
    assert_eq!(orphans, 0);

    // product round trip
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("gl2.tsv");
    write_product_table(&t, &out).unwrap();
    let t0 = Instant::now();
    let (back, _) = read_product_table(&out).unwrap();
    eprintln!(
        "product table read back in {:.3} s ({})",
        t0.elapsed().as_secs_f64(),
        build_kind()
    );
    assert_eq!(back.fingerprint, t.fingerprint);
    assert_eq!(back.len(), t.len());
}

#[test]
fn gl3_procedures_with_delta() {
    let Some(dir) = shared() else { return };
    let (t, r) = load(
        "gl3-procedures.dat",
        CodeSystem::Icd9Cm3,
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (r.rows_read, r.rows_loaded, r.skipped.len()),
        (13_734, 13_734, 0)
    );
    assert_eq!(path(&t, "36.0700"), ["ch7", "36", "36.0", "36.0700"]);
    assert_eq!(
        path(&t, "36.0700x004"),
        ["ch7", "36", "36.0", "36.0700", "36.0700x004"]
    );
    assert_eq!(t.get("36.07").unwrap().code, "36.0700");
    assert_eq!(t.get("00.4500").unwrap().name, "置入一根血管的支架");
    assert!(t.get("00.0901").is_some() && t.get("17.7200").is_none());

    let opts = LoadOptions {
        deltas: vec![dir.join("gl3-procedures-2026-delta.dat")],
        ..Default::default()
    };
    let (t, r) = load("gl3-procedures.dat", CodeSystem::Icd9Cm3, &opts).unwrap();
    assert_eq!(r.rows_loaded, 13_734 - 4 + 10);
    assert_eq!(r.skipped_with("deleted by delta"), 4);
    assert!(t.get("00.0901").is_none() && t.get("99.8500x004").is_none());
    assert_eq!(
        path(&t, "17.7200x001"),
        ["ch3A", "17", "17.7", "17.7200", "17.7200x001"]
    );
}

#[test]
fn other_shared_tables() {
    let d = LoadOptions::default();
    let Some((_, r)) = load("gl3-procedures-provisional.csv", CodeSystem::Icd9Cm3, &d) else {
        return;
    };
    assert_eq!((r.rows_read, r.rows_loaded), (13_654, 13_654));
    let (t, r) = load("yb2-diagnoses.dat", CodeSystem::Icd10, &d).unwrap();
    assert_eq!((r.rows_read, r.rows_loaded), (33_304, 33_304));
    assert!(t.get("E11.401+G63.2*").is_some() || t.get("E11.400+G63.2*").is_some());
    let (t, r) = load("yb2-procedures.dat", CodeSystem::Icd9Cm3, &d).unwrap();
    assert_eq!((r.rows_read, r.rows_loaded), (13_686, 13_686));
    // 医保 traditional-medicine codes with five decimals or a letter
    assert_eq!(t.get("17.91100").unwrap().kind, CodeKind::Extension);
    assert!(t.get("17.912A0").is_some());
    let (t, r) = load("beijing-clinical-v601.xlsx", CodeSystem::Icd10, &d).unwrap();
    assert_eq!((r.rows_read, r.rows_loaded), (40_474, 40_473));
    assert_eq!(skipped_codes(&r), ["N"]);
    // Beijing lists categories as rows; all rows are assignable
    assert_eq!(t.get("A00").unwrap().kind, CodeKind::Category);
    assert!(t.is_assignable("A00") && t.is_assignable("A00.001"));
    assert_eq!(path(&t, "A00.001"), ["I", "A00", "A00.0", "A00.001"]);
}

#[test]
fn crosswalk_and_index_aliases() {
    let Some(dir) = shared() else { return };
    let (t, _) = load_table(&dir.join("gl2-diagnoses.dat"), CodeSystem::Icd10).unwrap();
    let t0 = Instant::now();
    let (t, r) = add_aliases_from_crosswalk(
        t,
        &dir.join("gl2-to-yb2-diagnoses.dat"),
        &dir.join("yb2-diagnoses.dat"),
    )
    .unwrap();
    eprintln!("{r} ({:.2} s)", t0.elapsed().as_secs_f64());
    assert_eq!(r.rows_read, 35_591);
    assert!(r.aliases_added > 100, "{r}");
    // chapters carry their English title already
    let with_alias = t
        .entries()
        .iter()
        .filter(|e| e.kind != CodeKind::Chapter && !e.aliases.is_empty())
        .count();
    assert_eq!(with_alias, r.aliases_added);
    let t0 = Instant::now();
    let (t, r) =
        add_aliases_from_index(t, &dir.join("alphabetic-index/icd10-zh-index-ocr.csv")).unwrap();
    eprintln!("{r} ({:.2} s)", t0.elapsed().as_secs_f64());
    assert!(r.aliases_added > 1_000 && r.low_confidence > 0, "{r}");
    assert!(t
        .get("E23.000")
        .is_some_and(|e| e.aliases.iter().any(|a| a == "阿-德综合征")));

    let (p, _) = load_table(&dir.join("gl3-procedures.dat"), CodeSystem::Icd9Cm3).unwrap();
    let (_, r) =
        add_aliases_from_index(p, &dir.join("alphabetic-index/icd9cm3-zh-index-ocr.csv")).unwrap();
    eprintln!("{r}");
    assert!(r.aliases_added > 500, "{r}");
}

#[test]
fn gnuhealth_registry_tables() {
    let Some(dir) = std::env::var_os("ICDFLOW_GNUHEALTH_DIR") else {
        eprintln!("skip: set ICDFLOW_GNUHEALTH_DIR to a dir prepared by scripts/setup-tables.sh");
        return;
    };
    let dir = PathBuf::from(dir);
    let t0 = Instant::now();
    let (t, r) = gnuhealth::load_icd10(&dir).unwrap();
    eprintln!(
        "{r}\n  {} entries in {:.2} s; notes {:?}",
        t.len(),
        t0.elapsed().as_secs_f64(),
        r.notes
    );
    assert_eq!((r.rows_read, r.rows_loaded), (14_416, 14_416));
    assert!(
        t.is_assignable("I84.0"),
        "retired WHO codes used by 国临 are kept"
    );
    assert_eq!(
        t.get("A00.0").unwrap().name,
        "霍乱，由于O1群霍乱弧菌，霍乱生物型所致"
    );
    assert!(!t.is_assignable("A00") && t.is_assignable("A00.0"));
    let p: Vec<String> = path(&t, "I10");
    assert_eq!(p, ["IX", "I10-I15", "I10"]);
    assert_eq!(t.get("I10-I15").unwrap().name, "高血压病");

    let t0 = Instant::now();
    let (p, r) = gnuhealth::load_icd9procs(&dir).unwrap();
    eprintln!(
        "{r}\n  {} entries in {:.2} s; notes {:?}",
        p.len(),
        t0.elapsed().as_secs_f64(),
        r.notes
    );
    assert_eq!((r.rows_read, r.rows_loaded), (3_882, 3_882));
    assert_eq!(path(&p, "36.07"), ["ch7", "36", "36.0", "36.07"]);
    assert!(!p.is_assignable("36.1") && p.is_assignable("36.10"));

    // the import command: registry tables into a data dir, then a national
    // table that borrows the registry's block and category names
    let Some(shared) = shared() else { return };
    let data = tempfile::tempdir().unwrap();
    let cfg = icdflow::config::Config {
        data_dir: Some(data.path().to_path_buf()),
        ..Default::default()
    };
    if std::env::var_os("ICDFLOW_DATA_DIR").is_some() {
        eprintln!("skip the import run: ICDFLOW_DATA_DIR is set");
        return;
    }
    let run = |argv: &[&str]| {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: icdflow::cli::import::ImportArgs,
        }
        let cli =
            Cli::try_parse_from(std::iter::once("import").chain(argv.iter().copied())).unwrap();
        let mut out = Vec::new();
        icdflow::cli::import::run_with(cli.args, &cfg, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    eprint!("{}", run(&["--gnuhealth", dir.to_str().unwrap()]));
    let gl2 = shared.join("gl2-diagnoses.dat");
    let out = data.path().join("gl2.tsv");
    eprint!(
        "{}",
        run(&[gl2.to_str().unwrap(), "--out", out.to_str().unwrap()])
    );
    let (t, _) = read_product_table(&out).unwrap();
    let p = t.path("I10.x00x032");
    let names: Vec<String> = p.iter().map(|e| format!("{} {}", e.code, e.name)).collect();
    eprintln!("{names:?}");
    assert_eq!(p[1].code, "I10-I15");
    assert_eq!(p[1].name, "高血压病");
}

//! `icdflow import`: turn a hospital's code table (or the registry tables
//! installed at setup) into the product's table format, reporting every
//! row that was skipped and why.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _};
use serde::Serialize;

use crate::config::Config;
use crate::terminology::aliases::{add_aliases_from_crosswalk, add_aliases_from_index};
use crate::terminology::product::{parse_system, system_tag};
use crate::terminology::{
    detect_system, gnuhealth, load_table_with, read_product_table, write_product_table,
    AliasReport, AncestorNames, Assignability, CodeSystem, ColumnSpec, ImportReport, LoadOptions,
    TableFormat, Terminology,
};

fn system_arg(s: &str) -> Result<CodeSystem, String> {
    parse_system(s).ok_or_else(|| format!("unknown system '{s}' (use icd10 or icd9cm3)"))
}

/// Import a code table into the product's format.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ImportArgs {
    /// Table to import: .dat (`code name`), .csv, .tsv, .xlsx, or a product table.
    #[arg(required_unless_present_any = ["gnuhealth", "index"], value_name = "TABLE")]
    pub input: Option<PathBuf>,
    /// Import an alphabetic index CSV (`level, chinese, code`, optionally
    /// `english, confidence, page`) for the workbench's index browser,
    /// into DATA_DIR/alphabetic/SYSTEM.tsv (or --out).
    #[arg(long, value_name = "CSV", conflicts_with_all = ["input", "gnuhealth"])]
    pub index: Option<PathBuf>,
    /// Classification of the table (default: guessed from its codes).
    #[arg(long, value_parser = system_arg, value_name = "icd10|icd9cm3")]
    pub system: Option<CodeSystem>,
    /// Code column: header name or 1-based number (default: detected).
    #[arg(long, value_name = "COL")]
    pub code_col: Option<String>,
    /// Name column: header name or 1-based number (default: detected).
    #[arg(long, value_name = "COL")]
    pub name_col: Option<String>,
    /// Column of extra names (cells split at `|` or `;`); repeatable.
    #[arg(long, value_name = "COL")]
    pub alias_col: Vec<String>,
    /// Spreadsheet sheet, by name or 1-based number (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Force the input format instead of detecting it.
    #[arg(long, value_enum)]
    pub format: Option<TableFormat>,
    /// Output file (default: DATA_DIR/tables/INPUT_STEM.SYSTEM.tsv).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Label stored in the table (default: the input file name).
    #[arg(long)]
    pub label: Option<String>,
    /// Delta file to apply (`- CODE` deletes, `CODE name` adds); repeatable.
    #[arg(long, value_name = "PATH")]
    pub delta: Vec<PathBuf>,
    /// Crosswalk `code target_code` per line: adds the target table's names
    /// as aliases (needs --crosswalk-target).
    #[arg(long, value_name = "PATH", requires = "crosswalk_target")]
    pub crosswalk: Option<PathBuf>,
    /// The table the crosswalk's target codes belong to.
    #[arg(long, value_name = "PATH", requires = "crosswalk")]
    pub crosswalk_target: Option<PathBuf>,
    /// Alphabetic index CSV whose lead terms become aliases; repeatable.
    #[arg(long, value_name = "PATH")]
    pub index_aliases: Vec<PathBuf>,
    /// ICD-10 chapters/blocks TSV (first, last, level, name).
    #[arg(long, value_name = "PATH")]
    pub chapters: Option<PathBuf>,
    /// Category names TSV (code, name) for categories the table lacks.
    #[arg(long, value_name = "PATH")]
    pub categories: Option<PathBuf>,
    /// Product table to borrow chapter, block and category names from
    /// (default: the registry table in the data dir, when present).
    #[arg(long, value_name = "PATH")]
    pub names_from: Option<PathBuf>,
    /// Which rows may be assigned: auto, all, leaves.
    #[arg(long, value_enum, default_value = "auto")]
    pub assignable: Assignability,
    /// Import both registry tables (installed by scripts/setup-tables.sh
    /// into DIR/pydeps) into the default table paths.
    #[arg(long, value_name = "DIR", conflicts_with = "input")]
    pub gnuhealth: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// List every skipped row (default: the first 50).
    #[arg(long)]
    pub show_all: bool,
    /// Check the table and report, without writing anything.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Serialize)]
struct Outcome {
    system: CodeSystem,
    report: ImportReport,
    aliases: Vec<AliasReport>,
    out: Option<PathBuf>,
    entries: usize,
    fingerprint: String,
    label: String,
    seconds: f64,
}

/// Runs `icdflow import` with the user's config, printing to stdout.
pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let cfg = Config::load()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    run_with(args, &cfg, &mut out)
}

/// Runs `icdflow import` with a given config, printing to `out`.
pub fn run_with(
    args: ImportArgs,
    cfg: &Config,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let cfg = cfg.clone();
    if let Some(index) = &args.index {
        return import_index(&cfg, index, &args, out);
    }
    let outcomes = match &args.gnuhealth {
        Some(dir) => import_gnuhealth(&cfg, dir, &args)?,
        None => vec![import_one(&cfg, &args)?],
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &outcomes)?;
        writeln!(out)?;
    } else {
        for o in &outcomes {
            out.write_all(render(o, args.show_all).as_bytes())?;
        }
        for o in outcomes.iter().filter(|_| args.gnuhealth.is_none()) {
            let Some(path) = &o.out else { continue };
            if cfg.default_table(o.system).ok().as_ref() == Some(path) {
                continue;
            }
            let key = match o.system {
                CodeSystem::Icd10 => "diag_table",
                CodeSystem::Icd9Cm3 => "proc_table",
            };
            writeln!(
                out,
                "to use it: pass --{} {} or set {key} = \"{}\" in {}",
                key.replace('_', "-"),
                path.display(),
                path.display(),
                Config::path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| "config.toml".into())
            )?;
        }
    }
    Ok(())
}

/// Human-readable report of one import.
fn render(o: &Outcome, show_all: bool) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "{}", o.report);
    for n in &o.report.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    for a in &o.aliases {
        let _ = writeln!(s, "  aliases: {a}");
    }
    if !o.report.skipped.is_empty() {
        let _ = writeln!(s, "skipped rows:");
        let _ = o
            .report
            .write_skipped(&mut s, if show_all { None } else { Some(50) });
    }
    match &o.out {
        Some(p) => {
            let _ = writeln!(
                s,
                "wrote {} — {} entries, label '{}', fingerprint {} ({:.2} s)",
                p.display(),
                o.entries,
                o.label,
                &o.fingerprint[..12.min(o.fingerprint.len())],
                o.seconds
            );
        }
        None => {
            let _ = writeln!(
                s,
                "dry run: {} entries would be written ({:.2} s)",
                o.entries, o.seconds
            );
        }
    }
    s
}

/// Chapter/block/category names for a source table: explicit flags, the
/// config's `[tables]` files, then a product table (flag or the default
/// registry table).
fn ancestor_names(
    cfg: &Config,
    args: &ImportArgs,
    system: CodeSystem,
    input: &Path,
) -> anyhow::Result<(AncestorNames, Option<PathBuf>)> {
    let mut a = AncestorNames::default();
    if let Some(p) = &args.chapters {
        a.load_chapters_blocks_tsv(p)?;
    }
    if let Some(p) = &args.categories {
        a.load_names_tsv(p, system)?;
    }
    a.merge(cfg.ancestor_names(system)?);
    let borrowed = match &args.names_from {
        Some(p) => Some(p.clone()),
        None => cfg
            .default_table(system)
            .ok()
            .filter(|p| p.is_file() && p.as_path() != input),
    };
    let mut used = None;
    if let Some(p) = borrowed {
        let (t, _) = read_product_table(&p)
            .with_context(|| format!("reading names from {}", p.display()))?;
        if t.system == system {
            a.merge(AncestorNames::from_terminology(&t));
            used = Some(p);
        }
    }
    Ok((a, used))
}

fn import_one(cfg: &Config, args: &ImportArgs) -> anyhow::Result<Outcome> {
    let Some(input) = args.input.as_deref() else {
        bail!("give a table to import, or --gnuhealth DIR");
    };
    let started = Instant::now();
    let mut opts = LoadOptions {
        format: args.format,
        columns: ColumnSpec {
            code: args.code_col.clone(),
            name: args.name_col.clone(),
            aliases: args.alias_col.clone(),
        },
        sheet: args.sheet.clone(),
        assignability: args.assignable,
        label: args.label.clone(),
        deltas: args.delta.clone(),
        ..Default::default()
    };
    let system = match args.system {
        Some(s) => s,
        None => detect_system(input, &opts)?,
    };
    let (names, borrowed) = ancestor_names(cfg, args, system, input)?;
    opts.ancestors = names;
    let (mut term, mut report) = load_table_with(input, system, &opts)?;
    if let Some(p) = borrowed {
        report.notes.push(format!(
            "chapter, block and category names from {}",
            p.display()
        ));
    }
    let mut aliases = Vec::new();
    if let (Some(cw), Some(target)) = (&args.crosswalk, &args.crosswalk_target) {
        let (t, r) = add_aliases_from_crosswalk(term, cw, target)?;
        term = t;
        aliases.push(r);
    }
    for idx in &args.index_aliases {
        let (t, r) = add_aliases_from_index(term, idx)?;
        term = t;
        aliases.push(r);
    }
    let out = if args.dry_run {
        None
    } else {
        let path = match &args.out {
            Some(p) => p.clone(),
            None => {
                let stem = input
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "table".into());
                cfg.data_dir()?
                    .join("tables")
                    .join(format!("{stem}.{}.tsv", system_tag(system)))
            }
        };
        write_product_table(&term, &path)?;
        Some(path)
    };
    Ok(outcome(system, term, report, aliases, out, started))
}

fn outcome(
    system: CodeSystem,
    term: Terminology,
    report: ImportReport,
    aliases: Vec<AliasReport>,
    out: Option<PathBuf>,
    started: Instant,
) -> Outcome {
    Outcome {
        system,
        report,
        aliases,
        out,
        entries: term.len(),
        fingerprint: term.fingerprint.clone(),
        label: term.label.clone(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn import_gnuhealth(cfg: &Config, dir: &Path, args: &ImportArgs) -> anyhow::Result<Vec<Outcome>> {
    let mut v = Vec::new();
    for system in [CodeSystem::Icd10, CodeSystem::Icd9Cm3] {
        let started = Instant::now();
        let (term, report) = match system {
            CodeSystem::Icd10 => gnuhealth::load_icd10(dir)?,
            CodeSystem::Icd9Cm3 => gnuhealth::load_icd9procs(dir)?,
        };
        let out = if args.dry_run {
            None
        } else {
            let path = cfg.default_table(system)?;
            write_product_table(&term, &path)?;
            Some(path)
        };
        v.push(outcome(system, term, report, Vec::new(), out, started));
    }
    Ok(v)
}

/// `icdflow import --index CSV`: the alphabetic index into the data dir.
fn import_index(
    cfg: &Config,
    input: &Path,
    args: &ImportArgs,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    use crate::terminology::alphabetic::{default_path, AlphaIndex};
    let started = Instant::now();
    let (index, report) = AlphaIndex::import_csv(input, args.system)?;
    let path = match &args.out {
        Some(p) => Some(p.clone()),
        None if args.dry_run => None,
        None => Some(default_path(&cfg.data_dir()?, index.system)),
    };
    if let (Some(p), false) = (&path, args.dry_run) {
        index.write(p)?;
    }
    if args.json {
        #[derive(Serialize)]
        struct IndexOutcome<'a> {
            system: CodeSystem,
            report: &'a crate::terminology::alphabetic::IndexImportReport,
            out: Option<&'a PathBuf>,
            seconds: f64,
        }
        let o = IndexOutcome {
            system: index.system,
            report: &report,
            out: path.as_ref().filter(|_| !args.dry_run),
            seconds: started.elapsed().as_secs_f64(),
        };
        serde_json::to_writer_pretty(&mut *out, &o)?;
        writeln!(out)?;
        return Ok(());
    }
    let r = &report;
    writeln!(
        out,
        "alphabetic index {} ({}): {} rows read, {} index entries ({} lead terms, {} with a code), {} letter/pinyin headings dropped, {} bad rows",
        input.display(),
        system_tag(index.system),
        r.rows_read,
        r.entries,
        r.lead_terms,
        r.with_code,
        r.headings_dropped,
        r.bad_rows
    )?;
    writeln!(
        out,
        "  OCR confidence under 0.9: {} rows (marked in the browser); cross-references: {}, {} lead to a row of the index",
        r.low_confidence, r.cross_refs, r.cross_refs_resolved
    )?;
    match path.filter(|_| !args.dry_run) {
        Some(p) => writeln!(
            out,
            "wrote {} ({:.2} s) — the workbench's index browser (I) reads it",
            p.display(),
            started.elapsed().as_secs_f64()
        )?,
        None => writeln!(out, "dry run: nothing written")?,
    }
    Ok(())
}

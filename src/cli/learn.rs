//! `icdflow learn FILE…`: learns a coding model from records with gold
//! codes (the hospital's coded history, any importer format), normalization
//! pair files and the coders' accepted mappings.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use super::common::TableArgs;
use super::context;
use crate::learn::coder::{from_edits, CoderAliases};
use crate::learn::model::{LearnedModel, TrackModel};
use crate::learn::pairs::{is_pair_file, load_pairs};
use crate::learn::{learn, AliasMemory, LearnInput, LearnOptions, Pair};
use crate::record::Record;

#[derive(Debug, clap::Args)]
pub struct LearnArgs {
    /// Records with gold codes (any importer format) and normalization
    /// pair files (`[{"text", "normalized_result"}]`).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Where to write the model (default: learned.model in the user data
    /// dir, which every run then uses).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Leave out the records whose ids occur in this file (e.g. the records
    /// you will evaluate on); repeatable.
    #[arg(long, value_name = "FILE")]
    pub exclude: Vec<PathBuf>,
    /// Do not learn from the coders' alias memory and saved sessions.
    #[arg(long)]
    pub no_coder_edits: bool,
    /// Print per-code support and cross-validated quality.
    #[arg(long)]
    pub report: bool,
}

/// Records and pairs from a list of files.
pub fn read_inputs(files: &[PathBuf]) -> anyhow::Result<(Vec<Record>, Vec<Pair>)> {
    let (pair_files, record_files): (Vec<PathBuf>, Vec<PathBuf>) =
        files.iter().cloned().partition(|f| is_pair_file(f));
    let mut pairs = Vec::new();
    for f in &pair_files {
        pairs.extend(load_pairs(f)?);
    }
    let records = if record_files.is_empty() {
        Vec::new()
    } else {
        context::load_records(&record_files, &[])?
    };
    Ok((records, pairs))
}

/// Ids of the records in some files.
pub fn ids_of(files: &[PathBuf]) -> anyhow::Result<BTreeSet<String>> {
    if files.is_empty() {
        return Ok(BTreeSet::new());
    }
    Ok(context::load_records(files, &[])?
        .into_iter()
        .map(|r| r.id)
        .collect())
}

/// The coders' accepted mappings: the alias memory file and the coder
/// items of saved sessions.
fn coder_edits() -> anyhow::Result<AliasMemory> {
    let mut m = AliasMemory::default();
    if let Ok(p) = context::coder_aliases_path() {
        m.merge(CoderAliases::open(&p)?.memory());
    }
    let cfg = crate::config::Config::load()?;
    if cfg.sessions_dir()?.is_dir() {
        m.merge(&from_edits(&cfg.session_store()?.audit()?));
    }
    Ok(m)
}

pub fn run(args: LearnArgs, tables: &TableArgs) -> anyhow::Result<()> {
    let (mut records, pairs) = read_inputs(&args.files)?;
    let excluded = ids_of(&args.exclude)?;
    let before = records.len();
    records.retain(|r| !excluded.contains(&r.id));
    if before != records.len() {
        eprintln!(
            "left out {} records whose ids occur in {}",
            before - records.len(),
            args.exclude
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let with_gold = records.iter().filter(|r| !r.gold.is_empty()).count();
    if with_gold == 0 && pairs.is_empty() {
        anyhow::bail!(crate::tr!(
            crate::i18n::current(),
            CliNothingToLearn,
            n = records.len()
        ));
    }
    let ctx = context::coding_context(tables)?;
    let coder = if args.no_coder_edits {
        None
    } else {
        Some(coder_edits()?)
    };
    let opts = LearnOptions {
        sources: args.files.iter().map(|p| p.display().to_string()).collect(),
        ..Default::default()
    };
    let t0 = Instant::now();
    let (model, notes) = learn(
        &ctx,
        &LearnInput {
            records: &records,
            pairs: &pairs,
            coder: coder.as_ref(),
        },
        &opts,
    );
    let secs = t0.elapsed().as_secs_f64();
    for n in &notes.notes {
        eprintln!("note: {n}");
    }
    let out = match args.out {
        Some(p) => p,
        None => context::default_learned_path()?,
    };
    crate::learn::store::save(&model, &out)?;
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "{}",
        crate::tr!(
            crate::i18n::current(),
            CliLearned,
            records = notes.records_with_gold,
            pairs = pairs.len(),
            coder = model.training.coder_edits,
            secs = format!("{secs:.1}"),
            path = out.display(),
            mb = format!("{:.1}", size as f64 / 1e6)
        )
    );
    let cv = model
        .tracks
        .iter()
        .find_map(|t| {
            t.quality
                .as_ref()
                .map(|q| format!(" (with {}-fold CV)", q.folds))
        })
        .unwrap_or_default();
    println!(
        "features {:.1} s, classifiers{cv} {:.1} s",
        notes.features_s, notes.classifiers_s
    );
    println!("{}", summary(&model));
    let mut fam: std::collections::BTreeMap<String, usize> = Default::default();
    for n in &model.vocab.names {
        *fam.entry(n.split(':').next().unwrap_or("").to_string())
            .or_default() += 1;
    }
    println!(
        "feature families: {}",
        fam.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if args.report {
        print!("{}", report(&model));
    }
    Ok(())
}

/// One line per track: codes, principal classes, thresholds, CV quality.
pub fn summary(model: &LearnedModel) -> String {
    let mut s = format!(
        "{} features, {} cases, {} aliases",
        model.vocab.len(),
        model.cases.len(),
        model.aliases.len()
    );
    for t in &model.tracks {
        let add = if t.add_threshold > 1.0 {
            "never (too few records)".to_string()
        } else {
            format!("≥ {:.2}", t.add_threshold)
        };
        s.push_str(&format!(
            "\n{:<9} {} codes, principal over {} classes, add {add}, keep ≥ {:.2}",
            t.track.label(),
            t.codes.len(),
            t.principal.as_ref().map(|p| p.labels.len()).unwrap_or(0),
            t.keep_threshold
        ));
        if let Some(q) = &t.quality {
            s.push_str(&format!(
                "; {}-fold CV: principal {:.3}, P {:.3} R {:.3} F1 {:.3}",
                q.folds, q.principal_accuracy, q.micro_precision, q.micro_recall, q.micro_f1
            ));
        }
    }
    s
}

/// Per-code support and cross-validated quality, most supported first.
pub fn report(model: &LearnedModel) -> String {
    let mut s = String::new();
    for t in &model.tracks {
        s.push_str(&track_report(t));
    }
    s
}

fn track_report(t: &TrackModel) -> String {
    let mut s = format!(
        "\n{} track\n{:<16} {:>7} {:>9} {:>6} {:>6} {:>6}  name\n",
        t.track.label(),
        "code",
        "support",
        "principal",
        "P",
        "R",
        "F1"
    );
    let mut rows: Vec<_> = t.codes.iter().collect();
    rows.sort_by(|a, b| b.support.cmp(&a.support).then_with(|| a.code.cmp(&b.code)));
    for c in rows {
        let q = t
            .quality
            .as_ref()
            .and_then(|q| q.per_code.iter().find(|x| x.code == c.code));
        let f = |v: Option<f32>| v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into());
        s.push_str(&format!(
            "{:<16} {:>7} {:>9} {:>6} {:>6} {:>6}  {}\n",
            c.code,
            c.support,
            c.principal_support,
            f(q.map(|q| q.precision)),
            f(q.map(|q| q.recall)),
            f(q.map(|q| q.f1)),
            c.name
        ));
    }
    if !t.unknown_codes.is_empty() {
        s.push_str(&format!(
            "gold codes not in the table (skipped): {}\n",
            t.unknown_codes.join(", ")
        ));
    }
    s
}

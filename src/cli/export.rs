//! `icdflow export FILE…`: the saved results (final codes, stage summary,
//! 病案首页 line) of records coded in the workbench, as JSON Lines, with
//! `--redact` for handing them outside the hospital (see [`crate::redact`]).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;

use super::common::TableArgs;
use super::context;
use crate::redact::{load_or_create_salt, Redactor};
use crate::tui::export::to_json;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Record files (JointCoder xlsx, CCL25 json, jsonl, text) whose saved
    /// sessions are exported.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write JSON Lines here instead of standard output.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Only these record ids (repeatable).
    #[arg(long = "record", value_name = "ID")]
    pub records: Vec<String>,
    /// Replace record ids by salted pseudonyms and cut names, id and phone
    /// numbers from the text.
    #[arg(long)]
    pub redact: bool,
    /// The salt of the pseudonyms (default: `export-salt` in the data dir,
    /// created on first use; keep it to be able to re-identify).
    #[arg(long, value_name = "PATH", requires = "redact")]
    pub salt_file: Option<PathBuf>,
}

/// Keys whose values redaction leaves alone: the pseudonym itself and the
/// export time.
const KEEP: &[&str] = &["record_id", "exported_at"];

pub fn run(args: ExportArgs, tables: &TableArgs) -> anyhow::Result<()> {
    let cfg = crate::config::Config::load()?;
    let data_dir = cfg.data_dir()?;
    let redactor = if args.redact {
        let path = args
            .salt_file
            .clone()
            .unwrap_or_else(|| data_dir.join("export-salt"));
        Some(Redactor::new(load_or_create_salt(&path)?))
    } else {
        None
    };
    let records = context::load_records(&args.files, &args.records)?;
    let ctx = context::coding_context(tables)?;
    let store = cfg.session_store()?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut exported = 0;
    let mut unsaved = Vec::new();
    for r in &records {
        let shown = match &redactor {
            Some(x) => x.pseudonym(&r.id),
            None => r.id.clone(),
        };
        let Some(session) = store.load(&r.id)? else {
            unsaved.push(shown);
            continue;
        };
        let mut doc = match &redactor {
            Some(x) => {
                let mut doc = to_json(
                    &crate::record::Record::new(shown.clone()),
                    &session.run,
                    Some(&ctx),
                    "saved session",
                );
                x.json(&mut doc, &r.id, KEEP);
                doc
            }
            None => {
                let mut doc = to_json(r, &session.run, Some(&ctx), "saved session");
                if let Some(src) = &session.source {
                    doc["source"] = serde_json::Value::String(src.clone());
                }
                doc
            }
        };
        doc["edits"] = serde_json::Value::from(session.edits.len());
        serde_json::to_writer(&mut out, &doc)?;
        out.write_all(b"\n")?;
        exported += 1;
    }
    out.flush()?;
    if !unsaved.is_empty() {
        eprintln!(
            "{} records have no saved session (open them in `icdflow tui` first): {}",
            unsaved.len(),
            unsaved.join(", ")
        );
    }
    eprintln!(
        "exported {exported} records{}",
        if redactor.is_some() {
            " (redacted: ids are pseudonyms, names and numbers cut from the text)"
        } else {
            ""
        }
    );
    Ok(())
}

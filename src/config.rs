//! User configuration (tables, index location, theme, models).
//!
//! The file is `config.toml` in the user config dir (on Linux
//! `~/.config/icdflow/config.toml`); the environment variable
//! `ICDFLOW_CONFIG` names another file. A missing file means defaults.
//! Every key is optional; an unknown key or section is an error naming the
//! file and line (a typo such as `diag-table` must not fall back to the
//! default table unnoticed).
//!
//! ```toml
//! # code tables (product format from `icdflow import`, or a .dat/.csv/.xlsx
//! # source table loaded directly); default: <data_dir>/tables/icd10.tsv
//! # and <data_dir>/tables/icd9cm3.tsv
//! diag_table = "~/tables/gl2-diagnoses.tsv"
//! proc_table = "/srv/icd/gl3-procedures.tsv"
//! # search indexes; default: <data_dir>/index
//! index_dir = "/var/cache/icdflow/index"
//! # registry packages, tables, indexes; default: the user data dir
//! # (~/.local/share/icdflow); ICDFLOW_DATA_DIR overrides it
//! data_dir = "/srv/icdflow"
//! # coders' sessions and audit log shared by a team (the directory's group
//! # may read and write them); default: each coder's own data dir, 0700
//! team_dir = "/srv/icdflow-team"
//!
//! [tables]
//! # optional names for the levels a table does not list itself (used when
//! # importing or loading a source table)
//! icd10_chapters = "icd10-chapters-blocks-zh.tsv"   # first, last, level, name
//! icd10_categories = "icd10-categories-zh.tsv"      # code, name
//! icd9cm3_categories = "icd9cm3-categories.tsv"     # code, name
//!
//! [tui]      # the workbench: theme, trainer, auto_rerun, export_dir, [tui.keys]
//! [agents]   # file = "agents.toml" (default models/agents.toml);
//!            # server = "http://host:8080" (a shared inference server)
//! ```
//!
//! Relative paths are relative to the config file's directory; `~/` is the
//! home directory. Precedence for tables: command-line flag, then this
//! file, then the default path.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cli::common::TableArgs;
use crate::error::{Error, Location, Result};
use crate::terminology::{
    load_table_with, AncestorNames, CodeSystem, ImportReport, LoadOptions, Terminology,
};

/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "ICDFLOW_CONFIG";
/// Environment variable naming the data dir.
pub const DATA_DIR_ENV: &str = "ICDFLOW_DATA_DIR";

/// Optional name files for the table hierarchy (`[tables]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TablesConfig {
    /// ICD-10 chapters/blocks TSV (`first, last, level, name`).
    pub icd10_chapters: Option<PathBuf>,
    /// ICD-10 category names TSV (`code, name`).
    pub icd10_categories: Option<PathBuf>,
    /// ICD-9-CM-3 category/subcategory names TSV (`code, name`).
    pub icd9cm3_categories: Option<PathBuf>,
}

/// The `[agents]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentsSection {
    /// The agents file (model, adapters, prompts) used when `--agents` is
    /// not given; default `models/agents.toml`.
    pub file: Option<PathBuf>,
    /// An OpenAI-compatible inference server shared by every coder, used
    /// when `--server` is not given.
    pub server: Option<String>,
}

/// The keys the workbench reads from `[tui]` (checked here; read by
/// `tui::TuiOptions::with_tui_table`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TuiKeys {
    theme: Option<String>,
    trainer: Option<bool>,
    auto_rerun: Option<bool>,
    export_dir: Option<PathBuf>,
    keys: Option<toml::Table>,
}

/// The whole file with every section typed, for validation with line
/// numbers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Strict {
    lang: Option<crate::i18n::Lang>,
    diag_table: Option<PathBuf>,
    proc_table: Option<PathBuf>,
    index_dir: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    team_dir: Option<PathBuf>,
    tables: Option<TablesConfig>,
    tui: Option<TuiKeys>,
    agents: Option<AgentsSection>,
}

/// The user configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The interface language (`zh`, the default, or `en`); `--lang` wins.
    pub lang: Option<crate::i18n::Lang>,
    /// Diagnosis (ICD-10) table.
    pub diag_table: Option<PathBuf>,
    /// Procedure (ICD-9-CM-3) table.
    pub proc_table: Option<PathBuf>,
    /// Search index directory.
    pub index_dir: Option<PathBuf>,
    /// Data directory (registry packages, tables, indexes).
    pub data_dir: Option<PathBuf>,
    /// Sessions and audit log shared by a team of coders (group-readable
    /// and -writable); `None`: each coder's own, in the data dir.
    pub team_dir: Option<PathBuf>,
    pub tables: TablesConfig,
    /// `[tui]` section, kept raw for the workbench to interpret.
    pub tui: toml::Table,
    /// `[agents]` section.
    pub agents: AgentsSection,
    /// The file this was read from (`None`: defaults, no file).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "icdflow")
}

fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
}

/// `~/x` → home/x; relative → against `base`.
fn expand(p: &Path, base: Option<&Path>) -> PathBuf {
    if let Ok(rest) = p.strip_prefix("~") {
        if let Some(h) = home_dir() {
            return h.join(rest);
        }
    }
    match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p.to_path_buf(),
    }
}

impl Config {
    /// Path of the config file: `$ICDFLOW_CONFIG`, else the user config dir.
    pub fn path() -> Result<PathBuf> {
        if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(p));
        }
        project_dirs()
            .map(|d| d.config_dir().join("config.toml"))
            .ok_or_else(|| {
                Error::Other(format!(
                    "cannot find the user config dir (no home directory); set {CONFIG_ENV}"
                ))
            })
    }

    /// Loads the user's config; a missing file gives the defaults.
    pub fn load() -> Result<Config> {
        Config::load_from(&Config::path()?)
    }

    /// Loads a config file; a missing file gives the defaults.
    pub fn load_from(path: &Path) -> Result<Config> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Parses config text read from `path` (used for errors and for
    /// resolving relative paths).
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let bad = |e: toml::de::Error| {
            let mut loc = Location::file(path);
            if let Some(span) = e.span() {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                loc = loc.record(format!("line {line}"));
            }
            Error::invalid(loc, format!("bad config: {}", e.message().trim()))
        };
        toml::from_str::<Strict>(text).map_err(bad)?;
        let mut cfg: Config = toml::from_str(text).map_err(bad)?;
        let base = path.parent();
        for p in [
            &mut cfg.diag_table,
            &mut cfg.proc_table,
            &mut cfg.index_dir,
            &mut cfg.data_dir,
            &mut cfg.team_dir,
            &mut cfg.tables.icd10_chapters,
            &mut cfg.tables.icd10_categories,
            &mut cfg.tables.icd9cm3_categories,
            &mut cfg.agents.file,
        ] {
            if let Some(v) = p.as_mut() {
                *v = expand(v, base);
            }
        }
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// The data dir: `$ICDFLOW_DATA_DIR`, else `data_dir`, else the user
    /// data dir.
    pub fn data_dir(&self) -> Result<PathBuf> {
        let env = std::env::var_os(DATA_DIR_ENV)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        self.data_dir_with(env)
    }

    /// [`Config::data_dir`] with the environment value given.
    pub fn data_dir_with(&self, env: Option<PathBuf>) -> Result<PathBuf> {
        if let Some(p) = env {
            return Ok(expand(&p, None));
        }
        if let Some(p) = &self.data_dir {
            return Ok(p.clone());
        }
        project_dirs()
            .map(|d| d.data_dir().to_path_buf())
            .ok_or_else(|| {
                Error::Other(format!(
                    "cannot find the user data dir (no home directory); set {DATA_DIR_ENV}"
                ))
            })
    }

    /// Where the coders' sessions live: the team directory's `sessions`
    /// when one is configured, else the data dir's.
    pub fn sessions_dir(&self) -> Result<PathBuf> {
        match &self.team_dir {
            Some(team) => Ok(team.join("sessions")),
            None => Ok(self.data_dir()?.join("sessions")),
        }
    }

    /// The coders' session store ([`Config::sessions_dir`]): shared with
    /// the team directory's group, or the coder's own (private).
    pub fn session_store(&self) -> Result<crate::session::SessionStore> {
        let dir = self.sessions_dir()?;
        match self.team_dir {
            Some(_) => crate::session::SessionStore::open_team(dir),
            None => crate::session::SessionStore::open(dir),
        }
    }

    /// Where the default table of a system lives:
    /// `<data_dir>/tables/icd10.tsv` or `<data_dir>/tables/icd9cm3.tsv`.
    pub fn default_table(&self, system: CodeSystem) -> Result<PathBuf> {
        Ok(default_table_in(&self.data_dir()?, system))
    }

    /// The search index dir: `index_dir`, else `<data_dir>/index`.
    pub fn index_dir(&self) -> Result<PathBuf> {
        match &self.index_dir {
            Some(p) => Ok(p.clone()),
            None => Ok(self.data_dir()?.join("index")),
        }
    }

    /// Names for the hierarchy of a source table from the `[tables]` files.
    pub fn ancestor_names(&self, system: CodeSystem) -> Result<AncestorNames> {
        let mut a = AncestorNames::default();
        match system {
            CodeSystem::Icd10 => {
                if let Some(p) = &self.tables.icd10_chapters {
                    a.load_chapters_blocks_tsv(p)?;
                }
                if let Some(p) = &self.tables.icd10_categories {
                    a.load_names_tsv(p, system)?;
                }
            }
            CodeSystem::Icd9Cm3 => {
                if let Some(p) = &self.tables.icd9cm3_categories {
                    a.load_names_tsv(p, system)?;
                }
            }
        }
        Ok(a)
    }
}

/// `<data_dir>/tables/<system>.tsv`.
pub fn default_table_in(data_dir: &Path, system: CodeSystem) -> PathBuf {
    data_dir.join("tables").join(format!(
        "{}.tsv",
        crate::terminology::product::system_tag(system)
    ))
}

/// The table to use for one system: flag, then config, then default. The
/// file must exist.
pub fn resolve_table(cfg: &Config, args: &TableArgs, system: CodeSystem) -> Result<PathBuf> {
    let (flag, key, what) = match system {
        CodeSystem::Icd10 => (&args.diag_table, &cfg.diag_table, "diag"),
        CodeSystem::Icd9Cm3 => (&args.proc_table, &cfg.proc_table, "proc"),
    };
    let (path, from) = match (flag, key) {
        (Some(p), _) => (p.clone(), "--".to_string() + what + "-table"),
        (None, Some(p)) => (
            p.clone(),
            format!(
                "{what}_table in {}",
                cfg.source
                    .as_deref()
                    .map_or("the config".into(), |s| s.display().to_string())
            ),
        ),
        (None, None) => (cfg.default_table(system)?, "the default location".into()),
    };
    if path.is_file() {
        return Ok(path);
    }
    let kind = match system {
        CodeSystem::Icd10 => "diagnosis (ICD-10)",
        CodeSystem::Icd9Cm3 => "procedure (ICD-9-CM-3)",
    };
    Err(Error::invalid(
        Location::file(&path),
        format!(
            "no {kind} table here (from {from}); run setup (scripts/setup-tables.sh, then \
             `icdflow import --gnuhealth DATA_DIR`) or pass --{what}-table PATH"
        ),
    ))
}

/// Diagnosis and procedure tables: flag > config > default.
pub fn resolve_tables(cfg: &Config, args: &TableArgs) -> Result<(PathBuf, PathBuf)> {
    Ok((
        resolve_table(cfg, args, CodeSystem::Icd10)?,
        resolve_table(cfg, args, CodeSystem::Icd9Cm3)?,
    ))
}

/// The index dir: `--index-dir`, then config, then `<data_dir>/index`.
pub fn resolve_index_dir(cfg: &Config, args: &TableArgs) -> Result<PathBuf> {
    match &args.index_dir {
        Some(p) => Ok(p.clone()),
        None => cfg.index_dir(),
    }
}

/// Resolves and loads the table of one system, applying the config's
/// `[tables]` names when it is a source table rather than a product table.
pub fn load_configured_table(
    cfg: &Config,
    args: &TableArgs,
    system: CodeSystem,
) -> Result<(Terminology, ImportReport)> {
    let path = resolve_table(cfg, args, system)?;
    let opts = LoadOptions {
        ancestors: cfg.ancestor_names(system)?,
        ..Default::default()
    };
    load_table_with(&path, system, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves_relative_paths() {
        let cfg = Config::parse(
            "diag_table = \"t/d.tsv\"\nproc_table = \"/abs/p.tsv\"\n[tables]\nicd10_chapters = \"c.tsv\"\n[tui]\ntheme = \"dark\"\n[tui.keys]\nquit = \"x\"\n[agents]\nfile = \"a.toml\"\nserver = \"http://h:8080\"\n",
            Path::new("/etc/icdflow/config.toml"),
        )
        .unwrap();
        assert_eq!(
            cfg.diag_table.as_deref(),
            Some(Path::new("/etc/icdflow/t/d.tsv"))
        );
        assert_eq!(cfg.proc_table.as_deref(), Some(Path::new("/abs/p.tsv")));
        assert_eq!(
            cfg.tables.icd10_chapters.as_deref(),
            Some(Path::new("/etc/icdflow/c.tsv"))
        );
        assert_eq!(cfg.tui.get("theme").and_then(|v| v.as_str()), Some("dark"));
        assert_eq!(
            cfg.agents.file.as_deref(),
            Some(Path::new("/etc/icdflow/a.toml"))
        );
        assert_eq!(cfg.agents.server.as_deref(), Some("http://h:8080"));
    }

    #[test]
    fn a_team_dir_holds_the_sessions() {
        let p = Path::new("/x/config.toml");
        let own = Config::parse("data_dir = \"/d\"\n", p).unwrap();
        assert_eq!(own.sessions_dir().unwrap(), Path::new("/d/sessions"));
        let team = Config::parse("data_dir = \"/d\"\nteam_dir = \"team\"\n", p).unwrap();
        assert_eq!(team.sessions_dir().unwrap(), Path::new("/x/team/sessions"));
    }

    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        for (text, line) in [
            ("diag-table = \"x.tsv\"\n", 1),
            ("index_dir = \"i\"\n[tables]\nicd10_chapter = \"c\"\n", 3),
            ("[tui]\ntheme = \"dark\"\nthemes = \"x\"\n", 3),
            ("[agents]\nmodel = \"m.gguf\"\n", 2),
            ("[whatever]\nx = 1\n", 1),
        ] {
            let e = Config::parse(text, Path::new("/x/config.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("/x/config.toml") && e.contains(&format!("line {line}")),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn lang_is_read_and_checked() {
        let p = Path::new("/x/config.toml");
        assert_eq!(Config::parse("", p).unwrap().lang, None);
        let cfg = Config::parse("lang = \"en\"\n", p).unwrap();
        assert_eq!(cfg.lang, Some(crate::i18n::Lang::En));
        let cfg = Config::parse("lang = \"zh\"\n", p).unwrap();
        assert_eq!(cfg.lang, Some(crate::i18n::Lang::Zh));
        let e = Config::parse("diag_table = \"a\"\nlang = \"fr\"\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("fr"), "{e}");
    }

    #[test]
    fn malformed_config_names_file_and_line() {
        let e = Config::parse(
            "diag_table = \"a\"\n\nproc_table = [1,\n",
            Path::new("/x/config.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("/x/config.toml") && e.contains("line 3"), "{e}");
        let e = Config::parse("diag_table = 5\n", Path::new("/x/config.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn precedence_flag_config_default() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let def = default_table_in(&data, CodeSystem::Icd10);
        std::fs::create_dir_all(def.parent().unwrap()).unwrap();
        std::fs::write(&def, "x").unwrap();
        let cfg_file = dir.path().join("cfg.tsv");
        std::fs::write(&cfg_file, "x").unwrap();
        let flag_file = dir.path().join("flag.tsv");
        std::fs::write(&flag_file, "x").unwrap();

        let mut cfg = Config {
            data_dir: Some(data.clone()),
            ..Default::default()
        };
        let none = TableArgs::default();
        // data_dir() would read the environment; resolve with the config's dir
        if std::env::var_os(DATA_DIR_ENV).is_none() {
            assert_eq!(resolve_table(&cfg, &none, CodeSystem::Icd10).unwrap(), def);
            let e = resolve_table(&cfg, &none, CodeSystem::Icd9Cm3)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("--proc-table") && e.contains("icd9cm3.tsv"),
                "{e}"
            );
        }
        cfg.diag_table = Some(cfg_file.clone());
        assert_eq!(
            resolve_table(&cfg, &none, CodeSystem::Icd10).unwrap(),
            cfg_file
        );
        let flags = TableArgs {
            diag_table: Some(flag_file.clone()),
            ..Default::default()
        };
        assert_eq!(
            resolve_table(&cfg, &flags, CodeSystem::Icd10).unwrap(),
            flag_file
        );
        let missing = TableArgs {
            diag_table: Some(dir.path().join("nope.tsv")),
            ..Default::default()
        };
        let e = resolve_table(&cfg, &missing, CodeSystem::Icd10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.tsv") && e.contains("--diag-table"), "{e}");
    }

    #[test]
    fn missing_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::load_from(&dir.path().join("none.toml")).unwrap();
        assert_eq!(cfg, Config::default());
        let p = dir.path().join("config.toml");
        std::fs::write(&p, "index_dir = \"idx\"\n").unwrap();
        let cfg = Config::load_from(&p).unwrap();
        assert_eq!(cfg.index_dir().unwrap(), dir.path().join("idx"));
        assert_eq!(cfg.source.as_deref(), Some(p.as_path()));
    }

    #[test]
    fn data_dir_precedence() {
        let cfg = Config {
            data_dir: Some("/cfg".into()),
            ..Default::default()
        };
        assert_eq!(
            cfg.data_dir_with(Some("/env".into())).unwrap(),
            Path::new("/env")
        );
        assert_eq!(cfg.data_dir_with(None).unwrap(), Path::new("/cfg"));
        assert!(Config::default().data_dir_with(None).is_ok());
    }
}

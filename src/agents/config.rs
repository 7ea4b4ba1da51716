//! `models/agents.toml`: the base model, its runtime settings, and one
//! section per agent (template, optional LoRA adapter, sampling).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::evidence::ContextMode;
use super::role::AgentRole;
use crate::error::{Error, Location};
use crate::Result;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    pub path: Option<PathBuf>,
    pub server: Option<String>,
    pub server_model: Option<String>,
    #[serde(default)]
    pub gpu_layers: u32,
    #[serde(default = "default_ctx")]
    pub n_ctx: u32,
    #[serde(default = "default_seq")]
    pub n_seq_max: u32,
    pub threads: Option<i32>,
    /// Flash attention: on by default, on CPUs too (prompts about 15% faster
    /// on 2 cores with the 0.5B model, where the questions of a stage share
    /// one cache of many sequences).
    #[serde(default = "default_flash_attn")]
    pub flash_attn: bool,
    #[serde(default = "default_budget")]
    pub record_budget_tokens: usize,
}

fn default_ctx() -> u32 {
    4096
}
fn default_seq() -> u32 {
    8
}
fn default_budget() -> usize {
    2600
}
fn default_flash_attn() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(default)]
    pub temperature: f32,
    #[serde(default = "default_max_tokens")]
    pub max_tokens: usize,
    #[serde(default = "default_candidates")]
    pub candidates: usize,
    #[serde(default = "default_low")]
    pub low_confidence: f32,
    /// What the questions carry of the record (see [`ContextMode`]).
    #[serde(default)]
    pub context: ContextMode,
    /// Samples per question; the majority answer wins (needs temperature > 0).
    #[serde(default = "default_votes")]
    pub votes: usize,
    /// Share of the samples the majority needs; under it the question keeps
    /// the retrieval/learned choice.
    #[serde(default = "default_agreement")]
    pub min_agreement: f32,
    /// A standardization answer replaces what retrieval (or the learned
    /// model) chose for an item only when its probability reaches this;
    /// under it the earlier choice stays.
    #[serde(default = "default_overrule")]
    pub overrule_confidence: f32,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            temperature: 0.0,
            max_tokens: default_max_tokens(),
            candidates: default_candidates(),
            low_confidence: default_low(),
            context: ContextMode::default(),
            votes: default_votes(),
            min_agreement: default_agreement(),
            overrule_confidence: default_overrule(),
        }
    }
}

fn default_max_tokens() -> usize {
    96
}
fn default_candidates() -> usize {
    4
}
fn default_low() -> f32 {
    0.6
}
fn default_votes() -> usize {
    1
}
fn default_agreement() -> f32 {
    0.5
}
fn default_overrule() -> f32 {
    0.9
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    #[serde(default = "yes")]
    pub enabled: bool,
    pub template: Option<String>,
    pub adapter: Option<PathBuf>,
    pub max_tokens: Option<usize>,
    pub temperature: Option<f32>,
    pub context: Option<ContextMode>,
    pub votes: Option<usize>,
}

fn yes() -> bool {
    true
}

/// The parsed agents file, with paths made absolute.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentsConfig {
    pub model: Option<ModelSection>,
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub agent: BTreeMap<String, AgentSection>,
    /// Directory of the file (paths and `prompts/` are relative to it).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl AgentsConfig {
    /// Reads and checks an agents file.
    pub fn load(path: &Path) -> Result<AgentsConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut cfg: AgentsConfig = toml::from_str(&text)
            .map_err(|e| Error::invalid(Location::file(path), format!("bad agents file: {e}")))?;
        for name in cfg.agent.keys() {
            if AgentRole::parse(name).is_none() {
                return Err(Error::invalid(
                    Location::file(path).field(format!("agent.{name}")),
                    format!("unknown agent (known: {})", AgentRole::all_names()),
                ));
            }
        }
        for role in AgentRole::ALL {
            let (votes, t) = (cfg.votes(role), cfg.temperature(role));
            if votes == 0 || (votes > 1 && t <= 0.0) {
                return Err(Error::invalid(
                    Location::file(path).field(format!("agent.{}.votes", role.name())),
                    format!(
                        "votes = {votes} needs votes ≥ 1, and temperature > 0 when votes > 1 (greedy samples are all the same; temperature is {t})"
                    ),
                ));
            }
        }
        cfg.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(cfg)
    }

    /// A configuration for one model file and every agent on defaults.
    pub fn for_model(model: PathBuf, base_dir: PathBuf) -> AgentsConfig {
        AgentsConfig {
            model: Some(ModelSection {
                path: Some(model),
                server: None,
                server_model: None,
                gpu_layers: 0,
                n_ctx: default_ctx(),
                n_seq_max: default_seq(),
                threads: None,
                flash_attn: default_flash_attn(),
                record_budget_tokens: default_budget(),
            }),
            defaults: Defaults::default(),
            agent: AgentRole::ALL
                .iter()
                .map(|r| {
                    (
                        r.name().to_string(),
                        AgentSection {
                            enabled: true,
                            ..Default::default()
                        },
                    )
                })
                .collect(),
            base_dir,
        }
    }

    /// Resolves a path from the file relative to its directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// Settings of one agent, `None` when absent or switched off.
    pub fn agent(&self, role: AgentRole) -> Option<&AgentSection> {
        self.agent.get(role.name()).filter(|a| a.enabled)
    }

    pub fn max_tokens(&self, role: AgentRole) -> usize {
        self.agent(role)
            .and_then(|a| a.max_tokens)
            .unwrap_or(self.defaults.max_tokens)
    }

    pub fn temperature(&self, role: AgentRole) -> f32 {
        self.agent(role)
            .and_then(|a| a.temperature)
            .unwrap_or(self.defaults.temperature)
    }

    pub fn context(&self, role: AgentRole) -> ContextMode {
        self.agent(role)
            .and_then(|a| a.context)
            .unwrap_or(self.defaults.context)
    }

    pub fn votes(&self, role: AgentRole) -> usize {
        self.agent(role)
            .and_then(|a| a.votes)
            .unwrap_or(self.defaults.votes)
    }

    /// Every agent's context set to `mode` (for measuring one against the other).
    pub fn set_context(&mut self, mode: ContextMode) {
        self.defaults.context = mode;
        for a in self.agent.values_mut() {
            a.context = None;
        }
    }

    /// LoRA adapters to load with the model: (agent name, file).
    pub fn adapters(&self) -> Vec<(String, PathBuf)> {
        AgentRole::ALL
            .iter()
            .filter_map(|r| {
                self.agent(*r)
                    .and_then(|a| a.adapter.as_ref())
                    .map(|p| (r.name().to_string(), self.resolve(p)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/agents.toml");
        let cfg = AgentsConfig::load(&path).unwrap();
        assert!(cfg.model.is_some());
        for r in AgentRole::ALL {
            assert!(cfg.agent(r).is_some(), "{} missing", r.name());
        }
        assert_eq!(cfg.max_tokens(AgentRole::PrioritizeDiagnosis), 16);
    }

    #[test]
    fn votes_need_a_temperature() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        std::fs::write(&p, "[agent.validate_diagnosis]\nvotes = 3\n").unwrap();
        let e = AgentsConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("agent.validate_diagnosis.votes"), "{e}");
        std::fs::write(
            &p,
            "[defaults]\ncontext = \"record\"\n[agent.validate_diagnosis]\nvotes = 3\ntemperature = 0.7\ncontext = \"spans\"\n",
        )
        .unwrap();
        let cfg = AgentsConfig::load(&p).unwrap();
        assert_eq!(cfg.votes(AgentRole::ValidateDiagnosis), 3);
        assert_eq!(
            cfg.context(AgentRole::ValidateDiagnosis),
            ContextMode::Spans
        );
        assert_eq!(
            cfg.context(AgentRole::ValidateProcedure),
            ContextMode::Record
        );
        std::fs::write(&p, "[defaults]\ncontext = \"summary\"\n").unwrap();
        assert!(AgentsConfig::load(&p).is_err());
    }

    #[test]
    fn unknown_agent_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        std::fs::write(&p, "[agent.summarize]\n").unwrap();
        let e = AgentsConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("agent.summarize"), "{e}");
    }
}

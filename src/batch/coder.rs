//! The worker of batch coding: one engine per thread over shared tables,
//! indexes and learned model, each record coded into one output line.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context as _;

use super::parallel::Worker;
use crate::agents::{Agents, AgentsConfig};
use crate::learn::LearnedHelper;
use crate::pipeline::batch::{code_record, Ablation, CodedRecord};
use crate::pipeline::engine::Control;
use crate::pipeline::{CodingContext, Engine};
use crate::record::Record;

/// What each thread needs to build its engine and code a record.
pub struct CodeWorker {
    pub ctx: Arc<CodingContext>,
    pub learned: Option<LearnedHelper>,
    pub agents: Option<AgentsConfig>,
    pub ablation: Ablation,
    pub trace: bool,
}

/// A coded record as one output line, or why it failed.
pub type Coded = Result<(String, CodedRecord), (String, String)>;

impl CodeWorker {
    /// An engine of this worker's own (agents loaded afresh, the learned
    /// model and tables shared).
    pub fn engine(&self) -> anyhow::Result<Engine> {
        let agents = match &self.agents {
            Some(cfg) => Some(Agents::load(cfg.clone()).context("loading the agents' model")?),
            None => None,
        };
        let learned = self.learned.as_ref().map(LearnedHelper::worker_copy);
        let mut engine = crate::assemble::engine(self.ctx.clone(), learned, agents);
        engine.set_helpers_off(&self.ablation.helpers);
        Ok(engine)
    }
}

impl Worker<Record, Coded> for CodeWorker {
    type State = (Engine, String);

    fn start(&self) -> anyhow::Result<(Engine, String)> {
        let engine = self.engine()?;
        let method = engine.describe();
        Ok((engine, method))
    }

    fn work(&self, (engine, method): &mut (Engine, String), record: Record) -> Coded {
        // Records already handed out are finished after Ctrl-C: the reader
        // stops instead.
        let never = AtomicBool::new(false);
        let mut quiet = |_e| {};
        let mut ctl = Control::new(&never, &mut quiet);
        match code_record(engine, &record, &self.ablation, &mut ctl) {
            Ok(run) => {
                let coded = CodedRecord::from_run(&run, method.clone(), self.trace);
                let line = serde_json::to_string(&coded)
                    .map_err(|e| (record.id.clone(), e.to_string()))?;
                // The trace is in the line; the summary needs only counts.
                let summary = CodedRecord {
                    stages: None,
                    ..coded
                };
                Ok((line, summary))
            }
            Err(e) => Err((record.id, e.to_string())),
        }
    }
}

//! The rule index as a helper of the pipeline: it expands the procedure
//! list in the Code Also stage and, in Validation, drops the Code Also
//! items the final list no longer supports.

use std::any::Any;

use super::{expand, redundant, ResolvedRules, RuleSet};
use crate::pipeline::{
    CodingContext, Control, HelperKind, Method, StageHelper, StageJob, StageKind, Trace,
};
use crate::record::{Record, Track};
use crate::terminology::Terminology;
use crate::Result;

/// Code Also rules resolved against the loaded procedure table.
pub struct RuleHelper {
    rules: ResolvedRules,
}

impl RuleHelper {
    pub fn new(rules: ResolvedRules) -> Self {
        RuleHelper { rules }
    }

    /// The shipped rules resolved against a procedure table.
    pub fn builtin(procedures: &Terminology) -> Self {
        RuleHelper::new(
            RuleSet::builtin()
                .expect("the shipped rules file parses (tested)")
                .resolve(procedures),
        )
    }

    pub fn rules(&self) -> &ResolvedRules {
        &self.rules
    }
}

impl StageHelper for RuleHelper {
    fn kind(&self) -> HelperKind {
        HelperKind::Rules
    }

    fn describe(&self) -> String {
        "rules".to_string()
    }

    fn serves(&self, kind: StageKind, track: Track) -> bool {
        track == Track::Procedure && matches!(kind, StageKind::CodeAlso | StageKind::Validate)
    }

    fn help(
        &mut self,
        ctx: &CodingContext,
        record: &Record,
        kind: StageKind,
        jobs: &mut [StageJob],
        _ctl: &mut Control,
    ) -> Result<()> {
        for job in jobs.iter_mut().filter(|j| j.track == Track::Procedure) {
            match kind {
                StageKind::CodeAlso => {
                    let exp = expand(
                        record,
                        &job.input,
                        &self.rules,
                        ctx.procedures.terminology(),
                    );
                    let mut trace = Trace::new(Method::Rules);
                    trace.notes = exp.notes;
                    trace.note(format!(
                        "{} Code Also items added",
                        exp.items.len() - job.input.len()
                    ));
                    job.items = exp.items;
                    job.trace = trace;
                }
                StageKind::Validate => {
                    let drop = redundant(&job.items, &self.rules);
                    for r in drop.iter().rev() {
                        job.trace
                            .note(format!("dropped {}: {}", job.items[r.index].text, r.reason));
                        job.items.remove(r.index);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn notes_for(&self, track: Track, code: &str) -> Vec<String> {
        if track != Track::Procedure {
            return Vec::new();
        }
        self.rules
            .rules_for(code)
            .iter()
            .map(|r| format!("另编码 {}：{}", r.id(), r.rule.note_zh))
            .collect()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

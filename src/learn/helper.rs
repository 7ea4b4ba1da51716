//! The learned model as a helper of the stages.
//!
//! - Standardization: an item whose raw text the alias memory knows (the
//!   coders' own first, then the model's) takes the remembered codes; the
//!   diagnosis track also gets the codes the classifiers are confident
//!   about (procedures get theirs in Candidate Mining), each with the
//!   record text that supports it or flagged when none is found.
//! - Prioritization: the principal classifier's choice among the items
//!   (or, failing a classifier, the principal-code priors) moves first
//!   when it clearly beats the rules' choice.
//! - Validation: items the model scores under the cross-validated
//!   threshold are dropped (never a coder's item, never the principal).
//! - Mapping: with a closed label set, codes outside it are left out.
//!
//! Every item this helper writes has origin `learned`, its probability as
//! confidence and the model's version; the trace names the features that
//! weighed most.

use std::any::Any;
use std::path::PathBuf;
use std::sync::Arc;

use super::coder::SharedCoderAliases;
use super::model::{LearnedModel, Prediction, TrackModel};
use crate::pipeline::stages::evidence::find_best;
use crate::pipeline::stages::standardize;
use crate::pipeline::{
    CodingContext, Control, Flag, HelperKind, Item, Method, Origin, Span, StageHelper, StageJob,
    StageKind,
};
use crate::record::{Record, Track};
use crate::Result;

/// Switches of the learned helper.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LearnedSettings {
    /// Map keeps only codes the model learned (shared-task label space).
    pub closed_label_set: bool,
}

/// How many features a trace note names.
const EXPLAIN: usize = 4;
/// A principal choice must beat the rules' choice by this much.
const PRINCIPAL_MARGIN: f32 = 0.1;
/// Fuzzy alias suggestions under this vote are not used.
const ALIAS_MIN_SCORE: f32 = 0.75;
/// Neighbours asked, their least similarity, and the vote share a code
/// needs to be added from them (see `add_alias_votes`).
const VOTE_K: usize = 5;
const VOTE_MIN_SIM: f32 = 0.3;
const VOTE_SHARE: f32 = 0.4;

/// The learned model, the coders' alias memory, or both.
pub struct LearnedHelper {
    model: Option<Arc<LearnedModel>>,
    /// Where the model was loaded from (for the output's "which model").
    path: Option<PathBuf>,
    coder: Option<SharedCoderAliases>,
    pub settings: LearnedSettings,
    /// The prediction for the record in hand.
    cache: Option<(String, Prediction)>,
}

impl LearnedHelper {
    pub fn new(model: Option<Arc<LearnedModel>>, path: Option<PathBuf>) -> Self {
        LearnedHelper {
            model,
            path,
            coder: None,
            settings: LearnedSettings::default(),
            cache: None,
        }
    }

    pub fn with_coder_aliases(mut self, coder: SharedCoderAliases) -> Self {
        self.coder = Some(coder);
        self
    }

    /// Another helper over the same model and alias memory, with its own
    /// per-record state: one per thread when records are coded in parallel.
    pub fn worker_copy(&self) -> LearnedHelper {
        LearnedHelper {
            model: self.model.clone(),
            path: self.path.clone(),
            coder: self.coder.clone(),
            settings: self.settings.clone(),
            cache: None,
        }
    }

    /// Replaces the model (the folds of a cross-validation).
    pub fn set_model(&mut self, model: Option<Arc<LearnedModel>>) {
        self.model = model;
        self.path = None;
        self.cache = None;
    }

    /// The file the model was read from.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    pub fn model(&self) -> Option<&Arc<LearnedModel>> {
        self.model.as_ref()
    }

    pub fn coder_aliases(&self) -> Option<&SharedCoderAliases> {
        self.coder.as_ref()
    }

    /// Short version tag carried by items: format and training fingerprint.
    fn version(&self) -> String {
        match &self.model {
            Some(m) => format!(
                "learned v{} {}",
                m.format,
                &m.training.fingerprint[..8.min(m.training.fingerprint.len())]
            ),
            None => "coder aliases".into(),
        }
    }

    fn prediction(&mut self, ctx: &CodingContext, record: &Record) -> Option<&Prediction> {
        let model = self.model.as_ref()?;
        let key = format!("{}\u{0}{}", record.id, record.char_len());
        if self.cache.as_ref().is_none_or(|(k, _)| *k != key) {
            self.cache = Some((key, model.predict(ctx, record)));
        }
        self.cache.as_ref().map(|(_, p)| p)
    }

    fn track_model(&self, track: Track) -> Option<&TrackModel> {
        self.model.as_ref()?.track(track)
    }

    fn explain(&self, track: Track, code: &str, p: &Prediction) -> String {
        let Some(m) = &self.model else {
            return String::new();
        };
        m.explain(track, code, &p.vector, EXPLAIN)
            .iter()
            .map(|(n, c)| format!("{n} {c:+.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn mark(&self, it: &mut Item, p: f32) {
        it.origin = Origin::Learned;
        it.confidence = Some(p);
        it.model = Some(self.version());
    }

    /// A remembered mapping of the whole list field (a text that names
    /// several diagnoses at once, as normalization pairs do): replaces the
    /// items split from it.
    fn apply_field_alias(&self, ctx: &CodingContext, record: &Record, job: &mut StageJob) -> bool {
        let Some((si, text)) = standardize::source_fields(job.track).iter().find_map(|f| {
            let i = record.section_index(f)?;
            let t = record.sections[i].text.trim();
            (!t.is_empty()).then_some((i, t))
        }) else {
            return false;
        };
        let coder = self.coder.as_ref().and_then(|c| c.lock().ok());
        let found = coder
            .as_ref()
            .and_then(|c| {
                c.memory()
                    .exact(job.track, text)
                    .map(|a| (a.best().to_vec(), 1.0, "coder"))
            })
            .or_else(|| {
                let m = self.model.as_ref()?;
                let a = m.aliases.exact(job.track, text)?;
                Some((a.best().to_vec(), a.agreement(), a.source.label()))
            });
        let Some((codes, score, how)) = found else {
            return false;
        };
        let term = ctx.matcher(job.track).terminology();
        let entries: Vec<_> = codes.iter().filter_map(|c| term.get(c)).collect();
        if entries.is_empty() {
            return false;
        }
        let from_field = |it: &Item| it.evidence.iter().any(|s| s.section == si);
        let before: Vec<&str> = job
            .items
            .iter()
            .filter(|i| from_field(i))
            .filter_map(|i| i.code.as_deref())
            .collect();
        let after: Vec<&str> = entries.iter().map(|e| e.code.as_str()).collect();
        if before == after {
            return true;
        }
        job.trace.note(format!(
            "alias memory ({how} alias of the whole field): → {}",
            after.join(" + ")
        ));
        let span = Span {
            section: si,
            start: 0,
            end: record.sections[si].text.len(),
        };
        let mut out: Vec<Item> = job
            .items
            .iter()
            .filter(|i| i.origin == Origin::Coder || !from_field(i))
            .cloned()
            .collect();
        for e in entries {
            let mut n = Item::new(e.name.clone(), Origin::Learned)
                .with_code(e.code.clone())
                .with_source(text.to_string());
            self.mark(&mut n, score);
            n.evidence.push(span);
            out.push(n);
        }
        job.items = out;
        true
    }

    /// Codes that the texts nearest to the list field were mapped to (the
    /// field as a whole, as normalization pairs remember it), added when
    /// enough of the neighbours agree.
    fn add_alias_votes(&self, ctx: &CodingContext, record: &Record, job: &mut StageJob) {
        let Some(model) = &self.model else { return };
        let Some((si, text)) = standardize::source_fields(job.track).iter().find_map(|f| {
            let i = record.section_index(f)?;
            let t = record.sections[i].text.trim();
            (!t.is_empty()).then_some((i, t))
        }) else {
            return;
        };
        let term = ctx.matcher(job.track).terminology();
        for v in model.aliases.votes(job.track, text, VOTE_K, VOTE_MIN_SIM) {
            if v.share < VOTE_SHARE {
                break;
            }
            let Some(e) = term.get(&v.code) else { continue };
            if job
                .items
                .iter()
                .any(|i| i.code.as_deref() == Some(e.code.as_str()))
            {
                continue;
            }
            let mut it = Item::new(e.name.clone(), Origin::Learned)
                .with_code(e.code.clone())
                .with_source(text.to_string());
            self.mark(&mut it, v.share);
            it.evidence.push(Span {
                section: si,
                start: 0,
                end: record.sections[si].text.len(),
            });
            job.trace.note(format!(
                "alias memory: {} {} voted by {:.0}% of the nearest remembered texts (closest “{}”, {:.2})",
                e.code,
                e.name,
                v.share * 100.0,
                v.via,
                v.similarity
            ));
            job.items.push(it);
        }
    }

    /// Alias memory over the items' raw texts: coder first, then model.
    fn apply_aliases(&self, ctx: &CodingContext, job: &mut StageJob) {
        let term = ctx.matcher(job.track).terminology();
        let coder = self.coder.as_ref().and_then(|c| c.lock().ok());
        let mut out: Vec<Item> = Vec::new();
        let mut done: Vec<String> = Vec::new();
        for it in &job.items {
            let Some(src) = it.source.clone().filter(|_| it.origin != Origin::Coder) else {
                out.push(it.clone());
                continue;
            };
            if done.contains(&src) {
                continue; // already replaced with the whole piece's codes
            }
            let from_coder = coder
                .as_ref()
                .and_then(|c| c.memory().exact(job.track, &src))
                .map(|a| (a.best().to_vec(), 1.0, "coder".to_string()));
            let from_model = || {
                let m = self.model.as_ref()?;
                let s = m.aliases.suggest(job.track, &src, 5, 0.5);
                let top = s.into_iter().next()?;
                let weak_item = it.confidence.unwrap_or(0.0) < 0.9 || it.code.is_none();
                (top.exact || (weak_item && top.score >= ALIAS_MIN_SCORE)).then(|| {
                    let how = if top.exact {
                        format!("{} alias", top.source.label())
                    } else {
                        format!("near “{}”", top.via)
                    };
                    (top.codes, top.score, how)
                })
            };
            let Some((codes, score, how)) = from_coder.or_else(from_model) else {
                out.push(it.clone());
                continue;
            };
            let entries: Vec<_> = codes.iter().filter_map(|c| term.get(c)).collect();
            if entries.is_empty() {
                out.push(it.clone());
                continue;
            }
            let same: Vec<&Item> = job
                .items
                .iter()
                .filter(|x| x.source.as_deref() == Some(src.as_str()))
                .collect();
            let before: Vec<&str> = same.iter().filter_map(|x| x.code.as_deref()).collect();
            let after: Vec<&str> = entries.iter().map(|e| e.code.as_str()).collect();
            done.push(src.clone());
            if before == after {
                out.extend(same.into_iter().cloned());
                continue;
            }
            job.trace.note(format!(
                "alias memory ({how}): “{src}” → {} (was {})",
                after.join(" + "),
                if before.is_empty() {
                    "unmapped".to_string()
                } else {
                    before.join(" + ")
                }
            ));
            for e in entries {
                let mut n = Item::new(e.name.clone(), Origin::Learned)
                    .with_code(e.code.clone())
                    .with_source(src.clone());
                self.mark(&mut n, score);
                n.evidence = it.evidence.clone();
                out.push(n);
            }
        }
        job.items = out;
    }

    /// Adds the codes the classifiers are confident about.
    fn add_candidates(&mut self, ctx: &CodingContext, record: &Record, job: &mut StageJob) {
        let Some(tm) = self.track_model(job.track).cloned() else {
            return;
        };
        let Some(p) = self.prediction(ctx, record).cloned() else {
            return;
        };
        let term = ctx.matcher(job.track).terminology();
        let mut scored: Vec<(String, f32)> = p.codes.get(&job.track).cloned().unwrap_or_default();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (code, prob) in scored.into_iter().filter(|(_, q)| *q >= tm.add_threshold) {
            if job
                .items
                .iter()
                .any(|i| i.code.as_deref() == Some(code.as_str()))
            {
                continue;
            }
            let Some(e) = term.get(&code) else { continue };
            let mut it = Item::new(e.name.clone(), Origin::Learned).with_code(e.code.clone());
            self.mark(&mut it, prob);
            it.source = Some(format!("learned: p={prob:.2} ≥ {:.2}", tm.add_threshold));
            let names = std::iter::once(&e.name).chain(e.aliases.iter());
            let span = names
                .filter_map(|n| find_best(record, n, &[], 3))
                .max_by_key(|(_, len)| *len)
                .map(|(s, _)| s);
            match span {
                Some(s) => it.evidence.push(s),
                None => it.flag(Flag::NoEvidence),
            }
            job.trace.note(format!(
                "learned: added {code} {} (p={prob:.2}){} — {}",
                e.name,
                if it.evidence.is_empty() {
                    ", no supporting text found"
                } else {
                    ""
                },
                self.explain(job.track, &code, &p)
            ));
            job.items.push(it);
        }
    }

    fn prioritize(&mut self, ctx: &CodingContext, record: &Record, job: &mut StageJob) {
        if job.items.is_empty() || job.items[0].origin == Origin::Coder && job.items.len() == 1 {
            return;
        }
        let track = job.track;
        let Some(model) = self.model.clone() else {
            return;
        };
        let has_classifier = model.track(track).is_some_and(|t| t.principal.is_some());
        if !has_classifier {
            let priors = &model.priors;
            let rate = |it: &Item| {
                it.code
                    .as_deref()
                    .and_then(|c| priors.principal_rate(track, c))
            };
            let first = rate(&job.items[0]);
            let best = job
                .items
                .iter()
                .enumerate()
                .filter_map(|(k, it)| rate(it).map(|r| (k, r)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((k, r)) = best {
                if k != 0 && r >= 0.25 && first.is_none_or(|f| r > f + 0.05) {
                    let mut it = job.items.remove(k);
                    job.trace.note(format!(
                        "history ({} records): {} is principal in {:.0}% of the records that have it",
                        priors.records,
                        it.code.as_deref().unwrap_or("-"),
                        r * 100.0
                    ));
                    self.mark(&mut it, r);
                    job.items.insert(0, it);
                }
            }
            return;
        }
        let Some(p) = self.prediction(ctx, record).cloned() else {
            return;
        };
        let probs = p.principal.get(&track).cloned().unwrap_or_default();
        let pp = |c: Option<&str>| {
            c.and_then(|c| probs.iter().find(|(x, _)| x == c))
                .map(|x| x.1)
                .unwrap_or(0.0)
        };
        let first_p = pp(job.items[0].code.as_deref());
        let best_item = job
            .items
            .iter()
            .enumerate()
            .map(|(k, it)| (k, pp(it.code.as_deref())))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let top = probs.first().cloned();
        let term = ctx.matcher(track).terminology();
        // The classifier's own top choice, absent from the list, leads when
        // it is more likely than everything listed.
        if let Some((code, tp)) = top.filter(|(c, tp)| {
            *tp >= 0.5
                && !job
                    .items
                    .iter()
                    .any(|i| i.code.as_deref() == Some(c.as_str()))
                && best_item.is_none_or(|(_, bp)| *tp > bp + PRINCIPAL_MARGIN)
        }) {
            if let Some(e) = term.get(&code) {
                let mut it = Item::new(e.name.clone(), Origin::Learned).with_code(e.code.clone());
                self.mark(&mut it, tp);
                it.source = Some(format!("learned principal: p={tp:.2}"));
                match find_best(record, &e.name, &[], 3) {
                    Some((s, _)) => it.evidence.push(s),
                    None => it.flag(Flag::NoEvidence),
                }
                job.trace.note(format!(
                    "learned principal: {code} {} (p={tp:.2}), not in the list, leads — {}",
                    e.name,
                    explain_principal(&model, track, &code, &p)
                ));
                job.items.insert(0, it);
                return;
            }
        }
        if let Some((k, bp)) = best_item {
            if k != 0 && bp > first_p + PRINCIPAL_MARGIN && job.items[0].origin != Origin::Coder {
                let mut it = job.items.remove(k);
                let code = it.code.clone().unwrap_or_default();
                job.trace.note(format!(
                    "learned principal: {code} {} (p={bp:.2}) over {} (p={first_p:.2}) — {}",
                    it.text,
                    job.items[0].code.as_deref().unwrap_or("-"),
                    explain_principal(&model, track, &code, &p)
                ));
                if it.origin != Origin::Coder {
                    self.mark(&mut it, bp);
                }
                job.items.insert(0, it);
            }
        }
    }

    fn validate(&mut self, ctx: &CodingContext, record: &Record, job: &mut StageJob) {
        let Some(tm) = self.track_model(job.track).cloned() else {
            return;
        };
        let Some(p) = self.prediction(ctx, record).cloned() else {
            return;
        };
        let mut out = Vec::new();
        for (k, it) in job.items.iter().enumerate() {
            let prob = it.code.as_deref().and_then(|c| p.prob(job.track, c));
            match prob {
                Some(q) if k > 0 && it.origin != Origin::Coder && q < tm.keep_threshold => {
                    job.trace.note(format!(
                        "learned: dropped {} {} (p={q:.2} < {:.2}) — {}",
                        it.code.as_deref().unwrap_or("-"),
                        it.text,
                        tm.keep_threshold,
                        self.explain(job.track, it.code.as_deref().unwrap_or(""), &p)
                    ));
                }
                _ => out.push(it.clone()),
            }
        }
        // One item per exclusive category: the coder's, else the principal,
        // else one read from the record's own list (its wording decides a
        // grade better than a model that never saw the record's hospital:
        // hypertension grades on CCL25), else the one the model scores
        // highest.
        let score = |k: usize, it: &Item| -> f32 {
            if it.origin == Origin::Coder {
                4.0
            } else if k == 0 {
                3.0
            } else if it.origin != Origin::Learned {
                2.0
            } else {
                it.code
                    .as_deref()
                    .and_then(|c| p.prob(job.track, c))
                    .unwrap_or(0.0)
            }
        };
        let mut keep = vec![true; out.len()];
        for i in 0..out.len() {
            let Some(cat) = out[i]
                .code
                .as_deref()
                .and_then(|c| tm.exclusive_category(c))
            else {
                continue;
            };
            for j in (i + 1)..out.len() {
                if !keep[i] || !keep[j] {
                    continue;
                }
                if out[j]
                    .code
                    .as_deref()
                    .and_then(|c| tm.exclusive_category(c))
                    != Some(cat)
                {
                    continue;
                }
                let loser = if score(j, &out[j]) > score(i, &out[i]) {
                    i
                } else {
                    j
                };
                keep[loser] = false;
                job.trace.note(format!(
                    "learned: dropped {} {}: the history never codes two {cat} codes together",
                    out[loser].code.as_deref().unwrap_or("-"),
                    out[loser].text
                ));
            }
        }
        job.items = out
            .into_iter()
            .zip(keep)
            .filter_map(|(it, k)| k.then_some(it))
            .collect();
    }

    fn closed_label_set(&self, job: &mut StageJob) {
        let Some(model) = &self.model else { return };
        let Some(tm) = model.track(job.track) else {
            return;
        };
        let before = job.items.len();
        let track = job.track;
        job.items.retain(|it| {
            it.origin == Origin::Coder
                || it
                    .code
                    .as_deref()
                    .is_none_or(|c| tm.code(c).is_some() || model.priors.has_code(track, c))
        });
        let dropped = before - job.items.len();
        if dropped > 0 {
            job.trace.note(format!(
                "{dropped} codes left out: outside the learned label set"
            ));
        }
    }
}

fn explain_principal(model: &LearnedModel, track: Track, code: &str, p: &Prediction) -> String {
    model
        .explain_principal(track, code, &p.vector, EXPLAIN)
        .iter()
        .map(|(n, c)| format!("{n} {c:+.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl StageHelper for LearnedHelper {
    fn kind(&self) -> HelperKind {
        HelperKind::Learned
    }

    fn describe(&self) -> String {
        match &self.model {
            Some(m) => format!("learned ({} records)", m.training.ids.len()),
            None => "coder aliases".to_string(),
        }
    }

    fn serves(&self, kind: StageKind, track: Track) -> bool {
        match kind {
            StageKind::Standardize => true,
            StageKind::Mine => track == Track::Procedure && self.model.is_some(),
            StageKind::Prioritize | StageKind::Validate => self.model.is_some(),
            StageKind::Map => self.model.is_some() && self.settings.closed_label_set,
            StageKind::CodeAlso => false,
        }
    }

    fn help(
        &mut self,
        ctx: &CodingContext,
        record: &Record,
        kind: StageKind,
        jobs: &mut [StageJob],
        _ctl: &mut Control,
    ) -> Result<()> {
        for job in jobs.iter_mut() {
            let before = job.items.clone();
            match kind {
                StageKind::Standardize => {
                    if !self.apply_field_alias(ctx, record, job) {
                        self.apply_aliases(ctx, job);
                        self.add_alias_votes(ctx, record, job);
                    }
                    if job.track == Track::Diagnosis {
                        self.add_candidates(ctx, record, job);
                    }
                }
                StageKind::Mine => self.add_candidates(ctx, record, job),
                StageKind::Prioritize => self.prioritize(ctx, record, job),
                StageKind::Validate => self.validate(ctx, record, job),
                StageKind::Map => self.closed_label_set(job),
                StageKind::CodeAlso => {}
            }
            if job.items != before && !matches!(job.trace.method, Method::Agent { .. }) {
                job.trace.method = Method::Learned {
                    model: self.version(),
                };
            }
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

//! Learning a model from coded records, normalization pairs and coders'
//! edits; thresholds by cross-validation inside the training data.

use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::aliases::{AliasMemory, AliasSource};
use super::cases::CaseBase;
use super::features::{FeatureConfig, KeywordVocab, Vocabulary};
use super::linear::{Binary, Softmax, SparseVec, TrainOptions};
use super::model::{
    code_fingerprint, extractor, CodeModel, CodeQuality, LearnedModel, PrincipalModel, TableTie,
    TrackModel, TrackQuality, TrainingSet, FORMAT_VERSION,
};
use super::priors::Priors;
use crate::pipeline::stages::{split::split_field, standardize};
use crate::pipeline::{CodingContext, Span, Trace};
use crate::record::{Record, Track};
use crate::text::normalize_name;

/// How to learn.
#[derive(Debug, Clone)]
pub struct LearnOptions {
    pub config: FeatureConfig,
    pub train: TrainOptions,
    /// Codes seen in fewer training records get no classifier.
    pub min_support: u32,
    /// Folds of the inner cross-validation that picks the thresholds and
    /// measures quality (0 or 1: fixed thresholds, no quality report).
    pub inner_folds: usize,
    /// Files learned from, for the record in the model.
    pub sources: Vec<String>,
}

impl Default for LearnOptions {
    fn default() -> Self {
        let config = FeatureConfig::default();
        let train = TrainOptions::default();
        LearnOptions {
            config,
            train,
            min_support: 2,
            inner_folds: 5,
            sources: Vec::new(),
        }
    }
}

/// A normalization pair: raw text and the standard names it maps to.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub text: String,
    pub names: Vec<String>,
}

/// What learning reads.
#[derive(Default)]
pub struct LearnInput<'a> {
    pub records: &'a [Record],
    pub pairs: &'a [Pair],
    /// Coders' accepted edits (the user alias memory).
    pub coder: Option<&'a AliasMemory>,
}

/// What learning saw and skipped, for the report.
#[derive(Debug, Clone, Default)]
pub struct LearnNotes {
    pub records_with_gold: usize,
    pub pairs_unknown_names: usize,
    pub notes: Vec<String>,
    /// Seconds spent extracting features, and fitting (CV included).
    pub features_s: f64,
    pub classifiers_s: f64,
}

/// One record's gold for a track, resolved to the table's spelling.
struct TrackGold {
    codes: Vec<String>,
}

/// Gold codes of a record resolved against the table; unknown codes are
/// collected, duplicates dropped, principal first.
fn resolve_gold(
    ctx: &CodingContext,
    record: &Record,
    track: Track,
    unknown: &mut BTreeSet<String>,
) -> Option<TrackGold> {
    let gold = record.gold.track(track)?;
    let term = ctx.matcher(track).terminology();
    let mut codes = Vec::new();
    for g in gold {
        match term.get(&g.code) {
            Some(e) => {
                if !codes.contains(&e.code) {
                    codes.push(e.code.clone());
                }
            }
            None => {
                unknown.insert(g.code.clone());
            }
        }
    }
    Some(TrackGold { codes })
}

/// SHA-256 over sorted ids and their gold codes.
fn training_fingerprint(records: &[&Record]) -> (Vec<String>, String) {
    let mut rows: Vec<String> = records
        .iter()
        .map(|r| {
            let codes = |t: Track| {
                r.gold
                    .track(t)
                    .unwrap_or(&[])
                    .iter()
                    .map(|g| g.code.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            format!(
                "{}\t{}\t{}",
                r.id,
                codes(Track::Diagnosis),
                codes(Track::Procedure)
            )
        })
        .collect();
    rows.sort();
    let mut h = Sha256::new();
    for r in &rows {
        h.update(r.as_bytes());
        h.update(b"\n");
    }
    let mut ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    ids.dedup();
    (ids, format!("{:x}", h.finalize()))
}

/// Classifiers of one track fitted on some records.
struct Fitted {
    codes: Vec<(usize, Binary)>,
    principal: Option<(Vec<Option<usize>>, Softmax)>,
}

/// Fits the per-code and principal models on the records `rows`.
fn fit(
    xs: &[SparseVec],
    golds: &[Option<TrackGold>],
    labels: &[String],
    rows: &[usize],
    dim: usize,
    opts: &LearnOptions,
) -> Fitted {
    let rows: Vec<usize> = rows
        .iter()
        .copied()
        .filter(|&r| golds[r].is_some())
        .collect();
    let refs: Vec<&SparseVec> = rows.iter().map(|&r| &xs[r]).collect();
    let label_index: HashMap<&str, usize> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    let codes: Vec<(usize, Binary)> = (0..labels.len())
        .into_par_iter()
        .filter_map(|l| {
            let ys: Vec<bool> = rows
                .iter()
                .map(|&r| {
                    golds[r]
                        .as_ref()
                        .is_some_and(|g| g.codes.contains(&labels[l]))
                })
                .collect();
            let pos = ys.iter().filter(|&&y| y).count();
            if pos == 0 {
                return None;
            }
            Some((l, Binary::train(&refs, &ys, dim, 1.0, &opts.train)))
        })
        .collect();
    // Principal: classes are the labels seen as principal at least
    // `min_support` times here, plus "other".
    let mut counts: HashMap<usize, u32> = HashMap::new();
    for &r in &rows {
        if let Some(&l) = golds[r]
            .as_ref()
            .and_then(|g| g.codes.first())
            .and_then(|c| label_index.get(c.as_str()))
        {
            *counts.entry(l).or_default() += 1;
        }
    }
    let mut classes: Vec<Option<usize>> = counts
        .iter()
        .filter(|(_, &n)| n >= opts.min_support)
        .map(|(&l, _)| Some(l))
        .collect();
    classes.sort();
    let principal = if classes.len() >= 2 {
        let class_of = |r: usize| -> Option<usize> {
            let first = golds[r].as_ref()?.codes.first()?;
            let l = label_index.get(first.as_str())?;
            classes.iter().position(|c| *c == Some(*l))
        };
        let known: Vec<Option<usize>> = rows.iter().map(|&r| class_of(r)).collect();
        if known.iter().any(Option::is_none) {
            classes.push(None);
        }
        let ys: Vec<usize> = known
            .iter()
            .map(|c| c.unwrap_or(classes.len() - 1))
            .collect();
        let m = Softmax::train(&refs, &ys, classes.len(), dim, &opts.train);
        Some((classes, m))
    } else {
        None
    };
    Fitted { codes, principal }
}

/// Codes a record would get from its own list field (the standardization
/// stage on its own): what Validation later filters.
fn listed_codes(ctx: &CodingContext, record: &Record, track: Track) -> Vec<String> {
    let (items, _) = standardize::run(ctx, record, track);
    let mut out: Vec<String> = Vec::new();
    for c in items.into_iter().filter_map(|i| i.code) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Out-of-fold scores of one held-out record.
struct Oof {
    probs: HashMap<String, f32>,
    principal: Option<String>,
}

fn f1(tp: usize, pred: usize, gold: usize) -> f32 {
    if pred == 0 || gold == 0 {
        return 0.0;
    }
    let p = tp as f32 / pred as f32;
    let r = tp as f32 / gold as f32;
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// The final set of a record under thresholds (add, keep): listed codes the
/// model keeps (or does not know), plus codes it proposes.
fn decide(o: &Oof, listed: &[String], add: f32, keep: f32) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = listed
        .iter()
        .filter(|c| o.probs.get(*c).is_none_or(|&p| p >= keep))
        .cloned()
        .collect();
    out.extend(
        o.probs
            .iter()
            .filter(|(_, &p)| p >= add)
            .map(|(c, _)| c.clone()),
    );
    if let Some(p) = &o.principal {
        out.insert(p.clone());
    }
    out
}

const GRID: [f32; 17] = [
    0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9,
];

/// Picks (add, keep) maximizing micro F1 of the decided sets, and measures
/// quality per code at `add`.
fn choose_thresholds(
    oof: &[(usize, Oof)],
    golds: &[Option<TrackGold>],
    listed: &[Vec<String>],
    labels: &[String],
) -> (f32, f32, TrackQuality) {
    let mut best = (0.5, 0.5, -1.0f32);
    for &add in &GRID {
        for &keep in GRID.iter().filter(|&&k| k <= add) {
            let (mut tp, mut np, mut ng) = (0, 0, 0);
            for (r, o) in oof {
                let Some(g) = &golds[*r] else { continue };
                let d = decide(o, &listed[*r], add, keep);
                tp += d.iter().filter(|c| g.codes.contains(c)).count();
                np += d.len();
                ng += g.codes.len();
            }
            let f = f1(tp, np, ng);
            if f > best.2 + 1e-6 {
                best = (add, keep, f);
            }
        }
    }
    let (add, mut keep, _) = best;
    // With no listed codes in the training data (keyword extractions have
    // no diagnosis field) the keep threshold was never tested: drop nothing.
    if oof.iter().all(|(r, _)| listed[*r].is_empty()) {
        keep = 0.0;
    }
    let mut q = TrackQuality::default();
    let (mut tp, mut np, mut ng, mut princ, mut n) = (0, 0, 0, 0, 0);
    for (r, o) in oof {
        let Some(g) = &golds[*r] else { continue };
        n += 1;
        let d = decide(o, &listed[*r], add, keep);
        tp += d.iter().filter(|c| g.codes.contains(c)).count();
        np += d.len();
        ng += g.codes.len();
        if o.principal.is_some() && o.principal.as_ref() == g.codes.first() {
            princ += 1;
        }
    }
    q.micro_precision = tp as f32 / np.max(1) as f32;
    q.micro_recall = tp as f32 / ng.max(1) as f32;
    q.micro_f1 = f1(tp, np, ng);
    q.principal_accuracy = princ as f32 / n.max(1) as f32;
    for l in labels {
        let (mut tp, mut np, mut ng) = (0, 0, 0);
        for (r, o) in oof {
            let Some(g) = &golds[*r] else { continue };
            let pred = o.probs.get(l).is_some_and(|&p| p >= add);
            let gold = g.codes.contains(l);
            tp += (pred && gold) as usize;
            np += pred as usize;
            ng += gold as usize;
        }
        q.per_code.push(CodeQuality {
            code: l.clone(),
            support: ng as u32,
            precision: tp as f32 / np.max(1) as f32,
            recall: tp as f32 / ng.max(1) as f32,
            f1: f1(tp, np, ng),
        });
    }
    (add, keep, q)
}

fn to_oof(fitted: &Fitted, labels: &[String], x: &SparseVec) -> Oof {
    let probs = fitted
        .codes
        .iter()
        .map(|(l, m)| (labels[*l].clone(), m.prob(x)))
        .collect();
    let principal = fitted.principal.as_ref().and_then(|(classes, m)| {
        let p = m.probs(x);
        classes
            .iter()
            .zip(p)
            .filter_map(|(c, p)| c.map(|c| (c, p)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(c, _)| labels[c].clone())
    });
    Oof { probs, principal }
}

/// Aligns the items of a record's list field to its gold codes: each item
/// whose standardization (or closest gold name) names gold codes becomes
/// an alias of those codes.
fn align(
    ctx: &CodingContext,
    record: &Record,
    track: Track,
    gold: &[String],
) -> Vec<(String, Vec<String>)> {
    let Some(si) = standardize::source_fields(track).iter().find_map(|f| {
        record
            .section_index(f)
            .filter(|&i| !record.sections[i].text.trim().is_empty())
    }) else {
        return Vec::new();
    };
    let term = ctx.matcher(track).terminology();
    let pieces = split_field(&record.sections[si].text);
    let mut found: Vec<Vec<String>> = Vec::new();
    for p in &pieces {
        let span = Span {
            section: si,
            start: p.start,
            end: p.end,
        };
        let mut trace = Trace::new(crate::pipeline::Method::Retrieval);
        let items = standardize::standardize_piece(ctx, track, p, span, &mut trace);
        let mut codes: Vec<String> = items
            .iter()
            .filter_map(|i| i.code.clone())
            .filter(|c| gold.contains(c))
            .collect();
        if codes.is_empty() {
            // the closest gold name, if close enough
            let q: Vec<char> = normalize_name(&p.text).chars().collect();
            let best = gold
                .iter()
                .filter_map(|c| term.get(c).map(|e| (c, e)))
                .map(|(c, e)| {
                    let s = std::iter::once(&e.name)
                        .chain(e.aliases.iter())
                        .map(|n| {
                            rapidfuzz::fuzz::ratio(q.iter().copied(), normalize_name(n).chars())
                                as f32
                        })
                        .fold(0.0, f32::max);
                    (c, s)
                })
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((c, s)) = best {
                if s >= 0.6 {
                    codes.push(c.clone());
                }
            }
        }
        codes.dedup();
        found.push(codes);
    }
    // What is left on both sides, in the same number: the items the table
    // does not name (肺部感染 for 肺炎) pair with the gold codes no item
    // claimed, in order.
    let claimed: Vec<&String> = found.iter().flatten().collect();
    let left_gold: Vec<&String> = gold.iter().filter(|g| !claimed.contains(g)).collect();
    let left_items: Vec<usize> = (0..pieces.len()).filter(|&i| found[i].is_empty()).collect();
    if !left_items.is_empty() && left_items.len() == left_gold.len() {
        for (&i, g) in left_items.iter().zip(left_gold) {
            found[i].push(g.clone());
        }
    }
    pieces
        .into_iter()
        .zip(found)
        .filter(|(_, c)| !c.is_empty())
        .map(|(p, c)| (p.text, c))
        .collect()
}

/// A threshold no probability reaches.
const NEVER: f32 = 1.01;

/// Records per inner fold needed to choose thresholds.
const MIN_PER_FOLD: usize = 5;

/// Records with a code of the category needed before it may be called
/// exclusive.
const EXCLUSIVE_MIN_RECORDS: u32 = 5;

/// Categories seen in enough records, never twice in one.
fn exclusive_categories(golds: &[Option<TrackGold>]) -> Vec<String> {
    let mut seen: HashMap<&str, (u32, u32)> = HashMap::new();
    for g in golds.iter().flatten() {
        let mut per: HashMap<&str, u32> = HashMap::new();
        for c in &g.codes {
            *per.entry(super::model::category(c)).or_default() += 1;
        }
        for (cat, n) in per {
            let e = seen.entry(cat).or_default();
            e.0 += 1;
            if n > 1 {
                e.1 += 1;
            }
        }
    }
    let mut out: Vec<String> = seen
        .into_iter()
        .filter(|(_, (n, twice))| *n >= EXCLUSIVE_MIN_RECORDS && *twice == 0)
        .map(|(c, _)| c.to_string())
        .collect();
    out.sort();
    out
}

/// Learns a model. Records without gold are ignored; gold codes the loaded
/// table lacks are skipped and listed in the model.
pub fn learn(
    ctx: &CodingContext,
    input: &LearnInput,
    opts: &LearnOptions,
) -> (LearnedModel, LearnNotes) {
    let mut notes = LearnNotes::default();
    let t0 = std::time::Instant::now();
    let records: Vec<&Record> = input
        .records
        .iter()
        .filter(|r| !r.gold.is_empty())
        .collect();
    notes.records_with_gold = records.len();
    let ex = extractor(ctx);
    let kw_min_df = opts.config.min_df;
    let keywords = if opts.config.keywords {
        KeywordVocab::learn(&records, kw_min_df)
    } else {
        KeywordVocab::default()
    };
    let docs: Vec<BTreeSet<String>> = records
        .par_iter()
        .map(|r| ex.names(&opts.config, &keywords, r))
        .collect();
    let vocab = Vocabulary::build(&docs, opts.config.min_df);
    notes.features_s = t0.elapsed().as_secs_f64();
    let xs: Vec<SparseVec> = docs.iter().map(|d| vocab.vectorize(d)).collect();
    let dim = vocab.len();

    let mut tracks = Vec::new();
    for track in Track::ALL {
        let mut unknown = BTreeSet::new();
        let golds: Vec<Option<TrackGold>> = records
            .iter()
            .map(|r| resolve_gold(ctx, r, track, &mut unknown))
            .collect();
        let with = golds.iter().filter(|g| g.is_some()).count();
        if with == 0 {
            continue;
        }
        let mut support: HashMap<String, (u32, u32)> = HashMap::new();
        for g in golds.iter().flatten() {
            for (i, c) in g.codes.iter().enumerate() {
                let e = support.entry(c.clone()).or_default();
                e.0 += 1;
                if i == 0 {
                    e.1 += 1;
                }
            }
        }
        let mut labels: Vec<String> = support
            .iter()
            .filter(|(_, s)| s.0 >= opts.min_support)
            .map(|(c, _)| c.clone())
            .collect();
        labels.sort();
        let all_rows: Vec<usize> = (0..records.len()).collect();
        // Without enough records to cross-validate, no threshold can be
        // trusted: the classifiers then neither add nor drop anything (the
        // principal classifier, aliases and similar cases still serve).
        let (mut add, mut keep, mut quality) = (NEVER, 0.0, None);
        if opts.inner_folds >= 2 && with >= opts.inner_folds * MIN_PER_FOLD {
            let k = opts.inner_folds;
            let listed: Vec<Vec<String>> = records
                .par_iter()
                .map(|r| listed_codes(ctx, r, track))
                .collect();
            let mut oof = Vec::new();
            for f in 0..k {
                let train: Vec<usize> = all_rows.iter().copied().filter(|r| r % k != f).collect();
                let fitted = fit(&xs, &golds, &labels, &train, dim, opts);
                for r in all_rows.iter().copied().filter(|r| r % k == f) {
                    if golds[r].is_some() {
                        oof.push((r, to_oof(&fitted, &labels, &xs[r])));
                    }
                }
            }
            let (a, kp, mut q) = choose_thresholds(&oof, &golds, &listed, &labels);
            q.folds = k;
            add = a;
            keep = kp;
            quality = Some(q);
        }
        let fitted = fit(&xs, &golds, &labels, &all_rows, dim, opts);
        let term = ctx.matcher(track).terminology();
        let codes = fitted
            .codes
            .into_iter()
            .map(|(l, model)| {
                let code = labels[l].clone();
                let (s, ps) = support[&code];
                CodeModel {
                    name: term.get(&code).map(|e| e.name.clone()).unwrap_or_default(),
                    code,
                    support: s,
                    principal_support: ps,
                    model,
                }
            })
            .collect();
        let principal = fitted.principal.map(|(classes, model)| PrincipalModel {
            labels: classes
                .into_iter()
                .map(|c| c.map(|l| labels[l].clone()))
                .collect(),
            model,
        });
        if quality.is_none() {
            notes.notes.push(format!(
                "{} track: {with} records are too few to cross-validate thresholds ({} needed): its classifiers will neither add nor drop codes",
                track.label(),
                opts.inner_folds.max(2) * MIN_PER_FOLD
            ));
        }
        if !unknown.is_empty() {
            notes.notes.push(format!(
                "{} gold {} codes are not in {} and were skipped: {}",
                unknown.len(),
                track.label(),
                term.label,
                unknown
                    .iter()
                    .take(8)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        tracks.push(TrackModel {
            track,
            exclusive: exclusive_categories(&golds),
            codes,
            principal,
            add_threshold: add,
            keep_threshold: keep,
            unknown_codes: unknown.into_iter().collect(),
            quality,
        });
    }

    notes.classifiers_s = t0.elapsed().as_secs_f64() - notes.features_s;
    let mut cases = CaseBase::default();
    for (r, x) in records.iter().zip(&xs) {
        cases.push(r, x.clone());
    }

    let mut aliases = AliasMemory::default();
    for r in &records {
        for track in Track::ALL {
            let mut unknown = BTreeSet::new();
            if let Some(g) = resolve_gold(ctx, r, track, &mut unknown) {
                for (text, codes) in align(ctx, r, track, &g.codes) {
                    aliases.add(track, &text, codes, AliasSource::Gold);
                }
            }
        }
    }
    let diag_term = ctx.diagnoses.terminology();
    let diag_lex = ctx.lexicon(Track::Diagnosis);
    // Standard names that are not assignable codes on their own (tumour
    // morphology such as 癌 M801000/3) are still table entries a coder
    // writes: pairs may name them.
    let mut any_name: HashMap<String, usize> = HashMap::new();
    if !input.pairs.is_empty() {
        for (i, e) in diag_term.entries().iter().enumerate() {
            any_name.entry(normalize_name(&e.name)).or_insert(i);
        }
    }
    for p in input.pairs {
        let codes: Option<Vec<String>> = p
            .names
            .iter()
            .map(|n| {
                diag_lex
                    .exact(n)
                    .or_else(|| any_name.get(&normalize_name(n)).copied())
                    .map(|e| diag_term.entry(e).code.clone())
            })
            .collect();
        match codes {
            Some(c) if !c.is_empty() => {
                aliases.add(Track::Diagnosis, &p.text, c, AliasSource::Pairs)
            }
            _ => notes.pairs_unknown_names += 1,
        }
    }
    let mut coder_edits = 0;
    if let Some(c) = input.coder {
        coder_edits = c.len();
        aliases.merge(c);
    }
    if notes.pairs_unknown_names > 0 {
        notes.notes.push(format!(
            "{} normalization pairs name a standard name the diagnosis table lacks and were skipped",
            notes.pairs_unknown_names
        ));
    }

    let priors = Priors::learn(records.iter().copied());
    let (ids, fingerprint) = training_fingerprint(&records);
    let model = LearnedModel {
        format: FORMAT_VERSION,
        writer: env!("CARGO_PKG_VERSION").to_string(),
        created: chrono::Utc::now().to_rfc3339(),
        tables: Track::ALL
            .iter()
            .map(|&t| {
                let term = ctx.matcher(t).terminology();
                TableTie {
                    track: t,
                    label: term.label.clone(),
                    fingerprint: code_fingerprint(term),
                }
            })
            .collect(),
        training: TrainingSet {
            ids,
            fingerprint,
            sources: opts.sources.clone(),
            pairs: input.pairs.len(),
            coder_edits,
        },
        config: opts.config.clone(),
        keywords,
        vocab,
        tracks,
        cases,
        aliases,
        priors,
    };
    (model, notes)
}

//! llama.cpp embedded (feature `llama`): one model, one context, a KV-cached
//! shared prefix, and parallel sequences generated in one batch per step.
//!
//! How a [`Backend::generate`] call runs:
//! 1. The prefix is tokenized and compared with the prefix kept in the KV
//!    cache from the previous call (a "prefix slot"); only the tokens after
//!    the common part are evaluated.
//! 2. The requests are grouped by LoRA adapter (first-appearance order). A
//!    group runs with its adapter set on the context, against a prefix slot
//!    evaluated under that same adapter (an adapter changes the KV values, so
//!    a prefix cached without it cannot be reused with it). Groups run one
//!    after another; a group larger than `n_seq_max`, or one whose sequences
//!    would not fit the context, is split into chunks.
//! 3. For a chunk of n requests the prefix slot is copied into n sequences
//!    (cheap: the unified KV cache shares the cells), the suffixes are decoded
//!    as a prefix tree (tokens they share at the same place once, for all
//!    their sequences; see `prompt_tree`), and then each step decodes one
//!    token per live sequence in one batch. A request's prefill (the opening
//!    its grammar forces, such as `{"pick":"`) is read as the end of its
//!    suffix and accepted into its grammar, so it costs prompt tokens rather
//!    than one decoding step per token. Each sequence has its own sampler
//!    (grammar + greedy or temperature), except a greedy request that lists
//!    its choices: it is answered from the logits over the tokens that
//!    spell them, and decodes only while more than one can follow (see
//!    `choice`). Afterwards the request sequences are cleared; the prefix
//!    slot stays for the next call.
//!
//! The tokenizer runs on prefix and suffix separately (the prefix with BOS
//! where the model wants one, special tokens such as `<|im_start|>` parsed in
//! both), so put the boundary at a natural break (end of a line or of a chat
//! turn) for the text to tokenize as it would in one piece.
//!
//! # CPU threads
//!
//! llama.cpp's OpenMP threads spin while waiting; on shared or small CPUs
//! start the program with `OMP_WAIT_POLICY=PASSIVE` (see
//! `ensure_passive_openmp`): on a loaded 2-core VM it made prompt reading
//! 2–20× and generation 2–10× faster.
//!
//! # CPU speed
//!
//! Prompt reading is most of an agent call's time, and on a CPU it goes at
//! the speed of the weights' matrix kernels: formats with repacked kernels
//! (IQ4_NL, Q4_0, Q4_K) are read 1.4–1.5× faster than those without (Q5_0,
//! which fills most of the registry's "Q4_K_M" 0.5B model); see
//! `requantize`. Flash attention (`flash_attn`) adds about 15% on the
//! questions of a stage, which share one cache of many sequences. The
//! weights are read, not mapped, on a CPU (see `load`).
//!
//! # GPU
//!
//! - Build machine with the CUDA toolkit: `cargo build --release --features
//!   cuda`; load with `gpu_layers = 999` and `flash_attn = true` (`n_batch`
//!   then defaults to 2,048).
//! - GPU machine without a Rust toolchain: `cargo build --release --features
//!   dynamic-backends` here, then `scripts/gpu-bundle.sh OUT` gathers the
//!   binary, the llama/ggml libraries, a few CPU backend modules and the
//!   llama-cpp-sys crate (about 20 MB); on the GPU machine `OUT/run.sh ARGS`
//!   builds `libggml-cuda.so` once from the crate and runs the binary with
//!   `LD_LIBRARY_PATH` and `ICDFLOW_GGML_BACKENDS` set. CPU modules whose
//!   names contain an entry of `ICDFLOW_GGML_EXCLUDE` (default
//!   `sapphirerapids`, whose AMX code dies in VMs) are not loaded.

mod choice;
mod prompt_tree;
pub mod requantize;
mod runtime;
mod sampler;

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaLoraAdapter, LlamaModel};
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::DecodeError;

#[cfg(unix)]
pub use runtime::ensure_passive_openmp;
pub use runtime::{
    backends_dir, devices, exclusions, init_runtime, select_modules, RuntimeOptions,
    BACKENDS_DIR_ENV, BACKENDS_EXCLUDE_ENV, DEFAULT_EXCLUDE,
};

use self::choice::{ChoiceRun, PieceIndex, Step};
use self::prompt_tree::{prompt_tree, shared_counts};
use self::sampler::SeqSampler;
use super::output::{token_prob, SeqOutput};
use super::{gguf, Backend, BackendStats, Completion, FinishReason, GenRequest};
use crate::error::{Error, Result};

/// Smallest context accepted: below this no useful prompt fits.
pub const MIN_CONTEXT: u32 = 128;
/// Most prefix slots kept (one per adapter in use, plus the base model).
const MAX_PREFIX_SLOTS: usize = 4;
/// llama.cpp's limit on sequence ids.
const LLAMA_MAX_SEQ: u32 = 256;

/// Settings for [`LlamaCppBackend::load`].
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// The GGUF model file.
    pub model_path: PathBuf,
    /// Layers offloaded to the GPU (0 = CPU only; 999 = all).
    pub gpu_layers: u32,
    /// Context size in tokens, shared by the cached prefix and all parallel
    /// sequences (llama.cpp rounds it up to a multiple of 256).
    pub n_ctx: u32,
    /// CPU threads; default min(physical cores, 8).
    pub n_threads: Option<i32>,
    /// Most requests generated in parallel in one batch.
    pub n_seq_max: u32,
    /// Most tokens per decode call; default 512 on CPU, 2048 with GPU layers.
    pub n_batch: Option<u32>,
    /// Flash attention (worth it on GPU; off is the safe CPU choice).
    pub flash_attn: bool,
    /// LoRA adapters: (name used in [`GenRequest::adapter`], GGUF file).
    pub adapters: Vec<(String, PathBuf)>,
    /// Base seed for temperature sampling.
    pub seed: u32,
}

impl LlamaConfig {
    /// CPU defaults: 4,096-token context, 8 parallel sequences.
    pub fn new(model_path: impl Into<PathBuf>) -> Self {
        LlamaConfig {
            model_path: model_path.into(),
            gpu_layers: 0,
            n_ctx: 4096,
            n_threads: None,
            n_seq_max: 8,
            n_batch: None,
            flash_attn: false,
            adapters: Vec::new(),
            seed: 42,
        }
    }
}

/// A prompt prefix kept in the KV cache between calls, in sequence `index`.
#[derive(Debug)]
struct PrefixSlot {
    adapter: Option<usize>,
    tokens: Vec<LlamaToken>,
    last_used: u64,
}

/// One request being generated.
struct SeqRun {
    req: usize,
    seq: i32,
    /// Position of the next token in the sequence.
    pos: i32,
    budget: usize,
    /// Reason to report when `budget` is reached.
    limit: FinishReason,
    sampler: SeqSampler,
    /// Set for a greedy request answered from its choices; it then takes
    /// the place of `sampler`.
    choice: Option<ChoiceRun>,
    out: SeqOutput,
    pending: Option<(LlamaToken, f32)>,
    finish: Option<FinishReason>,
    elapsed_ms: f64,
}

impl SeqRun {
    fn end(&mut self, reason: FinishReason, start: Instant) {
        if self.finish.is_none() {
            self.finish = Some(reason);
            self.elapsed_ms = ms(start);
        }
    }
}

/// llama.cpp embedded; see the module docs for how a call runs.
pub struct LlamaCppBackend {
    // Field order is drop order: the context must go before the model it
    // was created from (adapters are freed with the model).
    ctx: LlamaContext<'static>,
    adapters: Vec<(String, LlamaLoraAdapter)>,
    model: Box<LlamaModel>,
    name: String,
    info: gguf::GgufInfo,
    cfg: LlamaConfig,
    n_ctx: usize,
    n_batch: usize,
    n_threads: i32,
    /// Index = sequence id of the slot.
    slots: Vec<Option<PrefixSlot>>,
    /// Tokens by their text, built at the first request with choices.
    pieces: Option<PieceIndex>,
    active_adapter: Option<usize>,
    clock: u64,
    stats: BackendStats,
}

impl LlamaCppBackend {
    /// Loads the model and its LoRA adapters and creates the context.
    pub fn load(cfg: LlamaConfig) -> Result<Self> {
        let started = Instant::now();
        let path = cfg.model_path.clone();
        let shown = path.display().to_string();
        let info = gguf::inspect(&path)?;
        if info.is_adapter() {
            return Err(Error::Model(format!(
                "{shown} is a LoRA adapter, not a model: list it under adapters"
            )));
        }
        if info.tensor_count == 0 || !info.has_vocab {
            return Err(Error::Model(format!(
                "{shown} has no weights or no vocabulary (a vocab-only file?)"
            )));
        }
        if cfg.n_ctx < MIN_CONTEXT {
            return Err(Error::Model(format!(
                "context of {} tokens is too small (at least {MIN_CONTEXT})",
                cfg.n_ctx
            )));
        }
        let n_slots = 1 + cfg.adapters.len().min(MAX_PREFIX_SLOTS - 1);
        if cfg.n_seq_max == 0 || cfg.n_seq_max + n_slots as u32 > LLAMA_MAX_SEQ {
            return Err(Error::Model(format!(
                "n_seq_max {} out of range (1..={})",
                cfg.n_seq_max,
                LLAMA_MAX_SEQ - n_slots as u32
            )));
        }
        let arch = info.architecture.clone().unwrap_or_else(|| "?".into());
        check_adapters(&cfg.adapters, &arch)?;

        let backend = runtime::runtime()?;
        // On a CPU the weights are read into memory rather than mapped: the
        // CPU backend copies most of them into repacked buffers at load, and
        // a mapping keeps the file's pages resident beside those copies
        // (peak RSS with the IQ4_NL 0.5B model, 2 cores: 880 MB mapped,
        // 699 MB read, same speed and load time). The cost: processes on one
        // machine no longer share the pages of the weights left unrepacked.
        let params = LlamaModelParams::default()
            .with_n_gpu_layers(cfg.gpu_layers)
            .with_use_mmap(cfg.gpu_layers > 0);
        let mut model = LlamaModel::load_from_file(backend, &path, &params).map_err(|e| {
            Error::Model(format!(
                "llama.cpp could not load {shown} (architecture {arch}): {e}; \
                 the llama.cpp log (tracing target llama_cpp_2) says why"
            ))
        })?;
        let mut adapters = Vec::new();
        for (name, apath) in &cfg.adapters {
            let a = model.lora_adapter_init(apath).map_err(|e| {
                Error::Model(format!(
                    "LoRA adapter '{name}' ({}) does not fit {shown}: {e}",
                    apath.display()
                ))
            })?;
            adapters.push((name.clone(), a));
        }
        let model = Box::new(model);

        let n_threads = cfg.n_threads.unwrap_or_else(default_threads).max(1);
        let n_batch = cfg
            .n_batch
            .unwrap_or(if cfg.gpu_layers > 0 { 2048 } else { 512 })
            .clamp(32, cfg.n_ctx)
            // A generation step puts one token per parallel sequence in a batch.
            .max(cfg.n_seq_max);
        let ctx_params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(cfg.n_ctx))
            .with_n_batch(n_batch)
            .with_n_ubatch(n_batch.min(512))
            .with_n_seq_max(cfg.n_seq_max + n_slots as u32)
            // One cell pool for all sequences: the copied prefix is shared,
            // not duplicated, and any sequence may use any free cell.
            .with_kv_unified(true)
            .with_n_threads(n_threads)
            .with_n_threads_batch(n_threads)
            .with_flash_attention_policy(if cfg.flash_attn { 1 } else { 0 });
        let ctx = model.new_context(backend, ctx_params).map_err(|e| {
            Error::Model(format!(
                "cannot create a context of {} tokens for {shown}: {e} (out of memory?)",
                cfg.n_ctx
            ))
        })?;
        // SAFETY: the context borrows the model. Both live in this struct; the
        // model is boxed and never replaced, and `ctx` is declared first so it
        // is dropped before the model. The context is never handed out.
        let ctx: LlamaContext<'static> =
            unsafe { std::mem::transmute::<LlamaContext<'_>, LlamaContext<'static>>(ctx) };
        let n_ctx = ctx.n_ctx() as usize;

        let base = info
            .name
            .clone()
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "model".into());
        // The weights' format goes with the name: the same model answers
        // (a little) differently, and runs at another speed, in another one.
        let name = match info.weights.and_then(gguf::weights_name) {
            Some(w) => format!("{base}, {w}"),
            None => base,
        };
        let stats = BackendStats {
            model_load_ms: ms(started),
            peak_memory_bytes: super::peak_rss_bytes(),
            ..Default::default()
        };
        tracing::info!(
            model = %shown, n_ctx, n_batch, n_threads, adapters = adapters.len(),
            load_ms = stats.model_load_ms, "llama.cpp model loaded"
        );
        Ok(LlamaCppBackend {
            ctx,
            adapters,
            model,
            name,
            info,
            cfg,
            n_ctx,
            n_batch: n_batch as usize,
            n_threads,
            slots: (0..n_slots).map(|_| None).collect(),
            pieces: None,
            active_adapter: None,
            clock: 0,
            stats,
        })
    }

    /// The configuration the backend was loaded with.
    pub fn config(&self) -> &LlamaConfig {
        &self.cfg
    }

    /// What the model file's header says.
    pub fn gguf_info(&self) -> &gguf::GgufInfo {
        &self.info
    }

    /// Names of the loaded LoRA adapters.
    pub fn adapter_names(&self) -> Vec<&str> {
        self.adapters.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// CPU threads in use.
    pub fn threads(&self) -> i32 {
        self.n_threads
    }

    /// The model's own chat template (Jinja), if the file has one.
    pub fn chat_template(&self) -> Option<String> {
        self.model
            .chat_template(None)
            .ok()
            .and_then(|t| t.to_string().ok())
    }

    /// Size of the weights in bytes.
    pub fn model_bytes(&self) -> u64 {
        self.model.size()
    }

    /// Forgets the cached prefixes (the next call evaluates its prefix anew).
    pub fn clear_cache(&mut self) {
        self.ctx.clear_kv_cache();
        for s in &mut self.slots {
            *s = None;
        }
    }

    fn tokenize(&self, text: &str, with_bos: bool) -> Vec<LlamaToken> {
        if text.is_empty() && !with_bos {
            return Vec::new();
        }
        self.model.vocab().tokenize(text.as_bytes(), with_bos, true)
    }

    fn adapter_index(&self, name: Option<&str>) -> Result<Option<usize>> {
        let Some(name) = name else {
            return Ok(None);
        };
        match self.adapters.iter().position(|(n, _)| n == name) {
            Some(i) => Ok(Some(i)),
            None => Err(Error::Model(format!(
                "unknown LoRA adapter '{name}' (loaded: {})",
                if self.adapters.is_empty() {
                    "none".to_string()
                } else {
                    self.adapter_names().join(", ")
                }
            ))),
        }
    }

    fn seed_for(&self, req: &GenRequest, index: usize) -> u32 {
        match req.seed {
            Some(s) => (s ^ (s >> 32)) as u32,
            None => self
                .cfg
                .seed
                .wrapping_add((index as u32).wrapping_mul(0x9E37_79B9)),
        }
    }

    /// Puts `adapter` (or none) on the context.
    fn use_adapter(&mut self, adapter: Option<usize>) -> Result<()> {
        if self.active_adapter == adapter {
            return Ok(());
        }
        match adapter {
            Some(i) => {
                let (name, a) = &mut self.adapters[i];
                self.ctx.lora_adapter_set(a, 1.0).map_err(|e| {
                    Error::Model(format!("cannot apply LoRA adapter '{name}': {e}"))
                })?;
            }
            None => {
                if let Some((_, a)) = self.adapters.first_mut() {
                    self.ctx
                        .lora_adapter_remove(a)
                        .map_err(|e| Error::Model(format!("cannot remove LoRA adapters: {e}")))?;
                }
            }
        }
        self.active_adapter = adapter;
        Ok(())
    }

    /// The prefix slot (= sequence id) for `adapter`, reusing its own slot,
    /// else an empty one, else the least recently used.
    fn slot_for(&mut self, adapter: Option<usize>) -> usize {
        self.clock += 1;
        let now = self.clock;
        if let Some(i) = self
            .slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.adapter == adapter))
        {
            if let Some(s) = self.slots[i].as_mut() {
                s.last_used = now;
            }
            return i;
        }
        let i = self
            .slots
            .iter()
            .position(Option::is_none)
            .unwrap_or_else(|| self.lru_slot(usize::MAX).unwrap_or(0));
        self.evict(i);
        self.slots[i] = Some(PrefixSlot {
            adapter,
            tokens: Vec::new(),
            last_used: now,
        });
        i
    }

    fn lru_slot(&self, except: usize) -> Option<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(i, s)| *i != except && s.is_some())
            .min_by_key(|(_, s)| s.as_ref().map_or(0, |s| s.last_used))
            .map(|(i, _)| i)
    }

    fn evict(&mut self, slot: usize) {
        let _ = self.ctx.clear_kv_cache_seq(Some(slot as u32), None, None);
        self.slots[slot] = None;
    }

    fn cells_of_other_slots(&self, slot: usize) -> usize {
        self.slots
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != slot)
            .filter_map(|(_, s)| s.as_ref())
            .map(|s| s.tokens.len())
            .sum()
    }

    /// How many of `pending` (request indices) run in the next chunk against
    /// prefix slot `slot`, and the token budget of each. Evicts other slots
    /// when the context has no room for even the first request.
    fn plan_chunk(
        &mut self,
        slot: usize,
        shared_len: usize,
        pending: &[usize],
        suffixes: &[Vec<LlamaToken>],
        requests: &[GenRequest],
    ) -> Vec<usize> {
        let first = pending[0];
        let want_first = shared_len + suffixes[first].len() + requests[first].max_tokens;
        while self.cells_of_other_slots(slot) + want_first.min(self.n_ctx) > self.n_ctx {
            match self.lru_slot(slot) {
                Some(i) => self.evict(i),
                None => break,
            }
        }
        let avail = self
            .n_ctx
            .saturating_sub(self.cells_of_other_slots(slot) + shared_len);
        let mut budgets = Vec::new();
        let mut used = 0;
        for &r in pending.iter().take(self.cfg.n_seq_max as usize) {
            let s = suffixes[r].len();
            let want = s + requests[r].max_tokens;
            if budgets.is_empty() {
                let budget = requests[r].max_tokens.min(avail.saturating_sub(s));
                used += s + budget;
                budgets.push(budget);
            } else if used + want <= avail {
                used += want;
                budgets.push(requests[r].max_tokens);
            } else {
                break;
            }
        }
        budgets
    }

    /// Brings prefix slot `slot` to hold exactly `shared`, evaluating only
    /// what the cache lacks. Returns the tokens reused, or `None` if
    /// cancelled (the slot then keeps what was evaluated so far).
    fn sync_prefix(
        &mut self,
        slot: usize,
        shared: &[LlamaToken],
        cancel: &AtomicBool,
    ) -> Result<Option<usize>> {
        let seq = slot as u32;
        let Some(state) = self.slots[slot].as_mut() else {
            return Err(Error::Other("prefix slot vanished".into()));
        };
        let mut common = state
            .tokens
            .iter()
            .zip(shared)
            .take_while(|(a, b)| a == b)
            .count();
        if common < state.tokens.len() {
            let partial = self
                .ctx
                .clear_kv_cache_seq(Some(seq), Some(common as u32), None)
                .unwrap_or(false);
            if !partial {
                // Some memory types (recurrent) cannot drop a tail: start over.
                let _ = self.ctx.clear_kv_cache_seq(Some(seq), None, None);
                common = 0;
            }
            state.tokens.truncate(common);
        }
        let mut batch = LlamaBatch::new(self.n_batch, 1);
        for chunk in shared[common..].chunks(self.n_batch) {
            if cancel.load(Ordering::Relaxed) {
                return Ok(None);
            }
            batch.clear();
            let base = state.tokens.len();
            for (j, &t) in chunk.iter().enumerate() {
                batch
                    .add(t, (base + j) as i32, &[seq as i32], false)
                    .map_err(|e| Error::Model(format!("batch: {e}")))?;
            }
            if let Err(e) = self.ctx.decode(&mut batch) {
                let _ = self
                    .ctx
                    .clear_kv_cache_seq(Some(seq), Some(base as u32), None);
                return Err(decode_error(e, "prompt prefix", self.n_ctx));
            }
            state.tokens.extend_from_slice(chunk);
        }
        Ok(Some(common))
    }

    /// Chooses the first token of every run whose last suffix token was in
    /// the batch just decoded.
    fn sample_waiting(
        &self,
        runs: &mut [SeqRun],
        waiting: &mut Vec<(usize, i32)>,
        start: Instant,
    ) -> Result<()> {
        for (k, idx) in waiting.drain(..) {
            self.choose_next(&mut runs[k], self.ctx.get_logits_ith(idx), start)?;
        }
        Ok(())
    }

    /// Chooses a run's next token from one row of logits and makes it the
    /// run's pending token. A run answered from its choices instead ends
    /// here, its token and the rest of its one remaining choice in its
    /// output, once no other choice can follow.
    fn choose_next(&self, run: &mut SeqRun, logits: &[f32], start: Instant) -> Result<()> {
        let Some(choice) = &mut run.choice else {
            let tok = run.sampler.pick(logits)?;
            run.pending = Some((tok, token_prob(logits, tok.0 as usize)));
            return Ok(());
        };
        let index = self
            .pieces
            .as_ref()
            .ok_or_else(|| Error::Other("choices without a token index".into()))?;
        let (tok, piece) = choice.pick(logits, index).ok_or_else(|| {
            Error::Model("no token of the vocabulary spells any of the request's choices".into())
        })?;
        let prob = token_prob(logits, tok.0 as usize);
        match choice.accept(&piece) {
            Step::Open => run.pending = Some((tok, prob)),
            Step::Settled(rest) => {
                run.out.push(&piece, prob);
                run.out.give(&rest);
                run.end(FinishReason::EndOfText, start);
            }
        }
        Ok(())
    }

    /// Builds the index of tokens by their text, once.
    fn ensure_piece_index(&mut self) {
        if self.pieces.is_some() {
            return;
        }
        let vocab = self.model.vocab();
        let pieces = (0..self.model.n_vocab())
            .map(LlamaToken)
            .filter(|&t| !vocab.is_eog(t))
            .map(|t| (t, vocab.token_to_piece(t, false, None)));
        self.pieces = Some(PieceIndex::new(pieces));
    }

    /// Runs one chunk of requests against prefix slot `slot`.
    #[allow(clippy::too_many_arguments)]
    fn run_chunk(
        &mut self,
        slot: usize,
        shared: &[LlamaToken],
        runs: &mut [SeqRun],
        suffixes: &[Vec<LlamaToken>],
        cancel: &AtomicBool,
        on_token: &mut dyn FnMut(usize, &str),
        start: Instant,
    ) -> Result<Vec<usize>> {
        let t_prompt = Instant::now();
        let Some(cached) = self.sync_prefix(slot, shared, cancel)? else {
            for run in runs.iter_mut() {
                run.end(FinishReason::Cancelled, start);
            }
            return Ok(vec![0; runs.len()]);
        };
        self.stats.prompt_tokens += (shared.len() - cached) as u64;
        self.stats.cached_tokens += cached as u64;

        for run in runs.iter() {
            let seq = run.seq as u32;
            let _ = self.ctx.clear_kv_cache_seq(Some(seq), None, None);
            self.ctx
                .copy_kv_cache_seq(slot as i32, run.seq, None, None)
                .map_err(|e| Error::Model(format!("KV copy: {e}")))?;
        }

        // Every suffix in as few batches as n_batch allows, the tokens the
        // suffixes share at the same place decoded once for all their
        // sequences (see `prompt_tree`); a run's first token is sampled right
        // after the batch holding its last suffix token (later batches
        // overwrite the logits).
        let own: Vec<&[LlamaToken]> = runs.iter().map(|r| suffixes[r.req].as_slice()).collect();
        let tree = prompt_tree(&own);
        let base = runs.first().map_or(0, |r| r.pos);
        let mut batch = LlamaBatch::new(self.n_batch, runs.len().max(1) as i32);
        let mut waiting = Vec::new();
        for t in &tree {
            if batch.n_tokens() as usize == self.n_batch {
                self.ctx
                    .decode(&mut batch)
                    .map_err(|e| decode_error(e, "prompt suffixes", self.n_ctx))?;
                self.sample_waiting(runs, &mut waiting, start)?;
                batch.clear();
            }
            let seqs: Vec<i32> = t.runs.iter().map(|&k| runs[k].seq).collect();
            let last = !t.ends.is_empty();
            batch
                .add(t.token, base + t.depth as i32, &seqs, last)
                .map_err(|e| Error::Model(format!("batch: {e}")))?;
            for &k in &t.ends {
                waiting.push((k, batch.n_tokens() - 1));
            }
        }
        for (run, toks) in runs.iter_mut().zip(&own) {
            run.pos = base + toks.len() as i32;
        }
        let shared_suffix = shared_counts(&tree, runs.len());
        self.stats.prompt_tokens += tree.len() as u64;
        self.stats.cached_tokens += shared_suffix.iter().sum::<usize>() as u64;
        if batch.n_tokens() > 0 {
            self.ctx
                .decode(&mut batch)
                .map_err(|e| decode_error(e, "prompt suffixes", self.n_ctx))?;
            self.sample_waiting(runs, &mut waiting, start)?;
        }
        self.stats.prompt_ms += ms(t_prompt);

        let t_gen = Instant::now();
        let vocab = self.model.vocab();
        loop {
            batch.clear();
            let mut live = Vec::new();
            for (k, run) in runs.iter_mut().enumerate() {
                if run.finish.is_some() {
                    continue;
                }
                let Some((tok, prob)) = run.pending.take() else {
                    run.end(FinishReason::EndOfText, start);
                    continue;
                };
                if run.out.len() >= run.budget {
                    run.end(run.limit, start);
                    continue;
                }
                if vocab.is_eog(tok) {
                    run.end(FinishReason::EndOfText, start);
                    continue;
                }
                let piece = vocab.token_to_piece(tok, false, None);
                let stopped = run.out.push(&piece, prob);
                let fresh = run.out.take_stream(false);
                if !fresh.is_empty() {
                    on_token(run.req, fresh);
                }
                if stopped {
                    run.end(FinishReason::Stop, start);
                    continue;
                }
                if run.out.len() >= run.budget {
                    run.end(run.limit, start);
                    continue;
                }
                batch
                    .add(tok, run.pos, &[run.seq], true)
                    .map_err(|e| Error::Model(format!("batch: {e}")))?;
                run.pos += 1;
                live.push(k);
            }
            if live.is_empty() {
                break;
            }
            if cancel.load(Ordering::Relaxed) {
                for &k in &live {
                    runs[k].end(FinishReason::Cancelled, start);
                }
                break;
            }
            match self.ctx.decode(&mut batch) {
                Ok(()) => self.stats.decoded_tokens += live.len() as u64,
                Err(DecodeError::NoKvCacheSlot) => {
                    for &k in &live {
                        runs[k].end(FinishReason::ContextFull, start);
                    }
                    break;
                }
                Err(e) => return Err(decode_error(e, "generation step", self.n_ctx)),
            }
            for (i, &k) in live.iter().enumerate() {
                self.choose_next(&mut runs[k], self.ctx.get_logits_ith(i as i32), start)?;
            }
        }
        for run in runs.iter_mut() {
            run.out.finish();
            let rest = run.out.take_stream(true);
            if !rest.is_empty() {
                on_token(run.req, rest);
            }
            self.stats.generated_tokens += run.out.len() as u64;
        }
        self.stats.gen_ms += ms(t_gen);
        // What each run did not evaluate: the cached prefix and the suffix
        // tokens an earlier run of the chunk decoded for it.
        Ok(shared_suffix.iter().map(|s| cached + s).collect())
    }
}

impl Backend for LlamaCppBackend {
    fn model_name(&self) -> &str {
        &self.name
    }

    fn context_size(&self) -> usize {
        self.n_ctx
    }

    fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self.tokenize(text, true).len())
    }

    fn generate(
        &mut self,
        prefix: &str,
        requests: &[GenRequest],
        cancel: &AtomicBool,
        on_token: &mut dyn FnMut(usize, &str),
    ) -> Result<Vec<Completion>> {
        self.stats.calls += 1;
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let start = Instant::now();
        let mut shared = self.tokenize(prefix, true);
        // A prefill is read with the prompt: the answer's forced opening
        // costs a prompt token, not a decoding step.
        let prefills: Vec<Vec<LlamaToken>> = requests
            .iter()
            .map(|r| self.tokenize(&r.prefill, false))
            .collect();
        let mut suffixes: Vec<Vec<LlamaToken>> = requests
            .iter()
            .zip(&prefills)
            .map(|(r, p)| {
                let mut s = self.tokenize(&r.suffix, false);
                s.extend_from_slice(p);
                s
            })
            .collect();
        // The first generated token needs logits of the prompt's last token,
        // so a request with an empty suffix takes the prefix's last token as
        // its suffix (and so, for equal positions, do all the others).
        if suffixes.iter().any(Vec::is_empty) {
            let Some(last) = shared.pop() else {
                return Err(Error::Model(
                    "empty prompt: prefix and suffix are both empty".into(),
                ));
            };
            for s in &mut suffixes {
                s.insert(0, last);
            }
        }
        for s in &suffixes {
            let n = shared.len() + s.len();
            if n > self.n_ctx {
                return Err(Error::Model(format!(
                    "prompt of {n} tokens exceeds context {}",
                    self.n_ctx
                )));
            }
        }
        let adapters = requests
            .iter()
            .map(|r| self.adapter_index(r.adapter.as_deref()))
            .collect::<Result<Vec<_>>>()?;
        // Samplers first: a bad grammar fails the call before any work.
        let mut samplers = requests
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut s = SeqSampler::new(&self.model, r, self.seed_for(r, i), i)?;
                s.accept_given(&prefills[i], i)?;
                Ok(Some(s))
            })
            .collect::<Result<Vec<_>>>()?;

        if requests.iter().any(|r| !r.choices.is_empty()) {
            self.ensure_piece_index();
        }

        let mut groups: Vec<(Option<usize>, Vec<usize>)> = Vec::new();
        for (i, a) in adapters.iter().enumerate() {
            match groups.iter_mut().find(|(g, _)| g == a) {
                Some((_, members)) => members.push(i),
                None => groups.push((*a, vec![i])),
            }
        }

        let mut results: Vec<Completion> = vec![Completion::default(); requests.len()];
        for (i, r) in results.iter_mut().enumerate() {
            r.prompt_tokens = shared.len() + suffixes[i].len();
        }
        for (adapter, members) in groups {
            let mut next = 0;
            while next < members.len() {
                let pending = &members[next..];
                if cancel.load(Ordering::Relaxed) {
                    for &r in pending {
                        results[r].finish = FinishReason::Cancelled;
                        results[r].truncated = true;
                        results[r].elapsed_ms = ms(start);
                    }
                    break;
                }
                self.use_adapter(adapter)?;
                let slot = self.slot_for(adapter);
                let budgets = self.plan_chunk(slot, shared.len(), pending, &suffixes, requests);
                let mut runs = Vec::with_capacity(budgets.len());
                for (k, (&r, &budget)) in pending.iter().zip(&budgets).enumerate() {
                    let sampler = samplers[r]
                        .take()
                        .ok_or_else(|| Error::Other("request scheduled twice".into()))?;
                    runs.push(SeqRun {
                        req: r,
                        seq: (self.slots.len() + k) as i32,
                        pos: shared.len() as i32,
                        budget,
                        limit: if budget < requests[r].max_tokens {
                            FinishReason::ContextFull
                        } else {
                            FinishReason::MaxTokens
                        },
                        sampler,
                        choice: (requests[r].temperature <= 0.0 && !requests[r].choices.is_empty())
                            .then(|| ChoiceRun::new(&requests[r].choices)),
                        out: {
                            let mut out = SeqOutput::new(&requests[r].stop);
                            out.give(&requests[r].prefill);
                            out
                        },
                        pending: None,
                        finish: None,
                        elapsed_ms: 0.0,
                    });
                }
                let outcome =
                    self.run_chunk(slot, &shared, &mut runs, &suffixes, cancel, on_token, start);
                // Free the request sequences whatever happened; the prefix
                // slot stays.
                for run in &runs {
                    let _ = self
                        .ctx
                        .clear_kv_cache_seq(Some(run.seq as u32), None, None);
                }
                let cached = outcome?;
                for (mut run, cached) in runs.into_iter().zip(cached) {
                    run.end(FinishReason::EndOfText, start);
                    let finish = run.finish.unwrap_or_default();
                    let c = &mut results[run.req];
                    c.generated_tokens = run.out.len();
                    c.text = std::mem::take(&mut run.out.text);
                    c.tokens = std::mem::take(&mut run.out.tokens);
                    c.token_probs = std::mem::take(&mut run.out.probs);
                    c.cached_tokens = cached;
                    c.elapsed_ms = run.elapsed_ms;
                    c.finish = finish;
                    c.truncated = finish.is_truncated();
                }
                next += budgets.len();
            }
        }
        self.stats.peak_memory_bytes = super::peak_rss_bytes();
        Ok(results)
    }

    fn stats(&self) -> BackendStats {
        self.stats.clone()
    }
}

/// Adapters must be LoRA files for the model's architecture, with unique names.
fn check_adapters(adapters: &[(String, PathBuf)], arch: &str) -> Result<()> {
    for (i, (name, path)) in adapters.iter().enumerate() {
        if adapters[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::Model(format!(
                "LoRA adapter name '{name}' used twice"
            )));
        }
        let info = gguf::inspect(path)?;
        let shown = path.display();
        if !info.is_adapter() || info.adapter_type.as_deref() != Some("lora") {
            return Err(Error::Model(format!(
                "{shown} (adapter '{name}') is not a LoRA adapter GGUF (general.type = {:?}, adapter.type = {:?})",
                info.file_type, info.adapter_type
            )));
        }
        if info.architecture.as_deref() != Some(arch) {
            return Err(Error::Model(format!(
                "LoRA adapter '{name}' ({shown}) is for architecture {:?}, the model is {arch}",
                info.architecture
            )));
        }
    }
    Ok(())
}

fn decode_error(e: DecodeError, what: &str, n_ctx: usize) -> Error {
    match e {
        DecodeError::NoKvCacheSlot => Error::Model(format!(
            "no room in the KV cache ({n_ctx} tokens) for the {what}; use a larger context or fewer parallel requests"
        )),
        other => Error::Model(format!("llama.cpp failed to decode the {what}: {other}")),
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// min(physical cores, 8): hyper-threads and more than 8 threads do not
/// speed up token generation, which is memory-bound.
pub fn default_threads() -> i32 {
    physical_cores()
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(4)
        .clamp(1, 8) as i32
}

/// Distinct (physical id, core id) pairs in /proc/cpuinfo.
fn physical_cores() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mut cores = std::collections::HashSet::new();
    let mut phys = "";
    for line in text.lines() {
        let mut parts = line.splitn(2, ':');
        let key = parts.next().unwrap_or("").trim();
        let val = parts.next().unwrap_or("").trim();
        match key {
            "physical id" => phys = val,
            "core id" => {
                cores.insert((phys.to_string(), val.to_string()));
            }
            _ => {}
        }
    }
    (!cores.is_empty()).then_some(cores.len())
}

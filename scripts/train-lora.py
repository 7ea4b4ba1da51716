#!/usr/bin/env python3
"""Train a LoRA adapter for one icdflow agent from `icdflow sft export` files.

  train-lora.py --model models/qwen2.5-coder-0.5b.gguf \
      --train DIR/prioritize_diagnosis.train.jsonl --out ADAPTER.gguf [--steps 200]

1. The base model is read straight from the agents' GGUF file (transformers
   dequantizes it to float32), with the tokenizer and chat template it holds:
   the prompts tokenize as llama.cpp tokenizes them.
2. LoRA on the attention and MLP projections (plain scaling alpha/rank);
   the loss counts only the answer tokens (the answer JSON and the end of
   turn), never the prompt.
3. The adapter is converted to a GGUF LoRA with llama.cpp's
   `convert_lora_to_gguf.py`, taken from the llama-cpp-python 0.3.36 source
   package on PyPI (fetched once into the cache) unless `--llama-cpp DIR`
   names a llama.cpp checkout. Load it with `icdflow … --adapter
   AGENT=ADAPTER.gguf` or `adapter = …` in models/agents.toml.

A report (`ADAPTER.json`) beside the adapter gives the examples used and
skipped, the loss at the start and the end, the time per step and the
versions. The Python packages are pinned in scripts/lora-requirements.txt.
"""
import argparse
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

# transformers must not try the network or fetch kernels from a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("USE_HUB_KERNELS", "0")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

LLAMA_CPP_PYTHON = "0.3.36"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
END_OF_TURN = "<|im_end|>"


def die(msg: str, code: int = 1):
    print(f"train-lora: {msg}", file=sys.stderr)
    sys.exit(code)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, type=pathlib.Path, help="base model GGUF (the agents' model)")
    p.add_argument("--train", required=True, type=pathlib.Path, action="append",
                   help="exported example file (JSON Lines); repeatable")
    p.add_argument("--out", required=True, type=pathlib.Path, help="adapter GGUF to write")
    p.add_argument("--steps", type=int, default=200, help="optimizer steps")
    p.add_argument("--batch", type=int, default=4, help="examples per step (gradient accumulation)")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16.0)
    p.add_argument("--max-tokens", type=int, default=1024,
                   help="examples longer than this (prompt + answer) are skipped and counted")
    p.add_argument("--limit", type=int, help="use at most this many examples (after shuffling)")
    p.add_argument("--max-share", type=float, metavar="F",
                   help="down-sample the most frequent answer to at most this share of the examples "
                        "(0.4: a model can no longer score 75%% by always giving it)")
    p.add_argument("--fit-check", type=int, default=0, metavar="N",
                   help="after training, the share of N training examples whose every answer token is the model's first choice")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
    p.add_argument("--llama-cpp", type=pathlib.Path,
                   help="llama.cpp source directory holding convert_lora_to_gguf.py")
    p.add_argument("--cache", type=pathlib.Path,
                   default=pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "icdflow",
                   help="where the converter sources are kept")
    return p.parse_args()


def read_examples(paths):
    rows = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                    rows.append((r["prompt"], r["answer"], r.get("role", "?")))
                except (json.JSONDecodeError, KeyError) as e:
                    die(f"{path} line {n}: not an exported example ({e})")
    if not rows:
        die("no examples in " + ", ".join(map(str, paths)))
    return rows


def answer_counts(rows):
    counts = {}
    for _, answer, _ in rows:
        counts[answer] = counts.get(answer, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def cap_majority(rows, share):
    """Drops examples of the most frequent answer (the last ones of the
    shuffled order) until it is at most `share` of all; the others stay."""
    if not 0 < share < 1:
        die(f"--max-share {share}: give a share between 0 and 1")
    counts = answer_counts(rows)
    top, n_top = next(iter(counts.items()))
    rest = len(rows) - n_top
    keep_top = min(n_top, int(share / (1 - share) * rest))
    if rest == 0 or keep_top == n_top:
        return rows, 0
    kept, seen = [], 0
    for r in rows:
        if r[1] == top:
            seen += 1
            if seen > keep_top:
                continue
        kept.append(r)
    return kept, n_top - keep_top


def converter_dir(args) -> pathlib.Path:
    """llama.cpp's sources with convert_lora_to_gguf.py, fetched once."""
    if args.llama_cpp:
        d = args.llama_cpp
        if not (d / "convert_lora_to_gguf.py").is_file():
            die(f"{d}: no convert_lora_to_gguf.py there")
        return d
    d = args.cache / f"llama-cpp-python-{LLAMA_CPP_PYTHON}" / "llama.cpp"
    if (d / "convert_lora_to_gguf.py").is_file():
        return d
    with tempfile.TemporaryDirectory() as tmp:
        print(f"fetching llama-cpp-python {LLAMA_CPP_PYTHON} sources (the LoRA converter) …", file=sys.stderr)
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                            f"llama-cpp-python=={LLAMA_CPP_PYTHON}", "-d", tmp, "-q"])
        if r.returncode != 0:
            die(f"cannot download llama-cpp-python {LLAMA_CPP_PYTHON} from the package registry; "
                "pass --llama-cpp DIR (a llama.cpp checkout)")
        sdist = next(pathlib.Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        prefix = f"llama_cpp_python-{LLAMA_CPP_PYTHON}/vendor/llama.cpp/"
        wanted = ("convert_lora_to_gguf.py", "convert_hf_to_gguf.py", "conversion/", "gguf-py/")
        with tarfile.open(sdist) as t:
            members = [m for m in t.getmembers()
                       if m.name.startswith(prefix) and m.name[len(prefix):].startswith(wanted)]
            t.extractall(tmp, members=members, filter="data")
        d.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(d, ignore_errors=True)
        shutil.move(str(pathlib.Path(tmp) / prefix), d)
    return d


def main():
    args = parse_args()
    if not args.model.is_file():
        die(f"{args.model}: model file not found")
    try:
        import torch
        import transformers
        import peft
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        die(f"{e}; install the pinned packages: pip install -r scripts/lora-requirements.txt", 3)

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    conv = converter_dir(args)

    t_load = time.time()
    mdir, mname = str(args.model.resolve().parent), args.model.name
    tok = AutoTokenizer.from_pretrained(mdir, gguf_file=mname)
    model = AutoModelForCausalLM.from_pretrained(mdir, gguf_file=mname, dtype=torch.float32)
    load_s = time.time() - t_load

    # Tokenize: the prompt as llama.cpp sees it (special tokens parsed, no
    # BOS added), the answer followed by the end of turn.
    rows = read_examples(args.train)
    random.shuffle(rows)
    answers_before = answer_counts(rows)
    dropped = 0
    if args.max_share:
        rows, dropped = cap_majority(rows, args.max_share)
        # Shuffled again: the kept examples of the top answer are the first
        # of the old order, and a run that sees part of an epoch would
        # otherwise see the unbalanced head of it.
        random.shuffle(rows)
    if args.limit:
        rows = rows[: args.limit]
    data, too_long = [], 0
    for prompt, answer, _ in rows:
        p = tok(prompt, add_special_tokens=False)["input_ids"]
        a = tok(answer + END_OF_TURN, add_special_tokens=False)["input_ids"]
        if len(p) + len(a) > args.max_tokens:
            too_long += 1
            continue
        data.append((p, a))
    if not data:
        die(f"every example is longer than --max-tokens {args.max_tokens}")
    roles = sorted({r for _, _, r in rows})

    cfg = peft.LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.0, bias="none",
                          target_modules=TARGETS, task_type="CAUSAL_LM")
    model = peft.get_peft_model(model, cfg)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, args.steps // 10)) * max(0.0, 1 - s / args.steps))

    losses, order, at = [], list(range(len(data))), 0
    t_train = time.time()
    for step in range(args.steps):
        opt.zero_grad()
        step_loss = 0.0
        for _ in range(args.batch):
            if at == len(order):
                random.shuffle(order)
                at = 0
            p, a = data[order[at]]
            at += 1
            ids = torch.tensor([p + a])
            labels = torch.tensor([[-100] * len(p) + a])
            loss = model(input_ids=ids, labels=labels).loss / args.batch
            loss.backward()
            step_loss += loss.item()
        opt.step()
        sched.step()
        losses.append(step_loss)
        if step % 10 == 0 or step == args.steps - 1:
            el = time.time() - t_train
            print(f"step {step + 1}/{args.steps} loss {step_loss:.4f} ({el / (step + 1):.1f} s/step)",
                  file=sys.stderr, flush=True)
    train_s = time.time() - t_train

    # How well the adapter fits what it was taught, under transformers
    # (compare with `icdflow sft score` on the same file: a gap means the
    # conversion or llama.cpp's arithmetic, not the training).
    fit = None
    if args.fit_check:
        model.eval()
        hit = 0
        sample = data[: args.fit_check]
        with torch.no_grad():
            for p, a in sample:
                logits = model(input_ids=torch.tensor([p + a])).logits[0]
                pred = logits[len(p) - 1: len(p) + len(a) - 1].argmax(-1).tolist()
                hit += pred == a
        fit = hit / len(sample)

    with tempfile.TemporaryDirectory() as tmp:
        adapter_dir, base_dir = pathlib.Path(tmp) / "adapter", pathlib.Path(tmp) / "base"
        model.save_pretrained(adapter_dir)
        # The converter reads the base model's shape from a config.json: the
        # loaded config, named as a Hugging Face model, without the GGUF
        # quantization entry.
        base_dir.mkdir()
        c = model.base_model.model.config.to_dict()
        c.pop("quantization_config", None)
        if not c.get("architectures"):
            c["architectures"] = ["Qwen2ForCausalLM"]
        (base_dir / "config.json").write_text(json.dumps(c))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONPATH=str(conv / "gguf-py"))
        r = subprocess.run([sys.executable, str(conv / "convert_lora_to_gguf.py"), "--base", str(base_dir),
                            "--outfile", str(args.out), "--outtype", "f32", str(adapter_dir)],
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            die(f"convert_lora_to_gguf.py failed:\n{r.stderr[-4000:]}")

    def mean(xs):
        return sum(xs) / len(xs) if xs else float("nan")

    k = max(1, min(10, len(losses) // 5))
    report = {
        "model": str(args.model), "train": [str(p) for p in args.train], "roles": roles,
        "examples": len(data), "skipped_too_long": too_long, "max_tokens": args.max_tokens,
        "answers_given": answers_before, "answers_used": answer_counts(rows),
        "max_share": args.max_share, "dropped_for_balance": dropped,
        "steps": args.steps, "batch": args.batch, "lr": args.lr, "rank": args.rank, "alpha": args.alpha,
        "loss_first": mean(losses[:k]), "loss_last": mean(losses[-k:]), "fit_check": fit,
        "load_s": round(load_s, 1), "train_s": round(train_s, 1),
        "s_per_step": round(train_s / args.steps, 2), "threads": torch.get_num_threads(),
        "adapter_bytes": args.out.stat().st_size,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "peft": peft.__version__, "llama-cpp-python sources": LLAMA_CPP_PYTHON},
    }
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))


if __name__ == "__main__":
    main()

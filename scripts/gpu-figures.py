#!/usr/bin/env python3
"""Combine the GPU check's measurements into one summary.

  scripts/gpu-figures.py LLAMA_BENCH.json ICDFLOW_BENCH.json [OUT.json]

LLAMA_BENCH.json: `llama-bench -o json` on the model file (a list of runs
with n_prompt, n_gen and avg_ts). ICDFLOW_BENCH.json: `icdflow bench --json`
on the same file. Prints the figures the speed issue asks for, with the aims
beside them, and writes them as JSON when OUT is given: per-record latency,
records/s, GPU memory of all seven agents, and icdflow's prompt and
generation rates as a share of llama-bench's on the same model.
"""
import json
import sys

AIMS = {"latency_s": 0.3, "records_per_s": 10.0, "gpu_memory_gb": 3.0}


def llama_rates(runs):
    """Best prompt-processing and generation rates (tokens/s) of the runs."""
    pp = [r["avg_ts"] for r in runs if r.get("n_prompt", 0) > 0 and r.get("n_gen", 0) == 0]
    tg = [r["avg_ts"] for r in runs if r.get("n_gen", 0) > 0 and r.get("n_prompt", 0) == 0]
    if not pp or not tg:
        raise ValueError("llama-bench output lacks a prompt-only or a generation-only run")
    return max(pp), max(tg)


def summarize(llama, ours):
    pp, tg = llama_rates(llama)
    shared = ours["shared"]
    # tokens evaluated while generating (bench reports before this field
    # counted generated text instead)
    decoded = shared.get("decoded_tokens_per_record", shared["generated_tokens_per_record"])
    s = {
        "model": ours.get("model"),
        "records": shared["records"],
        "latency_s": shared["latency_ms_mean"] / 1e3,
        "latency_p90_s": shared["latency_ms_p90"] / 1e3,
        "records_per_s": shared["records_per_s"],
        "gpu_memory_gb": (ours.get("gpu_memory_mb") or 0) / 1024 or None,
        "prompt_tokens_per_record": shared["prompt_tokens_per_record"],
        "generated_tokens_per_record": shared["generated_tokens_per_record"],
        "decoded_tokens_per_record": decoded,
        "prompt_tok_per_s": shared["prompt_tok_per_s"],
        "gen_tok_per_s": shared["gen_tok_per_s"],
        "llama_bench_prompt_tok_per_s": pp,
        "llama_bench_gen_tok_per_s": tg,
        "prompt_rate_vs_llama_bench": shared["prompt_tok_per_s"] / pp,
        # answers read off the prompt's logits decode nothing: no rate to compare
        "gen_rate_vs_llama_bench": shared["gen_tok_per_s"] / tg if decoded else None,
    }
    naive = ours.get("naive")
    if naive:
        s["naive_latency_s"] = naive["latency_ms_mean"] / 1e3
        s["shared_vs_naive_speedup"] = ours.get("speedup")
    return s


def report(s):
    lines = [f"model {s['model']}, {s['records']} records"]
    for key, aim in AIMS.items():
        v = s.get(key)
        if v is None:
            lines.append(f"{key}: not measured (aim {aim})")
            continue
        ok = v >= aim if key == "records_per_s" else v <= aim
        lines.append(f"{key}: {v:.3f} (aim {'≥' if key == 'records_per_s' else '≤'} {aim}: {'met' if ok else 'not met'})")
    lines.append(
        f"prompt {s['prompt_tok_per_s']:.0f} tok/s = {s['prompt_rate_vs_llama_bench']:.2f} × llama-bench's {s['llama_bench_prompt_tok_per_s']:.0f}"
    )
    if s["gen_rate_vs_llama_bench"] is None:
        lines.append(
            f"generation: no decoding step ({s['generated_tokens_per_record']:.1f} answer tokens per record read off the prompt's logits)"
        )
    else:
        lines.append(
            f"decoding {s['gen_tok_per_s']:.0f} tok/s ({s['decoded_tokens_per_record']:.1f} tokens per record) = {s['gen_rate_vs_llama_bench']:.2f} × llama-bench's {s['llama_bench_gen_tok_per_s']:.0f}"
        )
    if "naive_latency_s" in s:
        lines.append(f"naive path {s['naive_latency_s']:.3f} s/record; shared prefix ×{s['shared_vs_naive_speedup']:.2f}")
    return "\n".join(lines)


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        llama = json.load(f)
    with open(argv[2]) as f:
        ours = json.load(f)
    s = summarize(llama, ours)
    print(report(s))
    if len(argv) == 4:
        with open(argv[3], "w") as f:
            json.dump(s, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""The peer a record's agent time is compared with: a pipeline shaped like
the published seven-agent coders, run against llama-server.

Each record is one prompt (system message + the whole record text); the
seven agents are seven sequential `/completion` calls on it, each with its
own task line and a fixed answer of ANSWER_TOKENS tokens (`ignore_eos`, so
every call does the same work whatever the model says). `cache_prompt`
lets the server keep the record between the calls, as such a pipeline
would. Nothing here codes anything: it measures what that shape of work
costs on the same server, model and cores as `icdflow bench --server`.

    scripts/peer-bench.py --server http://127.0.0.1:8089 RECORDS.json --limit 3

RECORDS.json: a JSON list of records whose string fields are the record's
sections (CCL25 style); id and code fields are left out of the prompt.
Prints one JSON object (per-record seconds, mean, p50, p90, tokens).
Standard library only.
"""

import argparse
import json
import statistics
import sys
import time
import urllib.request

SYSTEM = (
    "你是医院病案室的资深ICD编码员，熟悉ICD-10（国家临床版2.0）疾病编码和"
    "ICD-9-CM-3（国家临床版3.0）手术操作编码规则。"
)
# One task line per agent of the seven-agent shape.
TASKS = [
    "诊断标准化：把诊断栏的每一项写成标准诊断名称。",
    "手术标准化：把手术栏的每一项写成标准手术操作名称。",
    "手术候选挖掘：列出病案中实际实施而手术栏未列出的操作。",
    "诊断排序：选出主要诊断，按主次列出其余诊断。",
    "手术排序：选出主要手术操作，按主次列出其余操作。",
    "诊断校验：删去无病案依据、重复或多余的诊断。",
    "手术校验：删去无病案依据、重复或多余的手术操作。",
]
SKIP_FIELDS = ("病案标识", "id", "record_id")


def record_id(rec, i):
    for key in SKIP_FIELDS:
        if isinstance(rec.get(key), str):
            return rec[key]
    return f"#{i + 1}"


def record_text(rec):
    parts = []
    for key, value in rec.items():
        if key in SKIP_FIELDS or key.endswith("编码") or not isinstance(value, str):
            continue
        if value.strip():
            parts.append(f"【{key}】{value.strip()}")
    return "\n".join(parts)


def completion(server, prompt, answer_tokens, timeout):
    body = json.dumps(
        {
            "prompt": prompt,
            "n_predict": answer_tokens,
            "temperature": 0,
            "cache_prompt": True,
            "ignore_eos": True,
        }
    ).encode()
    req = urllib.request.Request(
        server.rstrip("/") + "/completion",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.load(resp)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("records", help="JSON list of records (CCL25 style)")
    ap.add_argument("--server", required=True, help="llama-server URL")
    ap.add_argument("--limit", type=int, default=0, help="only the first N records")
    ap.add_argument("--calls", type=int, default=len(TASKS), help="agents per record")
    ap.add_argument("--answer-tokens", type=int, default=60)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per call")
    args = ap.parse_args(argv)

    try:
        with open(args.records, encoding="utf-8") as f:
            records = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"{args.records}: cannot read the records: {e}")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        sys.exit(f"{args.records}: expected a JSON list of records (objects)")
    if args.limit:
        records = records[: args.limit]
    if not records:
        sys.exit(f"{args.records}: no records")

    rows = []
    for i, rec in enumerate(records):
        head = (
            f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n"
            f"【病案】\n{record_text(rec)}\n"
        )
        start = time.monotonic()
        prompt_n = cached_n = predicted_n = 0
        for k in range(args.calls):
            task = TASKS[k % len(TASKS)]
            prompt = f"{head}【任务】{task}<|im_end|>\n<|im_start|>assistant\n"
            try:
                out = completion(args.server, prompt, args.answer_tokens, args.timeout)
            except OSError as e:
                sys.exit(f"{args.server}: record {record_id(rec, i)}, call {k + 1}: {e}")
            timings = out.get("timings") or {}
            prompt_n += int(timings.get("prompt_n", 0))
            cached_n += int(timings.get("cache_n", 0))
            predicted_n += int(timings.get("predicted_n", out.get("tokens_predicted", 0)))
        rows.append(
            {
                "id": record_id(rec, i),
                "seconds": time.monotonic() - start,
                "prompt_tokens": prompt_n,
                "cached_tokens": cached_n,
                "generated_tokens": predicted_n,
            }
        )
    secs = [r["seconds"] for r in rows]
    n = len(rows)
    print(
        json.dumps(
            {
                "records": n,
                "calls_per_record": args.calls,
                "answer_tokens": args.answer_tokens,
                "seconds_mean": statistics.mean(secs),
                "seconds_p50": statistics.median(secs),
                "seconds_p90": percentile(secs, 0.9),
                "prompt_tokens_per_record": sum(r["prompt_tokens"] for r in rows) / n,
                "cached_tokens_per_record": sum(r["cached_tokens"] for r in rows) / n,
                "generated_tokens_per_record": sum(r["generated_tokens"] for r in rows) / n,
                "per_record": rows,
            },
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

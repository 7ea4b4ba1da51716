#!/usr/bin/env python3
"""Write a large synthetic batch for load tests of `icdflow code`, by
recombining the sections of real records (never copies of whole records):
record i takes each section from a different source record, chosen by a
seeded generator, its admission diagnosis list is one to six items drawn
from all the sources' lists, and it gets a fresh id.

  scripts/batch-input.py N OUT.jsonl [--chars C] [--seed S] [--sources FILE…]

--chars C  makes every record C characters long (its narrative sections,
           现病史 and 诊疗经过, are grown from other records' text, or its
           longest sections but the diagnosis list cut, until it is C), for cost-against-length figures.
Sources default to the CCL25 files of ../shared/data/records/; the output is
JSON Lines in the CCL25 shape (one object per line), which `icdflow code`
streams. Write it under /tmp, not into the repository.
"""
import argparse
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SOURCES = [
    os.path.join(HERE, "..", "..", "shared", "data", "records", f)
    for f in ("ccl25-unlabelled.json", "ccl25-dev.json")
]
ID = "病案标识"
DROP = {"主要诊断编码", "其他诊断编码"}
GROW = ("现病史", "诊疗经过")
DIAG = "入院诊断"
ITEM_SPLIT = re.compile(r"\s*(?:\d+[.、．]|[;；\n])\s*")


def text(v):
    """A field as text (CCL25 has NaN for some missing values)."""
    return v if isinstance(v, str) else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--chars", type=int, default=0)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--sources", nargs="*", default=DEFAULT_SOURCES)
    a = ap.parse_args()
    sources = []
    for path in a.sources:
        if not os.path.exists(path):
            sys.exit(f"{path}: missing (the shared data folder?)")
        with open(path, encoding="utf-8") as f:
            sources.extend(json.load(f))
    fields = [k for k in sources[0] if k != ID and k not in DROP]
    # Diagnosis items of every source, so that a record's list is a new
    # combination of real items rather than a copy of one record's list.
    items = [p for r in sources for p in ITEM_SPLIT.split(r.get(DIAG, "")) if p.strip()]
    rng = random.Random(a.seed)
    with open(a.out, "w", encoding="utf-8") as out:
        for i in range(a.n):
            rec = {ID: f"SYN{a.seed:02d}{i:09d}"}
            for k in fields:
                rec[k] = text(rng.choice(sources).get(k))
            if items:
                picked = rng.sample(items, rng.randint(1, 6))
                rec[DIAG] = " ".join(f"{j + 1}.{p}" for j, p in enumerate(picked))
            if a.chars:
                size = sum(len(v) for v in rec.values())
                tries = 0
                while size < a.chars and tries < 1000:
                    tries += 1
                    k = GROW[rng.randrange(len(GROW))]
                    extra = text(rng.choice(sources).get(k))
                    extra = extra[: a.chars - size]
                    rec[k] += extra
                    size += len(extra)
                # Too long already: shorten the longest sections but the
                # diagnosis list until the record fits.
                while size > a.chars:
                    k = max((k for k in fields if k != DIAG), key=lambda k: len(rec[k]))
                    cut = min(size - a.chars, len(rec[k]))
                    if cut == 0:
                        break
                    rec[k] = rec[k][: len(rec[k]) - cut]
                    size -= cut
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

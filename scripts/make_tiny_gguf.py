#!/usr/bin/env python3
"""Write a tiny random-weight qwen2 GGUF (and a LoRA adapter for it) for tests.

The model has the real Qwen2 tokenizer and chat template, copied from a
vocab-only GGUF, so prompts tokenize exactly as with Qwen2.5; the weights are
random, so its text means nothing. It exists to exercise the real llama.cpp
path (loading, KV cache, batching, grammar, LoRA) in seconds on a CPU.

  make_tiny_gguf.py OUT.gguf [--vocab qwen2-vocab.gguf] [--lora OUT-lora.gguf]

Without --lora the adapter goes next to OUT as `<stem>-lora.gguf`.
Needs numpy and the `gguf` package (pip install gguf).
"""
import argparse
import pathlib
import sys

import numpy as np

try:
    from gguf import GGUFReader, GGUFValueType, GGUFWriter
except ImportError:  # the caller (a test) turns this exit code into a skip
    print("the `gguf` Python package is missing: pip install gguf", file=sys.stderr)
    sys.exit(3)

ARCH = "qwen2"
N_EMBD = 64
N_LAYER = 2
N_HEAD = 4
N_KV = 2
HEAD_DIM = N_EMBD // N_HEAD
N_FF = 128
N_CTX_TRAIN = 4096
LORA_RANK = 4


def default_vocab() -> pathlib.Path:
    # scripts/ is in the repository; shared/ sits beside the checkout.
    return pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "qwen2-vocab.gguf"


def copy_tokenizer(reader: GGUFReader, w: GGUFWriter) -> int:
    """Copy every tokenizer.* key (vocab, merges, special ids, chat template)."""
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        kind = field.types[0]
        if kind == GGUFValueType.ARRAY:
            inner = field.types[-1]
            if inner == GGUFValueType.STRING:
                values = [bytes(field.parts[i]).decode("utf-8", "surrogateescape") for i in field.data]
            else:
                values = [field.parts[i][0].item() for i in field.data]
            w.add_array(key, values)
        elif kind == GGUFValueType.STRING:
            w.add_string(key, bytes(field.parts[field.data[0]]).decode("utf-8"))
        else:
            w.add_key_value(key, field.parts[field.data[0]][0].item(), kind)
    if "tokenizer.ggml.tokens" not in reader.fields:
        sys.exit("the vocab file has no tokenizer.ggml.tokens")
    return len(reader.fields["tokenizer.ggml.tokens"].data)


def write_model(out: pathlib.Path, vocab: pathlib.Path, rng: np.random.Generator) -> int:
    w = GGUFWriter(str(out), ARCH)
    w.add_name("icdflow tiny test model (random weights)")
    w.add_context_length(N_CTX_TRAIN)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_KV)
    w.add_rope_freq_base(1e6)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_file_type(1)  # mostly F16
    n_vocab = copy_tokenizer(GGUFReader(str(vocab)), w)

    def mat(name: str, rows: int, cols: int, scale: float, f16: bool = False) -> None:
        data = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
        w.add_tensor(name, data.astype(np.float16) if f16 else data)

    def vec(name: str, n: int, value: float) -> None:
        w.add_tensor(name, np.full(n, value, np.float32))

    # A large embedding scale makes the (tied) output logits peaked, so
    # greedy and sampled text vary with the prompt instead of repeating one token.
    mat("token_embd.weight", n_vocab, N_EMBD, 0.5, f16=True)
    vec("output_norm.weight", N_EMBD, 1.0)
    s = 1.0 / np.sqrt(N_EMBD)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        vec(p + "attn_norm.weight", N_EMBD, 1.0)
        mat(p + "attn_q.weight", N_HEAD * HEAD_DIM, N_EMBD, s)
        mat(p + "attn_k.weight", N_KV * HEAD_DIM, N_EMBD, s)
        mat(p + "attn_v.weight", N_KV * HEAD_DIM, N_EMBD, s)
        vec(p + "attn_q.bias", N_HEAD * HEAD_DIM, 0.0)
        vec(p + "attn_k.bias", N_KV * HEAD_DIM, 0.0)
        vec(p + "attn_v.bias", N_KV * HEAD_DIM, 0.0)
        mat(p + "attn_output.weight", N_EMBD, N_HEAD * HEAD_DIM, s)
        vec(p + "ffn_norm.weight", N_EMBD, 1.0)
        mat(p + "ffn_gate.weight", N_FF, N_EMBD, s)
        mat(p + "ffn_up.weight", N_FF, N_EMBD, s)
        mat(p + "ffn_down.weight", N_EMBD, N_FF, 1.0 / np.sqrt(N_FF))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return n_vocab


def write_lora(out: pathlib.Path, rng: np.random.Generator) -> None:
    """A LoRA adapter on every attn_q: delta W = B @ A * alpha / rank.

    GGUF (ggml) shapes: attn_q.weight is [n_embd, n_q]; lora_a must be
    [n_embd, r] and lora_b [r, n_q]; numpy shapes are the reverse.
    """
    w = GGUFWriter(str(out), ARCH)
    w.add_type("adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(LORA_RANK))
    w.add_name("icdflow tiny test LoRA (random)")
    for i in range(N_LAYER):
        a = (rng.standard_normal((LORA_RANK, N_EMBD)) * 0.5).astype(np.float32)
        b = (rng.standard_normal((N_HEAD * HEAD_DIM, LORA_RANK)) * 0.5).astype(np.float32)
        w.add_tensor(f"blk.{i}.attn_q.weight.lora_a", a)
        w.add_tensor(f"blk.{i}.attn_q.weight.lora_b", b)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--vocab", type=pathlib.Path, default=default_vocab())
    ap.add_argument("--lora", type=pathlib.Path, default=None)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if not args.vocab.is_file():
        print(f"vocab GGUF not found: {args.vocab}", file=sys.stderr)
        sys.exit(4)
    lora = args.lora or args.out.with_name(args.out.stem + "-lora.gguf")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    # Write to temporary names first so a concurrent reader never sees half a file.
    tmp_model = args.out.with_name(args.out.name + ".part")
    tmp_lora = lora.with_name(lora.name + ".part")
    n_vocab = write_model(tmp_model, args.vocab, rng)
    write_lora(tmp_lora, rng)
    tmp_lora.replace(lora)
    tmp_model.replace(args.out)
    print(f"wrote {args.out} (qwen2, {N_LAYER} layers, n_embd {N_EMBD}, vocab {n_vocab}) and {lora}")


if __name__ == "__main__":
    main()

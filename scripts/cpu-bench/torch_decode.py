"""One contender of `npm run bench:cpu`: PyTorch eager (CPU) with a KV cache, on the same weights.

The model is training/model.py's ImageGPT; decoding uses a static cache [B, H, 1024, head_dim]
per layer written in place (the fastest eager form; no concatenation per step). Prints one JSON
line: prefill ms (start token + prefix, one row) and the median decode ms per step per batch size.

    /usr/bin/python3 scripts/cpu-bench/torch_decode.py --weights DIR --threads 1 --batch 1,8 --prefix 512 --steps 16

DIR holds model.safetensors (Hugging Face names) and config.json, e.g. an `igpt random` folder, or
what scripts/cpu-bench/dump-weights.ts writes from a bundle.
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "training"))
from hf_io import read_safetensors  # noqa: E402
from model import ImageGPT, ImageGPTConfig  # noqa: E402


def load(weights_dir, scale):
    cfg_json = json.load(open(os.path.join(weights_dir, "config.json")))
    cfg = ImageGPTConfig(
        n_layer=cfg_json["n_layer"],
        n_head=cfg_json["n_head"],
        n_embd=cfg_json["n_embd"],
        layer_norm_epsilon=cfg_json.get("layer_norm_epsilon", 1e-5),
        attn_scale=scale,
    )
    sd, _ = read_safetensors(os.path.join(weights_dir, "model.safetensors"))
    sd = {k if k.startswith(("transformer.", "lm_head")) else "transformer." + k: v for k, v in sd.items()}
    sd = {k: v for k, v in sd.items() if not k.endswith(("attn.bias", "attn.masked_bias"))}
    model = ImageGPT(cfg)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith(".bias")]  # zero biases may be absent
    if missing or unexpected:
        raise SystemExit(f"weights do not fit: missing {missing}, unexpected {unexpected}")
    return model.eval(), cfg


class Decoder:
    """Prefill + one-token steps with a static KV cache, for B rows."""

    def __init__(self, model, cfg, batch):
        self.m, self.cfg, self.B = model, cfg, batch
        hd = cfg.n_embd // cfg.n_head
        self.k = [torch.zeros(batch, cfg.n_head, cfg.n_positions, hd) for _ in range(cfg.n_layer)]
        self.v = [torch.zeros(batch, cfg.n_head, cfg.n_positions, hd) for _ in range(cfg.n_layer)]
        self.length = 0
        self.scale = cfg.attn_scale if cfg.attn_scale is not None else 1 / math.sqrt(hd)

    def expand(self, batch):
        for i in range(self.cfg.n_layer):
            self.k[i] = self.k[i][:1].expand(batch, -1, -1, -1).contiguous()
            self.v[i] = self.v[i][:1].expand(batch, -1, -1, -1).contiguous()
        self.B = batch

    def feed(self, ids):  # ids [B, T] -> logits [B, T, 512]
        m, cfg = self.m, self.cfg
        B, T = ids.shape
        H, hd = cfg.n_head, cfg.n_embd // cfg.n_head
        p0, p1 = self.length, self.length + T
        x = m.transformer.wte(ids) + m.transformer.wpe(torch.arange(p0, p1))
        mask = None
        if T > 1:
            mask = torch.ones(T, p1, dtype=torch.bool).tril(diagonal=p0)
        for i, blk in enumerate(m.transformer.h):
            q, k, v = blk.attn.c_attn(blk.ln_1(x)).split(cfg.n_embd, dim=2)
            q = q.view(B, T, H, hd).transpose(1, 2)
            self.k[i][:, :, p0:p1] = k.view(B, T, H, hd).transpose(1, 2)
            self.v[i][:, :, p0:p1] = v.view(B, T, H, hd).transpose(1, 2)
            att = (q @ self.k[i][:, :, :p1].transpose(-2, -1)) * self.scale
            if mask is not None:
                att = att.masked_fill(~mask, float("-inf"))
            y = torch.softmax(att, dim=-1) @ self.v[i][:, :, :p1]
            x = x + blk.attn.c_proj(y.transpose(1, 2).reshape(B, T, cfg.n_embd))
            x = x + blk.mlp(blk.ln_2(x))
        self.length = p1
        return m.lm_head(m.transformer.ln_f(x))


def bench_prompt(length, seed=1):
    """The same LCG prompt as `igpt bench` (src/engine/plan.ts benchPrompt)."""
    out, s = [], seed
    for _ in range(length):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        out.append(s >> 23)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--prefix", type=int, default=512)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--scale", type=float, default=None)
    ap.add_argument("--prefill-chunk", type=int, default=0, help="0: the whole prompt in one forward")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    model, cfg = load(a.weights, a.scale)
    load_ms = (time.perf_counter() - t0) * 1e3
    prompt = torch.tensor([[cfg.start_token] + bench_prompt(a.prefix)])
    out = {"contender": "torch", "threads": torch.get_num_threads(), "load_ms": load_ms, "prefill_ms": {}, "decode_ms_per_step": {}, "torch": torch.__version__}
    with torch.inference_mode():
        warm = Decoder(model, cfg, 1)
        warm.feed(prompt[:, :16])
        warm.feed(prompt[:, 16:17])
        for b in [int(x) for x in a.batch.split(",")]:
            dec = Decoder(model, cfg, 1)
            t0 = time.perf_counter()
            chunk = a.prefill_chunk or prompt.shape[1]
            for s in range(0, prompt.shape[1], chunk):
                logits = dec.feed(prompt[:, s : s + chunk])
            out["prefill_ms"][b] = (time.perf_counter() - t0) * 1e3
            dec.expand(b)
            g = torch.Generator().manual_seed(0)
            tok = torch.multinomial(torch.softmax(logits[:, -1], -1).expand(b, -1), 1, generator=g)
            gaps = []
            for _ in range(a.steps):
                t0 = time.perf_counter()
                logits = dec.feed(tok)
                tok = torch.multinomial(torch.softmax(logits[:, -1], -1), 1, generator=g)
                gaps.append((time.perf_counter() - t0) * 1e3)
            gaps.sort()
            out["decode_ms_per_step"][b] = gaps[len(gaps) // 2]
    print(json.dumps(out))


if __name__ == "__main__":
    main()

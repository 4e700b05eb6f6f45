#!/usr/bin/env bash
# CPU smoke test of the whole recipe: tiny dataset -> a few training steps -> Hugging Face folder.
# Usage: training/smoke.sh [python]   (default: python3; on Debian use /usr/bin/python3 for its torch)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
DIR=training/runs/smoke
rm -rf "$DIR"
mkdir -p "$DIR"

"$PY" training/check_model.py
npx tsx training/build_dataset.ts --out "$DIR/data" --limit 40 --kmeans-iters 10
"$PY" training/train.py --data "$DIR/data/dataset.npz" --out "$DIR/out" \
  --n-layer 2 --n-embd 64 --n-head 4 --batch-size 2 --lr 3e-3 --warmup-steps 5 \
  --max-steps "${SMOKE_STEPS:-40}" --minutes 20 --ckpt-seconds 1e9 --log-every 5 --compile off
"$PY" - "$DIR/out" <<'PYEOF'
import json, math, os, re, sys
sys.path.insert(0, "training")
from hf_io import read_safetensors
out = sys.argv[1]
hf = os.path.join(out, "hf")
tensors, meta = read_safetensors(os.path.join(hf, "model.safetensors"))
cfg = json.load(open(os.path.join(hf, "config.json")))
pre = json.load(open(os.path.join(hf, "preprocessor_config.json")))
L, d = cfg["n_layer"], cfg["n_embd"]
want = {"transformer.wte.weight": [513, d], "transformer.wpe.weight": [1024, d], "transformer.ln_f.weight": [d], "lm_head.weight": [512, d]}
for i in range(L):
    p = f"transformer.h.{i}."
    want.update({p + "ln_1.weight": [d], p + "ln_2.weight": [d],
                 p + "attn.c_attn.weight": [d, 3 * d], p + "attn.c_attn.bias": [3 * d],
                 p + "attn.c_proj.weight": [d, d], p + "attn.c_proj.bias": [d],
                 p + "mlp.c_fc.weight": [d, 4 * d], p + "mlp.c_fc.bias": [4 * d],
                 p + "mlp.c_proj.weight": [4 * d, d], p + "mlp.c_proj.bias": [d]})
got = {k: list(v.shape) for k, v in tensors.items()}
assert got == want, f"tensor names/shapes differ: {set(got) ^ set(want)}"
assert cfg["model_type"] == "imagegpt" and cfg["vocab_size"] == 513 and cfg["activation_function"] == "quick_gelu"
assert len(pre["clusters"]) == 512 and pre["size"] == {"height": 32, "width": 32}
log = open(os.path.join(out, "train.log")).read()
losses = [float(x) for x in re.findall(r"step \d+ loss ([0-9.]+)", log)]
summary = json.load(open(os.path.join(out, "summary.json")))
print(f"smoke: train bits/token {losses[0]:.3f} -> {losses[-1]:.3f}; val {summary['val_bits']} (uniform: 9.0)")
assert losses[-1] < losses[0] - 1.0, "training loss did not decrease"
assert summary["val_bits"] < 9.0 - 1.0, "validation loss did not decrease"
print("smoke: OK")
PYEOF

#!/usr/bin/env bash
# The one script to run on the GPU machine (repository root; Python + PyTorch with CUDA, no Node,
# no network). It needs training/data/dataset.npz in the working tree (built here with
# `npx tsx training/build_dataset.ts`, carried along as an ignored path).
#
#   training/gpu_run.sh
#
# Trains several model shapes side by side on the one GPU for $MINUTES each (a model this small
# leaves most of an H100/H200 idle, so running them together costs little per model), then packs
# the one with the best validation loss.
# Settings (environment): MINUTES (7), CONFIGS ("layers:width:heads:dropout ..."), BATCH (128),
# LR (1.5e-3), FLIP (0.5), EXTRA (more train.py flags), PY (python), DATA (dataset path).
# $OUT receives (at most 8 files, each under 16 MiB):
#   best-hf.tar.gz[.partNN]  the best model's Hugging Face folder hf/ + its train.log, curve.csv, summary.json
#   runs.tar.gz              every configuration's train.log, curve.csv, history.json, summary.json
#   SUMMARY.txt, SHA256SUMS
# Reassemble split parts with: cat best-hf.tar.gz.part* > best-hf.tar.gz
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-training/runs/out}
mkdir -p "$OUT"
PY=${PY:-$(command -v python3 || command -v python)}
DATA=${DATA:-training/data/dataset.npz}
RUN=${RUN:-training/runs/gpu}
MINUTES=${MINUTES:-7}
CONFIGS=${CONFIGS:-"8:240:6:0.1 12:192:6:0.1 6:256:8:0.1"}
export PYTHONUNBUFFERED=1

if [ ! -f "$DATA" ]; then
  echo "missing $DATA: build it with 'npx tsx training/build_dataset.ts' and carry it to this machine" >&2
  exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__)"

# The model against the reference fixture (both attention paths), a few seconds. A failure is
# reported but does not stop the run: the device time is better spent and the result judged here.
"$PY" training/check_model.py 2>&1 | tail -n 3 || echo "check_model FAILED (see above)"

rm -rf "$RUN"
mkdir -p "$RUN"
pids=()
for c in $CONFIGS; do
  IFS=: read -r L D H P <<< "$c"
  name="L$L-d$D-h$H-p$P"
  mkdir -p "$RUN/$name"
  # Leave room for start-up, compile, the final eval and packing inside the caller's limit.
  timeout $(( ${MINUTES%.*} * 60 + 90 )) "$PY" training/train.py --data "$DATA" --out "$RUN/$name" \
    --n-layer "$L" --n-embd "$D" --n-head "$H" --dropout "$P" --batch-size "${BATCH:-128}" \
    --lr "${LR:-1.5e-3}" --flip "${FLIP:-0.5}" --minutes "$MINUTES" --ckpt-seconds 45 --log-every 100 \
    --resume never ${EXTRA:-} > "$RUN/$name/stdout.log" 2>&1 &
  pids+=($!)
  echo "started $name (pid $!)"
done
for p in "${pids[@]}"; do wait "$p"; echo "pid $p exit code $?"; done

# One SUMMARY line per configuration (or its last log lines when it did not finish).
: > "$OUT/SUMMARY.txt"
for d in "$RUN"/*/; do
  n=$(basename "$d")
  if grep -q '^SUMMARY' "$d/stdout.log"; then
    echo "$n $(grep '^SUMMARY' "$d/stdout.log" | tail -n 1)" >> "$OUT/SUMMARY.txt"
  else
    echo "$n DID NOT FINISH: $(tail -n 2 "$d/stdout.log" | tr '\n' ' ')" >> "$OUT/SUMMARY.txt"
  fi
done

# The best configuration by its best validation loss (hf/training.json is written at each improvement).
best=$("$PY" - "$RUN" <<'PYEOF'
import json, os, sys
run = sys.argv[1]
scores = []
for n in sorted(os.listdir(run)):
    p = os.path.join(run, n, "hf", "training.json")
    if os.path.exists(p):
        scores.append((json.load(open(p))["val_bits_per_token"], n))
print(min(scores)[1] if scores else "")
PYEOF
)
echo "best: ${best:-none}" | tee -a "$OUT/SUMMARY.txt"
tar -C "$RUN" -czf "$OUT/runs.tar.gz" --exclude='*.pt' --exclude='hf' .
if [ -n "$best" ]; then
  tar -C "$RUN/$best" -czf "$OUT/best-hf.tar.gz" hf train.log curve.csv $(cd "$RUN/$best" && ls summary.json history.json 2>/dev/null)
  if [ "$(stat -c %s "$OUT/best-hf.tar.gz")" -gt $((15 * 1024 * 1024)) ]; then
    (cd "$OUT" && sha256sum best-hf.tar.gz > SHA256SUMS)
    split -b 15M -d "$OUT/best-hf.tar.gz" "$OUT/best-hf.tar.gz.part" && rm "$OUT/best-hf.tar.gz"
  else
    (cd "$OUT" && sha256sum best-hf.tar.gz > SHA256SUMS)
  fi
fi
ls -la "$OUT"
cat "$OUT/SUMMARY.txt"

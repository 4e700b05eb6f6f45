#!/usr/bin/env bash
# The one script to run on the GPU machine (repository root; Python + PyTorch with CUDA, no Node,
# no network). It needs training/data/dataset.npz in the working tree (built here with
# `npx tsx training/build_dataset.ts`, carried along as an ignored path).
#
#   training/gpu_run.sh                 # train one model for $MINUTES, results into $OUT
#   SWEEP=1 training/gpu_run.sh         # short runs of several sizes, summaries only
#
# Settings (environment): MINUTES (8), N_LAYER (8), N_EMBD (240), N_HEAD (6), BATCH (128), LR (1.5e-3),
# DROPOUT (0), FLIP (0.5), EXTRA (more train.py flags), SWEEP_MINUTES (1.25), SWEEP_CONFIGS,
# PY (python executable), DATA (dataset path).
# $OUT receives (at most 6 files, each under 16 MiB):
#   emoji-igpt-hf.tar.gz[.partNN]  the Hugging Face folder hf/ + train.log + history.json + summary.json
#   train.log, summary.json, SHA256SUMS
# Reassemble split parts with: cat emoji-igpt-hf.tar.gz.part* > emoji-igpt-hf.tar.gz
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-training/runs/out}
mkdir -p "$OUT"
PY=${PY:-$(command -v python3 || command -v python)}
DATA=${DATA:-training/data/dataset.npz}
RUN=training/runs/gpu
MINUTES=${MINUTES:-8}
SWEEP_MINUTES=${SWEEP_MINUTES:-1.25}

if [ ! -f "$DATA" ]; then
  echo "missing $DATA: build it with 'npx tsx training/build_dataset.ts' and carry it to this machine" >&2
  exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__)"

# The model against the reference fixture (both attention paths), a few seconds.
"$PY" training/check_model.py || { echo "check_model failed" >&2; exit 3; }

if [ "${SWEEP:-0}" = "1" ]; then
  # layers:width:heads, each under 25 MB of fp32 weights
  CONFIGS=${SWEEP_CONFIGS:-"8:240:6 6:256:8 12:192:6 4:320:5"}
  : > "$OUT/sweep.txt"
  for c in $CONFIGS; do
    IFS=: read -r L D H <<< "$c"
    timeout $(( ${SWEEP_MINUTES%.*} * 60 + 150 )) "$PY" training/train.py --data "$DATA" --out "$RUN/sweep-$L-$D" \
      --n-layer "$L" --n-embd "$D" --n-head "$H" --batch-size "${BATCH:-128}" --lr "${LR:-1.5e-3}" \
      --dropout "${DROPOUT:-0}" --flip "${FLIP:-0.5}" --minutes "$SWEEP_MINUTES" --ckpt-seconds 1e9 ${EXTRA:-} \
      2>&1 | tee "$OUT/sweep-$L-$D.log" | grep -E "SUMMARY|error|Error" | tee -a "$OUT/sweep.txt"
  done
  cat "$OUT/sweep.txt"
  exit 0
fi

rm -rf "$RUN/main"
# Leave room for start-up, the final eval and packing inside the caller's limit.
timeout $(( ${MINUTES%.*} * 60 + 75 )) "$PY" training/train.py --data "$DATA" --out "$RUN/main" \
  --n-layer "${N_LAYER:-8}" --n-embd "${N_EMBD:-240}" --n-head "${N_HEAD:-6}" --batch-size "${BATCH:-128}" \
  --lr "${LR:-1.5e-3}" --dropout "${DROPOUT:-0}" --flip "${FLIP:-0.5}" --minutes "$MINUTES" --ckpt-seconds 60 ${EXTRA:-}
rc=$?
echo "train.py exit code $rc"

# Pack whatever the last checkpoint left (also after a timeout).
if [ -f "$RUN/main/hf/model.safetensors" ]; then
  tar -C "$RUN/main" -czf "$OUT/emoji-igpt-hf.tar.gz" hf train.log $(cd "$RUN/main" && ls history.json summary.json 2>/dev/null)
  if [ "$(stat -c %s "$OUT/emoji-igpt-hf.tar.gz")" -gt $((15 * 1024 * 1024)) ]; then
    split -b 15M -d "$OUT/emoji-igpt-hf.tar.gz" "$OUT/emoji-igpt-hf.tar.gz.part"
    (cd "$OUT" && sha256sum emoji-igpt-hf.tar.gz > SHA256SUMS) && rm "$OUT/emoji-igpt-hf.tar.gz"
  else
    (cd "$OUT" && sha256sum emoji-igpt-hf.tar.gz > SHA256SUMS)
  fi
fi
cp "$RUN/main/train.log" "$OUT/" 2>/dev/null
cp "$RUN/main/summary.json" "$OUT/" 2>/dev/null
ls -la "$OUT"
tail -n 1 "$RUN/main/train.log" 2>/dev/null
exit $rc

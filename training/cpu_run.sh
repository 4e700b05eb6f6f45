#!/usr/bin/env bash
# A resumable CPU training run (no GPU): one run spread over several sessions. Each call trains for
# SESSION_MINUTES and leaves <out>/ckpt.pt (weights, optimizer state, step, data order, RNG, budget
# spent); calling it again continues exactly where it stopped, until MINUTES of training in all.
# Needs training/data/dataset.npz (npx tsx training/build_dataset.ts) and Debian's python3-torch with
# OpenBLAS (apt-get install -y python3-torch libopenblas0-pthread). Run it in the background:
#   nice -n 10 training/cpu_run.sh &
# Settings (environment): MINUTES (600), SESSION_MINUTES (55), N_LAYER (6), N_EMBD (256), N_HEAD (8)
# (the shipped model's shape), BATCH (8), AMP (auto: bf16 autocast where the CPU has avx512_bf16,
# about 5x fp32 on 2 cores, training/README.md), THREADS (2), OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
OUT=${OUT:-training/runs/cpu}
mkdir -p "$OUT"
export OMP_NUM_THREADS=${THREADS:-2} OPENBLAS_NUM_THREADS=${THREADS:-2}
"$PY" training/train.py --data training/data/dataset.npz --out "$OUT" \
  --n-layer "${N_LAYER:-6}" --n-embd "${N_EMBD:-256}" --n-head "${N_HEAD:-8}" --batch-size "${BATCH:-8}" \
  --lr 1.5e-3 --warmup-steps 100 --flip 0.5 --dropout 0.1 --minutes "${MINUTES:-600}" \
  --session-minutes "${SESSION_MINUTES:-55}" --resume auto --ckpt-seconds 600 --eval-images 128 --log-every 10 \
  --threads "${THREADS:-2}" --amp "${AMP:-auto}" --compile off --chunked-attention auto --seed 1337

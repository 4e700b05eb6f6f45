#!/usr/bin/env bash
# Interim default model on a CPU (no GPU): 4 layers x 128, 4 heads, ~38 minutes on ONE core of a 2-core VM.
# Needs training/data/dataset.npz (npx tsx training/build_dataset.ts) and Debian's python3-torch with OpenBLAS:
#   apt-get install -y libopenblas0-pthread   # torch 1.13's generic BLAS is ~10x slower without it
# Then export and measure (see models/default/README.md):
#   npm run igpt -- export training/runs/cpu/out/hf --out models/default --name emoji-igpt-cpu
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
MINUTES=${MINUTES:-38}
OUT=training/runs/cpu/out
mkdir -p training/runs/cpu
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
"$PY" training/train.py --data training/data/dataset.npz --out "$OUT" \
  --n-layer 4 --n-embd 128 --n-head 4 --batch-size 8 --lr 1.5e-3 --warmup-steps 50 \
  --flip 0.5 --dropout 0 --minutes "$MINUTES" --ckpt-seconds 480 --eval-images 128 --log-every 10 \
  --threads 1 --compile off --chunked-attention auto --seed 1337

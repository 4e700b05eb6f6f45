#!/bin/bash
# ON the lent GPU machine, from the repository root, with .gpu carried (made by scripts/gpu/pack.sh):
#   bash scripts/gpu/run.sh
# Unpacks .gpu, probes the WebGPU adapter (with and without Dawn's vulkan_enable_f16_on_nvidia
# toggle), generates random iGPT-S (and iGPT-M) checkpoints with the bundled CLI, exports them and
# benchmarks decoding on WebGPU. Everything lands in $OUT (run.log, adapter.jsonl, bench-*.json);
# the last line printed is one SUMMARY line. Each step is time-boxed so the whole run ends within
# IGPT_BUDGET_S seconds (default 470).
# Overrides, for rehearsals on other machines: VK_DRIVER_FILES (Vulkan ICD), IGPT_GPU_DIR (unpack
# folder), IGPT_S_ARGS / IGPT_M_ARGS (igpt random shape arguments), IGPT_STEPS, IGPT_M_STEPS,
# IGPT_PREFIX, IGPT_RUN_M=0 (skip M), IGPT_SKIP_DEBS=1, IGPT_WASM_TIERING (budget, liftoff, v8).
set -uo pipefail
T0=$(date +%s)
BUDGET=${IGPT_BUDGET_S:-470}
OUT=${OUT:?OUT must name the folder whose files come back}
mkdir -p "$OUT"
ROOT=$(pwd)
PACK=$ROOT/.gpu
G=${IGPT_GPU_DIR:-/tmp/gpu}
W=${IGPT_WORK_DIR:-/tmp/igpt-work}
S_ARGS=${IGPT_S_ARGS:---shape small}
M_ARGS=${IGPT_M_ARGS:---shape medium}
PREFIX=${IGPT_PREFIX:-512}
STEPS=${IGPT_STEPS:-512}
M_STEPS=${IGPT_M_STEPS:-256}
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
exec > >(tee -a "$OUT/run.log") 2>&1

el() { echo $(( $(date +%s) - T0 )); }
left() { echo $(( BUDGET - $(el) )); }
log() { echo "[$(el)s] $*"; }
# box CAP CMD...: runs CMD with a timeout of min(CAP, time left - 5 s); returns 124 on timeout.
box() {
  local cap=$1; shift
  local t; t=$(( $(left) - 5 )); [ "$t" -gt "$cap" ] && t=$cap
  if [ "$t" -lt 10 ]; then log "skipped (no time left): $*"; return 125; fi
  timeout -k 5 "$t" "$@"
}

log "run.sh: budget ${BUDGET}s, VK_DRIVER_FILES=$VK_DRIVER_FILES, TIERING=${IGPT_WASM_TIERING:-budget}"
[ -f "$PACK/pkg.tar.xz" ] || { echo "SUMMARY fail: $PACK/pkg.tar.xz missing (run scripts/gpu/pack.sh and carry .gpu)"; exit 1; }
box 90 bash "$PACK/on-device.sh" "$PACK" "$G" || { echo "SUMMARY fail: unpack (on-device.sh) failed"; exit 1; }
"$G/node" --version
mkdir -p "$W"

# 1. Adapter and shader-f16, without and with Dawn's NVIDIA f16 toggle.
F16_FLAG=enable-dawn-features=vulkan_enable_f16_on_nvidia
(cd "$G" && box 60 ./node probe.mjs) | tee "$OUT/adapter.jsonl"
(cd "$G" && box 60 ./node probe.mjs "$F16_FLAG") | tee -a "$OUT/adapter.jsonl"
PRELOAD=()
F16=0
if tail -n 1 "$OUT/adapter.jsonl" | grep -q '"f16_kernel":{[^}]*"ok":true'; then
  F16=1; export IGPT_DAWN_FLAGS=$F16_FLAG; PRELOAD=(--import "$G/dawn-preload.mjs")
  log "shader-f16 works with $F16_FLAG: benchmarks run with it (fp16 variant too)"
elif head -n 1 "$OUT/adapter.jsonl" | grep -q '"ok":true'; then
  log "shader-f16 not usable: fp32 only"
else
  log "no WebGPU adapter: see adapter.jsonl"
fi
DTYPES=fp32; [ "$F16" = 1 ] && DTYPES=fp32,fp16
IGPT=("$G/node" "${PRELOAD[@]}" "$G/igpt.mjs")

# 2. iGPT-S: random weights, export, bench.
log "generate + export S ($S_ARGS)"
box 120 "${IGPT[@]}" random $S_ARGS --out "$W/s-hf" && box 150 "${IGPT[@]}" export "$W/s-hf" --out "$W/s" --dtype "$DTYPES" --json > "$OUT/export-s.json"
bench() { # NAME CAP ARGS...
  local name=$1 cap=$2; shift 2
  log "bench $name: $*"
  box "$cap" "${IGPT[@]}" bench --backend webgpu --json --progress "$@" > "$OUT/bench-$name.json"
  local rc=$?; log "bench $name: exit $rc"; [ -s "$OUT/bench-$name.json" ] || rm -f "$OUT/bench-$name.json"
}
if [ -f "$W/s/igpt.json" ]; then
  # --profile only counts WebGPU calls (a JS counter per call): kernels_per_step comes with the timings.
  bench s-fp32 200 --model "$W/s" --dtype fp32 --batch 1,8 --prefix "$PREFIX" --steps "$STEPS" --profile
  [ "$F16" = 1 ] && bench s-fp16 120 --model "$W/s" --dtype fp16 --batch 1,8 --prefix "$PREFIX" --steps "$STEPS"
  rm -rf "$W/s-hf"
else
  log "S export failed"
fi

# 3. iGPT-M at batch 1, if time is left.
if [ "${IGPT_RUN_M:-1}" = 1 ] && [ "$(left)" -gt 150 ]; then
  log "generate + export M ($M_ARGS)"
  M_DTYPE=fp32; [ "$F16" = 1 ] && M_DTYPE=fp16
  if box 90 "${IGPT[@]}" random $M_ARGS --out "$W/m-hf" && box 120 "${IGPT[@]}" export "$W/m-hf" --out "$W/m" --dtype "$M_DTYPE" --json > "$OUT/export-m.json"; then
    rm -rf "$W/m-hf"
    bench m-$M_DTYPE 150 --model "$W/m" --dtype "$M_DTYPE" --batch 1 --prefix "$PREFIX" --steps "$M_STEPS"
  else
    log "M generate/export failed or ran out of time"
  fi
else
  log "M skipped ($(left)s left)"
fi

# 4. One line to read first.
"$G/node" "$ROOT/scripts/gpu/summary.mjs" "$OUT" "$(el)"

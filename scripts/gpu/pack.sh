#!/bin/bash
# Packs everything a WebGPU benchmark on the lent GPU machine needs (it has no Node and no network)
# into .gpu/: the igpt CLI bundled into one ESM file, the Node binary, onnxruntime-web's WebGPU
# files, Dawn's dawn.node, the Vulkan/GL loader packages and the scripts that unpack and run them.
# Run from the repository root after `npm install`:
#   bash scripts/gpu/pack.sh            # writes .gpu/ (git-ignored; carried to the device)
# Then on the device (see docs/GPU-RUN.md):  bash scripts/gpu/run.sh   with carry [".gpu"].
# Models are not packed: run.sh generates random ones on the device.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/.gpu}
cd "$root"
[ -d node_modules/onnxruntime-web ] && [ -d node_modules/webgpu ] || { echo "pack.sh: run npm install first" >&2; exit 1; }
rm -rf "$out"; mkdir -p "$out"; out=$(cd "$out" && pwd)
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT

# 1. The CLI as one ESM file. onnxruntime-web and webgpu stay external (they load their .wasm /
#    dawn.node next to themselves through import.meta.url); `require` is provided for bundled
#    CommonJS dependencies.
node_modules/.bin/esbuild src/cli/main.ts --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-web --external:onnxruntime-web/webgpu --external:webgpu \
  --banner:js="import { createRequire as __igptCreateRequire } from 'node:module'; const require = __igptCreateRequire(import.meta.url);" \
  --log-level=warning --outfile="$stage/igpt.mjs"

# 2. Runtime packages: only the files the bundle loads under Node.
ort=node_modules/onnxruntime-web
mkdir -p "$stage/$ort/dist" "$stage/node_modules/webgpu/dist/linux-x64"
cp "$ort/package.json" "$stage/$ort/"
cp "$ort"/dist/{ort.webgpu.bundle.min.mjs,ort-wasm-simd-threaded.asyncify.mjs,ort-wasm-simd-threaded.asyncify.wasm} "$stage/$ort/dist/"
cp node_modules/webgpu/{index.js,package.json} "$stage/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/node_modules/webgpu/dist/linux-x64/"

# 3. Node itself, and the small device-side helpers.
cp "$(readlink -f "$(command -v node)")" "$stage/node"
cp "$here/probe.mjs" "$here/dawn-preload.mjs" "$stage/"
(cd "$stage" && "$stage/node" -e "process.exit(0)") || { echo "pack.sh: copied node does not start" >&2; exit 1; }
XZ_OPT=${XZ_OPT:--6 -T0} tar -cJf "$out/pkg.tar.xz" -C "$stage" .
cp "$here/on-device.sh" "$out/"

# 4. Vulkan/GL loader packages (the device image has the NVIDIA ICD but not the loader).
if ! (cd "$out" && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null 2>&1); then
  echo "pack.sh: apt-get download failed (run 'apt-get update' first?)" >&2; exit 1
fi
(cd "$out" && sha256sum pkg.tar.xz ./*.deb on-device.sh > SHA256SUMS)
total=$(du -sb "$out" | cut -f1)
echo "pack.sh: $(ls "$out" | wc -l) files in $out, $((total / 1048576)) MiB ($total bytes; carry limit 64 MiB with the tree)"
[ "$total" -lt $((48 * 1048576)) ] || { echo "pack.sh: too large for the 64 MiB carry" >&2; exit 1; }

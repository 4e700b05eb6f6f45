#!/bin/bash
# On the GPU machine: unpack what pack.sh made into DEST (default /tmp/gpu) and install the Vulkan/GL
# loaders (dpkg -x into /, then ldconfig) so Dawn finds NVIDIA's Vulkan driver.
#   bash .gpu/on-device.sh .gpu [/tmp/gpu]
# IGPT_SKIP_DEBS=1 skips the loader packages (local rehearsal, where they are installed already).
set -euo pipefail
src=$(cd "${1:?usage: on-device.sh PACKDIR [DEST]}" && pwd)
dest=${2:-/tmp/gpu}
(cd "$src" && sha256sum -c --quiet SHA256SUMS) || { echo "on-device.sh: checksum mismatch in $src" >&2; exit 1; }
mkdir -p "$dest" && tar -xJf "$src/pkg.tar.xz" -C "$dest"
if [ -z "${IGPT_SKIP_DEBS:-}" ]; then
  for d in "$src"/*.deb; do dpkg -x "$d" /; done
  ldconfig
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"

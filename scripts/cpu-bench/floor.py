"""This machine's floor for `npm run bench:cpu`: sgemm GFLOP/s and memory bandwidth (PyTorch,
OpenBLAS), at the given thread count. Prints one JSON line.

    /usr/bin/python3 scripts/cpu-bench/floor.py --threads 1
"""

import argparse
import json
import time

import torch


def best_of(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]  # median


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--width", type=int, default=512, help="model width for the decode-shaped products")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    out = {"contender": "floor", "threads": torch.get_num_threads()}
    # Large square sgemm: the compute peak BLAS reaches here.
    n = 1024
    x, y = torch.randn(n, n), torch.randn(n, n)
    t = best_of(lambda: x @ y, 7)
    out["sgemm_gflops"] = 2 * n**3 / t / 1e9
    # Decode-shaped products: [B, d] @ [d, 4d] (c_fc), fp32.
    d = a.width
    w = torch.randn(d, 4 * d)
    for b in (1, 8, 64):
        xb = torch.randn(b, d)
        t = best_of(lambda: xb @ w, 50)
        out[f"gemm_b{b}_gflops"] = 2 * b * d * 4 * d / t / 1e9
    # Memory bandwidth on 256 MiB: read (sum) and copy (read + write).
    big = torch.ones(64 * 1024 * 1024)
    dst = torch.empty_like(big)
    t = best_of(lambda: big.sum(), 5)
    out["read_gbps"] = big.numel() * 4 / t / 1e9
    t = best_of(lambda: dst.copy_(big), 5)
    out["copy_gbps"] = 2 * big.numel() * 4 / t / 1e9
    print(json.dumps(out))


if __name__ == "__main__":
    main()

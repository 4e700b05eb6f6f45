"""A run continued from a checkpoint equals the same run done in one go (weights, step, data order).

    python3 training/check_resume.py [dataset.npz]

Trains a tiny model for 12 steps in one session and, separately, 5 + 7 steps in two sessions
(the second resumed from the first one's ckpt.pt), on the CPU, and compares the final weights.
"""
import os
import subprocess
import sys
import tempfile

import torch

here = os.path.dirname(os.path.abspath(__file__))
data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "data", "dataset.npz")
common = ["--data", data, "--n-layer", "2", "--n-embd", "32", "--n-head", "2", "--batch-size", "3",
          "--warmup-steps", "3", "--tokens", str(12 * 3 * 1024), "--ckpt-seconds", "1e9", "--compile", "off",
          "--threads", "1", "--eval-images", "8", "--log-every", "1", "--flip", "0.5", "--dropout", "0.1"]


def train(out, *extra):
    subprocess.run([sys.executable, os.path.join(here, "train.py"), "--out", out, *common, *extra], check=True,
                   stdout=subprocess.DEVNULL)
    return torch.load(os.path.join(out, "ckpt.pt"))


with tempfile.TemporaryDirectory() as tmp:
    whole = train(os.path.join(tmp, "whole"))
    train(os.path.join(tmp, "split"), "--session-steps", "5")
    split = train(os.path.join(tmp, "split"))
    assert whole["state"]["step"] == split["state"]["step"] == 12, (whole["state"]["step"], split["state"]["step"])
    assert split["state"]["sessions"] == 2
    assert whole["order"] == split["order"], (whole["order"], split["order"])
    diffs = {k: (whole["model"][k] - split["model"][k]).abs().max().item() for k in whole["model"]}
    worst = max(diffs.values())
    print(f"resume: 12 steps in one session vs 5 + 7 in two: largest weight difference {worst:.3g}, order {split['order']}")
    assert worst == 0.0, {k: v for k, v in diffs.items() if v}
    print("resume: OK")

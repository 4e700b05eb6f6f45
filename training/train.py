"""Train an Image GPT on the emoji dataset for a fixed budget; write a Hugging Face folder.

    python3 training/train.py --data training/data/dataset.npz --out training/runs/emoji \
        --n-layer 8 --n-embd 240 --n-head 6 --minutes 8

The budget (--minutes of training-loop time, or --tokens) spans every session of one run: the
learning-rate schedule is a function of the fraction of it spent. Every --ckpt-seconds it evaluates
the validation loss (bits per token), appends a row to <out>/curve.csv, writes a resumable
checkpoint <out>/ckpt.pt (weights, optimizer state, step, data order, budget spent) and, when the
validation loss improved, <out>/hf/{config.json, preprocessor_config.json, model.safetensors,
training.json}. Run the same command again to continue (--resume auto, the default); stop one
session early with --session-minutes. The last line printed is a one-line SUMMARY.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_io import save_hf_folder  # noqa: E402
import model as model_lib  # noqa: E402
from model import HAS_SDPA, ImageGPT, ImageGPTConfig  # noqa: E402
import torch.nn.functional as F  # noqa: E402

LN2 = math.log(2)

# Without SDPA (PyTorch < 2.0, e.g. Debian's 1.13 on a CPU) model.py's explicit masked attention spends most
# of a step on elementwise passes over B x H x T x T scores. The same maths, cheaper: the scale folded into q,
# the causal mask added inside baddbmm, and query blocks that only score the keys they can see (~45 % fewer
# scores). Only used when SDPA is missing (--chunked-attention auto); parameters and outputs are unchanged.
_BIAS = {}


def _causal_bias(T, device, dtype):
    key = (T, str(device), dtype)
    if key not in _BIAS:
        _BIAS[key] = torch.full((T, T), float("-inf"), device=device, dtype=dtype).triu(1)
    return _BIAS[key]


def chunked_attention_forward(self, x, chunk=128):
    """Attention.forward without SDPA: model.py's maths (masked softmax(q k^T * scale) v), cheaper on a CPU."""
    B, T, C = x.shape
    H = self.n_head
    hd = C // H
    q, k, v = self.c_attn(x).split(C, dim=2)
    scale = self.scale if self.scale is not None else 1.0 / math.sqrt(hd)
    q = (q * scale).view(B, T, H, hd).transpose(1, 2).reshape(B * H, T, hd)
    k = k.view(B, T, H, hd).transpose(1, 2).reshape(B * H, T, hd)
    v = v.view(B, T, H, hd).transpose(1, 2).reshape(B * H, T, hd)
    p = self.attn_pdrop if self.training else 0.0
    bias = _causal_bias(T, x.device, q.dtype)
    kt = k.transpose(1, 2)
    ys = []
    for s in range(0, T, chunk):
        e = min(T, s + chunk)
        att = torch.baddbmm(bias[s:e, :e].expand(B * H, e - s, e), q[:, s:e], kt[:, :, :e])
        att = F.softmax(att, dim=-1)
        if p > 0:
            att = F.dropout(att, p=p, training=True)
        ys.append(torch.bmm(att, v[:, :e]))
    y = torch.cat(ys, dim=1).view(B, H, T, hd).transpose(1, 2).reshape(B, T, C)
    return self.resid_dropout(self.c_proj(y))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="training/data/dataset.npz")
    p.add_argument("--out", default="training/runs/emoji")
    p.add_argument("--n-layer", type=int, default=8)
    p.add_argument("--n-embd", type=int, default=240)
    p.add_argument("--n-head", type=int, default=6)
    p.add_argument("--dropout", type=float, default=0.0, help="embd/attn/resid dropout")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--min-lr-frac", type=float, default=0.05, help="final lr as a fraction of --lr")
    p.add_argument("--warmup-steps", type=int, default=300)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--beta2", type=float, default=0.95)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--flip", type=float, default=0.5, help="probability of a horizontal flip per training image")
    p.add_argument("--minutes", type=float, default=8.0,
                   help="budget of the whole run: training-loop time (evals included), summed over sessions")
    p.add_argument("--tokens", type=float, default=0,
                   help="budget of the whole run in training tokens (when set, it defines the schedule instead of --minutes)")
    p.add_argument("--session-minutes", type=float, default=0, help="stop this session after this long (0: no limit)")
    p.add_argument("--session-steps", type=int, default=0, help="stop this session after this many steps (0: no limit)")
    p.add_argument("--resume", default="auto", help="auto: continue from <out>/ckpt.pt when present; never; or a checkpoint path")
    p.add_argument("--amp", choices=["auto", "bf16", "off"], default="auto",
                   help="bfloat16 autocast (auto: on CUDA, and on CPUs with avx512_bf16 / amx_bf16)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: time budget only)")
    p.add_argument("--ckpt-seconds", type=float, default=60.0, help="evaluate + checkpoint this often")
    p.add_argument("--eval-images", type=int, default=0, help="validation images per eval (0: all)")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--device", default="auto")
    p.add_argument("--compile", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    p.add_argument("--chunked-attention", choices=["auto", "on", "off"], default="auto",
                   help="blockwise causal attention for PyTorch without SDPA (auto: only when SDPA is missing)")
    return p.parse_args(argv)


class Logger:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def __call__(self, *parts):
        line = " ".join(str(p) for p in parts)
        print(line, flush=True)
        self.f.write(line + "\n")


def cpu_has_bf16() -> bool:
    """True on Linux CPUs that report avx512_bf16 or amx_bf16 (native bfloat16 matrix products)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    log = Logger(os.path.join(args.out, "train.log"))
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    cuda = device.startswith("cuda")
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.chunked_attention == "on" or (args.chunked_attention == "auto" and not HAS_SDPA):
        model_lib.Attention.forward = chunked_attention_forward
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    d = np.load(args.data)
    train_np, val_np, clusters = d["train"], d["val"], d["clusters"]
    assert train_np.shape[1] == 1024 and val_np.shape[1] == 1024 and clusters.shape == (512, 3), "unexpected dataset shapes"
    assert int(train_np.max()) < 512 and int(val_np.max()) < 512
    if args.eval_images:
        val_np = val_np[: args.eval_images]
    train = torch.from_numpy(train_np.astype(np.int16)).to(device)
    val = torch.from_numpy(val_np.astype(np.int16)).to(device)

    cfg = ImageGPTConfig(n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd,
                         embd_pdrop=args.dropout, attn_pdrop=args.dropout, resid_pdrop=args.dropout)
    model = ImageGPT(cfg).to(device)
    n_params = model.num_params()
    log(f"device {device} ({torch.cuda.get_device_name() if cuda else 'cpu'}), torch {torch.__version__}, sdpa {HAS_SDPA}, "
        f"threads {torch.get_num_threads()}, chunked attention {model_lib.Attention.forward is chunked_attention_forward}")
    log(f"data: train {tuple(train.shape)}, val {tuple(val.shape)}; model: {args.n_layer} layers, d {args.n_embd}, "
        f"{args.n_head} heads, {n_params / 1e6:.2f}M params ({n_params * 4 / 1e6:.1f} MB fp32)")

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt_kwargs = dict(lr=args.lr, betas=(0.9, args.beta2), eps=1e-8)
    if cuda and "fused" in torch.optim.AdamW.__init__.__code__.co_varnames:
        opt_kwargs["fused"] = True
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], **opt_kwargs)

    step_model = model
    if args.compile == "on" or (args.compile == "auto" and cuda and hasattr(torch, "compile")):
        try:
            step_model = torch.compile(model)
        except Exception as e:  # keep training without compile
            log(f"torch.compile unavailable: {e}")
    # auto: bf16 autocast on CUDA, and on a CPU with native bf16 (avx512_bf16): 5x fp32 there (README)
    amp = args.amp == "bf16" or (args.amp == "auto" and (cuda or cpu_has_bf16()))
    autocast = lambda: torch.autocast("cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=amp)

    start = torch.full((1, 1), cfg.start_token, dtype=torch.long, device=device)

    def batch_inputs(tokens):
        tokens = tokens.long()
        inp = torch.cat([start.expand(tokens.size(0), 1), tokens[:, :-1]], dim=1)
        return inp, tokens

    # Data order: every epoch is a fresh permutation of the training images, drawn from a generator
    # seeded by (seed, epoch); flips are drawn from one seeded by (seed, step). So the order is a pure
    # function of (epoch, position, step), which is all a checkpoint needs to continue it exactly.
    n_train = train.size(0)
    order = {"epoch": 0, "pos": 0, "perm": None}

    def epoch_perm(epoch):
        g = torch.Generator()
        g.manual_seed(args.seed * 100003 + epoch)
        return torch.randperm(n_train, generator=g).to(device)

    def get_batch(step):
        parts, need = [], args.batch_size
        while need > 0:
            if order["perm"] is None:
                order["perm"] = epoch_perm(order["epoch"])
            take = order["perm"][order["pos"]:order["pos"] + need]
            parts.append(take)
            need -= take.numel()
            order["pos"] += take.numel()
            if order["pos"] >= n_train:
                order["epoch"] += 1
                order["pos"] = 0
                order["perm"] = None
        x = train[torch.cat(parts) if len(parts) > 1 else parts[0]]
        if args.flip > 0:
            g = torch.Generator()
            g.manual_seed(args.seed * 1000003 + step)
            flip = (torch.rand(args.batch_size, generator=g) < args.flip).to(device)
            x = torch.where(flip[:, None], x.view(-1, 32, 32).flip(-1).reshape(-1, 1024), x)
        return batch_inputs(x)

    @torch.no_grad()
    def evaluate():
        model.eval()
        total, count = 0.0, 0
        for i in range(0, val.size(0), args.batch_size):
            inp, tgt = batch_inputs(val[i:i + args.batch_size])
            with autocast():
                _, loss = model(inp, tgt)  # uncompiled: no recompiles for eval mode / a short last batch
            total += loss.item() * tgt.numel()
            count += tgt.numel()
        model.train()
        return total / count / LN2

    # Run state, restored from a checkpoint when continuing.
    state = {"step": 0, "tokens": 0, "seconds": 0.0, "best": float("inf"), "history": [], "sessions": 0}
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    resume_from = None if args.resume == "never" else (ckpt_path if args.resume == "auto" else args.resume)
    if resume_from and os.path.exists(resume_from):
        ck = torch.load(resume_from, map_location=device)
        same = {k: ck["args"][k] for k in ("n_layer", "n_embd", "n_head", "batch_size", "seed")}
        if same != {k: getattr(args, k) for k in same}:
            raise SystemExit(f"{resume_from}: made with {same}, which differs from this command's settings")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state.update(ck["state"])
        order.update(epoch=ck["order"]["epoch"], pos=ck["order"]["pos"], perm=None)
        torch.set_rng_state(ck["rng"]["cpu"].cpu())  # dropout masks continue where they stopped
        if cuda and ck["rng"]["cuda"] is not None:
            torch.cuda.set_rng_state(ck["rng"]["cuda"].cpu())
        log(f"resumed from {resume_from}: step {state['step']}, {state['tokens']:,} tokens, "
            f"{state['seconds'] / 60:.1f} of {args.minutes} minutes, epoch {order['epoch']} position {order['pos']}")
    elif args.resume not in ("auto", "never"):
        raise SystemExit(f"--resume {args.resume}: no such checkpoint")
    state["sessions"] += 1
    tokens0 = state["tokens"]

    def save_checkpoint():
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state,
                    "order": {"epoch": order["epoch"], "pos": order["pos"]}, "args": vars(args),
                    "rng": {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state() if cuda else None}}, tmp)
        os.replace(tmp, ckpt_path)

    curve_path = os.path.join(args.out, "curve.csv")
    if not os.path.exists(curve_path):
        with open(curve_path, "w") as f:
            f.write("step,tokens,epochs,train_bits,val_bits,train_seconds,session\n")

    budget = args.minutes * 60.0
    t0 = time.time()
    seconds0 = state["seconds"]  # budget already spent by earlier sessions
    session_limit = args.session_minutes * 60.0 if args.session_minutes else float("inf")
    last_ckpt = t0
    t_log, tok_log = time.time(), 0
    loss_sum, loss_n = 0.0, 0
    train_bits = float("nan")
    extra = {}

    def spent():
        return seconds0 + (time.time() - t0)

    def checkpoint(final=False):
        te = time.time()
        vb = evaluate()
        improved = vb < state["best"]
        state["seconds"] = spent()
        if improved:
            state["best"] = vb
            save_hf_folder(os.path.join(args.out, "hf"), model, clusters.tolist())
            info = {"step": state["step"], "tokens": state["tokens"], "val_bits_per_token": vb, "train_bits_per_token": train_bits,
                    "seconds": round(state["seconds"], 1), "sessions": state["sessions"], "params": n_params, "args": vars(args),
                    "dataset": {"train_images": int(train.size(0)), "val_images": int(val.size(0))}}
            with open(os.path.join(args.out, "hf", "training.json"), "w") as f:
                json.dump(info, f, indent=2)
        row = {"step": state["step"], "tokens": state["tokens"], "seconds": round(state["seconds"], 1), "val_bits": vb,
               "train_bits": train_bits}
        state["history"].append(row)
        with open(os.path.join(args.out, "history.json"), "w") as f:
            json.dump(state["history"], f, indent=1)
        with open(curve_path, "a") as f:
            f.write(f"{state['step']},{state['tokens']},{state['tokens'] / train.numel():.3f},{train_bits:.4f},{vb:.4f},"
                    f"{state['seconds']:.1f},{state['sessions']}\n")
        save_checkpoint()
        log(f"{'final ' if final else ''}eval step {state['step']}: val {vb:.4f} bits/token (best {state['best']:.4f}"
            f"{', saved' if improved else ''}), eval+save {time.time() - te:.1f}s")
        extra["last_val"] = vb

    model.train()
    session_steps = 0
    while True:
        elapsed = spent()
        if args.tokens:
            progress = state["tokens"] / args.tokens
        else:
            progress = elapsed / budget
        if args.max_steps:
            progress = max(progress, state["step"] / args.max_steps)
        if progress >= 1.0 or time.time() - t0 >= session_limit or (args.session_steps and session_steps >= args.session_steps):
            break
        step = state["step"]
        if step < args.warmup_steps:
            lr = args.lr * (step + 1) / args.warmup_steps
        else:
            lr = args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
        for g in opt.param_groups:
            g["lr"] = lr

        inp, tgt = get_batch(step)
        try:
            with autocast():
                _, loss = step_model(inp, tgt)
        except Exception as e:  # torch.compile fails lazily, on the first call: fall back to eager
            if step_model is model:
                raise
            log(f"compiled step failed ({type(e).__name__}: {str(e)[:200]}); continuing without torch.compile")
            step_model = model
            with autocast():
                _, loss = step_model(inp, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        state["step"] += 1
        session_steps += 1
        state["tokens"] += tgt.numel()
        tok_log += tgt.numel()
        loss_sum += loss.detach()
        loss_n += 1

        if state["step"] % args.log_every == 0 or session_steps == 1:
            train_bits = float(loss_sum) / loss_n / LN2  # mean over the steps since the last log line
            loss_sum, loss_n = 0.0, 0
            now = time.time()
            log(f"step {state['step']} loss {train_bits:.4f} bits/token lr {lr:.2e} {tok_log / (now - t_log):,.0f} tok/s "
                f"epoch {state['tokens'] / train.numel():.2f} spent {spent():.0f}s")
            t_log, tok_log = now, 0
        if time.time() - last_ckpt >= args.ckpt_seconds:
            checkpoint()
            last_ckpt = time.time()
            t_log, tok_log = time.time(), 0

    if loss_n:
        train_bits = float(loss_sum) / loss_n / LN2
    checkpoint(final=True)
    wall = time.time() - t0
    done = (state["tokens"] >= args.tokens) if args.tokens else (state["seconds"] >= budget)
    summary = {"params": n_params, "n_layer": args.n_layer, "n_embd": args.n_embd, "n_head": args.n_head,
               "dropout": args.dropout, "steps": state["step"], "tokens": state["tokens"],
               "epochs": round(state["tokens"] / train.numel(), 2), "session_tok_per_s": round((state["tokens"] - tokens0) / wall),
               "train_bits": round(train_bits, 4), "val_bits": round(extra["last_val"], 4),
               "best_val_bits": round(state["best"], 4), "spent_minutes": round(state["seconds"] / 60, 2),
               "budget_done": done, "amp": amp, "device": torch.cuda.get_device_name() if cuda else "cpu"}
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    log("SUMMARY " + " ".join(f"{k}={v}" for k, v in summary.items()) + f" out={os.path.join(args.out, 'hf')}")
    return summary


if __name__ == "__main__":
    main()

"""Image GPT, written out in one file (Hugging Face `ImageGPTForCausalImageModeling` semantics).

- 1024 positions = 32x32 pixels in raster order, learned position embedding wpe [1024, d]
- vocabulary of 513 inputs: 512 palette colours + start token 512; lm_head [512, d], not tied
- pre-norm GPT-2 blocks with an RMS-style norm: x / sqrt(mean(x^2) + 1e-5) * g (no bias)
- quick_gelu: x * sigmoid(1.702 x); MLP width 4d
- Conv1D layout like HF: weights stored [in, out], y = x @ W + b

Parameter names match the Hugging Face checkpoint exactly (transformer.wte.weight,
transformer.h.0.attn.c_attn.weight, ..., lm_head.weight), so `state_dict()` can be written
as model.safetensors and loaded by transformers or by the project's converter.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


@dataclass
class ImageGPTConfig:
    n_layer: int = 8
    n_head: int = 8
    n_embd: int = 256
    n_positions: int = 1024
    vocab_size: int = 513  # 512 colours + start token
    n_colours: int = 512  # lm_head outputs
    layer_norm_epsilon: float = 1e-5
    embd_pdrop: float = 0.0
    attn_pdrop: float = 0.0
    resid_pdrop: float = 0.0
    # Multiplier of the attention scores. None = 1/sqrt(head_dim), as in Hugging Face's ImageGPT source
    # and the TF original; the project's converter uses the same default. (The reference fixture's
    # logits, made with transformers 5.17, are reproduced with 0.5 for head_dim 8: see check_model.py.)
    attn_scale: float | None = None

    @property
    def start_token(self) -> int:
        return self.vocab_size - 1


class RMSNorm(nn.Module):
    """ImageGPTLayerNorm: no mean subtraction, no bias."""

    def __init__(self, d, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xf * self.weight.float()).to(x.dtype)


class Conv1D(nn.Module):
    """HF Conv1D: weight [in, out], y = x @ W + b."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return F.linear(x, self.weight.t(), self.bias)


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    def __init__(self, cfg: ImageGPTConfig):
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0
        self.n_head = cfg.n_head
        self.scale = cfg.attn_scale
        self.c_attn = Conv1D(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = Conv1D(cfg.n_embd, cfg.n_embd)
        self.attn_pdrop = cfg.attn_pdrop
        self.resid_dropout = nn.Dropout(cfg.resid_pdrop)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        hd = C // self.n_head
        q = q.view(B, T, self.n_head, hd).transpose(1, 2)  # B, H, T, hd
        k = k.view(B, T, self.n_head, hd).transpose(1, 2)
        v = v.view(B, T, self.n_head, hd).transpose(1, 2)
        p = self.attn_pdrop if self.training else 0.0
        scale = self.scale if self.scale is not None else 1.0 / math.sqrt(hd)
        if HAS_SDPA:
            extra = {} if self.scale is None else {"scale": scale}  # `scale` needs PyTorch >= 2.1
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True, **extra)
        else:  # PyTorch < 2.0: explicit masked attention, same maths
            att = (q @ k.transpose(-2, -1)) * scale
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            att = att.masked_fill(~mask, float("-inf"))
            att = F.dropout(F.softmax(att.float(), dim=-1).to(q.dtype), p=p, training=self.training)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg: ImageGPTConfig):
        super().__init__()
        self.c_fc = Conv1D(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = Conv1D(4 * cfg.n_embd, cfg.n_embd)
        self.dropout = nn.Dropout(cfg.resid_pdrop)

    def forward(self, x):
        return self.dropout(self.c_proj(quick_gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg: ImageGPTConfig):
        super().__init__()
        self.ln_1 = RMSNorm(cfg.n_embd, cfg.layer_norm_epsilon)
        self.attn = Attention(cfg)
        self.ln_2 = RMSNorm(cfg.n_embd, cfg.layer_norm_epsilon)
        self.mlp = MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class Transformer(nn.Module):
    def __init__(self, cfg: ImageGPTConfig):
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        self.drop = nn.Dropout(cfg.embd_pdrop)
        self.h = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = RMSNorm(cfg.n_embd, cfg.layer_norm_epsilon)


class ImageGPT(nn.Module):
    def __init__(self, cfg: ImageGPTConfig):
        super().__init__()
        self.cfg = cfg
        self.transformer = Transformer(cfg)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.n_colours, bias=False)
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections by 1/sqrt(2 * n_layer)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        elif isinstance(m, Conv1D):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            nn.init.zeros_(m.bias)

    def num_params(self):
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, targets=None):
        """idx: [B, T] token ids (start token first). Returns logits [B, T, 512] (and mean CE loss in nats)."""
        B, T = idx.shape
        assert T <= self.cfg.n_positions
        pos = torch.arange(T, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

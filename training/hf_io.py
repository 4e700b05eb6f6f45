"""Hugging Face folder I/O without extra packages: safetensors (fp32) + config files."""

import json
import os
import struct

import numpy as np
import torch

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "U8": np.uint8}


def write_safetensors(path, tensors, metadata=None):
    """Write {name: tensor} as safetensors (fp32, little-endian, keys sorted). Atomic via rename."""
    header = {"__metadata__": metadata or {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        a = tensors[name].detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4", copy=False)
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # data starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """Read a safetensors file into {name: torch.Tensor} (and the metadata dict)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        s, e = info["data_offsets"]
        a = np.frombuffer(data[s:e], dtype=np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")).reshape(info["shape"])
        out[name] = torch.from_numpy(a.copy())
    return out, meta


def hf_config(cfg, extra=None):
    c = {
        "activation_function": "quick_gelu",
        "add_cross_attention": False,
        "architectures": ["ImageGPTForCausalImageModeling"],
        "attn_pdrop": cfg.attn_pdrop,
        "bos_token_id": None,
        "dtype": "float32",
        "embd_pdrop": cfg.embd_pdrop,
        "eos_token_id": None,
        "initializer_range": 0.02,
        "layer_norm_epsilon": cfg.layer_norm_epsilon,
        "model_type": "imagegpt",
        "n_embd": cfg.n_embd,
        "n_head": cfg.n_head,
        "n_inner": None,
        "n_layer": cfg.n_layer,
        "n_positions": cfg.n_positions,
        "pad_token_id": None,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": cfg.resid_pdrop,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "tie_word_embeddings": False,
        "use_cache": True,
        "vocab_size": cfg.vocab_size,
    }
    c.update(extra or {})
    return c


def preprocessor_config(clusters):
    return {
        "clusters": [[float(v) for v in row] for row in clusters],
        "do_color_quantize": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "ImageGPTImageProcessor",
        "image_std": [0.5, 0.5, 0.5],
        "resample": 2,
        "rescale_factor": 0.00392156862745098,
        "size": {"height": 32, "width": 32},
    }


def _write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def save_hf_folder(out_dir, model, clusters, extra_config=None):
    """Write config.json, preprocessor_config.json and model.safetensors into out_dir."""
    os.makedirs(out_dir, exist_ok=True)
    sd = {k: v for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(out_dir, "model.safetensors"), sd)
    _write_json(os.path.join(out_dir, "config.json"), hf_config(model.cfg, extra_config))
    _write_json(os.path.join(out_dir, "preprocessor_config.json"), preprocessor_config(clusters))

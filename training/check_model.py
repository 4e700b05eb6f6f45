"""Checks model.py and hf_io.py against the reference fixture (test/data/imagegpt-tiny-a):
- the fixture's weights load into ImageGPT with strict key/shape matching,
- logits equal the reference's (transformers 5.17) at the stored positions, for both attention paths,
  with the attention-score multiplier set to 0.5: the fixture's logits are reproduced only with that
  value (head_dim is 8 there, so 1/sqrt(head_dim) would be 0.354); every other part of the model is
  identical. With the default 1/sqrt(head_dim), position 0 (which does not depend on the scale) matches,
- bits per token of image32 equal the reference's,
- an exported folder has exactly the fixture's tensor names/shapes/dtypes and config keys.
Run: python3 training/check_model.py   (exits non-zero on failure)
"""

import json
import math
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
from hf_io import read_safetensors, save_hf_folder  # noqa: E402

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "data", "imagegpt-tiny-a")


def main():
    hf = json.load(open(os.path.join(FIX, "config.json")))
    FIXTURE_SCALE = 0.5
    cfg = M.ImageGPTConfig(n_layer=hf["n_layer"], n_head=hf["n_head"], n_embd=hf["n_embd"], attn_scale=FIXTURE_SCALE)
    model = M.ImageGPT(cfg).eval()
    sd, _ = read_safetensors(os.path.join(FIX, "model.safetensors"))
    model.load_state_dict(sd, strict=True)  # raises on any missing/unexpected key or shape mismatch
    exp = json.load(open(os.path.join(FIX, "expected.json")))

    default = M.ImageGPT(M.ImageGPTConfig(n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd)).eval()
    default.load_state_dict(sd, strict=True)
    with torch.no_grad():
        lg, _ = default(torch.tensor([exp["full_input_ids"]]))
        e0 = (lg[0, 0] - torch.tensor(exp["full_logits"][0])).abs().max().item()
        e1 = (lg[0, exp["full_logits_positions"][1:]] - torch.tensor(exp["full_logits"][1:])).abs().max().item()
    assert exp["full_logits_positions"][0] == 0 and e0 < 1e-4, f"position 0 error {e0}"
    print(f"default scale 1/sqrt(head_dim): position 0 err {e0:.2e}; later positions differ by up to {e1:.3f}")

    paths = [False] + ([True] if M.HAS_SDPA else [])
    for use_sdpa in paths:
        M.HAS_SDPA = use_sdpa
        with torch.no_grad():
            ids = torch.tensor([exp["full_input_ids"]])
            logits, _ = model(ids)
            got = logits[0, exp["full_logits_positions"]]
            want = torch.tensor(exp["full_logits"])
            err = (got - want).abs().max().item()
            assert err < 1e-4, f"full_logits max abs error {err}"
            blog, _ = model(torch.tensor(exp["batch_input_ids"]))
            berr = (blog - torch.tensor(exp["batch_logits"])).abs().max().item()
            assert berr < 1e-4, f"batch_logits max abs error {berr}"
            tokens = torch.tensor([exp["image32_tokens"]])
            inp = torch.cat([torch.tensor([[cfg.start_token]]), tokens[:, :-1]], 1)
            _, loss = model(inp, tokens)
            bpt = loss.item() / math.log(2)
            assert abs(bpt - exp["image32_bits_per_token"]) < 1e-4, f"bits/token {bpt} vs {exp['image32_bits_per_token']}"
        print(f"attention {'sdpa' if use_sdpa else 'explicit'}: full_logits err {err:.2e}, batch err {berr:.2e}, "
              f"bits/token {bpt:.6f} (ref {exp['image32_bits_per_token']:.6f})")

    with tempfile.TemporaryDirectory() as d:
        clusters = json.load(open(os.path.join(FIX, "preprocessor_config.json")))["clusters"]
        save_hf_folder(d, model, clusters)
        ours, meta = read_safetensors(os.path.join(d, "model.safetensors"))
        theirs, _ = read_safetensors(os.path.join(FIX, "model.safetensors"))
        assert sorted(ours) == sorted(theirs), "tensor names differ from the fixture"
        for k in theirs:
            assert ours[k].shape == theirs[k].shape and ours[k].dtype == theirs[k].dtype, k
            assert torch.equal(ours[k], theirs[k]), f"{k} changed in the round trip"
        assert meta == {"format": "pt"}
        c_ours = json.load(open(os.path.join(d, "config.json")))
        assert set(c_ours) == set(hf) - {"transformers_version"}, set(c_ours) ^ set(hf)
        for k in ["model_type", "architectures", "vocab_size", "n_positions", "n_embd", "n_layer", "n_head",
                  "n_inner", "activation_function", "layer_norm_epsilon", "tie_word_embeddings"]:
            assert c_ours[k] == hf[k], k
        p_ours = json.load(open(os.path.join(d, "preprocessor_config.json")))
        p_theirs = json.load(open(os.path.join(FIX, "preprocessor_config.json")))
        assert p_ours == p_theirs, "preprocessor_config differs"
    print(f"export: {len(ours)} tensors with the fixture's names, shapes and dtypes; config and preprocessor match")
    if M.HAS_SDPA:  # both attention paths agree, default and explicit scale, with gradients
        torch.manual_seed(0)
        for scale in (None, 0.3):
            m2 = M.ImageGPT(M.ImageGPTConfig(n_layer=2, n_head=4, n_embd=32, attn_scale=scale)).eval()
            x = torch.randint(0, 513, (2, 100))
            M.HAS_SDPA = True
            a, _ = m2(x)
            M.HAS_SDPA = False
            b, _ = m2(x)
            M.HAS_SDPA = True
            assert (a - b).abs().max().item() < 1e-4, f"sdpa vs explicit, scale {scale}"
        print("sdpa and explicit attention agree")
    print("check_model: OK")


if __name__ == "__main__":
    main()

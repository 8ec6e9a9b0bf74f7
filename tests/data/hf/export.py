#!/usr/bin/env python3
"""export.py OUT_DIR [NAME...] — makes reference models of Hugging Face architectures.

Each model is tiny and randomly initialised (torch.manual_seed(0)), batch 1, sequence 16, no KV
cache. For each NAME, OUT_DIR/NAME/ receives what the other folders here hold:
  model.dynamo18.onnx   torch.onnx.export(..., dynamo=True, opset_version=18)
  model.legacy17.onnx   the TorchScript exporter at opset 17, where it supports the model
  input_0.pb            int64 token ids [1, 16] (vit: a float image [1, 3, 32, 32])
  output_0.torch.pb     PyTorch's output (logits)
  output_0.ort.E.pb     onnxruntime's output for export E
An export that fails is reported and left out; the others still get written.

Needs torch, transformers, onnx, onnxruntime (and onnxscript for the dynamo exporter).
"""
import os
import sys
import traceback

import numpy as np
import onnx
import onnxruntime as ort
import torch
import transformers as tf
from onnx import numpy_helper

SEQ = 16
VOCAB = 256


def small(cfg_cls, **kw):
    """A config with the sizes every decoder here shares, overridden by kw."""
    base = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                tie_word_embeddings=False)
    base.update(kw)
    return cfg_cls(**base)


def models():
    """NAME -> (config, model class); only architectures this transformers knows are returned."""
    m = {}

    def add(name, cfg_name, cls_name, make):
        if hasattr(tf, cfg_name) and hasattr(tf, cls_name):
            m[name] = (make(getattr(tf, cfg_name)), getattr(tf, cls_name))

    # Qwen2: biases on q/k/v.  Qwen3: a per-head RMSNorm on q and k.
    add("qwen2", "Qwen2Config", "Qwen2ForCausalLM", lambda c: small(c))
    add("qwen3", "Qwen3Config", "Qwen3ForCausalLM", lambda c: small(c, head_dim=16))
    # Gemma: RMSNorm scaled by (1 + w), GeGLU with tanh GELU, embeddings scaled by sqrt(hidden).
    add("gemma", "GemmaConfig", "GemmaForCausalLM", lambda c: small(c, head_dim=16))
    # Phi-3: fused qkv and gate/up projections split by Slice.
    add("phi3", "Phi3Config", "Phi3ForCausalLM", lambda c: small(c, pad_token_id=0))
    # Falcon-Mamba: Mamba with weightless RMSNorms on dt, B and C.
    add("falcon_mamba", "FalconMambaConfig", "FalconMambaForCausalLM",
        lambda c: c(vocab_size=VOCAB, hidden_size=64, state_size=16, num_hidden_layers=2, conv_kernel=4,
                    expand=2, tie_word_embeddings=False))
    # Mamba-2: the chunked SSD form (two chunks of 8) and the gated RMSNorm.
    add("mamba2", "Mamba2Config", "Mamba2ForCausalLM",
        lambda c: c(vocab_size=VOCAB, hidden_size=64, state_size=16, num_hidden_layers=2, conv_kernel=4,
                    expand=2, num_heads=8, head_dim=16, n_groups=1, chunk_size=8,
                    tie_word_embeddings=False))
    return m


def save(t, path):
    onnx.save_tensor(numpy_helper.from_array(np.ascontiguousarray(t)), path)


class Logits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        if isinstance(self.model, tf.ViTForImageClassification):
            return self.model(pixel_values=x).logits
        return self.model(input_ids=x, use_cache=False).logits


def export_one(name, cfg, cls, out):
    torch.manual_seed(0)
    cfg._attn_implementation = "eager" if "mamba" in name else "sdpa"
    model = Logits(cls(cfg).eval())
    os.makedirs(out, exist_ok=True)
    if name == "vit":
        x = torch.randn(1, 3, 32, 32)
    else:
        x = torch.randint(0, VOCAB, (1, SEQ), dtype=torch.int64)
    with torch.no_grad():
        want = model(x).numpy()
    save(x.numpy(), os.path.join(out, "input_0.pb"))
    save(want, os.path.join(out, "output_0.torch.pb"))
    params = sum(p.numel() for p in model.parameters())
    done = []
    for export, kw in (("dynamo18", dict(dynamo=True, opset_version=18)),
                       ("legacy17", dict(dynamo=False, opset_version=17))):
        path = os.path.join(out, f"model.{export}.onnx")
        try:
            with torch.no_grad():
                torch.onnx.export(model, (x,), path, input_names=["input_ids" if name != "vit" else "pixel_values"],
                                  output_names=["logits"], external_data=False, **kw)
            m = onnx.load(path)
            onnx.checker.check_model(m)
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
            err = float(np.max(np.abs(got - want)))
            save(got, os.path.join(out, f"output_0.ort.{export}.pb"))
            ops = sorted({n.op_type for n in m.graph.node})
            print(f"{name}.{export}: params {params}, nodes {len(m.graph.node)}, ort vs torch {err:.2e}, ops {' '.join(ops)}")
            done.append(export)
        except Exception as e:  # one failed export must not stop the others
            if os.path.exists(path):
                os.remove(path)
            print(f"{name}.{export}: FAILED {type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}")
            traceback.print_exc(limit=3)
    return done


def main():
    out = sys.argv[1]
    table = models()
    table["vit"] = (tf.ViTConfig(image_size=32, patch_size=8, num_channels=3, hidden_size=64, num_hidden_layers=2,
                                 num_attention_heads=4, intermediate_size=128, num_labels=10),
                    tf.ViTForImageClassification)
    names = sys.argv[2:] or sorted(table)
    print(f"torch {torch.__version__}, transformers {tf.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    for name in names:
        if name not in table:
            print(f"{name}: not in this transformers")
            continue
        cfg, cls = table[name]
        export_one(name, cfg, cls, os.path.join(out, name))


if __name__ == "__main__":
    main()

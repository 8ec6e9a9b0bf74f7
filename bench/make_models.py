"""make_models.py OUT_DIR [--only NAME] [--seq N] [--layers N] [--xfc PATH]

Makes the bench-size models of the fusion benchmark: OUT_DIR/llama and OUT_DIR/mamba, each with
model.onnx, input_0.pb (int64 token ids [1, seq]) and output_0.ort.pb (onnxruntime's logits).

The graphs are written node by node with onnx.helper, in exactly the decomposed forms that the
PyTorch dynamo exporter (opset 18) produces for Hugging Face's LlamaForCausalLM and
MambaForCausalLM -- see tests/data/hf/{llama,mamba}/model.dynamo18.onnx -- so that xfc's fusion
passes meet here what they meet in real exports, only at a size where timing means something.
Weights are random (numpy, fixed seed); shared constants (shapes, axes, scalars) are deduplicated
as the exporter does. Each model is checked with onnx.checker and run once with onnxruntime; with
--xfc, `xfc run -O0` must also agree with onnxruntime within 1e-3.
"""
import argparse
import math
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

# Llama-style decoder, as LlamaConfig would spell it.
LLAMA = dict(hidden=512, layers=8, heads=8, kv_heads=4, head_dim=64, ffn=1408, vocab=8192, seq=128,
             eps=1e-6, rope_theta=10000.0)
# Mamba (v1), as MambaConfig would spell it; dt_rank = ceil(hidden / 16); tied embeddings.
MAMBA = dict(hidden=512, d_inner=1024, state=16, conv=4, dt_rank=32, layers=9, vocab=8192, seq=128,
             eps=1e-5)

SEED = 20240607
INT64_MAX = np.iinfo(np.int64).max


class GraphBuilder:
    """Collects nodes and initializers. Names follow the exporter's style: an output is named after
    what made it (`linear`, `linear_1`, ...) and its node `node_<output>`; shared constants are
    `val_N` and appear once however often they are used."""

    def __init__(self, rng):
        self.rng = rng
        self.nodes = []
        self.inits = []
        self.used = {}    # label -> how many names were made from it
        self.consts = {}  # (dtype, shape, bytes) -> initializer name

    def fresh(self, label):
        k = self.used.get(label, 0)
        self.used[label] = k + 1
        return label if k == 0 else f"{label}_{k}"

    def weight(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array, order="C"), name))
        return name

    def const(self, value, dtype):
        a = np.asarray(value, dtype=dtype)
        key = (a.dtype.str, a.shape, a.tobytes())
        if key not in self.consts:
            self.consts[key] = self.weight(self.fresh("val"), a)
        return self.consts[key]

    def i64(self, value):
        return self.const(value, np.int64)

    def f32(self, value):
        return self.const(value, np.float32)

    def op(self, op_type, inputs, label, outputs=1, **attrs):
        base = self.fresh(label)
        outs = [base] if outputs == 1 else [f"{base}_split_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name="node_" + base, **attrs))
        return outs[0] if outputs == 1 else outs

    def normal(self, shape, std=0.02):
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def gain(self, n):
        """A norm weight: near one, but not one, as after training."""
        return (1.0 + 0.1 * self.rng.standard_normal(n)).astype(np.float32)

    def model(self, seq, vocab, logits, doc):
        graph = helper.make_graph(
            self.nodes, doc, [helper.make_tensor_value_info("input_0", TensorProto.INT64, [1, seq])],
            [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [1, seq, vocab])], self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10,
                              producer_name="xfc bench/make_models.py", doc_string=doc)
        # the exporter records the type of every intermediate; so do we
        return onnx.shape_inference.infer_shapes(m, strict_mode=True)


def rms_norm(g, x, weight, eps):
    """LlamaRMSNorm / MambaRMSNorm: w * (x * 1/sqrt(mean(x^2) + eps)), as the exporter writes it."""
    p = g.op("Pow", [x, g.f32(2.0)], "pow")
    m = g.op("ReduceMean", [p, g.i64([-1])], "mean", keepdims=1, noop_with_empty_axes=0)
    a = g.op("Add", [m, g.f32(eps)], "add")
    s = g.op("Sqrt", [a], "Sqrt")
    r = g.op("Reciprocal", [s], "rsqrt")
    n = g.op("Mul", [x, r], "mul")
    return g.op("Mul", [weight, n], "mul")


def linear(g, x, name, n_in, n_out):
    """nn.Linear without bias: MatMul with the weight stored transposed, [in, out]."""
    return g.op("MatMul", [x, g.weight(name, g.normal((n_in, n_out)))], "linear")


def silu(g, x):
    s = g.op("Sigmoid", [x], "Sigmoid")
    return g.op("Mul", [x, s], "silu")


# ---- Llama ----

def rope_tables(c):
    """cos and sin [1, 1, seq, head_dim] for positions 0..seq-1 (HF's default rotary embedding)."""
    d = c["head_dim"]
    inv_freq = 1.0 / (c["rope_theta"] ** (np.arange(0, d, 2, dtype=np.float64) / d))
    freqs = np.outer(np.arange(c["seq"], dtype=np.float64), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)[None, None]
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)


def rotate(g, x, cos, sin, half):
    """x * cos + rotate_half(x) * sin, rotate_half = cat(-x[..., half:], x[..., :half])."""
    xc = g.op("Mul", [x, cos], "mul")
    x1 = g.op("Slice", [x, g.i64([0]), g.i64([half]), g.i64([3]), g.i64([1])], "slice")
    x2 = g.op("Slice", [x, g.i64([half]), g.i64([INT64_MAX]), g.i64([3]), g.i64([1])], "slice")
    n = g.op("Neg", [x2], "neg")
    r = g.op("Concat", [n, x1], "cat", axis=-1)
    rs = g.op("Mul", [r, sin], "mul")
    return g.op("Add", [xc, rs], "add")


def attention(g, c, h, i, cos, sin, mask):
    """LlamaAttention with sdpa: GQA by Unsqueeze/Expand/Reshape, q and k each scaled by
    sqrt(1/sqrt(head_dim)), additive causal mask, Softmax and the IsNaN/Where guard."""
    s, d, nh, nkv, hid = c["seq"], c["head_dim"], c["heads"], c["kv_heads"], c["hidden"]
    pre = f"m.model.layers.{i}.self_attn"
    heads = g.i64([1, s, -1, d])

    def project(name, n_out):
        y = linear(g, h, f"{pre}.{name}.weight", hid, n_out)
        y = g.op("Reshape", [y, heads], "view", allowzero=1)
        return g.op("Transpose", [y], "transpose", perm=[0, 2, 1, 3])

    q = project("q_proj", nh * d)
    k = project("k_proj", nkv * d)
    v = project("v_proj", nkv * d)
    q = rotate(g, q, cos, sin, d // 2)
    k = rotate(g, k, cos, sin, d // 2)
    grouped = g.i64([1, nkv, nh // nkv, s, d])
    k = g.op("Expand", [g.op("Unsqueeze", [k, g.i64([2])], "unsqueeze"), grouped], "expand")
    v = g.op("Expand", [g.op("Unsqueeze", [v, g.i64([2])], "unsqueeze"), grouped], "expand")
    v = g.op("Reshape", [v, g.i64([1, nh, s, d])], "_unsafe_view", allowzero=1)
    k = g.op("Reshape", [k, g.i64([nh, s, d])], "Reshape")
    k = g.op("Transpose", [k], "Transpose", perm=[0, 2, 1])
    k = g.op("Reshape", [k, g.i64([1, nh, d, s])], "Reshape", allowzero=0)
    scale = g.f32(math.sqrt(1.0 / math.sqrt(d)))
    q = g.op("Mul", [q, scale], "Mul")
    k = g.op("Mul", [k, scale], "Mul")
    w = g.op("MatMul", [q, k], "MatMul")
    w = g.op("Add", [w, mask], "Add")
    w = g.op("Softmax", [w], "Softmax", axis=-1)
    nan = g.op("IsNaN", [w], "IsNaN")
    w = g.op("Where", [nan, g.f32(0.0), w], "Where")
    o = g.op("MatMul", [w, v], "scaled_dot_product_attention")
    o = g.op("Transpose", [o], "transpose", perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, g.i64([1, s, -1])], "view", allowzero=1)
    return linear(g, o, f"{pre}.o_proj.weight", nh * d, hid)


def make_llama(c, rng):
    g = GraphBuilder(rng)
    hid, s = c["hidden"], c["seq"]
    embed = g.weight("m.model.embed_tokens.weight", g.normal((c["vocab"], hid)))
    cos_t, sin_t = rope_tables(c)
    cos = g.weight(g.fresh("unsqueeze"), cos_t)  # the exporter's names for the folded tables
    sin = g.weight(g.fresh("unsqueeze"), sin_t)
    causal = np.triu(np.full((s, s), np.finfo(np.float32).min, dtype=np.float32), k=1)
    mask = g.weight("causal_mask", causal[None, None])
    x = g.op("Gather", [embed, "input_0"], "embedding", axis=0)
    for i in range(c["layers"]):
        pre = f"m.model.layers.{i}"
        h = rms_norm(g, x, g.weight(f"{pre}.input_layernorm.weight", g.gain(hid)), c["eps"])
        x = g.op("Add", [x, attention(g, c, h, i, cos, sin, mask)], "add")
        h = rms_norm(g, x, g.weight(f"{pre}.post_attention_layernorm.weight", g.gain(hid)), c["eps"])
        gate = silu(g, linear(g, h, f"{pre}.mlp.gate_proj.weight", hid, c["ffn"]))
        up = linear(g, h, f"{pre}.mlp.up_proj.weight", hid, c["ffn"])
        m = g.op("Mul", [gate, up], "mul")
        x = g.op("Add", [x, linear(g, m, f"{pre}.mlp.down_proj.weight", c["ffn"], hid)], "add")
    h = rms_norm(g, x, g.weight("m.model.norm.weight", g.gain(hid)), c["eps"])
    g.nodes.append(helper.make_node("MatMul", [h, g.weight("m.lm_head.weight", g.normal((hid, c["vocab"])))],
                                    ["output_0"], name="node_lm_head"))
    return g.model(s, c["vocab"], "output_0", "Llama-style decoder (xfc fusion benchmark)")


# ---- Mamba ----

def mixer(g, c, x, i):
    """MambaMixer.slow_forward as the exporter unrolls it: in_proj, causal depthwise Conv (pads
    conv-1 on both sides, then Slice back to seq), SiLU, x_proj split into dt/B/C, dt_proj, the
    Softplus with its threshold Where, discretisation with Exp, then the scan: one
    Gather/Mul/Gather/Add/Gather/Unsqueeze/MatMul/Gather group per time step, the step outputs
    stacked by Unsqueeze and one Concat; then the D skip, the SiLU(z) gate and out_proj."""
    s, hid, di, n, r, kc = c["seq"], c["hidden"], c["d_inner"], c["state"], c["dt_rank"], c["conv"]
    pre = f"m.backbone.layers.{i}.mixer"
    # weights, initialised the way MambaMixer initialises them
    w_conv = g.rng.uniform(-1 / math.sqrt(kc), 1 / math.sqrt(kc), (di, 1, kc)).astype(np.float32)
    w_dt = g.rng.uniform(-r ** -0.5, r ** -0.5, (di, r)).astype(np.float32)
    dt = np.exp(g.rng.uniform(math.log(1e-3), math.log(1e-1), di)).clip(min=1e-4)
    b_dt = (dt + np.log(-np.expm1(-dt))).astype(np.float32)[:, None]  # inverse softplus
    a = -np.tile(np.arange(1, n + 1, dtype=np.float32), (di, 1))      # -exp(A_log)
    d_skip = g.gain(di)[None, :, None]

    xz = linear(g, x, f"{pre}.in_proj.weight", hid, 2 * di)
    xz = g.op("Transpose", [xz], "transpose", perm=[0, 2, 1])
    u, z = g.op("Split", [xz], "split", outputs=2, axis=1, num_outputs=2)
    u = g.op("Conv", [u, g.weight(f"{pre}.conv1d.weight", w_conv)], "conv1d", group=di,
             pads=[kc - 1, kc - 1], auto_pad="NOTSET", strides=[1], dilations=[1], kernel_shape=[kc])
    u = g.op("Slice", [u, g.i64([0]), g.i64([s]), g.i64([2]), g.i64([1])], "slice")
    u = g.op("Transpose", [silu(g, u)], "transpose", perm=[0, 2, 1])
    proj = linear(g, u, f"{pre}.x_proj.weight", di, r + 2 * n)
    dt, bm, cm = g.op("Split", [proj, g.i64([r, n, n])], "split_with_sizes", outputs=3, axis=2)
    dt = g.op("Transpose", [dt], "transpose", perm=[0, 2, 1])
    dt = g.op("MatMul", [g.weight(f"{pre}.dt_proj.weight", w_dt), dt], "matmul")
    u = g.op("Transpose", [u], "transpose", perm=[0, 2, 1])
    dt = g.op("Add", [dt, g.weight(f"{pre}.dt_proj.bias", b_dt)], "add")
    sp = g.op("Softplus", [dt], "tmp")
    big = g.op("Greater", [dt, g.f32(20.0)], "tmp")
    dt = g.op("Where", [big, dt, sp], "softplus")
    dt = g.op("Unsqueeze", [dt, g.i64([3])], "unsqueeze")
    da = g.op("Exp", [g.op("Mul", [g.weight(f"{pre}.A", a[None, :, None, :]), dt], "mul")], "exp")
    dbu = g.op("Mul", [dt, g.op("Unsqueeze", [bm, g.i64([1])], "unsqueeze")], "mul")
    dbu = g.op("Mul", [dbu, g.op("Unsqueeze", [u, g.i64([3])], "unsqueeze")], "mul")
    state = g.weight(g.fresh("zeros"), np.zeros((1, di, n), np.float32))  # the initial state
    ys = []
    for t in range(s):
        step = g.i64(t)
        state = g.op("Mul", [g.op("Gather", [da, step], "select", axis=2), state], "mul")
        state = g.op("Add", [state, g.op("Gather", [dbu, step], "select", axis=2)], "add")
        ct = g.op("Unsqueeze", [g.op("Gather", [cm, step], "select", axis=1), g.i64([-1])], "unsqueeze")
        y = g.op("MatMul", [state, ct], "matmul")
        ys.append(g.op("Gather", [y, g.i64(0)], "select", axis=2))
    ys = [g.op("Unsqueeze", [y, g.i64([-1])], "Unsqueeze") for y in ys]
    y = g.op("Concat", ys, "stack", axis=-1)
    y = g.op("Add", [y, g.op("Mul", [u, g.weight(f"{pre}.D", d_skip)], "mul")], "add")
    y = g.op("Mul", [y, silu(g, z)], "mul")
    y = g.op("Transpose", [y], "transpose", perm=[0, 2, 1])
    return linear(g, y, f"{pre}.out_proj.weight", di, hid)


def make_mamba(c, rng):
    g = GraphBuilder(rng)
    hid = c["hidden"]
    embed = g.weight("m.lm_head.weight", g.normal((c["vocab"], hid)))  # tied: embedding = lm_head
    x = g.op("Gather", [embed, "input_0"], "embedding", axis=0)
    for i in range(c["layers"]):
        h = rms_norm(g, x, g.weight(f"m.backbone.layers.{i}.norm.weight", g.gain(hid)), c["eps"])
        x = g.op("Add", [x, mixer(g, c, h, i)], "add")
    h = rms_norm(g, x, g.weight("m.backbone.norm_f.weight", g.gain(hid)), c["eps"])
    w = g.op("Transpose", [embed], "Transpose", perm=[1, 0])
    g.nodes.append(helper.make_node("MatMul", [h, w], ["output_0"], name="node_lm_head"))
    return g.model(c["seq"], c["vocab"], "output_0", "Mamba (xfc fusion benchmark)")


# ---- writing and checking ----

def parameters(model):
    """Learned parameters: the initializers named after the module they belong to (m.*)."""
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.name.startswith("m."))


def write(name, model, seq, vocab, out_dir, rng, xfc):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "model.onnx")
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    ids = rng.integers(0, vocab, (1, seq), dtype=np.int64)
    with open(os.path.join(d, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(ids, "input_0").SerializeToString())

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (logits,) = sess.run(None, {"input_0": ids})
    expect = os.path.join(d, "output_0.ort.pb")
    with open(expect, "wb") as f:
        f.write(numpy_helper.from_array(logits, "output_0").SerializeToString())
    print(f"{name}: {len(model.graph.node)} nodes, {parameters(model) / 1e6:.2f}M parameters, "
          f"logits {list(logits.shape)} in [{logits.min():.3g}, {logits.max():.3g}] -> {d}")

    if xfc:
        cmd = [xfc, "run", path, "-O0", "--input", os.path.join(d, "input_0.pb"), "--expect", expect,
               "--atol", "1e-3"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        print(f"{name}: xfc run -O0 vs onnxruntime: {(r.stdout + r.stderr).strip()}")
        if r.returncode != 0:
            sys.exit(f"{name}: xfc disagrees with onnxruntime (exit {r.returncode})")


def main():
    ap = argparse.ArgumentParser(description="Makes the bench-size Llama and Mamba models.")
    ap.add_argument("out_dir")
    ap.add_argument("--only", choices=["llama", "mamba"], help="make one model")
    ap.add_argument("--seq", type=int, help="override the sequence length (default 128)")
    ap.add_argument("--layers", type=int, help="override the number of layers")
    ap.add_argument("--xfc", help="also check `xfc run -O0` against onnxruntime with this xfc")
    args = ap.parse_args()
    for name, base, make in (("llama", LLAMA, make_llama), ("mamba", MAMBA, make_mamba)):
        if args.only and args.only != name:
            continue
        c = dict(base)
        c.update({k: v for k, v in (("seq", args.seq), ("layers", args.layers)) if v})
        rng = np.random.default_rng(SEED)
        write(name, make(c, rng), c["seq"], c["vocab"], args.out_dir, rng, args.xfc)


if __name__ == "__main__":
    main()

"""Write a Llama-family checkpoint as a ``.tflite`` graph directly, with the flatbuffer schema that ships in
``ai-edge-litert`` (no TensorFlow, no litert-torch).

litert-torch (the general converter) needs ~760 MB of jax and is not installable beside the rest here, so
the ``litert`` extra alone can still produce the fp32 ``.tflite`` of a SmolLM2-style decoder (RMSNorm,
rotary attention with grouped KV heads, SwiGLU MLP, tied or untied head): each layer is spelled in TFLite
builtin ops (GATHER, FULLY_CONNECTED, BATCH_MATMUL, SOFTMAX, ...). The graph maps token ids ``[1, T]`` to
logits ``[1, T, vocab]`` for a fixed ``T`` with a causal mask, so right-padding never changes earlier
logits: the layout the LiteRT backend's single-signature path reads (no KV cache: each step re-runs the
window, which is why the runtime is slow; litert-torch's prefill/decode export is the fast path).

Other architectures (biases, sliding windows, other norms) are refused with ``ModelLoadError``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from frugalstack.optimizers.checkpoint import publish_dir
from frugalstack.optimizers.onnx_export import copy_side_files
from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

SEQ_LEN = 128


def _schema() -> Any:
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        raise MissingDependencyError("ai-edge-litert", "litert", purpose="writing a .tflite graph") from None
    return schema


class _Graph:
    """A single-subgraph TFLite model built op by op (object API of the generated schema)."""

    def __init__(self) -> None:
        self.s = _schema()
        self.tensors: list[Any] = []
        self.buffers: list[Any] = [self.s.BufferT()]  # buffer 0 is the empty sentinel
        self.ops: list[Any] = []
        self.codes: dict[int, int] = {}

    def tensor(self, shape: list[int], name: str, dtype: int | None = None, data: np.ndarray | None = None) -> int:
        t = self.s.TensorT()
        t.shape, t.name = list(shape), name
        t.type = self.s.TensorType.FLOAT32 if dtype is None else dtype
        t.buffer = 0
        if data is not None:
            buf = self.s.BufferT()
            buf.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
            self.buffers.append(buf)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def const(self, arr: np.ndarray, name: str) -> int:
        arr = np.asarray(arr)
        if arr.dtype == np.int32:
            return self.tensor(list(arr.shape), name, self.s.TensorType.INT32, arr)
        return self.tensor(list(arr.shape), name, self.s.TensorType.FLOAT32, arr.astype(np.float32))

    def op(self, name: str, inputs: list[int], shape: list[int], options: Any = None, opt_name: str = "") -> int:
        code = getattr(self.s.BuiltinOperator, name)
        self.codes.setdefault(code, len(self.codes))
        op = self.s.OperatorT()
        op.opcodeIndex, op.inputs = self.codes[code], inputs
        out = self.tensor(shape, f"{name.lower()}_{len(self.ops)}")
        op.outputs = [out]
        if options is not None:
            op.builtinOptionsType, op.builtinOptions = getattr(self.s.BuiltinOptions, opt_name), options
        self.ops.append(op)
        return out

    # -- ops with their options
    def binary(self, name: str, a: int, b: int, shape: list[int]) -> int:
        opts = getattr(self.s, f"{name.title()}OptionsT")()
        return self.op(name, [a, b], shape, opts, f"{name.title()}Options")

    def reshape(self, x: int, shape: list[int]) -> int:
        opts = self.s.ReshapeOptionsT()
        opts.newShape = list(shape)
        return self.op("RESHAPE", [x, self.const(np.array(shape, np.int32), "shape")], shape, opts, "ReshapeOptions")

    def transpose(self, x: int, perm: list[int], shape: list[int]) -> int:
        perm_t = self.const(np.array(perm, np.int32), "perm")
        return self.op("TRANSPOSE", [x, perm_t], shape, self.s.TransposeOptionsT(), "TransposeOptions")

    def fc(self, x: int, weight: np.ndarray, name: str, rows: int) -> int:
        opts = self.s.FullyConnectedOptionsT()
        w = self.const(weight.astype(np.float32), name)
        return self.op("FULLY_CONNECTED", [x, w, -1], [rows, weight.shape[0]], opts, "FullyConnectedOptions")

    def rmsnorm(self, x: int, weight: np.ndarray, eps: float, shape: list[int], name: str) -> int:
        sq = self.binary("MUL", x, x, shape)
        opts = self.s.ReducerOptionsT()
        opts.keepDims = True
        ms = self.op("MEAN", [sq, self.const(np.array([len(shape) - 1], np.int32), "axis")], [*shape[:-1], 1],
                     opts, "ReducerOptions")
        ms = self.binary("ADD", ms, self.const(np.array([eps], np.float32), "eps"), [*shape[:-1], 1])
        inv = self.op("RSQRT", [ms], [*shape[:-1], 1])
        return self.binary("MUL", self.binary("MUL", x, inv, shape), self.const(weight, name), shape)

    def matmul(self, a: int, b: int, shape: list[int], adj_y: bool = False) -> int:
        opts = self.s.BatchMatMulOptionsT()
        opts.adjY = adj_y
        return self.op("BATCH_MATMUL", [a, b], shape, opts, "BatchMatMulOptions")

    def finish(self, inputs: dict[str, int], outputs: dict[str, int]) -> bytes:
        import flatbuffers

        s = self.s
        sub = s.SubGraphT()
        sub.tensors, sub.operators, sub.name = self.tensors, self.ops, "main"
        sub.inputs, sub.outputs = list(inputs.values()), list(outputs.values())
        sig = s.SignatureDefT()
        sig.signatureKey, sig.subgraphIndex = "serving_default", 0
        sig.inputs = [self._tensor_map(k, v) for k, v in inputs.items()]
        sig.outputs = [self._tensor_map(k, v) for k, v in outputs.items()]
        model = s.ModelT()
        model.version, model.description = 3, "frugalstack.optimizers.tflite_writer"
        model.subgraphs, model.buffers, model.signatureDefs = [sub], self.buffers, [sig]
        model.operatorCodes = [None] * len(self.codes)
        for code, idx in self.codes.items():
            oc = s.OperatorCodeT()
            oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 1
            model.operatorCodes[idx] = oc
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    def _tensor_map(self, name: str, idx: int) -> Any:
        m = self.s.TensorMapT()
        m.name, m.tensorIndex = name, idx
        return m


def _check_architecture(cfg: Any) -> None:
    bad = [k for k in ("attention_bias", "mlp_bias") if getattr(cfg, k, False)]
    if cfg.model_type not in ("llama", "mistral", "qwen2") or bad or getattr(cfg, "sliding_window", None):
        raise ModelLoadError(
            f"the built-in .tflite writer handles Llama-style decoders without biases or sliding windows; "
            f"this checkpoint is {cfg.model_type} {bad or ''}",
            hint="install frugalstack[litert-convert] (litert-torch) for other architectures",
        )
    if cfg.hidden_act != "silu":
        raise ModelLoadError(f"the built-in .tflite writer needs hidden_act silu, not {cfg.hidden_act}")


def llama_to_tflite(checkpoint: Path, seq_len: int = SEQ_LEN) -> bytes:
    """The fp32 ``.tflite`` bytes of the transformers checkpoint in ``checkpoint`` (window ``seq_len``)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
    cfg = model.config
    _check_architecture(cfg)
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    heads, kv = cfg.num_attention_heads, cfg.num_key_value_heads or cfg.num_attention_heads
    hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // heads
    d, t, vocab = cfg.hidden_size, seq_len, cfg.vocab_size
    with torch.no_grad():  # the model's own rotary tables (any rope scaling it configures)
        cos, sin = model.model.rotary_emb(torch.zeros(1, t, d), torch.arange(t)[None])
    cos_t, sin_t = cos[0].numpy()[:, None, :], sin[0].numpy()[:, None, :]  # [T, 1, hd]
    half = hd // 2
    rot = np.zeros((hd, hd), np.float32)  # rotate_half as a matrix: out = [-x2, x1]
    rot[np.arange(half), np.arange(half) + half] = -1.0
    rot[np.arange(half) + half, np.arange(half)] = 1.0
    mask = np.triu(np.full((t, t), -1e9, np.float32), k=1)

    g = _Graph()
    tokens = g.tensor([1, t], "tokens", g.s.TensorType.INT32)
    gopts = g.s.GatherOptionsT()
    emb = g.op("GATHER", [g.const(sd["model.embed_tokens.weight"], "embed"), tokens], [1, t, d], gopts,
               "GatherOptions")
    x = g.reshape(emb, [t, d])
    cos_c, sin_c, rot_c = g.const(cos_t, "cos"), g.const(sin_t, "sin"), rot
    mask_c, scale_c = g.const(mask, "mask"), g.const(np.array([hd**-0.5], np.float32), "scale")

    def rope(y: int) -> int:
        y3 = g.reshape(y, [t, heads, hd])
        r = g.reshape(g.fc(g.reshape(y, [t * heads, hd]), rot_c, "rot", t * heads), [t, heads, hd])
        return g.binary("ADD", g.binary("MUL", y3, cos_c, [t, heads, hd]), g.binary("MUL", r, sin_c, [t, heads, hd]),
                        [t, heads, hd])

    def heads_first(y3: int) -> int:
        return g.transpose(y3, [1, 0, 2], [heads, t, hd])

    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        eps = cfg.rms_norm_eps
        n = g.rmsnorm(x, sd[p + "input_layernorm.weight"], eps, [t, d], f"ln{i}")
        wk = np.repeat(sd[p + "self_attn.k_proj.weight"].reshape(kv, hd, d), heads // kv, axis=0).reshape(-1, d)
        wv = np.repeat(sd[p + "self_attn.v_proj.weight"].reshape(kv, hd, d), heads // kv, axis=0).reshape(-1, d)
        q = heads_first(rope(g.fc(n, sd[p + "self_attn.q_proj.weight"], f"wq{i}", t)))
        k = heads_first(rope(g.fc(n, wk, f"wk{i}", t)))
        v = heads_first(g.reshape(g.fc(n, wv, f"wv{i}", t), [t, heads, hd]))
        scores = g.binary("MUL", g.matmul(q, k, [heads, t, t], adj_y=True), scale_c, [heads, t, t])
        scores = g.binary("ADD", scores, mask_c, [heads, t, t])
        sopts = g.s.SoftmaxOptionsT()
        sopts.beta = 1.0
        probs = g.op("SOFTMAX", [scores], [heads, t, t], sopts, "SoftmaxOptions")
        att = g.transpose(g.matmul(probs, v, [heads, t, hd]), [1, 0, 2], [t, heads, hd])
        x = g.binary("ADD", x, g.fc(g.reshape(att, [t, heads * hd]), sd[p + "self_attn.o_proj.weight"], f"wo{i}", t),
                     [t, d])
        n = g.rmsnorm(x, sd[p + "post_attention_layernorm.weight"], eps, [t, d], f"ln2{i}")
        inter = cfg.intermediate_size
        gate = g.fc(n, sd[p + "mlp.gate_proj.weight"], f"wg{i}", t)
        act = g.binary("MUL", gate, g.op("LOGISTIC", [gate], [t, inter]), [t, inter])
        up = g.binary("MUL", act, g.fc(n, sd[p + "mlp.up_proj.weight"], f"wu{i}", t), [t, inter])
        x = g.binary("ADD", x, g.fc(up, sd[p + "mlp.down_proj.weight"], f"wd{i}", t), [t, d])
    n = g.rmsnorm(x, sd["model.norm.weight"], cfg.rms_norm_eps, [t, d], "norm")
    head = sd.get("lm_head.weight", sd["model.embed_tokens.weight"])
    logits = g.reshape(g.fc(n, head, "lm_head", t), [1, t, vocab])
    return g.finish({"tokens": tokens}, {"logits": logits})


def write_tflite(checkpoint: Path, out: Path, seq_len: int = SEQ_LEN) -> Path:
    """``out/model.tflite`` plus the tokenizer side files, published atomically."""
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-tflite-", dir=out.parent))
    try:
        (tmp / "model.tflite").write_bytes(llama_to_tflite(checkpoint, seq_len))
        copy_side_files(checkpoint, tmp)
    except (MissingDependencyError, ModelLoadError):
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelLoadError(f"writing {checkpoint} as .tflite failed: {exc}") from exc
    return publish_dir(tmp, out)

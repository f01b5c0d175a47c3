"""LoRA adapters of the edge SLM, trained on the device's consented text; only the adapter ever leaves.

The model is the transformers form of the embedded SmolLM2-135M-Instruct (``optimizers.checkpoint``: the
GGUF dequantised to fp32). A ``peft`` LoRA (rank ``r``) sits on each layer's ``v_proj`` and ``o_proj``;
those are the projections llama.cpp stores unpermuted, so the merged weights go back into a GGUF as they
are (``cloud.fl.lora_export``). Everything else is frozen: the update a device sends is the change of the
adapter's A/B matrices (~230k numbers at r=4), clipped, noised and int8-quantized like any head update.

Consented-style text, in simulation: the sample dataset's customer questions with their accepted
reference answers (``Question: ... / Answer: ...``), dev split over the devices, test split held out.
torch, transformers and peft are imported only here, inside functions (the ``torch`` extra).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from frugalstack.edge.fl import codec
from frugalstack.edge.fl.model import Params
from frugalstack.shared.errors import ConfigError, MissingDependencyError

TARGETS = ("v_proj", "o_proj")


def consented_texts(split: str) -> list[str]:
    """Accepted answers in the sample dataset's ``split`` (dev = devices' data, test = held out)."""
    from frugalstack.edge import sampledata

    path = Path(sampledata.DATA_DIR) / f"queries-{split}.jsonl"
    if not path.is_file():
        raise ConfigError(f"no sample queries at {path}", hint="the sample dataset ships with frugalstack.edge")
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [f"Question: {r['query']}\nAnswer: {r['reference_answer']}" for r in rows if r.get("reference_answer")]


def _torch() -> tuple[Any, Any, Any]:
    try:
        import peft
        import torch
        import transformers
    except ImportError:
        raise MissingDependencyError("torch, transformers and peft", "torch", purpose="LoRA training") from None
    return torch, transformers, peft


class LoraTrainer:
    """The SLM with a LoRA adapter; get/set the adapter as numpy arrays, train it, measure perplexity."""

    def __init__(
        self, checkpoint: Path, *, r: int = 4, alpha: int = 8, max_len: int = 48, threads: int = 1, seed: int = 0
    ):
        torch, transformers, peft = _torch()
        torch.set_num_threads(max(1, threads))
        torch.manual_seed(seed)
        self.torch = torch
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(checkpoint))
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        base = transformers.AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=torch.float32)
        cfg = peft.LoraConfig(
            r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=list(TARGETS), bias="none", task_type="CAUSAL_LM"
        )
        self.model = peft.get_peft_model(base, cfg)
        self.max_len = max_len
        self.r, self.alpha = r, alpha

    # ------------------------------------------------------------------ the adapter as plain arrays
    def get_adapter(self) -> Params:
        return {n: p.detach().cpu().numpy().copy() for n, p in self.model.named_parameters() if p.requires_grad}

    def set_adapter(self, params: Params) -> None:
        own = dict(self.model.named_parameters())
        for n, v in params.items():
            if n not in own or tuple(own[n].shape) != tuple(v.shape):
                raise ConfigError(f"adapter tensor {n} {tuple(v.shape)} does not fit this model")
            own[n].data.copy_(self.torch.from_numpy(np.asarray(v, np.float32)))

    # ------------------------------------------------------------------ training and scoring
    def _batch(self, texts: list[str]) -> dict[str, Any]:
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=self.max_len)
        labels = enc["input_ids"].clone()
        labels[enc["attention_mask"] == 0] = -100
        return {**enc, "labels": labels}

    def train(
        self,
        texts: list[str],
        *,
        steps: int,
        lr: float = 1e-3,
        batch_size: int = 4,
        seed: int = 0,
        proximal_mu: float = 0.0,
    ) -> float:
        """AdamW on the adapter only; returns the mean loss of the last step."""
        if not texts:
            return float("nan")
        torch = self.torch
        params = [p for p in self.model.parameters() if p.requires_grad]
        anchor = [p.detach().clone() for p in params]
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
        rng = np.random.default_rng(seed)
        self.model.train()
        loss_val = float("nan")
        for _ in range(max(steps, 0)):
            idx = rng.choice(len(texts), size=min(batch_size, len(texts)), replace=False)
            loss = self.model(**self._batch([texts[i] for i in idx])).loss
            if proximal_mu > 0:
                loss = loss + proximal_mu / 2 * sum(((p - a) ** 2).sum() for p, a in zip(params, anchor, strict=True))
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_val = float(loss.detach())
        self.model.eval()
        return loss_val

    def perplexity(self, texts: list[str], batch_size: int = 8) -> float:
        """Token-level perplexity (exp of the mean negative log-likelihood over every predicted token)."""
        torch = self.torch
        nll, count = 0.0, 0
        self.model.eval()
        with torch.no_grad():
            for i in range(0, len(texts), batch_size):
                batch = self._batch(texts[i : i + batch_size])
                logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
                labels = batch["labels"][:, 1:]
                logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
                mask = labels != -100
                picked = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
                nll -= float(picked[mask].sum())
                count += int(mask.sum())
        return math.exp(nll / max(count, 1))

    def merged_weights(self) -> dict[str, np.ndarray]:
        """Base + (alpha/r)·B·A for every adapted projection, by HF name (``model.layers.0.self_attn.v_proj``)."""
        out = {}
        scale = self.alpha / self.r
        for name, module in self.model.named_modules():
            if hasattr(module, "lora_A") and name.split(".")[-1] in TARGETS:
                a = module.lora_A["default"].weight.detach().numpy()
                b = module.lora_B["default"].weight.detach().numpy()
                base = module.base_layer.weight.detach().numpy()
                key = name.split("base_model.model.", 1)[-1]
                out[key] = (base + scale * (b @ a)).astype(np.float32)
        return out


def lora_update(
    trainer: LoraTrainer, glob: Params, texts: list[str], cfg: dict[str, Any], seed: int, attack: float = 1.0
) -> tuple[dict[str, np.ndarray], float]:
    """Train from the global adapter on local text; return the protected update (and the last loss).

    ``attack`` != 1 simulates a poisoned device (robustness experiments only): its update is multiplied by
    ``attack`` (negative: flipped) and it skips clipping, as an attacker would."""
    trainer.set_adapter(glob)
    loss = trainer.train(
        texts,
        steps=int(cfg.get("local-steps", 2)),
        lr=float(cfg.get("lr", 1e-3)),
        batch_size=int(cfg.get("batch-size", 4)),
        seed=seed,
        proximal_mu=float(cfg.get("proximal-mu", 0.0)),
    )
    upd = codec.delta(trainer.get_adapter(), glob)
    from frugalstack.edge.fl.client import protect

    if attack != 1.0:
        upd = {k: (v * attack).astype(np.float32) for k, v in upd.items()}
        cfg = {**cfg, "clip": 0.0}
    return protect(upd, cfg, seed), loss


def make_lora_client_app(
    trainer: Callable[[], LoraTrainer],
    texts_for: Callable[[int], list[str]],
    seed: int = 0,
    attacks: dict[int, float] | None = None,
) -> Any:
    """A Flower ClientApp: partition ``i`` fine-tunes the adapter on ``texts_for(i)`` (which stay here).

    ``attacks``: partition -> update multiplier, simulated poisoned devices (see :func:`lora_update`)."""
    from frugalstack.edge.fl.client import _flwr, arrays_to_params, partition_of, payload_bytes

    app_mod, ClientApp = _flwr()
    Message, RecordDict = app_mod.Message, app_mod.RecordDict
    ArrayRecord, MetricRecord, Array = app_mod.ArrayRecord, app_mod.MetricRecord, app_mod.Array
    client = ClientApp()

    @client.train()
    def train(msg: Any, context: Any) -> Any:
        pid = partition_of(context)
        cfg = dict(msg.content["config"])
        down = payload_bytes(msg.content["arrays"])
        texts = texts_for(pid)
        if len(texts) < int(cfg.get("min-examples", 2)):
            return Message(
                RecordDict({"metrics": MetricRecord({"num-examples": 0, "skipped": 1, "bytes-down": down})}),
                reply_to=msg,
            )
        rnd = int(cfg.get("server-round", 0))
        out, loss = lora_update(
            trainer(),
            arrays_to_params(msg.content["arrays"]),
            texts,
            cfg,
            int(np.random.default_rng([seed, pid, rnd]).integers(2**31)),
            (attacks or {}).get(pid, 1.0),
        )
        private = float(cfg.get("noise-multiplier", 0.0)) > 0
        metrics = MetricRecord(
            {"num-examples": 1 if private else len(texts), "skipped": 0, "bytes-down": down}
            | ({} if private else {"train-loss": float(loss)})
        )
        arrays = ArrayRecord({k: Array(v) for k, v in out.items()})
        return Message(RecordDict({"arrays": arrays, "metrics": metrics}), reply_to=msg)

    return client


def make_lora_secagg_client_app(
    trainer: Callable[[], LoraTrainer], texts_for: Callable[[int], list[str]], names: list[str], seed: int = 0
) -> Any:
    """The SecAgg+ form of :func:`make_lora_client_app`: Flower's ``secaggplus_mod`` masks the adapter
    update, so the server learns only the sum over the surviving devices (``names`` orders the tensors)."""
    try:
        from flwr.client import NumPyClient
        from flwr.client.mod import secaggplus_mod
        from flwr.clientapp import ClientApp
    except ImportError:
        raise MissingDependencyError("flwr", "fl", purpose="secure aggregation") from None
    from frugalstack.edge.fl.client import partition_of

    class AdapterClient(NumPyClient):
        def __init__(self, pid: int) -> None:
            self.pid = pid

        def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> tuple[list[np.ndarray], int, dict]:
            glob = dict(zip(names, (np.asarray(p, np.float32) for p in parameters), strict=True))
            texts = texts_for(self.pid)
            if len(texts) < int(config.get("min-examples", 2)):
                return [np.zeros_like(glob[n]) for n in names], 0, {}  # weight 0: adds nothing to the mean
            cfg = {**config, "quantize": "none"}  # SecAgg+ quantizes itself before masking
            rng = np.random.default_rng([seed, self.pid, int(cfg.get("server-round", 0))])
            out, _ = lora_update(trainer(), glob, texts, cfg, int(rng.integers(2**31)))
            return [out[n] for n in names], 1, {}  # uniform weight: the server sees only the sum

    return ClientApp(client_fn=lambda context: AdapterClient(partition_of(context)).to_client(), mods=[secaggplus_mod])

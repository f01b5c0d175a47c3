"""Loading the base checkpoint, building students, and the chat-format encoding every model shares."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from frugalstack.cloud.distill.config import StudentConfig
from frugalstack.shared.errors import MissingDependencyError


def torch_modules() -> tuple[Any, Any, Any]:
    try:
        import torch
        import transformers
    except ImportError:
        raise MissingDependencyError("torch", "transformers", purpose="distillation") from None
    return torch, transformers, transformers.AutoTokenizer


def base_checkpoint(model: str) -> Path:
    """A transformers folder for a catalogue id, GGUF or folder (the GGUF dequantised once, then cached)."""
    from frugalstack.optimizers.checkpoint import ensure_transformers_checkpoint
    from frugalstack.optimizers.pipeline import resolve_source

    return ensure_transformers_checkpoint(resolve_source(model))


def load_tokenizer(path: Path) -> Any:
    _, _, auto_tok = torch_modules()
    tok = auto_tok.from_pretrained(str(path))
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_causal_lm(path: Path) -> Any:
    torch, transformers, _ = torch_modules()
    model = transformers.AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    model.eval()
    return model


def build_student(cfg: StudentConfig, base_path: Path, seed: int) -> Any:
    """SmolLM2 itself (full or LoRA), or a shallow copy keeping ``cfg.layers`` of its layers spread evenly
    (DistilBERT-style initialisation: a student that starts from the teacher's own weights)."""
    torch, _, _ = torch_modules()
    torch.manual_seed(seed)
    model = load_causal_lm(base_path)
    if cfg.kind == "small":
        layers = model.model.layers
        n = len(layers)
        keep = sorted({round(i * (n - 1) / max(1, cfg.layers - 1)) for i in range(cfg.layers)}) if cfg.layers > 1 \
            else [0]
        model.model.layers = torch.nn.ModuleList([copy.deepcopy(layers[i]) for i in keep])
        for new_idx, layer in enumerate(model.model.layers):
            layer.self_attn.layer_idx = new_idx
        model.config.num_hidden_layers = len(keep)
        if getattr(model.config, "layer_types", None):
            model.config.layer_types = model.config.layer_types[: len(keep)]
        if cfg.freeze_embeddings:  # tied with the output layer: both stay the base model's
            model.get_input_embeddings().weight.requires_grad_(False)
            model.get_output_embeddings().weight.requires_grad_(False)
    elif cfg.lora_r:
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError:
            raise MissingDependencyError("peft", "torch", purpose="LoRA students") from None
        lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=0.0, task_type="CAUSAL_LM",
                          target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
        model = get_peft_model(model, lora)
    model.train()
    return model


def merged(model: Any) -> Any:
    """A plain transformers model (LoRA adapters merged in) for evaluation and export."""
    return model.merge_and_unload() if hasattr(model, "merge_and_unload") else model


def n_params(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def chat_ids(tok: Any, messages: list[dict[str, str]]) -> list[int]:
    """Token ids of a chat ending with the assistant's turn opened (the model answers next)."""
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return list(tok(text, add_special_tokens=False)["input_ids"])


def answer_ids(tok: Any, answer: str) -> list[int]:
    """The answer's tokens plus the end-of-turn token the chat template closes turns with."""
    end = tok.convert_tokens_to_ids("<|im_end|>")
    ids = list(tok(answer, add_special_tokens=False)["input_ids"])
    return [*ids, end if isinstance(end, int) and end >= 0 else tok.eos_token_id]


def student_messages(task_instruction_prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": task_instruction_prompt}]

"""A light tokenizer for the logits-per-step backends: ``tokenizers`` + the jinja chat template.

transformers' ``AutoTokenizer`` imports torch (~300 MB RSS, seconds of start-up), which an ONNX or
OpenVINO deployment should not pay. This reads the same files (``tokenizer.json``,
``tokenizer_config.json``, ``chat_template.jinja``, ``generation_config.json``) and treats the usual
end-of-turn tokens as end of generation, like llama.cpp's end-of-generation set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

EOG_NAMES = ("<|im_end|>", "<|endoftext|>", "</s>", "<|eot_id|>", "<end_of_turn>", "<|end|>")


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _token_text(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


class LightTokenizer:
    """The slice of the transformers tokenizer API the decode loop uses."""

    def __init__(self, model_dir: Path):
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise MissingDependencyError("tokenizers", "edge", purpose="tokenizing for this backend") from None
        file = model_dir / "tokenizer.json"
        if not file.is_file():
            raise ModelLoadError(f"no tokenizer.json in {model_dir}")
        self._tok = Tokenizer.from_file(str(file))
        cfg = _read_json(model_dir / "tokenizer_config.json")
        template = model_dir / "chat_template.jinja"
        self.chat_template: str | None = template.read_text(encoding="utf-8") if template.is_file() else (
            cfg.get("chat_template") if isinstance(cfg.get("chat_template"), str) else None)
        self.bos_token = _token_text(cfg.get("bos_token")) or ""
        self.eos_token = _token_text(cfg.get("eos_token")) or ""
        eos: set[int] = set()
        for name in (self.eos_token, *EOG_NAMES):
            tid = self._tok.token_to_id(name) if name else None
            if tid is not None:
                eos.add(int(tid))
        gen = _read_json(model_dir / "generation_config.json").get("eos_token_id")
        eos |= {int(x) for x in (gen if isinstance(gen, list) else [gen]) if isinstance(x, int)}
        self.eos_token_ids = eos
        self._template: Any = None

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=add_special_tokens).ids)

    def to_json(self) -> str:
        """The serialized ``tokenizers`` tokenizer (what the JSON-schema mask builds its byte table from)."""
        return str(self._tok.to_str())

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return str(self._tok.decode(ids, skip_special_tokens=skip_special_tokens))

    def apply_chat_template(self, messages: list[dict[str, str]], add_generation_prompt: bool = True,
                            tokenize: bool = False) -> str:
        if not self.chat_template:
            raise ModelLoadError("this tokenizer has no chat template")
        if self._template is None:
            from jinja2.sandbox import ImmutableSandboxedEnvironment

            env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
            self._template = env.from_string(self.chat_template)
        return str(self._template.render(messages=messages, add_generation_prompt=add_generation_prompt,
                                         bos_token=self.bos_token, eos_token=self.eos_token))

"""Greedy generation on a loaded llama.cpp model that keeps the KV cache of the shared prompt prefix.

Why: an evaluation sends hundreds of prompts that start with the same system prompt (the intent labeller's is
~75 of its ~94 tokens), and on one CPU thread a prompt token costs about half a decode step's time per token
here, so re-reading the shared prefix was most of the suite's CPU time. The runtime's backend resets the cache
before every request on purpose (each served request is measured alike); this evaluation-only path instead
lets llama-cpp-python match the new prompt against the cached tokens and evaluate only the differing suffix.

Same model file, chat template, greedy sampler and grammar as the runtime's llama.cpp backend; only the split
of the prompt into evaluated batches differs, which can move logits by float rounding (the record says which
path produced it, and ``frugal eval run --no-prefix-cache`` uses the runtime's own path).
"""

from __future__ import annotations

import json
import time
from typing import Any

from frugalstack.edge.evaluation.model import Output
from frugalstack.shared.errors import ValidationError


class PrefixCachedLlama:
    """``generate`` over a runtime's llama.cpp model, reusing the KV cache of the longest common prompt prefix."""

    path = "llama.cpp direct, KV cache of the common prompt prefix reused"

    def __init__(self, llm: Any, seed: int):
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValidationError("this GGUF model has no chat template")
        eos, bos = llm.token_eos(), llm.token_bos()
        self.llm, self.seed = llm, seed
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
        )
        self._vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self._is_eog = llama_cpp.llama_vocab_is_eog
        self._grammars: dict[str, Any] = {}
        self.prompt_tokens = 0
        self.reused_tokens = 0

    def _grammar(self, schema: dict[str, Any] | None) -> Any:
        if schema is None:
            return None
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        return self._grammars[key]

    def generate(self, messages: list[dict[str, str]], *, max_tokens: int,
                 json_schema: dict[str, Any] | None = None) -> Output:
        llm = self.llm
        rendered = self._formatter(messages=messages).prompt  # type: ignore[arg-type]
        tokens = list(llm.tokenize(rendered.encode("utf-8"), add_bos=False, special=True))
        budget = min(max_tokens, llm.n_ctx() - len(tokens))
        if budget <= 0:
            raise ValidationError("the prompt fills the whole context; nothing left to generate")
        common = 0
        for a, b in zip(llm._input_ids[: llm.n_tokens], tokens, strict=False):
            if a != b:
                break
            common += 1
        self.prompt_tokens += len(tokens)
        self.reused_tokens += min(common, len(tokens) - 1)
        llm.set_seed(self.seed)
        t = time.perf_counter()
        out: list[int] = []
        for token in llm.generate(tokens, top_k=0, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0,
                                  grammar=self._grammar(json_schema)):
            if self._is_eog(self._vocab, token):
                break
            out.append(int(token))
            if len(out) >= budget:
                break
        text = llm.detokenize(out).decode("utf-8", errors="ignore")
        return Output(text, len(out), (time.perf_counter() - t) * 1000)

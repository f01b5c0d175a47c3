"""A local transformers teacher: few-shot chat prompt plus constrained decoding.

No model larger than SmolLM2-135M can be had here, so the local teacher is that model made stronger by
context and structure, not by size: intents are chosen by scoring each allowed label (the answer is always
a valid label), extraction is decoded field by field inside a forced JSON skeleton (keys and braces are
given, each value is typed and falls back to null). The student then learns to do this zero-shot, in one
short greedy pass.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from frugalstack.cloud.distill.models import answer_ids, chat_ids, load_causal_lm, load_tokenizer, torch_modules
from frugalstack.cloud.distill.tasks import FIELDS, INTENTS, Task, canonical_json
from frugalstack.cloud.distill.teacher import Reply


class LocalTeacher:
    def __init__(self, path: Path, threads: int | None = None):
        torch, _, _ = torch_modules()
        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.tok = load_tokenizer(path)
        self.model = load_causal_lm(path)
        self.identity = f"local:{path.name}:constrained-v1"
        self._lock = threading.Lock()  # one forward at a time: torch already uses every core

    def _run(self, ids: list[int], cache: Any) -> tuple[Any, Any]:
        with self.torch.no_grad():
            out = self.model(input_ids=self.torch.tensor([ids]), past_key_values=cache, use_cache=True)
        return out.logits[0], out.past_key_values

    def ask(self, task: Task, messages: list[dict[str, str]]) -> Reply:
        prompt = chat_ids(self.tok, messages)
        with self._lock:
            if task.name == "intent":
                text, lps = self._choose(prompt, list(INTENTS))
            else:
                text, lps = self._extract(prompt)
        return Reply(text=text, prompt_tokens=len(prompt), completion_tokens=len(answer_ids(self.tok, text)),
                     logprob=sum(lps), token_logprobs=lps)

    def _choose(self, prompt: list[int], labels: list[str]) -> tuple[str, list[float]]:
        """Score every label's tokens after the prompt in one batched pass over the shared prompt cache."""
        torch = self.torch
        logits, cache = self._run(prompt, None)
        first = torch.log_softmax(logits[-1], -1)
        seqs = [answer_ids(self.tok, label) for label in labels]
        width = max(len(s) for s in seqs) - 1
        scores = [[float(first[s[0]])] for s in seqs]
        if width > 0:
            ids = torch.full((len(seqs), width), int(seqs[0][-1]), dtype=torch.long)
            for i, s in enumerate(seqs):
                ids[i, : len(s) - 1] = torch.tensor(s[:-1])
            cache.batch_repeat_interleave(len(seqs))
            mask = torch.ones((len(seqs), len(prompt) + width), dtype=torch.long)
            with torch.no_grad():
                out = self.model(input_ids=ids, attention_mask=mask, past_key_values=cache, use_cache=True)
            logp = torch.log_softmax(out.logits, -1)
            for i, s in enumerate(seqs):
                scores[i] += [float(logp[i, j, t]) for j, t in enumerate(s[1:])]
        best = max(range(len(labels)), key=lambda i: sum(scores[i]))
        return labels[best], scores[best]

    def _value(self, logits: Any, cache: Any, kind: str) -> tuple[Any, list[float], Any, int]:
        """Greedy tokens until the value ends (',' or '}' outside a string); the typed value or None."""
        text, lps, fed = "", [], 0
        for _ in range(12):
            logp = self.torch.log_softmax(logits[-1], -1)
            tid = int(logp.argmax())
            piece = self.tok.decode([tid])
            lps.append(float(logp[tid]))
            cut = _value_end(text + piece)
            if cut is not None:
                text = (text + piece)[:cut]
                break
            text += piece
            logits, cache = self._run([tid], cache)
            fed += 1
        try:
            value = json.loads(text.strip())
        except ValueError:
            value = None
        ok = {"string": isinstance(value, str), "boolean": isinstance(value, bool),
              "integer": isinstance(value, int) and not isinstance(value, bool)}[kind]
        return (value if ok else None), lps, cache, fed

    def _extract(self, prompt: list[int]) -> tuple[str, list[float]]:
        out: dict[str, Any] = {}
        lps: list[float] = []
        keys = list(FIELDS)
        cache = None
        pending = prompt
        for i, key in enumerate(keys):
            head = ('{"' if i == 0 else ', "') + key + '": '
            pending = pending + list(self.tok(head, add_special_tokens=False)["input_ids"])
            logits, cache = self._run(pending, cache)
            value, v_lps, cache, fed = self._value(logits, cache, FIELDS[key])
            out[key] = value
            lps += v_lps
            if fed:  # drop the generated tokens from the cache; the canonical value is fed instead
                cache.crop(cache.get_seq_length() - fed)
            pending = list(self.tok(json.dumps(value), add_special_tokens=False)["input_ids"])
        return canonical_json(out), lps


def _value_end(text: str) -> int | None:
    """Index where a JSON scalar ends in ``text`` (at a ',' or '}' outside quotes), or None."""
    in_str = False
    esc = False
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in ",}\n":
            return i
    return None


"""A local transformers teacher: few-shot chat prompt plus constrained decoding.

No model larger than SmolLM2-135M can be had here, so the local teacher is that model made stronger by
context and structure, not by size: intents are chosen by scoring each allowed label (the answer is always
a valid label), extraction is decoded field by field inside a forced JSON skeleton (``constrained.py``:
keys and braces are given, each value is typed and kept only when the input states it). The few-shot
prefix that every prompt of a task shares stays in a KV cache, so a request only runs its own turn. The
student then learns to do this zero-shot.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

from frugalstack.cloud.distill.constrained import extract_json
from frugalstack.cloud.distill.models import answer_ids, chat_ids, load_causal_lm, load_tokenizer, torch_modules
from frugalstack.cloud.distill.tasks import INTENTS, Task, prompt_input
from frugalstack.cloud.distill.teacher import Reply


class LocalTeacher:
    def __init__(self, path: Path, threads: int | None = None):
        torch, _, _ = torch_modules()
        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.tok = load_tokenizer(path)
        self.model = load_causal_lm(path)
        self.identity = f"local:{path.name}:constrained-v3"
        self._lock = threading.Lock()  # one forward at a time: torch already uses every core
        self._prefix: dict[str, tuple[list[int], Any]] = {}  # per task: the last prompt and its KV cache

    def _run(self, ids: list[int], cache: Any) -> tuple[Any, Any]:
        """Logits of the last position only (the 49k-wide output layer over a whole prompt is wasted work)."""
        with self.torch.no_grad():
            out = self.model(input_ids=self.torch.tensor([ids]), past_key_values=cache, use_cache=True,
                             logits_to_keep=1)
        return out.logits[0], out.past_key_values

    def ask(self, task: Task, messages: list[dict[str, str]]) -> Reply:
        prompt = chat_ids(self.tok, messages)
        with self._lock:
            if task.name == "intent":
                text, lps = self._choose(prompt, list(INTENTS))
            else:
                text, lps = self._extract(prompt, prompt_input(messages[-1]["content"]))
        return Reply(text=text, prompt_tokens=len(prompt), completion_tokens=len(answer_ids(self.tok, text)),
                     logprob=sum(lps), token_logprobs=lps)

    def _choose(self, prompt: list[int], labels: list[str]) -> tuple[str, list[float]]:
        """Score every label's tokens after the prompt in one batched pass over the shared prompt cache."""
        torch = self.torch
        logits, cache = self._prefill("intent", prompt)
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

    def _prefill(self, task: str, prompt: list[int]) -> tuple[Any, Any]:
        """Logits and cache after ``prompt``, reusing the KV cache of the part the task's previous prompt
        shared with it (every prompt of a task starts with the same system turn and shots)."""
        common = 0
        previous = self._prefix.get(task)
        if previous is not None:
            ids, _ = previous
            limit = min(len(ids), len(prompt) - 1)
            while common < limit and ids[common] == prompt[common]:
                common += 1
        if previous is not None and common >= 16:
            cache = copy.deepcopy(previous[1])
            cache.crop(common)
            logits, cache = self._run(prompt[common:], cache)
        else:
            logits, cache = self._run(prompt, None)
        self._prefix[task] = (list(prompt), copy.deepcopy(cache))
        return logits, cache

    def _extract(self, prompt: list[int], source: str) -> tuple[str, list[float]]:
        text, lps, _ = extract_json(self._run, self.tok, prompt, start=self._prefill("extraction", prompt),
                                    source=source)
        return text, lps

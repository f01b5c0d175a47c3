"""JSON-schema-constrained decoding for the logits-per-step backends (torch, ONNX Runtime, OpenVINO, LiteRT).

llama.cpp constrains with a GBNF grammar; these backends only see a logits vector per step, so the schema
becomes a token mask instead: ``llguidance`` (a Rust library, no Python dependencies) compiles the schema to a
grammar and, each step, says which token ids can extend the output so it still parses and validates. Tokens
outside the mask get ``-inf`` before sampling, so greedy, nucleus sampling and logprobs all see the
constrained distribution, and the answer always parses (unless ``max_tokens`` cuts it: finish ``length``).

Cost is bounded: the per-token byte table (the expensive part, ~1 s for a 49k vocabulary) is built once
per tokenizer and shared by backends that load the same one (``token_table``); each schema is compiled
once and copied per request (``TokenTable.matcher``); a step costs one mask computation (llguidance's
lazy lexer/parser over a token trie) plus one numpy copy of the allowed logits.
``benchmarks/bench_structured.py`` measures the per-token overhead.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import numpy as np

from frugalstack.shared.errors import MissingDependencyError, UnsupportedFeature, ValidationError

# Compact separators, like json.dumps(separators=(",", ":")): fewer tokens for the same document.
COMPILE_OPTIONS: dict[str, Any] = {"whitespace_flexible": False, "item_separator": ",", "key_separator": ":"}
_SCHEMA_CACHE = 32


def _import_llguidance() -> Any:
    try:
        import llguidance
    except ImportError:
        raise MissingDependencyError("llguidance", "edge", purpose="json_schema on the step backends") from None
    return llguidance


def compile_schema(schema: dict[str, Any]) -> str:
    """The llguidance grammar of ``schema``; a non-object schema or bad JSON raises ``ValidationError``."""
    ll = _import_llguidance()
    if not isinstance(schema, dict):
        raise ValidationError(f"json_schema must be a JSON object, got {type(schema).__name__}")
    try:
        grammar: str = ll.LLMatcher.grammar_from_json_schema(schema, defaults=COMPILE_OPTIONS)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"json_schema is not valid JSON: {exc}") from exc
    return grammar


class TokenTable:
    """Per-tokenizer tables for the mask: built once (the slow part), shared by every request."""

    def __init__(self, tokenizer_json: str, eos_ids: Iterable[int]):
        ll = _import_llguidance()
        eos = sorted(int(i) for i in eos_ids)
        self._ll = ll
        self.tokenizer = ll.LLTokenizer(tokenizer_json, eos_token=eos or None)
        self.vocab_size = int(self.tokenizer.vocab_size)
        self._matchers: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def matcher(self, schema: dict[str, Any]) -> Any:
        """A fresh matcher for ``schema`` (compiled once, then deep-copied); unsupported schemas raise."""
        key = json.dumps(schema, sort_keys=True, default=str)
        with self._lock:
            template = self._matchers.get(key)
            if template is not None:
                self._matchers.move_to_end(key)
                return template.deep_copy()
        grammar = compile_schema(schema)
        template = self._ll.LLMatcher(self.tokenizer, grammar, log_level=0)
        if template.is_error():
            raise UnsupportedFeature(f"json_schema cannot be enforced on this backend: {template.get_error()}")
        with self._lock:
            self._matchers[key] = template
            while len(self._matchers) > _SCHEMA_CACHE:
                self._matchers.popitem(last=False)
        return template.deep_copy()


_TABLES: OrderedDict[str, TokenTable] = OrderedDict()
_TABLES_LOCK = threading.Lock()


def token_table(tokenizer_json: str, eos_ids: Iterable[int]) -> TokenTable:
    """The ``TokenTable`` of a tokenizer, shared by every backend that loads the same one (4 kept)."""
    eos = sorted(int(i) for i in eos_ids)
    key = hashlib.sha256(tokenizer_json.encode() + repr(eos).encode()).hexdigest()
    with _TABLES_LOCK:
        table = _TABLES.get(key)
        if table is not None:
            _TABLES.move_to_end(key)
            return table
    table = TokenTable(tokenizer_json, eos)
    with _TABLES_LOCK:
        _TABLES[key] = table
        while len(_TABLES) > 4:
            _TABLES.popitem(last=False)
    return table


class JsonConstraint:
    """One request's constraint: ``mask`` the logits before sampling, ``advance`` with the chosen token."""

    def __init__(self, table: TokenTable, schema: dict[str, Any]):
        self.table = table
        self._matcher = table.matcher(schema)
        self._bits = np.zeros((table.vocab_size + 31) // 32, dtype=np.int32)

    def allowed(self) -> np.ndarray:
        """Boolean array over the tokenizer's vocabulary: the tokens that keep the output valid."""
        m = self._matcher
        m.unsafe_compute_mask_ptr(self._bits.ctypes.data, self._bits.nbytes)
        if m.is_error():
            raise ValidationError(f"structured output failed: {m.get_error()}")
        flags = np.unpackbits(self._bits.view(np.uint8), bitorder="little")
        return flags[: self.table.vocab_size].astype(bool)

    def mask(self, logits: np.ndarray) -> np.ndarray:
        """``logits`` with every forbidden token at ``-inf`` (ids past the tokenizer's vocabulary too)."""
        ok = self.allowed()
        out = np.full(logits.shape, -np.inf, dtype=logits.dtype)
        n = min(len(ok), len(logits))
        keep = np.flatnonzero(ok[:n])
        if not len(keep):
            raise ValidationError("structured output failed: no token can continue the JSON document")
        out[keep] = logits[keep]
        return out

    def advance(self, token: int) -> None:
        if not self._matcher.consume_token(int(token)):
            raise ValidationError(f"structured output failed: {self._matcher.get_error()}")

    @property
    def complete(self) -> bool:
        """True once the document is finished and nothing but end-of-sequence may follow."""
        return bool(self._matcher.is_stopped())

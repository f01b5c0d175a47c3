"""Collect the labelled pairs the route evaluation needs: one edge answer and one cloud answer per query.

Edge arm: the embedded SmolLM2-135M-Instruct (Q4_1, llama.cpp) given the top ``edge_k`` products by MiniLM
cosine (the device's index), with token logprobs. Cloud arm: a model behind an OpenAI-compatible endpoint
(the issue-6 gateway, the issue-3 ``frugal edge serve``, or any provider) given a *larger* context: the
top ``cloud_k`` records of a hybrid BM25 + vector search over the full catalog. Offline here, the only
instruct model is the same SmolLM2, so the cloud arm's advantage is its context, not its size; that is
stated wherever results are shown. Rows are appended to a JSONL cache so a long run can resume.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from frugalstack.edge.router.cloud import CloudClient
from frugalstack.edge.router.dataset import EvalQuery, Record
from frugalstack.edge.router.scoring import fact_score
from frugalstack.edge.router.signals import compute
from frugalstack.edge.router.types import Draft

SYSTEM = ("You answer questions about the store's products using only the records given. Answer in one short "
          "sentence and cite the product id you used in square brackets, like [p-00001].")
_PRICE = re.compile(r"[$€£]\s?(\d{1,5}(?:\.\d{2})?)")
RECORD_CHARS = 350  # each record's share of a prompt (the 135M model's prefill is the edge's main cost)


@dataclass
class Pair:
    """One query answered by both arms, with everything a policy or the report needs."""

    id: str
    split: str
    intent: str | None
    edge_text: str
    edge_score: float
    edge_ms: float
    edge_tokens: int
    edge_input_tokens: int
    cloud_text: str
    cloud_score: float
    cloud_ms: float
    cloud_input_tokens: int
    cloud_output_tokens: int
    cloud_ok: bool
    signals: list[float]
    embedding: list[float] = field(repr=False)
    retrieved_edge: list[str] = field(default_factory=list)


class Retriever:
    """MiniLM cosine (unit vectors) plus BM25, fused by reciprocal rank for the hybrid search."""

    def __init__(self, records: list[Record], embedder: Any, cache_dir: Path | None = None):
        from frugalstack.edge.evaluation.tasks import BM25

        self.records = records
        self.embedder = embedder
        texts = [r.text[:RECORD_CHARS] for r in records]
        key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
        path = cache_dir / f"records-{key}.npy" if cache_dir else None
        if path is not None and path.is_file():
            self.vectors = np.load(path)
        else:
            self.vectors = np.asarray(embedder.embed(texts), np.float32)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, self.vectors)
        self.bm25 = BM25([(r.id, r.text) for r in records])
        self.by_id = {r.id: r for r in records}

    def vector(self, qvec: np.ndarray, k: int) -> list[tuple[Record, float]]:
        sims = self.vectors @ qvec
        idx = np.argsort(-sims)[:k]
        return [(self.records[i], float(sims[i])) for i in idx]

    def hybrid(self, query: str, qvec: np.ndarray, k: int, rrf_k: int = 60) -> list[Record]:
        fused: dict[str, float] = {}
        for rank, (rec, _) in enumerate(self.vector(qvec, 50)):
            fused[rec.id] = fused.get(rec.id, 0.0) + 1 / (rrf_k + rank)
        for rank, (rid, _) in enumerate(self.bm25.search(query, 50)):
            fused[rid] = fused.get(rid, 0.0) + 1 / (rrf_k + rank)
        return [self.by_id[i] for i in sorted(fused, key=lambda i: -fused[i])[:k]]


def messages_for(query: str, records: list[Record]) -> list[dict[str, str]]:
    context = "\n".join(r.text[:RECORD_CHARS] for r in records)
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Records:\n{context}\n\nQuestion: {query}"}]


def grounding_failures(answer: str, cited: list[Record]) -> int:
    """Prices stated in the answer that no cited/retrieved record carries (issue 4's check does more)."""
    prices = {round(r.price, 2) for r in cited if r.price is not None}
    return sum(1 for p in _PRICE.findall(answer) if prices and round(float(p), 2) not in prices)


def edge_draft(runtime: Any, query: str, hits: list[tuple[Record, float]], max_tokens: int) -> tuple[Draft, int]:
    """The device's answer with logprobs, citations and the grounding check (what the router sees)."""
    reply = runtime.chat(messages_for(query, [r for r, _ in hits]), max_tokens=max_tokens, temperature=0.0,
                         logprobs=True, top_logprobs=5)
    ids = {r.id for r, _ in hits}
    cited = [i for i in dict.fromkeys(re.findall(r"\[?\b([A-Za-z]+-\d+|[A-Z]{2}\d{4})\b", reply.text)) if i in ids]
    draft = Draft(text=reply.text, logprobs=[lp.logprob for lp in reply.logprobs or []],
                  top_logprobs=[lp.top_logprobs for lp in reply.logprobs or []],
                  retrieval_scores=[s for _, s in hits], citations=cited,
                  grounding_failures=grounding_failures(reply.text, [r for r, _ in hits]),
                  latency_ms=reply.latency_ms, output_tokens=reply.usage.output_tokens)
    return draft, reply.usage.input_tokens


def cached(cache: Path) -> dict[str, Pair]:
    """Pairs already in the cache by id (a pair whose cloud call failed is left out, to be asked again)."""
    done: dict[str, Pair] = {}
    if cache.is_file():
        for line in cache.read_text().splitlines():
            if line.strip():
                p = Pair(**json.loads(line))
                if p.cloud_ok:
                    done[p.id] = p
    return done


def collect(queries: list[EvalQuery], records: list[Record], runtime: Any, cloud: CloudClient, embedder: Any,
            cache: Path, *, edge_k: int = 2, cloud_k: int = 1, max_tokens: int = 48,
            progress: Callable[[int, int], None] | None = None) -> list[Pair]:
    """Answer every query on both arms, appending to (and resuming from) ``cache``."""
    done = cached(cache)
    todo = [q for q in queries if q.id not in done]
    retriever = Retriever(records, embedder, cache.parent) if todo else None
    qvecs = np.asarray(embedder.embed([q.query for q in todo]), np.float32) if todo else np.zeros((0, 384))
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("a") as out, ThreadPoolExecutor(1) as pool:
        for n, (q, qvec) in enumerate(zip(todo, qvecs, strict=True)):
            assert retriever is not None
            hits = retriever.vector(qvec, edge_k)
            # the two arms run in different processes: ask the cloud while the device drafts
            cloud_call = pool.submit(cloud.chat, messages_for(q.query, retriever.hybrid(q.query, qvec, cloud_k)),
                                     max_tokens=max_tokens)
            draft, edge_in = edge_draft(runtime, q.query, hits, max_tokens)
            res = cloud_call.result()
            cloud_ms = res.latency_ms
            pair = Pair(q.id, q.split, q.intent, draft.text, fact_score(draft.text, q), draft.latency_ms,
                        draft.output_tokens, edge_in, res.text, fact_score(res.text, q) if res.ok else 0.0, cloud_ms,
                        res.input_tokens, res.output_tokens, res.ok,
                        [float(v) for v in compute(q.query, draft).vector()], [float(v) for v in qvec],
                        [r.id for r, _ in hits])
            out.write(json.dumps(asdict(pair)) + "\n")
            out.flush()
            done[q.id] = pair
            if progress:
                progress(n + 1, len(todo))
    return [done[q.id] for q in queries if q.id in done]

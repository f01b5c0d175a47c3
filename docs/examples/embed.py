"""Embed the edge runtime in an app: a grounded, guarded, routed answer from a local catalog (see getting-started)."""

import sys
import tempfile
from pathlib import Path

from frugalstack.edge import Runtime
from frugalstack.edge.guard import GuardPipeline
from frugalstack.edge.knowledge.ingest import ingest
from frugalstack.edge.knowledge.store import KnowledgeStore
from frugalstack.edge.sampledata import DOCS_DIR

question = " ".join(sys.argv[1:]) or "How long do I have to return an item?"
with KnowledgeStore(Path(tempfile.mkdtemp()) / "shop.db") as db, Runtime(guard=GuardPipeline()) as rt:
    ingest(db, DOCS_DIR)  # your catalog: a products .jsonl and/or a folder of Markdown policies
    result = rt.ask(question, db=db, max_tokens=48)  # guardrails -> local RAG -> router (offline: stays here)
    print(result.answer)
    print("cited:", result.cited_ids, "| answered by:", result.extras["route"]["answered_by"])

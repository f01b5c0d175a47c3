"""Versioned prompt templates in the knowledge DB, selectable as ``name`` (latest) or ``name@version``.

Templates use ``str.format`` fields; the variables are recorded so a template and the code that fills it
can be checked against each other (and A/B-tested by version from the cloud).
"""

from __future__ import annotations

import hashlib
import json
import string
import time
from dataclasses import dataclass
from typing import Any

from frugalstack.shared.errors import NotFoundError, ValidationError

RAG_ANSWER = "rag-answer"
DEFAULT_PROMPTS: dict[str, tuple[str, str]] = {
    RAG_ANSWER: (
        "You are a helpful shop assistant. Answer the customer's question using only the facts below. "
        "Name the product and its exact price when relevant. If the facts do not answer the question, "
        "say that you do not know.\n\nFacts:\n{context}\n\nQuestion: {question}",
        "grounded answer over retrieved products and policy sections",
    ),
}


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    template: str
    variables: list[str]
    created_at: float
    hash: str
    description: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, **values: Any) -> str:
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise ValidationError(f"prompt {self.ref} needs {missing}")
        return self.template.format(**{k: values[k] for k in self.variables})


def template_variables(template: str) -> list[str]:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    except ValueError as exc:
        raise ValidationError(f"bad prompt template: {exc}") from exc
    return list(dict.fromkeys(fields))


class PromptStore:
    """Prompts live in the ``prompts`` table of the knowledge DB (schema v2)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def ensure_defaults(self) -> None:
        for name, (template, description) in DEFAULT_PROMPTS.items():
            if self.conn.execute("SELECT 1 FROM prompts WHERE name = ?", (name,)).fetchone() is None:
                self.add(name, template, description=description)

    def add(self, name: str, template: str, *, description: str = "") -> Prompt:
        """Store a new version; an unchanged template returns the latest version instead of a copy."""
        if not name or "@" in name:
            raise ValidationError(f"bad prompt name {name!r}")
        variables = template_variables(template)
        digest = hashlib.sha256(template.encode()).hexdigest()
        latest = self._latest(name)
        if latest is not None and latest.hash == digest:
            return latest
        version = 1 if latest is None else latest.version + 1
        self.conn.execute(
            "INSERT INTO prompts (name, version, template, variables, created_at, hash, description)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (name, version, template, json.dumps(variables), time.time(), digest, description),
        )
        return self.get(f"{name}@{version}")

    def _latest(self, name: str) -> Prompt | None:
        row = self.conn.execute(
            "SELECT name, version, template, variables, created_at, hash, description FROM prompts"
            " WHERE name = ? ORDER BY version DESC LIMIT 1",
            (name,),
        ).fetchone()
        return None if row is None else _prompt(row)

    def get(self, ref: str) -> Prompt:
        """``name`` for the newest version, ``name@N`` for a fixed one."""
        name, _, ver = ref.partition("@")
        if ver:
            if not ver.isdigit():
                raise ValidationError(f"bad prompt version in {ref!r}")
            row = self.conn.execute(
                "SELECT name, version, template, variables, created_at, hash, description FROM prompts"
                " WHERE name = ? AND version = ?",
                (name, int(ver)),
            ).fetchone()
            found = None if row is None else _prompt(row)
        else:
            found = self._latest(name)
        if found is None:
            raise NotFoundError(f"no prompt {ref!r} in the knowledge DB")
        return found

    def list(self) -> list[Prompt]:
        rows = self.conn.execute(
            "SELECT name, version, template, variables, created_at, hash, description FROM prompts"
            " ORDER BY name, version"
        ).fetchall()
        return [_prompt(r) for r in rows]


def _prompt(row: Any) -> Prompt:
    return Prompt(row[0], int(row[1]), row[2], json.loads(row[3]), float(row[4]), row[5], row[6])

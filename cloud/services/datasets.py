"""Dataset versions: content is hashed, parsed once for schema and row count, then never changes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frugalstack.cloud.db.base import new_id
from frugalstack.cloud.db.tables_data import Dataset, DatasetVersion
from frugalstack.cloud.services import crud
from frugalstack.cloud.services.blobs import BlobStore
from frugalstack.shared.errors import ConflictError, MissingDependencyError, ValidationError

FORMATS = ("jsonl", "csv", "parquet")


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "unknown")


def _merge(schema: dict[str, str], key: str, kind: str) -> None:
    old = schema.get(key)
    if old is None or old == "null":
        schema[key] = kind
    elif kind not in (old, "null"):
        schema[key] = "number" if {old, kind} == {"integer", "number"} else "mixed"


def _scalar_kind(text: str) -> str:
    if text == "":
        return "null"
    for cast, kind in ((int, "integer"), (float, "number")):
        try:
            cast(text)
            return kind
        except ValueError:
            pass
    return "string"


def profile_file(path: Path, fmt: str) -> tuple[int, dict[str, str]]:
    """(row count, column -> type) of an uploaded file; malformed content raises ValidationError."""
    schema: dict[str, str] = {}
    rows = 0
    if fmt == "jsonl":
        with path.open("rb") as fb:
            for n, raw in enumerate(fb, 1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise ValidationError(f"line {n} is not valid JSON: {exc}") from None
                if not isinstance(obj, dict):
                    raise ValidationError(f"line {n} is not a JSON object")
                rows += 1
                for k, v in obj.items():
                    _merge(schema, k, _type(v))
        return rows, schema
    if fmt == "csv":
        try:
            with path.open(encoding="utf-8", newline="") as f:
                reader = csv.reader(f)
                header = next(reader, None)
                if not header or any(not h for h in header) or len(set(header)) != len(header):
                    raise ValidationError("CSV needs a header row with unique, non-empty column names")
                for n, row in enumerate(reader, 2):
                    if len(row) != len(header):
                        raise ValidationError(f"CSV row {n} has {len(row)} fields; the header has {len(header)}")
                    rows += 1
                    for k, v in zip(header, row, strict=True):
                        _merge(schema, k, _scalar_kind(v))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ValidationError(f"not a readable UTF-8 CSV file: {exc}") from None
        for h in header:
            schema.setdefault(h, "null")
        return rows, schema
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise MissingDependencyError("pyarrow", "cloud", purpose="Parquet datasets",
                                         hint="pip install pyarrow, or upload JSONL/CSV") from None
        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise ValidationError(f"not a readable Parquet file: {exc}") from None
        return table.num_rows, {f.name: str(f.type) for f in table.schema}
    raise ValidationError(f"unknown format {fmt!r}; use one of {list(FORMATS)}")


def add_version(session: Session, actor: Any, blobs: BlobStore, dataset_id: str, tmp: Path, sha256: str,
                size: int, fmt: str) -> DatasetVersion:
    crud.get_or_404(session, Dataset, dataset_id, "dataset")
    try:
        if size == 0:
            raise ValidationError("the upload is empty")
        rows, schema = profile_file(tmp, fmt)
        same = session.scalars(select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id,
                                                            DatasetVersion.content_hash == sha256)).first()
        if same is not None:
            raise ConflictError(f"identical content is already version {same.version} of this dataset",
                                details={"version_id": same.id})
    except Exception:
        tmp.unlink(missing_ok=True)
        raise
    stored = blobs.keep(tmp, sha256, "." + fmt)
    last = session.scalar(select(func.max(DatasetVersion.version)).where(DatasetVersion.dataset_id == dataset_id))
    dv = DatasetVersion(id=new_id(), dataset_id=dataset_id, version=(last or 0) + 1, format=fmt,
                        content_hash=sha256, size_bytes=size, row_count=rows, schema_=schema,
                        storage_path=str(stored), created_by=actor.key_id)
    return crud.create(session, actor, dv, "dataset_version", {"sha256": sha256, "rows": rows})


def csv_text(rows: list[dict[str, Any]]) -> str:  # used by tests and the demo to build uploads
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()

"""Hostile input for every parser: random and mutated bytes never crash them with anything but our typed errors.

Allowed outcomes per parser: a value, a ``FrugalError`` subclass, or (for the pure pydantic wire models, which
the cloud maps to 422) a ``pydantic.ValidationError``. A deadline per example catches hangs (alias bombs,
deep nesting, huge counts in a header).
"""

from __future__ import annotations

import base64
import contextlib
import json
import struct
import tempfile
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frugalstack.shared.errors import FrugalError

FAST = settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
pytestmark = pytest.mark.timeout(120)

json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=12), kids, max_size=5),
    max_leaves=25,
)
deep_nesting = st.integers(50, 5000).map(lambda n: "[" * n + "]" * n)


def _product(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "p1",
        "title": "Trail shoe",
        "description": "Light.",
        "category": "shoes",
        "price": 59.9,
        "currency": "EUR",
        "attributes": {"size": 42},
        "in_stock": True,
    }
    base.update(over)
    return base


product_lines = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda k, v: json.dumps(_product(**{k: v})).encode(),
        st.sampled_from(["id", "title", "price", "in_stock", "attributes", "_deleted", "brand"]),
        json_values,
    ),
    deep_nesting.map(str.encode),
)


def test_product_jsonl_ingest_never_crashes(tmp_path: Path) -> None:
    from frugalstack.edge.knowledge.ingest import ingest
    from frugalstack.edge.knowledge.store import KnowledgeStore

    with KnowledgeStore(tmp_path / "k.db") as store:
        (tmp_path / "warm.jsonl").write_text(json.dumps(_product()))
        assert ingest(store, tmp_path / "warm.jsonl").added == 1  # loads the embedder once, outside the examples

        @FAST
        @given(lines=st.lists(product_lines, min_size=1, max_size=6))
        def check(lines: list[bytes]) -> None:
            with tempfile.TemporaryDirectory() as d:
                src = Path(d) / "products.jsonl"
                src.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in lines))
                try:
                    report = ingest(store, src)
                except FrugalError:
                    return
                assert len(report.errors) <= len(lines)

        check()


yaml_texts = st.one_of(
    st.text(max_size=300),
    json_values.map(lambda v: yaml.safe_dump(v)),
    deep_nesting,
    st.integers(5, 40).map(
        lambda n: (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(  # the billion-laughs shape
                f"a{i}: &a{i} [*{'a' if i == 0 else f'a{i - 1}'}, *{'a' if i == 0 else f'a{i - 1}'}, "
                f"*{'a' if i == 0 else f'a{i - 1}'}, *{'a' if i == 0 else f'a{i - 1}'}]\n"
                for i in range(n)
            )
        )
    ),
)


def _policy_yaml(v: Any) -> str:
    doc = {"rules": v} if not isinstance(v, dict) else v
    return yaml.safe_dump(doc)


@FAST
@given(
    text=yaml_texts
    | json_values.map(_policy_yaml)
    | st.builds(lambda rules: yaml.safe_dump({"extends": "default", "rules": rules}), json_values)
)
def test_policy_yaml_never_crashes(text: str) -> None:
    from frugalstack.edge.guard.policy import parse_policy

    with contextlib.suppress(FrugalError):
        parse_policy(text)


@FAST
@given(
    text=yaml_texts,
    mutate=st.sampled_from(["cpu", "runtime", "memory_gb", "accelerators", "id", None]),
    value=json_values,
)
def test_device_profile_yaml_never_crashes(text: str, mutate: str | None, value: Any) -> None:
    from frugalstack.edge.profiles import load_profile_file, shipped_profiles

    if mutate is not None:  # a valid shipped profile with one field replaced by junk
        data = next(iter(shipped_profiles().values())).model_dump(mode="json")
        data[mutate] = value
        text = yaml.safe_dump(data)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "p.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        with contextlib.suppress(FrugalError):
            load_profile_file(path)


def _signing_key() -> tuple[Any, str]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.generate()
    return key, base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _signed(key: Any, manifest: dict[str, Any]) -> dict[str, Any]:
    from frugalstack.shared.manifest import canonical_json

    return {
        "manifest": manifest,
        "signature": base64.b64encode(key.sign(canonical_json(manifest))).decode(),
        "key_id": "k",
        "algorithm": "ed25519",
    }


MANIFEST = {"device_id": "dev1", "profile": "laptop-x86", "issued_at": 1000.0, "expires_at": 4e9}


@FAST
@given(junk=json_values, field=st.sampled_from(["manifest", "signature", "algorithm", "key_id", None]))
def test_manifest_verification_refuses_junk_with_typed_error(junk: Any, field: str | None) -> None:
    from frugalstack.edge.ota.verify import VerificationError, verify_manifest

    key, pub = _signing_key()
    data: Any = _signed(key, dict(MANIFEST))
    if field is None:
        data = junk
    else:
        data[field] = junk
    try:
        verify_manifest(data, pub, device_id="dev1", now=2000.0)
    except VerificationError:
        return
    if field == "key_id" and isinstance(junk, str):
        return  # key_id is only a hint: the pinned public key decides, and the signature still verified
    raise AssertionError(f"accepted a manifest with {field} replaced by {junk!r}")


@FAST
@given(field=st.sampled_from(sorted(MANIFEST)), value=json_scalars)
def test_forged_and_replayed_manifests_are_refused(field: str, value: Any) -> None:
    """Edited after signing, signed by another key, or older than the applied one: always refused."""
    from frugalstack.edge.ota.verify import VerificationError, verify_manifest

    key, pub = _signing_key()
    mallory, _ = _signing_key()
    good = _signed(key, dict(MANIFEST))
    assert verify_manifest(good, pub, device_id="dev1", now=2000.0).issued_at == 1000.0
    edited = json.loads(json.dumps(good))
    edited["manifest"][field] = value
    if edited["manifest"] != good["manifest"]:
        with pytest.raises(VerificationError):
            verify_manifest(edited, pub, device_id="dev1", now=2000.0)
    with pytest.raises(VerificationError, match="signature"):
        verify_manifest(_signed(mallory, {**MANIFEST, field: MANIFEST[field]}), pub, now=2000.0)
    with pytest.raises(VerificationError, match="replay"):
        verify_manifest(good, pub, now=2000.0, not_before=1000.5)


@FAST
@given(
    doc=json_values
    | st.builds(
        lambda agg: {"batch_id": "batch-0001", "aggregates": [agg]},
        st.dictionaries(
            st.sampled_from(
                [
                    "day",
                    "gen_ai.request.model",
                    "requests",
                    "errors",
                    "frugal.route.decision",
                    "gen_ai.client.operation.duration",
                    "energy_wh",
                    "x",
                ]
            ),
            json_values,
        ),
    )
)
def test_telemetry_batch_parser_only_raises_validation_errors(doc: Any) -> None:
    from frugalstack.shared.telemetry import TelemetryBatch

    try:
        batch = TelemetryBatch.model_validate_json(json.dumps(doc))
    except pydantic.ValidationError:
        return
    except ValueError as exc:  # json.dumps of NaN-free junk cannot fail; anything else is a bug
        raise AssertionError(exc) from exc
    for agg in batch.aggregates:
        assert agg.errors <= agg.requests


def _gguf(n_tensors: int, kvs: list[tuple[bytes, int, bytes]], tail: bytes) -> bytes:
    out = b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(kvs))
    for key, vtype, payload in kvs:
        out += struct.pack("<Q", len(key)) + key + struct.pack("<I", vtype) + payload
    return out + tail


gguf_bytes = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=200).map(lambda b: b"GGUF" + b),
    st.builds(
        _gguf,
        st.integers(0, 2**64 - 1),
        st.lists(st.tuples(st.binary(max_size=20), st.integers(0, 2**32 - 1), st.binary(max_size=30)), max_size=4),
        st.binary(max_size=100),
    ),
    st.builds(
        lambda n, t: _gguf(1, [(b"a", 9, struct.pack("<IQ", t, n))], b""),  # a huge array header
        st.integers(0, 2**64 - 1),
        st.integers(0, 12),
    ),
)


@FAST
@given(data=gguf_bytes)
def test_gguf_header_check_never_crashes(data: bytes) -> None:
    from frugalstack.edge.gguf import read_gguf

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.gguf"
        path.write_bytes(data)
        with contextlib.suppress(FrugalError):
            read_gguf(path)

"""``frugal features``: register feature views, materialize a device slice, look features up on the device."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from frugalstack.edge.cli.output import console, print_json
from frugalstack.shared.errors import (
    AuthenticationError,
    ConfigError,
    NotFoundError,
    UpstreamError,
    ValidationError,
)

app = typer.Typer(help="Feature store: definitions, materialization to devices, online lookups.", no_args_is_help=True)

CloudUrl = Annotated[str, typer.Option("--cloud", envvar="FRUGAL_CLOUD_URL", help="Cloud base URL.")]
ApiKey = Annotated[str, typer.Option("--api-key", envvar="FRUGAL_CLOUD_API_KEY", help="Writer API key.")]


def _post(cloud: str, key: str, path: str, body: Any) -> Any:
    try:
        r = httpx.post(f"{cloud.rstrip('/')}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=120)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"cloud unreachable: {exc}") from exc
    if r.status_code in (401, 403):
        raise AuthenticationError(f"the cloud refused this key ({r.status_code})")
    if r.status_code >= 400:
        try:
            message = str(r.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = r.text[:300]
        if r.status_code == 404:
            raise NotFoundError(message)
        if r.status_code in (400, 409, 422):
            raise ValidationError(message)
        raise UpstreamError(f"{path} failed with HTTP {r.status_code}: {message}")
    return r.json()


def _load_defs(path: Path | None) -> dict[str, Any]:
    from frugalstack.edge.features.definitions import load_repo

    if path is None:
        return load_repo().model_dump(mode="json")
    try:
        text = path.read_text()
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read feature definitions {path}: {exc}") from exc
    return load_repo(data).model_dump(mode="json")


@app.command("apply")
def apply(
    cloud: CloudUrl,
    api_key: ApiKey,
    file: Annotated[Path | None, typer.Option(help="YAML/JSON with entities and views (default: the standard)")] = None,
    sample_rows: Annotated[int, typer.Option(help="also push product_stats for N sample-catalog products")] = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Register feature views in the cloud (a changed view gets a new version)."""
    views = _post(cloud, api_key, "/v1/features/apply", _load_defs(file))
    out: dict[str, Any] = {"views": [{"name": v["name"], "version": v["version"]} for v in views]}
    if sample_rows > 0:
        from frugalstack.cloud.features.transforms import product_stats, synth_events
        from frugalstack.edge.sampledata import PRODUCTS_FILE
        from frugalstack.edge.sampledata.make import load_products

        now = time.time()
        products = load_products(PRODUCTS_FILE)[:sample_rows]
        rows = product_stats(synth_events(products, start=now - 30 * 86_400), products, [now - 60])
        out["ingested"] = _post(
            cloud, api_key, "/v1/features/views/product_stats/rows", {"rows": rows, "source_ref": "sample-catalog"}
        )["ingested"]
    if as_json:
        print_json(out)
        return
    for v in out["views"]:
        console.print(f"{v['name']} v{v['version']}")
    if "ingested" in out:
        console.print(f"ingested {out['ingested']} product_stats rows")


@app.command("materialize")
def materialize(
    cloud: CloudUrl,
    api_key: ApiKey,
    profile: Annotated[str, typer.Option(help="device profile the slice is for")],
    view: Annotated[list[str], typer.Option("--view", help="feature view (repeat)")],
    category: Annotated[list[str] | None, typer.Option("--category", help="category prefix (repeat)")] = None,
    locale: Annotated[str | None, typer.Option(help="keep only this locale's rows")] = None,
    device_id: Annotated[str | None, typer.Option(help="address one device instead of the whole profile")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Build and sign a snapshot for a device slice; its devices load it at their next OTA check."""
    body = {"views": view, "profile": profile, "categories": category or [], "locale": locale, "device_id": device_id}
    snap = _post(cloud, api_key, "/v1/features/materialize", body)
    if as_json:
        print_json(snap)
    else:
        console.print(
            f"snapshot {snap['id']}: {snap['row_count']} rows, {snap['size_bytes']} bytes, "
            f"sha256 {snap['sha256'][:12]}…"
        )


@app.command("get")
def get(
    db: Annotated[Path, typer.Option(help="the device's feature store (SQLite)")],
    feature: Annotated[list[str], typer.Option("--feature", "-f", help="view:feature (repeat)")],
    entity: Annotated[list[str] | None, typer.Option("--entity", "-e", help="entity=key, e.g. product=p-00001")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Look features up on this device; stale and missing values are listed, never shown as values."""
    from frugalstack.edge.features import OnlineStore

    entities: dict[str, str] = {}
    for e in entity or []:
        name, sep, key = e.partition("=")
        if not sep or not name or not key:
            raise ValidationError(f"--entity {e!r} is not name=key")
        entities[name.strip()] = key.strip()
    if not db.is_file():
        raise ConfigError(f"{db} does not exist", hint="run an OTA update with a features DB first")
    with OnlineStore(db) as store:
        got = store.get_online_features(entities, feature)
    if as_json:
        print_json(got.to_dict())
        return
    for ref, value in got.values.items():
        note = " (stale)" if ref in got.stale else " (missing)" if ref in got.missing else ""
        age = f"  age {got.age_s[ref]:.0f} s" if ref in got.age_s else ""
        console.print(f"{ref} = {value!r}{note}{age}")

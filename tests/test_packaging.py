"""One distribution, one namespace: the wheel holds every module and nothing generic at top level."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE_DIRS = ("edge", "cloud", "shared", "optimizers", "device_profiles")
HEAVY = ("fastapi", "flwr", "onnxruntime", "openvino", "torch")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_listed() -> None:
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    on_disk = {
        "frugalstack." + str(init.parent.relative_to(ROOT)).replace(os.sep, ".")
        for d in CODE_DIRS
        for init in (ROOT / d).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - on_disk == set(), "listed packages without an __init__.py"


def test_top_level_layout() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    if not tracked.strip():
        pytest.skip("not a git checkout")
    top = {line.split("/")[0] for line in tracked.splitlines()}
    allowed = {*CODE_DIRS, "pyproject.toml", "benchmarks", "tests", "docs", "README.md", "Makefile", "LICENSE",
               ".ci", ".gitignore"}
    assert top <= allowed, f"unexpected top-level entries: {sorted(top - allowed)}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from a copy of the working tree (the in-tree build/ holds the editable link tree)."""
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns(".venv", "build", ".git", "__pycache__", "*.egg-info", ".mypy_cache", "tests")
    shutil.copytree(ROOT, src / "frugalstack", ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
         str(src / "frugalstack")],
        check=True, capture_output=True, text=True,
    )
    (whl,) = out.glob("frugalstack-*.whl")
    return whl


def test_wheel_has_one_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"frugalstack"}
    assert any(n.startswith("frugalstack/device_profiles/") and n.endswith(".yaml") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "frugal = frugalstack.edge.cli.main:main" in text
    assert "[frugalstack.backends]" in text


def test_clean_venv_imports_every_module_and_edge_stays_light(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    # Third-party dependencies come from the project venv, appended AFTER the clean site-packages, so only
    # the wheel can provide frugalstack (the project venv's editable finder is not loaded: no .pth files).
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    modules = sorted(
        n[:-3].replace("/", ".").removesuffix(".__init__")
        for n in zipfile.ZipFile(wheel).namelist()
        if n.endswith(".py") and n.startswith("frugalstack/") and "/migrations/" not in n  # alembic scripts
    )
    script = (
        "import importlib, sys\n"
        "import frugalstack.edge, frugalstack.edge.runtime, frugalstack.edge.cli.main\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, f'import frugalstack.edge pulled in {heavy}'\n"
        "assert frugalstack.edge.__file__.startswith(sys.argv[1]), frugalstack.edge.__file__\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print(len(sys.argv), 'ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    proc = subprocess.run([py, "-c", script, str(site)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

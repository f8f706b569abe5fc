"""Ranking of hybrid search: fusion of the two sides' scores, and ties.

Pure functions over scores, so they are tested and benchmarked without a store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["FUSION_WEIGHTS", "TIES", "cosines", "fuse_scores", "fused_tolerance", "tie_groups"]

FUSION_WEIGHTS = {"vector": 0.5, "lexical": 0.5}
"""Hybrid search: weights of the convex combination of the two sides' min-max normalized
scores (see `fuse_scores`). Equal weights, not fitted to any benchmark."""
TIES = {"vector": (0.01, False), "lexical": (0.01, True)}
"""(tolerance, relative) within which two scores of one side count as a tie. Records the query
cannot tell apart (e.g. "X now lives in Oslo" and, earlier, "X now lives in Perth") are then
ranked newest first: in agent memory a later statement usually supersedes an older one. The
hybrid ranking has no constant of its own: its tolerance is these two carried through the
fusion's normalization (see `fused_tolerance`)."""


def cosines(query: Sequence[float], vectors: Any) -> list[float]:
    """Cosine similarity of `query` with each of `vectors` (Chroma's cosine space: 1 - distance)."""
    matrix = np.asarray(vectors, dtype=np.float64).reshape(-1, len(query))
    q = np.asarray(query, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(q)
    return [float(x) for x in np.divide(matrix @ q, norms, out=np.zeros(len(matrix)), where=norms > 0)]


def _min_max(scores: Mapping[str, float], ids: Sequence[str]) -> dict[str, float]:
    """Scores of `ids` rescaled to [0, 1] over `ids`; all 0 when flat. An absent score is 0:
    the lexical side leaves out records that share no query term (bm25 relevance 0)."""
    values = [scores.get(i, 0.0) for i in ids]
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    if high <= low:
        return dict.fromkeys(ids, 0.0)
    return {i: (v - low) / (high - low) for i, v in zip(ids, values, strict=True)}


def fuse_scores(
    vector: Mapping[str, float], lexical: Mapping[str, float], ids: Sequence[str]
) -> list[tuple[str, float]]:
    """Hybrid ranking of the candidates `ids` (best first) from each side's scores.

    A convex combination of min-max normalized scores (Bruch, Gai and Ingber, "An Analysis of
    Fusion Functions for Hybrid Retrieval", ACM TOIS 2023): unlike reciprocal rank fusion it
    keeps how far apart a side's scores are, so a side that cannot tell the candidates apart
    moves nothing, while a clear winner on either side stays near the top."""
    v, lx = _min_max(vector, ids), _min_max(lexical, ids)
    fused = [(i, FUSION_WEIGHTS["vector"] * v[i] + FUSION_WEIGHTS["lexical"] * lx[i]) for i in ids]
    fused.sort(key=lambda e: -e[1])
    return fused


def fused_tolerance(vector: Mapping[str, float], lexical: Mapping[str, float], ids: Sequence[str]) -> float:
    """The tie tolerance of `fuse_scores`' ranking: each side's own tie tolerance (`TIES`, a
    relative one taken at the side's best score) in that side's min-max normalized units,
    weighted as in the fusion. Two fused scores closer than this differ by less than what
    both sides would call a tie, so the query cannot tell the records apart."""
    tolerance = 0.0
    for side, scores in (("vector", vector), ("lexical", lexical)):
        values = [scores.get(i, 0.0) for i in ids]
        if not values or max(values) <= min(values):
            continue  # a flat side adds nothing to the fused scores
        tie, relative = TIES[side]
        absolute = tie * abs(max(values)) if relative else tie
        tolerance += FUSION_WEIGHTS[side] * absolute / (max(values) - min(values))
    return tolerance


def tie_groups(
    ranking: list[tuple[str, float]], tolerance: float, relative: bool
) -> list[list[tuple[str, float]]]:
    """`ranking` (best first) cut into runs of tied scores: a run holds every score within
    `tolerance` (times its first score if `relative`) of the run's first score."""
    groups: list[list[tuple[str, float]]] = []
    lead = 0.0
    for id_, score in ranking:
        if not groups or lead - score > (tolerance * abs(lead) if relative else tolerance):
            groups.append([])
            lead = score
        groups[-1].append((id_, score))
    return groups

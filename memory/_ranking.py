"""Ranking of hybrid search: fusion of the two sides' scores, and ties.

Pure functions over scores, so they are tested and benchmarked without a store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "FUSION_WEIGHTS",
    "REPLIES",
    "REDUNDANCY",
    "TIES",
    "cosines",
    "diversify",
    "fuse_scores",
    "fused_tolerance",
    "lift_replies",
    "tie_groups",
]

FUSION_WEIGHTS = {"vector": 0.5, "lexical": 0.5}
"""Hybrid search: weights of the convex combination of the two sides' min-max normalized
scores (see `fuse_scores`). Equal weights, not fitted to any benchmark."""
REPLIES = 0.4
"""Hybrid search: a record scores at least this share of the fused score of the record written
just before it in the namespace (see `lift_replies`). Chosen on LoCoMo's development half and
the four synthetic sets by the worst case over all of them (BENCHMARKS.md)."""
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


def lift_replies(
    ranking: Sequence[tuple[str, float]], following: Mapping[str, str]
) -> list[tuple[str, float]]:
    """`ranking` (id, fused score; best first) with each record's score raised to at least
    `REPLIES` times the score of the ranked record written just before it (`following`: id ->
    the id written just after it); a record that only follows a ranked one joins the ranking
    with that score. In a conversation the answer often shares no word or topic with the
    question ("Yes, last Saturday!") while the turn it replies to does. A floor, unlike a
    sum, never reorders records that match by themselves. Ties keep `ranking`'s order,
    lifted records after it."""
    lifted = dict(ranking)
    for id_, score in ranking:
        after = following.get(id_)
        if after is not None:
            lifted[after] = max(lifted.get(after, 0.0), REPLIES * score)
    order = {id_: n for n, id_ in enumerate(lifted)}
    return sorted(lifted.items(), key=lambda e: (-e[1], order[e[0]]))


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


REDUNDANCY = 0.3
"""Hybrid search: the weight of redundancy in maximal marginal relevance (`diversify`), 1 -
lambda in Carbonell and Goldstein's notation. Chosen from a sweep (0.1, 0.2, 0.3, 0.5; four
benchmark sets built differently, two HashEmbeddings versions, two store sizes; BENCHMARKS.md)
by the rule that chose the fusion: the smallest worst-case margin below the better single
side. Not fitted to one set: it is one value for all of them."""


def diversify(
    ranking: Sequence[tuple[str, float]],
    tolerance: float,
    embeddings: Mapping[str, Any],
    created: Mapping[str, float],
    picks: int,
) -> list[tuple[str, float]]:
    """The first `picks` of `ranking` (id, relevance in [0, 1], best first) re-ordered by maximal marginal
    relevance (Carbonell and Goldstein, SIGIR 1998): each next record is the one with the best
    `(1 - REDUNDANCY) * relevance - REDUNDANCY * redundancy`, its redundancy being its highest
    cosine (negative counts as 0) with a chosen record at least as new as itself. So a record
    that repeats one above it moves down and makes room for evidence the query matches
    differently (the second half of a two-part answer, a fact among copies of another), and
    an older statement of something said again later moves down, while the later one does
    not: in agent memory it is more likely an update than a repeat. Among records within
    `tolerance` of the best (in relevance units), the newest (`created`) is chosen, as
    `tie_groups` does for one side. Each record keeps its relevance as its score; the ones not
    picked follow in their order.

    LangChain's `maximal_marginal_relevance` takes relevance from the query embedding alone
    and has no notion of time; here relevance is the fused score of both sides."""
    if len(ranking) < 2:
        return list(ranking)
    ids = [i for i, _ in ranking]
    relevance = np.array([s for _, s in ranking])
    matrix = np.asarray([embeddings[i] for i in ids], dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    similar = matrix @ matrix.T
    newness = np.array([created.get(i, 0.0) for i in ids])
    penalty = np.zeros(len(ids))
    left = np.ones(len(ids), dtype=bool)
    band = (1.0 - REDUNDANCY) * tolerance
    order: list[int] = []
    for _ in range(min(picks, len(ids))):
        value = np.where(left, (1.0 - REDUNDANCY) * relevance - REDUNDANCY * penalty, -np.inf)
        tied = np.flatnonzero(value >= value.max() - band)
        pick = int(max(tied, key=lambda j: (newness[j], -j)))
        order.append(pick)
        left[pick] = False
        # only what is at least as old as a chosen record repeats it; a newer record that
        # resembles it is more likely its update ("X now lives in Oslo" after "... Perth")
        penalty = np.maximum(penalty, np.where(newness <= newness[pick], similar[pick], 0.0))
    return [ranking[j] for j in order] + [ranking[int(j)] for j in np.flatnonzero(left)]

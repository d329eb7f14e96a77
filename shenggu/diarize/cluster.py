"""Clustering of speaker embeddings: average-linkage agglomerative clustering on cosine similarity.

The number of speakers, unless the caller fixes it, is found while merging (:class:`CountRule`): two clusters
stay apart when they are less alike than ``threshold``, or, less far apart, when they take turns — their
windows alternate in time, as two people in a conversation do, where one speaker's drift (a new room, a
raised voice) splits a recording into one early and one late part. A cluster with fewer than ``min_windows``
windows is not a speaker: its windows join the most similar cluster. Long recordings have thousands of windows:
they are first reduced to at most ``MAX_POINTS`` k-means centroids (each weighted by its size), then clustered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_POINTS = 300


@dataclass(frozen=True)
class CountRule:
    """When two clusters are two speakers (constants chosen by cross-validation, see the README)."""

    # Average-linkage cosine similarity below which two clusters stay apart in any case.
    threshold: float = 0.54
    # Below this they stay apart when they alternate in at least ``min_turns`` runs (None: never).
    turn_threshold: float | None = 0.66
    min_turns: int = 3
    # Runs of fewer windows are not turns (a stray window is noise, not a reply).
    min_run: int = 3
    # A cluster with fewer windows is absorbed, never a speaker of its own.
    min_windows: int = 1


def cluster_embeddings(
    embeddings: np.ndarray,
    rule: CountRule | float,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
) -> np.ndarray:
    """A cluster label (0, 1, …) for each row of unit-length ``embeddings`` (rows in time order).

    With ``num_speakers`` merging stops at exactly that many clusters (or fewer rows); otherwise ``rule`` (or a
    plain similarity threshold) says when to stop, but never above ``max_speakers`` or below ``min_speakers``
    clusters."""
    rule = rule if isinstance(rule, CountRule) else CountRule(rule, turn_threshold=None)
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, np.int64)
    points, weights, assignment = _reduce(embeddings.astype(np.float32))
    if num_speakers is not None:
        low = high = max(1, min(num_speakers, len(points)))
    else:
        low, high = max(1, min_speakers), max(1, max_speakers)
    labels = _agglomerate(points, weights, assignment, rule, low, high)[assignment]
    if num_speakers is None:
        labels = _absorb_small(embeddings, labels, rule.min_windows, low)
    return _relabel(labels)


def _reduce(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points, weights, row → point): the rows themselves, or k-means centroids when there are many."""
    n = len(embeddings)
    if n <= MAX_POINTS:
        return embeddings, np.ones(n, np.float32), np.arange(n)
    rng = np.random.default_rng(0)
    # k-means++ seeding, then a few Lloyd iterations on cosine similarity (unit vectors: max dot = nearest).
    centers = [embeddings[rng.integers(n)]]
    best = embeddings @ centers[0]
    for _ in range(MAX_POINTS - 1):
        distance = np.maximum(1.0 - best, 0.0)
        total = distance.sum()
        pick = rng.choice(n, p=distance / total) if total > 0 else rng.integers(n)
        centers.append(embeddings[pick])
        best = np.maximum(best, embeddings @ embeddings[pick])
    centroids = np.stack(centers)
    for _ in range(10):
        assignment = np.argmax(embeddings @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assignment, embeddings)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centroids = np.where(norms > 0, sums / np.maximum(norms, 1e-9), centroids)
    assignment = np.argmax(embeddings @ centroids.T, axis=1)
    used = np.unique(assignment)
    remap = np.full(len(centroids), -1)
    remap[used] = np.arange(len(used))
    weights = np.bincount(assignment, minlength=len(centroids))[used].astype(np.float32)
    return centroids[used], weights, remap[assignment]


def _agglomerate(
    points: np.ndarray, weights: np.ndarray, assignment: np.ndarray, rule: CountRule, low: int, high: int
) -> np.ndarray:
    """Average linkage: the similarity of two clusters is the weighted mean similarity of their members."""
    n = len(points)
    similarity = (points @ points.T).astype(np.float64)
    # Sums of member-pair similarities between clusters, and cluster sizes: mean = sum / (size_a * size_b).
    pair_sums = similarity * np.outer(weights, weights)
    sizes = weights.astype(np.float64).copy()
    alive = np.ones(n, bool)
    labels = np.arange(n)
    clusters = n
    while clusters > low:
        means = pair_sums / np.outer(sizes, sizes)
        means[~alive, :] = -np.inf
        means[:, ~alive] = -np.inf
        np.fill_diagonal(means, -np.inf)
        a, b = np.unravel_index(int(np.argmax(means)), means.shape)
        if clusters <= high and _apart(float(means[a, b]), labels[assignment], a, b, min(sizes[a], sizes[b]), rule):
            break
        pair_sums[a, :] += pair_sums[b, :]
        pair_sums[:, a] += pair_sums[:, b]
        sizes[a] += sizes[b]
        alive[b] = False
        labels[labels == b] = a
        clusters -= 1
    return labels


def _apart(similarity: float, row_labels: np.ndarray, a: int, b: int, smaller: float, rule: CountRule) -> bool:
    """Whether clusters ``a`` and ``b`` (``row_labels``: the cluster of each row) are two speakers."""
    if smaller < rule.min_windows:
        return False
    if similarity < rule.threshold:
        return True
    if rule.turn_threshold is None or similarity >= rule.turn_threshold:
        return False
    return _turns(row_labels[(row_labels == a) | (row_labels == b)], rule.min_run) >= rule.min_turns


def _turns(sequence: np.ndarray, min_run: int) -> int:
    """Number of turns in a time-ordered sequence of two labels: runs of at least ``min_run`` rows, a shorter run
    being ignored (the runs either side of it join when they have the same label)."""
    edges = np.flatnonzero(np.diff(sequence)) + 1
    starts = np.concatenate([[0], edges])
    lengths = np.diff(np.concatenate([starts, [len(sequence)]]))
    kept = sequence[starts[lengths >= min_run]]
    return int(np.count_nonzero(np.diff(kept)) + 1) if len(kept) else 0


def _absorb_small(embeddings: np.ndarray, labels: np.ndarray, min_windows: int, low: int) -> np.ndarray:
    """Rows of clusters with fewer than ``min_windows`` rows moved to the most similar larger cluster (its
    centroid), unless fewer than ``low`` clusters would be left."""
    counts = np.bincount(labels)
    large = np.flatnonzero(counts >= min_windows)
    if len(large) == np.count_nonzero(counts) or len(large) < max(low, 1):
        return labels
    centroids = np.stack([embeddings[labels == k].mean(axis=0) for k in large])
    small = ~np.isin(labels, large)
    labels = labels.copy()
    labels[small] = large[np.argmax(embeddings[small] @ centroids.T, axis=1)]
    return labels


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0, 1, … in order of first appearance."""
    order = {}
    for label in labels.tolist():
        order.setdefault(label, len(order))
    return np.array([order[label] for label in labels.tolist()], np.int64)

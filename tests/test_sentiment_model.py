"""shenggu's sentiment model (lexicon + embedding logistic regression): lexicon features with negation, degree and
contrast, the fitting and the constant choice on synthetic data, the shipped weights on clear sentences, and the
public ``sentiment()`` with either engine."""

from __future__ import annotations

import numpy as np
import pytest

from shenggu.errors import InvalidOptionError
from shenggu.nlp import sentiment_model
from shenggu.nlp.sentiment import ENGINES, sentiment
from shenggu.nlp.sentiment_lexicon import lexicon_features
from shenggu.nlp.sentiment_model import (
    SentimentModel,
    choose_constants,
    fit_logistic,
    line_domains,
    probabilities,
    sentences_of,
    shipped_model,
)

PRAISE = "服务很热情，问题很快就解决了，非常满意。"
COMPLAINT = "等了一个小时也没人处理，态度很差，太失望了。"

BALANCE, TAIL, LAST = 2, 3, 4  # lexicon feature columns (see shenggu.nlp.sentiment_lexicon)


def test_negation_flips_and_double_negation_restores():
    assert lexicon_features("这个质量很好。")[BALANCE] > 0
    assert lexicon_features("这个质量不好。")[BALANCE] < 0
    assert lexicon_features("一点也不满意。")[BALANCE] < 0 < lexicon_features("非常满意。")[BALANCE]
    assert lexicon_features("这个质量不是不好。")[BALANCE] > 0


def test_degree_words_strengthen_and_contrast_moves_weight_to_the_tail():
    assert lexicon_features("非常好")[0] > lexicon_features("好")[0] > 0
    mixed = lexicon_features("房间很干净，但是服务太差了。")
    assert mixed[TAIL] < 0 and mixed[LAST] < 0  # after 但是: the complaint
    assert lexicon_features("房间很干净，价格也便宜。")[TAIL] == 0.0  # no contrast marker, no tail
    assert not lexicon_features("。。。").any()


def test_fit_logistic_learns_a_separable_rule_and_penalties_shrink_it():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] - x[:, 1] > 0).astype(float)
    w, _ = fit_logistic(x, y, np.full(3, 1.0))
    assert w[0] > 1 and w[1] < -1 and abs(w[2]) < 0.5 * min(w[0], -w[1])
    strong, _ = fit_logistic(x, y, np.full(3, 1000.0))
    assert np.abs(strong).sum() < np.abs(w).sum()


def test_constants_are_chosen_on_held_out_domains():
    rng = np.random.default_rng(1)
    n = 300
    embedding = rng.normal(size=(n, 40))  # noise that only a weak penalty would fit
    lexical = rng.normal(size=(n, 5))
    y = (lexical[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(float)
    domains = ["book"] * (n // 2) + ["laptop"] * (n - n // 2)
    (embedding_l2, lexicon_l2), table = choose_constants(np.hstack([embedding, lexical]), y, domains)
    assert table[f"embedding_l2={embedding_l2:g} lexicon_l2={lexicon_l2:g}"] == max(table.values())
    assert embedding_l2 >= 100  # the noise block is shrunk hard: it does not transfer
    assert max(table.values()) > 0.9 > table["embedding_l2=10 lexicon_l2=10"]  # weak noise penalty: worse
    assert len(table) == len(sentiment_model.EMBEDDING_L2) * len(sentiment_model.LEXICON_L2)


def test_domain_blocks_are_read_from_keywords_around_each_line():
    lines = ["这本书的作者写得好"] * 150 + ["这家酒店的房间很大"] * 150 + ["还行"] + ["笔记本电脑的屏幕不错"] * 150
    domains = line_domains(lines)
    assert (
        domains[:140] == ["book"] * 140 and domains[160:290] == ["hotel"] * 130 and domains[-140:] == ["laptop"] * 140
    )


def test_model_round_trips_through_json():
    model = SentimentModel(np.arange(517) / 1000, -0.25, np.zeros(5), np.ones(5), {"note": "x"})
    again = SentimentModel.from_json(model.to_json())
    assert np.allclose(again.weights, model.weights) and again.bias == -0.25 and again.meta == {"note": "x"}


def test_sentences_split_after_full_stops():
    assert sentences_of("很好。但是贵！还行") == ["很好。", "但是贵！", "还行"]
    assert sentences_of("没有标点") == ["没有标点"]


@pytest.mark.slow
def test_shipped_model_separates_clear_sentences_and_knows_negation():
    meta = shipped_model().meta
    assert "hotel" not in meta["n_train"]  # never trained on the evaluation domain
    texts = [PRAISE, COMPLAINT, "质量很好。", "质量不好。", "我很满意。", "我不满意。"]
    praise, complaint, good, not_good, satisfied, not_satisfied = probabilities(texts)
    assert praise > 0.6 and complaint < 0.4
    assert good > 0.5 > not_good and satisfied > 0.5 > not_satisfied


@pytest.mark.slow
def test_public_sentiment_keeps_its_shape_with_either_engine():
    assert set(ENGINES) == {"snownlp", "lexicon-embedding"}
    ours = sentiment(PRAISE + COMPLAINT, engine="lexicon-embedding").to_dict()
    assert set(ours) == {"score", "label", "model", "sentences"}
    assert "logistic regression" in ours["model"]
    assert [s["label"] for s in ours["sentences"]] == ["positive", "negative"]
    with pytest.raises(InvalidOptionError, match="engine"):
        sentiment(PRAISE, engine="bert")
    with pytest.raises(InvalidOptionError, match="Chinese"):
        sentiment("Great service!", engine="lexicon-embedding")

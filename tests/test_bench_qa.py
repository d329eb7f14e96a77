"""Per-call satisfaction/accomplishment estimates and ``shenggu bench qa`` on small hand-made files.

The cue logic is tested with a stub sentiment scorer (no model); the ranking of a thankful resolved call above an
angry unresolved one, and the benchmark end to end (3 dialogues, 6 sentiment rows, one bad line of each), use the
shipped sentiment model and SnowNLP.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from shenggu.bench.qa import QaBenchConfig, run_qa_bench
from shenggu.cli.main import app as cli_app
from shenggu.nlp.satisfaction import (
    ACCOMPLISHMENT,
    DECAY_GRID,
    SATISFACTION,
    OutcomeWeights,
    Turn,
    all_weights,
    call_cues,
    choose_weights,
    estimate_call,
    rank_correlation,
)

THANKFUL = [
    Turn("customer", "我的宽带从昨天开始就连不上网了，麻烦帮忙看一下。"),
    Turn("agent", "您好，已为您重置了端口，请重启路由器后再试。"),
    Turn("customer", "好了，可以上网了，问题解决了，非常感谢！"),
]
ANGRY = [
    Turn("customer", "我要投诉！你们的宽带三天两头断网，打了十几次客服电话都没人管！"),
    Turn("agent", "非常抱歉给您带来不便，请私信提供您的号码，我们核实后联系您。"),
    Turn("customer", "上周就私信过了，到现在还是不能用，你们到底什么时候解决？太失望了！"),
]


def neutral_scorer(texts):
    """Every text 0.5: the cues alone decide."""
    return np.full(len(texts), 0.5)


def test_cues_of_a_resolved_and_an_unresolved_call():
    good, bad = call_cues(THANKFUL, neutral_scorer), call_cues(ANGRY, neutral_scorer)
    assert (good.closing, good.unresolved, good.deferral) == (1.0, 0.0, 0.0)
    assert (bad.closing, bad.unresolved, bad.deferral) == (0.0, 1.0, 1.0)
    assert bad.complaints[DECAY_GRID.index(1.0)] == 1.0 and good.complaints == (0.0,) * len(DECAY_GRID)
    assert good.moods == (0.0,) * len(DECAY_GRID)  # neutral scorer: mood 0


def test_the_end_of_the_call_weighs_most():
    turns = [Turn("customer", "太差了"), Turn("agent", "抱歉"), Turn("customer", "好的")]
    scores = iter([0.0, 1.0])  # the first customer turn negative, the last positive
    cues = call_cues(turns, lambda texts: np.asarray([next(scores) for _ in texts]))
    last_only, halved, uniform = (cues.moods[DECAY_GRID.index(d)] for d in (0.0, 0.5, 1.0))
    assert last_only == 1.0 and uniform == 0.0 and 0 < halved < 1


def test_speakers_are_checked_and_calls_without_customer_are_neutral():
    with pytest.raises(ValueError, match="speaker"):
        call_cues([Turn("robot", "你好")], neutral_scorer)
    only_agent = estimate_call([Turn("agent", "您好，请问有什么可以帮您？")], neutral_scorer)
    assert only_agent.cues.customer_turns == 0 and only_agent.satisfaction == 0.0


def test_rank_correlation_with_ties():
    assert rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert rank_correlation([1, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486833)  # scipy.stats.spearmanr
    assert rank_correlation([1, 1, 1], [1, 2, 3]) == 0.0


def test_choose_weights_finds_the_cue_that_tracks_the_target():
    calls = [THANKFUL, ANGRY] * 3
    cues = [call_cues(turns, neutral_scorer) for turns in calls]
    weights, rho = choose_weights(cues, [1.0, -1.0] * 3)
    assert rho == pytest.approx(1.0)
    assert weights == next(w for w in all_weights() if w.closing or w.complaint or w.unresolved or w.deferral)
    assert SATISFACTION in all_weights() and ACCOMPLISHMENT in all_weights()  # shipped constants are grid points
    assert OutcomeWeights(0.5, 0, 0, 0, 0).score(cues[0]) == 0.0


@pytest.mark.slow
def test_a_thankful_resolved_call_ranks_above_an_angry_unresolved_one():
    good, bad = estimate_call(THANKFUL), estimate_call(ANGRY)
    assert good.satisfaction > 0 > bad.satisfaction
    assert good.accomplishment > bad.accomplishment
    assert set(good.to_dict()) == {"satisfaction", "accomplishment", "cues"}


def _dialogue(i: int, turns: list[Turn], satisfaction: float, accomplishment: float) -> str:
    return json.dumps(
        {
            "id": f"call-{i}",
            "source": "test",
            "turns": [{"speaker": t.speaker, "text": t.text} for t in turns],
            "labels": {"quality_mean": {"S": satisfaction, "A": accomplishment}},
        },
        ensure_ascii=False,
    )


MIXED = [
    Turn("customer", "请问怎么修改套餐？"),
    Turn("agent", "您可以登录网上营业厅修改。"),
    Turn("customer", "好的，我试试。"),
]
SENTIMENT_ROWS = [
    ("r1", "房间干净，服务热情，下次还住这里。", 1),
    ("r2", "前台态度恶劣，房间又脏又吵，非常失望。", 0),
    ("r3", "位置很好，早餐丰富，总体满意。", 1),
    ("r4", "空调坏了也没人修，再也不来了。", 0),
    ("r5", "性价比高，推荐给朋友们。", 1),
    ("r6", "隔音太差，一晚上没睡好。", 0),
]


@pytest.mark.slow
def test_bench_writes_summary_report_and_survives_bad_rows(tmp_path):
    dialogues = tmp_path / "dialogues.jsonl"
    lines = [
        _dialogue(1, THANKFUL, 1.2, 1.0),
        "{not json",
        _dialogue(2, ANGRY, -1.1, -0.8),
        _dialogue(3, MIXED, 0.3, 0.5),
    ]
    dialogues.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sentiment = tmp_path / "pairs.tsv"
    rows = ["id\ttext\tlabel", *(f"{i}\t{t}\t{label}" for i, t, label in SENTIMENT_ROWS), "bad\tEnglish only\t1"]
    sentiment.write_text("\n".join(rows) + "\n", encoding="utf-8")

    out = tmp_path / "out"
    summary = run_qa_bench(QaBenchConfig(dialogues, sentiment, out))

    assert summary["n_dialogues"] == 3 and summary["n_dialogues_labelled"] == 3
    assert summary["n_sentiment"] == 6 and summary["n_errors"] == 2  # the broken JSON line and the English row
    for key in ("satisfaction_spearman", "accomplishment_spearman", "cv_satisfaction_spearman"):
        assert -1.0 <= summary[key] <= 1.0 and len(summary[f"{key}_ci"]) == 2
    assert summary["satisfaction_spearman"] > 0  # thankful > mixed > angry, as the labels say
    assert 0.0 <= summary["sentiment_accuracy"] <= 1.0 and 0.0 <= summary["baseline_sentiment_accuracy"] <= 1.0
    low, high = summary["sentiment_gain_ci"]
    assert low <= summary["sentiment_gain"] <= high
    assert summary["peak_rss_mb"] > 0 and isinstance(summary["satisfaction_shipped_is_chosen"], bool)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["summary"] == json.loads(json.dumps(summary))
    assert [e["kind"] for e in results["errors"]] == ["dialogue", "sentiment"]
    assert sum(1 for item in results["utterances"] if item["kind"] == "call") == 3
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "satisfaction_spearman" in page and page.count("<img") >= 3  # two scatter plots and the accuracy bars


def test_cli_needs_an_input_and_a_positive_limit(tmp_path):
    runner = CliRunner()
    nothing = runner.invoke(cli_app, ["bench", "qa", "--out", str(tmp_path)])
    assert nothing.exit_code == 2 and "--dialogues" in nothing.output
    bad_limit = runner.invoke(cli_app, ["bench", "qa", "--out", str(tmp_path), "--sentiment", "x.tsv", "--limit", "0"])
    assert bad_limit.exit_code == 2 and "--limit" in bad_limit.output


_RULES = """
name: 测试
version: "1"
rules:
  - {id: greeting, name: 问候, kind: required_phrase, weight: 1, who: agent, within: {first: 15},
     meaning_threshold: null, phrases: [您好]}
  - {id: sorry, name: 致歉, kind: required_phrase, weight: 1, who: agent, meaning_threshold: null, phrases: [抱歉]}
  - {id: tags, name: 标签, kind: tag_keywords, who: customer, tags: {投诉: [投诉]}}
"""
# The truths a reader would write for THANKFUL (call-1), ANGRY (call-2) and MIXED (call-3), one of them on purpose
# against what the rules can see (call-3's greeting: 您可以 is no greeting, but the label says ok), one n/a.
_LABELS = [
    ("call-1", "greeting", "ok"),  # 您好 in the agent's first turn
    ("call-1", "sorry", "fires"),
    ("call-1", "tag:投诉", "ok"),
    ("call-2", "greeting", "fires"),
    ("call-2", "sorry", "ok"),
    ("call-2", "tag:投诉", "fires"),
    ("call-3", "greeting", "ok"),  # the engine fires here: a false positive
    ("call-3", "sorry", "n/a"),
    ("call-3", "tag:投诉", "ok"),
]


class _SummaryModel:
    """The chat queue's stand-in: a summary with one sentence the dialogue supports and one invented amount."""

    slots = 1

    def chat(self, tenant, messages, options):
        from shenggu.llm.types import ChatResult

        text = json.dumps({"summary": "客户反映宽带问题。坐席赔偿客户500元。"}, ensure_ascii=False)
        return ChatResult(text, 10, 10, "stop", 0.1)


def test_bench_scores_rules_against_labels_and_checks_summaries(tmp_path, monkeypatch):
    import shenggu.llm.chat_queue as chat_queue

    monkeypatch.setattr(chat_queue, "get_chat_queue", lambda settings: _SummaryModel())
    dialogues = tmp_path / "dialogues.jsonl"
    lines = [_dialogue(1, THANKFUL, 1.2, 1.0), _dialogue(2, ANGRY, -1.1, -0.8), _dialogue(3, MIXED, 0.3, 0.5)]
    dialogues.write_text("\n".join(lines) + "\n", encoding="utf-8")
    labels = tmp_path / "labels.tsv"
    labels.write_text("id\trule\tlabel\tturn\tnote\n" + "".join(f"{i}\t{r}\t{v}\t\t\n" for i, r, v in _LABELS))
    rules = tmp_path / "rules.yaml"
    rules.write_text(_RULES, encoding="utf-8")

    out = tmp_path / "out"
    summary = run_qa_bench(QaBenchConfig(dialogues, None, out, labels=labels, rules=rules, summaries=2))

    # fired: call-1 sorry, call-2 greeting, call-2 tag, call-3 greeting (4); true fires: 3, all found
    assert summary["n_rule_pairs"] == 8
    assert summary["rule_precision"] == 0.75 and summary["rule_recall"] == 1.0
    assert summary["rule_counts"]["greeting"] == {"tp": 1, "fp": 1, "fn": 0, "tn": 1}
    # the invented 500 is dropped: what ships is faithful, the draft was not
    assert summary["n_summaries"] == 2 and summary["summary_sentences_dropped"] == 2
    assert summary["summary_faithfulness"] is None and summary["summary_faithfulness_raw"] == 0.0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [r["summary"] for r in results["utterances"] if r["kind"] == "summaries"] == ["客户反映宽带问题。"] * 2
    assert "Rules against the labels" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_bench_speaks_and_inspects_calls(tmp_path):
    dialogues = tmp_path / "dialogues.jsonl"
    dialogues.write_text(_dialogue(2, ANGRY, -1.1, -0.8) + "\n", encoding="utf-8")
    labels = tmp_path / "labels.tsv"
    labels.write_text("id\trule\tlabel\tturn\tnote\n", encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(_RULES, encoding="utf-8")
    summary = run_qa_bench(QaBenchConfig(dialogues, None, tmp_path / "out", labels=labels, rules=rules, spoken=1))
    assert summary["spoken_calls"] == 1 and summary["call_hours_per_hour"] > 0
    assert summary["spoken_role_accuracy"] == 1.0 and summary["spoken_cer"] < 0.2
    assert summary["spoken_rule_agreement"] == 1.0  # the same verdicts as on the text
    assert summary["peak_rss_mb_spoken"] > 0 and (tmp_path / "out" / "spoken").is_dir()

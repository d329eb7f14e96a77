"""Tests of call-centre quality inspection on text with times (shenggu/solutions/qa): each rule kind firing and not
firing on small hand-made calls, phrases that survive recognition errors, rules files (versions, clear errors),
scoring by weights, evidence with utterance indexes and times, the bundled bank ruleset."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pytest

from shenggu.errors import InvalidOptionError
from shenggu.solutions.qa import (
    Call,
    RulesError,
    Utterance,
    bundled_ruleset,
    dump_rules,
    inspect,
    load_rules,
    parse_rules_text,
    parse_ruleset,
)
from shenggu.solutions.qa.sounds import find_phrase, is_negated, sound_key, sounded
from shenggu.solutions.qa.timing import gaps, interruptions, overtalk, talk_ratios


def agent(start: float, end: float, text: str, sentiment: float | None = None) -> Utterance:
    return Utterance("agent", start, end, text, channel=0, sentiment=sentiment)


def customer(start: float, end: float, text: str, sentiment: float | None = None) -> Utterance:
    return Utterance("customer", start, end, text, channel=1, sentiment=sentiment)


def ruleset(*rules: dict, name: str = "test", version: str = "1"):
    """A ruleset from rule dicts (weight 1 unless given)."""
    return parse_ruleset({"name": name, "version": version, "rules": [{"weight": 1, **r} for r in rules]}, "test")


def refuse_embedding(texts: Sequence[str]) -> np.ndarray:
    raise AssertionError(f"meaning should not be needed here, asked to embed {list(texts)[:3]}")


def char_bigram_embedder(texts: Sequence[str]) -> np.ndarray:
    """A stand-in for sentence embeddings: hashed character bigrams (shared bigrams → similar)."""
    rows = np.zeros((len(texts), 256), dtype=np.float32)
    for row, text in zip(rows, texts, strict=True):
        chars = [c for c in text if c.isalnum()]
        for a, b in pairwise(chars):
            row[zlib.crc32((a + b).encode()) % 256] += 1.0  # a stable hash: the same vectors in every run
    return rows


def one(call: Call, rule: dict, **options):
    """The result of one rule on ``call``."""
    return inspect(call, ruleset(rule), **options).rules[0]


GREETING = {
    "id": "greeting",
    "name": "开场问候",
    "kind": "required_phrase",
    "within": {"first": 15},
    "phrases": ["您好，很高兴为您服务"],
    "meaning_threshold": None,
}


# --- required phrases: words, sound, meaning, who and when -------------------------------------------------------


def test_required_phrase_found_with_evidence_of_utterance_and_time():
    call = Call([customer(0.0, 1.0, "喂"), agent(1.2, 4.0, "您好，很高兴为您服务，请讲")])
    result = one(call, GREETING)
    assert result.passed
    assert [(e.utterance, e.time) for e in result.evidence] == [(1, 1.2)]
    assert "words" in result.evidence[0].detail


def test_required_phrase_survives_asr_homophones():
    # 服务 recognized as 服物, 须 as 需: same sounds, other characters
    call = Call([agent(0.5, 4.0, "您好很高兴为您服物"), agent(5.0, 12.0, "理财非存款，产品有风险，投资需谨慎")])
    assert one(call, GREETING, embed=refuse_embedding).passed
    disclosure = {**GREETING, "id": "risk", "within": "any", "phrases": ["理财非存款，产品有风险，投资须谨慎"]}
    result = one(call, disclosure, embed=refuse_embedding)
    assert result.passed and result.evidence[0].utterance == 1
    assert "sound" in result.evidence[0].detail


def test_required_phrase_tolerates_one_dropped_syllable_in_a_long_phrase_only():
    disclosure = sounded("理财非存款，产品有风险，投资须谨慎")  # 16 syllables: 2 slips allowed
    assert find_phrase(disclosure, sounded("理财非存款产品有风险投资谨慎"), 0.125) is not None  # 须 dropped
    assert find_phrase(disclosure, sounded("理财是存款产品没风险投资谨慎"), 0.125) is None  # three changes
    short = sounded("肯定没问题")  # 5 syllables: no slip allowed
    assert find_phrase(short, sounded("这个肯定有问题"), 0.125) is None


def test_short_phrases_match_by_sound_only_with_the_same_tones():
    assert find_phrase(sounded("销户"), sounded("我要消户"), 0.125) is not None  # xiao1 hu4 both
    assert find_phrase(sounded("销户"), sounded("我找小胡"), 0.125) is None  # xiao3 hu2


def test_sound_keys_merge_commonly_confused_sounds():
    assert sound_key("zhong1") == sound_key("zong3") == "zong"
    assert sound_key("ning2") == sound_key("lin2")
    assert sound_key("shi4") == sound_key("si4") == "si"
    assert sound_key("zhang1") != sound_key("zhong1")


def test_required_phrase_missing_fails_and_says_where_it_looked():
    call = Call([agent(0.5, 3.0, "喂，什么事"), agent(20.0, 23.0, "您好，很高兴为您服务")])
    result = one(call, GREETING)
    assert not result.passed
    assert result.evidence == []
    assert "first 15 s" in result.reason and "1 searched" in result.reason


def test_required_phrase_counts_only_the_named_party():
    call = Call([customer(0.0, 3.0, "您好，很高兴为您服务"), agent(3.5, 5.0, "嗯")])
    assert not one(call, GREETING).passed
    assert one(call, {**GREETING, "who": "any"}).passed


def test_required_phrase_in_the_last_seconds():
    closing = {
        "id": "closing",
        "name": "结束语",
        "kind": "required_phrase",
        "within": {"last": 30},
        "phrases": ["感谢您的来电，再见"],
        "meaning_threshold": None,
    }
    early = Call([agent(0.0, 3.0, "感谢您的来电，再见"), customer(10.0, 100.0, "我还有问题")])
    late = Call([customer(0.0, 80.0, "我还有问题"), agent(85.0, 90.0, "好的，感谢您的来电，再见")])
    assert not one(early, closing).passed
    result = one(late, closing)
    assert result.passed and result.evidence[0].time == 85.0


def test_required_phrase_split_over_two_utterances_is_found_across_the_join():
    call = Call([agent(0.0, 3.0, "理财非存款，产品有风险，"), customer(3.0, 3.4, "嗯"), agent(3.5, 5.0, "投资须谨慎")])
    rule = {**GREETING, "within": "any", "phrases": ["理财非存款，产品有风险，投资须谨慎"]}
    result = one(call, rule, embed=refuse_embedding)
    assert result.passed
    assert [e.utterance for e in result.evidence] == [0, 2]


def test_required_phrase_by_meaning_uses_the_injected_embedder_with_its_threshold():
    call = Call([agent(0.0, 5.0, "你好呀。今天我很高兴能为您提供服务")])
    by_meaning = {**GREETING, "meaning_threshold": 0.3}
    result = one(call, by_meaning, embed=char_bigram_embedder)
    assert result.passed and "meaning" in result.evidence[0].detail
    strict = one(call, {**GREETING, "meaning_threshold": 0.99}, embed=char_bigram_embedder)
    assert not strict.passed
    assert "closest" in strict.reason and strict.evidence[0].utterance == 0  # where a reviewer should listen


def test_meaning_is_not_computed_when_words_or_sound_settle_the_rule():
    call = Call([agent(0.5, 3.0, "您好，很高兴为您服务"), agent(3.0, 9.0, "请问您要办理什么业务")])
    assert one(call, {**GREETING, "meaning_threshold": 0.75}, embed=refuse_embedding).passed


# --- forbidden phrases --------------------------------------------------------------------------------------------

PROMISES = {
    "id": "no_promises",
    "name": "禁止承诺收益",
    "kind": "forbidden_phrase",
    "phrases": ["保证收益", "肯定没问题"],
}


def test_forbidden_phrase_fires_with_every_offending_utterance():
    call = Call(
        [
            agent(0.0, 4.0, "这款产品保证收益"),
            customer(4.0, 6.0, "真的肯定没问题吗"),  # the customer asking is not the agent promising
            agent(6.0, 9.0, "放心，肯定没问题"),
        ]
    )
    result = one(call, PROMISES)
    assert not result.passed
    assert [(e.utterance, e.time) for e in result.evidence] == [(0, 0.0), (2, 6.0)]


def test_forbidden_phrase_said_as_a_homophone_still_fires():
    call = Call([agent(0.0, 4.0, "这款产品保正收益")])  # 证 recognized as 正
    result = one(call, PROMISES)
    assert not result.passed and "sound" in result.evidence[0].detail


def test_forbidden_phrase_denied_does_not_fire_unless_asked_to():
    call = Call([agent(0.0, 4.0, "我们不能给您保证收益，请您理解"), agent(5.0, 6.0, "没问题，保证收益不是我们能说的")])
    result = one(call, PROMISES)
    assert not result.passed  # the second utterance: 没问题 is another clause, 保证收益 is affirmed
    assert [e.utterance for e in result.evidence] == [1]
    clean = Call([agent(0.0, 4.0, "我们不能给您保证收益，请您理解")])
    assert one(clean, PROMISES).passed
    assert not one(clean, {**PROMISES, "ignore_negated": False}).passed


def test_negation_is_read_within_the_clause():
    text = sounded("我们无法向您保证收益")
    assert is_negated(text, text.chars.index("保证"))
    text = sounded("不错吧，保证收益")
    assert not is_negated(text, text.chars.index("保证"))


def test_forbidden_phrase_absent_passes():
    assert one(Call([agent(0.0, 4.0, "理财非存款，产品有风险")]), PROMISES).passed


# --- timing rules -------------------------------------------------------------------------------------------------


def test_max_silence_fires_on_a_long_gap_with_its_span():
    call = Call([agent(0.0, 3.0, "请稍等"), customer(3.5, 5.0, "好"), agent(17.0, 19.0, "让您久等了")])
    result = one(call, {"id": "silence", "name": "静音", "kind": "max_silence", "seconds": 10})
    assert not result.passed
    (evidence,) = result.evidence
    assert (evidence.utterance, evidence.time, evidence.end) == (1, 5.0, 17.0)
    assert "12.0 s" in evidence.detail
    assert one(call, {"id": "silence", "name": "静音", "kind": "max_silence", "seconds": 12.5}).passed


def test_max_silence_ignores_the_edges_unless_asked():
    call = Call([agent(20.0, 22.0, "您好")], duration=40.0)
    rule = {"id": "silence", "name": "静音", "kind": "max_silence", "seconds": 10}
    assert one(call, rule).passed
    result = one(call, {**rule, "include_edges": True})
    assert not result.passed
    assert [(e.time, e.end) for e in result.evidence] == [(0.0, 20.0), (22.0, 40.0)]


def test_gaps_are_measured_from_the_latest_end_so_far():
    # utterance 1 lies inside utterance 0: the gap starts when utterance 0 ends
    call = Call([agent(0.0, 10.0, "长句"), customer(2.0, 3.0, "嗯"), customer(14.0, 15.0, "好")])
    (gap,) = gaps(call)
    assert (gap.start, gap.end, gap.before, gap.after) == (10.0, 14.0, 0, 2)


def test_max_overtalk_fires_only_on_long_simultaneous_speech():
    call = Call(
        [
            agent(0.0, 6.0, "我跟您说一下这个业务的办理流程"),
            customer(5.5, 6.2, "嗯"),  # a backchannel: 0.5 s
            customer(8.0, 14.0, "我不要听这个我就要退款"),
            agent(10.0, 15.0, "您先听我说完好吗"),  # 4 s together
        ]
    )
    assert overtalk(call) == [(5.5, 6.0), (10.0, 14.0)]
    result = one(call, {"id": "overtalk", "name": "抢话", "kind": "max_overtalk", "seconds": 3})
    assert not result.passed
    (evidence,) = result.evidence
    assert (evidence.utterance, evidence.time, evidence.end) == (3, 10.0, 14.0)
    assert one(call, {"id": "overtalk", "name": "抢话", "kind": "max_overtalk", "seconds": 4.5}).passed


def test_interruptions_count_agent_starts_while_the_customer_talks():
    call = Call(
        [
            customer(0.0, 5.0, "我上个月的账单有问题"),
            agent(3.0, 6.0, "您是说哪一笔"),  # cuts in with 2 s of the customer left
            customer(7.0, 9.0, "就是那笔转账"),
            agent(8.8, 9.5, "嗯"),  # 0.2 s: a backchannel, not an interruption
            agent(10.0, 12.0, "好的我查一下"),
        ]
    )
    assert interruptions(call, 0.5) == [(1, 0)]
    rule = {"id": "interrupt", "name": "打断客户", "kind": "interruption", "max_count": 0}
    result = one(call, rule)
    assert not result.passed
    assert [(e.utterance, e.time) for e in result.evidence] == [(1, 3.0)]
    assert one(call, {**rule, "max_count": 1}).passed
    assert one(call, {**rule, "min_overlap": 2.5}).passed


def test_speaking_rate_over_the_call_and_per_utterance():
    fast = "这个产品的年化收益率是百分之三点五起购金额一万元"  # 24 characters
    call = Call([agent(0.0, 3.0, fast), agent(5.0, 15.0, "好的，您稍等。"), customer(16.0, 17.0, "好")])
    rule = {"id": "rate", "name": "语速", "kind": "speaking_rate", "max": 5.0}
    # over the call: 29 characters in 13 s ≈ 2.2 chars/s
    assert one(call, rule).passed
    result = one(call, {**rule, "per": "utterance"})
    assert not result.passed
    assert [e.utterance for e in result.evidence] == [0] and "8.0 chars/s" in result.evidence[0].detail
    slow = one(call, {**rule, "max": None, "min": 3.0})
    assert not slow.passed and slow.evidence[0].utterance == 1  # the slowest utterance first


# --- sentiment at the end ------------------------------------------------------------------------------------------

ENDING = {"id": "mood", "name": "结束情绪", "kind": "ending_sentiment", "last": 20}


def test_ending_sentiment_uses_the_scores_in_the_call():
    unhappy = Call(
        [customer(0.0, 5.0, "谢谢", sentiment=0.9), agent(5.0, 50.0, "..."), customer(50.0, 55.0, "太差了", 0.1)]
    )
    result = one(unhappy, ENDING)
    assert not result.passed and [e.utterance for e in result.evidence] == [2]
    happy = Call([customer(0.0, 5.0, "太差了", sentiment=0.1), customer(50.0, 55.0, "好的谢谢", sentiment=0.8)])
    assert one(happy, ENDING).passed


def test_ending_sentiment_falls_back_to_the_function_and_refuses_without_one():
    call = Call([customer(0.0, 5.0, "你们这服务太差了，我要投诉")])
    calls: list[str] = []

    def negative(text: str) -> float:
        calls.append(text)
        return 0.05

    assert not one(call, ENDING, sentiment=negative).passed
    assert calls == ["你们这服务太差了，我要投诉"]
    with pytest.raises(InvalidOptionError, match="mood"):
        one(call, ENDING)


# --- tags, conditions, scoring --------------------------------------------------------------------------------------

TAGS = {
    "id": "tags",
    "name": "业务标签",
    "kind": "tag_keywords",
    "weight": 0,
    "who": "customer",
    "tags": {"投诉": ["投诉", "举报"], "退保": ["退保"], "销户": ["销户", "注销账户"]},
}


def test_tags_are_found_and_do_not_score():
    call = Call([customer(0.0, 3.0, "我要退保"), agent(3.0, 5.0, "您要投诉吗"), customer(5.0, 7.0, "还要消户")])
    result = inspect(call, ruleset(TAGS, GREETING))
    assert result.tags == ["退保", "销户"]  # 投诉 was said by the agent only; 消户 sounds like 销户
    assert result.rules[0].scoring is False and result.rules[0].passed
    assert [e.utterance for e in result.rules[0].evidence] == [0, 2]
    assert result.score == 0.0  # only the failed greeting weighs


def test_rule_that_does_not_apply_leaves_the_score_alone():
    disclosure = {
        **GREETING,
        "id": "risk",
        "within": "any",
        "weight": 3,
        "phrases": ["理财非存款，产品有风险，投资须谨慎"],
        "applies_if": ["理财", "基金"],
    }
    card_call = Call([agent(0.5, 4.0, "您好，很高兴为您服务"), customer(4.0, 6.0, "我的卡丢了")])
    result = inspect(card_call, ruleset(GREETING, disclosure))
    assert result.rules[1].applicable is False and result.score == 100.0
    product_call = Call([agent(0.5, 4.0, "您好，很高兴为您服务"), customer(4.0, 6.0, "我想买理财")])
    result = inspect(product_call, ruleset(GREETING, disclosure))
    assert result.rules[1].applicable and not result.rules[1].passed
    assert result.score == 25.0  # 1 of 4 weight passed
    assert [r.rule_id for r in result.failed] == ["risk"]


def test_score_is_the_passed_share_of_the_weights():
    call = Call([agent(0.5, 4.0, "您好，很高兴为您服务"), agent(4.0, 6.0, "这个保证收益")])
    rules = ruleset({**GREETING, "weight": 30}, {**PROMISES, "weight": 60}, {**TAGS})
    result = inspect(call, rules)
    assert [r.passed for r in result.rules] == [True, False, True]
    assert result.score == pytest.approx(100 * 30 / 90, abs=0.01)
    assert inspect(Call([]), ruleset(TAGS)).score == 100.0  # nothing scores


def test_talk_ratios():
    call = Call([agent(0.0, 4.0, "a"), customer(3.0, 5.0, "b")], duration=10.0)
    ratios = talk_ratios(call)
    assert (ratios.agent, ratios.customer, ratios.silence, ratios.overtalk) == pytest.approx((0.4, 0.2, 0.5, 0.1))


def test_call_result_to_dict_is_json():
    call = Call([agent(0.5, 4.0, "您好，很高兴为您服务")], metadata={"agent_id": "A07", "queue": "信用卡"}, id="c1")
    data = json.loads(json.dumps(inspect(call, ruleset(GREETING, version="7")).to_dict(), ensure_ascii=False))
    assert data["ruleset_version"] == "7" and data["metadata"]["queue"] == "信用卡" and data["call_id"] == "c1"
    assert data["rules"][0]["evidence"][0]["time"] == 0.5
    assert set(data["ratios"]) == {"agent", "customer", "silence", "overtalk"}


def test_call_checks_its_utterances():
    with pytest.raises(InvalidOptionError, match="utterance 0: role"):
        Call([Utterance("caller", 0.0, 1.0, "x")])  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError, match="utterance 1: times"):
        Call([agent(0.0, 1.0, "x"), agent(3.0, 2.0, "y")])
    assert Call([agent(0.0, 7.5, "x")], duration=5.0).duration == 7.5
    back = Call.from_dict(json.loads(json.dumps({"utterances": [agent(0.0, 1.0, "x").__dict__], "id": "c"})))
    assert back.utterances[0].role == "agent" and back.id == "c"


# --- rules files --------------------------------------------------------------------------------------------------


def test_bundled_bank_ruleset_round_trips_and_weighs_100():
    bank = bundled_ruleset("bank_default")
    assert bank.total_weight == 100.0
    assert {r.kind for r in bank.rules} >= {"required_phrase", "forbidden_phrase", "max_silence", "max_overtalk"}
    assert parse_rules_text(dump_rules(bank)) == bank


def test_bundled_bank_ruleset_judges_a_compliant_and_a_careless_call():
    bank = bundled_ruleset()
    good = Call(
        [
            agent(0.5, 4.0, "您好，很高兴为您服务"),
            customer(4.5, 7.0, "我想了解一下理财产品"),
            agent(7.5, 11.0, "为了您的账户安全，需要核实一下您的身份，请问您是本人吗"),
            customer(11.0, 12.0, "是的"),
            agent(12.5, 20.0, "这款产品年化收益浮动，理财非存款，产品有风险，投资须谨慎"),
            customer(20.5, 22.0, "好的我考虑一下"),
            agent(22.5, 26.0, "请问还有其他可以帮您的吗？感谢您的来电，再见"),
        ]
    )
    result = inspect(good, bank, embed=refuse_embedding)
    assert result.score == 100.0, [(r.rule_id, r.reason) for r in result.failed]
    careless = Call(
        [
            agent(0.5, 2.0, "喂"),
            customer(2.5, 5.0, "我想了解一下理财产品，不行我就投诉"),
            agent(4.0, 12.0, "这个保证收益，肯定没问题的"),
            customer(25.0, 27.0, "那好吧"),
        ]
    )
    result = inspect(careless, bank, embed=char_bigram_embedder)
    failed = {r.rule_id for r in result.failed}
    assert failed >= {"greeting", "identity_check", "risk_disclosure", "no_promises", "closing", "silence"}
    assert "civility" not in failed and "投诉" in result.tags


def test_rules_file_versions_are_kept_as_written(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text('name: 热线\nversion: "1.10"\nrules:\n  - {id: s, name: 静音, kind: max_silence, seconds: 10}\n')
    assert load_rules(path).version == "1.10"
    path.write_text("name: 热线\nversion: 1.10\nrules:\n  - {id: s, name: 静音, kind: max_silence, seconds: 10}\n")
    with pytest.raises(RulesError, match=r"line 2, version: write the version as text in quotes"):
        load_rules(path)


def test_rules_file_may_be_json(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(bundled_ruleset().to_data(), ensure_ascii=False))
    assert load_rules(path) == bundled_ruleset()


BAD_FILES = [
    (
        "name: t\nversion: 1\nrules:\n  - id: g\n    name: G\n    kind: required_phrase\n    wieght: 3\n",
        r"bad\.yaml, line 7, rules\[0\] \(id 'g'\)\.wieght: unknown field 'wieght' \(did you mean 'weight'\?\)",
    ),
    (
        "name: t\nversion: 1\nrules:\n  - id: g\n    name: G\n    kind: max_silense\n",
        r"line 6, rules\[0\] \(id 'g'\)\.kind: expected a kind among .*got 'max_silense'",
    ),
    (
        "name: t\nversion: 1\nrules:\n  - id: g\n    name: G\n    kind: required_phrase\n    phrases: [您好]\n"
        "    within: {start: 15}\n",
        r"line 8, .*within: expected any, \{first: N\} or \{last: N\}",
    ),
    ("name: t\nversion: 1\nrules:\n  - {id: g, name: G, kind: max_overtalk}\n", r"line 4, .*needs field\(s\) seconds"),
    ("name: t\nversion: 1\nrules:\n  - {id: g, name: G, kind: max_overtalk, seconds: -1}\n", r"line 4.*at least 0"),
    ("name: t\nversion: 1\nrules:\n  - id: g\n    name: [G\n", r"line \d+, column \d+: not valid YAML/JSON"),
    (
        "name: t\nversion: 1\nrules:\n  - {id: g, name: G, kind: max_silence, seconds: 1}\n"
        "  - {id: g, name: H, kind: max_silence, seconds: 2}\n",
        r"line 5, rules\[1\]: duplicate rule id 'g'",
    ),
    ("name: t\nname: u\nversion: 1\nrules: []\n", r"line 2: 'name' is given twice"),
    ("name: t\nversion: 1\nrules: []\n", r"line 3, rules: expected a non-empty list of rules"),
    ("name: t\nrules:\n  - {id: g, name: G, kind: max_silence, seconds: 1}\n", r"missing 'version'"),
    (
        "name: t\nversion: 1\nrules:\n  - {id: r, name: R, kind: speaking_rate, min: 6, max: 4}\n",
        r"line 4, .*min \(6\) is above max \(4\)",
    ),
    (
        "name: t\nversion: 1\nrules:\n  - {id: t, name: T, kind: tag_keywords, weight: 5, tags: {a: [b]}}\n",
        r"line 4, .*weight: tag_keywords rules do not score",
    ),
    (
        "name: t\nversion: 1\nrules:\n  - id: f\n    name: F\n    kind: forbidden_phrase\n    phrases:\n"
        "      - 保证收益\n      - ''\n",
        r"line 9, rules\[0\] \(id 'f'\)\.phrases\[1\]: must not be empty",
    ),
    ("- just\n- a list\n", r"a ruleset must be a mapping .*got a list"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_bad_rules_files_name_the_line_and_field(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError, match=message):
        load_rules(path)


def test_api_body_errors_name_the_field_without_a_line():
    body = {"name": "x", "version": "2", "rules": [{"id": "s", "name": "S", "kind": "max_silence", "seconds": "十"}]}
    with pytest.raises(RulesError, match=r"^api body, rules\[0\] \(id 's'\)\.seconds: expected a number"):
        parse_ruleset(body, "api body")


def test_unreadable_rules_file_is_a_rules_error(tmp_path):
    with pytest.raises(RulesError, match="cannot read the rules file"):
        load_rules(tmp_path / "missing.yaml")


# --- the bundled sentence embedder ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_required_phrase_by_meaning_with_the_bundled_embedder():
    disclosure = {**GREETING, "id": "risk", "within": "any", "meaning_threshold": 0.75}
    disclosure["phrases"] = ["理财非存款，产品有风险，投资须谨慎"]
    paraphrase = Call([agent(0.0, 6.0, "好的。理财产品不是存款，是有风险的，投资要谨慎")])
    result = one(paraphrase, disclosure)
    assert result.passed and "meaning" in result.evidence[0].detail
    unrelated = Call([agent(0.0, 6.0, "您的信用卡账单已经寄出了，请注意查收")])
    result = one(unrelated, disclosure)
    assert not result.passed and "closest" in result.reason

"""Tests of the parts of call inspection around the rules (no models): phrases with gaps, the agent found by who
greets, the sentiment curve per party, and the grounded summary (the language model stood in for by fixed
answers, so that what the grounding check keeps and drops is known)."""

from __future__ import annotations

import json

import pytest

from shenggu.errors import InvalidOptionError
from shenggu.llm.types import ChatResult, LanguageModelError
from shenggu.solutions.qa import (
    Call,
    CallAudioOptions,
    Utterance,
    ground_summary,
    inspect,
    parse_ruleset,
    summarize_call,
    summary_facts,
)
from shenggu.solutions.qa.audio import agent_of, greeting_score
from shenggu.solutions.qa.sounds import find_gapped, sounded


def _call(*lines: tuple[str, str]) -> Call:
    return Call([Utterance(role, 4.0 * i, 4.0 * i + 3.0, text) for i, (role, text) in enumerate(lines)])  # type: ignore[arg-type]


# A ruleset that judges nothing (a tag rule never fails), for what inspection gives besides verdicts.
_NO_RULES = parse_ruleset(
    {"name": "t", "version": "1", "rules": [{"id": "t", "name": "t", "kind": "tag_keywords", "tags": {"x": ["投诉"]}}]}
)


def _required(phrase: str) -> dict:
    rule = {"id": "r", "name": "r", "kind": "required_phrase", "weight": 1, "phrases": [phrase]}
    return {"name": "t", "version": "1", "rules": [{**rule, "meaning_threshold": None}]}


@pytest.mark.parametrize(
    ("said", "passes"),
    [
        ("好的，请问您是账户本人吗？", True),  # words between the parts
        ("请问您是本人吗", True),  # no words between
        ("请问您市账户本人吗", True),  # a homophone slip inside a part (是 → 市)
        ("本人请问您是谁", False),  # parts out of order
        ("请问您是不是在外地出差办理业务的时候遇到了问题，本人", False),  # too far apart
    ],
)
def test_a_gapped_phrase_needs_its_parts_in_order_and_near(said: str, passes: bool):
    result = inspect(_call(("agent", said)), parse_ruleset(_required("请问您是…本人"))).rules[0]
    assert result.passed is passes, result.reason


def test_a_gapped_match_spans_its_parts():
    text = sounded("好的请问您是账户本人吗")
    match = find_gapped([sounded("请问您是"), sounded("本人")], text, 0.125)
    assert match is not None and text.chars[match.start : match.end] == "请问您是账户本人"
    assert match.method == "words" and match.errors == 0


def test_the_agent_is_the_party_that_greets_not_the_first_to_speak():
    openings = {
        "A": [(0.0, "喂，你好"), (6.0, "我想查一下话费")],
        "B": [(2.0, "您好，欢迎至电声谷银行，很高兴为您服务")],  # 至电: misrecognized, sounds the same
    }
    assert agent_of(openings) == "B"
    assert greeting_score(["您好，欢迎至电声谷银行"]) > greeting_score(["喂，你好"])
    # nobody offers service: the first to speak
    assert agent_of({"A": [(3.0, "喂")], "B": [(1.0, "喂")]}) == "B"


def test_call_audio_options_refuse_unknown_modes():
    with pytest.raises(InvalidOptionError, match="channels must be one of auto, stereo, mono"):
        CallAudioOptions(channels="quad")  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError, match="agent_channel must be one of auto, left, right"):
        CallAudioOptions(agent_channel="middle")  # type: ignore[arg-type]


def test_the_sentiment_curve_follows_each_party():
    call = _call(("agent", "您好"), ("customer", "太差了"), ("agent", "抱歉"), ("customer", "谢谢，很满意"))
    call.utterances[0].sentiment = 0.9  # a score that came with the call is kept
    moods = {"太差了": 0.1, "抱歉": 0.4, "谢谢，很满意": 0.95}
    result = inspect(call, _NO_RULES, sentiment=moods.__getitem__)
    assert result.sentiment_curve == {"agent": [(0.0, 0.9), (8.0, 0.4)], "customer": [(4.0, 0.1), (12.0, 0.95)]}
    assert inspect(call, _NO_RULES).sentiment_curve == {"agent": [(0.0, 0.9)]}


def test_text_without_chinese_is_left_off_the_curve():
    call = _call(("customer", "OK, thanks"), ("customer", "好的谢谢"))

    def chinese_only(text: str) -> float:
        if "好" not in text:
            raise InvalidOptionError("no Chinese")
        return 0.8

    curve = inspect(call, _NO_RULES, sentiment=chinese_only)
    assert curve.sentiment_curve == {"customer": [(4.0, 0.8)]}


_CALL = _call(
    ("agent", "您好，声谷银行客服，工号一零二三。"),
    ("customer", "我的信用卡年费三百元被扣了，我在北京，想退回来。"),
    ("agent", "好的，已经为您申请退回年费，三个工作日内到账。"),
)


def test_summary_facts_are_numbers_in_written_form_and_named_things():
    facts = summary_facts("客户在北京，要求退还三百元年费，坐席工号1023。")
    assert {"300", "1023", "北京"} <= set(facts)


def test_a_summary_keeps_only_grounded_sentences():
    summary = ground_summary(
        "客户要求退还300元年费，坐席已申请，3个工作日内到账。客户在上海，另退500元。坐席工号1023。", _CALL
    )
    assert summary.text == "客户要求退还300元年费，坐席已申请，3个工作日内到账。坐席工号1023。"
    assert summary.dropped == ["客户在上海，另退500元。"]  # 上海 and 500 were never said


class _Answers:
    """A stand-in for the language model: one fixed answer, and the request it got."""

    def __init__(self, text: str) -> None:
        self.text, self.asked = text, []

    def __call__(self, messages, options) -> ChatResult:
        self.asked.append((messages, options))
        return ChatResult(self.text, 100, 20, "stop", 0.1)


def test_summarize_call_asks_once_with_a_schema_and_grounds_the_answer():
    model = _Answers(json.dumps({"summary": "客户要求退还三百元年费。坐席承诺赔偿2000元。"}, ensure_ascii=False))
    summary = summarize_call(_CALL, model)
    assert summary.text == "客户要求退还三百元年费。" and summary.dropped == ["坐席承诺赔偿2000元。"]
    ((messages, options),) = model.asked
    assert "坐席：您好，声谷银行客服" in messages[-1].content and options.json_schema["required"] == ["summary"]


def test_a_broken_model_answer_is_an_error_and_an_empty_call_needs_no_model():
    with pytest.raises(LanguageModelError, match="not JSON"):
        summarize_call(_CALL, _Answers("客户要求退费"))
    with pytest.raises(LanguageModelError, match="no summary"):
        summarize_call(_CALL, _Answers('{"text": "x"}'))
    model = _Answers("{}")
    assert summarize_call(Call([]), model).text == "" and not model.asked


def test_markdown_the_model_writes_inside_its_answer_is_tidied_away():
    messy = "```json，客户反映年费被扣。坐席已申请退回三百元。````，，，，，"
    summary = ground_summary(messy, _CALL)
    assert summary.text == "客户反映年费被扣。坐席已申请退回三百元。" and summary.dropped == []

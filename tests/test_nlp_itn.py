"""Tests of Mandarin inverse text normalization (spoken numbers → digits) on top of wetext's tagger."""

from __future__ import annotations

import logging
import threading

import pytest

from shenggu.nlp import itn
from shenggu.nlp.itn import inverse_normalize

# --------------------------------------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        # dates and times in Chinese style, not wetext's 2023/03/053:15p.m.
        ("二零二三年三月五日下午三点十五分", "2023年3月5日下午3:15"),
        ("一九四九年十月一日", "1949年10月1日"),
        ("二〇二三年", "2023年"),
        ("二零二三年十二月", "2023年12月"),
        ("二月二十九号", "2月29号"),
        ("两千零二十三年", "2023年"),
        ("下午三点", "下午3点"),
        ("晚上十点", "晚上10点"),
        ("早上八点半", "早上8:30"),
        ("三点一刻", "3:15"),
        ("九点零五分", "9:05"),
        ("晚上十一点五十九分五十九秒", "晚上11:59:59"),
        ("八点钟", "8点钟"),
        # percentages, money, measures
        ("百分之十二点五", "12.5%"),
        ("百分之五十", "50%"),
        ("百分之负五", "-5%"),
        ("一千二百三十四点五六元", "1234.56元"),
        ("三百美元", "300美元"),
        ("一点五亿元", "1.5亿元"),
        ("三千万", "3000万"),
        ("他三十岁了", "他30岁了"),
        ("五十公里", "50公里"),
        ("三十五摄氏度", "35摄氏度"),
        ("零下五度", "零下5度"),
        ("零下十五度", "零下15度"),
        ("负十度", "-10度"),
        # plain and digit-by-digit numbers
        ("一百零八", "108"),
        ("一万二", "12000"),
        ("三点五", "3.5"),
        ("我的电话是幺三八零零一三八零零零", "我的电话是13800138000"),
        ("零零七", "007"),
        ("一二三四五六", "123456"),
        # full-width digits
        ("３００元", "300元"),
        ("２０２３年", "2023年"),
    ],
)
def test_converts_number_expressions(spoken: str, written: str) -> None:
    assert inverse_normalize(spoken) == written


def test_converts_inside_a_sentence() -> None:
    spoken = "今年是二零二三年，我三十岁。下午三点开会讨论百分之十二点五的增长"
    assert inverse_normalize(spoken) == "今年是2023年，我30岁。下午3点开会讨论12.5%的增长"


# --------------------------------------------------------------------------------------------------------
# Words and idioms that contain numerals stay as spoken
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # one numeral in a common word
        "我们一起去吃饭吧",
        "一样",
        "我有一点点累",
        "一点都不好",
        "一些",
        "统一",
        "万一",
        "一直",
        "等一会儿",
        "他一个人",
        "两个人",
        "第一",
        "第三名",
        "他十分高兴",
        "十字路口",
        # idioms and names
        "万人敬仰",
        "三心二意",
        "一心一意",
        "千千万万",
        "九九八十一",
        "七零八落",
        "十万火急",
        "三十六计",
        "九一八事变",
        "一点一点",
        "晚上一点都不冷",
        # approximate numbers (ranges) and split expressions
        "五六个人",
        "三五成群",
        "七八年",
        "两三年",
        "几十个人",
        "十几个",
        "一两万元",
        "现在一二线城市的房价",  # tiers, not the number 12
        "北上广深这些一二线城市",
        "三四个月",
        # left as spoken on purpose
        "三分之二的人",
        "三块五",
        "今天三点",
    ],
)
def test_keeps_words_with_numerals(text: str) -> None:
    assert inverse_normalize(text) == text


def test_single_numeral_dictionary_words_are_untouched() -> None:
    jieba = pytest.importorskip("jieba")
    jieba.setLogLevel(60)
    jieba.dt.initialize()
    numerals = set("一二三四五六七八九十百千万两")
    words = [
        w
        for w, f in jieba.dt.FREQ.items()
        if f >= 200 and sum(ch in numerals for ch in w) == 1 and all("\u4e00" <= ch <= "\u9fff" for ch in w)
    ]
    assert len(words) > 500
    changed = {w: inverse_normalize(w) for w in words if inverse_normalize(w) != w}
    assert changed == {}


def test_mixed_latin_text_is_untouched() -> None:
    assert inverse_normalize("Let's meet at 三点 tomorrow") == "Let's meet at 三点 tomorrow"
    assert inverse_normalize("我们 OK 吗") == "我们 OK 吗"
    assert inverse_normalize("用 Python 写了三十行") == "用 Python 写了30行"
    assert inverse_normalize("版本 v2.0 在 2023 年") == "版本 v2.0 在 2023 年"


# --------------------------------------------------------------------------------------------------------
# Robustness
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "。，！？", ".,!?", "😀🎉", '他说"三百"\\n'])
def test_never_raises_on_odd_input(text: str) -> None:
    assert isinstance(inverse_normalize(text), str)


def test_quotes_are_not_escaped() -> None:
    # wetext's verbalizer would return 他说\"300\"
    assert inverse_normalize('他说"三百"') == '他说"300"'


def test_empty_string() -> None:
    assert inverse_normalize("") == ""


def test_other_languages_pass_through() -> None:
    text = "It costs twenty five dollars, 三百元"
    assert inverse_normalize(text, language="en") == text


@pytest.mark.parametrize(
    "text",
    [
        "二零二三年三月五日下午三点十五分",
        "今年是二零二三年，我三十岁。下午三点开会",
        "百分之十二点五",
        "一千二百三十四点五六元",
        "零下五度",
        "我们一起去吃饭吧",
        "几十个人一起",
    ],
)
def test_idempotent(text: str) -> None:
    once = inverse_normalize(text)
    assert inverse_normalize(once) == once


def test_long_text_is_processed_sentence_by_sentence() -> None:
    sentence = "二零二三年三月五日下午三点十五分我们讨论了百分之十二点五的增长。"
    text = sentence * 200
    out = inverse_normalize(text)
    assert out == "2023年3月5日下午3:15我们讨论了12.5%的增长。" * 200


def test_long_text_without_punctuation() -> None:
    text = "我们一起说了三十岁的故事" * 100
    assert inverse_normalize(text) == "我们一起说了30岁的故事" * 100


def test_thread_safe() -> None:
    text = "二零二三年三月五日下午三点十五分"
    results: list[str] = []

    def work() -> None:
        results.extend(inverse_normalize(text) for _ in range(20))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["2023年3月5日下午3:15"] * 80


def test_wetext_failure_returns_input_and_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    backend = itn._get_backend()
    assert backend is not None

    def broken_tag(text: str) -> str:
        raise RuntimeError("FST exploded")

    monkeypatch.setattr(itn, "_backend", itn._Backend(broken_tag, backend.parse, backend.words))
    with caplog.at_level(logging.WARNING, logger="shenggu.nlp.itn"):
        assert inverse_normalize("我三十岁。你四十岁") == "我三十岁。你四十岁"
    assert any("FST exploded" in record.getMessage() for record in caplog.records)


def test_load_failure_returns_input_and_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_load() -> itn._Backend:
        raise ImportError("no wetext")

    monkeypatch.setattr(itn, "_backend", None)
    monkeypatch.setattr(itn, "_backend_error", None)
    monkeypatch.setattr(itn, "_load_backend", broken_load)
    with caplog.at_level(logging.WARNING, logger="shenggu.nlp.itn"):
        assert inverse_normalize("我三十岁") == "我三十岁"
        assert inverse_normalize("我四十岁") == "我四十岁"
    warnings = [r for r in caplog.records if r.name == "shenggu.nlp.itn" and r.levelno == logging.WARNING]
    assert len(warnings) == 1  # logged once, not once per sentence

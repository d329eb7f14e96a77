"""Tests of the TTS text front-end: normalization, SSML, piece planning, pinyin and Kokoro phonemes (no model)."""

from __future__ import annotations

import threading

import pytest

from shenggu.errors import InvalidOptionError
from shenggu.text.pinyin import pinyin
from shenggu.tts import frontend
from shenggu.tts.frontend import plan_speech
from shenggu.tts.normalize import normalize_clause
from shenggu.tts.phonemes import _raw_phonemes, kokoro_phonemes
from shenggu.tts.pieces import TextPiece


def spoken(text: str, language: str | None = None, **kwargs) -> str:
    """All pieces' text, joined the way they are read."""
    pieces = plan_speech(text, language, **kwargs)
    separator = "" if all(p.language == "zh" for p in pieces) else " "
    return separator.join(p.text for p in pieces)


# --------------------------------------------------------------------------------------------------------
# Mandarin text normalization
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "said"),
    [
        # dates and times; years digit by digit
        ("2023年3月5日", "二零二三年三月五日"),
        ("1998年", "一九九八年"),
        ("２０２３年", "二零二三年"),
        ("下午3:15", "下午三点十五分"),
        ("12:00:30", "十二点零分三十秒"),
        # money and percentages
        ("¥30", "三十元"),
        ("¥1,234.56", "一千二百三十四点五六元"),
        ("20.00元", "二十元"),
        ("12.5%", "百分之十二点五"),
        ("10%-20%", "百分之十到百分之二十"),
        ("10-20%", "百分之十到百分之二十"),
        # phone numbers: digit by digit, 1 as 幺, in groups
        ("13812345678", "幺三八 幺二三四 五六七八"),
        ("+86 138 1234 5678", "加八六 幺三八 幺二三四 五六七八"),
        ("010-12345678", "零幺零 幺二三四五六七八"),
        ("400-123-4567", "四零零 幺二三 四五六七"),
        # other numbers
        ("他30岁", "他三十岁"),
        ("1,234,567元", "一百二十三万四千五百六十七元"),
        ("3-5个", "三到五个"),
        ("7×24小时", "七乘二十四小时"),
        ("-5℃", "零下五摄氏度"),
        ("GPT-4发布了", "GPT 四发布了"),
        ('他说"300"', '他说"三百"'),
    ],
)
def test_mandarin_normalization(written: str, said: str) -> None:
    assert normalize_clause(written, "zh") == said


def test_mandarin_sentence_through_plan_speech() -> None:
    text = "今天是2023年3月5日，下午3:15开会，电话13812345678。"
    assert spoken(text) == "今天是二零二三年三月五日，下午三点十五分开会，电话幺三八 幺二三四 五六七八。"


# --------------------------------------------------------------------------------------------------------
# English text normalization
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("I have 3 apples.", "I have three apples."),
        ("$5.20", "five dollars and twenty cents"),
        ("It cost $1,234.56.", "It cost one thousand two hundred and thirty four dollars and fifty six cents."),
        ("$0.99", "ninety nine cents"),
        ("$3.5 million", "three point five million dollars"),
        ("£3.50", "three pounds and fifty pence"),
        ("3:15 pm", "three fifteen PM"),
        ("50%", "fifty percent"),
        ("10-20%", "ten to twenty percent"),
        ("1st 2nd 23rd", "first second twenty third"),
        ("in 1998", "in nineteen ninety eight"),
        ("from 1998-2005", "from nineteen ninety eight to two thousand five"),
        ("1234 people", "one thousand two hundred and thirty four people"),
        ("the 1990s", "the nineteen nineties"),
        ("March 5th", "March fifth"),
        ("call 555-123-4567", "call five five five, one two three, four five six seven"),
        ("+1 555 123 4567", "plus one, five five five, one two three, four five six seven"),
        ("#1", "number one"),
        ("Dr. Smith lives on Elm Dr.", "Doctor Smith lives on Elm Drive."),
        ("the U.S. economy", "the US economy"),
        # characters wetext's English tagger cannot read stay, and the rest is still normalized
        ("Café 5 opens at 3 pm.", "Café five opens at three PM."),
        ("7×24 support", "seven times twenty four support"),
        ("it is 5~10 km", "it is five to ten kilometers"),
    ],
)
def test_english_normalization(written: str, said: str) -> None:
    assert normalize_clause(written, "en") == said


def test_english_sentences_keep_numbers_whole() -> None:
    # "," and ":" inside numbers are not clause marks; "Dr." and "p.m." do not end sentences.
    pieces = plan_speech("Dr. Smith paid $1,000 at 3:15 p.m. Then he left, happy.")
    assert [p.text for p in pieces] == [
        "Doctor Smith paid one thousand dollars at three fifteen PM.",
        "Then he left, happy.",
    ]


# --------------------------------------------------------------------------------------------------------
# Pinyin
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "syllables"),
    [
        ("银行", ["yin2", "hang2"]),
        ("行走", ["xing2", "zou3"]),
        ("重庆", ["chong2", "qing4"]),
        ("长大", ["zhang3", "da4"]),
        ("长城", ["chang2", "cheng2"]),
        ("重要", ["zhong4", "yao4"]),
        ("银行行长在重庆长大", ["yin2", "hang2", "hang2", "zhang3", "zai4", "chong2", "qing4", "zhang3", "da4"]),
        ("A股上涨", ["gu3", "shang4", "zhang3"]),  # one syllable per Chinese character
    ],
)
def test_pinyin_reads_polyphones_by_word(text: str, syllables: list[str]) -> None:
    assert pinyin(text) == syllables


# --------------------------------------------------------------------------------------------------------
# Mixed Mandarin and English, and Kokoro phonemes
# --------------------------------------------------------------------------------------------------------


def test_latin_words_stay_in_the_mandarin_piece() -> None:
    pieces = plan_speech("CEO说AI很重要，iPhone和Wi-Fi也是。")
    assert [p.language for p in pieces] == ["zh", "zh"]
    text = "".join(p.text for p in pieces)
    assert all(word in text for word in ("CEO", "AI", "iPhone", "Wi-Fi"))


def test_mixed_text_gets_english_ipa() -> None:
    phonemes = kokoro_phonemes(TextPiece("CEO说AI很重要，iPhone和Wi-Fi也是。", "zh"))
    assert "sˌiˌiˈO" in phonemes and "ˌAˈI" in phonemes  # acronyms spelled letter by letter
    assert "fˈOn" in phonemes and "wˈIfˌI" in phonemes  # other words as English words
    assert "ʂwo→" in phonemes and "↘" in phonemes  # Mandarin with tone arrows around them
    assert "❓" not in phonemes and not any(w in phonemes for w in ("CEO", "iPhone", "Wi", "Fi"))


def test_english_piece_phonemes() -> None:
    phonemes = kokoro_phonemes(TextPiece("Hello world, this is a test.", "en"))
    assert phonemes == "həlˈO wˈɜɹld, ðɪs ɪz ə tˈɛst."  # misaki's conventions (O for oʊ), as Kokoro learned


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("今天是二零二三年三月五日，下午三点十五分开会。", "zh"),
        ("欢迎来到声谷智能语音平台，今天气温二十五度。", "zh"),
        ("电话幺三八 幺二三四 五六七八，请记下来！", "zh"),
        ("我买了A股和X光片，还喝了维生素C。", "zh"),
        ("《三体》是“刘慈欣”写的？", "zh"),
        ("Doctor Smith paid five dollars and twenty cents at three fifteen PM;", "en"),
        ("The judge watched the boy go to church, isn't it wonderful? Yes!", "en"),
        ("Butter, water, bird, nurse, button.", "en"),
    ],
)
def test_common_sentences_lose_no_phoneme(text: str, language: str) -> None:
    raw = _raw_phonemes(text, language)
    kept = kokoro_phonemes(TextPiece(text, language))
    assert kept == raw, sorted(set(raw) - set(kept))
    assert len(kept) > len(text) // 2  # a phoneme string, not a fragment


def test_phonemes_are_thread_safe() -> None:
    piece = TextPiece("CEO说AI很重要，iPhone和Wi-Fi也是。", "zh")
    expected = kokoro_phonemes(piece)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(kokoro_phonemes(piece))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


# --------------------------------------------------------------------------------------------------------
# SSML
# --------------------------------------------------------------------------------------------------------


def test_break_becomes_a_pause() -> None:
    pieces = plan_speech('<speak>你好<break time="500ms"/>世界。<break time="1.5s"/>再见</speak>')
    assert [(p.text, p.pause_after_ms) for p in pieces] == [("你好", 500), ("世界。", 1500), ("再见", 0)]


def test_leading_break_is_a_silent_piece() -> None:
    pieces = plan_speech('<speak><break time="1s"/>Hello.</speak>')
    assert pieces == [TextPiece("", "en", 1.0, 1000), TextPiece("Hello.", "en", 1.0, frontend.SENTENCE_PAUSE_MS)]


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("x-slow", 0.5),
        ("slow", 0.75),
        ("medium", 1.0),
        ("fast", 1.25),
        ("x-fast", 1.5),
        ("80%", 0.8),
        ("+20%", 1.2),
        ("1.2", 1.2),
        ("300%", 2.0),  # clamped
        ("10%", 0.5),
    ],
)
def test_prosody_rate(rate: str, expected: float) -> None:
    pieces = plan_speech(f'<speak>先说。<prosody rate="{rate}">慢慢说。</prosody>再说。</speak>')
    assert [p.rate for p in pieces] == [1.0, pytest.approx(expected), 1.0]


def test_rate_change_mid_sentence_cuts_without_pause() -> None:
    pieces = plan_speech('<speak>我<prosody rate="slow">非常</prosody>喜欢。</speak>')
    assert [(p.text, p.rate, p.pause_after_ms) for p in pieces] == [
        ("我", 1.0, 0),
        ("非常", 0.75, 0),
        ("喜欢。", 1.0, frontend.SENTENCE_PAUSE_MS),
    ]


@pytest.mark.parametrize(
    ("ssml", "said"),
    [
        ('<say-as interpret-as="digits">2023</say-as>', "二零二三"),
        ('<say-as interpret-as="telephone">13812345678</say-as>', "幺三八 幺二三四 五六七八"),
        ('<say-as interpret-as="telephone">010-12345678</say-as>', "零幺零 幺二三四五六七八"),
        ('<say-as interpret-as="date">2023-03-05</say-as>', "二零二三年三月五日"),
        ('<say-as interpret-as="date" format="dmy">05/03/2023</say-as>', "二零二三年三月五日"),
        ('<say-as interpret-as="date">3/5</say-as>', "三月五日"),
    ],
)
def test_say_as_mandarin(ssml: str, said: str) -> None:
    assert spoken(f"<speak>{ssml}</speak>", "zh") == said


@pytest.mark.parametrize(
    ("ssml", "said"),
    [
        ('<say-as interpret-as="digits">2023</say-as>', "two zero two three"),
        ('<say-as interpret-as="telephone">555-1234</say-as>', "five five five, one two three four"),
        ('<say-as interpret-as="date">2023-03-05</say-as>', "March fifth, twenty twenty three"),
    ],
)
def test_say_as_english(ssml: str, said: str) -> None:
    assert spoken(f"<speak>{ssml}</speak>", "en") == said


def test_say_as_joins_its_sentence() -> None:
    text = '<speak>电话<say-as interpret-as="telephone">13812345678</say-as>，请记下。</speak>'
    # One sentence; the first piece is cut short (first audio fast), never inside the number.
    assert [p.text for p in plan_speech(text)] == ["电话", "幺三八 幺二三四 五六七八，请记下。"]


def test_ssml_with_namespace_language_and_layout() -> None:
    text = """<?xml version="1.0"?>
    <speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-US">
        <p>Room 101</p>
        <p>is open.</p>
    </speak>"""
    pieces = plan_speech(text)
    assert [(p.text, p.language, p.pause_after_ms) for p in pieces] == [
        ("Room one hundred and one", "en", 500),
        ("is open.", "en", 500),
    ]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("<speak>你好", "not well-formed"),
        ("<speak><bogus/>你好</speak>", "<bogus>"),
        ("<speak><emphasis>你好</emphasis></speak>", "<emphasis>"),
        ('<speak><prosody pitch="high">你好</prosody></speak>', "'pitch'"),
        ('<speak><prosody rate="zoom">你好</prosody></speak>', "'zoom'"),
        ('<speak><break time="abc"/></speak>', "'abc'"),
        ('<speak><break time="60s"/></speak>', "too long"),
        ('<speak><break time="1s">x</break></speak>', "must be empty"),
        ("<speak><say-as>1</say-as></speak>", "interpret-as"),
        ('<speak><say-as interpret-as="cardinal">1</say-as></speak>', "'cardinal'"),
        ('<speak><say-as interpret-as="digits">1<break/></say-as></speak>', "only text"),
        ("<speak><speak>你好</speak></speak>", "root"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><speak>&a;</speak>', "DOCTYPE"),
        ("<speak>&nbsp;</speak>", "not well-formed"),
    ],
)
def test_bad_ssml_is_refused_with_one_line(document: str, problem: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        plan_speech(document)
    message = str(caught.value)
    assert problem in message and "\n" not in message


def test_doctype_before_speak_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="DOCTYPE"):
        plan_speech('<?xml version="1.0"?><speak><!DOCTYPE x></speak>')


# --------------------------------------------------------------------------------------------------------
# Splitting into pieces
# --------------------------------------------------------------------------------------------------------

LONG_ZH = (
    "这是一个很长的句子，它有好几个分句，而且每个分句都不太短，我们需要把它切开，这样第一段音频才能很快出来。"
    "我们在2023年完成了12345678元的销售额并且计划在明年继续增长12.5%以上的目标，电话13812345678。第二句话比较短。"
)


def test_first_piece_is_the_first_clause_of_a_long_sentence() -> None:
    pieces = plan_speech(LONG_ZH)
    assert pieces[0] == TextPiece("这是一个很长的句子，", "zh", 1.0, frontend.CLAUSE_PAUSE_MS)
    assert pieces[1].text == "它有好几个分句，而且每个分句都不太短，我们需要把它切开，"  # later ones are packed


def test_short_first_sentence_stays_whole() -> None:
    assert [p.text for p in plan_speech("你好。今天天气很好，我们出去走走吧，好不好？")] == [
        "你好。",
        "今天天气很好，我们出去走走吧，好不好？",
    ]


@pytest.mark.parametrize("max_chars", [12, 20, 40])
def test_no_piece_is_longer_than_max_chars(max_chars: int) -> None:
    pieces = plan_speech(LONG_ZH, max_chars=max_chars)
    assert all(0 < len(p.text) <= max_chars for p in pieces), [p.text for p in pieces]
    # nothing lost or repeated (at 12 the 14-character phone number is cut at its group space)
    assert "".join(p.text for p in pieces).replace(" ", "") == spoken(LONG_ZH).replace(" ", "")


def test_numbers_are_never_split() -> None:
    pieces = [p.text for p in plan_speech(LONG_ZH, max_chars=20)]
    for number in ("二零二三年", "一千二百三十四万五千六百七十八", "百分之十二点五", "幺三八 幺二三四 五六七八"):
        assert any(number in piece for piece in pieces), (number, pieces)


def test_english_words_and_numbers_are_never_split() -> None:
    text = "The committee approved a budget of 12,345 dollars for the new public library building downtown"
    pieces = [p.text for p in plan_speech(text, max_chars=50)]
    assert len(pieces) > 1 and all(len(p) <= 50 for p in pieces)
    assert " ".join(pieces).split() == spoken(text).split()  # cuts only between whole words
    assert any("twelve thousand three hundred and forty five" in p for p in pieces)


def test_a_number_longer_than_the_limit_is_cut_between_its_words() -> None:
    pieces = [p.text for p in plan_speech("It costs 1,234,567 dollars", max_chars=30)]
    assert all(len(p) <= 30 for p in pieces)
    assert (
        " ".join(pieces) == "It costs one million two hundred thirty four thousand five hundred and sixty seven dollars"
    )


def test_pauses_after_clauses_sentences_and_paragraphs() -> None:
    pieces = plan_speech("第一句话写在这里，然后接着说完它，再补充一些内容。第二句。\n\n新的段落\n最后一行")
    assert [(p.text, p.pause_after_ms) for p in pieces] == [
        ("第一句话写在这里，", frontend.CLAUSE_PAUSE_MS),
        ("然后接着说完它，再补充一些内容。", frontend.SENTENCE_PAUSE_MS),
        ("第二句。", frontend.PARAGRAPH_PAUSE_MS),
        ("新的段落", frontend.SENTENCE_PAUSE_MS),
        ("最后一行", 0),  # no punctuation, no pause
    ]


# --------------------------------------------------------------------------------------------------------
# Languages and arguments
# --------------------------------------------------------------------------------------------------------


def test_language_detection_and_script_per_sentence() -> None:
    assert [p.language for p in plan_speech("Hello there.")] == ["en"]
    assert [p.language for p in plan_speech("你好。")] == ["zh"]
    assert [p.language for p in plan_speech("你好世界", "en")] == ["zh"]  # an English voice must refuse it
    assert [p.language for p in plan_speech("你好。Nice to meet you.")] == ["zh", "en"]
    assert spoken("13812345678", "en") == "one three eight, one two three four, five six seven eight"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [({"language": "ja"}, "language 'ja'"), ({"max_chars": 3}, "max_chars")],
)
def test_bad_arguments(kwargs: dict, problem: str) -> None:
    with pytest.raises(InvalidOptionError, match=problem):
        plan_speech("你好", **kwargs)


def test_nothing_to_say() -> None:
    assert plan_speech("") == [] and plan_speech("  \n ") == [] and plan_speech("……") == []
    assert plan_speech("<speak> </speak>") == []


def test_first_piece_is_short_even_without_a_comma() -> None:
    pieces = plan_speech("会议定于2024年3月15日下午3点在第三法庭公开开庭审理。", "zh")
    assert len(pieces[0].text) <= 10 and pieces[0].pause_after_ms == 0  # the sentence goes on: no pause
    assert "".join(p.text for p in pieces) == "会议定于二零二四年三月十五日下午三点在第三法庭公开开庭审理。"
    assert "二零二四" in pieces[0].text or "二零二四" in pieces[1].text  # the year is never cut


@pytest.mark.parametrize(
    ("written", "spoken"),
    [("G101次列车", "G幺零幺次列车"), ("CA1831航班", "CA幺八三幺航班"), ("A302房间", "A三零二房间")],
)
def test_letter_digit_codes_are_read_digit_by_digit(written: str, spoken: str) -> None:
    assert normalize_clause(written, "zh") == spoken


def test_first_piece_is_short_but_whole_words() -> None:
    # The first piece is the first clause, or the first words of a long one; never cut before a particle.
    pieces = plan_speech("银行行长说，他长大以后要去重庆工作。")
    assert [p.text for p in pieces] == ["银行行长说，", "他长大以后要去重庆工作。"]
    first = plan_speech("今年的增长率达到了百分之十二点五，超过了预期。")[0].text
    assert len(first) <= 8
    assert not first.endswith("达到")
    # A sentence barely over the limit is not cut.
    assert [p.text for p in plan_speech("我们明天上午九点开会。")] == ["我们明天上午九点开会。"]

"""Homophone correction, word LM, punctuation and hotword preference: unit behaviour on Mandarin text."""

from __future__ import annotations

from shenggu.asr.homophones import correct_text, correct_words
from shenggu.asr.hotwords import choose_hypothesis, count_hotwords
from shenggu.asr.types import Word
from shenggu.lazy import once
from shenggu.nlp.lm import get_word_lm
from shenggu.nlp.punctuation import punctuate_words, to_full_width_punctuation

SURE, UNSURE = 0.98, 0.5


def test_word_lm_prefers_real_words():
    lm = get_word_lm()
    assert lm.score("房地产") > lm.score("佛地产")
    assert lm.score("婴儿") > lm.score("英尔")
    assert lm.score("英尔", extra=["英尔"]) > lm.score("英尔")


def test_low_confidence_homophone_is_corrected():
    text = "大家都很敬仰他"
    heard = "大家都很仅仰他"  # 仅 jǐn for 敬 jìng: a near-homophone Whisper produced on real audio
    conf = [SURE] * len(heard)
    conf[4] = UNSURE
    assert correct_text(heard, conf) == text


def test_confident_characters_are_never_changed():
    heard = "大家都很仅仰他"
    assert correct_text(heard, [SURE] * len(heard)) == heard


def test_correct_text_keeps_common_words_and_length():
    for sentence in ("我们一起去吃饭吧", "他觉得最大的问题在什么地方", "今天天气很好"):
        out = correct_text(sentence, [UNSURE] * len(sentence))
        assert len(out) == len(sentence)
        assert out == sentence


def test_hotword_replaces_same_sounding_span():
    heard = "这就是太以真人"
    conf = [SURE] * len(heard)
    conf[4] = 0.7  # 以
    assert correct_text(heard, conf, hotwords=["太乙真人"]) == "这就是太乙真人"
    assert correct_text(heard, conf) == heard  # without the hotword the name is not in the dictionary


def test_correct_words_keeps_timings_and_punctuation():
    words = [
        Word(0.0, 0.3, "大家", SURE),
        Word(0.3, 0.5, "都很", SURE),
        Word(0.5, 0.7, "仅", UNSURE),
        Word(0.7, 0.9, "仰", SURE),
        Word(0.9, 1.0, "他，", SURE),
    ]
    correct_words(words)
    assert [w.word for w in words] == ["大家", "都很", "敬", "仰", "他，"]
    assert [(w.start, w.end) for w in words] == [(0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0)]


def test_correct_words_scores_each_sentence_once_across_runs():
    # Two runs of the same clause: the second run's baseline is the sentence the first run's accepted change made,
    # which the first run already had scored against the audio.
    words = [Word(0.0, 0.2, ch, UNSURE if ch == "仅" else SURE) for ch in "大家都很仅仰他，大家都很仅仰他"]
    scored: list[str] = []

    def scorer(texts):  # audio that favours no text: the word LM decides
        scored.extend(texts)
        return [0.0] * len(texts)

    correct_words(words, scorer=scorer)
    assert "".join(w.word for w in words) == "大家都很敬仰他，大家都很敬仰他"
    assert "大家都很敬仰他，大家都很仅仰他" in scored
    assert len(scored) == len(set(scored))


def test_punctuation_from_pauses_and_questions():
    words = [
        ("叫做", 0.0, 0.5),
        ("秋风", 0.5, 1.0),
        ("什么", 2.0, 2.3),
        ("意思", 2.3, 2.6),
        ("呢", 2.6, 2.8),
        ("就是", 3.5, 3.8),
        ("这样", 3.8, 4.0),
    ]
    assert "".join(punctuate_words(words)) == "叫做秋风，什么意思呢？就是这样。"
    # Words that do not end a sentence (the speaker paused and goes on) end with a comma, questions still with ？.
    assert "".join(punctuate_words(words, ends_sentence=False)) == "叫做秋风，什么意思呢？就是这样，"
    assert "".join(punctuate_words(words[:5], ends_sentence=False)) == "叫做秋风，什么意思呢？"
    assert to_full_width_punctuation("对,好的.3.5元") == "对，好的。3.5元"


def test_hotword_choice_keeps_plain_decoding_unless_prompt_finds_more_hotwords():
    decode = {1: "广州市佛地产中间协会", 2: "广州市佛地产中介协会", 3: "广州市房地产中介协会"}.get
    plain = [([1], -0.20), ([2], -0.23)]
    prompted = [([3], -0.15)]
    assert choose_hypothesis(plain, prompted, ["无关"], lambda ids: decode(ids[0])) == plain[0]
    assert choose_hypothesis(plain, prompted, ["中介"], lambda ids: decode(ids[0])) == plain[1]
    assert choose_hypothesis(plain, prompted, ["中介", "房地产"], lambda ids: decode(ids[0])) == prompted[0]
    assert count_hotwords("Fire Fox and FIREFOX", ["firefox"]) == 2


def test_once_builds_a_single_instance_across_threads():
    import threading

    calls = []

    @once
    def build():
        calls.append(1)
        return object()

    results = []
    threads = [threading.Thread(target=lambda: results.append(build())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(r) for r in results}) == 1


def test_decimal_point_split_over_words_stays_a_point():
    # Whisper often makes "12", ".", "5%" separate words: the point is still between digits.
    words = [("增长率", 0.0, 0.5), ("达到了", 0.5, 1.0), ("12", 1.0, 1.2), (".", 1.2, 1.3), ("5%", 1.3, 1.5)]
    assert "".join(punctuate_words(words)).startswith("增长率达到了12.5%")
    assert "".join(punctuate_words([("只要", 0.0, 0.5), ("128.", 0.5, 1.0), ("5元", 1.0, 1.2)])) == "只要128.5元。"


def test_a_short_pause_inside_a_window_does_not_end_the_sentence():
    from shenggu.asr.pipeline import TranscribeOptions, window_segments
    from shenggu.asr.types import ChunkResult, Segment, Word
    from shenggu.asr.windows import Window
    from shenggu.audio.vad import SpeechSegment

    def words() -> list[Word]:
        return [Word(0.0, 0.4, "在", 0.9), Word(0.4, 0.9, "看到", 0.9), Word(1.6, 2.0, "那个", 0.9),
                Word(2.0, 2.5, "东西", 0.9), Word(4.0, 4.5, "好的", 0.9)]  # fmt: skip

    # VAD found pauses at 1.25 s (0.7 s long: a breath) and 3.25 s (1.5 s long: a sentence end).
    window = Window([SpeechSegment(0.0, 0.9), SpeechSegment(1.6, 2.5), SpeechSegment(4.0, 4.5)])
    result = ChunkResult([Segment(0.0, 4.5, "", words())], "zh")
    texts = [s.text for s in window_segments(window, result, "zh", TranscribeOptions(language="zh"))]
    assert texts == ["在看到，", "那个东西。", "好的。"]

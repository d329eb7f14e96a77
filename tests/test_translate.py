"""Translation: the self-checking pipeline (retry with a corrective hint, then flag), the real local model on a
few sentences, the /v1/translations and /v1/chat/completions APIs, and the CLI."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pytest
from typer.testing import CliRunner

from shenggu.cli.main import app as cli
from shenggu.config import Settings, get_settings
from shenggu.errors import InvalidOptionError
from shenggu.service.app import create_app
from shenggu.translate.checks import check_translation
from shenggu.translate.pipeline import translate, translate_texts
from shenggu.translate.registry import get_translator
from shenggu.translate.sentences import split_sentences
from tests.servers import call_as, running_server, tenant_keys


class ScriptedEngine:
    """Returns prepared drafts in order, recording the hints it was given (tests the pipeline, not a model)."""

    name = "scripted"

    def __init__(self, *rounds: list[str]) -> None:
        self.rounds = list(rounds)
        self.hints: list[Sequence[str] | None] = []

    def draft(self, sentences, direction, glossary: Mapping[str, str], tenant, hints=None) -> list[str]:
        self.hints.append(hints)
        return self.rounds.pop(0)[: len(sentences)]


def test_a_wrong_number_is_retried_with_a_hint_and_fixed():
    engine = ScriptedEngine(["The meeting starts at 4 pm.", "It rains."], ["The meeting starts at 3 pm."])
    result = translate("会议下午3点开始。下雨了。", "zh-en", engine)
    first, second = result.sentences
    assert (first.text, first.attempts, first.needs_review) == ("The meeting starts at 3 pm.", 2, False)
    assert (second.attempts, second.needs_review) == (1, False)
    assert "3 pm" in engine.hints[1][0] or "15:00" in engine.hints[1][0]
    assert result.to_dict()["machine_translated"] is True


def test_what_stays_wrong_is_flagged_never_silently_changed():
    engine = ScriptedEngine(["Take aspirin twice a day."], ["Take aspirin two times a day."])
    result = translate("阿莫西林每天两次。", "zh-en", engine)
    sentence = result.sentences[0]
    assert sentence.needs_review and result.needs_review
    assert any("amoxicillin" in p for p in sentence.problems)


def test_glossary_violations_are_caught():
    engine = ScriptedEngine(["The accuser spoke first."], ["The accuser spoke first."])
    result = translate("原告先发言。", "zh-en", engine, glossary={"原告": "plaintiff"})
    assert result.sentences[0].needs_review
    assert "plaintiff" in result.sentences[0].problems[0]


def test_several_texts_go_to_the_engine_together_and_come_back_grouped():
    engine = ScriptedEngine(["It rains.", "It is windy.", "Good."])
    first, second = translate_texts(["下雨了。刮风了。", "好的。"], "zh-en", engine)
    assert (first.text, second.text) == ("It rains. It is windy.", "Good.")
    assert len(engine.hints) == 1  # one call for all three sentences


def test_without_checks_drafts_pass_through():
    engine = ScriptedEngine(["The meeting starts at 4 pm."])
    result = translate("会议下午3点开始。", "zh-en", engine, checks=False)
    assert result.sentences[0].text == "The meeting starts at 4 pm." and not result.needs_review


@pytest.mark.parametrize(
    ("text", "direction", "message"),
    [(" ", "zh-en", "empty"), ("x" * 9000, "en-zh", "at most"), ("hello", "en-fr", "direction")],
)
def test_bad_input(text, direction, message):
    with pytest.raises(InvalidOptionError, match=message):
        translate(text, direction, ScriptedEngine(["x"]))


def test_sentence_splitting():
    assert split_sentences("Dr. Smith came at 3.5 pm. He left! OK?", "en") == [
        "Dr. Smith came at 3.5 pm.", "He left!", "OK?"]  # fmt: skip
    assert split_sentences("他说：“你好。”然后走了！\n第二行", "zh") == ["他说：“你好。”", "然后走了！", "第二行"]


# --------------------------------------------------------------------------------------------------------
# The real local model
# --------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_local_model_translates_and_keeps_facts_or_flags_them():
    # What is guaranteed is not that a 1.5B model is always right (it once wrote 3 pm as 13时 here), but that
    # every sentence either keeps the source's facts or comes back flagged with what it lost.
    engine = get_translator(get_settings())
    for source, direction, must_have in [
        ("患者每天服用两次阿莫西林，每次500毫克。", "zh-en", ("amoxicillin", "500")),
        ("The hearing is on March 5, 2024 at 3 pm.", "en-zh", ("3月5日",)),
    ]:
        result = translate(source, direction, engine, tenant="t")
        assert all(word in result.text.lower() for word in must_have), result.to_dict()
        for sentence in result.sentences:
            lost = [p.detail for p in check_translation(sentence.source, sentence.text, direction)]
            assert sentence.problems == lost and sentence.needs_review == bool(lost), result.to_dict()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = create_app(Settings(preload_models=False, job_workers=0, data_dir=tmp_path_factory.mktemp("data")))
    keys = tenant_keys(app, "hall", "clinic")
    with running_server(app) as base:
        yield base, keys["hall"], keys["clinic"]


@pytest.mark.slow
def test_translation_api(server):
    base, key, *_ = server
    done = call_as(base, key, "POST", "/v1/translations", json={"text": "请在三号窗口取号。", "target_language": "en"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["direction"] == "zh-en" and body["machine_translated"] is True
    assert any(word in body["text"].lower() for word in ("3", "three", "third"))
    for payload, status in [
        ({"text": "", "target_language": "en"}, 422),
        ({"text": "hello", "target_language": "fr"}, 422),
        ({"text": "hello", "target_language": "en"}, 400),
        ({"text": "你好", "target_language": "en", "glossary": {"你好": ""}}, 400),
    ]:
        refused = call_as(base, key, "POST", "/v1/translations", json=payload)
        assert refused.status_code == status, (payload, refused.text)
    usage = json.dumps(call_as(base, key, "GET", "/v1/usage").json())
    assert "translate" in usage


@pytest.mark.slow
def test_stored_glossaries_apply_by_name_and_by_default(server):
    base, key, other = server
    stored = call_as(base, key, "PUT", "/v1/glossaries/court", json={"terms": {"原告": "plaintiff"}})
    assert stored.status_code == 200 and stored.json()["terms"] == {"原告": "plaintiff"}
    assert call_as(base, key, "PUT", "/v1/glossaries/bad name", json={"terms": {}}).status_code == 400
    assert call_as(base, key, "PUT", "/v1/glossaries/x", json={"terms": {"a": ""}}).status_code == 400
    assert call_as(base, other, "GET", "/v1/glossaries/court").status_code == 404  # tenants do not share
    named = call_as(base, key, "POST", "/v1/translations",
                    json={"text": "原告先发言。", "target_language": "en", "glossaries": ["court"]})  # fmt: skip
    assert named.status_code == 200, named.text
    sentence = named.json()["sentences"][0]
    # The stored term is used, or the sentence is flagged naming it (never silently without it).
    assert "plaintiff" in sentence["text"].lower() or any("plaintiff" in p for p in sentence["problems"])
    unknown = call_as(base, key, "POST", "/v1/translations",
                      json={"text": "你好。", "target_language": "en", "glossaries": ["nope"]})  # fmt: skip
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]["message"]
    assert call_as(base, key, "PUT", "/v1/glossaries/default", json={"terms": {"被告": "defendant"}}).is_success
    by_default = call_as(base, key, "POST", "/v1/translations", json={"text": "被告到庭。", "target_language": "en"})
    sentence = by_default.json()["sentences"][0]
    assert "defendant" in sentence["text"].lower() or any("defendant" in p for p in sentence["problems"])
    listed = call_as(base, key, "GET", "/v1/glossaries").json()["data"]
    assert [g["name"] for g in listed] == ["court", "default"]
    assert call_as(base, key, "DELETE", "/v1/glossaries/default").status_code == 204
    assert call_as(base, key, "DELETE", "/v1/glossaries/default").status_code == 404


@pytest.mark.slow
def test_chat_completions_with_the_openai_client(server):
    from openai import OpenAI

    base, key, *_ = server
    client = OpenAI(base_url=f"{base}/v1", api_key=key)
    messages = [{"role": "user", "content": "Reply with the single word: yes"}]
    whole = client.chat.completions.create(model="shenggu-llm", messages=messages, max_tokens=5)
    assert "yes" in whole.choices[0].message.content.lower()
    assert whole.usage.total_tokens > 0
    streamed = client.chat.completions.create(model="gpt-4o-mini", messages=messages, max_tokens=5, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in streamed)
    assert text.strip() == whole.choices[0].message.content.strip()
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    shaped = client.chat.completions.create(
        model="shenggu-llm", max_tokens=40,
        messages=[{"role": "user", "content": "Which city is the capital of China? Answer in JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
    )  # fmt: skip
    assert "city" in json.loads(shaped.choices[0].message.content)
    rows = call_as(base, key, "GET", "/v1/usage").json()["data"]
    tokens = [row["tokens"] for row in rows if row["capability"] == "chat"]
    assert tokens and tokens[0] > 0


@pytest.mark.slow
def test_cli_translate(tmp_path):
    runner = CliRunner()
    glossary = tmp_path / "terms.tsv"
    glossary.write_text("被告\tdefendant\n", encoding="utf-8")
    done = runner.invoke(cli, ["translate", "被告今天出庭。", "--to", "en", "--glossary", str(glossary)])
    assert done.exit_code == 0, done.output
    # The glossary term is used, or the sentence is reported for review (never silently without it).
    assert "defendant" in done.output.lower() or "needs review" in done.output
    bad = runner.invoke(cli, ["translate", "hello", "--to", "en"])
    assert bad.exit_code == 2 and "already" in bad.output
    missing = runner.invoke(cli, ["translate", "--file", str(tmp_path / "missing.txt"), "--to", "en"])
    assert missing.exit_code == 2 and "cannot read" in missing.output


# --------------------------------------------------------------------------------------------------------
# Speech translation
# --------------------------------------------------------------------------------------------------------

ZH_CLIP = "zh_wenet_BAC009S0724W0121"  # 广州市房地产中介协会分析


def test_openai_audio_translation_and_bilingual_subtitles(server, data_dir, recognizer):
    base, key, *_ = server
    with (data_dir / "asr" / f"{ZH_CLIP}.wav").open("rb") as f:
        english = call_as(base, key, "POST", "/v1/audio/translations", files={"file": f}, data={"model": "whisper-1"})
    assert english.status_code == 200, english.text
    text = english.json()["text"]
    assert "guangzhou" in text.lower() and not any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    with (data_dir / "asr" / f"{ZH_CLIP}.wav").open("rb") as f:
        vtt = call_as(base, key, "POST", "/v1/audio/transcriptions", files={"file": f},
                      data={"language": "zh", "response_format": "vtt", "translate_to": "en"})  # fmt: skip
    assert vtt.status_code == 200, vtt.text
    cue = vtt.text.split("\n\n")[1].splitlines()
    assert "-->" in cue[0] and "广州" in cue[1] and "guangzhou" in cue[2].lower()


def test_whisper_translate_task_is_an_option_to_compare(server, data_dir, recognizer):
    base, key, *_ = server
    with (data_dir / "asr" / f"{ZH_CLIP}.wav").open("rb") as f:
        english = call_as(base, key, "POST", "/v1/audio/translations", files={"file": f},
                          data={"translator": "whisper", "response_format": "verbose_json"})  # fmt: skip
    assert english.status_code == 200, english.text
    body = english.json()
    assert body["language"] == "en" and body["segments"] and body["segments"][0]["end"] > 0
    # Whisper-base's translate task is weak on Mandarin (this clip comes back as "Guangzhou市房地产中间协会分析"),
    # which is why the checked pipeline is the default; here only its shape is asserted.
    assert "guangzhou" in body["text"].lower(), body["text"]
    with (data_dir / "asr" / f"{ZH_CLIP}.wav").open("rb") as f:
        refused = call_as(base, key, "POST", "/v1/audio/translations", files={"file": f}, data={"translator": "x"})
    assert refused.status_code == 422


def test_cli_transcribe_with_translation(data_dir, recognizer):
    done = CliRunner().invoke(cli, ["transcribe", str(data_dir / "asr" / f"{ZH_CLIP}.wav"), "--language", "zh",
                                    "--format", "srt", "--translate-to", "en"])  # fmt: skip
    assert done.exit_code == 0, done.output
    lines = done.output.strip().splitlines()
    assert lines[0] == "1" and "广州" in lines[2] and "guangzhou" in lines[3].lower()


@pytest.mark.slow
def test_benchmarks_write_their_summary_keys(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("id\tdirection\tsource\treference\n"
                     "a\tzh-en\t我有3本书。\tI have 3 books.\n"
                     "b\ten-zh\tI have 3 books.\t我有3本书。\n", encoding="utf-8")  # fmt: skip
    runner = CliRunner()
    done = runner.invoke(cli, ["bench", "translate", "--pairs", str(pairs), "--out", str(tmp_path / "t")])
    assert done.exit_code == 0, done.output
    summary = json.loads((tmp_path / "t" / "results.json").read_text())["summary"]
    for key in ("chrf_zh_en", "chrf_en_zh", "bleu_zh_en", "bleu_en_zh", "preservation_rate", "needs_review_rate",
                "sentences_per_s"):  # fmt: skip
        assert summary[key] is not None, key
    assert (tmp_path / "t" / "report.html").is_file()
    done = runner.invoke(cli, ["bench", "llm", "--out", str(tmp_path / "l"), "--requests", "2", "--max-tokens", "8"])
    assert done.exit_code == 0, done.output
    summary = json.loads((tmp_path / "l" / "results.json").read_text())["summary"]
    assert summary["tokens_per_s_1"] > 0 and summary["tokens_per_s_4"] > 0
    assert summary["rss_mb_4"] >= summary["rss_mb_loaded"] * 0.5 > 0

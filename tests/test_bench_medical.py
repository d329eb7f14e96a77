"""``shenggu bench medical``: the scoring functions on hand-made examples, and a tiny end-to-end run on a temporary
records file (no language model: the baseline is replaced by a stand-in where it is tested)."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shenggu.bench import medical as medical_bench
from shenggu.bench.medical_baseline import entity_prompt, entity_schema, report_schema
from shenggu.bench.medical_round_trip import cut_passage, gold_inside
from shenggu.bench.medical_scoring import (
    CCKS,
    CMEEE,
    PLACEHOLDERS,
    REPORT_SECTIONS,
    SET_TYPES,
    TYPE_MAP,
    Span,
    checked_values,
    containing_text,
    dose_exact,
    entity_claims,
    entity_counts,
    locate_texts,
    mapped_spans,
    max_matching,
    overlapping,
    record_sections,
    rouge_l,
    same_span,
    total_counts,
    vital_sign_exact,
)
from shenggu.cli.main import app
from shenggu.solutions.medical.record import ENTITY_TYPES, Entity, MedicalRecord, Statement

DIS, BOD, DRUG = "疾病和诊断", "解剖部位", "药物"


# -- entity matching ---------------------------------------------------------------------------------------


def test_overlap_and_exact_f1_on_a_hand_made_example():
    gold = [Span(DIS, "肺癌", 0, 2), Span(BOD, "左肺", 5, 7), Span(DRUG, "顺铂", 10, 12)]
    predicted = [
        Span(DIS, "肺癌伴", 0, 3),  # overlaps 肺癌, not exact
        Span(BOD, "左肺", 5, 7),  # exact
        Span(BOD, "肺", 6, 7),  # overlaps 左肺, which the exact one already took: a false positive
        Span(DRUG, "铂", 20, 21),  # overlaps nothing
        Span(DRUG, "肺癌", 0, 2),  # the right span with the wrong type
    ]
    overlap = total_counts([entity_counts(gold, predicted, overlapping)])
    exact = total_counts([entity_counts(gold, predicted, same_span)])
    assert (overlap.tp, overlap.fp, overlap.fn) == (2, 3, 1)
    assert overlap.f1 == pytest.approx(2 * 2 / (2 * 2 + 3 + 1))
    assert overlap.precision == pytest.approx(2 / 5) and overlap.recall == pytest.approx(2 / 3)
    assert (exact.tp, exact.fp, exact.fn) == (1, 4, 2)
    assert exact.f1 == pytest.approx(2 * 1 / (2 * 1 + 4 + 2))
    by_type = entity_counts(gold, predicted, overlapping)
    assert (by_type[DRUG].tp, by_type[DRUG].fp, by_type[DRUG].fn) == (0, 2, 1)


def test_matching_is_one_to_one_and_maximal():
    # P1 overlaps both gold entities, P2 only A: taking P1 for A (first come) would leave B unmatched.
    gold = [Span(BOD, "AAAA", 0, 4), Span(BOD, "BB", 4, 6)]
    predicted = [Span(BOD, "AB", 3, 5), Span(BOD, "AA", 0, 2)]
    assert max_matching(gold, predicted, overlapping) == 2
    assert max_matching(gold, predicted[:1], overlapping) == 1  # one prediction matches one gold entity only
    assert max_matching(gold[:1], [predicted[1], Span(BOD, "A", 1, 2)], overlapping) == 1


def test_no_entities_anywhere_has_no_f1_and_unlocated_texts_match_nothing():
    assert total_counts([entity_counts([], [], overlapping)]).f1 is None
    gold = [Span(DIS, "肺癌", 0, 2)]
    assert max_matching(gold, [Span(DIS, "肺癌", -1, -1)], overlapping) == 0
    assert max_matching(gold, [Span(DIS, "肺癌", -1, -1)], same_span) == 0
    assert max_matching(gold, [Span(DIS, "左肺癌", 9, 12)], containing_text) == 1  # recognized text: by text


# -- type mapping ------------------------------------------------------------------------------------------


def test_type_mapping_targets_the_sets_types_and_drops_what_they_lack():
    for source, mapping in TYPE_MAP.items():
        assert set(mapping) <= set(ENTITY_TYPES)
        assert set(mapping.values()) <= set(SET_TYPES[source])
    assert {"equ", "mic", "dep"}.isdisjoint(TYPE_MAP[CMEEE].values())  # these gold types can only be missed
    entities = [
        Entity("symptom", "咳嗽", 0, 2),
        Entity("examination", "胸部CT", 2, 6),
        Entity("lab_test", "血常规", 6, 9),
        Entity("vital_sign", "体温38℃", 9, 14, "38", "℃"),
        Entity("diagnosis", "肺炎", 14, 16),
    ]
    assert [(s.type, s.text) for s in mapped_spans(entities, CCKS)] == [
        ("影像检查", "胸部CT"), ("实验室检验", "血常规"), ("疾病和诊断", "肺炎"),
    ]  # fmt: skip
    assert [s.type for s in mapped_spans(entities, CMEEE)] == ["sym", "ite", "ite", "dis"]
    gold = [Span("equ", "呼吸机", 0, 3), Span("sym", "咳嗽", 3, 5)]
    counts = total_counts([entity_counts(gold, mapped_spans([Entity("symptom", "咳嗽", 3, 5)], CMEEE), overlapping)])
    assert (counts.tp, counts.fp, counts.fn) == (1, 0, 1)


# -- span location of the baseline's answers ---------------------------------------------------------------


def test_baseline_texts_take_the_first_occurrence_not_yet_taken():
    text = "左肺癌，右肺癌"
    spans = locate_texts(
        text, [(DIS, "肺癌"), (DIS, " 肺癌 "), (DIS, "肺癌"), (DIS, "肝癌"), (BOD, "肺"), (BOD, ""), (BOD, "右肺")]
    )
    assert [(s.type, s.text, s.start, s.end) for s in spans] == [
        (DIS, "肺癌", 1, 3),
        (DIS, "肺癌", 5, 7),  # the second listing takes the second occurrence
        (DIS, "肺癌", -1, -1),  # listed more often than the text holds it: a false positive
        (DIS, "肝癌", -1, -1),  # not in the text: a false positive
        (BOD, "肺", 1, 2),  # another type takes its own first occurrence
        (BOD, "右肺", 4, 6),
    ]
    gold = [Span(DIS, "肺癌", 1, 3), Span(DIS, "肺癌", 5, 7)]
    counts = total_counts([entity_counts(gold, [s for s in spans if s.type == DIS], overlapping)])
    assert (counts.tp, counts.fp, counts.fn) == (2, 2, 0)


def test_baseline_schemas_use_the_sets_type_names():
    assert list(entity_schema(CMEEE)["properties"]) == list(SET_TYPES[CMEEE])
    assert entity_schema(CCKS)["required"] == list(SET_TYPES[CCKS])
    assert "dis（疾病）" in entity_prompt("发热", CMEEE) and "疾病和诊断" in entity_prompt("发热", CCKS)
    assert report_schema()["required"] == list(REPORT_SECTIONS)


# -- ROUGE-L -----------------------------------------------------------------------------------------------


def _lcs_reference(a: str, b: str) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, j in itertools.product(range(len(a)), range(len(b))):
        table[i + 1][j + 1] = table[i][j] + 1 if a[i] == b[j] else max(table[i][j + 1], table[i + 1][j])
    return table[-1][-1]


def test_rouge_l_is_character_lcs_f1_without_punctuation():
    assert rouge_l("发热三天", "发热3天") == pytest.approx(2 * 3 / (4 + 4))
    assert rouge_l("咳嗽，发热。", "咳嗽 发热") == 1.0
    assert rouge_l("小儿支气管炎", "支气管炎") == pytest.approx(2 * 4 / (6 + 4))
    assert rouge_l("", "") == 1.0 and rouge_l("发热", "") == 0.0 and rouge_l("", "发热") == 0.0
    assert rouge_l("腹泻", "便秘") == 0.0
    rng = random.Random(3)
    for _ in range(50):
        a = "".join(rng.choice("甲乙丙丁") for _ in range(rng.randint(1, 12)))
        b = "".join(rng.choice("甲乙丙丁") for _ in range(rng.randint(1, 12)))
        assert rouge_l(a, b) == pytest.approx(2 * _lcs_reference(a, b) / (len(a) + len(b)))


def test_placeholder_sections_count_as_empty():
    assert rouge_l("暂缺。", "", PLACEHOLDERS) == 1.0
    assert rouge_l("不详。", "无。", PLACEHOLDERS) == 1.0
    assert rouge_l("暂缺。", "既往体健。", PLACEHOLDERS) == 0.0
    assert rouge_l("暂缺。", "") == 0.0  # scored literally without the placeholder list


def test_record_sections_map_ours_onto_the_reports_six():
    record = MedicalRecord("consultation")
    for name, text in (
        ("主诉", "发热1天。"), ("既往史", "肺炎。"), ("过敏史", "对青霉素过敏。"), ("初步诊断", "上呼吸道感染。"),
        ("处理意见", "多喝水。"), ("医嘱", "布洛芬。"), ("体格检查", "咽红。"),
    ):  # fmt: skip
        record.section(name).statements.append(Statement(text))
    assert record_sections(record) == {
        "主诉": "发热1天。",
        "现病史": "",
        "辅助检查": "",
        "既往史": "肺炎。对青霉素过敏。",
        "诊断": "上呼吸道感染。",
        "建议": "多喝水。布洛芬。",
    }


# -- invented values, vitals and doses ---------------------------------------------------------------------


def test_values_are_checked_against_the_input():
    drug = Entity("drug", "阿莫西林", 0, 4, attributes={"dose": "0.5", "unit": "g", "frequency": "每日3次"})
    claims = entity_claims(drug)
    assert claims == ["阿莫西林", "0.5g", "每日3次"]
    values, invented = checked_values(claims, "予阿莫西林0.5g口服，每日3次")
    assert set(values) >= {"阿莫西林", "0.5", "g", "3"} and invented == []
    _, invented = checked_values([*claims, "体温38.5℃"], "予头孢0.25g口服，每日2次")
    assert set(invented) == {"阿莫西林", "0.5", "3", "38.5", "℃"}
    _, invented = checked_values(["1. 多喝水。2. 布洛芬0.2g，3天"], "吃布洛芬0.2g")
    assert invented == ["3"]  # the list's numbering is no value; the 3 of 3天 is


def test_vital_signs_must_read_as_the_text_writes_them():
    text = "查体：体温38.5℃，血压120/80mmHg"
    temperature = Entity("vital_sign", "体温38.5℃", 3, 10, "38.5", "℃")
    assert vital_sign_exact(text, temperature)
    assert not vital_sign_exact(text, Entity("vital_sign", "体温38.5℃", 3, 10, "38", "℃"))
    assert not vital_sign_exact(text, Entity("vital_sign", "体温38.5℃", 3, 10, "38.5", ""))
    assert vital_sign_exact(text, Entity("vital_sign", "血压120/80mmHg", 11, 24, "120/80", "mmHg"))
    assert vital_sign_exact("体温38.5度", Entity("vital_sign", "体温38.5度", 0, 7, "38.5", "℃"))
    assert not vital_sign_exact(text, Entity("vital_sign", "体温38.5℃", 2, 9, "38.5", "℃"))  # offsets off


def test_a_dose_must_be_the_first_quantity_of_its_drugs_clause():
    text = "口服替吉奥时出现皮疹，予替加氟3.6G泵入+奥沙利铂130MGIVGTT，阿莫西林0.5g"

    def drug(name: str, dose: str, unit: str) -> Entity:
        start = text.index(name)
        return Entity("drug", name, start, start + len(name), attributes={"dose": dose, "unit": unit})

    assert not dose_exact(text, drug("替吉奥", "3.6", "g"))  # the next drug's dose, beyond its clause
    assert dose_exact(text, drug("替加氟", "3.6", "g"))
    assert dose_exact(text, drug("奥沙利铂", "130", "mg"))  # MG written, mg as records write it
    assert not dose_exact(text, drug("奥沙利铂", "130", "g"))
    assert not dose_exact(text, drug("阿莫西林", "5", "g"))  # cut out of 0.5
    assert not dose_exact(text, drug("阿莫西林", "0.5", "mg"))


# -- round trip --------------------------------------------------------------------------------------------


def test_passages_are_cut_at_a_sentence_end_within_the_limit():
    text = "，患者发热。" + "咳嗽" * 10 + "。" + "乏力" * 100
    cut = cut_passage(text, limit=30)
    assert cut == "患者发热。" + "咳嗽" * 10 + "。"
    assert cut_passage("，甲乙，丙丁戊己", limit=6) == "甲乙，"
    assert cut_passage("甲乙丙丁戊己", limit=4) == "甲乙丙丁"
    gold = [Span(DIS, "发热", 3, 5), Span(DIS, "乏力", 28, 30)]
    assert gold_inside(text, cut, gold) == [Span(DIS, "发热", 2, 4)]


# -- end to end --------------------------------------------------------------------------------------------

_NER = {
    "id": "ner-1",
    "source": CCKS,
    "task": "ner",
    "text": "患者因肺癌行左肺切除术，术后予顺铂化疗。查体：体温38.5℃，心率88次/分。",
    "entities": [
        {"type": DIS, "text": "肺癌", "start": 3, "end": 5},
        {"type": "手术", "text": "左肺切除术", "start": 6, "end": 11},
        {"type": DRUG, "text": "顺铂", "start": 15, "end": 17},
    ],
}
_DIALOGUE = {
    "id": "mrg-1",
    "source": "imcs-v2-mrg",
    "task": "dialogue_to_report",
    "dialogue": [
        {"speaker": "patient", "text": "孩子发烧两天了，最高体温三十九度。"},
        {"speaker": "doctor", "text": "有没有咳嗽？"},
        {"speaker": "patient", "text": "有点咳嗽。"},
        {"speaker": "doctor", "text": "考虑上呼吸道感染，建议多喝水，可以吃布洛芬。"},
    ],
    "sections": {"主诉": "发热。", "现病史": "发热两天，咳嗽。", "辅助检查": "暂缺。", "既往史": "不详。",
                 "诊断": "上呼吸道感染。", "建议": "多喝水，布洛芬。"},
}  # fmt: skip


def _records(tmp_path: Path, *items: dict) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


def _run(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, ["bench", "medical", *args])
    return done.exit_code, done.output


def test_a_tiny_run_writes_the_summary_rows_and_report(tmp_path: Path):
    out = tmp_path / "out"
    code, output = _run("--records", str(_records(tmp_path, _NER, _DIALOGUE)), "--out", str(out), "--no-baseline")
    assert code == 0, output
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    summary, rows = results["summary"], results["utterances"]
    assert (summary["n_ner"], summary["n_reports"], summary["failed"]) == (1, 1, 0)
    ner_row = next(r for r in rows if r["task"] == "ner")
    counts = summary["entity_counts"]
    assert counts["tp"] + counts["fn"] == len(_NER["entities"])
    assert counts["tp"] + counts["fp"] == len(ner_row["ours"]["predicted"])
    assert 0 <= summary["entity_f1_exact"] <= summary["entity_f1"] <= 1
    assert summary["entity_f1_ccks2019"] == summary["entity_f1"] and summary["entity_f1_cmeee"] is None
    assert set(summary["report_rouge_l_by_section"]) == set(REPORT_SECTIONS)
    assert 0 < summary["report_rouge_l"] <= 1
    assert summary["invented_value_rate"] == 0 and summary["invented_values"] == []
    assert summary["vitals_doses_checked"] >= 2 and summary["vitals_doses_exact"] == 1
    assert summary["records_per_minute"] > 0 and summary["peak_rss_mb"] > 0
    assert "baseline_entity_f1" not in summary
    assert (out / "report.html").read_text(encoding="utf-8").count("<img") >= 2


class _Slots:
    slots = 2


def test_the_baseline_is_scored_alike_and_a_failing_item_is_recorded(tmp_path: Path, monkeypatch):
    import shenggu.bench.medical_baseline as baseline
    import shenggu.llm.chat_queue as chat_queue

    def answer(queue, text: str, source: str, cache) -> list[tuple[str, str]]:
        return [(DIS, "肺癌"), (DRUG, "顺铂"), (DRUG, "阿司匹林")]  # two right, one not in the text

    def fail(queue, dialogue, cache) -> dict:
        raise RuntimeError("model down")

    monkeypatch.setattr(chat_queue, "get_chat_queue", lambda settings: _Slots())
    monkeypatch.setattr(baseline, "llm_entities", answer)
    monkeypatch.setattr(baseline, "llm_report", fail)
    config = medical_bench.MedicalBenchConfig(_records(tmp_path, _NER, _DIALOGUE), tmp_path / "out")
    summary = medical_bench.run_medical_bench(config)
    assert summary["baseline_entity_counts"] == {"tp": 2, "fp": 1, "fn": 1}
    assert summary["baseline_entity_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1), abs=1e-4)
    assert summary["baseline_entity_f1_exact"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1), abs=1e-4)
    assert summary["baseline_failed"] == 1 and summary["failed"] == 1
    assert "baseline_report_rouge_l" not in summary and summary["report_rouge_l"] is not None
    assert summary["entity_f1_on_baseline_items"] == summary["entity_f1"]  # the model answered the one passage
    assert summary["report_rouge_l_on_baseline_items"] is None  # and no dialogue
    failures = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["failures"]
    assert failures[0]["id"] == "mrg-1 (baseline)" and "model down" in failures[0]["error"]["message"]


def test_bad_inputs_fail_with_one_line(tmp_path: Path):
    out = str(tmp_path / "out")
    unknown = {**_NER, "source": "other-set"}
    code, output = _run("--records", str(_records(tmp_path, unknown)), "--out", out, "--no-baseline")
    assert code == 2 and "unknown ner source" in output
    shifted = {**_NER, "entities": [{**_NER["entities"][0], "start": 4, "end": 6}]}
    code, output = _run("--records", str(_records(tmp_path, shifted)), "--out", out, "--no-baseline")
    assert code == 2 and "is not at 4:6" in output
    code, output = _run("--records", str(_records(tmp_path, _NER)), "--out", out, "--round-trip", "9")
    assert code == 2 and "--round-trip" in output
    code, output = _run("--records", str(_records(tmp_path, _NER)), "--out", out, "--voice", "zf_xiaoyi")
    assert code == 2 and "--voice needs --round-trip" in output
    code, output = _run("--records", str(_records(tmp_path, _NER)), "--out", out, "--no-baseline", "--answers", out)
    assert code == 2 and "--answers needs the baseline" in output


class _Answering:
    """A chat queue that answers every request with one JSON text, counting the requests."""

    slots = 1

    def __init__(self, answer: dict) -> None:
        self.answer = answer
        self.asked = 0

    def chat(self, tenant, messages, options):
        from shenggu.llm.types import ChatResult

        self.asked += 1
        return ChatResult(json.dumps(self.answer, ensure_ascii=False), 10, 10, "stop", 0.1)


def test_the_models_grouped_answers_become_typed_pairs():
    from shenggu.bench.medical_baseline import llm_entities, llm_report

    answer = {t: [] for t in SET_TYPES[CCKS]} | {DRUG: ["顺铂", "顺铂"], DIS: ["肺癌"]}
    assert llm_entities(_Answering(answer), "肺癌，顺铂", CCKS) == [(DIS, "肺癌"), (DRUG, "顺铂"), (DRUG, "顺铂")]
    report = llm_report(_Answering({"主诉": "发热", "诊断": "感冒"}), [{"speaker": "doctor", "text": "发烧吗"}])
    assert report == {s: {"主诉": "发热", "诊断": "感冒"}.get(s, "") for s in REPORT_SECTIONS}


def test_answers_are_kept_and_reused(tmp_path: Path):
    from shenggu.bench.medical_baseline import AnswerCache, llm_entities
    from shenggu.errors import InvalidOptionError

    path = tmp_path / "answers.json"
    model = _Answering({t: ["肺癌"] if t == DIS else [] for t in SET_TYPES[CCKS]})
    cache = AnswerCache(path)
    first = llm_entities(model, "肺癌", CCKS, cache)
    assert llm_entities(model, "肺癌", CCKS, cache) == first and (model.asked, cache.reused) == (1, 1)
    llm_entities(model, "胃癌", CCKS, cache)  # another passage is another request
    assert model.asked == 2
    resumed = AnswerCache(path)  # a later run reads the file
    assert llm_entities(model, "胃癌", CCKS, resumed) == first and (model.asked, resumed.reused) == (2, 1)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InvalidOptionError, match="not a file of answers"):
        AnswerCache(path)


class _FillingIn(_Answering):
    """A model that fills every empty section it is asked for: one value the dialogue holds, one it does not."""

    def chat(self, tenant, messages, options):
        from shenggu.llm.types import ChatResult

        self.asked += 1
        answer = {name: "体温39℃，建议复查血常规，阿莫西林0.5g。" for name in options.json_schema["required"]}
        return ChatResult(json.dumps(answer, ensure_ascii=False), 10, 10, "stop", 0.1)


def test_the_model_fill_in_is_scored_and_never_invents(tmp_path: Path, monkeypatch):
    import shenggu.llm.chat_queue as chat_queue

    model = _FillingIn({})
    monkeypatch.setattr(chat_queue, "get_chat_queue", lambda settings: model)
    records = _records(tmp_path, _DIALOGUE)
    config = medical_bench.MedicalBenchConfig(records, tmp_path / "out", baseline=False, llm_fill=True)
    summary = medical_bench.run_medical_bench(config)
    assert model.asked == 1 and 0 < summary["llm_fill_report_rouge_l"] <= 1
    # 阿莫西林0.5g was never said: the grounding check dropped it, so nothing invented reaches the record
    assert summary["llm_fill_invented_value_rate"] == 0 and summary["llm_fill_invented_values_checked"] > 0
    row = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["utterances"][0]
    assert not any("阿莫西林" in text for text in row["llm_fill"]["sections"].values())

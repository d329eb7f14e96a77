"""The medical solution's text core: clinical numbers, entities with negation and values, dictation with
section names and spoken commands, the consultation drafter, and the grounding check."""

from __future__ import annotations

import json

import pytest

from shenggu.llm.types import ChatMessage, ChatOptions, ChatResult
from shenggu.solutions.medical.consultation import doctor_by_questions, draft_consultation
from shenggu.solutions.medical.dictation import DictationBuilder, dictate_text
from shenggu.solutions.medical.entities import extract_entities
from shenggu.solutions.medical.grounding import ground_record, ungrounded_values
from shenggu.solutions.medical.lexicon import medical_lexicon
from shenggu.solutions.medical.llm_fill import fill_empty_sections
from shenggu.solutions.medical.numbers import normalize_clinical
from shenggu.solutions.medical.record import MedicalRecord, SourceUtterance, Statement


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("体温三十八点五度", "体温38.5℃"),
        ("体温三十七度二", "体温37.2℃"),
        ("血压一百二十比八十毫米汞柱", "血压120/80mmHg"),
        ("血压一百二十八十毫米汞柱", "血压120/80mmHg"),
        ("心率八十八次每分", "心率88次/分"),
        ("阿莫西林零点五克口服每日三次共三天", "阿莫西林0.5g口服每日3次共3天"),
        ("血氧饱和度百分之九十八", "血氧饱和度98%"),
        ("咳嗽一周", "咳嗽1周"),
        # never a unit that was not said, and ordinals or vague words stay words
        ("心率八十八", "心率88"),
        ("第三天开始发热", "第三天开始发热"),
        ("一次性", "一次性"),
    ],
)
def test_numbers_come_out_as_clinicians_write_them(spoken: str, written: str) -> None:
    assert normalize_clinical(spoken) == written


def _found(text: str) -> dict[str, object]:
    return {(e.type, e.text): e for e in extract_entities(text)}


def test_entities_with_negation_values_and_codes() -> None:
    found = _found("患者发热3天，伴咳嗽，无腹痛、腹泻。否认高血压病史。考虑急性上呼吸道感染。")
    assert not found[("symptom", "发热")].negated
    assert found[("symptom", "发热")].attributes["duration"] == "3天"
    assert not found[("symptom", "咳嗽")].negated
    assert found[("symptom", "腹痛")].negated and found[("symptom", "腹泻")].negated
    assert found[("diagnosis", "高血压")].negated
    diagnosis = found[("diagnosis", "急性上呼吸道感染")]
    assert not diagnosis.negated and diagnosis.code == "J06.9"
    # 无明显诱因出现腹痛: the cue covers 诱因, not the symptom that follows 出现
    assert not _found("无明显诱因出现腹痛")[("symptom", "腹痛")].negated


def test_allergy_denied_is_not_an_allergy() -> None:
    allergies = [e for e in extract_entities("否认药物过敏史。") if e.type == "allergy"]
    assert [(a.negated, a.attributes["substance"]) for a in allergies] == [(True, "药物")]
    allergies = [e for e in extract_entities("对青霉素过敏。") if e.type == "allergy"]
    assert [(a.negated, a.attributes["substance"]) for a in allergies] == [(False, "青霉素")]


def test_vitals_and_drug_details() -> None:
    found = _found("体温38.5℃，血压120/80mmHg，心率88次/分。阿莫西林胶囊0.5g口服每日3次，共3天。")
    assert (found[("vital_sign", "体温38.5℃")].value, found[("vital_sign", "体温38.5℃")].unit) == ("38.5", "℃")
    assert found[("vital_sign", "血压120/80mmHg")].value == "120/80"
    assert found[("vital_sign", "心率88次/分")].attributes["name"] == "心率"
    drug = found[("drug", "阿莫西林胶囊")]
    assert drug.attributes == {"dose": "0.5", "unit": "g", "route": "口服", "frequency": "每日3次", "duration": "3天"}


def test_offsets_point_into_the_text() -> None:
    text = "于我院行腹部B超示：回盲部壁增厚。行左半结肠切除术，术后予环磷酰胺化疗。"
    entities = extract_entities(text)
    assert entities and all(text[e.start : e.end] == e.text for e in entities)
    assert {("examination", "腹部B超"), ("procedure", "左半结肠切除术")} <= {(e.type, e.text) for e in entities}


def test_dictation_sections_and_commands() -> None:
    record = dictate_text(
        [
            ("主诉发热三天逗号伴咳嗽句号", 0.0, 3.0),
            ("现病史", 3.0, 4.0),
            ("患者三天前受凉后出现发热。", 4.0, 7.0),
            ("这句说错了句号删除上一句", 7.0, 9.0),
            ("下一项", 9.0, 10.0),
            ("有高血压病史", 10.0, 11.0),
            ("撤销", 11.0, 12.0),
            ("否认高血压病史句号换行无手术史。", 12.0, 15.0),
            ("查体：体温三十八点五度，血压一百二十比八十毫米汞柱。", 15.0, 20.0),
            ("诊断：上呼吸道感染。医嘱阿莫西林零点五克口服每日三次。", 20.0, 25.0),
        ]
    )
    sections = {s.name: s.text for s in record.sections}
    assert sections["主诉"] == "发热3天，伴咳嗽。"
    assert sections["现病史"] == "患者3天前受凉后出现发热。"  # the wrong sentence was deleted
    assert sections["既往史"] == "否认高血压病史。\n无手术史。"  # 撤销 undid 有高血压病史
    assert sections["体格检查"] == "体温38.5℃，血压120/80mmHg。"
    assert sections["初步诊断"] == "上呼吸道感染。"
    assert sections["医嘱"] == "阿莫西林0.5g口服每日3次。"
    assert [s.name for s in record.sections] == ["主诉", "现病史", "既往史", "体格检查", "初步诊断", "医嘱"]
    statement = record.section("现病史").statements[0]
    assert (statement.start, statement.end) == (4.0, 7.0)


def test_punctuation_names_inside_the_text_are_not_commands() -> None:
    builder = DictationBuilder()
    builder.feed("主诉：这个逗号要保留，发热一天。")
    assert builder.record().section("主诉").text == "这个逗号要保留，发热1天。"


def test_non_medical_speech_gives_an_empty_record_with_a_reason() -> None:
    record = dictate_text([("今天天气很好，我们去公园散步吧。", 0.0, 3.0)])
    assert record.empty and record.sections == [] and "not a clinical dictation" in record.reason
    draft = draft_consultation([SourceUtterance("周末去哪里玩？", "doctor"), SourceUtterance("去爬山吧。", "patient")])
    assert draft.empty and draft.reason


def test_consultation_draft_links_statements_to_utterances() -> None:
    dialogue = [
        SourceUtterance("孩子发烧两天了，还有点咳嗽。", "patient", "S1", 0.0, 3.0),
        SourceUtterance("最高体温多少？有没有拉肚子？", "doctor", "S0", 3.0, 6.0),
        SourceUtterance("没有拉肚子，最高三十九度。", "patient", "S1", 6.0, 9.0),
        SourceUtterance("之前得过肺炎吗？", "doctor", "S0", 9.0, 11.0),
        SourceUtterance("去年得过肺炎，住过院。", "patient", "S1", 11.0, 14.0),
        SourceUtterance("查过血常规吗？", "doctor", "S0", 14.0, 16.0),
        SourceUtterance("血常规正常。", "patient", "S1", 16.0, 18.0),
        SourceUtterance(
            "考虑是急性上呼吸道感染，可以吃布洛芬混悬液退烧，多喝水，注意休息。", "doctor", "S0", 18.0, 24.0
        ),
    ]
    assert doctor_by_questions(dialogue) == "S0"
    record = draft_consultation(dialogue)
    assert record.draft and record.mode == "consultation"
    sections = {s.name: s for s in record.sections}
    assert sections["主诉"].text.startswith("发烧2天")
    assert "无拉肚子" in sections["现病史"].text
    assert "肺炎" in sections["既往史"].text
    assert "血常规正常" in sections["辅助检查"].text
    assert sections["初步诊断"].text == "急性上呼吸道感染。"
    assert "布洛芬混悬液" in sections["医嘱"].text
    assert "多喝水" in sections["处理意见"].text
    denial = next(s for s in sections["现病史"].statements if s.text.startswith("无"))
    assert denial.utterances == [1, 2] and (denial.start, denial.end) == (3.0, 9.0)


def test_grounding_drops_an_invented_value_and_flags_it() -> None:
    transcript = "患者发热3天，体温38.5℃。予布洛芬口服。"
    assert ungrounded_values("发热3天，体温38.5℃。", transcript) == []
    assert ungrounded_values("体温39.5℃", transcript) == ["39.5"]
    assert ungrounded_values("予阿莫西林0.5g口服", transcript) == ["0.5", "g", "阿莫西林"]
    assert ungrounded_values("无发热", transcript) == ["否定：发热"]
    record = MedicalRecord("consultation", transcript=transcript)
    record.section("现病史").statements.append(Statement("发热3天，体温39.5℃。", source="llm"))
    record.section("医嘱").statements.append(Statement("阿莫西林0.5g口服。", source="llm"))
    ground_record(record)
    assert [s.name for s in record.sections] == ["现病史"]
    assert record.section("现病史").text == "发热3天，"
    assert {(f.section, f.value) for f in record.needs_review} == {
        ("现病史", "39.5"),
        ("医嘱", "0.5"),
        ("医嘱", "g"),
        ("医嘱", "阿莫西林"),
    }


def test_record_round_trips_through_json() -> None:
    record = dictate_text([("主诉：咳嗽3天。查体：体温38.5℃。", 0.0, 4.0)])
    again = MedicalRecord.from_dict(record.to_dict())
    assert again == record


def test_lexicon_hotwords_are_medical_terms() -> None:
    words = medical_lexicon().hotwords()
    assert "阿莫西林" in words and "上呼吸道感染" in words and all(len(w) >= 2 for w in words)


class _ScriptedModel:
    """A language model stand-in that answers with a fixed JSON text (the test is of the grounding around the
    model, not of the model)."""

    def __init__(self, answer: dict[str, str]) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def chat(self, messages: list[ChatMessage], options: ChatOptions) -> ChatResult:
        self.asked = sorted(options.json_schema["required"])
        return ChatResult(json.dumps(self.answer, ensure_ascii=False), 10, 10, "stop", 0.1)


def test_language_model_fill_keeps_only_grounded_values() -> None:
    dialogue = [
        SourceUtterance("孩子发烧两天了。", "patient"),
        SourceUtterance("体温多少？", "doctor"),
        SourceUtterance("三十九度。", "patient"),
    ]
    record = draft_consultation(dialogue)
    model = _ScriptedModel({"初步诊断": "病毒性感冒", "处理意见": "口服对乙酰氨基酚0.5g，多喝水。", "既往史": ""})
    added = fill_empty_sections(record, model.chat)
    assert "初步诊断" in model.asked and "主诉" not in model.asked  # only the empty sections are asked for
    sections = {s.name: s.text for s in record.sections}
    assert "既往史" not in sections and "初步诊断" not in sections  # empty answer; a diagnosis nobody said
    assert sections["处理意见"] == "多喝水。" and added == 1
    assert {f.value for f in record.needs_review} >= {"0.5", "g", "对乙酰氨基酚", "感冒"}


def test_section_names_after_a_comma_or_misheard_by_sound() -> None:
    # recognition writes pauses as commas and may spell 主诉 as 住宿 (same syllables, other tones)
    record = dictate_text([("住宿，发热三天。现病史，咳嗽两天，既往史，高血压。", 0.0, 6.0)])
    assert [(s.name, s.text) for s in record.sections] == [
        ("主诉", "发热3天。"),
        ("现病史", "咳嗽2天。"),
        ("既往史", "高血压。"),
    ]
    # a weak name (诊断) after a comma is text
    record = dictate_text([("主诉咳嗽。他的诊断，还要再看。", 0.0, 3.0)])
    assert [s.name for s in record.sections] == ["主诉"]


def test_consultation_prescription_and_allergy_denied_in_the_answer() -> None:
    record = draft_consultation(
        [
            SourceUtterance("孩子咳嗽三天了。", "patient"),
            SourceUtterance("有没有药物过敏？", "doctor"),
            SourceUtterance("没有。", "patient"),
            SourceUtterance("给你开点阿莫西林，一次一粒，一天三次，多喝水。", "doctor"),
        ]
    )
    assert record.statements_of("过敏史")[0].text == "无药物过敏史。"
    (allergy,) = record.statements_of("过敏史")[0].entities
    assert allergy.negated and allergy.attributes["substance"] == "药物"
    (order,) = record.statements_of("医嘱")
    assert order.text == "给你开点阿莫西林，一次1粒，每日3次。"
    drug = next(e for e in order.entities if e.type == "drug")
    assert drug.attributes == {"dose": "1", "unit": "粒", "frequency": "每日3次"}
    assert record.statements_of("处理意见")[0].text == "多喝水。"


def test_written_orders_with_run_together_abbreviations() -> None:
    text = "予CHOP方案：环磷酰胺1100MGIV，D1+长春新碱2MG，IV，D1+泼尼松10MGTID，D1-D14。"
    drugs = {e.text: e.attributes for e in extract_entities(text) if e.type == "drug"}
    assert drugs["环磷酰胺"] == {"dose": "1100", "unit": "mg", "route": "IV"}
    assert drugs["长春新碱"] == {"dose": "2", "unit": "mg", "route": "IV"}
    assert drugs["泼尼松"] == {"dose": "10", "unit": "mg", "frequency": "TID"}
    # the unit's written case is not a different unit
    assert ungrounded_values("环磷酰胺1100mg", text) == []


def test_a_dose_belongs_to_its_own_drug() -> None:
    # a later drug's dose, after a clause about something else, is not this drug's
    drugs = {e.text: e.attributes for e in extract_entities("口服替吉奥时出现皮疹等不适，行替加氟3.6G泵入。")}
    assert drugs["替吉奥"] == {}
    # a medicine named after what it treats is a drug, and a list of drugs gives none of them a dose
    text = "吃了布洛芬，感冒颗粒，还有一袋益生菌。"
    found = {(e.type, e.text): e.attributes for e in extract_entities(text) if e.type == "drug"}
    assert found[("drug", "感冒颗粒")] == {} and found[("drug", "布洛芬")] == {}

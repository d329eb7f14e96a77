"""Tests of the translation self-checks: each rule fires on a real mistake, and legitimate variation passes."""

from __future__ import annotations

from fractions import Fraction

import pytest

from shenggu.text.numbers_en_parse import parse_en_number
from shenggu.translate.checks import Problem, check_translation, corrective_hint
from shenggu.translate.drugs import find_drugs, lookup
from shenggu.translate.facts import extract_facts


def details(source: str, target: str, direction: str = "zh-en", glossary: dict[str, str] | None = None) -> list[str]:
    return [problem.detail for problem in check_translation(source, target, direction, glossary)]


# --------------------------------------------------------------------------------------------------------
# Each rule fires
# --------------------------------------------------------------------------------------------------------


def test_wrong_number() -> None:
    assert details("本案共有证人二十三名。", "There are 32 witnesses in this case.") == [
        "number 23 (二十三名) became 32"
    ]


def test_dropped_number() -> None:
    assert details("经核算，本月共计二十三。", "After checking, the total for this month is.") == [
        "number 23 (二十三) missing"
    ]


def test_dropped_amount_in_a_sentence() -> None:
    source = "法院判处被告有期徒刑三年，并处罚金5万元。"
    target = "The court sentenced the defendant to three years in prison and a fine."
    assert details(source, target) == ["number 50,000 CNY (5万元) missing"]


def test_added_number() -> None:
    assert details("请到窗口办理业务。", "Please go to window 5 for the service.") == [
        "number 5 added, not in the source"
    ]


def test_changed_unit() -> None:
    assert details("每次服用500毫克。", "Take 500 g each time.") == ["unit changed: 500 mg (500毫克) became 500 g"]


def test_changed_currency() -> None:
    assert [p.kind for p in check_translation("押金300美元。", "The deposit is 300 yuan.", "zh-en")] == ["unit"]


def test_wrong_date() -> None:
    source = "开庭日期为2023年3月5日。"
    assert details(source, "The hearing is on May 3, 2023.") == ["date March 5, 2023 (2023年3月5日) became May 3, 2023"]
    assert details(source, "The hearing is on March 5.") == ["date March 5, 2023 (2023年3月5日) became March 5"]


def test_wrong_time_and_weekday() -> None:
    source = "请于星期一下午3点到服务大厅领取证件。"
    target = "Please collect your certificate at the service hall at 3 a.m. on Tuesday."
    assert details(source, target) == [
        "time 15:00 (下午3点) became 03:00 (3 a.m.)",
        "weekday Monday (星期一) became Tuesday",
    ]


def test_negative_temperature_lost_its_sign() -> None:
    assert details("明天最低气温零下5度。", "Tomorrow's low is 5 degrees.") == [
        "number -5 degree (零下5度) became 5 degree (5 degrees)"
    ]


def test_percentage_from_cheng() -> None:
    assert details("约三成患者出现副作用。", "About 3% of patients had side effects.") == [
        "number 30% (三成) became 3%"
    ]


def test_dropped_drug() -> None:
    assert details("医生开了阿莫西林和布洛芬。", "The doctor prescribed amoxicillin.") == [
        "drug ibuprofen (布洛芬) missing"
    ]


def test_swapped_drug() -> None:
    source = "患者对青霉素过敏，改用阿莫西林。"
    target = "The patient is allergic to penicillin and was switched to aspirin."
    assert details(source, target) == ["drug amoxicillin (阿莫西林) became aspirin"]


def test_added_drug_en_zh() -> None:
    assert details("Take ibuprofen after meals.", "饭后服用布洛芬和阿司匹林。", "en-zh") == [
        "drug aspirin (阿司匹林) added, not in the source"
    ]


def test_glossary_violation() -> None:
    glossary = {"原告": "plaintiff", "被告": "defendant"}
    source = "原告要求被告赔偿损失。"
    assert details(source, "The claimant asked the defendant for compensation.", glossary=glossary) == [
        "glossary: 原告 must be translated as 'plaintiff'"
    ]
    assert details(source, "The plaintiffs asked the defendant for compensation.", glossary=glossary) == []


def test_dropped_latin_code() -> None:
    assert details("请乘坐G101次列车前往北京。", "Please take the train to Beijing.") == [
        "'G101' missing: names and codes must stay as written"
    ]
    # a brand or an organization must stay exactly as written
    assert [p.kind for p in check_translation("WHO发布了新指南。", "The who released new guidelines.", "zh-en")] == [
        "latin"
    ]


def test_dropped_code_en_zh() -> None:
    assert details("Flight CA981 departs at 14:30.", "航班于14:30起飞。", "en-zh") == [
        "'CA981' missing: names and codes must stay as written"
    ]


def test_wrong_number_en_zh() -> None:
    source = "The twenty-three-year-old defendant was fined $3,500."
    assert details(source, "二十三岁的被告被罚款350美元。", "en-zh") == [
        "number 3500 dollar ($3,500) became 350 USD (350美元)"
    ]


# --------------------------------------------------------------------------------------------------------
# Legitimate variation passes
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["The fine is 5,000 yuan.", "The fine is 5000 yuan.", "The fine is RMB 5,000."])
def test_thousand_separators_and_currency_forms(target: str) -> None:
    assert details("罚款5000元。", target) == []


@pytest.mark.parametrize(
    "target",
    [
        "He was fined 50,000 yuan.",
        "He was fined 50 thousand yuan.",
        "He was fined fifty thousand yuan.",
        "He was fined ¥50,000.",
    ],
)
def test_wan_as_thousands(target: str) -> None:
    assert details("他被罚款5万元。", target) == []


def test_yi_as_millions_and_billions() -> None:
    assert details("原告索赔1.2亿元。", "The plaintiff claims 120 million yuan.") == []
    assert details("Revenue reached $1.5 billion.", "收入达到15亿美元。", "en-zh") == []


@pytest.mark.parametrize(
    "target",
    [
        "The hearing is on March 5, 2023.",
        "The hearing is on 5 March 2023.",
        "The hearing is on the 5th of March, 2023.",
        "The hearing is on Mar. 5th, 2023.",
        "The hearing is on 2023-03-05.",
        "The hearing is on 3/5/2023.",
    ],
)
def test_dates_in_english_formats(target: str) -> None:
    assert details("开庭日期为2023年3月5日。", target) == []


@pytest.mark.parametrize(
    "target",
    [
        "The hearing starts at 3 pm.",
        "The hearing starts at 3:00 p.m.",
        "The hearing starts at 15:00.",
        "The hearing starts at three o'clock in the afternoon.",
        "The hearing starts at 3 in the afternoon.",
    ],
)
def test_afternoon_times(target: str) -> None:
    assert details("下午三点开庭。", target) == []


def test_number_words_and_chinese_numerals() -> None:
    assert details("本案共有证人二十三名。", "There are twenty-three witnesses in this case.") == []
    assert details("两名被告到庭。", "Two defendants appeared in court.") == []
    assert details("从这里到医院一百公里。", "It is 100 kilometres from here to the hospital.") == []
    assert details("There are 23 witnesses.", "共有二十三名证人。", "en-zh") == []


@pytest.mark.parametrize("target", ["The surgery lasted 1.5 hours.", "The surgery lasted an hour and a half.",
                                    "The surgery lasted 90 minutes."])  # fmt: skip
def test_half_hours(target: str) -> None:
    assert details("手术持续了一个半小时。", target) == []


@pytest.mark.parametrize("target", ["This is the third hearing.", "This is the 3rd hearing."])
def test_ordinals(target: str) -> None:
    assert details("这是第三次开庭。", target) == []


def test_percentages() -> None:
    assert details("约三成患者出现副作用。", "About 30 percent of patients had side effects.") == []
    assert details("三分之二的患者康复了。", "Two thirds of the patients recovered.") == []


def test_converted_units() -> None:
    assert details("该药每片含0.25克。", "Each tablet contains 250 mg.") == []
    assert details("连续服药七天。", "Take the medicine for a week.") == []


def test_words_with_numerals_are_not_numbers() -> None:
    assert details("我们一起去吃饭吧，他一个人来的。", "Let's go and eat together; he came alone.") == []
    assert details("二审法院维持原判。", "The court of second instance upheld the original judgment.") == []
    assert details("他三天两头往医院跑，十分辛苦。", "He goes to the hospital every other day; it is very hard.") == []


def test_approximate_numbers_and_clock_words() -> None:
    assert (
        details(
            "地震造成百余人受伤，十多个村庄受灾。", "The quake injured over a hundred people in more than ten villages."
        )
        == []
    )
    assert (
        details("列车早上7:05出发，10点15分到达。", "The train leaves at 7:05 a.m. and arrives at a quarter past ten.")
        == []
    )
    assert details("今天三点开会。", "The meeting is at three today.") == []


def test_drug_synonyms() -> None:
    assert details("发热时服用对乙酰氨基酚。", "Take paracetamol for fever.") == []
    assert details("Take acetaminophen for fever.", "发热时服用扑热息痛。", "en-zh") == []


def test_hospital_sentence_both_directions() -> None:
    zh = "患者男，45岁，体温38.5℃，血压140/90毫米汞柱，予头孢曲松2克静脉滴注，每日1次，共5天。"
    en = (
        "Male patient, 45 years old, temperature 38.5°C, blood pressure 140/90 mmHg, given 2 g of ceftriaxone "
        "intravenously once a day for 5 days."
    )
    assert details(zh, en) == []
    assert details(en, zh, "en-zh") == []


def test_court_sentence() -> None:
    source = "2023年3月5日（星期日）上午9点30分，第二法庭公开审理原告张某诉被告李某借款合同纠纷一案，涉案金额12万元。"
    target = (
        "At 9:30 a.m. on Sunday, March 5, 2023, Courtroom 2 publicly heard the loan contract dispute between "
        "plaintiff Zhang and defendant Li, involving 120,000 yuan."
    )
    assert details(source, target, glossary={"原告": "plaintiff", "被告": "defendant"}) == []


def test_service_hall_and_news_sentences() -> None:
    hall = "办理营业执照需要3至5个工作日，费用为200元，请携带身份证原件。"
    assert (
        details(hall, "A business licence takes 3 to 5 working days and costs 200 yuan; bring your original ID.") == []
    )
    news = "The company's revenue rose 12.5% to $1.5 billion in the third quarter, the WHO said on Friday."
    assert details(news, "世界卫生组织周五表示，该公司第三季度收入增长12.5%，达到15亿美元。", "en-zh") == []


# --------------------------------------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------------------------------------


def test_corrective_hint() -> None:
    assert corrective_hint([]) == ""
    hint = corrective_hint([Problem("drug", "drug amoxicillin (阿莫西林) became aspirin")])
    assert "drug amoxicillin (阿莫西林) became aspirin" in hint
    assert "\n" not in hint


def test_unknown_direction() -> None:
    with pytest.raises(ValueError, match="direction"):
        check_translation("你好", "hello", "zh-fr")


@pytest.mark.parametrize(
    ("words", "value"),
    [
        ("twenty-three", Fraction(23)),
        ("one hundred and five", Fraction(105)),
        ("two thousand three hundred", Fraction(2300)),
        ("a million", Fraction(10**6)),
        ("1.2 million", Fraction(1_200_000)),
        ("two thirds", Fraction(2, 3)),
        ("one and a half", Fraction(3, 2)),
        ("twenty-first", Fraction(21)),
        ("twenty twenty-three", None),
    ],
)
def test_parse_en_number(words: str, value: Fraction | None) -> None:
    assert parse_en_number(words) == value


def test_drug_lexicon_prefers_the_longest_name() -> None:
    assert [m.drug.name for m in find_drugs("左氧氟沙星和阿莫西林克拉维酸钾")] == ["levofloxacin", "co-amoxiclav"]
    assert lookup("Paracetamol") is lookup("对乙酰氨基酚")


def test_fact_surfaces_are_from_the_original_text() -> None:
    facts = extract_facts("患者二十三岁，二〇二三年三月五日入院。", "zh")
    assert [(f.kind, f.describe(), f.surface) for f in facts] == [
        ("number", "23 year", "二十三岁"),
        ("date", "March 5, 2023", "二〇二三年三月五日"),
    ]


def test_spaced_chinese_dates_and_english_proportions_pass() -> None:
    # Found on the dev pairs: news text spaces digits from 年/月/日; "one in five" is a fraction in Chinese.
    assert check_translation("电影将于 2021 年 7 月 16 日发行。", "The film opens on July 16, 2021.", "zh-en") == []
    assert check_translation("One in five students stayed home.", "五分之一的学生待在家里。", "en-zh") == []
    wrong = check_translation("电影将于 2021 年 7 月 16 日发行。", "The film opens on July 17, 2021.", "zh-en")
    assert wrong and wrong[0].kind == "date"

"""Numbers and units as clinicians write them: 体温38.5℃, 血压120/80mmHg, 心率88次/分, 0.5g, 每日3次, 3天.

Runs after the general inverse normalization (``shenggu.nlp.itn``), which leaves single numerals in words
(三天, 每日三次) because in everyday speech they are as often words as quantities. In a clinical record a
number before a unit, a dose or a duration is a quantity, so this pass converts those. It never adds a value
or a unit that was not said: 心率八十八 stays without 次/分; only spoken units are rewritten to their symbols
(毫克 → mg, 摄氏度 → ℃; 度 only after a temperature word)."""

from __future__ import annotations

import re
from collections.abc import Callable

from shenggu.nlp.itn import inverse_normalize
from shenggu.text.numbers_zh import ZH_DIGIT_VALUES, parse_zh_positional

_ZH_NUM = "[零〇一二两三四五六七八九十百千]+(?:点[零〇一二三四五六七八九]+)?"
NUMBER = rf"(?:\d+(?:\.\d+)?|{_ZH_NUM})"
_NUM = f"({NUMBER})"
_LINK = "(?:是|为|有|：|:)?"
# Spoken unit → the symbol records use. Longest first, so 毫克 is not read as 克.
UNIT_SYMBOLS: dict[str, str] = {
    "毫米汞柱": "mmHg",
    "摄氏度": "℃",
    "国际单位": "IU",
    "毫克": "mg",
    "微克": "μg",
    "毫升": "ml",
    "千克": "kg",
    "公斤": "kg",
    "厘米": "cm",
    "毫米": "mm",
    "克": "g",
    "升": "L",
}
_UNIT_WORDS = "|".join(sorted(UNIT_SYMBOLS, key=len, reverse=True))
_UNIT_ALTERNATIVES = "mmHg|℃|°C|IU|mg|μg|ug|ml|mL|kg|cm|mm|g|L"
_COUNT_WORDS = "天|日|周|个月|月|年|小时|分钟|岁|片|粒|袋|支|滴|次/分"
# Words before a numeral that make it part of an ordinal or a vague expression (第三天, 同一天, 每一天).
_NOT_A_QUANTITY = "第每同这那有某哪"


def zh_number(text: str) -> str | None:
    """Digits of a spoken or written number: ``三十八点五`` → ``38.5``, ``零点五`` → ``0.5``, ``两`` → ``2``,
    ``12`` → ``12``; ``None`` when it does not read as one number."""
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return text
    whole, _, fraction = text.partition("点")
    value = parse_zh_positional(whole) if whole else None
    if value is None:
        return None
    if not fraction:
        return str(value)
    digits = "".join(str(ZH_DIGIT_VALUES[c]) for c in fraction if c in ZH_DIGIT_VALUES)
    return f"{value}.{digits}" if len(digits) == len(fraction) else None


def split_pair(text: str, low: int, high: int) -> tuple[str, str] | None:
    """Two numbers run together in speech (血压一百二十八十 → 120, 80), each within ``low``..``high``."""
    for cut in range(1, len(text)):
        left, right = zh_number(text[:cut]), zh_number(text[cut:])
        if left and right and "." not in left + right and low <= int(left) <= high and low // 2 <= int(right) <= high:
            return left, right
    return None


def _sub(pattern: str, render: Callable[[re.Match[str]], str | None]) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def apply(text: str) -> str:
        return compiled.sub(lambda m: render(m) or m.group(0), text)

    return apply


def _temperature(m: re.Match[str]) -> str | None:
    value = zh_number(m.group(2))
    tenth = m.group(3)
    if value is None:
        return None
    if tenth:  # 三十七度二: the colloquial 37.2
        digit = zh_number(tenth)
        if "." in value or digit is None or len(digit) != 1:
            return None
        value = f"{value}.{digit}"
    return f"{m.group(1)}{value}℃"


def _blood_pressure(m: re.Match[str]) -> str | None:
    first, second, unit = m.group(2), m.group(3), m.group(4) or ""
    if second:
        pair = (zh_number(first), zh_number(second))
    else:
        pair = split_pair(first, 40, 300) if not first.isdigit() else None
    if pair is None or None in pair:
        return None
    return f"{m.group(1)}{pair[0]}/{pair[1]}{'mmHg' if unit else ''}"


def _rate(m: re.Match[str]) -> str | None:
    value = zh_number(m.group(2))
    return f"{m.group(1)}{value}次/分" if value else None


def _saturation(m: re.Match[str]) -> str | None:
    value = zh_number(m.group(2) or m.group(3))
    return f"{m.group(1)}{value}%" if value else None


def _with_unit(m: re.Match[str]) -> str | None:
    value = zh_number(m.group(1))
    return f"{value}{UNIT_SYMBOLS[m.group(2)]}" if value else None


def _frequency(m: re.Match[str]) -> str | None:
    value = zh_number(m.group(1))
    return f"每日{value}次" if value else None


def _interval(m: re.Match[str]) -> str | None:
    hours, times = zh_number(m.group(1)), zh_number(m.group(2))
    return f"每{hours}小时{times}次" if hours and times else None


def _count(m: re.Match[str]) -> str | None:
    value = zh_number(m.group(1))
    return f"{value}{m.group(2)}" if value else None


_RULES: tuple[Callable[[str], str], ...] = (
    _sub(rf"(体温|温度|最高体温|最高温度){_LINK}{_NUM}(?:摄氏度|度|℃|°C)([一二三四五六七八九])?", _temperature),
    _sub(rf"(血压){_LINK}{_NUM}(?:比|/|除以|到|、)?({NUMBER})?(毫米汞柱|mmHg)?", _blood_pressure),
    _sub(rf"(心率|脉搏|呼吸频率|呼吸){_LINK}{_NUM}次?(?:每分钟|每分|/分钟|/分|/min)", _rate),
    _sub(rf"(血氧饱和度|氧饱和度|血氧){_LINK}(?:百分之{_NUM}|{_NUM}%)", _saturation),
    _sub(rf"{_NUM}({_UNIT_WORDS})", _with_unit),
    _sub(rf"(?:每日|每天|一日|一天|日){_NUM}次", _frequency),
    _sub(rf"每{_NUM}(?:个)?小时{_NUM}次", _interval),
    _sub(rf"(?<![{_NOT_A_QUANTITY}零〇一二两三四五六七八九十百千点\d]){_NUM}({_COUNT_WORDS})", _count),
)


def normalize_clinical(text: str) -> str:
    """Clinical written form of recognized Mandarin text (general ITN first, then the clinical rules)."""
    text = inverse_normalize(text)
    for rule in _RULES:
        text = rule(text)
    return text


UNIT_PATTERN = _UNIT_ALTERNATIVES  # the written units, for extraction rules

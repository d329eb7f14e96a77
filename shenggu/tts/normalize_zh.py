"""Mandarin text normalization (written → spoken) of one clause: regex pre-passes, then wetext's TN.

    normalize_zh("下午3:15开会，电话13812345678") → "下午三点十五分开会，电话幺三八 幺二三四 五六七八"

The pre-pass reads here what wetext (0.1.8) reads wrongly: landline and hotline numbers are read with 一 and
without grouping (010-12345678 → 零一零一二…), so phone numbers are read here (幺, grouped); thousands
separators break numbers (1,234 → 一,两百三十四); ``10%-20%`` → 百分之十百分之负二十 and ``10-20%`` →
十月二日百分之零; a hyphen after Latin letters is a minus sign (GPT-4 → GPT负四); ``12:00:30`` drops its
zero minutes (十二点三十秒); ``7×24`` reads 24 digit by digit; ``20.00元`` → 二十点零零元; codes such as
train G101 are read as amounts (G一百零一), so letters followed by digits are read digit by digit (G幺零幺).
wetext runs only when a digit is left; digits it leaves are read one by one by
:func:`shenggu.tts.normalize.normalize_clause`.
"""

from __future__ import annotations

import re

from shenggu.text.numbers_zh import zh_digits
from shenggu.tts.wetext_tn import TIMES_SIGN, wetext_normalize

_ZH_PHONE = re.compile(
    r"(?<![\d.])(?:(?P<cc>\+86)[\s-]?)?(?:"
    r"(?P<mobile>1[3-9]\d[\s-]?\d{4}[\s-]?\d{4})"
    r"|(?P<landline>\(0\d{2,3}\)\s?\d{7,8}|0[1-9]\d{1,2}-\d{7,8}|0[1-9]\d{1,2}\s?[2-9]\d{6,7})"
    r"|(?P<hotline>[48]00[\s-]?\d{3}[\s-]?\d{4})"
    r")(?![\d.])"
)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_ZH_BELOW_ZERO = re.compile(r"(?<![\d.])-(?=\d+(?:\.\d+)?\s*(?:℃|°C|度))")
_ZH_PERCENT_RANGE = re.compile(r"(\d+(?:\.\d+)?)%?\s*[-~～—–至到]\s*(\d+(?:\.\d+)?%)")
_LATIN_HYPHEN_DIGIT = re.compile(r"(?<=[A-Za-z])-(?=\d)")
_ZERO_MINUTES = re.compile(r"(?<![\d:])(\d{1,2}):00:(\d{2})(?![\d:])")
_ZH_MONEY = re.compile(
    r"(?P<pre>[¥￥$€£]\s?)?(?P<int>\d+)\.(?P<frac>\d+)(?P<post>元|块|美元|欧元|英镑|日元|港元|港币)?"
)
_NUMBER_SIGN = re.compile(r"\bNo\.\s?(?=\d)")
# Codes of letters then digits (train G101, flight CA1831, room A302) are read digit by digit, 1 as 幺.
_LATIN_CODE = re.compile(r"(?<![A-Za-z])([A-Z]{1,3})(\d{2,5})(?![\d.%])")


def _zh_phone(match: re.Match[str]) -> str:
    """A phone number read digit by digit with 幺 for 1, in its groups: 幺三八 幺二三四 五六七八."""
    number = next(match.group(k) for k in ("mobile", "landline", "hotline") if match.group(k))
    groups = re.findall(r"\d+", number)
    if len(groups) == 1:
        digits = groups[0]
        if match.group("mobile"):
            groups = [digits[:3], digits[3:7], digits[7:]]
        elif match.group("landline"):
            area = 3 if digits[1] in "12" else 4  # 010, 021…: three-digit area codes
            groups = [digits[:area], digits[area:]]
        else:
            groups = [digits[:3], digits[3:6], digits[6:]]
    spoken = " ".join(zh_digits(g, yao=True) for g in groups)
    return f"加八六 {spoken}" if match.group("cc") else spoken


def _zh_money(match: re.Match[str]) -> str:
    """Trailing zeros of an amount are not read: 20.00元 → 20元, ¥5.20 → ¥5.2 (五点二元, not 五点二零元)."""
    if not match.group("pre") and not match.group("post"):
        return match.group(0)
    fraction = match.group("frac").rstrip("0")
    number = f"{match.group('int')}.{fraction}" if fraction else match.group("int")
    return f"{match.group('pre') or ''}{number}{match.group('post') or ''}"


def _zh_prepass(text: str) -> str:
    text = _ZH_PHONE.sub(_zh_phone, text)
    text = _LATIN_CODE.sub(lambda m: m.group(1) + zh_digits(m.group(2), yao=True), text)
    text = _THOUSANDS.sub("", text)
    text = _ZH_BELOW_ZERO.sub("零下", text)
    text = _ZH_PERCENT_RANGE.sub(r"\1%到\2", text)
    text = _LATIN_HYPHEN_DIGIT.sub(" ", text)
    text = _ZERO_MINUTES.sub(r"\1点零分\2秒", text)
    text = _ZH_MONEY.sub(_zh_money, text)
    text = TIMES_SIGN.sub("乘", text)
    return _NUMBER_SIGN.sub("第", text)


def normalize_zh(text: str) -> str:
    """Written → spoken form of a clause of Mandarin text (full-width digits already folded to ASCII)."""
    text = _zh_prepass(text)
    if any(ch.isdigit() for ch in text):
        text = wetext_normalize(text, "zh")
    return text


__all__ = ["normalize_zh"]

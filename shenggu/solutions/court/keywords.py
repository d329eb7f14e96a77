"""Indexes of a hearing's text: legal terms (with counts), money amounts and dates, by utterance."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Terms a reader of a hearing record looks up: procedure (civil, criminal, administrative), evidence, contracts
# and debts, torts, criminal charges and sentencing. Party roles themselves (原告, 被告) are left out: they occur
# in nearly every sentence and would swamp the index.
LEGAL_TERMS: tuple[str, ...] = (
    # procedure
    "案由", "管辖", "管辖权异议", "回避", "申请回避", "当事人", "诉讼参与人", "法定代理人", "委托代理人",
    "诉讼代理人", "授权委托书", "起诉状", "答辩状", "答辩", "诉讼请求", "变更诉讼请求", "事实与理由",
    "法庭调查", "法庭辩论", "辩论", "辩论意见", "最后陈述", "陈述", "庭前会议", "开庭", "休庭", "闭庭",
    "延期审理", "宣判", "缺席判决", "调解", "调解书", "和解", "判决", "判决书", "裁定", "裁定书", "上诉",
    "撤诉", "反诉", "再审", "一审", "二审", "驳回", "驳回诉讼请求", "诉讼时效", "诉讼费", "案件受理费",
    "财产保全", "证据保全", "强制执行", "送达", "传票", "法律依据", "法律关系",
    # evidence
    "举证", "质证", "举证责任", "举证期限", "质证意见", "证据", "证据清单", "书证", "物证", "证人证言",
    "视听资料", "电子数据", "鉴定意见", "司法鉴定", "勘验笔录", "真实性", "合法性", "关联性", "证明目的",
    "原件", "复印件",
    # contracts, debts and security
    "合同", "借款合同", "民间借贷", "买卖合同", "租赁合同", "劳动合同", "借条", "欠条", "收条", "借款",
    "还款", "本金", "利息", "利率", "逾期利息", "违约", "违约金", "违约责任", "定金", "履行", "解除合同",
    "合同无效", "担保", "保证人", "保证责任", "连带责任", "抵押", "质押", "债权", "债务", "债权人",
    "债务人", "夫妻共同债务", "转账", "银行流水", "催收",
    # torts and damages
    "侵权", "侵权责任", "不当得利", "过错", "赔偿", "损害赔偿", "赔偿损失", "精神损害抚慰金", "医疗费",
    "误工费", "人身损害",
    # criminal procedure and sentencing
    "公诉", "起诉书", "公诉意见", "被告人", "被害人", "辩护", "辩护意见", "罪名", "犯罪事实", "犯罪嫌疑人",
    "故意", "过失", "自首", "坦白", "立功", "累犯", "认罪认罚", "从轻处罚", "减轻处罚", "从重处罚",
    "量刑", "量刑建议", "有期徒刑", "无期徒刑", "拘役", "管制", "缓刑", "罚金", "没收财产",
    "剥夺政治权利", "取保候审", "逮捕", "刑事拘留", "羁押", "谅解", "谅解书", "退赃", "退赔",
    "附带民事诉讼", "盗窃", "诈骗",
    # administrative
    "行政行为", "行政处罚", "行政复议", "行政许可", "行政机关", "行政赔偿", "第三人", "听证",
)  # fmt: skip


@dataclass
class KeywordHit:
    """A lexicon term found in the record: how often, and in which utterances (indices, ascending)."""

    term: str
    count: int
    utterances: list[int]


@dataclass
class Mention:
    """A money amount or date as written, with the index of its utterance and its character offset there."""

    text: str
    utterance: int
    offset: int


# Every repeated piece below has a bounded length and is anchored against digits or numerals before it, so a
# long run of digits or numerals costs linear time instead of backtracking over every split of the run.
_CN_DIGITS = "零〇一二两三四五六七八九"
_CN_NUMBER = f"(?<![{_CN_DIGITS}十百千万亿几])[{_CN_DIGITS}十百千万亿几]{{1,20}}(?:点[{_CN_DIGITS}]{{1,6}})?"
_DIGITS = r"(?<![\d.,])\d{1,15}(?:,\d{3}){0,5}(?:\.\d{1,4})?[十百千万亿]{0,2}"
_NUMBER = f"(?:{_DIGITS}|{_CN_NUMBER})"
_CURRENCY = "(?:元|圆|块钱|美元|港元|港币|欧元|日元)"
_PREFIX = r"(?:人民币|RMB|¥|￥)"

_AMOUNT = re.compile(
    # 5万元, 1000多元, 人民币50,000.00元, 一两万元; with a currency prefix the unit may be left out: ¥3000
    rf"(?:{_PREFIX}\s?)?{_NUMBER}[余多]?{_CURRENCY}整?|{_PREFIX}\s?{_NUMBER}"
    # 三块五, 100块; a bare 一块 is left out below (一块儿, 这一块: together, this part)
    rf"|(?P<kuai>{_NUMBER}块(?!儿)(?:钱|[{_CN_DIGITS}\d]毛?)?)"
)

_MONTH = "(?:(?<!\\d)(?:1[0-2]|0?[1-9])|十[一二]?|[一二三四五六七八九])月"
_DAY = "(?:(?:3[01]|[12]\\d|0?[1-9])(?!\\d)|三十一?|二?十[一二三四五六七八九]?|[一二三四五六七八九])[日号]"
_YEAR = r"(?<!\d)(?:19|20)\d{2}年"
_RELATIVE_YEAR = "(?:今年|去年|前年|明年|同年|当年|次年)"
_DATE = re.compile(
    r"(?<!\d)(?:19|20)\d{2}([-/.])(?:1[0-2]|0?[1-9])\1(?:3[01]|[12]\d|0?[1-9])(?!\d)"  # 2023-03-05
    rf"|{_YEAR}(?:{_MONTH}(?:{_DAY})?)?"  # 2023年3月5日, 2023年3月, 2023年
    rf"|{_RELATIVE_YEAR}{_MONTH}(?:{_DAY})?"  # 今年3月, 去年十二月一日
    rf"|{_MONTH}{_DAY}"  # 3月5日, 三月五号
)


def index_keywords(texts: Sequence[str], terms: Sequence[str] = LEGAL_TERMS) -> list[KeywordHit]:
    """Count each term of ``terms`` in ``texts`` (one text per utterance), most frequent first.

    The longest term wins where terms overlap, so 借款合同 is not counted again as 合同 at the same place.
    """
    unique = sorted({t for t in terms if t}, key=len, reverse=True)
    if not unique:
        return []
    # An alternation tries its branches in order, so longest-first gives the longest term at each position.
    pattern = re.compile("|".join(map(re.escape, unique)))
    hits: dict[str, KeywordHit] = {}
    for index, text in enumerate(texts):
        for match in pattern.finditer(text):
            hit = hits.setdefault(match.group(), KeywordHit(match.group(), 0, []))
            hit.count += 1
            if not hit.utterances or hit.utterances[-1] != index:
                hit.utterances.append(index)
    # dicts keep insertion order, so equal counts stay in order of first occurrence
    return sorted(hits.values(), key=lambda h: -h.count)


def find_amounts(texts: Sequence[str]) -> list[Mention]:
    """Money amounts in ``texts`` (one text per utterance): 5万元, 人民币1,000元, ¥3000, 一两万元, 三块五."""
    return [
        Mention(m.group(), index, m.start())
        for index, text in enumerate(texts)
        for m in _AMOUNT.finditer(text)
        if m.group("kuai") is None or _is_kuai_amount(m.group("kuai"))
    ]


def find_dates(texts: Sequence[str]) -> list[Mention]:
    """Dates in ``texts`` (one text per utterance): 2023年3月5日, 2023年3月, 3月5日, 2023-03-05, 今年3月."""
    return [Mention(m.group(), index, m.start()) for index, text in enumerate(texts) for m in _DATE.finditer(text)]


def _is_kuai_amount(text: str) -> bool:
    # 一块 alone is much more often "together" or "a piece" than one yuan; 一块钱 and 一块五 are money
    return not text.startswith("一块") or len(text) > 2

"""Text tools: segmentation, keywords, ITN/TN, pinyin, simplified/traditional, sentiment and PII masking, as
library calls, through ``/v1/text/...`` on a real server, and on the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from typer.testing import CliRunner

from shenggu.cli.main import app as cli_app
from shenggu.config import Settings
from shenggu.errors import InvalidOptionError
from shenggu.nlp.convert import convert
from shenggu.nlp.mask import mask_text
from shenggu.nlp.pinyin import to_pinyin
from shenggu.nlp.segment import keywords, segment
from shenggu.nlp.sentiment import sentiment
from shenggu.nlp.textnorm import normalize
from shenggu.service.app import create_app
from tests.servers import call_as, running_server, tenant_keys

ASR_TEXT = "语音识别把人说的话转成文字。语音识别系统需要声学模型和语言模型。很多医院用语音识别写病历。"
POSITIVE = "物流很快，包装完好，东西质量不错，非常满意。"
NEGATIVE = "质量太差了，用了两天就坏了，客服也不理人，非常失望。"


def id_number(first17: str) -> str:
    """An 18-character ID number with its ISO 7064 MOD 11-2 check character, computed here independently."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def luhn_ok(digits: str) -> bool:
    doubled = [int(d) * (2 if i % 2 else 1) for i, d in enumerate(reversed(digits))]
    return sum(d - 9 if d > 9 else d for d in doubled) % 10 == 0


def card_number(first: str) -> str:
    """``first`` plus the digit that makes it pass the Luhn check."""
    return next(first + d for d in "0123456789" if luhn_ok(first + d))


VALID_ID = id_number("11010519491231002")  # Beijing Dongcheng, born 1949-12-31
# Same digits, wrong check character, and (so it is no bank card either) failing the Luhn check.
BAD_ID = next(VALID_ID[:17] + c for c in "0123456789" if c != VALID_ID[17] and not luhn_ok(VALID_ID[:17] + c))
CARD = card_number("622202123456789")


# --------------------------------------------------------------------------------------------------------
# Library
# --------------------------------------------------------------------------------------------------------


def test_segmentation_of_known_sentences():
    text = "我在中国银行工作，用iPhone 15打电话。"
    result = segment(text)
    words = ["我", "在", "中国银行", "工作", "，", "用", "iPhone", "15", "打电话", "。"]
    assert [t.word for t in result.tokens] == words and result.language == "zh"
    assert all(text[t.start : t.end] == t.word for t in result.tokens)
    tagged = {t.word: t.pos for t in segment("我在中国银行工作", pos=True).tokens}
    assert tagged == {"我": "r", "在": "p", "中国银行": "nt", "工作": "vn"}
    search = [t.word for t in segment("我在中国银行工作", mode="search").tokens]
    assert {"中国", "银行", "中国银行"} <= set(search)
    full = [t.word for t in segment("中华人民共和国", mode="full").tokens]
    assert {"中华", "人民", "共和国", "中华人民共和国"} <= set(full) and "华" not in full


def test_english_is_cut_into_words():
    result = segment("Hello, world! It's 3.14 o'clock.", pos=True)
    assert result.language == "en"
    assert [(t.word, t.pos) for t in result.tokens] == [
        ("Hello", "eng"), (",", "x"), ("world", "eng"), ("!", "x"), ("It's", "eng"), ("3.14", "m"),
        ("o'clock", "eng"), (".", "x"),
    ]  # fmt: skip


def test_keywords_find_the_obvious_term():
    for method in ("tfidf", "textrank"):
        found = keywords(ASR_TEXT, top_k=5, method=method)
        assert found[0].word == "语音", (method, found)
        assert len(found) <= 5 and all(k.weight > 0 for k in found)
        assert [k.weight for k in found] == sorted((k.weight for k in found), reverse=True)
    english = keywords("Speech recognition turns speech into text. Speech models run on CPUs.", top_k=3)
    assert english[0].word == "speech"  # lower-cased: Speech and speech are one word
    with pytest.raises(InvalidOptionError):
        keywords(ASR_TEXT, method="lda")


def test_itn_and_tn_are_the_asr_and_tts_code():
    assert normalize("二零二三年三月五日下午三点十五分开会", "itn").text == "2023年3月5日下午3:15开会"
    assert normalize("共有1234人，占12.5%。", "tn").text == "共有一千二百三十四人，占百分之十二点五。"
    assert normalize("It costs 25 dollars.", "tn").to_dict() == {
        "text": "It costs twenty five dollars.",
        "mode": "tn",
        "language": "en",
    }
    # Lines and the blank line between them survive; each sentence is read in its own script.
    assert normalize("今天是3月5日。\n\nIt is 5 pm.", "tn").text == "今天是三月五日。\n\nIt is five PM."
    assert normalize("one two three", "itn").text == "one two three"  # ITN is Mandarin only
    with pytest.raises(InvalidOptionError):
        normalize("你好", "spoken")


def test_pinyin_reads_polyphones_by_word():
    assert to_pinyin("银行").text == "yín háng"
    assert to_pinyin("行走").text == "xíng zǒu"
    assert to_pinyin("银行行走", "numbers").text == "yin2 hang2 xing2 zou3"
    assert to_pinyin("绿色的", "numbers").text == "lü4 se4 de5"
    assert to_pinyin("我去银行，然后回家。", "none").text == "wo qu yin hang， ran hou hui jia。"
    assert to_pinyin("iPhone 手机").text == "iPhone shǒu jī"
    with pytest.raises(InvalidOptionError):
        to_pinyin("你好", "ipa")


def test_simplified_traditional_round_trip():
    simplified = "软件和鼠标在网络上，头发很长。"
    traditional = convert(simplified, "s2t").text
    assert traditional == "軟件和鼠標在網絡上，頭髮很長。"
    assert convert(traditional, "t2s").text == simplified
    assert convert("软件和鼠标", "s2twp").text == "軟體和滑鼠"  # Taiwan words, not just characters
    assert convert("軟體和滑鼠", "tw2sp").text == "软件和鼠标"
    with pytest.raises(InvalidOptionError):
        convert(simplified, "s2x")


@pytest.mark.slow
def test_sentiment_separates_clear_reviews_and_refuses_english():
    good, bad = sentiment(POSITIVE), sentiment(NEGATIVE)
    assert good.label == "positive" and good.score > 0.9
    assert bad.label == "negative" and bad.score < 0.1
    both = sentiment(POSITIVE + NEGATIVE)
    assert [s.label for s in both.sentences] == ["positive", "negative"]
    with pytest.raises(InvalidOptionError, match="Chinese"):
        sentiment("This product is great, I love it!")


def test_mask_phone_numbers_and_email():
    text = "手机13812345678，+86 139-1234-5678，座机010-62345678，邮箱zhang.san@example.com。"
    result = mask_text(text)
    assert result.text == "手机138****5678，+86 139-****-5678，座机010-****5678，邮箱z********@example.com。"
    assert [f.type for f in result.findings] == ["mobile", "mobile", "landline", "email"]
    assert len(result.text) == len(text)
    first = result.findings[0]
    assert text[first.start : first.end] == "13812345678"
    assert "13812345678" not in json.dumps(result.to_dict())


def test_mask_id_cards_only_with_a_valid_check_character():
    masked = mask_text(f"身份证号{VALID_ID}。")
    assert masked.text == f"身份证号{VALID_ID[:3]}{'*' * 11}{VALID_ID[-4:]}。"
    assert [f.type for f in masked.findings] == ["id_card"]
    wrong = mask_text(f"编号{BAD_ID}。")
    assert wrong.text == f"编号{BAD_ID}。" and wrong.findings == []
    legacy = mask_text("旧身份证110105491231002")  # 15 digits, born 1949-12-31
    assert legacy.text == "旧身份证110********1002" and legacy.findings[0].type == "id_card"
    assert mask_text("订单号110105491399002").findings == []  # month 13: not a birth date


def test_mask_bank_cards_that_pass_luhn():
    grouped = " ".join(CARD[i : i + 4] for i in range(0, 16, 4))
    result = mask_text(f"卡号{CARD}，或写作{grouped}。")
    assert result.text == f"卡号{CARD[:4]}********{CARD[-4:]}，或写作{CARD[:4]} **** **** {CARD[-4:]}。"
    assert [f.type for f in result.findings] == ["bank_card", "bank_card"]
    not_luhn = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)
    assert mask_text(f"流水号{not_luhn}").findings == []


def test_mask_sensitive_words_builtin_and_custom():
    result = mask_text("张三说他妈的真是傻逼，Fuck this shiitake.", words=["张三"])
    assert result.text == "**说***真是**，**** this shiitake."
    assert {f.type for f in result.findings} == {"sensitive_word"}
    assert mask_text("他妈的", builtin_words=False).findings == []
    only_email = mask_text("13812345678 a@b.cn", types=["email"])
    assert only_email.text == "13812345678 *@b.cn"
    with pytest.raises(InvalidOptionError):
        mask_text("x", types=["passport"])


# --------------------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = create_app(Settings(preload_models=False, job_workers=0, data_dir=tmp_path_factory.mktemp("data")))
    keys = tenant_keys(app, "clerk")
    with running_server(app) as base:
        yield base, keys["clerk"]


def post(server, tool: str, body: dict) -> httpx.Response:
    base, key = server
    return call_as(base, key, "POST", f"/v1/text/{tool}", json=body)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("tool", "body", "check"),
    [
        ("segment", {"text": "我在中国银行工作"}, lambda r: [w["word"] for w in r["words"]][2] == "中国银行"),
        ("segment", {"text": "我在中国银行工作", "pos": True}, lambda r: r["words"][2]["pos"] == "nt"),
        ("keywords", {"text": ASR_TEXT, "top_k": 3}, lambda r: r["keywords"][0]["word"] == "语音"),
        ("keywords", {"text": ASR_TEXT, "method": "textrank"}, lambda r: r["keywords"][0]["word"] == "语音"),
        ("normalize", {"text": "二零二三年三月五日", "mode": "itn"}, lambda r: r["text"] == "2023年3月5日"),
        ("normalize", {"text": "共有1234人", "mode": "tn"}, lambda r: r["text"] == "共有一千二百三十四人"),
        ("pinyin", {"text": "银行行走"}, lambda r: r["text"] == "yín háng xíng zǒu"),
        ("pinyin", {"text": "银行", "style": "numbers"}, lambda r: r["words"][0]["pinyin"] == ["yin2", "hang2"]),
        ("convert", {"text": "软件", "conversion": "s2t"}, lambda r: r["text"] == "軟件"),
        ("convert", {"text": "軟體", "conversion": "tw2sp"}, lambda r: r["text"] == "软件"),
        ("sentiment", {"text": POSITIVE}, lambda r: r["label"] == "positive" and "weak baseline" in r["model"]),
        ("sentiment", {"text": NEGATIVE}, lambda r: r["label"] == "negative"),
        (
            "mask",
            {"text": f"电话13812345678，身份证{VALID_ID}，卡{CARD}", "words": ["电话"]},
            lambda r: [f["type"] for f in r["findings"]] == ["sensitive_word", "mobile", "id_card", "bank_card"],
        ),
    ],
)
def test_each_endpoint_answers(server, tool, body, check):
    response = post(server, tool, body)
    assert response.status_code == 200, response.text
    assert check(response.json()), response.json()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("tool", "body", "status", "mentions"),
    [
        ("segment", {"text": ""}, 422, "text"),
        ("segment", {"text": "   "}, 422, "blank"),
        ("segment", {"text": "x" * 20_001}, 422, "text"),
        ("segment", {"text": "你好", "mode": "fast"}, 422, "mode"),
        ("segment", {"text": "你好", "pos": True, "mode": "search"}, 400, "accurate"),
        ("segment", {"text": "你好", "colour": "red"}, 422, "colour"),
        ("keywords", {"text": "你好", "top_k": 0}, 422, "top_k"),
        ("keywords", {"text": "你好", "method": "lda"}, 422, "method"),
        ("normalize", {"text": "你好"}, 422, "mode"),
        ("normalize", {"text": "你好", "mode": "asr"}, 422, "mode"),
        ("pinyin", {"text": "你好", "style": "ipa"}, 422, "style"),
        ("convert", {"text": "你好", "conversion": "s2x"}, 422, "conversion"),
        ("sentiment", {"text": "This is wonderful."}, 400, "Chinese"),
        ("mask", {"text": "你好", "types": ["passport"]}, 422, "types"),
        ("mask", {"text": "你好", "words": ["x" * 51]}, 422, "words"),
    ],
)
def test_bad_input_is_refused_with_a_json_error(server, tool, body, status, mentions):
    response = post(server, tool, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert mentions in error["message"], error
    if status == 400:
        assert error["code"] == "invalid_option"


@pytest.mark.slow
def test_a_key_is_needed_and_usage_is_metered(server):
    base, key = server
    refused = httpx.post(f"{base}/v1/text/segment", json={"text": "你好"}, timeout=60)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    post(server, "pinyin", {"text": "你好世界"})
    usage = call_as(base, key, "GET", "/v1/usage").json()
    assert "text" in json.dumps(usage)


# --------------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "stdout"),
    [
        (["segment", "我在中国银行工作"], "我 在 中国银行 工作"),
        (["segment", "--pos", "我在中国银行工作"], "我/r 在/p 中国银行/nt 工作/vn"),
        (["normalize", "二零二三年三月五日"], "2023年3月5日"),
        (["normalize", "--mode", "tn", "共有1234人"], "共有一千二百三十四人"),
        (["pinyin", "--style", "numbers", "银行行走"], "yin2 hang2 xing2 zou3"),
        (["convert", "-c", "t2s", "軟件和鼠標"], "软件和鼠标"),
        (["mask", "-w", "张三", "张三的手机13812345678"], "**的手机138****5678"),
    ],
)
def test_cli_commands(args, stdout):
    result = runner.invoke(cli_app, ["text", *args])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == stdout


@pytest.mark.slow
def test_cli_json_and_file(tmp_path):
    path = tmp_path / "review.txt"
    path.write_text(POSITIVE + NEGATIVE, encoding="utf-8")
    result = runner.invoke(cli_app, ["text", "sentiment", "--file", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [s["label"] for s in data["sentences"]] == ["positive", "negative"]
    keywords_out = runner.invoke(cli_app, ["text", "keywords", "-k", "2", ASR_TEXT])
    assert keywords_out.stdout.splitlines()[0].startswith("语音\t")


@pytest.mark.parametrize(
    "args",
    [
        ["sentiment", "This is great"],
        ["pinyin", "--style", "ipa", "你好"],
        ["segment", ""],
        ["segment", "--file", "/no/such/file.txt"],
        ["segment", "你好", "--format", "xml"],
        ["mask", "--type", "passport", "你好"],
    ],
)
def test_cli_errors_are_one_line_and_exit_2(args):
    result = runner.invoke(cli_app, ["text", *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid_option:"), result.stderr


@pytest.mark.slow
def test_the_installed_command():
    proc = subprocess.run(
        [sys.executable, "-m", "shenggu", "text", "pinyin", "银行"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "yín háng"

"""``shenggu text segment|keywords|normalize|pinyin|convert|sentiment|mask``: the text tools on the command line.

Each command reads the text from its argument, ``--file`` or standard input (``-``), and prints plain text or,
with ``--format json``, the same JSON the ``/v1/text/...`` endpoint answers.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from shenggu.cli.base import app, friendly_errors
from shenggu.errors import InvalidOptionError

text_app = typer.Typer(
    no_args_is_help=True,
    help="Text tools: words, keywords, ITN/TN, pinyin, simplified/traditional, sentiment, masking.",
)
app.add_typer(text_app, name="text")

TextArg = Annotated[str | None, typer.Argument(help="The text ('-' reads standard input; or use --file).")]
FileOpt = Annotated[Path | None, typer.Option("--file", help="Read the text from this UTF-8 file.")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="text or json.")]


def _read(text: str | None, file: Path | None, fmt: str) -> str:
    """The text to work on, from the argument, ``--file`` or stdin; the output format checked first."""
    if fmt not in ("text", "json"):
        raise InvalidOptionError(f"unknown format '{fmt[:20]}' (choose text or json)")
    if (text is None) == (file is None):
        raise InvalidOptionError("give the text as an argument or with --file, not both")
    if file is not None:
        if not file.is_file():
            raise InvalidOptionError(f"no such file: {file}")
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InvalidOptionError(f"{file} is not UTF-8 text") from None
    elif text == "-":
        text = sys.stdin.read()
    if not text or not text.strip():
        raise InvalidOptionError("the text is empty")
    return text


def _json(data: dict) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@text_app.command("segment")
@friendly_errors
def segment_command(
    text: TextArg = None,
    file: FileOpt = None,
    pos: Annotated[bool, typer.Option("--pos", help="Tag parts of speech (word/tag).")] = False,
    mode: Annotated[str, typer.Option(help="accurate, search or full.")] = "accurate",
    fmt: FormatOpt = "text",
) -> None:
    """Cut text into words (jieba for Mandarin, a word tokenizer for English)."""
    from shenggu.nlp.segment import segment

    result = segment(_read(text, file, fmt), pos, mode)
    if fmt == "json":
        _json(result.to_dict())
    else:
        typer.echo(" ".join(f"{t.word}/{t.pos}" if pos else t.word for t in result.tokens))


@text_app.command("keywords")
@friendly_errors
def keywords_command(
    text: TextArg = None,
    file: FileOpt = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="How many keywords (1-100).")] = 10,
    method: Annotated[str, typer.Option(help="tfidf or textrank.")] = "tfidf",
    fmt: FormatOpt = "text",
) -> None:
    """The most characteristic words of the text, with weights (TF-IDF or TextRank)."""
    from shenggu.nlp.segment import keywords

    found = keywords(_read(text, file, fmt), top_k, method)
    if fmt == "json":
        _json({"method": method, "keywords": [k.to_dict() for k in found]})
    else:
        for keyword in found:
            typer.echo(f"{keyword.word}\t{keyword.weight:.4f}")


@text_app.command("normalize")
@friendly_errors
def normalize_command(
    text: TextArg = None,
    file: FileOpt = None,
    mode: Annotated[str, typer.Option(help="itn (spoken → written, Mandarin) or tn (written → spoken).")] = "itn",
    language: Annotated[str, typer.Option(help="auto, zh or en.")] = "auto",
    fmt: FormatOpt = "text",
) -> None:
    """ITN (二零二三年 → 2023年), as ASR transcripts get it, or TN (2023年 → 二零二三年), as TTS reads."""
    from shenggu.nlp.textnorm import normalize

    result = normalize(_read(text, file, fmt), mode, language)
    if fmt == "json":
        _json(result.to_dict())
    else:
        typer.echo(result.text)


@text_app.command("pinyin")
@friendly_errors
def pinyin_command(
    text: TextArg = None,
    file: FileOpt = None,
    style: Annotated[str, typer.Option(help="marks (yín), numbers (yin2) or none (yin).")] = "marks",
    fmt: FormatOpt = "text",
) -> None:
    """Pinyin of Chinese text, polyphones read by word (银行 yín háng, 行走 xíng zǒu)."""
    from shenggu.nlp.pinyin import to_pinyin

    result = to_pinyin(_read(text, file, fmt), style)
    if fmt == "json":
        _json(result.to_dict())
    else:
        typer.echo(result.text)


@text_app.command("convert")
@friendly_errors
def convert_command(
    text: TextArg = None,
    file: FileOpt = None,
    conversion: Annotated[
        str, typer.Option("--conversion", "-c", help="s2t, t2s, s2tw, tw2s, s2twp, tw2sp, s2hk, hk2s, ...")
    ] = "s2t",
    fmt: FormatOpt = "text",
) -> None:
    """Simplified ↔ traditional Chinese (OpenCC; s2twp/tw2sp also convert words: 软件 ↔ 軟體)."""
    from shenggu.nlp.convert import convert

    result = convert(_read(text, file, fmt), conversion)
    if fmt == "json":
        _json(result.to_dict())
    else:
        typer.echo(result.text)


@text_app.command("sentiment")
@friendly_errors
def sentiment_command(text: TextArg = None, file: FileOpt = None, fmt: FormatOpt = "text") -> None:
    """Sentiment of Chinese text: a weak baseline (SnowNLP, trained on shopping reviews).

    Prints the label and P(positive) of the text, then of each sentence. Neutral statements score low (so come
    out negative), negation and sarcasm are missed; English is refused.
    """
    from shenggu.nlp.sentiment import sentiment

    result = sentiment(_read(text, file, fmt))
    if fmt == "json":
        _json(result.to_dict())
        return
    typer.echo(f"{result.label}\t{result.score:.4f}")
    if len(result.sentences) > 1:
        for sentence in result.sentences:
            typer.echo(f"  {sentence.label}\t{sentence.score:.4f}\t{sentence.text}")


@text_app.command("mask")
@friendly_errors
def mask_command(
    text: TextArg = None,
    file: FileOpt = None,
    word: Annotated[list[str] | None, typer.Option("--word", "-w", help="A sensitive word of yours (repeat).")] = None,
    builtin: Annotated[bool, typer.Option(help="Also mask the built-in sensitive words.")] = True,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--type", help="Only these (repeat): email, id_card, bank_card, mobile, landline, sensitive_word."
        ),
    ] = None,
    fmt: FormatOpt = "text",
) -> None:
    """Mask phone numbers, ID card and bank card numbers, emails and sensitive words (138****5678)."""
    from shenggu.nlp.mask import mask_text

    result = mask_text(_read(text, file, fmt), word or (), builtin, kind or None)
    if fmt == "json":
        _json(result.to_dict())
        return
    typer.echo(result.text)
    if result.findings:
        counts = Counter(f.type for f in result.findings)
        typer.echo("masked: " + ", ".join(f"{kind} ×{n}" for kind, n in counts.items()), err=True)

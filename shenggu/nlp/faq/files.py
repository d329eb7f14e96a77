"""Knowledge-base files: CSV, TSV, XLSX and Markdown, read into a ``KnowledgeBase`` and written back exactly.

**Rows** (CSV, TSV, XLSX: the first sheet with a question column) have a header row naming the columns, in
English or Chinese, in any order; other columns are ignored:

========================  ==================================================================================
``id`` / 编号 / kb_id      the entry's id; rows sharing an id are its language versions (one row per language).
                          A row without one gets a stable id made from its question.
``question`` / 问题         the canonical question (required).
``alternatives`` / 相似问法  other ways people ask it, separated by ``|`` or line breaks (also 其他问法).
``answer`` / 答案           the answer (may be empty: a base for retrieval only).
``category`` / 分类 / domain the entry's category.
``language`` / 语言         ``zh`` or ``en``; when empty, ``zh`` if the question has a Chinese character.
========================  ==================================================================================

Text files are UTF-8 (with or without a byte-order mark) or UTF-16 with a byte-order mark; a ``.csv`` whose
header has tabs or semicolons but no commas is read with that separator.

**Markdown**: one section per entry and language. Anything before the first ``##`` heading (a title, notes) is
ignored::

    ## 怎么开通微粒贷？
    id: kb-0001
    category: 开户
    language: zh
    alternatives:
    - 微粒贷怎么开通
    - 如何开通微粒贷

    微粒贷目前采用邀请制，……（the answer: everything up to the next "## " heading）

The lines right under the heading, up to the first blank line, are metadata (``id``, ``category``,
``language``, also 编号, 分类, 语言; ``:`` or ``：``), and ``alternatives:`` (or ``相似问法：``, optionally
quoted as ``> 相似问法：``) followed by ``- `` bullet lines, or with the alternatives on the same line separated
by ``|``. An answer line that starts with ``#`` or ``\\`` is written with a ``\\`` in front (Markdown's escape),
which reading removes.

**Formula injection**: a spreadsheet program runs a CSV/TSV cell that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return as a formula. Exports therefore put an apostrophe (``'``, Excel's "this is text" mark)
in front of every cell that starts with one of those, after any apostrophes it already starts with (``-5`` is
written ``'-5``, ``'=x`` is written ``''=x``); reading a CSV/TSV removes one apostrophe from every cell that
starts with one or more apostrophes followed by one of those characters, and from no other cell. So every cell
reads back exactly as exported, and a real leading apostrophe (``'Tis``) is never touched, except in a hand-made
file where it comes right before one of those characters: write it twice there. XLSX stores every cell as text
(never a formula) and Markdown is no spreadsheet, so neither is changed.

Reading normalises text the same way every time (outer whitespace trimmed, whitespace inside questions,
alternatives, ids and categories collapsed to single spaces, control characters dropped, line breaks as
``\\n``), so writing a base and reading the file back gives the same base in every format.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from shenggu.errors import InvalidOptionError
from shenggu.nlp.faq.types import LANGUAGES, EntryText, KbEntry, KnowledgeBase
from shenggu.text.script import text_language
from shenggu.text.spreadsheet import neutralized, unneutralized

FORMATS = ("csv", "tsv", "xlsx", "md")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown; charset=utf-8",
}
MAX_ENTRIES = 20_000
MAX_FILE_BYTES = 20 << 20
MAX_ID_CHARS = 100
MAX_QUESTION_CHARS = 300
MAX_ALTERNATIVES = 50
MAX_ANSWER_CHARS = 20_000
MAX_CATEGORY_CHARS = 100
_MAX_XLSX_UNPACKED = 400 << 20  # a workbook that inflates beyond this is refused before parsing (zip bombs)

COLUMNS = ("id", "question", "alternatives", "answer", "category", "language")
_ALIASES = {
    "id": ("id", "编号", "kbid", "entryid", "faqid", "问题编号"),
    "question": ("question", "问题", "标准问", "标准问题", "标准问法", "q"),
    "alternatives": (
        "alternatives",
        "alternative",
        "alternativequestions",
        "similarquestions",
        "paraphrases",
        "相似问法",
        "其他问法",
        "相似问题",
        "相似问",
        "扩展问",
        "其他问题",
    ),
    "answer": ("answer", "答案", "回答", "a"),
    "category": ("category", "分类", "类别", "类目", "domain", "领域"),
    "language": ("language", "lang", "语言", "语种"),
}
_FIELD_OF = {alias: field for field, aliases in _ALIASES.items() for alias in aliases}
_LANGUAGE_NAMES = {
    **dict.fromkeys(("zh", "zh-cn", "zh-hans", "zh-sg", "cn", "chinese", "mandarin", "中文", "汉语", "普通话"), "zh"),
    **dict.fromkeys(("en", "en-us", "en-gb", "english", "英文", "英语"), "en"),
}
_FORMAT_NAMES = {"csv": "csv", "tsv": "tsv", "tab": "tsv", "xlsx": "xlsx", "md": "md", "markdown": "md"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]")  # nothing XML or UTF-8 refuses
_ALTERNATIVE_SPLIT = re.compile(r"[|｜\n]")


@dataclass
class Row:
    """One language version of an entry as a file row gives it, before rows are merged into entries."""

    where: str  # "kb.csv line 4": named in error messages
    id: str
    question: str
    alternatives: list[str]
    answer: str
    category: str
    language: str


# ---------------------------------------------------------------- formats and public entry points


def format_of(name: str, fmt: str | None = None) -> str:
    """The file format: ``fmt`` if given (csv, tsv, xlsx, md), else from the extension of ``name``."""
    if fmt:
        chosen = _FORMAT_NAMES.get(fmt.strip().lower().lstrip("."))
        if chosen is None:
            raise InvalidOptionError(f"unknown knowledge-base format '{fmt[:20]}' (csv, tsv, xlsx or md)")
        return chosen
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix == "xls":
        raise InvalidOptionError(f"'{name[:100]}' is an old Excel (XLS) file; save it as XLSX or CSV UTF-8")
    chosen = _FORMAT_NAMES.get(suffix)
    if chosen is None:
        raise InvalidOptionError(
            f"cannot tell the format of '{name[:100]}' from its extension: name it .csv, .tsv, .xlsx or .md, "
            "or give the format"
        )
    return chosen


def parse_kb(data: bytes, fmt: str, source: str = "file") -> KnowledgeBase:
    """The knowledge base in a file's bytes (``source`` names the file in error messages)."""
    fmt = format_of(source, fmt)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidOptionError(f"{source} is larger than the limit of {MAX_FILE_BYTES >> 20} MB")
    if not data.strip():
        raise InvalidOptionError(f"{source} is empty")
    if fmt == "xlsx":
        return merge_rows(_xlsx_rows(data, source), source)
    text = _decode(data, source)
    if fmt == "md":
        return merge_rows(_markdown_rows(text, source), source)
    return merge_rows(_csv_rows(text, source, "\t" if fmt == "tsv" else None), source)


def read_kb(path: Path, fmt: str | None = None) -> KnowledgeBase:
    """The knowledge base in a file (format from its extension unless ``fmt`` is given)."""
    fmt = format_of(path.name, fmt)
    if not path.is_file():
        raise InvalidOptionError(f"no such file: {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InvalidOptionError(f"{path.name} is larger than the limit of {MAX_FILE_BYTES >> 20} MB")
    return parse_kb(path.read_bytes(), fmt, path.name)


def dump_kb(kb: KnowledgeBase, fmt: str) -> bytes:
    """A knowledge base as the bytes of a file in ``fmt`` (csv, tsv, xlsx, md)."""
    fmt = format_of("", fmt)
    if fmt == "xlsx":
        return _xlsx_bytes(kb)
    if fmt == "md":
        return _markdown_text(kb).encode("utf-8")
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in _export_rows(kb, " | "):
        writer.writerow([neutralized(cell) for cell in row])
    # Excel opens a UTF-8 CSV as UTF-8 only when it starts with a byte-order mark.
    return ("\ufeff" if fmt == "csv" else "").encode("utf-8") + out.getvalue().encode("utf-8")


def write_kb(kb: KnowledgeBase, path: Path, fmt: str | None = None) -> None:
    """Write a knowledge base to ``path`` (format from its extension unless ``fmt`` is given)."""
    path.write_bytes(dump_kb(kb, format_of(path.name, fmt)))


def kb_from_json(items: Iterable[dict], source: str = "request") -> KnowledgeBase:
    """A knowledge base from JSON entries, each either a row ``{"question", "alternatives", "answer", "category",
    "language", "id"}`` (alternatives a list or a ``|``-separated string) or the stored shape
    ``{"id", "category", "texts": {"zh": {"question", "alternatives", "answer"}, ...}}``."""

    def rows() -> Iterator[Row]:
        for n, item in enumerate(items):
            where = f"{source} entry {n}"
            if not isinstance(item, dict):
                raise InvalidOptionError(f"{where}: an entry must be an object")
            texts = item.get("texts")
            if texts is None:
                yield _row(where, {f: item.get(f) for f in COLUMNS}, dict(zip(COLUMNS, COLUMNS, strict=True)))
                continue
            if set(item) & {"question", "alternatives", "answer", "language"}:
                raise InvalidOptionError(f"{where}: give either 'texts' or question, alternatives, answer, language")
            if not isinstance(texts, dict) or not texts:
                raise InvalidOptionError(f"{where}: 'texts' must map a language (zh, en) to its text")
            for language, text in texts.items():
                if not isinstance(text, dict):
                    raise InvalidOptionError(f"{where}: texts.{str(language)[:10]} must be an object")
                cells = {**{f: text.get(f) for f in COLUMNS}, "id": item.get("id"), "category": item.get("category")}
                cells["language"] = language
                yield _row(where, cells, dict(zip(COLUMNS, COLUMNS, strict=True)))

    return merge_rows(rows(), source)


# ---------------------------------------------------------------- rows → entries


def merge_rows(rows: Iterable[Row], source: str) -> KnowledgeBase:
    """Entries from rows: rows sharing an id are one entry's language versions, in first-seen order."""
    entries: dict[str, KbEntry] = {}
    seen: dict[tuple[str, str], str] = {}
    for row in rows:
        entry = entries.get(row.id)
        if entry is None:
            if len(entries) >= MAX_ENTRIES:
                raise InvalidOptionError(f"{source} has more than {MAX_ENTRIES} entries")
            entry = entries[row.id] = KbEntry(row.id, {}, row.category)
        elif row.category and entry.category and row.category != entry.category:
            raise InvalidOptionError(
                f"{row.where}: category '{row.category[:50]}' differs from '{entry.category[:50]}' given earlier "
                f"for id '{row.id[:50]}'"
            )
        key = (row.id, row.language)
        if key in seen:
            raise InvalidOptionError(
                f"{row.where}: id '{row.id[:50]}' already has a row in language '{row.language}' (at {seen[key]}); "
                "each id holds one row per language"
            )
        seen[key] = row.where
        entry.category = entry.category or row.category
        entry.texts[row.language] = EntryText(row.question, row.alternatives, row.answer)
    if not entries:
        raise InvalidOptionError(f"{source} has no entries")
    return KnowledgeBase(list(entries.values()))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if not isinstance(value, str | int | float):
        raise InvalidOptionError(f"expected text, not {type(value).__name__}")
    return _CONTROL.sub("", str(value).replace("\r\n", "\n").replace("\r", "\n")).strip()


def _line(text: str) -> str:
    return " ".join(text.split())


def generated_id(question: str) -> str:
    """The stable id of an entry given without one: made from its question."""
    return "q-" + hashlib.sha1(question.encode("utf-8")).hexdigest()[:12]


def _row(where: str, cells: dict[str, object], headers: dict[str, str]) -> Row:
    """A validated row from its cells by field; ``headers`` names each field's column as the file does."""

    def text(field: str) -> str:
        try:
            return _cell(cells.get(field))
        except InvalidOptionError as exc:
            raise InvalidOptionError(f"{where}, column '{headers.get(field, field)}': {exc}") from None

    def check(value: str, field: str, limit: int) -> str:
        if len(value) > limit:
            raise InvalidOptionError(
                f"{where}, column '{headers.get(field, field)}': longer than {limit} characters ({len(value)})"
            )
        return value

    question = check(_line(text("question")), "question", MAX_QUESTION_CHARS)
    if not question:
        raise InvalidOptionError(f"{where}: empty question (column '{headers.get('question', 'question')}')")
    raw = cells.get("alternatives")
    if isinstance(raw, list | tuple):
        try:
            pieces = [p for item in raw for p in _ALTERNATIVE_SPLIT.split(_cell(item))]
        except InvalidOptionError as exc:
            raise InvalidOptionError(f"{where}, alternatives: {exc}") from None
    else:
        pieces = _ALTERNATIVE_SPLIT.split(text("alternatives"))
    alternatives = [a for a in dict.fromkeys(_line(p) for p in pieces) if a and a != question]
    if len(alternatives) > MAX_ALTERNATIVES:
        raise InvalidOptionError(f"{where}: more than {MAX_ALTERNATIVES} alternatives ({len(alternatives)})")
    for alternative in alternatives:
        check(alternative, "alternatives", MAX_QUESTION_CHARS)
    language_text = text("language")
    if language_text:
        language = _LANGUAGE_NAMES.get(language_text.lower().replace("_", "-"))
        if language is None:
            raise InvalidOptionError(
                f"{where}, column '{headers.get('language', 'language')}': unknown language "
                f"'{language_text[:20]}' (zh or en)"
            )
    else:
        language = text_language(question)
    assert language in LANGUAGES
    entry_id = check(_line(text("id")), "id", MAX_ID_CHARS) or generated_id(question)
    return Row(
        where=where,
        id=entry_id,
        question=question,
        alternatives=alternatives,
        answer=check(text("answer"), "answer", MAX_ANSWER_CHARS),
        category=check(_line(text("category")), "category", MAX_CATEGORY_CHARS),
        language=language,
    )


def _header(cells: list[str], where: str, source: str) -> dict[str, int] | None:
    """Column index by field, or None if there is no question column; two columns for one field is an error."""
    columns: dict[str, int] = {}
    for i, name in enumerate(cells):
        field = _FIELD_OF.get(re.sub(r"[\s_\-]", "", name.lower()))
        if field is None:
            continue
        if field in columns:
            raise InvalidOptionError(
                f"{where}: columns '{cells[columns[field]]}' and '{name}' both give the {field}; keep one"
            )
        columns[field] = i
    return columns if "question" in columns else None


def _no_question_column(source: str, cells: list[str]) -> InvalidOptionError:
    found = ", ".join(f"'{c[:30]}'" for c in cells if c) or "none"
    return InvalidOptionError(
        f"{source}: no question column (found {found}; expected question/问题, with alternatives/相似问法, "
        "answer/答案, category/分类, language/语言, id/编号)"
    )


def _table_rows(table: Iterable[tuple[str, list[object]]], source: str) -> Iterator[Row]:
    """Rows of a table whose first non-empty row is its header; ``table`` yields (where, cells)."""
    columns: dict[str, int] | None = None
    headers: dict[str, str] = {}
    count = 0
    for where, values in table:
        cells = [_safe_cell(v, where) for v in values]
        if not any(cells):
            continue
        if columns is None:
            columns = _header(cells, where, source)
            if columns is None:
                raise _no_question_column(source, cells)
            headers = {field: cells[i] for field, i in columns.items()}
            continue
        count += 1
        if count > MAX_ENTRIES * len(LANGUAGES):
            raise InvalidOptionError(f"{source} has more than {MAX_ENTRIES * len(LANGUAGES)} rows")
        by_field = {field: (values[i] if i < len(values) else None) for field, i in columns.items()}
        yield _row(where, by_field, headers)
    if columns is None:
        raise InvalidOptionError(f"{source} is empty")


def _safe_cell(value: object, where: str) -> str:
    try:
        return _cell(value)
    except InvalidOptionError as exc:
        raise InvalidOptionError(f"{where}: {exc}") from None


# ---------------------------------------------------------------- CSV / TSV


def _decode(data: bytes, source: str) -> str:
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidOptionError(
            f"{source} is not UTF-8 text (undecodable byte at offset {exc.start}); save it as UTF-8 "
            "(Excel: 'CSV UTF-8') or as XLSX"
        ) from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise InvalidOptionError(f"{source} is not a text file (it contains NUL bytes)")
    return text


def _csv_rows(text: str, source: str, delimiter: str | None) -> Iterator[Row]:
    if delimiter is None:
        first = next((line for line in text.splitlines() if line.strip()), "")
        delimiter = ","
        if "," not in first:
            delimiter = "\t" if "\t" in first else ";" if ";" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    def table() -> Iterator[tuple[str, list[object]]]:
        line = 1
        try:
            for values in reader:
                yield f"{source} line {line}", [unneutralized(v) for v in values]
                line = reader.line_num + 1
        except csv.Error as exc:
            raise InvalidOptionError(f"{source} line {reader.line_num}: malformed CSV ({exc})") from None

    return _table_rows(table(), source)


# ---------------------------------------------------------------- XLSX


def _xlsx_rows(data: bytes, source: str) -> Iterator[Row]:
    import openpyxl

    def unreadable(exc: Exception) -> InvalidOptionError:
        if _defused(exc):
            return InvalidOptionError(
                f"{source} is refused: its XML declares a DTD or entities, which spreadsheet programs never write"
            )
        detail = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
        return InvalidOptionError(f"{source} is not a readable XLSX workbook ({detail})")

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > _MAX_XLSX_UNPACKED:
                raise InvalidOptionError(f"{source} unpacks to more than {_MAX_XLSX_UNPACKED >> 20} MB")
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except InvalidOptionError:
        raise
    except Exception as exc:  # openpyxl and zipfile raise many kinds for damaged or foreign files
        raise unreadable(exc) from None

    def sheet_rows(sheet) -> Iterator[tuple[str, list[object]]]:
        try:
            for n, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield f"{source} sheet '{sheet.title}' row {n}", list(values)
        except InvalidOptionError:
            raise
        except Exception as exc:
            raise unreadable(exc) from None

    try:
        first_header: list[str] = []
        for sheet in workbook.worksheets:
            header: list[str] = []
            for where, values in sheet_rows(sheet):
                header = [_safe_cell(v, where) for v in values]
                if any(header):
                    break
            first_header = first_header or header
            if _header(header, source, source) is not None:
                yield from _table_rows(sheet_rows(sheet), source)
                return
        if not any(first_header):
            raise InvalidOptionError(f"{source} is empty")
        raise _no_question_column(source, first_header)
    finally:
        workbook.close()


def _defused(exc: BaseException | None) -> bool:
    """Whether ``exc`` comes from defusedxml refusing a DTD or entities (openpyxl parses with it and wraps errors).

    Entity bombs ("billion laughs") are refused before they expand, not left to expat's own limits."""
    from defusedxml import DefusedXmlException

    while exc is not None:
        if isinstance(exc, DefusedXmlException):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _xlsx_bytes(kb: KnowledgeBase) -> bytes:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("knowledge base")
    for letter, width in zip("ABCDEF", (16, 40, 40, 60, 16, 10), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")

    def cells(values: Iterable[str], **style) -> list:
        out = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value or None)
            if value:
                cell.data_type = "s"  # always text: "=1+1" stays an answer, never becomes a formula
            for name, setting in style.items():
                setattr(cell, name, setting)
            out.append(cell)
        return out

    sheet.append(cells(COLUMNS, font=bold))
    for row in _export_rows(kb, "\n"):
        sheet.append(cells(row, alignment=wrap))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _export_rows(kb: KnowledgeBase, joiner: str) -> Iterator[list[str]]:
    for entry in kb.entries:
        for language, text in entry.texts.items():
            yield [entry.id, text.question, joiner.join(text.alternatives), text.answer, entry.category, language]


# ---------------------------------------------------------------- Markdown

_HEADING = re.compile(r"^##(?:\s+(.*))?$")
_META_KEYS = {
    **dict.fromkeys(("id", "编号"), "id"),
    **dict.fromkeys(("category", "分类", "类别"), "category"),
    **dict.fromkeys(("language", "lang", "语言"), "language"),
    **dict.fromkeys(("alternatives", "相似问法", "其他问法", "相似问题"), "alternatives"),
}
_META = re.compile(r"^(?:>\s*)?([^:：]{1,20})[:：]\s*(.*)$")


def _markdown_rows(text: str, source: str) -> Iterator[Row]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    starts = [i for i, line in enumerate(lines) if _HEADING.match(line.rstrip())]
    if not starts:
        raise InvalidOptionError(f"{source}: no '## question' headings (each entry starts with one)")
    if len(starts) > MAX_ENTRIES * len(LANGUAGES):
        raise InvalidOptionError(f"{source} has more than {MAX_ENTRIES * len(LANGUAGES)} sections")
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        yield _markdown_section(lines, start, end, source)


def _markdown_section(lines: list[str], start: int, end: int, source: str) -> Row:
    where = f"{source} line {start + 1}"
    heading = _HEADING.match(lines[start].rstrip())
    cells: dict[str, object] = {"question": (heading.group(1) or "") if heading else ""}
    i = start + 1
    while i < end and not lines[i].strip():
        i += 1
    alternatives: list[str] | None = None
    while i < end and lines[i].strip():
        line = lines[i].strip()
        if alternatives is not None and (line.startswith(("- ", "* ")) or line in ("-", "*")):
            alternatives.append(line[2:])
            i += 1
            continue
        meta = _META.match(line)
        field = _META_KEYS.get(meta.group(1).strip().lower()) if meta else None
        if field is None:
            break  # the answer starts right under the metadata, without a blank line
        if field in cells:
            raise InvalidOptionError(f"{source} line {i + 1}: '{meta.group(1).strip()}' given twice")
        if field == "alternatives":
            alternatives = [meta.group(2)] if meta.group(2).strip() else []
            cells["alternatives"] = alternatives
        else:
            cells[field] = meta.group(2)
        i += 1
    body = [_unescape(line) for line in lines[i:end]]
    cells["answer"] = "\n".join(body)
    return _row(where, cells, {"question": "## heading"})


def _unescape(line: str) -> str:
    return line[1:] if line.startswith(("\\#", "\\\\")) else line


def _escape(line: str) -> str:
    return "\\" + line if line.startswith(("#", "\\")) else line


def _markdown_text(kb: KnowledgeBase) -> str:
    out = ["# Knowledge base", ""]
    for entry in kb.entries:
        for language, text in entry.texts.items():
            out += [f"## {text.question}", f"id: {entry.id}"]
            if entry.category:
                out.append(f"category: {entry.category}")
            out.append(f"language: {language}")
            if text.alternatives:
                out += ["alternatives:", *(f"- {a}" for a in text.alternatives)]
            out.append("")
            if text.answer:
                out += [*(_escape(line) for line in text.answer.split("\n")), ""]
    return "\n".join(out)

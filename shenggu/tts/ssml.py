"""The SSML subset TTS requests may use, parsed into a flat list of events for the front-end.

    <speak xml:lang="zh-CN">
      欢迎<break time="500ms"/>光临。
      <prosody rate="slow">请慢慢说。</prosody>
      电话<say-as interpret-as="telephone">13812345678</say-as>，
      日期<say-as interpret-as="date">2023-03-05</say-as>。
    </speak>

Elements: ``<speak>`` (the root; ``xml:lang`` is a language hint), ``<break time="500ms|1.5s"
strength="weak|medium|…"/>``, ``<prosody rate="x-slow|slow|medium|fast|x-fast|80%|+20%|1.2">`` (nested rates
multiply; the result is clamped to 0.5–2.0), ``<say-as interpret-as="digits|telephone|date" format="ymd|mdy|…">``
(text only) and ``<p>``/``<s>`` (a paragraph or sentence ends where they close). A break lasts at most 10 s, and
a document's breaks at most 60 s together.

Anything else is refused with :class:`~shenggu.errors.InvalidOptionError` and a one-line message naming the
problem (an unknown element or attribute, a bad value, XML that is not well-formed) rather than being
silently read aloud or skipped: a client that sends ``<emphasis>`` or ``pitch`` learns at once that it has no
effect here. DOCTYPEs are refused too, which rules out entity-expansion attacks on the XML parser.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from shenggu.errors import InvalidOptionError

MIN_RATE = 0.5
MAX_RATE = 2.0
MAX_BREAK_MS = 10_000  # a longer silence is almost certainly a typo (time="5000s")
# Silence costs no synthesis but is sent all the same: 200 breaks of 10 s would be 33 minutes (192 MB of 48 kHz WAV).
MAX_TOTAL_BREAK_MS = 60_000
SAY_AS_KINDS = ("digits", "telephone", "date")
DATE_FORMATS = ("ymd", "mdy", "dmy", "ym", "my", "md", "dm", "y")

_MAX_DEPTH = 16
_XML_NS = "{http://www.w3.org/XML/1998/namespace}"
_RATE_WORDS = {"x-slow": 0.5, "slow": 0.75, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.5}
# Azure's break strengths: what SSML authors expect from the labels.
_BREAK_STRENGTHS = {"none": 0, "x-weak": 250, "weak": 500, "medium": 750, "strong": 1000, "x-strong": 1250}
_ATTRIBUTES = {
    "break": {"time", "strength"},
    "prosody": {"rate"},
    "say-as": {"interpret-as", "format", "detail"},
    "p": {"xml:lang"},
    "s": {"xml:lang"},
}
# A DOCTYPE in the prologue still marks SSML, so that parse() refuses it instead of it being read aloud.
_SSML_START = re.compile(r"\s*(?:<\?xml[^>]*\?>\s*)?(?:<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>\s*)?<speak[\s>/]", re.I | re.S)


@dataclass(frozen=True)
class Text:
    """Text to speak at ``rate``; ``say_as`` (with its date ``format``) asks for a particular reading."""

    text: str
    rate: float = 1.0
    say_as: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class Break:
    """Silence of ``ms`` milliseconds."""

    ms: int


@dataclass(frozen=True)
class Boundary:
    """A ``<p>`` (``paragraph=True``) or ``<s>`` closes here: the sentence ends even without punctuation."""

    paragraph: bool


Event = Text | Break | Boundary


@dataclass(frozen=True)
class Document:
    """A parsed SSML document: its events in reading order and the root's ``xml:lang``, if any."""

    events: list[Event]
    language: str | None


def is_ssml(text: str) -> bool:
    """Whether ``text`` is an SSML document: it starts with ``<speak`` (after an optional XML prologue)."""
    return _SSML_START.match(text) is not None


def parse(document: str) -> Document:
    """Parse an SSML document; :class:`InvalidOptionError` names the first problem found."""
    if re.search(r"<!(?:DOCTYPE|ENTITY)", document, re.IGNORECASE):
        raise InvalidOptionError("SSML must not contain a DOCTYPE or entity declarations")
    try:
        root = ET.fromstring(document)
    except ET.ParseError as error:
        raise InvalidOptionError(f"SSML is not well-formed XML: {error}") from None
    if _local(root.tag) != "speak":
        raise InvalidOptionError(f"SSML root element must be <speak>, not <{_local(root.tag)}>")
    events: list[Event] = []
    _children(root, 1.0, 1, events)
    silence = sum(e.ms for e in events if isinstance(e, Break))
    if silence > MAX_TOTAL_BREAK_MS:
        raise InvalidOptionError(
            f"SSML breaks add up to {silence / 1000:g} s; at most {MAX_TOTAL_BREAK_MS // 1000} s of <break> per request"
        )
    return Document(events, root.get(f"{_XML_NS}lang"))


def parse_rate(value: str) -> float:
    """A ``<prosody rate>`` as a speed multiplier: a label, ``80%`` (of normal), ``+20%`` (change) or ``1.2``."""
    text = value.strip().lower()
    if text in _RATE_WORDS:
        return _RATE_WORDS[text]
    match = re.fullmatch(r"([+-]?)(\d+(?:\.\d+)?)%", text)
    if match:
        sign, number = match.group(1), float(match.group(2)) / 100
        rate = 1.0 + number if sign == "+" else 1.0 - number if sign == "-" else number
    elif re.fullmatch(r"\d+(?:\.\d+)?", text):
        rate = float(text)
    else:
        raise InvalidOptionError(
            f"<prosody> rate '{value[:20]}' is not valid (use x-slow, slow, medium, fast, x-fast, 80% or 1.2)"
        )
    return _clamp_rate(rate)


def parse_break(time: str | None, strength: str | None) -> int:
    """A ``<break>`` in milliseconds: ``time`` (``500ms``, ``1.5s``) wins over ``strength``; bare = medium."""
    if time is not None:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*", time.lower())
        if not match:
            raise InvalidOptionError(f"<break> time '{time[:20]}' is not valid (use e.g. 500ms or 1.5s)")
        ms = round(float(match.group(1)) * (1 if match.group(2) == "ms" else 1000))
        if ms > MAX_BREAK_MS:
            raise InvalidOptionError(f"<break> time '{time[:20]}' is too long (at most {MAX_BREAK_MS // 1000}s)")
        return ms
    if strength is None:
        return _BREAK_STRENGTHS["medium"]
    if strength not in _BREAK_STRENGTHS:
        raise InvalidOptionError(f"<break> strength '{strength[:20]}' is not valid ({', '.join(_BREAK_STRENGTHS)})")
    return _BREAK_STRENGTHS[strength]


def _clamp_rate(rate: float) -> float:
    return min(MAX_RATE, max(MIN_RATE, rate))


def _local(tag: object) -> str:
    """Element name without its namespace (``{http://www.w3.org/2001/10/synthesis}speak`` → ``speak``)."""
    return str(tag).rsplit("}", 1)[-1]


def _attribute_name(key: str) -> str:
    return "xml:" + key[len(_XML_NS) :] if key.startswith(_XML_NS) else _local(key)


def _check_attributes(element: ET.Element, name: str) -> None:
    allowed = _ATTRIBUTES[name]
    for key in element.attrib:
        attribute = _attribute_name(key)
        if attribute not in allowed:
            supported = ", ".join(sorted(allowed)) or "none"
            raise InvalidOptionError(f"<{name}> attribute '{attribute[:30]}' is not supported ({supported})")


def _children(element: ET.Element, rate: float, depth: int, events: list[Event]) -> None:
    """Events of ``element``'s text and children (each followed by its tail, read at this element's rate)."""
    if element.text:
        events.append(Text(element.text, rate))
    for child in element:
        _element(child, rate, depth + 1, events)
        if child.tail:
            events.append(Text(child.tail, rate))


def _element(element: ET.Element, rate: float, depth: int, events: list[Event]) -> None:
    name = _local(element.tag)
    if depth > _MAX_DEPTH:
        raise InvalidOptionError(f"SSML elements are nested more than {_MAX_DEPTH} deep")
    if name == "speak":
        raise InvalidOptionError("<speak> may only be the root element of SSML")
    if name not in _ATTRIBUTES:
        raise InvalidOptionError(f"SSML element <{name[:30]}> is not supported (use break, prosody, say-as, p, s)")
    _check_attributes(element, name)
    if name == "break":
        if len(element) or (element.text or "").strip():
            raise InvalidOptionError("<break> must be empty")
        events.append(Break(parse_break(element.get("time"), element.get("strength"))))
    elif name == "prosody":
        own = element.get("rate")
        _children(element, _clamp_rate(rate * parse_rate(own)) if own is not None else rate, depth, events)
    elif name == "say-as":
        events.append(_say_as(element, rate))
    else:  # p, s
        _children(element, rate, depth, events)
        events.append(Boundary(paragraph=name == "p"))


def _say_as(element: ET.Element, rate: float) -> Text:
    kind = element.get("interpret-as")
    if kind is None:
        raise InvalidOptionError("<say-as> needs an interpret-as attribute")
    if kind not in SAY_AS_KINDS:
        raise InvalidOptionError(f"<say-as> interpret-as '{kind[:20]}' is not supported ({', '.join(SAY_AS_KINDS)})")
    if len(element):
        raise InvalidOptionError(f"<say-as> may contain only text, not <{_local(element[0].tag)}>")
    date_format = element.get("format")
    if date_format is not None and (kind != "date" or date_format not in DATE_FORMATS):
        raise InvalidOptionError(
            f"<say-as> format '{date_format[:10]}' is not valid (only for dates: {', '.join(DATE_FORMATS)})"
        )
    return Text(element.text or "", rate, kind, date_format)

"""The medical record's printable form: JSON, DOCX (python-docx) and PDF (reportlab, Chinese font embedded), each
file written atomically with the document helpers of ``shenggu.reports.documents``.

Layout: the title 门诊病历 (marked as a draft until a doctor confirms it), one heading per non-empty section with
its statements, the table of entities, the list of what the doctor must check (待核对) and, for a consultation,
an appendix with the dialogue it was built from. An empty record prints why it is empty instead of sections.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph

from shenggu.reports.documents import (
    clock,
    docx_table,
    new_docx,
    pdf_styles,
    pdf_table,
    pdf_text,
    save_docx,
    write_json_file,
    write_pdf_document,
)
from shenggu.solutions.medical.record import Entity, MedicalRecord, ReviewFlag, SourceUtterance

TITLE = "门诊病历"
DRAFT_MARK = "（草稿，待医生确认）"
ENTITY_COLUMNS = ["类型", "内容", "值", "否定"]
REVIEW_HEADING = "待核对"
APPENDIX_HEADING = "附：问诊对话"

ENTITY_LABELS = {
    "symptom": "症状",
    "vital_sign": "生命体征",
    "drug": "药物",
    "allergy": "过敏",
    "examination": "检查",
    "lab_test": "化验",
    "diagnosis": "诊断",
    "procedure": "处置",
    "body_part": "部位",
}
ROLE_LABELS = {"doctor": "医生", "patient": "患者"}
MODE_LABELS = {"dictation": "医生口述", "consultation": "医患问诊", "text": "文本录入"}  # the PDF/DOCX subject
# Entity attributes, in the order printed; a drug's ``unit`` is printed with its dose, not on its own.
ATTRIBUTE_LABELS = {"dose": "剂量", "route": "途径", "frequency": "频次", "duration": "疗程", "result": "结果"}


def write_json(record: MedicalRecord, path: str | Path) -> Path:
    """Write ``record.to_dict()`` as UTF-8 JSON (Chinese unescaped) to ``path``; return the path."""
    return write_json_file(record.to_dict(), path)


def write_docx(record: MedicalRecord, path: str | Path) -> Path:
    """Write the record as a Word document (the layout of this module's docstring); return the path."""
    doc = new_docx(_title(record), subject=_subject(record))
    if record.empty:
        doc.add_paragraph(_empty_text(record))
    for section in record.sections:
        if section.statements:
            doc.add_heading(section.name, level=1)
            for statement in section.statements:
                doc.add_paragraph(statement.text)
    if rows := _entity_rows(record):
        doc.add_heading("医学实体", level=1)
        docx_table(doc, [ENTITY_COLUMNS, *rows], bold_row=True)
    if record.needs_review:
        doc.add_heading(REVIEW_HEADING, level=1)
        for flag in record.needs_review:
            doc.add_paragraph(_review_text(flag), style="List Number")
    if record.utterances:
        doc.add_heading(APPENDIX_HEADING, level=1)
        for utterance in record.utterances:
            stamp, speaker = _utterance_parts(utterance)
            paragraph = doc.add_paragraph(stamp)
            paragraph.add_run(speaker).bold = True
            paragraph.add_run(f"：{utterance.text}")
    return save_docx(doc, path)


def write_pdf(record: MedicalRecord, path: str | Path) -> Path:
    """Write the record as an A4 PDF with the DOCX's layout and page numbers; return the path.
    ``MissingFontError`` when the embedded Chinese font is not installed."""
    styles = pdf_styles()
    story: list[Flowable] = [pdf_text(_title(record), styles.title)]
    if record.empty:
        story.append(pdf_text(_empty_text(record), styles.body))
    for section in record.sections:
        if section.statements:
            story.append(pdf_text(section.name, styles.heading))
            story += [pdf_text(statement.text, styles.body) for statement in section.statements]
    if rows := _entity_rows(record):
        story += [Paragraph("医学实体", styles.heading), pdf_table([ENTITY_COLUMNS, *rows], 25 * mm, styles.cell)]
    if record.needs_review:
        story.append(Paragraph(REVIEW_HEADING, styles.heading))
        # Numbered, not bulleted: the embedded font has no "•" glyph.
        story += [pdf_text(f"{i}. {_review_text(flag)}", styles.body) for i, flag in enumerate(record.needs_review, 1)]
    if record.utterances:
        story.append(Paragraph(APPENDIX_HEADING, styles.heading))
        for utterance in record.utterances:
            stamp, speaker = _utterance_parts(utterance)
            grey = f'<font color="#666666">{escape(stamp)}</font>' if stamp else ""
            story.append(Paragraph(f"{grey}{escape(speaker)}：{escape(utterance.text)}", styles.body))
    return write_pdf_document(path, story, title=_title(record), subject=_subject(record))


def export_record(record: MedicalRecord, out_dir: str | Path) -> dict[str, Path]:
    """Write record.json, record.docx and record.pdf into ``out_dir`` (created if needed); return
    ``{"json": path, "docx": path, "pdf": path}``. Each file is renamed into place only once complete."""
    out = Path(out_dir)
    return {
        "json": write_json(record, out / "record.json"),
        "docx": write_docx(record, out / "record.docx"),
        "pdf": write_pdf(record, out / "record.pdf"),
    }


def _title(record: MedicalRecord) -> str:
    return TITLE + (DRAFT_MARK if record.draft else "")


def _subject(record: MedicalRecord) -> str:
    return f"{TITLE}（{MODE_LABELS.get(record.mode, record.mode)}）"


def _empty_text(record: MedicalRecord) -> str:
    return record.reason or "（无病历内容）"


def _entity_rows(record: MedicalRecord) -> list[list[str]]:
    """One row per entity: type, the words of the statement, the normalized value, 是 when the text denies it."""
    return [
        [ENTITY_LABELS.get(e.type, e.type), e.text, _entity_value(e), "是" if e.negated else ""]
        for e in record.entities()
    ]


def _entity_value(entity: Entity) -> str:
    """The value and unit, then the attributes (``剂量 0.5g；途径 口服``), then an ICD-10 code."""
    parts = [f"{entity.value}{entity.unit}"] if entity.value else []
    attributes = dict(entity.attributes)
    dose_unit = attributes.pop("unit", "")
    if attributes.get("dose"):
        attributes["dose"] += dose_unit
    ordered = [key for key in ATTRIBUTE_LABELS if key in attributes] + sorted(attributes.keys() - ATTRIBUTE_LABELS)
    parts += [f"{ATTRIBUTE_LABELS.get(key, key)} {attributes[key]}" for key in ordered if attributes[key]]
    if entity.code:
        parts.append(f"ICD-10 {entity.code}")
    return "；".join(parts)


def _review_text(flag: ReviewFlag) -> str:
    where = f"{flag.section}：" if flag.section else ""
    value = f"（{flag.value}）" if flag.value else ""
    return f"{where}{flag.reason}{value}"


def _utterance_parts(utterance: SourceUtterance) -> tuple[str, str]:
    """``("[00:01:23] ", "医生")``: the time stamp (empty when unknown) and who spoke."""
    stamp = f"[{clock(utterance.start)}] " if utterance.start is not None else ""
    speaker = ROLE_LABELS.get(utterance.role, utterance.role or utterance.speaker or "说话人")
    return stamp, speaker

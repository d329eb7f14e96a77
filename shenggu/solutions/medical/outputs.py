"""Every form a record is handed over in: record.json, record.docx, record.pdf (``export``) and record.fhir.json (the
FHIR document bundle), written together into a folder, or one of them rendered on demand."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Literal

from shenggu.reports.documents import write_json_file
from shenggu.solutions.medical.export import export_record, write_docx, write_pdf
from shenggu.solutions.medical.fhir import to_fhir_bundle
from shenggu.solutions.medical.record import MedicalRecord

FHIR_FILE = "record.fhir.json"
DocumentFormat = Literal["docx", "pdf"]


def write_record_files(
    record: MedicalRecord, out_dir: str | Path, record_id: str = "", when: datetime | None = None
) -> dict[str, Path]:
    """Write record.json, record.docx, record.pdf and record.fhir.json into ``out_dir``; return them by kind
    (``json``, ``docx``, ``pdf``, ``fhir``). ``record_id`` and ``when`` identify and date the FHIR document."""
    files = export_record(record, out_dir)
    files["fhir"] = write_json_file(to_fhir_bundle(record, record_id=record_id, when=when), Path(out_dir) / FHIR_FILE)
    return files


def render_document(record: MedicalRecord, fmt: DocumentFormat) -> bytes:
    """The record's DOCX or PDF as bytes (written to a temporary folder, read back and removed)."""
    writer = write_docx if fmt == "docx" else write_pdf
    with tempfile.TemporaryDirectory(prefix="shenggu-record-") as folder:
        return writer(record, Path(folder) / f"record.{fmt}").read_bytes()

"""The work behind the API, shared by synchronous requests and queued jobs: options in, result dict out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from fastapi import Form
from sqlalchemy.orm import Session

from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.asr.registry import ENGINES
from shenggu.asr.types import Transcript
from shenggu.assess.registry import LANGUAGES as ASSESS_LANGUAGES
from shenggu.assess.types import Assessment
from shenggu.audio.decode import decode_audio
from shenggu.diarize.assign import diarize_transcript
from shenggu.diarize.pipeline import DiarizeOptions
from shenggu.diarize.roles import parse_roles
from shenggu.errors import InvalidOptionError
from shenggu.service.engines import Engines
from shenggu.service.evaluation_tasks import EVALUATION_TASK, run_evaluation
from shenggu.service.qa_tasks import QA_TASK, run_qa_inspection
from shenggu.service.storage import evaluations as evaluation_store
from shenggu.service.storage import glossaries as glossary_store
from shenggu.service.storage import hotwords as hotword_lists
from shenggu.service.storage import medical as medical_store
from shenggu.service.storage import qa as qa_store
from shenggu.service.storage import speakers as speaker_store
from shenggu.service.storage.models import Job
from shenggu.text.lists import split_commas
from shenggu.translate.transcripts import translate_transcript

# OpenAI model names map to the default engine, so unmodified OpenAI clients work.
# OpenAI's transcription model names (those of its current clients' defaults too: pipecat's gpt-transcribe and
# gpt-realtime-whisper) all mean the default engine.
OPENAI_MODEL_NAMES = {
    "whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-mini-transcribe-2025-12-15",
    "gpt-transcribe", "gpt-live-transcribe", "gpt-realtime-whisper", "default", "",
}  # fmt: skip
# Form-field types: FastAPI documents them as enums and answers 422 for anything else.
LanguageField = Literal["zh", "en", "auto"]
TaskField = Literal["transcribe", "court_record", "assess"]
ASSESS_MAX_TEXT = 2000
ASSESS_MAX_SECONDS = 600.0
AssessTextField = Annotated[
    str, Form(max_length=ASSESS_MAX_TEXT, description="assess: the text the speaker was asked to read aloud.")
]
HotwordsField = Annotated[
    str,
    Form(
        description=f"Comma-separated names/terms to favour: at most {hotword_lists.MAX_WORDS}, each at most "
        f"{hotword_lists.MAX_WORD_CHARS} characters (as in a stored list)."
    ),
]
HotwordListsField = Annotated[
    str,
    Form(description="Comma-separated names of stored hotword lists (/v1/hotwords) to add; 'default' always applies."),
]
DiarizeField = Annotated[bool, Form(description="Say who spoke when: segments and words get a speaker.")]
SpeakerCountField = Annotated[int | None, Form(ge=1, le=20, description="Exact number of speakers, if known.")]
MinSpeakersField = Annotated[int | None, Form(ge=1, le=20, description="At least this many speakers.")]
MaxSpeakersField = Annotated[int | None, Form(ge=1, le=20, description="At most this many speakers.")]
TranslateToField = Annotated[
    Literal["", "en", "zh"], Form(description="Also translate every segment (bilingual SRT/VTT): en or zh.")
]
GlossariesField = Annotated[
    str,
    Form(
        description="With translate_to: comma-separated names of stored glossaries (/v1/glossaries) to use; "
        "'default' always applies."
    ),
]
RolesField = Annotated[
    str,
    Form(
        description="Comma-separated roles (judge,plaintiff,defendant): a role naming an enrolled voice "
        "(/v1/speakers) goes to the matching speaker, the others to speakers in order of first appearance."
    ),
]


@dataclass(frozen=True)
class DiarizeRequest:
    """Who-spoke-when options of a transcription: speaker counts, roles, and the enrolled voices among the roles."""

    num_speakers: int | None = None
    min_speakers: int = 1
    max_speakers: int = 8
    roles: tuple[str, ...] = ()
    voices: dict[str, list[float]] = field(default_factory=dict)  # role → enrolled embedding

    @classmethod
    def parse(
        cls, num_speakers: int | None, min_speakers: int | None, max_speakers: int | None, roles: str | None
    ) -> DiarizeRequest:
        """Validate raw request fields (raises InvalidOptionError)."""
        request = cls(num_speakers or None, min_speakers or 1, max_speakers or 8, parse_roles(roles))
        request.options()
        return request

    def with_enrolled_voices(self, session: Session, tenant_id: int) -> DiarizeRequest:
        """This request with the voiceprints of the roles that name enrolled speakers."""
        return replace(self, voices=speaker_store.voices_named(session, tenant_id, self.roles))

    def options(self) -> DiarizeOptions:
        """The diarization options."""
        return DiarizeOptions(self.num_speakers, self.min_speakers, self.max_speakers)

    def to_json(self) -> dict:
        """For the jobs table."""
        return {**asdict(self), "roles": list(self.roles)}

    @classmethod
    def from_json(cls, data: dict) -> DiarizeRequest:
        """Back from the jobs table."""
        return cls(**{**data, "roles": tuple(data.get("roles") or ())})


@dataclass(frozen=True)
class TranscribeRequest:
    """Validated options of a transcription, storable as JSON for a job."""

    model: str | None = None
    language: str | None = None
    prompt: str | None = None
    hotwords: tuple[str, ...] = ()
    diarize: DiarizeRequest | None = None
    translate_to: str | None = None  # also translate every segment into en or zh (bilingual subtitles)
    glossary: dict[str, str] = field(default_factory=dict)  # the tenant's stored terms, for the translation
    tenant: str = ""  # whose turn it is in the language model's fair queue

    @classmethod
    def parse(
        cls,
        model: str | None,
        language: str | None,
        prompt: str | None,
        hotwords: str | list | None,
        diarize: DiarizeRequest | None = None,
        translate_to: str | None = None,
    ) -> TranscribeRequest:
        """Validate raw request fields (raises InvalidOptionError)."""
        words = tuple(hotword_lists.clean_words(hotwords or ()))
        if translate_to and translate_to not in ("en", "zh"):
            raise InvalidOptionError(f"translate_to must be en or zh, not '{translate_to[:20]}'")
        request = cls(engine_name(model), language or None, prompt or None, words, diarize, translate_to or None)
        request.options()  # validates language
        return request

    def with_stored(
        self, session: Session, tenant_id: int, lists: str | None, glossary_names: str | None = None
    ) -> TranscribeRequest:
        """This request with the terms of the named stored hotword lists and of the tenant's default list added,
        the enrolled voices its roles name, and (when it translates) the tenant's glossary terms."""
        words = hotword_lists.words_for(session, tenant_id, split_commas(lists or ""), self.hotwords)
        diarize = self.diarize.with_enrolled_voices(session, tenant_id) if self.diarize else None
        terms = {}
        if self.translate_to:
            terms = glossary_store.terms_for(session, tenant_id, split_commas(glossary_names or ""), {})
        return replace(self, hotwords=tuple(words), diarize=diarize, glossary=terms, tenant=str(tenant_id))

    def options(self) -> TranscribeOptions:
        """The pipeline options."""
        return TranscribeOptions(language=self.language, initial_prompt=self.prompt, hotwords=list(self.hotwords))

    def to_json(self) -> dict:
        """For the jobs table."""
        return {
            "model": self.model,
            "language": self.language,
            "prompt": self.prompt,
            "hotwords": list(self.hotwords),
            "diarize": self.diarize.to_json() if self.diarize else None,
            "translate_to": self.translate_to,
            "glossary": self.glossary,
            "tenant": self.tenant,
        }

    @classmethod
    def from_json(cls, data: dict) -> TranscribeRequest:
        """Back from the jobs table (jobs stored before diarization existed have no ``diarize``)."""
        diarize = DiarizeRequest.from_json(data["diarize"]) if data.get("diarize") else None
        hotwords = tuple(data.get("hotwords") or ())
        return cls(
            data.get("model"),
            data.get("language"),
            data.get("prompt"),
            hotwords,
            diarize,
            data.get("translate_to"),
            data.get("glossary") or {},
            data.get("tenant") or "",
        )


def engine_name(model: str | None) -> str | None:
    """The engine behind an API ``model`` name (None = the default engine)."""
    if model is None or model in OPENAI_MODEL_NAMES:
        return None
    if model not in ENGINES:
        raise InvalidOptionError(f"unknown model '{model}' (choose from: whisper-1, {', '.join(ENGINES)})")
    return model


def run_transcription(
    path: Path,
    request: TranscribeRequest,
    name: str | None,
    engines: Engines,
    progress: Callable[[float], None] | None = None,
    options: TranscribeOptions | None = None,
) -> Transcript:
    """Transcribe a stored file (and say who spoke when, and translate every segment, if asked). ``options``
    replace the request's recognition options (a solution's own, e.g. with its vocabulary)."""
    options = (options or request.options()).batched_as(engines.settings)
    transcript = transcribe(path, engines.recognizer(request.model), options, progress=progress, name=name)
    if request.diarize is not None:
        transcript = _diarized(path, transcript, request.diarize, engines)
    if request.translate_to:
        transcript = translate_transcript(
            transcript, request.translate_to, engines.translator(), request.glossary, request.tenant
        )
    return transcript


@dataclass(frozen=True)
class AssessRequest:
    """What a pronunciation assessment needs: the reference text and its language."""

    language: str
    text: str

    @classmethod
    def parse(cls, language: str | None, text: str | None) -> AssessRequest:
        """Validate raw request fields (raises InvalidOptionError)."""
        if language not in ASSESS_LANGUAGES:
            raise InvalidOptionError(f"assessment needs language en or zh, not '{(language or '')[:20]}'")
        if not (text or "").strip():
            raise InvalidOptionError("text (the reference the speaker read) is required")
        return cls(language, text.strip())


def run_assessment(path: Path, request: AssessRequest, engines: Engines) -> Assessment:
    """Score a stored reading."""
    samples = decode_audio(path, max_seconds=ASSESS_MAX_SECONDS)
    return engines.assessor(request.language).assess(samples, request.text)


def run_job(
    task: str,
    path: Path,
    options: dict,
    name: str | None,
    results_dir: Path,
    engines: Engines,
    progress: Callable[[float], None],
) -> tuple[dict, float]:
    """Run a stored job: ``(result, audio seconds)``. A court or medical record's files, and a quality
    inspection's report, go to ``results_dir`` (an evaluation run's go to its test set's folder)."""
    if task == "medical_record":
        return run_medical_record(path, options, name, results_dir, engines, progress)
    if task == QA_TASK:
        return run_qa_inspection(path, options, results_dir, engines, progress)
    if task == EVALUATION_TASK:
        return run_evaluation(path, options, engines, progress)
    if task == "assess":
        assessment = run_assessment(path, AssessRequest(**options["assess"]), engines)
        return assessment.to_dict(), assessment.duration
    transcript = run_transcription(path, TranscribeRequest.from_json(options), name, engines, progress)
    if task != "court_record":
        return transcript.to_dict(), transcript.duration
    from shenggu.solutions.court import HearingHeader, build_record, export_record

    record = build_record(transcript, HearingHeader.from_dict(options["court"]), transcript.speakers)
    files = export_record(record, results_dir)
    return {**record.to_dict(), "files": sorted(p.name for p in files.values())}, transcript.duration


MEDICAL_AUDIO_MODES = ("dictation", "consultation")


@dataclass(frozen=True)
class MedicalRequest:
    """What a ``medical_record`` job makes: the stored record it fills, how (dictation, or a consultation of two
    speakers), and whether recognition uses the bundled medical vocabulary."""

    record_id: str
    mode: str = "dictation"
    vocabulary: bool = True
    llm_fill: bool = False  # consultation: the language model drafts the sections the rules left empty

    @classmethod
    def parse(cls, record_id: str, mode: str, vocabulary: bool, llm_fill: bool = False) -> MedicalRequest:
        """Validate raw request fields (raises InvalidOptionError)."""
        if mode not in MEDICAL_AUDIO_MODES:
            raise InvalidOptionError(f"mode must be dictation or consultation, not '{mode[:20]}'")
        if llm_fill and mode != "consultation":
            raise InvalidOptionError("llm_fill applies to mode=consultation only")
        return cls(record_id, mode, vocabulary, llm_fill)

    def transcription(
        self, session: Session, tenant_id: int, hotwords: str, lists: str, doctor: str
    ) -> TranscribeRequest:
        """The Mandarin recognition request with the caller's and the tenant's stored hotwords; a consultation is
        diarized into two speakers, the one matching the enrolled voice ``doctor`` (a /v1/speakers name) being
        the doctor, else the one who asks the most questions."""
        from shenggu.solutions.medical.consultation import DOCTOR, PATIENT
        from shenggu.solutions.medical.pipeline import CONSULTATION_SPEAKERS

        request = TranscribeRequest.parse(None, "zh", None, hotwords).with_stored(session, tenant_id, lists)
        if doctor.strip() and self.mode != "consultation":
            raise InvalidOptionError("doctor (an enrolled voice) applies to mode=consultation only")
        if self.mode != "consultation":
            return request
        voices: dict[str, list[float]] = {}
        if doctor.strip():
            enrolled = speaker_store.voices_named(session, tenant_id, (doctor.strip(),))
            if not enrolled:
                raise InvalidOptionError(f"no enrolled speaker named '{doctor.strip()[:64]}' (see /v1/speakers)")
            voices = {DOCTOR: next(iter(enrolled.values()))}
        # Without an enrolled voice no roles: the drafter takes the speaker who asks the most questions.
        roles = (DOCTOR, PATIENT) if voices else ()
        speakers = DiarizeRequest(num_speakers=CONSULTATION_SPEAKERS.num_speakers, roles=roles, voices=voices)
        return replace(request, diarize=speakers)

    def to_json(self) -> dict:
        """For the jobs table."""
        return asdict(self)


def run_medical_record(
    path: Path,
    options: dict,
    name: str | None,
    results_dir: Path,
    engines: Engines,
    progress: Callable[[float], None],
) -> tuple[dict, float]:
    """A recording's clinical record: recognized with the medical vocabulary, then read as a dictation or drafted
    from the diarized consultation; record.json, .docx, .pdf and .fhir.json go to ``results_dir``."""
    from shenggu.solutions.medical.outputs import write_record_files
    from shenggu.solutions.medical.pipeline import consultation_record, dictation_record, medical_options

    request, medical = TranscribeRequest.from_json(options), MedicalRequest(**options["medical"])
    recognition = medical_options(request.hotwords, medical.vocabulary)
    transcript = run_transcription(path, request, name, engines, progress, recognition)
    record = consultation_record(transcript) if medical.mode == "consultation" else dictation_record(transcript)
    if medical.llm_fill:
        from shenggu.solutions.medical.llm_fill import fill_empty_sections

        fill_empty_sections(record, partial(engines.chat_queue().chat, request.tenant))
    files = write_record_files(record, results_dir, medical.record_id)
    return {**record.to_dict(), "files": sorted(p.name for p in files.values())}, transcript.duration


def store_outcome(session: Session, job: Job, result: dict | None, error: dict | None) -> None:
    """What a finished job writes besides its own row: a medical record job fills its record, a quality
    inspection job its inspection, an evaluation job its run."""
    if job.task == "medical_record":
        record = {k: v for k, v in result.items() if k != "files"} if result is not None else None
        medical_store.job_finished(session, job.id, record, failed=error is not None)
    if job.task == QA_TASK:
        qa_store.job_finished(session, job.id, result, failed=error is not None)
    if job.task == EVALUATION_TASK:
        summary = result["summary"] if result is not None else None
        evaluation_store.job_finished(session, job.id, summary, failed=error is not None)


def _diarized(path: Path, transcript: Transcript, request: DiarizeRequest, engines: Engines) -> Transcript:
    voices = {role: np.asarray(vector, np.float32) for role, vector in request.voices.items()}
    samples = decode_audio(path)
    return diarize_transcript(transcript, samples, request.options(), request.roles, voices, engines.speaker_encoder())

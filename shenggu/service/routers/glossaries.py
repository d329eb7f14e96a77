"""A tenant's stored translation glossaries: ``/v1/glossaries``.

The glossary named ``default`` applies to all of the tenant's translations (text, speech, jobs); other glossaries
apply when a request names them in ``glossaries``. Changes apply to requests that start afterwards.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shenggu.service.routers.named import named_items_router
from shenggu.service.schemas.stored import Glossaries, Glossary
from shenggu.service.storage import glossaries
from shenggu.translate.glossary import MAX_TERMS


class GlossaryBody(BaseModel):
    """Term pairs translations must use: {source term: required target term}, either direction."""

    model_config = ConfigDict(extra="forbid")
    terms: dict[str, str] = Field(max_length=MAX_TERMS, examples=[{"原告": "plaintiff", "amoxicillin": "阿莫西林"}])


router = named_items_router(
    "/v1/glossaries", "translation", "glossary", glossaries, GlossaryBody, "terms", Glossary, Glossaries
)

"""A tenant's stored hotword lists: ``/v1/hotwords``.

The list named ``default`` applies to all of the tenant's recognition (files, jobs, streams); other lists apply
when a request names them in ``hotword_lists``. Changes apply to requests that start afterwards.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shenggu.service.routers.named import named_items_router
from shenggu.service.schemas.stored import HotwordList, HotwordLists
from shenggu.service.storage import hotwords


class HotwordListBody(BaseModel):
    """The terms of a list (names, jargon, product names)."""

    model_config = ConfigDict(extra="forbid")
    words: list[Annotated[str, Field(max_length=hotwords.MAX_WORD_CHARS)]] = Field(
        max_length=hotwords.MAX_WORDS, examples=[["太乙真人", "房地产", "CTranslate2"]]
    )


router = named_items_router(
    "/v1/hotwords", "hotwords", "hotword list", hotwords, HotwordListBody, "words", HotwordList, HotwordLists
)

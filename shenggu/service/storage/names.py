"""What stored things may be called: the rules shared by tenants, speakers, knowledge bases, hotword lists and
glossaries."""

from __future__ import annotations

import re

from shenggu.errors import InvalidOptionError

DOT_NAMES = frozenset({".", ".."})
"""Never a name: in a URL path they mean "here" and "the parent", so an item called so could not be addressed."""
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SLUG = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def check_slug(name: str, kind: str) -> str:
    """A name that goes into URLs as it is: 1-64 letters, digits, ``_``, ``.`` or ``-``, not ``.`` or ``..``."""
    if not _SLUG.fullmatch(name) or name in DOT_NAMES:
        raise InvalidOptionError(f"invalid {kind} name '{name[:70]}' (1-64 of A-Z a-z 0-9 _ . -, not . or ..)")
    return name

"""A source's language filter: ``languages: [en, fr]`` keeps pages in those languages.

Before extraction the record's own word is taken when it gives one: a WARC's
``WARC-Identified-Content-Language`` (ISO 639-3, mapped by ``rules/languages.yaml``),
the HTTP ``Content-Language`` header, then ``<html lang>`` or a ``content-language`` meta
in the first 64 KiB of the raw bytes (no parsing)::

    >>> sniff(b'<html lang="en">', content_language=None, identified="fra")
    'fr'

    >>> sniff(b'<!doctype html><html lang="fr-CA"><head>', content_language=None)
    'fr'
    >>> sniff(b'<html><body>', content_language="en-GB")
    'en'
    >>> sniff(b'<html><body>', content_language="en, fr") is None   # two: not a word
    True

Otherwise the language is detected on the extracted text (py3langid, the model the
enrich stage uses)::

    >>> detect("Le port a rouvert lundi après une semaine de travaux, a indiqué la mairie.")
    'fr'
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

SNIFF_BYTES = 64 * 1024
_HTML_LANG = re.compile(rb"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})(?:[-_][A-Za-z0-9-]*)?",
                        re.IGNORECASE)
_META_LANG = re.compile(rb"<meta\b[^>]*http-equiv\s*=\s*[\"']?content-language[\"']?[^>]*?"
                        rb"content\s*=\s*[\"']?([A-Za-z]{2,3})(?:[-_][A-Za-z0-9-]*)?[\"']?\s*[/>]",
                        re.IGNORECASE)
_TAG = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9-]*)?\s*$")


def _primary(tag: str | None) -> str | None:
    """``en-GB`` -> ``en``; a list of several or anything unreadable -> None."""
    if not tag or "," in tag:
        return None
    m = _TAG.match(tag)
    return m.group(1).lower() if m else None


@lru_cache(maxsize=1)
def _iso639_3() -> dict[str, str]:
    text = resources.files("connectors.rules").joinpath("languages.yaml").read_text("utf-8")
    return {str(k): str(v) for k, v in (yaml.safe_load(text) or {}).items()}


def sniff(raw: bytes, *, content_language: str | None, identified: str | None = None
          ) -> str | None:
    """The language a record declares (lowercase primary subtag), or None. ``identified``:
    a WARC-Identified-Content-Language value (one language; several are no word)."""
    code = (identified or "").strip().lower()
    if code and "," not in code:
        lang = code if len(code) == 2 else _iso639_3().get(code)
        if lang:
            return lang
    lang = _primary(content_language)
    if lang:
        return lang
    head = raw[:SNIFF_BYTES]
    for pattern in (_HTML_LANG, _META_LANG):
        m = pattern.search(head)
        if m:
            return m.group(1).decode("ascii").lower()
    return None


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def detect(text: str, *, sample: int = 4000) -> str | None:
    """ISO 639-1 code of ``text``, or None for text with too few letters."""
    snippet = text[:sample]
    if sum(ch.isalpha() for ch in snippet) < 12:
        return None
    return str(_identifier().classify(snippet)[0])


def wanted(lang: str | None, languages: list[str]) -> bool:
    """Is a page in ``lang`` kept by the filter ``languages`` (empty: every language)?"""
    return not languages or (lang is not None and lang in languages)

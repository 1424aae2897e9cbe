"""The attribution lexicon, loaded once from ``rules/lexicon.yaml`` (package data).

Every word list the rules use lives in that file: cue verbs by class (speech,
report, cognition), their stance, nominal verbs, noun cues, according-to forms,
hedges, source heads and the markers of anonymous sourcing::

    >>> "say" in SPEECH and "believe" in COGNITION and NOMINAL["call"]
    'for'
    >>> stance_of("allege"), stance_of("confirm"), stance_of("say")
    ('distancing', 'endorsing', 'neutral')
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import Any

import yaml

from pipeline.enrich.found import Stance


@lru_cache(maxsize=1)
def lexicon() -> dict[str, Any]:
    """The parsed lexicon file (read once per process)."""
    # through the parent package: importing pipeline.enrich.rules would import the rules
    text = files("pipeline.enrich").joinpath("rules", "lexicon.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _set(*path: str) -> frozenset[str]:
    node: Any = lexicon()
    for key in path:
        node = node[key]
    return frozenset(str(w).lower() for w in node)


SPEECH_ONLY = _set("cue_verbs", "speech")
REPORT = _set("cue_verbs", "report")
COGNITION = _set("cue_verbs", "cognition")
SPEECH = SPEECH_ONLY | REPORT  # verbs whose subject said or published the content
CUE_VERBS = SPEECH | COGNITION
NOMINAL: dict[str, str | None] = {str(k): (None if v is None else str(v))
                                  for k, v in lexicon()["nominal_verbs"].items()}
INTENT = _set("intent_verbs")
SPEECH_NOUNS = _set("noun_cues")
ACCORDING_TO = _set("according_to")
CITING = _set("citing")
HEDGES = _set("hedges")
AGENTLESS_INFINITIVE = _set("agentless_infinitive")
DOCUMENT_NOUNS = _set("document_nouns")
GROUP_NOUNS = _set("group_nouns")
OUTLET_NOUNS = _set("outlet_nouns")
INSTITUTION_NOUNS = _set("institution_nouns")
ANAPHORIC_SOURCES = _set("anaphoric_sources")
PRONOUNS_PERSON = _set("pronouns", "person")
PRONOUNS_THING = _set("pronouns", "thing")
PRONOUNS_GROUP = _set("pronouns", "group")
ANONYMOUS_HEADS = _set("anonymity", "heads")
ANONYMITY_MARKERS = _set("anonymity", "markers")
REASON_OPENERS = _set("anonymity", "reason_openers")
BARE_REASONS = _set("anonymity", "bare_reasons")
DISTANCING = _set("stance", "distancing")
ENDORSING = _set("stance", "endorsing")


def stance_of(cue: str) -> Stance:
    """The stance of a cue, from its lemma or words ("pointed out" -> "point out")."""
    low = " ".join(cue.lower().split())
    for words in (low, *low.split()):
        if words in DISTANCING:
            return "distancing"
        if words in ENDORSING:
            return "endorsing"
    return "neutral"

"""The attribution rules: the lexicon (``lexicon.yaml``, read by ``pipeline.enrich.cues``)
and the registry of constructions, in the order they are tried.

Within a sentence a construction skips a cue token that an earlier one has used, so the
order is a priority: a reporting verb with a clause is a ``speech_clause`` before it can
be a ``nominal_object``. Text-wide constructions run first; ``link`` constructions run
last in each sentence, given what the others found there.

    >>> [c.name for c in CONSTRUCTIONS][:3]
    ['speaker_label', 'dash_credit', 'speech_clause']
"""

from __future__ import annotations

from pipeline.enrich.registry import Construction
from pipeline.enrich.rules.agentless import AGENTLESS_PASSIVE, HEDGED
from pipeline.enrich.rules.layout import DASH_CREDIT, SPEAKER_LABEL
from pipeline.enrich.rules.phrases import ACCORDING_TO, CITING, NOUN_CLAUSE
from pipeline.enrich.rules.verbs import (
    BELIEF_CLAUSE,
    CALL_IT,
    COLON_CUE,
    INTENT_INFINITIVE,
    NOMINAL_OBJECT,
    QUOTE_BEFORE,
    QUOTE_FRAME,
    SPEECH_CLAUSE,
)

CONSTRUCTIONS: tuple[Construction, ...] = (
    SPEAKER_LABEL,
    DASH_CREDIT,
    SPEECH_CLAUSE,
    BELIEF_CLAUSE,
    INTENT_INFINITIVE,
    AGENTLESS_PASSIVE,
    QUOTE_FRAME,
    COLON_CUE,
    QUOTE_BEFORE,
    CALL_IT,
    NOMINAL_OBJECT,
    NOUN_CLAUSE,
    ACCORDING_TO,
    HEDGED,
    CITING,
)

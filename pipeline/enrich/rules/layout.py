"""Constructions of the page layout, found without the parse (regular expressions of
``pipeline.enrich.patterns``): transcript speaker labels and dash-credited quotes."""

from __future__ import annotations

from pipeline.enrich.patterns import dash_credits, speaker_labels
from pipeline.enrich.registry import Construction

SPEAKER_LABEL = Construction(
    name="speaker_label", type="layout",
    description="'NAME: utterance' at the start of a line (transcripts, interviews); the "
                "sentences inside a labelled turn are not searched again.",
    examples=("HARRIS: We have to rebuild the harbour before the winter storms.",),
    find_text=speaker_labels)

DASH_CREDIT = Construction(
    name="dash_credit", type="layout",
    description="A quote credited after a dash: '“…” ― Name'.",
    examples=("“The sea gives and the sea takes away.” ― Maria Lopez",),
    find_text=dash_credits)

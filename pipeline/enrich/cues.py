"""Lexicon of attribution cues: reporting, belief and intention verbs, and phrases.

Hand-written from the usual classes of English reporting verbs; lemmas as spaCy
gives them.
"""

from __future__ import annotations

SPEECH = {
    "say", "tell", "announce", "report", "state", "claim", "add", "note", "explain", "argue",
    "insist", "warn", "write", "declare", "confirm", "deny", "acknowledge", "admit", "suggest",
    "ask", "answer", "reply", "respond", "recall", "testify", "tweet", "post", "indicate",
    "allege", "assert", "contend", "maintain", "stress", "emphasize", "emphasise", "observe",
    "remark", "comment", "conclude", "promise", "vow", "pledge", "threaten", "urge", "reveal",
    "disclose", "concede", "complain", "charge", "accuse", "boast", "brag", "caution",
    "predict", "estimate", "speculate", "mention", "repeat", "reiterate", "retort", "quip",
    "joke", "shout", "yell", "whisper", "cry", "scream", "demand", "propose", "recommend",
    "advise", "inform", "assure", "counter", "continue", "describe", "call", "question",
    "wonder", "agree", "disagree", "lament", "concur", "highlight", "underline",
    "underscore", "clarify", "specify", "detail", "outline", "signal", "hint", "imply",
    "proclaim", "forecast", "project", "calculate", "certify", "guarantee", "swear",
    "contest", "dispute", "refute", "reject", "criticize", "criticise", "praise", "blame",
    "attest", "publish", "cite", "quote", "read", "show", "find",
    "document", "determine", "establish", "prove", "demonstrate", "survey",
}
COGNITION = {
    "believe", "think", "know", "feel", "expect", "hope", "fear", "worry", "doubt", "suspect",
    "assume", "suppose", "guess", "reckon", "consider", "understand", "realize", "realise",
    "recognize", "recognise", "imagine", "figure", "see", "decide", "judge",
    "want", "wish", "prefer", "intend", "plan", "anticipate", "trust", "bet", "remember",
    "forget", "insist", "regret", "notice", "acknowledge", "deem", "view", "envision",
}
# Verbs whose noun-phrase object is the attributed content ("criticized the plan",
# "called for a ceasefire"), with the preposition that introduces it where there is one.
NOMINAL = {
    "criticize": None, "criticise": None, "attack": None, "support": None, "oppose": None,
    "propose": None, "pledge": None, "promise": None, "condemn": None, "blast": None,
    "praise": None, "blame": None, "mention": None, "discuss": None, "defend": None,
    "question": None, "deny": None, "dispute": None, "back": None,
    "endorse": None, "demand": None, "acknowledge": None, "admit": None,
    "slam": None, "tout": None, "decry": None, "applaud": None, "advocate": None,
    "cite": None, "describe": None, "announce": None,
    "predict": None, "recommend": None, "dismiss": None, "vow": None, "threaten": None,
    "confirm": None, "report": None, "claim": None, "accuse": None, "warn": "of",
    "call": "for", "push": "for", "point": "to", "refer": "to", "talk": "about",
    "comment": "on", "respond": "to", "ask": "for", "argue": "for", "lobby": "for",
    "campaign": "for", "speak": "about", "complain": "about", "worry": "about",
    "boast": "about", "joke": "about", "insist": "on", "express": None,
    "voice": None, "signal": None, "highlight": None, "emphasize": None,
    "stress": None, "reiterate": None, "repeat": None, "echo": None, "share": None,
    "suggest": None, "love": None, "hate": None, "want": None,
    "prefer": None, "fear": None, "expect": None, "urge": None,
    "note": None, "find": None, "grill": None, "charge": None, "rail": "against",
    "herald": None, "despise": None, "detail": None, "outline": None,
    "list": None, "mock": None, "ridicule": None,
    "denounce": None, "lambaste": None, "chide": None, "scold": None, "rebuke": None,
    "hail": None, "commend": None, "thank": None, "congratulate": None, "reference": None,
    "quote": None, "recall": None, "concede": None, "lament": None,
    "regret": None, "trust": None, "distrust": None, "doubt": None,
    "challenge": None, "contest": None, "refute": None, "rebut": None, "counter": None,
    "advise": None, "caution": "against", "insult": None, "disparage": None,
    "deride": None, "brand": None, "label": None, "liken": None,
    "compare": None, "characterize": None, "portray": None, "depict": None,
}
CUE_VERBS = SPEECH | COGNITION
SPEECH_NOUNS = {"statement", "announcement", "report", "claim", "remark", "comment", "release",
                "interview", "testimony", "speech", "tweet", "post", "letter", "memo",
                "assertion", "allegation", "warning", "promise", "argument", "belief", "view",
                "opinion", "suggestion", "message", "communique", "communiqué", "briefing"}
DOCUMENT_NOUNS = {"release", "statement", "report", "document", "letter", "memo", "communique",
                  "communiqué", "study", "survey", "poll", "filing", "transcript", "record",
                  "records", "data", "analysis", "paper", "book", "ruling", "decision", "tweet",
                  "post", "article", "editorial", "column", "interview", "speech", "website",
                  "email", "documents", "investigation", "review", "audit", "complaint"}
GROUP_NOUNS = {"analysts", "experts", "officials", "sources", "observers", "critics",
               "residents", "witnesses", "activists", "diplomats", "lawmakers", "economists",
               "investigators", "researchers", "scientists", "people", "aides", "advisers",
               "advisors", "supporters", "opponents", "voters", "democrats", "republicans",
               "members", "leaders", "authorities", "police", "doctors", "historians",
               "insiders", "commentators", "pundits", "scholars", "polls", "many",
               "others", "some"}
ANAPHORIC_SOURCES = {"the same source", "the source", "the same sources", "the sources"}
PRONOUNS_PERSON = {"he", "she", "him", "her"}
PRONOUNS_THING = {"it"}
PRONOUNS_GROUP = {"they", "them"}

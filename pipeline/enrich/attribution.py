"""Source attribution inside the text: who said, reported or was cited for what.

Rules over spaCy's dependency parse find the cue (a reporting verb, "according
to", "citing"), its content (the reported clause or quote) and its source (the
speaker), then resolve the source to the article's canonical entity, through
pronouns and anaphors ("he", "the newspaper", "the same source")::

    >>> from pipeline.enrich.nlp import load_model
    >>> doc = load_model()("The minister said the talks had failed.")
    >>> [doc.text[f.source[0]:f.source[1]] for f in find_raw(doc) if f.source]
    ['The minister']
"""

from __future__ import annotations

import re

from spacy.tokens import Doc, Span, Token

from pipeline.core.vocabulary import QUOTE_CLOSE, QUOTE_OPEN
from pipeline.enrich import cues
from pipeline.enrich.found import Found, Range, doc_text
from pipeline.enrich.patterns import dash_credits, speaker_labels
from pipeline.enrich.quotes import quote_spans


def _trim(doc: Doc, start: int, end: int) -> Range:
    text = doc_text(doc)
    while start < end and (text[start].isspace() or text[start] in ",;:—–-"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:.—–-"):
        end -= 1
    return start, end


def _span_chars(tokens: list[Token]) -> Range:
    return tokens[0].idx, tokens[-1].idx + len(tokens[-1])


def _subtree(tok: Token) -> list[Token]:
    return sorted(tok.subtree, key=lambda t: t.i)


def _source_range(tok: Token | None) -> Range | None:
    return _span_chars(_source_tokens(tok)) if tok is not None else None


def _content_range(doc: Doc, tokens: list[Token]) -> Range:
    """Characters of the tokens, with adjacent quote marks, trimmed of edge punctuation."""
    return _trim(doc, *_extend_quotes(doc, *_span_chars(tokens)))


def _contiguous(tokens: list[Token], anchor: Token) -> list[Token]:
    """Keep the run of consecutive tokens around ``anchor``."""
    idx = {t.i for t in tokens}
    lo = hi = anchor.i
    while lo - 1 in idx:
        lo -= 1
    while hi + 1 in idx:
        hi += 1
    return [t for t in tokens if lo <= t.i <= hi]


def _subject(verb: Token) -> Token | None:
    for child in verb.children:
        if child.dep_ == "nsubj":
            return child
    for child in verb.children:
        if child.dep_ == "agent":
            for gc in child.children:
                if gc.dep_ == "pobj":
                    return gc
    if verb.dep_ in {"conj", "xcomp", "advcl"} and verb.head.pos_ in {"VERB", "AUX"}:
        return _subject(verb.head)
    if verb.dep_ == "pcomp" and verb.head.dep_ == "prep" and verb.head.head.pos_ in {"VERB",
                                                                                    "AUX"}:
        return _subject(verb.head.head)  # "X sang before asking her …" -> X
    if verb.dep_ == "acl" and verb.head.pos_ in {"NOUN", "PROPN"}:
        return verb.head  # "a statement saying that …"
    return None


def _source_tokens(head: Token) -> list[Token]:
    """The source phrase: the subject's subtree without relative clauses or appositions."""
    inside = {x.i for x in head.subtree}
    keep: list[Token] = []
    for t in sorted(head.subtree, key=lambda t: t.i):
        chain = [a for a in [t, *t.ancestors] if a.i in inside and a is not head]
        if any(a.dep_ in {"relcl", "acl", "appos"} for a in chain):
            continue
        keep.append(t)
    keep = _contiguous(keep, head)
    breaks = [i for i, t in enumerate(keep) if "\n" in t.text_with_ws and t.i < head.i]
    if breaks:  # a source never spans a line break ("12:15 p.m.\n\nTrump says")
        keep = keep[breaks[-1] + 1:]
    while keep and (keep[0].is_space or keep[0].is_punct):
        keep = keep[1:]
    while keep and keep[-1].is_punct:
        keep.pop()
    return keep or [head]


def _content_child(verb: Token) -> Token | None:
    for dep in ("ccomp", "xcomp"):
        for child in verb.children:
            if child.dep_ == dep:
                return child
    return None


def _kind(text: str) -> str:
    s = text.strip()
    if s and s[0] in QUOTE_OPEN and s[-1] in QUOTE_CLOSE + ".,":
        return "direct"
    if any(q in s for q in "\"“”«»"):
        return "mixed"
    return "indirect"


def _verb_cue(verb: Token) -> Range:
    """The verb plus a following particle or auxiliary within two tokens ("pointed out")."""
    toks = [verb] + [c for c in verb.children if c.dep_ in {"aux", "auxpass", "neg", "prt"}
                     and verb.i < c.i <= verb.i + 2]
    return _span_chars(sorted(toks, key=lambda t: t.i))


def _nominal(verb: Token, doc: Doc) -> Found | None:
    """'X criticized the plan' / 'X called for a ceasefire': the object is the content."""
    lemma = verb.lemma_.lower()
    if verb.pos_ != "VERB":
        return None
    subj = _subject(verb)
    if subj is not None and subj.lower_ in {"which", "that"} and verb.dep_ == "relcl":
        subj = verb.head  # "the documents that show …" -> the documents
    if subj is None or subj.lower_ in {"it", "this", "that", "which", "there"}:
        return None
    if lemma not in cues.NOMINAL:
        return None
    prep = cues.NOMINAL.get(lemma)
    obj = None
    for child in verb.children:
        if prep is None and child.dep_ == "dobj":
            obj = child
        elif prep is not None and child.dep_ in {"prep", "prt"} and child.lower_ == prep:
            obj = next((g for g in child.children if g.dep_ in {"pobj", "pcomp"}), None)
    if obj is None or obj.pos_ == "PRON":
        return None
    toks = _subtree(obj)
    if len([t for t in toks if not t.is_punct]) < 2:
        return None
    content = _content_range(doc, toks)
    cue = (verb.idx, verb.idx + len(verb))
    if prep is not None:
        p = next(c for c in verb.children if c.lower_ == prep)
        cue = (min(verb.idx, p.idx), max(verb.idx + len(verb), p.idx + len(p)))
    return Found(_kind(doc_text(doc)[content[0]:content[1]]), content, cue, _source_range(subj))


def _from_verb(verb: Token, sent: Span, doc: Doc) -> Found | None:
    if verb.lemma_.lower() not in cues.CUE_VERBS or verb.pos_ not in {"VERB", "AUX"}:
        return _nominal(verb, doc)
    subj = _subject(verb)
    passive = any(c.dep_ in {"nsubjpass", "auxpass"} for c in verb.children)
    if passive and subj is None:
        return None
    content_tok = _content_child(verb)
    if content_tok is not None:
        toks = _subtree(content_tok)
        if content_tok.dep_ == "xcomp" and verb.lemma_ not in cues.COGNITION:
            return None
    elif verb.dep_ == "parataxis" or (verb.dep_ == "advcl" and verb.i > verb.head.i):
        exclude = {t.i for t in verb.subtree}
        toks = [t for t in sent if t.i not in exclude]
        if not toks:
            return None
    elif _colon_after(verb, doc):
        content = _after_colon(verb, doc)
        if content is None:
            return None
        cue = (verb.idx, doc[verb.i + 1].idx + 1)
        return Found(_kind(doc_text(doc)[content[0]:content[1]]), content, cue,
                     _source_range(subj))
    elif verb.lemma_ in cues.SPEECH and (q := _quote_before(verb, doc)) is not None:
        return Found("direct", q, _verb_cue(verb), _source_range(subj))
    elif verb.lemma_ == "call" and any(c.dep_ == "oprd" for c in verb.children):
        toks = [t for c in verb.children if c.dep_ in {"dobj", "oprd"} for t in c.subtree]
        toks.sort(key=lambda t: t.i)
    else:
        return _nominal(verb, doc)
    if len([t for t in toks if not t.is_punct]) < 2:
        return None
    content = _content_range(doc, toks)
    return Found(_kind(doc_text(doc)[content[0]:content[1]]), content, _verb_cue(verb),
                 _source_range(subj))


def _quotes(doc: Doc) -> list[Range]:

    if "newsflow_quotes" not in doc.user_data:
        doc.user_data["newsflow_quotes"] = quote_spans(doc_text(doc))
    cached: list[Range] = doc.user_data["newsflow_quotes"]
    return cached


def _quote_before(verb: Token, doc: Doc) -> Range | None:
    """'“…,” said X.' parsed as two sentences: the quote just before the cue."""
    text = doc_text(doc)
    for qs, qe in reversed(_quotes(doc)):
        if qe > verb.idx:
            continue
        between = text[qe:verb.idx]
        close = len(between) <= 60 and "\n" not in between and not any(c in between
                                                                         for c in ".?!")
        if close and (text[qe - 2:qe - 1] in {",", "?", "!", "—"} or text[qe - 1] in ","):
            return qs, qe
        return None
    return None


def _colon_after(verb: Token, doc: Doc) -> bool:
    nxt = verb.i + 1
    while nxt < len(doc) and doc[nxt].dep_ in {"prt", "advmod"} and nxt - verb.i < 3:
        nxt += 1
    return nxt < len(doc) and doc[nxt].text == ":"


def _after_colon(verb: Token, doc: Doc) -> Range | None:
    """'X said:' -> the rest of the paragraph, or the next paragraph if the colon ends it."""
    text = doc_text(doc)
    colon = text.find(":", verb.idx)
    start = colon + 1
    para_end = text.find("\n\n", start)
    para_end = len(text) if para_end == -1 else para_end
    if not text[start:para_end].strip():
        start = para_end
        while start < len(text) and text[start].isspace():
            start += 1
        para_end = text.find("\n\n", start)
        para_end = len(text) if para_end == -1 else para_end
    content = _trim(doc, start, para_end)
    return content if content[1] - content[0] > 3 else None


def _extend_quotes(doc: Doc, start: int, end: int) -> Range:
    """Include an opening or closing quote mark adjacent to the content."""
    text = doc_text(doc)
    if start > 0 and text[start - 1] in QUOTE_OPEN:
        start -= 1
    if end < len(text) and text[end] in QUOTE_CLOSE:
        end += 1
    elif end + 1 < len(text) and text[end] in ",." and text[end + 1] in QUOTE_CLOSE:
        end += 2
    return start, end


def _according_to(sent: Span, doc: Doc) -> list[Found]:
    out = []
    for tok in sent:
        if tok.lower_ != "according" or tok.i + 1 >= len(doc) or doc[tok.i + 1].lower_ != "to":
            continue
        to = doc[tok.i + 1]
        pobj = next((c for c in to.children if c.dep_ == "pobj"), None)
        if pobj is None:
            continue
        phrase = {t.i for t in tok.subtree} | {t.i for t in to.subtree} | {tok.i, to.i}
        src_toks = sorted((t for t in pobj.subtree), key=lambda t: t.i)
        rest = [t for t in sent if t.i not in phrase]
        if not rest:
            continue
        before = [t for t in rest if t.i < tok.i]
        after = [t for t in rest if t.i > max(phrase)]
        body = before if len([t for t in before if not t.is_punct]) >= 3 else after
        if len([t for t in body if not t.is_punct]) < 3 and sent.start > 0:
            body = list(doc[sent.start - 1].sent)  # "…isolation. According to X." style
        if not body:
            continue
        content = _content_range(doc, body)
        out.append(Found("according_to", content, (tok.idx, to.idx + len(to)),
                         _span_chars(src_toks)))
    return out


def _citing(found: Found, sent: Span, doc: Doc) -> list[Found]:
    out = []
    for tok in sent:
        if tok.lower_ not in {"citing", "quoting"}:
            continue
        obj = next((c for c in tok.children if c.dep_ in {"dobj", "pobj"}), None)
        if obj is None:
            continue
        out.append(Found("citing", _core_claim(doc, found.content),
                         (tok.idx, tok.idx + len(tok)), _source_range(obj),
                         cites_for=found.content))
    return out


GLOSS = re.compile(r",[”\"’»]?(?=\s+(?:in which|which|where|whose|while)\s)")


def _core_claim(doc: Doc, content: Range) -> Range:
    """The cited source's claim without the reporter's trailing gloss (", in which …")."""
    text = doc_text(doc)[content[0]:content[1]]
    cut = [m.end() for m in GLOSS.finditer(text)]
    if cut and cut[-1] > len(text) // 3:
        return _trim(doc, content[0], content[0] + cut[-1])
    return content


def _from_noun(noun: Token, doc: Doc) -> Found | None:
    """'his claim that the vote was rigged': a speech noun with a that-clause."""
    if noun.pos_ != "NOUN" or noun.lemma_.lower() not in cues.SPEECH_NOUNS:
        return None
    clause = next((c for c in noun.children if c.dep_ in {"acl", "ccomp"} and
                   any(g.lower_ == "that" and g.dep_ == "mark" for g in c.children)), None)
    if clause is None:
        return None
    content = _content_range(doc, _subtree(clause))
    owner = next((c for c in noun.children if c.dep_ == "poss"), None)
    if owner is None:
        prep = next((c for c in noun.children if c.dep_ == "prep" and c.lower_ in {"by", "from",
                                                                                 "of"}), None)
        owner = next((g for g in prep.children if g.dep_ == "pobj"), None) if prep else None
    return Found(_kind(doc_text(doc)[content[0]:content[1]]), content,
                 (noun.idx, noun.idx + len(noun)), _source_range(owner))


def find_in_sentence(sent: Span, doc: Doc) -> list[Found]:
    found: list[Found] = []
    for tok in sent:
        f = _from_verb(tok, sent, doc) or _from_noun(tok, doc)
        if f:
            found.append(f)
    found.extend(_according_to(sent, doc))
    chains = [c for f in found if f.kind != "citing" for c in _citing(f, sent, doc)]
    # "citing X" is a link of the report's chain, not a report of its own
    chain_cues = {c.cue for c in chains}
    found = [f for f in found if f.cue not in chain_cues] + chains
    return _dedupe(found)


def _dedupe(found: list[Found]) -> list[Found]:
    """One attribution per cue and kind: the one with the longest content."""
    out: list[Found] = []
    for f in sorted(found, key=lambda f: -(f.content[1] - f.content[0])):
        if any(g.cue == f.cue and g.kind == f.kind for g in out):
            continue
        out.append(f)
    return sorted(out, key=lambda f: f.content[0])


def find_raw(doc: Doc) -> list[Found]:
    """Every attribution of ``doc`` with character ranges, sources unresolved."""

    quotes = _quotes(doc)
    out: list[Found] = speaker_labels(doc_text(doc)) + dash_credits(doc_text(doc))
    labelled = [f.content for f in out]
    for sent in doc.sents:
        if any(s <= sent.start_char < e for s, e in labelled):
            continue
        out.extend(f for f in find_in_sentence(sent, doc) if not _hedge_in_quote(f, doc, quotes))
    for f in out:
        _whole_quotes(f, quotes)
        _continuation(f, quotes, doc_text(doc))
    out.extend(_orphan_quotes(doc, out, quotes))
    return sorted(out, key=lambda f: f.content[0])


FIRST_SECOND = {"i", "we", "you"}


def _hedge_in_quote(f: Found, doc: Doc, quotes: list[Range]) -> bool:
    """'I think' / 'you know' inside someone's quote is a hedge, not an attribution."""
    if f.source is None or f.cue is None:
        return False
    if doc_text(doc)[f.source[0]:f.source[1]].lower() not in FIRST_SECOND:
        return False
    return any(qs < f.cue[0] < qe for qs, qe in quotes)


def _whole_quotes(f: Found, quotes: list[Range]) -> None:
    """A content cut inside a quote grows to the whole quote (multi-sentence quotes)."""
    if f.kind in {"citing", "according_to"}:
        return
    start, end = f.content
    for qs, qe in quotes:
        overlaps = qs < end and qe > start
        cue_inside = f.cue is not None and qs <= f.cue[0] < qe
        if overlaps and not cue_inside and (qs < start or qe > end) and qe - qs < 3000:
            start, end = min(start, qs), max(end, qe)
    f.content = (start, end)


def _continuation(f: Found, quotes: list[Range], text: str) -> None:
    """'“Part one,” she said. “Part two.”': the second quote continues the first."""
    if f.cue is None or f.content[1] > f.cue[0] or text[f.content[1] - 1] not in QUOTE_CLOSE \
            + ",'":
        return
    for qs, qe in quotes:
        if qs <= f.cue[1]:
            continue
        between = text[f.cue[1]:qs]
        if "\n\n" not in between and len(between) < 60 and between.count(".") <= 1:
            f.extra.append((qs, qe))
        break


def _orphan_quotes(doc: Doc, found: list[Found], quotes: list[Range]) -> list[Found]:
    """Quotes of several words covered by no attribution: direct speech of the last speaker."""
    covered = [f.content for f in found] + [r for f in found for r in f.extra]
    out = []
    for start, end in quotes:
        if any(s <= start and end <= e for s, e in covered):
            continue
        text = doc_text(doc)
        if len(text[start:end].split()) < 6:
            continue
        out.append(Found("direct", (start, end), None, _nearby_speaker(text, start, found)))
    return out


def _paragraph(text: str, pos: int) -> Range:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end == -1 else end


def _nearby_speaker(text: str, pos: int, found: list[Found]) -> Range | None:
    """The speaker of a quote with no cue: one named in its paragraph, else just before it."""
    p0, p1 = _paragraph(text, pos)
    with_source = [f for f in found if f.source is not None]
    same = [f for f in with_source if p0 <= f.source[0] < p1]  # type: ignore[index]
    if same:
        return min(same, key=lambda f: abs(f.source[0] - pos)).source  # type: ignore[index]
    before = [f for f in with_source if f.source[1] <= pos]  # type: ignore[index]
    if before:
        last = max(before, key=lambda f: f.source[1])  # type: ignore[index]
        if pos - last.source[1] < 400:  # type: ignore[index]
            return last.source
    return None

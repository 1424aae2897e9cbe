"""Source attribution inside the text: who said, reported or was cited for what.

Rules over spaCy's dependency parse find the cue (a reporting verb, "according
to", "citing"), its content (the reported clause or quote) and its source (the
speaker), then resolve the source to the article's canonical entity, through
pronouns and anaphors ("he", "the newspaper", "the same source")::

    >>> import spacy                                     # doctest: +SKIP
    >>> doc = nlp("The minister said the talks had failed.")   # doctest: +SKIP
    >>> [a.source.text for a in find_attributions(doc, canonicalise(doc))]  # doctest: +SKIP
    ['The minister']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from spacy.tokens import Doc, Span, Token

from pipeline.enrich import cues

Range = tuple[int, int]


@dataclass
class Found:
    kind: str
    content: Range
    cue: Range | None
    source: Range | None
    source_canonical: str | None = None
    source_type: str = "unnamed"
    cited_via: list[str] = field(default_factory=list)


def _trim(doc: Doc, start: int, end: int) -> Range:
    text = doc.text
    while start < end and (text[start].isspace() or text[start] in ",;:—–-"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:.—–-"):
        end -= 1
    return start, end


def _span_chars(tokens: list[Token]) -> Range:
    return tokens[0].idx, tokens[-1].idx + len(tokens[-1])


def _subtree(tok: Token, exclude: set[int] | None = None) -> list[Token]:
    ex = exclude or set()
    return sorted((t for t in tok.subtree if t.i not in ex), key=lambda t: t.i)


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
        if child.dep_ in {"nsubj", "nsubjpass"} and child.dep_ != "nsubjpass":
            return child
    for child in verb.children:
        if child.dep_ == "agent":
            for gc in child.children:
                if gc.dep_ == "pobj":
                    return gc
    if verb.dep_ in {"conj", "xcomp", "advcl"} and verb.head.pos_ in {"VERB", "AUX"}:
        return _subject(verb.head)
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
    if s and s[0] in cues.QUOTE_OPEN and s[-1] in cues.QUOTE_CLOSE + ".,":
        return "direct"
    if any(q in s for q in "\"“”«»"):
        return "mixed"
    return "indirect"


def _verb_cue(verb: Token, doc: Doc) -> Range:
    toks = [verb] + [c for c in verb.children if c.dep_ in {"aux", "auxpass", "neg", "prt"}
                     and c.i > verb.i]
    toks.sort(key=lambda t: t.i)
    return _span_chars([t for t in toks if abs(t.i - verb.i) <= 2]) if toks else (
        verb.idx, verb.idx + len(verb))


def _from_verb(verb: Token, sent: Span, doc: Doc) -> Found | None:
    if verb.lemma_.lower() not in cues.CUE_VERBS or verb.pos_ not in {"VERB", "AUX"}:
        return None
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
    else:
        return None
    if len([t for t in toks if not t.is_punct]) < 2:
        return None
    start, end = _span_chars(toks)
    start, end = _extend_quotes(doc, start, end)
    content = _trim(doc, start, end)
    source = _span_chars(_source_tokens(subj)) if subj is not None else None
    return Found(_kind(doc.text[content[0]:content[1]]), content, _verb_cue(verb, doc), source)


def _extend_quotes(doc: Doc, start: int, end: int) -> Range:
    """Include an opening or closing quote mark adjacent to the content."""
    text = doc.text
    if start > 0 and text[start - 1] in cues.QUOTE_OPEN:
        start -= 1
    if end < len(text) and text[end] in cues.QUOTE_CLOSE:
        end += 1
    elif end + 1 < len(text) and text[end] in ",." and text[end + 1] in cues.QUOTE_CLOSE:
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
        content = _trim(doc, *_extend_quotes(doc, *_span_chars(body)))
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
        src = _span_chars(_source_tokens(obj))
        out.append(Found("citing", _core_claim(doc, found.content),
                         (tok.idx, tok.idx + len(tok)), src))
    return out


GLOSS = re.compile(r",[”\"’»]?(?=\s+(?:in which|which|where|whose|while)\s)")


def _core_claim(doc: Doc, content: Range) -> Range:
    """The cited source's claim without the reporter's trailing gloss (", in which …")."""
    text = doc.text[content[0]:content[1]]
    cut = [m.end() for m in GLOSS.finditer(text)]
    if cut and cut[-1] > len(text) // 3:
        return _trim(doc, content[0], content[0] + cut[-1])
    return content


def find_in_sentence(sent: Span, doc: Doc) -> list[Found]:
    found: list[Found] = []
    for tok in sent:
        f = _from_verb(tok, sent, doc)
        if f:
            found.append(f)
    found.extend(_according_to(sent, doc))
    for f in list(found):
        if f.kind != "citing":
            chain = _citing(f, sent, doc)
            found.extend(chain)
    return _dedupe(found)


def _dedupe(found: list[Found]) -> list[Found]:
    """Drop an attribution whose content lies inside another's with the same cue region."""
    out: list[Found] = []
    for f in sorted(found, key=lambda f: -(f.content[1] - f.content[0])):
        if any(g.cue == f.cue and g.kind == f.kind for g in out):
            continue
        out.append(f)
    return sorted(out, key=lambda f: f.content[0])


def find_raw(doc: Doc) -> list[Found]:
    """Every attribution of ``doc`` with character ranges, sources unresolved."""
    out: list[Found] = []
    for sent in doc.sents:
        out.extend(find_in_sentence(sent, doc))
    out.extend(_orphan_quotes(doc, out))
    return sorted(out, key=lambda f: f.content[0])


def _orphan_quotes(doc: Doc, found: list[Found]) -> list[Found]:
    """Quotes of several words covered by no attribution: direct speech of the last speaker."""
    from pipeline.enrich.quotes import quote_spans

    covered = [f.content for f in found]
    out = []
    for start, end in quote_spans(doc.text):
        if any(s <= start and end <= e for s, e in covered):
            continue
        if len(doc.text[start:end].split()) < 6:
            continue
        prior = [f for f in found if f.content[1] <= start and f.source is not None]
        source = prior[-1].source if prior else None
        out.append(Found("direct", (start, end), None, source))
    return out

"""A labelled set for copy detection, built at run time from the 181 article bodies of
``../shared/data/article-extraction-benchmark/ground-truth.json`` (MIT; nothing is copied
into the repository).

The articles are split by a hash of their key into *stories* (two thirds) and *fodder*
(one third). Each story gives:

* the original, and ``variants`` syndicated copies, each made of several of the
  transformations a wire copy goes through, drawn at random: a new headline, a dateline
  and a credit line added or removed, truncation to the first paragraphs, paragraphs
  merged or split, light copy-edits (spelling variants, "5 percent" -> "5%", "U.S." ->
  "US", ...), a paragraph removed, an editor's note or a related-links block inserted;
* templated stories (hard negatives): the same wording about other companies, teams,
  places and figures (earnings, football results, earthquakes; written for this set);
* a follow-up story (hard negative): new text (paragraphs of the fodder article closest
  in topic, each fodder paragraph used once) with one background paragraph of the
  story reused, lightly reworded at its start: a different story.

Different stories on the same topic are the other hard negatives: the story pairs with
the highest word cosine are listed (``topic_pairs``) so their merges can be counted.
Labels: an original and its copies share a label; every follow-up has its own.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

TRUTH = (Path(__file__).resolve().parents[2] / "shared" / "data" /
         "article-extraction-benchmark" / "ground-truth.json")

CITIES = ["PARIS", "LONDON", "WASHINGTON", "MOSCOW", "BEIJING", "NEW YORK", "BERLIN",
          "GENEVA", "NAIROBI", "SYDNEY", "TOKYO", "MADRID", "ROME", "BRUSSELS"]
DATELINES = [
    lambda c, d: f"{c} (AFP) — ", lambda c, d: f"{c} (AP) — ",
    lambda c, d: f"{c}, {d} (Reuters) - ", lambda c, d: f"{c.title()} (dpa) - ",
    lambda c, d: f"{c}, {d} (Xinhua) -- ", lambda c, d: "(Reuters) - ",
]
CREDITS = [
    "© 2019 AFP",
    "Copyright 2019 The Associated Press. All rights reserved. This material may not be "
    "published, broadcast, rewritten or redistributed.",
    "(Reporting by Jane Wardell and Tom Hals; Editing by Mark Potter)",
    "— AFP",
    "Copyright © 2019 Newsroom Media Group. All rights reserved.",
    "Additional reporting by Reuters.",
    "This article originally appeared on the wire and has been edited for length.",
]
NOTES = [
    "Editor's note: This story has been updated with additional reporting.",
    "EDITOR'S NOTE — This article was updated to correct the spelling of a name.",
    "Correction: An earlier version of this story misstated a date.",
    "This story is part of our ongoing coverage. Check back for updates.",
    "Note to readers: some links in this article may earn us a commission.",
]
RELATED = ["Related:", "READ MORE:", "Related coverage", "See also:", "More on this story:"]
EDITS = [  # (from, to) word-level copy-edits, tried in both directions
    (r"\bpercent\b", "per cent"), (r"(\d) percent\b", r"\1%"), (r"\bU\.S\.", "US"),
    (r"\bcolor\b", "colour"), (r"\borganization\b", "organisation"), (r"\bcenter\b", "centre"),
    (r"\brealize\b", "realise"), (r"\bdefense\b", "defence"), (r"\bMr\. ", "Mr "),
    (r"\bOK\b", "okay"), (r"\btwo\b", "2"), (r"\bthree\b", "3"), (r"\btoward\b", "towards"),
    (r"\bSaturday\b", "Sat."), (r"\bsaid\b", "says"), (r"\bthe company\b", "the firm"),
    (r", and\b", " and"), (r"\bhowever\b", "though"), (r"\bapproximately\b", "about"),
]
# Templated stories (hard negatives): the same wording about other companies, teams,
# places and figures. Written for this benchmark.
TEMPLATES = [
    "{org} said on {day} that its third-quarter net profit rose {p} percent to {n} million "
    "euros, beating analysts' forecasts, as demand held up in {region}.\n\nRevenue climbed "
    "to {m} billion euros from {k} billion a year earlier, the {city}-based group said in a "
    "statement. Chief executive {person} said the company expected growth of about {q} "
    "percent for the full year.\n\nShares in {org} were up {s} percent in early trading.",
    "{team} beat {team2} {a}-{b} on {day} to move {p} points clear at the top of the table."
    "\n\n{person} scored twice before half-time and {person2} added a third after {n} "
    "minutes, in front of a crowd of {m},000 at the stadium in {city}.\n\n{team2} have now "
    "lost {k} of their last {q} matches, and their coach said after the game that the side "
    "needed to improve quickly.",
    "A magnitude {a}.{b} earthquake struck off the coast of {region} on {day}, the national "
    "seismology institute said, at a depth of {n} kilometres.\n\nThere were no immediate "
    "reports of damage or casualties, but residents of {city} said the tremor was felt for "
    "about {k} seconds. {person}, a spokesman for the civil protection agency, said teams "
    "were checking bridges and schools.\n\nThe region was hit by a magnitude {q} quake in "
    "{m}, which killed {p} people.",
]
ORGS = ["Siemens", "Nordwerk", "Alvara", "Kestrel Foods", "Danubia Steel", "Helix Pharma",
        "Portmann", "Vireo Energy", "Castellan", "Orbis Logistics"]
TEAMS = ["Lyon", "Porto", "Rapid Vienna", "Celtic", "Ajax", "Sevilla", "Dynamo Kyiv",
         "Galatasaray", "Sporting", "Anderlecht"]
REGIONS = ["Europe", "Asia", "Latin America", "Chile", "Japan", "Greece", "Peru", "Turkey",
           "the Philippines", "Indonesia"]
PEOPLE = ["Anna Keller", "Marco Silva", "Lena Novak", "Tomas Berg", "Aiko Tanaka",
          "Rafael Costa", "Ingrid Holm", "Yusuf Demir", "Clara Mendes", "Pavel Horak"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def templated(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """(title, text) of ``n`` stories written from TEMPLATES with other names and figures."""
    out = []
    for i in range(n):
        t = TEMPLATES[i % len(TEMPLATES)]
        team, team2 = rng.sample(TEAMS, 2)
        person, person2 = rng.sample(PEOPLE, 2)
        text = t.format(org=rng.choice(ORGS), team=team, team2=team2, person=person,
                        person2=person2, region=rng.choice(REGIONS), city=rng.choice(CITIES)
                        .title(), day=rng.choice(DAYS), a=rng.randint(2, 7),
                        b=rng.randint(0, 9), p=rng.randint(2, 40), n=rng.randint(11, 90),
                        m=rng.randint(12, 99), k=rng.randint(2, 9), q=rng.randint(3, 12),
                        s=rng.randint(1, 9))
        out.append((_headline(text, rng), text))
    return out


TRANSFORMS = ["retitle", "dateline", "credit", "truncate", "merge", "split", "edit",
              "remove", "note", "related"]


@dataclass
class Doc:
    id: str
    title: str
    text: str
    label: str
    kind: str  # original | copy | followup
    base: str  # the story it is made from
    transforms: list[str] = field(default_factory=list)


def load(path: Path = TRUTH) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v["articleBody"].strip() for k, v in sorted(data.items())
            if v.get("articleBody", "").strip()}


def paras(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _h(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def _vec(text: str) -> Counter[str]:
    return Counter(w for w in re.findall(r"[a-z]{4,}", text.lower()))


def cosine(a: Counter[str], b: Counter[str]) -> float:
    num = sum(v * b[k] for k, v in a.items() if k in b)
    den = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return num / den if den else 0.0


def _sentences(p: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?”])\s+(?=[A-Z“\"])", p) if s]


def _headline(text: str, rng: random.Random) -> str:
    ws = text.split()[:rng.randint(6, 11)]
    return " ".join(ws).rstrip(",.;:") or "Untitled"


def _edit(ps: list[str], rng: random.Random) -> list[str]:
    ps = list(ps)
    for _ in range(rng.randint(2, 6)):
        pat, rep = rng.choice(EDITS)
        i = rng.randrange(len(ps))
        new = re.sub(pat, rep, ps[i], count=1)
        if new == ps[i]:  # the other direction, on a literal replacement
            new = ps[i].replace(re.sub(r"\\(.)", r"\1", rep), re.sub(r"\\b|\\", "", pat), 1) \
                if "(" not in pat else new
        if new == ps[i]:  # nothing to edit: drop or swap one word instead
            ws = ps[i].split()
            if len(ws) > 8:
                j = rng.randrange(1, len(ws) - 1)
                if rng.random() < 0.5:
                    del ws[j]
                else:
                    ws[j], ws[j + 1] = ws[j + 1], ws[j]
                new = " ".join(ws)
        ps[i] = new
    return ps


def _background(ps: list[str]) -> list[str]:
    """Paragraph-sized pieces of a story a follow-up may reuse: 20 to 90 words, at most
    40% of the story; else the first two or three sentences of a paragraph past the lede."""
    total = sum(len(p.split()) for p in ps)
    fits = [p for p in ps[1:] if 20 <= len(p.split()) <= min(90, 0.4 * total)]
    if fits:
        return fits
    pieces = []
    for p in ps[1:] or ps:
        ss = _sentences(p)
        for i in range(1, len(ss)):
            piece = " ".join(ss[i:i + 3])
            if 20 <= len(piece.split()) <= min(90, 0.4 * total):
                pieces.append(piece)
    return pieces


def variant(ps: list[str], rng: random.Random, others: list[str]
            ) -> tuple[list[str], list[str], bool]:
    """A copy of paragraphs ``ps``: (paragraphs, transformations, new headline)."""
    chosen = rng.sample(TRANSFORMS, rng.randint(2, 5))
    out = list(ps)
    if "remove" in chosen and len(out) >= 3:
        del out[rng.randrange(len(out))]
    if "truncate" in chosen and len(out) >= 3:
        keep, words = 0, 0
        target = max(2, round(len(out) * rng.uniform(0.25, 0.7)))
        while keep < len(out) and (keep < target or words < 40):
            words += len(out[keep].split())
            keep += 1
        out = out[:keep]
    if "edit" in chosen:
        out = _edit(out, rng)
    if "merge" in chosen and len(out) >= 2:
        for _ in range(rng.randint(1, max(1, len(out) // 3))):
            if len(out) < 2:
                break
            i = rng.randrange(len(out) - 1)
            out[i:i + 2] = [out[i] + " " + out[i + 1]]
    if "split" in chosen:
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(out))
            ss = _sentences(out[i])
            if len(ss) >= 2:
                k = rng.randrange(1, len(ss))
                out[i:i + 1] = [" ".join(ss[:k]), " ".join(ss[k:])]
    lead = re.match(r"^[A-Z .,]*\((?:AFP|AP|Reuters|dpa|Xinhua)\)\s*[-—–]+\s*", out[0])
    if "dateline" in chosen:
        if lead:
            out[0] = out[0][lead.end():]
        else:
            city, day = rng.choice(CITIES), f"Nov {rng.randint(1, 28)}"
            out[0] = rng.choice(DATELINES)(city, day) + out[0]
    if "credit" in chosen:
        last = out[-1]
        if len(last) < 200 and re.search(r"©|copyright|reporting by|\bAFP\b", last, re.I):
            out = out[:-1]
        else:
            out.append(rng.choice(CREDITS))
    if "note" in chosen:
        note = rng.choice(NOTES)
        if rng.random() < 0.5:
            out.insert(0, note)
        else:
            out.append(note)
    if "related" in chosen and others:
        heads = [_headline(o, rng) for o in rng.sample(others, min(3, len(others)))]
        block = [rng.choice(RELATED), *heads[:rng.randint(1, 3)]]
        if rng.random() < 0.4:
            block = [f"{block[0]} {block[1]}"]
        i = rng.randint(1, max(1, len(out) - 1))
        out[i:i] = block
    return out, chosen, "retitle" in chosen


def build(*, seed: int = 1, variants: int = 4, stories_share: float = 2 / 3,
          templates: int = 60) -> tuple[list[Doc], list[tuple[str, str, float]]]:
    """(documents in a shuffled arrival order, same-topic story pairs with their cosine)."""
    bodies = load()
    keys = sorted(bodies, key=_h)
    cut = round(len(keys) * stories_share)
    stories, fodder = keys[:cut], keys[cut:]
    rng = random.Random(seed)
    vec = {k: _vec(bodies[k]) for k in keys}
    fodder_paras = {k: paras(bodies[k]) for k in fodder}
    docs: list[Doc] = []
    for n, key in enumerate(stories):
        ps = paras(bodies[key])
        title = _headline(bodies[key], rng)
        docs.append(Doc(f"s{n}-0", title, "\n\n".join(ps), f"s{n}", "original", key))
        others = [bodies[k] for k in rng.sample(keys, 4) if k != key]
        for v in range(1, variants + 1):
            out, how, retitled = variant(ps, rng, others)
            docs.append(Doc(f"s{n}-{v}", _headline(out[-1], rng) if retitled else title,
                            "\n\n".join(out), f"s{n}", "copy", key, how))
        # the follow-up: new text from the closest fodder with paragraphs left, plus one
        # background paragraph of this story
        background = _background(ps)
        near = sorted((k for k in fodder if len(fodder_paras[k]) >= 3),
                      key=lambda k: -cosine(vec[key], vec[k]))
        if not background or not near:
            continue
        src = near[0]
        take = rng.randint(2, 5)
        new, fodder_paras[src] = fodder_paras[src][:take], fodder_paras[src][take:]
        reused = background[rng.randrange(len(background))]
        lead_in = rng.choice(["", "Earlier, ", "Previously, ", "As reported, "])
        reused = lead_in + (reused[0].lower() + reused[1:] if lead_in else reused)
        new.insert(rng.randint(1, len(new)), reused)
        docs.append(Doc(f"f{n}", _headline(new[0], rng), "\n\n".join(new), f"f{n}",
                        "followup", key))
    for n, (title, text) in enumerate(templated(rng, templates)):
        docs.append(Doc(f"t{n}", title, text, f"t{n}", "templated", f"template{n % 3}"))
    pairs = sorted(((a, b, cosine(vec[a], vec[b])) for i, a in enumerate(stories)
                    for b in stories[i + 1:]), key=lambda t: -t[2])
    rng.shuffle(docs)  # copies may arrive before their original
    return docs, pairs[:40]


def pair_scores(labels: list[str], predicted: list[str]) -> dict[str, float | int]:
    """Pairwise precision and recall of "same story" (pair counting over clusters)."""
    def pairs(n: int) -> int:
        return n * (n - 1) // 2
    both = Counter(zip(labels, predicted, strict=True))
    tp = sum(pairs(n) for n in both.values())
    true_pairs = sum(pairs(n) for n in Counter(labels).values())
    pred_pairs = sum(pairs(n) for n in Counter(predicted).values())
    p = tp / pred_pairs if pred_pairs else 1.0
    r = tp / true_pairs if true_pairs else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4), "true_pairs": true_pairs,
            "predicted_pairs": pred_pairs, "correct_pairs": tp}

"""Quote grouping quality on a labelled set: pairwise precision and recall.

The set (``tests/fixtures/quote_groups/mentions.jsonl``) has one quote record per line
with its gold group, in arrival order. It is built by ``python -m bench.quote_groups
build`` from two sources:

* ``handwritten.json``: statements written for this project (the samples' invented world)
  with their reports: wire copies, typography and case variants, fragments, ellipses,
  light edits, speaker forms (full name, surname, role noun, an incompatible speaker:
  contested), and hard negatives (the same speaker's other statements of the same day,
  the same stock phrase from different people);
* quotations derived from the MIT-licensed article-extraction-benchmark texts in
  ``../shared``: the direct quotations of named people (as ``newsflow enrich`` finds
  them), two per speaker and article (the second is the first's hard negative), each
  reported again by other outlets as a typography variant, a fragment, an elided version
  and, for some, a headline-case or lightly edited version, under varied speaker forms.

``python -m bench.quote_groups`` groups the set in its order and in shuffled orders and
writes ``bench/results/quote_groups.json`` (targets: P >= 0.97, R >= 0.90).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import time
from datetime import datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

from pipeline.core.contracts import Quote, QuoteArticle, QuoteSpeaker
from pipeline.group.quotes import QuoteGroups

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "quote_groups"
MENTIONS = FIXTURE / "mentions.jsonl"
PUBLISHERS = ["Wire One", "Daily Ledger", "Harbour Times", "Northfield Gazette",
              "Eastern Courier", "Riverton Post", "Orbit Weekly", "Commodity Desk"]
ROLES = ["a spokesperson", "the official", "an aide", "one participant"]


def _hid(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]


def _mention(gold: str, n: int, content: str, speaker: list[Any], publisher: str,
             when: datetime, kind: str, transform: str,
             cited_via: list[str] | None = None) -> dict[str, Any]:
    text, canonical, type_ = speaker
    art = _hid("article", gold, n, publisher)
    quote = Quote(id=_hid("quote", gold, n), index=0, kind=kind, content=content,
                  cited_via=cited_via or [],
                  article=QuoteArticle(id=art, publisher=publisher, published_at=when,
                                       url=f"https://{publisher.lower().replace(' ', '-')}"
                                       f".example/{art[:12]}", language="en"),
                  speaker=QuoteSpeaker(text=text, canonical=canonical, type=type_))
    return {"gold": gold, "transform": transform, "quote": quote.model_dump(mode="json")}


def handwritten() -> list[dict[str, Any]]:
    out = []
    for g in json.loads((FIXTURE / "handwritten.json").read_text(encoding="utf-8")):
        base = datetime.fromisoformat(g["date"])
        for n, m in enumerate(g["mentions"]):
            out.append(_mention(g["group"], n, m["content"], m["speaker"], m["publisher"],
                                base + timedelta(hours=m["hours"]), g["kind"], "handwritten",
                                m.get("cited_via")))
    return out


WORD = re.compile(r"\S+")
TYPO = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "—": "-", "…": "..."})


def _slice(text: str, start: int, end: int) -> str:
    """Words ``start``..``end`` of ``text`` as written (punctuation kept)."""
    spans = [m.span() for m in WORD.finditer(text)]
    return text[spans[start][0]:spans[end - 1][1]]


def derived(seed: int = 7) -> list[dict[str, Any]]:
    """Groups derived from the extraction benchmark's texts (needs ../shared and spaCy)."""
    from bench.common import SHARED
    from pipeline.enrich.article import Enricher
    from pipeline.group.quotes import coverage, prepare
    from pipeline.group.records import content_text

    truth = SHARED / "data" / "article-extraction-benchmark" / "ground-truth.json"
    if not truth.exists():
        raise SystemExit("skipped: ../shared is absent")
    data = json.loads(truth.read_text(encoding="utf-8"))
    items = [{"id": k[:16], "text": v["articleBody"]} for k, v in sorted(data.items())
             if len(v.get("articleBody") or "") > 200]
    enricher = Enricher()
    picked: list[tuple[str, str, str]] = []  # (article, speaker, content)
    for art in enricher.enrich(items):
        if isinstance(art, Exception) or art.language != "en":
            continue
        by_speaker: dict[str, list[str]] = {}
        for a in art.attributions:
            content = content_text(art, a.content)
            words = len(WORD.findall(content))
            if a.kind == "direct" and a.source and a.source.type == "person" \
                    and a.source.canonical and " " in a.source.canonical and 10 <= words <= 45:
                by_speaker.setdefault(a.source.canonical, []).append(content)
        for speaker, quotes in by_speaker.items():
            if len(quotes) < 2:
                continue
            a, b = prepare(quotes[0]), prepare(quotes[1])
            if max(coverage(a, b)[0], coverage(b, a)[0]) < 0.3:  # two distinct statements
                picked += [(art.id, speaker, q) for q in quotes[:2]]
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    base = datetime.fromisoformat("2026-10-01T08:00:00+00:00")
    for i, (art_id, speaker, text) in enumerate(picked[:64]):
        gold = f"d{i // 2:02d}{'ab'[i % 2]}-{art_id[:8]}"
        when = base + timedelta(days=i // 2)
        full, surname = [speaker, speaker, "person"], [speaker.split()[-1]] * 2 + ["person"]
        role = [rng.choice(ROLES), None, "unnamed"]
        pubs = rng.sample(PUBLISHERS, 6)
        n = len(WORD.findall(text))
        hours = rng.sample(range(0, 12), 6)
        variants = [(text, full, "original"),
                    (text.translate(TYPO).rstrip(",.\"' "), surname, "typography")]
        size = max(6, int(n * rng.uniform(0.45, 0.75)))
        start = rng.randrange(0, n - size + 1)
        variants.append((_slice(text, start, start + size), role, "fragment"))
        if n >= 14:
            head, tail = int(n * rng.uniform(0.3, 0.45)), int(n * rng.uniform(0.25, 0.4))
            variants.append((f"{_slice(text, 0, head)} {rng.choice(['…', '...', '[...]'])} "
                             f"{_slice(text, n - tail, n)}", full, "ellipsis"))
        if rng.random() < 0.4:
            variants.append((_slice(text, 0, max(6, n // 2)).upper() + "...", surname,
                             "headline-truncation"))
        if rng.random() < 0.3:
            words = WORD.findall(text)
            k = rng.randrange(2, n - 2)
            variants.append((" ".join(words[:k] + words[k + 1:]), full, "word-dropped"))
        for j, (content, who, transform) in enumerate(variants):
            out.append(_mention(gold, j, content, who, pubs[j % len(pubs)],
                                when + timedelta(hours=hours[j % len(hours)]), "direct",
                                transform))
    return out


def build(seed: int = 7) -> None:
    mentions = handwritten() + derived(seed)
    random.Random(seed).shuffle(mentions)  # arrival order: groups interleaved
    with MENTIONS.open("w", encoding="utf-8") as fh:
        for m in mentions:
            fh.write(json.dumps(m, ensure_ascii=False) + "\n")
    groups = {m["gold"] for m in mentions}
    print(f"wrote {len(mentions)} mentions in {len(groups)} groups to {MENTIONS}")


def load(path: Path = MENTIONS) -> tuple[list[Quote], list[str]]:
    """The labelled quotes in arrival order and their gold groups."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [Quote.model_validate(r["quote"]) for r in rows], [r["gold"] for r in rows]


def pairwise(predicted: list[str], gold: list[str]) -> dict[str, float]:
    """Pairwise precision/recall/F1: over all pairs of mentions, "same group" as a label."""
    tp = fp = fn = 0
    for i, j in combinations(range(len(gold)), 2):
        same_p, same_g = predicted[i] == predicted[j], gold[i] == gold[j]
        tp += same_p and same_g
        fp += same_p and not same_g
        fn += same_g and not same_p
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "true_pairs": tp + fn, "false_positive_pairs": fp, "missed_pairs": fn}


def evaluate(quotes: list[Quote], gold: list[str]) -> tuple[dict[str, float], QuoteGroups]:
    """Pairwise scores of the final groups (after any merges), and of the groups as they
    were given out at arrival (``at_arrival``: what ``newsflow group`` printed)."""
    groups = QuoteGroups()
    at_arrival = [groups.add(q) for q in quotes]
    final = [groups.store.group_of(q.id) or "" for q in quotes]
    score: dict[str, Any] = pairwise(final, gold)
    score["at_arrival"] = pairwise(at_arrival, gold)
    return score, groups


def first_reports_correct(quotes: list[Quote], gold: list[str], groups: QuoteGroups) -> float:
    """Share of predicted groups whose first report is the earliest of their members."""
    ok = total = 0
    for g in groups.store.groups():
        members = {m.quote for m in g.members}
        mine = [q for q in quotes if q.id in members]
        earliest = min(mine, key=lambda q: (q.article.published_at, quotes.index(q)))
        ok += g.first.quote == earliest.id
        total += 1
    return ok / total


def run(orders: int = 5) -> dict[str, Any]:
    from bench.common import write

    quotes, gold = load()
    t0 = time.perf_counter()
    score, groups = evaluate(quotes, gold)
    seconds = time.perf_counter() - t0
    shuffled = []
    for seed in range(1, orders + 1):
        order = list(range(len(quotes)))
        random.Random(seed).shuffle(order)
        shuffled.append(evaluate([quotes[i] for i in order], [gold[i] for i in order])[0])
    expected_contested = {g for g, q in zip(gold, quotes, strict=True)
                          if g.startswith(("h01", "h06", "h10", "h12", "h14"))}
    contested = sorted({gold[quotes.index(next(q for q in quotes if q.id == m.quote))]
                        for g in groups.store.groups() if g.contested for m in g.members[:1]})
    result = {
        "set": {"mentions": len(quotes), "groups": len(set(gold)),
                "transforms": _count(MENTIONS)},
        "file_order": score,
        "shuffled_orders": {"orders": orders,
                            "precision_min": min(s["precision"] for s in shuffled),
                            "recall_min": min(s["recall"] for s in shuffled),
                            "precision_mean": round(sum(s["precision"] for s in shuffled)
                                                    / orders, 4),
                            "recall_mean": round(sum(s["recall"] for s in shuffled)
                                                 / orders, 4)},
        "predicted_groups": len(groups.store),  # type: ignore[arg-type]
        "first_report_correct": round(first_reports_correct(quotes, gold, groups), 4),
        "contested_groups": contested,
        "contested_expected": sorted(expected_contested),
        "ms_per_quote": round(1000 * seconds / len(quotes), 3),
        "targets": {"precision": 0.97, "recall": 0.90},
    }
    write("quote_groups", result)
    return result


def _count(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        t = json.loads(line)["transform"]
        counts[t] = counts.get(t, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", default="run", choices=["run", "build"])
    args = parser.parse_args()
    build() if args.command == "build" else run()


if __name__ == "__main__":
    main()

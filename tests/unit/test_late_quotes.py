"""The late-quotes benchmark's arrivals and scores (bench/late_quotes.py), offline: the
Elasticsearch half runs in the benchmark itself."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from bench.late_quotes import T0, arrivals, scores
from bench.quote_groups import evaluate, load


def test_each_group_reports_first_on_day_0_and_every_later_report_out_of_the_window() -> None:
    quotes, gold = load()
    placed, labels, early = arrivals(quotes, gold, seed=3, gap=2.0)
    assert sorted(q.id for q in placed) == sorted(q.id for q in quotes)
    firsts = [lab for q, lab in zip(placed, labels, strict=True) if q.id in early]
    assert len(firsts) == len(set(firsts)) == len(set(gold))  # one first report per group
    times = [q.article.published_at for q in placed if q.id not in early]
    assert all(q.article.published_at < T0 + timedelta(days=1) for q in placed
               if q.id in early)
    assert times[0] == T0 + timedelta(days=30)
    assert all(b - a == timedelta(days=2) for a, b in pairwise(times))


def test_the_reference_scores_count_late_reports_that_found_their_first() -> None:
    quotes, gold = load()
    placed, labels, early = arrivals(quotes, gold, seed=0, gap=2.0)
    _, groups = evaluate(placed, labels)
    ref = scores(placed, labels, early, {q.id: groups.store.group_of(q.id) or "" for q in placed})
    assert ref["late_reports"] == len(quotes) - len(set(gold))
    assert ref["recall"] >= 0.95 and ref["precision"] == 1.0 and ref["missing"] == 0
    lost = scores(placed, labels, early, {})  # nothing stored: every report missing
    assert lost["recall"] == 0.0 and lost["missing"] == len(quotes)

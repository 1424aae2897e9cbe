"""The state soak's own bookkeeping, on a small run (no services): the hot window holds
what it should, evicted groups' documents stay counted as durable."""

from __future__ import annotations

import argparse

from bench import state_soak


def test_small_soak_evicts_and_keeps_durable_size(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(state_soak, "RESULTS", tmp_path)
    args = argparse.Namespace(articles=6000, per_day=2000, window_days=0.5,
                              quotes_per_article=0.5, every=1000, checkpoint=10**9, batch=64,
                              lookups=5, name="soak_test")
    out = state_soak.soak(args)
    pts = out["points"]
    assert pts[-1]["articles"] == 6000 and pts[-1]["quotes"] > 2000
    # the story window (half a day: 1,000 articles, plus the segment being filled) is bounded
    assert max(p["hot_articles"] for p in pts) <= 1000 * 9 // 8
    # hot groups are bounded by the window's quotes; the durable side keeps growing
    assert pts[-1]["hot_groups"] < pts[-1]["quotes"] / 4
    sizes = [p["durable_mib"] for p in pts]
    assert sizes == sorted(sizes) and sizes[-1] > 2 * sizes[1]
    assert (tmp_path / "soak_test.partial.json").exists()

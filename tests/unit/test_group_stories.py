"""`newsflow group` fills story, copy_of and similarity with the stories agent's own code
(pipeline.group.copies.StoryIndex through the Grouper)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.core.contracts import EnrichedArticle
from tests.unit.copies_text import FOLLOW_UP, WIRE
from tests.unit.test_copies import combined, truncated


def test_newsflow_group_finds_the_copies(tmp_path: Path) -> None:
    arts = [EnrichedArticle(id="wire", text=WIRE), EnrichedArticle(id="a", text=combined(WIRE)),
            EnrichedArticle(id="follow", text=FOLLOW_UP),
            EnrichedArticle(id="b", text=truncated(WIRE))]
    src, out = tmp_path / "enriched.jsonl", tmp_path / "groups.jsonl"
    src.write_text("".join(a.model_dump_json() + "\n" for a in arts))
    result = CliRunner().invoke(app, ["group", "-i", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = {x["id"]: x for x in map(json.loads, out.read_text().splitlines())}
    assert [(lines[i]["story"], lines[i]["copy_of"]) for i in ("wire", "a", "follow", "b")] == [
        ("wire", None), ("wire", "wire"), ("follow", None), ("wire", "wire")]
    assert 0.5 <= lines["a"]["similarity"] <= 1.0

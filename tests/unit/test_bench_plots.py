"""The benchmarks' one plotting guard (bench/common.py): pyplot or None, and the png."""

from __future__ import annotations

import sys

import pytest

from bench import common


def test_pyplot_is_none_without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import raises ImportError
    assert common.pyplot() is None
    common.bar_png("never", ["a"], [1.0], "y")  # skipped, no error


def test_save_png_writes_beside_the_json(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    plt = common.pyplot()
    if plt is None:
        pytest.skip("matplotlib is not installed")
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = common.save_png(fig, "line")
    assert path == tmp_path / "results" / "line.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.get_fignums()  # closed: a long benchmark does not pile figures up
    common.bar_png("bars", ["a", "b"], [1.0, 2.0], "y")
    assert (tmp_path / "results" / "bars.png").stat().st_size > 0

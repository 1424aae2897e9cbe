"""Shared helpers of the benchmarks: corpus from ../shared (read at run time), output."""

from __future__ import annotations

import gzip
import json
import platform
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
RESULTS = ROOT / "bench" / "results"


def corpus(limit: int | None = None) -> list[str]:
    """Article bodies of the extraction benchmark plus PolNeAR dev texts (never copied)."""
    texts: list[str] = []
    truth = SHARED / "data" / "article-extraction-benchmark" / "ground-truth.json"
    if truth.exists():
        data = json.loads(truth.read_text(encoding="utf-8"))
        texts += [v["articleBody"] for v in data.values() if v.get("articleBody")]
    dev = SHARED / "eval" / "polnear" / "dev" / "text"
    if dev.exists():
        texts += [p.read_text(encoding="utf-8") for p in sorted(dev.glob("*.txt"))]
    if not texts:
        raise SystemExit("skipped: ../shared is absent, no corpus")
    return texts[:limit] if limit else texts


def extraction_pages() -> list[tuple[str, str, str]]:
    """(id, html, ground-truth body) of the extraction benchmark."""
    base = SHARED / "data" / "article-extraction-benchmark"
    truth = json.loads((base / "ground-truth.json").read_text(encoding="utf-8"))
    out = []
    for key, value in sorted(truth.items()):
        html = gzip.decompress((base / "html" / f"{key}.html.gz").read_bytes())
        out.append((key, html.decode("utf-8", "replace"), value.get("articleBody", "")))
    return out


def write(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": name, "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "machine": {"python": platform.python_version(), "cpu": platform.processor(),
                          "cores": __import__("os").cpu_count()}, **result}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return path


def pyplot() -> Any | None:
    """``matplotlib.pyplot`` on the file-only Agg backend, or None when matplotlib is
    absent (the benchmarks then write their JSON without a plot)::

        plt = pyplot()
        if plt is None:
            return
        fig, ax = plt.subplots()
        ...
        save_png(fig, "name")
    """
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, name: str) -> Path:
    """Lay out ``fig``, write it as ``bench/results/<name>.png`` beside the JSON, close it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def bar_png(name: str, labels: list[str], values: list[float], ylabel: str,
            title: str = "") -> None:
    """A bar chart beside the JSON (skipped when matplotlib is absent)."""
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(max(4, 1.1 * len(labels) + 1), 3.5))
    ax.bar(labels, values, color="#2a7")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=20)
    save_png(fig, name)

"""What a fetched page is besides its text: a wall, its access, its images.

The rules are data (``connectors/rules/pages.yaml``, each named, with examples)::

    >>> wall_of('<html><body><div id="root"></div></body></html>', status=200)
    Wall(kind='app_shell', rule='javascript_app_shell')
    >>> html = ('<script type="application/ld+json">{"@type": "NewsArticle", '
    ...         '"isAccessibleForFree": false}</script><p>Teaser.</p>')
    >>> access_of(html, words=2)
    ('paywalled', 'schema.org isAccessibleForFree')
    >>> [i["url"] for i in images_of('<meta property="og:image" content="/a.jpg">',
    ...                              base_url="https://e.org/news/1")]
    ['https://e.org/a.jpg']

Walls are never ingested (the connector reports them); a paywalled page is never
bypassed: the article keeps the text the page serves openly, with ``access`` saying so.
Images are URLs with their caption and credit; nothing is downloaded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urljoin

import yaml
from lxml import html as lxml_html

MAX_IMAGES = 20
HEAD_BYTES = 400_000  # patterns look at most this far into the page


@dataclass(frozen=True)
class Wall:
    kind: str  # challenge, consent, app_shell
    rule: str


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    patterns: tuple[re.Pattern[str], ...]
    status: tuple[int, ...] = ()
    max_words: int | None = None
    teaser_only: bool = False
    examples: tuple[str, ...] = ()
    text_patterns: tuple[re.Pattern[str], ...] = ()

    def matches(self, html: str) -> bool:
        return any(p.search(html) for p in self.patterns)


@dataclass(frozen=True)
class Rules:
    walls: tuple[Rule, ...]
    access: tuple[Rule, ...]
    teaser_words: int


def _rule(raw: dict[str, Any], kind_key: str) -> Rule:
    return Rule(name=raw["name"], kind=raw[kind_key],
                patterns=tuple(re.compile(p, re.I | re.S) for p in raw["patterns"]),
                status=tuple(raw.get("status", ())), max_words=raw.get("max_words"),
                teaser_only=bool(raw.get("teaser_only", False)),
                examples=tuple(raw.get("examples", ())),
                text_patterns=tuple(re.compile(p, re.I) for p in raw.get("text_patterns", ())))


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The page rules from ``connectors/rules/pages.yaml``."""
    text = resources.files("connectors.rules").joinpath("pages.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return Rules(walls=tuple(_rule(r, "kind") for r in data["walls"]),
                 access=tuple(_rule(r, "access") for r in data["access"]),
                 teaser_words=int(data["teaser_words"]))


def _head(html: str | bytes) -> str:
    if isinstance(html, bytes):
        html = html[:HEAD_BYTES].decode("utf-8", "replace")
    return html[:HEAD_BYTES]


def wall_of(html: str | bytes, *, status: int, text: str | None = None) -> Wall | None:
    """The wall this page is, or None: a challenge for a refusing status; a consent wall
    or an app shell when the article ``text`` found is shorter than the rule's words
    (and, for a rule with ``text_patterns``, says what such a wall says)."""
    page = _head(html)
    words = len(text.split()) if text else 0
    for rule in rules().walls:
        if rule.status and status not in rule.status:
            continue
        if rule.max_words is not None and words >= rule.max_words:
            continue
        said = text or page  # no text found: what the page says anywhere
        if rule.text_patterns and not any(p.search(said) for p in rule.text_patterns):
            continue
        if rule.matches(page):
            return Wall(rule.kind, rule.name)
    return None


# ---------------------------------------------------------------- structured data


def _json_ld(root: Any) -> list[dict[str, Any]]:
    """Every schema.org object of the page's JSON-LD (``@graph`` flattened)."""
    out: list[dict[str, Any]] = []
    for script in root.xpath('//script[@type="application/ld+json"]')[:20]:
        try:
            data = json.loads(script.text_content() or "null")
        except ValueError:
            continue
        todo = data if isinstance(data, list) else [data]
        while todo and len(out) < 200:
            item = todo.pop(0)
            if isinstance(item, dict):
                out.append(item)
                graph = item.get("@graph")
                todo += graph if isinstance(graph, list) else []
    return out


def _types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type")
    return {str(x) for x in t} if isinstance(t, list) else {str(t)}


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def _parse(html: str | bytes) -> Any:
    try:
        return lxml_html.document_fromstring(html)
    except (ValueError, TypeError, lxml_html.etree.ParserError):
        return None


def access_of(html: str | bytes, *, words: int, root: Any = None) -> tuple[str, str]:
    """(access, evidence): free, paywalled, registration or unknown, and why.

    schema.org ``isAccessibleForFree`` (on the article or a ``hasPart`` with a
    ``cssSelector``) first, then the markers of the rules; without either a page with a
    full-length body is free, a teaser-length one unknown."""
    rs = rules()
    teaser = words < rs.teaser_words
    page = _head(html)
    root = root if root is not None else _parse(html)
    marked = [r for r in rs.access if (teaser or not r.teaser_only) and r.matches(page)]
    for obj in _json_ld(root) if root is not None else []:
        parts = obj.get("hasPart")
        parts = parts if isinstance(parts, list) else [parts] if isinstance(parts, dict) else []
        closed = [p for p in parts if isinstance(p, dict) and p.get("cssSelector")
                  and _bool(p.get("isAccessibleForFree")) is False]
        free = _bool(obj.get("isAccessibleForFree"))
        if free is False or closed:
            kind = "registration" if any(r.kind == "registration" for r in marked) \
                else "paywalled"
            return kind, "schema.org " + ("hasPart.cssSelector" if closed
                                          else "isAccessibleForFree")
        if free is True:
            return "free", "schema.org isAccessibleForFree"
    if marked:
        return marked[0].kind, marked[0].name
    return ("unknown", "teaser-length body") if teaser else ("free", "no paywall marker")


# ---------------------------------------------------------------- images


def _clean(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    text = re.sub(r"\s+", " ", text).strip()
    return text[:500] or None


def _credit_of(obj: dict[str, Any]) -> str | None:
    for key in ("creditText", "copyrightHolder", "author", "creator"):
        value = obj.get(key)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, dict):
            value = value.get("name")
        if _clean(value):
            return _clean(value)
    return None


class _Images:
    def __init__(self, base_url: str | None) -> None:
        self.base = base_url or ""
        self.found: dict[str, dict[str, Any]] = {}

    def add(self, url: Any, *, caption: Any = None, credit: Any = None, lead: bool = False
            ) -> None:
        if not isinstance(url, str) or not url.strip() or url.startswith("data:"):
            return
        full = urljoin(self.base, url.strip())
        if not full.startswith(("http://", "https://")) or len(full) > 2048:
            return
        known = self.found.get(full)
        if known is None:
            if len(self.found) >= MAX_IMAGES:
                return
            known = self.found[full] = {"url": full, "caption": None, "credit": None,
                                        "lead": False}
        known["caption"] = known["caption"] or _clean(caption)
        known["credit"] = known["credit"] or _clean(credit)
        known["lead"] = known["lead"] or lead

    def add_object(self, image: Any, *, lead: bool) -> None:
        for item in image if isinstance(image, list) else [image]:
            if isinstance(item, str):
                self.add(item, lead=lead)
            elif isinstance(item, dict):
                self.add(item.get("url") or item.get("contentUrl"),
                         caption=item.get("caption") or item.get("description"),
                         credit=_credit_of(item), lead=lead)
            lead = False  # only the first of a list leads


def _figure(fig: Any, images: _Images) -> None:
    imgs = fig.xpath(".//img")
    if not imgs:
        return
    img = imgs[0]
    src = img.get("src") or img.get("data-src")
    if not src and img.get("srcset"):
        src = img.get("srcset").split(",")[0].split()[0]
    caps = fig.xpath(".//figcaption")
    caption = credit = None
    if caps:
        cap = caps[0]
        credits = cap.xpath('.//*[contains(@class, "credit") or contains(@class, "copyright")]')
        if credits:
            credit = credits[0].text_content()
            credits[0].drop_tree()
        caption = cap.text_content()
        m = re.search(r"\s*[(\[]?(?:photo|picture|image|credit|foto)s?\s*:\s*([^)\]]+)[)\]]?\s*$"
                      r"|\s*©\s*(.+)$", caption or "", re.I)
        if m and credit is None:
            credit, caption = (m.group(1) or m.group(2)), caption[:m.start()]
    images.add(src, caption=caption or img.get("alt"), credit=credit)


def images_of(html: str | bytes, *, base_url: str | None, root: Any = None
              ) -> list[dict[str, Any]]:
    """The page's images: og:image (the lead), schema.org ImageObjects, ``<figure>``
    with its ``<figcaption>``; at most MAX_IMAGES, each once."""
    root = root if root is not None else _parse(html)
    images = _Images(base_url)
    if root is None:
        return []
    for prop in ("og:image", "og:image:url", "og:image:secure_url", "twitter:image"):
        for meta in root.xpath(f'//meta[@property="{prop}" or @name="{prop}"]'):
            alt = root.xpath('//meta[@property="og:image:alt"]/@content')
            images.add(meta.get("content"), caption=alt[0] if alt else None, lead=True)
    for obj in _json_ld(root):
        if "ImageObject" in _types(obj):
            images.add_object(obj, lead=False)
        elif obj.get("image") is not None:
            images.add_object(obj["image"], lead=not images.found)
    for fig in root.xpath("//figure")[:50]:
        _figure(fig, images)
    return list(images.found.values())


def analyse(html: str | bytes, *, words: int, url: str | None) -> dict[str, Any]:
    """Access and images of a page whose article text has ``words`` words."""
    root = _parse(html)
    access, _ = access_of(html, words=words, root=root)
    return {"access": access, "images": images_of(html, base_url=url, root=root)}

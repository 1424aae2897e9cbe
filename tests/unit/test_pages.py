"""Walls, access and images of pages (connectors.page, rules in connectors/rules/pages.yaml),
on recorded pages (tests/fixtures/pages) and each rule's own examples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.errors import Walled
from connectors.extract import extract_article
from connectors.page import access_of, images_of, rules, wall_of

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


@pytest.mark.parametrize("rule", rules().walls, ids=lambda r: r.name)
def test_each_wall_rule_recognises_its_examples(rule) -> None:  # type: ignore[no-untyped-def]
    assert rule.examples, f"rule {rule.name} has no example"
    for example in rule.examples:
        wall = wall_of(example, status=rule.status[0] if rule.status else 200)
        assert wall is not None and wall.rule == rule.name, (example, wall)


@pytest.mark.parametrize("rule", rules().access, ids=lambda r: r.name)
def test_each_access_rule_recognises_its_examples(rule) -> None:  # type: ignore[no-untyped-def]
    assert rule.examples, f"rule {rule.name} has no example"
    for example in rule.examples:
        assert access_of(example, words=10) == (rule.kind, rule.name), example


def test_a_bot_challenge_is_a_wall_only_with_a_refusing_status() -> None:
    assert wall_of(page("challenge-403.html"), status=403).kind == "challenge"  # type: ignore[union-attr]
    assert wall_of(page("challenge-403.html"), status=503) is not None
    assert wall_of(page("challenge-403.html"), status=404) is None


@pytest.mark.parametrize(("name", "kind"), [("consent-wall.html", "consent"),
                                            ("app-shell.html", "app_shell")])
def test_walls_are_never_extracted_as_articles(name: str, kind: str) -> None:
    with pytest.raises(Walled) as caught:
        extract_article(page(name), url="https://news.example/a")
    assert caught.value.kind == kind


def test_an_article_with_a_consent_script_is_no_wall() -> None:
    art = extract_article(page("free-with-images.html"), url="https://news.example/tram")
    assert "twelve kilometres" in art.text
    assert art.access == "free"


def test_paywalled_page_keeps_its_open_text_and_says_so() -> None:
    art = extract_article(page("paywalled.html"), url="https://news.example/tram")
    assert art.access == "paywalled"
    assert "twelve kilometres" in art.text  # what the page serves openly, nothing more
    assert access_of(page("paywalled.html"), words=30)[1] == "schema.org hasPart.cssSelector"


def test_registration_wall() -> None:
    assert access_of(page("registration.html"), words=30) == ("registration",
                                                              "content_tier_metered")


def test_short_body_without_markers_is_unknown() -> None:
    assert access_of("<p>Short.</p>", words=1) == ("unknown", "teaser-length body")


def test_images_from_og_schema_org_and_figures() -> None:
    art = extract_article(page("free-with-images.html"), url="https://news.example/tram")
    by_url = {i["url"]: i for i in art.images}
    assert list(by_url) == ["https://news.example/img/tram-lead.jpg",
                            "https://news.example/img/map.png",
                            "https://news.example/img/council.jpg",
                            "https://news.example/img/bus.jpg"]
    lead = by_url["https://news.example/img/tram-lead.jpg"]
    assert lead == {"url": lead["url"], "caption": "The harbour tram stop",
                    "credit": "Ana Lima", "lead": True}
    assert by_url["https://news.example/img/map.png"]["credit"] == "City of Example"
    council = by_url["https://news.example/img/council.jpg"]
    assert (council["caption"], council["credit"], council["lead"]) == (
        "Councillors during the vote.", "Photo: Ben Okafor", False)
    bus = by_url["https://news.example/img/bus.jpg"]
    assert (bus["caption"], bus["credit"]) == ("Buses in the outer districts", "Chris Doe")


def test_image_urls_only_http_and_bounded() -> None:
    html = "".join(f'<figure><img src="/i/{i}.jpg"></figure>' for i in range(50))
    html += '<figure><img src="data:image/png;base64,AAAA"></figure>'
    html += '<figure><img src="javascript:alert(1)"></figure>'
    found = images_of(html, base_url="https://e.org/")
    assert len(found) == 20 and all(i["url"].startswith("https://e.org/i/") for i in found)


def test_cli_extract_json_has_access_and_images() -> None:
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "extract",
                           str(PAGES / "paywalled.html"), "--url", "https://news.example/t",
                           "--json"], capture_output=True, text=True, check=True)
    data = json.loads(proc.stdout)
    assert data["access"] == "paywalled"
    assert data["images"] == [{"url": "https://cdn.news.example/img/tram-lead.jpg",
                               "caption": "A tram at the harbour stop",
                               "credit": "Jane Roe/News Example", "lead": True}]

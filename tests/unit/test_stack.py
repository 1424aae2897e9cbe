"""The local stack's pure parts: Kafka cluster ids, bundled resources."""

from __future__ import annotations

import base64

from pipeline.ops.stack.resources import materialize, read_versions
from pipeline.ops.stack.services import kafka_cluster_id


def test_cluster_ids_never_look_like_options() -> None:
    ids = [kafka_cluster_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    for cid in ids:
        assert not cid.startswith("-") and len(cid) == 22
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def test_a_dash_or_reserved_draw_is_drawn_again() -> None:
    draws = iter([b"\xf8" + bytes(15), bytes(16), bytes(15) + b"\x01", b"\x01" * 16])
    assert kafka_cluster_id(random_bytes=draws.__next__) == base64.urlsafe_b64encode(
        b"\x01" * 16).decode().rstrip("=")


def test_resources_are_package_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    versions = read_versions()
    assert set(versions) == {"KAFKA_VERSION", "ELASTICSEARCH_VERSION", "KIBANA_VERSION"}
    pom = materialize("pom.xml", tmp_path)
    assert f"<kafka.version>{versions['KAFKA_VERSION']}</kafka.version>" in pom.read_text()

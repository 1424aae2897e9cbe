"""The secure profile's Elasticsearch side: roles, the one-shot security setup, TLS settings."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import certifi
import pytest

from pipeline.core.errors import ConfigError, NewsflowError
from pipeline.core.settings import Settings
from pipeline.index.indexer import Indexer
from pipeline.index.mapping import client
from pipeline.ops import security

ROOT = Path(__file__).resolve().parents[2]
SECRET = "w-0123456789abcdef"
SECURE_ENV = {"NEWSFLOW_ES_URL": "https://elasticsearch:9200",
              "NEWSFLOW_ES_CA_CERTS": certifi.where(),
              "NEWSFLOW_ES_USERNAME": "elastic", "NEWSFLOW_ES_PASSWORD": "superuser-pw",
              "NEWSFLOW_KIBANA_SYSTEM_PASSWORD": "kibana-pw",
              "NEWSFLOW_ES_WRITER_PASSWORD": SECRET}


class FakeES:
    def __init__(self, *, timed_out: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.closed = False
        self.timed_out = timed_out

        def record(name: str) -> Any:
            def call(**kwargs: Any) -> dict[str, Any]:
                self.calls.append((name, kwargs))
                return {"timed_out": self.timed_out, "status": "red"}
            return call

        self.cluster = SimpleNamespace(health=record("health"))
        self.security = SimpleNamespace(change_password=record("change_password"),
                                        put_role=record("put_role"), put_user=record("put_user"))

    def options(self, **_: Any) -> FakeES:
        return self

    def close(self) -> None:
        self.closed = True


def test_writer_role_is_least_privilege() -> None:
    role = security.writer_role(Settings())
    assert role["cluster"] == ["monitor", "manage_index_templates"]
    [indices] = role["indices"]
    assert indices["names"] == ["news-articles", "news-articles-v*", "news-quotes",
                                "news-quotes-v*", "news-articles-stories",
                                "news-articles-stories-v*"]
    assert all(name.startswith("news-") for name in indices["names"])
    assert set(indices["privileges"]) == {"create_index", "manage", "write", "read",
                                          "view_index_metadata"}
    assert indices["allow_restricted_indices"] is False
    assert "applications" not in role and "run_as" not in role
    other = security.writer_role(Settings(index_alias="other"))["indices"][0]["names"]
    assert other == ["other", "other-v*", "other-quotes", "other-quotes-v*", "other-stories",
                     "other-stories-v*"]


def test_dashboards_role_is_kibana_only_and_default_space_only() -> None:
    role = security.dashboards_role()
    assert "cluster" not in role and "indices" not in role
    [app] = role["applications"]
    assert app["application"] == "kibana-.kibana" and app["resources"] == ["space:default"]
    assert all(p.startswith("feature_") and p.endswith(".all") for p in app["privileges"])


def test_committed_role_definitions_are_the_code() -> None:
    committed = json.loads((ROOT / "deploy" / "security" / "roles.json").read_text())
    assert committed == security.roles(Settings()), \
        "regenerate: python -m pipeline.ops.security > deploy/security/roles.json"


def test_setup_security_creates_roles_and_user(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeES()
    monkeypatch.setattr(security, "client", lambda settings: fake)
    message = security.setup_security(Settings.from_env(SECURE_ENV))
    names = [name for name, _ in fake.calls]
    assert names == ["health", "change_password", "put_role", "put_role", "put_user"]
    assert fake.calls[0][1]["wait_for_status"] == "yellow"
    assert fake.calls[1][1] == {"username": "kibana_system", "password": "kibana-pw"}
    assert {kw["name"] for name, kw in fake.calls if name == "put_role"} == \
        {"newsflow_writer", "newsflow_dashboards"}
    user = fake.calls[-1][1]
    assert user["username"] == "newsflow" and user["password"] == SECRET
    assert set(user["roles"]) == {"newsflow_writer", "newsflow_dashboards"}
    assert "superuser" not in user["roles"]
    assert fake.closed and SECRET not in message and "kibana-pw" not in message


def test_setup_security_stops_when_elasticsearch_is_not_ready(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeES(timed_out=True)
    monkeypatch.setattr(security, "client", lambda settings: fake)
    with pytest.raises(NewsflowError, match="not ready"):
        security.setup_security(Settings.from_env(SECURE_ENV))
    assert [name for name, _ in fake.calls] == ["health"] and fake.closed


@pytest.mark.parametrize("missing", ["NEWSFLOW_ES_PASSWORD", "NEWSFLOW_KIBANA_SYSTEM_PASSWORD",
                                     "NEWSFLOW_ES_WRITER_PASSWORD"])
def test_setup_security_needs_every_password(missing: str) -> None:
    env = {k: v for k, v in SECURE_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        security.setup_security(Settings.from_env(env))


def test_tls_settings_reach_both_clients() -> None:
    settings = Settings.from_env(SECURE_ENV)
    assert settings.es_ca_certs == certifi.where()
    assert SECRET not in repr(settings)
    es = client(settings)
    try:
        assert [n.config.ca_certs for n in es.transport.node_pool.all()] == [certifi.where()]
        assert [n.config.scheme for n in es.transport.node_pool.all()] == ["https"]
    finally:
        es.close()

    async def indexer_ca() -> list[Any]:
        indexer = Indexer(settings)
        try:
            return [n.config.ca_certs for n in indexer.es.transport.node_pool.all()]
        finally:
            await indexer.close()

    assert asyncio.run(indexer_ca()) == [certifi.where()]
    assert Settings.from_env({}).es_ca_certs is None

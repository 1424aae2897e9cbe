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
SETUP_SECRET = "s-0123456789abcdef"
SECURE_ENV = {"NEWSFLOW_ES_URL": "https://elasticsearch:9200",
              "NEWSFLOW_ES_CA_CERTS": certifi.where(),
              "NEWSFLOW_ES_USERNAME": "elastic", "NEWSFLOW_ES_PASSWORD": "superuser-pw",
              "NEWSFLOW_KIBANA_SYSTEM_PASSWORD": "kibana-pw",
              "NEWSFLOW_ES_SETUP_PASSWORD": SETUP_SECRET,
              "NEWSFLOW_ES_WORKER_PASSWORD": SECRET}
ADMIN_PRIVILEGES = {"manage", "all", "delete_index", "create_index", "create", "write",
                    "manage_ilm", "manage_follow_index", "manage_leader_index",
                    "manage_data_stream_lifecycle", "auto_configure"}


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


def test_setup_role_administers_the_newsflow_indices_only() -> None:
    role = security.setup_role(Settings())
    assert role["cluster"] == ["monitor", "manage_index_templates"]
    [indices] = role["indices"]
    assert indices["names"] == ["news-articles", "news-articles-v*", "news-quotes",
                                "news-quotes-v*", "news-articles-stories",
                                "news-articles-stories-v*"]
    assert set(indices["privileges"]) == {"create_index", "manage", "write", "read",
                                          "view_index_metadata"}
    assert indices["allow_restricted_indices"] is False
    assert "applications" not in role and "run_as" not in role


def test_worker_role_writes_documents_and_administers_nothing() -> None:
    role = security.worker_role(Settings())
    assert role["cluster"] == ["monitor"]  # no templates, no security, no snapshots
    [indices] = role["indices"]
    assert indices["names"] == security.setup_role(Settings())["indices"][0]["names"]
    assert set(indices["privileges"]) == {"index", "delete", "read", "view_index_metadata",
                                          "maintenance"}
    assert not set(indices["privileges"]) & ADMIN_PRIVILEGES
    assert indices["allow_restricted_indices"] is False
    assert "applications" not in role and "run_as" not in role


@pytest.mark.parametrize("env, names", [
    ({"NEWSFLOW_INDEX": "other"},
     ["other", "other-v*", "other-quotes", "other-quotes-v*", "other-stories",
      "other-stories-v*"]),
    ({"NEWSFLOW_INDEX": "acme-articles"},
     ["acme-articles", "acme-articles-v*", "acme-quotes", "acme-quotes-v*",
      "acme-articles-stories", "acme-articles-stories-v*"]),
    ({"NEWSFLOW_INDEX": "acme-articles", "NEWSFLOW_QUOTES_INDEX": "said"},
     ["acme-articles", "acme-articles-v*", "said", "said-v*", "acme-articles-stories",
      "acme-articles-stories-v*"]),
], ids=["bare", "articles-suffix", "own-quotes-alias"])
def test_both_roles_follow_the_configured_index_names(env: dict[str, str],
                                                      names: list[str]) -> None:
    settings = Settings.from_env(env)
    for role in (security.setup_role(settings), security.worker_role(settings)):
        assert role["indices"][0]["names"] == names
    assert not any(n.startswith("news-") for n in names)


def test_the_role_names_cover_every_index_the_stages_use() -> None:
    """Each name the code creates or writes (alias, versioned index, story state and its
    backing index) matches one of the roles' names or patterns."""
    from fnmatch import fnmatchcase

    from pipeline.index.mapping import index_name
    from pipeline.index.quotes_mapping import quotes_index_name
    from pipeline.stream.storystate import StoryState

    settings = Settings.from_env({"NEWSFLOW_INDEX": "acme-articles"})
    state = StoryState(settings)
    used = [settings.index_alias, index_name(settings), index_name(settings, 7),
            settings.quotes_index_alias, quotes_index_name(settings), state.name,
            state.backing]
    patterns = security.index_names(settings)
    for name in used:
        assert any(fnmatchcase(name, p) for p in patterns), name
    assert not any(fnmatchcase("news-articles-v1", p) for p in patterns)


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


def test_setup_security_creates_roles_and_users(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeES()
    monkeypatch.setattr(security, "client", lambda settings: fake)
    message = security.setup_security(Settings.from_env(SECURE_ENV))
    names = [name for name, _ in fake.calls]
    assert names == ["health", "change_password", "put_role", "put_role", "put_role",
                     "put_user", "put_user"]
    assert fake.calls[0][1]["wait_for_status"] == "yellow"
    assert fake.calls[1][1] == {"username": "kibana_system", "password": "kibana-pw"}
    assert {kw["name"] for name, kw in fake.calls if name == "put_role"} == \
        {"newsflow_setup", "newsflow_worker", "newsflow_dashboards"}
    made = {kw["username"]: kw for name, kw in fake.calls if name == "put_user"}
    assert made["newsflow_setup"]["password"] == SETUP_SECRET
    assert made["newsflow_setup"]["roles"] == ["newsflow_setup", "newsflow_dashboards"]
    assert made["newsflow_worker"]["password"] == SECRET
    assert made["newsflow_worker"]["roles"] == ["newsflow_worker"]
    assert fake.closed
    assert SECRET not in message and SETUP_SECRET not in message and "kibana-pw" not in message


def test_setup_security_refuses_one_password_for_both_users() -> None:
    env = {**SECURE_ENV, "NEWSFLOW_ES_SETUP_PASSWORD": SECRET}
    with pytest.raises(ConfigError, match="its own password"):
        security.setup_security(Settings.from_env(env))


def test_setup_security_reads_passwords_from_files(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    env = {k: v for k, v in SECURE_ENV.items() if "PASSWORD" not in k}
    for key in ("NEWSFLOW_ES_PASSWORD", "NEWSFLOW_KIBANA_SYSTEM_PASSWORD",
                "NEWSFLOW_ES_SETUP_PASSWORD", "NEWSFLOW_ES_WORKER_PASSWORD"):
        (tmp_path / key).write_text(SECURE_ENV[key] + "\n")
        env[f"{key}_FILE"] = str(tmp_path / key)
    fake = FakeES()
    monkeypatch.setattr(security, "client", lambda settings: fake)
    security.setup_security(Settings.from_env(env))
    made = {kw["username"]: kw["password"] for name, kw in fake.calls if name == "put_user"}
    assert made == {"newsflow_setup": SETUP_SECRET, "newsflow_worker": SECRET}


def test_setup_security_stops_when_elasticsearch_is_not_ready(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeES(timed_out=True)
    monkeypatch.setattr(security, "client", lambda settings: fake)
    with pytest.raises(NewsflowError, match="not ready"):
        security.setup_security(Settings.from_env(SECURE_ENV))
    assert [name for name, _ in fake.calls] == ["health"] and fake.closed


@pytest.mark.parametrize("missing", ["NEWSFLOW_ES_PASSWORD", "NEWSFLOW_KIBANA_SYSTEM_PASSWORD",
                                     "NEWSFLOW_ES_SETUP_PASSWORD",
                                     "NEWSFLOW_ES_WORKER_PASSWORD"])
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

"""Fixtures: a real `scimitar serve` process on 127.0.0.1 per backend (a SQLite file, and the
PostgreSQL cluster that scripts/test.sh starts), and a fresh organization with a token per test."""

from __future__ import annotations

import pytest

import scimitar
from support import ServerProcess, Tenant, pg_url

@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "scimitar.db")


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request, sqlite_url):
    if request.param == "sqlite":
        url = sqlite_url
    else:
        url = pg_url()
        if not url:
            pytest.skip("SCIMITAR_TEST_PG_URL is not set (scripts/test.sh sets it)")
    store = scimitar.open_store(url, pool_size=2)
    server = ServerProcess(url)
    yield server, store
    assert server.stop() == 0, server.proc.stderr.read()


@pytest.fixture
def tenant(backend) -> Tenant:
    server, store = backend
    return Tenant(server, store)


@pytest.fixture
def other_tenant(backend) -> Tenant:
    server, store = backend
    return Tenant(server, store)



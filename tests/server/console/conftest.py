"""Fixtures for the console: a workspace, a SQLite store with users and a small world, and a
TestClient logged in as any of the seeded users."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from cardwatch.server.console import create_console_app
from cardwatch.store.sql import SqlStore
from cardwatch.workspace import Workspace

from .seed import PASSWORD, Seeded, add_users, seed_world, synthetic_columns


@pytest.fixture
def store(workspace: Workspace) -> Iterator[SqlStore]:
    s = SqlStore.open(workspace.database_url)
    add_users(s)
    yield s
    s.close()


@pytest.fixture
def world(store: SqlStore) -> Seeded:
    return seed_world(store)


@pytest.fixture
def app_client(workspace: Workspace, store: SqlStore) -> Iterator[TestClient]:
    app = create_console_app(workspace, store, columns_provider=synthetic_columns)
    with TestClient(app) as client:
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns a CSRF token of the new session."""
    page = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 200, response.text[:500]
    return csrf_of(client.get("/console/queue").text)


@pytest.fixture
def login(app_client: TestClient) -> Callable[[str], str]:
    return lambda name: log_in(app_client, name)

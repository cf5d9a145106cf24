"""Shared fixtures: a guard against leaving loopback, fixture servers, a temp database."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url

from tests.fakes.http_server import FixtureServer
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.frontkit import GROUP, OLEG, VERA, Front, settings_for

FIXTURES = Path(__file__).parent / "fixtures"

# Property tests explore the same examples on every run (CI cannot fail on a newly
# drawn example that a local run never saw); explore more by hand with
# --hypothesis-seed=N. No example database is written into the tree.
hypothesis_settings.register_profile("deportwatch", derandomize=True, database=None)
hypothesis_settings.load_profile("deportwatch")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True   # AF_UNIX paths
    host = str(address[0]).split("%", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that opens a connection to a non-loopback address."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise AssertionError(f"test tried to reach {address!r}: tests never leave loopback")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise AssertionError(f"test tried to reach {address!r}: tests never leave loopback")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture
def fixture_server() -> Iterator[FixtureServer]:
    with FixtureServer(FIXTURES) as server:
        yield server


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
async def front(fake_telegram: FakeTelegramAPI, fixture_server: FixtureServer,
                tmp_path: Path) -> AsyncIterator[Front]:
    fake_telegram.chat_members[GROUP] = {VERA, OLEG}
    f = Front(fake_telegram, fixture_server, settings_for(fake_telegram, tmp_path))
    await f.start()
    try:
        yield f
    finally:
        await f.stop()
        assert not fake_telegram.server_errors


# ── PostgreSQL (issue #8): a fresh database per test on a local server, or a skip ──────

PG_ADMIN_URL = os.environ.get("DEPORTWATCH_TEST_POSTGRES",
                              "postgresql://postgres@127.0.0.1:5432/test")


def _pg_admin() -> Any:
    """An autocommit connection to the test server, or a skip saying why there is none."""
    try:
        import psycopg
    except ImportError as exc:      # pragma: no cover - psycopg is a dependency
        pytest.skip(f"PostgreSQL tests need psycopg: {exc}")
    try:
        return psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"),
                               autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL reachable at {PG_ADMIN_URL} "
                    f"(set DEPORTWATCH_TEST_POSTGRES to use another): {exc}".strip())


@pytest.fixture
def pg_url() -> Iterator[str]:
    """``postgresql+psycopg://…`` of an empty database created for this test and dropped
    after it."""
    admin = _pg_admin()
    name = f"dw_test_{uuid.uuid4().hex[:12]}"
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        admin.close()
        pytest.skip(f"cannot create a test database on {PG_ADMIN_URL}: {exc}")
    try:
        base = make_url(PG_ADMIN_URL)
        yield base.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

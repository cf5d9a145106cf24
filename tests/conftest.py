"""Shared fixtures: a guard against leaving loopback, fixture servers, a temp database."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

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

"""The command line as a new user meets it: scan --json, demo, feeds, bad settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.fakes.http_server import FixtureServer

FIXTURES = Path(__file__).parent / "fixtures"
ITEM_KEYS = {"url", "source", "title", "text", "lang", "published", "relevant", "kind",
             "urgent", "persons", "case_id", "duplicate_of", "tracks"}
CASE_KEYS = {"case_id", "kind", "stage", "urgent", "persons", "countries", "items"}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith(("DEPORTWATCH_", "TELEGRAM_")) or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def _scan_json(capsys: pytest.CaptureFixture[str], *args: str
               ) -> dict[str, list[dict[str, object]]]:
    assert main(["scan", "--json", *args]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"items", "cases"}
    return data


def test_scan_json_contract_on_local_files(capsys: pytest.CaptureFixture[str]) -> None:
    """scan --json over two files prints one object with the promised fields, merges the
    English and Russian reports of Zhilin into one case and marks the reprint."""
    data = _scan_json(capsys, str(FIXTURES / "zhilin-en.xml"), str(FIXTURES / "zhilin-ru.xml"),
                      "--track", "Жилин М.А.", "--track", "Жилинский")
    assert all(set(i) == ITEM_KEYS for i in data["items"])
    assert all(set(c) == CASE_KEYS for c in data["cases"])
    assert len(data["items"]) == 5
    by_url = {str(i["url"]): i for i in data["items"]}
    reprint = by_url["http://copy.test/reprint/1"]
    assert reprint["duplicate_of"] == "http://ru.test/news/1"
    relevant = [i for i in data["items"] if i["relevant"] and not i["duplicate_of"]]
    assert len(relevant) == 2
    assert {i["case_id"] for i in relevant} == {data["cases"][0]["case_id"]}
    assert all(i["tracks"] == ["Жилин М.А."] for i in relevant)
    assert len(data["cases"]) == 1
    case = data["cases"][0]
    assert case["urgent"] is True and case["kind"] == "deportation"
    assert isinstance(case["case_id"], str)
    assert set(case["countries"]) >= {"RU"}
    irrelevant = [i for i in data["items"] if not i["relevant"]]
    assert {i["title"] for i in irrelevant} >= {"Remembering the 1944 deportations",
                                                  "Weather: snow expected"}
    assert all(i["case_id"] is None and i["kind"] in (None, "deportation") for i in irrelevant)


def test_scan_url_respects_private_url_setting(
        capsys: pytest.CaptureFixture[str], fixture_server: FixtureServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A loopback URL is refused by default and fetched with the private-URL setting on."""
    url = f"{fixture_server.base_url}/zhilin-en.xml"
    assert main(["scan", "--json", url]) == 1
    captured = capsys.readouterr()
    assert "not a public address" in captured.err
    assert json.loads(captured.out)["items"] == []
    monkeypatch.setenv("DEPORTWATCH_ALLOW_PRIVATE_URLS", "true")
    data = _scan_json(capsys, url)
    assert len(data["items"]) == 3
    assert data["items"][0]["url"].endswith("/news/zhilin?id=7")


def test_scan_court_page_rows(capsys: pytest.CaptureFixture[str]) -> None:
    """An HTML registry page is told apart by content; each row is an item '#row-N'."""
    page = Path(__file__).parents[1] / "feeds" / "samples" / "court-schedule.html"
    data = _scan_json(capsys, str(page))
    assert [i["url"] for i in data["items"]] == [f"{page}#row-1", f"{page}#row-2"]
    assert data["items"][0]["relevant"] is True
    assert data["items"][0]["kind"] == "expulsion"
    assert data["items"][1]["relevant"] is False


def test_demo_prints_cards(capsys: pytest.CaptureFixture[str]) -> None:
    """demo serves the bundled samples on loopback and prints the cases as cards."""
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "3 case(s)" in out
    assert "Mikhail Zhilin" in out and "URGENT" in out
    assert "Tracks: Жилин М.А." in out


def _no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    async def refuse(self: object, host: str, *args: object, **kwargs: object) -> object:
        raise OSError(f"no DNS in tests ({host})")

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", refuse)


def test_feeds_add_list_remove(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    """feeds add/list/remove use the same table as /addfeed, in the configured database;
    a host that cannot be resolved now is added with a warning, a private one refused."""
    _no_dns(monkeypatch)
    db = f"sqlite:///{tmp_path / 'feeds.db'}"
    os.environ["DATABASE_URL"] = db
    try:
        assert main(["feeds", "add", "@some_channel"]) == 0
        captured = capsys.readouterr()
        assert "added: #1 telegram" in captured.out
        assert "checked again before each poll" in captured.err
        assert main(["feeds", "add", "https://t.me/some_channel"]) == 0
        assert "already present" in capsys.readouterr().out
        assert main(["feeds", "list"]) == 0
        assert "https://t.me/s/some_channel" in capsys.readouterr().out
        assert main(["feeds", "remove", "1"]) == 0
        assert main(["feeds", "remove", "1"]) == 1
        assert main(["feeds", "add", "ftp://example.org/x"]) == 2
        assert "not an http(s) URL" in capsys.readouterr().err
        assert main(["feeds", "add", "http://127.0.0.1:9/feed.xml"]) == 2
        assert "not a public address" in capsys.readouterr().err
        assert main(["feeds", "add", "http://169.254.169.254/latest/meta-data/"]) == 2
    finally:
        del os.environ["DATABASE_URL"]


@pytest.mark.parametrize(("name", "value"), [
    ("DEPORTWATCH_POLL_SECONDS", "often"),
    ("DEPORTWATCH_ADMIN_IDS", "alice"),
    ("TELEGRAM_BOT_TOKEN", "nonsense"),
    ("DATABASE_URL", "nowhere"),
], ids=["poll", "admins", "token", "db"])
def test_bad_setting_is_one_line(name: str, value: str, tmp_path: Path) -> None:
    """A bad setting ends the program with exit 2 and one line naming the setting."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DEPORTWATCH_", "TELEGRAM_")) and k != "DATABASE_URL"}
    env[name] = value
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in proc.stderr


def test_env_file_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Settings come from .env in the working directory when the environment lacks them."""
    (tmp_path / ".env").write_text("DEPORTWATCH_POLL_SECONDS=soon\n", encoding="utf-8")
    assert main(["feeds", "list"]) == 2
    assert "DEPORTWATCH_POLL_SECONDS" in capsys.readouterr().err


def test_feeds_add_starter(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """--starter loads the bundled list once (a second run adds nothing); nothing is
    fetched and every entry passes the same checks as /addfeed."""
    from feeds.sources import starter_sources

    _no_dns(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'starter.db'}")
    sources = starter_sources()
    assert len(sources) >= 15
    assert {s.kind.value for s in sources} >= {"rss", "telegram", "page"}
    assert all(s.confirmed and s.interval >= 60 for s in sources)
    assert main(["feeds", "add", "--starter"]) == 0
    assert f"{len(sources)} starter source(s) added" in capsys.readouterr().out
    assert main(["feeds", "add", "--starter"]) == 0
    assert "0 starter source(s) added" in capsys.readouterr().out

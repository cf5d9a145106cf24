"""Fault injection, asserted (``bench/faults.py`` runs the same scenarios larger and
prints tables): Telegram failing in every way, SIGKILLs at chosen and random moments,
hostile sources next to healthy ones, SSRF attempts, and buttons pressed without the
role. Loopback only."""

from __future__ import annotations

from pathlib import Path

from feeds.models import CaseStatus
from tests import faultkit
from tests.fakes.fault_server import FAULTS
from tests.frontkit import COORD, GROUP, STRANGER, VERA, ZHILIN_ORDER, Front, add_feed


async def test_telegram_faults_lose_and_repeat_nothing(tmp_path: Path) -> None:
    """429 bursts, 500/502s, connection resets and timeouts while cards flow: every card
    arrives exactly once; the chat that blocked the bot gets its cards failed with the
    reason and is marked inactive."""
    result = await faultkit.telegram_faults(tmp_path, 8, timeouts=1, timeout_seconds=6.0)
    assert (result.expected, result.delivered, result.duplicated, result.lost) == (16, 16, 0, 0)
    assert result.notes["outbox"] == {"sent": 16, "failed": 8}
    assert result.notes["blocked_chat_inactive"] is True
    assert result.notes["send_calls"] > 16 + 8        # the faults really happened


async def test_sigkill_anywhere_loses_nothing(tmp_path: Path) -> None:
    """SIGKILL while polling, while sending, between Telegram's answer and the commit,
    and at a random moment: after restarts every card of 60 cases arrives in all three
    chats; the only repeats are the one message a kill caught between answer and
    commit; the SQLite file passes its integrity check after every kill. (60 cases: each
    of the 4 starts has at least 5 new ones to send, so every trap has a message.)"""
    report = await faultkit.crash_loop(tmp_path, 60, 4, seed=3)
    assert report.tally.lost == 0 and report.tally.delivered == report.tally.expected == 180
    assert report.unexplained == 0
    assert report.tally.duplicated == report.explained <= 4
    assert report.trapped == 1 and report.trapped_repeats == 1
    assert report.integrity == {"ok": 4}
    assert report.kills == {"polling": 1, "sending": 1, "answer-before-commit": 1, "random": 1}


async def test_hostile_sources_back_off_while_healthy_feeds_stay_on_time(
        tmp_path: Path) -> None:
    """Every hostile source (hang, 500, 429, redirect loop, bad XML, truncated gzip, gzip
    bomb, 1 GB bodies, slow drip, wrong charset, empty, HTML) polled every 2 s next to
    five healthy feeds: the healthy ones are polled on time, the failing ones record
    their error, and memory stays bounded."""
    report = await faultkit.source_faults(tmp_path, 8.0, interval=2)
    assert all(n >= 3 for n in report.healthy_polls.values()), report.healthy_polls
    # On time: the interval plus jitter and a loaded machine's slack — far below the 30 s
    # the hanging and dripping sources hold their fetches.
    assert report.healthy_max_gap < 6.0, report.healthy_max_gap
    failing = {"/500", "/429", "/loop", "/malformed", "/truncated-gzip", "/bomb", "/huge",
               "/huge-unsized", "/empty"}
    for path in failing:
        _requests, failures, error = report.bad[path]
        assert failures >= 1 and error != "ok", (path, report.bad[path])
    assert report.bad["/429"][0] == 1                 # Retry-After: 600 is honoured
    assert set(report.bad) == set(FAULTS)
    assert report.peak_rss_mb - report.baseline_rss_mb < 250


async def test_ssrf_nothing_private_is_fetched() -> None:
    """Loopback, 0.0.0.0, private ranges, cloud metadata, IPv6 loopback and unique-local,
    IPv4-mapped IPv6, decimal/octal/hex spellings, a redirect from a public server to a
    private one and a name resolving to a private address: none reaches a server; the
    control (private URLs allowed) does."""
    rows = await faultkit.ssrf_table()
    control = [r for r in rows if r.what.startswith("control")]
    attacks = [r for r in rows if not r.what.startswith("control")]
    assert len(attacks) >= 18 and control[0].fetched == 1
    assert [r.what for r in attacks if r.fetched] == []
    assert all(r.error == "UnsafeURLError" for r in attacks)


async def test_buttons_without_the_role_change_nothing(front: Front) -> None:
    """Every button pressed by someone without the role — a stranger, in the group and in
    a private copy; a volunteer pressing Reopen — is refused and changes no state."""
    await add_feed(front, "/wire.xml", [ZHILIN_ORDER], cards=1)
    card = front.card(1)
    private_copy = dict(card, chat={"id": STRANGER, "type": "private"})
    for message in (card, private_copy):
        for action in ("take", "release", "resolve", "irrelevant", "sources", "reopen"):
            answer = await front.press(STRANGER, action, 1, message)
            assert answer.get("show_alert") and str(answer["text"]).startswith("Refused")
    store = await front.store()
    try:
        case = await store.get_case(1)
        assert case is not None and case.claimed_by is None
        assert case.status is CaseStatus.OPEN and [e.change for e in case.events] == ["new"]
        assert await store.set_case_work(1, expect=(None, CaseStatus.OPEN),
                                         claimed_by=(None, None), status=CaseStatus.RESOLVED,
                                         change="resolve", user_id=COORD,
                                         now=case.updated)
    finally:
        await store.close()
    answer = await front.press(VERA, "reopen", 1, card)
    assert answer.get("show_alert")
    store = await front.store()
    try:
        case = await store.get_case(1)
        assert case is not None and case.status is CaseStatus.RESOLVED
        audit = await store.audit_log(100)
    finally:
        await store.close()
    assert sum(1 for user, action, allowed in audit
               if user == STRANGER and action.startswith("button:") and not allowed) == 12
    assert not any("Timeline" in str(m["text"]) for m in front.fake.messages(STRANGER))
    assert front.fake.messages(GROUP)[0]["message_id"] == card["message_id"]

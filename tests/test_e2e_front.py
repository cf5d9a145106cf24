"""The Telegram front end to end: the real service (python-telegram-bot, APScheduler,
delivery, SQLite) against the in-repo fake Bot API server and loopback feeds.

Covers every command with allowed and refused roles, the card (text, escaping,
buttons), claim and release, edit in place, escalation replies, re-announcement,
track hits in private, subscriptions, languages, the digest, 429/500/403 answers,
chat migration, and a kill and restart with no lost or repeated card.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

from bot.context import utc_now
from bot.settings import Settings
from storage import Store
from tests.fakes.http_server import FixtureServer
from tests.fakes.telegram_api import FakeTelegramAPI, JSONDict
from tests.frontkit import (
    ADMIN,
    COORD,
    GADMIN,
    GROUP,
    HOSTILE,
    KARIMOV_INTERIM,
    OLEG,
    STRANGER,
    VERA,
    ZHILIN_ORDER,
    ZHILIN_REMOVED,
    Front,
    add_feed,
    button_data,
    settings_for,
)

# ── the card and its buttons ─────────────────────────────────────────────────────────


async def test_card_text_buttons_claim_release_escalation(front: Front) -> None:
    """The card shows what a lawyer needs and buttons; Take/Release edit it in place for
    everyone; a stage escalation edits it and replies to it; refusals change nothing."""
    await add_feed(front, "/wire.xml", [ZHILIN_ORDER], cards=1)
    card = front.card(1)
    text = str(card["text"])
    lines = text.split("\n")
    assert lines[0] == "<b>🔴 URGENT · DEPORTATION · Kazakhstan → Russia</b>"
    assert lines[1] == "<b>Mikhail Zhilin</b>"
    assert lines[2].startswith("Stage: removal ordered by a court (since 20")
    assert "Sources: 1 independent, 1 report(s) in en" in text
    assert "First seen: 20" in text
    assert '<a href="http://wire.test/n/0">Court orders deportation of Mikhail Zhilin</a>' \
        " — Wire &amp; Co" in text
    assert "Case #1 · nobody has taken it yet" in text
    assert button_data(card) == ["c:take:1", "c:resolve:1", "c:irrelevant:1", "c:sources:1"]
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["🙋 Take case", "✅ Resolved", "⚪ Not relevant", "🔗 Sources"]

    # A stranger's tap is refused and changes nothing.
    answer = await front.press(STRANGER, "take", 1, card)
    assert answer.get("show_alert") and str(answer["text"]).startswith("Refused")
    # Vera (a group member) takes it: the card is edited in place.
    answer = await front.press(VERA, "take", 1, card)
    assert answer["text"] == "You took case #1. Thank you!"
    await front.wait(lambda: "taken by Vera" in str(front.card(1)["text"]))
    assert button_data(front.card(1))[0] == "c:release:1"
    assert len(front.fake.edit_history(GROUP, card["message_id"])) == 1
    # Oleg may not release Vera's case, nor take it again.
    answer = await front.press(OLEG, "release", 1, card)
    assert answer["text"] == "Only Vera (who took it) or a coordinator can do that."
    answer = await front.press(OLEG, "take", 1, card)
    assert answer["text"] == "Vera has already taken case #1."
    assert "taken by Vera" in str(front.card(1)["text"])
    # Vera releases it.
    answer = await front.press(VERA, "release", 1, card)
    assert answer["text"] == "You released case #1."
    await front.wait(lambda: "nobody has taken" in str(front.card(1)["text"]))

    # A later report escalates the stage: the card is edited and a reply notifies.
    front.feed("/wire.xml", [ZHILIN_ORDER, ZHILIN_REMOVED])
    await front.poll_now()
    await front.wait(lambda: any(m.get("reply_to_message", {}).get("message_id")
                                 == card["message_id"] for m in front.fake.messages(GROUP)))
    reply = next(m for m in front.fake.messages(GROUP)
             if m.get("reply_to_message", {}).get("message_id") == card["message_id"])
    assert reply["text"] == "⬆️ <b>Mikhail Zhilin</b>: now <b>removed / handed over</b>"
    await front.wait(lambda: "Stage: removed / handed over" in str(front.card(1)["text"]))
    assert "Sources: 1 independent, 2 report(s)" in str(front.card(1)["text"])
    assert len(front.cards()) == 1                       # one card per case, edited

    # Sources: the full card with timeline and every source, in private.
    answer = await front.press(VERA, "sources", 1, card)
    assert answer["text"] == "The sources are in our private chat."
    private = "\n".join(str(m["text"]) for m in front.fake.messages(VERA))
    assert "Timeline:" in private and "taken by Vera" in private
    assert "released by Vera" in private and "/n/1" in private
    # Resolved, then a coordinator reopens it.
    answer = await front.press(OLEG, "resolve", 1, card)
    assert answer["text"] == "Case #1 marked resolved."
    await front.wait(lambda: "✅ Resolved" in str(front.card(1)["text"]))
    assert button_data(front.card(1)) == ["c:reopen:1", "c:sources:1"]
    answer = await front.press(VERA, "reopen", 1, card)
    assert answer.get("show_alert")                      # volunteers cannot reopen
    answer = await front.press(COORD, "reopen", 1, card)
    assert answer["text"] == "Case #1 reopened."
    await front.wait(lambda: button_data(front.card(1))[0] == "c:take:1")

    store = await front.store()
    try:
        audit = await store.audit_log(200)
    finally:
        await store.close()
    assert (STRANGER, "button:take", False) in audit
    assert (VERA, "button:take", True) in audit and (COORD, "button:reopen", True) in audit


async def test_hostile_item_gives_a_valid_card(front: Front) -> None:
    """A title with <script>, & and 5,000 characters gives a card Telegram accepts (the
    fake refuses bad HTML, over-long text and long callback data as Telegram does)."""
    await add_feed(front, "/hostile.xml", [HOSTILE], cards=1)
    text = str(front.cards()[0]["text"])
    assert "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Court orders deportation" in text
    assert "javascript:" not in text
    assert len(text) <= 4096 and text.count("z") < 400     # the title shortened, not cut
    refused = [c for name, c in front.fake.calls if name == "sendMessage"
               and c.get("chat_id") == GROUP]
    assert len(refused) == 1                             # accepted at the first try


# ── tracks ───────────────────────────────────────────────────────────────────────────


async def test_track_hit_in_private_and_on_the_card(front: Front) -> None:
    """A coordinator's track in Cyrillic matches a later English report: a private hit
    with buttons, and the card names the track; /tracks and /untrack manage tracks."""
    answer = await front.say(COORD, "/track Михаил Жилин")
    assert "Tracking #1: <b>Михаил Жилин</b>" in answer and "Zhilin" in answer
    assert "last 90 days that match: 0" in answer
    before = len(front.fake.messages(COORD))
    await add_feed(front, "/wire.xml", [ZHILIN_ORDER], cards=1)
    await front.wait(lambda: len(front.fake.messages(COORD)) > before)
    hit = front.fake.messages(COORD)[-1]
    assert hit["text"] == ("🔎 Your track <b>Михаил Жилин</b> matches case #1: "
                           "<b>Mikhail Zhilin</b> — removal ordered by a court.")
    assert "c:take:1" in button_data(hit)
    assert "Tracks: Михаил Жилин" in str(front.card(1)["text"])
    # Tracking again now finds the stored item at once.
    answer = await front.say(COORD, "/track Zhilin M.")
    assert "match: 1" in answer and "(#1)" in answer
    assert "#1 <b>Михаил Жилин</b> — Cora" in await front.say(COORD, "/tracks")
    assert "No longer tracking: #1 Михаил Жилин" in await front.say(COORD, "/untrack 1")
    assert "No such track" in await front.say(COORD, "/untrack 1")
    assert "No longer tracking" in await front.say(COORD, "/untrack zhilin m.")
    assert "No tracks" in await front.say(COORD, "/tracks")


# ── roles and refusals ───────────────────────────────────────────────────────────────

COMMAND_ROLES = [
    ("/subscribe", "volunteer"), ("/unsubscribe", "volunteer"), ("/mute 2", "volunteer"),
    ("/cases", "volunteer"), ("/case 1", "volunteer"),
    ("/track Zhilin", "coordinator"), ("/untrack 1", "coordinator"),
    ("/tracks", "coordinator"), ("/assign 1 333", "coordinator"), ("/feeds", "coordinator"),
    ("/addfeed http://127.0.0.1:9/x.xml", "admin"), ("/removefeed 1", "admin"),
    ("/pausefeed 1", "admin"), ("/resumefeed 1", "admin"), ("/grant 555 admin", "admin"),
    ("/revoke 333", "admin"), ("/status", "admin"), ("/lang ru", "admin"),
]


async def test_every_command_refused_below_its_role(front: Front) -> None:
    """Each command sent by a user without its role — in private and in the group — is
    refused in one line, audited, and changes nothing."""
    await add_feed(front, "/wire.xml", [ZHILIN_ORDER], cards=1)
    lower = {"volunteer": [STRANGER], "coordinator": [STRANGER, VERA],
             "admin": [STRANGER, VERA, COORD]}
    refusals = 0
    for command, needed in COMMAND_ROLES:
        for user in lower[needed]:
            chats = [user] if command != "/lang ru" else [GROUP]
            if command != "/subscribe" and user == VERA:
                chats.append(GROUP)
            for chat in chats:
                if chat == GROUP and user == STRANGER:
                    continue          # strangers are not in the group
                answer = await front.say(user, command, chat=chat)
                assert answer.startswith("Refused:"), (command, user, chat, answer)
                assert f"needs the {needed} role" in answer
                assert answer.endswith("Nothing was changed.")
                refusals += 1
    assert refusals >= 40
    store = await front.store()
    try:
        assert len(await store.list_feeds()) == 1
        assert (await store.list_feeds())[0].paused is False
        assert await store.list_tracks() == []
        assert await store.members() == []
        assert await store.subscription(STRANGER) is None
        case = await store.get_case(1)
        assert case is not None and case.claimed_by is None
        audit = await store.audit_log(500)
    finally:
        await store.close()
    assert sum(1 for _, _, allowed in audit if not allowed) >= refusals
    assert (STRANGER, "/addfeed", False) in audit and (COORD, "/grant", False) in audit


async def test_roles_from_the_group_and_grants(front: Front) -> None:
    """Administrators of the alert group are admins; members are volunteers; /grant and
    /revoke change a user's rights at once; /start tells everyone their role."""
    front.fake.chat_admins[GROUP] = [999, GADMIN]
    assert "Your role: admin." in await front.say(GADMIN, "/start")
    url = front.feed("/w.xml", [ZHILIN_ORDER])
    assert "Added feed #1" in await front.say(GADMIN, f"/addfeed {url}")
    assert "Your role: volunteer." in await front.say(VERA, "/help")
    help_stranger = await front.say(STRANGER, "/help")
    assert "Your role: not a member." in help_stranger and "/cases" not in help_stranger
    assert "/status" in await front.say(ADMIN, "/help")

    assert (await front.say(STRANGER, "/track Zhilin")).startswith("Refused")
    assert "User 555 is now coordinator." in await front.say(ADMIN, "/grant 555 coordinator")
    assert "Tracking #1" in await front.say(STRANGER, "/track Zhilin")
    assert "Revoked coordinator from user 555." in await front.say(ADMIN, "/revoke 555")
    assert (await front.say(STRANGER, "/track Zhilin")).startswith("Refused")
    assert "has no granted role" in await front.say(ADMIN, "/revoke 555")
    assert "Usage: /grant" in await front.say(ADMIN, "/grant @someone admin")
    assert "User 555 is now volunteer." in await front.say(ADMIN, "/grant 555 volunteer")
    assert "Subscribed" in await front.say(STRANGER, "/subscribe")


# ── volunteers: subscriptions, cases, languages ──────────────────────────────────────


async def test_subscriptions_filters_mute_and_case_views(front: Front) -> None:
    """/subscribe in private sends cards there (filters apply); /mute pauses them;
    /unsubscribe stops them; /cases and /case show the open cases in full."""
    assert "Subscribe in a private chat" in await front.say(VERA, "/subscribe", chat=GROUP)
    assert "'mars' is not a country" in await front.say(VERA, "/subscribe mars")
    answer = await front.say(VERA, "/subscribe urgent Russia")
    assert "Subscribed" in answer and "(only: RU, urgent)" in answer
    answer = await front.say(OLEG, "/subscribe uzbekistan")
    assert "(only: UZ)" in answer
    await add_feed(front, "/wire.xml", [ZHILIN_ORDER, KARIMOV_INTERIM], cards=2)
    await front.wait(lambda: len(front.cards(VERA)) == 1 and len(front.cards(OLEG)) == 1)
    assert "Zhilin" in str(front.cards(VERA)[0]["text"])       # urgent, to Russia
    assert "Karimov" in str(front.cards(OLEG)[0]["text"])      # Uzbekistan, not urgent

    # Claiming in the group edits the private copies too.
    answer = await front.press(VERA, "take", 1, front.card(1))
    assert answer["text"].startswith("You took case #1")
    await front.wait(lambda: "taken by Vera" in str(front.card(1, VERA)["text"]))

    assert "Muted until" in await front.say(OLEG, "/mute 3")
    assert "Usage: /mute" in await front.say(OLEG, "/mute 0")
    assert "Unsubscribed" in await front.say(VERA, "/unsubscribe")
    assert "not subscribed" in await front.say(VERA, "/unsubscribe")
    front.feed("/wire.xml", [ZHILIN_ORDER, KARIMOV_INTERIM,
                             ("Russia detains Aziz Karimov for extradition to Uzbekistan",
                              "Police in Moscow detained Uzbek blogger Aziz Karimov at the "
                              "request of Uzbekistan, which seeks his extradition.")])
    await front.poll_now()
    await front.wait(lambda: "Stage: detained" in str(front.card(2)["text"]))
    await asyncio.sleep(1.0)
    assert len(front.cards(OLEG)) == 1 and "detained" not in str(front.cards(OLEG)[0]["text"])

    cases = await front.say(VERA, "/cases")
    assert cases.index("#2") < cases.index("#1") and "🙋 Vera" in cases
    full = await front.say(OLEG, "/case 1")
    assert "Timeline:" in full and "first report" in full and "taken by Vera" in full
    assert "There is no case #99." in await front.say(OLEG, "/case 99")


async def test_languages_per_chat(front: Front) -> None:
    """/lang ru switches one chat's interface (the group's needs an admin); cards in that
    chat are then rendered in Russian; other chats stay in English."""
    assert "Язык: русский." in await front.say(VERA, "/lang ru")
    assert "Ваша роль: волонтёр." in await front.say(VERA, "/help")
    assert await front.say(VERA, "/lang ru", chat=GROUP) == \
        await front.say(VERA, "/lang ru", chat=GROUP)       # refused both times, same line
    assert "Язык: русский." in await front.say(ADMIN, "/lang ru", chat=GROUP)
    assert "Usage: /lang en|ru" in await front.say(ADMIN, "/lang de")
    await add_feed(front, "/wire.xml", [ZHILIN_ORDER], cards=1)
    text = str(front.card(1)["text"])
    assert text.startswith("<b>🔴 СРОЧНО · ДЕПОРТАЦИЯ · Казахстан → Россия</b>")
    assert "Стадия: суд постановил выдворить" in text
    labels = [b["text"] for row in front.card(1)["reply_markup"]["inline_keyboard"]
              for b in row]
    assert labels[0] == "🙋 Беру"
    commands = front.fake.calls_to("setMyCommands")
    assert {c.get("language_code") for c in commands} == {None, "ru"}


# ── coordinators: assignment, re-announcement ────────────────────────────────────────


async def test_assign_and_reannounce(front: Front) -> None:
    """/assign gives a case to a volunteer (told in private, shown on the card); an urgent
    case nobody took is re-announced once and coordinators are told in private."""
    await front.say(VERA, "/start", username="vera_lawyer")
    await add_feed(front, "/wire.xml", [ZHILIN_ORDER, HOSTILE], cards=2)
    assert "I do not know @nobody" in await front.say(COORD, "/assign 1 @nobody")
    assert "555 is not a volunteer" in await front.say(COORD, "/assign 1 555")
    answer = await front.say(COORD, "/assign 1 @Vera_Lawyer")
    assert answer == "Case #1 assigned to Vera; they are told in private."
    await front.wait(lambda: "assigned case #1" in str(front.fake.messages(VERA)[-1]["text"]))
    await front.wait(lambda: "taken by Vera" in str(front.card(1)["text"]))

    store = await front.store()
    try:
        # The escalate job's query, as if DEPORTWATCH_ESCALATE_MINUTES had passed.
        early = await store.queue_reannouncements(utc_now(), older_than=timedelta(minutes=30),
                                                  coordinators=[COORD])
        assert early == 0
        queued = await store.queue_reannouncements(utc_now(), older_than=timedelta(0),
                                                   coordinators=[COORD])
        assert queued == 2            # case 2 only: one reply in the group, one to COORD
        again = await store.queue_reannouncements(utc_now(), older_than=timedelta(0),
                                                  coordinators=[COORD])
        assert again == 0
    finally:
        await store.close()
    card2 = front.card(2)
    await front.wait(lambda: any(m.get("reply_to_message", {}).get("message_id")
                                 == card2["message_id"] for m in front.fake.messages(GROUP)))
    await front.wait(lambda: "Nobody has taken urgent case #2"
                     in str(front.fake.messages(COORD)[-1]["text"]))
    reannounce = [m for m in front.fake.messages(GROUP)
                  if m.get("reply_to_message", {}).get("message_id") == card2["message_id"]]
    assert len(reannounce) == 1 and "can you take it?" in str(reannounce[0]["text"])
    assert "c:take:2" in button_data(reannounce[0])


# ── admins: sources and status ───────────────────────────────────────────────────────


async def test_feed_admin_commands_and_status(front: Front) -> None:
    """/feeds shows health, /pausefeed and /resumefeed stop and restart polling,
    /removefeed removes a source but keeps its cases, /status sums it all up."""
    await add_feed(front, "/wire.xml", [ZHILIN_ORDER], cards=1)
    front.server.routes["/broken.xml"] = (500, {}, b"oops")
    answer = await front.say(ADMIN, f"/addfeed {front.server.base_url}/broken.xml")
    assert "Added feed #2" in answer
    await front.wait(lambda: front.server.requests.count("/broken.xml") >= 1)
    await asyncio.sleep(0.5)
    feeds = await front.say(COORD, "/feeds")
    assert "#1 <b>Wire &amp; Co</b>" in feeds and "ok, last success" in feeds
    assert "failing ×1: FetchError" in feeds
    assert "Feed #2 paused." in await front.say(ADMIN, "/pausefeed 2")
    assert "paused (by an admin)" in await front.say(ADMIN, "/feeds")
    requests = front.server.requests.count("/broken.xml")
    assert "Feed #2 resumed" in await front.say(ADMIN, "/resumefeed 2")
    await front.wait(lambda: front.server.requests.count("/broken.xml") > requests)
    assert "There is no feed #7" in await front.say(ADMIN, "/pausefeed 7")
    assert "Usage: /removefeed ID" in await front.say(ADMIN, "/removefeed")
    assert "Removed feed #2" in await front.say(ADMIN, "/removefeed 2")
    status = await front.say(ADMIN, "/status")
    assert "Feeds: 1 (0 paused, 0 failing)" in status
    assert "Open cases: 1 (1 urgent and not taken)" in status
    assert "Last poll: 20" in status and "0 waiting" in status


# ── delivery under Telegram errors ───────────────────────────────────────────────────


async def test_429_and_500_then_delivered_once(front: Front) -> None:
    """Flood control (429 with retry_after) and a server error (500) delay the card;
    it then arrives exactly once."""
    front.fake.fail_next("sendMessage", status=429, description="Too Many Requests: retry "
                         "after 1", retry_after=1, chat_id=GROUP)
    front.fake.fail_next("sendMessage", status=500, description="Internal Server Error",
                         chat_id=GROUP)
    await add_feed(front, "/wire.xml", [ZHILIN_ORDER], cards=1)
    await asyncio.sleep(1.0)
    assert len(front.cards()) == 1
    sends = [c for c in front.fake.calls_to("sendMessage") if c.get("chat_id") == GROUP]
    assert len(sends) == 3                                  # 429, 500, success


async def test_403_marks_chat_inactive_and_migration_moves_the_group(front: Front) -> None:
    """A subscriber who blocked the bot: the chat is marked inactive (in /status), its
    messages failed with the reason. The group became a supergroup: the card lands in
    the new chat and later edits go there. Losing the group tells the admins."""
    new_group = -1009999
    front.fake.chat_members[new_group] = {VERA, OLEG}
    await front.say(VERA, "/subscribe")
    front.fake.fail_next("sendMessage", status=403,
                         description="Forbidden: bot was blocked by the user", chat_id=VERA)
    front.fake.fail_next("sendMessage", status=400, description="Bad Request: group chat was "
                         "upgraded to a supergroup chat", migrate_to_chat_id=new_group,
                         chat_id=GROUP)
    await add_feed(front, "/wire.xml", [ZHILIN_ORDER], cards=0)
    await front.wait(lambda: len(front.cards(new_group)) == 1)
    assert front.cards(GROUP) == []
    await front.wait(lambda: any(c.get("chat_id") == VERA
                                 for c in front.fake.calls_to("sendMessage")))
    await asyncio.sleep(0.5)
    status = await front.say(ADMIN, "/status")
    assert f"Inactive chat {VERA}" in status and "blocked by the user" in status
    answer = await front.press(OLEG, "take", 1, front.card(1, new_group))
    assert answer["text"].startswith("You took")
    await front.wait(lambda: "taken by Oleg" in str(front.card(1, new_group)["text"]))

    # The bot is removed from the (new) group: admins are told, the chat goes inactive.
    front.fake.fail_next("sendMessage", status=403, description="Forbidden: bot was kicked "
                         "from the supergroup chat", chat_id=new_group, times=5)
    front.feed("/wire.xml", [ZHILIN_ORDER, KARIMOV_INTERIM])
    await front.poll_now()
    await front.wait(lambda: any("can no longer write to the alert group" in str(m["text"])
                                 for m in front.fake.messages(ADMIN)))
    store = await front.store()
    try:
        summary = await store.status_summary(utc_now())
        assert summary.outbox.get("pending", 0) == 0        # nothing left hanging
        assert any(chat == new_group for chat, _ in summary.inactive_chats)
    finally:
        await store.close()
    assert not any("Karimov" in str(m["text"]) for m in front.fake.messages(new_group))
    # The bot is added back and someone writes in the group: the waiting card goes out.
    front.fake.clear_failures()
    front.fake.push_message("we are back", user_id=OLEG, chat_id=new_group)
    await front.wait(lambda: any("Karimov" in str(m["text"]) for m in front.cards(new_group)))


async def test_digest_holds_non_urgent_cases(fake_telegram: FakeTelegramAPI,
                                             fixture_server: FixtureServer,
                                             tmp_path: Path) -> None:
    """With DEPORTWATCH_DIGEST_AT set, a non-urgent case waits for the daily digest while
    an urgent one is posted at once; the digest lists the held case once."""
    front = Front(fake_telegram, fixture_server,
                  settings_for(fake_telegram, tmp_path, digest_at=time(3, 0)))
    await front.start()
    try:
        await add_feed(front, "/wire.xml", [ZHILIN_ORDER, KARIMOV_INTERIM], cards=1)
        await asyncio.sleep(1.0)
        assert len(front.cards()) == 1 and "Zhilin" in str(front.cards()[0]["text"])
        store = await front.store()
        try:
            assert await store.queue_digest(utc_now(), groups=[GROUP]) == 1
            assert await store.queue_digest(utc_now(), groups=[GROUP]) == 0
        finally:
            await store.close()
        await front.wait(lambda: any("Daily digest" in str(m["text"])
                                     for m in fake_telegram.messages(GROUP)))
        digest = [m for m in fake_telegram.messages(GROUP) if "Daily digest" in str(m["text"])]
        assert len(digest) == 1 and "Karimov" in str(digest[0]["text"])
        assert "Zhilin" not in str(digest[0]["text"])
    finally:
        await front.stop()


# ── a kill and restart ───────────────────────────────────────────────────────────────


async def _leased(settings: Settings) -> int:
    store = await Store.open(settings.database_url)
    try:
        return (await store.outbox_counts()).get("sending", 0)
    finally:
        await store.close()


def _spawn(settings: Settings) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": settings.telegram_token or "",
           "TELEGRAM_API_BASE_URL": settings.api_base_url,
           "DEPORTWATCH_ALERT_CHAT_ID": str(GROUP), "DEPORTWATCH_ADMIN_IDS": str(ADMIN),
           "DATABASE_URL": settings.database_url, "DEPORTWATCH_ALLOW_PRIVATE_URLS": "true",
           "DEPORTWATCH_TICK_SECONDS": "0.2", "DEPORTWATCH_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env,
                            cwd=Path(__file__).resolve().parents[1],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_kill_and_restart_loses_and_repeats_nothing(
        fake_telegram: FakeTelegramAPI, fixture_server: FixtureServer, tmp_path: Path) -> None:
    """SIGKILL while cards wait in the outbox (Telegram failing); after a restart every
    card arrives exactly once."""
    fake = fake_telegram
    settings = settings_for(fake, tmp_path)
    items = [ZHILIN_ORDER, KARIMOV_INTERIM,
             ("Court orders deportation of Ivan Petrov",
              "A court ordered the deportation of Ivan Petrov to Tajikistan.")]
    url = Front(fake, fixture_server, settings).feed("/wire.xml", items)
    store = await Store.open(settings.database_url)
    from feeds.models import FeedKind
    await store.add_feed(url, FeedKind.RSS, 300, added_by=ADMIN, now=utc_now())
    await store.close()
    fake.fail_next("sendMessage", status=500, description="Internal Server Error",
                   chat_id=GROUP, times=1000)
    process = _spawn(settings)
    try:
        # Kill once every card has failed at least once and none is being sent.
        assert await fake.await_for(lambda: len(fake.calls_to("sendMessage")) >= 3,
                                    timeout=30)
        for _ in range(100):
            if not await _leased(settings):
                break
            await asyncio.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert fake.messages(GROUP) == []
    fake.clear_failures()
    process = _spawn(settings)
    try:
        assert await fake.await_for(lambda: len(fake.messages(GROUP)) >= 3, timeout=30)
        await asyncio.sleep(2.0)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    texts = [str(m["text"]) for m in fake.messages(GROUP)]
    assert len(texts) == 3
    assert sum("Zhilin" in t for t in texts) == sum("Karimov" in t for t in texts) \
        == sum("Petrov" in t for t in texts) == 1


async def test_escalation_timer_reannounces_once(fake_telegram: FakeTelegramAPI,
                                                 fixture_server: FixtureServer,
                                                 tmp_path: Path) -> None:
    """The service's own timer: an urgent card nobody takes within
    DEPORTWATCH_ESCALATE_MINUTES (here 0.02, 1.2 s) is re-announced once, as a reply with a Take
    button, and each coordinator is told in private — once."""
    front = Front(fake_telegram, fixture_server,
                  settings_for(fake_telegram, tmp_path, escalate_minutes=0.02))
    await front.start()
    try:
        await add_feed(front, "/wire.xml", [ZHILIN_ORDER], cards=1)
        card = front.card(1)

        def replies() -> list[JSONDict]:
            return [m for m in fake_telegram.messages(GROUP)
                    if m.get("reply_to_message", {}).get("message_id") == card["message_id"]]
        await front.wait(lambda: len(replies()) == 1)
        await front.wait(lambda: len(fake_telegram.messages(COORD)) == 1)
        await asyncio.sleep(2.0)                      # several more checks
        assert len(replies()) == 1 and len(fake_telegram.messages(COORD)) == 1
        assert "for 0.02 min" in str(replies()[0]["text"])
        assert str(fake_telegram.messages(COORD)[0]["text"]).startswith(
            "⏰ Nobody has taken urgent case #1 (<b>Mikhail Zhilin</b>")
    finally:
        await front.stop()

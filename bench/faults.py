"""Benchmark: reliability and security under injected faults, printed as tables.

Runs the scenarios of ``tests/faultkit.py`` at full size (all on loopback, no
assertions — ``tests/test_faults.py`` asserts the same scenarios, smaller):

1. Telegram side: 200 cases to two chats while the fake Bot API answers 429 bursts,
   500/502s, connection resets and timeouts, and a third chat answers 403;
2. crashes: ``deportwatch run`` SIGKILLed 24 times (polling, sending, between
   Telegram's answer and the commit, random) over a stream of 200 cases;
3. source side: every hostile source next to healthy feeds for 45 s;
4. SSRF: every unsafe URL and trick, tried vs fetched.

Usage: .venv/bin/python bench/faults.py [--quick]
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import table
from tests import faultkit
from tests.fakes.fault_server import FAULTS


async def main(quick: bool) -> None:
    logging.basicConfig(level=logging.CRITICAL)
    cases = 40 if quick else 200
    kills = 8 if quick else 24
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)

        t = await faultkit.telegram_faults(tmp, cases)
        table("1. Telegram faults (429 bursts, 500/502, resets, timeouts; one chat 403)",
              ["cards expected", "delivered", "duplicated", "lost", "send calls",
               "blocked chat: failed with reason", "seconds"],
              [[t.expected, t.delivered, t.duplicated, t.lost, t.notes["send_calls"],
                t.notes["outbox"].get("failed", 0), f"{t.seconds:.0f}"]])

        c = await faultkit.crash_loop(tmp, cases, kills)
        table(f"2. SIGKILL × {sum(c.kills.values())} over {cases} cases (3 chats each), "
              f"{c.restarts} starts",
              ["kind of kill", "kills", "followed by a repeat of the message in flight"],
              [[kind, n, c.repeated_after.get(kind, 0)] for kind, n in sorted(c.kills.items())])
        table("   outcome",
              ["cards expected", "delivered", "lost", "duplicated",
               "explained (last message before a kill)", "unexplained",
               "integrity_check after kills", "seconds"],
              [[c.tally.expected, c.tally.delivered, c.tally.lost, c.tally.duplicated,
                c.explained, c.unexplained, dict(c.integrity), f"{c.tally.seconds:.0f}"]])

        s = await faultkit.source_faults(tmp, 15.0 if quick else 45.0, interval=5)
        table(f"3. Hostile sources next to {len(s.healthy_polls)} healthy feeds, interval "
              f"{s.interval} s, {s.seconds:.0f} s",
              ["source", "behaviour", "requests", "failures in a row", "last error"],
              [[path, FAULTS[path], *s.bad[path]] for path in FAULTS])
        polls = sorted(s.healthy_polls.values())
        table("   healthy feeds and memory",
              ["polls per healthy feed", "longest gap between polls (s)",
               "RSS before (MB)", "peak RSS (MB)"],
              [[f"{polls[0]}–{polls[-1]}", f"{s.healthy_max_gap:.1f}",
                f"{s.baseline_rss_mb:.0f}", f"{s.peak_rss_mb:.0f}"]])

        rows = await faultkit.ssrf_table()
        attacks = [r for r in rows if not r.what.startswith("control")]
        table(f"4. SSRF: {len(attacks)} tried, {sum(1 for r in attacks if r.fetched)} fetched",
              ["attempt", "URL", "requests that reached a server", "outcome"],
              [[r.what, r.url, r.fetched, r.error] for r in rows])


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main("--quick" in sys.argv))
    print(f"\n(total {time.monotonic() - started:.0f} s)")

"""Benchmark: poll cycles of the real service over thousands of loopback feeds (issue #7, part 2).

The scenario of the issue: ``deportwatch run`` polling 2,000 feeds on a local server,
most answering 304, some changing each cycle, a few slow or failing; one full cycle's
wall time, CPU seconds and peak RSS (targets: ≤ 30 s, ≤ 150 MB), and 10,000 feeds in
one 5-minute cycle (``--feeds 10000``)::

    bench/feedserver.py (own process)          deportwatch run (own process, SQLite file)
      /feed/K.xml on 127.1.x.y:PORT,  ◄── HTTP ──  Poller → Fetcher → ingest → Store
      10 feeds per address; ETag/304;                  ▲
      5 % change per cycle, 1 % slow 5–10 s,           │ each cycle: every feed made due
      1 % fail (500 / reset / not HTTP)                │ (UPDATE feed SET next_poll_at)
                 ▲                                     │
                 └────── this script: counts, /proc/PID, the feed table every 0.5 s

- The feeds are added with ``Store.add_feed`` before the service starts, with an
  interval of an hour so that no feed comes due by itself; each cycle starts by making
  every feed due at once (as the interval running out would: cycle 1 in the order
  the feeds were added, as after ``feeds add``; later cycles in the order the
  poller's per-feed jitter leaves them, as in production) and ends when every
  feed has recorded a poll (``last_success_at`` or ``last_error_at`` after the start).
  Wall time and the percentiles come from those timestamps. The cards a cycle queued
  are then sent (console sender) before the next cycle starts; that is shown apart.
- Cycle 1 is the cold start: the service has no ETags and no items yet, so every
  feed answers 200 and all of its 50 items are new. Cycle 2 on is the steady state
  the issue means: ~93 % 304, ~5 % changed (one new item each), ~2 % slow or failing.
  ``--restart`` runs cycles 2+ in a fresh service process (a restart with a warm
  database), so their memory is not the cold start's.
- CPU seconds are the service's user + system time (``/proc/PID/stat``), all its
  threads; RSS is ``VmRSS`` sampled every 0.5 s and ``VmHWM`` (the kernel's peak) of
  the service only — the feed server runs in its own process and its CPU is shown
  apart, for reference.
- The service is ``deportwatch run`` (``python -m bot.cli run``) from a copy of the
  code taken at the start — the working tree, or ``--rev REV`` from git — so edits
  made meanwhile do not reach a running benchmark. Its settings are the defaults
  unless ``--env KEY=VALUE`` says otherwise; no Telegram token, so cards go to its
  stdout (a file); private URLs allowed (the feeds are on loopback).

``--profile`` attaches ``py-spy record`` to the service during each cycle (skipped when
py-spy is not installed) and prints where the busy samples fall: by package, by line,
and by project function; ``--gil`` samples only the thread holding the GIL (where
Python CPU goes); ``--native`` adds C frames (slow: it stalls the service).
Prints figures; no assertions. Usage::

    .venv/bin/python bench/poll_cycle.py [--feeds 2000] [--cycles 2] [--restart]
        [--profile [--native]] [--layout block|spread] [--rev REV]
        [--env DEPORTWATCH_TICK_SECONDS=1] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.feedserver import feed_url
from bench.report import table
from feeds.models import FeedKind
from storage import Store

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "feeds", "storage")
INTERVAL = 3600                 # no feed comes due by itself during the run
DB_TIME = "%Y-%m-%d %H:%M:%S.%f"   # how SQLAlchemy stores a UTC datetime in SQLite
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.5
SPARK = " ▁▂▃▄▅▆▇█"


# ── the processes ────────────────────────────────────────────────────────────────────

def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process, all threads (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS    # utime, stime


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def status_value(pid: int, key: str) -> int:
    """A number from ``/proc/PID/status`` (kB for the Vm* lines)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def status_mb(pid: int, key: str) -> float:
    """``VmRSS`` or ``VmHWM`` of a process in MB."""
    return status_value(pid, key) / 1024


def open_files(pid: int, path: Path) -> int:
    """How many descriptors the process holds on ``path`` (one per SQLite connection)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd) == str(path)
        except OSError:
            continue
    return count


def service_command() -> list[str]:
    """``deportwatch run`` (the entry point is ``bot.cli:main``), run from a copy of the
    code so that edits made to the working tree during a run do not reach it."""
    return [sys.executable, "-m", "bot.cli", "--env-file", os.devnull, "run"]


def snapshot(rev: str | None, dest: Path) -> str:
    """Copy the service's code (bot/, feeds/, storage/ with their data files) to ``dest``:
    the working tree as it is now, or git revision ``rev``. Returns what was copied."""
    dest.mkdir(parents=True)
    if rev is None:
        for name in PACKAGES:
            shutil.copytree(ROOT / name, dest / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return f"working tree at the start: {git_state()}"
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev],
                         capture_output=True, text=True, check=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha, *PACKAGES],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return f"git {rev} = {sha}"


def service_env(database: str, overrides: dict[str, str], code: Path) -> dict[str, str]:
    """The service's environment: nothing inherited that configures deportwatch, no
    Telegram token (cards go to the console), private URLs allowed (loopback feeds)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DEPORTWATCH_", "TELEGRAM_")) and k != "DATABASE_URL"}
    ours = {"DATABASE_URL": database, "DEPORTWATCH_ALLOW_PRIVATE_URLS": "true", **overrides}
    return {**env, "PYTHONPATH": str(code), **ours}


@dataclass
class FeedServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    addresses: int

    @classmethod
    def start(cls, args: argparse.Namespace) -> FeedServerProcess:
        cmd = [sys.executable, str(ROOT / "bench" / "feedserver.py"), "--feeds", str(args.feeds),
               "--per-host", str(args.per_host), "--layout", args.layout,
               "--seed", str(args.seed)]
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE)
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        return cls(process, int(ready["port"]), int(ready["addresses"]))

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# ── the database ─────────────────────────────────────────────────────────────────────

async def add_feeds(database: str, urls: Sequence[str]) -> None:
    store = await Store.open(database)
    try:
        now = datetime.now(UTC)
        for url in urls:
            await store.add_feed(url, FeedKind.RSS, INTERVAL, added_by=None, now=now)
    finally:
        await store.close()


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=60, isolation_level=None)
    db.execute("PRAGMA busy_timeout=60000")
    return db


def make_due(db: sqlite3.Connection, when: str) -> None:
    """Every feed due at ``when`` (the past: at once; the future: not yet), no leases.
    Equal times: the poller takes the feeds in the order they were added."""
    db.execute("UPDATE feed SET next_poll_at = ?, leased_until = NULL", (when,))


def make_due_in_jitter_order(db: sqlite3.Connection) -> None:
    """Every feed due at once (times in 2000), in the order a poll cycle leaves them:
    ``next_poll_after_success`` adds a per-feed jitter of ``id × 2654435761 % 1000``
    thousandths of 10 % of the interval, so after a first cycle the feeds come due in
    that order — not grouped by host as they were added."""
    base = datetime(2000, 1, 1)
    ids = [int(r[0]) for r in db.execute("SELECT id FROM feed")]
    db.execute("BEGIN IMMEDIATE")
    db.executemany("UPDATE feed SET next_poll_at = ?, leased_until = NULL WHERE id = ?",
                   [((base + timedelta(seconds=i * 2654435761 % 1000)).strftime(DB_TIME), i)
                    for i in ids])
    db.execute("COMMIT")


def poll_times(db: sqlite3.Connection, since: str) -> list[str]:
    """When each feed recorded a poll (success or failure) at or after ``since``."""
    rows = db.execute(
        "SELECT max(coalesce(last_success_at, ''), coalesce(last_error_at, '')) AS t "
        "FROM feed WHERE t >= ? ORDER BY t", (since,)).fetchall()
    return [str(r[0]) for r in rows]


def db_counts(db: sqlite3.Connection, since: str) -> dict[str, int]:
    one = db.execute
    return {"items": int(one("SELECT count(*) FROM item").fetchone()[0]),
            "outbox": int(one("SELECT count(*) FROM outbox").fetchone()[0]),
            "cases": int(one("SELECT count(*) FROM case_file").fetchone()[0]),
            "failed": int(one("SELECT count(*) FROM feed WHERE last_error_at >= ?",
                              (since,)).fetchone()[0])}


def waiting(db: sqlite3.Connection) -> int:
    """Outbox messages not sent yet (pending or being sent)."""
    return int(db.execute("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
                          ).fetchone()[0])


def seconds_between(start: str, end: str) -> float:
    return (datetime.strptime(end, DB_TIME) - datetime.strptime(start, DB_TIME)).total_seconds()


# ── a cycle ──────────────────────────────────────────────────────────────────────────

@dataclass
class CycleResult:
    cycle: int
    feeds: int
    polled: int = 0
    offsets: list[float] = field(default_factory=list)   # seconds from the start, sorted
    cpu: float = 0.0
    sys_cpu: float = 0.0            # of which in the kernel
    server_cpu: float = 0.0
    peak_rss: float = 0.0
    timed_out: bool = False
    server: dict[str, Any] = field(default_factory=dict)
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    changed: int = 0
    profile: Path | None = None
    threads: int = 0                # of the service at the end of the cycle
    connections: int = 0            # SQLite connections (descriptors on the file) then
    drain_seconds: float = 0.0      # after the cycle, until the outbox had nothing waiting
    drain_cpu: float = 0.0
    drained: bool = True

    @property
    def wall(self) -> float:
        return self.offsets[-1] if self.offsets else float("nan")

    def at(self, share: float) -> float:
        if not self.offsets:
            return float("nan")
        return self.offsets[min(len(self.offsets) - 1, max(0, int(share * self.feeds) - 1))]

    def polled_by(self, seconds: float) -> int:
        return sum(1 for t in self.offsets if t <= seconds)


def start_profiler(pid: int, out: Path, flags: list[str]) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        return None
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", "100", "--format",
                             "raw", "--output", str(out), *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(60)
        except subprocess.TimeoutExpired:
            spy.kill()


def run_cycle(cycle: int, *, db: sqlite3.Connection, db_path: Path, pid: int,
              server: FeedServerProcess,
              feeds: int, give_up: float, profile_dir: Path | None,
              service: subprocess.Popen[bytes], spy_flags: list[str] | None = None,
              order: str = "jitter") -> CycleResult:
    result = CycleResult(cycle, feeds)
    result.changed = int(server.get(f"/_control/cycle?n={cycle}")["changed"])
    spy = None
    if profile_dir is not None:
        result.profile = profile_dir / f"cycle{cycle}.txt"
        spy = start_profiler(pid, result.profile, spy_flags or [])
        if spy is None:
            result.profile = None
        else:
            time.sleep(1.0)     # let py-spy attach before the work starts
    start = datetime.now(UTC).strftime(DB_TIME)
    result.before = db_counts(db, start)
    times0, server_cpu0 = cpu_times(pid), cpu_seconds(server.process.pid)
    began = time.monotonic()
    if cycle == 1 or order == "added":       # due at once, in the order added
        make_due(db, "2000-01-01 00:00:00.000000")
    else:
        make_due_in_jitter_order(db)
    while True:
        time.sleep(SAMPLE_SECONDS)
        result.peak_rss = max(result.peak_rss, status_mb(pid, "VmRSS"))
        polled = int(db.execute(
            "SELECT count(*) FROM feed WHERE max(coalesce(last_success_at, ''), "
            "coalesce(last_error_at, '')) >= ?", (start,)).fetchone()[0])
        if polled >= feeds or service.poll() is not None:
            break
        if time.monotonic() - began > give_up:
            result.timed_out = True
            break
    if service.poll() is not None:
        raise SystemExit(f"the service stopped during cycle {cycle} (exit {service.returncode});"
                         f" its log is in the run's folder (--keep keeps it)")
    times = cpu_times(pid)
    result.cpu = sum(times) - sum(times0)
    result.sys_cpu = times[1] - times0[1]
    result.threads = status_value(pid, "Threads")
    result.connections = open_files(pid, db_path)
    result.server_cpu = cpu_seconds(server.process.pid) - server_cpu0
    stop_profiler(spy)
    polls = poll_times(db, start)
    result.polled = len(polls)
    result.offsets = [seconds_between(start, t) for t in polls]
    result.after = db_counts(db, start)
    result.server = server.get("/_stats")[str(cycle)]
    # The cards a cycle queued are sent after it (console sender); wait for them, so the
    # next cycle does not pay for this one's delivery, and show that cost on its own.
    began, cpu0 = time.monotonic(), cpu_seconds(pid)
    while waiting(db) and service.poll() is None:
        if time.monotonic() - began > give_up:
            result.drained = False
            break
        time.sleep(SAMPLE_SECONDS)
    result.drain_seconds = time.monotonic() - began
    result.drain_cpu = cpu_seconds(pid) - cpu0
    return result


# ── printing ─────────────────────────────────────────────────────────────────────────

def sparkline(counts: Sequence[int], width: int = 60) -> str:
    """Requests per second over the cycle, squeezed into ``width`` characters."""
    if not counts:
        return ""
    step = max(1, -(-len(counts) // width))
    buckets = [sum(counts[i:i + step]) / step for i in range(0, len(counts), step)]
    top = max(buckets) or 1.0
    return "".join(SPARK[round(b / top * (len(SPARK) - 1))] for b in buckets) + \
        f"  (1 char = {step} s, top = {top:.0f} req/s)"


PROJECT = ("bot/", "feeds/", "storage/")
# Source lines where a thread waits (py-spy counts some of these waits as busy):
# aiosqlite's and the executor's queue.get, the event loop's epoll, lock waits.
WAITS = ("tx.get(", "work_queue.get(", "_selector.poll(", "waiter.acquire(", "self._cond.wait(")


def parse_frame(frame: str) -> tuple[str, str, int]:
    """py-spy's ``func (path:line)`` → (func, path, line); paths are module-relative
    (``feeds/pipeline.py``, ``aiosqlite/core.py``, ``asyncio/tasks.py``)."""
    name, _, where = frame.rpartition(" (")
    path, _, line = where.rstrip(")").rpartition(":")
    return name, path, int(line) if line.isdigit() else 0


def source_line(path: str, line: int) -> str:
    """The text of a frame's line, looked up in the project, site-packages or stdlib."""
    import linecache
    import sysconfig

    for base in (ROOT, Path(sysconfig.get_paths()["purelib"]),
                 Path(sysconfig.get_paths()["stdlib"])):
        text = linecache.getline(str(base / path), line)
        if text:
            return text.strip()
    return ""


def package(path: str) -> str:
    """The project module, or the third-party / stdlib package, a frame's file is in."""
    if path.startswith(PROJECT):
        return path.removesuffix(".py").replace("/", ".")
    if path.startswith("/") or not path.endswith(".py"):     # native code (--native)
        return "native: " + path.rsplit("/", 1)[-1]
    return path.split("/", 1)[0].removesuffix(".py")


def profile_tables(path: Path, cycle: int, top: int, flags: str) -> None:
    """Where py-spy's samples of one cycle fall, waits left out: the package of the
    frame on top (self), the lines on top, and the project's functions with everything
    they call (inclusive). A line on top that calls C (sqlite, zlib) stands for the C."""
    leaf: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    waits: dict[str, bool] = {}
    busy = idle = 0
    for row in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = row.rpartition(" ")
        if not count.isdigit() or not stack:
            continue
        n = int(count)
        frames = [parse_frame(f) for f in stack.split(";") if f]
        name, file, line = frames[-1]
        key = f"{file}:{line}"
        if key not in waits:
            waits[key] = any(w in source_line(file, line) for w in WAITS)
        if waits[key]:
            idle += n
            continue
        busy += n
        leaf[package(file)] += n
        lines[f"{name} ({file}:{line})  {source_line(file, line)[:60]}"] += n
        for f in dict.fromkeys((fn, fl) for fn, fl, _ in frames if fl.startswith(PROJECT)):
            inclusive[f"{f[0]} ({f[1]})"] += n
    if not busy:
        print(f"\n(no py-spy samples for cycle {cycle})")
        return
    print(f"\npy-spy record --rate 100 {flags}, cycle {cycle}: {busy} busy samples "
          f"({idle} more were threads waiting on a queue, a lock or epoll: left out)")
    table(f"  cycle {cycle}, by package of the frame on top (self)",
          ["package / module", "samples", "share"],
          [[p, n, f"{n / busy:.0%}"] for p, n in leaf.most_common(top)])
    table(f"  cycle {cycle}, lines on top (self)", ["line", "samples", "share"],
          [[x, n, f"{n / busy:.0%}"] for x, n in lines.most_common(top)])
    table(f"  cycle {cycle}, project functions, inclusive (what they call counts)",
          ["function", "samples", "share"],
          [[f, n, f"{n / busy:.0%}"] for f, n in inclusive.most_common(top)])


def git_state() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "bot", "feeds",
                                "storage"], capture_output=True, text=True,
                               check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = [line[3:] for line in dirty if line.strip()]
    return head + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def report(args: argparse.Namespace, results: list[CycleResult], *, command: list[str],
           env: dict[str, str], server: FeedServerProcess, runs: list[ServiceRun],
           code: str) -> None:
    print(f"\n$ {' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])}")
    print(f"service: cd CODE && {' '.join(command)}   (CODE: {code})")
    print("service environment: " + " ".join(f"{k}={v}" for k, v in sorted(env.items()))
          + " (every other setting: its default; no TELEGRAM_BOT_TOKEN: cards to stdout)")
    print(f"feeds: {args.feeds} on {server.addresses} loopback addresses "
          f"(127.1.x.y:{server.port}, {args.per_host} per address, layout {args.layout}); "
          f"interval {INTERVAL} s; every feed made due at the start of each cycle: cycle 1 "
          f"in the order added, later cycles in the "
          f"{'order added' if args.order == 'added' else 'poller jitter order'}")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
          + ("; the service is restarted after cycle 1" if args.restart else ""))
    budget = args.budget
    rows = []
    for r in results:
        what = "cold: no ETags, all new" if r.cycle == 1 else "steady state"
        rows.append([
            r.cycle, what, f"{r.polled}/{r.feeds}" + (" (timed out)" if r.timed_out else ""),
            f"{r.wall:.1f}", f"{r.offsets[0]:.1f}" if r.offsets else "-",
            f"{r.at(0.5):.1f} / {r.at(0.9):.1f} / {r.at(0.99):.1f}",
            f"{r.cpu:.1f} ({r.sys_cpu:.1f})",
            f"{r.cpu / r.wall:.0%}" if r.wall == r.wall and r.wall else "-",
            f"{r.peak_rss:.0f}", f"{r.threads} / {r.connections}",
            f"{'yes' if r.polled_by(budget) == r.feeds else 'NO'} "
            f"({r.polled_by(budget)} by {budget:.0f} s)"])
    table("Cycles (service side: wall from the feed table, CPU and RSS of the service process)",
          ["cycle", "what", "feeds polled", "wall s (all polled)", "first poll at s",
           "50 / 90 / 99 % polled by s",
           "service CPU s (of it sys)", "CPU/wall", "peak RSS in cycle MB",
           "threads / SQLite conns",
           f"every feed within {budget:.0f} s"], rows)
    rows = []
    for r in results:
        o = Counter(r.server.get("outcomes", {}))
        requests = sum(v for k, v in o.items())
        per_second = r.server.get("per_second", [])
        idle = sum(1 for n in per_second[:max(1, int(r.wall))] if n == 0)
        rows.append([
            r.cycle, requests, f"{requests / r.wall:.0f}" if r.wall else "-",
            o["200"], o["304"], f"{o['500']} / {o['reset']} / {o['garbage']}", o["slow"],
            o["article"], r.changed if r.cycle > 1 else "-", r.server.get("connections", 0),
            r.server.get("max_per_host", 0),
            f"{idle} of {int(r.wall)}",
            r.after.get("items", 0) - r.before.get("items", 0),
            r.after.get("outbox", 0) - r.before.get("outbox", 0),
            r.after.get("failed", 0), f"{r.server_cpu:.1f}"])
    outbox = [[r.cycle, r.after.get("outbox", 0) - r.before.get("outbox", 0),
               f"{r.drain_seconds:.1f}" + ("" if r.drained else " (gave up)"),
               f"{r.drain_cpu:.1f}"] for r in results]
    table("Cycles (feed server side)",
          ["cycle", "requests", "req/s", "200", "304", "500 / reset / not HTTP", "slow",
           "article pages", "feeds changed", "new TCP connections", "max at once per host",
           "seconds with no request", "new items", "outbox rows", "failures recorded",
           "server CPU s"], rows)
    table("After each cycle: its cards sent (console sender), before the next cycle starts",
          ["cycle", "outbox rows queued", "seconds until none waiting", "service CPU s"],
          outbox)
    for r in results:
        print(f"requests per second, cycle {r.cycle}: "
              f"{sparkline(r.server.get('per_second', [])[:max(1, int(r.wall) + 1)])}")
    table("Memory of the service process",
          ["service start", "cycles", "up in s", "RSS after start-up, idle (MB)",
           "VmHWM at that point (MB)", "peak RSS, VmHWM at the end (MB)",
           "RSS at the end (MB)"],
          [[n, ", ".join(map(str, run.cycles)), f"{run.started_in:.1f}",
            f"{run.baseline[0]:.0f}", f"{run.baseline[1]:.0f}", f"{run.peak:.0f}",
            f"{run.end_rss:.0f}"] for n, run in enumerate(runs, 1)])
    for n, run in enumerate(runs, 1):
        kinds = run.log_lines()
        print(f"service start {n}, log: " + (", ".join(f"{k} ×{v}" for k, v in kinds.items())
                                             or "no warnings") + f"  ({run.log})")
    for r in results:
        if r.profile is not None and r.profile.exists():
            profile_tables(r.profile, r.cycle, args.top,
                           "--native" * args.native + " --gil" * args.gil or "(all threads)")
    if args.profile and not any(r.profile for r in results):
        print("\n--profile: py-spy not found; skipped (pip install py-spy into .venv)")


# ── main ─────────────────────────────────────────────────────────────────────────────

@dataclass
class ServiceRun:
    """One start of ``deportwatch run``: its process and its memory."""

    process: subprocess.Popen[bytes]
    log: Path
    started_in: float = 0.0
    baseline: tuple[float, float] = (0.0, 0.0)     # VmRSS, VmHWM when up and idle
    peak: float = float("nan")                    # VmHWM at the end
    end_rss: float = float("nan")
    cycles: list[int] = field(default_factory=list)

    @classmethod
    def start(cls, command: list[str], env: dict[str, str], folder: Path, number: int,
              settle: float, cwd: Path) -> ServiceRun:
        out, err = folder / f"service{number}.out", folder / f"service{number}.err"
        began = time.monotonic()
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(command, env=env, cwd=cwd, stdout=stdout, stderr=stderr)
        run = cls(process, err)
        while b"running without Telegram" not in out.read_bytes():
            if process.poll() is not None:
                raise SystemExit(f"the service stopped: {err.read_text()[-2000:]}")
            time.sleep(0.1)
        run.started_in = time.monotonic() - began
        time.sleep(settle)
        run.baseline = (status_mb(process.pid, "VmRSS"), status_mb(process.pid, "VmHWM"))
        print(f"service pid {process.pid} up in {run.started_in:.1f} s, "
              f"RSS {run.baseline[0]:.0f} MB", flush=True)
        return run

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.peak = status_mb(self.pid, "VmHWM")
        self.end_rss = status_mb(self.pid, "VmRSS")
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def log_lines(self) -> Counter[str]:
        """Warnings and errors in the service's log, by kind."""
        kinds: Counter[str] = Counter()
        for line in self.log.read_text(errors="replace").splitlines():
            if "maximum number of running instances reached" in line:
                kinds["job skipped (already running)"] += 1
            elif "feed crashed the pipeline" in line:
                kinds["feed crashed the pipeline"] += 1
            elif "database is locked" in line:
                kinds["'database is locked'"] += 1
            elif " WARNING feeds.pipeline: feed failed" in line:
                kinds["feed failed (its source)"] += 1
            elif " WARNING " in line or " ERROR " in line:
                kinds["other warning/error"] += 1
        return kinds


def main(args: argparse.Namespace) -> None:
    overrides = dict(kv.split("=", 1) for kv in args.env)
    folder = Path(tempfile.mkdtemp(prefix="poll_cycle-"))
    server = FeedServerProcess.start(args)
    runs: list[ServiceRun] = []
    try:
        path = folder / "bench.db"
        database = f"sqlite:///{path}"
        urls = [feed_url(k, args.feeds, args.per_host, args.layout, server.port)
                for k in range(args.feeds)]
        t = time.monotonic()
        asyncio.run(add_feeds(database, urls))
        db = connect(path)
        make_due(db, "2999-01-01 00:00:00.000000")    # not yet: first the idle baseline
        print(f"{args.feeds} feeds added in {time.monotonic() - t:.1f} s; "
              f"feed server pid {server.process.pid}; files in {folder}", flush=True)

        command = service_command()
        code_dir = folder / "code"
        code = snapshot(args.rev, code_dir)
        env = service_env(database, overrides, code_dir)
        shown = {k: env[k] for k in ("DATABASE_URL", "DEPORTWATCH_ALLOW_PRIVATE_URLS",
                                     *overrides)}
        runs.append(ServiceRun.start(command, env, folder, 1, args.settle, code_dir))
        results = []
        profile_dir = folder if args.profile else None
        for cycle in range(1, args.cycles + 1):
            if cycle == 2 and args.restart:
                runs[-1].stop()
                runs.append(ServiceRun.start(command, env, folder, 2, args.settle, code_dir))
            run = runs[-1]
            r = run_cycle(cycle, db=db, db_path=path, pid=run.pid, server=server, feeds=args.feeds,
                          give_up=args.timeout, profile_dir=profile_dir, service=run.process,
                          spy_flags=["--native"] * args.native + ["--gil"] * args.gil,
                          order=args.order)
            results.append(r)
            run.cycles.append(cycle)
            print(f"cycle {cycle}: {r.polled}/{r.feeds} polled, wall {r.wall:.1f} s, "
                  f"CPU {r.cpu:.1f} s, peak RSS {r.peak_rss:.0f} MB", flush=True)
            if run.process.poll() is not None:
                break
            time.sleep(args.pause)
        runs[-1].stop()
        report(args, results, command=command, env=shown, server=server, runs=runs, code=code)
    finally:
        for run in runs:
            run.stop()
        server.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=2000)
    ap.add_argument("--cycles", type=int, default=2)
    ap.add_argument("--per-host", type=int, default=10, help="feeds per loopback address")
    ap.add_argument("--layout", choices=("block", "spread"), default="block",
                    help="block: feeds 0-9 on one address (added together, as one outlet's "
                         "feeds are); spread: round-robin over the addresses")
    ap.add_argument("--order", choices=("jitter", "added"), default="jitter",
                    help="the order feeds come due in cycles 2+: as the poller's jitter leaves "
                         "them (default), or as added (a host's feeds together)")
    ap.add_argument("--budget", type=float, default=300.0,
                    help="report whether every feed was polled within this many seconds")
    ap.add_argument("--timeout", type=float, default=3600.0, help="give up on a cycle after")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting for the service (repeatable), e.g. "
                         "DEPORTWATCH_TICK_SECONDS=1")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds idle after start-up before the baseline RSS")
    ap.add_argument("--pause", type=float, default=2.0, help="seconds between cycles")
    ap.add_argument("--profile", action="store_true",
                    help="attach py-spy to the service during each cycle (skipped if absent)")
    ap.add_argument("--native", action="store_true",
                    help="with --profile: py-spy --native (C frames: sqlite, zlib, …)")
    ap.add_argument("--gil", action="store_true",
                    help="with --profile: py-spy --gil (only the thread holding the GIL: "
                         "Python CPU, no waits)")
    ap.add_argument("--rev", metavar="REV",
                    help="run the service from this git revision (default: a copy of the "
                         "working tree as it is at the start)")
    ap.add_argument("--top", type=int, default=20, help="rows of each profile table")
    ap.add_argument("--restart", action="store_true",
                    help="restart the service after cycle 1, so that later cycles run in a "
                         "fresh process (steady-state memory without the cold start's)")
    ap.add_argument("--keep", action="store_true", help="keep the database, logs, profiles")
    args = ap.parse_args()
    for kv in args.env:
        if "=" not in kv:
            ap.error(f"--env needs KEY=VALUE, got {kv!r}")
    return args


if __name__ == "__main__":
    main(parse_args())

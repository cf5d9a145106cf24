"""Quality of understanding on the labelled set in tests/fixtures/quality/.

Prints detection precision/recall, urgent recall, kind/stage/country accuracy,
pairwise clustering precision/recall/F1, near-duplicate precision/recall and track
precision/recall, against the targets of the understanding issue. The items go
through the real pipeline (``ingest_entries`` into an in-memory database, in order
of publication), exactly as polled items would.

Usage: .venv/bin/python bench/quality.py [--dev2 | --dev3 | --holdout] [--errors]

``--holdout`` measures tests/fixtures/quality_holdout instead: a second set written
blind, used only to measure how the rules generalise — never to tune them.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feeds.match import analyze, build_matcher
from feeds.models import Entry
from feeds.names import mentions, parse_query
from feeds.pipeline import ingest_entries
from storage import Store
from storage.db import MEMORY_URL

QUALITY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "quality"
HOLDOUT = QUALITY.with_name("quality_holdout")
TARGETS = {"detection precision": 0.95, "detection recall": 0.95, "urgent recall": 0.95,
           "clustering F1": 0.90, "track precision": 0.95, "track recall": 0.95}


def load(folder: Path = QUALITY) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    items = [json.loads(line) for line in (folder / "items.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    tracks = [json.loads(line) for line in (folder / "tracks.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    return items, tracks


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


@dataclass
class Report:
    figures: dict[str, float] = field(default_factory=dict)
    counts: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def table(self) -> str:
        lines = [f"{'measure':<26}{'value':>8}{'target':>9}  detail"]
        for name, value in self.figures.items():
            target = TARGETS.get(name)
            mark = "" if target is None else ("ok" if value >= target else "BELOW")
            lines.append(f"{name:<26}{value:>8.3f}{target if target else '':>9}  "
                         f"{self.counts.get(name, '')} {mark}")
        return "\n".join(lines)


async def _cluster(items: list[dict[str, Any]]) -> dict[str, tuple[str | None, str | None]]:
    """Item id → (predicted case id, predicted duplicate_of URL) through the pipeline."""
    store = await Store.open(MEMORY_URL)
    try:
        ordered = sorted(items, key=lambda i: (i["published"], i["id"]))
        for item in ordered:
            when = datetime.fromisoformat(item["published"].replace("Z", "+00:00"))
            entry = Entry(url=item["url"], title=item["title"], text=item["text"],
                          source=item["source"], published=when)
            await ingest_entries(store, [entry], url=item["url"], now=when)
        stored = {i.url: i for i in await store.items()}
        out = {}
        for item in items:
            row = stored.get(item["url"])
            if row is None:           # a canonical URL differing from the labelled one
                row = next(v for k, v in stored.items() if k.startswith(item["url"][:40]))
            out[item["id"]] = (str(row.case_id) if row.case_id else None, row.duplicate_of)
        return out
    finally:
        await store.close()


def evaluate(items: list[dict[str, Any]], tracks: list[dict[str, Any]]) -> Report:
    report = Report()
    matcher = build_matcher()
    analyses = {i["id"]: analyze(i["title"], i["text"], matcher) for i in items}

    tp = sum(1 for i in items if i["relevant"] and analyses[i["id"]].relevant)
    fp = [i for i in items if not i["relevant"] and analyses[i["id"]].relevant]
    fn = [i for i in items if i["relevant"] and not analyses[i["id"]].relevant]
    report.figures["detection precision"] = _ratio(tp, tp + len(fp))
    report.figures["detection recall"] = _ratio(tp, tp + len(fn))
    report.counts["detection precision"] = f"{tp}/{tp + len(fp)}"
    report.counts["detection recall"] = f"{tp}/{tp + len(fn)}"
    report.errors += [f"FP {i['id']}: {i['title']!r} ({analyses[i['id']].reason}; "
                      f"persons {[p.display for p in analyses[i['id']].persons]})" for i in fp]
    report.errors += [f"FN {i['id']}: {i['title']!r} ({analyses[i['id']].reason})" for i in fn]

    urgent = [i for i in items if i["urgent"]]
    hit = [i for i in urgent if analyses[i["id"]].relevant and analyses[i["id"]].urgent]
    report.figures["urgent recall"] = _ratio(len(hit), len(urgent))
    report.counts["urgent recall"] = f"{len(hit)}/{len(urgent)}"
    report.errors += [f"URGENT missed {i['id']}: {i['title']!r} (stage "
                      f"{analyses[i['id']].stage}, want {i['stage']})"
                      for i in urgent if i not in hit]
    flagged = [i for i in items if analyses[i["id"]].relevant and analyses[i["id"]].urgent]
    right = [i for i in flagged if i["urgent"]]
    report.figures["urgent precision"] = _ratio(len(right), len(flagged))
    report.counts["urgent precision"] = f"{len(right)}/{len(flagged)}"

    both = [i for i in items if i["relevant"] and analyses[i["id"]].relevant]
    for name, key in (("kind accuracy", "kind"), ("stage accuracy", "stage")):
        good = [i for i in both if (getattr(analyses[i["id"]], key) or None) == i[key]
                or (getattr(analyses[i["id"]], key) is not None
                    and getattr(analyses[i["id"]], key).value == i[key])]
        report.figures[name] = _ratio(len(good), len(both))
        report.counts[name] = f"{len(good)}/{len(both)}"
        report.errors += [f"{key.upper()} {i['id']}: got {getattr(analyses[i['id']], key)} "
                          f"want {i[key]} — {i['title']!r}" for i in both if i not in good]
    with_countries = [i for i in both if i["countries"]]
    good_c = [i for i in with_countries
              if set(analyses[i["id"]].countries) == set(i["countries"])]
    report.figures["countries (set) accuracy"] = _ratio(len(good_c), len(with_countries))
    report.counts["countries (set) accuracy"] = f"{len(good_c)}/{len(with_countries)}"

    predicted = asyncio.run(_cluster(items))
    by_url = {i["url"]: i["id"] for i in items}
    gold_pairs = {frozenset((a["id"], b["id"])) for a, b in combinations(items, 2)
                  if a["case"] and a["case"] == b["case"]}
    pred_pairs = {frozenset((a["id"], b["id"])) for a, b in combinations(items, 2)
                  if predicted[a["id"]][0] and predicted[a["id"]][0] == predicted[b["id"]][0]}
    good_pairs = gold_pairs & pred_pairs
    p = _ratio(len(good_pairs), len(pred_pairs))
    r = _ratio(len(good_pairs), len(gold_pairs))
    report.figures["clustering precision"] = p
    report.figures["clustering recall"] = r
    report.figures["clustering F1"] = 2 * p * r / (p + r) if p + r else 0.0
    report.counts["clustering precision"] = f"{len(good_pairs)}/{len(pred_pairs)} pairs"
    report.counts["clustering recall"] = f"{len(good_pairs)}/{len(gold_pairs)} pairs"
    for pair in sorted(pred_pairs - gold_pairs, key=sorted)[:20]:
        report.errors.append(f"MERGED wrongly: {sorted(pair)}")
    for pair in sorted(gold_pairs - pred_pairs, key=sorted)[:20]:
        report.errors.append(f"SPLIT wrongly: {sorted(pair)}")

    gold_dup = {i["id"]: i["duplicate_of"] for i in items if i["duplicate_of"]}
    pred_dup = {i["id"]: by_url.get(predicted[i["id"]][1] or "", predicted[i["id"]][1])
                for i in items if predicted[i["id"]][1]}
    right_dup = [k for k, v in pred_dup.items() if gold_dup.get(k) == v]
    report.figures["duplicate precision"] = _ratio(len(right_dup), len(pred_dup))
    report.figures["duplicate recall"] = _ratio(len(right_dup), len(gold_dup))
    report.counts["duplicate precision"] = f"{len(right_dup)}/{len(pred_dup)}"
    report.counts["duplicate recall"] = f"{len(right_dup)}/{len(gold_dup)}"
    report.errors += [f"DUP missed {k} (of {v})" for k, v in gold_dup.items()
                      if pred_dup.get(k) != v]
    report.errors += [f"DUP wrong {k} → {v}" for k, v in pred_dup.items()
                      if gold_dup.get(k) != v]

    t_tp = t_fp = t_fn = 0
    for track in tracks:
        query = parse_query(track["query"])
        got = {i["id"] for i in items if mentions(query, f"{i['title']}\n{i['text']}")}
        want = set(track["matches"])
        t_tp += len(got & want)
        t_fp += len(got - want)
        t_fn += len(want - got)
        report.errors += [f"TRACK {track['query']!r} wrongly matches {x}" for x in got - want]
        report.errors += [f"TRACK {track['query']!r} misses {x}" for x in want - got]
    report.figures["track precision"] = _ratio(t_tp, t_tp + t_fp)
    report.figures["track recall"] = _ratio(t_tp, t_tp + t_fn)
    report.counts["track precision"] = f"{t_tp}/{t_tp + t_fp}"
    report.counts["track recall"] = f"{t_tp}/{t_tp + t_fn}"
    return report


def main() -> None:
    folder = (HOLDOUT if "--holdout" in sys.argv else
              QUALITY.with_name("quality_dev2") if "--dev2" in sys.argv else
              QUALITY.with_name("quality_dev3") if "--dev3" in sys.argv else QUALITY)
    if not (folder / "items.jsonl").exists():
        print(f"no labelled set at {folder}")
        return
    items, tracks = load(folder)
    print(f"set: {folder.name}")
    report = evaluate(items, tracks)
    relevant = sum(1 for i in items if i["relevant"])
    print(f"labelled set: {len(items)} items ({relevant} relevant, "
          f"{len({i['case'] for i in items if i['case']})} cases), {len(tracks)} tracks")
    print(report.table())
    if "--errors" in sys.argv:
        print("\n".join(report.errors))


if __name__ == "__main__":
    main()

"""Person-name recognition on real Russian news: factRuEval-2016 (../shared/corpora).

For every document, the gold persons are the Person mentions that have a surname
span; a prediction is every person ``extract_persons`` finds in any sentence (the
speaker/official filter off: this measures recognising names, not judging risk).
Documents are compared as sets of surname keys (``feeds.names.surname_key``), so an
inflected mention counts when its key is right. Prints precision, recall and speed.

Usage: .venv/bin/python bench/names.py [devset|testset] [--errors]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feeds.match import build_matcher, extract_persons, read_sentence
from feeds.names import surname_key
from feeds.text import sentences

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "factRuEval-2016"


def gold_surnames(stem: Path) -> set[str]:
    spans: dict[str, tuple[str, int, int]] = {}
    for line in stem.with_suffix(".spans").read_text(encoding="utf-8").splitlines():
        fields = line.split("#")[0].split()
        if len(fields) >= 4:
            spans[fields[0]] = (fields[1], int(fields[2]), int(fields[3]))
    text = stem.with_suffix(".txt").read_text(encoding="utf-8")
    keys = set()
    for line in stem.with_suffix(".objects").read_text(encoding="utf-8").splitlines():
        fields = line.split("#")[0].split()
        if len(fields) < 3 or fields[1] != "Person":
            continue
        for span_id in fields[2:]:
            kind, start, length = spans.get(span_id, ("", 0, 0))
            if kind == "surname":
                keys.add(surname_key(text[start:start + length]))
    return keys


def evaluate(folder: Path, show_errors: bool = False) -> tuple[float, float, int, float]:
    matcher = build_matcher()
    tp = fp = fn = 0
    docs = sorted(d for d in folder.glob("*.txt") if d.with_suffix(".spans").exists())
    started = time.perf_counter()
    for doc in docs:
        gold = gold_surnames(doc.with_suffix(""))
        text = doc.read_text(encoding="utf-8")
        found = {p.key for s in sentences(text)
                 for p in extract_persons(read_sentence(s, matcher), matcher,
                                          at_risk_only=False) if not p.key.startswith("~")}
        tp += len(found & gold)
        fp += len(found - gold)
        fn += len(gold - found)
        if show_errors and (found ^ gold):
            print(f"{doc.name}: missed {sorted(gold - found)} extra {sorted(found - gold)}")
    seconds = time.perf_counter() - started
    return tp / max(1, tp + fp), tp / max(1, tp + fn), len(docs), seconds


def main() -> None:
    part = next((a for a in sys.argv[1:] if not a.startswith("-")), "devset")
    folder = CORPUS / part
    if not folder.is_dir():
        print(f"factRuEval-2016 not found at {folder}; nothing to measure")
        return
    precision, recall, docs, seconds = evaluate(folder, "--errors" in sys.argv)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"factRuEval-2016 {part}: {docs} documents, person surnames (document level)")
    print(f"precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  "
          f"({docs / seconds:.0f} documents/s)")


if __name__ == "__main__":
    main()

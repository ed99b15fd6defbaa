"""Every decision of a seeded corpus of random fact sets, to compare two builds (issue 10).

Usage: python bench/rules_corpus.py write FILE [PER_DOCUMENT] [SEED]
       python bench/rules_corpus.py compare FILE
`write` evaluates PER_DOCUMENT (default 3,000) random fact sets under every built-in document
(version 2, through `rules.evaluate`) and every archived version-1 document (through
`rules.evaluate_ruleset`), each with a random `as_of`, and writes one line per evaluation: the
input and the decision's JSON, or the refusal's pointers and messages. `compare` evaluates the
inputs of FILE again (each with the engine run afresh, the memo of matches forgotten) and
reports every line whose answer differs. A speed change must leave the answers byte for byte
as they were: write FILE with the old code, compare with the new.

The fact sets are drawn from each policy's fact Struct: any field may be given or left out, and
dates fall around `as_of`, so some sets are refused (a fact from the future, an appeal without
an outcome...), which is compared too.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rules  # noqa: E402
from rules import engine  # noqa: E402
from rules.policies import DOCUMENTS, EARLIER  # noqa: E402
from rules.registry import fact_schema  # noqa: E402
from rules.validation import _shape, _struct_fields  # noqa: E402

OFFSETS = ["Z", "+00:00", "+01:00", "-05:00", "-04:00", "+05:30"]
WORDS = ["cw-1", "cw-2", "tl-9", "Ann", "wgm", "area", "head"]


def _date_text(rng: random.Random, as_of: datetime, kind: Any) -> str:
    # Mostly before as_of (a little after it now and then), within about a year.
    moment = as_of - timedelta(minutes=rng.randrange(-3 * 24 * 60, 400 * 24 * 60))
    if kind.date_only or (not kind.datetime_only and rng.random() < 0.5):
        return moment.date().isoformat()
    offset = rng.choice(OFFSETS)
    if offset in ("Z", "+00:00"):
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + offset
    sign = 1 if offset[0] == "+" else -1
    shift = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])) * sign
    return (moment + shift).strftime("%Y-%m-%dT%H:%M:%S") + offset


def _value(rng: random.Random, shape: Any, as_of: datetime, acts: list[str]) -> Any:
    how, what = shape
    if how == "plain":
        bare, _ = what
        if bare is bool:
            return rng.random() < 0.5
        if bare is int:
            return rng.randrange(0, 5)
        return rng.choice(WORDS)
    if how == "choice":
        return rng.choice(what)
    if how == "date":
        return _date_text(rng, as_of, what)
    if how == "struct":
        return _struct(rng, what, as_of, acts)
    if how == "list":
        return [_value(rng, what, as_of, acts) for _ in range(rng.randrange(0, 4))]
    if how == "dict":
        # `acts`: some of the document's deadline names (obligations or not), each dated.
        chosen = rng.sample(acts, rng.randrange(0, len(acts) + 1)) if acts else []
        return {name: _value(rng, what, as_of, acts) for name in chosen}
    return rng.randrange(0, 5)  # "convert": the constrained integers


def _struct(rng: random.Random, cls: type, as_of: datetime, acts: list[str]) -> dict:
    facts = {}
    for name, (hint, required) in _struct_fields(cls).items():
        if rng.random() < (0.98 if required else 0.4):
            facts[name] = _value(rng, _shape(hint), as_of, acts)
    return facts


def _cases(per_document: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    documents = [("current", p, d) for p, d in DOCUMENTS.items()]
    documents += [("version-1", p, d) for p, ds in EARLIER.items() for d in ds]
    cases = []
    for which, policy, document in documents:
        cls, _ = fact_schema(document["facts"])
        acts = sorted(document.get("deadlines", {}))
        for _ in range(per_document):
            as_of = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
                seconds=rng.randrange(0, 600 * 24 * 3600)
            )
            facts = _struct(rng, cls, as_of, acts)
            cases.append(
                {"document": which, "policy": policy, "facts": facts, "as_of": _stamp(as_of)}
            )
    return cases


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def answer(case: dict) -> str:
    """The decision's JSON, or the refusal's pointers and messages, as one string."""
    try:
        if case["document"] == "current":
            decision = rules.evaluate(case["policy"], case["facts"], case["as_of"])
        else:
            (document,) = EARLIER[case["policy"]]
            decision = rules.evaluate_ruleset(document, case["facts"], case["as_of"])
    except rules.InputError as refusal:
        return json.dumps({"refused": [[e.pointer, e.message] for e in refusal.errors]})
    return msgspec.json.encode(decision).decode()


def write(path: str, per_document: int, seed: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for case in _cases(per_document, seed):
            engine.forget()
            out.write(json.dumps({**case, "answer": answer(case)}) + "\n")


def compare(path: str) -> int:
    differences = total = refused = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            case = json.loads(line)
            engine.forget()
            got = answer(case)
            total += 1
            refused += got.startswith('{"refused"')
            if got != case["answer"]:
                differences += 1
                if differences <= 5:
                    print(f"DIFFERS: {case['policy']} {case['facts']} {case['as_of']}")
                    print(f"  was {case['answer']}\n  now {got}")
    print(f"{total} evaluations ({refused} refused): {differences} differ")
    return 1 if differences else 0


def main() -> None:
    command, path, *rest = sys.argv[1:]
    if command == "write":
        write(path, int(rest[0]) if rest else 3000, int(rest[1]) if len(rest) > 1 else 10)
    elif command == "compare":
        sys.exit(compare(path))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

"""The seed clauses the rules cite, found by their citation (`WME 4.2`, `DWP steps 14, 16`,
`Serco clients 9, SP 5`, `CMG assurance note`…), from the seed texts kept in the repository
(`vendor/seeds/*.txt`), never from outside it.

Each seed is cut into labelled blocks by its own numbering; a citation names one document by its
first word and then one or more comma-separated places in it, where a number range (`1–11`)
stands for each number in it and a place without its own word (`13` in `steps 13, 16`, `5` in
`clients 9, SP 5`) inherits the word before it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1] / "vendor" / "seeds"
FILES = {
    "WME": "wme-complaints-policy.txt",
    "DWP": "dwp-complaints-feedback-process.txt",
    "CMG": "cmg-employer-review-payment-complaint.txt",
    "Serco": "serco-employment-services-dispute-resolution.txt",
}
RANGE = re.compile(r"^(\d+)\s*[–-]\s*(\d+)$")


def _blocks(lines: list[str], start: re.Pattern[str], stop: re.Pattern[str]) -> dict[str, str]:
    """Blocks that begin at a line matching `start` (its group 1 names it) and run until the
    next such line or a line matching `stop`."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        match = start.match(line)
        if match:
            current = found.setdefault(match.group(1), [])
        elif stop.match(line):
            current = None
        if current is not None:
            current.append(line)
    return {key: _tidy(text) for key, text in found.items()}


def _between(lines: list[str], first: str, last: str | None) -> str:
    """The text from the line starting `first` up to (not including) the one starting `last`."""
    begin = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = len(lines)
    if last is not None:
        end = next(
            i for i, line in enumerate(lines[begin + 1 :], begin + 1) if line.startswith(last)
        )
    return _tidy(lines[begin:end])


def _tidy(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _wme(lines: list[str]) -> dict[str, str]:
    clauses = _blocks(
        lines, re.compile(r"^(\d+\.\d+) "), re.compile(r"^(\d+\. |Stage \d:|Updated)")
    )
    stages = _blocks(lines, re.compile(r"^(Stage \d):"), re.compile(r"^(\d+\. |\d+\.\d+ )"))
    clauses |= {f"3 {name}": text for name, text in stages.items()}
    sections = _blocks(lines, re.compile(r"^(\d+)\. "), re.compile(r"^Updated"))
    return clauses | sections


def _dwp(lines: list[str]) -> dict[str, str]:
    steps = _blocks(lines, re.compile(r"^- (\d+)\. "), re.compile(r"^#"))
    clauses = {f"step {n}": text for n, text in steps.items()}
    # "DWP intro": the process's opening words, before the team leaders' steps.
    clauses["intro"] = _between(lines, "## Complaints Feedback Process", "#### Action for all")
    return clauses


def _cmg(lines: list[str]) -> dict[str, str]:
    steps = _blocks(lines, re.compile(r"^(\d+)\.\s"), re.compile(r"^(#|Managers will)"))
    clauses = {f"step {n}": text for n, text in steps.items()}
    clauses["intro"] = _between(lines, "## Employer - Review", "### Complaints review")
    clauses["reimburse"] = _between(lines, "### Reimburse", "### Create resolution plan")
    clauses["assurance note"] = _between(lines, "Managers will", "For further information")
    clauses["final note"] = _between(lines, "#### [Will the employer", None)
    return clauses


def _serco(lines: list[str]) -> dict[str, str]:
    clients_at = lines.index("Clients")
    providers_at = lines.index("Service Providers")
    clauses = {"overview": _tidy(lines[:clients_at])}
    numbered = re.compile(r"^\s+(\d+)\. ")
    never = re.compile(r"^$^")
    for word, part in (
        ("clients", lines[clients_at:providers_at]),
        ("SP", lines[providers_at:]),
    ):
        items = _blocks(part, numbered, never)
        clauses |= {f"{word} {n}": text for n, text in items.items()}
        first = next(i for i, line in enumerate(part) if numbered.match(line))
        clauses[f"{word} intro"] = _tidy(part[:first])
    return clauses


PARSERS = {"WME": _wme, "DWP": _dwp, "CMG": _cmg, "Serco": _serco}


@cache
def clause_index() -> dict[str, dict[str, str]]:
    """Per document (`WME`, `DWP`, `CMG`, `Serco`), each clause's text by its place."""
    index = {}
    for document, filename in FILES.items():
        lines = (SEEDS / filename).read_text(encoding="utf-8").splitlines()
        index[document] = PARSERS[document](lines)
    return index


def places(citation: str) -> tuple[str, list[str]]:
    """The document a citation names and each place in it: `Serco clients 9, SP 5` →
    (`Serco`, [`clients 9`, `SP 5`]); `DWP steps 10, 12` → (`DWP`, [`step 10`, `step 12`])."""
    document, _, rest = citation.partition(" ")
    found: list[str] = []
    word = ""
    for part in (p.strip() for p in rest.split(",")):
        head, _, tail = part.rpartition(" ")
        if head:
            word = {"steps": "step"}.get(head, head)
        number = tail if head else part
        if not head and (document == "WME" or not re.match(r"^\d", part)):
            # WME numbers its clauses whole ("4.3"); a word alone ("intro") is its own place.
            word, number = "", part
        match = RANGE.match(number)
        numbers = (
            [str(n) for n in range(int(match.group(1)), int(match.group(2)) + 1)]
            if match
            else [number]
        )
        found.extend(f"{word} {n}".strip() for n in numbers)
    return document, found


def clause_texts(citation: str) -> list[tuple[str, str]]:
    """Each clause a citation names, as (its label, its text from the seed); a place the seed
    does not have gives no entry. WME `3` is the whole of section 3."""
    document, names = places(citation)
    found = []
    for place in names:
        text = clause_index().get(document, {}).get(place)
        if text:
            found.append((f"{document} {place}", text))
    return found

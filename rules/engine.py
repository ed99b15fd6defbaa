"""The durable_rules engine, used the way FIELD-NOTES found safe, and cheaply (issue 10).

The engine is durable_rules' C engine (`durable_rules_engine`, shipped with durable_rules
2.0.28 and wrapped by its `durable.engine.Host`). Our rules have no actions: all a decision
needs is which rules match. So we make the engine calls the Host makes for `assert_fact`
(`create_ruleset`, `assert_fact`, `start_action_for_state`, `complete_and_start_action`) and
read each matched rule's name off the action the engine hands out, without the Host's Python
action machinery: for every fired rule it builds a closure, runs the action, writes the whole
session state back as JSON and parses the next action (most of an evaluation's time, measured
with bench/rules_latency.py --profile); its timer threads go too. Which rules match is the
engine's answer either way: tests/test_engine.py checks ours against the Host's.

- Every engine call behind one lock (the C code is not thread-safe and never releases the GIL,
  so the lock costs nothing).
- Each ruleset created once under a name that carries its version.
- One session per ruleset, empty between evaluations: each asserts its message as a fact and
  retracts it once the matches are read; on any failure the session is deleted and the next
  evaluation opens a new one (at most 1,024 live sessions per ruleset; this keeps one).
- Which rules match is a pure function of the ruleset and the message, and messages hold only
  the booleans and enum values the conditions test (a small, finite set per ruleset): on top of
  the engine, its answer for a message is remembered (bounded LRU), so a message seen before
  costs no engine call (`remember=False`, or `forget()`, runs the engine every time).
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

import durable_rules_engine
import msgspec

# Every message carries this field and every ruleset has a rule that matches it, so no
# evaluation goes unmatched: after a MessageNotHandledException, deleting the session has
# segfaulted (measured here under pytest), and the state still had to be cleaned up.
_SENTINEL_FIELD = "redress_evaluation"
_SENTINEL_RULE = "redress:evaluated"

# `assert_fact` and `retract_fact` answer (code, state handle); code 0 is "handled", anything
# else (no rule matched, fact already in the session, queued) cannot happen to an empty session
# with the sentinel rule.
_HANDLED = 0

# An action as the engine hands it out, `{"<rule name>": {"m": <the message>}}`: only the name
# is needed, so the message is left unparsed.
_action_names = msgspec.json.Decoder(dict[str, msgspec.Raw])


class EngineError(RuntimeError):
    """The engine failed (an unexpected answer, or the engine state was not as expected)."""


def ruleset_name(policy_id: str, version: str) -> str:
    """The engine name of one version of a policy's ruleset."""
    return f"{policy_id}@{version.removeprefix('sha256:')}"


def engine_definition(rules: list[Mapping]) -> dict:
    """The durable_rules JSON definition of a document's rules, each rule under its id.

    A sentinel rule that matches every message is added (see `_SENTINEL_RULE`).
    """
    definition = {rule["id"]: {"all": [copy.deepcopy(rule["when"])]} for rule in rules}
    if _SENTINEL_RULE in definition:
        raise EngineError(f"rule id {_SENTINEL_RULE} is reserved")
    definition[_SENTINEL_RULE] = {"all": [{"m": {_SENTINEL_FIELD: True}}]}
    return definition


class _Ruleset:
    """One ruleset created in the engine, and the session its evaluations take turns in.

    The caller holds `_lock` around every method.
    """

    def __init__(self, name: str, rules: list[Mapping]) -> None:
        self.name = name
        self.handle = durable_rules_engine.create_ruleset(
            name, json.dumps(engine_definition(rules), ensure_ascii=False)
        )
        # An empty session between evaluations: each asserts its message, reads the matches and
        # retracts it again, which costs about half as much as opening and deleting a session
        # (measured: 9 µs against 17 µs on a WME message). None: open a new one.
        self.sid: str | None = None

    def fired(self, message: Mapping[str, object]) -> frozenset[str]:
        """The rules that match `message`, asserted as a fact and retracted again.

        On any failure the session is deleted, so the next evaluation starts a fresh one.
        """
        if self.sid is None:
            self.sid = f"e{next(_session_ids)}"
        sid = self.sid
        fact = msgspec.json.encode({**message, _SENTINEL_FIELD: True, "sid": sid}).decode()
        try:
            fired = self._assert(fact)
            self._retract(fact)
        except BaseException:
            self.sid = None
            durable_rules_engine.delete_state(self.handle, sid)
            raise
        if _SENTINEL_RULE not in fired:
            raise EngineError("the engine lost an action: the sentinel rule did not fire")
        return frozenset(fired) - {_SENTINEL_RULE}

    def _assert(self, fact: str) -> list[str]:
        """Assert `fact`; the names of the rules it fired, taken off the engine's actions."""
        code, state = durable_rules_engine.assert_fact(self.handle, fact)
        if code != _HANDLED:
            raise EngineError(f"the engine did not handle the message (code {code})")
        fired: list[str] = []
        started = durable_rules_engine.start_action_for_state(self.handle, state)
        action = started[1] if started else None
        try:
            while action:
                fired.extend(_action_names.decode(action))
                action = durable_rules_engine.complete_and_start_action(self.handle, state)
        except BaseException:
            durable_rules_engine.abandon_action(self.handle, state)
            raise
        return fired

    def _retract(self, fact: str) -> None:
        """Retract `fact`, leaving the session empty: no fact in it and no action pending."""
        code, state = durable_rules_engine.retract_fact(self.handle, fact)
        if code != _HANDLED or durable_rules_engine.start_action_for_state(self.handle, state):
            raise EngineError(f"the engine did not retract the message cleanly (code {code})")


_lock = threading.Lock()
_rulesets: dict[str, _Ruleset] = {}
_session_ids = itertools.count(1)


def _ruleset(name: str, rules: list[Mapping]) -> _Ruleset:
    """The engine's ruleset called `name`, created from `rules` on first use. Holds `_lock`."""
    found = _rulesets.get(name)
    if found is None:
        found = _rulesets[name] = _Ruleset(name, rules)
    return found


def register(name: str, rules: list[Mapping]) -> None:
    """Create a ruleset in the engine ahead of its first use (start-up), once."""
    with _lock:
        _ruleset(name, rules)


# (ruleset name, message items) → fired rule ids; guarded by `_lock`.
_REMEMBERED = 4096
_remembered: OrderedDict[tuple, frozenset[str]] = OrderedDict()


def fired_rules(
    name: str, rules: list[Mapping], message: Mapping[str, object], remember: bool = True
) -> frozenset[str]:
    """The ids of the rules whose conditions match `message` (a flat dict of derived values).

    With `remember`, the engine's answer for the same ruleset and message is reused.
    """
    if not remember:
        with _lock:
            return _match(name, rules, message)
    # A frozenset: the message's order does not matter, and the set keeps its hash, which the
    # lookup and the insertion both need (a sorted tuple cost a decision 3 µs more).
    key = (name, frozenset(message.items()))
    with _lock:
        found = _remembered.get(key)
        if found is not None:
            _remembered.move_to_end(key)
            return found
        fired = _remembered[key] = _match(name, rules, message)
        if len(_remembered) > _REMEMBERED:
            _remembered.popitem(last=False)
        return fired


# What layers above remember of the engine's answers, dropped with them (`on_forget`).
_forgetting: list[Callable[[], None]] = []


def on_forget(clear: Callable[[], None]) -> None:
    """Have `forget()` call `clear` too: a layer that remembers what it made of the engine's
    answers (`rules.ruleset`'s decided conclusions) forgets it with them, so that after
    `forget()` the next evaluations still each go to the engine."""
    _forgetting.append(clear)


def forget() -> None:
    """Drop every remembered answer: the next evaluations each go to the engine."""
    with _lock:
        _remembered.clear()
    for clear in _forgetting:
        clear()


def remembered() -> int:
    """How many (ruleset, message) answers are remembered (at most 4,096)."""
    return len(_remembered)


def _match(name: str, rules: list[Mapping], message: Mapping[str, object]) -> frozenset[str]:
    """The rules of `name` the engine matches `message` with. The caller holds `_lock`."""
    return _ruleset(name, rules).fired(message)

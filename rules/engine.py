"""The durable_rules engine, used the way FIELD-NOTES found safe.

- One host, a subclass whose `_run` starts no timer threads (they steal queued actions and
  crash with several calling threads).
- Every engine call behind one lock (the C code is not thread-safe and never releases the GIL,
  so the lock costs nothing).
- Each ruleset registered once under a name that carries its version.
- Each evaluation in its own throwaway session, deleted in a `finally` (at most 1,024 live
  sessions per ruleset).
- Every rule's action only records that it fired (`assert_fact` fires every matching rule);
  an exception swallowed by the engine is checked for in `state["exception"]`.
- Which rules match is a pure function of the ruleset and the message, and messages hold only
  the booleans and enum values the conditions test (a small, finite set per ruleset): the
  engine's answer for a message is remembered (bounded LRU), so a message seen before costs no
  session and no action round trips (issue 10). Every answer still comes from durable_rules.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

from durable import engine as durable_engine

_RECORD_PREFIX = "record:"
_FIRED_PREFIX = "fired:"
# Every message carries this field and every ruleset has a rule that matches it, so no
# evaluation goes unmatched: after a MessageNotHandledException, deleting the session has
# segfaulted (measured here under pytest), and the state still had to be cleaned up.
_SENTINEL_FIELD = "redress_evaluation"
_SENTINEL_RULE = "redress:evaluated"


class EngineError(RuntimeError):
    """The engine failed (an action raised, or the engine state was not as expected)."""


class QuietHost(durable_engine.Host):
    """A durable_rules host without background dispatch threads.

    Nothing here uses timers or queued events, so the dispatch loop `_run` would only compete
    with the calling thread for actions.
    """

    def _run(self) -> None:
        return None

    def get_action(self, action_name: str) -> Callable[[object], None]:
        if not action_name.startswith(_RECORD_PREFIX):
            raise EngineError(f"unknown action {action_name!r}")
        return _recorder(action_name[len(_RECORD_PREFIX) :])


def _recorder(rule_id: str) -> Callable[[object], None]:
    key = _FIRED_PREFIX + rule_id

    def record(c: object) -> None:
        c.s[key] = True  # type: ignore[attr-defined]

    return record


_lock = threading.Lock()
_host: QuietHost | None = None
_registered: set[str] = set()
_session_ids = itertools.count(1)


def ruleset_name(policy_id: str, version: str) -> str:
    """The engine name of one version of a policy's ruleset."""
    return f"{policy_id}@{version.removeprefix('sha256:')}"


def engine_definition(rules: list[Mapping]) -> dict:
    """The durable_rules JSON definition of a document's rules: each rule records its id.

    A sentinel rule that matches every message is added (see `_SENTINEL_RULE`).
    """
    definition = {
        rule["id"]: {"all": [copy.deepcopy(rule["when"])], "run": _RECORD_PREFIX + rule["id"]}
        for rule in rules
    }
    if _SENTINEL_RULE in definition:
        raise EngineError(f"rule id {_SENTINEL_RULE} is reserved")
    definition[_SENTINEL_RULE] = {
        "all": [{"m": {_SENTINEL_FIELD: True}}],
        "run": _RECORD_PREFIX + _SENTINEL_RULE,
    }
    return definition


def _ensure_registered(host: QuietHost, name: str, rules: list[Mapping]) -> None:
    if name not in _registered:
        # The engine deletes "run" from the definition it is given: hand it a copy.
        host.register_rulesets({name: engine_definition(rules)})
        _registered.add(name)


def _get_host() -> QuietHost:
    global _host
    if _host is None:
        _host = QuietHost()
    return _host


def register(name: str, rules: list[Mapping]) -> None:
    """Register a ruleset ahead of its first use (start-up), once."""
    with _lock:
        _ensure_registered(_get_host(), name, rules)


# (ruleset name, message items) → fired rule ids; guarded by `_lock`.
_REMEMBERED = 4096
_remembered: OrderedDict[tuple, frozenset[str]] = OrderedDict()


def fired_rules(
    name: str, rules: list[Mapping], message: Mapping[str, object], remember: bool = True
) -> frozenset[str]:
    """The ids of the rules whose conditions match `message` (a flat dict of derived values).

    With `remember`, the engine's answer for the same ruleset and message is reused.
    """
    key = (name, tuple(sorted(message.items())))
    with _lock:
        if remember:
            found = _remembered.get(key)
            if found is not None:
                _remembered.move_to_end(key)
                return found
        fired = _match(name, rules, message)
        if remember:
            _remembered[key] = fired
            if len(_remembered) > _REMEMBERED:
                _remembered.popitem(last=False)
        return fired


def forget() -> None:
    """Drop every remembered answer: the next evaluations each run a durable_rules session."""
    with _lock:
        _remembered.clear()


def remembered() -> int:
    """How many (ruleset, message) answers are remembered (at most 4,096)."""
    return len(_remembered)


def _match(name: str, rules: list[Mapping], message: Mapping[str, object]) -> frozenset[str]:
    """One durable_rules session: assert the message, collect the fired rules, delete it.

    The caller holds `_lock`.
    """
    host = _get_host()
    _ensure_registered(host, name, rules)
    sid = f"e{next(_session_ids)}"
    try:
        state = host.assert_fact(name, {**message, _SENTINEL_FIELD: True, "sid": sid})
        if not isinstance(state, dict):
            raise EngineError(f"engine returned {type(state).__name__}, not a state")
        if state.get("exception"):
            raise EngineError(f"a rule action failed: {state['exception']}")
        fired = {key[len(_FIRED_PREFIX) :] for key in state if key.startswith(_FIRED_PREFIX)}
        if _SENTINEL_RULE not in fired:
            raise EngineError("the engine lost an action: the sentinel rule did not fire")
        return frozenset(fired - {_SENTINEL_RULE})
    finally:
        host.delete_state(name, sid)

"""The JSON log line: what `json.dumps` of the entry writes, time included, however it is made."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.logs import json_line, time_text

EDGES = [0.0, 1.0, 1.5, 1e9 + 0.9999995, 1e9 + 0.0000005, 1e9 + 0.0000015, 1733456789.1234565]


@pytest.mark.parametrize("created", EDGES)
def test_time_text_is_fromtimestamps_isoformat_at_rounding_edges(created):
    assert time_text(created) == datetime.fromtimestamp(created, UTC).isoformat()


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_time_text_is_fromtimestamps_isoformat(created):
    assert time_text(created) == datetime.fromtimestamp(created, UTC).isoformat()


def test_time_text_follows_the_clock_from_one_second_to_the_next():
    for created in (1e9 + 0.25, 1e9 + 1.25, 1e9 + 0.5, 2e9):  # back and forth
        assert time_text(created) == datetime.fromtimestamp(created, UTC).isoformat()


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)


@given(
    st.floats(min_value=1.6e9, max_value=1.9e9),
    st.dictionaries(st.text(max_size=10), VALUES, max_size=6),
)
def test_a_line_is_what_json_dumps_writes(created, fields):
    entry = {"time": datetime.fromtimestamp(created, UTC).isoformat()}
    entry |= {"level": "info", "logger": "redress.api", "message": "request", **fields}
    assert json_line(created, "info", "redress.api", "request", fields) == json.dumps(
        entry, default=str
    )

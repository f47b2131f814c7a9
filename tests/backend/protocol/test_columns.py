"""Columnar batches: exact round trips, and every malformed column set refused with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backend.protocol.columns import (
    NULL_TS,
    ColumnError,
    decode_columns,
    encode_columns,
    from_wire_times,
    to_micros,
    wire_times,
)
from backend.protocol.envelope import pack, unpack
from backend.protocol.state import apply_changes
from backend.service.entities import wire_time

SPEC = {"id": "i8", "ts": "ts", "value": "f8"}


def _cols(n: int = 3) -> dict[str, object]:
    return encode_columns(
        {
            "id": ("i8", np.arange(n) + 2**40),
            "ts": ("ts", np.arange(n) * 1_000_001),
            "value": ("f8", np.linspace(-1.5, 1e300, n)),
        }
    )


def test_round_trip_is_exact_through_the_wire_codec() -> None:
    n, cols = decode_columns(unpack(pack(_cols())), SPEC)
    assert n == 3
    assert cols["id"].tolist() == [2**40, 2**40 + 1, 2**40 + 2]
    assert cols["value"].tolist() == np.linspace(-1.5, 1e300, 3).tolist()
    assert cols["ts"].dtype == np.dtype("<i8")


def test_wire_times_match_the_entities_format_to_the_microsecond() -> None:
    stamps = [
        datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 3, 1, 8, 0, tzinfo=UTC) + timedelta(microseconds=1),
    ]
    micros = np.array([to_micros(t) for t in stamps])
    assert wire_times(micros) == [wire_time(t) for t in stamps]
    assert from_wire_times(wire_times(micros)).tolist() == micros.tolist()


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda c: c.update(n=0), "'n'"),
        (lambda c: c.update(n=True), "'n'"),
        (lambda c: c.update(cols=[]), "'cols'"),
        (lambda c: c["cols"].update(extra=["f8", ""]), "unknown column"),
        (lambda c: c["cols"].pop("value"), "missing column"),
        (lambda c: c["cols"].update(value=["i8", c["cols"]["value"][1]]), "must be ['f8'"),
        (lambda c: c["cols"].update(value=["f8", "***"]), "not valid base64"),
        (lambda c: c["cols"].update(value=["f8", 7]), "base64 text"),
        (lambda c: c.update(n=4), "bytes for 4 rows"),
    ],
)
def test_malformed_column_sets_are_refused_with_the_reason(mutate: object, reason: str) -> None:
    cols = _cols()
    mutate(cols)  # type: ignore[operator]
    with pytest.raises(ColumnError, match=reason.replace("[", r"\[")):
        decode_columns(cols, SPEC)


def test_a_patch_batch_applies_like_the_maps_it_stands_for() -> None:
    t = to_micros(datetime(2026, 3, 1, 8, tzinfo=UTC))
    body = {
        "patch_columns": encode_columns(
            {
                "id": ("i8", np.array([5, 6, 5])),
                "last_lon": ("f8", np.array([1.5, np.nan, 2.5])),
                "last_seen_at": ("ts", np.array([t, NULL_TS, t + 1])),
            }
        )
    }
    entities: dict[str, dict[str, object]] = {"crew/6": {"name": "B"}}
    assert apply_changes(entities, "crew/*", body) == ["crew/5", "crew/6", "crew/5"]
    assert entities == {
        "crew/5": {"last_lon": 2.5, "last_seen_at": "2026-03-01T08:00:00.000001Z"},
        "crew/6": {"name": "B", "last_lon": None, "last_seen_at": None},
    }
    # A malformed batch changes nothing at all.
    body["patch_columns"]["n"] = 2
    assert apply_changes(entities, "crew/*", body) == []

"""Batches of telemetry and crew positions as numpy columns, and their stored byte form.

High-rate feeds are stored a batch per row (see
:class:`~backend.db.models.AssetReadingBlock`): each column is a
little-endian array in a binary column. These classes are what the service
validates, stores and publishes; :func:`to_bytes` / :func:`array_of` are the
one place that decides the byte layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.protocol.columns import to_micros

I8 = np.dtype("<i8")
U2 = np.dtype("<u2")
F8 = np.dtype("<f8")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR_US = 3_600_000_000

Array = npt.NDArray[Any]


def to_bytes(array: Array, dtype: np.dtype[Any]) -> bytes:
    """An array as the stored bytes of ``dtype`` (little-endian)."""
    return np.ascontiguousarray(array, dtype=dtype).tobytes()


def array_of(data: bytes | memoryview, dtype: np.dtype[Any]) -> Array:
    """Stored bytes (SQLite gives ``bytes``, psycopg2 ``memoryview``) as a read-only array."""
    return np.frombuffer(data, dtype=dtype)


def micros_to_datetime(us: int) -> datetime:
    """Epoch microseconds → an aware UTC datetime (exact)."""
    return EPOCH + timedelta(microseconds=int(us))


def datetimes_to_micros(values: list[datetime]) -> Array:
    """Aware datetimes → int64 epoch microseconds (exact; a batch shares few distinct times)."""
    cache: dict[datetime, int] = {}
    out = np.empty(len(values), dtype=I8)
    for i, value in enumerate(values):
        us = cache.get(value)
        if us is None:
            us = cache[value] = to_micros(value)
        out[i] = us
    return out


def newest_rows(ts: Array, *keys: Array) -> Array:
    """Indexes of the newest row per key (equal times: the later row), sorted by key."""
    n = len(ts)
    order = np.lexsort((np.arange(n), ts, *reversed(keys)))
    last = np.ones(n, dtype=bool)
    if n > 1:
        differs = np.zeros(n - 1, dtype=bool)
        for key in keys:
            k = key[order]
            differs |= k[1:] != k[:-1]
        last[:-1] = differs
    return order[last]


@dataclass(frozen=True, slots=True)
class ReadingBatch:
    """Readings as columns: ``metric`` indexes ``metrics``; ``ts`` is epoch microseconds."""

    asset_id: Array  # int64
    metric: Array  # uint16 index into metrics
    metrics: tuple[str, ...]
    ts: Array  # int64 µs
    value: Array  # float64

    def __len__(self) -> int:
        return len(self.asset_id)

    @classmethod
    def from_lists(
        cls, asset_ids: list[int], metrics: list[str], stamps: list[datetime], values: list[float]
    ) -> ReadingBatch:
        """Parallel lists (already validated) → a batch."""
        names = tuple(dict.fromkeys(metrics))
        code = {name: i for i, name in enumerate(names)}
        return cls(
            asset_id=np.asarray(asset_ids, dtype=I8),
            metric=np.fromiter((code[m] for m in metrics), dtype=U2, count=len(metrics)),
            metrics=names,
            ts=datetimes_to_micros(stamps),
            value=np.asarray(values, dtype=F8),
        )

    def metric_names(self) -> list[str]:
        """Each row's metric name (a Python list; for small batches and tests)."""
        names = self.metrics
        return [names[i] for i in self.metric.tolist()]

    def rows(self) -> Iterator[tuple[int, str, int, float]]:
        """``(asset_id, metric name, ts µs, value)`` per row, as Python values."""
        names = self.metrics
        for aid, code, t, v in zip(
            self.asset_id.tolist(),
            self.metric.tolist(),
            self.ts.tolist(),
            self.value.tolist(),
            strict=True,
        ):
            yield aid, names[code], t, v

    def newest(self) -> ReadingBatch:
        """The newest reading per (asset, metric) of this batch; equal times go to the later row."""
        keep = newest_rows(self.ts, self.asset_id, self.metric)
        return ReadingBatch(
            self.asset_id[keep], self.metric[keep], self.metrics, self.ts[keep], self.value[keep]
        )


@dataclass(frozen=True, slots=True)
class PositionBatch:
    """Crew positions as columns; ``heading`` and ``speed_mps`` are NaN where unknown."""

    crew_id: Array  # int64
    ts: Array  # int64 µs
    lon: Array
    lat: Array
    heading: Array
    speed_mps: Array

    def __len__(self) -> int:
        return len(self.crew_id)

    def take(self, rows: Array) -> PositionBatch:
        """The rows at ``rows`` as a batch."""
        return PositionBatch(
            self.crew_id[rows],
            self.ts[rows],
            self.lon[rows],
            self.lat[rows],
            self.heading[rows],
            self.speed_mps[rows],
        )

    def newest(self) -> PositionBatch:
        """The newest position per crew (equal times: the later row), sorted by crew id."""
        return self.take(newest_rows(self.ts, self.crew_id))

"""Keeping the stored failure-risk scores fresh while the backend runs.

Light on purpose: the service imports this at start, so the model's heavy
libraries (pandas, lifelines) load only in the scoring child process.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from backend.db.models import AssetEvent, AssetRisk

log = logging.getLogger(__name__)


class RiskScoringSchedule:
    """Keeps the stored risk scores fresh: ``main.py risk score`` in a child process, daily.

    Fitting takes seconds to a minute of CPU; a child process (at lower
    priority) keeps that off the service's interpreter, so the live bus stays
    responsive. A run happens only when the newest score is older than
    ``period``, so a restarted backend does not refit needlessly. The database
    is the only thing the two share.
    """

    def __init__(
        self,
        engine: Engine,
        url: str,
        period: timedelta = timedelta(days=1),
        first_delay_s: float = 30.0,
    ) -> None:
        self.engine = engine
        self.url = url
        self.period = period
        self.first_delay_s = first_delay_s
        self.runs = 0
        self._stop = threading.Event()
        self._child: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._loop, name="risk-scoring", daemon=True)

    def start(self) -> RiskScoringSchedule:
        """Begin checking (the first check waits ``first_delay_s``)."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop checking and end a running scoring child."""
        self._stop.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def due(self, now: datetime | None = None) -> bool:
        """True when there is failure history and no score newer than ``period``."""
        now = now or datetime.now(UTC)
        with self.engine.connect() as conn:
            newest = conn.scalar(select(func.max(AssetRisk.scored_at)))
        if newest is not None and now - _aware(newest) < self.period:
            return False
        with self.engine.connect() as conn:
            return (
                conn.scalar(select(AssetEvent.id).where(AssetEvent.kind == "failure").limit(1))
                is not None
            )

    def _loop(self) -> None:
        wait = self.first_delay_s
        while not self._stop.wait(wait):
            wait = min(self.period.total_seconds(), 3600.0)
            try:
                if not self.due():
                    continue
            except Exception as exc:  # the database may be away; try again later
                log.warning("risk scoring check failed: %s", exc)
                continue
            self._run_child()

    def _run_child(self) -> None:
        main = Path(__file__).resolve().parents[2] / "main.py"
        self._child = subprocess.Popen(
            [sys.executable, str(main), "risk", "score", "--db", self.url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: os.nice(10),
        )
        _, err = self._child.communicate()
        self.runs += 1
        if self._child.returncode not in (0, -15):
            log.warning("risk scoring failed (%s): %s", self._child.returncode, err[-500:])
        self._child = None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

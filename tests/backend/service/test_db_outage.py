"""PostgreSQL goes away under a running backend and comes back: clear errors, recovery, no loss."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from backend.db.models import Event, Issue
from backend.protocol.client import CommandFailed
from tests.backend.service.helpers import running_backend
from tests.backend.service.seed import seed_city
from tests.backend.service.tcp_proxy import TcpProxy


def test_database_outage_gives_clear_errors_and_the_service_recovers(pg_engine: Engine) -> None:
    seed_city(pg_engine)
    real = make_url(pg_engine.url.render_as_string(hide_password=False))
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432)).start()
    via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        with running_backend(via_proxy) as backend, backend.client("olga", timeout_s=20) as client:
            client.command("report_issue", {"category": "Before"}, key="before")
            proxy.cut()
            with pytest.raises(CommandFailed) as down:
                client.command("report_issue", {"category": "During"}, key="during")
            assert down.value.code == "unavailable"
            assert "database is unavailable" in down.value.message
            with pytest.raises(CommandFailed) as snap:
                client.snapshot()
            assert snap.value.code == "unavailable"
            assert client.request("ping").type == "pong"  # the service itself still answers
            proxy.restore()
            deadline = time.monotonic() + 30
            while True:  # the client retries with the same key until the database is back
                try:
                    reply = client.command("report_issue", {"category": "During"}, key="during")
                    break
                except CommandFailed as exc:
                    assert exc.code == "unavailable"
                    assert time.monotonic() < deadline
                    time.sleep(0.5)
            assert not reply["replayed"]
            again = client.command("report_issue", {"category": "During"}, key="during")
            assert again["replayed"]
            seq, entities = client.snapshot()
            assert sum(1 for t in entities if t.startswith("issue/")) == 4 + 2
            assert backend.stop() == 0
    finally:
        proxy.cut()
    with Session(pg_engine) as s:
        categories = sorted(s.scalars(select(Issue.category).where(Issue.source == "cityops")))
        assert categories == ["Before", "During"]
        assert s.scalar(select(func.count()).select_from(Event)) == seq == 2

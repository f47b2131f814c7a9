"""The Open311 gateway end to end: real HTTP to the gateway, real ZeroMQ to a real backend
process, SQLite and PostgreSQL; notices mailed to a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select

from backend.db.engine import make_sessionmaker
from backend.db.models import Issue, Job
from backend.open311.notices import SmtpSender, deliver_pending
from backend.open311.server import GatewayServer, build_app
from tests.backend.service.helpers import ROOT, Backend, free_port_pair
from tests.backend.service.seed import seed_city

API_KEY = "test-key-1"


@dataclass
class City:
    """A seeded backend with the gateway in front of it."""

    backend: Backend
    gateway: GatewayServer
    engine: Engine

    def http(
        self,
        method: str,
        path: str,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, Any]:
        """One HTTP request; ``(status, parsed JSON body)``."""
        host, port = self.gateway.server.effective_host, self.gateway.server.effective_port
        conn = http.client.HTTPConnection(host, port, timeout=30)
        if fields is not None:
            body = urllib.parse.urlencode(fields, doseq=True).encode()
        sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        return response.status, json.loads(data) if data.startswith((b"[", b"{")) else data

    def post(self, headers: dict[str, str] | None = None, **fields: Any) -> tuple[int, Any]:
        return self.http("POST", "/requests.json", {"api_key": API_KEY, **fields}, headers)

    def issues(self) -> int:
        with make_sessionmaker(self.engine)() as s:
            return int(s.scalar(select(func.count()).select_from(Issue)) or 0)

    def job_of(self, issue_id: int) -> int:
        with make_sessionmaker(self.engine)() as s:
            return int(s.scalars(select(Job.id).where(Job.issue_id == issue_id)).one())


@pytest.fixture
def city(engine: Engine, db_url: str) -> Iterator[City]:
    seed_city(engine)
    backend = Backend(db_url).start()
    gateway = None
    try:
        gateway = GatewayServer(
            build_app(backend.router, "open311", [API_KEY]), "127.0.0.1", 0
        ).start()
        yield City(backend, gateway, engine)
    finally:
        if gateway is not None:
            gateway.stop()
        backend.stop()


POTHOLE = {
    "service_code": "pothole",
    "lat": "60.1699",
    "long": "24.9384",
    "description": "A deep hole by the tram stop",
    "email": "aino@example.org",
    "first_name": "Aino",
    "last_name": "Virtanen",
    "media_url": "https://example.org/hole.jpg",
    "attribute[depth]": "deep",
}


def test_post_then_get_round_trip_and_retries_make_one_request(city: City) -> None:
    status, services = city.http("GET", "/services.json")
    assert status == 200
    codes = {s["service_code"]: s for s in services}
    assert codes["pothole"]["service_name"] == "Pothole"
    assert "pump_failure" in codes  # the seed's issues: a category the data uses, without code
    status, created = city.post(**POTHOLE)
    assert status == 200, created
    request_id = created[0]["service_request_id"]
    assert "e-mail" in created[0]["service_notice"]
    # A retry of the same form (lost reply, double tap) answers the same request.
    assert city.post(**POTHOLE) == (200, created)
    # A client token makes retries exact even when the form differs (e.g. a re-typed text).
    token = {"Idempotency-Key": "phone-app-0001"}
    status, first = city.post(token, **{**POTHOLE, "description": "first"})
    assert status == 200 and first[0]["service_request_id"] != request_id
    assert city.post(token, **{**POTHOLE, "description": "again"}) == (200, first)
    assert city.issues() == 4 + 2

    status, (one,) = city.http("GET", f"/requests/{request_id}.json")
    assert status == 200
    assert one["service_request_id"] == request_id and one["status"] == "open"
    assert one["service_code"] == "pothole" and one["service_name"] == "Pothole"
    assert (one["lat"], one["long"]) == (60.1699, 24.9384)
    assert one["description"] == POTHOLE["description"]
    assert one["media_url"] == POTHOLE["media_url"]
    assert one["agency_responsible"] == "Highways"
    requested = datetime.fromisoformat(one["requested_datetime"])
    assert abs(requested - datetime.now(UTC)) < timedelta(minutes=5)
    status, listed = city.http("GET", "/requests.json")
    assert status == 200 and request_id in {r["service_request_id"] for r in listed}
    # The report made a job for the service's crews, and the citizen is on record.
    client = city.backend.client("olga")
    try:
        record = client.command("get_citizen", {"email": "aino@example.org"})["result"]
    finally:
        client.close()
    assert record["citizen"]["name"] == "Aino Virtanen"
    assert [(i["kind"], i["channel"]) for i in record["interactions"]] == [
        ("report", "open311"),
        ("report", "open311"),
    ]
    assert city.job_of(int(request_id)) > 0


def test_filters(city: City) -> None:
    ids = []
    for n, code in enumerate(("pothole", "pothole", "graffiti")):
        fields = {**POTHOLE, "service_code": code, "description": f"report {n}"}
        status, created = city.post(**fields)
        assert status == 200, created
        ids.append(created[0]["service_request_id"])

    def listed(query: str) -> set[str]:
        status, body = city.http("GET", f"/requests.json?{query}")
        assert status == 200, body
        return {r["service_request_id"] for r in body}

    # The seed's issues were requested 2026-03-01: outside the default 90 days.
    assert listed("") == set(ids)
    assert listed("service_code=pothole") == set(ids[:2])
    assert listed("service_code=graffiti&status=open") == {ids[2]}
    assert listed("status=closed") == set()
    assert listed(f"service_request_id={ids[0]},{ids[2]}&status=closed") == {ids[0], ids[2]}
    assert listed("start_date=2026-02-28T00:00:00Z&end_date=2026-03-02T00:00:00Z") == {
        "1",
        "2",
        "3",
        "4",
    }
    assert listed("service_code=pump_failure&start_date=2026-01-01") == {"1", "2", "3", "4"}
    assert listed("jurisdiction_id=city.example&service_code=nothing_like_it") == set()


def test_bad_input_gets_a_clear_400_and_writes_nothing(city: City) -> None:
    before = city.issues()
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({k: v for k, v in POTHOLE.items() if k != "service_code"}, 400, "service_code"),
        ({**POTHOLE, "lat": "95"}, 400, "lat 95 is out of range"),
        ({**POTHOLE, "service_code": "unicorns"}, 400, "unknown service_code"),
        ({**POTHOLE, "email": "not-an-address"}, 400, "e-mail"),
        ({**POTHOLE, "api_key": ""}, 403, "api_key is required"),
        ({**POTHOLE, "api_key": "guess"}, 403, "api_key is not valid"),
    ]
    for fields, status, text in cases:
        got, body = city.http("POST", "/requests.json", {"api_key": API_KEY, **fields})
        assert got == status, (fields, body)
        assert body[0]["code"] == status and text in body[0]["description"], body
    huge = urllib.parse.urlencode({**POTHOLE, "api_key": API_KEY, "description": "x" * 200_000})
    status, body = city.http("POST", "/requests.json", body=huge.encode())
    assert status == 400 and "body over" in body[0]["description"]
    for path, status, text in (
        ("/requests.json?start_date=last-tuesday", 400, "not a W3C date-time"),
        ("/requests.json?status=pending", 400, "status must be"),
        ("/requests.json?start_date=2026-05-02&end_date=2026-05-01", 400, "before start_date"),
        ("/requests.xml", 400, "XML is not supported"),
        ("/services.xml", 400, "XML is not supported"),
        ("/requests/999999.json", 404, "no service request"),
        ("/requests/abc.json", 404, "no service request"),
        ("/services/pothole.json", 404, "no attributes"),
        ("/services/unicorns.json", 404, "unknown service_code"),
        ("/nothing", 404, ""),
    ):
        got, body = city.http("GET", path)
        assert got == status and body[0]["code"] == status and text in body[0]["description"]
    got, body = city.http(
        "POST", "/requests.json", body=b"{}", headers={"Content-Type": "application/json"}
    )
    assert got == 400 and "application/x-www-form-urlencoded" in body[0]["description"]
    got, body = city.http("DELETE", "/requests.json")
    assert got == 405 and body[0]["code"] == 405
    assert city.issues() == before


def test_fixing_the_issue_notices_the_citizen_once_and_mails_it(city: City) -> None:
    status, created = city.post(**POTHOLE)
    assert status == 200, created
    request_id = int(created[0]["service_request_id"])
    job_id = city.job_of(request_id)
    # A second citizen left only a phone number; their report's job is cancelled.
    status, texted = city.post(service_code="graffiti", address_string="Main St 1", phone="555")
    assert status == 200 and "text message" in texted[0]["service_notice"]
    texted_job = city.job_of(int(texted[0]["service_request_id"]))
    dana = city.backend.client("dana")
    try:
        cancel = {"job_id": texted_job, "status": "cancelled", "version": 1}
        assert dana.command("set_job_status", cancel)["result"]["issue_closed"]
        dana.command("assign_job", {"job_id": job_id, "crew_id": 1, "version": 1})
        dana.command("set_job_status", {"job_id": job_id, "status": "on_site", "version": 2})
        done = {"job_id": job_id, "status": "done", "version": 3, "note": "Filled with asphalt"}
        first = dana.command("set_job_status", done, key="crew-1-done")
        again = dana.command("set_job_status", done, key="crew-1-done")  # a retry
        assert first["result"]["issue_closed"] and again["replayed"]
        record = dana.command("get_citizen", {"email": "aino@example.org"})["result"]
    finally:
        dana.close()
    kinds = [(i["kind"], i["channel"], i["delivery"]) for i in record["interactions"]]
    assert kinds == [
        ("report", "open311", None),
        ("status", "web", None),
        ("notice", "email", "pending"),
    ]
    status, (one,) = city.http("GET", f"/requests/{request_id}.json")
    assert one["status"] == "closed" and one["status_notes"] == "Filled with asphalt"
    assert one["updated_datetime"] >= one["requested_datetime"]
    assert one in city.http("GET", "/requests.json?status=closed")[1]

    # Delivery: the mail server is down first (the attempt is recorded, the notice stays
    # pending), then a real SMTP server on this machine takes it.
    port = free_port_pair()
    down = deliver_pending(city.gateway.app.bus, SmtpSender("127.0.0.1", port, timeout_s=5))
    assert (down.sent, down.failed, down.skipped) == (0, 1, 1)  # no SMS sender: skipped
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        sender = SmtpSender("127.0.0.1", port, mail_from="city@example.org")
        up = deliver_pending(city.gateway.app.bus, sender)
        assert (up.sent, up.failed, up.skipped) == (1, 0, 1)
        left = deliver_pending(city.gateway.app.bus, sender)
        assert (left.sent, left.failed, left.skipped) == (0, 0, 1)  # the text stays pending
    finally:
        smtp.stop()
    ((mail_from, rcpt, data),) = mailbox.messages
    assert mail_from == "city@example.org" and rcpt == ["aino@example.org"]
    mail = message_from_bytes(data)
    assert f"#{request_id}" in mail["Subject"]
    assert "Filled with asphalt" in mail.get_payload(decode=True).decode()
    olga = city.backend.client("olga")
    try:
        record = olga.command("get_citizen", {"email": "aino@example.org"})["result"]
    finally:
        olga.close()
    notice = record["interactions"][-1]
    assert (notice["delivery"], notice["attempts"]) == ("sent", 2)
    assert notice["delivered_at"] is not None
    status, (closed,) = city.http("GET", f"/requests/{texted[0]['service_request_id']}.json")
    assert closed["status"] == "closed" and "cancelled" in closed["status_notes"]


class Mailbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def test_the_open311_command_serves_and_stops_on_sigterm(engine: Engine, db_url: str) -> None:
    backend = Backend(db_url).start()
    port = free_port_pair()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "open311",
            "--connect",
            backend.pub,
            "--listen",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert f"serving http://127.0.0.1:{port}" in line, proc.stderr.read() if proc.stderr else ""
        status = None
        for _ in range(50):  # the socket is bound before the line is printed; be patient anyway
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request(
                    "POST",
                    "/requests.json",
                    body=urllib.parse.urlencode(POTHOLE),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                response = conn.getresponse()
                status, body = response.status, json.loads(response.read())
                conn.close()
                break
            except ConnectionRefusedError:
                time.sleep(0.1)
        assert status == 200, body
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        backend.stop()

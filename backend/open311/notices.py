"""Delivering notices to citizens: a step apart from recording them.

The backend records a notice (``delivery = pending``) in the transaction that
closes the issue. Here a sender takes pending notices from the backend
(``pending_notices``), delivers each through a :class:`NoticeSender`, and
reports every attempt back (``record_notice_delivery``, keyed by notice and
attempt, so a lost reply retried is not counted twice). Delivery is
at-least-once: a gateway killed between sending a mail and recording it sends
that mail again on its next run; no mail server offers better.

:class:`SmtpSender` uses the standard library's ``smtplib``; a notice for a
channel no sender handles (``sms`` here) stays pending and listed.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

from backend.open311.bus import BusGateway
from backend.open311.mapping import Open311Error

log = logging.getLogger(__name__)


class NoticeSender(Protocol):
    """Delivers one notice on its channel; raises (OSError, SMTPException...) when it cannot."""

    @property
    def channels(self) -> frozenset[str]:
        """The channels it delivers (``email``, ``sms``...)."""
        ...

    def send(self, notice: dict[str, Any]) -> None:
        """Deliver ``notice`` (a ``pending_notices`` row) or raise."""
        ...


@dataclass(frozen=True, slots=True)
class SmtpSender:
    """E-mail through an SMTP server (``host``, ``port``; optional STARTTLS and login)."""

    host: str
    port: int = 25
    mail_from: str = "cityops@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_s: float = 10.0
    channels: frozenset[str] = field(default=frozenset({"email"}))

    def message(self, notice: dict[str, Any]) -> EmailMessage:
        """The mail for one notice."""
        msg = EmailMessage()
        msg["From"] = self.mail_from
        msg["To"] = notice["email"]
        msg["Subject"] = f"Your report #{notice['issue_id']} has been closed"
        greeting = f"Hello {notice['name']},\n\n" if notice.get("name") else "Hello,\n\n"
        msg.set_content(f"{greeting}{notice['body']}\n\nThank you for reporting it.\n")
        return msg

    def send(self, notice: dict[str, Any]) -> None:
        """Send the notice's mail; any refusal raises."""
        if not notice.get("email"):
            raise ValueError(f"notice {notice['id']} has no e-mail address")
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(self.message(notice))


@dataclass(slots=True)
class DeliveryCounts:
    """What one delivery round did."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0  # no sender for its channel: still pending


def deliver_pending(
    bus: BusGateway, sender: NoticeSender, limit: int = 100, max_attempts: int = 5
) -> DeliveryCounts:
    """Deliver the pending notices ``sender`` can; record each attempt on the backend."""
    counts = DeliveryCounts()
    notices = bus.result("pending_notices", {"limit": limit})["notices"]
    for notice in notices:
        if notice["channel"] not in sender.channels:
            counts.skipped += 1
            continue
        error: str | None = None
        try:
            sender.send(notice)
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("notice %s not delivered: %s", notice["id"], error)
        args: dict[str, Any] = {
            "notice_id": notice["id"],
            "ok": error is None,
            "max_attempts": max_attempts,
        }
        if error is not None:
            args["error"] = error
        key = f"notice-delivery:{notice['id']}:{int(notice['attempts']) + 1}"
        bus.command("record_notice_delivery", args, key=key)
        if error is None:
            counts.sent += 1
        else:
            counts.failed += 1
    return counts


class NoticeWorker:
    """Runs :func:`deliver_pending` every ``every_s`` seconds on a thread until stopped."""

    def __init__(self, bus: BusGateway, sender: NoticeSender, every_s: float = 30.0) -> None:
        self.bus = bus
        self.sender = sender
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notices", daemon=True)

    def start(self) -> NoticeWorker:
        """Start the thread."""
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                counts = deliver_pending(self.bus, self.sender)
                if counts.sent or counts.failed:
                    log.info("notices: %s", counts)
            except Open311Error as exc:
                log.warning("notices: %s", exc.description)
            self._stop.wait(self.every_s)

    def stop(self) -> None:
        """Stop after the current round."""
        self._stop.set()
        self._thread.join(30)

"""Sending one bus command from a console, synchronously or through a future (no Qt).

The contract every console controller shares (``console.dispatch.controller``,
``console.dispatch.recommend``, ``console.alarms.commands``): an injected
``send_command(name, args)`` returns the reply body (``{"result": ...}``) or
raises :class:`~backend.protocol.client.CommandFailed` /
:class:`~backend.protocol.client.BusTimeout`, or returns a
``concurrent.futures.Future`` of the body or of the reply
:class:`~backend.protocol.envelope.Envelope` (``console.live``'s
``LiveClient.command``; an ``error`` envelope counts as a refusal). A
future's outcome is handed to ``post``, which must run it on the GUI thread
(``widgets.crew_board.GuiThreadPoster``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from backend.protocol import envelope as proto
from backend.protocol.client import BusTimeout, CommandFailed
from backend.protocol.envelope import Envelope

T = TypeVar("T")

SendCommand = Callable[[str, dict[str, Any]], Any]
Post = Callable[[Callable[[], None]], None]


def unwrap_reply(fut: Future[Any], what: str = "command") -> tuple[Any, BaseException | None]:
    """A finished future as ``(reply body, None)`` or ``(None, the error it ended with)``.

    A cancelled future is a :class:`BusTimeout`; an ``error`` envelope is a
    :class:`CommandFailed` with its code, message and details.
    """
    if fut.cancelled():
        return None, BusTimeout(f"the {what} was cancelled")
    error = fut.exception()
    if error is not None:
        return None, error
    value = fut.result()
    if isinstance(value, Envelope):
        if value.type == proto.ERROR:
            b = value.body
            return None, CommandFailed(
                str(b.get("code")), str(b.get("message")), b.get("details") or {}
            )
        value = value.body
    return value, None


def send_then(
    send_command: SendCommand,
    post: Post,
    name: str,
    args: dict[str, Any],
    finish: Callable[[Any, BaseException | None], T],
    *,
    what: str = "command",
    bus_errors_only: bool = True,
) -> T | None:
    """Send ``name(args)`` and call ``finish(reply, error)`` with how it ended.

    A synchronous answer (or a raised refusal/timeout) is finished at once and
    its result returned; a future's is finished later through ``post`` and
    None is returned. With ``bus_errors_only`` any other failure of the future
    becomes a :class:`BusTimeout` ("could not be sent"), so ``finish`` only
    ever sees the two bus errors.
    """
    try:
        reply = send_command(name, args)
    except (CommandFailed, BusTimeout) as exc:
        return finish(None, exc)
    if not isinstance(reply, Future):
        return finish(reply, None)

    def on_done(fut: Future[Any]) -> None:
        value, error = unwrap_reply(fut, what)
        if bus_errors_only and not isinstance(error, CommandFailed | BusTimeout | None):
            error = BusTimeout(f"the {what} could not be sent: {error}")

        def deliver() -> None:
            finish(value, error)

        post(deliver)

    reply.add_done_callback(on_done)
    return None

"""A feed relay: one subscription to the backend, fanned out to many consoles.

The backend sends every delta and heartbeat once per connected console; a
control room with a wall of screens and a few dozen desks multiplies that
work on the one thread that also commits commands. A relay (ZeroMQ's
XSUB/XPUB proxy, run by libzmq in C, after the Guide's "Espresso"
pattern without the capture) subscribes to the backend's PUB once and
republishes to its own consoles; relays chain, so a site can put one per
room or per building. Subscriptions flow upstream, so prefix subscribers still
get only what they asked for.

Only the feed goes through a relay. Snapshots and commands stay
point-to-point with the backend's ROUTER (a console's ``--connect``): a
snapshot is once per console start and replies must reach exactly one
console. A console behind a relay sees the same stream: same seq, same
heartbeats (so a dead relay shows as a stale link, and a restarted one as a
gap, then a re-snapshot).
"""

from __future__ import annotations

import threading

import zmq

#: Messages queued per console before a slow one starts losing deltas (it then sees the gap).
DEFAULT_HWM = 10_000


class FeedRelay:
    """XSUB connected to ``upstream`` (a backend's or a relay's PUB), XPUB bound at ``bind``."""

    def __init__(self, upstream: str, bind: str, hwm: int = DEFAULT_HWM) -> None:
        self.upstream = upstream
        self.bind_endpoint = bind
        self.ctx = zmq.Context()
        self.xsub = self.ctx.socket(zmq.XSUB)
        self.xpub = self.ctx.socket(zmq.XPUB)
        self.xsub.setsockopt(zmq.RCVHWM, hwm)
        self.xpub.setsockopt(zmq.SNDHWM, hwm)
        for s in (self.xsub, self.xpub):
            s.setsockopt(zmq.LINGER, 0)
        # The proxy listens for TERMINATE here; only stop() talks to it.
        self._control = self.ctx.socket(zmq.PAIR)
        self._control_addr = f"inproc://relay-control-{id(self)}"
        self._control.bind(self._control_addr)
        self._thread: threading.Thread | None = None

    def start(self) -> FeedRelay:
        """Bind, connect upstream and proxy on a background thread (raises if ``bind`` is taken)."""
        self.xpub.bind(self.bind_endpoint)
        self.xsub.connect(self.upstream)
        self._thread = threading.Thread(target=self._run, name="feed-relay", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        control = self.ctx.socket(zmq.PAIR)
        control.connect(self._control_addr)
        try:
            zmq.proxy_steerable(self.xsub, self.xpub, None, control)
        except zmq.ContextTerminated:  # pragma: no cover - closed under us
            pass
        finally:
            control.close(linger=0)

    def stop(self) -> None:
        """Stop proxying and close every socket (the bound port is free afterwards)."""
        if self._thread is not None:
            self._control.send(b"TERMINATE")
            self._thread.join(5.0)
            self._thread = None
        for s in (self._control, self.xsub, self.xpub):
            s.close(linger=0)
        self.ctx.term()

    def __enter__(self) -> FeedRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""A daemon thread that does one small job every few seconds until it is stopped."""

from __future__ import annotations

import threading


class PeriodicThread:
    """Calls :meth:`tick` every ``every_s`` seconds on its own thread until :meth:`stop`."""

    #: The thread's name (shows in stack dumps and py-spy).
    thread_name = "periodic"

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start_thread(self) -> None:
        """Start ticking (once; later calls do nothing)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop_thread(self, timeout: float = 10.0) -> bool:
        """Stop ticking; False when it was not running."""
        if self._thread is None:
            return False
        self._stop.set()
        self._thread.join(timeout)
        self._thread = None
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.tick()

    def tick(self) -> None:
        """One round of the job (subclasses)."""
        raise NotImplementedError

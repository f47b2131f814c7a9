"""The console's live replica: snapshot + sequenced deltas from the backend, no Qt in its core.

``Replica`` is the state and its sequence rules; ``LiveClient`` runs the
ZeroMQ sockets on its own thread and keeps a replica current;
``console.live.qt_adapter`` hands its changes to the GUI thread, one batch per frame.
"""

from console.live.client import LinkHealth, LinkState, LiveClient
from console.live.replica import Replica

__all__ = ["LinkHealth", "LinkState", "LiveClient", "Replica"]

"""The backend service: ZeroMQ PUB (deltas, heartbeat) and ROUTER (snapshot, commands)."""

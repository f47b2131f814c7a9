"""The citizens' gateway: Open311 GeoReport v2 over HTTP, turned into bus commands.

``mapping`` holds the pure translation between GeoReport fields and the
command schema, ``app`` the WSGI application, ``bus`` the per-thread command
clients, ``notices`` the delivery step for notices, ``cli`` the subcommand.
The gateway writes nothing itself: every change goes through the backend.
"""

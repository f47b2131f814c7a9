"""The demo city: a seeded, deterministic city for a machine with no data.

Entry point: :func:`backend.demo_city.generate.build_demo_city`. The hidden
failure law its asset histories follow is documented in
:mod:`backend.demo_city.hazard`.
"""

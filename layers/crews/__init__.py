"""Crews layer: position, heading, status, name, staleness and a short trail."""

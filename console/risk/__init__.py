"""Failure risk in the console: the most-at-risk list and renewal plan models (no Qt)."""

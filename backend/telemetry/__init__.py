"""Condition monitoring: what each asset kind reports, and (later) detection on it."""

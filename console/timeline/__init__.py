"""The shift lead's incident timeline and its replay on the map (pure models, no Qt)."""

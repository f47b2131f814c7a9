"""Assets layer: a symbol per kind, a colour per status."""

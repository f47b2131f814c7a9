"""Analytics on the city's history: pipe failure risk (no Qt, no bus: plain data in and out)."""

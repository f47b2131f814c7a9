"""Open issues layer: by category and age, clustered when zoomed out."""

"""Roads basemap layer: centerlines styled by road class, drawn from a cache."""

"""The staff knowledge base: articles and their full-text search."""

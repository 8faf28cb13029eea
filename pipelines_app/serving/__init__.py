"""Serving models over HTTP: routing, loading, scoring, checks and prediction logging."""

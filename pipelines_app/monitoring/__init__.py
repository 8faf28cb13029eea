"""Monitoring deployed models: rollups of the prediction logs, drift, performance and the summary dashboards read."""

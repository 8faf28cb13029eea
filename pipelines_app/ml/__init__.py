"""Pure machine-learning code: datasets, training, metrics, drift statistics. Imports no Django."""

"""Step types: one module per type, the step registry (``registry.py``) and what every step imports (``base.py``).

Importing the package loads nothing else, so that the engine can import ``steps.base`` without the step
implementations (and the models and ML stack they bring); the registry loads them when the app is ready.
"""

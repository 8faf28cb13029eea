from pathlib import Path

import pytest

DEMO_CSV = Path(__file__).resolve().parents[2] / "pipelines_app" / "demo" / "credit_card_applications.csv"


@pytest.fixture(scope="session")
def demo_csv_bytes():
    """The credit card applications file that the demo ships: 1,319 rows, target `card`, no gaps."""
    return DEMO_CSV.read_bytes()

"""The fault tests' pause lives in a test-only worker entry point (tests/fault_worker.py); product code reads no
test switches."""

import pytest

import mlops_site.settings
from tests.conftest import ROOT
from tests.fault_worker import read_pauses

PRODUCT = [*(ROOT / "pipelines_app").rglob("*.py"), *(ROOT / "mlops_site").rglob("*.py")]


def test_the_settings_have_no_fault_switch():
    assert [name for name in vars(mlops_site.settings) if name.startswith("FAULT")] == []


def test_product_code_neither_reads_the_pause_nor_starts_the_fault_worker():
    mentions = [
        str(path.relative_to(ROOT))
        for path in PRODUCT
        if "FAULT_PAUSE" in (text := path.read_text()) or "fault_worker" in text
    ]
    assert mentions == []


def test_the_pause_is_read_as_step_type_and_seconds():
    assert read_pauses("") == {}
    assert read_pauses("ingest=30, train=0.5") == {"ingest": 30.0, "train": 0.5}
    with pytest.raises(ValueError, match="<step type>=<seconds>"):
        read_pauses("train")

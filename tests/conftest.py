"""Shared fixtures: a real index of the seed article, built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa.core import QA

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = SEEDS / "nato-iraq-training-mission.txt"
SHARED_DATA = ROOT.parent / "shared" / "data"
SEED_QUESTION = "How many U.S. troops were in Iraq as of late September?"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Export the model once per session into a private cache, so tests never touch the user's."""
    os.environ["QA_CACHE_DIR"] = str(tmp_path_factory.mktemp("qa-cache"))


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("seed-index")
    QA(index_dir).index([SEEDS])
    return index_dir


@pytest.fixture(scope="session")
def seed_qa(seed_index: Path) -> QA:
    return QA(seed_index)

from __future__ import annotations

from pathlib import Path

import pytest

from .corpus import write_corpus


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fiscal year 2026 corpus (read-only for the tests)."""
    return write_corpus(tmp_path_factory.mktemp("corpus") / "送信記録")

"""Fixtures the connector tests share."""

from __future__ import annotations

import pytest

from include.warehouse import get_engine, migrate


@pytest.fixture
def warehouse(tmp_path):
    """A fresh SQLite warehouse, migrated: where an extraction under test writes."""
    engine = get_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    migrate(engine)
    yield engine
    engine.dispose()

"""The warehouse: one engine factory, one migration path, one writer, one bulk reader."""

from include.warehouse.engine import get_engine, migrate
from include.warehouse.reader import fetch_dicts, fetch_driver_dicts, fetch_driver_rows
from include.warehouse.writer import (
    append_from_select,
    append_rows,
    refresh_statistics,
    replace_rows,
    upsert_rows,
)

__all__ = ["append_from_select", "append_rows", "fetch_dicts", "fetch_driver_dicts", "fetch_driver_rows", "get_engine", "migrate",
           "refresh_statistics", "replace_rows", "upsert_rows"]

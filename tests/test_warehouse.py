"""Warehouse schema and the one writer, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from include.warehouse import append_rows, fetch_dicts, fetch_driver_dicts, migrate, replace_rows, upsert_rows
from include.warehouse.schema import metadata, order_records, person_records, raw_records


def _raw(record_id: str, payload: str, loaded: datetime) -> dict:
    return {"source": "s", "stream": "x", "record_id": record_id, "payload": payload, "payload_hash": payload,
            "cursor_value": None, "is_deleted": False, "first_loaded_at": loaded, "loaded_at": loaded,
            "run_id": "r1"}


def test_migration_creates_every_table_and_is_rerunnable(engine):
    migrate(engine)  # second time: no-op
    tables = set(sa.inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables


def test_upsert_is_idempotent_and_keeps_first_loaded_at(engine):
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    with engine.begin() as conn:
        upsert_rows(conn, raw_records, [_raw("1", "a", t1), _raw("2", "b", t1)], keep_on_update=["first_loaded_at"])
    with engine.begin() as conn:
        upsert_rows(conn, raw_records, [_raw("1", "a2", t2), _raw("2", "b", t2)], keep_on_update=["first_loaded_at"],
                    only_if_changed=["payload_hash", "is_deleted"])
    with engine.connect() as conn:
        rows = {r.record_id: r for r in conn.execute(sa.select(raw_records))}
    assert len(rows) == 2
    assert rows["1"].payload == "a2" and rows["1"].first_loaded_at.day == 1 and rows["1"].loaded_at.day == 2
    assert rows["2"].loaded_at.day == 1  # unchanged payload: row untouched


def test_replace_rows_is_atomic_with_the_callers_transaction(engine):
    t = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        upsert_rows(conn, raw_records, [_raw("1", "a", t)])
    try:
        with engine.begin() as conn:
            replace_rows(conn, raw_records, [_raw("9", "z", t)])
            raise RuntimeError("crash mid-transaction")
    except RuntimeError:
        pass
    with engine.connect() as conn:
        assert [r.record_id for r in conn.execute(sa.select(raw_records))] == ["1"]


def test_migrations_produce_exactly_the_declared_schema(engine):
    """Alembic's autogenerate finds nothing to do: schema.py and the migrations agree (staging tables aside)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def include_name(name, type_, _parents):
        return not (type_ == "table" and name and name.startswith("stg_"))

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), metadata)
    if engine.dialect.name == "sqlite":  # SQLite keeps no VARCHAR lengths; 0002 widened raw ids on the others only
        diff = [d for d in diff if not (isinstance(d, list) and d[0][0] == "modify_type")]
    assert diff == []


def test_driver_rows_once_converted_equal_the_typed_read(engine):
    at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    order = {"source": "s", "stream": "orders", "record_id": "1", "kind": "order", "status": "open",
             "amount": Decimal("1234.50"), "currency": "EUR", "ordered_at": at, "source_updated_at": None, "run_id": "r"}
    person = {"source": "s", "stream": "people", "record_id": "p", "first_name": "Анна", "date_of_birth": date(1990, 2, 3),
              "email_consent": "subscribed", "email_consent_at": at, "source_updated_at": at, "run_id": "r"}
    with engine.begin() as conn:
        append_rows(conn, order_records, [order])
        append_rows(conn, person_records, [person])
    with engine.connect() as conn:
        for table in (order_records, person_records):
            query = sa.select(*[c for c in table.c if c.name != "run_id"])
            typed = fetch_dicts(conn, query)
            rows, convert = fetch_driver_dicts(conn, query)
            assert [convert(r) for r in rows] == typed
    assert typed[0]["date_of_birth"] == date(1990, 2, 3) and typed[0]["first_name"] == "Анна"


def test_driver_rows_give_a_key_the_database_built_as_record_key_builds_it(engine):
    """resolve reads the last run's links with their record key concatenated by the database."""
    from include.identity.ids import record_key
    from include.warehouse import fetch_driver_rows
    from include.warehouse.schema import customer_sources

    links = [{"source": "woo", "stream": "customers", "record_id": "Ж-17", "customer_id": "C1", "fingerprint": "ab",
              "matched_by": "x", "run_id": "r"},
             {"source": "legacy_crm", "stream": "contacts", "record_id": "a|b", "customer_id": "C2", "fingerprint": "cd",
              "matched_by": "x", "run_id": "r"}]
    with engine.begin() as conn:
        append_rows(conn, customer_sources, links)
    cs = customer_sources.c
    with engine.connect() as conn:
        rows = fetch_driver_rows(conn, sa.select(cs.source + "|" + cs.stream + "|" + cs.record_id, cs.customer_id)
                                 .order_by(cs.customer_id))
    assert [tuple(r) for r in rows] == [(record_key(link), link["customer_id"]) for link in links]


def test_rows_sharing_a_value_object_each_store_their_own_value(engine):
    """The writer converts a value once for a run of rows holding the same object (a customer's
    lineage rows share one timestamp): the rows between and after must keep their own values."""
    shared, other = datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2027, 4, 2, 10, tzinfo=UTC)
    stamps = [shared, shared, None, shared, other, datetime(2026, 3, 1, 9, tzinfo=UTC), None, None, other]
    with engine.begin() as conn:
        append_rows(conn, person_records, [{"source": "s", "stream": "people", "record_id": str(i),
                                            "email_consent": "unknown", "source_updated_at": at, "run_id": "r"}
                                           for i, at in enumerate(stamps)])
    with engine.connect() as conn:
        stored = {int(r.record_id): r.source_updated_at for r in conn.execute(sa.select(person_records))}
    assert [stored[i] and stored[i].replace(tzinfo=UTC) for i in range(len(stamps))] == stamps


def test_a_row_leaving_out_a_column_gets_its_default_or_null(engine):
    t = datetime(2026, 1, 1, tzinfo=UTC)
    first = _raw("1", "a", t) | {"is_deleted": True, "cursor_value": "c1"}
    without_flag = {k: v for k, v in _raw("2", "b", t).items() if k != "is_deleted"}
    without_cursor = {k: v for k, v in _raw("3", "c", t).items() if k != "cursor_value"}
    with engine.begin() as conn:
        append_rows(conn, raw_records, [first, without_flag, without_cursor])
        # the first row leaves out a column with a default: later rows may still give it
        append_rows(conn, raw_records, [without_flag | {"record_id": "4"}, _raw("5", "e", t) | {"is_deleted": True}])
    with engine.connect() as conn:
        rows = {r.record_id: r for r in conn.execute(sa.select(raw_records))}
    assert {k: (r.is_deleted, r.cursor_value, r.payload) for k, r in rows.items()} == {
        "1": (True, "c1", "a"), "2": (False, None, "b"), "3": (False, None, "c"), "4": (False, None, "b"),
        "5": (True, None, "e")}


def _typed_twins() -> tuple[sa.MetaData, sa.Table, sa.Table]:
    meta = sa.MetaData()

    def table(name: str) -> sa.Table:
        return sa.Table(name, meta, sa.Column("key", sa.String(20), primary_key=True), sa.Column("text", sa.Text),
                        sa.Column("count", sa.Integer), sa.Column("ratio", sa.Float), sa.Column("amount", sa.Numeric(14, 2)),
                        sa.Column("flag", sa.Boolean), sa.Column("day", sa.Date), sa.Column("at", sa.DateTime(timezone=True)))
    return meta, table("writer_twin_core"), table("writer_twin_fast")


def test_the_writer_stores_what_a_core_insert_stores(engine):
    """PostgreSQL gets the rows by COPY, whose text format escapes tabs, newlines, backslashes and
    nulls itself: every value must come back as a Core insert's does."""
    meta, core, fast = _typed_twins()
    texts = ["plain", "tab\there", "line\nbreak", "back\\slash", "\\N", "", None, "Ёлка ü 😀", "quote ' \" ;", "\r"]
    rows = [{"key": str(i), "text": text, "count": i - 3 if i % 4 else None, "ratio": i / 7 if i % 3 else None,
             "amount": Decimal(f"{i}.{i:02d}") if i % 2 else None, "flag": (True, False, None)[i % 3],
             "day": date(2026, 1, 1 + i) if i % 5 else None,
             "at": datetime(2026, 2, 3, 4, 5, i, tzinfo=UTC) if i % 6 else None} for i, text in enumerate(texts)]
    meta.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(core.insert(), rows)
            append_rows(conn, fast, rows)
        with engine.connect() as conn:
            stored = [[tuple(r) for r in conn.execute(sa.select(t).order_by(t.c.key))] for t in (core, fast)]
        assert stored[1] == stored[0]
        assert [r[1] for r in stored[1]] == [rows[int(r[0])]["text"] for r in stored[1]]
    finally:
        meta.drop_all(engine)


def test_a_writer_error_is_sqlalchemys_and_rolls_the_callers_transaction_back(engine):
    meta, _, fast = _typed_twins()
    meta.create_all(engine)
    try:
        try:
            with engine.begin() as conn:
                append_rows(conn, fast, [{"key": "a", "text": "first"}])
                append_rows(conn, fast, [{"key": "b", "text": "x"}, {"key": "a", "text": "again"}])
        except sa.exc.IntegrityError as error:
            assert "writer_twin_fast" in str(error) or "UNIQUE" in str(error).upper()
        else:
            raise AssertionError("a duplicate key was written")
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(fast)).scalar() == 0
    finally:
        meta.drop_all(engine)


def test_rows_appended_first_on_a_connection_are_kept_by_its_commit(engine):
    """Commit as you go: the writer's rows are in the connection's transaction even when nothing
    else began it (PostgreSQL's COPY runs on the driver's connection, beside SQLAlchemy's autobegin)."""
    meta, _, fast = _typed_twins()
    meta.create_all(engine)
    try:
        with engine.connect() as conn:
            append_rows(conn, fast, [{"key": "a", "text": "kept"}])
            conn.commit()
        with engine.connect() as conn:
            assert conn.execute(sa.select(fast.c.text)).scalars().all() == ["kept"]
    finally:
        meta.drop_all(engine)

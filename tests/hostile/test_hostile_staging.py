"""The hostile corpus through raw -> staging -> core, on SQLite and PostgreSQL.

Each corpus record is written into raw_records the way include/extract.py writes a page (same
payload text, hash and load columns, one upsert per page), among clean records; then one
`stage_all` run. Every record must end where its case says, with the precise rule, column and
reason; the counts must reconcile per stream against the tables; nothing personal shows in
quarantine; no 10 MB value reaches a staging or core table; and a record fixed at the source
leaves quarantine on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import traceback
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from include.warehouse import get_engine, migrate, upsert_rows
from include.warehouse.schema import raw_records
from tests.conftest import postgres_url
from tests.hostile.corpus import (
    HUGE,
    JSON_TYPES,
    Case,
    OneOf,
    Quarantined,
    Staged,
    Tombstone,
    corpus,
    fixes,
    personal_values,
)

CASES = corpus()
PAGE = 50  # records per raw page (one transaction each, as the extractor writes)
CHILD_TABLES = {("woocommerce", "orders"): "stg_woocommerce__order_lines",
                ("quickbooks", "invoices"): "stg_quickbooks__order_lines"}
PERSON_STREAMS = [("woocommerce", "customers"), ("quickbooks", "customers"), ("mailchimp", "members"),
                  ("legacy_crm", "contacts")]


# --- writing raw the way the extractor does -------------------------------------------------------

def payload_text(case: Case) -> str:
    """The raw payload text include/extract.py would store for this record."""
    if case.raw_text is not None:
        return case.raw_text
    text = json.dumps(case.payload, ensure_ascii=False, sort_keys=True, default=str)
    try:
        text.encode()
    except UnicodeEncodeError:
        # A lone surrogate cannot be written as UTF-8 (the extractor itself fails on it: see
        # test_extractor_survives_lone_surrogates); the escaped JSON form is the same document.
        text = json.dumps(case.payload, ensure_ascii=True, sort_keys=True, default=str)
    return text


def raw_row(source: str, stream: str, record_id: str, text: str, deleted: bool, run_id: str,
            now: datetime) -> dict[str, Any]:
    return {"source": source, "stream": stream, "record_id": record_id, "payload": text,
            "payload_hash": hashlib.sha1(text.encode()).hexdigest(), "cursor_value": None,
            "is_deleted": deleted, "first_loaded_at": now, "loaded_at": now, "run_id": run_id}


def write_raw(engine: sa.Engine, cases: list[Case], run_id: str) -> None:
    now = datetime.now(UTC)
    rows = [raw_row(c.source, c.stream, c.record_id, payload_text(c), c.deleted, run_id, now) for c in cases]
    for start in range(0, len(rows), PAGE):
        page = list({(r["source"], r["stream"], r["record_id"]): r for r in rows[start:start + PAGE]}.values())
        with engine.begin() as conn:
            upsert_rows(conn, raw_records, page, keep_on_update=["first_loaded_at"],
                        only_if_changed=["payload_hash", "is_deleted"])


def new_warehouse(backend: str, tmp_dir) -> sa.Engine:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / 'hostile.db'}"
    else:  # a database of its own: other tests (and helpers) use theirs
        url = postgres_url(f"seam_test_hostile_{os.getpid()}_{uuid.uuid4().hex[:8]}")
    engine = get_engine(url)
    migrate(engine)
    return engine


class Run:
    """One staging run over the corpus: the engine, stage_all's result, or the exception it raised."""

    def __init__(self, engine: sa.Engine, result: dict[str, Any] | None, error: str | None):
        self.engine, self.result, self.error = engine, result, error

    def ok(self) -> dict[str, Any]:
        if self.error:
            pytest.fail(f"stage_all crashed on the hostile corpus:\n{self.error}", pytrace=False)
        assert self.result is not None
        return self.result


def stage(engine: sa.Engine, run_id: str) -> tuple[dict[str, Any] | None, str | None]:
    from include.staging import stage_all

    try:
        return stage_all(engine, run_id), None
    except Exception:  # noqa: BLE001 - reported by the tests, with its traceback
        return None, traceback.format_exc(limit=12)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def run(request, tmp_path_factory):
    engine = new_warehouse(request.param, tmp_path_factory.mktemp(f"hostile-{request.param}"))
    write_raw(engine, CASES, "extract-1")
    result, error = stage(engine, "hostile-1")
    yield Run(engine, result, error)
    engine.dispose()


# --- reading the warehouse -------------------------------------------------------------------------

_REFLECTED: dict[tuple[str, str], sa.Table] = {}


def table(engine: sa.Engine, name: str) -> sa.Table | None:
    """The table as it is in the database (reflected once per database: staging keeps its shape)."""
    key = (engine.url.render_as_string(hide_password=False), name)
    if key not in _REFLECTED:
        try:
            _REFLECTED[key] = sa.Table(name, sa.MetaData(), autoload_with=engine)
        except sa.exc.NoSuchTableError:
            return None
    return _REFLECTED[key]


def rows_of(engine: sa.Engine, name: str, source: str, stream: str, record_id: str | None = None) -> list[dict]:
    t = table(engine, name)
    if t is None:
        return []
    query = sa.select(t).where(t.c.source == source, t.c.stream == stream)
    if record_id is not None:
        query = query.where(t.c.record_id == record_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def quarantine_rows(engine: sa.Engine, source: str, stream: str, record_id: str | None = None) -> list[dict]:
    return rows_of(engine, "quarantine", source, stream, record_id)


def same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, OneOf):
        return any(same(actual, option) for option in expected.options)
    if isinstance(expected, Decimal):
        return actual is not None and Decimal(str(actual)) == expected
    return actual == expected


def short(rows: list[dict]) -> str:
    return "; ".join(f"{r['rule']} [{r['column_name']}] {str(r['reason'])[:160]!r}" for r in rows) or "none"


# --- every record where its case says ----------------------------------------------------------------

def test_stage_all_does_not_crash(run):
    result = run.ok()
    assert result["reconciliation"], "no stream was staged"


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_record_lands_where_expected(run, case):
    run.ok()
    e = run.engine
    stg = rows_of(e, f"stg_{case.source}__{case.stream}", case.source, case.stream, case.record_id)
    held = quarantine_rows(e, case.source, case.stream, case.record_id)
    child = CHILD_TABLES.get((case.source, case.stream))
    lines = rows_of(e, child, case.source, case.stream, case.record_id) if child else []
    expect = case.expect
    if isinstance(expect, Staged):
        assert not held, f"expected staged, but quarantined: {short(held)}"
        assert len(stg) == 1, f"expected one staged row, found {len(stg)}"
        row = stg[0]
        wrong = {k: (row.get(k), v) for k, v in expect.values.items() if not same(row.get(k), v)}
        assert not wrong, "stored values differ (column: (stored, expected)): " + repr(
            {k: (str(a)[:120], str(b)[:120]) for k, (a, b) in wrong.items()})
        if expect.lines is not None:
            assert len(lines) == expect.lines
    elif isinstance(expect, Quarantined):
        assert not stg, f"a quarantined record reached staging: {stg[0] if stg else ''!s:.300}"
        assert not lines, "order lines of a quarantined record reached staging"
        assert held, "expected in quarantine, found nowhere (the record disappeared)"
        for problem in expect.problems:
            match = [r for r in held if r["rule"] in problem.rules and r["column_name"] == problem.column]
            assert match, (f"expected rule {' or '.join(problem.rules)} on column {problem.column!r}; "
                           f"quarantine has: {short(held)}")
            if problem.reason:
                assert any(problem.reason.lower() in str(r["reason"]).lower() for r in match), (
                    f"reason should mention {problem.reason!r}; quarantine has: {short(match)}")
    else:
        assert isinstance(expect, Tombstone)
        assert not stg and not held, "a tombstone was staged or quarantined"


CORE_OF = {**{k: "person_records" for k in PERSON_STREAMS}, ("woocommerce", "orders"): "order_records",
           ("quickbooks", "invoices"): "order_records", ("quickbooks", "payments"): "payments",
           ("mailchimp", "email_activity"): "email_events", ("mailchimp", "sent_to"): "email_events",
           ("legacy_crm", "accounts"): "company_records"}


def test_staged_values_reach_core_unchanged(run):
    """Injection strings, emoji and right-to-left text are plain data all the way into the core tables."""
    run.ok()
    wrong = []
    for case in CASES:
        core = CORE_OF.get((case.source, case.stream))
        if core is None or not isinstance(case.expect, Staged):
            continue
        rows = rows_of(run.engine, core, case.source, case.stream, case.record_id)
        if len(rows) != 1:
            wrong.append(f"{case.label}: {len(rows)} rows in {core}")
            continue
        wrong += [f"{case.label}: {core}.{k} = {str(rows[0].get(k))[:60]!r}" for k, v in case.expect.values.items()
                  if k in rows[0] and not same(rows[0][k], v)]
    assert not wrong, wrong


def test_counts_reconcile_per_stream_and_match_the_tables(run):
    result = run.ok()
    e = run.engine
    expected_streams = Counter((c.source, c.stream) for c in CASES)
    reported = {(r["source"], r["stream"]): r for r in result["reconciliation"]}
    assert set(expected_streams) <= set(reported), f"streams missing from reconciliation: " \
        f"{sorted(set(expected_streams) - set(reported))}"
    for (source, stream), n in sorted(expected_streams.items()):
        r = reported[(source, stream)]
        assert r["raw"] == r["staged"] + r["quarantined"] + r["tombstones"] + r["unmapped"], r
        with e.connect() as conn:
            raw = conn.execute(sa.select(sa.func.count()).select_from(raw_records).where(
                raw_records.c.source == source, raw_records.c.stream == stream)).scalar()
            deleted = conn.execute(sa.select(sa.func.count()).select_from(raw_records).where(
                raw_records.c.source == source, raw_records.c.stream == stream, raw_records.c.is_deleted)).scalar()
        held = {q["record_id"] for q in quarantine_rows(e, source, stream)}
        staged = {s["record_id"] for s in rows_of(e, f"stg_{source}__{stream}", source, stream)}
        assert raw == n == r["raw"], (source, stream, raw, n, r)
        assert deleted == r["tombstones"] == sum(1 for c in CASES if (c.source, c.stream) == (source, stream)
                                                 and c.deleted)
        assert len(staged) == r["staged"], (source, stream, "staged", len(staged), r)
        assert len(held) == r["quarantined"], (source, stream, "quarantined", len(held), r)
        assert not staged & held, f"{source}.{stream}: records both staged and quarantined: {staged & held}"
        assert r["unmapped"] == 0


def test_every_raw_record_is_accounted_for_exactly_once(run):
    run.ok()
    e = run.engine
    for source, stream in sorted({(c.source, c.stream) for c in CASES}):
        live = {c.record_id for c in CASES if (c.source, c.stream) == (source, stream) and not c.deleted}
        held = {q["record_id"] for q in quarantine_rows(e, source, stream)}
        staged = {s["record_id"] for s in rows_of(e, f"stg_{source}__{stream}", source, stream)}
        assert staged | held == live, f"{source}.{stream}: disappeared: {sorted(live - staged - held)}; " \
            f"unexpected: {sorted((staged | held) - live)}"


# --- nothing personal, nothing huge, nothing broken ---------------------------------------------------

def _personal_leaks(run, field: str) -> list[str]:
    leaks = []
    for case in CASES:
        secrets = personal_values(case.payload)
        if not secrets or not isinstance(case.expect, Quarantined):
            continue
        for row in quarantine_rows(run.engine, case.source, case.stream, case.record_id):
            shown = str(row[field] or "")
            leaks += [f"{case.label} {row['rule']}: {field} {shown[:80]!r} shows {s[:40]!r}"
                      for s in secrets if s in shown]
    return leaks


def test_quarantine_masks_personal_values(run):
    run.ok()
    leaks = _personal_leaks(run, "value_masked")
    assert not leaks, "\n".join(leaks)


def test_quarantine_reasons_do_not_echo_personal_values(run):
    """Reasons go to run summaries and logs (stage_all's top_reasons): they must not carry personal data."""
    run.ok()
    leaks = _personal_leaks(run, "reason")
    assert not leaks, "\n".join(leaks)


def test_no_huge_value_reaches_staging_core_or_quarantine(run):
    run.ok()
    e = run.engine
    names = sorted({f"stg_{c.source}__{c.stream}" for c in CASES} | set(CHILD_TABLES.values()) |
                   {"person_records", "company_records", "order_records", "order_lines", "payments",
                    "email_events", "consents", "identifiers", "addresses", "quarantine"})
    too_long = []
    with e.connect() as conn:
        for name in names:
            t = table(e, name)
            if t is None:
                continue
            for col in t.columns:
                if isinstance(col.type, sa.String):
                    longest = conn.execute(sa.select(sa.func.max(sa.func.length(col)))).scalar() or 0
                    if longest >= 100_000:
                        too_long.append(f"{name}.{col.name}: {longest} characters")
    assert not too_long, too_long
    assert HUGE > 100_000


def test_no_control_characters_or_surrogates_stored(run):
    """NUL and lone surrogates never reach a staging table (PostgreSQL text cannot hold NUL at all)."""
    run.ok()
    e = run.engine
    bad = []
    for source, stream in PERSON_STREAMS:
        for row in rows_of(e, f"stg_{source}__{stream}", source, stream):
            for key, value in row.items():
                if isinstance(value, str) and any(ch == "\x00" or "\ud800" <= ch <= "\udfff" or ch == "\u202e"
                                                  for ch in value):
                    bad.append(f"{source}.{stream}:{row['record_id']}.{key} = {value[:40]!r}")
    assert not bad, bad


def test_core_tables_consistent_with_staging(run):
    run.ok()
    e = run.engine

    def count(name: str) -> int:
        with e.connect() as conn:
            return conn.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar()

    persons = sum(count(f"stg_{s}__{st}") for s, st in PERSON_STREAMS)
    assert count("person_records") == persons
    assert count("order_records") == count("stg_woocommerce__orders") + count("stg_quickbooks__invoices")
    assert count("order_lines") == sum(count(t) for t in CHILD_TABLES.values())
    assert count("payments") == count("stg_quickbooks__payments")
    assert count("company_records") == count("stg_legacy_crm__accounts")
    assert count("email_events") == count("stg_mailchimp__email_activity") + count("stg_mailchimp__sent_to")
    with e.connect() as conn:
        orphans = conn.execute(sa.text(
            "SELECT l.source, l.stream, l.record_id FROM order_lines l LEFT JOIN order_records o "
            "ON o.source = l.source AND o.stream = l.stream AND o.record_id = l.record_id "
            "WHERE o.record_id IS NULL")).all()
        held_lines = conn.execute(sa.text(
            "SELECT DISTINCT l.source, l.stream, l.record_id FROM order_lines l JOIN quarantine q "
            "ON q.source = l.source AND q.stream = l.stream AND q.record_id = l.record_id")).all()
        held_persons = conn.execute(sa.text(
            "SELECT DISTINCT p.record_id FROM person_records p JOIN quarantine q "
            "ON q.source = p.source AND q.stream = p.stream AND q.record_id = p.record_id")).all()
    assert not orphans, f"order lines without their order: {orphans[:5]}"
    assert not held_lines, f"order lines of quarantined orders: {held_lines[:5]}"
    assert not held_persons, f"quarantined person records in person_records: {held_persons[:5]}"


def test_not_an_object_reason_names_the_json_type(run):
    """"payload is a JSON NoneType" is Python talking; a data steward reads JSON's names (null, array...)."""
    run.ok()
    wrong = []
    for case in CASES:
        if case.record_id in JSON_TYPES:
            reasons = [r["reason"] for r in quarantine_rows(run.engine, case.source, case.stream, case.record_id)]
            if not any(JSON_TYPES[case.record_id] in r for r in reasons):
                wrong.append(f"{case.label}: {reasons} (expected to name a JSON {JSON_TYPES[case.record_id]})")
    assert not wrong, "\n".join(sorted(set(w.split(":", 1)[1] for w in wrong)))


def test_run_summary_names_reasons(run):
    result = run.ok()
    assert result["top_reasons"], "quarantined rows but no reasons in the summary"
    for reason, n in result["top_reasons"]:
        assert reason and n > 0 and len(reason) < 1000


# --- fixed at the source: leaves quarantine on the next run ------------------------------------------

@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_record_fixed_at_source_leaves_quarantine(backend, tmp_path):
    engine = new_warehouse(backend, tmp_path)
    repaired = fixes()
    # The fixed records' streams (and the customers their invoices refer to), without the 10 MB
    # records: two staging runs over the whole corpus would double this suite's time for nothing.
    streams = {(s, st) for s, st, _r in repaired} | {("quickbooks", "customers")}
    cases = [c for c in CASES if (c.source, c.stream) in streams and c.kind != "huge_string"]
    try:
        write_raw(engine, cases, "extract-1")
        first, error = stage(engine, "run-1")
        assert error is None, f"stage_all crashed on the hostile corpus:\n{error}"
        before = {(q["source"], q["stream"], q["record_id"]) for s, st in streams
                  for q in quarantine_rows(engine, s, st)}
        assert set(repaired) <= before, f"fix targets not quarantined first: {set(repaired) - before}"

        now = datetime.now(UTC)  # the next incremental extract brings each record's new version
        with engine.begin() as conn:
            upsert_rows(conn, raw_records, [raw_row(s, st, rid, json.dumps(p, ensure_ascii=False, sort_keys=True),
                                                    False, "extract-2", now)
                                            for (s, st, rid), (p, _values) in repaired.items()],
                        keep_on_update=["first_loaded_at"], only_if_changed=["payload_hash", "is_deleted"])
        second, error = stage(engine, "run-2")
        assert error is None, f"second stage_all crashed:\n{error}"

        for (s, st, rid), (_p, values) in repaired.items():
            assert not quarantine_rows(engine, s, st, rid), f"{s}.{st}:{rid} still quarantined"
            stg = rows_of(engine, f"stg_{s}__{st}", s, st, rid)
            assert len(stg) == 1 and stg[0]["run_id"] == "run-2", f"{s}.{st}:{rid} not staged by the new run"
            assert all(same(stg[0][k], v) for k, v in values.items()), (stg[0], values)
        after = {(q["source"], q["stream"], q["record_id"]) for s, st in streams
                 for q in quarantine_rows(engine, s, st)}
        assert after == before - set(repaired), "only the fixed records may leave quarantine"
        for item in second["reconciliation"]:
            assert item["raw"] == item["staged"] + item["quarantined"] + item["tombstones"] + item["unmapped"]
        old = {(r["source"], r["stream"]): r for r in first["reconciliation"]}
        for (s, st), n in Counter((s, st) for s, st, _r in repaired).items():
            new = next(r for r in second["reconciliation"] if (r["source"], r["stream"]) == (s, st))
            assert new["quarantined"] == old[(s, st)]["quarantined"] - n
            assert new["staged"] == old[(s, st)]["staged"] + n
    finally:
        engine.dispose()


# --- the extractor's side of a hostile page ------------------------------------------------------------

class PageSource:
    """A stand-in connector serving fixed pages: the extractor's real code paths, no network."""

    name = "woocommerce"

    class _Stream:
        name = "customers"
        cursor = None

    def __init__(self, pages: list[list[Any]]):
        self.pages = pages

    def stream(self, _name: str) -> Any:
        return self._Stream()

    def read_pages(self, _stream: str, _since: Any):
        yield from self.pages

    def record_id(self, _stream: Any, record: dict[str, Any]) -> str:
        return str(record["id"])

    def record_cursor(self, _stream: Any, _record: dict[str, Any]) -> None:
        return None

    def is_deleted(self, _stream: Any, _record: dict[str, Any]) -> bool:
        return False


def _raw(engine: sa.Engine, source: str, stream: str) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(raw_records.c.record_id, raw_records.c.payload).where(
            raw_records.c.source == source, raw_records.c.stream == stream)).all()
    return {rid: json.loads(payload) for rid, payload in rows}


def test_extractor_keeps_the_last_of_a_key_repeated_in_a_page(engine):
    from include.extract import extract_stream
    from tests.hostile.corpus import good_woo_customer

    first, second = good_woo_customer(5, "Old", "Version"), good_woo_customer(5, "New", "Version")
    pages = [[good_woo_customer(4), first, second, good_woo_customer(6)], [good_woo_customer(7)]]
    stats = extract_stream(PageSource(pages), "customers", engine, "dup-1")
    raw = _raw(engine, "woocommerce", "customers")
    assert sorted(raw) == ["4", "5", "6", "7"]
    assert raw["5"]["first_name"] == "New", "the later version of a repeated key must win"
    assert stats["rows"] == 4 and stats["repeated"] == 1


def test_extractor_survives_lone_surrogates_and_nul(engine):
    """JSON may legally carry "\\ud800" and "\\u0000" escapes; requests decodes them into str as is."""
    from include.extract import extract_stream
    from tests.hostile.corpus import NUL_NAME, SURROGATE_NAME, good_woo_customer

    records = [good_woo_customer(1), {**good_woo_customer(2), "first_name": NUL_NAME},
               {**good_woo_customer(3), "last_name": SURROGATE_NAME}]
    try:
        extract_stream(PageSource([records]), "customers", engine, "sur-1")
    except Exception as exc:  # noqa: BLE001
        from connectors.http import SourceError

        assert isinstance(exc, SourceError), (
            f"a lone surrogate crashed the extract with {type(exc).__name__}: {exc} "
            "(not a clean, named error; the page and the records beside it are lost)")
        return
    raw = _raw(engine, "woocommerce", "customers")
    assert sorted(raw) == ["1", "2", "3"], "records beside the hostile ones disappeared"
    assert raw["2"]["first_name"] == NUL_NAME


def test_extractor_handles_an_oversized_primary_key(engine):
    """A key longer than raw_records.record_id (200) holds: a named error or a stored record, never a
    driver error halfway through a page (PostgreSQL refuses the value; SQLite would keep it)."""
    from include.extract import extract_stream
    from tests.hostile.corpus import good_woo_customer

    long_id = "9" * 300
    records = [good_woo_customer(1), {**good_woo_customer(2), "id": long_id}]
    try:
        extract_stream(PageSource([records]), "customers", engine, "key-1")
    except Exception as exc:  # noqa: BLE001
        from connectors.http import SourceError

        assert isinstance(exc, SourceError), (
            f"an oversized primary key crashed the extract with {type(exc).__name__}: {str(exc)[:300]}")
        assert "200" in str(exc) or "key" in str(exc).lower(), str(exc)
        return
    raw = _raw(engine, "woocommerce", "customers")
    assert "1" in raw and len(raw) == 2, "a record disappeared"

"""Legacy CRM over SQL (SuiteCRM schema): contacts (with their emails and account) and accounts.

A contact's cursor, `date_modified_effective`, is the latest of the contact's, its email rows' and
their links' date_modified, so an opt-out set on an email row re-emits the contact even though the
contact row did not change. Soft-deleted rows (deleted=1) are read as tombstones. The connection is
read-only (driver session, SQLite URI).

Paging is keyset and index-driven so a page costs the same at 1,000 or 1,000,000 contacts:

- full read (no bound): contacts by primary key, `id > :after ORDER BY id LIMIT n`; the emails of
  the page's ids are fetched through the email_addr_bean_rel.bean_id index and the effective time is
  computed per page, never over the whole tables;
- incremental read: the ids of contacts changed since the bound are the union of three index range
  scans (contacts.date_modified, email_addr_bean_rel.date_modified, email_addresses.date_modified
  then email_addr_bean_rel.email_address_id), paged by id. A page costs O(changed rows); when that
  set is large (a stale cursor) the read walks the primary key instead and keeps the contacts
  changed since the bound, so a read never costs more than a full one;
- accounts: full read by primary key, incremental by the (date_modified, id) keyset.

The connector relies on these indexes (SuiteCRM installs have them, or the DBA adds them):
contacts(date_modified), email_addresses(date_modified), email_addr_bean_rel(date_modified),
email_addr_bean_rel(bean_id), email_addr_bean_rel(email_address_id), accounts(date_modified[, id]),
accounts_contacts(contact_id). Without them each page query is a full table scan.

Id order is not change order, so a row edited during a read may be behind the position already
read; the engine never saves a cursor past the run's start, so the next read picks it up.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from connectors.http import SourceError
from include.config import Connection

PAGE_SIZE = 1000
# An incremental read whose changed-row count exceeds this many pages walks the primary key instead.
STALE_PAGES = 20
EPOCH = datetime(1970, 1, 1)


def _sql(text: str, expanding: Sequence[str] = ()) -> sa.TextClause:
    return sa.text(text).bindparams(*[sa.bindparam(name, expanding=True) for name in expanding])


CONTACTS_BY_ID_SQL = _sql("SELECT c.* FROM contacts c WHERE c.id > :after ORDER BY c.id LIMIT :limit")

CONTACTS_IN_SQL = _sql("SELECT c.* FROM contacts c WHERE c.id IN :ids ORDER BY c.id", expanding=["ids"])

# Each branch is an index range scan on date_modified; `> :after` keeps later pages from re-reading ids.
# COALESCE hides the id columns from the planner: a range on id (the whole table on page one) must
# never be chosen over the date_modified range, and SQLite, with no statistics, would choose it.
CHANGED_CONTACT_IDS_SQL = _sql("""
SELECT u.id FROM (
  SELECT c.id AS id FROM contacts c WHERE c.date_modified >= :since AND COALESCE(c.id, '') > :after
  UNION
  SELECT r.bean_id AS id FROM email_addr_bean_rel r
  WHERE r.date_modified >= :since AND r.bean_module = 'Contacts' AND COALESCE(r.bean_id, '') > :after
  UNION
  SELECT r.bean_id AS id FROM email_addr_bean_rel r
  WHERE r.email_address_id IN (SELECT e.id FROM email_addresses e WHERE e.date_modified >= :since)
    AND r.bean_module = 'Contacts' AND COALESCE(r.bean_id, '') > :after
) u ORDER BY u.id LIMIT :limit
""")

# How many rows changed since the bound, counting at most :cap per table (cheap: index ranges, capped).
CHANGED_COUNT_SQL = _sql("""
SELECT (SELECT COUNT(*) FROM (SELECT 1 AS x FROM contacts WHERE date_modified >= :since LIMIT :cap) a)
     + (SELECT COUNT(*) FROM (SELECT 1 AS x FROM email_addr_bean_rel WHERE date_modified >= :since LIMIT :cap) b)
     + (SELECT COUNT(*) FROM (SELECT 1 AS x FROM email_addresses WHERE date_modified >= :since LIMIT :cap) c)
""")

# Deleted links and email rows count for the effective time (a removal is a change), not for `emails`.
EMAILS_SQL = _sql("""
SELECT r.bean_id, r.primary_address, r.deleted AS rel_deleted, r.date_modified AS rel_modified,
       e.id AS email_id, e.email_address, e.opt_out, e.invalid_email, e.deleted AS email_deleted,
       e.date_modified AS email_modified
FROM email_addr_bean_rel r LEFT JOIN email_addresses e ON e.id = r.email_address_id
WHERE r.bean_module = 'Contacts' AND r.bean_id IN :ids
ORDER BY r.bean_id, r.primary_address DESC, e.email_address
""", expanding=["ids"])

CONTACT_ACCOUNTS_SQL = _sql("""
SELECT ac.contact_id, a.id, a.name
FROM accounts_contacts ac JOIN accounts a ON a.id = ac.account_id
WHERE ac.deleted = 0 AND a.deleted = 0 AND ac.contact_id IN :ids
ORDER BY ac.contact_id, a.name
""", expanding=["ids"])

ACCOUNTS_BY_ID_SQL = _sql("SELECT a.* FROM accounts a WHERE a.id > :after ORDER BY a.id LIMIT :limit")

# Keyset on (date_modified, id), written so the date_modified index drives the range scan. The
# position is the last row's date_modified exactly as the database gave it (see _at).
ACCOUNTS_CHANGED_SQL = _sql("""
SELECT a.* FROM accounts a
WHERE a.date_modified >= :position AND (a.date_modified > :position OR a.id > :after)
ORDER BY a.date_modified, a.id LIMIT :limit
""")


@dataclass(frozen=True)
class SqlStream:
    name: str
    table: str
    primary_key: str = "id"
    cursor_field: str = "date_modified_effective"


def _read_only(engine: sa.Engine) -> None:
    """Make every session read-only, committed at once so a later rollback cannot undo it."""
    dialect = engine.dialect.name
    statement = {"mysql": "SET SESSION TRANSACTION READ ONLY",
                 "mariadb": "SET SESSION TRANSACTION READ ONLY",
                 "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"}.get(dialect)
    if statement:
        @sa.event.listens_for(engine, "connect")
        def _set(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute(statement)
            cur.close()
            dbapi_conn.commit()  # PostgreSQL: a SET inside a transaction that is rolled back is undone


def _as_naive_utc(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _naive_text(value: Any) -> bool:
    """SQLite's naive 'YYYY-MM-DD HH:MM:SS[.ffffff]' text, which sorts as the times it spells."""
    return type(value) is str and len(value) >= 19 and value[10] == " " and value[-6] not in "+-" \
        and not value.endswith("Z")


def _latest(*values: Any) -> datetime | None:
    present = [v for v in values if v is not None and v != ""]
    if not present:
        return None
    if all(map(_naive_text, present)):  # compare the text, parse only the latest (once per contact)
        return _as_naive_utc(max(present))
    return max(map(_as_naive_utc, present))


BPCHAR = 1042  # PostgreSQL's CHAR(n) type oid: values come back blank-padded to n


def _fetch(result: sa.CursorResult) -> list[dict[str, Any]]:
    """Rows as dicts, CHAR(n) padding removed (PostgreSQL pads '1' to 36 characters; MariaDB does not)."""
    padded = [col[0] for col in result.cursor.description or () if col[1] == BPCHAR] if result.cursor else []
    keys = list(result.keys())
    rows = [dict(zip(keys, row, strict=True)) for row in result]  # cheaper than RowMapping per row
    for row in rows:
        for name in padded:
            if isinstance(row[name], str):
                row[name] = row[name].rstrip(" ")
    return rows


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # isoformat is several times cheaper than strftime
            return value.replace(microsecond=0).isoformat(" ")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _documents(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts, converting only the columns that hold datetimes or bytes (a column's
    type is found from its first non-null value on the page, not by testing every cell)."""
    convert, unknown = set(), set(rows[0]) if rows else set()
    for row in rows:
        for key in [k for k in unknown if row[k] is not None]:
            unknown.discard(key)
            if isinstance(row[key], (datetime, bytes)):
                convert.add(key)
        if not unknown:
            break
    docs = []
    for row in rows:
        doc = dict(row)
        for key in convert:
            doc[key] = _jsonable(doc[key])
        docs.append(doc)
    return docs


class LegacyCrm:
    name = "legacy_crm"
    streams = (SqlStream("contacts", "contacts"), SqlStream("accounts", "accounts"))

    def __init__(self, conn: Connection, page_size: int | None = None):
        self.page_size = page_size or PAGE_SIZE
        url = conn.extra.get("url") or conn.host
        if "://" not in url:
            raise SourceError(self.name, None, "connection host must be an SQLAlchemy URL, e.g. mysql+pymysql://…")
        if url.startswith("sqlite:///") and "mode=ro" not in url:
            url = "sqlite:///file:" + url.removeprefix("sqlite:///") + "?mode=ro&uri=true"
        self.engine = sa.create_engine(url, pool_pre_ping=True)
        _read_only(self.engine)

    def _at(self, moment: datetime) -> Any:
        """A lower bound as the database compares it.

        SQLite keeps datetimes as text, written as '… 12:00:00' or '… 12:00:00.000000' depending on the
        writer; '>=' the seconds-only form is true for both, so no row on the bound is missed.
        """
        return moment.strftime("%Y-%m-%d %H:%M:%S") if self.engine.dialect.name == "sqlite" else moment

    def stream(self, name: str) -> SqlStream:
        for stream in self.streams:
            if stream.name == name:
                return stream
        raise KeyError(f"{self.name} has no stream {name!r}")

    def check(self) -> None:
        """Every stream's table must be readable; the message names the table, never the URL."""
        for stream in self.streams:
            try:
                with self.engine.connect() as conn:
                    conn.execute(sa.text(f"SELECT COUNT(*) FROM {stream.table} WHERE 1 = 0"))
            except sa.exc.SQLAlchemyError as exc:
                raise SourceError(self.name, None,
                                  f"cannot read {stream.table}: {type(exc.orig or exc).__name__}") from None

    def discover(self) -> dict[str, dict[str, Any]]:
        """Stream catalogue, as HttpSource.discover gives it: key, cursor, write mode, fields seen."""
        catalogue = {}
        for stream in self.streams:
            first = next(iter(self.read_pages(stream.name, None)), [])
            catalogue[stream.name] = {"primary_key": stream.primary_key, "cursor_field": stream.cursor_field,
                                      "write_mode": "merge", "fields": sorted({k for r in first[:50] for k in r})}
        return catalogue

    def record_id(self, stream: SqlStream, record: dict[str, Any]) -> str:
        return str(record["id"])

    def record_cursor(self, stream: SqlStream, record: dict[str, Any]) -> datetime | None:
        value = _as_naive_utc(record.get("date_modified_effective"))
        return value.replace(tzinfo=UTC) if value else None

    def is_deleted(self, stream: SqlStream, record: dict[str, Any]) -> bool:
        return str(record.get("deleted")) in {"1", "True", "true"}

    def read_pages(self, stream_name: str, since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        """Pages of records changed at or after `since` (all records when None), each id once."""
        self.stream(stream_name)
        bound = _as_naive_utc(since)
        if stream_name == "accounts":
            return self._account_pages(bound)
        if bound is None or self._changed_rows(bound) > STALE_PAGES * self.page_size:
            return self._contact_pages_by_id(bound)
        return self._changed_contact_pages(bound)

    # contacts

    def _changed_rows(self, since: datetime) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(CHANGED_COUNT_SQL, {"since": self._at(since),
                                                        "cap": STALE_PAGES * self.page_size + 1}).scalar() or 0)

    def _contact_pages_by_id(self, since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        """Walk the primary key; with a bound, keep the contacts whose effective time reaches it."""
        after = ""
        while True:
            with self.engine.connect() as conn:
                rows = _fetch(conn.execute(CONTACTS_BY_ID_SQL, {"after": after, "limit": self.page_size}))
                page = self._contact_documents(conn, rows)
            if since is not None:
                page = [doc for doc in page if (_as_naive_utc(doc["date_modified_effective"]) or EPOCH) >= since]
            if page:
                yield page
            if len(rows) < self.page_size:
                return
            after = rows[-1]["id"]

    def _changed_contact_pages(self, since: datetime) -> Iterator[list[dict[str, Any]]]:
        after = ""
        while True:
            with self.engine.connect() as conn:
                ids = conn.execute(CHANGED_CONTACT_IDS_SQL, {"since": self._at(since), "after": after,
                                                             "limit": self.page_size}).scalars().all()
                rows = _fetch(conn.execute(CONTACTS_IN_SQL, {"ids": ids})) if ids else []
                page = self._contact_documents(conn, rows)
            if page:
                yield page
            if len(ids) < self.page_size:
                return
            after = ids[-1]

    def _contact_documents(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Contacts with their live emails, account name and effective change time, from two id lookups."""
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        emails: dict[str, list[dict[str, Any]]] = {}
        modified: dict[str, list[Any]] = {}
        for (bean_id, primary, rel_deleted, rel_modified, email_id, address, opt_out, invalid, email_deleted,
             email_modified) in conn.execute(EMAILS_SQL, {"ids": ids}):
            modified.setdefault(bean_id, []).append(rel_modified)
            if email_id is None:
                continue
            modified[bean_id].append(email_modified)
            if int(rel_deleted or 0) == 0 and int(email_deleted or 0) == 0:
                emails.setdefault(bean_id, []).append(
                    {"email_address": address, "opt_out": int(opt_out or 0),
                     "invalid_email": int(invalid or 0), "primary": int(primary or 0)})
        accounts: dict[str, tuple[str, str]] = {}
        for contact_id, account_id, name in conn.execute(CONTACT_ACCOUNTS_SQL, {"ids": ids}):
            accounts.setdefault(contact_id, (account_id, name))
        page = _documents(rows)
        for row, doc in zip(rows, page, strict=True):
            doc["date_modified_effective"] = _jsonable(_latest(row["date_modified"], *modified.get(row["id"], ())))
            doc["emails"] = emails.get(row["id"], [])
            doc["email_opt_out"] = int(any(e["opt_out"] for e in doc["emails"]))
            doc["account_id"], doc["account_name"] = accounts.get(row["id"], (None, None))
        return page

    # accounts

    def _account_pages(self, since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        after, position = "", self._at(since) if since else None
        while True:
            with self.engine.connect() as conn:
                if since is None:
                    rows = conn.execute(ACCOUNTS_BY_ID_SQL, {"after": after, "limit": self.page_size})
                else:
                    rows = conn.execute(ACCOUNTS_CHANGED_SQL, {"position": position, "after": after,
                                                               "limit": self.page_size})
                rows = _fetch(rows)
            page = _documents(rows)
            for row, doc in zip(rows, page, strict=True):
                doc["date_modified_effective"] = _jsonable(_as_naive_utc(row["date_modified"]))
            if page:
                yield page
            if len(rows) < self.page_size:
                return
            after, position = rows[-1]["id"], rows[-1]["date_modified"]

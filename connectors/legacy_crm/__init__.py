"""Legacy CRM over SQL (SuiteCRM schema): contacts with their emails and account, keyset-paginated.

The cursor is the latest of the contact's, its email rows' and their links' date_modified, so an
opt-out set on an email row is picked up even though the contact row did not change. Soft-deleted
contacts are read as tombstones. The connection is read-only (driver session and SQLite URI).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from connectors.http import SourceError
from include.config import Connection

PAGE_SIZE = 1000
EPOCH = datetime(1970, 1, 1)

CONTACTS_SQL = sa.text("""
WITH em AS (
  SELECT r.bean_id AS contact_id,
         MAX(CASE WHEN e.date_modified > r.date_modified THEN e.date_modified ELSE r.date_modified END) AS m
  FROM email_addr_bean_rel r JOIN email_addresses e ON e.id = r.email_address_id
  WHERE r.bean_module = 'Contacts'
  GROUP BY r.bean_id
), c2 AS (
  SELECT c.*, CASE WHEN em.m IS NOT NULL AND em.m > c.date_modified THEN em.m ELSE c.date_modified END
         AS seam_cursor
  FROM contacts c LEFT JOIN em ON em.contact_id = c.id
)
SELECT * FROM c2
WHERE seam_cursor > :since OR (seam_cursor = :since AND id > :after_id)
ORDER BY seam_cursor, id
LIMIT :limit
""").bindparams(sa.bindparam("since", type_=sa.DateTime()))

EMAILS_SQL = sa.text("""
SELECT r.bean_id, r.primary_address, e.email_address, e.opt_out, e.invalid_email
FROM email_addr_bean_rel r JOIN email_addresses e ON e.id = r.email_address_id
WHERE r.bean_module = 'Contacts' AND r.deleted = 0 AND e.deleted = 0 AND r.bean_id IN :ids
ORDER BY r.bean_id, r.primary_address DESC, e.email_address
""").bindparams(sa.bindparam("ids", expanding=True))

ACCOUNTS_SQL = sa.text("""
SELECT ac.contact_id, a.name
FROM accounts_contacts ac JOIN accounts a ON a.id = ac.account_id
WHERE ac.deleted = 0 AND a.deleted = 0 AND ac.contact_id IN :ids
ORDER BY ac.contact_id, a.name
""").bindparams(sa.bindparam("ids", expanding=True))


@dataclass(frozen=True)
class SqlStream:
    name: str
    primary_key: str = "id"
    cursor_field: str = "seam_cursor"


def _read_only(engine: sa.Engine) -> None:
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


def _as_naive_utc(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


class LegacyCrm:
    name = "legacy_crm"
    streams = (SqlStream("contacts"),)

    def __init__(self, conn: Connection, page_size: int | None = None):
        self.page_size = page_size or PAGE_SIZE
        url = conn.extra.get("url") or conn.host
        if "://" not in url:
            raise SourceError(self.name, None, "connection host must be an SQLAlchemy URL, e.g. mysql+pymysql://…")
        if url.startswith("sqlite:///") and "mode=ro" not in url:
            url = "sqlite:///file:" + url.removeprefix("sqlite:///") + "?mode=ro&uri=true"
        self.engine = sa.create_engine(url, pool_pre_ping=True)
        _read_only(self.engine)

    def stream(self, name: str) -> SqlStream:
        for stream in self.streams:
            if stream.name == name:
                return stream
        raise KeyError(f"{self.name} has no stream {name!r}")

    def check(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT COUNT(*) FROM contacts WHERE 1 = 0"))
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(self.name, None, f"cannot read contacts: {type(exc.orig or exc).__name__}") from None

    def discover(self) -> dict[str, dict[str, Any]]:
        """Stream catalogue, as HttpSource.discover gives it: key, cursor, write mode, fields seen."""
        catalogue = {}
        for stream in self.streams:
            first = next(iter(self.read_pages(stream.name, None)), [])
            catalogue[stream.name] = {"primary_key": stream.primary_key, "cursor_field": "date_modified_effective",
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
        self.stream(stream_name)
        position = (_as_naive_utc(since) or EPOCH, "")
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(CONTACTS_SQL, {"since": position[0], "after_id": position[1],
                                                   "limit": self.page_size}).mappings().all()
                if not rows:
                    return
                ids = [row["id"] for row in rows]
                emails: dict[str, list[dict[str, Any]]] = {}
                for e in conn.execute(EMAILS_SQL, {"ids": ids}).mappings():
                    emails.setdefault(e["bean_id"], []).append(
                        {"email_address": e["email_address"], "opt_out": int(e["opt_out"] or 0),
                         "invalid_email": int(e["invalid_email"] or 0), "primary": int(e["primary_address"] or 0)})
                accounts: dict[str, str] = {}
                for a in conn.execute(ACCOUNTS_SQL, {"ids": ids}).mappings():
                    accounts.setdefault(a["contact_id"], a["name"])
            page = []
            for row in rows:
                doc = {k: _jsonable(v) for k, v in row.items() if k != "seam_cursor"}
                doc["date_modified_effective"] = _jsonable(_as_naive_utc(row["seam_cursor"]))
                doc["emails"] = emails.get(row["id"], [])
                doc["email_opt_out"] = int(any(e["opt_out"] for e in doc["emails"]))
                doc["account_name"] = accounts.get(row["id"])
                page.append(doc)
            yield page
            if len(rows) < self.page_size:
                return
            position = (_as_naive_utc(rows[-1]["seam_cursor"]), rows[-1]["id"])

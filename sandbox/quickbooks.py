"""QuickBooks Online sandbox: the query language, companyinfo, CDC, OAuth2 refresh and Intuit's throttling.

Server-side knobs live in `QuickBooksState` (see `state(server)`), so a test can lower a limit or
expire tokens on a running server.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from sandbox import store
from sandbox.http import JsonHandler

ENTITIES = {"customer": "Customer", "invoice": "Invoice", "payment": "Payment"}
FIELDS = {"metadata.lastupdatedtime": ("time", "MetaData.LastUpdatedTime"),
          "metadata.createtime": ("time", "MetaData.CreateTime"), "id": ("int", "Id"),
          "active": ("bool", "Active"), "displayname": ("text", "DisplayName")}
QUERY = re.compile(
    r"^\s*select\s+(?P<what>\*|count\(\*\))\s+from\s+(?P<entity>\w+)"
    r"(?:\s+where\s+(?P<where>.+?))?"
    r"(?:\s+orderby\s+(?P<orderby>.+?))?"
    r"(?:\s+startposition\s+(?P<start>\d+))?"
    r"(?:\s+maxresults\s+(?P<max>\d+))?\s*$", re.IGNORECASE | re.DOTALL)
CONDITION = re.compile(r"^\s*(?P<field>[\w.]+)\s*(?P<op><=|>=|=|<|>|\bin\b)\s*(?P<value>.+?)\s*$", re.IGNORECASE)


CDC_LOOKBACK = timedelta(days=30)
REFRESH_TOKEN_TTL = 8726400  # 101 days, as Intuit announces in x_refresh_token_expires_in


class QueryError(ValueError):
    pass


@dataclass
class QuickBooksState:
    """Per-server limits and OAuth state. Defaults are Intuit's published values.

    Throttling: at most `requests_per_window` API requests in any `window_seconds` (a sliding
    window; only admitted requests count) and `max_concurrent` in flight; beyond either, 429.
    Tokens: the seed access token from credentials.json never expires on its own (static-token
    setups keep working) but `expire_access_tokens` revokes it too; tokens issued by a refresh
    live `token_ttl` seconds. Refresh tokens rotate: a refresh token stops working once its
    successor has been used (so a client that lost one answer can retry), never before.
    """

    token_ttl: float = 3600.0
    requests_per_window: int = 500
    window_seconds: float = 60.0
    max_concurrent: int = 10
    cdc_max_objects: int = 1000
    latency: float = 0.0  # simulated service time per API request (makes concurrency observable)
    throttled: int = 0  # 429s served
    refreshes: int = 0  # successful token refreshes
    unauthorized: int = 0  # 401s served
    seed_revoked: bool = False
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry
    admitted: deque = field(default_factory=deque)  # monotonic times of admitted API requests
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_access_tokens(self) -> None:
        """Every access token now answers 401 (the refresh token still works)."""
        with self.lock:
            self.access_tokens.clear()
            self.seed_revoked = True


_STATE_LOCK = threading.Lock()


def state(server: Any) -> QuickBooksState:
    """The server's QuickBooks state, created with Intuit's defaults on first use."""
    with _STATE_LOCK:
        if getattr(server, "quickbooks", None) is None:
            server.quickbooks = QuickBooksState()
        return server.quickbooks


def _now() -> str:
    return datetime.now(store.COMPANY_TZ).isoformat(timespec="milliseconds")


def _literal(kind: str, text: str) -> Any:
    text = text.strip()
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise QueryError(f"invalid boolean {text}")
        return text.lower() == "true"
    if not (text.startswith("'") and text.endswith("'")) and kind != "int":
        raise QueryError(f"expected a quoted value, found {text}")
    text = text.strip("'")
    if kind == "time":
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise QueryError(f"invalid date-time '{text}'") from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=store.COMPANY_TZ)).astimezone(UTC)
    if kind == "int":
        return int(text)
    return text


def _value(record: dict, path: str, kind: str) -> Any:
    node: Any = record
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if kind == "time" and node:
        return datetime.fromisoformat(node).astimezone(UTC)
    if kind == "int" and node is not None:
        return int(node)
    return node


def parse(query: str) -> dict[str, Any]:
    match = QUERY.match(query or "")
    if not match:
        raise QueryError("query must look like SELECT * FROM <Entity> [WHERE …] [ORDERBY …] "
                         "[STARTPOSITION n] [MAXRESULTS m]")
    entity = ENTITIES.get(match["entity"].lower())
    if entity is None:
        raise QueryError(f"unknown entity {match['entity']}")
    conditions = []
    for clause in re.split(r"\s+and\s+", match["where"] or "", flags=re.IGNORECASE) if match["where"] else []:
        cond = CONDITION.match(clause)
        if not cond or cond["field"].lower() not in FIELDS:
            raise QueryError(f"cannot parse condition '{clause.strip()}'")
        kind, path = FIELDS[cond["field"].lower()]
        op = cond["op"].lower()
        if op == "in":
            inner = cond["value"].strip()
            if not (inner.startswith("(") and inner.endswith(")")):
                raise QueryError("IN needs a parenthesised list")
            value = {_literal(kind, v) for v in inner[1:-1].split(",")}
        else:
            value = _literal(kind, cond["value"])
        conditions.append((path, kind, op, value))
    order = []
    for item in (match["orderby"] or "").split(","):
        words = item.split()
        if not words:
            continue
        if words[0].lower() not in FIELDS or (len(words) > 1 and words[1].lower() not in ("asc", "desc")):
            raise QueryError(f"cannot order by '{item.strip()}'")
        kind, path = FIELDS[words[0].lower()]
        order.append((path, kind, len(words) > 1 and words[1].lower() == "desc"))
    start = int(match["start"] or 1)
    maximum = int(match["max"] or 100)
    if maximum > 1000 or maximum < 1 or start < 1:
        raise QueryError("MAXRESULTS must be between 1 and 1000, STARTPOSITION at least 1")
    return {"count": match["what"] != "*", "entity": entity, "conditions": conditions, "order": order,
            "start": start, "max": maximum}


def run(records: list[dict], plan: dict[str, Any]) -> list[dict]:
    ops = {"=": lambda a, b: a == b, "<": lambda a, b: a is not None and a < b,
           ">": lambda a, b: a is not None and a > b, "<=": lambda a, b: a is not None and a <= b,
           ">=": lambda a, b: a is not None and a >= b, "in": lambda a, b: a in b}
    mentions_active = any(path == "Active" for path, *_ in plan["conditions"])
    out = []
    for record in records:
        if plan["entity"] == "Customer" and not mentions_active and record.get("Active") is False:
            continue  # inactive customers only when the query asks for them
        if all(ops[op](_value(record, path, kind), value) for path, kind, op, value in plan["conditions"]):
            out.append(record)
    for path, kind, desc in reversed(plan["order"]):
        out.sort(key=lambda r, p=path, k=kind: (_value(r, p, k) is None, _value(r, p, k)), reverse=desc)
    return out


SQL_COLUMNS = {"MetaData.LastUpdatedTime": "modified", "Id": "num"}


def sql_plan(plan: dict[str, Any]) -> tuple[str, list[Any], str] | None:
    """WHERE, arguments and ORDER BY for plans the store's indexed columns can answer exactly, else None."""
    where, args, active_filtered = ["kind = ?"], [plan["entity"]], False
    for path, _kind, op, value in plan["conditions"]:
        if path in SQL_COLUMNS and op != "in":
            if isinstance(value, datetime):
                if value.microsecond:
                    return None
                value = store.utc_key(value)
            where.append(f"{SQL_COLUMNS[path]} {op} ?")
            args.append(value)
        elif path == "Active" and plan["entity"] == "Customer" and op in ("=", "in"):
            tags = sorted("active" if v else "inactive" for v in (value if op == "in" else {value}))
            if len(tags) < 2:  # Active IN (true, false) filters nothing (and tag has no index)
                where.append("tag = ?")
                args.append(tags[0])
            active_filtered = True
        else:
            return None
    if plan["entity"] == "Customer" and not active_filtered:
        where.append("tag = 'active'")
    order = []
    for path, _kind, desc in plan["order"]:
        if path not in SQL_COLUMNS:
            return None
        order.append(f"{SQL_COLUMNS[path]} {'DESC' if desc else 'ASC'}")
    if not any(o.startswith("num ") for o in order):
        order.append("num ASC")  # a total order: ties broken by Id
    return " AND ".join(where), args, ", ".join(order)


def _parse_changed_since(text: str) -> datetime:
    """ISO 8601 date or date-time; without an offset it is the company's local time."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"invalid changedSince '{text}'") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=store.COMPANY_TZ)).astimezone(UTC)


class QuickBooksHandler(JsonHandler):
    def fault(self, status: int, message: str, detail: str, code: str, kind: str) -> None:
        self.send_json(status, {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code}],
                                          "type": kind}, "time": _now()})

    def dispatch(self, method: str) -> None:
        parts = self.parts.path.strip("/").split("/")
        if parts == ["oauth2", "v1", "tokens", "bearer"] and method == "POST":
            return self.token()
        if len(parts) < 4 or parts[:2] != ["v3", "company"]:
            return self.fault(404, "Resource not found", "Unknown path", "610", "ValidationFault")
        qb = state(self.server)
        with qb.lock:
            now = time.monotonic()
            while qb.admitted and qb.admitted[0] <= now - qb.window_seconds:
                qb.admitted.popleft()
            busy = qb.in_flight >= qb.max_concurrent or len(qb.admitted) >= qb.requests_per_window
            if busy:
                qb.throttled += 1
            else:
                qb.in_flight += 1
                qb.admitted.append(now)
        if busy:
            return self.fault(429, "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                              "The request limit was reached.", "3001", "SERVICE")
        try:
            if qb.latency:
                time.sleep(qb.latency)
            return self.api(method, parts)
        finally:
            with qb.lock:
                qb.in_flight -= 1

    def _token_valid(self, token: str) -> bool:
        qb = state(self.server)
        with qb.lock:
            if not qb.seed_revoked and hmac.compare_digest(token, self.server.credentials["access_token"]):
                return True
            expiry = qb.access_tokens.get(token)
            return expiry is not None and expiry > time.monotonic()

    def api(self, method: str, parts: list[str]) -> None:
        header = self.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        if not token or not self._token_valid(token):
            with state(self.server).lock:
                state(self.server).unauthorized += 1
            return self.send_json(401, {"fault": {"error": [{
                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": "Token expired: the access token is invalid or has expired", "code": "3200"}],
                "type": "AUTHENTICATION"}, "time": _now()})
        realm = self.server.credentials["realm_id"]
        if parts[2] != realm:
            return self.send_json(403, {"Fault": {"Error": [{
                "Message": "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                "Detail": "", "code": "3100"}], "type": "AUTHORIZATION"}, "time": _now()})
        if parts[3:] == ["companyinfo", realm] and method == "GET":
            return self.send_json(200, {"CompanyInfo": {"Id": realm, "CompanyName": "Seam Sandbox Trading Co.",
                                                        "Country": "US"}, "time": _now()})
        if parts[3:] == ["query"] and method in ("GET", "POST"):
            query = self.query.get("query") if method == "GET" else self.body_text()
            return self.answer(query or "")
        if parts[3:] == ["cdc"] and method == "GET":
            return self.cdc()
        return self.fault(404, "Resource not found", "Unknown path", "610", "ValidationFault")

    def cdc(self) -> None:
        """Change data capture: every entity changed or deleted since changedSince (30 days at most).

        As Intuit documents, one answer holds at most `cdc_max_objects` objects (all entities
        together) and there is no paging: what is beyond is left out, oldest changes first kept.
        """
        names = [n.strip() for n in (self.query.get("entities") or "").split(",") if n.strip()]
        unknown = [n for n in names if n.lower() not in ENTITIES]
        if not names or unknown:
            return self.fault(400, "Invalid query", f"QueryValidationError: unsupported entities {unknown or names}",
                              "4001", "ValidationFault")
        try:
            since = _parse_changed_since(self.query.get("changedSince") or "")
        except QueryError as exc:
            return self.fault(400, "Invalid query", f"QueryValidationError: {exc}", "4001", "ValidationFault")
        if since < datetime.now(UTC) - CDC_LOOKBACK:
            return self.fault(400, "Invalid Request", "changedSince must be a date within the last 30 days",
                              "2030", "ValidationFault")
        budget = state(self.server).cdc_max_objects
        conn = store.connect(self.server.data_dir, "quickbooks")
        answers = []
        for name in names:
            entity = ENTITIES[name.lower()]
            changed = [(modified, json.loads(body)) for modified, body in conn.execute(
                "SELECT modified, body FROM objects WHERE kind = ? AND modified >= ? ORDER BY modified, num",
                (entity, store.utc_key(since)))]
            deleted = [(when, {"Id": record_id, "status": "Deleted", "domain": "QBO", "MetaData": {
                "LastUpdatedTime": datetime.fromisoformat(when).replace(tzinfo=UTC).astimezone(store.COMPANY_TZ)
                .isoformat(timespec="seconds")}}) for record_id, when in store.deletions_since(conn, entity, since)]
            objects = [body for _when, body in sorted(changed + deleted, key=lambda pair: pair[0])][:max(0, budget)]
            budget -= len(objects)
            answers.append({entity: objects, "startPosition": 1, "maxResults": len(objects)} if objects else {})
        conn.close()
        return self.send_json(200, {"CDCResponse": [{"QueryResponse": answers}], "time": _now()})

    def token(self) -> None:
        """Intuit's token endpoint, refresh_token grant only; the client authenticates with HTTP Basic."""
        creds, qb = self.server.credentials, state(self.server)
        header = self.headers.get("Authorization", "")
        try:
            client_id, _, client_secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            client_id = client_secret = ""
        form = {k: v[-1] for k, v in parse_qs(self.body_text()).items()}
        if not (header.startswith("Basic ") and creds.get("client_id") and creds.get("client_secret")
                and hmac.compare_digest(client_id, creds["client_id"])
                and hmac.compare_digest(client_secret, creds["client_secret"])):
            return self.send_json(401, {"error": "invalid_client"})
        if form.get("grant_type") != "refresh_token":
            return self.send_json(400, {"error": "unsupported_grant_type"})
        offered = form.get("refresh_token") or ""
        with qb.lock:
            chain = store.connect(self.server.data_dir, "quickbooks")
            tokens = store.get_meta(chain, "oauth_refresh") or {"current": creds.get("refresh_token"), "previous": None}
            if offered and tokens["current"] and hmac.compare_digest(offered, tokens["current"]):
                tokens["previous"] = tokens["current"]  # the one before it is now spent
            elif not (offered and tokens["previous"] and hmac.compare_digest(offered, tokens["previous"])):
                chain.close()
                return self.send_json(400, {"error": "invalid_grant"})
            tokens["current"] = "AB11" + secrets.token_urlsafe(36)
            chain.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                          ("oauth_refresh", json.dumps(tokens)))
            chain.close()
            access = "eyJ" + secrets.token_urlsafe(48)
            qb.access_tokens[access] = time.monotonic() + qb.token_ttl
            qb.refreshes += 1
        return self.send_json(200, {"access_token": access, "refresh_token": tokens["current"], "token_type": "bearer",
                                    "expires_in": max(1, round(qb.token_ttl)),
                                    "x_refresh_token_expires_in": REFRESH_TOKEN_TTL},
                              headers={"Cache-Control": "no-store"})

    def answer(self, query: str) -> None:
        try:
            plan = parse(query)
        except QueryError as exc:
            return self.fault(400, "Error parsing query", f"QueryParserError: {exc}", "4000", "ValidationFault")
        if self.overlap(plan["start"] > 1):  # fault "repeat": the previous page's last entity comes again
            plan = {**plan, "start": plan["start"] - 1, "max": plan["max"] + 1}
        conn = store.connect(self.server.data_dir, "quickbooks")
        pushed = sql_plan(plan)
        if pushed:  # answered by the indexed columns, page by page
            where, args, order = pushed
            if plan["count"]:
                total = conn.execute(f"SELECT COUNT(*) FROM objects WHERE {where}", args).fetchone()[0]
                conn.close()
                return self.send_json(200, {"QueryResponse": {"totalCount": total}, "time": _now()})
            page = [json.loads(r) for r in store.page(conn, where, args, order, plan["max"], plan["start"] - 1)]
            conn.close()
            return self._respond(plan, page)
        since = [v for path, _k, op, v in plan["conditions"] if path == "MetaData.LastUpdatedTime" and op in (">", ">=")]
        floor = store.utc_key(max(since)) if since else ""  # narrows the scan; run() applies the exact test
        rows = [json.loads(r[0]) for r in conn.execute(
            "SELECT body FROM objects WHERE kind = ? AND modified >= ? ORDER BY num", (plan["entity"], floor))]
        conn.close()
        matched = run(rows, plan)
        if plan["count"]:
            return self.send_json(200, {"QueryResponse": {"totalCount": len(matched)}, "time": _now()})
        return self._respond(plan, matched[plan["start"] - 1: plan["start"] - 1 + plan["max"]])

    def _respond(self, plan: dict[str, Any], page: list[dict]) -> None:
        response: dict[str, Any] = {}
        if page:
            response = {plan["entity"]: page, "startPosition": plan["start"], "maxResults": len(page)}
        return self.send_json(200, {"QueryResponse": response, "time": _now()})

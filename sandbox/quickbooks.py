"""QuickBooks Online sandbox: /v3/company/{realm}/query with the SQL-like query language, companyinfo."""

from __future__ import annotations

import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any

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


class QueryError(ValueError):
    pass


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
            where.append(f"tag IN ({', '.join('?' * len(tags))})")
            args.extend(tags)
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
    return " AND ".join(where), args, ", ".join([*order, "num ASC"])


class QuickBooksHandler(JsonHandler):
    def fault(self, status: int, message: str, detail: str, code: str, kind: str) -> None:
        self.send_json(status, {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code}],
                                          "type": kind}, "time": _now()})

    def dispatch(self, method: str) -> None:
        parts = self.parts.path.strip("/").split("/")
        if len(parts) < 4 or parts[:2] != ["v3", "company"]:
            return self.fault(404, "Resource not found", "Unknown path", "610", "ValidationFault")
        header = self.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        if not token or not hmac.compare_digest(token, self.server.credentials["access_token"]):
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
        return self.fault(404, "Resource not found", "Unknown path", "610", "ValidationFault")

    def answer(self, query: str) -> None:
        try:
            plan = parse(query)
        except QueryError as exc:
            return self.fault(400, "Error parsing query", f"QueryParserError: {exc}", "4000", "ValidationFault")
        conn = store.connect(self.server.data_dir, "quickbooks")
        pushed = sql_plan(plan)
        if pushed:  # answered by the indexed columns, page by page
            where, args, order = pushed
            if plan["count"]:
                total = conn.execute(f"SELECT COUNT(*) FROM objects WHERE {where}", args).fetchone()[0]
                conn.close()
                return self.send_json(200, {"QueryResponse": {"totalCount": total}, "time": _now()})
            page = [json.loads(r[0]) for r in conn.execute(
                f"SELECT body FROM objects WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                [*args, plan["max"], plan["start"] - 1])]
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

"""WooCommerce REST v3 sandbox: /wp-json/wc/v3/customers and /orders, as WooCommerce answers them."""

from __future__ import annotations

import base64
import hmac
import json
import math
from datetime import UTC, datetime
from urllib.parse import urlencode

from sandbox import store
from sandbox.http import JsonHandler

PREFIX = "/wp-json/wc/v3"
ORDER_BY = {"customers": {"id": "num", "registered_date": "json_extract(body, '$.date_created_gmt')",
                          "name": "json_extract(body, '$.last_name')"},
            "orders": {"id": "num", "date": "json_extract(body, '$.date_created_gmt')", "modified": "modified"}}
DEFAULT_ORDER = {"customers": ("name", "asc"), "orders": ("date", "desc")}


def _error(code: str, message: str, status: int, **data) -> dict:
    return {"code": code, "message": message, "data": {"status": status, **data}}


def _to_utc(value: str, gmt: bool) -> str:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC if gmt else store.SHOP_TZ)
    return store.utc_key(moment)


def only_fields(record: dict, wanted: set[str]) -> dict:
    return {k: v for k, v in record.items() if k in wanted} if wanted else record


class WooCommerceHandler(JsonHandler):
    def authorised(self) -> bool:
        creds = self.server.credentials
        key, secret = self.query.get("consumer_key"), self.query.get("consumer_secret")
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
        return bool(key and secret) and hmac.compare_digest(key, creds["consumer_key"]) and \
            hmac.compare_digest(secret, creds["consumer_secret"])

    def dispatch(self, method: str) -> None:
        path = self.parts.path.rstrip("/")
        if not path.startswith(PREFIX):
            return self.send_json(404, _error("rest_no_route", "No route was found matching the URL and request method.", 404))
        if not self.authorised():
            return self.send_json(401, _error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401))
        parts = path[len(PREFIX):].strip("/").split("/")
        if method != "GET" or parts[0] not in ("customers", "orders") or len(parts) > 2:
            return self.send_json(404, _error("rest_no_route", "No route was found matching the URL and request method.", 404))
        if len(parts) == 2:
            return self.single(parts[0], parts[1])
        return self.listing(parts[0])

    def single(self, kind: str, record_id: str) -> None:
        conn = store.connect(self.server.data_dir, "woocommerce")
        row = conn.execute("SELECT body FROM objects WHERE kind = ? AND id = ?", (kind, record_id)).fetchone()
        conn.close()
        if row is None:
            return self.send_json(404, _error("woocommerce_rest_invalid_id", "Invalid ID.", 404))
        return self.send_json(200, only_fields(json.loads(row[0]), self.wanted_fields()))

    def listing(self, kind: str) -> None:
        q = self.query
        try:
            page = int(q.get("page", "1"))
            per_page = int(q.get("per_page", "10"))
        except ValueError:
            return self.send_json(400, _error("rest_invalid_param", "Invalid parameter(s): page", 400))
        if not 1 <= per_page <= 100:
            return self.send_json(400, _error("rest_invalid_param", "Invalid parameter(s): per_page", 400,
                                              params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"}))
        if page < 1:
            return self.send_json(400, _error("rest_invalid_param", "Invalid parameter(s): page", 400))
        where, args = ["kind = ?"], [kind]
        if kind == "customers":
            role = q.get("role", "customer")
            if role != "all":
                where.append("tag = ?")
                args.append(role)
            if q.get("email"):
                where.append("lower(json_extract(body, '$.email')) = lower(?)")
                args.append(q["email"])
        else:
            gmt = q.get("dates_are_gmt", "false").lower() in ("1", "true")
            bounds = {"modified_after": ("modified", ">"), "modified_before": ("modified", "<"),
                      "after": ("json_extract(body, '$.date_created_gmt')", ">"),
                      "before": ("json_extract(body, '$.date_created_gmt')", "<")}
            for name, (column, op) in bounds.items():
                if q.get(name):
                    try:
                        where.append(f"{column} {op} ?")
                        args.append(_to_utc(q[name], gmt))
                    except ValueError:
                        return self.send_json(400, _error("rest_invalid_param", f"Invalid parameter(s): {name}", 400))
            if q.get("status") and q["status"] != "any":
                statuses = q["status"].split(",")
                where.append(f"tag IN ({','.join('?' * len(statuses))})")
                args.extend(statuses)
        orderby, order = DEFAULT_ORDER[kind]
        orderby, order = q.get("orderby", orderby), q.get("order", order).lower()
        if orderby not in ORDER_BY[kind] or order not in ("asc", "desc"):
            return self.send_json(400, _error("rest_invalid_param", "Invalid parameter(s): orderby", 400))
        sql_where = " AND ".join(where)
        conn = store.connect(self.server.data_dir, "woocommerce")
        total = store.count(conn, self.server.data_dir, "woocommerce", sql_where, args, page == 1)
        column = ORDER_BY[kind][orderby]  # ties broken by id (no second sort when it is the id)
        sort_key = f"{column} {order}" if column == "num" else f"{column} {order}, num {order}"
        repeat = self.overlap(page > 1)  # fault "repeat": the previous page's last record comes again
        rows = store.page(conn, sql_where, args, sort_key, per_page + repeat, (page - 1) * per_page - repeat)
        conn.close()
        pages = math.ceil(total / per_page) if total else 0
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        base = f"http://{self.headers.get('Host')}{self.parts.path}"
        links = []
        q = {k: v for k, v in q.items() if k not in ("consumer_key", "consumer_secret")}
        if page > 1:
            links.append(f'<{base}?{urlencode({**q, "page": page - 1})}>; rel="prev"')
        if page < pages:
            links.append(f'<{base}?{urlencode({**q, "page": page + 1})}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        wanted = self.wanted_fields()
        return self.send_json(200, [only_fields(json.loads(r), wanted) for r in rows], headers)

    def wanted_fields(self) -> set[str]:
        """WordPress's global `_fields` parameter: the top-level fields to keep (empty: all)."""
        return {f for f in self.query.get("_fields", "").split(",") if f}

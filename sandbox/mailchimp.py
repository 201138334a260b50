"""Mailchimp Marketing v3 sandbox: ping, lists, members (list, get, PUT upsert, PATCH), member tags,
campaigns and their reports (sent-to, email activity, unsubscribed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

from sandbox import store
from sandbox.http import JsonHandler

CAMPAIGN_STATUSES = {"save", "paused", "schedule", "sending", "sent"}
REPORTS = {"sent-to": ("sent_to", "sent_to"), "unsubscribed": ("unsubscribes", "unsubscribes")}  # path: kind, key
STATUSES = {"subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"}
MAX_CONNECTIONS = 10
DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode("utf-8")).hexdigest()  # noqa: S324 - Mailchimp's id


class MailchimpHandler(JsonHandler):
    counted = False  # this request is one of the server's in_flight
    def problem(self, status: int, title: str, detail: str) -> None:
        self.send_json(status, {"type": DOCS, "title": title, "status": status, "detail": detail,
                                "instance": str(uuid.uuid4())}, content_type="application/problem+json; charset=utf-8")

    def authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            _user, _, key = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return hmac.compare_digest(key, self.server.credentials["api_key"])

    def _serve(self, method: str) -> None:
        # Counted around injected faults too: a slow answer holds its connection like a real one.
        with self.server.lock:
            self.server.in_flight += 1
            self.counted = True
            busy = self.server.in_flight > MAX_CONNECTIONS
        try:
            if busy:
                return self.problem(429, "Too Many Requests",
                                    "You have exceeded the limit of 10 simultaneous connections.")
            super()._serve(method)
        finally:
            self.release()

    def release(self) -> None:
        """Stop counting this request (once): before its answer goes out, so a client that has the
        answer and sends its next request is never counted twice."""
        with self.server.lock:
            if self.counted:
                self.server.in_flight -= 1
                self.counted = False

    def send_json(self, status: int, payload: object, headers: dict[str, str] | None = None,
                  content_type: str = "application/json; charset=UTF-8") -> None:
        self.release()
        super().send_json(status, payload, headers, content_type)

    def dispatch(self, method: str) -> None:
        self.route(method)

    def route(self, method: str) -> None:
        parts = self.parts.path.strip("/").split("/")
        if not parts or parts[0] != "3.0":
            return self.problem(404, "Resource Not Found", "The requested resource could not be found.")
        if not self.authorised():
            return self.problem(401, "API Key Invalid",
                                "Your API key may be invalid, or you've attempted to access the wrong datacenter.")
        parts = parts[1:]
        list_id = self.server.credentials["list_id"]
        if parts == ["ping"] and method == "GET":
            return self.send_json(200, {"health_status": "Everything's Chimpy!"})
        if parts == ["lists"] and method == "GET":
            return self.send_json(200, {"lists": [self.list_info()], "total_items": 1})
        if parts[:1] in (["campaigns"], ["reports"]) and method == "GET":
            return self.campaign_routes(parts)
        if len(parts) < 2 or parts[0] != "lists" or parts[1] != list_id:
            return self.problem(404, "Resource Not Found", "The requested resource could not be found.")
        if len(parts) == 2 and method == "GET":
            return self.send_json(200, self.list_info())
        if len(parts) == 3 and parts[2] == "members" and method == "GET":
            return self.members()
        if len(parts) >= 4 and parts[2] == "members":
            member = parts[3] if "@" not in parts[3] else subscriber_hash(parts[3])
            if len(parts) == 4 and method == "GET":
                return self.get_member(member)
            if len(parts) == 4 and method in ("PUT", "PATCH"):
                return self.upsert(member, method)
            if len(parts) == 5 and parts[4] == "tags":
                return self.tags(member, method)
        return self.problem(404, "Resource Not Found", "The requested resource could not be found.")

    def list_info(self) -> dict:
        conn = store.connect(self.server.data_dir, "mailchimp")
        count = conn.execute("SELECT COUNT(*) FROM objects WHERE kind = 'members' AND tag = 'subscribed'").fetchone()[0]
        conn.close()
        return {"id": self.server.credentials["list_id"], "name": "Seam sandbox audience",
                "stats": {"member_count": count}}

    def members(self) -> None:
        q = self.query
        try:
            count, offset = int(q.get("count", "10")), int(q.get("offset", "0"))
        except ValueError:
            return self.problem(400, "Invalid Resource", "count and offset must be integers")
        if not 1 <= count <= 1000 or offset < 0:
            return self.problem(400, "Invalid Resource", "count must be between 1 and 1000")
        repeat = self.overlap(offset > 0)  # fault "repeat": the previous page's last member comes again
        count, offset = count + repeat, offset - repeat
        where, args = ["kind = 'members'"], []
        if q.get("status"):
            where.append("tag = ?")
            args.append(q["status"])
        if q.get("since_last_changed"):
            try:
                since = datetime.fromisoformat(q["since_last_changed"].replace("Z", "+00:00"))
            except ValueError:
                return self.problem(400, "Invalid Resource", "since_last_changed is not a valid date-time")
            where.append("modified >= ?")
            args.append(store.utc_key(since if since.tzinfo else since.replace(tzinfo=UTC)))
        sql = " AND ".join(where)
        conn = store.connect(self.server.data_dir, "mailchimp")
        total = store.count(conn, self.server.data_dir, "mailchimp", sql, args, offset == 0)
        rows = store.page(conn, sql, args, "id", count, offset)
        conn.close()
        members = [json.loads(r) for r in rows]
        fields = [f for f in q.get("fields", "").split(",") if f.startswith("members.")]
        if fields:
            keep = {f.split(".", 1)[1] for f in fields}
            members = [{k: v for k, v in m.items() if k in keep} for m in members]
        excluded = {f.split(".", 1)[1] for f in q.get("exclude_fields", "").split(",") if f.startswith("members.")}
        if excluded:
            members = [{k: v for k, v in m.items() if k not in excluded} for m in members]
        return self.send_json(200, {"members": members, "list_id": self.server.credentials["list_id"],
                                    "total_items": total, "_links": []})

    def _load(self, member: str) -> dict | None:
        conn = store.connect(self.server.data_dir, "mailchimp")
        row = conn.execute("SELECT body FROM objects WHERE kind = 'members' AND id = ?", (member,)).fetchone()
        conn.close()
        return json.loads(row[0]) if row else None

    def get_member(self, member: str) -> None:
        body = self._load(member)
        if body is None:
            return self.problem(404, "Resource Not Found", "The requested resource could not be found.")
        return self.send_json(200, body)

    def upsert(self, member: str, method: str) -> None:
        try:
            request = self.body_json()
        except ValueError:
            return self.problem(400, "Invalid Resource", "The resource submitted could not be validated.")
        existing = self._load(member)
        status = request.get("status")
        if status is not None and status not in STATUSES:
            return self.problem(400, "Invalid Resource", f"Invalid status: {status}")
        if existing is None:
            if method == "PATCH":
                return self.problem(404, "Resource Not Found", "The requested resource could not be found.")
            email = request.get("email_address", "")
            new_status = status or request.get("status_if_new")
            if not email or subscriber_hash(email) != member:
                return self.problem(400, "Invalid Resource", "The email address does not match the subscriber hash.")
            if new_status not in STATUSES:
                return self.problem(400, "Invalid Resource", "The resource submitted could not be validated. "
                                    "For field-specific details, see the 'errors' array.")
            now = datetime.now(UTC).replace(microsecond=0)
            body = {"id": member, "email_address": email, "status": new_status, "list_id": self.server.credentials["list_id"],
                    "merge_fields": {"FNAME": "", "LNAME": "", "PHONE": "", "ADDRESS": "",
                                     **request.get("merge_fields", {})},
                    "timestamp_signup": now.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "tags": [], "tags_count": 0,
                    "location": {"country_code": ""}, "full_name": ""}
            store.insert(self.server.data_dir, "mailchimp", "members", member, body, now, tag=new_status)
            return self.send_json(200, body)
        changes: dict = {}
        if status and status != existing["status"]:
            changes["status"] = status
        merged = {**existing.get("merge_fields", {}), **request.get("merge_fields", {})}
        if merged != existing.get("merge_fields"):
            changes["merge_fields"] = merged
        if changes:
            existing = store.touch(self.server.data_dir, "mailchimp", "members", member, changes)
        return self.send_json(200, existing)

    def tags(self, member: str, method: str) -> None:
        body = self._load(member)
        if body is None:
            return self.problem(404, "Resource Not Found", "The requested resource could not be found.")
        if method == "GET":
            return self.send_json(200, {"tags": body.get("tags", []), "total_items": len(body.get("tags", []))})
        if method != "POST":
            return self.problem(405, "Method Not Allowed", "The requested method is not allowed.")
        try:
            request = self.body_json()
            updates = [(t["name"], t["status"]) for t in request["tags"]]
        except (ValueError, KeyError, TypeError):
            return self.problem(400, "Invalid Resource", "tags must be a list of {name, status}")
        tags = {t["name"]: t for t in body.get("tags", [])}
        for name, status in updates:
            if status == "active" and name not in tags:
                tag_id = int(hashlib.md5(name.encode()).hexdigest()[:6], 16)  # noqa: S324
                tags[name] = {"id": tag_id, "name": name,
                              "date_added": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")}
            elif status == "inactive":
                tags.pop(name, None)
        body["tags"] = sorted(tags.values(), key=lambda t: t["name"])
        body["tags_count"] = len(body["tags"])
        conn = store.connect(self.server.data_dir, "mailchimp")  # tags do not change last_changed
        conn.execute("UPDATE objects SET body = ? WHERE kind = 'members' AND id = ?",
                     (json.dumps(body, ensure_ascii=False), member))
        conn.close()
        return self.send_json(204, None)

    # --- campaigns and reports ----------------------------------------------------------------
    def page_args(self) -> tuple[int, int] | None:
        """count/offset as Mailchimp takes them (count 1..1000, default 10), or None after a 400."""
        try:
            count, offset = int(self.query.get("count", "10")), int(self.query.get("offset", "0"))
        except ValueError:
            self.problem(400, "Invalid Resource", "count and offset must be integers")
            return None
        if not 1 <= count <= 1000 or offset < 0:
            self.problem(400, "Invalid Resource", "count must be between 1 and 1000")
            return None
        repeat = self.overlap(offset > 0)  # fault "repeat": the previous page's last item comes again
        return count + repeat, offset - repeat

    def query_time(self, name: str) -> str | None:
        """A date-time parameter as the store's UTC key; raises ValueError when it is not one."""
        value = self.query.get(name)
        if not value:
            return None
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return store.utc_key(moment if moment.tzinfo else moment.replace(tzinfo=UTC))

    def send_selected(self, payload: dict) -> None:
        """Answer with `fields` / `exclude_fields` applied (dotted paths, e.g. campaigns.settings.title)."""
        keep = [f.split(".") for f in self.query.get("fields", "").split(",") if f]
        drop = [f.split(".") for f in self.query.get("exclude_fields", "").split(",") if f]
        return self.send_json(200, _exclude(_include(payload, keep), drop) if keep else _exclude(payload, drop))

    def campaign_routes(self, parts: list[str]) -> None:
        list_id = self.server.credentials["list_id"]
        if parts == ["campaigns"]:
            return self.campaigns()
        campaign = self.campaign(parts[1]) if len(parts) >= 2 else None
        if campaign is None or (parts[0] == "reports" and campaign["status"] not in ("sending", "sent")):
            return self.problem(404, "Resource Not Found", "The requested resource could not be found.")
        if parts[0] == "campaigns" and len(parts) == 2:
            return self.send_selected(campaign)
        if parts[0] != "reports" or len(parts) != 3:
            return self.problem(404, "Resource Not Found", "The requested resource could not be found.")
        if parts[2] == "email-activity":
            return self.email_activity(parts[1])
        if parts[2] not in REPORTS:
            return self.problem(404, "Resource Not Found", "The requested resource could not be found.")
        kind, key = REPORTS[parts[2]]
        page = self.page_args()
        if page is None:
            return None
        rows, total = self.report_rows(kind, parts[1], *page)
        items = [{**row, "list_id": list_id, "_links": []} for row in rows]
        return self.send_selected({key: items, "campaign_id": parts[1], "total_items": total, "_links": []})

    def campaign(self, campaign_id: str) -> dict | None:
        conn = store.connect(self.server.data_dir, "mailchimp")
        row = conn.execute("SELECT body FROM objects WHERE kind = 'campaigns' AND id = ?", (campaign_id,)).fetchone()
        conn.close()
        if row is None:
            return None
        body = json.loads(row[0])
        body["recipients"] = {"list_id": self.server.credentials["list_id"], **body.get("recipients", {})}
        return {**body, "_links": []}

    def campaigns(self) -> None:
        page = self.page_args()
        if page is None:
            return None
        count, offset = page
        where, args = ["kind = 'campaigns'"], []
        status = self.query.get("status")
        if status:
            if status not in CAMPAIGN_STATUSES:
                return self.problem(400, "Invalid Resource", f"Invalid status: {status}")
            where.append("tag = ?")
            args.append(status)
        try:
            since = self.query_time("since_send_time")
        except ValueError:
            return self.problem(400, "Invalid Resource", "since_send_time is not a valid date-time")
        if since:
            where.append("json_extract(body, '$.send_time') != '' AND modified >= ?")
            args.append(since)
        if self.query.get("list_id") and self.query["list_id"] != self.server.credentials["list_id"]:
            where.append("0")
        sql = " AND ".join(where)
        conn = store.connect(self.server.data_dir, "mailchimp")
        total = conn.execute(f"SELECT COUNT(*) FROM objects WHERE {sql}", args).fetchone()[0]
        ids = [r[0] for r in conn.execute(f"SELECT id FROM objects WHERE {sql} ORDER BY id LIMIT ? OFFSET ?",
                                          [*args, count, offset])]
        conn.close()
        items = [c for c in map(self.campaign, ids) if c is not None]
        return self.send_selected({"campaigns": items, "total_items": total, "_links": []})

    def report_rows(self, kind: str, campaign_id: str, count: int, offset: int) -> tuple[list[dict], int]:
        """One page of a campaign's report rows (ids are "<campaign>:<member>"), and their total."""
        bounds = (f"{campaign_id}:", f"{campaign_id};")  # every id with the "<campaign>:" prefix
        conn = store.connect(self.server.data_dir, "mailchimp")
        total = conn.execute("SELECT COUNT(*) FROM objects WHERE kind = ? AND id > ? AND id < ?",
                             (kind, *bounds)).fetchone()[0]
        rows = conn.execute("SELECT body FROM objects WHERE kind = ? AND id > ? AND id < ? ORDER BY id "
                            "LIMIT ? OFFSET ?", (kind, *bounds, count, offset)).fetchall()
        conn.close()
        return [json.loads(r[0]) for r in rows], total

    def email_activity(self, campaign_id: str) -> None:
        """Every recipient (activity [] when none), paged by recipient; `since` filters the events."""
        page = self.page_args()
        if page is None:
            return None
        try:
            since = self.query_time("since")
        except ValueError:
            return self.problem(400, "Invalid Resource", "since is not a valid date-time")
        recipients, total = self.report_rows("sent_to", campaign_id, *page)
        activity: dict[str, list[dict]] = {r["email_id"]: [] for r in recipients}
        if recipients:
            conn = store.connect(self.server.data_dir, "mailchimp")
            low, high = recipients[0]["email_id"], recipients[-1]["email_id"]
            rows = conn.execute("SELECT body FROM objects WHERE kind = 'email_activity' AND id > ? AND id < ? "
                                "ORDER BY id", (f"{campaign_id}:{low}:", f"{campaign_id}:{high};")).fetchall()
            conn.close()
            for (raw,) in rows:
                event = json.loads(raw)
                moment = store.utc_key(datetime.fromisoformat(event["timestamp"]))
                if event["email_id"] in activity and (since is None or moment >= since):
                    activity[event["email_id"]].append(
                        {k: v for k, v in event.items() if k in ("action", "type", "timestamp", "url", "ip")})
        list_id = self.server.credentials["list_id"]
        emails = [{"campaign_id": campaign_id, "list_id": list_id, "list_is_active": True,
                   "email_id": r["email_id"], "email_address": r["email_address"],
                   "activity": activity[r["email_id"]], "_links": []} for r in recipients]
        return self.send_selected({"emails": emails, "campaign_id": campaign_id, "total_items": total,
                                   "_links": []})


def _include(value: object, paths: list[list[str]]) -> object:
    """Keep only the given dotted paths; lists are searched item by item."""
    if isinstance(value, list):
        return [_include(item, paths) for item in value]
    if not isinstance(value, dict) or any(not p for p in paths):
        return value
    out = {}
    for key, item in value.items():
        below = [p[1:] for p in paths if p[0] == key]
        if below:
            out[key] = _include(item, below)
    return out


def _exclude(value: object, paths: list[list[str]]) -> object:
    """Drop the given dotted paths; lists are searched item by item."""
    if not paths:
        return value
    if isinstance(value, list):
        return [_exclude(item, paths) for item in value]
    if not isinstance(value, dict):
        return value
    gone = {p[0] for p in paths if len(p) == 1}
    return {key: _exclude(item, [p[1:] for p in paths if p[0] == key and len(p) > 1])
            for key, item in value.items() if key not in gone}

"""Mailchimp Marketing v3 sandbox: ping, lists, members (list, get, PUT upsert, PATCH) and member tags."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

from sandbox import store
from sandbox.http import JsonHandler

STATUSES = {"subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"}
MAX_CONNECTIONS = 10
DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode("utf-8")).hexdigest()  # noqa: S324 - Mailchimp's id


class MailchimpHandler(JsonHandler):
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

    def dispatch(self, method: str) -> None:
        with self.server.lock:
            self.server.in_flight += 1
            busy = self.server.in_flight > MAX_CONNECTIONS
        try:
            if busy:
                return self.problem(429, "Too Many Requests",
                                    "You have exceeded the limit of 10 simultaneous connections.")
            self.route(method)
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

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
        total = conn.execute(f"SELECT COUNT(*) FROM objects WHERE {sql}", args).fetchone()[0]
        rows = conn.execute(f"SELECT body FROM objects WHERE {sql} ORDER BY id LIMIT ? OFFSET ?",
                            [*args, count, offset]).fetchall()
        conn.close()
        members = [json.loads(r[0]) for r in rows]
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

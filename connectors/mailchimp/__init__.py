"""Mailchimp Marketing v3: list members (since_last_changed), sent campaigns and their per-recipient reports
(sent-to, email activity, unsubscribes), and the write-back calls used by activation."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from connectors.auth import BasicAuth
from connectors.base import Cursor, HttpSource, OffsetCount, Stream
from connectors.http import RateLimit, SourceError


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: md5 of the lower-cased address."""
    return hashlib.md5(email.strip().lower().encode("utf-8")).hexdigest()  # noqa: S324 - API-defined id


def _report(name: str, path: str, key: str, paginator: Any = None, **kwargs: Any) -> Stream:
    """A per-campaign report: read once per sent campaign, paged 1000 at a time."""
    return Stream(name, f"reports/{{parent_id}}/{path}", records_path=key, parent="campaigns", parent_key="id",
                  params={"exclude_fields": f"{key}._links,_links"},
                  paginator=paginator or OffsetCount(size=1000, total_path="total_items"), **kwargs)


class Mailchimp(HttpSource):
    name = "mailchimp"
    error_fields = ("title", "detail")
    auth = BasicAuth(default_username="seam")  # any user name; the API key is the password
    rate_limit = RateLimit(max_concurrency=10)  # Mailchimp allows 10 simultaneous connections per key
    streams = (
        # Tags are excluded: changing them does not move last_changed, so an incremental pull cannot
        # track them; what Seam tagged is held in sync_state instead.
        Stream("members", "lists/{list_id}/members", primary_key="id",
               cursor=Cursor("last_changed", name="since_last_changed", format="%Y-%m-%dT%H:%M:%S+00:00"),
               records_path="members",
               params={"exclude_fields": "members.tags,members.tags_count,_links"},
               key_params={"fields": "members.id,total_items", "exclude_fields": ""},
               paginator=OffsetCount(offset_param="offset", size_param="count", size=1000, total_path="total_items")),
        # Sent campaigns of this audience, read in full each run: there are few, and their report
        # summaries keep changing after send_time, which is the only time filter the API has. Only
        # sent campaigns: drafts have no reports, and the report streams below read one per campaign.
        Stream("campaigns", "campaigns", primary_key="id", records_path="campaigns",
               params={"status": "sent", "exclude_fields": "campaigns._links,_links"},
               paginator=OffsetCount(size=1000, total_path="total_items")),
        # One record per open/click/bounce. Events never change, so merge on their natural key makes the
        # lookback re-read free; `since` keeps each run to the new events (an hour of overlap: Mailchimp
        # records opens and clicks asynchronously, so an event may arrive a little after its time).
        _report("email_activity", "email-activity", "emails", flatten="activity",
                primary_key=("campaign_id", "email_id", "action", "timestamp"),
                cursor=Cursor("timestamp", name="since", format="%Y-%m-%dT%H:%M:%S+00:00",
                              lookback=timedelta(hours=1)),
                paginator=OffsetCount(size=1000, total_path="total_items")),
        # Delivery status and open counts per recipient change after the send and have no time filter.
        _report("sent_to", "sent-to", "sent_to", primary_key=("campaign_id", "email_id")),
        _report("unsubscribes", "unsubscribed", "unsubscribes", primary_key=("campaign_id", "email_id")),
    )

    @property
    def list_id(self) -> str:
        list_id = self.conn.extra.get("list_id") or self.conn.schema
        if not list_id:
            raise SourceError(self.name, None, "connection needs extra.list_id (the audience id)")
        return list_id

    def base_url(self) -> str:
        if self.conn.host:
            return self.conn.host.rstrip("/")
        dc = self.conn.password.rsplit("-", 1)[-1] if "-" in self.conn.password else ""
        if not dc:
            raise SourceError(self.name, None, "API key has no data-centre suffix (…-us21)")
        return f"https://{dc}.api.mailchimp.com/3.0"

    def path_vars(self) -> dict[str, str]:
        return {"list_id": self.list_id}

    def finalize_params(self, stream: Stream, params: dict[str, Any]) -> dict[str, Any]:
        """Campaigns of the connection's audience only, as its members are."""
        return {**params, "list_id": self.list_id} if stream.name == "campaigns" else params

    def check(self) -> None:
        self.get("ping")
        self.get(f"lists/{self.list_id}")

    # --- write-back ---------------------------------------------------------------------------
    def update_tags(self, member_id: str, tags: dict[str, bool]) -> None:
        """Set tags active (True) or inactive (False) on one member; Mailchimp answers 204."""
        body = {"tags": [{"name": name, "status": "active" if on else "inactive"} for name, on in tags.items()]}
        self.request("POST", f"lists/{self.list_id}/members/{member_id}/tags", json=body)

    def upsert_member(self, email: str, status_if_new: str, merge_fields: dict[str, str] | None = None) -> dict:
        """PUT upsert: creates with status_if_new, never overwrites an existing member's status."""
        body: dict[str, Any] = {"email_address": email, "status_if_new": status_if_new}
        if merge_fields:
            body["merge_fields"] = merge_fields
        return self.request("PUT", f"lists/{self.list_id}/members/{subscriber_hash(email)}", json=body).json()

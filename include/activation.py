"""Push segment members to outreach tools as tags, diffed against what was last sent.

Only customers whose consent allows email (no opt-out anywhere) and whose Mailchimp member is
itself subscribed are tagged. Each batch of calls is committed together with its sync-state
and sync-log rows, so a failed run resumes where it stopped and nothing is sent twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from connectors.http import SourceError
from include.segments import load_segments
from include.warehouse import upsert_rows
from include.warehouse.schema import (
    customer_sources,
    customers,
    person_records,
    segment_members,
    sync_log,
    sync_state,
)

log = logging.getLogger(__name__)
BATCH = 50
OPTED_OUT = {"opted_out", "unsubscribed", "archived", "cleaned"}


def desired_tags(conn: sa.Connection, destination: str) -> tuple[dict[tuple[str, str], str], Counter]:
    """(tag, member id) -> customer id for every consenting segment member present in the audience."""
    wanted: dict[tuple[str, str], str] = {}
    skipped: Counter[str] = Counter()
    member = sa.select(customer_sources.c.customer_id, customer_sources.c.record_id).join(
        person_records, sa.and_(person_records.c.source == customer_sources.c.source,
                              person_records.c.stream == customer_sources.c.stream,
                              person_records.c.record_id == customer_sources.c.record_id)).where(
        customer_sources.c.source == "mailchimp", person_records.c.email_consent == "subscribed").subquery()
    for segment in load_segments():
        for push in segment.push:
            if push.destination != destination:
                continue
            rows = conn.execute(
                sa.select(segment_members.c.customer_id, customers.c.can_email, customers.c.email_consent,
                          member.c.record_id)
                .join(customers, customers.c.customer_id == segment_members.c.customer_id)
                .outerjoin(member, member.c.customer_id == segment_members.c.customer_id)
                .where(segment_members.c.segment == segment.name))
            for customer_id, can_email, consent, member_id in rows:
                if consent in OPTED_OUT:
                    skipped["opted_out"] += 1
                elif not can_email or member_id is None:
                    skipped["not_subscribed"] += 1
                else:
                    wanted[(push.tag, member_id)] = customer_id
    return wanted, skipped


def push_mailchimp(engine: sa.Engine, run_id: str, client: Any) -> dict[str, Any]:
    audience = client.list_id
    with engine.connect() as conn:
        wanted, skipped = desired_tags(conn, "mailchimp")
        current = {(tag, key): cid for tag, key, cid in conn.execute(
            sa.select(sync_state.c.tag, sync_state.c.member_key, sync_state.c.customer_id).where(
                sync_state.c.destination == "mailchimp", sync_state.c.audience == audience))}
    changes = [("add", k, cid) for k, cid in sorted(wanted.items()) if k not in current]
    changes += [("remove", k, cid) for k, cid in sorted(current.items()) if k not in wanted]
    outcome: Counter[str] = Counter()
    for start in range(0, len(changes), BATCH):
        logs, adds, removes = [], [], []
        for action, (tag, member_id), customer_id in changes[start:start + BATCH]:
            now = datetime.now(UTC)
            try:
                client.update_tags(member_id, {tag: action == "add"})
                result, detail = "ok", None
            except SourceError as exc:
                result, detail = "failed", str(exc)[:500]
            outcome[f"{action}_{result}"] += 1
            logs.append({"run_id": run_id, "destination": "mailchimp", "audience": audience, "tag": tag,
                         "member_key": member_id, "customer_id": customer_id, "action": action,
                         "outcome": result, "detail": detail, "at": now})
            if result == "ok":
                row = {"destination": "mailchimp", "audience": audience, "tag": tag, "member_key": member_id,
                       "customer_id": customer_id, "synced_at": now, "run_id": run_id}
                (adds if action == "add" else removes).append(row)
        with engine.begin() as conn:
            conn.execute(sync_log.insert(), logs)
            upsert_rows(conn, sync_state, adds)
            for row in removes:
                conn.execute(sync_state.delete().where(
                    sync_state.c.destination == "mailchimp", sync_state.c.audience == audience,
                    sync_state.c.tag == row["tag"], sync_state.c.member_key == row["member_key"]))
    stats = {"destination": "mailchimp", "wanted": len(wanted), "added": outcome["add_ok"],
             "removed": outcome["remove_ok"], "failed": outcome["add_failed"] + outcome["remove_failed"],
             "unchanged": len(wanted) - sum(1 for a, k, _ in changes if a == "add"),
             "skipped_opted_out": skipped["opted_out"], "skipped_not_subscribed": skipped["not_subscribed"]}
    log.info("mailchimp push: %s", stats)
    return stats

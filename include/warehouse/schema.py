"""Warehouse tables, layer by layer: raw -> staging -> core -> marts -> sync.

This is the current shape of the schema; Alembic migrations in ``migrations/`` move a database
to it. Column meanings for BI users are documented in docs/warehouse.md.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

ts = sa.DateTime(timezone=True)

# --- raw: records as pulled, one row per (source, stream, primary key), with load metadata ---
raw_records = sa.Table(
    "raw_records",
    metadata,
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("record_id", sa.String(200), primary_key=True),  # composite event keys run long
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("payload_hash", sa.String(40), nullable=False),
    sa.Column("cursor_value", sa.String(40)),
    sa.Column("is_deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("first_loaded_at", ts, nullable=False),
    sa.Column("loaded_at", ts, nullable=False),
    sa.Column("run_id", sa.String(120), nullable=False),
)

extract_state = sa.Table(
    "extract_state",
    metadata,
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("cursor_value", sa.String(40)),
    sa.Column("updated_at", ts, nullable=False),
    sa.Column("run_id", sa.String(120), nullable=False),
)

# What each stream's records look like: field -> how many records carried it. Schema drift (a new
# field, a field that stopped arriving) is found by comparing a run's records with this.
stream_schemas = sa.Table(
    "stream_schemas",
    metadata,
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("field_counts", sa.Text, nullable=False),  # JSON {field path: records seen with it}
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("new_fields", sa.Text),  # JSON list: first seen in the latest run
    sa.Column("vanished_fields", sa.Text),  # JSON list: usually present, absent from the whole latest run
    sa.Column("updated_at", ts, nullable=False),
    sa.Column("run_id", sa.String(120), nullable=False),
)

extract_runs = sa.Table(
    "extract_runs",
    metadata,
    sa.Column("run_id", sa.String(120), primary_key=True),
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("started_at", ts, nullable=False),
    sa.Column("finished_at", ts),
    sa.Column("cursor_from", sa.String(40)),
    sa.Column("cursor_to", sa.String(40)),
    sa.Column("pages", sa.Integer, nullable=False, default=0),
    sa.Column("rows_read", sa.Integer, nullable=False, default=0),
    sa.Column("rows_loaded", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error", sa.Text),
)

# --- staging: canonical, normalised; rebuilt from raw on every unify run ---
stg_contacts = sa.Table(
    "stg_contacts",
    metadata,
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("record_id", sa.String(80), primary_key=True),
    sa.Column("first_name", sa.String(200)),
    sa.Column("last_name", sa.String(200)),
    sa.Column("company", sa.String(300)),
    sa.Column("email", sa.String(320)),
    sa.Column("email_match_key", sa.String(320), index=True),
    sa.Column("phone", sa.String(20), index=True),
    sa.Column("phone_alt", sa.String(20), index=True),
    sa.Column("city", sa.String(200)),
    sa.Column("country", sa.String(2)),
    sa.Column("email_consent", sa.String(20), nullable=False),
    sa.Column("source_updated_at", ts),
    sa.Column("run_id", sa.String(120), nullable=False),
)

stg_orders = sa.Table(
    "stg_orders",
    metadata,
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("record_id", sa.String(80), primary_key=True),
    sa.Column("contact_stream", sa.String(60)),
    sa.Column("contact_record_id", sa.String(80)),
    sa.Column("first_name", sa.String(200)),
    sa.Column("last_name", sa.String(200)),
    sa.Column("email", sa.String(320)),
    sa.Column("email_match_key", sa.String(320)),
    sa.Column("phone", sa.String(20)),
    sa.Column("status", sa.String(30)),
    sa.Column("amount", sa.Numeric(14, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("ordered_at", ts, nullable=False),
    sa.Column("source_updated_at", ts),
    sa.Column("run_id", sa.String(120), nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("record_id", sa.String(80), primary_key=True),
    sa.Column("rule", sa.String(80), primary_key=True),
    sa.Column("column_name", sa.String(60)),
    sa.Column("value_masked", sa.String(200)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(120), nullable=False),
    sa.Column("quarantined_at", ts, nullable=False),
)

# --- core: the unified customer view ---
customers = sa.Table(
    "customers",
    metadata,
    sa.Column("customer_id", sa.String(20), primary_key=True),
    sa.Column("first_name", sa.String(200)),
    sa.Column("last_name", sa.String(200)),
    sa.Column("company", sa.String(300)),
    sa.Column("email", sa.String(320)),
    sa.Column("phone", sa.String(20)),
    sa.Column("city", sa.String(200)),
    sa.Column("country", sa.String(2)),
    sa.Column("email_consent", sa.String(20), nullable=False),
    sa.Column("can_email", sa.Boolean, nullable=False),
    sa.Column("source_count", sa.Integer, nullable=False),
    sa.Column("record_count", sa.Integer, nullable=False),
    sa.Column("sources", sa.String(200), nullable=False),
    sa.Column("updated_at", ts, nullable=False),
    sa.Column("run_id", sa.String(120), nullable=False),
)

customer_sources = sa.Table(
    "customer_sources",
    metadata,
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("record_id", sa.String(80), primary_key=True),
    sa.Column("customer_id", sa.String(20), nullable=False, index=True),
    sa.Column("matched_by", sa.String(200), nullable=False),
    sa.Column("run_id", sa.String(120), nullable=False),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("record_id", sa.String(80), primary_key=True),
    sa.Column("customer_id", sa.String(20), index=True),
    sa.Column("status", sa.String(30)),
    sa.Column("amount", sa.Numeric(14, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount_reporting", sa.Numeric(14, 2), nullable=False),
    sa.Column("ordered_at", ts, nullable=False),
    sa.Column("counts_as_revenue", sa.Boolean, nullable=False),
    sa.Column("run_id", sa.String(120), nullable=False),
)

# --- marts: metrics and segments ---
customer_metrics = sa.Table(
    "customer_metrics",
    metadata,
    sa.Column("customer_id", sa.String(20), primary_key=True),
    sa.Column("orders_count", sa.Integer, nullable=False),
    sa.Column("revenue", sa.Numeric(16, 2), nullable=False),
    sa.Column("first_order_at", ts),
    sa.Column("last_order_at", ts),
    sa.Column("days_since_last_order", sa.Integer),
    sa.Column("avg_days_between_orders", sa.Float),
    sa.Column("email_consent", sa.String(20), nullable=False),
    sa.Column("can_email", sa.Boolean, nullable=False),
    sa.Column("as_of", ts, nullable=False),
    sa.Column("run_id", sa.String(120), nullable=False),
)

segment_members = sa.Table(
    "segment_members",
    metadata,
    sa.Column("segment", sa.String(80), primary_key=True),
    sa.Column("customer_id", sa.String(20), primary_key=True),
    sa.Column("run_id", sa.String(120), nullable=False),
)

# --- sync: what was pushed where, diffed against the last successful push ---
sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("destination", sa.String(40), primary_key=True),
    sa.Column("audience", sa.String(80), primary_key=True),
    sa.Column("tag", sa.String(80), primary_key=True),
    sa.Column("member_key", sa.String(80), primary_key=True),
    sa.Column("customer_id", sa.String(20), nullable=False),
    sa.Column("synced_at", ts, nullable=False),
    sa.Column("run_id", sa.String(120), nullable=False),
)

sync_log = sa.Table(
    "sync_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(120), nullable=False, index=True),
    sa.Column("destination", sa.String(40), nullable=False),
    sa.Column("audience", sa.String(80), nullable=False),
    sa.Column("tag", sa.String(80), nullable=False),
    sa.Column("member_key", sa.String(80), nullable=False),
    sa.Column("customer_id", sa.String(20), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("at", ts, nullable=False),
)

pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("run_id", sa.String(120), primary_key=True),
    sa.Column("stage", sa.String(60), primary_key=True),
    sa.Column("started_at", ts, nullable=False),
    sa.Column("finished_at", ts),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("stats", sa.Text),
)

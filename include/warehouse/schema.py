"""Warehouse tables, layer by layer: raw -> staging -> core -> marts -> sync.

This is the current shape of the schema; Alembic migrations in ``migrations/`` move a database
to it. Column meanings for BI users are documented in docs/warehouse.md.
"""

from __future__ import annotations

import sqlalchemy as sa

from include import model

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

# --- staging: stg_<source>__<stream> tables are derived from the mappings and the canonical model
# (include/staging.py creates them); they are rebuilt from raw on every unify run. ---

# --- core: every source's staged records in one canonical table per entity, then the unified view ---
person_records = sa.Table(
    "person_records", metadata, *model.columns("person"),
    sa.Index("ix_person_records_email_match_key", "email_match_key"),
    sa.Index("ix_person_records_phone", "phone"), sa.Index("ix_person_records_phone_alt", "phone_alt"),
)
company_records = sa.Table("company_records", metadata, *model.columns("company"))
order_records = sa.Table(
    "order_records", metadata, *model.columns("order"),
    sa.Index("ix_order_records_contact", "source", "contact_stream", "contact_record_id"),
)
order_lines = sa.Table("order_lines", metadata, *model.columns("order_line", child=True))
payments = sa.Table("payments", metadata, *model.columns("payment"))
campaigns = sa.Table("campaigns", metadata, *model.columns("campaign"))
email_events = sa.Table(
    "email_events", metadata, *model.columns("email_event"),
    sa.Index("ix_email_events_email_match_key", "email_match_key"),
)
# Consent facts: explicit ones (an unsubscribe event) and each person record's stated consent.
consents = sa.Table(
    "consents", metadata,
    *[c if c.name != "channel" else sa.Column("channel", sa.String(20), primary_key=True)
      for c in model.columns("consent")],
    sa.Index("ix_consents_email_match_key", "email_match_key"),
)
identifiers = sa.Table(
    "identifiers", metadata,
    sa.Column("source", sa.String(40), primary_key=True), sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("record_id", sa.String(200), primary_key=True), sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("value", sa.String(400), primary_key=True), sa.Column("match_key", sa.String(400), index=True),
    sa.Column("run_id", sa.String(120), nullable=False),
)
addresses = sa.Table(
    "addresses", metadata,
    sa.Column("source", sa.String(40), primary_key=True), sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("record_id", sa.String(200), primary_key=True), sa.Column("kind", sa.String(20), primary_key=True),
    *[sa.Column(f.name, f.type) for f in model.ENTITIES["person"] if f.name in model.ADDRESS_FIELDS],
    sa.Column("run_id", sa.String(120), nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("record_id", sa.String(200), primary_key=True),
    sa.Column("rule", sa.String(200), primary_key=True),
    sa.Column("column_name", sa.String(120)),
    sa.Column("value_masked", sa.String(200)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(120), nullable=False),
    sa.Column("quarantined_at", ts, nullable=False),
)

# Table-level quality gates of each staging run: one row per table and check. A failed check holds
# publication of core customers and marts for that run (include/gates.py).
quality_gates = sa.Table(
    "quality_gates",
    metadata,
    sa.Column("run_id", sa.String(120), primary_key=True),
    sa.Column("table_name", sa.String(120), primary_key=True),
    sa.Column("check_name", sa.String(120), primary_key=True),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("observed", sa.String(200)),
    sa.Column("expected", sa.String(200)),
    sa.Column("message", sa.Text),
    sa.Column("checked_at", ts, nullable=False),
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
    sa.Column("middle_name", sa.String(200)),
    sa.Column("date_of_birth", sa.Date),
    sa.Column("address_line1", sa.String(300)),
    sa.Column("postcode", sa.String(20)),
    sa.Column("region", sa.String(100)),
    sa.Column("company_id", sa.String(20), index=True),
    sa.Column("email_consent", sa.String(20), nullable=False),
    sa.Column("email_consent_at", ts),
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
    sa.Column("record_id", sa.String(200), primary_key=True),
    sa.Column("customer_id", sa.String(20), nullable=False, index=True),
    sa.Column("matched_by", sa.String(400), nullable=False),
    sa.Column("fingerprint", sa.String(16)),  # digest of the record's match features: changed -> re-scored
    sa.Column("run_id", sa.String(120), nullable=False),
)

# Why records are in one customer: every accepted link (rule or model, with the weight each
# comparison gave), so `seam identity explain` can show each pair's evidence.
customer_links = sa.Table(
    "customer_links",
    metadata,
    sa.Column("left_key", sa.String(300), primary_key=True),  # source|stream|record_id
    sa.Column("right_key", sa.String(300), primary_key=True),
    sa.Column("customer_id", sa.String(20), nullable=False, index=True),
    sa.Column("rule", sa.String(40), nullable=False),  # rule:email, rule:phone, model, must_link
    sa.Column("match_weight", sa.Float),  # null for rules and overrides (taken before any score)
    sa.Column("match_probability", sa.Float),
    sa.Column("evidence", sa.Text),  # JSON: weight per comparison, or the shared identifier kind
    sa.Column("run_id", sa.String(120), nullable=False),
)

# Every change of a customer id: a cluster that merged, split, was retired or is new.
customer_id_history = sa.Table(
    "customer_id_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(120), nullable=False, index=True),
    sa.Column("old_customer_id", sa.String(20), index=True),
    sa.Column("new_customer_id", sa.String(20), index=True),
    sa.Column("change", sa.String(20), nullable=False),  # new, merged, split, retired
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("changed_at", ts, nullable=False),
)

# Which source record gave each golden value, by which survivorship rule.
customer_field_lineage = sa.Table(
    "customer_field_lineage",
    metadata,
    sa.Column("customer_id", sa.String(20), primary_key=True),
    sa.Column("field", sa.String(60), primary_key=True),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("stream", sa.String(60), nullable=False),
    sa.Column("record_id", sa.String(200), nullable=False),
    sa.Column("rule", sa.String(40), nullable=False),
    sa.Column("source_updated_at", ts),
    sa.Column("run_id", sa.String(120), nullable=False),
)

# Trained Fellegi–Sunter models (Splink JSON); the active one is reused until retrained.
identity_models = sa.Table(
    "identity_models",
    metadata,
    sa.Column("model_id", sa.String(40), primary_key=True),
    sa.Column("config_hash", sa.String(40), nullable=False),
    sa.Column("model_json", sa.Text, nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("trained_at", ts, nullable=False),
    sa.Column("run_id", sa.String(120), nullable=False),
)

# What the over-merge guards did in a run: identifiers taken out, links refused, big clusters.
identity_issues = sa.Table(
    "identity_issues",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(120), nullable=False, index=True),
    sa.Column("kind", sa.String(40), nullable=False),  # blocklisted, shared_identifier, refused_link
    sa.Column("subject", sa.String(400), nullable=False),  # the identifier value or the record pair
    sa.Column("records", sa.Integer),
    sa.Column("reason", sa.Text, nullable=False),
)

# Companies resolved separately from people (tax id, domain, legal name key).
companies = sa.Table(
    "companies",
    metadata,
    sa.Column("company_id", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("name_key", sa.String(300)),
    sa.Column("tax_id", sa.String(40)),
    sa.Column("domain", sa.String(253)),
    sa.Column("industry", sa.String(100)),
    sa.Column("country", sa.String(2)),
    sa.Column("record_count", sa.Integer, nullable=False),
    sa.Column("people", sa.Integer, nullable=False),
    sa.Column("sources", sa.String(200), nullable=False),
    sa.Column("updated_at", ts, nullable=False),
    sa.Column("run_id", sa.String(120), nullable=False),
)

company_sources = sa.Table(
    "company_sources",
    metadata,
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("record_id", sa.String(200), primary_key=True),
    sa.Column("company_id", sa.String(20), nullable=False, index=True),
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
    sa.Column("fx_rate", sa.Numeric(18, 8)),  # reporting-currency units per unit, as converted
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

"""The canonical customer model: the entities every source maps onto, and their columns.

One definition feeds the mapping validator (which canonical fields a stream may fill), the
staging tables `stg_<source>__<stream>` (created from it), the core tables in
``warehouse/schema.py`` and the masking of personal values in quarantine. docs/warehouse.md
describes the same columns for BI users.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa

TS = sa.DateTime(timezone=True)


@dataclass(frozen=True)
class Field:
    name: str
    type: sa.types.TypeEngine
    required: bool = False  # a row without it is quarantined (missing_required)
    personal: bool = False  # masked wherever a value is shown outside the warehouse tables
    derived: bool = False  # computed by Seam (matching keys); a mapping cannot set it


def _text(name: str, length: int = 200, **kw) -> Field:
    return Field(name, sa.String(length), **kw)


CONSENT_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived",
                    "opted_out", "unknown")
EMAIL_EVENT_ACTIONS = ("sent", "open", "click", "bounce", "unsubscribe")
ORDER_KINDS = ("order", "invoice")

_ADDRESS = (
    _text("address_line1", 300, personal=True), _text("address_line2", 300, personal=True),
    _text("city"), _text("region", 100), _text("postcode", 20, personal=True), Field("country", sa.String(2)),
)
_CUSTOMER_REF = (_text("contact_stream", 60), _text("contact_record_id", 80))

ENTITIES: dict[str, tuple[Field, ...]] = {
    "person": (
        _text("first_name", personal=True), _text("middle_name", personal=True), _text("last_name", personal=True),
        _text("name_key", derived=True), Field("date_of_birth", sa.Date, personal=True),
        _text("company", 300), _text("company_record_id", 80),
        _text("linked_record_id", 200),  # this person's id in another system (mappings/matching.yaml: cross_references)
        _text("email", 320, personal=True), _text("email_match_key", 320, derived=True),
        _text("phone", 40, personal=True), _text("phone_alt", 40, personal=True),
        *_ADDRESS, _text("customer_type", 40),
        Field("email_consent", sa.String(20), required=True), Field("email_consent_at", TS),
        Field("source_updated_at", TS),
    ),
    "company": (
        _text("name", 300, required=True), _text("name_key", 300, derived=True), _text("tax_id", 40),
        _text("domain", 253), _text("email", 320, personal=True), _text("phone", 40, personal=True),
        _text("industry", 100), _text("company_type", 60), *_ADDRESS, Field("source_updated_at", TS),
    ),
    "order": (
        Field("kind", sa.String(20), required=True), _text("number", 60), *_CUSTOMER_REF,
        _text("first_name", personal=True), _text("last_name", personal=True),
        _text("email", 320, personal=True), _text("email_match_key", 320, derived=True),
        _text("phone", 40, personal=True), _text("status", 30),
        Field("amount", sa.Numeric(14, 2), required=True), Field("currency", sa.String(3), required=True),
        Field("ordered_at", TS, required=True), Field("source_updated_at", TS),
    ),
    "order_line": (
        Field("line_no", sa.Integer, required=True), _text("sku", 100), _text("product_name", 300),
        _text("category", 100), Field("quantity", sa.Numeric(14, 3)), Field("unit_price", sa.Numeric(14, 2)),
        Field("amount", sa.Numeric(14, 2), required=True),
    ),
    "payment": (
        *_CUSTOMER_REF, Field("amount", sa.Numeric(14, 2), required=True), Field("currency", sa.String(3)),
        Field("paid_at", TS, required=True), _text("applied_to", 400), _text("method", 40),
        Field("source_updated_at", TS),
    ),
    "campaign": (
        _text("name", 300, required=True), _text("subject", 300), Field("channel", sa.String(20), required=True),
        Field("sent_at", TS), Field("recipients", sa.Integer), Field("source_updated_at", TS),
    ),
    "email_event": (
        _text("campaign_id", 60, required=True), *_CUSTOMER_REF, _text("email", 320, personal=True),
        _text("email_match_key", 320, derived=True), Field("action", sa.String(20), required=True),
        Field("occurred_at", TS), _text("url", 2000), _text("detail", 300),
    ),
    "consent": (
        *_CUSTOMER_REF, _text("email", 320, personal=True), _text("email_match_key", 320, derived=True),
        Field("channel", sa.String(20), required=True), Field("status", sa.String(20), required=True),
        Field("recorded_at", TS, required=True), _text("reason", 300),
        Field("explicit", sa.Boolean),
    ),
}

# Value sets a column must stay within; a mapping that produces anything else quarantines the row.
ALLOWED_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("person", "email_consent"): CONSENT_STATUSES,
    ("consent", "status"): CONSENT_STATUSES,
    ("order", "kind"): ORDER_KINDS,
    ("email_event", "action"): EMAIL_EVENT_ACTIONS,
    ("consent", "channel"): ("email", "sms", "phone", "post"),
    ("campaign", "channel"): ("email", "sms", "phone", "post"),
}

ADDRESS_FIELDS = tuple(f.name for f in _ADDRESS)
PERSONAL_COLUMNS = frozenset(f.name for fields in ENTITIES.values() for f in fields if f.personal)


@cache
def fields_of(entity: str) -> dict[str, Field]:
    return {f.name: f for f in ENTITIES[entity]}


@cache
def mappable(entity: str) -> frozenset[str]:
    return frozenset({f.name for f in ENTITIES[entity] if not f.derived})


@cache
def required(entity: str) -> frozenset[str]:
    return frozenset({f.name for f in ENTITIES[entity] if f.required})


def columns(entity: str, child: bool = False) -> list[sa.Column]:
    """Table columns for one entity: record key, canonical fields, run id."""
    key = [sa.Column("source", sa.String(40), primary_key=True), sa.Column("stream", sa.String(60), primary_key=True),
           sa.Column("record_id", sa.String(200), primary_key=True)]
    if child:  # a child row (order line) is keyed by its parent record and its position
        key.append(sa.Column("position", sa.Integer, primary_key=True))
    body = [sa.Column(f.name, f.type, nullable=not f.required) for f in ENTITIES[entity]]
    return [*key, *body, sa.Column("run_id", sa.String(120), nullable=False)]

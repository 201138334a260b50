"""Great Expectations suites for the staging tables, kept as code next to the model they guard.

Row-level failures become quarantine rows (with rule, column, masked value and reason); the rest
of the batch proceeds.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import pandas as pd

from include import model
from include.config import load_yaml

EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
E164_REGEX = r"^\+[1-9][0-9]{6,14}$"
DOMAIN_REGEX = r"^(?:[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]{0,61}[a-z0-9\u00a1-\uffff])?\.)+[a-z\u00a1-\uffff]{2,}$"
KEY = "row_key"
PARENT = "parent_key"  # the raw record a (child) row came from: what a failure quarantines
PERSONAL = model.PERSONAL_COLUMNS
FUTURE_SLACK = timedelta(days=1)  # clocks differ; a day ahead is a wrong date, not skew


@dataclass(frozen=True)
class Failure:
    row_key: str
    rule: str
    column: str
    value: str | None
    reason: str
    parent_key: str = ""


def mask(column: str | None, value: Any) -> str | None:
    """Enough of a personal value to recognise it, not enough to leak it."""
    if value is None:
        return None
    if column in PERSONAL and isinstance(value, dict | list):  # a structure may hold several addresses
        return f"<JSON {'object' if isinstance(value, dict) else 'array'}, masked>"
    text = str(value)[:200]
    if column not in PERSONAL:
        return text[:100]
    if text.count("@") == 1:
        local, _, domain = text.partition("@")
        return f"{local[:2]}***@{domain[:60]}"
    return f"***{text[-2:]}" if len(text) > 4 else "***"


@cache
def accepted_currencies() -> list[str]:
    return sorted(load_yaml("currencies.yaml")["rates"])


def row_expectations(entity: str, now: datetime) -> list[tuple[Any, str]]:
    """The row-level suite guarding one canonical entity, each expectation with its quarantine reason."""
    import great_expectations as gx

    e = gx.expectations
    latest = now + FUTURE_SLACK

    def email(column: str = "email") -> tuple[Any, str]:
        return e.ExpectColumnValuesToMatchRegex(column=column, regex=EMAIL_REGEX), f"{column} is not a valid address"

    def phone(column: str, what: str = "phone") -> tuple[Any, str]:
        return (e.ExpectColumnValuesToMatchRegex(column=column, regex=E164_REGEX),
                f"{what} cannot be read as a valid number for the source's region")

    def not_future(column: str, what: str) -> tuple[Any, str]:
        return e.ExpectColumnValuesToBeBetween(column=column, max_value=latest), f"{what} is in the future"

    def not_negative(column: str, what: str) -> tuple[Any, str]:
        return e.ExpectColumnValuesToBeBetween(column=column, min_value=0), f"{what} is negative"

    currency = (e.ExpectColumnValuesToBeInSet(column="currency", value_set=accepted_currencies()),
                "currency is not one of mappings/currencies.yaml")
    reference = (e.ExpectColumnValuesToBeInSet(column="contact_ref_known", value_set=[True]),
                 "refers to a customer record the source never sent (referential integrity)")
    suites = {
        "person": [email(), phone("phone"), phone("phone_alt", "second phone"),
                   (e.ExpectColumnValuesToBeInSet(column="identity_present", value_set=[True]),
                    "no email, no phone and no name: nothing identifies this person"),
                   not_future("source_updated_at", "last change")],
        "company": [email(), phone("phone"),
                    (e.ExpectColumnValuesToMatchRegex(column="domain", regex=DOMAIN_REGEX), "domain is not a host name")],
        "order": [not_negative("amount", "amount"), currency, not_future("ordered_at", "order date"), reference],
        "order_line": [not_negative("quantity", "quantity"), not_negative("amount", "line amount")],
        "payment": [not_negative("amount", "amount"),
                    (e.ExpectColumnValuesToBeInSet(column="currency", value_set=accepted_currencies()),
                     "currency is not one of mappings/currencies.yaml"),
                    not_future("paid_at", "payment date"), reference],
        "email_event": [email(), not_future("occurred_at", "event time")],
        "campaign": [not_future("sent_at", "send time")],
        "consent": [email(), not_future("recorded_at", "consent time")],
    }
    return suites[entity]


def derived_columns(entity: str, df: pd.DataFrame) -> pd.DataFrame:
    """Columns some expectations read that are not stored: whether anything identifies a person."""
    if entity == "person":
        df["identity_present"] = df["email"].notna() | df["phone"].notna() | df["phone_alt"].notna() | (
            df["first_name"].notna() & df["last_name"].notna())
    return df


@cache
def gx_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    return context


_BATCH_DEFINITIONS: dict[str, Any] = {}


def gx_batch(asset_name: str, df: pd.DataFrame) -> Any:
    """A GX batch over df. One pandas datasource and one asset per table for the process: registering
    and deleting them per call rewrote the context's config each time (a fixed cost per frame)."""
    definition = _BATCH_DEFINITIONS.get(asset_name)
    if definition is None:
        context = gx_context()
        try:
            source = context.data_sources.get("seam_frames")
        except (KeyError, ValueError):
            source = context.data_sources.add_pandas("seam_frames")
        definition = source.add_dataframe_asset(asset_name).add_batch_definition_whole_dataframe("all")
        _BATCH_DEFINITIONS[asset_name] = definition
    return definition.get_batch(batch_parameters={"dataframe": df})


def validate(df: pd.DataFrame, suite_name: str, expectations: list[tuple[Any, str]]) -> list[Failure]:
    """Run one suite over df (which has a unique `row_key` column); return the failing rows."""
    if df.empty:
        return []
    import great_expectations as gx

    df = df.reset_index(drop=True)  # GX reports failing rows by index label: make labels positions
    # GX hashes the whole frame it is given (batch identity): give it only the columns it checks.
    batch = gx_batch(suite_name, df[sorted({exp.column for exp, _ in expectations})])
    suite = gx.ExpectationSuite(name=suite_name, expectations=[exp for exp, _ in expectations])
    reasons = {exp.expectation_type + ":" + exp.column: reason for exp, reason in expectations}
    # COMPLETE with plain index positions: asking GX for key columns instead makes it look each
    # failing row up one at a time (twice the validation time); the keys are taken here in one go.
    result = batch.validate(suite, result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False})
    keys, parents = df[KEY].to_numpy(), df[PARENT].to_numpy()
    failures = []
    for res in result.results:
        config = res.expectation_config
        column = config.kwargs["column"]
        positions = (res.result or {}).get("unexpected_index_list") or []
        if not positions:
            continue
        values = df[column].to_numpy()
        rule, reason = f"{config.type}({column})", reasons[config.type + ":" + column]
        failures += [Failure(row_key=keys[i], rule=rule, column=column, value=mask(column, values[i]), reason=reason,
                             parent_key=parents[i]) for i in positions]
    return failures

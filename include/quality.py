"""Great Expectations suites for the staging tables, kept as code next to the model they guard.

Row-level failures become quarantine rows (with rule, column, masked value and reason); the rest
of the batch proceeds.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd

from include.config import load_yaml

EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
E164_REGEX = r"^\+[1-9][0-9]{6,14}$"
KEY = "row_key"
PERSONAL = {"email", "phone", "phone_alt", "first_name", "last_name"}


@dataclass(frozen=True)
class Failure:
    row_key: str
    rule: str
    column: str
    value: str | None
    reason: str


def mask(column: str | None, value: Any) -> str | None:
    """Enough of a personal value to recognise it, not enough to leak it."""
    if value is None:
        return None
    text = str(value)[:200]
    if column not in PERSONAL:
        return text[:100]
    if "@" in text:
        local, _, domain = text.partition("@")
        return f"{local[:2]}***@{domain}"
    return f"***{text[-2:]}" if len(text) > 4 else "***"


@cache
def accepted_currencies() -> list[str]:
    return sorted(load_yaml("currencies.yaml")["rates"])


def contact_expectations() -> list[tuple[Any, str]]:
    import great_expectations as gx

    e = gx.expectations
    return [
        (e.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX), "email is not a valid address"),
        (e.ExpectColumnValuesToMatchRegex(column="phone", regex=E164_REGEX),
         "phone cannot be read as a valid number for the source's region"),
        (e.ExpectColumnValuesToMatchRegex(column="phone_alt", regex=E164_REGEX),
         "second phone cannot be read as a valid number for the source's region"),
        (e.ExpectColumnValuesToBeInSet(column="identity_present", value_set=[True]),
         "no email, no phone and no name: nothing identifies this person"),
    ]


def order_expectations() -> list[tuple[Any, str]]:
    import great_expectations as gx

    e = gx.expectations
    return [
        (e.ExpectColumnValuesToBeBetween(column="amount", min_value=0), "amount is negative"),
        (e.ExpectColumnValuesToBeInSet(column="currency", value_set=accepted_currencies()),
         "currency is not one of mappings/currencies.yaml"),
        (e.ExpectColumnValuesToNotBeNull(column="ordered_at"), "order date is missing"),
    ]


@cache
def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    return context


def validate(df: pd.DataFrame, suite_name: str, expectations: list[tuple[Any, str]]) -> list[Failure]:
    """Run one suite over df (which has a unique `row_key` column); return the failing rows."""
    if df.empty:
        return []
    import great_expectations as gx

    context = _context()
    name = f"{suite_name}_{id(df)}"
    source = context.data_sources.add_or_update_pandas(name)
    batch = source.add_dataframe_asset(suite_name).add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": df})
    suite = gx.ExpectationSuite(name=suite_name, expectations=[exp for exp, _ in expectations])
    reasons = {exp.expectation_type + ":" + exp.column: reason for exp, reason in expectations}
    result = batch.validate(suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [KEY]})
    context.data_sources.delete(name)
    failures = []
    for res in result.results:
        config = res.expectation_config
        column = config.kwargs["column"]
        for item in (res.result or {}).get("unexpected_index_list") or []:
            failures.append(Failure(row_key=item[KEY], rule=f"{config.type}({column})", column=column,
                                    value=mask(column, item.get(column)),
                                    reason=reasons[config.type + ":" + column]))
    return failures

"""The Fellegi–Sunter model: Splink settings from mappings/matching.yaml, training, scoring.

Splink (DuckDB backend, in process) does the blocking, the comparison vectors, expectation
maximisation and the scoring. This module only translates the YAML into Splink's settings and
keeps the trained parameters as a JSON document (saved with the run, reused until retrained).
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb
import pandas as pd
import splink.comparison_level_library as cll
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.comparison_library import CustomComparison
from splink.internals.comparison_creator import ComparisonCreator

from include.identity.features import FEATURES

DUCKDB_THREADS = 2
PROBABILITY_FLOOR = 0.005  # the smallest m: a disagreement costs at most ~7.6 bits
U_FLOOR = 1e-7
PRIOR_BOUNDS = (1e-7, 0.5)


class MatchingConfigError(ValueError):
    """mappings/matching.yaml (or a --config file) does not describe a usable model."""


def _level(spec: dict[str, Any]) -> tuple[Any, set[str]]:
    tf = bool(spec.get("term_frequency"))
    if "exact" in spec:
        return cll.ExactMatchLevel(spec["exact"], term_frequency_adjustments=tf), {spec["exact"]}
    if "jaro_winkler" in spec:
        return cll.JaroWinklerLevel(spec["jaro_winkler"], spec["threshold"]), {spec["jaro_winkler"]}
    if "damerau_levenshtein" in spec:
        col = spec["damerau_levenshtein"]
        return cll.DamerauLevenshteinLevel(col, spec["distance"]), {col}
    if "array_intersect" in spec:
        return cll.ArrayIntersectLevel(spec["array_intersect"], spec.get("min_size", 1)), {spec["array_intersect"]}
    if "sql" in spec:
        level = cll.CustomLevel(spec["sql"], spec.get("label"))
        if spec.get("term_frequency"):
            level = level.configure(tf_adjustment_column=spec["term_frequency"])
        return level, set(spec["columns"])
    raise MatchingConfigError(f"unknown comparison level {spec!r}: use exact, jaro_winkler, "
                              "damerau_levenshtein, array_intersect or sql")


def comparisons(config: dict[str, Any], available: set[str]) -> list[ComparisonCreator]:
    """Splink comparisons; levels over columns the data does not hold are left out."""
    out = []
    for name, specs in config["comparisons"].items():
        levels = []
        for spec in specs:
            level, cols = _level(spec)
            unknown = cols - set(FEATURES)
            if unknown:
                raise MatchingConfigError(f"comparison {name}: unknown column(s) {sorted(unknown)}; "
                                          f"features are {list(FEATURES)}")
            if cols <= available:
                levels.append((level, cols))
        if not levels:
            continue
        out.append(CustomComparison([_null_level(levels[0][1]), *[lv for lv, _ in levels], cll.ElseLevel()],
                                    output_column_name=name))
    return out


def _null_level(columns: set[str]) -> Any:
    """Null when a side lacks every column of the comparison's strongest level."""
    if len(columns) == 1:
        return cll.NullLevel(next(iter(columns)))
    sql = " OR ".join("(" + " AND ".join(f"{c}_{side} IS NULL" for c in sorted(columns)) + ")" for side in "lr")
    return cll.CustomLevel(sql, "null").configure(is_null_level=True)


def blocking_rules(rules: list[Any], available: set[str]) -> list[Any]:
    out = []
    for rule in rules:
        if isinstance(rule, str):
            cols = {c for c in FEATURES if f"l.{c}" in rule or f"r.{c}" in rule}
            if cols <= available:
                out.append(rule)
        elif set(rule) <= available:
            out.append(block_on(*rule))
    return out


def settings(config: dict[str, Any], available: set[str]) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(config, available),
        blocking_rules_to_generate_predictions=blocking_rules(config["blocking"], available),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
    )


def _db() -> DuckDBAPI:
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {DUCKDB_THREADS}")
    return DuckDBAPI(con)


def linker(features: pd.DataFrame, model: SettingsCreator | dict[str, Any]) -> Linker:
    db = _db()
    return Linker(db.register(features), model, log_level=logging.ERROR)


def train(features: pd.DataFrame, config: dict[str, Any], available: set[str]) -> dict[str, Any]:
    """Estimate the model without labels: λ from the deterministic rules, u by sampling, m by EM."""
    lk = linker(features, settings(config, available))
    training = config.get("training") or {}
    rules = [block_on(*cols) for cols in training.get("prior_rules") or [] if set(cols) <= available]
    if rules:
        lk.training.estimate_probability_two_random_records_match(rules, recall=training.get("prior_rules_recall", 0.7))
        # a handful of records can count no pair (or every pair): keep the prior where weights exist
        settings_obj = lk._settings_obj  # noqa: SLF001 - Splink's own estimate sets it the same way
        prior = settings_obj._probability_two_random_records_match  # noqa: SLF001
        settings_obj._probability_two_random_records_match = min(max(prior, PRIOR_BOUNDS[0]), PRIOR_BOUNDS[1])  # noqa: SLF001
    lk.training.estimate_u_using_random_sampling(max_pairs=float(training.get("u_sample_pairs", 2e6)), seed=1)
    for rule in training.get("em_blocking") or []:
        if set(rule) <= available and len(features) > 1:
            try:
                lk.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
            except Exception as exc:  # noqa: BLE001 - a rule with too few pairs to train on is skipped
                logging.getLogger(__name__).warning("EM on %s skipped: %s", rule, exc)
    return _with_floors(lk.misc.save_model_to_json())


def _with_floors(model: dict[str, Any]) -> dict[str, Any]:
    """No level is proof or disproof: m and u are kept off zero (EM returns 0 for a level it never
    saw among matches, which would give -inf weights), and a level never observed weighs nothing."""
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            if m is None and u is None:
                level["m_probability"] = level["u_probability"] = PROBABILITY_FLOOR
                continue
            level["m_probability"] = max(m if m is not None else (u or PROBABILITY_FLOOR), PROBABILITY_FLOOR)
            level["u_probability"] = max(u if u is not None else level["m_probability"], U_FLOOR)
    return model


def predict(features: pd.DataFrame, model: dict[str, Any], threshold_match_weight: float) -> pd.DataFrame:
    """Scored pairs at or above the threshold: unique_id_l, unique_id_r, match_weight, match_probability, gamma_*."""
    lk = linker(features, model)
    pairs = lk.inference.predict(threshold_match_weight=threshold_match_weight, warning_mode="never")
    return pairs.as_pandas_dataframe()


def tf_columns(model: dict[str, Any]) -> list[str]:
    """Columns whose term frequencies the model's levels use."""
    return sorted({level["tf_adjustment_column"] for c in model["comparisons"] for level in c["comparison_levels"]
                   if level.get("tf_adjustment_column")})


def predict_changed(features: pd.DataFrame, changed: pd.Series, model: dict[str, Any],
                    threshold_match_weight: float) -> pd.DataFrame:
    """Pairs involving a changed record only (incremental run): changed x unchanged, and changed
    x changed. Term frequencies still come from all records, so scores equal a full run's."""
    db = _db()
    everyone = db.register(features)
    lk = Linker(everyone, model, log_level=logging.ERROR)
    for column in tf_columns(model):
        lk.table_management.compute_tf_table(column)
    fresh, known = features[changed.to_numpy()], features[~changed.to_numpy()]
    frames = []
    if len(fresh) and len(known):
        between = lk.inference.predict_between(db.register(fresh), db.register(known),
                                               threshold_match_weight=threshold_match_weight, warning_mode="never")
        frames.append(between.as_pandas_dataframe())
    if len(fresh) > 1:
        within = lk.inference.predict_within(db.register(fresh), threshold_match_weight=threshold_match_weight,
                                             warning_mode="never")
        frames.append(within.as_pandas_dataframe())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["unique_id_l", "unique_id_r", "match_weight", "match_probability"])

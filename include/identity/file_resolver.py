"""`seam resolve`: the identity engine on any CSV, without a warehouse or a pipeline run.

Columns are mapped onto the canonical fields (features.INPUT_FIELDS), so a CSV matches with the
same keys, rules, guards and model as the pipeline. The output is one row per input record with a
deterministic cluster id (the smallest record id of its cluster), so two runs can be diffed.
Bad input is one line on stderr and exit code 2: the person running it fixes the file or the flags,
a traceback would not help them. pandas and the engine (Splink) are imported on use: registering
the subcommand must not slow every other `seam` command.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from include.identity import without_cycle_collection

if TYPE_CHECKING:
    import pandas as pd

EXIT_BAD_INPUT = 2


class InputError(ValueError):
    """The files or flags cannot be resolved; the message names the problem in one line."""


def add_parser(subparsers: Any) -> None:
    """Register `seam resolve` (dispatched through set_defaults(func=run), like the other commands)."""
    p = subparsers.add_parser("resolve", help="resolve identities in a CSV file (or link two)")
    p.add_argument("input", help="CSV file with one record per row")
    p.add_argument("--id-column", required=True, help="column holding each record's unique id")
    p.add_argument("--columns", required=True,
                   help="canonical=input pairs, e.g. first_name=given_name,last_name=surname,date_of_birth=dob")
    p.add_argument("--out", required=True, help="output CSV: [dataset,]record_id,cluster_id,match_probability")
    p.add_argument("--link-with", help="a second CSV (same columns and id column) resolved together with INPUT")
    p.add_argument("--config", help="matching YAML (default mappings/matching.yaml, section people)")
    p.set_defaults(func=run)


def parse_columns(spec: str) -> dict[str, str]:
    """--columns -> {canonical field: input column}."""
    from include.identity.features import INPUT_FIELDS

    mapping: dict[str, str] = {}
    for pair in (p.strip() for p in spec.split(",")):
        if not pair:
            continue
        if "=" not in pair:
            raise InputError(f"--columns: {pair!r} is not canonical=input_column")
        field, column = (s.strip() for s in pair.split("=", 1))
        if field not in INPUT_FIELDS:
            raise InputError(f"--columns: unknown field {field!r}; accepted: {', '.join(INPUT_FIELDS)}")
        if not column:
            raise InputError(f"--columns: {field} names no input column")
        if field in mapping:
            raise InputError(f"--columns: {field} is mapped twice")
        mapping[field] = column
    if not mapping:
        raise InputError("--columns maps no fields; name at least one, e.g. last_name=surname")
    return mapping


def read_records(path: Path, id_column: str, mapping: dict[str, str]) -> pd.DataFrame:
    """The file's records as unique_id + canonical fields (None for empty values)."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=False)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (IsADirectoryError, PermissionError, OSError) as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty file, expected a CSV with a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: not a readable CSV ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    if frame.empty:
        raise InputError(f"{path}: no records below the header")
    if id_column not in frame:
        raise InputError(f"{path}: no id column {id_column!r} (columns: {', '.join(map(str, frame.columns))})")
    missing = [f"{field}={column}" for field, column in mapping.items() if column not in frame]
    if missing:
        raise InputError(f"{path}: --columns names column(s) the file lacks: {', '.join(missing)}")
    ids = frame[id_column].str.strip()
    empty = ids.eq("")
    if empty.any():
        raise InputError(f"{path}: empty {id_column} on data row {int(empty.to_numpy().argmax()) + 1}")
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        raise InputError(f"{path}: duplicate {id_column} {duplicated.iloc[0]!r} "
                         f"({duplicated.nunique()} id(s) appear more than once)")
    out = pd.DataFrame({"unique_id": ids})
    for field, column in mapping.items():
        values = frame[column].str.strip()
        out[field] = values.where(values != "", None).astype(object)
    return standardise(out.reset_index(drop=True))


def standardise(records: pd.DataFrame) -> pd.DataFrame:
    """What staging does before the pipeline matches: phones to E.164 (the record's country, if
    any, reads national formats such as 8 912 …) and DD.MM.YYYY birth dates to ISO. A value that
    does not parse is kept as written, so it still matches its exact twin."""
    from include import normalise

    def date(value: str) -> str:
        try:
            return normalise.date_of_birth(value).isoformat()
        except ValueError:
            return value

    regions = records["country"].map(lambda c: c.upper() if c and len(c) == 2 else None) \
        if "country" in records else [None] * len(records)
    phones: dict[tuple[str, str | None], str | None] = {}  # parsing is the slow part: once per value
    for field in ("phone", "phone_alt"):
        if field in records:
            records[field] = [None if not v else phones[(v, r)] if (v, r) in phones
                              else phones.setdefault((v, r), normalise.phone(v, r))
                              for v, r in zip(records[field], regions, strict=True)]
    if "date_of_birth" in records:
        records["date_of_birth"] = records["date_of_birth"].map(lambda v: date(v) if v else None)
    return records


def load_config(path: str | None) -> dict[str, Any]:
    """The `people` section of matching.yaml, or of --config (a file holding just the section works too)."""
    if path is None:
        from include.config import load_yaml

        return load_yaml("matching.yaml")["people"]
    try:
        loaded = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise InputError(f"--config {path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"--config {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    config = loaded.get("people", loaded) if isinstance(loaded, dict) else None
    if not isinstance(config, dict) or "comparisons" not in config or "blocking" not in config:
        raise InputError(f"--config {path}: expected a matching config (people: blocking, comparisons, …)")
    return config


def dataset_names(first: Path, second: Path) -> tuple[str, str]:
    return ("left", "right") if first.stem == second.stem else (first.stem, second.stem)


@without_cycle_collection
def resolve(records: pd.DataFrame, config: dict[str, Any]) -> pd.DataFrame:
    """unique_id, cluster_id, match_probability per record, in input order."""
    import pandas as pd

    from include.identity import engine, features
    from include.identity.model import comparisons

    feats = features.build(records, "unique_id")
    if not comparisons(config, features.present(feats)):
        raise InputError("the mapped columns hold nothing the matching config compares "
                         "(all empty, or only fields such as region/middle_name that are not matched on)")
    result = engine.match(feats, config)
    best: dict[int, float] = {}
    for edge in result.clusters.accepted:
        probability = float(edge.detail["probability"]) if edge.rule == "model" else 1.0
        for node in (edge.left, edge.right):
            best[node] = max(best.get(node, 0.0), probability)
    smallest: dict[int, str] = {}
    for uid, root in zip(result.ids, result.clusters.roots, strict=True):
        smallest[root] = min(smallest.get(root, uid), uid)
    return pd.DataFrame({
        "unique_id": result.ids,
        "cluster_id": [smallest[root] for root in result.clusters.roots],
        "match_probability": [round(best[i], 6) if i in best else None for i in range(len(result.ids))],
    })


def run(args: argparse.Namespace) -> int:
    """Resolve the file(s) and write the clusters; bad input: one line on stderr, exit code 2."""
    from include.identity.model import MatchingConfigError

    try:
        with _quiet_splink():
            return _run(args)
    except (InputError, MatchingConfigError) as exc:
        print(f"seam resolve: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


@contextlib.contextmanager
def _quiet_splink() -> Iterator[None]:
    """Splink's training warnings ("unable to train m value", one per level) are noise to someone
    resolving a CSV: only its errors reach stderr. Splink adds its own handler only when the
    logger has none, so holding one here keeps its warnings out."""
    log = logging.getLogger("splink")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.ERROR)
    propagate = log.propagate
    for default in [h for h in log.handlers if getattr(h, "_splink_default_handler", False)]:
        log.removeHandler(default)  # added by an earlier Linker in this process; the next one re-adds it
    log.addHandler(handler)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.propagate = propagate


def _run(args: argparse.Namespace) -> int:
    import pandas as pd

    clock = time.perf_counter()
    mapping = parse_columns(args.columns)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: directory {out.parent} does not exist")
    if out.is_dir():
        raise InputError(f"--out {out} is a directory, expected a file name")
    config = load_config(args.config)
    first = Path(args.input)
    records = read_records(first, args.id_column, mapping)
    datasets = None
    if args.link_with:
        second = Path(args.link_with)
        other = read_records(second, args.id_column, mapping)
        datasets = dataset_names(first, second)
        local_ids = pd.concat([records["unique_id"], other["unique_id"]], ignore_index=True)
        labels = [datasets[0]] * len(records) + [datasets[1]] * len(other)
        records = pd.concat([records, other], ignore_index=True)
        records["unique_id"] = [f"{d}:{i}" for d, i in zip(labels, local_ids, strict=True)]
    resolved = resolve(records, config)
    if datasets is None:
        output = resolved.rename(columns={"unique_id": "record_id"})
    else:
        output = pd.DataFrame({"dataset": labels, "record_id": local_ids})
        output[["cluster_id", "match_probability"]] = resolved[["cluster_id", "match_probability"]]
    output.to_csv(out, index=False)
    sizes = output["cluster_id"].value_counts()
    print(f"{len(output)} records read, {len(sizes)} clusters, {int(sizes[sizes > 1].sum())} records in "
          f"multi-record clusters, {time.perf_counter() - clock:.1f} s -> {out}")
    return 0

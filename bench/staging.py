"""`python -m bench staging`: mapping + normalisation + validation throughput of include.staging.stage_all.

Seeding (not measured): a small sandbox is generated and extracted by the real connectors into a
template warehouse, so raw payloads are exactly what staging sees in production, planted defects
included. Per size, the template warehouse is copied and its raw records replicated with new record
ids (references to customers/members and invoices remapped the same way, so referential integrity
holds), e-mails made unique per copy, first names rotated and phones' last digit varied, up to N
rows in the template's stream mix (people, orders with lines, e-mail events, consents, companies).

Measurement: each size runs `stage_all` in a fresh child process (peak RSS = VmHWM of that process).
The child wraps, without editing include/, the functions stage_all calls with timers:

  JSON + row dicts  _map_rows minus map_record: json.loads, building row dicts (the chunked raw
                    SELECTs themselves fall under "other")
  map + normalise   include.mapping.map_record (paths, transforms, normalisers, match keys)
  frames            include.staging._frame: DataFrames and derived columns
  refs + filter     the rest of _check_frames and _quarantine_failures: reference sets, concatenating a
                    table's check frames, deleting quarantined records from staging
  GX import + suites  include.quality.row_expectations (its first call imports great_expectations)
  GX row checks     include.quality.validate (Great Expectations, pandas datasource)
  staging writes    ensure_table + replace_rows of the stg_* tables
  core publication  _publish_core (INSERT ... SELECT inside SQLite)
  quarantine write  replace_rows(quarantine)
  table gates       include.gates.check
  other             drift check, raw counts, commit

With --compare (default on), every frame validated is also checked by the same expectations written
in plain pandas (str.contains for GX's regex, isin, comparisons, notna), producing the same Failure
objects; the failing (row key, rule) pairs must be identical. Its time is excluded from the wall
time reported for stage_all. With --sql, the same frames are also validated by GX through its SQL
datasource (a SQLite table per frame; the upload is timed separately from the validation).

Usage: python -m bench staging [--rows 100000,1000000] [--people 5000] [--profile] [--sql]
                               [--out bench/results/staging.json]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

SYSTEMS = ("woocommerce", "mailchimp", "quickbooks", "legacy_crm")
ID_STRIDE = 10_000_000  # numeric ids of copy k: id + k * stride (template ids stay far below)
BATCH = 50_000
HEX32 = re.compile(r"\b[0-9a-f]{32}\b")
LAST_DIGIT = re.compile(r"\d(?=\D*$)")
EMAIL_KEYS = {"email", "email_address", "Address"}
PHONE_KEYS = {"phone", "PHONE", "FreeFormNumber", "phone_mobile", "phone_work", "phone_home", "phone_office",
              "phone_alternate"}
NAME_KEYS = {"first_name", "FNAME", "GivenName"}
# payload fields holding the record's own id (target None) or the id of a record in another stream
REF_PATHS = {
    ("woocommerce", "customers"): [(("id",), None)],
    ("woocommerce", "orders"): [(("customer_id",), "customers")],
    ("mailchimp", "members"): [(("id",), None)],
    ("mailchimp", "email_activity"): [(("email_id",), "members")],
    ("mailchimp", "sent_to"): [(("email_id",), "members")],
    ("mailchimp", "unsubscribes"): [(("email_id",), "members")],
    ("quickbooks", "customers"): [(("Id",), None)],
    ("quickbooks", "invoices"): [(("Id",), None), (("CustomerRef", "value"), "customers")],
    ("quickbooks", "payments"): [(("Id",), None), (("CustomerRef", "value"), "customers"),
                                 (("LinkedTxn", "*", "TxnId"), "invoices")],
    ("legacy_crm", "contacts"): [(("id",), None)],
    ("legacy_crm", "accounts"): [(("id",), None)],
}


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM); ru_maxrss would carry the parent's peak across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- seeding -----------------------------------------------------------------------------------
def build_template(work: Path, people: int, seed: int) -> Path:
    """Generate a sandbox and extract all four systems with the real connectors into a template warehouse."""
    db = work / "template.db"
    os.environ["WAREHOUSE_URL"] = f"sqlite:///{db}"
    from include import pipeline
    from include.runner import connections_for
    from sandbox.generator import generate_sandbox
    from sandbox.servers import start_servers

    generate_sandbox(work / "sandbox", people, seed)
    handle = start_servers(work / "sandbox")
    os.environ.update(connections_for(handle.systems))
    try:
        for system in SYSTEMS:
            pipeline.extract(system, "bench-template")
    finally:
        handle.stop()
    pipeline.warehouse().dispose()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db


def new_id(rid: str, k: int) -> str:
    if k == 0:
        return rid
    if rid.isdigit():
        return str(int(rid) + k * ID_STRIDE)
    if HEX32.search(rid):
        return HEX32.sub(lambda m: hashlib.md5(f"{m.group()}:{k}".encode()).hexdigest(), rid)  # noqa: S324
    try:
        return str(uuid.uuid5(uuid.UUID(rid), str(k)))
    except ValueError:
        return f"{rid}~{k}"


def _remap(node: Any, path: tuple[str, ...], fn) -> None:
    if not path or node is None:
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for item in node if isinstance(node, list) else []:
            _remap(item, rest, fn)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if rest:
        _remap(node[head], rest, fn)
    elif node[head] not in (None, "", 0, "0"):
        value = node[head]
        node[head] = int(fn(str(value))) if isinstance(value, int) and not isinstance(value, bool) else fn(str(value))


def _vary(node: Any, k: int, names: dict[str, list[str]], index: dict[str, dict[str, int]]) -> None:
    """Unique e-mails per copy, rotated first names, varied phone numbers; defects stay defects."""
    if isinstance(node, list):
        for item in node:
            _vary(item, k, names, index)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if isinstance(value, dict | list):
            _vary(value, k, names, index)
        elif not isinstance(value, str) or not value:
            continue
        elif key in EMAIL_KEYS and "@" in value:
            local, _, domain = value.rpartition("@")
            node[key] = f"{local}{k}@{domain}"
        elif key in PHONE_KEYS:
            node[key] = LAST_DIGIT.sub(lambda m: str((int(m.group()) + k) % 10), value)
        elif key in NAME_KEYS and value in index[key]:
            pool = names[key]
            node[key] = pool[(index[key][value] + k * 7) % len(pool)]


def seed_warehouse(template: Path, db: Path, rows: int) -> dict[str, Any]:
    """Copy the template warehouse to db and replace its raw records by `rows` replicated ones."""
    started = time.perf_counter()
    src = sqlite3.connect(template)
    dst = sqlite3.connect(db)
    src.backup(dst)
    cols = ["source", "stream", "record_id", "payload", "payload_hash", "cursor_value", "is_deleted",
            "first_loaded_at", "loaded_at", "run_id"]
    tpl = src.execute(f"SELECT {', '.join(cols)} FROM raw_records ORDER BY source, stream, record_id").fetchall()
    src.close()
    parsed = [(r, json.loads(r[3])) for r in tpl]
    names: dict[str, list[str]] = defaultdict(list)

    def collect(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                collect(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in NAME_KEYS and isinstance(value, str) and value:
                    names[key].append(value)
                else:
                    collect(value)

    for _, doc in parsed:
        collect(doc)
    names = {k: sorted(set(v)) for k, v in names.items()}
    index = {k: {name: i for i, name in enumerate(v)} for k, v in names.items()}
    index = defaultdict(dict, index)
    per_copy = len(parsed)
    full, rest = divmod(rows, per_copy)
    # The partial last copy takes the same share of every stream; references to a record left out of it
    # point into the previous (complete) copy, so referential integrity holds.
    by_stream: dict[tuple[str, str], list] = defaultdict(list)
    for item in parsed:
        by_stream[(item[0][0], item[0][1])].append(item)
    partial: list = []
    if rest:
        share = rest / per_copy
        quotas = {s: int(len(v) * share) for s, v in by_stream.items()}
        short = rest - sum(quotas.values())
        for s in sorted(by_stream, key=lambda s: -len(by_stream[s]))[:short]:
            quotas[s] += 1
        partial = [item for s, v in by_stream.items() for item in v[:quotas[s]]]
    included = defaultdict(set)
    for r, _ in partial:
        included[(r[0], r[1])].add(r[2])

    dst.execute("DELETE FROM raw_records")
    dst.commit()
    mix: Counter = Counter()
    insert = f"INSERT INTO raw_records ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"

    def generate():
        for k, items in [(k, parsed) for k in range(full)] + ([(full, partial)] if partial else []):
            last = k == full
            for r, doc in items:
                source, stream = r[0], r[1]
                mix[f"{source}.{stream}"] += 1
                if k == 0:
                    yield r
                    continue
                body = json.loads(json.dumps(doc))
                for path, target in REF_PATHS.get((source, stream), []):
                    def ref(value: str, target=target, source=source, k=k, last=last) -> str:
                        if last and target and value not in included[(source, target)]:
                            return new_id(value, k - 1)
                        return new_id(value, k)

                    _remap(body, path, ref)
                _vary(body, k, names, index)
                payload = json.dumps(body, ensure_ascii=False, sort_keys=True, default=str)
                yield (source, stream, new_id(r[2], k), payload, hashlib.sha1(payload.encode()).hexdigest(),  # noqa: S324
                       *r[5:])

    gen = generate()
    while batch := [row for _, row in zip(range(BATCH), gen, strict=False)]:
        dst.executemany(insert, batch)
        dst.commit()
    dst.execute("ANALYZE")
    dst.commit()
    dst.close()
    return {"rows": rows, "template_rows": per_copy, "copies": round(rows / per_copy, 2), "mix": dict(mix),
            "seconds": round(time.perf_counter() - started, 1)}


# --- plain pandas equivalents of the row-level suites ------------------------------------------
def plain_validate(df, expectations: list[tuple[Any, str]]) -> list:
    """The same checks as quality.validate, in plain pandas, returning the same Failure objects."""
    from include import quality

    failures = []
    for exp, reason in expectations:
        column = exp.column
        values = df[column]
        present = values.notna()
        kind = exp.expectation_type
        if kind == "expect_column_values_to_match_regex":
            ok = values[present].astype(str).str.contains(exp.regex)
        elif kind == "expect_column_values_to_be_in_set":
            ok = values[present].isin(exp.value_set)
        elif kind == "expect_column_values_to_be_between":
            v = values[present]
            ok = v == v
            if exp.min_value is not None:
                ok &= v >= exp.min_value
            if exp.max_value is not None:
                ok &= v <= exp.max_value
        else:
            raise NotImplementedError(kind)
        bad = ok.index[~ok.to_numpy(dtype=bool)]
        rule = f"{kind}({column})"
        for key, parent, value in zip(df.loc[bad, quality.KEY], df.loc[bad, quality.PARENT], values[bad],
                                      strict=True):
            failures.append(quality.Failure(row_key=key, rule=rule, column=column, value=quality.mask(column, value),
                                            reason=reason, parent_key=parent))
    return failures


def sql_validate(df, suite_name: str, expectations: list[tuple[Any, str]], work: Path) -> tuple[list, float, float]:
    """The same suite through GX's SQL datasource over a SQLite table holding the frame: (failures, upload s, validate s)."""
    import great_expectations as gx
    import sqlalchemy as sa

    from include import quality

    clock = time.perf_counter()
    db = work / "gx_sql.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    frame = df.copy()
    for column in frame.columns:  # SQLite has no bool/tz types: store what the expectations compare
        if str(frame[column].dtype).startswith("datetime64"):
            frame[column] = frame[column].dt.tz_convert("UTC").dt.tz_localize(None)
    frame.to_sql(suite_name, engine, if_exists="replace", index=False, chunksize=50_000)
    engine.dispose()
    upload = time.perf_counter() - clock
    clock = time.perf_counter()
    context = quality.gx_context()
    name = f"sql_{suite_name}"
    source = context.data_sources.add_or_update_sqlite(name, connection_string=f"sqlite:///{db}")
    batch = source.add_table_asset(suite_name, table_name=suite_name).add_batch_definition_whole_table("all") \
        .get_batch()
    exps = []
    for exp, _ in expectations:
        config = exp.copy(deep=True)
        if getattr(config, "max_value", None) is not None and hasattr(config.max_value, "tzinfo"):
            config.max_value = config.max_value.replace(tzinfo=None)
        exps.append(config)
    suite = gx.ExpectationSuite(name=name, expectations=exps)
    reasons = {exp.expectation_type + ":" + exp.column: reason for exp, reason in expectations}
    # On SQL, GX cuts unexpected_index_list at partial_unexpected_count (default 20) even with COMPLETE
    result = batch.validate(suite, result_format={"result_format": "COMPLETE", "partial_unexpected_count": len(df),
                                                   "unexpected_index_column_names": [quality.KEY, quality.PARENT]})
    context.data_sources.delete(name)
    failures = []
    for res in result.results:
        config = res.expectation_config
        column = config.kwargs["column"]
        for item in (res.result or {}).get("unexpected_index_list") or []:
            failures.append(quality.Failure(row_key=item[quality.KEY], rule=f"{config.type}({column})", column=column,
                                            value=quality.mask(column, item.get(column)),
                                            reason=reasons[config.type + ":" + column], parent_key=item[quality.PARENT]))
    return failures, upload, time.perf_counter() - clock


# --- one measurement, in a fresh process -------------------------------------------------------
def measure_here(db: Path, compare: bool, sql: bool, profile: Path | None) -> dict[str, Any]:
    os.environ["WAREHOUSE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from include import gates, quality, staging
    from include.warehouse import get_engine, migrate

    engine = get_engine(f"sqlite:///{db}")
    migrate(engine)
    seconds: Counter[str] = Counter()
    per_entity: dict[str, Counter] = defaultdict(Counter)
    mismatches: list[str] = []

    def timed(module: Any, attr: str, key) -> None:
        original = getattr(module, attr)

        def wrapper(*args, **kwargs):
            clock = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[key(*args) if callable(key) else key] += time.perf_counter() - clock

        setattr(module, attr, wrapper)

    timed(staging, "_map_rows", "map_stream")
    timed(staging, "map_record", "map_record")
    timed(staging, "_check_frames", "validate_all")  # per chunk: frames, reference sets
    timed(staging, "_quarantine_failures", "validate_all")
    timed(staging, "ensure_table", "staging writes")
    timed(staging, "append_rows", "staging writes")
    timed(staging, "replace_rows", "quarantine write")
    timed(staging, "_publish_core", "core publication")
    timed(gates, "check", "table gates")
    timed(staging, "check_mapped_fields", "drift check")
    timed(quality, "row_expectations", "gx suites")  # the first call imports great_expectations
    timed(staging, "_frame", "frames")
    timed(staging, "_known_refs", "refs")

    gx_validate = quality.validate
    sql_work = Path(tempfile.mkdtemp(prefix="seam-bench-gxsql-")) if sql else Path()

    def validate(df, suite_name, expectations):
        entity = suite_name.removeprefix("stg__")  # one GX run per entity, over every source's rows
        clock = time.perf_counter()
        failures = gx_validate(df, suite_name, expectations)
        gx_s = time.perf_counter() - clock
        seconds["gx"] += gx_s
        stats = per_entity[entity]
        stats["rows"] += len(df)
        stats["frames"] += 1
        stats["gx_s"] += gx_s
        stats["failures"] += len(failures)
        got = {(f.row_key, f.rule) for f in failures}
        if compare:
            clock = time.perf_counter()
            plain = plain_validate(df, expectations)
            plain_s = time.perf_counter() - clock
            seconds["excluded"] += plain_s
            stats["plain_s"] += plain_s
            want = {(f.row_key, f.rule) for f in plain}
            if want != got:
                mismatches.append(f"{suite_name}: GX only {sorted(got - want)[:5]}, plain only {sorted(want - got)[:5]}")
        if sql:
            clock = time.perf_counter()
            try:
                in_sql, upload_s, sql_s = sql_validate(df, suite_name, expectations, sql_work)
                stats["sql_upload_s"] += upload_s
                stats["sql_s"] += sql_s
                in_sql_keys = {(f.row_key, f.rule) for f in in_sql}
                if in_sql_keys != got:
                    mismatches.append(f"{suite_name} (GX SQL): GX pandas only {sorted(got - in_sql_keys)[:3]}, "
                                      f"GX SQL only {sorted(in_sql_keys - got)[:3]}")
            except Exception as exc:  # noqa: BLE001 - report, do not abort the run
                mismatches.append(f"{suite_name} (GX SQL): {type(exc).__name__}: {str(exc)[:200]}")
            seconds["excluded"] += time.perf_counter() - clock
        return failures

    quality.validate = validate
    rss_ready = peak_rss_mb()
    profiler = cProfile.Profile() if profile else None
    clock = time.perf_counter()
    if profiler:
        profiler.enable()
    result = staging.stage_all(engine, "bench")
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    wall = time.perf_counter() - clock - seconds["excluded"]
    if sql:
        shutil.rmtree(sql_work, ignore_errors=True)
    recon = result["reconciliation"]
    raw = sum(r["raw"] for r in recon)
    totals = {k: sum(r[k] for r in recon) for k in staging.COUNTS}
    mapped = seconds["map_record"]
    breakdown = {
        "JSON + row dicts": seconds["map_stream"] - mapped,
        "map + normalise": mapped,
        "frames": seconds["frames"],
        "refs + filter": seconds["validate_all"] - seconds["gx"] - seconds["gx suites"] - seconds["frames"]
        - seconds["excluded"],
        "GX import + suites": seconds["gx suites"],
        "GX row checks": seconds["gx"],
        "staging writes": seconds["staging writes"],
        "core publication": seconds["core publication"],
        "quarantine write": seconds["quarantine write"],
        "table gates": seconds["table gates"],
    }
    breakdown["other"] = wall - sum(breakdown.values())
    with engine.connect() as conn:
        import sqlalchemy as sa

        core = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()  # noqa: S608
                for t in ("person_records", "order_records", "order_lines", "payments", "email_events", "consents",
                          "company_records", "identifiers", "addresses", "quarantine")}
    return {"raw": raw, "counts": totals, "defect_rate": round(totals["quarantined"] / max(raw, 1), 4),
            "seconds": round(wall, 2), "rows_per_s": round(raw / wall), "rss_ready_mb": round(rss_ready, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "breakdown_s": {k: round(v, 2) for k, v in breakdown.items()},
            "breakdown_share": {k: round(v / wall, 3) for k, v in breakdown.items()},
            "per_entity": {e: {k: round(v, 3) if isinstance(v, float) else v for k, v in c.items()}
                           for e, c in per_entity.items()},
            "mismatches": mismatches, "gates_failed": result["gates"]["failed"], "core_rows": core,
            "top_reasons": result["top_reasons"], "profiled": bool(profile)}


def measure(db: Path, compare: bool, sql: bool, profile: Path | None, budget: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.staging", "--child", str(db), "1" if compare else "0", "1" if sql else "0",
           str(profile or "")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=budget,  # noqa: S603
                          cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode:
        raise RuntimeError(f"measurement failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def hotspots(profile: Path, limit: int = 25) -> list[dict[str, Any]]:
    stats = pstats.Stats(str(profile))
    total = stats.total_tt
    rows = []
    for (file, line, fn), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        rows.append({"function": f"{Path(file).name}:{line}({fn})", "calls": calls, "tottime_s": round(tottime, 2),
                     "cumtime_s": round(cumtime, 2), "tottime_share": round(tottime / total, 3),
                     "cumtime_share": round(cumtime / total, 3)})
    by_self = sorted(rows, key=lambda r: -r["tottime_s"])[:limit]
    by_cum = sorted(rows, key=lambda r: -r["cumtime_s"])[:limit]
    return [{"profile_total_s": round(total, 2)}, {"by_self_time": by_self}, {"by_cumulative_time": by_cum}]


def pipeline_share(path: Path, staging_rows_per_s: float | None) -> dict[str, Any] | None:
    """Staging's share of the whole pipeline, from the latest `python -m bench pipeline` results."""
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    stages = [s for s in doc["stages"] if s["stage"] != "generate sandbox"]
    total = sum(s["seconds"] for s in stages)
    stage = next((s for s in stages if s["stage"].startswith("stage")), None)
    if not stage or not total:
        return None
    return {"people": doc.get("people"), "pipeline_seconds": round(total, 1), "staging_seconds": stage["seconds"],
            "staging_share": round(stage["seconds"] / total, 3), "staging_records": stage["records"],
            "staging_records_per_s": stage["records_per_s"],
            "stages": {s["stage"]: s["seconds"] for s in stages}}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        db, compare, sql, profile = argv[1:5]
        print(json.dumps(measure_here(Path(db), compare == "1", sql == "1", Path(profile) if profile else None),
                         default=str))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench staging", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="100000,1000000", help="raw records to stage, comma-separated sizes")
    parser.add_argument("--people", type=int, default=5000, help="people in the template sandbox")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-compare", action="store_true", help="skip the plain-pandas twin of every GX suite")
    parser.add_argument("--sql", action="store_true", help="also validate each frame through GX's SQL datasource")
    parser.add_argument("--profile", action="store_true",
                        help="one more run at the smallest size under cProfile: top functions by self/cumulative time")
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds per measurement before it is killed")
    parser.add_argument("--work-dir", default=None, help="default: a new temporary directory")
    parser.add_argument("--pipeline-results", default="bench/results/pipeline.json",
                        help="`python -m bench pipeline` output, for staging's share of the whole pipeline")
    parser.add_argument("--out", default="bench/results/staging.json")
    args = parser.parse_args(argv)
    from include.summary import table

    sizes = [int(s) for s in args.rows.split(",") if s]
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="seam-bench-staging-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"bench staging: sizes {sizes}, template sandbox of {args.people} people, work dir {work}", flush=True)
    clock = time.perf_counter()
    template = build_template(work, args.people, args.seed)
    print(f"  template warehouse (generate + extract)  {time.perf_counter() - clock:8.1f} s", flush=True)
    results: list[dict[str, Any]] = []
    seeding: dict[str, Any] = {}
    profile_report = None
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after every measurement, so a later failure keeps what was measured
        out.write_text(json.dumps({"sizes": sizes, "template_people": args.people, "seeding": seeding,
                                   "measurements": results}, indent=2, default=str))

    runs = [(size, False) for size in sizes] + ([(min(sizes), True)] if args.profile else [])
    for size, profiled in runs:
        db = work / f"warehouse-{size}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        seeded = seed_warehouse(template, db, size)
        seeding[str(size)] = seeded
        print(f"  seeded {size} raw records in {seeded['seconds']} s ({seeded['copies']} copies of "
              f"{seeded['template_rows']})", flush=True)
        profile = work / f"staging-{size}.prof" if profiled else None
        try:
            result = {"size": size, **measure(db, not args.no_compare and not profiled, args.sql and not profiled,
                                              profile, args.budget)}
        except subprocess.TimeoutExpired:
            print(f"  {size}: stage_all passed the {args.budget:.0f} s budget; killed", flush=True)
            results.append({"size": size, "timed_out": True, "budget_s": args.budget})
            save()
            continue
        except RuntimeError as exc:
            print(f"  {size}: {str(exc)[-1500:]}", flush=True)
            results.append({"size": size, "failed": str(exc)[-1500:], "profiled": profiled})
            save()
            continue
        if profiled:
            profile_report = {"size": size, "profiled_seconds": result["seconds"], "hotspots": hotspots(profile)}
            print(f"  profiled run: {result['seconds']} s under cProfile (profile: {profile})", flush=True)
            continue
        results.append(result)
        save()
        print(f"  stage_all {size}: {result['seconds']} s, {result['rows_per_s']} rows/s, peak RSS "
              f"{result['peak_rss_mb']} MB, quarantined {result['defect_rate']:.2%}", flush=True)
        for m in result["mismatches"]:
            print(f"    MISMATCH {m}", flush=True)
        for db_file in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            db_file.unlink(missing_ok=True)

    done = [r for r in results if "seconds" in r]
    print()
    parts = list(done[0]["breakdown_s"]) if done else []
    print(table(["rows", "seconds", "rows/s", "peak RSS MB", "quarantined", *parts],
                [(r["size"], r["seconds"], r["rows_per_s"], r["peak_rss_mb"], f"{r['defect_rate']:.2%}",
                  *[f"{r['breakdown_s'][p]} ({r['breakdown_share'][p]:.0%})" for p in parts]) for r in done]))
    ratios = []
    for r in done:
        gx_total = plain_total = sql_total = 0.0
        for entity, c in sorted(r["per_entity"].items()):
            gx_total += c.get("gx_s", 0)
            plain_total += c.get("plain_s", 0)
            sql_total += c.get("sql_s", 0)
            ratios.append({"size": r["size"], "entity": entity, "rows": c["rows"], "failures": c["failures"],
                           "gx_s": c.get("gx_s"), "plain_s": c.get("plain_s"),
                           "gx_over_plain": round(c["gx_s"] / c["plain_s"], 1) if c.get("plain_s") else None,
                           "gx_sql_s": c.get("sql_s"), "gx_sql_upload_s": c.get("sql_upload_s"),
                           "gx_sql_over_plain": round(c["sql_s"] / c["plain_s"], 1)
                           if c.get("sql_s") and c.get("plain_s") else None})
        ratios.append({"size": r["size"], "entity": "all", "rows": sum(c["rows"] for c in r["per_entity"].values()),
                       "failures": sum(c["failures"] for c in r["per_entity"].values()),
                       "gx_s": round(gx_total, 2), "plain_s": round(plain_total, 2),
                       "gx_over_plain": round(gx_total / plain_total, 1) if plain_total else None,
                       "gx_sql_s": round(sql_total, 2) if sql_total else None, "gx_sql_upload_s": None,
                       "gx_sql_over_plain": round(sql_total / plain_total, 1) if sql_total and plain_total else None})
    if ratios:
        print()
        print(table(["rows", "entity", "frame rows", "failures", "GX s", "plain s", "GX/plain", "GX SQL s",
                     "GX SQL/plain"],
                    [(x["size"], x["entity"], x["rows"], x["failures"], x["gx_s"], x["plain_s"], x["gx_over_plain"],
                      x["gx_sql_s"], x["gx_sql_over_plain"]) for x in ratios]))
    share = pipeline_share(Path(args.pipeline_results), None)
    if share:
        print(f"\npipeline ({args.pipeline_results}, {share['people']} people): staging {share['staging_seconds']} s "
              f"of {share['pipeline_seconds']} s = {share['staging_share']:.0%}")
    if profile_report:
        print(f"\ncProfile at {profile_report['size']} rows, top self time:")
        top = profile_report["hotspots"][1]["by_self_time"][:15]
        print(table(["function", "calls", "self s", "share"],
                    [(h["function"], h["calls"], h["tottime_s"], f"{h['tottime_share']:.1%}") for h in top]))
    out.write_text(json.dumps({"sizes": sizes, "template_people": args.people, "seeding": seeding,
                               "measurements": results, "gx_ratios": ratios, "pipeline": share,
                               "profile": profile_report}, indent=2, default=str))
    if not args.work_dir:  # a temporary one: template sandbox, warehouses and the profile go with it
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

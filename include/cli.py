"""`seam`: the human entry point (sandbox, run, status, sql, summary, demo)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from include.config import data_dir


def _sandbox_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) if getattr(args, "data_dir", None) else data_dir() / "sandbox"


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox import control

    directory = _sandbox_dir(args)
    if args.action == "up":
        if args.foreground:  # containers: generate if needed, then serve in this process
            from sandbox.serve import main as serve

            control.prepare(directory, args.people, args.seed, args.reset, os.environ.get("LEGACY_CRM_URL"))
            argv = ["--dir", str(directory), "--host", args.host] + (["--ports", args.ports] if args.ports else [])
            return serve(argv)
        state = control.up(directory, people=args.people, seed=args.seed, reset=args.reset,
                           legacy_crm_url=os.environ.get("LEGACY_CRM_URL"), host=args.host)
        print(f"sandbox up ({state['people']} people, seed {state['seed']}) in {directory}")
        for name, system in state["systems"].items():
            print(f"  {name:12} {system.get('base_url') or _redact(system.get('url', ''))}")
        return 0
    if args.action == "down":
        print("sandbox stopped" if control.down(directory) else "sandbox was not running")
        return 0
    state = control.status(directory)
    print("sandbox is not running" if not state else f"sandbox running, pid {state['pid']}")
    return 0


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - display only
        return "<url>"


def _run(stage: str, sandbox_dir: Path) -> datetime:
    from include.runner import STAGE_DAGS, airflow_env, ensure_metadata_db, run_dag, sandbox_connections

    env = airflow_env(sandbox_connections(sandbox_dir))
    started = datetime.now(UTC)
    print("preparing Airflow metadata DB (.airflow/) …", flush=True)
    ensure_metadata_db(env)
    dags = STAGE_DAGS[stage]
    for i, dag_id in enumerate(dags, 1):
        print(f"[{i}/{len(dags)}] {dag_id} …", end=" ", flush=True)
        seconds = run_dag(dag_id, env)
        print(f"ok ({seconds:.1f} s)", flush=True)
    return started


def cmd_run(args: argparse.Namespace) -> int:
    from include.pipeline import warehouse
    from include.summary import render

    started = _run(args.stage, _sandbox_dir(args))
    print(render(warehouse(), since=started))
    return 0


def cmd_summary(_args: argparse.Namespace) -> int:
    from include.pipeline import warehouse
    from include.summary import render

    print(render(warehouse()))
    return 0


def cmd_status(_args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from include.pipeline import warehouse
    from include.summary import table
    from include.warehouse.schema import extract_state, pipeline_runs

    engine = warehouse()
    with engine.connect() as conn:
        cursors = conn.execute(sa.select(extract_state.c.source, extract_state.c.stream,
                                         extract_state.c.cursor_value, extract_state.c.updated_at)).all()
        runs = conn.execute(sa.select(pipeline_runs.c.stage, pipeline_runs.c.status, pipeline_runs.c.finished_at)
                            .order_by(pipeline_runs.c.started_at.desc()).limit(12)).all()
    print("Cursors\n" + table(["source", "stream", "cursor", "updated"], cursors))
    print("\nRecent stages\n" + table(["stage", "status", "finished"], runs))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from include.pipeline import warehouse
    from include.summary import table

    with warehouse().connect() as conn:
        result = conn.execute(sa.text(args.query))
        if result.returns_rows:
            rows = result.fetchmany(args.limit)
            print(table(list(result.keys()), rows))
    return 0


def cmd_mappings(args: argparse.Namespace) -> int:
    """check: validate every manifest and mapping file; explain: one record through its mapping; schema."""
    if args.action == "schema":
        import json

        from include.mapping_schema import mapping_schema

        print(json.dumps(mapping_schema(), indent=2, ensure_ascii=False))
        return 0
    if args.action == "explain":
        from include.explain import explain_record
        from include.pipeline import warehouse

        if not args.source or not args.record_id:
            raise SystemExit("usage: seam mappings explain SOURCE RECORD_ID [--stream STREAM]")
        print(explain_record(warehouse(), args.source, args.record_id, args.stream))
        return 0
    from connectors import SOURCES
    from connectors.manifest import available_manifests, load_manifest
    from include.config import ConfigError
    from include.mapping import load_mapping
    from include.segments import load_segments

    problems = 0
    checks = [*((f"connector {m}", lambda m=m: load_manifest(m)) for m in available_manifests()),
              *((s, lambda s=s: load_mapping(s)) for s in SOURCES), ("segments", load_segments)]
    for name, load in checks:
        try:
            loaded = load()
            detail = f"{len(loaded.streams)} stream(s)" if hasattr(loaded, "streams") else f"{len(loaded)} segment(s)"
            print(f"ok     {name}: {detail}")
        except ConfigError as exc:
            problems += 1
            print(f"error  {exc}")
    return 1 if problems else 0


def cmd_quality(args: argparse.Namespace) -> int:
    """gates: the latest table-level gate results; accept TABLE: take its current size as the baseline."""
    import sqlalchemy as sa

    from include.gates import accept, held_by
    from include.pipeline import warehouse
    from include.summary import table
    from include.warehouse.schema import quality_gates

    engine = warehouse()
    if args.action == "accept":
        if not args.table:
            raise SystemExit("usage: seam quality accept TABLE")
        count = accept(engine, args.table, datetime.now(UTC))
        print(f"{args.table}: {count} rows accepted as the row-count baseline; re-run `seam run --stage unify`")
        return 0
    g = quality_gates.c
    with engine.connect() as conn:
        latest = conn.execute(sa.select(g.run_id).where(g.run_id.not_like("accepted-%"))
                              .order_by(g.checked_at.desc()).limit(1)).scalar()
        rows = conn.execute(sa.select(g.table_name, g.check_name, g.passed, g.observed, g.expected)
                            .where(g.run_id == latest).order_by(g.table_name, g.check_name)).all()
    print(f"Quality gates of staging run {latest}\n" + table(["table", "check", "passed", "observed", "expected"],
                                                              rows))
    reason = held_by(engine)
    print("\n" + (reason or "publication: allowed"))
    return 1 if reason else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sandbox import control

    clock = time.perf_counter()
    directory = _sandbox_dir(args)
    print(f"Seam demo: sandbox systems with {args.people} people (seed {args.seed}) …", flush=True)
    state = control.up(directory, people=args.people, seed=args.seed,
                       legacy_crm_url=os.environ.get("LEGACY_CRM_URL"))
    if state["regenerated"]:
        _forget_old_sandbox()
    args.stage = "all"
    cmd_run(args)
    truth = directory / "ground_truth.csv"
    if truth.exists():
        from include.evaluation import evaluate
        from include.pipeline import warehouse
        from include.summary import table

        report = evaluate(warehouse(), truth)
        print("\nIdentity accuracy against the sandbox's ground truth")
        print(table(["measure", "value"], [(k.replace("_", " "), v) for k, v in report.items()]))
    print(f"\nDone in {time.perf_counter() - clock:.0f} s. The warehouse is {os.environ.get('WAREHOUSE_URL') or data_dir() / 'warehouse.db'}.")
    print("Query it:  .venv/bin/seam sql \"select customer_id, first_name, last_name, email, sources "
          "from customers order by record_count desc limit 5\"")
    print("Stop the sandbox with: .venv/bin/seam sandbox down")
    return 0


def _forget_old_sandbox() -> None:
    """A regenerated sandbox is a new world: start the demo warehouse afresh so nothing stale lingers."""
    if os.environ.get("WAREHOUSE_URL"):
        print("note: the sandbox was regenerated; WAREHOUSE_URL is yours, so it is left as it is "
              "(records of the old sandbox stay in it)")
        return
    for suffix in ("", "-wal", "-shm"):
        (data_dir() / f"warehouse.db{suffix}").unlink(missing_ok=True)
    print("the sandbox was (re)generated: starting a fresh demo warehouse")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seam", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sb = sub.add_parser("sandbox", help="local stand-ins of the connected systems")
    sb.add_argument("action", choices=["up", "down", "status"])
    sb.add_argument("--people", type=int, default=2000)
    sb.add_argument("--seed", type=int, default=7)
    sb.add_argument("--reset", action="store_true", help="regenerate the data even if it exists")
    sb.add_argument("--host", default="127.0.0.1")
    sb.add_argument("--ports", help="fixed ports, e.g. woocommerce=8101,mailchimp=8102,quickbooks=8103")
    sb.add_argument("--foreground", action="store_true", help="serve in this process (containers)")
    sb.add_argument("--data-dir")
    sb.set_defaults(func=cmd_sandbox)

    run = sub.add_parser("run", help="run the DAGs in process (dag.test) and print a summary")
    run.add_argument("--stage", choices=["extract", "unify", "activate", "all"], default="all")
    run.add_argument("--data-dir")
    run.set_defaults(func=cmd_run)

    sub.add_parser("status", help="cursors and recent stages").set_defaults(func=cmd_status)
    sub.add_parser("summary", help="summary of the latest run of each stage").set_defaults(func=cmd_summary)

    sql = sub.add_parser("sql", help="query the warehouse")
    sql.add_argument("query")
    sql.add_argument("--limit", type=int, default=50)
    sql.set_defaults(func=cmd_sql)

    maps = sub.add_parser("mappings", help="validate mapping files, explain a record, print the schema")
    maps.add_argument("action", choices=["check", "explain", "schema"])
    maps.add_argument("source", nargs="?", help="explain: the source (e.g. woocommerce)")
    maps.add_argument("record_id", nargs="?", help="explain: the record's id at the source")
    maps.add_argument("--stream", help="explain: only this stream")
    maps.set_defaults(func=cmd_mappings)

    qual = sub.add_parser("quality", help="table-level quality gates")
    qual.add_argument("action", choices=["gates", "accept"])
    qual.add_argument("table", nargs="?", help="accept: the staging table whose current size is intended")
    qual.set_defaults(func=cmd_quality)

    from include.identity import commands as identity_commands

    identity_commands.add_parser(sub)

    demo = sub.add_parser("demo", help="sandbox up + the whole pipeline + summary")
    demo.add_argument("--people", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--data-dir")
    demo.set_defaults(func=cmd_demo)

    from include.identity import file_resolver

    file_resolver.add_parser(sub)  # dispatches `resolve` to file_resolver.run
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one clear line for people, traceback with SEAM_DEBUG=1
        if os.environ.get("SEAM_DEBUG"):
            raise
        print(f"seam: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

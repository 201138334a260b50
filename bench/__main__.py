"""`make bench`: the pipeline benchmark and the connector benchmark.

python -m bench pipeline [--people N] [--seed S] [--out bench/results/pipeline.json]
    The whole pipeline on a generated sandbox, timed stage by stage: the library stages run in
    process (no scheduler) against the sandbox servers over loopback HTTP, on a fresh SQLite
    warehouse; prints records per second and peak memory (RSS) per stage.
python -m bench connectors [--sizes 100000,1000000] [--systems ...]
    Records/s and peak RSS per connector against a plain loop (bench/connectors.py).
python -m bench staging [--rows 100000,1000000] [--sql] [--profile]
    Mapping + normalisation + validation throughput of stage_all, and Great Expectations against
    the same checks in plain pandas (bench/staging.py).
python -m bench identity [--records 100000,1000000]
    Identity resolution (resolve) speed and peak memory against plain Splink, and an incremental
    run after a 1% change (bench/identity.py).
python -m bench accuracy [--datasets febrl1,febrl2,febrl3,febrl4,sandbox]
    Identity accuracy of `seam resolve` on the FEBRL data and of the pipeline on the sandbox (bench/accuracy.py).
python -m bench [--people N ...]
    The pipeline benchmark, as before the subcommands existed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["connectors"]:
        from bench.connectors import main as connectors_main

        return connectors_main(argv[1:])
    if argv[:1] == ["staging"]:
        from bench.staging import main as staging_main

        return staging_main(argv[1:])
    if argv[:1] == ["identity"]:
        from bench.identity import main as identity_main

        return identity_main(argv[1:])
    if argv[:1] == ["accuracy"]:
        from bench.accuracy import main as accuracy_main

        return accuracy_main(argv[1:])
    if argv[:1] == ["pipeline"]:
        argv = argv[1:]
    return pipeline(argv)


def pipeline(argv: list[str]) -> int:
    """The pipeline benchmark: every stage in process on one generated sandbox."""
    parser = argparse.ArgumentParser(prog="python -m bench pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="bench/results/pipeline.json")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="seam-bench-"))
    os.environ["WAREHOUSE_URL"] = f"sqlite:///{work / 'warehouse.db'}"
    from include import pipeline
    from include.runner import connections_for
    from include.summary import table
    from sandbox.generator import generate_sandbox
    from sandbox.servers import start_servers

    results: list[dict] = []

    def timed(name: str, records: int | None, work_fn):
        start = time.perf_counter()
        out = work_fn()
        seconds = time.perf_counter() - start
        results.append({"stage": name, "seconds": round(seconds, 2), "records": records,
                        "records_per_s": round(records / seconds) if records else None,
                        "peak_rss_mb": round(peak_rss_mb())})
        print(f"  {name:24} {seconds:8.2f} s", flush=True)
        return out

    print(f"bench: {args.people} people, seed {args.seed}, work dir {work}", flush=True)
    counts = timed("generate sandbox", None, lambda: generate_sandbox(work / "sandbox", args.people, args.seed))
    handle = start_servers(work / "sandbox")
    os.environ.update(connections_for(handle.systems))
    try:
        for system in ("woocommerce", "mailchimp", "quickbooks", "legacy_crm"):
            stats = timed(f"extract {system}", None, lambda s=system: pipeline.extract(s, "bench"))
            results[-1]["records"] = sum(s["rows"] for s in stats)
            results[-1]["records_per_s"] = round(results[-1]["records"] / max(results[-1]["seconds"], 1e-9))
        staged = timed("stage (map+GX)", None, lambda: pipeline.stage("bench"))
        raw = sum(r["raw"] for r in staged["reconciliation"])
        results[-1].update(records=raw, records_per_s=round(raw / max(results[-1]["seconds"], 1e-9)))
        resolved = timed("resolve identities", None, lambda: pipeline.resolve("bench"))
        nodes = resolved["contact_records"] + resolved["guest_orders"]
        results[-1].update(records=nodes, records_per_s=round(nodes / max(results[-1]["seconds"], 1e-9)))
        timed("metrics", resolved["customers"], lambda: pipeline.metrics("bench"))
        timed("segments", resolved["customers"], lambda: pipeline.segments("bench"))
        timed("push mailchimp", None, lambda: pipeline.push("mailchimp", "bench"))
    finally:
        handle.stop()
    print()
    print(table(["stage", "seconds", "records", "records/s", "peak RSS MB"],
                [(r["stage"], r["seconds"], r["records"], r["records_per_s"], r["peak_rss_mb"]) for r in results]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"people": args.people, "seed": args.seed, "generated": counts,
                               "stages": results}, indent=2, default=str))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m bench connectors`: records/s and peak memory per connector, against a plain loop.

For each size, a sandbox is bulk-seeded (bench/seed.py) and served from its own process
(`python -m sandbox.serve`), so server work never counts in the client's memory. Every
measurement runs in a fresh child process, so ru_maxrss is that measurement's peak alone:

  framework            source.read_pages(stream, None) to the end, counting records
  framework+warehouse  include.extract.extract_stream into a fresh SQLite warehouse (--warehouse)
  plain                a plain requests.Session loop over the same pages (same auth, page size and
                       query), json-decoding each; for the SQL legacy CRM a plain SQLAlchemy keyset loop

The sandbox servers are pure Python over SQLite with OFFSET paging, so at large sizes they can be
the bottleneck for both contenders alike; the server's CPU seconds are recorded per measurement.
Rate limits are lifted on both sides (sandbox.serve --no-limits, no client pacing): the figures
are the client's cost, not QuickBooks' quota.
Usage: python -m bench connectors [--sizes 100000,1000000] [--systems woocommerce,mailchimp,...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

SYSTEMS = ("woocommerce", "mailchimp", "quickbooks", "legacy_crm")
STREAMS = {"woocommerce": "customers", "mailchimp": "members", "quickbooks": "customers",
           "legacy_crm": "contacts"}
Page = list[dict[str, Any]]


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries the parent's peak into it across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- plain baselines: what a developer would write by hand, page for page the same requests ------
def plain_woocommerce(systems: dict[str, dict[str, str]]) -> Iterator[Page]:
    cfg = systems["woocommerce"]
    session = requests.Session()
    session.auth = (cfg["consumer_key"], cfg["consumer_secret"])
    url, page = f"{cfg['base_url']}/customers", 1
    while True:
        response = session.get(url, params={"role": "all", "orderby": "id", "order": "asc", "page": page,
                                            "per_page": 100}, timeout=60)
        response.raise_for_status()
        records = response.json()
        yield records
        if page >= int(response.headers["X-WP-TotalPages"]) or len(records) < 100:
            return
        page += 1


def plain_mailchimp(systems: dict[str, dict[str, str]]) -> Iterator[Page]:
    cfg = systems["mailchimp"]
    session = requests.Session()
    session.auth = ("seam", cfg["api_key"])
    url, offset = f"{cfg['base_url']}/lists/{cfg['list_id']}/members", 0
    while True:
        response = session.get(url, params={"exclude_fields": "members.tags,members.tags_count,_links",
                                            "offset": offset, "count": 1000}, timeout=60)
        response.raise_for_status()
        body = response.json()
        records = body["members"]
        yield records
        offset += len(records)
        if offset >= body["total_items"] or len(records) < 1000:
            return


def plain_quickbooks(systems: dict[str, dict[str, str]]) -> Iterator[Page]:
    cfg = systems["quickbooks"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {cfg['access_token']}"
    url, offset = f"{cfg['base_url']}/query", 0
    while True:
        query = (f"SELECT * FROM Customer WHERE Active IN (true, false) ORDERBY Id "
                 f"STARTPOSITION {offset + 1} MAXRESULTS 1000")
        response = session.get(url, params={"query": query, "minorversion": "75"}, timeout=60)
        response.raise_for_status()
        records = response.json()["QueryResponse"].get("Customer", [])
        yield records
        offset += len(records)
        if len(records) < 1000:
            return


def plain_legacy_crm(systems: dict[str, dict[str, str]]) -> Iterator[Page]:
    """Keyset over the primary key of contacts, then the page's e-mails and accounts by id."""
    url = systems["legacy_crm"]["url"]
    engine = sa.create_engine("sqlite:///file:" + url.removeprefix("sqlite:///") + "?mode=ro&uri=true")
    contacts = sa.text("SELECT * FROM contacts WHERE id > :after ORDER BY id LIMIT 1000")
    emails = sa.text("SELECT r.bean_id, r.primary_address, e.email_address, e.opt_out, e.invalid_email "
                     "FROM email_addr_bean_rel r JOIN email_addresses e ON e.id = r.email_address_id "
                     "WHERE r.bean_module = 'Contacts' AND r.deleted = 0 AND e.deleted = 0 AND r.bean_id IN :ids"
                     ).bindparams(sa.bindparam("ids", expanding=True))
    accounts = sa.text("SELECT ac.contact_id, a.name FROM accounts_contacts ac JOIN accounts a ON a.id = ac.account_id"
                       " WHERE ac.deleted = 0 AND a.deleted = 0 AND ac.contact_id IN :ids"
                       ).bindparams(sa.bindparam("ids", expanding=True))
    after = ""
    while True:
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(contacts, {"after": after}).mappings()]
            if not rows:
                return
            ids = [r["id"] for r in rows]
            by_contact: dict[str, list[dict[str, Any]]] = {}
            for e in conn.execute(emails, {"ids": ids}).mappings():
                by_contact.setdefault(e["bean_id"], []).append(dict(e))
            names = {a["contact_id"]: a["name"] for a in conn.execute(accounts, {"ids": ids}).mappings()}
        for row in rows:
            row["emails"], row["account_name"] = by_contact.get(row["id"], []), names.get(row["id"])
        yield rows
        if len(rows) < 1000:
            return
        after = rows[-1]["id"]


PLAIN: dict[str, Callable[[dict[str, dict[str, str]]], Iterator[Page]]] = {
    "woocommerce": plain_woocommerce, "mailchimp": plain_mailchimp, "quickbooks": plain_quickbooks,
    "legacy_crm": plain_legacy_crm}


# --- one measurement, in a fresh process ------------------------------------------------------
def _bounded(pages: Iterator[Page], deadline: float, max_pages: int, state: dict[str, Any]) -> Iterator[Page]:
    """Stop after the time budget (or max_pages), so a quadratic server yields a partial rate, not a hang."""
    for page in pages:
        state["pages"] += 1
        state["records"] += len(page)
        yield page
        if time.perf_counter() > deadline or state["pages"] == max_pages:
            state["complete"] = False
            return


def measure_here(mode: str, system: str, state_file: Path, budget: float, work: Path,
                 max_pages: int = 0) -> dict[str, Any]:
    """Run one measurement in this process (called in a fresh child) and return its figures."""
    systems = json.loads(Path(state_file).read_text())["systems"]
    stream = STREAMS[system]
    state: dict[str, Any] = {"pages": 0, "records": 0, "complete": True}
    engine = None
    if mode == "plain":  # the plain loop imports nothing of the framework: its RSS is its own
        pages = PLAIN[system](systems)
    else:
        from connectors import open_source
        from include.config import parse_connection
        from include.runner import connections_for

        conn_id = f"seam_{system}"
        source = open_source(system, parse_connection(conn_id, connections_for(systems)[f"AIRFLOW_CONN_{conn_id.upper()}"]))
        # Pacing off, as in the plain loop: this measures the client's overhead, not a quota
        # (QuickBooks' 500 requests/min alone caps a paced read at 8,333 records/s).
        source.throttle = None
        pages = source.read_pages(stream, None)
    if mode == "framework+warehouse":
        from include.extract import extract_stream
        from include.warehouse.engine import get_engine, migrate

        engine = get_engine(f"sqlite:///{work / f'warehouse-{system}.db'}")
        migrate(engine)
        read_pages = source.read_pages
    rss_ready = peak_rss_mb()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    deadline = started + budget
    if engine is not None:
        source.read_pages = lambda name, since, **kw: _bounded(read_pages(name, since, **kw), deadline, max_pages, state)
        extract_stream(source, stream, engine, "bench", full_refresh=True)
    else:
        for _page in _bounded(pages, deadline, max_pages, state):
            pass
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"system": system, "mode": mode, "records": state["records"], "pages": state["pages"],
            "complete": state["complete"], "seconds": round(seconds, 2),
            "records_per_s": round(state["records"] / max(seconds, 1e-9)),
            "client_cpu_s": round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 2),
            "rss_ready_mb": round(rss_ready, 1), "peak_rss_mb": round(peak_rss_mb(), 1)}


def _server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(mode: str, system: str, state_file: Path, budget: float, work: Path, server_pid: int,
            max_pages: int = 0) -> dict:
    """One measurement in a fresh interpreter, so its peak RSS is its own."""
    before = _server_cpu(server_pid)
    out = subprocess.run([sys.executable, "-m", "bench.connectors", "--child", mode, system, str(state_file),
                          str(budget), str(work), str(max_pages)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{system} {mode} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["server_cpu_s"] = round(_server_cpu(server_pid) - before, 2)
    return result


# --- the sandbox server, in its own process ---------------------------------------------------
def start_server(data_dir: Path, root: Path | None = None) -> tuple[subprocess.Popen, Path]:
    """`python -m sandbox.serve` in its own process; root pins the sandbox code (e.g. a release export)."""
    state_file = data_dir / "sandbox.json"
    state_file.unlink(missing_ok=True)
    with (data_dir / "server.log").open("w") as log:  # a pipe nobody reads would stall the server
        proc = subprocess.Popen([sys.executable, "-m", "sandbox.serve", "--dir", str(data_dir.resolve()), "--no-limits"],
                                cwd=root, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        if state_file.exists():
            return proc, state_file
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox server exited: {(data_dir / 'server.log').read_text()[-2000:]}")
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    raise RuntimeError("sandbox server did not start within 30 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


# --- driver -----------------------------------------------------------------------------------
def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """framework/plain time ratios per system and size, and peak RSS at the largest vs smallest size."""
    index: dict[tuple[int, str, str], dict[str, Any]] = {}
    for r in results:  # with --repeat, the fastest run per record stands for the mode (least disturbed)
        key = (r["size"], r["system"], r["mode"])
        if key not in index or r["seconds"] / max(r["records"], 1) < index[key]["seconds"] / max(index[key]["records"], 1):
            index[key] = r
    sizes = sorted({r["size"] for r in results})
    ratios = []
    for size in sizes:
        for system in SYSTEMS:
            plain = index.get((size, system, "plain"))
            if not plain:
                continue
            row = {"size": size, "system": system}
            for mode in ("framework", "framework+warehouse"):
                if (size, system, mode) in index:
                    # per-record time ratio, so a run stopped by its time budget still compares fairly
                    mine, theirs = index[(size, system, mode)], plain
                    row[f"{mode}/plain"] = round((mine["seconds"] / max(mine["records"], 1))
                                                 / (theirs["seconds"] / max(theirs["records"], 1)), 2)
            ratios.append(row)
    memory = []
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        for system in SYSTEMS:
            for mode in ("framework", "framework+warehouse", "plain"):
                a, b = index.get((small, system, mode)), index.get((large, system, mode))
                if a and b:
                    memory.append({"system": system, "mode": mode, "small": small, "large": large,
                                   "rss_ratio": round(b["peak_rss_mb"] / a["peak_rss_mb"], 2)})
    return {"time_ratios": ratios, "rss_ratios": memory}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        mode, system, state_file, budget, work, max_pages = argv[1:7]
        print(json.dumps(measure_here(mode, system, Path(state_file), float(budget), Path(work), int(max_pages))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench connectors", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="records per stream, comma-separated")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--warehouse", nargs="?", const=",".join(SYSTEMS), default="", metavar="SYSTEMS",
                        help="also time include.extract.extract_stream into a fresh SQLite warehouse "
                             "(for all systems, or those listed)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per measurement; ratios use the fastest (the machine may be shared)")
    parser.add_argument("--budget", type=float, default=1800.0,
                        help="seconds per measurement before it stops and reports a partial rate")
    parser.add_argument("--work-dir", default=str(Path(tempfile.gettempdir()) / "seam-bench-connectors"),
                        help="seeded sandboxes live here and are reused when already seeded at that size")
    parser.add_argument("--server-root", type=Path, default=None,
                        help="serve the sandbox from this source tree (default: this checkout)")
    parser.add_argument("--out", default="bench/results/connectors.json")
    args = parser.parse_args(argv)
    from bench.seed import seed
    from include.summary import table

    sizes = [int(s) for s in args.sizes.split(",") if s]
    systems = [s for s in args.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}; known: {', '.join(SYSTEMS)}")
    warehouse = {s for s in args.warehouse.split(",") if s}
    work = Path(args.work_dir)
    results: list[dict[str, Any]] = []
    seeding: dict[str, dict[str, float]] = {}
    for size in sizes:
        data_dir = work / f"n{size}"
        print(f"bench connectors: {size} records per stream in {data_dir}", flush=True)
        timings = seed(data_dir, size, systems)
        seeding[str(size)] = {k: round(v, 1) for k, v in timings.items()}
        for step, seconds in timings.items():
            print(f"  {step:28} {seconds:8.1f} s", flush=True)
        proc, state_file = start_server(data_dir, args.server_root)
        try:
            for system in systems:
                max_pages = 0
                modes = ["framework", "plain"] * args.repeat + (["framework+warehouse"] if system in warehouse else [])
                for mode in modes:
                    # When the framework run hits the budget, the others read exactly its pages:
                    # OFFSET paging makes later pages dearer, so equal time would not be a fair race.
                    result = {"size": size, **measure(mode, system, state_file, args.budget * (1 + 9 * bool(max_pages)),
                                                      work, proc.pid, max_pages)}
                    if mode == "framework" and not result["complete"] and not max_pages:
                        max_pages = result["pages"]
                    results.append(result)
                    print(f"  {system:12} {mode:20} {result['records']:>9} rec {result['seconds']:8.2f} s "
                          f"{result['records_per_s']:>7}/s  peak RSS {result['peak_rss_mb']:6.1f} MB"
                          f"{'' if result['complete'] else '  (partial)'}", flush=True)
        finally:
            stop_server(proc)
    summary = summarise(results)
    print()
    print(table(["size", "system", "mode", "records", "seconds", "records/s", "RSS after imports MB",
                 "peak RSS MB", "client CPU s", "server CPU s"],
                [(r["size"], r["system"], r["mode"], f"{r['records']}{'' if r['complete'] else '*'}", r["seconds"],
                  r["records_per_s"], r["rss_ready_mb"], r["peak_rss_mb"], r["client_cpu_s"], r["server_cpu_s"])
                 for r in results]))
    if any(not r["complete"] for r in results):
        print("* partial: the framework run hit --budget; the other modes then read exactly its pages")
    print()
    print(table(["size", "system", "framework/plain", "framework+warehouse/plain"],
                [(r["size"], r["system"], r.get("framework/plain"), r.get("framework+warehouse/plain"))
                 for r in summary["time_ratios"]]))
    if summary["rss_ratios"]:
        print()
        print(table(["system", "mode", "peak RSS large/small"],
                    [(m["system"], m["mode"], f"{m['rss_ratio']} ({m['large']}/{m['small']})")
                     for m in summary["rss_ratios"]]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"sizes": sizes, "systems": systems, "seeding_seconds": seeding,
                               "measurements": results, **summary}, indent=2))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

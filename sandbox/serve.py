"""`python -m sandbox.serve --dir D`: run the sandbox servers until SIGTERM, writing D/sandbox.json."""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from pathlib import Path

from sandbox import quickbooks
from sandbox.servers import start_servers


def parse_ports(text: str | None) -> dict[str, int]:
    ports = {}
    for item in filter(None, (text or "").split(",")):
        name, _, port = item.partition("=")
        ports[name.strip()] = int(port)
    return ports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.serve")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ports", help="e.g. woocommerce=8101,mailchimp=8102,quickbooks=8103")
    parser.add_argument("--foreground", action="store_true", help="accepted for clarity; always serves here")
    parser.add_argument("--no-limits", action="store_true",
                        help="lift QuickBooks' 500 requests/min (benchmarks measure the client, not the quota)")
    args = parser.parse_args(argv)
    data_dir = Path(args.dir)
    handle = start_servers(data_dir, host=args.host, ports=parse_ports(args.ports))
    if args.no_limits:
        for server in handle.servers:
            if server.system == "quickbooks":
                limits = quickbooks.state(server)
                limits.requests_per_window, limits.max_concurrent = 10**9, 10**6
    generation = json.loads((data_dir / "generation.json").read_text())
    state = {"pid": os.getpid(), "systems": handle.systems, "people": generation["people"],
             "seed": generation["seed"]}
    state_file = data_dir / "sandbox.json"
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.chmod(0o600)
    tmp.replace(state_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    handle.stop()
    state_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

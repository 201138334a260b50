"""Shared plumbing for the HTTP sandboxes: a quiet threaded server and JSON responses."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Faults:
    """Failures a real service shows now and then; `rate` is the share of requests that get one.

    Kinds: "429" (with Retry-After), "500", "503", "drop" (connection closed, no answer),
    "update" (someone edits a random record of the system just before the answer is computed, as
    happens while a long listing is paged; the request itself succeeds), "repeat" (an offset-paged
    listing starts one record early, repeating a record across the page boundary), and "slow" (the answer
    comes, correct, after `slow_seconds`: a busy service, which tests timeouts and pacing).
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = ("429", "500", "503", "drop")
    retry_after: int = 1
    seed: int = 0
    slow_seconds: float = 0.5


# Kinds a concurrent edit may hit: records with a modification time (not campaign reports).
EDITABLE = {"woocommerce": ("customers", "orders"), "mailchimp": ("members",),
            "quickbooks": ("Customer", "Invoice", "Payment")}


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64  # socketserver's backlog of 5 would drop part of a burst of connections

    def __init__(self, address: tuple[str, int], handler: type, data_dir: Path, credentials: dict[str, Any],
                 system: str = ""):
        super().__init__(address, handler)
        self.system = system
        self.data_dir = Path(data_dir)
        self.credentials = credentials
        self.in_flight = 0
        self.lock = threading.Lock()
        self.faults = Faults()
        self.fault_rng = random.Random(0)
        self.faults_served = 0
        self.edits_made = 0

    def inject(self, faults: Faults) -> None:
        self.faults, self.fault_rng = faults, random.Random(faults.seed)

    def next_fault(self) -> str | None:
        with self.lock:
            if self.faults.rate and self.fault_rng.random() < self.faults.rate:
                self.faults_served += 1
                return self.fault_rng.choice(self.faults.kinds)
        return None

    def edit_random_record(self) -> None:
        """Bump one random record's modification time (and version), as a concurrent edit would."""
        from sandbox import store

        conn = store.connect(self.data_dir, self.system)
        kinds = EDITABLE.get(self.system, ())
        where = f"kind IN ({', '.join('?' * len(kinds))})" if kinds else "1 = 1"
        with self.lock:
            count = conn.execute(f"SELECT COUNT(*) FROM objects WHERE {where}", kinds).fetchone()[0]
            row = conn.execute(f"SELECT kind, id FROM objects WHERE {where} ORDER BY kind, id LIMIT 1 OFFSET ?",
                               (*kinds, self.fault_rng.randrange(max(1, count)))).fetchone()
        conn.close()
        if row:
            store.touch(self.data_dir, self.system, row[0], row[1])
            self.edits_made += 1

    @property
    def port(self) -> int:
        return self.server_address[1]


class JsonHandler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: avoid 40 ms delayed-ACK stalls

    def log_message(self, *_args: Any) -> None:  # quiet: never log requests (they carry credentials)
        return

    @property
    def parts(self):
        return urlsplit(self.path)

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.parts.query, keep_blank_values=True).items()}

    def body_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else {}

    def body_text(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8") if length else ""

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None,
                  content_type: str = "application/json; charset=UTF-8") -> None:
        data = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def dispatch(self, method: str) -> None:
        raise NotImplementedError

    repeating = False

    def overlap(self, possible: bool) -> int:
        """1 when this request drew a "repeat" fault: the page starts one record early, so the previous
        page's last record comes again, as when a record is inserted ahead of a reader's offset."""
        return int(possible and self.repeating)

    def _serve(self, method: str) -> None:
        fault = self.server.next_fault()
        if fault == "update":
            self.server.edit_random_record()
            fault = None
        self.repeating = fault == "repeat"  # one handler serves every request of a kept-alive connection
        if self.repeating:
            fault = None
        elif fault == "slow":  # next_fault has released the server lock: other requests go on meanwhile
            time.sleep(self.server.faults.slow_seconds)
            fault = None
        if fault == "drop":  # the connection dies before any answer
            self.close_connection = True
            return
        if fault:
            headers = {"Retry-After": str(self.server.faults.retry_after)} if fault == "429" else {}
            return self.send_json(int(fault), {"error": "injected fault", "status": int(fault)}, headers)
        self.dispatch(method)

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

"""Start the three HTTP sandboxes (WooCommerce, Mailchimp, QuickBooks) in daemon threads."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.http import Faults, SandboxServer
from sandbox.mailchimp import MailchimpHandler
from sandbox.quickbooks import QuickBooksHandler
from sandbox.woocommerce import WooCommerceHandler

HANDLERS = {"woocommerce": WooCommerceHandler, "mailchimp": MailchimpHandler, "quickbooks": QuickBooksHandler}


@dataclass
class SandboxHandle:
    systems: dict[str, dict[str, str]]
    servers: list[SandboxServer] = field(default_factory=list)

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def load_credentials(data_dir: Path) -> dict[str, Any]:
    path = Path(data_dir) / "credentials.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: generate the sandbox first (seam sandbox up)")
    return json.loads(path.read_text())


def start_servers(data_dir: Path, host: str = "127.0.0.1", ports: dict[str, int] | None = None,
                  public_host: str | None = None, faults: Faults | None = None) -> SandboxHandle:
    """Serve every HTTP sandbox on host (ephemeral ports unless given); systems says how to reach them."""
    data_dir = Path(data_dir)
    creds = load_credentials(data_dir)
    handle = SandboxHandle(systems={})
    shown = public_host or ("127.0.0.1" if host in ("0.0.0.0", "") else host)
    for name, handler in HANDLERS.items():
        server = SandboxServer((host, (ports or {}).get(name, 0)), handler, data_dir, creds[name], system=name)
        if faults:
            server.inject(faults)
        threading.Thread(target=server.serve_forever, name=f"sandbox-{name}", daemon=True).start()
        handle.servers.append(server)
        root = f"http://{shown}:{server.port}"
        if name == "woocommerce":
            handle.systems[name] = {"base_url": f"{root}/wp-json/wc/v3", **creds[name]}
        elif name == "mailchimp":
            handle.systems[name] = {"base_url": f"{root}/3.0", **creds[name]}
        else:
            handle.systems[name] = {"base_url": f"{root}/v3/company/{creds[name]['realm_id']}", **creds[name]}
    handle.systems["legacy_crm"] = dict(creds["legacy_crm"])
    return handle

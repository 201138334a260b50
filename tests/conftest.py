"""Shared fixtures: warehouses on SQLite and (when it answers) PostgreSQL, and the MariaDB probe."""

from __future__ import annotations

import os
import socket
import tempfile

import pytest
import sqlalchemy as sa

# Airflow reads its config at first import: point it at a throwaway home before any test imports it.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="seam-test-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# Token caches, sandboxes and other run data of the tests stay out of the checkout's data/.
os.environ.setdefault("SEAM_DATA_DIR", tempfile.mkdtemp(prefix="seam-test-data-"))

PG_ADMIN_URL = os.environ.get("SEAM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("SEAM_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


# Per server: admin URL, port, how to drop and create a database, and the URL suffix tests connect with.
SERVERS = {
    "PostgreSQL": (PG_ADMIN_URL, 5432, 'DROP DATABASE IF EXISTS "{0}" WITH (FORCE)', 'CREATE DATABASE "{0}"', ""),
    "MariaDB": (MARIADB_URL, 3306, "DROP DATABASE IF EXISTS `{0}`",
                "CREATE DATABASE `{0}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", "?charset=utf8mb4"),
}
CREATED: list[tuple[str, str]] = []  # (server, database) made by this session, dropped at its end


def _admin(server: str) -> sa.Engine:
    url = SERVERS[server][0]
    return sa.create_engine(url, isolation_level="AUTOCOMMIT") if url.startswith("postgresql") else sa.create_engine(url)


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases():
    yield
    for server, name in CREATED:
        try:
            engine = _admin(server)
            with engine.begin() as conn:
                conn.execute(sa.text(SERVERS[server][2].format(name)))
            engine.dispose()
        except sa.exc.SQLAlchemyError:
            pass  # best effort: a leftover test database is harmless


def fresh_database(server: str, name: str) -> str:
    """A new, empty database on a real server, or skip the test saying why the server is not there."""
    admin_url, port, drop, create, suffix = SERVERS[server]
    problem = _reachable("127.0.0.1", port)
    if problem:
        pytest.skip(f"{server} not reachable at 127.0.0.1:{port}: {problem}")
    admin = _admin(server)
    with admin.begin() as conn:
        conn.execute(sa.text(drop.format(name)))
        conn.execute(sa.text(create.format(name)))
    admin.dispose()
    CREATED.append((server, name))
    return admin_url.rsplit("/", 1)[0] + f"/{name}{suffix}"


def postgres_url(name: str) -> str:
    return fresh_database("PostgreSQL", name)


def mariadb_url(name: str) -> str:
    return fresh_database("MariaDB", name)


def _reachable(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=1):
            return None
    except OSError as exc:
        return str(exc)


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return postgres_url(f"seam_test_wh_{os.getpid()}")


@pytest.fixture
def warehouse(tmp_path):
    """A fresh SQLite warehouse, migrated: where an extraction under test writes."""
    from include.warehouse import get_engine, migrate

    engine = get_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(warehouse_url):
    from include.warehouse import get_engine, migrate

    eng = get_engine(warehouse_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def sandbox_env(tmp_path_factory):
    """A generated sandbox (300 people) with its HTTP servers running, shared by the connector tests."""
    from sandbox.generator import generate_sandbox
    from sandbox.servers import start_servers

    directory = tmp_path_factory.mktemp("sandbox")
    generate_sandbox(directory, people=300, seed=3)
    handle = start_servers(directory)
    yield {"dir": directory, "systems": handle.systems}
    handle.stop()


@pytest.fixture
def sandbox_copy(tmp_path):
    """A private sandbox a test may change (touch records), with its own servers."""
    from sandbox.generator import generate_sandbox
    from sandbox.servers import start_servers

    generate_sandbox(tmp_path / "sandbox", people=150, seed=5)
    handle = start_servers(tmp_path / "sandbox")
    yield {"dir": tmp_path / "sandbox", "systems": handle.systems, "handle": handle}
    handle.stop()


def connection_for(system: str, systems: dict, **overrides):
    """The Connection a deployment would configure for this sandbox system (fields overridable)."""
    from dataclasses import replace

    from include.config import parse_connection
    from include.runner import connections_for

    conn = parse_connection(f"seam_{system}", connections_for(systems)[f"AIRFLOW_CONN_SEAM_{system.upper()}"])
    return replace(conn, **overrides)


# Streams that list only part of a generated kind: (store kind, tag) of what the connector reads.
LISTED = {("mailchimp", "campaigns"): ("campaigns", "sent")}


def truth_count(directory, source: str, stream: str) -> int:
    """Records the generator made for a stream: person-linked ones from the ground truth, the others
    (payments, campaign activity, accounts) from generation.json's counts."""
    import json

    from include.evaluation import STREAM_ALIASES, load_truth

    found = sum(1 for s, st, _r in load_truth(directory / "ground_truth.csv") if (s, st) == (source, stream))
    if found:
        return found
    if (source, stream) in LISTED:
        from sandbox import store

        kind, tag = LISTED[(source, stream)]
        conn = store.connect(directory, source)
        try:
            return conn.execute("SELECT COUNT(*) FROM objects WHERE kind = ? AND tag = ?", (kind, tag)).fetchone()[0]
        finally:
            conn.close()
    counts = json.loads((directory / "generation.json").read_text())["counts"]
    kinds = [k for (s, k), v in STREAM_ALIASES.items() if (s, v) == (source, stream)] + [stream]
    keys = [f"{source}.{kind}" for kind in kinds if f"{source}.{kind}" in counts]
    if not keys:
        raise KeyError(f"the generator made no {source}.{stream}")
    return counts[keys[0]]


@pytest.fixture
def no_overrides(tmp_path, monkeypatch):
    """An overrides file of the test's own: `seam identity split` writes to it, never to the shipped one."""
    from include.identity import overrides

    file = tmp_path / "identity_overrides.yaml"
    file.write_text("# overrides\nmust_link: []\ncannot_link: []\n", encoding="utf-8")
    monkeypatch.setattr(overrides, "path", lambda: file)
    return file

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

PG_ADMIN_URL = os.environ.get("SEAM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("SEAM_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


CREATED: list[tuple[str, str]] = []  # (admin url, database) made by this session, dropped at its end


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases():
    yield
    for admin_url, name in CREATED:
        try:
            if admin_url.startswith("postgresql"):
                engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
                statement = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            else:
                engine = sa.create_engine(admin_url)
                statement = f"DROP DATABASE IF EXISTS `{name}`"
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
            engine.dispose()
        except sa.exc.SQLAlchemyError:
            pass  # best effort: a leftover test database is harmless


def _reachable(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=1):
            return None
    except OSError as exc:
        return str(exc)


def postgres_url(name: str) -> str:
    """A fresh, empty PostgreSQL database for this test session, or skip with the reason."""
    problem = _reachable("127.0.0.1", 5432)
    if problem:
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {problem}")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    CREATED.append((PG_ADMIN_URL, name))
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def mariadb_url(name: str) -> str:
    problem = _reachable("127.0.0.1", 3306)
    if problem:
        pytest.skip(f"MariaDB not reachable at 127.0.0.1:3306: {problem}")
    admin = sa.create_engine(MARIADB_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    admin.dispose()
    CREATED.append((MARIADB_URL, name))
    return MARIADB_URL.rsplit("/", 1)[0] + f"/{name}?charset=utf8mb4"


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return postgres_url(f"seam_test_wh_{os.getpid()}")


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
    yield {"dir": tmp_path / "sandbox", "systems": handle.systems}
    handle.stop()


def connection_for(system: str, systems: dict, **overrides):
    """The Connection a deployment would configure for this sandbox system (fields overridable)."""
    from dataclasses import replace

    from include.config import parse_connection
    from include.runner import connections_for

    conn = parse_connection(f"seam_{system}", connections_for(systems)[f"AIRFLOW_CONN_SEAM_{system.upper()}"])
    return replace(conn, **overrides)


def truth_count(directory, source: str, stream: str) -> int:
    from include.evaluation import load_truth

    return sum(1 for s, st, _r in load_truth(directory / "ground_truth.csv") if (s, st) == (source, stream))

"""Structural checks of the Docker Compose stack (no Docker engine needed).

docker-compose.yml, docker/Dockerfile, docker/postgres-init/ and .env.example must agree with each
other and with the repository: services, healthchecks, start order, mounts, variables, pins, secrets.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / "docker" / "Dockerfile.dockerignore"
PG_INIT_DIR = ROOT / "docker" / "postgres-init"

AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
REQUIRED_SERVICES = ("postgres", "airflow-init", *AIRFLOW_SERVICES, "sandbox")
ONE_SHOT_SERVICES = ("airflow-init",)
SEAM_MOUNTS = {name: f"/opt/seam/{name}" for name in ("dags", "include", "connectors", "mappings")}
SEAM_CONNECTIONS = tuple(f"AIRFLOW_CONN_SEAM_{s}" for s in ("WOOCOMMERCE", "MAILCHIMP", "QUICKBOOKS", "LEGACY_CRM"))
PLACEHOLDER = re.compile(r"change[-_]?me|replace[-_]?me|example|placeholder|your[-_]", re.IGNORECASE)
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET|API_KEY|(^|_)KEY$", re.IGNORECASE)
NOT_A_SECRET = ("_FILE", "_CMD", "_USERS")  # e.g. ..._PASSWORDS_FILE is a path, not a password
VAR_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE.name} is missing at the repository root"
    doc = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict), \
        "docker-compose.yml must be a mapping with a `services:` mapping"
    return doc


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    assert ENV_EXAMPLE.is_file(), ".env.example is missing at the repository root"
    values: dict[str, str] = {}
    for number, raw in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)", line)
        assert match, f".env.example line {number} is not KEY=VALUE: {raw!r}"
        key, value = match.groups()
        assert key not in values, f".env.example declares {key} twice (line {number})"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # short form means service_started
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _volumes(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of every volume entry, short or long syntax."""
    out = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, str):
            parts = entry.split(":")
            out.append((parts[0], parts[1]) if len(parts) > 1 else ("", parts[0]))
        else:
            out.append((str(entry.get("source", "")), str(entry.get("target", ""))))
    return out


def _strings(node: Any) -> list[str]:
    """Every string value in the parsed document (keys are not interpolated by Compose)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def _pin(path: Path, package: str) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(rf"\s*{re.escape(package)}\s*==\s*([^\s;#]+)", line, re.IGNORECASE)
        if match:
            return match.group(1)
    raise AssertionError(f"{path.name} has no `{package}==<version>` pin")


# --- services, healthchecks, start order ------------------------------------------------------

def test_no_obsolete_version_key(compose):
    assert "version" not in compose, "docker-compose.yml has a top-level `version:` key (obsolete in the Compose spec)"


def test_required_services_exist(services):
    missing = [name for name in REQUIRED_SERVICES if name not in services]
    assert not missing, f"docker-compose.yml lacks services {missing}; it has {sorted(services)}"


@pytest.mark.parametrize("name", [s for s in REQUIRED_SERVICES if s not in ONE_SHOT_SERVICES])
def test_long_running_service_has_healthcheck(services, name):
    check = services[name].get("healthcheck") or {}
    assert not check.get("disable"), f"service {name}: healthcheck is disabled"
    test = check.get("test")
    assert test and test != ["NONE"], f"service {name}: no healthcheck `test`"
    if isinstance(test, list):
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, \
            f"service {name}: healthcheck test must start with CMD or CMD-SHELL and name a command, got {test}"


def test_healthchecks_probe_the_right_things(services):
    def text(name):
        test = services[name]["healthcheck"]["test"]
        return " ".join(test) if isinstance(test, list) else test

    assert "pg_isready" in text("postgres"), "postgres healthcheck must use pg_isready"
    assert re.search(r":8080/api/v2/(version|monitor/health)", text("airflow-apiserver")), \
        "airflow-apiserver healthcheck must query :8080/api/v2/version or /api/v2/monitor/health"
    scheduler = text("airflow-scheduler")
    assert ":8974/health" in scheduler or "SchedulerJob" in scheduler, \
        "airflow-scheduler healthcheck must use the health server on :8974/health or `airflow jobs check --job-type SchedulerJob`"
    if ":8974/health" in scheduler:
        env = _environment(services["airflow-scheduler"])
        assert env.get("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "").lower() == "true", \
            "scheduler healthcheck uses :8974/health but AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK is not 'true'"
    assert "DagProcessorJob" in text("airflow-dag-processor"), \
        "airflow-dag-processor healthcheck must run `airflow jobs check --job-type DagProcessorJob`"
    assert "TriggererJob" in text("airflow-triggerer"), \
        "airflow-triggerer healthcheck must run `airflow jobs check --job-type TriggererJob`"
    sandbox = text("sandbox")
    for port in ("8101", "8102", "8103"):
        assert port in sandbox, f"sandbox healthcheck does not probe port {port}"
    assert "HTTPError" in sandbox, "sandbox healthcheck must treat any HTTP answer (HTTPError, e.g. 401) as up"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_services_wait_for_postgres_and_init(services, name):
    deps = _depends_on(services[name])
    assert deps.get("postgres") == "service_healthy", \
        f"service {name}: depends_on postgres must have condition service_healthy, got {deps.get('postgres')}"
    assert deps.get("airflow-init") == "service_completed_successfully", \
        f"service {name}: depends_on airflow-init must have condition service_completed_successfully, got {deps.get('airflow-init')}"


def test_airflow_init_migrates_and_waits_for_postgres(services):
    init = services["airflow-init"]
    deps = _depends_on(init)
    assert deps.get("postgres") == "service_healthy", "airflow-init must depend on postgres with condition service_healthy"
    assert "airflow-init" not in deps, "airflow-init must not depend on itself"
    command = init.get("command")
    command = " ".join(command) if isinstance(command, list) else str(command)
    assert "airflow db migrate" in command, "airflow-init command must run `airflow db migrate`"
    assert "|| true" not in command, "airflow-init must fail when a step fails (found `|| true`)"
    assert init.get("restart", "no") == "no", "airflow-init is one-shot: restart must be 'no'"


@pytest.mark.parametrize(("name", "subcommand"), [("airflow-apiserver", "api-server"), ("airflow-scheduler", "scheduler"),
                                                  ("airflow-dag-processor", "dag-processor"),
                                                  ("airflow-triggerer", "triggerer")])
def test_airflow_service_commands(services, name, subcommand):
    command = services[name].get("command")
    command = " ".join(command) if isinstance(command, list) else str(command)
    assert command.split()[-1] == subcommand, f"service {name} must run `airflow {subcommand}`, runs {command!r}"


def test_sandbox_service(services):
    sandbox = services["sandbox"]
    command = sandbox.get("command")
    command = " ".join(command) if isinstance(command, list) else str(command)
    for part in ("seam sandbox up", "--foreground", "--host 0.0.0.0", "--data-dir /opt/seam/data/sandbox",
                 "woocommerce=8101", "mailchimp=8102", "quickbooks=8103"):
        assert part in command, f"sandbox command lacks `{part}`: {command!r}"
    published = " ".join(str(p) for p in sandbox.get("ports") or [])
    for port in ("8101", "8102", "8103"):
        assert f"{port}:{port}" in published, f"sandbox does not publish port {port}"


# --- Airflow configuration ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ("airflow-init", *AIRFLOW_SERVICES))
def test_airflow_environment(services, name):
    env = _environment(services[name])
    expected = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DAGS_FOLDER": "/opt/seam/dags",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://airflow-apiserver:8080/execution/",
    }
    for key, value in expected.items():
        assert env.get(key, "").lower() == value.lower(), f"service {name}: {key} must be {value!r}, is {env.get(key)!r}"
    assert re.fullmatch(r"postgresql\+psycopg2?://[^@]+@postgres:5432/airflow", env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")), \
        f"service {name}: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN must point at the `airflow` database on postgres"
    assert re.search(r"@postgres:5432/warehouse\b", env.get("WAREHOUSE_URL", "")), \
        f"service {name}: WAREHOUSE_URL must default to the `warehouse` database on postgres"
    assert env.get("AIRFLOW__API_AUTH__JWT_SECRET", "").startswith("${"), \
        f"service {name}: AIRFLOW__API_AUTH__JWT_SECRET must come from .env (a ${{...}} reference), not a literal"
    for conn in SEAM_CONNECTIONS:
        assert env.get(conn, "").startswith("${"), f"service {name}: {conn} must be set from .env"


def test_execution_api_points_at_the_apiserver_port(services):
    ports = " ".join(str(p) for p in services["airflow-apiserver"].get("ports") or [])
    assert ports.endswith(":8080") or ":8080 " in ports + " ", "airflow-apiserver must expose container port 8080"


def test_jwt_secret_is_shared(services):
    secrets = {name: _environment(services[name]).get("AIRFLOW__API_AUTH__JWT_SECRET") for name in AIRFLOW_SERVICES}
    assert len(set(secrets.values())) == 1, f"AIRFLOW__API_AUTH__JWT_SECRET differs between services: {secrets}"


# --- mounts and paths ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ("airflow-init", *AIRFLOW_SERVICES))
def test_seam_code_is_mounted(services, name):
    mounts = {target: source for source, target in _volumes(services[name])}
    for directory, target in SEAM_MOUNTS.items():
        assert target in mounts, f"service {name}: nothing is mounted at {target} (expected ./{directory})"
        assert Path(mounts[target]).name == directory, \
            f"service {name}: {target} must mount ./{directory}, mounts {mounts[target]}"
    dags_folder = _environment(services[name]).get("AIRFLOW__CORE__DAGS_FOLDER")
    assert dags_folder in mounts, f"service {name}: AIRFLOW__CORE__DAGS_FOLDER {dags_folder} is not a mount target"


def test_host_paths_exist(compose, services):
    named = set((compose.get("volumes") or {}).keys())
    for name, service in services.items():
        for source, target in _volumes(service):
            if not source:
                continue
            if source.startswith((".", "/", "~")):
                assert "$" not in source, f"service {name}: host path {source} depends on a variable"
                assert (ROOT / source).exists(), f"service {name}: host path {source} (mounted at {target}) does not exist"
            else:
                assert source in named, f"service {name}: named volume {source} is not declared under top-level `volumes:`"
        build = service.get("build")
        if build:
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            assert context.is_dir(), f"service {name}: build context {context} does not exist"
            dockerfile = context / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
            assert dockerfile.is_file(), f"service {name}: Dockerfile {dockerfile} does not exist"


def test_every_service_using_the_seam_image_builds_it(services):
    image = services["airflow-scheduler"].get("image")
    for name, service in services.items():
        if service.get("image") == image:
            assert service.get("build"), f"service {name} uses image {image} without `build:`; Compose would try to pull it"


# --- variables and secrets ----------------------------------------------------------------------

def test_every_compose_variable_is_in_env_example(compose, env_example):
    referenced = set()
    for value in _strings(compose):
        for braced, bare in VAR_REF.findall(value.replace("$$", "")):
            referenced.add(braced or bare)
    missing = sorted(referenced - set(env_example))
    assert not missing, f"docker-compose.yml reads {missing} but .env.example does not declare them"


def secret_problems(key: str, value: str) -> list[str]:
    """Why one .env.example setting may hold a real secret (empty when it holds placeholders only)."""
    problems = []
    if SECRET_NAME.search(key) and not key.endswith(NOT_A_SECRET) and value and not PLACEHOLDER.search(value):
        problems.append(f"{key}={value!r} looks like a real secret (use change-me, or leave empty)")
    runs = re.findall(r"[A-Za-z0-9+/=_\-]{20,}", value)
    if "://" in value:  # in URLs, judge each path segment: /oauth2/v1/tokens is no token
        runs = [part for run in runs for part in run.split("/") if len(part) >= 20]
    for token in runs:
        # keys and tokens mix letters and digits; paths and names like /opt/seam/data do not
        mixed = re.search(r"[A-Za-z]", token) and re.search(r"\d", token)
        if mixed and not PLACEHOLDER.search(token):
            problems.append(f"{key}: {token!r} looks like a real key or token")
    for user_password in re.findall(r"://[^/:@\s]+:([^@\s]+)@", value):
        if not PLACEHOLDER.search(user_password) and not user_password.startswith(("<", "${")):
            problems.append(f"{key}: URL carries a real-looking password {user_password!r}")
    if key.startswith("AIRFLOW_CONN_") and value.startswith("{"):
        try:
            conn = json.loads(value)
        except json.JSONDecodeError as exc:
            return [*problems, f"{key}: not valid JSON ({exc.msg})"]
        for field in ("login", "password"):
            if field == "login" and conn.get(field) in ("", None, "seam"):
                continue
            if conn.get(field) and not PLACEHOLDER.search(str(conn[field])):
                problems.append(f"{key}: {field} {conn[field]!r} is not a placeholder")
        for name, item in (conn.get("extra") or {}).items():
            if re.search(r"secret|token|key|password", name) and not name.endswith("_url") and item \
                    and not PLACEHOLDER.search(str(item)):
                problems.append(f"{key}: extra.{name} {item!r} is not a placeholder")
    return problems


def test_env_example_has_no_real_secrets(env_example):
    problems = [p for key, value in env_example.items() for p in secret_problems(key, value)]
    assert not problems, ".env.example must hold placeholders only:\n" + "\n".join(problems)


@pytest.mark.parametrize("planted", [
    '{"conn_type":"http","password":"replace-me","extra":{"refresh_token":"AB11c8d9e0f1a2b3c4d5"}}',
    '{"conn_type":"http","password":"replace-me","extra":{"client_secret":"hunter2"}}',
    '{"conn_type":"http","host":"https://api.example.com/v1?key=Zx81kQ02mLp93nRt47vWb","password":"replace-me"}',
    '{"conn_type":"http","host":"https://u:s3cr3t@crm.local/db","password":"replace-me"}',
])
def test_the_secret_check_catches_planted_secrets(planted):
    assert secret_problems("AIRFLOW_CONN_SEAM_PLANTED", planted)


def test_env_example_declares_the_seam_connections(env_example):
    for conn in SEAM_CONNECTIONS:
        assert conn in env_example, f".env.example does not declare {conn}"
        doc = json.loads(env_example[conn])
        assert doc.get("conn_type") and doc.get("host"), f"{conn} in .env.example needs conn_type and host"


def test_env_file_is_git_ignored():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored, ".gitignore must list .env so real secrets are never committed"


def test_no_literal_secrets_in_compose(services):
    for name, service in services.items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key) and not key.endswith(NOT_A_SECRET) and value and not value.startswith("${"):
                pytest.fail(f"service {name}: {key} is a literal in docker-compose.yml; read it from .env")
            if re.search(r"://[^/:@\s]+:[^$@\s][^@\s]*@", value):
                pytest.fail(f"service {name}: {key} embeds a literal password in a URL; use a ${{VAR}} from .env")


# --- image --------------------------------------------------------------------------------------

def test_dockerfile_base_matches_airflow_pin():
    assert DOCKERFILE.is_file(), "docker/Dockerfile is missing"
    text = DOCKERFILE.read_text(encoding="utf-8")
    froms = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert froms, "docker/Dockerfile has no FROM line"
    match = re.fullmatch(r"apache/airflow:(\d+\.\d+\.\d+)-python(\d+\.\d+)", froms[0])
    assert match, f"docker/Dockerfile must start FROM apache/airflow:<version>-python<x.y>, got {froms[0]}"
    version, python = match.groups()
    pin = _pin(ROOT / "requirements.txt", "apache-airflow")
    assert version == pin, f"docker/Dockerfile base is Airflow {version} but requirements.txt pins apache-airflow=={pin}"
    assert version == _pin(ROOT / "constraints.txt", "apache-airflow"), \
        f"docker/Dockerfile base is Airflow {version} but constraints.txt pins a different apache-airflow"
    requires = re.search(r'requires-python\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert requires and python in requires.group(1), \
        f"docker/Dockerfile uses Python {python} but pyproject.toml requires {requires and requires.group(1)}"


def test_dockerfile_installs_pinned_dependencies_and_the_project():
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    runs = [line for line in text.splitlines() if line.startswith("RUN")]
    installs = [r for r in runs if "pip install" in r and "requirements.txt" in r]
    assert installs, "docker/Dockerfile never runs `pip install -r requirements.txt`"
    assert all(re.search(r"-c\s+\S*constraints\.txt", r) for r in installs), \
        "docker/Dockerfile installs requirements.txt without `-c constraints.txt`"
    assert any(re.search(r"pip install .*--no-deps .*-e /opt/seam\b", r) for r in runs), \
        "docker/Dockerfile must `pip install --no-deps -e /opt/seam`"
    assert re.search(r"^ENV\s+.*PYTHONPATH=/opt/seam\b", text, re.MULTILINE), "docker/Dockerfile must set PYTHONPATH=/opt/seam"
    user_lines = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert user_lines and user_lines[-1] == "airflow", "docker/Dockerfile must end as USER airflow (pip installs run as airflow)"
    root_runs = re.findall(r"^USER root\n(?:RUN[^\n]*\n)*?RUN[^\n]*pip install", text, re.MULTILINE)
    assert not root_runs, "docker/Dockerfile runs pip install as root"


def test_dockerfile_copies_exist_and_reach_the_build_context():
    text = DOCKERFILE.read_text(encoding="utf-8")
    allowed = [line[1:].strip().rstrip("/") for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
               if line.startswith("!")] if DOCKERIGNORE.is_file() else None
    for line in re.findall(r"^COPY\s+(.+)$", text, re.MULTILINE):
        parts = [p for p in line.split() if not p.startswith("--")]
        for source in parts[:-1]:
            assert (ROOT / source).exists(), f"docker/Dockerfile copies {source}, which does not exist in the repository"
            if allowed is not None:
                assert source.rstrip("/") in allowed, \
                    f"docker/Dockerfile copies {source} but docker/Dockerfile.dockerignore does not re-include it"


# --- PostgreSQL initialisation ------------------------------------------------------------------

def test_postgres_init_creates_both_databases(services):
    mounts = {target: source for source, target in _volumes(services["postgres"])}
    assert "/docker-entrypoint-initdb.d" in mounts, "postgres does not mount docker/postgres-init at /docker-entrypoint-initdb.d"
    assert (ROOT / mounts["/docker-entrypoint-initdb.d"]).resolve() == PG_INIT_DIR.resolve(), \
        f"postgres mounts {mounts['/docker-entrypoint-initdb.d']} at /docker-entrypoint-initdb.d, expected ./docker/postgres-init"
    scripts = sorted(p for p in PG_INIT_DIR.iterdir() if p.suffix in (".sql", ".sh"))
    assert scripts, "docker/postgres-init holds no .sql or .sh script"
    text = "\n".join(p.read_text(encoding="utf-8") for p in scripts)
    for database, role in (("airflow", "airflow"), ("warehouse", "seam")):
        assert re.search(rf'CREATE DATABASE\s+"?{database}"?', text, re.IGNORECASE), \
            f"docker/postgres-init does not CREATE DATABASE {database}"
        assert re.search(rf'CREATE (ROLE|USER)\s+"?{role}"?', text, re.IGNORECASE), \
            f"docker/postgres-init does not create the role {role} used in the {database} URL"
    env = _environment(services["postgres"])
    for script in scripts:
        if script.suffix == ".sh":
            used = {b or n for b, n in VAR_REF.findall(script.read_text(encoding="utf-8"))}
            missing = sorted(used - set(env))
            assert not missing, f"{script.name} reads {missing}, which the postgres service's environment does not set"


def test_database_urls_use_the_init_roles(services):
    env = _environment(services["airflow-scheduler"])
    assert re.match(r"postgresql\+psycopg2?://airflow:", env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]), \
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN must log in as the `airflow` role created by docker/postgres-init"
    assert "://seam:" in env["WAREHOUSE_URL"], "WAREHOUSE_URL must log in as the `seam` role created by docker/postgres-init"

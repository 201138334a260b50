"""Auth styles a connector declares as data: which connection field goes where in each request.

Field references name parts of the Airflow Connection: ``login``, ``password``, ``schema``,
``host`` or ``extra.<key>``. Values are attached to the session, never to a logged string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from include.config import ConfigError, Connection

CONNECTION_FIELDS = ("login", "password", "schema", "host")


def connection_value(conn: Connection, ref: str) -> str:
    """The value a field reference points at; a clear error (without the value) when it is empty."""
    if ref.startswith("extra."):
        value = conn.extra.get(ref.removeprefix("extra."))
    elif ref in CONNECTION_FIELDS:
        value = getattr(conn, ref)
    else:
        raise ConfigError(f"{conn.conn_id}: unknown connection field {ref!r}; use one of "
                          f"{list(CONNECTION_FIELDS)} or extra.<key>")
    if value in (None, ""):
        raise ConfigError(f"{conn.conn_id}: connection field {ref!r} is empty")
    return str(value)


class Auth:
    """Base: attach credentials to a session; `refresh` renews them after a 401 (False: cannot)."""

    def apply(self, session: requests.Session, conn: Connection) -> None:
        raise NotImplementedError

    def refresh(self, session: requests.Session, conn: Connection) -> bool:
        return False


@dataclass(frozen=True)
class NoAuth(Auth):
    def apply(self, session: requests.Session, conn: Connection) -> None:
        return None


@dataclass(frozen=True)
class BasicAuth(Auth):
    username: str = "login"
    password: str = "password"
    default_username: str | None = None  # systems that accept any user name with an API key

    def apply(self, session: requests.Session, conn: Connection) -> None:
        user = (self.default_username if self.default_username is not None and not getattr(conn, "login", "")
                else connection_value(conn, self.username))
        session.auth = (user, connection_value(conn, self.password))


@dataclass(frozen=True)
class BearerToken(Auth):
    token: str = "password"

    def apply(self, session: requests.Session, conn: Connection) -> None:
        session.headers["Authorization"] = f"Bearer {connection_value(conn, self.token)}"


@dataclass(frozen=True)
class ApiKeyHeader(Auth):
    header: str = "X-API-Key"
    key: str = "password"
    prefix: str = ""

    def apply(self, session: requests.Session, conn: Connection) -> None:
        session.headers[self.header] = f"{self.prefix}{connection_value(conn, self.key)}"


@dataclass(frozen=True)
class QueryKeys(Auth):
    """Credentials as query parameters (e.g. WooCommerce consumer_key/consumer_secret over HTTPS)."""

    params: dict[str, str] = field(default_factory=dict)  # query parameter -> connection field

    def apply(self, session: requests.Session, conn: Connection) -> None:
        session.params = {**(session.params or {}), **{p: connection_value(conn, ref) for p, ref in self.params.items()}}


from connectors.oauth import OAuth2Refresh  # noqa: E402 - it subclasses Auth above

AUTH_STYLES: dict[str, type[Auth]] = {"none": NoAuth, "basic": BasicAuth, "bearer": BearerToken,
                                      "api_key_header": ApiKeyHeader, "query_keys": QueryKeys,
                                      "oauth2_refresh": OAuth2Refresh}


def auth_from_spec(spec: dict[str, Any]) -> Auth:
    """Build an Auth from a manifest's `auth:` block (already schema-validated)."""
    options = {k: v for k, v in spec.items() if k != "type"}
    return AUTH_STYLES[spec["type"]](**options)

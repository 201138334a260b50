"""OAuth2 refresh-token auth (Intuit's contract, and any provider that rotates refresh tokens).

The refresh token in the connection is only the seed: providers such as Intuit may answer every
refresh with a new refresh token and retire the old one, so the latest one (with the current
access token and its expiry) is kept in a token cache file, mode 0600, under
``data_dir()/secrets/``. The next run starts from it; a connection whose seed changed (the app was
re-authorised) starts over from the new seed. No token or secret is ever logged or put in an
error message.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from connectors.auth import Auth, connection_value
from connectors.http import SourceError, make_session, send
from include.config import ConfigError, Connection, data_dir

log = logging.getLogger(__name__)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _token_error(response: requests.Response) -> str:
    """Only the OAuth error code and description: the body may echo nothing secret, but be sure."""
    try:
        body = response.json()
    except ValueError:
        return "no JSON error body"
    if not isinstance(body, dict):
        return "unexpected error body"
    code = str(body.get("error") or "unknown_error")[:60]
    return f"{code}{': ' + str(body['error_description'])[:200] if body.get('error_description') else ''}"


class TokenCache:
    """One JSON file per connection and account, readable by the owner only; writes are atomic."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def for_connection(cls, conn: Connection, account: str | None) -> TokenCache:
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{conn.conn_id}-{account}" if account else conn.conn_id)
        return cls(data_dir() / "secrets" / f"oauth2-{name}.json")

    def load(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def save(self, values: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
            os.write(fd, json.dumps(values).encode())
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise refreshes across processes: two runs must not both spend the same refresh token."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class _TokenState(requests.auth.AuthBase):
    """Per-session token holder: sets the Bearer header on each request, refreshing when due."""

    def __init__(self, spec: OAuth2Refresh, conn: Connection):
        self.spec, self.conn = spec, conn
        self.system = conn.conn_id.removeprefix("seam_")
        self.client_id = connection_value(conn, spec.client_id)
        self.client_secret = connection_value(conn, spec.client_secret)
        self.seed = connection_value(conn, spec.refresh_token)
        self.token_url = self._token_url()
        account = self._optional(spec.account)
        self.cache = TokenCache.for_connection(conn, account)
        self.lock = threading.Lock()
        self.refresh_token = self.seed
        self.access_token: str | None = self._optional(spec.access_token)  # static seed, expiry unknown
        self.renew_at: float | None = None  # wall clock (time.time): the cache outlives the process
        self._adopt(self.cache.load())

    def _optional(self, ref: str | None) -> str | None:
        if not ref:
            return None
        try:
            return connection_value(self.conn, ref)
        except ConfigError:
            return None

    def _token_url(self) -> str:
        url = self._optional(self.spec.token_url) or self.spec.default_token_url
        if not url:
            raise ConfigError(f"{self.conn.conn_id}: no OAuth2 token URL ({self.spec.token_url} is empty)")
        return url

    def _adopt(self, cached: dict[str, Any]) -> bool:
        """Take the cached tokens when they descend from this connection's seed; True if taken."""
        if not cached.get("refresh_token") or cached.get("seed_sha256") != _digest(self.seed):
            return False
        self.refresh_token = cached["refresh_token"]
        self.access_token, self.renew_at = cached.get("access_token"), cached.get("renew_at")
        return True

    def due(self) -> bool:
        """No token yet, or close to its expiry (a static seed token has none: renewed on its first 401)."""
        return not self.access_token or (self.renew_at is not None and time.time() >= self.renew_at)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self.lock:
            if self.due():
                self._refresh(self.access_token)
            request.headers["Authorization"] = f"Bearer {self.access_token}"
        return request

    def force_refresh(self, rejected: str | None) -> None:
        with self.lock:
            self._refresh(rejected)

    def current(self) -> str | None:
        return self.access_token

    def _refresh(self, rejected: str | None) -> None:
        """Trade the latest refresh token for a new access token, under the cache's file lock."""
        with self.cache.locked():
            cached = self.cache.load()
            # Another process (or session) may have refreshed meanwhile: use its result if still good.
            if self._adopt(cached) and self.access_token and self.access_token != rejected and not self.due():
                return
            log.debug("%s: refreshing the OAuth2 access token", self.system)
            session = make_session()
            try:
                response = send(session, self.system, "POST", self.token_url, max_attempts=4,
                                auth=(self.client_id, self.client_secret),
                                data={"grant_type": "refresh_token", "refresh_token": self.refresh_token},
                                headers={"Accept": "application/json"}, error_message=_token_error)
            except SourceError as exc:
                hint = (" (the refresh token is invalid, expired or already used: authorise the app again "
                        "and put the new refresh token in the connection)" if "invalid_grant" in str(exc) else
                        " (check the client id and secret)" if exc.status == 401 else "")
                raise SourceError(self.system, exc.status, f"OAuth2 token refresh failed: "
                                  f"{str(exc).split(': ', 2)[-1]}{hint}") from None
            finally:
                session.close()
            try:
                body = response.json()
                access, expires_in = body["access_token"], float(body.get("expires_in") or 3600)
            except (ValueError, KeyError, TypeError):
                raise SourceError(self.system, response.status_code,
                                  "OAuth2 token refresh: the answer has no access_token") from None
            now = time.time()
            self.access_token = access
            # Renew `margin` early so a request never leaves with a token about to lapse; short-lived
            # tokens (tests) are renewed at half their life instead of on every request.
            self.renew_at = now + max(expires_in - self.spec.margin_seconds, expires_in / 2)
            self.refresh_token = body.get("refresh_token") or self.refresh_token  # keep the latest
            self.cache.save({"seed_sha256": _digest(self.seed), "refresh_token": self.refresh_token,
                             "access_token": self.access_token, "expires_at": now + expires_in,
                             "renew_at": self.renew_at})
            log.debug("%s: OAuth2 access token refreshed, valid for %.0f s", self.system, expires_in)


@dataclass(frozen=True)
class OAuth2Refresh(Auth):
    """Bearer access tokens obtained with a (rotating) refresh token; renewed before expiry and on 401.

    Fields are connection references (see connectors/auth.py). `account` names the field that
    tells two companies of the same connection id apart in the token cache (QuickBooks realm).
    """

    client_id: str = "extra.client_id"
    client_secret: str = "extra.client_secret"
    refresh_token: str = "extra.refresh_token"
    token_url: str | None = "extra.token_url"
    default_token_url: str | None = None
    access_token: str | None = "password"  # optional static seed, used until it is rejected or a newer one is cached
    account: str | None = None
    margin_seconds: float = 60.0

    def apply(self, session: requests.Session, conn: Connection) -> None:
        session.auth = _TokenState(self, conn)

    def refresh(self, session: requests.Session, conn: Connection) -> bool:
        state = session.auth
        if not isinstance(state, _TokenState):
            return False
        state.force_refresh(state.current())
        return True

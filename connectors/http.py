"""The one HTTP session factory and retrying request, shared by every REST connector.

Retries 429, 5xx and connection errors with exponential backoff and jitter, honouring
Retry-After. Error messages name the system and status but never credentials or URLs with keys.
"""

from __future__ import annotations

import logging
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

log = logging.getLogger(__name__)
RETRY_STATUSES = {429, 500, 502, 503, 504}
DEFAULT_TIMEOUT = (10, 60)


class SourceError(RuntimeError):
    """A system answered with an error that retrying will not fix (bad credentials, bad request)."""

    def __init__(self, system: str, status: int | None, message: str):
        super().__init__(f"{system}: {status or 'error'}: {message}")
        self.system, self.status = system, status


class RetryableError(RuntimeError):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def make_session(user_agent: str = "seam/0.1") -> requests.Session:
    session = requests.Session()
    session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=10, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            from datetime import UTC, datetime

            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    backoff = wait_random_exponential(multiplier=0.5, max=30)(state)
    if isinstance(exc, RetryableError) and exc.retry_after is not None:
        return min(exc.retry_after, 120.0)
    return backoff


def send(session: requests.Session, system: str, method: str, url: str, *, max_attempts: int = 6,
         timeout: Any = DEFAULT_TIMEOUT, error_message=None, **kwargs: Any) -> requests.Response:
    """Send one request, retrying what can be retried; raise SourceError for anything else."""

    @retry(retry=retry_if_exception_type(RetryableError), wait=_wait, stop=stop_after_attempt(max_attempts),
           reraise=True)
    def attempt() -> requests.Response:
        try:
            response = session.request(method, url, timeout=timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetryableError(f"{system}: {type(exc).__name__}") from None
        if response.status_code in RETRY_STATUSES:
            log.warning("%s: HTTP %s, retrying", system, response.status_code)
            raise RetryableError(f"{system}: HTTP {response.status_code}", _retry_after(response))
        if response.status_code >= 400:
            detail = error_message(response) if error_message else response.text[:300]
            raise SourceError(system, response.status_code, detail)
        return response

    try:
        return attempt()
    except RetryableError as exc:
        raise SourceError(system, None, f"gave up after {max_attempts} attempts ({exc})") from None

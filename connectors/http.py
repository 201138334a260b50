"""The one HTTP session factory and retrying request, shared by every REST connector.

Retries 429, 5xx and connection errors with exponential backoff and jitter, honouring
Retry-After. Error messages name the system and status but never credentials or URLs with keys.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

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


class DeleteFeedGap(SourceError):
    """A delete feed cannot cover the period asked for (QuickBooks CDC looks back 30 days at most)."""


class RetryableError(RuntimeError):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RateLimit:
    """A system's published limits: requests per period and simultaneous connections."""

    requests: int | None = None
    per_seconds: float = 1.0
    max_concurrency: int | None = None


class Throttle:
    """Process-wide pacing for one system: a sliding window of requests plus a concurrency cap.

    Staying under the limit is cheaper than collecting 429s and sleeping on Retry-After. A sliding
    window, unlike a token bucket, never lets more than `requests` through in any `per_seconds`
    span (a full bucket plus its refill allows twice that). Each request is dated by when its
    answer came back, the latest moment the server can have counted it, so network delays never
    make two requests look further apart to the server than they were.
    """

    _registry: dict[tuple[str, RateLimit], Throttle] = {}
    _registry_lock = threading.Lock()

    def __init__(self, limit: RateLimit):
        self.limit = limit
        self.recent: deque[list[float]] = deque(maxlen=limit.requests or None)  # [time] per request
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(limit.max_concurrency) if limit.max_concurrency else None

    @classmethod
    def for_system(cls, system: str, limit: RateLimit | None) -> Throttle | None:
        if limit is None or (not limit.requests and not limit.max_concurrency):
            return None
        with cls._registry_lock:
            return cls._registry.setdefault((system, limit), cls(limit))

    def _take(self) -> list[float] | None:
        if not self.limit.requests:
            return None
        while True:
            with self.lock:
                now = time.monotonic()
                wait = 0.0
                if len(self.recent) == self.limit.requests:
                    wait = self.recent[0][0] + self.limit.per_seconds - now
                if wait <= 0:
                    entry = [now]
                    self.recent.append(entry)  # maxlen drops the oldest
                    return entry
            time.sleep(wait)

    @contextmanager
    def slot(self):
        if self.slots is not None:
            self.slots.acquire()
        entry = self._take()
        try:
            yield
        finally:
            if entry is not None:
                entry[0] = time.monotonic()  # answered (or failed): the server has counted it by now
            if self.slots is not None:
                self.slots.release()


class InvalidBody(SourceError):
    """A body that is not what the API's contract promises (JSON in UTF-8); retrying will not help."""


def response_json(response: requests.Response) -> Any:
    """The decoded body, decoded once: records, paginators and error hooks all read it.

    JSON is UTF-8 (RFC 8259). Invalid bytes are an error naming the offset, not U+FFFD guessed
    into a customer's name (which is what requests' lenient decoding would do).
    """
    cached = getattr(response, "_seam_json", None)
    if cached is None:
        host = urlsplit(response.url or "").netloc or "source"
        try:
            text = response.content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidBody(host, response.status_code, f"{urlsplit(response.url).path}: response is not valid "
                              f"UTF-8 at byte {exc.start}") from exc
        try:
            cached = response._seam_json = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidBody(host, response.status_code, f"{urlsplit(response.url).path}: response is not "
                              f"valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    return cached


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
         timeout: Any = DEFAULT_TIMEOUT, error_message=None, throttle: Throttle | None = None,
         **kwargs: Any) -> requests.Response:
    """Send one request, retrying what can be retried; raise SourceError for anything else."""

    def request() -> requests.Response:
        if throttle is None:
            return session.request(method, url, timeout=timeout, **kwargs)
        with throttle.slot():
            return session.request(method, url, timeout=timeout, **kwargs)

    @retry(retry=retry_if_exception_type(RetryableError), wait=_wait, stop=stop_after_attempt(max_attempts),
           reraise=True)
    def attempt() -> requests.Response:
        try:
            response = request()
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

"""Talking to a CalDAV server for `chancal publish`: requests, credentials and failures.

Every request goes through `Server.request`, which holds the error policy
in one place: refused credentials (401, 403) and a redirect are one
UsageError line (exit 2); a server that never answers is `Unreachable` and
one that stops answering part-way is `PushInterrupted` (both exit 1, since
running again finishes the job). The HTTP work is the `caldav` package's
client; tests may pass any `Transport`.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from chancal.errors import ChancalError, UsageError

ENV_USER = "CHANCAL_CALDAV_USER"
ENV_PASSWORD = "CHANCAL_CALDAV_PASSWORD"
TIMEOUT = 30  # seconds per request


class PushInterrupted(ChancalError):
    """The server stopped answering part-way: what was done is recorded; run again to finish."""

    exit_code = 1


class Unreachable(PushInterrupted):
    """The server never answered (down, network gone): nothing was sent; run again later."""


Transport = Callable[[str, str, str, dict[str, str]], tuple[int, dict[str, str], str]]
"""`send(url, method, body, headers)` -> (status, lower-cased headers, body): one request."""


def path_key(url: str) -> str:
    """A resource's key in the state and in listings: its path, decoded."""
    return unquote(urlsplit(url).path)


_PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'
)
_DAV = "{DAV:}"


def caldav_transport(url: str, user: str | None, password: str | None) -> Transport:
    """Requests through the `caldav` package's client (auth, TLS, proxies as it does them).

    Redirects are not followed: the HTTP client turns a PUT answered with 302
    into a GET, whose 200 and ETag would record a write that never happened,
    and drops the credentials on the way to another host. A redirect is a
    UsageError naming where the server points.
    """
    from caldav.davclient import DAVClient  # heavy: only when publishing

    client = DAVClient(
        url=url, username=user, password=password, timeout=TIMEOUT, enable_rfc6764=False
    )
    client.session.max_redirects = 0

    def send(
        target: str, method: str, body: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], str]:
        try:
            response = client.request(target, method, body, headers)
        except Exception as exc:
            if type(exc).__name__ != "TooManyRedirects":
                raise
            where = getattr(getattr(exc, "response", None), "headers", {}).get("Location")
            raise UsageError(
                f"the CalDAV server redirects {target} to {where or 'another address'}; "
                "give chancal the address it redirects to (redirects are not followed)"
            ) from None
        raw = response.raw
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        headers = {str(k).lower(): str(v) for k, v in dict(response.headers).items()}
        return int(response.status), headers, text

    return send


def credentials() -> tuple[str | None, str | None]:
    """The user and password from CHANCAL_CALDAV_USER and CHANCAL_CALDAV_PASSWORD.

    None when unset: the HTTP client then uses ~/.netrc's entry for the host, if any.
    """
    return os.environ.get(ENV_USER) or None, os.environ.get(ENV_PASSWORD) or None


class Server:
    """Requests with chancal's error policy: refused auth and a dead server are one line."""

    def __init__(self, transport: Transport, base_url: str) -> None:
        self._send = transport
        self._base = base_url
        self.answered = False  # any request has had an answer

    def request(
        self, url: str, method: str, body: str = "", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        try:
            status, got, text = self._send(url, method, body, headers or {})
        except ChancalError:
            raise
        except Exception as exc:
            raise self._failure(exc) from None
        if status in (401, 403):
            raise UsageError(_denied(self._base, status))
        if status >= 500:
            raise self._failure(None, f"{method} {url} answered {status}")
        self.answered = True
        return status, got, text

    def _failure(self, exc: Exception | None, why: str = "") -> ChancalError:
        name = type(exc).__name__ if exc is not None else ""
        if exc is not None and ("Authorization" in name or "Unauthorized" in str(exc)):
            # The caldav client raises AuthorizationError for 401 and 403 alike.
            return UsageError(_denied(self._base, 403 if "Forbidden" in str(exc) else 401))
        why = why or _reason(exc)
        if not self.answered:
            return Unreachable(
                f"cannot reach the CalDAV server at {self._base}: {why}; nothing was sent: "
                "run the same command again once it answers"
            )
        return PushInterrupted(f"the CalDAV server at {self._base} stopped answering: {why}")

    def listing(self, collection_url: str) -> dict[str, str] | None:
        """ETag of each resource in a collection; None when the collection does not exist."""
        status, _, text = self.request(
            collection_url,
            "PROPFIND",
            _PROPFIND,
            {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
        )
        if status == 404:
            return None
        if status != 207:
            raise UsageError(f"{collection_url} is not a calendar the server lists (HTTP {status})")
        found: dict[str, str] = {}
        own = path_key(collection_url)
        for response in ET.fromstring(text).iter(f"{_DAV}response"):
            href = response.findtext(f"{_DAV}href") or ""
            etag = response.findtext(f".//{_DAV}getetag")
            key = path_key(href)
            if key != own and key.rstrip("/") != own.rstrip("/") and etag:
                found[key] = etag
        return found

    def etag_of(self, url: str) -> str | None:
        status, _, text = self.request(
            url, "PROPFIND", _PROPFIND, {"Depth": "0", "Content-Type": "application/xml"}
        )
        if status != 207:
            return None
        return ET.fromstring(text).findtext(f".//{_DAV}getetag")


def _reason(exc: Exception | None) -> str:
    text = str(exc) if exc is not None else ""
    for pattern, words in (
        (r"Connection refused|ConnectionRefused", "connection refused"),
        (r"Name or service not known|NameResolution|getaddrinfo|resolve", "unknown host"),
        (r"[Tt]imed? ?out", "timed out"),
        (r"SSL|TLS|certificate", "TLS error"),
    ):
        if re.search(pattern, text):
            return words
    return type(exc).__name__ if exc is not None else "no answer"


def _denied(base_url: str, status: int) -> str:
    if status == 401:
        return (
            f"the CalDAV server at {base_url} refused the credentials (401); "
            f"set {ENV_USER} and {ENV_PASSWORD}"
        )
    return f"the CalDAV server at {base_url} forbids this (403): check the account's rights"

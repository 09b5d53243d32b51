"""Where each published file lives under `--out`, and at which URL: safe names, private paths.

One function, `stem`, places every feed, table and page: a partner's
`partners/<id>.ics`, `.csv` and `.html` share the stem `partners/<id>`. A
private site (`--private`) puts each partner, each manager and the whole
program under `private/<token>/`, the token an HMAC of the secret and the
owner: stable across runs, so subscriptions keep working, unguessable without
the secret, and all different once the secret changes.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import re
from collections.abc import Iterable
from hashlib import sha256
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from chancal.errors import UsageError
from chancal.exporters.csv_export import safe_cell
from chancal.publish import files

Owner = Literal["all", "partner", "manager"]

INDEX = "index.html"
"""The site's front page, at the root of `--out`."""
STYLESHEET = "site.css"
"""The one stylesheet every page links (local, so pages work offline and from file://)."""
PRIVATE = "private"
"""The folder that holds a private site's unguessable paths."""
SECRET_VARIABLE = "CHANCAL_FEED_SECRET"
MIN_SECRET = 16
"""Characters a feed secret needs at least: fewer can be guessed by trying."""
_TOKEN_BYTES = 16  # 128 bits, as base32: 26 characters

# Device names Windows reserves in any folder, with any extension ("con.ics" too).
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{i}" for i in range(10)]
    + [f"lpt{i}" for i in range(10)]
    + ["com¹", "com²", "com³", "lpt¹", "lpt²", "lpt³"]
)
_MAX_STEM = 120  # bytes; leaves room for ".ics", temp suffixes and long --out paths


def safe_name(identifier: str) -> str:
    """Return a file-name stem for `identifier` that is valid on every file system.

    Distinct ids give distinct stems, also on case-insensitive systems: only
    lower-case letters, digits, '-' and '_' are kept; every other character
    (upper-case letters, '.', '/', '~', ...) becomes `~` and its UTF-8 bytes in
    hex. A Windows device name gets a trailing '~', which encoding never
    produces. Stems too long for a file system are cut and completed with a
    hash of the whole id.
    """
    stem = "".join(
        c
        if c in files.NAME_CHARS
        else "".join(f"~{b:02x}" for b in c.encode("utf-8", "surrogatepass"))
        for c in identifier
    )
    if not stem or stem in _RESERVED:
        stem += "~"
    if len(stem) > _MAX_STEM:
        digest = sha256(identifier.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        stem = stem[: _MAX_STEM - 18].rstrip("~0123456789abcdef") + "~~" + digest
    return stem


def private_token(secret: bytes, kind: Owner, ident: str) -> str:
    """HMAC-SHA256(secret, kind NUL id), 128 bits in lower-case base32 (26 characters).

    The kind is part of the message, so a partner and a manager with the same
    id never share a folder.
    """
    message = f"{kind}\x00{ident}".encode("utf-8", "surrogatepass")
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:_TOKEN_BYTES]
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def stem(kind: Owner, ident: str, secret: bytes | None = None) -> str:
    """Where one owner's files go, without extension: add `.ics`, `.csv` or `.html`.

    Public: `all`, `partners/<safe id>`, `managers/<safe id>`. Private:
    `private/<token>/all` (the token made from the program id),
    `private/<token>/<safe id>` for partners and managers.
    """
    name = "all" if kind == "all" else safe_name(ident)
    if secret is not None:
        return f"{PRIVATE}/{private_token(secret, kind, ident)}/{name}"
    return name if kind == "all" else f"{kind}s/{name}"


def feed_secret(value: str | None) -> bytes:
    """The secret of a private site, from `CHANCAL_FEED_SECRET`; UsageError when unusable."""
    if not value or not value.strip():
        raise UsageError(
            f"--private needs a secret in the environment variable {SECRET_VARIABLE} "
            f"(at least {MIN_SECRET} characters, for example from `openssl rand -hex 32`); "
            "nothing was written"
        )
    if len(value) < MIN_SECRET:
        raise UsageError(
            f"{SECRET_VARIABLE} has {len(value)} characters; a feed secret needs at least "
            f"{MIN_SECRET} (for example from `openssl rand -hex 32`); nothing was written"
        )
    return value.encode("utf-8", "surrogatepass")


_URL_BAD = re.compile(r"[\s\x00-\x1f\x7f\"<>\\^`{|}]")


def parse_base_url(text: str) -> str:
    """Check `--base-url` (http or https, a host, no query or fragment); return it ending in '/'."""
    problem = ""
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError as exc:
        parts, host, problem = None, None, str(exc)
    if parts is None or problem:
        pass
    elif parts.scheme.lower() not in ("http", "https"):
        problem = "it must start with https:// or http://"
    elif not host:
        problem = "it names no host"
    elif parts.query or parts.fragment or text.endswith(("?", "#")):
        problem = "it must not hold a query (?) or a fragment (#)"
    elif _URL_BAD.search(text) or parts.username is not None:
        problem = "it holds spaces, quotes, a user name or other characters a URL cannot carry"
    if problem:
        raise UsageError(
            f"--base-url '{text}' is not a usable address: {problem}; "
            "write it like https://calendars.example.com/partners/"
        )
    return text if text.endswith("/") else text + "/"


def absolute(base_url: str, path: str) -> str:
    """The URL of a file published at `path` (relative to `--out`) under `base_url`."""
    return base_url + path


def webcal(url: str) -> str:
    """The `webcal://` form of a feed's URL: calendar apps open it as a subscription."""
    return "webcal://" + url.split("://", 1)[1]


ADDRESS_COLUMNS = ("kind", "id", "name", "page", "feed", "table")


def address_book(
    owners: Iterable[tuple[Owner, str, str]],
    *,
    secret: bytes | None,
    base_url: str | None,
    page: bool,
    feed: bool,
    table: bool,
) -> bytes:
    """A CSV of where each owner's files are: (kind, id, name) in, one row each, out.

    For the people who hand out a private site's links (`export --addresses`):
    absolute URLs with a base URL, else paths relative to `--out`; a column is
    empty where the run publishes no such file (managers have no table).
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(ADDRESS_COLUMNS)
    prefix = base_url or ""
    for kind, ident, name in owners:
        where = prefix + stem(kind, ident, secret)
        if kind == "all":  # its page is the index, which a private site keeps unlisted
            at_page = prefix + INDEX if page and secret is None else ""
        else:
            at_page = where + ".html" if page else ""
        at_table = where + ".csv" if table and kind != "manager" else ""
        writer.writerow(
            [
                kind,
                safe_cell(ident),
                safe_cell(name),
                at_page,
                where + ".ics" if feed else "",
                at_table,
            ]
        )
    return buffer.getvalue().encode("utf-8")


def public_leftovers(out: Path) -> list[str]:
    """Files of a public site under `out` that a private export leaves readable.

    Export never deletes; a folder that was published publicly before keeps
    every partner's public feed and page unless someone removes them.
    """
    names = ["partners", "managers", "all.ics", "all.csv"]
    return [name for name in names if (out / name).exists()]

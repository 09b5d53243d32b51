"""A real Radicale for the CalDAV tests, and a counting front that can take it down mid-run.

`Radicale` runs the server in a subprocess on 127.0.0.1 with a free port and
its storage in a temporary folder; it can be killed and started again on the
same folder. `Front` is a small reverse proxy on 127.0.0.1 in front of it:
chancal talks to the front, which counts each request Radicale answered and,
when told, kills Radicale just before forwarding the N-th PUT (answering that
PUT as a dead backend does: 502 from a gateway, or a dropped connection) or
just after Radicale stored it (its answer lost on the way), or
answers a method with a redirect.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

USER, PASSWORD = "alice", "secret"
WRITES = ("PUT", "DELETE", "MKCALENDAR", "PROPPATCH", "MKCOL", "MOVE", "COPY")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Radicale:
    """Radicale on 127.0.0.1 with htpasswd (plain) auth, owner-only rights, storage in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.users = folder / "users"
        self.users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
        self.log = folder / "radicale.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The user's home collection, where chancal's calendars go."""
        return f"http://127.0.0.1:{self.port}/{USER}/"

    def start(self) -> None:
        """Start on a fresh free port, on the same storage folder as before."""
        self.port = free_port()
        handle = self.log.open("a", encoding="utf-8")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "radicale",
                "--server-hosts",
                f"127.0.0.1:{self.port}",
                "--storage-filesystem-folder",
                str(self.folder / "storage"),
                "--auth-type",
                "htpasswd",
                "--auth-htpasswd-filename",
                str(self.users),
                "--auth-htpasswd-encryption",
                "plain",
                "--rights-type",
                "owner_only",
                "--logging-level",
                "info",
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(self.log.read_text(encoding="utf-8")) from None
                time.sleep(0.1)

    def kill(self) -> None:
        """Stop the server at once (SIGKILL), as a crash or a pulled cable would."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def requests(self, method: str) -> int:
        """How many `method` requests the server has logged so far."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return text.count(f"{method} request for")

    def _call(self, path: str, method: str, body: str = "", depth: str | None = None) -> str:
        request = urllib.request.Request(self.url + path, data=body.encode() or None, method=method)
        if method == "PUT":
            request.add_header("Content-Type", "text/calendar; charset=utf-8")
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        request.add_header("Authorization", "Basic " + token)
        if depth is not None:
            request.add_header("Depth", depth)
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.read().decode("utf-8"))

    def etags(self, calendar: str) -> dict[str, str]:
        """Each resource of a calendar and its ETag, as the server lists them (path -> ETag)."""
        body = '<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'
        try:
            text = self._call(f"{calendar}/", "PROPFIND", body, depth="1")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return {}
            raise
        found = {}
        for response in ET.fromstring(text).iter("{DAV:}response"):
            href = unquote(response.findtext("{DAV:}href") or "")
            etag = response.findtext(".//{DAV:}getetag")
            if href.endswith(".ics") and etag:
                found[href] = etag
        return found

    def calendar(self, name: str) -> dict[str, str]:
        """Each event of a calendar as the server serves it, by UID (lines unfolded)."""
        found = {}
        for path in self.etags(name):
            text = self._call(path.removeprefix(f"/{USER}/"), "GET").replace("\r\n ", "")
            uid = re.search(r"^UID:(.*?)\r?$", text, re.M)
            assert uid
            found[uid[1]] = text
        return found

    def delete(self, path: str) -> None:
        self._call(path, "DELETE")

    def edit_summary(self, path: str, summary: str) -> str:
        """Rewrite an event's SUMMARY on the server, as a person in a calendar app would;
        `path` is absolute (`/alice/partner-x/uid.ics`). Returns the event's UID."""
        relative = path.removeprefix(f"/{USER}/")
        text = self._call(relative, "GET")
        text = re.sub(r"^SUMMARY:.*?(?=\r?\n(?! ))", f"SUMMARY:{summary}", text, flags=re.M | re.S)
        self._call(relative, "PUT", text)
        found = re.search(r"^UID:(.*?)\r?$", text, re.M)
        assert found
        return found[1]


Answer = Literal["502", "drop", "lost"]


class Front:
    """A counting reverse proxy on 127.0.0.1 in front of a Radicale; see the module docstring."""

    def __init__(self, backend: Radicale) -> None:
        self.backend = backend
        self.counts: Counter[str] = Counter()  # requests Radicale answered, by method
        self.statuses: list[tuple[str, int]] = []  # (method, status) of each of those answers
        self.kill_at_put: int | None = None  # kill Radicale before forwarding this PUT (1-based)
        # 502: a gateway's answer; drop: the connection closes unanswered; lost: the PUT
        # reaches Radicale, which dies before its answer gets back.
        self.dead_answer: Answer = "502"
        self.redirect: dict[str, str] = {}  # method -> Location answered with 302
        # method -> a hook run once, with the request's path, before it is forwarded
        self.before: dict[str, Callable[[str], None]] = {}
        self._puts = 0
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def handle_any(self) -> None:
                front._handle(self)

            do_GET = do_PUT = do_DELETE = do_PROPFIND = do_PROPPATCH = handle_any
            do_MKCALENDAR = do_MKCOL = do_REPORT = do_OPTIONS = do_HEAD = handle_any

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/{USER}/"

    def writes(self) -> int:
        return sum(self.counts[m] for m in WRITES)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        method = handler.command
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if method in self.redirect:
            self._answer(handler, 302, {"Location": self.redirect[method]}, b"")
            return
        hook = self.before.pop(method, None)
        if hook is not None:
            hook(handler.path)
        if method == "PUT":
            self._puts += 1
            if self.kill_at_put is not None and self._puts > self.kill_at_put:
                self.backend.kill()  # and so are the later ones, while it is down
            elif self._puts == self.kill_at_put and self.dead_answer != "lost":
                self.backend.kill()
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP}
        connection = http.client.HTTPConnection("127.0.0.1", self.backend.port, timeout=30)
        try:
            connection.request(method, handler.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except OSError:
            if self.dead_answer == "drop":  # no answer at all: the connection just closes
                handler.close_connection = True
                return
            self._answer(handler, 502, {"Content-Type": "text/plain"}, b"Bad Gateway")
            return
        finally:
            connection.close()
        self.counts[method] += 1
        self.statuses.append((method, response.status))
        if method == "PUT" and self._puts == self.kill_at_put and self.dead_answer == "lost":
            self.backend.kill()
            handler.close_connection = True
            return
        kept = {k: v for k, v in response.getheaders() if k.lower() not in _HOP}
        self._answer(handler, response.status, kept, data)

    @staticmethod
    def _answer(
        handler: http.server.BaseHTTPRequestHandler,
        status: int,
        headers: dict[str, str],
        data: bytes,
    ) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)


_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "server", "date"}

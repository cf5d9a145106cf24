"""A loopback HTTP server of misbehaving sources, for fault-injection tests and
``bench/faults.py`` (stdlib, in daemon threads).

Each path is a behaviour: ``/ok/NAME.xml`` is a healthy RSS feed, and ``FAULTS``
lists the hostile ones — a server that never answers, 500, 429 with Retry-After, a
redirect loop, malformed XML, truncated gzip, a gzip bomb, a 1 GB body, a slow drip,
a wrong charset, an empty 200, and an HTML page instead of a feed. Every request is
counted per path with its time, so a test can tell when each source was polled.

Must not: allocate the big bodies (they are streamed in chunks), or touch the network
beyond the loopback address it listens on.
"""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHUNK = b"<!-- " + b"x" * 65_000 + b" -->\n"

#: path → what it does (for tables)
FAULTS = {
    "/timeout": "accepts the connection, never answers",
    "/500": "HTTP 500",
    "/429": "HTTP 429 with Retry-After: 600",
    "/loop": "redirects to itself",
    "/malformed": "malformed XML (unclosed tags, bad entities)",
    "/truncated-gzip": "gzip body cut in the middle",
    "/bomb": "gzip bomb: 200 KB on the wire, 200 MB inflated",
    "/huge": "1 GB body, streamed, with its Content-Length",
    "/huge-unsized": "1 GB body, streamed, no Content-Length",
    "/drip": "one byte every 0.5 s",
    "/charset": "windows-1251 bytes declared as UTF-8",
    "/empty": "200 with an empty body",
    "/html": "an HTML page instead of a feed",
    "/comments": "5 MB of unclosed <!-- (quadratic for a naive comment regex)",
}


class QuietServer(ThreadingHTTPServer):
    """A threading HTTP server that does not print clients hanging up (they do, on purpose)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def rss(name: str, items: int = 3, *, stamp: str = "") -> bytes:
    body = "".join(
        f"<item><title>{name} report {i}{stamp}</title><link>http://{name}.test/{i}{stamp}"
        f"</link><description>Weather and city news {i}.</description></item>"
        for i in range(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{name}</title>{body}</channel></rss>").encode()


def _bomb() -> bytes:
    squeezer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    out = [squeezer.compress(block) for _ in range(200)]
    return b"".join(out) + squeezer.flush()


class FaultServer:
    """``with FaultServer() as server: server.url("/500")``."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.hits: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.bytes_sent = 0
        bomb = _bomb()
        cp1251 = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>'
                  'Новости</title><item><title>Суд выдворил гражданина</title><link>'
                  'http://charset.test/1</link></item></channel></rss>').encode("cp1251")
        full_gzip = gzip.compress(rss("gz", 50))
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with outer._lock:
                    outer.hits.setdefault(path, []).append(time.monotonic())
                with contextlib.suppress(BrokenPipeError, ConnectionResetError,
                                         ConnectionAbortedError):
                    self._answer(path)

            def _send(self, status: int, body: bytes, **headers: str) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key.replace("_", "-"), value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                outer.bytes_sent += len(body)

            def _answer(self, path: str) -> None:
                if path.startswith("/ok/"):
                    name = path[4:].split(".")[0]
                    self._send(200, rss(name), Content_Type="application/rss+xml")
                elif path == "/timeout":
                    outer._stopping.wait(120)
                elif path == "/500":
                    self._send(500, b"Internal Server Error")
                elif path == "/429":
                    self._send(429, b"slow down", Retry_After="600")
                elif path == "/loop":
                    self._send(302, b"", Location="/loop")
                elif path == "/malformed":
                    self._send(200, b'<?xml version="1.0"?><rss><channel><title>x &bogus; '
                               b"<item><title>unclosed", Content_Type="application/rss+xml")
                elif path == "/truncated-gzip":
                    self._send(200, full_gzip[: len(full_gzip) // 2],
                               Content_Type="application/rss+xml", Content_Encoding="gzip")
                elif path == "/bomb":
                    self._send(200, bomb, Content_Type="application/rss+xml",
                               Content_Encoding="gzip")
                elif path == "/huge":
                    self._stream(1 << 30)
                elif path == "/huge-unsized":
                    self._stream(1 << 30, sized=False)
                elif path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    for _ in range(100_000):
                        if outer._stopping.wait(0.5):
                            return
                        self.wfile.write(b"<")
                        self.wfile.flush()
                elif path == "/charset":
                    self._send(200, cp1251, Content_Type="application/rss+xml; charset=utf-8")
                elif path == "/comments":
                    self._send(200, b"<!--" * (5 << 18), Content_Type="text/html")
                elif path == "/empty":
                    self._send(200, b"", Content_Type="application/rss+xml")
                elif path == "/html":
                    self._send(200, b"<!doctype html><html><head><title>Welcome</title></head>"
                               b"<body><p>Nothing to see here.</p></body></html>",
                               Content_Type="text/html; charset=utf-8")
                else:
                    self._send(404, b"not found")

            def _stream(self, size: int, *, sized: bool = True) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                if sized:
                    self.send_header("Content-Length", str(size))
                else:               # the body ends when the connection closes
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                sent = 0
                while sent < size and not outer._stopping.is_set():
                    piece = CHUNK[: size - sent]
                    self.wfile.write(piece)
                    sent += len(piece)
                    outer.bytes_sent += len(piece)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = QuietServer((host, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def count(self, path: str) -> int:
        with self._lock:
            return len(self.hits.get(path, []))

    def times(self, path: str) -> list[float]:
        with self._lock:
            return list(self.hits.get(path, []))

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

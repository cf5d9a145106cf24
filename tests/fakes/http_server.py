"""A loopback HTTP server for fixture feeds and pages (stdlib, in a daemon thread).

Serves files from a folder, plus programmable routes (``routes[path] = (status,
headers, body)``) for error cases. Records every request path it answered.
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any


def reply(handler: http.server.BaseHTTPRequestHandler, status: int, headers: dict[str, str],
          body: bytes) -> None:
    """Answer a request with ``body`` (a client that hung up meanwhile is ignored)."""
    try:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


class FixtureServer:
    def __init__(self, folder: Path, host: str = "127.0.0.1") -> None:
        self.folder = folder
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(outer.folder), **kwargs)

            def do_GET(self) -> None:
                outer.requests.append(self.path)
                route = outer.routes.get(self.path.split("?")[0])
                if route is None:
                    super().do_GET()
                    return
                reply(self, *route)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FixtureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

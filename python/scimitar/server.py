"""Running the SCIM server inside a Python process.

The native server runs on its own C++ threads; Python only owns its lifetime. It is always stopped
before the interpreter finalizes (context manager, plus an atexit hook as a safety net).
"""

from __future__ import annotations

import atexit
from typing import Optional

from ._core import Server, Store


class RunningServer:
    """A started server. `url` is the SCIM base URL for tokens without an organization in the path."""

    def __init__(self, store: Store, host: str = "127.0.0.1", port: int = 8080, threads: int = 16,
                 max_body_bytes: int = 1 << 20) -> None:
        self._server: Optional[Server] = Server(store, host, port, threads, max_body_bytes)
        self._server.start()
        self.host = host
        self.port = self._server.port
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/scim/v2"

    def org_url(self, slug: str) -> str:
        return f"http://{self.host}:{self.port}/o/{slug}/scim/v2"

    def stop(self) -> None:
        """Stops serving; returns once no request is running. Idempotent."""
        if self._server is not None:
            self._server.stop()
            self._server = None
            atexit.unregister(self.stop)

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(db: Store, host: str = "127.0.0.1", port: int = 0, threads: int = 16,
          max_body_bytes: int = 1 << 20) -> RunningServer:
    """Starts a server over `db`; use as ``with scimitar.serve(db=db, port=0) as server:``."""
    return RunningServer(db, host, port, threads, max_body_bytes)

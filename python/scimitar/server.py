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
                 max_body_bytes: int = 1 << 20, background=None, limits: Optional[dict] = None) -> None:
        self._server: Optional[Server] = Server(store, host, port, threads, max_body_bytes, limits or {})
        self._server.start()
        self._background = background
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
            if self._background is not None:
                self._background.stop()
            atexit.unregister(self.stop)

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(db, rules: Optional[str] = None, host: str = "127.0.0.1", port: int = 0, threads: int = 16,
          max_body_bytes: int = 1 << 20, limits: Optional[dict] = None) -> RunningServer:
    """Starts a server over `db` (a scimitar.Database, or a bare Store); use as
    ``with scimitar.serve(db=db, rules="rules/", port=0) as server:``. With `rules`, that folder's rules
    decide (and outbox events are delivered to its handlers while the server runs)."""
    from .api import Database
    from .engine import Background, Engine
    from .rules import load_rules

    store = db.store if isinstance(db, Database) else db
    background = None
    engine = db.engine if isinstance(db, Database) else None
    if rules is not None:
        engine = Engine(load_rules(rules))
        store.set_rules(engine)
        if isinstance(db, Database):
            db.engine = engine
    if engine is not None:
        background = Background(store, engine, rules or "rules", on_message=lambda m: None)
    server = RunningServer(store, host, port, threads, max_body_bytes, background, limits)
    if background is not None:
        background.start()
    return server

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
                 max_body_bytes: int = 1 << 20, background=None, limits: Optional[dict] = None,
                 log_format: str = "off", log_path: str = "") -> None:
        self._server: Optional[Server] = Server(store, host, port, threads, max_body_bytes, limits or {},
                                                log_format, log_path)
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

    def reopen_log(self) -> None:
        """Reopens the request log file (after logrotate moved it)."""
        if self._server is not None:
            self._server.reopen_log()

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
    ``with scimitar.serve(db=db, rules="rules/", port=0) as server:``. Decisions follow the rule sets
    stored in the database; `rules`, when given, becomes the default set if none is stored, and must
    be it otherwise (RulesMismatch). While the server runs, outbox events are delivered to the
    handlers and changed rule sets or settings are recomputed."""
    from .api import Database
    from .engine import Background, Engine
    from .rule_sets import RulesMismatch, adopt
    from .rules import load_rules

    if isinstance(db, Database):
        store, engine = db.store, db.engine
        if rules is not None:
            db.use_default(rules, f"scimitar.serve(rules={rules!r})")
    else:
        store, engine = db, Engine()
        if rules is not None:
            rule_set = load_rules(rules)
            stored = adopt(store, rule_set, f"scimitar.serve(rules={rules!r})")
            if stored is not None:
                raise RulesMismatch(f"the default rule set stored in the database is version {stored or 'none'}, "
                                    f"not {rules} (version {rule_set.version})")
        store.set_rules(engine)
    engine.sync(store)
    background = Background(store, engine, rules, on_message=lambda m: None)
    server = RunningServer(store, host, port, threads, max_body_bytes, background, limits)
    background.start()
    return server

"""scimitar: a SCIM 2.0 provisioning server with a C++ core and Python provisioning rules."""

from __future__ import annotations

from ._core import ScimError, Store
from .server import RunningServer, serve

__all__ = ["ScimError", "Store", "RunningServer", "serve", "open_store", "DEFAULT_DB"]
__version__ = "0.1.0"

DEFAULT_DB = "sqlite:///scimitar.db"


def open_store(url: str | None = None, pool_size: int = 8) -> Store:
    """Opens (and creates or migrates) the database at `url`.

    URL forms: ``sqlite:///relative.db``, ``sqlite:////absolute/path.db``,
    ``postgresql://user[:pw]@host[:port]/dbname``. Without a URL, ``$SCIMITAR_DB`` or
    ``sqlite:///scimitar.db``.
    """
    import os

    return Store(url or os.environ.get("SCIMITAR_DB") or DEFAULT_DB, pool_size)

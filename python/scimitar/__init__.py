"""scimitar: a SCIM 2.0 provisioning server with a C++ core and Python provisioning rules.

    import scimitar
    db = scimitar.open("sqlite:///scim.db")
    org = db.org("acme")
    with scimitar.serve(db=db, rules="rules/", port=0) as server:
        print(server.url)
"""

from __future__ import annotations

import os

from ._core import ScimError, Store

DEFAULT_DB = "sqlite:///scimitar.db"


def open_store(url: str | None = None, pool_size: int = 8) -> Store:
    """The native store at `url` (created or migrated). URL forms: ``sqlite:///relative.db``,
    ``sqlite:////absolute/path.db``, ``postgresql://user[:pw]@host[:port]/dbname``. Without a URL,
    ``$SCIMITAR_DB`` or ``sqlite:///scimitar.db``."""
    return Store(url or os.environ.get("SCIMITAR_DB") or DEFAULT_DB, pool_size)


from .api import Database, ImportReport, Member, Org, open  # noqa: E402
from .rule_sets import RulesMismatch  # noqa: E402
from .server import RunningServer, serve  # noqa: E402

__all__ = ["ScimError", "Store", "Database", "Org", "Member", "ImportReport", "RunningServer", "open", "serve",
           "open_store", "DEFAULT_DB", "RulesMismatch"]
__version__ = "0.1.0"

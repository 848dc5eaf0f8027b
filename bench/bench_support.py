"""What the benchmarks share: an organization seeded with users on a fresh database, and stopping a
server process they started."""

from __future__ import annotations

import json
import subprocess

import scimitar

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"


def seed_org(db_url: str, slug: str, users: int) -> str:
    """Creates organization `slug` with users user{i}@{slug}.test (imported in batches of 1,000) and
    returns a SCIM token for it."""
    store = scimitar.open_store(db_url, pool_size=2)
    store.create_org(slug, slug.capitalize())
    store.create_member(slug, f"owner@{slug}.test", "owner")
    _, token = store.create_token(slug, f"owner@{slug}.test", slug)
    rows = [{"line": i, "resource": {"schemas": [USER_URN], "userName": f"user{i}@{slug}.test"}} for i in range(users)]
    for start in range(0, users, 1000):
        batch = store.import_prepare(slug, "User", json.dumps(rows[start:start + 1000]), "userName", False)
        store.import_commit(slug, batch)
    return token


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()

"""Helpers shared by the end-to-end tests: a real server process, a tenant with a token, SCIM error checks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import sys
import uuid

import requests

import scimitar

SCIM = "application/scim+json"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


def scimitar_cmd() -> list[str]:
    exe = shutil.which("scimitar", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "scimitar"]


def pg_url() -> str | None:
    url = os.environ.get("SCIMITAR_TEST_PG_URL")
    if not url and os.environ.get("CI"):
        raise RuntimeError("CI must run the PostgreSQL suite: SCIMITAR_TEST_PG_URL is not set")
    return url


class ServerProcess:
    """A `scimitar serve` child process; stop() sends SIGTERM and checks a clean exit."""

    def __init__(self, db_url: str, *extra: str, cwd: str | None = None) -> None:
        self.db_url = db_url
        # The request log goes to a file of its own (an unread stderr pipe would fill and stall the server).
        fd, self.log_path = tempfile.mkstemp(prefix="scimitar-requests-", suffix=".log")
        os.close(fd)
        if "--log-file" not in extra:
            extra = ("--log-file", self.log_path, *extra)
        self.proc = subprocess.Popen(
            [*scimitar_cmd(), "--db", db_url, "serve", "--port", "0", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
        first = self.proc.stdout.readline().strip()
        if not first.startswith("http://"):
            self.proc.kill()
            raise RuntimeError(f"server did not start: {first!r} {self.proc.stderr.read()}")
        self.url = first  # .../scim/v2
        self.root = first[: -len("/scim/v2")]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                if os.environ.get("SCIMITAR_DEBUG_HANG"):
                    dump = subprocess.run(["gdb", "-batch", "-p", str(self.proc.pid), "-ex", "thread apply all bt 12"],
                                          capture_output=True, text=True).stdout
                    print(dump, file=sys.stderr)
                self.proc.kill()
                raise
        return self.proc.returncode


class Tenant:
    """An organization with an owner and a token, and a small SCIM client for it."""

    def __init__(self, server: ServerProcess, store: scimitar.Store) -> None:
        self.server = server
        self.store = store
        self.slug = "t-" + uuid.uuid4().hex[:10]
        store.create_org(self.slug, "Test org")
        store.create_member(self.slug, "owner@example.test", "owner")
        self.token_id, self.token = store.create_token(self.slug, "owner@example.test", "tests")
        self.base = server.url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def request(self, method: str, path: str, body=None, headers=None, **kw) -> requests.Response:
        h = {"Content-Type": SCIM} if body is not None else {}
        h.update(headers or {})
        data = body if isinstance(body, (str, bytes)) else (None if body is None else json.dumps(body))
        return self.session.request(method, self.base + path, data=data, headers=h, timeout=30, **kw)

    def get(self, path, **kw): return self.request("GET", path, **kw)
    def post(self, path, body, **kw): return self.request("POST", path, body, **kw)
    def put(self, path, body, **kw): return self.request("PUT", path, body, **kw)
    def patch(self, path, body, **kw): return self.request("PATCH", path, body, **kw)
    def delete(self, path, **kw): return self.request("DELETE", path, **kw)

    def create_user(self, user_name: str, **attrs) -> dict:
        r = self.post("/Users", {"schemas": [USER_URN], "userName": user_name, **attrs})
        assert r.status_code == 201, r.text
        return r.json()

    def create_group(self, name: str, members=()) -> dict:
        r = self.post("/Groups", {"schemas": [GROUP_URN], "displayName": name,
                                  "members": [{"value": m} for m in members]})
        assert r.status_code == 201, r.text
        return r.json()


def assert_scim_error(r: requests.Response, status: int, scim_type: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith(SCIM)
    body = r.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type:
        assert body.get("scimType") == scim_type, body
    return body

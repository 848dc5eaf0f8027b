"""What an operator gets from a running server (issue 17, first part): a structured request log line
per request with the request id it echoes, reopened on SIGUSR1, and health probes for a load
balancer (/healthz, /readyz going unready while PostgreSQL is down)."""

from __future__ import annotations

import json
import os
import signal
import socket
import time

import pytest
import requests

import scimitar
from faults_support import FaultServer, PrivatePostgres, new_tenant
from support import SCIM, USER_URN, ServerProcess, Tenant
from test_rules_server import cli, wait_for


def log_lines(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]  # every line parses


def test_every_request_has_one_log_line_with_its_id_and_no_secrets(tmp_path):
    db = f"sqlite:///{tmp_path}/log.db"
    server = ServerProcess(db, "--log-format", "json")
    try:
        t = Tenant(server, scimitar.open_store(db, pool_size=2))
        created = t.post("/Users", {"schemas": [USER_URN], "userName": "ann@log.test"},
                         headers={"X-Request-Id": "entra-7f3a"})
        assert created.status_code == 201 and created.headers["X-Request-Id"] == "entra-7f3a"
        found = t.get('/Users?filter=userName eq "secret-filter-value@log.test"')
        generated = found.headers["X-Request-Id"]
        assert len(generated) == 16
        bad = t.post("/Users", {"schemas": [USER_URN], "userName": "x@log.test", "active": "maybe"})
        assert bad.status_code == 400
        anonymous = requests.get(server.url + "/Users", timeout=10)
        assert anonymous.status_code == 401
        # A request the HTTP framing refuses before it is read whole is logged too.
        host, port = server.root.split("//", 1)[1].split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            assert b" 431 " in raw.recv(4096)

        wait_for(lambda: len(log_lines(server.log_path)) >= 5, what="five log lines")
        refused = [line for line in log_lines(server.log_path) if line["status"] == 431]
        assert len(refused) == 1 and refused[0]["method"] == "-" and refused[0]["bytes_in"] > 16000
        lines = {line["request_id"]: line for line in log_lines(server.log_path)}
        first = lines["entra-7f3a"]
        assert (first["method"], first["path"], first["status"], first["org"]) == ("POST", "/scim/v2/Users", 201, t.slug)
        assert first["token_id"] == t.token_id and first["scimType"] is None
        assert first["bytes_in"] > 0 and first["bytes_out"] > 0 and first["duration_us"] > 0
        assert lines[generated]["path"] == "/scim/v2/Users"  # the path, not the query string
        assert lines[bad.headers["X-Request-Id"]]["scimType"] == "invalidValue"
        assert lines[anonymous.headers["X-Request-Id"]]["org"] is None
        text = open(server.log_path).read()
        assert "secret-filter-value" not in text and t.token not in text and t.token.split("_")[2] not in text

        # logrotate: the file is moved, SIGUSR1 makes the server write to a new one.
        rotated = server.log_path + ".1"
        os.rename(server.log_path, rotated)
        server.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.5)  # the main loop looks at the flag every 0.2 s
        t.get("/Users")
        wait_for(lambda: os.path.exists(server.log_path) and log_lines(server.log_path), what="the reopened log")
        assert len(log_lines(server.log_path)) == 1
    finally:
        assert server.stop() == 0


def test_health_probes_are_open_and_readiness_follows_the_database(tmp_path):
    try:
        pg = PrivatePostgres()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    pg.start()
    server = None
    try:
        new_tenant(pg.url, "ready")
        server = FaultServer(pg.url, tmp_path)
        root = server.url[: -len("/scim/v2")]
        assert requests.get(root + "/healthz", timeout=10).json() == {"status": "ok"}
        ready = requests.get(root + "/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
        assert requests.post(root + "/readyz", timeout=10).status_code == 405

        pg.stop("immediate")
        down = requests.get(root + "/readyz", timeout=15)
        assert down.status_code == 503 and down.headers["Content-Type"].startswith(SCIM)
        assert down.json()["status"] == "unready" and "database" in down.json()["reason"]
        assert requests.get(root + "/healthz", timeout=10).status_code == 200  # alive all the same

        pg.start()
        wait_for(lambda: requests.get(root + "/readyz", timeout=15).status_code == 200, timeout=30,
                 what="ready again once PostgreSQL is back")
    finally:
        if server:
            server.stop()
        pg.cleanup()


def test_tokens_expire_rotate_with_a_grace_period_and_record_their_last_use(tmp_path):
    db = f"sqlite:///{tmp_path}/tokens.db"
    server = ServerProcess(db)
    try:
        store = scimitar.open_store(db, pool_size=2)
        t = Tenant(server, store)

        def status(token: str) -> requests.Response:
            return requests.get(server.url + "/Users", headers={"Authorization": f"Bearer {token}"}, timeout=10)

        short = cli(db, "token", "create", "--org", t.slug, "--owner", "owner@example.test", "--expires-in", "2s")
        short_token = short.stdout.strip().splitlines()[-1]
        assert status(short_token).status_code == 200
        time.sleep(2.5)
        expired = status(short_token)
        assert expired.status_code == 401 and "expired" in expired.json()["detail"]

        # Rotation: a new token at once, the old one until the grace period ends.
        rotated = cli(db, "token", "rotate", "--org", t.slug, t.token_id, "--grace", "2s").stdout
        new_token = rotated.strip().splitlines()[-1]
        assert status(new_token).status_code == 200
        assert status(t.token).status_code == 200  # still within its grace period
        time.sleep(2.5)
        assert status(t.token).status_code == 401
        assert status(new_token).status_code == 200

        wait_for(lambda: "last used never" not in [line for line in cli(db, "token", "list", "--org", t.slug)
                                                   .stdout.splitlines() if line.startswith(t.token_id)][0],
                 what="the last use to be recorded")
        listed = cli(db, "token", "list", "--org", t.slug).stdout
        assert t.token not in listed and t.token.split("_")[2] not in listed  # never the secret
        states = {line.split("\t")[0]: line.split("\t")[2] for line in listed.splitlines()}
        assert states[t.token_id] == "expired"
        bad = cli(db, "token", "create", "--org", t.slug, "--owner", "owner@example.test", "--expires-in", "soon",
                  check=False)
        assert bad.returncode == 2 and "not a duration" in bad.stderr
    finally:
        assert server.stop() == 0

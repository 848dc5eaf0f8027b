"""The HTTP transport under hostile and sloppy clients: idle and dribbling connections cost no worker,
every limit answers with a SCIM error the client can read, and deadlines cut off slow requests.
A real `scimitar serve` on a SQLite file, spoken to with raw sockets where a library would hide the
behaviour. The figures these scenarios reach are measured by bench/slow_clients.py, not asserted here."""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import requests

import scimitar
from support import SCIM, USER_URN, ServerProcess, Tenant, assert_scim_error


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    # Enough descriptors in this process for the client side of a thousand connections.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))
    url = "sqlite:///" + str(tmp_path_factory.mktemp("transport") / "t.db")
    store = scimitar.open_store(url, pool_size=2)
    server = ServerProcess(url, "--request-timeout-ms", "1500", "--keep-alive-seconds", "3",
                           "--max-connections", "3000", "--threads", "4")
    tenant = Tenant(server, store)
    tenant.create_user("probe@transport.test")
    yield server, tenant
    assert server.stop() == 0, server.proc.stderr.read()


_PENDING: dict[int, bytes] = {}  # bytes read past a response, by socket


def _host_port(server) -> tuple[str, int]:
    rest = server.root.split("//", 1)[1]
    host, port = rest.split(":")
    return host, int(port)


def _connect(server) -> socket.socket:
    s = socket.create_connection(_host_port(server), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _read_response(s: socket.socket) -> tuple[int, dict, bytes]:
    """Reads one HTTP response (Content-Length framed) from a raw socket; bytes after it stay
    buffered on the socket object for the next call (pipelining)."""
    data = _PENDING.pop(s.fileno(), b"")
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the body")
        rest += chunk
    _PENDING[s.fileno()] = rest[length:]
    return status, headers, rest[:length]


def _lookup_request(tenant, user_name="probe@transport.test") -> bytes:
    path = tenant.base.split("//", 1)[1].split("/", 1)[1]
    q = urllib.parse.quote(f'userName eq "{user_name}"')
    return (f"GET /{path}/Users?filter={q} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tenant.token}\r\n\r\n"
            .encode())


def _closed_by_server(s: socket.socket, within: float) -> bool:
    s.settimeout(within)
    try:
        while s.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_error_statuses_carry_their_reason_phrase(served):
    server, tenant = served
    s = _connect(server)
    s.sendall(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n\r\n")
    data = s.recv(65536)
    assert data.startswith(b"HTTP/1.1 401 Unauthorized\r\n"), data[:80]
    s.close()


def test_an_oversized_body_gets_a_413_the_client_can_read(served):
    server, tenant = served
    big = json.dumps({"schemas": [USER_URN], "userName": "big", "x": "y" * (8 << 20)}).encode()
    # requests (and urllib) send the whole body before reading: the answer must survive that.
    r = tenant.post("/Users", big)
    assert_scim_error(r, 413)
    req = urllib.request.Request(tenant.base + "/Users", data=big, method="POST",
                                 headers={"Authorization": f"Bearer {tenant.token}", "Content-Type": SCIM})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 413
    assert json.loads(err.value.read())["status"] == "413"
    # With Expect: 100-continue the refusal comes before the body is sent.
    s = _connect(server)
    s.sendall(b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Type: application/scim+json\r\n"
              b"Content-Length: 50000000\r\nExpect: 100-continue\r\n\r\n")
    status, headers, body = _read_response(s)
    assert status == 413 and headers["connection"] == "close"
    assert json.loads(body)["detail"]
    # The server still serves, and stored nothing.
    assert tenant.get('/Users?filter=userName eq "big"').json()["totalResults"] == 0


def test_expect_continue_and_chunked_bodies_are_understood(served):
    server, tenant = served
    body = json.dumps({"schemas": [USER_URN], "userName": "chunked@transport.test"}).encode()
    s = _connect(server)
    s.sendall(f"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tenant.token}\r\n"
              f"Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n"
              f"Expect: 100-continue\r\n\r\n".encode())
    assert s.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
    half = len(body) // 2
    s.sendall(b"%x\r\n%s\r\n" % (half, body[:half]))
    time.sleep(0.05)
    s.sendall(b"%x;ext=1\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n" % (len(body) - half, body[half:]))
    status, _, answer = _read_response(s)
    assert status == 201, answer
    assert json.loads(answer)["userName"] == "chunked@transport.test"


def test_pipelined_requests_are_answered_in_order(served):
    server, tenant = served
    s = _connect(server)
    s.sendall(_lookup_request(tenant) + _lookup_request(tenant, "nobody@transport.test") + _lookup_request(tenant))
    totals = [json.loads(_read_response(s)[2])["totalResults"] for _ in range(3)]
    assert totals == [1, 0, 1]


def test_framing_limits_answer_with_scim_errors(served):
    server, tenant = served
    cases = [
        (b"GET /scim/v2/Users?filter=" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /scim/v2/Users HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n", 431),
        (b"GET /scim/v2/Users HTTP/1.1\r\nX-Big: " + b"v" * 20000 + b"\r\n\r\n", 431),
        (b"POST /scim/v2/Users HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"POST /scim/v2/Users HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"POST /scim/v2/Users HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400),
        (b"POST /scim/v2/Users HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"GET /scim/v2/Users HTTP/2.0\r\n\r\n", 505),
        (b"GARBAGE\r\n\r\n", 400),
    ]
    for raw, status in cases:
        s = _connect(server)
        s.sendall(raw)
        got, headers, body = _read_response(s)
        assert got == status, (raw[:60], got, body)
        assert headers["content-type"].startswith(SCIM) and headers["connection"] == "close"
        doc = json.loads(body)
        assert doc["status"] == str(status) and doc["detail"]
        assert _closed_by_server(s, 5)
        s.close()


def test_a_dribbling_client_is_cut_off_with_408(served):
    server, tenant = served
    s = _connect(server)
    started = time.monotonic()
    s.sendall(b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
    s.settimeout(0.2)
    got = b""
    # One byte every 200 ms keeps resetting an idle timer, but not the request's deadline (1.5 s).
    for _ in range(40):
        try:
            s.send(b"x")
            got += s.recv(65536)
            if got:
                break
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    elapsed = time.monotonic() - started
    assert got.startswith(b"HTTP/1.1 408 Request Timeout"), got[:80]
    assert 1.2 < elapsed < 4, elapsed
    s.close()


def test_idle_and_dribbling_connections_do_not_lock_others_out(served):
    server, tenant = served
    idle = [_connect(server) for _ in range(1000)]
    dribblers = [_connect(server) for _ in range(200)]
    for d in dribblers:
        d.sendall(b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
    try:
        times = []
        with requests.Session() as client:
            client.headers["Authorization"] = f"Bearer {tenant.token}"
            for _ in range(20):
                t0 = time.monotonic()
                r = client.get(tenant.base + "/Users", params={"filter": 'userName eq "probe@transport.test"'},
                               timeout=5)
                times.append(time.monotonic() - t0)
                assert r.status_code == 200 and r.json()["totalResults"] == 1
        # Not a benchmark (bench/slow_clients.py is): only that nobody waits behind the idle ones.
        assert statistics.median(times) < 1.0, times
    finally:
        for s in idle + dribblers:
            s.close()


def test_a_thousand_keep_alive_clients_all_get_answers(served):
    server, tenant = served
    host, port = _host_port(server)
    request = _lookup_request(tenant)

    async def client() -> list[int]:
        reader, writer = await asyncio.open_connection(host, port)
        statuses = []
        try:
            for _ in range(3):
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                statuses.append(status)
        finally:
            writer.close()
        return statuses

    async def main():
        return await asyncio.wait_for(asyncio.gather(*(client() for _ in range(1000)), return_exceptions=True), 60)

    results = asyncio.run(main())
    failures = [r for r in results if not isinstance(r, list)]
    assert not failures, failures[:5]
    assert all(r == [200, 200, 200] for r in results)


def test_idle_connections_are_closed_after_the_keep_alive_timeout(served):
    server, tenant = served
    s = _connect(server)
    s.sendall(_lookup_request(tenant))
    assert _read_response(s)[0] == 200
    t0 = time.monotonic()
    assert _closed_by_server(s, 8)
    assert 2 < time.monotonic() - t0 < 6


def test_the_longest_idle_connection_makes_room_when_the_limit_is_reached(tmp_path):
    url = "sqlite:///" + str(tmp_path / "cap.db")
    store = scimitar.open_store(url, pool_size=2)
    server = ServerProcess(url, "--max-connections", "20")
    try:
        tenant = Tenant(server, store)
        held = [_connect(server) for _ in range(20)]
        time.sleep(0.2)
        fresh = _connect(server)
        fresh.sendall(_lookup_request(tenant, "anyone@x.test"))
        assert _read_response(fresh)[0] == 200
        assert _closed_by_server(held[0], 5)  # the oldest idle one went
        for s in held + [fresh]:
            s.close()
    finally:
        assert server.stop() == 0


def test_concurrent_writers_while_a_slow_reader_stalls(served):
    """A client that never reads its answers holds no worker: others keep writing."""
    server, tenant = served
    stalled = _connect(server)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    for _ in range(200):
        stalled.sendall(_lookup_request(tenant))
    errors = []

    def write(i):
        try:
            tenant_session = requests.Session()
            tenant_session.headers["Authorization"] = f"Bearer {tenant.token}"
            r = tenant_session.post(tenant.base + "/Users", data=json.dumps(
                {"schemas": [USER_URN], "userName": f"w{i}@stall.test"}), headers={"Content-Type": SCIM}, timeout=10)
            if r.status_code != 201:
                errors.append(r.text)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stalled.close()

"""The documented nginx configuration (examples/nginx/scimitar.conf) in front of a real scimitar: TLS
terminates at nginx, SCIM answers and errors pass through, resource locations say https."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

import scimitar
from support import SCIM, USER_URN, ServerProcess, Tenant, assert_scim_error

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nginx" / "scimitar.conf"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def behind_nginx(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx) or not shutil.which("openssl"):
        if os.environ.get("CI"):
            raise RuntimeError("CI must run the nginx test: scripts/install.sh --test installs nginx and openssl")
        pytest.skip("nginx or openssl is not installed (scripts/install.sh --test installs them)")
    url = "sqlite:///" + str(tmp_path / "tls.db")
    store = scimitar.open_store(url, pool_size=2)
    server = ServerProcess(url)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-days", "1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    tls_port = _free_port()
    upstream_port = server.root.rsplit(":", 1)[1]
    site = (EXAMPLE.read_text()
            .replace("127.0.0.1:8080", f"127.0.0.1:{upstream_port}")
            .replace("listen 443 ssl", f"listen 127.0.0.1:{tls_port} ssl")
            .replace("/etc/ssl/scimitar/fullchain.pem", str(cert))
            .replace("/etc/ssl/scimitar/privkey.pem", str(key)))
    (tmp_path / "scimitar.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(
        f"{user}pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n  proxy_temp_path {tmp_path}/proxy;\n"
        f"  fastcgi_temp_path {tmp_path}/fcgi;\n  uwsgi_temp_path {tmp_path}/uwsgi;\n  scgi_temp_path {tmp_path}/scgi;\n"
        f"  include {tmp_path}/scimitar.conf;\n}}\n")
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx did not start: {proc.stderr.read().decode()}")
            time.sleep(0.05)
    tenant = Tenant(server, store)
    tenant.base = f"https://localhost:{tls_port}/scim/v2"
    tenant.session.verify = str(cert)
    tenant.session.trust_env = False  # REQUESTS_CA_BUNDLE would override the verify set here
    yield tenant
    proc.terminate()
    proc.wait(timeout=10)
    assert server.stop() == 0


def test_scim_through_nginx_over_tls(behind_nginx):
    tenant = behind_nginx
    created = tenant.post("/Users", {"schemas": [USER_URN], "userName": "tls@nginx.test"})
    assert created.status_code == 201, created.text
    assert created.headers["Location"].startswith(tenant.base + "/Users/")  # https, the public host and port
    assert created.json()["meta"]["location"] == created.headers["Location"]
    found = tenant.get('/Users?filter=userName eq "tls@nginx.test"').json()
    assert found["totalResults"] == 1
    # scimitar's SCIM errors pass through unchanged, its own and nginx's body limit alike.
    assert_scim_error(tenant.post("/Users", {"schemas": [USER_URN]}), 400, "invalidValue")
    assert_scim_error(tenant.post("/Users", "x" * (2 << 20)), 413)
    anon = requests.Session()
    anon.trust_env = False
    anon = anon.get(tenant.base + "/Users", verify=tenant.session.verify, timeout=10)
    assert_scim_error(anon, 401)
    assert anon.headers["Content-Type"].startswith(SCIM)

"""The command line as documented in the README: orgs, members, tokens, and serve's first start."""

from __future__ import annotations

import subprocess

import requests

from support import ServerProcess, assert_scim_error, scimitar_cmd


def cli(db, *args, check=True):
    r = subprocess.run([*scimitar_cmd(), "--db", db, *args], capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def test_org_member_token_commands(tmp_path):
    db = f"sqlite:///{tmp_path}/cli.db"
    assert "created organization 'acme'" in cli(db, "org", "create", "acme", "--name", "Acme").stdout
    dup = cli(db, "org", "create", "acme", check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    cli(db, "org", "set", "acme", "scim_sync=off", "user_group=Fluid User")
    shown = cli(db, "org", "show", "acme").stdout.splitlines()
    assert "  scim_sync=off  (set; built in)" in shown
    assert "  user_group=Fluid User  (set; not declared by the rules)" in shown  # no rules stored
    cli(db, "member", "create", "--org", "acme", "--email", "ops@acme.test", "--role", "owner")
    out = cli(db, "token", "create", "--org", "acme", "--owner", "ops@acme.test", "--description", "entra").stdout
    token = out.strip().splitlines()[-1]
    assert token.startswith("scim_")
    listing = cli(db, "token", "list", "--org", "acme").stdout
    assert "entra" in listing and token not in listing
    token_id = listing.split("\t")[0]
    missing = cli(db, "token", "create", "--org", "acme", "--owner", "nobody@acme.test", check=False)
    assert missing.returncode == 1 and "nobody@acme.test" in missing.stderr

    server = ServerProcess(db)
    try:
        h = {"Authorization": f"Bearer {token}"}
        assert_scim_error(requests.get(server.url + "/Users", headers=h, timeout=10), 403)  # scim_sync=off
        cli(db, "org", "set", "acme", "scim_sync=on")
        assert requests.get(server.url + "/Users", headers=h, timeout=10).status_code == 200
        cli(db, "token", "revoke", "--org", "acme", token_id)
        assert_scim_error(requests.get(server.url + "/Users", headers=h, timeout=10), 401)
        _, token2 = cli(db, "token", "create", "--org", "acme", "--owner", "ops@acme.test").stdout.strip().rsplit("\n", 1)
        h2 = {"Authorization": f"Bearer {token2}"}
        assert requests.get(server.url + "/Users", headers=h2, timeout=10).status_code == 200
        cli(db, "member", "deactivate", "--org", "acme", "--email", "ops@acme.test")
        assert_scim_error(requests.get(server.url + "/Users", headers=h2, timeout=10), 401)
    finally:
        assert server.stop() == 0


def test_first_start_creates_org_and_token_once(tmp_path):
    server = ServerProcess("sqlite:///first.db", cwd=str(tmp_path))
    try:
        lines = [server.proc.stdout.readline().strip() for _ in range(4)]
        assert "created organization 'default'" in lines[0]
        assert lines[1] == f"tenant URL: {server.root}/o/default/scim/v2"
        token = lines[3]
        r = requests.get(f"{server.root}/o/default/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200
    finally:
        assert server.stop() == 0
    assert (tmp_path / "first.db").exists()
    again = ServerProcess("sqlite:///first.db", cwd=str(tmp_path))
    assert again.stop() == 0
    assert "token" not in again.proc.stdout.read().lower()


def test_db_url_from_environment(tmp_path):
    env_db = f"sqlite:///{tmp_path}/env.db"
    import os
    r = subprocess.run([*scimitar_cmd(), "org", "create", "envorg"], capture_output=True, text=True,
                       env={**os.environ, "SCIMITAR_DB": env_db}, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "envorg" in cli(env_db, "org", "list").stdout


def test_bad_database_url_is_a_clear_error(tmp_path):
    r = cli("mysql://nope", "org", "list", check=False)
    assert r.returncode == 1 and "unsupported database URL" in r.stderr

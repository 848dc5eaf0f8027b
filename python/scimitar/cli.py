"""The `scimitar` command line: organizations, members, tokens, and the server."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Sequence

from . import DEFAULT_DB, ScimError, open_store
from .server import RunningServer

BOOTSTRAP_ORG = "default"
BOOTSTRAP_OWNER = "admin@localhost"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scimitar", description="SCIM 2.0 provisioning server")
    p.add_argument("--db", default=os.environ.get("SCIMITAR_DB") or DEFAULT_DB,
                   help="database URL (default: $SCIMITAR_DB or %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)

    org = sub.add_parser("org", help="organizations").add_subparsers(dest="action", required=True)
    c = org.add_parser("create", help="create an organization")
    c.add_argument("slug")
    c.add_argument("--name", default=None)
    s = org.add_parser("set", help="set per-organization settings")
    s.add_argument("slug")
    s.add_argument("settings", nargs="+", metavar="KEY=VALUE")
    g = org.add_parser("show", help="show an organization's settings")
    g.add_argument("slug")
    org.add_parser("list", help="list organizations")

    member = sub.add_parser("member", help="unmanaged members").add_subparsers(dest="action", required=True)
    c = member.add_parser("create", help="create an unmanaged member")
    c.add_argument("--org", required=True)
    c.add_argument("--email", required=True)
    c.add_argument("--role", default="member")
    d = member.add_parser("deactivate", help="deactivate an unmanaged member (its tokens stop working)")
    d.add_argument("--org", required=True)
    d.add_argument("--email", required=True)
    ls = member.add_parser("list", help="list members")
    ls.add_argument("--org", required=True)

    token = sub.add_parser("token", help="SCIM bearer tokens").add_subparsers(dest="action", required=True)
    c = token.add_parser("create", help="create a token; printed once, on the last line")
    c.add_argument("--org", required=True)
    c.add_argument("--owner", required=True, help="email of the member the token acts for")
    c.add_argument("--description", default="")
    ls = token.add_parser("list", help="list tokens (never the secrets)")
    ls.add_argument("--org", required=True)
    r = token.add_parser("revoke", help="revoke a token by id")
    r.add_argument("--org", required=True)
    r.add_argument("token_id")

    srv = sub.add_parser("serve", help="run the SCIM server")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    srv.add_argument("--rules", default="rules", help="rules folder (default: %(default)s)")
    srv.add_argument("--threads", type=int, default=16)
    srv.add_argument("--max-body-bytes", type=int, default=1 << 20)
    return p


def _serve(args: argparse.Namespace) -> int:
    if args.threads < 1:
        raise SystemExit("error: --threads must be at least 1")
    # A plain flag: a signal handler must not take locks (Event.set() can deadlock against wait()).
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stopping.append(signum))
    store = open_store(args.db, pool_size=max(4, args.threads))
    server = RunningServer(store, args.host, args.port, args.threads, args.max_body_bytes)
    print(f"http://{args.host}:{server.port}/scim/v2", flush=True)
    try:
        if not store.list_orgs():
            store.create_org(BOOTSTRAP_ORG, "Default organization")
            store.create_member(BOOTSTRAP_ORG, BOOTSTRAP_OWNER, "owner")
            _, token = store.create_token(BOOTSTRAP_ORG, BOOTSTRAP_OWNER, "created on first start")
            print(f"first start: created organization '{BOOTSTRAP_ORG}' owned by {BOOTSTRAP_OWNER}", flush=True)
            print(f"tenant URL: http://{args.host}:{server.port}/o/{BOOTSTRAP_ORG}/scim/v2", flush=True)
            print("SCIM token (shown once, store it now):", flush=True)
            print(token, flush=True)
        while not stopping:
            time.sleep(0.2)
    finally:
        server.stop()
    print("scimitar stopped", file=sys.stderr, flush=True)
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args)
    store = open_store(args.db)
    if args.command == "org":
        if args.action == "create":
            org_id, slug, name = store.create_org(args.slug, args.name or args.slug)
            print(f"created organization '{slug}'")
        elif args.action == "set":
            for item in args.settings:
                key, sep, value = item.partition("=")
                if not sep or not key:
                    raise SystemExit(f"error: '{item}' is not KEY=VALUE")
                store.set_setting(args.slug, key, value)
                print(f"{args.slug}: {key}={value}")
        elif args.action == "show":
            for key, value in sorted(store.settings(args.slug).items()):
                print(f"{key}={value}")
        else:
            for _, slug, name in store.list_orgs():
                print(f"{slug}\t{name}")
    elif args.command == "member":
        if args.action == "create":
            m = store.create_member(args.org, args.email, args.role)
            print(f"created member {m.email} (role {m.role}) in '{args.org}'")
        elif args.action == "deactivate":
            store.deactivate_member(args.org, args.email)
            print(f"deactivated member {args.email} in '{args.org}'")
        else:
            for m in store.list_members(args.org):
                state = "active" if m.active else "deactivated"
                kind = "managed" if m.managed else "unmanaged"
                print(f"{m.email}\t{m.role}\t{state}\t{kind}")
    elif args.command == "token":
        if args.action == "create":
            token_id, token = store.create_token(args.org, args.owner, args.description)
            print(f"created token {token_id} for {args.owner} in '{args.org}' (shown once):")
            print(token)
        elif args.action == "list":
            for t in store.list_tokens(args.org):
                state = "revoked" if t.revoked else "active"
                print(f"{t.id}\t{t.owner}\t{state}\t{t.created}\t{t.description}")
        else:
            store.revoke_token(args.org, args.token_id)
            print(f"revoked token {args.token_id}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except ScimError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

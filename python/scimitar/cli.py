"""The `scimitar` command line: organizations, members, tokens, and the server."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from . import DEFAULT_DB, ScimError, open_store
from . import rule_sets
from .engine import Background, Engine
from .rules import RuleLoadError, RuleSet, User, load_rules, load_sources
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
    s = org.add_parser("set", help="set per-organization settings (validated; running servers recompute decisions)")
    s.add_argument("slug")
    s.add_argument("settings", nargs="+", metavar="KEY=VALUE")
    u = org.add_parser("unset", help="remove per-organization settings (their defaults apply again)")
    u.add_argument("slug")
    u.add_argument("keys", nargs="+", metavar="KEY")
    g = org.add_parser("show", help="show an organization's name, settings and rule set")
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
    c.add_argument("--expires-in", type=_duration, default=None, metavar="DURATION",
                   help="e.g. 90d, 12h, 30m (default: never expires)")
    rot = token.add_parser("rotate", help="a new token for the same owner; the old one stays valid for --grace")
    rot.add_argument("--org", required=True)
    rot.add_argument("token_id")
    rot.add_argument("--grace", type=_duration, default=_duration("1h"), metavar="DURATION",
                     help="how long the old token still works (default 1h; 0s: not at all)")
    rot.add_argument("--expires-in", type=_duration, default=None, metavar="DURATION",
                     help="expiry of the new token (default: never)")
    ls = token.add_parser("list", help="list tokens (never the secrets)")
    ls.add_argument("--org", required=True)
    r = token.add_parser("revoke", help="revoke a token by id")
    r.add_argument("--org", required=True)
    r.add_argument("token_id")

    schema = sub.add_parser("schema", help="schema extensions declared per organization").add_subparsers(
        dest="action", required=True)
    a = schema.add_parser("add", help="declare (or redeclare) an extension from a SCIM schema document (JSON)")
    a.add_argument("--org", required=True)
    a.add_argument("--resource-type", default="User", choices=["User", "Group"])
    a.add_argument("file", help='a JSON file: {"id": "urn:...", "name": ..., "attributes": [...]}')
    ls = schema.add_parser("list", help="list declared extensions")
    ls.add_argument("--org", required=True)
    ls.add_argument("--json", action="store_true", help="print the schema documents")
    r = schema.add_parser("remove", help="remove a declared extension (stored values stay, unvalidated)")
    r.add_argument("--org", required=True)
    r.add_argument("urn")

    srv = sub.add_parser("serve", help="run the SCIM server")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    srv.add_argument("--rules", default=None,
                     help="rules folder (default: ./rules if it exists); stored as the default rule set when the "
                          "database has none (see --publish-rules)")
    srv.add_argument("--publish-rules", action="store_true",
                     help="make the --rules folder the stored default rule set even if another is stored "
                          "(every server then decides with it)")
    srv.add_argument("--threads", type=int, default=16, help="worker threads: requests handled at once")
    srv.add_argument("--max-body-bytes", type=int, default=1 << 20, help="larger request bodies get 413")
    for flag, default, text in SERVER_LIMITS:
        srv.add_argument(flag, type=int, default=default, help=text)
    srv.add_argument("--rule-budget-ms", type=float, default=100.0, help="time budget of one rule call")
    srv.add_argument("--log-file", default="", help="request log file, reopened on SIGUSR1 (default: stderr)")
    srv.add_argument("--log-format", choices=["auto", "json", "text", "off"], default="auto",
                     help="request log lines: JSON, or text; auto: text on a terminal, else JSON")

    m = sub.add_parser("members", help="provisioned members with role, units and app groups")
    m.add_argument("--org", required=True)
    m.add_argument("--json", action="store_true")
    m.add_argument("--all", action="store_true", help="also users that are not provisioned")

    ag = sub.add_parser("app-groups", help="app groups (named by group_name rules) and their provisioned members")
    ag.add_argument("--org", required=True)
    ag.add_argument("--json", action="store_true")

    e = sub.add_parser("explain", help="why a user got its decision")
    e.add_argument("--org", required=True)
    e.add_argument("user_name", metavar="USERNAME")
    e.add_argument("--json", action="store_true")

    rules = sub.add_parser("rules", help="rule sets (stored in the database; every process decides with them)"
                           ).add_subparsers(dest="action", required=True)
    d = rules.add_parser("dry-run", help="compare a candidate rule set with the active decisions; changes nothing")
    d.add_argument("--org", required=True)
    d.add_argument("--rules", required=True, dest="candidate")
    d.add_argument("--json", action="store_true")
    a = rules.add_parser("apply", help="make a rules folder an organization's set, or the default set of every "
                                       "organization without one; running servers recompute")
    _scope(a)
    a.add_argument("--rules", required=True, dest="candidate")
    h = rules.add_parser("history", help="the sets made active for an organization (or the default), newest first")
    _scope(h)
    h.add_argument("--json", action="store_true")
    r = rules.add_parser("revert", help="make a version from the history active again")
    _scope(r)
    r.add_argument("version")
    cl = rules.add_parser("clear", help="remove an organization's own set (the default set decides it again), "
                                        "or the default set (settings alone decide)")
    _scope(cl)
    sh = rules.add_parser("show", help="which rule set decides an organization now")
    sh.add_argument("--org", required=True)
    c = rules.add_parser("check", help="load a rules folder and report errors")
    c.add_argument("folder")

    imp = sub.add_parser("import", help="import users (or groups) from a csv, jsonl or json file")
    imp.add_argument("--org", required=True)
    imp.add_argument("file")
    imp.add_argument("--format", choices=["csv", "jsonl", "json"])
    imp.add_argument("--mapping", help="a Python file defining map_row(row) -> SCIM resource")
    imp.add_argument("--key", default=None, help="match rows to stored resources by this attribute "
                                                 "(default externalId; groups: displayName)")
    imp.add_argument("--groups", action="store_true", help="the file holds groups")
    imp.add_argument("--dry-run", action="store_true")
    imp.add_argument("--replace-members", action="store_true",
                     help="with --groups: a row's members become the group's whole membership (default: added)")
    imp.add_argument("--rules", default=None,
                     help="refuse to import unless this folder is the rule set that decides the organization "
                          "(imports always decide with the stored set; see: scimitar rules show)")
    imp.add_argument("--batch-size", type=int, default=500)

    exp = sub.add_parser("export", help="stream users as jsonl or csv, in the form import reads back")
    exp.add_argument("--org", required=True)
    exp.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    exp.add_argument("--filter", default=None)
    return p


def _duration(text: str) -> dt.timedelta:
    """"90d", "12h", "30m", "45s" as a timedelta (argparse type)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration such as 90d, 12h, 30m or 45s")
    return dt.timedelta(seconds=int(number) * units[unit])


def _iso_in(delta: Optional[dt.timedelta]) -> str:
    if delta is None:
        return ""
    return (dt.datetime.now(dt.timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _scope(p: argparse.ArgumentParser) -> None:
    """--org SLUG or --default: whose rule set a `rules` command concerns."""
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--org")
    g.add_argument("--default", action="store_true", help="the default set (organizations without their own)")


# `serve` options passed to the native server as limits (flag, default, help); see docs/operations.md.
SERVER_LIMITS = [
    ("--max-connections", 10000, "open connections; beyond it the longest-idle one is closed"),
    ("--max-header-bytes", 16 << 10, "request line and header fields together; more is 431"),
    ("--max-headers", 100, "header fields per request; more is 431"),
    ("--max-uri-bytes", 8 << 10, "request target length; longer is 414"),
    ("--keep-alive-seconds", 10, "idle keep-alive connections are closed after this"),
    ("--request-timeout-ms", 10000, "a request's head and body must arrive within this, or 408"),
    ("--write-timeout-ms", 30000, "a client must take an answer within this, or it is cut off"),
    ("--max-json-depth", 64, "nesting of JSON request bodies; deeper is 400 invalidSyntax"),
    ("--max-patch-operations", 1000, "operations in one PATCH request; more is 400 invalidValue"),
    ("--max-bulk-operations", 1000, "operations in one /Bulk request; more is 413"),
]


def _org_show(store, slug: str) -> None:
    found = store.find_org(slug)
    if found is None:
        raise ScimError(404, "", f"no organization '{slug}'")
    print(f"organization {slug}: {found[2]}")
    settings = store.settings(slug)
    declared = {key: (default, "built in") for key, _, default, _ in store.builtin_settings()}
    for d in json.loads(store.declared_settings_json(slug)):
        declared[d["key"]] = (d["default"], "declared by the rules")
    print("settings:")
    for key in sorted(set(settings) | set(declared)):
        default, by = declared.get(key, (None, "not declared by the rules"))
        if key in settings:
            print(f"  {key}={settings[key]}  (set; {by})")
        elif default is not None:
            print(f"  {key}={default}  (default; {by})")
        else:
            print(f"  {key}  (not set, no default; {by})")
    _print_active(store, slug)


def _serve(args: argparse.Namespace) -> int:
    if args.threads < 1:
        raise SystemExit("error: --threads must be at least 1")
    # A plain flag: a signal handler must not take locks (Event.set() can deadlock against wait()).
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stopping.append(signum))
    if args.rules is None:
        args.rules = "rules" if Path("rules").is_dir() else None
    try:
        folder = load_rules(args.rules) if args.rules else None
    except RuleLoadError as e:
        print(f"error: cannot start: {e}", file=sys.stderr)
        return 2
    # One connection per request thread, plus room for the background thread and API calls.
    store = open_store(args.db, pool_size=args.threads + 4)
    warning = ""
    if folder is not None:
        what = f"serve --rules {args.rules}"
        if args.publish_rules:
            rule_sets.apply(store, folder, None, what + " --publish-rules")
        elif (stored := rule_sets.adopt(store, folder, what)) is not None:
            warning = (f"rules: warning: {args.rules} (version {folder.version}) differs from the default rule set "
                       f"stored in the database (version {stored or 'none'}); this server decides with the stored "
                       f"one, like every other. To make the folder the default: scimitar rules apply --default "
                       f"--rules {args.rules} (or serve --publish-rules, or SIGHUP this server)")
    engine = Engine(args.rule_budget_ms)
    engine.sync(store)
    for key, why in engine.unloadable():
        if key == "":
            print(f"error: cannot start: the default rule set stored in the database does not load here: {why}",
                  file=sys.stderr)
            return 2
        print(f"rules: warning: the rule set of '{key}' does not load here; its decisions keep their previous "
              f"outcome and its writes that need a transform get 503: {why}", file=sys.stderr, flush=True)
    store.set_rules(engine)
    limits = {flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_")) for flag, _, _ in SERVER_LIMITS}
    log_format = args.log_format
    if log_format == "auto":
        log_format = "text" if not args.log_file and sys.stderr.isatty() else "json"
    try:
        server = RunningServer(store, args.host, args.port, args.threads, args.max_body_bytes, limits=limits,
                               log_format=log_format, log_path=args.log_file)
    except RuntimeError as e:
        print(f"error: cannot start: {e}", file=sys.stderr)
        return 2
    print(f"http://{args.host}:{server.port}/scim/v2", flush=True)
    background = Background(store, engine, args.rules, on_message=lambda m: print(m, flush=True))
    signal.signal(signal.SIGHUP, lambda *_: setattr(background, "reload_requested", True))
    reopen: list[int] = []  # a flag, as for SIGTERM: the handler takes no lock
    signal.signal(signal.SIGUSR1, lambda *_: reopen.append(1))
    try:
        if not store.list_orgs():
            store.create_org(BOOTSTRAP_ORG, "Default organization")
            store.create_member(BOOTSTRAP_ORG, BOOTSTRAP_OWNER, "owner")
            _, token = store.create_token(BOOTSTRAP_ORG, BOOTSTRAP_OWNER, "created on first start")
            print(f"first start: created organization '{BOOTSTRAP_ORG}' owned by {BOOTSTRAP_OWNER}", flush=True)
            print(f"tenant URL: http://{args.host}:{server.port}/o/{BOOTSTRAP_ORG}/scim/v2", flush=True)
            print("SCIM token (shown once, store it now):", flush=True)
            print(token, flush=True)
        if warning:
            print(warning, flush=True)
        rule_set = engine.default
        print(f"rules: default rule set version {engine.version_for('') or 'none'} "
              f"({len(rule_set.decide_rules)} decide, {len(rule_set.group_rules)} group_name, "
              f"{sum(map(len, rule_set.transforms.values()))} transform, "
              f"{sum(map(len, rule_set.handlers.values()))} event rules); "
              f"{len(json.loads(store.rule_sets_json()))} organizations have a rule set of their own", flush=True)
        background.start()
        while not stopping:
            time.sleep(0.2)
            if reopen:
                reopen.clear()
                server.reopen_log()
    finally:
        server.stop()
        background.stop()
        store.clear_rules()
    print("scimitar stopped", file=sys.stderr, flush=True)
    return 0


def _import(args: argparse.Namespace) -> int:
    from .api import Database
    from .importer import Progress, load_mapping, read_rows
    db = Database(args.db)
    org = db.org(args.org)
    if args.rules:  # an expectation: refused unless it is what decides the organization
        rule_sets.check_given(db.store, load_rules(args.rules), args.org, f"import --rules {args.rules}")
        db.sync_rule_sets()
    mapping = load_mapping(args.mapping) if args.mapping else None
    rows = read_rows(args.file, args.format)
    progress = Progress()
    try:
        if args.groups:
            report = org.import_groups(rows, key=args.key or "displayName", progress=progress, dry_run=args.dry_run,
                                       mapping=mapping, batch_size=args.batch_size,
                                       replace_members=args.replace_members)
        else:
            report = org.import_users(rows, key=args.key or "externalId", progress=progress, dry_run=args.dry_run,
                                      mapping=mapping, batch_size=args.batch_size)
    except KeyboardInterrupt:  # the batches in flight were committed whole before this is raised
        print("\nimport interrupted: every batch committed so far is stored whole; "
              "run the same command again to complete it", file=sys.stderr)
        return 130
    for line, reason in report.rejected:
        print(f"line {line}: rejected: {reason}")
    for line, reason in report.incomplete:
        print(f"line {line}: {reason}")
    print(report)
    db.close()
    return 0 if not report.rejected and not report.incomplete else 3


def _export(args: argparse.Namespace) -> int:
    import csv
    from .api import Database
    from .exporter import csv_columns, flatten
    org = Database(args.db).org(args.org)
    if args.format == "jsonl":
        for u in org.export_users(args.filter):
            sys.stdout.write(json.dumps(u, ensure_ascii=False, sort_keys=True) + "\n")
        return 0
    # Two passes: the columns are those the users' attributes need (see exporter.py).
    columns = csv_columns(flatten(u) for u in org.export_users(args.filter))
    writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
    writer.writeheader()
    for u in org.export_users(args.filter):
        cells = flatten(u)
        if not cells.keys() <= set(columns):
            print(f"\nerror: {u.get('userName')} gained attributes while the export ran (columns "
                  f"{sorted(cells.keys() - set(columns))}); the output is incomplete, run the export again",
                  file=sys.stderr)
            return 1
        writer.writerow(cells)
    return 0


def _outcome(d: dict | None) -> dict | None:
    if not d or not d.get("provisioned"):
        return None
    return {"role": d.get("role"), "units": sorted(d.get("units") or []), "groups": sorted(d.get("groups") or [])}


def _diff_line(user: str, before: dict | None, after: dict | None) -> tuple[str, str]:
    if before is None and after is not None:
        return "provisioned", (f"+ {user}: provisioned role={after['role']} units={after['units']} "
                               f"groups={after['groups']}")
    if before is not None and after is None:
        return "deprovisioned", f"- {user}: deprovisioned (was role={before['role']})"
    parts = []
    if before["role"] != after["role"]:
        parts.append(f"role {before['role']} -> {after['role']}")
    for key in ("units", "groups"):
        added = sorted(set(after[key]) - set(before[key]))
        removed = sorted(set(before[key]) - set(after[key]))
        if added or removed:
            parts.append(f"{key} " + " ".join([f"+{x}" for x in added] + [f"-{x}" for x in removed]))
    return "changed", f"~ {user}: " + "; ".join(parts)


def dry_run(store, org: str, candidate: RuleSet) -> dict:
    """Evaluates `candidate` for every stored user of `org` and compares it with the active decisions.
    Deterministic: one clock for all users; users in userName order. Changes nothing."""
    inputs = json.loads(store.decision_inputs_json(org))
    current = {d["user_id"]: d for d in json.loads(store.decisions_json(org, False))}
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    counts = {"users": len(inputs), "provisioned": 0, "deprovisioned": 0, "changed": 0, "unchanged": 0, "errors": 0}
    lines = []
    for p in sorted(inputs, key=lambda p: p["user"]["doc"].get("userName", "").lower()):
        u = p["user"]
        user_name = u["doc"].get("userName", u["id"])
        result = candidate.decide(User(u["doc"], u["groups"], u["id"]), candidate.context(org, p["settings"], now))
        if result.get("error"):
            counts["errors"] += 1
            lines.append({"userName": user_name, "kind": "error", "line": f"! {user_name}: {result['error']}"})
            continue
        stored = current.get(u["id"])
        stored_detail = {**stored["detail"], "provisioned": stored["provisioned"]} if stored else None
        if store.event_for(json.dumps(stored_detail), json.dumps(result)) is None:  # the core's comparison
            counts["unchanged"] += 1
            continue
        before = _outcome(stored_detail)
        after = _outcome(result)
        kind, line = _diff_line(user_name, before, after)
        counts[kind] += 1
        lines.append({"userName": user_name, "kind": kind, "before": before, "after": after, "line": line})
    return {"org": org, "candidate": candidate.version, "source": candidate.source, "counts": counts, "users": lines}


def _print_explain(d: dict) -> None:
    detail = d["detail"]
    state = "provisioned" if d["provisioned"] else "not provisioned"
    print(f"{d['userName']}: {state} (rule set {detail.get('version', '?')}, settings revision "
          f"{detail.get('settings_revision', '?')}, decided {detail.get('decided', d['updated'])})")
    if d.get("error"):
        print(f"  last evaluation FAILED, previous decision kept: {d['error']}")
    sources = detail.get("sources", {})
    for field, key in (("provision", "provisioned"), ("role", "role"), ("units", "units"), ("groups", "groups")):
        if key in detail or key == "provisioned":
            value = d["provisioned"] if key == "provisioned" else detail.get(key)
            print(f"  {field:10} {json.dumps(value):40} <- {sources.get(field, '-')}")
    if detail.get("reason"):
        print(f"  reason     {detail['reason']}")
    rules_trace = detail.get("rules", [])
    if rules_trace:
        print("  rules, in order:")
        for r in rules_trace:
            verdict = f"matched, set {', '.join(r.get('set') or []) or 'nothing new'}" if r.get("matched") else "did not match"
            print(f"    {r['rule']}: {verdict}")
    inputs = detail.get("inputs", {})
    if inputs:
        print("  inputs that mattered:")
        for k, v in inputs.items():
            print(f"    {k} = {json.dumps(v)}")


def _print_active(store, slug: str) -> None:
    now = rule_sets.active(store, slug)
    if now["scope"] == "none":
        print("rule set: none stored; settings alone decide (a server started with --rules stores its folder)")
        return
    whose = "applied to this organization" if now["scope"] == "organization" else "the default set"
    print(f"rule set: version {now['version']}, {whose}, applied {now['applied']} ({len(now['files'])} files; "
          f"{now['origin']})")


def _rules(store, args: argparse.Namespace) -> int:
    slug = None if getattr(args, "default", False) else args.org
    if args.action == "show":
        _print_active(store, args.org)
        return 0
    if args.action == "history":
        entries = json.loads(store.rule_set_history_json(slug))
        if args.json:
            print(json.dumps(entries, indent=2))
            return 0
        now = rule_sets.stored_default_version(store) if slug is None else rule_sets.active(store, slug)["version"]
        for i, e in enumerate(entries):
            mark = "*" if i == 0 and e["version"] == now else " "
            print(f"{mark} {e['version'] or '(cleared)':16}  {e['applied']}  {e['origin']}")
        if not entries:
            print("no rule set was ever applied" + ("" if slug is None else f" to '{slug}'"))
        return 0
    scope = "the default set" if slug is None else f"'{slug}'"
    if args.action == "revert":
        rule_set = rule_sets.revert(store, slug, args.version)
        print(f"reverted {scope} to version {rule_set.version}; running servers recompute")
        return 0
    if args.action == "clear":
        then = "settings alone decide" if slug is None else "the default set decides it"
        if store.clear_rule_set(slug):
            print(f"{scope} has no rule set now: {then}; running servers recompute")
        else:
            print(f"{scope} had no rule set")
        return 0
    candidate = load_rules(args.candidate)
    if args.action == "dry-run":
        report = dry_run(store, args.org, candidate)
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            c = report["counts"]
            print(f"dry run of {args.candidate} (version {candidate.version}) on {c['users']} users of '{args.org}'")
            print(f"provisioned: {c['provisioned']}  deprovisioned: {c['deprovisioned']}  changed: {c['changed']}  "
                  f"unchanged: {c['unchanged']}  errors: {c['errors']}")
            for line in report["users"]:
                print(line["line"])
        return 0
    what = f"rules apply {'--default' if slug is None else '--org ' + slug} --rules {args.candidate}"
    if rule_sets.apply(store, candidate, slug, what):
        print(f"applied {args.candidate} (version {candidate.version}) to {scope}; running servers recompute")
    else:
        print(f"{args.candidate} (version {candidate.version}) is already the active set of {scope}")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args)
    if args.command == "rules" and args.action == "check":
        rs = load_rules(args.folder)
        print(f"{args.folder}: version {rs.version}, {len(rs.decide_rules)} decide rules: "
              + ", ".join(r.name for r in rs.decide_rules))
        return 0
    if args.command == "import":
        return _import(args)
    if args.command == "app-groups":
        from .api import Database
        groups = Database(args.db, rules=None).org(args.org).app_groups()
        if args.json:
            print(json.dumps(groups, indent=2))
        else:
            for name, users in groups.items():
                print(f"{name}\t{len(users)} members\t{', '.join(users)}")
        return 0
    if args.command == "export":
        return _export(args)
    store = open_store(args.db)
    if args.command == "members":
        decisions = json.loads(store.decisions_json(args.org, not args.all))
        if args.json:
            print(json.dumps([{"userName": d["userName"], "provisioned": d["provisioned"],
                               "role": d["detail"].get("role"), "units": d["detail"].get("units", []),
                               "groups": d["detail"].get("groups", []), "error": d["error"]} for d in decisions], indent=2))
        else:
            for d in decisions:
                det = d["detail"]
                state = "" if d["provisioned"] else "\tnot provisioned"
                print(f"{d['userName']}\t{det.get('role') or '-'}\tunits={','.join(det.get('units') or [])}"
                      f"\tgroups={','.join(det.get('groups') or [])}{state}")
        return 0
    if args.command == "explain":
        found = store.decision_json(args.org, args.user_name)
        if found is None:
            print(f"error: no decision for '{args.user_name}' in '{args.org}' (unknown user, or no rules ran yet)",
                  file=sys.stderr)
            return 1
        d = json.loads(found)
        if args.json:
            print(json.dumps(d, indent=2))
        else:
            _print_explain(d)
        return 0
    if args.command == "rules":
        return _rules(store, args)
    if args.command == "org":
        if args.action == "create":
            org_id, slug, name = store.create_org(args.slug, args.name or args.slug)
            print(f"created organization '{slug}'")
        elif args.action == "set":
            pairs = []
            for item in args.settings:
                key, sep, value = item.partition("=")
                if not sep or not key:
                    raise SystemExit(f"error: '{item}' is not KEY=VALUE")
                pairs.append((key, value))
            for key, value in pairs:  # all checked before any is stored
                store.validate_setting(args.slug, key, value)
            for key, value in pairs:
                changed = store.set_setting(args.slug, key, value)
                print(f"{args.slug}: {key}={store.settings(args.slug)[key]}" + ("" if changed else " (unchanged)"))
        elif args.action == "unset":
            for key in args.keys:
                removed = store.unset_setting(args.slug, key)
                print(f"{args.slug}: {key} " + ("removed; its default applies" if removed else "was not set"))
        elif args.action == "show":
            _org_show(store, args.slug)
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
    elif args.command == "schema":
        if args.action == "add":
            doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
            store.declare_schema(args.org, args.resource_type, json.dumps(doc))
            print(f"declared {doc.get('id')} on {args.resource_type} in '{args.org}'; running servers pick it up")
        elif args.action == "list":
            declared = json.loads(store.schema_extensions_json(args.org))
            if args.json:
                print(json.dumps(declared, indent=2))
            for e in [] if args.json else declared:
                names = ", ".join(a.get("name", "?") for a in e["schema"].get("attributes", []))
                print(f"{e['schema'].get('id')}	{e['resourceType']}	{names}")
        else:
            store.remove_schema(args.org, args.urn)
            print(f"removed {args.urn} from '{args.org}'")
    elif args.command == "token":
        if args.action == "create":
            token_id, token = store.create_token(args.org, args.owner, args.description, _iso_in(args.expires_in))
            until = f", expires {_iso_in(args.expires_in)}" if args.expires_in else ""
            print(f"created token {token_id} for {args.owner} in '{args.org}'{until} (shown once):")
            print(token)
        elif args.action == "rotate":
            old = next((t for t in store.list_tokens(args.org) if t.id == args.token_id and not t.revoked), None)
            if old is None:
                raise ScimError(404, "", f"no active token '{args.token_id}' in '{args.org}'")
            token_id, token = store.create_token(args.org, old.owner, f"rotated from {old.id}: {old.description}",
                                                 _iso_in(args.expires_in))
            store.expire_token(args.org, old.id, _iso_in(args.grace))
            print(f"rotated token {old.id}: it stops working at {_iso_in(args.grace)}; new token {token_id} "
                  f"(shown once):")
            print(token)
        elif args.action == "list":
            now = _iso_in(dt.timedelta(0))
            for t in store.list_tokens(args.org):
                state = "revoked" if t.revoked else "expired" if t.expires and t.expires <= now else "active"
                print(f"{t.id}\t{t.owner}\t{state}\tcreated {t.created}\texpires {t.expires or 'never'}\t"
                      f"last used {t.last_used or 'never'}\t{t.description}")
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
    except (RuntimeError, RuleLoadError, LookupError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

"""The Python API for data teams and migration scripts. Same core as the HTTP server: filters,
validation, storage and rules are the native ones; nothing is implemented twice.

    import scimitar
    db = scimitar.open("sqlite:///scim.db")
    org = db.org("acme")
    for u in org.users(filter='userName sw "a"'):
        print(u["userName"])
    report = org.import_users(rows, key="externalId")

Long calls release the GIL. Errors are scimitar.ScimError (with .status and .scim_type) or
LookupError for unknown organizations.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, Optional

from . import _json
from ._core import Store
from .engine import Engine
from . import rule_sets
from .rules import RuleSet, load_rules

__all__ = ["Database", "Org", "Member", "ImportReport", "open"]


@dataclasses.dataclass(frozen=True)
class Member:
    """A user as the application sees it: the outcome of the rules."""
    user_name: str
    provisioned: bool
    role: Optional[str]
    units: list[str]
    groups: list[str]
    error: Optional[str]


@dataclasses.dataclass
class ImportReport:
    """What an import did, row by row. `rejected` holds (line, reason) for every refused row."""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    decisions_changed: int = 0
    dry_run: bool = False
    rules: str = ""  # which rule set decided: its version, and whether the organization applied it
    members_removed: int = 0  # group imports with replace_members: members the listed ones replaced
    replace_members: bool = False
    memberships_added: int = 0  # user rows naming their groups: users added to groups
    groups_created: int = 0  # ... and the managed groups created for them
    # (line, reason) for rows imported without part of what they named (a manager not in the organization)
    incomplete: list[tuple[int, str]] = dataclasses.field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.rejected)

    def __str__(self) -> str:
        head = "dry run: would have " if self.dry_run else ""
        text = (f"{head}{self.total} rows: {self.created} created, {self.updated} updated, "
                f"{self.unchanged} unchanged, {len(self.rejected)} rejected")
        if self.replace_members:
            text += f"; {self.members_removed} group members {'would be ' if self.dry_run else ''}removed"
        if self.memberships_added or self.groups_created:
            text += f"; {self.memberships_added} group memberships added ({self.groups_created} groups created)"
        if self.incomplete:
            text += f"; {len(self.incomplete)} imported incompletely"
        if not self.dry_run:
            text += f"; {self.decisions_changed} decisions changed"
        if self.total and self.unchanged == self.total:
            text += " (nothing to do: already imported)"
        if self.rules:
            text += f"; decided by {self.rules}"
        return text


class _KeysSeen:
    """The import keys of a file's rows so far, to report a key a later row repeats (it would
    silently overwrite the earlier row). Keeps a 64-bit hash per row, not the keys."""

    def __init__(self, key: str) -> None:
        self.key, self.fold = key, key in ("userName", "displayName")
        self.hashes: set[int] = set()

    def repeats(self, resource: dict) -> Optional[str]:
        value = resource.get(self.key) if isinstance(resource, dict) else None
        if not isinstance(value, str) or not value:
            return None  # the core rejects the row, naming the missing key
        h = hash(value.lower() if self.fold else value)
        if h in self.hashes:
            return f"{self.key} '{value}' repeats an earlier row of this file"
        self.hashes.add(h)
        return None


class Database:
    """An open database (SQLite file or PostgreSQL). Thread-safe. Decisions follow the rule sets stored
    in the database (see `apply_rules`); `rules`, when given, must be the stored default set, and
    becomes it when the database has none (RulesMismatch otherwise: a process never decides with
    rules that differ from what every other process uses)."""

    def __init__(self, url: Optional[str] = None, pool_size: int = 8, rules: Optional[str | RuleSet] = None) -> None:
        from . import open_store
        self.store: Store = open_store(url, pool_size)
        self.engine = Engine()
        if rules is not None:
            self.use_default(rules, "scimitar.open(rules=...)")
        self.sync_rule_sets()
        self.store.set_rules(self.engine)  # writes made through this object run the rules too

    def use_default(self, rules: str | RuleSet, what: str) -> None:
        """Checks that `rules` (a folder or a RuleSet) is the stored default set, storing it if the
        database has none; raises RulesMismatch naming both versions if another is stored."""
        rule_set = rules if isinstance(rules, RuleSet) else load_rules(rules)
        stored = rule_sets.adopt(self.store, rule_set, what)
        if stored is not None:
            raise rule_sets.RulesMismatch(
                f"the default rule set stored in the database is version {stored or 'none'}, not {rule_set.source} "
                f"(version {rule_set.version}); to make it the default: db.apply_rules({rule_set.source!r}) "
                f"or scimitar rules apply --default --rules {rule_set.source}")

    def apply_rules(self, rules: str | RuleSet, org: Optional[str] = None) -> bool:
        """Makes `rules` (a folder or a RuleSet) the set of organization `org`, or the default set
        (org None), for every process; running servers recompute the decisions it changes. False when
        it already was the active set."""
        rule_set = rules if isinstance(rules, RuleSet) else load_rules(rules)
        changed = rule_sets.apply(self.store, rule_set, org, f"Database.apply_rules({rule_set.source!r})")
        self.sync_rule_sets()
        return changed

    def sync_rule_sets(self) -> None:
        """Installs the rule sets stored since the last call (by `rules apply` in another process, say)."""
        self.engine.sync(self.store)

    def recompute_if_stale(self, slug: str) -> int:
        """Recomputes `slug` when its decisions were made with another rule set or settings revision than
        decide it now (a server does this on its own; an import without a server running does it first,
        so that rows it leaves unchanged are not left with stale decisions). Returns the decisions changed."""
        for stale, revision, version, _ in self.store.stale_decisions():
            if stale == slug and self.engine.version_for(slug) == version:
                changed = self.store.recompute_all(slug)
                self.store.mark_recomputed(slug, revision, version)
                return changed
        return 0

    def rules_for(self, slug: str) -> str:
        """Which rule set decides `slug`, in words."""
        now = rule_sets.active(self.store, slug)
        if now["scope"] == "none":
            return "no rules (none stored): settings alone"
        whose = f"applied to '{slug}'" if now["scope"] == "organization" else "the default set"
        return f"rule set {now['version']} ({whose})"

    def org(self, slug: str) -> "Org":
        found = self.store.find_org(slug)
        if found is None:
            raise LookupError(f"no organization '{slug}'")
        return Org(self, found[1], found[2])

    def create_org(self, slug: str, name: Optional[str] = None) -> "Org":
        _, slug, name = self.store.create_org(slug, name or slug)
        return Org(self, slug, name)

    def orgs(self) -> list["Org"]:
        return [Org(self, slug, name) for _, slug, name in self.store.list_orgs()]

    def close(self) -> None:
        self.store.clear_rules()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(url: Optional[str] = None, pool_size: int = 8, rules: Optional[str] = None) -> Database:  # noqa: A001
    """Opens (creating or migrating) the database at `url` (default $SCIMITAR_DB, else sqlite:///scimitar.db)."""
    return Database(url, pool_size, rules)


class Org:
    """One organization of a Database."""

    def __init__(self, db: Database, slug: str, name: str) -> None:
        self.db, self.slug, self.name = db, slug, name

    def __repr__(self) -> str:
        return f"<Org {self.slug}>"

    # -- settings ---------------------------------------------------------------------------------
    @property
    def settings(self) -> dict[str, str]:
        return dict(self.db.store.settings(self.slug))

    def set(self, **settings: str) -> None:
        """Sets settings, each validated first (ScimError 400 naming what a setting accepts). A running
        server recomputes the organization's decisions when one that decisions read changes."""
        for k, v in settings.items():
            self.db.store.validate_setting(self.slug, k, str(v))
        for k, v in settings.items():
            self.db.store.set_setting(self.slug, k, str(v))

    def unset(self, *keys: str) -> None:
        """Removes settings; their defaults apply again."""
        for k in keys:
            self.db.store.unset_setting(self.slug, k)

    # -- schema extensions ------------------------------------------------------------------------
    def declare_schema(self, schema: dict, resource_type: str = "User") -> None:
        """Declares (or redeclares) a schema extension of "User" or "Group": a SCIM schema document
        ({"id": "urn:...", "name": ..., "attributes": [{"name": "role", "type": "string"}, ...]}).
        It is then advertised in /Schemas, validated on writes and filterable. Raises ScimError (400)
        naming what is wrong."""
        self.db.store.declare_schema(self.slug, resource_type, json.dumps(schema))

    def schemas(self) -> list[dict]:
        """The declared extensions: [{"resourceType": "User", "schema": {...}}], in declaration order."""
        return json.loads(self.db.store.schema_extensions_json(self.slug))

    def remove_schema(self, urn: str) -> None:
        """Removes a declared extension; values already stored stay (returned, no longer validated)."""
        self.db.store.remove_schema(self.slug, urn)

    # -- reading ----------------------------------------------------------------------------------
    def _pages(self, kind: str, filter: Optional[str], sort_by: Optional[str] = None, descending: bool = False,
               page_size: int = 500, attributes: Optional[str] = None) -> Iterator[list[dict]]:
        start = 1
        while True:
            page = json.loads(self.db.store.list_json(self.slug, kind, filter or "", sort_by or "",
                                                      "descending" if descending else "", start, page_size,
                                                      attributes or "", ""))
            if page["Resources"]:
                yield page["Resources"]
            start += len(page["Resources"])
            if not page["Resources"] or start > page["totalResults"]:
                return

    def _list(self, kind: str, filter: Optional[str], sort_by: Optional[str], descending: bool, page_size: int,
              attributes: Optional[str]) -> Iterator[dict]:
        for page in self._pages(kind, filter, sort_by, descending, page_size, attributes):
            yield from page

    def users(self, filter: Optional[str] = None, sort_by: Optional[str] = None, descending: bool = False,
              page_size: int = 500, attributes: Optional[str] = None) -> Iterator[dict]:
        """SCIM User resources, paged lazily; `filter` is the SCIM filter grammar, pushed down to SQL."""
        return self._list("User", filter, sort_by, descending, page_size, attributes)

    def groups(self, filter: Optional[str] = None, sort_by: Optional[str] = None, descending: bool = False,
               page_size: int = 500, attributes: Optional[str] = None) -> Iterator[dict]:
        return self._list("Group", filter, sort_by, descending, page_size, attributes)

    def members(self, include_unprovisioned: bool = False) -> list[Member]:
        """Provisioned members with role, units and app groups (the rules' decisions)."""
        out = []
        for d in json.loads(self.db.store.decisions_json(self.slug, not include_unprovisioned)):
            det = d["detail"]
            out.append(Member(d["userName"], d["provisioned"], det.get("role"), det.get("units") or [],
                              det.get("groups") or [], d["error"]))
        return out

    def app_groups(self) -> dict[str, list[str]]:
        """App group name -> userNames of its provisioned members. App groups are named by the
        group_name rules and their membership follows the IdP groups (recomputed with every change)."""
        groups: dict[str, list[str]] = {}
        for m in self.members():
            for g in m.groups:
                groups.setdefault(g, []).append(m.user_name)
        return dict(sorted(groups.items()))

    def explain(self, user_name: str) -> dict:
        """The stored decision for `user_name` with its provenance (see docs/rules.md)."""
        found = self.db.store.decision_json(self.slug, user_name)
        if found is None:
            raise LookupError(f"no decision for '{user_name}' in '{self.slug}'")
        return json.loads(found)

    # -- importing --------------------------------------------------------------------------------
    def import_users(self, rows: Iterable[dict] | Iterable[tuple[int, dict]], key: str = "externalId",
                     progress: bool | Callable[[int], None] = False, dry_run: bool = False,
                     mapping: Optional[Callable[[dict], dict]] = None, batch_size: int = 500) -> ImportReport:
        """Imports users. `rows` are flat dicts (CSV-style headers: "userName", "name.givenName",
        "emails[work].value", extension attributes by URN) or SCIM dicts, optionally as (line, row)
        pairs; `mapping` turns a row into a SCIM User. Rows go through the same transform and decide
        rules as SCIM writes. Streams: memory stays flat whatever the input size."""
        return self._import("User", rows, key, progress, dry_run, mapping, batch_size)

    def import_groups(self, rows: Iterable[dict] | Iterable[tuple[int, dict]], key: str = "displayName",
                      progress: bool | Callable[[int], None] = False, dry_run: bool = False,
                      mapping: Optional[Callable[[dict], dict]] = None, batch_size: int = 500,
                      replace_members: bool = False) -> ImportReport:
        """Imports groups. A row's members are added to those the group has (members the IdP pushed
        stay); with replace_members the listed members become the whole membership, and the report
        counts the members that removed."""
        return self._import("Group", rows, key, progress, dry_run, mapping, batch_size, replace_members)

    def _import(self, kind, rows, key, progress, dry_run, mapping, batch_size, replace_members=False) -> ImportReport:
        from .importer import resource_from_row, Progress
        self.db.sync_rule_sets()
        if not dry_run:
            self.db.recompute_if_stale(self.slug)
        report = ImportReport(dry_run=dry_run, rules=self.db.rules_for(self.slug), replace_members=replace_members)
        events_before = self.db.store.event_count(self.slug)
        tick = progress if callable(progress) else (Progress() if progress else None)
        store = self.db.store
        batch: list[dict] = []
        # Three stages work on consecutive batches at once: this thread reads and maps rows, `preparer`
        # validates a batch and decides its new users (import_prepare), `writer` commits the batches in
        # order, each in its own transaction (import_commit). At most three batches are in flight.
        in_flight: collections.deque[Future] = collections.deque()
        failed = threading.Event()  # after a failed batch, later ones are not committed
        managers_later: list[dict] = []  # managers not stored yet when their reports' batch was
        # A key repeated in a file would overwrite the earlier row; group files that add members row
        # by row repeat their groups on purpose (merged), unless each row replaces the membership.
        seen = _KeysSeen(key) if kind == "User" or replace_members else None

        def commit(prepared: Future) -> Optional[tuple]:
            if failed.is_set():
                return None
            try:
                return store.import_commit(self.slug, prepared.result())
            except BaseException:
                failed.set()
                raise

        def collect() -> None:
            # (created, updated, unchanged, [(line, reason)], members removed, memberships added,
            #  groups created, managers left for later)
            answer = in_flight.popleft().result()
            if answer is not None:
                report.created += answer[0]
                report.updated += answer[1]
                report.unchanged += answer[2]
                report.rejected.extend(answer[3])
                report.members_removed += answer[4]
                report.memberships_added += answer[5]
                report.groups_created += answer[6]
                managers_later.extend(json.loads(answer[7]))
            if tick:
                tick(report.total)

        def flush() -> None:
            if not batch:
                return
            text = _json.dumps(batch)
            batch.clear()
            self.db.sync_rule_sets()  # a set applied meanwhile decides the next batches
            in_flight.append(writer.submit(commit, preparer.submit(store.import_prepare, self.slug, kind, text,
                                                                   key, dry_run, replace_members)))
            while len(in_flight) > 2:
                collect()

        # Leaving the block (also on Ctrl-C) waits for the batches in flight: only whole batches are stored.
        with ThreadPoolExecutor(1, "scimitar-prepare") as preparer, ThreadPoolExecutor(1, "scimitar-commit") as writer:
            for index, item in enumerate(rows, start=1):
                line, row = item if isinstance(item, tuple) else (index, item)
                if isinstance(row, dict) and "__invalid__" in row:
                    report.rejected.append((line, row["__invalid__"]))
                    continue
                try:
                    resource = mapping(row) if mapping else resource_from_row(row)
                except Exception as e:  # noqa: BLE001 - a bad row is reported, never dropped silently
                    why = str(e) if not mapping and isinstance(e, ValueError) else f"mapping failed: {type(e).__name__}: {e}"
                    report.rejected.append((line, why))
                    continue
                repeated = seen.repeats(resource) if seen else None
                if repeated:
                    report.rejected.append((line, repeated))
                    continue
                batch.append({"line": line, "resource": resource})
                if len(batch) >= batch_size:
                    flush()
            flush()
            while in_flight:
                collect()
        if managers_later:  # every row is stored now: the managers named by userName can be found
            report.incomplete.extend(store.import_resolve_managers(self.slug, key, json.dumps(managers_later)))
        if isinstance(tick, Progress):
            tick.done(report)
        report.decisions_changed = self.db.store.event_count(self.slug) - events_before
        return report

    def export_users(self, filter: Optional[str] = None, portable: bool = True) -> Iterator[dict]:
        """Every user, streamed. Portable (the default): as an import reads it back into any
        organization, without id and meta, with groups and manager named (see exporter.py); else the
        SCIM resources as the server returns them."""
        if not portable:
            return self.users(filter=filter, page_size=1000)
        from .exporter import ManagerNames, portable_users
        managers = ManagerNames(lambda ids: self.db.store.user_names(self.slug, ids))
        return portable_users(self._pages("User", filter, page_size=1000), managers)


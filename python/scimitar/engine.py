"""The rules engine a running server installs into the native core.

The core calls :meth:`Engine.decide_many_json` and :meth:`Engine.transform_json` from its request threads
(holding the GIL only for the call). The engine runs the rule set stored in the database for the
organization (its own, else the default set; see rule_sets.py) under a time budget enforced by a
watchdog thread. Rule sets are swapped atomically; a set that fails to load never replaces the
working one.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import json
import logging
import threading
import time
from typing import Callable, Iterator, Optional

from . import _json
from .rules import RuleLoadError, RuleSet, RuleTimeout, User, load_rules, load_sources

log = logging.getLogger("scimitar.engine")


class Watchdog:
    """Interrupts a thread running Python past its deadline by raising RuleTimeout in it. A rule
    stuck inside a blocking C call is interrupted when that call returns. One thread for all calls;
    it ticks every TICK seconds, so registering a call costs a dict write and never wakes a thread
    (deadlines are enforced to within a tick)."""

    TICK = 0.01

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, float] = {}
        self._thread: Optional[threading.Thread] = None

    def start(self, seconds: float) -> None:
        """Arms the deadline of the calling thread; every start() needs a stop() on the same thread."""
        tid = threading.get_ident()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="scimitar-rule-watchdog", daemon=True)
                self._thread.start()
            self._deadlines[tid] = time.monotonic() + seconds

    def stop(self) -> None:
        tid = threading.get_ident()
        with self._lock:
            fired = self._deadlines.pop(tid, None) is None
        if fired:  # the timeout may still be pending if the rule finished just in time
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), None)

    @contextlib.contextmanager
    def limit(self, seconds: float) -> Iterator[None]:
        self.start(seconds)
        try:
            yield
        finally:
            self.stop()

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK)
            if not self._deadlines:
                continue
            now = time.monotonic()
            with self._lock:
                for tid, deadline in list(self._deadlines.items()):
                    if deadline <= now:
                        del self._deadlines[tid]
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(RuleTimeout))


def _parse_now(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class Engine:
    """Runs the rule sets stored in the database (see rule_sets.py) for the core. Thread-safe: rule
    sets are immutable and replaced by swapping references; sync() installs what the store holds."""

    def __init__(self, budget_ms: float = 100.0) -> None:
        self._none = load_sources([], "(no rules)")
        self._default = self._none
        self._per_org: dict[str, RuleSet] = {}
        self._versions: dict[str, str] = {}  # "" (the default) or slug -> stored version installed
        self._broken: set[str] = set()  # stored versions that failed to load here (logged once)
        self._budget = budget_ms / 1000.0
        self._watchdog = Watchdog()
        self._sync_lock = threading.Lock()

    # -- rule sets --------------------------------------------------------------------------------
    @property
    def default(self) -> RuleSet:
        return self._default

    def rule_set_for(self, org: str) -> RuleSet:
        return self._per_org.get(org, self._default)

    def version_for(self, org: str) -> str:
        """The stored version this process decides `org` with ("" for no rules)."""
        return self._versions.get(org, self._versions.get("", ""))

    def sync(self, store) -> None:
        """Installs the stored sets (default and per organization) whose version changed since the last
        call. A stored set that does not load in this process is logged, and the previous one kept."""
        with self._sync_lock:
            stored = store.active_rule_set_versions()
            if stored == self._versions:
                return
            per_org = {org: rs for org, rs in self._per_org.items() if org in stored}
            versions = {k: v for k, v in self._versions.items() if k in stored}
            default = self._default if "" in stored else self._none
            for key, version in stored.items():
                if versions.get(key) == version or version in self._broken:
                    continue
                files = store.rule_set_files_json(version)
                try:
                    loaded = load_sources(sorted(json.loads(files or "{}").items()),
                                          "default rule set" if key == "" else f"rule set of {key}")
                except RuleLoadError as e:
                    self._broken.add(version)
                    log.error("stored rule set %s (%s) does not load here; keeping the previous one: %s",
                              version, key or "default", e)
                    continue
                loaded.version = version
                versions[key] = version
                if key == "":
                    default = loaded
                else:
                    per_org[key] = loaded
            self._default, self._per_org, self._versions = default, per_org, versions

    # -- called by the core -----------------------------------------------------------------------
    def decide_many_json(self, payload: str) -> bytes | str:
        """Evaluations for {"org","settings","now","users": [{"id","doc","groups"}, ...]}: a JSON array,
        in order, of what RuleSet.evaluate returns (the core combines each into the decision). Each
        user has its own time budget, so one slow rule costs only its own decision."""
        p = _json.loads(payload)
        rule_set = self.rule_set_for(p["org"])
        ctx = rule_set.context(p["org"], p["settings"], _parse_now(p["now"]))  # shared: read-only
        out = []
        watchdog, budget = self._watchdog, self._budget
        for u in p["users"]:
            user = User(u["doc"], u["groups"], u["id"])
            try:
                watchdog.start(budget)
                try:
                    decision = rule_set.evaluate(user, ctx)
                finally:
                    watchdog.stop()
            except RuleTimeout:  # also when it arrives just after the rules returned: one answer per user
                decision = {"error": f"a rule ran past its time budget of {budget * 1000:.0f} ms",
                            "version": rule_set.version}
            out.append(decision)
        return _json.dumps(out)  # compact: the core stores each decision's text as it is

    def has_transforms(self, org: str, resource_type: str) -> bool:
        return bool(self.rule_set_for(org).transforms.get(resource_type))

    def transform_json(self, org: str, resource_type: str, resource: str, settings: str = "{}") -> bytes | str:
        rule_set = self.rule_set_for(org)
        if not rule_set.transforms.get(resource_type):
            return resource
        ctx = rule_set.context(org, _json.loads(settings), dt.datetime.now(dt.timezone.utc))
        try:
            with self._watchdog.limit(self._budget):
                return _json.dumps(rule_set.transform(resource_type, _json.loads(resource), ctx))
        except RuleTimeout:
            raise RuntimeError(f"a transform rule ran past its time budget of {self._budget * 1000:.0f} ms") from None

    # -- outbox delivery --------------------------------------------------------------------------
    def deliver(self, store, batch: int = 100, max_attempts: int = 10) -> int:
        """Delivers due outbox events to the @rules.on handlers (after commit, at least once).
        A handler failure is recorded on the event, which is retried with backoff."""
        events = json.loads(store.claim_events_json(batch, 60))
        delivered = []
        settings: dict[str, dict] = {}  # per organization, read once per batch
        for e in events:
            rule_set = self.rule_set_for(e["org"])
            handlers = rule_set.handlers.get(e["type"], []) + rule_set.handlers.get("*", [])
            if not handlers:
                delivered.append(e["id"])
                continue
            if e["org"] not in settings:
                settings[e["org"]] = dict(store.settings(e["org"]))
            ctx = rule_set.context(e["org"], settings[e["org"]], dt.datetime.now(dt.timezone.utc))
            event = {"id": e["id"], "type": e["type"], "org": e["org"], **e["payload"]}
            try:
                for h in handlers:
                    with self._watchdog.limit(max(self._budget, 5.0)):
                        h.fn(event, ctx)
            except BaseException as exc:  # noqa: BLE001 - recorded, retried
                store.mark_failed(e["id"], f"{type(exc).__name__}: {exc}", max_attempts)
                continue
            delivered.append(e["id"])
        store.mark_delivered(delivered)
        return len(events)


class Background:
    """The server's housekeeping thread: delivers outbox events, installs the stored rule sets and
    recomputes the organizations whose rule set or settings changed (from any process), and on
    request (SIGHUP) makes the server's --rules folder the stored default set."""

    def __init__(self, store, engine: Engine, rules_folder: Optional[str], interval: float = 0.5,
                 on_message: Callable[[str], None] = print) -> None:
        self.store, self.engine, self.folder, self.interval = store, engine, rules_folder, interval
        self.say = on_message
        self.reload_requested = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scimitar-background", daemon=True)

    def start(self) -> None:
        self.engine.sync(self.store)
        self._recompute_stale()
        self._thread.start()

    def stop(self) -> None:
        """Stops the thread if it was started; safe to call at any time."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _recompute_stale(self) -> None:
        """Recomputes each organization decided by another rule set or settings revision than its
        decisions were made with; each changed outcome gets its event. Several servers may do this at
        once: the second finds nothing changed."""
        stale = self.store.stale_decisions()
        if stale:
            self.engine.sync(self.store)
        for slug, revision, version, settings_changed in stale:
            if self.engine.version_for(slug) != version:
                continue  # the stored set does not load here (logged by sync): keep the decisions
            changed = self.store.recompute_all(slug)
            self.store.mark_recomputed(slug, revision, version)
            why = "settings changed" if settings_changed else f"now decided by rule set {version or 'none'}"
            self.say(f"rules: organization '{slug}' {why}; {changed} decisions changed")

    def _reload(self) -> None:
        from . import rule_sets
        if not self.folder:
            self.say("rules: reload requested, but this server has no --rules folder")
            return
        try:
            folder = load_rules(self.folder)
        except RuleLoadError as e:
            self.say(f"rules: reload failed, the stored rules stay: {e}")
            return
        if rule_sets.apply(self.store, folder, None, f"serve reload (SIGHUP) of {self.folder}"):
            self.say(f"rules: reloaded {self.folder}: it is now the default rule set, version {folder.version}")
        else:
            self.say(f"rules: reloaded {self.folder}, unchanged ({folder.version})")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self.reload_requested:
                    self.reload_requested = False
                    self._reload()
                self.engine.sync(self.store)
                self._recompute_stale()
                while self.engine.deliver(self.store) and not self._stop.is_set():
                    pass
            except Exception as e:  # noqa: BLE001 - housekeeping must go on
                log.exception("background task failed: %s", e)

"""The rules engine a running server installs into the native core.

The core calls :meth:`Engine.decide_many_json` and :meth:`Engine.transform_json` from its request threads
(holding the GIL only for the call). The engine picks the organization's applied rule set (stored in
the database by ``scimitar rules apply``) or the server's ``--rules`` folder, and runs rules under a
time budget enforced by a watchdog thread. Rule sets are swapped atomically; a set that fails to load
never replaces the working one.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import json
import logging
import threading
import time
from types import MappingProxyType
from typing import Callable, Iterator, Optional

from . import _json
from .rules import Context, RuleLoadError, RuleSet, RuleTimeout, User, load_rules, load_sources

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
    """Thread-safe: rule sets are immutable and replaced by swapping a reference."""

    def __init__(self, default: RuleSet, budget_ms: float = 100.0) -> None:
        self._default = default
        self._per_org: dict[str, RuleSet] = {}
        self._budget = budget_ms / 1000.0
        self._watchdog = Watchdog()

    # -- rule sets --------------------------------------------------------------------------------
    @property
    def default(self) -> RuleSet:
        return self._default

    def rule_set_for(self, org: str) -> RuleSet:
        return self._per_org.get(org, self._default)

    def has_applied(self, org: str) -> bool:
        """Whether `org` is decided by a rule set applied to it (not the default)."""
        return org in self._per_org

    def reload_default(self, folder: str) -> Optional[str]:
        """Loads `folder`; swaps it in if it loads. Returns the error (and keeps the old set) if not."""
        try:
            new = load_rules(folder)
        except RuleLoadError as e:
            return str(e)
        self._default = new
        return None

    def sync_applied(self, applied: dict[str, dict]) -> list[str]:
        """Installs the applied sets ({org: {"version", "files"}}) whose version changed. Returns the orgs
        whose set changed (their decisions need recomputing)."""
        changed = []
        per_org = dict(self._per_org)
        for org, entry in applied.items():
            current = per_org.get(org)
            if current is not None and current.version == entry["version"]:
                continue
            try:
                per_org[org] = load_sources(sorted(entry["files"].items()), f"applied:{org}")
                changed.append(org)
            except RuleLoadError as e:
                log.error("rule set applied to %s does not load; keeping the previous one: %s", org, e)
        self._per_org = per_org
        return changed

    # -- called by the core -----------------------------------------------------------------------
    def decide_many_json(self, payload: str) -> bytes | str:
        """Decisions for {"org","settings","now","users": [{"id","doc","groups"}, ...]}: a JSON array,
        in order, of what RuleSet.decide returns. Each user has its own time budget, so one slow rule
        costs only its own decision."""
        p = _json.loads(payload)
        rule_set = self.rule_set_for(p["org"])
        ctx = Context(p["org"], MappingProxyType(p["settings"]), _parse_now(p["now"]))  # shared: read-only
        out = []
        watchdog, budget = self._watchdog, self._budget
        for u in p["users"]:
            user = User(u["doc"], u["groups"], u["id"])
            try:
                watchdog.start(budget)
                try:
                    decision = rule_set.decide(user, ctx)
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
        ctx = Context(org, MappingProxyType(_json.loads(settings)), dt.datetime.now(dt.timezone.utc))
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
        settings: dict[str, MappingProxyType] = {}  # per organization, read once per batch
        for e in events:
            rule_set = self.rule_set_for(e["org"])
            handlers = rule_set.handlers.get(e["type"], []) + rule_set.handlers.get("*", [])
            if not handlers:
                delivered.append(e["id"])
                continue
            if e["org"] not in settings:
                settings[e["org"]] = MappingProxyType(dict(store.settings(e["org"])))
            ctx = Context(e["org"], settings[e["org"]], dt.datetime.now(dt.timezone.utc))
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
    """The server's housekeeping thread: delivers outbox events, picks up applied rule sets (and
    recomputes the decisions of their organizations), reloads the --rules folder on request."""

    def __init__(self, store, engine: Engine, rules_folder: str, interval: float = 0.5,
                 on_message: Callable[[str], None] = print) -> None:
        self.store, self.engine, self.folder, self.interval = store, engine, rules_folder, interval
        self.say = on_message
        self.reload_requested = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scimitar-background", daemon=True)

    def start(self) -> None:
        self._sync_applied()
        self._sync_settings()
        self._thread.start()

    def stop(self) -> None:
        """Stops the thread if it was started; safe to call at any time."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _sync_applied(self) -> None:
        for org in self.engine.sync_applied(json.loads(self.store.rule_sets_json())):
            changed = self.store.recompute_all(org)
            self.say(f"rules: organization '{org}' now runs {self.engine.rule_set_for(org).version}; "
                     f"{changed} decisions changed")

    def _sync_settings(self) -> None:
        """Recomputes the organizations whose settings changed since their decisions were made (an
        `org set` from another process, say); each changed outcome gets its event."""
        for slug, revision in self.store.stale_decisions():
            changed = self.store.recompute_all(slug)
            self.store.mark_recomputed(slug, revision)
            self.say(f"settings: organization '{slug}' changed its settings; {changed} decisions changed")

    def _reload(self) -> None:
        old = self.engine.default.version
        error = self.engine.reload_default(self.folder)
        if error:
            self.say(f"rules: reload failed, keeping version {old}: {error}")
            return
        new = self.engine.default.version
        if new == old:
            self.say(f"rules: reloaded {self.folder}, unchanged ({new})")
            return
        applied = set(json.loads(self.store.rule_sets_json()))
        changed = sum(self.store.recompute_all(slug) for _, slug, _ in self.store.list_orgs() if slug not in applied)
        self.say(f"rules: reloaded {self.folder}: version {old} -> {new}; {changed} decisions changed")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self.reload_requested:
                    self.reload_requested = False
                    self._reload()
                self._sync_applied()
                self._sync_settings()
                while self.engine.deliver(self.store) and not self._stop.is_set():
                    pass
            except Exception as e:  # noqa: BLE001 - housekeeping must go on
                log.exception("background task failed: %s", e)

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
import dataclasses
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


class RulesUnavailable(RuntimeError):
    """The organization's stored rule set cannot run in this process; the core answers 503."""


class Unloadable(RuleSet):
    """A stored rule set that does not load in this process (a module it imports is missing here,
    say). Its evaluations are errors, so decisions keep their previous outcome; a transform fails
    the write."""

    def __init__(self, version: str, why: str) -> None:
        super().__init__([], version, f"unloadable rule set {version}")
        self.why = why
        self.transforms = {"User": [None], "Group": [None]}  # a write that would be transformed fails

    def evaluate(self, user: User, ctx) -> dict:
        return {"error": f"the stored rule set {self.version} does not load in this process: {self.why}",
                "version": self.version}

    def transform(self, resource_type: str, resource: dict, ctx) -> dict:
        raise RulesUnavailable(f"the organization's rule set {self.version} does not load in this process: "
                               f"{self.why}")


@dataclasses.dataclass(frozen=True)
class _Installed:
    """What an Engine runs, replaced as a whole by sync()."""
    default: RuleSet
    per_org: dict
    versions: dict  # "" (the default) or slug -> stored version


class Engine:
    """Runs the rule sets stored in the database (see rule_sets.py) for the core. Thread-safe: rule
    sets are immutable and replaced by swapping references; sync() installs what the store holds."""

    def __init__(self, budget_ms: float = 100.0) -> None:
        self._none = load_sources([], "(no rules)")
        self._none.version = ""  # as the store names "no rule set" (decisions record it)
        self._state = _Installed(self._none, {}, {})
        self._loaded: dict[str, RuleSet] = {}  # stored version -> its RuleSet, shared by the orgs using it
        self._budget = budget_ms / 1000.0
        self._watchdog = Watchdog()
        self._sync_lock = threading.Lock()

    # -- rule sets --------------------------------------------------------------------------------
    @property
    def default(self) -> RuleSet:
        return self._state.default

    def rule_set_for(self, org: str) -> RuleSet:
        state = self._state  # one snapshot: never a new default with the old per-organization sets
        return state.per_org.get(org, state.default)

    def version_for(self, org: str) -> str:
        """The stored version this process decides `org` with ("" for no rules)."""
        versions = self._state.versions
        return versions.get(org, versions.get("", ""))

    def sync(self, store) -> None:
        """Installs the stored sets (default and per organization) whose version changed since the last
        call, each version loaded once. A stored set that does not load in this process is logged and
        installed as an Unloadable set: its organizations' decisions keep their previous outcome, with
        the error recorded, and their writes that need a transform fail, rather than being decided by
        other rules than the stored ones."""
        with self._sync_lock:
            stored = store.active_rule_set_versions()
            if stored == self._state.versions:
                return
            default, per_org = self._none, {}
            for key, version in stored.items():
                rule_set = self._loaded.get(version) or self._load(store, key, version)
                if key == "":
                    default = rule_set
                else:
                    per_org[key] = rule_set
            self._state = _Installed(default, per_org, dict(stored))
            in_use = set(stored.values())
            self._loaded = {v: rs for v, rs in self._loaded.items() if v in in_use}

    def _load(self, store, key: str, version: str) -> RuleSet:
        files = store.rule_set_files_json(version)
        label = "default rule set" if key == "" else f"rule set of {key}"
        try:
            rule_set = load_sources(sorted(json.loads(files or "{}").items()), f"{label} {version}")
            rule_set.version = version
        except RuleLoadError as e:
            log.error("stored rule set %s (%s) does not load in this process: %s", version, key or "default", e)
            rule_set = Unloadable(version, str(e))
        self._loaded[version] = rule_set
        return rule_set

    def unloadable(self) -> list[tuple[str, str]]:
        """(organization slug or "" for the default set, why) of the installed sets that do not load."""
        state = self._state
        sets = [("", state.default)] + sorted(state.per_org.items())
        return [(key, rs.why) for key, rs in sets if isinstance(rs, Unloadable)]

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
            if isinstance(rule_set, Unloadable):
                continue  # not acknowledged: retried when its claim expires, here or by another server
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
            try:
                self.store.flush_token_use()
            except Exception as e:  # noqa: BLE001 - the database may be gone at shutdown
                log.warning("could not record the last uses of tokens: %s", e)

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
            why = ("changed settings (or decisions made with an outdated rule set)" if settings_changed
                   else f"is now decided by rule set {version or 'none'}")
            self.say(f"rules: organization '{slug}' {why}; recomputed, {changed} decisions changed")

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
                self.store.flush_token_use()  # when tokens were last used (token list)
            except Exception as e:  # noqa: BLE001 - housekeeping must go on
                log.exception("background task failed: %s", e)

"""The rule contract: decorators that rule files use, and the evaluation of a rule set.

A rules folder holds plain Python files. Loading a folder runs each ``*.py`` file (sorted by name;
files starting with ``_`` are skipped) and collects what the decorators registered::

    from scimitar import rules

    @rules.decide(priority=10)
    def fluid_users_only(user, ctx):
        if ctx.settings.get("user_group", "Fluid User") not in user.groups:
            return rules.Decision(provision=False, reason="not in the user group")

Combination (documented in docs/rules.md): decide rules run in ascending ``priority`` (ties: file
name, then definition order). For each field of the decision (provision, role, units, groups) the
first rule that sets it (not None) wins; the organization's settings fill the rest
(``default_policy`` = admit|deny, default admit; ``default_role``, default "member"); groups default
to the user's IdP groups mapped through the first ``group_name`` rule (all of them, unchanged, when
there is none). A rule that raises makes the whole decision an error: the caller keeps the previous
decision and records the error. Evaluation is a pure function of (user, groups, settings, clock).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import importlib.abc
import importlib.util
import json
import logging
import os
import sys
import threading
import traceback
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Optional

from . import _core

__all__ = ["Decision", "Reject", "RuleLoadError", "decide", "group_name", "transform", "on",
           "auto_provisioning", "setting", "RuleSet", "load_rules", "User", "Group", "Context"]

log = logging.getLogger("scimitar.rules")


@dataclasses.dataclass(frozen=True)
class Decision:
    """What a decide rule says. None means "no opinion" for that field."""
    provision: Optional[bool] = None
    role: Optional[str] = None
    units: Optional[list[str]] = None
    groups: Optional[list[str]] = None
    reason: Optional[str] = None


class Reject(Exception):
    """Raised by a transform rule to refuse a write; the client gets 400 with this message."""


class RuleLoadError(Exception):
    """A rules folder failed to load; the message names the file, the line and the error."""


class RuleTimeout(BaseException):
    """Raised inside a rule that ran past its time budget (a BaseException, so `except Exception`
    in a rule cannot swallow it)."""


# ---- registration ------------------------------------------------------------------------------

@dataclasses.dataclass
class _Rule:
    kind: str                 # decide | group_name | transform | on
    fn: Callable[..., Any]
    name: str                 # "file.py:function"
    priority: int = 100
    order: int = 0
    arg: Optional[str] = None  # transform: resource type; on: event type


class _Collector:
    def __init__(self) -> None:
        self.rules: list[_Rule] = []
        self.settings: list[dict] = []  # declarations, in their stored form (see setting())
        self.file = "<inline>"

    def add(self, kind: str, fn: Callable[..., Any], priority: int = 100, arg: Optional[str] = None,
            name: Optional[str] = None) -> None:
        self.rules.append(_Rule(kind, fn, name or f"{self.file}:{fn.__name__}", priority, len(self.rules), arg))


_local = threading.local()


def _collector() -> _Collector:
    c = getattr(_local, "collector", None)
    if c is None:
        raise RuntimeError("scimitar rules register only while a rules folder is loading "
                           "(scimitar.rules.load_rules, scimitar serve --rules, scimitar.testing)")
    return c


def decide(priority: int = 100) -> Callable[[Callable], Callable]:
    """Registers ``fn(user, ctx) -> Decision | None``. Lower priority runs first."""
    def wrap(fn: Callable) -> Callable:
        _collector().add("decide", fn, priority)
        return fn
    if callable(priority):  # used bare: @rules.decide
        fn, priority = priority, 100
        return wrap(fn)
    return wrap


def setting(key: str, default: Any = None, *, choices: Optional[Iterable[str]] = None, type: str = "text",
            description: str = "") -> str:
    """Declares a per-organization setting the rules read, e.g.
    ``USER_GROUP = rules.setting("user_group", default="Fluid User")``; returns the key. `type` is
    "text", "integer" or "boolean"; `choices` limits a text setting to those values. `scimitar org set`
    refuses values the declaration does not accept, `org show` lists the setting, and
    ``ctx.settings[key]`` is its value, or the default while it is not set (stored as text: "5",
    "true"). The scimitar core checks the declaration when the folder loads."""
    c = _collector()
    decl = {"key": key, "type": type, "choices": list(choices) if choices is not None else None,
            "default": default, "description": description}
    try:
        checked = json.loads(_core.Store.checked_declarations(json.dumps([decl])))[0]
    except (_core.ScimError, TypeError, ValueError) as e:
        raise RuleLoadError(f"{c.file}: rules.setting({key!r}): {e}") from None
    if any(d["key"] == key for d in c.settings):
        raise RuleLoadError(f"{c.file}: rules.setting({key!r}) is declared twice")
    c.settings.append(checked)
    return key


def group_name(fn: Callable) -> Callable:
    """Registers ``fn(group, ctx) -> str | None``: the app group an IdP group becomes (None: not mirrored)."""
    _collector().add("group_name", fn)
    return fn


def transform(resource_type: str) -> Callable[[Callable], Callable]:
    """Registers ``fn(resource: dict, ctx) -> dict`` for inbound "User" or "Group" payloads; it may
    raise Reject("why") to refuse the write."""
    if resource_type not in ("User", "Group"):
        raise ValueError("transform takes 'User' or 'Group'")

    def wrap(fn: Callable) -> Callable:
        _collector().add("transform", fn, arg=resource_type)
        return fn
    return wrap


def on(event_type: str) -> Callable[[Callable], Callable]:
    """Registers ``fn(event: dict, ctx)`` for member.provisioned / member.deprovisioned / member.changed,
    called after commit, at least once, from the outbox."""
    def wrap(fn: Callable) -> Callable:
        _collector().add("on", fn, arg=event_type)
        return fn
    return wrap


def auto_provisioning(table: list[dict], priority: int = 100, name: str = "auto_provisioning") -> None:
    """Clumio-style rules: the first row whose ``when`` matches the user's groups gives role and units.

    Each row: ``{"name": ..., "when": {"groups": COND}, "role": ..., "units": [...], "provision": bool}``
    with COND one of ``{"$eq": "g"}``, ``{"$in": [...]}``, ``{"$all": [...]}``,
    ``{"$contains": {"$in": [...]}}`` or ``{"$contains": {"$all": [...]}}`` (substring keywords).
    Conditions are compiled once into sets, so a row costs a set operation, not a Python call.
    """
    compiled = [_compile_row(i, row) for i, row in enumerate(table)]

    def evaluate(user: "User", ctx: "Context") -> Optional[Decision]:
        groups = user.groups
        group_set = frozenset(groups)
        for row_name, match, row in compiled:
            if match(group_set, groups):
                return Decision(provision=row.get("provision"), role=row.get("role"), units=row.get("units"),
                                reason=f"{name} row '{row_name}'")
        return None

    evaluate.__name__ = name
    _collector().add("decide", evaluate, priority, name=f"{_collector().file}:{name}")


def _compile_row(index: int, row: dict) -> tuple[str, Callable[[frozenset, list], bool], dict]:
    row_name = str(row.get("name", f"row {index + 1}"))
    when = row.get("when", {})
    unknown = set(when) - {"groups"}
    if unknown:
        raise ValueError(f"auto_provisioning row '{row_name}': conditions apply to 'groups' only, not {sorted(unknown)}")
    cond = when.get("groups")
    if cond is None:
        return row_name, lambda s, g: True, row
    if not isinstance(cond, dict) or len(cond) != 1:
        raise ValueError(f"auto_provisioning row '{row_name}': 'groups' needs exactly one of $eq $in $all $contains")
    (op, value), = cond.items()
    if op == "$eq":
        return row_name, lambda s, g, v=value: v in s, row
    if op == "$in":
        vs = frozenset(value)
        return row_name, lambda s, g: not vs.isdisjoint(s), row
    if op == "$all":
        vs = frozenset(value)
        return row_name, lambda s, g: vs <= s, row
    if op == "$contains":
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("$in", "$all"):
            raise ValueError(f"auto_provisioning row '{row_name}': $contains takes {{'$in': [...]}} or {{'$all': [...]}}")
        (mode, words), = value.items()
        words = tuple(w.lower() for w in words)
        if mode == "$in":
            return row_name, lambda s, g: bool(g) and any(w in x.lower() for x in g for w in words), row
        return row_name, lambda s, g: not words or (bool(g) and all(any(w in x.lower() for x in g) for w in words)), row
    raise ValueError(f"auto_provisioning row '{row_name}': unknown operator {op}")


# ---- what rules see ----------------------------------------------------------------------------

class User:
    """A read-only view of one user. Reads are recorded, so a decision can show the inputs that mattered."""

    def __init__(self, doc: dict, groups: Iterable[dict] = (), user_id: str = "") -> None:
        self._doc = doc
        self._groups = list(groups)
        self._id = user_id
        self.read: dict[str, Any] = {}

    def _note(self, key: str, value: Any) -> Any:
        self.read[key] = value
        return value

    @property
    def id(self) -> str:
        return self._id

    @property
    def user_name(self) -> str:
        return self._note("userName", self._doc.get("userName", ""))

    @property
    def active(self) -> bool:
        return self._note("active", bool(self._doc.get("active", True)))

    @property
    def emails(self) -> list[str]:
        return self._note("emails", [e.get("value") for e in self._doc.get("emails", []) if isinstance(e, dict)])

    @property
    def name(self) -> dict:
        return self._note("name", dict(self._doc.get("name", {})))

    @property
    def external_id(self) -> Optional[str]:
        return self._note("externalId", self._doc.get("externalId"))

    @property
    def groups(self) -> list[str]:
        """Display names of the IdP groups the user is a direct member of (nested groups are not expanded)."""
        return self._note("groups", [g["display"] for g in self._groups])

    @property
    def group_ids(self) -> list[str]:
        return self._note("group_ids", [g["id"] for g in self._groups])

    @property
    def raw(self) -> dict:
        return self._doc

    def attr(self, path: str, default: Any = None) -> Any:
        """Any attribute: "title", "name.givenName", "urn:...:enterprise:2.0:User:department", or an
        extension attribute such as Okta's "urn:...:User:role". Names are case-insensitive."""
        node: Any = self._doc
        rest = path
        if path.lower().startswith("urn:"):
            urn, _, rest = path.rpartition(":")
            node = _get_ci(self._doc, urn)
        for part in rest.split("."):
            node = _get_ci(node, part) if isinstance(node, dict) else None
        return self._note(path, default if node is None else node)


def _get_ci(obj: Any, key: str) -> Any:
    if not isinstance(obj, dict):
        return None
    if key in obj:
        return obj[key]
    low = key.lower()
    for k, v in obj.items():
        if k.lower() == low:
            return v
    return None


@dataclasses.dataclass(frozen=True)
class Group:
    id: str
    display_name: str


@dataclasses.dataclass(frozen=True)
class Context:
    org: str
    settings: dict
    now: _dt.datetime
    log: logging.Logger = log


# ---- evaluation --------------------------------------------------------------------------------

class RuleSet:
    """A loaded rules folder. Immutable after loading; safe to share between threads."""

    def __init__(self, rules: list[_Rule], version: str, source: str, files: Optional[dict[str, str]] = None,
                 settings: Optional[list[dict]] = None) -> None:
        self.version = version
        self.source = source
        self.files = dict(files or {})  # file name -> text: what the database stores of this set
        self.settings = list(settings or [])  # the settings its files declare (rules.setting)
        self.setting_defaults = {d["key"]: d["default"] for d in self.settings if d["default"] is not None}
        key = lambda r: (r.priority, r.name.split(":")[0], r.order)
        self.decide_rules = sorted((r for r in rules if r.kind == "decide"), key=key)
        self.group_rules = sorted((r for r in rules if r.kind == "group_name"), key=key)
        self.transforms = {t: [r for r in rules if r.kind == "transform" and r.arg == t] for t in ("User", "Group")}
        self.handlers: dict[str, list[_Rule]] = {}
        for r in rules:
            if r.kind == "on":
                self.handlers.setdefault(r.arg or "", []).append(r)

    def context(self, org: str, settings: Mapping[str, str], now: _dt.datetime) -> Context:
        """The context its rules get: the organization's settings over the declared defaults (read-only)."""
        return Context(org, MappingProxyType({**self.setting_defaults, **settings}), now)

    def evaluate(self, user: User, ctx: Context) -> dict:
        """What the rules answer for `user`: each decide rule's answer in order (a rule that raises
        stops there), the app groups of the group_name rule, and the inputs read. The core combines it
        into the decision (see `decide`); this only runs the rules."""
        answers = []
        out: dict[str, Any] = {"answers": answers, "version": self.version}
        for rule in self.decide_rules:
            try:
                result = rule.fn(user, ctx)
            except RuleTimeout:
                out["failed"] = {"rule": rule.name, "message": "ran past its time budget"}
                return out
            except Exception as e:  # noqa: BLE001 - any rule failure is recorded, never raised
                out["failed"] = {"rule": rule.name, "message": _describe(e)}
                return out
            if result is None:
                answers.append({"rule": rule.name, "matched": False})
            elif isinstance(result, Decision):
                answers.append({"rule": rule.name, "matched": True, "provision": result.provision, "role": result.role,
                                "units": None if result.units is None else list(result.units),
                                "groups": None if result.groups is None else list(result.groups),
                                "reason": result.reason})
            else:
                out["failed"] = {"rule": rule.name,
                                 "message": f"returned {type(result).__name__}, not rules.Decision or None"}
                return out
        group_rule = self.group_rules[0].name if self.group_rules else None
        try:
            out["app_groups"] = self.app_groups(user, ctx)
        except RuleTimeout:
            out["app_groups_failed"] = {"rule": group_rule or "app groups", "message": "ran past its time budget"}
        except Exception as e:  # noqa: BLE001
            out["app_groups_failed"] = {"rule": group_rule or "app groups", "message": _describe(e)}
        out["app_groups_rule"] = group_rule
        out["inputs"] = dict(user.read)
        return out

    def decide(self, user: User, ctx: Context) -> dict:
        """The decision with its provenance, as the server stores it: the rules' answers (evaluate)
        combined by the scimitar core under `ctx.settings`. On a rule error: {"error": ...}."""
        return json.loads(_core.Store.combine_json(json.dumps(self.evaluate(user, ctx)), dict(ctx.settings)))

    def app_groups(self, user: User, ctx: Context) -> list[str]:
        if not self.group_rules:
            return sorted(set(user.groups))
        fn = self.group_rules[0].fn
        out = set()
        for g in user._groups:
            name = fn(Group(g["id"], g["display"]), ctx)
            if name:
                out.add(str(name))
        user.read.setdefault("groups", [g["display"] for g in user._groups])
        return sorted(out)

    def transform(self, resource_type: str, resource: dict, ctx: Context) -> dict:
        for rule in self.transforms.get(resource_type, []):
            resource = rule.fn(resource, ctx)
            if not isinstance(resource, dict):
                raise TypeError(f"{rule.name} returned {type(resource).__name__}, not a dict")
        return resource

def _describe(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    where = f" (line {tb[-1].lineno})" if tb else ""
    return f"{type(e).__name__}: {e}{where}"


def load_rules(folder: str | os.PathLike, only: Optional[str] = None) -> RuleSet:
    """Loads every ``*.py`` of `folder` (sorted). ``_*.py`` files are helpers: not rule files, but
    importable by the rule files (``import _tables``, at the top of a file) and stored with them.
    Raises RuleLoadError naming the file, the line and the error when one fails to import or
    registers a bad rule."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RuleLoadError(f"rules folder '{folder}' does not exist")
    files = sorted(folder.glob("*.py"))
    return load_sources([(p.name, p.read_text(encoding="utf-8")) for p in files], str(folder))


class _Helpers(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes a rule set's ``_*.py`` helpers importable by name while its rule files load."""

    def __init__(self, helpers: dict[str, tuple[str, str]]) -> None:
        self.helpers = helpers  # module name -> (file label, text)

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001 - importlib's protocol
        return importlib.util.spec_from_loader(name, self) if name in self.helpers else None

    def create_module(self, spec):  # noqa: ANN001
        return None

    def exec_module(self, module) -> None:  # noqa: ANN001
        label, text = self.helpers[module.__name__]
        module.__file__ = label
        exec(compile(text, label, "exec"), module.__dict__)


_load_lock = threading.RLock()  # sys.meta_path and sys.modules are process-wide


def load_sources(sources: list[tuple[str, str]], origin: str) -> RuleSet:
    """Loads rule files given as (file name, text), helpers (``_*.py``) included; what `rules apply`
    stores is loaded this way."""
    digest = hashlib.sha256()
    collector = _Collector()
    helpers = _Helpers({Path(n).stem: (f"{origin}/{n}", t) for n, t in sources if n.startswith("_")})
    with _load_lock:
        previous = getattr(_local, "collector", None)
        _local.collector = collector
        shadowed = {n: sys.modules.pop(n) for n in helpers.helpers if n in sys.modules}
        sys.meta_path.insert(0, helpers)
        try:
            for name, text in sorted(sources):
                digest.update(name.encode() + b"\0" + text.encode() + b"\0")
                if name.startswith("_"):
                    continue
                collector.file = name
                try:
                    code = compile(text, f"{origin}/{name}", "exec")
                    exec(code, {"__name__": f"scimitar_rules.{Path(name).stem}", "__file__": f"{origin}/{name}"})
                except SyntaxError as e:
                    raise RuleLoadError(f"{e.filename or origin + '/' + name}, line {e.lineno}: SyntaxError: {e.msg}") from None
                except Exception as e:  # noqa: BLE001
                    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == f"{origin}/{name}"]
                    line = frames[-1].lineno if frames else "?"
                    raise RuleLoadError(f"{origin}/{name}, line {line}: {type(e).__name__}: {e}") from None
        finally:
            sys.meta_path.remove(helpers)
            for n in helpers.helpers:
                sys.modules.pop(n, None)
            sys.modules.update(shadowed)
            _local.collector = previous
    return RuleSet(collector.rules, digest.hexdigest()[:16], origin, dict(sources), collector.settings)

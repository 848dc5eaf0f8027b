"""Which rule set decides an organization: the stored truth, shared by every process.

An organization is decided by the rule set applied to it (`scimitar rules apply --org`), else by the
default set stored in the database (`scimitar rules apply --default`, or the `--rules` folder of the
first server started on an empty database), else by no rules (its settings alone). A process never
decides with a folder of its own that differs from what is stored: a server started with another
folder follows the stored set and says so; an import or a Python API call given another folder is
refused. The store records every set made active (history) so it can be reverted to.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from typing import Optional

from .rules import RuleSet, load_sources

NO_RULES = ""  # the stored version of "no rule set": settings alone decide


class RulesMismatch(RuntimeError):
    """A process was given rules that differ from those stored for the organizations it decides."""


def origin(what: str) -> str:
    """Who made a set active, for the history: the command, the user, the host and the process."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        user = str(os.getuid())
    return f"{what} by {user}@{socket.gethostname()} pid {os.getpid()}"


def apply(store, rule_set: RuleSet, slug: Optional[str], what: str) -> bool:
    """Makes `rule_set` active for `slug` (None: the default set). False when it already was."""
    return store.apply_rule_set(slug, rule_set.version, json.dumps(rule_set.files), json.dumps(rule_set.settings),
                                origin(what))


def active(store, slug: str) -> dict:
    """What decides `slug` now, as the core answers it: {"version", "scope": "organization" |
    "default" | "none", "applied", "origin", "files", "settings"}."""
    return json.loads(store.active_rule_set_json(slug))


def same(stored_version: str, rule_set: RuleSet) -> bool:
    """Whether the stored version is `rule_set` (a folder without rule files is also "no rules")."""
    return stored_version == rule_set.version or (stored_version == NO_RULES and not rule_set.files)


def stored_default_version(store) -> str:
    default = store.default_rule_set_json()
    return json.loads(default)["version"] if default else NO_RULES


def adopt(store, rule_set: RuleSet, what: str) -> Optional[str]:
    """For a process given `rule_set` (a server's --rules folder): stores it as the default set when the
    database never had one. Returns None when it is (now) the stored default, else the stored version."""
    current = stored_default_version(store)
    if current == NO_RULES and rule_set.files and _never_set(store):
        apply(store, rule_set, None, what)
        return None
    return None if same(current, rule_set) else current


def _never_set(store) -> bool:
    """Whether no default set was ever stored (one cleared with `rules clear --default` stays cleared)."""
    return not json.loads(store.rule_set_history_json(None))


def check_given(store, rule_set: RuleSet, slug: str, what: str) -> None:
    """Refuses (RulesMismatch) rules given to a one-off command (import, the Python API) that are not
    what decides `slug`; stores them as the default when nothing is stored at all."""
    now = active(store, slug)
    if now["scope"] == "none" and rule_set.files and _never_set(store):
        apply(store, rule_set, None, what)
        return
    if not same(now["version"], rule_set):
        where = {"organization": f"the rule set applied to '{slug}'", "default": "the default rule set",
                 "none": "no rules"}[now["scope"]]
        raise RulesMismatch(
            f"'{slug}' is decided by {where} (version {now['version'] or 'none'}), not by {rule_set.source} "
            f"(version {rule_set.version}); decisions follow what the database stores. To make the folder "
            f"decide, run: scimitar rules apply {'--org ' + slug if now['scope'] == 'organization' else '--default'} "
            f"--rules {rule_set.source}")


def revert(store, slug: Optional[str], version: str) -> RuleSet:
    """Makes a version from the history active again (for `slug`, or the default). Raises LookupError
    for a version the history does not hold, RuleLoadError if it no longer loads."""
    files = store.rule_set_files_json(version)
    if files is None:
        raise LookupError(f"no rule set version '{version}' in the history; see: scimitar rules history")
    rule_set = load_sources(sorted(json.loads(files).items()), f"version {version}")
    apply(store, rule_set, slug, f"rules revert to {version}")
    return rule_set

"""Exporting users in the form an import reads back (docs/python-api.md, "Import file conventions").

A portable document is the stored SCIM User without what the server assigns (`id`, `meta`), with
references by name instead of ids: `groups` lists the user's direct groups as [{"display": name}],
and the enterprise `manager` names the manager by `userName`. Importing it into any organization,
then exporting again, gives the same document. CSV flattens portable documents to columns: an
attribute, `attr.sub`, `attr[type].sub` for multi-valued items told apart by a type, `groups` with
names separated by ';', `urn:...:attr` for extensions, and `attr[]` holding the attribute's JSON
when none of these can say it without loss.
"""

from __future__ import annotations

import collections
import json
from typing import Any, Callable, Iterable, Iterator, Optional

from .importer import LIST_SEPARATOR

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SERVER_ASSIGNED = ("id", "meta")


class ManagerNames:
    """Manager id -> userName, looked up in batches and remembered (managers repeat; bounded)."""

    def __init__(self, lookup: Callable[[list[str]], dict[str, str]], limit: int = 100_000) -> None:
        self.lookup, self.limit = lookup, limit
        self.known: collections.OrderedDict[str, Optional[str]] = collections.OrderedDict()

    def resolve(self, ids: Iterable[str]) -> None:
        """Looks up the ids of one page; they stay known until the next call (least recently used
        ones are forgotten first, never the page's)."""
        page = set(ids)
        for i in page & self.known.keys():
            self.known.move_to_end(i)
        missing = sorted(page - self.known.keys())
        while self.known and len(self.known) + len(missing) > max(self.limit, len(page)):
            oldest = next(iter(self.known))
            if oldest in page:
                break
            self.known.popitem(last=False)
        if missing:
            found = self.lookup(missing)
            for i in missing:
                self.known[i] = found.get(i)

    def __getitem__(self, manager_id: str) -> Optional[str]:
        return self.known.get(manager_id)


def _manager_id(user: dict) -> Optional[str]:
    manager = user.get(ENTERPRISE, {}).get("manager")
    return manager.get("value") if isinstance(manager, dict) else None


def portable(user: dict, managers: ManagerNames) -> dict:
    """The user as an import reads it back (see the module docstring)."""
    out = {k: v for k, v in user.items() if k not in SERVER_ASSIGNED}
    groups = sorted({g["display"] for g in user.get("groups", [])
                     if g.get("type", "direct") == "direct" and g.get("display")})
    out.pop("groups", None)
    if groups:
        out["groups"] = [{"display": g} for g in groups]
    manager_id = _manager_id(user)
    if manager_id is not None:
        ext = dict(out[ENTERPRISE])
        manager = {k: v for k, v in ext["manager"].items() if k not in ("value", "$ref")}
        name = managers[manager_id]
        if name is not None:  # a manager id that names no user is dropped: it means nothing elsewhere
            manager["userName"] = name
            ext["manager"] = manager
        else:
            del ext["manager"]
        out[ENTERPRISE] = ext
    return out


def portable_users(pages: Iterable[list[dict]], managers: ManagerNames) -> Iterator[dict]:
    """Portable documents of users given page by page (one manager lookup per page)."""
    for page in pages:
        managers.resolve(i for i in map(_manager_id, page) if i is not None)
        for user in page:
            yield portable(user, managers)


# ---- CSV ---------------------------------------------------------------------------------------

KNOWN_SCHEMAS = ("", ENTERPRISE + ":")  # prefixes whose booleans an import reads back from "true"/"false"


def _plain(v: Any, known: bool) -> bool:
    """Whether `v` can be a cell of its own: a non-empty string, or a boolean of a schema scimitar
    types itself. Anything else (numbers, booleans of an undeclared extension) goes in JSON."""
    return (isinstance(v, str) and v != "") or (isinstance(v, bool) and known)


def _cell(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _flatten_into(cells: dict[str, str], prefix: str, attr: str, value: Any) -> None:
    """Columns for one attribute; `prefix` is "" or "urn:...:" for an extension's attributes."""
    name, known = prefix + attr, prefix in KNOWN_SCHEMAS
    if _plain(value, known):
        cells[name] = _cell(value)
        return
    if isinstance(value, dict) and value and all(_plain(v, known) for v in value.values()) \
            and all("." not in k and "[" not in k for k in value):
        for sub, v in value.items():
            cells[f"{name}.{sub}"] = _cell(v)
        return
    if isinstance(value, list) and value and all(isinstance(i, dict) and isinstance(i.get("type"), str) for i in value):
        types = [i["type"] for i in value]
        simple = all(all(_plain(v, known) and "." not in k and "[" not in k for k, v in i.items()) for i in value)
        if simple and len(set(types)) == len(types) and all(t and "]" not in t for t in types):
            for item in value:
                for sub, v in item.items():
                    if sub != "type":
                        cells[f"{name}[{item['type']}].{sub}"] = _cell(v)
            return
    cells[name + "[]"] = json.dumps(value, ensure_ascii=False, sort_keys=True)


def flatten(user: dict) -> dict[str, str]:
    """A portable document as CSV cells by column (see the module docstring)."""
    cells: dict[str, str] = {}
    for attr, value in user.items():
        if attr == "schemas":
            continue
        if attr == "groups":
            names = [g["display"] for g in value]
            if all(LIST_SEPARATOR not in n and n == n.strip() for n in names):
                cells["groups"] = LIST_SEPARATOR.join(names)
            else:
                cells["groups[]"] = json.dumps(names, ensure_ascii=False)
            continue
        if attr.lower().startswith("urn:") and isinstance(value, dict):
            for sub, v in value.items():
                _flatten_into(cells, attr + ":", sub, v)
            continue
        _flatten_into(cells, "", attr, value)
    return cells


def csv_columns(rows: Iterable[dict[str, str]]) -> list[str]:
    """Every column the rows use, in a stable order: core attributes first, then extensions."""
    seen: dict[str, None] = {}
    for r in rows:
        for c in r:
            seen.setdefault(c, None)
    first = ["externalId", "userName"]
    return [c for c in first if c in seen] + sorted((c for c in seen if c not in first),
                                                    key=lambda c: (c.lower().startswith("urn:"), c))

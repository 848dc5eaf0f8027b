"""Reading import files and turning flat rows into SCIM resources."""

from __future__ import annotations

import csv
import functools
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from . import _json

_MULTI = re.compile(r"^(?P<attr>[A-Za-z$]+)\[(?P<type>[^\]]+)\]\.(?P<sub>[A-Za-z$]+)$")
LIST_SEPARATOR = ";"  # between the names of a "groups" or "members.userName" cell


@functools.lru_cache(maxsize=4096)
def _header_target(header: str) -> tuple:
    """Where a column goes, worked out once per header (every row of a file has the same headers):
    ("json", path), ("names", attr, sub), ("multi", attr, type, sub), ("sub", attr, sub) or
    ("attr", name); `path` and the URN forms put the attribute under its extension:
    ("urn", urn, target) with target one of the others."""
    header = header.strip()
    if header.lower().startswith("urn:"):
        urn, _, attr = header.rpartition(":")  # "urn:...:User:manager.userName": the attribute is last
        return ("urn", urn, _header_target(attr))
    if header.endswith("[]"):
        return ("json", header[:-2])
    if header == "groups":
        return ("names", "groups", None)
    m = _MULTI.match(header)
    if m:
        return ("multi", m["attr"], m["type"], m["sub"])
    if "." in header:
        attr, sub = header.split(".", 1)
        if attr == "members" and sub in ("value", "userName", "externalId"):
            return ("names", "members", sub)
        return ("sub", attr, sub)
    return ("attr", header)


@functools.lru_cache(maxsize=256)
def _row_plan(headers: tuple) -> tuple:
    """(header, target) for each column of rows with these headers, in order (see _header_target)."""
    if None in headers:  # csv.DictReader files cells beyond the header row under None
        raise ValueError("the row has more cells than the header row")
    return tuple((h, _header_target(h)) for h in headers if isinstance(h, str))


def _put(out: dict, target: tuple, value: Any, header: str) -> None:
    kind = target[0]
    if kind == "attr":
        out[target[1]] = value
    elif kind == "sub":
        out.setdefault(target[1], {})[target[2]] = value
    elif kind == "json":
        try:
            out[target[1]] = json.loads(value)
        except json.JSONDecodeError as e:
            raise ValueError(f"column '{header}' holds JSON: {e.msg}") from None
    elif kind == "names":
        names = [n.strip() for n in value.split(LIST_SEPARATOR) if n.strip()]
        if target[1] == "groups":
            out.setdefault("groups", []).extend(names)
        else:
            out.setdefault("members", []).extend({target[2]: n} for n in names)
    elif kind == "multi":
        items = out.setdefault(target[1], [])
        for item in items:
            if item.get("type") == target[2]:
                break
        else:
            item = {"type": target[2]}
            items.append(item)
        item[target[3]] = value
    else:
        urn = target[1]
        _put(out.setdefault(urn, {}), target[2], value, header)
        schemas = out.setdefault("schemas", ["urn:ietf:params:scim:schemas:core:2.0:User"])
        if urn not in schemas:
            schemas.append(urn)


def resource_from_row(row: dict) -> dict:
    """A flat row to a SCIM resource by header (docs/python-api.md, "Import file conventions"):
    "userName", "name.givenName", "emails[work].value", "urn:...:enterprise:2.0:User:department",
    "...:manager.userName", "groups" and "members.userName" (names separated by ';'), and "attr[]"
    for a cell holding the attribute's JSON. Empty cells are skipped; a row that already looks like
    SCIM (nested values) passes through. Raises ValueError, with a reason for the report, for a row
    that is not an object of columns."""
    if not isinstance(row, dict):
        raise ValueError(f"a row is an object of columns, not {type(row).__name__}")
    out: dict[str, Any] = {}
    for header, target in _row_plan(tuple(row)):
        value = row[header]
        if value is None or value == "":
            continue
        if isinstance(value, (dict, list)):
            return dict(row)
        _put(out, target, value, header)
    return out


def read_rows(path: str, fmt: Optional[str] = None) -> Iterator[tuple[int, dict]]:
    """(line number, row) for each record of a csv, jsonl or json file, streamed."""
    fmt = fmt or {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the format of '{path}'; pass --format csv|jsonl|json")
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            for row in reader:
                # A row whose cells do not line up with the header is refused, mapping or not: its
                # values would land in the wrong columns.
                width = len(reader.fieldnames or ())
                if None in row:
                    cells = width + len(row[None])
                    yield reader.line_num, {"__invalid__": f"the row has {cells} cells, the header row {width}"}
                elif any(v is None for v in row.values()):
                    cells = sum(v is not None for v in row.values())
                    yield reader.line_num, {"__invalid__": f"the row has {cells} cells, the header row {width}"}
                else:
                    yield reader.line_num, row
    elif fmt == "jsonl":
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if line.strip():
                    try:
                        yield n, _json.loads(line)
                    except json.JSONDecodeError as e:
                        yield n, {"__invalid__": f"invalid JSON: {e.msg}"}
    elif fmt == "json":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, list):
            raise ValueError("a .json import file holds an array of objects")
        for n, row in enumerate(data, start=1):
            yield n, row
    else:
        raise ValueError(f"unknown format '{fmt}'")


def load_mapping(path: str) -> Callable[[dict], dict]:
    """A mapping file defines map_row(row: dict) -> dict (a SCIM resource)."""
    namespace: dict[str, Any] = {"__name__": "scimitar_mapping", "__file__": path}
    exec(compile(Path(path).read_text(encoding="utf-8"), path, "exec"), namespace)
    fn = namespace.get("map_row")
    if not callable(fn):
        raise ValueError(f"{path} defines no map_row(row) function")
    return fn


class Progress:
    """A progress bar on a terminal, plain lines otherwise."""

    def __init__(self, stream=sys.stderr, every: int = 10000) -> None:
        self.stream, self.every, self.start = stream, every, time.time()
        self.tty = stream.isatty()
        self.last = 0

    def __call__(self, done: int) -> None:
        rate = done / max(time.time() - self.start, 1e-9)
        if self.tty:
            self.stream.write(f"\rimported {done} rows ({rate:,.0f} rows/s)")
            self.stream.flush()
        elif done - self.last >= self.every:
            self.stream.write(f"imported {done} rows ({rate:,.0f} rows/s)\n")
            self.last = done

    def done(self, report) -> None:
        if self.tty:
            self.stream.write("\n")

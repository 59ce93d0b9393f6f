"""The event search language, compiled to SQL for DuckDB over the Parquet store.

Grammar (documented for users in ``docs/search.md`` and in the web console)::

    query   := or
    or      := and ("OR" and)*
    and     := not (["AND"] not)*          # juxtaposition means AND
    not     := "NOT" not | "-" not | atom
    atom    := "(" query ")" | term
    term    := FIELD ":" VALUE | FIELD (">"|">="|"<"|"<=") NUMBER | VALUE
    VALUE   := bare word | "quoted string";  "*" and "?" are wildcards;
               an IP field with a CIDR value (10.0.0.0/8) matches the range;
               FIELD:* means the field exists.

A bare VALUE searches the whole document text. Field names are ECS names
(``source.ip``); fields with a column of their own are fast, others are read
from the JSON document. Values are always bound as parameters, never pasted
into SQL.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from soc.storage.schema import FIELD_TO_COLUMN

_TOKEN = re.compile(r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<q>"(?:[^"\\]|\\.)*")|(?P<op>>=|<=|>|<|:)|(?P<w>[^\s():<>"]+))')
FIELD_NAME = re.compile(r"[@A-Za-z_][A-Za-z0-9_.@-]{0,127}")
"""What a field name may look like; names end up inside JSON paths in SQL, so nothing else passes."""
_IP_FIELDS = {"source.ip", "destination.ip", "client.ip", "server.ip", "host.ip", "related.ip", "observer.ip"}
_NUM_COLUMNS = {"source_port", "destination_port", "source_bytes", "destination_bytes", "source_packets",
                "destination_packets", "event_duration", "http_status", "system_level"}


def ip_in_cidr(ip: str | None, cidr: str) -> bool | None:
    """SQL function registered on DuckDB connections (IPv6 ranges; IPv4 is done in plain SQL)."""
    if ip is None:
        return None
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


class QueryError(ValueError):
    """A malformed query; the message says where and what was expected."""


@dataclass
class Compiled:
    sql: str
    params: list[object]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise QueryError(f"unexpected character {text[pos]!r} at position {pos + 1}")
            kind = m.lastgroup or ""
            self.toks.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0
        self.params: list[object] = []

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise QueryError("query ends too early: a value or ')' is missing at the end")
        self.i += 1
        return tok

    def parse(self) -> str:
        if not self.toks:
            return "TRUE"
        sql = self.or_()
        tok = self.peek()
        if tok is not None:
            raise QueryError(f"unexpected {tok[1]!r} at position {tok[2] + 1}")
        return sql

    def or_(self) -> str:
        parts = [self.and_()]
        while (t := self.peek()) and t[0] == "w" and t[1].upper() == "OR":
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def and_(self) -> str:
        parts = [self.not_()]
        while (t := self.peek()) and t[0] != "rp" and not (t[0] == "w" and t[1].upper() == "OR"):
            if t[0] == "w" and t[1].upper() == "AND":
                self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def not_(self) -> str:
        t = self.peek()
        if t and t[0] == "w" and (t[1].upper() == "NOT" or (t[1].startswith("-") and len(t[1]) > 1)):
            if t[1].upper() == "NOT":
                self.take()
            else:  # "-field:value"
                self.toks[self.i] = ("w", t[1][1:], t[2] + 1)
            return f"(NOT coalesce({self.not_()}, FALSE))"
        return self.atom()

    def atom(self) -> str:
        kind, val, pos = self.take()
        if kind == "lp":
            inner = self.or_()
            k2, v2, p2 = self.take()
            if k2 != "rp":
                raise QueryError(f"expected ')' at position {p2 + 1}, found {v2!r}")
            return inner
        if kind == "rp":
            raise QueryError(f"unexpected ')' at position {pos + 1}")
        if kind == "op":
            raise QueryError(f"a field name is missing before {val!r} at position {pos + 1}")
        nxt = self.peek()
        if kind == "w" and nxt and nxt[0] == "op":
            if not FIELD_NAME.fullmatch(val):
                raise QueryError(f"{val!r} at position {pos + 1} is not a field name")
            op = self.take()[1]
            vk, vv, vp = self.take()
            if vk not in ("w", "q"):
                raise QueryError(f"expected a value after {val}{op} at position {vp + 1}")
            value = _unquote(vv) if vk == "q" else vv
            if vk == "w":
                # An unquoted value runs to the next space: IPv6 addresses and times contain ':'.
                end = vp + len(vv)
                while (nt := self.peek()) and nt[2] == end and (nt[0] == "w" or nt[1] == ":"):
                    self.take()
                    value += nt[1]
                    end = nt[2] + len(nt[1])
            return self.term(val, op, value, quoted=vk == "q", pos=vp)
        text = _unquote(val) if kind == "q" else val
        self.params.append(f"%{_like_escape(text)}%")
        return "doc ILIKE ? ESCAPE '\\'"

    def term(self, field: str, op: str, value: str, *, quoted: bool, pos: int) -> str:
        col = FIELD_TO_COLUMN.get(field)
        if col is None:
            path = "$." + ".".join(f'"{p}"' for p in field.removeprefix("@").split("."))
            if field.startswith("@"):
                path = "$." + f'"{field}"'
            expr = f"json_extract_string(doc, '{path}')"
            arr = f"json_extract(doc, '{path}')"
        else:
            expr, arr = col, ""
        if op != ":":
            try:
                num = float(value)
            except ValueError:
                if col == "ts":
                    self.params.append(value)
                    return f"{expr} {op} CAST(? AS TIMESTAMPTZ)"
                raise QueryError(f"{field}{op} needs a number at position {pos + 1}, got {value!r}") from None
            self.params.append(num)
            return f"TRY_CAST({expr} AS DOUBLE) {op} ?"
        if value == "*" and not quoted:
            return f"({expr} IS NOT NULL)"
        if field in _IP_FIELDS and "/" in value:
            try:
                net = ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise QueryError(f"{value!r} at position {pos + 1} is not a valid CIDR range") from None
            if net.version == 4:
                lo, hi = int(net.network_address), int(net.broadcast_address)
                self.params.extend([lo, hi])
                # DuckDB's inet extension is not always available offline: compare IPv4 as integers.
                ip_int = ("(CAST(split_part({e},'.',1) AS UBIGINT)*16777216 + CAST(split_part({e},'.',2) AS UBIGINT)*65536"
                          " + CAST(split_part({e},'.',3) AS UBIGINT)*256 + CAST(split_part({e},'.',4) AS UBIGINT))")
                guard = f"regexp_full_match({expr}, '\\d+\\.\\d+\\.\\d+\\.\\d+')"
                return f"(CASE WHEN {guard} THEN {ip_int.format(e=expr)} BETWEEN ? AND ? ELSE FALSE END)"
            self.params.append(str(net))
            return f"coalesce(ip_in_cidr({expr}, ?), FALSE)"
        has_wild = not quoted and ("*" in value or "?" in value)
        if col in _NUM_COLUMNS and not has_wild:
            try:
                self.params.append(int(value))
            except ValueError:
                raise QueryError(f"{field} is numeric; {value!r} at position {pos + 1} is not a number") from None
            return f"({expr} = ?)"
        if has_wild:
            pat = _like_escape(value).replace("*", "%").replace("?", "_")
            self.params.append(pat)
            cond = f"(CAST({expr} AS VARCHAR) ILIKE ? ESCAPE '\\')"
        else:
            self.params.append(value)
            cond = f"(lower(CAST({expr} AS VARCHAR)) = lower(?))"
        if col in ("event_category", "event_type"):
            # Stored comma-joined: match one element.
            self.params.append(value.replace("*", "%") if has_wild else value)
            return f"({cond} OR list_contains(string_split(lower({expr}), ','), lower(?)))"
        if arr:
            self.params.append(value)
            return (f"({cond} OR (json_type({arr}) = 'ARRAY' AND "
                    f"list_contains(CAST(json_extract_string({arr}, '$[*]') AS VARCHAR[]), ?)))")
        return cond


def _unquote(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s[1:-1])


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def compile_query(text: str) -> Compiled:
    """Compile a search string to a SQL condition with bound parameters, or raise :class:`QueryError`."""
    if len(text) > 4000:
        raise QueryError("query too long (over 4,000 characters)")
    p = _Parser(text)
    sql = p.parse()
    return Compiled(sql, p.params)

"""The C tokeniser and table runner of FortiGate records (``connectors/parsers/_kvscan.c``) against their Python
definitions (``fortigate._pairs_py``, ``fortigate._moves_py``, ``fortigate._pairs_moves_py``,
``fortigate._finish_py``, ``fortigate._head_py``).

Both tokenisers must give the same pairs in the same order on any text: generated text over the characters that
matter to the grammar (blanks of every kind, ``=``, quotes, word and non-word characters, ``N/A``, and
non-ASCII text of each width CPython stores), and every FortiGate line in ``../shared``.
"""

from __future__ import annotations

import contextlib
import copy
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.parsers import fortigate
from connectors.parsers.base import ParseContext, ParseError
from tests.extensions import require_built

try:
    from connectors.parsers import _kvscan
except ImportError:  # pragma: no cover - only without a C compiler
    _kvscan = None  # type: ignore[assignment]

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
needs_c = pytest.mark.skipif(_kvscan is None, reason="connectors.parsers._kvscan is not built")


def _items(d: dict[str, str]) -> list[tuple[str, str]]:
    return list(d.items())


def test_extension_is_built() -> None:
    require_built(_kvscan, "connectors/parsers/_kvscan.c")
    assert fortigate._pairs is _kvscan.pairs
    assert fortigate._moves is _kvscan.moves
    assert fortigate._pairs_moves is _kvscan.pairs_moves
    assert fortigate._finish is _kvscan.finish
    assert fortigate._head is _kvscan.head
    assert fortigate._begin is _kvscan.begin
    assert fortigate._end is _kvscan.end
    assert fortigate._utm_plain is _kvscan.utm_plain


@needs_c
@pytest.mark.parametrize("text", [
    "", " ", "=", "a=", "a=b", " a=b ", "a=b c=d", 'a="x y" b=2', 'a="x y"b=2 c=3', 'a="open b=1',
    'a="" b=N/A c=N/Ax d="N/A"', "x-y=1 z=2", 'k"=1 m=2', "a==b", "a=b=c", "\ta=1\nb=2\rc=3\x0bd=4\x0ce=5",
    "a=1\x1cb=2", "a=1\x85b=2", "a=1\u3000b=2", "é=1 ké=2 k=é", "k=😀 😀=1", "a=1 a=2 b=3 a=4", "=x a=1",
    'a="x\ny" b="\t"', "a=b\\ c=d",
])
def test_known_texts(text: str) -> None:
    assert _items(_kvscan.pairs(text)) == _items(fortigate._pairs_py(text))


_chars = st.sampled_from([" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u3000", "=", '"', "a", "Z",
                          "0", "_", "-", "/", "N", "A", ".", "é", "😀", "\\"])


@needs_c
@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(_chars, st.sampled_from(["N/A", "srcip=", ' msg="', 'x="', "key=value "])),
                max_size=40).map("".join))
def test_generated_texts(text: str) -> None:
    assert _items(_kvscan.pairs(text)) == _items(fortigate._pairs_py(text))


@needs_c
@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_any_text(text: str) -> None:
    assert _items(_kvscan.pairs(text)) == _items(fortigate._pairs_py(text))


def _shared_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted((SHARED / "logs").rglob("*")):
        if path.is_file() and "forti" in str(path).lower() and path.suffix in (".log", ".ini", ".txt"):
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    if not lines:
        pytest.skip("no FortiGate lines in ../shared/logs")
    return lines


@needs_c
def test_shared_fortigate_lines() -> None:
    lines = _shared_lines()
    for line in lines:
        msg = re.sub(r"^.*?(?=\w+=)", "", line, count=1)
        assert _items(_kvscan.pairs(msg)) == _items(fortigate._pairs_py(msg)), line
    assert len(lines) > 50


@needs_c
def test_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        _kvscan.pairs(b"a=1")  # type: ignore[arg-type]


# --- moves(fw, table, doc): the table runner, against fortigate._moves_py ---------------------------------------

def _same_outcome(c: tuple[Any, ...], py: tuple[Any, ...]) -> None:
    """C and twin give the same result and state, or fail with the same exception type (where the failure
    stops the work may differ)."""
    if isinstance(c[0], type):
        assert py[0] is c[0]
    else:
        assert c == py


def _run_moves(fn: Any, fw: dict[str, Any], table: Any, doc: dict[str, Any]) -> tuple[Any, ...]:
    """Result, or the exception type, plus the state both dicts are left in (key order of ``fw`` included)."""
    try:
        out: Any = fn(fw, table, doc)
    except Exception as exc:  # noqa: BLE001 - the exception's type is the result compared
        out = type(exc)
    return out, list(fw.items()), doc


_TABLES = {"common": fortigate._MOVE_COMMON, "traffic": fortigate._MOVE_TRAFFIC,
           "common+traffic": fortigate._MOVE_COMMON_TRAFFIC, "utm": fortigate._MOVE_UTM,
           "common+utm": fortigate._MOVE_COMMON_UTM, "event": fortigate._MOVE_EVENT,
           "common+event": fortigate._MOVE_COMMON_EVENT}


def _doc() -> dict[str, Any]:
    return {"event": {"kind": "event"}, "observer": {"vendor": "Fortinet"}, "log": {"syslog": {"priority": 189}}}


@needs_c
@pytest.mark.parametrize("name", sorted(_TABLES))
def test_moves_shared_fortigate_lines(name: str) -> None:
    """The parser's own tables over every FortiGate record in ``../shared``."""
    lines = _shared_lines()
    moved = 0
    for line in lines:
        msg = re.sub(r"^.*?(?=\w+=)", "", line, count=1)
        c = _run_moves(_kvscan.moves, fortigate._pairs(msg), _TABLES[name], _doc())
        py = _run_moves(fortigate._moves_py, fortigate._pairs(msg), _TABLES[name], _doc())
        assert c == py, line
        moved += c[2] != _doc()
    assert moved > 50


_KEYS = st.sampled_from(["a", "b", "c", "dstport", "srcip", "service", "n", "é"])
_VALUES = st.one_of(
    st.sampled_from(["0", "7", "443", "0012", "+5", "-3", " 12", "1_000", "١٢", "²", "x", "Accept", "ÉTÉ", "", "N/A",
                     "9" * 18, "9" * 19, "1" * 5000, "12a", "TLS1.2"]),
    st.text(max_size=8), st.integers(), st.none())
_PATHS = st.lists(st.sampled_from(["source", "destination", "ip", "port", "event", "x"]), max_size=3).map(tuple)
_ENTRY = st.tuples(_PATHS, st.integers(min_value=0, max_value=6))


@needs_c
@settings(max_examples=3000, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=8), st.dictionaries(_KEYS, _ENTRY, max_size=8),
       st.dictionaries(st.sampled_from(["source", "event", "x"]),
                       st.one_of(st.just("text"), st.dictionaries(st.sampled_from(["ip", "y"]), st.just("v"))),
                       max_size=3))
def test_moves_generated(fw: dict[str, Any], table: dict[str, Any], doc: dict[str, Any]) -> None:
    """Any record, table (every kind, also unknown ones; empty, nested and clashing paths) and document."""
    import copy
    _same_outcome(_run_moves(_kvscan.moves, dict(fw), table, copy.deepcopy(doc)),
                  _run_moves(fortigate._moves_py, dict(fw), table, copy.deepcopy(doc)))


@needs_c
def test_moves_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError):
        _kvscan.moves({}, [], {})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _kvscan.moves({"a": "1"}, {"a": ["x", 0]}, {})
    fw = {"a": "1"}
    with pytest.raises(ValueError):
        _kvscan.moves(fw, {}, fw)
    with pytest.raises(ValueError):
        fortigate._moves_py(fw, {}, fw)


def test_tables_have_distinct_targets() -> None:
    """The order a table's moves run in (the smaller of record and table) must not matter: ``_table`` refuses
    a target written twice or inside another."""
    with pytest.raises(ValueError):
        fortigate._table({"a": (("x", "y"), fortigate.MOVE_STR)}, {"b": (("x", "y"), fortigate.MOVE_INT)})
    with pytest.raises(ValueError):
        fortigate._table({"a": (("x",), fortigate.MOVE_STR), "b": (("x", "y"), fortigate.MOVE_STR)})
    with pytest.raises(ValueError):
        fortigate._table({"a": (("x",), fortigate.MOVE_STR)}, {"a": (("y",), fortigate.MOVE_STR)})


# --- pairs_moves(text, doc, tables, take): tokeniser and table runner in one, against fortigate._pairs_moves_py -

def _run_pairs_moves(fn: Any, text: str, doc: dict[str, Any], tables: Any,
                     take: Any = fortigate._TIME_KEYS) -> tuple[Any, ...]:
    """The exception type, or the record, the marked keys, the document (as ``repr``: key order included) and the
    taken values."""
    try:
        fw, marked, taken = fn(text, doc, tables, take)
    except Exception as exc:  # noqa: BLE001 - the exception's type is the result compared
        return type(exc), repr(doc)
    return repr(fw), marked, repr(doc), taken


@needs_c
def test_pairs_moves_shared_fortigate_lines() -> None:
    """The parser's tables over every FortiGate record in ``../shared``, and over each record made a login message,
    a FortiOS 4.x record and a record of each other type (every table, and the general path)."""
    lines = _shared_lines()
    compared = moved = general = 0
    for line in lines:
        msg = re.sub(r"^.*?(?=\w+=)", "", line, count=1)
        for text in (msg, msg + ' msg="Administrator admin login failed"', msg + " src=10.0.0.1",
                     re.sub(r"\btype=\"?\w+\"?", "type=traffic", msg), re.sub(r"\btype=\"?\w+\"?", "type=event", msg),
                     re.sub(r"\btype=\"?\w+\"?", "type=dns", msg), re.sub(r"\btype=\"?\w+\"?", "", msg)):
            c = _run_pairs_moves(_kvscan.pairs_moves, text, _doc(), fortigate._TABLES_BY_TYPE)
            py = _run_pairs_moves(fortigate._pairs_moves_py, text, _doc(), fortigate._TABLES_BY_TYPE)
            assert c == py, text
            compared += 1
            moved += c[2] != repr(_doc())
            general += c[1] is None
    assert compared > 350 and moved > 200 and general > 100


_PM_KEYS = st.sampled_from(["type", "msg", "src", "dst", "dstport", "srcip", "service", "a", "b", "mark", "drop",
                            "n", "é", "typ", "msgs", "date", "tz", "AA"])
#: ``take`` tuples: the parser's, keys the tables or the type test also read, repeated keys, non-ASCII names (one
#: whose two-byte data reads "AA"), too many keys, a non-str.
_PM_TAKE = st.one_of(st.just(fortigate._TIME_KEYS),
                     st.lists(st.sampled_from(["date", "tz", "type", "msg", "src", "dstport", "mark", "é", "\u4141",
                                               "AA", ""]), max_size=9).map(tuple),
                     st.just(("date", 5)), st.just(["date"]))
_PM_VALUES = st.one_of(
    st.sampled_from(["traffic", "utm", "event", "dns", "other", "0", "443", "+5", " 12", "١٢", "x", "Accept", "ÉTÉ",
                     "", "N/A", "9" * 19, "12a", "user LOGIN ok", "Logged in", "logge", "blog", "lo gin", "état",
                     '"quoted value"', '"a b=c"', "login"]),
    st.text(alphabet="abcLOGINlogine 0é", max_size=8))
_PM_TABLE = st.dictionaries(_PM_KEYS, st.one_of(_ENTRY, st.just((("x",), 0)), st.just(None), st.just([(), 0])),
                            max_size=6)


@needs_c
@settings(max_examples=3000, deadline=None)
@given(st.lists(st.tuples(_PM_KEYS, _PM_VALUES), max_size=10).map(lambda kv: " ".join(f"{k}={v}" for k, v in kv)),
       st.dictionaries(st.one_of(st.none(), st.sampled_from(["traffic", "utm", "other"])), _PM_TABLE, max_size=3),
       st.dictionaries(st.sampled_from(["source", "event", "x"]),
                       st.one_of(st.just("text"), st.dictionaries(st.sampled_from(["ip", "y"]), st.just("v"))),
                       max_size=3),
       _PM_TAKE)
def test_pairs_moves_generated(text: str, tables: dict[Any, Any], doc: dict[str, Any], take: Any) -> None:
    """Any record (repeated keys, type/msg/src/dst, values int() and lower() treat apart, login-like messages),
    tables (every kind, bad entries, no default), document and keys to take."""
    _same_outcome(_run_pairs_moves(_kvscan.pairs_moves, text, copy.deepcopy(doc), tables, take),
                  _run_pairs_moves(fortigate._pairs_moves_py, text, copy.deepcopy(doc), tables, take))


@needs_c
def test_pairs_moves_repeated_keys() -> None:
    """A key that comes twice moves its last value to its first place; a last value ``int()`` refuses drops it."""
    tables: dict[str | None, Any] = {None: {"p": (("s", "port"), fortigate.MOVE_INT), "ip": (("s", "ip"), fortigate.MOVE_STR),
                     "m": ((), fortigate.MOVE_MARK), "c": ((), fortigate.MOVE_INT_INPLACE),
                     "t": ((), fortigate.MOVE_DROP)}}
    for fn in (_kvscan.pairs_moves, fortigate._pairs_moves_py):
        doc: dict[str, Any] = {}
        fw, marked, taken = fn("p=1 ip=a m=1 c=x k=1 p=2 ip=b m=2 c=7 t=1 date=d1 date=d2", doc, tables,
                               ("date", "time", "date"))
        assert (list(fw.items()), marked, doc, taken) == ([("m", "2"), ("c", 7), ("k", "1")], ["m"],
                                                           {"s": {"port": 2, "ip": "b"}}, ("d2", None, None))
        doc = {}
        fw, marked, taken = fn("p=1 ip=a p=x", doc, tables, ())
        assert (fw, marked, doc, taken) == ({}, [], {"s": {"ip": "a"}}, ())
        doc = {}
        fw, marked, taken = fn('p=1 msg="admin LogIn" time=t', doc, tables, ("time",))
        assert (fw, marked, doc, taken) == ({"p": "1", "msg": "admin LogIn"}, None, {}, ("t",))
        doc = {}  # a taken key is no longer the record's type, nor its message
        fw, marked, taken = fn('type=x msg="admin LogIn" ip=a', doc, {None: tables[None], "x": {}}, ("type", "msg"))
        assert (fw, marked, doc, taken) == ({}, [], {"s": {"ip": "a"}}, ("x", "admin LogIn"))


@needs_c
def test_pairs_moves_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError):
        _kvscan.pairs_moves(b"a=1", {}, {None: {}}, ())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _kvscan.pairs_moves("a=1", {}, [], ())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _kvscan.pairs_moves("a=1", {}, {None: {}})  # type: ignore[call-arg]
    for fn in (_kvscan.pairs_moves, fortigate._pairs_moves_py):
        with pytest.raises(KeyError):
            fn("a=1", {}, {}, ())
        with pytest.raises(TypeError):
            fn("a=1", {}, {None: ["a"]}, ())  # type: ignore[dict-item]
        for take in (["a"], ("a", 1), ("a",) * 9):
            with pytest.raises(TypeError):
                fn("a=1", {}, {None: {}}, take)  # type: ignore[arg-type]


# --- finish(doc, fw, consts): network totals, direction and related.*, against fortigate._finish_py ----------

def _run_finish(fn: Any, doc: dict[str, Any], fw: dict[str, Any]) -> tuple[str, str]:
    """The exception type or the document and record as ``repr`` (key order included, at every level)."""
    try:
        fn(doc, fw, fortigate._FINISH_CONSTS)
    except Exception as exc:  # noqa: BLE001 - the exception's type is the result compared
        return type(exc).__name__, ""
    return repr(doc), repr(fw)


def _finish_input(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A parsed document as ``finish`` finds it: what ``finish`` writes taken away; ``fortinet.firewall`` as the
    record."""
    doc = copy.deepcopy(doc)
    doc.pop("related", None)
    fw = doc.pop("fortinet", {}).get("firewall", {})
    net = doc.get("network")
    if net is not None:
        for k in ("bytes", "packets", "transport"):
            net.pop(k, None)
        if "direction" in net and len(net) > 1 and len(repr(doc)) % 2:
            fw["dir"] = net.pop("direction").upper()  # half of them: the direction from the record's key
        if not net:
            del doc["network"]
    return doc, fw


@needs_c
def test_finish_shared_fortigate_documents() -> None:
    """Every FortiGate record in ``../shared``, parsed, then taken back to what ``finish`` is given."""
    lines = _shared_lines()
    ctx = ParseContext()
    compared = with_related = 0
    for line in lines:
        try:
            parsed = fortigate.parse(line, ctx)
        except ParseError:
            continue
        doc, fw = _finish_input(parsed)
        c = _run_finish(_kvscan.finish, copy.deepcopy(doc), copy.deepcopy(fw))
        py = _run_finish(fortigate._finish_py, copy.deepcopy(doc), copy.deepcopy(fw))
        assert c == py, line
        compared += 1
        with_related += "'related'" in c[0]
    assert compared > 100 and with_related > 50


_IPS = st.sampled_from(["10.0.0.1", "8.8.8.8", "192.168.1.5", "fe80::1", "2001:db8::1", "not-an-ip", "", "1.1.1.1",
                        "127.0.0.1"])
_NAMES = st.one_of(st.sampled_from(["", "root", "admin", "ROOT", "host.example", "é"]), st.none(), st.integers(0, 2))


def _side() -> st.SearchStrategy[dict[str, Any]]:
    nat = st.dictionaries(st.sampled_from(["ip", "port"]), _IPS, max_size=2)
    user = st.dictionaries(st.sampled_from(["name", "group"]), _NAMES, max_size=2)
    return st.fixed_dictionaries({}, optional={
        "ip": _IPS, "bytes": st.integers(0, 10**12), "packets": st.integers(0, 10**6), "nat": nat, "user": user,
        "address": _NAMES, "mac": st.sampled_from(["aa:bb:cc:dd:ee:ff", "00.11.22", "x"]), "port": st.integers()})


_NETWORK = st.fixed_dictionaries({}, optional={
    "direction": st.sampled_from(["inbound", "x"]), "iana_number": st.sampled_from(["6", "17", "1", "99", "tcp"]),
    "application": st.just("dns")})
_DNS = st.fixed_dictionaries({}, optional={
    "resolved_ip": st.lists(_IPS, max_size=4), "question": st.dictionaries(st.just("name"), _NAMES, max_size=1)})
_FW = st.dictionaries(st.sampled_from(["dir", "direction", "ip", "assignip", "tunnelip", "other"]),
                      st.one_of(_IPS, st.sampled_from(["outgoing", "INCOMING", "internal", "Egress", "sideways",
                                                       "ÉGRESS"])), max_size=5)


@needs_c
@settings(max_examples=3000, deadline=None)
@given(st.fixed_dictionaries({"event": st.just({"kind": "event"})}, optional={
    "source": _side(), "destination": _side(), "network": _NETWORK, "dns": _DNS,
    "host": st.dictionaries(st.just("name"), _NAMES, max_size=1), "related": st.just({"ip": ["stale"]})}), _FW)
def test_finish_generated(doc: dict[str, Any], fw: dict[str, Any]) -> None:
    """Documents with any mix of sections (empty ones too), values that repeat across sides, falsy values,
    addresses of every class (the C code reads the classifier's cache, then calls it on a miss) and records with
    ``dir``/``direction`` of every spelling."""
    for _ in range(2):  # the second time the address classes are cached
        c = _run_finish(_kvscan.finish, copy.deepcopy(doc), dict(fw))
        py = _run_finish(fortigate._finish_py, copy.deepcopy(doc), dict(fw))
        assert c == py


@needs_c
def test_finish_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError):
        _kvscan.finish({}, {}, ())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _kvscan.finish({"source": "text"}, {}, fortigate._FINISH_CONSTS)
    with pytest.raises(AttributeError):
        fortigate._finish_py({"source": "text"}, {}, fortigate._FINISH_CONSTS)
    doc: dict[str, Any] = {}
    with pytest.raises(ValueError):
        _kvscan.finish(doc, doc, fortigate._FINISH_CONSTS)
    with pytest.raises(ValueError):
        fortigate._finish_py(doc, doc, fortigate._FINISH_CONSTS)


# --- head(line): a line's <PRI> and record, against fortigate._head_py ----------------------------------------

def _same_head(line: str) -> tuple[int, str] | None:
    c, py = _kvscan.head(line), fortigate._head_py(line)
    assert c == py, repr(line)
    if c is not None and py is not None:  # the same text in the same (narrowest) storage
        assert c[1].isascii() == py[1].isascii() and max(map(ord, c[1]), default=0) == max(map(ord, py[1]), default=0)
    return c


@needs_c
@pytest.mark.parametrize("line", [
    "", "<", "<>", "<1>", "<189>date=x", "<191>a=1", "<192>a=1", "<0>a=1", "<007>a=1", "<1234>a=1", "<12>A=1",
    "<12> a=1", "<12>=1", "<12>a", "<12>a_b=", "date=1 x", "_=1", "Date=1", " date=1", "a b=1", "<١٢>a=1",
    "<٢٠٠>a=1", "<²>a=1", "<1٢3>a=1", "<12>a=1\x00b=2\r\n", "a=1\x1fb=\x7f2\té", "<1>a=\x00😀\x1f",
    "a=1\x00€", "a=1\rĀ\x7f", "Dec 23 11:13:03 date=2011-07-24",
])
def test_head_known_lines(line: str) -> None:
    _same_head(line)


@needs_c
@settings(max_examples=5000, deadline=None)
@given(st.lists(st.sampled_from(["<", ">", "1", "9", "0", "١", "²", "a", "z", "_", "=", "A", " ", "\x00", "\r",
                                 "\x1f", "\x7f", "\n", "é", "€", "😀", "date=", "<189>", "<191>", "<192>", "<1234>"]),
                max_size=14).map("".join))
def test_head_generated(line: str) -> None:
    _same_head(line)


@needs_c
def test_head_shared_fortigate_lines() -> None:
    lines = _shared_lines()
    fast = sum(_same_head(line) is not None for line in lines)
    assert fast > 50
    with pytest.raises(TypeError):
        _kvscan.head(b"<1>a=1")  # type: ignore[arg-type]


# --- begin(line, tz, consts): a record's skeleton, pairs and cached time fields, against fortigate._begin_py ------

def _run_begin(fn: Any, line: str, tz: Any, consts: tuple[Any, ...]) -> Any:
    """The exception type, or the result as ``repr`` (key order of every dict included)."""
    try:
        return repr(fn(line, tz, consts))
    except Exception as exc:  # noqa: BLE001 - the exception's type is the result compared
        return type(exc)


def _begin_variants(line: str) -> list[str]:
    """The line, and the line with its time keys changed: each eventtime width, durations ``int()`` reads apart,
    no date, a time ``_date_time`` refuses."""
    sub = re.sub
    return [line, sub(r"\beventtime=\S+", "eventtime=1587229911", line),
            sub(r"\beventtime=\S+", "eventtime=1587229911390", line),
            sub(r"\beventtime=\S+", "eventtime=158722991139038548", line), line + " eventtime=158722991١",
            line + " eventtime=1587229911390385٤86", line + " duration=123456789", line + " duration=1234567890",
            line + " duration=+5", line + " duration=١٢", line + " duration=0", sub(r"\bdate=\S+", "", line),
            sub(r"\btime=\S+", "time=10:", line), line + ' tz="+0700"', line + " tz=-0500"]


@needs_c
def test_begin_shared_fortigate_lines() -> None:
    """Every FortiGate line in ``../shared`` and its time variants, caches cold then warm (``parse`` fills them):
    the same result, or None (a syslog header) for both."""
    from connectors.parsers.base import VIETNAM_TZ
    lines = [v for line in _shared_lines() for v in _begin_variants(line)]
    consts = fortigate._BEGIN_CONSTS
    fortigate._TS_CACHE.clear()
    fortigate._SEC_ISO.clear()
    compared = done = headers = 0
    ctx = ParseContext()
    for warm in (False, True):
        for line in lines:
            for tz in (VIETNAM_TZ, ctx.tz):
                c = _run_begin(_kvscan.begin, line, tz, consts)
                assert c == _run_begin(fortigate._begin_py, line, tz, consts), line
                compared += 1
                headers += c == "None"
                done += isinstance(c, str) and c.endswith(", None)")
        if not warm:
            for line in lines:
                with contextlib.suppress(ParseError):
                    fortigate.parse(line, ctx)
    assert compared > 1000 and headers > 50 and done > 300


_BG_DATES = st.sampled_from(["2020-04-23", "2020-4-23", "", "x"])
_BG_TIMES = st.sampled_from(["12:17:48", "1:2:3", "", "10:"])
_BG_ETIMES = st.sampled_from(["1587229911", "1587229911390", "1587229911390385486", "158722991١", "15872299113",
                              "1587229911390385٤86", "158722991139٠", "x", "1587229911390x"])
_BG_DURS = st.sampled_from(["0", "5", "123456789", "1234567890", "+5", "١٢", "-1", "05", "x"])


@needs_c
@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(st.tuples(st.just("date"), _BG_DATES), st.tuples(st.just("time"), _BG_TIMES),
                          st.tuples(st.just("tz"), st.sampled_from(["+0700", "-0500", "x"])),
                          st.tuples(st.just("eventtime"), _BG_ETIMES), st.tuples(st.just("duration"), _BG_DURS),
                          st.tuples(st.sampled_from(["type", "srcip", "msg", "src", "level"]),
                                    st.sampled_from(["traffic", "utm", "1.2.3.4", "login", "x"]))),
                max_size=8).map(lambda kv: " ".join(f"{k}={v}" for k, v in kv)),
       st.sampled_from(["", "<189>", "<0>", "<191>", "<192>", "Dec 23 11:13:03 ", "<12> "]),
       st.dictionaries(st.tuples(_BG_DATES, _BG_TIMES, st.sampled_from([None, "+0700", "x"]), st.just("Z")),
                       st.one_of(st.just(("2020-04-23T05:17:48.000Z", "+0700")), st.just(("t", None)),
                                 st.just(("t", "")), st.just(["t", None]), st.just(("t",))), max_size=4),
       st.dictionaries(st.sampled_from(["1587229911", "158722991١", "x"]),
                       st.one_of(st.just("2020-04-18T17:11:51."), st.just(5)), max_size=3))
def test_begin_generated(text: str, head: str, ts_cache: dict[Any, Any], sec_iso: dict[str, Any]) -> None:
    """Any time keys against any cache contents (hits, misses, entries of the wrong shape or type)."""
    line = head + text
    consts = (fortigate._TABLES_BY_TYPE, fortigate._TIME_KEYS, ts_cache, sec_iso, fortigate._MS3,
              fortigate._PRI_PARTS)
    assert _run_begin(_kvscan.begin, line, "Z", consts) == _run_begin(fortigate._begin_py, line, "Z", consts)


@needs_c
def test_begin_rejects_bad_arguments() -> None:
    good = fortigate._BEGIN_CONSTS
    cases: list[tuple[Any, ...]] = [
        (b"a=1", None, good), ("a=1", None, good[:5]), ("a=1", None, list(good)),
        ("a=1", None, (good[0], ("date",), *good[2:])), ("a=1", None, (*good[:2], [], *good[3:])),
        ("<189>a=1", None, (*good[:5], [])), ("<189>a=1", None, (*good[:5], [(1, 2)] * 192))]
    for args in cases:
        c, py = _run_begin(_kvscan.begin, *args), _run_begin(fortigate._begin_py, *args)
        assert isinstance(c, type) and issubclass(c, Exception), args
        assert isinstance(py, type) and issubclass(py, Exception), args


# --- end(doc, fw, tabled, consts): a record's last steps, against fortigate._end_py --------------------------------

def _run_end(fn: Any, doc: dict[str, Any], fw: dict[str, Any], tabled: Any) -> tuple[Any, ...]:
    """The exception type, or the document and record as ``repr`` (key order included, at every level)."""
    try:
        fn(doc, fw, tabled, fortigate._END_CONSTS)
    except Exception as exc:  # noqa: BLE001 - the exception's type is the result compared
        return (type(exc),)
    return repr(doc), repr(fw)


_END_EXTRA = ["", " interface=port9", " eventtype=e1", " reason=r1 eventsubtype=s1", " eventsubtype=s2",
              " lanin=12 wanout=x size=+5 quotamax=١٢", " dir=outgoing interface=p2", " dir=incoming interface=p3",
              " direction=internal interface=p4"]


@needs_c
def test_end_shared_fortigate_documents() -> None:
    """Every FortiGate record in ``../shared`` with extra keys ``end`` reads, taken to where ``parse`` calls it
    (``end`` replaced by a recorder), then run by both."""
    lines = _shared_lines()
    ctx = ParseContext()
    seen: list[tuple[dict[str, Any], dict[str, Any], bool]] = []
    real_end = fortigate._end
    fortigate._end = lambda doc, fw, tabled, consts: seen.append(  # type: ignore[assignment]
        (copy.deepcopy(doc), copy.deepcopy(fw), tabled))
    try:
        for line in lines:
            for extra in _END_EXTRA:
                with contextlib.suppress(ParseError):
                    fortigate.parse(line + extra, ctx)
    finally:
        fortigate._end = real_end
    compared = with_fw = 0
    for doc, fw, tabled in seen:
        c = _run_end(_kvscan.end, copy.deepcopy(doc), copy.deepcopy(fw), tabled)
        assert c == _run_end(fortigate._end_py, copy.deepcopy(doc), copy.deepcopy(fw), tabled), doc["event"]
        compared += 1
        with_fw += "'fortinet'" in c[0]
    assert compared > 500 and with_fw > 400


@needs_c
@settings(max_examples=3000, deadline=None)
@given(st.fixed_dictionaries({"event": st.dictionaries(st.sampled_from(["kind", "action", "reason"]),
                                                       st.just("x"), max_size=3),
                              "observer": st.dictionaries(st.sampled_from(["ingress", "egress", "name"]),
                                                          st.just({"interface": {"name": "p"}}), max_size=2)},
                             optional={"network": st.one_of(_NETWORK, st.just({"direction": 5})),
                                       "source": _side(), "destination": _side()}),
       st.dictionaries(st.sampled_from(["interface", "eventtype", "reason", "eventsubtype", "dir", "lanin", "size",
                                        "wanout", "other"]),
                       st.one_of(st.sampled_from(["12", "+5", "١٢", "x", "", "outgoing", "ingress", "egress"]),
                                 st.integers(), st.none(), st.floats(allow_nan=False)), max_size=6),
       st.sampled_from([True, False, 0, 1]))
def test_end_generated(doc: dict[str, Any], fw: dict[str, Any], tabled: Any) -> None:
    """Documents with and without the fields ``end`` checks first, any direction, counters ``int()`` reads, refuses
    or cannot take (None: TypeError), records left empty or not."""
    c = _run_end(_kvscan.end, copy.deepcopy(doc), dict(fw), tabled)
    assert c == _run_end(fortigate._end_py, copy.deepcopy(doc), dict(fw), tabled)


@needs_c
def test_end_rejects_bad_arguments() -> None:
    doc: dict[str, Any] = {"event": {}, "observer": {}}
    for fn in (_kvscan.end, fortigate._end_py):
        with pytest.raises(ValueError):
            fn(doc, doc, False, fortigate._END_CONSTS)
        with pytest.raises(TypeError):
            fn({"event": {}}, {}, False, fortigate._END_CONSTS)
        with pytest.raises(TypeError):
            fn({"event": [], "observer": {}}, {}, False, fortigate._END_CONSTS)
    with pytest.raises(TypeError):
        _kvscan.end({}, {}, False, ())  # type: ignore[arg-type]


# --- utm_plain(doc, fw, subtype, marked, consts): _utm without its rare parts, against fortigate._utm_plain_py ------

def _run_utm_plain(fn: Any, doc: Any, fw: Any, subtype: Any, marked: Any) -> tuple[Any, ...]:
    """The exception type, or the result with the document and record as ``repr`` (key order included)."""
    try:
        out = fn(doc, fw, subtype, marked, fortigate._UTM_PLAIN_CONSTS)
    except Exception as exc:  # noqa: BLE001 - the exception's type is the result compared
        return (type(exc),)
    return out, repr(doc), repr(fw)


_UTM_EXTRA = ["", " catdesc=a.b.c", " profile=p1", " user=u1", " srcip=10.9.9.9", " action=blocked",
              " action=passthrough", " policyid=7", " appcat=x.y", " subtype=dns qname=www.hue.gov.vn",
              " ipaddr=1.2.3.4", " dtype=d", " unauthuser=v", " scertcname=c"]


@needs_c
def test_utm_plain_shared_fortigate_documents() -> None:
    """Every FortiGate record in ``../shared`` with extra keys ``_utm`` reads, taken to where ``parse`` calls
    ``utm_plain`` (replaced by a recorder), then run by both."""
    lines = [line.replace("type=traffic", "type=utm").replace('type="event"', 'type="utm"')
             for line in _shared_lines()]
    ctx = ParseContext()
    seen: list[tuple[Any, ...]] = []
    real = fortigate._utm_plain

    def record(doc: Any, fw: Any, subtype: Any, marked: Any, consts: Any) -> bool:
        seen.append((copy.deepcopy(doc), copy.deepcopy(fw), subtype, list(marked)))
        return False

    fortigate._utm_plain = record  # type: ignore[assignment]
    try:
        for line in lines:
            for extra in _UTM_EXTRA:
                with contextlib.suppress(ParseError):
                    fortigate.parse(line + extra, ctx)
    finally:
        fortigate._utm_plain = real
    compared = done = 0
    for doc, fw, subtype, marked in seen:
        c = _run_utm_plain(_kvscan.utm_plain, copy.deepcopy(doc), dict(fw), subtype, list(marked))
        assert c == _run_utm_plain(fortigate._utm_plain_py, copy.deepcopy(doc), dict(fw), subtype, list(marked)), \
            doc["event"]
        compared += 1
        done += c[0] is True
    assert compared > 500 and 200 < done < compared


_SECTION = st.one_of(st.none(), st.just({}), st.just({"ip": "1.1.1.1"}), st.just({"user": {"name": "a"}}),
                     st.just({"user": {}}), st.just({"user": "x"}), st.just("x"), st.just({"name": 5}))


@needs_c
@settings(max_examples=3000, deadline=None)
@given(st.fixed_dictionaries({}, optional={
           "event": st.one_of(st.fixed_dictionaries({}, optional={
               "type": st.one_of(st.just(["connection"]), st.just([]), st.just("x"), st.none()),
               "category": st.one_of(st.just(["network"]), st.just(["web"]), st.just("x"), st.none()),
               "outcome": st.just("x")}), st.just([])),
           "source": _SECTION, "destination": _SECTION,
           "rule": st.one_of(st.none(), st.just({}), st.just({"category": "a.b"}), st.just({"category": 5}),
                             st.just({"ruleset": "r"}), st.just({"id": "1"})),
           "dns": st.one_of(st.none(), st.just({}), st.just({"question": {"name": "www.hue.gov.vn"}}),
                            st.just({"question": {"name": 5}}), st.just({"question": {}}), st.just({"question": 5}))}),
       st.dictionaries(st.sampled_from(["action", "srcip", "user", "catdesc", "policyid", "profile", "other", "ipaddr"]),
                       st.one_of(st.sampled_from(["block", "blocked", "pass", "passthrough", "x", "a.b", ""]),
                                 st.none(), st.integers()), max_size=6),
       st.sampled_from([None, "dns", "webfilter", 5, "", "d" + "ns"]),
       st.one_of(st.lists(st.sampled_from(["dst_int", "srcname", "ipaddr", "sni", "infectedfilename"]), max_size=2),
                 st.none(), st.just(("dst_int",))))
def test_utm_plain_generated(doc: dict[str, Any], fw: dict[str, Any], subtype: Any, marked: Any) -> None:
    """Documents of every shape (sections missing, empty, of other types), any values, marked lists with and without
    the keys that need ``_utm``'s rare parts."""
    c = _run_utm_plain(_kvscan.utm_plain, copy.deepcopy(doc), dict(fw), subtype, copy.copy(marked))
    assert c == _run_utm_plain(fortigate._utm_plain_py, copy.deepcopy(doc), dict(fw), subtype, copy.copy(marked))


@needs_c
def test_utm_plain_rejects_bad_arguments() -> None:
    bad: list[Any] = [(), (frozenset(),), [frozenset(), len, len], ([], len, len)]
    for fn in (_kvscan.utm_plain, fortigate._utm_plain_py):
        for consts in bad:
            with pytest.raises(TypeError):
                fn({}, {}, None, [], consts)
    with pytest.raises(TypeError):
        _kvscan.utm_plain({}, {}, None, [])  # type: ignore[call-arg]


"""The C tokeniser and table runner of FortiGate records (``connectors/parsers/_kvscan.c``) against their Python
definitions (``fortigate._pairs_py``, ``fortigate._moves_py``, ``fortigate._pairs_moves_py``,
``fortigate._finish_py``, ``fortigate._head_py``).

Both tokenisers must give the same pairs in the same order on any text: generated text over the characters that
matter to the grammar (blanks of every kind, ``=``, quotes, word and non-word characters, ``N/A``, and
non-ASCII text of each width CPython stores), and every FortiGate line in ``../shared``.
"""

from __future__ import annotations

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

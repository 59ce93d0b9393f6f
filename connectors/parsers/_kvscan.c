/*
 * connectors.parsers._kvscan: the key=value tokeniser of FortiGate records and its mapping-table runner, in C.
 *
 * pairs(text) gives exactly what fortigate.py's pure-Python path gives:
 *
 *     {k: v for k, q, u in _PAIR.findall(" " + text) if k and (v := q or u) and v != "N/A"}
 *     _PAIR = re.compile(r'\s(?:(\w++)|[^\s="]++)=(?:"([^"]*+)"|(\S*+))', re.ASCII)
 *
 * i.e. a blank, then a key of ASCII word characters (a key with other characters matches but is
 * dropped, as Elastic drops it), '=', then a quoted value (up to the next quote) or a run of
 * non-blanks; a record that fails to match at a position is retried one character later. Splitting is
 * about a third of a FortiGate line's parse time in Python; here it is a single pass.
 * tests/connectors/test_kvscan.py checks both give the same dict, key order included, on generated text.
 *
 * Safety: every read is PyUnicode_READ (or, for one-byte text, a byte) at an index checked against the
 * length; the only buffer written is pairs_moves' own array of pairs (each write checked against its capacity,
 * which grows with PyMem). Short repeated strings come from a bounded cache (see substring1).
 *
 * moves(fw, table, doc), below, runs fortigate.py's declarative mapping tables (see there); pairs_moves(text, doc,
 * tables) is pairs() and moves() in one pass (what fortigate.parse calls). finish(doc, fw, consts), last, is the
 * generic end of every record (direction, network totals, related.*).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* Classes of the ASCII characters (filled at import): \s and \w under re.ASCII. One load and test per character
 * instead of a chain of comparisons. */
enum { C_BLANK = 1, C_WORD = 2 };
static unsigned char ascii_class[128];

static void init_classes(void) {
    for (int c = 0; c < 128; c++) {
        const int blank = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
        const int word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        ascii_class[c] = (unsigned char)((blank ? C_BLANK : 0) | (word ? C_WORD : 0));
    }
}

static inline int is_blank(Py_UCS4 c) {
    return c < 128 && (ascii_class[c] & C_BLANK);
}

static inline int is_word(Py_UCS4 c) {
    return c < 128 && (ascii_class[c] & C_WORD);
}

/*
 * Short strings of one-byte texts (keys, and values such as "accept", "6", "root") repeat from record to
 * record: a small cache of them spares an allocation and, for keys, the hash computation of every dict
 * operation (a str caches its hash). Direct-mapped, bounded (CACHE_SLOTS strings of at most CACHE_MAX_LEN
 * characters), holding one strong reference per slot; the GIL serialises access.
 */
#define CACHE_SLOTS 1024
#define CACHE_MAX_LEN 24
/* Keys and values apart: values unique to a record (session ids, times) would otherwise evict keys, and a key
 * made anew costs its hash again in every dict it goes through. */
typedef struct {
    PyObject *str[CACHE_SLOTS];
    uint64_t a[CACHE_SLOTS], b[CACHE_SLOTS]; /* the slot's first and last 8 bytes (see substring1) */
} StrCache;
static StrCache key_cache, value_cache;

/* text[start:end] (Python indices) of a one-byte-kind str, from the cache when it is there. */
static PyObject *substring1(StrCache *cache, PyObject *text, const Py_UCS1 *data, Py_ssize_t start,
                            Py_ssize_t end) {
    const Py_ssize_t len = end - start;
    if (len <= 0 || len > CACHE_MAX_LEN) {
        return PyUnicode_Substring(text, start, end);
    }
    /* The slot: from the length and the first and last 8 bytes (all of a string of up to 16), a constant cost;
     * strings that share those only compete for a slot (the comparison below tells them apart). */
    const Py_UCS1 *p = data + start;
    uint64_t a = 0, b = 0;
    if (len >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + len - 8, 8);
    } else if (start + 8 <= PyUnicode_GET_LENGTH(text)) {
        /* (A short string with 8 bytes of the text from its start: one load, the bytes past it masked off. The
         * value differs from the loop's below, which only matters within one process: a slot is a hint.) */
        memcpy(&a, p, 8);
        a &= ~(uint64_t)0 >> (8 * (8 - len));
        b = 1;
    } else {
        for (Py_ssize_t j = 0; j < len; j++) {
            a = (a << 8) | p[j];
        }
    }
    uint64_t mix = (a * 0x9E3779B97F4A7C15u) ^ (b * 0xC2B2AE3D27D4EB4Fu) ^ (uint64_t)len;
    mix ^= mix >> 29;
    mix *= 0xBF58476D1CE4E5B9u;
    const size_t h = (size_t)(mix >> 40) % CACHE_SLOTS;
    PyObject *hit = cache->str[h];
    /* Same length and the same first and last 8 bytes: the same string when it has at most 16 (a and b hold all
     * of it), else the middle is compared too. (Only one-byte strings are cached.) */
    if (hit != NULL && cache->a[h] == a && cache->b[h] == b && PyUnicode_GET_LENGTH(hit) == len &&
        (len <= 16 || memcmp(PyUnicode_1BYTE_DATA(hit) + 8, p + 8, (size_t)(len - 16)) == 0)) {
        return Py_NewRef(hit);
    }
    PyObject *out = PyUnicode_Substring(text, start, end);
    if (out != NULL && PyUnicode_KIND(out) == PyUnicode_1BYTE_KIND) {
        if (cache == &key_cache) {
            /* A key as the interned str (the one the tables and parse's constants hold): every dict operation
             * on it then finds its entry by identity, without comparing characters. */
            PyUnicode_InternInPlace(&out);
        }
        Py_XSETREF(cache->str[h], Py_NewRef(out));
        cache->a[h] = a;
        cache->b[h] = b;
    }
    return out;
}

/* The record's pairs, in text order, for pairs_moves (strong references; entry/kind/path filled there). Up to
 * PAIRS_LOCAL pairs live on the stack; a longer record grows a heap array. */
#define PAIRS_LOCAL 64
typedef struct {
    PyObject *key, *value, *entry; /* entry: the table's (path, kind), or NULL */
    long kind;
} Pair;
typedef struct {
    Pair *items;
    Py_ssize_t len, cap;
    Pair local[PAIRS_LOCAL];
} PairBuf;

static void buf_init(PairBuf *b) {
    b->items = b->local;
    b->len = 0;
    b->cap = PAIRS_LOCAL;
}

/* Appends (key, value), stealing both references (released here on failure). 0, or -1 with an error set. */
static int buf_push(PairBuf *b, PyObject *key, PyObject *value) {
    if (b->len == b->cap) {
        const Py_ssize_t cap = b->cap * 2;
        Pair *grown = b->items == b->local ? PyMem_New(Pair, (size_t)cap) : PyMem_Resize(b->items, Pair, (size_t)cap);
        if (grown == NULL) {
            Py_DECREF(key);
            Py_DECREF(value);
            PyErr_NoMemory();
            return -1;
        }
        if (b->items == b->local) {
            memcpy(grown, b->local, sizeof(b->local));
        }
        b->items = grown;
        b->cap = cap;
    }
    b->items[b->len++] = (Pair){key, value, NULL, -1};
    return 0;
}

static void buf_clear(PairBuf *b) {
    for (Py_ssize_t j = 0; j < b->len; j++) {
        Py_DECREF(b->items[j].key);
        Py_DECREF(b->items[j].value);
        Py_XDECREF(b->items[j].entry);
    }
    if (b->items != b->local) {
        PyMem_Free(b->items);
    }
    buf_init(b);
}

/* The '='s of a one-byte text, up to 64: the most pairs it can hold, to size a dict once (growing a dict to a
 * record's ~30 keys would rebuild its table three times). */
static Py_ssize_t count_eqs(PyObject *arg) {
    Py_ssize_t eqs = 0;
    if (PyUnicode_KIND(arg) == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *p = PyUnicode_1BYTE_DATA(arg), *stop = p + PyUnicode_GET_LENGTH(arg);
        while (eqs < 64 && (p = memchr(p, '=', (size_t)(stop - p))) != NULL) {
            eqs++;
            p++;
        }
    }
    return eqs;
}

/* The scan, for one storage kind of the text (a constant after inlining: PyUnicode_READ's switch folds). Each
 * kept pair goes into the dict out (pairs) or, when out is NULL, onto buf (pairs_moves). 0, or -1 with an error. */
static inline __attribute__((always_inline)) int scan(PyObject *arg, const void *data, const Py_ssize_t n,
                                                      const int kind, PyObject *out, PairBuf *buf) {
    /* Positions p are in the text with a blank in front: p = 0 is that blank, p >= 1 is text[p - 1]. */
#define AT(p) PyUnicode_READ(kind, data, (p) - 1)
    Py_ssize_t i = 0;
    while (i <= n) {
        if (i > 0 && !is_blank(AT(i))) {
            i++;
            continue;
        }
        const Py_ssize_t key_start = i + 1;
        Py_ssize_t k = key_start;
        while (k <= n && is_word(AT(k))) {
            k++;
        }
        int word_key = 1;
        if (!(k > key_start && k <= n && AT(k) == '=')) {
            /* [^\s="]++ then '=': a key with other characters (matched, then dropped). */
            word_key = 0;
            k = key_start;
            while (k <= n) {
                const Py_UCS4 c = AT(k);
                if (is_blank(c) || c == '=' || c == '"') {
                    break;
                }
                k++;
            }
            if (!(k > key_start && k <= n && AT(k) == '=')) {
                i++;
                continue;
            }
        }
        const Py_ssize_t v = k + 1; /* first character of the value */
        Py_ssize_t vs = v, ve, end;
        Py_ssize_t e = v + 1;
        if (v <= n && AT(v) == '"') {
            if (kind == PyUnicode_1BYTE_KIND) {
                const Py_UCS1 *q = e <= n ? memchr((const Py_UCS1 *)data + (e - 1), '"', (size_t)(n - (e - 1))) : NULL;
                e = q != NULL ? (q - (const Py_UCS1 *)data) + 1 : n + 1;
            } else {
                while (e <= n && AT(e) != '"') {
                    e++;
                }
            }
        }
        if (v <= n && AT(v) == '"' && e <= n) {
            vs = v + 1; /* "([^"]*+)" */
            ve = e;
            end = e + 1;
        } else {
            ve = v; /* (\S*+), from the quote when it is never closed */
            while (ve <= n && !is_blank(AT(ve))) {
                ve++;
            }
            end = ve;
        }
        if (word_key && ve > vs &&
            !(ve - vs == 3 && AT(vs) == 'N' && AT(vs + 1) == '/' && AT(vs + 2) == 'A')) {
            PyObject *key = kind == PyUnicode_1BYTE_KIND ? substring1(&key_cache, arg, data, key_start - 1, k - 1)
                                                         : PyUnicode_Substring(arg, key_start - 1, k - 1);
            if (key == NULL) {
                return -1;
            }
            PyObject *val = kind == PyUnicode_1BYTE_KIND ? substring1(&value_cache, arg, data, vs - 1, ve - 1)
                                                         : PyUnicode_Substring(arg, vs - 1, ve - 1);
            if (val == NULL) {
                Py_DECREF(key);
                return -1;
            }
            int rc;
            if (out != NULL) {
                rc = PyDict_SetItem(out, key, val);
                Py_DECREF(key);
                Py_DECREF(val);
            } else {
                rc = buf_push(buf, key, val);
            }
            if (rc < 0) {
                return -1;
            }
        }
        i = end;
    }
#undef AT
    return 0;
}

/* Tokenises text (a str) into out or buf (see scan). 0, or -1 with an error set. */
static int tokenize(PyObject *arg, PyObject *out, PairBuf *buf) {
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(arg) < 0) { /* strings from legacy C APIs (gone in 3.12) */
        return -1;
    }
#endif
    const Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    const void *data = PyUnicode_DATA(arg);
    switch (PyUnicode_KIND(arg)) {
    case PyUnicode_1BYTE_KIND:
        return scan(arg, data, n, PyUnicode_1BYTE_KIND, out, buf);
    case PyUnicode_2BYTE_KIND:
        return scan(arg, data, n, PyUnicode_2BYTE_KIND, out, buf);
    default:
        return scan(arg, data, n, PyUnicode_4BYTE_KIND, out, buf);
    }
}

static PyObject *pairs(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "pairs() expects a str");
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(arg) < 0) {
        return NULL;
    }
#endif
    PyObject *out = _PyDict_NewPresized(count_eqs(arg));
    if (out == NULL) {
        return NULL;
    }
    if (tokenize(arg, out, NULL) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

/*
 * moves(fw, table, doc): executes a declarative mapping table built in Python (fortigate.py's _MOVE_*
 * tables; its pure-Python twin fortigate._moves_py is the definition, tests/connectors/test_kvscan.py
 * checks both agree). For each key both fw and table have (in the order of the smaller of the two, fw's
 * on a tie), entry = (path, kind):
 *   MOVE_STR 0 / MOVE_INT 1 / MOVE_LOWER 2: the key leaves fw; its value (as is, int(value), value.lower())
 *       is stored at doc[path[0]]...[path[-1]], creating missing dicts on the way. A value int() refuses
 *       (ValueError) is dropped with its key.
 *   MOVE_MARK 3: the key stays; it is appended to the returned list (keys Python handles itself).
 *   MOVE_INT_INPLACE 4: fw[key] = int(value) when int() accepts it.
 *   MOVE_DROP 5: the key leaves fw.
 * Returns the list of marked keys. The Elastic semantics (which key goes where, the conditional cases)
 * stay in Python; this only runs the table.
 */
enum { MOVE_STR, MOVE_INT, MOVE_LOWER, MOVE_MARK, MOVE_INT_INPLACE, MOVE_DROP };

static PyObject *str_lower; /* "lower", interned at import: looked up by object, not by C string */

/* int(value), or NULL with no error set when int() raises ValueError, or NULL with the error set. */
static PyObject *as_int(PyObject *value) {
    if (PyUnicode_CheckExact(value) && PyUnicode_IS_ASCII(value)) {
        /* ASCII digits only (counters, ports): what int() gives, without its general parser. */
        const Py_ssize_t len = PyUnicode_GET_LENGTH(value);
        const Py_UCS1 *d = PyUnicode_1BYTE_DATA(value);
        if (len > 0 && len <= 18) {
            long long acc = 0;
            Py_ssize_t j = 0;
            while (j < len && d[j] >= '0' && d[j] <= '9') {
                acc = acc * 10 + (d[j] - '0');
                j++;
            }
            if (j == len) {
                return PyLong_FromLongLong(acc);
            }
        }
    }
    PyObject *n = PyNumber_Long(value);
    if (n == NULL && PyErr_ExceptionMatches(PyExc_ValueError)) {
        PyErr_Clear();
    }
    return n;
}

/* The last top-level sections of doc stored into (strong references; dropped when a store may replace one,
 * i.e. a path of length 1), found by the identity of their name: table paths share interned names. */
#define MEMO 8 /* a traffic record writes into up to ~8 sections */
typedef struct {
    PyObject *name[MEMO];
    PyObject *dict[MEMO];
    int next;
} Memo;

static void memo_clear(Memo *memo) {
    for (int m = 0; m < MEMO; m++) {
        Py_CLEAR(memo->name[m]);
        Py_CLEAR(memo->dict[m]);
    }
    memo->next = 0;
}

/* doc[path[0]]...[path[-1]] = value (a new reference, consumed). 0, or -1 with an error set. */
static int store(PyObject *doc, PyObject *path, PyObject *value, Memo *memo) {
    const Py_ssize_t depth = PyTuple_GET_SIZE(path);
    PyObject *d = doc; /* borrowed */
    Py_ssize_t j = 0;
    if (depth == 1) {
        memo_clear(memo);
    } else {
        PyObject *name = PyTuple_GET_ITEM(path, 0);
        for (int m = 0; m < MEMO; m++) {
            if (memo->name[m] == name) {
                d = memo->dict[m];
                j = 1;
                break;
            }
        }
    }
    for (; j + 1 < depth; j++) {
        PyObject *name = PyTuple_GET_ITEM(path, j);
        PyObject *sub = PyDict_GetItemWithError(d, name); /* borrowed */
        if (sub == NULL) {
            if (PyErr_Occurred()) {
                Py_DECREF(value);
                return -1;
            }
            /* A section (source, destination, network...) gets 6 to 10 fields from the tables and the Python
             * code after them: made with room for 10, it is not rebuilt twice on the way. */
            sub = j == 0 ? _PyDict_NewPresized(10) : PyDict_New();
            if (sub == NULL) {
                Py_DECREF(value);
                return -1;
            }
            const int rc = PyDict_SetItem(d, name, sub);
            Py_DECREF(sub); /* d holds it */
            if (rc < 0) {
                Py_DECREF(value);
                return -1;
            }
        } else if (!PyDict_Check(sub)) {
            PyErr_Format(PyExc_TypeError, "moves(): %R is not a dict", name);
            Py_DECREF(value);
            return -1;
        }
        if (j == 0) {
            Py_XSETREF(memo->name[memo->next], Py_NewRef(name));
            Py_XSETREF(memo->dict[memo->next], Py_NewRef(sub));
            memo->next = (memo->next + 1) % MEMO;
        }
        d = sub;
    }
    const int rc = PyDict_SetItem(d, PyTuple_GET_ITEM(path, depth - 1), value);
    Py_DECREF(value);
    return rc;
}

/* One fw entry (key, value held as strong references: int() of a non-str value may run Python code). */
static int move_one(PyObject *fw, PyObject *doc, PyObject *marked, PyObject *gone, PyObject *key, PyObject *value,
                    PyObject *entry, Memo *memo) {
    if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2 || !PyTuple_Check(PyTuple_GET_ITEM(entry, 0)) ||
        !PyLong_Check(PyTuple_GET_ITEM(entry, 1))) {
        PyErr_Format(PyExc_TypeError, "moves(): table entry of %R is not (path tuple, kind)", key);
        return -1;
    }
    PyObject *path = PyTuple_GET_ITEM(entry, 0);
    const long kind = PyLong_AsLong(PyTuple_GET_ITEM(entry, 1));
    if (kind == -1 && PyErr_Occurred()) {
        return -1;
    }
    PyObject *out = NULL; /* new reference */
    switch (kind) {
    case MOVE_MARK:
        return PyList_Append(marked, key);
    case MOVE_INT_INPLACE: {
        out = as_int(value);
        if (out == NULL) {
            return PyErr_Occurred() ? -1 : 0;
        }
        /* Replacing the value of a present key is allowed during PyDict_Next. */
        const int rc = PyDict_SetItem(fw, key, out);
        Py_DECREF(out);
        return rc;
    }
    case MOVE_DROP:
        return PyList_Append(gone, key);
    case MOVE_STR:
    case MOVE_INT:
    case MOVE_LOWER:
        break;
    default:
        PyErr_Format(PyExc_ValueError, "moves(): unknown kind %ld for %R", kind, key);
        return -1;
    }
    if (PyTuple_GET_SIZE(path) < 1) {
        PyErr_Format(PyExc_TypeError, "moves(): empty target path for %R", key);
        return -1;
    }
    if (PyList_Append(gone, key) < 0) {
        return -1;
    }
    if (kind == MOVE_STR) {
        out = Py_NewRef(value);
    } else if (kind == MOVE_INT) {
        out = as_int(value);
        if (out == NULL) {
            return PyErr_Occurred() ? -1 : 0; /* not a number: dropped with its key */
        }
    } else {
        out = PyObject_CallMethodNoArgs(value, str_lower);
        if (out == NULL) {
            return -1;
        }
    }
    return store(doc, path, out, memo);
}

static PyObject *moves(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3 || !PyDict_Check(args[0]) || !PyDict_Check(args[1]) || !PyDict_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "moves(fw, table, doc) expects three dicts");
        return NULL;
    }
    PyObject *fw = args[0], *table = args[1], *doc = args[2];
    if (doc == fw) {
        PyErr_SetString(PyExc_ValueError, "moves(): doc must not be fw");
        return NULL;
    }
    Memo memo = {{NULL}, {NULL}, 0};
    PyObject *marked = PyList_New(0);
    PyObject *gone = PyList_New(0); /* keys to delete once the iteration is over */
    if (marked == NULL || gone == NULL) {
        goto fail;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value, *entry; /* borrowed */
    /* Visit the keys both have: by walking the smaller of the two and looking each key up in the other. */
    const int by_table = PyDict_GET_SIZE(table) < PyDict_GET_SIZE(fw);
    while (by_table ? PyDict_Next(table, &pos, &key, &entry) : PyDict_Next(fw, &pos, &key, &value)) {
        if (by_table) {
            value = PyDict_GetItemWithError(fw, key);
        } else {
            entry = PyDict_GetItemWithError(table, key);
        }
        if ((by_table ? value : entry) == NULL) {
            if (PyErr_Occurred()) {
                goto fail;
            }
            continue;
        }
        Py_INCREF(key);
        Py_INCREF(value);
        Py_INCREF(entry);
        const int rc = move_one(fw, doc, marked, gone, key, value, entry, &memo);
        Py_DECREF(entry);
        Py_DECREF(value);
        Py_DECREF(key);
        if (rc < 0) {
            goto fail;
        }
    }
    const Py_ssize_t ngone = PyList_GET_SIZE(gone);
    for (Py_ssize_t j = 0; j < ngone; j++) {
        if (PyDict_DelItem(fw, PyList_GET_ITEM(gone, j)) < 0) {
            goto fail;
        }
    }
    memo_clear(&memo);
    Py_DECREF(gone);
    return marked;
fail:
    memo_clear(&memo);
    Py_XDECREF(marked);
    Py_XDECREF(gone);
    return NULL;
}


/*
 * pairs_moves(text, doc, tables, take) -> (fw, marked, taken): pairs(text) and moves(fw, table, doc) in one pass,
 * where a key a one-target entry moves is written straight into doc and never enters (then leaves) fw. Its
 * definition is fortigate._pairs_moves_py (tests/connectors/test_kvscan.py checks both agree, key order included):
 *   - the pairs of text, as pairs() gives them (first positions, last values);
 *   - take: a tuple of up to TAKE_MAX str; taken[i] is the value of the key take[i] (None when absent, or when
 *     take names the key twice: its first place gets it), and those keys are not pairs for what follows (the
 *     record's time keys, which parse reads and never keeps);
 *   - when a key is "src" or "dst" (FortiOS 4.x names, renamed before any table runs) or the "msg" value may be a
 *     login ("login" or "logged" in it, ASCII case folded, or any non-ASCII character): (fw, None), all pairs;
 *   - else table = tables[type value] (tables[None] when the record has no type or tables not that one); each pair
 *     goes through it as moves() does: MOVE_STR/INT/LOWER stored in doc (fw's order: first occurrence, last
 *     value), MOVE_MARK kept and listed once, MOVE_INT_INPLACE kept as int() when int() accepts it, MOVE_DROP
 *     not kept; (fw, marked). Bad entries raise as in moves(), before doc is written to.
 */
static PyObject *str_type, *str_msg, *str_src, *str_dst; /* interned at import */
#define TAKE_MAX 8
#define TAKEN (-2) /* Pair.kind of a pair take took */

/* key == name for a key from the tokeniser (word characters: one-byte) and an interned ASCII name. */
static inline int key_is(PyObject *key, PyObject *name) {
    const Py_ssize_t len = PyUnicode_GET_LENGTH(name);
    return key == name || (PyUnicode_GET_LENGTH(key) == len && PyUnicode_KIND(key) == PyUnicode_1BYTE_KIND &&
                           memcmp(PyUnicode_1BYTE_DATA(key), PyUnicode_1BYTE_DATA(name), (size_t)len) == 0);
}

static inline Py_UCS1 ascii_lower(Py_UCS1 c) {
    return c >= 'A' && c <= 'Z' ? (Py_UCS1)(c + 32) : c;
}

/* 1 when msg may make a login record (fortigate.parse's test on msg.lower()): not ASCII, or "login"/"logged". */
static int maybe_login(PyObject *msg) {
    if (!PyUnicode_IS_ASCII(msg)) {
        return 1;
    }
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(msg);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(msg);
    for (Py_ssize_t j = 0; j + 5 <= n; j++) {
        if (ascii_lower(s[j]) == 'l' && ascii_lower(s[j + 1]) == 'o' && ascii_lower(s[j + 2]) == 'g') {
            const Py_UCS1 a = ascii_lower(s[j + 3]), b = ascii_lower(s[j + 4]);
            if ((a == 'i' && b == 'n') || (a == 'g' && b == 'e' && j + 6 <= n && ascii_lower(s[j + 5]) == 'd')) {
                return 1;
            }
        }
    }
    return 0;
}

/* The entry of p->key in table, checked as moves() checks it: p->entry (new reference) and p->kind, p->entry NULL
 * when the table has no such key. 0, or -1 with an error set. */
static int lookup(PyObject *table, Pair *p) {
    PyObject *entry = PyDict_GetItemWithError(table, p->key);
    if (entry == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2 || !PyTuple_Check(PyTuple_GET_ITEM(entry, 0)) ||
        !PyLong_Check(PyTuple_GET_ITEM(entry, 1))) {
        PyErr_Format(PyExc_TypeError, "moves(): table entry of %R is not (path tuple, kind)", p->key);
        return -1;
    }
    int overflow;
    const long kind = PyLong_AsLongAndOverflow(PyTuple_GET_ITEM(entry, 1), &overflow);
    if (kind == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow || kind < MOVE_STR || kind > MOVE_DROP) {
        PyErr_Format(PyExc_ValueError, "moves(): unknown kind for %R", p->key);
        return -1;
    }
    if (kind <= MOVE_LOWER && PyTuple_GET_SIZE(PyTuple_GET_ITEM(entry, 0)) < 1) {
        PyErr_Format(PyExc_TypeError, "moves(): empty target path for %R", p->key);
        return -1;
    }
    p->entry = Py_NewRef(entry);
    p->kind = kind;
    return 0;
}

/* The tuple of taken values (None for a slot with none), stealing the references in slots. */
static PyObject *taken_tuple(PyObject **slots, Py_ssize_t ntake) {
    PyObject *out = PyTuple_New(ntake);
    for (Py_ssize_t t = 0; t < ntake; t++) {
        PyObject *v = slots[t] != NULL ? slots[t] : Py_NewRef(Py_None);
        slots[t] = NULL;
        if (out == NULL) {
            Py_DECREF(v);
        } else {
            PyTuple_SET_ITEM(out, t, v);
        }
    }
    return out;
}

/* The tuple of (fw, marked, taken), stealing the three references (NULL: an error is set, all released). */
static PyObject *triple(PyObject *fw, PyObject *marked, PyObject *taken) {
    PyObject *out = taken != NULL ? PyTuple_Pack(3, fw, marked, taken) : NULL;
    Py_DECREF(fw);
    Py_DECREF(marked);
    Py_XDECREF(taken);
    return out;
}

static PyObject *pairs_moves(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 4 || !PyUnicode_Check(args[0]) || !PyDict_Check(args[1]) || !PyDict_Check(args[2]) ||
        !PyTuple_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "pairs_moves(text, doc, tables, take) expects a str, two dicts and a tuple");
        return NULL;
    }
    PyObject *doc = args[1], *tables = args[2], *take = args[3];
    const Py_ssize_t ntake = PyTuple_GET_SIZE(take);
    if (ntake > TAKE_MAX) {
        PyErr_SetString(PyExc_TypeError, "pairs_moves(): take holds more than 8 keys");
        return NULL;
    }
    /* Each take key's length and bytes (length -1: not ASCII, never a tokeniser key, which is ASCII). */
    Py_ssize_t take_len[TAKE_MAX];
    const Py_UCS1 *take_data[TAKE_MAX];
    for (Py_ssize_t t = 0; t < ntake; t++) {
        PyObject *name = PyTuple_GET_ITEM(take, t);
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "pairs_moves(): take holds a key that is not a str");
            return NULL;
        }
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(name) < 0) {
            return NULL;
        }
#endif
        const int ascii = PyUnicode_IS_ASCII(name);
        take_len[t] = ascii ? PyUnicode_GET_LENGTH(name) : -1;
        take_data[t] = ascii ? PyUnicode_1BYTE_DATA(name) : NULL;
    }
    PyObject *fw = NULL, *marked = NULL, *table = NULL;
    PyObject *slots[TAKE_MAX] = {NULL};
    Memo memo = {{NULL}, {NULL}, 0};
    PairBuf buf;
    buf_init(&buf);
    if (tokenize(args[0], NULL, &buf) < 0) {
        goto fail;
    }
    Pair *const ps = buf.items;
    const Py_ssize_t n = buf.len;
    Py_ssize_t type_at = -1, msg_at = -1;
    int general = 0; /* legacy names or a possible login: the caller runs the tables */
    for (Py_ssize_t j = 0; j < n; j++) {
        PyObject *key = ps[j].key;
        const Py_ssize_t len = PyUnicode_GET_LENGTH(key);
        Py_ssize_t t = 0;
        const Py_UCS1 *kd = PyUnicode_1BYTE_DATA(key); /* (tokeniser keys: ASCII word characters) */
        while (t < ntake && !(take_len[t] == len && PyUnicode_IS_ASCII(key) && (len == 0 || (take_data[t][0] == kd[0] &&
                                                                   memcmp(take_data[t], kd, (size_t)len) == 0)))) {
            t++;
        }
        if (t < ntake) { /* (the last value: pairs() keeps it) */
            Py_XSETREF(slots[t], Py_NewRef(ps[j].value));
            ps[j].kind = TAKEN;
        } else if (len == 4 && key_is(key, str_type)) {
            type_at = j;
        } else if (len == 3) {
            if (key_is(key, str_msg)) {
                msg_at = j;
            } else if (key_is(key, str_src) || key_is(key, str_dst)) {
                general = 1;
            }
        }
    }
    if (general || (msg_at >= 0 && maybe_login(ps[msg_at].value))) {
        fw = _PyDict_NewPresized(n);
        if (fw == NULL) {
            goto fail;
        }
        for (Py_ssize_t j = 0; j < n; j++) {
            if (ps[j].kind != TAKEN && PyDict_SetItem(fw, ps[j].key, ps[j].value) < 0) {
                goto fail;
            }
        }
        buf_clear(&buf);
        return triple(fw, Py_NewRef(Py_None), taken_tuple(slots, ntake));
    }
    table = PyDict_GetItemWithError(tables, type_at >= 0 ? ps[type_at].value : Py_None);
    if (table == NULL || table == Py_None) {
        if (PyErr_Occurred()) {
            goto fail;
        }
        table = PyDict_GetItemWithError(tables, Py_None);
        if (table == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetObject(PyExc_KeyError, Py_None);
            }
            goto fail;
        }
    }
    if (!PyDict_Check(table)) {
        PyErr_SetString(PyExc_TypeError, "pairs_moves(): a table is not a dict");
        table = NULL;
        goto fail;
    }
    Py_INCREF(table);
    Py_ssize_t kept = 0;
    for (Py_ssize_t j = 0; j < n; j++) {
        if (ps[j].kind == TAKEN) {
            continue;
        }
        if (lookup(table, &ps[j]) < 0) {
            goto fail;
        }
        kept += ps[j].entry == NULL || ps[j].kind == MOVE_MARK || ps[j].kind == MOVE_INT_INPLACE;
    }
    fw = _PyDict_NewPresized(kept);
    marked = PyList_New(0);
    if (fw == NULL || marked == NULL) {
        goto fail;
    }
    /* Kept pairs into fw; pairs to move gathered at the front of ps (first occurrence, last value). */
    Py_ssize_t nmoved = 0;
    for (Py_ssize_t j = 0; j < n; j++) {
        Pair *p = &ps[j];
        if (p->kind == TAKEN) {
            continue;
        }
        if (p->entry == NULL || p->kind == MOVE_MARK) {
            const Py_ssize_t size = PyDict_GET_SIZE(fw);
            if (PyDict_SetItem(fw, p->key, p->value) < 0 ||
                (p->entry != NULL && PyDict_GET_SIZE(fw) > size && PyList_Append(marked, p->key) < 0)) {
                goto fail;
            }
        } else if (p->kind == MOVE_INT_INPLACE) {
            PyObject *num = as_int(p->value);
            if (num == NULL && PyErr_Occurred()) {
                goto fail;
            }
            const int rc = PyDict_SetItem(fw, p->key, num != NULL ? num : p->value);
            Py_XDECREF(num);
            if (rc < 0) {
                goto fail;
            }
        } else if (p->kind != MOVE_DROP) {
            Py_ssize_t m = 0;
            /* (The same key has the same entry: the entry tells most keys apart at a pointer's cost.) */
            while (m < nmoved && (ps[m].entry != p->entry || !key_is(p->key, ps[m].key))) {
                m++;
            }
            if (m < nmoved) { /* a repeated key: its last value, at its first place */
                PyObject *tmp = ps[m].value;
                ps[m].value = p->value;
                p->value = tmp;
            } else {
                const Pair tmp = ps[nmoved];
                ps[nmoved] = *p;
                *p = tmp;
                nmoved++;
            }
        }
    }
    for (Py_ssize_t j = 0; j < nmoved; j++) {
        PyObject *out;
        if (ps[j].kind == MOVE_STR) {
            out = Py_NewRef(ps[j].value);
        } else if (ps[j].kind == MOVE_INT) {
            out = as_int(ps[j].value);
            if (out == NULL) {
                if (PyErr_Occurred()) {
                    goto fail;
                }
                continue; /* not a number: dropped with its key */
            }
        } else {
            out = PyObject_CallMethodNoArgs(ps[j].value, str_lower);
            if (out == NULL) {
                goto fail;
            }
        }
        if (store(doc, PyTuple_GET_ITEM(ps[j].entry, 0), out, &memo) < 0) {
            goto fail;
        }
    }
    memo_clear(&memo);
    buf_clear(&buf);
    Py_DECREF(table);
    return triple(fw, marked, taken_tuple(slots, ntake));
fail:
    memo_clear(&memo);
    buf_clear(&buf);
    for (Py_ssize_t t = 0; t < ntake; t++) {
        Py_XDECREF(slots[t]);
    }
    Py_XDECREF(table);
    Py_XDECREF(fw);
    Py_XDECREF(marked);
    return NULL;
}

/*
 * finish(doc, fw, consts): the generic end of every FortiGate record, whose definition is fortigate._finish_py
 * (tests/connectors/test_kvscan.py checks both agree, key order included). consts = (direction_from_ips,
 * iana_transport, directions, ecs_directions, classes), the Python function and tables it uses (classes:
 * direction_from_ips's cache, address -> True/False/None, read to skip the call when both addresses are in it):
 *   network.direction: fw's dir (else direction) popped, lower-cased, mapped by directions, "unknown" when not
 *       in ecs_directions; without either key direction_from_ips(source.ip, destination.ip) when not None;
 *       only when network has no direction yet;
 *   network.bytes / network.packets: source's + destination's, when both have one;
 *   network.transport: iana_transport[network.iana_number] when there;
 *   doc["network"] = network when it is not empty; source.mac upper-cased, ':' and '.' -> '-';
 *   related.ip (source, destination, their nat ips, fw's ip/assignip/tunnelip, dns.resolved_ip), related.user
 *   (source's, destination's user name), related.hosts (destination/source address, host.name,
 *   dns.question.name): first occurrences, in that order; doc["related"] when not empty.
 * A section is "absent" when missing or empty (Python's `doc.get(k) or {}`); a non-empty section that is not
 * a dict raises TypeError (the Python twin raises AttributeError there: not FortiGate output either way).
 */
enum {
    S_SOURCE, S_DESTINATION, S_NETWORK, S_IP, S_NAT, S_DIR, S_DIRECTION, S_BYTES, S_PACKETS, S_IANA, S_TRANSPORT,
    S_MAC, S_USER, S_NAME, S_DNS, S_RESOLVED, S_QUESTION, S_HOST, S_ADDRESS, S_ASSIGNIP, S_TUNNELIP, S_RELATED,
    S_HOSTS, S_UNKNOWN, S_UPPER, S_REPLACE, S_COLON, S_DOT, S_DASH, S_INTERNAL, S_OUTBOUND, S_INBOUND, S_EXTERNAL,
    S_COUNT
};
static const char *const names[S_COUNT] = {
    "source", "destination", "network", "ip", "nat", "dir", "direction", "bytes", "packets", "iana_number",
    "transport", "mac", "user", "name", "dns", "resolved_ip", "question", "host", "address", "assignip", "tunnelip",
    "related", "hosts", "unknown", "upper", "replace", ":", ".", "-", "internal", "outbound", "inbound", "external",
};
static PyObject *S[S_COUNT]; /* interned at import, never freed */

/* d[key] borrowed (NULL when d is NULL or the key is missing), or -1 with an error set. */
static int item(PyObject *d, int key, PyObject **out) {
    *out = d == NULL ? NULL : PyDict_GetItemWithError(d, S[key]);
    return *out == NULL && PyErr_Occurred() ? -1 : 0;
}

/* `d.get(key) or {}` of Python: *out a borrowed non-empty dict, or NULL for "empty". 0, or -1 with an error. */
static int section(PyObject *d, int key, PyObject **out) {
    PyObject *v;
    if (item(d, key, &v) < 0) {
        return -1;
    }
    *out = NULL;
    if (v == NULL) {
        return 0;
    }
    if (PyDict_Check(v)) {
        *out = PyDict_GET_SIZE(v) > 0 ? v : NULL;
        return 0;
    }
    const int t = PyObject_IsTrue(v);
    if (t < 0) {
        return -1;
    }
    if (t) {
        PyErr_Format(PyExc_TypeError, "finish(): %R is not a dict", S[key]);
        return -1;
    }
    return 0;
}

/* 1 when v is set and true, 0 when not, -1 on error. */
static int truthy(PyObject *v) {
    return v == NULL ? 0 : PyObject_IsTrue(v);
}

/* Append v to list when it is true and not already there: 0, or -1 with an error set. */
static int add_new(PyObject *list, PyObject *v) {
    const int t = truthy(v);
    if (t <= 0) {
        return t;
    }
    const int has = PySequence_Contains(list, v);
    if (has != 0) {
        return has < 0 ? -1 : 0;
    }
    return PyList_Append(list, v);
}

/* fw.pop(key) when fw has it (a new reference), else NULL; -1 with an error set. */
static int pop_key(PyObject *fw, int key, PyObject **out) {
    if (item(fw, key, out) < 0) {
        return -1;
    }
    if (*out != NULL) {
        Py_INCREF(*out);
        if (PyDict_DelItem(fw, S[key]) < 0) {
            Py_CLEAR(*out);
            return -1;
        }
    }
    return 0;
}

/* What direction_from_ips(sip, dip) returns, from its cache of address classes when both are there: 1 with *out
 * a new reference, 0 when the function must be called, -1 with an error set. */
static int direction_cached(PyObject *sip, PyObject *dip, PyObject *classes, PyObject **out) {
    if ((sip != NULL && !PyUnicode_CheckExact(sip)) || (dip != NULL && !PyUnicode_CheckExact(dip)) ||
        !PyDict_CheckExact(classes)) {
        return 0;
    }
    if (sip == NULL || dip == NULL || PyUnicode_GET_LENGTH(sip) == 0 || PyUnicode_GET_LENGTH(dip) == 0) {
        *out = Py_NewRef(Py_None); /* its `if not src or not dst: return None` */
        return 1;
    }
    PyObject *s = PyDict_GetItemWithError(classes, sip); /* borrowed: True, False or None */
    if (s == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *d = PyDict_GetItemWithError(classes, dip);
    if (d == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    if ((s != Py_True && s != Py_False && s != Py_None) || (d != Py_True && d != Py_False && d != Py_None)) {
        return 0;
    }
    if (s == Py_None || d == Py_None) {
        *out = Py_NewRef(Py_None);
    } else {
        *out = Py_NewRef(S[s == Py_True ? (d == Py_True ? S_INTERNAL : S_OUTBOUND)
                                         : (d == Py_True ? S_INBOUND : S_EXTERNAL)]);
    }
    return 1;
}

static int direction(PyObject *fw, PyObject *net, PyObject *sip, PyObject *dip, PyObject *consts) {
    PyObject *v = NULL; /* new reference */
    if (pop_key(fw, S_DIR, &v) < 0) {
        return -1;
    }
    if (v == NULL && pop_key(fw, S_DIRECTION, &v) < 0) {
        return -1;
    }
    PyObject *out = NULL; /* new reference */
    if (v != NULL && v != Py_None) {
        PyObject *low = PyObject_CallMethodNoArgs(v, str_lower);
        Py_DECREF(v);
        if (low == NULL) {
            return -1;
        }
        PyObject *mapped = PyDict_GetItemWithError(PyTuple_GET_ITEM(consts, 2), low); /* borrowed */
        if (mapped == NULL && PyErr_Occurred()) {
            Py_DECREF(low);
            return -1;
        }
        const int known = PySequence_Contains(PyTuple_GET_ITEM(consts, 3), mapped != NULL ? mapped : low);
        if (known < 0) {
            Py_DECREF(low);
            return -1;
        }
        out = Py_NewRef(known ? (mapped != NULL ? mapped : low) : S[S_UNKNOWN]);
        Py_DECREF(low);
    } else {
        Py_XDECREF(v);
        const int hit = direction_cached(sip, dip, PyTuple_GET_ITEM(consts, 4), &out);
        if (hit < 0) {
            return -1;
        }
        if (hit == 0) {
            PyObject *args[2] = {sip != NULL ? sip : Py_None, dip != NULL ? dip : Py_None};
            out = PyObject_Vectorcall(PyTuple_GET_ITEM(consts, 0), args, 2, NULL);
            if (out == NULL) {
                return -1;
            }
        }
        if (out == Py_None) {
            Py_DECREF(out);
            return 0;
        }
    }
    const int rc = PyDict_SetItem(net, S[S_DIRECTION], out);
    Py_DECREF(out);
    return rc;
}

/* net[key] = src[key] + dst[key] when both have it. */
static int total(PyObject *net, PyObject *src, PyObject *dst, int key) {
    PyObject *a, *b;
    if (item(src, key, &a) < 0 || item(dst, key, &b) < 0) {
        return -1;
    }
    if (a == NULL || b == NULL) {
        return 0;
    }
    Py_INCREF(a);
    Py_INCREF(b);
    PyObject *sum = PyNumber_Add(a, b);
    Py_DECREF(a);
    Py_DECREF(b);
    if (sum == NULL) {
        return -1;
    }
    const int rc = PyDict_SetItem(net, S[key], sum);
    Py_DECREF(sum);
    return rc;
}

/* source.mac: upper case, ':' and '.' -> '-'. */
static int fix_mac(PyObject *src) {
    PyObject *mac;
    if (item(src, S_MAC, &mac) < 0) {
        return -1;
    }
    if (mac == NULL) {
        return 0;
    }
    Py_INCREF(mac); /* held across the call, as elsewhere: a method may run Python code */
    PyObject *a = PyObject_CallMethodNoArgs(mac, S[S_UPPER]);
    Py_DECREF(mac);
    if (a == NULL) {
        return -1;
    }
    PyObject *b = PyObject_CallMethodObjArgs(a, S[S_REPLACE], S[S_COLON], S[S_DASH], NULL);
    Py_DECREF(a);
    if (b == NULL) {
        return -1;
    }
    PyObject *c = PyObject_CallMethodObjArgs(b, S[S_REPLACE], S[S_DOT], S[S_DASH], NULL);
    Py_DECREF(b);
    if (c == NULL) {
        return -1;
    }
    const int rc = PyDict_SetItem(src, S[S_MAC], c);
    Py_DECREF(c);
    return rc;
}

static int related(PyObject *doc, PyObject *fw, PyObject *src, PyObject *dst, PyObject *sip, PyObject *dip) {
    int rc = -1;
    PyObject *rel = NULL, *ips = PyList_New(0), *hosts = NULL;
    if (ips == NULL || add_new(ips, sip) < 0 || add_new(ips, dip) < 0) {
        goto done;
    }
    PyObject *snat, *dnat, *dns, *v;
    if (section(src, S_NAT, &snat) < 0 || section(dst, S_NAT, &dnat) < 0) {
        goto done;
    }
    static const int fw_ips[3] = {S_IP, S_ASSIGNIP, S_TUNNELIP};
    for (int j = 0; j < 2; j++) {
        if (item(j == 0 ? snat : dnat, S_IP, &v) < 0 || add_new(ips, v) < 0) {
            goto done;
        }
    }
    for (int j = 0; j < 3; j++) {
        if (item(fw, fw_ips[j], &v) < 0 || add_new(ips, v) < 0) {
            goto done;
        }
    }
    if (section(doc, S_DNS, &dns) < 0 || item(dns, S_RESOLVED, &v) < 0) {
        goto done;
    }
    const int have_resolved = truthy(v);
    if (have_resolved < 0) {
        goto done;
    }
    if (have_resolved) {
        PyObject *it = PyObject_GetIter(v);
        if (it == NULL) {
            goto done;
        }
        PyObject *ip;
        while ((ip = PyIter_Next(it)) != NULL) {
            const int has = PySequence_Contains(ips, ip);
            const int r = has != 0 ? has : PyList_Append(ips, ip);
            Py_DECREF(ip);
            if (r < 0) {
                Py_DECREF(it);
                goto done;
            }
        }
        Py_DECREF(it);
        if (PyErr_Occurred()) {
            goto done;
        }
    }
    rel = PyDict_New();
    if (rel == NULL || (PyList_GET_SIZE(ips) > 0 && PyDict_SetItem(rel, S[S_IP], ips) < 0)) {
        goto done;
    }
    PyObject *su, *du, *sname = NULL, *dname = NULL;
    if (section(src, S_USER, &su) < 0 || section(dst, S_USER, &du) < 0 || item(su, S_NAME, &sname) < 0 ||
        item(du, S_NAME, &dname) < 0) {
        goto done;
    }
    const int st = truthy(sname), dt = truthy(dname);
    if (st < 0 || dt < 0) {
        goto done;
    }
    if (st || dt) {
        int two = 0;
        if (st && dt) {
            two = PyObject_RichCompareBool(sname, dname, Py_NE);
            if (two < 0) {
                goto done;
            }
        }
        PyObject *users = PyList_New(two ? 2 : 1);
        if (users == NULL) {
            goto done;
        }
        PyList_SET_ITEM(users, 0, Py_NewRef(two || st ? sname : dname));
        if (two) {
            PyList_SET_ITEM(users, 1, Py_NewRef(dname));
        }
        const int r = PyDict_SetItem(rel, S[S_USER], users);
        Py_DECREF(users);
        if (r < 0) {
            goto done;
        }
    }
    PyObject *hd, *question, *cand[4];
    if (item(dst, S_ADDRESS, &cand[0]) < 0 || item(src, S_ADDRESS, &cand[1]) < 0 || section(doc, S_HOST, &hd) < 0 ||
        item(hd, S_NAME, &cand[2]) < 0 || section(dns, S_QUESTION, &question) < 0 ||
        item(question, S_NAME, &cand[3]) < 0) {
        goto done;
    }
    hosts = PyList_New(0);
    if (hosts == NULL) {
        goto done;
    }
    for (int j = 0; j < 4; j++) {
        if (add_new(hosts, cand[j]) < 0) {
            goto done;
        }
    }
    if (PyList_GET_SIZE(hosts) > 0 && PyDict_SetItem(rel, S[S_HOSTS], hosts) < 0) {
        goto done;
    }
    rc = PyDict_GET_SIZE(rel) > 0 ? PyDict_SetItem(doc, S[S_RELATED], rel) : 0;
done:
    Py_XDECREF(ips);
    Py_XDECREF(hosts);
    Py_XDECREF(rel);
    return rc;
}

static PyObject *finish(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3 || !PyDict_Check(args[0]) || !PyDict_Check(args[1]) || !PyTuple_Check(args[2]) ||
        PyTuple_GET_SIZE(args[2]) != 5 || !PyDict_Check(PyTuple_GET_ITEM(args[2], 2))) {
        PyErr_SetString(PyExc_TypeError,
                        "finish(doc, fw, consts) expects two dicts and (direction_from_ips, iana, directions, ecs, "
                        "classes)");
        return NULL;
    }
    PyObject *doc = args[0], *fw = args[1], *consts = args[2];
    if (doc == fw) {
        PyErr_SetString(PyExc_ValueError, "finish(): doc must not be fw");
        return NULL;
    }
    PyObject *src, *dst, *net, *sip, *dip, *v;
    int rc = -1;
    if (section(doc, S_SOURCE, &src) < 0 || section(doc, S_DESTINATION, &dst) < 0 ||
        section(doc, S_NETWORK, &net) < 0) {
        return NULL;
    }
    /* Held for the whole call: direction_from_ips and the methods called below may run any Python code. */
    Py_XINCREF(src);
    Py_XINCREF(dst);
    net = net != NULL ? Py_NewRef(net) : PyDict_New();
    sip = dip = NULL;
    if (net == NULL || item(src, S_IP, &sip) < 0 || item(dst, S_IP, &dip) < 0) {
        goto done;
    }
    Py_XINCREF(sip);
    Py_XINCREF(dip);
    if (item(net, S_DIRECTION, &v) < 0 || (v == NULL && direction(fw, net, sip, dip, consts) < 0)) {
        goto done;
    }
    if (total(net, src, dst, S_BYTES) < 0 || total(net, src, dst, S_PACKETS) < 0 || item(net, S_IANA, &v) < 0) {
        goto done;
    }
    if (v != NULL) {
        Py_INCREF(v);
        PyObject *tr = PyDict_GetItemWithError(PyTuple_GET_ITEM(consts, 1), v);
        Py_DECREF(v);
        if (tr == NULL ? PyErr_Occurred() != NULL : PyDict_SetItem(net, S[S_TRANSPORT], tr) < 0) {
            goto done;
        }
    }
    if ((PyDict_GET_SIZE(net) > 0 && PyDict_SetItem(doc, S[S_NETWORK], net) < 0) || fix_mac(src) < 0) {
        goto done;
    }
    rc = related(doc, fw, src, dst, sip, dip);
done:
    Py_XDECREF(sip);
    Py_XDECREF(dip);
    Py_XDECREF(net);
    Py_XDECREF(src);
    Py_XDECREF(dst);
    return rc < 0 ? NULL : Py_NewRef(Py_None);
}

/*
 * head(line) -> (pri, msg) or None: the front of a FortiGate line without the syslog header parser. Its definition
 * is fortigate._head_py (tests/connectors/test_kvscan.py checks both agree):
 *   - the line is "<PRI>" (1 to 3 decimal digits, Unicode ones included, as re's \d and int() take them) then
 *     a key ([a-z_]+ then '='), or starts with such a key: else None;
 *   - PRI above 191: None (not a syslog priority: the general header parser decides);
 *   - pri: the PRI's value, -1 without one; msg: the rest of the line, every character of [\x00-\x1f\x7f]
 *     removed when the rest holds a NUL, CR or \x1f.
 */
static inline int is_key_start(Py_UCS4 c) {
    return (c >= 'a' && c <= 'z') || c == '_';
}

/* [a-z_]+= at position pos of line (length n). */
static int key_ahead(int kind, const void *data, Py_ssize_t n, Py_ssize_t pos) {
    Py_ssize_t k = pos;
    while (k < n && is_key_start(PyUnicode_READ(kind, data, k))) {
        k++;
    }
    return k > pos && k < n && PyUnicode_READ(kind, data, k) == '=';
}

static inline int is_ctrl(Py_UCS4 c) {
    return c < 0x20 || c == 0x7f;
}

static PyObject *head(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "head() expects a str");
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(arg) < 0) {
        return NULL;
    }
#endif
    const int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    long pri = -1;
    Py_ssize_t start = 0;
    if (n > 0 && PyUnicode_READ(kind, data, 0) == '<') {
        Py_ssize_t k = 1;
        long value = 0;
        while (k < n && k <= 3) {
            const int d = Py_UNICODE_TODECIMAL(PyUnicode_READ(kind, data, k));
            if (d < 0) {
                break;
            }
            value = value * 10 + d;
            k++;
        }
        if (k == 1 || k >= n || PyUnicode_READ(kind, data, k) != '>' || !key_ahead(kind, data, n, k + 1)) {
            Py_RETURN_NONE;
        }
        pri = value;
        start = k + 1;
    } else if (!key_ahead(kind, data, n, 0)) {
        Py_RETURN_NONE;
    }
    if (pri > 191) {
        Py_RETURN_NONE;
    }
    int dirty = 0;
    if (kind == PyUnicode_1BYTE_KIND) { /* (memchr: what str's "in" does, a few instructions per 16 bytes) */
        const Py_UCS1 *s = (const Py_UCS1 *)data + start;
        const size_t len = (size_t)(n - start);
        dirty = memchr(s, 0, len) != NULL || memchr(s, '\r', len) != NULL || memchr(s, 0x1f, len) != NULL;
    } else {
        for (Py_ssize_t j = start; j < n && !dirty; j++) {
            const Py_UCS4 c = PyUnicode_READ(kind, data, j);
            dirty = c == 0 || c == '\r' || c == 0x1f;
        }
    }
    PyObject *msg;
    if (!dirty) {
        msg = PyUnicode_Substring(arg, start, n);
    } else { /* (rare) a copy without the control characters, in the narrowest storage that holds it */
        Py_UCS4 *buf = PyMem_New(Py_UCS4, (size_t)(n - start) + 1);
        if (buf == NULL) {
            return PyErr_NoMemory();
        }
        Py_ssize_t len = 0;
        for (Py_ssize_t j = start; j < n; j++) {
            const Py_UCS4 c = PyUnicode_READ(kind, data, j);
            if (!is_ctrl(c)) {
                buf[len++] = c;
            }
        }
        msg = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, len);
        PyMem_Free(buf);
    }
    if (msg == NULL) {
        return NULL;
    }
    PyObject *num = PyLong_FromLong(pri);
    if (num == NULL) {
        Py_DECREF(msg);
        return NULL;
    }
    PyObject *out = PyTuple_Pack(2, num, msg);
    Py_DECREF(num);
    Py_DECREF(msg);
    return out;
}

/*
 * begin(line, tz, consts): the start of fortigate.parse for a line without a syslog header, whose definition is
 * fortigate._begin_py (tests/connectors/test_kvscan.py checks both agree, key order included). None when head(line)
 * is None (the general header parser's line). Else (doc, fw, marked, taken): doc = {"event": {kind, module,
 * dataset, original}, "observer": {vendor, product, type}, ["log": {"syslog": ...}], "@timestamp": ""}, then
 * pairs_moves(msg, doc, tables, take). consts = (tables, take, ts_cache, sec_iso, ms3, pri_parts); take must name
 * five keys (date, time, tz, eventtime, duration). When the timestamp cache holds (date, time, tz, tz argument),
 * eventtime is absent or 10/13/19 decimal digits whose seconds sec_iso holds, and duration is absent or up to 9 ASCII
 * digits, @timestamp, event.timezone, event.start and event.duration are written and taken is None; else nothing
 * of them is written and taken is the tuple of the five values (the caller's general path).
 */
enum {
    B_EVENT, B_OBSERVER, B_KIND, B_MODULE, B_DATASET, B_ORIGINAL, B_VENDOR, B_PRODUCT, B_TYPE, B_LOG, B_SYSLOG,
    B_PRIORITY, B_FACILITY, B_SEVERITY, B_TIMESTAMP, B_TIMEZONE, B_START, B_DURATION, B_Z, B_FORTINET, B_DATASET_V,
    B_VENDOR_V, B_PRODUCT_V, B_FIREWALL, B_EMPTY, B_000Z, B_ACTION, B_EVENTTYPE, B_REASON, B_EVENTSUBTYPE,
    B_INTERFACE, B_INGRESS, B_EGRESS, B_COUNT
};
static const char *const bnames[B_COUNT] = {
    "event", "observer", "kind", "module", "dataset", "original", "vendor", "product", "type", "log", "syslog",
    "priority", "facility", "severity", "@timestamp", "timezone", "start", "duration", "Z", "fortinet",
    "fortinet.firewall", "Fortinet", "Fortigate", "firewall", "", "000Z", "action", "eventtype", "reason",
    "eventsubtype", "interface", "ingress", "egress",
};
static PyObject *B[B_COUNT]; /* interned at import, never freed */
/* {kind, module, dataset, original: ""} and {vendor, product, type}: made at import, copied per record. */
static PyObject *event_tpl, *observer_tpl;

static int make_templates(void) {
    event_tpl = _PyDict_NewPresized(12);
    observer_tpl = _PyDict_NewPresized(8);
    if (event_tpl == NULL || observer_tpl == NULL || PyDict_SetItem(event_tpl, B[B_KIND], B[B_EVENT]) < 0 ||
        PyDict_SetItem(event_tpl, B[B_MODULE], B[B_FORTINET]) < 0 ||
        PyDict_SetItem(event_tpl, B[B_DATASET], B[B_DATASET_V]) < 0 ||
        PyDict_SetItem(event_tpl, B[B_ORIGINAL], B[B_EMPTY]) < 0 ||
        PyDict_SetItem(observer_tpl, B[B_VENDOR], B[B_VENDOR_V]) < 0 ||
        PyDict_SetItem(observer_tpl, B[B_PRODUCT], B[B_PRODUCT_V]) < 0 ||
        PyDict_SetItem(observer_tpl, B[B_TYPE], B[B_FIREWALL]) < 0) {
        Py_CLEAR(event_tpl);
        Py_CLEAR(observer_tpl);
        return -1;
    }
    return 0;
}

/* d[B[key]] = value, stealing value (NULL: an error is already set). 0, or -1 with an error. */
static int put_new(PyObject *d, int key, PyObject *value) {
    if (value == NULL) {
        return -1;
    }
    const int rc = PyDict_SetItem(d, B[key], value);
    Py_DECREF(value);
    return rc;
}

/* The time fields from the caches: 1 written, 0 not (nothing written), -1 error. */
static int times_fast(PyObject *doc, PyObject *event, PyObject *taken, PyObject *tz, PyObject *cache,
                      PyObject *sec_iso, PyObject *ms3) {
    PyObject *date = PyTuple_GET_ITEM(taken, 0), *time = PyTuple_GET_ITEM(taken, 1);
    PyObject *tzk = PyTuple_GET_ITEM(taken, 2), *et = PyTuple_GET_ITEM(taken, 3), *dur = PyTuple_GET_ITEM(taken, 4);
    int t = PyObject_IsTrue(date);
    if (t > 0) {
        t = PyObject_IsTrue(time);
    }
    if (t <= 0) {
        return t;
    }
    PyObject *key = PyTuple_Pack(4, date, time, tzk, tz);
    if (key == NULL) {
        return -1;
    }
    PyObject *hit = PyDict_GetItemWithError(cache, key); /* borrowed */
    Py_DECREF(key);
    if (hit == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    if (!PyTuple_CheckExact(hit) || PyTuple_GET_SIZE(hit) != 2) {
        return 0;
    }
    Py_INCREF(hit); /* (the cache may be cleared by what runs below) */
    PyObject *start = NULL, *ms = NULL, *nanos = NULL;
    int rc = 0;
    if (et != Py_None) {
        if (!PyUnicode_Check(et)) {
            goto done;
        }
        const Py_ssize_t n = PyUnicode_GET_LENGTH(et);
        if (n == 10) { /* seconds: sec_iso's keys are ASCII digits */
            PyObject *prefix = PyDict_GetItemWithError(sec_iso, et); /* borrowed */
            if (prefix == NULL) {
                rc = PyErr_Occurred() ? -1 : 0;
                goto done;
            }
            start = PyUnicode_Concat(prefix, B[B_000Z]);
            if (start == NULL) {
                rc = -1;
                goto done;
            }
            goto seconds_done;
        }
        if (n != 19 && n != 13) {
            goto done;
        }
        PyObject *sec = PyUnicode_Substring(et, 0, 10);
        if (sec == NULL) {
            rc = -1;
            goto done;
        }
        PyObject *prefix = PyDict_GetItemWithError(sec_iso, sec); /* borrowed */
        Py_DECREF(sec);
        if (prefix == NULL) {
            rc = PyErr_Occurred() ? -1 : 0;
            goto done;
        }
        Py_INCREF(prefix);
        ms = PyUnicode_Substring(et, 10, 13);
        const int in = ms == NULL ? -1 : PySequence_Contains(ms3, ms);
        if (in <= 0) {
            Py_DECREF(prefix);
            rc = in;
            goto done;
        }
        const int kind = PyUnicode_KIND(et);
        const void *data = PyUnicode_DATA(et);
        for (Py_ssize_t j = 0; j < n; j++) {
            if (!Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, j))) {
                Py_DECREF(prefix);
                goto done;
            }
        }
        PyObject *part = PyUnicode_Concat(prefix, ms);
        Py_DECREF(prefix);
        start = part == NULL ? NULL : PyUnicode_Concat(part, B[B_Z]);
        Py_XDECREF(part);
        if (start == NULL) {
            rc = -1;
            goto done;
        }
    }
seconds_done:
    if (dur != Py_None) {
        if (!PyUnicode_Check(dur) || !PyUnicode_IS_ASCII(dur)) {
            goto done;
        }
        const Py_ssize_t n = PyUnicode_GET_LENGTH(dur);
        const Py_UCS1 *d = PyUnicode_1BYTE_DATA(dur);
        if (n < 1 || n > 9) {
            goto done;
        }
        long long v = 0;
        for (Py_ssize_t j = 0; j < n; j++) {
            if (d[j] < '0' || d[j] > '9') {
                goto done;
            }
            v = v * 10 + (d[j] - '0');
        }
        nanos = PyLong_FromLongLong(v * 1000000000LL);
        if (nanos == NULL) {
            rc = -1;
            goto done;
        }
    }
    PyObject *zone = PyTuple_GET_ITEM(hit, 1);
    const int has_zone = PyObject_IsTrue(zone);
    if (has_zone < 0 || PyDict_SetItem(doc, B[B_TIMESTAMP], PyTuple_GET_ITEM(hit, 0)) < 0 ||
        (has_zone && PyDict_SetItem(event, B[B_TIMEZONE], zone) < 0) ||
        (start != NULL && PyDict_SetItem(event, B[B_START], start) < 0) ||
        (nanos != NULL && PyDict_SetItem(event, B[B_DURATION], nanos) < 0)) {
        rc = -1;
        goto done;
    }
    rc = 1;
done:
    Py_DECREF(hit);
    Py_XDECREF(start);
    Py_XDECREF(ms);
    Py_XDECREF(nanos);
    return rc;
}

static PyObject *begin(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyTuple_Check(args[2]) || PyTuple_GET_SIZE(args[2]) != 6) {
        PyErr_SetString(PyExc_TypeError, "begin(line, tz, consts) expects a str, a zone and a 6-tuple");
        return NULL;
    }
    PyObject *line = args[0], *tz = args[1], *consts = args[2];
    PyObject *tables = PyTuple_GET_ITEM(consts, 0), *take = PyTuple_GET_ITEM(consts, 1);
    PyObject *cache = PyTuple_GET_ITEM(consts, 2), *sec_iso = PyTuple_GET_ITEM(consts, 3);
    PyObject *ms3 = PyTuple_GET_ITEM(consts, 4), *pri_parts = PyTuple_GET_ITEM(consts, 5);
    if (!PyDict_Check(cache) || !PyDict_Check(sec_iso) || !PyList_Check(pri_parts) || !PyTuple_Check(take) ||
        PyTuple_GET_SIZE(take) != 5) {
        PyErr_SetString(PyExc_TypeError, "begin(): consts must be (tables, 5 take keys, dict, dict, set, list)");
        return NULL;
    }
    PyObject *hd = head(NULL, line);
    if (hd == NULL || hd == Py_None) {
        return hd;
    }
    PyObject *pri = PyTuple_GET_ITEM(hd, 0), *msg = PyTuple_GET_ITEM(hd, 1);
    const long p = PyLong_AsLong(pri);
    PyObject *doc = NULL, *event = NULL, *observer = NULL, *res = NULL, *out = NULL;
    /* Copies of the templates (a copy of a small dict is a block copy, and keeps the template's room for what
     * the tables and the Python code add later: no resize on the way). */
    event = PyDict_Copy(event_tpl);
    observer = PyDict_Copy(observer_tpl);
    doc = _PyDict_NewPresized(14);
    if (event == NULL || observer == NULL || doc == NULL || PyDict_SetItem(event, B[B_ORIGINAL], line) < 0 ||
        PyDict_SetItem(doc, B[B_EVENT], event) < 0 || PyDict_SetItem(doc, B[B_OBSERVER], observer) < 0) {
        goto fail;
    }
    if (p >= 0) {
        if (p >= PyList_GET_SIZE(pri_parts)) {
            PyErr_SetString(PyExc_IndexError, "begin(): no pri_parts entry for this priority");
            goto fail;
        }
        PyObject *pp = PyList_GET_ITEM(pri_parts, p);
        if (!PyTuple_Check(pp) || PyTuple_GET_SIZE(pp) != 2 || !PyDict_Check(PyTuple_GET_ITEM(pp, 0)) ||
            !PyDict_Check(PyTuple_GET_ITEM(pp, 1))) {
            PyErr_SetString(PyExc_TypeError, "begin(): a pri_parts entry is not (dict, dict)");
            goto fail;
        }
        PyObject *sysl = PyDict_New(), *log = PyDict_New();
        const int rc = sysl == NULL || log == NULL || PyDict_SetItem(sysl, B[B_PRIORITY], pri) < 0 ||
                       put_new(sysl, B_FACILITY, PyDict_Copy(PyTuple_GET_ITEM(pp, 0))) < 0 ||
                       put_new(sysl, B_SEVERITY, PyDict_Copy(PyTuple_GET_ITEM(pp, 1))) < 0 ||
                       PyDict_SetItem(log, B[B_SYSLOG], sysl) < 0 || PyDict_SetItem(doc, B[B_LOG], log) < 0;
        Py_XDECREF(sysl);
        Py_XDECREF(log);
        if (rc) {
            goto fail;
        }
    } else if (PyErr_Occurred()) {
        goto fail;
    }
    if (PyDict_SetItem(doc, B[B_TIMESTAMP], B[B_EMPTY]) < 0) {
        goto fail;
    }
    PyObject *pm_args[4] = {msg, doc, tables, take};
    res = pairs_moves(NULL, pm_args, 4);
    if (res == NULL) {
        goto fail;
    }
    PyObject *taken = PyTuple_GET_ITEM(res, 2);
    const int done = times_fast(doc, event, taken, tz, cache, sec_iso, ms3);
    if (done < 0) {
        goto fail;
    }
    out = PyTuple_Pack(4, doc, PyTuple_GET_ITEM(res, 0), PyTuple_GET_ITEM(res, 1), done ? Py_None : taken);
fail:
    Py_DECREF(hd);
    Py_XDECREF(res);
    Py_XDECREF(doc);
    Py_XDECREF(event);
    Py_XDECREF(observer);
    return out;
}

/*
 * end(doc, fw, tabled, consts): the end of fortigate.parse, whose definition is fortigate._end_py (test_kvscan.py
 * checks both agree, key order included): event.action from eventtype and event.reason from reason (else
 * eventsubtype) when the event has none; finish(doc, fw, consts[0]); the observer's ingress/egress interface from
 * fw's interface by network.direction; when not tabled, the counters named by consts[1] int()-ed in place where
 * int() takes them; doc["fortinet"] = {"firewall": fw} when fw is not empty.
 */
/* target[tkey] = fw.pop(key) when fw has key: 1, else 0; -1 with an error. */
static int pop_into(PyObject *fw, PyObject *key, PyObject *target, PyObject *tkey) {
    PyObject *v = PyDict_GetItemWithError(fw, key);
    if (v == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    Py_INCREF(v);
    int rc = PyDict_DelItem(fw, key);
    if (rc == 0) {
        rc = PyDict_SetItem(target, tkey, v);
    }
    Py_DECREF(v);
    return rc < 0 ? -1 : 1;
}

/* 1 when v == one of the three names (Python's `v in (a, b, c)`), 0 not, -1 error. */
static int one_of(PyObject *v, PyObject *a, PyObject *b, PyObject *c) {
    PyObject *names[3] = {a, b, c};
    for (int j = 0; j < 3; j++) {
        const int eq = PyObject_RichCompareBool(v, names[j], Py_EQ);
        if (eq != 0) {
            return eq;
        }
    }
    return 0;
}

/* observer[side] = {"interface": {"name": fw.pop("interface")}}. 0, or -1 with an error. */
static int put_interface(PyObject *observer, PyObject *side, PyObject *fw) {
    PyObject *v = PyDict_GetItemWithError(fw, B[B_INTERFACE]);
    if (v == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetObject(PyExc_KeyError, B[B_INTERFACE]);
        }
        return -1;
    }
    Py_INCREF(v);
    PyObject *name = NULL, *outer = NULL;
    int rc = PyDict_DelItem(fw, B[B_INTERFACE]);
    if (rc == 0) {
        name = PyDict_New();
        outer = PyDict_New();
        rc = name == NULL || outer == NULL || PyDict_SetItem(name, S[S_NAME], v) < 0 ||
             PyDict_SetItem(outer, B[B_INTERFACE], name) < 0 || PyDict_SetItem(observer, side, outer) < 0 ? -1 : 0;
    }
    Py_DECREF(v);
    Py_XDECREF(name);
    Py_XDECREF(outer);
    return rc;
}

static PyObject *end(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 4 || !PyDict_Check(args[0]) || !PyDict_Check(args[1]) || !PyTuple_Check(args[3]) ||
        PyTuple_GET_SIZE(args[3]) != 2 || !PyTuple_Check(PyTuple_GET_ITEM(args[3], 1))) {
        PyErr_SetString(PyExc_TypeError, "end(doc, fw, tabled, consts) expects two dicts, a flag and a 2-tuple");
        return NULL;
    }
    PyObject *doc = args[0], *fw = args[1], *consts = args[3];
    if (doc == fw) {
        PyErr_SetString(PyExc_ValueError, "end(): doc must not be fw");
        return NULL;
    }
    const int tabled = PyObject_IsTrue(args[2]);
    if (tabled < 0) {
        return NULL;
    }
    PyObject *event = PyDict_GetItemWithError(doc, B[B_EVENT]);
    PyObject *observer = event == NULL ? NULL : PyDict_GetItemWithError(doc, B[B_OBSERVER]);
    if (event == NULL || observer == NULL || !PyDict_Check(event) || !PyDict_Check(observer)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "end(): doc needs event and observer dicts");
        }
        return NULL;
    }
    Py_INCREF(event); /* (finish may run Python code) */
    Py_INCREF(observer);
    PyObject *out = NULL;
    int c = PyDict_Contains(event, B[B_ACTION]);
    if (c < 0 || (c == 0 && pop_into(fw, B[B_EVENTTYPE], event, B[B_ACTION]) < 0)) {
        goto done;
    }
    c = PyDict_Contains(event, B[B_REASON]);
    if (c == 0) {
        c = pop_into(fw, B[B_REASON], event, B[B_REASON]);
        if (c == 0) {
            c = pop_into(fw, B[B_EVENTSUBTYPE], event, B[B_REASON]);
        }
    }
    if (c < 0) {
        goto done;
    }
    PyObject *fin_args[3] = {doc, fw, PyTuple_GET_ITEM(consts, 0)};
    PyObject *fin = finish(NULL, fin_args, 3);
    if (fin == NULL) {
        goto done;
    }
    Py_DECREF(fin);
    c = PyDict_Contains(fw, B[B_INTERFACE]);
    if (c < 0) {
        goto done;
    }
    if (c) {
        PyObject *net = PyDict_GetItemWithError(doc, S[S_NETWORK]);
        PyObject *direction = Py_None;
        if (net == NULL && PyErr_Occurred()) {
            goto done;
        }
        const int has = net == NULL ? 0 : PyObject_IsTrue(net);
        if (has < 0) {
            goto done;
        }
        if (has) {
            if (!PyDict_Check(net)) {
                PyErr_SetString(PyExc_AttributeError, "end(): network is not a dict");
                goto done;
            }
            direction = PyDict_GetItemWithError(net, S[S_DIRECTION]);
            if (direction == NULL) {
                if (PyErr_Occurred()) {
                    goto done;
                }
                direction = Py_None;
            }
        }
        Py_INCREF(direction);
        int side = -1; /* B_INGRESS, B_EGRESS or none */
        c = PyDict_Contains(observer, B[B_INGRESS]);
        if (c == 0) {
            c = one_of(direction, B[B_INGRESS], S[S_INBOUND], S[S_INTERNAL]);
            side = c > 0 ? B_INGRESS : -1;
        } else {
            c = c < 0 ? -1 : 0;
        }
        if (c == 0) {
            c = PyDict_Contains(observer, B[B_EGRESS]);
            if (c == 0) {
                c = one_of(direction, B[B_EGRESS], S[S_OUTBOUND], S[S_EXTERNAL]);
                side = c > 0 ? B_EGRESS : -1;
            } else {
                c = c < 0 ? -1 : 0;
            }
        }
        Py_DECREF(direction);
        if (c < 0 || (side >= 0 && put_interface(observer, B[side], fw) < 0)) {
            goto done;
        }
    }
    if (!tabled) {
        PyObject *keys = PyTuple_GET_ITEM(consts, 1);
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(keys); j++) {
            PyObject *k = PyTuple_GET_ITEM(keys, j);
            PyObject *v = PyDict_GetItemWithError(fw, k);
            if (v == NULL) {
                if (PyErr_Occurred()) {
                    goto done;
                }
                continue;
            }
            Py_INCREF(v);
            PyObject *n = as_int(v); /* (to_int: None where int() raises ValueError or TypeError) */
            Py_DECREF(v);
            if (n == NULL) {
                if (!PyErr_Occurred()) {
                    continue;
                }
                if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
                    goto done;
                }
                PyErr_Clear();
                continue;
            }
            const int rc = PyDict_SetItem(fw, k, n);
            Py_DECREF(n);
            if (rc < 0) {
                goto done;
            }
        }
    }
    if (PyDict_GET_SIZE(fw) > 0) {
        PyObject *fortinet = PyDict_New();
        if (fortinet == NULL || PyDict_SetItem(fortinet, B[B_FIREWALL], fw) < 0 ||
            PyDict_SetItem(doc, B[B_FORTINET], fortinet) < 0) {
            Py_XDECREF(fortinet);
            goto done;
        }
        Py_DECREF(fortinet);
    }
    out = Py_NewRef(Py_None);
done:
    Py_DECREF(event);
    Py_DECREF(observer);
    return out;
}

/*
 * utm_plain(doc, fw, subtype, marked, consts): fortigate._utm(doc, fw, subtype, marked, True) for a UTM record
 * whose marked list names none of consts[0] (the keys only _utm's rare, TLS and file parts read), which it then
 * runs without those parts: True. False (nothing done) when marked names one. Definition: fortigate._utm_plain_py
 * (test_kvscan.py checks both agree, key order included). consts = (keys, registered_domain, _utm). A document of
 * other shapes than parse makes (a section that is not a dict, a value that is not a str...) goes to _utm itself.
 */
enum {
    U_CATEGORY, U_OUTCOME, U_SUCCESS, U_DENIED, U_INFO, U_ALLOWED, U_BLOCK, U_BLOCKED, U_PASS, U_PASSTHROUGH,
    U_SRCIP, U_RULE, U_CATDESC, U_POLICYID, U_ID, U_RULESET, U_PROFILE, U_UPDATE, U_COUNT
};
static const char *const unames[U_COUNT] = {
    "category", "outcome", "success", "denied", "info", "allowed", "block", "blocked", "pass", "passthrough",
    "srcip", "rule", "catdesc", "policyid", "id", "ruleset", "profile", "update",
};
static PyObject *U[U_COUNT]; /* interned at import, never freed */

/* d.get(key) (borrowed) when it is absent or of type `type` exactly: 1; 0 when it is something else; -1 error. */
static int get_typed(PyObject *d, PyObject *key, PyTypeObject *type, PyObject **out) {
    *out = PyDict_GetItemWithError(d, key);
    if (*out == NULL) {
        return PyErr_Occurred() ? -1 : 1;
    }
    return Py_IS_TYPE(*out, type) ? 1 : 0;
}

/* 1 when the exact str v equals the interned name, else 0 (v may be NULL). */
static inline int str_is(PyObject *v, int name) {
    return v != NULL && (v == U[name] || PyUnicode_Compare(v, U[name]) == 0);
}

/* list.append(name): 0, or -1 with an error. */
static inline int append_u(PyObject *list, PyObject *name) {
    return PyList_Append(list, name);
}

static PyObject *utm_plain(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 5 || !PyTuple_Check(args[4]) || PyTuple_GET_SIZE(args[4]) != 3 ||
        !PyAnySet_Check(PyTuple_GET_ITEM(args[4], 0))) {
        PyErr_SetString(PyExc_TypeError, "utm_plain(doc, fw, subtype, marked, consts) expects a 3-tuple of consts "
                                         "(a set, two callables)");
        return NULL;
    }
    PyObject *doc = args[0], *fw = args[1], *subtype = args[2], *marked = args[3];
    PyObject *keys = PyTuple_GET_ITEM(args[4], 0);
    if (!PyList_Check(marked)) {
        Py_RETURN_FALSE;
    }
    for (Py_ssize_t j = 0; j < PyList_GET_SIZE(marked); j++) {
        const int has = PySet_Contains(keys, PyList_GET_ITEM(marked, j));
        if (has != 0) {
            if (has < 0) {
                return NULL;
            }
            Py_RETURN_FALSE;
        }
    }
    /* The shapes parse makes, checked before anything changes; any other goes to _utm. */
    PyObject *event = NULL, *action = NULL, *types = NULL, *cats = NULL, *src = NULL, *dst = NULL, *user = NULL;
    PyObject *rule = NULL, *rcat = NULL, *catdesc = NULL, *dns = NULL, *q = NULL;
    int ok = PyDict_CheckExact(doc) && PyDict_CheckExact(fw) && doc != fw &&
             (subtype == Py_None || PyUnicode_CheckExact(subtype));
    int rc;
#define TYPED(d, key, type, out) \
    if (ok) { \
        rc = get_typed((d), (key), (type), (out)); \
        if (rc < 0) { \
            return NULL; \
        } \
        ok = rc; \
    }
    TYPED(doc, B[B_EVENT], &PyDict_Type, &event);
    ok = ok && event != NULL;
    TYPED(fw, B[B_ACTION], &PyUnicode_Type, &action);
    TYPED(event, B[B_TYPE], &PyList_Type, &types);
    TYPED(event, U[U_CATEGORY], &PyList_Type, &cats);
    TYPED(doc, S[S_SOURCE], &PyDict_Type, &src);
    TYPED(doc, S[S_DESTINATION], &PyDict_Type, &dst);
    if (src != NULL) {
        TYPED(src, S[S_USER], &PyDict_Type, &user);
    }
    TYPED(doc, U[U_RULE], &PyDict_Type, &rule);
    if (rule != NULL) {
        TYPED(rule, U[U_CATEGORY], &PyUnicode_Type, &rcat);
    }
    TYPED(fw, U[U_CATDESC], &PyUnicode_Type, &catdesc);
    TYPED(doc, S[S_DNS], &PyDict_Type, &dns);
    if (dns != NULL) {
        TYPED(dns, S[S_QUESTION], &PyDict_Type, &q);
    }
#undef TYPED
    (void)user;
    (void)rcat;
    (void)catdesc;
    if (!ok) {
        PyObject *call[5] = {doc, fw, subtype, marked, Py_True};
        PyObject *r = PyObject_Vectorcall(PyTuple_GET_ITEM(args[4], 2), call, 5, NULL);
        if (r == NULL) {
            return NULL;
        }
        Py_DECREF(r);
        Py_RETURN_TRUE;
    }
    PyObject *out = NULL, *v = NULL;
    /* (Held: comparisons below may run Python code.) */
    Py_INCREF(event);
    Py_XINCREF(dst);
    Py_XINCREF(src);
    Py_XINCREF(rule);
    Py_XINCREF(cats);
    Py_XINCREF(q);
    /* event.type, event.outcome, event.category */
    if (types == NULL) {
        types = PyList_New(0);
        if (types == NULL) {
            goto done;
        }
    } else {
        Py_INCREF(types);
    }
    if ((str_is(action, U_BLOCK) || str_is(action, U_BLOCKED)) && append_u(types, U[U_DENIED]) < 0) {
        goto done_types;
    }
    if (subtype != Py_None && (subtype == S[S_DNS] || PyUnicode_Compare(subtype, S[S_DNS]) == 0) &&
        append_u(types, U[U_INFO]) < 0) {
        goto done_types;
    }
    if ((str_is(action, U_PASS) || str_is(action, U_PASSTHROUGH)) && append_u(types, U[U_ALLOWED]) < 0) {
        goto done_types;
    }
    if (PyList_GET_SIZE(types) > 0 && PyDict_SetItem(event, B[B_TYPE], types) < 0) {
        goto done_types;
    }
    Py_CLEAR(types);
    if (action != NULL && PyDict_SetItem(event, U[U_OUTCOME], U[U_SUCCESS]) < 0) {
        goto done;
    }
    if (cats == NULL) {
        v = PyList_New(1);
        if (v == NULL) {
            goto done;
        }
        PyList_SET_ITEM(v, 0, Py_NewRef(S[S_NETWORK]));
        rc = PyDict_SetItem(event, U[U_CATEGORY], v);
        Py_CLEAR(v);
        if (rc < 0) {
            goto done;
        }
    } else {
        rc = PySequence_Contains(cats, S[S_NETWORK]);
        if (rc < 0 || (rc == 0 && PyList_Append(cats, S[S_NETWORK]) < 0)) {
            goto done;
        }
    }
    /* source.ip, source.user.name */
    if (src == NULL && ((src = PyDict_New()) == NULL || PyDict_SetItem(doc, S[S_SOURCE], src) < 0)) {
        goto done;
    }
    rc = PyDict_Contains(fw, U[U_SRCIP]);
    if (rc > 0) {
        rc = PyDict_Contains(src, S[S_IP]);
        if (rc == 0) {
            rc = pop_into(fw, U[U_SRCIP], src, S[S_IP]);
        }
    }
    if (rc < 0) {
        goto done;
    }
    rc = PyDict_Contains(fw, S[S_USER]);
    if (rc > 0) {
        PyObject *u = PyDict_GetItemWithError(src, S[S_USER]);
        rc = u == NULL ? (PyErr_Occurred() ? -1 : 0) : PyDict_Check(u) ? PyDict_Contains(u, S[S_NAME]) : -3;
        if (rc == -3) {
            PyErr_SetString(PyExc_TypeError, "utm_plain(): source.user is not a dict");
            rc = -1;
        }
        if (rc == 0) {
            if (u == NULL) {
                v = PyDict_New();
                if (v == NULL || PyDict_SetItem(src, S[S_USER], v) < 0) {
                    goto done;
                }
                u = v;
            }
            rc = pop_into(fw, S[S_USER], u, S[S_NAME]);
            Py_CLEAR(v);
        }
    }
    if (rc < 0) {
        goto done;
    }
    /* rule.category, rule.id, rule.ruleset */
    if (rule == NULL && ((rule = PyDict_New()) == NULL || PyDict_SetItem(doc, U[U_RULE], rule) < 0)) {
        goto done;
    }
    rc = PyDict_Contains(rule, U[U_CATEGORY]);
    if (rc == 0) {
        rc = pop_into(fw, U[U_CATDESC], rule, U[U_CATEGORY]);
    }
    if (rc < 0) {
        goto done;
    }
    PyObject *cat = PyDict_GetItemWithError(rule, U[U_CATEGORY]); /* (a str: checked above, or catdesc's) */
    if (cat != NULL) {
        v = PyUnicode_Check(cat) ? PyUnicode_Replace(cat, S[S_DOT], S[S_DASH], -1)
                                 : PyObject_CallMethod(cat, "replace", "OO", S[S_DOT], S[S_DASH]);
        if (v == NULL || PyDict_SetItem(rule, U[U_CATEGORY], v) < 0) {
            goto done;
        }
        Py_CLEAR(v);
    } else if (PyErr_Occurred()) {
        goto done;
    }
    if (pop_into(fw, U[U_POLICYID], rule, U[U_ID]) < 0) {
        goto done;
    }
    rc = PyDict_Contains(rule, U[U_RULESET]);
    if (rc < 0) {
        goto done;
    }
    if (rc == 0) {
        v = PyDict_GetItemWithError(fw, U[U_PROFILE]);
        if (v != NULL) {
            Py_INCREF(v);
            if (PyDict_DelItem(fw, U[U_PROFILE]) < 0 || (v != Py_None && PyDict_SetItem(rule, U[U_RULESET], v) < 0)) {
                goto done;
            }
            Py_CLEAR(v);
        } else if (PyErr_Occurred()) {
            goto done;
        }
    }
    /* dns.question: registered_domain(name) */
    if (q != NULL) {
        PyObject *name = PyDict_GetItemWithError(q, S[S_NAME]);
        if (name != NULL) {
            Py_INCREF(name);
            v = PyObject_CallOneArg(PyTuple_GET_ITEM(args[4], 1), name);
            Py_DECREF(name);
            rc = v == NULL ? -1 : PyDict_Check(v) ? PyDict_Update(q, v) : -2;
            if (rc == -2) {
                PyObject *r = PyObject_CallMethodOneArg(q, U[U_UPDATE], v);
                rc = r == NULL ? -1 : 0;
                Py_XDECREF(r);
            }
            Py_CLEAR(v);
            if (rc < 0) {
                goto done;
            }
        } else if (PyErr_Occurred()) {
            goto done;
        }
    }
    if (PyDict_GET_SIZE(src) == 0 && PyDict_DelItem(doc, S[S_SOURCE]) < 0) {
        goto done;
    }
    if (dst != NULL && PyDict_GET_SIZE(dst) == 0 && PyDict_DelItem(doc, S[S_DESTINATION]) < 0) {
        goto done;
    }
    if (PyDict_GET_SIZE(rule) == 0 && PyDict_DelItem(doc, U[U_RULE]) < 0) {
        goto done;
    }
    out = Py_NewRef(Py_True);
    goto done;
done_types:
    Py_CLEAR(types);
done:
    Py_XDECREF(v);
    Py_DECREF(event);
    Py_XDECREF(dst);
    Py_XDECREF(src);
    Py_XDECREF(rule);
    Py_XDECREF(cats);
    Py_XDECREF(q);
    return out;
}

static PyMethodDef methods[] = {
    {"head", head, METH_O, "head(line) -> (pri, msg) or None: a FortiGate line's <PRI> and record (see "
     "fortigate._head_py)."},
    {"pairs", pairs, METH_O,
     "pairs(text) -> dict: FortiGate key=value pairs (word keys, non-empty values other than N/A)."},
    {"moves", (PyCFunction)(void (*)(void))moves, METH_FASTCALL,
     "moves(fw, table, doc) -> list: run a FortiGate mapping table (see fortigate._moves_py)."},
    {"pairs_moves", (PyCFunction)(void (*)(void))pairs_moves, METH_FASTCALL,
     "pairs_moves(text, doc, tables, take) -> (fw, marked or None, taken): pairs() then moves() fused (see "
     "fortigate._pairs_moves_py)."},
    {"finish", (PyCFunction)(void (*)(void))finish, METH_FASTCALL,
     "finish(doc, fw, consts) -> None: network totals, direction, related.* (see fortigate._finish_py)."},
    {"begin", (PyCFunction)(void (*)(void))begin, METH_FASTCALL,
     "begin(line, tz, consts) -> None or (doc, fw, marked, taken or None): a FortiGate record's skeleton, pairs "
     "and cached time fields (see fortigate._begin_py)."},
    {"end", (PyCFunction)(void (*)(void))end, METH_FASTCALL,
     "end(doc, fw, tabled, consts) -> None: a FortiGate record's last steps (see fortigate._end_py)."},
    {"utm_plain", (PyCFunction)(void (*)(void))utm_plain, METH_FASTCALL,
     "utm_plain(doc, fw, subtype, marked, consts) -> bool: a UTM record without rare keys (see "
     "fortigate._utm_plain_py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kvscan", "FortiGate key=value tokeniser (see fortigate.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kvscan(void) {
    if (str_lower == NULL) {
        str_lower = PyUnicode_InternFromString("lower");
        if (str_lower == NULL) {
            return NULL;
        }
    }
    init_classes();
    PyObject **interned[4] = {&str_type, &str_msg, &str_src, &str_dst};
    const char *const interned_names[4] = {"type", "msg", "src", "dst"};
    for (int j = 0; j < 4; j++) {
        if (*interned[j] == NULL && (*interned[j] = PyUnicode_InternFromString(interned_names[j])) == NULL) {
            return NULL;
        }
    }
    for (int j = 0; j < B_COUNT; j++) {
        if (B[j] == NULL && (B[j] = PyUnicode_InternFromString(bnames[j])) == NULL) {
            return NULL;
        }
    }
    if (event_tpl == NULL && make_templates() < 0) {
        return NULL;
    }
    for (int j = 0; j < S_COUNT; j++) {
        if (S[j] == NULL && (S[j] = PyUnicode_InternFromString(names[j])) == NULL) {
            return NULL;
        }
    }
    for (int j = 0; j < U_COUNT; j++) {
        if (U[j] == NULL && (U[j] = PyUnicode_InternFromString(unames[j])) == NULL) {
            return NULL;
        }
    }
    return PyModule_Create(&module);
}

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
 * length; no buffer is written. Short repeated strings come from a bounded cache (see substring1).
 *
 * moves(fw, table, doc), below, runs fortigate.py's declarative mapping tables (see there).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static inline int is_blank(Py_UCS4 c) {
    /* \s under re.ASCII */
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static inline int is_word(Py_UCS4 c) {
    /* \w under re.ASCII */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * Short strings of one-byte texts (keys, and values such as "accept", "6", "root") repeat from record to
 * record: a small cache of them spares an allocation and, for keys, the hash computation of every dict
 * operation (a str caches its hash). Direct-mapped, bounded (CACHE_SLOTS strings of at most CACHE_MAX_LEN
 * characters), holding one strong reference per slot; the GIL serialises access.
 */
#define CACHE_SLOTS 1024
#define CACHE_MAX_LEN 24
static PyObject *cache[CACHE_SLOTS];

/* text[start:end] (Python indices) of a one-byte-kind str, from the cache when it is there. */
static PyObject *substring1(PyObject *text, const Py_UCS1 *data, Py_ssize_t start, Py_ssize_t end) {
    const Py_ssize_t len = end - start;
    if (len <= 0 || len > CACHE_MAX_LEN) {
        return PyUnicode_Substring(text, start, end);
    }
    size_t h = 2166136261u; /* FNV-1a */
    for (Py_ssize_t j = start; j < end; j++) {
        h = (h ^ data[j]) * 16777619u;
    }
    h = (h ^ (size_t)len) % CACHE_SLOTS;
    PyObject *hit = cache[h];
    if (hit != NULL && PyUnicode_GET_LENGTH(hit) == len && PyUnicode_KIND(hit) == PyUnicode_1BYTE_KIND &&
        memcmp(PyUnicode_1BYTE_DATA(hit), data + start, (size_t)len) == 0) {
        return Py_NewRef(hit);
    }
    PyObject *out = PyUnicode_Substring(text, start, end);
    if (out != NULL && PyUnicode_KIND(out) == PyUnicode_1BYTE_KIND) {
        Py_XSETREF(cache[h], Py_NewRef(out));
    }
    return out;
}

/* The scan, for one storage kind of the text (a constant after inlining: PyUnicode_READ's switch folds). */
static inline __attribute__((always_inline)) PyObject *scan(PyObject *arg, const void *data, const Py_ssize_t n,
                                                            const int kind) {
    PyObject *out = PyDict_New();
    if (out == NULL) {
        return NULL;
    }
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
            while (e <= n && AT(e) != '"') {
                e++;
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
            PyObject *key = kind == PyUnicode_1BYTE_KIND ? substring1(arg, data, key_start - 1, k - 1)
                                                         : PyUnicode_Substring(arg, key_start - 1, k - 1);
            if (key == NULL) {
                Py_DECREF(out);
                return NULL;
            }
            PyObject *val = kind == PyUnicode_1BYTE_KIND ? substring1(arg, data, vs - 1, ve - 1)
                                                         : PyUnicode_Substring(arg, vs - 1, ve - 1);
            if (val == NULL) {
                Py_DECREF(key);
                Py_DECREF(out);
                return NULL;
            }
            const int rc = PyDict_SetItem(out, key, val);
            Py_DECREF(key);
            Py_DECREF(val);
            if (rc < 0) {
                Py_DECREF(out);
                return NULL;
            }
        }
        i = end;
    }
#undef AT
    return out;
}

static PyObject *pairs(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "pairs() expects a str");
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(arg) < 0) { /* strings from legacy C APIs (gone in 3.12) */
        return NULL;
    }
#endif
    const Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    const void *data = PyUnicode_DATA(arg);
    switch (PyUnicode_KIND(arg)) {
    case PyUnicode_1BYTE_KIND:
        return scan(arg, data, n, PyUnicode_1BYTE_KIND);
    case PyUnicode_2BYTE_KIND:
        return scan(arg, data, n, PyUnicode_2BYTE_KIND);
    default:
        return scan(arg, data, n, PyUnicode_4BYTE_KIND);
    }
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
#define MEMO 4
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
            sub = PyDict_New();
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

static PyMethodDef methods[] = {
    {"pairs", pairs, METH_O,
     "pairs(text) -> dict: FortiGate key=value pairs (word keys, non-empty values other than N/A)."},
    {"moves", (PyCFunction)(void (*)(void))moves, METH_FASTCALL,
     "moves(fw, table, doc) -> list: run a FortiGate mapping table (see fortigate._moves_py)."},
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
    return PyModule_Create(&module);
}

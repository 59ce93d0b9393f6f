/* The prefilter's texts of an event in one native call (optional; pure-Python twin in haystack.py).
 *
 * field_text(doc, node): the values of `doc` that a bucket's rules can read (the walk of
 *   compiler.value_extractor over its prune tree, in the same order), written as the JSON list orjson
 *   writes, then case-folded as compiler.event_haystack does (bytes.lower for ASCII text, str.casefold
 *   otherwise); b"" when there is no value.
 * fold(raw): the case fold of a UTF-8 JSON text (compiler.fold_py: bytes.lower for ASCII, else str.casefold),
 *   for the whole event's text orjson writes (keyword literals).
 *
 * field_text returns None when the event holds anything this writer does not handle exactly as the Python
 * path does (floats, integers beyond 64 bits, lone surrogates, types other than exact dict/list/str/int/
 * bool/None, keys that are not exact str, nesting deeper than MAX_DEPTH): the caller then runs the Python
 * path, so the result is always the Python twin's. No Python code runs here except str.casefold, hashing
 * and comparison of exact str keys; references taken from containers are held while used.
 *
 * node = (leaves: frozenset[str], leaf_order: tuple[str, ...] (the frozenset's iteration order),
 *         subs: tuple[tuple[str, node], ...], names: frozenset[str] | None, n_leaves: int,
 *         seen: dict[str, bool] (keys with spaces already decided, filled here))
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 200

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
    int nonascii;
} Out;

/* result codes: 0 ok, 1 fall back to Python (no exception set), -1 error (exception set) */
#define OK 0
#define FALLBACK 1
#define ERR -1

static int grow_slow(Out *o, Py_ssize_t need) {
    Py_ssize_t cap = o->cap ? o->cap : 1024;
    while (cap < o->len + need) {
        if (cap > PY_SSIZE_T_MAX / 2) {
            PyErr_NoMemory();
            return ERR;
        }
        cap *= 2;
    }
    char *b = PyMem_Realloc(o->buf, (size_t)cap);
    if (b == NULL) {
        PyErr_NoMemory();
        return ERR;
    }
    o->buf = b;
    o->cap = cap;
    return OK;
}

static inline int grow(Out *o, Py_ssize_t need) {
    return o->len + need <= o->cap ? OK : grow_slow(o, need);
}

static inline int put(Out *o, const char *s, Py_ssize_t n) {
    if (grow(o, n) != OK)
        return ERR;
    memcpy(o->buf + o->len, s, (size_t)n);
    o->len += n;
    return OK;
}

static inline int put_char(Out *o, char c) {
    if (grow(o, 1) != OK)
        return ERR;
    o->buf[o->len++] = c;
    return OK;
}

static const char HEX[] = "0123456789abcdef";
#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL
#define PAD 0x6161616161616161ULL /* "aaaaaaaa": needs no escape */
/* A JSON string as orjson writes it ('"' and '\' escaped, control characters as \b \t \n \f \r or \u00xx),
 * ASCII capitals lower-cased on the way: the case fold of the whole text (see folded) is the same. */
static int put_str(Out *o, PyObject *s) {
    Py_ssize_t n;
    const char *u;
    if (PyUnicode_IS_COMPACT_ASCII(s)) { /* its bytes are its UTF-8 */
        u = (const char *)PyUnicode_DATA(s);
        n = PyUnicode_GET_LENGTH(s);
    } else {
        u = PyUnicode_AsUTF8AndSize(s, &n);
    }
    if (u == NULL) { /* lone surrogates: orjson refuses them too, the Python path says so */
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            PyErr_Clear();
            return FALLBACK;
        }
        return ERR;
    }
    /* 6 bytes per byte at most (\u00xx), quotes, and 8 of slack for the last chunk's full write */
    if (n > (PY_SSIZE_T_MAX - 10) / 6 || grow(o, n * 6 + 10) != OK) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        return ERR;
    }
    if (!PyUnicode_IS_ASCII(s))
        o->nonascii = 1;
    unsigned char *w = (unsigned char *)o->buf + o->len;
    const unsigned char *r = (const unsigned char *)u, *end = r + n;
    *w++ = '"';
    /* 8 bytes at a time (the last ones padded): the chunk is written with ASCII capitals lower-cased, up to the
     * first byte that needs escaping (the lowest flagged byte of the mask is exact), which is escaped alone */
    while (r < end) {
        Py_ssize_t avail = end - r;
        uint64_t x = PAD;
        memcpy(&x, r, avail >= 8 ? 8 : (size_t)avail);
        uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
        uint64_t m = (((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGH;
        uint64_t h = x & ~HIGH, upper = ~x & ((h + ONES * (0x80 - 'A')) ^ (h + ONES * (0x7f - 'Z'))) & HIGH;
        uint64_t low = x ^ (upper >> 2);
        memcpy(w, &low, 8);
        if (m == 0) {
            Py_ssize_t step = avail >= 8 ? 8 : avail;
            w += step;
            r += step;
            continue;
        }
        int pos = __builtin_ctzll(m) >> 3;
        w += pos;
        r += pos;
        unsigned char c = *r++;
        *w++ = '\\';
        switch (c) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '\b': *w++ = 'b'; break;
        case '\t': *w++ = 't'; break;
        case '\n': *w++ = 'n'; break;
        case '\f': *w++ = 'f'; break;
        case '\r': *w++ = 'r'; break;
        default:
            *w++ = 'u'; *w++ = '0'; *w++ = '0';
            *w++ = (unsigned char)HEX[c >> 4]; *w++ = (unsigned char)HEX[c & 15];
        }
    }
    *w++ = '"';
    o->len = (char *)w - o->buf;
    return OK;
}

/* decimal digits of x (no sign) */
static int put_u64(Out *o, unsigned long long x, int neg) {
    char num[24];
    int i = (int)sizeof num;
    do {
        num[--i] = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    if (neg)
        num[--i] = '-';
    return put(o, num + i, (Py_ssize_t)sizeof num - i);
}

static int put_value(Out *o, PyObject *v, int depth);

static int put_dict(Out *o, PyObject *d, int depth) {
    if (put_char(o, '{') != OK)
        return ERR;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int first = 1, rc = OK;
    while (PyDict_Next(d, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k))
            return FALLBACK;
        if (!first && put_char(o, ',') != OK)
            return ERR;
        first = 0;
        Py_INCREF(k);
        Py_INCREF(v);
        rc = put_str(o, k);
        if (rc == OK)
            rc = put_char(o, ':');
        if (rc == OK)
            rc = put_value(o, v, depth + 1);
        Py_DECREF(k);
        Py_DECREF(v);
        if (rc != OK)
            return rc;
    }
    return put_char(o, '}');
}

static int put_value(Out *o, PyObject *v, int depth) {
    if (depth > MAX_DEPTH)
        return FALLBACK;
    if (PyUnicode_CheckExact(v))
        return put_str(o, v);
    if (v == Py_None)
        return put(o, "null", 4);
    if (v == Py_True)
        return put(o, "true", 4);
    if (v == Py_False)
        return put(o, "false", 5);
    if (PyLong_CheckExact(v)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (x == -1 && PyErr_Occurred())
            return ERR;
        if (overflow > 0) { /* orjson writes up to 2**64 - 1 */
            unsigned long long ux = PyLong_AsUnsignedLongLong(v);
            if (ux == (unsigned long long)-1 && PyErr_Occurred()) {
                PyErr_Clear();
                return FALLBACK;
            }
            return put_u64(o, ux, 0);
        }
        if (overflow < 0)
            return FALLBACK;
        return x < 0 ? put_u64(o, 0ULL - (unsigned long long)x, 1) : put_u64(o, (unsigned long long)x, 0);
    }
    if (PyDict_CheckExact(v))
        return put_dict(o, v, depth);
    if (PyList_CheckExact(v)) {
        if (put_char(o, '[') != OK)
            return ERR;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
            if (i && put_char(o, ',') != OK)
                return ERR;
            PyObject *e = PyList_GET_ITEM(v, i);
            Py_INCREF(e);
            int rc = put_value(o, e, depth + 1);
            Py_DECREF(e);
            if (rc != OK)
                return rc;
        }
        return put_char(o, ']');
    }
    return FALLBACK; /* floats (orjson's number format), subclasses, other types: the Python path */
}

/* one more value of the list field_text writes */
static int put_item(Out *o, PyObject *v, Py_ssize_t *count) {
    if (put_char(o, (*count)++ ? ',' : '[') != OK)
        return ERR;
    Py_INCREF(v);
    int rc = put_value(o, v, 1);
    Py_DECREF(v);
    return rc;
}

/* Whether a key is kept by a node with spaced names: `" " in k and k.replace(" ", "") in names`; the answers
 * for keys with spaces are remembered in the node's `seen` dict (at most SEEN_MAX keys). */
#define SEEN_MAX 4096

static int spaced_kept(PyObject *k, PyObject *names, PyObject *seen) {
    static PyObject *space = NULL, *empty = NULL;
    if (PyUnicode_IS_COMPACT_ASCII(k)
        && memchr(PyUnicode_DATA(k), ' ', (size_t)PyUnicode_GET_LENGTH(k)) == NULL)
        return 0;
    PyObject *known = PyDict_GetItemWithError(seen, k);
    if (known != NULL)
        return known == Py_True;
    if (PyErr_Occurred())
        return ERR;
    if (space == NULL) {
        space = PyUnicode_FromString(" ");
        empty = PyUnicode_FromString("");
        if (space == NULL || empty == NULL)
            return ERR;
    }
    Py_ssize_t at = PyUnicode_Find(k, space, 0, PY_SSIZE_T_MAX, 1);
    if (at < 0)
        return at == -1 ? 0 : ERR;
    PyObject *r = PyUnicode_Replace(k, space, empty, -1);
    if (r == NULL)
        return ERR;
    int in = PySet_Contains(names, r);
    Py_DECREF(r);
    if (in >= 0 && PyDict_GET_SIZE(seen) < SEEN_MAX
        && PyDict_SetItem(seen, k, in ? Py_True : Py_False) < 0)
        return ERR;
    return in;
}

static int walk(Out *o, PyObject *doc, PyObject *node, Py_ssize_t *count, int depth) {
    if (depth > MAX_DEPTH)
        return FALLBACK;
    if (!PyTuple_CheckExact(node) || PyTuple_GET_SIZE(node) != 6) {
        PyErr_SetString(PyExc_TypeError, "field_text: bad node");
        return ERR;
    }
    PyObject *leaves = PyTuple_GET_ITEM(node, 0), *order = PyTuple_GET_ITEM(node, 1);
    PyObject *subs = PyTuple_GET_ITEM(node, 2), *names = PyTuple_GET_ITEM(node, 3);
    PyObject *seen = PyTuple_GET_ITEM(node, 5);
    if (!PyAnySet_Check(leaves) || !PyTuple_CheckExact(order) || !PyTuple_CheckExact(subs)
        || (names != Py_None && !PyAnySet_Check(names)) || !PyDict_CheckExact(seen)) {
        PyErr_SetString(PyExc_TypeError, "field_text: bad node");
        return ERR;
    }
    Py_ssize_t n_leaves = PyTuple_GET_SIZE(order);
    int rc;
    if (names != Py_None || PyDict_GET_SIZE(doc) <= n_leaves) {
        /* the event's key order */
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (PyDict_Next(doc, &pos, &k, &v)) {
            if (!PyUnicode_CheckExact(k))
                return FALLBACK;
            Py_INCREF(k);
            Py_INCREF(v);
            int keep = PySet_Contains(leaves, k);
            if (keep == 0 && names != Py_None)
                keep = spaced_kept(k, names, seen);
            rc = keep < 0 ? ERR : keep ? put_item(o, v, count) : OK;
            Py_DECREF(k);
            Py_DECREF(v);
            if (rc != OK)
                return rc;
        }
    } else {
        /* few kept keys of a larger dict: looked up, in the frozenset's order */
        for (Py_ssize_t i = 0; i < n_leaves; i++) {
            PyObject *v = PyDict_GetItemWithError(doc, PyTuple_GET_ITEM(order, i));
            if (v == NULL) {
                if (PyErr_Occurred())
                    return ERR;
                continue;
            }
            if ((rc = put_item(o, v, count)) != OK)
                return rc;
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(subs); i++) {
        PyObject *ks = PyTuple_GET_ITEM(subs, i);
        if (!PyTuple_CheckExact(ks) || PyTuple_GET_SIZE(ks) != 2) {
            PyErr_SetString(PyExc_TypeError, "field_text: bad node");
            return ERR;
        }
        PyObject *v = PyDict_GetItemWithError(doc, PyTuple_GET_ITEM(ks, 0));
        if (v == NULL) {
            if (PyErr_Occurred())
                return ERR;
            continue;
        }
        if (!PyDict_Check(v))
            continue;
        if (!PyDict_CheckExact(v))
            return FALLBACK;
        Py_INCREF(v);
        rc = walk(o, v, PyTuple_GET_ITEM(ks, 1), count, depth + 1);
        Py_DECREF(v);
        if (rc != OK)
            return rc;
    }
    return OK;
}

/* UTF-8 text as the UTF-8 of its str.casefold() (the fold of text with non-ASCII characters). */
static PyObject *casefold_utf8(const char *text, Py_ssize_t n) {
    PyObject *s = PyUnicode_DecodeUTF8(text, n, "strict");
    if (s == NULL)
        return NULL;
    PyObject *f = PyObject_CallMethod(s, "casefold", NULL);
    Py_DECREF(s);
    if (f == NULL)
        return NULL;
    PyObject *b = PyUnicode_AsUTF8String(f);
    Py_DECREF(f);
    return b;
}

/* The buffer as case-folded bytes: ASCII text is already lower-cased (put_str), else str.casefold() of it. */
static PyObject *folded(Out *o) {
    if (!o->nonascii)
        return PyBytes_FromStringAndSize(o->buf, o->len);
    return casefold_utf8(o->buf, o->len);
}

/* one buffer kept between calls (taken while in use, so a nested call gets its own); at most 1 MiB kept */
static char *spare_buf = NULL;
static Py_ssize_t spare_cap = 0;

static Out take(void) {
    Out o = {spare_buf, 0, spare_cap, 0};
    spare_buf = NULL;
    spare_cap = 0;
    return o;
}

static void release(Out *o) {
    if (spare_buf == NULL && o->cap <= (1 << 20)) {
        spare_buf = o->buf;
        spare_cap = o->cap;
    } else {
        PyMem_Free(o->buf);
    }
}

static PyObject *finish(Out *o, int rc) {
    PyObject *r = NULL;
    if (rc == OK)
        r = folded(o);
    else if (rc == FALLBACK)
        r = Py_NewRef(Py_None);
    release(o);
    return r;
}

static PyObject *field_text(PyObject *self, PyObject *args) {
    PyObject *doc, *node;
    if (!PyArg_ParseTuple(args, "OO:field_text", &doc, &node))
        return NULL;
    if (!PyDict_CheckExact(doc))
        Py_RETURN_NONE;
    Out o = take();
    Py_ssize_t count = 0;
    int rc = walk(&o, doc, node, &count, 0);
    if (rc == OK && count == 0) {
        release(&o);
        return PyBytes_FromStringAndSize("", 0);
    }
    if (rc == OK)
        rc = put_char(&o, ']');
    return finish(&o, rc);
}

/* fold(raw) -> bytes: bytes.lower() of ASCII text (8 bytes at a time), else raw.decode().casefold().encode() */
static PyObject *fold(PyObject *self, PyObject *raw) {
    if (!PyBytes_CheckExact(raw)) {
        PyErr_SetString(PyExc_TypeError, "fold: bytes expected");
        return NULL;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(raw);
    const unsigned char *r = (const unsigned char *)PyBytes_AS_STRING(raw);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n);
    if (out == NULL)
        return NULL;
    unsigned char *w = (unsigned char *)PyBytes_AS_STRING(out);
    uint64_t any = 0;
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, r + i, 8);
        any |= x;
        uint64_t h = x & ~HIGH, upper = ~x & ((h + ONES * (0x80 - 'A')) ^ (h + ONES * (0x7f - 'Z'))) & HIGH;
        x ^= upper >> 2;
        memcpy(w + i, &x, 8);
    }
    for (; i < n; i++) {
        unsigned char c = r[i];
        any |= c;
        w[i] = (unsigned char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    if (!(any & HIGH)) {
        return out;
    }
    Py_DECREF(out);
    return casefold_utf8((const char *)r, n);
}

static PyMethodDef methods[] = {
    {"field_text", field_text, METH_VARARGS,
     "field_text(doc, node) -> bytes | None: case-folded JSON list of the values the node's paths read"},
    {"fold", fold, METH_O, "fold(raw: bytes) -> bytes: the case fold of UTF-8 JSON text (bytes.lower if ASCII)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sigscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__sigscan(void) {
    return PyModule_Create(&module);
}

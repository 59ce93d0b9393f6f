/*
 * connectors.parsers._kvscan: the key=value tokeniser of FortiGate records, in C.
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
 * Safety: every read is PyUnicode_READ at an index checked against the length; no buffer is written.
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
    const int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
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
            PyObject *key = PyUnicode_Substring(arg, key_start - 1, k - 1);
            if (key == NULL) {
                Py_DECREF(out);
                return NULL;
            }
            PyObject *val = PyUnicode_Substring(arg, vs - 1, ve - 1);
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

static PyMethodDef methods[] = {
    {"pairs", pairs, METH_O,
     "pairs(text) -> dict: FortiGate key=value pairs (word keys, non-empty values other than N/A)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kvscan", "FortiGate key=value tokeniser (see fortigate.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kvscan(void) { return PyModule_Create(&module); }

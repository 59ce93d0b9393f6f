/* Rule evaluation's hot calls in native code (optional; pure-Python twins in compiler.py).
 *
 * Accessor(aid, split): compiler.make_accessor's getter, the twin of compiler._memo(aid, compiler._lookup(paths))
 *   (split = compiler._split_paths(paths)): the first of the dotted paths present in the event (the literal
 *   dotted key, then nesting through dicts), MISSING when none; "~" paths through compiler._spaced (called).
 *   Values are remembered per event in one memo shared by every accessor: same event object (held by a strong
 *   reference, so its identity is not reused) and same thread => the value found before; another event,
 *   another thread or invalidate() => forget everything. (The Python memo is per thread; here a thread that
 *   finds the memo owned by another thread takes it over: it only misses, never reads another thread's values.)
 * StrMatcher(fallback, anything, cased, eq, sw, ew, cont, cont_ac, rxs, needt, lowered, lower): the value
 *   matcher ``m`` of compiler.Compiler.string_values for an exact str value; any other value goes to
 *   ``fallback`` (the Python ``m``). Lower-casing through the shared ``lowered`` cache (compiler._LOWER), filled
 *   here for ASCII text (str.lower of ASCII text lowers A-Z only) and by ``lower`` (Python) otherwise.
 *
 * Exact dicts are read with PyDict_GetItemWithError; anything else (dict subclasses, other objects) through the
 * same protocol calls Python makes (``in``, ``[]``, ``.get``). References taken from containers are held while
 * used, since such calls may run Python code.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <structmember.h>

static PyObject *MISSING = NULL;   /* compiler.MISSING */
static PyObject *SPACED = NULL;    /* compiler._spaced(ev, parent) -> dict */
static PyObject *S_get = NULL, *S_iter = NULL;

/* ------------------------------------------------------------------ the per-event memo */

static PyObject *memo_ev = NULL;      /* the event at hand (strong reference) or NULL */
static unsigned long memo_tid = 0;    /* the thread that owns the memo */
static PyObject **memo_vals = NULL;   /* accessor id -> value (strong) or NULL */
static Py_ssize_t *memo_used = NULL;  /* the ids set for memo_ev */
static Py_ssize_t memo_cap = 0, memo_nused = 0;
/* a parent path (tuple) known to hold no key with a space in memo_ev: its "~" paths are absent (strong) or NULL */
static PyObject *sp_none_parent = NULL;

/* Forget everything. Decrefs may run Python code (which may use the memo again): loop until it is empty with no
 * Python code run since the last check. */
static void memo_clear(void) {
    for (;;) {
        if (memo_nused > 0) {
            Py_ssize_t a = memo_used[--memo_nused];
            PyObject *o = memo_vals[a];
            memo_vals[a] = NULL;
            Py_XDECREF(o);
            continue;
        }
        if (sp_none_parent != NULL) {
            Py_CLEAR(sp_none_parent);
            continue;
        }
        if (memo_ev != NULL) {
            PyObject *o = memo_ev;
            memo_ev = NULL;
            Py_DECREF(o);
            continue;
        }
        break;
    }
}

static int memo_reserve(Py_ssize_t aid) {
    if (aid < memo_cap)
        return 0;
    Py_ssize_t cap = memo_cap ? memo_cap : 256;
    while (cap <= aid) {
        if (cap > PY_SSIZE_T_MAX / 16) {
            PyErr_NoMemory();
            return -1;
        }
        cap *= 2;
    }
    PyObject **v = PyMem_Realloc(memo_vals, (size_t)cap * sizeof(PyObject *));
    if (v == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(v + memo_cap, 0, (size_t)(cap - memo_cap) * sizeof(PyObject *));
    memo_vals = v;
    Py_ssize_t *u = PyMem_Realloc(memo_used, (size_t)cap * sizeof(Py_ssize_t));
    if (u == NULL) {
        PyErr_NoMemory();
        return -1;  /* memo_vals grown, memo_cap unchanged: consistent */
    }
    memo_used = u;
    memo_cap = cap;
    return 0;
}

/* ------------------------------------------------------------------ Accessor */

typedef struct {
    PyObject *p;       /* the dotted path (literal key) */
    PyObject *parts;   /* tuple of str */
    int spaced;
    PyObject *parent;  /* tuple of str (spaced paths) */
    PyObject *leaf;    /* str */
} Path;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    Py_ssize_t aid;
    PyObject *split;   /* the tuple the Path entries borrow from */
    Py_ssize_t n;
    Path *paths;
} Accessor;

/* d.get(key, MISSING) as Python does it: new reference or NULL */
static PyObject *dict_get(PyObject *d, PyObject *key) {
    if (PyDict_CheckExact(d)) {
        PyObject *v = PyDict_GetItemWithError(d, key);
        if (v == NULL) {
            if (PyErr_Occurred())
                return NULL;
            v = MISSING;
        }
        return Py_NewRef(v);
    }
    return PyObject_CallMethodObjArgs(d, S_get, key, MISSING, NULL);
}

/* 1 when compiler._spaced(ev, parent) is certainly empty (no key with a space under parent: its "~" paths are
 * absent), 0 when Python must tell (keys with spaces, dict subclasses, keys other than exact str), -1 on error.
 * The answer is remembered with the memo (as _spaced remembers its result for the event). */
static int spaced_none(PyObject *ev, PyObject *parent) {
    if (sp_none_parent != NULL && memo_ev == ev) {
        if (sp_none_parent == parent)
            return 1;
        int eq = PyObject_RichCompareBool(sp_none_parent, parent, Py_EQ);
        if (eq != 0)
            return eq;
    }
    if (!PyDict_CheckExact(ev))
        return 0;
    PyObject *cur = Py_NewRef(ev);
    Py_ssize_t np = PyTuple_GET_SIZE(parent);
    int res = 1;
    for (Py_ssize_t j = 0; j < np && res == 1; j++) {
        if (!PyDict_Check(cur)) {
            Py_DECREF(cur);
            return 1;  /* _spaced: None below a non-dict, so {} */
        }
        if (!PyDict_CheckExact(cur)) {
            res = 0;
            break;
        }
        PyObject *nxt = PyDict_GetItemWithError(cur, PyTuple_GET_ITEM(parent, j));
        if (nxt == NULL) {
            Py_DECREF(cur);
            return PyErr_Occurred() ? -1 : 1;
        }
        Py_SETREF(cur, Py_NewRef(nxt));
    }
    if (res == 1) {
        if (!PyDict_Check(cur)) {
            Py_DECREF(cur);
            return 1;
        }
        if (!PyDict_CheckExact(cur)) {
            res = 0;
        } else {
            Py_ssize_t pos = 0;
            PyObject *k, *v;
            while (PyDict_Next(cur, &pos, &k, &v)) {  /* no Python code runs in this loop */
                if (!PyUnicode_CheckExact(k) ||
                    PyUnicode_FindChar(k, ' ', 0, PyUnicode_GET_LENGTH(k), 1) != -1) {
                    res = 0;
                    break;
                }
            }
        }
    }
    Py_DECREF(cur);
    if (res == 1 && memo_ev == ev)
        Py_XSETREF(sp_none_parent, Py_NewRef(parent));
    return res;
}

/* compiler._lookup's getter: new reference (MISSING when absent) or NULL */
static PyObject *lookup(Accessor *self, PyObject *ev) {
    for (Py_ssize_t i = 0; i < self->n; i++) {
        Path *pt = &self->paths[i];
        if (pt->spaced) {
            int none = spaced_none(ev, pt->parent);
            if (none < 0)
                return NULL;
            if (none)
                continue;
            PyObject *d = PyObject_CallFunctionObjArgs(SPACED, ev, pt->parent, NULL);
            if (d == NULL)
                return NULL;
            PyObject *v = dict_get(d, pt->leaf);
            Py_DECREF(d);
            if (v == NULL)
                return NULL;
            if (v != MISSING)
                return v;
            Py_DECREF(v);
            continue;
        }
        if (PyDict_CheckExact(ev)) {
            PyObject *v = PyDict_GetItemWithError(ev, pt->p);
            if (v != NULL)
                return Py_NewRef(v);
            if (PyErr_Occurred())
                return NULL;
        } else {
            int r = PySequence_Contains(ev, pt->p);
            if (r < 0)
                return NULL;
            if (r)
                return PyObject_GetItem(ev, pt->p);
        }
        PyObject *cur = Py_NewRef(ev);
        Py_ssize_t np = PyTuple_GET_SIZE(pt->parts);
        for (Py_ssize_t j = 0; j < np; j++) {
            if (!PyDict_Check(cur)) {
                Py_SETREF(cur, Py_NewRef(MISSING));
                break;
            }
            PyObject *nxt = dict_get(cur, PyTuple_GET_ITEM(pt->parts, j));
            Py_DECREF(cur);
            if (nxt == NULL)
                return NULL;
            cur = nxt;
            if (cur == MISSING)
                break;
        }
        if (cur != MISSING)
            return cur;
        Py_DECREF(cur);
    }
    return Py_NewRef(MISSING);
}

static PyObject *acc_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Accessor *self = (Accessor *)op;
    if (PyVectorcall_NARGS(nargsf) != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "accessor(ev) takes one positional argument");
        return NULL;
    }
    PyObject *ev = args[0];
    Py_ssize_t aid = self->aid;
    unsigned long tid = PyThread_get_thread_ident();
    if (memo_ev == ev && memo_tid == tid) {
        if (aid < memo_cap && memo_vals[aid] != NULL)
            return Py_NewRef(memo_vals[aid]);
    } else {
        memo_clear();
        memo_ev = Py_NewRef(ev);
        memo_tid = tid;
    }
    PyObject *v = lookup(self, ev);
    if (v == NULL)
        return NULL;
    /* the lookup may have run Python code: remember only if the memo is still this event's */
    if (memo_ev == ev && memo_tid == tid) {
        if (memo_reserve(aid) < 0) {
            Py_DECREF(v);
            return NULL;
        }
        PyObject *old = memo_vals[aid];
        memo_vals[aid] = Py_NewRef(v);
        if (old == NULL)
            memo_used[memo_nused++] = aid;
        else
            Py_DECREF(old);
    }
    return v;
}

static void acc_dealloc(PyObject *op) {
    Accessor *self = (Accessor *)op;
    PyObject_GC_UnTrack(op);
    PyMem_Free(self->paths);
    Py_XDECREF(self->split);
    Py_TYPE(op)->tp_free(op);
}

static int acc_traverse(PyObject *op, visitproc visit, void *arg) {
    Py_VISIT(((Accessor *)op)->split);
    return 0;
}

/* Accessor(aid, split): split = tuple of (p: str, parts: tuple[str], spaced: bool, parent: tuple[str], leaf: str) */
static PyObject *acc_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    Py_ssize_t aid;
    PyObject *split;
    if (!PyArg_ParseTuple(args, "nO!:Accessor", &aid, &PyTuple_Type, &split))
        return NULL;
    if (aid < 0) {
        PyErr_SetString(PyExc_ValueError, "negative accessor id");
        return NULL;
    }
    if (MISSING == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_sigeval.init() was not called");
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(split);
    Path *paths = PyMem_Calloc((size_t)(n ? n : 1), sizeof(Path));
    if (paths == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PyTuple_GET_ITEM(split, i);
        if (!PyTuple_Check(e) || PyTuple_GET_SIZE(e) != 5 || !PyUnicode_CheckExact(PyTuple_GET_ITEM(e, 0)) ||
            !PyTuple_Check(PyTuple_GET_ITEM(e, 1)) || !PyBool_Check(PyTuple_GET_ITEM(e, 2)) ||
            !PyTuple_Check(PyTuple_GET_ITEM(e, 3)) || !PyUnicode_CheckExact(PyTuple_GET_ITEM(e, 4))) {
            PyMem_Free(paths);
            PyErr_SetString(PyExc_TypeError, "split entries are (str, tuple, bool, tuple, str)");
            return NULL;
        }
        paths[i].p = PyTuple_GET_ITEM(e, 0);
        paths[i].parts = PyTuple_GET_ITEM(e, 1);
        paths[i].spaced = PyTuple_GET_ITEM(e, 2) == Py_True;
        paths[i].parent = PyTuple_GET_ITEM(e, 3);
        paths[i].leaf = PyTuple_GET_ITEM(e, 4);
    }
    Accessor *self = (Accessor *)type->tp_alloc(type, 0);
    if (self == NULL) {
        PyMem_Free(paths);
        return NULL;
    }
    self->vectorcall = acc_vectorcall;
    self->aid = aid;
    self->split = Py_NewRef(split);
    self->n = n;
    self->paths = paths;
    return (PyObject *)self;
}

static PyTypeObject AccessorType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "detectors.sigma._sigeval.Accessor",
    .tp_basicsize = sizeof(Accessor),
    .tp_dealloc = acc_dealloc,
    .tp_vectorcall_offset = offsetof(Accessor, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "A field getter with the shared per-event memo (compiler.make_accessor).",
    .tp_traverse = acc_traverse,
    .tp_new = acc_new,
};

/* ------------------------------------------------------------------ StrMatcher */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *fallback, *cased, *eq, *sw, *ew, *cont, *cont_ac, *rxs, *needt, *lowered, *lower;
    int anything;
    /* cont_ac's words, until the DFA below is built from them on the matcher's first str value (most rules are
     * never a candidate: built at load, the tables of every SigmaHQ rule took 28 MiB), or NULL */
    PyObject *words;
    /* cont_ac's words as a DFA over UTF-8 bytes (byte classes; a state with out[] set: some word ends here), or
     * tab == NULL: cont_ac is called */
    int32_t *tab;
    uint8_t *out;
    int nc;
    uint8_t cls[256];
} StrMatcher;

/* Aho-Corasick automaton of the words (non-empty exact str) as a full DFA over their UTF-8 bytes. 0: not built
 * (a word without a UTF-8 form, or too large: cont_ac stays in use), 1: built, -1: error.
 * A valid UTF-8 word occurs in the UTF-8 bytes of a text exactly when it occurs in the text as a str (UTF-8 is
 * self-synchronising: a lead byte never equals a continuation byte), so the DFA answers ``any(w in low)``. */
static int dfa_build(StrMatcher *self, PyObject *words) {
    Py_ssize_t n = PyTuple_GET_SIZE(words), total = 1;
    memset(self->cls, 0, sizeof self->cls);
    int nc = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len;
        const char *u = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(words, i), &len);
        if (u == NULL) {
            PyErr_Clear();
            return 0;
        }
        if (len == 0)
            return 0;
        total += len;
        for (Py_ssize_t j = 0; j < len; j++) {
            uint8_t b = (uint8_t)u[j];
            if (self->cls[b] == 0) {
                if (nc == 255)
                    return 0;  /* cannot happen with UTF-8 (13 byte values never occur), kept for safety */
                self->cls[b] = (uint8_t)nc++;
            }
        }
    }
    if (total > (1 << 20) / nc)
        return 0;  /* over 4 MiB of table: keep cont_ac */
    int32_t *tab = PyMem_Malloc((size_t)total * (size_t)nc * sizeof(int32_t));
    uint8_t *out = PyMem_Calloc((size_t)total, 1);
    int32_t *fail = PyMem_Malloc((size_t)total * sizeof(int32_t));
    int32_t *queue = PyMem_Malloc((size_t)total * sizeof(int32_t));
    if (tab == NULL || out == NULL || fail == NULL || queue == NULL) {
        PyMem_Free(tab);
        PyMem_Free(out);
        PyMem_Free(fail);
        PyMem_Free(queue);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < total * nc; i++)
        tab[i] = -1;
    int32_t nstates = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len;
        const char *u = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(words, i), &len);
        int32_t st = 0;
        for (Py_ssize_t j = 0; j < len; j++) {
            int c = self->cls[(uint8_t)u[j]];
            if (tab[st * nc + c] < 0)
                tab[st * nc + c] = nstates++;
            st = tab[st * nc + c];
        }
        out[st] = 1;
    }
    Py_ssize_t qh = 0, qt = 0;
    for (int c = 0; c < nc; c++) {
        int32_t t = tab[c];
        if (t < 0) {
            tab[c] = 0;
        } else {
            fail[t] = 0;
            queue[qt++] = t;
        }
    }
    while (qh < qt) {
        int32_t r = queue[qh++];
        out[r] |= out[fail[r]];
        for (int c = 0; c < nc; c++) {
            int32_t t = tab[r * nc + c];
            if (t < 0) {
                tab[r * nc + c] = tab[fail[r] * nc + c];
            } else {
                fail[t] = tab[fail[r] * nc + c];
                queue[qt++] = t;
            }
        }
    }
    PyMem_Free(fail);
    PyMem_Free(queue);
    self->tab = tab;
    self->out = out;
    self->nc = nc;
    return 1;
}

/* builds the DFA from self->words once (0: cont_ac stays in use, 1: built, -1: error, raised) */
static int dfa_ensure(StrMatcher *self) {
    if (self->words == NULL)
        return self->tab != NULL;
    PyObject *words = self->words;
    self->words = NULL;
    int r = dfa_build(self, words);
    Py_DECREF(words);
    return r;
}

static int dfa_search(StrMatcher *self, const uint8_t *p, Py_ssize_t n) {
    const int32_t *tab = self->tab;
    const uint8_t *out = self->out, *cls = self->cls;
    int nc = self->nc;
    int32_t st = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        st = tab[st * nc + cls[p[i]]];
        if (out[st])
            return 1;
    }
    return 0;
}

/* the lower-case form of the exact str s (compiler.lower, through the shared cache): new reference or NULL */
static PyObject *lowered_of(StrMatcher *self, PyObject *s) {
    PyObject *low = PyDict_GetItemWithError(self->lowered, s);
    if (low != NULL)
        return Py_NewRef(low);
    if (PyErr_Occurred())
        return NULL;
    if (!PyUnicode_IS_ASCII(s))
        return PyObject_CallOneArg(self->lower, s);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    const unsigned char *src = PyUnicode_1BYTE_DATA(s);
    Py_ssize_t i = 0;
    while (i < n && !(src[i] >= 'A' && src[i] <= 'Z'))
        i++;
    if (i == n) {
        low = Py_NewRef(s);  /* already lower case: str.lower returns an equal string */
    } else {
        low = PyUnicode_New(n, 127);
        if (low == NULL)
            return NULL;
        unsigned char *dst = PyUnicode_1BYTE_DATA(low);
        memcpy(dst, src, (size_t)i);
        for (; i < n; i++) {
            unsigned char c = src[i];
            dst[i] = (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
        }
    }
    if (PyDict_SetItem(self->lowered, s, low) < 0) {
        Py_DECREF(low);
        return NULL;
    }
    return low;
}

/* 1 if some str of the tuple occurs in low, 0 if none, -1 on error */
static int contains_any(PyObject *low, PyObject *tup) {
    Py_ssize_t n = PyTuple_GET_SIZE(tup);
    for (Py_ssize_t i = 0; i < n; i++) {
        int r = PyUnicode_Contains(low, PyTuple_GET_ITEM(tup, i));
        if (r != 0)
            return r;
    }
    return 0;
}

static PyObject *sm_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    StrMatcher *self = (StrMatcher *)op;
    if (PyVectorcall_NARGS(nargsf) != 2 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "matcher(x, ev) takes two positional arguments");
        return NULL;
    }
    PyObject *s = args[0];
    if (!PyUnicode_CheckExact(s))
        return PyObject_Vectorcall(self->fallback, args, 2, NULL);
    if (self->anything)
        Py_RETURN_TRUE;
    Py_ssize_t nc = PyTuple_GET_SIZE(self->cased);
    for (Py_ssize_t i = 0; i < nc; i++) {
        PyObject *r = PyObject_Vectorcall(PyTuple_GET_ITEM(self->cased, i), args, 2, NULL);
        if (r == NULL)
            return NULL;
        int t = PyObject_IsTrue(r);
        Py_DECREF(r);
        if (t < 0)
            return NULL;
        if (t)
            Py_RETURN_TRUE;
    }
    PyObject *low = lowered_of(self, s);
    if (low == NULL)
        return NULL;
    PyObject *res = NULL;
    int r;
    if (!PyUnicode_Check(low)) {  /* only if someone put a non-str into the cache: do as Python would */
        Py_DECREF(low);
        return PyObject_Vectorcall(self->fallback, args, 2, NULL);
    }
    if (PySet_GET_SIZE(self->eq)) {
        r = PySet_Contains(self->eq, low);
        if (r != 0)
            goto done_bool;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(self->sw);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t t = PyUnicode_Tailmatch(low, PyTuple_GET_ITEM(self->sw, i), 0, PY_SSIZE_T_MAX, -1);
        if (t != 0) {
            r = t < 0 ? -1 : 1;
            goto done_bool;
        }
    }
    n = PyTuple_GET_SIZE(self->ew);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t t = PyUnicode_Tailmatch(low, PyTuple_GET_ITEM(self->ew, i), 0, PY_SSIZE_T_MAX, 1);
        if (t != 0) {
            r = t < 0 ? -1 : 1;
            goto done_bool;
        }
    }
    r = contains_any(low, self->cont);
    if (r != 0)
        goto done_bool;
    if (self->words != NULL && dfa_ensure(self) < 0)
        goto done;
    if (self->tab != NULL) {
        Py_ssize_t len;
        const char *u = PyUnicode_IS_ASCII(low) ? (const char *)PyUnicode_1BYTE_DATA(low)
                                                  : PyUnicode_AsUTF8AndSize(low, &len);
        if (PyUnicode_IS_ASCII(low))
            len = PyUnicode_GET_LENGTH(low);
        if (u != NULL) {
            if (dfa_search(self, (const uint8_t *)u, len)) {
                r = 1;
                goto done_bool;
            }
            goto after_ac;
        }
        PyErr_Clear();  /* no UTF-8 form (a lone surrogate): the Python automaton decides */
    }
    if (self->cont_ac != Py_None) {
        PyObject *it = PyObject_CallMethodOneArg(self->cont_ac, S_iter, low);
        if (it == NULL)
            goto done;
        PyObject *first = PyIter_Next(it);
        Py_DECREF(it);
        if (first != NULL) {
            Py_DECREF(first);
            r = 1;
            goto done_bool;
        }
        if (PyErr_Occurred())
            goto done;
    }
after_ac:
    if (self->rxs == Py_None) {
        r = 0;
        goto done_bool;
    }
    if (self->needt != Py_None) {
        r = contains_any(low, self->needt);
        if (r <= 0)
            goto done_bool;
    }
    res = PyObject_CallOneArg(self->rxs, low);
    goto done;
done_bool:
    if (r >= 0)
        res = Py_NewRef(r ? Py_True : Py_False);
done:
    Py_DECREF(low);
    return res;
}

static int sm_traverse(PyObject *op, visitproc visit, void *arg) {
    StrMatcher *self = (StrMatcher *)op;
    Py_VISIT(self->fallback);
    Py_VISIT(self->cased);
    Py_VISIT(self->eq);
    Py_VISIT(self->sw);
    Py_VISIT(self->ew);
    Py_VISIT(self->cont);
    Py_VISIT(self->cont_ac);
    Py_VISIT(self->rxs);
    Py_VISIT(self->needt);
    Py_VISIT(self->lowered);
    Py_VISIT(self->lower);
    Py_VISIT(self->words);
    return 0;
}

static int sm_clear(PyObject *op) {
    StrMatcher *self = (StrMatcher *)op;
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->cased);
    Py_CLEAR(self->eq);
    Py_CLEAR(self->sw);
    Py_CLEAR(self->ew);
    Py_CLEAR(self->cont);
    Py_CLEAR(self->cont_ac);
    Py_CLEAR(self->rxs);
    Py_CLEAR(self->needt);
    Py_CLEAR(self->lowered);
    Py_CLEAR(self->lower);
    Py_CLEAR(self->words);
    return 0;
}

static void sm_dealloc(PyObject *op) {
    PyObject_GC_UnTrack(op);
    sm_clear(op);
    PyMem_Free(((StrMatcher *)op)->tab);
    PyMem_Free(((StrMatcher *)op)->out);
    Py_TYPE(op)->tp_free(op);
}

static int all_str(PyObject *tup) {
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tup); i++)
        if (!PyUnicode_Check(PyTuple_GET_ITEM(tup, i)))
            return 0;
    return 1;
}

static PyObject *sm_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *fallback, *cased, *eq, *sw, *ew, *cont, *cont_ac, *rxs, *needt, *lowered, *lower, *words = NULL;
    int anything;
    if (!PyArg_ParseTuple(args, "OpO!O!O!O!O!OOOO!O|O!:StrMatcher", &fallback, &anything, &PyTuple_Type, &cased,
                          &PySet_Type, &eq, &PyTuple_Type, &sw, &PyTuple_Type, &ew, &PyTuple_Type, &cont, &cont_ac,
                          &rxs, &needt, &PyDict_Type, &lowered, &lower, &PyTuple_Type, &words))
        return NULL;
    if (!all_str(sw) || !all_str(ew) || !all_str(cont) || (needt != Py_None && (!PyTuple_Check(needt) || !all_str(needt))) ||
        (words != NULL && !all_str(words))) {
        PyErr_SetString(PyExc_TypeError, "sw, ew, cont and needt hold str");
        return NULL;
    }
    if (!PyCallable_Check(fallback) || !PyCallable_Check(lower) || (rxs != Py_None && !PyCallable_Check(rxs))) {
        PyErr_SetString(PyExc_TypeError, "fallback, lower and rxs must be callable");
        return NULL;
    }
    StrMatcher *self = (StrMatcher *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->vectorcall = sm_vectorcall;
    self->fallback = Py_NewRef(fallback);
    self->anything = anything;
    self->cased = Py_NewRef(cased);
    self->eq = Py_NewRef(eq);
    self->sw = Py_NewRef(sw);
    self->ew = Py_NewRef(ew);
    self->cont = Py_NewRef(cont);
    self->cont_ac = Py_NewRef(cont_ac);
    self->rxs = Py_NewRef(rxs);
    self->needt = Py_NewRef(needt);
    self->lowered = Py_NewRef(lowered);
    self->lower = Py_NewRef(lower);
    /* words: cont_ac's words (optional), searched natively (when they all have a UTF-8 form) from the first call */
    if (words != NULL && cont_ac != Py_None && PyTuple_GET_SIZE(words) > 0)
        self->words = Py_NewRef(words);
    return (PyObject *)self;
}

static PyMemberDef sm_members[] = {
    {"fallback", T_OBJECT, offsetof(StrMatcher, fallback), READONLY, "the Python twin (compiler's m)"},
    {NULL, 0, 0, 0, NULL},
};

static PyObject *sm_native_ac(PyObject *op, void *closure) {
    int r = dfa_ensure((StrMatcher *)op);
    return r < 0 ? NULL : PyBool_FromLong(r);
}

static PyGetSetDef sm_getset[] = {
    {"native_ac", sm_native_ac, NULL, "whether the long substring list is searched natively (builds its table)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject StrMatcherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "detectors.sigma._sigeval.StrMatcher",
    .tp_basicsize = sizeof(StrMatcher),
    .tp_dealloc = sm_dealloc,
    .tp_vectorcall_offset = offsetof(StrMatcher, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "The string value matcher of compiler.Compiler.string_values (exact str values; others: fallback).",
    .tp_traverse = sm_traverse,
    .tp_clear = sm_clear,
    .tp_members = sm_members,
    .tp_getset = sm_getset,
    .tp_new = sm_new,
};

/* ------------------------------------------------------------------ module */

static PyObject *py_init(PyObject *mod, PyObject *args) {
    PyObject *missing, *spaced;
    if (!PyArg_ParseTuple(args, "OO:init", &missing, &spaced))
        return NULL;
    memo_clear();
    Py_XSETREF(MISSING, Py_NewRef(missing));
    Py_XSETREF(SPACED, Py_NewRef(spaced));
    Py_RETURN_NONE;
}

static PyObject *py_invalidate(PyObject *mod, PyObject *unused) {
    memo_clear();
    Py_RETURN_NONE;
}

static PyObject *py_memo_size(PyObject *mod, PyObject *unused) {
    return PyLong_FromSsize_t(memo_ev == NULL ? -1 : memo_nused);
}

static PyMethodDef methods[] = {
    {"init", py_init, METH_VARARGS, "init(MISSING, spaced): the sentinel and compiler._spaced"},
    {"invalidate", py_invalidate, METH_NOARGS, "Forget the memo (compiler.invalidate_view)."},
    {"memo_size", py_memo_size, METH_NOARGS, "Values remembered for the event at hand (-1: no event), for tests."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sigeval", NULL, -1, methods};

PyMODINIT_FUNC PyInit__sigeval(void) {
    S_get = PyUnicode_InternFromString("get");
    S_iter = PyUnicode_InternFromString("iter");
    if (S_get == NULL || S_iter == NULL)
        return NULL;
    if (PyType_Ready(&AccessorType) < 0 || PyType_Ready(&StrMatcherType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Accessor", (PyObject *)&AccessorType) < 0 ||
        PyModule_AddObjectRef(m, "StrMatcher", (PyObject *)&StrMatcherType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

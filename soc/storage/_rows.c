/*
 * soc.storage._rows: the storage table of a run of events, built column by column in C.
 *
 * Builder(plan).add(doc) appends one ECS event (a nested dict) as a row of soc.storage.schema.COLUMNS:
 * each typed column's value converted as row_values converts it (text as UTF-8, integers as int64, the
 * time as epoch milliseconds), the whole event as JSON (orjson, called from here, its bytes kept as they
 * are), the event's time (epoch milliseconds) and its partition. finish() hands back, per column, the Arrow buffers (validity
 * bitmap, int64 values or int32 offsets + UTF-8 data), which soc/storage/columns.py wraps as arrays
 * without a copy. The pure-Python twin (row_values + to_table) gives the same table; tests compare them.
 *
 * Why: in the parse workers, building the row in Python and converting ~35 Python lists to Arrow arrays
 * cost about as much as parsing a FortiGate record. Here each value is looked up once and written once.
 *
 * Every case that is not plain stays in Python, through the plan's helpers: values that are not exact
 * str/int (lists, floats, bools...), text with lone surrogates, times (a cache of ISO text -> epoch
 * ms) shared with Python), partitions of a new (day, dataset), events with flat dotted or non-str
 * keys (row_values_generic) and documents orjson refuses. A row is added whole or not at all (an error
 * rolls every column back), and a column whose text would pass 2 GiB (Arrow's int32 offsets; the optional
 * second argument lowers the limit, for tests) raises OverflowError, so the caller can start a new table.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { K_TS = 0, K_STR = 1, K_INT = 2 };

/* The plan tuple built by soc/storage/columns.py (its order is fixed there). */
enum {
    P_GROUPS, P_KINDS, P_TEXT, P_TO_INT, P_TS_MS, P_NOW_MS, P_PART_OF, P_GENERIC, P_DUMPS_FALLBACK,
    P_ORJSON_DUMPS, P_DEFAULT, P_TS_CACHE, P_DS_TOP, P_DS_KEY, P_SIZE
};

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra) {
        if (cap > PY_SSIZE_T_MAX / 2) {
            PyErr_NoMemory();
            return -1;
        }
        cap *= 2;
    }
    char *q = PyMem_Realloc(b->p, (size_t)cap);
    if (q == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = q;
    b->cap = cap;
    return 0;
}

static inline int buf_put(Buf *b, const void *src, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, src, (size_t)n);
    b->len += n;
    return 0;
}

typedef struct {
    int kind;     /* K_TS, K_STR, K_INT (the doc column is K_STR) */
    Buf vals;     /* int64 values, or int32 offsets (one more than rows) */
    Buf data;     /* UTF-8 text of string columns */
    Buf valid;    /* validity bitmap, one bit per row */
    Py_ssize_t nulls;
} Col;

typedef struct {
    Py_ssize_t vals, data, valid, nulls;
} Mark;

typedef struct {
    PyObject_HEAD
    PyObject *plan;        /* the plan tuple (holds every helper below) */
    PyObject *groups;      /* ((top, ((col, rest), ...)), ...) */
    PyObject *kwnames;     /* ("default",) */
    PyObject *times;       /* list: each row's time (epoch milliseconds) */
    PyObject *parts;       /* list: each row's (day, dataset) */
    PyObject *last_ds;     /* partition cache: the last (day, dataset) and its tuple */
    PyObject *last_part;
    long long last_day;
    Py_ssize_t max_text;   /* bytes of text a column may hold (Arrow string offsets are int32) */
    Py_ssize_t n;          /* rows */
    int ncols;             /* typed columns + the doc column, last */
    int finished;
    Col *cols;
    Mark *marks;
    PyObject **row;        /* per typed column: the value found for the row being added (new refs) */
} Builder;

static PyTypeObject BuilderType;

static void clear_row(Builder *b) {
    for (int i = 0; i < b->ncols; i++)
        Py_CLEAR(b->row[i]);
}

static void Builder_dealloc(Builder *b) {
    if (b->cols != NULL) {
        for (int i = 0; i < b->ncols; i++) {
            PyMem_Free(b->cols[i].vals.p);
            PyMem_Free(b->cols[i].data.p);
            PyMem_Free(b->cols[i].valid.p);
        }
        PyMem_Free(b->cols);
    }
    if (b->row != NULL) {
        clear_row(b);
        PyMem_Free(b->row);
    }
    PyMem_Free(b->marks);
    Py_XDECREF(b->plan);
    Py_XDECREF(b->kwnames);
    Py_XDECREF(b->times);
    Py_XDECREF(b->parts);
    Py_XDECREF(b->last_ds);
    Py_XDECREF(b->last_part);
    Py_TYPE(b)->tp_free((PyObject *)b);
}

#define H(b, i) PyTuple_GET_ITEM((b)->plan, (i))

static PyObject *Builder_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *plan;
    Py_ssize_t max_text = INT32_MAX;
    if (!PyArg_ParseTuple(args, "O!|n:Builder", &PyTuple_Type, &plan, &max_text))
        return NULL;
    if (max_text < 0 || max_text > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "Builder: max_text must be within 0 .. 2**31 - 1");
        return NULL;
    }
    if (PyTuple_GET_SIZE(plan) != P_SIZE) {
        PyErr_SetString(PyExc_ValueError, "Builder: the plan has the wrong size");
        return NULL;
    }
    PyObject *groups = PyTuple_GET_ITEM(plan, P_GROUPS), *kinds = PyTuple_GET_ITEM(plan, P_KINDS);
    if (!PyTuple_Check(groups) || !PyTuple_Check(kinds) || !PyDict_Check(PyTuple_GET_ITEM(plan, P_TS_CACHE))
        || PyTuple_GET_SIZE(kinds) < 1 || PyTuple_GET_SIZE(kinds) > 4096) {
        PyErr_SetString(PyExc_TypeError, "Builder: malformed plan");
        return NULL;
    }
    int ncols = (int)PyTuple_GET_SIZE(kinds);
    /* Check the groups once, so add() can use the unchecked macros: (str, ((int < ncols - 1, (str, ...)), ...)) */
    for (Py_ssize_t g = 0; g < PyTuple_GET_SIZE(groups); g++) {
        PyObject *grp = PyTuple_GET_ITEM(groups, g);
        if (!PyTuple_Check(grp) || PyTuple_GET_SIZE(grp) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(grp, 0))
            || !PyTuple_Check(PyTuple_GET_ITEM(grp, 1)))
            goto bad;
        PyObject *entries = PyTuple_GET_ITEM(grp, 1);
        for (Py_ssize_t e = 0; e < PyTuple_GET_SIZE(entries); e++) {
            PyObject *ent = PyTuple_GET_ITEM(entries, e);
            if (!PyTuple_Check(ent) || PyTuple_GET_SIZE(ent) != 2 || !PyLong_Check(PyTuple_GET_ITEM(ent, 0))
                || !PyTuple_Check(PyTuple_GET_ITEM(ent, 1)))
                goto bad;
            long col = PyLong_AsLong(PyTuple_GET_ITEM(ent, 0));
            if (col < 0 || col >= ncols - 1)
                goto bad;
            PyObject *rest = PyTuple_GET_ITEM(ent, 1);
            for (Py_ssize_t r = 0; r < PyTuple_GET_SIZE(rest); r++)
                if (!PyUnicode_Check(PyTuple_GET_ITEM(rest, r)))
                    goto bad;
        }
    }
    Builder *b = (Builder *)type->tp_alloc(type, 0);
    if (b == NULL)
        return NULL;
    b->ncols = ncols;
    b->last_day = 0;
    b->max_text = max_text;
    Py_INCREF(plan);
    b->plan = plan;
    b->groups = groups;
    /* interned: orjson matches keyword names by identity */
    PyObject *kw = PyUnicode_InternFromString("default");
    b->kwnames = kw ? PyTuple_Pack(1, kw) : NULL;
    Py_XDECREF(kw);
    b->times = PyList_New(0);
    b->parts = PyList_New(0);
    b->cols = PyMem_Calloc((size_t)ncols, sizeof(Col));
    b->marks = PyMem_Calloc((size_t)ncols, sizeof(Mark));
    b->row = PyMem_Calloc((size_t)ncols, sizeof(PyObject *));
    if (b->kwnames == NULL || b->times == NULL || b->parts == NULL || b->cols == NULL || b->marks == NULL
        || b->row == NULL) {
        Py_DECREF(b);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    for (int i = 0; i < ncols; i++) {
        long k = PyLong_AsLong(PyTuple_GET_ITEM(kinds, i));
        if (k != K_TS && k != K_STR && k != K_INT) {
            Py_DECREF(b);
            PyErr_SetString(PyExc_ValueError, "Builder: unknown column kind");
            return NULL;
        }
        b->cols[i].kind = (int)k;
        if (k == K_STR) {
            int32_t zero = 0;
            if (buf_put(&b->cols[i].vals, &zero, 4) < 0) {
                Py_DECREF(b);
                return NULL;
            }
        }
    }
    if (b->cols[0].kind != K_TS || b->cols[ncols - 1].kind != K_STR) {
        Py_DECREF(b);
        PyErr_SetString(PyExc_ValueError, "Builder: the first column must be the time, the last the document");
        return NULL;
    }
    return (PyObject *)b;
bad:
    PyErr_SetString(PyExc_TypeError, "Builder: malformed column groups");
    return NULL;
}

/* -- appending one value ---------------------------------------------------------------------------- */

static inline int set_valid(Col *c, Py_ssize_t row, int ok) {
    if ((row & 7) == 0) {
        char z = 0;
        if (buf_put(&c->valid, &z, 1) < 0)
            return -1;
    }
    if (ok)
        c->valid.p[row >> 3] |= (char)(1 << (row & 7));
    else
        c->nulls++;
    return 0;
}

static int put_null(Builder *b, Col *c) {
    if (c->kind == K_STR) {
        int32_t off = (int32_t)c->data.len;
        if (buf_put(&c->vals, &off, 4) < 0)
            return -1;
    } else {
        int64_t z = 0;
        if (buf_put(&c->vals, &z, 8) < 0)
            return -1;
    }
    return set_valid(c, b->n, 0);
}

static int put_bytes(Builder *b, Col *c, const char *s, Py_ssize_t n) {
    if (n > b->max_text - c->data.len) {
        PyErr_SetString(PyExc_OverflowError, "a text column of this table would pass its limit (2 GiB)");
        return -1;
    }
    if (buf_put(&c->data, s, n) < 0)
        return -1;
    int32_t off = (int32_t)c->data.len;
    if (buf_put(&c->vals, &off, 4) < 0)
        return -1;
    return set_valid(c, b->n, 1);
}

static int put_int64(Builder *b, Col *c, long long x) {
    int64_t v = (int64_t)x;
    if (buf_put(&c->vals, &v, 8) < 0)
        return -1;
    return set_valid(c, b->n, 1);
}

static int put_text_of(Builder *b, Col *c, PyObject *t) {
    /* t: a str from Python (text helper or document fallback) */
    if (!PyUnicode_Check(t)) {
        PyErr_SetString(PyExc_TypeError, "a text helper returned something other than str");
        return -1;
    }
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(t, &n);
    if (s == NULL)
        return -1;
    return put_bytes(b, c, s, n);
}

static int put_str(Builder *b, Col *c, PyObject *v) {
    if (v == Py_None)
        return put_null(b, c);
    if (PyUnicode_CheckExact(v)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(v, &n);
        if (s != NULL)
            return put_bytes(b, c, s, n);
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
            return -1;
        PyErr_Clear(); /* lone surrogates: the text helper escapes them */
    } else if (PyList_CheckExact(v)) {
        /* a list of text (event.category, event.type...): joined with commas, as the text helper joins it */
        Py_ssize_t start = c->data.len, k, len = PyList_GET_SIZE(v);
        for (k = 0; k < len; k++) {
            PyObject *item = PyList_GET_ITEM(v, k);
            Py_ssize_t n;
            const char *s = PyUnicode_CheckExact(item) ? PyUnicode_AsUTF8AndSize(item, &n) : NULL;
            if (s == NULL || n > b->max_text - c->data.len - 1) {
                if (PyErr_Occurred()) {
                    if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
                        return -1;
                    PyErr_Clear();
                }
                break;
            }
            if ((k && buf_put(&c->data, ",", 1) < 0) || buf_put(&c->data, s, n) < 0)
                return -1;
        }
        if (k == len) {
            int32_t off = (int32_t)c->data.len;
            if (buf_put(&c->vals, &off, 4) < 0)
                return -1;
            return set_valid(c, b->n, 1);
        }
        c->data.len = start; /* not plain text after all: the helper decides */
    }
    PyObject *t = PyObject_CallOneArg(H(b, P_TEXT), v);
    if (t == NULL)
        return -1;
    int r = put_text_of(b, c, t);
    Py_DECREF(t);
    return r;
}

static int put_int(Builder *b, Col *c, PyObject *v) {
    if (v == Py_None)
        return put_null(b, c);
    PyObject *owned = NULL;
    if (!PyLong_CheckExact(v)) {
        owned = PyObject_CallOneArg(H(b, P_TO_INT), v);
        if (owned == NULL)
            return -1;
        if (owned == Py_None) {
            Py_DECREF(owned);
            return put_null(b, c);
        }
        if (!PyLong_CheckExact(owned)) {
            Py_DECREF(owned);
            PyErr_SetString(PyExc_TypeError, "the integer helper returned something other than int");
            return -1;
        }
        v = owned;
    }
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    Py_XDECREF(owned);
    if (overflow)
        return put_null(b, c); /* out of int64: null, as row_values gives */
    if (x == -1 && PyErr_Occurred())
        return -1;
    return put_int64(b, c, x);
}

/* The time in epoch milliseconds (a new reference to an int): from the shared cache, the helper, or now. */
static PyObject *time_ms(Builder *b, PyObject *v) {
    PyObject *ms = NULL;
    if (v != Py_None) {
        if (PyUnicode_CheckExact(v)) {
            ms = PyDict_GetItemWithError(H(b, P_TS_CACHE), v);
            if (ms != NULL)
                Py_INCREF(ms);
            else if (PyErr_Occurred())
                return NULL;
        }
        if (ms == NULL) {
            ms = PyObject_CallOneArg(H(b, P_TS_MS), v);
            if (ms == NULL)
                return NULL;
        }
    }
    if (ms == NULL || ms == Py_None) {
        Py_XDECREF(ms);
        ms = PyObject_CallNoArgs(H(b, P_NOW_MS));
        if (ms == NULL)
            return NULL;
    }
    if (!PyLong_CheckExact(ms)) {
        Py_DECREF(ms);
        PyErr_SetString(PyExc_TypeError, "the time helper returned something other than int");
        return NULL;
    }
    return ms;
}

static long long floor_div(long long a, long long d) {
    long long q = a / d;
    return (a % d != 0 && ((a < 0) != (d < 0))) ? q - 1 : q;
}

/* The row's partition tuple (new reference): the last one again when day and dataset repeat. */
static PyObject *partition_of(Builder *b, long long ms, PyObject *ds) {
    long long day = floor_div(ms, 86400000LL);
    int cacheable = ds == Py_None || PyUnicode_CheckExact(ds);
    if (cacheable && b->last_part != NULL && day == b->last_day) {
        int same = ds == b->last_ds;
        if (!same && ds != Py_None && b->last_ds != Py_None) {
            same = PyUnicode_Compare(ds, b->last_ds) == 0;
            if (PyErr_Occurred())
                return NULL;
        }
        if (same) {
            Py_INCREF(b->last_part);
            return b->last_part;
        }
    }
    PyObject *msobj = PyLong_FromLongLong(ms);
    if (msobj == NULL)
        return NULL;
    PyObject *part = PyObject_CallFunctionObjArgs(H(b, P_PART_OF), msobj, ds, NULL);
    Py_DECREF(msobj);
    if (part == NULL)
        return NULL;
    if (cacheable) {
        Py_INCREF(ds);
        Py_XSETREF(b->last_ds, ds);
        Py_INCREF(part);
        Py_XSETREF(b->last_part, part);
        b->last_day = day;
    }
    return part;
}

/* -- one row ---------------------------------------------------------------------------------------- */

static void mark(Builder *b) {
    for (int i = 0; i < b->ncols; i++) {
        Col *c = &b->cols[i];
        b->marks[i] = (Mark){c->vals.len, c->data.len, c->valid.len, c->nulls};
    }
}

static void rollback(Builder *b) {
    for (int i = 0; i < b->ncols; i++) {
        Col *c = &b->cols[i];
        Mark *m = &b->marks[i];
        c->vals.len = m->vals;
        c->data.len = m->data;
        c->valid.len = m->valid;
        c->nulls = m->nulls;
        if ((b->n & 7) != 0 && c->valid.len > (b->n >> 3))
            c->valid.p[b->n >> 3] &= (char)~(1 << (b->n & 7));
    }
}

/* Fills b->row[col] (new references, NULL = absent) from the nested document: one lookup per level. */
static int gather(Builder *b, PyObject *doc) {
    PyObject *groups = b->groups;
    for (Py_ssize_t g = 0; g < PyTuple_GET_SIZE(groups); g++) {
        PyObject *grp = PyTuple_GET_ITEM(groups, g);
        PyObject *top = PyDict_GetItemWithError(doc, PyTuple_GET_ITEM(grp, 0));
        if (top == NULL) {
            if (PyErr_Occurred())
                return -1;
            continue;
        }
        Py_INCREF(top);
        PyObject *entries = PyTuple_GET_ITEM(grp, 1);
        for (Py_ssize_t e = 0; e < PyTuple_GET_SIZE(entries); e++) {
            PyObject *ent = PyTuple_GET_ITEM(entries, e);
            Py_ssize_t col = PyLong_AsSsize_t(PyTuple_GET_ITEM(ent, 0));
            PyObject *rest = PyTuple_GET_ITEM(ent, 1);
            PyObject *v = top;
            Py_INCREF(v);
            for (Py_ssize_t r = 0; r < PyTuple_GET_SIZE(rest) && v != NULL; r++) {
                PyObject *next = NULL;
                if (PyDict_CheckExact(v)) {
                    next = PyDict_GetItemWithError(v, PyTuple_GET_ITEM(rest, r));
                    if (next == NULL && PyErr_Occurred()) {
                        Py_DECREF(v);
                        Py_DECREF(top);
                        return -1;
                    }
                    Py_XINCREF(next);
                }
                Py_DECREF(v);
                v = next;
            }
            Py_XSETREF(b->row[col], v);
        }
        Py_DECREF(top);
    }
    return 0;
}

/* Keys that send the event to row_values_generic: not str, or dotted (flat JSON such as {"source.ip": ...}). */
static int needs_generic(PyObject *doc) {
    if (!PyDict_CheckExact(doc))
        return 1;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(doc, &pos, &key, &value)) {
        if (!PyUnicode_Check(key))
            return 1;
        Py_ssize_t at = PyUnicode_FindChar(key, '.', 0, PyUnicode_GET_LENGTH(key), 1);
        if (at == -2)
            return -1;
        if (at >= 0)
            return 1;
    }
    return 0;
}

static PyObject *dataset_of(Builder *b, PyObject *doc) {
    PyObject *ev = PyDict_GetItemWithError(doc, H(b, P_DS_TOP));
    if (ev == NULL)
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    if (!PyDict_CheckExact(ev))
        return Py_NewRef(Py_None);
    PyObject *ds = PyDict_GetItemWithError(ev, H(b, P_DS_KEY));
    if (ds == NULL)
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    return Py_NewRef(ds);
}

static int add_row(Builder *b, PyObject *doc) {
    int last = b->ncols - 1; /* the doc column */
    PyObject *ds = NULL, *msobj = NULL, *part = NULL, *json = NULL;
    int generic = needs_generic(doc);
    if (generic < 0)
        return -1;
    if (generic) {
        /* [typed values..., doc text, dataset], each typed value already converted (or a datetime) */
        PyObject *row = PyObject_CallOneArg(H(b, P_GENERIC), doc);
        if (row == NULL)
            return -1;
        if (!PyList_CheckExact(row) || PyList_GET_SIZE(row) != b->ncols + 1) {
            Py_DECREF(row);
            PyErr_SetString(PyExc_TypeError, "row_values_generic returned a row of the wrong shape");
            return -1;
        }
        for (int i = 0; i <= last; i++)
            Py_XSETREF(b->row[i], Py_NewRef(PyList_GET_ITEM(row, i)));
        ds = Py_NewRef(PyList_GET_ITEM(row, last + 1));
        Py_DECREF(row);
    } else if (gather(b, doc) < 0 || (ds = dataset_of(b, doc)) == NULL) {
        clear_row(b);
        return -1;
    }
    mark(b);
    msobj = time_ms(b, b->row[0] ? b->row[0] : Py_None);
    if (msobj == NULL)
        goto fail;
    long long ms = PyLong_AsLongLong(msobj);
    if (ms == -1 && PyErr_Occurred())
        goto fail;
    if (put_int64(b, &b->cols[0], ms) < 0)
        goto fail;
    for (int i = 1; i < last; i++) {
        Col *c = &b->cols[i];
        PyObject *v = b->row[i] ? b->row[i] : Py_None;
        if ((c->kind == K_STR ? put_str(b, c, v) : put_int(b, c, v)) < 0)
            goto fail;
    }
    if (generic) {
        if (put_text_of(b, &b->cols[last], b->row[last]) < 0)
            goto fail;
    } else {
        PyObject *args[3] = {NULL, doc, (PyObject *)&PyUnicode_Type};
        json = PyObject_Vectorcall(H(b, P_ORJSON_DUMPS), args + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, b->kwnames);
        if (json != NULL && PyBytes_CheckExact(json)) {
            if (put_bytes(b, &b->cols[last], PyBytes_AS_STRING(json), PyBytes_GET_SIZE(json)) < 0)
                goto fail;
        } else {
            /* orjson refused (non-str keys, lone surrogates...): the Python fallback's text */
            PyErr_Clear();
            Py_CLEAR(json);
            json = PyObject_CallOneArg(H(b, P_DUMPS_FALLBACK), doc);
            if (json == NULL || put_text_of(b, &b->cols[last], json) < 0)
                goto fail;
        }
    }
    part = partition_of(b, ms, ds);
    if (part == NULL)
        goto fail;
    if (PyList_Append(b->times, msobj) < 0)
        goto fail;
    if (PyList_Append(b->parts, part) < 0) {
        /* keep times and parts the same length */
        PyList_SetSlice(b->times, PyList_GET_SIZE(b->times) - 1, PyList_GET_SIZE(b->times), NULL);
        goto fail;
    }
    b->n++;
    Py_DECREF(part);
    Py_DECREF(msobj);
    Py_DECREF(ds);
    Py_XDECREF(json);
    clear_row(b);
    return 0;
fail:
    rollback(b);
    Py_XDECREF(part);
    Py_XDECREF(msobj);
    Py_XDECREF(ds);
    Py_XDECREF(json);
    clear_row(b);
    return -1;
}

static PyObject *Builder_add(Builder *b, PyObject *doc) {
    if (b->finished) {
        PyErr_SetString(PyExc_RuntimeError, "Builder.add after finish()");
        return NULL;
    }
    if (!PyDict_Check(doc)) {
        PyErr_SetString(PyExc_TypeError, "Builder.add takes a dict");
        return NULL;
    }
    if (b->n >= INT32_MAX - 1) {
        PyErr_SetString(PyExc_OverflowError, "a table holds at most 2**31 - 2 rows");
        return NULL;
    }
    if (add_row(b, doc) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *bytes_of(Buf *buf) {
    return PyBytes_FromStringAndSize(buf->p ? buf->p : "", buf->len);
}

/* finish() -> (rows, [(kind, validity bytes | None, null count, values/offsets bytes, data bytes | None)...],
 *              times, partitions). The builder takes no more rows. */
static PyObject *Builder_finish(Builder *b, PyObject *Py_UNUSED(ignored)) {
    if (b->finished) {
        PyErr_SetString(PyExc_RuntimeError, "Builder.finish called twice");
        return NULL;
    }
    PyObject *cols = PyList_New(b->ncols);
    if (cols == NULL)
        return NULL;
    for (int i = 0; i < b->ncols; i++) {
        Col *c = &b->cols[i];
        PyObject *valid = c->nulls ? bytes_of(&c->valid) : Py_NewRef(Py_None);
        PyObject *vals = bytes_of(&c->vals);
        PyObject *data = c->kind == K_STR ? bytes_of(&c->data) : Py_NewRef(Py_None);
        PyObject *item = (valid && vals && data) ? Py_BuildValue("(iOnOO)", c->kind, valid, c->nulls, vals, data) : NULL;
        Py_XDECREF(valid);
        Py_XDECREF(vals);
        Py_XDECREF(data);
        if (item == NULL) {
            Py_DECREF(cols);
            return NULL;
        }
        PyList_SET_ITEM(cols, i, item);
    }
    b->finished = 1;
    PyObject *out = Py_BuildValue("(nOOO)", b->n, cols, b->times, b->parts);
    Py_DECREF(cols);
    return out;
}

static PyObject *Builder_len(Builder *b, PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromSsize_t(b->n);
}

static PyMethodDef Builder_methods[] = {
    {"add", (PyCFunction)Builder_add, METH_O, "Append one event (a dict) as a row; all or nothing."},
    {"finish", (PyCFunction)Builder_finish, METH_NOARGS, "The columns' Arrow buffers, the times and partitions."},
    {"rows", (PyCFunction)Builder_len, METH_NOARGS, "Rows added so far."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject BuilderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "soc.storage._rows.Builder",
    .tp_basicsize = sizeof(Builder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Builder(plan): the storage table of a run of events (see soc/storage/columns.py).",
    .tp_new = Builder_new,
    .tp_dealloc = (destructor)Builder_dealloc,
    .tp_methods = Builder_methods,
};

static struct PyModuleDef rows_module = {
    PyModuleDef_HEAD_INIT, "_rows", "Storage rows of events, built in C (see soc/storage/columns.py).", -1, NULL,
};

PyMODINIT_FUNC PyInit__rows(void) {
    if (PyType_Ready(&BuilderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&rows_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&BuilderType);
    if (PyModule_AddObject(m, "Builder", (PyObject *)&BuilderType) < 0) {
        Py_DECREF(&BuilderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

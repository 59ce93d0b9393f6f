/* The prefilter's hot steps in native code (optional; pure-Python twins in haystack.py and compiler.py).
 *
 * field_text(doc, node): the values of `doc` that a bucket's rules can read (the walk of
 *   compiler.value_extractor over its prune tree, in the same order), written as the JSON list orjson
 *   writes, then case-folded as compiler.event_haystack does (bytes.lower for ASCII text, str.casefold
 *   otherwise); b"" when there is no value.
 * keyword_text(doc): the same for every non-empty string value of the event (compiler.keyword_text_py:
 *   compiler.event_strings, what keyword matchers compare), the text keyword literals are searched in.
 * select(fields, text, offset, live, triggers, always): the candidate rules from the automata's matches
 *   (haystack.select_py).
 * fold(raw): the case fold of a UTF-8 JSON text (compiler.fold_py: bytes.lower for ASCII, else str.casefold).
 *
 * field_text and keyword_text return None when the event holds anything this writer does not handle exactly
 * as the Python path does (floats, integers beyond 64 bits, lone surrogates, types other than exact dict/list/
 * str/int/bool/None, keys that are not exact str, nesting deeper than MAX_DEPTH): the caller then runs the
 * Python path, so the result is always the Python twin's. No Python code runs here except str.casefold,
 * hashing and comparison of exact str keys; references taken from containers are held while used.
 *
 * node = (leaves: frozenset[str], leaf_order: tuple[str, ...] (the frozenset's iteration order),
 *         subs: tuple[tuple[str, node], ...], names: frozenset[str] | None, n_leaves: int,
 *         seen: dict[str, bool] (keys with spaces already decided, filled here))
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
/* c (a '"', '\' or control character) escaped as orjson writes it; returns the new write position */
static inline unsigned char *put_escape(unsigned char *w, unsigned char c) {
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
    return w;
}

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
    /* 6 bytes per byte at most (\u00xx), quotes, and 16 of slack for the last chunk's full write */
    if (n > (PY_SSIZE_T_MAX - 18) / 6 || grow(o, n * 6 + 18) != OK) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        return ERR;
    }
    if (!PyUnicode_IS_ASCII(s))
        o->nonascii = 1;
    unsigned char *w = (unsigned char *)o->buf + o->len;
    const unsigned char *r = (const unsigned char *)u, *end = r + n;
    *w++ = '"';
#ifdef __SSE2__
    /* 16 bytes at a time (x86-64 always has SSE2), as the 8-byte loop below. The last chunk of a string also
     * reads the bytes after it (only flags and copies within the string count) unless they could lie on the
     * next page, which might not be mapped: that tail is left to the 8-byte loop. */
    const __m128i quote = _mm_set1_epi8('"'), bsl = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1f);
    const __m128i a1 = _mm_set1_epi8('A' - 1), z1 = _mm_set1_epi8('Z' + 1), bit = _mm_set1_epi8(0x20);
    while (r < end) {
        Py_ssize_t avail = end - r;
        if (avail < 16 && ((uintptr_t)r & 4095) > 4096 - 16)
            break;
        __m128i x = _mm_loadu_si128((const __m128i *)r);
        __m128i esc = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bsl)),
                                   _mm_cmpeq_epi8(_mm_min_epu8(x, ctl), x)); /* '"', '\', bytes <= 0x1f */
        /* signed compares: bytes >= 0x80 are negative, never in 'A'..'Z' */
        __m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, a1), _mm_cmplt_epi8(x, z1));
        _mm_storeu_si128((__m128i *)w, _mm_or_si128(x, _mm_and_si128(up, bit)));
        unsigned m = (unsigned)_mm_movemask_epi8(esc);
        Py_ssize_t step = 16;
        if (avail < 16) {
            m &= (1u << avail) - 1;
            step = avail;
        }
        if (m == 0) {
            w += step;
            r += step;
            continue;
        }
        int pos = __builtin_ctz(m);
        w = put_escape(w + pos, r[pos]);
        r += pos + 1;
    }
#endif
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
        w = put_escape(w + pos, r[pos]);
        r += pos + 1;
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

struct Automaton;
struct Found;
static uint32_t ac_feed(const struct Automaton *a, uint32_t s, const unsigned char *t, Py_ssize_t n,
                        struct Found *fd);
static uint32_t ac_feed_str(const struct Automaton *a, uint32_t s, const unsigned char *t, Py_ssize_t n,
                            struct Found *fd);
static uint32_t ac_feed_byte(const struct Automaton *a, uint32_t s, unsigned char c, struct Found *fd);
static PyObject *casefold_utf8(const char *text, Py_ssize_t n);

/* Where the field walk puts the values. field_text (a == NULL): into o, as the JSON list. scan (a != NULL): the
 * same text is searched as it is produced, the automaton's state s carried from byte to byte, so the patterns
 * found are exactly those of the whole text (whatever bytes they hold, quotes and brackets included): an ASCII
 * str value is searched straight from its str as '"', its folded escaped form (ac_feed_str), '"'; any other value
 * is written into o (o emptied first) and that piece is searched, case-folded alone when it holds non-ASCII text
 * (str.casefold maps each character on its own, so the fold of the whole text is the fold of its pieces). The
 * separators ('[' ',') are fed before each value, the closing ']' by the caller. */
typedef struct {
    Out *o;
    Py_ssize_t count;
    const struct Automaton *a;
    struct Found *fd;
    uint32_t s;
} Fw;

/* the piece in o searched from the walk's state (case-folded first when it holds non-ASCII text) */
static int fw_feed_out(Fw *f) {
    Out *o = f->o;
    if (!o->nonascii) {
        f->s = ac_feed(f->a, f->s, (const unsigned char *)o->buf, o->len, f->fd);
        return OK;
    }
    PyObject *b = casefold_utf8(o->buf, o->len);
    if (b == NULL)
        return ERR;
    f->s = ac_feed(f->a, f->s, (const unsigned char *)PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b), f->fd);
    Py_DECREF(b);
    return OK;
}

/* one more value of the list field_text writes (or scan searches) */
static int put_item(Fw *f, PyObject *v) {
    char sep = f->count++ ? ',' : '[';
    if (f->a != NULL) {
        if (PyUnicode_CheckExact(v) && PyUnicode_IS_COMPACT_ASCII(v)) {
            /* its bytes are its UTF-8; nothing of it runs Python code, no reference needed */
            f->s = ac_feed_byte(f->a, f->s, (unsigned char)sep, f->fd);
            f->s = ac_feed_byte(f->a, f->s, '"', f->fd);
            f->s = ac_feed_str(f->a, f->s, (const unsigned char *)PyUnicode_DATA(v), PyUnicode_GET_LENGTH(v), f->fd);
            f->s = ac_feed_byte(f->a, f->s, '"', f->fd);
            return OK;
        }
        f->o->len = 0;
        f->o->nonascii = 0;
    }
    if (put_char(f->o, sep) != OK)
        return ERR;
    Py_INCREF(v);
    int rc = put_value(f->o, v, 1);
    Py_DECREF(v);
    if (rc == OK && f->a != NULL)
        rc = fw_feed_out(f);
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

static int walk(Fw *f, PyObject *doc, PyObject *node, int depth) {
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
            rc = keep < 0 ? ERR : keep ? put_item(f, v) : OK;
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
            if ((rc = put_item(f, v)) != OK)
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
        rc = walk(f, v, PyTuple_GET_ITEM(ks, 1), depth + 1);
        Py_DECREF(v);
        if (rc != OK)
            return rc;
    }
    return OK;
}

/* keyword_text: every non-empty string value of the event (compiler.event_strings: list elements included,
 * keys, numbers and other scalars left out, `event.original` skipped), in its order. A dict whose "event"
 * value is a dict holding "original" is walked as compiler._walk does: its other values first, then that
 * "event" dict without "original". */
static PyObject *s_event = NULL, *s_original = NULL;

/* Where the keyword walk puts the values. keyword_text (a == NULL): every value into o, as the JSON list.
 * scan with a separable automaton (a != NULL, see Automaton.sep_free): an ASCII value is searched straight from
 * its str (folded and escaped on the fly, ac_feed_str), other values go into o (folded and searched at the end);
 * a value too short to hold a pattern, or a str object already searched in this event, is not searched again.
 * Equivalence: no pattern of such an automaton holds '"' and each is 2+ bytes long. In the JSON list text
 * ["v1","v2",...] (folded), every '"' byte is a delimiter or escaped inside a value, so the runs of bytes without
 * '"' are the separators '[', ',', ']' (1 byte each) and pieces of one value's escaped text: every occurrence of
 * a pattern lies within one value's escaped, folded text (folding maps no character to '"': only to letters and
 * marks). The patterns found in the whole text are thus the union of those found in each value's text, which
 * depends on the str alone (str.casefold is context-free; ASCII folds to its lower case), is as long as its
 * escaped form for ASCII (escape_len), and is the same text again for the same str object. */
#define SEEN_SLOTS 128 /* pointer set of the long values searched (open addressing, at most half full) */
#define DUP_MIN 16     /* values shorter than this are not looked up in it */
typedef struct {
    Out *o;
    Py_ssize_t count;
    const struct Automaton *a;
    struct Found *fd;
    Py_ssize_t min_len;
    int n_seen;
    PyObject *seen[SEEN_SLOTS];
} Kw;

/* 1 if str v was already searched in this event (else notes it, while the set has room) */
static inline int kw_seen(Kw *k, PyObject *v) {
    uintptr_t h = ((uintptr_t)v >> 4) * 0x9E3779B97F4A7C15ULL;
    unsigned i = (unsigned)(h >> 57); /* 7 bits: SEEN_SLOTS */
    while (k->seen[i] != NULL) {
        if (k->seen[i] == v)
            return 1;
        i = (i + 1) & (SEEN_SLOTS - 1);
    }
    if (k->n_seen < SEEN_SLOTS / 2) {
        k->seen[i] = v;
        k->n_seen++;
    }
    return 0;
}

/* the length of the JSON-escaped form of ASCII text (put_str's escapes), without its quotes */
static Py_ssize_t escape_len(const unsigned char *t, Py_ssize_t n) {
    Py_ssize_t len = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = t[i];
        if (c == '"' || c == '\\' || c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r')
            len += 1;
        else if (c < 0x20)
            len += 5;
    }
    return len;
}

static int kw_str(Kw *k, PyObject *v) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(v);
    if (n == 0)
        return OK;
    if (k->a != NULL) {
        if (PyUnicode_IS_COMPACT_ASCII(v)) {
            const unsigned char *t = (const unsigned char *)PyUnicode_DATA(v);
            if (n < k->min_len && escape_len(t, n) < k->min_len)
                return OK;
            if (n >= DUP_MIN && kw_seen(k, v))
                return OK;
            ac_feed_str(k->a, 0, t, n, k->fd);
            return OK;
        }
        /* not skipped for its length: a fold can change it (and put_str declines lone surrogates) */
        if (n >= DUP_MIN && kw_seen(k, v))
            return OK;
    }
    if (put_char(k->o, k->count++ ? ',' : '[') != OK)
        return ERR;
    return put_str(k->o, v);
}

static int kw_value(Kw *k, PyObject *v, int depth);

/* k == s for an exact str k and an interned s: the same object (keys written in code are interned), else the
 * same length and text */
static inline int same_str(PyObject *k, PyObject *s) {
    return k == s || (PyUnicode_GET_LENGTH(k) == PyUnicode_GET_LENGTH(s) && PyUnicode_Compare(k, s) == 0);
}

/* the values of d except the one at key `skip` (NULL: none); with a (possibly) non-str key to compare, the
 * Python path decides (comparing runs the key's own code) */
static int kw_dict(Kw *kw, PyObject *d, PyObject *skip, int depth) {
    if (depth > MAX_DEPTH)
        return FALLBACK;
    PyObject *ev = PyDict_GetItemWithError(d, s_event);
    if (ev == NULL && PyErr_Occurred())
        return ERR;
    int special = 0;
    if (ev != NULL && PyDict_Check(ev)) {
        if (!PyDict_CheckExact(ev))
            return FALLBACK;
        special = PyDict_Contains(ev, s_original);
        if (special < 0)
            return ERR;
    }
    PyObject *first_skip = special ? s_event : skip;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int rc = OK;
    while (PyDict_Next(d, &pos, &k, &v)) {
        if (first_skip != NULL) {
            if (!PyUnicode_CheckExact(k))
                return FALLBACK;
            if (same_str(k, first_skip))
                continue;
            /* the copied "event" dict (skip = "original") still has no "event" key of its own skipped */
            if (special && skip != NULL && same_str(k, skip))
                continue;
        }
        Py_INCREF(v);
        rc = kw_value(kw, v, depth + 1);
        Py_DECREF(v);
        if (rc != OK)
            return rc;
    }
    if (special) {
        Py_INCREF(ev);
        rc = kw_dict(kw, ev, s_original, depth + 1);
        Py_DECREF(ev);
    }
    return rc;
}

static int kw_value(Kw *k, PyObject *v, int depth) {
    if (depth > MAX_DEPTH)
        return FALLBACK;
    if (PyUnicode_CheckExact(v))
        return kw_str(k, v);
    if (PyDict_CheckExact(v))
        return kw_dict(k, v, NULL, depth);
    if (PyList_CheckExact(v)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
            PyObject *e = PyList_GET_ITEM(v, i);
            Py_INCREF(e);
            int rc = kw_value(k, e, depth + 1);
            Py_DECREF(e);
            if (rc != OK)
                return rc;
        }
        return OK;
    }
    if (PyUnicode_Check(v) || PyDict_Check(v) || PyList_Check(v))
        return FALLBACK; /* subclasses: the Python path */
    return OK;           /* numbers, booleans, None, other objects: keywords only search strings */
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

/* The end of a JSON list text: its closing bracket, or b"" when nothing was written into it. */
static PyObject *close_list(Out *o, int rc, Py_ssize_t count) {
    if (rc == OK && count == 0) {
        release(o);
        return PyBytes_FromStringAndSize("", 0);
    }
    if (rc == OK)
        rc = put_char(o, ']');
    return finish(o, rc);
}

/* METH_FASTCALL (no argument tuple per call) */
static PyObject *field_text(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "field_text(doc, node) takes 2 arguments");
        return NULL;
    }
    PyObject *doc = args[0], *node = args[1];
    if (!PyDict_CheckExact(doc))
        Py_RETURN_NONE;
    Out o = take();
    Fw f = {.o = &o};
    int rc = walk(&f, doc, node, 0);
    return close_list(&o, rc, f.count);
}

static PyObject *keyword_text(PyObject *self, PyObject *doc) {
    if (!PyDict_CheckExact(doc))
        Py_RETURN_NONE;
    if (s_event == NULL) {
        s_event = PyUnicode_InternFromString("event");
        s_original = PyUnicode_InternFromString("original");
        if (s_event == NULL || s_original == NULL)
            return NULL;
    }
    Out o = take();
    Kw kw = {.o = &o};
    int rc = kw_dict(&kw, doc, NULL, 0);
    return close_list(&o, rc, kw.count);
}

/* select(fields, text, offset, live, triggers, always) -> list[int]: the candidate rules of an event
 * (haystack.select_py's twin). fields / text: the Aho-Corasick matches (pattern, start, end) of the bucket's field
 * and keyword automata (a keyword pattern's literal id is offset + pattern); live: bytes, live[id] != 0 when
 * literal `id` triggers a rule; triggers[id] = (plain: frozenset of rules, checked: tuple of (rule, tuple of
 * clauses)), a clause being a tuple of literal ids of which one must be found; always: list of rules.
 * Only ints are hashed and compared here (no Python code runs). */
static unsigned char *sel_buf = NULL;
static Py_ssize_t sel_cap = 0;

/* clears the entries mark_found set; 0 if a match is no longer what it was (then the caller clears all) */
static int clear_found(PyObject *matches, Py_ssize_t offset, unsigned char *found, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(matches); i++) {
        PyObject *m = PyList_GET_ITEM(matches, i);
        if (!PyTuple_CheckExact(m) || PyTuple_GET_SIZE(m) < 1 || !PyLong_CheckExact(PyTuple_GET_ITEM(m, 0)))
            return 0;
        Py_ssize_t id = PyLong_AsSsize_t(PyTuple_GET_ITEM(m, 0));
        if (id < 0 || id > PY_SSIZE_T_MAX - offset || id + offset >= n) {
            PyErr_Clear();
            return 0;
        }
        found[id + offset] = 0;
    }
    return 1;
}

/* the literal id of match m (a (pattern, start, end) tuple) plus offset, or -1 with an exception set */
static Py_ssize_t match_id(PyObject *m, Py_ssize_t offset, Py_ssize_t n) {
    if (!PyTuple_CheckExact(m) || PyTuple_GET_SIZE(m) < 1) {
        PyErr_SetString(PyExc_TypeError, "select: a match is a (pattern, start, end) tuple");
        return -1;
    }
    Py_ssize_t id = PyLong_AsSsize_t(PyTuple_GET_ITEM(m, 0));
    if (id == -1 && PyErr_Occurred())
        return -1;
    if (id < 0 || id > PY_SSIZE_T_MAX - offset || id + offset >= n) {
        PyErr_SetString(PyExc_IndexError, "select: literal id out of range");
        return -1;
    }
    return id + offset;
}

static int mark_found(PyObject *matches, Py_ssize_t offset, unsigned char *found, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(matches); i++) {
        Py_ssize_t id = match_id(PyList_GET_ITEM(matches, i), offset, n);
        if (id < 0)
            return ERR;
        found[id] = 1;
    }
    return OK;
}

/* 1 if a literal of `clause` (a tuple of literal ids) was found, 0 if not, -1 on error */
static int clause_hit(PyObject *clause, const unsigned char *found, Py_ssize_t n) {
    if (!PyTuple_CheckExact(clause)) {
        PyErr_SetString(PyExc_TypeError, "select: a clause is a tuple of literal ids");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(clause); i++) {
        Py_ssize_t id = PyLong_AsSsize_t(PyTuple_GET_ITEM(clause, i));
        if (id == -1 && PyErr_Occurred())
            return -1;
        if (id >= 0 && id < n && found[id])
            return 1;
    }
    return 0;
}

/* the rules literal `id` triggers (triggers[id]), added to cand; ids past the table are an error (the lists
 * are checked again here: hashing what `always` and the tables hold could, in theory, run Python code) */
static int trigger_entry(PyObject *cand, PyObject *t, const unsigned char *found, Py_ssize_t n);

static int trigger(PyObject *cand, PyObject *triggers, Py_ssize_t id, const unsigned char *found, Py_ssize_t n) {
    if (id >= PyList_GET_SIZE(triggers)) {
        PyErr_SetString(PyExc_IndexError, "literal id out of range of the trigger table");
        return ERR;
    }
    PyObject *t = PyList_GET_ITEM(triggers, id);
    Py_INCREF(t);
    int rc = trigger_entry(cand, t, found, n);
    Py_DECREF(t);
    return rc;
}

/* the candidate rules as a sorted list */
static PyObject *sorted_list(PyObject *cand) {
    PyObject *out = PySequence_List(cand);
    if (out != NULL && PyList_Sort(out) < 0)
        Py_CLEAR(out);
    return out;
}

static int trigger_entry(PyObject *cand, PyObject *t, const unsigned char *found, Py_ssize_t n) {
    if (!PyTuple_CheckExact(t) || PyTuple_GET_SIZE(t) != 2 || !PyFrozenSet_CheckExact(PyTuple_GET_ITEM(t, 0))
        || !PyTuple_CheckExact(PyTuple_GET_ITEM(t, 1))) {
        PyErr_SetString(PyExc_TypeError, "select: bad trigger entry");
        return ERR;
    }
    PyObject *plain = PyTuple_GET_ITEM(t, 0), *checked = PyTuple_GET_ITEM(t, 1);
    if (PySet_GET_SIZE(plain) && _PySet_Update(cand, plain) < 0)
        return ERR;
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(checked); j++) {
        PyObject *e = PyTuple_GET_ITEM(checked, j);
        if (!PyTuple_CheckExact(e) || PyTuple_GET_SIZE(e) != 2 || !PyTuple_CheckExact(PyTuple_GET_ITEM(e, 1))) {
            PyErr_SetString(PyExc_TypeError, "select: bad trigger entry");
            return ERR;
        }
        PyObject *idx = PyTuple_GET_ITEM(e, 0), *rest = PyTuple_GET_ITEM(e, 1);
        int have = PySet_Contains(cand, idx);
        if (have < 0)
            return ERR;
        if (have)
            continue;
        int all = 1;
        for (Py_ssize_t k = 0; all == 1 && k < PyTuple_GET_SIZE(rest); k++)
            all = clause_hit(PyTuple_GET_ITEM(rest, k), found, n);
        if (all < 0 || (all && PySet_Add(cand, idx) < 0))
            return ERR;
    }
    return OK;
}

static PyObject *select_rules(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "select(fields, text, offset, live, triggers, always) takes 6 arguments");
        return NULL;
    }
    PyObject *fields = args[0], *text = args[1], *live = args[3], *triggers = args[4], *always = args[5];
    if (!PyList_Check(fields) || !PyList_Check(text) || !PyBytes_Check(live) || !PyList_Check(triggers)
        || !PyList_Check(always)) {
        PyErr_SetString(PyExc_TypeError, "select: fields, text, triggers, always are lists, live is bytes");
        return NULL;
    }
    Py_ssize_t offset = PyNumber_AsSsize_t(args[2], PyExc_OverflowError);
    if (offset == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(triggers);
    if (PyBytes_GET_SIZE(live) != n || offset < 0) {
        PyErr_SetString(PyExc_ValueError, "select: live must have one byte per literal, offset >= 0");
        return NULL;
    }
    /* found[id]: 1 found, 2 found and its rules added; a buffer kept zeroed between calls (only the marked
     * entries are cleared after use) */
    if (n > sel_cap) {
        unsigned char *b = PyMem_Calloc((size_t)n, 1);
        if (b == NULL)
            return PyErr_NoMemory();
        PyMem_Free(sel_buf);
        sel_buf = b;
        sel_cap = n;
    }
    unsigned char *found = sel_buf;
    PyObject *cand = NULL, *out = NULL;
    if (mark_found(fields, 0, found, n) != OK || mark_found(text, offset, found, n) != OK)
        goto done;
    cand = PySet_New(always);
    if (cand == NULL)
        goto done;
    const unsigned char *lv = (const unsigned char *)PyBytes_AS_STRING(live);
    for (int pass = 0; pass < 2; pass++) {
        PyObject *ms = pass ? text : fields;
        Py_ssize_t off = pass ? offset : 0;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(ms); i++) {
            /* checked again: hashing what `always` and the tables hold could, in theory, run Python code */
            Py_ssize_t id = match_id(PyList_GET_ITEM(ms, i), off, n);
            if (id < 0)
                goto done;
            if (found[id] != 1 || !lv[id])
                continue;
            found[id] = 2;
            if (trigger(cand, triggers, id, found, n) != OK)
                goto done;
        }
    }
    out = sorted_list(cand);
done:
    Py_XDECREF(cand);
    if (out == NULL || !clear_found(fields, 0, found, n) || !clear_found(text, offset, found, n))
        memset(found, 0, (size_t)n); /* after an error (or lists changed meanwhile): all of it */
    return out;
}

/* ---- Automaton: Aho-Corasick over bytes as a DFA (byte classes), reporting literal ids only ----
 *
 * Automaton(patterns: list[bytes]) finds, in one pass, which of the patterns occur in a text (overlapping, every
 * pattern, as ahocorasick_rs's overlapping search reports them, without (pattern, start, end) tuples). delta holds,
 * per state and byte class, the next state premultiplied by the number of classes, with MATCHED set when that
 * state ends a pattern. A state's patterns: its own (out_first/out_next), then those of its dictionary suffix link
 * (dict_link: the nearest state on its failure chain that ends a pattern). States are numbered breadth first; only the
 * first n_dense (as many as max_cells allows, shallow states, where a search spends its time) have a row in delta;
 * the others keep their trie edges (edge_cls/edge_to from edge_begin) and failure link (fail_enc), as an NFA. An entry
 * leading to such a state is SPARSE | its index, flagged MATCHED too, so the 4-bytes-at-a-time loop leaves it to the
 * byte-by-byte one. */
#define MATCHED 0x80000000u
#define SPARSE 0x40000000u  /* a state beyond the dense rows: SPARSE | its index */
#define MAX_CELLS (1 << 25) /* states x classes while building: 128 MiB at most, else ValueError */

/* The automaton's arrays come straight from mmap, not malloc: freeing a large malloc'd (mmapped) block makes
 * glibc raise its mmap threshold (up to 32 MiB) for the whole process, after which large blocks land on the heap
 * among Python's objects; measured, that slowed the rest of the process (rule evaluation) by 10-30 %. */
#define BIG_HEAD 64
static void *big_alloc(size_t n) {
    if (n > SIZE_MAX - BIG_HEAD)
        return NULL;
    void *p = mmap(NULL, n + BIG_HEAD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    *(size_t *)p = n + BIG_HEAD;
    return (char *)p + BIG_HEAD; /* zero-filled */
}

static void big_free(void *q) {
    if (q != NULL) {
        char *p = (char *)q - BIG_HEAD;
        munmap(p, *(size_t *)p);
    }
}

typedef struct Automaton {
    PyObject_HEAD
    uint32_t *delta;
    int32_t *out_first, *out_next, *dict_link; /* out_first per state, out_next per pattern, dict_link per state */
    int32_t *edge_begin;                       /* per sparse state (and one more): its first edge */
    uint16_t *edge_cls;
    uint32_t *edge_to, *fail_enc;              /* an edge's delta entry; a sparse state's failure state */
    Py_ssize_t n_states, n_patterns, n_cls, n_dense, n_w; /* n_w: a row's width (n_cls + 3) */
    uint16_t cls[256]; /* byte -> class (257 of them when patterns hold every byte value) */
    uint16_t fcls[256]; /* ac_feed_str's classes: the ASCII lower case's, or a column of escapes (see ac_build) */
    Py_ssize_t min_len; /* the shortest pattern's length */
    int sep_free;       /* no pattern holds '"' and each is 2+ bytes long: none spans two values of a JSON list */
} Automaton;

static void automaton_dealloc(Automaton *a) {
    big_free(a->delta);
    big_free(a->out_first);
    big_free(a->out_next);
    big_free(a->dict_link);
    big_free(a->edge_begin);
    big_free(a->edge_cls);
    big_free(a->edge_to);
    big_free(a->fail_enc);
    Py_TYPE(a)->tp_free((PyObject *)a);
}

static int ac_build(Automaton *a, PyObject *pats, Py_ssize_t max_cells) {
    Py_ssize_t np = PyList_GET_SIZE(pats), total = 1;
    unsigned char used[256] = {0};
    for (Py_ssize_t i = 0; i < np; i++) {
        PyObject *p = PyList_GET_ITEM(pats, i);
        if (!PyBytes_CheckExact(p) || PyBytes_GET_SIZE(p) == 0) {
            PyErr_SetString(PyExc_ValueError, "Automaton: patterns are non-empty bytes");
            return ERR;
        }
        const unsigned char *s = (const unsigned char *)PyBytes_AS_STRING(p);
        for (Py_ssize_t j = 0; j < PyBytes_GET_SIZE(p); j++)
            used[s[j]] = 1;
        if (PyBytes_GET_SIZE(p) > MAX_CELLS - total) {
            PyErr_SetString(PyExc_ValueError, "Automaton: too large");
            return ERR;
        }
        total += PyBytes_GET_SIZE(p);
    }
    Py_ssize_t ncls = 1; /* class 0: every byte no pattern holds */
    for (int c = 0; c < 256; c++)
        a->cls[c] = used[c] ? (uint16_t)ncls++ : 0;
    a->min_len = PY_SSIZE_T_MAX;
    for (Py_ssize_t i = 0; i < np; i++)
        if (PyBytes_GET_SIZE(PyList_GET_ITEM(pats, i)) < a->min_len)
            a->min_len = PyBytes_GET_SIZE(PyList_GET_ITEM(pats, i));
    a->sep_free = np > 0 && !used['"'] && a->min_len >= 2;
    /* ac_feed_str reads str bytes: capitals as their lower case; a dense row has 3 more columns: a backslash read
     * as its escape (2 backslashes), a quote as its escape (backslash, quote): two steps in one (MATCHED if the
     * first is flagged), and a control character (MATCHED: always taken byte by byte) */
    Py_ssize_t w = ncls + 3;
    for (int c = 0; c < 256; c++)
        a->fcls[c] = a->cls[c >= 'A' && c <= 'Z' ? c + 32 : c];
    a->fcls['\\'] = (uint16_t)ncls;
    a->fcls['"'] = (uint16_t)(ncls + 1);
    for (int c = 0; c < 0x20; c++)
        a->fcls[c] = (uint16_t)(ncls + 2);
    if (total > MAX_CELLS / w) {
        PyErr_SetString(PyExc_ValueError, "Automaton: too large");
        return ERR;
    }
    a->n_cls = ncls;
    a->n_w = w;
    a->n_patterns = np;
    /* the trie, with room for every state (total bounds their number); 0 = no edge yet (the root has no parent) */
    a->delta = big_alloc((size_t)(total * w) * sizeof(uint32_t));
    a->out_first = big_alloc((size_t)total * sizeof(int32_t));
    a->dict_link = big_alloc((size_t)total * sizeof(int32_t));
    a->out_next = big_alloc((size_t)(np ? np : 1) * sizeof(int32_t));
    int32_t *fail = big_alloc((size_t)total * sizeof(int32_t)), *queue = big_alloc((size_t)total * sizeof(int32_t));
    int32_t *depth = big_alloc((size_t)total * sizeof(int32_t)), *rank = big_alloc((size_t)total * sizeof(int32_t));
    uint32_t *dense = NULL;
    int rc = ERR;
    if (!a->delta || !a->out_first || !a->dict_link || !a->out_next || !fail || !queue || !depth || !rank) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t s = 0; s < total; s++)
        a->out_first[s] = a->dict_link[s] = -1;
    Py_ssize_t n = 1;
    for (Py_ssize_t i = 0; i < np; i++) {
        PyObject *p = PyList_GET_ITEM(pats, i);
        const unsigned char *s = (const unsigned char *)PyBytes_AS_STRING(p);
        Py_ssize_t st = 0;
        for (Py_ssize_t j = 0; j < PyBytes_GET_SIZE(p); j++) {
            uint32_t *e = &a->delta[st * w + a->cls[s[j]]];
            if (*e == 0)
                *e = (uint32_t)n++;
            st = *e;
        }
        a->out_next[i] = a->out_first[st];
        a->out_first[st] = (int32_t)i;
    }
    /* breadth first: failure links, dictionary links, the missing edges filled from the failure state's */
    Py_ssize_t head = 0, tail = 0;
    for (Py_ssize_t c = 0; c < ncls; c++) {
        uint32_t t = a->delta[c];
        if (t) {
            fail[t] = 0;
            depth[t] = 1;
            queue[tail++] = (int32_t)t;
        }
    }
    while (head < tail) {
        int32_t s = queue[head++];
        int32_t f = fail[s];
        a->dict_link[s] = a->out_first[f] >= 0 ? f : a->dict_link[f];
        for (Py_ssize_t c = 0; c < ncls; c++) {
            uint32_t *e = &a->delta[s * w + c];
            uint32_t via = a->delta[f * w + c]; /* f is nearer the root: its row is complete */
            if (*e) {
                fail[*e] = (int32_t)via;
                depth[*e] = depth[s] + 1;
                queue[tail++] = (int32_t)*e;
            } else {
                *e = via;
            }
        }
    }
    /* breadth-first numbering: rank[state]; order: the states by rank (the root, then the queue) */
    memmove(queue + 1, queue, (size_t)tail * sizeof(int32_t)); /* n = tail + 1 <= total */
    queue[0] = 0;
    int32_t *order = queue;
    rank[0] = 0;
    for (Py_ssize_t r = 1; r < n; r++)
        rank[order[r]] = (int32_t)r;
    Py_ssize_t k = n <= max_cells / w ? n : max_cells / w;
    /* a sparse entry's index read as a dense offset (the 4-byte loop reads one entry ahead) stays in the table */
    if (k < 1 || (k < n && n + w > k * w)) {
        PyErr_SetString(PyExc_ValueError, "Automaton: too large");
        goto done;
    }
    a->n_states = n;
    a->n_dense = k;
#define IS_MATCH(t) (a->out_first[t] >= 0 || a->dict_link[t] >= 0)
#define STATE(r) ((r) < k ? (uint32_t)((r) * w) : (SPARSE | (uint32_t)(r)))
#define ENTRY(t) (STATE(rank[t]) | (rank[t] >= k || IS_MATCH(t) ? MATCHED : 0))
    dense = big_alloc((size_t)(k * w) * sizeof(uint32_t));
    Py_ssize_t n_sparse = n - k, n_edges = 0;
    for (Py_ssize_t r = k; r < n; r++)
        for (Py_ssize_t c = 0; c < ncls; c++)
            n_edges += depth[a->delta[order[r] * w + c]] == depth[order[r]] + 1;
    a->edge_begin = big_alloc((size_t)(n_sparse + 1) * sizeof(int32_t));
    a->edge_cls = big_alloc((size_t)(n_edges ? n_edges : 1) * sizeof(uint16_t));
    a->edge_to = big_alloc((size_t)(n_edges ? n_edges : 1) * sizeof(uint32_t));
    a->fail_enc = big_alloc((size_t)(n_sparse ? n_sparse : 1) * sizeof(uint32_t));
    if (!dense || !a->edge_begin || !a->edge_cls || !a->edge_to || !a->fail_enc) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t r = 0; r < k; r++)
        for (Py_ssize_t c = 0; c < ncls; c++)
            dense[r * w + c] = ENTRY(a->delta[order[r] * w + c]);
    { /* the escape columns (see fcls) */
        const Py_ssize_t bsl = a->cls['\\'], quote = a->cls['"'];
        for (Py_ssize_t r = 0; r < k; r++) {
            uint32_t t1 = a->delta[order[r] * w + bsl];
            uint32_t first = rank[t1] >= k || IS_MATCH(t1) ? MATCHED : 0;
            dense[r * w + ncls] = ENTRY(a->delta[t1 * w + bsl]) | first;
            dense[r * w + ncls + 1] = ENTRY(a->delta[t1 * w + quote]) | first;
            dense[r * w + ncls + 2] = MATCHED; /* state 0, flagged */
        }
    }
    Py_ssize_t m = 0;
    for (Py_ssize_t r = k; r < n; r++) { /* a transition to a state one deeper is a trie edge */
        int32_t old = order[r];
        a->edge_begin[r - k] = (int32_t)m;
        for (Py_ssize_t c = 0; c < ncls; c++) {
            uint32_t t = a->delta[old * w + c];
            if (depth[t] == depth[old] + 1) {
                a->edge_cls[m] = (uint16_t)c;
                a->edge_to[m++] = ENTRY(t);
            }
        }
        a->fail_enc[r - k] = STATE(rank[fail[old]]);
    }
    a->edge_begin[n_sparse] = (int32_t)m;
    /* the pattern tables by rank */
    for (Py_ssize_t r = 0; r < n; r++) {
        int32_t old = order[r];
        fail[r] = a->out_first[old];
        depth[r] = a->dict_link[old] >= 0 ? rank[a->dict_link[old]] : -1;
    }
    memcpy(a->out_first, fail, (size_t)n * sizeof(int32_t));
    memcpy(a->dict_link, depth, (size_t)n * sizeof(int32_t));
#undef ENTRY
#undef STATE
#undef IS_MATCH
    big_free(a->delta);
    a->delta = dense;
    dense = NULL;
    rc = OK;
done:
    big_free(dense);
    big_free(fail);
    big_free(queue);
    big_free(depth);
    big_free(rank);
    return rc;
}

static PyObject *automaton_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *pats;
    Py_ssize_t max_cells = MAX_CELLS;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Automaton(patterns[, max_cells]) takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!|n:Automaton", &PyList_Type, &pats, &max_cells))
        return NULL;
    if (max_cells > MAX_CELLS)
        max_cells = MAX_CELLS;
    Automaton *a = (Automaton *)type->tp_alloc(type, 0);
    if (a == NULL)
        return NULL;
    if (ac_build(a, pats, max_cells) != OK) {
        Py_DECREF(a);
        return NULL;
    }
    return (PyObject *)a;
}

/* calls mark(id) for each pattern id occurring in text (an id more than once if it occurs more than once) */
typedef struct Found {
    unsigned char *found;
    int32_t *ids;
    Py_ssize_t n_ids, offset;
} Found;

static inline void found_add(Found *fd, int32_t pat) {
    Py_ssize_t id = pat + fd->offset;
    if (!fd->found[id]) {
        fd->found[id] = 1;
        fd->ids[fd->n_ids++] = (int32_t)id;
    }
}

/* every pattern ending at the state of the delta entry e (MATCHED set: a match, or a sparse state) */
static void ac_report(const Automaton *a, uint32_t e, Found *fd) {
    uint32_t st = e & ~MATCHED;
    int32_t q = (int32_t)(st & SPARSE ? st & ~SPARSE : st / (uint32_t)a->n_w);
    for (; q >= 0; q = a->dict_link[q])
        for (int32_t p = a->out_first[q]; p >= 0; p = a->out_next[p])
            found_add(fd, p);
}

/* the delta entry from state st (dense: premultiplied row, or SPARSE | index) on class c */
static inline uint32_t ac_next(const Automaton *a, uint32_t st, unsigned c) {
    while (st & SPARSE) {
        Py_ssize_t r = (Py_ssize_t)(st & ~SPARSE) - a->n_dense;
        for (int32_t j = a->edge_begin[r]; j < a->edge_begin[r + 1]; j++)
            if (a->edge_cls[j] == c)
                return a->edge_to[j];
        st = a->fail_enc[r];
    }
    return a->delta[st + c];
}

/* Reports every pattern ending in t[0..n) when the text before t left the automaton in state s (0: t is the whole
 * text); returns the state after t. From a dense state, 4 bytes per step with one test of the MATCHED flags
 * (patterns seldom end on a byte); a flagged step (a match or a sparse state) is taken again byte by byte. */
static uint32_t ac_feed(const Automaton *a, uint32_t s, const unsigned char *t, Py_ssize_t n, Found *fd) {
    const uint32_t *delta = a->delta;
    const uint16_t *cls = a->cls;
    const uint32_t low = ~(MATCHED | SPARSE);
    Py_ssize_t i = 0;
    while (i < n) {
        if (!(s & SPARSE)) {
            for (; i + 4 <= n; i += 4) {
                uint32_t e0 = delta[s + cls[t[i]]];
                uint32_t e1 = delta[(e0 & low) + cls[t[i + 1]]];
                uint32_t e2 = delta[(e1 & low) + cls[t[i + 2]]];
                uint32_t e3 = delta[(e2 & low) + cls[t[i + 3]]];
                if ((e0 | e1 | e2 | e3) & MATCHED)
                    break;
                s = e3;
            }
        }
        Py_ssize_t stop = n - i > 4 ? i + 4 : n;
        for (; i < stop; i++) {
            uint32_t e = ac_next(a, s, cls[t[i]]);
            if (e & MATCHED)
                ac_report(a, e, fd);
            s = e & ~MATCHED;
        }
    }
    return s;
}

static inline void ac_scan(const Automaton *a, const unsigned char *t, Py_ssize_t n, Found *fd) {
    ac_feed(a, 0, t, n, fd);
}

/* one byte of text from state s (reporting the patterns ending there); the next state */
static inline uint32_t ac_step(const Automaton *a, uint32_t s, unsigned cls, Found *fd) {
    uint32_t e = ac_next(a, s, cls);
    if (e & MATCHED)
        ac_report(a, e, fd);
    return e & ~MATCHED;
}

/* ac_feed of the folded JSON-escaped form (put_str's, without quotes) of the ASCII text t[0..n), read from t
 * itself: capitals read as their lower case, '\' and '"' as their escapes in one step (fcls). From a dense state,
 * 8 bytes per step with one test of the MATCHED flags; a flagged step (a match, a sparse state, a control
 * character, an escape whose first byte is flagged) is taken again byte by byte, a byte that needs escaping as
 * its escape sequence. */
static uint32_t ac_feed_str(const Automaton *a, uint32_t s, const unsigned char *t, Py_ssize_t n, Found *fd) {
    const uint32_t *delta = a->delta;
    const uint16_t *fc = a->fcls, *cls = a->cls;
    const uint32_t low = ~(MATCHED | SPARSE);
    Py_ssize_t i = 0;
    while (i < n) {
        if (!(s & SPARSE)) {
            for (; i + 8 <= n; i += 8) {
                uint32_t e0 = delta[s + fc[t[i]]];
                uint32_t e1 = delta[(e0 & low) + fc[t[i + 1]]];
                uint32_t e2 = delta[(e1 & low) + fc[t[i + 2]]];
                uint32_t e3 = delta[(e2 & low) + fc[t[i + 3]]];
                uint32_t e4 = delta[(e3 & low) + fc[t[i + 4]]];
                uint32_t e5 = delta[(e4 & low) + fc[t[i + 5]]];
                uint32_t e6 = delta[(e5 & low) + fc[t[i + 6]]];
                uint32_t e7 = delta[(e6 & low) + fc[t[i + 7]]];
                if ((e0 | e1 | e2 | e3 | e4 | e5 | e6 | e7) & MATCHED)
                    break;
                s = e7;
            }
            /* one byte at a time up to the flagged one (of that block, or of a tail shorter than 8) */
            Py_ssize_t stop = n - i > 8 ? i + 8 : n;
            for (; i < stop; i++) {
                uint32_t e = delta[s + fc[t[i]]];
                if (e & MATCHED)
                    break;
                s = e;
            }
            if (i == stop)
                continue;
        }
        /* a flagged byte, or a sparse state: the byte taken as it is, a byte that needs escaping as its escape */
        unsigned char c = t[i++];
        if (c == '"' || c == '\\' || c < 0x20) {
            unsigned char esc[6], *end = put_escape(esc, c);
            for (const unsigned char *p = esc; p < end; p++)
                s = ac_step(a, s, cls[*p], fd);
        } else {
            s = ac_step(a, s, fc[c], fd);
        }
    }
    return s;
}

/* ac_feed of the one byte c */
static inline uint32_t ac_feed_byte(const Automaton *a, uint32_t s, unsigned char c, Found *fd) {
    return ac_step(a, s, a->cls[c], fd);
}

/* Automaton.find(text) -> sorted list of the ids of the patterns occurring in text (for tests and the twin) */
static PyObject *automaton_find(Automaton *a, PyObject *text) {
    Py_buffer view;
    if (PyObject_GetBuffer(text, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Found fd = {PyMem_Calloc((size_t)(a->n_patterns + 1), 1), PyMem_Malloc((size_t)(a->n_patterns + 1) * sizeof(int32_t)),
                0, 0};
    PyObject *out = NULL;
    if (fd.found == NULL || fd.ids == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    ac_scan(a, (const unsigned char *)view.buf, view.len, &fd);
    out = PyList_New(0);
    for (Py_ssize_t i = 0; out != NULL && i < a->n_patterns; i++) {
        if (!fd.found[i])
            continue;
        PyObject *x = PyLong_FromSsize_t(i);
        if (x == NULL || PyList_Append(out, x) < 0)
            Py_CLEAR(out);
        Py_XDECREF(x);
    }
done:
    PyMem_Free(fd.found);
    PyMem_Free(fd.ids);
    PyBuffer_Release(&view);
    return out;
}

static PyObject *automaton_len(Automaton *a, PyObject *unused) {
    return Py_BuildValue("(nnnn)", a->n_patterns, a->n_states, a->n_cls, a->n_dense);
}

static PyMethodDef automaton_methods[] = {
    {"find", (PyCFunction)automaton_find, METH_O, "find(text) -> sorted ids of the patterns occurring in text"},
    {"sizes", (PyCFunction)automaton_len, METH_NOARGS, "sizes() -> (patterns, states, byte classes, dense states)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject AutomatonType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "detectors.sigma._sigscan.Automaton",
    .tp_basicsize = sizeof(Automaton),
    .tp_dealloc = (destructor)automaton_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Automaton(patterns: list[bytes], max_cells: int = 2**25): which patterns occur in a text (Aho-Corasick, "
              "overlapping): a DFA of at most max_cells states x byte classes, deeper states an NFA",
    .tp_methods = automaton_methods,
    .tp_new = automaton_new,
};

/* scan(doc, node, fields, text, live, triggers, always) -> sorted candidate rules, or None when a text has to come
 * from the Python path (the caller then runs it: field_text_py / keyword_text_py, the ahocorasick finders and
 * select_py). fields: Automaton of the field literals (ids 0..) over field_text(doc, node), or None; text:
 * Automaton of the keyword literals (ids after the field literals) over keyword_text(doc), or None. The same
 * texts, matches and selection as that path, without bytes objects, match tuples or calls in between. */
static unsigned char *scan_found = NULL;
static int32_t *scan_ids = NULL;
static Py_ssize_t scan_cap = 0;

static int scan_text(Out *o, const Automaton *a, Found *fd) {
    if (!o->nonascii) {
        ac_scan(a, (const unsigned char *)o->buf, o->len, fd);
        return OK;
    }
    PyObject *b = casefold_utf8(o->buf, o->len);
    if (b == NULL)
        return ERR;
    ac_scan(a, (const unsigned char *)PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b), fd);
    Py_DECREF(b);
    return OK;
}

static PyObject *scan(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "scan(doc, node, fields, text, live, triggers, always) takes 7 arguments");
        return NULL;
    }
    PyObject *doc = args[0], *node = args[1], *fa = args[2], *ta = args[3], *live = args[4], *triggers = args[5],
             *always = args[6];
    if ((fa != Py_None && !PyObject_TypeCheck(fa, &AutomatonType))
        || (ta != Py_None && !PyObject_TypeCheck(ta, &AutomatonType)) || !PyBytes_Check(live)
        || !PyList_Check(triggers) || !PyList_Check(always)) {
        PyErr_SetString(PyExc_TypeError, "scan: bad arguments");
        return NULL;
    }
    if (!PyDict_CheckExact(doc))
        Py_RETURN_NONE;
    const Automaton *fields = fa == Py_None ? NULL : (const Automaton *)fa;
    const Automaton *text = ta == Py_None ? NULL : (const Automaton *)ta;
    Py_ssize_t nf = fields ? fields->n_patterns : 0, n = nf + (text ? text->n_patterns : 0);
    if (PyList_GET_SIZE(triggers) != n || PyBytes_GET_SIZE(live) != n) {
        PyErr_SetString(PyExc_ValueError, "scan: one trigger entry and one live byte per literal");
        return NULL;
    }
    if (n > scan_cap) {
        unsigned char *f = PyMem_Calloc((size_t)n, 1);
        int32_t *ids = PyMem_Malloc((size_t)n * sizeof(int32_t));
        if (f == NULL || ids == NULL) {
            PyMem_Free(f);
            PyMem_Free(ids);
            return PyErr_NoMemory();
        }
        PyMem_Free(scan_found);
        PyMem_Free(scan_ids);
        scan_found = f;
        scan_ids = ids;
        scan_cap = n;
    }
    /* taken while in use (a nested call, were there one, gets its own) */
    unsigned char *found_buf = scan_found;
    int32_t *ids_buf = scan_ids;
    Py_ssize_t cap = scan_cap;
    scan_found = NULL;
    scan_ids = NULL;
    scan_cap = 0;
    Found fd = {found_buf, ids_buf, 0, 0};
    PyObject *cand = NULL, *out = NULL;
    int rc = OK, fallback = 0;
    if (fields != NULL) {
        /* the field text searched as it is produced (see Fw) */
        Out o = take();
        Fw f = {.o = &o, .a = fields, .fd = &fd};
        rc = walk(&f, doc, node, 0);
        if (rc == OK && f.count)
            ac_feed_byte(fields, f.s, ']', &fd);
        release(&o);
    }
    if (rc == OK && text != NULL) {
        if (s_event == NULL) {
            s_event = PyUnicode_InternFromString("event");
            s_original = PyUnicode_InternFromString("original");
            if (s_event == NULL || s_original == NULL)
                rc = ERR;
        }
        if (rc == OK) {
            Out o = take();
            fd.offset = nf;
            /* separable patterns: ASCII values searched as the walk meets them, the others written (see Kw) */
            Kw kw = {.o = &o, .a = text->sep_free ? text : NULL, .fd = &fd, .min_len = text->min_len};
            rc = kw_dict(&kw, doc, NULL, 0);
            if (rc == OK && kw.count)
                rc = put_char(&o, ']');
            if (rc == OK && kw.count)
                rc = scan_text(&o, text, &fd);
            release(&o);
        }
    }
    if (rc == FALLBACK) {
        fallback = 1;
        goto done;
    }
    if (rc != OK)
        goto done;
    cand = PySet_New(always);
    if (cand == NULL)
        goto done;
    const unsigned char *lv = (const unsigned char *)PyBytes_AS_STRING(live);
    for (Py_ssize_t i = 0; i < fd.n_ids; i++) {
        Py_ssize_t id = fd.ids[i];
        if (!lv[id])
            continue;
        if (trigger(cand, triggers, id, found_buf, n) != OK)
            goto done;
    }
    out = sorted_list(cand);
done:
    Py_XDECREF(cand);
    for (Py_ssize_t i = 0; i < fd.n_ids; i++)
        found_buf[fd.ids[i]] = 0;
    if (scan_found == NULL) { /* give the buffers back (zeroed) unless a nested call kept larger ones */
        scan_found = found_buf;
        scan_ids = ids_buf;
        scan_cap = cap;
    } else {
        PyMem_Free(found_buf);
        PyMem_Free(ids_buf);
    }
    if (fallback)
        Py_RETURN_NONE;
    return out;
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
    {"field_text", (PyCFunction)(void (*)(void))field_text, METH_FASTCALL,
     "field_text(doc, node) -> bytes | None: case-folded JSON list of the values the node's paths read"},
    {"keyword_text", keyword_text, METH_O,
     "keyword_text(doc) -> bytes | None: case-folded JSON list of the event's non-empty string values"},
    {"select", (PyCFunction)(void (*)(void))select_rules, METH_FASTCALL,
     "select(fields, text, offset, live, triggers, always) -> sorted candidate rules (haystack.select_py)"},
    {"scan", (PyCFunction)(void (*)(void))scan, METH_FASTCALL,
     "scan(doc, node, fields, text, live, triggers, always) -> sorted candidate rules, or None (use the Python path)"},
    {"fold", fold, METH_O, "fold(raw: bytes) -> bytes: the case fold of UTF-8 JSON text (bytes.lower if ASCII)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sigscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__sigscan(void) {
    if (PyType_Ready(&AutomatonType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Automaton", (PyObject *)&AutomatonType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

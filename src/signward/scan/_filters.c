/* The scanner's window filters in one compiled pass each, and the EC/Ed25519 public keys of
 * candidate scalars through OpenSSL's libcrypto (EC) and libsodium (Ed25519), without a Python
 * object per candidate.
 *
 * Every function here has a numpy or cryptography reference in signward.scan.integers and
 * signward.scan.detectors.known_key; tests/scan/test_compiled.py holds the two to the same
 * answers on random and planted inputs. Offsets are int64; running counts uint16 with a leading
 * 0 (a difference over a window shorter than 65536 bytes is exact even where a count wraps).
 * Buffers come through the buffer protocol; results are new bytes objects (int64 offsets,
 * public keys). No function keeps a reference to its input or writes outside its output.
 * The window filters (windows, aligned_candidates, random_looking, short_runs, coprime) take
 * the buffers they read first, by position, and every number after them by keyword only (`$`
 * in the format): six to thirteen integers in a row are never matched by their order. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <sodium.h>

/* ---- helpers ------------------------------------------------------------------------- */

typedef struct {
    int64_t *items;
    Py_ssize_t count, capacity;
} OffsetList;

static int offsets_push(OffsetList *list, int64_t value) {
    if (list->count == list->capacity) {
        Py_ssize_t capacity = list->capacity ? list->capacity * 2 : 4096;
        int64_t *grown = PyMem_RawRealloc(list->items, (size_t)capacity * sizeof(int64_t));
        if (grown == NULL) return -1;
        list->items = grown;
        list->capacity = capacity;
    }
    list->items[list->count++] = value;
    return 0;
}

/* The offsets as a bytes object (the list is freed by the caller, on every path). */
static PyObject *offsets_result(const OffsetList *list, int failed) {
    if (failed) return PyErr_NoMemory();
    return PyBytes_FromStringAndSize((const char *)list->items, list->count * (Py_ssize_t)sizeof(int64_t));
}

static int check_prefix(Py_buffer *prefix, Py_ssize_t data_length) {
    if (prefix->len != (data_length + 1) * (Py_ssize_t)sizeof(uint16_t)) {
        PyErr_SetString(PyExc_ValueError, "a running count needs len(data) + 1 uint16 entries");
        return -1;
    }
    return 0;
}

static int check_offsets(Py_buffer *offsets, Py_ssize_t data_length, Py_ssize_t length) {
    const int64_t *items = offsets->buf;
    Py_ssize_t count = offsets->len / (Py_ssize_t)sizeof(int64_t);
    if (offsets->len % (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "offsets must be int64");
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (items[i] < 0 || items[i] > data_length - length) {  /* no overflow */
            PyErr_SetString(PyExc_ValueError, "an offset's window reaches outside the data");
            return -1;
        }
    }
    return 0;
}

/* ---- candidate windows ------------------------------------------------------------- */

/* Zero and high (>= 0x80) bytes of a window, kept up to date as it slides. */
typedef struct {
    Py_ssize_t zeros, highs;
} Counts;

static void counts_add(Counts *c, const uint8_t *bytes, Py_ssize_t from, Py_ssize_t to, int sign) {
    for (Py_ssize_t i = from; i < to; i++) {
        c->zeros += sign * (bytes[i] == 0);
        c->highs += sign * (bytes[i] >= 0x80);
    }
}

/* Slide the window [s, s + length) to [s + step, s + step + length); step < length. */
static void counts_slide(Counts *c, const uint8_t *bytes, Py_ssize_t s, Py_ssize_t length, Py_ssize_t step) {
    counts_add(c, bytes, s, s + step, -1);
    counts_add(c, bytes, s + length, s + length + step, 1);
}

/* prefix_counts(data, zero, high): fill two writable uint16 buffers of len(data) + 1 entries
 * with the running counts (leading 0) of zero bytes and of bytes >= 0x80. A difference over a
 * window shorter than 65536 bytes is exact even where a count wraps. */
static PyObject *prefix_counts(PyObject *self, PyObject *args) {
    Py_buffer data, zero, high;
    if (!PyArg_ParseTuple(args, "y*w*w*", &data, &zero, &high)) return NULL;
    PyObject *result = NULL;
    if (check_prefix(&zero, data.len) || check_prefix(&high, data.len)) goto done;
    const uint8_t *bytes = data.buf;
    uint16_t *z = zero.buf, *h = high.buf;
    Py_BEGIN_ALLOW_THREADS
    uint16_t zc = 0, hc = 0;
    z[0] = h[0] = 0;
    for (Py_ssize_t i = 0; i < data.len; i++) {
        zc += bytes[i] == 0;
        hc += bytes[i] >> 7;
        z[i + 1] = zc;
        h[i + 1] = hc;
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&zero);
    PyBuffer_Release(&high);
    return result;
}

/* The zero and high bytes of window [s, s + length) from the running counts. */
static Counts counts_of(const uint16_t *z, const uint16_t *h, Py_ssize_t s, Py_ssize_t length) {
    Counts c = {(uint16_t)(z[s + length] - z[s]), (uint16_t)(h[s + length] - h[s])};
    return c;
}

static int distinct(const uint8_t *window, Py_ssize_t length) {
    uint64_t seen[4] = {0, 0, 0, 0};
    for (Py_ssize_t i = 0; i < length; i++) seen[window[i] >> 6] |= (uint64_t)1 << (window[i] & 63);
    return __builtin_popcountll(seen[0]) + __builtin_popcountll(seen[1]) + __builtin_popcountll(seen[2]) +
           __builtin_popcountll(seen[3]);
}

/* Repeated bytes (equal to the one before, within the window) at most max_repeats and at least
 * min_distinct different byte values: the last tests of `random_looking`. */
static int looks_random(const uint8_t *window, Py_ssize_t length, Py_ssize_t max_repeats, Py_ssize_t min_distinct) {
    Py_ssize_t repeats = 0;
    for (Py_ssize_t k = 1; k < length; k++) repeats += window[k] == window[k - 1];
    return repeats <= max_repeats && distinct(window, length) >= min_distinct;
}

/* The top and low byte tests of positions first .. the end of first's group of 64 (or
 * `positions`), as bits (position & 63) of a mask, computed without branches. */
static uint64_t byte_tests(const uint8_t *bytes, Py_ssize_t first, Py_ssize_t positions, Py_ssize_t step,
                           Py_ssize_t top, Py_ssize_t low, uint8_t top_min, uint8_t odd_mask) {
    uint64_t mask = 0;
    Py_ssize_t end = (first | 63) + 1 < positions ? (first | 63) + 1 : positions;
    for (Py_ssize_t k = first; k < end; k++) {
        const uint8_t *window = bytes + k * step;
        mask |= (uint64_t)((window[top] >= top_min) & ((window[low] & odd_mask) == odd_mask)) << (k & 63);
    }
    return mask;
}

/* windows(data, length, step, top, low, top_bit, odd, max_zeros, high_lo, high_hi, block_limit,
 * max_repeats, min_distinct) -> int64 offsets s = i * step (ascending) where the byte at s + top
 * is >= 0x80 (top_bit) or nonzero, the byte at s + low is odd (if odd), the window holds at
 * most max_zeros zero bytes and, if high_lo >= 0, between high_lo and high_hi bytes >= 0x80
 * and, if min_distinct > 0, passes `looks_random`. With block_limit > 0, offsets in a 64 KiB
 * block (s >> 16) holding more than block_limit of them are left out. The tests are
 * computed without branches where most windows fail them (random data defeats prediction). */
static PyObject *windows(PyObject *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"data", "zero", "high", "length", "step", "top", "low", "top_bit", "odd", "max_zeros",
                            "high_lo", "high_hi", "block_limit", "max_repeats", "min_distinct", NULL};
    Py_buffer data, zero, high;
    Py_ssize_t length, step, top, low, max_zeros, high_lo, high_hi, block_limit, max_repeats, min_distinct;
    int top_bit, odd;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*y*y*$nnnnppnnnnnn", names, &data, &zero, &high, &length, &step,
                                     &top, &low, &top_bit, &odd, &max_zeros, &high_lo, &high_hi, &block_limit,
                                     &max_repeats, &min_distinct))
        return NULL;
    OffsetList list = {0};
    int failed = 0;
    PyObject *result = NULL;
    if (check_prefix(&zero, data.len) || check_prefix(&high, data.len)) goto done;
    if (length <= 0 || length >= 65536 || step <= 0 || step >= length || top < 0 || top >= length || low < 0 ||
        low >= length) {
        PyErr_SetString(PyExc_ValueError, "windows: bad length, step or byte positions");
        goto done;
    }
    const uint8_t *bytes = data.buf;
    const uint16_t *z = zero.buf, *h = high.buf;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t block = -1, block_first = 0;
    const uint8_t top_min = top_bit ? 0x80 : 1, odd_mask = odd ? 1 : 0;
    const Py_ssize_t lo = high_lo >= 0 ? high_lo : 0, hi = high_lo >= 0 ? high_hi : length;
    Py_ssize_t positions = data.len >= length ? (data.len - length) / step + 1 : 0;
    uint64_t mask = 0;
    for (Py_ssize_t i = 0; i < positions; i++) {
        if ((i & 63) == 0) mask = byte_tests(bytes, i, positions, step, top, low, top_min, odd_mask);
        if (!(mask >> (i & 63) & 1)) {
            uint64_t rest = mask >> (i & 63);
            i += rest ? __builtin_ctzll(rest) - 1 : 63 - (i & 63);  /* to the next passing position */
            continue;
        }
        Py_ssize_t s = i * step;
        Counts c = counts_of(z, h, s, length);
        if ((c.zeros > max_zeros) | (c.highs < lo) | (c.highs > hi)) continue;
        if (min_distinct > 0 && !looks_random(bytes + s, length, max_repeats, min_distinct)) continue;
        if (block_limit > 0 && (s >> 16) != block) {
            block = s >> 16;
            block_first = list.count;
        }
        if (offsets_push(&list, s)) { failed = 1; break; }
        if (block_limit > 0 && list.count - block_first > block_limit) {
            /* dense: the whole block is dropped, the rest of it need not be looked at */
            list.count = block_first;
            Py_ssize_t next = (block + 1) << 16;  /* a multiple of every step used (1, 4, 8) */
            if (next % step || next + length > data.len) break;
            i = next / step - 1;
            if ((next / step) & 63) mask = byte_tests(bytes, next / step, positions, step, top, low, top_min, odd_mask);
        }
    }
    Py_END_ALLOW_THREADS
    result = offsets_result(&list, failed);
done:
    PyMem_RawFree(list.items);
    PyBuffer_Release(&data);
    PyBuffer_Release(&zero);
    PyBuffer_Release(&high);
    return result;
}

/* Does the window at o pass the known-key full pass's tests: a nonzero first or last byte (a
 * value in either byte order: 1 in 256 keys has a zero byte at one end, 1 in 65,536 at both), the zero and
 * high byte counts, a start in a writable span (*si walks `span` forward: o must not decrease
 * between calls) and `looks_random`? */
static int full_pass_window(const uint8_t *bytes, const uint16_t *z, const uint16_t *h, Py_ssize_t o,
                            Py_ssize_t length, Py_ssize_t max_zeros, Py_ssize_t high_lo, Py_ssize_t high_hi,
                            Py_ssize_t max_repeats, Py_ssize_t min_distinct, const int64_t *span,
                            Py_ssize_t nspans, Py_ssize_t *si) {
    if ((bytes[o] | bytes[o + length - 1]) == 0) return 0;
    Counts c = counts_of(z, h, o, length);
    if ((c.zeros > max_zeros) | (c.highs < high_lo) | (c.highs > high_hi)) return 0;
    while (*si < nspans && span[2 * *si + 1] <= o) (*si)++;
    if (*si >= nspans || span[2 * *si] > o) return 0;
    return looks_random(bytes + o, length, max_repeats, min_distinct);
}

/* aligned_candidates(data, length, step, max_zeros, high_lo, high_hi, max_repeats, min_distinct,
 * spans, isolated, block_limit) -> the known-key full pass's candidates in one pass: offsets
 * s = i * step whose window has a nonzero first or last byte, at most max_zeros zeros, between high_lo
 * and high_hi high bytes, passes `looks_random` and starts in a writable span (`spans`: int64
 * [start, end) pairs, ascending, not overlapping); of a 64 KiB block with more than
 * block_limit of them only those in `isolated` (int64, ascending) are kept. Once a block is
 * dense only its isolated offsets are looked at: random data costs little. */
static PyObject *aligned_candidates(PyObject *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"data", "zero", "high", "length", "step", "max_zeros", "high_lo", "high_hi",
                            "max_repeats", "min_distinct", "spans", "isolated", "block_limit", NULL};
    Py_buffer data, zero, high, spans, isolated;
    Py_ssize_t length, step, max_zeros, high_lo, high_hi, max_repeats, min_distinct, block_limit;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*y*y*$nnnnnnny*y*n", names, &data, &zero, &high, &length, &step,
                                     &max_zeros, &high_lo, &high_hi, &max_repeats, &min_distinct, &spans, &isolated,
                                     &block_limit))
        return NULL;
    OffsetList list = {0};
    int failed = 0;
    PyObject *result = NULL;
    if (check_prefix(&zero, data.len) || check_prefix(&high, data.len)) goto done;
    if (length <= 0 || length >= 65536 || step <= 0 || step >= length || 65536 % step || block_limit <= 0 ||
        spans.len % 16 || isolated.len % 8) {
        PyErr_SetString(PyExc_ValueError, "aligned_candidates: bad length, step, limit, spans or isolated");
        goto done;
    }
    const uint8_t *bytes = data.buf;
    const uint16_t *z = zero.buf, *h = high.buf;
    const int64_t *span = spans.buf, *iso = isolated.buf;
    Py_ssize_t nspans = spans.len / 16, niso = isolated.len / 8, si = 0, ii = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t block_start = 0; block_start + length <= data.len && !failed; block_start += 65536) {
        Py_ssize_t block_end = block_start + 65536, block_first = list.count, s = block_start;
        int dense = 0;
        for (; s + length <= data.len && s < block_end; s += step) {
            if (!full_pass_window(bytes, z, h, s, length, max_zeros, high_lo, high_hi, max_repeats, min_distinct,
                                  span, nspans, &si))
                continue;
            if (offsets_push(&list, s)) { failed = 1; break; }
            if (list.count - block_first > block_limit) { dense = 1; break; }
        }
        if (!dense || failed) continue;
        /* dense: keep the isolated offsets found so far, then look at the block's other isolated ones */
        Py_ssize_t kept = block_first;
        while (ii < niso && iso[ii] < block_start) ii++;
        Py_ssize_t jj = ii;
        for (Py_ssize_t k = block_first; k < list.count; k++) {
            while (jj < niso && iso[jj] < list.items[k]) jj++;
            if (jj < niso && iso[jj] == list.items[k]) list.items[kept++] = list.items[k];
        }
        list.count = kept;
        for (; jj < niso && iso[jj] < block_end; jj++) {
            int64_t o = iso[jj];
            if (o <= s || o % step || o > data.len - length) continue;
            if (!full_pass_window(bytes, z, h, o, length, max_zeros, high_lo, high_hi, max_repeats, min_distinct,
                                  span, nspans, &si))
                continue;
            if (offsets_push(&list, o)) { failed = 1; break; }
        }
    }
    Py_END_ALLOW_THREADS
    result = offsets_result(&list, failed);
done:
    PyMem_RawFree(list.items);
    PyBuffer_Release(&data);
    PyBuffer_Release(&zero);
    PyBuffer_Release(&high);
    PyBuffer_Release(&spans);
    PyBuffer_Release(&isolated);
    return result;
}

/* distinct_bytes(data, offsets, length) -> int64 counts of different byte values per window. */
static PyObject *distinct_bytes(PyObject *self, PyObject *args) {
    Py_buffer data, offsets;
    Py_ssize_t length;
    if (!PyArg_ParseTuple(args, "y*y*n", &data, &offsets, &length)) return NULL;
    PyObject *result = NULL;
    if (length <= 0) {
        PyErr_SetString(PyExc_ValueError, "distinct_bytes: bad length");
        goto done;
    }
    if (check_offsets(&offsets, data.len, length)) goto done;
    Py_ssize_t count = offsets.len / (Py_ssize_t)sizeof(int64_t);
    result = PyBytes_FromStringAndSize(NULL, count * (Py_ssize_t)sizeof(int64_t));
    if (result == NULL) goto done;
    int64_t *out = (int64_t *)PyBytes_AS_STRING(result);
    const int64_t *items = offsets.buf;
    const uint8_t *bytes = data.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) out[i] = distinct(bytes + items[i], length);
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&offsets);
    return result;
}

/* random_looking(data, offsets, length, max_zeros, high_lo, high_hi, max_repeats, min_distinct)
 * -> the offsets (in order) whose window lies inside the data and holds at most max_zeros zero
 * bytes, between high_lo and high_hi bytes >= 0x80, at most max_repeats bytes equal to the one
 * before them (within the window) and at least min_distinct different byte values. */
static PyObject *random_looking(PyObject *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"data", "offsets", "length", "max_zeros", "high_lo", "high_hi", "max_repeats",
                            "min_distinct", NULL};
    Py_buffer data, offsets;
    Py_ssize_t length, max_zeros, high_lo, high_hi, max_repeats, min_distinct;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*y*$nnnnnn", names, &data, &offsets, &length, &max_zeros,
                                     &high_lo, &high_hi, &max_repeats, &min_distinct))
        return NULL;
    OffsetList list = {0};
    int failed = 0;
    PyObject *result = NULL;
    if (length <= 0 || offsets.len % (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "random_looking: bad length or offsets");
        goto done;
    }
    const uint8_t *bytes = data.buf;
    const int64_t *items = offsets.buf;
    Py_ssize_t count = offsets.len / (Py_ssize_t)sizeof(int64_t);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t s = items[i];
        if (s < 0 || s > data.len - length) continue;
        const uint8_t *window = bytes + s;
        Counts w = {0, 0};
        counts_add(&w, bytes, s, s + length, 1);
        if (w.zeros > max_zeros || w.highs < high_lo || w.highs > high_hi) continue;
        if (!looks_random(window, length, max_repeats, min_distinct)) continue;
        if (offsets_push(&list, s)) { failed = 1; break; }
    }
    Py_END_ALLOW_THREADS
    result = offsets_result(&list, failed);
done:
    PyMem_RawFree(list.items);
    PyBuffer_Release(&data);
    PyBuffer_Release(&offsets);
    return result;
}

/* short_runs(data, length, max_zeros, high_lo, high_hi, max_run, bridge) -> every offset (any
 * alignment) whose window has a nonzero first or last byte, at most max_zeros zero bytes and between
 * high_lo and high_hi bytes >= 0x80, and which lies in a short cluster of such offsets: one
 * where gaps of at most `bridge` failing offsets are bridged (a lone zero byte in random data
 * fails one offset) and the first and last passing offsets are at most max_run - 1 apart. */
static PyObject *short_runs(PyObject *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"data", "length", "max_zeros", "high_lo", "high_hi", "max_run", "bridge", NULL};
    Py_buffer data;
    Py_ssize_t length, max_zeros, high_lo, high_hi, max_run, bridge;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*$nnnnnn", names, &data, &length, &max_zeros, &high_lo, &high_hi,
                                     &max_run, &bridge))
        return NULL;
    OffsetList list = {0};
    int failed = 0;
    PyObject *result = NULL;
    if (length <= 1 || max_run <= 0 || max_run > 4096 || bridge < 0) {
        PyErr_SetString(PyExc_ValueError, "short_runs: bad length, max_run or bridge");
        goto done;
    }
    const uint8_t *bytes = data.buf;
    Py_BEGIN_ALLOW_THREADS
    Counts c = {0, 0};
    if (length <= data.len) counts_add(&c, bytes, 0, length, 1);
    Py_ssize_t first = -1, last = -1, kept_from = 0;  /* the open cluster; its offsets are list[kept_from:] */
    for (Py_ssize_t s = 0; s + length <= data.len + 1 + bridge && !failed; s++) {
        int pass = 0;
        if (s + length <= data.len) {
            if (s > 0) counts_slide(&c, bytes, s - 1, length, 1);
            pass = (bytes[s] | bytes[s + length - 1]) != 0 && c.zeros <= max_zeros && c.highs >= high_lo &&
                   c.highs <= high_hi;
        }
        if (first >= 0 && (pass ? s - last - 1 > bridge : s - last > bridge)) {  /* the cluster ends */
            if (last - first + 1 > max_run) list.count = kept_from;
            first = -1;
        }
        if (!pass) continue;
        if (first < 0) {
            first = s;
            kept_from = list.count;
        }
        last = s;
        if (s - first < max_run && offsets_push(&list, s)) failed = 1;  /* longer: dropped at its end */
    }
    Py_END_ALLOW_THREADS
    result = offsets_result(&list, failed);
done:
    PyMem_RawFree(list.items);
    PyBuffer_Release(&data);
    return result;
}

/* ---- trial division ---------------------------------------------------------------- */

static uint32_t word_at(const uint8_t *p, int big_endian) {
    return big_endian ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
                      : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}

/* coprime(data, offsets, length, representation, moduli, primes) -> the offsets whose window,
 * read as an integer in `representation` (0 le limbs, 1 big-endian bytes, 2 Java int[]), has
 * no prime factor in `primes`. `moduli` (uint64) are products of groups of those primes, each
 * below 2**32: one pass of the window's words per group, then one remainder per prime. */
static PyObject *coprime(PyObject *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"data", "offsets", "length", "representation", "moduli", "primes", NULL};
    Py_buffer data, offsets, moduli, primes;
    Py_ssize_t length;
    int representation;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*y*$niy*y*", names, &data, &offsets, &length, &representation,
                                     &moduli, &primes))
        return NULL;
    OffsetList list = {0};
    int failed = 0;
    PyObject *result = NULL;
    if (length <= 0 || length % 4 || representation < 0 || representation > 2 ||
        moduli.len % 8 || primes.len % 8) {
        PyErr_SetString(PyExc_ValueError, "coprime: bad length, representation, moduli or primes");
        goto done;
    }
    if (check_offsets(&offsets, data.len, length)) goto done;
    const uint64_t *mods = moduli.buf, *ps = primes.buf;
    Py_ssize_t nmods = moduli.len / 8, nprimes = primes.len / 8;
    for (Py_ssize_t i = 0; i < nmods; i++)
        if (mods[i] == 0 || mods[i] >= ((uint64_t)1 << 32)) {
            PyErr_SetString(PyExc_ValueError, "coprime: each modulus must be below 2**32");
            goto done;
        }
    for (Py_ssize_t i = 0; i < nprimes; i++)
        if (ps[i] == 0) {
            PyErr_SetString(PyExc_ValueError, "coprime: zero prime");
            goto done;
        }
    const uint8_t *bytes = data.buf;
    const int64_t *items = offsets.buf;
    Py_ssize_t count = offsets.len / (Py_ssize_t)sizeof(int64_t), words = length / 4;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count && !failed; i++) {
        const uint8_t *window = bytes + items[i];
        int keep = 1;
        for (Py_ssize_t g = 0; g < nmods && keep; g++) {
            uint64_t m = mods[g], acc = 0;
            for (Py_ssize_t k = 0; k < words; k++) {  /* most significant word first (Horner) */
                uint32_t w;
                if (representation == 0) w = word_at(window + 4 * (words - 1 - k), 0);
                else if (representation == 1) w = word_at(window + 4 * k, 1);
                else w = word_at(window + 4 * k, 0);
                acc = ((acc << 32) | w) % m;
            }
            for (Py_ssize_t p = 0; p < nprimes; p++)
                if (m % ps[p] == 0 && acc % ps[p] == 0) { keep = 0; break; }
        }
        if (keep && offsets_push(&list, items[i])) failed = 1;
    }
    Py_END_ALLOW_THREADS
    result = offsets_result(&list, failed);
done:
    PyMem_RawFree(list.items);
    PyBuffer_Release(&data);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&moduli);
    PyBuffer_Release(&primes);
    return result;
}

/* ---- the lone-exponent tables (detectors/lone_exponent.py) ------------------------- */

#define TABLE_BITMAP_BYTES ((Py_ssize_t)1 << 24) /* one bit per value of a word's top 27 bits */
#define TABLE_MAX_KEYS 8 /* one bit each in a byte of `masks` */
#define TABLE_STARTS (((Py_ssize_t)1 << 18) + 1)

/* table_hits(data, combined, masks, bitmaps, values, starts, *, big_endian, step, first) -> int64 triples
 * (window offset, key index, index of the first equal entry in that key's `values`) of every
 * 8-byte window at first, first + step, ... whose word (read big- or little-endian) is in a
 * key's sorted uint64 `values`: the top 27 bits looked up in `combined` (the OR of the keys'
 * bitmaps: most windows stop there), the top 24 in `masks` (bit k set: key k's bitmap has one
 * of those 8 bits), then in the key's own bitmap, then among the key's values with the same
 * top 18 bits (`starts`: uint32, 2**18 + 1 per key, where each such run begins). Ascending by offset,
 * then key. At most TABLE_MAX_KEYS keys per call (one memory read per window, about two more
 * per window that passes the first: a binary search over all of a key's values cost 8 keys 3.7 times
 * what one key costs). */
static PyObject *table_hits(PyObject *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"data", "combined", "masks", "bitmaps", "values", "starts", "big_endian", "step", "first", NULL};
    Py_buffer data, combined, masks;
    PyObject *bitmap_seq, *value_seq, *start_seq;
    int big_endian;
    Py_ssize_t step, first;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*y*y*OOO$pnn", names, &data, &combined, &masks, &bitmap_seq, &value_seq, &start_seq,
                                     &big_endian, &step, &first))
        return NULL;
    Py_buffer bitmaps[TABLE_MAX_KEYS], values[TABLE_MAX_KEYS], starts[TABLE_MAX_KEYS];
    Py_ssize_t keys = 0, held = 0;
    PyObject *result = NULL;
    OffsetList out = {NULL, 0, 0};
    int failed = 0;
    if (!PyTuple_Check(bitmap_seq) || !PyTuple_Check(value_seq) || !PyTuple_Check(start_seq) ||
        PyTuple_GET_SIZE(bitmap_seq) != PyTuple_GET_SIZE(value_seq) ||
        PyTuple_GET_SIZE(bitmap_seq) != PyTuple_GET_SIZE(start_seq) || PyTuple_GET_SIZE(bitmap_seq) > TABLE_MAX_KEYS) {
        PyErr_SetString(PyExc_ValueError, "table_hits: bitmaps, values and starts are tuples of one length (at most 8)");
        goto done;
    }
    if (combined.len != TABLE_BITMAP_BYTES || masks.len != TABLE_BITMAP_BYTES || step < 1 || first < 0) {
        PyErr_SetString(PyExc_ValueError, "table_hits: bad bitmap size, step or first");
        goto done;
    }
    keys = PyTuple_GET_SIZE(bitmap_seq);
    while (held < keys) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(bitmap_seq, held), &bitmaps[held], PyBUF_SIMPLE) < 0) goto done;
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(value_seq, held), &values[held], PyBUF_SIMPLE) < 0) {
            PyBuffer_Release(&bitmaps[held]);
            goto done;
        }
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(start_seq, held), &starts[held], PyBUF_SIMPLE) < 0) {
            PyBuffer_Release(&bitmaps[held]);
            PyBuffer_Release(&values[held]);
            goto done;
        }
        int bad = bitmaps[held].len != TABLE_BITMAP_BYTES || values[held].len % 8 ||
                  starts[held].len != TABLE_STARTS * (Py_ssize_t)sizeof(uint32_t);
        held++;
        if (bad) {
            PyErr_SetString(PyExc_ValueError, "table_hits: bad bitmap or starts size, or values not uint64");
            goto done;
        }

    }
    const uint8_t *bytes = data.buf, *any = combined.buf, *which = masks.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t o = first; o + 8 <= data.len && !failed; o += step) {
        uint64_t word;
        memcpy(&word, bytes + o, 8);
        if (big_endian) word = __builtin_bswap64(word);
        uint64_t top = word >> 37;
        if (!((any[top >> 3] >> (top & 7)) & 1)) continue;
        unsigned mask = which[top >> 3];
        for (Py_ssize_t k = 0; k < keys; k++) {
            if (!((mask >> k) & 1)) continue;
            const uint8_t *own = bitmaps[k].buf;
            if (!((own[top >> 3] >> (top & 7)) & 1)) continue;
            const uint64_t *sorted = values[k].buf;
            const uint32_t *runs = starts[k].buf;
            Py_ssize_t count = values[k].len / 8, low = runs[word >> 46], high = runs[(word >> 46) + 1];
            if (high > count) high = count; /* never read past the values, whatever `starts` holds */
            while (low < high && sorted[low] < word) low++; /* the first entry >= word */
            if (low < high && sorted[low] == word &&
                (offsets_push(&out, o) < 0 || offsets_push(&out, k) < 0 || offsets_push(&out, low) < 0))
                failed = 1;
        }
    }
    Py_END_ALLOW_THREADS
    result = offsets_result(&out, failed);
done:
    for (Py_ssize_t k = 0; k < held; k++) {
        PyBuffer_Release(&bitmaps[k]);
        PyBuffer_Release(&values[k]);
        PyBuffer_Release(&starts[k]);
    }
    PyMem_RawFree(out.items);
    PyBuffer_Release(&data);
    PyBuffer_Release(&combined);
    PyBuffer_Release(&masks);
    return result;
}

/* mod_pow(base, exponent, modulus) -> base ** exponent mod modulus, each a big-endian unsigned
 * byte string, the result as long as `modulus` (libcrypto's BN_mod_exp: CPython's pow takes
 * about six times as long for a 1024-bit exponent modulo 2048 bits). Odd modulus above 1 only,
 * each number at most 16384 bits. */
static PyObject *mod_pow(PyObject *self, PyObject *args) {
    Py_buffer base, exponent, modulus;
    if (!PyArg_ParseTuple(args, "y*y*y*", &base, &exponent, &modulus)) return NULL;
    PyObject *result = NULL;
    BN_CTX *ctx = NULL;
    BIGNUM *b = NULL, *x = NULL, *m = NULL, *r = NULL;
    if (base.len > 2048 || exponent.len > 2048 || modulus.len > 2048 || modulus.len == 0) {
        PyErr_SetString(PyExc_ValueError, "mod_pow: numbers of 1 to 2048 bytes");
        goto done;
    }
    ctx = BN_CTX_new();
    b = BN_bin2bn(base.buf, (int)base.len, NULL);
    x = BN_bin2bn(exponent.buf, (int)exponent.len, NULL);
    m = BN_bin2bn(modulus.buf, (int)modulus.len, NULL);
    r = BN_new();
    if (!ctx || !b || !x || !m || !r) {
        PyErr_SetString(PyExc_MemoryError, "mod_pow: libcrypto allocation failed");
        goto done;
    }
    if (!BN_is_odd(m) || BN_is_one(m)) {
        PyErr_SetString(PyExc_ValueError, "mod_pow: the modulus must be odd and above 1");
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, modulus.len);
    if (result == NULL) goto done;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    failed = !BN_mod_exp(r, b, x, m, ctx) || BN_bn2binpad(r, (unsigned char *)PyBytes_AS_STRING(result),
                                                          (int)modulus.len) < 0;
    Py_END_ALLOW_THREADS
    if (failed) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_RuntimeError, "mod_pow: libcrypto failed");
    }
done:
    BN_clear_free(b);
    BN_clear_free(x);
    BN_free(m);
    BN_clear_free(r);
    BN_CTX_free(ctx);
    PyBuffer_Release(&base);
    PyBuffer_Release(&exponent);
    PyBuffer_Release(&modulus);
    return result;
}

/* ---- public keys of candidate private values (libcrypto) --------------------------- */

/* ec_publics(curve, scalars, size) -> for each `size`-byte big-endian scalar d, the affine
 * public point d*G as X || Y (2 * size bytes), or 2 * size zero bytes where d is 0 or not
 * below the group order (no private key; (0, 0) is on no supported curve). `curve` is an
 * OpenSSL short name (prime256v1, secp384r1, secp521r1, secp256k1). */
static PyObject *ec_publics(PyObject *self, PyObject *args) {
    const char *curve;
    Py_buffer scalars;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "sy*n", &curve, &scalars, &size)) return NULL;
    PyObject *result = NULL;
    EC_GROUP *group = NULL;
    EC_POINT *point = NULL;
    BN_CTX *ctx = NULL;
    BIGNUM *d = NULL, *x = NULL, *y = NULL;
    int nid = OBJ_sn2nid(curve), failed = 0;
    if (nid == NID_undef || size <= 0 || size > 66 || scalars.len % size) {
        PyErr_SetString(PyExc_ValueError, "ec_publics: unknown curve or bad scalar size");
        goto done;
    }
    group = EC_GROUP_new_by_curve_name(nid);
    ctx = BN_CTX_new();
    d = BN_new();
    x = BN_new();
    y = BN_new();
    point = group ? EC_POINT_new(group) : NULL;
    if (!group || !ctx || !d || !x || !y || !point) {
        PyErr_SetString(PyExc_MemoryError, "ec_publics: libcrypto allocation failed");
        goto done;
    }
    if ((EC_GROUP_get_degree(group) + 7) / 8 != size) {
        PyErr_SetString(PyExc_ValueError, "ec_publics: scalar size does not match the curve");
        goto done;
    }
    Py_ssize_t count = scalars.len / size;
    result = PyBytes_FromStringAndSize(NULL, count * 2 * size);
    if (result == NULL) goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    const uint8_t *in = scalars.buf;
    const BIGNUM *order = EC_GROUP_get0_order(group);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) {
        uint8_t *slot = out + i * 2 * size;
        memset(slot, 0, 2 * size);
        if (!BN_bin2bn(in + i * size, (int)size, d)) { failed = 1; break; }
        if (BN_is_zero(d) || BN_cmp(d, order) >= 0) continue;
        if (!EC_POINT_mul(group, point, d, NULL, NULL, ctx) ||
            !EC_POINT_get_affine_coordinates(group, point, x, y, ctx) ||
            BN_bn2binpad(x, slot, (int)size) < 0 || BN_bn2binpad(y, slot + size, (int)size) < 0) {
            failed = 1;
            break;
        }
    }
    BN_clear(d);
    Py_END_ALLOW_THREADS
    if (failed) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_RuntimeError, "ec_publics: libcrypto failed");
    }
done:
    BN_clear_free(d);
    BN_free(x);
    BN_free(y);
    EC_POINT_free(point);
    EC_GROUP_free(group);
    BN_CTX_free(ctx);
    PyBuffer_Release(&scalars);
    return result;
}

/* ed25519_publics(seeds) -> the 32-byte Ed25519 public key of each 32-byte seed (RFC 8032),
 * by libsodium (about 13 us each here; OpenSSL's EVP route costs 28 us, cryptography's 22). */
static PyObject *ed25519_publics(PyObject *self, PyObject *args) {
    Py_buffer seeds;
    if (!PyArg_ParseTuple(args, "y*", &seeds)) return NULL;
    PyObject *result = NULL;
    int failed = 0;
    if (seeds.len % 32) {
        PyErr_SetString(PyExc_ValueError, "ed25519_publics: seeds are 32 bytes each");
        goto done;
    }
    Py_ssize_t count = seeds.len / 32;
    result = PyBytes_FromStringAndSize(NULL, count * 32);
    if (result == NULL) goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    const uint8_t *in = seeds.buf;
    Py_BEGIN_ALLOW_THREADS
    unsigned char secret[crypto_sign_ed25519_SECRETKEYBYTES];
    for (Py_ssize_t i = 0; i < count; i++)
        if (crypto_sign_ed25519_seed_keypair(out + i * 32, secret, in + i * 32) != 0) { failed = 1; break; }
    sodium_memzero(secret, sizeof secret);
    Py_END_ALLOW_THREADS
    if (failed) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_RuntimeError, "ed25519_publics: libsodium failed");
    }
done:
    PyBuffer_Release(&seeds);
    return result;
}

static PyMethodDef methods[] = {
    {"prefix_counts", prefix_counts, METH_VARARGS, "Running counts of zero and high bytes."},
    {"windows", (PyCFunction)(void (*)(void))windows, METH_VARARGS | METH_KEYWORDS,
     "Offsets of candidate integer windows at one step."},
    {"aligned_candidates", (PyCFunction)(void (*)(void))aligned_candidates, METH_VARARGS | METH_KEYWORDS,
     "The known-key full pass's aligned candidates."},
    {"distinct_bytes", distinct_bytes, METH_VARARGS, "Different byte values per window."},
    {"random_looking", (PyCFunction)(void (*)(void))random_looking, METH_VARARGS | METH_KEYWORDS,
     "Offsets whose windows look like random bytes."},
    {"short_runs", (PyCFunction)(void (*)(void))short_runs, METH_VARARGS | METH_KEYWORDS,
     "Random-looking windows in short runs, every offset."},
    {"coprime", (PyCFunction)(void (*)(void))coprime, METH_VARARGS | METH_KEYWORDS,
     "Offsets whose integer has no small prime factor."},
    {"table_hits", (PyCFunction)(void (*)(void))table_hits, METH_VARARGS | METH_KEYWORDS,
     "Windows found in the lone-exponent tables."},
    {"mod_pow", mod_pow, METH_VARARGS, "Modular exponentiation (libcrypto)."},
    {"ec_publics", ec_publics, METH_VARARGS, "Affine public points of big-endian scalars."},
    {"ed25519_publics", ed25519_publics, METH_VARARGS, "Ed25519 public keys of seeds."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_filters", "The scanner's compiled filters.", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__filters(void) {
    if (sodium_init() < 0) {
        PyErr_SetString(PyExc_ImportError, "libsodium failed to initialise");
        return NULL;
    }
    return PyModule_Create(&module);
}

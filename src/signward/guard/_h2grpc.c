/* The guard's gRPC transport: unary gRPC calls over HTTP/2, framed by nghttp2 (the HTTP/2
 * library behind curl), driven by Python from an asyncio protocol.
 *
 * Python owns the socket and every decision; this module owns only the HTTP/2 session of one
 * connection: `feed(bytes)` runs the received bytes through nghttp2 and returns the requests
 * whose stream ended, `respond(...)` queues a gRPC answer on a stream, `output()` returns the
 * bytes to write. Bounds: the concurrent streams a client may open (SETTINGS, enforced by
 * nghttp2), the header bytes and the body bytes of one request and the body bytes held across
 * all of a connection's streams (a stream over any is reset), the path length. A protocol error
 * raises ValueError: the caller writes `output()` (a GOAWAY) and closes the connection.
 * `settled()` says whether the client's preface and first SETTINGS arrived whole (the caller
 * closes a connection that does not get there in time).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <nghttp2/nghttp2.h>
#include <string.h>

#define MAX_PATH 256
#define MAX_CTYPE 64

typedef struct Stream {
    int32_t id;
    struct Stream *prev, *next;   /* every live stream of the session, freed on close or dealloc */
    char path[MAX_PATH + 1];
    size_t path_len;
    int path_too_long;
    char ctype[MAX_CTYPE + 1];
    size_t header_bytes;
    uint8_t *body;                /* request body (gRPC framed), bounded by max_body */
    size_t body_len, body_cap;
    int too_large;                /* body or headers over their bound: the stream was reset */
    int answered;
    uint8_t *out;                 /* response message, gRPC framed */
    size_t out_len, out_pos;
    char status[12];              /* grpc-status of the trailers */
    char *message;                /* grpc-message of the trailers, or NULL */
} Stream;

typedef struct {
    PyObject_HEAD
    nghttp2_session *session;
    Stream *streams;
    PyObject *ready;              /* requests completed during one feed() */
    size_t max_body;
    size_t max_headers;
    size_t max_buffered;          /* request bytes held across all streams of the connection */
    size_t buffered;
    int failed;                   /* a Python allocation failed inside a callback */
    int settled;                  /* the client preface and its first SETTINGS frame were received */
} Session;

static void drop_body(Session *self, Stream *s) {
    self->buffered -= s->body_len;
    free(s->body);
    s->body = NULL;
    s->body_len = s->body_cap = 0;
}

static void stream_free(Stream *s) {
    free(s->body);
    free(s->out);
    free(s->message);
    free(s);
}

static void stream_unlink(Session *self, Stream *s) {
    if (s->prev) s->prev->next = s->next; else self->streams = s->next;
    if (s->next) s->next->prev = s->prev;
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data) {
    Session *self = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    Stream *s = calloc(1, sizeof(Stream));
    if (!s) return NGHTTP2_ERR_CALLBACK_FAILURE;
    s->id = frame->hd.stream_id;
    s->next = self->streams;
    if (self->streams) self->streams->prev = s;
    self->streams = s;
    nghttp2_session_set_stream_user_data(session, s->id, s);
    return 0;
}

static int refuse(Session *self, nghttp2_session *session, Stream *s) {
    s->too_large = 1;
    drop_body(self, s);
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_REFUSED_STREAM);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data) {
    Session *self = user_data;
    Stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s || s->too_large) return 0;
    s->header_bytes += namelen + valuelen + 32;  /* RFC 7540 6.5.2's accounting */
    if (s->header_bytes > self->max_headers) return refuse(self, session, s);
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  /* request trailers: nothing read */
    if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
        if (valuelen > MAX_PATH) { s->path_too_long = 1; return 0; }
        memcpy(s->path, value, valuelen);
        s->path_len = valuelen;
    } else if (namelen == 12 && memcmp(name, "content-type", 12) == 0) {
        size_t n = valuelen < MAX_CTYPE ? valuelen : MAX_CTYPE;
        memcpy(s->ctype, value, n);
        s->ctype[n] = 0;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *user_data) {
    Session *self = user_data;
    Stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!s || s->too_large) return 0;
    if (len > self->max_body - s->body_len || len > self->max_buffered - self->buffered)
        return refuse(self, session, s);
    if (s->body_len + len > s->body_cap) {
        size_t cap = s->body_cap ? s->body_cap : 1024;
        while (cap < s->body_len + len) cap *= 2;
        if (cap > self->max_body) cap = self->max_body;
        uint8_t *grown = realloc(s->body, cap);
        if (!grown) return NGHTTP2_ERR_CALLBACK_FAILURE;
        s->body = grown;
        s->body_cap = cap;
    }
    memcpy(s->body + s->body_len, data, len);
    s->body_len += len;
    self->buffered += len;
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data) {
    Session *self = user_data;
    /* nghttp2 checks the preface and that SETTINGS comes first: a whole one means the handshake is done */
    if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK)) self->settled = 1;
    if (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    Stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s || s->too_large) return 0;
    int grpc = strncmp(s->ctype, "application/grpc", 16) == 0 && (s->ctype[16] == 0 || s->ctype[16] == '+'
                                                                 || s->ctype[16] == ';');
    PyObject *item = Py_BuildValue("(iy#Oy#)", s->id, s->path_too_long ? "" : s->path,
                                   (Py_ssize_t)(s->path_too_long ? 0 : s->path_len), grpc ? Py_True : Py_False,
                                   s->body ? (const char *)s->body : "", (Py_ssize_t)s->body_len);
    drop_body(self, s);
    if (!item || PyList_Append(self->ready, item) < 0) {
        Py_XDECREF(item);
        self->failed = 1;
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    Py_DECREF(item);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data) {
    Session *self = user_data;
    Stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!s) return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    drop_body(self, s);
    stream_unlink(self, s);
    stream_free(s);
    return 0;
}

static ssize_t read_message(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *data_flags, nghttp2_data_source *source, void *user_data) {
    Stream *s = source->ptr;
    size_t left = s->out_len - s->out_pos;
    size_t n = left < length ? left : length;
    memcpy(buf, s->out + s->out_pos, n);
    s->out_pos += n;
    if (s->out_pos == s->out_len) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_nv trailers[2] = {
            {(uint8_t *)"grpc-status", (uint8_t *)s->status, 11, strlen(s->status), NGHTTP2_NV_FLAG_NONE},
            {(uint8_t *)"grpc-message", (uint8_t *)(s->message ? s->message : ""), 12,
             s->message ? strlen(s->message) : 0, NGHTTP2_NV_FLAG_NONE}};
        if (nghttp2_submit_trailer(session, stream_id, trailers, s->message ? 2 : 1) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return (ssize_t)n;
}

static PyObject *Session_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *names[] = {"max_body", "max_headers", "max_streams", "max_buffered", NULL};
    Py_ssize_t max_body, max_headers, max_streams, max_buffered;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "nnnn", names, &max_body, &max_headers, &max_streams,
                                     &max_buffered))
        return NULL;
    if (max_body < 5 || max_headers < 64 || max_streams < 1 || max_streams > 65536 || max_buffered < max_body) {
        PyErr_SetString(PyExc_ValueError,
                        "max_body >= 5, max_headers >= 64, 1 <= max_streams <= 65536, max_buffered >= max_body");
        return NULL;
    }
    Session *self = (Session *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    self->max_body = (size_t)max_body;
    self->max_headers = (size_t)max_headers;
    self->max_buffered = (size_t)max_buffered;
    self->ready = PyList_New(0);
    if (!self->ready) { Py_DECREF(self); return NULL; }
    nghttp2_session_callbacks *callbacks;
    nghttp2_option *option;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) { Py_DECREF(self); return PyErr_NoMemory(); }
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    if (nghttp2_option_new(&option) != 0) {
        nghttp2_session_callbacks_del(callbacks);
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    /* no push promises from a client; streams over MAX_CONCURRENT_STREAMS are refused by nghttp2 */
    nghttp2_option_set_max_reserved_remote_streams(option, 0);
    int rv = nghttp2_session_server_new2(&self->session, callbacks, self, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) { self->session = NULL; Py_DECREF(self); return PyErr_NoMemory(); }
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)max_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)max_headers},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (uint32_t)(max_body < 1 << 20 ? max_body : 1 << 20)}};
    if (nghttp2_submit_settings(self->session, NGHTTP2_FLAG_NONE, settings, 3) != 0) {
        Py_DECREF(self);
        PyErr_SetString(PyExc_RuntimeError, "nghttp2 refused the initial SETTINGS");
        return NULL;
    }
    return (PyObject *)self;
}

static void Session_dealloc(Session *self) {
    if (self->session) nghttp2_session_del(self->session);  /* does not call on_stream_close */
    Stream *s = self->streams;
    while (s) {
        Stream *next = s->next;
        stream_free(s);
        s = next;
    }
    Py_XDECREF(self->ready);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Session_feed(Session *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    self->failed = 0;
    ssize_t rv = nghttp2_session_mem_recv(self->session, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    PyObject *ready = self->ready;
    self->ready = PyList_New(0);
    if (!self->ready) { self->ready = ready; return NULL; }
    if (self->failed) { Py_DECREF(ready); if (!PyErr_Occurred()) PyErr_NoMemory(); return NULL; }
    if (rv < 0) {
        Py_DECREF(ready);
        nghttp2_session_terminate_session(self->session, NGHTTP2_PROTOCOL_ERROR);
        PyErr_Format(PyExc_ValueError, "HTTP/2: %s", nghttp2_strerror((int)rv));
        return NULL;
    }
    return ready;
}

static PyObject *Session_respond(Session *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"stream_id", "grpc_status", "message", "grpc_message", "http_status", NULL};
    int stream_id, grpc_status, http_status = 200;
    PyObject *message = Py_None;
    const char *grpc_message = "";
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "ii|Osi", names, &stream_id, &grpc_status, &message,
                                     &grpc_message, &http_status))
        return NULL;
    if (grpc_status < 0 || grpc_status > 16 || http_status < 200 || http_status > 599) {
        PyErr_SetString(PyExc_ValueError, "grpc_status 0..16, http_status 200..599");
        return NULL;
    }
    Stream *s = stream_id > 0 ? nghttp2_session_get_stream_user_data(self->session, stream_id) : NULL;
    if (!s || s->answered || s->too_large) Py_RETURN_FALSE;  /* gone (reset by the client) or answered */
    char status_text[4];
    snprintf(status_text, sizeof status_text, "%d", http_status);
    snprintf(s->status, sizeof s->status, "%d", grpc_status);
    nghttp2_nv head[4] = {
        {(uint8_t *)":status", (uint8_t *)status_text, 7, strlen(status_text), NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"grpc-status", (uint8_t *)s->status, 11, strlen(s->status), NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"grpc-message", (uint8_t *)grpc_message, 12, strlen(grpc_message), NGHTTP2_NV_FLAG_NONE}};
    int rv;
    if (http_status != 200) {
        rv = nghttp2_submit_response(self->session, stream_id, head, 1, NULL);
    } else if (message == Py_None) {  /* trailers-only: the status in the one HEADERS frame */
        rv = nghttp2_submit_response(self->session, stream_id, head, grpc_message[0] ? 4 : 3, NULL);
    } else {
        Py_buffer view;
        if (PyObject_GetBuffer(message, &view, PyBUF_SIMPLE) < 0) return NULL;
        if ((size_t)view.len > 0xffffffffu || (size_t)view.len > SIZE_MAX - 5) {
            PyBuffer_Release(&view);
            PyErr_SetString(PyExc_ValueError, "message too large");
            return NULL;
        }
        free(s->out);      /* a respond() that nghttp2 refused may be called again */
        free(s->message);
        s->message = NULL;
        s->out = malloc((size_t)view.len + 5);
        if (grpc_message[0]) s->message = strdup(grpc_message);
        if (!s->out || (grpc_message[0] && !s->message)) { PyBuffer_Release(&view); return PyErr_NoMemory(); }
        uint32_t n = (uint32_t)view.len;
        s->out[0] = 0;
        s->out[1] = (uint8_t)(n >> 24); s->out[2] = (uint8_t)(n >> 16);
        s->out[3] = (uint8_t)(n >> 8); s->out[4] = (uint8_t)n;
        memcpy(s->out + 5, view.buf, (size_t)view.len);
        PyBuffer_Release(&view);
        s->out_len = (size_t)n + 5;
        s->out_pos = 0;
        nghttp2_data_provider provider = {.source = {.ptr = s}, .read_callback = read_message};
        rv = nghttp2_submit_response(self->session, stream_id, head, 2, &provider);
    }
    if (rv != 0) {
        PyErr_Format(PyExc_ValueError, "HTTP/2: %s", nghttp2_strerror(rv));
        return NULL;
    }
    s->answered = 1;
    Py_RETURN_TRUE;
}

static PyObject *Session_output(Session *self, PyObject *unused) {
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(self->session, &data);  /* valid until the next call */
        if (n < 0) {
            free(buf);
            PyErr_Format(PyExc_ValueError, "HTTP/2: %s", nghttp2_strerror((int)n));
            return NULL;
        }
        if (n == 0) break;
        if (len + (size_t)n > cap) {
            size_t grown_cap = cap ? cap : 4096;
            while (grown_cap < len + (size_t)n) grown_cap *= 2;
            uint8_t *grown = realloc(buf, grown_cap);
            if (!grown) { free(buf); return PyErr_NoMemory(); }
            buf = grown;
            cap = grown_cap;
        }
        memcpy(buf + len, data, (size_t)n);
        len += (size_t)n;
    }
    PyObject *out = PyBytes_FromStringAndSize(buf ? (const char *)buf : "", (Py_ssize_t)len);
    free(buf);
    return out;
}

static PyObject *Session_terminate(Session *self, PyObject *unused) {
    nghttp2_session_terminate_session(self->session, NGHTTP2_NO_ERROR);
    Py_RETURN_NONE;
}

static PyObject *Session_done(Session *self, PyObject *unused) {
    return PyBool_FromLong(!nghttp2_session_want_read(self->session) && !nghttp2_session_want_write(self->session));
}

static PyObject *Session_settled(Session *self, PyObject *unused) {
    return PyBool_FromLong(self->settled);
}

static PyMethodDef Session_methods[] = {
    {"feed", (PyCFunction)Session_feed, METH_O,
     "feed(data) -> [(stream_id, path, is_grpc, body)]: the requests whose stream ended"},
    {"respond", (PyCFunction)(void (*)(void))Session_respond, METH_VARARGS | METH_KEYWORDS,
     "respond(stream_id, grpc_status, message=None, grpc_message='', http_status=200) -> bool"},
    {"output", (PyCFunction)Session_output, METH_NOARGS, "output() -> bytes to write"},
    {"terminate", (PyCFunction)Session_terminate, METH_NOARGS, "terminate(): GOAWAY, then done"},
    {"done", (PyCFunction)Session_done, METH_NOARGS, "done() -> True when nothing is left to read or write"},
    {"settled", (PyCFunction)Session_settled, METH_NOARGS,
     "settled() -> True once the client preface and its SETTINGS frame were received whole"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject SessionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "signward.guard._h2grpc.Session",
    .tp_basicsize = sizeof(Session),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Session_new,
    .tp_dealloc = (destructor)Session_dealloc,
    .tp_methods = Session_methods,
    .tp_doc = "The HTTP/2 server session of one gRPC connection.",
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, .m_name = "_h2grpc",
                                    .m_doc = "Unary gRPC over nghttp2.", .m_size = -1};

PyMODINIT_FUNC PyInit__h2grpc(void) {
    if (PyType_Ready(&SessionType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&SessionType);
    if (PyModule_AddObject(m, "Session", (PyObject *)&SessionType) < 0) {
        Py_DECREF(&SessionType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddStringConstant(m, "NGHTTP2_VERSION", nghttp2_version(0)->version_str) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

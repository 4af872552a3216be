/* test_xai.c - the report picture of anomaly_xai.h.

   Every SVG the tests make goes through a small XML checker written here
   (tags balance, attributes quoted, entities known, no raw '<' or '&' in
   text, valid UTF-8, one root), and the numbers in it are read back: event
   shadings sit where their rows are, spikes survive downsampling, ticks
   fall on round calendar times. */
#include <stdlib.h>

/* Every allocation the library makes through its default allocator is
   counted, so a test can show the report makes none. */
static long heap_calls;
static void *counted_malloc(size_t size) { heap_calls++; return malloc(size); }
#define ANOMALY_MALLOC(size) counted_malloc(size)
#define ANOMALY_FREE(ptr) free(ptr)

#define ANOMALY_IMPLEMENTATION
#include "../anomaly_lstm.h"   /* a detector with an input gradient */
#include "../anomaly_stats.h"  /* a rolling robust z-score to explain */
#include "../anomaly_xai.h"
#include "test.h"
#include "fixtures/ig_torch.h"

#include <locale.h>
#include <time.h>

/* --------------------------------------------------------------------------
   Collecting the output
   -------------------------------------------------------------------------- */

typedef struct sink {
    char *data;
    size_t len, cap;
    long calls, fail_at;    /* fail_at > 0: that call fails            */
    int called_after_fail;  /* the writer kept going after a failure   */
    int failed;
} sink;

static int sink_write(void *user, const char *data, size_t size)
{
    sink *s = (sink *)user;
    if (s->failed) s->called_after_fail = 1;
    if (++s->calls == s->fail_at) { s->failed = 1; return -1; }
    if (s->len + size + 1 > s->cap) {
        size_t cap = (s->len + size + 1) * 2;
        char *p = (char *)realloc(s->data, cap);
        if (!p) return -1;
        s->data = p;
        s->cap = cap;
    }
    memcpy(s->data + s->len, data, size);
    s->len += size;
    s->data[s->len] = '\0';
    return 0;
}

static void sink_free(sink *s) { free(s->data); memset(s, 0, sizeof *s); }

static an_result render(const an_report *r, sink *s)
{
    memset(s, 0, sizeof *s);
    return an_report_svg(r, sink_write, s);
}

/* --------------------------------------------------------------------------
   A small XML well-formedness checker
   -------------------------------------------------------------------------- */

static int xml_name_start(int c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':'; }
static int xml_name_char(int c) { return xml_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }
static int xml_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Length of the valid entity at s ("&amp;", "&#38;", ...) or 0. */
static size_t xml_entity(const char *s)
{
    static const char *const named[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&apos;" };
    size_t k;
    for (k = 0; k < 5; k++)
        if (strncmp(s, named[k], strlen(named[k])) == 0) return strlen(named[k]);
    if (s[1] == '#') {
        size_t i = 2;
        int hex = s[2] == 'x';
        if (hex) i++;
        while ((s[i] >= '0' && s[i] <= '9') || (hex && ((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))))
            i++;
        if (i > (size_t)(hex ? 3 : 2) && s[i] == ';') return i + 1;
    }
    return 0;
}

/* Checks bytes are UTF-8 without overlongs, surrogates or C0 controls
   other than tab, newline and carriage return. */
static int xml_utf8_ok(const char *doc, size_t n)
{
    const unsigned char *p = (const unsigned char *)doc, *e = p + n;
    while (p < e) {
        unsigned c = *p;
        size_t len, k;
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return 0;
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) len = 2;
        else if (c >= 0xe0 && c <= 0xef) len = 3;
        else if (c >= 0xf0 && c <= 0xf4) len = 4;
        else return 0;
        if ((size_t)(e - p) < len) return 0;
        for (k = 1; k < len; k++)
            if ((p[k] & 0xc0) != 0x80) return 0;
        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
            (c == 0xf4 && p[1] > 0x8f))
            return 0;
        p += len;
    }
    return 1;
}

/* 1 when doc is well-formed; else 0 with the reason and offset in why. */
static int xml_check(const char *doc, char *why, size_t why_size)
{
    const char *p = doc, *names[64];
    size_t lens[64], depth = 0, roots = 0, n = strlen(doc);
#define XML_FAIL(msg) do { snprintf(why, why_size, "%s at byte %ld", msg, (long)(p - doc)); return 0; } while (0)
    if (!xml_utf8_ok(doc, n)) { snprintf(why, why_size, "invalid UTF-8 or control character"); return 0; }
    if (strncmp(p, "<?xml", 5) == 0) {
        p = strstr(p, "?>");
        if (!p) XML_FAIL("unterminated declaration");
        p += 2;
    }
    while (*p) {
        if (*p != '<') {
            if (*p == '&') {
                size_t k = xml_entity(p);
                if (!k) XML_FAIL("bad entity in text");
                p += k;
                continue;
            }
            if (*p == '>' && depth == 0) XML_FAIL("stray '>'");
            if (depth == 0 && !xml_space((unsigned char)*p)) XML_FAIL("text outside the root");
            p++;
            continue;
        }
        if (strncmp(p, "<!--", 4) == 0) {
            const char *e = strstr(p + 4, "-->");
            if (!e) XML_FAIL("unterminated comment");
            p = e + 3;
            continue;
        }
        if (p[1] == '/') {
            const char *s = p + 2;
            size_t len = 0;
            while (xml_name_char((unsigned char)s[len])) len++;
            if (depth == 0) XML_FAIL("end tag without start");
            depth--;
            if (len != lens[depth] || strncmp(s, names[depth], len) != 0) XML_FAIL("mismatched end tag");
            p = s + len;
            while (xml_space((unsigned char)*p)) p++;
            if (*p != '>') XML_FAIL("bad end tag");
            p++;
            continue;
        }
        {
            const char *s = p + 1, *attrs[32];
            size_t len = 0, n_attrs = 0, alens[32], k;
            if (!xml_name_start((unsigned char)*s)) XML_FAIL("bad tag name");
            while (xml_name_char((unsigned char)s[len])) len++;
            if (depth == 0 && roots++) XML_FAIL("second root element");
            p = s + len;
            for (;;) {
                const char *an;
                size_t al = 0;
                char q;
                int had_space = 0;
                while (xml_space((unsigned char)*p)) { p++; had_space = 1; }
                if (*p == '>' || (p[0] == '/' && p[1] == '>')) break;
                if (!had_space || !xml_name_start((unsigned char)*p)) XML_FAIL("bad attribute");
                an = p;
                while (xml_name_char((unsigned char)p[al])) al++;
                for (k = 0; k < n_attrs; k++)
                    if (alens[k] == al && strncmp(attrs[k], an, al) == 0) XML_FAIL("repeated attribute");
                if (n_attrs < 32) { attrs[n_attrs] = an; alens[n_attrs++] = al; }
                p += al;
                while (xml_space((unsigned char)*p)) p++;
                if (*p++ != '=') XML_FAIL("attribute without '='");
                while (xml_space((unsigned char)*p)) p++;
                q = *p++;
                if (q != '"' && q != '\'') XML_FAIL("unquoted attribute");
                while (*p && *p != q) {
                    if (*p == '<') XML_FAIL("'<' in attribute");
                    if (*p == '&') {
                        size_t e = xml_entity(p);
                        if (!e) XML_FAIL("bad entity in attribute");
                        p += e;
                    } else {
                        p++;
                    }
                }
                if (!*p) XML_FAIL("unterminated attribute");
                p++;
            }
            if (*p == '/') {
                p += 2;
            } else {
                if (depth == 64) XML_FAIL("too deep");
                names[depth] = s;
                lens[depth++] = len;
                p++;
            }
        }
    }
    if (depth) { snprintf(why, why_size, "%lu elements left open", (unsigned long)depth); return 0; }
    if (roots != 1) { snprintf(why, why_size, "no root element"); return 0; }
    return 1;
#undef XML_FAIL
}

#define CHECK_XML(s) do { \
        char test__why[128] = ""; \
        int test__ok = (s)->data != NULL && xml_check((s)->data, test__why, sizeof test__why); \
        test__checks++; \
        if (!test__ok) TEST__FAIL("not well-formed XML: %s", test__why); \
    } while (0)

/* --------------------------------------------------------------------------
   Reading numbers back
   -------------------------------------------------------------------------- */

/* The attribute `name` of the tag starting at tag (before its '>'). */
static int attr_num(const char *tag, const char *name, double *v)
{
    char key[32];
    const char *end = strchr(tag, '>'), *a;
    snprintf(key, sizeof key, " %s=\"", name);
    a = strstr(tag, key);
    if (!a || (end && a > end)) return 0;
    *v = strtod(a + strlen(key), NULL);
    return 1;
}

typedef struct path_pts {
    double x[20000], y[20000];
    size_t n, subpaths, dots;
} path_pts;

/* The points of the d attribute of the first <path> after `marker`. */
static int read_path(const char *doc, const char *marker, path_pts *pp)
{
    const char *p = strstr(doc, marker), *d;
    memset(pp, 0, sizeof *pp);
    if (!p) return 0;
    d = strstr(p, " d=\"");
    if (!d) return 0;
    p = d + 4;
    while (*p && *p != '"') {
        char *e;
        if (*p == 'M') { pp->subpaths++; p++; continue; }
        if (*p == 'h') { pp->dots++; strtod(p + 1, &e); p = e; continue; }
        if (*p == ' ' || *p == 'Z' || *p == 'H' || *p == 'v') { p++; continue; }
        if (pp->n == 20000) return 0;
        pp->x[pp->n] = strtod(p, &e);
        if (*e != ',') return 0;
        pp->y[pp->n] = strtod(e + 1, &e);
        pp->n++;
        p = e;
    }
    return 1;
}

typedef struct rects { double x[64], width[64]; size_t n; } rects;

static void read_event_rects(const char *doc, rects *rs)
{
    const char *p = strstr(doc, "<g class=\"events\""), *end;
    memset(rs, 0, sizeof *rs);
    if (!p) return;
    end = strstr(p, "</g>");
    while ((p = strstr(p + 1, "<rect")) && p < end && rs->n < 64) {
        if (attr_num(p, "x", &rs->x[rs->n]) && attr_num(p, "width", &rs->width[rs->n])) rs->n++;
    }
}

static size_t count_of(const char *doc, const char *what)
{
    size_t n = 0;
    const char *p = doc;
    while ((p = strstr(p, what))) { n++; p += strlen(what); }
    return n;
}

/* --------------------------------------------------------------------------
   Fixtures
   -------------------------------------------------------------------------- */

#define N_SMALL 100

typedef struct small {
    float v[N_SMALL], score[N_SMALL];
    double t[N_SMALL], expected[N_SMALL], lower[N_SMALL], upper[N_SMALL];
    an_event ev[3];
    const char *label[3];
} small;

static an_report small_report(small *s)
{
    an_report r = an_report_init();
    size_t i;
    for (i = 0; i < N_SMALL; i++) {
        s->v[i] = (float)(10.0 * sin(0.3 * (double)i) + 50.0);
        s->expected[i] = 10.0 * sin(0.3 * (double)i) + 50.0;
        s->lower[i] = s->expected[i] - 3.0;
        s->upper[i] = s->expected[i] + 3.0;
        s->score[i] = (float)(0.1 + 0.05 * sin((double)i));
        s->t[i] = 1404345600.0 + 1800.0 * (double)i;   /* 2014-07-03, every 30 min */
    }
    s->v[25] = 90.0f;
    s->score[25] = 0.97f;
    s->ev[0].start = 20; s->ev[0].end = 29; s->ev[0].peak = 25; s->ev[0].severity = 2.0; s->label[0] = "spike";
    s->ev[1].start = 60; s->ev[1].end = 60; s->ev[1].peak = 60; s->ev[1].severity = 0.5; s->label[1] = NULL;
    r.title = "A small series";
    r.subtitle = "with everything";
    r.n = N_SMALL;
    r.n_features = 1;
    r.values = s->v;
    r.time = s->t;
    r.expected = s->expected;
    r.lower = s->lower;
    r.upper = s->upper;
    r.scores = s->score;
    r.threshold = 0.9;
    r.events = s->ev;
    r.labels = s->label;
    r.n_events = 2;
    return r;
}

/* --------------------------------------------------------------------------
   Tests
   -------------------------------------------------------------------------- */

static void test_well_formed(void)
{
    static small s;
    an_report r = small_report(&s);
    sink out;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(strncmp(out.data, "<?xml", 5) == 0);
    CHECK(strstr(out.data, "<svg xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
    CHECK(strstr(out.data, "</svg>\n") == out.data + out.len - 7);
    CHECK(strstr(out.data, "class=\"series\"") && strstr(out.data, "class=\"expected\"") &&
          strstr(out.data, "class=\"band\"") && strstr(out.data, "class=\"score\"") &&
          strstr(out.data, "class=\"threshold\""));
    CHECK(strstr(out.data, ">threshold 0.9<") != NULL);
    CHECK(strstr(out.data, ">spike<") != NULL);            /* the label */
    CHECK(strstr(out.data, ">A small series<") != NULL);
    CHECK(strstr(out.data, "<desc>100 rows from 2014-07-03 00:00 to 2014-07-05 01:30 UTC, 1 feature, "
                           "2 anomaly events, score threshold 0.9.</desc>") != NULL);
    CHECK(count_of(out.data, "<circle") == 2);              /* a peak dot per event */
    sink_free(&out);

    /* the same with row numbers, then with the bare minimum */
    r.time = NULL;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(strstr(out.data, ">row<") != NULL);
    sink_free(&out);
    r.time = s.t;
    CHECK_OK(render(&r, &out));
    CHECK(strstr(out.data, ">UTC<") != NULL);
    sink_free(&out);
    {
        an_report m = an_report_init();
        m.n = N_SMALL;
        m.n_features = 1;
        m.values = s.v;
        CHECK_OK(render(&m, &out));
        CHECK_XML(&out);
        CHECK(strstr(out.data, "<g class=\"events\"") == NULL && strstr(out.data, "score") == NULL);
        sink_free(&out);
    }
}

static void test_escaping(void)
{
    static small s;
    an_report r = small_report(&s);
    const char *names[1] = { "temp <\xc2\xb0" "C> & \"more\"" };
    sink out;
    r.title = "a<b&c>\"d'e";
    r.subtitle = "bad bytes: \xff\xfe, a lone \xe2\x82, a surrogate \xed\xa0\x80, a tab\there, \x01 bell";
    r.names = names;
    s.label[0] = "<script>&amp;";
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(strstr(out.data, "a&lt;b&amp;c&gt;&quot;d&apos;e") != NULL);
    CHECK(strstr(out.data, "temp &lt;\xc2\xb0" "C&gt; &amp; &quot;more&quot;") != NULL);
    CHECK(strstr(out.data, "&lt;script&gt;&amp;amp;") != NULL);
    CHECK(strstr(out.data, "<script") == NULL);
    CHECK(strstr(out.data, "bad bytes: \xef\xbf\xbd\xef\xbf\xbd, a lone \xef\xbf\xbd\xef\xbf\xbd, a surrogate") != NULL);
    CHECK(strstr(out.data, "a tab here,   bell") != NULL);
    sink_free(&out);
    /* a long label is cut at 32 glyphs over the peak, whole in the tooltip */
    s.label[0] = "\xc3\xa9v\xc3\xa9nement: far more text than fits over a peak, and then some";
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(strstr(out.data, ">\xc3\xa9v\xc3\xa9nement: far more text than\xe2\x80\xa6</text>") != NULL);
    CHECK(strstr(out.data, "over a peak, and then some</title>") != NULL);
    sink_free(&out);
}

/* Shadings at x(start) .. x(end), read against the series' own ends. */
static void test_event_positions(void)
{
    static small s;
    static path_pts pp;
    an_report r = small_report(&s);
    rects rs;
    sink out;
    double x0, x99, unit;
    int pass;
    for (pass = 0; pass < 2; pass++) {
        if (pass == 1) {   /* irregular timestamps: x follows time, not rows */
            size_t i;
            for (i = 0; i < N_SMALL; i++) s.t[i] = 1404345600.0 + 60.0 * (double)(i * i);
        }
        CHECK_OK(render(&r, &out));
        CHECK_XML(&out);
        CHECK(read_path(out.data, "class=\"series\"", &pp));
        if (pass == 0) CHECK_EQ_SIZE(pp.n, N_SMALL);   /* later, the first rows share a pixel */
        CHECK_EQ_SIZE(pp.subpaths, 1);
        x0 = pp.x[0];
        x99 = pp.x[pp.n - 1];
        CHECK_NEAR(x99, 960.0 - 20.0, 0.05);
        unit = (x99 - x0) / (s.t[99] - s.t[0]);
        read_event_rects(out.data, &rs);
        CHECK_EQ_SIZE(rs.n, 2);
        CHECK_NEAR(rs.x[0], x0 + (s.t[20] - s.t[0]) * unit, 0.11);
        CHECK_NEAR(rs.x[0] + rs.width[0], x0 + (s.t[29] - s.t[0]) * unit, 0.21);
        /* a one-row event: 3 pixels centred on its row */
        CHECK_NEAR(rs.x[1] + 0.5 * rs.width[1], x0 + (s.t[60] - s.t[0]) * unit, 0.11);
        CHECK_NEAR(rs.width[1], 3.0, 0.05);
        /* the more severe event is shaded darker */
        {
            const char *a = strstr(out.data, "<g class=\"events\""), *b;
            double o1 = 0.0, o2 = 0.0;
            a = strstr(a, "<rect");
            b = strstr(a + 1, "<rect");
            CHECK(a && b && attr_num(a, "fill-opacity", &o1) && attr_num(b, "fill-opacity", &o2) && o1 > o2);
        }
        sink_free(&out);
    }

    /* events whose shadings touch, in order, are one shading; out of
       order they are not merged */
    {
        static float v[10000];
        an_report q = an_report_init();
        an_event ev[4] = { { 2000, 2100, 2050, 1.0, 0, 0 }, { 2105, 2200, 2150, 3.0, 0, 0 },
                           { 5000, 5000, 5000, 1.0, 0, 0 }, { 4990, 4995, 4992, 1.0, 0, 0 } };
        const char *labels[4] = { "a", "b", NULL, NULL };
        size_t i;
        for (i = 0; i < 10000; i++) v[i] = (float)(i % 10);
        q.n = 10000;
        q.n_features = 1;
        q.values = v;
        q.events = ev;
        q.labels = labels;
        q.n_events = 4;
        CHECK_OK(render(&q, &out));
        CHECK_XML(&out);
        read_event_rects(out.data, &rs);
        CHECK_EQ_SIZE(rs.n, 3);
        CHECK(strstr(out.data, "rows 2000 \xe2\x80\x93 2200, 2 events; peak 2150, severity 3: b") != NULL);
        CHECK(strstr(out.data, ">b<") != NULL && strstr(out.data, ">a<") == NULL);
        CHECK_EQ_SIZE(count_of(out.data, "<circle"), 3);
        sink_free(&out);
        /* overlapping events in start order are one shading too */
        ev[0].start = 2000; ev[0].end = 3000;
        ev[1].start = 2500; ev[1].end = 2600; ev[1].peak = 2550;
        ev[2].start = 2900; ev[2].end = 3500; ev[2].peak = 3000;
        q.n_events = 3;
        CHECK_OK(render(&q, &out));
        read_event_rects(out.data, &rs);
        CHECK_EQ_SIZE(rs.n, 1);
        CHECK(strstr(out.data, "rows 2000 \xe2\x80\x93 3500, 3 events") != NULL);
        sink_free(&out);
    }
}

static void test_missing_values(void)
{
    static small s;
    static path_pts pp;
    an_report r = small_report(&s);
    sink out;
    size_t i;
    for (i = 40; i < 45; i++) s.v[i] = (float)(0.0 / 0.0 + 0.0 * (double)i);
    s.v[41] = 50.0f;               /* a lone point between gaps: a dot */
    s.v[70] = (float)HUGE_VAL;     /* infinity is a gap too */
    s.expected[10] = 0.0 / 0.0;
    s.lower[80] = 0.0 / 0.0;
    s.score[5] = (float)(0.0 / 0.0);
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(read_path(out.data, "class=\"series\"", &pp));
    CHECK_EQ_SIZE(pp.subpaths, 4);
    CHECK_EQ_SIZE(pp.dots, 1);
    CHECK_EQ_SIZE(pp.n, N_SMALL - 5);
    CHECK(read_path(out.data, "class=\"expected\"", &pp));
    CHECK_EQ_SIZE(pp.subpaths, 2);
    CHECK(read_path(out.data, "class=\"band\"", &pp));
    CHECK_EQ_SIZE(pp.subpaths, 2);
    CHECK(read_path(out.data, "class=\"score\"", &pp));
    CHECK_EQ_SIZE(pp.subpaths, 2);
    CHECK(strstr(out.data, "NaN") == NULL && strstr(out.data, "Inf") == NULL);
    sink_free(&out);

    /* nothing finite at all: still a picture, with axes 0..1 */
    for (i = 0; i < N_SMALL; i++) {
        s.v[i] = (float)(0.0 / 0.0);
        s.expected[i] = s.lower[i] = s.upper[i] = 0.0 / 0.0;
        s.score[i] = (float)(0.0 / 0.0);
    }
    r.n_events = 0;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(read_path(out.data, "class=\"series\"", &pp));
    CHECK_EQ_SIZE(pp.n, 0);
    CHECK(strstr(out.data, "NaN") == NULL);
    sink_free(&out);
}

/* Constant, negative, one point, extreme magnitudes. */
static void test_odd_inputs(void)
{
    static float v[N_SMALL];
    static double e[N_SMALL];
    static path_pts pp;
    an_report r = an_report_init();
    sink out;
    size_t i;
    r.n = N_SMALL;
    r.n_features = 1;
    r.values = v;
    for (i = 0; i < N_SMALL; i++) v[i] = 7.0f;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(read_path(out.data, "class=\"series\"", &pp));
    CHECK(pp.n >= 2 && pp.y[0] == pp.y[pp.n - 1]);
    CHECK(strstr(out.data, ">7.0<") != NULL);   /* a tick at the value */
    sink_free(&out);

    for (i = 0; i < N_SMALL; i++) v[i] = 0.0f;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    sink_free(&out);

    for (i = 0; i < N_SMALL; i++) v[i] = -1234.5f - 100.0f * (float)i;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(strstr(out.data, ">\xe2\x88\x92" "10,000<") != NULL);   /* minus sign, grouped */
    sink_free(&out);

    for (i = 0; i < N_SMALL; i++) v[i] = 0.001f * (float)i;
    CHECK_OK(render(&r, &out));
    CHECK(strstr(out.data, ">0.04<") != NULL);
    sink_free(&out);

    /* one point, with and without a time */
    {
        double t = 1404345600.0;
        an_event ev = { 0, 0, 0, 1.0, 0, 0 };
        const char *label = "only";
        float s = 0.5f;
        r.n = 1;
        r.scores = &s;
        r.events = &ev;
        r.labels = &label;
        r.n_events = 1;
        CHECK_OK(render(&r, &out));
        CHECK_XML(&out);
        CHECK(read_path(out.data, "class=\"series\"", &pp));
        CHECK_EQ_SIZE(pp.n, 1);
        CHECK_EQ_SIZE(pp.dots, 1);
        sink_free(&out);
        r.time = &t;
        CHECK_OK(render(&r, &out));
        CHECK_XML(&out);
        CHECK(strstr(out.data, ">00:00<") != NULL);
        sink_free(&out);
        r.time = NULL;
        r.scores = NULL;
        r.events = NULL;
        r.n_events = 0;
        r.n = N_SMALL;
    }

    /* the largest floats, and doubles near DBL_MAX in the expected line */
    for (i = 0; i < N_SMALL; i++) {
        v[i] = (i % 2 ? 1.0f : -1.0f) * FLT_MAX;
        e[i] = (i % 3 ? 1.0 : -1.0) * DBL_MAX;
    }
    r.expected = e;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(strstr(out.data, "NaN") == NULL && strstr(out.data, "Inf") == NULL);
    CHECK(strstr(out.data, "e308<") != NULL);
    sink_free(&out);
    for (i = 0; i < N_SMALL; i++) {
        v[i] = 0.0f;
        e[i] = 1e-322 * (double)(i % 5);   /* subnormal */
    }
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(strstr(out.data, "NaN") == NULL && strstr(out.data, "Inf") == NULL);
    sink_free(&out);
    for (i = 0; i < N_SMALL; i++) v[i] = 1e-30f * (float)i;
    r.expected = NULL;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(strstr(out.data, "e-28<") != NULL);
    sink_free(&out);
}

/* 100 000 points: a spike up and one down survive, the file stays small. */
static void test_downsampling(void)
{
    const size_t n = 100000;
    float *v = (float *)malloc(n * sizeof *v);
    float *sc = (float *)malloc(n * sizeof *sc);
    static path_pts pp;
    an_report r = an_report_init();
    an_rng rng;
    sink out;
    size_t i, top = 0, bottom = 0;
    double x0, x1;
    CHECK(v && sc);
    if (!v || !sc) { free(v); free(sc); return; }
    an_rng_seed(&rng, 7, 1);
    for (i = 0; i < n; i++) {
        v[i] = an_rng_uniform(&rng);
        sc[i] = 0.1f * an_rng_uniform(&rng);
    }
    v[77777] = 50.0f;
    v[12345] = -40.0f;
    sc[55555] = 1.0f;
    r.n = n;
    r.n_features = 1;
    r.values = v;
    r.scores = sc;
    r.threshold = 0.5;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(out.len < 1000000);
    CHECK(strstr(out.data, ">50,000<") != NULL);   /* row numbers, grouped */
    CHECK(read_path(out.data, "class=\"series\"", &pp));
    CHECK(pp.n < 4 * 960);
    for (i = 1; i < pp.n; i++) {
        if (pp.y[i] < pp.y[top]) top = i;
        if (pp.y[i] > pp.y[bottom]) bottom = i;
    }
    x0 = pp.x[0];
    x1 = pp.x[pp.n - 1];
    CHECK_NEAR(pp.x[top], x0 + (x1 - x0) * 77777.0 / (double)(n - 1), 0.06);
    CHECK_NEAR(pp.x[bottom], x0 + (x1 - x0) * 12345.0 / (double)(n - 1), 0.06);
    /* the spike reaches the top of the value range, far above the noise */
    CHECK(pp.y[top] < pp.y[0] - 100.0);
    /* the score's spike survives too */
    CHECK(read_path(out.data, "class=\"score\"", &pp));
    for (top = 0, i = 1; i < pp.n; i++)
        if (pp.y[i] < pp.y[top]) top = i;
    CHECK_NEAR(pp.x[top], x0 + (x1 - x0) * 55555.0 / (double)(n - 1), 0.06);
    sink_free(&out);
    free(v);
    free(sc);
}

static void test_nice_ticks(void)
{
    double t[16];
    size_t n = 0, k;
    CHECK_OK(an_report_nice_ticks(0.0, 1.0, 5, t, 16, &n));
    CHECK_EQ_SIZE(n, 6);
    for (k = 0; k < n; k++) CHECK_NEAR(t[k], 0.2 * (double)k, 1e-12);
    CHECK_OK(an_report_nice_ticks(-3.7, 12.1, 4, t, 16, &n));
    CHECK_EQ_SIZE(n, 3);
    CHECK(t[0] == 0.0 && !signbit(t[0]) && t[1] == 5.0 && t[2] == 10.0);
    CHECK_OK(an_report_nice_ticks(1e9, 1e9 + 3, 3, t, 16, &n));
    CHECK(n == 2 && t[0] == 1e9 && t[1] == 1e9 + 2);   /* 2 and 4 ticks tie: the fewer */
    CHECK_OK(an_report_nice_ticks(66.0, 174.0, 5, t, 16, &n));
    CHECK(n == 5 && t[0] == 80.0 && t[4] == 160.0);
    CHECK_OK(an_report_nice_ticks(-DBL_MAX, DBL_MAX, 4, t, 16, &n));
    CHECK(n >= 2 && n <= 5);
    for (k = 0; k < n; k++) CHECK(an__finite(t[k]));
    CHECK_RESULT(an_report_nice_ticks(0.0, 1.0, 5, t, 3, &n), AN_ERR_SHAPE);
    CHECK_EQ_SIZE(n, 6);
    CHECK_RESULT(an_report_nice_ticks(1.0, 1.0, 5, t, 16, &n), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_report_nice_ticks(0.0, 0.0 / 0.0, 5, t, 16, &n), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_report_nice_ticks(0.0, 1.0, 0, t, 16, &n), AN_ERR_INVALID_ARG);
}

/* Ticks at round calendar times; the oracle values come from Python's
   calendar.timegm. */
static void test_time_ticks(void)
{
    double t[64];
    size_t n = 0, k;

    /* one hour from 12:07:13: every 10 minutes on the minute */
    CHECK_OK(an_report_time_ticks(1404389233.0, 1404392833.0, 8, t, 64, &n));
    CHECK(n >= 4 && n <= 8);
    for (k = 0; k < n; k++) CHECK(fmod(t[k], 600.0) == 0.0 && t[k] >= 1404389233.0 && t[k] <= 1404392833.0);
    CHECK(t[0] == 1404389400.0);   /* 12:10 */

    /* two days: every 6 hours from midnight */
    CHECK_OK(an_report_time_ticks(1404345600.0, 1404518400.0, 10, t, 64, &n));
    CHECK_EQ_SIZE(n, 9);
    for (k = 0; k < n; k++) CHECK(t[k] == 1404345600.0 + 21600.0 * (double)k);

    /* three months: the first of each month */
    CHECK_OK(an_report_time_ticks(1405382400.0, 1413331200.0, 10, t, 64, &n));
    CHECK_EQ_SIZE(n, 3);
    CHECK(t[0] == 1406851200.0 && t[1] == 1409529600.0 && t[2] == 1412121600.0);

    /* two months with room for more ticks: Mondays at midnight */
    CHECK_OK(an_report_time_ticks(1405382400.0, 1405382400.0 + 60 * 86400.0, 10, t, 64, &n));
    CHECK(n >= 8);
    for (k = 0; k < n; k++) CHECK(fmod(t[k], 86400.0) == 0.0 && fmod(t[k] / 86400.0 + 3.0, 7.0) == 0.0);

    /* a leap day inside: days at midnight, 29 February among them */
    CHECK_OK(an_report_time_ticks(1456596000.0, 1456812000.0, 3, t, 64, &n));
    CHECK(n == 3 && t[0] == 1456617600.0 && t[1] == 1456704000.0 && t[2] == 1456790400.0);

    /* years before the epoch: 1 January of every tenth year */
    CHECK_OK(an_report_time_ticks(-12207456000.0, -10400659200.0, 10, t, 64, &n));
    CHECK(n == 6 && t[0] == -11991628800.0 && t[1] == -11676096000.0 && t[4] == -10729324800.0);

    /* the whole supported range, and an hour before the epoch */
    CHECK_OK(an_report_time_ticks(-62135596800.0, 253402300799.0, 10, t, 64, &n));
    CHECK(n >= 4 && n <= 11);
    CHECK_OK(an_report_time_ticks(-7200.0, -3600.0, 4, t, 64, &n));
    CHECK(n >= 2 && t[n - 1] == -3600.0);
    CHECK_RESULT(an_report_time_ticks(0.0, 1e12, 10, t, 64, &n), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_report_time_ticks(0.0, 86400.0, 24, t, 5, &n), AN_ERR_SHAPE);
    CHECK(n > 5);
}

/* Random spans from two seconds to a millennium: ticks increase, stay in
   the span, sit on whole units (midnights from a day up), and number at
   least one and at most 2 max_ticks + 1 (when a step smaller than the
   first choice was taken). */
static void test_time_ticks_random(void)
{
    an_rng rng;
    int round, bad = 0;
    an_rng_seed(&rng, 5, 9);
    for (round = 0; round < 3000; round++) {
        double t[64], span = pow(10.0, 0.31 + 10.2 * an_rng_uniform(&rng));
        double t0 = -3e10 + 6e10 * an_rng_uniform(&rng), t1 = t0 + span, d;
        size_t max_ticks = 2 + (size_t)an_rng_below(&rng, 12), n = 0, k;
        int ok = an_report_time_ticks(t0, t1, max_ticks, t, 64, &n) == AN_OK && n >= 1 && n <= 2 * max_ticks + 1;
        for (k = 0; ok && k < n; k++) {
            ok = t[k] >= t0 && t[k] <= t1 && (k == 0 || t[k] > t[k - 1]);
            if (ok && n >= 2) {
                d = t[1] - t[0];
                ok = d < 86400.0 ? fmod(t[k], d) == 0.0 : fmod(t[k], 86400.0) == 0.0;
            }
        }
        if (!ok && bad++ < 3)
            fprintf(stderr, "time ticks over [%.0f, %.0f] for %zu: %zu ticks\n", t0, t1, max_ticks, n);
    }
    CHECK(bad == 0);
}

/* The labels under the axis, for the same spans drawn as pictures. */
static void test_time_labels(void)
{
    static float v[200];
    static double t[200];
    an_report r = an_report_init();
    sink out;
    size_t i;
    r.n = 200;
    r.n_features = 1;
    r.values = v;
    r.time = t;
    for (i = 0; i < 200; i++) {
        v[i] = (float)i;
        t[i] = 1404345600.0 + 2.0 * 86400.0 * (double)i / 199.0;   /* 2014-07-03 .. 07-05 */
    }
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(strstr(out.data, ">06:00<") && strstr(out.data, ">12:00<"));
    CHECK(strstr(out.data, ">Jul 3, 2014<") && strstr(out.data, ">Jul 4<") && strstr(out.data, ">Jul 5<"));
    CHECK_EQ_SIZE(count_of(out.data, "class=\"xctx\""), 3);
    sink_free(&out);
    for (i = 0; i < 200; i++) t[i] = 1405382400.0 + (1413331200.0 - 1405382400.0) * (double)i / 199.0;
    r.width = 500;
    CHECK_OK(render(&r, &out));
    CHECK(strstr(out.data, ">Aug<") && strstr(out.data, ">Sep<") && strstr(out.data, ">Oct<"));
    CHECK(strstr(out.data, ">2014<") && count_of(out.data, "class=\"xctx\"") == 1);
    sink_free(&out);
    for (i = 0; i < 200; i++) t[i] = 1404389233.0 + 3600.0 * (double)i / 199.0;
    r.width = 960;
    CHECK_OK(render(&r, &out));
    CHECK(strstr(out.data, ">12:10<") && strstr(out.data, ">13:00<") && strstr(out.data, ">Jul 3, 2014<"));
    sink_free(&out);
}

static void test_many_features(void)
{
    static float v[50 * 7];
    const char *names[7] = { "cpu", "memory", "disk", "net in", "net out", "fans", "temp" };
    an_report r = an_report_init();
    sink out;
    size_t i;
    for (i = 0; i < 50 * 7; i++) v[i] = (float)((i % 7) * 10 + (i / 7) % 5);
    r.title = "Seven sensors";
    r.n = 50;
    r.n_features = 7;
    r.values = v;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK_EQ_SIZE(count_of(out.data, "class=\"series\""), 4);
    CHECK(strstr(out.data, "4 of 7 features shown") != NULL);
    CHECK(strstr(out.data, ">feature 1<") && strstr(out.data, ">feature 4<") && !strstr(out.data, ">feature 5<"));
    sink_free(&out);
    r.names = names;
    r.n_features = 4;
    r.n = 50;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(strstr(out.data, ">net in<") && !strstr(out.data, "features shown"));
    sink_free(&out);
}

static void test_errors(void)
{
    static small s;
    an_report r = small_report(&s), q;
    sink out;
    memset(&out, 0, sizeof out);
    CHECK_RESULT(an_report_svg(NULL, sink_write, &out), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_report_svg(&r, NULL, &out), AN_ERR_INVALID_ARG);
    q = r; q.n = 0;              CHECK_RESULT(render(&q, &out), AN_ERR_INVALID_ARG);
    q = r; q.n_features = 0;     CHECK_RESULT(render(&q, &out), AN_ERR_INVALID_ARG);
    q = r; q.values = NULL;      CHECK_RESULT(render(&q, &out), AN_ERR_INVALID_ARG);
    q = r; q.upper = NULL;       CHECK_RESULT(render(&q, &out), AN_ERR_INVALID_ARG);
    q = r; q.events = NULL;      CHECK_RESULT(render(&q, &out), AN_ERR_INVALID_ARG);
    q = r; q.width = 100;        CHECK_RESULT(render(&q, &out), AN_ERR_INVALID_ARG);
    q = r; q.height = 20000;     CHECK_RESULT(render(&q, &out), AN_ERR_INVALID_ARG);
    q = r; q.n_features = SIZE_MAX / 50;
    CHECK_RESULT(render(&q, &out), AN_ERR_TOO_LARGE);
    {   /* four panels and a score do not fit in 160 pixels */
        static float v4[N_SMALL * 4];
        q = r;
        q.values = v4;
        q.n_features = 4;
        q.expected = q.lower = q.upper = NULL;
        q.height = 160;
        CHECK_RESULT(render(&q, &out), AN_ERR_INVALID_ARG);
    }
    CHECK(out.calls == 0);   /* nothing written on a bad argument */
    s.ev[1].end = N_SMALL;       CHECK_RESULT(render(&r, &out), AN_ERR_INVALID_ARG);
    s.ev[1].end = 60; s.ev[1].start = 61;
    CHECK_RESULT(render(&r, &out), AN_ERR_INVALID_ARG);
    s.ev[1].start = 60; s.ev[1].peak = 59;
    CHECK_RESULT(render(&r, &out), AN_ERR_INVALID_ARG);
    s.ev[1].peak = 60; s.ev[1].severity = -1.0;
    CHECK_RESULT(render(&r, &out), AN_ERR_INPUT);
    s.ev[1].severity = 0.0 / 0.0;
    CHECK_RESULT(render(&r, &out), AN_ERR_INPUT);
    s.ev[1].severity = 0.0;
    CHECK_OK(render(&r, &out));
    sink_free(&out);
    s.t[50] = s.t[49] - 1.0;     CHECK_RESULT(render(&r, &out), AN_ERR_INPUT);
    s.t[50] = 0.0 / 0.0;         CHECK_RESULT(render(&r, &out), AN_ERR_INPUT);
    s.t[50] = s.t[49];           /* equal times are allowed */
    CHECK_OK(render(&r, &out));
    sink_free(&out);
    s.t[99] = 1e12;              CHECK_RESULT(render(&r, &out), AN_ERR_INPUT);
}

/* On the nines scale 0.9, 0.99, 0.999 are equally spaced, the top one
   nine past the threshold. */
static void test_nines(void)
{
    static small s;
    static path_pts pp;
    an_report r = small_report(&s);
    sink out;
    double y0, y1, y2, thr = 0.0;
    const char *p;
    size_t i;
    for (i = 0; i < N_SMALL; i++) s.score[i] = (float)(i % 4 == 0 ? 0.0 : i % 4 == 1 ? 0.9 : i % 4 == 2 ? 0.99 : 1.0);
    r.score_scale = AN_REPORT_SCORE_NINES;
    r.threshold = 0.999;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(strstr(out.data, ">0.9<") && strstr(out.data, ">0.99<") && strstr(out.data, ">0.999<") &&
          strstr(out.data, ">0.9999<") && !strstr(out.data, ">0.99999<"));
    CHECK(read_path(out.data, "class=\"score\"", &pp));
    CHECK(pp.n >= 8);
    y0 = pp.y[0]; y1 = pp.y[1]; y2 = pp.y[2];
    CHECK_NEAR(y0 - y1, y1 - y2, 0.15);            /* 0 -> 0.9 as far as 0.9 -> 0.99 */
    CHECK_NEAR(pp.y[3], y0 - 4.0 * (y0 - y1), 0.3);   /* a score of 1 at the top */
    p = strstr(out.data, "class=\"threshold\"");
    while (p && p > out.data && *p != '<') p--;    /* back to its tag */
    CHECK(p && strncmp(p, "<path d=\"M", 10) == 0);
    if (p) thr = strtod(strchr(p, ',') + 1, NULL);
    CHECK_NEAR(thr, y0 - 3.0 * (y0 - y1), 0.3);   /* 0.999: three nines up */
    CHECK(strstr(out.data, ">threshold 0.999<") != NULL);
    sink_free(&out);
    r.score_scale = (an_report_scale)7;
    CHECK_RESULT(render(&r, &out), AN_ERR_INVALID_ARG);
}

/* Random reports: well-formed XML, or an error with nothing written. */
static void test_random_reports(void)
{
    enum { MAX_N = 400, MAX_F = 6, MAX_E = 12 };
    static float v[MAX_N * MAX_F], sc[MAX_N];
    static double t[MAX_N], e[MAX_N * MAX_F], lo[MAX_N * MAX_F], hi[MAX_N * MAX_F];
    static char text[4][40];
    static const double specials[] = { 0.0, -0.0, 1e30, -1e30, 3e38, 1e-40, 12345.678 };
    const char *names[MAX_F];
    an_event ev[MAX_E];
    const char *labels[MAX_E];
    an_rng rng;
    int round, bad = 0, errors = 0;
    an_rng_seed(&rng, 99, 3);
    for (round = 0; round < 300; round++) {
        an_report r = an_report_init();
        size_t n = 1 + (size_t)an_rng_below(&rng, MAX_N), nf = 1 + (size_t)an_rng_below(&rng, MAX_F), i, k;
        double nan = 0.0 / 0.0, scale = pow(10.0, (double)an_rng_below(&rng, 20) - 10.0);
        sink out;
        an_result res;
        for (k = 0; k < 4; k++) {   /* random bytes, some of them special */
            size_t len = (size_t)an_rng_below(&rng, 39);
            for (i = 0; i < len; i++) {
                static const char pick[] = "<>&\"' aZ\xc3\xa9\xff\x01\xe2";
                text[k][i] = an_rng_below(&rng, 2) ? pick[an_rng_below(&rng, sizeof pick - 1)]
                                                   : (char)(1 + an_rng_below(&rng, 255));
            }
            text[k][len] = '\0';
        }
        for (i = 0; i < n * nf; i++) {
            unsigned u = (unsigned)an_rng_below(&rng, 20);
            double x = u == 0 ? nan : u == 1 ? specials[an_rng_below(&rng, 7)] : scale * an_rng_normal(&rng);
            v[i] = (float)x;
            e[i] = x + scale * an_rng_normal(&rng);
            lo[i] = e[i] - scale;
            hi[i] = u == 2 ? nan : e[i] + scale;
        }
        t[0] = -1e10 + 1e10 * an_rng_uniform(&rng);
        for (i = 1; i < n; i++) t[i] = t[i - 1] + (an_rng_below(&rng, 10) ? pow(10.0, 4.0 * an_rng_uniform(&rng)) : 0.0);
        for (i = 0; i < n; i++) sc[i] = an_rng_below(&rng, 30) ? (float)(1.2 * an_rng_uniform(&rng) - 0.1) : (float)nan;
        for (k = 0; k < MAX_E; k++) {
            size_t a = (size_t)an_rng_below(&rng, n), b = a + (size_t)an_rng_below(&rng, n - a);
            ev[k].start = a;
            ev[k].end = b;
            ev[k].peak = a + (size_t)an_rng_below(&rng, b - a + 1);
            ev[k].severity = 5.0 * an_rng_uniform(&rng);
            labels[k] = an_rng_below(&rng, 2) ? text[k % 4] : NULL;
        }
        for (k = 0; k < MAX_F; k++) names[k] = an_rng_below(&rng, 3) ? text[k % 4] : NULL;
        r.n = n;
        r.n_features = nf;
        r.values = v;
        r.time = an_rng_below(&rng, 2) ? t : NULL;
        r.title = an_rng_below(&rng, 4) ? text[0] : NULL;
        r.subtitle = an_rng_below(&rng, 2) ? text[1] : NULL;
        r.names = an_rng_below(&rng, 2) ? names : NULL;
        r.expected = an_rng_below(&rng, 2) ? e : NULL;
        if (an_rng_below(&rng, 2)) { r.lower = lo; r.upper = hi; }
        r.scores = an_rng_below(&rng, 2) ? sc : NULL;
        r.threshold = an_rng_below(&rng, 3) ? an_rng_uniform(&rng) : nan;
        r.score_scale = an_rng_below(&rng, 2) ? AN_REPORT_SCORE_NINES : AN_REPORT_SCORE_LINEAR;
        r.events = ev;
        r.labels = labels;
        r.n_events = (size_t)an_rng_below(&rng, MAX_E + 1);
        r.width = an_rng_below(&rng, 3) ? 0 : 300 + (int)an_rng_below(&rng, 1500);
        r.height = an_rng_below(&rng, 3) ? 0 : 150 + (int)an_rng_below(&rng, 900);
        res = render(&r, &out);
        if (res == AN_OK) {
            char why[128];
            if ((!out.data || !xml_check(out.data, why, sizeof why)) && bad++ < 3)
                fprintf(stderr, "round %d: %s\n", round, out.data ? why : "no output");
            if (out.data && (strstr(out.data, "NaN") || strstr(out.data, "Inf")) && bad++ < 3)
                fprintf(stderr, "round %d: a non-finite number was written\n", round);
        } else {
            errors++;
            if ((res != AN_ERR_INVALID_ARG || out.calls != 0) && bad++ < 3)
                fprintf(stderr, "round %d: %s after %ld writes\n", round, an_result_str(res), out.calls);
        }
        sink_free(&out);
    }
    CHECK(bad == 0);
    CHECK(errors < 150);   /* most rounds draw */
    printf("  random reports: 300 rounds, %d refused (too small for their panels)\n", errors);
}

/* The report draws the events an_alarm_batch makes as they are (one
   event type from detection to picture), with their labels beside. */
static void test_event_from(void)
{
    static small s;
    an_report r = small_report(&s);
    double score[N_SMALL], thr[N_SMALL];
    an_event found[3];
    const char *labels[3] = { "x", NULL, NULL };
    an_alarm_config c = an_alarm_config_init(1, 1);
    size_t i, count;
    sink out;
    for (i = 0; i < N_SMALL; i++) { score[i] = i >= 3 && i <= 9 ? (i == 5 ? 2.5 : 1.5) : 0.0; thr[i] = 1.0; }
    CHECK_OK(an_alarm_batch(&c, score, thr, N_SMALL, NULL, found, 3, &count));
    CHECK(count == 1 && found[0].start == 3 && found[0].end == 9 && found[0].peak == 5 && found[0].severity == 1.5);
    r.events = found;
    r.labels = labels;
    r.n_events = count;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK(strstr(out.data, "severity 1.5: x</title>") != NULL);
    sink_free(&out);
    r.labels = NULL;                           /* no labels at all */
    CHECK_OK(render(&r, &out));
    CHECK(strstr(out.data, ": x</title>") == NULL);
    sink_free(&out);
}

/* Each write failing in turn: AN_ERR_IO, and no write after the failure.
   The report allocates nothing (the library's allocator is never called),
   so there is no allocation to fail: the callback is its only way out. */
static void test_write_failures(void)
{
    static small s;
    an_report r = small_report(&s);
    sink out;
    long k, calls, heap_before = heap_calls;
    CHECK_OK(render(&r, &out));
    CHECK(heap_calls == heap_before);
    {   /* and the counter does see the library's allocations */
        void *p = an_malloc(NULL, 64, 64);
        CHECK(p != NULL && heap_calls > heap_before);
        an_free(NULL, p, 64);
    }
    calls = out.calls;
    CHECK(calls > 3);
    sink_free(&out);
    for (k = 1; k <= calls; k++) {
        memset(&out, 0, sizeof out);
        out.fail_at = k;
        CHECK_RESULT(an_report_svg(&r, sink_write, &out), AN_ERR_IO);
        CHECK(!out.called_after_fail);
        sink_free(&out);
    }
}

/* The buffer callback: measure, then draw into exactly that much memory;
   one byte less stops the report. */
static void test_buffer(void)
{
    static small s;
    an_report r = small_report(&s);
    an_report_buffer b = { NULL, 0, 0 };
    sink out;
    char *mem;
    CHECK_OK(render(&r, &out));
    CHECK_OK(an_report_svg(&r, an_report_write_buffer, &b));
    CHECK_EQ_SIZE(b.size, out.len);
    mem = (char *)malloc(b.size + 1);
    CHECK(mem != NULL);
    if (mem) {
        an_report_buffer exact = { NULL, 0, 0 }, short_by_one = { NULL, 0, 0 };
        exact.data = mem;
        exact.capacity = b.size + 1;
        CHECK_OK(an_report_svg(&r, an_report_write_buffer, &exact));
        CHECK(exact.size == out.len && strcmp(mem, out.data) == 0);
        short_by_one.data = mem;
        short_by_one.capacity = b.size - 1;
        CHECK_RESULT(an_report_svg(&r, an_report_write_buffer, &short_by_one), AN_ERR_IO);
        CHECK(short_by_one.size <= b.size - 1);
        free(mem);
    }
    CHECK(an_report_write_buffer(NULL, "x", 1) != 0);
    sink_free(&out);
}

/* Same input, same bytes, whatever the locale says about decimal points. */
static void test_deterministic(void)
{
    static small s;
    an_report r = small_report(&s);
    sink a, b;
    size_t i;
    for (i = 0; i < N_SMALL; i++) s.v[i] = 0.123f * (float)i;
    CHECK_OK(render(&r, &a));
    if (!setlocale(LC_ALL, "de_DE.UTF-8")) setlocale(LC_ALL, "");
    CHECK_OK(render(&r, &b));
    setlocale(LC_ALL, "C");
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    CHECK(strstr(a.data, "0,") == NULL || strstr(a.data, ">0,") == NULL);
    sink_free(&a);
    sink_free(&b);
}

/* Titles and subtitles wrap at spaces, three lines at most. */
static void test_wrapping(void)
{
    static small s;
    an_report r = small_report(&s);
    char title[2000];
    sink out;
    size_t i;
    const char *p;
    for (i = 0; i + 6 < sizeof title; i += 6) memcpy(title + i, "words ", 6);
    title[i] = '\0';
    r.title = title;
    r.subtitle = "   a subtitle that is long enough to need a second line in a picture four hundred pixels wide";
    r.width = 400;
    r.height = 600;
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK_EQ_SIZE(count_of(out.data, "class=\"title\""), 3);
    CHECK(strstr(out.data, "words\xe2\x80\xa6</text>") != NULL);
    CHECK_EQ_SIZE(count_of(out.data, "class=\"subtitle\""), 2);
    for (p = out.data; (p = strstr(p, "class=\"subtitle\"")); p++) CHECK(strstr(p, "> ") != strchr(p, '>'));
    sink_free(&out);
    /* a word longer than the line is cut inside; a title of spaces is none */
    memset(title, 'x', 500);
    title[500] = '\0';
    CHECK_OK(render(&r, &out));
    CHECK_XML(&out);
    CHECK_EQ_SIZE(count_of(out.data, "class=\"title\""), 3);
    sink_free(&out);
    r.title = "     ";
    CHECK_OK(render(&r, &out));
    CHECK_EQ_SIZE(count_of(out.data, "class=\"title\""), 0);
    sink_free(&out);
}

/* The number formatting against printf in the C locale, and dates
   against gmtime. */
static void test_formatting(void)
{
    static const double values[] = { 0.0, 1.0, -1.0, 0.5, 123456.0, 1234567.0, 0.0001234, 1e-5, 9.9999996,
                                      99999.95, 1e15, 1.5e300, -2.5e-300, 3e-320, 1e21, 0.1 + 0.2, 1.0 / 3.0,
                                      -987654.321, 5e-324, DBL_MAX, 123.456, 1e-7 };
    an_rng rng;
    size_t k;
    int bad_g = 0, bad_f = 0, bad_date = 0;
    setlocale(LC_ALL, "C");
    an_rng_seed(&rng, 11, 2);
    for (k = 0; k < 2000; k++) {
        double v = k < sizeof values / sizeof values[0] ? values[k]
                                                         : (an_rng_uniform(&rng) - 0.5) *
                                                               pow(10.0, (double)an_rng_below(&rng, 40) - 20.0);
        char ours[64], ref[64], norm[64], *e;
        int dec = (int)(k % 7);
        size_t i, j = 0;
        /* %.6g with the exponent written plainly */
        an__fmt_g(ours, v, 6);
        snprintf(ref, sizeof ref, "%.6g", v);
        for (i = 0; ref[i]; i++) {
            norm[j++] = ref[i];
            if (ref[i] == 'e') {
                if (ref[i + 1] == '+') i++;
                else if (ref[i + 1] == '-') norm[j++] = ref[++i];
                while (ref[i + 1] == '0' && ref[i + 2]) i++;
            }
        }
        norm[j] = '\0';
        /* printf rounds the exact binary value; we scale first, so a near
           tie may round the other way in the last digit */
        if (strcmp(ours, norm) != 0 &&
            (!strchr(ours, 'e') != !strchr(norm, 'e') || fabs(strtod(ours, &e) - v) > 1.01e-5 * fabs(v)) &&
            bad_g++ < 5)
            fprintf(stderr, "fmt_g(%.17g): %s, printf %s\n", v, ours, norm);
        /* fixed decimals, where they are exact enough to compare */
        if (fabs(v) < 1e9) {
            an__fmt_fixed(ours, v, dec, 0, 0);
            snprintf(ref, sizeof ref, "%.*f", dec, v);
            if (strcmp(ref, "-0") == 0 || (ref[0] == '-' && strspn(ref + 1, "0.") == strlen(ref + 1)))
                memmove(ref, ref + 1, strlen(ref));   /* we never write "-0.00" */
            /* printf rounds the binary value exactly; we round half up
               after scaling, so they may differ on ties of the last digit */
            if (strcmp(ours, ref) != 0 && fabs(strtod(ours, &e) - strtod(ref, &e)) > 1.01 * pow(10.0, -dec) &&
                bad_f++ < 5)
                fprintf(stderr, "fmt_fixed(%.17g, %d): %s, printf %s\n", v, dec, ours, ref);
        }
    }
    CHECK(bad_g == 0);
    CHECK(bad_f == 0);
    {
        char b[64];
        an__fmt_fixed(b, 1234567.891, 2, 0, 1);
        CHECK(strcmp(b, "1,234,567.89") == 0);
        an__fmt_fixed(b, 9999.0, 0, 0, 1);
        CHECK(strcmp(b, "9,999") == 0);
        an__fmt_fixed(b, 9999.0, 0, 0, 0);
        CHECK(strcmp(b, "9999") == 0);
        an__fmt_fixed(b, 999.0, 0, 0, 1);
        CHECK(strcmp(b, "999") == 0);
        an__fmt_fixed(b, -0.04, 1, 0, 1);
        CHECK(strcmp(b, "0.0") == 0);
        an__fmt_fixed(b, 2.50, 3, 1, 0);
        CHECK(strcmp(b, "2.5") == 0);
    }
    /* dates: random times from 1901 to 2200 against the C library */
    for (k = 0; k < 20000; k++) {
        double t = -2145916800.0 + an_rng_uniform(&rng) * (7258118400.0 + 2145916800.0);
        time_t tt = (time_t)floor(t);
        struct tm *g;
        an__date d;
        t = floor(t);
        if ((double)tt != t) continue;   /* a 32-bit time_t */
        g = gmtime(&tt);
        if (!g) continue;
        d = an__date_of(t);
        if ((d.year != g->tm_year + 1900 || d.month != g->tm_mon + 1 || d.day != g->tm_mday || d.hour != g->tm_hour ||
             d.minute != g->tm_min || d.second != g->tm_sec) && bad_date++ < 5)
            fprintf(stderr, "date of %.0f: %ld-%d-%d %d:%d:%d\n", t, d.year, d.month, d.day, d.hour, d.minute, d.second);
        if (an_days_from_civil(d.year, d.month, d.day) != (long)floor(t / 86400.0)) bad_date++;
    }
    CHECK(bad_date == 0);
    {
        char b[64];
        an__fmt_time(b, -62135596800.0, -1);
        CHECK(strcmp(b, "1-01-01 00:00") == 0);
        an__fmt_time(b, 253402300799.0, -1);
        CHECK(strcmp(b, "9999-12-31 23:59:59") == 0);
        an__fmt_time(b, 951782400.0, AN__T_DAY);   /* 2000-02-29 */
        CHECK(strcmp(b, "Feb 29") == 0);
    }
}

/* ==========================================================================
   Explainers
   ==========================================================================
   A toy detector whose score is a known function of the whole series
   (scores of its last row; the others 0):
       g(x) = sum_i a_i x_i + quad (sum_i b_i x_i)^2 + cross x_u x_v
   so the linear part's Shapley values are known in closed form (a cell's
   a_i (x_i - fill_i), summed over a player's cells) and the rest makes the
   game non-additive. */
typedef struct toy {
    an_detector base;
    size_t cells;            /* n_rows n_features it expects   */
    const double *a, *b;     /* (cells)                        */
    double quad, cross;
    size_t u, v;             /* the cross term's cells          */
    int nan_at_call;         /* > 0: that score call gives NaN  */
    int calls;
} toy;

static double toy_g(const toy *m, const float *x)
{
    double lin = 0.0, q = 0.0;
    size_t i;
    for (i = 0; i < m->cells; i++) {
        lin += m->a[i] * x[i];
        q += (m->b ? m->b[i] : 0.0) * x[i];
    }
    return lin + m->quad * q * q + m->cross * (double)x[m->u] * (double)x[m->v];
}

static an_result toy_fit(an_detector *self, const float *x, size_t n_rows)
{
    (void)self; (void)x; (void)n_rows;
    return AN_OK;
}

static an_result toy_score(an_detector *self, const float *x, size_t n_rows, float *scores)
{
    toy *m = (toy *)self;
    size_t t;
    if (n_rows * self->n_features != m->cells) return AN_ERR_SHAPE;
    for (t = 0; t + 1 < n_rows; t++) scores[t] = 0.0f;
    scores[n_rows - 1] = ++m->calls == m->nan_at_call ? (float)NAN : (float)toy_g(m, x);
    return AN_OK;
}

/* d g / d x at the last row's score. */
static an_result toy_gradient(an_detector *self, const float *x, size_t n_rows, size_t t, float *grad)
{
    toy *m = (toy *)self;
    double q = 0.0;
    size_t i;
    if (n_rows * self->n_features != m->cells) return AN_ERR_SHAPE;
    for (i = 0; i < m->cells; i++) q += (m->b ? m->b[i] : 0.0) * x[i];
    for (i = 0; i < m->cells; i++)
        grad[i] = t + 1 == n_rows ? (float)(m->a[i] + 2.0 * m->quad * q * (m->b ? m->b[i] : 0.0)) : 0.0f;
    if (t + 1 == n_rows) {
        grad[m->u] += (float)(m->cross * x[m->v]);
        grad[m->v] += (float)(m->cross * x[m->u]);
    }
    return AN_OK;
}

static void toy_destroy(an_detector *self) { (void)self; }

static const an_detector_vtable toy_vt = { AN_TAG('T', 'O', 'Y', '1'), "toy", toy_fit, toy_score, NULL, NULL,
                                           NULL, NULL, toy_gradient, toy_destroy, NULL, NULL, NULL };

static toy toy_make(size_t n_rows, size_t F, const double *a, const double *b, double quad, double cross)
{
    toy m;
    memset(&m, 0, sizeof m);
    m.base.vt = &toy_vt;
    m.base.n_features = F;
    m.base.fitted = 1;
    m.cells = n_rows * F;
    m.a = a;
    m.b = b;
    m.quad = quad;
    m.cross = cross;
    m.u = 0;
    m.v = m.cells - 1;
    return m;
}

/* A window of `length` rows at the end of n_rows rows, split in n_segments,
   per channel, mean fill. */
static an_xai_players players_of(toy *m, const float *x, size_t n_rows, size_t length, size_t n_segments,
                                 const float *mean)
{
    an_xai_players p;
    memset(&p, 0, sizeof p);
    p.detector = &m->base;
    p.x = x;
    p.n_rows = n_rows;
    p.start = n_rows - length;
    p.length = length;
    p.target = n_rows - 1;
    p.n_segments = n_segments;
    p.per_channel = 1;
    p.fill = AN_XAI_FILL_MEAN;
    p.fill_values = mean;
    return p;
}

static void random_fill(an_rng *rng, float *x, size_t n, double lo, double hi)
{
    size_t i;
    for (i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * an_rng_uniform(rng));
}

/* Exact enumeration of a linear game gives the closed form; occlusion of a
   linear game too. */
/* The linear game of the closed-form tests: 10 rows x 2 channels, the
   window their last 8 rows in 4 segments, per channel, mean fill. */
enum { LIN_N = 10, LIN_F = 2, LIN_L = 8, LIN_S = 4, LIN_P = LIN_S * LIN_F };
typedef struct linear_game {
    float x[LIN_N * LIN_F], mean[LIN_F];
    double a[LIN_N * LIN_F];
    toy m;
    an_xai_players p;
} linear_game;

static void linear_game_make(linear_game *g, uint64_t seed)
{
    an_rng rng;
    size_t i;
    an_rng_seed(&rng, seed, 1);
    random_fill(&rng, g->x, LIN_N * LIN_F, -2.0, 2.0);
    for (i = 0; i < LIN_N * LIN_F; i++) g->a[i] = an_rng_uniform(&rng) - 0.5;
    g->mean[0] = 0.5f;
    g->mean[1] = -1.0f;
    g->m = toy_make(LIN_N, LIN_F, g->a, NULL, 0.0, 0.0);
    g->p = players_of(&g->m, g->x, LIN_N, LIN_L, LIN_S, g->mean);
}

static void test_xai_exact_linear(void)
{
    enum { N = LIN_N, F = LIN_F, L = LIN_L, S = LIN_S };
    double phi[S * F], occ[S * F], want[S * F] = { 0 }, cells[L * F];
    linear_game g;
    const float *x = g.x, *mean = g.mean;
    const double *a = g.a;
    an_xai xai;
    an_xai_summary s;
    size_t i, c;
    an_xai_players p;
    linear_game_make(&g, 7);
    p = g.p;
    for (i = 0; i < L; i++)
        for (c = 0; c < F; c++) {
            size_t row = N - L + i;
            want[(i / 2) * F + c] += a[row * F + c] * ((double)x[row * F + c] - mean[c]);
        }
    CHECK_OK(an_xai_init(&xai, &p, 1u << (S * F), NULL));
    CHECK_EQ_SIZE(xai.n_players, S * F);
    CHECK_OK(an_xai_exact(&xai, phi, &s));
    CHECK_EQ_SIZE(s.evaluations, 1u << (S * F));
    for (i = 0; i < S * F; i++) CHECK_NEAR(phi[i], want[i], 2e-6);
    CHECK_NEAR(s.gap, 0.0, 1e-9);
    CHECK(isnan(s.fidelity) && isnan(s.intercept));
    CHECK_OK(an_xai_occlusion(&xai, occ, &s));
    CHECK_EQ_SIZE(s.evaluations, S * F + 2);
    for (i = 0; i < S * F; i++) CHECK_NEAR(occ[i], want[i], 2e-6);
    /* the cells of a player share its value: two rows per segment */
    CHECK_OK(an_xai_cells(&xai, phi, cells));
    for (i = 0; i < L; i++)
        for (c = 0; c < F; c++) CHECK_NEAR(cells[i * F + c], phi[(i / 2) * F + c] / 2.0, 1e-12);
    an_xai_uninit(&xai);
    /* one player per segment (all channels): the channels' sum */
    p.per_channel = 0;
    CHECK_OK(an_xai_init(&xai, &p, 1u << S, NULL));
    CHECK_EQ_SIZE(xai.n_players, S);
    CHECK_OK(an_xai_exact(&xai, phi, &s));
    for (i = 0; i < S; i++) CHECK_NEAR(phi[i], want[i * F] + want[i * F + 1], 2e-6);
    CHECK_OK(an_xai_cells(&xai, phi, cells));
    CHECK_NEAR(cells[0], phi[0] / 4.0, 1e-12);
    an_xai_uninit(&xai);
}

/* The non-linear game of the Kernel SHAP tests: 12 players. */
typedef struct game {
    float x[14 * 2], mean[2];
    double a[14 * 2], b[14 * 2];
    toy m;
    an_xai_players p;
} game;

static void game_make(game *g, uint64_t seed)
{
    an_rng rng;
    size_t i;
    an_rng_seed(&rng, seed, 2);
    random_fill(&rng, g->x, 28, -2.0, 2.0);
    g->mean[0] = 0.25f;
    g->mean[1] = -0.5f;
    for (i = 0; i < 28; i++) {
        g->a[i] = an_rng_uniform(&rng) - 0.5;
        g->b[i] = an_rng_uniform(&rng) - 0.5;
    }
    g->m = toy_make(14, 2, g->a, g->b, 0.8, 0.6);
    g->p = players_of(&g->m, g->x, 14, 12, 6, g->mean);
}

static double rms_diff(const double *u, const double *v, size_t n)
{
    double s = 0.0;
    size_t i;
    for (i = 0; i < n; i++) s += (u[i] - v[i]) * (u[i] - v[i]);
    return sqrt(s / (double)n);
}

/* Kernel SHAP and LIME score each distinct coalition once: the detector
   is called for 2 + the distinct coalitions (counted here by comparing
   every pair), the summary says so, fewer than the coalitions drawn, and
   every stored value is the coalition's own score (an_xai_value), bit for
   bit. */
static void test_xai_duplicates(void)
{
    enum { P = 12 };
    game g;
    an_xai xai;
    an_xai_summary s;
    double phi[P];
    size_t k, j, method;
    game_make(&g, 5);
    CHECK_OK(an_xai_init(&xai, &g.p, 2400, NULL));
    for (method = 0; method < 2; method++) {
        size_t distinct = 0, bad = 0;
        int before = g.m.calls;
        if (method == 0) CHECK_OK(an_xai_shap(&xai, 2400, 3, phi, &s));
        else {
            an_xai_lime_config lc = an_xai_lime_config_init();
            lc.samples = 2400;
            CHECK_OK(an_xai_lime(&xai, &lc, phi, &s));
        }
        for (k = 0; k < xai.n_coalitions; k++) {
            for (j = 0; j < k; j++)
                if (!memcmp(xai.coalitions + k * P, xai.coalitions + j * P, P)) break;
            distinct += j == k;
        }
        CHECK_EQ_SIZE(s.evaluations, xai.n_coalitions + 2);
        CHECK_EQ_SIZE(s.scored, distinct + 2);
        CHECK_EQ_SIZE((size_t)(g.m.calls - before), s.scored);
        CHECK(s.scored < s.evaluations);   /* 2,400 drawn of 4,094: some twice */
        for (k = 0; k < xai.n_coalitions; k++) {
            double f;
            CHECK_OK(an_xai_value(&xai, xai.coalitions + k * P, &f));
            bad += f != xai.values[k];
        }
        CHECK_EQ_SIZE(bad, 0);
        fprintf(stderr, "%s: %zu coalitions, %zu distinct\n", method ? "lime" : "kernel shap", xai.n_coalitions, distinct);
    }
    an_xai_uninit(&xai);
}

/* Kernel SHAP against exact enumeration: the error falls as the budget
   grows, every call adds up to f(x) - f(none) to rounding, the whole
   budget gives the exact values, and a seed gives the same values. */
static void test_xai_shap_vs_exact(void)
{
    enum { P = 12, SEEDS = 8 };
    static const size_t budgets[3] = { 60, 400, 2400 };
    double err[3] = { 0 }, exact[P], phi[P], again[P];
    game g;
    an_xai xai;
    an_xai_summary s, se;
    size_t k, i;
    uint64_t seed;
    game_make(&g, 3);
    CHECK_OK(an_xai_init(&xai, &g.p, 1u << P, NULL));
    CHECK_OK(an_xai_exact(&xai, exact, &se));
    for (seed = 1; seed <= SEEDS; seed++)
        for (k = 0; k < 3; k++) {
            CHECK_OK(an_xai_shap(&xai, budgets[k], seed, phi, &s));
            CHECK_EQ_SIZE(s.evaluations, budgets[k] + 2);
            CHECK_NEAR(s.full, se.full, 0.0);
            CHECK_NEAR(s.empty, se.empty, 0.0);
            CHECK_NEAR(s.gap, 0.0, 1e-9);
            err[k] += rms_diff(phi, exact, P) / SEEDS;
        }
    fprintf(stderr, "kernel shap rms error vs exact (12 players): %.4g (60), %.4g (400), %.4g (2400)\n", err[0],
            err[1], err[2]);
    CHECK(err[1] < 0.7 * err[0]);
    CHECK(err[2] < 0.7 * err[1]);
    CHECK(err[2] > 0.0);
    /* every coalition: the exact values */
    CHECK_OK(an_xai_shap(&xai, (1u << P) - 2, 1, phi, &s));
    for (i = 0; i < P; i++) CHECK_NEAR(phi[i], exact[i], 1e-6);
    /* a seed gives the same bits; another seed other values */
    CHECK_OK(an_xai_shap(&xai, 300, 42, phi, &s));
    CHECK_OK(an_xai_shap(&xai, 300, 42, again, &s));
    CHECK(memcmp(phi, again, sizeof phi) == 0);
    CHECK_OK(an_xai_shap(&xai, 300, 43, again, &s));
    CHECK(memcmp(phi, again, sizeof phi) != 0);
    /* fewer evaluations than players: still additive */
    CHECK_OK(an_xai_shap(&xai, 4, 9, phi, &s));
    CHECK_NEAR(s.gap, 0.0, 1e-9);
    CHECK_OK(an_xai_shap(&xai, 0, 9, phi, &s));
    CHECK_NEAR(s.gap, 0.0, 1e-9);
    an_xai_uninit(&xai);
}

/* Symmetric players get equal values and a dummy gets none, from the
   exact enumeration, from Kernel SHAP over every coalition and (the dummy)
   from occlusion. */
static void test_xai_symmetry_dummy(void)
{
    enum { N = 6, L = 6, P = 6 };
    float x[N] = { 1.0f, 2.0f, 2.0f, -1.0f, 0.5f, 3.0f }, mean[1] = { 0.0f };
    double a[N] = { 0.3, 0.7, 0.7, 0.0, -0.4, 0.2 }, b[N] = { 0.5, 0.2, 0.2, 0.0, 0.3, -0.6 };
    double phi[P], shap[P], occ[P];
    an_xai xai;
    an_xai_summary s;
    toy m = toy_make(N, 1, a, b, 1.0, 0.0);   /* players 1 and 2 alike; 3 a dummy */
    an_xai_players p = players_of(&m, x, N, L, P, mean);
    CHECK_OK(an_xai_init(&xai, &p, 1u << P, NULL));
    CHECK_OK(an_xai_exact(&xai, phi, &s));
    CHECK_NEAR(phi[1], phi[2], 1e-12);
    CHECK_NEAR(phi[3], 0.0, 1e-12);
    CHECK(fabs(phi[0]) > 0.01 && fabs(phi[1]) > 0.01);
    CHECK_OK(an_xai_shap(&xai, (1u << P) - 2, 5, shap, &s));
    CHECK_NEAR(shap[1], shap[2], 1e-9);
    CHECK_NEAR(shap[3], 0.0, 1e-9);
    CHECK_OK(an_xai_occlusion(&xai, occ, &s));
    CHECK_NEAR(occ[1], occ[2], 0.0);
    CHECK_NEAR(occ[3], 0.0, 0.0);
    an_xai_uninit(&xai);
}

/* Solves the (n x n) system A v = b by Gaussian elimination with partial
   pivoting (the tests' own solver, not the library's Cholesky). */
static int gauss_solve(double *A, double *b, size_t n)
{
    size_t i, j, k;
    for (k = 0; k < n; k++) {
        size_t piv = k;
        for (i = k + 1; i < n; i++)
            if (fabs(A[i * n + k]) > fabs(A[piv * n + k])) piv = i;
        if (A[piv * n + k] == 0.0) return 0;
        for (j = 0; j < n; j++) { double t = A[k * n + j]; A[k * n + j] = A[piv * n + j]; A[piv * n + j] = t; }
        { double t = b[k]; b[k] = b[piv]; b[piv] = t; }
        for (i = k + 1; i < n; i++) {
            double f = A[i * n + k] / A[k * n + k];
            for (j = k; j < n; j++) A[i * n + j] -= f * A[k * n + j];
            b[i] -= f * b[k];
        }
    }
    for (i = n; i-- > 0;) {
        for (j = i + 1; j < n; j++) b[i] -= A[i * n + j] * b[j];
        b[i] /= A[i * n + i];
    }
    return 1;
}

/* LIME against the closed-form weighted ridge on the very perturbations it
   drew: [1 z] theta = f, weights from the documented kernel, the
   intercept unpenalised, solved by the tests' own elimination. */
static void test_xai_lime_closed_form(void)
{
    enum { P = 12, Q = P + 1 };
    game g;
    an_xai xai;
    an_xai_summary s;
    an_xai_lime_config c = an_xai_lime_config_init();
    double phi[P], A[Q * Q], rhs[Q], sw = 0.0, mean = 0.0, res = 0.0, tot = 0.0;
    size_t k, i, j, masked_zero = 0;
    game_make(&g, 5);
    c.samples = 500;
    c.seed = 11;
    c.ridge = 0.3;
    c.kernel_width = 0.4;
    CHECK_OK(an_xai_init(&xai, &g.p, c.samples, NULL));
    CHECK_OK(an_xai_lime(&xai, &c, phi, &s));
    CHECK_EQ_SIZE(xai.n_coalitions, c.samples);
    CHECK_EQ_SIZE(s.evaluations, c.samples + 2);
    memset(A, 0, sizeof A);
    memset(rhs, 0, sizeof rhs);
    for (k = 0; k < c.samples; k++) {
        const unsigned char *z = xai.coalitions + k * P;
        double row[Q], kept = 0.0, d, w;
        row[0] = 1.0;
        for (j = 0; j < P; j++) { row[j + 1] = z[j]; kept += z[j]; }
        if (kept == P) masked_zero++;
        d = 1.0 - sqrt(kept / P);
        w = exp(-d * d / (2.0 * c.kernel_width * c.kernel_width));
        CHECK_NEAR(xai.weights[k], w, 1e-15);
        for (i = 0; i < Q; i++) {
            rhs[i] += w * row[i] * xai.values[k];
            for (j = 0; j < Q; j++) A[i * Q + j] += w * row[i] * row[j];
        }
        sw += w;
        mean += w * xai.values[k];
    }
    CHECK(masked_zero >= 1);   /* x itself, first */
    for (i = 1; i < Q; i++) A[i * Q + i] += c.ridge;
    CHECK(gauss_solve(A, rhs, Q));
    CHECK_NEAR(s.intercept, rhs[0], 1e-9);
    for (j = 0; j < P; j++) CHECK_NEAR(phi[j], rhs[j + 1], 1e-9);
    mean /= sw;
    for (k = 0; k < c.samples; k++) {
        const unsigned char *z = xai.coalitions + k * P;
        double fit = rhs[0];
        for (j = 0; j < P; j++) fit += z[j] * rhs[j + 1];
        res += xai.weights[k] * (xai.values[k] - fit) * (xai.values[k] - fit);
        tot += xai.weights[k] * (xai.values[k] - mean) * (xai.values[k] - mean);
    }
    CHECK_NEAR(s.fidelity, 1.0 - res / tot, 1e-9);
    CHECK(s.fidelity > 0.0 && s.fidelity < 1.0);
    an_xai_uninit(&xai);
}

/* On a linear game LIME without ridge recovers the closed form exactly,
   with fidelity 1. */
static void test_xai_lime_linear(void)
{
    enum { P = LIN_P };
    double phi[P], exact[P];
    linear_game g;
    an_xai xai;
    an_xai_summary s, se;
    an_xai_lime_config c = an_xai_lime_config_init();
    size_t i;
    linear_game_make(&g, 8);
    c.ridge = 0.0;
    c.samples = 200;
    CHECK_OK(an_xai_init(&xai, &g.p, 1u << P, NULL));
    CHECK_OK(an_xai_exact(&xai, exact, &se));
    CHECK_OK(an_xai_lime(&xai, &c, phi, &s));
    for (i = 0; i < P; i++) CHECK_NEAR(phi[i], exact[i], 1e-5);
    CHECK_NEAR(s.intercept, se.empty, 1e-5);
    CHECK_NEAR(s.fidelity, 1.0, 1e-9);
    an_xai_uninit(&xai);
}

/* What a masked cell becomes: the mean, the expected value, or a line
   between the kept values around a masked run. */
static void test_xai_fills(void)
{
    enum { N = 8, F = 2 };
    float x[N * F], mean[F] = { 10.0f, 20.0f }, expected[N * F];
    double a[N * F] = { 0 }, f;
    unsigned char z[4];
    an_xai xai;
    toy m;
    an_xai_players p;
    size_t i;
    for (i = 0; i < N * F; i++) { x[i] = (float)i; expected[i] = (float)(100 + i); }
    m = toy_make(N, F, a, NULL, 0.0, 0.0);
    /* window rows 2..5, two segments per channel: players (seg, channel) */
    p = players_of(&m, x, N, 4, 2, mean);
    p.start = 2;
    z[0] = 0; z[1] = 1; z[2] = 1; z[3] = 0;   /* rows 2-3 of channel 0, rows 4-5 of channel 1 masked */
    CHECK_OK(an_xai_init(&xai, &p, 1, NULL));
    CHECK_OK(an_xai_value(&xai, z, &f));
    CHECK(xai.series[2 * F] == 10.0f && xai.series[3 * F] == 10.0f && xai.series[4 * F] == 8.0f);
    CHECK(xai.series[4 * F + 1] == 20.0f && xai.series[5 * F + 1] == 20.0f && xai.series[3 * F + 1] == 7.0f);
    CHECK(xai.series[1 * F] == 2.0f && xai.series[6 * F + 1] == 13.0f);   /* outside the window: x */
    an_xai_uninit(&xai);
    p.fill = AN_XAI_FILL_EXPECTED;
    p.fill_values = expected;
    CHECK_OK(an_xai_init(&xai, &p, 1, NULL));
    CHECK_OK(an_xai_value(&xai, z, &f));
    CHECK(xai.series[2 * F] == 104.0f && xai.series[5 * F + 1] == 111.0f && xai.series[4 * F] == 8.0f);
    an_xai_uninit(&xai);
    /* LINEAR: channel 0 rows 2..5 all masked, between x[1] = 2 and x[6] = 12 */
    for (i = 0; i < N * F; i++) x[i] = (float)(i % 2 ? 50 : i);
    x[6 * F] = 12.0f;
    p.fill = AN_XAI_FILL_LINEAR;
    p.fill_values = NULL;
    z[0] = 0; z[1] = 1; z[2] = 0; z[3] = 1;
    CHECK_OK(an_xai_init(&xai, &p, 1, NULL));
    CHECK_OK(an_xai_value(&xai, z, &f));
    CHECK_NEAR(xai.series[2 * F], 4.0, 1e-6);
    CHECK_NEAR(xai.series[3 * F], 6.0, 1e-6);
    CHECK_NEAR(xai.series[4 * F], 8.0, 1e-6);
    CHECK_NEAR(xai.series[5 * F], 10.0, 1e-6);
    CHECK(xai.series[2 * F + 1] == 50.0f);
    an_xai_uninit(&xai);
    /* a run that touches the end of x: the last kept value */
    p.start = 4;
    p.n_segments = 4;
    CHECK_OK(an_xai_init(&xai, &p, 1, NULL));
    {
        unsigned char z8[8] = { 1, 1, 0, 1, 0, 1, 0, 1 };   /* channel 0 rows 5..7 masked */
        CHECK_OK(an_xai_value(&xai, z8, &f));
    }
    CHECK(xai.series[5 * F] == 8.0f && xai.series[7 * F] == 8.0f);
    an_xai_uninit(&xai);
}

/* Series that share their first rows with the series before them (as
   the explainers' sorted masked copies do; the encoder then copies the
   shared steps instead of computing them) score in a batch, bit for
   bit, as alone: shared prefixes of 0, 1, T / 2, T - 1 and T rows and
   random lengths, for the autoencoder with one and with two encoder
   layers and the forecaster, series of one window and of several.  The
   second layer of the two has more inputs (8) than units (6): its input
   projection runs for all steps at once, the other layers' step by step
   for the computing rows (an__lstm_forward_from). */
static void test_score_batch_shared(void)
{
    enum { T = 12, F = 2, N = 300, S = 41, R_MAX = T + 3 };
    static float train[N * F], xs[S * R_MAX * F], batch[S * R_MAX], one[R_MAX];
    an_detector *d[3] = { NULL, NULL, NULL };
    an_rng rng;
    size_t i, k, r, s, shared = 0;
    an_rng_seed(&rng, 34, 0);
    for (i = 0; i < N; i++) {
        train[i * F] = (float)sin(0.4 * (double)i) + 0.1f * (float)an_rng_normal(&rng);
        train[i * F + 1] = (float)cos(0.25 * (double)i) + 0.1f * (float)an_rng_normal(&rng);
    }
    for (k = 0; k < 3; k++) {
        an_lstm_config c = k < 2 ? an_lstm_ae_config_init(T, 8) : an_lstm_forecaster_config_init(T, 8, 2);
        c.train.epochs = 1;
        c.train.stride = 4;
        if (k == 1) {
            c.n_layers = 2;
            c.units[1] = 6;
        }
        CHECK_OK(k < 2 ? an_lstm_ae_create(&c, F, NULL, &d[k]) : an_lstm_forecaster_create(&c, F, NULL, &d[k]));
        if (!d[k]) return;
        CHECK_OK(an_detector_fit(d[k], train, N));
    }
    for (r = 0; r < 2; r++) {
        size_t R = r ? R_MAX : T + 1;   /* the forecaster needs T + 1 */
        random_fill(&rng, xs, S * R * F, -2.0, 2.0);
        for (s = 1; s < S; s++) {
            static const size_t fixed[5] = { 0, 1, T / 2, T - 1, T };
            size_t p = s % 7 < 5 ? fixed[s % 7] : (size_t)an_rng_below(&rng, R + 1);
            memcpy(xs + s * R * F, xs + (s - 1) * R * F, p * F * sizeof(float));
            shared += p > 0;
        }
        for (k = 0; k < 3; k++) {
            int same = 1, nonzero = 0;
            CHECK_OK(an_detector_score_batch(d[k], xs, S, R, batch));
            for (s = 0; s < S; s++) {
                CHECK_OK(an_detector_score(d[k], xs + s * R * F, R, one));
                same &= memcmp(one, batch + s * R, R * sizeof(float)) == 0;
                nonzero |= one[R - 1] > 0.0f;
            }
            CHECK(same);
            CHECK(nonzero);
        }
    }
    CHECK(shared > S);
    for (k = 0; k < 3; k++) an_detector_destroy(d[k]);
}

/* After init the explainers allocate nothing; caller memory needs no
   heap at all. */
/* an_detector_score_batch gives, bit for bit, what one an_detector_score
   call per series gives: the LSTM autoencoder (LAST and MEAN windows) and
   forecaster through their batched forward pass (series of one window and
   of several, more of them than a batch holds, so batches straddle
   series), a detector without the entry through the fallback; and its
   argument errors. */
static void test_score_batch(void)
{
    enum { T = 12, F = 2, N = 300, S = 37, R_MAX = T + 7 };
    static float train[N * F], xs[S * R_MAX * F], batch[S * R_MAX], one[R_MAX];
    static const size_t rows[2] = { T, T + 7 };   /* the forecaster's T + 1: one window */
    an_detector *d[3] = { NULL, NULL, NULL };
    an_rng rng;
    size_t i, k, r, s;
    game g;
    an_rng_seed(&rng, 33, 0);
    for (i = 0; i < N; i++) {
        train[i * F] = (float)sin(0.4 * (double)i) + 0.1f * (float)an_rng_normal(&rng);
        train[i * F + 1] = (float)cos(0.25 * (double)i) + 0.1f * (float)an_rng_normal(&rng);
    }
    for (k = 0; k < 3; k++) {
        an_lstm_config c = k < 2 ? an_lstm_ae_config_init(T, 8) : an_lstm_forecaster_config_init(T, 8, 2);
        c.train.epochs = 1;
        c.train.stride = 4;
        if (k == 1) c.window_agg = AN_AGG_MEAN;
        CHECK_OK(k < 2 ? an_lstm_ae_create(&c, F, NULL, &d[k]) : an_lstm_forecaster_create(&c, F, NULL, &d[k]));
        if (!d[k]) return;
        CHECK(d[k]->vt->score_batch != NULL);
        CHECK_RESULT(an_detector_score_batch(d[k], xs, 1, T, batch), AN_ERR_NOT_FITTED);
        CHECK_OK(an_detector_fit(d[k], train, N));
    }
    random_fill(&rng, xs, S * R_MAX * F, -2.0, 2.0);
    for (k = 0; k < 3; k++)
        for (r = 0; r < 2; r++) {
            size_t R = rows[r] + (k == 2 && r == 0);
            int same = 1, nonzero = 0;
            CHECK_OK(an_detector_score_batch(d[k], xs, S, R, batch));
            for (s = 0; s < S; s++) {
                CHECK_OK(an_detector_score(d[k], xs + s * R * F, R, one));
                same &= memcmp(one, batch + s * R, R * sizeof(float)) == 0;
                nonzero |= one[R - 1] > 0.0f;
            }
            CHECK(same);
            CHECK(nonzero);
        }
    /* the fallback: the toy has no score_batch */
    game_make(&g, 5);
    CHECK(g.m.base.vt->score_batch == NULL);
    {
        float x3[3 * 28], sc3[3 * 14], sc1[14];
        for (i = 0; i < 3 * 28; i++) x3[i] = g.x[i % 28] + (float)(i / 28);
        CHECK_OK(an_detector_score_batch(&g.m.base, x3, 3, 14, sc3));
        for (s = 0; s < 3; s++) {
            CHECK_OK(an_detector_score(&g.m.base, x3 + s * 28, 14, sc1));
            CHECK(memcmp(sc1, sc3 + s * 14, sizeof sc1) == 0);
        }
    }
    CHECK_RESULT(an_detector_score_batch(NULL, xs, 1, T, batch), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_detector_score_batch(d[0], NULL, 1, T, batch), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_detector_score_batch(d[0], xs, 1, T, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_detector_score_batch(d[0], xs, 0, T, batch), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_detector_score_batch(d[0], xs, 1, 0, batch), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_detector_score_batch(d[0], xs, SIZE_MAX / 2, 4, batch), AN_ERR_TOO_LARGE);
    CHECK_RESULT(an_detector_score_batch(d[0], xs, 2, T - 1, batch), AN_ERR_TOO_SHORT);
    xs[(2 * T + 3) * F] = NAN;   /* in the third series */
    CHECK_RESULT(an_detector_score_batch(d[0], xs, 3, T, batch), AN_ERR_INPUT);
    for (k = 0; k < 3; k++) an_detector_destroy(d[k]);
}

/* The explainers score their masked copies in batches (xai.chunk per
   score_batch call); one copy per call gives the same values bit for bit
   (exact Shapley, Kernel SHAP, occlusion, LIME; expected and linear
   fills), and the Shapley oracles hold on the batched path: additivity to
   rounding, Kernel SHAP with every coalition = exact. */
static void test_xai_batched(void)
{
    enum { T = 16, F = 2, N = 300, R = T + 4, P = 5 * F };
    static float train[N * F];
    float x[R * F], expected[R * F];
    double phi[2][P], exact[P];
    an_lstm_config c = an_lstm_ae_config_init(T, 8);
    an_detector *d = NULL;
    an_xai_summary s[2];
    an_xai_players p;
    an_xai xai;
    an_rng rng;
    size_t i, fill, method, pass;
    an_rng_seed(&rng, 44, 0);
    for (i = 0; i < N; i++) {
        train[i * F] = (float)sin(0.4 * (double)i) + 0.1f * (float)an_rng_normal(&rng);
        train[i * F + 1] = (float)cos(0.25 * (double)i) + 0.1f * (float)an_rng_normal(&rng);
    }
    c.train.epochs = 1;
    c.train.stride = 4;
    c.window_agg = AN_AGG_MEAN;   /* the target row's score from T windows */
    CHECK_OK(an_lstm_ae_create(&c, F, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_fit(d, train, N));
    memcpy(x, train + 50 * F, sizeof x);
    x[(R - 3) * F + 1] += 3.0f;
    for (i = 0; i < R * F; i++) expected[i] = train[(150 + i / F) * F + i % F];
    memset(&p, 0, sizeof p);
    p.detector = d;
    p.x = x;
    p.n_rows = R;
    p.start = 2;
    p.length = T;
    p.target = R - 3;
    p.n_segments = 5;
    p.per_channel = 1;
    for (fill = 0; fill < 2; fill++) {
        p.fill = fill ? AN_XAI_FILL_LINEAR : AN_XAI_FILL_EXPECTED;
        p.fill_values = fill ? NULL : expected;
        CHECK_OK(an_xai_init(&xai, &p, 1024, NULL));
        CHECK_EQ_SIZE(xai.chunk, AN_XAI_BATCH);
        for (method = 0; method < 4; method++) {
            for (pass = 0; pass < 2; pass++) {
                an_xai_lime_config lc = an_xai_lime_config_init();
                lc.samples = 300;
                xai.chunk = pass ? 1 : 0;   /* 0: init's chunk */
                switch (method) {
                case 0: CHECK_OK(an_xai_exact(&xai, phi[pass], &s[pass])); break;
                case 1: CHECK_OK(an_xai_shap(&xai, 300, 7, phi[pass], &s[pass])); break;
                case 2: CHECK_OK(an_xai_occlusion(&xai, phi[pass], &s[pass])); break;
                default: CHECK_OK(an_xai_lime(&xai, &lc, phi[pass], &s[pass])); break;
                }
            }
            CHECK(memcmp(phi[0], phi[1], sizeof phi[0]) == 0);
            CHECK(s[0].full == s[1].full && s[0].empty == s[1].empty);
            CHECK(s[0].full != s[0].empty);
            if (method == 0) memcpy(exact, phi[0], sizeof exact);
            if (method < 2) CHECK_NEAR(s[0].gap, 0.0, 1e-9 * fabs(s[0].full - s[0].empty));
        }
        xai.chunk = 0;
        CHECK_OK(an_xai_shap(&xai, (1u << P) - 2, 1, phi[0], &s[0]));
        for (i = 0; i < P; i++) CHECK_NEAR(phi[0][i], exact[i], 1e-6 * fabs(s[0].full - s[0].empty));
        an_xai_uninit(&xai);
    }
    an_detector_destroy(d);
}

/* an_detector_gradient_batch gives, bit for bit, what one
   an_detector_gradient call per series gives: the LSTM autoencoder with
   one window per series (LAST: batched) and several (MEAN: series one
   by one), the forecaster, the toy through the fallback; and its
   argument errors.  Integrated gradients, which sends its path points in
   batches, equals the same sum taken one gradient call at a time. */
static void test_gradient_batch(void)
{
    enum { T = 12, F = 2, N = 300, S = 37, R = T + 3 };
    static float train[N * F], xs[S * R * F], batch[S * R * F], one[R * F];
    an_detector *d[3] = { NULL, NULL, NULL };
    an_rng rng;
    size_t i, k, s, rule;
    game g;
    an_rng_seed(&rng, 55, 0);
    for (i = 0; i < N; i++) {
        train[i * F] = (float)sin(0.4 * (double)i) + 0.1f * (float)an_rng_normal(&rng);
        train[i * F + 1] = (float)cos(0.25 * (double)i) + 0.1f * (float)an_rng_normal(&rng);
    }
    for (k = 0; k < 3; k++) {
        an_lstm_config c = k < 2 ? an_lstm_ae_config_init(T, 8) : an_lstm_forecaster_config_init(T, 8, 2);
        c.train.epochs = 1;
        c.train.stride = 4;
        if (k == 1) c.window_agg = AN_AGG_MEAN;
        CHECK_OK(k < 2 ? an_lstm_ae_create(&c, F, NULL, &d[k]) : an_lstm_forecaster_create(&c, F, NULL, &d[k]));
        if (!d[k]) return;
        CHECK(d[k]->vt->gradient_batch != NULL);
        CHECK_OK(an_detector_fit(d[k], train, N));
    }
    random_fill(&rng, xs, S * R * F, -2.0, 2.0);
    for (k = 0; k < 3; k++) {
        int same = 1, nonzero = 0;
        CHECK_OK(an_detector_gradient_batch(d[k], xs, S, R, R - 2, batch));
        for (s = 0; s < S; s++) {
            CHECK_OK(an_detector_gradient(d[k], xs + s * R * F, R, R - 2, one));
            same &= memcmp(one, batch + s * R * F, sizeof one) == 0;
            for (i = 0; i < R * F; i++) nonzero |= one[i] != 0.0f;
        }
        CHECK(same);
        CHECK(nonzero);
    }
    /* integrated gradients against the sum of one gradient per call */
    for (rule = 0; rule < 2; rule++) {
        enum { STEPS = 40 };
        const float *x = xs, *b = xs + R * F;
        double attr[R * F], sum[R * F];
        an_xai_summary sm;
        memset(sum, 0, sizeof sum);
        for (k = 0; k <= STEPS; k++) {
            double a = rule == AN_XAI_MIDPOINT ? ((double)k + 0.5) / STEPS : (double)k / STEPS;
            double w = rule == AN_XAI_TRAPEZOID && (k == 0 || k == STEPS) ? 0.5 / STEPS : 1.0 / STEPS;
            if (rule == AN_XAI_MIDPOINT && k == STEPS) break;
            for (i = 0; i < R * F; i++) batch[i] = (float)(b[i] + a * ((double)x[i] - b[i]));
            CHECK_OK(an_detector_gradient(d[0], batch, R, R - 2, one));
            for (i = 0; i < R * F; i++) sum[i] += w * one[i];
        }
        for (i = 0; i < R * F; i++) sum[i] *= (double)x[i] - b[i];
        CHECK_OK(an_xai_integrated_gradients(d[0], x, b, R, R - 2, STEPS, (an_xai_rule)rule, attr, &sm, NULL));
        CHECK(memcmp(attr, sum, sizeof sum) == 0);
        CHECK_EQ_SIZE(sm.evaluations, 2 + STEPS + rule);
    }
    /* the fallback: the toy has a gradient but no gradient_batch */
    game_make(&g, 6);
    CHECK(g.m.base.vt->gradient_batch == NULL);
    {
        float x3[3 * 28], g3[3 * 28], g1[28];
        for (i = 0; i < 3 * 28; i++) x3[i] = g.x[i % 28] * (float)(1 + i / 28);
        CHECK_OK(an_detector_gradient_batch(&g.m.base, x3, 3, 14, 13, g3));
        for (s = 0; s < 3; s++) {
            CHECK_OK(an_detector_gradient(&g.m.base, x3 + s * 28, 14, 13, g1));
            CHECK(memcmp(g1, g3 + s * 28, sizeof g1) == 0);
        }
    }
    CHECK_RESULT(an_detector_gradient_batch(NULL, xs, 1, R, 0, batch), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_detector_gradient_batch(d[0], NULL, 1, R, 0, batch), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_detector_gradient_batch(d[0], xs, 1, R, 0, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_detector_gradient_batch(d[0], xs, 0, R, 0, batch), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_detector_gradient_batch(d[0], xs, 1, R, R, batch), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_detector_gradient_batch(d[0], xs, SIZE_MAX / 2, 4, 0, batch), AN_ERR_TOO_LARGE);
    CHECK_RESULT(an_detector_gradient_batch(d[0], xs, 2, T - 1, 0, batch), AN_ERR_TOO_SHORT);
    xs[(2 * R + 3) * F] = NAN;   /* in the third series */
    CHECK_RESULT(an_detector_gradient_batch(d[0], xs, 3, R, R - 1, batch), AN_ERR_INPUT);
    {
        an_detector_vtable no_gradient = *g.m.base.vt;
        no_gradient.gradient = NULL;
        g.m.base.vt = &no_gradient;
        CHECK_RESULT(an_detector_gradient_batch(&g.m.base, g.x, 1, 14, 0, batch), AN_ERR_UNSUPPORTED);
    }
    for (k = 0; k < 3; k++) an_detector_destroy(d[k]);
}

/* an_xai_nearest_fill: each channel takes its own nearest run (L1),
   whatever the other channel's match; an anomalous row does not pull the
   match away from the run it sits in; runs touching skipped rows are
   never used; ties go to the earliest run; errors. */
static void test_xai_nearest_fill(void)
{
    enum { N = 40, F = 2, L = 4 };
    float ref[N * F], w[L * F], fill[L * F];
    size_t i;
    for (i = 0; i < N; i++) {
        ref[i * F] = (float)i;                          /* a ramp: every run differs */
        ref[i * F + 1] = (float)((i * 7) % 11);         /* another order of values   */
    }
    for (i = 0; i < L; i++) {
        w[i * F] = ref[(10 + i) * F];                   /* channel 0 = run 10 */
        w[i * F + 1] = ref[(25 + i) * F + 1];           /* channel 1 = run 25 */
    }
    w[2 * F] += 3.0f;                                   /* an anomaly in run 10's copy */
    CHECK_OK(an_xai_nearest_fill(ref, N, F, w, L, 0, 0, fill));
    for (i = 0; i < L; i++) {
        CHECK(fill[i * F] == ref[(10 + i) * F]);
        CHECK(fill[i * F + 1] == ref[(25 + i) * F + 1]);
    }
    /* runs touching rows 8 .. 13 are out (starts 5 .. 13): on the ramp
       run 14 costs |10-14| + |11-15| + |15-16| + |13-17| = 13, run 4 27 */
    CHECK_OK(an_xai_nearest_fill(ref, N, F, w, L, 8, 14, fill));
    for (i = 0; i < L; i++) CHECK(fill[i * F] == ref[(14 + i) * F]);
    /* +1, -1, +1, ... against zeros: every run costs 4, the earliest
       candidate wins: run 0 (starting +1), or run 3 (-1) with rows 0 .. 2
       skipped */
    for (i = 0; i < N; i++) ref[i * F] = i % 2 ? -1.0f : 1.0f;
    for (i = 0; i < L; i++) w[i * F] = 0.0f;
    CHECK_OK(an_xai_nearest_fill(ref, N, F, w, L, 0, 0, fill));
    CHECK(fill[0] == 1.0f && fill[F] == -1.0f);
    CHECK_OK(an_xai_nearest_fill(ref, N, F, w, L, 0, 3, fill));
    CHECK(fill[0] == -1.0f && fill[F] == 1.0f);
    CHECK_RESULT(an_xai_nearest_fill(NULL, N, F, w, L, 0, 0, fill), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_nearest_fill(ref, N, F, NULL, L, 0, 0, fill), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_nearest_fill(ref, N, F, w, L, 0, 0, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_nearest_fill(ref, N, F, w, 0, 0, 0, fill), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_nearest_fill(ref, N, 0, w, L, 0, 0, fill), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_nearest_fill(ref, L - 1, F, w, L, 0, 0, fill), AN_ERR_TOO_SHORT);
    CHECK_RESULT(an_xai_nearest_fill(ref, N, F, w, L, 0, N, fill), AN_ERR_TOO_SHORT);   /* all skipped */
    CHECK_RESULT(an_xai_nearest_fill(ref, SIZE_MAX / 2, 4, w, L, 0, 0, fill), AN_ERR_TOO_LARGE);
    ref[5] = NAN;
    CHECK_RESULT(an_xai_nearest_fill(ref, N, F, w, L, 0, 0, fill), AN_ERR_INPUT);
    ref[5] = 0.0f;
    w[3] = INFINITY;
    CHECK_RESULT(an_xai_nearest_fill(ref, N, F, w, L, 0, 0, fill), AN_ERR_INPUT);
}

/* an_xai_importance: the deviation in each channel's scale, closed form;
   NULL scale = the data's units; errors. */
static void test_xai_importance(void)
{
    static const float x[6] = { 1.0f, 10.0f, 2.5f, -4.0f, 0.0f, 7.0f };
    static const float e[6] = { 0.5f, 12.0f, 2.5f, -1.0f, 1.0f, 7.5f };
    static const double scale[2] = { 0.5, 4.0 };
    static const double want[6] = { 1.0, -0.5, 0.0, -0.75, -2.0, -0.125 };
    double cells[6];
    float bad[6];
    size_t i;
    CHECK_OK(an_xai_importance(x, e, 3, 2, scale, cells));
    for (i = 0; i < 6; i++) CHECK(cells[i] == want[i]);
    CHECK_OK(an_xai_importance(x, e, 3, 2, NULL, cells));
    for (i = 0; i < 6; i++) CHECK(cells[i] == want[i] * scale[i % 2]);
    CHECK_RESULT(an_xai_importance(NULL, e, 3, 2, scale, cells), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_importance(x, NULL, 3, 2, scale, cells), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_importance(x, e, 3, 2, scale, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_importance(x, e, 0, 2, scale, cells), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_importance(x, e, 3, 0, scale, cells), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_importance(x, e, SIZE_MAX / 2, 4, scale, cells), AN_ERR_TOO_LARGE);
    {
        double zero[2] = { 1.0, 0.0 }, nan2[2] = { NAN, 1.0 };
        CHECK_RESULT(an_xai_importance(x, e, 3, 2, zero, cells), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_xai_importance(x, e, 3, 2, nan2, cells), AN_ERR_INVALID_ARG);
    }
    memcpy(bad, x, sizeof bad);
    bad[3] = INFINITY;
    CHECK_RESULT(an_xai_importance(bad, e, 3, 2, scale, cells), AN_ERR_INPUT);
    CHECK_RESULT(an_xai_importance(x, bad, 3, 2, scale, cells), AN_ERR_INPUT);
}

static void test_xai_memory(void)
{
    game g;
    an_xai xai;
    an_xai_summary s;
    double phi[12];
    size_t bytes;
    long before;
    void *heap;
    game_make(&g, 9);
    CHECK_OK(an_xai_heap_size(&g.p, 600, &bytes));
    heap = an_malloc(NULL, bytes, AN_ALIGN);
    before = heap_calls;
    CHECK_OK(an_xai_init_preallocated(&xai, &g.p, 600, heap));
    CHECK_OK(an_xai_shap(&xai, 600, 3, phi, &s));
    CHECK_RESULT(an_xai_lime(&xai, NULL, phi, &s), AN_ERR_SHAPE);   /* 1000 samples by default */
    {
        an_xai_lime_config c = an_xai_lime_config_init();
        c.samples = 600;
        CHECK_OK(an_xai_lime(&xai, &c, phi, &s));
    }
    CHECK_OK(an_xai_occlusion(&xai, phi, &s));
    CHECK(heap_calls == before);
    an_xai_uninit(&xai);   /* caller memory: not freed */
    CHECK_RESULT(an_xai_init_preallocated(&xai, &g.p, 600, (char *)heap + 8), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_init_preallocated(&xai, &g.p, 600, NULL), AN_ERR_INVALID_ARG);
    an_free(NULL, heap, bytes);
}

static an_result xai_alloc_job(const an_allocator *a, void *ctx)
{
    game *g = (game *)ctx;
    an_xai xai;
    an_xai_summary s;
    double phi[12];
    an_result r = an_xai_init(&xai, &g->p, 100, a);
    if (r != AN_OK) return r;
    r = an_xai_shap(&xai, 100, 1, phi, &s);
    an_xai_uninit(&xai);
    return r;
}

static void test_xai_alloc_failures(void)
{
    game g;
    game_make(&g, 4);
    inject_failures("an_xai_init", xai_alloc_job, &g);
}

/* Bad arguments are result codes, never crashes. */
static void test_xai_errors(void)
{
    game g;
    an_xai_players p;
    an_xai xai, empty;
    an_xai_summary s;
    an_xai_lime_config c = an_xai_lime_config_init();
    an_allocator half = { NULL, NULL, NULL };
    double phi[28];   /* 28 players at most below */
    float bad[28];
    size_t bytes;
    game_make(&g, 6);
#define BAD_PLAYERS(field, value, code) do { \
        p = g.p; p.field = value; \
        CHECK_RESULT(an_xai_heap_size(&p, 10, &bytes), code); \
        CHECK_RESULT(an_xai_init(&xai, &p, 10, NULL), code); \
    } while (0)
    BAD_PLAYERS(detector, NULL, AN_ERR_INVALID_ARG);
    BAD_PLAYERS(x, NULL, AN_ERR_INVALID_ARG);
    BAD_PLAYERS(n_rows, 0, AN_ERR_INVALID_ARG);
    BAD_PLAYERS(length, 0, AN_ERR_INVALID_ARG);
    BAD_PLAYERS(length, 13, AN_ERR_INVALID_ARG);   /* past the end */
    BAD_PLAYERS(start, 14, AN_ERR_INVALID_ARG);
    BAD_PLAYERS(n_segments, 0, AN_ERR_INVALID_ARG);
    BAD_PLAYERS(n_segments, 13, AN_ERR_INVALID_ARG);
    BAD_PLAYERS(target, 14, AN_ERR_INVALID_ARG);
    BAD_PLAYERS(fill, (an_xai_fill)7, AN_ERR_INVALID_ARG);
    BAD_PLAYERS(fill_values, NULL, AN_ERR_INVALID_ARG);
    p = g.p; p.start = 0; p.length = 14; p.fill = AN_XAI_FILL_LINEAR;   /* nothing to draw a line from */
    CHECK_RESULT(an_xai_init(&xai, &p, 10, NULL), AN_ERR_INVALID_ARG);
    p.fill = AN_XAI_FILL_MEAN;
    p.n_segments = 14;
    CHECK_OK(an_xai_init(&xai, &p, 10, NULL));   /* 28 players */
    CHECK_RESULT(an_xai_exact(&xai, phi, &s), AN_ERR_TOO_LARGE);
    an_xai_uninit(&xai);
    {
        static float wide[2000 * 2];
        static double wa[2000 * 2];
        toy big = toy_make(2000, 2, wa, NULL, 0.0, 0.0);
        p = players_of(&big, wide, 2000, 2000, 513, g.mean);   /* 1026 players */
        CHECK_RESULT(an_xai_heap_size(&p, 10, &bytes), AN_ERR_TOO_LARGE);
        p.n_segments = 512;
        CHECK_OK(an_xai_heap_size(&p, 10, &bytes));
    }
    CHECK_RESULT(an_xai_heap_size(&g.p, 0, &bytes), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_heap_size(&g.p, 10, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_heap_size(NULL, 10, &bytes), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_heap_size(&g.p, SIZE_MAX / 2, &bytes), AN_ERR_TOO_LARGE);
    CHECK_RESULT(an_xai_init(&xai, &g.p, 10, &half), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_init(NULL, &g.p, 10, NULL), AN_ERR_INVALID_ARG);
    /* calls on an object that is not initialised */
    memset(&empty, 0, sizeof empty);
    CHECK_RESULT(an_xai_shap(&empty, 10, 1, phi, &s), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_exact(NULL, phi, &s), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_cells(&empty, phi, phi), AN_ERR_INVALID_ARG);
    CHECK_OK(an_xai_init(&xai, &g.p, 100, NULL));
    CHECK_RESULT(an_xai_exact(&xai, phi, &s), AN_ERR_SHAPE);   /* 4096 coalitions */
    CHECK_RESULT(an_xai_shap(&xai, 101, 1, phi, &s), AN_ERR_SHAPE);
    CHECK_RESULT(an_xai_shap(&xai, 10, 1, NULL, &s), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_shap(&xai, 10, 1, phi, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_value(&xai, NULL, phi), AN_ERR_INVALID_ARG);
    c.samples = 101;
    CHECK_RESULT(an_xai_lime(&xai, &c, phi, &s), AN_ERR_SHAPE);
    c.samples = 0;
    CHECK_RESULT(an_xai_lime(&xai, &c, phi, &s), AN_ERR_INVALID_ARG);
    c = an_xai_lime_config_init(); c.samples = 50; c.kernel_width = 0.0;
    CHECK_RESULT(an_xai_lime(&xai, &c, phi, &s), AN_ERR_INVALID_ARG);
    c.kernel_width = NAN;
    CHECK_RESULT(an_xai_lime(&xai, &c, phi, &s), AN_ERR_INVALID_ARG);
    c.kernel_width = 0.25; c.ridge = -1.0;
    CHECK_RESULT(an_xai_lime(&xai, &c, phi, &s), AN_ERR_INVALID_ARG);
    /* the detector's own failures come back: NaN scores, unfitted, bad rows */
    g.m.nan_at_call = g.m.calls + 5;
    CHECK_RESULT(an_xai_shap(&xai, 10, 1, phi, &s), AN_ERR_NUMERIC);
    g.m.base.fitted = 0;
    CHECK_RESULT(an_xai_occlusion(&xai, phi, &s), AN_ERR_NOT_FITTED);
    g.m.base.fitted = 1;
    an_xai_uninit(&xai);
    memcpy(bad, g.x, sizeof bad);
    bad[3] = (float)NAN;   /* outside the window: the detector's input check */
    p = g.p;
    p.x = bad;
    CHECK_OK(an_xai_init(&xai, &p, 10, NULL));
    CHECK_RESULT(an_xai_occlusion(&xai, phi, &s), AN_ERR_INPUT);
    an_xai_uninit(&xai);
    an_xai_uninit(NULL);
#undef BAD_PLAYERS
}

/* Integrated gradients of the quadratic toy: the gradient is linear along
   the straight path, so one midpoint or one trapezoid step is exact, and
   the closed form is a_i + 2 quad b_i (b . m) + the cross terms at the
   path's midpoint m, times x_i - baseline_i. */
static void test_xai_ig_toy(void)
{
    game g;
    float base[28];
    double attr[28], mid[28];
    an_xai_summary s;
    size_t i, rule;
    double bm = 0.0;
    game_make(&g, 12);
    for (i = 0; i < 28; i++) base[i] = g.mean[i % 2];
    for (i = 0; i < 28; i++) mid[i] = 0.5 * ((double)g.x[i] + base[i]);
    for (i = 0; i < 28; i++) bm += g.b[i] * mid[i];
    for (rule = 0; rule < 2; rule++) {
        CHECK_OK(an_xai_integrated_gradients(&g.m.base, g.x, base, 14, 13, 1, (an_xai_rule)rule, attr, &s, NULL));
        CHECK_EQ_SIZE(s.evaluations, 2 + 1 + rule);
        for (i = 0; i < 28; i++) {
            double grad = g.a[i] + 2.0 * g.m.quad * bm * g.b[i];
            if (i == g.m.u) grad += g.m.cross * mid[g.m.v];
            if (i == g.m.v) grad += g.m.cross * mid[g.m.u];
            CHECK_NEAR(attr[i], grad * ((double)g.x[i] - base[i]), 1e-5);
        }
        CHECK_NEAR(s.gap, 0.0, 1e-4);
    }
}

/* Integrated gradients through a trained LSTM autoencoder: the
   completeness gap falls as the steps grow (for both rules), and the
   attributions agree with integrated gradients computed from central
   finite differences of the scores alone (no backward pass). */
static void test_xai_ig_lstm(void)
{
    enum { T = 12, F = 2, N = 400, CELLS = T * F };
    static float train[N * F];
    float x[CELLS], base[CELLS], probe[CELLS], sc[T];
    double attr[CELLS], fd[CELLS], gap[2][3], top = 0.0;
    static const size_t steps[3] = { 4, 16, 64 };
    an_lstm_config c = an_lstm_ae_config_init(T, 8);
    an_detector *d = NULL;
    an_xai_summary s;
    an_rng rng;
    size_t i, k, rule;
    an_rng_seed(&rng, 21, 0);
    for (i = 0; i < N; i++) {
        train[i * F] = (float)sin(0.5 * (double)i) + 0.1f * (float)an_rng_normal(&rng);
        train[i * F + 1] = (float)cos(0.3 * (double)i) + 0.1f * (float)an_rng_normal(&rng);
    }
    c.train.epochs = 3;
    c.train.stride = 2;
    CHECK_OK(an_lstm_ae_create(&c, F, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_fit(d, train, N));
    memcpy(x, train + 100 * F, sizeof x);
    x[(T - 1) * F + 1] += 3.0f;   /* a spike in channel 1 of the scored row */
    for (i = 0; i < CELLS; i++) base[i] = train[(200 + i / F) * F + i % F];   /* a normal window */
    for (rule = 0; rule < 2; rule++)
        for (k = 0; k < 3; k++) {
            CHECK_OK(an_xai_integrated_gradients(d, x, base, T, T - 1, steps[k], (an_xai_rule)rule, attr, &s, NULL));
            CHECK(s.full > s.empty);
            gap[rule][k] = fabs(s.gap) / (s.full - s.empty);
        }
    fprintf(stderr, "integrated gradients, LSTM AE: relative completeness gap midpoint %.2g %.2g %.2g, "
            "trapezoid %.2g %.2g %.2g (4, 16, 64 steps)\n", gap[0][0], gap[0][1], gap[0][2], gap[1][0], gap[1][1],
            gap[1][2]);
    for (rule = 0; rule < 2; rule++) {
        CHECK(gap[rule][1] < gap[rule][0] / 4);   /* about 1 / steps^2: 16 times less */
        CHECK(gap[rule][2] < gap[rule][1] / 4);
        CHECK(gap[rule][2] < 1e-4);
    }
    /* the oracle: the same 64-step midpoint integral, each gradient from
       central differences of the scores (h = 1e-2 in the input's units) */
    memset(fd, 0, sizeof fd);
    for (k = 0; k < 64; k++) {
        double a = ((double)k + 0.5) / 64.0;
        for (i = 0; i < CELLS; i++) {
            double up, down, h = 1e-2;
            size_t j;
            for (j = 0; j < CELLS; j++) probe[j] = (float)(base[j] + a * ((double)x[j] - base[j]));
            probe[i] = (float)(probe[i] + h);
            CHECK_OK(an_detector_score(d, probe, T, sc));
            up = sc[T - 1];
            probe[i] = (float)(probe[i] - 2.0 * h);
            CHECK_OK(an_detector_score(d, probe, T, sc));
            down = sc[T - 1];
            fd[i] += (up - down) / (2.0 * h) / 64.0;
        }
    }
    CHECK_OK(an_xai_integrated_gradients(d, x, base, T, T - 1, 64, AN_XAI_MIDPOINT, attr, &s, NULL));
    for (i = 0; i < CELLS; i++) {
        fd[i] *= (double)x[i] - base[i];
        if (fabs(attr[i]) > top) top = fabs(attr[i]);
    }
    for (i = 0; i < CELLS; i++) CHECK_NEAR(attr[i], fd[i], 2e-2 * top);
    {   /* the spike's cell carries the most */
        size_t best = 0;
        for (i = 1; i < CELLS; i++)
            if (fabs(attr[i]) > fabs(attr[best])) best = i;
        CHECK_EQ_SIZE(best, (T - 1) * F + 1);
    }
    an_detector_destroy(d);
}

/* Integrated gradients against PyTorch autograd (tests/fixtures/ig_torch.h,
   made by gen_ig_torch.py): the same autoencoder (loaded from the file the
   script wrote), series and baseline; each attribution within 1e-6 of the
   largest (float32 against float64: 3.3e-8 measured), the two scores
   within 1e-5, for both rules at 8 and 64 steps. */
static void test_xai_ig_torch(void)
{
    enum { CELLS = IG_TORCH_T * IG_TORCH_F };
    const double *want[2][2] = { { ig_torch_midpoint_8, ig_torch_midpoint_64 },
                                 { ig_torch_trapezoid_8, ig_torch_trapezoid_64 } };
    size_t n_types, i, rule, k;
    const an_detector_vtable *const *types = an_lstm_types(&n_types);
    double attr[CELLS], worst = 0.0;
    an_xai_summary s;
    an_reader r;
    an_detector *d = NULL;
    CHECK_OK(an_model_open(&r, ig_torch_model, sizeof ig_torch_model));
    CHECK_OK(an_detector_load(&r, types, n_types, NULL, &d));
    if (!d) return;
    for (rule = 0; rule < 2; rule++)
        for (k = 0; k < 2; k++) {
            double top = 0.0;
            CHECK_OK(an_xai_integrated_gradients(d, ig_torch_x, ig_torch_base, IG_TORCH_T, IG_TORCH_T - 1,
                                                 ig_torch_steps[k], (an_xai_rule)rule, attr, &s, NULL));
            CHECK_NEAR(s.full, ig_torch_full, 1e-5 * ig_torch_full);
            CHECK_NEAR(s.empty, ig_torch_empty, 1e-5 * ig_torch_full);
            for (i = 0; i < CELLS; i++)
                if (fabs(want[rule][k][i]) > top) top = fabs(want[rule][k][i]);
            for (i = 0; i < CELLS; i++) {
                CHECK_NEAR(attr[i], want[rule][k][i], 1e-6 * top);
                if (fabs(attr[i] - want[rule][k][i]) / top > worst) worst = fabs(attr[i] - want[rule][k][i]) / top;
            }
        }
    fprintf(stderr, "integrated gradients against PyTorch autograd: largest difference %.2g of the largest "
            "attribution\n", worst);
    an_detector_destroy(d);
}

static an_result ig_alloc_job(const an_allocator *a, void *ctx)
{
    game *g = (game *)ctx;
    double attr[28];
    an_xai_summary s;
    return an_xai_integrated_gradients(&g->m.base, g->x, g->x, 14, 13, 4, AN_XAI_TRAPEZOID, attr, &s, a);
}

static void test_xai_ig_errors(void)
{
    game g;
    double attr[28];
    an_xai_summary s;
    size_t bytes;
    void *work;
    an_detector_vtable no_gradient = toy_vt;
    float bad[28];
    game_make(&g, 13);
    CHECK_OK(an_xai_ig_work_size(14, 2, &bytes));
    work = an_malloc(NULL, bytes, AN_ALIGN);
    CHECK_OK(an_xai_integrated_gradients_work(&g.m.base, g.x, g.x, 14, 13, 3, AN_XAI_MIDPOINT, attr, &s, work));
    CHECK_NEAR(s.full, s.empty, 0.0);
    CHECK_NEAR(s.sum, 0.0, 0.0);   /* x = baseline: nothing to attribute */
    CHECK_RESULT(an_xai_integrated_gradients_work(&g.m.base, g.x, g.x, 14, 13, 3, AN_XAI_MIDPOINT, attr, &s,
                                                  (char *)work + 4), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_integrated_gradients_work(&g.m.base, g.x, g.x, 14, 13, 0, AN_XAI_MIDPOINT, attr, &s, work),
                 AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_integrated_gradients_work(&g.m.base, g.x, g.x, 14, 14, 3, AN_XAI_MIDPOINT, attr, &s, work),
                 AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_integrated_gradients_work(&g.m.base, g.x, g.x, 14, 13, 3, (an_xai_rule)2, attr, &s, work),
                 AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_integrated_gradients_work(&g.m.base, NULL, g.x, 14, 13, 3, AN_XAI_MIDPOINT, attr, &s, work),
                 AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_integrated_gradients_work(&g.m.base, g.x, g.x, 14, 13, 3, AN_XAI_MIDPOINT, NULL, &s, work),
                 AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_integrated_gradients(NULL, g.x, g.x, 14, 13, 3, AN_XAI_MIDPOINT, attr, &s, NULL),
                 AN_ERR_INVALID_ARG);
    memcpy(bad, g.x, sizeof bad);
    bad[5] = (float)NAN;
    CHECK_RESULT(an_xai_integrated_gradients_work(&g.m.base, g.x, bad, 14, 13, 3, AN_XAI_MIDPOINT, attr, &s, work),
                 AN_ERR_INPUT);
    g.m.base.fitted = 0;
    CHECK_RESULT(an_xai_integrated_gradients_work(&g.m.base, g.x, g.x, 14, 13, 3, AN_XAI_MIDPOINT, attr, &s, work),
                 AN_ERR_NOT_FITTED);
    g.m.base.fitted = 1;
    no_gradient.gradient = NULL;
    g.m.base.vt = &no_gradient;
    CHECK_RESULT(an_xai_integrated_gradients_work(&g.m.base, g.x, g.x, 14, 13, 3, AN_XAI_MIDPOINT, attr, &s, work),
                 AN_ERR_UNSUPPORTED);
    g.m.base.vt = &toy_vt;
    CHECK_RESULT(an_xai_ig_work_size(0, 2, &bytes), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_xai_ig_work_size(SIZE_MAX / 2, 2, &bytes), AN_ERR_TOO_LARGE);
    an_free(NULL, work, bytes);
    inject_failures("an_xai_integrated_gradients", ig_alloc_job, &g);
}

/* An event over rows start..end peaking at peak, and a reason context over
   x (n, F) with its expected values and channel names. */
static void reason_case(an_event *ev, size_t start, size_t end, size_t peak, an_xai_context *c, size_t n, size_t F,
                        const float *x, const double *expected, const char *const *names)
{
    ev->start = start;
    ev->end = end;
    ev->peak = peak;
    ev->severity = 1.0;
    ev->points = ev->alarms = 1;
    c->n_rows = n;
    c->n_features = F;
    c->x = x;
    c->expected = expected;
    c->names = names;
}

/* Reasons over a command and a stuck sensor: a command column holds its
   value but for its steps (MAD 0 outside), so its sigma is its mean
   absolute deviation (1.2533 times it), not the 1e-12 floor; and a
   channel whose values stop moving over the event is told first, though
   a stuck value sits near its expected one (under a sigma) while the
   command steps inside the event. */
static void test_xai_reasons_command_and_stuck(void)
{
    enum { N = 400, F = 2 };
    static float x[N * F];
    static double expected[N * F];
    const char *names[F] = { "target", "cmd" };
    char text[300];
    size_t i, steps = 0;
    double mean_dev = 0.0;
    an_xai_context c = an_xai_context_init();
    an_xai_reason r;
    an_event ev;
    an_rng rng;
    an_rng_seed(&rng, 9, 0);
    for (i = 0; i < N; i++) {
        int cmd = (i / 50) % 2;
        expected[i * F] = 1.0 + sin(6.2831853 * (double)i / 24.0);
        x[i * F] = (float)(expected[i * F] + 0.1 * an_rng_normal(&rng));
        expected[i * F + 1] = (double)((i >= 1 ? (i - 1) / 50 : 0) % 2);   /* one row late at each step */
        x[i * F + 1] = (float)cmd;
    }
    for (i = 200; i < 230; i++) x[i * F] = x[199 * F];                      /* target stuck for 30 rows */
    reason_case(&ev, 200, 229, 210, &c, N, F, x, expected, names);
    CHECK_OK(an_xai_explain_event(&c, &ev, &r, text, sizeof text, NULL, NULL));
    CHECK_EQ_SIZE(r.channel, 0);
    CHECK(r.kind == AN_XAI_FLATLINE);
    CHECK(strncmp(text, "flatline in target: ", 20) == 0);
    /* the command alone: an event on the step at row 250 */
    for (i = 0; i < N; i++)
        if (i < 250 || i > 250) {
            double d = x[i * F + 1] - expected[i * F + 1];
            steps += d != 0.0;
            mean_dev += fabs(d) / (double)(N - 1);
        }
    ev.start = ev.end = ev.peak = 250;
    CHECK_OK(an_xai_explain_event(&c, &ev, &r, text, sizeof text, NULL, NULL));
    CHECK(steps > 0 && steps < N / 2);                                    /* MAD 0 outside */
    CHECK_EQ_SIZE(r.channel, 1);
    CHECK_NEAR(r.sigmas, r.deviation / (1.2533141373155 * mean_dev), 1e-6 * fabs(r.sigmas));
    CHECK(fabs(r.sigmas) < 1e3);
    if (getenv("XAI_VERBOSE")) fprintf(stderr, "  reason: %s\n", text);
    {   /* the command an input (read, never judged): the target tells the event */
        static const unsigned char judged[F] = { 1, 0 }, none[F] = { 0, 0 };
        c.judged = judged;
        CHECK_OK(an_xai_explain_event(&c, &ev, &r, text, sizeof text, NULL, NULL));
        CHECK_EQ_SIZE(r.channel, 0);
        CHECK(strstr(text, "cmd") == NULL);
        c.judged = none;
        CHECK_RESULT(an_xai_explain_event(&c, &ev, &r, text, sizeof text, NULL, NULL), AN_ERR_INVALID_ARG);
    }
}

/* A collapse (the injector's 13-row moving average of the noise) is a
   variance change, not a flatline: its values still move, a tenth as
   much as outside, and its residuals' MAD is about a quarter of the
   sigma outside.  One channel, five seeds. */
static void test_xai_reason_collapse(void)
{
    enum { N = 600 };
    static float x[N];
    static double expected[N];
    const char *names[1] = { "value" };
    char text[400];
    size_t i, len, seed;
    an_xai_context c = an_xai_context_init();
    an_xai_reason r;
    for (seed = 1; seed <= 5; seed++) {
        an_rng rng;
        an_inject_event e;
        an_event ev;
        an_rng_seed(&rng, seed, 77);
        for (i = 0; i < N; i++) {
            expected[i] = 10.0 + 3.0 * sin(6.2831853 * (double)i / 48.0);
            x[i] = (float)(expected[i] + 0.3 * an_rng_normal(&rng));
        }
        memset(&e, 0, sizeof e);
        e.kind = AN_INJECT_COLLAPSE;
        e.start = 300;
        e.end = 359;
        e.magnitude = 1.0;
        e.scale = 0.3;
        e.sign = 1;
        CHECK_OK(an_inject_apply(x, N, 1, &e, 1, 48, seed, NULL, NULL));
        reason_case(&ev, e.start, e.end, e.start, &c, N, 1, x, expected, names);
        CHECK_OK(an_xai_explain_event(&c, &ev, &r, text, sizeof text, &len, NULL));
        if (r.kind != AN_XAI_VARIANCE_CHANGE) fprintf(stderr, "collapse told as: %s\n", text);
        CHECK(r.kind == AN_XAI_VARIANCE_CHANGE);
        CHECK(strncmp(text, "variance change in value: ", 26) == 0);
    }
}

/* Reasons: each kind the injector makes, in channel 1 of three, is told
   as that kind, in that channel, with its size in sigmas. */
static void test_xai_reasons(void)
{
    enum { N = 600, F = 3 };
    static float x[N * F];
    static double expected[N * F];
    static const struct { an_inject_kind inject; an_xai_deviation told; size_t len; int sign; } kinds[] = {
        { AN_INJECT_SPIKE, AN_XAI_SPIKE, 1, 1 },       { AN_INJECT_DIP, AN_XAI_DIP, 1, -1 },
        { AN_INJECT_SHIFT, AN_XAI_LEVEL_SHIFT, 40, -1 }, { AN_INJECT_VARIANCE, AN_XAI_VARIANCE_CHANGE, 40, 1 },
        { AN_INJECT_FLATLINE, AN_XAI_FLATLINE, 40, 1 }, { AN_INJECT_TREND, AN_XAI_TREND, 40, 1 }
    };
    const char *names[F] = { "cpu", "temp", "fans" };
    char text[400];
    size_t k, i, len, seed, wrong = 0;
    an_xai_context c = an_xai_context_init();
    an_xai_reason r;
    for (seed = 1; seed <= 5; seed++)
        for (k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            an_rng rng;
            an_inject_event e;
            an_event ev;
            an_rng_seed(&rng, seed, k);
            for (i = 0; i < N * F; i++) {
                expected[i] = 10.0 * (double)(i % F + 1) + 3.0 * sin(6.2831853 * (double)(i / F) / 48.0 + (double)(i % F));
                x[i] = (float)(expected[i] + 0.3 * an_rng_normal(&rng));
            }
            memset(&e, 0, sizeof e);
            e.kind = kinds[k].inject;
            e.start = 300;
            e.end = 300 + kinds[k].len - 1;
            e.channel = 1;
            e.magnitude = 8.0;
            e.scale = 0.3;
            e.sign = kinds[k].sign;
            CHECK_OK(an_inject_apply(x, N, F, &e, 1, 48, seed, NULL, NULL));
            reason_case(&ev, e.start, e.end, kinds[k].inject == AN_INJECT_TREND ? e.end : e.start, &c, N, F, x, expected,
                        names);
            c.confidence = 0.875;
            CHECK_OK(an_xai_explain_event(&c, &ev, &r, text, sizeof text, &len, NULL));
            CHECK_EQ_SIZE(len, strlen(text));
            if (r.kind != kinds[k].told || r.channel != 1) {
                if (wrong++ < 5) fprintf(stderr, "injected %s: %s\n", an_inject_kind_name(kinds[k].inject), text);
                continue;
            }
            CHECK(strncmp(text, an_xai_deviation_name(kinds[k].told), strlen(an_xai_deviation_name(r.kind))) == 0);
            CHECK(strstr(text, " in temp: ") != NULL);
            CHECK(strstr(text, "; confidence 0.88") != NULL || strstr(text, "; confidence 0.87") != NULL);
            CHECK_EQ_SIZE(r.n_channels, 1);
            CHECK(r.row >= ev.start && r.row <= ev.end);
            CHECK_NEAR(r.actual, x[r.row * F + 1], 0.0);
            CHECK_NEAR(r.expected, expected[r.row * F + 1], 0.0);
            if (kinds[k].inject == AN_INJECT_SPIKE) {
                CHECK(r.sigmas > 5.0);
                CHECK(strstr(text, "row 300 (1 row)") != NULL);
            }
            if (kinds[k].inject == AN_INJECT_DIP) CHECK(r.sigmas < -5.0);
            if (seed == 1 && k == 2) fprintf(stderr, "  reason: %s\n", text);
        }
    CHECK_EQ_SIZE(wrong, 0);
    {   /* measuring, cutting, stamps, a second channel, no expected values */
        an_event ev;
        const char *stamps[N];
        char small[12];
        size_t full;
        for (i = 0; i < N; i++) stamps[i] = i == 300 ? "2024-01-01 10:00" : "t";
        x[300 * F + 1] += 9.0f;
        x[300 * F + 2] += 9.0f;
        ev.start = ev.end = ev.peak = 300;
        c.stamps = stamps;
        c.confidence = (double)NAN;
        CHECK_OK(an_xai_explain_event(&c, &ev, &r, NULL, 0, &full, NULL));
        CHECK_OK(an_xai_explain_event(&c, &ev, &r, text, sizeof text, &len, NULL));
        CHECK_EQ_SIZE(full, len);
        CHECK(strstr(text, "2024-01-01 10:00 (1 row)") != NULL);
        CHECK(strstr(text, "; also ") != NULL);
        CHECK(strstr(text, "confidence") == NULL);
        CHECK_EQ_SIZE(r.n_channels, 2);
        CHECK_OK(an_xai_explain_event(&c, &ev, &r, small, sizeof small, &len, NULL));
        CHECK_EQ_SIZE(len, full);
        CHECK(strlen(small) == sizeof small - 1 && strncmp(small, text, sizeof small - 1) == 0);
        c.expected = NULL;
        c.names = NULL;
        CHECK_OK(an_xai_explain_event(&c, &ev, &r, text, sizeof text, &len, NULL));
        CHECK(r.kind == AN_XAI_SPIKE && strstr(text, "in channel ") != NULL);
        /* errors */
        ev.end = N;
        CHECK_RESULT(an_xai_explain_event(&c, &ev, &r, text, sizeof text, &len, NULL), AN_ERR_INVALID_ARG);
        ev.end = 300;
        ev.peak = 299;
        CHECK_RESULT(an_xai_explain_event(&c, &ev, &r, text, sizeof text, &len, NULL), AN_ERR_INVALID_ARG);
        ev.peak = 300;
        CHECK_RESULT(an_xai_explain_event(&c, &ev, &r, NULL, 5, &len, NULL), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_xai_explain_event(NULL, &ev, &r, text, sizeof text, &len, NULL), AN_ERR_INVALID_ARG);
        x[5] = (float)NAN;
        CHECK_RESULT(an_xai_explain_event(&c, &ev, &r, text, sizeof text, &len, NULL), AN_ERR_INPUT);
        x[5] = 0.0f;
        {
            counting cnt = { 0, 1, 0, 0 };
            an_allocator a = counting_allocator(&cnt);
            CHECK_RESULT(an_xai_explain_event(&c, &ev, &r, text, sizeof text, &len, &a), AN_ERR_NOMEM);
        }
        CHECK(an_xai_deviation_name(7) == NULL && an_xai_deviation_name(-1) == NULL);
    }
}

/* The attribution band: one cell per row with a value, under each panel,
   the largest |value| the darkest; an infinite value is an input error. */
static void test_attribution_strip(void)
{
    small s;
    an_report r = small_report(&s);
    static double attribution[N_SMALL];
    sink out;
    char why[160];
    size_t i, cells = 0;
    for (i = 0; i < N_SMALL; i++) {
        attribution[i] = i >= 20 && i < 30 ? (i == 25 ? 4.0 : (i % 2 ? -0.5 : 0.5)) : (i == 70 ? (double)NAN : 0.0);
        cells += attribution[i] != 0.0 && attribution[i] == attribution[i];
    }
    r.attribution = attribution;
    CHECK_OK(render(&r, &out));
    CHECK(xml_check(out.data, why, sizeof why));
    CHECK_EQ_SIZE(count_of(out.data, "<g class=\"attribution\">"), 1);
    CHECK_EQ_SIZE(count_of(out.data, "fill-opacity=\"0.9\"/>"), 1);   /* row 25 */
    {
        const char *g = strstr(out.data, "<g class=\"attribution\">"), *end = g ? strstr(g, "</g>") : NULL;
        size_t n = 0;
        const char *q = g;
        while (q && (q = strstr(q + 1, "<rect")) && q < end) n++;
        CHECK_EQ_SIZE(n, cells);
    }
    sink_free(&out);
    for (i = 0; i < N_SMALL; i++) attribution[i] = 0.0;
    CHECK_OK(render(&r, &out));   /* nothing to draw: no band */
    CHECK_EQ_SIZE(count_of(out.data, "class=\"attribution\""), 0);
    sink_free(&out);
    attribution[3] = HUGE_VAL;
    CHECK_RESULT(render(&r, &out), AN_ERR_INPUT);
    sink_free(&out);
}

/* Localization, as a property: a shift or a spike injected into one
   channel of three at the end of 48 rows, the score of its first row by a
   rolling robust z-score (window 24) explained over the last 24 rows (6 segments x
   3 channels, the clean series as the fill): the most attributed cell
   (the last of its segment's equal cells) lies in the injected rows, and the channel with the most attribution is the
   injected one, in at least 18 of 20 seeds, for each explainer. */
static void test_xai_localization(void)
{
    enum { N = 48, F = 3, L = 24, SEEDS = 20, METHODS = 3 };
    static const char *const method[METHODS] = { "shap", "occlusion", "lime" };
    float clean[N * F], x[N * F];
    double phi[6 * F], cells[L * F];
    size_t hits[METHODS] = { 0 }, seed, m;
    an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, 24);
    an_detector *d = NULL;
    static float train[2000 * F];
    an_rng rng;
    size_t i;
    an_rng_seed(&rng, 99, 0);
    for (i = 0; i < 2000 * F; i++)
        train[i] = (float)(sin(0.2 * (double)(i / F) + (double)(i % F)) + 0.2 * an_rng_normal(&rng));
    CHECK_OK(an_robust_create(&rc, F, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_fit(d, train, 2000));
    for (seed = 1; seed <= SEEDS; seed++) {
        size_t channel, len, first, c;
        double size;
        an_xai_players p;
        an_xai xai;
        an_xai_summary s;
        an_rng_seed(&rng, seed, 7);
        for (i = 0; i < N * F; i++)
            clean[i] = (float)(sin(0.2 * (double)(i / F + 3 * seed) + (double)(i % F)) + 0.2 * an_rng_normal(&rng));
        memcpy(x, clean, sizeof x);
        channel = (size_t)an_rng_below(&rng, F);
        len = an_rng_below(&rng, 2) ? 1 : 4 + (size_t)an_rng_below(&rng, 8);   /* a spike or a shift */
        size = (an_rng_below(&rng, 2) ? 1.0 : -1.0) * (3.0 + 2.0 * an_rng_uniform(&rng));   /* 15-25 noise sds, 3-5 cycle amplitudes */
        first = N - len;
        for (i = first; i < N; i++) x[i * F + channel] += (float)size;
        memset(&p, 0, sizeof p);
        p.detector = d;
        p.x = x;
        p.n_rows = N;
        p.start = N - L;
        p.length = L;
        p.target = first;   /* the onset, where a rolling score reacts (later it takes the shift in) */
        p.n_segments = 6;
        p.per_channel = 1;
        p.fill = AN_XAI_FILL_EXPECTED;
        p.fill_values = clean;
        CHECK_OK(an_xai_init(&xai, &p, 256, NULL));
        for (m = 0; m < METHODS; m++) {
            size_t top = 0, top_channel = 0;
            double per_channel[F] = { 0 };
            if (m == 0) CHECK_OK(an_xai_shap(&xai, 256, seed, phi, &s));
            if (m == 1) CHECK_OK(an_xai_occlusion(&xai, phi, &s));
            if (m == 2) {
                an_xai_lime_config lc = an_xai_lime_config_init();
                lc.samples = 256;
                lc.seed = seed;
                CHECK_OK(an_xai_lime(&xai, &lc, phi, &s));
            }
            CHECK_OK(an_xai_cells(&xai, phi, cells));
            for (i = 0; i < L * F; i++) {
                if (cells[i] >= cells[top]) top = i;   /* the last of a segment's equal cells */
                per_channel[i % F] += cells[i];
            }
            for (c = 1; c < F; c++)
                if (per_channel[c] > per_channel[top_channel]) top_channel = c;
            if (N - L + top / F >= first && top % F == channel && top_channel == channel)
                hits[m]++;
        }
        an_xai_uninit(&xai);
    }
    fprintf(stderr, "localization over %d seeds (top cell in the injected rows' segments, top channel right): "
            "shap %zu, occlusion %zu, lime %zu\n", SEEDS, hits[0], hits[1], hits[2]);
    for (m = 0; m < METHODS; m++) {
        if (hits[m] < SEEDS * 9 / 10) fprintf(stderr, "  %s localizes %zu of %d\n", method[m], hits[m], SEEDS);
        CHECK(hits[m] >= SEEDS * 9 / 10);
    }
    an_detector_destroy(d);
}

/* Localization for the cell explainers, the property above for
   importance and integrated gradients: the same injected shifts and
   spikes (one channel of three, at the end of 48 rows), the expectation
   the noiseless sines (not the clean series: the noise stays in every
   other cell).  importance: (x - expected) in the training rows' robust
   scale over the last 24 rows.  IG: through a small LSTM autoencoder
   (window 12, 8 units, fitted on the training rows) of the onset row's
   score, the baseline the expectation over the window's 12 rows, x
   elsewhere.  The top |cell| lies in the injected rows and the channel
   of largest total |attribution| is the injected one, in at least 18 of
   20 seeds each. */
static void test_xai_localization_cells(void)
{
    enum { N = 48, F = 3, L = 24, T = 12, SEEDS = 20 };
    static float train[1200 * F];
    float x[N * F], expected[N * F], base[N * F];
    double cells[N * F], attr[N * F], scale[F];
    size_t hits[2] = { 0 }, seed, i, m;
    an_lstm_config c = an_lstm_ae_config_init(T, 8);
    an_detector *d = NULL;
    an_xai_summary s;
    an_rng rng;
    an_rng_seed(&rng, 99, 0);
    for (i = 0; i < 1200 * F; i++)
        train[i] = (float)(sin(0.2 * (double)(i / F) + (double)(i % F)) + 0.2 * an_rng_normal(&rng));
    CHECK_OK(an_inject_scale(train, 1200, F, NULL, scale));
    c.train.epochs = 3;
    c.train.stride = 2;
    CHECK_OK(an_lstm_ae_create(&c, F, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_fit(d, train, 1200));
    for (seed = 1; seed <= SEEDS; seed++) {
        size_t channel, len, first;
        double size;
        an_rng_seed(&rng, seed, 7);
        for (i = 0; i < N * F; i++) {
            expected[i] = (float)sin(0.2 * (double)(i / F + 3 * seed) + (double)(i % F));
            x[i] = expected[i] + (float)(0.2 * an_rng_normal(&rng));
        }
        channel = (size_t)an_rng_below(&rng, F);
        len = an_rng_below(&rng, 2) ? 1 : 4 + (size_t)an_rng_below(&rng, 8);
        size = (an_rng_below(&rng, 2) ? 1.0 : -1.0) * (3.0 + 2.0 * an_rng_uniform(&rng));
        first = N - len;
        for (i = first; i < N; i++) x[i * F + channel] += (float)size;
        memcpy(base, x, sizeof base);
        for (i = (first + 1 - T) * F; i < (first + 1) * F; i++) base[i] = expected[i];
        CHECK_OK(an_xai_importance(x + (N - L) * F, expected + (N - L) * F, L, F, scale, cells));
        CHECK_OK(an_xai_integrated_gradients(d, x, base, N, first, 64, AN_XAI_MIDPOINT, attr, &s, NULL));
        for (m = 0; m < 2; m++) {
            const double *a = m ? attr + (N - L) * F : cells;   /* both over the last L rows */
            double per[F] = { 0 };
            size_t top = 0, top_channel = 0, k;
            for (i = 0; i < L * F; i++) {
                if (fabs(a[i]) > fabs(a[top])) top = i;
                per[i % F] += fabs(a[i]);
            }
            for (k = 1; k < F; k++)
                if (per[k] > per[top_channel]) top_channel = k;
            if (N - L + top / F >= first && top % F == channel && top_channel == channel) hits[m]++;
        }
    }
    fprintf(stderr, "localization over %d seeds (top cell in the injected rows, top channel right): importance %zu, "
            "integrated gradients %zu\n", SEEDS, hits[0], hits[1]);
    CHECK(hits[0] >= SEEDS * 9 / 10);
    CHECK(hits[1] >= SEEDS * 9 / 10);
    an_detector_destroy(d);
}

int main(void)
{
    RUN(test_well_formed);
    RUN(test_escaping);
    RUN(test_event_positions);
    RUN(test_missing_values);
    RUN(test_odd_inputs);
    RUN(test_downsampling);
    RUN(test_nice_ticks);
    RUN(test_time_ticks);
    RUN(test_time_ticks_random);
    RUN(test_time_labels);
    RUN(test_many_features);
    RUN(test_errors);
    RUN(test_nines);
    RUN(test_random_reports);
    RUN(test_event_from);
    RUN(test_write_failures);
    RUN(test_buffer);
    RUN(test_deterministic);
    RUN(test_wrapping);
    RUN(test_formatting);
    RUN(test_attribution_strip);
    RUN(test_xai_exact_linear);
    RUN(test_xai_shap_vs_exact);
    RUN(test_xai_symmetry_dummy);
    RUN(test_xai_lime_closed_form);
    RUN(test_xai_lime_linear);
    RUN(test_xai_fills);
    RUN(test_xai_memory);
    RUN(test_score_batch);
    RUN(test_score_batch_shared);
    RUN(test_xai_batched);
    RUN(test_xai_importance);
    RUN(test_xai_nearest_fill);
    RUN(test_gradient_batch);
    RUN(test_xai_alloc_failures);
    RUN(test_xai_errors);
    RUN(test_xai_ig_toy);
    RUN(test_xai_ig_lstm);
    RUN(test_xai_ig_torch);
    RUN(test_xai_ig_errors);
    RUN(test_xai_reasons);
    RUN(test_xai_reason_collapse);
    RUN(test_xai_reasons_command_and_stuck);
    RUN(test_xai_duplicates);
    RUN(test_xai_localization);
    RUN(test_xai_localization_cells);
    return test_finish("test_xai");
}

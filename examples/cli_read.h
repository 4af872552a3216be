/* cli_read.h - the anomaly command's readers: CSV tables, the windows of
   NAB's combined_windows.json, and stream's lines.

   Included by examples/anomaly.c and by the fuzz targets in tests/ (after
   the library's implementation).  Nothing here prints or exits: a reader
   returns 0, or -1 with a one-line message in err (never more than
   CLI_ERR_SIZE bytes; a cell it quotes is cut to CLIP_MAX bytes), so a
   fuzzer calls it as the command does. */
#ifndef ANOMALY_CLI_READ_H
#define ANOMALY_CLI_READ_H

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each includer uses some of these functions, not all. */
#if defined(__GNUC__) || defined(__clang__)
#  define CLI_FN static __attribute__((unused))
#else
#  define CLI_FN static
#endif

#define CLI_ERR_SIZE 512
#define MAX_COLS 256
#define CLIP_MAX 40

/* err := the message; returns -1. */
CLI_FN int read_fail(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, CLI_ERR_SIZE, fmt, ap);
    va_end(ap);
    return -1;
}

/* A cell quoted in a message: its first CLIP_MAX bytes, then "..." when
   there is more ("'%.*s%s'", clip_len(s), s, clip_more(s)). */
CLI_FN int clip_len(const char *s)
{
    size_t n = strlen(s);
    return n > CLIP_MAX ? CLIP_MAX : (int)n;
}

CLI_FN const char *clip_more(const char *s)
{
    return strlen(s) > CLIP_MAX ? "..." : "";
}

/* Splits line in place at commas; returns the number of fields.  A field
   in double quotes may hold commas ("" is a quote inside it); the quotes
   and the spaces around a field are stripped. */
CLI_FN size_t split_csv(char *line, char **field, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        char *end, *q;
        while (isspace((unsigned char)*p)) p++;
        q = p;
        if (*p == '"') {                             /* the comma that ends a quoted field follows its last quote */
            for (q = p + 1; *q && !(q[0] == '"' && q[1] != '"'); q += q[0] == '"' ? 2 : 1) {}
            if (*q) q++;
        }
        end = strchr(q, ',');
        if (end) *end = '\0';
        {
            size_t len = strlen(p);
            while (len && isspace((unsigned char)p[len - 1])) p[--len] = '\0';
            if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
                char *r = p + 1, *w = p;             /* unquote in place: "" becomes " */
                p[len - 1] = '\0';
                while (*r) { if (r[0] == '"' && r[1] == '"') r++; *w++ = *r++; }
                *w = '\0';
            }
        }
        field[n++] = p;
        if (!end) break;
        p = end + 1;
    }
    return n;
}

/* Two decimal digits at s, or -1. */
CLI_FN int two_digits(const char *s)
{
    return isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) ? (s[0] - '0') * 10 + (s[1] - '0') : -1;
}

/* ISO 8601 "YYYY-MM-DD[T ]hh:mm[:ss[.fff]][Z|+hh[:mm]|-hh[:mm]]" (or a
   date alone) to Unix seconds; 0 if s is not one. */
CLI_FN int parse_iso8601(const char *s, double *out)
{
    int y, mo, d, h = 0, mi = 0, n = 0;
    double sec = 0.0, offset = 0.0;
    static const int month_days[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    /* NOLINTNEXTLINE(cert-err34-c): at most 4 and 2 digits each cannot overflow; %n checks the field's length */
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] ||
        (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
        return 0;
    s += n;
    if (*s == 'T' || *s == ' ') {
        if ((h = two_digits(s + 1)) < 0 || h > 23 || s[3] != ':' || (mi = two_digits(s + 4)) < 0 || mi > 59) return 0;
        s += 6;
        if (*s == ':') {
            char *end;
            if (!isdigit((unsigned char)s[1])) return 0;
            sec = strtod(s + 1, &end);
            if (sec >= 61.0) return 0;                  /* 60 is a leap second */
            s = end;
        }
        if (*s == 'Z') s++;
        else if (!strcmp(s, " UTC")) s += 4;
        else if (*s == '+' || *s == '-') {
            int oh = two_digits(s + 1), om = 0;
            const char *p = s + 3;
            if (oh < 0) return 0;
            if (*p == ':') p++;
            if (*p && (om = two_digits(p)) < 0) return 0;
            offset = (*s == '+' ? 1.0 : -1.0) * (3600.0 * oh + 60.0 * om);
            s = *p ? p + 2 : p;
        }
    }
    if (*s) return 0;
    *out = 86400.0 * (double)an_days_from_civil(y, mo, d) + 3600.0 * h + 60.0 * mi + sec - offset;
    return 1;
}

CLI_FN int parse_number(const char *s, double *out)
{
    char *end;
    if (!*s) return 0;
    *out = strtod(s, &end);
    return *end == '\0';
}

/* A cell as a float: 1, or 0 for text that is not a finite number and
   -1 for a number past float's range. */
CLI_FN int parse_float(const char *s, float *out)
{
    double v;
    if (!parse_number(s, &v) || !(v == v) || v - v != 0.0) return 0;
    if (fabs(v) > 3.4e38) return -1;
    *out = (float)v;
    return 1;
}

/* "nan", "NaN", "NA", "null" or empty: a missing value. */
CLI_FN int is_missing(const char *s)
{
    return !*s || !strcmp(s, "nan") || !strcmp(s, "NaN") || !strcmp(s, "NA") || !strcmp(s, "null") ||
           !strcmp(s, "NULL") || !strcmp(s, "-");
}

/* Is s a value: a number or a missing cell? */
CLI_FN int is_value(const char *s)
{
    double v;
    return is_missing(s) || parse_number(s, &v);
}

/* The UTF-8 byte order mark some editors put first: skipped. */
CLI_FN size_t bom_length(const char *s, size_t len)
{
    return len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF ? 3 : 0;
}

/* The line (1-based) of text's first NUL byte, 0 without one. */
CLI_FN size_t nul_line(const char *text, size_t len)
{
    const char *nul = (const char *)memchr(text, '\0', len), *p;
    size_t line = 1;
    if (!nul) return 0;
    for (p = text; p < nul; p++) line += *p == '\n';
    return line;
}

/* A header line that holds no comma: say what may be wrong. */
CLI_FN const char *separator_hint(const char *line)
{
    return strchr(line, ';') ? " (the separator is ';'? fields are separated by commas)"
         : strchr(line, '\t') ? " (the separator is a tab? fields are separated by commas)" : "";
}

/* --------------------------------------------------------------------------
   A CSV table: a timestamp or index column, then value columns
   -------------------------------------------------------------------------- */

enum { TIME_INDEX, TIME_UNIX, TIME_ISO };

typedef struct table {
    char *text;                  /* the CSV text; every string below points into it */
    size_t rows, cols;           /* value columns                         */
    char **name;                 /* (cols + 1) header names, [0] the time */
    char **stamp;                /* (rows) the first column as written    */
    char **cell;                 /* (rows, cols) the values as written    */
    double *time;                /* (rows) seconds, or the row index      */
    float *x;                    /* (rows, cols), missing values filled   */
    unsigned char *filled;       /* (rows, cols) 1 where a cell was missing; NULL when none was */
    size_t missing;
    int time_kind;
} table;

CLI_FN void free_table(table *t)
{
    free(t->text); free(t->name); free(t->stamp); free(t->cell); free(t->time); free(t->x); free(t->filled);
    memset(t, 0, sizeof *t);
}

/* p := realloc(p, n * size) unless that overflows or fails (p kept then). */
CLI_FN int grow(void *pp, size_t n, size_t size)
{
    void *q;
    if (size && n > (size_t)-1 / size) return 0;
    if (!(q = realloc(*(void **)pp, n * size != 0 ? n * size : 1))) return 0;
    memcpy(pp, &q, sizeof q);
    return 1;
}

/* Parses the CSV text of len bytes in place (cells point into it; t owns
   it from now on, also after a failure: free_table releases it): a header,
   then rows.  `what` names the source in messages.  0, or -1 with err. */
CLI_FN int table_parse(char *text, size_t len, const char *what, table *t, char *err)
{
    char *line, *next, *field[MAX_COLS + 1];
    size_t nf, i, k, alloc_rows = 0, line_no = 0, nul = nul_line(text, len);
    int iso = 1, num = 1, header = 1;
    memset(t, 0, sizeof *t);
    t->text = text;
    if (nul) return read_fail(err, "%s: line %zu holds a NUL byte (not a text file?)", what, nul);
    for (line = text + bom_length(text, len); line; line = next) {
        size_t n;
        line_no++;
        if ((next = strchr(line, '\n')) != NULL) *next++ = '\0';
        n = strlen(line);
        if (n && line[n - 1] == '\r') line[--n] = '\0';
        if (!n) continue;                                /* blank lines, also before the header */
        nf = split_csv(line, field, MAX_COLS + 1);
        if (nf > MAX_COLS) return read_fail(err, "%s: line %zu has more than %d columns", what, line_no, MAX_COLS);
        if (header) {
            if (nf < 2)
                return read_fail(err, "%s: need a time or index column and at least one value column%s", what,
                                 separator_hint(field[0]));
            t->cols = nf - 1;
            if (!grow(&t->name, nf, sizeof(char *))) return read_fail(err, "%s: out of memory", what);
            for (k = 0; k < nf; k++) t->name[k] = field[k];
            header = 0;
            continue;
        }
        if (t->rows == alloc_rows) {
            alloc_rows = alloc_rows ? 2 * alloc_rows : 1024;
            if (!grow(&t->stamp, alloc_rows, sizeof(char *)) || !grow(&t->time, alloc_rows, sizeof(double)) ||
                !grow(&t->cell, alloc_rows, t->cols * sizeof(char *)) || !grow(&t->x, alloc_rows, t->cols * sizeof(float)))
                return read_fail(err, "%s: out of memory at line %zu", what, line_no);
        }
        if (nf != t->cols + 1)
            return read_fail(err, "%s: line %zu has %zu fields, the header %zu", what, line_no, nf, t->cols + 1);
        t->stamp[t->rows] = field[0];
        for (k = 0; k < t->cols; k++) {
            char *c = field[k + 1];
            int ok;
            t->cell[t->rows * t->cols + k] = c;
            if (is_missing(c)) { t->x[t->rows * t->cols + k] = (float)NAN; t->missing++; continue; }
            if ((ok = parse_float(c, &t->x[t->rows * t->cols + k])) == 0)
                return read_fail(err, "%s: line %zu, column '%.*s%s': '%.*s%s' is not a number", what, line_no,
                                 clip_len(t->name[k + 1]), t->name[k + 1], clip_more(t->name[k + 1]), clip_len(c), c,
                                 clip_more(c));
            if (ok < 0)
                return read_fail(err, "%s: line %zu, column '%.*s%s': %.*s%s is too large for a float", what, line_no,
                                 clip_len(t->name[k + 1]), t->name[k + 1], clip_more(t->name[k + 1]), clip_len(c), c,
                                 clip_more(c));
        }
        {
            double v;
            iso &= parse_iso8601(field[0], &t->time[t->rows]);   /* each kind is checked on every row */
            num &= parse_number(field[0], &v);
        }
        t->rows++;
    }
    if (header) return read_fail(err, "%s: empty file", what);
    if (t->rows == 0) return read_fail(err, "%s: no data rows", what);
    t->time_kind = iso ? TIME_ISO : num ? TIME_UNIX : TIME_INDEX;
    for (i = 0; i < t->rows; i++) {
        if (t->time_kind == TIME_UNIX) t->time[i] = strtod(t->stamp[i], NULL);
        else if (t->time_kind == TIME_INDEX) t->time[i] = (double)i;
    }
    if (t->missing && !(t->filled = (unsigned char *)malloc(t->rows * t->cols)))
        return read_fail(err, "%s: out of memory", what);
    if (t->missing && an_fill_missing(t->x, t->rows, t->cols, NULL, t->filled, NULL) != AN_OK)
        return read_fail(err, "%s: a column has no values at all", what);
    return 0;
}

/* --------------------------------------------------------------------------
   NAB windows
   -------------------------------------------------------------------------- */

/* The windows of one file from NAB's combined_windows.json (`what` names
   it): the value of key "<category>/<file>.csv", an array of [start, end]
   timestamp pairs, as row ranges of t into *out (malloc'ed; NULL and 0
   when the key is absent).  Windows that hold no row of t are left out;
   the rest must come in order, apart, two rows or more each (the scorer's
   rule).  0, or -1 with err. */
CLI_FN int nab_windows_parse(const char *json, const char *what, const char *key, const table *t, an_range **out,
                             size_t *n_out, char *err)
{
    const char *p, *at;
    size_t count = 0, cap = 0, klen = strlen(key);
    *out = NULL;
    *n_out = 0;
    for (at = json; (p = strstr(at, key)) != NULL; at = p + 1)   /* "key" exactly */
        if (p > json && p[-1] == '"' && p[klen] == '"') break;
    if (!p) return 0;
    for (p += klen + 1; isspace((unsigned char)*p) || *p == ':'; p++) {}
    if (*p != '[') return read_fail(err, "%s: the value of \"%s\" is not a list of windows", what, key);
    for (p++; *p;) {
        char a[64], b[64];
        double ta, tb;
        size_t i, first = t->rows, last = 0;
        while (*p && *p != '[' && *p != ']') p++;
        if (*p != '[') break;
        if (sscanf(p, "[ \"%63[^\"]\" , \"%63[^\"]\" ]", a, b) != 2 &&
            sscanf(p, "[%*[ \n\r\t]\"%63[^\"]\",%*[ \n\r\t]\"%63[^\"]\"", a, b) != 2)
            return read_fail(err, "%s: window %zu of \"%s\" is not [\"start\", \"end\"]", what, count + 1, key);
        if (!parse_iso8601(a, &ta) || !parse_iso8601(b, &tb))
            return read_fail(err, "%s: bad timestamp in window %zu of \"%s\"", what, count + 1, key);
        for (i = 0; i < t->rows; i++)
            if (t->time[i] >= ta && t->time[i] <= tb) { if (i < first) first = i; last = i; }
        if (first <= last && first < t->rows) {
            if (count == cap && !grow(out, cap = cap ? 2 * cap : 16, sizeof(an_range)))
                return read_fail(err, "%s: out of memory", what);
            if (last == first)
                return read_fail(err, "%s: window %zu of \"%s\" holds one row; a window needs two or more", what,
                                 count + 1, key);
            if (count && first <= (*out)[count - 1].end)
                return read_fail(err, "%s: window %zu of \"%s\" starts before window %zu ends (out of order or "
                                 "overlapping)", what, count + 1, key, count);
            (*out)[count].start = first;
            (*out)[count].end = last;
            *n_out = ++count;
        }
        if (!(p = strchr(p, ']'))) break;
        p++;
    }
    return 0;
}

/* --------------------------------------------------------------------------
   stream's lines
   -------------------------------------------------------------------------- */

/* What the lines so far have set: the layout (from the first line) and the
   row width (from the model, or the first row). */
typedef struct stream_reader {
    int has_time;                /* -1 until the first line says */
    size_t cols;                 /* 0 until known; the caller may set it (a model's features) */
    size_t line_no;
    int model;                   /* cols are a loaded model's features */
    float last[MAX_COLS];        /* missing cells hold the last value */
    size_t missing;              /* how many cells of the last row were missing */
} stream_reader;

/* cols: a loaded model's features, or 0 (the first row says). */
CLI_FN void stream_reader_init(stream_reader *s, size_t cols)
{
    memset(s, 0, sizeof *s);
    s->has_time = -1;
    s->cols = cols;
    s->model = cols != 0;
}

/* One line of len bytes, without its '\n', parsed in place.  Returns 1
   with a row in row[s->cols] (and *time the time field, or NULL); 0 for a
   line that holds no row (blank, or the header); -1 with err. */
CLI_FN int stream_parse_line(stream_reader *s, char *line, size_t len, float *row, const char **time, char *err)
{
    char *field[MAX_COLS + 1], **value;
    size_t nf, nv, k;
    s->line_no++;
    *time = NULL;
    if (memchr(line, '\0', len)) return read_fail(err, "stdin: line %zu holds a NUL byte", s->line_no);
    if (s->line_no == 1) {
        size_t skip = bom_length(line, len);
        memmove(line, line + skip, len - skip + 1);
        len -= skip;
    }
    if (len && line[len - 1] == '\r') line[--len] = '\0';
    if (!len) return 0;
    nf = split_csv(line, field, MAX_COLS + 1);
    if (nf > MAX_COLS) return read_fail(err, "stdin: line %zu has more than %d values", s->line_no, MAX_COLS);
    if (s->has_time < 0) {                           /* the first line: values, a time and values, or a header */
        int rest = 1;
        for (k = 1; k < nf; k++) rest &= is_value(field[k]);
        if (is_value(field[0]) && rest) s->has_time = 0;
        else if (nf >= 2 && rest) s->has_time = 1;
        else { s->has_time = nf >= 2; return 0; }
    }
    value = field + s->has_time;
    nv = nf - (size_t)s->has_time;
    if (nv == 0) return read_fail(err, "stdin: line %zu has a time and no values", s->line_no);
    if (!s->cols) s->cols = nv;
    if (nv != s->cols)
        return read_fail(err, "stdin: line %zu has %zu value%s, expected %zu%s", s->line_no, nv, nv == 1 ? "" : "s",
                         s->cols, s->model ? ", the model's features" : "");
    for (s->missing = 0, k = 0; k < nv; k++) {
        if (is_missing(value[k])) { row[k] = s->last[k]; s->missing++; continue; }   /* no future to interpolate with */
        if (parse_float(value[k], &row[k]) != 1)
            return read_fail(err, "stdin: line %zu: '%.*s%s' is not a number", s->line_no, clip_len(value[k]), value[k],
                             clip_more(value[k]));
        s->last[k] = row[k];
    }
    if (s->has_time) *time = field[0];
    return 1;
}

#endif

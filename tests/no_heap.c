/* no_heap.c - linked into examples/stream_fixed.c by `make test` with
   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free: any heap
   call from the program's own objects (the library included) aborts it.
   (Calls from inside the C library itself are not redirected.) */
#include <stdlib.h>
#include <stdio.h>

static void heap_used(const char *what)
{
    fprintf(stderr, "stream_fixed called %s: the heap was used\n", what);
    abort();
}

void *__wrap_malloc(size_t size) { (void)size; heap_used("malloc"); return NULL; }
void *__wrap_calloc(size_t n, size_t size) { (void)n; (void)size; heap_used("calloc"); return NULL; }
void *__wrap_realloc(void *p, size_t size) { (void)p; (void)size; heap_used("realloc"); return NULL; }
void __wrap_free(void *p) { if (p) heap_used("free"); }

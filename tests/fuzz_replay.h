/* fuzz_replay.h - the standalone main of a fuzz target: without libFuzzer
   (-DFUZZ_STANDALONE) the target runs every file named on the command
   line, and every file in a folder named there, through
   LLVMFuzzerTestOneInput, so `make test` replays the seed corpora under
   the sanitizers of the build.  Prints "<name>: N passed, 0 failed". */
#ifndef ANOMALY_FUZZ_REPLAY_H
#define ANOMALY_FUZZ_REPLAY_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* 1 when the file at path ran, 0 when it could not be read. */
static int fuzz_replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL, *more;
    size_t size = 0, cap = 0, got;
    if (!f) { fprintf(stderr, "cannot read %s\n", path); return 0; }
    do {
        if (size == cap) {
            if (!(more = (unsigned char *)realloc(data, cap = cap ? 2 * cap : 4096))) break;
            data = more;
        }
        size += got = fread(data + size, 1, cap - size, f);
    } while (got > 0);
    fclose(f);
    LLVMFuzzerTestOneInput(data ? data : (const unsigned char *)"", size);
    free(data);
    return 1;
}

static int fuzz_replay(const char *name, int argc, char **argv)
{
    int i, runs = 0;
    for (i = 1; i < argc; i++) {
        DIR *dir = opendir(argv[i]);
        struct dirent *e;
        if (!dir) { runs += fuzz_replay_file(argv[i]); continue; }
        while ((e = readdir(dir)) != NULL) {
            char path[1024];
            if (e->d_name[0] == '.') continue;
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            runs += fuzz_replay_file(path);
        }
        closedir(dir);
    }
    printf("%s: %d passed, 0 failed (inputs run without a crash)\n", name, runs);
    return runs > 0 ? 0 : 1;
}

#endif

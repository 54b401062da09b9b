/* The YAML floor of `make bench`: libyaml parses and re-emits every *.yaml file under a folder (event by event, into
 * memory), which is the least work any tool that reads and writes those files as YAML must do.
 * Build: cc -O2 -o yaml_floor yaml_floor.c -lyaml. Usage: yaml_floor FOLDER (prints files and bytes emitted). */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static long files, emitted;
static unsigned char *input;
static size_t capacity;

static int sink(void *data, unsigned char *buffer, size_t size) { (void)data; (void)buffer; emitted += (long)size; return 1; }

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)ftw;
    size_t n = strlen(path);
    if (type != FTW_F || n < 5 || strcmp(path + n - 5, ".yaml") != 0) return 0;
    if ((size_t)st->st_size > capacity) { capacity = (size_t)st->st_size * 2; input = realloc(input, capacity); }
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    size_t size = fread(input, 1, (size_t)st->st_size, f);
    fclose(f);
    yaml_parser_t parser;
    yaml_emitter_t emitter;
    yaml_event_t event;
    yaml_parser_initialize(&parser);
    yaml_emitter_initialize(&emitter);
    yaml_parser_set_input_string(&parser, input, size);
    yaml_emitter_set_output(&emitter, sink, NULL);
    for (int done = 0; !done;) {
        if (!yaml_parser_parse(&parser, &event)) { fprintf(stderr, "%s: parse error\n", path); return 1; }
        done = event.type == YAML_STREAM_END_EVENT;
        if (!yaml_emitter_emit(&emitter, &event)) { fprintf(stderr, "%s: emit error\n", path); return 1; }
    }
    yaml_parser_delete(&parser);
    yaml_emitter_delete(&emitter);
    files++;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: yaml_floor FOLDER\n"); return 2; }
    if (nftw(argv[1], visit, 64, FTW_PHYS) != 0) return 1;
    printf("%ld files, %ld bytes emitted\n", files, emitted);
    return 0;
}

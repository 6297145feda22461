/* libFuzzer target: the glyph readers of the rendered sets — GNU Unifont .hex and Hershey .jhf
 * (text formats; outline fonts go through FreeType, fuzzed upstream by OSS-Fuzz). */
#include <ebood/ebood.h>

#include "data/render_impl.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size, ".txt");
    eb__unifont *u = NULL;
    if (eb__unifont_read(path, &u, NULL) == EB_OK) {
        for (uint32_t cp = 0x20; cp < 0x80; cp++)
            if (eb__unifont_has(u, cp)) {
                eb__canvas c = {0};
                if (eb__unifont_glyph(u, cp, 2, &c, NULL) == EB_OK) eb__canvas_free(&c);
            }
        eb__unifont_free(u);
    }
    eb__hershey_font *h = NULL;
    if (eb__hershey_read(path, &h, NULL) == EB_OK) {
        for (int i = 0; i < eb__hershey_count(h) && i < 16; i++) {
            eb__canvas c = {0};
            if (eb__hershey_glyph(h, i, 1.0, 1.0, 0.0, NULL, &c, NULL) == EB_OK) eb__canvas_free(&c);
        }
        eb__hershey_free(h);
    }
    return 0;
}

/* A minimal XML well-formedness check for the SVG and HTML the tests read (criterion; tests only). */
#ifndef EBOOD_XML_CHECK_H
#define EBOOD_XML_CHECK_H

#include <criterion/criterion.h>
#include <string.h>

/* From the first <svg: tags nest and close, attributes are quoted, one root element. */
static inline void check_xml(const char *s) {
    const char *stack[64];
    size_t stack_len[64];
    int depth = 0, roots = 0;
    const char *p = strstr(s, "<svg");
    cr_assert_not_null(p);
    while ((p = strchr(p, '<'))) {
        const char *end = strchr(p, '>');
        cr_assert_not_null(end, "unclosed tag");
        int quotes = 0;
        for (const char *q = p; q < end; q++) quotes += *q == '"';
        cr_assert(quotes % 2 == 0, "unbalanced quotes in %.40s", p);
        if (p[1] == '/') {
            cr_assert(depth > 0, "closing tag without opening");
            depth--;
            cr_assert(strncmp(p + 2, stack[depth], stack_len[depth]) == 0, "mismatched </%.*s>",
                      (int)stack_len[depth], stack[depth]);
        } else if (end[-1] != '/') {
            cr_assert(depth < 64);
            if (depth == 0) roots++;
            stack[depth] = p + 1;
            stack_len[depth] = strcspn(p + 1, " >");
            depth++;
        } else if (depth == 0) {
            roots++;
        }
        p = end + 1;
    }
    cr_assert_eq(depth, 0, "unclosed elements");
    cr_assert_eq(roots, 1, "one root element");
}

#endif

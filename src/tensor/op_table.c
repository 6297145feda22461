/* The op table: names, arities and kernel tables generated from EB_OP_LIST (include/ebood/tensor.h). */
#include "tensor/graph_impl.h"

typedef void (*eb_kernel_fn)(eb_tensor *out);

static const char *const op_names[] = {
#define X(NAME, name, arity) #name,
    EB_OP_LIST(X)
#undef X
};
static const int op_arity[] = {
#define X(NAME, name, arity) arity,
    EB_OP_LIST(X)
#undef X
};
static const eb_kernel_fn forward_table[] = {
#define X(NAME, name, arity) eb__forward_##name,
    EB_OP_LIST(X)
#undef X
};
static const eb_kernel_fn backward_table[] = {
#define X(NAME, name, arity) eb__backward_##name,
    EB_OP_LIST(X)
#undef X
};

_Static_assert(sizeof op_names / sizeof op_names[0] == EB_OP_COUNT, "op table out of sync");
_Static_assert(sizeof backward_table / sizeof backward_table[0] == EB_OP_COUNT, "op table out of sync");

const char *eb_op_name(eb_op op) { return (op >= 0 && op < EB_OP_COUNT) ? op_names[op] : "?"; }
int eb_op_arity(eb_op op) { return (op >= 0 && op < EB_OP_COUNT) ? op_arity[op] : -1; }

/* A node without data was recorded by a deferred graph: eb_graph_run (graph_plan.c) computes it later. */
void eb__forward(eb_tensor *out) {
    if (out->data) forward_table[out->op](out);
}

void eb__backward(eb_tensor *out) { backward_table[out->op](out); }

/* The oneDNN conv2d backend and the backend choice (src/tensor/conv_dnnl.c). Not installed.
 *
 * eb__conv2d_select picks the backend of a new conv2d node: EBOOD_CONV=ref forces the im2col
 * reference, EBOOD_CONV=dnnl forces oneDNN, unset (or empty) means oneDNN when the library was built
 * with it (EB_HAVE_DNNL) and the reference otherwise. It also prepares the oneDNN primitives of the
 * geometry, so a geometry oneDNN cannot handle (or an allocation failure) falls back to the
 * reference at build time, when the node can still get the reference's workspace.
 *
 * Threads: each thread that runs oneDNN convolutions gets its own engine, stream, primitive cache
 * (EB__DNNL_CACHE_SIZE geometries, least recently used replaced first) and scratch buffer, freed when the
 * thread exits (or by eb__conv2d_dnnl_release). A graph belongs to one thread at a time (as
 * everywhere in ebood); two threads never share a cache, so nothing is locked. oneDNN runs on the
 * calling thread's OpenMP team: omp_get_max_threads() (eb_threads_set) is part of the cache key,
 * because oneDNN plans its work split when a primitive is created. */
#ifndef EBOOD_CONV_DNNL_IMPL_H
#define EBOOD_CONV_DNNL_IMPL_H

#include "tensor/conv_impl.h"

#include <stdbool.h>

/* Geometries whose primitives each thread keeps (ResNet-18 has 11 distinct conv geometries per batch
 * size, WRN-40-2 10; a smaller last batch, or eval at another batch size, adds as many again). An entry
 * holds the forward and, once a backward ran, the backward primitives (≈ 18 KB of descriptors plus
 * oneDNN's objects; the JIT code itself sits in oneDNN's global primitive cache). */
#define EB__DNNL_CACHE_SIZE 48

/* The backend for a new node of geometry s (s->group is not read), or NULL when EBOOD_CONV holds
 * something other than "", "ref" or "dnnl", or asks for "dnnl" in a build without oneDNN; then
 * `why` receives one line such as "EBOOD_CONV: unknown value 'x' (expected ref or dnnl)". */
const eb__conv2d_backend *eb__conv2d_select(const eb__conv2d_geom *s, char *why, size_t why_size);

/* True when this build has the oneDNN backend. */
bool eb__conv2d_dnnl_available(void);

/* The oneDNN backend; NULL in a build without oneDNN. Its workspace is 0 bytes: the
 * primitives' blocked copies of the tensors live in the thread's scratch buffer (one buffer reused by
 * every node, sized by the largest geometry), not in the graph arena. forward/backward look their
 * geometry up in the thread's cache (creating the primitives on a miss); if that fails (out of memory)
 * they compute with the reference on a malloc'd workspace (the backward only what oneDNN did not finish),
 * and if even that fails they write NaN into y (forward) or add NaN to the unfinished gradients, so the
 * failure shows up as a non-finite loss instead of silently wrong numbers. */
const eb__conv2d_backend *eb__conv2d_dnnl(void);

/* Prepares the forward primitives of geometry s (with a bias when has_bias) in the calling thread's
 * cache and grows its scratch buffer; false if oneDNN cannot (or without oneDNN). */
bool eb__conv2d_dnnl_prepare(const eb__conv2d_geom *s, bool has_bias);

/* Name of the oneDNN implementation chosen for s's forward / backward-data / backward-weights
 * primitive (e.g. "jit:avx2"), "" without oneDNN or on failure; for benchmarks and diagnostics. */
const char *eb__conv2d_dnnl_impl(const eb__conv2d_geom *s, bool has_bias, int which);

/* Frees the calling thread's engine, stream, cache and scratch (they come back on the next use). */
void eb__conv2d_dnnl_release(void);

#endif

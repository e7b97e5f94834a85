/* The program runner of a standalone C export (codegen/c/export.py): the C
 * counterpart of the runner that Python uses (vm/st_vm.c), with no Python.
 *
 * A program is a list of instructions over numbered slots, one slot per
 * variable of the compiled graph. An instruction calls a node entry
 * (st_node.h) on the tensors in its input slots; the entry obtains its outputs
 * through the callbacks below: a new malloc'ed array, an input's memory
 * reused (a node allowed to overwrite it), or a view of an input. Memory is
 * reference counted (a view keeps its base alive), and after each instruction
 * the slots no later instruction reads are released, so intermediates live no
 * longer than in the Python program. An entry that declines a call
 * (ST_FALLBACK) has no reference implementation to fall back on here: the call
 * fails with ST_X_ERR_DECLINED.
 *
 * The generated file defines, before including this one, ST_EXPORT_ARRAY: the
 * array type of its header, a struct with the members
 *     void *data; int64_t ndim; int64_t shape[];   (C order, contiguous)
 * and after it, the program tables (st_x_program) and the public functions,
 * which call st_x_call and st_x_shapes. All state of a call lives in one
 * allocation of its own, so calls may run concurrently.
 */
#ifndef SYMTHEANO_EXPORT_H
#define SYMTHEANO_EXPORT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "st_node.h"

#ifndef ST_EXPORT_ARRAY
#error "define ST_EXPORT_ARRAY (the array type of the generated header) before st_export.h"
#endif

#define ST_X_OK 0
#define ST_X_ERR_INPUT 1     /* an input's ndim, size or data pointer is wrong */
#define ST_X_ERR_OUTPUT 2    /* a caller's output buffer has another shape */
#define ST_X_ERR_DECLINED 3  /* a node declined the call (sizes that do not fit, ...) */
#define ST_X_ERR_MEMORY 4    /* malloc failed, or a size does not fit in memory */
#define ST_X_ERR_INTERNAL 5  /* an entry broke the node ABI (a bug: please report) */

typedef void (*st_x_fn)(void);

/* params[at] of an instruction is the address of function fn (a kernel that the
 * entry calls, e.g. the elementwise kernels of a PaddedSum): filled per call,
 * since a function's address is no integer constant in C. */
typedef struct {
    int32_t at;
    st_x_fn fn;
} st_x_reloc;

typedef struct {
    st_node_fn entry;
    const int64_t *params;
    int32_t n_params;
    const st_x_reloc *relocs;
    int32_t n_relocs;
    const int32_t *in, *out, *release;   /* slots read, written, released after */
    int32_t n_in, n_out, n_release;
    uint64_t need;                       /* bit k: output k depends on this node */
} st_x_instr;

/* an input or output of the program */
typedef struct {
    int32_t slot;
    int32_t copy;            /* an input the program overwrites: it works on a copy */
    int64_t ndim;
    const int64_t *shape;    /* static sizes, -1: any */
} st_x_io;

typedef struct {
    int32_t slot;
    int64_t ndim;
    const int64_t *shape;
    const void *data;        /* C order */
} st_x_const;

typedef struct {
    int32_t n_slots, n_in, n_out, n_instr, n_const, max_io, max_params;
    const int64_t *itemsize, *ndim;      /* per slot */
    const st_x_io *inputs, *outputs;
    const st_x_instr *instr;
    const st_x_const *consts;
} st_x_program;

typedef struct {
    st_tensor t;
    int32_t mem;             /* the slot whose allocation holds t's memory; -1: not ours */
    int32_t filled;
} st_x_slot;

typedef struct {
    char *base;              /* a block from malloc, NULL once freed or handed over */
    int64_t refs;            /* slots describing memory inside it */
} st_x_mem;

typedef struct {
    const st_x_program *p;
    void *block;             /* the one allocation of the call's state */
    st_x_slot *slots;
    st_x_mem *mems;          /* per slot: what its allocation holds */
    st_tensor *scratch;      /* an instruction's input and output descriptors */
    int64_t *params;         /* an instruction's params with its relocations */
    int status;
} st_x_state;

typedef struct {
    st_ctx base;             /* first: entries see only this */
    st_x_state *s;
    const st_x_instr *ins;
} st_x_ctx;

static const char *st_x_message(int code)
{
    switch (code) {
    case ST_X_OK: return "no error";
    case ST_X_ERR_INPUT: return "an input has the wrong number of dimensions, a negative or "
                                "wrong static size, or no data";
    case ST_X_ERR_OUTPUT: return "a caller-provided output buffer has another shape than the "
                                 "result (its shape now holds the result's)";
    case ST_X_ERR_DECLINED: return "a node declined these inputs: sizes that do not fit "
                                   "together, an index out of range, or a case only the "
                                   "Python function handles (such as an empty reduction)";
    case ST_X_ERR_MEMORY: return "out of memory";
    case ST_X_ERR_INTERNAL: return "internal error: a node broke the node ABI";
    default: return "unknown error code";
    }
}

static int st_x_fail(st_x_state *s, int status)
{
    if (s->status == ST_X_OK) s->status = status;
    return -1;
}

/* C-order strides of t (ndim and shape set) for elements of `itemsize` bytes */
static void st_x_strides(st_tensor *t, int64_t itemsize)
{
    int64_t step = itemsize;
    for (int64_t d = t->ndim - 1; d >= 0; d--) {
        t->strides[d] = step;
        step *= t->shape[d] > 0 ? t->shape[d] : 1;
    }
}

/* the bytes of `ndim` sizes of `itemsize`-byte elements into *bytes; 0 when they
 * do not fit */
static int st_x_bytes(int64_t ndim, const int64_t *shape, int64_t itemsize, int64_t *bytes)
{
    int64_t n = itemsize, d;
    for (d = 0; d < ndim; d++)
        if (shape[d] == 0) n = 0;
    for (d = 0; d < ndim && n > 0; d++) {
        if (shape[d] < 0 || n > INT64_MAX / shape[d]) return 0;
        n *= shape[d];
    }
    *bytes = n;
    return 1;
}

static void st_x_release(st_x_state *s, int32_t slot)
{
    st_x_slot *v = &s->slots[slot];
    if (!v->filled) return;
    v->filled = 0;
    if (v->mem >= 0 && --s->mems[v->mem].refs == 0) {
        free(s->mems[v->mem].base);
        s->mems[v->mem].base = NULL;
    }
}

/* slot `slot` now describes t, in memory of allocation `mem` (-1: not ours) */
static void st_x_fill(st_x_state *s, int32_t slot, const st_tensor *t, int32_t mem)
{
    st_x_slot *v = &s->slots[slot];
    v->t = *t;
    v->mem = mem;
    v->filled = 1;
    if (mem >= 0) s->mems[mem].refs++;
}

/* -- the callbacks of st_ctx ---------------------------------------------------------- */

static int st_x_alloc(st_ctx *ctx, int64_t k, int64_t ndim, const int64_t *shape, st_tensor *out)
{
    st_x_ctx *c = (st_x_ctx *)ctx;
    st_x_state *s = c->s;
    if (k < 0 || k >= c->ins->n_out) return st_x_fail(s, ST_X_ERR_INTERNAL);
    const int32_t slot = c->ins->out[k];
    if (ndim != s->p->ndim[slot] || ndim > ST_MAX_DIMS) return st_x_fail(s, ST_X_ERR_INTERNAL);
    int64_t bytes;
    if (!st_x_bytes(ndim, shape, s->p->itemsize[slot], &bytes))
        return st_x_fail(s, ST_X_ERR_MEMORY);
    if ((uint64_t)bytes > (uint64_t)SIZE_MAX) return st_x_fail(s, ST_X_ERR_MEMORY);
    st_x_release(s, slot);
    if (s->mems[slot].base != NULL) return st_x_fail(s, ST_X_ERR_INTERNAL);
    char *base = malloc(bytes > 0 ? (size_t)bytes : 1);
    if (base == NULL) return st_x_fail(s, ST_X_ERR_MEMORY);
    st_tensor t;
    t.data = base;
    t.ndim = ndim;
    for (int64_t d = 0; d < ndim; d++) t.shape[d] = shape[d];
    st_x_strides(&t, s->p->itemsize[slot]);
    s->mems[slot].base = base;
    s->mems[slot].refs = 0;
    st_x_fill(s, slot, &t, slot);
    if (out != NULL) *out = t;
    return 0;
}

static int st_x_reuse(st_ctx *ctx, int64_t k, int64_t j, st_tensor *out)
{
    st_x_ctx *c = (st_x_ctx *)ctx;
    st_x_state *s = c->s;
    if (k < 0 || k >= c->ins->n_out || j < 0 || j >= c->ins->n_in)
        return st_x_fail(s, ST_X_ERR_INTERNAL);
    const st_x_slot *src = &s->slots[c->ins->in[j]];
    const int32_t slot = c->ins->out[k];
    /* An input of the caller's or a constant may come back as itself (SpecifyShape);
     * only nodes that overwrite their input write into it, and the inplace rewrites
     * give those only intermediates (and copies of inputs, st_x_io.copy). */
    if (!src->filled || src->t.ndim != s->p->ndim[slot])
        return st_x_fail(s, ST_X_ERR_INTERNAL);
    const st_tensor t = src->t;
    const int32_t mem = src->mem;
    st_x_release(s, slot);
    st_x_fill(s, slot, &t, mem);
    if (out != NULL) *out = t;
    return 0;
}

static int st_x_view(st_ctx *ctx, int64_t k, int64_t j, const st_tensor *view)
{
    st_x_ctx *c = (st_x_ctx *)ctx;
    st_x_state *s = c->s;
    if (k < 0 || k >= c->ins->n_out || j < 0 || j >= c->ins->n_in)
        return st_x_fail(s, ST_X_ERR_INTERNAL);
    const st_x_slot *src = &s->slots[c->ins->in[j]];
    const int32_t slot = c->ins->out[k];
    if (!src->filled || view->ndim != s->p->ndim[slot]) return st_x_fail(s, ST_X_ERR_INTERNAL);
    const int32_t mem = src->mem;
    st_x_release(s, slot);
    st_x_fill(s, slot, view, mem);
    return 0;
}

/* -- a call --------------------------------------------------------------------------- */

/* The call's state, the constants and the inputs in their slots. `need_data`: 0
 * when the program reads only the inputs' shapes (their data may be NULL). */
static int st_x_start(st_x_state *s, const st_x_program *p, const ST_EXPORT_ARRAY *in,
                      int need_data)
{
    int32_t k;
    int64_t d;
    memset(s, 0, sizeof *s);
    s->p = p;
    const size_t n = (size_t)p->n_slots;
    s->block = calloc(1, n * sizeof(st_x_slot) + n * sizeof(st_x_mem) +
                         (size_t)(p->max_io + 1) * sizeof(st_tensor) +
                         (size_t)(p->max_params + 1) * sizeof(int64_t));
    if (s->block == NULL) return ST_X_ERR_MEMORY;
    s->slots = (st_x_slot *)s->block;
    s->scratch = (st_tensor *)(s->slots + n);
    s->mems = (st_x_mem *)(s->scratch + p->max_io + 1);
    s->params = (int64_t *)(s->mems + n);
    for (k = 0; k < p->n_const; k++) {
        const st_x_const *c = &p->consts[k];
        st_tensor t;
        t.data = (char *)c->data;
        t.ndim = c->ndim;
        for (d = 0; d < c->ndim; d++) t.shape[d] = c->shape[d];
        st_x_strides(&t, p->itemsize[c->slot]);
        st_x_fill(s, c->slot, &t, -1);
    }
    if (p->n_in > 0 && in == NULL) return ST_X_ERR_INPUT;
    for (k = 0; k < p->n_in; k++) {
        const st_x_io *io = &p->inputs[k];
        const int64_t itemsize = p->itemsize[io->slot];
        int64_t bytes;
        st_tensor t;
        if (in[k].ndim != io->ndim) return ST_X_ERR_INPUT;
        for (d = 0; d < io->ndim; d++) {
            if (in[k].shape[d] < 0 || (io->shape[d] >= 0 && in[k].shape[d] != io->shape[d]))
                return ST_X_ERR_INPUT;
            t.shape[d] = in[k].shape[d];
        }
        if (!st_x_bytes(io->ndim, t.shape, itemsize, &bytes)) return ST_X_ERR_INPUT;
        if (need_data && bytes > 0 && in[k].data == NULL) return ST_X_ERR_INPUT;
        t.data = (char *)in[k].data;
        t.ndim = io->ndim;
        st_x_strides(&t, itemsize);
        if (!io->copy) {
            st_x_fill(s, io->slot, &t, -1);
            continue;
        }
        if ((uint64_t)bytes > (uint64_t)SIZE_MAX) return ST_X_ERR_MEMORY;
        s->mems[io->slot].base = malloc(bytes > 0 ? (size_t)bytes : 1);
        if (s->mems[io->slot].base == NULL) return ST_X_ERR_MEMORY;
        if (bytes > 0) memcpy(s->mems[io->slot].base, t.data, (size_t)bytes);
        t.data = s->mems[io->slot].base;
        st_x_fill(s, io->slot, &t, io->slot);
    }
    return ST_X_OK;
}

static int st_x_step(st_x_state *s, const st_x_instr *ins)
{
    st_tensor *in = s->scratch, *out = s->scratch + ins->n_in;
    const int64_t *params = ins->params;
    int32_t j;
    for (j = 0; j < ins->n_in; j++) {
        if (!s->slots[ins->in[j]].filled) return ST_X_ERR_INTERNAL;
        in[j] = s->slots[ins->in[j]].t;
    }
    if (ins->n_relocs > 0) {
        memcpy(s->params, ins->params, (size_t)ins->n_params * sizeof(int64_t));
        for (j = 0; j < ins->n_relocs; j++)
            s->params[ins->relocs[j].at] = (int64_t)(intptr_t)ins->relocs[j].fn;
        params = s->params;
    }
    st_x_ctx c = {{st_x_alloc, st_x_reuse, st_x_view, params, ins->n_params}, s, ins};
    const int rc = ins->entry(&c.base, in, ins->n_in, out);
    if (rc == ST_OK) {
        for (j = 0; j < ins->n_out; j++)
            if (!s->slots[ins->out[j]].filled) return ST_X_ERR_INTERNAL;
        return ST_X_OK;
    }
    if (rc == ST_FALLBACK && s->status == ST_X_OK) return ST_X_ERR_DECLINED;
    return s->status != ST_X_OK ? s->status : ST_X_ERR_INTERNAL;
}

/* Run the instructions some output in `wanted` needs, releasing slots as they go. */
static int st_x_execute(st_x_state *s, uint64_t wanted)
{
    for (int32_t i = 0; i < s->p->n_instr; i++) {
        const st_x_instr *ins = &s->p->instr[i];
        if (ins->need & wanted) {
            const int rc = st_x_step(s, ins);
            if (rc != ST_X_OK) return rc;
        }
        for (int32_t r = 0; r < ins->n_release; r++) st_x_release(s, ins->release[r]);
    }
    return ST_X_OK;
}

/* Copy t's elements, in C order, to the contiguous `dst`. */
static void st_x_copy(const st_tensor *t, char *dst, int64_t itemsize)
{
    int64_t idx[ST_MAX_DIMS], bytes, d;
    st_tensor c = *t;
    st_x_strides(&c, itemsize);
    if (!st_x_bytes(t->ndim, t->shape, itemsize, &bytes) || bytes == 0) return;
    int contiguous = 1;
    for (d = 0; d < t->ndim; d++)
        contiguous &= t->shape[d] == 1 || t->strides[d] == c.strides[d];
    if (contiguous) {
        memcpy(dst, t->data, (size_t)bytes);
        return;
    }
    for (d = 0; d < t->ndim; d++) idx[d] = 0;
    const char *src = t->data;
    for (int64_t done = 0; done < bytes; done += itemsize, dst += itemsize) {
        memcpy(dst, src, (size_t)itemsize);
        for (d = t->ndim - 1; d >= 0; d--) {   /* the next index, in C order */
            src += t->strides[d];
            if (++idx[d] < t->shape[d]) break;
            src -= t->strides[d] * t->shape[d];
            idx[d] = 0;
        }
    }
}

/* The wanted outputs into `out`: copied into the caller's buffers (data set),
 * else handed over (an array only this output holds, contiguous from the start
 * of its block) or copied into a new block from malloc. Nothing is written
 * unless every caller buffer has its result's shape; on an error nothing stays
 * allocated. */
static int st_x_deliver(st_x_state *s, ST_EXPORT_ARRAY *out, uint64_t wanted)
{
    const st_x_program *p = s->p;
    uint64_t given = 0;
    int32_t k;
    int64_t d;
    int wrong = 0;
    for (k = 0; k < p->n_out; k++) {
        if (!((wanted >> k) & 1)) continue;
        const st_x_slot *v = &s->slots[p->outputs[k].slot];
        if (!v->filled) return ST_X_ERR_INTERNAL;
        if (out[k].data == NULL) continue;
        int same = out[k].ndim == v->t.ndim;
        for (d = 0; same && d < v->t.ndim; d++) same = out[k].shape[d] == v->t.shape[d];
        if (same) continue;
        out[k].ndim = v->t.ndim;
        for (d = 0; d < v->t.ndim; d++) out[k].shape[d] = v->t.shape[d];
        wrong = 1;
    }
    if (wrong) return ST_X_ERR_OUTPUT;
    for (k = 0; k < p->n_out; k++) {
        if (!((wanted >> k) & 1)) continue;
        st_x_slot *v = &s->slots[p->outputs[k].slot];
        const int64_t itemsize = p->itemsize[p->outputs[k].slot];
        if (out[k].data != NULL) {
            st_x_copy(&v->t, out[k].data, itemsize);
            continue;
        }
        st_tensor c = v->t;
        int64_t bytes;
        st_x_strides(&c, itemsize);
        int own = v->mem >= 0 && s->mems[v->mem].refs == 1 &&
                  s->mems[v->mem].base == v->t.data;
        for (d = 0; own && d < c.ndim; d++)
            own = c.shape[d] == 1 || c.strides[d] == v->t.strides[d];
        if (own) {
            out[k].data = s->mems[v->mem].base;
            s->mems[v->mem].base = NULL;
        } else if (st_x_bytes(c.ndim, c.shape, itemsize, &bytes) &&
                   (out[k].data = malloc(bytes > 0 ? (size_t)bytes : 1)) != NULL) {
            st_x_copy(&v->t, out[k].data, itemsize);
        } else {
            for (int32_t g = 0; g < k; g++) {
                if ((given >> g) & 1) {
                    free(out[g].data);
                    out[g].data = NULL;
                }
            }
            return ST_X_ERR_MEMORY;
        }
        given |= (uint64_t)1 << k;
        out[k].ndim = c.ndim;
        for (d = 0; d < c.ndim; d++) out[k].shape[d] = c.shape[d];
    }
    return ST_X_OK;
}

static void st_x_finish(st_x_state *s)
{
    if (s->block == NULL) return;
    for (int32_t i = 0; i < s->p->n_slots; i++) st_x_release(s, i);
    for (int32_t i = 0; i < s->p->n_slots; i++) free(s->mems[i].base);  /* never released */
    free(s->block);
    s->block = NULL;
}

/* A whole call of program p: the outputs in `wanted` into `out`. */
static int st_x_call(const st_x_program *p, const ST_EXPORT_ARRAY *in, ST_EXPORT_ARRAY *out,
                     uint64_t wanted)
{
    st_x_state s;
    if (p->n_out < 64) wanted &= ((uint64_t)1 << p->n_out) - 1;
    if (wanted && out == NULL) return ST_X_ERR_OUTPUT;
    int rc = st_x_start(&s, p, in, 1);
    if (rc == ST_X_OK) rc = st_x_execute(&s, wanted);
    if (rc == ST_X_OK) rc = st_x_deliver(&s, out, wanted);
    st_x_finish(&s);
    return rc;
}

/* The output shapes of program `main` for these inputs: `shapes` computes, per
 * output of main, the int64 vector of its sizes. out[k].ndim and out[k].shape are
 * set; out[k].data is left alone. */
static int st_x_shapes(const st_x_program *shapes, const st_x_program *main,
                       int need_data, const ST_EXPORT_ARRAY *in, ST_EXPORT_ARRAY *out)
{
    st_x_state s;
    if (out == NULL) return ST_X_ERR_OUTPUT;
    int rc = st_x_start(&s, shapes, in, need_data);
    if (rc == ST_X_OK) rc = st_x_execute(&s, ~(uint64_t)0);
    for (int32_t k = 0; rc == ST_X_OK && k < main->n_out; k++) {
        const st_x_slot *v = &s.slots[shapes->outputs[k].slot];
        const int64_t ndim = main->outputs[k].ndim;
        if (!v->filled || v->t.ndim != 1 || v->t.shape[0] != ndim ||
            shapes->itemsize[shapes->outputs[k].slot] != 8) {
            rc = ST_X_ERR_INTERNAL;
            break;
        }
        out[k].ndim = ndim;
        for (int64_t d = 0; d < ndim; d++)
            memcpy(&out[k].shape[d], v->t.data + d * v->t.strides[0], sizeof(int64_t));
    }
    st_x_finish(&s);
    return rc;
}

#endif /* SYMTHEANO_EXPORT_H */

/* st_vm: runs a compiled function's whole program in one native call.
 *
 * A Program is a list of instructions over numbered slots, one slot per
 * variable of the rewritten graph. An instruction is a node: the slots it reads
 * and writes, the native entry of its compiled library (runtime/st_node.h) or
 * none, and the node's Python `perform` with the Apply node. Running a program:
 *
 *   1. the input values (already checked by Function) and the constants are put
 *      into their slots;
 *   2. each instruction runs its native entry on the arrays in its input slots;
 *      the entry asks for its outputs through callbacks (a new array, an input
 *      overwritten in place, a view); when it declines a call (ST_FALLBACK), or
 *      has no native entry, the node's `perform(node, inputs, output_storage)`
 *      runs instead, and its results are checked against the output types;
 *   3. slots no later instruction reads are released at once, so intermediate
 *      arrays live no longer than they must;
 *   4. the output slots are returned as a list.
 *
 * An instruction may instead be a loop (an `st_vm.Loop`, for a Scan node): it
 * runs another Program, the loop's body, once per step, handing it rows of the
 * sequences and earlier values of the outputs as array views and copying what
 * it returns into the output buffers (see run_loop below), so a loop of many
 * steps makes no Python call per step.
 *
 * Errors raised by an instruction go through `annotate(exception, index)`,
 * which names the node and the user's line that built it. The program holds
 * the GIL throughout; per-call state lives on the stack or in one allocation,
 * so one program may run in several threads.
 *
 * This file is the only C that knows Python; kernels know nothing of it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_22_API_VERSION
#include <numpy/arrayobject.h>
#include <string.h>

#include "st_node.h"

typedef struct {
    st_node_fn fn;              /* NULL: the instruction always runs `perform` */
    int64_t *params;
    int64_t n_params;
    Py_ssize_t n_in, n_out, n_clear;
    Py_ssize_t *in_slots, *out_slots, *clear;
    int *out_type, *out_ndim;   /* numpy type number and ndim of each output */
    PyObject *node;             /* the Apply node */
    PyObject *perform;          /* perform(node, inputs, output_storage) */
    PyObject *loop;             /* an st_vm.Loop that runs the node, or NULL */
} st_instr;

typedef struct {
    PyObject_HEAD
    Py_ssize_t n_slots, n_inputs, n_outputs, n_consts, n_instr, max_io;
    Py_ssize_t *input_slots, *output_slots, *const_slots;
    PyObject **const_values;
    st_instr *instr;
    PyObject *annotate;         /* annotate(exception, instruction index) */
    PyObject *wrong_output;     /* wrong_output(instruction index, k, value): raises */
    /* the direct call (Program.call), set by Program.set_call */
    PyObject *filter;           /* filter(position, value) -> checked array, or raises */
    int single;                 /* return the only output itself, not a list */
    int *arg_type, *arg_ndim;
    int64_t *arg_shape;         /* ST_MAX_DIMS per argument; -1: any size */
} Program;

/* -- callbacks given to native entries ---------------------------------------------- */

typedef struct {
    st_ctx base;                /* first: entries see only this */
    const st_instr *ins;
    PyObject **in;              /* the node's input arrays */
    PyObject **out;             /* its outputs, as they are produced */
} vm_ctx;

static void describe(PyArrayObject *a, st_tensor *t)
{
    const int nd = PyArray_NDIM(a);
    t->data = PyArray_BYTES(a);
    t->ndim = nd;
    for (int d = 0; d < nd; d++) {
        t->shape[d] = PyArray_DIM(a, d);
        t->strides[d] = PyArray_STRIDE(a, d);
    }
}

static int set_output(vm_ctx *c, int64_t k, PyObject *a, st_tensor *out)
{
    if (k < 0 || k >= c->ins->n_out || PyArray_NDIM((PyArrayObject *)a) != c->ins->out_ndim[k]) {
        Py_DECREF(a);
        PyErr_SetString(PyExc_RuntimeError, "symtheano internal error: a native node "
                        "produced an output of the wrong rank");
        return -1;
    }
    Py_XDECREF(c->out[k]);
    c->out[k] = a;
    if (out != NULL) describe((PyArrayObject *)a, out);
    return 0;
}

static int cb_alloc(st_ctx *ctx, int64_t k, int64_t ndim, const int64_t *shape, st_tensor *out)
{
    vm_ctx *c = (vm_ctx *)ctx;
    if (k < 0 || k >= c->ins->n_out) {
        PyErr_SetString(PyExc_RuntimeError, "symtheano internal error: bad output index");
        return -1;
    }
    npy_intp dims[ST_MAX_DIMS];
    for (int64_t d = 0; d < ndim; d++) dims[d] = (npy_intp)shape[d];
    PyObject *a = PyArray_EMPTY((int)ndim, dims, c->ins->out_type[k], 0);
    if (a == NULL) return -1;
    return set_output(c, k, a, out);
}

static int cb_reuse(st_ctx *ctx, int64_t k, int64_t j, st_tensor *out)
{
    vm_ctx *c = (vm_ctx *)ctx;
    if (j < 0 || j >= c->ins->n_in) {
        PyErr_SetString(PyExc_RuntimeError, "symtheano internal error: bad input index");
        return -1;
    }
    PyObject *a = c->in[j];
    Py_INCREF(a);
    return set_output(c, k, a, out);
}

static int cb_view(st_ctx *ctx, int64_t k, int64_t j, const st_tensor *view)
{
    vm_ctx *c = (vm_ctx *)ctx;
    if (j < 0 || j >= c->ins->n_in || k < 0 || k >= c->ins->n_out) {
        PyErr_SetString(PyExc_RuntimeError, "symtheano internal error: bad view index");
        return -1;
    }
    PyArrayObject *base = (PyArrayObject *)c->in[j];
    npy_intp dims[ST_MAX_DIMS], strides[ST_MAX_DIMS];
    for (int64_t d = 0; d < view->ndim; d++) {
        dims[d] = (npy_intp)view->shape[d];
        strides[d] = (npy_intp)view->strides[d];
    }
    PyArray_Descr *descr = PyArray_DescrFromType(c->ins->out_type[k]);
    if (descr == NULL) return -1;
    PyObject *a = PyArray_NewFromDescr(&PyArray_Type, descr, (int)view->ndim, dims, strides,
                                       view->data, PyArray_FLAGS(base) & NPY_ARRAY_WRITEABLE,
                                       NULL);
    if (a == NULL) return -1;
    Py_INCREF(base);
    if (PyArray_SetBaseObject((PyArrayObject *)a, (PyObject *)base) < 0) {
        Py_DECREF(a);
        return -1;
    }
    PyArray_UpdateFlags((PyArrayObject *)a, NPY_ARRAY_UPDATE_ALL);
    return set_output(c, k, a, NULL);
}

/* -- running one instruction ---------------------------------------------------------- */

static int same_type(PyObject *v, int type_num, int ndim)
{
    return PyArray_Check(v) && PyArray_NDIM((PyArrayObject *)v) == ndim &&
           PyArray_EquivTypenums(PyArray_TYPE((PyArrayObject *)v), type_num);
}

/* Run the node's Python perform; its results go to `results` (new references). */
static int run_perform(Program *p, Py_ssize_t index, PyObject **in, PyObject **results)
{
    const st_instr *ins = &p->instr[index];
    PyObject *inputs = PyList_New(ins->n_in);
    PyObject *storage = PyList_New(ins->n_out);
    PyObject *r = NULL;
    int status = -1;
    if (inputs == NULL || storage == NULL) goto done;
    for (Py_ssize_t j = 0; j < ins->n_in; j++) {
        Py_INCREF(in[j]);
        PyList_SET_ITEM(inputs, j, in[j]);
    }
    for (Py_ssize_t k = 0; k < ins->n_out; k++) {
        PyObject *cell = PyList_New(1);
        if (cell == NULL) goto done;
        Py_INCREF(Py_None);
        PyList_SET_ITEM(cell, 0, Py_None);
        PyList_SET_ITEM(storage, k, cell);
    }
    r = PyObject_CallFunctionObjArgs(ins->perform, ins->node, inputs, storage, NULL);
    if (r == NULL) goto done;
    for (Py_ssize_t k = 0; k < ins->n_out; k++) {
        PyObject *v = PyList_GET_ITEM(PyList_GET_ITEM(storage, k), 0);
        if (!same_type(v, ins->out_type[k], ins->out_ndim[k])) {
            PyObject *e = PyObject_CallFunction(p->wrong_output, "nnO", index, k, v);
            Py_XDECREF(e);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "symtheano internal error: a node produced "
                                "a value that does not fit its output type");
            goto done;
        }
        Py_INCREF(v);
        results[k] = v;
    }
    status = 0;
done:
    Py_XDECREF(r);
    Py_XDECREF(inputs);
    Py_XDECREF(storage);
    return status;
}

static int usable_by_native(PyObject *v)
{
    return PyArray_Check(v) && PyArray_ISALIGNED((PyArrayObject *)v) &&
           PyArray_ISNOTSWAPPED((PyArrayObject *)v) && PyArray_NDIM((PyArrayObject *)v) <= ST_MAX_DIMS;
}

static int run_loop(const st_instr *ins, PyObject **in, PyObject **results);

static int run_instr(Program *p, Py_ssize_t index, PyObject **slots, PyObject **in,
                     PyObject **results, st_tensor *tensors)
{
    const st_instr *ins = &p->instr[index];
    Py_ssize_t j, k;
    for (j = 0; j < ins->n_in; j++) {
        in[j] = slots[ins->in_slots[j]];
        if (in[j] == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "symtheano internal error: an instruction "
                            "reads an empty slot");
            return -1;
        }
    }
    for (k = 0; k < ins->n_out; k++) results[k] = NULL;
    if (ins->loop != NULL) {
        const int rc = run_loop(ins, in, results);
        if (rc != ST_FALLBACK) return rc;
    }
    if (ins->fn != NULL) {
        int native = 1;
        for (j = 0; j < ins->n_in && native; j++) native = usable_by_native(in[j]);
        if (native) {
            vm_ctx c = {{cb_alloc, cb_reuse, cb_view, ins->params, ins->n_params}, ins, in,
                        results};
            for (j = 0; j < ins->n_in; j++) describe((PyArrayObject *)in[j], &tensors[j]);
            int rc = ins->fn(&c.base, tensors, ins->n_in, tensors + ins->n_in);
            if (rc == ST_OK) {
                for (k = 0; k < ins->n_out; k++) {
                    if (results[k] == NULL) {
                        PyErr_SetString(PyExc_RuntimeError, "symtheano internal error: a "
                                        "native node left an output unset");
                        rc = ST_ERROR;
                    }
                }
            }
            if (rc != ST_OK) {
                for (k = 0; k < ins->n_out; k++) Py_CLEAR(results[k]);
            }
            if (rc == ST_OK) return 0;
            if (rc != ST_FALLBACK) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_RuntimeError, "symtheano: a native node failed");
                return -1;
            }
        }
    }
    return run_perform(p, index, in, results);
}

static void annotate(Program *p, Py_ssize_t index)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL && p->annotate != Py_None) {
        PyObject *r = PyObject_CallFunction(p->annotate, "On", value, index);
        if (r == NULL) PyErr_Clear();   /* a failing note must not hide the error */
        Py_XDECREF(r);
    }
    PyErr_Restore(type, value, tb);
}

/* -- running the program -------------------------------------------------------------- */

/* The outputs (a new list) of the program on `seq`, a fast sequence of input values. */
static PyObject *run_program(Program *p, PyObject *seq)
{
    if (PySequence_Fast_GET_SIZE(seq) != p->n_inputs) {
        PyErr_Format(PyExc_TypeError, "program expects %zd input values, got %zd",
                     p->n_inputs, PySequence_Fast_GET_SIZE(seq));
        return NULL;
    }
    /* one allocation: slots, then the node's inputs and outputs, then its tensors */
    const Py_ssize_t n_ptr = p->n_slots + 2 * p->max_io;
    char *scratch = PyMem_Calloc(1, n_ptr * sizeof(PyObject *) +
                                 p->max_io * sizeof(st_tensor) + 16);
    if (scratch == NULL) return PyErr_NoMemory();
    PyObject **slots = (PyObject **)scratch;
    PyObject **in = slots + p->n_slots;
    PyObject **results = in + p->max_io;
    st_tensor *tensors = (st_tensor *)(((uintptr_t)(results + p->max_io) + 15) & ~(uintptr_t)15);
    PyObject *out = NULL;
    Py_ssize_t i, k;

    for (i = 0; i < p->n_consts; i++) {
        Py_INCREF(p->const_values[i]);
        Py_XSETREF(slots[p->const_slots[i]], p->const_values[i]);
    }
    for (i = 0; i < p->n_inputs; i++) {
        PyObject *v = PySequence_Fast_GET_ITEM(seq, i);
        Py_INCREF(v);
        Py_XSETREF(slots[p->input_slots[i]], v);
    }
    for (i = 0; i < p->n_instr; i++) {
        const st_instr *ins = &p->instr[i];
        if (run_instr(p, i, slots, in, results, tensors) < 0) {
            for (k = 0; k < ins->n_out; k++) Py_CLEAR(results[k]);
            annotate(p, i);
            goto done;
        }
        for (k = 0; k < ins->n_out; k++) Py_XSETREF(slots[ins->out_slots[k]], results[k]);
        for (k = 0; k < ins->n_clear; k++) Py_CLEAR(slots[ins->clear[k]]);
    }
    out = PyList_New(p->n_outputs);
    if (out == NULL) goto done;
    for (i = 0; i < p->n_outputs; i++) {
        PyObject *v = slots[p->output_slots[i]];
        if (v == NULL) {
            Py_CLEAR(out);
            PyErr_SetString(PyExc_RuntimeError, "symtheano internal error: an output was "
                            "not computed");
            goto done;
        }
        Py_INCREF(v);
        PyList_SET_ITEM(out, i, v);
    }
done:
    for (i = 0; i < p->n_slots; i++) Py_XDECREF(slots[i]);
    PyMem_Free(scratch);
    return out;
}

/* -- loops: a sub-program run once per step (Scan) ------------------------------------- */

/* Loop(body, n_seqs, taps, n_nit, n_carry, n_nonseq): how a loop node's inputs and
 * outputs map to its body's. The node's inputs are n_steps, the sequences, the
 * initial rows of each recurrent output (as many as its largest lag), the initial
 * carried states and the non-sequences; its outputs are each recurrent output's
 * buffer (initial rows, then one row per step), each other output stacked over the
 * steps, and each carried state's final value. The body's inputs are a row of each
 * sequence, the earlier values of each recurrent output (one per tap), the carried
 * states and the non-sequences; its outputs the new recurrent values, the other
 * outputs' values and the new carried states. */
typedef struct {
    PyObject_HEAD
    Program *body;
    Py_ssize_t n_seq, n_mit, n_nit, n_carry, n_nonseq, n_body_in;
    Py_ssize_t *n_taps;         /* per recurrent output */
    Py_ssize_t *lag;            /* per recurrent output: its largest distance back */
    Py_ssize_t *taps;           /* all taps (negative), output after output */
} Loop;

/* Row t of `a` (ndim >= 1) as a read-only view. */
static PyObject *row_view(PyArrayObject *a, npy_intp t)
{
    PyArray_Descr *descr = PyArray_DESCR(a);
    Py_INCREF(descr);
    PyObject *v = PyArray_NewFromDescr(&PyArray_Type, descr, PyArray_NDIM(a) - 1,
                                       PyArray_DIMS(a) + 1, PyArray_STRIDES(a) + 1,
                                       PyArray_BYTES(a) + t * PyArray_STRIDE(a, 0), 0, NULL);
    if (v == NULL) return NULL;
    Py_INCREF(a);
    if (PyArray_SetBaseObject((PyArrayObject *)v, (PyObject *)a) < 0) {
        Py_DECREF(v);
        return NULL;
    }
    PyArray_UpdateFlags((PyArrayObject *)v, NPY_ARRAY_UPDATE_ALL);
    return v;
}

/* Does `v` have the shape of one row of `buf` (dimensions 1.. of buf)? */
static int is_row_of(PyObject *v, PyArrayObject *buf)
{
    if (!PyArray_Check(v)) return 0;
    PyArrayObject *a = (PyArrayObject *)v;
    const int nd = PyArray_NDIM(a);
    if (nd != PyArray_NDIM(buf) - 1) return 0;
    for (int d = 0; d < nd; d++)
        if (PyArray_DIM(a, d) != PyArray_DIM(buf, d + 1)) return 0;
    return 1;
}

static int same_shape(PyObject *v, PyObject *w)
{
    if (!PyArray_Check(v) || !PyArray_Check(w)) return 0;
    PyArrayObject *a = (PyArrayObject *)v, *b = (PyArrayObject *)w;
    return PyArray_NDIM(a) == PyArray_NDIM(b) &&
           PyArray_CompareLists(PyArray_DIMS(a), PyArray_DIMS(b), PyArray_NDIM(a));
}

/* Copy `src` (the shape of a row) into row t of the C-contiguous `buf`. */
static int copy_row(PyArrayObject *buf, npy_intp t, PyArrayObject *src)
{
    if (PyArray_IS_C_CONTIGUOUS(src) && PyArray_ISNOTSWAPPED(src) &&
        PyArray_TYPE(src) == PyArray_TYPE(buf)) {
        memcpy(PyArray_BYTES(buf) + t * PyArray_STRIDE(buf, 0), PyArray_DATA(src),
               PyArray_NBYTES(src));
        return 0;
    }
    PyObject *row = row_view(buf, t);
    if (row == NULL) return -1;
    PyArray_ENABLEFLAGS((PyArrayObject *)row, NPY_ARRAY_WRITEABLE);
    const int rc = PyArray_CopyInto((PyArrayObject *)row, src);
    Py_DECREF(row);
    return rc;
}

/* A new array of `type` with `n` rows shaped like `like` (its dimensions `skip`..). */
static PyObject *new_rows(npy_intp n, PyArrayObject *like, int skip, int type)
{
    npy_intp dims[ST_MAX_DIMS + 1];
    const int nd = PyArray_NDIM(like) - skip + 1;
    if (nd > ST_MAX_DIMS + 1) {
        PyErr_SetString(PyExc_ValueError, "symtheano: a loop output has too many dimensions");
        return NULL;
    }
    dims[0] = n;
    for (int d = 1; d < nd; d++) dims[d] = PyArray_DIM(like, d - 1 + skip);
    return PyArray_EMPTY(nd, dims, type, 0);
}

static void note_step(Py_ssize_t t)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL) {
        PyObject *r = PyObject_CallMethod(value, "add_note", "N",
                                          PyUnicode_FromFormat("in step %zd of the loop", t));
        if (r == NULL) PyErr_Clear();
        Py_XDECREF(r);
    }
    PyErr_Restore(type, value, tb);
}

/* Run a loop instruction: 0 done (results set), ST_FALLBACK to let `perform` run
 * the node (a call outside what the loop serves, or an error the reference words
 * better), -1 on error. */
static int run_loop(const st_instr *ins, PyObject **in, PyObject **results)
{
    const Loop *lp = (const Loop *)ins->loop;
    const Py_ssize_t n_out = lp->n_mit + lp->n_nit + lp->n_carry;
    if (ins->n_in != 1 + lp->n_seq + lp->n_mit + lp->n_carry + lp->n_nonseq ||
        ins->n_out != n_out) {
        PyErr_SetString(PyExc_RuntimeError, "symtheano internal error: a loop's layout does "
                        "not match its node");
        return -1;
    }
    PyObject **seqs = in + 1, **inits = seqs + lp->n_seq, **carry0 = inits + lp->n_mit;
    PyObject **nonseqs = carry0 + lp->n_carry;
    if (!PyArray_Check(in[0]) || PyArray_NDIM((PyArrayObject *)in[0]) != 0 ||
        PyArray_TYPE((PyArrayObject *)in[0]) != NPY_INT64)
        return ST_FALLBACK;
    const npy_intp n = (npy_intp)*(npy_int64 *)PyArray_DATA((PyArrayObject *)in[0]);
    if (n < 0 || (n == 0 && lp->n_nit > 0)) return ST_FALLBACK;
    for (Py_ssize_t i = 0; i < lp->n_seq; i++) {
        if (!PyArray_Check(seqs[i]) || PyArray_NDIM((PyArrayObject *)seqs[i]) < 1 ||
            PyArray_DIM((PyArrayObject *)seqs[i], 0) < n)
            return ST_FALLBACK;
    }
    for (Py_ssize_t j = 0; j < lp->n_mit; j++) {
        if (!PyArray_Check(inits[j]) || PyArray_NDIM((PyArrayObject *)inits[j]) < 1 ||
            PyArray_DIM((PyArrayObject *)inits[j], 0) != lp->lag[j])
            return ST_FALLBACK;
    }
    int status = -1;
    Py_ssize_t k, t;
    for (k = 0; k < n_out; k++) results[k] = NULL;
    PyObject **bufs = results, **nits = results + lp->n_mit, **carries = nits + lp->n_nit;
    for (Py_ssize_t j = 0; j < lp->n_mit; j++) {
        PyArrayObject *init = (PyArrayObject *)inits[j];
        bufs[j] = new_rows(n + lp->lag[j], init, 1, ins->out_type[j]);
        if (bufs[j] == NULL) goto done;
        for (t = 0; t < lp->lag[j]; t++) {
            PyObject *row = row_view(init, t);
            if (row == NULL) goto done;
            const int rc = copy_row((PyArrayObject *)bufs[j], t, (PyArrayObject *)row);
            Py_DECREF(row);
            if (rc < 0) goto done;
        }
    }
    for (Py_ssize_t c = 0; c < lp->n_carry; c++) {
        Py_INCREF(carry0[c]);
        carries[c] = carry0[c];
    }
    for (t = 0; t < n; t++) {
        if ((t & 1023) == 1023 && PyErr_CheckSignals() < 0) goto done;
        PyObject *args = PyTuple_New(lp->n_body_in);
        if (args == NULL) goto done;
        Py_ssize_t pos = 0;
        for (Py_ssize_t i = 0; i < lp->n_seq; i++) {
            PyObject *row = row_view((PyArrayObject *)seqs[i], t);
            if (row == NULL) goto fail_args;
            PyTuple_SET_ITEM(args, pos++, row);
        }
        const Py_ssize_t *tap = lp->taps;
        for (Py_ssize_t j = 0; j < lp->n_mit; j++) {
            for (Py_ssize_t q = 0; q < lp->n_taps[j]; q++, tap++) {
                PyObject *row = row_view((PyArrayObject *)bufs[j], t + lp->lag[j] + *tap);
                if (row == NULL) goto fail_args;
                PyTuple_SET_ITEM(args, pos++, row);
            }
        }
        for (Py_ssize_t c = 0; c < lp->n_carry; c++) {
            Py_INCREF(carries[c]);
            PyTuple_SET_ITEM(args, pos++, carries[c]);
        }
        for (Py_ssize_t q = 0; q < lp->n_nonseq; q++) {
            Py_INCREF(nonseqs[q]);
            PyTuple_SET_ITEM(args, pos++, nonseqs[q]);
        }
        PyObject *values = run_program(lp->body, args);
        Py_DECREF(args);
        if (values == NULL) {
            note_step(t);
            goto done;
        }
        for (Py_ssize_t j = 0; j < lp->n_mit; j++) {
            PyObject *v = PyList_GET_ITEM(values, j);
            if (!is_row_of(v, (PyArrayObject *)bufs[j])) goto decline;
            if (copy_row((PyArrayObject *)bufs[j], t + lp->lag[j], (PyArrayObject *)v) < 0)
                goto fail_values;
        }
        for (Py_ssize_t m = 0; m < lp->n_nit; m++) {
            PyObject *v = PyList_GET_ITEM(values, lp->n_mit + m);
            if (!PyArray_Check(v)) goto decline;
            if (t == 0) {
                nits[m] = new_rows(n, (PyArrayObject *)v, 0, ins->out_type[lp->n_mit + m]);
                if (nits[m] == NULL) goto fail_values;
            }
            if (!is_row_of(v, (PyArrayObject *)nits[m])) goto decline;
            if (copy_row((PyArrayObject *)nits[m], t, (PyArrayObject *)v) < 0)
                goto fail_values;
        }
        for (Py_ssize_t c = 0; c < lp->n_carry; c++) {
            PyObject *v = PyList_GET_ITEM(values, lp->n_mit + lp->n_nit + c);
            if (!same_shape(v, carry0[c])) goto decline;
            Py_INCREF(v);
            Py_SETREF(carries[c], v);
        }
        Py_DECREF(values);
        continue;
    decline:
        Py_DECREF(values);
        status = ST_FALLBACK;
        goto done;
    fail_values:
        Py_DECREF(values);
        goto done;
    fail_args:
        Py_DECREF(args);
        goto done;
    }
    status = 0;
done:
    if (status != 0) {
        for (k = 0; k < n_out; k++) Py_CLEAR(results[k]);
    }
    return status;
}

static void Loop_dealloc(Loop *lp)
{
    Py_XDECREF(lp->body);
    PyMem_Free(lp->n_taps);
    PyMem_Free(lp->lag);
    PyMem_Free(lp->taps);
    Py_TYPE(lp)->tp_free((PyObject *)lp);
}

static PyTypeObject ProgramType;

static PyObject *Loop_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"body", "n_seqs", "taps", "n_nit", "n_carry", "n_nonseq", NULL};
    PyObject *body, *taps_obj;
    Py_ssize_t n_seq, n_nit, n_carry, n_nonseq;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!nOnnn:Loop", names, &ProgramType, &body,
                                     &n_seq, &taps_obj, &n_nit, &n_carry, &n_nonseq))
        return NULL;
    if (n_seq < 0 || n_nit < 0 || n_carry < 0 || n_nonseq < 0) {
        PyErr_SetString(PyExc_ValueError, "Loop: negative count");
        return NULL;
    }
    PyObject *groups = PySequence_Fast(taps_obj, "Loop: taps is a sequence of tap tuples");
    if (groups == NULL) return NULL;
    Loop *lp = (Loop *)type->tp_alloc(type, 0);
    if (lp == NULL) {
        Py_DECREF(groups);
        return NULL;
    }
    Py_INCREF(body);
    lp->body = (Program *)body;
    lp->n_seq = n_seq;
    lp->n_nit = n_nit;
    lp->n_carry = n_carry;
    lp->n_nonseq = n_nonseq;
    lp->n_mit = PySequence_Fast_GET_SIZE(groups);
    lp->n_taps = PyMem_Calloc(lp->n_mit + 1, sizeof(Py_ssize_t));
    lp->lag = PyMem_Calloc(lp->n_mit + 1, sizeof(Py_ssize_t));
    Py_ssize_t total = 0;
    if (lp->n_taps == NULL || lp->lag == NULL) goto nomem;
    for (Py_ssize_t j = 0; j < lp->n_mit; j++) {
        const Py_ssize_t size = PySequence_Size(PySequence_Fast_GET_ITEM(groups, j));
        if (size <= 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "Loop: empty taps");
            goto fail;
        }
        lp->n_taps[j] = size;
        total += size;
    }
    lp->taps = PyMem_Calloc(total + 1, sizeof(Py_ssize_t));
    if (lp->taps == NULL) goto nomem;
    Py_ssize_t pos = 0;
    for (Py_ssize_t j = 0; j < lp->n_mit; j++) {
        PyObject *g = PySequence_Fast(PySequence_Fast_GET_ITEM(groups, j), "Loop: taps");
        if (g == NULL) goto fail;
        for (Py_ssize_t q = 0; q < lp->n_taps[j]; q++) {
            const Py_ssize_t k = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(g, q));
            if (k >= 0) {
                Py_DECREF(g);
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "Loop: taps must be negative");
                goto fail;
            }
            lp->taps[pos++] = k;
            if (-k > lp->lag[j]) lp->lag[j] = -k;
        }
        Py_DECREF(g);
    }
    lp->n_body_in = n_seq + total + n_carry + n_nonseq;
    if (lp->n_body_in != lp->body->n_inputs ||
        lp->n_mit + n_nit + n_carry != lp->body->n_outputs) {
        PyErr_SetString(PyExc_ValueError, "Loop: the layout does not match the body's inputs "
                        "and outputs");
        goto fail;
    }
    Py_DECREF(groups);
    return (PyObject *)lp;
nomem:
    PyErr_NoMemory();
fail:
    Py_DECREF(groups);
    Py_DECREF(lp);
    return NULL;
}

static PyTypeObject LoopType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "st_vm.Loop",
    .tp_basicsize = sizeof(Loop),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Loop(body, n_seqs, taps, n_nit, n_carry, n_nonseq): a loop instruction's "
              "layout; its body (a Program) runs once per step",
    .tp_new = Loop_new,
    .tp_dealloc = (destructor)Loop_dealloc,
};

/* Program(values): the reference program's interface (values already checked). */
static PyObject *Program_call(Program *p, PyObject *args, PyObject *kwargs)
{
    PyObject *values;
    if (!PyArg_ParseTuple(args, "O:Program", &values)) return NULL;
    PyObject *seq = PySequence_Fast(values, "a program takes a sequence of input values");
    if (seq == NULL) return NULL;
    PyObject *out = run_program(p, seq);
    Py_DECREF(seq);
    return out;
}

/* -- Program.call(args): a compiled function's whole call --------------------------------- */

static int fits(Program *p, Py_ssize_t i, PyObject *v)
{
    if (!PyArray_CheckExact(v)) return 0;
    PyArrayObject *a = (PyArrayObject *)v;
    const int nd = p->arg_ndim[i];
    if (PyArray_NDIM(a) != nd || !PyArray_EquivTypenums(PyArray_TYPE(a), p->arg_type[i]))
        return 0;
    for (int d = 0; d < nd; d++) {
        const int64_t want = p->arg_shape[i * ST_MAX_DIMS + d];
        if (want >= 0 && want != PyArray_DIM(a, d)) return 0;
    }
    return 1;
}

/* The argument as the array the program takes (a new reference), or NULL. */
static PyObject *argument(Program *p, Py_ssize_t i, PyObject *v)
{
    if (fits(p, i, v)) {
        Py_INCREF(v);
        return v;
    }
    if (PyFloat_CheckExact(v) && p->arg_ndim[i] == 0 && p->arg_type[i] == NPY_DOUBLE) {
        PyObject *a = PyArray_SimpleNew(0, NULL, NPY_DOUBLE);
        if (a != NULL) *(double *)PyArray_DATA((PyArrayObject *)a) = PyFloat_AS_DOUBLE(v);
        return a;
    }
    PyObject *a = PyObject_CallFunction(p->filter, "nO", i, v);
    if (a != NULL && !fits(p, i, a) && !PyErr_Occurred()) {
        Py_DECREF(a);
        PyErr_SetString(PyExc_TypeError, "symtheano internal error: an argument filter "
                        "returned a value of the wrong type");
        return NULL;
    }
    return a;
}

/* An output the caller may keep: writable, owning its memory, and neither an
 * argument nor another output; anything else is copied. */
static int make_private(PyObject *out, PyObject *values)
{
    const Py_ssize_t n = PyList_GET_SIZE(out);
    for (Py_ssize_t k = 0; k < n; k++) {
        PyArrayObject *a = (PyArrayObject *)PyList_GET_ITEM(out, k);
        int shared = !PyArray_ISWRITEABLE(a) || PyArray_BASE(a) != NULL;
        for (Py_ssize_t i = 0; !shared && i < PyTuple_GET_SIZE(values); i++)
            shared = (PyObject *)a == PyTuple_GET_ITEM(values, i);
        for (Py_ssize_t j = 0; !shared && j < k; j++)
            shared = (PyObject *)a == PyList_GET_ITEM(out, j);
        if (shared) {
            PyObject *copy = PyArray_NewCopy(a, NPY_KEEPORDER);
            if (copy == NULL) return -1;
            PyList_SetItem(out, k, copy);
        }
    }
    return 0;
}

static PyObject *Program_fast(Program *p, PyObject *args)
{
    if (p->filter == NULL || !PyTuple_Check(args) || PyTuple_GET_SIZE(args) != p->n_inputs)
        Py_RETURN_NOTIMPLEMENTED;   /* the caller takes the general path */
    const Py_ssize_t n = p->n_inputs;
    PyObject *values = PyTuple_New(n);
    PyObject *out = NULL, *result = NULL;
    if (values == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = argument(p, i, PyTuple_GET_ITEM(args, i));
        if (a == NULL) goto done;
        PyTuple_SET_ITEM(values, i, a);
    }
    out = run_program(p, values);
    if (out == NULL || make_private(out, values) < 0) goto done;
    if (p->single && PyList_GET_SIZE(out) == 1) {
        result = PyList_GET_ITEM(out, 0);
        Py_INCREF(result);
    } else {
        result = out;
        out = NULL;
    }
done:
    Py_XDECREF(out);
    Py_DECREF(values);
    return result;
}

/* set_call(filter, single, [(type number, ndim, static shape with -1 for any)]) */
static PyObject *Program_set_call(Program *p, PyObject *args)
{
    PyObject *filter, *specs;
    int single;
    if (!PyArg_ParseTuple(args, "OpO:set_call", &filter, &single, &specs)) return NULL;
    PyObject *seq = PySequence_Fast(specs, "argument specs");
    if (seq == NULL) return NULL;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n != p->n_inputs) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "set_call: one spec per program input");
        return NULL;
    }
    int *types = PyMem_Calloc(n + 1, sizeof(int)), *ndims = PyMem_Calloc(n + 1, sizeof(int));
    int64_t *shapes = PyMem_Calloc(n * ST_MAX_DIMS + 1, sizeof(int64_t));
    if (types == NULL || ndims == NULL || shapes == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *shape;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "iiO", &types[i], &ndims[i],
                              &shape))
            goto fail;
        if (ndims[i] < 0 || ndims[i] > ST_MAX_DIMS || PySequence_Size(shape) != ndims[i]) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "set_call: bad spec");
            goto fail;
        }
        for (int d = 0; d < ndims[i]; d++) {
            PyObject *item = PySequence_GetItem(shape, d);
            if (item == NULL) goto fail;
            shapes[i * ST_MAX_DIMS + d] = PyLong_AsLongLong(item);
            Py_DECREF(item);
            if (PyErr_Occurred()) goto fail;
        }
    }
    Py_DECREF(seq);
    PyMem_Free(p->arg_type);
    PyMem_Free(p->arg_ndim);
    PyMem_Free(p->arg_shape);
    p->arg_type = types;
    p->arg_ndim = ndims;
    p->arg_shape = shapes;
    p->single = single;
    Py_INCREF(filter);
    Py_XSETREF(p->filter, filter);
    Py_RETURN_NONE;
fail:
    Py_DECREF(seq);
    PyMem_Free(types);
    PyMem_Free(ndims);
    PyMem_Free(shapes);
    return NULL;
}

/* -- construction ----------------------------------------------------------------------- */

static Py_ssize_t *slot_array(PyObject *seq_obj, Py_ssize_t *n, Py_ssize_t n_slots, const char *what)
{
    PyObject *seq = PySequence_Fast(seq_obj, what);
    if (seq == NULL) return NULL;
    *n = PySequence_Fast_GET_SIZE(seq);
    Py_ssize_t *a = PyMem_Calloc(*n + 1, sizeof(Py_ssize_t));
    if (a == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < *n; i++) {
        a[i] = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(seq, i));
        if ((a[i] == -1 && PyErr_Occurred()) || a[i] < 0 || a[i] >= n_slots) {
            if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "%s: slot out of range", what);
            PyMem_Free(a);
            Py_DECREF(seq);
            return NULL;
        }
    }
    Py_DECREF(seq);
    return a;
}

static int *int_array(PyObject *seq_obj, Py_ssize_t n, const char *what)
{
    PyObject *seq = PySequence_Fast(seq_obj, what);
    if (seq == NULL) return NULL;
    if (PySequence_Fast_GET_SIZE(seq) != n) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd entries", what, n);
        Py_DECREF(seq);
        return NULL;
    }
    int *a = PyMem_Calloc(n + 1, sizeof(int));
    if (a == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) a[i] = (int)PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
    Py_DECREF(seq);
    if (PyErr_Occurred()) {
        PyMem_Free(a);
        return NULL;
    }
    return a;
}

static void free_instr(st_instr *ins)
{
    PyMem_Free(ins->params);
    PyMem_Free(ins->in_slots);
    PyMem_Free(ins->out_slots);
    PyMem_Free(ins->clear);
    PyMem_Free(ins->out_type);
    PyMem_Free(ins->out_ndim);
    Py_XDECREF(ins->node);
    Py_XDECREF(ins->perform);
    Py_XDECREF(ins->loop);
}

/* (address of st_node or 0, params, in slots, out slots, out type numbers, out ndims,
 *  slots cleared afterwards, node, perform[, loop: an st_vm.Loop or None]) */
static int parse_instr(PyObject *t, st_instr *ins, Py_ssize_t n_slots)
{
    unsigned long long address;
    PyObject *params, *ins_, *outs, *types, *ndims, *clear, *node, *perform, *loop = Py_None;
    if (!PyArg_ParseTuple(t, "KOOOOOOOO|O:instruction", &address, &params, &ins_, &outs, &types,
                          &ndims, &clear, &node, &perform, &loop))
        return -1;
    if (loop != Py_None) {
        if (!PyObject_TypeCheck(loop, &LoopType)) {
            PyErr_SetString(PyExc_TypeError, "instruction: a loop must be an st_vm.Loop");
            return -1;
        }
        Py_INCREF(loop);
        ins->loop = loop;
    }
    ins->fn = (st_node_fn)(uintptr_t)address;
    Py_INCREF(node);
    ins->node = node;
    Py_INCREF(perform);
    ins->perform = perform;
    PyObject *seq = PySequence_Fast(params, "instruction parameters");
    if (seq == NULL) return -1;
    ins->n_params = PySequence_Fast_GET_SIZE(seq);
    ins->params = PyMem_Calloc(ins->n_params + 1, sizeof(int64_t));
    if (ins->params == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < ins->n_params; i++)
        ins->params[i] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, i));
    Py_DECREF(seq);
    if (PyErr_Occurred()) return -1;
    if ((ins->in_slots = slot_array(ins_, &ins->n_in, n_slots, "instruction inputs")) == NULL)
        return -1;
    if ((ins->out_slots = slot_array(outs, &ins->n_out, n_slots, "instruction outputs")) == NULL)
        return -1;
    if ((ins->clear = slot_array(clear, &ins->n_clear, n_slots, "cleared slots")) == NULL)
        return -1;
    if ((ins->out_type = int_array(types, ins->n_out, "output types")) == NULL) return -1;
    if ((ins->out_ndim = int_array(ndims, ins->n_out, "output ndims")) == NULL) return -1;
    return 0;
}

static void Program_dealloc(Program *p)
{
    for (Py_ssize_t i = 0; i < p->n_instr; i++) free_instr(&p->instr[i]);
    for (Py_ssize_t i = 0; i < p->n_consts; i++) Py_XDECREF(p->const_values[i]);
    PyMem_Free(p->instr);
    PyMem_Free(p->const_values);
    PyMem_Free(p->input_slots);
    PyMem_Free(p->output_slots);
    PyMem_Free(p->const_slots);
    Py_XDECREF(p->annotate);
    Py_XDECREF(p->wrong_output);
    Py_XDECREF(p->filter);
    PyMem_Free(p->arg_type);
    PyMem_Free(p->arg_ndim);
    PyMem_Free(p->arg_shape);
    Py_TYPE(p)->tp_free((PyObject *)p);
}

static PyObject *Program_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"n_slots", "inputs", "outputs", "constants", "instructions",
                            "annotate", "wrong_output", NULL};
    Py_ssize_t n_slots;
    PyObject *inputs, *outputs, *constants, *instructions, *annotate_, *wrong;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "nOOOOOO:Program", names, &n_slots, &inputs,
                                     &outputs, &constants, &instructions, &annotate_, &wrong))
        return NULL;
    Program *p = (Program *)type->tp_alloc(type, 0);
    if (p == NULL) return NULL;
    p->n_slots = n_slots;
    Py_INCREF(annotate_);
    p->annotate = annotate_;
    Py_INCREF(wrong);
    p->wrong_output = wrong;
    if ((p->input_slots = slot_array(inputs, &p->n_inputs, n_slots, "inputs")) == NULL ||
        (p->output_slots = slot_array(outputs, &p->n_outputs, n_slots, "outputs")) == NULL)
        goto fail;
    PyObject *cseq = PySequence_Fast(constants, "constants: (slot, array) pairs");
    if (cseq == NULL) goto fail;
    p->n_consts = PySequence_Fast_GET_SIZE(cseq);
    p->const_slots = PyMem_Calloc(p->n_consts + 1, sizeof(Py_ssize_t));
    p->const_values = PyMem_Calloc(p->n_consts + 1, sizeof(PyObject *));
    if (p->const_slots == NULL || p->const_values == NULL) {
        Py_DECREF(cseq);
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < p->n_consts; i++) {
        PyObject *value;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(cseq, i), "nO", &p->const_slots[i],
                              &value) || p->const_slots[i] < 0 || p->const_slots[i] >= n_slots) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "constant slot out of range");
            Py_DECREF(cseq);
            goto fail;
        }
        Py_INCREF(value);
        p->const_values[i] = value;
    }
    Py_DECREF(cseq);
    PyObject *iseq = PySequence_Fast(instructions, "instructions");
    if (iseq == NULL) goto fail;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(iseq);
    p->instr = PyMem_Calloc(n + 1, sizeof(st_instr));
    if (p->instr == NULL) {
        Py_DECREF(iseq);
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        p->n_instr = i + 1;
        if (parse_instr(PySequence_Fast_GET_ITEM(iseq, i), &p->instr[i], n_slots) < 0) {
            Py_DECREF(iseq);
            goto fail;
        }
        const Py_ssize_t io = p->instr[i].n_in + p->instr[i].n_out;
        if (io > p->max_io) p->max_io = io;
    }
    Py_DECREF(iseq);
    return (PyObject *)p;
fail:
    Py_DECREF(p);
    return NULL;
}

static PyObject *Program_get_n_native(Program *p, void *closure)
{
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < p->n_instr; i++) n += p->instr[i].fn != NULL;
    return PyLong_FromSsize_t(n);
}

static PyGetSetDef Program_getset[] = {
    {"n_native", (getter)Program_get_n_native, NULL,
     "how many instructions have a native entry", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Program_methods[] = {
    {"call", (PyCFunction)Program_fast, METH_O,
     "call(args tuple): check the arguments, run, return the output (or list of outputs) "
     "the caller may keep; NotImplemented when the general path must handle the call"},
    {"set_call", (PyCFunction)Program_set_call, METH_VARARGS,
     "set_call(filter, single, specs): configure `call`"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "st_vm.Program",
    .tp_basicsize = sizeof(Program),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A compiled function's program: Program(values) -> list of outputs",
    .tp_new = Program_new,
    .tp_dealloc = (destructor)Program_dealloc,
    .tp_call = (ternaryfunc)Program_call,
    .tp_getset = Program_getset,
    .tp_methods = Program_methods,
};

static struct PyModuleDef st_vm_module = {
    PyModuleDef_HEAD_INIT, "st_vm", "symtheano's program runner", -1, NULL,
};

PyMODINIT_FUNC PyInit_st_vm(void)
{
    import_array();
    if (PyType_Ready(&ProgramType) < 0 || PyType_Ready(&LoopType) < 0) return NULL;
    PyObject *m = PyModule_Create(&st_vm_module);
    if (m == NULL) return NULL;
    Py_INCREF(&ProgramType);
    if (PyModule_AddObject(m, "Program", (PyObject *)&ProgramType) < 0) {
        Py_DECREF(&ProgramType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&LoopType);
    if (PyModule_AddObject(m, "Loop", (PyObject *)&LoopType) < 0) {
        Py_DECREF(&LoopType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

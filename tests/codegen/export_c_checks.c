/* Checks of the error codes and calling conventions of an export (tests/codegen/
 * test_export_c.py): built against `add2`, the export of
 * function([x, y], [x + y, 2 * x]) with x, y float64 vectors. Prints one line per
 * check: "<name> <result>". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "add2.h"

int main(void)
{
    double x[3] = {1, 2, 3}, y[3] = {10, 20, 30}, buffer[4] = {-1, -1, -1, -1};
    add2_array in[2] = {{x, 1, {3}}, {y, 1, {3}}}, out[2] = {{0}};
    int rc;

    /* only output 1 wanted: output 0 is left alone */
    out[0].ndim = 7;
    rc = add2(in, out, ADD2_OUT(1));
    printf("only_second %d %d %g %g %g %" PRId64 "\n", rc, out[0].data == NULL,
           ((double *)out[1].data)[0], ((double *)out[1].data)[2], (double)out[0].ndim,
           out[1].shape[0]);
    free(out[1].data);
    out[1].data = NULL;

    /* a caller buffer of the wrong size: nothing written, the right shape reported */
    out[0].data = buffer;
    out[0].ndim = 1;
    out[0].shape[0] = 4;
    rc = add2(in, out, ADD2_ALL);
    printf("wrong_buffer %d %" PRId64 " %g %d\n", rc, out[0].shape[0], buffer[0],
           out[1].data == NULL);

    /* the right size: written there */
    rc = add2(in, out, ADD2_OUT(0));
    printf("right_buffer %d %g %g %g %g\n", rc, buffer[0], buffer[1], buffer[2], buffer[3]);

    /* inputs that do not fit together: a node declines */
    in[1].shape[0] = 2;
    out[0].data = NULL;
    rc = add2(in, out, ADD2_ALL);
    printf("mismatch %d %d\n", rc, out[0].data == NULL && out[1].data == NULL);
    in[1].shape[0] = 3;

    /* bad descriptions of inputs */
    in[0].ndim = 2;
    printf("wrong_ndim %d\n", add2(in, out, ADD2_ALL));
    in[0].ndim = 1;
    in[0].shape[0] = -1;
    printf("negative_size %d\n", add2(in, out, ADD2_ALL));
    in[0].shape[0] = 3;
    in[0].data = NULL;
    printf("null_data %d\n", add2(in, out, ADD2_ALL));

    /* shapes need no data here */
    in[0].shape[0] = 5;
    in[1].shape[0] = 5;
    in[1].data = NULL;
    rc = add2_shapes(in, out);
    printf("shapes %d %" PRId64 " %" PRId64 " %" PRId64 "\n", rc, out[0].ndim, out[0].shape[0],
           out[1].shape[0]);

    /* empty inputs: empty outputs, still from malloc */
    in[0].shape[0] = in[1].shape[0] = 0;
    rc = add2(in, out, ADD2_ALL);
    printf("empty %d %" PRId64 " %d\n", rc, out[0].shape[0], out[0].data != NULL);
    free(out[0].data);
    free(out[1].data);

    printf("message %s\n", add2_error_message(ADD2_ERR_DECLINED));
    printf("info %s %" PRId64 " %" PRId64 " %d\n", add2_output_info(1)->dtype,
           add2_output_info(1)->ndim, add2_output_info(1)->shape[0], add2_input_info(2) == NULL);
    return 0;
}

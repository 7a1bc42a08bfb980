/* tc_conv_check.h: the im2col-vs-reference convolution check shared by the unit sweep
 * (test_coding_conv.c) and the full sweep (test_coding_slow.c). */
#ifndef FCDCC_TC_CONV_CHECK_H
#define FCDCC_TC_CONV_CHECK_H

#include <stdint.h>

#include "cod_conv.h"

/* Run cod_conv2d_f64 and cod_conv2d_f32 on seeded data for g, with exactly
 * cod_conv_workspace_bytes of workspace followed by a canary region, and compare with
 * the direct reference (Criterion expectations). Returns the worst error measured in
 * units of the tolerance (<= 1 passes). */
double tc_conv_check(const cod_conv_geom *g, uint64_t seed);

#endif

/* test_coding_slow.c: the full convolution sweep, every combination of kernel
 * {1,3,5,11}, stride {1,2,4}, padding {0,1,2}, C {1,3,7}, H and W {7,13,17,31} and
 * N {1,5,8} (im2col fp64 and fp32 against the direct reference, guarded workspace). */
#include <criterion/criterion.h>

#include "tc_conv_check.h"
#include "tc_util.h"

Test(conv_slow, full_product_sweep, .timeout = 170) {
  const size_t ks[4] = {1, 3, 5, 11}, ss[3] = {1, 2, 4}, ps[3] = {0, 1, 2};
  const size_t cs[3] = {1, 3, 7}, hs[4] = {7, 13, 17, 31}, ns[3] = {1, 5, 8};
  size_t run = 0, skipped = 0;
  double worst = 0;
  for (size_t a = 0; a < 4; a++)
    for (size_t b = 0; b < 3; b++)
      for (size_t c = 0; c < 3; c++)
        for (size_t d = 0; d < 3; d++)
          for (size_t h = 0; h < 4; h++)
            for (size_t w = 0; w < 4; w++)
              for (size_t e = 0; e < 3; e++) {
                cod_conv_geom g = tc_geom(cs[d], hs[h], hs[w], ns[e], ks[a], ks[a], ss[b], ps[c]);
                if (!cod_conv_geom_valid(&g)) {
                  skipped++;
                  continue;
                }
                double x = tc_conv_check(&g, run + 1);
                if (x > worst) worst = x;
                run++;
              }
  cr_log_info("full conv sweep: %zu geometries, %zu skipped, worst %.3g x tolerance", run,
              skipped, worst);
  cr_expect_gt(run, 4000);
}

/* fuzz_harness.h: the five fuzz targets of fcdcc, shared by libFuzzer and the tests.
 *
 * Each target feeds one hostile byte string to one parser of the libraries and checks
 * the contracts every parser promises (cod_status.h): a status in the documented set, a
 * message on failure whose status field matches, out-parameters untouched on failure,
 * and, on success, an object whose derived quantities are consistent. A broken
 * contract calls abort(), which libFuzzer reports as a crash and Criterion as a failed
 * test; memory errors and leaks are left to the sanitizers. The functions return the
 * parser's status so that tests/fuzz/test_fuzz.c can also check the expected outcome
 * of each seed. They are test code: they may abort, the libraries never do.
 */
#ifndef FCDCC_FUZZ_HARNESS_H
#define FCDCC_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* abort() (a crash for libFuzzer, a failure for Criterion) when a contract is broken. */
#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) abort(); \
  } while (0)

/* Scenario parser: run_scenario_parse, then run_scenario_validate, then a few points
 * (first, last and some between) through run_scenario_point, _point_json and _label.
 * Returns the parse status, or the validate status if the file parsed. */
int fuzz_scenario_one(const uint8_t *data, size_t size);

/* .npy reader: cod_npy_parse. Returns its status. */
int fuzz_npy_one(const uint8_t *data, size_t size);

/* Model reader: model_parse_buf, then the layer records, and a coded plan
 * (cod_code_new) for each of the first convolution layers. Returns the parse status. */
int fuzz_model_one(const uint8_t *data, size_t size);

/* Data-set readers: model_idx_parse and model_npy_u8_parse (models/model_data.h). Returns
 * the IDX status for an input starting with 0x00, else the .npy status. */
int fuzz_idx_one(const uint8_t *data, size_t size);

/* Latency trace CSV reader: sim_latency_new_from_params with model TRACE on the input
 * (through a memfd), then samples for the first workers. Returns the build status. */
int fuzz_trace_one(const uint8_t *data, size_t size);

/* Command-line number parsers (cli/cli_parse.h): byte 0 picks size, double, size list or
 * shape, byte 1 the bounds, the rest is the text. COD_OK if accepted, COD_EFORMAT if not. */
int fuzz_cli_one(const uint8_t *data, size_t size);

/* The libFuzzer entry point; each fuzz_*.c defines it only in the fuzz build. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

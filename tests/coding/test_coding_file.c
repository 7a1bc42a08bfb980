/* test_coding_file.c: cod_file (non-blocking regular-file opens, atomic outputs) and the
 * .npy reader's file checks. Every error path of coding/cod_file.h is taken on purpose:
 * missing paths, a FIFO (which must not block: the test would hang), a directory, a
 * character device, a size limit, NUL bytes with their line, over-long lines, outputs
 * that are not regular files, a failed write, abort, and a symbolic link as the output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cod_alloc.h"
#include "cod_file.h"
#include "cod_tensor.h"

static char g_dir[256];

static void setup(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/fcdcc-file-test-XXXXXX");
  cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void) {
  /* the few names the tests make; rmdir fails loudly if one was left over */
  static const char *const names[] = {"a.txt", "fifo", "sub", "out.bin", "link.bin",
                                      "nul.txt", "long.txt", "big.npy", "dir.npy"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char p[400];
    snprintf(p, sizeof p, "%s/%s", g_dir, names[i]);
    if (unlink(p) != 0) rmdir(p);
  }
  cr_expect_eq(rmdir(g_dir), 0, "left-over files in %s: %s", g_dir, strerror(errno));
}

static void path_of(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", g_dir, name);
}

static void write_bytes(const char *name, const void *data, size_t n) {
  char p[400];
  path_of(p, sizeof p, name);
  FILE *f = fopen(p, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(data, 1, n, f), n);
  cr_assert_eq(fclose(f), 0);
}

/* How many of the names the tests make exist (a temporary file must not stay: teardown's
 * rmdir then fails too). */
static int dir_entries(void) {
  int n = 0;
  struct stat sb;
  static const char *const names[] = {"a.txt", "fifo", "sub", "out.bin", "link.bin"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char q[400];
    path_of(q, sizeof q, names[i]);
    n += lstat(q, &sb) == 0;
  }
  return n;
}

TestSuite(cod_file, .init = setup, .fini = teardown);

Test(cod_file, open_regular_refuses_what_is_not_a_file) {
  char p[400];
  cod_err e = {0};
  int fd = -7;
  size_t size = 99;
  path_of(p, sizeof p, "missing");
  cr_expect_eq(cod_file_open_regular(p, "scenario", 0, &fd, &size, &e), COD_EIO);
  cr_expect(strstr(e.msg, "cannot open: No such file") != NULL, "%s", e.msg);
  cr_expect(fd == -7 && size == 99, "outputs touched on failure");
  cr_expect(strstr(e.msg, "current directory") == NULL, "an absolute path: %s", e.msg);
  /* a relative path that is not there names the directory it was taken from */
  char cwd[400];
  cr_assert_not_null(getcwd(cwd, sizeof cwd));
  cr_expect_eq(cod_file_open_regular("no-such-dir-here/model.onnx", "model", 0, &fd, &size, &e),
               COD_EIO);
  char want[520];
  snprintf(want, sizeof want, "(a relative path is taken from the current directory, %s)", cwd);
  cr_expect(strstr(e.msg, "no-such-dir-here/model.onnx: cannot open: No such file") != NULL &&
                strstr(e.msg, want) != NULL,
            "%s", e.msg);
  /* a FIFO without a writer: a blocking open would hang this test */
  path_of(p, sizeof p, "fifo");
  cr_assert_eq(mkfifo(p, 0600), 0);
  cr_expect_eq(cod_file_open_regular(p, "trace", 0, &fd, &size, &e), COD_EIO);
  cr_expect(strstr(e.msg, "is a FIFO, not a regular file (the trace must be a file)"), "%s", e.msg);
  path_of(p, sizeof p, "sub");
  cr_assert_eq(mkdir(p, 0700), 0);
  cr_expect_eq(cod_file_open_regular(p, NULL, 0, &fd, &size, &e), COD_EIO);
  cr_expect(strstr(e.msg, "is a directory, not a regular file (the input must be a file)"), "%s", e.msg);
  cr_expect_eq(cod_file_open_regular("/dev/null", "model", 0, &fd, &size, &e), COD_EIO);
  cr_expect(strstr(e.msg, "is a character device"), "%s", e.msg);
  cr_expect_eq(cod_file_open_regular("", "model", 0, &fd, &size, &e), COD_EIO);
  cr_expect(strstr(e.msg, "empty model file name"), "%s", e.msg);
  cr_expect(fd == -7 && size == 99, "outputs touched on failure");
}

Test(cod_file, open_regular_checks_the_size_before_reading) {
  write_bytes("a.txt", "0123456789", 10);
  char p[400];
  path_of(p, sizeof p, "a.txt");
  cod_err e = {0};
  int fd = -1;
  size_t size = 0;
  cr_expect_eq(cod_file_open_regular(p, "model", 9, &fd, &size, &e), COD_EFORMAT);
  cr_expect(strstr(e.msg, "10 bytes is too large for a model file (max 9)"), "%s", e.msg);
  cr_assert_eq(cod_file_open_regular(p, "model", 10, &fd, &size, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(size, 10);
  int fl = fcntl(fd, F_GETFL);
  cr_expect((fl & O_NONBLOCK) == 0, "O_NONBLOCK left set");
  close(fd);
  FILE *f = NULL;
  cr_assert_eq(cod_file_fopen_regular(p, "x", 0, &f, &size, &e), COD_OK, "%s", e.msg);
  char buf[16] = "";
  cr_expect_eq(fread(buf, 1, sizeof buf, f), 10);
  cr_expect_eq(memcmp(buf, "0123456789", 10), 0);
  fclose(f);
}

Test(cod_file, read_all_and_nul_bytes) {
  write_bytes("nul.txt", "line one\nline two\nli\0ne three\n", 30);
  char p[400];
  path_of(p, sizeof p, "nul.txt");
  cod_err e = {0};
  char *buf = (char *)0x1;
  size_t len = 77;
  cr_expect_eq(cod_file_read_all(p, "scenario", 0, 1, &buf, &len, &e), COD_EFORMAT);
  cr_expect(strstr(e.msg, "nul.txt:3: NUL byte in a text file"), "%s", e.msg);
  cr_expect(buf == (char *)0x1 && len == 77, "outputs touched on failure");
  /* binary reads keep the NUL and terminate the buffer */
  cr_assert_eq(cod_file_read_all(p, "weights", 0, 0, &buf, &len, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(len, 30);
  cr_expect_eq(buf[20], '\0');
  cr_expect_eq(buf[30], '\0');
  cr_expect_eq(memcmp(buf, "line one\n", 9), 0);
  cod_free(buf);
  cr_expect_eq(cod_file_read_all(p, "scenario", 29, 1, &buf, &len, &e), COD_EFORMAT);
  cr_expect(strstr(e.msg, "too large"), "%s", e.msg);
}

Test(cod_file, read_line_reports_long_lines_and_nul) {
  write_bytes("long.txt", "ab\nabcdefgh\nx\0y\nlast", 20);
  char p[400];
  path_of(p, sizeof p, "long.txt");
  FILE *f = fopen(p, "rb");
  cr_assert_not_null(f);
  char buf[6];
  cr_expect_eq(cod_file_read_line(f, buf, sizeof buf), 1);
  cr_expect_str_eq(buf, "ab\n");
  cr_expect_eq(cod_file_read_line(f, buf, sizeof buf), 2, "a line longer than 5 bytes");
  cr_expect_str_eq(buf, "abcde");
  fclose(f);
  f = fopen(p, "rb");
  char big[64];
  cr_expect_eq(cod_file_read_line(f, big, sizeof big), 1);
  cr_expect_eq(cod_file_read_line(f, big, sizeof big), 1);
  cr_expect_eq(cod_file_read_line(f, big, sizeof big), 3, "NUL byte");
  cr_expect_eq(cod_file_read_line(f, big, sizeof big), 1, "the rest of the NUL line");
  cr_expect_eq(cod_file_read_line(f, big, sizeof big), 1);
  cr_expect_str_eq(big, "last");
  cr_expect_eq(cod_file_read_line(f, big, sizeof big), 0);
  fclose(f);
}

Test(cod_file, out_replaces_atomically_and_refuses_non_files) {
  char p[400];
  cod_err e = {0};
  cod_file_out o;
  path_of(p, sizeof p, "out.bin");
  write_bytes("out.bin", "old", 3);
  cr_assert_eq(cod_file_out_open(&o, p, &e), COD_OK, "%s", e.msg);
  cr_expect(strstr(o.tmp_path, "/.out.bin.tmp-") != NULL, "%s", o.tmp_path);
  fputs("new contents", o.f);
  struct stat sb;
  cr_assert_eq(stat(p, &sb), 0);
  cr_expect_eq(sb.st_size, 3, "the old file stays until the commit");
  cr_assert_eq(cod_file_out_commit(&o, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(stat(p, &sb), 0);
  cr_expect_eq(sb.st_size, 12);
  cr_expect_eq(dir_entries(), 1, "a temporary file stayed behind");
  /* abort: the old file is untouched and the temporary file is gone */
  cr_assert_eq(cod_file_out_open(&o, p, &e), COD_OK, "%s", e.msg);
  fputs("half", o.f);
  cod_file_out_abort(&o);
  cr_assert_eq(stat(p, &sb), 0);
  cr_expect_eq(sb.st_size, 12);
  cr_expect_eq(dir_entries(), 1);
  /* a failed write (the stream in error) is refused at commit, nothing replaced */
  cr_assert_eq(cod_file_out_open(&o, p, &e), COD_OK, "%s", e.msg);
  fputs("x", o.f);
  char rbuf[4];
  errno = 0;
  (void)fread(rbuf, 1, 1, o.f); /* reading a write-only stream sets its error flag */
  cr_expect_eq(cod_file_out_commit(&o, &e), COD_EIO);
  cr_expect(strstr(e.msg, "out.bin: write error"), "%s", e.msg);
  cr_assert_eq(stat(p, &sb), 0);
  cr_expect_eq(sb.st_size, 12);
  cr_expect_eq(dir_entries(), 1);
  /* not regular files: refused before anything is created */
  cr_expect_eq(cod_file_out_open(&o, "/dev/null", &e), COD_EIO);
  cr_expect(strstr(e.msg, "/dev/null: is a character device; refusing"), "%s", e.msg);
  cr_expect(o.f == NULL && o.tmp_path == NULL);
  path_of(p, sizeof p, "sub");
  cr_assert_eq(mkdir(p, 0700), 0);
  cr_expect_eq(cod_file_out_open(&o, p, &e), COD_EIO);
  cr_expect(strstr(e.msg, "is a directory; refusing"), "%s", e.msg);
  path_of(p, sizeof p, "fifo");
  cr_assert_eq(mkfifo(p, 0600), 0);
  cr_expect_eq(cod_file_out_open(&o, p, &e), COD_EIO);
  cr_expect(strstr(e.msg, "is a FIFO; refusing"), "%s", e.msg);
  cr_expect_eq(cod_file_out_open(&o, "", &e), COD_EIO);
  cr_expect_eq(cod_file_out_open(&o, "/nonexistent-dir-fcdcc/x", &e), COD_EIO);
  cr_expect(strstr(e.msg, "cannot create"), "%s", e.msg);
}

Test(cod_file, out_through_a_symlink_writes_the_target) {
  char p[400], l[400];
  cod_err e = {0};
  cod_file_out o;
  path_of(p, sizeof p, "out.bin");
  path_of(l, sizeof l, "link.bin");
  write_bytes("out.bin", "old", 3);
  cr_assert_eq(symlink(p, l), 0);
  cr_assert_eq(cod_file_out_open(&o, l, &e), COD_OK, "%s", e.msg);
  fputs("via link", o.f);
  cr_assert_eq(cod_file_out_commit(&o, &e), COD_OK, "%s", e.msg);
  struct stat sb;
  cr_assert_eq(lstat(l, &sb), 0);
  cr_expect(S_ISLNK(sb.st_mode), "the link was replaced by a file");
  cr_assert_eq(stat(p, &sb), 0);
  cr_expect_eq(sb.st_size, 8);
}

/* Limit this test process's address space to its current size + 512 MiB, so that reading
 * a 1 GiB file into memory fails (Criterion runs each test in its own process). Skipped
 * under ASan or valgrind, whose address space is already huge. Returns 1 if set. */
static int limit_address_space(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  long long vm_kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %lld kB", &vm_kb) == 1) break;
  fclose(f);
  if (vm_kb < 0 || vm_kb > (8LL << 20)) return 0;
  struct rlimit rl = {(rlim_t)(vm_kb * 1024 + (512LL << 20)), RLIM_INFINITY};
  return setrlimit(RLIMIT_AS, &rl) == 0;
}

/* .npy: the header is checked against the file size before the data are read: a 1 GiB
 * sparse file with a small header is refused without allocating its size (with the
 * address space limited, reading it first would fail as "out of memory" instead). */
Test(cod_file, npy_header_checked_against_the_file_size) {
  char p[400];
  path_of(p, sizeof p, "big.npy");
  cod_tensor t = {0};
  cod_err e = {0};
  cr_assert_eq(cod_tensor_init(&t, 1, 2, 3, 4, COD_F64, &e), COD_OK);
  for (size_t i = 0; i < 24; i++) ((double *)t.data)[i] = (double)i * 0.37 - 2;
  cr_assert_eq(cod_npy_save(p, &t, &e), COD_OK, "%s", e.msg);
  cod_tensor back;
  cr_assert_eq(cod_npy_load(p, &back, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(memcmp(back.data, t.data, 24 * sizeof(double)), 0);
  cod_tensor_fini(&back);
  cr_assert_eq(truncate(p, 1L << 30), 0);
  if (!limit_address_space()) /* info, not warn: a warning makes Criterion exit 1 */
    cr_log_info("RLIMIT_AS not set (sanitizer or valgrind build)");
  long before = cod_alloc_count();
  memset(&back, 0x5a, sizeof back);
  cod_tensor keep = back;
  cr_expect_eq(cod_npy_load(p, &back, &e), COD_EFORMAT);
  cr_expect(strstr(e.msg, "needs 192 data bytes but the file has 1073741696"), "%s", e.msg);
  cr_expect_eq(memcmp(&back, &keep, sizeof back), 0, "output touched on failure");
  cr_expect(cod_alloc_count() - before <= 1, "more than the header was allocated");
  /* a directory is a clear error, not "out of memory reading 9223372036854775807 bytes" */
  path_of(p, sizeof p, "dir.npy");
  cr_assert_eq(mkdir(p, 0700), 0);
  cr_expect_eq(cod_npy_load(p, &back, &e), COD_EIO);
  cr_expect(strstr(e.msg, "is a directory, not a regular file"), "%s", e.msg);
  /* saving onto a device is refused and the device stays */
  cr_expect_eq(cod_npy_save("/dev/null", &t, &e), COD_EIO);
  cr_expect(strstr(e.msg, "refusing"), "%s", e.msg);
  struct stat sb;
  cr_expect(stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode));
  cod_tensor_fini(&t);
}

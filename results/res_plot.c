/* res_plot.c: drawing the figures with gnuplot run as a child process (see res_plot.h).
 *
 * Design. This is the drawing layer only: it knows nothing of individual figures (their
 * table, queries and labels are res_figures.c). The figure side fills a `fig`
 * (res_draw.h): plain numbers and sanitised labels.
 * This file writes them into a private temporary directory (mkdtemp): `data.txt` holds one
 * gnuplot data block per series (blocks separated by two blank lines, addressed with
 * `index`), `plot.gp` the script, `gnuplot.err` the child's stderr. gnuplot is started with
 * posix_spawn and an argument vector {gnuplot, plot.gp}: no shell ever parses anything, and
 * every string that reaches the script is either ours or passed through
 * res_fig_text_clean() (data-derived labels) or quoted (the output path), so a scheme or
 * model name in the database cannot inject gnuplot commands (gnuplot has `system`).
 * The script draws the PNG (pngcairo), then switches terminal and replots into the SVG.
 * Afterwards the temporary files are removed whatever happened, and both outputs are
 * checked to be non-empty (the PNG by its signature).
 *
 * gnuplot is looked up by this module on the caller's search path (no getenv here), which
 * lets the caller and the tests decide what "installed" means. Costs: one fork/exec per
 * figure; data sizes are a few hundred points.
 */
#include "res_draw.h"
#include "res_plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cod_alloc.h"
#include "cod_file.h"

extern char **environ;

#define PLOT_PATH_MAX 4096

/* ---- finding gnuplot ------------------------------------------------------------------ */

static int is_exec_file(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, X_OK) == 0;
}

int res_plot_gnuplot_find(const res_plot_opts *opts, char *buf, size_t cap, cod_err *err) {
  const char *prog = opts && opts->gnuplot ? opts->gnuplot : "gnuplot";
  const char *sp = opts ? opts->search_path : NULL;
  char cand[PLOT_PATH_MAX];
  if (strchr(prog, '/')) {
    if (!is_exec_file(prog))
      return cod_err_set(err, RES_PLOT_ENOGNUPLOT, "gnuplot not found: '%s' is not an "
                         "executable file", prog);
    if (strlen(prog) >= cap)
      return cod_err_set(err, COD_EINVAL, "gnuplot path too long: '%s'", prog);
    memcpy(buf, prog, strlen(prog) + 1);
    return COD_OK;
  }
  while (sp && *sp) {
    size_t len = strcspn(sp, ":");
    /* an empty PATH element means the current directory, as for execvp */
    int n = len ? snprintf(cand, sizeof cand, "%.*s/%s", (int)len, sp, prog)
                : snprintf(cand, sizeof cand, "./%s", prog);
    if (n > 0 && (size_t)n < sizeof cand && is_exec_file(cand)) {
      if ((size_t)n >= cap) return cod_err_set(err, COD_EINVAL, "gnuplot path too long");
      memcpy(buf, cand, (size_t)n + 1);
      return COD_OK;
    }
    sp += len;
    if (*sp == ':') sp++;
  }
  return cod_err_set(err, RES_PLOT_ENOGNUPLOT, "gnuplot not found (looked for '%s' on the "
                     "search path; install gnuplot, e.g. apt-get install gnuplot-nox)", prog);
}

/* ---- writing data and script ------------------------------------------------------------ */

/* Write s into f as a gnuplot single-quoted string: ' doubles, nothing else is special.
 * Control characters are refused (they would end the command). */
static int put_quoted(FILE *f, const char *s) {
  for (const char *p = s; *p; p++)
    if ((unsigned char)*p < 0x20) return COD_EINVAL;
  fputc('\'', f);
  for (const char *p = s; *p; p++) {
    if (*p == '\'') fputc('\'', f);
    fputc(*p, f);
  }
  fputc('\'', f);
  return COD_OK;
}

static void put_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.17g", v);
  else fputs("NaN", f);
}

static void write_data(FILE *f, const fig *g) {
  if (g->kind == FIG_STACKED_PCT) {
    for (size_t r = 0; r < g->nrows; r++) {
      fprintf(f, "\"%s\"", g->rows[r]);
      for (size_t c = 0; c < g->ncols; c++) {
        fputc(' ', f);
        put_num(f, g->cells[r * g->ncols + c]);
      }
      fputc('\n', f);
    }
    return;
  }
  /* On an integer x axis the error bars of several series would sit on one another: each
   * series with bars is drawn shifted by a fraction of a tic, spread over 30% of it. */
  size_t nb = 0, jb = 0;
  for (size_t i = 0; i < g->ns; i++) nb += g->s[i].band;
  double spread = g->xstep > 0 && !g->logx && nb > 1 ? 0.3 * g->xstep : 0;
  for (size_t i = 0; i < g->ns; i++) {
    if (i) fputs("\n\n", f);
    fprintf(f, "# %s\n", g->s[i].title);
    double dx = g->s[i].band && spread > 0 ? ((double)jb++ + 0.5) / (double)nb * spread - spread / 2 : 0;
    for (size_t k = 0; k < g->s[i].n; k++) {
      put_num(f, g->s[i].x[k] + dx);
      fputc(' ', f);
      put_num(f, g->s[i].y[k]);
      if (g->s[i].band) { /* a point without an interval gets a zero-length bar */
        int has = isfinite(g->s[i].lo[k]) && isfinite(g->s[i].hi[k]);
        fputc(' ', f);
        put_num(f, has ? g->s[i].lo[k] : g->s[i].y[k]);
        fputc(' ', f);
        put_num(f, has ? g->s[i].hi[k] : g->s[i].y[k]);
      }
      fputc('\n', f);
    }
  }
}

/* The canvas and the legend. At most 12 series: a 1200 x 720 canvas, the legend in one
 * column right of the plot. More: the legend goes below the plot in as many columns as its
 * longest entry allows (at most 3, estimated at LEGEND_CHAR_PX per character of the 9-point
 * legend font), and the canvas grows by the legend's rows (LEGEND_ROW_PX each) with the
 * plot's bottom edge fixed above them, so the plot keeps its frame and the legend never
 * covers the axes or the note, whatever the number of series. */
#define CANVAS_W_PX 1200
#define CANVAS_H_PX 720
#define LEGEND_CHAR_PX 8.0 /* above the font's mean width: never more columns than gnuplot fits */
#define LEGEND_ROW_PX 15 /* the 9-point font's row is about 14 px */
#define LEGEND_SAMPLE_PX 60 /* the line sample, its gap and the column gap */

typedef struct layout {
  int height_px;      /* canvas height */
  size_t cols, rows;  /* legend below the plot: its columns and rows; rows 0: at the right */
  double bottom;      /* rows > 0: the plot's bottom edge, as a fraction of the canvas */
} layout;

static layout layout_of(const fig *g) {
  layout L = {CANVAS_H_PX, 1, 0, 0};
  if (g->kind != FIG_XY || g->ns <= 12) return L;
  size_t longest = 0;
  for (size_t i = 0; i < g->ns; i++) {
    size_t len = strlen(g->s[i].title);
    if (len > longest) longest = len;
  }
  double entry_px = (double)longest * LEGEND_CHAR_PX + LEGEND_SAMPLE_PX;
  double fit = floor((CANVAS_W_PX - 40) / entry_px);
  L.cols = fit >= 3 ? 3 : fit >= 2 ? 2 : 1;
  L.rows = (g->ns + L.cols - 1) / L.cols;
  /* below the plot: tic labels and x label (70 px), the legend, the note line (25 px) */
  int below_px = 70 + (int)L.rows * LEGEND_ROW_PX + 20 + (g->note[0] ? 25 : 5);
  L.height_px = CANVAS_H_PX - 110 + below_px;
  L.bottom = (double)below_px / (double)L.height_px;
  return L;
}

static void write_axes(FILE *f, const fig *g) {
  const char *ne = g->plain ? " noenhanced" : "";
  fprintf(f, "set title \"%s\" font ',14'%s\n", g->title, ne);
  fprintf(f, "set xlabel \"%s\"%s\nset ylabel \"%s\"%s\n", g->xlabel, ne, g->ylabel, ne);
  fputs("set grid xtics ytics mxtics mytics lc rgb '#dddddd'\n", f);
  fputs("set border lw 1.2\nset tics out nomirror\n", f);
  if (g->logx) fprintf(f, "set logscale x %d\n", g->logx);
  if (g->logy) fputs("set logscale y 10\nset format y '10^{%L}'\n", f);
  if (g->logx == 10) fputs("set format x '10^{%L}'\n", f);
  if (g->xstep > 0) fprintf(f, "set xtics %g\nset mxtics 1\n", g->xstep);
  /* the legend outside the data (layout_of): at the right, or below on a taller canvas */
  layout L = layout_of(g);
  if (!L.rows)
    fputs("set key outside right top vertical Left reverse noenhanced samplen 3 spacing 1.1 "
          "font ',10'\n", f);
  else
    fprintf(f, "set key at screen 0.5, screen %.5f center top horizontal Left reverse "
            "noenhanced samplen 3 maxcols %zu maxrows %zu font ',9'\n",
            L.bottom - 70.0 / L.height_px, L.cols, L.rows);
  if (L.rows)
    fprintf(f, "set bmargin at screen %.5f\n", L.bottom);
  else if (g->note[0])
    fputs("set bmargin 6\n", f);
  if (g->note[0])
    fprintf(f, "set label 99 \"%s\" at screen 0.01, screen 0.015 left font ',9' "
            "noenhanced\n", g->note);
  fputs("set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\n", f);
  if (g->diag) { /* simulated against measured: one range for both axes, square plot */
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < g->ns; i++)
      for (size_t k = 0; k < g->s[i].n; k++) {
        double v[2] = {g->s[i].x[k], g->s[i].y[k]};
        for (int d = 0; d < 2; d++)
          if (isfinite(v[d]) && v[d] > 0) lo = fmin(lo, v[d]), hi = fmax(hi, v[d]);
      }
    if (lo <= hi && hi < 30 * lo) { /* within a decade or so: linear axes show tics */
      fputs("unset logscale\nset format x '%g'\nset format y '%g'\n", f);
      lo = lo / 1.2, hi = hi * 1.1;
    } else {
      lo = lo / 1.5, hi = hi * 1.5;
    }
    if (lo <= hi) {
      fprintf(f, "set xrange [%.6g:%.6g]\nset yrange [%.6g:%.6g]\n", lo, hi, lo, hi);
      fputs("set offsets 0, 0, 0, 0\nset size ratio -1\n", f);
    }
  }
}

/* Series style: colour, marker and dash all follow the series' colour index, each from a
 * list of a different length (12 colours, 10 markers, 4 dash patterns), so two series
 * differ in at least two of the three up to 60 series, and fp32 and fp64 never differ by
 * colour alone. Dash 2 (dashed) is kept for analytic curves, which also have open marks. */
static const char *const palette[12] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                        "#9467bd", "#8c564b", "#e377c2", "#17becf",
                                        "#7f7f7f", "#bcbd22", "#000000", "#aec7e8"};

static void write_xy_plot(FILE *f, const fig *g, const char *data) {
  static const int pts[10] = {7, 5, 9, 11, 13, 15, 1, 2, 3, 8};
  static const int dts[4] = {1, 4, 5, 3};
  fputs("plot ", f);
  for (size_t i = 0; i < g->ns; i++) {
    const fig_series *s = &g->s[i];
    size_t c = (size_t)(s->color > 0 ? s->color - 1 : 0);
    if (i) fputs(", \\\n     ", f);
    put_quoted(f, data);
    fprintf(f, " index %zu using 1:2%s ", i, s->band ? ":3:4" : "");
    const char *with = s->band ? "yerrorlines" : "linespoints";
    switch (s->style) {
    case FIG_ANALYTIC:
      fprintf(f, "with %s lw 1.6 dt 2 pt 6 ps 1.4 lc rgb '%s'", with, palette[c % 12]);
      break;
    case FIG_MARK:
      fprintf(f, "with points pt 6 ps 3.5 lw 2.5 lc rgb '%s'", palette[c % 12]);
      break;
    case FIG_STEPS:
      fprintf(f, "with steps lw 2 lc rgb '%s' dt %d", palette[c % 12], dts[c % 4]);
      break;
    case FIG_POINTS:
      fprintf(f, "with %s pt %d ps 1.4 lc rgb '%s'", s->band ? "yerrorbars" : "points",
              pts[c % 10], palette[c % 12]);
      break;
    default:
      fprintf(f, "with %s lw 2 pt %d ps 1.2 lc rgb '%s' dt %d", with, pts[c % 10],
              palette[c % 12], dts[c % 4]);
    }
    fprintf(f, " title \"%s\"", s->title);
  }
  if (g->diag) fputs(", \\\n     x with lines lw 1.5 dt 3 lc rgb '#555555' title \"y = x\"", f);
  fputc('\n', f);
}

static void write_stacked_plot(FILE *f, const fig *g, const char *data) {
  fputs("set style data histograms\nset style histogram rowstacked\n"
        "set style fill solid 0.85 border rgb '#333333'\nset boxwidth 0.65\n"
        "set yrange [0:100]\nset xtics nomirror\nunset mxtics\nset bmargin 7\n"
        "set xlabel offset 0,-2.5\n", f);
  fputs("plot ", f);
  for (size_t c = 0; c < g->ncols; c++) {
    if (c) fputs(", \\\n     ", f);
    put_quoted(f, data);
    fprintf(f, " using %zu%s lc %zu title \"%s\"", c + 2, c == 0 ? ":xtic(1)" : "", c + 1,
            g->coltitle[c]);
  }
  fputc('\n', f);
}

/* The whole script: PNG, then SVG by replot. */
static int write_script(FILE *f, const fig *g, const char *data, const char *png,
                        const char *svg) {
  const int h = layout_of(g).height_px;
  fputs("set encoding utf8\n", f);
  fprintf(f, "set terminal pngcairo size %d,%d enhanced font 'DejaVu Sans,12' linewidth 1.2\n",
          CANVAS_W_PX, h);
  fputs("set output ", f);
  if (put_quoted(f, png)) return COD_EINVAL;
  fputc('\n', f);
  write_axes(f, g);
  if (g->kind == FIG_STACKED_PCT) write_stacked_plot(f, g, data);
  else write_xy_plot(f, g, data);
  fprintf(f, "set terminal svg size %d,%d dynamic enhanced font 'DejaVu Sans,12'\n",
          CANVAS_W_PX, h);
  fputs("set output ", f);
  if (put_quoted(f, svg)) return COD_EINVAL;
  fputs("\nreplot\nunset output\n", f);
  return COD_OK;
}

/* ---- running gnuplot ------------------------------------------------------------------- */

/* First line of the file at path into buf (cap bytes), "" if none. */
static void first_line(const char *path, char *buf, size_t cap) {
  buf[0] = 0;
  FILE *f = fopen(path, "r");
  if (!f) return;
  while (fgets(buf, (int)cap, f)) {
    buf[strcspn(buf, "\n")] = 0;
    if (buf[strspn(buf, " \t^")]) break; /* skip blank lines and gnuplot's caret lines */
  }
  fclose(f);
}

static int run_gnuplot(const char *prog, const char *script, const char *errpath,
                       cod_err *err) {
  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa))
    return cod_err_set(err, COD_ENOMEM, "plot: cannot prepare the gnuplot child");
  int rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 2, errpath,
                                                 O_WRONLY | O_CREAT | O_TRUNC, 0600);
  char *argv[3] = {(char *)"gnuplot", (char *)script, NULL};
  pid_t pid = 0;
  if (!rc) rc = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc)
    return cod_err_set(err, rc == ENOENT ? RES_PLOT_ENOGNUPLOT : COD_EIO,
                       "plot: cannot start gnuplot '%s': %s", prog, strerror(rc));
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0)
    if (errno != EINTR) return cod_err_set(err, COD_EIO, "plot: waitpid: %s", strerror(errno));
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) return COD_OK;
  char line[256];
  first_line(errpath, line, sizeof line);
  if (WIFEXITED(ws))
    return cod_err_set(err, COD_EIO, "plot: gnuplot exited with status %d: %s",
                       WEXITSTATUS(ws), line[0] ? line : "(no message)");
  return cod_err_set(err, COD_EIO, "plot: gnuplot killed by signal %d", WTERMSIG(ws));
}

/* Check that path (named `shown` in messages) is a non-empty PNG (signature) or SVG ("<svg" in the first 4 KiB). */
static int check_output(const char *path, const char *shown, int png, cod_err *err) {
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  char head[4097];
  FILE *f = fopen(path, "rb");
  if (!f) return cod_err_set(err, COD_EIO, "plot: gnuplot wrote no '%s'", shown);
  size_t n = fread(head, 1, sizeof head - 1, f);
  fclose(f);
  head[n] = 0;
  int good = png ? (n >= 8 && memcmp(head, sig, 8) == 0) : (n > 0 && strstr(head, "<svg"));
  return good ? COD_OK : cod_err_set(err, COD_EIO, "plot: '%s' is empty or not a %s", shown,
                                     png ? "PNG" : "SVG");
}

typedef struct tmp_files {
  char dir[PLOT_PATH_MAX], data[PLOT_PATH_MAX], script[PLOT_PATH_MAX], errf[PLOT_PATH_MAX];
  int made;
} tmp_files;

static void tmp_cleanup(tmp_files *t) {
  if (!t->made) return;
  unlink(t->data);
  unlink(t->script);
  unlink(t->errf);
  rmdir(t->dir);
  t->made = 0;
}

static int tmp_make(tmp_files *t, const char *tmp_dir, cod_err *err) {
  if (snprintf(t->dir, sizeof t->dir, "%s/fcdcc-plot-XXXXXX", tmp_dir) >= (int)sizeof t->dir)
    return cod_err_set(err, COD_EINVAL, "plot: temporary directory path too long");
  if (!mkdtemp(t->dir))
    return cod_err_set(err, COD_EIO, "plot: cannot create a temporary directory in '%s': %s",
                       tmp_dir, strerror(errno));
  t->made = 1;
  if (snprintf(t->data, sizeof t->data, "%s/data.txt", t->dir) >= (int)sizeof t->data ||
      snprintf(t->script, sizeof t->script, "%s/plot.gp", t->dir) >= (int)sizeof t->script ||
      snprintf(t->errf, sizeof t->errf, "%s/gnuplot.err", t->dir) >= (int)sizeof t->errf)
    return cod_err_set(err, COD_EINVAL, "plot: temporary directory path too long");
  return COD_OK;
}

/* Write the data and the script into a fresh temporary directory, run gnuplot on them,
 * check both outputs, remove the temporary files. */
static int draw(const fig *g, const char *prog, const char *out_dir, const char *tmp_dir,
                cod_err *err) {
  char png[PLOT_PATH_MAX], svg[PLOT_PATH_MAX];
  if (snprintf(png, sizeof png, "%s/%s.png", out_dir, g->info->name) >= (int)sizeof png ||
      snprintf(svg, sizeof svg, "%s/%s.svg", out_dir, g->info->name) >= (int)sizeof svg)
    return cod_err_set(err, COD_EINVAL, "plot: output directory path too long");
  tmp_files t = {0};
  /* gnuplot writes to temporary files beside the outputs, renamed into place once both
   * are checked: a failed draw leaves an older figure as it was, and an output path that
   * is a device node or directory is refused, never written or removed. */
  for (const char *c = out_dir; *c; c++)
    if ((unsigned char)*c < 0x20)
      return cod_err_set(err, COD_EINVAL, "plot: cannot write the script for '%s' (output "
                         "directory '%s' must not contain control characters)",
                         g->info->name, out_dir);
  cod_file_out opng, osvg;
  memset(&osvg, 0, sizeof osvg);
  int rc = cod_file_out_open(&opng, png, err);
  if (!rc && (rc = cod_file_out_open(&osvg, svg, err))) cod_file_out_abort(&opng);
  if (rc) return rc;
  rc = tmp_make(&t, tmp_dir, err);
  if (rc) goto out;
  FILE *fd = fopen(t.data, "w");
  if (!fd) {
    rc = cod_err_set(err, COD_EIO, "plot: cannot write '%s': %s", t.data, strerror(errno));
    goto out;
  }
  write_data(fd, g);
  if (fclose(fd) != 0) {
    rc = cod_err_set(err, COD_EIO, "plot: write error on '%s'", t.data);
    goto out;
  }
  FILE *fs = fopen(t.script, "w");
  if (!fs) {
    rc = cod_err_set(err, COD_EIO, "plot: cannot write '%s': %s", t.script, strerror(errno));
    goto out;
  }
  rc = write_script(fs, g, t.data, opng.tmp_path, osvg.tmp_path);
  if (fclose(fs) != 0 && !rc) rc = COD_EIO;
  if (rc) {
    rc = cod_err_set(err, rc, "plot: cannot write the script for '%s' (output directory "
                     "'%s' must not contain control characters)", g->info->name, out_dir);
    goto out;
  }
  rc = run_gnuplot(prog, t.script, t.errf, err);
  if (!rc) rc = check_output(opng.tmp_path, png, 1, err);
  if (!rc) rc = check_output(osvg.tmp_path, svg, 0, err);
out:
  tmp_cleanup(&t);
  if (!rc) rc = cod_file_out_commit(&opng, err);
  if (!rc) return cod_file_out_commit(&osvg, err);
  cod_file_out_abort(&opng);
  cod_file_out_abort(&osvg);
  return rc;
}

int res_draw_figure(const fig *g, const char *out_dir, const res_plot_opts *opts,
                    cod_err *err) {
  char prog[PLOT_PATH_MAX];
  int rc = res_plot_gnuplot_find(opts, prog, sizeof prog, err);
  if (!rc) rc = draw(g, prog, out_dir, opts && opts->tmp_dir ? opts->tmp_dir : "/tmp", err);
  return rc;
}

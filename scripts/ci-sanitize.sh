#!/usr/bin/env bash
# CI step: the audit (no shell, no SQL strings, no include against the module graph), then
# the unit suite and the command-line smoke checks under AddressSanitizer +
# UndefinedBehaviorSanitizer (build-asan, gcc).
#
# Every report fails: UBSan halts on the first error, ASan aborts, and because Criterion
# ignores how a forked test child exits after its test passed (LeakSanitizer reports
# there), each test runs under tests/fuzz/sanitizer-wrap.sh, which fails a test whose
# output holds any sanitizer report. The smoke script's output is checked the same way.
# Env: SAN_BUILD (default build-asan). See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bdir=${SAN_BUILD:-build-asan}

# ---- audit (issue 5 part 7): no shell, no SQL built from strings ----------------------
# Library and program code only (tests may do what they like). `ci-sanitize.sh --audit`
# runs only this part.
src_dirs="coding sim models analytic results runner cli mpi"
files=$(find $src_dirs -name '*.[ch]' 2>/dev/null | sort)
audit=$(mktemp -d)
trap 'rm -rf "$audit"' EXIT
# Two copies of the sources with the same line numbers: comments blanked (code/), and
# comments blanked and string literals emptied (bare/), so that prose never matches.
for f in $files; do
  mkdir -p "$audit/code/$(dirname "$f")" "$audit/bare/$(dirname "$f")"
  strip='s{/\*.*?\*/|//[^\n]*|("(?:\\.|[^"\\\n])*"|\x27(?:\\.|[^\x27\\\n])*\x27)}{defined $1 ? ($ENV{KEEP} ? $1 : "\"\"") : ($& =~ tr/\n//cdr)}gse'
  KEEP=1 perl -0777 -pe "$strip" "$f" >"$audit/code/$f"
  KEEP= perl -0777 -pe "$strip" "$f" >"$audit/bare/$f"
done
audit_fail=0
# 1. Nothing that runs a shell or searches PATH with a shell-like exec.
if (cd "$audit/bare" && grep -nE '(^|[^A-Za-z0-9_])(system|popen|execlp|execvp|execvpe|posix_spawnp|wordexp)[[:space:]]*\(' $files) ||
   (cd "$audit/code" && grep -nE '"(/bin/)?(ba|da)?sh"' $files); then
  echo "ci-sanitize: audit: shell use above (run child programs with posix_spawn and an argument vector)"
  audit_fail=1
fi
# 2. No SQL text built at run time: no sqlite3_*printf, no printf-family format holding SQL.
if (cd "$audit/bare" && grep -nE 'sqlite3_v?mprintf|sqlite3_v?snprintf|sqlite3_str_v?appendf' $files) ||
   (cd "$audit/code" && grep -nE '(s|sn|as|vs|vsn)printf[[:space:]]*\(.*"[^"]*\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|PRAGMA|ALTER|ATTACH|REPLACE) ' $files); then
  echo "ci-sanitize: audit: SQL formatted into a string above (use prepared statements with bound parameters)"
  audit_fail=1
fi
# 3. The SQL argument of every sqlite3_exec / sqlite3_prepare* is a string literal, a
#    macro (upper case) or one of the reviewed pass-through parameters listed here
#    (FILE:EXPRESSION); each helper listed is called with literals or macros only, or (in
#    res_db.c, res_export.c and res_gplot.c) with the texts res_schema.c makes from its
#    constant column tables (docs/decisions/011; res_schema_export_sql and
#    res_schema_sample_sql refuse a table or column that is not one of the tables' own), never
#    with input.
allowed='results/res_db.c:sql results/res_db.c:stmt_sql[i] results/res_figures.c:sql'
allowed+=' results/res_export.c:sql results/res_gplot.c:sql'
bad_sql=$(cd "$audit/code" && for f in $files; do
  perl -0777 -ne 'while (/\bsqlite3_(?:exec|prepare(?:_v2|_v3)?)\s*\(\s*[^,]+,\s*([^,]+?)\s*,/g) {
      my $a = $1; my $pre = substr($_, 0, $-[0]);
      printf "%s:%d:%s\n", $ARGV, ($pre =~ tr/\n//) + 1, $a; }' "$f"
done | while IFS=: read -r f line arg; do
  [[ "$arg" == \"* ]] && continue
  [[ "$arg" =~ ^[A-Z_][A-Z0-9_]*$ ]] && continue
  [[ " $allowed " == *" $f:$arg "* ]] && continue
  echo "$f:$line: sqlite3 SQL argument '$arg' is not a literal"
done)
if [ -n "$bad_sql" ]; then
  echo "$bad_sql"
  echo "ci-sanitize: audit: non-literal SQL above (prepared statements with bound parameters only)"
  audit_fail=1
fi
rm -rf "$audit"
# 4. The module graph at the level of #include lines (issue 10 item 7): coding/ includes
#    nothing of fcdcc outside coding/, sim/ and results/ only cod_status.h and cod_alloc.h
#    of it, only results/ includes sqlite3.h, and so on, as the header comment of
#    meson.build states it. The self-test first proves the check can fail (it plants
#    forbidden includes in a temporary copy).
if ! selftest=$(scripts/check-includes.sh --self-test 2>&1); then
  echo "$selftest"
  echo "ci-sanitize: audit: the include check's self-test failed"
  audit_fail=1
fi
if ! scripts/check-includes.sh; then
  echo "ci-sanitize: audit: an #include above breaks the module graph of meson.build"
  audit_fail=1
fi
[ "$audit_fail" -eq 0 ] || exit 1
echo "ci-sanitize: audit ok (no system/popen/shell, SQL only as literals in prepared statements, includes follow the module graph)"
[ "${1:-}" != "--audit" ] || exit 0

# ---- ASan + UBSan build: unit suite and CLI smoke --------------------------------------
if [ ! -f "$bdir/build.ninja" ]; then
  meson setup "$bdir" --buildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false >"$bdir.setup.log" 2>&1 || { cat "$bdir.setup.log"; exit 1; }
  rm -f "$bdir.setup.log"
fi
ninja -C "$bdir" >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export OPENBLAS_NUM_THREADS=1
# One Criterion worker per test executable (meson runs two executables at a time): with
# several workers, Criterion 2.4's runner process itself leaks 48 bytes at exit (an
# allocation under criterion_run_all_tests, not in fcdcc), which the wrapper would report.
export CRITERION_JOBS=1
meson test -C "$bdir" --suite unit --print-errorlogs --num-processes 2 \
  --wrapper "$PWD/tests/fuzz/sanitizer-wrap.sh"
bash tests/cli/smoke.sh "$bdir/cli/fcdcc" || { echo "ci-sanitize: CLI smoke failed"; exit 1; }
# smoke.sh keeps each command's stderr to itself, but with abort_on_error and
# halt_on_error any report (leaks included) turns fcdcc's exit status into 134, which no
# check there expects, so it fails above.
echo "ci-sanitize: ok"

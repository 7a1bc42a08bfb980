#!/usr/bin/env bash
# Test wrapper for sanitizer and valgrind runs (meson test --wrapper, and the exe_wrapper
# of the valgrind test setup): run the test, pass its output through, and fail it if any
# sanitizer report or valgrind error appears in it.
#
# Criterion runs each test in a child process. A UBSan report with halt_on_error=1 or an
# ASan error kills the child and fails that test, but LeakSanitizer reports at the
# child's exit, after Criterion has already recorded the test as passed, and the exit
# status of the child is then ignored; so is valgrind's --error-exitcode in a child.
# The reports still reach stderr (valgrind's framed by --error-markers=FCDCC-VG-ERROR,...),
# so this wrapper turns them into a failing exit status for the whole test executable.
set -u
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" 2> >(tee "$log" >&2)
rc=$?
wait
if grep -qE 'ERROR: (Address|Leak|Undefined|Thread|Memory)Sanitizer|runtime error: |== FCDCC-VG-ERROR$' "$log"; then
  echo "sanitizer-wrap: sanitizer or valgrind report in the output of $1" >&2
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"

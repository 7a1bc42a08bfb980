#!/usr/bin/env bash
# Guard the module graph at the level of #include lines (issue 10 item 7).
#
# The graph is read from the header comment of the top-level meson.build, one line per
# module, so the documentation and the check cannot disagree:
#   #   MODULE -> DEP DEP dir/header.h ... (free text in parentheses; "only includer of <h>")
# A DEP is a whole module (every header in that folder), dir/header.h one header of it,
# `*` everything. A module's own headers and the generated fcdcc_config.h (the build's
# configuration, not a module) are always allowed. "only includer of <h>" makes the
# system header <h> exclusive to that module (sqlite3.h for results/, mpi.h for mpi/).
# Library and program folders are checked; tests/ and bench/ may include what they need.
#
# Usage: scripts/check-includes.sh [--root DIR]   check DIR (default: the repository)
#        scripts/check-includes.sh --self-test     prove the check fails: copy the tree to a
#                                                  temporary folder, plant one forbidden
#                                                  include at a time, expect a failure that
#                                                  names it, and expect the clean copy to pass
# Exit status 0 when every include is allowed, 1 with one line per violation otherwise
# (FILE:LINE: MODULE may not include HEADER (...)), 2 for a usage or graph error.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$here
mode=check
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=${2:?--root needs a folder}; shift 2 ;;
    --self-test) mode=self-test; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "check-includes: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

# ---- the check --------------------------------------------------------------------------
check() {
  local root=$1
  perl -e '
    use strict; use warnings;
    sub fatal { print STDERR @_; exit 2 }
    my $root = shift;
    open(my $mf, "<", "$root/meson.build") or fatal "check-includes: $root/meson.build: $!\n";
    my (%deps, %only, @mods);
    while (my $l = <$mf>) {
      last unless $l =~ /^#/;
      next unless $l =~ /^#\s+([a-z]+)\s+->\s*(.*)$/;
      my ($m, $rest) = ($1, $2);
      push @mods, $m;
      $only{$1} = $m while $rest =~ /only includer of <([^>]+)>/g;
      $rest =~ s/\(.*//;                       # free text starts at the first parenthesis
      $deps{$m} = [grep { length } split /[\s,]+/, $rest];
    }
    close $mf;
    fatal "check-includes: no module graph (#   X -> ...) in $root/meson.build\n" unless @mods;
    # Which module owns each fcdcc header: the folder it is in.
    my %owner;
    for my $m (@mods) {
      opendir(my $d, "$root/$m") or fatal "check-includes: module folder $root/$m: $!\n";
      $owner{$_} = $m for grep { /\.h$/ } readdir $d;
      closedir $d;
    }
    for my $m (@mods) {                        # every named dependency must exist
      for my $dep (@{$deps{$m}}) {
        next if $dep eq "*";
        my ($dm, $h) = $dep =~ m{^([a-z]+)(?:/(.+))?$} or fatal "check-includes: bad entry \"$dep\" for $m\n";
        fatal "check-includes: $m -> $dep: no module $dm in the graph\n" unless exists $deps{$dm};
        fatal "check-includes: $m -> $dep: no header $h in $dm/\n" if defined $h && ($owner{$h} // "") ne $dm;
      }
    }
    my $bad = 0;
    for my $m (@mods) {
      my (%mod_ok, %hdr_ok, $all);
      $mod_ok{$m} = 1;
      for my $dep (@{$deps{$m}}) {
        if ($dep eq "*") { $all = 1 }
        elsif ($dep =~ m{^([a-z]+)/(.+)$}) { $hdr_ok{$2} = 1 }
        else { $mod_ok{$dep} = 1 }
      }
      opendir(my $d, "$root/$m") or fatal "check-includes: $root/$m: $!\n";
      for my $f (sort grep { /\.[ch]$/ } readdir $d) {
        open(my $fh, "<", "$root/$m/$f") or fatal "check-includes: $m/$f: $!\n";
        my $in_comment = 0;
        while (my $l = <$fh>) {
          # skip block comments, so that prose about headers never matches
          if ($in_comment) { next unless $l =~ s{^.*?\*/}{}; $in_comment = 0 }
          $l =~ s{/\*.*?\*/}{}g;
          if ($l =~ s{/\*.*$}{}) { $in_comment = 1 }
          next unless $l =~ /^\s*#\s*include\s*([<"])([^>"]+)[>"]/;
          my ($q, $h) = ($1, $2);
          my $why;
          if ($q eq "<") {
            $why = "<$h> is for $only{$h}/ only" if exists $only{$h} && $only{$h} ne $m;
          } elsif ($h ne "fcdcc_config.h" && exists $owner{$h}) {
            my $o = $owner{$h};
            $why = "$o/$h: $m -> " . (join(" ", @{$deps{$m}}) || "nothing")
              unless $all || $mod_ok{$o} || $hdr_ok{$h};
          }
          next unless $why;
          print "$m/$f:$.: $m may not include $h ($why, see the graph in meson.build)\n";
          $bad = 1;
        }
        close $fh;
      }
      closedir $d;
    }
    exit $bad;
  ' "$root"
}

if [ "$mode" = check ]; then
  if out=$(check "$root"); then
    echo "check-includes: ok (every #include follows the module graph of meson.build)"
    exit 0
  else
    rc=$?
    [ -n "$out" ] && echo "$out"
    [ "$rc" -eq 1 ] && echo "check-includes: forbidden includes above" >&2
    exit "$rc"
  fi
fi

# ---- self-test: every kind of violation is caught, the clean tree passes ------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fresh() {
  rm -rf "$tmp/t"
  mkdir -p "$tmp/t"
  cp "$here/meson.build" "$tmp/t/"
  for d in $(sed -n 's/^#[[:space:]]\{1,\}\([a-z]\{1,\}\)[[:space:]]\{1,\}->.*/\1/p' "$here/meson.build"); do
    mkdir -p "$tmp/t/$d"
    cp "$here/$d"/*.[ch] "$tmp/t/$d/" 2>/dev/null || true
  done
}
fails=0
expect() { # expect STATUS FRAGMENT DESCRIPTION
  local want=$1 frag=$2 what=$3 out rc=0
  out=$(check "$tmp/t" 2>&1) || rc=$?
  if [ "$rc" -ne "$want" ] || ! grep -qF -- "$frag" <<<"$out"; then
    echo "check-includes self-test FAILED: $what: status $rc (want $want), output:"
    echo "$out"
    fails=$((fails + 1))
  else
    echo "check-includes self-test: $what: caught"
  fi
}
plant() { # plant FILE LINE: append an include line to a copied file
  printf '%s\n' "$2" >>"$tmp/t/$1"
}
fresh
if out=$(check "$tmp/t" 2>&1); then echo "check-includes self-test: the clean copy passes"
else echo "check-includes self-test FAILED: the clean copy fails:"; echo "$out"; fails=$((fails + 1)); fi
fresh; plant coding/cod_tensor.c '#include "sim_rng.h"'
expect 1 "coding/cod_tensor.c" "coding/ including sim/"
fresh; plant sim/sim_rng.c '#include "cod_code.h"'
expect 1 "sim may not include cod_code.h" "sim/ including a coding header other than cod_status.h/cod_alloc.h"
fresh; plant sim/sim_link.h '#include "run_config.h"'
expect 1 "sim may not include run_config.h" "sim/ including runner/"
fresh; plant coding/cod_status.c '#include <sqlite3.h>'
expect 1 "<sqlite3.h> is for results/ only" "sqlite3.h outside results/"
fresh; plant results/res_query.c '#include "cod_code.h"'
expect 1 "results may not include cod_code.h" "results/ beyond cod_status.h/cod_alloc.h"
fresh; plant models/model.c '#include "an_model.h"'
expect 1 "models may not include an_model.h" "models/ including analytic/"
fresh; plant analytic/an_cost.c '#include "res_db.h"'
expect 1 "analytic may not include res_db.h" "analytic/ including results/"
fresh; plant runner/run_sweep.c '#include "mpi_backend.h"'
expect 1 "runner may not include mpi_backend.h" "runner/ including mpi/"
fresh; plant mpi/mpi_util.c '#include "cli.h"'
expect 1 "mpi may not include cli.h" "mpi/ including cli/"
fresh; plant sim/sim_rng.c '/* #include "run_config.h" is prose */'
if out=$(check "$tmp/t" 2>&1); then echo "check-includes self-test: an include in a comment is ignored"
else echo "check-includes self-test FAILED: a commented include counted:"; echo "$out"; fails=$((fails + 1)); fi
fresh; sed -i 's/^#\([[:space:]]*\)sim\([[:space:]]*\)->.*/#\1sim\2-> coding\/no_such.h/' "$tmp/t/meson.build"
expect 2 "no header no_such.h" "a graph naming a header that does not exist"
[ "$fails" -eq 0 ] || { echo "check-includes self-test: $fails failed"; exit 1; }
echo "check-includes self-test: ok"

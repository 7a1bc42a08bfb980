# scripts/blas-env.sh: sourced (not run) after the build by the README's scripts.
# OpenBLAS reads OPENBLAS_CORETYPE once, when it loads; on a CPU it does not recognise it
# falls back to kernels without AVX2 and every GEMM runs several times slower (cod_blas.h).
# If the variable is unset and `fcdcc --blas-core` names a core, export it and say so.
# A value the user set is kept as it is.
if [ -z "${OPENBLAS_CORETYPE+x}" ]; then
  fcdcc_blas_core=$(./build/cli/fcdcc --blas-core)
  if [ -n "$fcdcc_blas_core" ]; then
    export OPENBLAS_CORETYPE="$fcdcc_blas_core"
    echo "blas-env.sh: OpenBLAS does not pick this CPU's kernels by itself; OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE for this run" >&2
  fi
  unset fcdcc_blas_core
fi

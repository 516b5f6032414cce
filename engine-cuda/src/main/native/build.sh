#!/usr/bin/env bash
# Builds, into OUT (target/classes/capi/cuda):
#   kernels.fatbin  nvcc: SASS for sm_80, sm_86, sm_89, sm_90 and compute_90 PTX (loaded with cuModuleLoadData)
#   kernels.ptx     nvcc: compute_90 PTX, read by the tests (every launched kernel is an .entry with its arity)
#   libcapi-emulator.so  g++: the same kernels.cu through emu.h, with the JNI of capi.cuda.EmulatedDevice
# Without nvcc the fatbin and PTX are replaced by kernels.missing (the reason); the rest still builds.
# Usage: build.sh OUT WORK JAVA_HOME. Rebuilds only what is older than the sources.
set -euo pipefail
out=$1 work=$2 java_home=$3
src=$(cd "$(dirname "$0")/.." && pwd) # src/main
cuda_home=${CUDA_HOME:-/usr/local/cuda}
mkdir -p "$out" "$work"
sources=("$src/cuda/kernels.cu" "$src/cuda/common.cuh")

stale() { # stale TARGET DEPS...: true when TARGET is missing or older than a dependency
  local target=$1; shift
  [[ -f $target ]] || return 0
  for d in "$@"; do [[ $d -nt $target ]] && return 0; done
  return 1
}

nvcc=${NVCC:-$(command -v nvcc || true)}
[[ -z $nvcc && -x $cuda_home/bin/nvcc ]] && nvcc=$cuda_home/bin/nvcc
if [[ -n $nvcc ]]; then
  rm -f "$out/kernels.missing"
  if stale "$out/kernels.fatbin" "${sources[@]}"; then
    echo "nvcc: kernels.fatbin (sm_80 sm_86 sm_89 sm_90 + compute_90)"
    "$nvcc" -O3 -std=c++17 -fatbin \
      -gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86 \
      -gencode arch=compute_89,code=sm_89 -gencode arch=compute_90,code='[sm_90,compute_90]' \
      -o "$work/kernels.fatbin" "$src/cuda/kernels.cu"
    mv "$work/kernels.fatbin" "$out/kernels.fatbin"
  fi
  if stale "$out/kernels.ptx" "${sources[@]}"; then
    "$nvcc" -O3 -std=c++17 -ptx -arch=compute_90 -o "$work/kernels.ptx" "$src/cuda/kernels.cu"
    mv "$work/kernels.ptx" "$out/kernels.ptx"
  fi
else
  echo "nvcc not found (CUDA_HOME=$cuda_home): the CUDA backend is built without kernels"
  rm -f "$out/kernels.fatbin" "$out/kernels.ptx"
  echo "built without kernels: nvcc was not found (install the CUDA 13 toolkit, or set NVCC or CUDA_HOME, and rebuild)" >"$out/kernels.missing"
fi

lib=$out/libcapi-emulator.so
if [[ ! -f $cuda_home/include/cuda_bf16.h ]]; then
  echo "$cuda_home/include/cuda_bf16.h not found: the CPU emulator is not built"
  rm -f "$lib"
elif stale "$lib" "${sources[@]}" "$src/native/emu.h" "$src/native/emulator.cpp"; then
  echo "g++: libcapi-emulator.so"
  g++ -O2 -std=c++17 -shared -fPIC -Wall -Wno-unused-function -DCAPI_EMULATION \
    -I"$cuda_home/include" -I"$java_home/include" -I"$java_home/include/linux" \
    -o "$work/libcapi-emulator.so" "$src/native/emulator.cpp"
  mv "$work/libcapi-emulator.so" "$lib"
fi

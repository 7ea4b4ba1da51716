# Build dependencies, detected by what the build really loads. Sourced by
# scripts/setup.sh and .ci/run; tested by tests/scripts.rs.

# True when the dynamic linker knows a libclang that bindgen (clang-sys)
# loads: libclang.so, libclang-N.so, libclang.so.N or libclang-N.so.M — not
# libclang-cpp.so, a different library. Reads an `ldconfig -p` listing
# from stdin when one is piped in, else asks ldconfig.
has_bindgen_libclang() {
  local listing
  if [ -t 0 ] || [ "${1:-}" = "--system" ]; then
    listing=$(ldconfig -p 2>/dev/null)
  else
    listing=$(cat)
  fi
  printf '%s\n' "$listing" | grep -Eq '(^|[[:space:]])libclang(-[0-9][0-9.]*)?\.so(\.[0-9]+)*[[:space:]]' && return 0
  # libclang-dev without a linker cache entry: clang-sys also looks in LLVM's
  # own lib dirs. The names are held to the same pattern: a glob such as
  # libclang-*.so* also matches libclang-cpp.so.N, which LLVM installs
  # without libclang (a fresh Debian 12 with llvm-14 has exactly that).
  # BINDGEN_LIBCLANG_DIRS replaces the dirs searched (tests).
  local dir f
  for dir in ${BINDGEN_LIBCLANG_DIRS:-/usr/lib/llvm-*/lib}; do
    for f in "$dir"/libclang*.so*; do
      [ -e "$f" ] && [[ "${f##*/}" =~ ^libclang(-[0-9][0-9.]*)?\.so(\.[0-9]+)*$ ]] && return 0
    done
  done
  return 1
}

# The Debian packages the build needs that are missing, space-separated.
missing_build_packages() {
  local need=()
  command -v cmake >/dev/null || need+=(cmake)
  has_bindgen_libclang --system </dev/null || need+=(libclang-dev)
  echo "${need[*]}"
}

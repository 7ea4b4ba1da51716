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
  # libclang-dev without a linker cache entry: clang-sys also looks here
  compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null || compgen -G '/usr/lib/llvm-*/lib/libclang-*.so*' >/dev/null
}

# The Debian packages the build needs that are missing, space-separated.
missing_build_packages() {
  local need=()
  command -v cmake >/dev/null || need+=(cmake)
  has_bindgen_libclang --system </dev/null || need+=(libclang-dev)
  echo "${need[*]}"
}

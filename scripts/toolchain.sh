#!/usr/bin/env bash
# Installs the build tools affdesk needs, each only when the pinned version is missing, so the
# run and test commands work on a fresh Linux machine and cost nothing on the second run.
# Sourced by scripts/run and scripts/test; it exports PATH so the pinned tools win.
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.11
# Must equal the wasm-bindgen pin in Cargo.toml: cargo-leptos runs the wasm-bindgen on PATH.
WASM_BINDGEN_VERSION=0.2.130
# wasm-opt from npm: Debian's binaryen 108 produces modules that break hydration.
BINARYEN_VERSION=132

AFFDESK_TOOLS_DIR=${AFFDESK_TOOLS_DIR:-$HOME/.cache/affdesk/tools}
export PATH="$HOME/.cargo/bin:$AFFDESK_TOOLS_DIR/node_modules/.bin:$PATH"

log() { printf '[toolchain] %s\n' "$*" >&2; }

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_cargo_leptos() {
  if cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then return; fi
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes on 2 cores, once)"
  # Its published lockfile pins cargo-util-schemas 0.14.2, which needs a newer rustc than this
  # machine's 1.95; 0.14.1 builds. `no_downloads` keeps it from fetching tools at build time.
  local work
  work=$(mktemp -d)
  cargo info "cargo-leptos@$CARGO_LEPTOS_VERSION" >/dev/null
  local crate
  crate=$(ls "$HOME"/.cargo/registry/cache/*/cargo-leptos-"$CARGO_LEPTOS_VERSION".crate | head -1)
  tar -xzf "$crate" -C "$work"
  (
    cd "$work/cargo-leptos-$CARGO_LEPTOS_VERSION"
    cargo update -p cargo-util-schemas --precise 0.14.1
    cargo install --path . --locked --features no_downloads
  )
  rm -rf "$work"
}

ensure_wasm_bindgen() {
  if wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then return; fi
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
}

ensure_wasm_opt() {
  if [ -x "$AFFDESK_TOOLS_DIR/node_modules/.bin/wasm-opt" ]; then return; fi
  log "installing binaryen@$BINARYEN_VERSION (wasm-opt) from npm into $AFFDESK_TOOLS_DIR"
  mkdir -p "$AFFDESK_TOOLS_DIR"
  npm install --prefix "$AFFDESK_TOOLS_DIR" --no-audit --no-fund "binaryen@$BINARYEN_VERSION" >/dev/null
}

# The release as ./scripts/run serves it and ./bench/run measures it: precompressed (a brotli and a
# gzip copy of each file, which browsers then download) and built into the binary (`embed-site`),
# so a deployment is one file. The site is also written to ./target/site (cargo-leptos writes it
# there even with CARGO_TARGET_DIR set), which LEPTOS_SITE_ROOT can serve instead.
AFFDESK_RELEASE_BUILD=(cargo leptos build --release --precompress --bin-features embed-site)
build_release() {
  log "building the release: ${AFFDESK_RELEASE_BUILD[*]}"
  "${AFFDESK_RELEASE_BUILD[@]}"
}

ensure_build_tools() {
  ensure_wasm_target
  ensure_wasm_opt
  ensure_wasm_bindgen
  ensure_cargo_leptos
}

#!/bin/sh
# Formatting, clippy with warnings denied, and the API docs with warnings denied.
set -eu
cargo fmt --all --check
cargo clippy --release --quiet --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --release --quiet --workspace --no-deps
echo "lint: rustfmt, clippy -D warnings and rustdoc -D warnings are clean"

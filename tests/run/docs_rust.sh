#!/bin/sh
# docs_rust.sh FILE...: every ```rust block of the Markdown FILEs, built and run as printed.
# A file's ```toml block is the [dependencies] a reader adds: it becomes the manifest of a
# scratch crate (its path to rshm/ pointed at this tree), and each ```rust block the body of
# `fn main() -> Result<(), Box<dyn std::error::Error>>` in an example of that crate, run in
# a scratch folder of its own through isolated.sh. So a block that uses a crate the toml
# block does not list (libc, say) fails to build. A block right after
# <!-- snippet: illustrative -- WHY --> is a sketch and is not built. Run from the source tree.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(pwd)
out=$root/target/docs-rust
examples=0
for doc in "$@"; do
    grep -q '^```rust' "$doc" || continue
    name=$(basename "$doc" .md | tr -c 'a-z0-9\n' '_')
    crate=$out/$name
    rm -rf "$crate"
    mkdir -p "$crate/examples" "$crate/src"
    printf '[package]\nname = "docs-%s"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[workspace]\n\n' \
        "$(basename "$doc" .md | tr 'A-Z' 'a-z')" > "$crate/Cargo.toml"
    # <!-- snippet: illustrative -- WHY --> right before the fence: a sketch, not built.
    awk -v dir="$crate/examples" -v doc="$doc" 'BEGIN { skip = -9 }
        /^<!-- snippet: illustrative -- .*-->[ \t]*$/ { skip = FNR; next }
        /^```rust/ && skip == FNR - 1 { next }
        /^```rust/ { line = FNR + 1; src = sprintf("%s/line_%d.rs", dir, line)
                     printf "// %s:%d, as the body of main\nfn main() -> Result<(), Box<dyn std::error::Error>> {\n", doc, line > src; next }
        src != "" && /^```/ { print "    Ok(())\n}" > src; close(src); src = ""; next }
        src != "" { print > src }' "$doc"
    ls "$crate"/examples/line_*.rs > /dev/null 2>&1 || continue   # sketches only
    # A file without a ```toml block uses docs/rust-api.md's, which it must link to.
    manifest=$doc
    grep -q '^```toml' "$doc" || manifest=docs/rust-api.md
    [ "$manifest" = "$doc" ] || grep -q 'rust-api.md' "$doc" \
        || { echo "docs: $doc: Rust blocks without a \`\`\`toml block or a link to docs/rust-api.md's"; exit 1; }
    awk '/^```toml/ { f = 1; next } f && /^```/ { f = 0; next } f' "$manifest" \
        | sed "s|path = \"[^\"]*rshm/rshm\"|path = \"$root/rshm\"|" >> "$crate/Cargo.toml"
    grep -q "path = \"$root/rshm\"" "$crate/Cargo.toml" \
        || { echo "docs: $doc: no \`\`\`toml block depending on rshm by its path"; exit 1; }
    : > "$crate/src/lib.rs"
    # The workspace's lock file: the scratch crate builds offline, with the versions make test uses.
    cp Cargo.lock "$crate/"
    CARGO_TARGET_DIR=$out/target cargo build --offline --quiet --examples --manifest-path "$crate/Cargo.toml" \
        || { echo "docs: $doc: a Rust block does not build as printed (examples/line_N.rs is the block at line N)"; exit 1; }
    for src in $(ls "$crate"/examples/line_*.rs | sort -V); do
        example=$(basename "$src" .rs)
        where="$doc:${example#line_}"
        mkdir "$crate/$example.run"
        if ! (cd "$crate/$example.run" && timeout 60 "$here/isolated.sh" "$out/target/debug/examples/$example" \
                < /dev/null > output 2>&1); then
            echo "docs: $where: the Rust block failed when run; its output:"
            sed 's/^/  /' "$crate/$example.run/output"
            exit 1
        fi
        echo "docs: $where: built with its file's [dependencies] and ran"
        examples=$((examples + 1))
    done
done
[ "$examples" -gt 0 ] || { echo "docs: no Rust block found in $*"; exit 1; }
echo "docs: $examples Rust blocks built as printed and run; none left a SysV object"

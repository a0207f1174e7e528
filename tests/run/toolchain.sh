#!/bin/sh
# The two Rust minimums of Cargo.toml are true, and README.md states both:
#   rust-version (workspace.package)                  builds the libraries and the command: no
#       package that the default members need to build (normal and build dependencies, on
#       the tested target) declares a higher rust-version;
#   workspace.metadata.rshm.test-rust-version         runs make test: no package of the
#       workspace's graph (dev-dependencies and the header tool included; bench/ and fuzz/
#       are outside the workspace) declares a higher one.
# Only Rust stable is on the test machines, so the packages' own declarations are the proof
# (clippy's MSRV lints, which read rust-version, keep rshm's own code to the first minimum).
# The checker is checked: told to judge against a claim one step below the highest
# declaration it saw, each part must fail.
set -eu
metadata=$(cargo metadata --format-version 1 --locked --filter-platform x86_64-unknown-linux-gnu)
check() { # check build|test [CLAIM]: prints the claim and the highest declaration, or names each package above it and fails
printf '%s' "$metadata" | python3 -c '
import json, sys
meta = json.load(sys.stdin)
part = sys.argv[1]
def version(text):
    return tuple(int(x) for x in (text.split(".") + ["0", "0"])[:3])
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
members = [packages[i] for i in meta["workspace_members"]]
claims = {p.get("rust_version") for p in members}
if len(claims) != 1 or None in claims:
    sys.exit("toolchain: the workspace members must share one rust-version (Cargo.toml [workspace.package]); they declare %s"
             % sorted(str(c) for c in claims))
if part == "build":
    claim, graph, stack = claims.pop(), set(), list(meta["workspace_default_members"])
    while stack:   # the default members and what they need to build, not their dev-dependencies
        node = stack.pop()
        if node not in graph:
            graph.add(node)
            stack += [d["pkg"] for d in nodes[node]["deps"] if any(k["kind"] in (None, "build") for k in d["dep_kinds"])]
    what = "to build the libraries and the command"
else:
    claim = (meta.get("metadata") or {}).get("rshm", {}).get("test-rust-version")
    if not claim:
        sys.exit("toolchain: Cargo.toml has no [workspace.metadata.rshm] test-rust-version")
    graph, what = set(nodes), "for make test"
claim = sys.argv[2] if len(sys.argv) > 2 else claim
declared = [p for p in (packages[i] for i in graph) if p.get("rust_version")]
above = sorted((version(p["rust_version"]), p["name"], p["version"], p["rust_version"])
               for p in declared if version(p["rust_version"]) > version(claim))
for _, name, ver, needs in above:
    print("toolchain: %s %s needs Rust %s, above the %s claimed %s" % (name, ver, needs, claim, what), file=sys.stderr)
if above:
    sys.exit("toolchain: the minimum %s (%s) is untrue: raise it, or pin those packages lower in Cargo.lock" % (what, claim))
highest = max(version(p["rust_version"]) for p in declared)
print(claim, "%d.%d" % highest[:2])
' "$@"
}
for part in build test; do
    result=$(check $part) || exit 1
    claim=${result% *} highest=${result#* }
    planted=$(echo "$highest" | awk -F. '{ printf "%d.%d", $1, $2 - 1 }')
    ! check $part "$planted" > /dev/null 2>&1 || { echo "toolchain: the $part check passed a planted claim of $planted"; exit 1; }
    eval "${part}_claim=$claim"
done
grep -q "Rust $build_claim or later" README.md && grep -q "$test_claim or later for \`make test\`" README.md \
    || { echo "toolchain: README.md must say \"Rust $build_claim or later\" and \"$test_claim or later for \`make test\`\", as Cargo.toml claims"; exit 1; }
echo "toolchain: Rust $build_claim builds the libraries and the command, and $test_claim runs make test, for every package on x86_64-unknown-linux-gnu, as Cargo.toml and README.md claim"

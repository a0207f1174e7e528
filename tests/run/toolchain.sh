#!/bin/sh
# The Rust minimum that Cargo.toml claims (`rust-version`, the workspace's one claim) is
# true of everything `make test` builds: no package in the workspace's graph on the tested
# target (dev-dependencies and the header tool included; bench/ and fuzz/ are outside the
# workspace) declares a higher rust-version. README.md states the same minimum.
# Only Rust stable is on the test machines, so the packages' own declarations are the proof.
# The checker is checked: told to judge against a claim one step below the highest
# declaration in the graph, it must fail.
set -eu
mkdir -p target
metadata=$(cargo metadata --format-version 1 --locked --filter-platform x86_64-unknown-linux-gnu)
check() { # check [CLAIM]: prints the claim that held, or names each package above it and fails
printf '%s' "$metadata" | python3 -c '
import json, sys
meta = json.load(sys.stdin)
def version(text):
    return tuple(int(part) for part in (text.split(".") + ["0", "0"])[:3])
members = [p for p in meta["packages"] if p["id"] in meta["workspace_members"]]
claims = {p.get("rust_version") for p in members}
if len(claims) != 1 or None in claims:
    sys.exit("toolchain: the workspace members must share one rust-version (Cargo.toml [workspace.package]); they declare %s"
             % sorted(str(c) for c in claims))
claim = sys.argv[1] if len(sys.argv) > 1 else claims.pop()
graph = {node["id"] for node in meta["resolve"]["nodes"]}
above = sorted((version(p["rust_version"]), p["name"], p["version"], p["rust_version"])
               for p in meta["packages"] if p["id"] in graph and p.get("rust_version")
               and version(p["rust_version"]) > version(claim))
if above:
    for _, name, ver, needs in above:
        print("toolchain: %s %s needs Rust %s, above the claimed %s" % (name, ver, needs, claim), file=sys.stderr)
    sys.exit("toolchain: rust-version %s is untrue: raise it, or pin those packages lower in Cargo.lock" % claim)
print(claim)
' "$@"
}
claim=$(check) || exit 1
highest=$(printf '%s' "$metadata" | python3 -c '
import json, sys
meta = json.load(sys.stdin)
graph = {node["id"] for node in meta["resolve"]["nodes"]}
print(max(tuple(int(x) for x in (p["rust_version"].split(".") + ["0"])[:2])
          for p in meta["packages"] if p["id"] in graph and p.get("rust_version")))')
planted=$(printf '%s' "$highest" | tr -d '() ' | awk -F, '{ printf "%d.%d", $1, $2 - 1 }')
! check "$planted" > /dev/null 2>&1 || { echo "toolchain: the check passed a planted claim of $planted"; exit 1; }
grep -q "Rust $claim or later" README.md \
    || { echo "toolchain: README.md does not say \"Rust $claim or later\" (Cargo.toml claims $claim)"; exit 1; }
echo "toolchain: every package make test builds for x86_64-unknown-linux-gnu needs Rust $claim or older, as Cargo.toml and README.md claim"

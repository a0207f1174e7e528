#!/usr/bin/env python3
"""header_names.py HEADER...: every name a public header defines at file scope
(macros, typedefs, struct/union/enum tags, enum constants, functions and
variables) starts with rshm_ or RSHM_, so that an includer's own names never
clash: an unchanged legacy program under -include rshm_compat.h defines what
it likes. The compat header's mappings of the libc names are one exception,
a forward declaration of `struct timespec` (a system tag, which <sys/sem.h>
leaves undefined without _GNU_SOURCE) the other; names inside a C++
namespace are the namespace's.

Macros are found by the preprocessor itself (-dM, compared with the system
headers alone). The other names are read from the preprocessed tokens of the
header's own lines (line markers tell them from the system headers'), by
following braces and parentheses: a name counts when it is declared at file
scope, not inside a struct body, a parameter list or a function body."""
import os
import re
import subprocess
import sys

COMPAT_NAMES = {"ftok", "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
                "msgget", "msgsnd", "msgrcv", "msgctl"}
SYSTEM_TAGS = {"timespec"}
KEYWORDS = set("""auto break case char const continue default do double else enum extern float for goto if inline
int long register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while
bool _Bool __inline__ __inline __restrict __extension__ __attribute__ __asm__ noexcept class namespace template
typename public private protected operator friend virtual constexpr nullptr true false this using explicit""".split())


def compiler(header):
    if header.endswith(".hpp"):
        return [os.environ.get("CXX", "c++"), "-x", "c++", "-std=c++17"]
    return [os.environ.get("CC", "cc"), "-x", "c", "-std=c11"]


def preprocess(cc, text, include_dir, flags):
    return subprocess.run(cc + ["-I", include_dir] + flags + ["-E", "-"], input=text, capture_output=True,
                          text=True, check=True).stdout


def system_includes(include_dir, cplusplus):
    """Every system header the public headers of the language include: what an includer gets anyway."""
    found = set()
    for name in sorted(os.listdir(include_dir)):
        if name.endswith(".h") or (cplusplus and name.endswith(".hpp")):
            found |= set(re.findall(r"^#include <[^>]+>\n", open(os.path.join(include_dir, name)).read(), re.M))
    return "".join(sorted(found))


def macros(header):
    cc, include_dir = compiler(header), os.path.dirname(header) or "."
    system = system_includes(include_dir, header.endswith(".hpp"))
    names = lambda text: set(re.findall(r"^#define (\w+)", preprocess(cc, text, include_dir, ["-dM"]), re.M))
    return names(f'{system}#include "{os.path.basename(header)}"\n') - names(system)


def own_tokens(header):
    """The preprocessed tokens that come from `header` itself."""
    cc, include_dir = compiler(header), os.path.dirname(header) or "."
    out = preprocess(cc, f'#include "{os.path.basename(header)}"\n', include_dir, [])
    mine, text = False, []
    for line in out.splitlines():
        marker = re.match(r'# \d+ "([^"]+)"', line)
        if marker:
            mine = os.path.basename(marker.group(1)) == os.path.basename(header)
        elif mine:
            text.append(line)
    return re.findall(r"[A-Za-z_]\w*|\d\w*|::|[{}()\[\];,=<>]|[^\s\w]", " ".join(text))


def declared(tokens):
    """File-scope names in a token stream."""
    names, i, brace, paren, scopes = set(), 0, 0, 0, []
    pending_enum = pending_namespace = False
    expect_enumerator = False
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        prev = tokens[i - 1] if i else ""
        if tok == "namespace":
            pending_namespace = True
        elif tok == "enum":
            pending_enum = True
        if tok == "(":
            paren += 1
        elif tok == ")":
            paren -= 1
        elif tok == "{":
            kind = "namespace" if pending_namespace else "enum" if pending_enum else "block"
            scopes.append(kind)
            pending_enum = pending_namespace = False
            expect_enumerator = kind == "enum"
            brace += 1
            continue
        elif tok == "}":
            scopes.pop() if scopes else None
            brace -= 1
            continue
        elif tok == ";":
            pending_enum = False
        inside_namespace = "namespace" in scopes
        at_file_scope = all(s == "namespace" for s in scopes) and paren == 0
        if not re.match(r"[A-Za-z_]\w*$", tok) or tok in KEYWORDS or inside_namespace:
            if scopes and scopes[-1] == "enum" and tok == ",":
                expect_enumerator = True
            continue
        if scopes and scopes[-1] == "enum" and paren == 0 and len([s for s in scopes if s != "namespace"]) == 1:
            if expect_enumerator:
                names.add(tok)
                expect_enumerator = False
            continue
        if not at_file_scope:
            continue
        if prev in ("struct", "union", "enum"):
            names.add(tok)  # a tag
        elif nxt in (";", "(", "=", "[", ",") and prev != "::":
            names.add(tok)  # a typedef name, a function, a variable
    return names


def main(headers):
    failures = 0
    for header in headers:
        for name in sorted(macros(header) | declared(own_tokens(header))):
            if name.startswith(("rshm_", "RSHM_")):
                continue
            if name in COMPAT_NAMES and os.path.basename(header) == "rshm_compat.h":
                continue
            if name in SYSTEM_TAGS:
                continue
            print(f"{header}: defines {name}, which does not start with rshm_ or RSHM_")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

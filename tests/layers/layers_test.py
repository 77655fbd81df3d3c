#!/usr/bin/env python3
"""Holds daemon/ to the layering its CMake files declare.

Each daemon/LAYER/CMakeLists.txt declares `hephy_layer(LAYER ... LAYERS
below...)`. A file of a layer may include headers of its own folder, of the
layers it names, and the contracts of include/hephy/ whose code lives in one
of them. The declared layers must not form a cycle. Prints every offending
include as FILE:LINE and exits 1; exits 0 when the tree keeps to its layers.
"""
import pathlib
import re
import sys

# include/hephy/ contracts whose functions are defined in one layer; the
# others (config.h, error.h, registry_credentials.h) are plain types.
CONTRACT_HOME = {
    "executor.h": "executors",
    "hook_protocol.h": "git",
    "registry_client.h": "registry",
    "retry_policy.h": "net",
    "ssh_key.h": "ssh",
    "store.h": "store",
}

LAYER_CALL = re.compile(r"hephy_layer\((\w+)(.*?)\)", re.S)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def declared_layers(daemon):
    layers = {}
    for cmake in [daemon / "CMakeLists.txt", *sorted(daemon.glob("*/CMakeLists.txt"))]:
        for name, body in LAYER_CALL.findall(cmake.read_text()):
            words = body.split()
            uses = []
            if "LAYERS" in words:
                for word in words[words.index("LAYERS") + 1:]:
                    if word in ("SOURCES", "LIBS"):
                        break
                    uses.append(word)
            layers[name] = set(uses)
    return layers


def cycle(layers):
    state = {}

    def visit(layer, path):
        state[layer] = "open"
        for used in sorted(layers.get(layer, ())):
            if state.get(used) == "open":
                return path + [layer, used]
            if used not in state:
                found = visit(used, path + [layer])
                if found:
                    return found
        state[layer] = "done"
        return None

    for layer in sorted(layers):
        if layer not in state:
            found = visit(layer, [])
            if found:
                return found
    return None


def main():
    root = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2]
    daemon = root / "daemon"
    layers = declared_layers(daemon)
    problems = []
    unknown = {u for uses in layers.values() for u in uses} - layers.keys()
    if unknown:
        problems.append("LAYERS name no hephy_layer: " + ", ".join(sorted(unknown)))
    loop = cycle(layers)
    if loop:
        problems.append("the declared layers form a cycle: " + " -> ".join(loop))
    for path in sorted(daemon.rglob("*")):
        if path.suffix not in (".cc", ".h"):
            continue
        rel = path.relative_to(daemon)
        layer = rel.parts[0] if len(rel.parts) > 1 else "daemon"
        if layer not in layers:
            problems.append(f"{path}: folder {layer}/ declares no hephy_layer")
            continue
        text = path.read_text()
        for match in INCLUDE.finditer(text):
            included = match.group(1)
            folder, _, header = included.partition("/")
            target = CONTRACT_HOME.get(header) if folder == "hephy" else folder
            if not header or target is None or target == layer or target in layers[layer]:
                continue
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{path}:{line}: {layer}/ includes \"{included}\" but does not "
                            f"declare layer {target} (daemon/{layer}/CMakeLists.txt LAYERS)")
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{len(layers)} layers keep to their declared dependencies")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

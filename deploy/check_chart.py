#!/usr/bin/env python3
"""Static checks of deploy/helm/vigil and docker/ that need neither helm nor docker.

  python3 deploy/check_chart.py        (from anywhere; exits 1 on the first failed group)

1. Chart.yaml and values.yaml parse as YAML and Chart.yaml has what Helm requires.
2. Every .Values.a.b path a template reads exists in values.yaml, and every value is read.
3. Template actions balance: each if/range/with/define has its end.
4. Every key of values.config is a setting of service/service_config.cpp, of the right type,
   and none of the keys the chart sets itself.
5. Every VIGIL_<NAME> variable in the chart, the Dockerfiles and the READMEs is one vigil serve
   reads (VIGIL_CONFIG or a setting's variable), and every -DVIGIL_X a CMake option.
6. The Dockerfiles' COPY sources exist in the repository and are not excluded by .dockerignore,
   they copy the model library service/CMakeLists.txt builds, and the image and the chart
   agree (user id, port, data folder, health paths in docs/openapi.json).

Helm itself is not run: rendering needs `helm template` (deploy/README.md).
"""
import fnmatch
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "deploy/helm/vigil"
DOCKERFILES = [ROOT / "docker/Dockerfile.cpu", ROOT / "docker/Dockerfile.cuda"]
READMES = [ROOT / "docker/README.md", ROOT / "deploy/README.md"]
# Variables that are not vigil's but appear in the docs, with where they belong.
FOREIGN_VARIABLES = {"VIGIL_MODEL": "tools/run.sh"}
CHART_OWNED_KEYS = {"host", "port", "data_dir", "model_dir", "model_name", "api_keys"}

failures = []


def fail(message):
    failures.append(message)


def service_fields():
    """{key: type} of the settings table in service/service_config.cpp."""
    text = (ROOT / "service/service_config.cpp").read_text()
    fields = dict(re.findall(r'\{"(\w+)", Type::(\w+),', text))
    if len(fields) < 20:
        sys.exit(f"could not read the settings table of service_config.cpp ({len(fields)} found)")
    return fields


def variable_of(key):
    return "VIGIL_" + key.upper()


def check_yaml():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    for key in ("apiVersion", "name", "version"):
        if key not in chart:
            fail(f"Chart.yaml: missing {key}")
    if chart.get("apiVersion") != "v2":
        fail("Chart.yaml: apiVersion must be v2")
    if chart.get("name") != CHART.name:
        fail(f"Chart.yaml: name {chart.get('name')!r} is not the folder name {CHART.name!r}")
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    if not isinstance(values, dict):
        fail("values.yaml: not a mapping")
        values = {}
    return chart, values


def templates():
    return sorted(p for p in (CHART / "templates").iterdir() if p.is_file())


def leaves(node, prefix=()):
    if isinstance(node, dict) and node:
        for key, child in node.items():
            yield from leaves(child, prefix + (key,))
    else:
        yield prefix


def check_value_paths(values):
    checked = 0
    referenced = set()
    for path in templates():
        text = path.read_text()
        for match in re.finditer(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text):
            parts = match.group(1).split(".")[1:]
            referenced.add(tuple(parts))
            node = values
            for depth, part in enumerate(parts):
                if not isinstance(node, dict) or part not in node:
                    where = ".".join(parts[: depth + 1])
                    fail(f"{path.name}: .Values.{'.'.join(parts)} (no {where} in values.yaml)")
                    break
                node = node[part]
            checked += 1
    for leaf in leaves(values):
        if not any(leaf[: len(used)] == used for used in referenced):
            fail(f"values.yaml: {'.'.join(leaf)} is read by no template")
    return checked


def check_actions():
    opener = re.compile(r"\{\{-?\s*(if|range|with|define|block)\b")
    closer = re.compile(r"\{\{-?\s*end\s*-?\}\}")
    for path in templates():
        text = path.read_text()
        if text.count("{{") != text.count("}}"):
            fail(f"{path.name}: {text.count('{{')} '{{{{' against {text.count('}}')} '}}}}'")
        opened, closed = len(opener.findall(text)), len(closer.findall(text))
        if opened != closed:
            fail(f"{path.name}: {opened} if/range/with/define against {closed} end")


def check_config(values, fields):
    config = values.get("config") or {}
    python_types = {
        "kString": (str,), "kInt": (int,), "kInt64": (int,), "kDouble": (int, float),
        "kBool": (bool,), "kStringList": (list,),
    }
    for key, value in config.items():
        if key not in fields:
            fail(f"values.yaml: config.{key} is not a setting of service_config.cpp")
            continue
        if key in CHART_OWNED_KEYS:
            fail(f"values.yaml: config.{key} is set by the chart")
        wanted = python_types[fields[key]]
        if isinstance(value, bool) and bool not in wanted or not isinstance(value, wanted):
            fail(f"values.yaml: config.{key} = {value!r} is not a {fields[key]}")
    return len(config)


def check_variables(fields):
    known = {variable_of(key) for key in fields} | {"VIGIL_CONFIG"}
    cmake_text = "".join(p.read_text() for p in ROOT.glob("CMakeLists.txt"))
    options = set(re.findall(r"option\((VIGIL_\w+)", cmake_text))
    options |= set(re.findall(r"set\((VIGIL_\w+) .*CACHE", cmake_text))
    files = [p for p in templates()] + [CHART / "values.yaml"] + DOCKERFILES + READMES
    used = set()
    for path in files:
        if not path.exists():
            fail(f"missing {path.relative_to(ROOT)}")
            continue
        text = path.read_text()
        for option in re.findall(r"-D(VIGIL_\w+)", text):
            if option not in options:
                fail(f"{path.relative_to(ROOT)}: -D{option} is not a CMake option")
        text = re.sub(r"-DVIGIL_\w+", "", text)
        for name in re.findall(r"\bVIGIL_[A-Z0-9_]*[A-Z0-9]\b", text):
            used.add(name)
            if name in known or name in options:
                continue
            owner = FOREIGN_VARIABLES.get(name)
            if owner and name in (ROOT / owner).read_text():
                continue
            fail(f"{path.relative_to(ROOT)}: {name} is not read by vigil serve")
    return used


def dockerignore_patterns():
    patterns = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line.rstrip("/"))
    return patterns


def ignored(relative, patterns):
    parts = Path(relative).parts
    for pattern in patterns:
        bare = pattern[3:] if pattern.startswith("**/") else pattern
        for i in range(len(parts)):
            prefix = "/".join(parts[: i + 1])
            if fnmatch.fnmatchcase(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatchcase(parts[i], bare)):
                return pattern
    return None


def check_dockerfiles(values):
    patterns = dockerignore_patterns()
    service_cmake = (ROOT / "service/CMakeLists.txt").read_text()
    module = re.search(r"add_library\((\w+) MODULE", service_cmake)
    library = f"lib{module.group(1)}.so" if module else None
    if library is None:
        fail("service/CMakeLists.txt: no MODULE library (the model commands)")
    openapi = json.loads((ROOT / "docs/openapi.json").read_text())
    copies = 0
    for dockerfile in DOCKERFILES:
        text = dockerfile.read_text()
        name = dockerfile.relative_to(ROOT)
        joined = re.sub(r"\\\n", " ", text)
        for line in joined.splitlines():
            words = line.split()
            if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
                continue
            for source in words[1:-1]:
                if source.startswith("--"):
                    continue
                copies += 1
                if source != "." and not (ROOT / source).exists():
                    fail(f"{name}: COPY {source} does not exist in the repository")
                pattern = ignored(source.rstrip("/"), patterns) if source != "." else None
                if pattern:
                    fail(f"{name}: COPY {source} is excluded by .dockerignore ({pattern})")
        if library and library not in text:
            fail(f"{name}: does not copy {library}")
        if "tests/fixtures/llava_ov_tiny" not in text:
            fail(f"{name}: does not ship the default model")
        uid = re.search(r"useradd .*--uid (\d+)", text)
        if not uid or int(uid.group(1)) != values["podSecurityContext"]["runAsUser"]:
            fail(f"{name}: user id differs from podSecurityContext.runAsUser")
        if f"EXPOSE {values['service']['port']}" not in text:
            fail(f"{name}: EXPOSE differs from service.port")
        data = values["persistence"]["mountPath"]
        if f"VIGIL_DATA_DIR={data}" not in text or f'VOLUME ["{data}"]' not in text:
            fail(f"{name}: VIGIL_DATA_DIR/VOLUME differ from persistence.mountPath {data}")
        for path in re.findall(r"/health/\w+", text):
            if path not in openapi["paths"]:
                fail(f"{name}: {path} is not in docs/openapi.json")
        if '"vigil", "serve"' not in text:
            fail(f'{name}: ENTRYPOINT is not ["vigil", "serve"]')
    statefulset = (CHART / "templates/statefulset.yaml").read_text()
    for path in re.findall(r"path: (/[\w/]+)", statefulset):
        if path not in openapi["paths"]:
            fail(f"statefulset.yaml: probe path {path} is not in docs/openapi.json")
    if "/metrics" not in openapi["paths"]:
        fail("docs/openapi.json has no /metrics")
    return copies


def main():
    fields = service_fields()
    chart, values = check_yaml()
    paths = check_value_paths(values)
    check_actions()
    keys = check_config(values, fields)
    used = check_variables(fields)
    copies = check_dockerfiles(values)
    if failures:
        print("\n".join("FAIL " + f for f in failures))
        print(f"check_chart: {len(failures)} problem(s)")
        return 1
    print(f"check_chart: Chart.yaml and values.yaml parse ({chart['name']} {chart['version']}); "
          f"{paths} .Values references resolve; {keys} config keys are settings of "
          f"service_config.cpp; {len(used)} VIGIL_* names known ({', '.join(sorted(used))}); "
          f"{copies} COPY sources exist and are not ignored; image and chart agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""After `sam build`: import each built function's handler with the built layer, as Lambda would.

Runs every import in a fresh `python3.13 -S` (no site-packages), with only the function's folder and
the layer's `python/` on the path, so a dependency missing from the layer fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

BUILD = Path(".aws-sam/build")

PROBE = """
import importlib, sys, time
sys.path[:0] = {paths!r}
start = time.perf_counter()
module = importlib.import_module({module!r})
assert callable(getattr(module, {attribute!r})), "handler is not callable"
print(round((time.perf_counter() - start) * 1000, 1))
"""


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def run_probe(
    python: str, code: Path, layer: Path, module: str, attribute: str, *, fresh_bytecode: bool = False
) -> subprocess.CompletedProcess:
    """Import one handler in a fresh interpreter (no site-packages), printing the milliseconds; with
    fresh_bytecode no __pycache__ is used or written, as on Lambda when a package ships no .pyc."""
    probe = PROBE.format(
        paths=[str(code.resolve()), str(layer.resolve())], module=module, attribute=attribute
    )
    env = {"AWS_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    if fresh_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = "/nonexistent-eks-audit-pycache"
    return subprocess.run([python, "-S", "-c", probe], capture_output=True, text=True, env=env)


def import_ms(
    python: str, code: Path, layer: Path, module: str, attribute: str, *, fresh_bytecode: bool
) -> float:
    result = run_probe(python, code, layer, module, attribute, fresh_bytecode=fresh_bytecode)
    result.check_returncode()
    return float(result.stdout.strip())


def functions(template: dict) -> dict[str, tuple[Path, str, str]]:
    found = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            module, attribute = resource["Properties"]["Handler"].rsplit(".", 1)
            found[name] = (BUILD / resource["Properties"]["CodeUri"], module, attribute)
    return found


def main(python: str) -> int:
    template = yaml.load((BUILD / "template.yaml").read_text(), Loader=_Loader)
    layer = BUILD / "RuntimeLayer" / "python"
    failures = 0
    report = {"layer_bytes": directory_size(BUILD / "RuntimeLayer")}
    for name, (code, module, attribute) in functions(template).items():
        result = run_probe(python, code, layer, module, attribute)
        if result.returncode != 0:
            failures += 1
            print(f"FAIL {name}: {result.stderr.strip().splitlines()[-1]}")
            continue
        report[name] = {"import_ms": float(result.stdout.strip()), "package_bytes": directory_size(code)}
        print(f"ok   {name}: handler {module}.{attribute} imports in {result.stdout.strip()} ms")
    for name, resource in template["Resources"].items():
        # sam deploy uploads a StackSet's local TemplateURL (SAM CLI >= 1.44) if the built path finds it
        url = resource.get("Properties", {}).get("TemplateURL")
        if resource["Type"] == "AWS::CloudFormation::StackSet" and isinstance(url, str):
            if not (BUILD / url).resolve().is_file():
                failures += 1
                print(f"FAIL {name}: TemplateURL {url} does not lead to a file from the built template")
            else:
                print(f"ok   {name}: TemplateURL {url} is the spoke template")
    print(json.dumps(report))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "python3.13"))

"""Architecture rules: a framework-free scoring core, and services that never import each other."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"
SERVICES = ROOT / "services"

FRAMEWORKS = ("flask", "celery", "kombu", "redis", "prometheus_client", "werkzeug")
ENGINE_MODULES = ("shared.domain", "shared.contract")  # the layers with no I/O
# The pure core may not read the clock or draw random numbers: both must be passed in.
IMPURE_MODULES = ("random", "secrets", "time")
IMPURE_CALLS = ("now", "today", "utcnow", "uuid1", "uuid4", "time_ns", "perf_counter")


def engine_files() -> list[Path]:
    """Return the source files of the index engine."""
    return sorted([*(SHARED / "domain").rglob("*.py"), *(SHARED / "contract").rglob("*.py")])


def module_name(path: Path, root: Path) -> str:
    """Return the dotted module name of a file below root (a package's __init__ is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """Yield (line, absolute module name) for every import in the file, at any depth.

    `from a import b` yields both a and a.b, since b may be a module; relative imports are
    resolved against the file's package; importlib.import_module("x") with a literal counts.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".") if package else []
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, node.module] if node.module else base_parts)
            else:
                base = node.module or ""
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if (name in ("import_module", "__import__") and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                yield node.lineno, node.args[0].value


def is_within(name: str, package: str) -> bool:
    """Tell whether the dotted name is package or inside it."""
    return name == package or name.startswith(package + ".")


# ------------------------------------------------------------------ the pure core


def test_importing_the_engine_loads_no_framework() -> None:
    code = textwrap.dedent(f"""
        import sys
        import shared.domain.scoring, shared.domain.state, shared.domain.index
        import shared.contract.methodology, shared.contract.events
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {FRAMEWORKS!r})
        assert not loaded, loaded
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


@pytest.mark.parametrize("path", engine_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_sources_import_no_framework_and_no_impure_module(path: Path) -> None:
    for line, name in imported_modules(path, ROOT):
        top = name.split(".")[0]
        assert top not in FRAMEWORKS, f"{path.name}:{line} imports {name}"
        assert top not in IMPURE_MODULES, f"{path.name}:{line} imports {name}"
        assert not is_within(name, "services"), f"{path.name}:{line} imports {name}"
        if top == "shared" and name != "shared":
            # the engine leans only on itself, never on settings, store or messaging
            assert any(is_within(name, m) or is_within(m, name) for m in ENGINE_MODULES), (
                f"{path.name}:{line} imports {name}, which is outside the engine")


@pytest.mark.parametrize("path", engine_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_sources_read_no_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in IMPURE_CALLS, (
                f"{path.name}:{node.lineno} calls .{node.func.attr}(): pass the time in")


def test_shared_never_imports_a_service() -> None:
    for path in sorted(SHARED.rglob("*.py")):
        for line, name in imported_modules(path, ROOT):
            assert not is_within(name, "services"), f"{path.relative_to(ROOT)}:{line}: {name}"


# ------------------------------------------------------------------ services stay apart


def service_violations(services_dir: Path) -> list[str]:
    """Return 'file:line: a imports b' for every import of one service by another."""
    root = services_dir.parent
    names = sorted(p.name for p in services_dir.iterdir()
                   if p.is_dir() and not p.name.startswith((".", "_")))
    problems = []
    for service in names:
        own = f"{services_dir.name}.{service}"
        others = [f"{services_dir.name}.{n}" for n in names if n != service]
        for path in sorted((services_dir / service).rglob("*.py")):
            for line, name in imported_modules(path, root):
                for other in others:
                    if is_within(name, other):
                        problems.append(
                            f"{path.relative_to(root)}:{line}: {own} imports {name}")
    return sorted(set(problems))


def test_no_service_imports_another() -> None:
    assert SERVICES.is_dir()
    assert service_violations(SERVICES) == []


def test_the_service_scan_sees_every_kind_of_import(tmp_path: Path) -> None:
    """Guard the rule above: it must catch absolute, relative, nested and dynamic imports."""
    services = tmp_path / "services"
    files = {
        "__init__.py": "",
        "ingest/__init__.py": "",
        "ingest/handlers.py": "from services.scoring import tasks\n",
        "ingest/deep/__init__.py": "",
        "ingest/deep/views.py": "from ...web import views\n",
        "scoring/__init__.py": "from ..ingest import api\n",
        "scoring/tasks.py": "def f():\n    import services.web.app\n",
        "web/app.py": ("import importlib\n"
                       "importlib.import_module('services.ingest.api')\n"
                       "from services import scoring\n"),
        "web/ok.py": ("from services.web import api\nfrom . import views\n"
                      "from shared.contract.events import Event\nimport services.webhooks\n"),
    }
    for rel, text in files.items():
        (services / rel).parent.mkdir(parents=True, exist_ok=True)
        (services / rel).write_text(text, encoding="utf-8")
    found = service_violations(services)
    assert found == [
        "services/ingest/deep/views.py:1: services.ingest imports services.web",
        "services/ingest/deep/views.py:1: services.ingest imports services.web.views",
        "services/ingest/handlers.py:1: services.ingest imports services.scoring",
        "services/ingest/handlers.py:1: services.ingest imports services.scoring.tasks",
        "services/scoring/__init__.py:1: services.scoring imports services.ingest",
        "services/scoring/__init__.py:1: services.scoring imports services.ingest.api",
        "services/scoring/tasks.py:2: services.scoring imports services.web.app",
        "services/web/app.py:2: services.web imports services.ingest.api",
        "services/web/app.py:3: services.web imports services.scoring",
    ]


# ------------------------------------------------------------------ webhooks in their own lane

HTTP_CLIENTS = ("requests", "urllib3", "http.client", "urllib.request", "httpx", "aiohttp")


def test_the_hooks_worker_is_a_service_the_scan_covers() -> None:
    hooks = SERVICES / "hooks"
    assert {"worker.py", "tasks.py", "metrics.py"} <= {p.name for p in hooks.glob("*.py")}
    imported = {name for path in hooks.rglob("*.py") for _, name in imported_modules(path, ROOT)}
    assert not [n for n in imported if is_within(n, "services") and not is_within(n, "services.hooks")]


@pytest.mark.parametrize("service", ["ingest", "scoring", "web"])
def test_only_the_hooks_worker_calls_out_over_http(service: str) -> None:
    """A receiver's slowness can only reach the process that talks to it: no other service
    imports an HTTP client (scoring, ingest and web never wait on a receiver)."""
    for path in sorted((SERVICES / service).rglob("*.py")):
        for line, name in imported_modules(path, ROOT):
            assert not any(is_within(name, c) for c in HTTP_CLIENTS), (
                f"{path.relative_to(ROOT)}:{line} imports {name}")

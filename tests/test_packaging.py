"""The sdist builds wheels for the oldest and newest supported CPython, and
each wheel installed into a fresh virtualenv talks to a real server.

Each wheel also carries the typing (``py.typed``, the stubs): the typed
examples pass ``mypy --strict`` against the unpacked wheel alone.

Marked ``packaging`` (``-m 'not packaging'`` leaves it out while iterating);
``./dev test`` and CI run it. Wheels are built with the debug profile
(``MATURIN_PEP517_ARGS=--profile dev``): a release build with fat LTO costs
several minutes per interpreter here, and what is checked (the sdist is
complete, the build works, the wheel carries its files, the package imports
and runs on that Python) does not depend on the profile. Both builds share
cargo's target directory (``target/packaging``), so the second one compiles
only what depends on the Python version (pyo3 and the binding); a new one is
seeded with the dependencies ``./dev build`` compiled (same profile and
features), so a fresh clone's run compiles only the project's crates and pyo3.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from support.servers import RedisServer
from support.typed_examples import passing_examples

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parent.parent
#: The oldest and the newest CPython the package supports (pyproject.toml).
PYTHONS = ("3.9", "3.13")

#: Runs in the fresh virtualenv, outside the source tree: sync and asyncio
#: clients on the managed and uds transports.
PROGRAM = """
import asyncio, sys
import babushka, babushka.asyncio

host, port, venv = sys.argv[1], int(sys.argv[2]), sys.argv[3]
assert babushka.__file__.startswith(venv), babushka.__file__
for transport in ("managed", "uds"):
    r = babushka.Redis(host=host, port=port, transport=transport)
    assert r.set("pkg:" + transport, transport) is True
    assert r.get("pkg:" + transport) == transport.encode()
    r.close()

    async def main():
        async with babushka.asyncio.Redis(host=host, port=port, transport=transport) as ar:
            await ar.set("pkg:async", transport)
            return await ar.get("pkg:async")

    assert asyncio.run(main()) == transport.encode()
print("ok", sys.version_info[:2])
"""


def find_python(version: str) -> str:
    """``pythonX.Y`` on PATH (pyenv's shims included), else pyenv's own."""
    found = shutil.which(f"python{version}")
    if found and _runs(found):
        return found
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in sorted(root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True):
        if _runs(str(candidate)):
            return str(candidate)
    pytest.fail(f"CPython {version} is not installed (looked on PATH and in {root}/versions)")


def _runs(python: str) -> bool:
    return subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    completed = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True
    )
    command = " ".join(map(str, args))
    assert completed.returncode == 0, (
        f"{command} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    )
    return completed.stdout


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist, unpacked once: both wheels build from the same directory,
    so cargo compiles the core crate once (pip would unpack the archive to a
    new directory per build, a new path each time)."""
    out = tmp_path_factory.mktemp("sdist")
    maturin = Path(sys.executable).with_name("maturin")
    run(maturin, "sdist", "--out", out, cwd=ROOT)
    (archive,) = out.glob("babushka_redis-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        # What a build from the sdist needs beyond the sources: the frame schema.
        assert any(n.endswith("core/proto/request.proto") for n in names), names
        assert not any(n.endswith(".so") for n in names), "a built module leaked into the sdist"
        tar.extractall(out, filter="data")
    (unpacked,) = (p for p in out.iterdir() if p.is_dir())
    return unpacked


@pytest.fixture(scope="module")
def target_dir() -> Path:
    """Cargo's target directory for the wheel builds, seeded on first use
    with the debug build's compiled dependencies (not the project's own
    crates, which the unpacked sdist builds from another path anyway).

    The project's crates left by an earlier run are removed: the sdist's
    files carry fixed timestamps, so cargo would take an earlier source's
    outputs (the frames generated from an older ``.proto``, say) as fresh."""
    target = ROOT / "target" / "packaging"
    debug = ROOT / "target" / "debug"

    def own_or_bulky(directory: str, names: list[str]) -> list[str]:
        return [n for n in names if "babushka" in n or n.startswith("lib_core")]

    for part in (".fingerprint", "build", "deps"):
        built = target / "debug" / part
        if built.is_dir():
            for name in own_or_bulky(str(built), os.listdir(built)):
                path = built / name
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
    if not target.exists() and debug.is_dir():
        seeding = target.with_name("packaging.seeding")
        shutil.rmtree(seeding, ignore_errors=True)

        for part in (".fingerprint", "build", "deps"):
            if (debug / part).is_dir():
                shutil.copytree(debug / part, seeding / "debug" / part, ignore=own_or_bulky)
        seeding.rename(target)
    return target


@pytest.fixture(scope="module")
def server() -> object:
    server = RedisServer.start(kind="redis")
    yield server
    server.stop()


def check_types_alone(wheel: Path, site: Path) -> None:
    """The wheel's stubs are enough: the typed examples pass ``mypy --strict``
    against the unpacked wheel alone (no source tree, no site-packages)."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-site-packages", "--no-incremental"]
        + [str(p) for p in passing_examples()],
        capture_output=True,
        text=True,
        cwd=site.parent,
        env={**os.environ, "MYPYPATH": str(site)},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("version", PYTHONS)
def test_wheel_from_the_sdist_installs_and_runs(
    sdist: Path, target_dir: Path, server: RedisServer, version: str, tmp_path: Path
) -> None:
    python = find_python(version)
    venv = tmp_path / "venv"
    run(python, "-m", "venv", venv)
    env = {
        **os.environ,
        "MATURIN_PEP517_ARGS": "--profile dev",
        "CARGO_TARGET_DIR": str(target_dir),
    }
    env.pop("VIRTUAL_ENV", None)
    wheels = tmp_path / "wheels"
    run(venv / "bin" / "pip", "wheel", "--no-deps", "-q", "-w", wheels, sdist, env=env)
    (wheel,) = wheels.glob("*.whl")
    tag = f"cp{version.replace('.', '')}"
    assert f"-{tag}-{tag}-" in wheel.name and "linux" in wheel.name, wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert "babushka/py.typed" in names
    assert "babushka/_core.pyi" in names
    assert "babushka/_typing.py" in names
    # The typed interfaces are a stub package: the sdist and the wheel carry all of it.
    stubs = sorted(p.name for p in (ROOT / "python" / "babushka" / "_interfaces").glob("*.pyi"))
    assert "__init__.pyi" in stubs
    assert {f"babushka/_interfaces/{name}" for name in stubs} <= set(names)
    assert any(n.startswith("babushka/_core.") and n.endswith(".so") for n in names), names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Name: babushka-redis" in text
    assert "Operating System :: POSIX :: Linux" in text

    check_types_alone(wheel, tmp_path / "unpacked")

    run(venv / "bin" / "pip", "install", "--no-deps", "-q", wheel)
    outside = tmp_path / "elsewhere"  # not the source tree, whose babushka/ would shadow it
    outside.mkdir()
    out = run(
        venv / "bin" / "python", "-c", PROGRAM, server.host, str(server.port), venv, cwd=outside
    )
    assert out.startswith("ok")
    version_line = run(venv / "bin" / "python", "-m", "babushka", "--version", cwd=outside)
    assert version_line.startswith("babushka ")
    pong = run(
        venv / "bin" / "babushka",
        "ping",
        "--url",
        f"redis://{server.host}:{server.port}",
        cwd=outside,
    )
    assert pong.startswith("PONG")

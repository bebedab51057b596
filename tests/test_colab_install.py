"""The Colab path end to end, offline: clone, install cell, one chapter (slow tier).

Colab opens ``colab/<chapter>.ipynb`` from ``repository.branch`` of ``_config.yml``
and its cell 0 installs the package from the same ref. This test does what Colab
does, against a local clone instead of GitHub:

1. clone this repository to a scratch folder and commit the working tree onto the
   configured branch there (so uncommitted changes are what gets tested);
2. make a fresh virtual environment that already has torch, as Colab has, but not
   ``learning_dynamics``. ``python -m venv --system-site-packages`` does not work
   here: the suite runs in a venv whose base interpreter has no torch. A ``.pth``
   pointing at the suite's own ``site-packages`` would expose its editable install
   of this package (and pip would uninstall it from the shared venv). So the fresh
   venv gets a ``.pth`` to a folder of symbolic links to every distribution of the
   suite's venv except ``learning-dynamics`` (torch, numpy, pip, setuptools,
   ipykernel, nbclient: already installed, like Colab's);
3. execute one Colab copy in a kernel of that venv with its install cell's GitHub
   URL replaced by the clone's file URL: the cell installs the package (pip runs
   with ``--no-index``: every dependency must already be satisfied, as torch is on
   Colab) and the chapter runs against the installed package;
4. run the install cell of every other Colab copy whose cell 0 differs from the one
   already run (today all are byte-identical, which the test asserts is the only
   reason one is skipped) in a fresh venv of its own.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from learning_dynamics.book.install_cell import repository_ref, repository_url

ROOT = Path(__file__).resolve().parents[1]
COPIES = sorted((ROOT / "colab").glob("*.ipynb"))
#: The Colab copy executed end to end: the shortest chapter (the first).
EXECUTED = COPIES[0] if COPIES else None
OFFLINE_GUARD = ROOT / "tests" / "offline_guard"
HIDDEN = ("learning_dynamics", "learning-dynamics", "__editable__")

pytestmark = pytest.mark.skipif(shutil.which("git") is None,
                                reason="git is needed to clone the repository")


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def _clone(target: Path) -> Path:
    """Clone ROOT and commit its working tree onto the configured ref."""
    _git("clone", "-q", "--no-hardlinks", str(ROOT), str(target), cwd=ROOT)
    _git("checkout", "-q", "-B", repository_ref(ROOT), cwd=target)
    files = _git("ls-files", "-co", "--exclude-standard", "-z", cwd=ROOT)
    for name in filter(None, files.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    _git("add", "-A", cwd=target)
    _git("-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-q",
         "--allow-empty", "-m", "working tree", cwd=target)
    return target


def _fresh_venv(folder: Path) -> Path:
    """A venv with every distribution of this one except learning-dynamics."""
    mirror = folder / "base"
    mirror.mkdir(parents=True)
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.name.startswith(HIDDEN) or entry.suffix == ".pth":
            continue
        (mirror / entry.name).symlink_to(entry)
    base = getattr(sys, "_base_executable", sys.executable)
    venv = folder / "venv"
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = subprocess.run(
        [str(python), "-c", code],
        check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "colab_base.pth").write_text(f"{mirror}\n")
    return python


def _environment(jupyter_path: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "VIRTUAL_ENV", "PYTHONHOME"))}
    env.update(PYTHONPATH=str(OFFLINE_GUARD), PIP_NO_INDEX="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", MPLBACKEND="Agg",
               LEARNING_DYNAMICS_PROGRESS="0",
               # The scratch venv has setuptools already (like Colab); without an
               # index pip cannot fetch an isolated build environment.
               PIP_NO_BUILD_ISOLATION="0")
    if jupyter_path is not None:
        env["JUPYTER_PATH"] = str(jupyter_path)
    return env


def _install_cell(nb: dict, clone: Path) -> str:
    cell = nb["cells"][1]  # cell 0 of the chapter, after the Colab header
    source = "".join(cell["source"])
    assert cell["cell_type"] == "code" and "remove-cell" in cell["metadata"]["tags"]
    assert f'"{repository_url(ROOT)}"' in source
    assert f'"{repository_ref(ROOT)}"' in source
    # Old pips want a host in a file URL; git reads file://localhost/ as a local path.
    return source.replace(repository_url(ROOT), f"file://localhost{clone}")


def _installed_from_venv(python: Path) -> str:
    code = "import learning_dynamics; print(learning_dynamics.__file__)"
    return subprocess.run(
        [str(python), "-c", code],
        check=True, capture_output=True, text=True, env=_environment()).stdout.strip()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_colab_copies_install_from_a_clone_and_one_runs_end_to_end(tmp_path):
    assert COPIES, "no Colab copies"
    clone = _clone(tmp_path / "clone")
    python = _fresh_venv(tmp_path / "run")
    absent = subprocess.run([str(python), "-c", "import learning_dynamics"],
                            capture_output=True, env=_environment())
    assert absent.returncode != 0, "the fresh venv must not see learning_dynamics"

    # 3. one Colab copy, end to end, in a kernel of the fresh venv
    nb = json.loads(EXECUTED.read_text())
    nb["cells"][1]["source"] = _install_cell(nb, clone)
    spec = tmp_path / "kernels" / "kernels" / "colab-venv"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh venv", "language": "python"}))
    notebook = tmp_path / EXECUTED.name
    notebook.write_text(json.dumps(nb))
    driver = ("import sys, nbformat\nfrom nbclient import NotebookClient\n"
              "nb = nbformat.read(sys.argv[1], as_version=4)\n"
              "NotebookClient(nb, kernel_name='colab-venv', timeout=600, resources=\n"
              "               {'metadata': {'path': sys.argv[2]}}).execute()\n")
    run = subprocess.run([str(python), "-c", driver, str(notebook), str(tmp_path)],
                         capture_output=True, text=True, timeout=840,
                         env=_environment(tmp_path / "kernels"))
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    where = _installed_from_venv(python)
    assert where.startswith(str(tmp_path / "run" / "venv")), where

    # 4. the install cell of every other copy (identical ones ran in step 3)
    done = {nb["cells"][1]["source"]}
    for path in COPIES:
        source = _install_cell(json.loads(path.read_text()), clone)
        if source in done:
            continue
        done.add(source)
        other = _fresh_venv(tmp_path / f"run-{path.stem}")
        result = subprocess.run([str(other), "-c", source], capture_output=True,
                                text=True, env=_environment(), timeout=300)
        assert result.returncode == 0, f"{path.name}: {result.stderr[-3000:]}"
        assert _installed_from_venv(other).startswith(str(other.parents[1]))

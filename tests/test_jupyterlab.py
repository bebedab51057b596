"""Every chapter opened in JupyterLab (with jupyterlab-myst) shows no raw MyST markup.

Starts JupyterLab from this environment (the ``lab`` extra) on loopback, opens each
chapter (``chapters/*.ipynb``: new chapters are covered without edits) in headless
Chromium (the system browser, driven by Playwright, every
request off 127.0.0.1 blocked), and checks what a reader sees: no directive fences,
role markup or equation labels; exercise statements visible; written solutions
collapsed until their summary is clicked; reference-solution code and the
verification code the book hides (``hide-input``) collapsed.
The same check runs on each chapter's Colab copy with jupyterlab-myst switched off
(Colab's renderer knows no MyST either), after showing that the chapter itself
then displays raw markup.
Screenshots land in ``_build/screenshots/``. Skips where no Chromium is installed,
except under ``CI=true``.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from learning_dynamics.book.solutions import prose_fragments, strip_markdown

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "screenshots"
CHAPTERS = [f"chapters/{p.name}" for p in sorted((ROOT / "chapters").glob("*.ipynb"))]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
RAW = re.compile(r"(`{3}|:{3})\{[\w:-]+\}|\{(eq|numref|doc|term|ref|footcite:[pt]|cite"
                 r"|prf:ref)\}`|^:(label|class):|\$\$\s*\([\w-]+\)|\{footbibliography\}",
                 flags=re.M)
TOKEN = "ld-test-token"


def _colab_copy(chapter: str) -> str:
    return "colab/" + chapter.split("/", 1)[1]


def _stem(chapter: str) -> str:
    return Path(chapter).stem


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"JupyterLab browser test must run under CI but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _jupyterlab(home: Path, *, myst: bool):
    """JupyterLab serving a copy of the chapter and its Colab copy (no autosave)."""
    settings = home / "settings" / "@jupyterlab"
    for plugin, values in (("notebook-extension/tracker", {"windowingMode": "none"}),
                           ("apputils-extension/notification", {"fetchNews": "false"}),
                           ("docmanager-extension/plugin", {"autosave": False})):
        (settings / plugin).parent.mkdir(parents=True, exist_ok=True)
        (settings / f"{plugin}.jupyterlab-settings").write_text(json.dumps(values))
    if not myst:  # the plain Markdown renderer, as in Colab or a Jupyter without MyST
        (home / "config" / "labconfig").mkdir(parents=True)
        (home / "config" / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {"jupyterlab-myst": True}}))
    served = home / "served"  # copies: nothing the browser does can touch the repo
    for path in [*CHAPTERS, *map(_colab_copy, CHAPTERS)]:
        (served / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, served / path)
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "LEARNING_DYNAMICS_PROGRESS": "0"}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", f"--IdentityProvider.token={TOKEN}", "--allow-root",
           f"--ServerApp.root_dir={served}",
           f"--LabApp.user_settings_dir={home / 'settings'}",
           f"--LabApp.workspaces_dir={home / 'workspaces'}",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class="
           "jupyterlab.NeverCheckForUpdate"]
    with open(home / "lab.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        yield _wait_until_up(proc, f"http://127.0.0.1:{port}", home / "lab.log")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_until_up(proc, url: str, log: Path) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            return url
        except OSError:
            if proc.poll() is not None:
                pytest.fail("JupyterLab exited:\n" + log.read_text()[-3000:])
            time.sleep(0.5)
    pytest.fail("JupyterLab did not start within 120 s")


@pytest.fixture(scope="module")
def browser():
    if shutil.which("jupyter-lab", path=str(Path(sys.executable).parent)) is None:
        _unavailable("JupyterLab is not installed (pip install -e '.[lab]')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package 'playwright' is not installed")
    exe = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if exe is None:
        _unavailable("no Chromium found; install it with 'apt-get install -y chromium'")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=exe, headless=True,
                                     args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _open(browser, lab: str, path: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(lab)
                  or r.request.url.startswith("data:") else r.abort())
    tab = context.new_page()
    workspace = re.sub(r"\W", "-", path)  # one workspace per notebook: no restored tabs
    tab.goto(f"{lab}/lab/workspaces/{workspace}/tree/{path}?reset&token={TOKEN}",
             wait_until="domcontentloaded")
    tab.wait_for_selector(".jp-Notebook .jp-MarkdownCell", timeout=90_000)
    tab.wait_for_function("() => document.querySelectorAll("
                          "'.jp-Notebook mjx-container, .jp-Notebook .katex')"
                          ".length > 10", timeout=90_000)
    return tab


@pytest.fixture(scope="module")
def lab_pages(browser, tmp_path_factory):
    """Each chapter in JupyterLab with jupyterlab-myst (Binder, the ``lab`` extra),
    opened once and shared by the tests of that chapter."""
    tabs: dict[str, object] = {}
    with _jupyterlab(tmp_path_factory.mktemp("lab"), myst=True) as lab:
        def open_chapter(path: str):
            if path not in tabs:
                for other in list(tabs):  # one chapter open at a time
                    tabs.pop(other).context.close()
                tabs[path] = _open(browser, lab, path)
            return tabs[path]

        yield open_chapter
        for tab in tabs.values():
            tab.context.close()


@pytest.fixture(scope="module", params=CHAPTERS, ids=_stem)
def chapter(request):
    return request.param


@pytest.fixture
def page(lab_pages, chapter):
    return lab_pages(chapter)


@pytest.fixture(scope="module")
def plain(browser, tmp_path_factory):
    """JupyterLab with jupyterlab-myst disabled: the plain renderer Colab also has."""
    with _jupyterlab(tmp_path_factory.mktemp("plain"), myst=False) as lab:
        yield lab


def _solutions(chapter: str) -> tuple[list[str], list[str]]:
    """Exercise statements and written-solution fragments of the chapter."""
    nb = json.loads((ROOT / chapter).read_text())
    statements, solutions = [], []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            stripped = strip_markdown("".join(cell["source"]))
            solutions += prose_fragments(stripped.removed)
            source = "".join(cell["source"])
            for block in re.findall(r"```\{exercise\}[^\n]*\n(.*?)```", source, re.S):
                body = "\n".join(line for line in block.splitlines()
                                 if not line.startswith(":"))
                statements += prose_fragments(body, min_words=4)
    return statements, solutions


def _render_every_cell(page) -> None:
    """JupyterLab renders a Markdown cell when it first scrolls into view."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    for i in range(cells.count()):
        cells.nth(i).scroll_into_view_if_needed()
    page.wait_for_timeout(1000)


def _notebook_text(page) -> str:
    _render_every_cell(page)
    return page.evaluate("() => document.querySelector('.jp-Notebook').innerText")


def _screenshot(page, name: str, heading: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    title = page.locator(f".jp-MarkdownCell h2:has-text('{heading}')").first
    if title.count():
        title.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / name))


def test_chapter_renders_without_raw_myst_in_jupyterlab(page, chapter):
    _screenshot(page, f"jupyterlab_{_stem(chapter)}_derivation.png", "Derivation")
    _render_every_cell(page)
    markdown = page.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-MarkdownCell'))"
        ".map(c => c.innerText).join('\\n')")
    raw = [m.group(0) for m in RAW.finditer(markdown)]
    assert not raw, f"raw MyST visible in JupyterLab: {raw[:8]}"
    assert "Exercise" in markdown
    _screenshot(page, f"jupyterlab_{_stem(chapter)}_exercises.png", "Exercises")


def test_solutions_are_collapsed_until_opened(page, chapter):
    statements, solutions = _solutions(chapter)
    assert statements and solutions
    text = " ".join(_notebook_text(page).split())
    assert any(s in text for s in statements), "exercise statements should be visible"
    shown = [s for s in solutions if s in text]
    assert not shown, f"solution text visible before opening: {shown[:3]}"
    page.evaluate("() => document.querySelectorAll('.jp-Notebook details')"
                  ".forEach(d => d.open = true)")
    opened = " ".join(_notebook_text(page).split())
    assert any(s in opened for s in solutions), "solutions should be there, collapsed"
    page.evaluate("() => document.querySelectorAll('.jp-Notebook details')"
                  ".forEach(d => d.open = false)")
    _screenshot(page, f"jupyterlab_{_stem(chapter)}_solutions_opened.png", "Exercises")


HIDDEN_TAGS = ("solution", "hide-input", "remove-input")


def test_code_the_book_hides_is_collapsed(page, chapter):
    """Reference solutions and the verification code (``hide-input``) are collapsed."""
    nb = json.loads((ROOT / chapter).read_text())
    hidden = [c for c in nb["cells"] if c["cell_type"] == "code"
              and set(HIDDEN_TAGS) & set(c["metadata"].get("tags", []))]
    assert hidden
    assert all(c["metadata"].get("jupyter", {}).get("source_hidden") for c in hidden)
    text = _notebook_text(page)
    for cell in hidden:
        body = [line.strip() for line in "".join(cell["source"]).splitlines()[3:]]
        shown = [line for line in body if len(line) > 30 and line in text]
        assert not shown, f"{chapter}: hidden code visible: {shown[:2]}"


def _markdown_text(page) -> str:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-MarkdownCell'))"
        ".map(c => c.innerText).join('\\n')")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_stem)
def test_colab_copy_renders_cleanly_where_the_chapter_does_not(browser, plain, chapter):
    """Without MyST support the chapter shows raw markup; its Colab copy does not."""
    source = _open(browser, plain, chapter)
    raw_source = RAW.findall(_markdown_text(source))
    source.context.close()
    assert raw_source, "control: the plain renderer should show the chapter's raw MyST"

    tab = _open(browser, plain, _colab_copy(chapter))
    text = _markdown_text(tab)
    raw = [m.group(0) for m in RAW.finditer(text)]
    assert not raw, f"raw MyST in the Colab copy: {raw[:8]}"
    tags = json.loads((ROOT / _colab_copy(chapter)).read_text())
    n_tags = sum("".join(c["source"]).count("\\tag{") for c in tags["cells"])
    rendered = tab.evaluate("() => document.querySelectorAll('.jp-MarkdownCell "
                            "mjx-container[display=\"true\"]').length")
    assert "\\tag" not in text and rendered >= n_tags > 0
    _, solutions = _solutions(chapter)
    flat = " ".join(text.split())
    assert not [s for s in solutions if s in flat], "solutions must start collapsed"
    tab.evaluate("() => document.querySelectorAll('details')"
                 ".forEach(d => d.open = true)")
    opened = " ".join(_markdown_text(tab).split())
    assert any(s in opened for s in solutions)
    _screenshot(tab, f"colab_copy_{_stem(chapter)}_exercises_plain.png", "Exercises")
    tab.context.close()

"""End-to-end: build the book, serve it on loopback, open every page in headless Chromium.

Runs under the README test command (and so in CI). It drives Debian's system
``chromium`` through Playwright (no browser download), with every request that
leaves 127.0.0.1 blocked. Where no browser is installed it skips with a message,
except under ``CI=true``, where it fails. Screenshots land in ``_build/screenshots/``.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RAW_TEX = re.compile(r"\$\$|\\begin\{|\\frac|\\mathrm|\\sum_|\\(?:eq)?ref\{")


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser test must run under CI but {reason}")
    pytest.skip(reason)


def _toc_pages() -> list[str]:
    entries = re.findall(r"(?:root|file):\s*(\S+)", (ROOT / "_toc.yml").read_text())
    return [f"{e}.html" for e in entries]


@pytest.fixture(scope="module")
def built_book() -> Path:
    """Build the book with the README's command and prove that its cache is current.

    The build is incremental, but its execution cache is keyed on the package source,
    the installed versions and the benchmark table (``learning_dynamics.book.cache``):
    the key of the build must equal the key computed here, from the current tree.
    Set ``LEARNING_DYNAMICS_REUSE_HTML=1`` to test an existing ``_build/html`` without
    rebuilding; it is reused only when its key is still current.
    """
    from learning_dynamics.book.cache import execution_key, last_build_key

    cache_base = ROOT / "_build" / ".jupyter_cache"
    current = execution_key(ROOT)
    reuse = os.environ.get("LEARNING_DYNAMICS_REUSE_HTML") == "1"
    current_html = (HTML / "index.html").exists() and last_build_key(cache_base) == current
    if reuse and current_html:
        return HTML
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(ROOT), "-W", "-n",
           "--keep-going"]
    env = {**os.environ, "LEARNING_DYNAMICS_PROGRESS": "0"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1800)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, "book build failed:\n" + log[-6000:]
    warnings = [line for line in log.splitlines()
                if "WARNING:" in line and "IPKernelApp" not in line]
    assert not warnings, "book build has warnings:\n" + "\n".join(warnings)
    assert last_build_key(cache_base) == current, (
        "the build used an execution cache that does not match the current source")
    return HTML


@pytest.fixture(scope="module")
def server(built_book):
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package 'playwright' is not installed (pip install -e '.[test]')")
    exe = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if exe is None:
        _unavailable("no Chromium found; install it with 'apt-get install -y chromium' (Debian/Ubuntu)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page_factory(browser, server):
    contexts = []

    def make(color_scheme="light"):
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=color_scheme)
        contexts.append(ctx)
        external: list[str] = []

        def route(r):
            if r.request.url.startswith(server) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                external.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page, errors, external

    yield make
    for ctx in contexts:
        ctx.close()


def _wait_for_mathjax(page):
    page.wait_for_function("() => window.MathJax === undefined || (window.MathJax.startup && "
                           "window.MathJax.startup.document && window.MathJax.startup.promise)", timeout=20000)
    page.evaluate("() => window.MathJax ? window.MathJax.startup.promise : null")


_PAGE_REPORT = """() => {
  const article = document.querySelector('article') || document.body;
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, .highlight, mjx-container, script, style, .cell_input').forEach(e => e.remove());
  return {
    images: Array.from(document.images).map(i => ({src: i.currentSrc.slice(0, 80), ok: i.complete && i.naturalWidth > 0,
                                                  alt: (i.getAttribute('alt') || '').trim()})),
    math: document.querySelectorAll('mjx-container').length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    text: clone.innerText,
    errorOutputs: document.querySelectorAll('.output.traceback, .output.error, .output.stderr').length,
    widgets: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
    sidebar: Array.from(document.querySelectorAll('.bd-sidebar a')).map(a => a.getAttribute('href')),
    links: Array.from(document.querySelectorAll('a')).map(a => a.href),
  };
}"""


@pytest.mark.parametrize("path", _toc_pages())
def test_page_renders_cleanly_offline(page_factory, server, path):
    page, errors, external = page_factory()
    page.goto(f"{server}/{path}", wait_until="networkidle")
    _wait_for_mathjax(page)
    report = page.evaluate(_PAGE_REPORT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / (path.replace("/", "_").replace(".html", ".png"))), full_page=True)

    assert not errors, f"console errors on {path}: {errors}"
    assert not external, f"{path} tried to reach the network: {external}"
    bad_images = [i for i in report["images"] if not i["ok"] or not i["alt"]]
    assert not bad_images, f"images not loaded or without alt text on {path}: {bad_images}"
    assert report["mathErrors"] == 0, f"MathJax reported {report['mathErrors']} TeX errors on {path}"
    raw = RAW_TEX.findall(report["text"])
    assert not raw, f"raw TeX left on {path}: {raw[:5]}"
    for marker in ("Traceback (most recent call last)", "NotImplementedError", "??"):
        assert marker not in report["text"], f"{marker!r} visible on {path}"
    assert report["errorOutputs"] == 0, f"{path} shows error or stderr output"
    assert report["widgets"] == 0, f"{path} has a widget area that is dead without a kernel"
    chapters = [p for p in _toc_pages() if p.startswith("chapters/")]
    for ch in chapters:
        assert ch == path or any(h and h.split("#")[0].endswith(ch.split("/")[-1]) for h in report["sidebar"]), \
            f"sidebar on {path} does not list {ch}"
    if path.startswith("chapters/"):
        assert report["math"] > 0, f"no rendered equations on {path}"
        assert any(i["src"].startswith("data:image/png") for i in report["images"]), f"no figures on {path}"
        links = " ".join(report["links"])
        for needle in ("mybinder.org", "colab.research.google.com", ".ipynb", "github.com/"):
            assert needle in links, f"launch/download/repository button {needle!r} missing on {path}"


def test_search_finds_chapters(page_factory, server):
    page, errors, _ = page_factory()
    page.goto(f"{server}/search.html?q=gradient", wait_until="networkidle")
    page.wait_for_selector("#search-results ul.search li", timeout=20000)
    hits = page.locator("#search-results ul.search li").count()
    assert hits >= 1 and not errors


def test_figures_stay_readable_in_dark_mode(page_factory, server):
    page, errors, _ = page_factory(color_scheme="dark")
    page.goto(f"{server}/chapters/01_preliminaries.html", wait_until="networkidle")
    page.evaluate("() => document.documentElement.setAttribute('data-theme', 'dark')")
    _wait_for_mathjax(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dark_mode_01_preliminaries.png"), full_page=False)
    backgrounds = page.evaluate("() => Array.from(document.querySelectorAll('figure.ld-figure img'))"
                                ".map(i => getComputedStyle(i).backgroundColor)")
    assert backgrounds and all(b in ("rgb(255, 255, 255)", "white") for b in backgrounds), backgrounds
    assert not errors

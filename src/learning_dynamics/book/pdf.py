"""The book as PDF: ``python -m learning_dynamics.book.pdf`` (after the build command).

Prints the built HTML (``_build/html``) with headless Chromium, through Playwright,
into

* ``_build/pdf/learning-dynamics.pdf``: a title page, then every page of the table of
  contents in order, assembled into one document so that equation, figure, exercise
  and cross-chapter references are internal links, with PDF bookmarks from the
  headings;
* ``_build/pdf/chapters/<chapter>.pdf``: each chapter alone (references to other
  chapters point to the online book).

Solutions and hidden verification code are omitted (their outputs, the "What we
verified" tables, are kept); the HTML book and the notebooks hold the solutions.
The pages are served on 127.0.0.1 and every other request is refused, so printing
needs no network.  CONTRIBUTING.md ("The PDF") says why this route, and what it
costs.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import re
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["BROWSERS", "find_chromium", "toc_pages", "write_pdfs"]

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
BOOK_NAME = "learning-dynamics"
#: Hidden in print: navigation, launch buttons, solutions, hidden source code.
PRINT_CSS = """
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .header-article,
.bd-footer, .bd-footer-article, .prev-next-area, .bd-header-announcement,
.skip-link, .headerlink, .toggle-details, .cell_input.hide,
details.hide-input > summary, details.hide-input > .cell_input,
.tag_hide-input .cell_input, .solution, .tag_solution, .tag_remove-input .cell_input,
.dropdown.solution, div.solution { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
.bd-page-width { max-width: 100% !important; }
.bd-main { margin: 0 !important; padding: 0 !important; }
details.hide-input, details.hide-output { display: block !important; }
details[open] > summary { display: none !important; }
figure, img, .cell_output, table, .math-wrapper, mjx-container[display="true"] {
  break-inside: avoid; }
h1, h2, h3 { break-after: avoid; }
.pdf-chapter { break-before: page; }
.pdf-title { text-align: center; padding-top: 30vh; break-after: page; }
pre, code { white-space: pre-wrap !important; word-break: break-word; }
"""
#: Runs in the print page: fetch every page, prefix ids, make links internal.
ASSEMBLE_JS = """
async ([pages, title, subtitle]) => {
  const body = document.querySelector('article.bd-article') || document.body;
  body.innerHTML = `<section class="pdf-title"><h1>${title}</h1>
    <p>${subtitle}</p></section>`;
  const slug = p => 'p-' + p.replace(/\\.html$/, '').replace(/[^A-Za-z0-9]+/g, '-');
  for (const page of pages) {
    const url = new URL(page, location.origin + '/');
    const text = await (await fetch(url)).text();
    const doc = new DOMParser().parseFromString(text, 'text/html');
    const article = doc.querySelector('article.bd-article');
    if (!article) continue;
    const prefix = slug(page);
    article.querySelectorAll('[id]').forEach(el => { el.id = prefix + '--' + el.id; });
    article.querySelectorAll('img[src]').forEach(img => {
      img.src = new URL(img.getAttribute('src'), url).href; });
    article.querySelectorAll('a[href]').forEach(a => {
      const raw = a.getAttribute('href');
      if (/^(https?:|mailto:)/.test(raw)) return;
      const target = new URL(raw, url);
      if (target.origin !== location.origin) return;
      const path = target.pathname.replace(/^\\//, '');
      if (!pages.includes(path)) { a.href = target.href; return; }
      a.setAttribute('href', '#' + slug(path) +
        (target.hash ? '--' + decodeURIComponent(target.hash.slice(1)) : ''));
    });
    const section = document.createElement('section');
    section.className = 'pdf-chapter';
    section.id = prefix;
    section.append(...article.childNodes);
    body.appendChild(section);
  }
  if (window.MathJax && MathJax.typesetPromise) {
    await MathJax.startup.promise;
    MathJax.typesetClear && MathJax.typesetClear();
    await MathJax.typesetPromise();
  }
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
    new Promise(r => { img.onload = img.onerror = r; })));
  return document.querySelectorAll('.pdf-chapter').length;
}
"""
#: Runs in a chapter page: links to other pages go to the online book.
ONLINE_LINKS_JS = """
(base) => {
  document.querySelectorAll('a[href]').forEach(a => {
    const raw = a.getAttribute('href');
    if (raw.startsWith('#') || /^(https?:|mailto:)/.test(raw)) return;
    const target = new URL(raw, location.href);
    if (target.origin !== location.origin) return;
    a.href = base.replace(/\\/$/, '') + target.pathname + target.hash;
  });
}
"""
WAIT_MATHJAX_JS = """
async () => {
  if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
    new Promise(r => { img.onload = img.onerror = r; })));
  return true;
}
"""
#: Runs in the print page: typeset equations, and text outside code that is raw TeX.
AUDIT_JS = r"""
() => {
  const raw = /\\\(|\\\[|\$\$|\\begin\{|\\label\{/;
  const skip = 'pre, code, script, style, mjx-container, .cell_input';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const leftovers = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip)) continue;
    if (getComputedStyle(el).display === 'none') continue;
    if (raw.test(n.textContent)) leftovers.push(n.textContent.trim().slice(0, 120));
  }
  return {equations: document.querySelectorAll('mjx-container').length,
          figures: document.querySelectorAll('figure img, .cell_output img').length,
          raw_tex: leftovers};
}
"""
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#555">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


def toc_pages(root: Path) -> list[str]:
    """The HTML pages of ``_toc.yml`` in reading order (``chapters/x.html``, ...)."""
    toc = (Path(root) / "_toc.yml").read_text()
    entries = re.findall(r"(?:root|file):\s*(\S+)", toc)
    if not entries:
        raise ValueError(f"{root}/_toc.yml lists no pages")
    return [f"{e}.html" for e in entries]


def find_chromium() -> str | None:
    """Path of a system Chromium; ``None`` to use Playwright's own browser."""
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _config_value(root: Path, key: str, default: str) -> str:
    match = re.search(rf"^\s*{key}:\s*\"?([^\"\n]+)\"?\s*$",
                      (root / "_config.yml").read_text(), flags=re.M)
    return match.group(1).strip() if match else default


def write_pdfs(root: Path | str = ".", out: Path | str | None = None, *,
               chapters: bool | Sequence[str] = True,
               verbose: bool = True) -> dict[str, Path]:
    """Print the built book at ``root/_build/html`` into PDFs; return their paths.

    Parameters
    ----------
    root : path
        Repository root (holds ``_toc.yml``, ``_config.yml`` and ``_build/html``).
    out : path, optional
        Output folder (default ``root/_build/pdf``).
    chapters : bool or sequence of str
        ``True``: also write one PDF per chapter; ``False``: only the book; a list of
        chapter names (``"03_lazy_rich_grokking"``, the notebook's stem): the book and
        those chapters (a handout for one lecture).
    verbose : bool
        Print a line per file written.
    """
    from playwright.sync_api import sync_playwright

    root = Path(root).resolve()
    html = root / "_build" / "html"
    if not (html / "index.html").is_file():
        raise FileNotFoundError(f"{html}/index.html not found: build the book first "
                                "(the README's build command)")
    pages = [p for p in toc_pages(root) if (html / p).is_file()]
    chapter_pages = [p for p in pages if p.startswith("chapters/")]
    chapter_pages = _select_chapters(chapters, chapter_pages)
    out = Path(out) if out is not None else root / "_build" / "pdf"
    (out / "chapters").mkdir(parents=True, exist_ok=True)
    title = _config_value(root, "title", "Learning Dynamics of Neural Networks")
    base = _config_value(root, "baseurl", "")
    version = _version()
    written: dict[str, Path] = {}

    handler = functools.partial(_Quiet, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        with sync_playwright() as p:
            try:
                browser = p.chromium.launch(executable_path=find_chromium(),
                                            headless=True, args=CHROMIUM_ARGS)
            except Exception as exc:  # noqa: BLE001 - Playwright's own error types
                raise RuntimeError(
                    "no Chromium to print with: install one ('apt-get install "
                    "chromium' on Debian/Ubuntu, or 'python -m playwright install "
                    f"chromium'); Playwright said: {str(exc)[:300]}") from exc
            context = browser.new_context(viewport={"width": 1100, "height": 1400})
            context.route("**/*", lambda r: r.continue_()
                          if r.request.url.startswith((origin, "data:")) else r.abort())
            page = context.new_page()
            page.emulate_media(media="print")
            started = time.perf_counter()
            page.goto(f"{origin}/{pages[0]}", wait_until="load")
            page.add_style_tag(content=PRINT_CSS)
            page.set_default_timeout(300_000)
            n = page.evaluate(ASSEMBLE_JS, [pages, title, f"Version {version}"])
            book = out / f"{BOOK_NAME}.pdf"
            audit = page.evaluate(AUDIT_JS)
            _print(page, book)
            written["book"] = book
            (out / "report.json").write_text(json.dumps(
                {"toc_pages": n, **audit}, indent=1))
            if verbose:
                print(f"wrote {book} ({n} pages of the table of contents, "
                      f"{audit['equations']} typeset equations, {audit['figures']} "
                      f"figures, {time.perf_counter() - started:.0f} s)", flush=True)
                for text in audit["raw_tex"]:
                    print(f"warning: raw TeX left in the text: {text!r}", flush=True)
            for name in chapter_pages:
                page.goto(f"{origin}/{name}", wait_until="load")
                page.add_style_tag(content=PRINT_CSS)
                page.evaluate(WAIT_MATHJAX_JS)
                if base:
                    page.evaluate(ONLINE_LINKS_JS, base)
                target = out / "chapters" / (Path(name).stem + ".pdf")
                _print(page, target)
                written[Path(name).stem] = target
                if verbose:
                    print(f"wrote {target}", flush=True)
            browser.close()
    finally:
        httpd.shutdown()
    return written


def _select_chapters(chapters, chapter_pages: list[str]) -> list[str]:
    """The chapter pages ``chapters`` asks for (see :func:`write_pdfs`)."""
    if isinstance(chapters, bool):
        return chapter_pages if chapters else []
    if isinstance(chapters, str) or not isinstance(chapters, Sequence):
        raise TypeError("chapters must be a bool or a list of chapter names; got "
                        f"{type(chapters).__name__}")
    known = {Path(p).stem: p for p in chapter_pages}
    unknown = [c for c in chapters if c not in known]
    if unknown:
        raise ValueError(f"chapters must name built chapters ({', '.join(known)}); "
                         f"got {', '.join(map(repr, unknown))}")
    return [known[c] for c in dict.fromkeys(chapters)]


def _print(page, path: Path) -> None:
    options = dict(path=str(path), format="A4", print_background=True,
                   margin={"top": "16mm", "bottom": "18mm", "left": "14mm",
                           "right": "14mm"},
                   display_header_footer=True, header_template="<span></span>",
                   footer_template=FOOTER)
    try:
        page.pdf(**options, outline=True, tagged=True)
    except TypeError:  # Playwright < 1.42: no outline option
        page.pdf(**options)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("learning-dynamics")
    except PackageNotFoundError:
        return "unreleased"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    parser.add_argument("--out", default=None, help="output folder (_build/pdf)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--no-chapters", action="store_true",
                       help="write only the book PDF")
    which.add_argument("--chapter", action="append", metavar="NAME",
                       help="write the book and only this chapter's PDF (the "
                       "notebook's name without .ipynb; repeat for several)")
    args = parser.parse_args(argv)
    chapters = args.chapter if args.chapter else not args.no_chapters
    try:
        write_pdfs(args.root, args.out, chapters=chapters)
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

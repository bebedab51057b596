"""Turn the chapters' MyST Markdown into plain Markdown that Colab renders.

Colab renders CommonMark with ``$``/``$$`` maths and a little HTML, but no MyST:
no directives, no roles, no labelled equations. ``MystToMarkdown`` rewrites
one Markdown cell at a time:

* ``{exercise}`` becomes a heading, ``{solution}`` a collapsed ``<details>`` block,
  ``{prf:theorem}`` and admonitions become block quotes, ``{prf:proof}`` a paragraph;
* ``$$ ... $$ (label)`` gets ``\\tag{2.3}`` with the number the book gives it;
* ``{eq}``, ``{numref}``, ``{ref}``, ``{prf:ref}``, ``{doc}`` and ``{term}`` become
  text with a link to the online book; ``{footcite}`` becomes an author-year
  citation and ``{footbibliography}`` a reference list.

Numbers follow the book's scheme (chapter number, then a per-chapter counter for
equations, figures, exercises and each kind of theorem), so "(2.3)" in Colab is
"(2.3)" in the HTML book. Unknown directives and roles raise ``ValueError``, so a
chapter that starts using a new one fails the Colab test instead of leaking raw
MyST into the copy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .bibtex import Reference, cite_text, reference_line

__all__ = ["Target", "BookIndex", "MystToMarkdown"]

PRF_KINDS = ("theorem", "lemma", "proposition", "corollary", "definition", "remark",
             "example", "conjecture", "criterion", "algorithm", "axiom", "property",
             "observation", "assumption", "notation")
ADMONITIONS = ("note", "tip", "hint", "important", "warning", "caution", "attention",
               "danger", "error", "seealso")
QUOTED = ("margin", "sidebar", "epigraph", "topic", "pull-quote")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\s*\{(?P<name>[^}\s]+)\}"
                    r"\s*(?P<arg>.*?)\s*$")
_CODE_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
_INLINE = re.compile(
    r"(?P<role>\{(?P<rname>[\w:.+-]+)\}(?P<rtick>`+)(?P<rbody>.+?)(?P=rtick))"
    r"|(?P<code>(?P<tick>`+).+?(?P=tick))"
    r"|(?P<dmath>\$\$(?P<math>.+?)\$\$(?:[ \t]*\((?P<label>[^()\s]+)\))?)", re.S)
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)


def anchor_id(label: str) -> str:
    """The HTML id Sphinx gives a label (docutils ``make_id``)."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


@dataclass(frozen=True)
class Target:
    """Something a reference can point to: an equation, figure, exercise, theorem...

    Attributes
    ----------
    docname : str
        Document holding it, e.g. ``chapters/02_deep_linear``.
    kind : str
        ``equation``, ``figure``, ``exercise``, a ``prf`` kind, or ``section``.
    number : str
        Its number as the book prints it ("2.3"; "" for sections).
    title : str
        Its title (exercises, theorems, sections; "" otherwise).
    anchor : str
        The id of its HTML element.
    """

    docname: str
    kind: str
    number: str
    title: str
    anchor: str


@dataclass
class BookIndex:
    """What a conversion needs to know about the whole book.

    Attributes
    ----------
    base_url : str
        URL of the online book, ending in ``/``.
    chapter_numbers : dict
        Docname -> chapter number, for numbered documents.
    doc_titles : dict
        Docname -> title (its first ``#`` heading).
    references : dict
        The bibliography (``learning_dynamics.book.bibtex.read_bibliography``).
    targets : dict
        Label -> ``Target``, filled by a first, collecting pass.
    citations : dict
        Docname -> citation keys in order of first use (filled by the same pass).
    """

    base_url: str
    chapter_numbers: dict[str, int]
    doc_titles: dict[str, str]
    references: dict[str, Reference]
    targets: dict[str, Target] = field(default_factory=dict)
    citations: dict[str, list[str]] = field(default_factory=dict)

    def url(self, docname: str, anchor: str = "") -> str:
        """Link to a page (and an anchor on it) in the online book."""
        return f"{self.base_url}{docname}.html" + (f"#{anchor}" if anchor else "")


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines())


def _split_directive(lines: list[str]) -> tuple[dict[str, str], str]:
    """Options (``:key: value`` lines or a ``---`` YAML block) and the body."""
    options: dict[str, str] = {}
    if lines and lines[0].strip() == "---":
        end = lines.index("---", 1) if "---" in lines[1:] else 0
        for line in lines[1:end]:
            key, _, value = line.partition(":")
            options[key.strip()] = value.strip()
        lines = lines[end + 1:]
    while lines and re.match(r"^\s*:[\w-]+:", lines[0]):
        key, _, value = lines.pop(0).strip()[1:].partition(":")
        options[key.strip()] = value.strip()
    return options, "\n".join(lines).strip("\n")


class MystToMarkdown:
    """Converts the Markdown cells of one document, in order.

    Parameters
    ----------
    index : BookIndex
        The book's labels and bibliography.
    docname : str
        The document being converted (numbers use its chapter number).
    collect : bool
        First pass: record labels, numbers and citations in ``index``;
        references to labels not yet seen are left as placeholders.
    """

    def __init__(self, index: BookIndex, docname: str, *, collect: bool = False):
        self.index, self.docname, self.collect = index, docname, collect
        self.counters: dict[str, int] = {}
        # Between {solution-start} and {solution-end} (which may span cells), prose
        # is collapsed in <details> blocks, one per cell, as the book collapses it.
        self.gate: str | None = None
        self._depth = 0
        chapter = index.chapter_numbers.get(docname)
        self.prefix = f"{chapter}." if chapter else ""
        if collect:
            index.citations[docname] = []

    # ----------------------------------------------------------------- numbering
    def number(self, kind: str, label: str | None, title: str = "") -> str:
        """Next number of ``kind`` here; record ``label`` on the first pass."""
        self.counters[kind] = self.counters.get(kind, 0) + 1
        number = f"{self.prefix}{self.counters[kind]}"
        if self.collect and label:
            anchor = f"equation-{label}" if kind == "equation" else anchor_id(label)
            self.index.targets[label] = Target(self.docname, kind, number, title,
                                               anchor)
        return number

    def target(self, label: str) -> Target:
        """The target of a reference; on the first pass unknown labels are allowed."""
        if label in self.index.targets:
            return self.index.targets[label]
        if self.collect:
            return Target(self.docname, "unknown", "?", label, anchor_id(label))
        raise ValueError(f"{self.docname}: reference to unknown label {label!r}")

    # ------------------------------------------------------------------- blocks
    def convert(self, text: str, *, quoted: bool = False) -> str:
        """Convert MyST Markdown ``text``; ``quoted`` puts display maths on one line."""
        self._depth += 1
        try:
            parts = self._convert(text, quoted=quoted)
        finally:
            self._depth -= 1
        if self._depth:  # inside a directive: the caller places the text
            text = "\n\n".join(p.strip("\n") for _, p in parts if p.strip())
        else:
            text = self._collapse_gated(parts)
        return re.sub(r"\n{3,}", "\n\n", text)

    def _collapse_gated(self, parts: list[tuple[str | None, str]]) -> str:
        """Join parts; runs of solution prose become one ``<details>`` block."""
        blocks: list[str] = []
        run: list[str] = []
        title = None
        for gate, part in [*parts, (None, "")]:
            if gate is not None and part.strip():
                run.append(part.strip("\n"))
                title = gate
                continue
            if run:
                body = "\n\n".join(run)
                blocks.append(f"<details>\n<summary><b>{title}</b></summary>\n\n{body}"
                              "\n\n</details>")
                run = []
            if part.strip():
                blocks.append(part.strip("\n"))
        return "\n\n".join(blocks)

    def _convert(self, text: str, *, quoted: bool) -> list[tuple[str | None, str]]:
        out: list[tuple[str | None, str]] = []
        chunk: list[str] = []
        lines = text.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            directive, code = _FENCE.match(line), _CODE_FENCE.match(line)
            if directive or code or _TARGET.match(line):
                out.append((self.gate, self.inline("\n".join(chunk), quoted=quoted)))
                chunk = []
            if _TARGET.match(line):
                self._section_target(_TARGET.match(line)["label"], lines[i + 1:])
                i += 1
            elif directive:
                end = self._closing(lines, i, directive["fence"])
                body = [ln[len(directive["indent"]):] for ln in lines[i + 1:end]]
                converted = self.directive(directive["name"], directive["arg"], body,
                                           quoted=quoted)
                out.append((self.gate, converted))
                i = end + 1
            elif code:
                end = self._closing(lines, i, code["fence"])
                out.append((self.gate, "\n".join(lines[i:end + 1])))
                i = end + 1
            else:
                chunk.append(line)
                i += 1
        out.append((self.gate, self.inline("\n".join(chunk), quoted=quoted)))
        return out

    @staticmethod
    def _closing(lines: list[str], start: int, fence: str) -> int:
        char, width = fence[0], len(fence)
        for j in range(start + 1, len(lines)):
            stripped = lines[j].strip()
            if stripped and set(stripped) == {char} and len(stripped) >= width:
                return j
        return len(lines)  # unclosed: runs to the end, as in MyST

    def _section_target(self, label: str, following: list[str]) -> None:
        heading = next((ln for ln in following if ln.strip()), "")
        title = heading.lstrip("#").strip() if heading.startswith("#") else label
        if self.collect:
            self.index.targets[label] = Target(self.docname, "section", "", title,
                                               anchor_id(label))

    def directive(self, name: str, arg: str, body_lines: list[str], *,
                  quoted: bool) -> str:
        """One directive as plain Markdown."""
        options, body = _split_directive(body_lines)
        kind = name.split(":", 1)[1] if name.startswith("prf:") else name
        if name == "exercise":
            number = self.number("exercise", options.get("label"), arg)
            title = f" ({self.inline(arg)})" if arg else ""
            body = self.convert(body, quoted=quoted)
            return f"#### Exercise {number}{title}\n\n{body}"
        if name in ("solution", "solution-start"):
            return self._solution(name, arg, body)
        if name == "solution-end":
            self.gate = None
            return ""
        if name == "prf:proof":
            return f"*Proof.* {self.convert(body, quoted=quoted)} $\\blacksquare$"
        if name.startswith("prf:") and kind in PRF_KINDS:
            number = self.number(kind, options.get("label"), arg)
            title = f" ({self.inline(arg, quoted=True)})" if arg else ""
            head = f"**{kind.capitalize()} {number}{title}.**"
            return _quote(f"{head} {self.convert(body, quoted=True)}")
        if name in ("admonition", "dropdown") or name in ADMONITIONS:
            return self._admonition(name, arg, options, body)
        return self._other(name, arg, options, body, quoted=quoted)

    def _solution(self, name: str, arg: str, body: str) -> str:
        target = self.target(arg) if arg else None
        title = f"Solution to Exercise {target.number}" if target else "Solution"
        if name == "solution-start":
            note = ("The reference solution is the code cell below (in Colab its code "
                    "is hidden: double-click the cell to show it).")
            self.gate = title  # the prose up to {solution-end} is collapsed
            return note + (f"\n\n{self.convert(body)}" if body else "")
        return (f"<details>\n<summary><b>{title}</b></summary>\n\n{self.convert(body)}"
                "\n\n</details>")

    def _admonition(self, name: str, arg: str, options: dict, body: str) -> str:
        title = arg or ("Details" if name == "dropdown" else name.capitalize())
        if name == "dropdown" or "dropdown" in options.get("class", ""):
            return (f"<details>\n<summary><b>{self.inline(title)}</b></summary>\n\n"
                    f"{self.convert(body)}\n\n</details>")
        return _quote(f"**{self.inline(title, quoted=True)}**\n\n"
                      f"{self.convert(body, quoted=True)}")

    def _other(self, name: str, arg: str, options: dict, body: str, *,
               quoted: bool) -> str:
        if name == "math":
            label = options.get("label")
            tag = f" \\tag{{{self.number('equation', label)}}}" if label else ""
            return self._display_math(body + tag, quoted)
        if name == "figure":
            number = self.number("figure", options.get("name"))
            alt = options.get("alt", "figure")
            return f"![{alt}]({arg})\n\n**Figure {number}.** {self.convert(body)}"
        if name == "image":
            return f"![{options.get('alt', 'image')}]({arg})"
        if name == "table":
            number = self.number("table", options.get("name"))
            return f"**Table {number}.** {self.inline(arg)}\n\n{self.convert(body)}"
        if name in ("code-block", "code", "code-cell", "sourcecode"):
            return f"```{arg}\n{body}\n```"
        if name in ("footbibliography", "bibliography"):
            return self._reference_list(name)
        if name == "glossary":
            return self._glossary(body)
        if name in QUOTED:
            return _quote(self.convert(body, quoted=True))
        if self.collect:  # pages that are not chapters may use anything
            return ""
        raise ValueError(f"{self.docname}: no plain-Markdown form for directive "
                         f"{{{name}}}; add one to learning_dynamics.book.myst_markdown")

    def _reference_list(self, name: str) -> str:
        refs = self.index.references
        keys = (self.index.citations.get(self.docname, []) if name == "footbibliography"
                else sorted(refs))
        return "\n".join(reference_line(refs[k]) for k in keys if k in refs)

    def _glossary(self, body: str) -> str:
        entries, term = [], None
        for line in body.splitlines():
            if line and not line[0].isspace():
                term = line.strip()
                entries.append([term, ""])
            elif term is not None and line.strip():
                entries[-1][1] += " " + line.strip()
        return "\n\n".join(f"**{t}**: {self.inline(d.strip())}" for t, d in entries)

    # ------------------------------------------------------------------- inline
    def inline(self, text: str, *, quoted: bool = False) -> str:
        """Rewrite roles and labelled display maths; code spans stay as they are."""
        def replace(match: re.Match) -> str:
            if match["code"]:
                return match["code"]
            if match["role"]:
                return self.role(match["rname"], match["rbody"])
            number = self.number("equation", match["label"]) if match["label"] else ""
            tag = f" \\tag{{{number}}}" if number else ""
            return self._display_math(match["math"].strip() + tag, quoted)

        return _INLINE.sub(replace, text)

    @staticmethod
    def _display_math(tex: str, quoted: bool) -> str:
        if quoted:
            return "$$ " + " ".join(ln.strip() for ln in tex.splitlines()) + " $$"
        return f"$$\n{tex.strip()}\n$$"

    def role(self, name: str, body: str) -> str:
        """One role as text (linked to the online book where it points somewhere)."""
        explicit = _EXPLICIT.match(body)
        text, label = (explicit["text"], explicit["target"]) if explicit else ("", body)
        if name in ("footcite:p", "footcite:t", "cite", "cite:p", "cite:t", "footcite"):
            keys = [k.strip() for k in body.split(",")]
            if self.collect:
                cited = self.index.citations[self.docname]
                cited.extend(k for k in keys if k not in cited)
                return ""
            try:
                return cite_text(self.index.references, keys,
                                 textual=name.endswith(":t"))
            except KeyError as exc:
                raise ValueError(f"{self.docname}: {exc.args[0]}") from None
        if name == "math":
            return f"${body}$"
        if name in ("sub", "sup", "kbd"):
            return f"<{name}>{body}</{name}>"
        if name == "guilabel":
            return f"**{body}**"
        if name == "abbr":
            return re.sub(r"\s*\(.*\)$", "", body)
        if name in ("doc", "term", "eq", "numref", "ref", "prf:ref"):
            return self._reference(name, text, label)
        if name.startswith("py:") or name in ("func", "class", "mod", "meth", "attr"):
            return f"`{label}`"
        if self.collect:
            return ""
        raise ValueError(f"{self.docname}: no plain-Markdown form for role {{{name}}}; "
                         "add one to learning_dynamics.book.myst_markdown")

    def _reference(self, name: str, text: str, label: str) -> str:
        if name == "doc":
            docname = self._resolve_doc(label)
            title = text or self.index.doc_titles.get(docname, docname)
            return f"[{title}]({self.index.url(docname)})"
        if name == "term":
            anchor = "term-" + anchor_id(label)
            return f"[{text or label}]({self.index.url('pages/glossary', anchor)})"
        target = self.target(label)
        if name == "eq":
            shown = f"({target.number})"
        elif name == "numref":
            kind = {"figure": "Fig.", "table": "Table"}.get(target.kind,
                                                             target.kind.capitalize())
            shown = (text or f"{kind} %s").replace("%s", target.number)
            shown = shown.replace("{number}", target.number)
        elif name == "prf:ref":
            shown = text or f"{target.kind.capitalize()} {target.number}"
        else:
            numbered = f"{target.kind.capitalize()} {target.number}"
            shown = text or target.title or numbered
        return f"[{shown}]({self.index.url(target.docname, target.anchor)})"

    def _resolve_doc(self, path: str) -> str:
        if path.startswith("/"):
            return path.strip("/")
        parts = self.docname.split("/")[:-1]
        for piece in path.split("/"):
            if piece == "..":
                parts = parts[:-1]
            elif piece not in ("", "."):
                parts.append(piece)
        return "/".join(parts)

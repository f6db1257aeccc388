"""Check a built site: every page there, nothing loaded from another host, the math and the
figures in place. Run after the build (CI does):

    sphinx-build -W --keep-going -b html docs build/docs
    python docs/check_site.py build/docs

Sphinx's -W already fails on broken cross-references; this looks at what it produced:

- every page: each docs/**/*.md and each executed notebook has its .html;
- offline: no page or stylesheet names a script, style, font, image or frame on another host
  (an <a href> to elsewhere is a link a reader may follow, and is allowed);
- local files: every src and href inside the site points at a file that is there, and at an
  element of that page where it names one (#fragment);
- math: the site carries MathJax (tex-chtml.js and its fonts), every page with math loads that
  copy, and the math page has equations;
- notebooks: each notebook's page shows as many images as its executed copy holds;
- gallery: every kind of figure the runs of build/gallery/ drew is on the gallery page.

Prints one line per check and a last line `site: N passed, M failed`; exits 1 if any failed.
"""

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
EXECUTED = ROOT / "build" / "notebooks"
GALLERY = ROOT / "build" / "gallery"
MATHJAX = "_static/mathjax/tex-chtml.js"
# (tag, attribute) pairs that make a browser fetch something while showing the page
FETCHED = {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"),
           ("source", "src"), ("video", "src"), ("audio", "src"), ("object", "data")}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)|@import\s+['"]([^'"]+)""")


class Page(HTMLParser):
    """The URLs a page fetches, the ones it links to, and whether it has math."""

    def __init__(self, text):
        super().__init__()
        self.fetched, self.linked, self.images, self.has_math = [], [], [], False
        self.ids = set()
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for attribute in ("src", "href", "data"):
            url = attrs.get(attribute)
            if url is None:
                continue
            if (tag, attribute) in FETCHED and not (tag == "link" and attrs.get("rel") in (
                    "canonical", "alternate", "next", "prev", "index", "search")):
                self.fetched.append(url)
            else:
                self.linked.append(url)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if "math" in (attrs.get("class") or "").split():
            self.has_math = True


def is_elsewhere(url):
    parts = urlsplit(url)
    return parts.scheme not in ("", "data") or url.startswith("//")


def local_target(page_path, url):
    """The file a URL of `page_path` names (the page itself for "#..."), or None elsewhere."""
    if is_elsewhere(url) or url.startswith("mailto:"):
        return None
    path = unquote(urlsplit(url).path)
    if not path:
        return page_path.resolve()
    target = (page_path.parent / path).resolve()
    return target / "index.html" if target.is_dir() else target


def notebook_images(executed):
    notebook = json.loads(executed.read_text())
    return sum(
        1
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {}) or "image/svg+xml" in output.get("data", {})
    )


def run_checks(site):
    pages = {path: Page(path.read_text()) for path in sorted(site.rglob("*.html"))}
    sources = [p for p in DOCS.rglob("*.md") if p.parent.name not in ("_ext", "gallery")]
    sources += sorted((DOCS / "notebooks").glob("*.ipynb"))
    checks = []

    def check(name, problems):
        checks.append((name, problems))

    check("every page built", [
        f"{source.relative_to(DOCS)} has no page"
        for source in sources
        if not (site / source.relative_to(DOCS).with_suffix(".html")).exists()
    ])

    elsewhere = [f"{path.relative_to(site)} loads {url}" for path, page in pages.items()
                 for url in page.fetched if is_elsewhere(url)]
    for css in site.rglob("*.css"):
        for match in CSS_URL.finditer(css.read_text(errors="replace")):
            url = match.group(1) or match.group(2)
            if is_elsewhere(url):
                elsewhere.append(f"{css.relative_to(site)} loads {url}")
    check("nothing loaded from another host", elsewhere)

    missing, by_path = [], {path.resolve(): page for path, page in pages.items()}
    for path, page in pages.items():
        for url in page.fetched + page.linked:
            target, fragment = local_target(path, url), unquote(urlsplit(url).fragment)
            if target is None:
                continue
            if not target.exists():
                missing.append(f"{path.relative_to(site)}: {url}")
            elif fragment and target in by_path and fragment not in by_path[target].ids:
                missing.append(f"{path.relative_to(site)}: {url} (no such element)")
    check("every local src and href exists", sorted(set(missing)))

    mathjax = site / MATHJAX
    fonts = list((site / "_static/mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))
    math_pages = [path for path, page in pages.items() if page.has_math]
    check("MathJax is in the site", [] if mathjax.exists() and len(fonts) > 10 else [
        f"{MATHJAX} or its fonts are missing ({len(fonts)} fonts)"])
    check("every page with math loads the site's MathJax", [
        f"{path.relative_to(site)} does not load {MATHJAX}"
        for path in math_pages
        if not any(local_target(path, url) == mathjax.resolve() for url in pages[path].fetched)
    ] + ([] if site / "math.html" in math_pages else ["math.html has no math"]))

    shown = []
    for executed in sorted(EXECUTED.glob("*.ipynb")):
        page = site / "notebooks" / f"{executed.stem}.html"
        want = notebook_images(executed)
        got = len(pages[page].images) if page in pages else 0
        if page not in pages or got < want:
            shown.append(f"{page.relative_to(site)}: {got} images, its notebook has {want}")
    check("every notebook's figures shown", shown if EXECUTED.exists() else ["no build/notebooks/"])

    referenced = re.findall(r"gallery/[\w-]+/([\w-]+\.png)", (DOCS / "gallery.md").read_text())
    kinds = sorted({p.name for p in GALLERY.rglob("*.png")}) if GALLERY.exists() else []
    images = len(pages.get(site / "gallery.html", Page("")).images)
    check("every kind of figure in the gallery", [
        f"gallery.md shows no {name}, which a run drew" for name in kinds if name not in referenced
    ] + ([] if images == len(referenced) else [
        f"gallery.html shows {images} images, gallery.md names {len(referenced)}"
    ]) + ([] if kinds else ["build/gallery/ holds no figures"]))
    return checks, len(pages)


def main(argv):
    site = Path(argv[1] if len(argv) > 1 else ROOT / "build" / "docs").resolve()
    if not (site / "index.html").exists():
        sys.exit(f"check_site: no {site / 'index.html'}: build the site first (see this file)")
    checks, page_count = run_checks(site)
    for name, problems in checks:
        print(f"{'ok  ' if not problems else 'FAIL'} {name}")
        for problem in problems[:20]:
            print(f"       {problem}")
    failed = sum(1 for _, problems in checks if problems)
    print(f"check_site: {page_count} HTML pages in {site}")
    print(f"site: {len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

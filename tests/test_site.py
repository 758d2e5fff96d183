"""Build the book (smoke budget) and check the built pages in headless Chromium.

Checks, on every page: no Python traceback; math typeset by MathJax (served from the site);
every image loaded; on notebook chapters, a Colab link to the chapter's .ipynb on main; pages
with widgets show them. A screenshot of the introduction is saved for people to look at.

Layout (``tests/site_layout.py``), on every chapter page at a desktop (1300 px) and a phone (400 px)
width: no display equation, code cell or output wider than its column, no table printed as text,
every figure captioned. Full-page screenshots of every page at both widths are kept in
``_build/smoke/screenshots`` (a build artefact: look at them).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from valleylib.book import REPOSITORY_URL

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "smoke"
HTML = OUT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REPO = REPOSITORY_URL

pytestmark = pytest.mark.site


@pytest.fixture(scope="module")
def site() -> Path:
    if not (ROOT / "_vendor" / "mathjax" / "tex-chtml.js").exists():
        pytest.fail("_vendor/ is missing: run `make vendor` (the README's commands do)")
    # Always build from scratch: a cached output reflects whatever environment filled the cache
    # (its key is a notebook's code only), and Sphinx reuses the doctree of an unchanged page.
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    env = dict(os.environ, VALLEYLIB_BUDGET="smoke", VALLEYLIB_PROGRESS="0")
    env.pop("MPLBACKEND", None)  # tests/conftest.py sets Agg; the book's kernels must draw inline figures
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(OUT), "-W", "-n", "--keep-going"],
        capture_output=True, text=True, env=env, cwd=ROOT,
    )
    assert proc.returncode == 0, f"book build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
    return HTML


def pages(html: Path) -> list[Path]:
    return sorted((html / "chapters").glob("*.html"))


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )
        yield b
        b.close()


def test_every_toc_page_was_built(site):
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    for f in files:
        assert (site / f"{f}.html").exists(), f"{f}.html was not built"


def test_pages_in_browser(site, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []
    missing: list[str] = []
    page.on("request", lambda r: blocked.append(r.url) if r.url.startswith("http") else None)
    page.on("requestfailed", lambda r: missing.append(r.url))
    checked = 0
    for path in pages(site):
        html = path.read_text()
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        text = page.inner_text("main") if page.query_selector("main") else page.inner_text("body")
        assert "Traceback (most recent call last)" not in text, f"{path.name} shows a traceback"
        if 'class="math' in html:
            page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0", timeout=20_000)
            assert "\\(" not in text and "\\[" not in text, f"{path.name}: raw LaTeX left on the page"
        broken = page.evaluate("() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        assert not broken, f"{path.name}: images not loaded: {broken}"
        md = ROOT / "chapters" / (path.stem + ".md")
        if md.exists() and "plt.show()" in md.read_text():
            n_img = page.evaluate("() => document.querySelectorAll('main img').length")
            n_show = md.read_text().count("plt.show()")
            assert n_img >= n_show, f"{path.name}: {n_img} image(s) for {n_show} plt.show() calls"
        if md.exists() and md.read_text().lstrip().startswith("---\njupytext:"):
            hrefs = page.evaluate("() => [...document.querySelectorAll('a')].map(a => a.href)")
            colab = [h for h in hrefs if "colab.research.google.com" in h]
            expected = f"https://colab.research.google.com/github/{REPO.split('github.com/')[1]}/blob/main/chapters/{path.stem}.ipynb"
            assert expected in colab, f"{path.name}: Colab link {colab} != {expected}"
        if "application/vnd.jupyter.widget-view+json" in html:
            page.wait_for_selector(".jupyter-widgets, .widget-box, .widget-inline-hbox", timeout=20_000)
        checked += 1
    assert checked >= 3
    assert not blocked, f"pages requested the network: {sorted(set(blocked))[:5]}"
    assert not missing, f"pages requested files the site does not have: {sorted(set(missing))[:5]}"
    page.close()


_BAD_PAGE = """<!doctype html><html><body><main style="width: 300px">
<div class="cell_input"><pre style="overflow-x: auto">{long}</pre></div>
<div class="cell_output"><pre style="overflow-x: hidden">a  b  c\n1  2  3\n4  5  6</pre></div>
<div class="cell_output"><img src="x.png" alt="x" width="10" height="10"></div>
<div class="vl-table" style="overflow-x: auto"><table><tr><td style="white-space: nowrap">{long}</td></tr></table></div>
<figure><div class="cell_output"><img src="y.png" width="10" height="10"></div><figcaption>ok</figcaption></figure>
</main></body></html>"""


def test_layout_probe_finds_what_it_should(browser, tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    import site_layout

    page = tmp_path / "chapters" / "bad.html"
    page.parent.mkdir()
    page.write_text(_BAD_PAGE.format(long="x" * 200))
    found = site_layout.check_pages(browser, [page])
    kinds = sorted(p["kind"] for p in found[("bad", "desktop")])
    assert kinds == ["code", "table-scrolls", "text-table", "uncaptioned-figure"], kinds
    bad = site_layout.failures(found)
    assert any("at phone: code" in b for b in bad) and not any("at phone: table-scrolls" in b for b in bad)
    assert any("at desktop: table-scrolls" in b for b in bad)


def test_layout_fits_the_column_at_desktop_and_phone_widths(site, browser):
    sys.path.insert(0, str(Path(__file__).parent))
    import site_layout

    shots = OUT / "screenshots"
    found = site_layout.check_pages(browser, pages(site), shots)
    assert len(found) == 2 * len(pages(site)) and len(pages(site)) >= 3
    assert len(list(shots.glob("*-phone.png"))) == len(pages(site))
    bad = site_layout.failures(found)
    assert not bad, f"{len(bad)} layout problem(s) (screenshots in {shots}):\n" + "\n".join(bad[:40])


def test_bibliography_and_screenshot(site, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto((site / "chapters" / "bibliography.html").as_uri())
    text = page.inner_text("main")
    for author in ("Safran", "Venturi", "Freeman", "Zhu"):
        assert author in text
    page.goto((site / "chapters" / "intro.html").as_uri())
    page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0", timeout=20_000)
    shots = OUT / "screenshots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "intro.png"), full_page=False)
    assert (shots / "intro.png").stat().st_size > 10_000
    page.close()

"""Layout checks of built pages in a browser: what is wider than its column, what is not a table.

Used by ``tests/test_site.py``; also runnable by hand on a built site::

    .venv/bin/python tests/site_layout.py _build/html [--shots DIR]

prints, for each chapter page at a desktop and a phone width, every display equation, code cell
and output block whose content is wider than the column it sits in (after MathJax has typeset),
every text output that looks like a table printed with ``print()``, every result table that has
to scroll, and every figure without a caption.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

#: (name, viewport width, viewport height)
WIDTHS = (("desktop", 1300, 900), ("phone", 400, 860))

# Runs in the page. An element "overflows" when its content is wider than its box by more than a
# pixel and the reader cannot scroll to the rest (overflow-x hidden/visible): then it is cut off.
# A scrollable box (overflow-x auto/scroll) is allowed only for display equations, as a last resort;
# code and outputs must fit.
_MEASURE = r"""
() => {
  const out = [];
  const main = document.querySelector('main') || document.body;
  const colWidth = main.getBoundingClientRect().width;
  const describe = (el) => Array.from((el.innerText || el.textContent || '').trim().replace(/\s+/g, ' '))
    .slice(0, 80).join('').replace(/[\ud800-\udfff]/g, '?');
  const cut = (el) => {
    const cs = getComputedStyle(el);
    const scrollable = cs.overflowX === 'auto' || cs.overflowX === 'scroll';
    return {over: el.scrollWidth - el.clientWidth, scrollable};
  };
  // display equations: the MathJax container against its block
  for (const el of main.querySelectorAll('mjx-container[display="true"]')) {
    const box = el.parentElement;
    const w = el.getBoundingClientRect().width, bw = box.getBoundingClientRect().width;
    const c = cut(el);
    const tooWide = Math.max(w - bw, el.scrollWidth - el.clientWidth);
    if (tooWide > 1 && !c.scrollable) out.push({kind: 'equation', over: Math.round(tooWide), text: describe(el)});
    else if (tooWide > 1) out.push({kind: 'equation-scrolls', over: Math.round(tooWide), text: describe(el)});
  }
  // inline math cannot break across lines: one that runs past its paragraph is cut off
  for (const el of main.querySelectorAll('mjx-container:not([display="true"])')) {
    const block = el.closest('p, li, td, dd, figcaption, div') || main;
    const over = el.getBoundingClientRect().right - block.getBoundingClientRect().right;
    if (over > 1) out.push({kind: 'inline-math', over: Math.round(over), text: describe(el)});
  }
  // code cells and text outputs
  for (const el of main.querySelectorAll('div.cell_input pre, div.cell_output pre, div.highlight pre')) {
    const c = cut(el);
    if (c.over > 1) {
      const inOutput = !!el.closest('div.cell_output');
      out.push({kind: inOutput ? 'output' : 'code', over: c.over, scrollable: c.scrollable, text: describe(el)});
    }
  }
  // result tables (valleylib.tables.Table) scroll inside their own box: reported, so that a
  // caller can allow it where nothing else fits (a phone) and refuse it elsewhere
  for (const el of main.querySelectorAll('div.vl-table')) {
    const c = cut(el);
    if (c.over > 1) out.push({kind: c.scrollable ? 'table-scrolls' : 'table', over: c.over, text: describe(el)});
  }
  // anything else in the column that is wider than the column
  for (const el of main.querySelectorAll('table, img, .jupyter-widgets, .widget-box')) {
    const w = el.getBoundingClientRect().width;
    if (w > colWidth + 1 && !el.closest('.table-wrapper, .pst-scrollable-table-container, div.vl-table')) {
      out.push({kind: el.tagName.toLowerCase(), over: Math.round(w - colWidth), text: describe(el)});
    }
  }
  // tables printed as text: an output block of 3+ lines whose lines share runs of 2+ spaces or ' | '
  for (const el of main.querySelectorAll('div.cell_output pre')) {
    const lines = (el.textContent || '').split('\n').filter(l => l.trim());
    const tabular = lines.filter(l => /\S {2,}\S.* {2,}\S/.test(l) || /\S \| \S/.test(l));
    if (lines.length >= 3 && tabular.length >= 3 && tabular.length >= 0.6 * lines.length) {
      out.push({kind: 'text-table', over: 0, text: describe(el)});
    }
  }
  // figures without a caption: images in cell outputs outside a <figure> with a <figcaption>
  for (const el of main.querySelectorAll('div.cell_output img')) {
    const fig = el.closest('figure');
    if (!fig || !fig.querySelector('figcaption')) out.push({kind: 'uncaptioned-figure', over: 0, text: el.alt || el.src.slice(-40)});
  }
  return out;
}
"""


def wait_for_math(page, timeout: int = 20_000) -> None:
    """Wait until MathJax has typeset the page (no-op on pages without math)."""
    if page.query_selector(".math") is None:
        return
    page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0", timeout=timeout)
    page.wait_for_function(
        "() => !window.MathJax || !MathJax.startup || !MathJax.startup.promise || "
        "(MathJax.startup.promise.then(() => { window.__mjDone = true }), window.__mjDone === true)",
        timeout=timeout,
    )


def measure(page) -> list[dict]:
    """Layout problems of the page currently loaded."""
    return page.evaluate(_MEASURE)


def check_pages(browser, pages, shots: Path | None = None) -> dict:
    """``{(page name, width name): [problems]}`` for every page at every width of :data:`WIDTHS`."""
    found = {}
    for name, w, h in WIDTHS:
        page = browser.new_page(viewport={"width": w, "height": h})
        for path in pages:
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            wait_for_math(page)
            found[(path.stem, name)] = measure(page)
            if shots is not None:
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / f"{path.stem}-{name}.png"), full_page=True)
        page.close()
    return found


#: Problems accepted at a width: a result table may scroll inside its box on a phone (a table of
#: thirteen columns cannot fit 400 px), never on the desktop page.
ALLOWED = {"phone": {"table-scrolls"}, "desktop": set()}


def failures(found: dict) -> list[str]:
    """The problems of :func:`check_pages` not in :data:`ALLOWED`, one line each."""
    lines = []
    for (stem, width), problems in sorted(found.items()):
        for pr in problems:
            if pr["kind"] not in ALLOWED.get(width, set()):
                lines.append(f"{stem} at {width}: {pr['kind']} +{pr['over']}px: {pr['text']}")
    return lines


def _main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    html = Path(argv[0]).resolve()
    shots = Path(argv[argv.index("--shots") + 1]) if "--shots" in argv else None
    pages = sorted((html / "chapters").glob("*.html"))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                              "--disable-background-networking", "--disable-component-update", "--no-first-run"])
        found = check_pages(b, pages, shots)
        b.close()
    total = 0
    for (stem, width), problems in found.items():
        for pr in problems:
            total += 1
            text = pr["text"].encode("utf-8", "replace").decode("utf-8")
            print(f"{stem:>28} {width:>7} {pr['kind']:>18} +{pr['over']:>4}px  {text}")
    bad = failures(found)
    print(f"{total} problem(s), {len(bad)} not allowed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

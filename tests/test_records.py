"""The measurements that pages show are committed, and cover what the pages need."""
import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
NOT_CHAPTERS = {"status", "course_guide", "notation", "bibliography"}


def toc_chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [Path(f).name for f in files if Path(f).name not in NOT_CHAPTERS]


def test_chapter_times_cover_every_chapter():
    for budget in ("default", "smoke"):
        record = json.loads((RESULTS / f"chapter-times-{budget}.json").read_text())
        missing = set(toc_chapters()) - set(record["data"]["seconds"])
        assert not missing, f"chapter-times-{budget}.json lacks {missing}: run scripts/time_chapters.py --budget {budget}"
        assert record["machine"] and record["date"]


def test_benchmark_records_are_well_formed():
    names = {p.stem for p in RESULTS.glob("*.json")}
    assert {"safran-shamir", "dss-quadratic"} <= names
    for path in RESULTS.glob("*.json"):
        record = json.loads(path.read_text())
        assert {"benchmark", "date", "machine", "summary", "data"} <= set(record), path.name
        assert record["summary"], path.name

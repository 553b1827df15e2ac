"""The results table: printed by bench/run.py and written into bench/RESULTS.md, one section per N.

The section between `<!-- results:N -->` and `<!-- /results:N -->` is replaced; everything else in
RESULTS.md (the analysis written by hand) is kept.
"""

from __future__ import annotations

import re
from pathlib import Path


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.{digits}f}"


def cell(summary: dict | None, key: str) -> str:
    if not summary or "error" in summary or not summary.get(key):
        return "error" if summary and "error" in summary else "–"
    measure = summary[key]
    return f"{fmt(measure['median'])} ({fmt(measure['min'])}–{fmt(measure['max'])})"


def latency(summary: dict | None) -> str:
    if not summary or "error" in summary:
        return "error" if summary else "–"
    return " / ".join(fmt(summary[key]["median"]) if summary.get(key) else "–" for key in ("p50", "p95", "p99"))


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}×" if a and b else "–"


def median(summary: dict | None, key: str) -> float | None:
    if not summary or "error" in summary or not summary.get(key):
        return None
    return summary[key]["median"]


def render_section(result: dict) -> str:
    machine = result["machine"]
    postgres = result["postgres"]
    lines = [
        f"## {result['studies']:,} synthetic studies",
        "",
        f"Run {result['date']} on {machine['cpu']}, {machine['memory_gb']} GB RAM, kernel {machine['kernel']}; "
        f"commit {machine['commit']}. {machine['versions']['postgresql']}; Datasette {machine['versions']['datasette']}; "
        f"{machine['versions']['wrk']}; Python {machine['versions']['python']}.",
        "",
        f"- Load: {result['studies']:,} studies generated into PostgreSQL in "
        f"{postgres.get('load_seconds') or '?'} s{' (database reused from an earlier run)' if postgres.get('reused') else ''}.",
        f"- Servers: ours {result['servers']['ours']}; Datasette {result['servers']['datasette']}.",
        f"- (d) shows {result['accession']}. Concurrency 8 (wrk -t2 -c8); each cell is the median of "
        f"{len(next(iter(result['runs'].values())))} interleaved runs, (min–max) across them; latencies in ms.",
    ]
    lines += [
        "",
        "| Query | | Ours req/s | Ours p50 / p95 / p99 | Datasette req/s | Datasette p50 / p95 / p99 | Floor req/s "
        "| Floor p50 / p95 / p99 | Ours ÷ Datasette (req/s) | Ours ÷ floor (p50) | SQL per request |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary = result["summary"]
    for key, query in result["queries"].items():
        for kind in ("html", "json"):
            ours, theirs, floor = (summary.get(f"{key}:{kind}:{who}") for who in ("ours", "datasette", "floor"))
            captured = result["captured"].get(f"{key}:{kind}", {})
            lines.append(
                f"| ({key}) {query['title']} | {kind.upper()} | {cell(ours, 'rps')} | {latency(ours)} | {cell(theirs, 'rps')} "
                f"| {latency(theirs)} | {cell(floor, 'rps')} | {latency(floor)} | "
                f"{ratio(median(ours, 'rps'), median(theirs, 'rps'))} | {ratio(median(ours, 'p50'), median(floor, 'p50'))} "
                f"| {captured.get('queries', '–')} |"
            )
    if result.get("csv"):
        lines += ["", "(f) CSV, one client, median of the runs:", "",
                  "| CSV | Ours | Ours worker peak RSS | Datasette | Datasette worker peak RSS | Rows |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for name in ("filtered", "all"):
            ours, theirs = result["csv"].get(f"{name}:ours", []), result["csv"].get(f"{name}:datasette", [])
            errors = [run["error"] for run in ours + theirs if "error" in run]
            ours, theirs = [run for run in ours if "error" not in run], [run for run in theirs if "error" not in run]
            if errors:
                lines.append(f"| {name} | failed: {'; '.join(sorted(set(errors)))} | | | | |")
            if not ours or not theirs:
                continue

            def med(runs, key):
                values = sorted(run[key] for run in runs)
                return values[len(values) // 2] if values else None

            lines.append(
                f"| {name} | {fmt(med(ours, 'seconds'))} s | {fmt(med(ours, 'peak_rss_mb'))} MB "
                f"| {fmt(med(theirs, 'seconds'))} s | {fmt(med(theirs, 'peak_rss_mb'))} MB "
                f"| {med(ours, 'rows'):,} / {med(theirs, 'rows'):,} |"
            )
    if result.get("cold") and any(result["cold"].values()):
        lines += ["", "Cache misses: one request right after the cache was invalidated (as a publish does), ms:", ""]
        lines.append("| Query | HTML | JSON |")
        lines.append("|---|---|---|")
        for key in result["queries"]:
            html, json_ = (result["cold"].get(f"{key}:{kind}") or [] for kind in ("html", "json"))
            lines.append(f"| ({key}) | {', '.join(fmt(v) for v in html)} | {', '.join(fmt(v) for v in json_)} |")
    if result.get("busy"):
        lines += ["", f"Other processes busy on the machine during {len(result['busy'])} measurement(s) "
                  "(they share its cores): see results JSON."]  # fmt: skip
    notes = [f"- ({key}) {query['note']}" for key, query in result["queries"].items() if query.get("note")]
    if notes:
        lines += ["", "What each pair compares:", "", *notes]
    return "\n".join(lines) + "\n"


def write_results(path: Path, result: dict) -> None:
    start, end = f"<!-- results:{result['studies']} -->", f"<!-- /results:{result['studies']} -->"
    block = f"{start}\n{render_section(result)}{end}"
    text = path.read_text() if path.exists() else "# Benchmark results\n\nWritten by `make bench` (bench/run.py).\n"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)

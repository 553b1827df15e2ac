"""`make bench`: NeuroCell Registry against Datasette and the SQL floor, on the same data, in one run.

    python -m bench.run --studies 100000 [--seed 0] [--seconds 10] [--repeats 3] [--concurrency 8] [--fresh]

1. PostgreSQL: a dedicated database `neurocell_bench_<N>` with the curated studies and N synthetic ones
   (reused while its N, seed and migrations match; `--fresh` rebuilds it). The load time is recorded.
2. The same public studies exported into SQLite (bench/out/bench-<N>.db) with an FTS5 index.
3. Ours under gunicorn as in production (DEBUG off, SECRET_KEY and ALLOWED_HOSTS set, static files
   collected); Datasette under uvicorn from the bench venv, with as many worker processes.
4. Each query class, HTML and JSON, driven by wrk at fixed concurrency against both; the SQL our code
   runs for each URL (captured in-process) replayed by pgbench at the same concurrency: the floor.
   Every measurement is repeated, interleaved, and reported as median (min-max).
5. (f) CSV: the filtered and the full study CSV, single client, with the worker's peak memory.
6. The table printed and written into bench/RESULTS.md (one section per N, other text kept).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
PYTHON = ROOT / ".venv" / "bin" / "python"
BENCH_PYTHON = BENCH / ".venv" / "bin" / "python"
RESULTS = BENCH / "RESULTS.md"
OURS_PORT, DATASETTE_PORT = 8801, 8802
DATASETTE_SETTINGS = {
    # Fair tuning: no facet suggestions (extra queries per page), limits raised so every count and facet
    # completes, unlimited CSV streaming, a 200 MB page cache per connection.
    "suggest_facets": False,
    "sql_time_limit_ms": 120_000,
    "facet_time_limit_ms": 120_000,
    "max_csv_mb": 0,
    "cache_size_kb": 200_000,
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sh(*args, env=None, capture=False, check=True, cwd=ROOT) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, check=check, text=True, stdout=subprocess.PIPE if capture else None
    )
    return result.stdout if capture else ""


# --- PostgreSQL --------------------------------------------------------------------------------------------


class Postgres:
    def __init__(self, server: str, studies: int) -> None:
        self.server = server.rstrip("/")
        self.name = f"neurocell_bench_{studies}"
        self.url = f"{self.server}/{self.name}"

    def admin(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def exists(self) -> bool:
        return bool(self.admin(f"SELECT 1 FROM pg_database WHERE datname = '{self.name}'"))

    def marker(self) -> str:
        rows = self.admin(f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{self.name}'")
        return (rows[0][0] or "") if rows else ""


def migrations_fingerprint() -> str:
    names = sorted(path.name for path in (ROOT / "trials" / "migrations").glob("0*.py"))
    return names[-1] if names else ""


def django_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-not-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_COOKIES": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "API_ANON_RATE": "off",
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "ERROR",
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra)
    return env


def prepare_postgres(pg: Postgres, studies: int, seed: int, fresh: bool) -> dict:
    """The bench database with N synthetic studies; rebuilt when missing, different or --fresh."""
    wanted = f"neurocell-bench studies={studies} seed={seed} migrations={migrations_fingerprint()}"
    info: dict = {"database": pg.name}
    if not fresh and pg.exists() and pg.marker().split(" load_s=")[0] == wanted:
        log(f"PostgreSQL: reusing {pg.name} ({wanted})")
        info["load_seconds"] = float(pg.marker().split(" load_s=")[1]) if " load_s=" in pg.marker() else None
        info["reused"] = True
        return info
    log(f"PostgreSQL: building {pg.name}")
    pg.admin(f'DROP DATABASE IF EXISTS "{pg.name}"')
    pg.admin(f'CREATE DATABASE "{pg.name}"')
    env = django_env(pg.url)
    sh(PYTHON, "manage.py", "migrate", "--no-input", "-v0", env=env)
    sh(PYTHON, "manage.py", "import_studies", env=env)
    started = time.monotonic()
    sh(PYTHON, "-m", "bench.generate", "--studies", studies, "--seed", seed, env=env)
    load_seconds = round(time.monotonic() - started, 1)
    log(f"PostgreSQL: {studies} synthetic studies loaded in {load_seconds} s")
    pg.admin(f"COMMENT ON DATABASE \"{pg.name}\" IS '{wanted} load_s={load_seconds}'")
    info.update(load_seconds=load_seconds, reused=False)
    return info


# --- Servers ---------------------------------------------------------------------------------------------


class Server:
    def __init__(self, name: str, args: list, env: dict, port: int, cwd: Path = ROOT) -> None:
        self.name, self.port = name, port
        self.log = open(OUT / f"{name}.log", "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [str(a) for a in args], cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, path: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log.name}")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30).read()
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not answer on port {self.port}; see {self.log.name}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # our own process group (start_new_session)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return total


def active_queries(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        return connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
            "AND pid <> pg_backend_pid()"
        ).fetchone()[0]


def wait_idle(servers: list[Server], database_url: str, timeout: float = 180) -> float:
    """Wait until both servers have finished what the last load left them (wrk stops sending, but
    requests already accepted still run and would steal the next measurement's CPU); seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        pids = [pid for server in servers for pid in server.worker_pids()]
        before = cpu_seconds(pids)
        time.sleep(0.5)
        if cpu_seconds(pids) - before < 0.05 and active_queries(database_url) == 0:
            break
    return time.monotonic() - started


def rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# --- Load generators ---------------------------------------------------------------------------------------


def _get_quietly(url: str) -> None:
    with contextlib.suppress(OSError, http.client.HTTPException):
        urllib.request.urlopen(url, timeout=600).read()


def wrk(url: str, seconds: int, concurrency: int) -> dict:
    threads = str(min(2, concurrency))
    common = ["wrk", "-t", threads, "-c", str(concurrency), "--timeout", "60s"]
    # Warm-up, discarded: first as many concurrent requests as clients, each waited for (so every worker
    # has computed the answer, however long that takes at this N), then 2 s of load.
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda _: _get_quietly(url), range(concurrency)))
    subprocess.run([*common, "-d", "2s", url], capture_output=True, check=False)
    output = subprocess.run(
        [*common, "-d", f"{seconds}s", "-s", str(BENCH / "wrk_report.lua"), url], capture_output=True, text=True, check=False
    ).stdout
    match = re.search(r"WRKJSON (\{.*\})", output)
    if not match:
        return {"error": output.strip()[-300:]}
    raw = json.loads(match.group(1))
    ok = raw["requests"] - raw["non2xx"]
    return {
        "rps": ok / (raw["duration_us"] / 1e6),
        "p50": raw["p50"] / 1000,
        "p95": raw["p95"] / 1000,
        "p99": raw["p99"] / 1000,
        "requests": raw["requests"],
        "errors": raw["non2xx"] + raw["socket_errors"],
        "bytes_per_request": raw["bytes"] / max(1, raw["requests"]),
    }


def pgbench(database_url: str, statements: list[str], seconds: int, concurrency: int) -> dict:
    """The statements one request runs, as one pgbench transaction, replayed by `concurrency` clients."""
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / "request.sql"
        script.write_text("".join(statement.rstrip().rstrip(";") + ";\n" for statement in statements))
        base = ["pgbench", "-n", "-M", "simple", "-c", str(concurrency), "-j", str(min(2, concurrency)), "-f", str(script)]
        subprocess.run([*base, "-T", "1", database_url], capture_output=True, check=False)  # warm-up
        result = subprocess.run(
            [*base, "-T", str(seconds), "-l", "--log-prefix", f"{work}/tx", database_url],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            return {"error": (result.stderr or result.stdout).strip()[-300:]}
        latencies = sorted(int(line.split()[2]) / 1000 for log in Path(work).glob("tx*") for line in log.read_text().splitlines())
    tps = float(re.search(r"tps = ([0-9.]+)", result.stdout).group(1))
    return {"rps": tps, **percentiles(latencies), "requests": len(latencies), "errors": 0}


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99)}


def download(url: str, worker_pids: list[int] | None = None) -> dict:
    """One GET read to the end; seconds, bytes, rows, and the largest worker RSS seen meanwhile."""
    peak = {"kb": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak["kb"] = max([peak["kb"], *(rss_kb(pid) for pid in worker_pids or [])])
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    size = lines = 0
    try:
        with urllib.request.urlopen(url, timeout=600) as response:
            status = response.status
            while chunk := response.read(1 << 16):
                size += len(chunk)
                lines += chunk.count(b"\n")
    except (OSError, http.client.HTTPException) as error:  # a broken stream is a result, not the end of the run
        return {"error": f"{type(error).__name__}: {error}", "bytes": size}
    finally:
        stop.set()
        sampler.join()
    seconds = time.monotonic() - started
    return {"status": status, "seconds": seconds, "bytes": size, "rows": max(0, lines - 1), "peak_rss_mb": peak["kb"] / 1024}


# --- The run -----------------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    commit = sh("git", "rev-parse", "--short", "HEAD", capture=True, check=False).strip()
    dirty = sh("git", "status", "--porcelain", capture=True, check=False).strip()
    versions = {
        "postgresql": sh("psql", "--version", capture=True, check=False).strip(),
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout.split("\n")[0].strip(),
        "datasette": sh(
            BENCH_PYTHON, "-c", "import datasette.version as v; print(v.__version__)", capture=True, check=False
        ).strip(),
        "python": platform.python_version(),
    }
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory_gb": round(int(memory) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "versions": versions,
    }


def busy_processes() -> list[str]:
    """Other processes using CPU when a measurement starts: they share the 2 cores with the benchmark."""
    lines = sh("ps", "-eo", "pcpu,args", "--sort=-pcpu", capture=True, check=False).splitlines()[1:8]
    return [line.strip()[:100] for line in lines if line.strip() and float(line.split()[0]) >= 20]


def capture_our_sql(env: dict, accession: str) -> dict:
    """Each of our URLs once in-process with every cache off: the SQL it takes to answer it from the
    database (the floor replays it), its status. The second of two requests, so that per-process
    lookups (vocabularies, translations) are warm as they are under load."""
    code = (
        "import json, sys, django; django.setup(); from django.test import Client; from bench import queries as q; "
        "c = Client(); out = {}; "
        "urls = [(f'{x.key}:{k}', u) for x in q.queries(sys.argv[1]) for k, u in x.urls().items()]; "
        "[q.capture(c, u) for _, u in urls]; "
        "out = {key: q.capture(c, u) for key, u in urls}; print(json.dumps(out))"
    )
    uncached = {**env, "REGISTRY_CACHE_SECONDS": "0", "REGISTRY_PAGE_CACHE": "0"}
    output = sh(PYTHON, "-c", code, accession, env=uncached, capture=True)
    return json.loads(output.strip().splitlines()[-1])


def pick_accession(env: dict) -> str:
    code = "import django; django.setup(); from bench.queries import pick_accession; print(pick_accession())"
    return sh(PYTHON, "-c", code, env=env, capture=True).strip().splitlines()[-1]


def invalidate_caches(pg: Postgres) -> bool:
    """Make every cached facet count and total stale (as a publish would); False if there is no cache."""
    import psycopg

    with psycopg.connect(pg.url, autocommit=True) as connection:
        exists = connection.execute("SELECT to_regclass('trials_datastamp') IS NOT NULL").fetchone()[0]
        if exists:
            connection.execute("SELECT trials_data_changed()")
        return bool(exists)


def cold_latencies(pg: Postgres, url: str, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        if not invalidate_caches(pg):
            return []
        # The workers learn of the change by notification (trials.cache.StampWatcher), a fraction of a
        # millisecond after the commit: a reader arriving in that instant still gets the old copy.
        time.sleep(0.05)
        started = time.monotonic()
        urllib.request.urlopen(url, timeout=600).read()
        times.append((time.monotonic() - started) * 1000)
    return times


def summarize(runs: list[dict]) -> dict:
    """Median and min-max of each measure over the repeats."""
    good = [run for run in runs if "error" not in run and run.get("rps") is not None]
    if not good:
        return {"error": next((run.get("error") for run in runs if "error" in run), "no result")}
    summary = {}
    for key in ("rps", "p50", "p95", "p99"):
        values = [run[key] for run in good if run.get(key) is not None]
        summary[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)} if values else None
    summary["errors"] = sum(run.get("errors", 0) for run in good)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=int, default=10, help="Length of each measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="Worker processes, ours and Datasette's alike")
    parser.add_argument("--threads", type=int, default=4, help="Threads per gunicorn worker (gthread)")
    parser.add_argument("--fresh", action="store_true", help="Rebuild the bench database and the SQLite export")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--only", default="", help="Query keys to run, e.g. 'ad' (default: all)")
    parser.add_argument("--cold-repeats", type=int, default=3, help="Cache-miss requests per URL")
    parser.add_argument("--csv-repeats", type=int, default=3, help="Downloads of each CSV, per server")
    args = parser.parse_args()
    for tool in ("wrk", "pgbench"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed (apt-get install wrk postgresql-client).")
    if not BENCH_PYTHON.exists():
        sys.exit("The bench venv is missing: run `make bench` (it creates bench/.venv with Datasette).")
    OUT.mkdir(exist_ok=True)

    pg = Postgres(args.postgres, args.studies)
    result: dict = {"studies": args.studies, "seed": args.seed, "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}
    result["machine"] = machine()
    result["postgres"] = prepare_postgres(pg, args.studies, args.seed, args.fresh)
    env = django_env(pg.url, DJANGO_SETTINGS_MODULE="registry.settings")

    # Datasette names a database after its file: /bench/... whatever N.
    sqlite = OUT / f"sqlite-{args.studies}" / "bench.db"
    sqlite.parent.mkdir(exist_ok=True)
    metadata = OUT / "datasette-metadata.json"
    stamp = sqlite.parent / "source.txt"
    if args.fresh or not sqlite.exists() or not stamp.exists() or stamp.read_text() != pg.marker():
        log(f"SQLite: exporting to {sqlite}")
        started = time.monotonic()
        sh(PYTHON, BENCH / "export_sqlite.py", pg.url, sqlite)
        result["sqlite_export_seconds"] = round(time.monotonic() - started, 1)
        stamp.write_text(pg.marker())
    sys.path.insert(0, str(BENCH))
    import export_sqlite

    metadata.write_text(json.dumps(export_sqlite.datasette_metadata("bench")))
    sh(PYTHON, "manage.py", "collectstatic", "--no-input", "-v0", env=env)

    accession = pick_accession(env)
    from bench.queries import csv_urls, queries

    selected = [q for q in queries(accession) if not args.only or q.key in args.only]
    result["accession"] = accession
    result["queries"] = {q.key: {"title": q.title, "note": q.note} for q in selected}
    log("Capturing our SQL per URL (in-process, caches off)")
    captured = capture_our_sql(env, accession)
    result["captured"] = {key: {k: v for k, v in value.items() if k != "sql"} | {"queries": len(value["sql"])}
                          for key, value in captured.items()}  # fmt: skip

    gunicorn = [ROOT / ".venv" / "bin" / "gunicorn", "registry.wsgi:application", "--bind", f"127.0.0.1:{OURS_PORT}",
                "--workers", args.workers, "--threads", args.threads, "--worker-class", "gthread",
                "--max-requests", "0"]  # fmt: skip
    datasette_env = {
        **os.environ,
        "BENCH_SQLITE": str(sqlite),
        "BENCH_DATASETTE_METADATA": str(metadata),
        "BENCH_DATASETTE_SETTINGS": json.dumps(DATASETTE_SETTINGS),
        "PYTHONPATH": str(BENCH),
    }
    uvicorn = [BENCH / ".venv" / "bin" / "uvicorn", "--factory", "datasette_app:app", "--port", DATASETTE_PORT,
               "--workers", args.workers, "--log-level", "warning", "--no-access-log"]  # fmt: skip
    ours = Server("ours", gunicorn, env, OURS_PORT)
    datasette = Server("datasette", uvicorn, datasette_env, DATASETTE_PORT, cwd=BENCH)
    result["servers"] = {
        "ours": f"gunicorn, {args.workers} workers x {args.threads} threads (gthread), DEBUG off",
        "datasette": f"uvicorn, {args.workers} workers, immutable SQLite, settings {DATASETTE_SETTINGS}",
    }
    try:
        ours.wait_ready("/api/v1/")
        datasette.wait_ready("/bench.json")
        our_base, their_base = f"http://127.0.0.1:{OURS_PORT}", f"http://127.0.0.1:{DATASETTE_PORT}"
        for query in selected:
            for kind in ("html", "json"):
                for base, path in ((our_base, query.urls()[kind]), (their_base, getattr(query, f"datasette_{kind}"))):
                    response = urllib.request.urlopen(base + path, timeout=600)
                    if response.status != 200:
                        raise RuntimeError(f"{base + path} answered {response.status}")
        log("Cache-miss latencies (a single request right after invalidation)")
        result["cold"] = {
            f"{q.key}:{kind}": cold_latencies(pg, our_base + q.urls()[kind], args.cold_repeats)
            for q in selected
            for kind in ("html", "json")
        }
        runs: dict[str, list] = {}
        waited: list[float] = []
        result["busy"] = []
        for repeat in range(args.repeats):
            for query in selected:
                for kind in ("html", "json"):
                    cell = f"{query.key}:{kind}"
                    result["busy"] += [f"repeat {repeat + 1} {cell}: {p}" for p in busy_processes()]
                    log(f"repeat {repeat + 1}/{args.repeats} {cell}")
                    ours_url = captured[cell]["url"] if captured[cell]["url"].startswith("/") else query.urls()[kind]
                    runs.setdefault(f"{cell}:ours", []).append(wrk(our_base + ours_url, args.seconds, args.concurrency))
                    waited.append(wait_idle([ours, datasette], pg.url))
                    their_url = their_base + getattr(query, f"datasette_{kind}")
                    runs.setdefault(f"{cell}:datasette", []).append(wrk(their_url, args.seconds, args.concurrency))
                    waited.append(wait_idle([ours, datasette], pg.url))
                    statements = [s for s in captured[cell]["sql"] if s.lstrip().upper().startswith(("SELECT", "WITH"))]
                    runs.setdefault(f"{cell}:floor", []).append(pgbench(pg.url, statements, args.seconds, args.concurrency))
        result["runs"] = runs
        result["drain_seconds"] = {"max": max(waited, default=0), "total": sum(waited)}
        result["summary"] = {key: summarize(value) for key, value in runs.items()}

        log("(f) CSV downloads")
        csv_results: dict[str, list] = {}
        for repeat in range(args.csv_repeats):
            for name, (our_path, their_path) in csv_urls().items():
                csv_results.setdefault(f"{name}:ours", []).append(download(our_base + our_path, ours.worker_pids()))
                csv_results.setdefault(f"{name}:datasette", []).append(download(their_base + their_path, datasette.worker_pids()))
                log(f"repeat {repeat + 1} CSV {name}: ours {csv_results[f'{name}:ours'][-1]}")
        result["csv"] = csv_results
    finally:
        ours.stop()
        datasette.stop()
    (OUT / f"results-{args.studies}.json").write_text(json.dumps(result, indent=1, default=str))
    from bench.report import render_section, write_results

    print(render_section(result))
    write_results(RESULTS, result)
    log(f"Wrote {RESULTS.relative_to(ROOT)} and {(OUT / f'results-{args.studies}.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main()

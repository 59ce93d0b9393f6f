"""Throughput and memory of the firewall parsers on real sample lines.

Lines come from Elastic's pipeline tests and Wazuh's decoder tests in ``../shared``
(built-in lines if absent), repeated to ``--lines`` per format. Each format is parsed
on one core in this process, best of ``--repeat`` passes; peak memory is the parse loop's tracemalloc peak (a
separate, shorter pass, since tracing slows parsing) and the process's max RSS.

    .venv/bin/python benchmarks/bench_parsers_firewalls.py [--lines 200000] [--repeat 3] [--formats fortigate,panos]

``--ingest-lines`` parses the FortiGate traffic records that ``bench_ingest.py`` sends (one template, varying
times, addresses and ports: what a busy firewall's feed looks like) instead of the sample mix.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import gc
import re
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.parsers import ParseContext, ParseError, get_parser  # noqa: E402
from tests.connectors.elastic_compare import ELASTIC, SHARED, _inputs  # noqa: E402

SOURCES = {  # format -> (Elastic vendor dir, Wazuh file stem)
    "fortigate": ("fortinet_fortigate", "fortigate"),
    "pfsense": ("pfsense", "pfsense"),
    "iptables": ("iptables", "iptables"),
    "cisco_asa": ("cisco_asa", "cisco_asa"),
    "panos": ("panw", "paloalto"),
}


def sample_lines(fmt: str) -> list[str]:
    vendor, wazuh = SOURCES[fmt]
    lines: list[str] = []
    for path in sorted((ELASTIC / vendor).rglob("*")) if (ELASTIC / vendor).is_dir() else []:
        if path.is_file() and path.suffix in (".log", ".json") and not path.name.endswith("-expected.json"):
            lines += [x for x in _inputs(path) if isinstance(x, str)]
    for ini in sorted((SHARED / "logs" / "wazuh").glob(f"tests-*/{wazuh}.ini")):
        lines += re.findall(r"(?m)^log \d+ pass = (.*)$", ini.read_text(encoding="utf-8", errors="replace"))
    return lines


def ingest_lines(fmt: str, n: int) -> list[str]:
    """The FortiGate records ``bench_ingest.py`` sends: its ``FORTIGATE`` template read from its source (importing
    it would load the whole service and inflate this process's RSS), filled in the way its ``line()`` does."""
    if fmt != "fortigate":
        raise SystemExit(f"--ingest-lines: bench_ingest.py has no {fmt} template (only fortigate)")
    tree = ast.parse((ROOT / "benchmarks" / "bench_ingest.py").read_text(encoding="utf-8"))
    template = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "FORTIGATE" for t in node.targets))
    return [template.format(m=(i // 60) % 60, s=i % 60, i=i, a=(i // 250) % 250, b=i % 250, sp=1024 + i % 60000)
            for i in range(min(n, 10_000))]


def bench(fmt: str, n: int, repeat: int = 3, ingest: bool = False) -> tuple[int, float, float, int, int]:
    base = ingest_lines(fmt, n) if ingest else sample_lines(fmt)
    if not base:
        raise SystemExit(f"no sample lines for {fmt}: is ../shared checked out?")
    lines = (base * (n // len(base) + 1))[:n]
    parse = get_parser(fmt)
    ctx = ParseContext()
    dead = 0
    for line in base:  # warm caches and imports
        with contextlib.suppress(ParseError):
            parse(line, ctx)
    elapsed = cpu = float("inf")
    for _ in range(repeat):  # best of N: other processes on a shared machine only ever slow a pass down
        gc.collect()
        dead = 0
        t0, c0 = time.perf_counter(), time.process_time()
        for line in lines:
            try:
                parse(line, ctx)
            except ParseError:
                dead += 1
        elapsed, cpu = min(elapsed, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    tracemalloc.start()
    for line in lines[: min(len(lines), 20000)]:
        with contextlib.suppress(ParseError):
            parse(line, ctx)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return len(lines), elapsed, cpu, dead, peak


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=200_000, help="lines per format (default 200000)")
    ap.add_argument("--formats", default=",".join(SOURCES), help="comma-separated formats")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes per format, the best is shown (default 3)")
    ap.add_argument("--ingest-lines", action="store_true",
                    help="parse bench_ingest.py's FortiGate traffic records instead of the sample lines")
    args = ap.parse_args()
    c0 = time.process_time()
    acc = 0
    for k in range(1_000_000):
        acc += k
    calib = time.process_time() - c0
    print(f"CPU calibration: a 1M-iteration Python loop took {calib * 1000:.0f} ms of CPU "
          "(compare machines with this; lines/cpu-s scales inversely)")
    print(f"{'format':10} {'lines':>8} {'distinct':>8} {'wall s':>7} {'lines/s':>9} {'cpu s':>7} "
          f"{'lines/cpu-s':>11} {'dead':>5} {'peak KiB':>9}")
    for fmt in args.formats.split(","):
        distinct = len(set(ingest_lines(fmt, args.lines) if args.ingest_lines else sample_lines(fmt)))
        n, elapsed, cpu, dead, peak = bench(fmt, args.lines, args.repeat, args.ingest_lines)
        print(f"{fmt:10} {n:8} {distinct:8} {elapsed:7.2f} {n / elapsed:9,.0f} {cpu:7.2f} {n / cpu:11,.0f} "
              f"{dead:5} {peak / 1024:9,.0f}", flush=True)
    print("lines/cpu-s counts only the CPU time this process got (the wall rate drops when other jobs share "
          "the cores; see `uptime`).")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"max RSS of the benchmark process: {rss / 1024:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

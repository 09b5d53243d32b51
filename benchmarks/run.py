"""Time chancal against references measured in the same run, and print PASS/MISS per target.

    python benchmarks/run.py                      # everything, N = 100, 1,000, 10,000
    python benchmarks/run.py --sizes 100,1000 --repeat 3

Every figure is the median of several fresh processes with the largest peak
resident set of those processes (from `os.wait4`). Targets are judged on wall
time, as issue 7 states them; CPU time (user + system) is printed beside it,
which shows how much of the wall time a busy shared machine added. Each chancal
figure is printed beside a reference timed in the same run, interleaved with it,
so a noisy or shared machine shifts both: `python -c pass` and a minimal typer
app for start-up, and for export the same events built and serialised with the
`icalendar` object model (timed on a subsample and scaled), the naive baseline.
Figures whose command or library function does not exist yet print SKIP.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)

# A fixed stamp keeps export byte-identical between runs (DTSTAMP comes from it).
STAMP_ENV = {"SOURCE_DATE_EPOCH": "1798761600"}

MINIMAL_TYPER_APP = '''\
import typer

app = typer.Typer(help="A minimal typer app: the start-up reference.")


@app.callback()
def main() -> None:
    """A minimal app."""


@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""
    typer.echo(f"hello {name}")


app()
'''


@dataclass(frozen=True)
class Run:
    """One process: wall and CPU (user + system) seconds, peak resident MiB, exit code."""

    seconds: float
    cpu: float
    rss_mb: float
    code: int


@dataclass(frozen=True)
class Figure:
    """The median of several runs of one command."""

    seconds: float
    cpu: float
    rss_mb: float
    runs: int

    @classmethod
    def of(cls, runs: Sequence[Run]) -> Figure:
        """Summarise runs: median wall and CPU time, largest peak memory."""
        return cls(
            statistics.median(r.seconds for r in runs),
            statistics.median(r.cpu for r in runs),
            max(r.rss_mb for r in runs),
            len(runs),
        )


def chancal_command() -> list[str]:
    """Run the installed console script with this interpreter (no shell shim in between)."""
    script = Path(sysconfig.get_path("scripts")) / "chancal"
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "chancal"]


def run_once(
    cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Run:
    """Run a command to completion; measure its wall time and peak memory (ru_maxrss)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=cwd,
            env={**os.environ, **(env or {})},
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            err.seek(0)
            message = err.read().decode("utf-8", "replace").strip().splitlines()
            raise RuntimeError(f"{' '.join(cmd)} exited {code}: {message[-1:] or ''}")
    # Linux reports ru_maxrss in KiB.
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code)


def measure(
    subject: Sequence[str],
    reference: Sequence[str] | None,
    repeat: int,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    warm_up: bool = True,
) -> tuple[Figure, Figure | None]:
    """Time subject and reference alternately, `repeat` times each, after one warm-up each."""
    subject_runs: list[Run] = []
    reference_runs: list[Run] = []
    if warm_up:
        # Fills the OS file cache so the first timed run is not an outlier (and lets
        # export find the chancal.lock it wrote, as in CI after the first publish).
        run_once(subject, cwd=cwd, env=env)
        if reference is not None:
            run_once(reference, cwd=cwd, env=env)
    for _ in range(repeat):
        subject_runs.append(run_once(subject, cwd=cwd, env=env))
        if reference is not None:
            reference_runs.append(run_once(reference, cwd=cwd, env=env))
    return Figure.of(subject_runs), Figure.of(reference_runs) if reference_runs else None


def has_command(chancal: list[str], *words: str) -> bool:
    """Whether `chancal WORDS --help` exists (so a missing command prints SKIP, not a crash)."""
    proc = subprocess.run(
        [*chancal, *words, "--help"], capture_output=True, text=True, check=False, timeout=120
    )
    return proc.returncode == 0


def option_exists(chancal: list[str], command: str, option: str) -> bool:
    """Whether `chancal COMMAND --help` mentions `option`."""
    proc = subprocess.run(
        [*chancal, command, "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
    )
    return proc.returncode == 0 and option in proc.stdout


# -- printing -----------------------------------------------------------------------------

results: list[tuple[str, bool | None]] = []


def fmt_time(seconds: float) -> str:
    """Milliseconds below 10 s, seconds above."""
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def line(
    name: str,
    value: str,
    reference: str = "",
    target: str = "",
    ok: bool | None = None,
) -> None:
    """Print one figure: name, value, reference, target and PASS/MISS (or nothing)."""
    verdict = "" if ok is None else ("PASS" if ok else "MISS")
    results.append((name, ok))
    print(f"{name:<30} {value:<36} {reference:<50} {target:<24} {verdict}", flush=True)


def skip(name: str, why: str) -> None:
    """Print a figure that could not be measured, and why."""
    print(f"{name:<30} SKIP: {why}", flush=True)
    results.append((name, None))


# -- the figures --------------------------------------------------------------------------


def startup(chancal: list[str], repeat: int, work: Path) -> None:
    """`chancal --version` and `--help` against python -c pass and a minimal typer app.

    The ratio is of wall time, subject and reference interleaved so that a busy
    machine slows both alike.
    """
    bare = [sys.executable, "-c", "pass"]
    version, ref = measure([*chancal, "--version"], bare, repeat)
    assert ref is not None
    ratio = version.seconds / ref.seconds
    line(
        "chancal --version",
        f"{fmt_time(version.seconds)} (cpu {fmt_time(version.cpu)}), {version.rss_mb:.0f} MB",
        f"python -c pass: {fmt_time(ref.seconds)} (cpu {fmt_time(ref.cpu)})",
        f"<= 2x ({ratio:.2f}x)",
        ratio <= 2.0,
    )
    app = work / "minimal_typer_app.py"
    app.write_text(MINIMAL_TYPER_APP, encoding="utf-8")
    helped, ref = measure([*chancal, "--help"], [sys.executable, str(app), "--help"], repeat)
    assert ref is not None
    ratio = helped.seconds / ref.seconds
    line(
        "chancal --help",
        f"{fmt_time(helped.seconds)} (cpu {fmt_time(helped.cpu)}), {helped.rss_mb:.0f} MB",
        f"minimal typer app --help: {fmt_time(ref.seconds)} (cpu {fmt_time(ref.cpu)})",
        f"<= 1.2x ({ratio:.2f}x)",
        ratio <= 1.2,
    )


@dataclass(frozen=True)
class Program:
    """A generated program file and its size."""

    n: int
    path: Path


def make_program(n: int, work: Path, seed: int) -> Program:
    """Write the generated program for N partners."""
    # A folder per program: each keeps its own chancal.lock (the lock lives
    # beside the program file), so one size never plans against another's.
    folder = work / f"n{n}"
    folder.mkdir(exist_ok=True)
    path = folder / "partners.yaml"
    path.write_bytes(generate(n, seed).encode("utf-8"))
    return Program(n, path)


COMMANDS = ("validate", "plan", "export")

# Targets of the whole run (load + validate + plan + export of every feed) by N.
TARGETS = {1000: (1.0, 100.0), 10_000: (6.0, 350.0)}


def command_args(command: str, program: Program, out: Path) -> list[str]:
    """The arguments that run `command` on `program` (export writes every feed under `out`)."""
    if command == "export":
        return ["export", "--ics", "--out", str(out), str(program.path)]
    return [command, str(program.path)]


def per_size(
    chancal: list[str],
    programs: Sequence[Program],
    repeat: int,
    repeat_large: int,
    work: Path,
    available: dict[str, bool],
) -> dict[tuple[str, int], Figure]:
    """Time validate, plan and export for every program size."""
    figures: dict[tuple[str, int], Figure] = {}
    for program in programs:
        for command in COMMANDS:
            name = f"chancal {command} N={program.n:,}"
            if not available[command]:
                skip(name, f"`chancal {command}` does not exist yet")
                continue
            out = work / f"feeds-{program.n}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            reps = repeat if program.n <= 2000 else repeat_large
            figure, _ = measure(
                [*chancal, *command_args(command, program, out)],
                None,
                reps,
                env=STAMP_ENV,
                warm_up=program.n <= 2000 or command == "export",
            )
            figures[(command, program.n)] = figure
            value = (
                f"{fmt_time(figure.seconds)} (cpu {fmt_time(figure.cpu)}), {figure.rss_mb:.0f} MB"
            )
            if command == "export" and program.n in TARGETS:
                limit_s, limit_mb = TARGETS[program.n]
                line(
                    name,
                    value,
                    "(load + validate + plan + all feeds; re-export)",
                    f"< {limit_s:g} s, < {limit_mb:g} MB",
                    figure.seconds < limit_s and figure.rss_mb < limit_mb,
                )
                # One run above 2,000 partners: creating every file is slow and steady.
                cold = first_publish(chancal, program, reps if program.n <= 2000 else 1, work)
                line(
                    f"  first export N={program.n:,}",
                    f"{fmt_time(cold.seconds)} (cpu {fmt_time(cold.cpu)}), {cold.rss_mb:.0f} MB",
                    "(into an empty --out: every feed file created)",
                    f"< {limit_s:g} s, < {limit_mb:g} MB",
                    cold.seconds < limit_s and cold.rss_mb < limit_mb,
                )
            else:
                line(name, value)
    return figures


def first_publish(chancal: list[str], program: Program, repeat: int, work: Path) -> Figure:
    """Time `export --ics` into an empty folder (no feeds, no chancal.lock): a first publish.

    The runs above re-export into the folder their warm-up wrote, as CI does on
    every push; with the program unchanged, every feed is found up to date on
    disk and no file is created. This is the other case: every file is new.
    """
    runs = []
    lock = program.path.with_name("chancal.lock")
    for i in range(repeat):
        out = work / f"first-{program.n}-{i}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        saved = lock.read_bytes() if lock.exists() else None
        lock.unlink(missing_ok=True)
        try:
            runs.append(run_once([*chancal, *command_args("export", program, out)], env=STAMP_ENV))
        finally:
            if saved is not None:
                lock.write_bytes(saved)
            shutil.rmtree(out, ignore_errors=True)
    return Figure.of(runs)


def doubling(
    chancal: list[str],
    programs: Sequence[Program],
    figures: dict[tuple[str, int], Figure],
    repeat_large: int,
    work: Path,
    seed: int,
    available: dict[str, bool],
) -> None:
    """Time the largest size's half, so `doubling N at most doubles the time` is checked."""
    largest = max(programs, key=lambda p: p.n)
    if largest.n < 200:
        return
    half = make_program(largest.n // 2, work, seed)
    for command in COMMANDS:
        name = f"doubling {half.n:,} -> {largest.n:,}: {command}"
        if not available[command] or (command, largest.n) not in figures:
            skip(name, f"`chancal {command}` does not exist yet")
            continue
        out = work / f"feeds-{half.n}"
        out.mkdir(exist_ok=True)
        small, _ = measure(
            [*chancal, *command_args(command, half, out)],
            None,
            repeat_large,
            env=STAMP_ENV,
            warm_up=command == "export",
        )
        big = figures[(command, largest.n)]
        ratio = big.seconds / small.seconds
        line(
            name,
            f"{fmt_time(small.seconds)} -> {fmt_time(big.seconds)}",
            f"memory {small.rss_mb:.0f} -> {big.rss_mb:.0f} MB",
            f"<= 2x ({ratio:.2f}x)",
            ratio <= 2.0,
        )


def exporter(programs: Sequence[Program], repeat: int, sample: int) -> None:
    """Exporter throughput and memory, and the icalendar object-model baseline, in children."""
    child = [sys.executable, str(HERE / "throughput.py")]
    largest = max(programs, key=lambda p: p.n)
    probe = subprocess.run(
        [*child, "--probe"], capture_output=True, text=True, check=False, timeout=120
    )
    if probe.returncode != 0:
        reason = (probe.stdout + probe.stderr).strip().splitlines()
        skip("exporter events/s", reason[-1] if reason else "exporter not importable")
        return

    def child_json(*args: str) -> dict[str, float]:
        proc = subprocess.run(
            [*child, *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **STAMP_ENV},
        )
        if proc.returncode != 0:
            raise RuntimeError(f"throughput.py {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
        data: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
        return data

    for program in {programs[0], largest}:
        child_json("prepare", str(program.path))
    fast_runs: list[dict[str, float]] = []
    naive_runs: list[dict[str, float]] = []
    for _ in range(repeat):
        fast_runs.append(child_json("fast", str(largest.path)))
        naive_runs.append(child_json("naive", str(largest.path), "--sample", str(sample)))
    naive_eps = statistics.median(r["events_per_second"] for r in naive_runs)
    events = int(fast_runs[0]["events"])
    feeds = int(fast_runs[0]["feeds"])
    sampled = int(naive_runs[0]["events"])
    for label, key, what in (
        ("", "", f"into an empty folder: {feeds:,} files created"),
        (" again", "again_", "re-export, every feed up to date on disk"),
    ):
        eps = statistics.median(r[f"{key}events_per_second"] for r in fast_runs)
        cpu = statistics.median(r[f"{key}cpu"] for r in fast_runs)
        ratio = eps / naive_eps
        line(
            f"exporter events/s{label} N={largest.n:,}",
            f"{eps:,.0f} ev/s (cpu {events / cpu:,.0f}; {events:,} events)",
            f"icalendar model: {naive_eps:,.0f} ev/s (on {sampled:,}); {what}",
            f">= 50,000; >= 20x ({ratio:.0f}x)",
            eps >= 50_000 and ratio >= 20,
        )
    naive_seconds = events / naive_eps
    fast_seconds = statistics.median(r["seconds"] for r in fast_runs)
    line(
        f"exporter feed time N={largest.n:,}",
        fmt_time(fast_seconds),
        f"icalendar model, scaled: {fmt_time(naive_seconds)}",
    )
    cost = child_json("files", str(largest.path.parent))["ms_per_file"]
    line(
        "file creation in work folder",
        f"{cost:.3f} ms per 12 KB file",
        f"x {feeds:,} feeds = {fmt_time(cost * feeds / 1000)} (--work to choose the folder)",
    )
    naive_kb = statistics.median(r["bytes_per_event"] for r in naive_runs) / 1024
    line("icalendar model memory/event", f"{naive_kb:.1f} KB/event (traced, on the sample)")

    # Memory that does not grow with the number of events: the exporter's own peak
    # (traced, beyond the plan it is given) at the smallest and largest sizes.
    peaks: list[tuple[int, float, float]] = []
    for program in sorted({programs[0], largest}, key=lambda p: p.n):
        data = child_json("memory", str(program.path))
        peaks.append((int(data["events"]), data["peak_mb"], data["output_mb"]))
    (n_small, mb_small, out_small), (n_big, mb_big, out_big) = peaks[0], peaks[-1]
    growth = mb_big / mb_small if mb_small else float("inf")
    line(
        "exporter peak memory",
        f"{mb_small:.1f} MB -> {mb_big:.1f} MB",
        f"{n_small:,} -> {n_big:,} events; {out_small:.0f} -> {out_big:.0f} MB written",
        f"flat: <= 2x ({growth:.1f}x)",
        growth <= 2.0,
    )
    # The sizes differ in feeds as well as events (100 -> 10,000 partner feeds,
    # each with its name, header and offsets): show what the growth is made of.
    if n_big > n_small:
        per_event = (mb_big - mb_small) * 2**20 / (n_big - n_small)
        written = (out_big - out_small) * 2**20 / (n_big - n_small)
        line(
            "  exporter growth per event",
            f"{per_event:,.0f} bytes (feeds included)",
            f"{written:,.0f} bytes written per event; icalendar model {naive_kb * 1024:,.0f}",
        )


def main(argv: list[str] | None = None) -> int:
    """Run every figure and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="100,1000,10000", help="partner counts (default %(default)s)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="processes per figure (median)")
    parser.add_argument(
        "--repeat-large",
        type=int,
        default=3,
        help="processes per figure above 2,000 partners (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    parser.add_argument(
        "--sample", type=int, default=2000, help="events for the icalendar baseline"
    )
    parser.add_argument("--keep", type=Path, help="keep generated programs and feeds here")
    parser.add_argument(
        "--work",
        type=Path,
        help="folder for a temporary work folder (programs and feeds; default: the system "
        "temp folder). Feeds are written there, so its file-creation cost counts",
    )
    parser.add_argument(
        "--only",
        default="startup,sizes,doubling,exporter",
        help="comma-separated parts to run (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    parts = set(args.only.split(","))
    chancal = chancal_command()

    print(
        f"chancal benchmarks: python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; median of {args.repeat} fresh processes",
        flush=True,
    )
    print(f"{'figure':<30} {'median, peak RSS':<36} {'reference (same run)':<50} {'target':<24}")

    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
    work_context = tempfile.TemporaryDirectory(prefix="chancal-bench-", dir=args.work)
    work = args.keep or Path(work_context.name)
    work.mkdir(parents=True, exist_ok=True)
    try:
        if "startup" in parts:
            startup(chancal, args.repeat, work)
        available = {
            "validate": has_command(chancal, "validate"),
            "plan": has_command(chancal, "plan"),
            "export": has_command(chancal, "export") and option_exists(chancal, "export", "--ics"),
        }
        programs = [make_program(n, work, args.seed) for n in sizes]
        figures: dict[tuple[str, int], Figure] = {}
        if "sizes" in parts:
            figures = per_size(chancal, programs, args.repeat, args.repeat_large, work, available)
        if "doubling" in parts and figures:
            doubling(chancal, programs, figures, args.repeat_large, work, args.seed, available)
        if "exporter" in parts:
            exporter(programs, args.repeat_large, args.sample)
    finally:
        work_context.cleanup()

    missed = [name for name, ok in results if ok is False]
    skipped = [name for name, ok in results if ok is None and name]
    passed = [name for name, ok in results if ok]
    print(
        f"\n{len(passed)} PASS, {len(missed)} MISS"
        + (f" ({', '.join(missed)})" if missed else "")
        + (f"; {len(skipped)} figures without target or skipped" if skipped else ""),
        flush=True,
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

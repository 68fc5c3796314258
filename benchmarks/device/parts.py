"""The parts of the device script (a-d of :mod:`scales`) and how each child process is run and stopped.

Every part runs its work in child processes (``crowd certify``, or :mod:`workers`) with a limit: a child that
reaches it is stopped (its whole process group), and a ``crowd certify`` run then certifies the copies whose
votes were already stored (status ``partial``, the N actually certified in the row; stopping depends on time
only, never on the votes, so the certificate holds for that N). Each finished measurement becomes one row
(``Run.add``), appended to ``OUT/rows.jsonl`` at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.device.scales import DRY, Scale, certify_overrides
from crowd.io import read_jsonl

ROOT = Path(__file__).resolve().parents[2]
RESERVE_S = 10.0  # kept back at the end: stopping a child (at most 8 s), the page, the archive
NEW_GROUP = {"process_group": 0} if sys.version_info >= (3, 11) else {"preexec_fn": os.setpgrp}
SUMMARY_KEYS = (
    "n_copies", "n_train", "n_poisoned_train", "n_test_clean", "n_test_poison_non_target", "cacc",
    "abstain_rate_clean", "majority_vote_accuracy", "asr", "majority_vote_asr", "confident_accuracy",
    "attack_budget", "certified_accuracy_at_budget", "not_covered_reason", "certificate", "radius_unit",
    "model", "learner", "method", "noise", "hardware",
)  # fmt: skip


@dataclass
class Run:
    """One invocation: where things go, the environment of every child, the clock."""

    scale: Scale
    out: Path
    work: Path
    env: dict[str, str]
    graph: str | None
    started: float
    deadline: float
    common: dict

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def say(self, message: str) -> None:
        line = f"[{time.monotonic() - self.started:7.1f} s] {message}"
        print(line, flush=True)
        with open(self.out / "run.log", "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def add(self, row: dict) -> dict:
        row = {**self.common, **row}
        with open(self.out / "rows.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")
        self.say(f"row {row.get('part')}/{row.get('name')}: {row.get('status')} {row.get('reason') or ''}")
        return row


@dataclass(frozen=True)
class Outcome:
    rc: int | None  # None: stopped at its limit
    seconds: float
    log: Path


def run_child(run: Run, label: str, cmd: list[str], limit_s: float, beat=None) -> Outcome:
    """Run ``cmd`` in its own process group, stop it after ``limit_s`` (never past the script's deadline less
    :data:`RESERVE_S`); a progress line every 30 s."""
    log = run.work / "logs" / f"{label}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    limit_s = min(limit_s, run.left() - RESERVE_S)
    if limit_s < 1:
        log.write_text("not started: the script's budget is spent\n", encoding="utf-8")
        run.say(f"{label}: not started, the budget is spent")
        return Outcome(None, 0.0, log)
    run.say(f"{label}: limit {limit_s:.0f} s: {shlex.join(cmd)}")
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as f:
        # Its own process group (not session): stoppable as a whole, and still ended with the command.
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, env=run.env, **NEW_GROUP)
        rc, next_beat = None, start + 30
        try:
            while rc is None and time.monotonic() - start < limit_s:
                try:
                    rc = proc.wait(timeout=min(1.0, max(0.01, limit_s - (time.monotonic() - start))))
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= next_beat:
                        run.say(
                            f"{label}: {time.monotonic() - start:.0f} s" + (f", {beat()}" if beat else "")
                        )
                        next_beat += 30
        finally:  # at the limit, and when the script itself is stopped (SIGTERM, Ctrl-C)
            if rc is None:
                _stop(proc)
    seconds = time.monotonic() - start
    text = log.read_text(encoding="utf-8", errors="replace")
    with open(run.out / "run.log", "a", encoding="utf-8") as f:
        f.write(f"----- {label} output ({seconds:.1f} s, rc {rc}) -----\n{text}\n")
    state = "stopped at its limit" if rc is None else f"exit {rc}"
    run.say(f"{label}: {state} after {seconds:.1f} s")
    if rc not in (0, None):
        print("\n".join(text.splitlines()[-20:]), flush=True)
    return Outcome(rc, seconds, log)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the child's process group, SIGKILL the group 3 s later if any of it is still there.

    The child exiting is not enough: its own children (a data loader, a ``sleep``) are in the same group and may
    outlive it by a moment or ignore the signal."""
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        end = time.monotonic() + wait
        while time.monotonic() < end and _group_alive(proc.pid):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)
        if not _group_alive(proc.pid):
            break
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still runs (zombies waiting for their parent do not count)."""
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    if os.path.isdir("/proc"):
        return False
    try:  # no /proc: ask the kernel (zombies count as alive here)
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def last_line(log: Path) -> str:
    lines = [x for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()]
    return lines[-1][:300] if lines else "no output"


def stored_copies(folder: Path) -> int:
    """Copies ``0..m-1`` whose votes are stored (votes are written atomically, per copy)."""
    names = os.listdir(folder / "votes" / "votes") if (folder / "votes" / "votes").is_dir() else []
    present = {int(m.group(1)) for n in names if (m := re.fullmatch(r"copy_(\d{6})\.npy", n))}
    m = 0
    while m in present:
        m += 1
    return m


def certify_command(folder: Path, overrides: list[str]) -> list[str]:
    sets = [x for o in overrides for x in ("--set", o)]
    return [sys.executable, "-m", "crowd", "certify", "--no-progress", "--out", str(folder), *sets]


def summary_row(folder: Path) -> dict:
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    row = {k: summary.get(k) for k in SUMMARY_KEYS}
    row["curve"] = summary.get("curve", [])[:6]
    return row


def note(run: Run, part: str, name: str, status: str, reason: str, **extra) -> dict:
    """A row for a run that produced no figure (or a partial one): status and the reason."""
    return run.add({"part": part, "name": name, **extra, "status": status, "reason": reason})


def certify(run: Run, label: str, part: str, overrides: list[str], planned: int, limit_s: float) -> dict:
    """One ``crowd certify`` run; on reaching its limit, certify the copies already stored."""
    folder = run.work / label
    shutil.rmtree(folder, ignore_errors=True)  # a fresh folder: votes of an earlier scale never mix in
    keep = part != "d"  # TextGuard trains its few models in one group: nothing to keep
    limit = limit_s - (run.scale.recovery_s if keep else 0.0)
    beat = lambda: f"{stored_copies(folder)} of {planned} copies stored"  # noqa: E731
    out = run_child(run, label, certify_command(folder, overrides), limit, beat)
    row = {"planned_copies": planned, "wall_s": round(out.seconds, 1)}
    row["command"] = "python -m crowd certify " + shlex.join(x for o in overrides for x in ("--set", o))
    if out.rc == 0:
        summary = summary_row(folder)
        rate = round(summary["n_copies"] / out.seconds, 2)
        return run.add({"part": part, "name": label, **row, **summary, "copies_per_s": rate, "status": "ok"})
    if out.rc is not None:
        return note(run, part, label, "error", last_line(out.log), **row)
    m = stored_copies(folder) if keep else 0
    left = min(run.scale.recovery_s, run.left())
    if m == 0 or left < 5:
        return note(run, part, label, "timeout", f"limit of {limit:.0f} s reached, {m} copies stored", **row)
    again = [o for o in overrides if not o.startswith("n_copies=")] + [f"n_copies={m}"]
    rec = run_child(run, label + "_stored", certify_command(folder, again), left)
    if rec.rc != 0:
        why = f"{m} copies stored, certifying them failed: {last_line(rec.log)}"
        return note(run, part, label, "timeout", why, **row)
    row.update(summary_row(folder), copies_per_s=round(m / out.seconds, 2))
    row["extrapolated_s_for_planned"] = round(out.seconds * planned / m, 1)
    why = f"limit of {limit:.0f} s reached after {m} of {planned} copies; certified N = {m} from the stored votes"
    return note(run, part, label, "partial", why, **row)


def worker(job: str, run: Run, *extra: str) -> list[str]:
    """A :mod:`workers` command line."""
    return [
        sys.executable,
        "-m",
        "benchmarks.device.workers",
        job,
        "--scale",
        run.scale.name,
        "--work",
        str(run.work),
        *extra,
    ]


def models(run: Run) -> tuple[str, str]:
    """(MiniLM or its dry stand-in, the bert-base-sized model or its dry stand-in)."""
    if run.scale is DRY:
        return str(run.work / "tiny_bert"), str(run.work / "bert_base")
    return "minilm", str(run.work / "bert_base")


def worker_rows(run: Run, part: str, label: str, cmd: list[str], rows: Path, limit: float) -> None:
    """Run a worker that appends rows to ``rows``; keep the rows it finished, note why it stopped."""
    rows.unlink(missing_ok=True)
    out = run_child(run, label, [*cmd, "--rows", str(rows)], limit)
    done = read_jsonl(rows) if rows.exists() else []
    for r in done:
        run.add({**r, "status": "ok"})
    if out.rc != 0:
        why = f"limit of {limit:.0f} s reached" if out.rc is None else last_line(out.log)
        note(run, part, label, "timeout" if out.rc is None else "error", f"{why}; {len(done)} rows finished")


def part_a(run: Run, budget: float) -> None:
    overrides = certify_overrides(run.scale, "a", models(run)[0], run.graph)
    certify(run, "a_head_minilm", "a", overrides, run.scale.head_copies, budget)


def part_b(run: Run, budget: float) -> None:
    cmd = worker("finetune", run, "--model", models(run)[0], *(["--graph", run.graph] if run.graph else []))
    worker_rows(run, "b", "b_finetune", cmd, run.work / "rows_b.jsonl", budget)


def part_c(run: Run, budget: float) -> None:
    big, start = models(run)[1], time.monotonic()
    cmd = worker("encoder", run, "--model", big)
    worker_rows(run, "c", "c_encoder", cmd, run.work / "rows_c.jsonl", min(90.0, budget / 3))
    overrides = certify_overrides(run.scale, "c", big, run.graph)
    certify(
        run, "c_head_bert_base", "c", overrides, run.scale.bert_copies, budget - (time.monotonic() - start)
    )


def part_d(run: Run, budget: float) -> None:
    """TextGuard with each number of groups; each run gets an equal share of what is left."""
    start, todo = time.monotonic(), list(run.scale.tg_groups)
    while todo:
        groups = todo.pop(0)
        share = (budget - (time.monotonic() - start)) / (len(todo) + 1)
        if share < 10:
            note(run, "d", f"d_textguard_{groups}", "skipped", f"budget gone: {share:.0f} s left for it")
            continue
        overrides = certify_overrides(run.scale, "d", models(run)[0], None, groups)
        certify(run, f"d_textguard_{groups}", "d", overrides, groups, share)


RUNNERS = {"a": part_a, "b": part_b, "c": part_c, "d": part_d}

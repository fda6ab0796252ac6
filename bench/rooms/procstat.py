"""Reading a server process's CPU time and resident memory from /proc."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def tree(pid: int) -> list[int]:
    """The process and its live descendants (uvicorn --workers forks them)."""
    found = [pid]
    for task in Path(f"/proc/{pid}").glob("task/*/children"):
        try:
            children = task.read_text().split()
        except OSError:
            continue
        for child in children:
            found += tree(int(child))
    return found


def _own_cpu(pid: int) -> float:
    raw = Path(f"/proc/{pid}/stat").read_text()
    # the command name may hold spaces and parentheses: split after the last ")"
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _TICKS


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process and its children, in seconds."""
    total = 0.0
    for member in tree(pid):
        try:
            total += _own_cpu(member)
        except OSError:
            continue  # exited between the listing and the read
    return total


def rss_bytes(pid: int) -> int:
    """Resident set size of the process and its children now, in bytes."""
    total = 0
    for member in tree(pid):
        try:
            resident = Path(f"/proc/{member}/statm").read_text().split()[1]
        except OSError:
            continue
        total += int(resident) * _PAGE
    return total


def machine() -> dict[str, object]:
    """Core count, CPU model and memory of this machine."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
            break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": os.uname().release,
    }

"""Where a server's samples went: inclusive shares from py-spy's raw output.

    python -m bench.rooms.profile_summary results/prof/accord-py3.11-burst.txt

py-spy's ``--format raw`` writes one collapsed stack per line with its sample
count. This prints the share of samples under each function (inclusive),
event-loop and thread frames included, so the big subtrees stand out.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"(?P<func>\S+) \((?P<file>[^:)]+)(?::\d+)?\)")


def frame_name(frame: str) -> str:
    """``func (package/module.py)`` without the line number and site prefix."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"].split("site-packages/")[-1]
    for marker in ("/rooms/", "/server/", "/bench/"):
        if marker in path:
            path = marker.strip("/") + "/" + path.split(marker, 1)[1]
            break
    return f"{match['func']} ({path})"


def inclusive(path: Path) -> tuple[Counter[str], int]:
    """Samples under each function, and the total."""
    shares: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        for name in {frame_name(f) for f in stack.split(";")}:
            shares[name] += samples
    return shares, total


def main() -> None:
    """Print the top inclusive shares of each file."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("files", type=Path, nargs="+")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--match", default="", help="only functions containing this")
    args = p.parse_args()
    for path in args.files:
        shares, total = inclusive(path)
        print(f"== {path} ({total} samples)")
        shown = 0
        for name, samples in shares.most_common():
            if args.match and args.match not in name:
                continue
            print(f"{100 * samples / total:5.1f} %  {name}")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    main()

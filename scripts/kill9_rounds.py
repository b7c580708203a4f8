"""More rounds of SIGKILL during sync and local writes than the test suite runs.

    python -m scripts.kill9_rounds --rounds 50 [--seed 1]

Each round (tests/faults/kill9.py) kills the receiving school during sync and again
during its catch-up, then the posting process and the posting school's node, starts
them again and checks that every acknowledged post reached both schools, with no gap,
no repeat and both databases sound. It prints one line a round and a summary; the
exit code is 1 if any round lost anything.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from tests.faults.kill9 import FixedPorts, new_pair, one_round


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    args = parser.parse_args()
    print(f"seed {args.seed}, {args.rounds} rounds")
    rng = random.Random(args.seed)
    total = 0
    with tempfile.TemporaryDirectory(prefix="kill9-") as folder:
        net = FixedPorts(Path(folder))
        try:
            for number in range(1, args.rounds + 1):
                oak, lycee = new_pair(net, number)
                try:
                    figures = one_round(net, oak, lycee, rng)
                except AssertionError as exc:
                    print(f"round {number}: FAILED: {exc}")
                    return 1
                total += int(figures["acknowledged"])
                net.stop(oak)
                net.stop(lycee)
                print(
                    f"round {number}: {figures['acknowledged']:.0f} acknowledged posts, all "
                    f"at both schools ({figures['seconds']:.1f} s)",
                    flush=True,
                )
        finally:
            net.close()
    print(f"{args.rounds} rounds, {total} acknowledged posts in all, none lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())

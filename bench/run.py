"""`make bench`: every benchmark, printed with its targets."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_pods

if __name__ == "__main__":
    bench_pods.main()

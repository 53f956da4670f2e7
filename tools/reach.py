"""How much of a directory of real manifests podctl takes, by kind.

Every YAML or JSON document under the given folders is judged twice: by upstream's strict
schema for the Kubernetes version podctl's schema comes from (kubernetes-validate, a dev
dependency), and by podctl's own validation (what `podctl validate` and `create -f` do).
The figure that matters is the share of upstream-valid documents podctl refuses; documents
upstream does not know (custom resources, removed API versions) and files that are not
manifests (Helm templates, values files, package.json) are counted apart.

    .venv/bin/python tools/reach.py DIR [DIR ...]
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate

from podctl.manifest import read_manifests
from podctl.manifest.check import check_document
from podctl.manifest.schema import load_schema

SUFFIXES = {".yaml", ".yml", ".json"}
UPSTREAM_VALID, UPSTREAM_INVALID, UPSTREAM_UNKNOWN = "valid", "invalid", "unknown"


@dataclass
class Verdict:
    kind: str
    upstream: str  # UPSTREAM_VALID, UPSTREAM_INVALID or UPSTREAM_UNKNOWN
    accepted: bool
    reason: str = ""  # podctl's first problem when it refuses


@dataclass
class Tally:
    files: int = 0
    not_manifests: int = 0  # files that do not parse, or hold no document with a kind
    verdicts: list[Verdict] = field(default_factory=list)


def manifest_files(folders: Iterable[Path]) -> Iterator[Path]:
    for folder in folders:
        paths = [folder] if folder.is_file() else sorted(folder.rglob("*"))
        yield from (p for p in paths if p.is_file() and p.suffix in SUFFIXES)


def upstream_verdict(obj: dict[str, Any], version: str) -> str:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return UPSTREAM_UNKNOWN
    except kubernetes_validate.ValidationError:
        return UPSTREAM_INVALID
    return UPSTREAM_VALID


def judge(folders: Iterable[Path]) -> Tally:
    version = load_schema().version
    tally = Tally()
    for path in manifest_files(folders):
        tally.files += 1
        (result,) = read_manifests([str(path)])
        documents = [d for d in result.documents
                     if isinstance(d.obj, dict) and isinstance(d.obj.get("kind"), str)
                     and isinstance(d.obj.get("apiVersion"), str)]
        if result.problems or not documents:
            tally.not_manifests += 1
            continue
        for doc in documents:
            checked = check_document(doc)
            reason = checked.problems[0].message if checked.problems else ""
            tally.verdicts.append(Verdict(doc.obj["kind"], upstream_verdict(doc.obj, version),
                                          not checked.problems, reason))
    return tally


def report(tally: Tally) -> list[str]:
    valid = [v for v in tally.verdicts if v.upstream == UPSTREAM_VALID]
    refused = [v for v in valid if not v.accepted]
    by_kind: dict[str, Counter[str]] = {}
    for v in tally.verdicts:
        counts = by_kind.setdefault(v.kind, Counter())
        counts[v.upstream] += 1
        if v.upstream == UPSTREAM_VALID:
            counts["accepted" if v.accepted else "refused"] += 1
        elif v.accepted:
            counts["lax"] += 1
    width = max([len("kind"), *map(len, by_kind)])
    lines = [f"{'kind':<{width}}  upstream-valid  accepted  refused  upstream-invalid "
             "(accepted)  unknown upstream"]
    for kind, c in sorted(by_kind.items(), key=lambda item: (-item[1]["refused"], item[0])):
        lines.append(f"{kind:<{width}}  {c[UPSTREAM_VALID]:>14}  {c['accepted']:>8}  "
                     f"{c['refused']:>7}  {c[UPSTREAM_INVALID]:>12} ({c['lax']:>3})  "
                     f"{c[UPSTREAM_UNKNOWN]:>16}")
    share = f"{100 * len(refused) / len(valid):.0f} %" if valid else "-"
    lines += ["", f"{tally.files} files, {tally.not_manifests} of them not manifests "
              f"(templates, values, syntax); {len(tally.verdicts)} documents, "
              f"{len(valid)} upstream-valid: podctl accepts {len(valid) - len(refused)}, "
              f"refuses {len(refused)} ({share})"]
    reasons = Counter(f"{v.kind}: {v.reason}" for v in refused)
    if reasons:
        lines += ["", "podctl's refusals of upstream-valid documents, most frequent first:"]
        lines += [f"{n:>5}  {reason[:150]}" for reason, n in reasons.most_common(20)]
    return lines


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    print("\n".join(report(judge(Path(a) for a in argv))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

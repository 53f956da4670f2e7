"""check_document: kinds, namespaces, warnings, summaries and rendering."""

from __future__ import annotations

import re

from podctl.cli.terminal import styled_problems
from podctl.manifest import (
    Checked,
    Document,
    Excerpt,
    Problem,
    check_document,
    excerpts,
    format_problems,
    invalid_summary,
)
from podctl.manifest.load import parse_text

POD = """apiVersion: v1
kind: Pod
metadata:
  name: kubia
  namespace: custom
spec:
  containers:
  - name: kubia
    image: podctl/kubia:1
"""


def check(text: str, namespace: str | None = None) -> Checked:
    """Check the first document of ``text``."""
    result = parse_text(text, "t.yaml")
    assert result.problems == []
    return check_document(result.documents[0], namespace)


def test_namespace_mismatch_uses_kubectl_words() -> None:
    """-n that differs from the manifest's namespace is refused."""
    checked = check(POD, "other")
    assert [p.message for p in checked.problems] == [
        'the namespace from the provided object "custom" does not match the namespace "other". '
        "You must pass '--namespace=custom' to perform this operation."
    ]
    assert (checked.problems[0].line, checked.problems[0].col) == (5, 14)
    assert checked.obj is None


def test_same_namespace_is_fine() -> None:
    """Matching -n passes."""
    checked = check(POD, "custom")
    assert checked.problems == []
    assert checked.obj is not None and checked.obj["metadata"]["namespace"] == "custom"


def test_unsupported_fields_warn_once_each() -> None:
    """Valid-but-ignored fields each give one warning; the object is still accepted (the
    scheduler honours tolerations and affinity, the ServiceAccount admission and the kubelet
    a service account and its token, the kubelet lifecycle hooks: no warning for them)."""
    text = POD + (
        "    lifecycle:\n      preStop:\n        exec:\n          command: [sleep, '1']\n"
        "    resizePolicy:\n    - resourceName: cpu\n      restartPolicy: NotRequired\n"
        "  serviceAccountName: build\n  tolerations:\n  - key: a\n    operator: Exists\n"
        "  affinity:\n    nodeAffinity: {}\n"
        "  initContainers:\n  - name: init\n    image: busybox\n  hostNetwork: true\n"
        "  volumes:\n  - name: cfg\n    configMap:\n      name: cfg\n"
        "  - name: all\n    projected:\n      sources:\n      - serviceAccountToken:\n"
        "          path: token\n"
    )
    checked = check(text)
    assert checked.problems == []
    assert checked.warnings == [
        "spec.containers[0].resizePolicy is not supported by podctl and is ignored",
    ]


def test_grpc_probes_are_honoured_without_a_warning() -> None:
    text = POD + "    livenessProbe:\n      grpc:\n        port: 9000\n"
    assert check(text).warnings == []


def test_rc_template_warnings_have_full_path() -> None:
    """Warnings inside an RC template name the template path."""
    text = (
        "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: r\nspec:\n  template:\n"
        "    metadata:\n      labels:\n        app: r\n    spec:\n      priorityClassName: high\n"
        "      containers:\n      - name: c\n        image: x\n"
    )
    assert check(text).warnings == [
        "spec.template.spec.priorityClassName is not supported by podctl and is ignored"
    ]


def test_invalid_summary_single_and_multiple() -> None:
    """kubectl's header, one error inline, several as '* ' lines."""
    one = [Problem("f", 1, 1, "spec.containers[0].image: Required value")]
    assert invalid_summary("Pod", "x", one) == (
        'The Pod "x" is invalid: spec.containers[0].image: Required value'
    )
    two = [*one, Problem("f", 2, 1, 'spec.containers[1].name: Duplicate value: "a"')]
    assert invalid_summary("Pod", "x", two) == (
        'The Pod "x" is invalid: \n* spec.containers[0].image: Required value\n'
        '* spec.containers[1].name: Duplicate value: "a"'
    )


def test_format_problems_plain_and_excerpts() -> None:
    """Plain is one str(problem) per line; an excerpt adds the source line and a caret under
    the column (tabs one column wide), which the terminal colours."""
    problems = [
        Problem("f.yaml", 2, 3, "first", "a:\n"),
        Problem("f.yaml", 3, 5, "second", "\tbb: x"),
        Problem("gen", 7, None, "third"),
    ]
    assert format_problems(problems) == "f.yaml:2:3: first\nf.yaml:3:5: second\ngen:7: third"
    laid_out = excerpts(problems)
    assert laid_out[1] == Excerpt("f.yaml:3:5: ", "second", "    3 | ", " bb: x", "      | ",
                                  "    ^")
    assert laid_out[2] == Excerpt("gen:7: ", "third")
    colored = styled_problems(laid_out)
    assert "\x1b[" in colored
    plain = re.sub("\x1b\\[[0-9;]*m", "", colored)
    assert plain.splitlines() == [
        "f.yaml:2:3: first", "    2 | a:", "      |   ^",
        "f.yaml:3:5: second", "    3 |  bb: x", "      |     ^",
        "gen:7: third",
    ]


def test_document_without_positions() -> None:
    """Hand-built documents (no source) still get file and line."""
    doc = Document("gen", 0, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}, 7)
    checked = check_document(doc)
    assert [str(p) for p in checked.problems] == ["gen:7: spec.containers: Required value"]


def test_kind_messages() -> None:
    """Unsupported kinds and versions use kubectl's 'no matches for kind' wording."""
    checked = check("apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\n"
                    "metadata:\n  name: d\n")
    assert checked.problems[0].message.startswith(
        'no matches for kind "PriorityClass" in version "scheduling.k8s.io/v1"'
    )
    checked = check("apiVersion: v1\nkind: ReplicationControler\nmetadata:\n  name: d\n")
    assert (
        'no matches for kind "ReplicationControler" in version "v1"' in checked.problems[0].message
    )


def test_whole_floats_are_integers() -> None:
    """kubectl sends 8080.0 and 1000.0 as 8080 and 1000; podctl keeps ints, rules check them."""
    text = POD + "    ports:\n    - containerPort: 8080.0\n      hostPort: 1000.0\n"
    checked = check(text.replace("  namespace: custom\n", ""))
    assert checked.problems == []
    assert checked.obj is not None
    port = checked.obj["spec"]["containers"][0]["ports"][0]
    assert (port["containerPort"], port["hostPort"]) == (8080, 1000)
    assert all(type(v) is int for v in (port["containerPort"], port["hostPort"]))
    bad = check(text.replace("1000.0", "70000.0")).problems
    assert [p.message for p in bad] == [
        "spec.containers[0].ports[0].hostPort: Invalid value: 70000: "
        "must be between 1 and 65535, inclusive"
    ]
    fraction = check(text.replace("8080.0", "80.5")).problems
    assert "Invalid value: 80.5: expected integer, got number" in fraction[0].message


def test_a_sleep_hook_must_fit_in_the_grace_period() -> None:
    """validateSleepAction (zero allowed since PodLifecycleSleepActionAllowZero went GA)."""
    hook = "    lifecycle:\n      preStop:\n        sleep:\n          seconds: {}\n"
    too_long = POD.replace("spec:\n", "spec:\n  terminationGracePeriodSeconds: 2\n") + \
        hook.format(60)
    assert [p.message for p in check(too_long).problems] == [
        "spec.containers[0].lifecycle.preStop.sleep.seconds: Invalid value: 60: must be "
        "non-negative and less than terminationGracePeriodSeconds (2)"]
    assert [p.message for p in check(POD + hook.format(-1)).problems] == [
        "spec.containers[0].lifecycle.preStop.sleep.seconds: Invalid value: -1: must be "
        "non-negative and less than terminationGracePeriodSeconds (30)"]
    assert check(POD + hook.format(0)).problems == []
    assert check(POD + hook.format(30)).problems == []


def test_leases_are_checked_as_upstream_checks_them() -> None:
    """Leases are users' to write (leader election): ValidateLeaseSpec's rules."""
    lease = """apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: my-lock}
spec: {holderIdentity: a, leaseDurationSeconds: 15, leaseTransitions: 0,
       renewTime: "2026-12-06T17:50:00.123456Z"}
"""
    assert check(lease).problems == []
    bad = lease.replace("leaseDurationSeconds: 15, leaseTransitions: 0",
                        "leaseDurationSeconds: 0, leaseTransitions: -1, preferredHolder: b")
    assert [p.message for p in check(bad).problems] == [
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
        "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
        "spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined"]
    strategy = lease.replace("leaseTransitions: 0", "leaseTransitions: 0, strategy: Newest")
    assert [p.message for p in check(strategy).problems] == [
        'spec.strategy.strategy: Unsupported value: "Newest": supported values: '
        '"OldestEmulationVersion"']
    assert check(strategy.replace("Newest", "example.com/mine")).problems == []

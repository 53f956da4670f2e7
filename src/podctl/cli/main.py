"""podctl's click group: the command table, the group and the entry point.

Commands import the core lazily so that `podctl --help` stays fast.
"""

from __future__ import annotations

import sys

import click

from podctl import __version__

# Each command: the module under podctl.cli that defines it and its help's first paragraph.
# `podctl --help` lists these without importing any command module (each brings its own
# dependencies); a command is imported when it runs. tests/unit/test_cli_lazy.py checks the
# table against the commands themselves.
COMMAND_TABLE: dict[str, tuple[str, str]] = {
    "annotate": ("label", "Update annotations: podctl annotate pods|rc|node NAME... k=v k2- "
                 "[--overwrite]."),
    "api-resources": ("version", "Print the supported API resources: names, short names, "
                      "scope and kind."),
    "autoscale": ("autoscale", "Auto-scale a deployment, replica set, stateful set, or "
                  "replication controller: podctl autoscale deploy NAME --min=2 --max=10 "
                  "--cpu-percent=80."),
    "attach": ("logs", "Attach to a process that is already running inside an existing "
               "container."),
    "apply": ("apply", "Create objects, or update existing ones (an RC's replicas, selector, "
              "template)."),
    "completion": ("completion", "Print the completion script for SHELL; load it with e.g. "
                   "`source <(podctl completion bash)`."),
    "auth": ("auth", "Inspect authorization."),
    "cordon": ("drain", "Mark node as unschedulable."),
    "cp": ("copy", "Copy files to or from a container: podctl cp POD:PATH LOCAL, podctl cp "
           "LOCAL POD:PATH."),
    "create": ("create", "Create objects from manifests (-f FILE|DIR|-), or a namespace."),
    "delete": ("delete", "Delete pods, replication controllers, ReplicaSets, Deployments or "
               "namespaces."),
    "describe": ("describe", "Show details of objects of any kind podctl serves, with their "
                 "events."),
    "drain": ("drain", "Drain node in preparation for maintenance: cordon it, then evict its "
              "pods (refusing bare pods without --force, DaemonSet pods without "
              "--ignore-daemonsets and pods with emptyDir data without "
              "--delete-emptydir-data)."),
    "edit": ("apply", "Edit an object in $EDITOR (validated on save): podctl edit rc NAME."),
    "exec": ("logs", "Run a command in a container: podctl exec (POD | TYPE/NAME) [-c C] "
             "[-it] -- CMD..."),
    "explain": ("explain", "Document a resource or one of its fields: `explain pods`, "
                "`explain pod.spec.containers.livenessProbe`."),
    "expose": ("expose", "Expose a pod, rc or service as a new Service: podctl expose TYPE "
               "NAME --port=80."),
    "get": ("get", "Display one or many resources (pods, rc, namespaces, nodes, all)."),
    "kubeconfig": ("controller", "Print a kubeconfig for the API `run-controller --api` "
                   "serves (context `podctl`)."),
    "label": ("label", "Update labels: podctl label pods|rc|node NAME... k=v k2- "
              "[--overwrite]."),
    "logs": ("logs", "Print the logs of a container in a pod."),
    "node": ("node", "Add, stop, start and delete nodes (containers running their own Docker "
             "engine), and load images into them."),
    "port-forward": ("portforward", "Forward local ports to a pod (NAME, pod/NAME or "
                     "TYPE/NAME of a workload or Service), following the pod when its sandbox "
                     "is recreated and, for a workload, moving to another running pod."),
    "reset": ("reset", "Delete this home (podctl's `kind delete cluster`): its controller, "
              "iptables rules, containers, volumes, networks, kubeconfig context and "
              "$PODCTL_HOME itself."),
    "rollout": ("rollout", "Manage the rollout of a Deployment, DaemonSet or StatefulSet."),
    "run": ("run", "Create and start a pod running one image: podctl run NAME --image=IMG "
            "[-- ARGS]."),
    "run-controller": ("controller", "Run the kubelet's and the controllers' loops (probes, "
                       "restarts, every controller, the Services data plane) until "
                       "SIGINT/SIGTERM."),
    "scale": ("label", "Set a replication controller's or ReplicaSet's replica count: podctl "
              "scale rc NAME --replicas=N."),
    "set": ("set_cmd", "Change parts of an object: set image."),
    "stop-controller": ("controller", "Stop the active controller (SIGTERM); pods keep "
                        "running."),
    "taint": ("taint", "Update the node's taints (DaemonSet pods must tolerate them): podctl "
              "taint node NAME key=value:NoSchedule key2:NoExecute- ..."),
    "top": ("top", "Display resource (CPU/memory) usage of pods or nodes (the controller "
            "samples them every --metric-resolution)."),
    "uncordon": ("drain", "Mark node as schedulable."),
    "validate": ("create", "Check manifests against the Kubernetes v1 schema and rules, "
                 "without Docker."),
    "version": ("version", "Print the client version and the Docker engine's (the server's) "
                "version."),
    "wait": ("wait", "Wait until pods or RCs meet a condition, or are deleted."),
}


class LazyGroup(click.Group):
    """The top-level group: commands come from COMMAND_TABLE, imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_TABLE)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMAND_TABLE:
            return None
        from importlib import import_module

        module = import_module(f"podctl.cli.{COMMAND_TABLE[cmd_name][0]}")
        found: click.Command = next(c for c in module.COMMANDS if c.name == cmd_name)
        return found

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Stand-ins with the same help text give the same listing as the real commands.
        stand_ins = click.Group(commands=[click.Command(name, help=text)
                                          for name, (_, text) in COMMAND_TABLE.items()])
        stand_ins.format_commands(ctx, formatter)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="podctl")
@click.option("-v", "--verbose", count=True, envvar="PODCTL_VERBOSE",
              help="Show tracebacks of internal errors (env PODCTL_VERBOSE).")
def cli(verbose: int) -> None:
    """podctl runs Kubernetes manifests (pods, workloads, Services, ConfigMaps, Secrets) on a
    local Docker engine, with kubectl's commands, flags and output; `run-controller --api`
    serves the Kubernetes API to the real kubectl."""


def main() -> None:
    """Entry point: user errors print one line and exit 1; tracebacks only with -v."""
    from podctl.cli.failures import reported

    with reported():
        try:
            cli.main(prog_name="podctl", standalone_mode=False)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            sys.exit(130)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)

"""Runs a Pulumi Python program under Pulumi's test mocks (`pulumi.runtime.set_mocks`) and prints,
as one JSON object, what it registered: each resource's type, name, inputs and the resources it
depends on, the functions it invoked, and its stack outputs, resolved.

    python py_mocks_runner.py PROGRAM_DIR PROJECT CONFIG_JSON

Run in a process of its own: the Pulumi runtime's settings are global. The mocked answers come
from seed_stack.py.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.settings import get_root_resource

sys.path.insert(0, str(Path(__file__).resolve().parent))
import seed_stack  # noqa: E402


class Recorder(pulumi.runtime.Mocks):
    def __init__(self):
        self.resources: dict[str, dict] = {}  # urn -> record
        self.calls: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.setdefault(args.name, {"type": args.typ, "name": args.name, "inputs": args.inputs})
        return f"{args.name}-id", seed_stack.mock_state(args.typ, args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append(args.token)
        return seed_stack.mock_call(args.token)


class DependencyMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping each registration's dependencies (URNs)."""

    def __init__(self, mocks):
        super().__init__(mocks)
        self.dependencies: dict[str, list[str]] = {}

    def RegisterResource(self, request):
        self.dependencies[request.name] = list(request.dependencies)
        return super().RegisterResource(request)


def main() -> None:
    program, project, config = Path(sys.argv[1]).resolve(), sys.argv[2], json.loads(sys.argv[3])
    # As the language host passes stack config to a program.
    os.environ["PULUMI_CONFIG"] = json.dumps({f"{project}:{k}": v for k, v in config.items()})
    recorder = Recorder()
    monitor = DependencyMonitor(recorder)
    pulumi.runtime.set_mocks(recorder, project=project, stack="test", preview=False, monitor=monitor)
    outputs: dict = {}

    @pulumi.runtime.test
    def run_program():
        sys.path.insert(0, str(program))
        runpy.run_path(str(program / "__main__.py"), run_name="__main__")
        exported = get_root_resource().outputs
        return pulumi.Output.all(**exported).apply(outputs.update)

    run_program()
    name_of = {urn: urn.rsplit("::", 1)[-1] for urn in monitor.resources}
    resources = []
    for name, record in recorder.resources.items():
        record["dependsOn"] = sorted(name_of.get(urn, urn) for urn in monitor.dependencies.get(name, []))
        resources.append(record)
    json.dump({"resources": resources, "calls": recorder.calls, "outputs": outputs}, sys.stdout, default=str)


if __name__ == "__main__":
    main()

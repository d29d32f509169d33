"""The Pulumi side of benches/terraform_vs_pulumi.py for a whole program: tests/examples/
py_engine_runner.py's engine (Pulumi's mocks stand in for the engine's resource monitor only; every
resource goes to the real `pulumi-resource-pgentra` over gRPC), with a `preview` beside its `up`:

    python pulumi_program_runner.py preview|up PROGRAM_DIR PROJECT CONFIG_JSON PROVIDER_CONFIG_JSON

`preview` is what `pulumi preview` of a new stack asks of the provider: Check, then Create with
preview=true (the plugin says supportsPreview), invokes with the program's values; nothing is made.
`up` is py_engine_runner's `up` (Check, then Create). Both print one JSON object: {"made": [...],
"outputs": {...}, "error": text or null, "peakInFlight": the most Create calls that were in flight
at once}. Run it in a process of its own: the Pulumi runtime's settings are global. `destroy` stays
py_engine_runner's."""

from __future__ import annotations

import json
import os
import runpy
import sys
import threading
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "examples"))

import pulumi  # noqa: E402
import py_engine_runner  # noqa: E402
from harness import UNKNOWN, from_struct, unwrap, urn  # noqa: E402
from pulumi.runtime.proto import provider_pb2  # noqa: E402
from pulumi.runtime.settings import get_root_resource  # noqa: E402

CREATE_TIMEOUT = py_engine_runner.CREATE_TIMEOUT


def with_unknowns(value):
    """A preview's inputs as the engine sends them: what is not known yet (the SDK hands the mocks
    an Output or an Unknown for it) as the unknown sentinel."""
    if isinstance(value, dict):
        return {k: with_unknowns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_unknowns(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return UNKNOWN


class CountingEngine(py_engine_runner.Engine):
    """py_engine_runner's Engine, counting the Create calls in flight; `preview` asks for previews."""

    def __init__(self, provider, preview: bool):
        super().__init__(provider)
        self.preview = preview
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            if not self.preview:
                return super().new_resource(args)
            checked = self.provider.check(args.typ, args.name, with_unknowns(args.inputs))
            if checked.failures:
                raise RuntimeError(f"{args.typ} {args.name}: check failed: "
                                   f"{[(f.property, f.reason) for f in checked.failures]}")
            created = self.provider.stub.Create(
                provider_pb2.CreateRequest(urn=urn(args.typ, args.name), properties=checked.inputs,
                                           name=args.name, type=args.typ, timeout=CREATE_TIMEOUT,
                                           preview=True),
                timeout=CREATE_TIMEOUT + 30)
            state = from_struct(created.properties)
            self.made.append({"type": args.typ, "name": args.name, "id": created.id, "state": state})
            return created.id, {k: unwrap(v) for k, v in state.items()}
        finally:
            with self.lock:
                self.in_flight -= 1


def run(mode: str, program: Path, project: str, config: dict, provider_config: dict) -> dict:
    os.environ["PULUMI_CONFIG"] = json.dumps({f"{project}:{k}": v for k, v in config.items()})
    engine, provider = py_engine_runner.start_provider(provider_config)
    mocks = CountingEngine(provider, preview=(mode == "preview"))
    pulumi.runtime.set_mocks(mocks, project=project, stack="emulator", preview=(mode == "preview"))
    outputs: dict = {}
    error = None

    @pulumi.runtime.test
    def run_program():
        sys.path.insert(0, str(program))
        runpy.run_path(str(program / "__main__.py"), run_name="__main__")
        return pulumi.Output.all(**get_root_resource().outputs).apply(outputs.update)

    try:
        run_program()
    except Exception:  # noqa: BLE001 reported with what was made, for the caller to destroy
        error = traceback.format_exc(limit=8)
    finally:
        provider.shutdown()
        engine.stop()
    return {"made": mocks.made, "outputs": outputs, "error": error, "peakInFlight": mocks.peak}


def main() -> None:
    mode = sys.argv[1]
    if mode not in ("preview", "up"):
        sys.exit(f"unknown command {mode!r}: preview or up")
    program, project, config, provider_config = sys.argv[2:6]
    json.dump(run(mode, Path(program).resolve(), project, json.loads(config), json.loads(provider_config)),
              sys.stdout, default=str)


if __name__ == "__main__":
    main()

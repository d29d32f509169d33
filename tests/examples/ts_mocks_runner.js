// Runs a compiled Pulumi TypeScript program under @pulumi/pulumi's test mocks
// (`pulumi.runtime.setMocks`) and prints, as one JSON object, what it registered: each resource's
// type, name, inputs and the resources it depends on, the functions it invoked, and its stack
// outputs (the program's exports), resolved.
//
//   node ts_mocks_runner.js PROGRAM.js PROJECT CONFIG_JSON MOCKS_JSON
//
// MOCKS_JSON (from seed_stack.py): {"outputs": {token: {prop: "template with {input}"}},
// "calls": {token: result}}: what the mocked Azure adds to a new resource and answers to invokes.
"use strict";

const pulumi = require("@pulumi/pulumi");

async function main() {
    const [program, project, configJson, mocksJson] = process.argv.slice(2);
    const config = JSON.parse(configJson);
    const mocks = JSON.parse(mocksJson);
    // As the language host passes stack config to a program.
    const prefixed = {};
    for (const [key, value] of Object.entries(config)) prefixed[`${project}:${key}`] = value;
    process.env.PULUMI_CONFIG = JSON.stringify(prefixed);

    const resources = new Map();
    const calls = [];
    await pulumi.runtime.setMocks({
        newResource(args) {
            if (!resources.has(args.name)) {
                resources.set(args.name, { type: args.type, name: args.name, inputs: args.inputs });
            }
            const state = { ...args.inputs };
            for (const [prop, template] of Object.entries(mocks.outputs[args.type] || {})) {
                state[prop] = template.replace(/\{(\w+)\}/g, (_, key) => String(args.inputs[key]));
            }
            return { id: `${args.name}-id`, state };
        },
        call(args) {
            calls.push(args.token);
            if (!(args.token in mocks.calls)) {
                throw new Error(`the example invoked ${args.token}, which the seed's stack does not need`);
            }
            return mocks.calls[args.token];
        },
    }, project, "test", false);

    // Keep each registration's dependencies (URNs), which the mocks themselves are not told.
    const monitor = pulumi.runtime.getMonitor();
    const dependencies = new Map();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        dependencies.set(req.getName(), req.getDependenciesList());
        return register(req, callback);
    };

    const exported = require(program);
    const outputs = {};
    for (const [name, value] of Object.entries(exported)) {
        outputs[name] = await new Promise((resolve) => pulumi.output(value).apply((v) => { resolve(v); return v; }));
    }
    await pulumi.runtime.disconnect(); // waits for every outstanding registration

    const nameOf = (urn) => urn.split("::").pop();
    const registered = [...resources.values()].map((r) => ({
        ...r,
        dependsOn: (dependencies.get(r.name) || []).map(nameOf).sort(),
    }));
    process.stdout.write(JSON.stringify({ resources: registered, calls, outputs }) + "\n");
}

main().catch((err) => {
    console.error(err && err.stack ? err.stack : String(err));
    process.exit(1);
});

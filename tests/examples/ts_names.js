// Reads a TypeScript program with the TypeScript compiler and prints, as one JSON object, what it
// names of the SDK module (default "@pgentra/pulumi"): its syntax errors, and a list of uses that
// tests/examples/schema_names.py checks against schema.json.
//
//   node ts_names.js FILE [MODULE]
//
// Each use: {kind, member, keys, nested, line}
//   new    `new sdk.Member(name, {keys...})`; nested: {prop: [keys]} for object-literal values
//   call   `sdk.member({keys...})` (a function, e.g. getClientConfigOutput)
//   access `v.key` where v holds a `new sdk.Member(...)` or an `sdk.member(...)` result
//   ref    any other `sdk.Member` (a type annotation, a value)
"use strict";

const fs = require("fs");
const ts = require("typescript");

const [file, moduleName = "@pgentra/pulumi"] = process.argv.slice(2);
if (!file) {
    console.error("usage: node ts_names.js FILE [MODULE]");
    process.exit(2);
}
const text = fs.readFileSync(file, "utf8");

// Syntax errors only: the example's types are checked against the real SDK by tsc elsewhere.
const transpiled = ts.transpileModule(text, { fileName: file, reportDiagnostics: true });
const syntaxErrors = (transpiled.diagnostics || []).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    return `${file}:${where}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
});

const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
const lineOf = (node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;

// The names the SDK module is imported as (`import * as pgentra from "@pgentra/pulumi"`).
const aliases = new Set();
for (const stmt of source.statements) {
    if (ts.isImportDeclaration(stmt) && stmt.moduleSpecifier.text === moduleName) {
        const bindings = stmt.importClause && stmt.importClause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) aliases.add(bindings.name.text);
    }
}

// `sdk.X` -> "X"
function sdkMember(node) {
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && aliases.has(node.expression.text)) {
        return node.name.text;
    }
    if (ts.isQualifiedName(node) && ts.isIdentifier(node.left) && aliases.has(node.left.text)) {
        return node.right.text;
    }
    return null;
}

// `const name = <initializer>` anywhere in the file, for resolving identifiers to object literals.
const initializers = new Map();
(function collect(node) {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
        initializers.set(node.name.text, node.initializer);
    }
    ts.forEachChild(node, collect);
})(source);

function objectLiteral(node) {
    if (!node) return null;
    if (ts.isObjectLiteralExpression(node)) return node;
    if (ts.isIdentifier(node) && initializers.has(node.text)) return objectLiteral(initializers.get(node.text));
    return null;
}

function keysOf(literal) {
    const keys = [];
    for (const p of literal.properties) {
        if ((ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) && p.name) {
            keys.push(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) ? p.name.text : p.name.getText(source));
        } else if (ts.isSpreadAssignment(p)) {
            keys.push(`...${p.expression.getText(source)}`);
        }
    }
    return keys;
}

function valueOf(literal, key) {
    for (const p of literal.properties) {
        if (ts.isPropertyAssignment(p) && p.name.getText(source) === key) return p.initializer;
        if (ts.isShorthandPropertyAssignment(p) && p.name.text === key) return p.name;
    }
    return null;
}

// Which identifiers hold an SDK resource or function result: {name: {kind, member}}.
const bound = new Map();
function madeBy(expr) {
    if (!expr) return null;
    if (ts.isNewExpression(expr)) {
        const member = sdkMember(expr.expression);
        return member ? { kind: "new", member } : null;
    }
    if (ts.isAwaitExpression(expr)) return madeBy(expr.expression);
    if (ts.isCallExpression(expr)) {
        const member = sdkMember(expr.expression);
        return member ? { kind: "call", member } : null;
    }
    return null;
}
(function bind(node) {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name)) {
        const made = madeBy(node.initializer);
        if (made) bound.set(node.name.text, made);
    }
    if (ts.isParameter(node) && ts.isIdentifier(node.name) && node.type && ts.isTypeReferenceNode(node.type)) {
        const member = sdkMember(node.type.typeName);
        if (member) bound.set(node.name.text, { kind: "new", member });
    }
    ts.forEachChild(node, bind);
})(source);

const uses = [];
const consumed = new Set(); // sdk.X nodes already reported as part of a new/call
(function walk(node) {
    if (ts.isNewExpression(node)) {
        const member = sdkMember(node.expression);
        if (member) {
            consumed.add(node.expression);
            const args = objectLiteral((node.arguments || [])[1]);
            const nested = {};
            if (args) {
                for (const key of keysOf(args)) {
                    const inner = objectLiteral(valueOf(args, key));
                    if (inner) nested[key] = keysOf(inner);
                }
            }
            uses.push({ kind: "new", member, keys: args ? keysOf(args) : [], nested, line: lineOf(node) });
        }
    } else if (ts.isCallExpression(node)) {
        const member = sdkMember(node.expression);
        if (member) {
            consumed.add(node.expression);
            const args = objectLiteral(node.arguments[0]);
            uses.push({ kind: "call", member, keys: args ? keysOf(args) : [], nested: {}, line: lineOf(node) });
        }
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && bound.has(node.expression.text)) {
        const made = bound.get(node.expression.text);
        uses.push({ kind: "access", member: made.member, made: made.kind, keys: [node.name.text], nested: {}, line: lineOf(node) });
    } else if ((ts.isPropertyAccessExpression(node) || ts.isQualifiedName(node)) && !consumed.has(node)) {
        const member = sdkMember(node);
        if (member) uses.push({ kind: "ref", member, keys: [], nested: {}, line: lineOf(node) });
    }
    ts.forEachChild(node, walk);
})(source);

process.stdout.write(JSON.stringify({ aliases: [...aliases], syntaxErrors, uses }) + "\n");

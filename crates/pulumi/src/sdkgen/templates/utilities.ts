// The package's own package.json (tsc copies it beside the compiled files): its version is the
// one place the SDK's version is written.
import * as packageJson from "./package.json";

/** The SDK's version, which is the provider plugin version the engine loads. */
export function getVersion(): string {
    return packageJson.version;
}

/** The schema's pluginDownloadURL; empty when it has none. */
const pluginDownloadURL: string = "@PLUGIN_DOWNLOAD_URL@";

/** Where the engine downloads the plugin when that version is not installed (none: its default). */
export function getPluginDownloadURL(): string | undefined {
    return pluginDownloadURL === "" ? undefined : pluginDownloadURL;
}

/** Options every resource and invoke of this package gets: the plugin version and its download URL. */
export function resourceOptsDefaults(): { version: string; pluginDownloadURL?: string } {
    return { version: getVersion(), pluginDownloadURL: getPluginDownloadURL() };
}

/** The value of the first of these environment variables that is set. */
export function getEnv(...vars: string[]): string | undefined {
    for (const name of vars) {
        const value = process.env[name];
        if (value !== undefined) {
            return value;
        }
    }
    return undefined;
}

export function getEnvBoolean(...vars: string[]): boolean | undefined {
    const value = getEnv(...vars);
    if (value === undefined) {
        return undefined;
    }
    if (["1", "t", "T", "true", "TRUE", "True"].includes(value)) {
        return true;
    }
    if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) {
        return false;
    }
    return undefined;
}

export function getEnvNumber(...vars: string[]): number | undefined {
    const value = getEnv(...vars);
    if (value === undefined) {
        return undefined;
    }
    const parsed = Number(value);
    return Number.isNaN(parsed) ? undefined : parsed;
}

const version = "@VERSION@";

/** The SDK's version, which is the provider plugin version the engine loads. */
export function getVersion(): string {
    return version;
}

/** Options every resource and invoke of this package gets: the plugin version. */
export function resourceOptsDefaults(): { version: string } {
    return { version: getVersion() };
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

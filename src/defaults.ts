// The agent's defaults that other layers print or write down: `manifest` puts them in pod specs, the CLI in --help.
// Here in core so that neither has to load the agent to read a number.

/** The agent's rendezvous port unless --port says otherwise (not 29400/29500, which torchrun uses). */
export const DEFAULT_PORT = 29600;
/** Default overall deadline of wait/run/env. */
export const DEFAULT_TIMEOUT_MS = 600_000;

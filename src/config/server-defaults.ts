// Defaults of the server's options that the CLI needs before the config (and zod) is loaded.

/** server.shutdownGraceMs: how long work in flight may take to finish once the server is asked to stop. */
export const defaultShutdownGraceMs = 25_000;

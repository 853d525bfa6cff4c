// The database schema this jitflow expects, in a module of its own so the CLI can print it without
// loading the database drivers. store/database.ts refuses to load if it is not the last migration.

export const schemaVersion = "006-grants";

// The environment variables that hold secrets: never in a committed environment file, never printed. A module of its
// own, with no imports, so the lab's bundled programs can read it without pulling in the suite's config.
export const SECRET_VARIABLES = ['KASM_API_SECRET', 'KASM_USER_PASSWORD', 'KASM_SSH_PASSPHRASE'] as const;

# syntax=docker/dockerfile:1
# kasm-synthetics in a container: runs the suite (`npm run check`) or any other package.json script.
#
#   docker build -t kasm-synthetics .
#   docker run --rm --init --ipc=host kasm-synthetics                      # against the embedded lab
#   docker run --rm --init --ipc=host \
#     -e KASM_ENV=staging \
#     -v "$PWD/environments/staging.env:/suite/environments/staging.env:ro" \
#     --env-file ./kasm-secrets.env \
#     -v "$PWD/reports:/suite/reports" \
#     kasm-synthetics check -- --grep @smoke                               # -> npm run check -- --grep @smoke
#   docker run --rm -v "$PWD/reports:/suite/reports" kasm-synthetics report   # -> npm run report
#
# Secrets are never baked into the image (no ENV or ARG holds one): pass them at run time, with --env-file (a file of
# KASM_API_SECRET=..., KASM_USER_PASSWORD=..., KASM_SSH_PASSPHRASE=... lines kept out of the repository) or -e NAME
# (the value is taken from your shell). Mount the SSH key and known_hosts read-only and name them, e.g.
#   -v ~/.ssh/kasm_synthetics:/run/secrets/kasm_ssh_key:ro -e KASM_SSH_KEY_FILE=/run/secrets/kasm_ssh_key
#   -v ~/.ssh/known_hosts:/run/secrets/known_hosts:ro -e KASM_SSH_KNOWN_HOSTS=/run/secrets/known_hosts
# (the files must be readable by uid 1000, the image's user). Non-secret settings: mount environments/<name>.env
# and set KASM_ENV=<name>, or pass KASM_* variables; the process environment wins over the file.
#
# --init reaps Chromium's child processes and forwards Ctrl-C / docker stop to npm; --ipc=host (or --shm-size=1g)
# gives Chromium more than Docker's 64 MB of /dev/shm. Exit codes are the suite's: 0 healthy, 1 a check failed, 2
# the suite could not run.
FROM node:20-bookworm-slim

# Debian's Chromium (/usr/bin/chromium, which the suite finds by itself and starts with --no-sandbox), CA
# certificates for TLS to Kasm, curl (the embedded lab's simulated hosts run the real curl) and an SSH client for
# looking at the servers by hand (the suite itself speaks SSH through ssh2).
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium ca-certificates curl openssh-client \
 && rm -rf /var/lib/apt/lists/*

ENV KASM_BROWSER_PATH=/usr/bin/chromium \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

WORKDIR /suite

# Dependencies first, so a change in the sources does not reinstall them. Nothing needs an install script (npm 11
# may skip them; the suite works without), and no browser is downloaded: the image has Debian's.
COPY package*.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# The sources; .dockerignore keeps out node_modules, reports, test-results, environments/*.local.env (secrets) and
# other local state.
COPY . .

# The suite writes reports/, test-results/ and .kasm-state/ (restore files of a mutating run: mount a volume there
# to keep one a killed run left pending, then run `npm run restore`).
RUN mkdir -p reports test-results .kasm-state \
 && chown node:node reports test-results .kasm-state

# The node image's unprivileged user (uid 1000).
USER node

VOLUME /suite/reports

ENTRYPOINT ["npm", "run"]
CMD ["check"]

#!/usr/bin/env bash
# Lints the deployment files without a Docker engine (issue 17 item 7): the Dockerfile with
# dockerfile-utils (the parser behind VS Code's Dockerfile support) and the compose file with
# dclint (the Compose schema plus best practices), both from the npm registry, pinned in
# tools/deploy-lint/package-lock.json. Any error, or any dclint warning, fails.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix tools/deploy-lint --no-fund --no-audit --silent
bin=tools/deploy-lint/node_modules/.bin
"$bin/dockerfile-utils" lint Dockerfile
"$bin/dclint" --max-warnings 0 deploy/docker-compose.yml
echo "deploy-lint: Dockerfile and deploy/docker-compose.yml are clean"

#!/usr/bin/env bash
# Make `docker compose` (v2) available for validating deploy/docker-compose.yml with
# `docker compose config`. No Docker engine is needed for that. Where the plugin is missing and
# Go is installed, it is built once from the docker/compose Go module and cached.
set -euo pipefail
VERSION=v2.40.3
if docker compose version >/dev/null 2>&1; then exit 0; fi
if ! command -v docker >/dev/null 2>&1; then
  echo "ensure-compose: the docker CLI is missing (apt-get install -y docker.io, or Docker's docker-ce-cli)" >&2
  exit 1
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/otklik/compose/$VERSION"
if [ ! -x "$cache/docker-compose" ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "ensure-compose: install the Docker Compose v2 plugin (docker-compose-plugin) or Go" >&2
    exit 1
  fi
  echo "ensure-compose: building docker compose $VERSION from its Go module (once, ~2 min)"
  dir=$(go mod download -json "github.com/docker/compose/v2@$VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$cache"
  (cd "$dir" && GOFLAGS=-mod=mod go build -trimpath -o "$cache/docker-compose" ./cmd)
fi
mkdir -p "$HOME/.docker/cli-plugins"
ln -sf "$cache/docker-compose" "$HOME/.docker/cli-plugins/docker-compose"
docker compose version

#!/bin/sh
# Turns a built workspace (run in its root, after `pnpm build`) into the tree the image ships: production
# dependencies only, compiled JavaScript only. The Dockerfile runs it; test/infra-image.test.ts runs it on a
# copy of this checkout and starts every command from the result. Extra arguments go to `pnpm install`.
set -eu
rm -rf node_modules packages/*/node_modules
pnpm install --frozen-lockfile --prod --ignore-scripts --reporter=silent "$@"
# @knp/testing is a workspace member (the lockfile names it) but nothing at run time imports it
rm -rf packages/testing packages/*/src packages/*/test packages/*/bench packages/*/dist/test packages/*/dist/bench packages/*/tsconfig.json
find packages -name '*.tsbuildinfo' -delete

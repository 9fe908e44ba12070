#!/usr/bin/env bash
# A longer run of the pipeline model (src/test/java/dev/mxd/reliability/PipelineModelTest):
# CASES generated cases on an in-process mxd and CRASH_CASES with kill -9 of a real `mxd serve`,
# from a random seed unless SEED is set. It needs the peers ./test.sh installs (clamd) and root
# for the disk-full fault (a tmpfs). A failure prints the seed that replays its case.
# Usage: bench/model.sh [cases=2000] [crash cases=100]     (SEED=N bench/model.sh to replay)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
cases=${1:-2000}
crash=${2:-100}
seed=${SEED:-$(( (RANDOM << 16) ^ RANDOM ^ $(date +%s) ))}
echo "model: $cases cases, $crash with kill -9, seed $seed" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
./mvnw -q -B test -Dmxd.excludedGroups=none -Dtest=PipelineModelTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dmxd.model.seed="$seed" -Dmxd.model.cases="$cases" -Dmxd.model.crash-cases="$crash" \
  -Dsurefire.timeout=0 >"$log" 2>&1 || status=$?
grep -E "pipeline model|replay with|got 250|copy at|did not drain|quarantined by" "$log" || true
[ "$status" -eq 0 ] && echo "model: no case broke the invariant (seed $seed)" || echo "model: FAILED (seed $seed; see the replay lines)"
exit "$status"

#!/usr/bin/env bash
# Messages per second through the filter chain: no engines, clamd, spamd, clamd + spamd, against the
# real daemons on loopback (started and stopped by the benchmark, like the peer tests).
# Usage: bench/filter.sh [SECONDS-PER-CASE [THREADS [MESSAGE-BYTES]]]   (default 10 4 4096)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
for tool in clamd spamd; do
  command -v "$tool" >/dev/null || { echo "bench/filter.sh: $tool missing: apt-get install -y clamav-daemon spamd" >&2; exit 1; }
done
./mvnw -q -B -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
cp="target/test-classes:target/classes:$(cat target/bench.classpath)"
# logback.xml logs warnings only (MXD_LOG_LEVEL): the per-message verdict lines stay out of the figures
java -cp "$cp" dev.mxd.bench.FilterChainBench "$@"

#!/usr/bin/env bash
# The crash harness (issue 6 point 1): mxd as its own JVM relays to Postfix's smtp-sink by MX
# while it is killed with SIGKILL twice a round; prints per round what was acknowledged,
# received, lost (must be 0) and duplicated, then a Markdown table.
# Usage: bench/crash.sh [rounds=10] [messages per round=3000] [senders=8] [seed]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
[ -x /usr/sbin/smtp-sink ] || { echo "bench/crash.sh: installing postfix (for smtp-sink)" >&2;
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections;
  apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null; }

./mvnw -q -B -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
cp="target/test-classes:target/classes:$(cat target/bench.classpath)"
exec java -cp "$cp" dev.mxd.reliability.CrashHarness "${1:-10}" "${2:-3000}" "${3:-8}" ${4:+"$4"}

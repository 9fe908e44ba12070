#!/usr/bin/env bash
# Fuzzes every Jazzer target (src/test/java/dev/mxd/fuzz) for a while each, one JVM per target,
# and prints a table. A finding leaves TARGET.log and TARGET-crash-* in the work directory;
# turn it into a unit test of the code it found (as SmtpCommandTest has for a 501 quoting a bare LF).
# Usage: bench/fuzz.sh [seconds per target=300] [work dir]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
./mvnw -q -B -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
cp="$here/target/test-classes:$here/target/classes:$(cat target/bench.classpath)" # absolute: each target runs in the work directory
exec java -cp "$cp" dev.mxd.fuzz.FuzzCampaign "${1:-300}" ${2:+"$2"}

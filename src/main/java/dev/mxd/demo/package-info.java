/**
 * {@code mxd demo}: a primary MX, two backups, a DNS server and a sending node in one JVM on
 * loopback, a burst of mail through the primary's outage, and a tally of every message.
 * With {@code --secure} the zone is signed with TLSA records and the nodes deliver with DANE.
 * {@link dev.mxd.demo.DemoRun} is the run; the command line only checks its options.
 * {@link dev.mxd.demo.TrainingRun} ({@code mxd demo --train}, hidden) is the launcher's training workload for its
 * AOT cache: mail relayed end to end on loopback by two nodes.
 */
package dev.mxd.demo;

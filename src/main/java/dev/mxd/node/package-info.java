/**
 * A running mxd node put together: {@link dev.mxd.node.ReceivingMx} wires the SMTP server,
 * recipient policy, optional filter, spool, queue manager and delivery agents in the order mail
 * flows, and {@code Operations} adds the operator's side (metrics, quarantine releases, the admin
 * listener). The only package besides {@code smtp.server} itself that knows the Netty server;
 * {@code mxd serve}, the demo and end-to-end tests start nodes through it.
 */
package dev.mxd.node;

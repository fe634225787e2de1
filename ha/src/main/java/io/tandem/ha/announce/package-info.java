/**
 * Routed VIPs ({@code ha.announce: {mode: bgp}}): a BIRD 2 process per node, supervised by the
 * node, announces the VIP addresses held on the VIP interface to the routers over BGP with BFD;
 * this package writes its config, keeps it running, tied to this process's life, and reads back
 * what it announces. Tandem never speaks BGP itself. docs/ha.md "Routed VIPs (BGP)".
 */
package io.tandem.ha.announce;

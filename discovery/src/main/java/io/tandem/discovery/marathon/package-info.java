/**
 * Marathon discovery: an SSE subscription to {@code /v2/events} used as a change hint, full
 * resyncs from {@code /v2/apps?embed=apps.tasks} as the truth, and DC/OS-style VIP port labels
 * turned into services. The public surface is {@link io.tandem.discovery.marathon.MarathonSource},
 * {@link io.tandem.discovery.marathon.MarathonSettings},
 * {@link io.tandem.discovery.marathon.MarathonAuth} and
 * {@link io.tandem.discovery.marathon.MarathonVip}; see {@code docs/discovery-marathon.md}.
 */
package io.tandem.discovery.marathon;

package io.tandem.health.check;

import static java.util.Objects.requireNonNull;

import io.tandem.health.check.AgentReply.Admin;
import io.tandem.health.check.AgentReply.Health;
import io.tandem.health.check.AgentReply.Weight;
import java.util.Optional;

/**
 * What an agent has said so far about a backend, folded over its replies as HAProxy does:
 * "Parameters which are not advertised by the agent are not changed", so a reply of {@code 75%}
 * leaves an earlier {@code drain} in force, and only the agent undoes what it set ({@code up} ends
 * its {@code down}, {@code ready} its {@code drain} or {@code maint}). An agent that cannot be
 * reached changes nothing but {@link #reachable} and {@link #problem}. Pure.
 *
 * @param health     the agent's last health word ({@code UP} until it says otherwise)
 * @param reason     the description after {@code #} that came with the last health word
 * @param admin      the agent's last admin word ({@code READY} until it says otherwise)
 * @param weight     the last weight it asked for; empty = the configured weight (100 %)
 * @param lastAnswer its last line, quoted for display (empty before the first)
 * @param problem    what was wrong with the last exchange (unreachable, a word not understood), if anything
 * @param reachable  whether the last exchange got a line
 */
public record AgentState(Health health, String reason, Admin admin, Optional<Weight> weight,
                         Optional<String> lastAnswer, Optional<String> problem, boolean reachable) {

    /** Before any exchange: nothing set. */
    public static final AgentState INITIAL = new AgentState(Health.UP, "", Admin.READY, Optional.empty(),
            Optional.empty(), Optional.empty(), false);

    /** The longest answer kept for display. */
    static final int SHOWN = 200;

    public AgentState {
        requireNonNull(health, "health");
        requireNonNull(reason, "reason");
        requireNonNull(admin, "admin");
        requireNonNull(weight, "weight");
        requireNonNull(lastAnswer, "lastAnswer");
        requireNonNull(problem, "problem");
    }

    /** The state after the agent answered {@code line} (cut at its first CR or LF). */
    public AgentState answered(String line) {
        AgentReply r = AgentReply.parse(line);
        Health h = r.health().orElse(health);
        String why = r.health().isPresent() ? r.description() : reason;
        return new AgentState(h, why, r.admin().orElse(admin), r.weight().or(() -> weight),
                Optional.of(Probe.quote(line, SHOWN)),
                r.problems().isEmpty() ? Optional.empty() : Optional.of(String.join("; ", r.problems())), true);
    }

    /** The state after an exchange that got no line ({@code why}): only the problem changes. */
    public AgentState failed(String why) {
        return new AgentState(health, reason, admin, weight, lastAnswer, Optional.of(why), false);
    }

    /** Whether {@code other} asks anything different of the backend (health, admin state, weight). */
    public boolean sameEffect(AgentState other) {
        return health == other.health && reason.equals(other.reason) && admin == other.admin
                && weight.equals(other.weight);
    }

    /** {@code health=down admin=ready weight=50%}: for log lines. */
    public String effect() {
        return "health=" + health.word() + " admin=" + admin.word() + " weight=" + weight.map(Weight::toString)
                .orElse("100%") + (reason.isEmpty() ? "" : " reason=" + Probe.quote(reason, SHOWN));
    }
}

package io.tandem.config;

/** Load-balancing policy of a VIP; the names are the config spellings. */
public enum PolicyKind {
    ROUND_ROBIN("round-robin"),
    WEIGHTED_ROUND_ROBIN("weighted-round-robin"),
    LEAST_CONNECTIONS("least-connections"),
    POWER_OF_TWO("power-of-two"),
    MAGLEV("maglev");

    private final String configName;

    PolicyKind(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }
}

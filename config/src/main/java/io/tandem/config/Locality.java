package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where a backend or a node sits among the fault domains: a {@code region}, a {@code zone}
 * inside it and optionally a {@code rack} (or host group) inside that — Envoy's
 * {@code Locality} (region, zone, sub_zone), Mesos fault domains (region, zone). Any part may be
 * unknown. Backends get theirs from static config, their discovery source, or the config's
 * CIDR map ({@link LocalitySettings}), in that order, part by part.
 */
public record Locality(Optional<String> region, Optional<String> zone, Optional<String> rack) {
    /** Nothing known. */
    public static final Locality UNKNOWN = new Locality(Optional.empty(), Optional.empty(), Optional.empty());

    /**
     * What a region, zone or rack name may be: cloud names ({@code eu-west-1}, {@code us-east-1a}),
     * Mesos domains, Kubernetes {@code topology.kubernetes.io/zone} values. No {@code /}: it
     * separates the parts when a locality is shown ({@code eu-west-1/eu-west-1a/r7}).
     */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,62}");

    public Locality {
        requireNonNull(region, "region");
        requireNonNull(zone, "zone");
        requireNonNull(rack, "rack");
    }

    /** A locality from nullable parts (null or empty = unknown). */
    public static Locality of(String region, String zone, String rack) {
        return new Locality(part(region), part(zone), part(rack));
    }

    /** A locality from nullable region and zone. */
    public static Locality of(String region, String zone) {
        return of(region, zone, null);
    }

    private static Optional<String> part(String s) {
        return s == null || s.isEmpty() ? Optional.empty() : Optional.of(s);
    }

    public boolean isUnknown() {
        return region.isEmpty() && zone.isEmpty() && rack.isEmpty();
    }

    /** This locality, each unknown part taken from {@code fallback}. */
    public Locality orElse(Locality fallback) {
        requireNonNull(fallback, "fallback");
        if (fallback.isUnknown()) {
            return this;
        }
        return new Locality(region.or(fallback::region), zone.or(fallback::zone), rack.or(fallback::rack));
    }

    /**
     * Whether a backend here is in {@code node}'s region. An unknown region on either side counts
     * as the same region: a config that names zones only must not send everything cross-region.
     */
    public boolean sameRegion(Locality node) {
        return region.isEmpty() || node.region.isEmpty() || region.equals(node.region);
    }

    /** Whether a backend here is in {@code node}'s zone: both zones known and equal, same region. */
    public boolean sameZone(Locality node) {
        return zone.isPresent() && zone.equals(node.zone) && sameRegion(node);
    }

    /** {@code region/zone/rack}, {@code -} for an unknown part; {@code -} when nothing is known. */
    @Override
    public String toString() {
        if (isUnknown()) {
            return "-";
        }
        return region.orElse("-") + "/" + zone.orElse("-") + rack.map(r -> "/" + r).orElse("");
    }
}

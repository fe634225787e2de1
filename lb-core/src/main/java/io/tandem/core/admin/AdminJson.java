package io.tandem.core.admin;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/**
 * The one JSON mapping shared by the admin server and {@link AdminClient}, so what one writes
 * the other reads: records as-is, instants as ISO-8601 strings, enums by name, and unknown
 * properties ignored on read (a newer node may add fields an older CLI does not know).
 */
final class AdminJson {
    static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    // Views are written on a fresh virtual thread per request: a thread-local buffer
                    // pool would hand each one new buffers, a shared pool reuses them.
                    .recyclerPool(JsonRecyclerPools.sharedConcurrentDequePool()).build())
            .addModule(new JavaTimeModule())
            .addModule(new Jdk8Module())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private AdminJson() {
    }
}

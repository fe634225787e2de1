package io.tandem.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.util.JsonParserDelegate;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a YAML config file into a {@link TandemConfig}, or into the list of <em>every</em>
 * problem in it, each with its path: {@code vips[1].listen: "127.0.0.1:70000" (expected a port
 * 1..65535)}. Used by {@code tandem validate}, at start-up and on every reload; an invalid file
 * never yields a partial config. Schema and defaults: {@code docs/configuration.md}.
 *
 * <p>The input is bounded before anything expensive happens, because a reload runs this on a
 * live node: only regular files are read (a FIFO or {@code /dev/zero} would block or never end),
 * at most {@code maxBytes} of them (checked before reading and enforced while reading, so a file
 * that grows meanwhile is still cut off), and no line may be longer than
 * {@value #MAX_LINE_CHARS} characters. That last bound is what keeps parsing fast: SnakeYAML's
 * reader copies its whole look-ahead window for every 1 KiB it reads, so one token costs the
 * square of its length (a single 2 MiB comment line took 8-13 s and over 1.5 GB of garbage), and
 * no token spans a line break. The text is then parsed once.
 */
public final class ConfigLoader {
    /** The default cap on a config file's size: far above any real config, far below trouble. */
    public static final long DEFAULT_MAX_BYTES = 4L * 1024 * 1024;
    /** The largest cap that may be set (1 GiB). */
    public static final long MAX_MAX_BYTES = 1L << 30;
    /** The longest line read (64 Ki characters): parse time grows with the square of a line's length. */
    public static final int MAX_LINE_CHARS = 64 * 1024;
    /** Deeper than any config needs (five levels); keeps pathological nesting a cheap error. */
    static final int MAX_NESTING = 64;

    private static final ObjectMapper YAML = yamlMapper();

    private ConfigLoader() {
    }

    /**
     * Parses and validates config text of at most {@link #DEFAULT_MAX_BYTES} characters.
     *
     * @param sourceName names the text in syntax errors ({@code tandem.yaml:3:7: ...}), usually the file name
     */
    public static ConfigResult parse(String yamlText, String sourceName) {
        requireNonNull(yamlText, "yamlText");
        requireNonNull(sourceName, "sourceName");
        if (yamlText.length() > DEFAULT_MAX_BYTES) {
            return invalid(sourceName, yamlText.length() + " characters",
                    "at most " + DEFAULT_MAX_BYTES + " characters");
        }
        return parseBounded(yamlText, sourceName);
    }

    /** Reads and parses a config file of at most {@link #DEFAULT_MAX_BYTES}; see {@link #load(Path, long)}. */
    public static ConfigResult load(Path file) {
        return load(file, DEFAULT_MAX_BYTES);
    }

    /**
     * Reads (UTF-8) and parses a config file. Symbolic links are followed (a Kubernetes ConfigMap
     * is a chain of them); anything that is not a regular file in the end, or is larger than
     * {@code maxBytes}, is refused without reading it. Each problem is one error naming the file.
     *
     * @param maxBytes the size cap, 1..{@link #MAX_MAX_BYTES} ({@code --max-config-size})
     */
    public static ConfigResult load(Path file, long maxBytes) {
        requireNonNull(file, "file");
        if (maxBytes < 1 || maxBytes > MAX_MAX_BYTES) {
            throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected 1.." + MAX_MAX_BYTES + ")");
        }
        String where = file.toString();
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (IOException | SecurityException e) {
            return invalid(where, ioProblem(e), "a readable YAML file");
        }
        if (!attributes.isRegularFile()) {
            return invalid(where, kind(file, attributes), "a regular file");
        }
        if (attributes.size() > maxBytes) {
            return tooLarge(where, attributes.size() + " bytes", maxBytes);
        }
        byte[] bytes;
        // The writer of the file could swap in a FIFO between the check and the open (open would
        // then wait for a writer); whoever can do that already controls the config, so accept it.
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(Math.toIntExact(maxBytes + 1));
        } catch (IOException | SecurityException e) {
            return invalid(where, ioProblem(e), "a readable YAML file");
        }
        if (bytes.length > maxBytes) {
            return tooLarge(where, "more than " + maxBytes + " bytes (it grew while being read)", maxBytes);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return invalid(where, "not UTF-8 text", "a readable YAML file");
        }
        Path name = file.getFileName();
        return parseBounded(text, name == null ? where : name.toString());
    }

    private static ConfigResult tooLarge(String where, String size, long maxBytes) {
        return invalid(where, size, "at most " + maxBytes + " bytes; raise it with --max-config-size");
    }

    private static ConfigResult invalid(String path, String value, String expected) {
        return new ConfigResult.Invalid(List.of(new ConfigError(path, value, expected)));
    }

    private static String ioProblem(Exception e) {
        return switch (e) {
            case java.nio.file.NoSuchFileException x -> "no such file";
            case java.nio.file.AccessDeniedException x -> "permission denied";
            case IOException x when x.getMessage() != null && x.getMessage().contains("Is a directory") ->
                    "a directory";
            default -> e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        };
    }

    /** What a file that is not a regular file is, in words, from its type bits where the platform has them. */
    private static String kind(Path file, BasicFileAttributes attributes) {
        if (attributes.isDirectory()) {
            return "a directory";
        }
        try {
            int mode = (Integer) Files.getAttribute(file, "unix:mode");
            return switch (mode & 0170000) {
                case 0010000 -> "a FIFO (named pipe)";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0140000 -> "a socket";
                default -> "not a regular file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | SecurityException
                 | ClassCastException e) {
            return "not a regular file";
        }
    }

    private static ConfigResult parseBounded(String yamlText, String sourceName) {
        ConfigError longLine = longLine(yamlText, sourceName);
        if (longLine != null) {
            return new ConfigResult.Invalid(List.of(longLine));
        }
        List<ConfigError> aliases = new ArrayList<>();
        JsonNode root;
        AliasRefusingParser p;
        try {
            p = new AliasRefusingParser(YAML.createParser(yamlText), sourceName, aliases);
        } catch (IOException e) {
            // Reading from a String cannot fail with plain I/O; keep the contract of never throwing.
            return invalid(sourceName, String.valueOf(e.getMessage()), "valid YAML");
        }
        try (p) {
            root = YAML.readTree(p);
            if (p.nextToken() != null) {
                return new ConfigResult.Invalid(List.of(new ConfigError(at(sourceName, p.currentTokenLocation()),
                        "a second YAML document", "a single document; remove the second ---")));
            }
        } catch (JsonProcessingException e) {
            List<ConfigError> errors = new ArrayList<>(aliases);
            errors.add(syntaxError(e, sourceName, p.currentLocation()));
            return new ConfigResult.Invalid(errors);
        } catch (IOException e) {
            return invalid(sourceName, String.valueOf(e.getMessage()), "valid YAML");
        }
        if (!aliases.isEmpty()) {
            return new ConfigResult.Invalid(aliases);
        }
        return ConfigReader.read(root, sourceName);
    }

    /** The first line longer than {@link #MAX_LINE_CHARS}, as an error; null when there is none. */
    private static ConfigError longLine(String text, String sourceName) {
        int line = 1;
        int start = 0;
        int n = text.length();
        for (int i = 0; i <= n; i++) {
            char c = i < n ? text.charAt(i) : '\n';
            if (c != '\n' && c != '\r') {
                continue;
            }
            if (i - start > MAX_LINE_CHARS) {
                return new ConfigError(sourceName + ":" + line, "a line of " + (i - start) + " characters",
                        "lines of at most " + MAX_LINE_CHARS + " characters; YAML parsing time grows with the "
                                + "square of a line's length");
            }
            if (c == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') {
                i++;
            }
            line++;
            start = i + 1;
        }
        return null;
    }

    /**
     * Jackson reads {@code *alias} as the plain string "alias" instead of the anchored node, which
     * would turn a valid-looking file into a silently different config: every alias is an error.
     * Checked on the one parse that also builds the tree, whichever way the tree reader asks for
     * the next token.
     */
    private static final class AliasRefusingParser extends JsonParserDelegate {
        private final String sourceName;
        private final List<ConfigError> errors;

        AliasRefusingParser(JsonParser yaml, String sourceName, List<ConfigError> errors) {
            super(yaml);
            this.sourceName = sourceName;
            this.errors = errors;
        }

        @Override
        public JsonToken nextToken() throws IOException {
            JsonToken t = delegate.nextToken();
            if (t != null && delegate instanceof YAMLParser y && y.isCurrentAlias()) {
                errors.add(new ConfigError(at(sourceName, delegate.currentTokenLocation()),
                        "alias *" + delegate.getText(), "YAML without anchors and aliases; write the values out"));
            }
            return t;
        }

        @Override
        public JsonToken nextValue() throws IOException {
            JsonToken t = nextToken();
            return t == JsonToken.FIELD_NAME ? nextToken() : t;
        }

        @Override
        public String nextFieldName() throws IOException {
            return nextToken() == JsonToken.FIELD_NAME ? currentName() : null;
        }

        @Override
        public boolean nextFieldName(SerializableString name) throws IOException {
            return nextToken() == JsonToken.FIELD_NAME && name.getValue().equals(currentName());
        }

        @Override
        public String nextTextValue() throws IOException {
            return nextToken() == JsonToken.VALUE_STRING ? getText() : null;
        }

        @Override
        public int nextIntValue(int defaultValue) throws IOException {
            return nextToken() == JsonToken.VALUE_NUMBER_INT ? getIntValue() : defaultValue;
        }

        @Override
        public long nextLongValue(long defaultValue) throws IOException {
            return nextToken() == JsonToken.VALUE_NUMBER_INT ? getLongValue() : defaultValue;
        }

        @Override
        public Boolean nextBooleanValue() throws IOException {
            JsonToken t = nextToken();
            return t == JsonToken.VALUE_TRUE ? Boolean.TRUE : t == JsonToken.VALUE_FALSE ? Boolean.FALSE : null;
        }
    }

    private static ConfigError syntaxError(JsonProcessingException e, String sourceName, JsonLocation current) {
        if (e instanceof StreamConstraintsException) {
            // Jackson gives these no location; where the parser stopped is where the limit was hit.
            String where = at(sourceName, e.getLocation() != null ? e.getLocation() : current);
            String message = oneLine(e.getOriginalMessage());
            if (message.startsWith("Document nesting depth")) {
                return new ConfigError(where, "nesting deeper than " + MAX_NESTING + " levels",
                        "a config nested at most " + MAX_NESTING + " levels deep");
            }
            // "... exceeds the maximum allowed (1000, from `StreamReadConstraints.getMaxNumberLength()`)"
            return new ConfigError(where, message.replaceAll(", from `[^`]*`", ""), "valid YAML of sane proportions");
        }
        Throwable cause = e.getCause();
        if (cause instanceof org.yaml.snakeyaml.error.MarkedYAMLException m && m.getProblemMark() != null) {
            String where = sourceName + ":" + (m.getProblemMark().getLine() + 1) + ":"
                    + (m.getProblemMark().getColumn() + 1);
            String problem = oneLine(m.getProblem());
            if (problem.contains("(TAB)")) {
                return new ConfigError(where, "a tab character", "spaces; YAML does not allow tabs for indentation");
            }
            if (m.getContext() != null && m.getContextMark() != null) {
                problem = problem + " " + oneLine(m.getContext()) + " started at line "
                        + (m.getContextMark().getLine() + 1) + ", column " + (m.getContextMark().getColumn() + 1);
            }
            return new ConfigError(where, problem, "valid YAML");
        }
        String where = at(sourceName, e.getLocation());
        String message = oneLine(e.getOriginalMessage());
        if (message.startsWith("Duplicate field '")) {
            String key = message.substring("Duplicate field '".length(), message.lastIndexOf('\''));
            return new ConfigError(where, "duplicate key " + Render.quote(key), "each key once per mapping");
        }
        if (message.startsWith("Trailing token")) {
            return new ConfigError(where, "a second YAML document", "a single document; remove the second ---");
        }
        return new ConfigError(where, message, "valid YAML");
    }

    private static String at(String sourceName, JsonLocation location) {
        if (location == null || location.getLineNr() < 1) {
            return sourceName;
        }
        return sourceName + ":" + location.getLineNr() + ":" + location.getColumnNr();
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.strip().replace("\t", "\\t").replaceAll("\\s*\\n\\s*", " ");
    }

    private static ObjectMapper yamlMapper() {
        // Our own bounds (size, line length) come first; SnakeYAML's 3 MiB code point limit would
        // otherwise refuse files that --max-config-size allows, and only after reading them whole.
        org.yaml.snakeyaml.LoaderOptions loader = new org.yaml.snakeyaml.LoaderOptions();
        loader.setCodePointLimit(Integer.MAX_VALUE);
        // "key:" with nothing after it is null (not ""), so an emptied-out section reads as absent.
        YAMLFactory factory = YAMLFactory.builder()
                .loaderOptions(loader)
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING).build())
                .enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL)
                .build();
        factory.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        ObjectMapper mapper = new ObjectMapper(factory);
        mapper.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        return mapper;
    }
}

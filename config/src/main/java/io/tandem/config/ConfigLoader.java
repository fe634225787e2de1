package io.tandem.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a YAML config file into a {@link TandemConfig}, or into the list of <em>every</em>
 * problem in it, each with its path: {@code vips[1].listen: "127.0.0.1:70000" (expected a port
 * 1..65535)}. Used by {@code tandem validate}, at start-up and on every reload; an invalid file
 * never yields a partial config. Schema and defaults: {@code docs/configuration.md}.
 */
public final class ConfigLoader {
    private static final ObjectMapper YAML = yamlMapper();

    private ConfigLoader() {
    }

    /**
     * Parses and validates config text.
     *
     * @param sourceName names the text in syntax errors ({@code tandem.yaml:3:7: ...}), usually the file name
     */
    public static ConfigResult parse(String yamlText, String sourceName) {
        requireNonNull(yamlText, "yamlText");
        requireNonNull(sourceName, "sourceName");
        List<ConfigError> syntax = new ArrayList<>();
        JsonNode root;
        try {
            rejectAliases(yamlText, sourceName, syntax);
            if (!syntax.isEmpty()) {
                return new ConfigResult.Invalid(syntax);
            }
            root = YAML.readTree(yamlText);
        } catch (JsonProcessingException e) {
            return new ConfigResult.Invalid(List.of(syntaxError(e, sourceName)));
        } catch (IOException e) {
            // Reading from a String cannot fail with plain I/O; keep the contract of never throwing.
            return new ConfigResult.Invalid(List.of(new ConfigError(sourceName, String.valueOf(e.getMessage()),
                    "valid YAML")));
        }
        return ConfigReader.read(root, sourceName);
    }

    /**
     * Reads (UTF-8) and parses a config file. An unreadable file is one error naming the file.
     */
    public static ConfigResult load(Path file) {
        requireNonNull(file, "file");
        String text;
        try {
            text = Files.readString(file);
        } catch (CharacterCodingException e) {
            return new ConfigResult.Invalid(List.of(new ConfigError(file.toString(), "not UTF-8 text",
                    "a readable YAML file")));
        } catch (IOException | SecurityException e) {
            return new ConfigResult.Invalid(List.of(new ConfigError(file.toString(), ioProblem(e),
                    "a readable YAML file")));
        }
        Path name = file.getFileName();
        return parse(text, name == null ? file.toString() : name.toString());
    }

    private static String ioProblem(Exception e) {
        return switch (e) {
            case java.nio.file.NoSuchFileException x -> "no such file";
            case java.nio.file.AccessDeniedException x -> "permission denied";
            case IOException x when x.getMessage() != null && x.getMessage().contains("Is a directory") ->
                    "is a directory";
            default -> e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        };
    }

    /**
     * Jackson reads {@code *alias} as the plain string "alias" instead of the anchored node, which
     * would turn a valid-looking file into a silently different config: refuse aliases instead.
     */
    private static void rejectAliases(String yamlText, String sourceName, List<ConfigError> errors)
            throws IOException {
        try (JsonParser p = YAML.getFactory().createParser(yamlText)) {
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (p instanceof YAMLParser y && y.isCurrentAlias()) {
                    errors.add(new ConfigError(at(sourceName, p.currentTokenLocation()),
                            "alias *" + p.getText(), "YAML without anchors and aliases; write the values out"));
                }
            }
        }
    }

    private static ConfigError syntaxError(JsonProcessingException e, String sourceName) {
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
        // "key:" with nothing after it is null (not ""), so an emptied-out section reads as absent.
        YAMLFactory factory = YAMLFactory.builder().enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL).build();
        factory.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        ObjectMapper mapper = new ObjectMapper(factory);
        mapper.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        return mapper;
    }
}

package taxi.lakehouse.flink;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.SchemaParseException;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

/**
 * {@link SchemaLookup} over the Confluent Schema Registry REST API ({@code GET
 * {registryUrl}/schemas/ids/{id}}), as served by Confluent's registry and by Apicurio's
 * {@code /apis/ccompat/v7}.
 *
 * <p>Status 200 is a schema, 404 an unknown id; anything else, and any I/O failure or timeout,
 * throws, because the records are fine and only the registry is not: failing the job makes Flink
 * retry from the last checkpoint instead of dead-lettering good data.
 *
 * <p>A 404 alone cannot tell "unknown id" from "wrong base URL" (say, without
 * {@code /apis/ccompat/v7}), and the latter would silently dead-letter every record. So the
 * first 404 from a base URL is confirmed once with {@code GET {registryUrl}/config}, which every
 * Confluent-compatible registry answers with 200; if it does not, this throws.
 *
 * <p>No caching here: {@link DecodeTaxiEventTable} caches per schema id. Not thread-safe; a
 * Flink function instance is used by one thread.
 */
final class HttpSchemaLookup implements SchemaLookup {

    private static final long serialVersionUID = 1L;

    /** Connect and per-request timeout. */
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private static final String ACCEPT =
            "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, "
                    + "application/json";

    /** Longest part of an error body quoted in an exception message. */
    private static final int MAX_BODY_IN_MESSAGE = 300;

    private static final JsonFactory JSON = new JsonFactory();

    /** Not serializable: created on first use on the worker. */
    private transient HttpClient client;

    /** Base URLs whose {@code /config} answered 200 (so their 404s mean "unknown id"). */
    private transient Set<String> confirmedRegistries;

    @Override
    public Schema byId(String registryUrl, int id) {
        final String base = stripTrailingSlashes(registryUrl);
        final URI uri = URI.create(base + "/schemas/ids/" + id);
        final HttpResponse<byte[]> response = get(uri, id);
        switch (response.statusCode()) {
            case 200:
                return parseSchemaResponse(response.body(), uri, id);
            case 404:
                confirmRegistry(base, uri, id);
                return null;
            default:
                throw new IllegalStateException(
                        "schema registry lookup failed for schema id " + id + ": GET " + uri
                                + " answered HTTP " + response.statusCode()
                                + " (expected 200, or 404 for an unknown id): "
                                + excerpt(response.body()));
        }
    }

    private HttpResponse<byte[]> get(URI uri, int id) {
        if (client == null) {
            client = HttpClient.newBuilder()
                    .connectTimeout(TIMEOUT)
                    // plain HTTP/1.1: no h2c upgrade dance with the registry
                    .version(HttpClient.Version.HTTP_1_1)
                    .followRedirects(HttpClient.Redirect.NORMAL)
                    .build();
        }
        final HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(TIMEOUT)
                .header("Accept", ACCEPT)
                .GET()
                .build();
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new IllegalStateException(
                    "schema registry unreachable for schema id " + id + ": GET " + uri + ": " + e,
                    e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // Flink is cancelling the task
            throw new IllegalStateException(
                    "interrupted while fetching schema id " + id + ": GET " + uri, e);
        }
    }

    /** See the class comment: a 404 only counts as "unknown id" from a real registry API. */
    private void confirmRegistry(String base, URI idUri, int id) {
        if (confirmedRegistries == null) {
            confirmedRegistries = new HashSet<>();
        }
        if (confirmedRegistries.contains(base)) {
            return;
        }
        final URI configUri = URI.create(base + "/config");
        final HttpResponse<byte[]> response = get(configUri, id);
        if (response.statusCode() != 200) {
            throw new IllegalStateException(
                    "GET " + idUri + " answered HTTP 404, but " + base
                            + " does not look like a Confluent-compatible schema registry API "
                            + "(GET " + configUri + " answered HTTP " + response.statusCode()
                            + "); check the registry URL (for Apicurio it ends in "
                            + "/apis/ccompat/v7)");
        }
        confirmedRegistries.add(base);
    }

    /**
     * Reads {@code {"schema": "<schema text>", "schemaType": ..., ...}} with the streaming parser
     * (jackson-databind is not available) and parses the schema text with Avro.
     */
    static Schema parseSchemaResponse(byte[] body, URI uri, int id) {
        String schemaText = null;
        String schemaType = null;
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw notUnderstood(body, uri, id, null);
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                final String name = p.currentName();
                final JsonToken value = p.nextToken();
                if ("schema".equals(name) && value == JsonToken.VALUE_STRING) {
                    schemaText = p.getText();
                } else if ("schemaType".equals(name) && value == JsonToken.VALUE_STRING) {
                    schemaType = p.getText();
                } else {
                    p.skipChildren(); // e.g. "references": [...]; a no-op for scalars
                }
            }
        } catch (IOException e) {
            throw notUnderstood(body, uri, id, e);
        }
        if (schemaText == null) {
            throw notUnderstood(body, uri, id, null);
        }
        // Confluent omits schemaType for Avro; JSON and PROTOBUF schemas cannot decode Avro.
        if (schemaType != null && !"AVRO".equalsIgnoreCase(schemaType)) {
            throw new SchemaParseException(
                    "schema id " + id + " is a " + schemaType + " schema, not Avro");
        }
        try {
            // a new Parser each time: a Parser remembers named types and refuses redefinitions
            return new Schema.Parser().parse(schemaText);
        } catch (SchemaParseException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new SchemaParseException(e);
        }
    }

    private static IllegalStateException notUnderstood(
            byte[] body, URI uri, int id, Exception cause) {
        return new IllegalStateException(
                "schema registry answer for schema id " + id + " not understood (GET " + uri
                        + " answered 200 without a \"schema\" string): " + excerpt(body),
                cause);
    }

    private static String stripTrailingSlashes(String url) {
        int end = url.length();
        while (end > 0 && url.charAt(end - 1) == '/') {
            end--;
        }
        return url.substring(0, end);
    }

    private static String excerpt(byte[] body) {
        if (body == null || body.length == 0) {
            return "(empty body)";
        }
        final String text = new String(body, StandardCharsets.UTF_8);
        return text.length() <= MAX_BODY_IN_MESSAGE
                ? text
                : text.substring(0, MAX_BODY_IN_MESSAGE) + "...";
    }
}
